//! EMV 3-D Secure 2 on card payments (reference `gmo-pg.md` §4c). The card flow asks for it in
//! EntryTran (TdFlag=2, the shop's Tds2Type and TdTenantName) and ExecTran (RetUrl); an ACS=2
//! answer parks the payment in `requires_action` 3Dセキュア認証中 and sends the browser to the
//! issuer's page. The browser comes back to [`RETURN_PATH`] (`three_d_secure_return`) with the AccessID; only then, and
//! only once, SecureTran2 authorises.
//!
//! Safety: the return is checked against the stored AccessID (constant time), and the move
//! `requires_action → processing` is a compare-and-set, so a double submit or a replayed return
//! calls SecureTran2 at most once; a replay just shows the payment's outcome. A lost SecureTran2
//! answer is settled by SearchTrade, never guessed. An authentication nobody finishes is
//! settled by the sweep after [`AUTHENTICATION_WINDOW_MS`].

use crate::config::Config;
use crate::http::ApiError;
use crate::store::PaymentRow;
use kessai_core::gmo::errors::{GmoErrors, classify};
use kessai_core::gmo::tds2;
use kessai_core::payment::PaymentState;
use serde_json::{Value, json};

/// Where the issuer's page sends the browser back (`RetUrl`), under the payment's id.
pub const RETURN_PATH: &str = "/v1/checkout/{id}/3ds/return";

/// How long an authentication may stay open before the sweep settles it with SearchTrade. [U]
/// GMO's own limit is not documented; the sandbox abandons a pending 3-D Secure after the same
/// 10 minutes.
pub const AUTHENTICATION_WINDOW_MS: i64 = 10 * 60_000;

/// The `RetUrl` of a payment.
pub fn ret_url(cfg: &Config, payment_id: &str) -> String {
    format!(
        "{}{}",
        cfg.three_d_secure.edge_public_url,
        RETURN_PATH.replace("{id}", payment_id)
    )
}

/// Whether `row` waits in `requires_action` beyond the authentication window.
pub fn abandoned(row: &PaymentRow, now: i64) -> bool {
    let started = row.attempt_started_at.unwrap_or(row.updated_at);
    row.state().ok() == Some(PaymentState::RequiresAction)
        && started + AUTHENTICATION_WINDOW_MS <= now
}

/// The 3-D Secure part of an event's detail.
pub fn outcome_detail(o: &tds2::Outcome) -> Value {
    json!({
        "trans_status": o.status.map(|s| s.as_str()),
        "trans_status_label_ja": o.status.map(|s| s.label_ja()),
        "eci": o.eci,
        // [U] GMO may not report the EMV outcome at all; then only "authenticated" is known.
        "reported": o.status.is_some(),
    })
}

/// ExecTran refused the card because it takes no part in 3-D Secure 2 (E21030201, the shop
/// requires it): a refusal that says so, instead of "authentication failed" for an
/// authentication that never ran.
pub fn not_enrolled(e: &GmoErrors) -> Option<ApiError> {
    if !e.contains(tds2::CARD_NOT_ENROLLED) {
        return None;
    }
    Some(
        ApiError::new(
            402,
            NOT_ENROLLED,
            "this card does not support 3-D Secure, which this shop requires; please use another card",
            "このカードは本人認証(3Dセキュア)に対応していないため、ご利用いただけません。別のカードをご利用ください。",
        )
        .with("retryable", true)
        .with("gateway", json!({ "err_info": e.joined().1 })),
    )
}

/// `last_error` code of a card outside 3-D Secure 2.
pub const NOT_ENROLLED: &str = "three_d_secure_not_enrolled";

/// The checkout view's `last_error` after a 3-D Secure return that charged nothing: the
/// shopper left the widget's page for the issuer's, so the 402 of a card POST never reached
/// it and the widget reads the reason here. `None` for any other payment.
pub fn return_error_view(row: &PaymentRow) -> Option<Value> {
    if row.is_amazon() || row.state().ok() != Some(PaymentState::RequiresPayment) {
        return None;
    }
    let code = row.last_error_code.as_deref()?;
    if code != "three_d_secure_failed" && code != "card_declined" {
        return None;
    }
    let info = row.last_error_info.as_deref().unwrap_or("");
    let shopper = classify(info.split('|').next().unwrap_or("")).shopper;
    Some(json!({ "code": code, "message": shopper.en(), "message_ja": shopper.ja() }))
}
