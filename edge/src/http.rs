//! HTTP plumbing, at the bottom of the edge: JSON answers and errors in the documented shape,
//! CORS for storefront origins, the pages of top-level navigations, and URL helpers. It imports
//! nothing of the crate.

use kessai_core::amazon::signing::{base64_encode, sha256_hex};
use kessai_core::gmo::errors::ShopperMessage;
use serde::Serialize;
use serde_json::{Value, json};
use worker::{Headers, Response};

/// An API error: `{ "error": { "code", "message", "message_ja", … } }` with an HTTP status.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub message_ja: String,
    pub extra: Value,
}

impl ApiError {
    pub fn new(
        status: u16,
        code: &'static str,
        message: impl Into<String>,
        message_ja: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            message_ja: message_ja.into(),
            extra: Value::Null,
        }
    }
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        if !self.extra.is_object() {
            self.extra = json!({});
        }
        if let (Some(map), Ok(v)) = (self.extra.as_object_mut(), serde_json::to_value(value)) {
            map.insert(key.to_string(), v);
        }
        self
    }
    pub fn shopper(status: u16, code: &'static str, msg: ShopperMessage) -> Self {
        ApiError::new(status, code, msg.en(), msg.ja())
    }
    pub fn bad_request(message: impl Into<String>, message_ja: impl Into<String>) -> Self {
        ApiError::new(400, "invalid_request", message, message_ja)
    }
    pub fn not_found(what: &str) -> Self {
        ApiError::new(
            404,
            "not_found",
            format!("{what} not found"),
            "見つかりません。",
        )
    }
    pub fn unauthorized() -> Self {
        ApiError::new(
            401,
            "unauthorized",
            "missing or wrong API key",
            "APIキーが正しくありません。",
        )
    }
    pub fn internal(context: &str) -> Self {
        worker::console_error!("internal error: {context}");
        ApiError::new(
            500,
            "internal_error",
            "internal error; nothing was charged by this request",
            "システムエラーが発生しました。時間をおいて再度お試しください。",
        )
    }
    pub fn body(&self) -> Value {
        let mut err =
            json!({ "code": self.code, "message": self.message, "message_ja": self.message_ja });
        if let (Some(map), Some(extra)) = (err.as_object_mut(), self.extra.as_object()) {
            for (k, v) in extra {
                map.insert(k.clone(), v.clone());
            }
        }
        json!({ "error": err })
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::internal(&e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// What a JSON endpoint answered: a status, a JSON body (none for 204), and the session cookie
/// when the console's login or logout sets or clears it.
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub set_cookie: Option<String>,
}

impl Reply {
    pub fn ok(body: Value) -> Self {
        Reply::with_status(200, body)
    }
    pub fn with_status(status: u16, body: Value) -> Self {
        Reply {
            status,
            body,
            set_cookie: None,
        }
    }
    pub fn no_content() -> Self {
        Reply::with_status(204, Value::Null)
    }
}

/// A body that is not the JSON (or UTF-8 text) the endpoint expects.
pub fn invalid_json() -> ApiError {
    ApiError::bad_request("body must be JSON", "リクエストの形式が正しくありません。")
}

/// Why a gateway's delivery (Amazon IPN, GMO 結果通知) is refused or cannot be processed now:
/// the status to answer and the reason for the log line (the body is never logged).
pub struct Refusal {
    pub status: u16,
    pub reason: String,
}

pub fn refuse(status: u16, reason: impl Into<String>) -> Refusal {
    Refusal {
        status,
        reason: reason.into(),
    }
}

impl From<ApiError> for Refusal {
    /// A fault while processing (D1, a gateway call): 503, so the gateway delivers again.
    fn from(e: ApiError) -> Self {
        refuse(503, format!("{}: {}", e.code, e.message))
    }
}

pub fn json_response(status: u16, body: &Value) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::from_bytes(body.to_string().into_bytes())?
        .with_status(status)
        .with_headers(headers))
}

pub fn error_response(e: &ApiError) -> worker::Result<Response> {
    let resp = json_response(e.status, &e.body())?;
    // A refusal that says when to come back (429 `too_many_card_failures`) says it in the header too.
    if let Some(secs) = e.extra.get("retry_after_seconds").and_then(Value::as_i64) {
        resp.headers().set("retry-after", &secs.to_string())?;
    }
    Ok(resp)
}

/// CORS for the widget API: only the configured storefront origins get an
/// `Access-Control-Allow-Origin`, and the preflight answers only for them.
pub fn cors_headers(headers: &Headers, origin: &str) -> worker::Result<()> {
    headers.set("access-control-allow-origin", origin)?;
    headers.set("vary", "Origin")?;
    headers.set("access-control-allow-methods", "GET, POST, OPTIONS")?;
    headers.set(
        "access-control-allow-headers",
        "content-type, x-client-secret",
    )?;
    headers.set("access-control-max-age", "600")?;
    Ok(())
}

/// Constant-time comparison for secrets.
pub fn secure_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a top-level browser navigation (Amazon sending the shopper back) gets: a redirect, or a
/// small Japanese page when there is no safe place to send the shopper to.
#[derive(Debug, Clone)]
pub enum Nav {
    /// 303 See Other to an URL already checked to be ours or the storefront's.
    Redirect(String),
    /// An error page: nowhere safe to go.
    ErrorPage {
        status: u16,
        /// English, for the log line only.
        reason: &'static str,
        message_ja: String,
    },
    /// A page that POSTs `fields` to `action` at once (form_post: values never sit in a URL).
    FormPost {
        action: String,
        fields: Vec<(&'static str, String)>,
    },
}

/// 400 unless `body` is a JSON object whose keys are all among `fields` (which may be absent).
pub fn only_fields(body: &Value, fields: &[&str]) -> ApiResult<()> {
    if body
        .as_object()
        .is_none_or(|m| m.keys().any(|k| !fields.contains(&k.as_str())))
    {
        let quoted: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
        return Err(ApiError::bad_request(
            format!("body must be {{{}}}", quoted.join(",")),
            "リクエストの形式が正しくありません。",
        ));
    }
    Ok(())
}

pub use kessai_core::text::html_escape;

/// The inline script of the form_post page; its hash is allowed by the page's CSP.
pub const FORM_POST_SCRIPT: &str = "document.forms[0].submit();";

fn page_headers(csp: &str) -> worker::Result<Headers> {
    let headers = Headers::new();
    headers.set("content-type", "text/html; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    headers.set("referrer-policy", "no-referrer")?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("x-frame-options", "DENY")?;
    headers.set("content-security-policy", csp)?;
    Ok(headers)
}

/// CSP source (`sha256-…`) of the form_post page's only script, [`FORM_POST_SCRIPT`].
pub fn form_post_script_hash() -> String {
    let hex = sha256_hex(FORM_POST_SCRIPT.as_bytes());
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    format!("sha256-{}", base64_encode(&bytes))
}

/// Renders a [`Nav`]: a 303, an error page, or the form_post page.
pub fn nav_response(nav: &Nav) -> worker::Result<Response> {
    match nav {
        Nav::Redirect(url) => {
            let headers = Headers::new();
            headers.set("location", url)?;
            headers.set("cache-control", "no-store")?;
            headers.set("referrer-policy", "no-referrer")?;
            Ok(Response::empty()?.with_status(303).with_headers(headers))
        }
        Nav::ErrorPage {
            status, message_ja, ..
        } => {
            let html = format!(
                "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
                 <title>エラー</title></head><body style=\"font-family:sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem\">\
                 <h1 style=\"font-size:1.25rem\">お手続きを続けられませんでした</h1><p>{}</p>\
                 <p>お手数ですが、ショップのページに戻ってもう一度お試しください。</p></body></html>",
                html_escape(message_ja)
            );
            Ok(Response::from_bytes(html.into_bytes())?
                .with_status(*status)
                .with_headers(page_headers(
                    "default-src 'none'; style-src 'unsafe-inline'",
                )?))
        }
        Nav::FormPost { action, fields } => {
            let inputs: String = fields
                .iter()
                .map(|(k, v)| {
                    format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                        html_escape(k),
                        html_escape(v)
                    )
                })
                .collect();
            let html = format!(
                "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>ショップへ戻ります</title></head>\
                 <body><form method=\"post\" action=\"{}\">{inputs}\
                 <noscript><p>ショップへ戻るには次のボタンを押してください。</p></noscript>\
                 <button type=\"submit\">ショップへ戻る</button></form>\
                 <script>{FORM_POST_SCRIPT}</script></body></html>",
                html_escape(action)
            );
            let origin = origin_of(action).unwrap_or_default();
            let csp = format!(
                "default-src 'none'; script-src '{}'; form-action {origin}; base-uri 'none'",
                form_post_script_hash()
            );
            Ok(Response::from_bytes(html.into_bytes())?
                .with_status(200)
                .with_headers(page_headers(&csp)?))
        }
    }
}

/// `scheme://host[:port]` of an absolute http(s) URL; `None` for anything else (relative URLs,
/// `javascript:`, user info, control characters).
pub fn origin_of(url: &str) -> Option<String> {
    if url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// `url` with `query` (`k=v` pairs, already safe for a URL) added before any fragment.
pub fn with_query(url: &str, query: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{sep}{query}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}
