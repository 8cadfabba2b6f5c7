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
    let string_to_sign = |uri_line: &str| {
        let canonical = signing::canonical_request_with_uri(
            method.as_str(),
            uri_line,
            &query_pairs,
            &signed,
            body,
        );
        signing::string_to_sign(parsed.algorithm, &canonical)
    };
    let uris = canonical_uri_candidates(path);
    let sig = signing::base64_decode(&parsed.signature_b64);
    let valid = match (key, sig) {
        (Some(key), Some(sig)) => uris
            .iter()
            .any(|uri| verify_pss(key, parsed.algorithm, string_to_sign(uri).as_bytes(), &sig)),
        _ => false,
    };
    if !valid {
        // Amazon's wording (reference §2.2): the message carries the string it verified, here
        // the one of the canonical form.
        return Err(signature_error(format!(
            "Unable to verify signature, signing String [{}]",
            string_to_sign(&uris[0])
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
    if !region.eq_ignore_ascii_case(REGION) {
        // A wrong region is a signature failure in practice [C php#47].
        return Err(signature_error(format!(
            "Unable to verify signature: region '{region}' does not match this endpoint ({REGION})."
        )));
    }
    let host = header_str(headers, "x-amz-pay-host").unwrap_or_default();
    if !host_accepted(host, own_host, headers) {
        return Err(signature_error(format!(
            "Unable to verify signature: host '{host}' does not match this endpoint."
        )));
    }
    Ok(parsed.algorithm)
}

/// The region this sandbox simulates: `x-amz-pay-region` must name it (any case).
pub const REGION: &str = "jp";

/// Amazon's API host name for a region (`x-amz-pay-region` value), as every official SDK maps
/// it [C reference §1.1, Node `API_ENDPOINTS`].
pub fn amazon_api_host(region: &str) -> Option<&'static str> {
    match region.to_ascii_lowercase().as_str() {
        "jp" => Some("pay-api.amazon.jp"),
        "na" => Some("pay-api.amazon.com"),
        "eu" => Some("pay-api.amazon.eu"),
        _ => None,
    }
}

/// The URI lines a signature is checked against, the canonical one first (it is the one named
/// in the error message). Each is a form a client may have signed for the path that arrived:
/// 1. the canonical URI Amazon documents (decode, then RFC 3986-encode every byte outside
///    `A-Za-z0-9-_.~/`, uppercase hex): what the edge and the PHP/Java/.NET SDKs sign, whether
///    the request line carries `|` or `%7C`;
/// 2. the path exactly as it arrived (a client that signed the bytes it sent, e.g. `%7c`);
/// 3. the path decoded, as the client wrote it before its HTTP library encoded it: the Node
///    SDK signs `/` + its URL fragment verbatim, and Node's `url.parse` (under axios) sends
///    `|` as `%7C`. Skipped when the decoded path is not UTF-8 or has a control character,
///    which could forge lines of the canonical request.
///
/// Duplicates are dropped, so a plain ASCII path costs one verification.
fn canonical_uri_candidates(path: &str) -> Vec<String> {
    let mut out = vec![signing::canonical_uri(path)];
    let mut add = |uri: String| {
        if !uri.is_empty() && !out.contains(&uri) {
            out.push(uri);
        }
    };
    add(path.to_string());
    if let Some(decoded) = signing::percent_decode_path(path)
        && !decoded.chars().any(char::is_control)
    {
        add(decoded);
    }
    out
}

/// Whether a (correctly signed) `x-amz-pay-host` names this sandbox: Amazon's own API host
/// name for [`REGION`] (a client or official SDK configured for the real API, reaching the
/// sandbox through a proxy or a hosts entry), the sandbox's bound `host:port` (or a loopback
/// spelling of it), the `Host` the request arrived with, or the first `X-Forwarded-Host` (a
/// proxy that rewrites `Host`). Case-insensitive; anything else is refused.
fn host_accepted(host: &str, own_host: &str, headers: &HeaderMap) -> bool {
    if host.is_empty() {
        return false;
    }
    if amazon_api_host(REGION).is_some_and(|h| host.eq_ignore_ascii_case(h)) {
        return true;
    }
    if host_matches(host, own_host) {
        return true;
    }
    let reached_as = [
        header_str(headers, "host"),
        header_str(headers, "x-forwarded-host").and_then(|v| v.split(',').next()),
    ];
    reached_as
        .into_iter()
        .flatten()
        .map(str::trim)
        .any(|h| !h.is_empty() && host.eq_ignore_ascii_case(h))
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
    fn canonical_uri_candidates_canonical_first_then_as_sent_then_as_written() {
        let c = |p: &str| canonical_uri_candidates(p);
        // Plain paths: one form only.
        assert_eq!(
            c("/sandbox/v2/charges/S03-1-C1"),
            ["/sandbox/v2/charges/S03-1-C1"]
        );
        // `|` on the wire: canonical `%7C`, then the raw `|`.
        assert_eq!(
            c("/v2/charges/a|b"),
            ["/v2/charges/a%7Cb", "/v2/charges/a|b"]
        );
        // `%7C` on the wire: canonical (the same), then as written before encoding.
        assert_eq!(
            c("/v2/charges/a%7Cb"),
            ["/v2/charges/a%7Cb", "/v2/charges/a|b"]
        );
        // Lowercase hex: canonical, as sent, as written.
        assert_eq!(
            c("/v2/charges/a%7cb"),
            ["/v2/charges/a%7Cb", "/v2/charges/a%7cb", "/v2/charges/a|b"]
        );
        // A decoded control character is never a candidate (it could forge canonical lines);
        // neither is a decoding that is not UTF-8.
        assert_eq!(c("/v2/charges/a%0Ab"), ["/v2/charges/a%0Ab"]);
        assert_eq!(c("/v2/charges/%FF"), ["/v2/charges/%FF"]);
        // Never a double encoding (`%257C`): that is a different path.
        assert!(!c("/v2/charges/a%7Cb").iter().any(|u| u.contains("%25")));
    }

    #[test]
    fn accepted_hosts() {
        let own = "127.0.0.1:8791";
        let mut h = HeaderMap::new();
        // Amazon's JP host, any case; not the other regions' hosts, not with a port.
        assert!(host_accepted("pay-api.amazon.jp", own, &h));
        assert!(host_accepted("PAY-API.amazon.JP", own, &h));
        assert!(!host_accepted("pay-api.amazon.com", own, &h));
        assert!(!host_accepted("pay-api.amazon.eu", own, &h));
        assert!(!host_accepted("pay-api.amazon.jp:443", own, &h));
        assert!(!host_accepted("pay-api.amazon.jp.evil.example", own, &h));
        // The bound address and its loopback spellings.
        assert!(host_accepted("127.0.0.1:8791", own, &h));
        assert!(host_accepted("localhost:8791", own, &h));
        assert!(!host_accepted("proxy.example:8443", own, &h));
        assert!(!host_accepted("", own, &h));
        // The Host it was reached at (a proxy that keeps Host).
        h.insert("host", "proxy.example:8443".parse().unwrap());
        assert!(host_accepted("proxy.example:8443", own, &h));
        assert!(host_accepted("Proxy.Example:8443", own, &h));
        assert!(!host_accepted("proxy.example", own, &h));
        assert!(!host_accepted("other.example:8443", own, &h));
        // The first X-Forwarded-Host (a proxy that rewrites Host); not a later hop.
        h.insert("host", own.parse().unwrap());
        h.insert(
            "x-forwarded-host",
            "shop-proxy.example, inner.example".parse().unwrap(),
        );
        assert!(host_accepted("shop-proxy.example", own, &h));
        assert!(!host_accepted("inner.example", own, &h));
        assert!(!host_accepted("other.example", own, &h));
    }

    #[test]
    fn amazon_hosts_per_region() {
        assert_eq!(amazon_api_host("jp"), Some("pay-api.amazon.jp"));
        assert_eq!(amazon_api_host("JP"), Some("pay-api.amazon.jp"));
        assert_eq!(amazon_api_host("na"), Some("pay-api.amazon.com"));
        assert_eq!(amazon_api_host("eu"), Some("pay-api.amazon.eu"));
        assert_eq!(amazon_api_host("us"), None);
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
