//! One cycle's charge on an Amazon Pay `Recurring` charge permission (定期購入, issue #15):
//! Create Charge (authorise only, no pending answer) for the payment's stored amount, under the
//! payment's order id as idempotency key.
//!
//! The payment is claimed first (`requires_payment → processing`, compare-and-set), so one
//! caller sends the call. A lost answer leaves the payment `unknown`; settling it sends the same
//! Create Charge with the same key, which Amazon answers from the first execution (reference §5:
//! the first response is stored and replayed) — a second charge is never created. A refused
//! call (HardDeclined, SoftDeclined, …) releases the payment with Amazon's reason; nothing was
//! charged.

use super::lease::LEASE_MS;
use crate::config::AmazonConfig;
use crate::gateways::amazon::AmazonClient;
use crate::gateways::amazon::meaning::{price, reason_code};
use crate::gateways::amazon::transport::{Answer, TransportError};
use crate::http::ApiResult;
use crate::store::{Claim, Event, PaymentRow, Store};
use kessai_core::amazon::errors::{AmazonErrorClass, classify};
use kessai_core::amazon::model::Charge;
use kessai_core::amazon::status::ChargeState;
use kessai_core::operations::PaymentMethod;
use kessai_core::payment::PaymentState;
use serde_json::json;

/// Whether a payment is a recurring charge of kessai's own (a subscription cycle on Amazon): it
/// has a charge permission but no checkout session.
pub fn is_recurring_charge(row: &PaymentRow) -> bool {
    row.is_amazon() && row.subscription_id.is_some() && row.amazon_checkout_session_id.is_none()
}

/// Charges (or settles) the payment on `charge_permission_id`: from `requires_payment` (a new
/// attempt), `unknown`, or `processing` whose lease ran out (the same call again, replayed by
/// Amazon). Anything else is returned as it is.
pub async fn charge(
    store: &Store<'_>,
    amazon: &AmazonConfig,
    row: PaymentRow,
    charge_permission_id: &str,
    now: i64,
) -> ApiResult<PaymentRow> {
    let from = row.state()?;
    let new_attempt = match from {
        PaymentState::RequiresPayment if row.last_error_code.is_none() => true,
        PaymentState::Unknown => false,
        PaymentState::Processing if !row.lease_live(now) => false,
        // Declined before (a new attempt is a new payment), in flight, or settled.
        PaymentState::RequiresPayment
        | PaymentState::Processing
        | PaymentState::RequiresAction
        | PaymentState::Authorized
        | PaymentState::Captured
        | PaymentState::Verified
        | PaymentState::Voided
        | PaymentState::Returned
        | PaymentState::ReturnedNextMonth
        | PaymentState::Refunded
        | PaymentState::PartiallyRefunded
        | PaymentState::Declined
        | PaymentState::Unpaid
        | PaymentState::Expired => return Ok(row),
    };
    let mut claimed = row.clone();
    claimed.lease_until = Some(now + LEASE_MS);
    claimed.method = PaymentMethod::AmazonPay.as_str().to_string();
    claimed.amazon_charge_permission_id = Some(charge_permission_id.to_string());
    if new_attempt {
        claimed.attempt_started_at = Some(now);
    }
    let ev = Event {
        actor: "system",
        kind: if new_attempt {
            "amazon_recurring_charge_started"
        } else {
            "amazon_reconcile_started"
        },
        detail: json!({ "charge_permission_id": charge_permission_id }),
    };
    match store.claim_processing(claimed, from, now, &ev).await? {
        Claim::Won(claimed) => {
            send(
                store,
                amazon,
                claimed,
                charge_permission_id,
                new_attempt,
                now,
            )
            .await
        }
        Claim::Lost(current) => Ok(current),
    }
}

/// Leaves the lease for `to` with a `gateway` event.
async fn settle(
    store: &Store<'_>,
    next: PaymentRow,
    to: PaymentState,
    kind: &str,
    detail: serde_json::Value,
    now: i64,
) -> ApiResult<PaymentRow> {
    let ev = Event {
        actor: "gateway",
        kind,
        detail,
    };
    store.settle_leased(next, to, now, &ev).await
}

/// The outcome is unknown: left `unknown` for the same call again (never a guess).
async fn open_outcome(
    store: &Store<'_>,
    row: PaymentRow,
    detail: serde_json::Value,
    now: i64,
) -> ApiResult<PaymentRow> {
    settle(
        store,
        row,
        PaymentState::Unknown,
        "amazon_outcome_unknown",
        detail,
        now,
    )
    .await
}

/// Create Charge for the claimed payment, and what its answer means.
async fn send(
    store: &Store<'_>,
    amazon: &AmazonConfig,
    claimed: PaymentRow,
    charge_permission_id: &str,
    new_attempt: bool,
    now: i64,
) -> ApiResult<PaymentRow> {
    let client = AmazonClient::new(amazon);
    let answer = client
        .create_charge(
            charge_permission_id,
            price(claimed.amount)?,
            &claimed.order_id,
            &claimed.order_id,
        )
        .await;
    // Nothing reached Amazon: a new attempt is open again, a repeated one stays unknown.
    let not_sent = if new_attempt {
        PaymentState::RequiresPayment
    } else {
        PaymentState::Unknown
    };
    let answer = match answer {
        Ok(a) => a,
        Err(TransportError::NotSent(why)) => {
            worker::console_error!("payment {}: Create Charge not sent: {why}", claimed.id);
            let detail = json!({ "reason": "NotSent" });
            return settle(store, claimed, not_sent, "amazon_failed", detail, now).await;
        }
        Err(TransportError::Lost(why)) => {
            worker::console_warn!("payment {}: Create Charge answer lost: {why}", claimed.id);
            let detail = json!({ "reason": why });
            return open_outcome(store, claimed, detail, now).await;
        }
    };
    if (200..=201).contains(&answer.status) {
        let Ok(charge) = serde_json::from_str::<Charge>(&answer.body) else {
            let detail = json!({ "reason": "unreadable Create Charge answer" });
            return open_outcome(store, claimed, detail, now).await;
        };
        return adopt(store, claimed, &charge, now).await;
    }
    refused(store, claimed, &answer, charge_permission_id, not_sent, now).await
}

/// A Create Charge answered with an error.
async fn refused(
    store: &Store<'_>,
    claimed: PaymentRow,
    answer: &Answer,
    charge_permission_id: &str,
    not_sent: PaymentState,
    now: i64,
) -> ApiResult<PaymentRow> {
    let reason = reason_code(answer);
    let class = classify(answer.status, &reason);
    match class {
        // No answer worth trusting: ask again later with the same key.
        AmazonErrorClass::Unavailable => {
            let detail = json!({ "status": answer.status });
            open_outcome(store, claimed, detail, now).await
        }
        // Nothing was done: the next run tries again (same key).
        AmazonErrorClass::Throttled => {
            let detail = json!({ "status": answer.status });
            settle(store, claimed, not_sent, "amazon_throttled", detail, now).await
        }
        AmazonErrorClass::Declined
        | AmazonErrorClass::BuyerCanceled
        | AmazonErrorClass::CheckoutCanceled
        | AmazonErrorClass::InvalidState
        | AmazonErrorClass::AmountRule
        | AmazonErrorClass::Signature
        | AmazonErrorClass::AccountStatus
        | AmazonErrorClass::IdempotencyConflict
        | AmazonErrorClass::NotFound
        | AmazonErrorClass::BadRequest
        | AmazonErrorClass::Unsupported => {
            let mut next = claimed;
            next.last_error_code = Some(class.code().to_string());
            next.last_error_info = Some(reason.clone()).filter(|r| !r.is_empty());
            let detail =
                json!({ "charge_permission_id": charge_permission_id, "reason_code": reason });
            settle(
                store,
                next,
                PaymentState::RequiresPayment,
                "amazon_declined",
                detail,
                now,
            )
            .await
        }
    }
}

/// The charge Amazon created: 仮売上 when Authorized for exactly the payment's amount.
async fn adopt(
    store: &Store<'_>,
    mut row: PaymentRow,
    charge: &Charge,
    now: i64,
) -> ApiResult<PaymentRow> {
    let amount = charge
        .charge_amount
        .as_ref()
        .and_then(|p| p.to_jpy().ok())
        .map(|j| j.yen());
    row.amazon_charge_id = Some(charge.charge_id.clone());
    let state = charge.state();
    let detail = json!({
        "charge_id": charge.charge_id,
        "charge_permission_id": row.amazon_charge_permission_id,
        "charge_state": state.map(ChargeState::as_str),
        "amount": amount,
    });
    match state {
        Some(ChargeState::Authorized) if amount == Some(row.amount) => {
            row.authorized_at = row.attempt_started_at;
            row.last_error_code = None;
            row.last_error_info = None;
            settle(
                store,
                row,
                PaymentState::Authorized,
                "amazon_authorized",
                detail,
                now,
            )
            .await
        }
        Some(ChargeState::Declined) => {
            let reason = charge.reason_code().unwrap_or("Declined").to_string();
            row.last_error_code = Some(AmazonErrorClass::Declined.code().to_string());
            row.last_error_info = Some(reason);
            settle(
                store,
                row,
                PaymentState::RequiresPayment,
                "amazon_declined",
                detail,
                now,
            )
            .await
        }
        // A different amount, a pending or captured charge we did not ask for, a canceled one:
        // the operator looks (再照会); never guessed.
        Some(
            ChargeState::Authorized
            | ChargeState::AuthorizationInitiated
            | ChargeState::CaptureInitiated
            | ChargeState::Captured
            | ChargeState::Canceled,
        )
        | None => {
            worker::console_error!("payment {}: unexpected Create Charge answer", row.id);
            open_outcome(store, row, detail, now).await
        }
    }
}
