//! The merchant's Amazon Pay signature (`AMZN-PAY-RSASSA-PSS-V2`) through WebCrypto: the PKCS#8
//! key from `AMAZON_PAY_PRIVATE_KEY` is imported once per isolate (importing costs far more CPU
//! than a signature). Used for API requests ([`super::transport`]) and button payloads.
//!
//! Never logged: the key, signatures, the strings signed.

use crate::platform::{self, js_object, key_usages};
use kessai_core::amazon::signing::{base64_decode, base64_encode};
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::CryptoKey;

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
    platform::subtle().map_err(|e| SignError(e.0))
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
    let fp = platform::fingerprint(pem.as_bytes());
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
