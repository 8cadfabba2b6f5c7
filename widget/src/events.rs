//! DOM events the host page listens to. Details never carry card data.

use crate::js::interop;
use wasm_bindgen::JsValue;
use web_sys::HtmlElement;

/// Dispatches a bubbling `CustomEvent` whose `detail` is an object of string fields.
pub fn emit(target: &HtmlElement, name: &str, fields: &[(&str, &str)]) {
    let detail = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&detail, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    emit_value(target, name, &detail.into());
}

/// Dispatched by js/interop.js (`emit`): no `CustomEvent`/`CustomEventInit` glue in the wasm.
pub fn emit_value(target: &HtmlElement, name: &str, detail: &JsValue) {
    interop::emit(target, name, detail);
}

/// `kessai:change`: `{complete: bool, brand}`. Nothing the shopper typed.
pub fn emit_change(target: &HtmlElement, complete: bool, brand: &str) {
    let detail = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&detail, &"complete".into(), &JsValue::from_bool(complete));
    let _ = js_sys::Reflect::set(&detail, &"brand".into(), &JsValue::from_str(brand));
    emit_value(target, "kessai:change", &detail.into());
}
