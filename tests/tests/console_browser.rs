//! Headless Chromium on the operator console served by the edge (workerd + D1) against both
//! sandboxes: the operator logs in, bulk-captures three card payments, changes an amount,
//! cancels one card payment of each kind (取消 the same JST day, 返品 the next day, 月跨返品 the
//! next month), cancels an Amazon Pay payment, captures and refunds another, and the states in
//! 受注一覧 match what the GMO and Amazon sandboxes hold. Then a 仮売上 nears its 60-day expiry
//! (期限間近) and passes it (期限切れ: capture refused, saying why).
//!
//! Days pass on the stack's test clock (edge and both sandboxes frozen together, `set_clock`);
//! the operator's 8-hour session ends with each jump, so the console asks for a login again.

use fantoccini::{Client, Locator};
use kessai_core::jst::JstDateTime;
use kessai_tests::web::{click, eval, wait_for, wait_for_text};
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Unix ms of a JST wall-clock time written `yyyyMMddHHmmss`.
fn jst(s: &str) -> i64 {
    JstDateTime::parse_gmo(s).expect("JST time").to_unix().0
}

/// When the test starts (JST): payments are authorised and captured then.
const DAY_ONE: &str = "20270128100000";
const DAY_MS: i64 = 86_400_000;

/// A card payment for `customer` authorised through the widget API.
async fn card_for(customer: &str, amount: i64) -> String {
    let (status, p) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("CB"), "amount": amount, "customer_name": customer })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
    let (status, body) = widget_post(&p, json!({ "token": token })).await;
    assert_eq!(status, 200, "{body}");
    id_of(&p)
}

async fn login(c: &Client) {
    let (name, password) = operator_login();
    c.goto(&format!("{}/console/", stack().edge))
        .await
        .expect("console page");
    wait_for(c, "#login-name")
        .await
        .send_keys(&name)
        .await
        .expect("name");
    wait_for(c, "#login-password")
        .await
        .send_keys(&password)
        .await
        .expect("password");
    click(c, "#login-submit").await;
    assert_eq!(wait_for_text(c, "#operator-name", &name).await, name);
}

/// Shows only this test's payments in 受注一覧.
async fn search(c: &Client, marker: &str) {
    c.goto(&format!("{}/console/#/", stack().edge))
        .await
        .expect("list");
    let q = wait_for(c, "#filter-q").await;
    q.clear().await.expect("clear");
    q.send_keys(marker).await.expect("q");
    click(c, "#search").await;
}

/// `{payment id: display_state}` of the rows in 受注一覧, once `n` rows are shown.
async fn list_states(c: &Client, n: usize) -> Vec<(String, String)> {
    for _ in 0..100 {
        let rows = eval(
            c,
            "return [...document.querySelectorAll('#payments tbody tr')].map(r => [r.dataset.paymentId, r.dataset.state])",
        )
        .await;
        let rows: Vec<(String, String)> = rows
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or("").to_string(),
                    r[1].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        if rows.len() == n {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("受注一覧 did not show {n} rows");
}

/// Opens a payment's page and waits for it.
async fn open_payment(c: &Client, id: &str) {
    c.goto(&format!("{}/console/#/payments/{id}", stack().edge))
        .await
        .expect("payment page");
    wait_for(c, "#detail-state").await;
}

/// Confirms the dialog (checking what it says) and waits for the outcome.
async fn confirm(c: &Client, says: &str) -> String {
    let message = wait_for_text(c, "#confirm-message", says).await;
    assert!(
        message.contains(says),
        "dialog says {message:?}, expected {says:?}"
    );
    click(c, "#confirm-yes").await;
    wait_for_text(c, "#op-notice", "完了しました").await
}

async fn set_input(c: &Client, css: &str, value: &str) {
    let el = wait_for(c, css).await;
    el.clear().await.expect("clear");
    el.send_keys(value).await.expect("keys");
}

/// What the gateway's own record says, as a kessai state.
async fn sandbox_state(p: &Value) -> String {
    if p["method"] == "amazon_pay" {
        let charge_id = p["amazon_pay"]["charge_id"].as_str().unwrap_or("");
        let charge = amazon_object("charges", "chargeId", charge_id).await;
        let captured: i64 = charge["captureAmount"]["amount"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        let refunded: i64 = charge["refundedAmount"]["amount"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0);
        // Refunds in the sandbox's refund objects (a refund shows on the charge once Refunded).
        let refunds: i64 = amazon_objects("refunds")
            .await
            .iter()
            .filter(|r| r["chargeId"] == charge_id)
            .filter_map(|r| {
                r["refundAmount"]["amount"]
                    .as_str()
                    .and_then(|a| a.parse::<i64>().ok())
            })
            .sum();
        let refunded = refunded.max(refunds);
        match charge["statusDetails"]["state"].as_str().unwrap_or("") {
            "Authorized" => "authorized".into(),
            "Captured" if refunded == 0 => "captured".into(),
            "Captured" if refunded < captured => "partially_refunded".into(),
            "Captured" => "refunded".into(),
            "Canceled" => "voided".into(),
            other => format!("amazon:{other}"),
        }
    } else {
        let trade = gmo_trade(&gmo_order(p)).await;
        match trade["status"].as_str().unwrap_or("") {
            "AUTH" => "authorized".into(),
            "SALES" | "CAPTURE" => "captured".into(),
            "VOID" => "voided".into(),
            "RETURN" => "returned".into(),
            "RETURNX" => "returned_next_month".into(),
            other => format!("gmo:{other}"),
        }
    }
}

/// Cancels a captured card payment from its page: the page names `class` and warns that the
/// charge stays on the shopper's statement before the confirmation.
async fn cancel_captured_card(c: &Client, id: &str, class: &str) {
    open_payment(c, id).await;
    let kind = wait_for_text(c, "#cancel-kind", class).await;
    assert!(kind.contains(&format!("「{class}」")), "{id}: {kind}");
    let warning = wait_for(c, "#cancel-warning")
        .await
        .text()
        .await
        .expect("warning");
    assert!(warning.contains("明細"), "{warning}");
    click(c, "#op-cancel").await;
    confirm(c, &format!("「{class}」として取り消します")).await;
}

/// Moves the stack's clock to `at` (JST) and logs in again: the session has ended meanwhile.
async fn days_pass(c: &Client, at: i64) {
    set_clock(at).await;
    login(c).await;
}

#[tokio::test]
async fn operator_runs_the_after_order_operations_in_the_console() {
    let day_one = jst(DAY_ONE);
    set_clock(day_one).await;
    let marker = order_id("コンソール");
    let customer = format!("操作 {marker}");
    let bulk: Vec<String> = {
        let mut ids = Vec::new();
        for amount in [1100, 2200, 3300] {
            ids.push(card_for(&customer, amount).await);
        }
        ids
    };
    let change = card_for(&customer, 5000).await;
    let cancel = card_for(&customer, 4400).await;
    let (amazon_cancel, _) = authorized_amazon_payment(2600).await;
    let (amazon_refund, _) = authorized_amazon_payment(6000).await;
    let (amazon_cancel, amazon_refund) = (id_of(&amazon_cancel), id_of(&amazon_refund));
    // Amazon payments carry the buyer's name; the list is searched by payment id for them.

    let c = browser().await;
    login(&c).await;

    // 一括売上確定: three rows checked, progress to 完了, a result per row.
    search(&c, &marker).await;
    assert_eq!(list_states(&c, 5).await.len(), 5);
    for id in &bulk {
        click(&c, &format!("tr[data-payment-id='{id}'] input.select")).await;
    }
    assert!(
        wait_for_text(&c, "#bulk-capture", "3件")
            .await
            .contains("3件")
    );
    click(&c, "#bulk-capture").await;
    let ask = wait_for_text(&c, "#confirm-message", "3件").await;
    assert!(ask.contains("3件の売上を確定"), "{ask}");
    click(&c, "#confirm-yes").await;
    let summary = wait_for_text(&c, "#bulk-summary", "（完了）").await;
    assert!(summary.contains("3 / 3 件処理済み"), "{summary}");
    assert!(summary.contains("成功 3件・失敗 0件"), "{summary}");
    let progress = eval(
        &c,
        "const p = document.querySelector('#bulk-progress progress'); return [p.value, p.max]",
    )
    .await;
    assert_eq!(progress, json!([3, 3]));
    for id in &bulk {
        let result = wait_for_text(
            &c,
            &format!("tr[data-payment-id='{id}'] td.result"),
            "売上確定しました",
        )
        .await;
        assert!(result.contains("実売上"), "{id}: {result}");
    }

    // 金額変更 from 仮売上 (ChangeTran).
    open_payment(&c, &change).await;
    set_input(&c, "#amount-input", "4200").await;
    click(&c, "#op-amount").await;
    confirm(&c, "¥4,200").await;
    assert!(
        wait_for_text(&c, "#detail-amount", "¥4,200")
            .await
            .contains("¥4,200")
    );

    // A 仮売上 cancelled on its own day: 取消, nothing on the statement, no warning.
    open_payment(&c, &cancel).await;
    let kind = wait_for_text(&c, "#cancel-kind", "取消").await;
    assert!(kind.contains("「取消」"), "{kind}");
    assert!(
        c.find(Locator::Css("#cancel-warning")).await.is_err(),
        "no statement warning for a 仮売上"
    );
    click(&c, "#op-cancel").await;
    confirm(&c, "「取消」として取り消します").await;

    // Captured card payments, one of each kind as the JST days pass: the same day 取消, ...
    cancel_captured_card(&c, &bulk[0], "取消").await;

    // Amazon Pay cancel before capture.
    open_payment(&c, &amazon_cancel).await;
    click(&c, "#op-cancel").await;
    confirm(&c, "取り消します").await;

    // Amazon Pay: capture, then a partial 返金; an increase is refused in plain Japanese.
    open_payment(&c, &amazon_refund).await;
    set_input(&c, "#amount-input", "7000").await;
    click(&c, "#op-amount").await;
    click(&c, "#confirm-yes").await;
    let refused = wait_for_text(&c, "#op-error", "別のお支払い方法").await;
    assert!(refused.contains("別のお支払い方法"), "{refused}");
    click(&c, "#op-capture").await;
    confirm(&c, "¥6,000の売上を確定").await;
    set_input(&c, "#refund-input", "1500").await;
    click(&c, "#op-refund").await;
    confirm(&c, "¥1,500を返金").await;
    let history = wait_for_text(&c, "#events", "担当者 operator").await;
    assert!(history.contains("返金"), "{history}");

    // ... the next JST day (same month) 返品, ...
    days_pass(&c, jst("20270129000100")).await;
    cancel_captured_card(&c, &bulk[1], "返品").await;
    // ... and in the next month 月跨返品.
    days_pass(&c, jst("20270201093000")).await;
    cancel_captured_card(&c, &bulk[2], "月跨返品").await;

    // 受注一覧 matches the sandboxes, row by row.
    search(&c, &marker).await;
    let rows = list_states(&c, 5).await;
    let mut checked = 0;
    for (id, shown) in &rows {
        let p = payment(id).await;
        assert_eq!(
            shown,
            &sandbox_state(&p).await,
            "{id} in the list vs the GMO sandbox"
        );
        checked += 1;
    }
    assert_eq!(checked, 5);
    for id in [&amazon_cancel, &amazon_refund] {
        search(&c, id).await;
        // The previous search's row stays until the new answer comes: wait for this one.
        let mut rows = list_states(&c, 1).await;
        for _ in 0..50 {
            if &rows[0].0 == id {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            rows = list_states(&c, 1).await;
        }
        assert_eq!(&rows[0].0, id);
        let p = payment(id).await;
        assert_eq!(
            rows[0].1,
            sandbox_state(&p).await,
            "{id} in the list vs the Amazon sandbox"
        );
    }
    let mut states = Vec::new();
    for id in bulk
        .iter()
        .chain([&change, &cancel, &amazon_cancel, &amazon_refund])
    {
        states.push(
            payment(id).await["state"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
    }
    assert_eq!(
        states,
        [
            "voided",
            "returned",
            "returned_next_month",
            "authorized",
            "voided",
            "voided",
            "partially_refunded"
        ]
    );
    assert_eq!(
        gmo_trade(&gmo_order(&payment(&change).await)).await["amount"],
        4200
    );

    // Day 55 of the 60-day card authorisation: 期限間近, found by the 期限間近のみ filter.
    days_pass(&c, day_one + 55 * DAY_MS).await;
    search(&c, &marker).await;
    click(&c, "#filter-near").await;
    click(&c, "#search").await;
    let rows = list_states(&c, 1).await;
    assert_eq!(rows, [(change.clone(), "authorized".to_string())]);
    let countdown = wait_for_text(
        &c,
        &format!("tr[data-payment-id='{change}'] td.near"),
        "残り",
    )
    .await;
    assert!(countdown.contains("残り5日"), "{countdown}");

    // Day 61: 期限切れ; the page refuses the capture and says why.
    days_pass(&c, day_one + 61 * DAY_MS).await;
    open_payment(&c, &change).await;
    let state = eval(
        &c,
        "return document.querySelector('#detail-state').dataset.state",
    )
    .await;
    assert_eq!(state, json!("expired"));
    assert!(c.find(Locator::Css("#op-capture")).await.is_err());
    let refused = wait_for(&c, "#capture-refused")
        .await
        .text()
        .await
        .expect("why");
    assert!(refused.contains("期限"), "{refused}");

    // Logout: back to ログイン, and the API is closed to this browser.
    click(&c, "#logout").await;
    wait_for(&c, "#login-name").await;
    let status = eval(
        &c,
        "return fetch('/v1/payments', {credentials: 'same-origin'}).then(r => r.status)",
    )
    .await;
    assert_eq!(status, json!(401));
    let _ = c
        .find(Locator::Css("#login-submit"))
        .await
        .expect("login form");
    let _ = c.close().await;
    real_clock().await;
}
