//! The widget's DOM, by hand: each part's markup is written as HTML once ([`html`]), and the few
//! things that change are bound to signals by render effects ([`bind`]). A `view!` tree
//! monomorphises building, mounting and updating code for every element and attribute type in
//! it; the widget's whole view came to about a third of the wasm (docs/architecture.md "Widget
//! size").

use crate::i18n;
use kessai_core::card::Lang;
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use web_sys::{Element, Event};

mod interop {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/js/interop.js")]
    extern "C" {
        pub fn html(markup: &str) -> web_sys::Element;
        pub fn translate(root: &web_sys::Element, texts: &js_sys::Array);
        pub fn listen(
            target: &web_sys::Element,
            types: &str,
            listener: &Closure<dyn FnMut(web_sys::Event)>,
        );
    }
}

/// The element `markup` makes (its first).
pub fn html(markup: &str) -> Element {
    interop::html(markup)
}

/// The first element under `root` matching `selector`.
pub fn find(root: &Element, selector: &str) -> Option<Element> {
    root.query_selector(selector).ok().flatten()
}

/// Calls `listener` for each event of `types` (space-separated) at `target`, for the page's
/// life.
pub fn on(target: &Element, types: &str, listener: impl FnMut(Event) + 'static) {
    let listener = Closure::<dyn FnMut(Event)>::new(listener);
    interop::listen(target, types, &listener);
    listener.forget();
}

/// Runs `f` now and again whenever a signal it read changes, for the page's life. One render
/// effect type for the whole widget (each closure boxed before it is handed over).
pub fn effect(f: impl FnMut() + 'static) {
    effect_boxed(Box::new(f));
}

fn effect_boxed(mut f: Box<dyn FnMut()>) {
    std::mem::forget(RenderEffect::new(move |_: Option<()>| f()));
}

/// Where a binding puts its text.
#[derive(Clone, Copy)]
pub enum Sink {
    Text,
    Html,
    Attr(&'static str),
    /// The pay button: `aria-busy` and `disabled`, from `"true"` / `"false"`.
    Busy,
}

/// `el`'s text, markup or attribute follows `f`: written at once and whenever the text `f`
/// makes changes.
pub fn bind(el: &Element, sink: Sink, f: impl FnMut() -> String + 'static) {
    bind_boxed(el.clone(), sink, Box::new(f));
}

fn bind_boxed(el: Element, sink: Sink, mut f: Box<dyn FnMut() -> String>) {
    let mut shown: Option<String> = None;
    effect(move || {
        let now = f();
        if shown.as_ref() == Some(&now) {
            return;
        }
        match sink {
            Sink::Text => el.set_text_content(Some(&now)),
            Sink::Html => el.set_inner_html(&now),
            Sink::Attr(name) => {
                let _ = el.set_attribute(name, &now);
            }
            Sink::Busy => {
                let _ = el.set_attribute("aria-busy", &now);
                let _ = el.toggle_attribute_with_force("disabled", now == "true");
            }
        }
        shown = Some(now);
    });
}

/// The same, for the first element under `root` matching `selector` (none: nothing to bind).
pub fn bind_in(root: &Element, selector: &str, sink: Sink, f: impl FnMut() -> String + 'static) {
    if let Some(el) = find(root, selector) {
        bind_boxed(el, sink, Box::new(f));
    }
}

/// Fills every `data-t` element under `root` with its text in `lang` (i18n; js/interop.js
/// looks each up in the language's texts, [`i18n::texts`]).
pub fn translate(root: &Element, lang: Lang) {
    interop::translate(root, &i18n::texts(lang));
}

/// An ARIA state's value.
pub fn true_false(on: bool) -> String {
    if on { "true" } else { "false" }.to_string()
}
