//! `GET /v1/amazon-pay/review`: Amazon sends the shopper here after login and address choice.
//! The checkout session must be Open and made from this payment's button; it is stored on the
//! payment and updated with the **stored** amount (`paymentIntent: Authorize`), then the shopper
//! goes on to Amazon's confirmation.

use super::{
    ShopperOutcome, back_to_shop, load_for_nav, nav_or_back_to_shop, outcome_of, result_url,
    review_url, valid_session_id,
};
use crate::config::{AmazonConfig, Config};
use crate::gateways::amazon::AmazonClient;
use crate::gateways::amazon::meaning::{amazon_refused, price};
use crate::http::{ApiResult, Nav};
use crate::platform;
use crate::store::{Event, PaymentRow, Store};
use kessai_core::amazon::status::CheckoutSessionState;
use kessai_core::payment::Phase;
use serde_json::json;

/// `GET /v1/amazon-pay/review?payment=&amazonCheckoutSessionId=`: Amazon sends the shopper here
/// after login and address choice.
pub async fn review(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    payment_id: &str,
    cs_id: &str,
) -> Nav {
    let row = match load_for_nav(store, payment_id).await {
        Ok(r) => r,
        Err(nav) => return nav,
    };
    if !valid_session_id(cs_id) {
        return back_to_shop(&row, cfg, ShopperOutcome::Error);
    }
    let nav = review_inner(store, cfg, amazon, row.clone(), cs_id).await;
    nav_or_back_to_shop(nav, &row, cfg, "review")
}

async fn review_inner(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    row: PaymentRow,
    cs_id: &str,
) -> ApiResult<Nav> {
    let state = row.state()?;
    match state.phase() {
        Phase::Open => {}
        Phase::Paid | Phase::InFlight | Phase::Unknown | Phase::Closed => {
            return Ok(back_to_shop(&row, cfg, outcome_of(&row)));
        }
    }
    let client = AmazonClient::new(amazon);
    let cs = client.get_checkout_session(cs_id).await?;
    if cs.state() != Some(CheckoutSessionState::Open) {
        return Err(amazon_refused("checkout session is not Open"));
    }
    // The session must have been created from the button signed for this very payment: a
    // session of another payment (or shop) cannot be attached here.
    if cs.checkout_review_return_url() != Some(review_url(amazon, &row.id).as_str()) {
        return Err(amazon_refused(
            "checkout session belongs to another payment",
        ));
    }
    let now = platform::now().0;
    // The row as stored now: the amount is whatever the payment holds, never what the browser
    // carried (a compare-and-set lost to an amount change refuses the review).
    let row = attach_session(store, row, cs_id, now).await?;
    let update = json!({
        "webCheckoutDetails": { "checkoutResultReturnUrl": result_url(amazon, &row.id) },
        "paymentDetails": {
            "paymentIntent": "Authorize",
            "canHandlePendingAuthorization": false,
            "chargeAmount": price(row.amount)?,
        },
        "merchantMetadata": { "merchantReferenceId": row.order_id },
    });
    let updated = client.update_checkout_session(cs_id, &update).await?;
    let redirect = updated
        .amazon_pay_redirect_url()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| amazon_refused("no amazonPayRedirectUrl (constraints remain)"))?;
    let ev = Event {
        actor: "system",
        kind: "amazon_session_updated",
        detail: json!({ "checkout_session_id": cs_id, "amount": row.amount }),
    };
    // Only the history line (in whatever state the payment is in by now): losing it would
    // change nothing that matters, so it takes no compare-and-set.
    if let Err(e) = store.note_in_state(&row.id, now, &ev).await {
        worker::console_warn!("payment {}: event not written: {}", row.id, e.code);
    }
    Ok(Nav::Redirect(redirect.to_string()))
}

/// Stores the checkout session on the payment (once per session) and answers the payment as
/// stored now.
async fn attach_session(
    store: &Store<'_>,
    row: PaymentRow,
    cs_id: &str,
    now: i64,
) -> ApiResult<PaymentRow> {
    if row.amazon_checkout_session_id.as_deref() == Some(cs_id) {
        return Ok(row);
    }
    let state = row.state()?;
    let mut next = row.clone();
    next.amazon_checkout_session_id = Some(cs_id.to_string());
    // A new session starts afresh: the refusal of an earlier one (declined, canceled…) must
    // not be taken as this session's outcome when its result comes back.
    if row.last_amazon_error().is_some() {
        next.last_error_code = None;
        next.last_error_info = None;
    }
    let ev = Event {
        actor: "shopper",
        kind: "amazon_session_opened",
        detail: json!({ "checkout_session_id": cs_id }),
    };
    if !store.transition(&next, state, state, now, &ev).await? {
        return Err(amazon_refused("payment changed during review"));
    }
    // Won: `next` is the row as written (the compare-and-set took version + 1).
    next.version += 1;
    next.updated_at = now;
    Ok(next)
}
