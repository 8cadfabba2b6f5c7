//! What a route's handler is and what it receives: the [`Call`], built by `routes::serve` once
//! every check of the route has passed.

#[cfg(doc)]
use super::auth::Access;
use super::auth::Caller;
use crate::config::{AmazonConfig, Config};
use crate::http::{ApiError, ApiResult, Nav, Reply, invalid_json};
use crate::store::{PaymentRow, Store};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use worker::Response;

/// A handler's answer, boxed so that handlers of one kind share one type in the table.
pub type Handled<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What a route's handler answers with.
pub enum Handler {
    /// A JSON API: the reply or the error, as JSON.
    Json(for<'a> fn(&'a Call<'a>) -> Handled<'a, ApiResult<Reply>>),
    /// A top-level navigation: a redirect or a page (an error becomes a Japanese page).
    Page(for<'a> fn(&'a Call<'a>) -> Handled<'a, ApiResult<Nav>>),
    /// A gateway notification: the answer that gateway expects.
    Raw(for<'a> fn(&'a Call<'a>) -> Handled<'a, worker::Result<Response>>),
}

/// Whether an `Idempotency-Key` replays the route's first answer, and what the key stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotent {
    No,
    /// The body (`POST /v1/payments`).
    Body,
    /// The path and the body: one key, one request (operations, bulk capture).
    PathAndBody,
}

/// One request as a handler sees it: everything checked, the body read (within the limit).
pub struct Call<'a> {
    pub store: &'a Store<'a>,
    pub cfg: &'a Config,
    pub caller: Caller,
    pub(super) params: Vec<String>,
    pub query: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub session_token: Option<String>,
    /// `CF-Connecting-IP` (the shopper's address as Cloudflare saw it), for the card-testing limits.
    pub client_ip: Option<String>,
    pub(super) idempotency_key: Option<String>,
}

impl Call<'_> {
    /// The `i`-th `{…}` segment of the route's path.
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }
    /// A query parameter (empty when absent).
    pub fn query_param(&self, name: &str) -> &str {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
    /// The body as text (400 `invalid_request` unless UTF-8).
    pub fn text(&self) -> ApiResult<&str> {
        std::str::from_utf8(&self.body).map_err(|_| invalid_json())
    }
    /// The body as JSON (400 `invalid_request` otherwise).
    pub fn json(&self) -> ApiResult<Value> {
        serde_json::from_str(self.text()?).map_err(|_| invalid_json())
    }
    /// The payment a client secret scoped the call to ([`Access::Checkout`]).
    pub fn payment(&self) -> ApiResult<PaymentRow> {
        match &self.caller {
            Caller::Shopper(row) => Ok(row.as_ref().clone()),
            Caller::Anonymous | Caller::Merchant | Caller::Operator(_) => {
                Err(ApiError::internal("checkout route without a client secret"))
            }
        }
    }
    /// The Amazon Pay settings (routes that need them are checked before the handler).
    pub fn amazon(&self) -> ApiResult<&AmazonConfig> {
        self.cfg.amazon_pay()
    }
}
