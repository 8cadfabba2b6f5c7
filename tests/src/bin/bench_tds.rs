//! Worker CPU of the EMV 3-D Secure 2 path on the edge (run through `scripts/bench-tds.sh`).
//!
//! Starts the benchmark stack with `THREE_D_SECURE=required` (no test clock), prepares N card
//! payments and sandbox tokens (not measured), then reads the workerd processes' CPU (utime +
//! stime) around, one request at a time:
//! - N `POST /v1/checkout/{id}/card` answered `requires_action` (claim, EntryTran with TdFlag=2,
//!   ExecTran with RetUrl and the risk fields, ACS=2 parsed, D1 updates and events);
//! - N returns to `POST /v1/checkout/{id}/3ds/return` (AccessID check, claim, SecureTran2, 仮売上,
//!   D1, the 303 to the shop), after the sandbox's ACS pages were driven (not measured);
//! - N `GET /health` as the baseline that is subtracted.
//!
//! Usage: `bench_tds [N]` (default 100).

use kessai_tests::bench::{self, Sample, measure};
use kessai_tests::tds::{HtmlForm, device_step, return_form, submit, tds_return_url};
use kessai_tests::*;
use serde_json::{Value, json};

/// N payments with a token each (the card POST's body), set up before any measurement.
async fn prepare(n: usize) -> Vec<(Value, Value)> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let p = create_payment(2_980).await;
        let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
        out.push((p, json!({ "token": token, "return_url": tds_return_url() })));
    }
    out
}

fn row(label: &str, s: &Sample, base: Option<&Sample>) {
    println!(
        "{:<58} {:>11.2} {:>12.2} {:>13}",
        label,
        s.cpu_ms_per_req,
        s.wall_ms_per_req,
        base.map(|b| format!("{:.2}", s.cpu_ms_per_req - b.cpu_ms_per_req))
            .unwrap_or_else(|| "-".to_string())
    );
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let urls = bench_stack_3ds();
    let pids = bench::workerd_pids(&urls.state_dir);
    if pids.is_empty() {
        eprintln!(
            "no workerd process found under wrangler for {}",
            urls.state_dir.display()
        );
        std::process::exit(2);
    }
    let http = client();
    let health_url = format!("{}/health", urls.edge);
    // Warm-up (JIT, D1, connections): a few whole 3-D Secure payments.
    for (p, body) in prepare(5).await {
        let (_, answer) = widget_post(&p, body).await;
        let url = answer["next_action"]["url"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let (html, _) = device_step(&url).await;
        submit(&return_form(&html).0.action, &return_form(&html).0, &[]).await;
    }
    let payments = prepare(n).await;

    let health = measure(&pids, n, || {
        let (http, url) = (http.clone(), health_url.clone());
        async move {
            let r = http.get(url).send().await.expect("health");
            assert!(r.status().is_success());
        }
    })
    .await;

    let mut redirects: Vec<String> = Vec::with_capacity(n);
    let mut todo = payments.iter();
    let card = {
        let redirects = &mut redirects;
        let cpu0 = bench::cpu_ms(&pids);
        let t0 = std::time::Instant::now();
        for _ in 0..n {
            let Some((p, body)) = todo.next() else { break };
            let (status, answer) = widget_post(p, body.clone()).await;
            assert_eq!(
                (status, answer["state"].clone()),
                (200, json!("requires_action")),
                "{answer}"
            );
            redirects.push(
                answer["next_action"]["url"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
        }
        Sample {
            cpu_ms_per_req: (bench::cpu_ms(&pids) - cpu0) / n as f64,
            wall_ms_per_req: t0.elapsed().as_secs_f64() * 1000.0 / n as f64,
        }
    };

    // The shopper at the issuer (sandbox only, not measured): the return forms.
    let mut forms: Vec<HtmlForm> = Vec::with_capacity(n);
    for url in &redirects {
        let (html, _) = device_step(url).await;
        forms.push(return_form(&html).0);
    }
    let mut next = forms.into_iter();
    let ret = measure(&pids, n, || {
        let f = next.next();
        async move {
            let Some(f) = f else { return };
            let back = submit(&f.action, &f, &[]).await;
            let outcome = back
                .location
                .as_deref()
                .and_then(|l| query_param(l, "kessai_card"));
            assert_eq!(
                (back.status, outcome.as_deref()),
                (303, Some("authorized")),
                "{}",
                back.body
            );
        }
    })
    .await;

    println!(
        "EMV 3-D Secure 2 on the edge: worker CPU (workerd utime+stime, {} process(es)), N = {n} each, one at a time",
        pids.len()
    );
    println!(
        "{:<58} {:>11} {:>12} {:>13}",
        "request", "CPU ms/req", "wall ms/req", "CPU ms/req*"
    );
    row("GET /health (baseline)", &health, None);
    row(
        "POST /v1/checkout/{id}/card → requires_action (ACS=2)",
        &card,
        Some(&health),
    );
    row(
        "POST /v1/checkout/{id}/3ds/return → SecureTran2, 303",
        &ret,
        Some(&health),
    );
    println!("* minus the /health baseline.");
    println!(
        "3-D Secure payment on the edge (card POST + return, minus 2 × baseline): {:.2} ms CPU",
        card.cpu_ms_per_req + ret.cpu_ms_per_req - 2.0 * health.cpu_ms_per_req
    );
    std::process::exit(0);
}
