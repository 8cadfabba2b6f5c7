//! Talking to the kessai edge: the checkout config, the authorisation with a token and the
//! signed Amazon Pay button payloads. The client secret travels in `X-Client-Secret`, never in
//! the URL.

use crate::Options;
use crate::js;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

#[derive(Clone, Debug, PartialEq)]
pub struct Checkout {
    pub amount: i64,
    pub state: String,
    pub shop_id: String,
    pub token_js_url: String,
    pub test_mode: bool,
    /// Present when the shop offers Amazon Pay (`amazon_pay` block of the checkout,
    /// [`amazon_config`]).
    pub amazon: Option<JsValue>,
    /// 支払回数 the shop offers (`card.installments`: `[{code, label_ja, label}]`), 一括 first;
    /// empty when only 一括. Kept as the edge's JS array, read where it is shown: a Rust copy
    /// would bring its parsing, clone and drop code into the wasm (docs/architecture.md).
    pub installments: JsValue,
    /// The payment names a customer and the shop keeps cards: offer the saved cards and
    /// 「このカードを登録する」 (`card.stored_cards`).
    pub stored_cards: bool,
    /// A card registration (`capture: verify`): nothing is charged, the card is saved.
    pub verify: bool,
    /// A 定期購入 sign-up (`card.saves_card`): a new card is always saved (later cycles are
    /// charged on it), so the widget says so instead of offering 「このカードを登録する」.
    pub saves_card: bool,
    /// The customer's saved cards (`GET /v1/checkout/{id}/cards`: `[{card_seq, brand,
    /// last_digits, expire, expired, default}]`, the default first); `null` until read.
    pub saved: JsValue,
}

/// The checkout's `amazon_pay` block (or the sign-in button answer, same keys), when it names
/// the merchant, checkout.js and the environment: `{merchant_id, checkout_js_url, sandbox,
/// ledger_currency?, checkout_language?}`. Kept as the edge's JS object: js/interop.js reads it
/// for `amazon.Pay.renderButton` (no Rust copy, parsing, clone and drop code in the wasm).
pub fn amazon_config(block: &JsValue) -> Option<JsValue> {
    (js::get_str(block, "merchant_id").is_some()
        && js::get_str(block, "checkout_js_url").is_some()
        && js::get(block, "sandbox")?.as_bool().is_some())
    .then(|| block.clone())
}

/// An answer from the edge: HTTP status and JSON body.
pub struct Answer {
    pub status: u16,
    pub body: JsValue,
}

impl Answer {
    pub fn error_code(&self) -> String {
        js::get(&self.body, "error")
            .and_then(|e| js::get_str(&e, "code"))
            .unwrap_or_default()
    }
    pub fn error_field(&self) -> Option<String> {
        js::get(&self.body, "error").and_then(|e| js::get_str(&e, "field"))
    }
    /// The edge's own message in the shopper's language.
    pub fn error_message(&self, ja: bool) -> Option<String> {
        let e = js::get(&self.body, "error")?;
        js::get_str(&e, if ja { "message_ja" } else { "message" })
    }
    /// `next_action.url` of a 200 that asks for 3-D Secure (`type: "redirect"`), when it is an
    /// http(s) URL.
    pub fn redirect_url(&self) -> Option<String> {
        let next = js::get(&self.body, "next_action")?;
        let url = js::get_str(&next, "url").filter(|u| js::is_http_url(u))?;
        (js::get_str(&next, "type")? == "redirect").then_some(url)
    }
    pub fn state(&self) -> String {
        js::get_str(&self.body, "state").unwrap_or_default()
    }
    /// The checkout's `last_error` (why the last attempt, e.g. at Amazon, did not pay):
    /// its code and its message in the shopper's language.
    pub fn last_error(&self, ja: bool) -> Option<(String, Option<String>)> {
        let e = js::get(&self.body, "last_error")?;
        let code = js::get_str(&e, "code").unwrap_or_default();
        Some((
            code,
            js::get_str(&e, if ja { "message_ja" } else { "message" }),
        ))
    }
}

/// A request about this payment: `/v1/checkout/{payment_id}` and `tail`. The URL is put
/// together with `concat`, not `format!` (less code in the wasm).
async fn call(
    opts: &Options,
    method: &str,
    tail: &str,
    body: Option<String>,
) -> Result<Answer, JsValue> {
    let url = [opts.edge_url, "/v1/checkout/", opts.payment_id, tail].concat();
    fetch(method, &url, Some(opts.client_secret), body).await
}

/// One request to the edge; `secret` goes in `X-Client-Secret` when the API wants it.
pub async fn fetch(
    method: &str,
    url: &str,
    secret: Option<&str>,
    body: Option<String>,
) -> Result<Answer, JsValue> {
    let answer = JsFuture::from(js::interop::edge_fetch(method, url, secret, body)).await?;
    let status = js::get_i64(&answer, "status")
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(0);
    let body = js::get(&answer, "body").unwrap_or(JsValue::NULL);
    Ok(Answer { status, body })
}

pub async fn checkout(opts: &Options) -> Result<Answer, JsValue> {
    call(opts, "GET", "", None).await
}

pub fn read_checkout(body: &JsValue) -> Option<Checkout> {
    let card = js::get(body, "card")?;
    Some(Checkout {
        amount: js::get_i64(body, "amount")?,
        state: js::get_str(body, "state")?,
        shop_id: js::get_str(&card, "shop_id")?,
        token_js_url: js::get_str(&card, "token_js_url")?,
        test_mode: js::get_str(body, "mode").as_deref() == Some("test"),
        amazon: js::get(body, "amazon_pay").and_then(|b| amazon_config(&b)),
        installments: js::get(&card, "installments").unwrap_or(JsValue::NULL),
        stored_cards: js::get_bool(&card, "stored_cards"),
        verify: js::get_str(body, "capture").as_deref() == Some("verify"),
        saves_card: js::get_bool(&card, "saves_card"),
        saved: JsValue::NULL,
    })
}

/// The payment's customer's saved cards (a JS array); `null` when they cannot be read (the
/// new-card form still works).
pub async fn saved_cards(opts: &Options) -> JsValue {
    match call(opts, "GET", "/cards", None).await {
        Ok(answer) => js::get(&answer.body, "cards").unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    }
}

/// A JSON object of string fields, as text.
pub fn json_body(fields: &[(&str, &str)]) -> String {
    let body = js_sys::Object::new();
    for (k, v) in fields {
        js::set_str(&body, k, v);
    }
    stringify(&body)
}

/// `JSON.stringify(body)`; empty if it throws.
fn stringify(body: &js_sys::Object) -> String {
    js_sys::JSON::stringify(body)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// The card POST: the GMO `token` of a new card (never card data; empty when a saved card pays),
/// the 支払回数 code (empty: 一括), the page the issuer's 3-D Secure step returns to, and `raw`:
/// non-string members as JSON text, each starting with a comma (`,"card_seq":0`,
/// `,"save_card":true`), which only the widget writes.
pub async fn authorize(
    opts: &Options,
    token: &str,
    installments: &str,
    raw: &str,
) -> Result<Answer, JsValue> {
    let body = js_sys::Object::new();
    js::set_str(&body, "return_url", opts.return_url);
    if !token.is_empty() {
        js::set_str(&body, "token", token);
    }
    if !installments.is_empty() {
        js::set_str(&body, "installments", installments);
    }
    let mut text = stringify(&body);
    // `{"return_url":…}` always has a member, so the raw ones follow it after their comma.
    if text.ends_with('}') {
        text.pop();
        text.push_str(raw);
        text.push('}');
    }
    call(opts, "POST", "/card", Some(text)).await
}

/// The signed Amazon Pay checkout button payload for this payment; Amazon sends the shopper
/// back to `return_url` (this page) at the end.
pub async fn amazon_button(opts: &Options) -> Result<Answer, JsValue> {
    call(
        opts,
        "POST",
        "/amazon-pay/button",
        Some(json_body(&[("return_url", opts.return_url)])),
    )
    .await
}
