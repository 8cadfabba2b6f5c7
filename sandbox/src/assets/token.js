/*
 * kessai-sandbox: stand-in of GMO-PG's token JS (トークン決済 v1, global `Multipayment`).
 *
 *   Multipayment.init(shopId);
 *   Multipayment.getToken({cardno, expire, securitycode, holdername, tokennumber}, callback);
 *
 * `callback` is a function or the NAME of a global function. It is always called
 * asynchronously with {resultCode: "000", tokenObject: {token, toBeExpiredAt, maskedCardNo,
 * isSecurityCodeSet}} or {resultCode: "1xx" | "180" | "901" | "902" ...}.
 *
 * [U] transport: GMO's real script RSA-encrypts the card under the shop's public key. This
 * stand-in POSTs the card IN THE CLEAR as JSON to the sandbox that served this file (its own
 * origin). It exists for local tests and demos only: never use real card numbers with it.
 */
(function (global) {
  'use strict';

  // The sandbox origin, from this script's own URL. document.currentScript is only set while
  // the script first runs, so it is read here, once.
  var origin = (function () {
    var src = '';
    try {
      var cs = global.document && global.document.currentScript;
      src = (cs && cs.src) || '';
      if (!src && global.document) {
        var all = global.document.getElementsByTagName('script');
        for (var i = all.length - 1; i >= 0; i--) {
          if (/\/ext\/js\/token\.js([?#]|$)/.test(all[i].src || '')) { src = all[i].src; break; }
        }
      }
      return new URL(src, global.location && global.location.href).origin;
    } catch (e) {
      return (global.location && global.location.origin) || '';
    }
  })();

  var shopId = null;

  function str(v) { return v === undefined || v === null ? '' : String(v); }
  function isDigits(s) { return /^[0-9]*$/.test(s); }

  // The v1 input checks, same order and codes as the sandbox server (src/token.rs).
  function validate(c) {
    var cardno = str(c.cardno), expire = str(c.expire), cvc = str(c.securitycode);
    var holder = str(c.holdername), tn = str(c.tokennumber);
    if (cardno === '') return '100';
    if (!isDigits(cardno)) return '101';
    if (cardno.length < 10 || cardno.length > 16) return '102';
    if (expire === '') return '110';
    if (!isDigits(expire)) return '111';
    if (expire.length !== 4 && expire.length !== 6) return '112';
    var month = parseInt(expire.slice(-2), 10);
    if (!(month >= 1 && month <= 12)) return '113';
    if (!isDigits(cvc)) return '121';
    if (cvc.length >= 5) return '122';
    if (!/^[A-Za-z0-9 .,\/-]*$/.test(holder)) return '131';
    if (holder.length >= 51) return '132';
    if (tn !== '') {
      if (!isDigits(tn)) return '141';
      var n = parseInt(tn, 10);
      if (!(n >= 1 && n <= 10)) return '142';
    }
    if (!shopId) return '160';
    if (shopId.length >= 14) return '161';
    if (!/^[A-Za-z0-9]+$/.test(shopId)) return '162';
    return null;
  }

  function deliver(callback, result) {
    var fn = typeof callback === 'function' ? callback
      : (typeof callback === 'string' ? global[callback] : null);
    setTimeout(function () {
      if (typeof fn === 'function') fn(result);
    }, 0);
  }

  global.Multipayment = {
    init: function (apiKey) {
      shopId = apiKey === undefined || apiKey === null ? null : String(apiKey);
    },
    getToken: function (card, callback) {
      card = card || {};
      var code = validate(card);
      if (code) { deliver(callback, { resultCode: code }); return; }
      var body = {
        shopId: shopId,
        cardno: str(card.cardno),
        expire: str(card.expire),
        securitycode: str(card.securitycode),
        holdername: str(card.holdername)
      };
      if (str(card.tokennumber) !== '') body.tokennumber = str(card.tokennumber);
      global.fetch(origin + '/ext/api/credit/getToken', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body)
      }).then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      }).then(function (res) {
        deliver(callback, res);
      }, function () {
        // [U] GMO's code for an unreachable token server; 901 = system error.
        deliver(callback, { resultCode: '901' });
      });
    }
  };
})(typeof window !== 'undefined' ? window : globalThis);
