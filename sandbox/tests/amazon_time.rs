//! Rules that time drives, on the injected clock: 30-day authorizations, 24-hour checkout
//! sessions, asynchronous captures, and the recurring monthly cap (JST calendar month).

mod amazon_support;

use amazon_support::*;
use kessai_core::amazon::request::HttpMethod;
use serde_json::{Value, json};

async fn get(sb: &Sb, resource: &str) -> Value {
    sb.call(HttpMethod::Get, resource, None).await.json
}

#[tokio::test]
async fn authorization_expires_after_30_days_unused() {
    let sb = Sb::start().await;
    let (_, done) = sb.paid_checkout(4_000).await;
    let charge = done.json["chargeId"].as_str().unwrap().to_string();
    sb.h.advance_ms(30 * DAY - 1000);
    assert_eq!(
        get(&sb, &format!("charges/{charge}")).await["statusDetails"]["state"],
        "Authorized"
    );
    sb.h.advance_ms(1000);
    let c = get(&sb, &format!("charges/{charge}")).await;
    assert_eq!(c["statusDetails"]["state"], "Canceled");
    assert_eq!(c["statusDetails"]["reasonCode"], "ExpiredUnused");
    let cap = sb
        .call(
            HttpMethod::Post,
            &format!("charges/{charge}/capture"),
            Some(price_body("captureAmount", 4_000)),
        )
        .await;
    assert_eq!((cap.status, reason(&cap)), (422, "InvalidChargeStatus"));
}

#[tokio::test]
async fn late_capture_goes_through_capture_initiated() {
    let sb = Sb::start().await;
    let (_, done) = sb.paid_checkout(4_000).await;
    let charge = done.json["chargeId"].as_str().unwrap().to_string();
    sb.h.advance_ms(8 * DAY);
    let cap = sb
        .call(
            HttpMethod::Post,
            &format!("charges/{charge}/capture"),
            Some(price_body("captureAmount", 4_000)),
        )
        .await;
    assert_eq!(cap.status, 200);
    assert_eq!(cap.json["statusDetails"]["state"], "CaptureInitiated");
    // Captured at the next read; the 30-day expiry no longer applies.
    assert_eq!(
        get(&sb, &format!("charges/{charge}")).await["statusDetails"]["state"],
        "Captured"
    );
    sb.h.advance_ms(30 * DAY);
    assert_eq!(
        get(&sb, &format!("charges/{charge}")).await["statusDetails"]["state"],
        "Captured"
    );
}

#[tokio::test]
async fn open_checkout_session_expires_after_24_hours_and_releases_its_authorization() {
    let sb = Sb::start().await;
    let cs_id = sb.buyer_checks_out(2_500, "taro", "0").await;
    let upd = sb.update_for_result(&cs_id, 2_500).await;
    sb.process(
        upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
            .as_str()
            .unwrap(),
    )
    .await;
    assert_eq!(sb.h.charges()[0]["statusDetails"]["state"], "Authorized");
    sb.h.advance_ms(24 * 3_600_000);
    let cs = get(&sb, &format!("checkoutSessions/{cs_id}")).await;
    assert_eq!(cs["statusDetails"]["state"], "Canceled");
    assert_eq!(cs["statusDetails"]["reasonCode"], "Expired");
    let done = sb.complete(&cs_id, 2_500).await;
    assert_eq!(
        (done.status, reason(&done)),
        (400, "CheckoutSessionCanceled")
    );
    assert_eq!(sb.h.charges()[0]["statusDetails"]["state"], "Canceled");
    // The hosted pages refuse the expired session.
    let (status, body, _) = sb
        .get_page(&sb.url(&format!("/checkout/login?amazonCheckoutSessionId={cs_id}")))
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("終了しています"));
}

#[tokio::test]
async fn pending_authorization_answers_202_then_settles() {
    let sb = Sb::start().await;
    let cs_id = sb.buyer_checks_out(1_000, "taro", "0").await;
    let upd = sb
        .call(HttpMethod::Patch, &format!("checkoutSessions/{cs_id}"), Some(json!({
            "webCheckoutDetails": {"checkoutResultReturnUrl": "https://edge.example.jp/result"},
            "paymentDetails": {"paymentIntent": "Authorize", "canHandlePendingAuthorization": true,
                "chargeAmount": {"amount": "1000", "currencyCode": "JPY"}}
        })))
        .await;
    sb.process(
        upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
            .as_str()
            .unwrap(),
    )
    .await;
    let done = sb.complete(&cs_id, 1_000).await;
    assert_eq!(done.status, 202, "{}", done.json);
    assert_eq!(done.json["statusDetails"]["state"], "Completed");
    let charge = done.json["chargeId"].as_str().unwrap().to_string();
    // Settled at the next request.
    assert_eq!(
        get(&sb, &format!("charges/{charge}")).await["statusDetails"]["state"],
        "Authorized"
    );
}

/// A recurring charge permission through the API-created session and the hosted pages.
async fn recurring_permission(sb: &Sb, first: i64) -> String {
    let created = sb
        .call(HttpMethod::Post, "checkoutSessions", Some(json!({
            "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://edge.example.jp/review"},
            "storeId": sb.h.config.store_id,
            "chargePermissionType": "Recurring",
            "recurringMetadata": {"frequency": {"unit": "Month", "value": "1"}, "amount": {"amount": "30000", "currencyCode": "JPY"}}
        })))
        .await;
    assert_eq!(created.status, 201, "{}", created.json);
    let id = created.json["checkoutSessionId"]
        .as_str()
        .unwrap()
        .to_string();
    sb.post_form(
        &sb.url("/checkout/login"),
        &[("amazonCheckoutSessionId", &id), ("buyer", "ichiro")],
    )
    .await;
    sb.post_form(
        &sb.url("/checkout/address"),
        &[
            ("amazonCheckoutSessionId", &id),
            ("buyer", "ichiro"),
            ("address", "0"),
            ("paymentMethod", "0"),
        ],
    )
    .await;
    let upd = sb.update_for_result(&id, first).await;
    sb.process(
        upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
            .as_str()
            .unwrap(),
    )
    .await;
    let done = sb.complete(&id, first).await;
    assert_eq!(done.status, 200, "{}", done.json);
    done.json["chargePermissionId"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn recurring_charges_are_capped_at_100000_yen_per_jst_month() {
    let sb = Sb::start().await;
    // 2026-11-30 23:00 JST.
    sb.h.set_clock_ms(T0 + 15 * DAY + 11 * 3_600_000);
    let cp = recurring_permission(&sb, 30_000).await;
    let cpj = get(&sb, &format!("chargePermissions/{cp}")).await;
    assert_eq!(cpj["chargePermissionType"], "Recurring");
    assert_eq!(cpj["limits"], Value::Null);
    assert_eq!(cpj["recurringMetadata"]["frequency"]["unit"], "Month");
    let charge = |amount: i64| {
        sb.call(HttpMethod::Post, "charges", Some(json!({
        "chargePermissionId": cp, "chargeAmount": {"amount": amount.to_string(), "currencyCode": "JPY"}, "captureNow": true
    })))
    };
    let c = charge(70_000).await;
    assert_eq!(c.status, 201, "{}", c.json);
    assert_eq!(c.json["statusDetails"]["state"], "Captured");
    let over = charge(1).await;
    assert_eq!(
        (over.status, reason(&over)),
        (400, "PeriodicAmountExceeded")
    );
    // One hour later it is December in Japan (still November in UTC): a new month.
    sb.h.advance_ms(3_600_000);
    assert_eq!(charge(100_000).await.status, 201);
    assert_eq!(reason(&charge(1).await), "PeriodicAmountExceeded");
    // A canceled authorization does not count.
    sb.h.advance_ms(31 * DAY);
    let auth = sb.call(HttpMethod::Post, "charges", Some(json!({"chargePermissionId": cp, "chargeAmount": {"amount": "100000", "currencyCode": "JPY"}}))).await;
    assert_eq!(auth.status, 201);
    let id = auth.json["chargeId"].as_str().unwrap();
    sb.call(
        HttpMethod::Delete,
        &format!("charges/{id}/cancel"),
        Some(json!({"cancellationReason": "x"})),
    )
    .await;
    assert_eq!(charge(100_000).await.status, 201);
}

#[tokio::test]
async fn one_time_charge_permission_closes_after_180_days() {
    let sb = Sb::start().await;
    let (_, done) = sb.paid_checkout(1_000).await;
    let cp = done.json["chargePermissionId"]
        .as_str()
        .unwrap()
        .to_string();
    let cpj = get(&sb, &format!("chargePermissions/{cp}")).await;
    assert_eq!(cpj["expirationTimestamp"], "20270514T030000Z");
    sb.h.advance_ms(180 * DAY);
    let cpj = get(&sb, &format!("chargePermissions/{cp}")).await;
    assert_eq!(cpj["statusDetails"]["state"], "Closed");
    assert_eq!(cpj["statusDetails"]["reasons"][0]["reasonCode"], "Expired");
}

/// `POST /__sandbox/amazon/{path}` with a raw JSON body (the test controls, over HTTP): the
/// status and the JSON answer (`null` when there is none).
async fn post_control(sb: &Sb, path: &str, body: &str) -> (u16, Value) {
    let resp = sb
        .http
        .post(sb.url(&format!("/__sandbox/amazon/{path}")))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `GET /__sandbox/amazon/{path}`: its JSON answer.
async fn get_control(sb: &Sb, path: &str) -> Value {
    sb.http
        .get(sb.url(&format!("/__sandbox/amazon/{path}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn clock_and_listing_controls_over_http() {
    let sb = Sb::start().await;
    let (_, clock) = post_control(&sb, "clock", r#"{"set_unix_ms":1794711600000}"#).await;
    assert_eq!(clock["amazon"], "20261115T030000Z");
    assert_eq!(clock["frozen"], true);
    let (_, clock) = post_control(&sb, "clock", r#"{"advance_days":1}"#).await;
    assert_eq!(clock["unix_ms"], T0 + DAY);
    let (bad, _) = post_control(&sb, "clock", r#"{"advance_weeks":1}"#).await;
    assert_eq!(bad, 400);
    sb.h.set_clock_ms(T0);
    sb.paid_checkout(1_000).await;
    for (path, n) in [
        ("checkout-sessions", 1),
        ("charge-permissions", 1),
        ("charges", 1),
        ("refunds", 0),
    ] {
        let list = get_control(&sb, path).await;
        assert_eq!(list.as_array().unwrap().len(), n, "{path}");
    }
    let log = get_control(&sb, "requests?api=CompleteCheckoutSession").await;
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["status"], 200);
    let (fault, _) = post_control(&sb, "faults", r#"{"api":"CaptureCharge","delay_ms":10}"#).await;
    assert_eq!(fault, 200);
    let (_, reset) = post_control(&sb, "reset", "").await;
    assert_eq!(reset["reset"], true);
    assert!(sb.h.charges().is_empty());
    let index = sb
        .http
        .get(sb.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(index.contains("山田 太郎") && index.contains("HardDeclined"));
}
