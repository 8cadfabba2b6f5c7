//! EMV 3-D Secure 2 on the protocol type (reference §4c): what happens between ExecTran's
//! `ACS=2&RedirectUrl=…` and SecureTran2.
//!
//! The browser opens RedirectUrl (`GET /payment/Tds2StubCallback.idPass?transId=…&t=…`, the test
//! host's shape) and gets the device ("3DS method") step: a form whose script fills in browser
//! data and submits itself to `POST /tds2/method` (a plain HTTP client submits the same form).
//! The simulated issuer then decides by test card: frictionless (Y/A/N/U/R) straight back to
//! RetUrl, or a challenge page (`POST /tds2/challenge`) with a one-time code shown on the page.
//! Back at RetUrl the browser carries only `AccessID` [U: other fields]; SecureTran2 authorises
//! (Y/A) or answers an E21 code. An authentication not finished by SecureTran2 within
//! `tds2_timeout_minutes` (injected clock) is abandoned.
//!
//! Not simulated: CallbackType=2 (Tds2Auth/Tds2Result, refused at ExecTran), 3-D Secure 1
//! (ACS=1; Tds2Type=1's fallback is refused like Tds2Type=2), the risk data's influence.
//! The `/tds2/*` paths are the sandbox's own (GMO's ACS pages live on the issuers' hosts).

use std::collections::{BTreeMap, HashMap};

use axum::Form;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use kessai_core::card::CardBrand;
use kessai_core::gmo::codec::Params;
use kessai_core::gmo::status::TranStatus;
use kessai_core::gmo::tds2::{self, CallbackType, TransStatus};
use kessai_core::jst::UnixMillis;
use kessai_core::text::html_escape as esc;

use crate::protocol::{Reply, authorize, check_access, now_strings, pair, push_history};
use crate::state::{
    CardData, Challenge, ExecOptions, State, Tds2Closed, Tds2Pending, Trade, mask_last4,
    random_alnum, random_digits, random_hex,
};
use crate::test_cards::{self, Tds2Profile};
use crate::{Shared, lock};

/// Wrong one-time codes allowed before the challenge ends with N. [U] issuers differ; 3.
pub const CHALLENGE_TRIES: u32 = 3;
/// Shown as the shop when the EntryTran had no `TdTenantName` (GMO shows the registered name).
const DEFAULT_MERCHANT_NAME: &str = "サンドボックス加盟店";
/// The device data the method step accepts (EMV browser fields), each kept to 64 characters.
const DEVICE_FIELDS: &[&str] = &[
    "browserJavascriptEnabled",
    "browserLanguage",
    "browserColorDepth",
    "browserScreenHeight",
    "browserScreenWidth",
    "browserTZ",
];

type FormFields = HashMap<String, String>;

// ---------------------------------------------------------------------------------------------
// ExecTran's ACS=2 and SecureTran2

/// Opens a 3-D Secure 2 authentication for an enrolled card and answers ACS=2. Any earlier one
/// on the transaction is closed (a new ExecTran after a failure or an abandoned page).
pub(crate) fn start(
    st: &mut State,
    order: &str,
    card: CardData,
    exec: ExecOptions,
    ret_url: &str,
    callback: CallbackType,
) -> Reply {
    let trans_id = format!(
        "{}-{}-{}-{}-{}",
        random_hex(8),
        random_hex(4),
        random_hex(4),
        random_hex(4),
        random_hex(12)
    );
    // `t` ends in `=` like the recorded stub URLs' base64 values, so clients must keep the
    // whole URL (the raw `&`/`=` trap of reference §2a).
    let t = format!("{}=", random_alnum(43));
    let (now, now_s) = now_strings(st);
    let redirect = format!(
        "{}/payment/Tds2StubCallback.idPass?transId={trans_id}&t={t}",
        st.base_url
    );
    st.by_trans_id.insert(trans_id.clone(), order.to_string());
    if let Some(old) = st.trades.get_mut(order).and_then(|tr| tr.tds2.take()) {
        st.tds2_closed
            .insert(old.trans_id, (Tds2Closed::Replaced, old.t));
    }
    if let Some(tr) = st.trades.get_mut(order) {
        tr.tds2 = Some(Tds2Pending {
            trans_id,
            t,
            ret_url: ret_url.to_string(),
            callback_type: callback,
            started_at: now,
            device: None,
            challenge: None,
            result: None,
            returned: false,
            card,
            exec,
        });
        // A replaced authentication may have left the transaction AUTHENTICATED.
        tr.status = TranStatus::Unprocessed;
        let job = tr.entry_job_cd.as_str();
        push_history(tr, &now_s, "ExecTran", job, "ACS=2");
    }
    Reply {
        pairs: vec![pair("ACS", "2"), pair("RedirectUrl", redirect)],
        result: "ACS=2".into(),
        order_id: order.to_string(),
    }
}

fn is_expired(p: &Tds2Pending, now: UnixMillis, timeout_minutes: i64) -> bool {
    now.0 >= p.started_at.plus_minutes(timeout_minutes).0
}

/// An abandoned authentication whose browser had come back (AUTHENTICATED) falls back to
/// UNPROCESSED, so SearchTrade tells a reconciling client that nothing was charged. The pending
/// record stays: its pages say "expired" and SecureTran2 answers E21030001.
pub(crate) fn settle_expired(st: &mut State) {
    let now = st.now();
    let minutes = st.cfg.tds2_timeout_minutes;
    for t in st.trades.values_mut() {
        let expired = t.tds2.as_ref().is_some_and(|p| is_expired(p, now, minutes));
        if expired && t.status == TranStatus::Authenticated {
            t.status = TranStatus::Unprocessed;
        }
    }
}

/// SecureTran2: only after the browser came back; Y/A authorise, anything else is refused and
/// leaves the transaction UNPROCESSED for a new ExecTran (new token) on the same AccessID.
pub(crate) fn secure_tran2(st: &mut State, params: &Params) -> Reply {
    let mut errs = Vec::new();
    let found = check_access(st, params, &mut errs);
    let Some(order) = found.filter(|_| errs.is_empty()) else {
        return Reply::err(&errs, "");
    };
    let Some(trade) = st.trades.get(&order) else {
        return Reply::err(&["E01110002"], &order);
    };
    if trade.status.is_settled() {
        return Reply::err(&["E11010001"], &order);
    }
    // [U] GMO's answers for "no 3-D Secure in progress" and "browser has not come back yet" are
    // not in the reference; E11010003 (this operation is not possible for the transaction).
    let Some(p) = trade.tds2.clone() else {
        return Reply::err(&["E11010003"], &order);
    };
    if is_expired(&p, st.now(), st.cfg.tds2_timeout_minutes) {
        // [U] E21030001 (could not be started/finished) for an abandoned authentication.
        return refuse(st, &order, tds2::TDS2_INIT_FAILED, Tds2Closed::Expired);
    }
    let Some(result) = p.result.filter(|_| p.returned) else {
        return Reply::err(&["E11010003"], &order);
    };
    if let Some(t) = st.trades.get_mut(&order) {
        t.tds2_result = Some(result.as_str().to_string());
        t.tds2_eci = None;
    }
    match result {
        TransStatus::Y | TransStatus::A => authorize_authenticated(st, &order, &p, result),
        // [U] R (rejected) may have its own E21 code at GMO; E21030007 (failed) is used.
        TransStatus::N | TransStatus::R => {
            refuse(st, &order, tds2::TDS2_FAILED, Tds2Closed::Failed)
        }
        // [U] U (unavailable): E21030001.
        TransStatus::U => refuse(st, &order, tds2::TDS2_INIT_FAILED, Tds2Closed::Failed),
        // C is intermediate and never stored as a result; answered like U for totality.
        TransStatus::C => refuse(st, &order, tds2::TDS2_INIT_FAILED, Tds2Closed::Failed),
    }
}

/// Y/A: the issuer authorises like a plain ExecTran; the answer adds the 3-D Secure outcome.
fn authorize_authenticated(
    st: &mut State,
    order: &str,
    p: &Tds2Pending,
    result: TransStatus,
) -> Reply {
    let eci = eci(CardBrand::detect(&p.card.card_no), result);
    if let Some(t) = st.trades.get_mut(order) {
        t.tds2_eci = Some(eci.to_string());
    }
    match authorize(st, order, &p.card, &p.exec, "SecureTran2") {
        Ok(mut pairs) => {
            // [U] names: the reference only says "a Tds2TransResult-like field".
            pairs.push(pair("Tds2TransResult", result.as_str()));
            pairs.push(pair("Tds2Eci", eci));
            Reply::ok(pairs, order)
        }
        Err(code) => {
            // A decline (history already written by `authorize`) leaves the transaction
            // retryable; the committed-then-failed test cards are settled and closed already.
            if st.trades.get(order).is_some_and(|t| !t.status.is_settled()) {
                close(st, order, Tds2Closed::Failed);
            }
            Reply::err(&[code], order)
        }
    }
}

/// ECI of an authenticated (Y) or attempted (A) payment: Mastercard 02/01, the others (Visa,
/// JCB, Amex, …) 05/06. [U] GMO's field; the values are EMV's.
fn eci(brand: CardBrand, result: TransStatus) -> &'static str {
    let mastercard = match brand {
        CardBrand::Mastercard => true,
        CardBrand::Visa
        | CardBrand::Jcb
        | CardBrand::Amex
        | CardBrand::Diners
        | CardBrand::Discover
        | CardBrand::Unknown => false,
    };
    match (mastercard, result) {
        (true, TransStatus::Y) => "02",
        (true, TransStatus::A) => "01",
        (false, TransStatus::Y) => "05",
        (false, TransStatus::A) => "06",
        (true, TransStatus::N | TransStatus::U | TransStatus::R | TransStatus::C) => "00",
        (false, TransStatus::N | TransStatus::U | TransStatus::R | TransStatus::C) => "07",
    }
}

/// Ends the pending authentication: back to UNPROCESSED, remembered as `why` for its pages.
fn close(st: &mut State, order: &str, why: Tds2Closed) {
    let taken = st.trades.get_mut(order).and_then(|t| {
        t.status = TranStatus::Unprocessed;
        t.tds2.take()
    });
    if let Some(p) = taken {
        st.tds2_closed.insert(p.trans_id, (why, p.t));
    }
}

fn refuse(st: &mut State, order: &str, code: &'static str, why: Tds2Closed) -> Reply {
    let (_, now_s) = now_strings(st);
    if let Some(t) = st.trades.get_mut(order) {
        let job = t.entry_job_cd.as_str();
        push_history(t, &now_s, "SecureTran2", job, code);
    }
    close(st, order, why);
    Reply::err(&[code], order)
}

// ---------------------------------------------------------------------------------------------
// Browser pages

/// What a page's `transId`/`t` name.
enum Lookup {
    /// Pending and in time: the OrderID.
    Live(String),
    Expired,
    Closed(Tds2Closed),
    Unknown,
}

fn lookup(st: &State, trans_id: &str, t: &str) -> Lookup {
    let Some(order) = st.by_trans_id.get(trans_id) else {
        return Lookup::Unknown;
    };
    let pending = st
        .trades
        .get(order)
        .and_then(|tr| tr.tds2.as_ref())
        .filter(|p| p.trans_id == trans_id);
    match pending {
        // A forged or truncated `t` (the trap of reference §2a) finds nothing.
        Some(p) if p.t != t => Lookup::Unknown,
        Some(p) if is_expired(p, st.now(), st.cfg.tds2_timeout_minutes) => Lookup::Expired,
        Some(_) => Lookup::Live(order.clone()),
        // A closed one is named by the same `t`: a forged URL learns nothing about it.
        None => match st.tds2_closed.get(trans_id) {
            Some((why, known_t)) if known_t == t => Lookup::Closed(*why),
            Some(_) => Lookup::Unknown,
            None => Lookup::Unknown,
        },
    }
}

/// The OrderID of the pending, in-time authentication a page's `transId`/`t` name (abandoned
/// ones settled first), or why there is none.
fn live_order(st: &mut State, f: &FormFields) -> Result<String, Lookup> {
    settle_expired(st);
    match lookup(st, field(f, "transId"), field(f, "t")) {
        Lookup::Live(order) => Ok(order),
        other => Err(other),
    }
}

fn field<'a>(f: &'a FormFields, k: &str) -> &'a str {
    f.get(k).map(String::as_str).unwrap_or("")
}

/// `GET RedirectUrl`: the device step, or, when the browser reloads later, the page it was on.
pub(crate) fn redirect_page(shared: &Shared, query: &HashMap<String, String>) -> Response {
    let mut st = lock(shared);
    let order = match live_order(&mut st, query) {
        Ok(order) => order,
        Err(why) => return status_page(why),
    };
    let Some(trade) = st.trades.get(&order) else {
        return status_page(Lookup::Unknown);
    };
    current_page(trade)
}

/// The page a pending authentication is at: a replayed step shows it again, decides nothing.
fn current_page(trade: &Trade) -> Response {
    match trade.tds2.as_ref() {
        Some(p) if p.returned => return_page(trade),
        Some(p) if p.challenge.is_some() => challenge_page(trade, false),
        Some(p) => method_page(p),
        None => status_page(Lookup::Unknown),
    }
}

/// `POST /tds2/method`: the device data arrives; the issuer decides frictionless or challenge.
pub async fn method_submit(
    AxState(shared): AxState<Shared>,
    Form(f): Form<FormFields>,
) -> Response {
    let mut st = lock(&shared);
    let order = match live_order(&mut st, &f) {
        Ok(order) => order,
        Err(why) => return status_page(why),
    };
    let (_, now_s) = now_strings(&st);
    let Some(trade) = st.trades.get_mut(&order) else {
        return status_page(Lookup::Unknown);
    };
    let Some(p) = trade
        .tds2
        .as_mut()
        .filter(|p| !p.returned && p.challenge.is_none())
    else {
        return current_page(trade);
    };
    let device: BTreeMap<String, String> = DEVICE_FIELDS
        .iter()
        .map(|k| (k.to_string(), field(&f, k).chars().take(64).collect()))
        .collect();
    p.device = Some(device);
    match test_cards::tds2_profile(&p.card.card_no) {
        Tds2Profile::Frictionless(status) => finish(trade, status, &now_s),
        Tds2Profile::Challenge => {
            p.challenge = Some(Challenge {
                code: random_digits(6),
                tries_left: CHALLENGE_TRIES,
            });
            challenge_page(trade, false)
        }
        // Not reachable: ExecTran starts 3-D Secure only for enrolled cards. Unavailable (U)
        // is what an issuer outside 3-D Secure would amount to.
        Tds2Profile::NotEnrolled => finish(trade, TransStatus::U, &now_s),
    }
}

/// What the challenge form's buttons send (`action`); Enter in the code field submits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChallengeAction {
    Submit,
    Cancel,
}

/// `POST /tds2/challenge`: right code → Y; wrong → try again, N after the last try; キャンセル →
/// N [U: an issuer may answer U or R for a cancel; EMV has no dedicated status].
pub async fn challenge_submit(
    AxState(shared): AxState<Shared>,
    Form(f): Form<FormFields>,
) -> Response {
    let mut st = lock(&shared);
    let order = match live_order(&mut st, &f) {
        Ok(order) => order,
        Err(why) => return status_page(why),
    };
    let (_, now_s) = now_strings(&st);
    let Some(trade) = st.trades.get_mut(&order) else {
        return status_page(Lookup::Unknown);
    };
    let Some(ch) = trade
        .tds2
        .as_mut()
        .filter(|p| !p.returned)
        .and_then(|p| p.challenge.as_mut())
    else {
        // Already back at RetUrl (a replay) or the device step was skipped: show where it is.
        return current_page(trade);
    };
    let action = match field(&f, "action") {
        "cancel" => ChallengeAction::Cancel,
        _ => ChallengeAction::Submit,
    };
    match action {
        ChallengeAction::Cancel => finish(trade, TransStatus::N, &now_s),
        ChallengeAction::Submit if field(&f, "otp").trim() == ch.code => {
            finish(trade, TransStatus::Y, &now_s)
        }
        ChallengeAction::Submit => {
            ch.tries_left = ch.tries_left.saturating_sub(1);
            if ch.tries_left == 0 {
                finish(trade, TransStatus::N, &now_s)
            } else {
                challenge_page(trade, true)
            }
        }
    }
}

/// The issuer's decision: recorded, the browser sent back to RetUrl. Y/A make the transaction
/// AUTHENTICATED (未決済(3D登録済)) [U: GMO's status for N/U/R before SecureTran2; UNPROCESSED].
fn finish(trade: &mut Trade, status: TransStatus, now_s: &str) -> Response {
    if let Some(p) = trade.tds2.as_mut() {
        p.result = Some(status);
        p.returned = true;
        p.challenge = None;
    }
    if status.allows_authorization() {
        trade.status = TranStatus::Authenticated;
    }
    let job = trade.entry_job_cd.as_str();
    push_history(trade, now_s, "3DS2", job, status.as_str());
    return_page(trade)
}

// ---------------------------------------------------------------------------------------------
// HTML

fn page(status: StatusCode, main_id: &str, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title} - 本人認証サービス (サンドボックス)</title><style>\
body{{font-family:sans-serif;margin:0;background:#eef1f5;color:#1a1a1a}}\
header{{background:#1d3557;color:#fff;padding:12px 16px;font-weight:bold}}\
main{{max-width:520px;margin:16px auto;background:#fff;padding:16px 20px;border-radius:8px}}\
dt{{color:#555;font-size:13px}} dd{{margin:0 0 8px 0;font-weight:bold}}\
input{{font-size:18px;padding:6px;width:10em;letter-spacing:2px}}\
button{{margin:12px 8px 0 0;padding:8px 18px;font-size:15px;cursor:pointer}}\
.hint{{background:#fff8dc;border:1px dashed #c9a400;padding:8px;font-size:13px}}\
.error{{color:#b00020;font-weight:bold}}\
</style></head><body><header>本人認証サービス (EMV 3-Dセキュア) サンドボックス</header>\
<main id=\"{main_id}\"><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title),
    );
    (status, Html(html)).into_response()
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        esc(name),
        esc(value)
    )
}

fn ids(p: &Tds2Pending) -> String {
    format!("{}{}", hidden("transId", &p.trans_id), hidden("t", &p.t))
}

/// The device step: the script fills in what EMV's 3DS method collects and submits; without
/// script the shopper (or an HTTP client) presses 次へ.
fn method_page(p: &Tds2Pending) -> Response {
    let device: String = DEVICE_FIELDS
        .iter()
        .map(|k| {
            hidden(
                k,
                if *k == "browserJavascriptEnabled" {
                    "false"
                } else {
                    ""
                },
            )
        })
        .collect();
    let body = format!(
        "<p>ご利用のカード会社へ端末情報を送信しています。しばらくお待ちください…</p>\
<form id=\"tds2-method-form\" method=\"post\" action=\"/tds2/method\">{ids}{device}\
<button type=\"submit\" id=\"tds2-method-continue\">次へ</button></form>\
<script>(function(){{var f=document.getElementById('tds2-method-form');\
function s(n,v){{if(f.elements[n]){{f.elements[n].value=String(v);}}}}\
try{{s('browserJavascriptEnabled','true');s('browserLanguage',navigator.language||'');\
s('browserColorDepth',screen.colorDepth);s('browserScreenHeight',screen.height);\
s('browserScreenWidth',screen.width);s('browserTZ',new Date().getTimezoneOffset());}}catch(e){{}}\
f.submit();}})();</script>",
        ids = ids(p),
    );
    page(StatusCode::OK, "tds2-method", "本人認証", &body)
}

/// `¥12,345`.
fn yen(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}¥{out}", if n < 0 { "-" } else { "" })
}

/// The challenge: shop (`TdTenantName`), amount (Amount + Tax [U]), card, the one-time code as
/// a sandbox hint, the code field, 認証する and キャンセル.
fn challenge_page(trade: &Trade, wrong: bool) -> Response {
    let Some((p, ch)) = trade
        .tds2
        .as_ref()
        .and_then(|p| p.challenge.as_ref().map(|c| (p, c)))
    else {
        return status_page(Lookup::Unknown);
    };
    let merchant = trade
        .tenant_name
        .as_deref()
        .unwrap_or(DEFAULT_MERCHANT_NAME);
    let error = if wrong {
        format!(
            "<p class=\"error\" id=\"tds2-error\" role=\"alert\">ワンタイムパスワードが正しくありません。\
あと<span id=\"tds2-tries-left\">{}</span>回入力できます。</p>",
            ch.tries_left
        )
    } else {
        String::new()
    };
    let body = format!(
        "<p>ご本人確認のため、カード会社から届いたワンタイムパスワードを入力してください。</p>\
<dl><dt>加盟店名</dt><dd id=\"tds2-merchant\">{merchant}</dd>\
<dt>ご利用金額</dt><dd id=\"tds2-amount\">{amount}</dd>\
<dt>カード番号</dt><dd id=\"tds2-card\">{card}</dd></dl>\
<p class=\"hint\" id=\"tds2-otp-hint\">サンドボックス用ヒント: ワンタイムパスワードは \
<strong id=\"tds2-otp-code\">{code}</strong> です。</p>{error}\
<form id=\"tds2-challenge-form\" method=\"post\" action=\"/tds2/challenge\" data-tries-left=\"{tries}\">{ids}\
<label for=\"tds2-otp\">ワンタイムパスワード (6桁)</label><br>\
<input id=\"tds2-otp\" name=\"otp\" type=\"text\" inputmode=\"numeric\" autocomplete=\"one-time-code\" maxlength=\"6\"><br>\
<button type=\"submit\" id=\"tds2-submit\" name=\"action\" value=\"submit\">認証する</button>\
<button type=\"submit\" id=\"tds2-cancel\" name=\"action\" value=\"cancel\">キャンセル</button></form>",
        merchant = esc(merchant),
        amount = yen(trade.amount + trade.tax),
        card = esc(&mask_last4(&p.card.card_no)),
        code = esc(&ch.code),
        tries = ch.tries_left,
        ids = ids(p),
    );
    page(StatusCode::OK, "tds2-challenge", "本人認証", &body)
}

/// Back to RetUrl with `AccessID` only [U]: an auto-submitted POST form (CallbackType 1), or a
/// GET form (3) whose action is RetUrl without its query, the query's pairs as hidden fields
/// (what a browser does with a GET form anyway, made explicit so RetUrl's own query survives).
fn return_page(trade: &Trade) -> Response {
    let Some(p) = trade.tds2.as_ref().filter(|p| p.returned) else {
        return status_page(Lookup::Unknown);
    };
    let access = hidden("AccessID", &trade.access_id);
    let (method, action, fields) = match p.callback_type {
        CallbackType::Get => {
            let (action, query) = split_query(&p.ret_url);
            ("get", action, format!("{query}{access}"))
        }
        // Direct is refused at ExecTran; a POST is the safe default.
        CallbackType::Post | CallbackType::Direct => ("post", p.ret_url.clone(), access),
    };
    let status = p.result.unwrap_or(TransStatus::U);
    let message = match status {
        TransStatus::Y | TransStatus::A => "本人認証が完了しました。",
        TransStatus::N => "本人認証できませんでした。",
        TransStatus::U | TransStatus::C => "本人認証を実施できませんでした。",
        TransStatus::R => "カード会社により本人認証が拒否されました。",
    };
    let body = format!(
        "<p id=\"tds2-result\" data-trans-status=\"{st}\">{message}加盟店サイトへ戻ります…</p>\
<form id=\"tds2-return-form\" method=\"{method}\" action=\"{action}\">{fields}\
<button type=\"submit\" id=\"tds2-return-continue\">加盟店サイトへ戻る</button></form>\
<script>document.getElementById('tds2-return-form').submit();</script>",
        st = status.as_str(),
        action = esc(&action),
    );
    page(StatusCode::OK, "tds2-return", "本人認証", &body)
}

/// RetUrl without query and fragment, and the query's pairs as hidden fields.
fn split_query(ret_url: &str) -> (String, String) {
    match reqwest::Url::parse(ret_url) {
        Ok(mut u) => {
            let fields: String = u.query_pairs().map(|(k, v)| hidden(&k, &v)).collect();
            u.set_query(None);
            u.set_fragment(None);
            (u.to_string(), fields)
        }
        // Not reachable: ExecTran accepted only absolute http(s) URLs.
        Err(_) => (ret_url.to_string(), String::new()),
    }
}

/// Pages for a transId that is not (or no longer) pending. An expired one has no way back to
/// RetUrl: the shopper starts again at the shop.
fn status_page(l: Lookup) -> Response {
    let (status, id, text) = match l {
        Lookup::Expired | Lookup::Closed(Tds2Closed::Expired) => (
            StatusCode::GONE,
            "tds2-expired",
            "この本人認証は有効期限が切れました。お手数ですが、ショップのページからもう一度お手続きください。",
        ),
        Lookup::Closed(Tds2Closed::Authorized | Tds2Closed::Failed) => (
            StatusCode::CONFLICT,
            "tds2-finished",
            "この本人認証はすでに終了しています。",
        ),
        Lookup::Closed(Tds2Closed::Replaced) => (
            StatusCode::CONFLICT,
            "tds2-finished",
            "この本人認証は新しいお手続きに置き換えられました。",
        ),
        Lookup::Unknown | Lookup::Live(_) => (
            StatusCode::NOT_FOUND,
            "tds2-unknown",
            "unknown 3-D Secure transaction / 本人認証の取引が見つかりません。",
        ),
    };
    page(status, id, "本人認証", &format!("<p>{}</p>", esc(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yen_groups_thousands() {
        assert_eq!(yen(0), "¥0");
        assert_eq!(yen(999), "¥999");
        assert_eq!(yen(5000), "¥5,000");
        assert_eq!(yen(1_234_567), "¥1,234,567");
    }

    #[test]
    fn eci_by_brand() {
        assert_eq!(eci(CardBrand::Visa, TransStatus::Y), "05");
        assert_eq!(eci(CardBrand::Visa, TransStatus::A), "06");
        assert_eq!(eci(CardBrand::Mastercard, TransStatus::Y), "02");
        assert_eq!(eci(CardBrand::Mastercard, TransStatus::A), "01");
    }

    #[test]
    fn get_return_keeps_ret_url_query_as_fields() {
        let (action, fields) = split_query("https://shop.example/r?x=1&y=a%20b#frag");
        assert_eq!(action, "https://shop.example/r");
        assert!(fields.contains(r#"name="x" value="1""#), "{fields}");
        assert!(fields.contains(r#"name="y" value="a b""#), "{fields}");
    }
}
