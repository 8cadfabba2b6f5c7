//! Amazon Pay IPNs on the edge (workerd + D1 via `wrangler dev`) from the Amazon sandbox
//! (issue #5): the SNS envelope is verified (signature, certificate, URL rule, topic, merchant),
//! a notification is only a hint (the charge is read again), and a change is adopted once,
//! forward only, whatever the order, repetition or delivery failures.
//!
//! The sandbox delivers real notifications on its own state changes once its IPN URL points at
//! the edge; the `/__sandbox/amazon/console/…` controls change charges the way Seller Central
//! would, so the edge hears of them only through IPNs. Hand-made envelopes (forged, tampered,
//! replayed) are signed by the sandbox's `/__sandbox/amazon/ipn/sign` control.

use kessai_tests::ipn::{cp_of, events_of_notification, seller_central};
use kessai_tests::*;
use serde_json::{Value, json};
use std::time::Duration;

fn ipn_url() -> String {
    format!("{}/api/amazonpay2/ipn.php", stack().edge)
}

/// Points the sandbox's IPN delivery at the edge.
async fn point_delivery_at_edge() {
    let (status, body) =
        amazon_sandbox_post("/__sandbox/amazon/ipn/url", json!({ "url": ipn_url() })).await;
    assert_eq!(status, 200, "{body}");
}

static DELIVERY_ON: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();

/// Turns delivery to the edge on once for this test binary (only the edge-down test points it
/// elsewhere for a moment, and back).
async fn deliver_to_edge() {
    DELIVERY_ON.get_or_init(point_delivery_at_edge).await;
}

fn count(p: &Value, kind: &str) -> usize {
    event_kinds(p).iter().filter(|k| *k == kind).count()
}

/// Polls the payment until `done` holds (30 s at most).
async fn wait_for(id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..150 {
        let p = payment(id).await;
        if done(&p) {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("payment {id}: {what} did not happen: {}", payment(id).await);
}

/// Waits until the sandbox has delivered every notification about this charge permission (the
/// authorisation's own ones: an edge that processes one late re-reads whatever Amazon holds
/// then).
async fn settle_deliveries(cp: &str) {
    for _ in 0..150 {
        let pending = deliveries_for_cp(cp)
            .await
            .iter()
            .any(|d| d["delivered"] != true);
        if !pending {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("deliveries for {cp} never settled");
}

async fn deliveries_for_cp(cp: &str) -> Vec<Value> {
    all_deliveries()
        .await
        .into_iter()
        .filter(|d| d["charge_permission_id"] == cp)
        .collect()
}

async fn all_deliveries() -> Vec<Value> {
    amazon_control_list("ipn/deliveries", &[]).await
}

async fn deliveries_for(object_id: &str) -> Vec<Value> {
    all_deliveries()
        .await
        .into_iter()
        .filter(|d| d["object_id"] == object_id)
        .collect()
}

#[tokio::test]
async fn forged_tampered_and_misaddressed_notifications_are_rejected() {
    deliver_to_edge().await;
    let (p, charge_id) = authorized_amazon_payment(2400).await;
    let id = id_of(&p);
    let cp = cp_of(&payment(&id).await);
    let nid = format!("forgery-{charge_id}");
    let msg = ipn_message("CHARGE", &charge_id, &cp, &nid);
    let good = signed_ipn(json!({ "message": msg })).await;

    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut forged = good.clone();
    forged["Signature"] = json!(kessai_core::amazon::signing::base64_encode(&[7u8; 256]));
    cases.push(("forged signature", forged));
    let mut tampered = good.clone();
    tampered["Message"] = json!(msg.replace("STATE_CHANGE", "ATTRIBUTE_CHANGE"));
    cases.push(("tampered message", tampered));
    let mut http_cert = good.clone();
    http_cert["SigningCertURL"] =
        json!("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem");
    cases.push(("http certificate URL", http_cert));
    let mut other_host = good.clone();
    other_host["SigningCertURL"] = json!("https://sns.us-east-1.amazonaws.com.evil.example/x.pem");
    cases.push(("certificate on another host", other_host));
    let mut under_base_not_pem = good.clone();
    under_base_not_pem["SigningCertURL"] = json!(
        good["SigningCertURL"]
            .as_str()
            .expect("url")
            .replace(".pem", ".txt")
    );
    cases.push(("certificate URL not .pem", under_base_not_pem));
    cases.push((
        "wrong topic",
        signed_ipn(json!({ "message": msg, "topic_arn": "arn:aws:sns:us-west-2:000000000000:SomeoneElse" }))
            .await,
    ));
    cases.push((
        "wrong merchant",
        signed_ipn(
            json!({ "message": msg.replace(AMAZON_SANDBOX_MERCHANT_ID, "A1OTHERMERCHANT") }),
        )
        .await,
    ));
    let (s, _) = amazon_sandbox_post(
        "/__sandbox/amazon/ipn/identities",
        json!({ "name": "rogue.pem", "kind": "rogue" }),
    )
    .await;
    assert_eq!(s, 200);
    cases.push((
        "certificate from another CA",
        signed_ipn(json!({ "message": msg, "identity": "rogue.pem" })).await,
    ));
    let (s, _) = amazon_sandbox_post(
        "/__sandbox/amazon/ipn/identities",
        json!({ "name": "expired.pem", "kind": "expired" }),
    )
    .await;
    assert_eq!(s, 200);
    cases.push((
        "expired certificate",
        signed_ipn(json!({ "message": msg, "identity": "expired.pem" })).await,
    ));
    let mut v1_claimed = good.clone();
    v1_claimed["SignatureVersion"] = json!("1");
    cases.push(("SHA256 signature claimed as version 1", v1_claimed));
    cases.push(("not an envelope", json!({ "hello": "world" })));

    for (what, env) in &cases {
        let (status, body) = post_amazon_ipn(env).await;
        assert!((400..500).contains(&status), "{what}: {status} {body}");
        assert_eq!(body["error"]["code"], "rejected", "{what}: {body}");
    }
    let after = payment(&id).await;
    assert_eq!(after["state"], "authorized", "{after}");
    assert_eq!(events_of_notification(&after, &nid), 0, "{after}");

    // The genuine one (the NotificationId the rejected ones carried) is accepted and recorded
    // once; Amazon changed nothing, so neither does it.
    let (status, body) = post_amazon_ipn(&good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "unchanged", "{body}");
    assert_eq!(events_of_notification(&payment(&id).await, &nid), 1);
    // Replayed (same envelope, or re-signed with the same NotificationId): nothing twice.
    let (status, body) = post_amazon_ipn(&good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["duplicate"], true, "{body}");
    let (status, body) = post_amazon_ipn(&signed_ipn(json!({ "message": msg })).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["duplicate"], true, "{body}");
    let after = payment(&id).await;
    assert_eq!(events_of_notification(&after, &nid), 1);
    assert_eq!(after["state"], "authorized");

    // Rejections are logged with their reason, never with the body.
    let log = std::fs::read_to_string(stack().state_dir.join(kessai_demo::stack::EDGE_LOG))
        .unwrap_or_default();
    assert!(log.contains("Amazon IPN refused"), "no refusal logged");
    assert!(!log.contains(&nid), "a notification body reached the log");
}

#[tokio::test]
async fn signature_version_1_sha1_verifies() {
    deliver_to_edge().await;
    let (p, charge_id) = authorized_amazon_payment(1200).await;
    let id = id_of(&p);
    let cp = cp_of(&payment(&id).await);
    // Nothing changed at Amazon: a valid notification records and changes nothing.
    let env = signed_ipn(json!({
        "message": ipn_message("CHARGE", &charge_id, &cp, &format!("v1-{charge_id}")),
        "signature_version": "1",
        "subject": "Amazon Pay IPN",
    }))
    .await;
    assert_eq!(env["SignatureVersion"], "1");
    let (status, body) = post_amazon_ipn(&env).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "unchanged", "{body}");
    let after = payment(&id).await;
    assert_eq!(after["state"], "authorized");
    assert!(count(&after, "amazon_ipn_unchanged") >= 1, "{after}");
}

#[tokio::test]
async fn console_capture_then_refund_move_the_payment_forward_exactly_once() {
    deliver_to_edge().await;
    let (p, charge_id) = authorized_amazon_payment(4980).await;
    let id = id_of(&p);
    seller_central(&charge_id, "capture", json!({})).await;
    let after = wait_for(&id, "captured by IPN", |p| p["state"] == "captured").await;
    assert_eq!(count(&after, "amazon_ipn_applied"), 1, "{after}");
    let applied = after["events"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["kind"] == "amazon_ipn_applied"))
        .expect("applied event")
        .clone();
    assert_eq!(applied["from"], "authorized");
    assert_eq!(applied["to"], "captured");
    assert_eq!(applied["detail"]["amazon"]["charge_state"], "Captured");
    // No capture was sent by the edge: Amazon's own change was adopted.
    assert_eq!(
        amazon_requests(Some("CaptureCharge"), Some(&charge_id))
            .await
            .len(),
        0
    );

    seller_central(&charge_id, "refund", json!({ "amount": 980 })).await;
    let after = wait_for(&id, "partially refunded by IPN", |p| {
        p["state"] == "partially_refunded"
    })
    .await;
    assert_eq!(count(&after, "amazon_ipn_applied"), 2, "{after}");
    seller_central(&charge_id, "refund", json!({ "amount": 4000 })).await;
    let after = wait_for(&id, "refunded by IPN", |p| p["state"] == "refunded").await;
    assert_eq!(count(&after, "amazon_ipn_applied"), 3, "{after}");

    // Late and reordered notifications (an old one about the charge, one about the
    // permission) change nothing any more: 返金 never goes back.
    let cp = cp_of(&after);
    for (kind, object) in [
        ("CHARGE", charge_id.as_str()),
        ("CHARGE_PERMISSION", cp.as_str()),
    ] {
        let env = signed_ipn(
            json!({ "message": ipn_message(kind, object, &cp, &format!("late-{kind}-{charge_id}")) }),
        )
        .await;
        let (status, body) = post_amazon_ipn(&env).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "unchanged", "{body}");
    }
    let last = payment(&id).await;
    assert_eq!(last["state"], "refunded");
    assert_eq!(count(&last, "amazon_ipn_applied"), 3);
    // Every sandbox delivery for this charge was acknowledged.
    let ds = deliveries_for(&charge_id).await;
    assert!(!ds.is_empty());
    assert!(ds.iter().all(|d| d["delivered"] == true), "{ds:?}");
}

#[tokio::test]
async fn console_cancel_voids_the_payment() {
    deliver_to_edge().await;
    let (p, charge_id) = authorized_amazon_payment(1500).await;
    let id = id_of(&p);
    seller_central(&charge_id, "cancel", json!({})).await;
    let after = wait_for(&id, "voided by IPN", |p| p["state"] == "voided").await;
    assert_eq!(count(&after, "amazon_ipn_applied"), 1, "{after}");
    assert_eq!(after["state_label_ja"], "取消");
    // Each delivered notification ended with what it did, in the batch of the change it made
    // (#17): the same NotificationId signed again is a duplicate, not processed a second time.
    let cp = cp_of(&after);
    // The payment may be voided by the permission's IPN while the charge's is still on its way:
    // every delivery of the cancel first (a CI run once read the list in between).
    settle_deliveries(&cp).await;
    let delivered: Vec<Value> = deliveries_for_cp(&cp)
        .await
        .into_iter()
        .filter(|d| d["delivered"] == true)
        .collect();
    assert!(
        delivered
            .iter()
            .any(|d| d["object_id"] == charge_id.as_str()),
        "{delivered:?}"
    );
    for d in &delivered {
        let message = ipn_message(
            d["object_type"].as_str().unwrap_or(""),
            d["object_id"].as_str().unwrap_or(""),
            &cp,
            d["notification_id"].as_str().unwrap_or(""),
        );
        let (status, body) =
            post_amazon_ipn(&signed_ipn(json!({ "message": message })).await).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["duplicate"], true, "{d} {body}");
    }
    assert_eq!(count(&payment(&id).await, "amazon_ipn_applied"), 1);
}

#[tokio::test]
async fn edge_down_during_delivery_then_retry_delivers_once() {
    deliver_to_edge().await;
    let (p, charge_id) = authorized_amazon_payment(3100).await;
    let id = id_of(&p);
    settle_deliveries(&cp_of(&payment(&id).await)).await;
    // A port nobody listens on: the edge is "down".
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    amazon_sandbox_post(
        "/__sandbox/amazon/ipn/url",
        json!({ "url": format!("http://127.0.0.1:{dead}/api/amazonpay2/ipn.php") }),
    )
    .await;
    seller_central(&charge_id, "capture", json!({})).await;
    let mut failed = 0;
    for _ in 0..100 {
        failed = deliveries_for(&charge_id)
            .await
            .iter()
            .filter(|d| d["object_state"] == "Captured")
            .map(|d| d["attempts"].as_array().map_or(0, |a| a.len()))
            .sum::<usize>();
        if failed >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(failed >= 2, "no failed attempts seen");
    assert_eq!(payment(&id).await["state"], "authorized");

    point_delivery_at_edge().await;
    let after = wait_for(&id, "captured after redelivery", |p| {
        p["state"] == "captured"
    })
    .await;
    assert_eq!(count(&after, "amazon_ipn_applied"), 1, "{after}");
    let ds: Vec<Value> = deliveries_for(&charge_id)
        .await
        .into_iter()
        .filter(|d| d["object_state"] == "Captured")
        .collect();
    assert_eq!(ds.len(), 1, "{ds:?}");
    let attempts = ds[0]["attempts"].as_array().cloned().unwrap_or_default();
    assert!(attempts.len() >= 3, "{attempts:?}");
    assert!(attempts[0]["status"].is_null(), "{attempts:?}");
    assert_eq!(
        attempts.last().map(|a| a["status"].clone()),
        Some(json!(200))
    );
    assert_eq!(ds[0]["delivered"], true);
}

// ---------------------------------------------------------------------------------------------
// GMO 結果通知 (`POST /v1/notify/gmo`): hand-made forms (as GMO posts them: CP932, masked
// passwords), and the GMO sandbox's own deliveries.

/// `AlterTran` straight at the GMO sandbox (what the shop's GMO console does): the edge makes
/// no call and hears of it only by notification.
async fn alter_behind_the_edge(trade: &Value, job: &str, amount: i64) {
    let shop = kessai_sandbox::SandboxConfig::default();
    let alter = kessai_core::gmo::codec::encode_form(&[
        ("ShopID", shop.shop_id.as_str()),
        ("ShopPass", shop.shop_pass.as_str()),
        ("AccessID", trade["access_id"].as_str().expect("access id")),
        (
            "AccessPass",
            trade["access_pass"].as_str().expect("access pass"),
        ),
        ("JobCd", job),
        ("Amount", &amount.to_string()),
    ])
    .expect("form");
    let answer = client()
        .post(format!("{}/payment/AlterTran.idPass", stack().sandbox))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(alter)
        .send()
        .await
        .expect("sandbox reachable")
        .text()
        .await
        .unwrap_or_default();
    assert!(!answer.contains("ErrCode"), "{answer}");
}

/// POSTs a result notification form; the edge's answer body.
async fn gmo_notify(fields: &[(&str, &str)]) -> String {
    let body = kessai_core::gmo::codec::encode_form(fields).expect("CP932 form");
    let resp = client()
        .post(format!("{}/v1/notify/gmo", stack().edge))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("edge reachable");
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.unwrap_or_default()
}

#[tokio::test]
async fn gmo_notification_after_an_alter_tran_behind_the_edge_reconciles_once() {
    let p = authorized_card_payment(2750).await;
    let id = id_of(&p);
    let order = gmo_order(&p);
    let trade = gmo_trade(&order).await;
    let access_id = trade["access_id"].as_str().expect("access id").to_string();
    alter_behind_the_edge(&trade, "SALES", 2750).await;
    assert_eq!(gmo_trade(&order).await["status"], "SALES");
    assert_eq!(payment(&id).await["state"], "authorized");

    let tran_id = trade["tran_id"].as_str().unwrap_or("").to_string();
    let form = |shop_id: &'static str, access: String, status: &'static str| {
        vec![
            ("ShopID", shop_id.to_string()),
            ("ShopPass", "**********".to_string()),
            ("AccessID", access),
            ("AccessPass", "*".repeat(32)),
            ("OrderID", order.clone()),
            ("Status", status.to_string()),
            ("JobCd", "SALES".to_string()),
            ("Amount", "2750".to_string()),
            ("TranID", tran_id.clone()),
            ("TranDate", "20261130120000".to_string()),
            ("ErrCode", String::new()),
            ("ErrInfo", String::new()),
            ("PayType", "0".to_string()),
        ]
    };
    let send = |f: Vec<(&'static str, String)>| async move {
        let pairs: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        gmo_notify(&pairs).await
    };

    // Another shop, another AccessID: acknowledged (GMO would resend forever), nothing changes.
    assert_eq!(
        send(form("tshop99999999", access_id.clone(), "SALES")).await,
        "0"
    );
    assert_eq!(
        send(form("tshop00000001", "0".repeat(32), "SALES")).await,
        "0"
    );
    assert_eq!(payment(&id).await["state"], "authorized");
    // GMO's connectivity test.
    assert_eq!(
        gmo_notify(&[
            ("ShopID", "tshop00000001"),
            ("ErrCode", "E00"),
            ("ErrInfo", "E00000000")
        ])
        .await,
        "0"
    );

    // The real one. The posted Status is not trusted: even "VOID" is reconciled with
    // SearchTrade, which says SALES.
    assert_eq!(
        send(form("tshop00000001", access_id.clone(), "VOID")).await,
        "0"
    );
    let after = payment(&id).await;
    assert_eq!(after["state"], "captured", "{after}");
    assert_eq!(count(&after, "gmo_notification_applied"), 1);
    // Sent again, and once more with the status GMO really posted: nothing changes twice.
    assert_eq!(
        send(form("tshop00000001", access_id.clone(), "VOID")).await,
        "0"
    );
    assert_eq!(
        send(form("tshop00000001", access_id.clone(), "SALES")).await,
        "0"
    );
    let after = payment(&id).await;
    assert_eq!(after["state"], "captured");
    assert_eq!(count(&after, "gmo_notification_applied"), 1);
    assert!(count(&after, "gmo_notification_unchanged") >= 1, "{after}");
    assert_eq!(count_api(&gateway_requests(&order).await, "AlterTran"), 1);
}

#[tokio::test]
async fn the_gmo_sandbox_notifies_a_console_sale_and_the_edge_applies_it_once() {
    let resp = client()
        .post(format!("{}/__sandbox/notify/url", stack().sandbox))
        .json(&json!({ "url": format!("{}/v1/notify/gmo", stack().edge) }))
        .send()
        .await
        .expect("sandbox reachable");
    assert_eq!(resp.status().as_u16(), 200);
    let p = authorized_card_payment(1980).await;
    let id = id_of(&p);
    let order = gmo_order(&p);
    alter_behind_the_edge(&gmo_trade(&order).await, "SALES", 1980).await;
    let after = wait_for(&id, "captured by 結果通知", |p| {
        p["state"] == "captured"
    })
    .await;
    assert_eq!(count(&after, "gmo_notification_applied"), 1, "{after}");
    // The edge may apply the notification before the sandbox has recorded its answer: wait
    // for the record (a few seconds at most).
    let mut sale = Value::Null;
    for _ in 0..40 {
        let deliveries: Value = client()
            .get(format!("{}/__sandbox/notify/deliveries", stack().sandbox))
            .send()
            .await
            .expect("sandbox reachable")
            .json()
            .await
            .expect("json");
        sale = deliveries
            .as_array()
            .and_then(|a| {
                a.iter()
                    .find(|d| d["order_id"] == order.as_str() && d["status"] == "SALES")
            })
            .cloned()
            .expect("a SALES notification");
        if sale["delivered"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(sale["delivered"], true, "{sale}");
    assert_eq!(
        sale["answers"].as_array().and_then(|a| a.last()).cloned(),
        Some(json!("0"))
    );
    // Only the sale the console made: the edge sent no AlterTran of its own.
    assert_eq!(count_api(&gateway_requests(&order).await, "AlterTran"), 1);
}
