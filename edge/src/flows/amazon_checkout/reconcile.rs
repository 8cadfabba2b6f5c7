//! Settling an Amazon Pay payment with Amazon on request (再照会, the widget's polling, IPNs, the
//! Cron sweep): an open outcome via Get Checkout Session / Get Charge, a settled one by reading
//! its charge again.

use super::settle::{Answered, Flow, claim};
use crate::config::AmazonConfig;
use crate::http::ApiResult;
use crate::store::{Claim, Event, PaymentRow, Store};
use kessai_core::amazon::status::{ChargeCanceledReason, ChargeState};
use kessai_core::payment::PaymentState;
use serde_json::json;

/// Settles an Amazon payment with Amazon: an open outcome via Get Checkout Session / Get Charge,
/// a settled one by re-reading its charge (Get Charge), adopting changes made at Amazon.
pub async fn reconcile_now(
    store: &Store<'_>,
    amazon: &AmazonConfig,
    row: PaymentRow,
    now: i64,
) -> ApiResult<PaymentRow> {
    let flow = Flow::new(store, amazon, now);
    let state = row.state()?;
    match state {
        PaymentState::Processing if row.lease_live(now) => Ok(row),
        PaymentState::Unknown | PaymentState::Processing => {
            match claim(&flow, &row, state, "amazon_reconcile_started", None, false).await? {
                Claim::Won(claimed) => {
                    flow.reconcile(claimed, "reconcile requested", Answered::No, true)
                        .await
                }
                Claim::Lost(current) => Ok(current),
            }
        }
        PaymentState::Authorized | PaymentState::Captured => reread_charge(&flow, row, state).await,
        // 3Dセキュア認証中 and カード確認済み are card states: an Amazon payment is never in them.
        PaymentState::RequiresPayment
        | PaymentState::RequiresAction
        | PaymentState::Verified
        | PaymentState::Voided
        | PaymentState::Returned
        | PaymentState::ReturnedNextMonth
        | PaymentState::Refunded
        | PaymentState::PartiallyRefunded
        | PaymentState::Declined
        | PaymentState::Unpaid
        | PaymentState::Expired => Ok(row),
    }
}

/// A settled payment (仮売上 / 実売上): its charge is read again and a change made at Amazon is
/// adopted (captured, expired, canceled, declined).
async fn reread_charge(
    flow: &Flow<'_>,
    row: PaymentRow,
    state: PaymentState,
) -> ApiResult<PaymentRow> {
    let Some(charge_id) = row.amazon_charge_id.clone() else {
        return Ok(row);
    };
    let charge = flow.client.get_charge(&charge_id).await?;
    let reason = charge.reason_code().map(str::to_string);
    let to = match charge.state() {
        Some(ChargeState::Authorized | ChargeState::CaptureInitiated) => PaymentState::Authorized,
        Some(ChargeState::Captured) => PaymentState::Captured,
        // 30 days unused → 期限切れ; canceled by anyone → 取消.
        Some(ChargeState::Canceled) => {
            match reason.as_deref().and_then(ChargeCanceledReason::parse) {
                Some(ChargeCanceledReason::ExpiredUnused) => PaymentState::Expired,
                Some(
                    ChargeCanceledReason::MerchantCanceled
                    | ChargeCanceledReason::ChargePermissionCanceled
                    | ChargeCanceledReason::AmazonCanceled
                    | ChargeCanceledReason::BuyerCanceled,
                )
                | None => PaymentState::Voided,
            }
        }
        Some(ChargeState::Declined) => PaymentState::Declined,
        Some(ChargeState::AuthorizationInitiated) | None => state,
    };
    if to == state {
        return Ok(row);
    }
    let detail = json!({
        "charge_id": charge_id,
        "charge_state": charge.state().map(ChargeState::as_str),
        "reason_code": reason,
    });
    let ev = Event {
        actor: "system",
        kind: "amazon_reconciled",
        detail,
    };
    // Losing the race means someone else changed it meanwhile: theirs is current.
    flow.store
        .transition(&row, state, to, flow.now, &ev)
        .await?;
    flow.store.existing_payment(&row.id).await
}
