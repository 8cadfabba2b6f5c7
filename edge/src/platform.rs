//! What the Workers runtime gives us: the clock, randomness, WebCrypto (SHA-256, HMAC, PBKDF2 and
//! the helpers the gateways' RSA code uses) and timers. The bottom room: it imports nothing of the
//! crate. The merchant's RSA-PSS key lives with the Amazon gateway (`gateways::amazon::signing`).

use kessai_core::jst::UnixMillis;
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

thread_local! {
    /// The instant the test clock froze this isolate at (`flows::test_clock`); `None` in
    /// production and whenever the test clock is off.
    static FROZEN_MS: std::cell::Cell<Option<i64>> = const { std::cell::Cell::new(None) };
}

/// The time every rule of the edge runs at: the real time, or the test clock's frozen instant.
pub fn now() -> UnixMillis {
    match FROZEN_MS.with(std::cell::Cell::get) {
        Some(ms) => UnixMillis(ms),
        None => UnixMillis(js_sys::Date::now() as i64),
    }
}

/// Set by `flows::test_clock::load` at the start of each request and cron run.
pub fn set_frozen(ms: Option<i64>) {
    FROZEN_MS.with(|c| c.set(ms));
}

pub fn is_frozen() -> bool {
    FROZEN_MS.with(std::cell::Cell::get).is_some()
}

pub fn crypto() -> Option<web_sys::Crypto> {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"crypto".into())
        .ok()?
        .dyn_into::<web_sys::Crypto>()
        .ok()
}

/// A plain JS object with these properties (WebCrypto algorithm parameters).
pub fn js_object(pairs: &[(&str, JsValue)]) -> js_sys::Object {
    let obj = js_sys::Object::new();
    for (k, v) in pairs {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&obj, &JsValue::from_str(k), v);
    }
    obj
}

/// WebCrypto key usages (`["sign"]`, `["sign", "verify"]`).
pub fn key_usages(list: &[&str]) -> js_sys::Array {
    list.iter().map(|u| JsValue::from_str(u)).collect()
}

/// `n` random bytes as lower-case hex, from `crypto.getRandomValues`.
pub fn random_hex(n: usize) -> Option<String> {
    let mut buf = vec![0u8; n];
    crypto()?.get_random_values_with_u8_array(&mut buf).ok()?;
    Some(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// SHA-256 hex through `crypto.subtle`.
pub async fn sha256_hex(data: &[u8]) -> Option<String> {
    let subtle = crypto()?.subtle();
    let array = js_sys::Uint8Array::from(data);
    let promise = subtle
        .digest_with_str_and_buffer_source("SHA-256", &array)
        .ok()?;
    let buf = JsFuture::from(promise).await.ok()?;
    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Waits for `call`, a fetch sent with `controller`'s signal, at most `timeout_ms`. Past that the
/// fetch is aborted and the answer is `timed_out("no answer within N ms")`: whether the gateway
/// executed the call is then unknown, which the caller's error must say.
pub async fn within_timeout<T, E>(
    call: impl Future<Output = Result<T, E>>,
    controller: worker::AbortController,
    timeout_ms: u64,
    timed_out: impl FnOnce(String) -> E,
) -> Result<T, E> {
    let call = Box::pin(call);
    let timer = Box::pin(worker::Delay::from(std::time::Duration::from_millis(
        timeout_ms,
    )));
    match futures_util::future::select(call, timer).await {
        futures_util::future::Either::Left((result, _)) => result,
        futures_util::future::Either::Right(((), _)) => {
            controller.abort();
            Err(timed_out(format!("no answer within {timeout_ms} ms")))
        }
    }
}

/// A fetch answer's whole body in one `arrayBuffer()` (#17: `worker::Response::bytes` reads it
/// chunk by chunk through a stream reader, several JS calls per answer). The error is the
/// runtime's message.
pub async fn response_bytes(resp: worker::Response) -> Result<Vec<u8>, String> {
    let web: web_sys::Response = resp.into();
    let message = |e: JsValue| {
        e.dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| "body unreadable".to_string())
    };
    let promise = web.array_buffer().map_err(message)?;
    let buf = JsFuture::from(promise).await.map_err(message)?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// Why a WebCrypto call failed. Always a runtime or configuration fault, never the caller's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CryptoError(pub &'static str);

pub fn subtle() -> Result<web_sys::SubtleCrypto, CryptoError> {
    crypto()
        .map(|c| c.subtle())
        .ok_or(CryptoError("crypto.subtle is not available"))
}

/// FNV-1a: a cheap fingerprint to notice that a configured key changed. Not a security check.
pub fn fingerprint(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Constant-time comparison of two byte strings.
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

thread_local! {
    /// The imported HMAC key (keyed by a fingerprint of the secret), once per isolate: importing
    /// costs more than a MAC.
    static HMAC_KEY: RefCell<Option<(u64, web_sys::CryptoKey)>> = const { RefCell::new(None) };
}

fn hmac_algorithm() -> js_sys::Object {
    js_object(&[("name", "HMAC".into()), ("hash", "SHA-256".into())])
}

async fn hmac_key(secret: &str) -> Result<web_sys::CryptoKey, CryptoError> {
    let fp = fingerprint(secret.as_bytes());
    if let Some(key) = HMAC_KEY.with(|k| {
        k.borrow()
            .as_ref()
            .filter(|(f, _)| *f == fp)
            .map(|(_, key)| key.clone())
    }) {
        return Ok(key);
    }
    let raw = js_sys::Uint8Array::from(secret.as_bytes());
    let usages = key_usages(&["sign", "verify"]);
    let promise = subtle()?
        .import_key_with_object("raw", &raw, &hmac_algorithm(), false, &usages)
        .map_err(|_| CryptoError("importKey(HMAC) refused"))?;
    let key = JsFuture::from(promise)
        .await
        .map_err(|_| CryptoError("importKey(HMAC) failed"))?
        .dyn_into::<web_sys::CryptoKey>()
        .map_err(|_| CryptoError("importKey(HMAC) returned no key"))?;
    HMAC_KEY.with(|k| *k.borrow_mut() = Some((fp, key.clone())));
    Ok(key)
}

/// HMAC-SHA-256 of `data` with `secret` (WebCrypto).
pub async fn hmac_sign(secret: &str, data: &str) -> Result<Vec<u8>, CryptoError> {
    let key = hmac_key(secret).await?;
    let promise = subtle()?
        .sign_with_object_and_js_u8_array(
            &hmac_algorithm(),
            &key,
            &js_sys::Uint8Array::from(data.as_bytes()),
        )
        .map_err(|_| CryptoError("sign(HMAC) refused"))?;
    let mac = JsFuture::from(promise)
        .await
        .map_err(|_| CryptoError("sign(HMAC) failed"))?;
    Ok(js_sys::Uint8Array::new(&mac).to_vec())
}

/// Constant-time HMAC-SHA-256 check (WebCrypto `verify`).
pub async fn hmac_verify(secret: &str, data: &str, mac: &[u8]) -> Result<bool, CryptoError> {
    let key = hmac_key(secret).await?;
    let promise = subtle()?
        .verify_with_object_and_js_u8_array_and_js_u8_array(
            &hmac_algorithm(),
            &key,
            &js_sys::Uint8Array::from(mac),
            &js_sys::Uint8Array::from(data.as_bytes()),
        )
        .map_err(|_| CryptoError("verify(HMAC) refused"))?;
    let ok = JsFuture::from(promise)
        .await
        .map_err(|_| CryptoError("verify(HMAC) failed"))?;
    Ok(ok.as_bool().unwrap_or(false))
}

/// PBKDF2-HMAC-SHA-256 through `crypto.subtle` (Workers cap iterations at 100 000).
pub async fn pbkdf2(password: &str, salt: &[u8], iterations: u32, len: usize) -> Option<Vec<u8>> {
    let subtle = crypto()?.subtle();
    let key_data = js_sys::Uint8Array::from(password.as_bytes());
    let key = JsFuture::from(
        subtle
            .import_key_with_str(
                "raw",
                &key_data,
                "PBKDF2",
                false,
                &key_usages(&["deriveBits"]),
            )
            .ok()?,
    )
    .await
    .ok()?
    .dyn_into::<web_sys::CryptoKey>()
    .ok()?;
    let params = js_object(&[
        ("name", "PBKDF2".into()),
        ("hash", "SHA-256".into()),
        ("salt", js_sys::Uint8Array::from(salt).into()),
        ("iterations", JsValue::from_f64(f64::from(iterations))),
    ]);
    let bits = JsFuture::from(
        subtle
            .derive_bits_with_object(&params, &key, (len * 8) as u32)
            .ok()?,
    )
    .await
    .ok()?;
    Some(js_sys::Uint8Array::new(&bits).to_vec())
}
