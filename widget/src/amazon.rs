//! Amazon Pay's `checkout.js`: loaded once per page, then `amazon.Pay.renderButton` with a
//! payload the edge signed. The payload string goes to Amazon exactly as the edge sent it.
//!
//! One working button of a kind per page: Amazon binds a checkout session to the button the
//! shopper clicks, and two checkout buttons on one page would start two sessions for one order.
//! (Amazon's exact rule is unsure [U] — the reference notes EC-CUBE renders one per cart — so we
//! take the strict reading.)

use crate::edge::{AmazonConfig, SignedPayload};
use crate::js;
use std::cell::Cell;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

thread_local! {
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
        // Whole sentences, not `format!`: no formatting code for a console line.
        web_sys::console::warn_1(
            &match kind {
                Kind::Checkout => {
                    "kessai: only one Amazon Pay checkout button works per page; this element shows none"
                }
                Kind::SignIn => {
                    "kessai: only one Amazon Pay sign-in button works per page; this element shows none"
                }
            }
            .into(),
        );
    }
    !taken
}

/// Loads checkout.js once per page (shared by the checkout and the sign-in elements) and renders
/// the button of `kind` into its container (js/interop.js). Errors: checkout.js missing, the
/// container gone, or Amazon's script throwing (e.g. a payload it refuses).
pub async fn render(
    kind: Kind,
    config: &AmazonConfig,
    signed: &SignedPayload,
    amount: Option<i64>,
) -> Result<(), JsValue> {
    JsFuture::from(js::interop::amazon_button(
        &config.checkout_js_url,
        kind.container_id(),
        kind == Kind::SignIn,
        &config.merchant_id,
        &config.ledger_currency,
        config.sandbox,
        &config.checkout_language,
        &signed.payload_json,
        &signed.signature,
        &signed.public_key_id,
        &signed.algorithm,
        // Integer yen as a string: Amazon refuses decimals and separators for JPY.
        amount.map(|a| a.to_string()),
    ))
    .await
    .map(drop)
}
