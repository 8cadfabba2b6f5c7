//! Headless-Chromium card checkout with EMV 3-D Secure 2 (`THREE_D_SECURE=required`, issue #13):
//! the widget sends the whole page to the sandbox issuer's pages (device step, one-time-code
//! challenge), the sandbox returns it to the edge's RetUrl, the edge finishes with SecureTran2 and
//! sends the shopper back to the storefront's checkout page with `kessai_card=…`, which the
//! widget reads.
//!
//! The test that moves the clock takes [`CLOCK`] for writing; every other test holds it for
//! reading, so no payment of another test sees the jump.

use fantoccini::{Client, Locator};
use kessai_sandbox::test_cards;
use kessai_tests::web::{
    self, click, fill_card, payment_for_order, text_of, wait_for, wait_for_text,
};
use kessai_tests::*;
use std::time::Duration;
use tokio::sync::RwLock;

static CLOCK: RwLock<()> = RwLock::const_new(());

/// This binary's stack runs 3-D Secure; every test asks for it first (one stack per binary).
async fn checkout(c: &Client) -> String {
    stack_3ds();
    web::open_checkout(c).await
}

/// The consent notice stands before the pay button, in Japanese, and is visible.
async fn consent_shown(c: &Client) {
    let notice = wait_for(c, "#kessai-consent").await;
    assert!(
        notice.is_displayed().await.expect("displayed"),
        "consent notice visible"
    );
    let text = notice.text().await.expect("text");
    assert!(
        text.contains("本人認証") && text.contains("カード発行会社"),
        "consent notice: {text}"
    );
    let before_pay = web::eval(
        c,
        "const n = document.getElementById('kessai-consent'), b = document.getElementById('kessai-pay');
         return !!(n.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);",
    )
    .await;
    assert_eq!(before_pay, true, "the notice comes before the pay button");
}

async fn pay_with(c: &Client, card: &str) {
    fill_card(c, card).await;
    click(c, "#kessai-pay").await;
}

/// The storefront's completion page (after the widget's success event), its state label.
async fn completion_state(c: &Client) -> String {
    let state = c
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#payment-state"))
        .await
        .expect("completion page");
    state
        .attr("data-state")
        .await
        .expect("attr")
        .unwrap_or_default()
}

async fn secure_tran2_calls(p: &serde_json::Value) -> usize {
    count_api(&gateway_requests(&gmo_order(p)).await, "SecureTran2")
}

#[tokio::test]
async fn frictionless_card_pays_through_the_device_step_and_returns_paid() {
    let _t = CLOCK.read().await;
    let c = browser().await;
    let order = checkout(&c).await;
    consent_shown(&c).await;
    pay_with(&c, test_cards::APPROVED).await;
    assert_eq!(completion_state(&c).await, "authorized");
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "authorized");
    assert!(
        event_kinds(&p)
            .iter()
            .any(|k| k == "three_d_secure_returned"),
        "the browser came back through the RetUrl: {:?}",
        event_kinds(&p)
    );
    assert_eq!(secure_tran2_calls(&p).await, 1);
    // The widget told the page before it left for the completion page.
    let events = web::eval(
        &c,
        "return JSON.parse(sessionStorage.getItem('kessaiEvents') || '[]')",
    )
    .await;
    let success = events
        .as_array()
        .and_then(|a| a.iter().find(|e| e["type"] == "kessai:success").cloned())
        .unwrap_or_default();
    assert_eq!(success["detail"]["state"], "authorized", "{events}");
    c.close().await.expect("close");
}

/// The sandbox issuer's challenge page: types `code` (or the right one when `None`) and submits.
async fn answer_challenge(c: &Client, code: Option<&str>) {
    let right = text_of(c, "#tds2-otp-code").await;
    assert!(text_of(c, "#tds2-otp-hint").await.contains(&right));
    let typed = match code {
        Some(wrong) if wrong == right => "999999".to_string(),
        Some(wrong) => wrong.to_string(),
        None => right,
    };
    let field = wait_for(c, "#tds2-otp").await;
    field.clear().await.expect("clear");
    field.send_keys(&typed).await.expect("otp");
    click(c, "#tds2-submit").await;
}

#[tokio::test]
async fn challenge_card_with_the_right_code_pays() {
    let _t = CLOCK.read().await;
    let c = browser().await;
    let order = checkout(&c).await;
    consent_shown(&c).await;
    pay_with(&c, test_cards::TDS2_CHALLENGE).await;
    wait_for(&c, "#tds2-challenge-form").await;
    answer_challenge(&c, None).await;
    assert_eq!(completion_state(&c).await, "authorized");
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "authorized");
    assert_eq!(secure_tran2_calls(&p).await, 1);
    c.close().await.expect("close");
}

#[tokio::test]
async fn wrong_codes_decline_with_the_3ds_message_and_the_form_pays_on_retry() {
    let _t = CLOCK.read().await;
    let c = browser().await;
    let order = checkout(&c).await;
    pay_with(&c, test_cards::TDS2_CHALLENGE).await;
    // Three wrong codes: the issuer's page counts down, then ends the authentication (N).
    for left in ["2", "1"] {
        wait_for(&c, "#tds2-challenge-form").await;
        answer_challenge(&c, Some("000000")).await;
        assert_eq!(wait_for_text(&c, "#tds2-tries-left", left).await, left);
    }
    answer_challenge(&c, Some("000000")).await;

    // Back on the storefront's checkout page: the widget says why, the form is usable.
    let status = wait_for_text(&c, "#kessai-status", "本人認証に失敗").await;
    assert!(
        status.contains("本人認証に失敗"),
        "live region says: {status}"
    );
    assert!(status.contains("請求はありません"), "{status}");
    let url = c.current_url().await.expect("url").to_string();
    assert!(url.contains("/checkout/"), "{url}");
    assert!(
        !url.contains("kessai_"),
        "the widget took its parameters out: {url}"
    );
    assert!(!web::pay_button_disabled(&c).await);
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "requires_payment");
    let events = web::eval(&c, "return window.__kessaiEvents").await;
    assert!(
        events.as_array().is_some_and(|a| {
            a.iter().any(|e| {
                e["type"] == "kessai:error" && e["detail"]["code"] == "three_d_secure_failed"
            })
        }),
        "{events}"
    );

    // Retry with another card on the same form: it pays (frictionless).
    consent_shown(&c).await;
    pay_with(&c, test_cards::APPROVED).await;
    assert_eq!(completion_state(&c).await, "authorized");
    assert_eq!(payment_for_order(&order).await["state"], "authorized");
    c.close().await.expect("close");
}

#[tokio::test]
async fn not_enrolled_card_is_declined_with_a_message() {
    let _t = CLOCK.read().await;
    let c = browser().await;
    let order = checkout(&c).await;
    pay_with(&c, test_cards::TDS2_NOT_ENROLLED).await;
    let mut status = String::new();
    for _ in 0..100 {
        status = c
            .find(Locator::Css("#kessai-status"))
            .await
            .expect("status")
            .text()
            .await
            .unwrap_or_default();
        if !status.is_empty() && !status.contains("処理中") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(status.contains("本人認証"), "live region says: {status}");
    let url = c.current_url().await.expect("url").to_string();
    assert!(url.contains("/checkout/"), "no issuer page: {url}");
    assert!(!web::pay_button_disabled(&c).await);
    let p = payment_for_order(&order).await;
    assert_eq!(p["state"], "requires_payment");
    c.close().await.expect("close");
}

#[tokio::test]
async fn consent_notice_follows_the_language_and_hides_a_missing_privacy_link() {
    let _t = CLOCK.read().await;
    let c = browser().await;
    checkout(&c).await;
    consent_shown(&c).await;
    // The demo gives a privacy page (data-privacy-url): the link is shown.
    let link = wait_for(&c, "#kessai-consent a").await;
    let href = link.attr("href").await.expect("href").unwrap_or_default();
    assert!(href.starts_with("http"), "{href}");
    assert!(link.is_displayed().await.expect("displayed"));
    click(&c, ".kessai-lang button[lang=en]").await;
    let en = wait_for_text(&c, "#kessai-consent", "card issuer").await;
    assert!(
        en.contains("3-D Secure") && en.contains("Privacy policy"),
        "{en}"
    );
    c.close().await.expect("close");
}

/// Waits (30 s) until the browser has left the page it was on when `mark_page` ran and shows the
/// storefront's completion page again; its state label.
async fn completion_state_after_navigation(c: &Client) -> String {
    for _ in 0..150 {
        let there = c
            .execute(
                "return window.__kessaiTestMark === undefined && !!document.getElementById('payment-state')",
                vec![],
            )
            .await
            .unwrap_or_default();
        if there == serde_json::Value::Bool(true) {
            return completion_state(c).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "no completion page after the replay: {:?}",
        c.current_url().await
    );
}

#[tokio::test]
async fn a_replayed_return_in_the_browser_charges_once_and_shows_the_payment_paid() {
    let _t = CLOCK.read().await;
    let c = browser().await;
    let order = checkout(&c).await;
    pay_with(&c, test_cards::TDS2_CHALLENGE).await;
    wait_for(&c, "#tds2-challenge-form").await;
    answer_challenge(&c, None).await;
    assert_eq!(completion_state(&c).await, "authorized");
    let p = payment_for_order(&order).await;
    let access_id = gmo_trade(&gmo_order(&p)).await["access_id"]
        .as_str()
        .expect("access id")
        .to_string();
    // The issuer's return arrives again from the same browser (a reload that resubmits the form,
    // the issuer's page in a second tab): the browser posts the same AccessID to the RetUrl.
    let ret_url = format!("{}/v1/checkout/{}/3ds/return", stack().edge, id_of(&p));
    web::eval(
        &c,
        &format!(
            "window.__kessaiTestMark = 1;
             const f = document.createElement('form');
             f.method = 'POST'; f.action = {ret_url:?};
             const i = document.createElement('input');
             i.type = 'hidden'; i.name = 'AccessID'; i.value = {access_id:?};
             f.appendChild(i); document.body.appendChild(f); f.submit(); return true;"
        ),
    )
    .await;
    assert_eq!(completion_state_after_navigation(&c).await, "authorized");
    let after = payment_for_order(&order).await;
    assert_eq!(after["state"], "authorized", "{after}");
    assert_eq!(
        secure_tran2_calls(&after).await,
        1,
        "one SecureTran2 for two returns"
    );
    assert_eq!(
        event_kinds(&after)
            .iter()
            .filter(|k| *k == "three_d_secure_returned")
            .count(),
        1,
        "{after}"
    );
    let log = gateway_requests(&gmo_order(&after)).await;
    assert_eq!(count_api(&log, "ExecTran"), 1, "{log:?}");
    c.close().await.expect("close");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn an_abandoned_challenge_is_released_by_the_sweep_and_the_same_checkout_pays() {
    let _t = CLOCK.write().await;
    let c = browser().await;
    let order = checkout(&c).await;
    let checkout_url = c.current_url().await.expect("url").to_string();
    let t0 = now_ms();
    set_clock(t0).await;
    pay_with(&c, test_cards::TDS2_CHALLENGE).await;
    wait_for(&c, "#tds2-challenge-form").await;
    assert_eq!(payment_for_order(&order).await["state"], "requires_action");
    // The shopper walks away from the issuer's page; past 10 minutes the sweep asks GMO.
    c.goto("about:blank").await.expect("leave");
    set_clock(t0 + 11 * 60_000).await;
    run_cron().await;
    let released = payment_for_order(&order).await;
    real_clock().await;
    assert_eq!(released["state"], "requires_payment", "{released}");
    assert!(
        event_kinds(&released).contains(&"reconciled".to_string()),
        "{released}"
    );
    assert_eq!(secure_tran2_calls(&released).await, 0, "nothing authorized");

    // Back on the shop's checkout page the form is there again and pays (frictionless).
    c.goto(&checkout_url).await.expect("checkout again");
    wait_for(&c, "#kessai-card-number").await;
    assert!(!web::pay_button_disabled(&c).await);
    consent_shown(&c).await;
    pay_with(&c, test_cards::APPROVED).await;
    assert_eq!(completion_state(&c).await, "authorized");
    let paid = payment_for_order(&order).await;
    assert_eq!(paid["state"], "authorized", "{paid}");
    assert_eq!(paid["id"], released["id"], "the same payment");
    c.close().await.expect("close");
}
