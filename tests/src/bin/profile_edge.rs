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
    let mut starts = Vec::new();
    let units = drive(&load, n, &mut starts).await;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = cpu_ms(&pids) - cpu0;

    // Requests sent one at a time: each one's isolate time, and /health's in the same profile
    // (after the scenario, outside its summary and its workerd CPU) as the baseline.
    let mut stop = "stop\n".to_string();
    if !starts.is_empty() {
        let mut runs = vec![json!({ "label": scenario, "starts": starts })];
        if !matches!(load, Load::Health) {
            let mut health_starts = Vec::new();
            drive(&Load::Health, n, &mut health_starts).await;
            runs.push(json!({ "label": "health", "starts": health_starts }));
        }
        let windows = json!({
            "summary": { "from": starts[0], "to": starts[starts.len() - 1] },
            "runs": runs,
        });
        let file = urls.state_dir.join(format!("{scenario}.windows.json"));
        std::fs::write(&file, windows.to_string()).expect("windows file");
        stop = format!("stop {}\n", file.display());
    }
    stdin
        .write_all(stop.as_bytes())
        .await
        .expect("profiler stdin");
    let mut report = String::new();
    let mut per_request = Vec::new();
    while let Ok(Some(l)) = lines.next_line().await {
        if let Some(rest) = l.strip_prefix("per-request ") {
            if let Some((label, ms)) = rest.split_once(' ') {
                let ms: Vec<f64> = serde_json::from_str(ms).unwrap_or_default();
                per_request.push((label.to_string(), bench::PerRequest::from_ms(ms)));
            }
            continue;
        }
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
    print_per_request(&scenario, &per_request);
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
        _ => health(20, &mut Vec::new()).await,
    }
}

async fn health(n: usize, starts: &mut Vec<u64>) {
    let http = client();
    let edge = stack().edge;
    for _ in 0..n {
        starts.push(bench::monotonic_us());
        let _ = http.get(format!("{edge}/health")).send().await;
    }
}

/// Each request's isolate busy time (the profile cut at the runner's request start times) for
/// the scenario and /health, and the scenario above /health's median: the edge's own CPU per
/// request as Cloudflare bills it (the isolate; D1 runs elsewhere there), profiler included.
fn print_per_request(scenario: &str, runs: &[(String, bench::PerRequest)]) {
    if runs.is_empty() {
        return;
    }
    println!();
    println!(
        "isolate busy per request (the edge's V8 profile cut at each request's start; ms, profiler overhead included):"
    );
    for (label, each) in runs {
        println!(
            "  {label:<14} n {:>4}  mean {:.2}  p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
            each.sorted_ms.len(),
            each.mean(),
            each.quantile(0.5),
            each.quantile(0.9),
            each.quantile(0.99),
            each.sorted_ms.last().copied().unwrap_or(0.0)
        );
    }
    let of = |l: &str| runs.iter().find(|(label, _)| label == l).map(|(_, e)| e);
    let (Some(each), Some(base)) = (of(scenario), of("health")) else {
        return;
    };
    if scenario == "health" {
        return;
    }
    let base = base.quantile(0.5);
    let (p50, p99) = (each.quantile(0.5) - base, each.quantile(0.99) - base);
    println!("  {scenario} above /health's median: p50 {p50:.2} ms, p99 {p99:.2} ms");
    // A reconcile of a settled Amazon payment makes two signed Get Charge calls.
    if scenario == "get-charge" {
        println!(
            "  per signed call (two per reconcile): p50 {:.2} ms, p99 {:.2} ms",
            p50 / 2.0,
            p99 / 2.0
        );
    }
}

/// Drives the load; answers how many units (charges, payments, requests) it did. Requests sent
/// one at a time have their start times (µs, [`bench::monotonic_us`]) pushed to `starts`, then
/// the end of the last one.
async fn drive(load: &Load, n: usize, starts: &mut Vec<u64>) -> usize {
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
                starts.push(bench::monotonic_us());
                let (s, _) = amazon_button(p, json!({ "return_url": amazon_return_url() })).await;
                assert_eq!(s, 200);
            }
            starts.push(bench::monotonic_us());
            n
        }
        Load::Reconcile(path) => {
            for _ in 0..n {
                starts.push(bench::monotonic_us());
                let (s, _) = merchant(reqwest::Method::POST, path, None).await;
                assert_eq!(s, 200);
            }
            starts.push(bench::monotonic_us());
            n
        }
        Load::Ipn(envelopes) => {
            for e in envelopes {
                starts.push(bench::monotonic_us());
                bench::post_ipn(e).await;
            }
            starts.push(bench::monotonic_us());
            envelopes.len()
        }
        Load::Health => {
            health(n, starts).await;
            starts.push(bench::monotonic_us());
            n
        }
    }
}
