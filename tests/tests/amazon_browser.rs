//! Headless-Chromium Amazon Pay journeys against the demo storefront, the widget served by the
//! edge in workerd, the Amazon Pay sandbox's checkout.js stand-in and hosted pages:
//! pay (仮売上 with the chosen address), a declining buyer, sign-in prefilling 会員登録, and
//! linking / unlinking an Amazon account from マイページ.

use fantoccini::{Client, Locator};
use kessai_core::amazon::errors;
use kessai_sandbox::amazon::buyers::{self, SandboxBuyer};
use kessai_tests::web::{
    block_urls, click, eval, fill_card, open_checkout, pay_button_disabled, payment_for_order,
    text_of, wait_for, wait_for_text,
};
use kessai_tests::*;
use serde_json::Value;
use std::time::Duration;

const CHECKOUT_BUTTON: &str = "#kessai-amazon-pay-button [data-kessai-amazon-button]";
const SIGNIN_BUTTON: &str = "#kessai-amazon-signin-button [data-kessai-amazon-button]";

fn reference_of(v: &Value) -> &str {
    v["merchantMetadata"]["merchantReferenceId"]
        .as_str()
        .unwrap_or("")
}

/// On the hosted Amazon login page: picks the sandbox buyer and logs in.
async fn amazon_login(c: &Client, buyer: &SandboxBuyer) {
    click(c, &format!("#buyer-{}", buyer.key)).await;
    click(c, "#signInSubmit").await;
}

/// From a storefront page with `<kessai-amazon-signin>`: the whole "Amazonでログイン" round trip
/// (button → hosted login → consent → the edge posts the assertion back to the storefront).
async fn sign_in_with_amazon(c: &Client, buyer: &SandboxBuyer) {
    click(c, SIGNIN_BUTTON).await;
    amazon_login(c, buyer).await;
    click(c, "#consentSubmit").await;
}

/// The storefront's completion page's payment state (30 s); on a timeout, says where the
/// browser is instead.
async fn completion_page(c: &Client) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#payment-state"))
        .await
    {
        Ok(el) => el,
        Err(e) => {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let text = eval(c, "return document.body ? document.body.innerText : ''").await;
            panic!("no completion page ({e}); at {url}: {text}");
        }
    }
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css))
        .await
        .map(|v| v.len())
        .unwrap_or(0)
}

async fn current_path(c: &Client) -> String {
    c.current_url()
        .await
        .map(|u| u.path().to_string())
        .unwrap_or_default()
}

async fn value_of(c: &Client, css: &str) -> String {
    wait_for(c, css)
        .await
        .prop("value")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn goto(c: &Client, path: &str) {
    c.goto(&format!("{}{path}", stack().storefront))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

#[tokio::test]
async fn shopper_pays_with_amazon_and_the_shop_sees_an_authorization_with_the_chosen_address() {
    let c = browser().await;
    let order = open_checkout(&c).await;
    // One working button, beside the card form, under 「または」.
    let or = text_of(&c, ".kessai-or").await;
    assert_eq!(or, "または");
    wait_for(&c, CHECKOUT_BUTTON).await;
    // A second <kessai-checkout> on the page gets a card form but no second Amazon Pay button.
    eval(
        &c,
        "const first = document.getElementById('kessai');
         const second = document.createElement('kessai-checkout');
         second.id = 'second';
         for (const a of ['client-secret', 'edge-url', 'lang']) second.setAttribute(a, first.getAttribute(a));
         first.parentNode.appendChild(second);",
    )
    .await;
    wait_for(&c, "#second .kessai-pay").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(&c, "[data-kessai-amazon-button]").await, 1);
    assert_eq!(count(&c, "#second .kessai-or").await, 0);
    click(&c, CHECKOUT_BUTTON).await;

    // Amazon's hosted pages: log in as the paying buyer, choose the Osaka address.
    let buyer = &buyers::TARO;
    amazon_login(&c, buyer).await;
    let chosen = &buyer.addresses[1];
    click(&c, "#address-1").await;
    click(&c, "#paymentMethod-0").await;
    click(&c, "#continueButton").await;

    // Amazon → edge (review, Amazon's processing, result) → back on the checkout page, where the
    // widget reports success and the storefront moves to its completion page.
    let state = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#payment-state"))
        .await
        .expect("completion page");
    assert_eq!(state.text().await.expect("label"), "仮売上");
    assert_eq!(text_of(&c, "#payment-method").await, "Amazon Pay");
    let shown_address = text_of(&c, ".amazon-address").await;
    assert!(
        shown_address.contains(chosen.postal_code)
            && shown_address.contains(chosen.state_or_region)
            && shown_address.contains(chosen.address_line1),
        "completion page shows the chosen address: {shown_address}"
    );
    assert_eq!(text_of(&c, ".amazon-buyer").await, buyer.name);
    // The widget told the page, like a card payment, with the method.
    let events = eval(
        &c,
        "return JSON.parse(sessionStorage.getItem('kessaiEvents') || '[]')",
    )
    .await;
    let success = events
        .as_array()
        .and_then(|a| a.iter().find(|e| e["type"] == "kessai:success").cloned())
        .unwrap_or_else(|| panic!("kessai:success after the return: {events}"));
    assert_eq!(success["detail"]["method"], "amazon_pay");
    assert_eq!(success["detail"]["state"], "authorized");

    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "authorized", "{p}");
    assert_eq!(p["method"], "amazon_pay");
    let amazon = &p["amazon_pay"];
    let charge_id = amazon["charge_id"].as_str().expect("charge id");
    assert!(!charge_id.is_empty());
    assert!(
        amazon["charge_permission_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(amazon["buyer"]["buyer_id"], buyer.buyer_id);
    let address = &amazon["shipping_address"];
    assert_eq!(address["postal_code"], chosen.postal_code);
    assert_eq!(address["state_or_region"], chosen.state_or_region);
    assert_eq!(address["address_line1"], chosen.address_line1);

    // Amazon's side agrees: the charge is Authorized for the order's amount.
    let charges = amazon_objects("charges").await;
    let charge = charges
        .iter()
        .find(|ch| ch["chargeId"] == charge_id)
        .unwrap_or_else(|| panic!("charge {charge_id} at the sandbox: {charges:?}"));
    assert_eq!(charge["statusDetails"]["state"], "Authorized");
    assert_eq!(charge["chargeAmount"]["amount"], "3850");

    // 受注一覧 shows the method and the buyer.
    goto(&c, "/orders").await;
    let row = format!("tr[data-order='{order}']");
    assert_eq!(text_of(&c, &format!("{row} .method")).await, "Amazon Pay");
    assert!(
        text_of(&c, &format!("{row} .amazon-buyer"))
            .await
            .contains(buyer.name)
    );
    c.close().await.expect("close");
}

#[tokio::test]
async fn declining_amazon_buyer_gets_a_japanese_message_and_nothing_is_authorized() {
    let c = browser().await;
    let order = open_checkout(&c).await;
    click(&c, CHECKOUT_BUTTON).await;
    let buyer = &buyers::HANAKO;
    amazon_login(&c, buyer).await;
    click(&c, "#continueButton").await;

    // Back on the checkout page: the message in the widget's live region, the card form usable.
    wait_for(&c, "#kessai-card-number").await;
    // The sandbox's declining buyer ends the checkout session Canceled with reasonCode Declined;
    // the edge words that in Japanese (core's decline hint) and the widget shows its words.
    let expected = errors::decline_hint_ja(errors::reason::DECLINED).expect("a hint for Declined");
    let text = wait_for_text(&c, "#kessai-status", expected).await;
    assert_eq!(text, expected, "live region");
    let url = c.current_url().await.expect("url");
    assert!(
        !url.as_str().contains("kessai_"),
        "the widget took its return parameters out of the address: {url}"
    );
    assert!(!pay_button_disabled(&c).await, "the card form still works");
    let events = eval(
        &c,
        "return window.__kessaiEvents.map(e => e.type + ':' + (e.detail.code || ''))",
    )
    .await;
    assert!(
        events.to_string().contains("kessai:error:amazon_declined"),
        "error event for the host page: {events}"
    );
    // Still on the checkout page with one Amazon button to try again (or pay by card).
    assert_eq!(current_path(&c).await, format!("/checkout/{order}"));
    wait_for(&c, CHECKOUT_BUTTON).await;
    // The section follows the form's language switch.
    click(&c, ".kessai-lang button[lang=en]").await;
    assert_eq!(text_of(&c, ".kessai-or").await, "or");

    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "requires_payment", "{p}");
    // Amazon's side: the order's checkout session ended without an Authorized charge.
    let sessions = amazon_objects("checkout-sessions").await;
    let cs = sessions
        .iter()
        .find(|cs| reference_of(cs) == order)
        .unwrap_or_else(|| panic!("checkout session for {order}: {sessions:?}"));
    assert_eq!(cs["statusDetails"]["state"], "Canceled", "{cs}");
    let charges = amazon_objects("charges").await;
    assert!(
        charges
            .iter()
            .filter(|ch| reference_of(ch) == order || cs["chargeId"] == ch["chargeId"])
            .all(|ch| ch["statusDetails"]["state"] != "Authorized"),
        "no authorised charge for {order}: {charges:?}"
    );

    // The decline left a clear state: the same order can still be paid with Amazon Pay by
    // another buyer (a new checkout session).
    click(&c, CHECKOUT_BUTTON).await;
    amazon_login(&c, &buyers::TARO).await;
    click(&c, "#continueButton").await;
    let state = completion_page(&c).await;
    assert_eq!(state.text().await.expect("label"), "仮売上");
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "authorized", "{p}");
    assert_eq!(p["amazon_pay"]["buyer"]["buyer_id"], buyers::TARO.buyer_id);
    assert_ne!(
        p["amazon_pay"]["checkout_session_id"], cs["checkoutSessionId"],
        "paid through the new session"
    );
    c.close().await.expect("close");
}

#[tokio::test]
async fn sign_in_with_amazon_prefills_registration_without_furigana() {
    let c = browser().await;
    goto(&c, "/login").await;
    wait_for(&c, SIGNIN_BUTTON).await;
    // One sign-in button per page: a second element shows none.
    eval(
        &c,
        "const first = document.querySelector('kessai-amazon-signin');
         const second = document.createElement('kessai-amazon-signin');
         second.id = 'second';
         for (const a of ['return-url', 'nonce', 'edge-url', 'lang']) second.setAttribute(a, first.getAttribute(a));
         first.parentNode.appendChild(second);",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(count(&c, "[data-kessai-amazon-button]").await, 1);
    let buyer = &buyers::TARO;
    sign_in_with_amazon(&c, buyer).await;

    // Not linked to a member: 会員登録, prefilled from the assertion the storefront verified.
    wait_for(&c, "#register-form").await;
    assert_eq!(current_path(&c).await, "/register");
    let home = &buyer.addresses[0];
    assert_eq!(value_of(&c, "#reg-name").await, buyer.name);
    assert_eq!(value_of(&c, "#reg-email").await, buyer.email);
    assert_eq!(value_of(&c, "#reg-postal").await, home.postal_code);
    assert_eq!(value_of(&c, "#reg-pref").await, home.state_or_region);
    assert_eq!(value_of(&c, "#reg-city").await, home.city.unwrap_or(""));
    assert_eq!(value_of(&c, "#reg-addr1").await, home.address_line1);
    assert_eq!(value_of(&c, "#reg-phone").await, buyer.phone_number);
    assert_eq!(
        value_of(&c, "#reg-kana").await,
        "",
        "Amazon has no furigana"
    );
    assert!(
        text_of(&c, "#kana-note")
            .await
            .contains("フリガナはAmazonから取得できません")
    );
    c.close().await.expect("close");
}

/// Completes 会員登録 from the prefilled form; returns the new member id (on マイページ).
async fn register(c: &Client, kana: &str) -> String {
    let kana_field = wait_for(c, "#reg-kana").await;
    kana_field.send_keys(kana).await.expect("kana");
    let pw = wait_for(c, "#reg-password").await;
    pw.send_keys("kessai-demo-pass").await.expect("password");
    click(c, "#register-submit").await;
    text_of(c, "#member-id").await
}

async fn link_state(c: &Client) -> String {
    wait_for(c, "#amazon-link-state")
        .await
        .attr("data-linked")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}

async fn logout(c: &Client) {
    click(c, "#logout").await;
    wait_for(c, "#login-form").await;
}

#[tokio::test]
async fn link_and_unlink_an_amazon_account_from_mypage() {
    let c = browser().await;
    let buyer = &buyers::ICHIRO;
    goto(&c, "/login").await;
    sign_in_with_amazon(&c, buyer).await;
    wait_for(&c, "#register-form").await;
    let member = register(&c, "スズキ イチロウ").await;
    assert!(member.starts_with("mem_"));
    assert_eq!(link_state(&c).await, "false");

    // マイページ → 「Amazonアカウントと連携する」.
    sign_in_with_amazon(&c, buyer).await;
    let flash = wait_for_text(&c, "#flash", "連携しました").await;
    assert!(flash.contains("Amazonアカウントと連携しました"), "{flash}");
    assert_eq!(link_state(&c).await, "true");
    let (status, link) = merchant(
        reqwest::Method::GET,
        &format!("/v1/amazon-pay/links/{member}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{link}");
    assert_eq!(link["buyer_id"], buyer.buyer_id);

    // Log out; "Amazonでログイン" now logs in as that member.
    logout(&c).await;
    sign_in_with_amazon(&c, buyer).await;
    assert_eq!(text_of(&c, "#member-id").await, member);
    assert_eq!(current_path(&c).await, "/mypage");

    // Unlink; the next Amazon sign-in leads to 会員登録 again.
    click(&c, "#amazon-unlink").await;
    let flash = wait_for_text(&c, "#flash", "解除").await;
    assert!(flash.contains("連携を解除しました"), "{flash}");
    assert_eq!(link_state(&c).await, "false");
    let (status, _) = merchant(
        reqwest::Method::GET,
        &format!("/v1/amazon-pay/links/{member}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    logout(&c).await;
    sign_in_with_amazon(&c, buyer).await;
    wait_for(&c, "#register-form").await;
    assert_eq!(value_of(&c, "#reg-email").await, buyer.email);
    c.close().await.expect("close");
}

#[tokio::test]
async fn an_amazon_account_linked_to_one_member_cannot_be_linked_to_another() {
    let c = browser().await;
    let buyer = &buyers::HANAKO;
    // First member: registers from Amazon and links.
    goto(&c, "/login").await;
    sign_in_with_amazon(&c, buyer).await;
    wait_for(&c, "#register-form").await;
    let first = register(&c, "サトウ ハナコ").await;
    sign_in_with_amazon(&c, buyer).await;
    wait_for_text(&c, "#flash", "連携しました").await;
    assert_eq!(link_state(&c).await, "true");
    logout(&c).await;

    // Second member (registered by hand) tries to link the same Amazon account.
    goto(&c, "/register").await;
    for (css, value) in [
        ("#reg-name", "別人 次郎"),
        ("#reg-kana", "ベツジン ジロウ"),
        ("#reg-email", "jiro.betsujin@example.jp"),
        ("#reg-postal", "150-0001"),
        ("#reg-pref", "東京都"),
        ("#reg-city", "渋谷区"),
        ("#reg-addr1", "神宮前1-1"),
        ("#reg-phone", "03-0000-0009"),
        ("#reg-password", "kessai-demo-pass"),
    ] {
        wait_for(&c, css).await.send_keys(value).await.expect(css);
    }
    click(&c, "#register-submit").await;
    let second = text_of(&c, "#member-id").await;
    assert_ne!(first, second);
    sign_in_with_amazon(&c, buyer).await;
    let flash = wait_for_text(&c, "#flash", "別の会員").await;
    assert!(
        flash.contains("このAmazonアカウントは別の会員と連携されているため、連携できません"),
        "{flash}"
    );
    assert_eq!(link_state(&c).await, "false");
    let (_, link) = merchant(
        reqwest::Method::GET,
        &format!("/v1/amazon-pay/links?buyer_id={}", buyer.buyer_id),
        None,
    )
    .await;
    assert_eq!(link["member_id"], first.as_str(), "the first link stands");
    c.close().await.expect("close");
}

#[tokio::test]
async fn without_amazons_script_the_section_says_so_and_the_card_form_still_pays() {
    let c = browser().await;
    block_urls(&c, &["*/checkout.js"]).await;
    let order = open_checkout(&c).await;
    let text = wait_for_text(&c, "#kessai-amazon-error", "Amazon Pay").await;
    assert_eq!(
        text,
        "Amazon Payを表示できませんでした。クレジットカードでお支払いいただくか、ページを再読み込みしてください。"
    );
    assert_eq!(count(&c, "[data-kessai-amazon-button]").await, 0);
    fill_card(&c, "4111111111111111").await;
    click(&c, "#kessai-pay").await;
    let state = c
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("#payment-state"))
        .await
        .expect("completion page");
    assert_eq!(state.text().await.expect("label"), "仮売上");
    assert_eq!(text_of(&c, "#payment-method").await, "クレジットカード");
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "authorized");
    assert_eq!(p["method"], "card");
    c.close().await.expect("close");
}
