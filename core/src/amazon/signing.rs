//! Amazon Pay CV2 request signing: canonical request, string to sign, `Authorization` header,
//! `x-amz-pay-date`, base64.
//!
//! ```text
//! CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n SignedHeaders \n hex(sha256(body))
//! StringToSign     = ALGORITHM \n hex(sha256(CanonicalRequest))
//! ```
//! The RSA-PSS step itself is not here: the edge signs the string to sign through WebCrypto and
//! the sandbox verifies it with the `rsa` crate, so the two implementations stay independent.

use crate::jst::{JstDateTime, UnixMillis};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::fmt;

/// The signature algorithm named in the `Authorization` header and in button configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `AMZN-PAY-RSASSA-PSS-V2`: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt 32. The only one kessai produces.
    V2,
    /// `AMZN-PAY-RSASSA-PSS`: the same with salt 20 (older SDK default). Verified by the sandbox only.
    Legacy,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Algorithm::V2, Algorithm::Legacy];

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::V2 => "AMZN-PAY-RSASSA-PSS-V2",
            Algorithm::Legacy => "AMZN-PAY-RSASSA-PSS",
        }
    }

    /// Exact, case-sensitive match on the wire name.
    pub fn parse(s: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// RSASSA-PSS salt length in bytes.
    pub fn salt_len(self) -> usize {
        match self {
            Algorithm::V2 => 32,
            Algorithm::Legacy => 20,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Lowercase hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex_lower(&Sha256::digest(data))
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// RFC 3986 unreserved characters: never percent-encoded.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Percent-encodes every byte outside `A-Za-z0-9-_.~` (and `/` when `keep_slash`), uppercase hex.
fn percent_encode(bytes: &[u8], keep_slash: bool) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(DIGITS[usize::from(b >> 4)] as char);
            out.push(DIGITS[usize::from(b & 0x0f)] as char);
        }
    }
    out
}

/// RFC 3986 encoding of one path segment or query component (`/` is encoded too).
pub fn uri_encode(s: &str) -> String {
    percent_encode(s.as_bytes(), false)
}

/// Decodes `%XX` sequences; a `%` not followed by two hex digits stays literal. `+` stays `+`
/// (RFC 3986, not form encoding).
fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2]))
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Canonical URI: the path with every byte outside `A-Za-z0-9-_.~/` percent-encoded, `/` if empty.
///
/// An already percent-encoded path (what a server sees on the wire, and what
/// [`crate::amazon::request`] builds for ids) is decoded first, so `/a%20b` and `/a b` give the
/// same canonical URI `/a%20b`: the Java SDK likewise encodes the decoded path. Without that the
/// signer and the verifier would disagree on any id that needs escaping.
pub fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    percent_encode(&percent_decode(path), true)
}

/// The path with its `%XX` sequences decoded, as a client wrote it before its HTTP library
/// percent-encoded it (`/a%7Cb` → `/a|b`); `None` when the decoded bytes are not UTF-8.
/// A `%` not followed by two hex digits stays literal; `+` stays `+`.
pub fn percent_decode_path(path: &str) -> Option<String> {
    String::from_utf8(percent_decode(path)).ok()
}

/// Canonical query: RFC 3986-encoded `key=value` pairs sorted by encoded key, then encoded value,
/// joined with `&`. Empty when there are no parameters.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k), uri_encode(v)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn normalised_headers(signed_headers: &[(String, String)]) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = signed_headers
        .iter()
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    // Stable: two values of one header keep the order they were given in.
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    headers
}

/// `name;name;…`: the lowercase names of the signed headers, sorted, each once.
pub fn signed_header_names(signed_headers: &[(String, String)]) -> String {
    let mut names: Vec<String> = normalised_headers(signed_headers)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.dedup();
    names.join(";")
}

/// The canonical request of Amazon Pay CV2.
///
/// `signed_headers`: the (name, value) pairs of the headers to sign, in any order and case;
/// names are lowercased, values trimmed, and the lines sorted by name.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    signed_headers: &[(String, String)],
    body: &[u8],
) -> String {
    canonical_request_with_uri(method, &canonical_uri(path), query, signed_headers, body)
}

/// [`canonical_request`] with the URI line given verbatim instead of derived from a path by
/// [`canonical_uri`]: for a verifier that also tries the forms a client may have signed (the
/// path exactly as it arrived, or as the client wrote it before its HTTP library encoded it).
pub fn canonical_request_with_uri(
    method: &str,
    uri_line: &str,
    query: &[(String, String)],
    signed_headers: &[(String, String)],
    body: &[u8],
) -> String {
    let mut out = String::with_capacity(256 + uri_line.len());
    out.push_str(&method.to_ascii_uppercase());
    out.push('\n');
    out.push_str(uri_line);
    out.push('\n');
    out.push_str(&canonical_query(query));
    out.push('\n');
    for (name, value) in normalised_headers(signed_headers) {
        out.push_str(&name);
        out.push(':');
        out.push_str(&value);
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_header_names(signed_headers));
    out.push('\n');
    out.push_str(&sha256_hex(body));
    out
}

/// `ALGORITHM \n hex(sha256(canonical_request))`: the bytes that are RSA-PSS signed.
pub fn string_to_sign(alg: Algorithm, canonical_request: &str) -> String {
    format!(
        "{}\n{}",
        alg.as_str(),
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Why an `Authorization` header (or a part of it) could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SigningError {
    /// Empty header or no space between the algorithm and its parameters.
    Malformed(String),
    /// The first word is not an Amazon Pay signature algorithm.
    UnknownAlgorithm(String),
    /// One of `PublicKeyId`, `SignedHeaders`, `Signature` is absent or empty.
    MissingField(&'static str),
    /// A parameter appears twice.
    DuplicateField(String),
    /// A parameter other than the three known ones.
    UnknownField(String),
    /// `SignedHeaders` has an empty or non-lowercase entry.
    InvalidSignedHeaders(String),
    /// `Signature` is not standard padded base64.
    InvalidSignatureEncoding,
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigningError::Malformed(why) => write!(f, "malformed Authorization header: {why}"),
            SigningError::UnknownAlgorithm(a) => {
                write!(f, "unknown signature algorithm '{a}'")
            }
            SigningError::MissingField(name) => {
                write!(f, "Authorization header lacks {name}")
            }
            SigningError::DuplicateField(name) => {
                write!(f, "Authorization header repeats {name}")
            }
            SigningError::UnknownField(name) => {
                write!(f, "Authorization header has unknown parameter '{name}'")
            }
            SigningError::InvalidSignedHeaders(v) => {
                write!(f, "invalid SignedHeaders list '{v}'")
            }
            SigningError::InvalidSignatureEncoding => {
                write!(f, "Signature is not standard base64")
            }
        }
    }
}

impl std::error::Error for SigningError {}

/// `{ALG} PublicKeyId={id}, SignedHeaders={a;b;c}, Signature={base64}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationHeader {
    pub algorithm: Algorithm,
    pub public_key_id: String,
    /// Lowercase header names, in the order of the header (sorted when produced by kessai).
    pub signed_headers: Vec<String>,
    pub signature_b64: String,
}

impl AuthorizationHeader {
    pub fn to_header_value(&self) -> String {
        format!(
            "{} PublicKeyId={}, SignedHeaders={}, Signature={}",
            self.algorithm.as_str(),
            self.public_key_id,
            self.signed_headers.join(";"),
            self.signature_b64
        )
    }

    /// Parses the header value. Parameters may come in any order, separated by `,` with optional
    /// spaces; all three are required exactly once.
    pub fn parse(v: &str) -> Result<AuthorizationHeader, SigningError> {
        let v = v.trim();
        if v.is_empty() {
            return Err(SigningError::Malformed("empty".into()));
        }
        let (alg, params) = v
            .split_once(' ')
            .ok_or_else(|| SigningError::Malformed("no parameters after the algorithm".into()))?;
        let algorithm =
            Algorithm::parse(alg).ok_or_else(|| SigningError::UnknownAlgorithm(alg.to_string()))?;
        let mut public_key_id: Option<String> = None;
        let mut signed_headers: Option<String> = None;
        let mut signature: Option<String> = None;
        for part in params.split(',') {
            let part = part.trim();
            if part.is_empty() {
                return Err(SigningError::Malformed("empty parameter".into()));
            }
            // Split at the first '=': base64 padding is '=' too.
            let (name, value) = part
                .split_once('=')
                .ok_or_else(|| SigningError::Malformed(format!("parameter without '=': {part}")))?;
            let slot = match name.trim() {
                "PublicKeyId" => &mut public_key_id,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                other => return Err(SigningError::UnknownField(other.to_string())),
            };
            if slot.is_some() {
                return Err(SigningError::DuplicateField(name.trim().to_string()));
            }
            *slot = Some(value.trim().to_string());
        }
        let public_key_id = public_key_id
            .filter(|s| !s.is_empty())
            .ok_or(SigningError::MissingField("PublicKeyId"))?;
        let signed_headers_raw = signed_headers
            .filter(|s| !s.is_empty())
            .ok_or(SigningError::MissingField("SignedHeaders"))?;
        let signature_b64 = signature
            .filter(|s| !s.is_empty())
            .ok_or(SigningError::MissingField("Signature"))?;
        let signed_headers: Vec<String> =
            signed_headers_raw.split(';').map(str::to_string).collect();
        let header_name_ok = |h: &String| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        };
        if !signed_headers.iter().all(header_name_ok) {
            return Err(SigningError::InvalidSignedHeaders(signed_headers_raw));
        }
        if base64_decode(&signature_b64).is_none() {
            return Err(SigningError::InvalidSignatureEncoding);
        }
        Ok(AuthorizationHeader {
            algorithm,
            public_key_id,
            signed_headers,
            signature_b64,
        })
    }
}

const HOUR_MS: i64 = 3_600_000;

/// `x-amz-pay-date` as the PHP/Java/.NET/Ruby SDKs send it: `YYYYMMDDTHHMMSSZ`, UTC.
pub fn amz_date(now: UnixMillis) -> String {
    // `to_jst` adds 9 h; shifting back first yields the UTC wall clock.
    let utc = UnixMillis(now.0 - 9 * HOUR_MS).to_jst();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second
    )
}

/// Parses `x-amz-pay-date`: `20240101T000000Z` (PHP/Java/.NET/Ruby) or `2024-01-01T00:00:00Z`
/// (Node SDK). Rejects impossible dates and anything else.
pub fn parse_amz_date(s: &str) -> Option<UnixMillis> {
    // ASCII only: the slicing below must never split a multi-byte character.
    if !s.is_ascii() {
        return None;
    }
    let b = s.as_bytes();
    let compact = match b.len() {
        16 if b[8] == b'T' && b[15] == b'Z' => format!("{}{}", &s[0..8], &s[9..15]),
        20 if b[4] == b'-'
            && b[7] == b'-'
            && b[10] == b'T'
            && b[13] == b':'
            && b[16] == b':'
            && b[19] == b'Z' =>
        {
            format!(
                "{}{}{}{}{}{}",
                &s[0..4],
                &s[5..7],
                &s[8..10],
                &s[11..13],
                &s[14..16],
                &s[17..19]
            )
        }
        _ => return None,
    };
    // The wall-clock fields are validated by the GMO date parser (same 14-digit shape); they are
    // UTC here, so undo the JST offset `to_unix` applies.
    let dt = JstDateTime::parse_gmo(&compact)?;
    Some(UnixMillis(dt.to_unix().0 + 9 * HOUR_MS))
}

/// Standard base64 with padding (signatures, as Amazon expects).
pub fn base64_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// Standard padded base64; `None` on anything else.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// base64url without padding (JWS segments).
pub fn base64url_encode(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// base64url without padding; `None` on anything else (padding included).
pub fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

/// Splits a raw query string (`a=1&b=x%20y`, without `?`) into percent-decoded pairs, order
/// kept. A parameter without `=` has an empty value; empty segments are skipped; `+` is literal.
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|seg| !seg.is_empty())
        .map(|seg| {
            let (k, v) = seg.split_once('=').unwrap_or((seg, ""));
            (
                String::from_utf8_lossy(&percent_decode(k)).into_owned(),
                String::from_utf8_lossy(&percent_decode(v)).into_owned(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn algorithm_names_and_salts() {
        assert_eq!(Algorithm::V2.as_str(), "AMZN-PAY-RSASSA-PSS-V2");
        assert_eq!(Algorithm::Legacy.as_str(), "AMZN-PAY-RSASSA-PSS");
        assert_eq!(Algorithm::V2.salt_len(), 32);
        assert_eq!(Algorithm::Legacy.salt_len(), 20);
        for a in Algorithm::ALL {
            assert_eq!(Algorithm::parse(a.as_str()), Some(a));
        }
        assert_eq!(Algorithm::parse("amzn-pay-rsassa-pss-v2"), None);
        assert_eq!(Algorithm::parse("AMZN-PAY-RSASSA-PSS-V3"), None);
    }

    #[test]
    fn empty_body_hash() {
        assert_eq!(sha256_hex(b""), EMPTY_SHA256);
    }

    /// The JP vector of the reference (§2.3), derived with the SDK algorithm.
    #[test]
    fn jp_checkout_session_vector() {
        let body = r#"{"webCheckoutDetails":{"checkoutReviewReturnUrl":"https://example.jp/review"},"storeId":"amzn1.application-oa2-client.test"}"#;
        assert_eq!(
            sha256_hex(body.as_bytes()),
            "94e1bb2688b583b8c81fef60ff159e1741c2de524be4d9c4fb70afb3df419544"
        );
        // Deliberately shuffled and mixed-case: canonicalisation must sort and lowercase.
        let headers = pairs(&[
            ("X-Amz-Pay-Region", "jp"),
            ("Accept", "application/json"),
            ("x-amz-pay-idempotency-key", "abc123"),
            ("Content-Type", " application/json "),
            ("X-Amz-Pay-Host", "pay-api.amazon.jp"),
            ("X-Amz-Pay-Date", "20240101T000000Z"),
        ]);
        let canonical = canonical_request(
            "POST",
            "/sandbox/v2/checkoutSessions",
            &[],
            &headers,
            body.as_bytes(),
        );
        assert_eq!(
            canonical,
            "POST\n/sandbox/v2/checkoutSessions\n\n\
             accept:application/json\n\
             content-type:application/json\n\
             x-amz-pay-date:20240101T000000Z\n\
             x-amz-pay-host:pay-api.amazon.jp\n\
             x-amz-pay-idempotency-key:abc123\n\
             x-amz-pay-region:jp\n\n\
             accept;content-type;x-amz-pay-date;x-amz-pay-host;x-amz-pay-idempotency-key;x-amz-pay-region\n\
             94e1bb2688b583b8c81fef60ff159e1741c2de524be4d9c4fb70afb3df419544"
        );
        let hash = "398e57583570ec0d968d4b2e90dbed43f1cf0fbd4544d4f3a3cdc0f3c6c5382b";
        assert_eq!(
            string_to_sign(Algorithm::V2, &canonical),
            format!("AMZN-PAY-RSASSA-PSS-V2\n{hash}")
        );
        assert_eq!(
            string_to_sign(Algorithm::Legacy, &canonical),
            format!("AMZN-PAY-RSASSA-PSS\n{hash}")
        );
    }

    #[test]
    fn get_without_body_or_query() {
        let headers = pairs(&[("x-amz-pay-date", "20180524T223710Z")]);
        let c = canonical_request("get", "", &[], &headers, b"");
        assert_eq!(
            c,
            format!("GET\n/\n\nx-amz-pay-date:20180524T223710Z\n\nx-amz-pay-date\n{EMPTY_SHA256}")
        );
    }

    #[test]
    fn canonical_query_sorting_duplicates_spaces_utf8() {
        // Sorted by key bytewise: "A.1" < "A.10" < "A.2".
        assert_eq!(
            canonical_query(&pairs(&[("A.2", "x"), ("A.10", "y"), ("A.1", "z")])),
            "A.1=z&A.10=y&A.2=x"
        );
        // Duplicate keys: sorted by value.
        assert_eq!(
            canonical_query(&pairs(&[("foo", "b"), ("foo", "a")])),
            "foo=a&foo=b"
        );
        // Spaces are %20, never '+'; '~' stays; reserved characters are encoded.
        assert_eq!(
            canonical_query(&pairs(&[("f oo", "b ar"), ("t~", "a/b+c=d&e")])),
            "f%20oo=b%20ar&t~=a%2Fb%2Bc%3Dd%26e"
        );
        // UTF-8 bytes, uppercase hex.
        assert_eq!(
            canonical_query(&pairs(&[("ሴ", "円")])),
            "%E1%88%B4=%E5%86%86"
        );
        assert_eq!(canonical_query(&[]), "");
        // Key with empty value keeps its '='.
        assert_eq!(canonical_query(&pairs(&[("b", ""), ("a", "1")])), "a=1&b=");
    }

    #[test]
    fn canonical_request_with_query_line() {
        let q = parse_query("foo=b&foo=a&bar=x%20y");
        let c = canonical_request("GET", "/", &q, &pairs(&[("x-amz-pay-date", "d")]), b"");
        assert!(c.starts_with("GET\n/\nbar=x%20y&foo=a&foo=b\nx-amz-pay-date:d\n\n"));
    }

    #[test]
    fn canonical_uri_encoding() {
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(
            canonical_uri("/sandbox/v2/charges/S03-1-C1"),
            "/sandbox/v2/charges/S03-1-C1"
        );
        // Raw and already-encoded forms agree.
        assert_eq!(canonical_uri("/a b/ü"), "/a%20b/%C3%BC");
        assert_eq!(canonical_uri("/a%20b/%c3%bc"), "/a%20b/%C3%BC");
        // Unreserved escapes are normalised away.
        assert_eq!(canonical_uri("/%41~"), "/A~");
        // A stray '%' is itself encoded.
        assert_eq!(canonical_uri("/100%"), "/100%25");
    }

    #[test]
    fn pipe_in_a_path_raw_or_encoded_has_one_canonical_uri() {
        // What an HTTP library does to `|` (Node's url.parse escapes it, reqwest keeps it) does
        // not change the canonical URI: RFC 3986 encodes it, uppercase hex.
        assert_eq!(canonical_uri("/v2/charges/a|b"), "/v2/charges/a%7Cb");
        assert_eq!(canonical_uri("/v2/charges/a%7Cb"), "/v2/charges/a%7Cb");
        assert_eq!(canonical_uri("/v2/charges/a%7cb"), "/v2/charges/a%7Cb");
        assert_eq!(
            percent_decode_path("/v2/charges/a%7Cb").as_deref(),
            Some("/v2/charges/a|b")
        );
        assert_eq!(
            percent_decode_path("/a%20b/%C3%BC").as_deref(),
            Some("/a b/ü")
        );
        assert_eq!(percent_decode_path("/100%").as_deref(), Some("/100%"));
        assert_eq!(percent_decode_path("/a+b").as_deref(), Some("/a+b"));
        assert_eq!(percent_decode_path("/%FF"), None);
    }

    #[test]
    fn canonical_request_with_uri_is_canonical_request_with_the_line_given() {
        let h = pairs(&[("x-amz-pay-date", "d"), ("accept", "application/json")]);
        let q = parse_query("b=2&a=1");
        for path in [
            "",
            "/sandbox/v2/checkoutSessions",
            "/v2/charges/a|b",
            "/a%20b/ü",
        ] {
            assert_eq!(
                canonical_request("POST", path, &q, &h, b"{}"),
                canonical_request_with_uri("POST", &canonical_uri(path), &q, &h, b"{}"),
                "{path}"
            );
        }
        let c = canonical_request_with_uri("get", "/v2/charges/a|b", &[], &h, b"");
        assert!(
            c.starts_with("GET\n/v2/charges/a|b\n\naccept:application/json\n"),
            "{c}"
        );
    }

    #[test]
    fn header_values_trimmed_and_names_deduplicated() {
        let h = pairs(&[("B", " 2 "), ("a", "1"), ("b", "3")]);
        assert_eq!(signed_header_names(&h), "a;b");
        let c = canonical_request("POST", "/", &[], &h, b"");
        assert!(c.contains("\na:1\nb:2\nb:3\n\na;b\n"), "{c}");
    }

    #[test]
    fn authorization_header_format_and_parse() {
        let h = AuthorizationHeader {
            algorithm: Algorithm::V2,
            public_key_id: "SANDBOX-AHXXXX".into(),
            signed_headers: vec!["accept".into(), "x-amz-pay-date".into()],
            signature_b64: "AAEC/w==".into(),
        };
        let v = h.to_header_value();
        assert_eq!(
            v,
            "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=SANDBOX-AHXXXX, SignedHeaders=accept;x-amz-pay-date, Signature=AAEC/w=="
        );
        assert_eq!(AuthorizationHeader::parse(&v), Ok(h.clone()));
        // Other order and no spaces after commas.
        let v2 = "AMZN-PAY-RSASSA-PSS-V2 Signature=AAEC/w==,SignedHeaders=accept;x-amz-pay-date,PublicKeyId=SANDBOX-AHXXXX";
        assert_eq!(AuthorizationHeader::parse(v2), Ok(h));
    }

    #[test]
    fn authorization_header_rejections() {
        let ok = "AMZN-PAY-RSASSA-PSS PublicKeyId=K, SignedHeaders=a, Signature=AA==";
        assert_eq!(
            AuthorizationHeader::parse(ok).map(|h| h.algorithm),
            Ok(Algorithm::Legacy)
        );
        let cases: &[(&str, SigningError)] = &[
            ("", SigningError::Malformed("empty".into())),
            (
                "AMZN-PAY-RSASSA-PSS-V2",
                SigningError::Malformed("no parameters after the algorithm".into()),
            ),
            (
                "HMAC PublicKeyId=K, SignedHeaders=a, Signature=AA==",
                SigningError::UnknownAlgorithm("HMAC".into()),
            ),
            (
                "AMZN-PAY-RSASSA-PSS-V2 SignedHeaders=a, Signature=AA==",
                SigningError::MissingField("PublicKeyId"),
            ),
            (
                "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, Signature=AA==",
                SigningError::MissingField("SignedHeaders"),
            ),
            (
                "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, SignedHeaders=a, Signature=",
                SigningError::MissingField("Signature"),
            ),
            (
                "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, PublicKeyId=L, SignedHeaders=a, Signature=AA==",
                SigningError::DuplicateField("PublicKeyId".into()),
            ),
            (
                "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, SignedHeaders=a, Signature=AA==, Foo=1",
                SigningError::UnknownField("Foo".into()),
            ),
            (
                "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, SignedHeaders=a;;b, Signature=AA==",
                SigningError::InvalidSignedHeaders("a;;b".into()),
            ),
            (
                "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, SignedHeaders=Accept, Signature=AA==",
                SigningError::InvalidSignedHeaders("Accept".into()),
            ),
            (
                "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId=K, SignedHeaders=a, Signature=AA-_",
                SigningError::InvalidSignatureEncoding,
            ),
        ];
        for (input, err) in cases {
            assert_eq!(
                AuthorizationHeader::parse(input).as_ref(),
                Err(err),
                "{input}"
            );
            assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn amz_dates() {
        assert_eq!(amz_date(UnixMillis(0)), "19700101T000000Z");
        // 2024-01-01T00:00:00Z = 1704067200 s.
        let t = UnixMillis(1_704_067_200_000);
        assert_eq!(amz_date(t), "20240101T000000Z");
        assert_eq!(amz_date(UnixMillis(1_704_067_200_999)), "20240101T000000Z");
        assert_eq!(parse_amz_date("20240101T000000Z"), Some(t));
        assert_eq!(parse_amz_date("2024-01-01T00:00:00Z"), Some(t));
        // 2018-05-24T22:37:10Z (the Java SDK vectors' date).
        assert_eq!(
            parse_amz_date("20180524T223710Z"),
            Some(UnixMillis(1_527_201_430_000))
        );
        for bad in [
            "",
            "20240101T000000",
            "20240101 000000Z",
            "20241301T000000Z",
            "20240230T000000Z",
            "20240101T240000Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:00+09:00",
            "２０２40101T000000Z",
            "2024010aT000000Z",
            // 16 bytes with 'T' at byte 8 and 'Z' at byte 15, but not digits.
            "2024円0T000000Z",
        ] {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn base64_variants() {
        assert_eq!(base64_encode(&[0xfb, 0xff]), "+/8=");
        assert_eq!(base64_decode("+/8="), Some(vec![0xfb, 0xff]));
        assert_eq!(base64_decode("+/8"), None);
        assert_eq!(base64_decode("-_8="), None);
        assert_eq!(base64url_encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64url_decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(base64url_decode("-_8="), None);
    }

    #[test]
    fn query_parsing() {
        assert_eq!(
            parse_query("payment=pay_1&amazonCheckoutSessionId=a%2Db&x&&y=1+2&z=%E5%86%86&bad=%G1"),
            pairs(&[
                ("payment", "pay_1"),
                ("amazonCheckoutSessionId", "a-b"),
                ("x", ""),
                ("y", "1+2"),
                ("z", "円"),
                ("bad", "%G1"),
            ])
        );
        assert_eq!(parse_query(""), vec![]);
    }

    fn header_strategy() -> impl Strategy<Value = AuthorizationHeader> {
        (
            prop::sample::select(Algorithm::ALL.to_vec()),
            "[A-Za-z0-9-]{1,40}",
            prop::collection::vec("[a-z][a-z0-9-]{0,20}", 1..8),
            prop::collection::vec(any::<u8>(), 1..300),
        )
            .prop_map(|(algorithm, id, headers, sig)| AuthorizationHeader {
                algorithm,
                public_key_id: id,
                signed_headers: headers,
                signature_b64: base64_encode(&sig),
            })
    }

    proptest! {
        #[test]
        fn authorization_header_round_trip(h in header_strategy()) {
            prop_assert_eq!(AuthorizationHeader::parse(&h.to_header_value()), Ok(h));
        }

        #[test]
        fn canonical_query_independent_of_order(
            mut q in prop::collection::vec(("\\PC{0,8}", "\\PC{0,8}"), 0..10),
            seed in any::<u64>(),
        ) {
            let before = canonical_query(&q);
            // Deterministic shuffle driven by the seed.
            let mut s = seed;
            for i in (1..q.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                q.swap(i, (s >> 33) as usize % (i + 1));
            }
            prop_assert_eq!(canonical_query(&q), before);
        }

        #[test]
        fn canonical_query_parses_back(q in prop::collection::vec(("\\PC{1,8}", "\\PC{0,8}"), 0..10)) {
            let mut sorted = q.clone();
            sorted.sort_by_key(|(k, v)| (uri_encode(k), uri_encode(v)));
            prop_assert_eq!(parse_query(&canonical_query(&q)), sorted);
        }

        #[test]
        fn canonical_headers_independent_of_order_and_case(
            h in prop::collection::btree_map("[a-z][a-z0-9-]{0,12}", "[ -~]{0,20}", 1..8),
            seed in any::<u64>(),
        ) {
            let base: Vec<(String, String)> = h.into_iter().collect();
            let mut shuffled: Vec<(String, String)> =
                base.iter().map(|(k, v)| (k.to_ascii_uppercase(), format!("  {v}\t"))).collect();
            if !shuffled.is_empty() {
                let n = shuffled.len();
                shuffled.rotate_left((seed as usize) % n);
            }
            prop_assert_eq!(
                canonical_request("PATCH", "/x", &[], &base, b"{}"),
                canonical_request("PATCH", "/x", &[], &shuffled, b"{}")
            );
        }

        #[test]
        fn amz_date_round_trip(secs in 0i64..4_102_444_800) {
            let t = UnixMillis(secs * 1000);
            let s = amz_date(t);
            prop_assert_eq!(parse_amz_date(&s), Some(t));
            let dashed = format!("{}-{}-{}T{}:{}:{}Z", &s[0..4], &s[4..6], &s[6..8], &s[9..11], &s[11..13], &s[13..15]);
            prop_assert_eq!(parse_amz_date(&dashed), Some(t));
        }

        #[test]
        fn canonical_uri_idempotent(p in "/[\\PC]{0,20}") {
            let once = canonical_uri(&p);
            prop_assert_eq!(canonical_uri(&once), once.clone());
        }

        #[test]
        fn readers_never_panic(s in "\\PC{0,24}", raw in prop::collection::vec(any::<u8>(), 0..24)) {
            let _ = parse_amz_date(&s);
            let _ = AuthorizationHeader::parse(&s);
            let _ = parse_query(&s);
            let _ = canonical_uri(&s);
            let _ = base64_decode(&s);
            // Any 16- or 20-byte string, multi-byte characters included, at every position.
            let lossy = String::from_utf8_lossy(&raw);
            let _ = parse_amz_date(&lossy);
            let _ = parse_amz_date(&format!("2024010{s}"));
        }

        #[test]
        fn base64_round_trip(data in prop::collection::vec(any::<u8>(), 0..100)) {
            prop_assert_eq!(base64_decode(&base64_encode(&data)), Some(data.clone()));
            prop_assert_eq!(base64url_decode(&base64url_encode(&data)), Some(data));
        }
    }
}
