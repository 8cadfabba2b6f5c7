//! How to talk to GMO-PG: form POST in CP932, timeout, and the E92 back-off.
//! What the answers mean is decided by the caller with `kessai_core::gmo::errors`.

use crate::platform::{self, within_timeout};
use kessai_core::gmo::codec::{Params, decode_response, encode_form};
use kessai_core::gmo::errors::{ErrorClass, GmoErrors};
use std::time::Duration;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

/// Why a call has no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// No answer in time, connection reset, 5xx: the call may or may not have been executed.
    Unknown(String),
    /// We could not even send it (bad parameters for CP932, invalid URL): nothing was executed.
    NotSent(String),
}

pub struct GmoTransport<'a> {
    pub base: &'a str,
    pub timeout_ms: u64,
}

/// Back-off before each retry of an E92 ("busy, nothing executed") answer.
const BUSY_BACKOFF_MS: [u64; 3] = [200, 500, 1200];

impl GmoTransport<'_> {
    async fn post_once(&self, path: &str, params: &Params) -> Result<Params, TransportError> {
        let body = encode_form(params).map_err(|e| TransportError::NotSent(format!("{e:?}")))?;
        let headers = Headers::new();
        headers
            .set("content-type", "application/x-www-form-urlencoded")
            .map_err(|e| TransportError::NotSent(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_headers(headers)
            .with_body(Some(body.into()));
        let url = format!("{}{}", self.base, path);
        let req = Request::new_with_init(&url, &init)
            .map_err(|e| TransportError::NotSent(e.to_string()))?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let fetch = Fetch::Request(req);
        let call = async {
            let resp = fetch
                .send_with_signal(&signal)
                .await
                .map_err(|e| TransportError::Unknown(e.to_string()))?;
            if resp.status_code() >= 500 {
                return Err(TransportError::Unknown(format!(
                    "HTTP {}",
                    resp.status_code()
                )));
            }
            let bytes = platform::response_bytes(resp)
                .await
                .map_err(TransportError::Unknown)?;
            decode_response(&bytes)
                .map_err(|e| TransportError::Unknown(format!("undecodable answer: {e:?}")))
        };
        within_timeout(call, controller, self.timeout_ms, TransportError::Unknown).await
    }

    /// Posts `params`, retrying only E92 answers (GMO executed nothing) with back-off.
    pub async fn post(&self, path: &str, params: &Params) -> Result<Params, TransportError> {
        let mut attempt = 0;
        loop {
            let answer = self.post_once(path, params).await?;
            let busy = GmoErrors::from_params(&answer)
                .is_some_and(|e| e.meaning().class == ErrorClass::Busy);
            match (busy, BUSY_BACKOFF_MS.get(attempt)) {
                (true, Some(wait)) => {
                    worker::console_warn!(
                        "GMO {path}: busy (E92), retry {} after {wait} ms",
                        attempt + 1
                    );
                    Delay::from(Duration::from_millis(*wait)).await;
                    attempt += 1;
                }
                _ => return Ok(answer),
            }
        }
    }
}
