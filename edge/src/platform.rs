//! What the Workers runtime gives us: the clock, randomness and SHA-256 (WebCrypto). RSA-PSS and
//! HMAC keys live in [`crate::amazon_transport`].

use kessai_core::jst::UnixMillis;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub fn now() -> UnixMillis {
    UnixMillis(js_sys::Date::now() as i64)
}

pub fn crypto() -> Option<web_sys::Crypto> {
    let global = js_sys::global();
    js_sys::Reflect::get(&global, &"crypto".into())
        .ok()?
        .dyn_into::<web_sys::Crypto>()
        .ok()
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
