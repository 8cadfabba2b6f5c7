// kessai widget loader: the one script a storefront embeds.
//
//   <script type="module" src="https://EDGE/kessai.js"></script>
//   <kessai-checkout client-secret="pay_…_secret_…" lang="ja"></kessai-checkout>
//
// The element mounts the card form. `edge-url` defaults to this script's origin (the edge serves
// the widget). Events bubble from the element: kessai:ready, kessai:change, kessai:success,
// kessai:error. `window.Kessai.mount(el, {clientSecret, edgeUrl, lang})` does the same by hand.
import init, { mount } from './kessai_widget.js';

const here = new URL('.', import.meta.url);
const ready = init({ module_or_path: new URL('kessai_widget_bg.wasm', here) });
ready.catch(() => {}); // reported per element by mountInto

async function mountInto(el, options) {
  const o = options || {};
  const lang = String(o.lang || document.documentElement.lang || 'ja');
  try {
    await ready;
    mount(el, { clientSecret: o.clientSecret || '', edgeUrl: o.edgeUrl || here.origin, lang });
  } catch (e) {
    el.textContent = /^en/i.test(lang)
      ? 'The payment form could not be loaded. Please reload the page.'
      : 'お支払いフォームを表示できません。ページを再読み込みしてください。';
    el.dispatchEvent(new CustomEvent('kessai:error', {
      bubbles: true, composed: true, detail: { code: 'load_failed', message: String(e && e.message || e) },
    }));
  }
}

class KessaiCheckout extends HTMLElement {
  connectedCallback() {
    if (this._mounted) return;
    this._mounted = true;
    mountInto(this, {
      clientSecret: this.getAttribute('client-secret'),
      edgeUrl: this.getAttribute('edge-url'),
      lang: this.getAttribute('lang'),
    });
  }
}

if (!customElements.get('kessai-checkout')) customElements.define('kessai-checkout', KessaiCheckout);
window.Kessai = { mount: mountInto };
