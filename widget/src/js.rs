//! Small, panic-free helpers over JS values and the DOM.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// `js/interop.js`: calls into GMO's token JS and Amazon's checkout.js, script loading, fetch
/// and timers, written in JS so the wasm carries no promise and closure plumbing for them.
/// Every function returns a promise (none throws synchronously).
pub mod interop {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/interop.js")]
    extern "C" {
        pub fn sleep(ms: i32) -> js_sys::Promise;
        /// Dispatches a bubbling, composed `CustomEvent` with this `detail`.
        pub fn emit(target: &web_sys::HtmlElement, name: &str, detail: &JsValue);
        /// Focuses the element with this id, if there is one.
        pub fn focus(id: &str);
        /// `history.replaceState(null, "", url)` (errors ignored).
        #[wasm_bindgen(js_name = replaceUrl)]
        pub fn replace_url(url: &str);
        /// → `{status, body}`; rejects when no answer came.
        #[wasm_bindgen(js_name = edgeFetch)]
        pub fn edge_fetch(
            method: &str,
            url: &str,
            secret: Option<&str>,
            body: Option<String>,
        ) -> js_sys::Promise;
        /// → `true` when token.js is loaded.
        #[wasm_bindgen(js_name = gmoLoad)]
        pub fn gmo_load(url: &str) -> js_sys::Promise;
        /// → `{code, token?}`: GMO's result code, or `""` when no usable answer came.
        #[wasm_bindgen(js_name = gmoToken)]
        pub fn gmo_token(
            url: &str,
            shop_id: &str,
            cardno: &str,
            expire: &str,
            securitycode: &str,
            holdername: &str,
        ) -> js_sys::Promise;
        /// The saved cards' radio buttons as HTML (`crate::form`).
        #[wasm_bindgen(js_name = savedCardsHtml)]
        pub fn saved_cards_html(
            texts: &js_sys::Array,
            keys: &str,
            cards: &JsValue,
            chosen: &str,
        ) -> String;
        /// 「このカードを登録する」 and 支払回数 as HTML (`crate::form`).
        #[wasm_bindgen(js_name = extrasHtml)]
        #[allow(clippy::too_many_arguments)]
        pub fn extras_html(
            texts: &js_sys::Array,
            keys: &str,
            always: bool,
            offer_save: bool,
            save: bool,
            choices: &JsValue,
            picked: &str,
            ja: bool,
        ) -> String;
        /// Loads checkout.js and renders the button; rejects with the reason.
        #[wasm_bindgen(js_name = amazonButton)]
        pub fn amazon_button(
            container_id: &str,
            sign_in: bool,
            config: &JsValue,
            signed: &JsValue,
            amount: Option<String>,
        ) -> js_sys::Promise;
    }
}

pub fn get(v: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(v, &JsValue::from_str(key))
        .ok()
        .filter(|x| !x.is_undefined() && !x.is_null())
}

pub fn get_str(v: &JsValue, key: &str) -> Option<String> {
    get(v, key).and_then(|x| x.as_string())
}

pub fn get_i64(v: &JsValue, key: &str) -> Option<i64> {
    get(v, key)
        .and_then(|x| x.as_f64())
        .filter(|f| f.fract() == 0.0)
        .map(|f| f as i64)
}

/// `v[key] === true`.
pub fn get_bool(v: &JsValue, key: &str) -> bool {
    get(v, key).and_then(|b| b.as_bool()) == Some(true)
}

/// The elements of `v` when it is an array; none otherwise.
pub fn items(v: &JsValue) -> Vec<JsValue> {
    v.dyn_ref::<js_sys::Array>()
        .map(js_sys::Array::to_vec)
        .unwrap_or_default()
}

pub fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

/// Sets focus to the element with `id`, if it exists (js/interop.js).
pub fn focus(id: &str) {
    interop::focus(id);
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let _ = JsFuture::from(interop::sleep(ms)).await;
}

/// Sets `obj[key] = value` for string values.
pub fn set_str(obj: &js_sys::Object, key: &str, value: &str) {
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), &JsValue::from_str(value));
}

/// Whether `url` is absolute http(s) (never `javascript:` and the like).
pub fn is_http_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

/// Sends the whole page (top level) to `url`: `location.href = url`, which is
/// `location.assign(url)`, through `Reflect.set` (imported anyway; one glue import fewer).
pub fn go_to(url: &str) {
    if let Some(w) = window() {
        set_str(w.location().unchecked_ref(), "href", url);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_pass() {
        assert!(is_http_url("https://shop.example/privacy"));
        assert!(is_http_url("http://127.0.0.1:8080/privacy"));
        assert!(!is_http_url("javascript:alert(1)"));
        assert!(!is_http_url("//shop.example/"));
        assert!(!is_http_url(""));
    }
}
