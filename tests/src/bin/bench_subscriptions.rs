//! 定期購入 charge throughput (issue #15): N subscriptions on one customer's stored card, all due
//! today, charged by the Cron Trigger (`/__scheduled`) run after run until every one has paid its
//! first cycle. Prints charges per second of cron time and worker CPU per charge (workerd utime +
//! stime around the runs only). Every subscription must end with exactly one 仮売上 charge at
//! kessai and AUTH at the sandbox, or the run fails. The goal in #15 / #17 is ≥ 200 charges/s.
//! Run through `scripts/bench-subscriptions.sh [N=200]`.

use kessai_tests::bench::{cpu_ms, workerd_pids};
use kessai_tests::*;
use serde_json::json;
use std::time::Instant;

/// A customer with one card stored by a registration (`THREE_D_SECURE=off` in the bench stack:
/// the 有効性チェック authorises at once).
async fn customer_with_card() -> String {
    let customer = order_id("bench-member");
    let (status, p) = merchant(
        reqwest::Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("CARD"), "capture": "verify", "customer": customer })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
    let (status, answer) = widget_post(&p, json!({ "token": token })).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(payment(&id_of(&p)).await["state"], "verified");
    customer
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200)
        .clamp(1, 200);
    let urls = bench_stack();
    let pids = workerd_pids(&urls.state_dir);
    if pids.is_empty() {
        eprintln!("no workerd process found for {}", urls.state_dir.display());
        std::process::exit(2);
    }
    // Set-up (not measured).
    let customer = customer_with_card().await;
    let mut ids = Vec::new();
    for i in 0..n {
        let (status, sub) = merchant(
            reqwest::Method::POST,
            "/v1/subscriptions",
            Some(json!({ "customer": customer, "card_seq": 0, "amount": 1_000 + i as i64, "cycle": "days:30" })),
        )
        .await;
        if status != 201 {
            eprintln!("subscription {i}: {status} {sub}");
            std::process::exit(1);
        }
        ids.push(sub["id"].as_str().unwrap_or_default().to_string());
    }
    // All due on the same first date (today, JST): charged ones move on to the next cycle.
    let first_date = next_dates(&ids).await.into_iter().min().unwrap_or_default();

    let cpu0 = cpu_ms(&pids);
    let t0 = Instant::now();
    let mut runs = 0;
    // Each run charges a batch (25 today); ask for more runs until all moved on.
    while runs < 1 + 2 * n {
        run_cron().await;
        runs += 1;
        let left = next_dates(&ids)
            .await
            .iter()
            .filter(|d| **d == first_date)
            .count();
        if left == 0 {
            break;
        }
    }
    let wall_s = t0.elapsed().as_secs_f64();
    let cpu = cpu_ms(&pids) - cpu0;

    // Exactly one 仮売上 per subscription, AUTH at the sandbox.
    let mut wrong = 0;
    for id in &ids {
        let (_, sub) = merchant(
            reqwest::Method::GET,
            &format!("/v1/subscriptions/{id}"),
            None,
        )
        .await;
        let charges = sub["charges"].as_array().cloned().unwrap_or_default();
        let ok = charges.len() == 1 && charges[0]["state"] == "authorized" && {
            let p = payment(charges[0]["payment_id"].as_str().unwrap_or("")).await;
            gmo_trade(&gmo_order(&p)).await["status"] == "AUTH"
        };
        if !ok {
            wrong += 1;
        }
    }
    println!(
        "定期購入 charges: {n} subscriptions due today, {runs} cron run(s), workerd CPU over {} process(es)",
        pids.len()
    );
    println!("wrong or missing charges: {wrong}");
    println!(
        "throughput: {:.1} charges/s ({:.2} s wall, ~{:.0} per run)",
        n as f64 / wall_s,
        wall_s,
        n as f64 / runs.max(1) as f64
    );
    println!(
        "worker CPU: {:.2} ms per charge ({:.0} ms in all)",
        cpu / n as f64,
        cpu
    );
    std::process::exit(if wrong == 0 { 0 } else { 1 });
}

/// The next charge date of each of `ids` (the shop's list of active subscriptions).
async fn next_dates(ids: &[String]) -> Vec<String> {
    let (_, list) = merchant(
        reqwest::Method::GET,
        "/v1/subscriptions?status=active",
        None,
    )
    .await;
    list["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|s| {
                    s["id"]
                        .as_str()
                        .is_some_and(|id| ids.iter().any(|x| x == id))
                })
                .filter_map(|s| s["next_charge_on"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
