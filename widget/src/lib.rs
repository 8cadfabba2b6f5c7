//! kessai widget: the card form a storefront embeds with one script tag, with the Amazon Pay
//! button beside it when the shop offers it. (The "Amazonでログイン" button,
//! `<kessai-amazon-signin>`, is plain JS: widget/js/signin.js.)
//!
//! Card number, expiry, CVC and holder name go from the shopper's keyboard to GMO's token JS
//! only (トークン決済 / カード情報非通過); the edge receives the single-use token and nothing else.
//! The widget never panics on the host page: every JS, network and JSON failure becomes a
//! message in the form and a `kessai:error` event.

mod amazon;
mod dom;
mod edge;
mod events;
mod form;
mod gmo_token;
mod i18n;
mod js;

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
    /// empty when none or not http(s) (the loader checks).
    pub privacy_url: &'static str,
    /// This page without kessai's own `kessai_*` parameters, read once by the loader: where Amazon
    /// and the card issuer's 3-D Secure page send the shopper back.
    pub return_url: &'static str,
    /// On a return from Amazon or 3-D Secure, the `kessai_payment`, `kessai_amazon` and
    /// `kessai_card` parameters of this page's URL (read by the loader); empty otherwise.
    pub back_payment: &'static str,
    pub back_amazon: &'static str,
    pub back_card: &'static str,
}

impl Options {
    fn from_js(options: &JsValue) -> Result<Options, &'static str> {
        let text = |key| js::get_str(options, key).unwrap_or_default().leak() as &'static str;
        // Trimmed by the loader (js/kessai.js).
        let client_secret = text("clientSecret");
        let payment_id = kessai_core::payment::payment_id_of_secret(client_secret)
            .ok_or("client-secret is missing or malformed")?;
        let edge_url = Some(text("edgeUrl"))
            .filter(|u| !u.is_empty())
            .ok_or("edge-url is missing")?;
        Ok(Options {
            client_secret,
            payment_id,
            edge_url,
            lang: Lang::parse(text("lang")),
            privacy_url: text("privacyUrl"),
            return_url: text("returnUrl"),
            back_payment: text("backPayment"),
            back_amazon: text("backAmazon"),
            back_card: text("backCard"),
        })
    }
}

/// Mounts the card form into `host`.
/// `options`: `{clientSecret, edgeUrl, lang?: "ja" | "en", privacyUrl, returnUrl, backPayment,
/// backAmazon, backCard}` (js/kessai.js).
#[wasm_bindgen]
pub fn mount(host: web_sys::HtmlElement, options: JsValue) {
    match Options::from_js(&options) {
        Ok(opts) => {
            // Replaces a placeholder the page may have put inside the element.
            host.replace_children_with_node_0();
            // The view is the component's own markup, appended by hand: Leptos runs the
            // components, signals and effects under the mount's owner (`crate::dom`).
            let parent = host.clone();
            leptos::mount::mount_to(parent, move || {
                let root = form::Checkout(form::CheckoutProps {
                    opts,
                    host: host.clone(),
                });
                let _ = host.append_child(&root);
            })
            .forget();
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
