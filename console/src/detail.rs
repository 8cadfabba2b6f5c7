//! 決済詳細: amount, state, gateway ids, the event history and the operations, each behind a
//! confirmation dialog that says what the edge will do (the card cancel classification it
//! planned, the statement warning), with the gateway's error shown plainly.

use crate::Session;
use crate::api;
use crate::fmt;
use kessai_core::payment::PaymentState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

/// States 「エラーを無視して変更する」 may set: the edge's rule (`PaymentState::forceable`),
/// labelled as everywhere else.
fn force_states() -> impl Iterator<Item = PaymentState> {
    PaymentState::ALL.into_iter().filter(|s| s.forceable())
}

/// An operation waiting for the operator's confirmation.
#[derive(Clone, Debug, PartialEq)]
enum PendingOp {
    Capture,
    Amount(i64),
    Cancel,
    Refund(i64),
    Reconcile,
    Force { state: String, reason: String },
}

impl PendingOp {
    fn endpoint(&self) -> &'static str {
        match self {
            PendingOp::Capture => "capture",
            PendingOp::Amount(_) => "amount",
            PendingOp::Cancel => "cancel",
            PendingOp::Refund(_) => "refund",
            PendingOp::Reconcile => "reconcile",
            PendingOp::Force { .. } => "force",
        }
    }

    fn body(&self) -> Option<Value> {
        match self {
            PendingOp::Capture | PendingOp::Cancel | PendingOp::Reconcile => None,
            PendingOp::Amount(a) | PendingOp::Refund(a) => Some(json!({ "amount": a })),
            PendingOp::Force { state, reason } => Some(json!({ "state": state, "reason": reason })),
        }
    }

    /// The confirmation text, from what the edge previewed for this payment.
    fn question(&self, p: &Value) -> String {
        let amount = fmt::yen(&p["amount"]);
        match self {
            PendingOp::Capture => format!("{amount}の売上を確定します。よろしいですか？"),
            PendingOp::Amount(to) => format!(
                "金額を{amount}から{}に変更します。よろしいですか？",
                fmt::yen(&json!(to))
            ),
            PendingOp::Cancel => {
                let c = &p["previews"]["cancel"];
                let label = cancel_label(p);
                let mut text = format!("この決済を「{label}」として取り消します。よろしいですか？");
                if c["stays_on_statement"].as_bool() == Some(true) {
                    text.push_str(&format!("\n{}", STATEMENT_WARNING));
                }
                text
            }
            PendingOp::Refund(a) => format!(
                "{}を返金します（Amazon Pay）。よろしいですか？",
                fmt::yen(&json!(a))
            ),
            PendingOp::Reconcile => {
                "ゲートウェイの状態を照会し、結果不明の決済はゲートウェイの状態に合わせます。よろしいですか？"
                    .to_string()
            }
            PendingOp::Force { state, .. } => format!(
                "ゲートウェイのエラーを無視して、状態を「{}」に変更します。ゲートウェイには何も送信しません。よろしいですか？",
                fmt::state_label(state)
            ),
        }
    }
}

const STATEMENT_WARNING: &str =
    "売上確定後の取消のため、お客様のカード明細には売上と取消の両方が残ります。";

/// 取消 / 返品 / 月跨返品 as the edge classified it (JST), or 取消.
fn cancel_label(p: &Value) -> String {
    p["previews"]["cancel"]["cancel_label_ja"]
        .as_str()
        .unwrap_or("取消")
        .to_string()
}

#[component]
pub fn PaymentDetail(id: String, session: Session) -> impl IntoView {
    let payment = RwSignal::new(None::<Value>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let sides = RwSignal::new(None::<Value>);
    let pending = RwSignal::new(None::<PendingOp>);
    let busy = RwSignal::new(false);
    let amount_input = RwSignal::new(String::new());
    let refund_input = RwSignal::new(String::new());
    let force_state = RwSignal::new(PaymentState::Authorized.as_str().to_string());
    let force_reason = RwSignal::new(String::new());
    let id = StoredValue::new(id);

    let load = move || {
        let path = format!("/v1/payments/{}", id.get_value());
        spawn_local(async move {
            match api::call("GET", &path, None).await {
                Ok(a) if a.ok() => {
                    refund_input.set(
                        a.body["amount"]
                            .as_i64()
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                    );
                    payment.set(Some(a.body));
                }
                Ok(a) if a.unauthorized() => session.set(Some(None)),
                Ok(a) => error.set(Some(a.error_ja())),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    load();

    let run = move |op: PendingOp| {
        let path = format!("/v1/payments/{}/{}", id.get_value(), op.endpoint());
        busy.set(true);
        error.set(None);
        notice.set(None);
        spawn_local(async move {
            match api::call("POST", &path, op.body()).await {
                Ok(a) if a.status == 200 => {
                    let state = fmt::state_label(a.body["state"].as_str().unwrap_or(""));
                    notice.set(Some(format!("完了しました。現在の状態: {state}")));
                    match op {
                        PendingOp::Reconcile => sides.set(Some(a.body["sides"].clone())),
                        PendingOp::Force { .. } => {
                            force_reason.set(String::new());
                            sides.set(Some(a.body["forced"].clone()));
                        }
                        PendingOp::Capture
                        | PendingOp::Amount(_)
                        | PendingOp::Cancel
                        | PendingOp::Refund(_) => {}
                    }
                }
                Ok(a) if a.unauthorized() => session.set(Some(None)),
                Ok(a) => error.set(Some(a.error_ja())),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
            load();
        });
    };

    let ask = move |op: PendingOp| {
        error.set(None);
        pending.set(Some(op));
    };

    view! {
        <p><a href="#/">"← 受注一覧へ戻る"</a></p>
        {move || error.get().map(|e| view! { <p class="error" id="op-error" role="alert">{e}</p> })}
        {move || notice.get().map(|n| view! { <p class="ok" id="op-notice" role="status">{n}</p> })}
        {move || payment.get().map(|p| {
            let method = p["method"].as_str().unwrap_or("").to_string();
            let amazon = method == "amazon_pay";
            let state = p["state"].as_str().unwrap_or("").to_string();
            let captured = matches!(state.as_str(), "captured" | "partially_refunded");
            let capture = p["previews"]["capture"].clone();
            let cancel = p["previews"]["cancel"].clone();
            let (expiry_text, expiry_class) = fmt::expiry(&p["authorization_expiry"]);
            let g = &p["gateway"];
            let az = &p["amazon_pay"];
            let events = p["events"].as_array().cloned().unwrap_or_default();
            let label = cancel_label(&p);
            view! {
                <h1>{format!("決済詳細 — 注文番号 {}", p["order_id"].as_str().unwrap_or(""))}</h1>
                <div class="card">
                    <table id="summary">
                        <tr><th>"金額"</th><td id="detail-amount">{fmt::yen(&p["amount"])}</td></tr>
                        <tr><th>"状態"</th><td id="detail-state" data-state=p["display_state"].as_str().unwrap_or("").to_string()>
                            {p["display_state_label_ja"].as_str().unwrap_or("").to_string()}</td></tr>
                        <tr><th>"有効期限"</th><td class=expiry_class>
                            {format!("{expiry_text} {}", if p["authorization_expiry"].is_null() { String::new() } else { format!("（{}まで）", fmt::jst(&p["authorization_expiry"]["expires_at"])) })}
                        </td></tr>
                        <tr><th>"お客様名"</th><td>{p["customer_name"].as_str().unwrap_or("—").to_string()}</td></tr>
                        <tr><th>"支払方法"</th><td>{fmt::method_label(&method)}</td></tr>
                        <tr><th>"注文日時"</th><td>{fmt::jst(&p["created_at"])}</td></tr>
                        <tr><th>"決済ID"</th><td>{p["id"].as_str().unwrap_or("").to_string()}</td></tr>
                        {(!amazon).then(|| view! {
                            <tr><th>"GMO オーダーID"</th><td>{g["gmo_order_id"].as_str().unwrap_or("—").to_string()}</td></tr>
                            <tr><th>"取引ID（AccessID）"</th><td>{g["access_id"].as_str().unwrap_or("—").to_string()}</td></tr>
                            <tr><th>"トランザクションID"</th><td>{g["tran_id"].as_str().unwrap_or("—").to_string()}</td></tr>
                            <tr><th>"承認番号"</th><td>{g["approve"].as_str().unwrap_or("—").to_string()}</td></tr>
                            <tr><th>"3Dセキュア"</th><td id="detail-3ds">{fmt::three_d_secure(&events)}</td></tr>
                            <tr><th>"支払回数"</th><td id="detail-installments">{p["card"]["installments_label_ja"].as_str().unwrap_or("一括払い").to_string()}</td></tr>
                            <tr><th>"カード"</th><td id="detail-card">{fmt::card_used(&p, &events)}</td></tr>
                        })}
                        {amazon.then(|| view! {
                            <tr><th>"Charge ID"</th><td>{az["charge_id"].as_str().unwrap_or("—").to_string()}</td></tr>
                            <tr><th>"Charge Permission ID"</th><td>{az["charge_permission_id"].as_str().unwrap_or("—").to_string()}</td></tr>
                            <tr><th>"Checkout Session ID"</th><td>{az["checkout_session_id"].as_str().unwrap_or("—").to_string()}</td></tr>
                        })}
                    </table>
                </div>
                <h2>"操作"</h2>
                <div class="ops card">
                    <div>
                        <h3>"売上確定"</h3>
                        {if capture["ok"].as_bool() == Some(true) {
                            view! { <button id="op-capture" disabled=move || busy.get() on:click=move |_| ask(PendingOp::Capture)>"売上確定"</button> }.into_any()
                        } else {
                            view! { <p class="note" id="capture-refused">{capture["message_ja"].as_str().unwrap_or("").to_string()}</p> }.into_any()
                        }}
                    </div>
                    <div>
                        <h3>"金額変更"</h3>
                        {amazon.then(|| view! { <p class="note">"Amazon Payは減額のみできます。増額分は別のお支払い方法でご請求ください。"</p> })}
                        <label>"新しい金額（円） "
                            <input id="amount-input" inputmode="numeric"
                                prop:value=move || amount_input.get()
                                on:input=move |ev| amount_input.set(event_target_value(&ev))/>
                        </label>
                        <button id="op-amount" disabled=move || busy.get() on:click=move |_| {
                            match amount_input.get_untracked().trim().parse::<i64>() {
                                Ok(v) => ask(PendingOp::Amount(v)),
                                Err(_) => error.set(Some("金額は円単位の整数で入力してください。".into())),
                            }
                        }>"金額変更"</button>
                    </div>
                    <div>
                        <h3>"取消"</h3>
                        {if cancel["ok"].as_bool() == Some(true) {
                            let stays = cancel["stays_on_statement"].as_bool() == Some(true);
                            view! {
                                <p id="cancel-kind">{format!("この決済は「{label}」として処理されます。")}</p>
                                {stays.then(|| view! { <p class="warn" id="cancel-warning">{STATEMENT_WARNING}</p> })}
                                <button id="op-cancel" disabled=move || busy.get() on:click=move |_| ask(PendingOp::Cancel)>{format!("{label}する")}</button>
                            }.into_any()
                        } else {
                            view! { <p class="note" id="cancel-refused">{cancel["message_ja"].as_str().unwrap_or("").to_string()}</p> }.into_any()
                        }}
                    </div>
                    {(amazon && captured).then(|| view! {
                        <div>
                            <h3>"返金（Amazon Pay）"</h3>
                            <label>"返金額（円） "
                                <input id="refund-input" inputmode="numeric"
                                    prop:value=move || refund_input.get()
                                    on:input=move |ev| refund_input.set(event_target_value(&ev))/>
                            </label>
                            <button id="op-refund" disabled=move || busy.get() on:click=move |_| {
                                match refund_input.get_untracked().trim().parse::<i64>() {
                                    Ok(v) => ask(PendingOp::Refund(v)),
                                    Err(_) => error.set(Some("返金額は円単位の整数で入力してください。".into())),
                                }
                            }>"返金"</button>
                        </div>
                    })}
                    <div>
                        <h3>"再照会"</h3>
                        <p class="note">"ゲートウェイの状態を読み、当社の記録と並べて表示します。"</p>
                        <button id="op-reconcile" disabled=move || busy.get() on:click=move |_| ask(PendingOp::Reconcile)>"再照会"</button>
                    </div>
                    <div>
                        <h3>"エラーを無視して変更する"</h3>
                        <p class="note">"GMOやAmazonの管理画面で直接変更した場合に使います。理由は履歴に残ります。"</p>
                        <label>"変更後の状態 "
                            <select id="force-state" on:change=move |ev| force_state.set(event_target_value(&ev))>
                                {force_states().map(|s| view! { <option value=s.as_str()>{s.label_ja()}</option> }).collect_view()}
                            </select>
                        </label>
                        <label>"理由（必須） "
                            <textarea id="force-reason" maxlength="500"
                                prop:value=move || force_reason.get()
                                on:input=move |ev| force_reason.set(event_target_value(&ev))></textarea>
                        </label>
                        <button id="op-force" disabled=move || busy.get() on:click=move |_| {
                            let reason = force_reason.get_untracked().trim().to_string();
                            if reason.is_empty() {
                                error.set(Some("変更の理由を入力してください。".into()));
                            } else {
                                ask(PendingOp::Force { state: force_state.get_untracked(), reason });
                            }
                        }>"エラーを無視して変更する"</button>
                    </div>
                </div>
                <h2>"イベント履歴"</h2>
                <table id="events">
                    <thead><tr><th>"日時"</th><th>"実行者"</th><th>"内容"</th><th>"状態"</th><th>"詳細"</th></tr></thead>
                    <tbody>
                        {events.into_iter().map(|e| view! {
                            <tr class="event" data-kind=e["kind"].as_str().unwrap_or("").to_string() data-actor=e["actor"].as_str().unwrap_or("").to_string()>
                                <td>{fmt::jst(&e["at"])}</td>
                                <td>{fmt::actor_label(e["actor"].as_str().unwrap_or(""))}</td>
                                <td>{fmt::event_label(e["kind"].as_str().unwrap_or(""))}</td>
                                <td>{format!("{} → {}",
                                    e["from"].as_str().map(fmt::state_label).unwrap_or_default(),
                                    e["to"].as_str().map(fmt::state_label).unwrap_or_default())}</td>
                                <td><code>{e["detail"].to_string()}</code></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
        })}
        {move || sides.get().map(|s| view! {
            <div class="card" id="sides">
                <h2>"当社の記録とゲートウェイの状態"</h2>
                <table>
                    <thead><tr><th>"当社"</th><th>"ゲートウェイ"</th></tr></thead>
                    <tbody><tr>
                        <td><code id="side-kessai">{s["kessai"].to_string()}</code></td>
                        <td><code id="side-gateway">{s["gateway"].to_string()}</code></td>
                    </tr></tbody>
                </table>
            </div>
        })}
        {move || pending.get().map(|op| {
            let question = payment.with(|p| p.as_ref().map(|p| op.question(p)).unwrap_or_default());
            let confirmed = op.clone();
            view! {
                <div class="dialog-backdrop">
                    <div class="dialog" role="dialog" aria-modal="true">
                        <p id="confirm-message" style="white-space:pre-wrap">{question}</p>
                        <button id="confirm-yes" on:click=move |_| {
                            pending.set(None);
                            run(confirmed.clone());
                        }>"実行する"</button>
                        " "
                        <button id="confirm-no" on:click=move |_| pending.set(None)>"やめる"</button>
                    </div>
                </div>
            }
        })}
    }
}
