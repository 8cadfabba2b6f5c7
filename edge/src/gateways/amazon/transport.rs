//! How to talk to Amazon Pay: the signed HTTPS call (signature from [`super::signing`]) with a
//! timeout and the retries that are safe. What an answer means is decided by the caller with
//! [`super::meaning`] and `kessai_core::amazon::errors`.
//!
//! Never logged: request or response bodies (they carry buyer names, e-mails and addresses), the
//! key, signatures, `Authorization` headers, buyer tokens.

use super::signing::sign_pss;
use crate::platform::{self, within_timeout};
use kessai_core::amazon::request::{HttpMethod, SignedRequest, UnsignedRequest};
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

/// A call that has no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Nothing left this worker (bad URL, signing failed): Amazon executed nothing.
    NotSent(String),
    /// No answer in time, connection lost, or a 5xx/429 that stayed after the safe retries: the
    /// call may or may not have been executed at Amazon.
    Lost(String),
}

/// An answer from Amazon: HTTP status and the raw body (JSON, parsed by the caller).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

pub struct AmazonTransport<'a> {
    pub private_key_pem: &'a str,
    pub timeout_ms: u64,
}

/// Back-off before each retry of a throttled (429) or failed (5xx) call that is safe to repeat.
const RETRY_BACKOFF_MS: [u64; 2] = [150, 600];

/// Which answers may be repeated, per method. GETs have no effect at Amazon. POSTs carry an
/// idempotency key, so a repeat with the *same* key is answered from Amazon's stored first
/// result — but only a 429 (refused before any processing) is repeated here: a lost answer or
/// a 5xx to a POST goes back to the caller, which asks Amazon what happened (Get Checkout
/// Session / Get Charge) instead of sending it again. PATCH and DELETE have no idempotency key
/// and are never repeated blindly.
fn retry_allowed(method: HttpMethod, status: Option<u16>) -> bool {
    match method {
        HttpMethod::Get => status.is_none_or(|s| s == 429 || s >= 500),
        HttpMethod::Post => status == Some(429),
        HttpMethod::Patch | HttpMethod::Delete => false,
    }
}

fn worker_method(m: HttpMethod) -> Method {
    match m {
        HttpMethod::Get => Method::Get,
        HttpMethod::Post => Method::Post,
        HttpMethod::Patch => Method::Patch,
        HttpMethod::Delete => Method::Delete,
    }
}

impl AmazonTransport<'_> {
    /// Signs `unsigned` with the merchant key (WebCrypto) into the request Amazon gets.
    pub async fn sign(&self, unsigned: UnsignedRequest) -> Result<SignedRequest, TransportError> {
        let sig = sign_pss(self.private_key_pem, &unsigned.string_to_sign)
            .await
            .map_err(|e| TransportError::NotSent(e.0.to_string()))?;
        Ok(unsigned.signed(&sig))
    }

    async fn send_once(&self, req: &SignedRequest) -> Result<Answer, TransportError> {
        let headers = Headers::new();
        for (name, value) in &req.headers {
            headers
                .set(name, value)
                .map_err(|_| TransportError::NotSent(format!("bad header {name}")))?;
        }
        let mut init = RequestInit::new();
        init.with_method(worker_method(req.method))
            .with_headers(headers);
        // A GET carries no body (fetch refuses one); the others send theirs even when empty
        // is all there is, exactly as it was hashed into the signature.
        if req.method != HttpMethod::Get {
            init.with_body(Some(JsValue::from_str(&req.body)));
        }
        let request = Request::new_with_init(&req.url, &init)
            .map_err(|e| TransportError::NotSent(e.to_string()))?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = Fetch::Request(request);
        let call = async {
            let resp = fetch
                .send_with_signal(&signal)
                .await
                .map_err(|e| TransportError::Lost(e.to_string()))?;
            let status = resp.status_code();
            let unreadable =
                |e: String| TransportError::Lost(format!("HTTP {status}, body unreadable: {e}"));
            let bytes = platform::response_bytes(resp).await.map_err(unreadable)?;
            let body = String::from_utf8(bytes).map_err(|e| unreadable(e.to_string()))?;
            Ok(Answer { status, body })
        };
        within_timeout(call, controller, self.timeout_ms, TransportError::Lost).await
    }

    /// Sends a signed request, repeating it only where that is safe (see [`retry_allowed`]).
    /// A 429 or 5xx that is not repeated, or stays after the repeats, is a [`TransportError::Lost`]
    /// for anything but a GET; a GET returns the last answer so the caller can read Amazon's
    /// error body.
    pub async fn send(&self, req: &SignedRequest, api: &str) -> Result<Answer, TransportError> {
        let mut attempt = 0usize;
        loop {
            let result = self.send_once(req).await;
            let status = match &result {
                Ok(a) => Some(a.status),
                Err(TransportError::NotSent(_)) => return result,
                Err(TransportError::Lost(_)) => None,
            };
            let failed = status.is_none_or(|s| s == 429 || s >= 500);
            if !failed {
                return result;
            }
            match (
                retry_allowed(req.method, status),
                RETRY_BACKOFF_MS.get(attempt),
            ) {
                (true, Some(wait)) => {
                    worker::console_warn!(
                        "Amazon Pay {api}: {}; retry {} after {wait} ms",
                        status.map_or("no answer".to_string(), |s| format!("HTTP {s}")),
                        attempt + 1
                    );
                    Delay::from(Duration::from_millis(*wait)).await;
                    attempt += 1;
                }
                _ => {
                    return match (req.method, result) {
                        (HttpMethod::Get, r) => r,
                        (_, Ok(a)) => Err(TransportError::Lost(format!("HTTP {}", a.status))),
                        (_, Err(e)) => Err(e),
                    };
                }
            }
        }
    }

    /// Signs and sends.
    pub async fn call(
        &self,
        unsigned: UnsignedRequest,
        api: &str,
    ) -> Result<Answer, TransportError> {
        let signed = self.sign(unsigned).await?;
        self.send(&signed, api).await
    }
}
