//! Headless Chromium on the console's 定期購入 pages, served by the edge (workerd + D1, 3-D
//! Secure required) against the GMO sandbox: a member registers a card (有効性チェック with 3-D
//! Secure), the merchant subscribes it and the Cron Trigger charges the first cycle. The operator
//! finds the subscription in the list (有効, its amount and card; not under 未決済), opens it, sees
//! the charge as 仮売上 linking to its 決済詳細, pauses it after confirming (state and history
//! change), cancels it, and an attempt to resume it shows the edge's Japanese refusal. A
//! subscription the issuer kept declining (未決済 after its retries) is found under 未決済; its
//! page's 再オーソリ while the issuer still declines says so and leaves it 未決済; once the card pays
//! again it is checked and 一括再オーソリ'd from the list: its row says so and the edge has it 有効.
//!
//! Both tests move the edge's clock (and one the sandbox issuer's answers), so they take
//! [`CLOCK`] one at a time.

use fantoccini::{Client, Locator};
use kessai_tests::tds::customer_with_card;
use kessai_tests::web::{click, wait_for, wait_for_text};
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

static CLOCK: Mutex<()> = Mutex::const_new(());

/// 2027-01-10 12:00 JST as Unix ms: a `monthly:10` subscription is due that day.
const JAN_10_NOON_JST: i64 = 1_799_550_000_000;
/// 2027-03-01 12:00 JST as Unix ms, and a day.
const MAR_1_NOON_JST: i64 = 1_803_870_000_000;
const DAY_MS: i64 = 86_400_000;

async fn login(c: &Client) {
    let (name, password) = operator_login();
    c.goto(&format!("{}/console/", stack().edge))
        .await
        .expect("console page");
    let field = wait_for(c, "#login-name").await;
    field.send_keys(&name).await.expect("name");
    let field = wait_for(c, "#login-password").await;
    field.send_keys(&password).await.expect("password");
    click(c, "#login-submit").await;
    assert_eq!(wait_for_text(c, "#operator-name", &name).await, name);
}

/// Chooses `value` in the list's 状態 filter.
async fn filter(c: &Client, value: &str) {
    wait_for(c, "#sub-filter-status")
        .await
        .select_by_value(value)
        .await
        .expect("status filter");
}

/// Once the list shows the answer for `shown` (`all` or a status): whether `id` is in it.
async fn row_shown(c: &Client, shown: &str, id: &str) -> bool {
    wait_for(c, &format!("#subscriptions[data-shown='{shown}']")).await;
    c.find(Locator::Css(&format!(
        "#subscriptions tr[data-subscription-id='{id}']"
    )))
    .await
    .is_ok()
}

/// Asks for `op` on the detail page, checks the dialog and confirms it.
async fn confirmed(c: &Client, op: &str, says: &str) {
    click(c, &format!("#sub-op-{op}")).await;
    let message = wait_for_text(c, "#confirm-message", says).await;
    assert!(message.contains(says), "{op}: dialog says {message:?}");
    click(c, "#confirm-yes").await;
}

#[tokio::test]
async fn operator_finds_pauses_and_cancels_a_subscription_in_the_console() {
    stack_3ds();
    let _t = CLOCK.lock().await;
    set_clock(JAN_10_NOON_JST).await;
    let customer = customer_with_card().await;
    let (status, sub) = merchant(
        Method::POST,
        "/v1/subscriptions",
        Some(
            json!({ "customer": customer, "card_seq": 0, "amount": 1_980, "cycle": "monthly:10" }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    let id = id_of(&sub);
    run_cron().await;
    let (status, sub) = merchant(Method::GET, &format!("/v1/subscriptions/{id}"), None).await;
    assert_eq!(status, 200, "{sub}");
    assert_eq!(sub["charges"].as_array().map(Vec::len), Some(1), "{sub}");
    let payment_id = sub["charges"][0]["payment_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(sub["charges"][0]["state"], "authorized", "{sub}");

    let c = browser().await;
    login(&c).await;

    // 定期購入 beside 受注一覧: the row says 有効, the amount and the card.
    click(&c, "#nav-subscriptions").await;
    assert!(row_shown(&c, "all", &id).await);
    let row = format!("tr[data-subscription-id='{id}']");
    let status_cell = wait_for_text(&c, &format!("{row} td.status"), "有効").await;
    assert_eq!(status_cell, "有効");
    let row_text = wait_for(&c, &row).await.text().await.expect("row");
    assert!(row_text.contains("¥1,980"), "{row_text}");
    assert!(row_text.contains(&customer), "{row_text}");
    assert!(row_text.contains("登録カード No.0"), "{row_text}");
    assert!(row_text.contains("2027/02/10"), "next charge: {row_text}");

    // The filter: 未決済 (カード未決済 follow-up) does not list it, 有効 and すべて do.
    filter(&c, "unpaid").await;
    assert!(
        !row_shown(&c, "unpaid", &id).await,
        "未決済 lists an active subscription"
    );
    wait_for(&c, "#subscriptions-empty").await;
    filter(&c, "active").await;
    assert!(row_shown(&c, "active", &id).await);
    filter(&c, "").await;
    assert!(row_shown(&c, "all", &id).await);

    // The detail: fields, the charge (仮売上) linking to its 決済詳細.
    click(&c, &format!("{row} a")).await;
    assert_eq!(wait_for_text(&c, "#sub-status", "有効").await, "有効");
    let charge = format!("#sub-charges tr[data-payment-id='{payment_id}']");
    let state = wait_for_text(&c, &format!("{charge} td.state"), "仮売上").await;
    assert_eq!(state, "仮売上");
    click(&c, &format!("{charge} a")).await;
    let payment_state = wait_for_text(&c, "#detail-state", "仮売上").await;
    assert!(
        payment_state.contains("仮売上"),
        "決済詳細: {payment_state}"
    );
    c.back().await.expect("back");
    wait_for(&c, "#sub-status").await;
    let created = wait_for_text(&c, "#sub-events tr[data-kind='created']", "申込").await;
    assert!(created.contains("2027/01/10"), "{created}");
    let charged = wait_for_text(
        &c,
        "#sub-events tr[data-kind='charge_succeeded']",
        "課金成功",
    )
    .await;
    assert!(charged.contains("課金成功"), "{charged}");

    // 次回分を今すぐ課金 (test environment): February's cycle charged now, March next.
    confirmed(&c, "charge-now", "テスト環境の機能です").await;
    wait_for_text(&c, "#sub-op-notice", "次回分を課金しました").await;
    let next = wait_for_text(&c, "#sub-next", "2027/03/10").await;
    assert!(next.contains("2027/03/10"), "{next}");
    let (_, after) = merchant(Method::GET, &format!("/v1/subscriptions/{id}"), None).await;
    assert_eq!(
        after["charges"].as_array().map(Vec::len),
        Some(2),
        "{after}"
    );
    assert!(
        after["charges"][0]["order_id"]
            .as_str()
            .is_some_and(|o| o.starts_with("kr20270210")),
        "February's own key: {after}"
    );

    // 一時停止 after confirming: the state and a history line (JST, the operator).
    confirmed(&c, "pause", "一時停止します").await;
    wait_for_text(&c, "#sub-op-notice", "完了しました").await;
    assert_eq!(
        wait_for_text(&c, "#sub-status", "一時停止").await,
        "一時停止"
    );
    let paused = wait_for_text(&c, "#sub-events tr[data-kind='paused']", "一時停止").await;
    assert!(paused.contains("2027/01/10 12:00"), "{paused}");
    assert!(paused.contains("担当者"), "{paused}");

    // 解約, then 再開: the edge refuses, and the page says so in its words.
    confirmed(&c, "cancel", "解約します").await;
    assert_eq!(wait_for_text(&c, "#sub-status", "解約").await, "解約");
    assert!(
        wait_for_text(&c, "#sub-events tr[data-kind='cancelled']", "解約")
            .await
            .contains("解約")
    );
    confirmed(&c, "resume", "再開します").await;
    let (status, refusal) = merchant(
        Method::POST,
        &format!("/v1/subscriptions/{id}/resume"),
        None,
    )
    .await;
    assert_eq!(status, 409, "{refusal}");
    let message_ja = refusal["error"]["message_ja"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!message_ja.is_empty(), "{refusal}");
    let shown = wait_for_text(&c, "#sub-op-error", &message_ja).await;
    assert!(
        shown.contains(&message_ja),
        "shown {shown:?}, edge says {message_ja:?}"
    );
    assert_eq!(wait_for_text(&c, "#sub-status", "解約").await, "解約");

    // The list follows: 解約 under its filter.
    click(&c, "#nav-subscriptions").await;
    wait_for(&c, "#subscriptions[data-shown='all']").await;
    filter(&c, "cancelled").await;
    assert!(row_shown(&c, "cancelled", &id).await);
    c.close().await.expect("close");
}

/// Tells the GMO sandbox's issuer to decline the test card from now on with `code` (`None`: pay
/// again).
async fn issuer_declines(code: Option<&str>) {
    let resp = client()
        .post(format!("{}/__sandbox/shop", stack().sandbox))
        .json(&json!({ "issuer_declines": { "4111111111111111": code } }))
        .send()
        .await
        .expect("sandbox reachable");
    assert!(resp.status().is_success(), "{}", resp.status());
}

async fn subscription(id: &str) -> Value {
    subscription_of(id).await
}

#[tokio::test]
async fn operator_bulk_retries_an_unpaid_subscription_in_the_console() {
    stack_3ds();
    let _t = CLOCK.lock().await;
    set_clock(MAR_1_NOON_JST).await;
    let customer = customer_with_card().await;
    let (status, sub) = merchant(
        Method::POST,
        "/v1/subscriptions",
        Some(json!({ "customer": customer, "card_seq": 0, "amount": 2_480, "cycle": "days:30" })),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    let id = id_of(&sub);
    // The issuer declines (over the limit): the charge date and its retries +1, +3, +7 days.
    issuer_declines(Some("42G020000")).await;
    for (attempts, day) in [0, 1, 3, 7].into_iter().enumerate() {
        set_clock(MAR_1_NOON_JST + day * DAY_MS).await;
        // The cron charges a limited number a run: again until this one was attempted.
        for _ in 0..5 {
            run_cron().await;
            if subscription(&id).await["dunning"]["failed_attempts"] == json!(attempts + 1) {
                break;
            }
        }
    }
    let unpaid = subscription(&id).await;
    assert_eq!(unpaid["status"], "unpaid", "{unpaid}");
    let charged = unpaid["charges"].as_array().map_or(0, Vec::len);

    let c = browser().await;
    login(&c).await;
    click(&c, "#nav-subscriptions").await;
    wait_for(&c, "#subscriptions[data-shown='all']").await;
    filter(&c, "unpaid").await;
    assert!(row_shown(&c, "unpaid", &id).await);
    let row = format!("#subscriptions tr[data-subscription-id='{id}']");
    // 前回の課金: the last attempt, declined by the issuer.
    let last = wait_for_text(&c, &format!("{row} td.last-charge"), "未決済").await;
    assert_eq!(last, "未決済（カード会社が拒否）");

    // 再オーソリ on its page while the issuer still declines: said so, still 未決済, one more charge.
    click(&c, &format!("{row} a")).await;
    assert_eq!(wait_for_text(&c, "#sub-status", "未決済").await, "未決済");
    confirmed(&c, "retry", "再オーソリします").await;
    let refused = wait_for_text(&c, "#sub-op-error", "再オーソリできませんでした").await;
    assert_eq!(refused, "再オーソリできませんでした（カード会社が拒否）");
    assert_eq!(wait_for_text(&c, "#sub-status", "未決済").await, "未決済");
    let again = subscription(&id).await;
    assert_eq!(again["status"], "unpaid", "{again}");
    assert_eq!(again["charges"].as_array().map_or(0, Vec::len), charged + 1);

    // The card pays again: 一括再オーソリ from the 未決済 list.
    issuer_declines(None).await;
    click(&c, "#nav-subscriptions").await;
    wait_for(&c, "#subscriptions[data-shown='all']").await;
    filter(&c, "unpaid").await;
    assert!(row_shown(&c, "unpaid", &id).await);
    assert_eq!(
        wait_for_text(&c, &format!("{row} td.status"), "未決済").await,
        "未決済"
    );
    click(&c, &format!("{row} input.select")).await;
    let button = wait_for_text(&c, "#sub-bulk-retry", "（1件）").await;
    assert!(
        button.contains("選択した定期購入を一括再オーソリ"),
        "{button}"
    );
    click(&c, "#sub-bulk-retry").await;
    let message = wait_for_text(&c, "#confirm-message", "再オーソリ").await;
    assert!(message.contains("1件"), "{message}");
    click(&c, "#confirm-yes").await;
    let summary = wait_for_text(&c, "#sub-bulk-summary", "（完了）").await;
    assert!(summary.contains("1 / 1"), "{summary}");
    assert!(summary.contains("成功 1件"), "{summary}");
    let result = wait_for_text(&c, &format!("{row} td.result span.ok"), "成功").await;
    assert_eq!(result, "再オーソリに成功しました（仮売上）");
    assert_eq!(
        wait_for_text(&c, &format!("{row} td.status"), "有効").await,
        "有効"
    );
    c.close().await.expect("close");

    let paid = subscription(&id).await;
    real_clock().await;
    assert_eq!(paid["status"], "active", "{paid}");
    assert!(paid["dunning"].is_null(), "{paid}");
    assert_eq!(paid["charges"][0]["state"], "authorized", "{paid}");
}
