//! Test controls under `/__sandbox/amazon/` (JSON). Not part of Amazon's API; never signed.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State as AxState};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::buyers::{BUYERS, BuyerOutcome};
use super::state::{Fault, State};
use super::{Shared, lock, wire};
use crate::control::{bad_request, clock_fields};
use crate::state::ClockChange;

/// The GMO sandbox's clock answer plus `amazon`, the time as Amazon writes timestamps.
fn clock_json(st: &State) -> Value {
    let now = st.now();
    let mut fields = clock_fields(now, &st.clock);
    fields["amazon"] = json!(super::state::amazon_timestamp(now));
    fields
}

/// `GET /__sandbox/amazon/clock` → `{unix_ms, jst, amazon, frozen}`.
pub async fn get_clock(AxState(shared): AxState<Shared>) -> Json<Value> {
    Json(clock_json(&lock(&shared)))
}

/// `POST /__sandbox/amazon/clock`: a [`ClockChange`]. Answers like GET.
pub async fn set_clock(AxState(shared): AxState<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(change) = serde_json::from_slice::<ClockChange>(&body) else {
        return bad_request("expected {set_unix_ms|advance_ms|advance_minutes|advance_days|real}");
    };
    let mut st = lock(&shared);
    st.clock.apply_control(&change);
    Json(clock_json(&st)).into_response()
}

/// `GET /__sandbox/amazon/requests[?api=CompleteCheckoutSession][&object_id=…]`.
pub async fn requests(
    AxState(shared): AxState<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let st = lock(&shared);
    let rows: Vec<Value> = st
        .log
        .iter()
        .filter(|e| q.get("api").is_none_or(|a| &e.api == a))
        .filter(|e| {
            q.get("object_id")
                .is_none_or(|o| e.object_id.as_ref() == Some(o))
        })
        .filter_map(|e| serde_json::to_value(e).ok())
        .collect();
    Json(Value::Array(rows))
}

pub fn checkout_sessions_json(st: &mut State) -> Vec<Value> {
    st.refresh();
    let mut list: Vec<_> = st.checkout_sessions.values().collect();
    list.sort_by_key(|c| (c.created_at, c.id.clone()));
    list.iter()
        .map(|cs| wire::checkout_session_json(cs, &st.base_url))
        .collect()
}

pub fn charge_permissions_json(st: &mut State) -> Vec<Value> {
    st.refresh();
    let mut list: Vec<_> = st.charge_permissions.values().collect();
    list.sort_by_key(|c| (c.created_at, c.id.clone()));
    list.iter()
        .map(|cp| wire::charge_permission_json(cp, st.amount_held(&cp.id)))
        .collect()
}

pub fn charges_json(st: &mut State, charge_permission_id: Option<&str>) -> Vec<Value> {
    st.refresh();
    let mut list: Vec<_> = st
        .charges
        .values()
        .filter(|c| charge_permission_id.is_none_or(|p| c.charge_permission_id == p))
        .collect();
    list.sort_by_key(|c| (c.created_at, c.id.clone()));
    list.iter().map(|c| wire::charge_json(c)).collect()
}

pub fn refunds_json(st: &mut State) -> Vec<Value> {
    st.refresh();
    let mut list: Vec<_> = st.refunds.values().collect();
    list.sort_by_key(|r| (r.created_at, r.id.clone()));
    list.iter().map(|r| wire::refund_json(r)).collect()
}

/// `GET /__sandbox/amazon/checkout-sessions` → every session (Get Checkout Session JSON).
pub async fn list_checkout_sessions(AxState(shared): AxState<Shared>) -> Json<Value> {
    Json(Value::Array(checkout_sessions_json(&mut lock(&shared))))
}

/// `GET /__sandbox/amazon/charge-permissions`.
pub async fn list_charge_permissions(AxState(shared): AxState<Shared>) -> Json<Value> {
    Json(Value::Array(charge_permissions_json(&mut lock(&shared))))
}

/// `GET /__sandbox/amazon/charges[?charge_permission_id=…]`.
pub async fn list_charges(
    AxState(shared): AxState<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let cp = q.get("charge_permission_id").map(String::as_str);
    Json(Value::Array(charges_json(&mut lock(&shared), cp)))
}

/// `GET /__sandbox/amazon/refunds`.
pub async fn list_refunds(AxState(shared): AxState<Shared>) -> Json<Value> {
    Json(Value::Array(refunds_json(&mut lock(&shared))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    api: String,
    object_id: Option<String>,
    #[serde(default)]
    drop_answer: bool,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default = "one")]
    times: u32,
}

fn one() -> u32 {
    1
}

/// `POST /__sandbox/amazon/faults` `{"api":"CompleteCheckoutSession","object_id":"…",
/// "drop_answer":true,"delay_ms":0,"times":1}`: the next `times` successful calls of `api`
/// (about `object_id`, if given) are executed and committed, then their answer is dropped (the
/// connection closes without a response) and/or sent `delay_ms` late.
pub async fn add_fault(AxState(shared): AxState<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(spec) = serde_json::from_slice::<FaultSpec>(&body) else {
        return bad_request("expected {api, object_id?, drop_answer?, delay_ms?, times?}");
    };
    if spec.api.is_empty() || spec.times == 0 || (!spec.drop_answer && spec.delay_ms == 0) {
        return bad_request("api must be set, times ≥ 1, and drop_answer or delay_ms given");
    }
    let mut st = lock(&shared);
    st.faults.push(Fault {
        api: spec.api,
        object_id: spec.object_id,
        drop_answer: spec.drop_answer,
        delay_ms: spec.delay_ms,
        times: spec.times,
    });
    Json(json!({ "armed": st.faults.len() })).into_response()
}

/// `POST /__sandbox/amazon/reset`: forgets every object, token, log entry, fault and the clock.
pub async fn reset(AxState(shared): AxState<Shared>) -> Json<Value> {
    lock(&shared).reset();
    Json(json!({ "reset": true }))
}

/// `GET /`: what this is, and the sandbox buyers.
pub async fn index(AxState(shared): AxState<Shared>) -> Html<String> {
    let (merchant, store, key_id) = {
        let st = lock(&shared);
        (
            st.cfg.merchant_id.clone(),
            st.cfg.store_id.clone(),
            st.cfg.public_key_id.clone(),
        )
    };
    let rows: String = BUYERS
        .iter()
        .map(|b| {
            let outcome = match b.outcome {
                BuyerOutcome::Pays => "支払い成功",
                BuyerOutcome::HardDeclined => "支払い拒否 (HardDeclined)",
            };
            format!(
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{outcome}</td></tr>",
                b.key, b.name, b.email
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=ja><meta charset=utf-8><title>Amazon Pay サンドボックス (kessai)</title>\
         <h1>Amazon Pay サンドボックス (kessai)</h1>\
         <p>API: <code>/sandbox/v2/…</code> · checkout.js: <code>/checkout.js</code></p>\
         <p>merchantId <code>{merchant}</code> · storeId <code>{store}</code> · publicKeyId <code>{key_id}</code></p>\
         <table><tr><th>buyer</th><th>名前</th><th>メール</th><th>結果</th></tr>{rows}</table></html>",
        merchant = crate::amazon::hosted::esc(&merchant),
        store = crate::amazon::hosted::esc(&store),
        key_id = crate::amazon::hosted::esc(&key_id),
    ))
}
