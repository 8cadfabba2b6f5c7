//! The operator console's sessions: login (PBKDF2 through WebCrypto, constant-time compare, a
//! per-name lockout), logout, and who is logged in. A session token is 32 random bytes, kept in
//! D1 only as its SHA-256 (`store::operators`); neither a password nor a token ever reaches a log
//! line. Checking a session on each request is the routes' job (`routes::auth`). The console
//! itself is static files (console/ crate) served under `/console/`.

use crate::config::Config;
use crate::http::{ApiError, ApiResult, Reply, invalid_json, only_fields};
use crate::platform;
use crate::store::Store;
use kessai_core::console::{
    LoginFailures, MAX_ITERATIONS, OperatorCredential, SESSION_TTL_MS, cleared_cookie,
    parse_operators, session_cookie, valid_operator_name,
};
use serde_json::{Value, json};

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

/// The login body: a valid operator name and a password.
fn credentials(raw: &str) -> ApiResult<(String, String)> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
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
    Ok((name, password))
}

/// Whether `password` is the one of operator `name`. An unknown name costs the same
/// derivation as a known one (no timing oracle for names).
async fn password_matches(
    ops: &[OperatorCredential],
    name: &str,
    password: &str,
) -> ApiResult<bool> {
    let known = ops.iter().find(|o| o.name == name);
    let reference = known.cloned().unwrap_or_else(|| OperatorCredential {
        name: String::new(),
        iterations: MAX_ITERATIONS,
        salt: vec![0; 16],
        hash: vec![0; 32],
    });
    let derived = platform::pbkdf2(
        password,
        &reference.salt,
        reference.iterations,
        reference.hash.len(),
    )
    .await
    .ok_or_else(|| ApiError::internal("PBKDF2"))?;
    Ok(platform::bytes_eq(&derived, &reference.hash) && known.is_some())
}

/// Counts a failed login for `name`: 401, or 429 once the lockout starts.
async fn failed_login(
    store: &Store<'_>,
    name: &str,
    failures: LoginFailures,
    now: i64,
) -> ApiResult<Reply> {
    let next = failures.after_failure(now);
    store.save_login_failures(name, &next).await?;
    worker::console_warn!(
        "console login for {name}: wrong name or password ({} in window)",
        next.count
    );
    if let Some(until) = next.locked_until {
        return Err(locked_error(until, now));
    }
    Err(ApiError::new(
        401,
        "login_failed",
        "wrong name or password",
        "ログインIDまたはパスワードが正しくありません。",
    ))
}

/// `POST /console/api/login` `{name, password}`: 200 with the session cookie.
pub async fn login(store: &Store<'_>, cfg: &Config, raw: &str) -> ApiResult<Reply> {
    let ops = operators(cfg)?;
    let (name, password) = credentials(raw)?;
    let now = platform::now().0;
    let failures = store.login_failures(&name).await?;
    if let Some(until) = failures.locked_until.filter(|_| failures.locked(now)) {
        worker::console_warn!("console login for {name}: locked");
        return Err(locked_error(until, now));
    }
    if !password_matches(&ops, &name, &password).await? {
        return failed_login(store, &name, failures, now).await;
    }
    let token = platform::random_hex(32).ok_or_else(|| ApiError::internal("random"))?;
    let expires_at = now + SESSION_TTL_MS;
    store.start_session(&token, &name, now, expires_at).await?;
    worker::console_log!("console login: {name}");
    let mut reply = Reply::ok(json!({ "operator": name, "expires_at": expires_at }));
    reply.set_cookie = Some(session_cookie(&token));
    Ok(reply)
}

/// `POST /console/api/logout`: ends the session of the cookie's `token` (204) and clears the
/// cookie.
pub async fn logout(store: &Store<'_>, token: Option<&str>) -> ApiResult<Reply> {
    if let Some(token) = token {
        store.end_session(token).await?;
    }
    let mut reply = Reply::no_content();
    reply.set_cookie = Some(cleared_cookie());
    Ok(reply)
}
