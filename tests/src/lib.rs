//! Shared fixtures for the end-to-end tests: one running stack (sandbox, edge in wrangler dev,
//! storefront) per test binary, helpers to call the merchant API and the sandbox, and a
//! chromedriver for browser tests.

pub mod bench;
pub mod ipn;
pub mod soak;
pub mod tds;
pub mod web;

use kessai_demo::stack::{EdgeRuntime, MERCHANT_SECRET_KEY, Stack, StackOptions};
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// URLs of the running stack.
#[derive(Clone, Debug)]
pub struct Urls {
    pub sandbox: String,
    /// The Amazon Pay sandbox (API base, `checkout.js`, hosted pages, `/__sandbox/amazon/…`).
    pub amazon_sandbox: String,
    /// The merchant key pair of this run (PKCS#8 / SPKI PEM): the edge signs with the private
    /// half, the sandbox verifies with the public half.
    pub amazon_private_key_pem: String,
    pub amazon_public_key_pem: String,
    /// HS256 key of the sign-in assertions (shared by the edge and the storefront).
    pub assertion_signing_key: String,
    pub edge: String,
    pub storefront: String,
    /// The edge runtime's state and logs (`edge.log`: everything the worker logged).
    pub state_dir: std::path::PathBuf,
    /// Console operators of this run: (name, password); the edge holds only their hashes.
    pub operators: Vec<(String, String)>,
    /// The edge runtime's V8 inspector port (the CPU profiler of `scripts/profile-edge.sh`).
    pub inspector_port: u16,
    /// The edge path that runs the Cron Trigger once (it depends on the runtime).
    pub scheduled_path: &'static str,
}

/// GMO timeout the test edge uses; the sandbox's delay fault exceeds it to simulate a lost answer.
pub const TEST_GMO_TIMEOUT_MS: u64 = 2_500;
/// Amazon Pay timeout the test edge uses (a delayed sandbox answer beyond it is a lost answer).
pub const TEST_AMAZON_TIMEOUT_MS: u64 = 4_000;

static STACK: OnceLock<Urls> = OnceLock::new();

/// Starts the stack once per test binary, on its own runtime thread that lives until the process
/// exits (wrangler is tied to it and gets SIGTERM then). Its edge has the test clock
/// ([`set_clock`]).
pub fn stack() -> Urls {
    stack_with(true, "off")
}

/// As [`stack`], but the edge runs EMV 3-D Secure 2 (`THREE_D_SECURE=required`, the product's
/// default): card payments go through the sandbox's ACS pages and the RetUrl route. One stack per
/// test binary, so a binary calls either this or [`stack`].
pub fn stack_3ds() -> Urls {
    stack_with(true, "required")
}

/// The stack for benchmarks: as [`stack`], but without the test clock, whose D1 read per request
/// would be measured too, and with the edge in workerd without `wrangler dev` around it
/// ([`EdgeRuntime::Workerd`]; `KESSAI_BENCH_RUNTIME=wrangler` measures it under `wrangler dev`
/// instead). Call it before anything else starts the stack.
pub fn bench_stack() -> Urls {
    stack_with(false, "off")
}

/// The runtime of a stack without the test clock (benchmarks): workerd alone unless
/// `KESSAI_BENCH_RUNTIME=wrangler`.
pub fn bench_runtime() -> EdgeRuntime {
    match std::env::var("KESSAI_BENCH_RUNTIME").as_deref() {
        Ok("wrangler") => EdgeRuntime::WranglerDev,
        _ => EdgeRuntime::Workerd,
    }
}

/// The stack for the 3-D Secure benchmark line: [`bench_stack`] with `THREE_D_SECURE=required`.
pub fn bench_stack_3ds() -> Urls {
    stack_with(false, "required")
}

fn stack_with(test_clock: bool, three_d_secure: &'static str) -> Urls {
    STACK
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                rt.block_on(async move {
                    let opts = StackOptions {
                        gmo_timeout_ms: TEST_GMO_TIMEOUT_MS,
                        amazon_timeout_ms: TEST_AMAZON_TIMEOUT_MS,
                        test_clock,
                        three_d_secure,
                        runtime: if test_clock {
                            EdgeRuntime::WranglerDev
                        } else {
                            bench_runtime()
                        },
                        ..StackOptions::default()
                    };
                    // Benchmarks (no test clock) run on a snapshot of the bundle: another
                    // engineer's rebuild must not reload the worker mid-measurement.
                    let started = if test_clock {
                        Stack::start(opts).await
                    } else {
                        Stack::start_snapshot(opts).await
                    };
                    match started {
                        Ok(stack) => {
                            let urls = Urls {
                                sandbox: stack.sandbox_url.clone(),
                                amazon_sandbox: stack.amazon_sandbox_url.clone(),
                                amazon_private_key_pem: stack
                                    .amazon_merchant_key
                                    .private_pkcs8_pem
                                    .clone(),
                                amazon_public_key_pem: stack
                                    .amazon_merchant_key
                                    .public_spki_pem
                                    .clone(),
                                assertion_signing_key: stack.assertion_signing_key.clone(),
                                edge: stack.edge_url.clone(),
                                storefront: stack.storefront_url.clone(),
                                state_dir: stack.state_dir.clone(),
                                inspector_port: stack.inspector_port,
                                scheduled_path: stack.runtime.scheduled_path(),
                                operators: stack
                                    .operators
                                    .iter()
                                    .map(|o| (o.name.clone(), o.password.clone()))
                                    .collect(),
                            };
                            let _ = tx.send(Ok(urls));
                            // Keep the stack (and its servers) alive for the whole test binary.
                            let _keep = stack;
                            std::future::pending::<()>().await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                        }
                    }
                });
            });
            match rx.recv() {
                Ok(Ok(urls)) => urls,
                Ok(Err(e)) => panic!("stack failed to start: {e}"),
                Err(e) => panic!("stack thread died: {e}"),
            }
        })
        .clone()
}

static SEQ: AtomicU64 = AtomicU64::new(0);

/// A unique order number for this test run.
pub fn order_id(prefix: &str) -> String {
    let n = SEQ.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}", t % 100_000_000_000)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// Calls the merchant API with the secret key. Returns status and JSON body.
pub async fn merchant(method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let urls = stack();
    let mut req = client()
        .request(method, format!("{}{}", urls.edge, path))
        .bearer_auth(MERCHANT_SECRET_KEY);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("edge reachable");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Creates a payment and returns its JSON (id, client_secret, …).
pub async fn create_payment(amount: i64) -> Value {
    let (status, body) = merchant(
        reqwest::Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("T"), "amount": amount })),
    )
    .await;
    assert_eq!(status, 201, "create payment: {body}");
    body
}

pub async fn payment(id: &str) -> Value {
    let (status, body) = merchant(reqwest::Method::GET, &format!("/v1/payments/{id}"), None).await;
    assert_eq!(status, 200, "get payment: {body}");
    body
}

/// Posts to the widget API as the storefront page would (with its Origin).
pub async fn widget_post(payment: &Value, body: Value) -> (u16, Value) {
    let (id, secret) = widget_ids(payment);
    widget_post_with(id, secret, body).await
}

pub async fn widget_post_with(payment_id: &str, secret: &str, body: Value) -> (u16, Value) {
    widget_call(
        reqwest::Method::POST,
        &format!("/v1/checkout/{payment_id}/card"),
        secret,
        Some(body),
    )
    .await
}

/// The network address Cloudflare would name for the shopper of a payment (`CF-Connecting-IP`):
/// one per payment (from its client secret), as shoppers come from their own networks. Without
/// it, wrangler names every test request's loopback address, and the failures of a whole test
/// binary would add up against one IP's card-testing limit. Tests of that limit send their own.
pub fn shopper_ip(client_secret: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    client_secret.hash(&mut h);
    let [a, b, ..] = h.finish().to_le_bytes();
    // 198.18.0.0/15: reserved for benchmarking, never a real shopper.
    format!("198.{}.{a}.{b}", 18 + (b & 1))
}

/// Calls the widget API at `path` as the storefront page does: its Origin and the payment's
/// client secret; the answer's status and JSON (`null` when there is none).
pub async fn widget_call(
    method: reqwest::Method,
    path: &str,
    secret: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let urls = stack();
    let mut req = client()
        .request(method, format!("{}{path}", urls.edge))
        .header("origin", &urls.storefront)
        .header("x-client-secret", secret)
        .header("cf-connecting-ip", shopper_ip(secret));
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("edge reachable");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The payment's id and client secret as the storefront page holds them.
fn widget_ids(payment: &Value) -> (&str, &str) {
    (
        payment["id"].as_str().unwrap_or(""),
        payment["client_secret"].as_str().unwrap_or(""),
    )
}

/// The widget's checkout config (`GET /v1/checkout/{id}`), as the storefront page would read it.
pub async fn checkout_config(payment: &Value) -> (u16, Value) {
    let (id, secret) = widget_ids(payment);
    widget_call(
        reqwest::Method::GET,
        &format!("/v1/checkout/{id}"),
        secret,
        None,
    )
    .await
}

/// A browser's CORS preflight for a POST to `url` from `origin`: the status and the
/// `access-control-allow-origin` it grants (`None` when it grants none).
pub async fn cors_preflight(url: &str, origin: &str) -> (u16, Option<String>) {
    let resp = client()
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .expect("edge");
    let allowed = resp
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (resp.status().as_u16(), allowed)
}

/// Gets a GMO token from the sandbox the way its token JS does.
pub async fn token_for(card: &str) -> String {
    let urls = stack();
    let shop = kessai_sandbox::SandboxConfig::default().shop_id;
    let resp = client()
        .post(format!("{}/ext/api/credit/getToken", urls.sandbox))
        .json(&json!({ "shopId": shop, "cardno": card, "expire": "203012", "securitycode": "123", "holdername": "TARO YAMADA" }))
        .send()
        .await
        .expect("sandbox reachable");
    let body: Value = resp.json().await.expect("token json");
    assert_eq!(body["resultCode"], "000", "token: {body}");
    body["tokenObject"]["token"]
        .as_str()
        .expect("token string")
        .to_string()
}

/// The sandbox's log of protocol requests for one GMO OrderID.
pub async fn gateway_requests(gmo_order_id: &str) -> Vec<Value> {
    let urls = stack();
    let v: Value = client()
        .get(format!(
            "{}/__sandbox/requests?order_id={gmo_order_id}",
            urls.sandbox
        ))
        .send()
        .await
        .expect("sandbox reachable")
        .json()
        .await
        .expect("json");
    v.as_array().cloned().unwrap_or_default()
}

pub fn count_api(requests: &[Value], api: &str) -> usize {
    requests.iter().filter(|r| r["api"] == api).count()
}

/// Makes the sandbox answer the next `times` calls of `api` about `gmo_order_id` `delay_ms` late.
/// (Faults are scoped to one OrderID: the tests of one binary share the sandbox and run in
/// parallel.)
pub async fn sandbox_fault(api: &str, gmo_order_id: &str, delay_ms: u64, times: u32) {
    sandbox_fault_spec(
        json!({ "api": api, "order_id": gmo_order_id, "delay_ms": delay_ms, "times": times }),
    )
    .await;
}

/// Arms a sandbox fault (`{api, order_id?, delay_ms, times, err_info?, execute_late?}`).
pub async fn sandbox_fault_spec(spec: Value) {
    let urls = stack();
    let status = client()
        .post(format!("{}/__sandbox/faults", urls.sandbox))
        .json(&spec)
        .send()
        .await
        .expect("sandbox reachable")
        .status();
    assert!(status.is_success());
}

static CHROMEDRIVER_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

extern "C" fn stop_chromedriver() {
    let pid = CHROMEDRIVER_PID.load(Ordering::SeqCst);
    if pid > 0 {
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
    }
}

/// A chromedriver for this test binary, tied to this process's lifetime.
pub fn chromedriver_url() -> String {
    static DRIVER: OnceLock<String> = OnceLock::new();
    DRIVER
        .get_or_init(|| {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("free port");
            let bin =
                std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
            let mut cmd = std::process::Command::new(bin);
            let log = std::env::temp_dir().join(format!("kessai-chromedriver-{port}.log"));
            cmd.arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()));
            cmd.stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("chromedriver (installed by scripts/setup.sh): {e}"));
            CHROMEDRIVER_PID.store(child.id() as i32, Ordering::SeqCst);
            // Reaped by the exit handler's kill; the handle itself is not needed any more.
            std::mem::forget(child);
            // Stop chromedriver (and the browsers it started) when the test binary exits. (A
            // parent-death signal would fire when the *thread* that spawned it ends.)
            unsafe {
                libc::atexit(stop_chromedriver);
            }
            let url = format!("http://127.0.0.1:{port}");
            for _ in 0..100 {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            url
        })
        .clone()
}

/// A headless Chromium session.
pub async fn browser() -> fantoccini::Client {
    let caps: serde_json::Map<String, Value> = serde_json::from_value(json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1000,1400"]
        }
    }))
    .expect("caps");
    fantoccini::ClientBuilder::native()
        .capabilities(caps)
        .connect(&chromedriver_url())
        .await
        .expect("chromedriver session")
}

// ---------------------------------------------------------------------------------------------
// Amazon Pay: the hosted pages driven by plain HTTP (no browser), redirects followed by hand.

/// A client that does not follow redirects, so each hop (and its `Location`) can be checked.
pub fn manual_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// One hop: status, `Location` (absolute, resolved against the request URL) and body.
#[derive(Debug, Clone)]
pub struct Hop {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let origin_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|i| base[i..].find('/').map(|j| i + j))
        .unwrap_or(base.len());
    format!("{}{location}", &base[..origin_end])
}

pub(crate) async fn hop(resp: reqwest::Response, url: &str) -> Hop {
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(|l| absolute(url, l));
    Hop {
        status,
        location,
        body: resp.text().await.unwrap_or_default(),
    }
}

/// GET `url` without following redirects.
pub async fn nav_get(url: &str) -> Hop {
    let resp = manual_client().get(url).send().await.expect("reachable");
    hop(resp, url).await
}

/// POST a form to `url` without following redirects.
pub async fn nav_post(url: &str, form: &[(&str, &str)]) -> Hop {
    let resp = manual_client()
        .post(url)
        .form(form)
        .send()
        .await
        .expect("reachable");
    hop(resp, url).await
}

/// The storefront page Amazon flows return to in the edge tests.
pub fn amazon_return_url() -> String {
    format!("{}/amazon-pay/return", stack().storefront)
}

/// `POST /v1/checkout/{id}/amazon-pay/button` as the widget does it.
pub async fn amazon_button(payment: &Value, body: Value) -> (u16, Value) {
    let (id, secret) = widget_ids(payment);
    widget_call(
        reqwest::Method::POST,
        &format!("/v1/checkout/{id}/amazon-pay/button"),
        secret,
        Some(body),
    )
    .await
}

/// What `checkout.js` posts to the sandbox when the buyer clicks the button.
pub async fn amazon_start(
    product_type: &str,
    payload_json: &str,
    signature: &str,
    config: &Value,
) -> Hop {
    let urls = stack();
    let page = format!("{}/checkout", urls.storefront);
    nav_post(
        &format!("{}/checkout/start", urls.amazon_sandbox),
        &[
            ("payloadJSON", payload_json),
            ("signature", signature),
            (
                "publicKeyId",
                config["public_key_id"].as_str().unwrap_or(""),
            ),
            ("algorithm", "AMZN-PAY-RSASSA-PSS-V2"),
            ("merchantId", config["merchant_id"].as_str().unwrap_or("")),
            ("productType", product_type),
            ("ledgerCurrency", "JPY"),
            ("checkoutLanguage", "ja_JP"),
            ("sandbox", "true"),
            ("placement", "Checkout"),
            ("returnUrl", &page),
        ],
    )
    .await
}

/// The `amazonCheckoutSessionId` (or another parameter) of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    let q = q.split('#').next().unwrap_or(q);
    q.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then(|| {
            reqwest::Url::parse(&format!("http://x/?v={v}"))
                .ok()
                .and_then(|u| u.query_pairs().next().map(|(_, v)| v.to_string()))
                .unwrap_or_else(|| v.to_string())
        })
    })
}

/// From the button click to Amazon sending the buyer to the edge's review URL: logs in as
/// `buyer` (sandbox buyer key), picks address `address` and the first payment method. Returns the
/// review URL (on the edge) and the checkout session id.
pub async fn amazon_login_and_choose(start: &Hop, buyer: &str, address: usize) -> (String, String) {
    let login = start
        .location
        .clone()
        .unwrap_or_else(|| panic!("start: {} {}", start.status, start.body));
    let cs = query_param(&login, "amazonCheckoutSessionId").expect("session id");
    let urls = stack();
    let page = nav_get(&login).await;
    assert_eq!(page.status, 200, "login page: {}", page.body);
    let after_login = nav_post(
        &format!("{}/checkout/login", urls.amazon_sandbox),
        &[
            ("amazonCheckoutSessionId", &cs),
            ("buyer", buyer),
            ("email", "buyer@example.jp"),
            ("password", "sandbox"),
        ],
    )
    .await;
    let address_url = after_login.location.expect("address page");
    let page = nav_get(&address_url).await;
    assert_eq!(page.status, 200, "address page: {}", page.body);
    let address = address.to_string();
    let chosen = nav_post(
        &format!("{}/checkout/address", urls.amazon_sandbox),
        &[
            ("amazonCheckoutSessionId", &cs),
            ("buyer", buyer),
            ("address", &address),
            ("paymentMethod", "0"),
        ],
    )
    .await;
    let review = chosen
        .location
        .unwrap_or_else(|| panic!("address submit: {} {}", chosen.status, chosen.body));
    (review, cs)
}

// Amazon Pay checkout, driven over plain HTTP (no browser)

/// The widget's Amazon Pay settings from `GET /v1/checkout/{id}`.
pub async fn amazon_config(p: &Value) -> Value {
    let (status, cfg) = checkout_config(p).await;
    assert_eq!(status, 200, "{cfg}");
    assert!(cfg["amazon_pay"].is_object(), "{cfg}");
    cfg["amazon_pay"].clone()
}

/// Button → Amazon login → address → the edge's review URL.
pub async fn to_review(p: &Value, buyer: &str, address: usize) -> (String, String) {
    let cfg = amazon_config(p).await;
    let (status, b) = amazon_button(p, json!({ "return_url": amazon_return_url() })).await;
    assert_eq!(status, 200, "{b}");
    let start = amazon_start(
        "PayAndShip",
        b["payload_json"].as_str().expect("payload"),
        b["signature"].as_str().expect("signature"),
        &cfg,
    )
    .await;
    assert_eq!(start.status, 303, "sandbox start: {}", start.body);
    amazon_login_and_choose(&start, buyer, address).await
}

/// Review (edge) → Amazon's processing page → the edge's result URL.
pub async fn review_to_result(review: &str) -> String {
    let r = nav_get(review).await;
    assert_eq!(r.status, 303, "review: {}", r.body);
    let processing = r.location.expect("amazonPayRedirectUrl");
    assert!(
        processing.starts_with(&stack().amazon_sandbox),
        "review must send the shopper to Amazon: {processing}"
    );
    let pr = nav_get(&processing).await;
    assert_eq!(pr.status, 303, "processing: {}", pr.body);
    pr.location.expect("checkoutResultReturnUrl")
}

/// Button → Amazon → review → Amazon's processing page: the edge's result URL (nothing completed
/// yet) and the checkout session id.
pub async fn to_result(p: &Value, buyer: &str, address: usize) -> (String, String) {
    let (review, cs) = to_review(p, buyer, address).await;
    (review_to_result(&review).await, cs)
}

/// Where the edge sends the shopper back after an Amazon flow for `payment_id`: the storefront's
/// return page with kessai's parameters.
pub fn back_in_shop(payment_id: &str, outcome: &str) -> String {
    format!(
        "{}?kessai_payment={payment_id}&kessai_amazon={outcome}",
        amazon_return_url()
    )
}

/// The full flow up to the storefront's return page; returns that final Location.
pub async fn pay_with_amazon(p: &Value, buyer: &str, address: usize) -> (String, String) {
    let (result, cs) = to_result(p, buyer, address).await;
    let done = nav_get(&result).await;
    assert_eq!(done.status, 303, "result: {}", done.body);
    (done.location.expect("back to the shop"), cs)
}

/// The Amazon sandbox's request log (`api`, `object_id` filters).
pub async fn amazon_requests(api: Option<&str>, object_id: Option<&str>) -> Vec<Value> {
    let mut q: Vec<(&str, &str)> = Vec::new();
    if let Some(a) = api {
        q.push(("api", a));
    }
    if let Some(o) = object_id {
        q.push(("object_id", o));
    }
    amazon_control_list("requests", &q).await
}

/// Arms an Amazon sandbox fault (`{api, object_id?, drop_answer?, delay_ms?, times?}`).
pub async fn amazon_fault(spec: Value) {
    let (status, answer) = amazon_sandbox_post("/__sandbox/amazon/faults", spec.clone()).await;
    assert!(
        (200..300).contains(&status),
        "fault {spec}: {status} {answer}"
    );
}

/// Every object of a kind the Amazon sandbox holds (`charges`, `checkout-sessions`, …).
pub async fn amazon_objects(kind: &str) -> Vec<Value> {
    amazon_control_list(kind, &[]).await
}

/// The one object of `kind` whose `id_field` is `id` (panics when the sandbox has none).
pub async fn amazon_object(kind: &str, id_field: &str, id: &str) -> Value {
    amazon_objects(kind)
        .await
        .into_iter()
        .find(|o| o[id_field] == id)
        .unwrap_or_else(|| panic!("no {kind} {id} at the Amazon sandbox"))
}

/// `GET /__sandbox/amazon/{what}?{query}`: a JSON array of the sandbox's records.
pub async fn amazon_control_list(what: &str, query: &[(&str, &str)]) -> Vec<Value> {
    let urls = stack();
    let v: Value = client()
        .get(format!("{}/__sandbox/amazon/{what}", urls.amazon_sandbox))
        .query(query)
        .send()
        .await
        .expect("sandbox reachable")
        .json()
        .await
        .expect("json");
    v.as_array().cloned().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Payment operations (issue #4)

/// The GMO sandbox's stored transaction for an OrderID (`status`, `amount`, …).
pub async fn gmo_trade(gmo_order_id: &str) -> Value {
    let urls = stack();
    client()
        .get(format!("{}/__sandbox/trades/{gmo_order_id}", urls.sandbox))
        .send()
        .await
        .expect("sandbox reachable")
        .json()
        .await
        .expect("json")
}

/// One GMO protocol call straight at the sandbox with the sandbox shop's credentials, as a
/// change made on GMO's own management screen (behind the edge): the answer's fields.
pub async fn gmo_shop_call(
    sandbox: &str,
    api: &str,
    fields: &[(&str, &str)],
) -> std::collections::HashMap<String, String> {
    let shop = kessai_sandbox::SandboxConfig::default();
    let mut form: Vec<(&str, &str)> =
        vec![("ShopID", &shop.shop_id), ("ShopPass", &shop.shop_pass)];
    form.extend_from_slice(fields);
    let text = client()
        .post(format!("{sandbox}/payment/{api}.idPass"))
        .form(&form)
        .send()
        .await
        .expect("GMO sandbox reachable")
        .text()
        .await
        .unwrap_or_default();
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A card payment authorised (仮売上) through the widget API with an approved test card.
pub async fn authorized_card_payment(amount: i64) -> Value {
    let p = create_payment(amount).await;
    let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
    let (status, body) = widget_post(&p, json!({ "token": token })).await;
    assert_eq!(status, 200, "authorize: {body}");
    assert_eq!(body["state"], "authorized", "{body}");
    p
}

/// An Amazon Pay payment authorised (仮売上) through the hosted flow (buyer TARO); with its
/// charge id.
pub async fn authorized_amazon_payment(amount: i64) -> (Value, String) {
    let p = create_payment(amount).await;
    pay_with_amazon(&p, kessai_sandbox::amazon::buyers::TARO.key, 0).await;
    let after = payment(&id_of(&p)).await;
    assert_eq!(after["state"], "authorized", "{after}");
    let charge_id = after["amazon_pay"]["charge_id"]
        .as_str()
        .expect("charge id")
        .to_string();
    (p, charge_id)
}

/// `POST /v1/payments/{id}/{endpoint}` (capture, amount, cancel, refund) with the secret key.
pub async fn operate(id: &str, endpoint: &str, body: Option<Value>) -> (u16, Value) {
    merchant(
        reqwest::Method::POST,
        &format!("/v1/payments/{id}/{endpoint}"),
        body,
    )
    .await
}

/// A payment's id, from a merchant-API payment JSON.
pub fn id_of(p: &Value) -> String {
    p["id"].as_str().expect("payment id").to_string()
}

/// The GMO OrderID of a payment's current attempt.
pub fn gmo_order(p: &Value) -> String {
    p["gateway"]["gmo_order_id"]
        .as_str()
        .expect("gmo order id")
        .to_string()
}

/// The kinds of a payment's history events, in order.
pub fn event_kinds(p: &Value) -> Vec<String> {
    p["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["kind"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Time (the edge's test clock and the sandboxes' clocks) and the Cron Trigger

/// Freezes the edge, the GMO sandbox and the Amazon Pay sandbox at `unix_ms`, so JST rules
/// (same day / same month / 30 and 60 days) are decided on both sides at the same instant.
pub async fn set_clock(unix_ms: i64) {
    let urls = stack();
    let (status, body) = merchant(
        reqwest::Method::PUT,
        "/v1/test/clock",
        Some(json!({ "now_ms": unix_ms })),
    )
    .await;
    assert_eq!(status, 200, "edge clock: {body}");
    assert_eq!(body["unix_ms"], unix_ms, "edge clock: {body}");
    for control in [
        format!("{}/__sandbox/clock", urls.sandbox),
        format!("{}/__sandbox/amazon/clock", urls.amazon_sandbox),
    ] {
        let resp = client()
            .post(&control)
            .json(&json!({ "set_unix_ms": unix_ms }))
            .send()
            .await
            .expect("sandbox reachable");
        assert!(resp.status().is_success(), "{control}");
    }
}

/// Back to the real time on the edge and both sandboxes.
pub async fn real_clock() {
    let urls = stack();
    let (status, body) = merchant(reqwest::Method::DELETE, "/v1/test/clock", None).await;
    assert_eq!(status, 200, "edge clock: {body}");
    for control in [
        format!("{}/__sandbox/clock", urls.sandbox),
        format!("{}/__sandbox/amazon/clock", urls.amazon_sandbox),
    ] {
        let resp = client()
            .post(&control)
            .json(&json!({ "real": true }))
            .send()
            .await
            .expect("sandbox reachable");
        assert!(resp.status().is_success(), "{control}");
    }
}

/// Runs the edge's Cron Trigger once, as Cloudflare would (`wrangler dev --test-scheduled`, or
/// Miniflare's trigger handler for a benchmark stack).
pub async fn run_cron() {
    let urls = stack();
    let resp = client()
        .get(format!(
            "{}{}?cron=*/5+*+*+*+*",
            urls.edge, urls.scheduled_path
        ))
        .send()
        .await
        .expect("edge reachable");
    assert!(resp.status().is_success(), "cron: {}", resp.status());
}

// ---------------------------------------------------------------------------------------------
// Operator console (issue #4)

/// The first console operator of this run (`operator`) and its password.
pub fn operator_login() -> (String, String) {
    stack()
        .operators
        .first()
        .cloned()
        .expect("the stack made an operator")
}

/// `POST /console/api/login`: status, the session cookie (`name=value`) if one was set, the
/// whole `Set-Cookie` header, and the body.
pub async fn console_login(name: &str, password: &str) -> (u16, Option<String>, String, Value) {
    let urls = stack();
    let resp = client()
        .post(format!("{}/console/api/login", urls.edge))
        .json(&json!({ "name": name, "password": password }))
        .send()
        .await
        .expect("edge reachable");
    let status = resp.status().as_u16();
    let set_cookie = set_cookie_of(&resp);
    let cookie = set_cookie
        .split(';')
        .next()
        .filter(|c| c.starts_with("kessai_console=") && c.len() > "kessai_console=".len())
        .map(str::to_string);
    (
        status,
        cookie,
        set_cookie,
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// The `Set-Cookie` header of an answer ("" without one).
fn set_cookie_of(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// A logged-in operator session cookie (`kessai_console=…`).
pub async fn operator_session() -> String {
    let (name, password) = operator_login();
    let (status, cookie, _, body) = console_login(&name, &password).await;
    assert_eq!(status, 200, "login: {body}");
    cookie.expect("session cookie")
}

/// Calls the edge as the console does: with the session `cookie` (if any) and, when `csrf`,
/// the `X-Kessai-Console: 1` header. Returns status, `Set-Cookie` and the JSON body.
pub async fn console_call(
    method: reqwest::Method,
    path: &str,
    cookie: Option<&str>,
    csrf: bool,
    body: Option<Value>,
) -> (u16, String, Value) {
    let urls = stack();
    let mut req = client().request(method, format!("{}{}", urls.edge, path));
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if csrf {
        req = req.header("x-kessai-console", "1");
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("edge reachable");
    let status = resp.status().as_u16();
    let set_cookie = set_cookie_of(&resp);
    (status, set_cookie, resp.json().await.unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// Amazon Pay IPNs made by hand (signed by the sandbox's `/__sandbox/amazon/ipn/sign` control)

/// The Amazon sandbox's merchant id (`kessai_sandbox::amazon`'s default).
pub const AMAZON_SANDBOX_MERCHANT_ID: &str = "A3KESSAISANDBOX";

/// POSTs a JSON control to the Amazon sandbox; status and JSON answer.
pub async fn amazon_sandbox_post(path: &str, body: Value) -> (u16, Value) {
    let urls = stack();
    let resp = client()
        .post(format!("{}{path}", urls.amazon_sandbox))
        .json(&body)
        .send()
        .await
        .expect("sandbox reachable");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// An Amazon Pay V2 IPN message.
pub fn ipn_message(
    object_type: &str,
    object_id: &str,
    cp_id: &str,
    notification_id: &str,
) -> String {
    json!({
        "MerchantID": AMAZON_SANDBOX_MERCHANT_ID,
        "ObjectType": object_type,
        "ObjectId": object_id,
        "ChargePermissionId": cp_id,
        "NotificationType": "STATE_CHANGE",
        "NotificationId": notification_id,
        "NotificationVersion": "V2",
    })
    .to_string()
}

/// A Notification envelope signed by the sandbox (`spec`: message, signature_version,
/// identity, topic_arn, subject).
pub async fn signed_ipn(spec: Value) -> Value {
    let (status, env) = amazon_sandbox_post("/__sandbox/amazon/ipn/sign", spec).await;
    assert_eq!(status, 200, "{env}");
    env
}

/// POSTs an envelope as SNS does; status and JSON answer.
pub async fn post_amazon_ipn(envelope: &Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{}/api/amazonpay2/ipn.php", stack().edge))
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", "Notification")
        .body(envelope.to_string())
        .send()
        .await
        .expect("edge reachable");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// 定期購入 (issue #15)

/// 12:00 JST on `y`-`m`-`d`, as Unix ms (for [`set_clock`]).
pub fn jst_noon(y: i32, m: u32, d: u32) -> i64 {
    let (yy, mm) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * mm as i32 + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = i64::from(era) * 146_097 + i64::from(doe) - 719_468;
    days * 86_400_000 + 3 * 3_600_000
}

/// The merchant API's view of subscription `id` (with its charges and history).
pub async fn subscription_of(id: &str) -> Value {
    let (status, body) = merchant(
        reqwest::Method::GET,
        &format!("/v1/subscriptions/{id}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}
