//! Headless-Chromium 会員カード and 支払回数 (issue #14), on the demo storefront with EMV 3-D Secure
//! (`THREE_D_SECURE=required`): a member saves a card at checkout (「このカードを登録する」, stored
//! by TradedCard after the frictionless 3-D Secure step), pays the next order with it picked in the
//! widget's saved-card list (3-D Secure again) in 3 installments, and deletes it on マイページ ›
//! カード情報 (the last card only after a second confirmation). An expired saved card is listed but
//! cannot be picked.
//!
//! The test that moves the clock takes [`CLOCK`] for writing; the others hold it for reading.

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use kessai_sandbox::test_cards;
use kessai_tests::web::{
    self, click, fill_card, payment_for_order, register_member, text_of, wait_for,
};
use kessai_tests::*;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::RwLock;

static CLOCK: RwLock<()> = RwLock::const_new(());

async fn goto(c: &Client, path: &str) {
    c.goto(&format!("{}{path}", stack_3ds().storefront))
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
}

/// The storefront's completion page: the payment's state (`data-state`).
async fn completion_state(c: &Client) -> String {
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#payment-state"))
        .await
        .expect("completion page")
        .attr("data-state")
        .await
        .expect("attr")
        .unwrap_or_default()
}

async fn displayed(c: &Client, css: &str) -> bool {
    wait_for(c, css)
        .await
        .is_displayed()
        .await
        .expect("displayed")
}

async fn checked(c: &Client, css: &str) -> bool {
    wait_for(c, css).await.prop("checked").await.ok().flatten() == Some("true".into())
}

/// Waits until `check` holds (10 s at most).
async fn until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}");
}

/// A member's first order, paid with a new card and 「このカードを登録する」; the order number.
async fn pay_and_save(c: &Client, card: &str) -> String {
    let order = web::open_checkout(c).await;
    // A member without cards: the new-card form, with the offer to save it, and no list.
    wait_for(c, "#kessai-save-card").await;
    assert!(c.find(Locator::Css("#kessai-card-new")).await.is_err());
    fill_card(c, card).await;
    click(c, "#kessai-save-card").await;
    click(c, "#kessai-pay").await;
    assert_eq!(completion_state(c).await, "authorized");
    order
}

#[tokio::test]
async fn a_member_saves_a_card_at_checkout_and_pays_the_next_order_with_it_in_3_installments() {
    let _t = CLOCK.read().await;
    let c = browser().await;
    let member = register_member(&c, &stack_3ds().storefront).await;
    let first = pay_and_save(&c, test_cards::APPROVED).await;
    let saved_note = wait_for(&c, "#card-saved").await;
    assert_eq!(
        saved_note
            .attr("data-card-seq")
            .await
            .expect("attr")
            .as_deref(),
        Some("0")
    );
    let p = payment_for_order(&first).await;
    assert_eq!(p["customer"], member.as_str(), "{p}");
    assert_eq!(p["card"]["saved_card_seq"], 0, "{p}");

    // The next order: the saved card is listed and picked, the new-card fields are out of sight.
    let next = web::open_checkout(&c).await;
    wait_for(&c, "#kessai-card-0").await;
    assert!(checked(&c, "#kessai-card-0").await, "the default is picked");
    let row = text_of(&c, ".kessai-saved").await;
    assert!(row.contains("登録済みのカード"), "{row}");
    // GMO's SearchCard masks all but the last 3 digits (reference: `*************111`).
    assert!(row.contains("VISA ・・・・111"), "{row}");
    assert!(row.contains("有効期限"), "{row}");
    assert!(!displayed(&c, "#kessai-card-number").await);
    assert!(!displayed(&c, "#kessai-save-card").await);
    // Keyboard: the arrow keys move between the radios; the new card shows its fields.
    let radio = wait_for(&c, "#kessai-card-0").await;
    radio.send_keys(&Key::Down.to_string()).await.expect("down");
    until("new card picked by keyboard", || {
        checked(&c, "#kessai-card-new")
    })
    .await;
    assert!(displayed(&c, "#kessai-card-number").await);
    let new_radio = wait_for(&c, "#kessai-card-new").await;
    new_radio.send_keys(&Key::Up.to_string()).await.expect("up");
    until("saved card picked again", || checked(&c, "#kessai-card-0")).await;
    assert!(!displayed(&c, "#kessai-card-number").await);

    // 支払回数: 3回 from the shop's choices (一括 first and picked).
    let select = wait_for(&c, "#kessai-installments").await;
    let options = text_of(&c, "#kessai-installments").await;
    assert!(options.starts_with("一括払い"), "{options}");
    assert!(
        options.contains("分割払い（3回）") && options.contains("リボ払い"),
        "{options}"
    );
    select
        .select_by_value("split_3")
        .await
        .expect("3 installments");
    click(&c, "#kessai-pay").await;
    assert_eq!(completion_state(&c).await, "authorized");

    let p = payment_for_order(&next).await;
    assert_eq!(p["state"], "authorized", "{p}");
    assert_eq!(p["card"]["stored_card_seq"], 0, "{p}");
    assert_eq!(p["card"]["installments"], "split_3", "{p}");
    let log = gateway_requests(&gmo_order(&p)).await;
    let exec = log
        .iter()
        .find(|r| r["api"] == "ExecTran")
        .map(|r| r["params"].clone())
        .unwrap_or(Value::Null);
    assert_eq!(exec["CardSeq"], "0", "{exec}");
    assert_eq!(
        (exec["Method"].clone(), exec["PayTimes"].clone()),
        ("2".into(), "3".into())
    );
    assert!(exec.get("Token").is_none(), "{exec}");
    assert_eq!(
        count_api(&log, "SecureTran2"),
        1,
        "3-D Secure ran again: {log:?}"
    );
    c.close().await.expect("close");
}

#[tokio::test]
async fn a_member_deletes_cards_on_mypage_and_the_last_one_only_after_confirming() {
    let _t = CLOCK.read().await;
    let c = browser().await;
    register_member(&c, &stack_3ds().storefront).await;
    pay_and_save(&c, test_cards::APPROVED).await;
    pay_and_save_second(&c).await;

    goto(&c, "/mypage").await;
    click(&c, "#mypage-cards").await;
    wait_for(&c, "#saved-cards").await;
    let rows = c.find_all(Locator::Css(".saved-card")).await.expect("rows");
    assert_eq!(rows.len(), 2);
    let list = text_of(&c, "#saved-cards").await;
    assert!(
        list.contains("VISA ・・・・111") && list.contains("Mastercard ・・・・444"),
        "{list}"
    );
    assert!(list.contains("いつも使うカード"), "{list}");
    assert!(
        !list.contains("4111111111111111"),
        "never the whole number: {list}"
    );

    // The second card becomes the default, then the first goes (the browser asks first).
    click(&c, "tr[data-card-seq='1'] .card-default").await;
    web::wait_for_text(&c, ".flash", "変更しました").await;
    click(&c, "tr[data-card-seq='0'] .card-delete").await;
    c.accept_alert().await.expect("confirm dialog");
    web::wait_for_text(&c, ".flash", "削除しました").await;
    let rows = c.find_all(Locator::Css(".saved-card")).await.expect("rows");
    assert_eq!(rows.len(), 1);

    // The last card: the shop asks again on the page before it goes.
    click(&c, "tr[data-card-seq='1'] .card-delete").await;
    c.accept_alert().await.expect("confirm dialog");
    let warning = text_of(&c, "#confirm-last").await;
    assert!(warning.contains("最後の登録カード"), "{warning}");
    assert_eq!(
        c.find_all(Locator::Css(".saved-card"))
            .await
            .expect("rows")
            .len(),
        1
    );
    click(&c, "#confirm-last-delete").await;
    wait_for(&c, "#cards-empty").await;

    // The next checkout offers no saved card, only the new-card form.
    web::open_checkout(&c).await;
    wait_for(&c, "#kessai-save-card").await;
    assert!(c.find(Locator::Css(".kessai-saved")).await.is_err());
    c.close().await.expect("close");
}

/// A second order paid with a Mastercard, saved too.
async fn pay_and_save_second(c: &Client) {
    let order = web::open_checkout(c).await;
    wait_for(c, "#kessai-card-0").await;
    click(c, "#kessai-card-new").await;
    assert!(displayed(c, "#kessai-card-number").await);
    fill_card(c, test_cards::APPROVED_MASTERCARD).await;
    click(c, "#kessai-save-card").await;
    click(c, "#kessai-pay").await;
    assert_eq!(completion_state(c).await, "authorized");
    assert_eq!(payment_for_order(&order).await["card"]["saved_card_seq"], 1);
}

#[tokio::test]
async fn an_expired_saved_card_is_listed_but_cannot_be_picked() {
    let _t = CLOCK.write().await;
    let c = browser().await;
    register_member(&c, &stack_3ds().storefront).await;
    pay_and_save(&c, test_cards::APPROVED).await;
    // The card was typed with 12/30: January 2031, JST noon, it has expired.
    set_clock(1_925_002_800_000).await;
    web::open_checkout(&c).await;
    wait_for(&c, "#kessai-card-0").await;
    let disabled = wait_for(&c, "#kessai-card-0").await.prop("disabled").await;
    let row = text_of(&c, ".kessai-saved").await;
    let new_card = checked(&c, "#kessai-card-new").await;
    let fields = displayed(&c, "#kessai-card-number").await;
    real_clock().await;
    assert_eq!(disabled.ok().flatten().as_deref(), Some("true"));
    assert!(row.contains("有効期限切れ"), "{row}");
    assert!(new_card, "the new card is picked instead");
    assert!(fields);
    c.close().await.expect("close");
}

#[tokio::test]
async fn a_member_adds_a_card_on_mypage_with_3ds_and_nothing_is_charged() {
    let _t = CLOCK.read().await;
    let c = browser().await;
    let member = register_member(&c, &stack_3ds().storefront).await;
    goto(&c, "/mypage/cards").await;
    wait_for(&c, "#cards-empty").await;
    click(&c, "#add-card").await;
    // The widget registers: no amount, no saved cards, no 支払回数, no Amazon Pay.
    wait_for(&c, "#kessai-card-number").await;
    let button = text_of(&c, "#kessai-pay").await;
    assert_eq!(button, "カードを登録する");
    assert!(c.find(Locator::Css("#kessai-installments")).await.is_err());
    assert!(c.find(Locator::Css("#kessai-save-card")).await.is_err());
    assert!(c.find(Locator::Css(".kessai-or")).await.is_err());
    let page = c.current_url().await.expect("url").path().to_string();
    let payment_id = page.rsplit('/').next().unwrap_or("").to_string();
    // A challenge card: the issuer's page asks for the code, then the card is stored.
    fill_card(&c, test_cards::TDS2_CHALLENGE).await;
    click(&c, "#kessai-pay").await;
    let right = text_of(&c, "#tds2-otp-code").await;
    wait_for(&c, "#tds2-otp")
        .await
        .send_keys(&right)
        .await
        .expect("otp");
    click(&c, "#tds2-submit").await;
    let flash = web::wait_for_text(&c, ".flash", "カードを登録しました").await;
    assert!(flash.contains("カードを登録しました"), "{flash}");
    let list = text_of(&c, "#saved-cards").await;
    assert!(list.contains("VISA ・・・・022"), "{list}");
    let p = payment(&payment_id).await;
    assert_eq!(p["state"], "verified", "{p}");
    assert_eq!(p["amount"], 0);
    assert_eq!(p["customer"], member.as_str());
    // Another member cannot open this member's registration page.
    goto(&c, "/mypage").await;
    click(&c, "#logout").await;
    register_member(&c, &stack_3ds().storefront).await;
    goto(&c, &format!("/mypage/cards/add/{payment_id}")).await;
    let body = text_of(&c, "body").await;
    assert!(body.contains("カードが見つかりません"), "{body}");
    c.close().await.expect("close");
}
