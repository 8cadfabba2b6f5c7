//! The buyer journey through the hosted pages, driven over plain HTTP like the edge's and the
//! browser's tests will: button → login → address book → review → Update → processing → Complete.

mod amazon_support;

use amazon_support::*;
use kessai_core::amazon::button::button_string_to_sign;
use kessai_core::amazon::request::HttpMethod;
use kessai_core::amazon::signing::Algorithm;
use serde_json::json;

#[tokio::test]
async fn happy_checkout_authorizes_once_and_completes() {
    let sb = Sb::start().await;
    let cs_id = sb.buyer_checks_out(5_980, "taro", "1").await;

    // The review step reads the session: buyer and chosen (Osaka) address, still Open.
    let cs = sb
        .call(HttpMethod::Get, &format!("checkoutSessions/{cs_id}"), None)
        .await;
    assert_eq!(cs.status, 200);
    assert!(cs.headers.contains_key("x-amz-pay-request-id"));
    let j = &cs.json;
    assert_eq!(j["statusDetails"]["state"], "Open");
    assert_eq!(j["releaseEnvironment"], "Sandbox");
    assert_eq!(j["buyer"]["name"], "山田 太郎");
    assert_eq!(j["buyer"]["email"], "taro.yamada@example.jp");
    assert!(
        j["buyer"]["buyerId"]
            .as_str()
            .unwrap()
            .starts_with("amzn1.account.")
    );
    assert_eq!(j["shippingAddress"]["postalCode"], "530-0001");
    assert_eq!(j["shippingAddress"]["stateOrRegion"], "大阪府");
    assert_eq!(j["shippingAddress"]["countryCode"], "JP");
    assert_eq!(
        j["paymentPreferences"][0]["paymentDescriptor"],
        "Visa ****1111"
    );
    assert_eq!(
        j["webCheckoutDetails"]["amazonPayRedirectUrl"],
        serde_json::Value::Null
    );
    let ids: Vec<&str> = j["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["constraintId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CheckoutResultReturnUrlNotSet"]);
    let created = j["creationTimestamp"].as_str().unwrap();
    assert_eq!(created, "20261115T030000Z");
    assert_eq!(j["expirationTimestamp"], "20261116T030000Z");
    assert_eq!(cs_id.len(), 36);

    // Nothing is authorised before the processing page.
    assert!(sb.h.charges().is_empty());
    let early = sb.complete(&cs_id, 5_980).await;
    assert_eq!(
        (early.status, reason(&early)),
        (422, "InvalidCheckoutSessionStatus")
    );

    let upd = sb.update_for_result(&cs_id, 5_980).await;
    assert_eq!(upd.status, 200, "{}", upd.json);
    assert_eq!(upd.json["constraints"], json!([]));
    let redirect = upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        redirect,
        sb.url(&format!(
            "/checkout/processing?amazonCheckoutSessionId={cs_id}"
        ))
    );
    let result = sb.process(&redirect).await;
    assert_eq!(
        result,
        format!(
            "https://edge.example.jp/v1/amazon-pay/result?payment=pay_1&amazonCheckoutSessionId={cs_id}"
        )
    );
    // Reloading the processing page does not authorise twice.
    sb.process(&redirect).await;
    assert_eq!(sb.h.charges().len(), 1);

    let wrong = sb.complete(&cs_id, 5_981).await;
    assert_eq!((wrong.status, reason(&wrong)), (409, "AmountMismatch"));

    let done = sb.complete(&cs_id, 5_980).await;
    assert_eq!(done.status, 200, "{}", done.json);
    assert_eq!(done.json["statusDetails"]["state"], "Completed");
    let cp_id = done.json["chargePermissionId"]
        .as_str()
        .unwrap()
        .to_string();
    let charge_id = done.json["chargeId"].as_str().unwrap().to_string();
    assert!(cp_id.starts_with("S03-") && cp_id.len() == 19, "{cp_id}");
    assert!(
        charge_id.starts_with(&format!("{cp_id}-C")) && charge_id.len() == 27,
        "{charge_id}"
    );

    let charge = sb
        .call(HttpMethod::Get, &format!("charges/{charge_id}"), None)
        .await;
    assert_eq!(charge.json["statusDetails"]["state"], "Authorized");
    assert_eq!(
        charge.json["chargeAmount"],
        json!({"amount": "5980", "currencyCode": "JPY"})
    );
    assert_eq!(charge.json["captureAmount"], serde_json::Value::Null);
    assert_eq!(charge.json["expirationTimestamp"], "20261215T030000Z");

    let cp = sb
        .call(HttpMethod::Get, &format!("chargePermissions/{cp_id}"), None)
        .await;
    assert_eq!(cp.json["statusDetails"]["state"], "Chargeable");
    assert_eq!(cp.json["chargePermissionType"], "OneTime");
    assert_eq!(cp.json["limits"]["amountLimit"]["amount"], "5980");
    assert_eq!(cp.json["limits"]["amountBalance"]["amount"], "0");
    assert_eq!(cp.json["shippingAddress"]["city"], "大阪市北区");
    assert_eq!(
        cp.json["merchantMetadata"]["merchantStoreName"],
        "kessai デモ店"
    );

    // Completing again is refused and never charges twice.
    let again = sb.complete(&cs_id, 5_980).await;
    assert_eq!(
        (again.status, reason(&again)),
        (422, "InvalidCheckoutSessionStatus")
    );
    assert_eq!(sb.h.charges().len(), 1);
    // A completed session cannot be updated either.
    let upd = sb.update_for_result(&cs_id, 5_980).await;
    assert_eq!(
        (upd.status, reason(&upd)),
        (422, "InvalidCheckoutSessionStatus")
    );
}

#[tokio::test]
async fn declining_buyer_cancels_the_session_and_authorizes_nothing() {
    let sb = Sb::start().await;
    let cs_id = sb.buyer_checks_out(3_000, "hanako", "0").await;
    let upd = sb.update_for_result(&cs_id, 3_000).await;
    let redirect = upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
        .as_str()
        .unwrap()
        .to_string();
    let result = sb.process(&redirect).await;
    assert!(result.ends_with(&format!("amazonCheckoutSessionId={cs_id}")));

    let done = sb.complete(&cs_id, 3_000).await;
    assert_eq!(
        (done.status, reason(&done)),
        (400, "CheckoutSessionCanceled")
    );
    let cs = sb
        .call(HttpMethod::Get, &format!("checkoutSessions/{cs_id}"), None)
        .await;
    assert_eq!(cs.json["statusDetails"]["state"], "Canceled");
    assert_eq!(cs.json["statusDetails"]["reasonCode"], "Declined");
    assert_eq!(cs.json["chargeId"], serde_json::Value::Null);
    assert!(sb.h.charges().is_empty(), "no authorization exists");
    assert!(sb.h.charge_permissions().is_empty());
}

#[tokio::test]
async fn cancel_returns_to_the_button_page_and_leaves_the_session_open() {
    let sb = Sb::start().await;
    let (payload, sig) = sb.checkout_button(1_000);
    let (_, _, loc) = sb
        .press_button("PayAndShip", &payload, &sig, Some("AMZN-PAY-RSASSA-PSS-V2"))
        .await;
    let login = sb.resolve(&loc.unwrap());
    let cs_id = query_param(&login, "amazonCheckoutSessionId").unwrap();
    let (_, body, _) = sb.get_page(&login).await;
    assert!(body.contains("id=\"cancelLink\""));
    assert!(body.contains("キャンセル"));
    let (status, _, loc) = sb
        .get_page(&sb.url(&format!("/checkout/cancel?amazonCheckoutSessionId={cs_id}")))
        .await;
    assert_eq!(status, 303);
    assert_eq!(loc.as_deref(), Some("https://shop.example.jp/cart"));
    let cs = sb.h.checkout_session(&cs_id).unwrap();
    assert_eq!(cs["statusDetails"]["state"], "Open");
    assert_eq!(cs["constraints"][0]["constraintId"], "BuyerNotAssociated");
}

#[tokio::test]
async fn hosted_pages_show_japanese_addresses_and_require_a_choice() {
    let sb = Sb::start().await;
    let (payload, sig) = sb.checkout_button(12_345);
    let (_, _, loc) = sb
        .press_button("PayAndShip", &payload, &sig, Some("AMZN-PAY-RSASSA-PSS-V2"))
        .await;
    let cs_id = query_param(&sb.resolve(&loc.unwrap()), "amazonCheckoutSessionId").unwrap();
    let (status, body, _) = sb
        .post_form(
            &sb.url("/checkout/login"),
            &[("amazonCheckoutSessionId", &cs_id), ("buyer", "nobody")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("購入者を選択してください"));
    let (_, body, _) = sb
        .get_page(&sb.url(&format!(
            "/checkout/address?amazonCheckoutSessionId={cs_id}&buyer=taro"
        )))
        .await;
    for needle in [
        "〒100-0001",
        "東京都千代田区千代田1-1",
        "〒530-0001",
        "大阪府大阪市北区梅田3-1-1",
        "愛知県名古屋市中区",
        "name=\"address\"",
        "id=\"continueButton\"",
        "￥12,345",
        "lang=\"ja\"",
        "Amazon Pay サンドボックス",
    ] {
        assert!(body.contains(needle), "missing {needle}");
    }
    let (status, _, _) = sb
        .post_form(
            &sb.url("/checkout/address"),
            &[
                ("amazonCheckoutSessionId", &cs_id),
                ("buyer", "taro"),
                ("address", "9"),
                ("paymentMethod", "0"),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        sb.h.checkout_session(&cs_id).unwrap()["buyer"],
        serde_json::Value::Null
    );
}

#[tokio::test]
async fn button_signature_and_merchant_are_verified() {
    let sb = Sb::start().await;
    let (payload, sig) = sb.checkout_button(1_000);

    // Amount changed after signing.
    let tampered = payload.replace("\"1000\"", "\"1\"");
    assert_ne!(tampered, payload);
    let (status, body, _) = sb
        .press_button(
            "PayAndShip",
            &tampered,
            &sig,
            Some("AMZN-PAY-RSASSA-PSS-V2"),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("InvalidSignatureError"), "{body}");

    // Same bytes re-serialised (escaped slashes) no longer match.
    let escaped = payload.replace('/', "\\/");
    let (status, _, _) = sb
        .press_button("PayAndShip", &escaped, &sig, Some("AMZN-PAY-RSASSA-PSS-V2"))
        .await;
    assert_eq!(status, 400);

    // A V2 signature without `algorithm` is verified as legacy, like Amazon, and fails.
    let (status, body, _) = sb.press_button("PayAndShip", &payload, &sig, None).await;
    assert_eq!(status, 400);
    assert!(body.contains("AMZN-PAY-RSASSA-PSS "), "{body}");
    // A legacy (salt 20) signature without `algorithm` passes.
    let legacy = pss_sign(
        &merchant_key().private_pkcs8_pem,
        20,
        &button_string_to_sign(Algorithm::Legacy, &payload),
    );
    let (status, _, _) = sb.press_button("PayAndShip", &payload, &legacy, None).await;
    assert_eq!(status, 303);

    // Another key's signature.
    let foreign = pss_sign(
        &other_key().private_pkcs8_pem,
        32,
        &button_string_to_sign(Algorithm::V2, &payload),
    );
    let (status, _, _) = sb
        .press_button(
            "PayAndShip",
            &payload,
            &foreign,
            Some("AMZN-PAY-RSASSA-PSS-V2"),
        )
        .await;
    assert_eq!(status, 400);

    // A payload for another store, correctly signed.
    let other_store = payload.replace(
        &sb.h.config.store_id,
        "amzn1.application-oa2-client.someoneelse",
    );
    let sig2 = pss_sign(
        &merchant_key().private_pkcs8_pem,
        32,
        &button_string_to_sign(Algorithm::V2, &other_store),
    );
    let (status, body, _) = sb
        .press_button(
            "PayAndShip",
            &other_store,
            &sig2,
            Some("AMZN-PAY-RSASSA-PSS-V2"),
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("storeId"), "{body}");

    // An unknown field in the payload, correctly signed.
    let extra = payload.replacen('{', "{\"checkoutMode\":\"ProcessOrder\",", 1);
    let sig3 = pss_sign(
        &merchant_key().private_pkcs8_pem,
        32,
        &button_string_to_sign(Algorithm::V2, &extra),
    );
    let (status, body, _) = sb
        .press_button("PayAndShip", &extra, &sig3, Some("AMZN-PAY-RSASSA-PSS-V2"))
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("UnrecognizedField"), "{body}");

    // Wrong merchant id / key id.
    let form = [
        ("payloadJSON", payload.as_str()),
        ("signature", sig.as_str()),
        ("publicKeyId", "SANDBOX-SOMEONEELSE"),
        ("merchantId", sb.h.config.merchant_id.as_str()),
        ("productType", "PayAndShip"),
        ("algorithm", "AMZN-PAY-RSASSA-PSS-V2"),
        ("sandbox", "true"),
    ];
    let (status, _, _) = sb.post_form(&sb.url("/checkout/start"), &form).await;
    assert_eq!(status, 400);
    let mut form2 = form;
    form2[2].1 = sb.h.config.public_key_id.as_str();
    form2[3].1 = "AOTHERMERCHANT";
    let (status, _, _) = sb.post_form(&sb.url("/checkout/start"), &form2).await;
    assert_eq!(status, 400);
    assert!(
        sb.h.checkout_sessions().len() == 1,
        "only the legacy-signed press opened a session"
    );
}

#[tokio::test]
async fn sign_in_returns_a_buyer_token_for_get_buyer() {
    let sb = Sb::start().await;
    let payload = json!({
        "signInReturnUrl": "https://edge.example.jp/v1/amazon-pay/signin/return?state=abc",
        "storeId": sb.h.config.store_id,
        "signInScopes": ["name", "email", "postalCode", "shippingAddress", "phoneNumber"]
    })
    .to_string();
    let sig = pss_sign(
        &merchant_key().private_pkcs8_pem,
        32,
        &button_string_to_sign(Algorithm::V2, &payload),
    );
    let (status, body, loc) = sb
        .press_button("SignIn", &payload, &sig, Some("AMZN-PAY-RSASSA-PSS-V2"))
        .await;
    assert_eq!(status, 303, "{body}");
    let login = sb.resolve(&loc.unwrap());
    let sid = query_param(&login, "signInSessionId").unwrap();
    let (_, body, _) = sb.get_page(&login).await;
    assert!(body.contains("id=\"signInSubmit\""));
    let (status, _, loc) = sb
        .post_form(
            &sb.url("/signin/login"),
            &[
                ("signInSessionId", &sid),
                ("buyer", "ichiro"),
                ("password", "x"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    let (status, body, _) = sb.get_page(&sb.resolve(&loc.unwrap())).await;
    assert_eq!(status, 200);
    for label in [
        "名前",
        "Eメールアドレス",
        "郵便番号",
        "配送先住所",
        "電話番号",
        "鈴木 一郎",
    ] {
        assert!(body.contains(label), "consent lists {label}");
    }
    let (status, _, loc) = sb
        .post_form(
            &sb.url("/signin/consent"),
            &[("signInSessionId", &sid), ("decision", "allow")],
        )
        .await;
    assert_eq!(status, 303);
    let back = loc.unwrap();
    assert!(
        back.starts_with(
            "https://edge.example.jp/v1/amazon-pay/signin/return?state=abc&buyerToken="
        ),
        "{back}"
    );
    let token = query_param(&back, "buyerToken").unwrap();

    let enc = kessai_core::amazon::signing::uri_encode(&token);
    let buyer = sb
        .call(HttpMethod::Get, &format!("buyers/{enc}"), None)
        .await;
    assert_eq!(buyer.status, 200, "{}", buyer.json);
    let b = &buyer.json;
    assert_eq!(b["name"], "鈴木 一郎");
    assert_eq!(b["email"], "ichiro.suzuki@example.jp");
    assert_eq!(b["postalCode"], "810-0001");
    assert_eq!(b["countryCode"], "JP");
    assert_eq!(b["phoneNumber"], "092-000-0005");
    assert_eq!(b["shippingAddress"]["stateOrRegion"], "福岡県");
    assert_eq!(
        b["billingAddress"],
        serde_json::Value::Null,
        "not requested"
    );
    let id1 = b["buyerId"].as_str().unwrap().to_string();

    // The sign-in session is used up; a second sign-in of the same buyer gives the same id.
    let (status, _, _) = sb
        .post_form(
            &sb.url("/signin/consent"),
            &[("signInSessionId", &sid), ("decision", "allow")],
        )
        .await;
    assert_eq!(status, 404);
    // The token expires [U lifetime].
    sb.h.advance_ms(kessai_sandbox::amazon::BUYER_TOKEN_LIFETIME_MS);
    let expired = sb
        .call(HttpMethod::Get, &format!("buyers/{enc}"), None)
        .await;
    assert_eq!(
        (expired.status, reason(&expired)),
        (404, "ResourceNotFound")
    );
    assert!(id1.starts_with("amzn1.account."));
}

#[tokio::test]
async fn checkout_js_stand_in_is_served() {
    let sb = Sb::start().await;
    let resp = sb.http.get(sb.h.checkout_js_url()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
    let js = resp.text().await.unwrap();
    assert!(js.contains(&format!("'{}'", sb.h.base_url)));
    assert!(js.contains("Can not find element ' + selector + ' for amazon.Pay.renderButton."));
    for name in [
        "renderButton",
        "initCheckout",
        "payloadJSON",
        "publicKeyId",
        "algorithm",
        "productType",
        "returnUrl",
        "role",
        "Amazonアカウントでログイン",
    ] {
        assert!(js.contains(name), "{name}");
    }
}

/// PayOnly (no shipping address), and the Confirm / AuthorizeWithCapture intents.
#[tokio::test]
async fn pay_only_and_other_payment_intents() {
    let sb = Sb::start().await;
    for (intent, expect_charge) in [
        ("Confirm", None),
        ("AuthorizeWithCapture", Some("Captured")),
    ] {
        let payload = json!({
            "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://edge.example.jp/review"},
            "storeId": sb.h.config.store_id,
            "paymentDetails": {"paymentIntent": intent, "chargeAmount": {"amount": "1200", "currencyCode": "JPY"}}
        })
        .to_string();
        let sig = pss_sign(
            &merchant_key().private_pkcs8_pem,
            32,
            &button_string_to_sign(Algorithm::V2, &payload),
        );
        let (status, _, loc) = sb
            .press_button("PayOnly", &payload, &sig, Some("AMZN-PAY-RSASSA-PSS-V2"))
            .await;
        assert_eq!(status, 303);
        let cs_id = query_param(&sb.resolve(&loc.unwrap()), "amazonCheckoutSessionId").unwrap();
        let (_, body, _) = sb
            .get_page(&sb.url(&format!(
                "/checkout/address?amazonCheckoutSessionId={cs_id}&buyer=taro"
            )))
            .await;
        assert!(
            !body.contains("name=\"address\""),
            "PayOnly has no address book"
        );
        let (status, _, _) = sb
            .post_form(
                &sb.url("/checkout/address"),
                &[
                    ("amazonCheckoutSessionId", &cs_id),
                    ("buyer", "taro"),
                    ("paymentMethod", "1"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let upd = sb
            .call(
                HttpMethod::Patch,
                &format!("checkoutSessions/{cs_id}"),
                Some(json!({"webCheckoutDetails": {"checkoutResultReturnUrl": "https://edge.example.jp/result"}})),
            )
            .await;
        assert_eq!(upd.json["productType"], "PayOnly");
        assert_eq!(upd.json["shippingAddress"], serde_json::Value::Null);
        assert_eq!(
            upd.json["paymentPreferences"][0]["paymentDescriptor"],
            "JCB ****0000"
        );
        sb.process(
            upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
                .as_str()
                .unwrap(),
        )
        .await;
        let done = sb.complete(&cs_id, 1_200).await;
        assert_eq!(done.status, 200, "{}", done.json);
        assert!(done.json["chargePermissionId"].is_string());
        match expect_charge {
            None => assert_eq!(done.json["chargeId"], serde_json::Value::Null),
            Some(state) => {
                let id = done.json["chargeId"].as_str().unwrap();
                let c = sb
                    .call(HttpMethod::Get, &format!("charges/{id}"), None)
                    .await;
                assert_eq!(c.json["statusDetails"]["state"], state);
                assert_eq!(c.json["captureAmount"]["amount"], "1200");
            }
        }
    }
    // Confirm left a chargeable permission: the merchant charges it later.
    let cps = sb.h.charge_permissions();
    assert_eq!(cps.len(), 2);
    // Confirm holds nothing yet; AuthorizeWithCapture's permission is used up.
    let balances: Vec<&str> = cps
        .iter()
        .map(|c| c["limits"]["amountBalance"]["amount"].as_str().unwrap())
        .collect();
    assert!(
        balances.contains(&"1200") && balances.contains(&"0"),
        "{balances:?}"
    );
    let confirm_cp = cps
        .iter()
        .find(|c| c["limits"]["amountBalance"]["amount"] == "1200")
        .and_then(|c| c["chargePermissionId"].as_str())
        .unwrap()
        .to_string();
    let c = sb
        .call(
            HttpMethod::Post,
            "charges",
            Some(json!({"chargePermissionId": confirm_cp, "chargeAmount": {"amount": "1200", "currencyCode": "JPY"}})),
        )
        .await;
    assert_eq!(c.status, 201, "{}", c.json);
}
