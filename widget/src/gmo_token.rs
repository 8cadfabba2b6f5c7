//! GMO-PG token JS (トークン決済 v1): load `token.js`, `Multipayment.init(shopId)`, and
//! `Multipayment.getToken(card, callback)` as a future. The card object goes to GMO's script
//! and nowhere else.

use crate::js;
use std::cell::{Cell, RefCell};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Multipayment, js_name = init)]
    fn multipayment_init(shop_id: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = Multipayment, js_name = getToken)]
    fn multipayment_get_token(card: &JsValue, callback: &JsValue) -> Result<(), JsValue>;
}

/// The card as GMO's token JS wants it (v1 keys are lower case).
pub struct CardInput {
    pub cardno: String,
    pub expire: String,
    pub securitycode: String,
    pub holdername: String,
}

/// Why no token came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// GMO's result code (`100`…`902`), mapped to fields by `kessai_core::gmo::token`.
    Code(String),
    /// The script could not be loaded or did not answer.
    Unavailable,
}

fn multipayment_loaded() -> bool {
    js::window()
        .and_then(|w| js::get(&w, "Multipayment"))
        .is_some()
}

thread_local! {
    /// The `<script>` load in progress (or done), shared by the early fetch and the first click.
    static LOADING: RefCell<Option<js_sys::Promise>> = const { RefCell::new(None) };
}

/// Injects `token.js` once and waits for it. After a failure the next call tries again.
pub async fn load(url: &str) -> Result<(), TokenError> {
    if js::load_script(&LOADING, url, multipayment_loaded).await {
        Ok(())
    } else {
        Err(TokenError::Unavailable)
    }
}

thread_local! {
    static CALLBACK_SEQ: Cell<u32> = const { Cell::new(0) };
}

/// Asks GMO's token JS for one token. The callback is registered as a uniquely named global
/// function (what GMO's samples do) and removed afterwards.
pub async fn get_token(shop_id: &str, card: &CardInput) -> Result<String, TokenError> {
    let window = js::window().ok_or(TokenError::Unavailable)?;
    multipayment_init(shop_id).map_err(|_| TokenError::Unavailable)?;
    let seq = CALLBACK_SEQ.with(|c| {
        let n = c.get().wrapping_add(1);
        c.set(n);
        n
    });
    let name = format!("__kessaiTokenCallback{seq}");
    let obj = js_sys::Object::new();
    for (k, v) in [
        ("cardno", card.cardno.as_str()),
        ("expire", card.expire.as_str()),
        ("securitycode", card.securitycode.as_str()),
        ("holdername", card.holdername.as_str()),
    ] {
        let _ = js_sys::Reflect::set(&obj, &JsValue::from_str(k), &JsValue::from_str(v));
    }
    let win = window.clone();
    let cb_name = name.clone();
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let resolve_cb = resolve.clone();
        let cb = Closure::once_into_js(move |result: JsValue| {
            let _ = resolve_cb.call1(&JsValue::NULL, &result);
        });
        // Named like its global, for a token JS that looks the callback up by name (JSONP).
        let desc = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&desc, &"value".into(), &JsValue::from_str(&cb_name));
        let _ = js_sys::Reflect::define_property::<js_sys::Object>(
            cb.unchecked_ref(),
            &"name".into(),
            &desc,
        );
        let _ = js_sys::Reflect::set(&win, &JsValue::from_str(&cb_name), &cb);
        // GMO answers within seconds; after 30 s give up rather than hang the form.
        let timeout = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&timeout, &"resultCode".into(), &"timeout".into());
        let give_up = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &timeout);
        });
        let _ = win
            .set_timeout_with_callback_and_timeout_and_arguments_0(give_up.unchecked_ref(), 30_000);
    });
    let callback = js::get(&window, &name).unwrap_or(JsValue::UNDEFINED);
    let call = multipayment_get_token(&obj.into(), &callback);
    let result = match call {
        Ok(()) => JsFuture::from(promise).await.unwrap_or(JsValue::UNDEFINED),
        Err(_) => JsValue::UNDEFINED,
    };
    let _ = js_sys::Reflect::delete_property(&window, &JsValue::from_str(&name));
    let code = js::get_str(&result, "resultCode").ok_or(TokenError::Unavailable)?;
    if code == "timeout" {
        return Err(TokenError::Unavailable);
    }
    if code != "000" {
        return Err(TokenError::Code(code));
    }
    let token_obj = js::get(&result, "tokenObject").ok_or(TokenError::Unavailable)?;
    let token = js::get(&token_obj, "token").ok_or(TokenError::Unavailable)?;
    // With `tokennumber` GMO answers an array; we ask for one token.
    let token = token
        .as_string()
        .or_else(|| js_sys::Array::from(&token).get(0).as_string());
    token
        .filter(|t| !t.is_empty())
        .ok_or(TokenError::Unavailable)
}
