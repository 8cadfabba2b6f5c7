//! A cycle's charge on an Amazon Pay `Recurring` charge permission: the ¥100,000-per-JST-month
//! cap checked by kessai first (a refusal is recorded on the attempt's payment without calling
//! Amazon, which would answer `PeriodicAmountExceeded`), then Create Charge
//! ([`crate::flows::amazon_recurring`]). And closing the permission of a cancelled subscription.

use super::super::amazon_recurring;
use crate::config::Config;
use crate::gateways::amazon::AmazonClient;
use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::subscriptions::{SubscriptionEvent, SubscriptionRow};
use crate::store::{Event as PaymentEvent, PaymentRow, Store};
use kessai_core::amazon::status::ChargePermissionState;
use kessai_core::jst::UnixMillis;
use kessai_core::money::Jpy;
use kessai_core::operations::PaymentMethod;
use kessai_core::payment::{PaymentState, Phase};
use kessai_core::subscription::amazon_limit::check_charge;
use kessai_core::subscription::{
    ChargeDate, Event, RecurringCharge, RecurringChargeState, SubscriptionStatus,
};
use serde_json::json;

/// Cancelled subscriptions whose charge permission one run closes at most.
const CLOSE_BATCH: i64 = 10;

/// Charges `payment` (the cycle attempt's) on `charge_permission_id`, after the monthly cap.
pub(super) async fn charge(
    store: &Store<'_>,
    cfg: &Config,
    payment: &PaymentRow,
    charge_permission_id: &str,
    today: ChargeDate,
) -> ApiResult<()> {
    let amazon = cfg.amazon.as_ref().ok_or_else(|| {
        ApiError::new(
            503,
            "amazon_pay_disabled",
            "Amazon Pay is not configured; the subscription cannot be charged",
            "Amazon Pay が設定されていないため課金できません。",
        )
    })?;
    let now = platform::now().0;
    let fresh =
        payment.state()? == PaymentState::RequiresPayment && payment.last_error_code.is_none();
    if fresh {
        let prior = store
            .payments_of_charge_permission(charge_permission_id)
            .await?;
        let charges: Vec<RecurringCharge> = prior
            .iter()
            .filter(|p| p.id != payment.id)
            .filter_map(recurring_charge)
            .collect();
        let amount = Jpy::from_stored(payment.amount);
        if let Err(refusal) = check_charge(&charges, charge_permission_id, today, amount) {
            let mut next = payment.clone();
            next.method = PaymentMethod::AmazonPay.as_str().to_string();
            next.amazon_charge_permission_id = Some(charge_permission_id.to_string());
            next.last_error_code = Some(refusal.code().to_string());
            next.last_error_info = None;
            let ev = PaymentEvent {
                actor: "system",
                kind: "amazon_charge_refused",
                detail: json!({ "charge_permission_id": charge_permission_id, "code": refusal.code(), "message": refusal.message_en() }),
            };
            let state = PaymentState::RequiresPayment;
            store.transition(&next, state, state, now, &ev).await?;
            worker::console_log!("payment {}: {}", payment.id, refusal.code());
            return Ok(());
        }
    }
    amazon_recurring::charge(store, amazon, payment.clone(), charge_permission_id, now).await?;
    Ok(())
}

/// A payment on the permission as the cap counts it (the JST day its attempt started).
fn recurring_charge(p: &PaymentRow) -> Option<RecurringCharge> {
    let state = match p.state().ok()?.phase() {
        Phase::InFlight | Phase::Unknown => RecurringChargeState::InFlight,
        Phase::Paid if p.state == PaymentState::Authorized.as_str() => {
            RecurringChargeState::Authorized
        }
        // Captured, refunded or not: the full amount counts ([U], core::subscription::amazon_limit).
        Phase::Paid => RecurringChargeState::Captured,
        Phase::Closed => RecurringChargeState::Canceled,
        Phase::Open => RecurringChargeState::Declined,
    };
    Some(RecurringCharge {
        charge_permission_id: p.amazon_charge_permission_id.clone()?,
        on: ChargeDate::of_instant(UnixMillis(p.attempt_started_at.unwrap_or(p.created_at))),
        amount: Jpy::from_stored(p.authorized_amount.unwrap_or(p.amount)),
        state,
    })
}

/// Closes the charge permission of a cancelled subscription at Amazon (cancelling what it still
/// holds); `Ok(true)` once Amazon confirmed it (or it was closed already).
pub(super) async fn close_permission(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    charge_permission_id: &str,
) -> ApiResult<bool> {
    let Some(amazon) = cfg.amazon.as_ref() else {
        return Ok(false);
    };
    let answer = AmazonClient::new(amazon)
        .close_charge_permission(charge_permission_id, "定期購入の解約", true)
        .await;
    let closed = match &answer {
        Ok(a) if a.status == 200 => true,
        // Closed already (by the buyer, Amazon, or an earlier try whose answer was lost).
        Ok(a) => {
            let reason = crate::gateways::amazon::meaning::reason_code(a);
            worker::console_warn!(
                "subscription {}: Close Charge Permission answered {} {reason}",
                row.id,
                a.status
            );
            reason == "InvalidChargePermissionStatus"
        }
        Err(_) => false,
    };
    if closed {
        let ev = SubscriptionEvent {
            actor: "system",
            kind: "charge_permission_closed",
            detail: json!({ "charge_permission_id": charge_permission_id }),
        };
        store
            .mark_source_closed(&row.id, platform::now().0, &ev)
            .await?;
    }
    Ok(closed)
}

/// A charge permission's IPN: a 未決済 subscription on it whose permission Amazon says is
/// Chargeable again (the buyer updated the payment method on Amazon) is 有効 again with the owed
/// cycle due today (the model's `SourceChanged`, same permission); the next cron run charges
/// it. Returns how many recovered.
pub async fn permission_changed(
    store: &Store<'_>,
    cfg: &Config,
    charge_permission_id: &str,
) -> ApiResult<usize> {
    let Some(amazon) = cfg.amazon.as_ref() else {
        return Ok(0);
    };
    let unpaid: Vec<SubscriptionRow> = store
        .subscriptions_on_permission(charge_permission_id)
        .await?
        .into_iter()
        .filter(|r| {
            r.subscription()
                .is_ok_and(|s| s.status == SubscriptionStatus::Unpaid)
        })
        .collect();
    if unpaid.is_empty() {
        return Ok(0);
    }
    let permission = AmazonClient::new(amazon)
        .get_charge_permission(charge_permission_id)
        .await
        .map_err(ApiError::from)?;
    if permission.state() != Some(ChargePermissionState::Chargeable) {
        return Ok(0);
    }
    let mut recovered = 0;
    for row in unpaid {
        let sub = row.subscription()?;
        let today = ChargeDate::of_instant(platform::now());
        let event = Event::SourceChanged {
            source: sub.source.clone(),
            today,
        };
        let Ok(t) = sub.apply(&event, &cfg.subscription_retry) else {
            continue;
        };
        let ev = SubscriptionEvent {
            actor: "gateway",
            kind: "amazon_payment_method_updated",
            detail: json!({ "charge_permission_id": charge_permission_id, "status": t.subscription.status.as_str() }),
        };
        if store
            .update_subscription(&row, &t.subscription, platform::now().0, &ev)
            .await?
        {
            recovered += 1;
        }
    }
    Ok(recovered)
}

/// The Cron Trigger's step: permissions of cancelled subscriptions not closed yet (a close that
/// failed when the merchant cancelled).
pub async fn close_cancelled(store: &Store<'_>, cfg: &Config) -> usize {
    if cfg.amazon.is_none() {
        return 0;
    }
    let rows = match store.charge_permissions_to_close(CLOSE_BATCH).await {
        Ok(rows) => rows,
        Err(e) => {
            worker::console_error!(
                "subscriptions: listing permissions to close failed: {}",
                e.code
            );
            return 0;
        }
    };
    let mut closed = 0;
    for row in rows {
        let Some(cp) = row
            .subscription()
            .ok()
            .and_then(|s| s.source.charge_permission_id().map(str::to_string))
        else {
            continue;
        };
        match close_permission(store, cfg, &row, &cp).await {
            Ok(true) => closed += 1,
            Ok(false) => {}
            Err(e) => worker::console_warn!("subscription {}: close failed: {}", row.id, e.code),
        }
    }
    closed
}
