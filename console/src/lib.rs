//! kessai operator console (管理画面): ログイン, 受注一覧 and 決済詳細 with the payment
//! operations (売上確定, 金額変更, 取消/返品/月跨返品, 返金, 再照会, エラーを無視して変更する),
//! 定期購入 (list, detail, 一時停止 / 再開 / 解約) and 不正検知.
//!
//! Static files served by the edge under `/console/`; every call goes to the same edge with the
//! operator's session cookie (HttpOnly) and the `X-Kessai-Console: 1` header. The edge decides
//! everything (plans, JST classification, expiry); the console shows what it answers, in
//! Japanese, and never guesses an outcome: after an unanswered call it says so and reloads.

mod api;
mod detail;
mod fmt;
mod fraud;
mod list;
mod subs;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

/// The operator's session as the page knows it: `None` while asking the edge, `Some(None)`
/// logged out, `Some(Some(name))` logged in.
pub type Session = RwSignal<Option<Option<String>>>;

#[derive(Clone, Debug, PartialEq)]
enum Route {
    List,
    Payment(String),
    /// 不正検知 (`#/fraud`).
    Fraud,
    /// 定期購入 (`#/subscriptions`).
    Subscriptions,
    /// 定期購入詳細 (`#/subscriptions/<id>`).
    Subscription(String),
}

/// An id in a route: what the edge generates (`pay_…`, `sub_…`), nothing to escape.
fn route_id(id: &str) -> Option<String> {
    (!id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| id.to_string())
}

/// `#/payments/<id>` → the payment page, `#/subscriptions[/<id>]` → 定期購入; anything else →
/// 受注一覧.
fn route_of(hash: &str) -> Route {
    let path = hash.trim_start_matches('#');
    match path {
        "/fraud" => return Route::Fraud,
        "/subscriptions" => return Route::Subscriptions,
        _ => {}
    }
    if let Some(id) = path.strip_prefix("/subscriptions/").and_then(route_id) {
        return Route::Subscription(id);
    }
    path.strip_prefix("/payments/")
        .and_then(route_id)
        .map(Route::Payment)
        .unwrap_or(Route::List)
}

fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// Starts the console on the page (called by js/console.js).
#[wasm_bindgen]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let session: Session = RwSignal::new(None);
    let route = RwSignal::new(route_of(&current_hash()));
    // The listener lives as long as the page.
    let _ = window_event_listener(leptos::ev::hashchange, move |_| {
        route.set(route_of(&current_hash()))
    });
    spawn_local(async move {
        let who = match api::call("GET", "/console/api/me", None).await {
            Ok(a) if a.ok() => a.body["operator"].as_str().map(str::to_string),
            Ok(_) | Err(_) => None,
        };
        session.set(Some(who));
    });
    move || match session.get() {
        None => view! { <p class="loading">"読み込み中…"</p> }.into_any(),
        Some(None) => view! { <Login session/> }.into_any(),
        Some(Some(name)) => view! { <Shell name session route/> }.into_any(),
    }
}

#[component]
fn Login(session: Session) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = Action::new_unsync(move |_: &()| {
        let body = serde_json::json!({ "name": name.get_untracked(), "password": password.get_untracked() });
        async move {
            match api::call("POST", "/console/api/login", Some(body)).await {
                Ok(a) if a.ok() => {
                    password.set(String::new());
                    session.set(Some(a.body["operator"].as_str().map(str::to_string)));
                }
                Ok(a) => error.set(Some(a.error_ja())),
                Err(e) => error.set(Some(e)),
            }
        }
    });
    view! {
        <main class="login card">
            <h1>"kessai 管理画面 ログイン"</h1>
            <form on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                error.set(None);
                submit.dispatch(());
            }>
                <label>"ログインID"
                    <input id="login-name" autocomplete="username" required
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label>"パスワード"
                    <input id="login-password" type="password" autocomplete="current-password" required
                        prop:value=move || password.get()
                        on:input=move |ev| password.set(event_target_value(&ev))/>
                </label>
                <button id="login-submit" type="submit" disabled=move || submit.pending().get()>
                    "ログイン"
                </button>
            </form>
            {move || error.get().map(|e| view! { <p class="error" id="login-error" role="alert">{e}</p> })}
        </main>
    }
}

#[component]
fn Shell(name: String, session: Session, route: RwSignal<Route>) -> impl IntoView {
    let logout = move |_| {
        spawn_local(async move {
            // Whatever the answer, the page forgets the session (the cookie is HttpOnly).
            let _ = api::call("POST", "/console/api/logout", None).await;
            session.set(Some(None));
        });
    };
    view! {
        <header>
            <nav>
                <a href="#/" id="nav-list">"kessai 管理画面 — 受注一覧"</a>" "
                <a href="#/subscriptions" id="nav-subscriptions">"定期購入"</a>" "
                <a href="#/fraud" id="nav-fraud">"不正検知"</a>
            </nav>
            <span>
                <span id="operator-name">{name}</span>" "
                <button id="logout" on:click=logout>"ログアウト"</button>
            </span>
        </header>
        <main>
            {move || match route.get() {
                Route::List => view! { <list::OrderList session/> }.into_any(),
                Route::Payment(id) => view! { <detail::PaymentDetail id session/> }.into_any(),
                Route::Fraud => view! { <fraud::FraudList session/> }.into_any(),
                Route::Subscriptions => view! { <subs::SubscriptionList session/> }.into_any(),
                Route::Subscription(id) => view! { <subs::SubscriptionDetail id session/> }.into_any(),
            }}
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_come_from_the_hash() {
        assert_eq!(route_of(""), Route::List);
        assert_eq!(route_of("#/"), Route::List);
        assert_eq!(
            route_of("#/payments/pay_0a1b"),
            Route::Payment("pay_0a1b".into())
        );
        assert_eq!(route_of("#/payments/../x"), Route::List);
        assert_eq!(route_of("#/payments/"), Route::List);
        assert_eq!(route_of("#/fraud"), Route::Fraud);
        assert_eq!(route_of("#/subscriptions"), Route::Subscriptions);
        assert_eq!(
            route_of("#/subscriptions/sub_0a1b"),
            Route::Subscription("sub_0a1b".into())
        );
        assert_eq!(route_of("#/subscriptions/a/b"), Route::List);
    }
}
