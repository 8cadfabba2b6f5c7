//! Who may call: the merchant's key pair, request-signature verification (`AMZN-PAY-RSASSA-PSS-V2`
//! and the legacy salt-20 `AMZN-PAY-RSASSA-PSS`) and checkout/sign-in button signatures.
//!
//! The canonical request and string to sign come from `kessai_core::amazon::signing` (the edge
//! builds them with the same code, so both sides agree on the wire); the RSASSA-PSS check itself
//! uses the `rsa` crate, an implementation independent of the edge's WebCrypto signer.

use axum::http::{HeaderMap, Method};
use kessai_core::amazon::signing;
use kessai_core::jst::UnixMillis;
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::pss::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;

use super::AmazonSandboxConfig;
use super::wire::ApiError;

/// A merchant's RSA-2048 key pair, as Seller Central has the merchant generate it: the private
/// half (PKCS#8 PEM) goes to the merchant's server, the public half is registered at Amazon.
#[derive(Debug, Clone)]
pub struct MerchantKey {
    pub private_pkcs8_pem: String,
    pub public_spki_pem: String,
}

impl MerchantKey {
    /// A fresh RSA-2048 key pair from the OS random source.
    ///
    /// # Panics
    /// Only if the OS random source fails or key encoding fails, neither of which input can
    /// cause (this is test/dev tooling, never edge code).
    pub fn generate() -> MerchantKey {
        let mut rng = rsa::rand_core::OsRng;
        let private = RsaPrivateKey::new(&mut rng, 2048).expect("RSA-2048 key generation");
        let private_pkcs8_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8 encoding")
            .to_string();
        let public_spki_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI encoding");
        MerchantKey {
            private_pkcs8_pem,
            public_spki_pem,
        }
    }

    /// The pair of an existing PKCS#8 private key PEM (literal `\n` accepted, as in `.env`
    /// files); `None` if it is not an RSA PKCS#8 key.
    pub fn from_private_pem(pem: &str) -> Option<MerchantKey> {
        let pem = pem.trim().replace("\\n", "\n");
        let private = RsaPrivateKey::from_pkcs8_pem(&pem).ok()?;
        let public_spki_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .ok()?;
        Some(MerchantKey {
            private_pkcs8_pem: pem,
            public_spki_pem,
        })
    }
}

pub fn parse_public_key(pem: &str) -> Option<RsaPublicKey> {
    RsaPublicKey::from_public_key_pem(pem.trim()).ok()
}

/// RSASSA-PSS / SHA-256 / MGF1-SHA-256 verification of `message` (the string to sign).
pub fn verify_pss(
    key: &RsaPublicKey,
    alg: signing::Algorithm,
    message: &[u8],
    signature: &[u8],
) -> bool {
    let Ok(sig) = Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<Sha256>::new_with_salt_len(key.clone(), alg.salt_len())
        .verify(message, &sig)
        .is_ok()
}

/// Headers every signed request must sign. [U] Amazon's real minimum is not published; these
/// are the ones every official SDK signs and without which a signature could be replayed
/// elsewhere (other host, other region, other time).
pub const REQUIRED_SIGNED_HEADERS: [&str; 3] =
    ["x-amz-pay-date", "x-amz-pay-host", "x-amz-pay-region"];

/// How far `x-amz-pay-date` may be from the sandbox clock. [U] Amazon's window is not published.
pub const DEFAULT_MAX_CLOCK_SKEW_MS: i64 = 15 * 60_000;

fn signature_error(message: impl Into<String>) -> ApiError {
    ApiError::new("InvalidRequestSignature", message)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A request as the sandbox received it. `path` and `query` are exactly as received (raw,
/// percent-encoded).
pub struct Received<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Verifies one API request. `own_host` is the sandbox's `host:port`. Returns the algorithm used.
pub fn verify_request(
    cfg: &AmazonSandboxConfig,
    key: Option<&RsaPublicKey>,
    own_host: &str,
    now: UnixMillis,
    req: &Received<'_>,
) -> Result<signing::Algorithm, ApiError> {
    let Received {
        method,
        path,
        query,
        headers,
        body,
    } = *req;
    let Some(auth) = header_str(headers, "authorization") else {
        // [U] code: Amazon's answer to an unsigned request is not documented.
        return Err(ApiError::new(
            "MissingHeader",
            "The request is missing the required header authorization.",
        ));
    };
    let parsed = signing::AuthorizationHeader::parse(auth).map_err(|_| {
        ApiError::new(
            "InvalidHeaderValue",
            "The value provided for header 'authorization' is invalid.",
        )
    })?;
    // Environment: this simulator is Amazon's Sandbox only. A LIVE- key, or a key id that is not
    // the registered one, cannot be verified here.
    if parsed
        .public_key_id
        .to_ascii_uppercase()
        .starts_with("LIVE")
    {
        return Err(ApiError::new(
            "InvalidAuthentication",
            "The Live environment is not available in the Amazon Pay sandbox.",
        ));
    }
    if parsed.public_key_id != cfg.public_key_id {
        // [U] Amazon's code for an unknown key id; the signature cannot be verified.
        return Err(signature_error(format!(
            "Unable to verify signature: public key id '{}' is not registered for merchant {}.",
            parsed.public_key_id, cfg.merchant_id
        )));
    }
    for required in REQUIRED_SIGNED_HEADERS {
        if header_str(headers, required).is_none() {
            return Err(ApiError::new(
                "MissingHeader",
                format!("The request is missing the required header {required}."),
            ));
        }
        if !parsed.signed_headers.iter().any(|h| h == required) {
            return Err(signature_error(format!(
                "Unable to verify signature: header '{required}' must be signed."
            )));
        }
    }
    if *method == Method::POST
        && headers.contains_key("x-amz-pay-idempotency-key")
        && !parsed
            .signed_headers
            .iter()
            .any(|h| h == "x-amz-pay-idempotency-key")
    {
        return Err(signature_error(
            "Unable to verify signature: header 'x-amz-pay-idempotency-key' must be signed.",
        ));
    }
    let mut signed: Vec<(String, String)> = Vec::with_capacity(parsed.signed_headers.len());
    for name in &parsed.signed_headers {
        let values: Vec<&str> = headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if values.is_empty() {
            return Err(signature_error(format!(
                "Unable to verify signature: signed header '{name}' is missing from the request."
            )));
        }
        signed.push((name.clone(), values.join(",")));
    }
    let query_pairs = signing::parse_query(query);
    let canonical = signing::canonical_request(method.as_str(), path, &query_pairs, &signed, body);
    let string_to_sign = signing::string_to_sign(parsed.algorithm, &canonical);
    let sig = signing::base64_decode(&parsed.signature_b64);
    let valid = match (key, sig) {
        (Some(key), Some(sig)) => {
            verify_pss(key, parsed.algorithm, string_to_sign.as_bytes(), &sig)
        }
        _ => false,
    };
    if !valid {
        // Amazon's wording (reference §2.2): the message carries the string it verified.
        return Err(signature_error(format!(
            "Unable to verify signature, signing String [{string_to_sign}]"
        )));
    }
    // The signature is good; now the signed values must make sense for this sandbox.
    let date = header_str(headers, "x-amz-pay-date").unwrap_or_default();
    let Some(at) = signing::parse_amz_date(date) else {
        return Err(ApiError::new(
            "InvalidHeaderValue",
            format!("The value '{date}' provided for header 'x-amz-pay-date' is invalid."),
        ));
    };
    if (at.0 - now.0).abs() > cfg.max_clock_skew_ms {
        // [U] code and window: AWS-style services answer 403 for a skewed request.
        return Err(signature_error(format!(
            "Unable to verify signature: x-amz-pay-date '{date}' is more than {} minutes from the server time.",
            cfg.max_clock_skew_ms / 60_000
        )));
    }
    let region = header_str(headers, "x-amz-pay-region").unwrap_or_default();
    if !region.eq_ignore_ascii_case("jp") {
        // A wrong region is a signature failure in practice [C php#47].
        return Err(signature_error(format!(
            "Unable to verify signature: region '{region}' does not match this endpoint (jp)."
        )));
    }
    let host = header_str(headers, "x-amz-pay-host").unwrap_or_default();
    if !host_matches(host, own_host) && !host.eq_ignore_ascii_case("pay-api.amazon.jp") {
        return Err(signature_error(format!(
            "Unable to verify signature: host '{host}' does not match this endpoint."
        )));
    }
    Ok(parsed.algorithm)
}

/// `host` names this sandbox: its own `host:port`, or another loopback spelling of it
/// (`localhost`, `127.0.0.1`, `[::1]`) with the same port, as a local edge may be configured.
fn host_matches(host: &str, own_host: &str) -> bool {
    if host.eq_ignore_ascii_case(own_host) {
        return true;
    }
    let split = |h: &str| {
        h.rsplit_once(':')
            .map(|(n, p)| (n.to_ascii_lowercase(), p.to_string()))
    };
    const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];
    match (split(host), split(own_host)) {
        (Some((name, port)), Some((own_name, own_port))) => {
            port == own_port
                && LOOPBACK.contains(&name.as_str())
                && LOOPBACK.contains(&own_name.as_str())
        }
        _ => false,
    }
}

/// Why a button payload was refused (shown on the hosted error page).
#[derive(Debug)]
pub struct ButtonError(pub String);

/// Verifies a button's `signature` over `payload_json`. A missing `algorithm` is verified as the
/// legacy algorithm, like Amazon (so a V2 signature without `algorithm` fails) [C dotnet#12].
pub fn verify_button(
    cfg: &AmazonSandboxConfig,
    key: Option<&RsaPublicKey>,
    payload_json: &str,
    signature_b64: &str,
    algorithm: Option<&str>,
) -> Result<signing::Algorithm, ButtonError> {
    let alg = match algorithm.filter(|a| !a.is_empty()) {
        None => signing::Algorithm::Legacy,
        Some(a) => signing::Algorithm::parse(a).ok_or_else(|| {
            ButtonError(format!("InvalidParameterValue: unknown algorithm '{a}'"))
        })?,
    };
    let string_to_sign = kessai_core::amazon::button::button_string_to_sign(alg, payload_json);
    let ok = match (key, signing::base64_decode(signature_b64)) {
        (Some(key), Some(sig)) => verify_pss(key, alg, string_to_sign.as_bytes(), &sig),
        _ => false,
    };
    if ok {
        Ok(alg)
    } else {
        let hash = string_to_sign.rsplit('\n').next().unwrap_or_default();
        Err(ButtonError(format!(
            "InvalidSignatureError: Signature {signature_b64} does not match signedString {} {hash} for merchant {}",
            alg.as_str(),
            cfg.merchant_id
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_spellings_of_the_sandbox_host() {
        assert!(host_matches("127.0.0.1:8791", "127.0.0.1:8791"));
        assert!(host_matches("localhost:8791", "127.0.0.1:8791"));
        assert!(host_matches("LOCALHOST:8791", "127.0.0.1:8791"));
        assert!(!host_matches("localhost:8792", "127.0.0.1:8791"));
        assert!(!host_matches("example.com:8791", "127.0.0.1:8791"));
        assert!(!host_matches("127.0.0.1", "127.0.0.1:8791"));
    }

    #[test]
    fn pss_verification_needs_the_right_salt_and_message() {
        use rsa::pss::SigningKey;
        use rsa::signature::{RandomizedSigner, SignatureEncoding};
        let mut rng = rsa::rand_core::OsRng;
        let private = RsaPrivateKey::new(&mut rng, 1024).expect("key");
        let public = private.to_public_key();
        let sig32 = SigningKey::<Sha256>::new_with_salt_len(private.clone(), 32)
            .sign_with_rng(&mut rng, b"hello")
            .to_bytes();
        let sig20 = SigningKey::<Sha256>::new_with_salt_len(private, 20)
            .sign_with_rng(&mut rng, b"hello")
            .to_bytes();
        assert!(verify_pss(
            &public,
            signing::Algorithm::V2,
            b"hello",
            &sig32
        ));
        assert!(!verify_pss(
            &public,
            signing::Algorithm::Legacy,
            b"hello",
            &sig32
        ));
        assert!(verify_pss(
            &public,
            signing::Algorithm::Legacy,
            b"hello",
            &sig20
        ));
        assert!(!verify_pss(
            &public,
            signing::Algorithm::V2,
            b"hello",
            &sig20
        ));
        assert!(!verify_pss(
            &public,
            signing::Algorithm::V2,
            b"hellO",
            &sig32
        ));
        assert!(!verify_pss(
            &public,
            signing::Algorithm::V2,
            b"hello",
            b"short"
        ));
    }

    #[test]
    fn merchant_key_round_trips_through_pem() {
        let k = MerchantKey::generate();
        assert!(
            k.private_pkcs8_pem
                .starts_with("-----BEGIN PRIVATE KEY-----")
        );
        assert!(k.public_spki_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
        let escaped = k.private_pkcs8_pem.replace('\n', "\\n");
        let again = MerchantKey::from_private_pem(&escaped).expect("literal \\n accepted");
        assert_eq!(again.public_spki_pem, k.public_spki_pem);
        assert!(parse_public_key(&k.public_spki_pem).is_some());
        assert!(MerchantKey::from_private_pem("not a key").is_none());
    }
}
