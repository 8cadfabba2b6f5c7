//! kessai widget: the card form a storefront embeds with one script tag, with the Amazon Pay
//! button beside it when the shop offers it, and the "Amazonでログイン" button
//! (`<kessai-amazon-signin>`).
//!
//! Card number, expiry, CVC and holder name go from the shopper's keyboard to GMO's token JS
//! only (トークン決済 / カード情報非通過); the edge receives the single-use token and nothing else.
//! The widget never panics on the host page: every JS, network and JSON failure becomes a
//! message in the form and a `kessai:error` event.

mod amazon;
mod edge;
mod events;
mod form;
mod gmo_token;
mod i18n;
mod js;
mod signin;

use kessai_core::card::Lang;
use wasm_bindgen::prelude::*;

/// What the host page passes to [`mount`]. Read once per element, its texts leaked (`&'static
/// str`): `Options` is `Copy`, with no clone and drop code wherever a closure or a future takes it.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub client_secret: &'static str,
    pub payment_id: &'static str,
    pub edge_url: &'static str,
    pub lang: Lang,
    /// The shop's privacy policy (`data-privacy-url`), linked from the 3-D Secure consent notice;
    /// empty when none or not http(s).
    pub privacy_url: &'static str,
    /// This page without kessai's own `kessai_*` parameters, read once at mount: where Amazon and
    /// the card issuer's 3-D Secure page send the shopper back.
    pub return_url: &'static str,
}

impl Options {
    fn from_js(options: &JsValue) -> Result<Options, &'static str> {
        let client_secret = js::get_str(options, "clientSecret").unwrap_or_default();
        let payment_id = kessai_core::payment::payment_id_of_secret(&client_secret)
            .ok_or("client-secret is missing or malformed")?
            .to_string()
            .leak();
        let client_secret = client_secret.trim().to_string().leak();
        let edge_url = js::get_str(options, "edgeUrl")
            .filter(|u| !u.is_empty())
            .ok_or("edge-url is missing")?
            .trim_end_matches('/')
            .to_string()
            .leak();
        let lang = Lang::parse(&js::get_str(options, "lang").unwrap_or_default());
        let privacy_url = js::get_str(options, "privacyUrl")
            .filter(|u| js::is_http_url(u))
            .unwrap_or_default()
            .leak();
        let return_url = js::without_kessai_params(&js::location_href().unwrap_or_default()).leak();
        Ok(Options {
            client_secret,
            payment_id,
            edge_url,
            lang,
            privacy_url,
            return_url,
        })
    }
}

/// Mounts the card form into `host`.
/// `options`: `{clientSecret, edgeUrl, lang?: "ja" | "en", privacyUrl?}`.
#[wasm_bindgen]
pub fn mount(host: web_sys::HtmlElement, options: JsValue) {
    match Options::from_js(&options) {
        Ok(opts) => {
            // Replaces a placeholder the page may have put inside the element.
            host.replace_children_with_node_0();
            let target = host.clone();
            leptos::mount::mount_to(host, move || form::view_checkout(opts, target)).forget();
        }
        Err(why) => {
            host.set_text_content(Some(i18n::text(Lang::Ja, i18n::Key::Misconfigured)));
            events::emit(
                &host,
                "kessai:error",
                &[("code", "misconfigured"), ("message", why)],
            );
            web_sys::console::error_2(&"kessai:".into(), &why.into());
        }
    }
}

/// Mounts the "Amazonでログイン" button into `host`.
/// `options`: `{edgeUrl, returnUrl, nonce, lang?: "ja" | "en"}`. Only the first such element of a
/// page shows a button.
#[wasm_bindgen]
pub fn mount_amazon_signin(host: web_sys::HtmlElement, options: JsValue) {
    match signin::SignInOptions::from_js(&options) {
        Ok(opts) => {
            host.replace_children_with_node_0();
            if amazon::claim(amazon::Kind::SignIn) {
                leptos::mount::mount_to(host, move || signin::view_signin(opts)).forget();
            }
        }
        Err(why) => {
            host.set_text_content(Some(i18n::text(Lang::Ja, i18n::Key::SignInUnavailable)));
            events::emit(
                &host,
                "kessai:error",
                &[("code", "misconfigured"), ("message", why)],
            );
            web_sys::console::error_2(&"kessai:".into(), &why.into());
        }
    }
}
