//! Shared helpers: a sandbox on 127.0.0.1:0 per test and a tiny GMO client built on core's codec.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use kessai_core::gmo::codec::{Params, decode_response, encode_form, get};
use kessai_sandbox::{SandboxConfig, SandboxHandle, start};
use serde_json::{Value, json};

/// 2026-11-15 12:00:00 JST.
pub const T0: i64 = 1_794_711_600_000;
pub const MINUTE: i64 = 60_000;
pub const DAY: i64 = 86_400_000;

pub struct Sb {
    pub h: SandboxHandle,
    pub http: reqwest::Client,
    pub cfg: SandboxConfig,
}

pub fn order_id(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn jst(ms: i64) -> String {
    kessai_core::jst::UnixMillis(ms).to_jst().gmo_format()
}

impl Sb {
    pub async fn start() -> Sb {
        Sb::start_with(SandboxConfig::default()).await
    }

    pub async fn start_with(cfg: SandboxConfig) -> Sb {
        let h = start(cfg.clone(), "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("sandbox starts");
        Sb {
            h,
            http: reqwest::Client::new(),
            cfg,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.h.base_url)
    }

    /// POSTs a CP932 form and returns the raw answer bytes (asserting GMO's HTTP envelope).
    pub async fn raw(&self, api: &str, params: &[(&str, &str)]) -> Vec<u8> {
        let body = encode_form(params).expect("cp932");
        let resp = self
            .http
            .post(self.url(&format!("/payment/{api}.idPass")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("sandbox reachable");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"],
            "text/plain;charset=Windows-31J"
        );
        resp.bytes().await.expect("body").to_vec()
    }

    pub async fn call(&self, api: &str, params: &[(&str, &str)]) -> Params {
        decode_response(&self.raw(api, params).await).expect("decodes")
    }

    pub fn shop(&self) -> [(&str, &str); 2] {
        [
            ("ShopID", self.cfg.shop_id.as_str()),
            ("ShopPass", self.cfg.shop_pass.as_str()),
        ]
    }

    pub async fn entry(&self, order: &str, job: &str, amount: i64) -> (String, String) {
        let amount = amount.to_string();
        let p = self
            .call(
                "EntryTran",
                &[
                    self.shop()[0],
                    self.shop()[1],
                    ("OrderID", order),
                    ("JobCd", job),
                    ("Amount", &amount),
                ],
            )
            .await;
        assert_eq!(get(&p, "ErrCode"), None, "EntryTran {order}: {p:?}");
        (
            get(&p, "AccessID").expect("AccessID").to_string(),
            get(&p, "AccessPass").expect("AccessPass").to_string(),
        )
    }

    pub async fn exec(&self, order: &str, access: &(String, String), token: &str) -> Params {
        self.call(
            "ExecTran",
            &[
                ("AccessID", &access.0),
                ("AccessPass", &access.1),
                ("OrderID", order),
                ("Method", "1"),
                ("Token", token),
            ],
        )
        .await
    }

    pub async fn exec_raw(&self, order: &str, access: &(String, String), token: &str) -> Vec<u8> {
        self.raw(
            "ExecTran",
            &[
                ("AccessID", &access.0),
                ("AccessPass", &access.1),
                ("OrderID", order),
                ("Method", "1"),
                ("Token", token),
            ],
        )
        .await
    }

    pub async fn token_json(&self, body: Value) -> Value {
        self.http
            .post(self.url("/ext/api/credit/getToken"))
            .json(&body)
            .send()
            .await
            .expect("reachable")
            .json()
            .await
            .expect("json")
    }

    pub async fn token(&self, card: &str) -> String {
        let v = self
            .token_json(json!({
                "shopId": self.cfg.shop_id, "cardno": card, "expire": "203012",
                "securitycode": "123", "holdername": "TARO YAMADA"
            }))
            .await;
        assert_eq!(v["resultCode"], "000", "{v}");
        v["tokenObject"]["token"]
            .as_str()
            .expect("token")
            .to_string()
    }

    /// EntryTran AUTH + ExecTran with an approving card.
    pub async fn authorized(&self, order: &str, amount: i64) -> (String, String) {
        let access = self.entry(order, "AUTH", amount).await;
        let tok = self.token(kessai_sandbox::test_cards::APPROVED).await;
        let p = self.exec(order, &access, &tok).await;
        assert_eq!(get(&p, "ACS"), Some("0"), "{p:?}");
        access
    }

    pub async fn alter(&self, access: &(String, String), extra: &[(&str, &str)]) -> Params {
        let mut params = vec![
            self.shop()[0],
            self.shop()[1],
            ("AccessID", access.0.as_str()),
            ("AccessPass", access.1.as_str()),
        ];
        params.extend_from_slice(extra);
        self.call("AlterTran", &params).await
    }

    pub async fn change(&self, access: &(String, String), extra: &[(&str, &str)]) -> Params {
        let mut params = vec![
            self.shop()[0],
            self.shop()[1],
            ("AccessID", access.0.as_str()),
            ("AccessPass", access.1.as_str()),
        ];
        params.extend_from_slice(extra);
        self.call("ChangeTran", &params).await
    }

    pub async fn search(&self, order: &str) -> Params {
        self.call(
            "SearchTrade",
            &[self.shop()[0], self.shop()[1], ("OrderID", order)],
        )
        .await
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("reachable");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().await.expect("json")
    }

    pub async fn set_clock(&self, ms: i64) {
        self.control("/__sandbox/clock", json!({ "set_unix_ms": ms }))
            .await;
    }

    pub async fn advance_minutes(&self, m: i64) {
        self.control("/__sandbox/clock", json!({ "advance_minutes": m }))
            .await;
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .expect("reachable")
            .json()
            .await
            .expect("json")
    }
}

pub fn err_info(p: &Params) -> Option<&str> {
    get(p, "ErrInfo")
}

// Each test binary uses its own part of the page reader.
#[allow(unused_imports)]
pub use kessai_sandbox::page_forms::{HtmlForm, attr, form, forms, text_of};

impl Sb {
    /// Submits a form like a browser: the action resolved against `page_url`, the fields (with
    /// `extra` replacing or adding pairs) as a POST body or a GET query. Returns the status, the
    /// page and its URL.
    pub async fn submit(
        &self,
        page_url: &str,
        f: &HtmlForm,
        extra: &[(&str, &str)],
    ) -> (u16, String, String) {
        let mut fields = f.fields.clone();
        for (k, v) in extra {
            fields.retain(|(n, _)| n != k);
            fields.push((k.to_string(), v.to_string()));
        }
        let base = reqwest::Url::parse(page_url).expect("page url");
        let url = base.join(&f.action).expect("action");
        let req = if f.method.eq_ignore_ascii_case("post") {
            self.http.post(url).form(&fields)
        } else {
            self.http.get(url).query(&fields)
        };
        let r = req.send().await.expect("reachable");
        let (status, url) = (r.status().as_u16(), r.url().to_string());
        (status, r.text().await.expect("html"), url)
    }

    /// Opens a page (GET): status and HTML.
    pub async fn page(&self, url: &str) -> (u16, String) {
        let r = self.http.get(url).send().await.expect("reachable");
        (r.status().as_u16(), r.text().await.expect("html"))
    }

    /// Opens ExecTran's RedirectUrl and goes through the device step as a browser without
    /// script would (the hidden fields as they are): the page after it.
    pub async fn tds2_device_step(&self, redirect_url: &str) -> (u16, String) {
        let (status, html) = self.page(redirect_url).await;
        assert_eq!(status, 200, "{html}");
        let f = form(&html, "tds2-method-form");
        let (status, html, _) = self.submit(redirect_url, &f, &[]).await;
        (status, html)
    }
}
