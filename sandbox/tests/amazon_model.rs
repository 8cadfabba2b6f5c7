//! The sandbox's answers read with core's model types, as the edge reads them: both sides agree
//! on the wire (field names, string amounts, states, timestamps).

mod amazon_support;

use amazon_support::*;
use kessai_core::amazon::model::{
    Buyer, Charge, ChargePermission, CheckoutSession, ErrorBody, Refund,
};
use kessai_core::amazon::request::HttpMethod;
use kessai_core::amazon::status::{
    ChargePermissionState, ChargeState, CheckoutSessionState, RefundState,
};
use serde_json::json;

#[tokio::test]
async fn answers_parse_with_core_model() {
    let sb = Sb::start().await;
    let (cs_id, done) = sb.paid_checkout(7_700).await;
    let cs: CheckoutSession = serde_json::from_value(done.json.clone()).expect("checkout session");
    assert_eq!(cs.checkout_session_id, cs_id);
    assert_eq!(cs.state(), Some(CheckoutSessionState::Completed));
    assert_eq!(cs.charge_amount().unwrap().to_jpy().unwrap().yen(), 7_700);
    assert_eq!(
        cs.buyer.as_ref().unwrap().name.as_deref(),
        Some("山田 太郎")
    );
    assert_eq!(
        cs.shipping_address.as_ref().unwrap().postal_code.as_deref(),
        Some("100-0001")
    );
    assert!(
        cs.delivery_specifications
            .as_ref()
            .unwrap()
            .allows_country("JP")
    );

    let charge_id = cs.charge_id.clone().unwrap();
    let c: Charge = serde_json::from_value(
        sb.call(HttpMethod::Get, &format!("charges/{charge_id}"), None)
            .await
            .json,
    )
    .unwrap();
    assert_eq!(c.state(), Some(ChargeState::Authorized));
    let cap = sb
        .call(
            HttpMethod::Post,
            &format!("charges/{charge_id}/capture"),
            Some(price_body("captureAmount", 7_700)),
        )
        .await;
    let c: Charge = serde_json::from_value(cap.json).unwrap();
    assert_eq!(c.state(), Some(ChargeState::Captured));
    assert_eq!(c.capture_amount.unwrap().to_jpy().unwrap().yen(), 7_700);

    let cp: ChargePermission = serde_json::from_value(
        sb.call(
            HttpMethod::Get,
            &format!("chargePermissions/{}", cs.charge_permission_id.unwrap()),
            None,
        )
        .await
        .json,
    )
    .unwrap();
    assert_eq!(cp.state(), Some(ChargePermissionState::Chargeable));
    assert_eq!(
        cp.limits
            .unwrap()
            .amount_limit
            .unwrap()
            .to_jpy()
            .unwrap()
            .yen(),
        7_700
    );

    let r = sb.call(HttpMethod::Post, "refunds", Some(json!({"chargeId": charge_id, "refundAmount": {"amount": "700", "currencyCode": "JPY"}}))).await;
    let r: Refund = serde_json::from_value(r.json).unwrap();
    assert_eq!(r.state(), Some(RefundState::RefundInitiated));

    let e = sb.complete(&cs_id, 7_700).await;
    let body: ErrorBody = serde_json::from_value(e.json).unwrap();
    assert_eq!(body.reason_code, "InvalidCheckoutSessionStatus");
    assert_eq!(
        e.status,
        kessai_core::amazon::errors::http_status_of(&body.reason_code)
    );

    // Get Buyer reads as core's Buyer.
    let b: Buyer = serde_json::from_value(kessai_sandbox_buyer(&sb).await).unwrap();
    assert!(b.buyer_id.starts_with("amzn1.account."));
}

async fn kessai_sandbox_buyer(sb: &Sb) -> serde_json::Value {
    use kessai_core::amazon::button::button_string_to_sign;
    use kessai_core::amazon::signing::Algorithm;
    let payload =
        json!({"signInReturnUrl": "https://edge.example.jp/r", "storeId": sb.h.config.store_id})
            .to_string();
    let sig = pss_sign(
        &merchant_key().private_pkcs8_pem,
        32,
        &button_string_to_sign(Algorithm::V2, &payload),
    );
    let (_, _, loc) = sb
        .press_button("SignIn", &payload, &sig, Some("AMZN-PAY-RSASSA-PSS-V2"))
        .await;
    let sid = query_param(&sb.resolve(&loc.unwrap()), "signInSessionId").unwrap();
    sb.post_form(
        &sb.url("/signin/login"),
        &[("signInSessionId", &sid), ("buyer", "taro")],
    )
    .await;
    let (_, _, loc) = sb
        .post_form(
            &sb.url("/signin/consent"),
            &[("signInSessionId", &sid), ("decision", "allow")],
        )
        .await;
    let token = query_param(&loc.unwrap(), "buyerToken").unwrap();
    let a = sb
        .call(
            HttpMethod::Get,
            &format!(
                "buyers/{}",
                kessai_core::amazon::signing::uri_encode(&token)
            ),
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    // No scopes requested: name and email only (Amazon's default).
    assert_eq!(a.json["name"], "山田 太郎");
    assert_eq!(a.json["postalCode"], serde_json::Value::Null);
    a.json
}

#[tokio::test]
async fn delivery_restrictions_are_read_and_enforced() {
    let sb = Sb::start().await;
    let mut body = json!({
        "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://edge.example.jp/review"},
        "storeId": sb.h.config.store_id,
        "deliverySpecifications": {"addressRestrictions": {"type": "Sometimes", "restrictions": {"JP": {}}}}
    });
    let a = sb
        .call(HttpMethod::Post, "checkoutSessions", Some(body.clone()))
        .await;
    assert_eq!((a.status, reason(&a)), (400, "InvalidParameterValue"));
    body["deliverySpecifications"]["addressRestrictions"]["type"] = json!("NotAllowed");
    let a = sb
        .call(HttpMethod::Post, "checkoutSessions", Some(body))
        .await;
    assert_eq!(a.status, 201);
    let id = a.json["checkoutSessionId"].as_str().unwrap().to_string();
    let (status, body, _) = sb
        .post_form(
            &sb.url("/checkout/address"),
            &[
                ("amazonCheckoutSessionId", &id),
                ("buyer", "taro"),
                ("address", "0"),
                ("paymentMethod", "0"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("配送していません"));
    assert_eq!(
        sb.h.checkout_session(&id).unwrap()["buyer"],
        serde_json::Value::Null
    );
}
