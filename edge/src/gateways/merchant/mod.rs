//! The shop's own server, as kessai's webhook receiver (定期購入's notices, #15). "How to talk":
//! one signed JSON POST with a timeout. What a delivery means (retry or done) is the flow's
//! (`flows::webhooks`); the signature scheme is documented in docs/api.md "Webhooks".

use crate::platform::{self, within_timeout};
use worker::{AbortController, Fetch, Headers, Method, Request, RequestInit};

/// How long the shop's server has to answer one delivery.
pub const WEBHOOK_TIMEOUT_MS: u64 = 5_000;

/// The header that carries the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
/// `"{t}.{body}"` with `WEBHOOK_SIGNING_KEY` (WebCrypto).
pub const SIGNATURE_HEADER: &str = "kessai-signature";

/// The signature header's value for `body` sent at `unix_seconds`.
pub async fn signature(key: &str, unix_seconds: i64, body: &str) -> Option<String> {
    let mac = platform::hmac_sign(key, &format!("{unix_seconds}.{body}"))
        .await
        .ok()?;
    let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("t={unix_seconds},v1={hex}"))
}

/// POSTs `body` (JSON) to `url` with the signature and the event id (the receiver's
/// deduplication key: a retried delivery carries the same id). The HTTP status, or why there
/// was none (never the body of the answer, never the key).
pub async fn deliver(
    url: &str,
    event_id: &str,
    signature: &str,
    body: &str,
) -> Result<u16, String> {
    let headers = Headers::new();
    for (k, v) in [
        ("content-type", "application/json"),
        (SIGNATURE_HEADER, signature),
        ("kessai-event-id", event_id),
    ] {
        headers.set(k, v).map_err(|e| e.to_string())?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    let req = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(req);
    let call = async {
        let resp = fetch
            .send_with_signal(&signal)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<u16, String>(resp.status_code())
    };
    within_timeout(call, controller, WEBHOOK_TIMEOUT_MS, |why| why).await
}
