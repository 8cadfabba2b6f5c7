//! The edge's injected clock end to end (workerd + D1 + both sandboxes frozen at the same
//! instant): the card cancel classification at JST day and month boundaries, authorisation
//! expiry, and the Cron Trigger that settles payments left 結果不明.
//!
//! One clock serves the whole stack, so the tests of this binary take turns ([`CLOCK`]).

use kessai_core::jst::{JstDateTime, UnixMillis};
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

static CLOCK: Mutex<()> = Mutex::const_new(());

/// Unix ms of a JST wall-clock time written `yyyyMMddHHmmss`.
fn jst(s: &str) -> i64 {
    JstDateTime::parse_gmo(s).expect("JST time").to_unix().0
}

/// A card payment authorised (and captured when `capture`) at `at` (JST).
async fn card_payment_at(at: &str, amount: i64, capture: bool) -> (String, String) {
    set_clock(jst(at)).await;
    let p = authorized_card_payment(amount).await;
    let id = id_of(&p);
    if capture {
        let (status, body) = operate(&id, "capture", None).await;
        assert_eq!(
            (status, body["state"].clone()),
            (200, json!("captured")),
            "{body}"
        );
    }
    (id, gmo_order(&p))
}

/// Cancels at `at` (JST); returns the class the edge chose and the state it left.
async fn cancel_at(id: &str, at: &str) -> (String, Value) {
    set_clock(jst(at)).await;
    let (status, body) = operate(id, "cancel", None).await;
    assert_eq!(status, 200, "cancel at {at}: {body}");
    let job = body["operation"]["cancel_job"]
        .as_str()
        .expect("cancel class")
        .to_string();
    (job, body["state"].clone())
}

/// A capture is refused as 期限切れ (409 `authorization_expired`), naming the `days` window.
async fn capture_is_refused_as_expired(id: &str, days: u32) {
    let (status, body) = operate(id, "capture", None).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("authorization_expired")),
        "{body}"
    );
    assert!(
        body["error"]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains(&days.to_string())),
        "{body}"
    );
}

#[tokio::test]
async fn card_cancel_follows_the_jst_day_and_month_of_the_last_transaction() {
    let _turn = CLOCK.lock().await;
    // (captured at, cancelled at, capture?, expected class, expected state)
    let cases = [
        // Same JST day, first and last second: 取消.
        ("20261110000000", "20261110235959", true, "VOID", "voided"),
        // 23:59:59 → 00:00:00 the next day, same month: 返品.
        (
            "20261110235959",
            "20261111000000",
            true,
            "RETURN",
            "returned",
        ),
        // Month end → the 1st: 月跨返品.
        (
            "20261130235959",
            "20261201000000",
            true,
            "RETURNX",
            "returned_next_month",
        ),
        // February of a leap year, across into March.
        (
            "20280229120000",
            "20280301000000",
            true,
            "RETURNX",
            "returned_next_month",
        ),
        // Authorised only, a month later: RETURN (the GMO rule: RETURNX only for sales).
        (
            "20261130235959",
            "20261201000000",
            false,
            "RETURN",
            "returned",
        ),
    ];
    for (paid_at, cancel, capture, want_job, want_state) in cases {
        let (id, gmo) = card_payment_at(paid_at, 2_000, capture).await;
        let (job, state) = cancel_at(&id, cancel).await;
        assert_eq!(
            (job.as_str(), state.as_str().unwrap_or("")),
            (want_job, want_state),
            "paid {paid_at} (capture {capture}), cancelled {cancel}"
        );
        // GMO, classifying by its own JST clock at the same instant, agrees.
        assert_eq!(
            gmo_trade(&gmo).await["status"],
            want_job,
            "{paid_at} → {cancel}"
        );
    }
    real_clock().await;
}

#[tokio::test]
async fn an_authorization_past_60_days_cannot_be_captured_and_says_why() {
    let _turn = CLOCK.lock().await;
    let authorized_at = "20261001100000";
    let (id, gmo) = card_payment_at(authorized_at, 4_400, false).await;

    // 59 days and 23 hours later the view counts down; the capture would still be possible.
    let almost = UnixMillis(jst(authorized_at))
        .plus_days(59)
        .plus_minutes(23 * 60);
    set_clock(almost.0).await;
    let view = payment(&id).await;
    assert_eq!(view["state"], "authorized", "{view}");

    // Past 60 days: refused before any gateway call, with the reason in Japanese.
    set_clock(UnixMillis(jst(authorized_at)).plus_days(61).0).await;
    capture_is_refused_as_expired(&id, 60).await;
    assert_eq!(count_api(&gateway_requests(&gmo).await, "AlterTran"), 0);
    real_clock().await;
}

#[tokio::test]
async fn the_cron_sweep_settles_an_authorization_nobody_came_back_for() {
    let _turn = CLOCK.lock().await;
    real_clock().await;
    let p = create_payment(3_100).await;
    let id = id_of(&p);
    let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
    // GMO is still executing ExecTran when the edge gives up: 結果不明, and the shopper leaves.
    sandbox_fault_spec(json!({
        "api": "ExecTran", "order_id": gmo_order(&p), "delay_ms": TEST_GMO_TIMEOUT_MS + 1_000,
        "times": 1, "execute_late": true
    }))
    .await;
    let (status, body) = widget_post(&p, json!({ "token": token })).await;
    assert_eq!(
        (status, body["state"].clone()),
        (202, json!("unknown")),
        "{body}"
    );

    // Nobody polls; GMO finishes; the Cron Trigger settles it with SearchTrade.
    tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    assert_eq!(payment(&id).await["state"], "unknown");
    run_cron().await;
    let after = payment(&id).await;
    assert_eq!(after["state"], "authorized", "{after}");
    let reqs = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(
        count_api(&reqs, "ExecTran"),
        1,
        "never a second authorisation"
    );
    assert!(
        count_api(&reqs, "SearchTrade") >= 2,
        "asked, not guessed: {reqs:?}"
    );

    // A second run finds nothing open for it and changes nothing.
    let events_before = event_kinds(&after).len();
    run_cron().await;
    let again = payment(&id).await;
    assert_eq!(again["state"], "authorized");
    assert_eq!(event_kinds(&again).len(), events_before);
}

#[tokio::test]
async fn the_test_clock_needs_the_merchant_key() {
    let urls = stack();
    let resp = client()
        .put(format!("{}/v1/test/clock", urls.edge))
        .json(&json!({ "now_ms": 1_800_000_000_000_i64 }))
        .send()
        .await
        .expect("edge reachable");
    assert_eq!(resp.status().as_u16(), 401);
    let (status, body) = merchant(
        Method::PUT,
        "/v1/test/clock",
        Some(json!({ "now_ms": "soon" })),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (400, json!("invalid_request")),
        "{body}"
    );
}

/// `GET /v1/payments?…` as the console lists: the ids shown.
async fn listed(query: &str) -> Vec<String> {
    let (status, body) = merchant(Method::GET, &format!("/v1/payments?{query}"), None).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["data"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .map(|r| r["id"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn near_expiry_and_expired_are_found_among_many_and_amazon_expires_after_30_days() {
    let _turn = CLOCK.lock().await;
    let day_one = UnixMillis(jst("20270301100000"));
    set_clock(day_one.0).await;
    let card = id_of(&authorized_card_payment(5_000).await);
    let (amazon, charge_id) = authorized_amazon_payment(3_000).await;
    let amazon = id_of(&amazon);

    // Day 20 of Amazon Pay's 30: counting down, not 期限間近 yet.
    set_clock(day_one.plus_days(20).0).await;
    let view = payment(&amazon).await;
    assert_eq!(view["authorization_expiry"]["days_left"], 10, "{view}");
    assert_eq!(view["authorization_expiry"]["near_expiry"], false, "{view}");
    assert!(
        listed(&format!("near_expiry=1&q={amazon}"))
            .await
            .is_empty()
    );

    // Day 24: 6 JST days left, 期限間近.
    set_clock(day_one.plus_days(24).0).await;
    let view = payment(&amazon).await;
    assert_eq!(view["authorization_expiry"]["days_left"], 6, "{view}");
    assert_eq!(
        listed(&format!("near_expiry=1&q={amazon}")).await,
        [amazon.as_str()]
    );

    // Day 31: 期限切れ; the capture is refused before any call to Amazon, saying why.
    set_clock(day_one.plus_days(31).0).await;
    let view = payment(&amazon).await;
    assert_eq!(view["display_state"], "expired", "{view}");
    assert_eq!(
        listed(&format!("state=expired&q={amazon}")).await,
        [amazon.as_str()]
    );
    capture_is_refused_as_expired(&amazon, 30).await;
    assert!(
        amazon_requests(Some("CaptureCharge"), Some(&charge_id))
            .await
            .is_empty()
    );

    // Day 53 of the card's 60: 期限間近, and found first even when a page holds only newer
    // 仮売上 (six of them authorised today).
    set_clock(day_one.plus_days(53).0).await;
    for _ in 0..6 {
        authorized_card_payment(1_000).await;
    }
    assert_eq!(listed("near_expiry=1&limit=1").await, [card.as_str()]);
    let near = listed("near_expiry=1&limit=50").await;
    assert!(near.contains(&card), "{near:?}");
    assert!(
        !near.contains(&amazon),
        "an expired one is not 期限間近: {near:?}"
    );
    real_clock().await;
}

#[tokio::test]
async fn the_cron_sweep_finishes_an_ipn_that_could_not_be_processed_on_delivery() {
    let _turn = CLOCK.lock().await;
    let arrived = UnixMillis(jst("20270410143000"));
    set_clock(arrived.0).await;
    let (p, charge_id) = authorized_amazon_payment(2_800).await;
    let id = id_of(&p);
    let cp = payment(&id).await["amazon_pay"]["charge_permission_id"]
        .as_str()
        .expect("charge permission id")
        .to_string();
    // Captured in Seller Central, behind the edge (this stack's sandbox delivers no IPNs by
    // itself); the IPN about it arrives while Amazon cannot be read: 503, the row stays
    // `received` for SNS to deliver again.
    let (status, body) = amazon_sandbox_post(
        &format!("/__sandbox/amazon/console/charges/{charge_id}/capture"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Three answers later than the edge waits: its Get Charge and both retries time out. (Not
    // `drop_answer`: a connection closed without an answer is sometimes retried once more
    // inside workerd's fetch, so the number of calls would not be fixed.)
    amazon_fault(json!({
        "api": "GetCharge", "object_id": charge_id,
        "delay_ms": TEST_AMAZON_TIMEOUT_MS + 500, "times": 3
    }))
    .await;
    let notification_id = format!("swept-{charge_id}");
    let envelope =
        signed_ipn(json!({ "message": ipn_message("CHARGE", &charge_id, &cp, &notification_id) }))
            .await;
    let (status, body) = post_amazon_ipn(&envelope).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(payment(&id).await["state"], "authorized");

    // Within the grace period the sweep leaves it to SNS's redelivery.
    set_clock(arrived.plus_minutes(5).0).await;
    run_cron().await;
    assert_eq!(payment(&id).await["state"], "authorized");

    // Redeliveries never came: after 10 minutes the sweep processes it as on delivery.
    set_clock(arrived.plus_minutes(11).0).await;
    run_cron().await;
    let after = payment(&id).await;
    assert_eq!(after["state"], "captured", "{after}");
    let applied: Vec<&Value> = after["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["kind"] == "amazon_ipn_applied")
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(applied.len(), 1, "{after}");
    assert_eq!(applied[0]["detail"]["notification"]["swept"], true);
    assert_eq!(
        applied[0]["detail"]["notification"]["dedupe_key"],
        format!("amazon:{notification_id}")
    );
    assert!(
        amazon_requests(Some("CaptureCharge"), Some(&charge_id))
            .await
            .is_empty(),
        "Amazon's own capture adopted, none sent"
    );

    // A late redelivery and another run change nothing.
    let (status, body) = post_amazon_ipn(&envelope).await;
    assert_eq!(
        (status, body["duplicate"].clone()),
        (200, json!(true)),
        "{body}"
    );
    run_cron().await;
    let last = payment(&id).await;
    assert_eq!(event_kinds(&last), event_kinds(&after));
    real_clock().await;
}
