//! 定期購入 charge throughput (issue #15): N subscriptions on one customer's stored card, all due
//! today, charged by the Cron Trigger (`/__scheduled`) run after run until every one has paid its
//! first cycle. Prints charges per second of cron time and worker CPU per charge (workerd utime +
//! stime around the runs only). Only the cron runs are timed: the runner's own check after each
//! run (`GET /v1/subscriptions?status=active`, is anything still due?) is not part of a cron run
//! and is left out of the wall time and the CPU (until 2026-12-08 it was inside the window).
//! Every subscription must end with exactly one 仮売上 charge at kessai and AUTH at the sandbox,
//! or the run fails. The goal in #15 / #17 is ≥ 200 charges/s.
//! Run through `scripts/bench-subscriptions.sh [N=200]`.

use kessai_tests::bench::{self, cpu_ms, workerd_pids};
use kessai_tests::*;
use std::time::Instant;

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
    // Set-up (not measured): one stored card, N subscriptions due today.
    let ids = bench::due_subscriptions(n).await;
    // All due on the same first date (today, JST): charged ones move on to the next cycle.
    let first_date = bench::first_due_date(&ids).await;

    // Each run charges a batch (100 today); ask for more runs until all moved on. Only the runs
    // are measured (wall time and workerd CPU around each), not the check between them.
    let mut wall_s = 0.0;
    let mut cpu = 0.0;
    let mut runs = 0;
    // The whole loop as well (runs and checks), as measured before, for comparison.
    let (all_cpu0, all_t0) = (cpu_ms(&pids), Instant::now());
    while runs < 1 + 2 * n {
        let cpu0 = cpu_ms(&pids);
        let t0 = Instant::now();
        run_cron().await;
        wall_s += t0.elapsed().as_secs_f64();
        cpu += cpu_ms(&pids) - cpu0;
        runs += 1;
        let left = bench::next_dates(&ids)
            .await
            .iter()
            .filter(|d| **d == first_date)
            .count();
        if left == 0 {
            break;
        }
    }
    let (all_s, all_cpu) = (all_t0.elapsed().as_secs_f64(), cpu_ms(&pids) - all_cpu0);

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
    println!(
        "measured: the cron runs only (wall time and workerd CPU around each run; the runner's \
         GET /v1/subscriptions?status=active between runs is outside the window)"
    );
    println!("wrong or missing charges: {wrong}");
    println!(
        "throughput: {:.1} charges/s ({:.2} s wall in cron runs, ~{:.0} per run)",
        n as f64 / wall_s,
        wall_s,
        n as f64 / runs.max(1) as f64
    );
    println!(
        "worker CPU: {:.2} ms per charge ({:.0} ms in all)",
        cpu / n as f64,
        cpu
    );
    println!(
        "with the runner's checks (the window before 2026-12-08): {:.1} charges/s, {:.2} ms per charge",
        n as f64 / all_s,
        all_cpu / n as f64
    );
    std::process::exit(if wrong == 0 { 0 } else { 1 });
}
