//! Amazon Pay on the edge (workerd + D1 via `wrangler dev`) against the Amazon Pay sandbox, with
//! no browser: the hosted "Amazon" pages are driven by plain HTTP and every redirect is followed
//! by hand, so each hop is checked.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use kessai_sandbox::amazon::buyers;
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

#[tokio::test]
async fn amazon_checkout_records_an_authorization_with_ids_buyer_and_address() {
    let p = create_payment(4980).await;
    let id = id_of(&p);
    let cfg = amazon_config(&p).await;
    assert_eq!(cfg["sandbox"], true);
    assert_eq!(cfg["ledger_currency"], "JPY");
    assert_eq!(cfg["checkout_language"], "ja_JP");
    assert_eq!(
        cfg["checkout_js_url"],
        format!("{}/checkout.js", stack().amazon_sandbox)
    );

    // The payload is signed for the stored amount and the edge's review URL.
    let (status, b) = amazon_button(&p, json!({ "return_url": amazon_return_url() })).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["algorithm"], "AMZN-PAY-RSASSA-PSS-V2");
    assert_eq!(b["public_key_id"], cfg["public_key_id"]);
    let payload: Value = serde_json::from_str(b["payload_json"].as_str().expect("payload"))
        .expect("payload is JSON");
    assert_eq!(
        payload["paymentDetails"]["chargeAmount"],
        json!({ "amount": "4980", "currencyCode": "JPY" })
    );
    assert_eq!(payload["paymentDetails"]["paymentIntent"], "Authorize");
    assert_eq!(payload["chargePermissionType"], "OneTime");
    assert_eq!(
        payload["webCheckoutDetails"]["checkoutReviewReturnUrl"],
        format!("{}/v1/amazon-pay/review?payment={id}", stack().edge)
    );
    assert_eq!(
        payload["merchantMetadata"]["merchantReferenceId"],
        p["order_id"]
    );

    // Taro picks his Osaka address (index 1).
    let (back, cs) = pay_with_amazon(&p, buyers::TARO.key, 1).await;
    assert_eq!(back, back_in_shop(&id, "authorized"));

    let after = payment(&id).await;
    assert_eq!(after["state"], "authorized", "{after}");
    assert_eq!(after["state_label_ja"], "仮売上");
    assert_eq!(after["method"], "amazon_pay");
    let a = &after["amazon_pay"];
    assert_eq!(a["checkout_session_id"], cs.as_str());
    let charge_id = a["charge_id"].as_str().expect("charge id").to_string();
    assert!(
        a["charge_permission_id"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{a}"
    );
    assert_eq!(a["buyer"]["buyer_id"], buyers::TARO.buyer_id);
    assert_eq!(a["buyer"]["name"], buyers::TARO.name);
    assert_eq!(a["buyer"]["email"], buyers::TARO.email);
    assert_eq!(a["shipping_address"]["state_or_region"], "大阪府");
    assert_eq!(a["shipping_address"]["city"], "大阪市北区");
    assert_eq!(a["shipping_address"]["postal_code"], "530-0001");
    assert_eq!(
        a["shipping_address"]["address_line2"],
        "梅田サンドボックスビル 12階"
    );
    let kinds = event_kinds(&after);
    for k in [
        "amazon_button_signed",
        "amazon_session_opened",
        "amazon_session_updated",
        "amazon_authorization_started",
        "amazon_authorized",
    ] {
        assert!(kinds.contains(&k.to_string()), "{k} missing in {kinds:?}");
    }
    // The review's history lines, in order, each in the state the payment was in: the session
    // opened by the shopper's return, then updated with the stored amount (a line that takes no
    // compare-and-set, #17).
    let review_lines: Vec<&Value> = after["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| {
                    e["kind"] == "amazon_session_opened" || e["kind"] == "amazon_session_updated"
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(review_lines.len(), 2, "{review_lines:?}");
    for (line, (kind, actor)) in review_lines.iter().zip([
        ("amazon_session_opened", "shopper"),
        ("amazon_session_updated", "system"),
    ]) {
        assert_eq!(line["kind"], kind, "{line}");
        assert_eq!(line["actor"], actor, "{line}");
        assert_eq!(line["from"], "requires_payment", "{line}");
        assert_eq!(line["to"], "requires_payment", "{line}");
    }
    assert_eq!(
        review_lines[1]["detail"]["amount"], 4980,
        "{}",
        review_lines[1]
    );
    // Buyer PII stays out of the append-only history.
    let events = after["events"].to_string();
    assert!(
        !events.contains(buyers::TARO.email) && !events.contains("大阪"),
        "{events}"
    );

    // Amazon holds exactly one authorisation, for the stored amount.
    let charge = amazon_object("charges", "chargeId", charge_id.as_str()).await;
    assert_eq!(charge["statusDetails"]["state"], "Authorized");
    assert_eq!(charge["chargeAmount"]["amount"], "4980");

    // Every call the edge made for this session passed the sandbox's signature check.
    let log = amazon_requests(None, Some(&cs)).await;
    assert!(log.len() >= 3, "{log:?}");
    for r in &log {
        let status = r["status"].as_u64().unwrap_or(0);
        assert!((200..300).contains(&status), "refused call {r}");
    }
    assert_eq!(count_api(&log, "GetCheckoutSession"), 1, "{log:?}");
    assert_eq!(count_api(&log, "UpdateCheckoutSession"), 1, "{log:?}");
    assert_eq!(count_api(&log, "CompleteCheckoutSession"), 1, "{log:?}");

    // A reload of the result page only redirects: no second Complete.
    let result = format!(
        "{}/v1/amazon-pay/result?payment={id}&amazonCheckoutSessionId={cs}",
        stack().edge
    );
    let again = nav_get(&result).await;
    assert_eq!(again.status, 303);
    assert!(
        again
            .location
            .as_deref()
            .is_some_and(|l| l.ends_with("kessai_amazon=authorized"))
    );
    assert_eq!(
        count_api(
            &amazon_requests(Some("CompleteCheckoutSession"), Some(&cs)).await,
            "CompleteCheckoutSession"
        ),
        1
    );

    // The widget sees the paid state; a new button for a paid payment is refused.
    let (_, view) = checkout_config(&p).await;
    assert_eq!(view["state"], "authorized");
    let (status, body) = amazon_button(&p, json!({ "return_url": amazon_return_url() })).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "payment_not_payable");
    assert!(
        body["error"]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("仮売上"))
    );

    // The merchant's reconcile re-reads the charge (a signed Get Charge) and keeps 仮売上.
    let before = amazon_requests(Some("GetCharge"), Some(&charge_id))
        .await
        .len();
    let (status, rec) = merchant(Method::POST, &format!("/v1/payments/{id}/reconcile"), None).await;
    assert_eq!(
        (status, rec["state"].clone()),
        (200, json!("authorized")),
        "{rec}"
    );
    // Two reads, both answered: one settles the payment, one is the gateway side the answer shows
    // next to kessai's (`sides`, for the operator's comparison).
    let after_log = amazon_requests(Some("GetCharge"), Some(&charge_id)).await;
    assert_eq!(after_log.len(), before + 2);
    assert!(
        after_log[before..].iter().all(|r| r["status"] == 200),
        "{after_log:?}"
    );
    assert_eq!(
        rec["sides"]["gateway"]["charge_state"], "Authorized",
        "{rec}"
    );
}

#[tokio::test]
async fn button_signature_verifies_with_openssl_and_a_tampered_payload_is_refused() {
    let p = create_payment(1200).await;
    let cfg = amazon_config(&p).await;
    let (status, b) = amazon_button(&p, json!({ "return_url": amazon_return_url() })).await;
    assert_eq!(status, 200, "{b}");
    let payload = b["payload_json"].as_str().expect("payload").to_string();
    let signature = b["signature"].as_str().expect("signature").to_string();

    // Independent verifier: OpenSSL, RSASSA-PSS / SHA-256 / salt 32, over the string to sign
    // `AMZN-PAY-RSASSA-PSS-V2\n<hex sha256(payload)>` (reference §2.4).
    let dir = std::env::temp_dir().join(format!("kessai-amazon-openssl-{}", id_of(&p)));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let hash: String = Sha256::digest(payload.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(dir.join("data"), format!("AMZN-PAY-RSASSA-PSS-V2\n{hash}")).expect("data");
    std::fs::write(dir.join("pub.pem"), &stack().amazon_public_key_pem).expect("pub");
    std::fs::write(
        dir.join("sig.bin"),
        STANDARD.decode(&signature).expect("base64 signature"),
    )
    .expect("sig");
    let verify = |data: &str| {
        std::process::Command::new("openssl")
            .current_dir(&dir)
            .args([
                "dgst",
                "-sha256",
                "-sigopt",
                "rsa_padding_mode:pss",
                "-sigopt",
                "rsa_pss_saltlen:32",
                "-verify",
                "pub.pem",
                "-signature",
                "sig.bin",
                data,
            ])
            .output()
            .expect("openssl runs")
    };
    let ok = verify("data");
    assert!(
        ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("Verified OK"),
        "openssl: {} {}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    // The same check fails for any other message (the verifier is not a rubber stamp).
    std::fs::write(
        dir.join("other"),
        // The payload hash with its first hex digit changed: always a different message.
        format!(
            "AMZN-PAY-RSASSA-PSS-V2\n{}{}",
            if hash.starts_with('0') { '1' } else { '0' },
            hash.get(1..).unwrap_or_default()
        ),
    )
    .expect("other");
    assert!(!verify("other").status.success());
    let _ = std::fs::remove_dir_all(&dir);

    // The shopper edits the amount in the page: Amazon (the sandbox) refuses the signature.
    let tampered = payload.replace("\"amount\":\"1200\"", "\"amount\":\"1\"");
    assert_ne!(tampered, payload);
    let refused = amazon_start("PayAndShip", &tampered, &signature, &cfg).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.location.is_none());
    // The untouched payload is accepted.
    let accepted = amazon_start("PayAndShip", &payload, &signature, &cfg).await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
}

#[tokio::test]
async fn the_charged_amount_comes_from_the_payment_not_from_the_button_or_the_session() {
    // The cart changes after the button was rendered: the payment follows the new total and
    // the review updates the session with the stored amount.
    let order = order_id("AZ");
    let (status, p) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order, "amount": 3000 })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let id = id_of(&p);
    let (review, cs) = to_review(&p, buyers::ICHIRO.key, 0).await;
    let session = amazon_object("checkout-sessions", "checkoutSessionId", cs.as_str()).await;
    assert_eq!(session["paymentDetails"]["chargeAmount"]["amount"], "3000");
    let (status, moved) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order, "amount": 3500 })),
    )
    .await;
    assert_eq!(
        (status, moved["amount"].clone()),
        (200, json!(3500)),
        "{moved}"
    );
    let result = review_to_result(&review).await;
    let done = nav_get(&result).await;
    assert!(
        done.location
            .as_deref()
            .is_some_and(|l| l.ends_with("kessai_amazon=authorized")),
        "{done:?}"
    );
    let after = payment(&id).await;
    assert_eq!(after["state"], "authorized");
    let charge_id = after["amazon_pay"]["charge_id"]
        .as_str()
        .expect("charge")
        .to_string();
    let charge = amazon_object("charges", "chargeId", charge_id.as_str()).await;
    assert_eq!(charge["chargeAmount"]["amount"], "3500");

    // A session made for another payment cannot be attached to this one: the review refuses it
    // (without updating it) and sends the shopper back with an error.
    let other = create_payment(100).await;
    let victim = create_payment(9000).await;
    let (review_other, cs_other) = to_review(&other, buyers::ICHIRO.key, 0).await;
    assert!(review_other.contains(&id_of(&other)));
    let (status, _) = amazon_button(&victim, json!({ "return_url": amazon_return_url() })).await;
    assert_eq!(status, 200);
    let forged = format!(
        "{}/v1/amazon-pay/review?payment={}&amazonCheckoutSessionId={cs_other}",
        stack().edge,
        id_of(&victim)
    );
    let r = nav_get(&forged).await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location.as_deref(),
        Some(back_in_shop(&id_of(&victim), "error").as_str())
    );
    assert_eq!(
        count_api(
            &amazon_requests(None, Some(&cs_other)).await,
            "UpdateCheckoutSession"
        ),
        0
    );
    let v = payment(&id_of(&victim)).await;
    assert_eq!(v["state"], "requires_payment");
    assert_eq!(v["amazon_pay"]["checkout_session_id"], Value::Null);
}

#[tokio::test]
async fn a_declining_buyer_gets_a_clear_message_and_nothing_is_authorized() {
    let p = create_payment(2200).await;
    let id = id_of(&p);
    let (back, cs) = pay_with_amazon(&p, buyers::HANAKO.key, 0).await;
    assert_eq!(back, back_in_shop(&id, "declined"));
    let after = payment(&id).await;
    assert_eq!(after["state"], "requires_payment", "{after}");
    assert_eq!(after["last_error"]["code"], "amazon_declined");
    assert_eq!(after["amazon_pay"]["charge_id"], Value::Null);
    assert!(event_kinds(&after).contains(&"amazon_declined".to_string()));
    // The widget shows why, in Japanese.
    let (_, view) = checkout_config(&p).await;
    assert_eq!(view["last_error"]["code"], "amazon_declined");
    assert!(
        view["last_error"]["message_ja"].as_str().is_some_and(|m| m
            .contains("ご利用いただけませんでした")
            && m.contains("別のお支払い方法")),
        "{view}"
    );
    // Amazon has no authorisation for this order, and the session is canceled as declined.
    let session = amazon_object("checkout-sessions", "checkoutSessionId", cs.as_str()).await;
    assert_eq!(session["statusDetails"]["state"], "Canceled");
    assert_eq!(session["statusDetails"]["reasonCode"], "Declined");
    let authorized_for_order = amazon_objects("charges")
        .await
        .into_iter()
        .filter(|c| c["merchantMetadata"]["merchantReferenceId"] == p["order_id"])
        .filter(|c| c["statusDetails"]["state"] == "Authorized")
        .count();
    assert_eq!(authorized_for_order, 0);

    // Reloading the result page does not complete the declined session again.
    let result = format!(
        "{}/v1/amazon-pay/result?payment={id}&amazonCheckoutSessionId={cs}",
        stack().edge
    );
    let again = nav_get(&result).await;
    assert_eq!(again.location.as_deref(), Some(back.as_str()));
    let completes = amazon_requests(Some("CompleteCheckoutSession"), Some(&cs)).await;
    assert_eq!(completes.len(), 1, "{completes:?}");

    // The shopper pays by card instead: same payment, now a card authorisation.
    let (status, body) = widget_post(
        &p,
        json!({ "token": token_for(kessai_sandbox::test_cards::APPROVED).await }),
    )
    .await;
    assert_eq!(
        (status, body["state"].clone()),
        (200, json!("authorized")),
        "{body}"
    );
    let paid = payment(&id).await;
    assert_eq!(paid["method"], "card");
    assert_eq!(paid["last_error"], Value::Null);
    // An Amazon return for this order now reports no Amazon authorisation.
    let late = nav_get(&result).await;
    assert!(
        late.location
            .as_deref()
            .is_some_and(|l| l.ends_with("kessai_amazon=error")),
        "{late:?}"
    );
}

#[tokio::test]
async fn concurrent_results_complete_the_session_once() {
    let p = create_payment(6100).await;
    let id = id_of(&p);
    let (result, cs) = to_result(&p, buyers::TARO.key, 0).await;
    let (a, b, c) = tokio::join!(nav_get(&result), nav_get(&result), nav_get(&result));
    for h in [&a, &b, &c] {
        assert_eq!(h.status, 303, "{h:?}");
        assert_eq!(
            h.location.as_deref(),
            Some(back_in_shop(&id, "authorized").as_str()),
            "{h:?}"
        );
    }
    let completes = amazon_requests(Some("CompleteCheckoutSession"), Some(&cs)).await;
    assert_eq!(completes.len(), 1, "{completes:?}");
    assert_eq!(payment(&id).await["state"], "authorized");
}

#[tokio::test]
async fn a_lost_complete_answer_is_reconciled_without_a_second_complete() {
    let p = create_payment(7300).await;
    let id = id_of(&p);
    let (result, cs) = to_result(&p, buyers::ICHIRO.key, 0).await;
    // Amazon completes the session, then the connection drops before the edge reads the answer.
    amazon_fault(json!({ "api": "CompleteCheckoutSession", "object_id": cs, "drop_answer": true }))
        .await;
    let done = nav_get(&result).await;
    assert_eq!(done.status, 303, "{done:?}");
    assert!(
        done.location
            .as_deref()
            .is_some_and(|l| l.ends_with("kessai_amazon=authorized")),
        "{done:?}"
    );
    let log = amazon_requests(None, Some(&cs)).await;
    let completes: Vec<&Value> = log
        .iter()
        .filter(|r| r["api"] == "CompleteCheckoutSession")
        .collect();
    assert_eq!(completes.len(), 1, "never a second Complete: {log:?}");
    assert_eq!(completes[0]["dropped"], true);
    // Reconciled by reading the session after the lost answer.
    assert!(count_api(&log, "GetCheckoutSession") >= 2, "{log:?}");
    let after = payment(&id).await;
    assert_eq!(after["state"], "authorized", "{after}");
    assert!(after["amazon_pay"]["charge_id"].as_str().is_some());
    assert_eq!(
        after["amazon_pay"]["buyer"]["buyer_id"],
        buyers::ICHIRO.buyer_id
    );
    assert!(
        event_kinds(&after).contains(&"amazon_reconciled".to_string()),
        "{:?}",
        event_kinds(&after)
    );
}

fn hs256_ok(jws: &str, key: &str) -> bool {
    let mut parts = jws.rsplitn(2, '.');
    let (Some(sig), Some(input)) = (parts.next(), parts.next()) else {
        return false;
    };
    let Ok(sig) = URL_SAFE_NO_PAD.decode(sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("hmac key");
    mac.update(input.as_bytes());
    mac.verify_slice(&sig).is_ok()
}

fn jws_claims(jws: &str) -> Value {
    let payload = jws.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("json")
}

fn hs256(claims: &Value, key: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("hmac key");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

async fn signin_button(origin: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = client()
        .post(format!("{}/v1/amazon-pay/signin-button", stack().edge))
        .json(&body);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let resp = req.send().await.expect("edge");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The hidden input's value in the form_post page.
fn form_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}

/// Sign-in: button → Amazon login → consent → the edge's return URL (not yet visited).
async fn signin_to_return(buyer: &str, return_url: &str, nonce: &str) -> String {
    let urls = stack();
    let (status, b) = signin_button(
        Some(&urls.storefront),
        json!({ "return_url": return_url, "nonce": nonce }),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    let payload: Value =
        serde_json::from_str(b["payload_json"].as_str().expect("payload")).expect("json");
    let sri = payload["signInReturnUrl"]
        .as_str()
        .expect("signInReturnUrl");
    assert!(
        sri.starts_with(&format!("{}/v1/amazon-pay/signin/return?state=", urls.edge)),
        "{sri}"
    );
    assert_eq!(
        payload["signInScopes"],
        json!([
            "name",
            "email",
            "postalCode",
            "shippingAddress",
            "phoneNumber"
        ])
    );
    let start = amazon_start(
        "SignIn",
        b["payload_json"].as_str().expect("payload"),
        b["signature"].as_str().expect("signature"),
        &b,
    )
    .await;
    assert_eq!(start.status, 303, "{}", start.body);
    let login = start.location.expect("login");
    let session = query_param(&login, "signInSessionId").expect("sign-in session");
    let logged = nav_post(
        &format!("{}/signin/login", urls.amazon_sandbox),
        &[
            ("signInSessionId", &session),
            ("buyer", buyer),
            ("email", "x@example.jp"),
            ("password", "x"),
        ],
    )
    .await;
    assert_eq!(logged.status, 303, "{}", logged.body);
    let consented = nav_post(
        &format!("{}/signin/consent", urls.amazon_sandbox),
        &[("signInSessionId", &session), ("decision", "allow")],
    )
    .await;
    assert_eq!(consented.status, 303, "{}", consented.body);
    consented.location.expect("signInReturnUrl with buyerToken")
}

#[tokio::test]
async fn sign_in_posts_a_verifiable_assertion_once_and_links_the_account() {
    let urls = stack();
    let return_url = format!("{}/login/amazon", urls.storefront);
    let nonce = "nonce-0123456789abcdef";
    let back = signin_to_return(buyers::TARO.key, &return_url, nonce).await;
    assert!(back.contains("buyerToken="), "{back}");

    let page = manual_client().get(&back).send().await.expect("edge");
    assert_eq!(page.status().as_u16(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        csp.contains(&format!("form-action {}", urls.storefront)),
        "{csp}"
    );
    assert_eq!(
        page.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let html = page.text().await.expect("html");
    assert!(html.contains(&format!("action=\"{return_url}\"")), "{html}");
    assert!(html.contains("method=\"post\""));
    let jws = form_value(&html, "kessai_amazon_assertion").expect("assertion in the form");
    // The storefront can verify it with the shared key; a wrong key cannot.
    assert!(hs256_ok(&jws, &urls.assertion_signing_key));
    assert!(!hs256_ok(&jws, "another-key"));
    let claims = jws_claims(&jws);
    assert_eq!(claims["iss"], "kessai");
    assert_eq!(claims["aud"], urls.storefront.as_str());
    assert_eq!(claims["nonce"], nonce);
    assert_eq!(claims["sub"], buyers::TARO.buyer_id);
    assert_eq!(claims["name"], buyers::TARO.name);
    assert_eq!(claims["email"], buyers::TARO.email);
    assert_eq!(claims["postal_code"], "100-0001");
    assert_eq!(claims["phone"], buyers::TARO.phone_number);
    assert_eq!(claims["address"]["state_or_region"], "東京都");
    assert_eq!(claims["address"]["city"], "千代田区");
    assert_eq!(claims["address"]["address_line1"], "千代田1-1");
    assert_eq!(
        claims["exp"].as_i64().unwrap_or(0) - claims["iat"].as_i64().unwrap_or(0),
        300
    );
    // No profile in the URL Amazon returned to.
    assert!(
        !back.contains("taro") && !back.contains("%E5%B1%B1"),
        "{back}"
    );

    // The state is single use: replaying the return URL gives no second assertion.
    let replay = nav_get(&back).await;
    assert_eq!(replay.status, 400);
    assert!(!replay.body.contains("kessai_amazon_assertion"));
    assert!(replay.body.contains("有効期限"), "{}", replay.body);

    // Link (マイページ): the assertion's buyer becomes the member's Amazon account.
    let m1 = format!("m1-{}", order_id("L"));
    let m2 = format!("m2-{}", order_id("L"));
    let (status, link) = merchant(
        Method::PUT,
        &format!("/v1/amazon-pay/links/{m1}"),
        Some(json!({ "assertion": jws })),
    )
    .await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["member_id"], m1.as_str());
    assert_eq!(link["buyer_id"], buyers::TARO.buyer_id);
    let (status, got) = merchant(Method::GET, &format!("/v1/amazon-pay/links/{m1}"), None).await;
    assert_eq!(
        (status, got["buyer_id"].clone()),
        (200, json!(buyers::TARO.buyer_id))
    );
    let (status, by_buyer) = merchant(
        Method::GET,
        &format!("/v1/amazon-pay/links?buyer_id={}", buyers::TARO.buyer_id),
        None,
    )
    .await;
    assert_eq!((status, by_buyer["member_id"].clone()), (200, json!(m1)));
    // Linking the same Amazon account to a second member is refused.
    let (status, err) = merchant(
        Method::PUT,
        &format!("/v1/amazon-pay/links/{m2}"),
        Some(json!({ "assertion": jws })),
    )
    .await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "amazon_account_linked_elsewhere");
    assert!(
        err["error"]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("別の会員"))
    );
    // Unlink, then the second member may link it.
    let resp = client()
        .delete(format!("{}/v1/amazon-pay/links/{m1}", urls.edge))
        .bearer_auth(kessai_demo::stack::MERCHANT_SECRET_KEY)
        .send()
        .await
        .expect("edge");
    assert_eq!(resp.status().as_u16(), 204);
    let (status, err) = merchant(Method::DELETE, &format!("/v1/amazon-pay/links/{m1}"), None).await;
    assert_eq!(
        (status, err["error"]["code"].clone()),
        (404, json!("amazon_account_not_linked"))
    );
    let (status, _) = merchant(Method::GET, &format!("/v1/amazon-pay/links/{m1}"), None).await;
    assert_eq!(status, 404);
    let (status, link2) = merchant(
        Method::PUT,
        &format!("/v1/amazon-pay/links/{m2}"),
        Some(json!({ "assertion": jws })),
    )
    .await;
    assert_eq!(
        (status, link2["member_id"].clone()),
        (200, json!(m2)),
        "{link2}"
    );
    let (status, _) = merchant(Method::DELETE, &format!("/v1/amazon-pay/links/{m2}"), None).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn links_refuse_forged_expired_and_foreign_assertions() {
    let urls = stack();
    let key = urls.assertion_signing_key.clone();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let claims = |iat: i64, aud: &str| {
        json!({ "iss": "kessai", "aud": aud, "iat": iat, "exp": iat + 300, "nonce": "n",
                "sub": "amzn1.account.TESTFORGED", "name": "x", "email": "x@example.jp" })
    };
    let member = format!("forge-{}", order_id("F"));
    let put = |assertion: String| {
        let member = member.clone();
        async move {
            merchant(
                Method::PUT,
                &format!("/v1/amazon-pay/links/{member}"),
                Some(json!({ "assertion": assertion })),
            )
            .await
        }
    };
    for (what, jws, code) in [
        (
            "wrong key",
            hs256(&claims(now, &urls.storefront), "not-the-key"),
            "assertion_bad_signature",
        ),
        (
            "expired",
            hs256(&claims(now - 900, &urls.storefront), &key),
            "assertion_expired",
        ),
        (
            "foreign audience",
            hs256(&claims(now, "https://evil.example"), &key),
            "assertion_wrong_audience",
        ),
        (
            "alg none",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
                URL_SAFE_NO_PAD.encode(claims(now, &urls.storefront).to_string())
            ),
            "assertion_malformed",
        ),
        ("garbage", "a.b".to_string(), "assertion_malformed"),
    ] {
        let (status, body) = put(jws).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_eq!(body["error"]["code"], code, "{what}: {body}");
        assert!(
            body["error"]["message_ja"]
                .as_str()
                .is_some_and(|m| m.contains("ログイン")),
            "{body}"
        );
    }
    // The same claims, correctly signed, are accepted (the refusals above were for the flaw).
    let (status, body) = put(hs256(&claims(now, &urls.storefront), &key)).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = merchant(
        Method::DELETE,
        &format!("/v1/amazon-pay/links/{member}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    // The merchant API needs the secret key.
    let resp = client()
        .get(format!("{}/v1/amazon-pay/links/{member}", urls.edge))
        .send()
        .await
        .expect("edge");
    assert_eq!(resp.status().as_u16(), 401);
}

#[tokio::test]
async fn sign_in_cancel_and_bad_states_are_handled() {
    let urls = stack();
    let return_url = format!("{}/login/amazon?from=header", urls.storefront);
    let (status, b) = signin_button(
        Some(&urls.storefront),
        json!({ "return_url": return_url, "nonce": "nonce-cancel-0001" }),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    let payload: Value =
        serde_json::from_str(b["payload_json"].as_str().expect("payload")).expect("json");
    let sri = payload["signInReturnUrl"]
        .as_str()
        .expect("url")
        .to_string();
    // Amazon came back without a buyer token (the buyer canceled): back to the page, no assertion.
    let canceled = nav_get(&sri).await;
    assert_eq!(canceled.status, 303);
    assert_eq!(
        canceled.location.as_deref(),
        Some(format!("{return_url}&kessai_amazon_signin=canceled").as_str())
    );
    // The storefront tells the shopper on its login page, with its session cookie.
    let back = manual_client()
        .get(canceled.location.as_deref().unwrap_or_default())
        .send()
        .await
        .expect("storefront");
    assert_eq!(back.status().as_u16(), 303);
    let cookie = back
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .to_string();
    let login = manual_client()
        .get(format!("{}/login", urls.storefront))
        .header("cookie", cookie)
        .send()
        .await
        .expect("storefront");
    let html = login.text().await.unwrap_or_default();
    assert!(
        html.contains("Amazonでのログインがキャンセルされました。"),
        "{html}"
    );
    // Unknown or malformed states get a Japanese error page (nowhere safe to redirect to).
    for url in [
        format!(
            "{}/v1/amazon-pay/signin/return?state=0123456789abcdef0123456789abcdef&buyerToken=x",
            urls.edge
        ),
        format!(
            "{}/v1/amazon-pay/signin/return?state=../../x&buyerToken=x",
            urls.edge
        ),
    ] {
        let r = manual_client().get(&url).send().await.expect("edge");
        assert_eq!(r.status().as_u16(), 400);
        assert!(r.headers().get("location").is_none());
        assert!(
            r.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.starts_with("text/html"))
        );
        assert!(r.text().await.unwrap_or_default().contains("サインイン"));
    }
}

#[tokio::test]
async fn new_endpoints_check_origin_secret_and_return_url() {
    let urls = stack();
    let p = create_payment(1500).await;
    let good = json!({ "return_url": amazon_return_url() });
    let button_url = format!("{}/v1/checkout/{}/amazon-pay/button", urls.edge, id_of(&p));
    let secret = p["client_secret"].as_str().expect("secret").to_string();

    // A foreign page cannot get a signed button.
    let r = client()
        .post(&button_url)
        .header("origin", "https://evil.example")
        .header("x-client-secret", &secret)
        .json(&good)
        .send()
        .await
        .expect("edge");
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.headers().get("access-control-allow-origin").is_none());
    // The storefront's preflight is answered for its origin only.
    assert_eq!(
        cors_preflight(&button_url, &urls.storefront).await,
        (204, Some(urls.storefront.clone()))
    );
    // Wrong client secret: as if the payment did not exist.
    let r = client()
        .post(&button_url)
        .header("origin", &urls.storefront)
        .header(
            "x-client-secret",
            format!("{}x", &secret[..secret.len() - 1]),
        )
        .json(&good)
        .send()
        .await
        .expect("edge");
    assert_eq!(r.status().as_u16(), 404);
    // A return URL on another origin (an open redirect) or anything but return_url is refused.
    for body in [
        json!({ "return_url": "https://evil.example/return" }),
        json!({ "return_url": "javascript:alert(1)" }),
        json!({ "return_url": format!("{}@evil.example/x", urls.storefront) }),
        json!({ "return_url": "/relative" }),
        json!({ "return_url": amazon_return_url(), "amount": 1 }),
        json!({}),
    ] {
        let (status, err) = amazon_button(&p, body.clone()).await;
        assert_eq!(status, 400, "{body}: {err}");
        assert!(
            err["error"]["message_ja"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let (status, ok) = amazon_button(&p, good.clone()).await;
    assert_eq!(status, 200, "{ok}");

    // Sign-in button: only from an allowed Origin, with a safe return URL and a nonce.
    let body =
        json!({ "return_url": format!("{}/login", urls.storefront), "nonce": "nonce-12345678" });
    assert_eq!(signin_button(None, body.clone()).await.0, 403);
    assert_eq!(
        signin_button(Some("https://evil.example"), body.clone())
            .await
            .0,
        403
    );
    let (status, err) = signin_button(
        Some(&urls.storefront),
        json!({ "return_url": "https://evil.example/login", "nonce": "nonce-12345678" }),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["param"], "return_url");
    let (status, err) = signin_button(
        Some(&urls.storefront),
        json!({ "return_url": format!("{}/login", urls.storefront), "nonce": "short" }),
    )
    .await;
    assert_eq!(
        (status, err["error"]["param"].clone()),
        (400, json!("nonce"))
    );
    let (status, ok) = signin_button(Some(&urls.storefront), body).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(ok["merchant_id"], amazon_config(&p).await["merchant_id"]);

    // Navigations for an unknown payment: a Japanese error page, no redirect.
    let r = manual_client()
        .get(format!(
            "{}/v1/amazon-pay/result?payment=pay_000000000000000000000000&amazonCheckoutSessionId=x",
            urls.edge
        ))
        .send()
        .await
        .expect("edge");
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.headers().get("location").is_none());
    assert!(
        r.text()
            .await
            .unwrap_or_default()
            .contains("お支払い情報が見つかりません")
    );
    // A result for a session that is not the payment's: back to the shop with an error, and
    // Amazon is not asked to complete anything.
    let r = nav_get(&format!(
        "{}/v1/amazon-pay/result?payment={}&amazonCheckoutSessionId=00000000-0000-4000-8000-000000000000",
        urls.edge,
        id_of(&p)
    ))
    .await;
    assert_eq!(r.status, 303);
    assert!(
        r.location
            .as_deref()
            .is_some_and(|l| l.ends_with("kessai_amazon=error")),
        "{r:?}"
    );
    assert_eq!(
        amazon_requests(
            Some("CompleteCheckoutSession"),
            Some("00000000-0000-4000-8000-000000000000")
        )
        .await
        .len(),
        0
    );
}

#[tokio::test]
async fn keys_signatures_tokens_and_buyer_data_never_reach_the_logs() {
    let urls = stack();
    // A checkout (with a lost answer, so the warning paths log too) and a sign-in.
    let p = create_payment(3900).await;
    let (status, b) = amazon_button(&p, json!({ "return_url": amazon_return_url() })).await;
    assert_eq!(status, 200);
    let (result, cs) = to_result(&p, buyers::ICHIRO.key, 0).await;
    amazon_fault(json!({ "api": "CompleteCheckoutSession", "object_id": cs, "drop_answer": true }))
        .await;
    let done = nav_get(&result).await;
    assert_eq!(done.status, 303);
    let back = signin_to_return(
        buyers::ICHIRO.key,
        &format!("{}/login/amazon", urls.storefront),
        "nonce-logcheck-0001",
    )
    .await;
    let token = query_param(&back, "buyerToken").expect("buyer token");
    let page = nav_get(&back).await;
    let jws = form_value(&page.body, "kessai_amazon_assertion").expect("assertion");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let log = std::fs::read_to_string(urls.state_dir.join(kessai_demo::stack::EDGE_LOG))
        .expect("wrangler log");
    assert!(
        log.contains("/v1/amazon-pay/"),
        "the log is the worker's request log"
    );
    let key_body: String = urls
        .amazon_private_key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .take(2)
        .collect();
    for (what, secret) in [
        ("private key", key_body),
        ("assertion key", urls.assertion_signing_key.clone()),
        (
            "button signature",
            b["signature"].as_str().unwrap_or("").to_string(),
        ),
        ("buyer token", token),
        ("assertion", jws),
        ("buyer e-mail", buyers::ICHIRO.email.to_string()),
        ("buyer name", buyers::ICHIRO.name.to_string()),
        ("address", "天神".to_string()),
        (
            "client secret",
            p["client_secret"].as_str().unwrap_or("").to_string(),
        ),
    ] {
        assert!(!secret.is_empty(), "{what}");
        assert!(!log.contains(&secret), "{what} reached the log");
    }
    assert!(
        !log.contains("AMZN-PAY-RSASSA-PSS-V2 PublicKeyId"),
        "an Authorization header reached the log"
    );
}

/// Sends a signed Amazon Pay API call from the test (a native signer, not the edge's): plays
/// someone who changes a checkout session behind the edge's back.
async fn signed_call(
    method: kessai_core::amazon::request::HttpMethod,
    resource: &str,
    body: Option<String>,
    public_key_id: &str,
) -> (u16, Value) {
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{RandomizedSigner, SignatureEncoding};
    let urls = stack();
    let cfg = kessai_core::amazon::request::ApiConfig {
        base_url: urls.amazon_sandbox.clone(),
        environment: kessai_core::amazon::request::Environment::Sandbox,
        region: "jp".into(),
        public_key_id: public_key_id.into(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let unsigned = kessai_core::amazon::request::build(
        &cfg,
        method,
        resource,
        body,
        None,
        kessai_core::jst::UnixMillis(now),
    );
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&urls.amazon_private_key_pem).expect("key");
    let signer = rsa::pss::SigningKey::<Sha256>::new_with_salt_len(key, 32);
    let sig = signer.sign_with_rng(
        &mut rsa::rand_core::OsRng,
        unsigned.string_to_sign.as_bytes(),
    );
    let signed = unsigned.signed(&STANDARD.encode(sig.to_bytes()));
    let mut req = client().request(
        reqwest::Method::from_bytes(signed.method.as_str().as_bytes()).expect("method"),
        &signed.url,
    );
    for (k, v) in &signed.headers {
        req = req.header(k, v);
    }
    let resp = req.body(signed.body.clone()).send().await.expect("sandbox");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_session_amount_changed_behind_the_edge_is_never_authorized() {
    let p = create_payment(5000).await;
    let id = id_of(&p);
    let cfg = amazon_config(&p).await;
    let (review, cs) = to_review(&p, buyers::TARO.key, 0).await;
    // The edge's review sets the stored amount on the session.
    let r = nav_get(&review).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let processing = r.location.expect("amazonPayRedirectUrl");
    // Someone with API access lowers the session's amount to ¥1 before the buyer confirms.
    let (status, updated) = signed_call(
        kessai_core::amazon::request::HttpMethod::Patch,
        &format!("checkoutSessions/{cs}"),
        Some(
            json!({ "paymentDetails": { "paymentIntent": "Authorize", "canHandlePendingAuthorization": false,
                    "chargeAmount": { "amount": "1", "currencyCode": "JPY" } } })
            .to_string(),
        ),
        cfg["public_key_id"].as_str().unwrap_or(""),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["paymentDetails"]["chargeAmount"]["amount"], "1");
    let pr = nav_get(&processing).await;
    let result = pr.location.expect("result");
    let done = nav_get(&result).await;
    assert_eq!(done.status, 303);
    assert!(
        done.location
            .as_deref()
            .is_some_and(|l| l.ends_with("kessai_amazon=error")),
        "{done:?}"
    );
    // The edge completed with the stored ¥5,000, Amazon refused the mismatch, nothing is 仮売上.
    let completes = amazon_requests(Some("CompleteCheckoutSession"), Some(&cs)).await;
    assert_eq!(completes.len(), 1, "{completes:?}");
    assert_eq!(completes[0]["status"], 409);
    assert_eq!(completes[0]["reason_code"], "AmountMismatch");
    let after = payment(&id).await;
    assert_eq!(after["state"], "requires_payment", "{after}");
    assert_eq!(after["last_error"]["code"], "amazon_amount_rule");
    assert_eq!(after["amazon_pay"]["charge_id"], Value::Null);
}

#[tokio::test]
async fn an_outcome_amazon_cannot_tell_yet_stays_unknown_and_is_settled_by_the_widgets_poll() {
    let p = create_payment(8800).await;
    let id = id_of(&p);
    let (result, cs) = to_result(&p, buyers::TARO.key, 2).await;
    // Complete's answer is lost, and the next three Get Checkout Session answers (the first call
    // and the transport's two repeats) come later than the edge waits. (A delay, not a dropped
    // connection: an HTTP client may silently resend a GET whose connection closed.)
    amazon_fault(json!({ "api": "CompleteCheckoutSession", "object_id": cs, "drop_answer": true }))
        .await;
    amazon_fault(json!({
        "api": "GetCheckoutSession",
        "object_id": cs,
        "delay_ms": TEST_AMAZON_TIMEOUT_MS + 1_000,
        "times": 3
    }))
    .await;
    let done = nav_get(&result).await;
    assert_eq!(done.status, 303);
    assert!(
        done.location
            .as_deref()
            .is_some_and(|l| l.ends_with("kessai_amazon=error")),
        "{done:?}"
    );
    let open = payment(&id).await;
    assert_eq!(open["state"], "unknown", "{open}");
    assert_eq!(open["state_label_ja"], "結果不明");
    // Neither a card payment nor another Amazon button may start while the outcome is open.
    let (status, body) = amazon_button(&p, json!({ "return_url": amazon_return_url() })).await;
    assert_eq!(status, 409, "{body}");
    // The widget's poll asks Amazon again and settles it: 仮売上, still one Complete.
    let (status, view) = checkout_config(&p).await;
    assert_eq!(
        (status, view["state"].clone()),
        (200, json!("authorized")),
        "{view}"
    );
    let log = amazon_requests(None, Some(&cs)).await;
    assert_eq!(count_api(&log, "CompleteCheckoutSession"), 1, "{log:?}");
    let after = payment(&id).await;
    assert_eq!(
        after["amazon_pay"]["shipping_address"]["state_or_region"],
        "愛知県"
    );
    // Nagoya comes with an empty city; the municipality stays in address_line1 as Amazon sent it.
    assert_eq!(after["amazon_pay"]["shipping_address"]["city"], Value::Null);
    assert_eq!(
        after["amazon_pay"]["shipping_address"]["address_line1"],
        "名古屋市中区三の丸3-1-1"
    );
    let kinds = event_kinds(&after);
    assert!(
        kinds.contains(&"amazon_outcome_unknown".to_string()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"amazon_reconciled".to_string()),
        "{kinds:?}"
    );
}
