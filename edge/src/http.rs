//! HTTP plumbing: JSON errors in the documented shape, CORS for storefront origins.

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

pub fn json_response(status: u16, body: &Value) -> worker::Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", "application/json; charset=utf-8")?;
    headers.set("cache-control", "no-store")?;
    Ok(Response::from_bytes(body.to_string().into_bytes())?
        .with_status(status)
        .with_headers(headers))
}

pub fn error_response(e: &ApiError) -> worker::Result<Response> {
    json_response(e.status, &e.body())
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
