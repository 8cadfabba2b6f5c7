//! Webhooks to the shop (issue #15) through the edge in workerd: a declined 定期購入 charge is
//! told to the demo shop's receiver (`/webhooks/kessai`) as `subscription.charge_failed`, signed
//! with `WEBHOOK_SIGNING_KEY` over `"{t}.{body}"`; while the shop's server is down the delivery is
//! tried again by later cron runs (after a minute), with the same event id, and delivered once;
//! the last failed retry also sends `subscription.unpaid`.

use kessai_sandbox::test_cards;
use kessai_tests::tds::*;
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

static CLOCK: Mutex<()> = Mutex::const_new(());

/// 09:00 JST on 2027-`m`-`d` plus `minutes`, as Unix ms.
fn jst(m: u32, d: u32, minutes: i64) -> i64 {
    // 2027-01-01T00:00:00Z = 1_798_761_600_000 ms; JST 09:00 is 00:00 UTC.
    let days_before: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    1_798_761_600_000
        + (days_before[(m - 1) as usize] + i64::from(d) - 1) * 86_400_000
        + minutes * 60_000
}

async fn inbox() -> Value {
    client()
        .get(format!("{}/webhooks/kessai", stack().storefront))
        .send()
        .await
        .expect("storefront")
        .json()
        .await
        .expect("json")
}

async fn shop_down(times: u32) {
    let status = client()
        .post(format!("{}/webhooks/kessai/fail", stack().storefront))
        .json(&json!({ "times": times }))
        .send()
        .await
        .expect("storefront")
        .status();
    assert!(status.is_success(), "shop_down: {status}");
}

async fn issuer_declines(card: &str, code: Option<&str>) {
    let resp = client()
        .post(format!("{}/__sandbox/shop", stack().sandbox))
        .json(&json!({ "issuer_declines": { card: code } }))
        .send()
        .await
        .expect("sandbox");
    assert!(resp.status().is_success());
}

/// The events of subscription `id` the shop accepted.
fn events_of(inbox: &Value, id: &str) -> Vec<Value> {
    inbox["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["data"]["subscription_id"] == id)
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_declined_charge_is_told_to_the_shop_signed_and_retried_while_it_is_down() {
    stack_3ds();
    let _t = CLOCK.lock().await;
    assert!(jst(1, 1, 0) % 86_400_000 == 0, "09:00 JST is midnight UTC");
    set_clock(jst(6, 1, 0)).await;
    let customer = customer_with_card().await;
    let (status, sub) = merchant(
        Method::POST,
        "/v1/subscriptions",
        Some(
            json!({ "customer": customer, "card_seq": 0, "amount": 2_200, "cycle": "weekly:tue" }),
        ),
    )
    .await;
    assert_eq!(status, 201, "{sub}");
    let id = sub["id"].as_str().expect("id").to_string();
    assert_eq!(sub["next_charge_on"], "2027-06-01", "a Tuesday: {sub}");
    issuer_declines(test_cards::APPROVED, Some("42G020000")).await;
    shop_down(1).await;
    run_cron().await;
    // The shop's server was down: one attempt, answered 503, nothing accepted yet.
    let first = inbox().await;
    assert!(events_of(&first, &id).is_empty(), "{first}");
    let failed_attempts: Vec<_> = first["attempts"]
        .as_array()
        .map(|a| a.iter().filter(|x| x["status"] == 503).cloned().collect())
        .unwrap_or_default();
    assert_eq!(failed_attempts.len(), 1, "{first}");
    let event_id = failed_attempts[0]["id"]
        .as_str()
        .expect("event id")
        .to_string();
    // Too early for the retry (one minute): nothing more.
    set_clock(jst(6, 1, 0) + 30_000).await;
    run_cron().await;
    assert!(events_of(&inbox().await, &id).is_empty());
    // After a minute the next run delivers it: same id, signed, once.
    set_clock(jst(6, 1, 2)).await;
    run_cron().await;
    run_cron().await;
    let delivered = inbox().await;
    let events = events_of(&delivered, &id);
    assert_eq!(events.len(), 1, "{delivered}");
    let event = &events[0];
    assert_eq!(event["id"], event_id.as_str());
    assert_eq!(event["type"], "subscription.charge_failed");
    assert_eq!(event["data"]["customer"], customer.as_str());
    assert_eq!(event["data"]["amount"], 2_200);
    assert_eq!(event["data"]["scheduled_on"], "2027-06-01");
    assert_eq!(event["data"]["attempt"], 0);
    assert_eq!(event["data"]["next_attempt_on"], "2027-06-02");
    assert_eq!(event["data"]["reason"], "card_declined");
    let payment_id = event["data"]["payment_id"].as_str().expect("payment id");
    assert_eq!(payment(payment_id).await["subscription_id"], id.as_str());
    assert!(
        !delivered.to_string().contains(test_cards::APPROVED),
        "no card number in a webhook"
    );
    let accepted = delivered["attempts"]
        .as_array()
        .map(|a| a.iter().filter(|x| x["id"] == event_id.as_str()).count())
        .unwrap_or(0);
    assert_eq!(accepted, 2, "one 503, one 200: {delivered}");

    // The retries fail too: after the last one, subscription.unpaid.
    for day in [2, 4, 8] {
        set_clock(jst(6, day, 0)).await;
        run_cron().await;
    }
    let end = inbox().await;
    issuer_declines(test_cards::APPROVED, None).await;
    real_clock().await;
    let kinds: Vec<_> = events_of(&end, &id)
        .iter()
        .map(|e| e["type"].clone())
        .collect();
    let count = |t: &str| kinds.iter().filter(|k| **k == t).count();
    // Every failed attempt (the first and three retries), and once 未決済.
    assert_eq!(
        (
            count("subscription.charge_failed"),
            count("subscription.unpaid"),
            kinds.len()
        ),
        (4, 1, 5),
        "{end}"
    );
    let unpaid = events_of(&end, &id)
        .into_iter()
        .find(|e| e["type"] == "subscription.unpaid")
        .unwrap_or_default();
    assert_eq!(unpaid["data"]["status"], "unpaid", "{unpaid}");
    assert!(unpaid["data"]["next_attempt_on"].is_null(), "{unpaid}");
}
