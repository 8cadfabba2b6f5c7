//! Talking to the kessai edge: the checkout config and the authorisation with a token.
//! The client secret travels in `X-Client-Secret`, never in the URL.

use crate::Options;
use crate::js;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

#[derive(Clone, Debug, PartialEq)]
pub struct Checkout {
    pub amount: i64,
    pub state: String,
    pub shop_id: String,
    pub token_js_url: String,
    pub test_mode: bool,
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
    pub fn state(&self) -> String {
        js::get_str(&self.body, "state").unwrap_or_default()
    }
}

async fn call(
    opts: &Options,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<Answer, JsValue> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_mode(web_sys::RequestMode::Cors);
    let headers = web_sys::Headers::new()?;
    headers.set("x-client-secret", &opts.client_secret)?;
    if let Some(b) = &body {
        headers.set("content-type", "application/json")?;
        init.set_body(&JsValue::from_str(b));
    }
    init.set_headers(&headers);
    let url = format!("{}{}", opts.edge_url, path);
    let request = web_sys::Request::new_with_str_and_init(&url, &init)?;
    let window = js::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let status = response.status();
    let body = match response.json() {
        Ok(p) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    };
    Ok(Answer { status, body })
}

pub async fn checkout(opts: &Options) -> Result<Answer, JsValue> {
    call(
        opts,
        "GET",
        &format!("/v1/checkout/{}", opts.payment_id),
        None,
    )
    .await
}

pub fn read_checkout(body: &JsValue) -> Option<Checkout> {
    let card = js::get(body, "card")?;
    Some(Checkout {
        amount: js::get_i64(body, "amount")?,
        state: js::get_str(body, "state")?,
        shop_id: js::get_str(&card, "shop_id")?,
        token_js_url: js::get_str(&card, "token_js_url")?,
        test_mode: js::get_str(body, "mode").as_deref() == Some("test"),
    })
}

/// Posts the token, and only the token.
pub async fn authorize(opts: &Options, token: &str) -> Result<Answer, JsValue> {
    let body = js_sys::Object::new();
    js_sys::Reflect::set(&body, &"token".into(), &JsValue::from_str(token))?;
    let text = js_sys::JSON::stringify(&body)?
        .as_string()
        .unwrap_or_default();
    call(
        opts,
        "POST",
        &format!("/v1/checkout/{}/card", opts.payment_id),
        Some(text),
    )
    .await
}
