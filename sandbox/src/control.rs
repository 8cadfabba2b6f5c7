//! Test controls under `/__sandbox/` (JSON). Not part of GMO's API.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use kessai_core::jst::UnixMillis;

use crate::state::{Clock, ClockChange, Fault};
use crate::{Shared, lock, test_cards, token};

/// `400 {"error": msg}`: a control body the sandbox cannot read.
pub(crate) fn bad_request(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": msg }))).into_response()
}

fn clock_json(st: &crate::state::State) -> Value {
    clock_fields(st.now(), &st.clock)
}

/// `{unix_ms, jst: "yyyyMMddHHmmss", frozen}`: what the clock controls answer.
pub(crate) fn clock_fields(now: UnixMillis, clock: &Clock) -> Value {
    json!({
        "unix_ms": now.0,
        "jst": now.to_jst().gmo_format(),
        "frozen": clock.frozen(),
    })
}

/// `GET /__sandbox/clock` → `{unix_ms, jst: "yyyyMMddHHmmss", frozen}`.
pub async fn get_clock(AxState(shared): AxState<Shared>) -> Json<Value> {
    Json(clock_json(&lock(&shared)))
}

/// `POST /__sandbox/clock`: a [`ClockChange`]. Answers like GET.
pub async fn set_clock(AxState(shared): AxState<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(change) = serde_json::from_slice::<ClockChange>(&body) else {
        return bad_request("expected {set_unix_ms|advance_ms|advance_minutes|advance_days|real}");
    };
    let mut st = lock(&shared);
    st.clock.apply_control(&change);
    Json(clock_json(&st)).into_response()
}

/// `GET /__sandbox/requests[?order_id=X][&api=ExecTran]` → the masked request log.
pub async fn requests(
    AxState(shared): AxState<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Json<Value> {
    let st = lock(&shared);
    let rows: Vec<&crate::state::LogEntry> = st
        .log
        .iter()
        .filter(|e| q.get("order_id").is_none_or(|o| &e.order_id == o))
        .filter(|e| q.get("api").is_none_or(|a| &e.api == a))
        .collect();
    Json(serde_json::to_value(rows).unwrap_or(Value::Null))
}

/// `GET /__sandbox/trades/{order_id}` → the stored transaction (404 if none).
pub async fn trade(AxState(shared): AxState<Shared>, Path(order_id): Path<String>) -> Response {
    let st = lock(&shared);
    match st.trades.get(&order_id) {
        Some(t) => Json(serde_json::to_value(t).unwrap_or(Value::Null)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such order", "order_id": order_id })),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
pub struct FaultSpec {
    api: String,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default = "one")]
    times: u32,
    err_info: Option<String>,
    #[serde(default)]
    execute_late: bool,
    order_id: Option<String>,
    #[serde(default)]
    commit: bool,
    tag: Option<String>,
}

fn one() -> u32 {
    1
}

/// `POST /__sandbox/faults` `{"api":"ExecTran","delay_ms":N,"times":1,"err_info":null}`: the
/// next `times` calls of `api` (`EntryTran`, `ExecTran`, …, `getToken`) are executed normally
/// and answered `delay_ms` late; with `err_info` they are instead answered with that ErrInfo
/// (getToken: that resultCode) without executing anything; with `"execute_late": true` they
/// are executed only after the delay (the call is still running when the client gives up). With
/// `"order_id"` only calls about that OrderID trip it. With `err_info` and `"commit": true` the
/// call is executed first and then answered with the error (an E90/E91/42C after which the
/// change did happen). `"tag"` is a free label listed by `GET /__sandbox/faults`.
pub async fn add_fault(AxState(shared): AxState<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(spec) = serde_json::from_slice::<FaultSpec>(&body) else {
        return bad_request("expected {api, delay_ms?, times?, err_info?}");
    };
    if spec.api.is_empty() || spec.times == 0 {
        return bad_request("api must be set and times ≥ 1");
    }
    let mut st = lock(&shared);
    st.faults.push(Fault {
        api: spec.api,
        delay_ms: spec.delay_ms,
        times: spec.times,
        err_info: spec.err_info,
        execute_late: spec.execute_late,
        order_id: spec.order_id,
        commit: spec.commit,
        tag: spec.tag,
    });
    Json(json!({ "armed": st.faults.len() })).into_response()
}

/// `GET /__sandbox/faults` → the faults still armed (`[{api, order_id, delay_ms, times,
/// err_info, commit, execute_late, tag}]`, `times` = uses left); a fault used up is gone.
pub async fn list_faults(AxState(shared): AxState<Shared>) -> Json<Value> {
    Json(serde_json::to_value(&lock(&shared).faults).unwrap_or(Value::Null))
}

/// `POST /__sandbox/tokens` `{"shop_id"?, "cardno", "expire", "securitycode"?, "holdername"?,
/// "tokennumber"?}`: issues tokens like getToken but for any shop id (to test `EX1000304`).
pub async fn mint_token(AxState(shared): AxState<Shared>, Json(v): Json<Value>) -> Response {
    let card = match token::validate(&v) {
        Ok(c) => c,
        Err(code) => return Json(json!({ "resultCode": code })).into_response(),
    };
    let mut st = lock(&shared);
    let shop = v
        .get("shop_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| st.cfg.shop_id.clone());
    Json(token::issue(&mut st, &shop, &card)).into_response()
}

/// The body of `POST /__sandbox/shop`; unknown fields are refused (a typo must not pass).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShopChange {
    tds_required: Option<bool>,
    /// The card contract's 支払回数 beyond 一括, as the edge's `CARD_INSTALLMENTS`.
    installments: Option<String>,
    /// Card number → the decline code the issuer now answers for it (one of
    /// [`ISSUER_DECLINE_CODES`]), or `null` to let it pay again.
    issuer_declines: Option<std::collections::HashMap<String, Option<String>>>,
}

/// Declines the simulated issuer can be told to answer for a card (the test cards' own codes:
/// insufficient funds / limit, card unusable, CVC, number, expiry).
pub const ISSUER_DECLINE_CODES: [&str; 5] = [
    "42G020000",
    "42G120000",
    "42G440000",
    "42G650000",
    "42G830000",
];

/// The shop and site as configured now. The site password is the sandbox's own fake
/// credential: shown so that a harness which started the binary can configure the edge.
fn shop_json(st: &crate::state::State) -> Value {
    json!({
        "shop_id": st.cfg.shop_id,
        "tds_required": st.tds_required,
        "tds2_timeout_minutes": st.cfg.tds2_timeout_minutes,
        "site_id": st.cfg.site_id,
        "site_pass": st.cfg.site_pass,
        "installments": crate::installments_string(&st.installments),
        "issuer_declines": st.issuer_declines,
    })
}

/// `GET /__sandbox/shop` → `{shop_id, tds_required, tds2_timeout_minutes, site_id, site_pass,
/// installments}` (`installments` in the `CARD_INSTALLMENTS` syntax, `""` = 一括 only).
pub async fn get_shop(AxState(shared): AxState<Shared>) -> Json<Value> {
    Json(shop_json(&lock(&shared)))
}

/// `POST /__sandbox/shop` `{"tds_required": true|false, "installments": "3,5,6,bonus,revolving"}`
/// (either or both): the shop's 3D必須 contract (EntryTran without `TdFlag=2` → `E01080101`) and
/// its 支払回数 contract (anything else → `42G700000`; `""` = 一括 only). A bad contract is refused
/// whole (400, nothing changed). Answers like GET. Reset restores the configured values.
pub async fn set_shop(AxState(shared): AxState<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(change) = serde_json::from_slice::<ShopChange>(&body) else {
        return bad_request(
            "expected {\"tds_required\": true|false, \"installments\": \"3,5,6,bonus,revolving\"}",
        );
    };
    let plan = match change
        .installments
        .as_deref()
        .map(crate::parse_installments)
    {
        None => None,
        Some(Ok(plan)) => Some(plan),
        Some(Err(item)) => {
            return bad_request(&format!(
                "installments: {item} is not 3, 5, 6, 10, 12, 15, 18, 20, 24, bonus or revolving"
            ));
        }
    };
    let mut declines = Vec::new();
    for (card, code) in change.issuer_declines.iter().flatten() {
        let code = match code.as_deref() {
            None => None,
            Some(c) => match ISSUER_DECLINE_CODES.iter().find(|k| **k == c) {
                Some(k) => Some(*k),
                None => {
                    return bad_request(&format!(
                        "issuer_declines: {c} is not one of {}",
                        ISSUER_DECLINE_CODES.join(", ")
                    ));
                }
            },
        };
        if card.is_empty() || !card.bytes().all(|b| b.is_ascii_digit()) {
            return bad_request("issuer_declines: card numbers are digits");
        }
        declines.push((card.clone(), code));
    }
    let mut st = lock(&shared);
    for (card, code) in declines {
        match code {
            Some(c) => st.issuer_declines.insert(card, c),
            None => st.issuer_declines.remove(&card),
        };
    }
    if let Some(required) = change.tds_required {
        st.tds_required = required;
    }
    if let Some(plan) = plan {
        st.installments = plan;
    }
    Json(shop_json(&st)).into_response()
}

/// `GET /__sandbox/members/{member_id}` → the member and its cards (masked numbers, logical and
/// physical CardSeq, default, expiry, deleted); 404 if the MemberID was never saved.
pub async fn member(AxState(shared): AxState<Shared>, Path(member_id): Path<String>) -> Response {
    let st = lock(&shared);
    match crate::site::member_json(&st, &member_id) {
        Some(v) => Json(v).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such member", "member_id": member_id })),
        )
            .into_response(),
    }
}

/// `POST /__sandbox/reset`: forgets everything (orders, members, tokens, log, faults, clock) and
/// puts the shop's settings (3D必須, 支払回数) back to the configured ones.
pub async fn reset(AxState(shared): AxState<Shared>) -> Json<Value> {
    lock(&shared).reset();
    Json(json!({ "reset": true }))
}

/// `GET /`: a small page listing the test cards.
pub async fn index() -> Html<String> {
    let rows: String = test_cards::TABLE
        .iter()
        .map(|(n, what)| format!("<tr><td><code>{n}</code></td><td>{what}</td></tr>"))
        .collect();
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>kessai GMO-PG sandbox</title>\
         <h1>kessai GMO-PG sandbox</h1><p>Protocol API under <code>/payment/*.idPass</code>, \
         token JS at <code>/ext/js/token.js</code>.</p><table>{rows}</table>"
    ))
}
