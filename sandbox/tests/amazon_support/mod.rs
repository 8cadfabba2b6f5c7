//! Shared helpers of the Amazon Pay sandbox tests: one sandbox per test on 127.0.0.1:0, a CV2
//! client that signs through core's request builder with the `rsa` crate (RSASSA-PSS, salt 32),
//! and a driver of the hosted pages over plain HTTP.
#![allow(dead_code)]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use kessai_core::amazon::button::button_string_to_sign;
use kessai_core::amazon::request::{
    ApiConfig, Environment, HttpMethod, SignedRequest, UnsignedRequest, build,
};
use kessai_core::amazon::signing::{self, Algorithm, AuthorizationHeader};
use kessai_core::jst::UnixMillis;
use kessai_sandbox::amazon::{AmazonSandboxConfig, AmazonSandboxHandle, MerchantKey, start};
use rsa::RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::pss::SigningKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding};
use serde_json::{Value, json};
use sha2::Sha256;

/// 2026-11-15 12:00:00 JST.
pub const T0: i64 = 1_794_711_600_000;
pub const MINUTE: i64 = 60_000;
pub const DAY: i64 = 86_400_000;

/// One key pair per test binary (RSA key generation is the slow part).
pub fn merchant_key() -> &'static MerchantKey {
    static KEY: OnceLock<MerchantKey> = OnceLock::new();
    KEY.get_or_init(MerchantKey::generate)
}

/// A second, unregistered key pair (an attacker's or another merchant's).
pub fn other_key() -> &'static MerchantKey {
    static KEY: OnceLock<MerchantKey> = OnceLock::new();
    KEY.get_or_init(MerchantKey::generate)
}

pub fn idem(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// RSASSA-PSS / SHA-256 signature with the given salt length, standard base64.
/// Signs `unsigned` under the V2 header with `key`'s private half and PSS salt `salt` (the
/// edge signs with 32; 20 is the legacy algorithm's).
pub fn sign_v2(unsigned: UnsignedRequest, key: &MerchantKey, salt: usize) -> SignedRequest {
    let sig = pss_sign(&key.private_pkcs8_pem, salt, &unsigned.string_to_sign);
    unsigned.signed(&sig)
}

pub fn pss_sign(private_pem: &str, salt: usize, message: &str) -> String {
    let key = RsaPrivateKey::from_pkcs8_pem(private_pem).expect("pkcs8");
    let signer = SigningKey::<Sha256>::new_with_salt_len(key, salt);
    let sig = signer.sign_with_rng(&mut rsa::rand_core::OsRng, message.as_bytes());
    signing::base64_encode(&sig.to_bytes())
}

pub struct Answer {
    pub status: u16,
    pub json: Value,
    pub headers: reqwest::header::HeaderMap,
}

pub struct Sb {
    pub h: AmazonSandboxHandle,
    pub http: reqwest::Client,
    /// A client that does not follow redirects (hosted pages).
    pub browser: reqwest::Client,
    pub api: ApiConfig,
}

impl Sb {
    pub async fn start() -> Sb {
        Sb::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut AmazonSandboxConfig)) -> Sb {
        let mut cfg = AmazonSandboxConfig::for_key(merchant_key());
        adjust(&mut cfg);
        let h = start(cfg, "127.0.0.1:0".parse().expect("addr"))
            .await
            .expect("sandbox starts");
        h.set_clock_ms(T0);
        let api = ApiConfig {
            base_url: h.base_url.clone(),
            environment: Environment::Sandbox,
            region: "jp".into(),
            public_key_id: h.config.public_key_id.clone(),
        };
        Sb {
            h,
            http: reqwest::Client::new(),
            browser: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            api,
        }
    }

    pub fn now(&self) -> UnixMillis {
        UnixMillis(self.h.now_ms())
    }

    /// Builds and signs (V2, the registered key) a request the way the edge does.
    pub fn signed(
        &self,
        method: HttpMethod,
        resource: &str,
        body: Option<&Value>,
        idem_key: Option<&str>,
    ) -> SignedRequest {
        let unsigned = self.unsigned_for(
            &self.api,
            method,
            resource,
            body.map(|b| b.to_string()),
            idem_key,
        );
        sign_v2(unsigned, merchant_key(), 32)
    }

    /// Core's canonical request for `api` (which may differ from the sandbox's own region,
    /// host or environment), dated by the sandbox clock.
    pub fn unsigned_for(
        &self,
        api: &ApiConfig,
        method: HttpMethod,
        resource: &str,
        body: Option<String>,
        idem_key: Option<&str>,
    ) -> UnsignedRequest {
        build(api, method, resource, body, idem_key, self.now())
    }

    pub async fn send(&self, req: &SignedRequest) -> Answer {
        self.send_parts(
            req.method.as_str(),
            &req.url,
            &req.headers,
            req.body.as_bytes(),
        )
        .await
    }

    pub async fn send_parts(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Answer {
        let mut rb = self.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            url,
        );
        for (k, v) in headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if !body.is_empty() {
            rb = rb.body(body.to_vec());
        }
        let resp = rb.send().await.expect("sandbox answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            json,
            headers,
        }
    }

    /// Signs and sends; POSTs get a fresh idempotency key.
    pub async fn call(&self, method: HttpMethod, resource: &str, body: Option<Value>) -> Answer {
        let key = match method {
            HttpMethod::Post => Some(idem("k")),
            HttpMethod::Get | HttpMethod::Patch | HttpMethod::Delete => None,
        };
        let req = self.signed(method, resource, body.as_ref(), key.as_deref());
        self.send(&req).await
    }

    pub async fn call_with_key(
        &self,
        method: HttpMethod,
        resource: &str,
        body: Option<Value>,
        key: &str,
    ) -> Answer {
        let req = self.signed(method, resource, body.as_ref(), Some(key));
        self.send(&req).await
    }

    /// A request signed with the legacy algorithm (salt 20) from core's canonical request.
    pub fn signed_legacy(
        &self,
        method: HttpMethod,
        resource: &str,
        body: Option<&Value>,
        idem_key: Option<&str>,
    ) -> SignedRequest {
        let unsigned = self.unsigned_for(
            &self.api,
            method,
            resource,
            body.map(|b| b.to_string()),
            idem_key,
        );
        let canonical = signing::canonical_request(
            method.as_str(),
            &unsigned.path,
            &[],
            &unsigned.headers,
            unsigned.body.as_bytes(),
        );
        let sts = signing::string_to_sign(Algorithm::Legacy, &canonical);
        let sig = pss_sign(&merchant_key().private_pkcs8_pem, 20, &sts);
        let mut headers = unsigned.headers.clone();
        headers.push((
            "authorization".into(),
            AuthorizationHeader {
                algorithm: Algorithm::Legacy,
                public_key_id: unsigned.public_key_id.clone(),
                signed_headers: unsigned
                    .signed_headers
                    .split(';')
                    .map(str::to_string)
                    .collect(),
                signature_b64: sig,
            }
            .to_header_value(),
        ));
        SignedRequest {
            method,
            url: unsigned.url,
            headers,
            body: unsigned.body,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.h.base_url)
    }

    /// Resolves a `Location` (absolute or sandbox-relative).
    pub fn resolve(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            self.url(location)
        }
    }

    pub async fn get_page(&self, url: &str) -> (u16, String, Option<String>) {
        let resp = self.browser.get(url).send().await.expect("page");
        page_parts(resp).await
    }

    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> (u16, String, Option<String>) {
        let resp = self
            .browser
            .post(url)
            .form(form)
            .send()
            .await
            .expect("form");
        page_parts(resp).await
    }

    /// Posts a signed button to `/checkout/start` as checkout.js does. Answers (status, body, Location).
    pub async fn press_button(
        &self,
        product_type: &str,
        payload: &str,
        signature: &str,
        algorithm: Option<&str>,
    ) -> (u16, String, Option<String>) {
        let mut form = vec![
            ("payloadJSON", payload.to_string()),
            ("signature", signature.to_string()),
            ("publicKeyId", self.h.config.public_key_id.clone()),
            ("merchantId", self.h.config.merchant_id.clone()),
            ("productType", product_type.to_string()),
            ("ledgerCurrency", "JPY".into()),
            ("checkoutLanguage", "ja_JP".into()),
            ("sandbox", "true".into()),
            ("placement", "Cart".into()),
            ("returnUrl", "https://shop.example.jp/cart".into()),
        ];
        if let Some(a) = algorithm {
            form.push(("algorithm", a.to_string()));
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post_form(&self.url("/checkout/start"), &pairs).await
    }

    /// The edge's checkout payload for `amount`, V2-signed. Answers (payload, signature).
    pub fn checkout_button(&self, amount: i64) -> (String, String) {
        let payload = json!({
            "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://edge.example.jp/v1/amazon-pay/review?payment=pay_1"},
            "storeId": self.h.config.store_id,
            "scopes": ["name", "email", "phoneNumber", "billingAddress", "shippingAddress", "postalCode"],
            "chargePermissionType": "OneTime",
            "deliverySpecifications": {"addressRestrictions": {"type": "Allowed", "restrictions": {"JP": {}}}},
            "paymentDetails": {"paymentIntent": "Authorize", "canHandlePendingAuthorization": false,
                "chargeAmount": {"amount": amount.to_string(), "currencyCode": "JPY"}},
            "merchantMetadata": {"merchantReferenceId": "order-1"}
        })
        .to_string();
        let sig = pss_sign(
            &merchant_key().private_pkcs8_pem,
            32,
            &button_string_to_sign(Algorithm::V2, &payload),
        );
        (payload, sig)
    }

    /// Button → login (buyer) → address page → returns the checkout session id after the buyer
    /// chose `address`; asserts the redirect to the review URL.
    pub async fn buyer_checks_out(&self, amount: i64, buyer: &str, address: &str) -> String {
        let (payload, sig) = self.checkout_button(amount);
        let (status, body, loc) = self
            .press_button("PayAndShip", &payload, &sig, Some("AMZN-PAY-RSASSA-PSS-V2"))
            .await;
        assert_eq!(status, 303, "{body}");
        let login = self.resolve(&loc.expect("to login"));
        let cs_id = query_param(&login, "amazonCheckoutSessionId").expect("cs id");
        let (status, body, _) = self.get_page(&login).await;
        assert_eq!(status, 200);
        assert!(body.contains("name=\"buyer\""), "{body}");
        let (status, _, loc) = self
            .post_form(
                &self.url("/checkout/login"),
                &[
                    ("amazonCheckoutSessionId", &cs_id),
                    ("buyer", buyer),
                    ("email", ""),
                    ("password", "anything"),
                ],
            )
            .await;
        assert_eq!(status, 303);
        let address_page = self.resolve(&loc.expect("to address"));
        let (status, _, _) = self.get_page(&address_page).await;
        assert_eq!(status, 200);
        let (status, body, loc) = self
            .post_form(
                &self.url("/checkout/address"),
                &[
                    ("amazonCheckoutSessionId", &cs_id),
                    ("buyer", buyer),
                    ("address", address),
                    ("paymentMethod", "0"),
                ],
            )
            .await;
        assert_eq!(status, 303, "{body}");
        assert_eq!(
            loc.as_deref(),
            Some(format!("https://edge.example.jp/v1/amazon-pay/review?payment=pay_1&amazonCheckoutSessionId={cs_id}").as_str())
        );
        cs_id
    }

    /// Update CS like the edge's review step; answers the response.
    pub async fn update_for_result(&self, cs_id: &str, amount: i64) -> Answer {
        self.call(
            HttpMethod::Patch,
            &format!("checkoutSessions/{cs_id}"),
            Some(json!({
                "webCheckoutDetails": {"checkoutResultReturnUrl": "https://edge.example.jp/v1/amazon-pay/result?payment=pay_1"},
                "paymentDetails": {"paymentIntent": "Authorize", "canHandlePendingAuthorization": false,
                    "chargeAmount": {"amount": amount.to_string(), "currencyCode": "JPY"}},
                "merchantMetadata": {"merchantReferenceId": "order-1", "merchantStoreName": "kessai デモ店"}
            })),
        )
        .await
    }

    /// Visits amazonPayRedirectUrl; answers the Location (the result URL).
    pub async fn process(&self, redirect_url: &str) -> String {
        let (status, body, loc) = self.get_page(redirect_url).await;
        assert_eq!(status, 303, "{body}");
        loc.expect("to result")
    }

    /// Full happy path to a Completed session. Answers (cs id, Complete answer).
    pub async fn paid_checkout(&self, amount: i64) -> (String, Answer) {
        let cs_id = self.buyer_checks_out(amount, "taro", "0").await;
        let upd = self.update_for_result(&cs_id, amount).await;
        assert_eq!(upd.status, 200, "{}", upd.json);
        let redirect = upd.json["webCheckoutDetails"]["amazonPayRedirectUrl"]
            .as_str()
            .expect("redirect url")
            .to_string();
        self.process(&redirect).await;
        let done = self.complete(&cs_id, amount).await;
        assert_eq!(done.status, 200, "{}", done.json);
        (cs_id, done)
    }

    pub async fn complete(&self, cs_id: &str, amount: i64) -> Answer {
        self.call(
            HttpMethod::Post,
            &format!("checkoutSessions/{cs_id}/complete"),
            Some(price_body("chargeAmount", amount)),
        )
        .await
    }
}

pub fn price_body(field: &str, amount: i64) -> Value {
    json!({ field: {"amount": amount.to_string(), "currencyCode": "JPY"} })
}

async fn page_parts(resp: reqwest::Response) -> (u16, String, Option<String>) {
    let status = resp.status().as_u16();
    let loc = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = resp.text().await.unwrap_or_default();
    (status, body, loc)
}

/// The decoded value of `key` in a URL's query.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    let q = url.split_once('?')?.1;
    let q = q.split('#').next().unwrap_or(q);
    signing::parse_query(q)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

pub fn reason(a: &Answer) -> &str {
    a.json["reasonCode"].as_str().unwrap_or("")
}
