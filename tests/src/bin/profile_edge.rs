//! CPU profile of the edge in workerd (issue #17), run through `scripts/profile-edge.sh
//! <scenario> [N]`: starts the benchmark stack, sets a scenario up as its benchmark does (not
//! profiled), then has `tools/profile/inspect.mjs` attach to wrangler dev's V8 inspector
//! (`Profiler.enable` / `start`), drives the load, stops the profiler and prints the self and
//! inclusive time by function and by cost category, with the workerd CPU (utime + stime from
//! `/proc`, as `kessai_tests::bench` reads it) over the same window for comparison: the
//! profile sees the worker's isolate only, not workerd's own work (HTTP, D1's SQLite, I/O).
//!
//! Scenarios: `subscriptions` (N 定期購入 due today charged by cron runs, default 100),
//! `bulk-capture` (N authorised card payments captured 5 per request, default 200),
//! `amazon-button` (N signed Amazon Pay buttons, default 300), `get-charge` (N merchant
//! reconciles of an Amazon payment: one signed Get Charge each, default 300), `ipn` (N new
//! verified IPNs, default 200), `health` (N `GET /health`, the baseline).

use kessai_tests::bench::{self, cpu_ms};
use kessai_tests::*;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const SCENARIOS: &str = "subscriptions | bulk-capture | amazon-button | get-charge | ipn | health";

/// What to drive while the profiler runs, prepared before it starts.
enum Load {
    Cron {
        ids: Vec<String>,
        first_date: String,
    },
    Bulk(Vec<String>),
    Button(Value),
    Reconcile(String),
    Ipn(Vec<String>),
    Health,
}

#[tokio::main]
async fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_default();
    let default_n = match scenario.as_str() {
        "subscriptions" => 100,
        "bulk-capture" | "ipn" => 200,
        "amazon-button" | "get-charge" | "health" => 300,
        _ => {
            eprintln!("usage: profile_edge <{SCENARIOS}> [N]");
            std::process::exit(2);
        }
    };
    let n: usize = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default_n);
    let urls = bench_stack();
    let pids = bench::workerd_pids(&urls.state_dir);
    if pids.is_empty() {
        eprintln!("no workerd process found for {}", urls.state_dir.display());
        std::process::exit(2);
    }
    let load = set_up(&scenario, n).await;
    warm_up(&load).await;

    let out = urls.state_dir.join(format!("{scenario}.cpuprofile"));
    let node = std::env::var("KESSAI_NODE").unwrap_or_else(|_| "node".to_string());
    let script = kessai_demo::stack::repo_root().join("tools/profile/inspect.mjs");
    let mut child = tokio::process::Command::new(node)
        .arg(script)
        .arg(urls.inspector_port.to_string())
        .arg(&out)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    match lines.next_line().await {
        Ok(Some(l)) if l.starts_with("profiling") => eprintln!("{l}"),
        other => {
            eprintln!("the profiler did not start: {other:?}");
            std::process::exit(1);
        }
    }

    let cpu0 = cpu_ms(&pids);
    let t0 = Instant::now();
    let units = drive(&load, n).await;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_ms(&pids) - cpu0;

    stdin.write_all(b"stop\n").await.expect("profiler stdin");
    let mut report = String::new();
    while let Ok(Some(l)) = lines.next_line().await {
        report.push_str(&l);
        report.push('\n');
    }
    let _ = child.wait().await;
    println!("scenario {scenario}: {units} unit(s) in {wall:.2} s wall");
    println!(
        "workerd CPU (utime+stime, {} process(es)) over the profiled window: {cpu:.0} ms, {:.2} ms per unit",
        pids.len(),
        cpu / units.max(1) as f64
    );
    print!("{report}");
    println!("profile written to {}", out.display());
    std::process::exit(0);
}

async fn set_up(scenario: &str, n: usize) -> Load {
    match scenario {
        "subscriptions" => {
            let ids = bench::due_subscriptions(n).await;
            let first_date = bench::first_due_date(&ids).await;
            Load::Cron { ids, first_date }
        }
        "bulk-capture" => Load::Bulk(bench::authorized_card_payments(n).await),
        "amazon-button" => Load::Button(create_payment(2000).await),
        "get-charge" => {
            let (p, _) = authorized_amazon_payment(5400).await;
            Load::Reconcile(format!("/v1/payments/{}/reconcile", id_of(&p)))
        }
        "ipn" => Load::Ipn(bench::signed_ipns(n, &std::process::id().to_string()).await),
        _ => Load::Health,
    }
}

/// JIT, key imports and the certificate cache, outside the profile.
async fn warm_up(load: &Load) {
    match load {
        Load::Button(p) => {
            for _ in 0..20 {
                let _ = amazon_button(p, json!({ "return_url": amazon_return_url() })).await;
            }
        }
        Load::Reconcile(path) => {
            for _ in 0..20 {
                let _ = merchant(reqwest::Method::POST, path, None).await;
            }
        }
        Load::Ipn(_) => {
            let warm = bench::signed_ipns(20, &format!("{}w", std::process::id())).await;
            for e in &warm {
                bench::post_ipn(e).await;
            }
        }
        _ => health(20).await,
    }
}

async fn health(n: usize) {
    let http = client();
    let edge = stack().edge;
    for _ in 0..n {
        let _ = http.get(format!("{edge}/health")).send().await;
    }
}

/// Drives the load; answers how many units (charges, payments, requests) it did.
async fn drive(load: &Load, n: usize) -> usize {
    match load {
        Load::Cron { ids, first_date } => {
            for _ in 0..1 + 2 * ids.len() {
                run_cron().await;
                let dates = bench::next_dates(ids).await;
                if !dates.iter().any(|d| d == first_date) {
                    break;
                }
            }
            ids.len()
        }
        Load::Bulk(ids) => {
            for chunk in ids.chunks(5) {
                let (s, body) = merchant(
                    reqwest::Method::POST,
                    "/v1/payments/bulk/capture",
                    Some(json!({ "payment_ids": chunk })),
                )
                .await;
                assert_eq!(s, 200, "{body}");
            }
            ids.len()
        }
        Load::Button(p) => {
            for _ in 0..n {
                let (s, _) = amazon_button(p, json!({ "return_url": amazon_return_url() })).await;
                assert_eq!(s, 200);
            }
            n
        }
        Load::Reconcile(path) => {
            for _ in 0..n {
                let (s, _) = merchant(reqwest::Method::POST, path, None).await;
                assert_eq!(s, 200);
            }
            n
        }
        Load::Ipn(envelopes) => {
            for e in envelopes {
                bench::post_ipn(e).await;
            }
            envelopes.len()
        }
        Load::Health => {
            health(n).await;
            n
        }
    }
}
