//! Card-testing defence (issue #13) in workerd with D1, against the GMO sandbox
//! (`THREE_D_SECURE=off`, defaults `CARD_ATTEMPTS_PER_PAYMENT=5`, `CARD_FAILURES_PER_IP=10`):
//! the per-payment lock, the per-IP window with `Retry-After` on the test clock, the console's
//! 不正検知 list and 解除 with its audit events, and the 3D必須 shop refusal. Each test sends its own
//! `CF-Connecting-IP`. The tests take turns ([`TURN`]): one moves the clock, one switches the
//! sandbox shop to 3D必須, and the IP window is read on the clock.

use kessai_sandbox::test_cards;
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

static TURN: Mutex<()> = Mutex::const_new(());

const DECLINE: &str = "4000000000000028";

/// A card POST as the widget sends it, from `ip`: status, `Retry-After` and body.
async fn card_from(p: &Value, ip: &str, card: &str) -> (u16, Option<String>, Value) {
    let urls = stack();
    let token = token_for(card).await;
    let resp = client()
        .post(format!("{}/v1/checkout/{}/card", urls.edge, id_of(p)))
        .header("origin", &urls.storefront)
        .header("x-client-secret", p["client_secret"].as_str().unwrap_or(""))
        .header("cf-connecting-ip", ip)
        .json(&json!({ "token": token }))
        .send()
        .await
        .expect("edge reachable");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (
        status,
        retry_after,
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// `n` declined attempts on `p` from `ip`, each answered 402 `card_declined`.
async fn declines(p: &Value, ip: &str, n: usize) {
    for i in 0..n {
        let (status, _, body) = card_from(p, ip, DECLINE).await;
        assert_eq!(status, 402, "decline {i}: {body}");
        assert_eq!(
            body["error"]["code"], "card_declined",
            "decline {i}: {body}"
        );
    }
}

async fn exec_trans(p: &Value) -> usize {
    count_api(&gateway_requests(&gmo_order(p)).await, "ExecTran")
}

async fn fraud_list(cookie: &str) -> Value {
    let (status, _, body) =
        console_call(Method::GET, "/console/api/fraud", Some(cookie), false, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn unlock(cookie: &str, body: Value) -> Value {
    let (status, _, body) = console_call(
        Method::POST,
        "/console/api/fraud/unlock",
        Some(cookie),
        true,
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn listed<'a>(list: &'a Value, key: &str, field: &str, value: &str) -> Option<&'a Value> {
    list[key].as_array()?.iter().find(|r| r[field] == value)
}

/// Frozen at the real time, so every attempt of a test lands at one instant.
fn real_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn five_declines_lock_the_payment_until_an_operator_unlocks_it() {
    let _turn = TURN.lock().await;
    let ip = "198.51.100.11";
    let p = create_payment(1200).await;
    declines(&p, ip, 5).await;
    assert_eq!(exec_trans(&p).await, 5);

    // The 6th attempt, even with a good card, is refused before GMO.
    let (status, retry_after, body) = card_from(&p, ip, test_cards::APPROVED).await;
    assert_eq!(status, 423, "{body}");
    assert_eq!(body["error"]["code"], "card_attempts_exceeded");
    assert_eq!(body["error"]["attempts"], 5);
    assert_eq!(
        body["error"]["message_ja"],
        "このお支払いはカードの試行回数の上限に達したため、ロックされました。ショップにお問い合わせください。"
    );
    assert_eq!(retry_after, None, "only an operator unlocks a payment");
    assert_eq!(
        exec_trans(&p).await,
        5,
        "the locked attempt never reached GMO"
    );
    // Another network does not get around the payment's lock.
    let (status, _, body) = card_from(&p, "198.51.100.12", test_cards::APPROVED).await;
    assert_eq!(status, 423, "{body}");
    assert_eq!(payment(&id_of(&p)).await["state"], "requires_payment");

    // 不正検知 lists it with its count, last attempt and IP.
    let cookie = operator_session().await;
    let list = fraud_list(&cookie).await;
    let row = listed(&list, "locked_payments", "payment_id", &id_of(&p)).expect("listed");
    assert_eq!(row["attempts"], 5, "{row}");
    assert_eq!(row["last_ip"], ip, "{row}");
    assert!(row["last_at"].as_i64().is_some_and(|t| t > 0), "{row}");
    assert_eq!(row["order_id"], p["order_id"], "{row}");
    assert_eq!(list["limits"]["attempts_per_payment"], 5);

    // 解除: the operator's name is in the payment's history, and the shopper can pay again.
    let cleared = unlock(&cookie, json!({ "payment_id": id_of(&p) })).await;
    assert_eq!(cleared["cleared"], 5, "{cleared}");
    let after = payment(&id_of(&p)).await;
    let ev = after["events"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == "card_attempts_unlocked"))
        .cloned()
        .expect("unlock event");
    let (name, _) = operator_login();
    assert_eq!(ev["actor"], format!("operator:{name}"), "{ev}");
    assert!(
        listed(
            &fraud_list(&cookie).await,
            "locked_payments",
            "payment_id",
            &id_of(&p)
        )
        .is_none()
    );
    let (status, _, body) = card_from(&p, ip, test_cards::APPROVED).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "authorized");
    assert_eq!(exec_trans(&p).await, 6);
}

#[tokio::test]
async fn failures_from_one_ip_answer_429_across_payments_until_the_window_frees() {
    let _turn = TURN.lock().await;
    let t0 = real_now_ms();
    set_clock(t0).await;
    let ip = "198.51.100.22";
    let (a, b, c) = (
        create_payment(1300).await,
        create_payment(1400).await,
        create_payment(1500).await,
    );
    declines(&a, ip, 5).await;
    declines(&b, ip, 5).await;

    let (status, retry_after, body) = card_from(&c, ip, test_cards::APPROVED).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_card_failures");
    assert_eq!(retry_after.as_deref(), Some("600"), "{body}");
    assert_eq!(body["error"]["retry_after_seconds"], 600);
    assert!(
        body["error"]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("10分")),
        "{body}"
    );
    let c_log = gateway_requests(&gmo_order(&c)).await;
    assert_eq!(
        (
            count_api(&c_log, "EntryTran"),
            count_api(&c_log, "ExecTran")
        ),
        (0, 0),
        "nothing reached GMO"
    );
    // Another IP is not affected.
    let (status, _, body) = card_from(&c, "198.51.100.23", DECLINE).await;
    assert_eq!(status, 402, "{body}");

    let cookie = operator_session().await;
    let list = fraud_list(&cookie).await;
    let row = listed(&list, "blocked_ips", "ip", ip).expect("listed");
    assert_eq!(
        (row["failures"].clone(), row["payments"].clone()),
        (json!(10), json!(2)),
        "{row}"
    );
    assert_eq!(row["frees_at"], t0 + 600_000, "{row}");

    // 4 minutes later: still refused, for the remaining 6 minutes.
    set_clock(t0 + 240_000).await;
    let (status, retry_after, body) = card_from(&c, ip, test_cards::APPROVED).await;
    assert_eq!(
        (status, retry_after.as_deref()),
        (429, Some("360")),
        "{body}"
    );
    // 10 minutes after the failures the window has freed.
    set_clock(t0 + 600_000).await;
    let (status, _, body) = card_from(&c, ip, test_cards::APPROVED).await;
    real_clock().await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "authorized");
}

#[tokio::test]
async fn an_operator_unlocks_an_ip_and_the_unlock_is_in_the_history() {
    let _turn = TURN.lock().await;
    let ip = "2001:db8::33";
    let (a, b, c) = (
        create_payment(1600).await,
        create_payment(1700).await,
        create_payment(1800).await,
    );
    declines(&a, ip, 5).await;
    declines(&b, ip, 5).await;
    let (status, retry_after, _) = card_from(&c, ip, DECLINE).await;
    assert_eq!(status, 429);
    assert!(retry_after.is_some());

    let cookie = operator_session().await;
    assert!(listed(&fraud_list(&cookie).await, "blocked_ips", "ip", ip).is_some());
    // Without the console's CSRF header the unlock is refused.
    let (status, _, _) = console_call(
        Method::POST,
        "/console/api/fraud/unlock",
        Some(&cookie),
        false,
        Some(json!({ "ip": ip })),
    )
    .await;
    assert_eq!(status, 403);
    let cleared = unlock(&cookie, json!({ "ip": ip })).await;
    assert_eq!(cleared["cleared"], 10, "{cleared}");
    assert!(listed(&fraud_list(&cookie).await, "blocked_ips", "ip", ip).is_none());
    let (name, _) = operator_login();
    for p in [&a, &b] {
        let after = payment(&id_of(p)).await;
        let ev = after["events"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["kind"] == "card_ip_unlocked"))
            .cloned()
            .expect("ip unlock event");
        assert_eq!(ev["actor"], format!("operator:{name}"), "{ev}");
    }
    // The IP may try again; the payments' own locks stay (a and b used their 5 attempts).
    let (status, _, body) = card_from(&c, ip, test_cards::APPROVED).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = card_from(&a, ip, test_cards::APPROVED).await;
    assert_eq!(status, 423, "{body}");
    // Either payment_id or ip, not both.
    let (status, _, body) = console_call(
        Method::POST,
        "/console/api/fraud/unlock",
        Some(&cookie),
        true,
        Some(json!({ "ip": ip, "payment_id": id_of(&a) })),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_paid_attempt_is_not_counted_as_a_failure() {
    let _turn = TURN.lock().await;
    set_clock(real_now_ms()).await;
    let ip = "198.51.100.44";
    let (p, q, r) = (
        create_payment(1900).await,
        create_payment(2000).await,
        create_payment(2100).await,
    );
    // 4 declines and a payment: 5 attempts on p, but p is paid, not locked.
    declines(&p, ip, 4).await;
    let (status, _, body) = card_from(&p, ip, test_cards::APPROVED).await;
    assert_eq!(status, 200, "{body}");
    declines(&q, ip, 5).await;
    // 9 failures so far: the 10th is allowed (it would not be if the payment counted).
    declines(&r, ip, 1).await;
    let (status, _, body) = card_from(&r, ip, DECLINE).await;
    real_clock().await;
    assert_eq!(status, 429, "{body}");
    let cookie = operator_session().await;
    let list = fraud_list(&cookie).await;
    assert!(
        listed(&list, "locked_payments", "payment_id", &id_of(&p)).is_none(),
        "{list}"
    );
    assert!(
        listed(&list, "locked_payments", "payment_id", &id_of(&q)).is_some(),
        "{list}"
    );
    assert_eq!(
        listed(&list, "blocked_ips", "ip", ip).map(|r| r["failures"].clone()),
        Some(json!(10))
    );
}

async fn sandbox_shop(tds_required: bool) {
    let resp = client()
        .post(format!("{}/__sandbox/shop", stack().sandbox))
        .json(&json!({ "tds_required": tds_required }))
        .send()
        .await
        .expect("sandbox reachable");
    assert!(resp.status().is_success(), "{}", resp.status());
}

#[tokio::test]
async fn a_3d_required_shop_refuses_cards_while_the_edge_has_3_d_secure_off() {
    let _turn = TURN.lock().await;
    let ip = "198.51.100.55";
    let p = create_payment(2200).await;
    sandbox_shop(true).await;
    let refused = card_from(&p, ip, test_cards::APPROVED).await;
    sandbox_shop(false).await;

    let (status, _, body) = refused;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "three_d_secure_required_by_shop");
    assert!(
        body["error"]["gateway"]["err_info"]
            .as_str()
            .is_some_and(|e| e.contains("E01080101")),
        "{body}"
    );
    assert!(
        body["error"]["message_ja"].as_str().is_some_and(
            |m| m.contains("本人認証(3Dセキュア)") && m.contains("お支払いは行われていません")
        ),
        "{body}"
    );
    let log = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(count_api(&log, "EntryTran"), 1, "{log:?}");
    assert_eq!(count_api(&log, "ExecTran"), 0, "nothing charged: {log:?}");
    let after = payment(&id_of(&p)).await;
    assert_eq!(after["state"], "requires_payment", "{after}");
    assert!(after["gateway"]["tran_id"].is_null(), "{after}");
    // GMO keeps the refused OrderID reserved (E01040010 on reuse), so the payment has moved to a
    // fresh one: with the shop switched back, the same payment pays on its next try.
    let moved_to = gmo_order(&after);
    assert_ne!(moved_to, gmo_order(&p), "{after}");
    let (status, _, body) = card_from(&p, ip, test_cards::APPROVED).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "authorized");
    let paid = payment(&id_of(&p)).await;
    assert_eq!(gmo_order(&paid), moved_to, "{paid}");
    let old_log = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(count_api(&old_log, "EntryTran"), 1, "{old_log:?}");
    let new_log = gateway_requests(&moved_to).await;
    assert_eq!(count_api(&new_log, "EntryTran"), 1, "{new_log:?}");
    assert_eq!(count_api(&new_log, "ExecTran"), 1, "{new_log:?}");
}

#[tokio::test]
async fn a_refused_entry_whose_answer_was_lost_moves_to_a_fresh_order_id_on_retry() {
    let _turn = TURN.lock().await;
    let ip = "198.51.100.56";
    let p = create_payment(2400).await;
    let first_order = gmo_order(&p);
    // GMO refuses the EntryTran (3D必須) and reserves the OrderID, but its answer arrives after
    // the edge gave up: the edge cannot know the OrderID is taken.
    sandbox_fault("EntryTran", &first_order, TEST_GMO_TIMEOUT_MS + 1_500, 1).await;
    sandbox_shop(true).await;
    let lost = card_from(&p, ip, test_cards::APPROVED).await;
    sandbox_shop(false).await;
    let (status, _, body) = lost;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["reason"], "gateway_unavailable", "{body}");
    let after = payment(&id_of(&p)).await;
    assert_eq!(after["state"], "requires_payment", "{after}");
    assert_eq!(gmo_order(&after), first_order, "nothing known yet: {after}");

    // The retry meets E01040010; SearchTrade finds no trade (E01110002), so nothing was charged
    // under that OrderID and the payment moves to a fresh one.
    let (status, _, body) = card_from(&p, ip, test_cards::APPROVED).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "authorized", "{body}");
    let paid = payment(&id_of(&p)).await;
    let moved_to = gmo_order(&paid);
    assert_ne!(moved_to, first_order, "{paid}");
    let old_log = gateway_requests(&first_order).await;
    assert_eq!(count_api(&old_log, "EntryTran"), 2, "{old_log:?}");
    assert_eq!(count_api(&old_log, "SearchTrade"), 1, "{old_log:?}");
    assert_eq!(count_api(&old_log, "ExecTran"), 0, "{old_log:?}");
    let new_log = gateway_requests(&moved_to).await;
    assert_eq!(count_api(&new_log, "EntryTran"), 1, "{new_log:?}");
    assert_eq!(count_api(&new_log, "ExecTran"), 1, "{new_log:?}");
}

/// The `card attempts pruned N` of every sweep log line so far.
fn pruned_counts() -> Vec<usize> {
    let log = std::fs::read_to_string(stack().state_dir.join(kessai_demo::stack::EDGE_LOG))
        .unwrap_or_default();
    log.lines()
        .filter_map(|l| l.split("card attempts pruned ").nth(1))
        .filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// Runs the sweep and reads how many card attempts it deleted (from its log line, which
/// reaches the log file shortly after the run).
async fn sweep_pruned() -> usize {
    let before = pruned_counts().len();
    run_cron().await;
    for _ in 0..50 {
        let counts = pruned_counts();
        if counts.len() > before {
            return counts[counts.len() - 1];
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no sweep log line");
}

#[tokio::test]
async fn the_sweep_deletes_attempts_past_90_days_but_keeps_a_locked_open_payment_locked() {
    let _turn = TURN.lock().await;
    let ip = "198.51.100.61";
    let t0 = real_now_ms();
    set_clock(t0).await;
    // A payment that paid after two declines, and one locked by five declines.
    let paid = create_payment(2600).await;
    declines(&paid, ip, 2).await;
    let (status, _, body) = card_from(&paid, ip, test_cards::APPROVED).await;
    assert_eq!(status, 200, "{body}");
    let locked = create_payment(2700).await;
    declines(&locked, "198.51.100.62", 5).await;

    // Within the retention nothing goes.
    set_clock(t0 + 89 * 86_400_000).await;
    assert_eq!(sweep_pruned().await, 0);
    // Past 90 days the paid payment's three attempts (and any older test's) go, once.
    set_clock(t0 + 91 * 86_400_000).await;
    let pruned = sweep_pruned().await;
    assert!(pruned >= 3, "pruned {pruned}");
    assert_eq!(sweep_pruned().await, 0, "deleted, not only counted");
    // The locked payment stays locked: its attempts are kept until an operator unlocks it.
    let (status, _, body) = card_from(&locked, "198.51.100.63", test_cards::APPROVED).await;
    real_clock().await;
    assert_eq!(status, 423, "{body}");
    assert_eq!(body["error"]["code"], "card_attempts_exceeded");
}
