//! Bulk capture throughput (issue #4): N card payments authorised (仮売上) against the GMO
//! sandbox, then captured with `POST /v1/payments/bulk/capture` in requests of CHUNK ids one
//! after another, as the console's 一括売上確定 does (it sends 24 per request so its progress bar
//! moves; the edge takes up to 100). Prints payments per second and worker CPU per payment and
//! per request (workerd utime + stime around the capture requests only). Every payment must end
//! 実売上 on both sides (kessai and the sandbox) or the run fails.
//! Run through `scripts/bench-bulk-capture.sh [N=1000] [CHUNK=12]`.

use futures_util::StreamExt;
use kessai_tests::bench::{cpu_ms, workerd_pids};
use kessai_tests::*;
use serde_json::{Value, json};
use std::time::Instant;

/// Ids per bulk request by default: the console's `BULK_CHUNK`.
const CONSOLE_CHUNK: usize = 24;
/// The most the edge takes in one request (`BULK_MAX`).
const EDGE_MAX: usize = 100;

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let chunk_size: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(CONSOLE_CHUNK)
        .clamp(1, EDGE_MAX);
    let urls = bench_stack();
    let pids = workerd_pids(&urls.state_dir);
    if pids.is_empty() {
        eprintln!("no workerd process found for {}", urls.state_dir.display());
        std::process::exit(2);
    }

    // Set-up (not measured): N authorised card payments, 8 at a time.
    let t0 = Instant::now();
    let payments: Vec<Value> = futures_util::stream::iter(0..n)
        .map(|i| async move { authorized_card_payment(1_000 + (i as i64 % 500)).await })
        .buffered(8)
        .collect()
        .await;
    eprintln!(
        "set-up: {n} payments authorised in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let ids: Vec<String> = payments.iter().map(id_of).collect();

    let cpu0 = cpu_ms(&pids);
    let t1 = Instant::now();
    let (mut succeeded, mut failed) = (0u64, 0u64);
    for chunk in ids.chunks(chunk_size) {
        let (status, body) = merchant(
            reqwest::Method::POST,
            "/v1/payments/bulk/capture",
            Some(json!({ "payment_ids": chunk })),
        )
        .await;
        if status != 200 {
            eprintln!("bulk capture answered {status}: {body}");
            std::process::exit(1);
        }
        succeeded += body["succeeded"].as_u64().unwrap_or(0);
        failed += body["failed"].as_u64().unwrap_or(0);
    }
    let wall_s = t1.elapsed().as_secs_f64();
    let cpu = cpu_ms(&pids) - cpu0;

    // Both sides agree: kessai says 実売上 and the sandbox holds SALES for each one.
    let mut mismatched = 0;
    for p in &payments {
        let ours = payment(&id_of(p)).await;
        let theirs = gmo_trade(&gmo_order(p)).await;
        if ours["state"] != "captured" || theirs["status"] != "SALES" {
            mismatched += 1;
        }
    }

    println!(
        "bulk capture of {n} card payments ({} requests of up to {chunk_size}), workerd CPU over {} process(es)",
        ids.len().div_ceil(chunk_size),
        pids.len()
    );
    println!("succeeded {succeeded}, failed {failed}, state mismatches {mismatched}");
    println!(
        "throughput: {:.1} payments/s ({:.2} s wall)",
        n as f64 / wall_s,
        wall_s
    );
    println!(
        "worker CPU: {:.2} ms per payment, {:.1} ms per request ({:.0} ms in all)",
        cpu / n as f64,
        cpu / ids.len().div_ceil(chunk_size) as f64,
        cpu
    );
    std::process::exit(if failed == 0 && mismatched == 0 && succeeded == n as u64 {
        0
    } else {
        1
    });
}
