//! Calls to the edge from the console page (same origin, session cookie, CSRF header).

use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(module = "/js/interop.js")]
extern "C" {
    /// → `{status, body}`; rejects when no answer came.
    #[wasm_bindgen(js_name = apiFetch)]
    fn api_fetch(method: &str, path: &str, body: Option<String>) -> js_sys::Promise;
}

/// An answer from the edge.
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The session is gone (expired or logged out elsewhere): back to ログイン.
    pub fn unauthorized(&self) -> bool {
        self.status == 401
    }

    /// What the operator reads: the edge's Japanese message, and the gateway's own code when a
    /// gateway refused (so a change made in GMO's or Amazon's console is recognisable).
    pub fn error_ja(&self) -> String {
        let e = &self.body["error"];
        let mut text = e["message_ja"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("エラーが発生しました（HTTP {}）。", self.status));
        if let Some(code) = e["gateway_code"].as_str() {
            text.push_str(&format!("\nゲートウェイのエラーコード: {code}"));
        }
        if let Some(state) = e["state"].as_str() {
            text.push_str(&format!("\n現在の状態: {}", crate::fmt::state_label(state)));
        }
        text
    }
}

/// Message for a call that got no answer: whether the edge acted is unknown.
pub const NO_ANSWER: &str = "サーバーから応答がありませんでした。操作が実行されたか分からないため、再読み込みして状態を確認してください。";

/// Calls the edge. `Err` only when no answer came.
pub async fn call(method: &str, path: &str, body: Option<Value>) -> Result<Answer, String> {
    let answer = JsFuture::from(api_fetch(method, path, body.map(|b| b.to_string())))
        .await
        .map_err(|_| NO_ANSWER.to_string())?;
    let status = js_sys::Reflect::get(&answer, &JsValue::from_str("status"))
        .ok()
        .and_then(|s| s.as_f64())
        .unwrap_or(0.0) as u16;
    let body = js_sys::Reflect::get(&answer, &JsValue::from_str("body"))
        .ok()
        .and_then(|b| js_sys::JSON::stringify(&b).ok())
        .and_then(|s| s.as_string())
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null);
    Ok(Answer { status, body })
}

/// `encodeURIComponent` (search words are often Japanese).
pub fn encode(s: &str) -> String {
    js_sys::encode_uri_component(s)
        .as_string()
        .unwrap_or_default()
}
