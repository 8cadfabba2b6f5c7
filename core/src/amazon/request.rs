//! Building Amazon Pay CV2 API requests: path, headers, body and the string to sign.
//!
//! The caller (the edge) signs [`UnsignedRequest::string_to_sign`] with RSASSA-PSS through
//! WebCrypto and calls [`UnsignedRequest::signed`]; the sandbox rebuilds the same string from the
//! received request with [`crate::amazon::signing`].

use super::signing::{self, Algorithm, AuthorizationHeader};
use crate::jst::UnixMillis;

/// The path segment of the environment: `/{sandbox|live}/v2/…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    Sandbox,
    Live,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Live => "live",
        }
    }
    pub fn parse(s: &str) -> Option<Environment> {
        match s {
            "sandbox" => Some(Environment::Sandbox),
            "live" => Some(Environment::Live),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    Get,
    Post,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }
    pub fn parse(s: &str) -> Option<HttpMethod> {
        match s {
            "GET" => Some(HttpMethod::Get),
            "POST" => Some(HttpMethod::Post),
            "PATCH" => Some(HttpMethod::Patch),
            "DELETE" => Some(HttpMethod::Delete),
            _ => None,
        }
    }
}

/// Everything that decides where a request goes and how it is signed (one object, so host, path
/// environment and key cannot drift apart: the reference's most common signature failure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// `https://pay-api.amazon.jp` or the sandbox's `http://127.0.0.1:8791`, no trailing slash.
    pub base_url: String,
    pub environment: Environment,
    /// `x-amz-pay-region` value: `jp`.
    pub region: String,
    pub public_key_id: String,
}

impl ApiConfig {
    /// `host[:port]` of `base_url`: the `x-amz-pay-host` value.
    pub fn host(&self) -> &str {
        url_host(&self.base_url)
    }
}

/// `host[:port]` of an absolute URL (scheme and path stripped).
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

/// A request ready to be signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedRequest {
    pub method: HttpMethod,
    /// `base_url` + `path`.
    pub url: String,
    /// `/{env}/v2/{resource}`.
    pub path: String,
    /// Lowercase names, sorted; all of them are signed.
    pub headers: Vec<(String, String)>,
    /// Empty for GET and for APIs without a body.
    pub body: String,
    /// `accept;content-type;…`
    pub signed_headers: String,
    /// `AMZN-PAY-RSASSA-PSS-V2\n<hex>`: sign these UTF-8 bytes.
    pub string_to_sign: String,
    pub public_key_id: String,
}

impl UnsignedRequest {
    /// Adds the `authorization` header built from a standard-base64 RSA-PSS (salt 32) signature
    /// of [`UnsignedRequest::string_to_sign`].
    pub fn signed(self, signature_b64: &str) -> SignedRequest {
        let authorization = AuthorizationHeader {
            algorithm: Algorithm::V2,
            public_key_id: self.public_key_id,
            signed_headers: self.signed_headers.split(';').map(str::to_string).collect(),
            signature_b64: signature_b64.to_string(),
        };
        let mut headers = self.headers;
        headers.push(("authorization".to_string(), authorization.to_header_value()));
        SignedRequest {
            method: self.method,
            url: self.url,
            headers,
            body: self.body,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub method: HttpMethod,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// Idempotency keys: 1..=32 characters of `[A-Za-z0-9_-]` (Amazon's rule).
pub fn idempotency_key_ok(key: &str) -> bool {
    (1..=32).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Builds an API request. `resource` is e.g. `checkoutSessions/abc` (no leading slash; ids
/// already percent-encoded, as [`api`] does). Headers (all signed): `accept` and `content-type`
/// `application/json`, `x-amz-pay-date`, `x-amz-pay-host`, `x-amz-pay-region`, and
/// `x-amz-pay-idempotency-key` when given on a POST (Amazon ignores it elsewhere, so it is not sent).
/// Validating the key is the caller's job ([`idempotency_key_ok`]).
pub fn build(
    cfg: &ApiConfig,
    method: HttpMethod,
    resource: &str,
    body: Option<String>,
    idempotency_key: Option<&str>,
    now: UnixMillis,
) -> UnsignedRequest {
    let resource = resource.trim_start_matches('/');
    let path = format!("/{}/v2/{}", cfg.environment.as_str(), resource);
    let url = format!("{}{}", cfg.base_url.trim_end_matches('/'), path);
    let mut headers: Vec<(String, String)> = vec![
        ("accept".into(), "application/json".into()),
        ("content-type".into(), "application/json".into()),
        ("x-amz-pay-date".into(), signing::amz_date(now)),
        ("x-amz-pay-host".into(), cfg.host().to_string()),
        ("x-amz-pay-region".into(), cfg.region.clone()),
    ];
    if let (HttpMethod::Post, Some(key)) = (method, idempotency_key) {
        headers.push(("x-amz-pay-idempotency-key".into(), key.to_string()));
    }
    headers.sort();
    let body = body.unwrap_or_default();
    // The path carries no query in any CV2 API kessai uses.
    let canonical =
        signing::canonical_request(method.as_str(), &path, &[], &headers, body.as_bytes());
    UnsignedRequest {
        method,
        url,
        signed_headers: signing::signed_header_names(&headers),
        string_to_sign: signing::string_to_sign(Algorithm::V2, &canonical),
        path,
        headers,
        body,
        public_key_id: cfg.public_key_id.clone(),
    }
}

/// One function per CV2 API: (method, resource). Ids are percent-encoded.
pub mod api {
    use super::HttpMethod;
    use crate::amazon::signing::uri_encode;

    fn res(kind: &str, id: &str) -> String {
        format!("{kind}/{}", uri_encode(id))
    }

    pub fn create_checkout_session() -> (HttpMethod, String) {
        (HttpMethod::Post, "checkoutSessions".into())
    }
    pub fn get_checkout_session(id: &str) -> (HttpMethod, String) {
        (HttpMethod::Get, res("checkoutSessions", id))
    }
    pub fn update_checkout_session(id: &str) -> (HttpMethod, String) {
        (HttpMethod::Patch, res("checkoutSessions", id))
    }
    pub fn complete_checkout_session(id: &str) -> (HttpMethod, String) {
        (
            HttpMethod::Post,
            format!("{}/complete", res("checkoutSessions", id)),
        )
    }
    pub fn get_charge_permission(id: &str) -> (HttpMethod, String) {
        (HttpMethod::Get, res("chargePermissions", id))
    }
    pub fn update_charge_permission(id: &str) -> (HttpMethod, String) {
        (HttpMethod::Patch, res("chargePermissions", id))
    }
    /// DELETE with a JSON body (`closureReason`, `cancelPendingCharges`).
    pub fn close_charge_permission(id: &str) -> (HttpMethod, String) {
        (
            HttpMethod::Delete,
            format!("{}/close", res("chargePermissions", id)),
        )
    }
    pub fn create_charge() -> (HttpMethod, String) {
        (HttpMethod::Post, "charges".into())
    }
    pub fn get_charge(id: &str) -> (HttpMethod, String) {
        (HttpMethod::Get, res("charges", id))
    }
    pub fn capture_charge(id: &str) -> (HttpMethod, String) {
        (HttpMethod::Post, format!("{}/capture", res("charges", id)))
    }
    /// DELETE with a JSON body (`cancellationReason`).
    pub fn cancel_charge(id: &str) -> (HttpMethod, String) {
        (HttpMethod::Delete, format!("{}/cancel", res("charges", id)))
    }
    pub fn create_refund() -> (HttpMethod, String) {
        (HttpMethod::Post, "refunds".into())
    }
    pub fn get_refund(id: &str) -> (HttpMethod, String) {
        (HttpMethod::Get, res("refunds", id))
    }
    pub fn get_buyer(token: &str) -> (HttpMethod, String) {
        (HttpMethod::Get, res("buyers", token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::signing::{canonical_request, parse_amz_date, string_to_sign};
    use proptest::prelude::*;

    fn cfg(base: &str, env: Environment) -> ApiConfig {
        ApiConfig {
            base_url: base.into(),
            environment: env,
            region: "jp".into(),
            public_key_id: "SANDBOX-AEXAMPLE".into(),
        }
    }

    const T: UnixMillis = UnixMillis(1_704_067_200_000); // 2024-01-01T00:00:00Z

    #[test]
    fn hosts() {
        assert_eq!(url_host("https://pay-api.amazon.jp"), "pay-api.amazon.jp");
        assert_eq!(url_host("http://127.0.0.1:8791"), "127.0.0.1:8791");
        assert_eq!(url_host("http://127.0.0.1:8791/x?y"), "127.0.0.1:8791");
    }

    /// The request the reference's JP vector describes, built by `build`.
    #[test]
    fn reproduces_the_jp_vector() {
        let body = r#"{"webCheckoutDetails":{"checkoutReviewReturnUrl":"https://example.jp/review"},"storeId":"amzn1.application-oa2-client.test"}"#;
        let (m, r) = api::create_checkout_session();
        let req = build(
            &cfg("https://pay-api.amazon.jp", Environment::Sandbox),
            m,
            &r,
            Some(body.into()),
            Some("abc123"),
            T,
        );
        assert_eq!(
            req.url,
            "https://pay-api.amazon.jp/sandbox/v2/checkoutSessions"
        );
        assert_eq!(req.path, "/sandbox/v2/checkoutSessions");
        assert_eq!(
            req.string_to_sign,
            "AMZN-PAY-RSASSA-PSS-V2\n398e57583570ec0d968d4b2e90dbed43f1cf0fbd4544d4f3a3cdc0f3c6c5382b"
        );
        assert_eq!(
            req.signed_headers,
            "accept;content-type;x-amz-pay-date;x-amz-pay-host;x-amz-pay-idempotency-key;x-amz-pay-region"
        );
    }

    #[test]
    fn get_has_no_idempotency_key_and_local_host_keeps_port() {
        let (m, r) = api::get_checkout_session("a b/c");
        assert_eq!(r, "checkoutSessions/a%20b%2Fc");
        let req = build(
            &cfg("http://127.0.0.1:8791", Environment::Live),
            m,
            &r,
            None,
            Some("ignored"),
            T,
        );
        assert_eq!(req.method, HttpMethod::Get);
        assert_eq!(req.path, "/live/v2/checkoutSessions/a%20b%2Fc");
        assert_eq!(
            req.url,
            "http://127.0.0.1:8791/live/v2/checkoutSessions/a%20b%2Fc"
        );
        assert_eq!(req.body, "");
        assert_eq!(
            req.headers,
            vec![
                ("accept".to_string(), "application/json".to_string()),
                ("content-type".into(), "application/json".into()),
                ("x-amz-pay-date".into(), "20240101T000000Z".into()),
                ("x-amz-pay-host".into(), "127.0.0.1:8791".into()),
                ("x-amz-pay-region".into(), "jp".into()),
            ]
        );
        assert_eq!(
            req.signed_headers,
            "accept;content-type;x-amz-pay-date;x-amz-pay-host;x-amz-pay-region"
        );
        let canonical = canonical_request("GET", &req.path, &[], &req.headers, b"");
        assert_eq!(
            req.string_to_sign,
            string_to_sign(Algorithm::V2, &canonical)
        );
    }

    #[test]
    fn signed_adds_a_parsable_authorization() {
        let (m, r) = api::capture_charge("S03-1234567-1234567-C000001");
        let req = build(
            &cfg("https://pay-api.amazon.jp", Environment::Sandbox),
            m,
            &r,
            Some(r#"{"captureAmount":{"amount":"500","currencyCode":"JPY"}}"#.into()),
            Some("key_1"),
            T,
        );
        let signed_names = req.signed_headers.clone();
        let headers_before = req.headers.clone();
        let s = req.signed("c2ln");
        assert_eq!(s.method, HttpMethod::Post);
        assert_eq!(
            s.url,
            "https://pay-api.amazon.jp/sandbox/v2/charges/S03-1234567-1234567-C000001/capture"
        );
        assert_eq!(&s.headers[..headers_before.len()], &headers_before[..]);
        let (name, value) = s.headers.last().unwrap();
        assert_eq!(name, "authorization");
        let auth = AuthorizationHeader::parse(value).unwrap();
        assert_eq!(auth.algorithm, Algorithm::V2);
        assert_eq!(auth.public_key_id, "SANDBOX-AEXAMPLE");
        assert_eq!(auth.signed_headers.join(";"), signed_names);
        assert!(signed_names.contains("x-amz-pay-idempotency-key"));
        assert_eq!(auth.signature_b64, "c2ln");
    }

    #[test]
    fn api_table() {
        use HttpMethod::*;
        let cases = [
            (api::create_checkout_session(), Post, "checkoutSessions"),
            (api::get_checkout_session("1"), Get, "checkoutSessions/1"),
            (
                api::update_checkout_session("1"),
                Patch,
                "checkoutSessions/1",
            ),
            (
                api::complete_checkout_session("1"),
                Post,
                "checkoutSessions/1/complete",
            ),
            (api::get_charge_permission("P"), Get, "chargePermissions/P"),
            (
                api::update_charge_permission("P"),
                Patch,
                "chargePermissions/P",
            ),
            (
                api::close_charge_permission("P"),
                Delete,
                "chargePermissions/P/close",
            ),
            (api::create_charge(), Post, "charges"),
            (api::get_charge("C"), Get, "charges/C"),
            (api::capture_charge("C"), Post, "charges/C/capture"),
            (api::cancel_charge("C"), Delete, "charges/C/cancel"),
            (api::create_refund(), Post, "refunds"),
            (api::get_refund("R"), Get, "refunds/R"),
            (api::get_buyer("t.k+n=="), Get, "buyers/t.k%2Bn%3D%3D"),
        ];
        for ((m, r), em, er) in cases {
            assert_eq!((m, r.as_str()), (em, er));
        }
    }

    #[test]
    fn idempotency_keys() {
        assert!(idempotency_key_ok("a"));
        assert!(idempotency_key_ok("0123456789abcdef0123456789ABCDEF"));
        assert!(idempotency_key_ok("pay_1-x"));
        assert!(!idempotency_key_ok(""));
        assert!(!idempotency_key_ok("0123456789abcdef0123456789ABCDEF0"));
        assert!(!idempotency_key_ok("a.b"));
        assert!(!idempotency_key_ok("a b"));
        assert!(!idempotency_key_ok("ключ"));
    }

    #[test]
    fn names_parse_back() {
        for m in [
            HttpMethod::Get,
            HttpMethod::Post,
            HttpMethod::Patch,
            HttpMethod::Delete,
        ] {
            assert_eq!(HttpMethod::parse(m.as_str()), Some(m));
        }
        for e in [Environment::Sandbox, Environment::Live] {
            assert_eq!(Environment::parse(e.as_str()), Some(e));
        }
        assert_eq!(HttpMethod::parse("get"), None);
    }

    proptest! {
        /// Any change to what is signed changes the string to sign, so a signature made for one
        /// request cannot be replayed for another (tampered path, body, date, host, region, key).
        #[test]
        fn tampering_changes_the_string_to_sign(
            id in "[A-Za-z0-9-]{1,20}",
            body in "\\PC{0,40}",
            secs in 0i64..4_102_444_800,
            which in 0usize..6,
        ) {
            let c = cfg("https://pay-api.amazon.jp", Environment::Sandbox);
            let (m, r) = api::capture_charge(&id);
            let t = UnixMillis(secs * 1000);
            let base = build(&c, m, &r, Some(body.clone()), Some("k1"), t);
            let other = match which {
                0 => build(&c, m, &format!("{r}x"), Some(body.clone()), Some("k1"), t),
                1 => build(&c, m, &r, Some(format!("{body} ")), Some("k1"), t),
                2 => build(&c, m, &r, Some(body.clone()), Some("k1"), UnixMillis(t.0 + 1000)),
                3 => build(&ApiConfig { base_url: "https://pay-api.amazon.eu".into(), ..c.clone() }, m, &r, Some(body.clone()), Some("k1"), t),
                4 => build(&ApiConfig { region: "eu".into(), ..c.clone() }, m, &r, Some(body.clone()), Some("k1"), t),
                _ => build(&c, m, &r, Some(body.clone()), Some("k2"), t),
            };
            prop_assert_ne!(base.string_to_sign, other.string_to_sign);
        }

        /// What the sandbox does with a received request: rebuild the canonical request from the
        /// signed header list, the raw path and the body, and compare strings to sign.
        #[test]
        fn verifier_side_rebuild_matches(
            id in "\\PC{1,20}",
            body in proptest::option::of("\\PC{0,60}"),
            key in proptest::option::of("[A-Za-z0-9_-]{1,32}"),
            secs in 0i64..4_102_444_800,
            method_ix in 0usize..4,
        ) {
            let method = [HttpMethod::Get, HttpMethod::Post, HttpMethod::Patch, HttpMethod::Delete][method_ix];
            let resource = format!("charges/{}", signing::uri_encode(&id));
            let req = build(&cfg("http://127.0.0.1:8791", Environment::Sandbox), method, &resource, body, key.as_deref(), UnixMillis(secs * 1000));
            prop_assert_eq!(parse_amz_date(&req.headers[2].1), Some(UnixMillis(secs * 1000)));
            prop_assert_eq!(
                req.headers.iter().any(|(n, _)| n == "x-amz-pay-idempotency-key"),
                method == HttpMethod::Post && key.is_some()
            );
            let signed = req.clone().signed("AA==");
            let auth = AuthorizationHeader::parse(&signed.headers.last().unwrap().1).unwrap();
            let path = signed.url.strip_prefix("http://127.0.0.1:8791").unwrap();
            let chosen: Vec<(String, String)> = signed.headers.iter()
                .filter(|(n, _)| auth.signed_headers.contains(n))
                .cloned()
                .collect();
            let canonical = canonical_request(signed.method.as_str(), path, &[], &chosen, signed.body.as_bytes());
            prop_assert_eq!(string_to_sign(auth.algorithm, &canonical), req.string_to_sign);
        }
    }
}
