//! CPU per signed Amazon Pay call on the edge (run through `scripts/bench-amazon-sign.sh`).
//!
//! Starts the test stack (Amazon sandbox, GMO sandbox, `wrangler dev` with workerd + local D1),
//! then reads the CPU time (utime + stime from `/proc/<pid>/stat`) of the workerd processes
//! under this stack's wrangler before and after N requests of each kind:
//! - `GET /health`: the baseline (routing, config, logging; no D1, no crypto);
//! - `GET /v1/checkout/{id}`: a D1 read and JSON, no signature (to isolate the signature);
//! - `POST /v1/checkout/{id}/amazon-pay/button`: one RSA-PSS signature (WebCrypto) of the button
//!   payload, plus a D1 read of the payment;
//! - `POST /v1/payments/{id}/reconcile` on an authorised Amazon payment: one signed API call
//!   (Get Charge: canonical request, RSA-PSS signature, fetch to the sandbox, JSON) plus a D1 read.
//!
//! Requests are sent one at a time. The key is imported once per isolate, during the warm-up.
//! Usage: `bench_amazon [N]` (default 300).

use kessai_tests::bench::{self, measure, measure_each};
use kessai_tests::*;
use serde_json::{Value, json};

async fn authorized_amazon_payment() -> Value {
    let p = create_payment(5400).await;
    let (back, _cs) = pay_with_amazon(&p, "taro", 0).await;
    assert!(back.ends_with("kessai_amazon=authorized"), "{back}");
    payment(p["id"].as_str().unwrap_or("")).await
}

#[tokio::main]
async fn main() {
    let (n, urls, pids) = bench::start(300);
    let http = client();
    let edge = urls.edge.clone();

    // Warm-up: JIT, the isolate's key import, D1 connections.
    let p = create_payment(2000).await;
    let authorized = authorized_amazon_payment().await;
    let reconcile_path = format!(
        "/v1/payments/{}/reconcile",
        authorized["id"].as_str().unwrap_or("")
    );
    for _ in 0..20 {
        let _ = http.get(format!("{edge}/health")).send().await;
        let (s, _) = amazon_button(&p, json!({ "return_url": amazon_return_url() })).await;
        assert_eq!(s, 200);
        let (s, v) = merchant(reqwest::Method::POST, &reconcile_path, None).await;
        assert_eq!((s, v["state"].clone()), (200, json!("authorized")), "{v}");
    }

    let (health, health_each) = measure_each(&pids, n, || {
        let http = http.clone();
        let url = format!("{edge}/health");
        async move {
            let r = http.get(url).send().await.expect("health");
            assert!(r.status().is_success());
        }
    })
    .await;
    let checkout = measure(&pids, n, || {
        let p = p.clone();
        async move {
            let (s, _) = checkout_config(&p).await;
            assert_eq!(s, 200);
        }
    })
    .await;
    let (button, button_each) = measure_each(&pids, n, || {
        let p = p.clone();
        async move {
            let (s, _) = amazon_button(&p, json!({ "return_url": amazon_return_url() })).await;
            assert_eq!(s, 200);
        }
    })
    .await;
    let (reconcile, reconcile_each) = measure_each(&pids, n, || {
        let path = reconcile_path.clone();
        async move {
            let (s, _) = merchant(reqwest::Method::POST, &path, None).await;
            assert_eq!(s, 200);
        }
    })
    .await;
    let charge_id = authorized["amazon_pay"]["charge_id"].as_str().unwrap_or("");
    let get_charges = amazon_requests(Some("GetCharge"), Some(charge_id)).await;
    let refused = get_charges
        .iter()
        .filter(|r| r["status"].as_u64() != Some(200))
        .count();

    println!(
        "Amazon Pay signing on the edge: worker CPU (workerd utime+stime, {} process(es)), N = {n} each",
        pids.len()
    );
    println!(
        "{:<46} {:>12} {:>12} {:>14}",
        "request", "CPU ms/req", "wall ms/req", "CPU ms/sig*"
    );
    println!(
        "{:<46} {:>12.2} {:>12.2} {:>14}",
        "GET /health (baseline)", health.cpu_ms_per_req, health.wall_ms_per_req, "-"
    );
    println!(
        "{:<46} {:>12.2} {:>12.2} {:>14}",
        "GET /v1/checkout/{id} (D1 read, no signature)",
        checkout.cpu_ms_per_req,
        checkout.wall_ms_per_req,
        "-"
    );
    for (label, s) in [
        ("POST …/amazon-pay/button (1 RSA-PSS sig)", &button),
        ("POST /v1/payments/{id}/reconcile (Get Charge)", &reconcile),
    ] {
        println!(
            "{:<46} {:>12.2} {:>12.2} {:>14.2}",
            label,
            s.cpu_ms_per_req,
            s.wall_ms_per_req,
            s.cpu_ms_per_req - health.cpu_ms_per_req
        );
    }
    println!(
        "* minus the /health baseline: the signature and everything else the call does (D1 read, JSON, fetch)."
    );
    println!(
        "RSA-PSS signature alone (button minus the D1-read checkout view): {:.2} ms",
        button.cpu_ms_per_req - checkout.cpu_ms_per_req
    );
    println!(
        "sandbox verified {} signed Get Charge calls, {} refused",
        get_charges.len(),
        refused
    );
    // #17's goal: per signed call, p99 of the request's workerd CPU above the /health median.
    let base = health_each.quantile(0.5);
    println!(
        "per request (workerd threads' schedstat around each request): /health p50 {base:.2} ms, p99 {:.2} ms",
        health_each.quantile(0.99)
    );
    for (label, each, calls) in [
        ("button (1 signature)", &button_each, 1.0),
        ("reconcile (2 signed Get Charge)", &reconcile_each, 2.0),
    ] {
        let (p50, p99) = (each.quantile(0.5) - base, each.quantile(0.99) - base);
        println!(
            "{label}: above /health p50 {p50:.2} ms, p99 {p99:.2} ms; per signed call p50 {:.2} ms, p99 {:.2} ms (goal p99 ≤ 2 ms)",
            p50 / calls,
            p99 / calls
        );
    }
    let worst = (button.cpu_ms_per_req - health.cpu_ms_per_req)
        .max(reconcile.cpu_ms_per_req - health.cpu_ms_per_req);
    let verdict = if worst < 10.0 { "PASS" } else { "FAIL" };
    println!("target: well under 10 ms CPU per signed call: worst {worst:.2} ms: {verdict}");
    // The stack runs on a background thread; leave now (wrangler gets SIGTERM with us).
    std::process::exit(if verdict == "PASS" && refused == 0 {
        0
    } else {
        1
    });
}
