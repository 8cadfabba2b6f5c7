//! The checkout form: plain `#[component]`s, signals for the fields, an `Action` for the submit.

use crate::Options;
use crate::edge::{self, Checkout};
use crate::events;
use crate::gmo_token::{self, CardInput, TokenError};
use crate::i18n::{self, Key};
use crate::js;
use kessai_core::card::{
    CardBrand, Field, FieldProblem, Lang, check_cvc, check_expiry, check_holder, check_number,
    format_card_number, format_expiry,
};
use kessai_core::gmo::token::{TokenFailure, service_message, token_failure};
use kessai_core::jst::UnixMillis;
use kessai_core::money::Jpy;
use kessai_core::text::digits_only;
use leptos::either::EitherOf4;
use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::HtmlElement;

const ORDER: [Field; 4] = [Field::Number, Field::Expiry, Field::Cvc, Field::Holder];

fn field_id(f: Field) -> &'static str {
    match f {
        Field::Number => "kessai-card-number",
        Field::Expiry => "kessai-card-expiry",
        Field::Cvc => "kessai-card-cvc",
        Field::Holder => "kessai-card-holder",
    }
}

fn field_index(f: Field) -> usize {
    match f {
        Field::Number => 0,
        Field::Expiry => 1,
        Field::Cvc => 2,
        Field::Holder => 3,
    }
}

/// A text that follows the language switch. One function, so every use shares one closure type
/// (and one copy of the reactive code behind it in the wasm).
fn tr(lang: RwSignal<Lang>, key: Key) -> impl IntoView + use<> {
    move || i18n::text(lang.get(), key)
}

/// The current JST year and month, for the expiry check.
fn this_month() -> (i32, u8) {
    let now = UnixMillis(js_sys::Date::now() as i64).to_jst();
    (now.year, now.month)
}

/// Everything the form's parts share.
#[derive(Clone, Copy)]
struct FormState {
    lang: RwSignal<Lang>,
    values: [RwSignal<String>; 4],
    touched: [RwSignal<bool>; 4],
    submitted: RwSignal<bool>,
    /// A message from GMO or the edge about one field; cleared when the shopper edits it.
    server: [RwSignal<Option<String>>; 4],
    status: RwSignal<String>,
    busy: RwSignal<bool>,
}

impl FormState {
    fn new(lang: Lang) -> Self {
        FormState {
            lang: RwSignal::new(lang),
            values: std::array::from_fn(|_| RwSignal::new(String::new())),
            touched: std::array::from_fn(|_| RwSignal::new(false)),
            submitted: RwSignal::new(false),
            server: std::array::from_fn(|_| RwSignal::new(None)),
            status: RwSignal::new(String::new()),
            busy: RwSignal::new(false),
        }
    }

    fn brand(&self) -> CardBrand {
        CardBrand::detect(&digits_only(&self.values[0].get()))
    }

    /// The local problem of a field (tracked).
    fn problem(&self, f: Field) -> Option<FieldProblem> {
        let v = self.values[field_index(f)].get();
        match f {
            Field::Number => check_number(&v).err(),
            Field::Expiry => {
                let (y, m) = this_month();
                check_expiry(&v, y, m).err()
            }
            Field::Cvc => check_cvc(&v, self.brand()).err(),
            Field::Holder => check_holder(&v).err(),
        }
    }

    /// The message to show under a field now, if any.
    fn shown_error(&self, f: Field) -> Option<String> {
        let i = field_index(f);
        if let Some(msg) = self.server[i].get() {
            return Some(msg);
        }
        let p = self.problem(f)?;
        let visible = p.definite() || self.touched[i].get() || self.submitted.get();
        visible.then(|| p.message(f, self.lang.get()).to_string())
    }

    fn all_valid(&self) -> bool {
        ORDER.iter().all(|f| self.problem(*f).is_none())
    }
}

/// The whole widget: loads the checkout, then shows the form or the result.
pub fn view_checkout(opts: Options, host: HtmlElement) -> impl IntoView {
    let state = FormState::new(opts.lang);
    let checkout: RwSignal<Option<Checkout>> = RwSignal::new(None);
    let load_failed = RwSignal::new(false);
    let paid: RwSignal<Option<String>> = RwSignal::new(None);

    {
        let opts = opts.clone();
        let host = host.clone();
        spawn_local(async move {
            let config = match edge::checkout(&opts).await {
                Ok(a) if a.status == 200 => edge::read_checkout(&a.body),
                _ => None,
            };
            let Some(config) = config else {
                load_failed.set(true);
                events::emit(
                    &host,
                    "kessai:error",
                    &[
                        ("code", "load_failed"),
                        ("message", "checkout could not be loaded"),
                    ],
                );
                return;
            };
            if matches!(config.state.as_str(), "authorized" | "captured") {
                paid.set(Some(config.state.clone()));
            }
            let url = config.token_js_url.clone();
            checkout.set(Some(config));
            events::emit(&host, "kessai:ready", &[("paymentId", &opts.payment_id)]);
            // Fetch GMO's script early so the first click does not wait for it.
            let _ = gmo_token::load(&url).await;
        });
    }

    let lang = state.lang;
    view! {
        <div class="kessai" lang=move || if lang.get() == Lang::Ja { "ja" } else { "en" }>
            <Header state=state checkout=checkout/>
            {move || {
                if load_failed.get() {
                    EitherOf4::A(view! { <p class="kessai-status" role="alert">{tr(lang, Key::LoadFailed)}</p> })
                } else if let Some(st) = paid.get() {
                    EitherOf4::B(view! { <PaidResult lang=lang state=st/> })
                } else if let Some(c) = checkout.get() {
                    EitherOf4::C(view! { <CardForm state=state checkout=c opts=opts.clone() host=host.clone() paid=paid/> })
                } else {
                    EitherOf4::D(view! { <p class="kessai-note">{tr(lang, Key::Loading)}</p> })
                }
            }}
        </div>
    }
}

#[component]
fn Header(state: FormState, checkout: RwSignal<Option<Checkout>>) -> impl IntoView {
    let lang = state.lang;
    let brand = move || state.brand().label();
    let test_mode = move || checkout.get().is_some_and(|c| c.test_mode);
    view! {
        <div class="kessai-head">
            <span>
                <span class="kessai-title">{tr(lang, Key::Title)}</span>
                <span class="kessai-brand" id="kessai-brand">{brand}</span>
                {move || test_mode().then(|| view! { <span class="kessai-test">{i18n::text(lang.get(), Key::TestMode)}</span> })}
            </span>
            <span class="kessai-lang" role="group" aria-label="Language">
                <button type="button" aria-pressed=move || (lang.get() == Lang::Ja).to_string()
                    on:click=move |_| lang.set(Lang::Ja)>"日本語"</button>
                <button type="button" aria-pressed=move || (lang.get() == Lang::En).to_string()
                    on:click=move |_| lang.set(Lang::En)>"English"</button>
            </span>
        </div>
    }
}

#[component]
fn PaidResult(lang: RwSignal<Lang>, state: String) -> impl IntoView {
    let key = if state == "captured" {
        Key::PaidCaptured
    } else {
        Key::PaidAuthorized
    };
    view! { <div class="kessai-result" id="kessai-result" role="status">{move || i18n::text(lang.get(), key)}</div> }
}

#[component]
fn TextField(
    state: FormState,
    field: Field,
    label: Key,
    hint: Key,
    autocomplete: &'static str,
    numeric: bool,
    format: fn(&str) -> String,
    #[prop(optional)] maxlength: Option<u32>,
) -> impl IntoView {
    let i = field_index(field);
    let id = field_id(field);
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = format!("{hint_id} {error_id}");
    let lang = state.lang;
    let value = state.values[i];
    let error = move || state.shown_error(field);
    view! {
        <div class="kessai-field">
            <label for=id>{tr(lang, label)}</label>
            <input
                id=id
                name=id
                type="text"
                autocomplete=autocomplete
                inputmode=if numeric { "numeric" } else { "text" }
                maxlength=maxlength
                spellcheck="false"
                aria-describedby=described
                aria-invalid=move || error().is_some().to_string()
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(format(&event_target_value(&ev)));
                    state.server[i].set(None);
                    state.status.set(String::new());
                }
                on:blur=move |_| state.touched[i].set(true)
            />
            <div class="kessai-hint" id=hint_id>{tr(lang, hint)}</div>
            <div class="kessai-error" id=error_id>{error}</div>
        </div>
    }
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

fn keep(s: &str) -> String {
    s.to_string()
}

fn cvc_format(s: &str) -> String {
    digits_only(s).chars().take(4).collect()
}

/// What the submit sends to GMO's token JS.
#[derive(Clone)]
struct Submit {
    card: std::sync::Arc<SubmitCard>,
}

struct SubmitCard {
    cardno: String,
    expire: String,
    securitycode: String,
    holdername: String,
}

#[component]
fn CardForm(
    state: FormState,
    checkout: Checkout,
    opts: Options,
    host: HtmlElement,
    paid: RwSignal<Option<String>>,
) -> impl IntoView {
    let lang = state.lang;
    let amount = Jpy::from_stored(checkout.amount).to_string();

    // Tell the host page whether the form is complete (never what was typed).
    {
        let host = host.clone();
        Effect::new(move |_| {
            let complete = state.all_valid();
            let brand = brand_code(state.brand());
            events::emit(
                &host,
                "kessai:change",
                &[
                    ("complete", if complete { "true" } else { "false" }),
                    ("brand", brand),
                ],
            );
        });
    }

    let submit = Action::new_unsync(move |input: &Submit| {
        let card = input.card.clone();
        let checkout = checkout.clone();
        let opts = opts.clone();
        let host = host.clone();
        async move { pay(state, &checkout, &opts, &host, &card, paid).await }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        // A double click (or Enter twice) never starts a second payment.
        if state.busy.get_untracked() {
            return;
        }
        state.submitted.set(true);
        let first_bad = ORDER.iter().copied().find(|f| {
            state.problem(*f).is_some() || state.server[field_index(*f)].get_untracked().is_some()
        });
        if let Some(f) = first_bad {
            state
                .status
                .set(i18n::text(lang.get_untracked(), Key::Fix).to_string());
            js::focus(field_id(f));
            return;
        }
        let v = |f: Field| state.values[field_index(f)].get_untracked();
        let (y, m) = this_month();
        let (Ok(cardno), Ok(expire), Ok(securitycode), Ok(holdername)) = (
            check_number(&v(Field::Number)),
            check_expiry(&v(Field::Expiry), y, m),
            check_cvc(&v(Field::Cvc), state.brand()),
            check_holder(&v(Field::Holder)),
        ) else {
            return;
        };
        state.busy.set(true);
        state.status.set(String::new());
        submit.dispatch(Submit {
            card: std::sync::Arc::new(SubmitCard {
                cardno,
                expire,
                securitycode,
                holdername,
            }),
        });
    };

    let label = move || {
        if state.busy.get() {
            i18n::text(lang.get(), Key::Paying).to_string()
        } else {
            i18n::pay_label(lang.get(), &amount)
        }
    };
    view! {
        <form novalidate on:submit=on_submit>
            <TextField state=state field=Field::Number label=Key::Number hint=Key::NumberHint autocomplete="cc-number" numeric=true format=format_card_number maxlength=23/>
            <div class="kessai-row">
                <TextField state=state field=Field::Expiry label=Key::Expiry hint=Key::ExpiryHint autocomplete="cc-exp" numeric=true format=format_expiry maxlength=7/>
                <TextField state=state field=Field::Cvc label=Key::Cvc hint=Key::CvcHint autocomplete="cc-csc" numeric=true format=cvc_format maxlength=4/>
            </div>
            <TextField state=state field=Field::Holder label=Key::Holder hint=Key::HolderHint autocomplete="cc-name" numeric=false format=keep maxlength=50/>
            <button class="kessai-pay" id="kessai-pay" type="submit" disabled=move || state.busy.get() aria-busy=move || state.busy.get().to_string()>
                {label}
            </button>
            <div class="kessai-status" id="kessai-status" role="status" aria-live="polite">{move || state.status.get()}</div>
            <p class="kessai-note">{tr(lang, Key::Secure)}</p>
        </form>
    }
}

fn field_of(name: &str) -> Option<Field> {
    match name {
        "number" => Some(Field::Number),
        "expiry" => Some(Field::Expiry),
        "cvc" => Some(Field::Cvc),
        _ => None,
    }
}

/// Token → edge → result, then tells the host page. Runs as the form's submit action.
async fn pay(
    state: FormState,
    checkout: &Checkout,
    opts: &Options,
    host: &HtmlElement,
    card: &SubmitCard,
    paid: RwSignal<Option<String>>,
) {
    let lang = state.lang.get_untracked();
    let fail = |code: &str, message: String| {
        state.status.set(message.clone());
        state.busy.set(false);
        events::emit(
            host,
            "kessai:error",
            &[("code", code), ("message", &message)],
        );
    };
    let input = CardInput {
        cardno: card.cardno.clone(),
        expire: card.expire.clone(),
        securitycode: card.securitycode.clone(),
        holdername: card.holdername.clone(),
    };
    let token = match gmo_token::load(&checkout.token_js_url).await {
        Ok(()) => gmo_token::get_token(&checkout.shop_id, &input).await,
        Err(e) => Err(e),
    };
    let token = match token {
        Ok(t) => t,
        Err(TokenError::Code(code)) => {
            match token_failure(&code) {
                TokenFailure::Field(f, p) => {
                    let msg = p.message(f, lang).to_string();
                    state.server[field_index(f)].set(Some(msg.clone()));
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

    let answer = match edge::authorize(opts, &token).await {
        Ok(a) => a,
        // The request may or may not have reached the edge: ask it what happened.
        Err(_) => return settle_by_polling(state, opts, host, paid).await,
    };
    match answer.status {
        200 => succeed(state, opts, host, paid, &answer.state()),
        202 | 409 if answer.error_code() != "payment_not_payable" => {
            settle_by_polling(state, opts, host, paid).await
        }
        _ => {
            let ja = lang == Lang::Ja;
            let message = answer
                .error_message(ja)
                .unwrap_or_else(|| i18n::text(lang, Key::Network).to_string());
            if let Some(f) = answer.error_field().as_deref().and_then(field_of) {
                state.server[field_index(f)].set(Some(message.clone()));
                js::focus(field_id(f));
            }
            fail(&answer.error_code(), message);
        }
    }
}

fn succeed(
    state: FormState,
    opts: &Options,
    host: &HtmlElement,
    paid: RwSignal<Option<String>>,
    st: &str,
) {
    state.busy.set(false);
    paid.set(Some(st.to_string()));
    events::emit(
        host,
        "kessai:success",
        &[("paymentId", &opts.payment_id), ("state", st)],
    );
}

/// The outcome is being confirmed (or our request's answer was lost): poll the edge, which
/// reconciles with GMO, until it can tell. Never claims success or failure on a guess.
async fn settle_by_polling(
    state: FormState,
    opts: &Options,
    host: &HtmlElement,
    paid: RwSignal<Option<String>>,
) {
    let lang = state.lang.get_untracked();
    state
        .status
        .set(i18n::text(lang, Key::Confirming).to_string());
    for _ in 0..30 {
        js::sleep(2_000).await;
        let Ok(a) = edge::checkout(opts).await else {
            continue;
        };
        match a.state().as_str() {
            "authorized" | "captured" => return succeed(state, opts, host, paid, &a.state()),
            "requires_payment" => {
                state
                    .status
                    .set(i18n::text(lang, Key::NotCharged).to_string());
                state.busy.set(false);
                events::emit(
                    host,
                    "kessai:error",
                    &[
                        ("code", "not_charged"),
                        ("message", i18n::text(lang, Key::NotCharged)),
                    ],
                );
                return;
            }
            _ => {}
        }
    }
    // Keep the button disabled: paying again now could charge twice.
    state
        .status
        .set(i18n::text(lang, Key::StillUnknown).to_string());
    events::emit(
        host,
        "kessai:error",
        &[
            ("code", "outcome_unknown"),
            ("message", i18n::text(lang, Key::StillUnknown)),
        ],
    );
}
