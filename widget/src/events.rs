//! DOM events the host page listens to. Details never carry card data.

use wasm_bindgen::JsValue;
use web_sys::{CustomEvent, CustomEventInit, HtmlElement};

/// Dispatches a bubbling `CustomEvent` whose `detail` is an object of string fields.
pub fn emit(target: &HtmlElement, name: &str, fields: &[(&str, &str)]) {
    let detail = js_sys::Object::new();
    for (k, v) in fields {
        let _ = js_sys::Reflect::set(&detail, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    emit_value(target, name, &detail.into());
}

pub fn emit_value(target: &HtmlElement, name: &str, detail: &JsValue) {
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(detail);
    if let Ok(ev) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = target.dispatch_event(&ev);
    }
}

/// `kessai:change`: `{complete: bool, brand}`. Nothing the shopper typed.
pub fn emit_change(target: &HtmlElement, complete: bool, brand: &str) {
    let detail = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&detail, &"complete".into(), &JsValue::from_bool(complete));
    let _ = js_sys::Reflect::set(&detail, &"brand".into(), &JsValue::from_str(brand));
    emit_value(target, "kessai:change", &detail.into());
}
