//! The protocol-type API: `/payment/<Api>.idPass`.
//!
//! Every answer is HTTP 200 `text/plain;charset=Windows-31J`, raw CP932 `Key=Value&…` built by
//! core's `encode_response`. Parameter errors of one request are collected and answered together,
//! in the order of GMO's parameter numbering (`E0101…` ShopID, `E0104…` OrderID, …), which is
//! also the order of the recorded answers (reference §5).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kessai_core::card::CardBrand;
use kessai_core::gmo::api::order_id_error;
use kessai_core::gmo::codec::{Params, decode_form, encode_response, get};
use kessai_core::gmo::errors::err_code_for;
use kessai_core::gmo::installments::{InstallmentPlan, Installments};
use kessai_core::gmo::status::{self, CHANGE_LIMIT_DAYS, JobCd, TranStatus};
use kessai_core::jst::UnixMillis;

use kessai_core::gmo::tds2::{self, CallbackType, Tds2Type};

use crate::site::{self, CardRef};
use crate::state::{
    CardData, ExecOptions, Fault, HistoryEntry, State, Tds2Closed, Trade, TradeCard, mask_last4,
    md5_hex, random_digits, random_hex,
};
use crate::test_cards::{self, Outcome, Tds2Profile};
use crate::{Shared, lock};

/// GMO's forwarding (仕向先) code on the test host.
pub const FORWARD: &str = "2a99662";
pub const DEFAULT_ITEM_CODE: &str = "0000990";
pub const MAX_AMOUNT: i64 = 9_999_999;
/// ExecTran answers `E92000001` this many times per token for the BUSY test card.
pub const BUSY_ANSWERS: u32 = 2;

pub(crate) type Pairs = Vec<(String, String)>;

/// An answer plus what the request log records about it.
pub(crate) struct Reply {
    pub pairs: Pairs,
    pub result: String,
    pub order_id: String,
}

impl Reply {
    pub(crate) fn ok(pairs: Pairs, order_id: &str) -> Reply {
        Reply {
            pairs,
            result: "OK".into(),
            order_id: order_id.into(),
        }
    }
    pub(crate) fn err(infos: &[&str], order_id: &str) -> Reply {
        Reply {
            pairs: errors(infos),
            result: infos.join("|"),
            order_id: order_id.into(),
        }
    }
}

/// `ErrCode=E01|E01&ErrInfo=E01090008|E01100008`, codes paired by core's `err_code_for`.
pub fn errors(infos: &[&str]) -> Pairs {
    let codes: Vec<String> = infos.iter().map(|i| err_code_for(i)).collect();
    vec![
        ("ErrCode".into(), codes.join("|")),
        ("ErrInfo".into(), infos.join("|")),
    ]
}

pub(crate) fn pair(k: &str, v: impl Into<String>) -> (String, String) {
    (k.to_string(), v.into())
}

fn text_response(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain;charset=Windows-31J")],
        body,
    )
        .into_response()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    EntryTran,
    ExecTran,
    AlterTran,
    ChangeTran,
    SearchTrade,
    SecureTran2,
    SaveMember,
    UpdateMember,
    SearchMember,
    DeleteMember,
    SaveCard,
    SearchCard,
    DeleteCard,
    TradedCard,
}

impl Api {
    fn parse(path: &str) -> Option<Api> {
        Some(match path.strip_suffix(".idPass")? {
            "EntryTran" => Api::EntryTran,
            "ExecTran" => Api::ExecTran,
            "AlterTran" => Api::AlterTran,
            "ChangeTran" => Api::ChangeTran,
            "SearchTrade" => Api::SearchTrade,
            "SecureTran2" => Api::SecureTran2,
            "SaveMember" => Api::SaveMember,
            "UpdateMember" => Api::UpdateMember,
            "SearchMember" => Api::SearchMember,
            "DeleteMember" => Api::DeleteMember,
            "SaveCard" => Api::SaveCard,
            "SearchCard" => Api::SearchCard,
            "DeleteCard" => Api::DeleteCard,
            "TradedCard" => Api::TradedCard,
            _ => return None,
        })
    }
}

/// Values hidden in the request log: passwords, tokens and card data.
fn masked_params(params: &Params) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    for (k, v) in params {
        let shown = match k.as_str() {
            "ShopPass" | "AccessPass" | "SitePass" | "CardPass" => "********".to_string(),
            "Token" => format!("***({} chars)", v.chars().count()),
            "CardNo" => mask_last4(v),
            "SecurityCode" => "*".repeat(v.chars().count().min(4)),
            _ => v.clone(),
        };
        out.insert(k.clone(), serde_json::Value::String(shown));
    }
    out
}

/// `/payment/{api}`: every method and every API name lands here, so that a GET or an unknown
/// API gets GMO's own error answer rather than a 404/405.
pub async fn handle(
    AxState(shared): AxState<Shared>,
    method: Method,
    Path(api_path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if api_path == "Tds2StubCallback.idPass" && method == Method::GET {
        return crate::tds2::redirect_page(&shared, &query);
    }
    let name = api_path
        .strip_suffix(".idPass")
        .unwrap_or(&api_path)
        .to_string();
    // A fault may hold the call back before it executes (still running at "GMO").
    let late = {
        let params = decode_form(&body).ok();
        let mut st = lock(&shared);
        // AlterTran/ChangeTran name no OrderID: their AccessID says which order.
        let order_id = params
            .as_ref()
            .map(|p| log_order_id(&st, p))
            .filter(|o| !o.is_empty());
        let is_late = st.faults.iter().any(|f| {
            f.api == name
                && f.execute_late
                && f.times > 0
                && (f.order_id.is_none() || f.order_id == order_id)
        });
        if is_late {
            st.take_fault(&name, order_id.as_deref())
        } else {
            None
        }
    };
    if let Some(f) = late {
        // Like GMO, the call runs to the end even if the client hangs up meanwhile: it lives in
        // its own task, not in this (droppable) handler.
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
            execute(&shared, &method, &api_path, &name, &body, true)
        });
        return match task.await {
            Ok((bytes, _)) => text_response(bytes),
            Err(_) => text_response(encode_response(&[
                ("ErrCode", "E91"),
                ("ErrInfo", "E91099999"),
            ])),
        };
    }
    let (bytes, delay) = execute(&shared, &method, &api_path, &name, &body, false);
    if delay > 0 {
        // The state change has already happened; only the answer is late (a lost answer).
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    text_response(bytes)
}

/// Decodes, dispatches and logs one protocol call; returns the answer and how late to send it.
fn execute(
    shared: &Shared,
    method: &Method,
    api_path: &str,
    name: &str,
    body: &[u8],
    late: bool,
) -> (Vec<u8>, u64) {
    {
        let mut st = lock(shared);
        let decoded = decode_form(body);
        let mut delay = 0;
        let (mut reply, params) = match (method == Method::POST, Api::parse(api_path), decoded) {
            // GMO answers GET (any non-POST) with E31500014 (reference §2a).
            (false, _, _) => (Reply::err(&["E31500014"], ""), Vec::new()),
            // E91099997: the requested API does not exist.
            (true, None, _) => (Reply::err(&["E91099997"], ""), Vec::new()),
            // [U] GMO's answer to an undecodable body (bad escape, not CP932) is not documented;
            // E00000003 is its request-format class.
            (true, Some(_), Err(_)) => (Reply::err(&["E00000003"], ""), Vec::new()),
            (true, Some(api), Ok(params)) => {
                let fault = if late {
                    None
                } else {
                    // AlterTran/ChangeTran name no OrderID: their AccessID says which order.
                    let order_id = log_order_id(&st, &params);
                    st.take_fault(name, Some(order_id.as_str()).filter(|o| !o.is_empty()))
                };
                delay = fault.as_ref().map(|f| f.delay_ms).unwrap_or(0);
                let reply = match fault {
                    // An injected error after the call was executed: the outcome is committed,
                    // the answer says "unknown" (E90/E91/42C).
                    Some(Fault {
                        err_info: Some(info),
                        commit: true,
                        ..
                    }) => {
                        let done = dispatch(api, &params, &mut st);
                        let mut reply = Reply::err(&[info.as_str()], "");
                        reply.order_id = done.order_id;
                        reply
                    }
                    // An injected error: nothing is executed.
                    Some(Fault {
                        err_info: Some(info),
                        ..
                    }) => Reply::err(&[info.as_str()], ""),
                    _ => dispatch(api, &params, &mut st),
                };
                (reply, params)
            }
        };
        if reply.order_id.is_empty() {
            reply.order_id = log_order_id(&st, &params);
        }
        let masked = masked_params(&params);
        st.record(name, reply.order_id, masked, reply.result, delay);
        (encode_response(&reply.pairs), delay)
    }
}

/// The OrderID a request is about, for the log: its own, or its AccessID's transaction's.
fn log_order_id(st: &State, params: &Params) -> String {
    if let Some(o) = get(params, "OrderID").filter(|o| !o.is_empty()) {
        return o.to_string();
    }
    get(params, "AccessID")
        .and_then(|a| st.by_access.get(a))
        .cloned()
        .unwrap_or_default()
}

fn dispatch(api: Api, params: &Params, st: &mut State) -> Reply {
    // Abandoned 3-D Secure authentications fall back to UNPROCESSED before anything reads them.
    crate::tds2::settle_expired(st);
    match api {
        Api::EntryTran => entry_tran(st, params),
        Api::ExecTran => exec_tran(st, params),
        Api::AlterTran => alter_tran(st, params),
        Api::ChangeTran => change_tran(st, params),
        Api::SearchTrade => search_trade(st, params),
        Api::SecureTran2 => crate::tds2::secure_tran2(st, params),
        Api::SaveMember => site::save_member(st, params),
        Api::UpdateMember => site::update_member(st, params),
        Api::SearchMember => site::search_member(st, params),
        Api::DeleteMember => site::delete_member(st, params),
        Api::SaveCard => site::save_card(st, params),
        Api::SearchCard => site::search_card(st, params),
        Api::DeleteCard => site::delete_card(st, params),
        Api::TradedCard => site::traded_card(st, params),
    }
}

pub(crate) fn val<'a>(params: &'a Params, key: &str) -> &'a str {
    get(params, key).unwrap_or("")
}

pub(crate) fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// ShopID/ShopPass: format, then existence. True when they name this sandbox's shop.
pub(crate) fn check_shop(st: &State, params: &Params, errs: &mut Vec<&'static str>) -> bool {
    let id = val(params, "ShopID");
    let pass = val(params, "ShopPass");
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    let mut formats_ok = true;
    if id.is_empty() {
        errs.push("E01010001");
        formats_ok = false;
    } else if id.len() > 13 || !alnum(id) {
        errs.push("E01010008");
        formats_ok = false;
    }
    if pass.is_empty() {
        errs.push("E01020001");
        formats_ok = false;
    } else if pass.len() > 10 || !alnum(pass) {
        // GMO's limit is 10 alphanumerics (E01020008).
        errs.push("E01020008");
        formats_ok = false;
    }
    if formats_ok && (id != st.cfg.shop_id || pass != st.cfg.shop_pass) {
        errs.push("E01030002");
        return false;
    }
    formats_ok
}

/// AccessID/AccessPass: format (32 alphanumerics), then the transaction. Like the recorded
/// all-"null" ExecTran answer, a failed lookup is reported next to the format errors.
pub(crate) fn check_access(
    st: &State,
    params: &Params,
    errs: &mut Vec<&'static str>,
) -> Option<String> {
    let id = val(params, "AccessID");
    let pass = val(params, "AccessPass");
    let well_formed = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_alphanumeric());
    if id.is_empty() {
        errs.push("E01090001");
    } else if !well_formed(id) {
        errs.push("E01090008");
    }
    if pass.is_empty() {
        errs.push("E01100001");
    } else if !well_formed(pass) {
        errs.push("E01100008");
    }
    if id.is_empty() || pass.is_empty() {
        return None;
    }
    match st.trade_by_access(id, pass) {
        Some(t) => Some(t.order_id.clone()),
        None => {
            errs.push("E01110002");
            None
        }
    }
}

/// `JobCd`: required (E01050001) and one this API accepts (E01050002).
fn check_job_cd(
    params: &Params,
    accepted: impl Fn(JobCd) -> bool,
    errs: &mut Vec<&'static str>,
) -> Option<JobCd> {
    match val(params, "JobCd") {
        "" => {
            errs.push("E01050001");
            None
        }
        s => {
            let job = JobCd::parse(s).filter(|j| accepted(*j));
            if job.is_none() {
                errs.push("E01050002");
            }
            job
        }
    }
}

/// `Amount`: 1..=9,999,999 yen. [U] GMO's code for 0 is not in the reference; E01060005 (out
/// of range / too many digits) is used.
fn check_amount(v: &str, required: bool, errs: &mut Vec<&'static str>) -> Option<i64> {
    if v.is_empty() {
        if required {
            errs.push("E01060001");
        }
        return None;
    }
    if !all_digits(v) {
        errs.push("E01060006");
        return None;
    }
    match v.parse::<i64>() {
        Ok(a) if v.len() <= 7 && (1..=MAX_AMOUNT).contains(&a) => Some(a),
        _ => {
            errs.push("E01060005");
            None
        }
    }
}

fn check_tax(v: &str, errs: &mut Vec<&'static str>) -> Option<i64> {
    if v.is_empty() {
        return Some(0);
    }
    if !all_digits(v) {
        errs.push("E01070006");
        return None;
    }
    match v.parse::<i64>() {
        Ok(t) if v.len() <= 7 => Some(t),
        _ => {
            errs.push("E01070005");
            None
        }
    }
}

/// `Method` 1 一括, 2 分割, 3 ボーナス一括, 4 ボーナス分割, 5 リボ (reference §2b; not the
/// swapped 4/5 of some wrappers). `PayTimes` only for 2 and 4, where it is required.
/// [U] the accepted PayTimes values depend on the contract; 2..=99 is accepted here.
fn check_method(params: &Params, errs: &mut Vec<&'static str>) -> Option<(String, String)> {
    let method = val(params, "Method");
    let pay_times = val(params, "PayTimes");
    if method.is_empty() {
        errs.push("E01260001");
        return None;
    }
    if !matches!(method, "1" | "2" | "3" | "4" | "5") {
        errs.push("E01260002");
        return None;
    }
    if matches!(method, "2" | "4") {
        if pay_times.is_empty() {
            errs.push("E01270001");
            return None;
        }
        if !all_digits(pay_times) {
            errs.push("E01270006");
            return None;
        }
        if pay_times.len() > 2 {
            errs.push("E01270005");
            return None;
        }
        match pay_times.parse::<u32>() {
            Ok(n) if n >= 2 => {}
            _ => {
                errs.push("E01270010");
                return None;
            }
        }
        return Some((method.to_string(), pay_times.to_string()));
    }
    Some((method.to_string(), String::new()))
}

pub(crate) fn cp932_len(s: &str) -> usize {
    encoding_rs::SHIFT_JIS.encode(s).0.len()
}

pub(crate) fn now_strings(st: &State) -> (UnixMillis, String) {
    let now = st.now();
    (now, now.to_jst().gmo_format())
}

pub(crate) fn push_history(
    trade: &mut Trade,
    at: &str,
    api: &'static str,
    job: &str,
    result: &str,
) {
    let tran_id = trade.tran_id.clone();
    trade.history.push(HistoryEntry {
        at: at.to_string(),
        api,
        job_cd: job.to_string(),
        result: result.to_string(),
        tran_id,
    });
}

// ---------------------------------------------------------------------------------------------
// EntryTran

fn entry_tran(st: &mut State, params: &Params) -> Reply {
    let mut errs = Vec::new();
    let shop_ok = check_shop(st, params, &mut errs);
    let order_id = val(params, "OrderID");
    let order_error = order_id_error(order_id);
    match order_error {
        Some(e) => errs.push(e),
        None if shop_ok && st.order_ids.contains(order_id) => errs.push("E01040010"),
        None => {}
    }
    let job = check_job_cd(params, JobCd::valid_for_entry, &mut errs);
    // CHECK (有効性チェック) carries no amount.
    let amount = if job == Some(JobCd::Check) {
        Some(0)
    } else {
        check_amount(val(params, "Amount"), true, &mut errs)
    };
    let tax = check_tax(val(params, "Tax"), &mut errs);
    // TdFlag 0 (none) or 2 (3-D Secure 2). [U] The sandbox does not simulate obsolete 3-D Secure 1
    // (TdFlag=1) and refuses it like an undefined value.
    let td_flag = match val(params, "TdFlag") {
        "" | "0" => "0",
        "2" => "2",
        _ => {
            errs.push("E01080007");
            "0"
        }
    };
    if td_flag == "0" && st.tds_required && !errs.contains(&"E01080007") {
        // A 3D必須 shop takes no payment without 3-D Secure (reference §4c).
        errs.push(tds2::TDS_REQUIRED_BY_SHOP);
    }
    let item_code = match val(params, "ItemCode") {
        "" => DEFAULT_ITEM_CODE.to_string(),
        c if c.len() == 7 && all_digits(c) => c.to_string(),
        _ => {
            errs.push("E01450008");
            DEFAULT_ITEM_CODE.to_string()
        }
    };
    if let (Some(a), Some(t)) = (amount, tax)
        && a + t > MAX_AMOUNT
    {
        errs.push("E01490005");
    }
    let tenant_name = check_tenant_name(val(params, "TdTenantName"), &mut errs);
    let tds2_type = check_tds2_type(val(params, "Tds2Type"), &mut errs);
    // OrderIDs are unique per shop forever (reference §2b). [U] Whether a failed EntryTran
    // reserves its OrderID is not documented; the sandbox reserves it whenever the shop and
    // the OrderID itself are valid, the strictest reading.
    if shop_ok && order_error.is_none() {
        st.order_ids.insert(order_id.to_string());
    }
    let (Some(job), Some(amount), Some(tax), true) = (job, amount, tax, errs.is_empty()) else {
        return Reply::err(&errs, order_id);
    };
    let access_id = random_hex(32);
    let access_pass = random_hex(32);
    let (_, now_s) = now_strings(st);
    let mut trade = Trade {
        order_id: order_id.to_string(),
        access_id: access_id.clone(),
        access_pass: access_pass.clone(),
        status: TranStatus::Unprocessed,
        job_cd: job,
        entry_job_cd: job,
        amount,
        tax,
        item_code,
        td_flag: td_flag.to_string(),
        tds2_type,
        tenant_name,
        tds2_result: None,
        tds2_eci: None,
        method: String::new(),
        pay_times: String::new(),
        card: None,
        paid_card: None,
        member: None,
        forward: String::new(),
        approve: String::new(),
        tran_id: String::new(),
        tran_date: String::new(),
        process_date: now_s.clone(),
        executed_at: None,
        auth_at: None,
        last_tran_at: None,
        client_fields: Default::default(),
        tds2: None,
        history: Vec::new(),
    };
    push_history(&mut trade, &now_s, "EntryTran", job.as_str(), "OK");
    st.by_access.insert(access_id.clone(), order_id.to_string());
    st.trades.insert(order_id.to_string(), trade);
    Reply::ok(
        vec![pair("AccessID", access_id), pair("AccessPass", access_pass)],
        order_id,
    )
}

/// `TdTenantName`: Base64 of ≤ 25 EUC-JP bytes (core's `decode_tenant_name`), else
/// `E01800010` [U code, core's convention]. Empty means "not given" (GMO then shows the shop's
/// registered name). [U] It is checked whatever the TdFlag, like any other parameter.
fn check_tenant_name(v: &str, errs: &mut Vec<&'static str>) -> Option<String> {
    if v.is_empty() {
        return None;
    }
    match tds2::decode_tenant_name(v) {
        Ok(name) => Some(name),
        Err(_) => {
            errs.push(tds2::TENANT_NAME_INVALID);
            None
        }
    }
}

/// `Tds2Type`: empty/`1`/`2`/`3`. [U] GMO's code for another value is not in the reference;
/// `E01820007` (an E01 "invalid value", numbered after TdTenantName) is the sandbox's.
fn check_tds2_type(v: &str, errs: &mut Vec<&'static str>) -> Tds2Type {
    match Tds2Type::parse(v) {
        Some(t) => t,
        None => {
            errs.push(TDS2_TYPE_INVALID);
            Tds2Type::FallBackTo3ds1
        }
    }
}

/// [U] sandbox codes for 3-D Secure parameters the reference gives no code for.
pub(crate) const TDS2_TYPE_INVALID: &str = "E01820007";
pub(crate) const RET_URL_INVALID: &str = "E01530008";
pub(crate) const CALLBACK_TYPE_INVALID: &str = "E01540007";
pub(crate) const CALLBACK_TYPE_DIRECT: &str = "E01540010";

// ---------------------------------------------------------------------------------------------
// ExecTran

/// Where ExecTran's card comes from.
enum CardSource<'p> {
    /// `CardNo`+`Expire`: refused by the contract (E61040001) once the parameters are valid.
    Raw,
    Token(&'p str),
    /// A member's stored card (`SiteID+SitePass+MemberID+SeqMode+CardSeq`).
    Stored(CardRef),
}

/// ExecTran's card: raw `CardNo`, member fields or `Token`, with their format errors. [U] GMO's
/// precedence when several are sent is not documented: a raw number wins (and is refused), then
/// the member fields (checked by [`site::check_card_ref`]); a Token sent with them stays unused.
fn check_card_source<'p>(
    st: &State,
    params: &'p Params,
    errs: &mut Vec<&'static str>,
) -> Option<CardSource<'p>> {
    let card_no = val(params, "CardNo");
    if !card_no.is_empty() {
        // Both checks report, length first (the recorded all-"null" answer has E01170011 and
        // E01170006 side by side).
        if !(10..=16).contains(&card_no.len()) {
            errs.push("E01170011");
        }
        if !card_no.bytes().all(|b| b.is_ascii_digit()) {
            errs.push("E01170006");
        }
        let expire = val(params, "Expire");
        if expire.is_empty() {
            errs.push("E01180001");
        } else if !expire.bytes().all(|b| b.is_ascii_digit()) {
            errs.push("E01180006");
        } else if expire.len() != 4 {
            errs.push("E01180003");
        }
        return Some(CardSource::Raw);
    }
    if !val(params, "SiteID").is_empty() || !val(params, "MemberID").is_empty() {
        return site::check_card_ref(st, params, errs).map(CardSource::Stored);
    }
    match val(params, "Token") {
        "" => {
            errs.push("E01170001");
            None
        }
        token => Some(CardSource::Token(token)),
    }
}

/// ExecTran's own parameters besides the card: Method/PayTimes (not for CHECK), SecurityCode,
/// ClientField1-3 and ClientFieldFlag.
fn check_exec_options(
    params: &Params,
    entry_job: Option<JobCd>,
    errs: &mut Vec<&'static str>,
) -> Option<ExecOptions> {
    // Method is required unless the transaction is a CHECK; with no transaction found there is
    // nothing to check it against (the recorded all-"null" answer has no Method error).
    let method = match entry_job {
        Some(JobCd::Check) | None => Some((val(params, "Method").to_string(), String::new())),
        Some(_) => check_method(params, errs),
    };
    let cvc = val(params, "SecurityCode");
    if !cvc.is_empty() && (cvc.len() > 4 || !all_digits(cvc)) {
        errs.push("E01460008");
    }
    let mut client_fields: [String; 3] = Default::default();
    for (i, code) in ["E01320012", "E01330012", "E01340012"].iter().enumerate() {
        let v = val(params, &format!("ClientField{}", i + 1));
        if cp932_len(v) > 100 {
            errs.push(code);
        }
        client_fields[i] = v.to_string();
    }
    let flag = match val(params, "ClientFieldFlag") {
        "" | "0" => false,
        "1" => true,
        _ => {
            errs.push("E01400007");
            false
        }
    };
    let (method, pay_times) = method?;
    Some(ExecOptions {
        method,
        pay_times,
        client_fields,
        client_field_flag: flag,
        member: None,
    })
}

fn exec_tran(st: &mut State, params: &Params) -> Reply {
    let mut errs = Vec::new();
    let found = check_access(st, params, &mut errs);
    let order_id = val(params, "OrderID");
    if order_id.is_empty() {
        errs.push("E01040001");
    } else if let Some(o) = &found
        && o != order_id
    {
        // [U] GMO's code for an OrderID that does not belong to the AccessID is not in the
        // reference; "transaction not found" is the natural reading.
        errs.push("E01110002");
    }
    let trade = found.as_ref().and_then(|o| st.trades.get(o));
    let entry_job = trade.map(|t| t.entry_job_cd);
    let td2 = trade.is_some_and(|t| t.td_flag == "2");
    let source = check_card_source(st, params, &mut errs);
    let exec = check_exec_options(params, entry_job, &mut errs);
    let callback = if td2 {
        check_tds2_return(params, &mut errs)
    } else {
        None
    };
    let (Some(order), Some(source), Some(mut exec), true) = (found, source, exec, errs.is_empty())
    else {
        return Reply::err(&errs, order_id);
    };
    // Contract: raw card numbers are refused — tokens are mandatory (reference §2b, §5).
    if matches!(source, CardSource::Raw) {
        return fail_exec(st, &order, "E61040001");
    }
    if let Some(t) = st.trades.get(&order)
        && t.status.is_settled()
    {
        return fail_exec(st, &order, "E11010001");
    }
    let card = match source {
        // Answered above; kept so the match stays total.
        CardSource::Raw => Err("E61040001"),
        CardSource::Token(token) => take_token(st, token),
        CardSource::Stored(card_ref) => site::stored_card(st, &card_ref).map(|(card, member)| {
            exec.member = Some(member);
            // GMO keeps no security code; ExecTran may send one (optional for a stored card).
            CardData {
                has_cvc: !val(params, "SecurityCode").is_empty(),
                ..card
            }
        }),
    };
    let card = match card {
        Ok(card) => card,
        Err(code) => return fail_exec(st, &order, code),
    };
    match (td2, callback) {
        (true, Some(callback)) => {
            exec_tds2(st, &order, card, exec, val(params, "RetUrl"), callback)
        }
        // Not reachable: with TdFlag=2 a missing CallbackType was answered above.
        (true, None) => fail_exec(st, &order, CALLBACK_TYPE_INVALID),
        (false, _) => plain_authorization(st, &order, &card, &exec),
    }
}

/// Takes the card behind a token for ExecTran or SaveCard. Checks, in this order: exists, this
/// shop's, unused, within 30 minutes. The BUSY test card answers E92000001 the first
/// [`BUSY_ANSWERS`] times without consuming the token (reference §3c: "nothing was executed";
/// [U] whether GMO keeps the token usable after E92); otherwise the token is used up.
pub(crate) fn take_token(st: &mut State, token: &str) -> Result<CardData, &'static str> {
    let now = st.now();
    let shop_id = st.cfg.shop_id.clone();
    let Some(tok) = st.tokens.get_mut(token) else {
        return Err("EX1000301");
    };
    if tok.shop_id != shop_id {
        return Err("EX1000304");
    }
    if tok.used {
        return Err("EX1000302");
    }
    if now.0 >= tok.issued_at.plus_minutes(crate::TOKEN_LIFETIME_MINUTES).0 {
        return Err("EX1000303");
    }
    if test_cards::outcome(&tok.card_no) == Outcome::Busy && tok.busy_answers < BUSY_ANSWERS {
        tok.busy_answers += 1;
        return Err("E92000001");
    }
    tok.used = true;
    Ok(CardData {
        card_no: tok.card_no.clone(),
        expire: tok.expire.clone(),
        has_cvc: tok.has_cvc,
        holder: tok.holder.clone(),
    })
}

/// A 支払回数 outside the shop's card contract (ErrCode G70; core maps it to the 支払方法
/// message). [U] The reference does not give GMO's exact code for a Method outside the shop's
/// contract; 42G67–42G81 is the documented installment/bonus parameter range. (Public
/// transcriptions of GMO's list name 42G70 ボーナス回数 and 42G74 分割回数; GMO may also refuse
/// with E01260010/E01270010 before asking the issuer.)
pub(crate) const METHOD_NOT_CONTRACTED: &str = "42G700000";

/// Whether the contract holds this `Method`/`PayTimes` (already format-checked).
fn contracted(plan: &InstallmentPlan, method: &str, pay_times: &str) -> bool {
    let pay = match method {
        "1" => Some(Installments::Lump),
        "2" => pay_times.parse::<u8>().ok().map(Installments::Split),
        "3" => Some(Installments::BonusLump),
        "5" => Some(Installments::Revolving),
        // "4" (ボーナス分割) is never contracted; check_method refused every other value.
        _ => None,
    };
    pay.is_some_and(|p| plan.allows(p))
}

/// ExecTran with TdFlag=2: where and how the browser comes back (`RetUrl`, `CallbackType`).
fn check_tds2_return(params: &Params, errs: &mut Vec<&'static str>) -> Option<CallbackType> {
    let ret_url = val(params, "RetUrl");
    if ret_url.is_empty() {
        errs.push("E01530001");
    } else if !is_http_url(ret_url) {
        // [U] code: GMO's format errors end in 0008 (E01090008, E01010008).
        errs.push(RET_URL_INVALID);
    }
    match CallbackType::parse(val(params, "CallbackType")) {
        Some(CallbackType::Post) => Some(CallbackType::Post),
        Some(CallbackType::Get) => Some(CallbackType::Get),
        // [U] Direct (Tds2Auth/Tds2Result) is real but not simulated: refused loudly rather than
        // treated like POST, so a client relying on it cannot pass against the sandbox.
        Some(CallbackType::Direct) => {
            errs.push(CALLBACK_TYPE_DIRECT);
            None
        }
        None => {
            errs.push(CALLBACK_TYPE_INVALID);
            None
        }
    }
}

/// An absolute `http(s)://host…` URL.
fn is_http_url(s: &str) -> bool {
    reqwest::Url::parse(s).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// ExecTran under TdFlag=2 once the token is consumed: an enrolled card starts 3-D Secure 2
/// (ACS=2); for a card outside it the EntryTran's `Tds2Type` decides.
fn exec_tds2(
    st: &mut State,
    order: &str,
    card: CardData,
    exec: ExecOptions,
    ret_url: &str,
    callback: CallbackType,
) -> Reply {
    match test_cards::tds2_profile(&card.card_no) {
        Tds2Profile::Frictionless(_) | Tds2Profile::Challenge => {
            crate::tds2::start(st, order, card, exec, ret_url, callback)
        }
        Tds2Profile::NotEnrolled => {
            let tds2_type = st
                .trades
                .get(order)
                .map(|t| t.tds2_type)
                .unwrap_or(Tds2Type::FallBackTo3ds1);
            match tds2_type {
                Tds2Type::PlainAuthorization => plain_authorization(st, order, &card, &exec),
                // [U] Tds2Type=1 asks GMO to fall back to 3-D Secure 1, which the card brands
                // switched off in 2022 and the sandbox does not simulate: refused like 2. The
                // token stays consumed [U], the transaction UNPROCESSED.
                Tds2Type::Refuse | Tds2Type::FallBackTo3ds1 => {
                    fail_exec(st, order, tds2::CARD_NOT_ENROLLED)
                }
            }
        }
    }
}

/// ExecTran's authorisation without 3-D Secure: ACS=0 and the authorisation fields.
fn plain_authorization(st: &mut State, order: &str, card: &CardData, exec: &ExecOptions) -> Reply {
    match authorize(st, order, card, exec, "ExecTran") {
        Ok(mut pairs) => {
            pairs.insert(0, pair("ACS", "0"));
            Reply::ok(pairs, order)
        }
        Err(code) => Reply::err(&[code], order),
    }
}

/// Records a refused ExecTran on the transaction and answers it.
pub(crate) fn fail_exec(st: &mut State, order: &str, code: &'static str) -> Reply {
    let (_, now_s) = now_strings(st);
    if let Some(t) = st.trades.get_mut(order) {
        let job = t.entry_job_cd.as_str();
        push_history(t, &now_s, "ExecTran", job, code);
    }
    Reply::err(&[code], order)
}

/// What the simulated issuer answers for a card now: its test-card outcome, with an approving
/// card whose expiry month (`YYMM`, JST) has passed declined `42G830000`. ExecTran's
/// authorisation and SaveCard's card check both ask it.
pub(crate) fn issuer_outcome(st: &State, card: &CardData) -> Outcome {
    let jst = st.now().to_jst();
    if let Some(code) = st.issuer_declines.get(&card.card_no) {
        return Outcome::Decline(code);
    }
    let outcome = test_cards::outcome(&card.card_no);
    let expired = {
        let yy = card.expire.get(..2).and_then(|s| s.parse::<i32>().ok());
        let mm = card.expire.get(2..4).and_then(|s| s.parse::<u8>().ok());
        match (yy, mm) {
            (Some(y), Some(m)) => (2000 + y, m) < (jst.year, jst.month),
            _ => true,
        }
    };
    if expired && outcome == Outcome::Approve {
        return Outcome::Decline("42G830000");
    }
    outcome
}

/// The simulated issuer authorises `card_no` for the transaction. On success (and for the
/// "committed but failed" test cards) the transaction moves to its JobCd's status with a new
/// Approve/TranID/TranDate and remembers the card (TradedCard stores it later). Declines leave
/// it UNPROCESSED (reference §2c), retryable with a new token on the same AccessID.
pub(crate) fn authorize(
    st: &mut State,
    order: &str,
    card: &CardData,
    exec: &ExecOptions,
    api: &'static str,
) -> Result<Pairs, &'static str> {
    let (now, now_s) = now_strings(st);
    // The card contract's 支払回数 is checked with the authorisation, like the issuer's own
    // declines (it is a 42G code): after 3-D Secure, with the token used up [U: where in its
    // flow GMO checks it]. CHECK (有効性チェック) has no 支払回数.
    let entry_job = st.trades.get(order).map(|t| t.entry_job_cd);
    let outcome = if entry_job != Some(JobCd::Check)
        && !contracted(&st.installments, &exec.method, &exec.pay_times)
    {
        Outcome::Decline(METHOD_NOT_CONTRACTED)
    } else {
        issuer_outcome(st, card)
    };
    let result = match outcome {
        Outcome::Approve => "OK",
        Outcome::CommitThenFail(code) => code,
        // Busy is answered before the token is consumed (take_token); here it approves.
        Outcome::Busy => "OK",
        Outcome::Decline(code) => {
            if let Some(t) = st.trades.get_mut(order) {
                let job = t.entry_job_cd.as_str();
                push_history(t, &now_s, api, job, code);
            }
            return Err(code);
        }
    };
    // The authorisation ends any 3-D Secure 2 still open on this transaction.
    if let Some(p) = st.trades.get_mut(order).and_then(|t| t.tds2.take()) {
        let why = if api == "SecureTran2" {
            Tds2Closed::Authorized
        } else {
            Tds2Closed::Replaced
        };
        st.tds2_closed.insert(p.trans_id, (why, p.t));
    }
    let tran_id = st.new_tran_id();
    let approve = random_digits(7);
    let shop_pass = st.cfg.shop_pass.clone();
    let Some(t) = st.trades.get_mut(order) else {
        return Err("E01110002");
    };
    t.status = t.entry_job_cd.exec_result().unwrap_or(TranStatus::Auth);
    t.job_cd = t.entry_job_cd;
    t.forward = FORWARD.to_string();
    t.approve = approve;
    t.tran_id = tran_id;
    t.tran_date = now_s.clone();
    t.process_date = now_s.clone();
    t.executed_at = Some(now);
    t.auth_at = Some(now);
    t.last_tran_at = Some(now);
    t.method = exec.method.clone();
    t.pay_times = exec.pay_times.clone();
    t.client_fields = exec.client_fields.clone();
    t.card = Some(TradeCard {
        card_no: mask_last4(&card.card_no),
        expire: card.expire.clone(),
        brand: CardBrand::detect(&card.card_no).label(),
        holder_name: card.holder.clone(),
        security_code_set: card.has_cvc,
    });
    t.paid_card = Some(card.clone());
    t.member = exec.member.clone();
    let job = t.entry_job_cd.as_str();
    push_history(t, &now_s, api, job, result);
    if let Outcome::CommitThenFail(code) = outcome {
        return Err(code);
    }
    Ok(exec_answer(t, exec.client_field_flag, &shop_pass))
}

/// The authorisation fields of ExecTran (without `ACS`) and SecureTran2.
fn exec_answer(t: &Trade, client_field_flag: bool, shop_pass: &str) -> Pairs {
    // [U] CheckString field order (reference §2b): MD5 of OrderID, Forward, Method, PayTimes,
    // Approve, TranID, TranDate and the shop password, concatenated.
    let check = md5_hex(&format!(
        "{}{}{}{}{}{}{}{}",
        t.order_id, t.forward, t.method, t.pay_times, t.approve, t.tran_id, t.tran_date, shop_pass
    ));
    let mut pairs = vec![
        pair("OrderID", t.order_id.clone()),
        pair("Forward", t.forward.clone()),
        pair("Method", t.method.clone()),
        pair("PayTimes", t.pay_times.clone()),
        pair("Approve", t.approve.clone()),
        pair("TranID", t.tran_id.clone()),
        pair("TranDate", t.tran_date.clone()),
        pair("CheckString", check),
    ];
    if client_field_flag {
        for (i, v) in t.client_fields.iter().enumerate() {
            pairs.push(pair(&format!("ClientField{}", i + 1), v.clone()));
        }
    }
    pairs
}

// ---------------------------------------------------------------------------------------------
// AlterTran / ChangeTran

/// GMO refuses any change to a transaction authorised more than 180 days ago (E11010010).
fn beyond_change_limit(t: &Trade, now: UnixMillis) -> bool {
    t.executed_at
        .is_some_and(|at| days_between(at, now) > CHANGE_LIMIT_DAYS)
        && t.status.is_settled()
}

/// Records a refused AlterTran/ChangeTran in the transaction's history and answers the error.
fn refuse_change(
    st: &mut State,
    order: &str,
    now_s: &str,
    api: &'static str,
    job: JobCd,
    code: &'static str,
) -> Reply {
    if let Some(t) = st.trades.get_mut(order) {
        push_history(t, now_s, api, job.as_str(), code);
    }
    Reply::err(&[code], order)
}

fn days_between(a: UnixMillis, b: UnixMillis) -> i64 {
    (b.0 - a.0).div_euclid(86_400_000)
}

fn alter_answer(t: &Trade) -> Pairs {
    vec![
        pair("AccessID", t.access_id.clone()),
        pair("AccessPass", t.access_pass.clone()),
        pair("Forward", t.forward.clone()),
        pair("Approve", t.approve.clone()),
        pair("TranID", t.tran_id.clone()),
        pair("TranDate", t.tran_date.clone()),
    ]
}

/// Why AlterTran may not run `job` on `t` (the error), or the status it leads to.
fn alter_refusal(
    st: &State,
    t: &Trade,
    job: JobCd,
    amount: Option<i64>,
    method: Option<&(String, String)>,
    now: UnixMillis,
) -> Result<TranStatus, &'static str> {
    if beyond_change_limit(t, now) {
        return Err("E11010010");
    }
    let next = status::alter(t.status, job).map_err(|r| r.0)?;
    // A re-authorisation asks the issuer again, under the same card contract as ExecTran.
    if let Some((m, p)) = method
        && !contracted(&st.installments, m, p)
    {
        return Err(METHOD_NOT_CONTRACTED);
    }
    match job {
        JobCd::Sales => {
            if amount != Some(t.amount) {
                return Err("E01060010");
            }
            if let Some(at) = t.auth_at
                && now.0 > at.plus_days(st.cfg.auth_validity_days).0
            {
                return Err("E01420010");
            }
        }
        JobCd::Void | JobCd::Return | JobCd::Returnx => {
            let last = t.last_tran_at.unwrap_or(now).to_jst();
            let expected = status::cancel_job(t.status, &last, &now.to_jst());
            // The test host accepted RETURN on a same-day AUTH (reference §4a, RB cassette [C]),
            // so the sandbox does too. [U] Any other misclassified cancel (RETURN on a same-day
            // SALES, VOID the next day, RETURNX in the same month) has no documented answer:
            // refused with E01050004 (処理区分の処理は実行出来ません, the closest documented
            // code) so a client following GMO's plugins' rule is checked; lenient_cancel accepts all.
            let same_day_auth_return =
                job == JobCd::Return && expected == JobCd::Void && t.status == TranStatus::Auth;
            if job != expected && !same_day_auth_return && !st.cfg.lenient_cancel {
                return Err("E01050004");
            }
        }
        // Re-authorisations (their states were checked by `status::alter`); CHECK is refused
        // there.
        JobCd::Auth | JobCd::Capture | JobCd::Sauth | JobCd::Check => {}
    }
    Ok(next)
}

fn alter_tran(st: &mut State, params: &Params) -> Reply {
    let mut errs = Vec::new();
    check_shop(st, params, &mut errs);
    let found = check_access(st, params, &mut errs);
    let job = check_job_cd(params, |_| true, &mut errs);
    let reauth = matches!(job, Some(JobCd::Auth | JobCd::Capture | JobCd::Sauth));
    let amount_needed = reauth || job == Some(JobCd::Sales);
    let amount = if amount_needed {
        check_amount(val(params, "Amount"), true, &mut errs)
    } else {
        None
    };
    let tax = check_tax(val(params, "Tax"), &mut errs);
    let method = if reauth {
        check_method(params, &mut errs)
    } else {
        None
    };
    let (Some(order), Some(job), Some(tax), true) = (found, job, tax, errs.is_empty()) else {
        return Reply::err(&errs, "");
    };
    let (now, now_s) = now_strings(st);
    let Some(t) = st.trades.get(&order) else {
        return Reply::err(&["E01110002"], &order);
    };
    let next = match alter_refusal(st, t, job, amount, method.as_ref(), now) {
        Ok(next) => next,
        Err(code) => return refuse_change(st, &order, &now_s, "AlterTran", job, code),
    };
    let tran_id = st.new_tran_id();
    let approve = random_digits(7);
    let Some(t) = st.trades.get_mut(&order) else {
        return Reply::err(&["E01110002"], &order);
    };
    if job != JobCd::Sales {
        // SALES keeps the authorisation's Approve/TranID (recorded cassette); everything else
        // gets new ones.
        t.tran_id = tran_id;
        t.approve = approve;
    }
    if reauth {
        t.amount = amount.unwrap_or(t.amount);
        t.tax = tax;
        if let Some((m, p)) = method {
            t.method = m;
            t.pay_times = p;
        }
        t.auth_at = Some(now);
    }
    t.status = next;
    t.job_cd = job;
    t.tran_date = now_s.clone();
    t.process_date = now_s.clone();
    t.last_tran_at = Some(now);
    push_history(t, &now_s, "AlterTran", job.as_str(), "OK");
    Reply::ok(alter_answer(t), &order)
}

fn change_tran(st: &mut State, params: &Params) -> Reply {
    let mut errs = Vec::new();
    check_shop(st, params, &mut errs);
    let found = check_access(st, params, &mut errs);
    let job = check_job_cd(params, |_| true, &mut errs);
    let amount = check_amount(val(params, "Amount"), true, &mut errs);
    let tax = check_tax(val(params, "Tax"), &mut errs);
    if let (Some(a), Some(t)) = (amount, tax)
        && a + t > MAX_AMOUNT
    {
        errs.push("E01490005");
    }
    let (Some(order), Some(job), Some(amount), Some(tax), true) =
        (found, job, amount, tax, errs.is_empty())
    else {
        return Reply::err(&errs, "");
    };
    let (now, now_s) = now_strings(st);
    let Some(t) = st.trades.get(&order) else {
        return Reply::err(&["E01110002"], &order);
    };
    let refuse = |st: &mut State, code: &'static str| {
        refuse_change(st, &order, &now_s, "ChangeTran", job, code)
    };
    if beyond_change_limit(t, now) {
        return refuse(st, "E11010010");
    }
    let next = match status::change(t.status, job) {
        Ok(s) => s,
        Err(r) => return refuse(st, r.0),
    };
    let tran_id = st.new_tran_id();
    let approve = random_digits(7);
    let Some(t) = st.trades.get_mut(&order) else {
        return Reply::err(&["E01110002"], &order);
    };
    // ChangeTran is a cancel + re-authorisation inside GMO: new Approve and TranID (recorded
    // fixtures). [U] It also restarts the authorisation validity window (reference §4b).
    t.tran_id = tran_id;
    t.approve = approve;
    t.amount = amount;
    t.tax = tax;
    t.status = next;
    t.job_cd = job;
    t.tran_date = now_s.clone();
    t.process_date = now_s.clone();
    t.last_tran_at = Some(now);
    if matches!(next, TranStatus::Auth | TranStatus::Sauth) {
        t.auth_at = Some(now);
    }
    push_history(t, &now_s, "ChangeTran", job.as_str(), "OK");
    Reply::ok(alter_answer(t), &order)
}

// ---------------------------------------------------------------------------------------------
// SearchTrade

fn search_trade(st: &mut State, params: &Params) -> Reply {
    let mut errs = Vec::new();
    let shop_ok = check_shop(st, params, &mut errs);
    let order_id = val(params, "OrderID");
    if let Some(e) = order_id_error(order_id) {
        errs.push(e);
    } else if shop_ok && !st.trades.contains_key(order_id) {
        errs.push("E01110002");
    }
    if !errs.is_empty() {
        return Reply::err(&errs, order_id);
    }
    let Some(t) = st.trades.get(order_id) else {
        return Reply::err(&["E01110002"], order_id);
    };
    let (card_no, expire) = t
        .card
        .as_ref()
        .map(|c| (c.card_no.clone(), c.expire.clone()))
        .unwrap_or_default();
    let (site_id, member_id) = t
        .member
        .as_ref()
        .map(|m| (m.site_id.clone(), m.member_id.clone()))
        .unwrap_or_default();
    let pairs = vec![
        pair("OrderID", t.order_id.clone()),
        pair("Status", t.status.as_str()),
        pair("ProcessDate", t.process_date.clone()),
        pair("JobCd", t.job_cd.as_str()),
        pair("AccessID", t.access_id.clone()),
        pair("AccessPass", t.access_pass.clone()),
        pair("ItemCode", t.item_code.clone()),
        pair("Amount", t.amount.to_string()),
        pair("Tax", t.tax.to_string()),
        pair("SiteID", site_id),
        pair("MemberID", member_id),
        pair("CardNo", card_no),
        pair("Expire", expire),
        pair("Method", t.method.clone()),
        pair("PayTimes", t.pay_times.clone()),
        pair("Forward", t.forward.clone()),
        pair("TranID", t.tran_id.clone()),
        pair("Approve", t.approve.clone()),
        pair("ClientField1", t.client_fields[0].clone()),
        pair("ClientField2", t.client_fields[1].clone()),
        pair("ClientField3", t.client_fields[2].clone()),
    ];
    Reply::ok(pairs, order_id)
}

/// Runs one protocol API on `st` as the HTTP handler would, without HTTP or the log (unit tests
/// of other modules).
#[cfg(test)]
pub(crate) fn call_api(st: &mut State, api: &str, params: &Params) -> Pairs {
    match Api::parse(&format!("{api}.idPass")) {
        Some(api) => dispatch(api, params, st).pairs,
        None => errors(&["E91099997"]),
    }
}

/// Every ErrInfo the sandbox can answer (kept in sync by a test against core's descriptions).
#[cfg(test)]
pub(crate) const EMITTED: &[&str] = &[
    "E00000003",
    "E01010001",
    "E01010008",
    "E01020001",
    "E01020008",
    "E01030002",
    "E01040001",
    "E01040003",
    "E01040010",
    "E01040013",
    "E01050001",
    "E01050002",
    "E01050004",
    "E01060001",
    "E01060005",
    "E01060006",
    "E01060010",
    "E01070005",
    "E01070006",
    "E01080007",
    "E01080101",
    "E01090001",
    "E01090008",
    "E01100001",
    "E01100008",
    "E01110002",
    "E01110010",
    "E01130012",
    "E01170001",
    "E01170006",
    "E01170011",
    "E01180001",
    "E01180003",
    "E01180006",
    "E01190001",
    "E01190008",
    "E01200001",
    "E01200008",
    "E01210002",
    "E01220001",
    "E01220005",
    "E01220008",
    "E01230006",
    "E01230009",
    "E01240002",
    "E01260001",
    "E01260002",
    "E01270001",
    "E01270005",
    "E01270006",
    "E01270010",
    "E01320012",
    "E01330012",
    "E01340012",
    "E01390002",
    "E01390010",
    "E01400007",
    "E01420010",
    "E01430012",
    "E01440008",
    "E01450008",
    "E01460008",
    "E01470008",
    "E01480008",
    "E01480011",
    "E01490005",
    "E01530001",
    "E01530008",
    "E01540007",
    "E01540010",
    "E01630010",
    "E01800010",
    "E01820007",
    "E11010001",
    "E11010002",
    "E11010003",
    "E11010010",
    "E21030001",
    "E21030007",
    "E21030201",
    "E31500014",
    "E61040001",
    "E91099997",
    "E91099999",
    "E92000001",
    "EX1000301",
    "EX1000302",
    "EX1000303",
    "EX1000304",
    "42G020000",
    "42G120000",
    "42G440000",
    "42G650000",
    "42G700000",
    "42G830000",
    "42C010000",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pairs_use_core_codes() {
        let p = errors(&["E01090008", "42G020000", "42C010000", "EX1000301"]);
        assert_eq!(p[0].1, "E01|G02|C01|EX1");
        assert_eq!(p[1].1, "E01090008|42G020000|42C010000|EX1000301");
    }

    /// Codes the sandbox answers (3-D Secure, Site API) that core's `describe_ja` did not
    /// describe when they were added (core is not the sandbox's to change), with their meaning so this is no
    /// blind exemption. An entry core now describes is harmless.
    const NOT_YET_IN_CORE: &[(&str, &str)] = &[
        (
            "E01080101",
            "3Dセキュア必須のショップです。3Dセキュア使用フラグを指定してください。",
        ),
        (
            "E01530008",
            "決済結果戻り先URLの書式が正しくありません。 [U]",
        ),
        (
            "E01540007",
            "コールバック方法に無効な値が指定されています。 [U]",
        ),
        (
            "E01540010",
            "指定されたコールバック方法はご利用できません。 [U]",
        ),
        (
            "E01800010",
            "3Dセキュア表示店舗名の書式が正しくありません。 [U]",
        ),
        (
            "E01820007",
            "3DS2.0非対応時の処理区分に無効な値が指定されています。 [U]",
        ),
        ("E21030001", "3Dセキュア2.0の認証を開始できませんでした。"),
        ("E21030201", "このカードは3Dセキュア2.0に対応していません。"),
        // Site API (会員・カード), texts of GMO's list as the SDK's errors.ts transcribes it.
        ("E01110010", "指定された取引は決済が完了していません。"),
        ("E01130012", "カード会社略称が最大バイト数を超えています。"),
        ("E01190001", "サイトIDが指定されていません。"),
        ("E01190008", "サイトIDの書式が正しくありません。"),
        ("E01200001", "サイトパスワードが指定されていません。"),
        ("E01200008", "サイトパスワードの書式が正しくありません。"),
        ("E01220001", "会員IDが指定されていません。"),
        ("E01220005", "会員IDが最大桁数を超えています。"),
        ("E01220008", "会員IDの書式が正しくありません。"),
        (
            "E01230006",
            "カード登録連番に数字以外の文字が含まれています。",
        ),
        (
            "E01230009",
            "カード登録連番が最大登録可能数を超えています。",
        ),
        ("E01240002", "指定されたカードが存在しません。"),
        (
            "E01390002",
            "指定されたサイトIDと会員IDの会員が存在しません。",
        ),
        (
            "E01390010",
            "指定されたサイトIDと会員IDの会員が既に存在しています。",
        ),
        ("E01430012", "会員名の値が最大バイト数を超えています。"),
        (
            "E01440008",
            "洗替・継続課金フラグの書式が正しくありません。",
        ),
        (
            "E01470008",
            "カード登録連番モードの書式が正しくありません。",
        ),
        ("E01480008", "名義人の書式が正しくありません。"),
        ("E01480011", "名義人が最大文字数を超えています。 [U]"),
        (
            "E01630010",
            "取引後カード登録時、取引の会員IDとパラメータの会員IDが一致しません。",
        ),
        (
            "42G700000",
            "ボーナス回数に誤りがあるために、決済を完了する事が出来ませんでした。",
        ),
    ];

    #[test]
    fn every_emitted_code_is_described_in_core() {
        for code in EMITTED {
            assert!(
                !kessai_core::gmo::errors::describe_ja(code).is_empty()
                    || NOT_YET_IN_CORE.iter().any(|(c, _)| c == code),
                "core has no description for {code}"
            );
        }
    }

    #[test]
    fn method_rules() {
        let p = |m: &str, t: &str| -> Params {
            vec![("Method".into(), m.into()), ("PayTimes".into(), t.into())]
        };
        let mut e = Vec::new();
        assert_eq!(
            check_method(&p("1", "3"), &mut e),
            Some(("1".into(), String::new()))
        );
        assert_eq!(
            check_method(&p("2", "3"), &mut e),
            Some(("2".into(), "3".into()))
        );
        assert!(e.is_empty());
        assert_eq!(check_method(&p("4", ""), &mut e), None);
        assert_eq!(check_method(&p("6", ""), &mut e), None);
        assert_eq!(check_method(&p("", ""), &mut e), None);
        assert_eq!(e, vec!["E01270001", "E01260002", "E01260001"]);
    }

    #[test]
    fn log_masks_secrets() {
        let params: Params = vec![
            ("ShopPass".into(), "sandbox01".into()),
            ("AccessPass".into(), "abc".into()),
            ("Token".into(), "tok123".into()),
            ("CardNo".into(), "4111111111111111".into()),
            ("SecurityCode".into(), "123".into()),
            ("OrderID".into(), "o1".into()),
        ];
        let m = serde_json::Value::Object(masked_params(&params)).to_string();
        for secret in ["sandbox01", "abc", "tok123", "4111111111111111", "123"] {
            assert!(!m.contains(secret), "{secret} leaked: {m}");
        }
        assert!(m.contains("************1111") && m.contains("o1"));
    }
}
