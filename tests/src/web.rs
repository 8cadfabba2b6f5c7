//! Helpers shared by the headless-Chromium tests (card and Amazon Pay): waiting for elements,
//! running JS, the storefront's cart → checkout steps, and the payment behind an order.

use crate::{merchant, order_id, payment, stack};
use fantoccini::{Client, Locator};
use serde_json::Value;
use std::time::Duration;

pub async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
}

pub async fn eval(c: &Client, js: &str) -> Value {
    c.execute(js, vec![])
        .await
        .unwrap_or_else(|e| panic!("js {js}: {e}"))
}

/// Clicks the element `css` once it is there.
pub async fn click(c: &Client, css: &str) {
    wait_for(c, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// The text of `css` once it is there.
pub async fn text_of(c: &Client, css: &str) -> String {
    wait_for(c, css)
        .await
        .text()
        .await
        .unwrap_or_else(|e| panic!("text {css}: {e}"))
}

/// Waits until `css`'s text contains `needle` (20 s); returns the last text seen.
pub async fn wait_for_text(c: &Client, css: &str, needle: &str) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            text = el.text().await.unwrap_or_default();
            if text.contains(needle) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    text
}

/// Opens the shop, puts one mug in the cart and goes to checkout (the card form is shown);
/// returns the order number.
pub async fn open_checkout(c: &Client) -> String {
    let urls = stack();
    c.goto(&format!("{}/", urls.storefront))
        .await
        .expect("storefront");
    let qty = wait_for(c, "input[name=mug]").await;
    qty.clear().await.expect("clear");
    qty.send_keys("1").await.expect("qty");
    click(c, "#to-checkout").await;
    wait_for(c, "#kessai-card-number").await;
    text_of(c, "#order-id").await
}

/// The merchant API's view of the payment of storefront order `order`.
pub async fn payment_for_order(order: &str) -> Value {
    let (_, list) = merchant(reqwest::Method::GET, "/v1/payments", None).await;
    let found = list["data"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["order_id"] == order).cloned());
    let p = found.unwrap_or_else(|| panic!("payment for order {order}"));
    payment(p["id"].as_str().unwrap_or("")).await
}

/// Types a valid expiry, CVC and holder with card `number` into the widget's card form.
pub async fn fill_card(c: &Client, number: &str) {
    for (css, value) in [
        ("#kessai-card-number", number),
        ("#kessai-card-expiry", "12/30"),
        ("#kessai-card-cvc", "123"),
        ("#kessai-card-holder", "TARO YAMADA"),
    ] {
        let el = c.find(Locator::Css(css)).await.expect(css);
        el.send_keys(value).await.expect(css);
    }
}

/// Makes this browser fail every request whose URL matches one of `patterns` (Chrome DevTools
/// `Network.setBlockedURLs` through chromedriver), e.g. to take a third-party script away.
pub async fn block_urls(c: &Client, patterns: &[&str]) {
    let session = c
        .session_id()
        .await
        .ok()
        .flatten()
        .expect("webdriver session id");
    let url = format!(
        "{}/session/{session}/goog/cdp/execute",
        crate::chromedriver_url()
    );
    for (cmd, params) in [
        ("Network.enable", serde_json::json!({})),
        (
            "Network.setBlockedURLs",
            serde_json::json!({ "urls": patterns }),
        ),
    ] {
        let status = crate::client()
            .post(&url)
            .json(&serde_json::json!({ "cmd": cmd, "params": params }))
            .send()
            .await
            .expect("chromedriver reachable")
            .status();
        assert!(status.is_success(), "{cmd}: {status}");
    }
}

/// Whether the card form's pay button is disabled right now.
pub async fn pay_button_disabled(c: &Client) -> bool {
    let disabled = c
        .find(Locator::Css("#kessai-pay"))
        .await
        .expect("pay")
        .prop("disabled")
        .await
        .expect("prop");
    disabled.as_deref() == Some("true")
}

/// Opens `path` on the storefront at `storefront`.
async fn open(c: &Client, storefront: &str, path: &str) {
    c.goto(&format!("{storefront}{path}"))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// Registers a new member of the demo shop at `storefront` (the stack's URL: the caller's
/// binary picks [`crate::stack`] or [`crate::stack_3ds`]); logged in afterwards; their member id.
pub async fn register_member(c: &Client, storefront: &str) -> String {
    open(c, storefront, "/register").await;
    let email = format!("{}@example.jp", order_id("card").to_lowercase());
    for (css, value) in [
        ("#reg-name", "山田 太郎"),
        ("#reg-kana", "ヤマダ タロウ"),
        ("#reg-email", email.as_str()),
        ("#reg-postal", "150-0001"),
        ("#reg-pref", "東京都"),
        ("#reg-city", "渋谷区"),
        ("#reg-addr1", "神宮前1-1"),
        ("#reg-phone", "03-0000-0001"),
        ("#reg-password", "kessai-demo-pass"),
    ] {
        wait_for(c, css).await.send_keys(value).await.expect(css);
    }
    click(c, "#register-submit").await;
    text_of(c, "#member-id").await
}

/// The logged-in member adds card `number` on マイページ › カード情報 › カードを追加する (a card
/// whose 3-D Secure is frictionless) and is back on the list with 「カードを登録しました」.
pub async fn add_card_on_mypage(c: &Client, storefront: &str, number: &str) {
    open(c, storefront, "/mypage/cards").await;
    click(c, "#add-card").await;
    wait_for(c, "#kessai-card-number").await;
    fill_card(c, number).await;
    click(c, "#kessai-pay").await;
    let flash = wait_for_text(c, ".flash", "カードを登録しました").await;
    assert!(flash.contains("カードを登録しました"), "{flash}");
}
