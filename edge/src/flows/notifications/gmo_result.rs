//! `POST /v1/notify/gmo`: GMO 結果通知 (result notifications, CP932 form).
//!
//! The posted status is never trusted: the shop id and the transaction (OrderID + AccessID) must
//! be ours, then SearchTrade says what GMO holds and a forward change is adopted by
//! compare-and-set with one event (the rule the Amazon IPNs use). The answer is the body `0`
//! (received) for every notification kessai has dealt with, including ones it cannot match
//! (another shop, an unknown order, a wrong AccessID: logged, recorded when the order is known,
//! and acknowledged so GMO does not send them forever) and GMO's connectivity test
//! (`E00000000`). It is `1` (send again) only when processing could not finish (SearchTrade or
//! D1 unreachable, the payment busy under a live lease): the notification row stays `received`
//! and the next delivery processes it.

use super::{Kinds, Observed, process};
use crate::config::Config;
use crate::gateways::gmo::GmoClient;
use crate::http::{Refusal, refuse};
use crate::platform;
use crate::store::notifications::{NewNotification, NotificationRow};
use crate::store::{PaymentRow, Store};
use kessai_core::gmo::api::Answer;
use kessai_core::gmo::codec::decode_form;
use kessai_core::gmo::notification::{RECEIVED, ResultNotification, SEND_AGAIN, read_notification};
use kessai_core::payment::{PaymentState, state_from_gmo};
use serde_json::{Value, json};

const KINDS: Kinds<'static> = Kinds {
    applied: "gmo_notification_applied",
    unchanged: "gmo_notification_unchanged",
    gateway_key: "gmo",
};

/// `POST /v1/notify/gmo`: `0` or `1`, as GMO expects.
pub async fn receive(store: &Store<'_>, cfg: &Config, body: &[u8]) -> &'static str {
    match handle(store, cfg, body).await {
        Ok(a) => a,
        Err(r) if r.status >= 500 => {
            worker::console_warn!(
                "GMO notification not processed yet ({}): {}",
                r.status,
                r.reason
            );
            SEND_AGAIN
        }
        Err(r) => {
            // Not ours or malformed: acknowledged so GMO does not resend it forever.
            worker::console_warn!("GMO notification ignored ({}): {}", r.status, r.reason);
            RECEIVED
        }
    }
}

/// What to answer (`0` or `1`); logs carry no passwords or card data.
async fn handle(store: &Store<'_>, cfg: &Config, body: &[u8]) -> Result<&'static str, Refusal> {
    let params = decode_form(body).map_err(|_| refuse(400, "not a CP932 form"))?;
    let n: ResultNotification =
        read_notification(&params).map_err(|e| refuse(400, format!("{} is missing", e.0)))?;
    if n.is_ping() {
        worker::console_log!("GMO notification: connectivity test");
        return Ok(RECEIVED);
    }
    if n.shop_id != cfg.gmo.shop_id {
        return Err(refuse(403, "ShopID is not this shop"));
    }
    let Some(row) = store.payment_by_gmo_order(&n.order_id).await? else {
        return Err(refuse(404, "no payment with this OrderID"));
    };
    if row.gmo_access_id.as_deref() != Some(n.access_id.as_str()) {
        return Err(refuse(403, "AccessID does not match the order"));
    }
    let key = n.dedupe_key();
    let new = NewNotification {
        source: "gmo_result",
        dedupe_key: &key,
        message_id: None,
        kind: &n.status,
        object_type: Some("TRADE"),
        object_id: Some(&n.order_id),
        charge_permission_id: None,
    };
    let rec = store.record_notification(&new, platform::now().0).await?;
    if rec.status != "received" {
        return Ok(RECEIVED);
    }
    let detail = json!({ "status": n.status, "job_cd": n.job_cd, "tran_id": n.tran_id, "tran_date": n.tran_date });
    let status = process_gmo(store, cfg, &rec, row, &detail).await?;
    worker::console_log!("GMO notification #{} -> {status}", rec.id);
    Ok(RECEIVED)
}

/// Applies a recorded (`received`) GMO notification to its payment: SearchTrade, then a
/// forward change by compare-and-set. Runs on delivery and, for a row a failed delivery left
/// `received`, in the Cron sweep (`flows::sweep`). Returns the row's new status.
pub async fn process_gmo(
    store: &Store<'_>,
    cfg: &Config,
    rec: &NotificationRow,
    payment: PaymentRow,
    detail: &Value,
) -> Result<&'static str, Refusal> {
    process(store, cfg, rec, payment, &KINDS, detail, |r| {
        observe_gmo(cfg, r)
    })
    .await
}

/// GMO's side of a payment now (SearchTrade): the state it implies and the row to store.
async fn observe_gmo(cfg: &Config, row: PaymentRow) -> Result<Observed, Refusal> {
    let trade = match GmoClient::new(cfg).search_trade(&row.gmo_order_id).await {
        Ok(Answer::Ok(t)) => t,
        Ok(Answer::Err(_)) => return Err(refuse(503, "SearchTrade refused or unreadable")),
        Err(e) => return Err(refuse(503, format!("SearchTrade: {e:?}"))),
    };
    let state = state_from_gmo(trade.status);
    let mut next = row;
    next.gmo_status = Some(trade.status.as_str().to_string());
    if matches!(state, PaymentState::Captured) {
        next.captured_amount = Some(trade.amount);
    }
    let seen = json!({ "gmo_status": trade.status.as_str(), "amount": trade.amount, "tran_id": trade.tran_id });
    Ok(Observed { state, next, seen })
}
