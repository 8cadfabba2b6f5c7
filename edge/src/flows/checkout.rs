//! The widget's API, scoped to one payment by its client secret (checked by the routes before
//! anything here runs): the checkout view the widget renders, and paying it by card with a GMO
//! token. An open outcome is settled with its gateway first, so the widget's polling after a
//! 202 sees the result as soon as the gateway can tell.

use super::card_checkout::{self, Outcome};
use super::card_testing;
use super::reconcile::reconcile_any;
use super::three_d_secure;
use crate::config::Config;
use crate::http::{ApiError, ApiResult, Reply, invalid_json};
use crate::platform;
use crate::store::{PaymentRow, Store};
use crate::views::{checkout_view, payment_result};
use kessai_core::payment::PaymentState;
use serde_json::{Value, json};

fn outcome_open(row: &PaymentRow) -> ApiResult<bool> {
    Ok(matches!(
        row.state()?,
        PaymentState::Unknown | PaymentState::Processing
    ))
}

/// `GET /v1/checkout/{id}`.
pub async fn view(store: &Store<'_>, cfg: &Config, mut row: PaymentRow) -> ApiResult<Reply> {
    // The widget polls this after a 202: settle a lost outcome as soon as GMO can tell. A
    // shopper back from an authentication abandoned past its window (closed tab, back button)
    // gets the form again now instead of at the next sweep.
    let abandoned = three_d_secure::abandoned(&row, platform::now().0);
    if abandoned || outcome_open(&row)? {
        row = reconcile_any(store, cfg, row).await?;
        card_testing::settle_open_attempt(store, &row).await;
    }
    let mut body = checkout_view(&row, cfg);
    if body["last_error"].is_null()
        && let Some(e) = three_d_secure::return_error_view(&row)
    {
        body["last_error"] = e;
    }
    Ok(Reply::ok(body))
}

/// The GMO token of `POST /v1/checkout/{id}/card`. The edge accepts a token only: anything that
/// looks like card data is refused, so a misbuilt integration fails loudly instead of moving
/// PAN through our servers.
fn card_request(cfg: &Config, raw: &str) -> ApiResult<(String, Option<String>)> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    let token = body
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if token.is_empty() || token.len() > 256 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "token is required",
            "カード情報を入力してください。",
        ));
    }
    if body
        .as_object()
        .is_some_and(|m| m.keys().any(|k| k != "token" && k != "return_url"))
    {
        return Err(ApiError::bad_request(
            "only a GMO token may be sent",
            "カード情報は送信できません。トークンのみを送信してください。",
        ));
    }
    // Where the shopper comes back after 3-D Secure: a page of the storefront, or none.
    let return_url = match body.get("return_url") {
        None | Some(Value::Null) => None,
        Some(_) => Some(cfg.storefront_return_url(&body)?.to_string()),
    };
    Ok((token, return_url))
}

/// What a card attempt came to, for the card-testing count.
fn attempt_outcome(result: &ApiResult<Outcome>) -> &'static str {
    match result {
        Ok(Outcome::Paid(_)) => "paid",
        Ok(Outcome::RequiresAction { .. }) => "three_d_secure",
        Ok(Outcome::Unknown(_)) => "unknown",
        Err(e) if e.code == "card_declined" || e.code == "card_input" => "declined",
        Err(_) => "failed",
    }
}

/// `POST /v1/checkout/{id}/card` `{token, return_url?}`: 200 paid, 200 with `next_action` for
/// 3-D Secure (the widget sends the browser there), 202 while GMO cannot tell, or the error.
pub async fn pay_by_card(
    store: &Store<'_>,
    cfg: &Config,
    mut row: PaymentRow,
    raw: &str,
    client_ip: Option<&str>,
) -> ApiResult<Reply> {
    let (token, return_url) = card_request(cfg, raw)?;
    // An Amazon Pay attempt whose outcome is open is settled with Amazon, never with GMO
    // (which knows nothing of it and would call it "not charged").
    if row.is_amazon() && outcome_open(&row)? {
        row = reconcile_any(store, cfg, row).await?;
        if outcome_open(&row)? {
            return Err(card_checkout::in_progress());
        }
    }
    let now = platform::now().0;
    // Card-testing limits before anything reaches GMO; the attempt is recorded after it.
    let ticket = card_testing::admit(store, cfg, &row.id, client_ip, now).await?;
    let result =
        card_checkout::authorize(store, cfg, row, &token, return_url.as_deref(), now, &ticket)
            .await;
    card_testing::finish(store, ticket, attempt_outcome(&result)).await;
    match result? {
        Outcome::Paid(p) => Ok(Reply::ok(payment_result(&p)?)),
        Outcome::RequiresAction { row, redirect_url } => {
            let mut body = payment_result(&row)?;
            body["next_action"] = json!({ "type": "redirect", "url": redirect_url });
            Ok(Reply::ok(body))
        }
        Outcome::Unknown(p) => {
            let mut body = payment_result(&p)?;
            body["error"] = ApiError::new(
                202,
                "outcome_unknown",
                "the card company has not confirmed the result yet; do not pay again",
                "決済結果を確認中です。二重決済を防ぐため、再度お支払いせずにショップからのご連絡をお待ちください。",
            )
            .body()["error"]
                .clone();
            Ok(Reply::with_status(202, body))
        }
    }
}
