//! EMV 3-D Secure 2 through the edge in workerd (D1, `THREE_D_SECURE=required`) against the
//! GMO sandbox's ACS: the card POST's redirect, the issuer's pages driven over plain HTTP as a
//! browser would, the return to the edge's RetUrl (its 303 to the shop checked, not followed),
//! SecureTran2, replays, concurrency and abandonment settled by the sweep.
//!
//! The test that moves the clock takes [`CLOCK`] for writing; every other test holds it for
//! reading, so no payment of another test sees the jump.

use kessai_sandbox::test_cards;
use kessai_tests::tds::*;
use kessai_tests::*;
use serde_json::{Value, json};
use tokio::sync::RwLock;

static CLOCK: RwLock<()> = RwLock::const_new(());

/// The 3-D Secure stack (must be the first call of every test: one stack per binary).
fn init() {
    stack_3ds();
}

/// The event of `kind` in a payment's history (panics with the history when there is none).
fn event<'a>(p: &'a Value, kind: &str) -> &'a Value {
    p["events"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == kind))
        .unwrap_or_else(|| panic!("no {kind} event in {}", p["events"]))
}

/// The sandbox's history entries of `api` for an OrderID: their results (`OK` or ErrInfo).
async fn sandbox_history(gmo_order_id: &str, api: &str) -> Vec<String> {
    gmo_trade(gmo_order_id).await["history"]
        .as_array()
        .map(|h| {
            h.iter()
                .filter(|e| e["api"] == api)
                .map(|e| e["result"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A frictionless card (`Y`/`A`) ends 仮売上 with the outcome and ECI in the history.
async fn frictionless_pays(card: &str, trans_status: &str, eci: &str) {
    let (p, f, back) = pay_frictionless(2_480, card).await;
    let id = id_of(&p);
    assert_eq!(back.status, 303, "RetUrl: {}", back.body);
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "authorized").as_str())
    );
    assert_eq!(
        f.action,
        format!("{}/v1/checkout/{id}/3ds/return", stack().edge),
        "RetUrl is the edge's return route"
    );
    let after = payment(&id).await;
    assert_eq!(after["state"], "authorized", "{after}");
    assert_eq!(
        event_kinds(&after),
        vec![
            "created",
            "authorization_started",
            "three_d_secure_started",
            "three_d_secure_returned",
            "authorized"
        ]
    );
    let tds = &event(&after, "authorized")["detail"]["three_d_secure"];
    assert_eq!(tds["trans_status"], trans_status, "{tds}");
    assert_eq!(tds["eci"], eci, "{tds}");
    assert_eq!(tds["reported"], true, "{tds}");
    let gmo = gmo_order(&p);
    let reqs = gateway_requests(&gmo).await;
    let entry = reqs
        .iter()
        .find(|r| r["api"] == "EntryTran")
        .expect("entry");
    assert_eq!(
        (&entry["params"]["TdFlag"], &entry["params"]["Tds2Type"]),
        (&json!("2"), &json!("2")),
        "policy required: TdFlag=2, refuse cards outside 3-D Secure"
    );
    assert_eq!(count_api(&reqs, "ExecTran"), 1);
    assert_eq!(count_api(&reqs, "SecureTran2"), 1);
    assert_eq!(gmo_trade(&gmo).await["status"], "AUTH");
    assert_eq!(
        after["gateway"]["tran_id"],
        gmo_trade(&gmo).await["tran_id"],
        "{after}"
    );
}

#[tokio::test]
async fn frictionless_y_authorizes_and_records_the_outcome() {
    init();
    let _t = CLOCK.read().await;
    frictionless_pays(test_cards::APPROVED, "Y", "05").await;
}

#[tokio::test]
async fn attempted_a_authorizes() {
    init();
    let _t = CLOCK.read().await;
    frictionless_pays(test_cards::TDS2_ATTEMPTED, "A", "06").await;
}

#[tokio::test]
async fn challenge_with_the_right_code_authorizes() {
    init();
    let _t = CLOCK.read().await;
    let (p, url) = start_3ds(5_500, test_cards::TDS2_CHALLENGE).await;
    let id = id_of(&p);
    let (challenge, page) = device_step(&url).await;
    assert!(
        challenge.contains(r#"id="tds2-challenge-form""#),
        "{challenge}"
    );
    assert_eq!(
        text_of(&challenge, "tds2-amount").as_deref(),
        Some("¥5,500"),
        "the issuer shows the stored amount"
    );
    // TdTenantName (the stack's TDS_TENANT_NAME) reached the issuer's page as EUC-JP.
    assert_eq!(
        text_of(&challenge, "tds2-merchant").as_deref(),
        Some("kessaiデモ店")
    );
    // The shopper is at the issuer: the payment waits, nothing is authorised yet.
    assert_eq!(payment(&id).await["state"], "requires_action");
    let code = otp_of(&challenge);
    let html = answer_challenge(&page, &challenge, Some(&code)).await;
    let (f, status) = return_form(&html);
    assert_eq!(status, "Y");
    let back = post_return(&f).await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "authorized").as_str())
    );
    let after = payment(&id).await;
    assert_eq!(after["state"], "authorized", "{after}");
    assert_eq!(
        event(&after, "authorized")["detail"]["three_d_secure"]["trans_status"],
        "Y"
    );
    assert_eq!(gmo_trade(&gmo_order(&p)).await["status"], "AUTH");
}

/// After a failed authentication: 未決済 with the 3-D Secure error, nothing at GMO charged, and
/// a new token pays (same AccessID).
async fn declined_then_retry_pays(p: &Value, err_info: &str) {
    let id = id_of(p);
    let after = payment(&id).await;
    assert_eq!(after["state"], "requires_payment", "{after}");
    assert_eq!(
        after["last_error"],
        json!({ "code": "three_d_secure_failed", "err_info": err_info })
    );
    assert_eq!(
        event(&after, "three_d_secure_failed")["detail"]["err_info"],
        err_info
    );
    let (status, view) = checkout_config(p).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        view["last_error"]["code"], "three_d_secure_failed",
        "{view}"
    );
    let ja = view["last_error"]["message_ja"].as_str().unwrap_or("");
    assert!(ja.contains("本人認証(3Dセキュア)"), "{view}");
    let gmo = gmo_order(p);
    assert_eq!(gmo_trade(&gmo).await["status"], "UNPROCESSED");
    // Retry with another card: a new token on the same transaction.
    let url = card_post_3ds(p, test_cards::APPROVED).await;
    let (html, _) = device_step(&url).await;
    let (f, _) = return_form(&html);
    let back = post_return(&f).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "authorized").as_str()),
        "{}",
        back.body
    );
    assert_eq!(payment(&id).await["state"], "authorized");
    assert_eq!(gmo_trade(&gmo).await["status"], "AUTH");
    let reqs = gateway_requests(&gmo).await;
    assert_eq!(
        count_api(&reqs, "EntryTran"),
        1,
        "one transaction for both tries"
    );
    assert_eq!(count_api(&reqs, "ExecTran"), 2);
}

#[tokio::test]
async fn three_wrong_codes_decline_and_a_new_token_pays() {
    init();
    let _t = CLOCK.read().await;
    let (p, url) = start_3ds(3_000, test_cards::TDS2_CHALLENGE).await;
    let (mut page, at) = device_step(&url).await;
    let wrong = if otp_of(&page) == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..3 {
        page = answer_challenge(&at, &page, Some(wrong)).await;
    }
    let (f, status) = return_form(&page);
    assert_eq!(status, "N");
    let back = post_return(&f).await;
    assert_eq!(back.status, 303, "{}", back.body);
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id_of(&p), "declined").as_str())
    );
    declined_then_retry_pays(&p, "E21030007").await;
}

#[tokio::test]
async fn cancel_on_the_challenge_declines_and_a_new_token_pays() {
    init();
    let _t = CLOCK.read().await;
    let (p, url) = start_3ds(3_000, test_cards::TDS2_CHALLENGE).await;
    let (page, at) = device_step(&url).await;
    let html = answer_challenge(&at, &page, None).await;
    let (f, status) = return_form(&html);
    assert_eq!(status, "N");
    let back = post_return(&f).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id_of(&p), "declined").as_str()),
        "{}",
        back.body
    );
    declined_then_retry_pays(&p, "E21030007").await;
}

#[tokio::test]
async fn unavailable_u_and_rejected_r_decline() {
    init();
    let _t = CLOCK.read().await;
    for (card, trans_status, err_info) in [
        (test_cards::TDS2_UNAVAILABLE, "U", "E21030001"),
        (test_cards::TDS2_REJECTED, "R", "E21030007"),
        (test_cards::TDS2_FAILS, "N", "E21030007"),
    ] {
        let (p, url) = start_3ds(1_200, card).await;
        let (html, _) = device_step(&url).await;
        let (f, status) = return_form(&html);
        assert_eq!(status, trans_status, "{card}");
        let back = post_return(&f).await;
        assert_eq!(
            back.location.as_deref(),
            Some(card_back_in_shop(&id_of(&p), "declined").as_str()),
            "{card}: {}",
            back.body
        );
        let after = payment(&id_of(&p)).await;
        assert_eq!(after["state"], "requires_payment", "{card}: {after}");
        assert_eq!(after["last_error"]["err_info"], err_info, "{card}");
        assert_eq!(gmo_trade(&gmo_order(&p)).await["status"], "UNPROCESSED");
    }
    // One of them, retried, pays.
    let (p, url) = start_3ds(1_200, test_cards::TDS2_REJECTED).await;
    let (html, _) = device_step(&url).await;
    post_return(&return_form(&html).0).await;
    declined_then_retry_pays(&p, "E21030007").await;
}

#[tokio::test]
async fn a_card_outside_3ds_is_refused_with_a_clear_message() {
    init();
    let _t = CLOCK.read().await;
    let p = create_payment(1_800).await;
    let token = token_for(test_cards::TDS2_NOT_ENROLLED).await;
    let (status, body) = widget_post(
        &p,
        json!({ "token": token, "return_url": tds_return_url() }),
    )
    .await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(
        body["error"]["code"], "three_d_secure_not_enrolled",
        "{body}"
    );
    assert_eq!(body["error"]["gateway"]["err_info"], "E21030201", "{body}");
    let ja = body["error"]["message_ja"].as_str().unwrap_or("");
    assert!(
        ja.contains("本人認証(3Dセキュア)に対応していない") && ja.contains("別のカード"),
        "{body}"
    );
    assert_eq!(body["error"]["retryable"], true);
    let after = payment(&id_of(&p)).await;
    assert_eq!(after["state"], "requires_payment", "{after}");
    assert_eq!(after["last_error"]["err_info"], "E21030201");
    assert_eq!(gmo_trade(&gmo_order(&p)).await["status"], "UNPROCESSED");
    // Another card pays.
    let url = card_post_3ds(&p, test_cards::APPROVED).await;
    let (html, _) = device_step(&url).await;
    let back = post_return(&return_form(&html).0).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id_of(&p), "authorized").as_str())
    );
}

#[tokio::test]
async fn a_replayed_return_is_harmless() {
    init();
    let _t = CLOCK.read().await;
    let (p, f, first) = pay_frictionless(4_000, test_cards::APPROVED).await;
    let id = id_of(&p);
    let want = card_back_in_shop(&id, "authorized");
    assert_eq!(first.location.as_deref(), Some(want.as_str()));
    for _ in 0..2 {
        let again = post_return(&f).await;
        assert_eq!(
            (again.status, again.location.as_deref()),
            (303, Some(want.as_str())),
            "{}",
            again.body
        );
    }
    let gmo = gmo_order(&p);
    assert_eq!(sandbox_history(&gmo, "SecureTran2").await, vec!["OK"]);
    assert_eq!(count_api(&gateway_requests(&gmo).await, "SecureTran2"), 1);
    let after = payment(&id).await;
    assert_eq!(
        event_kinds(&after)
            .iter()
            .filter(|k| *k == "three_d_secure_returned")
            .count(),
        1
    );
    // A declined outcome replays as declined too.
    let (p, url) = start_3ds(4_000, test_cards::TDS2_FAILS).await;
    let (html, _) = device_step(&url).await;
    let (f, _) = return_form(&html);
    let want = card_back_in_shop(&id_of(&p), "declined");
    for _ in 0..2 {
        assert_eq!(
            post_return(&f).await.location.as_deref(),
            Some(want.as_str())
        );
    }
    let gmo = gmo_order(&p);
    assert_eq!(
        sandbox_history(&gmo, "SecureTran2").await,
        vec!["E21030007"]
    );
}

#[tokio::test]
async fn a_return_with_another_access_id_changes_nothing() {
    init();
    let _t = CLOCK.read().await;
    let (p, url) = start_3ds(2_000, test_cards::APPROVED).await;
    let id = id_of(&p);
    let (html, _) = device_step(&url).await;
    let (f, _) = return_form(&html);
    let forged = nav_post(
        &f.action,
        &[("AccessID", "0123456789abcdef0123456789abcdef")],
    )
    .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert_eq!(forged.location, None);
    assert!(
        forged.body.contains("本人認証の結果を確認できませんでした"),
        "{}",
        forged.body
    );
    let empty = nav_post(&f.action, &[]).await;
    assert_eq!(empty.status, 400, "{}", empty.body);
    // Another payment's return route with this AccessID is refused as well.
    let other = create_payment(2_000).await;
    let cross = nav_post(
        &format!("{}/v1/checkout/{}/3ds/return", stack().edge, id_of(&other)),
        &[("AccessID", &f.fields[0].1)],
    )
    .await;
    assert_eq!(cross.status, 400, "{}", cross.body);
    let gmo = gmo_order(&p);
    assert_eq!(payment(&id).await["state"], "requires_action");
    assert_eq!(count_api(&gateway_requests(&gmo).await, "SecureTran2"), 0);
    assert_eq!(payment(&id_of(&other)).await["state"], "requires_payment");
    // The genuine return still works.
    let back = post_return(&f).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "authorized").as_str())
    );
}

#[tokio::test]
async fn a_second_card_post_during_authentication_is_refused() {
    init();
    let _t = CLOCK.read().await;
    let (p, url) = start_3ds(2_200, test_cards::TDS2_CHALLENGE).await;
    for _ in 0..2 {
        let token = token_for(test_cards::APPROVED).await;
        let (status, body) = widget_post(
            &p,
            json!({ "token": token, "return_url": tds_return_url() }),
        )
        .await;
        assert_eq!(status, 409, "{body}");
        assert_eq!(
            body["error"]["code"], "three_d_secure_in_progress",
            "{body}"
        );
        assert!(
            body["error"]["message_ja"]
                .as_str()
                .is_some_and(|m| m.contains("本人認証(3Dセキュア)の途中")),
            "{body}"
        );
    }
    let gmo = gmo_order(&p);
    assert_eq!(count_api(&gateway_requests(&gmo).await, "ExecTran"), 1);
    // The authentication that is open finishes normally.
    let (page, at) = device_step(&url).await;
    let html = answer_challenge(&at, &page, Some(&otp_of(&page))).await;
    let back = post_return(&return_form(&html).0).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id_of(&p), "authorized").as_str())
    );
}

#[tokio::test]
async fn a_double_click_makes_one_exec_tran() {
    init();
    let _t = CLOCK.read().await;
    for _ in 0..3 {
        let p = create_payment(3_100).await;
        let (t1, t2) = (
            token_for(test_cards::APPROVED).await,
            token_for(test_cards::APPROVED).await,
        );
        let body = |t: &str| json!({ "token": t, "return_url": tds_return_url() });
        let (a, b) = tokio::join!(widget_post(&p, body(&t1)), widget_post(&p, body(&t2)));
        let answers = [a, b];
        let redirects: Vec<&Value> = answers
            .iter()
            .filter(|(s, b)| *s == 200 && b["state"] == "requires_action")
            .map(|(_, b)| b)
            .collect();
        assert_eq!(redirects.len(), 1, "exactly one redirect: {answers:?}");
        for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(*status, 409, "{body}");
            assert!(
                ["payment_in_progress", "three_d_secure_in_progress"]
                    .contains(&body["error"]["code"].as_str().unwrap_or("")),
                "{body}"
            );
        }
        let gmo = gmo_order(&p);
        let reqs = gateway_requests(&gmo).await;
        assert_eq!(count_api(&reqs, "ExecTran"), 1, "{reqs:?}");
        assert_eq!(count_api(&reqs, "EntryTran"), 1, "{reqs:?}");
        let url = redirects[0]["next_action"]["url"].as_str().expect("url");
        let (html, _) = device_step(url).await;
        let back = post_return(&return_form(&html).0).await;
        assert_eq!(
            back.location.as_deref(),
            Some(card_back_in_shop(&id_of(&p), "authorized").as_str())
        );
        assert_eq!(count_api(&gateway_requests(&gmo).await, "ExecTran"), 1);
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn an_abandoned_challenge_is_settled_by_the_sweep_uncharged() {
    init();
    let _t = CLOCK.write().await;
    let t0 = now_ms();
    set_clock(t0).await;
    let (p, url) = start_3ds(6_600, test_cards::TDS2_CHALLENGE).await;
    let id = id_of(&p);
    let (page, at) = device_step(&url).await;
    // Within the 10 minutes the sweep leaves the authentication alone.
    set_clock(t0 + 9 * 60_000).await;
    run_cron().await;
    assert_eq!(payment(&id).await["state"], "requires_action");
    // The shopper closed the tab: past 10 minutes the sweep asks GMO and releases it.
    set_clock(t0 + 11 * 60_000).await;
    run_cron().await;
    let after = payment(&id).await;
    assert_eq!(after["state"], "requires_payment", "{after}");
    assert!(
        event_kinds(&after).contains(&"reconciled".to_string()),
        "{after}"
    );
    assert_eq!(
        event(&after, "reconciled")["detail"]["gmo_status"],
        "UNPROCESSED"
    );
    let gmo = gmo_order(&p);
    assert_eq!(gmo_trade(&gmo).await["status"], "UNPROCESSED");
    // The issuer's page has expired; a late return changes nothing and calls nothing.
    let late = submit(
        &at,
        &form(&page, "tds2-challenge-form"),
        &[("otp", &otp_of(&page))],
    )
    .await;
    assert_eq!(late.status, 410, "{}", late.body);
    let access_id = gmo_trade(&gmo).await["access_id"]
        .as_str()
        .expect("access id")
        .to_string();
    let back = nav_post(
        &format!("{}/v1/checkout/{id}/3ds/return", stack().edge),
        &[("AccessID", &access_id)],
    )
    .await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "declined").as_str()),
        "{}",
        back.body
    );
    assert_eq!(count_api(&gateway_requests(&gmo).await, "SecureTran2"), 0);
    // The shopper can pay again.
    let url = card_post_3ds(&p, test_cards::APPROVED).await;
    let (html, _) = device_step(&url).await;
    let back = post_return(&return_form(&html).0).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "authorized").as_str())
    );
    real_clock().await;
}

#[tokio::test]
async fn concurrent_returns_make_one_secure_tran2() {
    init();
    let _t = CLOCK.read().await;
    let (p, url) = start_3ds(2_700, test_cards::APPROVED).await;
    let id = id_of(&p);
    let (html, _) = device_step(&url).await;
    let (f, _) = return_form(&html);
    let (a, b) = tokio::join!(post_return(&f), post_return(&f));
    let mut outcomes = Vec::new();
    for hop in [&a, &b] {
        assert_eq!(hop.status, 303, "{}", hop.body);
        let at = hop.location.clone().unwrap_or_default();
        outcomes.push(query_param(&at, "kessai_card").unwrap_or_default());
    }
    assert!(
        outcomes.iter().all(|o| o == "authorized" || o == "pending")
            && outcomes.iter().any(|o| o == "authorized"),
        "{outcomes:?}"
    );
    let gmo = gmo_order(&p);
    assert_eq!(sandbox_history(&gmo, "SecureTran2").await, vec!["OK"]);
    assert_eq!(payment(&id).await["state"], "authorized");
}

#[tokio::test]
async fn a_stale_return_from_a_declined_try_leaves_the_next_authentication_open() {
    init();
    let _t = CLOCK.read().await;
    let (p, url) = start_3ds(3_300, test_cards::TDS2_FAILS).await;
    let id = id_of(&p);
    let (html, _) = device_step(&url).await;
    let (stale, _) = return_form(&html);
    let back = post_return(&stale).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "declined").as_str())
    );
    // The shopper tries another card and is at its challenge when the browser resubmits the
    // first try's return (history navigation): same transaction, same AccessID.
    let url = card_post_3ds(&p, test_cards::TDS2_CHALLENGE).await;
    let (page, at) = device_step(&url).await;
    let replay = post_return(&stale).await;
    assert_eq!(replay.status, 303, "{}", replay.body);
    assert_ne!(
        replay.location.as_deref(),
        Some(card_back_in_shop(&id, "authorized").as_str())
    );
    assert_eq!(payment(&id).await["state"], "requires_action");
    // The open authentication still finishes and pays.
    let html = answer_challenge(&at, &page, Some(&otp_of(&page))).await;
    let back = post_return(&return_form(&html).0).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "authorized").as_str()),
        "{}",
        back.body
    );
    assert_eq!(payment(&id).await["state"], "authorized");
    assert_eq!(gmo_trade(&gmo_order(&p)).await["status"], "AUTH");
}

/// SecureTran2's answer is lost (later than the edge's GMO timeout); `execute_late`: GMO runs it
/// only after the edge gave up.
async fn lost_secure_tran2_answer(execute_late: bool) {
    let (p, url) = start_3ds(2_900, test_cards::APPROVED).await;
    let id = id_of(&p);
    let gmo = gmo_order(&p);
    let (html, _) = device_step(&url).await;
    let (f, _) = return_form(&html);
    sandbox_fault_spec(json!({
        "api": "SecureTran2", "order_id": gmo, "times": 1,
        "delay_ms": TEST_GMO_TIMEOUT_MS + 1_500, "execute_late": execute_late,
    }))
    .await;
    let back = post_return(&f).await;
    assert_eq!(back.status, 303, "{}", back.body);
    let outcome = query_param(back.location.as_deref().unwrap_or(""), "kessai_card");
    let state = payment(&id).await["state"].clone();
    if execute_late {
        // GMO had not authorised when the edge asked: never "declined", never released.
        assert_eq!(outcome.as_deref(), Some("pending"), "{back:?}");
        assert_eq!(state, "unknown");
        tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
        assert_eq!(gmo_trade(&gmo).await["status"], "AUTH");
        // The widget's polling settles it with SearchTrade.
        let (status, view) = checkout_config(&p).await;
        assert_eq!(
            (status, view["state"].clone()),
            (200, json!("authorized")),
            "{view}"
        );
    } else {
        assert_eq!(outcome.as_deref(), Some("authorized"), "{back:?}");
        assert_eq!(state, "authorized");
    }
    assert_eq!(sandbox_history(&gmo, "SecureTran2").await, vec!["OK"]);
}

#[tokio::test]
async fn a_lost_secure_tran2_answer_is_settled_by_search_trade() {
    init();
    let _t = CLOCK.read().await;
    lost_secure_tran2_answer(false).await;
    lost_secure_tran2_answer(true).await;
}

#[tokio::test]
async fn a_card_post_after_an_abandoned_authentication_starts_again_without_the_sweep() {
    init();
    let _t = CLOCK.write().await;
    let t0 = now_ms();
    set_clock(t0).await;
    let (p, url) = start_3ds(1_500, test_cards::TDS2_CHALLENGE).await;
    device_step(&url).await;
    // Still open: refused.
    let token = token_for(test_cards::APPROVED).await;
    let body = json!({ "token": token, "return_url": tds_return_url() });
    let (status, answer) = widget_post(&p, body.clone()).await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (409, json!("three_d_secure_in_progress")),
        "{answer}"
    );
    // 11 minutes later, before any sweep: the card POST settles the old one (SearchTrade) and
    // starts a new authentication.
    set_clock(t0 + 11 * 60_000).await;
    let url = card_post_3ds(&p, test_cards::APPROVED).await;
    let after = payment(&id_of(&p)).await;
    assert!(
        event_kinds(&after).contains(&"reconciled".to_string()),
        "{after}"
    );
    let (html, _) = device_step(&url).await;
    let back = post_return(&return_form(&html).0).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id_of(&p), "authorized").as_str()),
        "{}",
        back.body
    );
    let reqs = gateway_requests(&gmo_order(&p)).await;
    assert_eq!(count_api(&reqs, "ExecTran"), 2);
    assert_eq!(count_api(&reqs, "SecureTran2"), 1);
    real_clock().await;
}

#[tokio::test]
async fn without_a_return_url_the_shopper_ends_on_the_edges_page() {
    init();
    let _t = CLOCK.read().await;
    let p = create_payment(1_100).await;
    let token = token_for(test_cards::APPROVED).await;
    let (status, answer) = widget_post(&p, json!({ "token": token })).await;
    assert_eq!(
        (status, answer["state"].clone()),
        (200, json!("requires_action")),
        "{answer}"
    );
    let url = answer["next_action"]["url"]
        .as_str()
        .expect("url")
        .to_string();
    let (html, _) = device_step(&url).await;
    let back = post_return(&return_form(&html).0).await;
    assert_eq!(
        (back.status, back.location.clone()),
        (200, None),
        "{}",
        back.body
    );
    assert!(
        back.body.contains("お支払いが完了しました"),
        "{}",
        back.body
    );
    assert_eq!(payment(&id_of(&p)).await["state"], "authorized");
    // A return_url off the storefront origins is refused before anything reaches GMO.
    let p = create_payment(1_100).await;
    let token = token_for(test_cards::APPROVED).await;
    let (status, answer) = widget_post(
        &p,
        json!({ "token": token, "return_url": "https://evil.example/back" }),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["param"].clone()),
        (400, json!("return_url")),
        "{answer}"
    );
    assert!(gateway_requests(&gmo_order(&p)).await.is_empty());
    // A return to a payment that does not exist.
    let none = nav_post(
        &format!(
            "{}/v1/checkout/pay_000000000000000000000000/3ds/return",
            stack().edge
        ),
        &[("AccessID", "0123456789abcdef0123456789abcdef")],
    )
    .await;
    assert!(matches!(none.status, 400 | 404), "{}", none.body);
    assert_eq!(none.location, None);
}

#[tokio::test]
async fn risk_data_reaches_exec_tran_and_automatic_capture_ends_captured() {
    init();
    let _t = CLOCK.read().await;
    let (status, p) = merchant(
        reqwest::Method::POST,
        "/v1/payments",
        Some(json!({
            "order_id": order_id("TDSR"), "amount": 4_400, "capture": "automatic",
            "risk": {
                "email": "taro@example.jp",
                "billing_address": {"postal_code": "100-0001", "prefecture": "東京都",
                    "city": "千代田区", "line1": "千代田1-1"},
                "account_created_on": "2024-04-01"
            }
        })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let id = id_of(&p);
    let url = card_post_3ds(&p, test_cards::APPROVED).await;
    let gmo = gmo_order(&p);
    let reqs = gateway_requests(&gmo).await;
    let exec = reqs.iter().find(|r| r["api"] == "ExecTran").expect("exec");
    for (field, want) in [
        ("Tds2Email", "taro@example.jp"),
        ("Tds2BillAddrPostCode", "1000001"),
        ("Tds2BillAddrState", "13"),
        ("Tds2BillAddrCountry", "392"),
        ("Tds2ChAccDate", "20240401"),
    ] {
        assert_eq!(exec["params"][field], want, "{field}: {exec}");
    }
    assert_eq!(
        exec["params"]["RetUrl"],
        format!("{}/v1/checkout/{id}/3ds/return", stack().edge)
    );
    let entry = reqs
        .iter()
        .find(|r| r["api"] == "EntryTran")
        .expect("entry");
    assert_eq!(entry["params"]["JobCd"], "CAPTURE");
    let (html, _) = device_step(&url).await;
    let back = post_return(&return_form(&html).0).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "authorized").as_str()),
        "{}",
        back.body
    );
    let after = payment(&id).await;
    assert_eq!(after["state"], "captured", "{after}");
    assert_eq!(
        event(&after, "captured")["detail"]["three_d_secure"]["trans_status"],
        "Y"
    );
    assert_eq!(gmo_trade(&gmo).await["status"], "CAPTURE");
}

#[tokio::test]
async fn a_lost_acs2_answer_is_unknown_then_a_retry_authenticates_again() {
    init();
    let _t = CLOCK.write().await;
    let t0 = now_ms();
    set_clock(t0).await;
    let p = create_payment(3_900).await;
    let id = id_of(&p);
    let gmo = gmo_order(&p);
    sandbox_fault_spec(json!({
        "api": "ExecTran", "order_id": gmo, "times": 1, "delay_ms": TEST_GMO_TIMEOUT_MS + 1_500,
    }))
    .await;
    let token = token_for(test_cards::APPROVED).await;
    let (status, body) = widget_post(
        &p,
        json!({ "token": token, "return_url": tds_return_url() }),
    )
    .await;
    // The redirect was lost with the answer: never "declined", never a second ExecTran now.
    assert_eq!(
        (status, body["state"].clone()),
        (202, json!("unknown")),
        "{body}"
    );
    assert_eq!(body["error"]["code"], "outcome_unknown");
    let token = token_for(test_cards::APPROVED).await;
    let again = json!({ "token": token, "return_url": tds_return_url() });
    let (status, body) = widget_post(&p, again).await;
    assert_eq!(
        status, 202,
        "within the in-flight window it stays unknown: {body}"
    );
    assert_eq!(count_api(&gateway_requests(&gmo).await, "ExecTran"), 1);
    // Past the in-flight window GMO's UNPROCESSED is final: the shopper authenticates anew.
    set_clock(t0 + 2 * 60_000).await;
    let url = card_post_3ds(&p, test_cards::APPROVED).await;
    let (html, _) = device_step(&url).await;
    let back = post_return(&return_form(&html).0).await;
    assert_eq!(
        back.location.as_deref(),
        Some(card_back_in_shop(&id, "authorized").as_str()),
        "{}",
        back.body
    );
    let reqs = gateway_requests(&gmo).await;
    assert_eq!(count_api(&reqs, "ExecTran"), 2);
    assert_eq!(sandbox_history(&gmo, "SecureTran2").await, vec!["OK"]);
    assert_eq!(gmo_trade(&gmo).await["status"], "AUTH");
    real_clock().await;
}

/// A card POST from `ip` (as Cloudflare names the shopper's address): status and body.
async fn card_post_from(p: &Value, ip: &str, card: &str) -> (u16, Value) {
    let urls = stack();
    let token = token_for(card).await;
    let resp = client()
        .post(format!("{}/v1/checkout/{}/card", urls.edge, id_of(p)))
        .header("origin", &urls.storefront)
        .header("x-client-secret", p["client_secret"].as_str().unwrap_or(""))
        .header("cf-connecting-ip", ip)
        .json(&json!({ "token": token, "return_url": tds_return_url() }))
        .send()
        .await
        .expect("edge reachable");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn failed_authentications_count_against_the_ip_like_declines() {
    init();
    let _t = CLOCK.read().await;
    let ip = "203.0.113.77";
    // CARD_FAILURES_PER_IP (10) failed authentications, each on its own payment: every card
    // POST goes to the issuer (an open outcome then), and its return settles it as declined.
    for i in 0..10 {
        let p = create_payment(1_000 + i).await;
        let (status, body) = card_post_from(&p, ip, test_cards::TDS2_FAILS).await;
        assert_eq!(status, 200, "try {i}: {body}");
        assert_eq!(body["state"], "requires_action", "try {i}: {body}");
        let url = body["next_action"]["url"].as_str().unwrap_or("");
        let (html, _) = device_step(url).await;
        let (f, status) = return_form(&html);
        assert_eq!(status, "N", "try {i}");
        let back = post_return(&f).await;
        assert_eq!(
            back.location.as_deref(),
            Some(card_back_in_shop(&id_of(&p), "declined").as_str()),
            "try {i}: {}",
            back.body
        );
    }
    let next = create_payment(1_100).await;
    let (status, body) = card_post_from(&next, ip, test_cards::APPROVED).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "too_many_card_failures", "{body}");
    assert_eq!(
        count_api(&gateway_requests(&gmo_order(&next)).await, "ExecTran"),
        0,
        "refused before GMO"
    );
    // Another network is not affected.
    let (status, body) = card_post_from(&next, "203.0.113.78", test_cards::APPROVED).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "requires_action", "{body}");
}

#[tokio::test]
async fn the_checkout_view_after_an_abandoned_authentication_offers_the_form_again() {
    init();
    let _t = CLOCK.write().await;
    let t0 = now_ms();
    set_clock(t0).await;
    let (p, url) = start_3ds(1_700, test_cards::TDS2_CHALLENGE).await;
    device_step(&url).await;
    // The shopper pressed back: within the window the checkout still shows the authentication.
    let (status, view) = checkout_config(&p).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["state"], "requires_action", "{view}");
    assert_eq!(
        count_api(&gateway_requests(&gmo_order(&p)).await, "SearchTrade"),
        0,
        "nothing asked of GMO within the window"
    );
    // Past the window, before any sweep: opening checkout settles it with GMO (uncharged).
    set_clock(t0 + 11 * 60_000).await;
    let (status, view) = checkout_config(&p).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["state"], "requires_payment", "{view}");
    let after = payment(&id_of(&p)).await;
    assert_eq!(
        event(&after, "reconciled")["detail"]["gmo_status"],
        "UNPROCESSED",
        "{after}"
    );
    assert_eq!(gmo_trade(&gmo_order(&p)).await["status"], "UNPROCESSED");
    real_clock().await;
}
