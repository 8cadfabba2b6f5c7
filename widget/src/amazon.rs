//! Amazon Pay's `checkout.js`: loaded once per page, then `amazon.Pay.renderButton` with a
//! payload the edge signed. The payload string goes to Amazon exactly as the edge sent it.
//!
//! One working checkout button per page: Amazon binds a checkout session to the button the
//! shopper clicks, and two checkout buttons on one page would start two sessions for one order.
//! (Amazon's exact rule is unsure [U] — the reference notes EC-CUBE renders one per cart — so we
//! take the strict reading.) The sign-in button (`<kessai-amazon-signin>`, widget/js/signin.js)
//! follows the same rule on its own.

use crate::js;
use std::cell::Cell;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

thread_local! {
    static CHECKOUT_TAKEN: Cell<bool> = const { Cell::new(false) };
}

/// The checkout button's container.
pub const CONTAINER_ID: &str = "kessai-amazon-pay-button";

/// Takes this page's one checkout button. `false` (and a console warning) for every later
/// element that asks.
pub fn claim() -> bool {
    let taken = CHECKOUT_TAKEN.with(|t| t.replace(true));
    if taken {
        // Two parts, as the other warning (one `console.warn` import), not `format!`.
        web_sys::console::warn_2(
            &"kessai:".into(),
            &"only one Amazon Pay checkout button works per page; this element shows none".into(),
        );
    }
    !taken
}

/// Loads checkout.js once per page (shared with the sign-in element) and renders the checkout
/// button into its container (js/interop.js), with the shop's `config`
/// ([`crate::edge::amazon_config`]), the edge's `signed` answer (`payload_json`, `signature`,
/// `public_key_id`, `algorithm`; the payload string goes to Amazon exactly as the edge sent it)
/// and the amount. Errors: no signed payload, checkout.js missing, the container gone, or
/// Amazon's script throwing (e.g. a payload it refuses).
pub async fn render(config: &JsValue, signed: &JsValue, amount: i64) -> Result<(), JsValue> {
    JsFuture::from(js::interop::amazon_button(
        CONTAINER_ID,
        false,
        config,
        signed,
        // Integer yen as a string: Amazon refuses decimals and separators for JPY.
        Some(kessai_core::text::decimal(amount, 0)),
    ))
    .await
    .map(drop)
}
