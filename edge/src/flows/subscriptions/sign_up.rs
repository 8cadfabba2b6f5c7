//! 定期購入 sign-up at checkout: a payment created with `subscription: {cycle, amount?,
//! first_charge_on?}` becomes a subscription once the shopper has paid (or registered a card)
//! with a source kessai can charge again without them:
//! - card: the card saved by TradedCard after the 3-D Secure-authenticated payment or
//!   registration (the sign-up always saves it), or the stored card the shopper picked;
//! - Amazon Pay: the `Recurring` charge permission the checkout created.
//!
//! Set up once, whoever sees the paid payment first (the card POST, the 3-D Secure return, the
//! Amazon result page, or the Cron sweep's safety net): the subscription's id is derived from
//! the payment's and the insert is `ON CONFLICT DO NOTHING`, in one batch with the payment's tag.

use super::super::stored_cards;
use crate::config::Config;
use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::subscriptions::SubscriptionEvent;
use crate::store::{PaymentRow, Store};
use kessai_core::payment::{CaptureMode, Phase};
use kessai_core::subscription::{ChargeDate, PaymentSource, SubscriptionPlan};
use serde_json::json;

/// Sign-ups the sweep sets up per run.
const SWEEP_BATCH: i64 = 20;

/// The subscription id of a sign-up payment (`pay_<hex>` → `sub_<hex>`).
pub fn subscription_id_of(payment_id: &str) -> String {
    format!("sub_{}", payment_id.trim_start_matches("pay_"))
}

/// Sets up the sign-up of `payment_id` if it is one and is paid; logs and records what went
/// wrong otherwise (the payment stands; the sweep tries again). Returns the subscription id.
pub async fn after_checkout(store: &Store<'_>, cfg: &Config, payment_id: &str) -> Option<String> {
    let row = match store.existing_payment(payment_id).await {
        Ok(row) => row,
        Err(e) => {
            worker::console_warn!("sign-up {payment_id}: not read: {}", e.code);
            return None;
        }
    };
    row.subscription_plan.as_ref()?;
    match set_up(store, cfg, &row).await {
        Ok(id) => id,
        // A transient failure (GMO unreachable, D1 busy: 5xx) is tried again by the sweep.
        Err(e) if e.status >= 500 => {
            worker::console_warn!("sign-up {payment_id}: not set up yet: {}", e.code);
            None
        }
        // The card was not stored, or is gone or expired: later cycles could never be charged.
        // Recorded once (the sweep skips it); the shop sees it on the payment and asks the
        // customer again.
        Err(e) => {
            worker::console_warn!("sign-up {payment_id}: not set up: {}", e.code);
            let detail = json!({ "code": e.code });
            let now = platform::now().0;
            if let Err(n) = store
                .note_event(&row.id, now, "subscription_sign_up_failed", &detail)
                .await
            {
                worker::console_error!("payment {}: event not written: {}", row.id, n.code);
            }
            None
        }
    }
}

/// The Cron sweep's safety net: paid sign-ups whose subscription is not set up yet.
pub async fn sweep(store: &Store<'_>, cfg: &Config) -> usize {
    let rows = match store.pending_sign_ups(SWEEP_BATCH).await {
        Ok(rows) => rows,
        Err(e) => {
            worker::console_error!("sign-ups: listing failed: {}", e.code);
            return 0;
        }
    };
    let mut done = 0;
    for row in rows {
        if after_checkout(store, cfg, &row.id).await.is_some() {
            done += 1;
        }
    }
    done
}

async fn set_up(store: &Store<'_>, cfg: &Config, row: &PaymentRow) -> ApiResult<Option<String>> {
    let Some(plan_json) = row.subscription_plan.as_deref() else {
        return Ok(None);
    };
    if let Some(id) = &row.subscription_id {
        return Ok(Some(id.clone()));
    }
    match row.state()?.phase() {
        Phase::Paid => {}
        Phase::Open | Phase::InFlight | Phase::Unknown | Phase::Closed => return Ok(None),
    }
    let plan: SubscriptionPlan = serde_json::from_str(plan_json)
        .map_err(|_| ApiError::internal("unreadable subscription plan in D1"))?;
    let customer_id = row
        .customer_id
        .as_deref()
        .ok_or_else(|| ApiError::internal("sign-up without a customer"))?;
    let source = source_of(store, cfg, row, customer_id).await?;
    let now = platform::now();
    let today = ChargeDate::of_instant(now);
    let paid_at_checkout = row.capture()? != CaptureMode::Verify;
    let sub = plan.subscription(source, today, paid_at_checkout);
    let id = subscription_id_of(&row.id);
    let ev = SubscriptionEvent {
        actor: "shopper",
        kind: "created",
        detail: json!({
            "sign_up_payment_id": row.id,
            "amount": plan.amount.yen(),
            "cycle": plan.cycle.to_string(),
            "source": sub.source.kind().as_str(),
            "next_charge_on": sub.next_charge_on.to_string(),
        }),
    };
    store
        .insert_sign_up(&id, customer_id, &sub, &row.id, now.0, &ev)
        .await?;
    worker::console_log!("sign-up {}: subscription {id} set up", row.id);
    Ok(Some(id))
}

/// What the sign-up's later cycles are charged on.
async fn source_of(
    store: &Store<'_>,
    cfg: &Config,
    row: &PaymentRow,
    customer_id: &str,
) -> ApiResult<PaymentSource> {
    if row.is_amazon() {
        let cp = row
            .amazon_charge_permission_id
            .as_deref()
            .ok_or_else(|| ApiError::internal("Amazon sign-up paid without a charge permission"))?;
        return PaymentSource::amazon(cp)
            .map_err(|e| ApiError::new(502, e.code(), e.message_en(), e.message_ja()));
    }
    // The card saved from this payment, or the stored card it paid with.
    let seq = row
        .saved_card_seq
        .or(row.card_seq)
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| {
            ApiError::new(
                409,
                "sign_up_card_not_saved",
                "the sign-up's card was not stored, so later cycles cannot be charged",
                "カードを登録できなかったため、定期購入を開始できませんでした。",
            )
        })?;
    let member_id = stored_cards::usable_card(store, cfg, customer_id, seq).await?;
    PaymentSource::gmo_card(&member_id, seq)
        .map_err(|e| ApiError::new(502, e.code(), e.message_en(), e.message_ja()))
}
