//! Fault-injection soak (issue #16): N payments through the real edge (workerd + D1) against
//! both sandboxes from C concurrent clients, a fraction P of the gateway calls faulted, then the
//! edge's Cron Trigger sweep, then every payment compared with the gateways' own records.
//!
//! Each payment is a card (token → authorise) or an Amazon Pay checkout (button → Amazon's
//! pages → review → result), followed by a plan of after-order operations: capture, amount
//! change, cancel, refund, or a place in a bulk capture. Before each gateway-bound step a fault
//! may be armed, scoped to that payment's GMO OrderID or Amazon object, so another client's
//! payment never trips it (kinds: [`GMO_KINDS`], [`AMAZON_KINDS`]). Faults are tagged with their
//! kind; those still armed at the end (the step never reached the gateway) are not counted.
//!
//! At the end: the clocks of the edge and both sandboxes move 10 minutes ahead (past the edge's
//! 90 s in-flight window and its 240 s lease), the Cron Trigger runs until nothing is left
//! `unknown` / `processing` (or it stops making progress), and each payment's edge view
//! (`GET /v1/payments/{id}`) is compared with the GMO sandbox's trades (every OrderID the payment
//! ever used) or the Amazon sandbox's charges and refunds (every checkout session the client
//! opened for it). Run by `scripts/soak.sh` (`src/bin/soak.rs`) and, CI-sized, by
//! `tests/soak_edge.rs`.

use crate::*;
use kessai_demo::stack::MERCHANT_SECRET_KEY;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// GMO fault kinds: the answer lost after GMO committed (answered after the edge's timeout);
/// the call still running at GMO when the edge gives up (`execute_late`); E90 / E91 / 42C
/// (outcome unknown: committed or not, at random); E92 (busy: nothing executed, 1–4 times in a
/// row, so the edge's three back-off repeats sometimes run out).
pub const GMO_KINDS: [&str; 6] = [
    "gmo_answer_lost",
    "gmo_execute_late",
    "gmo_e90",
    "gmo_e91",
    "gmo_42c",
    "gmo_e92_busy",
];
/// Amazon fault kinds: answer dropped after Amazon committed; answer later than the edge's
/// timeout (committed); the call still running at Amazon when the edge gives up
/// (`execute_late`); 429 (throttled, nothing executed); 500/503 (nothing executed, or committed:
/// at random).
pub const AMAZON_KINDS: [&str; 5] = [
    "amazon_answer_dropped",
    "amazon_slow",
    "amazon_execute_late",
    "amazon_429",
    "amazon_5xx",
];

#[derive(Clone, Debug)]
pub struct SoakOptions {
    pub payments: usize,
    /// Probability that a gateway-bound step gets a fault.
    pub fault_rate: f64,
    pub clients: usize,
    /// Share of payments paid with Amazon Pay (the rest by card).
    pub amazon_share: f64,
    pub seed: u64,
    /// Stop and start `wrangler dev` (same D1 state, same port) once, half-way.
    pub restart_edge: bool,
    /// After the sweep, change three payments behind the edge's back (a second GMO
    /// authorisation, a GMO void, an Amazon capture in "Seller Central") and check that the
    /// verification flags exactly those: a test of the checker itself.
    pub self_check: bool,
}

impl Default for SoakOptions {
    fn default() -> Self {
        SoakOptions {
            payments: 10_000,
            fault_rate: 0.10,
            clients: 32,
            amazon_share: 0.3,
            seed: 16,
            restart_edge: false,
            self_check: true,
        }
    }
}

/// One problem found, per payment.
#[derive(Clone, Debug)]
pub struct Finding {
    pub payment_id: String,
    pub method: &'static str,
    pub what: String,
    /// The payment's history at the edge and its calls as the sandboxes logged them.
    pub detail: String,
}

#[derive(Debug, Default)]
pub struct SoakReport {
    /// Payments created (and checked); `planned` were attempted.
    pub payments: usize,
    pub planned: usize,
    pub card: usize,
    pub amazon: usize,
    pub clients: usize,
    pub fault_rate: f64,
    /// Faults that reached the gateway, by kind.
    pub faults_injected: BTreeMap<String, usize>,
    /// Faults armed whose step never reached the gateway (refused before, or moved OrderID).
    pub faults_unused: usize,
    /// Final edge states, by state.
    pub states: BTreeMap<String, usize>,
    /// Answers the clients got that left the outcome open (202 / outcome_unknown / lost).
    pub open_answers: usize,
    pub double_charges: Vec<Finding>,
    /// Edge state vs gateway state disagree, or an acknowledged change is not what stands.
    pub mismatches: Vec<Finding>,
    pub unreconciled: Vec<Finding>,
    /// Client-side surprises that are not wrong states (e.g. an unexpected status code).
    pub notes: BTreeMap<String, usize>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub requests: usize,
    pub workload_s: f64,
    pub sweep_runs: usize,
    pub sweep_s: f64,
    pub verify_s: f64,
    pub edge_restarts: usize,
    /// The self-check's changes made behind the edge's back and whether each was flagged as it
    /// should be (they are not counted above).
    pub self_check: Vec<(String, bool)>,
}

impl SoakReport {
    pub fn ok(&self) -> bool {
        self.double_charges.is_empty()
            && self.mismatches.is_empty()
            && self.unreconciled.is_empty()
            && self.self_check.iter().all(|(_, flagged)| *flagged)
    }
}

impl std::fmt::Display for SoakReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "soak: {} payments ({} card, {} Amazon Pay; {} planned), {} clients, fault rate {:.2}, edge restarts {}",
            self.payments,
            self.card,
            self.amazon,
            self.planned,
            self.clients,
            self.fault_rate,
            self.edge_restarts
        )?;
        let total: usize = self.faults_injected.values().sum();
        writeln!(
            f,
            "faults injected: {total} (armed but never reached: {})",
            self.faults_unused
        )?;
        for (k, v) in &self.faults_injected {
            writeln!(f, "  {k:<24} {v}")?;
        }
        writeln!(f, "answers left open to the client: {}", self.open_answers)?;
        let states: Vec<String> = self
            .states
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        writeln!(f, "final states: {}", states.join(", "))?;
        if !self.notes.is_empty() {
            let notes: Vec<String> = self.notes.iter().map(|(k, v)| format!("{k} {v}")).collect();
            writeln!(f, "client notes: {}", notes.join(", "))?;
        }
        writeln!(f, "double charges: {}", self.double_charges.len())?;
        writeln!(f, "lost or wrong state changes: {}", self.mismatches.len())?;
        writeln!(
            f,
            "unreconciled after the sweep: {} ({} cron runs, {:.1} s)",
            self.unreconciled.len(),
            self.sweep_runs,
            self.sweep_s
        )?;
        for (name, list) in [
            ("double charge", &self.double_charges),
            ("mismatch", &self.mismatches),
            ("unreconciled", &self.unreconciled),
        ] {
            for x in list.iter().take(20) {
                writeln!(f, "  {name}: {} ({}) {}", x.payment_id, x.method, x.what)?;
                for line in x.detail.lines() {
                    writeln!(f, "      {line}")?;
                }
            }
        }
        for (what, flagged) in &self.self_check {
            let verdict = if *flagged { "flagged" } else { "NOT FLAGGED" };
            writeln!(f, "self-check: {what}: {verdict}")?;
        }
        writeln!(
            f,
            "latency of edge requests: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} requests)",
            self.p50_ms, self.p99_ms, self.max_ms, self.requests
        )?;
        writeln!(
            f,
            "throughput: {:.1} payments/s ({:.1} s for the workload; verification {:.1} s)",
            self.payments as f64 / self.workload_s.max(0.001),
            self.workload_s,
            self.verify_s
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness (deterministic per seed and payment)

#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------
// Plans

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Capture,
    /// Card: any other amount; Amazon: a decrease.
    Amount,
    Cancel,
    RefundPart,
    RefundAll,
    Bulk,
}

fn card_plan(rng: &mut Rng) -> Vec<Op> {
    match rng.below(100) {
        0..15 => vec![],
        15..40 => vec![Op::Capture],
        40..50 => vec![Op::Amount],
        50..60 => vec![Op::Cancel],
        60..70 => vec![Op::Capture, Op::Cancel],
        70..80 => vec![Op::Capture, Op::Amount],
        80..85 => vec![Op::Amount, Op::Capture],
        _ => vec![Op::Bulk],
    }
}

fn amazon_plan(rng: &mut Rng) -> Vec<Op> {
    match rng.below(100) {
        0..15 => vec![],
        15..40 => vec![Op::Capture],
        40..55 => vec![Op::Cancel],
        55..70 => vec![Op::Capture, Op::RefundPart],
        70..80 => vec![Op::Capture, Op::RefundAll],
        80..85 => vec![Op::Amount, Op::Capture],
        _ => vec![Op::Bulk],
    }
}

// ---------------------------------------------------------------------------------------------
// State shared by the clients

/// What a client knows about one payment.
#[derive(Clone, Debug, Default)]
struct Record {
    id: String,
    amazon: bool,
    /// Every checkout session opened for it (Amazon).
    sessions: Vec<String>,
    /// The state the edge answered for the last change it acknowledged (200), if no later
    /// change was tried.
    acked: Option<String>,
    /// A later answer left the outcome open (or the flow stopped on an error).
    open: bool,
    /// Paid by card after an Amazon attempt that did not end in 仮売上.
    by_card: bool,
}

struct Shared {
    opts: SoakOptions,
    urls: Urls,
    http: reqwest::Client,
    latencies: Mutex<Vec<f64>>,
    records: Mutex<Vec<Record>>,
    /// Faults armed, by tag (= kind).
    armed: Mutex<BTreeMap<String, usize>>,
    notes: Mutex<BTreeMap<String, usize>>,
    open_answers: AtomicUsize,
    bulk: Mutex<Vec<usize>>,
    /// Amazon refunds go one at a time: Create Refund names no object, so a fault armed for
    /// one refund would trip whichever refund came next.
    refunds: tokio::sync::Mutex<()>,
    done: AtomicUsize,
    restarts: AtomicUsize,
}

impl Shared {
    fn note(&self, what: impl Into<String>) {
        *self
            .notes
            .lock()
            .expect("notes")
            .entry(what.into())
            .or_default() += 1;
    }
    fn open_answer(&self, idx: usize) {
        self.open_answers.fetch_add(1, Ordering::SeqCst);
        self.records.lock().expect("records")[idx].open = true;
    }
    /// The edge answered that the payment is now in `state` (a change it made, or a refusal
    /// that leaves it): what must stand at the end unless a later change is tried.
    fn ack(&self, idx: usize, state: &Value) {
        let mut r = self.records.lock().expect("records");
        r[idx].acked = state.as_str().map(str::to_string);
        r[idx].open = false;
    }
    fn acked(&self, idx: usize) -> Option<String> {
        self.records.lock().expect("records")[idx].acked.clone()
    }
    fn tried(&self, idx: usize) {
        self.records.lock().expect("records")[idx].acked = None;
    }
}

/// An edge answer: status, JSON body (Null when none), `Location`.
struct Answer {
    status: u16,
    body: Value,
    location: Option<String>,
}

/// One request to the edge, timed. A connection that could not be made (the edge restarting)
/// is tried again for up to 90 s; a request that was sent and got no answer is `Err`.
async fn edge(
    s: &Shared,
    method: reqwest::Method,
    path: &str,
    auth: Auth<'_>,
    body: Option<Value>,
) -> Result<Answer, String> {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", s.urls.edge)
    };
    let started = Instant::now();
    loop {
        let mut req = s.http.request(method.clone(), &url);
        match auth {
            Auth::Merchant => req = req.bearer_auth(MERCHANT_SECRET_KEY),
            Auth::Widget(secret) => {
                req = req
                    .header("origin", &s.urls.storefront)
                    .header("x-client-secret", secret)
                    .header("cf-connecting-ip", shopper_ip(secret));
            }
            Auth::Browser => {}
        }
        if let Some(b) = &body {
            req = req.json(b);
        }
        let t0 = Instant::now();
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let text = resp.text().await.unwrap_or_default();
                s.latencies
                    .lock()
                    .expect("latencies")
                    .push(t0.elapsed().as_secs_f64() * 1000.0);
                let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                return Ok(Answer {
                    status,
                    body,
                    location,
                });
            }
            Err(e) if e.is_connect() && started.elapsed() < Duration::from_secs(90) => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(e) => return Err(format!("{method} {path}: {e}")),
        }
    }
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    Merchant,
    Widget(&'a str),
    Browser,
}

// ---------------------------------------------------------------------------------------------
// Faults

/// Arms a fault on `api` for one OrderID; sometimes (30 %) a second one on the SearchTrade the
/// edge's reconciliation then makes, so the recovery path is faulted too.
async fn arm_gmo(s: &Shared, rng: &mut Rng, api: &str, gmo_order_id: &str) {
    arm_gmo_one(s, rng, api, gmo_order_id).await;
    if api != "EntryTran" && rng.chance(0.3) {
        arm_gmo_one(s, rng, "SearchTrade", gmo_order_id).await;
    }
}

async fn arm_gmo_one(s: &Shared, rng: &mut Rng, api: &str, gmo_order_id: &str) {
    let mut kind = rng.pick(&GMO_KINDS);
    if kind == "gmo_42c" && api != "ExecTran" {
        // 42C is the card network's answer to an authorisation.
        kind = "gmo_e91";
    }
    let tag = if api == "SearchTrade" {
        format!("{kind} (on SearchTrade)")
    } else {
        kind.to_string()
    };
    let mut spec = json!({ "api": api, "order_id": gmo_order_id, "tag": tag });
    let over = TEST_GMO_TIMEOUT_MS + 1_000;
    match kind {
        "gmo_answer_lost" => spec["delay_ms"] = json!(over),
        "gmo_execute_late" => {
            spec["delay_ms"] = json!(over);
            spec["execute_late"] = json!(true);
        }
        "gmo_e90" => {
            spec["err_info"] = json!("E90010001");
            spec["commit"] = json!(rng.chance(0.5));
        }
        "gmo_e91" => {
            spec["err_info"] = json!("E91099999");
            spec["commit"] = json!(rng.chance(0.5));
        }
        "gmo_42c" => {
            spec["err_info"] = json!("42C010000");
            spec["commit"] = json!(rng.chance(0.5));
        }
        _ => {
            spec["err_info"] = json!("E92000001");
            spec["times"] = json!(1 + rng.below(4));
        }
    }
    let times = spec["times"].as_u64().unwrap_or(1) as usize;
    post_fault(s, &format!("{}/__sandbox/faults", s.urls.sandbox), &spec).await;
    *s.armed.lock().expect("armed").entry(tag).or_default() += times;
}

/// Arms a fault on `api` for one Amazon object; after a Complete fault sometimes (30 %) a
/// second one on the Get Checkout Session the edge's reconciliation then makes.
async fn arm_amazon(s: &Shared, rng: &mut Rng, api: &str, object_id: &str) {
    arm_amazon_one(s, rng, api, object_id).await;
    if api == "CompleteCheckoutSession" && rng.chance(0.3) {
        arm_amazon_one(s, rng, "GetCheckoutSession", object_id).await;
    }
}

async fn arm_amazon_one(s: &Shared, rng: &mut Rng, api: &str, object_id: &str) {
    let kind = rng.pick(&AMAZON_KINDS);
    let tag = if api.starts_with("Get") {
        format!("{kind} (on {api})")
    } else {
        kind.to_string()
    };
    let mut spec = json!({ "api": api, "tag": tag });
    if !object_id.is_empty() {
        spec["object_id"] = json!(object_id);
    }
    match kind {
        "amazon_answer_dropped" => spec["drop_answer"] = json!(true),
        "amazon_slow" => spec["delay_ms"] = json!(TEST_AMAZON_TIMEOUT_MS + 1_000),
        "amazon_execute_late" => {
            spec["delay_ms"] = json!(TEST_AMAZON_TIMEOUT_MS + 1_000);
            spec["execute_late"] = json!(true);
        }
        "amazon_429" => spec["status"] = json!(429),
        _ => {
            spec["status"] = json!(if rng.chance(0.5) { 500 } else { 503 });
            spec["commit"] = json!(rng.chance(0.5));
        }
    }
    let url = format!("{}/__sandbox/amazon/faults", s.urls.amazon_sandbox);
    post_fault(s, &url, &spec).await;
    *s.armed.lock().expect("armed").entry(tag).or_default() += 1;
}

async fn post_fault(s: &Shared, url: &str, spec: &Value) {
    let resp = s.http.post(url).json(spec).send().await;
    assert!(
        resp.as_ref().is_ok_and(|r| r.status().is_success()),
        "arming {spec}: {resp:?}"
    );
}

/// Faults still armed at the sandboxes, by tag (uses left).
async fn still_armed(s: &Shared) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for url in [
        format!("{}/__sandbox/faults", s.urls.sandbox),
        format!("{}/__sandbox/amazon/faults", s.urls.amazon_sandbox),
    ] {
        let list: Value = match s.http.get(&url).send().await {
            Ok(r) => r.json().await.unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        for f in list.as_array().into_iter().flatten() {
            if let Some(tag) = f["tag"].as_str() {
                *out.entry(tag.to_string()).or_default() +=
                    f["times"].as_u64().unwrap_or(1) as usize;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// One payment

async fn run_payment(s: &Shared, idx: usize) {
    let mut rng = Rng::new(s.opts.seed.wrapping_mul(1_000_003).wrapping_add(idx as u64));
    let amazon = rng.chance(s.opts.amazon_share);
    let amount = 1_000 + rng.below(49_000) as i64;
    // The shop's server creates the payment; an answer lost (the edge restarting) is asked
    // again for the same order, which resumes the payment the first request made.
    let order = order_id("SOAK");
    let mut created = Value::Null;
    for _ in 0..5 {
        match edge(
            s,
            reqwest::Method::POST,
            "/v1/payments",
            Auth::Merchant,
            Some(json!({ "order_id": order, "amount": amount })),
        )
        .await
        {
            Ok(a) if a.status == 201 || a.status == 200 => {
                created = a.body;
                break;
            }
            Ok(a) => {
                s.note(format!("create {}", a.status));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(_) => {
                s.note("create answer lost (edge)");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    if created.is_null() {
        return;
    }
    let id = created["id"].as_str().unwrap_or_default().to_string();
    {
        let mut r = s.records.lock().expect("records");
        r[idx].id = id.clone();
        r[idx].amazon = amazon;
    }
    let paid = if amazon {
        authorize_amazon(s, &mut rng, idx, &created).await
    } else {
        authorize_card(s, &mut rng, idx, &created, 0).await
    };
    if !paid {
        return;
    }
    // An Amazon checkout the shopper finished by card goes on as a card payment.
    let amazon =
        amazon && s.acked(idx).is_some() && !s.records.lock().expect("records")[idx].by_card;
    let plan = if amazon {
        amazon_plan(&mut rng)
    } else {
        card_plan(&mut rng)
    };
    let mut amount = amount;
    for op in plan {
        match operate_once(s, &mut rng, idx, &id, amazon, op, &mut amount).await {
            Step::Go => {}
            Step::Stop => break,
        }
    }
}

enum Step {
    Go,
    Stop,
}

/// The GMO OrderID a card payment uses now (it may move on after a refused EntryTran).
async fn current_gmo_order(s: &Shared, id: &str) -> Option<String> {
    let a = edge(
        s,
        reqwest::Method::GET,
        &format!("/v1/payments/{id}"),
        Auth::Merchant,
        None,
    )
    .await
    .ok()?;
    a.body["gateway"]["gmo_order_id"]
        .as_str()
        .map(str::to_string)
}

/// The card POST as the widget sends it: `Some(true)` authorised, `Some(false)` refused (the
/// edge says nothing was charged), `None` the outcome is open.
/// With `double`, the pay button is clicked twice at once (each click with its own token): the
/// edge must let one through; the better of the two answers counts.
async fn card_post(s: &Shared, idx: usize, id: &str, secret: &str, double: bool) -> Option<bool> {
    let path = format!("/v1/checkout/{id}/card");
    let post = |token: String| {
        edge(
            s,
            reqwest::Method::POST,
            &path,
            Auth::Widget(secret),
            Some(json!({ "token": token })),
        )
    };
    s.tried(idx);
    let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
    let answer = if double {
        let second = token_for(kessai_sandbox::test_cards::APPROVED).await;
        let (a, b) = futures_util::future::join(post(token), post(second)).await;
        s.note(format!(
            "card double click {}+{}",
            status_of(&a),
            status_of(&b)
        ));
        better(a, b)
    } else {
        post(token).await
    };
    match answer {
        Ok(a) if a.status == 200 && a.body["state"] == "authorized" => {
            s.ack(idx, &a.body["state"]);
            Some(true)
        }
        Ok(a)
            if a.status == 202
                || a.body["state"] == "unknown"
                || a.body["error"]["code"] == "payment_in_progress" =>
        {
            s.note(format!(
                "card {} {}",
                a.status,
                a.body["error"]["code"].as_str().unwrap_or("")
            ));
            s.open_answer(idx);
            None
        }
        Ok(a) => {
            let code = a.body["error"]["code"]
                .as_str()
                .or(a.body["error"].as_str())
                .unwrap_or("");
            s.note(format!("card {} {code}", a.status));
            Some(false)
        }
        Err(_) => {
            s.note("card answer lost (edge)");
            s.open_answer(idx);
            None
        }
    }
}

/// Card authorisation. A shopper told nothing was charged tries again once with a new token;
/// one left with an open outcome (確認中, or no answer) presses pay again at once half of the
/// time — a probe for a second authorisation — and then the widget polls the checkout (whose
/// GET reconciles). `retries`: attempts already made on this payment (an Amazon checkout that
/// did not end in 仮売上 may continue here).
async fn authorize_card(s: &Shared, rng: &mut Rng, idx: usize, p: &Value, retries: u32) -> bool {
    let id = p["id"].as_str().unwrap_or_default();
    let secret = p["client_secret"].as_str().unwrap_or_default();
    for attempt in retries..2 {
        if attempt == 0 && rng.chance(s.opts.fault_rate) {
            let order = match p["gateway"]["gmo_order_id"].as_str() {
                Some(o) => o.to_string(),
                None => current_gmo_order(s, id).await.unwrap_or_default(),
            };
            let api = if rng.chance(0.2) {
                "EntryTran"
            } else {
                "ExecTran"
            };
            arm_gmo(s, rng, api, &order).await;
        }
        match card_post(s, idx, id, secret, rng.chance(0.1)).await {
            Some(true) => return true,
            Some(false) => continue,
            None => {
                if rng.chance(0.5) {
                    s.note("card pressed again while open");
                    if card_post(s, idx, id, secret, false).await == Some(true) {
                        return true;
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
                if let Ok(c) = edge(
                    s,
                    reqwest::Method::GET,
                    &format!("/v1/checkout/{id}"),
                    Auth::Widget(secret),
                    None,
                )
                .await
                {
                    s.note(format!("card open → checkout GET {}", c.body["state"]));
                }
                return false;
            }
        }
    }
    false
}

/// Amazon's checkout up to the edge's result URL, without panics on the edge's answers:
/// `(result_url, session)`, or `None` when the edge refused a step.
async fn amazon_to_result(
    s: &Shared,
    rng: &mut Rng,
    idx: usize,
    p: &Value,
) -> Option<(String, String)> {
    let id = p["id"].as_str().unwrap_or_default();
    let secret = p["client_secret"].as_str().unwrap_or_default();
    let cfg = edge(
        s,
        reqwest::Method::GET,
        &format!("/v1/checkout/{id}"),
        Auth::Widget(secret),
        None,
    )
    .await
    .ok()?;
    let button = edge(
        s,
        reqwest::Method::POST,
        &format!("/v1/checkout/{id}/amazon-pay/button"),
        Auth::Widget(secret),
        Some(json!({ "return_url": amazon_return_url() })),
    )
    .await
    .ok()?;
    if button.status != 200 {
        s.note(format!("amazon button {}", button.status));
        return None;
    }
    let start = amazon_start(
        "PayAndShip",
        button.body["payload_json"].as_str().unwrap_or(""),
        button.body["signature"].as_str().unwrap_or(""),
        &cfg.body["amazon_pay"],
    )
    .await;
    if start.status != 303 {
        s.note(format!("amazon start {}", start.status));
        return None;
    }
    let (review, cs) =
        amazon_login_and_choose(&start, kessai_sandbox::amazon::buyers::TARO.key, 0).await;
    s.records.lock().expect("records")[idx]
        .sessions
        .push(cs.clone());
    if rng.chance(s.opts.fault_rate / 4.0) {
        arm_amazon(s, rng, "UpdateCheckoutSession", &cs).await;
    }
    let r = edge(s, reqwest::Method::GET, &review, Auth::Browser, None)
        .await
        .ok()?;
    let processing = r.location.filter(|l| l.starts_with(&s.urls.amazon_sandbox));
    let Some(processing) = processing else {
        s.note(format!("amazon review {}", r.status));
        return None;
    };
    let pr = nav_get(&processing).await;
    let result = pr.location.filter(|_| pr.status == 303)?;
    Some((result, cs))
}

/// Amazon Pay: button → Amazon → review → result. The result page is sometimes (20 %) loaded
/// twice at once (a double reload: the edge must Complete once). A checkout that does not end
/// in 仮売上 is sometimes (50 %) paid by card next, on the same payment — while the Amazon
/// outcome may still be open (the edge must settle it with Amazon first).
async fn authorize_amazon(s: &Shared, rng: &mut Rng, idx: usize, p: &Value) -> bool {
    s.tried(idx);
    if amazon_attempt(s, rng, idx, p).await {
        return true;
    }
    if rng.chance(0.5) {
        s.note("amazon then card");
        s.records.lock().expect("records")[idx].by_card = true;
        return authorize_card(s, rng, idx, p, 1).await;
    }
    false
}

async fn amazon_attempt(s: &Shared, rng: &mut Rng, idx: usize, p: &Value) -> bool {
    let Some((result, cs)) = amazon_to_result(s, rng, idx, p).await else {
        return false;
    };
    if rng.chance(s.opts.fault_rate) {
        arm_amazon(s, rng, "CompleteCheckoutSession", &cs).await;
    }
    let answer = if rng.chance(0.2) {
        s.note("amazon result loaded twice");
        let (one, two) = futures_util::future::join(
            edge(s, reqwest::Method::GET, &result, Auth::Browser, None),
            edge(s, reqwest::Method::GET, &result, Auth::Browser, None),
        )
        .await;
        one.or(two)
    } else {
        edge(s, reqwest::Method::GET, &result, Auth::Browser, None).await
    };
    let done = match answer {
        Ok(a) => a,
        Err(_) => {
            s.note("amazon result lost (edge)");
            s.open_answer(idx);
            return false;
        }
    };
    let outcome = done
        .location
        .as_deref()
        .and_then(|l| query_param(l, "kessai_amazon"))
        .unwrap_or_default();
    let id = p["id"].as_str().unwrap_or_default();
    let now = edge(
        s,
        reqwest::Method::GET,
        &format!("/v1/payments/{id}"),
        Auth::Merchant,
        None,
    )
    .await
    .map(|a| a.body)
    .unwrap_or(Value::Null);
    match (outcome.as_str(), now["state"].as_str().unwrap_or("")) {
        ("authorized", "authorized") => {
            s.ack(idx, &now["state"]);
            true
        }
        (_, "unknown" | "processing") => {
            s.note(format!("amazon result {outcome} → open"));
            s.open_answer(idx);
            false
        }
        (o, st) => {
            s.note(format!("amazon result {o} → {st}"));
            false
        }
    }
}

/// The gateway call an operation makes first, for the fault: (GMO API | Amazon API, object).
async fn fault_for_op(
    s: &Shared,
    rng: &mut Rng,
    id: &str,
    amazon: bool,
    op: Op,
    captured: bool,
) -> Option<()> {
    if !rng.chance(s.opts.fault_rate) {
        return None;
    }
    let view = edge(
        s,
        reqwest::Method::GET,
        &format!("/v1/payments/{id}"),
        Auth::Merchant,
        None,
    )
    .await
    .ok()?
    .body;
    if amazon {
        let charge = view["amazon_pay"]["charge_id"].as_str()?.to_string();
        let api = match op {
            Op::Capture | Op::Bulk => "CaptureCharge",
            Op::Cancel => "CancelCharge",
            // Create Refund names no object (refunds run one at a time, see `Shared`).
            Op::RefundPart | Op::RefundAll => "CreateRefund",
            // A decrease before capture is kessai's own record: no call.
            Op::Amount => return None,
        };
        let object = if api == "CreateRefund" { "" } else { &charge };
        arm_amazon(s, rng, api, object).await;
    } else {
        let order = view["gateway"]["gmo_order_id"].as_str()?.to_string();
        let api = match op {
            Op::Amount if !captured => "ChangeTran",
            _ => "AlterTran",
        };
        arm_gmo(s, rng, api, &order).await;
    }
    Some(())
}

async fn operate_once(
    s: &Shared,
    rng: &mut Rng,
    idx: usize,
    id: &str,
    amazon: bool,
    op: Op,
    amount: &mut i64,
) -> Step {
    let captured = s.records.lock().expect("records")[idx].acked.as_deref() == Some("captured");
    let _one_refund = match op {
        Op::RefundPart | Op::RefundAll => Some(s.refunds.lock().await),
        _ => None,
    };
    let _ = fault_for_op(s, rng, id, amazon, op, captured).await;
    if op == Op::Bulk {
        s.tried(idx);
        let batch = {
            let mut q = s.bulk.lock().expect("bulk");
            q.push(idx);
            if q.len() >= 10 {
                std::mem::take(&mut *q)
            } else {
                Vec::new()
            }
        };
        if !batch.is_empty() {
            bulk_capture(s, &batch).await;
        }
        return Step::Stop;
    }
    let (endpoint, body) = match op {
        Op::Capture => ("capture", None),
        Op::Cancel => ("cancel", None),
        Op::Amount => {
            let new = if amazon {
                (*amount - 1 - rng.below((*amount / 2) as u64) as i64).max(1)
            } else {
                let mut n = 500 + rng.below(60_000) as i64;
                if n == *amount {
                    n += 1;
                }
                n
            };
            ("amount", Some(json!({ "amount": new })))
        }
        Op::RefundPart => ("refund", Some(json!({ "amount": (*amount / 3).max(1) }))),
        Op::RefundAll => ("refund", Some(json!({ "amount": *amount }))),
        Op::Bulk => unreachable!("handled above"),
    };
    let before = s.acked(idx);
    let first = op_call(s, idx, id, endpoint, body.as_ref(), rng.chance(0.1)).await;
    let outcome = match first {
        Some(outcome) => Some(outcome),
        // The merchant left with 確認中 presses 再照会 half of the time, and, half of the time,
        // tries the operation again if the payment is back where it was (a probe for a second
        // capture, cancel or refund); otherwise what the 再照会 said is taken as final.
        None if rng.chance(0.5) => {
            let _ = edge(
                s,
                reqwest::Method::POST,
                &format!("/v1/payments/{id}/reconcile"),
                Auth::Merchant,
                None,
            )
            .await;
            let now = payment_state(s, id).await;
            if now.is_some() && now == before && rng.chance(0.5) {
                s.note(format!("{endpoint} again after 再照会"));
                op_call(s, idx, id, endpoint, body.as_ref(), false).await
            } else {
                if let Some(settled) = now.filter(|st| st != "unknown" && st != "processing") {
                    s.note(format!("{endpoint} settled by 再照会"));
                    s.ack(idx, &json!(settled));
                    Some(true)
                } else {
                    None
                }
            }
        }
        None => None,
    };
    match outcome {
        Some(true) => {
            if op == Op::Amount {
                *amount = body
                    .as_ref()
                    .and_then(|b| b["amount"].as_i64())
                    .unwrap_or(*amount);
            }
            Step::Go
        }
        _ => Step::Stop,
    }
}

/// The payment's state as the edge says now.
async fn payment_state(s: &Shared, id: &str) -> Option<String> {
    let a = edge(
        s,
        reqwest::Method::GET,
        &format!("/v1/payments/{id}"),
        Auth::Merchant,
        None,
    )
    .await
    .ok()?;
    a.body["state"].as_str().map(str::to_string)
}

/// One operation request: `Some(true)` done (200), `Some(false)` refused (the state the edge
/// then shows is acknowledged), `None` the outcome is open.
/// With `double`, the same operation is sent twice at once (a double click in the console, or
/// the API and the console together): the edge must make one gateway call; the better of the two
/// answers counts.
async fn op_call(
    s: &Shared,
    idx: usize,
    id: &str,
    endpoint: &str,
    body: Option<&Value>,
    double: bool,
) -> Option<bool> {
    s.tried(idx);
    let path = format!("/v1/payments/{id}/{endpoint}");
    let post = || {
        edge(
            s,
            reqwest::Method::POST,
            &path,
            Auth::Merchant,
            body.cloned(),
        )
    };
    let answer = if double {
        let (a, b) = futures_util::future::join(post(), post()).await;
        s.note(format!(
            "{endpoint} double click {}+{}",
            status_of(&a),
            status_of(&b)
        ));
        better(a, b)
    } else {
        post().await
    };
    match answer {
        Ok(a) if a.status == 200 => {
            s.ack(idx, &a.body["state"]);
            Some(true)
        }
        Ok(a)
            if a.status == 202
                || a.body["state"] == "unknown"
                || matches!(
                    a.body["error"]["code"].as_str(),
                    Some("outcome_unknown" | "operation_in_progress")
                ) =>
        {
            s.open_answer(idx);
            None
        }
        Ok(a) => {
            s.note(format!(
                "{endpoint} {} {}",
                a.status,
                a.body["error"]["code"].as_str().unwrap_or("")
            ));
            // A refusal: the state the edge shows now must be the one that stands.
            match payment_state(s, id).await {
                Some(st) if st != "unknown" && st != "processing" => {
                    s.ack(idx, &json!(st));
                    Some(false)
                }
                _ => {
                    s.open_answer(idx);
                    None
                }
            }
        }
        Err(_) => {
            s.note(format!("{endpoint} answer lost (edge)"));
            s.open_answer(idx);
            None
        }
    }
}

fn status_of(a: &Result<Answer, String>) -> String {
    match a {
        Ok(a) if a.status >= 400 => format!(
            "{} {}",
            a.status,
            a.body["error"]["code"].as_str().unwrap_or("")
        ),
        Ok(a) => a.status.to_string(),
        Err(_) => "lost".into(),
    }
}

/// Of two answers to the same request sent twice: a 200, else an open outcome, else the first.
fn better(a: Result<Answer, String>, b: Result<Answer, String>) -> Result<Answer, String> {
    let rank = |x: &Result<Answer, String>| match x {
        Ok(a) if a.status == 200 => 3,
        Ok(a) if a.status == 202 || a.body["state"] == "unknown" => 2,
        Ok(_) => 1,
        Err(_) => 0,
    };
    if rank(&b) > rank(&a) { b } else { a }
}

async fn bulk_capture(s: &Shared, batch: &[usize]) {
    let ids: Vec<String> = {
        let r = s.records.lock().expect("records");
        batch.iter().map(|i| r[*i].id.clone()).collect()
    };
    let answer = edge(
        s,
        reqwest::Method::POST,
        "/v1/payments/bulk/capture",
        Auth::Merchant,
        Some(json!({ "payment_ids": ids })),
    )
    .await;
    match answer {
        Ok(a) if a.status == 200 => {
            for (i, row) in batch
                .iter()
                .zip(a.body["data"].as_array().into_iter().flatten())
            {
                if row["ok"] == true {
                    s.ack(*i, &row["state"]);
                } else if row["state"] == "unknown"
                    || row["error"]["code"] == "outcome_unknown"
                    || row["error"] == "outcome_unknown"
                {
                    s.open_answer(*i);
                } else {
                    let code = row["error"]["code"].as_str().or(row["error"].as_str());
                    s.note(format!("bulk row {}", code.unwrap_or("?")));
                }
            }
        }
        Ok(a) => {
            s.note(format!("bulk {}", a.status));
            for i in batch {
                s.open_answer(*i);
            }
        }
        Err(_) => {
            s.note("bulk answer lost (edge)");
            for i in batch {
                s.open_answer(*i);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Restarting the edge (wrangler dev) with the same D1 state

/// Stops this stack's `wrangler dev` and starts it again with the same command line,
/// environment and working directory (same port, same `--persist-to` D1 state), then waits
/// until it answers `/health`. In-flight requests die with it, as in a redeploy.
pub async fn restart_edge(urls: &Urls) -> Result<Duration, String> {
    let needle = urls.state_dir.to_string_lossy().to_string();
    let mut found = None;
    for entry in std::fs::read_dir("/proc")
        .map_err(|e| e.to_string())?
        .flatten()
    {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<String> = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).to_string())
            .collect();
        let line = args.join(" ");
        // The node process running wrangler's CLI with `dev` on our state directory (not its
        // workerd children, whose command lines name other files).
        if line.contains("wrangler")
            && args.iter().any(|a| a == "dev")
            && line.contains(&needle)
            && !crate::bench::comm(pid).contains("workerd")
            && crate::bench::stat_fields(pid)
                .and_then(|f| f.get(1).and_then(|p| p.parse::<i32>().ok()))
                .is_some_and(|ppid| ppid == std::process::id() as i32)
        {
            found = Some((pid, args));
        }
    }
    let (pid, args) = found.ok_or("no wrangler dev child of this process found")?;
    let env: Vec<(String, String)> = std::fs::read(format!("/proc/{pid}/environ"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv).to_string();
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect();
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    // Wait until the port is free (workerd gone).
    let port_gone = || std::net::TcpStream::connect(edge_addr(&urls.edge)).is_err();
    for _ in 0..100 {
        if port_gone() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(urls.state_dir.join(kessai_demo::stack::EDGE_LOG))
        .map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let (tx, rx) = std::sync::mpsc::channel();
    // The new wrangler lives as long as this process: its parent thread never ends (a
    // parent-death signal fires when the spawning *thread* exits).
    std::thread::spawn(move || {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new(&args[0]);
        cmd.args(&args[1..])
            .env_clear()
            .envs(env)
            .current_dir(cwd)
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(log2);
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(mut child) => {
                let _ = tx.send(Ok(()));
                let _ = child.wait();
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
            }
        }
    });
    rx.recv().map_err(|e| e.to_string())??;
    let health = format!("{}/health", urls.edge);
    let c = reqwest::Client::new();
    while t0.elapsed() < Duration::from_secs(120) {
        if c.get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(t0.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err("the restarted edge did not answer /health within 120 s".into())
}

fn edge_addr(edge: &str) -> String {
    edge.trim_start_matches("http://").to_string()
}

// ---------------------------------------------------------------------------------------------
// The run

/// Runs the soak against the test stack ([`crate::stack`]: its edge has the test clock, which
/// the sweep phase moves). Call it before anything else starts the stack in this process.
pub async fn run(opts: SoakOptions) -> SoakReport {
    let urls = stack();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(opts.clients.max(1) * 2)
        .build()
        .expect("http client");
    let shared = Arc::new(Shared {
        records: Mutex::new(vec![Record::default(); opts.payments]),
        opts: opts.clone(),
        urls: urls.clone(),
        http,
        latencies: Mutex::new(Vec::new()),
        armed: Mutex::new(BTreeMap::new()),
        notes: Mutex::new(BTreeMap::new()),
        open_answers: AtomicUsize::new(0),
        bulk: Mutex::new(Vec::new()),
        refunds: tokio::sync::Mutex::new(()),
        done: AtomicUsize::new(0),
        restarts: AtomicUsize::new(0),
    });

    let t0 = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..opts.clients.max(1) {
        let (s, next) = (shared.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= s.opts.payments {
                    break;
                }
                run_payment(&s, i).await;
                let done = s.done.fetch_add(1, Ordering::SeqCst) + 1;
                if done % 500 == 0 {
                    eprintln!(
                        "soak: {done}/{} payments ({:.0} s)",
                        s.opts.payments,
                        t0.elapsed().as_secs_f64()
                    );
                }
            }
        }));
    }
    if opts.restart_edge {
        let s = shared.clone();
        tasks.push(tokio::spawn(async move {
            while s.done.load(Ordering::SeqCst) < s.opts.payments / 2 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            match restart_edge(&s.urls).await {
                Ok(took) => {
                    eprintln!("soak: edge restarted (down {:.1} s)", took.as_secs_f64());
                    s.restarts.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => eprintln!("soak: edge restart failed: {e}"),
            }
        }));
    }
    for t in tasks {
        if let Err(e) = t.await {
            panic!("a soak client panicked: {e}");
        }
    }
    // The rest of the bulk queue.
    let rest = std::mem::take(&mut *shared.bulk.lock().expect("bulk"));
    for chunk in rest.chunks(10) {
        bulk_capture(&shared, chunk).await;
    }
    let workload_s = t0.elapsed().as_secs_f64();

    // Calls still running at a sandbox (execute_late, slow answers) finish first.
    tokio::time::sleep(Duration::from_millis(TEST_AMAZON_TIMEOUT_MS + 2_000)).await;

    let t1 = Instant::now();
    let sweep_runs = sweep(&shared).await;
    let sweep_s = t1.elapsed().as_secs_f64();

    let tampered = if opts.self_check {
        tamper(&shared).await
    } else {
        Vec::new()
    };
    let t2 = Instant::now();
    let mut report = verify(&shared).await;
    for (id, kind, what) in tampered {
        let list = match kind {
            Tamper::Double => &mut report.double_charges,
            Tamper::Mismatch => &mut report.mismatches,
        };
        let before = list.len();
        list.retain(|f| f.payment_id != id);
        report.self_check.push((what, list.len() < before));
    }
    report.verify_s = t2.elapsed().as_secs_f64();
    real_clock().await;

    let remaining = still_armed(&shared).await;
    let armed = shared.armed.lock().expect("armed").clone();
    for (kind, n) in armed {
        let left = remaining.get(&kind).copied().unwrap_or(0);
        report.faults_unused += left;
        report.faults_injected.insert(kind, n.saturating_sub(left));
    }
    let mut lat = shared.latencies.lock().expect("latencies").clone();
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| {
        if lat.is_empty() {
            0.0
        } else {
            lat[((lat.len() as f64 - 1.0) * p).round() as usize]
        }
    };
    report.p50_ms = q(0.50);
    report.p99_ms = q(0.99);
    report.max_ms = q(1.0);
    report.requests = lat.len();
    report.payments = report.card + report.amazon;
    report.planned = opts.payments;
    report.clients = opts.clients;
    report.fault_rate = opts.fault_rate;
    report.workload_s = workload_s;
    report.sweep_runs = sweep_runs;
    report.sweep_s = sweep_s;
    report.open_answers = shared.open_answers.load(Ordering::SeqCst);
    report.notes = shared.notes.lock().expect("notes").clone();
    report.edge_restarts = shared.restarts.load(Ordering::SeqCst);
    report
}

/// Payments the edge lists in `state` (up to 500).
async fn listed(s: &Shared, state: &str) -> usize {
    edge(
        s,
        reqwest::Method::GET,
        &format!("/v1/payments?state={state}&limit=500"),
        Auth::Merchant,
        None,
    )
    .await
    .ok()
    .and_then(|a| a.body["data"].as_array().map(Vec::len))
    .unwrap_or(0)
}

/// Moves every clock 10 minutes ahead and runs the Cron Trigger until nothing is left open
/// (or three runs in a row settle nothing). Returns the number of runs.
async fn sweep(s: &Shared) -> usize {
    let ahead = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
        + 10 * 60_000;
    set_clock(ahead).await;
    let mut runs = 0;
    let mut stuck = 0;
    let mut last = usize::MAX;
    loop {
        let open = listed(s, "unknown").await + listed(s, "processing").await;
        if open == 0 || stuck >= 3 || runs > s.opts.payments / 20 + 20 {
            break;
        }
        if open >= last {
            stuck += 1;
        } else {
            stuck = 0;
        }
        last = open;
        run_cron().await;
        runs += 1;
    }
    runs
}

// ---------------------------------------------------------------------------------------------
// Verification

/// GMO statuses that hold money (an authorisation or a sale).
fn gmo_live(status: &str) -> bool {
    matches!(status, "AUTH" | "SALES" | "CAPTURE" | "SAUTH")
}

/// What the edge's state must be at GMO (`None` = no money held).
fn gmo_expected(state: &str) -> Option<&'static [&'static str]> {
    Some(match state {
        "authorized" => &["AUTH"],
        "captured" => &["SALES", "CAPTURE"],
        "voided" => &["VOID"],
        "returned" => &["RETURN"],
        "returned_next_month" => &["RETURNX"],
        _ => return None,
    })
}

fn price(v: &Value) -> i64 {
    v["amount"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .or(v["amount"].as_i64())
        .unwrap_or(0)
}

async fn get_json(s: &Shared, url: &str) -> Value {
    for _ in 0..5 {
        if let Ok(r) = s.http.get(url).send().await
            && let Ok(v) = r.json::<Value>().await
        {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("sandbox unreachable: {url}")
}

async fn verify(s: &Shared) -> SoakReport {
    let mut report = SoakReport::default();
    let records = s.records.lock().expect("records").clone();
    // The GMO sandbox's whole request log: every OrderID a payment ever used.
    let log = get_json(s, &format!("{}/__sandbox/requests", s.urls.sandbox)).await;
    let mut orders_by_base: HashMap<String, HashSet<String>> = HashMap::new();
    for e in log.as_array().into_iter().flatten() {
        if let Some(o) = e["order_id"].as_str().filter(|o| !o.is_empty()) {
            let base = o.rsplit_once('-').map(|(b, _)| b).unwrap_or(o);
            orders_by_base
                .entry(base.to_string())
                .or_default()
                .insert(o.to_string());
        }
    }
    let sessions = get_json(
        s,
        &format!(
            "{}/__sandbox/amazon/checkout-sessions",
            s.urls.amazon_sandbox
        ),
    )
    .await;
    let charges = get_json(
        s,
        &format!("{}/__sandbox/amazon/charges", s.urls.amazon_sandbox),
    )
    .await;
    let refunds = get_json(
        s,
        &format!("{}/__sandbox/amazon/refunds", s.urls.amazon_sandbox),
    )
    .await;
    let permission_of: HashMap<String, String> = sessions
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|cs| {
            Some((
                cs["checkoutSessionId"].as_str()?.to_string(),
                cs["chargePermissionId"].as_str()?.to_string(),
            ))
        })
        .collect();
    let mut charges_of: HashMap<String, Vec<Value>> = HashMap::new();
    for c in charges.as_array().into_iter().flatten() {
        if let Some(cp) = c["chargePermissionId"].as_str() {
            charges_of
                .entry(cp.to_string())
                .or_default()
                .push(c.clone());
        }
    }
    let mut refunded_of: HashMap<String, i64> = HashMap::new();
    for r in refunds.as_array().into_iter().flatten() {
        let state = r["statusDetails"]["state"].as_str().unwrap_or("");
        if state == "Refunded" || state == "RefundInitiated" {
            *refunded_of
                .entry(r["chargeId"].as_str().unwrap_or("").to_string())
                .or_default() += price(&r["refundAmount"]);
        }
    }

    let books = Books {
        orders_by_base,
        permission_of,
        charges_of,
        refunded_of,
    };
    for r in records.iter().filter(|r| !r.id.is_empty()) {
        if r.amazon {
            report.amazon += 1;
        } else {
            report.card += 1;
        }
        let view = edge(
            s,
            reqwest::Method::GET,
            &format!("/v1/payments/{}", r.id),
            Auth::Merchant,
            None,
        )
        .await
        .map(|a| a.body)
        .unwrap_or(Value::Null);
        let state = view["state"].as_str().unwrap_or("?").to_string();
        *report.states.entry(state.clone()).or_default() += 1;
        let method = if view["method"] == "amazon_pay" {
            "amazon_pay"
        } else {
            "card"
        };
        let finding = |what: String| Finding {
            payment_id: r.id.clone(),
            method,
            what,
            detail: String::new(),
        };
        if matches!(state.as_str(), "unknown" | "processing" | "?") {
            report
                .unreconciled
                .push(finding(format!("edge state {state}")));
            continue;
        }
        if let Some(acked) = &r.acked
            && !r.open
            && *acked != state
        {
            report.mismatches.push(finding(format!(
                "the edge acknowledged {acked}, now says {state}"
            )));
        }
        let gmo = gmo_side(s, &books, &view).await;
        let amazon = amazon_side(&books, r, &view);
        let (doubles, wrong) = judge(&view, &state, method, &gmo, &amazon);
        report
            .double_charges
            .extend(doubles.into_iter().map(&finding));
        report.mismatches.extend(wrong.into_iter().map(&finding));
        for list in [&mut report.double_charges, &mut report.mismatches] {
            for f in list
                .iter_mut()
                .filter(|f| f.payment_id == r.id && f.detail.is_empty())
            {
                f.detail = explain(&log, &view, r);
            }
        }
    }
    report
}

/// A payment's edge history and its GMO calls (api, JobCd, answer, how late) for a report.
fn explain(log: &Value, view: &Value, r: &Record) -> String {
    let mut out = String::new();
    for e in view["events"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "event {} {} {}→{} {}\n",
            e["actor"].as_str().unwrap_or(""),
            e["kind"].as_str().unwrap_or(""),
            e["from"].as_str().unwrap_or("-"),
            e["to"].as_str().unwrap_or("-"),
            e["detail"]
        ));
    }
    let current = view["gateway"]["gmo_order_id"].as_str().unwrap_or("");
    let base = current.rsplit_once('-').map(|(b, _)| b).unwrap_or(current);
    for e in log.as_array().into_iter().flatten() {
        let order = e["order_id"].as_str().unwrap_or("");
        if !base.is_empty() && order.starts_with(base) {
            out.push_str(&format!(
                "gmo {} {} {} JobCd={} → {} (late {} ms)\n",
                e["at_unix_ms"],
                order,
                e["api"].as_str().unwrap_or(""),
                e["params"]["JobCd"].as_str().unwrap_or("-"),
                e["result"].as_str().unwrap_or(""),
                e["delayed_ms"]
            ));
        }
    }
    if !r.sessions.is_empty() {
        out.push_str(&format!("amazon sessions {:?}\n", r.sessions));
    }
    out
}

/// The sandboxes' records, read once.
struct Books {
    /// GMO OrderIDs by their payment's part (`ks-<hex>`; the attempt number cut off).
    orders_by_base: HashMap<String, HashSet<String>>,
    /// Amazon checkout session → charge permission.
    permission_of: HashMap<String, String>,
    /// Amazon charge permission → its charges.
    charges_of: HashMap<String, Vec<Value>>,
    /// Amazon charge → refunded (Refunded or RefundInitiated).
    refunded_of: HashMap<String, i64>,
}

/// What GMO holds for one payment.
struct GmoSide {
    /// The edge's current OrderID: its status and amount at GMO.
    order: String,
    status: String,
    amount: Option<i64>,
    /// Every OrderID of the payment holding money (`AUTH`, `SALES`, `CAPTURE`).
    live: Vec<String>,
}

async fn gmo_side(s: &Shared, books: &Books, view: &Value) -> GmoSide {
    let current = view["gateway"]["gmo_order_id"].as_str().unwrap_or("");
    let base = current.rsplit_once('-').map(|(b, _)| b).unwrap_or(current);
    let mut orders: Vec<String> = books
        .orders_by_base
        .get(base)
        .map(|o| o.iter().cloned().collect())
        .unwrap_or_default();
    orders.sort();
    let mut side = GmoSide {
        order: current.to_string(),
        status: "none".into(),
        amount: None,
        live: Vec::new(),
    };
    for o in &orders {
        let t = get_json(s, &format!("{}/__sandbox/trades/{o}", s.urls.sandbox)).await;
        let st = t["status"].as_str().unwrap_or("");
        if gmo_live(st) {
            side.live.push(format!("GMO {o} {st} ¥{}", t["amount"]));
        }
        if o == current {
            side.status = st.to_string();
            side.amount = t["amount"].as_i64();
        }
    }
    side
}

/// What Amazon holds for one payment (every checkout session opened for it).
struct AmazonSide {
    /// The edge's charge: state, charged, captured, refunded.
    charge: String,
    state: String,
    charged: i64,
    captured: i64,
    refunded: i64,
    /// Charges holding money: authorised, or captured and not refunded in full.
    live: Vec<String>,
}

fn amazon_side(books: &Books, r: &Record, view: &Value) -> AmazonSide {
    let mut sessions: Vec<String> = r.sessions.clone();
    if let Some(cs) = view["amazon_pay"]["checkout_session_id"].as_str()
        && !sessions.iter().any(|s| s == cs)
    {
        sessions.push(cs.to_string());
    }
    let all: Vec<&Value> = sessions
        .iter()
        .filter_map(|cs| books.permission_of.get(cs))
        .flat_map(|cp| books.charges_of.get(cp).into_iter().flatten())
        .collect();
    let state_of = |c: &Value| {
        c["statusDetails"]["state"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let refunded_of = |c: &Value| {
        books
            .refunded_of
            .get(c["chargeId"].as_str().unwrap_or(""))
            .copied()
            .unwrap_or(0)
    };
    let live = all
        .iter()
        .filter(|c| {
            let st = state_of(c);
            matches!(
                st.as_str(),
                "Authorized" | "AuthorizationInitiated" | "CaptureInitiated"
            ) || (st == "Captured" && refunded_of(c) < price(&c["captureAmount"]))
        })
        .map(|c| format!("Amazon {} {}", c["chargeId"], state_of(c)))
        .collect();
    let charge = view["amazon_pay"]["charge_id"].as_str().unwrap_or("");
    let ours = all.iter().find(|c| c["chargeId"] == charge);
    AmazonSide {
        charge: charge.to_string(),
        state: ours.map(|c| state_of(c)).unwrap_or_else(|| "none".into()),
        charged: ours.map(|c| price(&c["chargeAmount"])).unwrap_or(0),
        captured: ours.map(|c| price(&c["captureAmount"])).unwrap_or(0),
        refunded: ours.map(|c| refunded_of(c)).unwrap_or(0),
        live,
    }
}

/// Double charges and disagreements of one payment: more than one charge holding money across
/// both gateways; the edge's state against the gateway of its `method`; and no money held at
/// the other gateway.
fn judge(
    view: &Value,
    state: &str,
    method: &str,
    gmo: &GmoSide,
    amazon: &AmazonSide,
) -> (Vec<String>, Vec<String>) {
    let amount = view["amount"].as_i64().unwrap_or(-1);
    let mut doubles = Vec::new();
    let mut wrong = Vec::new();
    let live: Vec<String> = gmo.live.iter().chain(&amazon.live).cloned().collect();
    if live.len() > 1 {
        doubles.push(format!("money held twice: {}", live.join(", ")));
    }
    let holds = |side: &[String]| -> Option<String> {
        (!side.is_empty()).then(|| format!("edge {state} ({method}), but {}", side.join(", ")))
    };
    if method == "amazon_pay" {
        let a = amazon;
        let bad = match state {
            "authorized" => a.state != "Authorized" || a.charged < amount,
            "captured" => a.state != "Captured" || a.captured != amount || a.refunded != 0,
            "partially_refunded" => {
                a.state != "Captured" || a.refunded == 0 || a.refunded >= a.captured
            }
            "refunded" => a.state != "Captured" || a.refunded != a.captured,
            "voided" | "expired" => a.state != "Canceled",
            _ => !a.live.is_empty(),
        };
        if bad {
            wrong.push(format!(
                "edge {state} ¥{amount}, Amazon charge {:?} {} (charged ¥{}, captured ¥{}, refunded ¥{})",
                a.charge, a.state, a.charged, a.captured, a.refunded
            ));
        }
        wrong.extend(holds(&gmo.live));
    } else {
        match gmo_expected(state) {
            Some(expected) if !expected.contains(&gmo.status.as_str()) => wrong.push(format!(
                "edge {state} ¥{amount}, GMO {} {}",
                gmo.order, gmo.status
            )),
            Some(_) if matches!(state, "authorized" | "captured") && gmo.amount != Some(amount) => {
                wrong.push(format!(
                    "edge {state} ¥{amount}, GMO {} {} ¥{:?}",
                    gmo.order, gmo.status, gmo.amount
                ))
            }
            // Money held under another OrderID than the edge's.
            Some(_) if !gmo_live(&gmo.status) && live.len() == 1 => wrong.extend(holds(&gmo.live)),
            Some(_) => {}
            None => wrong.extend(holds(&gmo.live)),
        }
        wrong.extend(holds(&amazon.live));
    }
    (doubles, wrong)
}

// ---------------------------------------------------------------------------------------------
// Self-check: changes behind the edge's back that the verification must flag

enum Tamper {
    Double,
    Mismatch,
}

/// One GMO protocol call with the sandbox shop's credentials: the answer's fields.
async fn gmo_call(s: &Shared, api: &str, fields: &[(&str, &str)]) -> HashMap<String, String> {
    crate::gmo_shop_call(&s.urls.sandbox, api, fields).await
}

/// Picks payments the edge says are 仮売上 and changes them at the gateways: a second
/// authorisation under another OrderID of the same card payment (a double charge), a void of
/// another one's authorisation (a lost change), an Amazon capture made in "Seller Central"
/// (IPNs are off in the soak, so the edge cannot know).
async fn tamper(s: &Shared) -> Vec<(String, Tamper, String)> {
    let records = s.records.lock().expect("records").clone();
    let mut out = Vec::new();
    let mut card_targets = Vec::new();
    let mut amazon_target = None;
    for r in records.iter().filter(|r| !r.id.is_empty()) {
        let Ok(a) = edge(
            s,
            reqwest::Method::GET,
            &format!("/v1/payments/{}", r.id),
            Auth::Merchant,
            None,
        )
        .await
        else {
            continue;
        };
        if a.body["state"] != "authorized" {
            continue;
        }
        if r.amazon && amazon_target.is_none() {
            amazon_target = Some(a.body);
        } else if !r.amazon && card_targets.len() < 2 {
            card_targets.push(a.body);
        }
        if amazon_target.is_some() && card_targets.len() == 2 {
            break;
        }
    }
    if let Some(p) = card_targets.first() {
        let id = p["id"].as_str().unwrap_or_default().to_string();
        let current = p["gateway"]["gmo_order_id"].as_str().unwrap_or_default();
        let base = current.rsplit_once('-').map(|(b, _)| b).unwrap_or(current);
        let other = format!("{base}-99");
        let entry = gmo_call(
            s,
            "EntryTran",
            &[("OrderID", &other), ("JobCd", "AUTH"), ("Amount", "1234")],
        )
        .await;
        let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
        let exec = gmo_call(
            s,
            "ExecTran",
            &[
                (
                    "AccessID",
                    entry.get("AccessID").map(String::as_str).unwrap_or(""),
                ),
                (
                    "AccessPass",
                    entry.get("AccessPass").map(String::as_str).unwrap_or(""),
                ),
                ("OrderID", &other),
                ("Method", "1"),
                ("Token", &token),
            ],
        )
        .await;
        assert!(
            !exec.contains_key("ErrCode"),
            "self-check ExecTran: {exec:?}"
        );
        out.push((
            id,
            Tamper::Double,
            format!("second GMO authorisation {other} of a card payment"),
        ));
    }
    if let Some(p) = card_targets.get(1) {
        let id = p["id"].as_str().unwrap_or_default().to_string();
        let order = p["gateway"]["gmo_order_id"].as_str().unwrap_or_default();
        let trade = get_json(s, &format!("{}/__sandbox/trades/{order}", s.urls.sandbox)).await;
        let void = gmo_call(
            s,
            "AlterTran",
            &[
                ("AccessID", trade["access_id"].as_str().unwrap_or("")),
                ("AccessPass", trade["access_pass"].as_str().unwrap_or("")),
                ("JobCd", "VOID"),
            ],
        )
        .await;
        assert!(
            !void.contains_key("ErrCode"),
            "self-check AlterTran: {void:?}"
        );
        out.push((
            id,
            Tamper::Mismatch,
            format!("GMO void of {order} behind the edge"),
        ));
    }
    if let Some(p) = amazon_target {
        let id = p["id"].as_str().unwrap_or_default().to_string();
        let charge = p["amazon_pay"]["charge_id"].as_str().unwrap_or_default();
        let resp = s
            .http
            .post(format!(
                "{}/__sandbox/amazon/console/charges/{charge}/capture",
                s.urls.amazon_sandbox
            ))
            .json(&json!({}))
            .send()
            .await;
        assert!(
            resp.as_ref().is_ok_and(|r| r.status().is_success()),
            "self-check capture: {resp:?}"
        );
        out.push((
            id,
            Tamper::Mismatch,
            format!("Amazon capture of {charge} in Seller Central"),
        ));
    }
    out
}
