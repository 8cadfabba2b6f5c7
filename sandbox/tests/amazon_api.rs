//! The objects' rules, API by API: validation (unknown fields, JPY amounts, currency), state
//! machines and their error codes and HTTP statuses.

mod amazon_support;

use amazon_support::*;
use kessai_core::amazon::request::HttpMethod;
use serde_json::{Value, json};

fn create_body(sb: &Sb) -> Value {
    json!({
        "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://edge.example.jp/review"},
        "storeId": sb.h.config.store_id,
    })
}

/// A completed checkout: (charge permission id, charge id).
async fn authorized(sb: &Sb, amount: i64) -> (String, String) {
    let (_, done) = sb.paid_checkout(amount).await;
    (
        done.json["chargePermissionId"]
            .as_str()
            .unwrap()
            .to_string(),
        done.json["chargeId"].as_str().unwrap().to_string(),
    )
}

async fn charge_state(sb: &Sb, id: &str) -> Value {
    sb.call(HttpMethod::Get, &format!("charges/{id}"), None)
        .await
        .json
}

#[tokio::test]
async fn create_checkout_session_validation() {
    let sb = Sb::start().await;
    let post = |b: Value| sb.call(HttpMethod::Post, "checkoutSessions", Some(b));

    let a = post(json!({"storeId": sb.h.config.store_id})).await;
    assert_eq!((a.status, reason(&a)), (400, "MissingParameterValue"));
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .contains("checkoutReviewReturnUrl")
    );

    let mut b = create_body(&sb);
    b["unknownThing"] = json!(1);
    let a = post(b).await;
    assert_eq!((a.status, reason(&a)), (400, "UnrecognizedField"));
    assert_eq!(
        a.json["message"],
        "The field 'unknownThing' is invalid for this API."
    );

    let mut b = create_body(&sb);
    b["paymentDetails"] = json!({"chargeAmount": {"amount": "705.00", "currencyCode": "JPY"}});
    let a = post(b).await;
    assert_eq!((a.status, reason(&a)), (400, "InvalidParameterValue"));
    assert_eq!(
        a.json["message"],
        "The value '705.00' provided for 'chargeAmount.Amount' is invalid."
    );

    let mut b = create_body(&sb);
    b["paymentDetails"] = json!({"chargeAmount": {"amount": "705", "currencyCode": "USD"}});
    let a = post(b).await;
    assert_eq!((a.status, reason(&a)), (400, "CurrencyMismatch"));

    let mut b = create_body(&sb);
    b["storeId"] = json!("amzn1.application-oa2-client.other");
    assert_eq!(reason(&post(b).await), "InvalidParameterValue");

    let mut b = create_body(&sb);
    b["scopes"] = json!(["name", "furigana"]);
    assert_eq!(reason(&post(b).await), "InvalidParameterValue");

    let mut b = create_body(&sb);
    b["merchantMetadata"] = json!({"merchantStoreName": "店".repeat(51)});
    assert_eq!(reason(&post(b).await), "InvalidParameterValue");

    let mut b = create_body(&sb);
    b["webCheckoutDetails"]["checkoutReviewReturnUrl"] = json!("javascript:alert(1)");
    assert_eq!(reason(&post(b).await), "InvalidParameterValue");

    let a = sb
        .send_parts("POST", &sb.url("/sandbox/v2/checkoutSessions"), &[], b"{")
        .await;
    assert_eq!(a.status, 400, "unsigned first");

    // Numbers are accepted for JPY amounts and come back as strings.
    let mut b = create_body(&sb);
    b["paymentDetails"] = json!({"paymentIntent": "Authorize", "chargeAmount": {"amount": 705, "currencyCode": "JPY"}});
    let a = post(b).await;
    assert_eq!(a.status, 201);
    assert_eq!(a.json["paymentDetails"]["chargeAmount"]["amount"], "705");
    let ids: Vec<&str> = a.json["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["constraintId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["BuyerNotAssociated", "CheckoutResultReturnUrlNotSet"]);

    // A recurring session needs its frequency before it can be processed [U constraint].
    let mut b = create_body(&sb);
    b["chargePermissionType"] = json!("Recurring");
    let a = post(b).await;
    assert_eq!(a.status, 201);
    assert!(
        a.json["constraints"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["constraintId"] == "RecurringFrequencyNotSet")
    );
    let mut b = create_body(&sb);
    b["chargePermissionType"] = json!("PaymentMethodOnFile");
    assert_eq!(reason(&post(b).await), "InvalidParameterValue");

    // Unknown ids and paths.
    let a = sb
        .call(
            HttpMethod::Get,
            "checkoutSessions/00000000-0000-4000-8000-000000000000",
            None,
        )
        .await;
    assert_eq!((a.status, reason(&a)), (404, "ResourceNotFound"));
    let a = sb
        .call(HttpMethod::Delete, "checkoutSessions/abc", None)
        .await;
    assert_eq!((a.status, reason(&a)), (405, "UnsupportedOperation"));
    let a = sb.call(HttpMethod::Get, "nothingHere", None).await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn update_checkout_session_rules() {
    let sb = Sb::start().await;
    let created = sb
        .call(HttpMethod::Post, "checkoutSessions", Some(create_body(&sb)))
        .await;
    let id = created.json["checkoutSessionId"]
        .as_str()
        .unwrap()
        .to_string();
    // Without a buyer the redirect URL stays hidden even when everything else is set.
    let upd = sb.update_for_result(&id, 1_000).await;
    assert_eq!(upd.status, 200);
    assert_eq!(
        upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"],
        Value::Null
    );
    assert_eq!(
        upd.json["constraints"][0]["constraintId"],
        "BuyerNotAssociated"
    );
    assert_eq!(
        upd.json["merchantMetadata"]["merchantReferenceId"],
        "order-1"
    );
    // A refused update changes nothing.
    let bad = sb
        .call(
            HttpMethod::Patch,
            &format!("checkoutSessions/{id}"),
            Some(json!({
                "paymentDetails": {"chargeAmount": {"amount": "5", "currencyCode": "JPY"}},
                "merchantMetadata": {"noteToBuyer": "x", "bogus": 1}
            })),
        )
        .await;
    assert_eq!((bad.status, reason(&bad)), (400, "UnrecognizedField"));
    assert_eq!(
        sb.h.checkout_session(&id).unwrap()["paymentDetails"]["chargeAmount"]["amount"],
        "1000"
    );

    // The buyer now uses the hosted pages for this API-created session.
    let (status, _, _) = sb
        .post_form(
            &sb.url("/checkout/login"),
            &[("amazonCheckoutSessionId", &id), ("buyer", "taro")],
        )
        .await;
    assert_eq!(status, 303);
    sb.post_form(
        &sb.url("/checkout/address"),
        &[
            ("amazonCheckoutSessionId", &id),
            ("buyer", "taro"),
            ("address", "2"),
            ("paymentMethod", "1"),
        ],
    )
    .await;
    let cs = sb
        .call(HttpMethod::Get, &format!("checkoutSessions/{id}"), None)
        .await;
    assert_eq!(cs.json["constraints"], json!([]));
    assert_eq!(
        cs.json["shippingAddress"]["city"],
        Value::Null,
        "Nagoya comes without city"
    );
    assert_eq!(
        cs.json["shippingAddress"]["addressLine1"],
        "名古屋市中区三の丸3-1-1"
    );
    let redirect = cs.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
        .as_str()
        .unwrap()
        .to_string();
    // Lowering before the buyer confirmed is fine.
    assert_eq!(sb.update_for_result(&id, 900).await.status, 200);
    sb.process(&redirect).await;
    // After the buyer confirmed, the amount cannot be raised (nor changed at all) [U code].
    let up = sb.update_for_result(&id, 901).await;
    assert_eq!(
        (up.status, reason(&up)),
        (422, "InvalidCheckoutSessionStatus")
    );
    // Metadata alone can still change.
    let meta = sb
        .call(
            HttpMethod::Patch,
            &format!("checkoutSessions/{id}"),
            Some(json!({"merchantMetadata": {"noteToBuyer": "ありがとうございます"}})),
        )
        .await;
    assert_eq!(meta.status, 200);
    let done = sb.complete(&id, 900).await;
    assert_eq!(done.status, 200, "{}", done.json);
    assert_eq!(
        charge_state(&sb, done.json["chargeId"].as_str().unwrap()).await["chargeAmount"]["amount"],
        "900"
    );
}

#[tokio::test]
async fn capture_cancel_and_their_state_rules() {
    let sb = Sb::start().await;
    let (_, charge) = authorized(&sb, 10_000).await;
    let capture_path = format!("charges/{charge}/capture");
    let cap = |amount: i64| {
        sb.call(
            HttpMethod::Post,
            &capture_path,
            Some(price_body("captureAmount", amount)),
        )
    };

    let over = cap(10_001).await;
    assert_eq!(
        (over.status, reason(&over)),
        (400, "TransactionAmountExceeded")
    );
    let bad = sb
        .call(
            HttpMethod::Post,
            &format!("charges/{charge}/capture"),
            Some(json!({"captureAmount": {"amount": "100.5", "currencyCode": "JPY"}})),
        )
        .await;
    assert_eq!(reason(&bad), "InvalidParameterValue");
    let missing = sb
        .call(
            HttpMethod::Post,
            &format!("charges/{charge}/capture"),
            Some(json!({})),
        )
        .await;
    assert_eq!(reason(&missing), "MissingParameterValue");

    // A partial capture (減額) is the one capture of this charge.
    let ok = cap(8_000).await;
    assert_eq!(ok.status, 200, "{}", ok.json);
    assert_eq!(ok.json["statusDetails"]["state"], "Captured");
    assert_eq!(ok.json["captureAmount"]["amount"], "8000");
    let twice = cap(1_000).await;
    assert_eq!((twice.status, reason(&twice)), (422, "InvalidChargeStatus"));
    let cancel = sb
        .call(
            HttpMethod::Delete,
            &format!("charges/{charge}/cancel"),
            Some(json!({"cancellationReason": "在庫切れ"})),
        )
        .await;
    assert_eq!(
        (cancel.status, reason(&cancel)),
        (422, "InvalidChargeStatus")
    );

    // Another order: cancel an authorization, then capture is refused.
    let (_, charge2) = authorized(&sb, 3_000).await;
    let c = sb
        .call(
            HttpMethod::Delete,
            &format!("charges/{charge2}/cancel"),
            Some(json!({"cancellationReason": "注文取消"})),
        )
        .await;
    assert_eq!(c.status, 200);
    assert_eq!(c.json["statusDetails"]["state"], "Canceled");
    assert_eq!(c.json["statusDetails"]["reasonCode"], "MerchantCanceled");
    assert_eq!(c.json["statusDetails"]["reasonDescription"], "注文取消");
    let cap2 = sb
        .call(
            HttpMethod::Post,
            &format!("charges/{charge2}/capture"),
            Some(price_body("captureAmount", 3_000)),
        )
        .await;
    assert_eq!((cap2.status, reason(&cap2)), (422, "InvalidChargeStatus"));
    let a = sb
        .call(HttpMethod::Get, "charges/S03-0000000-0000000-C000000", None)
        .await;
    assert_eq!((a.status, reason(&a)), (404, "ResourceNotFound"));
}

#[tokio::test]
async fn charge_permission_balance_close_and_update() {
    let sb = Sb::start().await;
    let (cp, charge) = authorized(&sb, 5_000).await;
    let create = |amount: i64| {
        sb.call(HttpMethod::Post, "charges", Some(json!({
        "chargePermissionId": cp, "chargeAmount": {"amount": amount.to_string(), "currencyCode": "JPY"},
        "captureNow": false, "canHandlePendingAuthorization": false
    })))
    };
    // The order amount is fully held by the first authorization: no more, no increase.
    let more = create(1).await;
    assert_eq!(
        (more.status, reason(&more)),
        (400, "TransactionAmountExceeded")
    );
    // Capture less: the rest becomes available again for a new charge (EC-CUBE's decrease path).
    sb.call(
        HttpMethod::Post,
        &format!("charges/{charge}/capture"),
        Some(price_body("captureAmount", 4_000)),
    )
    .await;
    let cpj = sb
        .call(HttpMethod::Get, &format!("chargePermissions/{cp}"), None)
        .await
        .json;
    assert_eq!(cpj["limits"]["amountBalance"]["amount"], "1000");
    let over = create(1_001).await;
    assert_eq!(reason(&over), "TransactionAmountExceeded");
    let second = create(1_000).await;
    assert_eq!(second.status, 201, "{}", second.json);
    let second_id = second.json["chargeId"].as_str().unwrap().to_string();
    assert!(second_id.starts_with(&format!("{cp}-C")));
    assert_ne!(second_id, charge);
    assert_eq!(second.json["statusDetails"]["state"], "Authorized");
    // softDescriptor needs captureNow [C].
    let sd = sb.call(HttpMethod::Post, "charges", Some(json!({"chargePermissionId": cp, "chargeAmount": {"amount": "1", "currencyCode": "JPY"}, "softDescriptor": "KESSAI"}))).await;
    assert_eq!(
        (sd.status, reason(&sd)),
        (400, "InvalidParameterCombination")
    );
    // Simulated declines on Create Charge.
    sb.call(
        HttpMethod::Delete,
        &format!("charges/{second_id}/cancel"),
        Some(json!({})),
    )
    .await;
    let mut req = sb.signed(HttpMethod::Post, "charges", Some(&json!({"chargePermissionId": cp, "chargeAmount": {"amount": "500", "currencyCode": "JPY"}})), Some(&idem("sim")));
    req.headers
        .push(("x-amz-pay-simulation-code".into(), "HardDeclined".into()));
    let d = sb.send(&req).await;
    assert_eq!((d.status, reason(&d)), (422, "HardDeclined"));
    assert!(
        sb.h.charges()
            .iter()
            .any(|c| c["statusDetails"]["state"] == "Declined"
                && c["statusDetails"]["reasonCode"] == "HardDeclined")
    );

    // Update metadata, then close with cancelPendingCharges.
    let third = create(1_000).await;
    let third_id = third.json["chargeId"].as_str().unwrap().to_string();
    let up = sb
        .call(
            HttpMethod::Patch,
            &format!("chargePermissions/{cp}"),
            Some(json!({"merchantMetadata": {"merchantReferenceId": "order-1-b"}})),
        )
        .await;
    assert_eq!(
        up.json["merchantMetadata"]["merchantReferenceId"],
        "order-1-b"
    );
    let long = sb
        .call(
            HttpMethod::Delete,
            &format!("chargePermissions/{cp}/close"),
            Some(json!({"closureReason": "x".repeat(256), "cancelPendingCharges": true})),
        )
        .await;
    assert_eq!(reason(&long), "InvalidParameterValue");
    let closed = sb
        .call(
            HttpMethod::Delete,
            &format!("chargePermissions/{cp}/close"),
            Some(json!({"closureReason": "注文キャンセル", "cancelPendingCharges": true})),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.json);
    assert_eq!(closed.json["statusDetails"]["state"], "Closed");
    assert_eq!(
        closed.json["statusDetails"]["reasons"][0],
        json!({"reasonCode": "MerchantClosed", "reasonDescription": "注文キャンセル"})
    );
    let t = charge_state(&sb, &third_id).await;
    assert_eq!(t["statusDetails"]["state"], "Canceled");
    assert_eq!(t["statusDetails"]["reasonCode"], "ChargePermissionCanceled");
    // The captured charge is untouched; no new charges; closing twice refused.
    assert_eq!(
        charge_state(&sb, &charge).await["statusDetails"]["state"],
        "Captured"
    );
    assert_eq!(reason(&create(1).await), "InvalidChargePermissionStatus");
    let again = sb
        .call(
            HttpMethod::Delete,
            &format!("chargePermissions/{cp}/close"),
            Some(json!({"closureReason": "again"})),
        )
        .await;
    assert_eq!(
        (again.status, reason(&again)),
        (422, "InvalidChargePermissionStatus")
    );
    // Closed: only unset fields may still be set.
    let set_new = sb
        .call(
            HttpMethod::Patch,
            &format!("chargePermissions/{cp}"),
            Some(json!({"merchantMetadata": {"customInformation": "後から"}})),
        )
        .await;
    assert_eq!(set_new.status, 200);
    let change = sb
        .call(
            HttpMethod::Patch,
            &format!("chargePermissions/{cp}"),
            Some(json!({"merchantMetadata": {"merchantReferenceId": "other"}})),
        )
        .await;
    assert_eq!(
        (change.status, reason(&change)),
        (422, "ChargePermissionNotModifiable")
    );
}

#[tokio::test]
async fn refunds_are_asynchronous_and_capped() {
    let sb = Sb::start().await;
    let (_, charge) = authorized(&sb, 10_000).await;
    let refund = |amount: i64| {
        sb.call(HttpMethod::Post, "refunds", Some(json!({"chargeId": charge, "refundAmount": {"amount": amount.to_string(), "currencyCode": "JPY"}})))
    };
    // Not captured yet.
    let early = refund(100).await;
    assert_eq!((early.status, reason(&early)), (422, "InvalidChargeStatus"));
    sb.call(
        HttpMethod::Post,
        &format!("charges/{charge}/capture"),
        Some(price_body("captureAmount", 10_000)),
    )
    .await;

    let r = refund(3_000).await;
    assert_eq!(r.status, 201, "{}", r.json);
    assert_eq!(r.json["statusDetails"]["state"], "RefundInitiated");
    let rid = r.json["refundId"].as_str().unwrap().to_string();
    assert!(
        rid.starts_with(&charge[..19]) && rid[19..].starts_with("-R"),
        "{rid}"
    );
    // The next read sees it done; the charge shows the refunded amount.
    let g = sb
        .call(HttpMethod::Get, &format!("refunds/{rid}"), None)
        .await;
    assert_eq!(g.json["statusDetails"]["state"], "Refunded");
    assert_eq!(
        charge_state(&sb, &charge).await["refundedAmount"]["amount"],
        "3000"
    );
    // Captured 10,000 → at most 10,000 + min(15 %, 8,400) = 11,500 in total.
    let over = refund(8_501).await;
    assert_eq!(
        (over.status, reason(&over)),
        (400, "TransactionAmountExceeded")
    );
    assert_eq!(refund(8_500).await.status, 201);
    assert_eq!(reason(&refund(1).await), "TransactionAmountExceeded");
    let bad = sb.call(HttpMethod::Post, "refunds", Some(json!({"chargeId": charge, "refundAmount": {"amount": "1.00", "currencyCode": "JPY"}}))).await;
    assert_eq!(reason(&bad), "InvalidParameterValue");
}

#[tokio::test]
async fn refund_delay_and_simulated_decline() {
    let sb = Sb::start_with(|c| c.refund_delay_ms = 10 * MINUTE).await;
    let (_, charge) = authorized(&sb, 200_000).await;
    sb.call(
        HttpMethod::Post,
        &format!("charges/{charge}/capture"),
        Some(price_body("captureAmount", 200_000)),
    )
    .await;
    let r = sb.call(HttpMethod::Post, "refunds", Some(json!({"chargeId": charge, "refundAmount": {"amount": "1000", "currencyCode": "JPY"}}))).await;
    let rid = r.json["refundId"].as_str().unwrap().to_string();
    assert_eq!(
        sb.call(HttpMethod::Get, &format!("refunds/{rid}"), None)
            .await
            .json["statusDetails"]["state"],
        "RefundInitiated"
    );
    sb.h.advance_ms(10 * MINUTE);
    assert_eq!(
        sb.call(HttpMethod::Get, &format!("refunds/{rid}"), None)
            .await
            .json["statusDetails"]["state"],
        "Refunded"
    );
    // 200,000 captured: the extra is capped at ¥8,400, not 15 %.
    let big = sb.call(HttpMethod::Post, "refunds", Some(json!({"chargeId": charge, "refundAmount": {"amount": "207401", "currencyCode": "JPY"}}))).await;
    assert_eq!(reason(&big), "TransactionAmountExceeded");

    let mut req = sb.signed(
        HttpMethod::Post,
        "refunds",
        Some(
            &json!({"chargeId": charge, "refundAmount": {"amount": "500", "currencyCode": "JPY"}}),
        ),
        Some(&idem("rs")),
    );
    req.headers
        .push(("x-amz-pay-simulation-code".into(), "AmazonRejected".into()));
    let d = sb.send(&req).await;
    assert_eq!(d.status, 201);
    sb.h.advance_ms(10 * MINUTE);
    let g = sb
        .call(
            HttpMethod::Get,
            &format!("refunds/{}", d.json["refundId"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(g.json["statusDetails"]["state"], "Declined");
    assert_eq!(g.json["statusDetails"]["reasonCode"], "AmazonRejected");
    assert_eq!(
        charge_state(&sb, &charge).await["refundedAmount"]["amount"],
        "1000"
    );
}

#[tokio::test]
async fn simulated_complete_outcome_and_unknown_codes() {
    let sb = Sb::start().await;
    let cs_id = sb.buyer_checks_out(1_500, "taro", "0").await;
    let upd = sb.update_for_result(&cs_id, 1_500).await;
    sb.process(
        upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
            .as_str()
            .unwrap(),
    )
    .await;
    let mut req = sb.signed(
        HttpMethod::Post,
        &format!("checkoutSessions/{cs_id}/complete"),
        Some(&price_body("chargeAmount", 1_500)),
        Some(&idem("s")),
    );
    req.headers
        .push(("x-amz-pay-simulation-code".into(), "NoSuchCode".into()));
    let a = sb.send(&req).await;
    assert_eq!(
        (a.status, reason(&a)),
        (400, "InvalidSandboxSimulationSpecified")
    );
    let mut req = sb.signed(
        HttpMethod::Post,
        &format!("checkoutSessions/{cs_id}/complete"),
        Some(&price_body("chargeAmount", 1_500)),
        Some(&idem("s")),
    );
    req.headers
        .push(("x-amz-pay-simulation-code".into(), "BuyerCanceled".into()));
    let a = sb.send(&req).await;
    assert_eq!((a.status, reason(&a)), (400, "CheckoutSessionCanceled"));
    let cs = sb.h.checkout_session(&cs_id).unwrap();
    assert_eq!(cs["statusDetails"]["reasonCode"], "BuyerCanceled");
    let charges = sb.h.charges();
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0]["statusDetails"]["state"], "Canceled");
}
