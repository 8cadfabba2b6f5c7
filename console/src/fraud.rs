//! 不正検知 (card testing, issue #13): payments locked after too many card attempts and client IPs
//! over their failure limit in the last 10 minutes, with counts and the last attempt, and the
//! operator's 解除 behind a confirmation. The edge decides the limits and records who unlocked
//! (an event in each payment's history); the page shows what it answers.

use crate::Session;
use crate::api::{self, NO_ANSWER};
use crate::fmt::jst;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

/// What the page shows: `None` while loading.
type Listing = RwSignal<Option<Result<Value, String>>>;

fn load(listing: Listing, session: Session) {
    spawn_local(async move {
        let got = match api::call("GET", "/console/api/fraud", None).await {
            Ok(a) if a.unauthorized() => {
                session.set(Some(None));
                return;
            }
            Ok(a) if a.ok() => Ok(a.body),
            Ok(a) => Err(a.error_ja()),
            Err(e) => Err(e),
        };
        listing.set(Some(got));
    });
}

/// 解除 of `body` (`{payment_id}` or `{ip}`) after the operator confirms `question`.
fn unlock(
    body: Value,
    question: String,
    listing: Listing,
    session: Session,
    note: RwSignal<String>,
) {
    let confirmed = web_sys::window()
        .and_then(|w| w.confirm_with_message(&question).ok())
        .unwrap_or(false);
    if !confirmed {
        return;
    }
    spawn_local(async move {
        match api::call("POST", "/console/api/fraud/unlock", Some(body)).await {
            Ok(a) if a.unauthorized() => session.set(Some(None)),
            Ok(a) if a.ok() => {
                let n = a.body["cleared"].as_i64().unwrap_or(0);
                note.set(format!("解除しました（{n}件の試行をリセット）。"));
                load(listing, session);
            }
            Ok(a) => note.set(a.error_ja()),
            Err(_) => note.set(NO_ANSWER.to_string()),
        }
    });
}

fn rows(v: &Value, key: &str) -> Vec<Value> {
    v[key].as_array().cloned().unwrap_or_default()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null | Value::Bool(_) | Value::Array(_) | Value::Object(_) => "—".into(),
    }
}

#[component]
fn LockedPayments(
    data: Value,
    listing: Listing,
    session: Session,
    note: RwSignal<String>,
) -> impl IntoView {
    let list = rows(&data, "locked_payments");
    if list.is_empty() {
        return view! { <p id="fraud-payments-empty">"ロック中の決済はありません。"</p> }
            .into_any();
    }
    let items = list
        .into_iter()
        .map(|r| {
            let id = text(&r["payment_id"]);
            let order = text(&r["order_id"]);
            let question =
                format!("注文番号 {order} のカード試行回数をリセットし、ロックを解除しますか？");
            let body = json!({ "payment_id": id });
            view! {
                <tr class="fraud-payment" data-id=id.clone()>
                    <td><a href=format!("#/payments/{id}")>{order}</a></td>
                    <td>{text(&r["attempts"])}"回"</td>
                    <td>{jst(&r["last_at"])}</td>
                    <td>{text(&r["last_ip"])}</td>
                    <td><button class="fraud-unlock" on:click=move |_| {
                        unlock(body.clone(), question.clone(), listing, session, note)
                    }>"解除"</button></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table id="fraud-payments">
            <thead><tr><th>"注文番号"</th><th>"試行回数"</th><th>"最終試行日時"</th><th>"最終試行IP"</th><th></th></tr></thead>
            <tbody>{items}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn BlockedIps(
    data: Value,
    listing: Listing,
    session: Session,
    note: RwSignal<String>,
) -> impl IntoView {
    let list = rows(&data, "blocked_ips");
    if list.is_empty() {
        return view! { <p id="fraud-ips-empty">"制限中のIPアドレスはありません。"</p> }.into_any();
    }
    let items = list
        .into_iter()
        .map(|r| {
            let ip = text(&r["ip"]);
            let question = format!("IPアドレス {ip} の失敗回数をリセットし、制限を解除しますか？");
            let body = json!({ "ip": ip });
            view! {
                <tr class="fraud-ip">
                    <td>{ip.clone()}</td>
                    <td>{text(&r["failures"])}"回"</td>
                    <td>{text(&r["payments"])}"件"</td>
                    <td>{jst(&r["last_at"])}</td>
                    <td>{jst(&r["frees_at"])}</td>
                    <td><button class="fraud-unlock" on:click=move |_| {
                        unlock(body.clone(), question.clone(), listing, session, note)
                    }>"解除"</button></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table id="fraud-ips">
            <thead><tr><th>"IPアドレス"</th><th>"失敗回数（10分間）"</th><th>"決済数"</th><th>"最終試行日時"</th><th>"自動解除予定"</th><th></th></tr></thead>
            <tbody>{items}</tbody>
        </table>
    }
    .into_any()
}

/// The 不正検知 page (`#/fraud`).
#[component]
pub fn FraudList(session: Session) -> impl IntoView {
    let listing: Listing = RwSignal::new(None);
    let note = RwSignal::new(String::new());
    load(listing, session);
    view! {
        <section class="fraud card">
            <h1>"不正検知（カードの試行）"</h1>
            <p id="fraud-note" role="status">{move || note.get()}</p>
            {move || match listing.get() {
                None => view! { <p class="loading">"読み込み中…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok(data)) => {
                    let limits = &data["limits"];
                    let summary = format!(
                        "1件の決済につきカードの試行は{}回まで、1つのIPアドレスからの失敗は10分間に{}回までです。",
                        text(&limits["attempts_per_payment"]),
                        text(&limits["failures_per_ip"])
                    );
                    view! {
                        <p class="fraud-limits">{summary}</p>
                        <h2>"ロック中の決済"</h2>
                        <LockedPayments data=data.clone() listing session note/>
                        <h2>"制限中のIPアドレス"</h2>
                        <BlockedIps data=data.clone() listing session note/>
                    }
                    .into_any()
                }
            }}
        </section>
    }
}
