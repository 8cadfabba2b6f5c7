//! 定期購入 on Amazon Pay (issue #15) through the edge in workerd against the Amazon sandbox: a
//! sign-up at checkout (`POST /v1/payments` with `subscription`) asks Amazon for a Recurring
//! charge permission; its first cycle is the checkout's charge; the Cron Trigger charges every
//! later cycle with one Create Charge on the permission (even when two runs overlap); kessai
//! refuses a charge over ¥100,000 in a JST month before calling Amazon; HardDeclined makes the
//! subscription 未決済 at once until the buyer fixes the wallet on Amazon; 解約 closes the
//! permission. Every test moves the clocks, so they take [`CLOCK`] one at a time.

use kessai_sandbox::amazon::buyers::TARO;
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

static CLOCK: Mutex<()> = Mutex::const_new(());

async fn subscription(id: &str) -> Value {
    subscription_of(id).await
}

/// 解約 at the end of a test: later tests move the clock, and their cron runs would charge it.
async fn cancel(id: &str) {
    let (status, body) = merchant(
        Method::POST,
        &format!("/v1/subscriptions/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

fn charges(sub: &Value) -> Vec<Value> {
    sub["charges"].as_array().cloned().unwrap_or_default()
}

/// A sign-up paid with Amazon Pay (buyer TARO): the payment, the subscription and its charge
/// permission.
async fn amazon_sign_up(amount: i64, cycle: &str) -> (Value, Value, String) {
    let customer = order_id("amzsub");
    let (status, p) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({
            "order_id": order_id("amzsub-order"),
            "amount": amount,
            "customer": customer,
            "subscription": { "cycle": cycle },
        })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["subscription_plan"]["cycle"], cycle, "{p}");
    // The button asks Amazon for a Recurring permission with the cycle's frequency.
    let (status, button) = amazon_button(&p, json!({ "return_url": amazon_return_url() })).await;
    assert_eq!(status, 200, "{button}");
    let payload: Value =
        serde_json::from_str(button["payload_json"].as_str().expect("payload")).expect("json");
    assert_eq!(payload["chargePermissionType"], "Recurring", "{payload}");
    assert_eq!(
        payload["recurringMetadata"]["amount"]["amount"],
        amount.to_string()
    );
    pay_with_amazon(&p, TARO.key, 0).await;
    let paid = payment(&id_of(&p)).await;
    assert_eq!(paid["state"], "authorized", "{paid}");
    let sub_id = paid["subscription_id"]
        .as_str()
        .unwrap_or_else(|| panic!("sign-up set up: {paid}"))
        .to_string();
    let sub = subscription(&sub_id).await;
    let cp = sub["source"]["charge_permission_id"]
        .as_str()
        .expect("charge permission")
        .to_string();
    assert_eq!(
        paid["amazon_pay"]["charge_permission_id"],
        cp.as_str(),
        "{paid}"
    );
    (paid, sub, cp)
}

async fn amazon_charges_on(cp: &str) -> Vec<Value> {
    amazon_control_list("charges", &[("charge_permission_id", cp)]).await
}

#[tokio::test]
async fn amazon_sign_up_then_each_cycle_is_one_create_charge_even_with_overlapping_runs() {
    stack();
    let _t = CLOCK.lock().await;
    set_clock(jst_noon(2027, 3, 5)).await;
    let (paid, sub, cp) = amazon_sign_up(3_980, "monthly:5").await;
    assert_eq!(sub["status"], "active");
    assert_eq!(sub["source"]["type"], "amazon_pay");
    assert_eq!(sub["amount"], 3_980);
    // The checkout paid March: the next charge is April's.
    assert_eq!(sub["next_charge_on"], "2027-04-05", "{sub}");
    assert_eq!(charges(&sub).len(), 1, "{sub}");
    assert_eq!(charges(&sub)[0]["payment_id"], paid["id"]);
    let permission = amazon_object("charge-permissions", "chargePermissionId", &cp).await;
    assert_eq!(
        permission["chargePermissionType"], "Recurring",
        "{permission}"
    );
    assert_eq!(
        permission["recurringMetadata"]["frequency"],
        json!({ "unit": "Month", "value": "1" })
    );

    // Nothing due yet.
    run_cron().await;
    assert_eq!(amazon_charges_on(&cp).await.len(), 1);

    // 取消 of the sign-up's order (March, still 仮売上) cancels that charge only: the Recurring
    // permission keeps paying the subscription (April below).
    let (status, voided) = operate(&id_of(&paid), "cancel", None).await;
    assert_eq!(status, 200, "{voided}");
    assert_eq!(voided["state"], "voided", "{voided}");
    let permission = amazon_object("charge-permissions", "chargePermissionId", &cp).await;
    assert_eq!(
        permission["statusDetails"]["state"], "Chargeable",
        "{permission}"
    );
    assert!(
        amazon_requests(Some("CloseChargePermission"), Some(&cp))
            .await
            .is_empty()
    );

    set_clock(jst_noon(2027, 4, 5)).await;
    tokio::join!(run_cron(), run_cron());
    let sub_id = sub["id"].as_str().expect("id").to_string();
    let after = subscription(&sub_id).await;
    assert_eq!(charges(&after).len(), 2, "{after}");
    assert_eq!(after["next_charge_on"], "2027-05-05", "{after}");
    let at_amazon = amazon_charges_on(&cp).await;
    assert_eq!(
        at_amazon.len(),
        2,
        "one Create Charge for April: {at_amazon:?}"
    );
    let creates = amazon_requests(Some("CreateCharge"), None).await;
    let ours: Vec<_> = creates
        .iter()
        .filter(|r| r.to_string().contains(&cp))
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    let april = charges(&after)
        .into_iter()
        .find(|c| c["payment_id"] != paid["id"])
        .expect("April's charge");
    assert_eq!(april["state"], "authorized", "{april}");
    let april = payment(april["payment_id"].as_str().expect("id")).await;
    assert_eq!(april["method"], "amazon_pay");
    assert_eq!(april["amount"], 3_980);
    assert_eq!(april["amazon_pay"]["charge_permission_id"], cp.as_str());
    // A cycle's charge is a payment like any other: captured from kessai.
    let (status, captured) = operate(&id_of(&april), "capture", None).await;
    assert_eq!(status, 200, "{captured}");
    assert_eq!(captured["state"], "captured", "{captured}");
    // Other tests' cron runs must not charge this one (their clocks move on).
    cancel(&sub_id).await;
    real_clock().await;
}

#[tokio::test]
async fn a_charge_over_the_monthly_cap_is_refused_before_amazon_is_called() {
    stack();
    let _t = CLOCK.lock().await;
    set_clock(jst_noon(2027, 6, 10)).await;
    // ¥60,000 every 10 days: June 10 (checkout) + June 20 would be ¥120,000 in June.
    let (_paid, sub, cp) = amazon_sign_up(60_000, "days:10").await;
    let id = sub["id"].as_str().expect("id").to_string();
    assert_eq!(sub["next_charge_on"], "2027-06-20");
    let creates_before = amazon_requests(Some("CreateCharge"), None).await.len();

    set_clock(jst_noon(2027, 6, 20)).await;
    run_cron().await;
    let after = subscription(&id).await;
    assert_eq!(
        amazon_requests(Some("CreateCharge"), None).await.len(),
        creates_before,
        "Amazon was not called"
    );
    assert_eq!(amazon_charges_on(&cp).await.len(), 1);
    let refused = charges(&after)
        .into_iter()
        .find(|c| c["scheduled_on"] == "2027-06-20" || c["last_error"].is_string())
        .unwrap_or_else(|| panic!("the refused attempt: {after}"));
    assert_eq!(refused["last_error"], "monthly_cap_exceeded", "{refused}");
    let p = payment(refused["payment_id"].as_str().expect("id")).await;
    assert_eq!(p["state"], "requires_payment", "{p}");
    assert_eq!(p["method"], "amazon_pay");
    // Retried on the schedule: +1 day is still June (refused again, without a call), and July
    // has room again.
    assert_eq!(after["status"], "active", "{after}");
    assert_eq!(after["dunning"]["next_attempt_on"], "2027-06-21", "{after}");
    set_clock(jst_noon(2027, 6, 21)).await;
    run_cron().await;
    assert_eq!(
        amazon_requests(Some("CreateCharge"), None).await.len(),
        creates_before
    );
    // The next retry (due June 23) runs on July 1: July has room again, so it is charged.
    set_clock(jst_noon(2027, 7, 1)).await;
    run_cron().await;
    let july = subscription(&id).await;
    assert_eq!(july["status"], "active", "{july}");
    assert!(july["dunning"].is_null(), "recovered: {july}");
    // The cycle dates stay on June 20 + 10 n; June 30 passed meanwhile and is skipped.
    assert_eq!(july["next_charge_on"], "2027-07-10", "{july}");
    let at_amazon = amazon_charges_on(&cp).await;
    assert_eq!(
        at_amazon.len(),
        2,
        "June's ¥60,000 and July's: {at_amazon:?}"
    );
    cancel(&id).await;
    real_clock().await;
}

#[tokio::test]
async fn hard_declined_is_unpaid_at_once_until_the_wallet_is_fixed_and_cancel_closes_the_permission()
 {
    stack();
    let _t = CLOCK.lock().await;
    set_clock(jst_noon(2027, 8, 1)).await;
    let (_paid, sub, cp) = amazon_sign_up(2_500, "weekly:sun").await;
    let id = sub["id"].as_str().expect("id").to_string();
    // Aug 1 2027 is a Sunday: the checkout paid it, the next is Aug 8.
    assert_eq!(sub["next_charge_on"], "2027-08-08", "{sub}");
    let (status, body) = amazon_sandbox_post(
        &format!("/__sandbox/amazon/charge-permissions/{cp}/wallet"),
        json!({ "declines": "HardDeclined" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    set_clock(jst_noon(2027, 8, 8)).await;
    run_cron().await;
    let unpaid = subscription(&id).await;
    assert_eq!(
        unpaid["status"], "unpaid",
        "no retries after HardDeclined: {unpaid}"
    );
    let failed = charges(&unpaid)
        .into_iter()
        .find(|c| c["last_error"].is_string())
        .expect("the declined attempt");
    let p = payment(failed["payment_id"].as_str().expect("id")).await;
    assert_eq!(p["last_error"]["code"], "amazon_declined", "{p}");
    assert_eq!(p["last_error"]["err_info"], "HardDeclined", "{p}");

    // 再オーソリ before the buyer fixed the wallet: still 未決済 (the permission is not chargeable).
    let (status, again) =
        merchant(Method::POST, &format!("/v1/subscriptions/{id}/retry"), None).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "unpaid", "{again}");

    // The buyer updates the payment method on Amazon: the permission's IPN (Chargeable again)
    // makes the subscription 有効 with the owed cycle due, and the next cron run charges it.
    // (IPN delivery is on only here: other tests count their own events.)
    let ipn_url = format!("{}/api/amazonpay2/ipn.php", stack().edge);
    let (status, _) =
        amazon_sandbox_post("/__sandbox/amazon/ipn/url", json!({ "url": ipn_url })).await;
    assert_eq!(status, 200);
    let (status, _) = amazon_sandbox_post(
        &format!("/__sandbox/amazon/charge-permissions/{cp}/wallet"),
        json!({ "declines": null }),
    )
    .await;
    assert_eq!(status, 200);
    let mut back = subscription(&id).await;
    for _ in 0..60 {
        if back["status"] == "active" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        back = subscription(&id).await;
    }
    let (status, _) =
        amazon_sandbox_post("/__sandbox/amazon/ipn/url", json!({ "url": null })).await;
    assert_eq!(status, 200);
    assert_eq!(back["status"], "active", "recovered by the IPN: {back}");
    assert!(
        back["events"].as_array().is_some_and(|e| e
            .iter()
            .any(|e| e["kind"] == "amazon_payment_method_updated")),
        "{back}"
    );
    run_cron().await;
    let recovered = subscription(&id).await;
    assert_eq!(recovered["status"], "active", "{recovered}");
    assert_eq!(recovered["next_charge_on"], "2027-08-15", "{recovered}");
    let authorized = amazon_charges_on(&cp)
        .await
        .iter()
        .filter(|c| c["statusDetails"]["state"] == "Authorized")
        .count();
    assert_eq!(authorized, 2, "sign-up + the recovered cycle");

    // 解約 closes the charge permission at Amazon, once.
    let (status, cancelled) = merchant(
        Method::POST,
        &format!("/v1/subscriptions/{id}/cancel"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert!(cancelled["source"]["closed_at"].is_i64(), "{cancelled}");
    let permission = amazon_object("charge-permissions", "chargePermissionId", &cp).await;
    assert_eq!(
        permission["statusDetails"]["state"], "Closed",
        "{permission}"
    );
    run_cron().await;
    let closes = amazon_requests(Some("CloseChargePermission"), Some(&cp)).await;
    assert_eq!(closes.len(), 1, "{closes:?}");
    real_clock().await;
}

#[tokio::test]
async fn sign_up_requests_are_checked() {
    stack();
    let bad = |body: Value| async move { merchant(Method::POST, "/v1/payments", Some(body)).await };
    let (status, body) = bad(json!({
        "order_id": order_id("bad-sub"), "amount": 1000, "subscription": { "cycle": "monthly:5" }
    }))
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "customer", "{body}");
    let (status, body) = bad(json!({
        "order_id": order_id("bad-sub"), "amount": 1000, "customer": "c1",
        "subscription": { "cycle": "yearly" }
    }))
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["param"], "subscription", "{body}");
    assert!(body["error"]["message_ja"].is_string(), "{body}");
    let (status, body) = bad(json!({
        "order_id": order_id("bad-sub"), "amount": 1000, "customer": "c1",
        "subscription": { "cycle": "days:7", "first_charge_on": "2030-01-01" }
    }))
    .await;
    assert_eq!(status, 400, "first date only for a registration: {body}");
    let (status, body) = bad(json!({
        "order_id": order_id("bad-sub"), "capture": "verify", "customer": "c1",
        "subscription": { "cycle": "days:7" }
    }))
    .await;
    assert_eq!(
        status, 400,
        "a registration needs the cycle's amount: {body}"
    );
    // Over Amazon's monthly cap: the Amazon button is refused with a clear message.
    let (status, p) = bad(json!({
        "order_id": order_id("big-sub"), "amount": 150_000, "customer": "c1",
        "subscription": { "cycle": "monthly:1" }
    }))
    .await;
    assert_eq!(status, 201, "{p}");
    let (status, body) = amazon_button(&p, json!({ "return_url": amazon_return_url() })).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "amount_above_monthly_cap");
}

#[tokio::test]
async fn a_lost_create_charge_answer_is_settled_by_the_same_key_never_a_second_charge() {
    stack();
    let _t = CLOCK.lock().await;
    set_clock(jst_noon(2027, 9, 3)).await;
    let (_paid, sub, cp) = amazon_sign_up(1_800, "monthly:3").await;
    let id = sub["id"].as_str().expect("id").to_string();
    set_clock(jst_noon(2027, 10, 3)).await;
    // Amazon creates the charge but its answer never reaches the edge.
    amazon_fault(json!({ "api": "CreateCharge", "drop_answer": true })).await;
    run_cron().await;
    let open = subscription(&id).await;
    let october = charges(&open)
        .into_iter()
        .find(|c| c["payment_id"] != open["charges"][charges(&open).len() - 1]["payment_id"])
        .expect("October's attempt");
    let p = payment(october["payment_id"].as_str().expect("id")).await;
    assert!(
        ["unknown", "processing"].contains(&p["state"].as_str().unwrap_or("")),
        "the outcome is open, not guessed: {p}"
    );
    assert_eq!(
        open["next_charge_on"], "2027-10-03",
        "not moved on yet: {open}"
    );
    assert_eq!(
        amazon_charges_on(&cp).await.len(),
        2,
        "Amazon holds October's charge"
    );

    // The next runs settle it with the same Create Charge, which Amazon replays.
    run_cron().await;
    run_cron().await;
    let settled = payment(&id_of(&p)).await;
    assert_eq!(settled["state"], "authorized", "{settled}");
    let after = subscription(&id).await;
    assert_eq!(after["next_charge_on"], "2027-11-03", "{after}");
    assert_eq!(amazon_charges_on(&cp).await.len(), 2, "no second charge");
    // The log names a Create Charge by the charge it made (`<permission>-C…`); the repeat is
    // answered from Amazon's idempotency store.
    let calls = amazon_requests(Some("CreateCharge"), None).await;
    let dropped = calls
        .iter()
        .find(|r| {
            r["dropped"] == true && r["object_id"].as_str().is_some_and(|o| o.starts_with(&cp))
        })
        .unwrap_or_else(|| panic!("the dropped call: {calls:?}"));
    let repeats: Vec<_> = calls
        .iter()
        .filter(|r| r["seq"].as_u64() > dropped["seq"].as_u64())
        .collect();
    assert!(
        !repeats.is_empty() && repeats.iter().all(|r| r["replayed"] == true),
        "only replays after the lost answer: {repeats:?}"
    );
    cancel(&id).await;
    real_clock().await;
}
