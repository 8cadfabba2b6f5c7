//! Amazon Pay's `checkout.js`: loaded once per page, then `amazon.Pay.renderButton` with a
//! payload the edge signed. The payload string goes to Amazon exactly as the edge sent it.
//!
//! One working button of a kind per page: Amazon binds a checkout session to the button the
//! shopper clicks, and two checkout buttons on one page would start two sessions for one order.
//! (Amazon's exact rule is unsure [U] — the reference notes EC-CUBE renders one per cart — so we
//! take the strict reading.)

use crate::edge::{AmazonConfig, SignedPayload};
use crate::js;
use std::cell::{Cell, RefCell};
use wasm_bindgen::{JsCast, JsValue};

thread_local! {
    static LOADING: RefCell<Option<js_sys::Promise>> = const { RefCell::new(None) };
    static CHECKOUT_TAKEN: Cell<bool> = const { Cell::new(false) };
    static SIGNIN_TAKEN: Cell<bool> = const { Cell::new(false) };
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `PayAndShip` inside `<kessai-checkout>`.
    Checkout,
    /// `SignIn` of `<kessai-amazon-signin>`.
    SignIn,
}

impl Kind {
    pub fn container_id(self) -> &'static str {
        match self {
            Kind::Checkout => "kessai-amazon-pay-button",
            Kind::SignIn => "kessai-amazon-signin-button",
        }
    }
}

/// Takes this page's one button of `kind`. `false` (and a console warning) for every later
/// element that asks.
pub fn claim(kind: Kind) -> bool {
    let slot = match kind {
        Kind::Checkout => &CHECKOUT_TAKEN,
        Kind::SignIn => &SIGNIN_TAKEN,
    };
    let taken = slot.with(|t| t.replace(true));
    if taken {
        web_sys::console::warn_1(
            &format!(
                "kessai: only one Amazon Pay {} button works per page; this element shows none",
                match kind {
                    Kind::Checkout => "checkout",
                    Kind::SignIn => "sign-in",
                }
            )
            .into(),
        );
    }
    !taken
}

/// `window.amazon.Pay.renderButton`, when checkout.js has defined it.
fn render_button_fn() -> Option<js_sys::Function> {
    let window = js::window()?;
    let pay = js::get(&js::get(&window, "amazon")?, "Pay")?;
    js::get(&pay, "renderButton")?.dyn_into().ok()
}

fn loaded() -> bool {
    render_button_fn().is_some()
}

/// Loads checkout.js once per page (shared by the checkout and the sign-in elements).
pub async fn load(url: &str) -> bool {
    js::load_script(&LOADING, url, loaded).await
}

/// Renders the button of `kind` into its container. Errors: checkout.js missing, the container
/// gone, or Amazon's script throwing (e.g. a payload it refuses).
pub async fn render(
    kind: Kind,
    config: &AmazonConfig,
    signed: &SignedPayload,
    amount: Option<i64>,
) -> Result<(), JsValue> {
    if !load(&config.checkout_js_url).await {
        return Err("checkout.js could not be loaded".into());
    }
    let render = render_button_fn().ok_or("amazon.Pay.renderButton missing")?;
    let selector = format!("#{}", kind.container_id());
    // The container is part of the view mounted just before; give the DOM one turn if not yet.
    let present = || {
        js::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(kind.container_id()))
            .is_some()
    };
    if !present() {
        js::sleep(0).await;
        if !present() {
            return Err("button container missing".into());
        }
    }
    let signed_config = js_sys::Object::new();
    js::set_str(&signed_config, "payloadJSON", &signed.payload_json);
    js::set_str(&signed_config, "signature", &signed.signature);
    js::set_str(&signed_config, "publicKeyId", &signed.public_key_id);
    js::set_str(&signed_config, "algorithm", &signed.algorithm);

    let options = js_sys::Object::new();
    js::set_str(&options, "merchantId", &config.merchant_id);
    js::set_str(&options, "ledgerCurrency", &config.ledger_currency);
    js::set(&options, "sandbox", &JsValue::from_bool(config.sandbox));
    js::set_str(&options, "checkoutLanguage", &config.checkout_language);
    match kind {
        Kind::Checkout => {
            js::set_str(&options, "productType", "PayAndShip");
            js::set_str(&options, "placement", "Checkout");
            js::set_str(&options, "buttonColor", "Gold");
            if let Some(amount) = amount {
                let estimated = js_sys::Object::new();
                // Integer yen as a string: Amazon refuses decimals and separators for JPY.
                js::set_str(&estimated, "amount", &amount.to_string());
                js::set_str(&estimated, "currencyCode", "JPY");
                js::set(&options, "estimatedOrderAmount", &estimated);
            }
            js::set(&options, "createCheckoutSessionConfig", &signed_config);
        }
        Kind::SignIn => {
            js::set_str(&options, "productType", "SignIn");
            js::set_str(&options, "placement", "Other");
            js::set_str(&options, "buttonColor", "Gold");
            js::set(&options, "signInConfig", &signed_config);
        }
    }
    render.call2(&JsValue::NULL, &JsValue::from_str(&selector), &options)?;
    Ok(())
}
