//! 定期購入: the shop's subscriptions with the 状態 filter (未決済 is the カード未決済 follow-up
//! list, where the checked rows get 一括再オーソリ with a progress line and a result per row),
//! and a subscription's page with its charges (each a payment with its own 決済詳細), its history
//! and 一時停止 / 再開 / 解約 (and 再オーソリ while 未決済) behind a confirmation dialog. The edge
//! applies the rules (e.g. a 解約 is final); the console shows its Japanese answer.

use crate::Session;
use crate::api;
use crate::fmt;
use kessai_core::subscription::SubscriptionStatus;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

/// What a 再オーソリ's 200 answer (the subscription view) means: paid (有効 again, its charge 仮売上)
/// or declined again (still 未決済).
fn retry_outcome(sub: &Value) -> (bool, String) {
    match sub["status"].as_str() {
        Some("active") => (true, "再オーソリに成功しました（仮売上）".to_string()),
        Some("unpaid") => (
            false,
            if sub["source"]["type"] == "amazon_pay" {
                "再オーソリできませんでした（Amazon Pay が拒否。お客様に Amazon でのお支払い方法の更新をお願いしてください）".to_string()
            } else {
                "再オーソリできませんでした（カード会社が拒否）".to_string()
            },
        ),
        _ => (
            false,
            format!(
                "再オーソリの結果、状態は「{}」です。",
                sub["status_label_ja"].as_str().unwrap_or("不明")
            ),
        ),
    }
}

/// One row's 一括再オーソリ result.
#[derive(Clone, Debug, PartialEq)]
struct RowResult {
    id: String,
    ok: bool,
    text: String,
}

#[component]
pub fn SubscriptionList(session: Session) -> impl IntoView {
    let status_filter = RwSignal::new(String::new());
    let rows = RwSignal::new(Vec::<Value>::new());
    let loading = RwSignal::new(false);
    let load_error = RwSignal::new(None::<String>);
    // The filter the rows answer (`all` or a status), for the eye and for the browser tests.
    let shown = RwSignal::new(String::new());
    // 一括再オーソリ (on the 未決済 list): checked rows, results, progress (done, total).
    let selected = RwSignal::new(Vec::<String>::new());
    let results = RwSignal::new(Vec::<RowResult>::new());
    let progress = RwSignal::new(None::<(usize, usize)>);
    let confirming = RwSignal::new(false);
    let running = move || progress.get().is_some_and(|(d, t)| d < t);

    let load = move || {
        let st = status_filter.get_untracked();
        let path = if st.is_empty() {
            "/v1/subscriptions".to_string()
        } else {
            format!("/v1/subscriptions?status={st}")
        };
        loading.set(true);
        spawn_local(async move {
            let answer = api::call("GET", &path, None).await;
            // An answer for a filter the operator has since changed is not shown.
            if status_filter.get_untracked() != st {
                return;
            }
            match answer {
                Ok(a) if a.ok() => {
                    load_error.set(None);
                    let data = a.body["data"].as_array().cloned().unwrap_or_default();
                    // Only rows still listed stay checked.
                    selected.update(|s| s.retain(|id| data.iter().any(|r| r["id"] == *id)));
                    rows.set(data);
                    shown.set(if st.is_empty() { "all".into() } else { st });
                }
                Ok(a) if a.unauthorized() => session.set(Some(None)),
                Ok(a) => load_error.set(Some(a.error_ja())),
                Err(e) => load_error.set(Some(e)),
            }
            loading.set(false);
        });
    };
    load();

    // One retry at a time, in the order checked; each answer replaces its row (a paid one shows
    // 有効 with its result until the list is reloaded).
    let run_bulk = move || {
        let ids = selected.get_untracked();
        if ids.is_empty() || progress.get_untracked().is_some_and(|(d, t)| d < t) {
            return;
        }
        results.set(Vec::new());
        progress.set(Some((0, ids.len())));
        spawn_local(async move {
            for (n, id) in ids.iter().enumerate() {
                let path = format!("/v1/subscriptions/{id}/retry");
                let (ok, text) = match api::call("POST", &path, None).await {
                    Ok(a) if a.ok() => {
                        let outcome = retry_outcome(&a.body);
                        let fresh = a.body;
                        rows.update(|r| {
                            if let Some(row) = r.iter_mut().find(|row| row["id"] == *id) {
                                *row = fresh;
                            }
                        });
                        outcome
                    }
                    Ok(a) => {
                        if a.unauthorized() {
                            session.set(Some(None));
                        }
                        (false, a.error_ja())
                    }
                    Err(why) => (false, why),
                };
                results.update(|r| {
                    r.push(RowResult {
                        id: id.clone(),
                        ok,
                        text,
                    })
                });
                progress.set(Some((n + 1, ids.len())));
            }
            selected.set(Vec::new());
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
    let unpaid_list = move || shown.get() == "unpaid";

    view! {
        <h1>"定期購入"</h1>
        <form class="filters card" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            load();
        }>
            <label>"状態 "
                <select id="sub-filter-status" on:change=move |ev| {
                    status_filter.set(event_target_value(&ev));
                    load();
                }>
                    <option value="">"すべて"</option>
                    {SubscriptionStatus::ALL
                        .map(|s| view! { <option value=s.as_str()>{s.label_ja()}</option> })
                        .collect_view()}
                </select>
            </label>
            <span class="note">"未決済: カードで課金できず再試行も尽きた定期購入（カード未決済の対応リスト）"</span>
            <button id="sub-reload" type="submit">"再読み込み"</button>
        </form>
        {move || unpaid_list().then(|| view! {
            <div class="card">
                <button id="sub-bulk-retry" type="button"
                    disabled=move || selected.with(Vec::is_empty) || running()
                    on:click=move |_| confirming.set(true)>
                    {move || format!("選択した定期購入を一括再オーソリ（{}件）", selected.with(Vec::len))}
                </button>
                <span class="note">" 登録カードで未決済の回の金額を今すぐ課金します（1件ずつ順に）。"</span>
            </div>
        })}
        {move || progress.get().map(|(done, total)| {
            let (ok, ng) = results.with(|r| {
                (r.iter().filter(|x| x.ok).count(), r.iter().filter(|x| !x.ok).count())
            });
            view! {
                <div id="sub-bulk-progress" class="card">
                    <progress max=total.to_string() value=done.to_string()></progress>
                    <p id="sub-bulk-summary">
                        {format!("再オーソリ {done} / {total} 件処理済み — 成功 {ok}件・失敗 {ng}件")}
                        {(done == total).then_some("（完了）")}
                    </p>
                </div>
            }
        })}
        {move || load_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || loading.get().then(|| view! { <p class="loading">"読み込み中…"</p> })}
        <table id="subscriptions" data-shown=move || shown.get()>
            <thead>
                <tr>
                    {move || unpaid_list().then(|| view! { <th></th> })}
                    <th>"定期購入ID"</th>
                    <th>"会員ID"</th>
                    <th class="num">"金額"</th>
                    <th>"周期"</th>
                    <th>"次回課金日"</th>
                    <th>"状態"</th>
                    <th>"支払方法"</th>
                    <th>"前回の課金"</th>
                    {move || unpaid_list().then(|| view! { <th>"再オーソリの結果"</th> })}
                </tr>
            </thead>
            <tbody>
                {move || rows.get().into_iter().map(|s| {
                    let id = s["id"].as_str().unwrap_or("").to_string();
                    let (id_check, id_toggle, id_result) = (id.clone(), id.clone(), id.clone());
                    let with_checks = unpaid_list();
                    view! {
                        <tr data-subscription-id=id.clone() data-status=s["status"].as_str().unwrap_or("").to_string()>
                            {with_checks.then(|| view! {
                                <td>
                                    <input type="checkbox" class="select" aria-label="選択"
                                        prop:checked=move || selected.with(|s| s.contains(&id_check))
                                        on:change=move |ev| toggle(id_toggle.clone(), event_target_checked(&ev))/>
                                </td>
                            })}
                            <td><a href=format!("#/subscriptions/{id}")>{id.clone()}</a></td>
                            <td>{s["customer"].as_str().unwrap_or("—").to_string()}</td>
                            <td class="num amount">{fmt::yen(&s["amount"])}</td>
                            <td>{s["cycle_label_ja"].as_str().unwrap_or("—").to_string()}</td>
                            <td>{fmt::date(&s["next_charge_on"])}</td>
                            <td class="status">{s["status_label_ja"].as_str().unwrap_or("").to_string()}</td>
                            <td>{fmt::subscription_source(&s["source"])}</td>
                            <td class="last-charge">{fmt::last_charge(&s["last_charge"])}</td>
                            {with_checks.then(|| view! {
                                <td class="result">
                                    {move || results.with(|r| r.iter().find(|x| x.id == id_result).map(|x| {
                                        let class = if x.ok { "ok" } else { "error" };
                                        view! { <span class=class>{x.text.clone()}</span> }
                                    }))}
                                </td>
                            })}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {move || (!loading.get() && load_error.get().is_none() && rows.with(Vec::is_empty))
            .then(|| view! { <p class="note" id="subscriptions-empty">"該当する定期購入はありません。"</p> })}
        {move || confirming.get().then(|| view! {
            <div class="dialog-backdrop">
                <div class="dialog" role="dialog" aria-modal="true">
                    <p id="confirm-message">
                        {format!(
                            "選択した{}件の定期購入を再オーソリします。登録カードで未決済の回の金額を今すぐ課金します。よろしいですか？",
                            selected.with(Vec::len),
                        )}
                    </p>
                    <button id="confirm-yes" on:click=move |_| { confirming.set(false); run_bulk(); }>"実行する"</button>
                    " "
                    <button id="confirm-no" on:click=move |_| confirming.set(false)>"やめる"</button>
                </div>
            </div>
        })}
    }
}

/// An operation waiting for the operator's confirmation.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SubOp {
    Pause,
    Resume,
    Cancel,
    Retry,
    /// Test environment: the next cycle charged now (the demo's way to see a cycle).
    ChargeNow,
}

impl SubOp {
    fn endpoint(self) -> &'static str {
        match self {
            SubOp::Pause => "pause",
            SubOp::Resume => "resume",
            SubOp::Cancel => "cancel",
            SubOp::Retry => "retry",
            SubOp::ChargeNow => "charge-now",
        }
    }

    fn question(self) -> &'static str {
        match self {
            SubOp::Pause => {
                "この定期購入を一時停止します。一時停止中は課金されません。よろしいですか？"
            }
            SubOp::Resume => {
                "この定期購入を再開します。一時停止中に過ぎた課金日の分は課金されず、次の課金日から課金します。よろしいですか？"
            }
            SubOp::Cancel => {
                "この定期購入を解約します。解約すると再開できません（課金済みの決済はそのままです）。よろしいですか？"
            }
            SubOp::Retry => {
                "この定期購入を再オーソリします。登録カード（または Amazon Pay）で未決済の回の金額を今すぐ課金します。よろしいですか？"
            }
            SubOp::ChargeNow => {
                "テスト環境の機能です。次回課金日の分を今すぐ課金します（その次の課金日から通常どおり続きます）。よろしいですか？"
            }
        }
    }
}

#[component]
pub fn SubscriptionDetail(id: String, session: Session) -> impl IntoView {
    let sub = RwSignal::new(None::<Value>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let pending = RwSignal::new(None::<SubOp>);
    let id = StoredValue::new(id);

    let load = move || {
        let path = format!("/v1/subscriptions/{}", id.get_value());
        spawn_local(async move {
            match api::call("GET", &path, None).await {
                Ok(a) if a.ok() => sub.set(Some(a.body)),
                Ok(a) if a.unauthorized() => session.set(Some(None)),
                Ok(a) => error.set(Some(a.error_ja())),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();

    let run = Action::new_unsync(move |op: &SubOp| {
        let op = *op;
        let path = format!("/v1/subscriptions/{}/{}", id.get_value(), op.endpoint());
        error.set(None);
        notice.set(None);
        async move {
            match api::call("POST", &path, None).await {
                Ok(a) if a.ok() && op == SubOp::ChargeNow => {
                    let charged = a.body["charges"][0]["state"] == "authorized";
                    if charged {
                        notice.set(Some("次回分を課金しました（仮売上）".to_string()));
                    } else {
                        error.set(Some(format!(
                            "次回分を課金できませんでした。現在の状態: {}",
                            a.body["status_label_ja"].as_str().unwrap_or("不明")
                        )));
                    }
                    sub.set(Some(a.body));
                    load();
                }
                Ok(a) if a.ok() && op == SubOp::Retry => {
                    match retry_outcome(&a.body) {
                        (true, text) => notice.set(Some(text)),
                        (false, text) => error.set(Some(text)),
                    }
                    sub.set(Some(a.body));
                    load();
                }
                Ok(a) if a.ok() => {
                    let status = a.body["status_label_ja"].as_str().unwrap_or("").to_string();
                    notice.set(Some(format!("完了しました。現在の状態: {status}")));
                    sub.set(Some(a.body));
                }
                Ok(a) if a.unauthorized() => session.set(Some(None)),
                Ok(a) => {
                    error.set(Some(a.error_ja()));
                    load();
                }
                Err(e) => {
                    error.set(Some(e));
                    load();
                }
            }
        }
    });
    let busy = run.pending();

    let ask = move |op: SubOp| {
        error.set(None);
        notice.set(None);
        pending.set(Some(op));
    };

    view! {
        <p><a href="#/subscriptions">"← 定期購入一覧へ戻る"</a></p>
        {move || error.get().map(|e| view! { <p class="error" id="sub-op-error" role="alert" style="white-space:pre-wrap">{e}</p> })}
        {move || notice.get().map(|n| view! { <p class="ok" id="sub-op-notice" role="status">{n}</p> })}
        {move || sub.get().map(|s| {
            let charges = s["charges"].as_array().cloned().unwrap_or_default();
            let events = s["events"].as_array().cloned().unwrap_or_default();
            let d = &s["dunning"];
            let unpaid = s["status"] == "unpaid";
            let charge_now = s["charge_now_available"] == true && s["status"] == "active";
            view! {
                <h1>{format!("定期購入詳細 — {}", s["id"].as_str().unwrap_or(""))}</h1>
                <div class="card">
                    <table id="sub-summary">
                        <tr><th>"状態"</th><td id="sub-status" data-status=s["status"].as_str().unwrap_or("").to_string()>
                            {s["status_label_ja"].as_str().unwrap_or("").to_string()}</td></tr>
                        <tr><th>"会員ID"</th><td id="sub-customer">{s["customer"].as_str().unwrap_or("—").to_string()}</td></tr>
                        <tr><th>"金額"</th><td id="sub-amount">{fmt::yen(&s["amount"])}</td></tr>
                        <tr><th>"周期"</th><td id="sub-cycle">{s["cycle_label_ja"].as_str().unwrap_or("—").to_string()}</td></tr>
                        <tr><th>"次回課金日"</th><td id="sub-next">{fmt::date(&s["next_charge_on"])}</td></tr>
                        <tr><th>"支払方法"</th><td id="sub-source">{fmt::subscription_source(&s["source"])}</td></tr>
                        <tr><th>"申込日時"</th><td>{fmt::jst(&s["created_at"])}</td></tr>
                        {(!d.is_null()).then(|| view! {
                            <tr><th>"課金失敗（初回）"</th><td id="sub-dunning">
                                {format!("{}・失敗{}回・次回再試行 {}",
                                    fmt::date(&d["first_failed_on"]),
                                    d["failed_attempts"].as_i64().unwrap_or(0),
                                    if d["next_attempt_on"].is_null() { "なし（未決済）".to_string() } else { fmt::date(&d["next_attempt_on"]) })}
                            </td></tr>
                        })}
                    </table>
                </div>
                <h2>"操作"</h2>
                <div class="ops card">
                    {unpaid.then(|| view! {
                        <div>
                            <h3>"再オーソリ"</h3>
                            <p class="note">"未決済の回の金額を登録カードで今すぐ課金します。"</p>
                            <button id="sub-op-retry" disabled=move || busy.get() on:click=move |_| ask(SubOp::Retry)>"再オーソリ"</button>
                        </div>
                    })}
                    {charge_now.then(|| view! {
                        <div>
                            <h3>"次回分を今すぐ課金（テスト環境）"</h3>
                            <p class="note">"次回課金日を待たずに、次の回を今すぐ課金します。デモ・検証用です。"</p>
                            <button id="sub-op-charge-now" disabled=move || busy.get() on:click=move |_| ask(SubOp::ChargeNow)>"次回分を今すぐ課金"</button>
                        </div>
                    })}
                    <div>
                        <h3>"一時停止"</h3>
                        <p class="note">"一時停止中は課金されません。"</p>
                        <button id="sub-op-pause" disabled=move || busy.get() on:click=move |_| ask(SubOp::Pause)>"一時停止"</button>
                    </div>
                    <div>
                        <h3>"再開"</h3>
                        <p class="note">"一時停止中に過ぎた課金日の分は課金しません。"</p>
                        <button id="sub-op-resume" disabled=move || busy.get() on:click=move |_| ask(SubOp::Resume)>"再開"</button>
                    </div>
                    <div>
                        <h3>"解約"</h3>
                        <p class="note">"解約後は再開できません。"</p>
                        <button id="sub-op-cancel" disabled=move || busy.get() on:click=move |_| ask(SubOp::Cancel)>"解約"</button>
                    </div>
                </div>
                <h2>"課金履歴"</h2>
                <table id="sub-charges">
                    <thead><tr><th>"注文番号"</th><th>"日時"</th><th class="num">"金額"</th><th>"状態"</th><th>"エラー"</th></tr></thead>
                    <tbody>
                        {charges.into_iter().map(|c| {
                            let pid = c["payment_id"].as_str().unwrap_or("").to_string();
                            view! {
                                <tr class="charge" data-payment-id=pid.clone() data-state=c["state"].as_str().unwrap_or("").to_string()>
                                    <td><a href=format!("#/payments/{pid}")>{c["order_id"].as_str().unwrap_or("").to_string()}</a></td>
                                    <td>{fmt::jst(&c["created_at"])}</td>
                                    <td class="num">{fmt::yen(&c["amount"])}</td>
                                    <td class="state">{c["state_label_ja"].as_str().unwrap_or("").to_string()}</td>
                                    <td>{c["last_error"].as_str().unwrap_or("").to_string()}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <h2>"変更履歴"</h2>
                <table id="sub-events">
                    <thead><tr><th>"日時"</th><th>"実行者"</th><th>"内容"</th><th>"詳細"</th></tr></thead>
                    <tbody>
                        {events.into_iter().map(|e| {
                            let kind = e["kind"].as_str().unwrap_or("").to_string();
                            view! {
                                <tr class="event" data-kind=kind.clone() data-actor=e["actor"].as_str().unwrap_or("").to_string()>
                                    <td>{fmt::jst(&e["at"])}</td>
                                    <td>{fmt::actor_label(e["actor"].as_str().unwrap_or(""))}</td>
                                    <td class="kind">{fmt::subscription_event_label(&kind)}</td>
                                    <td title=e["detail"].to_string()>{fmt::subscription_event_detail(&kind, &e["detail"])}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }
        })}
        {move || pending.get().map(|op| view! {
            <div class="dialog-backdrop">
                <div class="dialog" role="dialog" aria-modal="true">
                    <p id="confirm-message" style="white-space:pre-wrap">{op.question()}</p>
                    <button id="confirm-yes" on:click=move |_| {
                        pending.set(None);
                        run.dispatch(op);
                    }>"実行する"</button>
                    " "
                    <button id="confirm-no" on:click=move |_| pending.set(None)>"やめる"</button>
                </div>
            </div>
        })}
    }
}
