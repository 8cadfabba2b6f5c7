//! Headless-Chromium checkout against the demo storefront, the widget served by the edge in
//! workerd, GMO's (sandbox) token JS and the sandbox gateway.

use fantoccini::{Client, Locator};
use kessai_sandbox::test_cards;
use kessai_tests::web::{self, eval, fill_card, payment_for_order, wait_for};
use kessai_tests::*;
use serde_json::Value;
use std::time::Duration;

const RECORD_FETCH: &str = r#"
window.__edgeRequests = [];
const orig = window.fetch.bind(window);
window.fetch = async (input, init) => {
  const url = typeof input === 'string' ? input : (input && input.url) || String(input);
  let body = init && init.body;
  if (body === undefined && input && typeof input !== 'string' && input.clone) {
    try { body = await input.clone().text(); } catch (e) { body = '<unreadable>'; }
  }
  window.__edgeRequests.push({ url, method: (init && init.method) || (input && input.method) || 'GET', body: body == null ? '' : String(body) });
  // Kept across the storefront's redirect to its completion page (same origin).
  sessionStorage.setItem('__edgeRequests', JSON.stringify(window.__edgeRequests));
  return orig(input, init);
};
"#;

/// The shared cart → checkout steps, then records every fetch of the checkout page.
async fn open_checkout(c: &Client) -> String {
    let order = web::open_checkout(c).await;
    eval(c, RECORD_FETCH).await;
    order
}

async fn edge_requests(c: &Client) -> Vec<Value> {
    eval(
        c,
        "return JSON.parse(sessionStorage.getItem('__edgeRequests') || '[]')",
    )
    .await
    .as_array()
    .cloned()
    .unwrap_or_default()
}

#[tokio::test]
async fn shopper_pays_by_card_and_the_shop_sees_an_authorization() {
    let c = browser().await;
    let order = open_checkout(&c).await;
    let amount_text = c
        .find(Locator::Css("#order-amount"))
        .await
        .expect("amount")
        .text()
        .await
        .expect("text");
    assert_eq!(
        amount_text, "¥3,850",
        "¥3,300 + ¥550 shipping, computed by the shop's server"
    );

    fill_card(&c, "4111111111111111").await;
    let shown = c
        .find(Locator::Css("#kessai-card-number"))
        .await
        .expect("n")
        .prop("value")
        .await
        .expect("v");
    assert_eq!(
        shown.as_deref(),
        Some("4111 1111 1111 1111"),
        "formatted by brand as typed"
    );
    c.find(Locator::Css("#kessai-pay"))
        .await
        .expect("pay")
        .click()
        .await
        .expect("click");

    // The storefront redirects to its completion page on the widget's success event.
    let state = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#payment-state"))
        .await
        .expect("completion page");
    assert_eq!(state.text().await.expect("label"), "仮売上");
    assert_eq!(
        state.attr("data-state").await.expect("attr").as_deref(),
        Some("authorized")
    );

    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "authorized");
    assert_eq!(p["amount"], 3850);
    c.close().await.expect("close");
}

#[tokio::test]
async fn card_number_never_reaches_the_edge() {
    let c = browser().await;
    let order = open_checkout(&c).await;
    fill_card(&c, "5555555555554444").await;
    c.find(Locator::Css("#kessai-pay"))
        .await
        .expect("pay")
        .click()
        .await
        .expect("click");
    wait_for(&c, "#payment-state").await;
    // The checkout page recorded every fetch into sessionStorage, which survives the
    // storefront's redirect to its completion page.
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "authorized");
    assert!(
        !p.to_string().contains("5555555555554444"),
        "no card data in the payment or its history"
    );
    let urls = stack();
    let reqs = edge_requests(&c).await;
    let to_edge: Vec<&Value> = reqs
        .iter()
        .filter(|r| r["url"].as_str().is_some_and(|u| u.starts_with(&urls.edge)))
        .collect();
    // (The page may also have asked for the Amazon Pay button's signed payload: a POST to
    // …/amazon-pay/button with the page URL only. Every body is checked for the PAN below.)
    let posts: Vec<&&Value> = to_edge
        .iter()
        .filter(|r| {
            r["method"] == "POST" && r["url"].as_str().is_some_and(|u| u.ends_with("/card"))
        })
        .collect();
    assert_eq!(posts.len(), 1, "one authorisation request: {reqs:?}");
    for r in &to_edge {
        let body = r["body"].as_str().unwrap_or("");
        assert!(
            !body.contains("5555555555554444") && !body.contains("5555 5555"),
            "PAN sent to the edge: {body}"
        );
    }
    let body: Value =
        serde_json::from_str(posts[0]["body"].as_str().unwrap_or("")).expect("json body");
    let mut keys: Vec<&String> = body
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    keys.sort();
    assert_eq!(
        keys,
        vec!["return_url", "token"],
        "only the GMO token (and the page 3-D Secure returns to) reaches the edge"
    );
    assert!(
        body["return_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&urls.storefront) && u.contains("/checkout/")),
        "{body}"
    );
    c.close().await.expect("close");
}

#[tokio::test]
async fn declined_card_shows_japanese_message_and_authorizes_nothing() {
    let c = browser().await;
    let order = open_checkout(&c).await;
    fill_card(&c, test_cards::INSUFFICIENT_FUNDS).await;
    c.find(Locator::Css("#kessai-pay"))
        .await
        .expect("pay")
        .click()
        .await
        .expect("click");
    let mut text = String::new();
    for _ in 0..100 {
        text = c
            .find(Locator::Css("#kessai-status"))
            .await
            .expect("status")
            .text()
            .await
            .unwrap_or_default();
        if text.contains("残高") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(text.contains("残高が不足"), "live region says: {text}");
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "requires_payment");
    let gmo_order = p["gateway"]["gmo_order_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let trade: Value = client()
        .get(format!("{}/__sandbox/trades/{gmo_order}", stack().sandbox))
        .send()
        .await
        .expect("sandbox")
        .json()
        .await
        .expect("json");
    assert_ne!(
        trade["status"], "AUTH",
        "no authorisation exists at the gateway: {trade}"
    );
    // The button is usable again for another card.
    assert!(!web::pay_button_disabled(&c).await);
    c.close().await.expect("close");
}

#[tokio::test]
async fn double_click_authorizes_once() {
    let c = browser().await;
    let order = open_checkout(&c).await;
    fill_card(&c, "4111111111111111").await;
    eval(
        &c,
        "const b = document.getElementById('kessai-pay'); b.click(); b.click(); b.click();",
    )
    .await;
    wait_for(&c, "#payment-state").await;
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "authorized");
    let reqs = gateway_requests(p["gateway"]["gmo_order_id"].as_str().unwrap_or("")).await;
    assert_eq!(count_api(&reqs, "ExecTran"), 1);
    c.close().await.expect("close");
}

#[tokio::test]
async fn errors_show_while_typing_only_when_final() {
    let c = browser().await;
    open_checkout(&c).await;
    let number = c
        .find(Locator::Css("#kessai-card-number"))
        .await
        .expect("number");
    number.send_keys("4111").await.expect("type");
    let invalid = number.attr("aria-invalid").await.expect("attr");
    assert_ne!(
        invalid.as_deref(),
        Some("true"),
        "a valid prefix is not an error"
    );
    number.send_keys("111111111112").await.expect("type");
    let invalid = number.attr("aria-invalid").await.expect("attr");
    assert_eq!(
        invalid.as_deref(),
        Some("true"),
        "a complete number failing Luhn is"
    );
    // Full-width digits are accepted and normalised.
    number.clear().await.expect("clear");
    number
        .send_keys("４１１１１１１１１１１１１１１１")
        .await
        .expect("type");
    let shown = number.prop("value").await.expect("value");
    assert_eq!(shown.as_deref(), Some("4111 1111 1111 1111"));
    // Submitting an empty form focuses the first field in error.
    c.find(Locator::Css("#kessai-pay"))
        .await
        .expect("pay")
        .click()
        .await
        .expect("click");
    let focused = eval(
        &c,
        "return document.activeElement && document.activeElement.id",
    )
    .await;
    assert_eq!(focused, "kessai-card-expiry");
    c.close().await.expect("close");
}
