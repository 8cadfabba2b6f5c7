//! Request authentication: the sandbox rebuilds the canonical request from what it received and
//! verifies RSASSA-PSS with the registered key; anything changed after signing is refused with
//! `403 InvalidRequestSignature`. Also idempotency keys.

mod amazon_support;

use amazon_support::*;
use kessai_core::amazon::request::{HttpMethod, SignedRequest};
use kessai_core::amazon::signing;
use serde_json::json;

fn create_body(sb: &Sb) -> serde_json::Value {
    json!({
        "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://edge.example.jp/review"},
        "storeId": sb.h.config.store_id,
    })
}

fn header_mut<'a>(req: &'a mut SignedRequest, name: &str) -> &'a mut String {
    &mut req
        .headers
        .iter_mut()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("header {name}"))
        .1
}

async fn assert_signature_refused(sb: &Sb, req: &SignedRequest, why: &str) {
    let a = sb.send(req).await;
    assert_eq!(
        (a.status, reason(&a)),
        (403, "InvalidRequestSignature"),
        "{why}: {}",
        a.json
    );
}

#[tokio::test]
async fn a_correctly_signed_request_is_accepted_and_logged() {
    let sb = Sb::start().await;
    let a = sb
        .call(HttpMethod::Post, "checkoutSessions", Some(create_body(&sb)))
        .await;
    assert_eq!(a.status, 201, "{}", a.json);
    assert_eq!(a.json["statusDetails"]["state"], "Open");
    assert_eq!(a.json["releaseEnvironment"], "Sandbox");
    let log = sb.h.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["api"], "CreateCheckoutSession");
    assert_eq!(log[0]["status"], 201);
    assert_eq!(log[0]["object_id"], a.json["checkoutSessionId"]);
}

#[tokio::test]
async fn tampered_requests_are_refused() {
    let sb = Sb::start().await;
    let body = create_body(&sb);
    let base = sb.signed(
        HttpMethod::Post,
        "checkoutSessions",
        Some(&body),
        Some(&idem("t")),
    );

    let mut r = base.clone();
    r.body = r.body.replace("review", "evil");
    assert_signature_refused(&sb, &r, "body").await;

    let mut r = base.clone();
    *header_mut(&mut r, "x-amz-pay-idempotency-key") = idem("other");
    assert_signature_refused(&sb, &r, "idempotency key").await;

    let mut r = base.clone();
    *header_mut(&mut r, "content-type") = "text/plain".into();
    assert_signature_refused(&sb, &r, "content-type").await;

    // The date moved by one second (still within the skew window).
    let mut r = base.clone();
    let d = header_mut(&mut r, "x-amz-pay-date");
    let later = signing::amz_date(kessai_core::jst::UnixMillis(
        signing::parse_amz_date(d).unwrap().0 + 1000,
    ));
    *d = later;
    assert_signature_refused(&sb, &r, "date").await;

    // Another path (a different API) with the same signature.
    let mut r = base.clone();
    r.url = r.url.replace("/checkoutSessions", "/charges");
    assert_signature_refused(&sb, &r, "path").await;

    // A query string added after signing.
    let mut r = base.clone();
    r.url.push_str("?x=1");
    assert_signature_refused(&sb, &r, "query").await;

    // One bit of the signature flipped.
    let mut r = base.clone();
    let auth = header_mut(&mut r, "authorization");
    let (head, sig) = auth.rsplit_once("Signature=").unwrap();
    let mut bytes = signing::base64_decode(sig).unwrap();
    bytes[10] ^= 1;
    *auth = format!("{head}Signature={}", signing::base64_encode(&bytes));
    assert_signature_refused(&sb, &r, "signature").await;

    // Signed by another key under our key id.
    let req = sign_v2(
        sb.unsigned_for(
            &sb.api,
            HttpMethod::Post,
            "checkoutSessions",
            Some(body.to_string()),
            Some(&idem("t")),
        ),
        other_key(),
        32,
    );
    assert_signature_refused(&sb, &req, "foreign key").await;

    // V2 header but a salt-20 signature.
    let req = sign_v2(
        sb.unsigned_for(
            &sb.api,
            HttpMethod::Post,
            "checkoutSessions",
            Some(body.to_string()),
            Some(&idem("t")),
        ),
        merchant_key(),
        20,
    );
    assert_signature_refused(&sb, &req, "salt 20 under V2").await;

    // Nothing was created by any of them, and the message shows the string Amazon-style.
    assert!(sb.h.checkout_sessions().is_empty());
    let a = sb
        .send(&{
            let mut r = base.clone();
            r.body.push(' ');
            r
        })
        .await;
    let msg = a.json["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Unable to verify signature, signing String [AMZN-PAY-RSASSA-PSS-V2\n"),
        "{msg}"
    );
    // And the untouched request still works.
    assert_eq!(sb.send(&base).await.status, 201);
}

#[tokio::test]
async fn legacy_salt_20_signatures_are_accepted() {
    let sb = Sb::start().await;
    let req = sb.signed_legacy(
        HttpMethod::Post,
        "checkoutSessions",
        Some(&create_body(&sb)),
        Some(&idem("l")),
    );
    assert!(req.headers.iter().any(|(k, v)| k == "authorization" && v.starts_with("AMZN-PAY-RSASSA-PSS PublicKeyId=")));
    let a = sb.send(&req).await;
    assert_eq!(a.status, 201, "{}", a.json);
    let id = a.json["checkoutSessionId"].as_str().unwrap().to_string();
    let get = sb.signed_legacy(
        HttpMethod::Get,
        &format!("checkoutSessions/{id}"),
        None,
        None,
    );
    assert_eq!(sb.send(&get).await.status, 200);
}

#[tokio::test]
async fn clock_skew_region_host_and_required_headers() {
    let sb = Sb::start().await;
    // 16 minutes in the past (the sandbox clock is ahead of the signer).
    let req = sb.signed(HttpMethod::Get, "checkoutSessions/x", None, None);
    sb.h.advance_ms(16 * MINUTE);
    let a = sb.send(&req).await;
    assert_eq!((a.status, reason(&a)), (403, "InvalidRequestSignature"));
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .contains("x-amz-pay-date")
    );
    // 14 minutes is fine (404: the session does not exist, but the request was authenticated).
    sb.h.advance_ms(-2 * MINUTE);
    let a = sb.send(&req).await;
    assert_eq!((a.status, reason(&a)), (404, "ResourceNotFound"));
    // Signed 16 minutes in the future.
    sb.h.advance_ms(-30 * MINUTE);
    let a = sb.send(&req).await;
    assert_eq!(a.status, 403);
    sb.h.set_clock_ms(T0);

    // Region: signed correctly but for Europe.
    let mut eu = sb.api.clone();
    eu.region = "eu".into();
    let req = sign_v2(
        sb.unsigned_for(&eu, HttpMethod::Get, "checkoutSessions/x", None, None),
        merchant_key(),
        32,
    );
    let a = sb.send(&req).await;
    assert_eq!((a.status, reason(&a)), (403, "InvalidRequestSignature"));
    // Region case does not matter (the Java SDK sends "JP").
    let mut upper = sb.api.clone();
    upper.region = "JP".into();
    let req = sign_v2(
        sb.unsigned_for(&upper, HttpMethod::Get, "checkoutSessions/x", None, None),
        merchant_key(),
        32,
    );
    assert_eq!(sb.send(&req).await.status, 404);

    // Host: Amazon's own host name is accepted, another one is not.
    let mut real_host = sb.api.clone();
    real_host.base_url = "https://pay-api.amazon.jp".into();
    let mut req = sign_v2(
        sb.unsigned_for(
            &real_host,
            HttpMethod::Get,
            "checkoutSessions/x",
            None,
            None,
        ),
        merchant_key(),
        32,
    );
    req.url = req.url.replace("https://pay-api.amazon.jp", &sb.h.base_url);
    assert_eq!(sb.send(&req).await.status, 404);
    let mut other = sb.api.clone();
    other.base_url = "https://pay-api.amazon.eu".into();
    let mut req = sign_v2(
        sb.unsigned_for(&other, HttpMethod::Get, "checkoutSessions/x", None, None),
        merchant_key(),
        32,
    );
    req.url = req.url.replace("https://pay-api.amazon.eu", &sb.h.base_url);
    assert_eq!(sb.send(&req).await.status, 403);

    // A date header that is not signed: refused even with a valid signature over the rest.
    let unsigned = sb.unsigned_for(&sb.api, HttpMethod::Get, "checkoutSessions/x", None, None);
    let kept: Vec<(String, String)> = unsigned
        .headers
        .iter()
        .filter(|(k, _)| k != "x-amz-pay-date")
        .cloned()
        .collect();
    let canonical = signing::canonical_request("GET", &unsigned.path, &[], &kept, b"");
    let sts = signing::string_to_sign(signing::Algorithm::V2, &canonical);
    let sig = pss_sign(&merchant_key().private_pkcs8_pem, 32, &sts);
    let mut headers = unsigned.headers.clone();
    headers.push((
        "authorization".into(),
        format!(
            "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId={}, SignedHeaders={}, Signature={sig}",
            sb.api.public_key_id,
            signing::signed_header_names(&kept)
        ),
    ));
    let a = sb.send_parts("GET", &unsigned.url, &headers, b"").await;
    assert_eq!(
        (a.status, reason(&a)),
        (403, "InvalidRequestSignature"),
        "{}",
        a.json
    );

    // No Authorization at all; a malformed one; an unknown key id.
    let a = sb
        .send_parts("GET", &sb.url("/sandbox/v2/checkoutSessions/x"), &[], b"")
        .await;
    assert_eq!((a.status, reason(&a)), (400, "MissingHeader"));
    let mut r = sb.signed(HttpMethod::Get, "checkoutSessions/x", None, None);
    *header_mut(&mut r, "authorization") = "Bearer abc".into();
    assert_eq!(sb.send(&r).await.status, 400);
    let mut r = sb.signed(HttpMethod::Get, "checkoutSessions/x", None, None);
    let auth = header_mut(&mut r, "authorization");
    *auth = auth.replace(&sb.api.public_key_id, "SANDBOX-UNKNOWNKEY");
    let a = sb.send(&r).await;
    assert_eq!((a.status, reason(&a)), (403, "InvalidRequestSignature"));
}

#[tokio::test]
async fn environments_live_and_unified_paths() {
    let sb = Sb::start().await;
    let mut live = sb.api.clone();
    live.environment = kessai_core::amazon::request::Environment::Live;
    let req = sign_v2(
        sb.unsigned_for(&live, HttpMethod::Get, "checkoutSessions/x", None, None),
        merchant_key(),
        32,
    );
    let a = sb.send(&req).await;
    assert_eq!((a.status, reason(&a)), (403, "InvalidAuthentication"));

    // Unified endpoint `/v2/…` with the SANDBOX- key id: signed over the path as sent.
    let unsigned = sb.unsigned_for(
        &sb.api,
        HttpMethod::Post,
        "checkoutSessions",
        Some(create_body(&sb).to_string()),
        Some(&idem("u")),
    );
    let path = "/v2/checkoutSessions";
    let canonical = signing::canonical_request(
        "POST",
        path,
        &[],
        &unsigned.headers,
        unsigned.body.as_bytes(),
    );
    let sts = signing::string_to_sign(signing::Algorithm::V2, &canonical);
    let sig = pss_sign(&merchant_key().private_pkcs8_pem, 32, &sts);
    let mut headers = unsigned.headers.clone();
    headers.push((
        "authorization".into(),
        format!(
            "AMZN-PAY-RSASSA-PSS-V2 PublicKeyId={}, SignedHeaders={}, Signature={sig}",
            sb.api.public_key_id, unsigned.signed_headers
        ),
    ));
    let a = sb
        .send_parts("POST", &sb.url(path), &headers, unsigned.body.as_bytes())
        .await;
    assert_eq!(a.status, 201, "{}", a.json);
    // The same signature presented on the /sandbox/v2 path does not verify (path is signed).
    let a = sb
        .send_parts(
            "POST",
            &sb.url("/sandbox/v2/checkoutSessions"),
            &headers,
            unsigned.body.as_bytes(),
        )
        .await;
    assert_eq!(a.status, 403);
}

#[tokio::test]
async fn idempotency_replays_and_conflicts() {
    let sb = Sb::start().await;
    let body = create_body(&sb);
    let key = idem("same");
    let first = sb
        .call_with_key(
            HttpMethod::Post,
            "checkoutSessions",
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first.status, 201);
    // A retry (freshly signed, same key, same body) replays the first answer.
    let again = sb
        .call_with_key(
            HttpMethod::Post,
            "checkoutSessions",
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(again.status, 201);
    assert_eq!(again.json, first.json);
    assert_ne!(
        again.headers["x-amz-pay-request-id"],
        first.headers["x-amz-pay-request-id"]
    );
    assert_eq!(sb.h.checkout_sessions().len(), 1);
    assert_eq!(sb.h.requests()[1]["replayed"], true);
    // Same key, other body.
    let mut other = body.clone();
    other["webCheckoutDetails"]["checkoutReviewReturnUrl"] = json!("https://edge.example.jp/other");
    let conflict = sb
        .call_with_key(HttpMethod::Post, "checkoutSessions", Some(other), &key)
        .await;
    assert_eq!(
        (conflict.status, reason(&conflict)),
        (400, "DuplicateIdempotencyKey")
    );
    assert_eq!(sb.h.checkout_sessions().len(), 1);

    // Missing key on POST; too long; bad characters.
    let req = sb.signed(HttpMethod::Post, "checkoutSessions", Some(&body), None);
    let a = sb.send(&req).await;
    assert_eq!((a.status, reason(&a)), (400, "MissingHeader"));
    let long = "a".repeat(33);
    let a = sb
        .call_with_key(
            HttpMethod::Post,
            "checkoutSessions",
            Some(body.clone()),
            &long,
        )
        .await;
    assert_eq!((a.status, reason(&a)), (400, "InvalidHeaderValue"));
    let a = sb
        .call_with_key(
            HttpMethod::Post,
            "checkoutSessions",
            Some(body.clone()),
            "a.b",
        )
        .await;
    assert_eq!((a.status, reason(&a)), (400, "InvalidHeaderValue"));
    let ok32 = "A".repeat(32);
    assert_eq!(
        sb.call_with_key(HttpMethod::Post, "checkoutSessions", Some(body), &ok32)
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn a_lost_complete_answer_is_committed_and_replayed_on_retry() {
    let sb = Sb::start().await;
    let cs_id = sb.buyer_checks_out(2_000, "taro", "0").await;
    let upd = sb.update_for_result(&cs_id, 2_000).await;
    sb.process(
        upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
            .as_str()
            .unwrap(),
    )
    .await;
    sb.h.add_fault("CompleteCheckoutSession", Some(&cs_id), true, 0);
    let key = idem("complete");
    let req = sb.signed(
        HttpMethod::Post,
        &format!("checkoutSessions/{cs_id}/complete"),
        Some(&price_body("chargeAmount", 2_000)),
        Some(&key),
    );
    let lost = sb
        .http
        .post(&req.url)
        .headers(
            req.headers
                .iter()
                .map(|(k, v)| {
                    (
                        reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                        v.parse().unwrap(),
                    )
                })
                .collect(),
        )
        .body(req.body.clone())
        .send()
        .await;
    let failed = match lost {
        Err(_) => true,
        Ok(resp) => resp.text().await.is_err(),
    };
    assert!(failed, "the answer must not arrive");
    // Committed at "Amazon".
    assert_eq!(
        sb.h.checkout_session(&cs_id).unwrap()["statusDetails"]["state"],
        "Completed"
    );
    let log = sb.h.requests();
    assert_eq!(log.last().unwrap()["dropped"], true);
    // A retry with the same key gets the first answer; without it, the session tells the truth.
    let retry = sb
        .call_with_key(
            HttpMethod::Post,
            &format!("checkoutSessions/{cs_id}/complete"),
            Some(price_body("chargeAmount", 2_000)),
            &key,
        )
        .await;
    assert_eq!(retry.status, 200);
    assert_eq!(retry.json["statusDetails"]["state"], "Completed");
    assert_eq!(sb.h.charges().len(), 1);
}
