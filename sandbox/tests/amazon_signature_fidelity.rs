//! Sandbox fidelity of request signatures (#16): the path forms a signature may cover (`|` as
//! written, `%7C` as an HTTP library sends it, the canonical RFC 3986 form) and the
//! `x-amz-pay-host` values accepted behind a proxy. A wrong signature stays
//! `403 InvalidRequestSignature` whatever the path form.

mod amazon_support;

use amazon_support::*;
use kessai_core::amazon::request::{ApiConfig, HttpMethod};
use kessai_core::amazon::signing::{self, Algorithm};
use kessai_sandbox::amazon::MerchantKey;
use serde_json::json;

/// A GET of `/sandbox/v2/{resource}` for `api` (its host is the signed `x-amz-pay-host`),
/// signed V2 over `uri_line` taken verbatim as the canonical request's URI line, and the URL to
/// send it to: the sandbox's address with `sent_path`.
fn signed_over(
    sb: &Sb,
    api: &ApiConfig,
    uri_line: &str,
    sent_path: &str,
    key: &MerchantKey,
) -> (String, Vec<(String, String)>) {
    let unsigned = sb.unsigned_for(api, HttpMethod::Get, "charges/x", None, None);
    let canonical =
        signing::canonical_request_with_uri("GET", uri_line, &[], &unsigned.headers, b"");
    let sts = signing::string_to_sign(Algorithm::V2, &canonical);
    let sig = pss_sign(&key.private_pkcs8_pem, 32, &sts);
    let mut headers = unsigned.headers.clone();
    headers.push((
        "authorization".into(),
        format!(
            "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId={}, SignedHeaders={}, Signature={sig}",
            api.public_key_id, unsigned.signed_headers
        ),
    ));
    (sb.url(sent_path), headers)
}

async fn get(sb: &Sb, url: &str, headers: &[(String, String)]) -> (u16, String, String) {
    let a = sb.send_parts("GET", url, headers, b"").await;
    let msg = a.json["message"].as_str().unwrap_or_default().to_string();
    (a.status, reason(&a).to_string(), msg)
}

/// Authenticated (the charge does not exist: 404) or refused (403).
const PASSED: (u16, &str) = (404, "ResourceNotFound");
const REFUSED: (u16, &str) = (403, "InvalidRequestSignature");

const WRITTEN: &str = "/sandbox/v2/charges/S03-1|2";
const ENCODED: &str = "/sandbox/v2/charges/S03-1%7C2";

#[tokio::test]
async fn a_pipe_signed_as_written_or_encoded_verifies_either_way_on_the_wire() {
    let sb = Sb::start().await;
    let key = merchant_key();
    // (what the client signed as the URI line, what its HTTP library sent)
    let cases = [
        // Signed over the path as written (`|`, the Node SDK), sent encoded (Node's url.parse)
        // or as written.
        (WRITTEN, ENCODED),
        (WRITTEN, WRITTEN),
        // Signed over the canonical form (`%7C`: the edge, PHP, Java, .NET), sent either way.
        (ENCODED, ENCODED),
        (ENCODED, WRITTEN),
        // Signed over exactly the bytes sent, lowercase hex included.
        (
            "/sandbox/v2/charges/S03-1%7c2",
            "/sandbox/v2/charges/S03-1%7c2",
        ),
    ];
    for (signed, sent) in cases {
        let (url, headers) = signed_over(&sb, &sb.api, signed, sent, key);
        let (status, reason, msg) = get(&sb, &url, &headers).await;
        assert_eq!(
            (status, reason.as_str()),
            PASSED,
            "signed {signed}, sent {sent}: {msg}"
        );
    }
    // Core's canonical request over the path as written is the `%7C` form.
    assert_eq!(signing::canonical_uri(WRITTEN), ENCODED);
    // The sandbox saw the path as sent.
    let log = sb.h.requests();
    assert_eq!(log[0]["path"], ENCODED);
    assert_eq!(log[1]["path"], WRITTEN);
}

#[tokio::test]
async fn a_wrong_signature_is_refused_whatever_the_path_form() {
    let sb = Sb::start().await;
    let key = merchant_key();
    let cases = [
        // Another id, as written or canonical.
        ("/sandbox/v2/charges/S03-1|3", ENCODED),
        ("/sandbox/v2/charges/S03-1%7C3", WRITTEN),
        // A double encoding is a different path (`%257C` names a `%7C` in the id), as in AWS
        // SigV4 for non-S3 services; not a form Amazon Pay documents.
        ("/sandbox/v2/charges/S03-1%257C2", ENCODED),
        // Another separator that decodes differently.
        ("/sandbox/v2/charges/S03-1/2", ENCODED),
    ];
    for (signed, sent) in cases {
        let (url, headers) = signed_over(&sb, &sb.api, signed, sent, key);
        let (status, reason, msg) = get(&sb, &url, &headers).await;
        assert_eq!(
            (status, reason.as_str()),
            REFUSED,
            "signed {signed}, sent {sent}"
        );
        // Amazon's message, over the canonical form of what arrived.
        let unsigned = sb.unsigned_for(&sb.api, HttpMethod::Get, "charges/x", None, None);
        let expected = signing::string_to_sign(
            Algorithm::V2,
            &signing::canonical_request("GET", sent, &[], &unsigned.headers, b""),
        );
        assert_eq!(
            msg,
            format!("Unable to verify signature, signing String [{expected}]")
        );
    }
    // The right path form signed by a key that is not the registered one.
    for (signed, sent) in [(WRITTEN, ENCODED), (ENCODED, ENCODED)] {
        let (url, headers) = signed_over(&sb, &sb.api, signed, sent, other_key());
        let (status, reason, _) = get(&sb, &url, &headers).await;
        assert_eq!(
            (status, reason.as_str()),
            REFUSED,
            "foreign key, signed {signed}"
        );
    }
    // One bit of a good signature flipped.
    let (url, mut headers) = signed_over(&sb, &sb.api, WRITTEN, ENCODED, key);
    let auth = &mut headers
        .iter_mut()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .1;
    let (head, sig) = auth.rsplit_once("Signature=").unwrap();
    let mut bytes = signing::base64_decode(sig).unwrap();
    bytes[0] ^= 0x80;
    *auth = format!("{head}Signature={}", signing::base64_encode(&bytes));
    let (status, reason, _) = get(&sb, &url, &headers).await;
    assert_eq!((status, reason.as_str()), REFUSED);
}

fn api_for_host(sb: &Sb, host: &str) -> ApiConfig {
    let mut api = sb.api.clone();
    api.base_url = format!("https://{host}");
    api
}

fn with_header(
    mut headers: Vec<(String, String)>,
    name: &str,
    value: &str,
) -> Vec<(String, String)> {
    headers.push((name.into(), value.into()));
    headers
}

#[tokio::test]
async fn signed_host_behind_a_proxy() {
    let sb = Sb::start().await;
    let key = merchant_key();
    let own = sb.h.api_host();
    let port = own.rsplit_once(':').unwrap().1.to_string();
    let path = "/sandbox/v2/charges/x";
    let signed_for = |host: &str| signed_over(&sb, &api_for_host(&sb, host), path, path, key);

    // Amazon's JP host (an SDK configured for the real API, sent here through a proxy), any
    // case; the sandbox's own address and a loopback spelling of it.
    for host in [
        "pay-api.amazon.jp",
        "Pay-Api.Amazon.JP",
        own.as_str(),
        &format!("localhost:{port}"),
    ] {
        let (url, headers) = signed_for(host);
        let (status, reason, msg) = get(&sb, &url, &headers).await;
        assert_eq!((status, reason.as_str()), PASSED, "{host}: {msg}");
    }

    // The Host it was reached at: a proxy that keeps the client's Host.
    let (url, headers) = signed_for("amazon-proxy.example:8443");
    let (status, reason, _) = get(&sb, &url, &headers).await;
    assert_eq!(
        (status, reason.as_str()),
        REFUSED,
        "no proxy in front: refused"
    );
    let via_proxy = with_header(headers.clone(), "host", "amazon-proxy.example:8443");
    let (status, reason, msg) = get(&sb, &url, &via_proxy).await;
    assert_eq!((status, reason.as_str()), PASSED, "{msg}");
    // A proxy that rewrites Host and says where it was reached in X-Forwarded-Host.
    let forwarded = with_header(
        headers.clone(),
        "x-forwarded-host",
        "amazon-proxy.example:8443",
    );
    let (status, reason, msg) = get(&sb, &url, &forwarded).await;
    assert_eq!((status, reason.as_str()), PASSED, "{msg}");
    // A Host or X-Forwarded-Host other than the signed one does not help.
    for (name, value) in [
        ("host", "other-proxy.example:8443"),
        ("x-forwarded-host", "amazon-proxy.example"),
    ] {
        let (status, reason, _) = get(&sb, &url, &with_header(headers.clone(), name, value)).await;
        assert_eq!((status, reason.as_str()), REFUSED, "{name}: {value}");
    }

    // Other regions' Amazon hosts (the region signed is jp), other names: refused, and the
    // message names the host.
    for host in [
        "pay-api.amazon.com",
        "pay-api.amazon.eu",
        "pay-api.amazon.jp:443",
        "pay-api.amazon.jp.example",
        "evil.example",
        &format!("localhost:{}", port.parse::<u16>().unwrap().wrapping_add(1)),
    ] {
        let (url, headers) = signed_for(host);
        let (status, reason, msg) = get(&sb, &url, &headers).await;
        assert_eq!((status, reason.as_str()), REFUSED, "{host}");
        assert!(msg.contains(&format!("host '{host}'")), "{msg}");
    }
}

/// A request signed the way the official Node SDK (2.3.3) does, from its documented algorithm
/// and rebuilt here by hand (not with core): legacy salt-20 algorithm by default, the URI line
/// `/` + the URL fragment verbatim, `user-agent` signed, `x-amz-pay-date` as
/// `YYYY-MM-DDTHH:MM:SSZ`, `x-amz-pay-host` = `pay-api.amazon.jp`, an id with `|` that the
/// HTTP stack sends as `%7C`.
#[tokio::test]
async fn a_node_sdk_style_request_verifies() {
    let sb = Sb::start().await;
    let key = merchant_key();
    // Create a checkout session first (Node style, POST with an idempotency key).
    let body = json!({
        "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://shop.example/review"},
        "storeId": sb.h.config.store_id,
    })
    .to_string();
    let date = {
        let d = signing::amz_date(sb.now());
        format!(
            "{}-{}-{}T{}:{}:{}Z",
            &d[0..4],
            &d[4..6],
            &d[6..8],
            &d[9..11],
            &d[11..13],
            &d[13..15]
        )
    };
    let node_headers = |idem_key: Option<&str>| {
        let mut h = vec![
            ("accept", "application/json".to_string()),
            ("content-type", "application/json".to_string()),
            (
                "user-agent",
                "amazon-pay-api-sdk-nodejs/2.3.3 (JS/v20.0.0; linux)".to_string(),
            ),
            ("x-amz-pay-date", date.clone()),
            ("x-amz-pay-host", "pay-api.amazon.jp".to_string()),
            ("x-amz-pay-region", "jp".to_string()),
        ];
        if let Some(k) = idem_key {
            h.push(("x-amz-pay-idempotency-key", k.to_string()));
        }
        h.sort();
        h
    };
    let node_sign = |method: &str, fragment: &str, headers: &[(&str, String)], payload: &str| {
        let names: Vec<&str> = headers.iter().map(|(k, _)| *k).collect();
        let mut canonical = format!("{method}\n/{fragment}\n\n");
        for (k, v) in headers {
            canonical.push_str(&format!("{k}:{v}\n"));
        }
        canonical.push_str(&format!(
            "\n{}\n{}",
            names.join(";"),
            signing::sha256_hex(payload.as_bytes())
        ));
        let sts = format!(
            "AMZN-PAY-RSASSA-PSS\n{}",
            signing::sha256_hex(canonical.as_bytes())
        );
        let sig = pss_sign(&key.private_pkcs8_pem, 20, &sts);
        let mut out: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        out.push((
            "authorization".into(),
            format!(
                "AMZN-PAY-RSASSA-PSS PublicKeyId={}, SignedHeaders={}, Signature={sig}",
                sb.api.public_key_id,
                names.join(";")
            ),
        ));
        out
    };
    let idem_key = idem("node");
    let headers = node_sign(
        "POST",
        "sandbox/v2/checkoutSessions",
        &node_headers(Some(&idem_key)),
        &body,
    );
    let a = sb
        .send_parts(
            "POST",
            &sb.url("/sandbox/v2/checkoutSessions"),
            &headers,
            body.as_bytes(),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.json);
    let cs_id = a.json["checkoutSessionId"].as_str().unwrap().to_string();
    let headers = node_sign(
        "GET",
        &format!("sandbox/v2/checkoutSessions/{cs_id}"),
        &node_headers(None),
        "",
    );
    let a = sb
        .send_parts(
            "GET",
            &sb.url(&format!("/sandbox/v2/checkoutSessions/{cs_id}")),
            &headers,
            b"",
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.json);
    // An id with `|`, signed verbatim, sent as `%7C`: authenticated (then not found).
    let headers = node_sign("GET", "sandbox/v2/charges/S03-1|2", &node_headers(None), "");
    let a = sb.send_parts("GET", &sb.url(ENCODED), &headers, b"").await;
    assert_eq!((a.status, reason(&a)), PASSED, "{}", a.json);
    // The same signature over another id is refused.
    let headers = node_sign("GET", "sandbox/v2/charges/S03-1|3", &node_headers(None), "");
    let a = sb.send_parts("GET", &sb.url(ENCODED), &headers, b"").await;
    assert_eq!((a.status, reason(&a)), REFUSED, "{}", a.json);
}
