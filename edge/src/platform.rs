//! What the Workers runtime gives us: the clock, randomness, SHA-256 (WebCrypto) and timers. RSA-PSS and
//! HMAC keys live in [`crate::amazon_transport`].

use kessai_core::jst::UnixMillis;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

thread_local! {
    /// The instant the test clock froze this isolate at ([`crate::test_clock`]); `None` in
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

/// Set by [`crate::test_clock::load`] at the start of each request and cron run.
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
pub fn js_object(pairs: &[(&str, wasm_bindgen::JsValue)]) -> js_sys::Object {
    let obj = js_sys::Object::new();
    for (k, v) in pairs {
        // Setting a property on a fresh plain object cannot fail.
        let _ = js_sys::Reflect::set(&obj, &wasm_bindgen::JsValue::from_str(k), v);
    }
    obj
}

/// WebCrypto key usages (`["sign"]`, `["sign", "verify"]`).
pub fn key_usages(list: &[&str]) -> js_sys::Array {
    list.iter()
        .map(|u| wasm_bindgen::JsValue::from_str(u))
        .collect()
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
