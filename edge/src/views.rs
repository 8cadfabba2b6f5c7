//! The JSON shapes the API answers with, built from stored rows and `kessai_core` rules: the
//! merchant's payment view, the widget's checkout view, and the pieces both show (the console's
//! 表示状態 and 有効期限, Amazon Pay's block). Views read; they never change anything.

use crate::config::Config;
use crate::http::ApiResult;
use crate::platform;
use crate::store::subscriptions::{SubscriptionEventRow, SubscriptionRow};
use crate::store::{EventRow, PaymentRow};
use kessai_core::console::{ExpiryBadge, expiry_badge, shown_state};
use kessai_core::gmo::installments::Installments;
use kessai_core::jst::UnixMillis;
use kessai_core::payment::{CaptureMode, PaymentState};
use kessai_core::subscription::{PaymentSource, SubscriptionPlan};
use serde_json::{Value, json};

/// The merchant's (and the console's) view of a payment.
pub fn payment_view(row: &PaymentRow) -> ApiResult<Value> {
    let state = row.state()?;
    let now = platform::now().0;
    let shown = display_state(row, now)?;
    Ok(json!({
        "id": row.id,
        "order_id": row.order_id,
        "amount": row.amount,
        "currency": row.currency,
        "method": row.method,
        "capture": row.capture_mode,
        "state": row.state,
        "state_label_ja": state.label_ja(),
        "client_secret": row.client_secret,
        "gateway": {
            "gmo_order_id": row.gmo_order_id,
            "access_id": row.gmo_access_id,
            "tran_id": row.gmo_tran_id,
            "approve": row.gmo_approve,
            "forward": row.gmo_forward,
            "tran_date": row.gmo_tran_date,
        },
        "card_mask": row.card_mask,
        "card": card_payment_block(row),
        "customer": row.customer_id,
        "subscription_id": row.subscription_id,
        "subscription_plan": row.subscription_plan.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok()),
        "amazon_pay": amazon_payment_block(row),
        "last_error": row.last_error_code.as_ref().map(|c| json!({ "code": c, "err_info": row.last_error_info })),
        "created_at": row.created_at,
        "authorized_at": row.authorized_at,
        "customer_name": customer_name(row),
        // 3-D Secure risk data as stored (normalised: postal code digits, prefecture JIS code).
        "risk": row.risk_data.as_deref().and_then(|r| serde_json::from_str::<Value>(r).ok()),
        // The console's view: 期限切れ for a 仮売上 past its deadline, and the countdown.
        "display_state": shown.as_str(),
        "display_state_label_ja": shown.label_ja(),
        "authorization_expiry": expiry_view(row, now),
    }))
}

/// A payment's history, oldest first.
pub fn events_view(events: &[EventRow]) -> Value {
    json!(
        events
            .iter()
            .map(|e| json!({
                "at": e.at, "actor": e.actor, "kind": e.kind, "from": e.from_state, "to": e.to_state,
                "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null),
            }))
            .collect::<Vec<_>>()
    )
}

/// What the widget is told after a card attempt.
pub fn payment_result(row: &PaymentRow) -> ApiResult<Value> {
    let state = row.state()?;
    Ok(
        json!({ "payment_id": row.id, "state": row.state, "state_label_ja": state.label_ja(), "amount": row.amount }),
    )
}

/// `GET /v1/checkout/{id}`: what the widget needs to render the payment.
pub fn checkout_view(row: &PaymentRow, cfg: &Config) -> Value {
    // A card registration (`capture: verify`) takes one new card, 一括, and saves it: no saved
    // cards to pick, no 支払回数, no Amazon Pay.
    let verify = row.capture_mode == CaptureMode::Verify.as_str();
    json!({
        "payment_id": row.id,
        "order_id": row.order_id,
        "amount": row.amount,
        "currency": row.currency,
        "state": row.state,
        // How it was paid (card | amazon_pay); only meaningful once the payment is paid.
        "method": row.method,
        "capture": row.capture_mode,
        "mode": cfg.mode.as_str(),
        "card": {
            "shop_id": cfg.gmo.shop_id,
            "token_js_url": cfg.gmo_token_js_url,
            "installments": if verify { json!([]) } else { installment_choices(cfg) },
            // The widget offers the customer's saved cards and 「このカードを登録する」 only then.
            "stored_cards": !verify && cfg.site.is_some() && row.customer_id.is_some(),
            // A 定期購入 sign-up saves its new card whatever the shopper ticks.
            "saves_card": row.subscription_plan.is_some(),
        },
        "subscription": row.subscription_plan.as_deref().and_then(|p| serde_json::from_str::<SubscriptionPlan>(p).ok()).map(|p| json!({
            "cycle": p.cycle.to_string(),
            "cycle_label_ja": p.cycle.label_ja(),
            "amount": p.amount.yen(),
        })),
        "amazon_pay": if verify { Value::Null } else { amazon_checkout_block(cfg) },
        "last_error": amazon_last_error_block(row),
    })
}

/// 支払回数 the shop offers, in the order the widget lists them (一括 first); empty when only 一括.
fn installment_choices(cfg: &Config) -> Value {
    let choices = cfg.installments.choices();
    if choices.len() <= 1 {
        return json!([]);
    }
    json!(
        choices
            .into_iter()
            .map(|c| json!({ "code": c.code(), "label_ja": c.label_ja(), "label": c.label_en() }))
            .collect::<Vec<_>>()
    )
}

/// `card` block of the merchant's payment view: 支払回数, and the stored card paid with or saved.
fn card_payment_block(row: &PaymentRow) -> Value {
    if row.is_amazon() {
        return Value::Null;
    }
    let pay = Installments::parse(&row.installments);
    json!({
        "installments": row.installments,
        "installments_label_ja": pay.map(Installments::label_ja),
        "stored_card_seq": row.card_seq,
        "saved_card_seq": row.saved_card_seq,
    })
}

/// `amazon_pay` block of the checkout view: what the widget needs to render the button.
fn amazon_checkout_block(cfg: &Config) -> Value {
    match &cfg.amazon {
        None => Value::Null,
        Some(a) => json!({
            "merchant_id": a.merchant_id,
            "public_key_id": a.public_key_id,
            "checkout_js_url": a.checkout_js_url,
            "sandbox": a.sandbox(),
            "ledger_currency": "JPY",
            "checkout_language": "ja_JP",
        }),
    }
}

/// `last_error` of the checkout view for a payment whose last attempt ended at Amazon.
fn amazon_last_error_block(row: &PaymentRow) -> Value {
    match row.last_amazon_error() {
        Some(k) => json!({
            "code": k.code(),
            "message": k.shopper_message_en(),
            "message_ja": row
                .last_error_info
                .as_deref()
                .and_then(kessai_core::amazon::errors::decline_hint_ja)
                .unwrap_or(k.shopper_message_ja()),
        }),
        None => Value::Null,
    }
}

/// `amazon_pay` block of the merchant's payment view.
fn amazon_payment_block(row: &PaymentRow) -> Value {
    if !row.is_amazon() && row.amazon_checkout_session_id.is_none() {
        return Value::Null;
    }
    json!({
        "checkout_session_id": row.amazon_checkout_session_id,
        "charge_id": row.amazon_charge_id,
        "charge_permission_id": row.amazon_charge_permission_id,
        "buyer": row.amazon_buyer_id.as_ref().map(|id| json!({
            "buyer_id": id,
            "name": row.amazon_buyer_name,
            "email": row.amazon_buyer_email,
        })),
        "shipping_address": row
            .shipping_address
            .as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok()),
        "return_url": row.return_url,
    })
}

/// The name the list shows: the storefront's `customer_name`, else Amazon's buyer name.
pub fn customer_name(row: &PaymentRow) -> Option<String> {
    row.customer_name
        .clone()
        .or_else(|| row.amazon_buyer_name.clone())
}

/// The capture countdown of a 仮売上 (none for any other state).
pub fn badge(row: &PaymentRow, now: i64) -> Option<ExpiryBadge> {
    expiry_badge(
        row.method(),
        row.state().ok()?,
        row.authorized_at.map(UnixMillis),
        UnixMillis(now),
    )
}

/// `authorization_expiry` of the payment view: the capture deadline of a 仮売上.
pub fn expiry_view(row: &PaymentRow, now: i64) -> Value {
    match badge(row, now) {
        Some(b) => json!({
            "expires_at": b.expires_at.0,
            "days_left": b.days_left,
            "near_expiry": b.near_expiry,
            "expired": b.expired,
        }),
        None => Value::Null,
    }
}

/// The state the console shows ([`kessai_core::console::shown_state`]): 期限切れ for a 仮売上
/// past its deadline (capturing it is refused with `authorization_expired`), カード未決済 for a
/// card payment whose attempt reached GMO but was not completed.
pub fn display_state(row: &PaymentRow, now: i64) -> ApiResult<PaymentState> {
    Ok(shown_state(
        row.state()?,
        row.method(),
        row.gmo_access_id.is_some(),
        badge(row, now).as_ref(),
    ))
}

/// A subscription (定期購入, #15) as the merchant API shows it: the model's fields, labels for the
/// console, its charges (every attempt's payment, newest first) and its history.
pub fn subscription_view(
    row: &SubscriptionRow,
    charges: &[PaymentRow],
    events: &[SubscriptionEventRow],
) -> ApiResult<Value> {
    let sub = row.subscription()?;
    let source = match &sub.source {
        PaymentSource::GmoCard { card_seq, .. } => json!({ "type": "card", "card_seq": card_seq }),
        PaymentSource::AmazonChargePermission {
            charge_permission_id,
        } => json!({
            "type": "amazon_pay",
            "charge_permission_id": charge_permission_id,
            // 解約 closes the permission at Amazon; until then the Cron Trigger tries again.
            "closed_at": row.source_closed_at,
        }),
    };
    let charges = charges
        .iter()
        .map(|p| {
            let state = p.state()?;
            Ok(json!({
                "payment_id": p.id, "order_id": p.order_id, "amount": p.amount, "state": p.state,
                "state_label_ja": state.label_ja(), "created_at": p.created_at,
                "last_error": p.last_error_code,
            }))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let history = events
        .iter()
        .map(|e| {
            json!({
                "at": e.at, "actor": e.actor, "kind": e.kind,
                "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null),
            })
        })
        .collect::<Vec<_>>();
    Ok(json!({
        "id": row.id,
        "customer": row.customer_id,
        "status": sub.status.as_str(),
        "status_label_ja": sub.status.label_ja(),
        "source": source,
        "amount": sub.amount.yen(),
        "cycle": sub.cycle.to_string(),
        "cycle_label_ja": sub.cycle.label_ja(),
        "next_charge_on": sub.next_charge_on.to_string(),
        "due_on": row.due_on,
        // The list's 前回の課金 (only the list query reads it).
        "last_charge": row.last_charge_state.as_deref().and_then(PaymentState::parse).map(|st| json!({
            "state": st.as_str(),
            "state_label_ja": st.label_ja(),
            "error": row.last_charge_error,
        })),
        "dunning": sub.dunning.map(|d| json!({
            "first_failed_on": d.first_failed_on.to_string(),
            "failed_attempts": d.failed_attempts,
            "next_attempt_on": d.next_attempt_on.map(|x| x.to_string()),
        })),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "charges": charges,
        "events": history,
    }))
}
