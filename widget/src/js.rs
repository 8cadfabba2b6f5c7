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
        /// Loads checkout.js and renders the button; rejects with the reason.
        #[wasm_bindgen(js_name = amazonButton)]
        #[allow(clippy::too_many_arguments)]
        pub fn amazon_button(
            url: &str,
            container_id: &str,
            sign_in: bool,
            merchant_id: &str,
            ledger_currency: &str,
            sandbox: bool,
            checkout_language: &str,
            payload_json: &str,
            signature: &str,
            public_key_id: &str,
            algorithm: &str,
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

/// Sets focus to the element with `id`, if it exists.
pub fn focus(id: &str) {
    if let Some(el) = window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
    }
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let _ = JsFuture::from(interop::sleep(ms)).await;
}

/// Sets `obj[key] = value` for string values.
pub fn set_str(obj: &js_sys::Object, key: &str, value: &str) {
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), &JsValue::from_str(value));
}

/// The page's URL (`location.href`), if there is a window.
pub fn location_href() -> Option<String> {
    window()?.location().href().ok()
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

/// The value of query parameter `name` in `href` (ids and words only: no percent-decoding).
pub fn query_param(href: &str, name: &str) -> Option<String> {
    let before_hash = href.split('#').next().unwrap_or("");
    let (_, query) = before_hash.split_once('?')?;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `href` without the `kessai_*` parameters kessai itself adds on a return from Amazon or from
/// 3-D Secure.
pub fn without_kessai_params(href: &str) -> String {
    let (before_hash, hash) = href.split_at(href.find('#').unwrap_or(href.len()));
    let (base, query) = before_hash.split_once('?').unwrap_or((before_hash, ""));
    let mut kept = String::from(base);
    let mut separator = '?';
    for pair in query.split('&') {
        if !pair.is_empty() && !pair.starts_with("kessai_") {
            kept.push(separator);
            kept.push_str(pair);
            separator = '&';
        }
    }
    kept.push_str(hash);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kessai_params_are_removed_and_the_rest_kept_in_order() {
        assert_eq!(
            without_kessai_params(
                "https://shop.example/checkout/1?kessai_payment=pay_1&kessai_amazon=declined"
            ),
            "https://shop.example/checkout/1"
        );
        assert_eq!(
            without_kessai_params("https://s.example/c?a=1&kessai_amazon=x&b=2#top"),
            "https://s.example/c?a=1&b=2#top"
        );
        assert_eq!(
            without_kessai_params("https://s.example/c"),
            "https://s.example/c"
        );
        assert_eq!(
            without_kessai_params("https://s.example/c?#x"),
            "https://s.example/c#x"
        );
    }

    #[test]
    fn only_http_urls_pass() {
        assert!(is_http_url("https://shop.example/privacy"));
        assert!(is_http_url("http://127.0.0.1:8080/privacy"));
        assert!(!is_http_url("javascript:alert(1)"));
        assert!(!is_http_url("//shop.example/"));
        assert!(!is_http_url(""));
    }

    #[test]
    fn query_params_are_read_by_exact_name() {
        let href =
            "http://127.0.0.1:8080/checkout/EC1?kessai_payment=pay_ab&kessai_amazon=authorized#f";
        assert_eq!(
            query_param(href, "kessai_payment").as_deref(),
            Some("pay_ab")
        );
        assert_eq!(
            query_param(href, "kessai_amazon").as_deref(),
            Some("authorized")
        );
        assert_eq!(query_param(href, "kessai"), None);
        assert_eq!(query_param("http://x/?a=1", "b"), None);
    }
}
