//! A native simulator of Amazon Pay Checkout v2 (CV2) for Japan, beside the GMO one.
//!
//! One axum server per [`start`]. It serves, on its own port:
//! - the REST API under `/sandbox/v2/…` and `/v2/…` (a `SANDBOX-` key id); `/live/v2/…` answers
//!   `403 InvalidAuthentication`. Every request's `AMZN-PAY-RSASSA-PSS-V2` (or legacy) signature
//!   is verified against the registered public key ([`auth`]), POSTs need an idempotency key,
//!   and the objects follow Amazon's state machines ([`api`]);
//! - `GET /checkout.js`: a stand-in of Amazon's button script (`amazon.Pay.renderButton`);
//! - the hosted "Amazon" pages the button leads to (buyer login, address book, sign-in consent,
//!   processing) ([`hosted`]);
//! - test controls under `/__sandbox/amazon/…` ([`control`]).
//!
//! Facts follow `shared/reference/amazon-pay.md`; choices where the reference is unsure are
//! marked `[U]` in the code and in `sandbox/README.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use kessai_sandbox::amazon::{AmazonSandboxConfig, MerchantKey, start};
//! let key = MerchantKey::generate();
//! let sandbox = start(AmazonSandboxConfig::for_key(&key), "127.0.0.1:0".parse().expect("addr")).await?;
//! println!("API base: {}  checkout.js: {}", sandbox.base_url, sandbox.checkout_js_url());
//! sandbox.stop().await;
//! # Ok(()) }
//! ```

mod api;
mod auth;
pub mod buyers;
mod control;
mod hosted;
pub mod ipn;
mod state;
mod wallet;
mod wire;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{any, get, post};
use serde_json::Value;

pub use auth::{DEFAULT_MAX_CLOCK_SKEW_MS, MerchantKey, REQUIRED_SIGNED_HEADERS};
pub use state::{
    AUTHORIZATION_LIFETIME_DAYS, BUYER_TOKEN_LIFETIME_MS, CHECKOUT_SESSION_LIFETIME_MS,
    MAX_TRANSACTION_AMOUNT, RECURRING_MONTHLY_CAP, REFUND_EXTRA_CAP, REFUND_EXTRA_PERCENT,
};

/// The simulated merchant account and the sandbox's rules.
#[derive(Debug, Clone)]
pub struct AmazonSandboxConfig {
    /// Seller (merchant) id, e.g. `A3KESSAISANDBOX`; the button's `merchantId` must match.
    pub merchant_id: String,
    /// Store id (Login with Amazon client id) `amzn1.application-oa2-client.…`; payloads'
    /// `storeId` must match.
    pub store_id: String,
    /// The registered public key's id, `SANDBOX-…`.
    pub public_key_id: String,
    /// The registered public key (SPKI PEM).
    pub public_key_pem: String,
    /// Largest allowed distance between `x-amz-pay-date` and the sandbox clock. [U] 15 min.
    pub max_clock_skew_ms: i64,
    /// A refund stays RefundInitiated at least this long; it becomes Refunded at the first
    /// request after that (default 0: at the next request after Create Refund).
    pub refund_delay_ms: i64,
    /// Same for AuthorizationInitiated (canHandlePendingAuthorization) and CaptureInitiated.
    pub pending_delay_ms: i64,
    /// A capture this many days or more after the authorisation goes through CaptureInitiated
    /// [I: "e.g. capture > 7 days after auth"]; `None`: always synchronous.
    pub capture_pending_after_days: Option<i64>,
}

impl AmazonSandboxConfig {
    /// The sandbox merchant with `key`'s public half registered.
    pub fn for_key(key: &MerchantKey) -> AmazonSandboxConfig {
        AmazonSandboxConfig {
            merchant_id: "A3KESSAISANDBOX".into(),
            store_id: "amzn1.application-oa2-client.kessaisandbox0000000000000001".into(),
            public_key_id: "SANDBOX-AKESSAISANDBOXKEY0000001".into(),
            public_key_pem: key.public_spki_pem.clone(),
            max_clock_skew_ms: DEFAULT_MAX_CLOCK_SKEW_MS,
            refund_delay_ms: 0,
            pending_delay_ms: 0,
            capture_pending_after_days: Some(7),
        }
    }
}

pub(crate) type Shared = Arc<Mutex<state::State>>;

pub(crate) fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, state::State> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running Amazon Pay sandbox. Runs on the tokio runtime that called [`start`] until
/// [`AmazonSandboxHandle::stop`] or the runtime's end; dropping the handle does not stop it.
pub struct AmazonSandboxHandle {
    /// `http://127.0.0.1:PORT`, no trailing slash: the API base (`{base_url}/sandbox/v2/…`), and
    /// the `x-amz-pay-host` to sign is its `127.0.0.1:PORT` (or `pay-api.amazon.jp`).
    pub base_url: String,
    pub addr: SocketAddr,
    /// The simulated account (merchant id, store id, public key id).
    pub config: AmazonSandboxConfig,
    shared: Shared,
    server: crate::Server,
    ipn: ipn::IpnShared,
    ipn_sender: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for AmazonSandboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmazonSandboxHandle")
            .field("base_url", &self.base_url)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AmazonSandboxHandle {
    /// The stand-in of `https://static-fe.payments-amazon.com/checkout.js`.
    pub fn checkout_js_url(&self) -> String {
        format!("{}/checkout.js", self.base_url)
    }

    /// `host:port` as `x-amz-pay-host` should carry it.
    pub fn api_host(&self) -> String {
        self.base_url
            .split_once("://")
            .map(|(_, h)| h.to_string())
            .unwrap_or_else(|| self.base_url.clone())
    }

    /// The sandbox clock (Unix ms).
    pub fn now_ms(&self) -> i64 {
        lock(&self.shared).now().0
    }

    /// Freezes the sandbox clock at `unix_ms`.
    pub fn set_clock_ms(&self, unix_ms: i64) {
        lock(&self.shared).clock.set(unix_ms);
    }

    /// Moves the sandbox clock forward (or back, with a negative value).
    pub fn advance_ms(&self, ms: i64) {
        lock(&self.shared).clock.advance_ms(ms);
    }

    /// The checkout session as Get Checkout Session would show it now (no request logged).
    pub fn checkout_session(&self, id: &str) -> Option<Value> {
        let mut st = lock(&self.shared);
        st.refresh();
        st.checkout_sessions
            .get(id)
            .map(|cs| wire::checkout_session_json(cs, &st.base_url))
    }

    /// Every charge (Get Charge JSON), oldest first.
    pub fn charges(&self) -> Vec<Value> {
        control::charges_json(&mut lock(&self.shared), None)
    }

    /// Every checkout session (Get Checkout Session JSON), oldest first.
    pub fn checkout_sessions(&self) -> Vec<Value> {
        control::checkout_sessions_json(&mut lock(&self.shared))
    }

    /// Every charge permission (Get Charge Permission JSON), oldest first.
    pub fn charge_permissions(&self) -> Vec<Value> {
        control::charge_permissions_json(&mut lock(&self.shared))
    }

    /// Every refund (Get Refund JSON), oldest first.
    pub fn refunds(&self) -> Vec<Value> {
        control::refunds_json(&mut lock(&self.shared))
    }

    /// The API request log: `[{seq, at_unix_ms, method, path, api, status, reason_code,
    /// object_id, replayed, dropped}]`.
    pub fn requests(&self) -> Vec<Value> {
        let st = lock(&self.shared);
        st.log
            .iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .collect()
    }

    /// Arms a fault on the answer of `api` (e.g. `CompleteCheckoutSession`, `CaptureCharge`)
    /// for `object_id` (or any object): the call is executed, then its answer is dropped
    /// (`drop_answer`) and/or delayed by `delay_ms`.
    pub fn add_fault(&self, api: &str, object_id: Option<&str>, drop_answer: bool, delay_ms: u64) {
        lock(&self.shared).faults.push(state::Fault {
            api: api.to_string(),
            object_id: object_id.map(str::to_string),
            drop_answer,
            delay_ms,
            times: 1,
            status: None,
            commit: false,
            execute_late: false,
            tag: None,
        });
    }

    /// Where the sandbox sends IPNs (the edge's `/api/amazonpay2/ipn.php`); `None` stops making
    /// them. Changes before the first URL are not notified.
    pub fn set_ipn_url(&self, url: Option<String>) {
        ipn::set_url(&self.shared, &self.ipn, url);
    }

    /// The URL prefix the SNS signing certificates are served under (`…/__sns/`).
    pub fn sns_cert_base(&self) -> String {
        ipn::lock_ipn(&self.ipn).cert_base.clone()
    }

    /// The signing certificate's URL (the envelopes' `SigningCertURL`).
    pub fn sns_cert_url(&self) -> String {
        ipn::lock_ipn(&self.ipn).cert_url()
    }

    /// The sandbox CA's public key (SubjectPublicKeyInfo DER, standard base64).
    pub fn sns_ca_spki_base64(&self) -> String {
        kessai_core::amazon::signing::base64_encode(&ipn::lock_ipn(&self.ipn).identity.ca_spki_der)
    }

    /// The SNS topic the notifications come from.
    pub fn sns_topic_arn(&self) -> String {
        ipn::lock_ipn(&self.ipn).topic_arn.clone()
    }

    /// Every IPN made so far with its delivery attempts (`ipn::Delivery` JSON), oldest first.
    pub fn ipn_deliveries(&self) -> Vec<Value> {
        ipn::lock_ipn(&self.ipn)
            .deliveries
            .iter()
            .filter_map(|d| serde_json::to_value(d).ok())
            .collect()
    }

    /// Stops accepting connections, lets in-flight requests finish and waits for the server.
    pub async fn stop(self) {
        self.ipn_sender.abort();
        self.server.stop().await;
    }
}

fn router(shared: Shared) -> Router {
    // The API's error-status faults (429/5xx) are answered around `api::handle`.
    let status_faults =
        || axum::middleware::from_fn_with_state(shared.clone(), control::status_fault);
    Router::new()
        .route(
            "/sandbox/v2/{*rest}",
            any(api::handle).layer(status_faults()),
        )
        .route("/live/v2/{*rest}", any(api::handle).layer(status_faults()))
        .route("/v2/{*rest}", any(api::handle).layer(status_faults()))
        .route("/checkout.js", get(hosted::checkout_js))
        .route("/checkout/start", post(hosted::start))
        .route(
            "/checkout/login",
            get(hosted::login_page).post(hosted::login_submit),
        )
        .route(
            "/checkout/address",
            get(hosted::address_page).post(hosted::address_submit),
        )
        .route("/checkout/cancel", get(hosted::cancel))
        .route("/checkout/processing", get(hosted::processing))
        .route(
            "/signin/login",
            get(hosted::signin_login_page).post(hosted::signin_login_submit),
        )
        .route(
            "/signin/consent",
            get(hosted::consent_page).post(hosted::consent_submit),
        )
        .route("/signin/cancel", get(hosted::signin_cancel))
        .route(
            "/__sandbox/amazon/clock",
            get(control::get_clock).post(control::set_clock),
        )
        .route("/__sandbox/amazon/requests", get(control::requests))
        .route(
            "/__sandbox/amazon/checkout-sessions",
            get(control::list_checkout_sessions),
        )
        .route(
            "/__sandbox/amazon/charge-permissions",
            get(control::list_charge_permissions),
        )
        .route("/__sandbox/amazon/charges", get(control::list_charges))
        .route(
            "/__sandbox/amazon/charge-permissions/{id}/wallet",
            post(wallet::set_wallet),
        )
        .route("/__sandbox/amazon/refunds", get(control::list_refunds))
        .route(
            "/__sandbox/amazon/faults",
            post(control::add_fault).get(control::list_faults),
        )
        .route("/__sandbox/amazon/reset", post(control::reset))
        .route("/", get(control::index))
        .with_state(shared)
}

/// Binds `addr` (port 0 picks a free port) and serves the Amazon Pay sandbox in a spawned task.
pub async fn start(
    cfg: AmazonSandboxConfig,
    addr: SocketAddr,
) -> std::io::Result<AmazonSandboxHandle> {
    let bound = crate::bind(addr).await?;
    let (base_url, addr) = (bound.base_url.clone(), bound.addr);
    let shared: Shared = Arc::new(Mutex::new(state::State::new(cfg.clone(), base_url.clone())));
    let now = lock(&shared).now();
    let ipn: ipn::IpnShared = Arc::new(Mutex::new(ipn::IpnState::new(
        &base_url,
        &cfg.merchant_id,
        now,
    )));
    let ipn_sender = ipn::spawn_sender(shared.clone(), ipn.clone());
    let server =
        bound.serve(router(shared.clone()).merge(ipn::routes(shared.clone(), ipn.clone())));
    Ok(AmazonSandboxHandle {
        base_url,
        addr,
        config: cfg,
        shared,
        server,
        ipn,
        ipn_sender,
    })
}
