//! Who is calling, decided once per request from the route's [`Access`] before any handler
//! runs: the merchant's secret key, an operator's console session (with the CSRF header for
//! anything that changes state), or the client secret that scopes the widget to one payment.
//! Secrets are compared in constant time and never logged.

use crate::config::Config;
use crate::http::{ApiError, ApiResult, secure_eq};
use crate::platform;
use crate::store::{PaymentRow, Store};
use kessai_core::console::{SESSION_COOKIE, cookie_value};
use worker::{Method, Request};

/// The header a console page adds to every state-changing call. A cross-site form cannot set
/// it, and a cross-site `fetch` that sets it needs a CORS preflight the edge never grants.
pub const CSRF_HEADER: &str = "x-kessai-console";

/// Who may call a route. Checked by [`authenticate`] before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, the console's login).
    Public,
    /// The merchant's secret key only.
    Merchant,
    /// The merchant's key, or an operator's console session (+ `X-Kessai-Console: 1` unless GET).
    MerchantOrOperator,
    /// The widget: an allowed storefront origin (CORS) and the payment's client secret.
    Checkout,
    /// A storefront page: an allowed origin (CORS), `Origin` required.
    Storefront,
    /// A top-level browser navigation from Amazon; the flow checks the ids and state it carries.
    Navigation,
    /// A gateway's server-to-server notification; the flow verifies it (signature, SearchTrade).
    Gateway,
}

impl Access {
    /// Whether storefront pages call the route from their origin (CORS applies).
    pub fn cross_origin(self) -> bool {
        match self {
            Access::Checkout | Access::Storefront => true,
            Access::Public
            | Access::Merchant
            | Access::MerchantOrOperator
            | Access::Navigation
            | Access::Gateway => false,
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Caller {
    /// No credentials needed (health, console login, gateway notifications, navigations).
    Anonymous,
    /// The shop's server, with the merchant secret key.
    Merchant,
    /// A logged-in operator (console session).
    Operator(String),
    /// The widget on a storefront page, with this payment's client secret.
    Shopper(Box<PaymentRow>),
}

impl Caller {
    /// The event actor: `merchant`, or `operator:<name>`.
    pub fn actor(&self) -> String {
        match self {
            Caller::Merchant => "merchant".to_string(),
            Caller::Operator(name) => format!("operator:{name}"),
            Caller::Shopper(_) => "shopper".to_string(),
            Caller::Anonymous => "anonymous".to_string(),
        }
    }
}

pub fn header(req: &Request, name: &str) -> String {
    req.headers().get(name).ok().flatten().unwrap_or_default()
}

/// The console session token of the request's cookie, if any.
pub fn session_token(req: &Request) -> Option<String> {
    cookie_value(&header(req, "cookie"), SESSION_COOKIE).map(str::to_string)
}

fn session_required() -> ApiError {
    ApiError::new(
        401,
        "unauthorized",
        "missing or wrong API key, or no valid operator session",
        "ログインしてください。",
    )
}

/// Checks the request against `access`; `payment_id` is the path's payment for
/// [`Access::Checkout`].
pub async fn authenticate(
    req: &Request,
    store: &Store<'_>,
    cfg: &Config,
    access: Access,
    payment_id: Option<&str>,
) -> ApiResult<Caller> {
    match access {
        Access::Public | Access::Navigation | Access::Gateway => Ok(Caller::Anonymous),
        Access::Storefront => {
            // Browsers always send Origin on a cross-site POST; its absence means the call
            // does not come from a storefront page.
            if req.headers().get("origin").ok().flatten().is_none() {
                return Err(ApiError::new(
                    403,
                    "origin_not_allowed",
                    "the sign-in button is served to storefront pages only (Origin header required)",
                    "このサイトからはご利用いただけません。",
                ));
            }
            Ok(Caller::Anonymous)
        }
        Access::Merchant => merchant_key(req, cfg).map(|()| Caller::Merchant),
        Access::MerchantOrOperator => merchant_or_operator(req, store, cfg).await,
        Access::Checkout => {
            let row =
                payment_by_secret(store, payment_id.unwrap_or(""), &client_secret(req)).await?;
            Ok(Caller::Shopper(Box::new(row)))
        }
    }
}

fn merchant_key(req: &Request, cfg: &Config) -> ApiResult<()> {
    match header(req, "authorization").strip_prefix("Bearer ") {
        Some(_) if from_browser(req) => Err(ApiError::new(
            403,
            "secret_key_in_browser",
            "the merchant secret key is for the shop's server; a browser request carrying it is refused (rotate the key if a web page holds it)",
            "この操作はショップのサーバーからのみ行えます。",
        )),
        Some(key) if secure_eq(key.trim(), &cfg.merchant_secret_key) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

/// Whether a browser sent the request: browsers add `Origin` to every cross-origin and every
/// non-GET request, and `Sec-Fetch-Site` to all of them; server-side HTTP clients send neither.
/// The merchant key in a browser means a web page holds it — refused whatever the key, so a
/// page cannot even probe it.
fn from_browser(req: &Request) -> bool {
    !header(req, "origin").is_empty() || !header(req, "sec-fetch-site").is_empty()
}

/// The merchant key (`Authorization: Bearer`) or an operator session cookie; a session's
/// state-changing request must also carry [`CSRF_HEADER`]`: 1` (403 otherwise).
async fn merchant_or_operator(req: &Request, store: &Store<'_>, cfg: &Config) -> ApiResult<Caller> {
    if header(req, "authorization").starts_with("Bearer ") {
        return merchant_key(req, cfg).map(|()| Caller::Merchant);
    }
    let Some(token) = session_token(req) else {
        return Err(session_required());
    };
    let operator = store
        .session_operator(&token, platform::now().0)
        .await?
        .ok_or_else(session_required)?;
    let safe = matches!(req.method(), Method::Get | Method::Head);
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

/// The widget sends the payment's client secret in a header, not the URL: URLs end up in
/// access logs, headers do not.
fn client_secret(req: &Request) -> String {
    header(req, "x-client-secret")
}

/// The widget API is scoped to one payment by its client secret (compared in constant time).
async fn payment_by_secret(
    store: &Store<'_>,
    payment_id: &str,
    secret: &str,
) -> ApiResult<PaymentRow> {
    let not_found = || {
        ApiError::new(
            404,
            "checkout_not_found",
            "unknown payment or wrong client secret",
            "お支払い情報が見つかりません。",
        )
    };
    let row = store.payment(payment_id).await?.ok_or_else(not_found)?;
    if !secret.is_empty() && secure_eq(&row.client_secret, secret) {
        Ok(row)
    } else {
        Err(not_found())
    }
}
