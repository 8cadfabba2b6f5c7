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
    status: Option<u16>,
    #[serde(default)]
    commit: bool,
    #[serde(default)]
    execute_late: bool,
    tag: Option<String>,
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
    let status_ok = spec
        .status
        .is_none_or(|s| s == 429 || (500..=599).contains(&s));
    if spec.api.is_empty()
        || spec.times == 0
        || (!spec.drop_answer && spec.delay_ms == 0 && spec.status.is_none())
        || !status_ok
        || (spec.status.is_some() && spec.drop_answer)
        || (spec.execute_late && (spec.status.is_some() || spec.drop_answer || spec.delay_ms == 0))
    {
        return bad_request(
            "api must be set, times ≥ 1, and drop_answer, delay_ms or status (429, 5xx) given",
        );
    }
    let mut st = lock(&shared);
    st.faults.push(Fault {
        api: spec.api,
        object_id: spec.object_id,
        drop_answer: spec.drop_answer,
        delay_ms: spec.delay_ms,
        times: spec.times,
        status: spec.status,
        commit: spec.commit,
        execute_late: spec.execute_late,
        tag: spec.tag,
    });
    Json(json!({ "armed": st.faults.len() })).into_response()
}

/// `GET /__sandbox/amazon/faults` → the faults still armed (`times` = uses left).
pub async fn list_faults(AxState(shared): AxState<Shared>) -> Json<Value> {
    Json(serde_json::to_value(&lock(&shared).faults).unwrap_or(Value::Null))
}

/// The API name and object id of an API request, as the request log names them (only the
/// calls an error-status fault may be armed for; `None` for anything else).
fn api_of(method: &axum::http::Method, path: &str) -> Option<(&'static str, Option<String>)> {
    use axum::http::Method as M;
    let rest = ["/sandbox/v2/", "/live/v2/", "/v2/"]
        .iter()
        .find_map(|p| path.strip_prefix(p))?;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let id = segs.get(1).map(|s| s.to_string());
    let api = match (segs.as_slice(), method.clone()) {
        (["checkoutSessions"], M::POST) => "CreateCheckoutSession",
        (["checkoutSessions", _], M::GET) => "GetCheckoutSession",
        (["checkoutSessions", _], M::PATCH) => "UpdateCheckoutSession",
        (["checkoutSessions", _, "complete"], M::POST) => "CompleteCheckoutSession",
        (["chargePermissions", _], M::GET) => "GetChargePermission",
        (["chargePermissions", _], M::PATCH) => "UpdateChargePermission",
        (["chargePermissions", _, "close"], M::DELETE) => "CloseChargePermission",
        (["charges"], M::POST) => "CreateCharge",
        (["charges", _], M::GET) => "GetCharge",
        (["charges", _, "capture"], M::POST) => "CaptureCharge",
        (["charges", _, "cancel"], M::DELETE) => "CancelCharge",
        (["refunds"], M::POST) => "CreateRefund",
        (["refunds", _], M::GET) => "GetRefund",
        (["buyers", _], M::GET) => "GetBuyer",
        _ => return None,
    };
    let object = match api {
        "CreateCheckoutSession" | "CreateCharge" | "CreateRefund" => None,
        _ => id,
    };
    Some((api, object))
}

/// Amazon's error answer for an injected status.
fn status_answer(status: u16) -> Response {
    let code = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let reason = match status {
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        _ => "InternalServerError",
    };
    let body = json!({ "reasonCode": reason, "message": "kessai sandbox fault" });
    (code, Json(body)).into_response()
}

/// Middleware around the API: an armed error-status fault for this call answers 429/5xx — before
/// the call runs (nothing executed; logged as such), or, with `commit`, after a successful
/// execution (the change stands, the answer says it failed). An `execute_late` fault holds the
/// call back `delay_ms` before it runs (in its own task: it runs to the end even when the client
/// has given up meanwhile). Other faults are left to the API.
pub async fn status_fault(
    AxState(shared): AxState<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some((api, object)) = api_of(req.method(), req.uri().path()) else {
        return next.run(req).await;
    };
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let fault = {
        let mut st = lock(&shared);
        let armed = |f: &Fault| {
            (f.status.is_some() || f.execute_late)
                && f.times > 0
                && f.api.eq_ignore_ascii_case(api)
                && (f.object_id.is_none() || f.object_id == object)
        };
        match st.faults.iter().position(armed) {
            Some(i) => {
                let f = st.faults[i].clone();
                st.faults[i].times -= 1;
                if st.faults[i].times == 0 {
                    st.faults.remove(i);
                }
                if let (Some(status), false) = (f.status, f.commit) {
                    st.record(super::state::LogEntry {
                        seq: 0,
                        at_unix_ms: 0,
                        method,
                        path,
                        api: api.to_string(),
                        status,
                        reason_code: Some("InjectedFault".into()),
                        object_id: object.clone(),
                        replayed: false,
                        dropped: false,
                    });
                }
                Some(f)
            }
            None => None,
        }
    };
    match fault {
        None => next.run(req).await,
        Some(f) if f.status.is_none() => {
            let task = tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(f.delay_ms)).await;
                next.run(req).await
            });
            task.await.unwrap_or_else(|_| status_answer(500))
        }
        Some(f) if !f.commit => status_answer(f.status.unwrap_or(500)),
        Some(f) => {
            let resp = next.run(req).await;
            if resp.status().is_success() {
                status_answer(f.status.unwrap_or(500))
            } else {
                // Not executed after all: the fault is armed again for the next call.
                lock(&shared).faults.push(Fault { times: 1, ..f });
                resp
            }
        }
    }
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
