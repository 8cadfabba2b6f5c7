//! GMO 結果通知 from the sandbox: a CP932 form POSTed to the configured URL whenever a
//! transaction's status (or TranID) changes, sent again until the answer body is `0`, as GMO
//! does (reference `gmo-pg.md` §4d; passwords masked as GMO masks them). Retries use the same
//! compressed schedule as the Amazon sandbox's IPNs (wall time, not the sandbox clock).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::State as AxState;
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};

use crate::amazon::ipn::{Attempt, MAX_ATTEMPTS, backoff, unix_ms_now};
use crate::{Shared, lock};

/// A notification and its delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub order_id: String,
    pub status: String,
    pub tran_id: String,
    pub delivered: bool,
    pub attempts: Vec<Attempt>,
    /// Answer bodies received (`0` = received).
    pub answers: Vec<String>,
    #[serde(skip)]
    fields: Form,
    #[serde(skip)]
    next_at: Instant,
}

#[derive(Default)]
pub struct NotifyState {
    pub url: Option<String>,
    seen: HashMap<String, TradeKey>,
    pub deliveries: Vec<Delivery>,
}

pub type NotifyShared = Arc<Mutex<NotifyState>>;

fn lock_notify(n: &NotifyShared) -> std::sync::MutexGuard<'_, NotifyState> {
    n.lock().unwrap_or_else(|e| e.into_inner())
}

/// (status, TranID): what makes a new notification when it changes.
type TradeKey = (String, String);
/// A form as GMO posts it.
type Form = Vec<(String, String)>;

/// Every transaction's OrderID, key, and the form GMO would post for it.
fn snapshot(shared: &Shared) -> Vec<(String, TradeKey, Form)> {
    let st = lock(shared);
    st.trades
        .values()
        .map(|t| {
            let status = t.status.as_str().to_string();
            let fields: Vec<(String, String)> = [
                ("ShopID", st.cfg.shop_id.clone()),
                ("ShopPass", "*".repeat(10)),
                ("AccessID", t.access_id.clone()),
                ("AccessPass", "*".repeat(32)),
                ("OrderID", t.order_id.clone()),
                ("Status", status.clone()),
                ("JobCd", t.job_cd.as_str().to_string()),
                ("Amount", t.amount.to_string()),
                ("Tax", t.tax.to_string()),
                ("Currency", "JPN".to_string()),
                ("Forward", t.forward.clone()),
                ("Method", t.method.clone()),
                ("PayTimes", t.pay_times.clone()),
                ("TranID", t.tran_id.clone()),
                ("Approve", t.approve.clone()),
                ("TranDate", t.tran_date.clone()),
                ("ErrCode", String::new()),
                ("ErrInfo", String::new()),
                ("PayType", "0".to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            (t.order_id.clone(), (status, t.tran_id.clone()), fields)
        })
        .collect()
}

/// Points delivery at `url`; transactions as they stand now count as notified.
pub fn set_url(shared: &Shared, notify: &NotifyShared, url: Option<String>) {
    let now = snapshot(shared);
    let mut q = lock_notify(notify);
    if q.url.is_none() {
        q.seen = now.into_iter().map(|(o, k, _)| (o, k)).collect();
    }
    q.url = url;
}

fn detect_changes(shared: &Shared, notify: &NotifyShared) {
    if lock_notify(notify).url.is_none() {
        return;
    }
    let trades = snapshot(shared);
    let mut q = lock_notify(notify);
    for (order_id, key, fields) in trades {
        if q.seen.get(&order_id) == Some(&key) {
            continue;
        }
        q.seen.insert(order_id.clone(), key.clone());
        q.deliveries.push(Delivery {
            order_id,
            status: key.0,
            tran_id: key.1,
            delivered: false,
            attempts: Vec::new(),
            answers: Vec::new(),
            fields,
            next_at: Instant::now(),
        });
    }
}

async fn deliver_due(notify: &NotifyShared, client: &reqwest::Client) {
    loop {
        let due = {
            let q = lock_notify(notify);
            let now = Instant::now();
            let url = q.url.clone();
            q.deliveries
                .iter()
                .position(|d| !d.delivered && d.attempts.len() < MAX_ATTEMPTS && d.next_at <= now)
                .and_then(|i| Some((i, url.clone()?, q.deliveries[i].fields.clone())))
        };
        let Some((i, url, fields)) = due else { return };
        let body = kessai_core::gmo::codec::encode_form(&fields).unwrap_or_default();
        let answer = match client
            .post(&url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
        {
            Ok(r) => {
                let status = r.status().as_u16();
                Some((status, r.text().await.unwrap_or_default()))
            }
            Err(_) => None,
        };
        let mut q = lock_notify(notify);
        if let Some(d) = q.deliveries.get_mut(i) {
            d.attempts.push(Attempt {
                at_unix_ms: unix_ms_now(),
                status: answer.as_ref().map(|(s, _)| *s),
            });
            let text = answer
                .map(|(_, t)| t.trim().to_string())
                .unwrap_or_default();
            d.delivered = text == kessai_core::gmo::notification::RECEIVED;
            d.answers.push(text);
            d.next_at = Instant::now() + backoff(d.attempts.len());
        }
    }
}

pub fn spawn_sender(shared: Shared, notify: NotifyShared) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        loop {
            detect_changes(&shared, &notify);
            deliver_due(&notify, &client).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

/// `POST /__sandbox/notify/url` `{"url": "…" | null}`: where 結果通知 go.
async fn url(
    AxState((shared, notify)): AxState<(Shared, NotifyShared)>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let url = body.get("url").and_then(Value::as_str).map(str::to_string);
    set_url(&shared, &notify, url);
    Json(json!({ "url": lock_notify(&notify).url }))
}

/// `GET /__sandbox/notify/deliveries`.
async fn deliveries(AxState((_, notify)): AxState<(Shared, NotifyShared)>) -> Json<Value> {
    Json(json!(lock_notify(&notify).deliveries))
}

pub fn routes(shared: Shared, notify: NotifyShared) -> Router {
    Router::new()
        .route("/__sandbox/notify/url", post(url))
        .route("/__sandbox/notify/deliveries", get(deliveries))
        .with_state((shared, notify))
}
