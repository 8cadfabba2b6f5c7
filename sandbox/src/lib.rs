//! kessai-sandbox: a local simulator of the GMO Payment Gateway protocol-type ("idPass") card
//! API and a stand-in of its token JS (トークン決済 v1, `Multipayment`).
//!
//! It is the default gateway of kessai's demo and tests. The wire format (CP932 form bodies, raw
//! CP932 `Key=Value&…` answers, `|`-joined error pairs) and the status rules come from
//! `kessai-core`, so the client and the simulator agree on them by construction. Facts follow
//! `shared/reference/gmo-pg.md`; behaviour the reference marks unsure is marked `[U]` here.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sandbox = kessai_sandbox::start(
//!     kessai_sandbox::SandboxConfig::default(),
//!     "127.0.0.1:0".parse().expect("addr"),
//! )
//! .await?;
//! println!("GMO API base: {}", sandbox.base_url);
//! sandbox.stop().await;
//! # Ok(()) }
//! ```
//!
//! Endpoints (all on `base_url`):
//! - `POST /payment/{EntryTran,ExecTran,AlterTran,ChangeTran,SearchTrade,SecureTran2}.idPass`:
//!   the protocol API. `GET` answers `ErrCode=E00&ErrInfo=E31500014` like GMO.
//! - `POST /payment/{SaveMember,UpdateMember,SearchMember,DeleteMember,SaveCard,SearchCard,
//!   DeleteCard,TradedCard}.idPass`: the Site API (会員・カード), and ExecTran with a stored card.
//! - `GET /payment/Tds2StubCallback.idPass?transId=…&t=…` (ExecTran's RedirectUrl), then
//!   `POST /tds2/method` and `POST /tds2/challenge`: the 3-D Secure 2 pages (browser).
//! - `GET /ext/js/token.js`: the token JS stand-in; `POST /ext/api/credit/getToken`: its JSON API.
//! - `/__sandbox/…`: test controls (clock, request log, stored trades and members, faults, token
//!   minting, the shop's 3D必須 setting and 支払回数 contract).
//!
//! [`amazon`] is a second simulator, of Amazon Pay CV2 (Japan), started separately on its own
//! port with [`amazon::start`].

pub mod amazon;
mod control;
mod notify;
pub mod page_forms;
mod protocol;
mod site;
mod state;
mod tds2;
pub mod test_cards;
mod token;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{any, get, post};
use kessai_core::gmo::installments::SPLIT_COUNTS;
use tokio::sync::oneshot;

/// The type of [`SandboxConfig::installments`] (core's, shared with the edge's config).
pub use kessai_core::gmo::installments::InstallmentPlan;
pub use state::TOKEN_LIFETIME_MINUTES;

/// The simulated shop and its rules.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The only shop this gateway knows (`ShopID`, token JS `init` key).
    pub shop_id: String,
    pub shop_pass: String,
    /// Days an AUTH stays capturable (SALES later → `E01420010`). Reference §4b: 60 days [S].
    pub auth_validity_days: i64,
    /// Accept any of VOID/RETURN/RETURNX regardless of the JST calendar. The test host accepted
    /// RETURN on a same-day AUTH (reference §4a) so GMO may not enforce the plugins' rule [U];
    /// by default the sandbox enforces it.
    pub lenient_cancel: bool,
    /// The shop is contracted as "3D必須": an EntryTran without `TdFlag=2` gets `E01080101`
    /// (reference §4c). Switchable at run time with `POST /__sandbox/shop`.
    pub tds_required: bool,
    /// Minutes a 3-D Secure 2 authentication (ACS=2 answered) stays open before it counts as
    /// abandoned. [U] GMO's timeout is not documented; 10 minutes (EMV's challenge window is
    /// of that order).
    pub tds2_timeout_minutes: i64,
    /// The only site (`SiteID`, 会員・カード) this gateway knows; the shop belongs to it.
    pub site_id: String,
    /// `SitePass`. [U] GMO's format is not in the reference; the sandbox takes ShopPass's (≤ 10
    /// alphanumerics), so keep a configured one within it.
    pub site_pass: String,
    /// 支払回数 the shop's card contract allows beyond 一括 (the edge's `CARD_INSTALLMENTS`
    /// syntax, see [`parse_installments`]). ExecTran/AlterTran with anything else is refused
    /// with `42G700000`. Switchable at run time with `POST /__sandbox/shop`.
    pub installments: InstallmentPlan,
}

/// Every 支払回数 a card contract can hold: all split counts of core's `SPLIT_COUNTS`, ボーナス一括
/// and リボ. (ボーナス分割, Method 4, is never contracted in the sandbox.)
pub fn full_installments() -> InstallmentPlan {
    InstallmentPlan {
        split: SPLIT_COUNTS.to_vec(),
        bonus: true,
        revolving: true,
    }
}

/// Reads a contract written like the edge's `CARD_INSTALLMENTS` (`3,5,6,bonus,revolving`; empty:
/// 一括 only) with core's parser, so the sandbox and the edge read it alike. `Err`: the bad item.
pub fn parse_installments(raw: &str) -> Result<InstallmentPlan, String> {
    InstallmentPlan::parse(raw)
}

/// The contract in the syntax [`parse_installments`] reads (`3,5,bonus,revolving`).
pub fn installments_string(plan: &InstallmentPlan) -> String {
    let mut items: Vec<String> = plan.split.iter().map(u8::to_string).collect();
    if plan.bonus {
        items.push("bonus".into());
    }
    if plan.revolving {
        items.push("revolving".into());
    }
    items.join(",")
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            shop_id: "tshop00000001".to_string(),
            shop_pass: "sandbox01".to_string(),
            auth_validity_days: 60,
            lenient_cancel: false,
            tds_required: false,
            tds2_timeout_minutes: 10,
            site_id: "tsite00000001".to_string(),
            site_pass: "sitepass01".to_string(),
            installments: full_installments(),
        }
    }
}

/// A running sandbox. The server runs on the tokio runtime that called [`start`] until
/// [`SandboxHandle::stop`] is called or that runtime ends; dropping the handle does not stop it.
pub struct SandboxHandle {
    /// `http://127.0.0.1:PORT`, no trailing slash. Use it as GMO's API base and token-JS host.
    pub base_url: String,
    pub addr: SocketAddr,
    server: Server,
    shared: Shared,
    notify: notify::NotifyShared,
    notify_sender: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for SandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxHandle")
            .field("base_url", &self.base_url)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl SandboxHandle {
    /// Where 結果通知 go (the edge's `/v1/notify/gmo`); `None` stops them.
    pub fn set_notify_url(&self, url: Option<String>) {
        notify::set_url(&self.shared, &self.notify, url);
    }

    /// URL of the token JS stand-in (`<base>/ext/js/token.js`).
    pub fn token_js_url(&self) -> String {
        format!("{}/ext/js/token.js", self.base_url)
    }

    /// Stops accepting connections, lets in-flight requests finish and waits for the server.
    pub async fn stop(self) {
        self.notify_sender.abort();
        self.server.stop().await;
    }
}

/// A listener bound for one of the simulators, before it serves anything.
pub(crate) struct Bound {
    listener: tokio::net::TcpListener,
    pub addr: SocketAddr,
    /// `http://HOST:PORT`, no trailing slash; an unspecified address reads as `127.0.0.1`.
    pub base_url: String,
}

/// Binds `addr` (port 0 picks a free port).
pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<Bound> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else if addr.is_ipv6() {
        format!("[{}]", addr.ip())
    } else {
        addr.ip().to_string()
    };
    let base_url = format!("http://{host}:{}", addr.port());
    Ok(Bound {
        listener,
        addr,
        base_url,
    })
}

/// A simulator served in a spawned tokio task until [`Server::stop`].
#[derive(Debug)]
pub(crate) struct Server {
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Bound {
    /// Serves `app` on this listener in a spawned task (graceful shutdown on [`Server::stop`]).
    pub fn serve(self, app: Router) -> Server {
        let (tx, rx) = oneshot::channel::<()>();
        let listener = self.listener;
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Server {
            shutdown: Some(tx),
            task: Some(task),
        }
    }
}

impl Server {
    /// Stops accepting connections, lets in-flight requests finish and waits for the server.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

pub(crate) type Shared = Arc<Mutex<state::State>>;

/// Locks the state. A panic while holding the lock cannot leave it half-written in a way that
/// matters to a simulator, so a poisoned lock is simply taken over.
pub(crate) fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, state::State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/payment/{api}", any(protocol::handle))
        .route("/ext/js/token.js", get(token::script))
        .route(
            "/ext/api/credit/getToken",
            post(token::get_token).options(token::preflight),
        )
        .route(
            "/__sandbox/clock",
            get(control::get_clock).post(control::set_clock),
        )
        .route("/__sandbox/requests", get(control::requests))
        .route("/__sandbox/trades/{order_id}", get(control::trade))
        .route("/__sandbox/members/{member_id}", get(control::member))
        .route(
            "/__sandbox/faults",
            post(control::add_fault).get(control::list_faults),
        )
        .route("/__sandbox/tokens", post(control::mint_token))
        .route("/__sandbox/reset", post(control::reset))
        .route(
            "/__sandbox/shop",
            get(control::get_shop).post(control::set_shop),
        )
        .route("/tds2/method", post(tds2::method_submit))
        .route("/tds2/challenge", post(tds2::challenge_submit))
        .route("/", get(control::index))
        .with_state(shared)
}

/// Binds `addr` (port 0 picks a free port) and serves the sandbox in a spawned tokio task.
pub async fn start(config: SandboxConfig, addr: SocketAddr) -> std::io::Result<SandboxHandle> {
    let bound = bind(addr).await?;
    let (base_url, addr) = (bound.base_url.clone(), bound.addr);
    let shared: Shared = Arc::new(Mutex::new(state::State::new(config, base_url.clone())));
    let notify: notify::NotifyShared = Arc::default();
    let notify_sender = notify::spawn_sender(shared.clone(), notify.clone());
    let server =
        bound.serve(router(shared.clone()).merge(notify::routes(shared.clone(), notify.clone())));
    Ok(SandboxHandle {
        base_url,
        addr,
        server,
        shared,
        notify,
        notify_sender,
    })
}
