// The widget's calls into other scripts' APIs (GMO's token JS, Amazon's checkout.js), script
// loading, fetch and timers: plain JS, imported by the wasm (src/js.rs), so the wasm carries no
// promise/closure plumbing for them (issue #2: 60 kB brotli). The UI, the state and every
// decision stay in Rust; these functions only call, wait and hand back plain values.
// They never throw synchronously; promises settle (or, for GMO, time out) in every case.

const loading = new Map(); // url → the <script> load in progress or done, shared on the page

// Injects <script src=url> once per page and waits for it; `ready()` says whether the global it
// defines is there. After a failure the next call tries again.
function load(url, ready) {
  if (ready()) return Promise.resolve();
  let p = loading.get(url);
  if (!p) {
    p = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = url;
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    }).then(() => {
      if (!ready()) throw new Error(url + ' defined nothing');
    });
    loading.set(url, p);
    p.catch(() => loading.delete(url));
  }
  return p;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Focuses the element with this id, if there is one.
export const focus = (id) => document.getElementById(id)?.focus();

// This page's URL without kessai's parameters, so a reload does not repeat the news. Never throws.
export function replaceUrl(url) {
  try {
    history.replaceState(null, '', url);
  } catch {}
}

// One request to the edge → {status, body} (body: the JSON answer, or null). Rejects only when
// no answer came (network, CORS). `window.fetch` is looked up per call.
export async function edgeFetch(method, url, secret, body) {
  const headers = {};
  if (secret != null) headers['x-client-secret'] = secret;
  if (body != null) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method, mode: 'cors', headers, body: body == null ? undefined : body });
  let json = null;
  try {
    json = await response.json();
  } catch (e) {
    // not JSON: the caller sees the status only
  }
  return { status: response.status, body: json };
}

// GMO-PG token JS (トークン決済 v1).
const multipayment = () => window.Multipayment != null;

// Loads token.js → true when Multipayment is there.
export const gmoLoad = (url) => load(url, multipayment).then(() => true, () => false);

let seq = 0;

// Multipayment.init(shopId) and getToken(card, callback) → {code} where code is GMO's result
// code ("000" with `token` on success), or '' when the script is unavailable, threw, answered
// nothing usable or did not answer within 30 s. The card goes to GMO's script only.
export async function gmoToken(url, shopId, cardno, expire, securitycode, holdername) {
  if (!(await gmoLoad(url))) return { code: '' };
  const result = await new Promise((resolve) => {
    // A uniquely named global callback (what GMO's samples do), removed afterwards; the
    // function is named like its global, for a token JS that looks it up by name (JSONP).
    const name = '__kessaiTokenCallback' + ++seq;
    const done = (r) => {
      delete window[name];
      resolve(r);
    };
    const callback = { [name]: (r) => done(r) }[name];
    try {
      window.Multipayment.init(shopId);
      window[name] = callback;
      setTimeout(() => done(undefined), 30000);
      window.Multipayment.getToken({ cardno, expire, securitycode, holdername }, callback);
    } catch (e) {
      done(undefined);
    }
  });
  const code = result && result.resultCode;
  if (typeof code !== 'string') return { code: '' };
  if (code !== '000') return { code };
  // With `tokennumber` GMO answers an array; we ask for one token.
  let token = result.tokenObject && result.tokenObject.token;
  if (Array.isArray(token)) token = token[0];
  return typeof token === 'string' && token ? { code, token } : { code: '' };
}

// Amazon Pay checkout.js: `amazon.Pay.renderButton`, when defined.
const renderButton = () => {
  const pay = window.amazon && window.amazon.Pay;
  return pay && typeof pay.renderButton === 'function' ? pay.renderButton : null;
};

// Loads checkout.js once per page and renders the button into #containerId. `signIn`: the
// "Amazonでログイン" button, else the PayAndShip checkout button with the estimated amount
// (integer yen as a string: Amazon refuses decimals and separators for JPY). `config`: the edge's
// `amazon_pay` block (merchant_id, checkout_js_url, sandbox, ledger_currency?,
// checkout_language?); `answer`: its signed payload (payload_json, signature, public_key_id,
// algorithm). The payload string goes to Amazon exactly as the edge signed it. Rejects with the
// reason.
export async function amazonButton(containerId, signIn, config, answer, amount) {
  const signed = {};
  for (const [key, name] of [['payloadJSON', 'payload_json'], ['signature', 'signature'],
    ['publicKeyId', 'public_key_id'], ['algorithm', 'algorithm']]) {
    signed[key] = answer && answer[name];
    if (typeof signed[key] !== 'string') throw new Error('no signed payload from the edge');
  }
  try {
    await load(config.checkout_js_url, renderButton);
  } catch (e) {
    throw new Error('checkout.js could not be loaded');
  }
  // The container is part of the view mounted just before; give the DOM one turn if not yet.
  if (!document.getElementById(containerId)) {
    await sleep(0);
    if (!document.getElementById(containerId)) throw new Error('button container missing');
  }
  const text = (value, fallback) => (typeof value === 'string' ? value : fallback);
  const options = {
    merchantId: config.merchant_id,
    ledgerCurrency: text(config.ledger_currency, 'JPY'),
    sandbox: config.sandbox,
    checkoutLanguage: text(config.checkout_language, 'ja_JP'),
    buttonColor: 'Gold',
  };
  if (signIn) {
    Object.assign(options, { productType: 'SignIn', placement: 'Other', signInConfig: signed });
  } else {
    Object.assign(options, { productType: 'PayAndShip', placement: 'Checkout' });
    if (amount != null) options.estimatedOrderAmount = { amount, currencyCode: 'JPY' };
    options.createCheckoutSessionConfig = signed;
  }
  renderButton().call(null, '#' + containerId, options);
}

// The widget's DOM: its markup is written as HTML once per part; the wasm binds the few parts
// that change (src/dom.rs).

// The element the markup makes (its first).
export function html(markup) {
  const t = document.createElement('template');
  t.innerHTML = markup;
  return t.content.firstElementChild;
}

// Fills every `data-t` element under `root` with its text: the letter is the index into `texts`
// (A–Z 0–25, then a–z from 26; src/i18n.rs).
export function translate(root, texts) {
  for (const el of root.querySelectorAll('[data-t]')) {
    const c = el.dataset.t.charCodeAt(0);
    el.textContent = texts[c < 97 ? c - 65 : c - 71];
  }
}

// A bubbling CustomEvent for the host page (kessai:ready, kessai:change, kessai:success,
// kessai:error; src/events.rs, signin.js and the loader).
export function emit(target, name, detail) {
  target.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail }));
}

// One listener for several event types (`types`: space-separated).
export function listen(target, types, listener) {
  for (const type of types.split(' ')) target.addEventListener(type, listener);
}

// The saved cards and the extras below the new card's fields, as HTML, from the edge's arrays
// (src/form.rs binds the text to the element): static markup, in JS rather than as Rust string
// building in the wasm. `texts`: the language's texts (i18n order); `keys`: the `data-t` letters
// of the texts used, in the order each function names them.
const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]);
const str = (v) => (typeof v === 'string' ? v : undefined);
const list = (v) => (Array.isArray(v) ? v : []);
const textOf = (texts, keys) => (i) => {
  const c = keys.charCodeAt(i);
  return texts[c < 97 ? c - 65 : c - 71];
};
const BRANDS = new Map([['visa', 'VISA'], ['mastercard', 'Mastercard'], ['jcb', 'JCB'],
  ['amex', 'American Express'], ['diners', 'Diners Club'], ['discover', 'Discover']]);

// keys: saved cards, expired, expiry, new card. `chosen`: the picked card's CardSeq ("": new).
// An expired card is listed but cannot be picked.
export function savedCardsHtml(texts, keys, cards, chosen) {
  const t = textOf(texts, keys);
  const radio = (seq, label, hint, usable) =>
    `<label class="kessai-choice"><input type="radio" name="kessai-card" id="kessai-card-${seq || 'new'}" value="${seq}${
      seq === chosen ? '" checked' : '"'}${usable ? '>' : ' disabled>'}<span>${esc(label)}</span><span class="kessai-hint">${esc(hint)}</span></label>`;
  let html = `<fieldset class="kessai-saved"><legend>${t(0)}</legend>`;
  for (const c of list(cards)) {
    const seq = c?.card_seq;
    if (!Number.isInteger(seq)) continue;
    const expired = c.expired === true;
    const hint = `${t(2)} ${str(c.expire) ?? ''}${expired ? t(1) : ''}`;
    html += radio(String(seq), `${BRANDS.get(str(c.brand)) ?? ''} ・・・・${str(c.last_digits) ?? ''}`, hint, !expired);
  }
  return html + radio('', t(3), '', true) + '</fieldset>';
}

// keys: subscription note, save card, 支払回数. `always`: a 定期購入 sign-up (the card is always
// saved: a note says so); else 「このカードを登録する」 when `offerSave` (ticked when `save`).
// Then the shop's 支払回数 `choices` (none when only 一括), `picked` selected.
export function extrasHtml(texts, keys, always, offerSave, save, choices, picked, ja) {
  const t = textOf(texts, keys);
  let html = always
    ? `<p class="kessai-note" id="kessai-subscription-save">${t(0)}</p>`
    : offerSave
      ? `<label class="kessai-check"><input type="checkbox" name="kessai-save-card" id="kessai-save-card"${save ? ' checked>' : '>'}${t(1)}</label>`
      : '';
  const options = list(choices);
  if (!options.length) return html;
  html += `<div class="kessai-field"><label for="kessai-installments">${t(2)}</label><select id="kessai-installments" name="kessai-installments">`;
  for (const c of options) {
    const code = str(c?.code) ?? '';
    html += `<option value="${esc(code)}${code === picked ? '" selected>' : '">'}${esc(str(c?.[ja ? 'label_ja' : 'label']) ?? code)}</option>`;
  }
  return html + '</select></div>';
}
