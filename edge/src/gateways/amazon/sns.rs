//! How to trust an Amazon Pay IPN (an SNS envelope), as AWS specifies: the certificate URL rule,
//! the certificate itself, RSA PKCS#1 v1.5 with SHA-1 or SHA-256 over the string to sign, all
//! through WebCrypto. What the notification then means is the notifications flow's business.
//!
//! Certificates: live mode fetches only `https://sns.<region>.amazonaws.com[.cn]/….pem` and
//! trusts it through TLS (as AWS's own validators do). Test mode with a configured sandbox CA
//! accepts only URLs under `AMAZON_PAY_IPN_SANDBOX_CERT_BASE` and checks that the certificate
//! was issued by that CA. Either way the certificate's validity dates are checked against the
//! clock, and it is cached per URL in the isolate.

use crate::config::IpnConfig;
use crate::http::{Refusal, refuse};
use crate::platform::{self, js_object, key_usages};
use kessai_core::amazon::signing::base64_decode;
use kessai_core::der;
use kessai_core::jst::UnixMillis;
use kessai_core::sns::{self, Envelope};
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::CryptoKey;
use worker::{AbortController, Fetch, Method, Request, RequestInit};

/// Largest certificate accepted.
const MAX_CERT: usize = 16 * 1024;
const CERT_FETCH_TIMEOUT_MS: u64 = 5_000;

struct CachedCert {
    url: String,
    not_before: UnixMillis,
    not_after: UnixMillis,
    spki: Vec<u8>,
    /// One imported key per hash (WebCrypto binds the hash to the key).
    keys: Vec<(&'static str, CryptoKey)>,
}

thread_local! {
    /// Verified signing certificates by URL (a handful at most: SNS rotates rarely).
    static CERTS: RefCell<Vec<CachedCert>> = const { RefCell::new(Vec::new()) };
}

const MAX_CACHED_CERTS: usize = 8;

fn subtle() -> Result<web_sys::SubtleCrypto, Refusal> {
    platform::subtle().map_err(|e| refuse(500, e.0))
}

async fn import_spki(spki: &[u8], hash: &str) -> Result<CryptoKey, Refusal> {
    let algorithm = js_object(&[("name", "RSASSA-PKCS1-v1_5".into()), ("hash", hash.into())]);
    let data = js_sys::Uint8Array::from(spki);
    let promise = subtle()?
        .import_key_with_object("spki", &data, &algorithm, false, &key_usages(&["verify"]))
        .map_err(|_| refuse(400, "importKey(spki) refused the call"))?;
    JsFuture::from(promise)
        .await
        .map_err(|_| refuse(400, "certificate key is not an RSA key WebCrypto accepts"))?
        .dyn_into::<CryptoKey>()
        .map_err(|_| refuse(500, "importKey returned no CryptoKey"))
}

async fn rsa_verify(key: &CryptoKey, signature: &[u8], data: &[u8]) -> Result<bool, Refusal> {
    let algorithm = js_object(&[("name", "RSASSA-PKCS1-v1_5".into())]);
    let promise = subtle()?
        .verify_with_object_and_u8_array_and_u8_array(
            algorithm.unchecked_ref(),
            key,
            signature,
            data,
        )
        .map_err(|_| refuse(500, "verify refused the call"))?;
    let ok = JsFuture::from(promise)
        .await
        .map_err(|_| refuse(400, "signature could not be checked"))?;
    Ok(ok.as_bool() == Some(true))
}

pub async fn fetch_text(url: &str) -> Result<String, Refusal> {
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    let request =
        Request::new_with_init(url, &init).map_err(|_| refuse(400, "certificate URL unusable"))?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = async {
        let resp = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|e| refuse(502, format!("certificate fetch failed: {e}")))?;
        if resp.status_code() != 200 {
            return Err(refuse(
                502,
                format!("certificate fetch answered HTTP {}", resp.status_code()),
            ));
        }
        let bytes = platform::response_bytes(resp)
            .await
            .map_err(|e| refuse(502, format!("certificate unreadable: {e}")))?;
        if bytes.len() > MAX_CERT {
            return Err(refuse(400, "certificate too large"));
        }
        String::from_utf8(bytes).map_err(|_| refuse(400, "certificate is not PEM text"))
    };
    platform::within_timeout(call, controller, CERT_FETCH_TIMEOUT_MS, |m| {
        refuse(502, format!("certificate fetch: {m}"))
    })
    .await
}

/// Fetches, parses and checks the certificate at `url` (already allowed by the URL rule).
async fn load_certificate(
    url: &str,
    cfg: &IpnConfig,
    now: UnixMillis,
) -> Result<CachedCert, Refusal> {
    let pem = fetch_text(url).await?;
    let der_bytes = der::certificate_der_from_pem(&pem)
        .map_err(|e| refuse(400, format!("signing certificate: {e}")))?;
    let cert = der::parse_certificate(&der_bytes)
        .map_err(|e| refuse(400, format!("signing certificate: {e}")))?;
    if !cert.has_rsa_key() {
        return Err(refuse(400, "signing certificate has no RSA key"));
    }
    if let Some(trust) = &cfg.sandbox {
        let ca = import_spki(&trust.ca_spki, cert.signature_algorithm.webcrypto_hash()).await?;
        if !rsa_verify(&ca, cert.signature, cert.tbs).await? {
            return Err(refuse(
                403,
                "signing certificate not issued by the sandbox CA",
            ));
        }
    }
    // Live: the certificate came over TLS from an SNS host; no other chain is checked.
    let cached = CachedCert {
        url: url.to_string(),
        not_before: cert.not_before,
        not_after: cert.not_after,
        spki: cert.spki.to_vec(),
        keys: Vec::new(),
    };
    if !cert.valid_at(now) {
        return Err(refuse(403, "signing certificate is not valid now"));
    }
    Ok(cached)
}

/// The verification key for `url` and `hash`, from the isolate's cache or freshly loaded.
async fn signing_key(
    url: &str,
    hash: &'static str,
    cfg: &IpnConfig,
    now: UnixMillis,
) -> Result<CryptoKey, Refusal> {
    let hit = CERTS.with(|c| {
        let mut certs = c.borrow_mut();
        // An expired certificate is dropped, never used.
        certs.retain(|e| e.not_before.0 <= now.0 && now.0 <= e.not_after.0);
        certs.iter().find(|e| e.url == url).map(|e| {
            (
                e.spki.clone(),
                e.keys
                    .iter()
                    .find(|(h, _)| *h == hash)
                    .map(|(_, k)| k.clone()),
            )
        })
    });
    let spki = match hit {
        Some((_, Some(key))) => return Ok(key),
        Some((spki, None)) => spki,
        None => {
            let loaded = load_certificate(url, cfg, now).await?;
            let spki = loaded.spki.clone();
            CERTS.with(|c| {
                let mut certs = c.borrow_mut();
                if certs.len() >= MAX_CACHED_CERTS {
                    certs.remove(0);
                }
                certs.retain(|e| e.url != url);
                certs.push(loaded);
            });
            spki
        }
    };
    let key = import_spki(&spki, hash).await?;
    CERTS.with(|c| {
        if let Some(e) = c.borrow_mut().iter_mut().find(|e| e.url == url) {
            e.keys.push((hash, key.clone()));
        }
    });
    Ok(key)
}

/// Checks everything about the envelope that does not need D1 or Amazon.
pub async fn verify_envelope(
    env: &Envelope,
    cfg: &IpnConfig,
    now: UnixMillis,
) -> Result<(), Refusal> {
    if env.topic_arn != cfg.topic_arn {
        return Err(refuse(403, "TopicArn is not the configured topic"));
    }
    let url_check = match &cfg.sandbox {
        Some(trust) => sns::check_sandbox_cert_url(&env.signing_cert_url, &trust.cert_base),
        None => sns::check_live_cert_url(&env.signing_cert_url)
            .and_then(|()| sns::check_topic_region(&env.topic_arn, &env.signing_cert_url)),
    };
    url_check.map_err(|e| refuse(403, e.to_string()))?;
    let signature = base64_decode(env.signature.trim())
        .ok_or_else(|| refuse(400, "Signature is not base64"))?;
    let key = signing_key(
        &env.signing_cert_url,
        env.signature_version.webcrypto_hash(),
        cfg,
        now,
    )
    .await?;
    if !rsa_verify(&key, &signature, env.string_to_sign().as_bytes()).await? {
        return Err(refuse(403, "signature does not verify"));
    }
    Ok(())
}
