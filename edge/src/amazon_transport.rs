//! How to talk to Amazon Pay: the merchant's RSA-PSS signature through WebCrypto (the private key
//! is imported once per isolate) and the HTTPS call with a timeout and the retries that are safe.
//! What an answer means is decided by the caller (`amazon_payment`, `signin`) with
//! `kessai_core::amazon::errors`.
//!
//! Never logged: request or response bodies (they carry buyer names, e-mails and addresses), the
//! key, signatures, `Authorization` headers, buyer tokens.

use crate::platform::{js_object, key_usages, within_timeout};
use kessai_core::amazon::request::{HttpMethod, SignedRequest, UnsignedRequest};
use kessai_core::amazon::signing::{base64_decode, base64_encode};
use std::cell::RefCell;
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::CryptoKey;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

/// Why a signature could not be made. Always a configuration or runtime fault, never the
/// shopper's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignError(pub &'static str);

thread_local! {
    /// The imported merchant key, keyed by a fingerprint of the PEM it came from (so a rotated
    /// secret is picked up without a redeploy of the code). Importing costs far more CPU than a
    /// signature, hence once per isolate.
    static MERCHANT_KEY: RefCell<Option<(u64, CryptoKey)>> = const { RefCell::new(None) };
}

/// FNV-1a: a cheap fingerprint to notice that the configured key changed. Not a security check.
pub fn fingerprint(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The DER bytes of a PKCS#8 PEM private key. Accepts the armour on one line with literal `\n`
/// escapes (how multi-line secrets often end up in env files) as well as real line breaks.
pub fn pkcs8_der_from_pem(pem: &str) -> Result<Vec<u8>, SignError> {
    let text = pem.replace("\\n", "\n").replace("\\r", "");
    if text.contains("BEGIN RSA PRIVATE KEY") || text.contains("BEGIN ENCRYPTED PRIVATE KEY") {
        // WebCrypto imports PKCS#8 only; Seller Central hands out PKCS#8 (`BEGIN PRIVATE KEY`).
        return Err(SignError(
            "AMAZON_PAY_PRIVATE_KEY must be an unencrypted PKCS#8 PEM (BEGIN PRIVATE KEY)",
        ));
    }
    let body: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if body.is_empty() {
        return Err(SignError("AMAZON_PAY_PRIVATE_KEY is empty"));
    }
    base64_decode(&body).ok_or(SignError("AMAZON_PAY_PRIVATE_KEY is not valid base64 PEM"))
}

fn subtle() -> Result<web_sys::SubtleCrypto, SignError> {
    crate::platform::crypto()
        .map(|c| c.subtle())
        .ok_or(SignError("crypto.subtle is not available"))
}

async fn import_merchant_key(pem: &str) -> Result<CryptoKey, SignError> {
    let der = pkcs8_der_from_pem(pem)?;
    let algorithm = js_object(&[("name", "RSA-PSS".into()), ("hash", "SHA-256".into())]);
    let data = js_sys::Uint8Array::from(der.as_slice());
    let promise = subtle()?
        .import_key_with_object("pkcs8", &data, &algorithm, false, &key_usages(&["sign"]))
        .map_err(|_| SignError("importKey(pkcs8) refused the call"))?;
    let key = JsFuture::from(promise)
        .await
        .map_err(|_| SignError("AMAZON_PAY_PRIVATE_KEY is not an RSA PKCS#8 key"))?;
    key.dyn_into::<CryptoKey>()
        .map_err(|_| SignError("importKey returned no CryptoKey"))
}

async fn merchant_key(pem: &str) -> Result<CryptoKey, SignError> {
    let fp = fingerprint(pem.as_bytes());
    let cached = MERCHANT_KEY.with(|k| {
        k.borrow()
            .as_ref()
            .filter(|(f, _)| *f == fp)
            .map(|(_, key)| key.clone())
    });
    if let Some(key) = cached {
        return Ok(key);
    }
    let key = import_merchant_key(pem).await?;
    MERCHANT_KEY.with(|k| *k.borrow_mut() = Some((fp, key.clone())));
    Ok(key)
}

/// `AMZN-PAY-RSASSA-PSS-V2`: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32, standard base64.
pub async fn sign_pss(pem: &str, string_to_sign: &str) -> Result<String, SignError> {
    let key = merchant_key(pem).await?;
    let algorithm = js_object(&[
        ("name", "RSA-PSS".into()),
        ("saltLength", JsValue::from_f64(32.0)),
    ]);
    let data = js_sys::Uint8Array::from(string_to_sign.as_bytes());
    let promise = subtle()?
        .sign_with_object_and_js_u8_array(&algorithm, &key, &data)
        .map_err(|_| SignError("sign(RSA-PSS) refused the call"))?;
    let sig = JsFuture::from(promise)
        .await
        .map_err(|_| SignError("sign(RSA-PSS) failed"))?;
    Ok(base64_encode(&js_sys::Uint8Array::new(&sig).to_vec()))
}

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
            let mut resp = fetch
                .send_with_signal(&signal)
                .await
                .map_err(|e| TransportError::Lost(e.to_string()))?;
            let status = resp.status_code();
            let body = resp.text().await.map_err(|e| {
                TransportError::Lost(format!("HTTP {status}, body unreadable: {e}"))
            })?;
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
