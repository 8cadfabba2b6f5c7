//! Small, panic-free helpers over JS values and the DOM.

use wasm_bindgen::{JsCast, JsValue};

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
