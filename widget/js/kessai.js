// kessai widget loader: the one script a storefront embeds.
//
//   <script type="module" src="https://EDGE/kessai.js"></script>
//   <kessai-checkout client-secret="pay_…_secret_…" lang="ja" data-privacy-url="https://shop/privacy"></kessai-checkout>
//   <kessai-amazon-signin return-url="https://shop/login/amazon" nonce="…" lang="ja"></kessai-amazon-signin>
//
// <kessai-checkout> mounts the card form (and the Amazon Pay button when the shop offers it);
// <kessai-amazon-signin> mounts the "Amazonでログイン" button, after which the edge POSTs a signed
// assertion (`kessai_amazon_assertion`) to return-url. `edge-url` defaults to this script's
// origin (the edge serves the widget). `data-privacy-url` (http/https) on <kessai-checkout>: the
// shop's privacy policy, linked from the 3-D Secure consent notice. Events bubble from the element: kessai:ready,
// kessai:change, kessai:success, kessai:error. `window.Kessai.mount(el, {clientSecret, edgeUrl,
// lang})` and `window.Kessai.mountAmazonSignin(el, {returnUrl, nonce, edgeUrl, lang})` do the same
// by hand.
import init, { mount } from './kessai_widget.js';
import { mountAmazonSignin as signin } from './signin.js';
import { emit } from './interop.js';
// The stylesheet (widget/src/widget.css, bundled as text by esbuild), added to the page once. In
// the loader rather than the wasm: 2026-12-06, for issue #13's bytes (docs/architecture.md).
import css from './widget.css';
let styled = false;

const here = new URL('.', import.meta.url);
const ready = init({ module_or_path: new URL('kessai_widget_bg.wasm', here) });
ready.catch(() => {}); // reported per element by mountWith

async function mountWith(fn, el, options) {
  if (!styled) {
    styled = true;
    document.head.append(Object.assign(document.createElement('style'), { textContent: css }));
  }
  const o = Object.assign({}, options);
  o.lang = String(o.lang || document.documentElement.lang || 'ja');
  o.edgeUrl = String(o.edgeUrl || here.origin).trim().replace(/\/+$/, '');
  try {
    await ready;
    fn(el, o);
  } catch (e) {
    el.textContent = /^en/i.test(o.lang)
      ? 'The payment form could not be loaded. Please reload the page.'
      : 'お支払いフォームを表示できません。ページを再読み込みしてください。';
    emit(el, 'kessai:error', { code: 'load_failed', message: String(e && e.message || e) });
  }
}

// The page's URL, read once per <kessai-checkout>: `returnUrl` is the page without kessai's own
// `kessai_*` parameters (where Amazon and 3-D Secure send the shopper back; the other parameters
// kept as written, in order), and `backPayment`, `backAmazon`, `backCard` are the `kessai_payment`,
// `kessai_amazon` and `kessai_card` values the edge adds on the way back (no percent-decoding:
// ids and words only). The widget (src/form.rs) takes them out of the address bar when they name
// its payment. The client secret is trimmed here (no string trimming code in the wasm).
function fromPage(o) {
  o.clientSecret = String(o.clientSecret || '').trim();
  const href = location.href;
  const cut = href.includes('#') ? href.indexOf('#') : href.length;
  const [base, query = ''] = href.slice(0, cut).split(/\?(.*)/s);
  const pairs = query.split('&').filter((pair) => pair);
  const kept = pairs.filter((pair) => !pair.startsWith('kessai_'));
  o.returnUrl = base + (kept.length ? '?' + kept.join('&') : '') + href.slice(cut);
  const param = (name) => {
    const pair = pairs.find((p) => p.includes('=') && p.slice(0, p.indexOf('=')) === name);
    return pair ? pair.slice(pair.indexOf('=') + 1) : '';
  };
  o.backPayment = param('kessai_payment');
  o.backAmazon = param('kessai_amazon');
  o.backCard = param('kessai_card');
  // The shop's privacy policy only when http(s) (never `javascript:` and the like).
  o.privacyUrl = /^https?:\/\//.test(o.privacyUrl || '') ? o.privacyUrl : '';
  return o;
}

const mountCheckout = (el, o) => mountWith(mount, el, fromPage({ ...o }));
const mountAmazonSignin = (el, o) => mountWith(signin, el, o);

function define(name, attrs, mountFn) {
  if (customElements.get(name)) return;
  customElements.define(name, class extends HTMLElement {
    connectedCallback() {
      if (this._mounted) return;
      this._mounted = true;
      const o = {};
      for (const [attr, key] of attrs) o[key] = this.getAttribute(attr);
      mountFn(this, o);
    }
  });
}

define('kessai-checkout', [['client-secret', 'clientSecret'], ['edge-url', 'edgeUrl'], ['lang', 'lang'], ['data-privacy-url', 'privacyUrl']], mountCheckout);
define('kessai-amazon-signin', [['return-url', 'returnUrl'], ['nonce', 'nonce'], ['edge-url', 'edgeUrl'], ['lang', 'lang']], mountAmazonSignin);
window.Kessai = { mount: mountCheckout, mountAmazonSignin };
