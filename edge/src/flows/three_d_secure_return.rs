//! The browser's return from the issuer's 3-D Secure page ([`RETURN_PATH`]): the AccessID is
//! checked, `requires_action → processing` is claimed once, SecureTran2 authorises, and the
//! shopper goes back to the shop's page with the outcome. See [`super::three_d_secure`].

use super::card_checkout::{Finished, Flow};
use super::card_testing;
use super::lease::LEASE_MS;
use super::stored_cards;
use super::subscriptions::sign_up;
#[cfg(doc)]
use super::three_d_secure::RETURN_PATH;
use crate::config::Config;
use crate::gateways::gmo::CallError;
use crate::http::{ApiError, ApiResult, Nav, secure_eq, with_query};
use crate::platform;
use crate::store::{Claim, Event, PaymentRow, Store};
use kessai_core::gmo::api::Answer;
use kessai_core::gmo::errors::{ErrorClass, GmoErrors};
use kessai_core::payment::{PaymentState, Phase};
use serde_json::json;

/// `POST /v1/checkout/{id}/3ds/return` (form `AccessID`): finishes the authorisation and sends
/// the shopper back to the shop's page with the outcome.
pub async fn on_return(store: &Store<'_>, cfg: &Config, payment_id: &str, access_id: &str) -> Nav {
    match finish(store, cfg, payment_id, access_id).await {
        Ok(row) => {
            card_testing::settle_open_attempt(store, &row).await;
            // 「このカードを登録する」 after a 3-D Secure-authenticated payment: the shop's page
            // learns the result from `kessai_card_saved` (the payment stands either way).
            let saved = match row.state().map(PaymentState::phase) {
                Ok(Phase::Paid) => stored_cards::save_after_payment(store, cfg, &row, true).await,
                Ok(Phase::Open | Phase::InFlight | Phase::Unknown | Phase::Closed) | Err(_) => None,
            };
            let saved = saved.map(|v| v.get("card_saved").is_some());
            // A 定期購入 sign-up starts here once its card is stored.
            let _ = sign_up::after_checkout(store, cfg, &row.id).await;
            back_to_shop(&row, cfg, saved)
        }
        Err(e) => Nav::ErrorPage {
            status: e.status,
            reason: e.code,
            message_ja: e.message_ja,
        },
    }
}

/// SecureTran2's answer while the authentication has not ended at GMO (the sandbox's; [U] the
/// reference names no code, E11010003 is "not a transaction of this kind" at GMO).
const NOT_RETURNED_YET: &str = "E11010003";

fn return_refused() -> ApiError {
    ApiError::new(
        400,
        "three_d_secure_return_invalid",
        "the 3-D Secure return does not match this payment",
        "本人認証の結果を確認できませんでした。ショップのページに戻ってもう一度お試しください。",
    )
}

async fn finish(
    store: &Store<'_>,
    cfg: &Config,
    payment_id: &str,
    access_id: &str,
) -> ApiResult<PaymentRow> {
    let row = store
        .payment(payment_id)
        .await?
        .ok_or_else(return_refused)?;
    let stored = row.gmo_access_id.as_deref().unwrap_or("");
    if stored.is_empty() || !secure_eq(stored, access_id.trim()) {
        worker::console_warn!(
            "payment {}: 3-D Secure return with another AccessID",
            row.id
        );
        return Err(return_refused());
    }
    if row.state()? != PaymentState::RequiresAction {
        // A replayed or second return: SecureTran2 ran (or the sweep settled it) already.
        return Ok(row);
    }
    let now = platform::now().0;
    let mut claimed = row.clone();
    claimed.lease_until = Some(now + LEASE_MS);
    // SecureTran2 is the call in flight from now: a lost answer is judged by its age.
    claimed.attempt_started_at = Some(now);
    let ev = Event {
        actor: "shopper",
        kind: "three_d_secure_returned",
        detail: json!({ "gmo_order_id": row.gmo_order_id }),
    };
    let claimed = match store
        .claim_processing(claimed, PaymentState::RequiresAction, now, &ev)
        .await?
    {
        Claim::Won(c) => c,
        Claim::Lost(current) => return Ok(current),
    };
    let flow = Flow::new(store, cfg, now);
    secure_tran2(&flow, claimed, row.attempt_started_at).await
}

/// The authentication is still open at GMO (SecureTran2 not sent, or GMO says the shopper has
/// not come back yet): `requires_action` again, with its window counted from the card POST.
async fn still_open(
    flow: &Flow<'_>,
    mut claimed: PaymentRow,
    started: Option<i64>,
) -> ApiResult<PaymentRow> {
    claimed.attempt_started_at = started;
    flow.three_d_secure_waits(claimed, "three_d_secure_still_open")
        .await
}

/// SecureTran2 on the claimed payment, and what its answer makes of it (`started`: when the
/// authentication began, kept if it stays open).
async fn secure_tran2(
    flow: &Flow<'_>,
    claimed: PaymentRow,
    started: Option<i64>,
) -> ApiResult<PaymentRow> {
    let Some(access) = claimed.gmo_access() else {
        return flow
            .reconcile(claimed, "3-D Secure without AccessID", Finished::Yes)
            .await;
    };
    match flow.gmo.secure_tran2(&access).await {
        Ok(Answer::Ok((au, outcome))) => {
            flow.adopt_authorization(claimed, au, Some(&outcome)).await
        }
        // [U] E11010003 before the shopper came back: a stale return (an earlier try's form
        // resubmitted, same AccessID) must not end the authentication the shopper is in.
        Ok(Answer::Err(e)) if e.contains(NOT_RETURNED_YET) => {
            worker::console_warn!("payment {}: 3-D Secure return before the end", claimed.id);
            still_open(flow, claimed, started).await
        }
        Ok(Answer::Err(e)) => refused(flow, claimed, e).await,
        // Nothing reached GMO: the authentication is still there to finish.
        Err(CallError::NotSent(why)) => {
            worker::console_error!("payment {}: SecureTran2 not sent: {why}", claimed.id);
            still_open(flow, claimed, started).await
        }
        Err(CallError::NoAnswer(why)) => flow.reconcile(claimed, &why, Finished::Maybe).await,
        Err(CallError::Unreadable(_)) => {
            flow.reconcile(claimed, "unreadable SecureTran2 answer", Finished::Maybe)
                .await
        }
    }
}

/// SecureTran2 answered GMO's error pairs.
async fn refused(flow: &Flow<'_>, claimed: PaymentRow, e: GmoErrors) -> ApiResult<PaymentRow> {
    match e.meaning().class {
        // Authentication failed (N/R/U) or the issuer declined after it: nothing charged, the
        // shopper may try again (a new token on the same AccessID).
        ErrorClass::ThreeDSecure => {
            flow.release(
                claimed,
                "three_d_secure_failed",
                Some(&e),
                "three_d_secure_failed",
            )
            .await
        }
        ErrorClass::Declined | ErrorClass::ShopperInput => {
            flow.release(claimed, "authorization_declined", Some(&e), "card_declined")
                .await
        }
        ErrorClass::Busy
        | ErrorClass::OutcomeUnknown
        | ErrorClass::StateConflict
        | ErrorClass::OrderIdExists
        | ErrorClass::AuthorizationExpired
        | ErrorClass::Rejected => {
            let why = format!("SecureTran2 answered {}", e.joined().1);
            flow.reconcile(claimed, &why, Finished::Yes).await
        }
    }
}

/// The storefront's page with `kessai_payment` and `kessai_card` (`authorized`, `declined`,
/// `pending`, `error`); a Japanese page when the payment has no return URL on the shop.
fn back_to_shop(row: &PaymentRow, cfg: &Config, card_saved: Option<bool>) -> Nav {
    let outcome = match row.state().map(PaymentState::phase) {
        Ok(Phase::Paid) => "authorized",
        Ok(Phase::Open) => "declined",
        Ok(Phase::InFlight | Phase::Unknown) => "pending",
        Ok(Phase::Closed) | Err(_) => "error",
    };
    match row.return_url.as_deref() {
        Some(url) if cfg.url_on_allowed_origin(url) => {
            let saved = match card_saved {
                Some(true) => "&kessai_card_saved=1",
                Some(false) => "&kessai_card_saved=0",
                None => "",
            };
            Nav::Redirect(with_query(
                url,
                &format!("kessai_payment={}&kessai_card={outcome}{saved}", row.id),
            ))
        }
        _ => Nav::ErrorPage {
            status: 200,
            reason: "no return url",
            message_ja: match outcome {
                "authorized" => "お支払いが完了しました。ショップのページに戻ってご確認ください。",
                _ => "お支払いは完了していません。ショップのページに戻ってもう一度お試しください。",
            }
            .to_string(),
        },
    }
}
