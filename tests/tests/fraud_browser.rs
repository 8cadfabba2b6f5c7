//! Headless Chromium on the console's 不正検知 page (issue #13): a payment locked by five
//! declined card attempts is listed with its count and IP, the operator unlocks it (解除, after
//! the browser's confirmation) and the edge lets the shopper pay again.

use kessai_tests::web::{click, eval, wait_for, wait_for_text};
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

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
