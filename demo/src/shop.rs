//! The demo storefront's state: its settings, the orders it made, its members (in memory) and its
//! client for the edge's merchant API (with the secret key). The pages are in
//! [`crate::storefront`] (the shop) and [`crate::members`] (会員); [`crate::routes`] puts them
//! together. This module imports neither, so the two page modules can both depend on it.

use crate::member_store::MemberStore;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// An order the shop created a payment for (the storefront's pages read it).
#[derive(Clone)]
pub(crate) struct Order {
    pub(crate) lines: Vec<(String, i64, i64)>,
    pub(crate) amount: i64,
    pub(crate) payment_id: String,
    pub(crate) client_secret: String,
}

/// Amazon Pay as the storefront sees it: where the sandbox's hosted pages are (for the test
/// buyers note) and the key the edge signs sign-in assertions with.
#[derive(Clone)]
pub struct AmazonDemo {
    pub sandbox_url: String,
    pub assertion_key: String,
}

/// Everything [`Storefront::with_options`] needs.
pub struct StorefrontOptions {
    pub edge_url: String,
    pub secret_key: String,
    /// The GMO-PG sandbox (for the test cards note).
    pub sandbox_url: String,
    /// This storefront's own origin (`http://127.0.0.1:8080`): the audience of assertions and
    /// the origin of the `return-url`s it gives the sign-in button.
    pub storefront_url: String,
    /// `None`: Amazon sign-in is off (no assertion key).
    pub amazon: Option<AmazonDemo>,
}

#[derive(Clone)]
pub struct Storefront {
    pub(crate) edge_url: String,
    secret_key: String,
    pub(crate) sandbox_url: String,
    /// Our origin, for return URLs.
    pub(crate) origin: String,
    /// Every origin the shop is reached on (assertion audiences we accept).
    pub(crate) origins: Vec<String>,
    pub(crate) amazon: Option<AmazonDemo>,
    orders: Arc<Mutex<HashMap<String, Order>>>,
    members: Arc<Mutex<MemberStore>>,
    http: reqwest::Client,
}

impl Storefront {
    /// A storefront without Amazon sign-in, on `http://127.0.0.1` (its origin unknown).
    pub fn new(edge_url: String, secret_key: String, sandbox_url: String) -> Self {
        Storefront::with_options(StorefrontOptions {
            edge_url,
            secret_key,
            sandbox_url,
            storefront_url: String::new(),
            amazon: None,
        })
    }

    pub fn with_options(o: StorefrontOptions) -> Self {
        let origin = o.storefront_url.trim_end_matches('/').to_string();
        let mut origins = vec![origin.clone()];
        // The stack allows the shop on localhost too (same port).
        if let Some(port) = origin.strip_prefix("http://127.0.0.1:") {
            origins.push(format!("http://localhost:{port}"));
        }
        Storefront {
            edge_url: o.edge_url,
            secret_key: o.secret_key,
            sandbox_url: o.sandbox_url,
            origin,
            origins,
            amazon: o.amazon.filter(|a| !a.assertion_key.is_empty()),
            orders: Arc::default(),
            members: Arc::default(),
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn orders(&self) -> std::sync::MutexGuard<'_, HashMap<String, Order>> {
        self.orders.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The id of the member logged in on this request's session: the payment's `customer`.
    pub(crate) fn member_id_of(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        let cookies = headers.get(axum::http::header::COOKIE)?.to_str().ok()?;
        let sid = crate::member_store::session_in_cookies(cookies)?;
        self.members().member_of_session(&sid).map(|m| m.id)
    }

    pub(crate) fn members(&self) -> std::sync::MutexGuard<'_, MemberStore> {
        self.members.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls the edge's merchant API with the secret key: status and JSON body (`null` when
    /// there is none, as for 204). With an `Idempotency-Key` whose first request is still
    /// running at the edge (409 `idempotency_key_in_progress`, e.g. a double submit), waits and
    /// asks again, so both get the first answer (up to about 10 s).
    pub(crate) async fn merchant(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idem: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let mut answer = self
            .merchant_once(method.clone(), path, body.clone(), idem)
            .await;
        for _ in 0..50 {
            match &answer {
                Ok((409, v)) if v["error"]["code"] == "idempotency_key_in_progress" => {
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                    answer = self
                        .merchant_once(method.clone(), path, body.clone(), idem)
                        .await;
                }
                _ => break,
            }
        }
        answer
    }

    async fn merchant_once(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idem: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let mut req = self
            .http
            .request(method, format!("{}{}", self.edge_url, path))
            .bearer_auth(&self.secret_key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = idem {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
    }
}
