//! Issue #17: the Amazon Pay checkout on kessai's edge side by side with a minimal Node server
//! on the official Amazon Pay Node SDK, in one run, against the same Amazon Pay sandbox (run
//! through `scripts/bench-side-by-side.sh`; the choices are explained in
//! `docs/bench-side-by-side.md`).
//!
//! The compared unit of work is one order taken from "payable" to "仮売上 recorded in the
//! database" through the three server requests of an Amazon checkout:
//! - kessai (the edge in workerd with local D1, without `wrangler dev` around it unless
//!   `KESSAI_BENCH_RUNTIME=wrangler`): `POST /v1/checkout/{id}/amazon-pay/button`
//!   (D1 + RSA-PSS), `GET /v1/amazon-pay/review` (Get + Update Checkout Session, D1),
//!   `GET /v1/amazon-pay/result` (Complete Checkout Session + Get Charge, D1);
//! - Node (`tools/node-bench/server.js`, SQLite in process): `POST /orders/{id}/amazon/checkout-session`
//!   (Create Checkout Session, SQLite), `GET /amazon/review` (Get + Update Checkout Session,
//!   SQLite), `GET /amazon/result` (Complete Checkout Session + Get Charge, SQLite); with
//!   `--node-minimal` without the Get calls.
//!
//! Set-up, not measured: creating the order, the buyer's hosted pages at the sandbox (login,
//! address, the processing page). For each concurrency (1, 8, 32, 128) and each side, the three
//! steps run as three phases of N orders each with that many requests in flight; throughput =
//! N ÷ (sum of the three phases' wall times), an order's latency = the sum of its three requests'
//! latencies (p50/p99 over the orders). The two sides alternate which goes first at each level.
//! Every measured order must end 仮売上 (authorized); the sandbox's request log is checked for
//! refused calls on either side.
//!
//! Usage: `bench_side_by_side [--node-minimal] [C:N …]` (default `1:30 8:96 32:128 128:256`).

use futures_util::StreamExt;
use kessai_sandbox::amazon::{AmazonSandboxConfig, MerchantKey};
use kessai_tests::bench::{cpu_ms, runtime_pids, workerd_pids};
use kessai_tests::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Side {
    Kessai,
    Node,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Kessai => "kessai",
            Side::Node => "node",
        }
    }
}

struct Env {
    edge: String,
    node: String,
    sandbox: String,
    return_url: String,
    /// The measured requests (both sides): no redirects followed, a shared connection pool.
    measured: reqwest::Client,
    /// Set-up requests.
    setup: reqwest::Client,
    amazon_cfg: Value,
}

/// One order as it moves through the flow.
#[derive(Clone, Default)]
struct Order {
    /// kessai: the payment JSON (id, client_secret); node: `{id}`.
    p: Value,
    /// kessai: the signed button (payload_json, signature); node: `{checkoutSessionId}`.
    started: Value,
    review_url: String,
    result_url: String,
    lat: [Duration; 3],
}

struct Row {
    throughput: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_ms_per_order: f64,
    /// CPU ms per order of each process group (kessai: workerd, wrangler's Node; node: the server).
    cpu_split: Vec<f64>,
    step_p50_ms: [f64; 3],
}

fn client(redirects: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256);
    if !redirects {
        b = b.redirect(reqwest::redirect::Policy::none());
    }
    b.build().expect("reqwest client")
}

fn location(r: &reqwest::Response, base: &str) -> Option<String> {
    let l = r.headers().get("location")?.to_str().ok()?;
    if l.starts_with("http://") || l.starts_with("https://") {
        Some(l.to_string())
    } else {
        let origin_end = base
            .find("://")
            .map(|i| i + 3)
            .and_then(|i| base[i..].find('/').map(|j| i + j))
            .unwrap_or(base.len());
        Some(format!("{}{l}", &base[..origin_end]))
    }
}

/// GET `url` without following redirects: status and Location.
async fn get_hop(c: &reqwest::Client, url: &str) -> (u16, Option<String>, String) {
    let r = c.get(url).send().await.expect("reachable");
    let status = r.status().as_u16();
    let loc = location(&r, url);
    (status, loc, r.text().await.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// Set-up (not measured)

async fn new_order(env: &Env, side: Side, amount: i64) -> Order {
    let p = match side {
        Side::Kessai => {
            let r = env
                .setup
                .post(format!("{}/v1/payments", env.edge))
                .bearer_auth(kessai_demo::stack::MERCHANT_SECRET_KEY)
                .json(&json!({ "order_id": order_id("SBS"), "amount": amount }))
                .send()
                .await
                .expect("edge reachable");
            assert_eq!(r.status().as_u16(), 201);
            r.json::<Value>().await.expect("payment json")
        }
        Side::Node => {
            let r = env
                .setup
                .post(format!("{}/orders", env.node))
                .json(&json!({ "order_id": order_id("SBS"), "amount": amount }))
                .send()
                .await
                .expect("node reachable");
            assert_eq!(r.status().as_u16(), 201);
            r.json::<Value>().await.expect("order json")
        }
    };
    Order {
        p,
        ..Order::default()
    }
}

/// The buyer on Amazon's pages: the button click (kessai: checkout.js posts the signed payload;
/// node: checkout.js opens the session the server created), login as taro, the first address.
async fn buyer_to_review(env: &Env, side: Side, mut o: Order) -> Order {
    let start = match side {
        Side::Kessai => {
            amazon_start(
                "PayAndShip",
                o.started["payload_json"].as_str().expect("payload"),
                o.started["signature"].as_str().expect("signature"),
                &env.amazon_cfg,
            )
            .await
        }
        Side::Node => {
            let cs = o.started["checkoutSessionId"].as_str().expect("cs id");
            Hop {
                status: 303,
                location: Some(format!(
                    "{}/checkout/login?amazonCheckoutSessionId={cs}",
                    env.sandbox
                )),
                body: String::new(),
            }
        }
    };
    assert_eq!(start.status, 303, "start: {}", start.body);
    let (review, _cs) = amazon_login_and_choose(&start, "taro", 0).await;
    o.review_url = review;
    o
}

/// Amazon's processing page (after the review redirected there): on to the result URL.
async fn buyer_to_result(env: &Env, mut o: Order) -> Order {
    let (status, loc, body) = get_hop(&env.setup, &o.result_url).await;
    assert_eq!(status, 303, "processing: {body}");
    o.result_url = loc.expect("checkoutResultReturnUrl");
    o
}

// ---------------------------------------------------------------------------------------------
// The measured steps

async fn step_start(env: &Env, side: Side, mut o: Order) -> Order {
    let t = Instant::now();
    let (status, v) = match side {
        Side::Kessai => {
            let id = o.p["id"].as_str().unwrap_or("");
            let secret = o.p["client_secret"].as_str().unwrap_or("");
            let r = env
                .measured
                .post(format!("{}/v1/checkout/{id}/amazon-pay/button", env.edge))
                .header("origin", storefront_origin(env))
                .header("x-client-secret", secret)
                .header("cf-connecting-ip", shopper_ip(secret))
                .json(&json!({ "return_url": env.return_url }))
                .send()
                .await
                .expect("edge reachable");
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
        Side::Node => {
            let id = o.p["id"].as_str().unwrap_or("");
            let r = env
                .measured
                .post(format!("{}/orders/{id}/amazon/checkout-session", env.node))
                .json(&json!({ "return_url": env.return_url }))
                .send()
                .await
                .expect("node reachable");
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    o.lat[0] = t.elapsed();
    assert_eq!(status, 200, "{} start: {v}", side.name());
    o.started = v;
    o
}

async fn step_review(env: &Env, side: Side, mut o: Order) -> Order {
    let t = Instant::now();
    let (status, loc, body) = get_hop(&env.measured, &o.review_url).await;
    o.lat[1] = t.elapsed();
    assert_eq!(status, 303, "{} review: {body}", side.name());
    let next = loc.expect("amazonPayRedirectUrl");
    assert!(
        next.starts_with(&format!("{}/checkout/processing", env.sandbox)),
        "{} review must send the buyer to Amazon: {next}",
        side.name()
    );
    o.result_url = next; // the processing page, until `buyer_to_result`
    o
}

async fn step_result(env: &Env, side: Side, mut o: Order) -> Order {
    let t = Instant::now();
    let (status, loc, body) = get_hop(&env.measured, &o.result_url).await;
    o.lat[2] = t.elapsed();
    assert_eq!(status, 303, "{} result: {body}", side.name());
    let back = loc.unwrap_or_default();
    let ok = match side {
        Side::Kessai => back.ends_with("kessai_amazon=authorized"),
        Side::Node => back.ends_with("outcome=authorized"),
    };
    assert!(ok, "{} result must end authorized: {back}", side.name());
    o
}

fn storefront_origin(env: &Env) -> String {
    let u = reqwest::Url::parse(&env.return_url).expect("return url");
    u.origin().ascii_serialization()
}

// ---------------------------------------------------------------------------------------------
// Phases

/// Runs `f` over `orders` with `c` in flight; answers the orders (in their original order) and
/// the wall time.
async fn phase<F, Fut>(orders: Vec<Order>, c: usize, f: F) -> (Vec<Order>, Duration)
where
    F: Fn(Order) -> Fut,
    Fut: std::future::Future<Output = Order>,
{
    let t = Instant::now();
    let mut out: Vec<(usize, Order)> = futures_util::stream::iter(orders.into_iter().enumerate())
        .map(|(i, o)| {
            let fut = f(o);
            async move { (i, fut.await) }
        })
        .buffer_unordered(c.max(1))
        .collect()
        .await;
    let wall = t.elapsed();
    out.sort_by_key(|(i, _)| *i);
    (out.into_iter().map(|(_, o)| o).collect(), wall)
}

const SETUP_CONCURRENCY: usize = 8;

fn percentile(sorted_ms: &[f64], q: f64) -> f64 {
    if sorted_ms.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted_ms.len() as f64).ceil() as usize;
    sorted_ms[rank.clamp(1, sorted_ms.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` orders through the whole flow on `side` with `c` measured requests in flight.
async fn run(env: &Env, side: Side, c: usize, n: usize, groups: &[Vec<i32>]) -> Row {
    let (orders, _) = phase(
        (0..n).map(|_| Order::default()).collect(),
        SETUP_CONCURRENCY,
        |_| new_order(env, side, 1_000 + (fastrand_amount() % 9_000)),
    )
    .await;
    let mut wall = Duration::ZERO;
    let mut cpu = vec![0.0; groups.len()];
    let cpu_now = || groups.iter().map(|g| cpu_ms(g)).collect::<Vec<f64>>();
    let add = |cpu: &mut Vec<f64>, before: Vec<f64>| {
        for ((c, a), b) in cpu.iter_mut().zip(cpu_now()).zip(before) {
            *c += a - b;
        }
    };

    let cpu0 = cpu_now();
    let (orders, w) = phase(orders, c, |o| step_start(env, side, o)).await;
    add(&mut cpu, cpu0);
    wall += w;
    let (orders, _) = phase(orders, SETUP_CONCURRENCY, |o| buyer_to_review(env, side, o)).await;

    let cpu0 = cpu_now();
    let (orders, w) = phase(orders, c, |o| step_review(env, side, o)).await;
    add(&mut cpu, cpu0);
    wall += w;
    let (orders, _) = phase(orders, SETUP_CONCURRENCY, |o| buyer_to_result(env, o)).await;

    let cpu0 = cpu_now();
    let (orders, w) = phase(orders, c, |o| step_result(env, side, o)).await;
    add(&mut cpu, cpu0);
    wall += w;

    let mut per_order: Vec<f64> = orders.iter().map(|o| ms(o.lat.iter().sum())).collect();
    per_order.sort_by(f64::total_cmp);
    let step_p50_ms = [0, 1, 2].map(|k| {
        let mut v: Vec<f64> = orders.iter().map(|o| ms(o.lat[k])).collect();
        v.sort_by(f64::total_cmp);
        percentile(&v, 0.5)
    });
    Row {
        throughput: n as f64 / wall.as_secs_f64(),
        p50_ms: percentile(&per_order, 0.5),
        p99_ms: percentile(&per_order, 0.99),
        cpu_ms_per_order: cpu.iter().sum::<f64>() / n as f64,
        cpu_split: cpu.iter().map(|c| c / n as f64).collect(),
        step_p50_ms,
    }
}

fn fastrand_amount() -> i64 {
    use std::sync::atomic::{AtomicI64, Ordering};
    static N: AtomicI64 = AtomicI64::new(0);
    N.fetch_add(7_919, Ordering::Relaxed).rem_euclid(1_000_003)
}

// ---------------------------------------------------------------------------------------------
// The Node server

/// How kessai's edge runs in this benchmark (see `kessai_tests::bench_stack`).
fn runtime_label() -> &'static str {
    match bench_runtime() {
        kessai_demo::stack::EdgeRuntime::WranglerDev => "workerd under wrangler dev",
        kessai_demo::stack::EdgeRuntime::Workerd => {
            "workerd without wrangler dev (tools/edge-runtime/serve.mjs)"
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct NodeServer {
    child: std::process::Child,
    url: String,
}

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_node(urls: &Urls, cfg: &AmazonSandboxConfig, minimal: bool) -> NodeServer {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let server = root.join("tools/node-bench/server.js");
    assert!(
        root.join("tools/node-bench/node_modules/@amazonpay/amazon-pay-api-sdk-nodejs")
            .is_dir(),
        "run scripts/bench-side-by-side.sh (npm install --prefix tools/node-bench)"
    );
    let dir = urls.state_dir.join("node-bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("node-bench dir");
    let key = dir.join("merchant-key.pem");
    std::fs::write(&key, &urls.amazon_private_key_pem).expect("key file");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("server.log")).expect("log");
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let mut cmd = std::process::Command::new(node);
    cmd.arg(&server)
        .env("PORT", port.to_string())
        .env("SANDBOX_URL", &urls.amazon_sandbox)
        .env("MERCHANT_ID", &cfg.merchant_id)
        .env("STORE_ID", &cfg.store_id)
        .env("PUBLIC_KEY_ID", &cfg.public_key_id)
        .env("PRIVATE_KEY_FILE", &key)
        .env("DB_FILE", dir.join("orders.sqlite"))
        .env("PUBLIC_URL", &url)
        .env("CHECKS", if minimal { "minimal" } else { "mirror" })
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    // The server goes with this process, however it ends.
    use std::os::unix::process::CommandExt;
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .expect("node (scripts/setup.sh puts Node 22 on PATH)");
    // From here on, dropping the handle stops and reaps the server.
    let server = NodeServer { child, url };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(server);
    panic!(
        "the Node server did not start; see {}",
        dir.join("server.log").display()
    );
}

// ---------------------------------------------------------------------------------------------

/// Sandbox API calls per side (the edge signs `/sandbox/v2/…`, the Node SDK `/v2/…` because the
/// key id is environment-specific): per API name, and the refused ones.
async fn sandbox_calls(
    env: &Env,
) -> (
    std::collections::BTreeMap<(Side, String), usize>,
    [usize; 2],
) {
    let log: Value = env
        .setup
        .get(format!("{}/__sandbox/amazon/requests", env.sandbox))
        .send()
        .await
        .expect("sandbox")
        .json()
        .await
        .expect("json");
    let mut calls = std::collections::BTreeMap::new();
    let mut refused = [0, 0];
    for r in log.as_array().cloned().unwrap_or_default() {
        let path = r["path"].as_str().unwrap_or("");
        let side = if path.starts_with("/sandbox/") {
            Side::Kessai
        } else {
            Side::Node
        };
        let api = r["api"].as_str().unwrap_or("-").to_string();
        *calls.entry((side, api)).or_insert(0) += 1;
        if !(200..300).contains(&r["status"].as_u64().unwrap_or(0)) {
            refused[side as usize] += 1;
        }
    }
    (calls, refused)
}

#[tokio::main]
async fn main() {
    let mut minimal = false;
    let mut levels: Vec<(usize, usize)> = Vec::new();
    for a in std::env::args().skip(1) {
        if a == "--node-minimal" {
            minimal = true;
        } else if let Some((c, n)) = a.split_once(':') {
            levels.push((
                c.parse().expect("C:N (concurrency:orders)"),
                n.parse().expect("C:N (concurrency:orders)"),
            ));
        } else {
            eprintln!("usage: bench_side_by_side [--node-minimal] [C:N …]");
            std::process::exit(2);
        }
    }
    if levels.is_empty() {
        levels = vec![(1, 30), (8, 96), (32, 128), (128, 256)];
    }

    let t_all = Instant::now();
    let urls = bench_stack();
    let cfg = AmazonSandboxConfig::for_key(&MerchantKey {
        private_pkcs8_pem: urls.amazon_private_key_pem.clone(),
        public_spki_pem: urls.amazon_public_key_pem.clone(),
    });
    let node = start_node(&urls, &cfg, minimal);
    let env = Env {
        edge: urls.edge.clone(),
        node: node.url.clone(),
        sandbox: urls.amazon_sandbox.clone(),
        return_url: amazon_return_url(),
        measured: client(false),
        setup: client(false),
        amazon_cfg: Value::Null,
    };
    let probe = new_order(&env, Side::Kessai, 1_000).await;
    let env = Env {
        amazon_cfg: amazon_config(&probe.p).await,
        ..env
    };
    let stats: Value = env
        .setup
        .get(format!("{}/stats", env.node))
        .send()
        .await
        .expect("node server")
        .json()
        .await
        .expect("stats");
    let kessai_all = runtime_pids(&urls.state_dir);
    let workerd = workerd_pids(&urls.state_dir);
    let kessai_procs = vec![
        workerd.clone(),
        kessai_all
            .into_iter()
            .filter(|p| !workerd.contains(p))
            .collect::<Vec<i32>>(),
    ];
    let node_procs = vec![vec![node.child.id() as i32]];

    // Warm-up (not reported): JIT, the key import, D1 and SQLite, connections.
    for side in [Side::Kessai, Side::Node] {
        let _ = run(&env, side, 4, 16, &[]).await;
    }

    let mut table = Vec::new();
    let mut orders_total = [16usize, 16];
    for (i, &(c, n)) in levels.iter().enumerate() {
        let order = if i % 2 == 0 {
            [Side::Kessai, Side::Node]
        } else {
            [Side::Node, Side::Kessai]
        };
        let mut rows: [Option<Row>; 2] = [None, None];
        for side in order {
            let pids = match side {
                Side::Kessai => &kessai_procs,
                Side::Node => &node_procs,
            };
            rows[side as usize] = Some(run(&env, side, c, n, pids).await);
            orders_total[side as usize] += n;
        }
        let [Some(k), Some(nd)] = rows else {
            unreachable!()
        };
        eprintln!(
            "c={c} n={n}: kessai {:.1}/s p50 {:.1} ms, node {:.1}/s p50 {:.1} ms",
            k.throughput, k.p50_ms, nd.throughput, nd.p50_ms
        );
        table.push((c, n, k, nd));
    }
    let (calls, refused) = sandbox_calls(&env).await;

    println!();
    println!(
        "Amazon Pay checkout, side by side (issue #17): one order = 3 server requests, payable → 仮売上 in the DB"
    );
    println!(
        "  kessai: button (D1, RSA-PSS) + review (Get+Update CS, D1) + result (Complete CS + Get Charge, D1); {}, local D1",
        runtime_label()
    );
    println!(
        "  node:   create (Create CS, SQLite) + review ({}Update CS, SQLite) + result (Complete CS{}, SQLite); Node {}, {}, Amazon Pay Node SDK 2.3.4",
        if minimal { "" } else { "Get+" },
        if minimal { "" } else { " + Get Charge" },
        stats["node"].as_str().unwrap_or("?"),
        stats["db"].as_str().unwrap_or("?"),
    );
    println!(
        "  same sandbox process, same reqwest client; buyer's hosted pages outside the measured part; {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    println!();
    println!(
        "{:>5} {:>5} | {:>9} {:>8} {:>8} {:>8} | {:>9} {:>8} {:>8} {:>8} | {:>7} {:>7}",
        "conc",
        "N",
        "kessai/s",
        "p50 ms",
        "p99 ms",
        "CPU ms",
        "node/s",
        "p50 ms",
        "p99 ms",
        "CPU ms",
        "ratio",
        "p50 ×"
    );
    let mut all_pass = true;
    for (c, n, k, nd) in &table {
        let ratio = k.throughput / nd.throughput;
        all_pass &= ratio >= 1.5;
        println!(
            "{:>5} {:>5} | {:>9.1} {:>8.1} {:>8.1} {:>8.2} | {:>9.1} {:>8.1} {:>8.1} {:>8.2} | {:>6.2}× {:>6.2}×",
            c,
            n,
            k.throughput,
            k.p50_ms,
            k.p99_ms,
            k.cpu_ms_per_order,
            nd.throughput,
            nd.p50_ms,
            nd.p99_ms,
            nd.cpu_ms_per_order,
            ratio,
            nd.p50_ms / k.p50_ms,
        );
    }
    println!(
        "  throughput in orders/s; p50/p99 of an order's three request latencies summed; CPU ms/order of the server's processes"
    );
    println!(
        "  (kessai: workerd + its launcher's Node; node: the Node process) during the measured phases; ratio = kessai ÷ node throughput; p50 × = node p50 ÷ kessai p50"
    );
    println!();
    println!(
        "kessai CPU ms/order by process: workerd / its launcher (Node: wrangler dev, or serve.mjs) — {}",
        table
            .iter()
            .map(|(c, _, k, _)| format!(
                "c={c}: {:.1} / {:.1}",
                k.cpu_split.first().copied().unwrap_or(0.0),
                k.cpu_split.get(1).copied().unwrap_or(0.0)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("per-step p50 (ms): start / review / result");
    for (c, _, k, nd) in &table {
        println!(
            "  c={c:<4} kessai {:>6.1} / {:>6.1} / {:>6.1}   node {:>6.1} / {:>6.1} / {:>6.1}",
            k.step_p50_ms[0],
            k.step_p50_ms[1],
            k.step_p50_ms[2],
            nd.step_p50_ms[0],
            nd.step_p50_ms[1],
            nd.step_p50_ms[2]
        );
    }
    println!();
    for side in [Side::Kessai, Side::Node] {
        let per: Vec<String> = calls
            .iter()
            .filter(|((s, _), _)| *s == side)
            .map(|((_, api), count)| {
                format!(
                    "{api} {:.2}",
                    *count as f64 / orders_total[side as usize] as f64
                )
            })
            .collect();
        println!(
            "sandbox API calls per order, {}: {} ({} orders incl. warm-up; refused: {})",
            side.name(),
            per.join(", "),
            orders_total[side as usize],
            refused[side as usize]
        );
    }
    let verdict = if all_pass { "PASS" } else { "FAIL" };
    println!(
        "goal: ≥ 1.5× kessai's throughput over node's at every concurrency: {verdict} ({:.0} s in all)",
        t_all.elapsed().as_secs_f64()
    );
    drop(node);
    std::process::exit(if refused == [0, 0] { 0 } else { 1 });
}
