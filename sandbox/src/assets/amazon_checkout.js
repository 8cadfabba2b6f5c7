/* kessai Amazon Pay sandbox: stand-in of https://static-fe.payments-amazon.com/checkout.js.
 * amazon.Pay.renderButton(selector, options) draws a button; a click (or initCheckout) sends
 * the signed payload to the sandbox's hosted pages by a top-level form POST. Sandbox only. */
(function () {
  'use strict';
  var BASE = '__KESSAI_AMAZON_BASE__';
  var PRODUCT_TYPES = ['PayAndShip', 'PayOnly', 'SignIn'];
  var COLORS = { Gold: ['#ffd814', '#0f1111'], LightGray: ['#e3e6e6', '#0f1111'], DarkGray: ['#232f3e', '#ffffff'] };

  function fail(msg) { throw new Error('AmazonPay: ' + msg); }

  function checkOptions(o) {
    if (!o || typeof o !== 'object') fail('options are required for amazon.Pay.renderButton.');
    if (!o.merchantId) fail('merchantId is required.');
    if (o.ledgerCurrency && o.ledgerCurrency !== 'JPY') fail('ledgerCurrency ' + o.ledgerCurrency + ' is not supported for this merchant.');
    if (o.checkoutLanguage && o.checkoutLanguage !== 'ja_JP') fail('checkoutLanguage ' + o.checkoutLanguage + ' is not supported for ledgerCurrency JPY.');
    var pt = o.productType || 'PayAndShip';
    if (PRODUCT_TYPES.indexOf(pt) < 0) fail('productType ' + pt + ' is invalid.');
    return pt;
  }

  function submit(o, productType, cfg) {
    if (!cfg || !cfg.payloadJSON || !cfg.signature || !cfg.publicKeyId) {
      fail((productType === 'SignIn' ? 'signInConfig' : 'createCheckoutSessionConfig') +
        ' needs payloadJSON, signature and publicKeyId.');
    }
    var form = document.createElement('form');
    form.method = 'POST';
    form.action = BASE + '/checkout/start';
    form.style.display = 'none';
    var fields = {
      payloadJSON: typeof cfg.payloadJSON === 'string' ? cfg.payloadJSON : JSON.stringify(cfg.payloadJSON),
      signature: cfg.signature,
      publicKeyId: cfg.publicKeyId,
      algorithm: cfg.algorithm || '',
      merchantId: o.merchantId,
      productType: productType,
      ledgerCurrency: o.ledgerCurrency || '',
      checkoutLanguage: o.checkoutLanguage || '',
      sandbox: o.sandbox === true ? 'true' : 'false',
      placement: o.placement || '',
      returnUrl: window.location.href
    };
    Object.keys(fields).forEach(function (k) {
      var input = document.createElement('input');
      input.type = 'hidden';
      input.name = k;
      input.value = fields[k];
      form.appendChild(input);
    });
    document.body.appendChild(form);
    form.submit();
  }

  function renderButton(selector, o) {
    var el = typeof selector === 'string' ? document.querySelector(selector) : null;
    if (!el) fail('Can not find element ' + selector + ' for amazon.Pay.renderButton.');
    var productType = checkOptions(o);
    var color = COLORS[o.buttonColor] || COLORS.Gold;
    var signIn = productType === 'SignIn';
    var label = signIn ? 'Amazonアカウントでログイン' : 'Amazon Pay';
    var btn = document.createElement('div');
    btn.setAttribute('role', 'button');
    btn.setAttribute('tabindex', '0');
    btn.setAttribute('aria-label', label);
    btn.className = 'amazonpay-button-view1';
    btn.setAttribute('data-kessai-amazon-button', productType);
    btn.style.cssText = 'display:inline-flex;align-items:center;justify-content:center;box-sizing:border-box;' +
      'min-width:150px;max-width:100%;height:45px;padding:0 16px;border-radius:4px;cursor:pointer;' +
      'font:bold 15px/1 sans-serif;background:' + color[0] + ';color:' + color[1] + ';';
    btn.textContent = signIn ? 'amazon｜Amazonアカウントでログイン' : 'amazon pay';
    var handler = null;
    var config = signIn ? o.signInConfig : o.createCheckoutSessionConfig;
    var api = {
      onClick: function (fn) { handler = fn; },
      initCheckout: function (opts) {
        var cfg = opts && (signIn ? opts.signInConfig : opts.createCheckoutSessionConfig);
        submit(o, productType, cfg || config);
      }
    };
    function activate() {
      if (handler) { handler(); return; }
      submit(o, productType, config);
    }
    btn.addEventListener('click', activate);
    btn.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); activate(); }
    });
    // Like Amazon's script, rendering twice into one container adds a second button.
    el.appendChild(btn);
    return api;
  }

  function initCheckout(o) {
    var productType = checkOptions(o);
    submit(o, productType, productType === 'SignIn' ? o.signInConfig : o.createCheckoutSessionConfig);
  }

  window.amazon = window.amazon || {};
  window.amazon.Pay = { renderButton: renderButton, initCheckout: initCheckout };
})();
