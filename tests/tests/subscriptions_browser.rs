//! Headless-Chromium マイページ › 定期購入 (issue #15) on the demo storefront with EMV 3-D Secure
//! (`THREE_D_SECURE=required`): a member adds a card on マイページ (frictionless 3-D Secure),
//! subscribes to one of the demo's plans with it, sees it listed (有効, amount, cycle, card), the
//! Cron Trigger charges it once (merchant-initiated, 仮売上), and 解約 after the browser's
//! confirm() cancels it at the edge. A member without cards is sent to add one; the same form
//! submitted twice at once creates one subscription.

use fantoccini::{Client, Locator};
use kessai_sandbox::test_cards;
use kessai_tests::web::{
    add_card_on_mypage, click, register_member, text_of, wait_for, wait_for_text,
};
use kessai_tests::*;
use reqwest::Method;
use serde_json::Value;

/// This binary's stack runs 3-D Secure (`stack_3ds`), as the demo does by default.
fn shop() -> String {
    stack_3ds().storefront
}

async fn goto(c: &Client, path: &str) {
    c.goto(&format!("{}{path}", shop()))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

async fn subscription(id: &str) -> Value {
    subscription_of(id).await
}

async fn checked(c: &Client, css: &str) -> bool {
    wait_for(c, css).await.prop("checked").await.ok().flatten() == Some("true".into())
}

async fn rows(c: &Client) -> usize {
    c.find_all(Locator::Css("tr.subscription"))
        .await
        .expect("rows")
        .len()
}

#[tokio::test]
async fn a_member_subscribes_with_a_stored_card_the_cron_charges_it_and_the_member_cancels() {
    let c = browser().await;
    let member = register_member(&c, &shop()).await;
    add_card_on_mypage(&c, &shop(), test_cards::APPROVED).await;

    goto(&c, "/mypage").await;
    click(&c, "#mypage-subscriptions").await;
    wait_for(&c, "#subscriptions-empty").await;
    assert!(
        checked(&c, "#plan-coffee").await,
        "the first plan is picked"
    );
    assert!(
        checked(&c, "#subscribe-card-0").await,
        "the first card is picked"
    );
    let form = text_of(&c, "#subscribe-form").await;
    assert!(form.contains("VISA ・・・・111"), "{form}");
    click(&c, "#plan-water").await;
    click(&c, "#subscribe-submit").await;
    let flash = wait_for_text(&c, ".flash", "定期購入を申し込みました").await;
    assert!(flash.contains("初回のお支払いは"), "{flash}");

    let row = wait_for(&c, "tr.subscription").await;
    let id = row
        .attr("data-subscription-id")
        .await
        .expect("attr")
        .unwrap_or_default();
    let text = row.text().await.expect("text");
    let s = subscription(&id).await;
    assert_eq!(s["customer"], member.as_str(), "{s}");
    assert_eq!(s["amount"], 2_400, "{s}");
    assert_eq!(s["cycle"], "days:14", "{s}");
    assert_eq!(s["source"]["card_seq"], 0, "{s}");
    let cycle = s["cycle_label_ja"].as_str().unwrap_or("?");
    let next = s["next_charge_on"].as_str().unwrap_or("?");
    assert!(flash.contains(next), "{flash} / {s}");
    for want in [
        "ミネラルウォーター 定期便",
        "¥2,400",
        cycle,
        next,
        "有効",
        "VISA ・・・・111",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }

    // The Cron Trigger charges the due cycle on the stored card: one payment, 仮売上.
    run_cron().await;
    let s = subscription(&id).await;
    let charges = s["charges"].as_array().cloned().unwrap_or_default();
    assert_eq!(charges.len(), 1, "{s}");
    assert_eq!(charges[0]["state"], "authorized", "{s}");
    assert_eq!(charges[0]["amount"], 2_400, "{s}");

    // 解約: dismissing the browser's question changes nothing; accepting it cancels.
    click(&c, ".subscription-cancel").await;
    c.dismiss_alert().await.expect("confirm dialog");
    assert_eq!(subscription(&id).await["status"], "active");
    click(&c, ".subscription-cancel").await;
    c.accept_alert().await.expect("confirm dialog");
    let flash = wait_for_text(&c, ".flash", "解約しました").await;
    assert!(flash.contains("解約しました"), "{flash}");
    let row = wait_for(&c, "tr.subscription").await;
    assert_eq!(
        row.attr("data-status").await.expect("attr").as_deref(),
        Some("cancelled")
    );
    let text = row.text().await.expect("text");
    assert!(text.contains("解約"), "{text}");
    assert!(
        c.find(Locator::Css(".subscription-cancel")).await.is_err(),
        "no 解約 button on a cancelled one"
    );
    assert_eq!(subscription(&id).await["status"], "cancelled");
    c.close().await.expect("close");
}

#[tokio::test]
async fn a_member_without_cards_is_sent_to_add_one_and_a_double_submit_subscribes_once() {
    let c = browser().await;
    let member = register_member(&c, &shop()).await;
    goto(&c, "/mypage/subscriptions").await;
    let note = text_of(&c, "#subscribe-no-cards").await;
    assert!(note.contains("カードを追加する"), "{note}");
    assert!(c.find(Locator::Css("#subscribe-form")).await.is_err());
    click(&c, "#subscribe-add-card").await;
    wait_for(&c, "#add-card").await;
    add_card_on_mypage(&c, &shop(), test_cards::APPROVED).await;

    goto(&c, "/mypage/subscriptions").await;
    wait_for(&c, "#subscribe-form").await;
    // The same form posted twice at the same moment (a double click, a resent request).
    let statuses = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
const f = document.getElementById('subscribe-form');
const body = new URLSearchParams(new FormData(f));
Promise.all([0, 1].map(() => fetch(f.action, { method: 'POST', body, redirect: 'manual' }).then(r => r.type)))
  .then(done, e => done('error ' + e));"#,
            vec![],
        )
        .await
        .expect("two posts");
    assert_eq!(
        statuses,
        serde_json::json!(["opaqueredirect", "opaqueredirect"])
    );
    goto(&c, "/mypage/subscriptions").await;
    let flash = wait_for_text(&c, ".flash", "定期購入を申し込みました").await;
    assert!(
        flash.contains("定期購入を申し込みました"),
        "both posts got the subscription: {flash}"
    );
    wait_for(&c, "tr.subscription").await;
    assert_eq!(rows(&c).await, 1);
    let text = text_of(&c, "#subscriptions").await;
    assert!(
        text.contains("コーヒー豆 定期便") && text.contains("¥1,980"),
        "{text}"
    );
    let (status, list) = merchant(
        Method::GET,
        &format!("/v1/customers/{member}/subscriptions"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    let data = list["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(data.len(), 1, "one subscription: {list}");
    assert_eq!(data[0]["cycle"], "monthly:10", "{list}");
    c.close().await.expect("close");
}

/// Amazon Pay's button in the widget (inside the sandbox's checkout.js rendering).
const AMAZON_BUTTON: &str = "#kessai-amazon-pay-button [data-kessai-amazon-button]";

#[tokio::test]
async fn a_member_signs_up_at_checkout_with_amazon_pay_and_the_cron_charges_the_permission() {
    let c = browser().await;
    let member = register_member(&c, &shop()).await;
    goto(&c, "/mypage/subscriptions").await;
    assert!(checked(&c, "#checkout-plan-coffee").await);
    click(&c, "#checkout-sign-up-submit").await;

    // ご注文手続き: the widget says a new card would be saved for the subscription (no
    // 「このカードを登録する」 box), and offers Amazon Pay.
    let note = wait_for_text(&c, "#kessai-subscription-save", "定期購入").await;
    assert!(note.contains("登録されます"), "{note}");
    assert_eq!(
        c.find_all(Locator::Css("#kessai-save-card"))
            .await
            .expect("find")
            .len(),
        0
    );
    click(&c, AMAZON_BUTTON).await;
    click(
        &c,
        &format!("#buyer-{}", kessai_sandbox::amazon::buyers::TARO.key),
    )
    .await;
    click(&c, "#signInSubmit").await;
    click(&c, "#address-0").await;
    click(&c, "#paymentMethod-0").await;
    click(&c, "#continueButton").await;

    // Back in the shop: paid, and the subscription started.
    let started = c
        .wait()
        .at_most(std::time::Duration::from_secs(30))
        .for_element(Locator::Css("#subscription-started"))
        .await
        .expect("the completion page says the subscription started");
    let id = started
        .attr("data-subscription-id")
        .await
        .expect("attr")
        .unwrap_or_default();
    assert_eq!(text_of(&c, "#payment-state").await, "仮売上");
    let s = subscription(&id).await;
    assert_eq!(s["customer"], member.as_str(), "{s}");
    assert_eq!(s["source"]["type"], "amazon_pay", "{s}");
    assert_eq!(s["amount"], 1_980);
    assert_eq!(s["cycle"], "monthly:10");

    // マイページ lists it with Amazon Pay as the payment method.
    goto(&c, "/mypage/subscriptions").await;
    let row = wait_for(&c, &format!("tr[data-subscription-id='{id}']")).await;
    let text = row.text().await.expect("text");
    assert!(text.contains("コーヒー豆 定期便"), "{text}");
    assert!(text.contains("Amazon Pay"), "{text}");
    assert!(text.contains("有効"), "{text}");
    assert_eq!(rows(&c).await, 1);

    // The next cycle, charged now on the permission (Create Charge), 仮売上: the test
    // environment's 次回分を今すぐ課金 (only this subscription; a cron run here would also charge
    // the other test's).
    let (status, moved) = merchant(
        Method::POST,
        &format!("/v1/subscriptions/{id}/charge-now"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let charged = subscription(&id).await;
    let charges = charged["charges"].as_array().cloned().unwrap_or_default();
    assert_eq!(charges.len(), 2, "{charged}");
    assert!(
        charges.iter().all(|p| p["state"] == "authorized"),
        "{charged}"
    );
}
