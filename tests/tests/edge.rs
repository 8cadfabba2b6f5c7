//! The edge worker running in workerd (`wrangler dev`) with local D1, against the GMO sandbox.
//! Every test creates its own payment through the merchant API and drives it like the widget.

use kessai_sandbox::test_cards;
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

fn secret(p: &Value) -> String {
    p["client_secret"]
        .as_str()
        .expect("client secret")
        .to_string()
}

#[tokio::test]
async fn card_payment_is_authorized_once_and_recorded() {
    let p = create_payment(3300).await;
    assert_eq!(p["state"], "requires_payment");
    assert_eq!(p["state_label_ja"], "未決済");
    let token = token_for(test_cards::APPROVED).await;
    let (status, body) = widget_post(&p, json!({ "token": token })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "authorized");
    assert_eq!(body["state_label_ja"], "仮売上");

    let after = payment(p["id"].as_str().unwrap_or("")).await;
    assert_eq!(after["state"], "authorized");
    assert_eq!(after["amount"], 3300);
    assert!(
        after["gateway"]["tran_id"]
            .as_str()
            .is_some_and(|t| t.len() == 28),
        "{after}"
    );
    assert_eq!(
        event_kinds(&after),
        vec!["created", "authorization_started", "authorized"]
    );
    // The merchant view never exposes the AccessPass.
    assert!(!after.to_string().contains("access_pass"));

    let reqs = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(count_api(&reqs, "EntryTran"), 1);
    assert_eq!(count_api(&reqs, "ExecTran"), 1);
    let entry = reqs
        .iter()
        .find(|r| r["api"] == "EntryTran")
        .expect("entry");
    assert_eq!(
        entry["params"]["Amount"], "3300",
        "the amount comes from the merchant API"
    );
    assert_eq!(entry["params"]["JobCd"], "AUTH");

    // A retry of the same request (or a second tab) after success changes nothing at GMO.
    let token2 = token_for(test_cards::APPROVED).await;
    let (status, body) = widget_post(&p, json!({ "token": token2 })).await;
    assert_eq!((status, body["state"].clone()), (200, json!("authorized")));
    assert_eq!(
        count_api(&gateway_requests(&gmo_order(&p)).await, "ExecTran"),
        1
    );
}

#[tokio::test]
async fn automatic_capture_mode_records_captured() {
    let (status, p) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("C"), "amount": 1620, "capture": "automatic" })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let (status, body) = widget_post(
        &p,
        json!({ "token": token_for(test_cards::APPROVED).await }),
    )
    .await;
    assert_eq!(
        (status, body["state"].clone()),
        (200, json!("captured")),
        "{body}"
    );
    let reqs = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(
        reqs.iter()
            .find(|r| r["api"] == "EntryTran")
            .map(|r| r["params"]["JobCd"].clone()),
        Some(json!("CAPTURE"))
    );
}

#[tokio::test]
async fn concurrent_double_submit_calls_the_gateway_once() {
    let p = create_payment(2750).await;
    let (t1, t2, t3) = tokio::join!(
        token_for(test_cards::APPROVED),
        token_for(test_cards::APPROVED),
        token_for(test_cards::APPROVED)
    );
    let (a, b, c) = tokio::join!(
        widget_post(&p, json!({ "token": t1 })),
        widget_post(&p, json!({ "token": t2 })),
        widget_post(&p, json!({ "token": t3 }))
    );
    let statuses = [a.0, b.0, c.0];
    assert!(statuses.contains(&200), "{statuses:?} {a:?} {b:?} {c:?}");
    for (st, body) in [&a, &b, &c] {
        assert!(
            *st == 200 || (*st == 409 && body["error"]["code"] == "payment_in_progress"),
            "{st} {body}"
        );
    }
    let reqs = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(
        count_api(&reqs, "ExecTran"),
        1,
        "exactly one authorisation reaches GMO"
    );
    assert_eq!(count_api(&reqs, "EntryTran"), 1);
    assert_eq!(
        payment(p["id"].as_str().unwrap_or("")).await["state"],
        "authorized"
    );
}

#[tokio::test]
async fn decline_shows_japanese_message_and_payment_stays_payable() {
    let p = create_payment(5000).await;
    let (status, body) = widget_post(
        &p,
        json!({ "token": token_for(test_cards::INSUFFICIENT_FUNDS).await }),
    )
    .await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(body["error"]["code"], "card_declined");
    assert!(
        body["error"]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("残高が不足")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("balance"))
    );
    let after = payment(p["id"].as_str().unwrap_or("")).await;
    assert_eq!(after["state"], "requires_payment");
    assert_eq!(after["last_error"]["err_info"], "42G020000");

    // The shopper tries another card: same GMO transaction (AccessID), no second EntryTran.
    let (status, body) = widget_post(
        &p,
        json!({ "token": token_for(test_cards::APPROVED).await }),
    )
    .await;
    assert_eq!(
        (status, body["state"].clone()),
        (200, json!("authorized")),
        "{body}"
    );
    let reqs = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(count_api(&reqs, "EntryTran"), 1);
    assert_eq!(count_api(&reqs, "ExecTran"), 2);
}

#[tokio::test]
async fn shopper_input_errors_point_at_the_field() {
    for (card, field, word) in [
        (test_cards::WRONG_CVC, "cvc", "セキュリティコード"),
        (test_cards::WRONG_NUMBER, "number", "カード番号"),
        (test_cards::EXPIRED_CARD, "expiry", "有効期限"),
    ] {
        let p = create_payment(1000).await;
        let (status, body) = widget_post(&p, json!({ "token": token_for(card).await })).await;
        assert_eq!(status, 402, "{card}: {body}");
        assert_eq!(body["error"]["code"], "card_input", "{card}");
        assert_eq!(body["error"]["field"], field, "{card}");
        assert!(
            body["error"]["message_ja"]
                .as_str()
                .is_some_and(|m| m.contains(word)),
            "{body}"
        );
    }
    let p = create_payment(1000).await;
    let (status, body) = widget_post(
        &p,
        json!({ "token": token_for(test_cards::CARD_UNUSABLE).await }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (402, json!("card_declined"))
    );
    assert!(
        body["error"]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("ご利用いただけません"))
    );
}

#[tokio::test]
async fn used_token_is_refused_with_reentry_message() {
    let token = token_for(test_cards::APPROVED).await;
    let first = create_payment(1200).await;
    let second = create_payment(1300).await;
    let (status, _) = widget_post(&first, json!({ "token": token })).await;
    assert_eq!(status, 200);
    let (status, body) = widget_post(&second, json!({ "token": token })).await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(body["error"]["field"], "token");
    assert_eq!(
        payment(second["id"].as_str().unwrap_or("")).await["state"],
        "requires_payment"
    );
}

#[tokio::test]
async fn busy_gateway_is_retried_with_backoff() {
    let p = create_payment(4400).await;
    let (status, body) =
        widget_post(&p, json!({ "token": token_for(test_cards::BUSY).await })).await;
    assert_eq!(
        (status, body["state"].clone()),
        (200, json!("authorized")),
        "{body}"
    );
    assert_eq!(
        count_api(&gateway_requests(&gmo_order(&p)).await, "ExecTran"),
        3,
        "two E92 answers, then success"
    );
}

/// One ExecTran (never blindly retried), one SearchTrade, and the reconciliation in the history.
async fn assert_reconciled_once(p: &Value) {
    let reqs = gateway_requests(&gmo_order(p)).await;
    assert_eq!(count_api(&reqs, "ExecTran"), 1, "never blindly retried");
    assert_eq!(count_api(&reqs, "SearchTrade"), 1);
    let after = payment(p["id"].as_str().unwrap_or("")).await;
    assert!(
        event_kinds(&after).contains(&"reconciled".to_string()),
        "{after}"
    );
}

#[tokio::test]
async fn unknown_outcomes_are_reconciled_before_answering() {
    for card in [test_cards::UNKNOWN_OUTCOME, test_cards::ISSUER_TIMEOUT] {
        let p = create_payment(6600).await;
        let (status, body) = widget_post(&p, json!({ "token": token_for(card).await })).await;
        // The sandbox committed the authorisation but answered E91 / 42C: SearchTrade finds it.
        assert_eq!(
            (status, body["state"].clone()),
            (200, json!("authorized")),
            "{card}: {body}"
        );
        assert_reconciled_once(&p).await;
    }
}

#[tokio::test]
async fn lost_answer_is_reconciled_not_retried() {
    let p = create_payment(7700).await;
    let token = token_for(test_cards::APPROVED).await;
    // GMO authorises but its answer arrives after the edge's timeout.
    sandbox_fault("ExecTran", &gmo_order(&p), TEST_GMO_TIMEOUT_MS + 2_000, 1).await;
    let started = std::time::Instant::now();
    let (status, body) = widget_post(&p, json!({ "token": token })).await;
    assert!(
        started.elapsed().as_millis() < u128::from(TEST_GMO_TIMEOUT_MS + 2_000),
        "the edge gave up waiting"
    );
    assert_eq!(
        (status, body["state"].clone()),
        (200, json!("authorized")),
        "{body}"
    );
    assert_reconciled_once(&p).await;
}

#[tokio::test]
async fn call_still_running_at_gmo_stays_unknown_until_it_settles() {
    let p = create_payment(8800).await;
    let token = token_for(test_cards::APPROVED).await;
    // GMO is still executing ExecTran when the edge gives up and asks SearchTrade.
    let late_ms = TEST_GMO_TIMEOUT_MS + 1_500;
    sandbox_fault_spec(json!({
        "api": "ExecTran", "order_id": gmo_order(&p), "delay_ms": late_ms, "times": 1, "execute_late": true
    }))
    .await;
    let (status, body) = widget_post(&p, json!({ "token": token })).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        body["state"], "unknown",
        "UNPROCESSED right after a timeout is no proof: {body}"
    );
    assert!(
        body["error"]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("確認中"))
    );
    // A second attempt meanwhile must not start another authorisation.
    let (status2, body2) = widget_post(
        &p,
        json!({ "token": token_for(test_cards::APPROVED).await }),
    )
    .await;
    assert_eq!(
        (status2, body2["state"].clone()),
        (202, json!("unknown")),
        "{body2}"
    );
    // The widget's polling settles it once GMO has finished.
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let (_, v) = checkout_config(&p).await;
    assert_eq!(v["state"], "authorized", "{v}");
    let reqs = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(
        count_api(&reqs, "ExecTran"),
        1,
        "one authorisation at GMO: {reqs:?}"
    );
    let after = payment(p["id"].as_str().unwrap_or("")).await;
    assert!(
        event_kinds(&after).contains(&"outcome_pending".to_string()),
        "{after}"
    );
}

#[tokio::test]
async fn merchant_api_requires_the_secret_key() {
    let urls = stack();
    for auth in [
        None,
        Some("Bearer sk_wrong"),
        Some("sk_test_kessai_demo_merchant_key"),
    ] {
        let mut req = client()
            .post(format!("{}/v1/payments", urls.edge))
            .json(&json!({ "order_id": "x", "amount": 100 }));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.expect("edge");
        assert_eq!(resp.status().as_u16(), 401);
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "unauthorized");
        assert!(body["error"]["message_ja"].is_string());
    }
}

#[tokio::test]
async fn bad_amounts_and_orders_get_clear_errors() {
    for (body, param) in [
        (json!({ "order_id": order_id("B"), "amount": 0 }), "amount"),
        (
            json!({ "order_id": order_id("B"), "amount": 10_000_000 }),
            "amount",
        ),
        (
            json!({ "order_id": order_id("B"), "amount": 12.5 }),
            "amount",
        ),
        (
            json!({ "order_id": order_id("B"), "amount": "3300" }),
            "amount",
        ),
        (json!({ "amount": 3300 }), "order_id"),
        (
            json!({ "order_id": order_id("B"), "amount": 3300, "capture": "later" }),
            "capture",
        ),
    ] {
        let (status, resp) = merchant(Method::POST, "/v1/payments", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {resp}");
        assert_eq!(resp["error"]["param"], param, "{resp}");
        assert!(
            resp["error"]["message_ja"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
}

#[tokio::test]
async fn same_order_resumes_and_follows_a_changed_total() {
    let oid = order_id("R");
    let (s1, a) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": oid, "amount": 3000 })),
    )
    .await;
    let (s2, b) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": oid, "amount": 3000 })),
    )
    .await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(a["id"], b["id"]);
    // Declined once (EntryTran done for ¥3,000), then the cart changes: a new GMO OrderID.
    let (st, _) = widget_post(
        &a,
        json!({ "token": token_for(test_cards::INSUFFICIENT_FUNDS).await }),
    )
    .await;
    assert_eq!(st, 402);
    let (s3, c) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": oid, "amount": 3550 })),
    )
    .await;
    assert_eq!(s3, 200, "{c}");
    assert_eq!(c["amount"], 3550);
    assert_ne!(gmo_order(&c), gmo_order(&a));
    let (st, body) = widget_post(
        &c,
        json!({ "token": token_for(test_cards::APPROVED).await }),
    )
    .await;
    assert_eq!((st, body["amount"].clone()), (200, json!(3550)), "{body}");
    // Paid orders are not re-opened.
    let (s4, d) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": oid, "amount": 3550 })),
    )
    .await;
    assert_eq!(
        (s4, d["error"]["code"].clone()),
        (409, json!("order_has_payment"))
    );
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer() {
    let urls = stack();
    let key = order_id("idem");
    let body = json!({ "order_id": order_id("I"), "amount": 2200 });
    let send = |b: Value| {
        client()
            .post(format!("{}/v1/payments", urls.edge))
            .bearer_auth(kessai_demo::stack::MERCHANT_SECRET_KEY)
            .header("idempotency-key", &key)
            .json(&b)
            .send()
    };
    let r1 = send(body.clone()).await.expect("edge");
    let (s1, v1): (u16, Value) = (r1.status().as_u16(), r1.json().await.expect("json"));
    let r2 = send(body.clone()).await.expect("edge");
    let (s2, v2): (u16, Value) = (r2.status().as_u16(), r2.json().await.expect("json"));
    assert_eq!(
        (s1, s2),
        (201, 201),
        "the replay is the stored first answer"
    );
    assert_eq!(v1, v2);
    let r3 = send(json!({ "order_id": order_id("I"), "amount": 2300 }))
        .await
        .expect("edge");
    assert_eq!(r3.status().as_u16(), 422);
}

#[tokio::test]
async fn widget_api_is_scoped_and_takes_only_tokens() {
    let p = create_payment(999).await;
    let id = p["id"].as_str().unwrap_or("");
    // A guessed or missing secret for a real payment id is not found.
    for guess in [
        format!("{id}_secret_00000000000000000000000000000000"),
        String::new(),
    ] {
        let (status, body) = widget_post_with(id, &guess, json!({ "token": "x" })).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (404, json!("checkout_not_found"))
        );
    }
    // Card data is refused outright.
    let (status, body) = widget_post(
        &p,
        json!({ "token": "abc", "cardno": test_cards::APPROVED, "securitycode": "123" }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    // The checkout config carries what the widget needs, and no merchant secrets.
    let (_, v) = checkout_config(&p).await;
    assert_eq!(v["amount"], 999);
    assert_eq!(
        v["card"]["shop_id"],
        kessai_sandbox::SandboxConfig::default().shop_id
    );
    assert!(
        !v.to_string()
            .contains(&kessai_sandbox::SandboxConfig::default().shop_pass)
    );
    assert!(!v.to_string().contains("client_secret"));
}

#[tokio::test]
async fn cors_is_limited_to_configured_storefronts() {
    let urls = stack();
    let p = create_payment(500).await;
    let url = format!(
        "{}/v1/checkout/{}/card",
        urls.edge,
        p["id"].as_str().unwrap_or("")
    );
    assert_eq!(
        cors_preflight(&url, &urls.storefront).await,
        (204, Some(urls.storefront.clone()))
    );
    assert_eq!(
        cors_preflight(&url, "https://evil.example").await,
        (403, None)
    );
    let post = client()
        .post(&url)
        .header("origin", "https://evil.example")
        .header("x-client-secret", secret(&p))
        .json(&json!({ "token": "t" }))
        .send()
        .await
        .expect("edge");
    assert_eq!(post.status().as_u16(), 403);
    assert_eq!(
        payment(p["id"].as_str().unwrap_or("")).await["state"],
        "requires_payment"
    );
}

#[tokio::test]
async fn secrets_tokens_and_card_data_never_reach_the_logs() {
    let p = create_payment(3456).await;
    let token = token_for(test_cards::APPROVED).await;
    let (status, _) = widget_post(&p, json!({ "token": token })).await;
    assert_eq!(status, 200);
    let declined = create_payment(3457).await;
    let token2 = token_for(test_cards::INSUFFICIENT_FUNDS).await;
    let (status, _) = widget_post(&declined, json!({ "token": token2 })).await;
    assert_eq!(status, 402);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let log = std::fs::read_to_string(stack().state_dir.join(kessai_demo::stack::EDGE_LOG))
        .expect("wrangler log");
    assert!(
        log.contains("/v1/checkout/"),
        "the log is the worker's request log"
    );
    let shop_pass = kessai_sandbox::SandboxConfig::default().shop_pass;
    for secret in [
        secret(&p),
        secret(&declined),
        token,
        token2,
        shop_pass,
        kessai_demo::stack::MERCHANT_SECRET_KEY.to_string(),
    ] {
        assert!(!log.contains(&secret), "a secret reached the log");
    }
    assert!(!log.contains(test_cards::APPROVED) && !log.contains(test_cards::INSUFFICIENT_FUNDS));
}

/// The route table's checks, applied before any handler (issue #12): unknown routes, the caller
/// before the body, and the body limits (nothing is created by a refused request).
#[tokio::test]
async fn the_route_table_checks_caller_and_body_limits_before_any_handler() {
    let urls = stack();
    let key = kessai_demo::stack::MERCHANT_SECRET_KEY;
    let send = |method: Method, path: &str, auth: Option<&str>, body: Vec<u8>| {
        let mut req = client()
            .request(method, format!("{}{path}", urls.edge))
            .header("content-type", "application/json")
            .body(body);
        if let Some(a) = auth {
            req = req.bearer_auth(a);
        }
        async move {
            let resp = req.send().await.expect("edge");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    // Neither another method nor another path reaches a handler.
    for (method, path) in [
        (Method::DELETE, "/v1/payments"),
        (Method::GET, "/v1/nothing"),
        (Method::GET, "/console/api/nothing"),
        (Method::POST, "/v1/payments/x/capture/again"),
    ] {
        let (status, body) = send(method.clone(), path, Some(key), Vec::new()).await;
        assert_eq!(
            (status, body["error"]["code"].clone()),
            (404, json!("not_found")),
            "{method} {path}"
        );
    }
    // A body over 64 KiB is refused with 413 and creates nothing.
    let oid = order_id("BIG");
    let big = json!({ "order_id": oid, "amount": 100, "customer_name": "あ".repeat(30_000) });
    let big = big.to_string().into_bytes();
    assert!(big.len() > 64 * 1024);
    let (status, body) = send(Method::POST, "/v1/payments", Some(key), big.clone()).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (413, json!("body_too_large")),
        "{body}"
    );
    assert!(body["error"]["message_ja"].is_string());
    let (_, list) = merchant(Method::GET, &format!("/v1/payments?q={oid}"), None).await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(0), "{list}");
    // The caller is checked before the body is read: a wrong key learns nothing from its body.
    let (status, body) = send(Method::POST, "/v1/payments", Some("sk_wrong"), big).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (401, json!("unauthorized"))
    );
    let (status, _) = send(
        Method::POST,
        "/v1/payments",
        Some("sk_wrong"),
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(status, 401);
    // A wrong client secret with a malformed body: not found, not a parse error.
    let p = create_payment(300).await;
    let id = p["id"].as_str().unwrap_or("");
    let resp = client()
        .post(format!("{}/v1/checkout/{id}/card", urls.edge))
        .header("x-client-secret", "wrong")
        .body("{not json")
        .send()
        .await
        .expect("edge");
    assert_eq!(resp.status().as_u16(), 404);
    // Gateway notifications have their own, smaller or equal, limits.
    let (status, body) = send(Method::POST, "/v1/notify/gmo", None, vec![b'a'; 17 * 1024]).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (413, json!("body_too_large"))
    );
    let (status, body) = send(
        Method::POST,
        "/api/amazonpay2/ipn.php",
        None,
        vec![b' '; 65 * 1024],
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (413, json!("body_too_large"))
    );
    // Within the limit, the same routes still answer as before.
    let (status, _) = send(Method::POST, "/v1/notify/gmo", None, b"ShopID=x".to_vec()).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn risk_data_is_checked_stored_normalised_and_replaced_on_resume() {
    let oid = order_id("RISK");
    let risk = json!({
        "email": "taro@example.jp",
        "billing_address": {"postal_code": "100-0001", "prefecture": "東京都",
            "city": "千代田区", "line1": "千代田1-1"},
        "account_created_on": "2024-04-01"
    });
    let (status, p) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": oid, "amount": 1200, "risk": risk })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["risk"]["billing_address"]["postal_code"], "1000001");
    assert_eq!(p["risk"]["billing_address"]["prefecture"], "13");
    assert_eq!(p["risk"]["account_created_on"], "2024-04-01");
    assert_eq!(p["risk"]["shipping_address"], Value::Null);

    // Each bad field is named, in both languages, and nothing is created or changed.
    for (bad, param) in [
        (json!({"email": "taro"}), "risk.email"),
        (
            json!({"billing_address": {"postal_code": "1000001", "prefecture": "東京州",
            "city": "c", "line1": "l"}}),
            "risk.billing_address.prefecture",
        ),
        (
            json!({"account_created_on": "2024-13-01"}),
            "risk.account_created_on",
        ),
        (json!({"phone": "0312345678"}), "risk.phone"),
    ] {
        let (status, body) = merchant(
            Method::POST,
            "/v1/payments",
            Some(json!({ "order_id": oid, "amount": 1200, "risk": bad })),
        )
        .await;
        assert_eq!(
            (status, body["error"]["param"].as_str()),
            (400, Some(param)),
            "{body}"
        );
        assert!(body["error"]["message_ja"].is_string(), "{body}");
    }
    let id = p["id"].as_str().unwrap_or("");
    assert_eq!(payment(id).await["risk"], p["risk"]);

    // Resuming without `risk` keeps it; with `risk` replaces it (nothing charged yet).
    let (status, again) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": oid, "amount": 1200 })),
    )
    .await;
    assert_eq!((status, &again["risk"]), (200, &p["risk"]), "{again}");
    let (status, again) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": oid, "amount": 1200,
            "risk": {"email": "hanako@example.jp"} })),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["risk"]["email"], "hanako@example.jp");
    assert_eq!(again["risk"]["billing_address"], Value::Null);
}
