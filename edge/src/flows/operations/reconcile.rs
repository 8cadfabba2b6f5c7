//! An operation's `unknown` (or an operation abandoned in `processing` past its lease), settled
//! with the gateway's own view (SearchTrade / Get Charge); both sides go into the `reconciled`
//! event. While the gateway cannot tell, the payment stays `unknown` — including a GMO trade
//! that still shows the record from before the operation while the operation's call may still
//! be running at GMO (its in-flight window, as for a checkout).

use super::sides::kessai_side;
use crate::config::Config;
use crate::flows::lease::{LEASE_MS, in_flight_window_passed};
use crate::gateways::amazon::AmazonClient;
use crate::gateways::gmo::GmoClient;
use crate::http::ApiResult;
use crate::platform;
use crate::store::{Claim, Event, PaymentRow, Store};
use kessai_core::amazon::model::Price;
use kessai_core::amazon::status::{ChargeCanceledReason, ChargeState};
use kessai_core::gmo::api::Answer;
use kessai_core::jst::JstDateTime;
use kessai_core::money::Jpy;
use kessai_core::operations::{PaymentMethod, state_from_amazon_charge};
use kessai_core::payment::{PaymentState, state_from_gmo};
use serde_json::{Value, json};

/// Whether an `unknown` payment (or an operation abandoned in `processing` past its lease) was
/// left by an operation after the authorisation rather than by a checkout flow: only operations
/// record `authorized_amount`.
pub fn unknown_after_operation(row: &PaymentRow, now: i64) -> bool {
    row.authorized_amount.is_some()
        && match row.state() {
            Ok(PaymentState::Unknown) => true,
            Ok(PaymentState::Processing) => row.lease_until.is_none_or(|t| t <= now),
            Ok(_) | Err(_) => false,
        }
}

/// Settles an operation's `unknown` with the gateway's own view (SearchTrade / Get Charge) and
/// records both sides in the event. While the gateway cannot tell, the payment stays `unknown`.
pub async fn reconcile_operation(
    store: &Store<'_>,
    cfg: &Config,
    row: PaymentRow,
) -> ApiResult<PaymentRow> {
    let now = platform::now().0;
    let mut claimed = row.clone();
    claimed.lease_until = Some(now + LEASE_MS);
    let ev = Event {
        actor: "system",
        kind: "reconcile_started",
        detail: json!({ "after": "operation" }),
    };
    let from = row.state()?;
    let mut claimed = match store.claim_processing(claimed, from, now, &ev).await? {
        Claim::Won(r) => r,
        Claim::Lost(current) => return Ok(current),
    };
    let kessai = kessai_side(&row);
    let in_flight = match operation_started_at(store, &row).await {
        Some(started) => !in_flight_window_passed(started, now),
        None => false,
    };
    let adopted = match row.method() {
        PaymentMethod::Card => observe_card(cfg, &row, &mut claimed, in_flight).await,
        PaymentMethod::AmazonPay => match cfg.amazon.as_ref() {
            None => None,
            Some(amazon) => {
                observe_amazon(&AmazonClient::new(amazon), &row, &mut claimed, in_flight).await
            }
        },
    };
    match adopted {
        Some((to, gateway)) => {
            let ev = Event {
                actor: "system",
                kind: "reconciled",
                detail: json!({ "kessai": kessai, "gateway": gateway }),
            };
            store.settle_leased(claimed, to, now, &ev).await
        }
        // Nothing to adopt: the record before the reconcile stands (the claim's version).
        None => {
            let ev = Event {
                actor: "system",
                kind: "outcome_unknown",
                detail: json!({ "kessai": kessai, "reason": "the gateway could not tell" }),
            };
            store
                .settle_leased(
                    PaymentRow {
                        state: claimed.state,
                        version: claimed.version,
                        lease_until: claimed.lease_until,
                        ..row
                    },
                    PaymentState::Unknown,
                    now,
                    &ev,
                )
                .await
        }
    }
}

/// When the operation that left the payment open started (its `operation_started` event);
/// `None` when there is none to read.
async fn operation_started_at(store: &Store<'_>, row: &PaymentRow) -> Option<i64> {
    let events = store.events(&row.id).await.ok()?;
    events
        .iter()
        .rev()
        .find(|e| e.kind == "operation_started")
        .map(|e| e.at)
}

/// SearchTrade: the state GMO's status implies and GMO's side, with the amounts written into
/// `claimed`; `None` when GMO cannot tell. `in_flight`: the operation's call may still be
/// running at GMO, so a trade that shows nothing it changed (kessai's record before the step:
/// the same status, and for a trade holding money the same amount) proves nothing yet.
async fn observe_card(
    cfg: &Config,
    row: &PaymentRow,
    claimed: &mut PaymentRow,
    in_flight: bool,
) -> Option<(PaymentState, Value)> {
    let t = match GmoClient::new(cfg).search_trade(&row.gmo_order_id).await {
        Ok(Answer::Ok(t)) => t,
        Ok(Answer::Err(_)) | Err(_) => return None,
    };
    let holds_money = matches!(
        state_from_gmo(t.status),
        PaymentState::Authorized | PaymentState::Captured
    );
    let unchanged = row.gmo_status.as_deref() == Some(t.status.as_str())
        && (!holds_money || row.authorized_amount == Some(t.amount));
    if in_flight && unchanged {
        return None;
    }
    let to = state_from_gmo(t.status);
    claimed.gmo_status = Some(t.status.as_str().to_string());
    claimed.authorized_amount = Some(t.amount);
    if t.amount > 0 {
        claimed.amount = t.amount;
    }
    claimed.captured_amount = Some(if to.holds_capture() { t.amount } else { 0 });
    if JstDateTime::parse_gmo(&t.process_date).is_some() {
        claimed.gmo_tran_date = Some(t.process_date.clone());
    }
    let gateway =
        json!({ "gmo_status": t.status.as_str(), "amount": t.amount, "tran_id": t.tran_id });
    match to {
        // An operation never leads back to before the authorisation.
        PaymentState::RequiresPayment => None,
        PaymentState::Processing
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
        | PaymentState::Expired
        | PaymentState::Unknown => Some((to, gateway)),
    }
}

/// Get Charge: the state Amazon's charge implies and Amazon's side, with the amounts written
/// into `claimed`; `None` when Amazon cannot tell or the charge is still in flight. `in_flight`:
/// the operation's call may still be running at Amazon, so a charge that shows nothing it
/// changed (still authorised with nothing captured before, or captured and refunded exactly as
/// kessai recorded before the step) proves nothing yet.
async fn observe_amazon(
    client: &AmazonClient<'_>,
    row: &PaymentRow,
    claimed: &mut PaymentRow,
    in_flight: bool,
) -> Option<(PaymentState, Value)> {
    let charge_id = row.amazon_charge_id.clone().unwrap_or_default();
    let c = client.get_charge(&charge_id).await.ok()?;
    let yen = |p: &Option<Price>| {
        p.as_ref()
            .and_then(|p| p.to_jpy().ok())
            .unwrap_or(Jpy::from_stored(0))
    };
    let captured = yen(&c.capture_amount);
    // [U] Amazon shows a refund in refundedAmount only once it is Refunded: a refund still
    // RefundInitiated is not seen here. Repeating that refund with the same amount from this
    // record reuses its idempotency key.
    let refunded = yen(&c.refunded_amount).max(Jpy::from_stored(row.refunded_amount.unwrap_or(0)));
    let state = c.state()?;
    let before = |v: Option<i64>| v.unwrap_or(0);
    let unchanged = match state {
        ChargeState::Authorized => before(row.captured_amount) == 0,
        ChargeState::Captured => {
            captured.yen() == before(row.captured_amount)
                && yen(&c.refunded_amount).yen() == before(row.refunded_amount)
        }
        _ => false,
    };
    if in_flight && unchanged {
        return None;
    }
    let to = state_from_amazon_charge(
        state,
        c.reason_code().and_then(ChargeCanceledReason::parse),
        captured,
        refunded,
    );
    if to.holds_capture() {
        claimed.captured_amount = Some(captured.yen());
        claimed.refunded_amount = Some(refunded.yen());
        let left = captured.yen() - refunded.yen();
        if left > 0 {
            claimed.amount = left;
        }
    }
    let gateway = json!({ "charge_state": state.as_str(), "captured": captured.yen(), "refunded": refunded.yen() });
    // A charge still in flight stays unknown (asked again later).
    (to != PaymentState::Processing).then_some((to, gateway))
}
