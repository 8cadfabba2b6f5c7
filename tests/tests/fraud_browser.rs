//! Headless Chromium on the console's 不正検知 page (issue #13): a payment locked by five
//! declined card attempts is listed with its count and IP, the operator unlocks it (解除, after
//! the browser's confirmation) and the edge lets the shopper pay again. A shop contracted as
//! 3D必須 at GMO while the edge runs without 3-D Secure: the widget explains the refusal.
//!
//! The tests take turns ([`TURN`]): one switches the sandbox shop to 3D必須 for everyone.

use kessai_tests::web::{
    click, eval, fill_card, open_checkout, pay_button_disabled, payment_for_order, wait_for,
    wait_for_text,
};
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

static TURN: Mutex<()> = Mutex::const_new(());

/// A card POST from `ip`, as the widget sends it: the status.
async fn card_from(p: &Value, ip: &str, card: &str) -> u16 {
    let urls = stack();
    let token = token_for(card).await;
    client()
        .post(format!("{}/v1/checkout/{}/card", urls.edge, id_of(p)))
        .header("origin", &urls.storefront)
        .header("x-client-secret", p["client_secret"].as_str().unwrap_or(""))
        .header("cf-connecting-ip", ip)
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("edge reachable")
        .status()
        .as_u16()
}

#[tokio::test]
async fn operator_unlocks_a_locked_payment_on_the_fraud_page() {
    let _turn = TURN.lock().await;
    let ip = "203.0.113.7";
    let p = create_payment(3100).await;
    for _ in 0..5 {
        assert_eq!(card_from(&p, ip, "4000000000000028").await, 402);
    }
    assert_eq!(
        card_from(&p, ip, kessai_sandbox::test_cards::APPROVED).await,
        423
    );

    let c = browser().await;
    let (name, password) = operator_login();
    c.goto(&format!("{}/console/", stack().edge))
        .await
        .expect("console page");
    wait_for(&c, "#login-name")
        .await
        .send_keys(&name)
        .await
        .expect("name");
    wait_for(&c, "#login-password")
        .await
        .send_keys(&password)
        .await
        .expect("password");
    click(&c, "#login-submit").await;
    wait_for_text(&c, "#operator-name", &name).await;

    click(&c, "#nav-fraud").await;
    let row = format!("tr.fraud-payment[data-id='{}']", id_of(&p));
    let text = wait_for_text(&c, &row, "5回").await;
    assert!(text.contains(ip), "{text}");
    assert!(
        text.contains(p["order_id"].as_str().unwrap_or("?")),
        "{text}"
    );
    click(&c, &format!("{row} button.fraud-unlock")).await;
    let question = c.get_alert_text().await.expect("confirmation");
    assert!(question.contains("ロックを解除しますか"), "{question}");
    c.accept_alert().await.expect("accept");
    let note = wait_for_text(&c, "#fraud-note", "解除しました").await;
    assert!(note.contains("5件"), "{note}");
    wait_for(&c, "#fraud-payments-empty").await;
    let gone = eval(
        &c,
        &format!("return document.querySelector(\"{row}\") === null"),
    )
    .await;
    assert_eq!(gone, json!(true));
    let _ = c.close().await;

    let (status, after) = merchant(Method::GET, &format!("/v1/payments/{}", id_of(&p)), None).await;
    assert_eq!(status, 200);
    assert!(
        after["events"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["kind"] == "card_attempts_unlocked"
                && e["actor"] == format!("operator:{name}"))),
        "{after}"
    );
    assert_eq!(
        card_from(&p, ip, kessai_sandbox::test_cards::APPROVED).await,
        200
    );
}

/// Switches the GMO sandbox's shop contract: 3D必須 (EntryTran without TdFlag=2 → E01080101).
async fn sandbox_shop(tds_required: bool) {
    let resp = client()
        .post(format!("{}/__sandbox/shop", stack().sandbox))
        .json(&json!({ "tds_required": tds_required }))
        .send()
        .await
        .expect("sandbox reachable");
    assert!(resp.status().is_success(), "{}", resp.status());
}

#[tokio::test]
async fn a_3d_required_shop_refusal_is_explained_in_the_widget_and_nothing_is_charged() {
    let _turn = TURN.lock().await;
    let c = browser().await;
    let order = open_checkout(&c).await;
    sandbox_shop(true).await;
    fill_card(&c, kessai_sandbox::test_cards::APPROVED).await;
    click(&c, "#kessai-pay").await;
    let status = wait_for_text(&c, "#kessai-status", "本人認証(3Dセキュア)").await;
    // Back to the ordinary contract before asserting, so a failure here spoils no other test.
    sandbox_shop(false).await;
    assert!(
        status.contains("本人認証(3Dセキュア)") && status.contains("お支払いは行われていません"),
        "live region says: {status}"
    );
    assert!(!pay_button_disabled(&c).await, "the form stays usable");
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "requires_payment", "{p}");
    let log = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(count_api(&log, "ExecTran"), 0, "nothing charged: {log:?}");
    let events = eval(&c, "return window.__kessaiEvents").await;
    assert!(
        events
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["type"] == "kessai:error"
                && e["detail"]["code"] == "three_d_secure_required_by_shop")),
        "{events}"
    );
    // Once the contract and the edge agree again, the same form pays.
    fill_card(&c, kessai_sandbox::test_cards::APPROVED).await;
    click(&c, "#kessai-pay").await;
    wait_for(&c, "#payment-state").await;
    assert_eq!(payment_for_order(&order).await["state"], "authorized");
    let _ = c.close().await;
}
