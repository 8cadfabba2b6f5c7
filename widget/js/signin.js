// <kessai-amazon-signin>: the "Amazonでログイン" button, in JS (no wasm: the button is the edge's
// signed payload handed to Amazon's checkout.js, and a line for a problem). The edge signs the
// sign-in payload (and keeps the storefront's return-url and nonce with it); after the shopper
// consents, the edge posts a signed assertion to return-url: the buyer's profile never passes
// through this script. One sign-in button per page (as the checkout button, src/amazon.rs).
import { amazonButton, edgeFetch, emit } from './interop.js';

let taken = false;

// `o`: {edgeUrl, returnUrl, nonce, lang}, edgeUrl and lang already set by the loader.
export async function mountAmazonSignin(host, o) {
  const returnUrl = String(o.returnUrl || '').trim();
  const nonce = String(o.nonce || '').trim();
  const en = /^\s*en/i.test(o.lang);
  const unavailable = (en) => en
    ? 'Sign-in with Amazon could not be shown. Please reload the page.'
    : 'Amazonでログインを表示できませんでした。ページを再読み込みしてください。';
  const why = returnUrl ? nonce ? '' : 'nonce is missing' : 'return-url is missing';
  host.replaceChildren();
  if (why) {
    host.textContent = unavailable();
    emit(host, 'kessai:error', { code: 'misconfigured', message: why });
    return console.error('kessai:', why);
  }
  if (taken) {
    return console.warn('kessai: only one Amazon Pay sign-in button works per page; this element shows none');
  }
  taken = true;
  host.innerHTML = `<div class="kessai kessai-signin" lang="${en ? 'en' : 'ja'}"><div id="kessai-amazon-signin-button"></div><div class="kessai-status" id="kessai-signin-status" role="status" aria-live="polite"></div></div>`;
  let body;
  try {
    // No client secret: the edge checks this page's Origin against the shop's origins.
    const answer = await edgeFetch('POST', o.edgeUrl + '/v1/amazon-pay/signin-button', null,
      JSON.stringify({ return_url: returnUrl, nonce }));
    body = answer.body;
    if (answer.status !== 200 || !body || typeof body.sandbox !== 'boolean') {
      throw new Error('no signed sign-in payload from the edge');
    }
    await amazonButton('kessai-amazon-signin-button', true, body, body);
  } catch (e) {
    console.warn('kessai: Amazon sign-in button not shown:', e);
    const words = body && body.error && body.error[en ? 'message' : 'message_ja'];
    host.querySelector('.kessai-status').textContent = typeof words === 'string' ? words : unavailable(en);
  }
}
