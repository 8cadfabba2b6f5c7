//! `<kessai-amazon-signin>`: the "Amazonでログイン" button. The edge signs the sign-in payload
//! (and keeps the storefront's `return_url` and `nonce` with it); Amazon's checkout.js draws the
//! button. After the shopper consents, the edge posts a signed assertion to `return_url`: the
//! buyer's profile never passes through this widget.

use crate::amazon;
use crate::edge::{self, AmazonConfig, SignedPayload};
use crate::i18n::{self, Key};
use crate::js;
use kessai_core::card::Lang;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsValue;

/// What the host page passes to `mount_amazon_signin`.
#[derive(Clone, Debug)]
pub struct SignInOptions {
    pub edge_url: String,
    pub return_url: String,
    pub nonce: String,
    pub lang: Lang,
}

impl SignInOptions {
    pub fn from_js(options: &JsValue) -> Result<SignInOptions, &'static str> {
        let text = |key| {
            js::get_str(options, key)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Ok(SignInOptions {
            edge_url: text("edgeUrl")
                .ok_or("edge-url is missing")?
                .trim_end_matches('/')
                .to_string(),
            return_url: text("returnUrl").ok_or("return-url is missing")?,
            nonce: text("nonce").ok_or("nonce is missing")?,
            lang: Lang::parse(&text("lang").unwrap_or_default()),
        })
    }
}

/// The button's container and one line for a problem.
pub fn view_signin(opts: SignInOptions) -> impl IntoView {
    // Empty while there is no problem: the widget's text signals are all `String`s.
    let problem: RwSignal<String> = RwSignal::new(String::new());
    let lang = opts.lang;
    spawn_local(async move {
        let url = [&opts.edge_url, "/v1/amazon-pay/signin-button"].concat();
        let body = edge::json_body(&[("return_url", &opts.return_url), ("nonce", &opts.nonce)]);
        // No client secret: the edge checks this page's Origin against the shop's origins.
        let answer = edge::fetch("POST", &url, None, Some(body)).await;
        let ready = match &answer {
            Ok(a) if a.status == 200 => {
                SignedPayload::read(&a.body).zip(AmazonConfig::read(&a.body))
            }
            _ => None,
        };
        let result = match ready {
            Some((signed, config)) => {
                amazon::render(amazon::Kind::SignIn, &config, &signed, None).await
            }
            None => Err(JsValue::from_str("no signed sign-in payload from the edge")),
        };
        if let Err(why) = result {
            web_sys::console::warn_2(&"kessai: Amazon sign-in button not shown:".into(), &why);
            let edge_words = answer.ok().and_then(|a| a.error_message(lang == Lang::Ja));
            problem
                .set(edge_words.unwrap_or_else(|| i18n::text(lang, Key::SignInUnavailable).into()));
        }
    });
    view! {
        <div class="kessai kessai-signin" lang=if lang == Lang::Ja { "ja" } else { "en" }>
            <div id=amazon::Kind::SignIn.container_id()></div>
            <div class="kessai-status" id="kessai-signin-status" role="status" aria-live="polite">
                {crate::form::live_text(move || problem.get())}
            </div>
        </div>
    }
}
