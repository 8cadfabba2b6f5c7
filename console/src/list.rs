//! 受注一覧: the latest payments with filters and search, the authorisation countdown, and
//! 一括売上確定 over the checked rows with a progress bar and a result per row.

use crate::Session;
use crate::api;
use crate::fmt;
use kessai_core::operations::PaymentMethod;
use kessai_core::payment::PaymentState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

/// The 状態 filter, after 「すべて」, most used first. `expired` also finds 仮売上 past their
/// deadline and `unpaid` card payments still waiting after a failed attempt (the edge decides).
/// Not `processing`: a payment is there for seconds.
const STATE_FILTERS: [PaymentState; 13] = [
    PaymentState::Authorized,
    PaymentState::Captured,
    PaymentState::Voided,
    PaymentState::Returned,
    PaymentState::ReturnedNextMonth,
    PaymentState::Refunded,
    PaymentState::PartiallyRefunded,
    PaymentState::Unpaid,
    PaymentState::Expired,
    PaymentState::Unknown,
    PaymentState::RequiresPayment,
    PaymentState::Declined,
    PaymentState::Verified,
];

/// Payments per bulk request: small enough for the progress bar to move (one step per request:
/// four rounds of the edge's six captures in flight), large enough to spread the request's own
/// cost (HTTP, auth, the one read of its payments). Measured (#17, docs/performance.md): 24 per
/// request 329–352 payments/s and 2.8–3.0 ms workerd CPU each, 12 per request 235–253/s and
/// 3.0–3.8 ms.
const BULK_CHUNK: usize = 24;

/// One row's bulk capture result.
#[derive(Clone, Debug, PartialEq)]
struct RowResult {
    id: String,
    ok: bool,
    text: String,
}

#[component]
pub fn OrderList(session: Session) -> impl IntoView {
    let state_filter = RwSignal::new(String::new());
    let method_filter = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    let near_expiry = RwSignal::new(false);
    let rows = RwSignal::new(Vec::<Value>::new());
    let loading = RwSignal::new(false);
    let load_error = RwSignal::new(None::<String>);
    let selected = RwSignal::new(Vec::<String>::new());
    let results = RwSignal::new(Vec::<RowResult>::new());
    let progress = RwSignal::new(None::<(usize, usize)>);
    let confirming = RwSignal::new(false);

    let load = move || {
        let mut params = Vec::new();
        let st = state_filter.get_untracked();
        if !st.is_empty() {
            params.push(format!("state={st}"));
        }
        let m = method_filter.get_untracked();
        if !m.is_empty() {
            params.push(format!("method={m}"));
        }
        let q = query.get_untracked();
        if !q.trim().is_empty() {
            params.push(format!("q={}", api::encode(q.trim())));
        }
        if near_expiry.get_untracked() {
            params.push("near_expiry=1".into());
        }
        let path = format!("/v1/payments?{}", params.join("&"));
        loading.set(true);
        spawn_local(async move {
            match api::call("GET", &path, None).await {
                Ok(a) if a.ok() => {
                    load_error.set(None);
                    rows.set(a.body["data"].as_array().cloned().unwrap_or_default());
                }
                Ok(a) if a.unauthorized() => session.set(Some(None)),
                Ok(a) => load_error.set(Some(a.error_ja())),
                Err(e) => load_error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    load();

    let run_bulk = move || {
        let ids = selected.get_untracked();
        if ids.is_empty() || progress.get_untracked().is_some_and(|(d, t)| d < t) {
            return;
        }
        results.set(Vec::new());
        progress.set(Some((0, ids.len())));
        spawn_local(async move {
            let mut done = 0;
            for chunk in ids.chunks(BULK_CHUNK) {
                let body = json!({ "payment_ids": chunk });
                let answer = api::call("POST", "/v1/payments/bulk/capture", Some(body)).await;
                let mut got: Vec<RowResult> = match &answer {
                    Ok(a) if a.status == 200 => a.body["data"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .iter()
                        .map(|r| {
                            let ok = r["ok"].as_bool() == Some(true);
                            let state = fmt::state_label(r["state"].as_str().unwrap_or(""));
                            RowResult {
                                id: r["id"].as_str().unwrap_or("").to_string(),
                                ok,
                                text: if ok {
                                    format!("売上確定しました（{state}）")
                                } else {
                                    r["error"]["message_ja"]
                                        .as_str()
                                        .unwrap_or("売上確定できませんでした。")
                                        .to_string()
                                },
                            }
                        })
                        .collect(),
                    Ok(a) => {
                        if a.unauthorized() {
                            session.set(Some(None));
                        }
                        let why = a.error_ja();
                        chunk
                            .iter()
                            .map(|id| RowResult {
                                id: id.clone(),
                                ok: false,
                                text: why.clone(),
                            })
                            .collect()
                    }
                    Err(why) => chunk
                        .iter()
                        .map(|id| RowResult {
                            id: id.clone(),
                            ok: false,
                            text: why.clone(),
                        })
                        .collect(),
                };
                // An answer that left out a row is reported, never skipped silently.
                for id in chunk {
                    if !got.iter().any(|r| &r.id == id) {
                        got.push(RowResult {
                            id: id.clone(),
                            ok: false,
                            text: api::NO_ANSWER.to_string(),
                        });
                    }
                }
                results.update(|r| r.extend(got));
                done += chunk.len();
                progress.set(Some((done, ids.len())));
            }
            selected.set(Vec::new());
            load();
        });
    };

    let toggle = move |id: String, on: bool| {
        selected.update(|s| {
            s.retain(|x| x != &id);
            if on {
                s.push(id);
            }
        })
    };

    view! {
        <h1>"受注一覧"</h1>
        <form class="filters card" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            load();
        }>
            <label>"状態 "
                <select id="filter-state" on:change=move |ev| state_filter.set(event_target_value(&ev))>
                    <option value="">"すべて"</option>
                    {STATE_FILTERS
                        .map(|s| view! { <option value=s.as_str()>{s.label_ja()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>"支払方法 "
                <select id="filter-method" on:change=move |ev| method_filter.set(event_target_value(&ev))>
                    <option value="">"すべて"</option>
                    {[PaymentMethod::Card, PaymentMethod::AmazonPay]
                        .map(|m| view! { <option value=m.as_str()>{m.label_ja()}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>"検索 "
                <input id="filter-q" placeholder="注文番号・お客様名・取引ID"
                    prop:value=move || query.get()
                    on:input=move |ev| query.set(event_target_value(&ev))/>
            </label>
            <label>
                <input id="filter-near" type="checkbox"
                    prop:checked=move || near_expiry.get()
                    on:change=move |ev| near_expiry.set(event_target_checked(&ev))/>
                "期限間近のみ"
            </label>
            <button id="search" type="submit">"検索"</button>
            <button id="reload" type="button" on:click=move |_| load()>"再読み込み"</button>
        </form>
        <div class="card">
            <button id="bulk-capture" type="button"
                disabled=move || selected.with(Vec::is_empty) || progress.get().is_some_and(|(d, t)| d < t)
                on:click=move |_| confirming.set(true)>
                {move || format!("一括売上確定（{}件）", selected.with(Vec::len))}
            </button>
            {move || progress.get().map(|(done, total)| {
                let (ok, ng) = results.with(|r| {
                    (r.iter().filter(|x| x.ok).count(), r.iter().filter(|x| !x.ok).count())
                });
                view! {
                    <div id="bulk-progress">
                        <progress max=total.to_string() value=done.to_string()></progress>
                        <p id="bulk-summary">
                            {format!("{done} / {total} 件処理済み — 成功 {ok}件・失敗 {ng}件")}
                            {(done == total).then_some("（完了）")}
                        </p>
                    </div>
                }
            })}
            {move || load_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || loading.get().then(|| view! { <p class="loading">"読み込み中…"</p> })}
        </div>
        <table id="payments">
            <thead>
                <tr>
                    <th></th>
                    <th>"注文番号"</th>
                    <th>"注文日時"</th>
                    <th>"お客様名"</th>
                    <th>"支払方法"</th>
                    <th class="num">"金額"</th>
                    <th>"状態"</th>
                    <th>"有効期限"</th>
                    <th>"一括処理の結果"</th>
                </tr>
            </thead>
            <tbody>
                {move || rows.get().into_iter().map(|p| {
                    let id = p["id"].as_str().unwrap_or("").to_string();
                    let (id_check, id_toggle, id_result) = (id.clone(), id.clone(), id.clone());
                    let (expiry_text, expiry_class) = fmt::expiry(&p["authorization_expiry"]);
                    let expiry_title = fmt::jst(&p["authorization_expiry"]["expires_at"]);
                    let state_label = p["display_state_label_ja"].as_str().unwrap_or("").to_string();
                    view! {
                        <tr data-payment-id=id.clone() data-state=p["display_state"].as_str().unwrap_or("").to_string()>
                            <td>
                                <input type="checkbox" class="select" aria-label="選択"
                                    prop:checked=move || selected.with(|s| s.contains(&id_check))
                                    on:change=move |ev| toggle(id_toggle.clone(), event_target_checked(&ev))/>
                            </td>
                            <td><a href=format!("#/payments/{id}")>{p["order_id"].as_str().unwrap_or("").to_string()}</a></td>
                            <td>{fmt::jst(&p["created_at"])}</td>
                            <td>{p["customer_name"].as_str().unwrap_or("—").to_string()}</td>
                            <td>{fmt::method_label(p["method"].as_str().unwrap_or(""))}</td>
                            <td class="num">{fmt::yen(&p["amount"])}</td>
                            <td class="state">{state_label}</td>
                            <td class=expiry_class title=expiry_title>{expiry_text}</td>
                            <td class="result">
                                {move || results.with(|r| r.iter().find(|x| x.id == id_result).map(|x| {
                                    let class = if x.ok { "ok" } else { "error" };
                                    view! { <span class=class>{x.text.clone()}</span> }
                                }))}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {move || confirming.get().then(|| view! {
            <div class="dialog-backdrop">
                <div class="dialog" role="dialog" aria-modal="true">
                    <p id="confirm-message">
                        {format!("選択した{}件の売上を確定します。よろしいですか？", selected.with(Vec::len))}
                    </p>
                    <button id="confirm-yes" on:click=move |_| { confirming.set(false); run_bulk(); }>"実行する"</button>
                    " "
                    <button id="confirm-no" on:click=move |_| confirming.set(false)>"やめる"</button>
                </div>
            </div>
        })}
    }
}
