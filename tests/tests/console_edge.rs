//! The operator console's edge side in workerd (wrangler dev, real D1) against both sandboxes:
//! operator login (WebCrypto PBKDF2), sessions, lockout, the CSRF header, no anonymous access;
//! the list's filters, search and countdown; previews; reconcile's two sides; and
//! 「エラーを無視して変更する」 (issue #4).

use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Every merchant endpoint and console API, without credentials.
const PROTECTED: [(&str, &str); 12] = [
    ("GET", "/v1/payments"),
    ("GET", "/v1/payments/pay_000000000000000000000000"),
    ("POST", "/v1/payments"),
    ("POST", "/v1/payments/pay_000000000000000000000000/capture"),
    ("POST", "/v1/payments/pay_000000000000000000000000/amount"),
    ("POST", "/v1/payments/pay_000000000000000000000000/cancel"),
    ("POST", "/v1/payments/pay_000000000000000000000000/refund"),
    (
        "POST",
        "/v1/payments/pay_000000000000000000000000/reconcile",
    ),
    ("POST", "/v1/payments/pay_000000000000000000000000/force"),
    ("POST", "/v1/payments/bulk/capture"),
    ("GET", "/console/api/me"),
    ("POST", "/console/api/logout"),
];

fn method(m: &str) -> Method {
    Method::from_bytes(m.as_bytes()).expect("method")
}

#[tokio::test]
async fn no_anonymous_access_to_any_merchant_or_console_api() {
    let forged = "kessai_console=".to_string() + &"ab".repeat(32);
    for (m, path) in PROTECTED {
        for cookie in [None, Some("kessai_console=short"), Some(forged.as_str())] {
            for csrf in [false, true] {
                let (status, _, body) =
                    console_call(method(m), path, cookie, csrf, Some(json!({}))).await;
                assert_eq!(status, 401, "{m} {path} cookie={cookie:?}: {body}");
                assert_eq!(body["error"]["code"], "unauthorized", "{body}");
            }
        }
    }
    // A wrong merchant key is refused even with a valid session beside it.
    let session = operator_session().await;
    let resp = client()
        .get(format!("{}/v1/payments", stack().edge))
        .bearer_auth("sk_wrong")
        .header("cookie", &session)
        .send()
        .await
        .expect("edge");
    assert_eq!(resp.status().as_u16(), 401);
    // The console page itself is static and public (it holds nothing); its API is not.
    let page = client()
        .get(format!("{}/console/", stack().edge))
        .send()
        .await
        .expect("edge");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap_or_default().contains("console.js"));
}

#[tokio::test]
async fn login_sets_a_strict_session_cookie_and_logout_ends_it() {
    let (name, password) = operator_login();
    let (status, cookie, set_cookie, body) = console_login(&name, &password).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["operator"], name.as_str());
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(set_cookie.contains(attr), "{attr} missing: {set_cookie}");
    }
    let cookie = cookie.expect("cookie");
    let token = cookie.trim_start_matches("kessai_console=").to_string();
    assert_eq!(token.len(), 64);

    let (status, _, me) =
        console_call(Method::GET, "/console/api/me", Some(&cookie), false, None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["operator"], name.as_str());
    // The session works on the merchant API (reads need no header).
    let (status, _, list) =
        console_call(Method::GET, "/v1/payments", Some(&cookie), false, None).await;
    assert_eq!(status, 200, "{list}");

    // Logout is state-changing: without the CSRF header it is refused and the session lives.
    let (status, _, body) = console_call(
        Method::POST,
        "/console/api/logout",
        Some(&cookie),
        false,
        None,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "csrf_header_missing");
    let (status, cleared, _) = console_call(
        Method::POST,
        "/console/api/logout",
        Some(&cookie),
        true,
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let (status, _, _) =
        console_call(Method::GET, "/console/api/me", Some(&cookie), false, None).await;
    assert_eq!(status, 401, "the session ended");
    let (status, _, _) =
        console_call(Method::GET, "/v1/payments", Some(&cookie), false, None).await;
    assert_eq!(status, 401, "the old cookie opens nothing");

    // Neither the password nor the token reached the worker's log.
    let log = std::fs::read_to_string(stack().state_dir.join(kessai_demo::stack::EDGE_LOG))
        .unwrap_or_default();
    assert!(log.contains("console login"), "the login was logged");
    assert!(!log.contains(&password), "password in the log");
    assert!(!log.contains(&token), "session token in the log");
}

#[tokio::test]
async fn wrong_password_is_refused_and_repeated_failures_lock_the_name() {
    let (name, password) = operator_login();
    let (status, cookie, _, body) = console_login(&name, "not-the-password").await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "login_failed");
    assert_eq!(
        body["error"]["message_ja"],
        "ログインIDまたはパスワードが正しくありません。"
    );
    assert!(cookie.is_none());
    // One failure does not lock; the right password still works (and clears the count).
    let (status, cookie, _, body) = console_login(&name, &password).await;
    assert_eq!(status, 200, "{body}");
    assert!(cookie.is_some());

    // The second operator is locked after five failures: then even its right password is
    // refused (429, with the wait in Japanese), without checking it.
    let (manager, manager_password) = stack().operators[1].clone();
    for attempt in 1..=5 {
        let (status, _, _, body) = console_login(&manager, &format!("wrong-{attempt}")).await;
        let expected = if attempt < 5 { 401 } else { 429 };
        assert_eq!(status, expected, "attempt {attempt}: {body}");
    }
    let (status, cookie, _, body) = console_login(&manager, &manager_password).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "login_locked");
    assert!(
        body["error"]["message_ja"]
            .as_str()
            .unwrap_or("")
            .contains("ロック")
    );
    assert!(cookie.is_none());
    // Unknown names answer exactly like known ones.
    let (status, _, _, body) = console_login("nobody", "x").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "login_failed");
}

#[tokio::test]
async fn a_session_needs_the_csrf_header_to_operate_and_is_recorded_as_actor() {
    let cookie = operator_session().await;
    let p = authorized_card_payment(2750).await;
    let id = id_of(&p);
    let path = format!("/v1/payments/{id}/capture");
    let (status, _, body) = console_call(Method::POST, &path, Some(&cookie), false, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "csrf_header_missing");
    assert_eq!(
        count_api(&gateway_requests(&gmo_order(&p)).await, "AlterTran"),
        0
    );
    assert_eq!(payment(&id).await["state"], "authorized");

    let (status, _, body) = console_call(Method::POST, &path, Some(&cookie), true, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "captured");
    assert_eq!(gmo_trade(&gmo_order(&p)).await["status"], "SALES");
    let after = payment(&id).await;
    let actors: Vec<&str> = after["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["kind"] == "capture" || e["kind"] == "operation_step")
                .filter_map(|e| e["actor"].as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        actors,
        vec!["operator:operator", "operator:operator"],
        "{after}"
    );
}

async fn list(query: &str) -> Vec<Value> {
    let (status, body) = merchant(Method::GET, &format!("/v1/payments?{query}"), None).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["data"].as_array().cloned().unwrap_or_default()
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter().map(id_of).collect()
}

#[tokio::test]
async fn list_filters_search_customer_names_and_shows_the_countdown() {
    let marker = order_id("花子");
    let customer = format!("検索 {marker}");
    let (status, created) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("C"), "amount": 1980, "customer_name": customer })),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["customer_name"], customer.as_str());
    let id = id_of(&created);
    let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
    let (status, body) = widget_post(&created, json!({ "token": token })).await;
    assert_eq!(status, 200, "{body}");

    let found = list(&format!("q={}", marker)).await;
    assert_eq!(ids(&found), vec![id.clone()], "search by customer name");
    let row = &found[0];
    assert_eq!(row["display_state"], "authorized");
    assert_eq!(row["display_state_label_ja"], "仮売上");
    let expiry = &row["authorization_expiry"];
    let authorized_at = row["authorized_at"].as_i64().expect("authorized_at");
    assert_eq!(
        expiry["expires_at"],
        authorized_at + 60 * 86_400_000,
        "card: 60 days"
    );
    assert_eq!(expiry["days_left"], 60);
    assert_eq!(expiry["near_expiry"], false);
    assert_eq!(expiry["expired"], false);

    // By gateway id, order id, payment id.
    assert_eq!(
        ids(&list(&format!("q={}", gmo_order(&created))).await),
        vec![id.clone()]
    );
    let order = created["order_id"].as_str().unwrap_or("");
    assert_eq!(ids(&list(&format!("q={order}")).await), vec![id.clone()]);
    assert_eq!(ids(&list(&format!("q={id}")).await), vec![id.clone()]);
    // Filters combine with the search.
    assert_eq!(
        ids(&list(&format!("q={marker}&state=authorized&method=card")).await),
        vec![id.clone()]
    );
    assert!(
        list(&format!("q={marker}&method=amazon_pay"))
            .await
            .is_empty()
    );
    assert!(list(&format!("q={marker}&state=captured")).await.is_empty());
    assert!(
        list(&format!("q={marker}&near_expiry=1")).await.is_empty(),
        "60 days left"
    );
    assert!(list(&format!("q={marker}&state=expired")).await.is_empty());
    // A LIKE wildcard in q is a literal.
    assert!(list("q=%25%25%25nothing").await.is_empty());

    for bad in ["state=paid", "method=cash", "near_expiry=maybe", "limit=0"] {
        let (status, body) = merchant(Method::GET, &format!("/v1/payments?{bad}"), None).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    let (status, body) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("C"), "amount": 100, "customer_name": "x".repeat(101) })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "customer_name");
}

#[tokio::test]
async fn a_declined_card_order_shows_card_unpaid_and_a_fresh_one_unpaid() {
    let marker = order_id("未決済");
    let create = || async {
        let (status, p) = merchant(
            Method::POST,
            "/v1/payments",
            Some(json!({ "order_id": order_id("U"), "amount": 2500, "customer_name": marker })),
        )
        .await;
        assert_eq!(status, 201, "{p}");
        p
    };
    let fresh = create().await;
    let declined = create().await;
    let token = token_for(kessai_sandbox::test_cards::INSUFFICIENT_FUNDS).await;
    let (status, body) = widget_post(&declined, json!({ "token": token })).await;
    assert_eq!(status, 402, "{body}");

    let shown = |rows: &[Value], id: &str| {
        rows.iter().find(|r| r["id"] == id).map(|r| {
            (
                r["state"].clone(),
                r["display_state"].clone(),
                r["display_state_label_ja"].clone(),
            )
        })
    };
    let rows = list(&format!("q={marker}")).await;
    assert_eq!(
        shown(&rows, &id_of(&declined)),
        Some((
            json!("requires_payment"),
            json!("unpaid"),
            json!("カード未決済")
        )),
        "stored state unchanged (the shopper may still pay), shown as カード未決済"
    );
    assert_eq!(
        shown(&rows, &id_of(&fresh)),
        Some((
            json!("requires_payment"),
            json!("requires_payment"),
            json!("未決済")
        ))
    );
    assert_eq!(
        ids(&list(&format!("q={marker}&state=unpaid")).await),
        vec![id_of(&declined)]
    );
    assert_eq!(
        list(&format!("q={marker}&state=requires_payment"))
            .await
            .len(),
        2
    );

    // Paying with another card afterwards leaves カード未決済 behind.
    let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
    let (status, body) = widget_post(&declined, json!({ "token": token })).await;
    assert_eq!(status, 200, "{body}");
    assert!(list(&format!("q={marker}&state=unpaid")).await.is_empty());
}

#[tokio::test]
async fn amazon_rows_show_the_buyer_and_a_30_day_countdown() {
    let (p, _) = authorized_amazon_payment(3200).await;
    let id = id_of(&p);
    let rows = list(&format!("q={id}&method=amazon_pay")).await;
    assert_eq!(ids(&rows), vec![id.clone()]);
    assert!(
        rows[0]["customer_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{}",
        rows[0]
    );
    let authorized_at = rows[0]["authorized_at"].as_i64().expect("authorized_at");
    assert_eq!(
        rows[0]["authorization_expiry"]["expires_at"],
        authorized_at + 30 * 86_400_000
    );
    assert_eq!(rows[0]["authorization_expiry"]["days_left"], 30);
}

#[tokio::test]
async fn previews_say_how_a_cancel_will_be_classified() {
    let p = authorized_card_payment(4100).await;
    let id = id_of(&p);
    let before = payment(&id).await;
    let cancel = &before["previews"]["cancel"];
    assert_eq!(cancel["ok"], true, "{cancel}");
    // Right after the authorisation: 取消 (VOID), or 返品 if the JST day changed in between.
    let job = cancel["cancel_job"].as_str().unwrap_or("");
    let label = match job {
        "VOID" => "取消",
        "RETURN" => "返品",
        other => panic!("unexpected class {other}"),
    };
    assert_eq!(cancel["cancel_label_ja"], label);
    assert_eq!(cancel["stays_on_statement"], false);
    assert_eq!(before["previews"]["capture"]["ok"], true);

    let (status, body) = operate(&id, "capture", None).await;
    assert_eq!(status, 200, "{body}");
    let after = payment(&id).await;
    assert_eq!(
        after["previews"]["cancel"]["stays_on_statement"], true,
        "{after}"
    );
    assert_eq!(after["previews"]["capture"]["ok"], false);
    assert_eq!(after["previews"]["capture"]["code"], "already_captured");

    // The cancel the preview announced is the one the edge runs.
    let announced = after["previews"]["cancel"]["cancel_job"].clone();
    let (status, body) = operate(&id, "cancel", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["operation"]["cancel_job"], announced);

    // Amazon Pay after capture: no cancel, the preview says to refund.
    let (a, _) = authorized_amazon_payment(2000).await;
    let (status, body) = operate(&id_of(&a), "capture", None).await;
    assert_eq!(status, 200, "{body}");
    let view = payment(&id_of(&a)).await;
    assert_eq!(view["previews"]["cancel"]["ok"], false);
    assert_eq!(
        view["previews"]["cancel"]["code"],
        "cancel_after_capture_use_refund"
    );
}

#[tokio::test]
async fn reconcile_shows_both_sides() {
    let p = authorized_card_payment(1500).await;
    let (status, body) = operate(&id_of(&p), "reconcile", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sides"]["kessai"]["state"], "authorized");
    assert_eq!(body["sides"]["gateway"]["gmo_status"], "AUTH");
    assert_eq!(body["sides"]["gateway"]["amount"], 1500);

    let (a, _) = authorized_amazon_payment(2500).await;
    let (status, body) = operate(&id_of(&a), "reconcile", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sides"]["kessai"]["state"], "authorized");
    assert_eq!(body["sides"]["gateway"]["charge_state"], "Authorized");
}

#[tokio::test]
async fn force_needs_a_reason_and_records_both_sides_and_the_operator() {
    let cookie = operator_session().await;
    let p = authorized_card_payment(3000).await;
    let id = id_of(&p);
    let path = format!("/v1/payments/{id}/force");
    for body in [
        json!({ "state": "voided" }),
        json!({ "state": "voided", "reason": "   " }),
        json!({ "state": "voided", "reason": "x".repeat(501) }),
    ] {
        let (status, _, answer) =
            console_call(Method::POST, &path, Some(&cookie), true, Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "reason_required");
    }
    for state in ["processing", "unknown", "requires_payment", "paid"] {
        let (status, _, answer) = console_call(
            Method::POST,
            &path,
            Some(&cookie),
            true,
            Some(json!({ "state": state, "reason": "r" })),
        )
        .await;
        assert_eq!(status, 400, "{state}: {answer}");
    }
    assert_eq!(payment(&id).await["state"], "authorized", "nothing changed");

    let reason = "GMO管理画面で取消済み";
    let (status, _, body) = console_call(
        Method::POST,
        &path,
        Some(&cookie),
        true,
        Some(json!({ "state": "voided", "reason": reason })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "voided");
    assert_eq!(body["forced"]["gateway"]["gmo_status"], "AUTH");
    let after = payment(&id).await;
    let forced = after["events"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == "forced"))
        .cloned()
        .expect("forced event");
    assert_eq!(forced["actor"], "operator:operator");
    assert_eq!(forced["from"], "authorized");
    assert_eq!(forced["to"], "voided");
    assert_eq!(forced["detail"]["reason"], reason);
    assert_eq!(forced["detail"]["kessai"]["state"], "authorized");
    assert_eq!(forced["detail"]["gateway"]["gmo_status"], "AUTH");
    // Forcing sends nothing that changes the gateway: only SearchTrade was asked.
    assert_eq!(
        count_api(&gateway_requests(&gmo_order(&p)).await, "AlterTran"),
        0
    );
    assert_eq!(gmo_trade(&gmo_order(&p)).await["status"], "AUTH");
}
