//! The demo shop's webhook receiver (`WEBHOOK_URL` = `{storefront}/webhooks/kessai`, #15): what a
//! shop's server does with kessai's notices, and what the tests read back.
//!
//! A receiver must: check `kessai-signature` (`t=<unix seconds>,v1=<hex>`: HMAC-SHA256 with
//! `WEBHOOK_SIGNING_KEY` over `"{t}.{body}"`, compared in constant time), refuse a `t` far from
//! its own clock (5 minutes; the demo skips this one check because the tests freeze kessai's
//! clock), drop an event id it has already handled (a retried delivery carries the same id), and
//! answer 2xx quickly. Anything else makes kessai try again later.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Inbox {
    /// Accepted events, in arrival order (duplicates dropped).
    events: Vec<Value>,
    /// Every delivery attempt: (event id, HTTP status answered).
    attempts: Vec<(String, u16)>,
    /// Answer 503 to this many next deliveries (a shop server that is down).
    fail_next: u32,
}

#[derive(Clone)]
pub struct WebhookInbox {
    key: Arc<String>,
    inbox: Arc<Mutex<Inbox>>,
}

impl WebhookInbox {
    pub fn new(signing_key: &str) -> WebhookInbox {
        WebhookInbox {
            key: Arc::new(signing_key.to_string()),
            inbox: Arc::new(Mutex::new(Inbox::default())),
        }
    }

    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `POST /webhooks/kessai` (kessai's deliveries), `GET /webhooks/kessai` (what arrived, for the
/// demo and its tests) and `POST /webhooks/kessai/fail {"times": N}` (be down N times).
pub fn router(inbox: WebhookInbox) -> Router {
    Router::new()
        .route("/webhooks/kessai", post(receive).get(received))
        .route("/webhooks/kessai/fail", post(fail_next))
        .with_state(inbox)
}

/// Whether `header` signs `body` with `key`.
fn signed(key: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v),
            Some(("v1", v)) => v1 = Some(v),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return false;
    };
    let Some(mac_bytes) = hex(v1) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key.as_bytes()) else {
        return false;
    };
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&mac_bytes).is_ok()
}

fn hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

async fn receive(State(hook): State<WebhookInbox>, headers: HeaderMap, body: Bytes) -> Response {
    let id = headers
        .get("kessai-event-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let signature = headers
        .get("kessai-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut inbox = hook.inbox();
    if inbox.fail_next > 0 {
        inbox.fail_next -= 1;
        inbox.attempts.push((id, 503));
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    if !signed(&hook.key, signature, &body) {
        inbox.attempts.push((id, 401));
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(event) = serde_json::from_slice::<Value>(&body) else {
        inbox.attempts.push((id, 400));
        return StatusCode::BAD_REQUEST.into_response();
    };
    inbox.attempts.push((id.clone(), 200));
    if !inbox.events.iter().any(|e| e["id"] == id.as_str()) {
        inbox.events.push(event);
    }
    StatusCode::OK.into_response()
}

async fn received(State(hook): State<WebhookInbox>) -> Json<Value> {
    let inbox = hook.inbox();
    let attempts: Vec<Value> = inbox
        .attempts
        .iter()
        .map(|(id, status)| json!({ "id": id, "status": status }))
        .collect();
    Json(json!({ "events": inbox.events, "attempts": attempts }))
}

async fn fail_next(State(hook): State<WebhookInbox>, Json(body): Json<Value>) -> Response {
    let times = body["times"].as_u64().and_then(|n| u32::try_from(n).ok());
    match times {
        Some(n) => {
            hook.inbox().fail_next = n;
            StatusCode::NO_CONTENT.into_response()
        }
        None => (StatusCode::BAD_REQUEST, "expected {\"times\": N}").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_key_over_the_right_body_verifies() {
        let body = br#"{"id":"evt_1"}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"k").expect("key");
        mac.update(b"1700000000.");
        mac.update(body);
        let v1: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let header = format!("t=1700000000,v1={v1}");
        assert!(signed("k", &header, body));
        assert!(!signed("other", &header, body));
        assert!(!signed("k", &header, br#"{"id":"evt_2"}"#));
        assert!(!signed("k", "t=1700000001,v1=00", body));
        assert!(!signed("k", "garbage", body));
    }
}
