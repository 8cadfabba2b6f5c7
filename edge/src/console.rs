//! Operator console on the edge (issue #4): operator login and sessions, who is calling the
//! merchant API (merchant key or operator session), and the console's API needs (list search,
//! authorisation countdown, operation previews, 「エラーを無視して変更する」, both sides of a
//! reconcile). The console itself is static files (console/ crate) served under `/console/`.
//!
//! Passwords are verified with WebCrypto PBKDF2 and compared in constant time; a session token
//! is 32 random bytes, kept in D1 only as its SHA-256. Neither ever reaches a log line.

use crate::config::Config;
use crate::gmo_transport::GmoTransport;
use crate::http::{ApiError, ApiResult, error_response, json_response, only_fields};
use crate::operations;
use crate::platform;
use crate::store::{Event, PaymentRow, Store, d1, n, s};
use crate::{Reply, amazon_payment, payment_view};
use kessai_core::amazon::model::{Charge, Price};
use kessai_core::amazon::request::api;
use kessai_core::console::{
    ExpiryBadge, LoginFailures, NEAR_EXPIRY_DAYS, OperatorCredential, SESSION_COOKIE,
    SESSION_TTL_MS, cleared_cookie, cookie_value, expiry_badge, parse_operators, session_cookie,
    shown_state, valid_operator_name,
};
use kessai_core::gmo::api::{self as gmo_api, Answer};
use kessai_core::gmo::status::JobCd;
use kessai_core::jst::UnixMillis;
use kessai_core::operations::{AuthorizationExpiry, Operation, PaymentMethod, plan};
use kessai_core::payment::PaymentState;
use serde::Deserialize;
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Env, Method, Request, Response};

/// The header a console page adds to every state-changing call. A cross-site form cannot set
/// it, and a cross-site `fetch` that sets it needs a CORS preflight the edge never grants.
pub const CSRF_HEADER: &str = "x-kessai-console";

/// Who is calling the merchant API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The shop's server, with the merchant secret key.
    Merchant,
    /// A logged-in operator (console session).
    Operator(String),
}

impl Caller {
    /// The event actor: `merchant`, or `operator:<name>`.
    pub fn actor(&self) -> String {
        match self {
            Caller::Merchant => "merchant".to_string(),
            Caller::Operator(name) => format!("operator:{name}"),
        }
    }
}

fn session_required() -> ApiError {
    ApiError::new(
        401,
        "unauthorized",
        "missing or wrong API key, or no valid operator session",
        "ログインしてください。",
    )
}

fn header(req: &Request, name: &str) -> String {
    req.headers().get(name).ok().flatten().unwrap_or_default()
}

/// Accepts the merchant key (`Authorization: Bearer`) or an operator session cookie; a session's
/// state-changing request must also carry [`CSRF_HEADER`]`: 1` (403 otherwise).
pub async fn authenticate(
    req: &Request,
    store: &Store<'_>,
    cfg: &Config,
    method: &Method,
) -> ApiResult<Caller> {
    if header(req, "authorization").starts_with("Bearer ") {
        return crate::merchant_auth(req, cfg).map(|()| Caller::Merchant);
    }
    let cookies = header(req, "cookie");
    let Some(token) = cookie_value(&cookies, SESSION_COOKIE) else {
        return Err(session_required());
    };
    let operator = session_operator(store, token, platform::now().0)
        .await?
        .ok_or_else(session_required)?;
    let safe = matches!(method, Method::Get | Method::Head);
    if !safe && header(req, CSRF_HEADER) != "1" {
        return Err(ApiError::new(
            403,
            "csrf_header_missing",
            "a console request that changes something must carry X-Kessai-Console: 1",
            "画面を再読み込みしてから、もう一度操作してください。",
        ));
    }
    Ok(Caller::Operator(operator))
}

async fn token_hash(token: &str) -> ApiResult<String> {
    platform::sha256_hex(token.as_bytes())
        .await
        .ok_or_else(|| ApiError::internal("sha256"))
}

/// The operator of a live session, if `token` is one.
async fn session_operator(store: &Store<'_>, token: &str, now: i64) -> ApiResult<Option<String>> {
    // Tokens are 64 hex characters; anything else cannot be one (and is not hashed).
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    #[derive(Deserialize)]
    struct Row {
        operator: String,
    }
    let hash = token_hash(token).await?;
    let row = store
        .db
        .prepare("SELECT operator FROM console_sessions WHERE token_hash = ?1 AND expires_at > ?2")
        .bind(&[s(&hash), n(now)])
        .map_err(d1)?
        .first::<Row>(None)
        .await
        .map_err(d1)?;
    Ok(row.map(|r| r.operator))
}

/// `CONSOLE_OPERATORS`, parsed; 503 when the console is not configured (or misconfigured: the
/// log says which entry, never the value).
fn operators(cfg: &Config) -> ApiResult<Vec<OperatorCredential>> {
    let raw = cfg.console_operators.as_deref().unwrap_or("");
    parse_operators(raw).map_err(|e| {
        worker::console_error!("console: {}", e.message());
        ApiError::new(
            503,
            "console_not_configured",
            "the operator console is not configured (CONSOLE_OPERATORS)",
            "管理画面が設定されていません。",
        )
    })
}

/// PBKDF2-HMAC-SHA-256 through `crypto.subtle` (Workers cap iterations at 100 000).
async fn pbkdf2(password: &str, salt: &[u8], iterations: u32, len: usize) -> Option<Vec<u8>> {
    let subtle = platform::crypto()?.subtle();
    let key_data = js_sys::Uint8Array::from(password.as_bytes());
    let key = JsFuture::from(
        subtle
            .import_key_with_str(
                "raw",
                &key_data,
                "PBKDF2",
                false,
                &platform::key_usages(&["deriveBits"]),
            )
            .ok()?,
    )
    .await
    .ok()?
    .dyn_into::<web_sys::CryptoKey>()
    .ok()?;
    let params = platform::js_object(&[
        ("name", "PBKDF2".into()),
        ("hash", "SHA-256".into()),
        ("salt", js_sys::Uint8Array::from(salt).into()),
        ("iterations", JsValue::from_f64(f64::from(iterations))),
    ]);
    let bits = JsFuture::from(
        subtle
            .derive_bits_with_object(&params, &key, (len * 8) as u32)
            .ok()?,
    )
    .await
    .ok()?;
    Some(js_sys::Uint8Array::new(&bits).to_vec())
}

fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn failures_of(store: &Store<'_>, name: &str) -> ApiResult<LoginFailures> {
    #[derive(Deserialize)]
    struct Row {
        count: i64,
        window_start: i64,
        locked_until: Option<i64>,
    }
    let row = store
        .db
        .prepare(
            "SELECT count, window_start, locked_until FROM console_login_failures WHERE name = ?1",
        )
        .bind(&[s(name)])
        .map_err(d1)?
        .first::<Row>(None)
        .await
        .map_err(d1)?;
    Ok(row
        .map(|r| LoginFailures {
            count: r.count,
            window_start: r.window_start,
            locked_until: r.locked_until,
        })
        .unwrap_or_default())
}

fn locked_error(until: i64, now: i64) -> ApiError {
    let minutes = ((until - now) + 59_999) / 60_000;
    ApiError::new(
        429,
        "login_locked",
        format!("too many failed logins; try again in {minutes} min"),
        format!("ログインの失敗が続いたため、一時的にロックしています。{minutes}分後に再度お試しください。"),
    )
    .with("retry_after_minutes", minutes)
}

/// What a login answered: the reply and, on success, the `Set-Cookie` value.
pub struct LoginReply {
    pub reply: Reply,
    pub set_cookie: Option<String>,
}

/// `POST /console/api/login` `{name, password}`.
pub async fn login(store: &Store<'_>, cfg: &Config, raw: &str) -> ApiResult<LoginReply> {
    let ops = operators(cfg)?;
    let body: Value = serde_json::from_str(raw).map_err(|_| crate::invalid_json())?;
    only_fields(&body, &["name", "password"])?;
    let field = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (name, password) = (field("name").trim().to_string(), field("password"));
    if !valid_operator_name(&name) || password.is_empty() || password.len() > 1024 {
        return Err(ApiError::bad_request(
            "name and password are required",
            "ログインIDとパスワードを入力してください。",
        ));
    }
    let now = platform::now().0;
    let failures = failures_of(store, &name).await?;
    if let Some(until) = failures.locked_until.filter(|_| failures.locked(now)) {
        worker::console_warn!("console login for {name}: locked");
        return Err(locked_error(until, now));
    }
    // An unknown name costs the same derivation as a known one (no timing oracle for names).
    let known = ops.iter().find(|o| o.name == name);
    let reference = known.cloned().unwrap_or_else(|| OperatorCredential {
        name: String::new(),
        iterations: kessai_core::console::MAX_ITERATIONS,
        salt: vec![0; 16],
        hash: vec![0; 32],
    });
    let derived = pbkdf2(
        &password,
        &reference.salt,
        reference.iterations,
        reference.hash.len(),
    )
    .await
    .ok_or_else(|| ApiError::internal("PBKDF2"))?;
    let matches = bytes_eq(&derived, &reference.hash) && known.is_some();
    if !matches {
        let next = failures.after_failure(now);
        store
            .db
            .prepare(
                "INSERT INTO console_login_failures (name, count, window_start, locked_until) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT(name) DO UPDATE SET count = excluded.count, window_start = excluded.window_start, \
                 locked_until = excluded.locked_until",
            )
            .bind(&[
                s(&name),
                n(next.count),
                n(next.window_start),
                next.locked_until.map(n).unwrap_or(JsValue::NULL),
            ])
            .map_err(d1)?
            .run()
            .await
            .map_err(d1)?;
        worker::console_warn!(
            "console login for {name}: wrong name or password ({} in window)",
            next.count
        );
        if let Some(until) = next.locked_until {
            return Err(locked_error(until, now));
        }
        return Err(ApiError::new(
            401,
            "login_failed",
            "wrong name or password",
            "ログインIDまたはパスワードが正しくありません。",
        ));
    }
    let token = platform::random_hex(32).ok_or_else(|| ApiError::internal("random"))?;
    let hash = token_hash(&token).await?;
    let expires_at = now + SESSION_TTL_MS;
    let sweep = store
        .db
        .prepare("DELETE FROM console_sessions WHERE expires_at < ?1")
        .bind(&[n(now)])
        .map_err(d1)?;
    let clear = store
        .db
        .prepare("DELETE FROM console_login_failures WHERE name = ?1")
        .bind(&[s(&name)])
        .map_err(d1)?;
    let insert = store
        .db
        .prepare("INSERT INTO console_sessions (token_hash, operator, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)")
        .bind(&[s(&hash), s(&name), n(now), n(expires_at)])
        .map_err(d1)?;
    store
        .db
        .batch(vec![sweep, clear, insert])
        .await
        .map_err(d1)?;
    worker::console_log!("console login: {name}");
    Ok(LoginReply {
        reply: Reply::ok(json!({ "operator": name, "expires_at": expires_at })),
        set_cookie: Some(session_cookie(&token)),
    })
}

/// `POST /console/api/logout`: ends the session of the cookie (204) and clears the cookie.
pub async fn logout(req: &Request, store: &Store<'_>, cfg: &Config) -> ApiResult<LoginReply> {
    // Only a session (with the CSRF header) may log itself out.
    authenticate(req, store, cfg, &Method::Post).await?;
    let cookies = header(req, "cookie");
    if let Some(token) = cookie_value(&cookies, SESSION_COOKIE) {
        let hash = token_hash(token).await?;
        store
            .db
            .prepare("DELETE FROM console_sessions WHERE token_hash = ?1")
            .bind(&[s(&hash)])
            .map_err(d1)?
            .run()
            .await
            .map_err(d1)?;
    }
    Ok(LoginReply {
        reply: Reply {
            status: 204,
            body: Value::Null,
        },
        set_cookie: Some(cleared_cookie()),
    })
}

/// `/console/api/…`: login, logout and me. Answers are JSON like the merchant API's, and carry
/// the session cookie when one is set or cleared; never cached.
pub async fn api(
    mut req: Request,
    env: &Env,
    cfg: &Config,
    method: Method,
    path: &str,
) -> worker::Result<Response> {
    let db = env.d1("DB")?;
    let store = Store { db: &db };
    let result = match (&method, path) {
        (Method::Post, "/console/api/login") => match req.text().await {
            Ok(raw) => login(&store, cfg, &raw).await,
            Err(_) => Err(crate::invalid_json()),
        },
        (Method::Post, "/console/api/logout") => logout(&req, &store, cfg).await,
        (Method::Get, "/console/api/me") => me(&req, &store, cfg).await.map(|reply| LoginReply {
            reply,
            set_cookie: None,
        }),
        _ => Err(ApiError::not_found("console endpoint")),
    };
    let resp = match &result {
        Ok(r) if r.reply.status == 204 => Response::empty()?.with_status(204),
        Ok(r) => json_response(r.reply.status, &r.reply.body)?,
        Err(e) => error_response(e)?,
    };
    if let Ok(LoginReply {
        set_cookie: Some(cookie),
        ..
    }) = &result
    {
        resp.headers().set("set-cookie", cookie)?;
    }
    resp.headers().set("cache-control", "no-store")?;
    worker::console_log!("{} {path} -> {}", method.to_string(), resp.status_code());
    Ok(resp)
}

/// `GET /console/api/me`: the operator of the session (401 without one).
pub async fn me(req: &Request, store: &Store<'_>, cfg: &Config) -> ApiResult<Reply> {
    match authenticate(req, store, cfg, &Method::Get).await? {
        Caller::Operator(name) => Ok(Reply::ok(json!({ "operator": name }))),
        Caller::Merchant => Err(session_required()),
    }
}

// ---------------------------------------------------------------------------------------------
// The console's views.

/// The name the list shows: the storefront's `customer_name`, else Amazon's buyer name.
pub fn customer_name(row: &PaymentRow) -> Option<String> {
    row.customer_name
        .clone()
        .or_else(|| row.amazon_buyer_name.clone())
}

fn badge(row: &PaymentRow, now: i64) -> Option<ExpiryBadge> {
    expiry_badge(
        operations::method_of(row),
        row.state().ok()?,
        row.authorized_at.map(UnixMillis),
        UnixMillis(now),
    )
}

/// `authorization_expiry` of the payment view: the capture deadline of a 仮売上.
pub fn expiry_view(row: &PaymentRow, now: i64) -> Value {
    match badge(row, now) {
        Some(b) => json!({
            "expires_at": b.expires_at.0,
            "days_left": b.days_left,
            "near_expiry": b.near_expiry,
            "expired": b.expired,
        }),
        None => Value::Null,
    }
}

/// The state the console shows ([`kessai_core::console::shown_state`]): 期限切れ for a 仮売上
/// past its deadline (capturing it is refused with `authorization_expired`), カード未決済 for a
/// card payment whose attempt reached GMO but was not completed.
pub fn display_state(row: &PaymentRow, now: i64) -> ApiResult<PaymentState> {
    Ok(shown_state(
        row.state()?,
        operations::method_of(row),
        row.gmo_access_id.is_some(),
        badge(row, now).as_ref(),
    ))
}

/// The list's filters (`GET /v1/payments`).
struct ListFilter {
    state: Option<PaymentState>,
    method: Option<PaymentMethod>,
    q: Option<String>,
    near_expiry: bool,
    limit: i64,
}

fn list_filter(req: &Request) -> ApiResult<ListFilter> {
    let url = req.url()?;
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let state = match param("state") {
        None => None,
        Some(st) => Some(PaymentState::parse(&st).ok_or_else(|| {
            ApiError::bad_request(
                format!("unknown state {st}"),
                "状態の指定が正しくありません。",
            )
            .with("param", "state")
        })?),
    };
    let method = match param("method") {
        None => None,
        Some(m) => Some(PaymentMethod::parse(&m).ok_or_else(|| {
            ApiError::bad_request(
                "method must be card or amazon_pay",
                "支払方法の指定が正しくありません。",
            )
            .with("param", "method")
        })?),
    };
    let q = param("q");
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(
            ApiError::bad_request("q is at most 100 characters", "検索語が長すぎます。")
                .with("param", "q"),
        );
    }
    let near_expiry = match param("near_expiry").as_deref() {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "near_expiry must be 1 or 0",
                "期限間近の指定が正しくありません。",
            )
            .with("param", "near_expiry"));
        }
    };
    let limit = match param("limit") {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| {
                ApiError::bad_request("limit must be 1-500", "件数の指定が正しくありません。")
                    .with("param", "limit")
            })?,
    };
    Ok(ListFilter {
        state,
        method,
        q,
        near_expiry,
        limit,
    })
}

/// `GET /v1/payments?state=&method=&q=&near_expiry=1&limit=`: the latest payments, newest
/// first. `q` matches part of the order id, customer name, or a gateway id (GMO OrderID,
/// AccessID, TranID; Amazon charge / charge permission / checkout session id), or the payment
/// id. `state=expired` also finds 仮売上 past their deadline; `near_expiry=1` only 仮売上 within
/// [`kessai_core::console::NEAR_EXPIRY_DAYS`] days of it.
pub async fn list(req: &Request, store: &Store<'_>) -> ApiResult<Reply> {
    let f = list_filter(req)?;
    let now = platform::now().0;
    // `expired` and `near_expiry` are decided by the clock, not stored: read the candidates
    // (stored expired + authorised) and decide below.
    let stored_states: Vec<&str> = match (f.state, f.near_expiry) {
        (_, true) => vec![PaymentState::Authorized.as_str()],
        (Some(PaymentState::Expired), false) => vec![
            PaymentState::Expired.as_str(),
            PaymentState::Authorized.as_str(),
        ],
        // カード未決済 is shown for card payments still waiting for payment (and stored only when
        // an operator forced it).
        (Some(PaymentState::Unpaid), false) => vec![
            PaymentState::RequiresPayment.as_str(),
            PaymentState::Unpaid.as_str(),
        ],
        (Some(st), false) => vec![st.as_str()],
        (None, false) => vec![],
    };
    let like = f.q.as_ref().map(|q| {
        let escaped = q
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let sql = "SELECT * FROM payments WHERE \
        (?1 IS NULL OR state = ?1 OR state = ?2) AND (?3 IS NULL OR method = ?3) AND \
        (?4 IS NULL OR id = ?5 OR order_id LIKE ?4 ESCAPE '\\' OR customer_name LIKE ?4 ESCAPE '\\' \
         OR amazon_buyer_name LIKE ?4 ESCAPE '\\' OR gmo_order_id LIKE ?4 ESCAPE '\\' OR gmo_access_id = ?5 \
         OR gmo_tran_id = ?5 OR amazon_charge_id LIKE ?4 ESCAPE '\\' OR amazon_charge_permission_id LIKE ?4 ESCAPE '\\' \
         OR amazon_checkout_session_id LIKE ?4 ESCAPE '\\') AND \
        (?7 IS NULL OR state <> 'authorized' OR (method = 'card' AND authorized_at <= ?7) \
         OR (method = 'amazon_pay' AND authorized_at <= ?8)) \
        ORDER BY CASE WHEN ?7 IS NULL THEN 0 ELSE authorized_at END, created_at DESC LIMIT ?6";
    // 期限間近 / 期限切れ: only 仮売上 old enough can be either (bounded per method in SQL), and
    // the most urgent come first; a shop's thousands of fresh 仮売上 never hide them.
    let attention = (f.near_expiry || f.state == Some(PaymentState::Expired)).then(|| {
        let threshold = if f.near_expiry { NEAR_EXPIRY_DAYS } else { -1 };
        let bound = |m| {
            JsValue::from_f64(
                AuthorizationExpiry::latest_needing_attention(m, UnixMillis(now), threshold).0
                    as f64,
            )
        };
        (bound(PaymentMethod::Card), bound(PaymentMethod::AmazonPay))
    });
    let opt = |v: Option<&str>| v.map(JsValue::from_str).unwrap_or(JsValue::NULL);
    // Reading more than asked when the clock decides, so the limit still holds after filtering.
    let read_limit = if f.near_expiry || f.state == Some(PaymentState::Expired) {
        (f.limit * 5).min(2_000)
    } else {
        f.limit
    };
    let rows = store
        .db
        .prepare(sql)
        .bind(&[
            opt(stored_states.first().copied()),
            opt(stored_states.get(1).copied()),
            opt(f.method.map(PaymentMethod::as_str)),
            opt(like.as_deref()),
            opt(f.q.as_deref()),
            n(read_limit),
            attention.clone().map_or(JsValue::NULL, |a| a.0),
            attention.map_or(JsValue::NULL, |a| a.1),
        ])
        .map_err(d1)?
        .all()
        .await
        .map_err(d1)?
        .results::<PaymentRow>()
        .map_err(d1)?;
    let mut data = Vec::new();
    for row in &rows {
        let shown = display_state(row, now)?;
        let keep = match (f.state, f.near_expiry) {
            (_, true) => badge(row, now).is_some_and(|b| b.near_expiry),
            (Some(st @ (PaymentState::Expired | PaymentState::Unpaid)), false) => shown == st,
            (Some(st), false) => shown == st || row.state == st.as_str(),
            (None, false) => true,
        };
        if keep && (data.len() as i64) < f.limit {
            data.push(payment_view(row)?);
        }
    }
    Ok(Reply::ok(json!({ "data": data })))
}

fn job_label_ja(job: JobCd) -> &'static str {
    match job {
        JobCd::Void => "取消",
        JobCd::Return => "返品",
        JobCd::Returnx => "月跨返品",
        JobCd::Check => "有効性チェック",
        JobCd::Capture => "即時売上",
        JobCd::Auth => "仮売上",
        JobCd::Sauth => "簡易オーソリ",
        JobCd::Sales => "実売上",
    }
}

/// What capture and cancel would do now (the console shows it before confirming): the plan's
/// kind and steps, the card cancel classification (取消/返品/月跨返品) and whether it stays on the
/// shopper's statement; or the refusal's code and Japanese message.
pub fn previews(row: &PaymentRow, now: i64) -> ApiResult<Value> {
    let snapshot = operations::snapshot_of(row)?;
    let preview = |op: Operation| match plan(op, &snapshot, UnixMillis(now)) {
        Ok(p) => {
            let mut v = operations::plan_summary(&p);
            v["ok"] = json!(true);
            v["cancel_label_ja"] = json!(p.cancel_job.map(job_label_ja));
            v
        }
        Err(r) => {
            json!({ "ok": false, "code": r.code(), "message": r.message_en(), "message_ja": r.message_ja() })
        }
    };
    Ok(json!({
        "capture": preview(Operation::Capture { amount: None }),
        "cancel": preview(Operation::Cancel),
    }))
}

/// What the gateway holds for the payment right now: SearchTrade (card) or Get Charge (Amazon
/// Pay). Read only; `{"error": …}` when the gateway cannot be read.
pub async fn gateway_side(cfg: &Config, row: &PaymentRow) -> Value {
    match operations::method_of(row) {
        PaymentMethod::Card => {
            let gmo = GmoTransport {
                base: &cfg.gmo_api_base,
                timeout_ms: cfg.gmo_timeout_ms,
            };
            let params = gmo_api::search_trade(&cfg.gmo, &row.gmo_order_id);
            match gmo.post(gmo_api::SEARCH_TRADE, &params).await {
                Ok(a) => match gmo_api::read(&a, gmo_api::read_trade) {
                    Ok(Answer::Ok(t)) => json!({
                        "gateway": "gmo", "gmo_status": t.status.as_str(),
                        "state": kessai_core::payment::state_from_gmo(t.status).as_str(),
                        "amount": t.amount, "tran_id": t.tran_id, "process_date": t.process_date,
                    }),
                    Ok(Answer::Err(e)) => {
                        let (code, info) = e.joined();
                        json!({ "gateway": "gmo", "error": "SearchTrade refused", "err_code": code, "err_info": info })
                    }
                    Err(_) => json!({ "gateway": "gmo", "error": "unreadable SearchTrade answer" }),
                },
                Err(_) => json!({ "gateway": "gmo", "error": "GMO did not answer" }),
            }
        }
        PaymentMethod::AmazonPay => {
            let Some(amazon) = cfg.amazon.as_ref() else {
                return json!({ "gateway": "amazon_pay", "error": "Amazon Pay is off" });
            };
            let Some(charge_id) = row.amazon_charge_id.as_deref() else {
                return json!({ "gateway": "amazon_pay", "error": "no charge id recorded" });
            };
            match amazon_payment::call(amazon, api::get_charge(charge_id), None, None, "GetCharge")
                .await
            {
                Ok(a) if a.status == 200 => match serde_json::from_str::<Charge>(&a.body) {
                    Ok(c) => {
                        let yen = |p: &Option<Price>| {
                            p.as_ref().and_then(|p| p.to_jpy().ok()).map(|j| j.yen())
                        };
                        json!({
                            "gateway": "amazon_pay",
                            "charge_state": c.state().map(|st| st.as_str()),
                            "reason_code": c.reason_code(),
                            "captured": yen(&c.capture_amount),
                            "refunded": yen(&c.refunded_amount),
                        })
                    }
                    Err(_) => {
                        json!({ "gateway": "amazon_pay", "error": "unreadable Get Charge answer" })
                    }
                },
                Ok(a) => {
                    json!({ "gateway": "amazon_pay", "error": "Get Charge refused", "http_status": a.status })
                }
                Err(_) => json!({ "gateway": "amazon_pay", "error": "Amazon did not answer" }),
            }
        }
    }
}

/// kessai's side of a comparison with the gateway.
pub fn kessai_side(row: &PaymentRow) -> Value {
    json!({
        "state": row.state, "amount": row.amount, "authorized_amount": row.authorized_amount,
        "captured": row.captured_amount, "refunded": row.refunded_amount, "gmo_status": row.gmo_status,
    })
}

/// `POST /v1/payments/{id}/force` `{state, reason}`: 「エラーを無視して変更する」. Sets kessai's
/// state without a gateway operation (after a change made in GMO's or Amazon's own console),
/// recording the reason, the caller, kessai's side before and the gateway's side read just
/// before. Refused without a reason, for a state a flow owns, or while an operation runs.
pub async fn force(
    store: &Store<'_>,
    cfg: &Config,
    id: &str,
    raw: &str,
    caller: &Caller,
) -> ApiResult<Reply> {
    let body: Value = serde_json::from_str(raw).map_err(|_| crate::invalid_json())?;
    only_fields(&body, &["state", "reason"])?;
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::new(
            400,
            "reason_required",
            "a reason (1-500 characters) is required to override the state",
            "変更の理由を入力してください（500文字以内）。",
        )
        .with("param", "reason"));
    }
    let target = body
        .get("state")
        .and_then(Value::as_str)
        .and_then(PaymentState::parse)
        .filter(|st| st.forceable())
        .ok_or_else(|| {
            ApiError::bad_request(
                "state must be a settled payment state",
                "変更後の状態を選んでください。",
            )
            .with("param", "state")
        })?;
    let now = platform::now().0;
    let row = store.existing_payment(id).await?;
    let from = row.state()?;
    let leased = from == PaymentState::Processing && row.lease_until.is_some_and(|t| t > now);
    if leased || from == PaymentState::RequiresPayment {
        return Err(ApiError::new(
            409,
            "payment_not_forceable",
            format!(
                "the payment is {}; it cannot be overridden now",
                from.as_str()
            ),
            format!("現在の状態（{}）では変更できません。", from.label_ja()),
        ));
    }
    let gateway = gateway_side(cfg, &row).await;
    let mine = kessai_side(&row);
    let mut next = row.clone();
    next.lease_until = None;
    // What later operations plan from follows the forced state: the gateway's status as just
    // read (card), and whether money is captured.
    if let Some(st) = gateway.get("gmo_status").and_then(Value::as_str) {
        next.gmo_status = Some(st.to_string());
    }
    next.captured_amount = Some(if operations::is_captured_state(target) {
        row.captured_amount.filter(|c| *c > 0).unwrap_or(row.amount)
    } else {
        0
    });
    let actor = caller.actor();
    let ev = Event {
        actor: &actor,
        kind: "forced",
        detail: json!({ "reason": reason, "from": from.as_str(), "to": target.as_str(), "kessai": mine, "gateway": gateway }),
    };
    if !store.transition(&next, from, target, now, &ev).await? {
        return Err(ApiError::new(
            409,
            "payment_in_progress",
            "the payment changed meanwhile; reload and retry",
            "他の操作と重なりました。最新の状態を確認してから再度お試しください。",
        ));
    }
    worker::console_log!(
        "payment {id}: forced {} -> {} by {actor}",
        from.as_str(),
        target.as_str()
    );
    let fresh = store.existing_payment(id).await?;
    let mut view = payment_view(&fresh)?;
    view["forced"] = json!({ "kessai": mine, "gateway": gateway });
    Ok(Reply::ok(view))
}
