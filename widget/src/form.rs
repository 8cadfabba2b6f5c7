//! The checkout form: plain `#[component]`s, signals for the fields, an `Action` for the submit;
//! and, when the shop offers it, the Amazon Pay button beside it. Each part writes its markup
//! once as HTML (texts filled in by `data-t`, `crate::dom::translate`); render effects
//! (`crate::dom::bind`) keep the few changing parts in step with the signals.

use crate::Options;
use crate::amazon;
use crate::dom::{self, Sink, bind, bind_in, find, html, on, true_false};
use crate::edge::{self, Checkout};
use crate::events;
use crate::gmo_token::{self, CardInput, TokenError};
use crate::i18n::{self, Key, attr};
use crate::js;
use kessai_core::card::{
    CardBrand, Field, FieldProblem, Lang, check_cvc, check_expiry, check_holder, check_number,
    format_card_number, format_expiry,
};
use kessai_core::gmo::token::{TokenFailure, service_message, token_failure};
use kessai_core::jst::UnixMillis;
use kessai_core::money::Jpy;
use kessai_core::payment::{PaymentState, Phase};
use kessai_core::text::{decimal, digits_only, to_half_width};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlElement};

const ORDER: [Field; 4] = [Field::Number, Field::Expiry, Field::Cvc, Field::Holder];

fn field_id(f: Field) -> &'static str {
    match f {
        Field::Number => "kessai-card-number",
        Field::Expiry => "kessai-card-expiry",
        Field::Cvc => "kessai-card-cvc",
        Field::Holder => "kessai-card-holder",
    }
}

/// The field whose input has this id.
fn field_of_id(id: &str) -> Option<Field> {
    ORDER.into_iter().find(|f| field_id(*f) == id)
}

fn field_index(f: Field) -> usize {
    match f {
        Field::Number => 0,
        Field::Expiry => 1,
        Field::Cvc => 2,
        Field::Holder => 3,
    }
}

/// A yes/no signal, held as a `String` signal (empty: no). Every signal value type brings its
/// own copy of Leptos' reactive code into the wasm, and the widget's texts are `String` signals
/// anyway (docs/architecture.md "Widget size").
#[derive(Clone, Copy)]
struct Flag(RwSignal<String>);

impl Flag {
    fn new(on: bool) -> Self {
        Flag(RwSignal::new(Self::text(on)))
    }

    fn text(on: bool) -> String {
        if on { "1".to_string() } else { String::new() }
    }

    fn get(self) -> bool {
        !self.0.get().is_empty()
    }

    fn get_untracked(self) -> bool {
        !self.0.get_untracked().is_empty()
    }

    fn set(self, on: bool) {
        self.0.set(Self::text(on));
    }
}

/// The shopper's language, which the language buttons switch. A yes/no signal underneath
/// (Japanese or not), not a `Lang` one: every signal type brings its own copy of the reactive
/// code into the wasm, and the widget has yes/no signals anyway.
#[derive(Clone, Copy)]
struct LangSignal(Flag);

impl LangSignal {
    fn new(lang: Lang) -> Self {
        LangSignal(Flag::new(lang == Lang::Ja))
    }

    fn of(ja: bool) -> Lang {
        if ja { Lang::Ja } else { Lang::En }
    }

    fn get(self) -> Lang {
        Self::of(self.0.get())
    }

    fn get_untracked(self) -> Lang {
        Self::of(self.0.get_untracked())
    }

    fn set(self, lang: Lang) {
        self.0.set(lang == Lang::Ja);
    }
}

/// `lang`'s code, for the `lang` attribute.
fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => "ja",
        Lang::En => "en",
    }
}

/// The current JST year and month, for the expiry check.
fn this_month() -> (i32, u8) {
    let now = UnixMillis(js_sys::Date::now() as i64).to_jst();
    (now.year, now.month)
}

/// Everything the form's parts share.
#[derive(Clone, Copy)]
struct FormState {
    lang: LangSignal,
    values: [RwSignal<String>; 4],
    touched: [Flag; 4],
    submitted: Flag,
    /// A message from GMO or the edge about one field (empty: none); cleared when the shopper
    /// edits it. Every text signal of the widget is a `String`: each signal type costs its own
    /// copy of the reactive code in the wasm.
    server: [RwSignal<String>; 4],
    status: RwSignal<String>,
    /// The status is news (確認中), not a problem.
    status_info: Flag,
    busy: Flag,
    /// The saved card that pays (its CardSeq), or empty: the new card typed into the fields.
    chosen: RwSignal<String>,
    /// 「このカードを登録する」 is ticked.
    save: Flag,
    /// The 支払回数 picked (its API code); empty or `lump`: 一括.
    pay_times: RwSignal<String>,
}

impl FormState {
    fn new(lang: Lang) -> Self {
        FormState {
            lang: LangSignal::new(lang),
            values: std::array::from_fn(|_| RwSignal::new(String::new())),
            touched: std::array::from_fn(|_| Flag::new(false)),
            submitted: Flag::new(false),
            server: std::array::from_fn(|_| RwSignal::new(String::new())),
            status: RwSignal::new(String::new()),
            status_info: Flag::new(false),
            busy: Flag::new(false),
            chosen: RwSignal::new(String::new()),
            save: Flag::new(false),
            pay_times: RwSignal::new(String::new()),
        }
    }

    fn brand(&self) -> CardBrand {
        CardBrand::detect(&digits_only(&self.values[0].get()))
    }

    /// The local problem of a field (tracked).
    fn problem(&self, f: Field) -> Option<FieldProblem> {
        self.check(f).err()
    }

    /// A field checked (tracked): its value as GMO wants it, or its problem. The one place
    /// that checks, for the messages and for the submit alike (one copy in the wasm).
    fn check(&self, f: Field) -> Result<String, FieldProblem> {
        let v = self.values[field_index(f)].get();
        match f {
            Field::Number => check_number(&v),
            Field::Expiry => {
                let (y, m) = this_month();
                check_expiry(&v, y, m)
            }
            Field::Cvc => check_cvc(&v, self.brand()),
            Field::Holder => check_holder(&v),
        }
    }

    /// The card for GMO's token JS, when all four fields check out.
    fn card(&self) -> Option<CardInput> {
        let [cardno, expire, securitycode, holdername] = ORDER.map(|f| self.check(f).ok());
        Some(CardInput {
            cardno: cardno?,
            expire: expire?,
            securitycode: securitycode?,
            holdername: holdername?,
        })
    }

    /// The message to show under a field now, if any.
    fn shown_error(&self, f: Field) -> Option<String> {
        let i = field_index(f);
        let msg = self.server[i].get();
        if !msg.is_empty() {
            return Some(msg);
        }
        let p = self.problem(f)?;
        let visible = p.definite() || self.touched[i].get() || self.submitted.get();
        visible.then(|| p.message(f, self.lang.get()).to_string())
    }

    /// Puts a form-level message into the one live region.
    fn say(&self, text: &str, info: bool) {
        self.status_info.set(info);
        self.status.set(text.to_string());
    }

    /// What the shopper typed into `f` (its `input`), normalised and formatted as they go.
    /// Tells the host page (`kessai:change`) when this changes whether the form is complete or
    /// the brand: edits are the only change to the values, so no effect is needed to watch them.
    fn edit(&self, f: Field, raw: &str, input: &JsValue, host: &HtmlElement) {
        let before = self.completeness();
        let v = match f {
            Field::Number => format_card_number(raw),
            Field::Expiry => format_expiry(raw),
            Field::Cvc => {
                let max = match self.brand() {
                    CardBrand::Unknown => 4,
                    b => b.cvc_len(),
                };
                digits_only(raw).chars().take(max).collect()
            }
            Field::Holder => to_half_width(raw).to_ascii_uppercase(),
        };
        let i = field_index(f);
        if v != raw {
            js::set_str(input.unchecked_ref(), "value", &v);
        }
        self.values[i].set(v);
        self.server[i].set(String::new());
        self.status.set(String::new());
        let now = self.completeness();
        if now != before {
            emit_change(host, now);
        }
    }

    /// Whether all four fields check out, and the brand: `kessai:change`'s detail.
    fn completeness(&self) -> (bool, CardBrand) {
        (self.all_valid(), self.brand())
    }

    /// The shopper picks a saved card (`seq`, its `brand`) or, with an empty `seq`, the new card.
    /// The host page hears whether the form can pay now (`kessai:change`).
    fn choose(&self, seq: String, brand: CardBrand, host: &HtmlElement) {
        let new_card = seq.is_empty();
        self.chosen.set(seq);
        self.status.set(String::new());
        emit_change(
            host,
            if new_card {
                self.completeness()
            } else {
                (true, brand)
            },
        );
    }

    fn all_valid(&self) -> bool {
        ORDER.iter().all(|f| self.problem(*f).is_none())
    }
}

/// The whole widget: loads the checkout, then shows the form or the result. The one live region
/// (`#kessai-status`) stays in place whatever is shown above it.
#[component]
pub fn Checkout(opts: Options, host: HtmlElement) -> Element {
    let state = FormState::new(opts.lang);
    // The checkout once loaded, and a `bool` signal that says it is there (not a signal of
    // `Option<Checkout>`: one more signal type's reactive code in the wasm).
    let checkout: Rc<RefCell<Option<Rc<Checkout>>>> = Rc::default();
    let loaded = Flag::new(false);
    let unusable = Flag::new(false);
    // The paid payment's state; empty while it is not paid.
    let paid: RwSignal<String> = RwSignal::new(String::new());
    let lang = state.lang;

    // Where the card goes, and the EMV 3-D Secure consent (クレジットカード・セキュリティ
    // ガイドライン), above the form and its pay button; the link is hidden by the stylesheet
    // when the shop gave no privacy URL. The test-mode badge is empty (hidden) until the
    // checkout says test mode.
    let root = html(
        &[
            "<div class=\"kessai\"><div class=\"kessai-head\"><span class=\"kessai-title\" data-t=\"",
            attr(Key::Title),
            "\"></span><span class=\"kessai-brand\" id=\"kessai-brand\"></span><span class=\"kessai-test\"></span>\
             <span class=\"kessai-lang\" role=\"group\" aria-label=\"Language / 言語\">\
             <button type=\"button\" lang=\"ja\">日本語</button><button type=\"button\" lang=\"en\">English</button></span></div>\
             <p class=\"kessai-note\" id=\"kessai-consent\"><span data-t=\"",
            attr(Key::Secure),
            "\"></span><a href=\"\" target=\"_blank\" data-t=\"",
            attr(Key::Privacy),
            "\"></a></p><div class=\"kessai-status\" id=\"kessai-status\" role=\"status\" aria-live=\"polite\"></div></div>",
        ]
        .concat(),
    );
    // The privacy URL as an attribute, not escaped into the markup (no escaping code in the
    // wasm).
    if let Some(link) = find(&root, "a") {
        let _ = link.set_attribute("href", opts.privacy_url);
    }
    // The language: the `lang` attribute and every text of the markup.
    {
        let el = root.clone();
        bind(&root, Sink::Attr("lang"), move || {
            let l = lang.get();
            dom::translate(&el, l);
            lang_code(l).to_string()
        });
    }
    bind_in(&root, "#kessai-brand", Sink::Text, move || {
        state.brand().label().to_string()
    });
    for (selector, l) in [("[lang=ja]", Lang::Ja), ("[lang=en]", Lang::En)] {
        bind_in(&root, selector, Sink::Attr("aria-pressed"), move || {
            true_false(lang.get() == l)
        });
    }
    if let Some(buttons) = find(&root, ".kessai-lang") {
        on(&buttons, "click", move |ev| {
            match ev.target().and_then(|t| js::get_str(&t, "lang")).as_deref() {
                Some("ja") => lang.set(Lang::Ja),
                Some("en") => lang.set(Lang::En),
                _ => {}
            }
        });
    }
    let Some(status) = find(&root, "#kessai-status") else {
        return root;
    };
    bind(&status, Sink::Attr("data-tone"), move || {
        if state.status_info.get() {
            "info"
        } else {
            "error"
        }
        .to_string()
    });
    bind(&status, Sink::Text, move || state.status.get());
    let test_badge = find(&root, ".kessai-test");

    {
        let host = host.clone();
        let root_for_load = root.clone();
        let checkout_for_load = checkout.clone();
        spawn_local(async move {
            let lang = state.lang.get_untracked();
            let answer = edge::checkout(&opts).await;
            let config = match &answer {
                Ok(a) if a.status == 200 => edge::read_checkout(&a.body),
                _ => None,
            };
            let Some(config) = config else {
                // The edge's own words when it gave some (unknown payment, origin not allowed…).
                let (code, message) = match &answer {
                    Ok(a) => (
                        Some(a.error_code()).filter(|c| !c.is_empty()),
                        a.error_message(lang == Lang::Ja),
                    ),
                    Err(_) => (Some("network".to_string()), None),
                };
                let message = message.unwrap_or_else(|| i18n::text(lang, Key::LoadFailed).into());
                unusable.set(true);
                state.say(&message, false);
                let code = code.unwrap_or_else(|| "load_failed".into());
                events::emit(
                    &host,
                    "kessai:error",
                    &[("code", &code), ("message", &message)],
                );
                return;
            };
            let phase = PaymentState::parse(&config.state).map(PaymentState::phase);
            let url = config.token_js_url.clone();
            // Back from Amazon or from the card issuer's 3-D Secure page: the edge added
            // `kessai_payment` and `kessai_amazon` or `kessai_card` to this page's URL (read by
            // the loader, `Options`). Take them out, so a reload does not repeat the news.
            let ours = opts.back_payment == opts.payment_id;
            let outcome = |v: &'static str| (ours && !v.is_empty()).then(|| v.to_string());
            let amazon_outcome = outcome(opts.back_amazon);
            let card_outcome = outcome(opts.back_card);
            if ours {
                js::interop::replace_url(opts.return_url);
            }
            // This page's one Amazon Pay button, only while the payment can be paid: the
            // checkout view shows the button when `amazon` is still set.
            let mut config = config;
            if phase != Some(Phase::Open) || config.amazon.is_none() || !amazon::claim() {
                config.amazon = None;
            }
            // The customer's saved cards, before the form shows, with the first usable one (the
            // edge lists the default first) picked.
            if config.stored_cards && phase == Some(Phase::Open) {
                config.saved = edge::saved_cards(&opts).await;
                let usable = js::items(&config.saved)
                    .into_iter()
                    .find(|c| !js::get_bool(c, "expired"));
                if let Some(seq) = usable.and_then(|c| js::get_i64(&c, "card_seq")) {
                    state.chosen.set(decimal(seq, 0));
                }
            }
            if config.test_mode
                && let Some(badge) = &test_badge
            {
                let _ = badge.set_attribute("data-t", attr(Key::TestMode));
                dom::translate(&root_for_load, state.lang.get_untracked());
            }
            // Shared, not copied: the form and its submit hold the same checkout.
            let config = Rc::new(config);
            *checkout_for_load.borrow_mut() = Some(config.clone());
            loaded.set(true);
            events::emit(&host, "kessai:ready", &[("paymentId", opts.payment_id)]);
            match phase {
                Some(Phase::Paid) => {
                    // The edge's word for the method when it gives one; else what the return
                    // from Amazon says. Otherwise (a reload of an already-paid page) the detail
                    // leaves `method` out rather than guess.
                    let method = answer
                        .as_ref()
                        .ok()
                        .and_then(|a| js::get_str(&a.body, "method"))
                        .or_else(|| {
                            (amazon_outcome.as_deref() == Some("authorized"))
                                .then(|| "amazon_pay".to_string())
                        });
                    paid.set(config.state.clone());
                    let (id, st) = (
                        ("paymentId", opts.payment_id),
                        ("state", config.state.as_str()),
                    );
                    match &method {
                        Some(m) => events::emit(&host, "kessai:success", &[id, st, ("method", m)]),
                        None => events::emit(&host, "kessai:success", &[id, st]),
                    }
                }
                Some(Phase::Closed) => {
                    unusable.set(true);
                    closed(state, &host);
                }
                Some(Phase::Open) => {
                    if let (Some(outcome), Ok(a)) = (&amazon_outcome, &answer) {
                        amazon_not_paid(state, &host, outcome, a);
                    } else if let Some(outcome) = &card_outcome {
                        // 3-D Secure did not end in an authorisation; the form stays usable.
                        let (code, key) = if outcome == "declined" {
                            ("three_d_secure_failed", Key::TdsFailed)
                        } else {
                            ("not_charged", Key::NotCharged)
                        };
                        not_paid(state, &host, code, i18n::text(lang, key));
                    }
                    // Fetch GMO's script early so the first click does not wait for it.
                    let _ = gmo_token::load(&url).await;
                }
                // Another attempt is running or its outcome is being confirmed: no second one.
                Some(Phase::InFlight | Phase::Unknown) | None => {
                    state.busy.set(true);
                    settle_by_polling(state, &opts, &host, paid).await;
                }
            }
        });
    }

    // What shows between the consent and the status: the loading line, the form (and the Amazon
    // Pay section), the result, or nothing when the payment cannot be paid.
    let mut shown: Vec<Element> = Vec::new();
    let root_for_slot = root.clone();
    dom::effect(move || {
        let (unusable, st, loaded) = (unusable.get(), paid.get(), loaded.get());
        for el in shown.drain(..) {
            el.remove();
        }
        untrack(|| {
            if unusable {
            } else if !st.is_empty() {
                shown.push(PaidResult(PaidResultProps { state: st }));
            } else if loaded && let Some(c) = checkout.borrow().clone() {
                let amount = c.amount;
                let amazon = c.amazon.clone();
                shown.push(CardForm(CardFormProps {
                    state,
                    checkout: c,
                    opts,
                    host: host.clone(),
                    paid,
                }));
                if let Some(config) = amazon {
                    shown.push(AmazonSection(AmazonSectionProps {
                        lang,
                        config,
                        amount,
                        opts,
                    }));
                }
            } else {
                shown.push(html(
                    &[
                        "<p class=\"kessai-note\" data-t=\"",
                        attr(Key::Loading),
                        "\"></p>",
                    ]
                    .concat(),
                ));
            }
            for el in &shown {
                let _ = status.before_with_node_1(el);
            }
            dom::translate(&root_for_slot, lang.get_untracked());
        });
    });
    root
}

#[component]
fn PaidResult(state: String) -> Element {
    let key = match state.as_str() {
        "captured" => Key::PaidCaptured,
        "verified" => Key::Registered,
        _ => Key::PaidAuthorized,
    };
    let el = html(
        &[
            "<div class=\"kessai-result\" id=\"kessai-result\" tabindex=\"-1\" data-t=\"",
            attr(key),
            "\"></div>",
        ]
        .concat(),
    );
    // An attribute, not escaped into the markup: no escaping code in the wasm.
    let _ = el.set_attribute("data-state", &state);
    el
}

#[component]
fn TextField(
    state: FormState,
    field: Field,
    label: Key,
    hint: Key,
    autocomplete: &'static str,
    /// A name, not digits: the text keyboard and upper-case letters.
    #[prop(optional)]
    text: bool,
) -> Element {
    let id = field_id(field);
    // The hint and the error under the field, both named by aria-describedby.
    let el = html(
        &[
            "<div class=\"kessai-field\"><label for=\"",
            id,
            "\" data-t=\"",
            attr(label),
            "\"></label><input id=\"",
            id,
            "\" name=\"",
            id,
            "\" type=\"text\" autocomplete=\"",
            autocomplete,
            if text {
                "\" inputmode=\"text\" maxlength=\"50\" spellcheck=\"false\" autocapitalize=\"characters"
            } else {
                "\" inputmode=\"numeric\" maxlength=\"23\" spellcheck=\"false\" autocapitalize=\"off"
            },
            "\" aria-describedby=\"",
            id,
            "-hint ",
            id,
            "-error\"><div class=\"kessai-hint\" id=\"",
            id,
            "-hint\" data-t=\"",
            attr(hint),
            "\"></div><div class=\"kessai-error\" id=\"",
            id,
            "-error\"></div></div>",
        ]
        .concat(),
    );
    let error = move || state.shown_error(field);
    // Empty when there is none (the stylesheet hides an empty `.kessai-error`).
    bind_in(&el, "input", Sink::Attr("aria-invalid"), move || {
        true_false(error().is_some())
    });
    bind_in(&el, ".kessai-error", Sink::Text, move || {
        error().unwrap_or_default()
    });
    el
}

/// `kessai:change`, with the brand's code.
fn emit_change(host: &HtmlElement, (complete, brand): (bool, CardBrand)) {
    events::emit_change(host, complete, brand_code(brand));
}

fn brand_code(b: CardBrand) -> &'static str {
    match b {
        CardBrand::Visa => "visa",
        CardBrand::Mastercard => "mastercard",
        CardBrand::Jcb => "jcb",
        CardBrand::Amex => "amex",
        CardBrand::Diners => "diners",
        CardBrand::Discover => "discover",
        CardBrand::Unknown => "unknown",
    }
}
#[component]
fn CardForm(
    state: FormState,
    checkout: Rc<Checkout>,
    opts: Options,
    host: HtmlElement,
    paid: RwSignal<String>,
) -> Element {
    let lang = state.lang;
    let amount = Jpy::from_stored(checkout.amount).label();
    let verify = checkout.verify;
    let saved = checkout.saved.clone();
    let choices = checkout.installments.clone();
    let always_saves = checkout.saves_card;
    let offer_save = checkout.stored_cards && !always_saves;
    let saved_for_change = saved.clone();
    let has_saved = !js::items(&saved).is_empty();

    // Tell the host page whether the form is complete and the brand (never what was typed):
    // once now, then from `FormState::edit` each time one of the two changes.
    emit_change(&host, state.completeness());
    let field_host = host.clone();

    // The submit: token → edge → result. `new_unsync`: its future holds the host element and
    // JS promises, which are not `Send`; the widget runs on the page's one thread.
    // No input: the action reads the card when it starts, right after the handler below has
    // checked every field (no input event comes in between). An input of its own (the card)
    // would add one more signal type to the wasm.
    let submit = ArcAction::new_unsync(move |_: &()| {
        let checkout = checkout.clone();
        let host = host.clone();
        async move {
            if !state.chosen.get_untracked().is_empty() {
                return pay(state, &checkout, &opts, &host, None, paid).await;
            }
            match state.card() {
                Some(card) => pay(state, &checkout, &opts, &host, Some(&card), paid).await,
                None => state.busy.set(false),
            }
        }
    });

    // The saved cards (when there are any) above the new card's fields; the stylesheet hides
    // the fields (and 「このカードを登録する」) while a saved card is picked (`:has()`, no
    // binding). Below them 「このカードを登録する」 and 支払回数.
    let form = html(if has_saved {
        "<form novalidate><div class=\"kessai-saved-cards\"></div><div class=\"kessai-new\"></div><div class=\"kessai-extras\"></div>\
         <button class=\"kessai-pay\" id=\"kessai-pay\" type=\"submit\"></button></form>"
    } else {
        "<form novalidate><div class=\"kessai-new\"></div><div class=\"kessai-extras\"></div>\
         <button class=\"kessai-pay\" id=\"kessai-pay\" type=\"submit\"></button></form>"
    });
    if let Some(new_card) = find(&form, ".kessai-new") {
        let field = |field, label, hint, autocomplete, text| {
            TextField(TextFieldProps {
                state,
                field,
                label,
                hint,
                autocomplete,
                text,
            })
        };
        let row = html("<div class=\"kessai-row\"></div>");
        for el in [
            field(Field::Expiry, Key::Expiry, Key::ExpiryHint, "cc-exp", false),
            field(Field::Cvc, Key::Cvc, Key::CvcHint, "cc-csc", false),
        ] {
            let _ = row.append_child(&el);
        }
        for el in [
            field(
                Field::Number,
                Key::Number,
                Key::NumberHint,
                "cc-number",
                false,
            ),
            row,
            field(Field::Holder, Key::Holder, Key::HolderHint, "cc-name", true),
        ] {
            let _ = new_card.append_child(&el);
        }
    }
    bind_in(&form, ".kessai-saved-cards", Sink::Html, move || {
        saved_cards_html(lang.get(), &saved, &state.chosen.get_untracked())
    });
    bind_in(&form, ".kessai-extras", Sink::Html, move || {
        let lang = lang.get();
        let save = if always_saves {
            None
        } else {
            Some(offer_save && state.save.get_untracked())
        };
        extras_html(
            lang,
            save,
            offer_save,
            &choices,
            &state.pay_times.get_untracked(),
        )
    });
    if let Some(button) = find(&form, "#kessai-pay") {
        bind(&button, Sink::Busy, move || true_false(state.busy.get()));
        bind(&button, Sink::Text, move || {
            if state.busy.get() {
                i18n::text(lang.get(), Key::Paying).to_string()
            } else if verify {
                i18n::text(lang.get(), Key::Register).to_string()
            } else {
                i18n::pay_label(lang.get(), &amount)
            }
        });
    }

    // The form's one listener: the fields (typing, the end of an IME composition, leaving a
    // field), the saved-card radios, 「このカードを登録する」 and 支払回数 (`change`), and the
    // submit. Every one of these events bubbles to the form.
    on(
        &form,
        "input compositionend focusout change submit",
        move |ev| {
            let Some(target) = ev.target().map(JsValue::from) else {
                return;
            };
            let value = js::get_str(&target, "value").unwrap_or_default();
            let kind = ev.type_();
            if kind == "submit" {
                ev.prevent_default();
                return on_submit(state, &submit);
            }
            let field = js::get_str(&target, "id").as_deref().and_then(field_of_id);
            match (kind.as_str(), field) {
                // Leave an IME composition (全角入力) alone until it ends.
                ("input", Some(f)) if !js::get_bool(&ev, "isComposing") => {
                    state.edit(f, &value, &target, &field_host)
                }
                ("compositionend", Some(f)) => state.edit(f, &value, &target, &field_host),
                ("focusout", Some(f)) => state.touched[field_index(f)].set(true),
                ("change", _) => match js::get_str(&target, "name").as_deref() {
                    Some("kessai-card") => {
                        let brand = saved_brand(&saved_for_change, &value);
                        state.choose(value, brand, &field_host);
                    }
                    Some("kessai-installments") => state.pay_times.set(value),
                    Some("kessai-save-card") => state.save.set(js::get_bool(&target, "checked")),
                    _ => {}
                },
                _ => {}
            }
        },
    );
    form
}

/// The pay button (or Enter): checks the fields, then starts the payment.
fn on_submit(state: FormState, submit: &ArcAction<(), ()>) {
    // A double click (or Enter twice) never starts a second payment: `busy` is set below
    // before dispatching and holds while the action runs (every path of `pay` clears it
    // only as its last step, or keeps it when the outcome is still being confirmed). Not
    // `submit.pending()`: that memo would add its own reactive code to the wasm.
    if state.busy.get_untracked() {
        return;
    }
    // A saved card pays without the fields.
    let new_card = state.chosen.get_untracked().is_empty();
    state.submitted.set(new_card);
    let first_bad = ORDER.iter().copied().filter(|_| new_card).find(|f| {
        state.problem(*f).is_some() || !state.server[field_index(*f)].get_untracked().is_empty()
    });
    if let Some(f) = first_bad {
        state.say(i18n::text(state.lang.get_untracked(), Key::Fix), false);
        js::focus(field_id(f));
        return;
    }
    state.busy.set(true);
    state.status.set(String::new());
    submit.dispatch(());
}

/// The customer's saved cards as radio buttons (the default first), then 「新しいカードを使う」,
/// as HTML (js/interop.js `savedCardsHtml`): one text binding instead of a view per card (every
/// view type is code in the wasm; docs/architecture.md "Widget size"). An expired card is
/// listed but cannot be picked. The form's one `change` listener ([`CardForm`]) hears the
/// picks; a language switch writes it anew with the pick kept.
fn saved_cards_html(lang: Lang, cards: &JsValue, chosen: &str) -> String {
    const KEYS: &str = i18n::letters!(Key::SavedCards, Key::Expired, Key::Expiry, Key::NewCard);
    js::interop::saved_cards_html(&i18n::texts(lang), KEYS, cards, chosen)
}

/// Below the new card's fields: 「このカードを登録する」 (when `offer_save`; `save: None` when
/// the card is always saved, a 定期購入 sign-up: a note says so) and the 支払回数 picker (the
/// shop's `choices`, 一括 first; none when only 一括), as HTML (js/interop.js `extrasHtml`).
fn extras_html(
    lang: Lang,
    save: Option<bool>,
    offer_save: bool,
    choices: &JsValue,
    picked: &str,
) -> String {
    const KEYS: &str = i18n::letters!(Key::SubscriptionSave, Key::SaveCard, Key::Installments);
    js::interop::extras_html(
        &i18n::texts(lang),
        KEYS,
        save.is_none(),
        offer_save,
        save == Some(true),
        choices,
        picked,
        lang == Lang::Ja,
    )
}

/// The brand of the saved card `seq` in `saved` (the edge's list).
fn saved_brand(saved: &JsValue, seq: &str) -> CardBrand {
    js::items(saved)
        .into_iter()
        .find(|c| js::get_i64(c, "card_seq").is_some_and(|n| decimal(n, 0) == seq))
        .map_or(CardBrand::Unknown, |c| {
            brand_of_code(&js::get_str(&c, "brand").unwrap_or_default())
        })
}

/// The brand of an edge card code (`visa`, …).
fn brand_of_code(code: &str) -> CardBrand {
    [
        CardBrand::Visa,
        CardBrand::Mastercard,
        CardBrand::Jcb,
        CardBrand::Amex,
        CardBrand::Diners,
        CardBrand::Discover,
    ]
    .into_iter()
    .find(|b| brand_code(*b) == code)
    .unwrap_or(CardBrand::Unknown)
}

/// The field an edge error names. `token`: GMO's token expired or was used; the shopper
/// re-enters the card, starting with its number.
fn field_of(name: &str) -> Option<Field> {
    match name {
        "number" | "token" => Some(Field::Number),
        "expiry" => Some(Field::Expiry),
        "cvc" => Some(Field::Cvc),
        "holder" => Some(Field::Holder),
        _ => None,
    }
}

/// Token → edge → result, then tells the host page. Runs as the form's submit action.
async fn pay(
    state: FormState,
    checkout: &Checkout,
    opts: &Options,
    host: &HtmlElement,
    card: Option<&CardInput>,
    paid: RwSignal<String>,
) {
    let lang = state.lang.get_untracked();
    let fail = |code: &str, message: String| {
        state.say(&message, false);
        state.busy.set(false);
        events::emit(
            host,
            "kessai:error",
            &[("code", code), ("message", &message)],
        );
    };
    // A saved card: its CardSeq. A new card: GMO's token, and whether to save it.
    let seq = state.chosen.get_untracked();
    let (token, raw) = match card {
        None => (Ok(String::new()), [",\"card_seq\":", &seq].concat()),
        Some(card) => {
            let brand = brand_code(state.brand());
            // A card registration always saves the card.
            let raw = if !(checkout.verify || state.save.get_untracked()) {
                String::new()
            } else if brand == "unknown" {
                ",\"save_card\":true".to_string()
            } else {
                [",\"save_card\":true,\"card_brand\":\"", brand, "\""].concat()
            };
            let token = gmo_token::get_token(&checkout.token_js_url, &checkout.shop_id, card);
            (token.await, raw)
        }
    };
    let token = match token {
        Ok(t) => t,
        Err(TokenError::Code(code)) => {
            match token_failure(&code) {
                TokenFailure::Field(f, p) => {
                    let msg = p.message(f, lang).to_string();
                    state.server[field_index(f)].set(msg.clone());
                    js::focus(field_id(f));
                    fail("card_input", msg);
                }
                TokenFailure::Service { busy } => {
                    fail("token_unavailable", service_message(busy, lang).to_string())
                }
            }
            return;
        }
        Err(TokenError::Unavailable) => {
            return fail(
                "token_unavailable",
                service_message(false, lang).to_string(),
            );
        }
    };

    // With the page the issuer's 3-D Secure step sends the shopper back to (`opts.return_url`).
    let pay_times = state.pay_times.get_untracked();
    let pay_times = if pay_times == "lump" { "" } else { &pay_times };
    let answer = match edge::authorize(opts, &token, pay_times, &raw).await {
        Ok(a) => a,
        // The request may or may not have reached the edge: ask it what happened.
        Err(_) => return settle_by_polling(state, opts, host, paid).await,
    };
    // 3-D Secure: the whole page goes to the issuer's authentication (top level, not an
    // iframe: docs/architecture.md). `busy` stays set until the page is gone.
    if let Some(url) = answer.redirect_url() {
        return js::go_to(&url);
    }
    let st = answer.state();
    match answer.status {
        200 if st != "requires_action" => succeed(state, opts, host, paid, &st),
        // (A 3-D Secure answer without a usable URL: ask the edge how it ends.)
        200 | 202 | 409 if answer.error_code() != "payment_not_payable" => {
            settle_by_polling(state, opts, host, paid).await
        }
        // A 5xx that is not the edge's own answer (a proxy, a crash): it may have charged.
        s if s >= 500 && answer.error_code().is_empty() => {
            settle_by_polling(state, opts, host, paid).await
        }
        _ => {
            let message = answer
                .error_message(lang == Lang::Ja)
                .unwrap_or_else(|| i18n::text(lang, Key::Network).to_string());
            if let Some(f) = answer.error_field().as_deref().and_then(field_of) {
                state.server[field_index(f)].set(message.clone());
                js::focus(field_id(f));
            }
            let code = answer.error_code();
            fail(if code.is_empty() { "network" } else { &code }, message);
        }
    }
}

fn succeed(state: FormState, opts: &Options, host: &HtmlElement, paid: RwSignal<String>, st: &str) {
    state.busy.set(false);
    state.status.set(String::new());
    // The edge names the state of every payment it answers for; should a success come without
    // one, the result still shows (as an authorisation) rather than leaving the form waiting.
    paid.set(if st.is_empty() { "authorized" } else { st }.to_string());
    events::emit(
        host,
        "kessai:success",
        &[
            ("paymentId", opts.payment_id),
            ("state", st),
            ("method", "card"),
        ],
    );
    // The form gives way to the result: take the focus there, so it is read out.
    spawn_local(async {
        js::sleep(0).await;
        js::focus("kessai-result");
    });
}

/// The payment can no longer be paid (cancelled, expired…).
fn closed(state: FormState, host: &HtmlElement) {
    let message = i18n::text(state.lang.get_untracked(), Key::Closed);
    state.say(message, false);
    events::emit(
        host,
        "kessai:error",
        &[("code", "payment_closed"), ("message", message)],
    );
}

/// The outcome is being confirmed (or our request's answer was lost): poll the edge, which
/// reconciles with GMO, until it can tell. Never claims success or failure on a guess.
async fn settle_by_polling(
    state: FormState,
    opts: &Options,
    host: &HtmlElement,
    paid: RwSignal<String>,
) {
    let lang = state.lang.get_untracked();
    let confirming = i18n::text(lang, Key::Confirming);
    state.say(confirming, true);
    events::emit(
        host,
        "kessai:error",
        &[("code", "outcome_unknown"), ("message", confirming)],
    );
    for _ in 0..30 {
        js::sleep(2_000).await;
        let Ok(a) = edge::checkout(opts).await else {
            continue;
        };
        let st = a.state();
        match PaymentState::parse(&st).map(PaymentState::phase) {
            Some(Phase::Paid) => return succeed(state, opts, host, paid, &st),
            Some(Phase::Open) => {
                let message = i18n::text(lang, Key::NotCharged);
                state.say(message, false);
                state.busy.set(false);
                events::emit(
                    host,
                    "kessai:error",
                    &[("code", "not_charged"), ("message", message)],
                );
                return;
            }
            Some(Phase::Closed) => return closed(state, host),
            _ => {}
        }
    }
    // Keep the button disabled: paying again now could charge twice.
    let message = i18n::text(lang, Key::StillUnknown);
    state.say(message, true);
    events::emit(
        host,
        "kessai:error",
        &[("code", "still_unknown"), ("message", message)],
    );
}

/// The shopper came back from Amazon without paying: the edge's words for why (its
/// `last_error`), else ours. The card form stays usable.
fn amazon_not_paid(state: FormState, host: &HtmlElement, outcome: &str, answer: &edge::Answer) {
    let lang = state.lang.get_untracked();
    let (code, message) = answer
        .last_error(lang == Lang::Ja)
        .unwrap_or_else(|| (String::new(), None));
    let fallback = match outcome {
        "canceled" => Key::AmazonCanceled,
        _ => Key::AmazonNotPaid,
    };
    let message = message.unwrap_or_else(|| i18n::text(lang, fallback).to_string());
    let code = if code.is_empty() {
        ["amazon_", outcome].concat()
    } else {
        code
    };
    not_paid(state, host, &code, &message);
}

/// A form-level problem, told to the shopper and the host page (`kessai:error`).
fn not_paid(state: FormState, host: &HtmlElement, code: &str, message: &str) {
    state.say(message, false);
    events::emit(
        host,
        "kessai:error",
        &[("code", code), ("message", message)],
    );
}

/// 「または」 and the Amazon Pay button. Whatever fails here (checkout.js, the edge's signed
/// payload) stays a message in this section; the card form above keeps working.
#[component]
fn AmazonSection(lang: LangSignal, config: JsValue, amount: i64, opts: Options) -> Element {
    let el = html(
        &[
            "<div><div class=\"kessai-or\" data-t=\"",
            attr(Key::Or),
            "\"></div><div class=\"kessai-amazon\"><div id=\"",
            amazon::CONTAINER_ID,
            "\"></div><p class=\"kessai-note\" data-t=\"",
            attr(Key::AmazonNote),
            "\"></p><div class=\"kessai-error\" id=\"kessai-amazon-error\" role=\"alert\"></div></div></div>",
        ]
        .concat(),
    );
    // Empty while there is no problem (hidden by the stylesheet).
    let problem = find(&el, ".kessai-error");
    spawn_local(async move {
        let ja = lang.get_untracked() == Lang::Ja;
        // Amazon sends the shopper back to this page (`opts.return_url`; the edge adds kessai_*
        // on the way back).
        let answer = edge::amazon_button(&opts).await;
        let result = match &answer {
            Ok(a) if a.status == 200 => amazon::render(&config, &a.body, amount).await,
            _ => Err(JsValue::from_str("no signed button payload from the edge")),
        };
        if let Err(why) = result {
            web_sys::console::warn_2(&"kessai: Amazon Pay button not shown:".into(), &why);
            let edge_words = answer.ok().and_then(|a| a.error_message(ja));
            let text = edge_words.unwrap_or_else(|| {
                i18n::text(lang.get_untracked(), Key::AmazonUnavailable).to_string()
            });
            if let Some(problem) = &problem {
                problem.set_text_content(Some(&text));
            }
        }
    });
    el
}
