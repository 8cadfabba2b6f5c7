//! Small, panic-free helpers over JS values and the DOM.

use std::cell::RefCell;
use std::thread::LocalKey;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

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

/// A promise that resolves after `ms` milliseconds.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        if let Some(w) = window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

const STYLE: &str = include_str!("widget.css");

/// Adds the widget's stylesheet to the page once.
pub fn inject_style() {
    let Some(doc) = window().and_then(|w| w.document()) else {
        return;
    };
    if doc.get_element_by_id("kessai-style").is_some() {
        return;
    }
    if let (Ok(style), Some(head)) = (doc.create_element("style"), doc.head()) {
        style.set_id("kessai-style");
        style.set_text_content(Some(STYLE));
        let _ = head.append_child(&style);
    }
}

/// One third-party script's load in progress (or done), shared by every caller on the page.
pub type ScriptSlot = LocalKey<RefCell<Option<js_sys::Promise>>>;

/// Injects the `<script src=url>` once per page and waits for it; `ready` says whether the
/// global it defines is there. After a failure the slot is emptied, so the next call tries again.
pub async fn load_script(slot: &'static ScriptSlot, url: &str, ready: fn() -> bool) -> bool {
    if ready() {
        return true;
    }
    let promise = match slot.with(|l| l.borrow().clone()) {
        Some(p) => p,
        None => {
            let Some(p) = inject_script(url) else {
                return false;
            };
            slot.with(|l| *l.borrow_mut() = Some(p.clone()));
            p
        }
    };
    let loaded = JsFuture::from(promise).await.is_ok() && ready();
    if !loaded {
        slot.with(|l| *l.borrow_mut() = None);
    }
    loaded
}

/// Adds the `<script>`; the promise settles with its load or error event.
fn inject_script(url: &str) -> Option<js_sys::Promise> {
    let doc = window()?.document()?;
    let script: web_sys::HtmlScriptElement = doc.create_element("script").ok()?.dyn_into().ok()?;
    script.set_src(url);
    let promise = js_sys::Promise::new(&mut |resolve, reject| {
        script.set_onload(Some(&resolve));
        script.set_onerror(Some(&reject));
    });
    doc.head()?.append_child(&script).ok()?;
    Some(promise)
}

/// Sets `obj[key] = value` for string values.
pub fn set_str(obj: &js_sys::Object, key: &str, value: &str) {
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), &JsValue::from_str(value));
}

pub fn set(obj: &js_sys::Object, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(obj, &JsValue::from_str(key), value);
}

/// The page's URL (`location.href`), if there is a window.
pub fn location_href() -> Option<String> {
    window()?.location().href().ok()
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

/// `href` without the `kessai_*` parameters kessai itself adds on a return from Amazon.
pub fn without_kessai_params(href: &str) -> String {
    let (before_hash, hash) = match href.find('#') {
        Some(i) => href.split_at(i),
        None => (href, ""),
    };
    let (base, query) = before_hash.split_once('?').unwrap_or((before_hash, ""));
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("kessai_"))
        .collect();
    if kept.is_empty() {
        format!("{base}{hash}")
    } else {
        format!("{base}?{}{hash}", kept.join("&"))
    }
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
