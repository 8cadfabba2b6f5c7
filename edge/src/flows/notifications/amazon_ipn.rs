//! `POST /api/amazonpay2/ipn.php`: Amazon Pay IPNs (SNS envelopes).
//!
//! Trust nothing in the body: the envelope is verified (`gateways::amazon::sns`), the topic and
//! the merchant id must be ours, and even then the notification is only a hint: the charge is
//! read again from Amazon (signed Get Charge) and adopted forward only (see [`super`]).
//!
//! Never lost: the notification is recorded before it is processed. If processing cannot finish
//! (Amazon unreachable, D1 error, a payment busy under a live lease) the answer is 5xx and the
//! row stays `received`: SNS delivers again and the retry processes it. A duplicate of a
//! processed notification answers 200 and changes nothing. Rejections (bad signature,
//! certificate, topic, merchant) answer 400/403 so SNS stops; they are logged with the reason
//! only, never the body.

use super::super::subscriptions::amazon as amazon_subscriptions;
use super::{Kinds, Observed, process};
use crate::config::{AmazonConfig, Config};
use crate::gateways::amazon::AmazonClient;
use crate::gateways::amazon::sns::{fetch_text, verify_envelope};
use crate::http::{Refusal, refuse};
use crate::platform;
use crate::store::PaymentRow;
use crate::store::Store;
use crate::store::notifications::{NewNotification, NotificationRow};
use kessai_core::amazon::model::{Charge, Price};
use kessai_core::amazon::status::ChargeCanceledReason;
use kessai_core::money::Jpy;
use kessai_core::payment::PaymentState;
use kessai_core::sns::{self, Envelope, MessageType};
use serde_json::{Value, json};

const KINDS: Kinds<'static> = Kinds {
    applied: "amazon_ipn_applied",
    unchanged: "amazon_ipn_unchanged",
    gateway_key: "amazon",
};

/// `POST /api/amazonpay2/ipn.php`: the status and JSON body to answer.
pub async fn receive(store: &Store<'_>, cfg: &Config, body: &[u8]) -> (u16, Value) {
    match handle(store, cfg, body).await {
        Ok(ok) => ok,
        Err(r) => {
            worker::console_warn!("Amazon IPN refused ({}): {}", r.status, r.reason);
            let code = if r.status >= 500 {
                "retry_later"
            } else {
                "rejected"
            };
            (
                r.status,
                json!({ "error": { "code": code, "message": r.reason } }),
            )
        }
    }
}

async fn handle(store: &Store<'_>, cfg: &Config, body: &[u8]) -> Result<(u16, Value), Refusal> {
    let Some(amazon) = cfg.amazon.as_ref() else {
        return Err(refuse(404, "Amazon Pay is not configured"));
    };
    let Some(ipn_cfg) = amazon.ipn.as_ref() else {
        return Err(refuse(404, "AMAZON_PAY_IPN_TOPIC_ARN is not configured"));
    };
    let text = std::str::from_utf8(body).map_err(|_| refuse(400, "body is not UTF-8"))?;
    let envelope = sns::parse_envelope(text).map_err(|e| refuse(400, e.to_string()))?;
    let now = platform::now();
    verify_envelope(&envelope, ipn_cfg, now).await?;
    match envelope.kind {
        MessageType::Notification => {}
        MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => {
            return subscription(store, &envelope, now.0).await;
        }
    }
    let msg = sns::parse_ipn_message(&envelope.message).map_err(|e| refuse(400, e.to_string()))?;
    if msg.merchant_id != amazon.merchant_id {
        return Err(refuse(403, "MerchantID is not this merchant"));
    }
    let key = format!("amazon:{}", msg.notification_id);
    let new = NewNotification {
        source: "amazon_ipn",
        dedupe_key: &key,
        message_id: Some(&envelope.message_id),
        kind: envelope.kind.as_str(),
        object_type: Some(msg.object_type.as_str()),
        object_id: Some(&msg.object_id),
        charge_permission_id: Some(&msg.charge_permission_id),
    };
    let detail = json!({
        "message_id": envelope.message_id,
        "notification_id": msg.notification_id,
        "object_type": msg.object_type.as_str(),
        "object_id": msg.object_id,
        "notification_type": msg.notification_type,
    });
    let (row, payment) = store
        .record_amazon_ipn(&new, now.0, charge_of(&detail), &msg.charge_permission_id)
        .await?;
    if row.status != "received" {
        return Ok((200, json!({ "received": true, "duplicate": true })));
    }
    let recorded = Recorded {
        row: &row,
        charge_permission_id: &msg.charge_permission_id,
        detail: &detail,
    };
    let status = apply_amazon(store, cfg, amazon, &recorded, payment).await?;
    worker::console_log!(
        "Amazon IPN #{} {} -> {status}",
        row.id,
        msg.object_type.as_str()
    );
    Ok((200, json!({ "received": true, "status": status })))
}

/// An SNS (un)subscription confirmation: recorded; a subscription is confirmed only on an SNS
/// host over HTTPS.
async fn subscription(
    store: &Store<'_>,
    envelope: &Envelope,
    now: i64,
) -> Result<(u16, Value), Refusal> {
    let key = format!("sns:{}", envelope.message_id);
    let new = NewNotification {
        source: "amazon_ipn",
        dedupe_key: &key,
        message_id: Some(&envelope.message_id),
        kind: envelope.kind.as_str(),
        object_type: None,
        object_id: None,
        charge_permission_id: None,
    };
    let row = store.record_notification(&new, now).await?;
    let confirm_url = envelope.subscribe_url.as_deref().unwrap_or("");
    let allowed = envelope.kind == MessageType::SubscriptionConfirmation
        && sns::check_live_subscribe_url(confirm_url).is_ok();
    let status = if allowed {
        // Amazon Pay may never send one [U]; confirming only on an SNS host over HTTPS.
        let _ = fetch_text(confirm_url).await?;
        "confirmed"
    } else {
        "recorded"
    };
    store
        .finish_notification(&row, status, None, &json!({}), now)
        .await?;
    Ok((200, json!({ "received": true, "status": status })))
}

/// Applies a recorded (`received`) Amazon IPN: finds the payment by its charge permission,
/// re-reads Amazon and moves the payment forward. Runs, for a row a failed delivery left
/// `received`, in the Cron sweep (`flows::sweep`); a delivery looks the payment up as it records
/// the notification ([`Store::record_amazon_ipn`]) and goes to [`apply_amazon`]. Returns the
/// row's new status (`unmatched` | `applied` | `unchanged`).
pub async fn process_amazon(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    row: &NotificationRow,
    charge_permission_id: &str,
    detail: &Value,
) -> Result<&'static str, Refusal> {
    let payment = store
        .payment_for_amazon_ipn(charge_of(detail), charge_permission_id)
        .await?;
    let recorded = Recorded {
        row,
        charge_permission_id,
        detail,
    };
    apply_amazon(store, cfg, amazon, &recorded, payment).await
}

/// A recorded (`received`) IPN: its row, its charge permission and what it says.
struct Recorded<'a> {
    row: &'a NotificationRow,
    charge_permission_id: &'a str,
    detail: &'a Value,
}

/// A recurring charge permission (定期購入) has one payment per cycle: a Charge's IPN names its
/// own; anything else goes to the permission's payment.
fn charge_of(detail: &Value) -> Option<&str> {
    match (
        detail.get("object_type").and_then(Value::as_str),
        detail.get("object_id").and_then(Value::as_str),
    ) {
        (Some("CHARGE"), Some(charge_id)) => Some(charge_id),
        _ => None,
    }
}

/// [`process_amazon`] once the payment has been looked up (`None`: no payment holds the charge
/// or its permission).
async fn apply_amazon(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    recorded: &Recorded<'_>,
    payment: Option<PaymentRow>,
) -> Result<&'static str, Refusal> {
    let Recorded {
        row,
        charge_permission_id,
        detail,
    } = *recorded;
    // A 定期購入's permission Chargeable again (the buyer updated the payment method on
    // Amazon) brings its 未決済 subscription back; the payment itself is processed as usual
    // (this touches subscriptions only, so the payment read before it is still the payment's).
    if detail.get("object_type").and_then(Value::as_str) == Some("CHARGE_PERMISSION") {
        match amazon_subscriptions::permission_changed(store, cfg, charge_permission_id).await {
            Ok(0) => {}
            Ok(n) => worker::console_log!("Amazon IPN: {n} subscription(s) chargeable again"),
            Err(e) => worker::console_warn!("Amazon IPN: subscriptions not checked: {}", e.code),
        }
    }
    let Some(payment) = payment else {
        store
            .finish_notification(row, "unmatched", None, &json!({}), platform::now().0)
            .await?;
        return Ok("unmatched");
    };
    let client = AmazonClient::new(amazon);
    process(store, cfg, row, payment, &KINDS, detail, |r| {
        observe_amazon(&client, r)
    })
    .await
}

/// What Amazon says about the payment's charge now, as a kessai state plus the amounts.
async fn charge_now(
    client: &AmazonClient<'_>,
    charge_id: &str,
) -> Result<(PaymentState, Value, Jpy, Jpy), Refusal> {
    let charge: Charge = client
        .get_charge(charge_id)
        .await
        .map_err(|e| refuse(503, format!("GetCharge: {:?}", e.kind)))?;
    let yen = |p: &Option<Price>| {
        p.as_ref()
            .and_then(|p| p.to_jpy().ok())
            .unwrap_or(Jpy::from_stored(0))
    };
    let captured = yen(&charge.capture_amount);
    let refunded = yen(&charge.refunded_amount);
    let Some(state) = charge.state() else {
        return Err(refuse(503, "Get Charge answer without a state"));
    };
    let observed = kessai_core::operations::state_from_amazon_charge(
        state,
        charge.reason_code().and_then(ChargeCanceledReason::parse),
        captured,
        refunded,
    );
    let seen = json!({
        "charge_id": charge_id,
        "charge_state": state.as_str(),
        "reason_code": charge.reason_code(),
        "captured": captured.yen(),
        "refunded": refunded.yen(),
    });
    Ok((observed, seen, captured, refunded))
}

/// Amazon's side of a payment now: its charge re-read (Get Charge), amounts taken over when
/// the charge is captured.
async fn observe_amazon(client: &AmazonClient<'_>, row: PaymentRow) -> Result<Observed, Refusal> {
    let state = row.state()?;
    let Some(charge_id) = row.amazon_charge_id.clone() else {
        return Ok(Observed {
            state,
            next: row,
            seen: json!({}),
        });
    };
    let (observed, seen, captured, refunded) = charge_now(client, &charge_id).await?;
    let mut next = row;
    if observed.holds_capture() {
        next.captured_amount = Some(captured.yen());
        next.refunded_amount = Some(refunded.yen());
        let left = captured.yen() - refunded.yen();
        if left > 0 {
            next.amount = left;
        }
    }
    Ok(Observed {
        state: observed,
        next,
        seen,
    })
}
