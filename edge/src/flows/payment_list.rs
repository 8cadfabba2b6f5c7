//! `GET /v1/payments?state=&method=&q=&near_expiry=1&limit=`: the merchant's and the console's
//! 受注一覧. Filters are checked here, SQL is in `store::payments`, and what the clock decides
//! (期限切れ, 期限間近, カード未決済) is decided here from core's rules.

use crate::http::{ApiError, ApiResult, Reply};
use crate::platform;
use crate::store::{ListQuery, Store};
use crate::views::{badge, display_state, payment_view};
use kessai_core::console::NEAR_EXPIRY_DAYS;
use kessai_core::jst::UnixMillis;
use kessai_core::operations::{AuthorizationExpiry, PaymentMethod};
use kessai_core::payment::PaymentState;
use serde_json::json;

/// The list's filters (`GET /v1/payments`).
struct ListFilter {
    state: Option<PaymentState>,
    method: Option<PaymentMethod>,
    q: Option<String>,
    near_expiry: bool,
    limit: i64,
}

fn list_filter(query: &[(String, String)]) -> ApiResult<ListFilter> {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let state = match param("state") {
        None => None,
        Some(st) => Some(PaymentState::parse(&st).ok_or_else(|| {
            ApiError::bad_request(
                format!("unknown state {st}"),
                "状態の指定が正しくありません。",
            )
            .with("param", "state")
        })?),
    };
    let method = match param("method") {
        None => None,
        Some(m) => Some(PaymentMethod::parse(&m).ok_or_else(|| {
            ApiError::bad_request(
                "method must be card or amazon_pay",
                "支払方法の指定が正しくありません。",
            )
            .with("param", "method")
        })?),
    };
    let q = param("q");
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        return Err(
            ApiError::bad_request("q is at most 100 characters", "検索語が長すぎます。")
                .with("param", "q"),
        );
    }
    let near_expiry = match param("near_expiry").as_deref() {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "near_expiry must be 1 or 0",
                "期限間近の指定が正しくありません。",
            )
            .with("param", "near_expiry"));
        }
    };
    let limit = match param("limit") {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=500).contains(l))
            .ok_or_else(|| {
                ApiError::bad_request("limit must be 1-500", "件数の指定が正しくありません。")
                    .with("param", "limit")
            })?,
    };
    Ok(ListFilter {
        state,
        method,
        q,
        near_expiry,
        limit,
    })
}

/// `GET /v1/payments?state=&method=&q=&near_expiry=1&limit=`: the latest payments, newest
/// first. `q` matches part of the order id, customer name, or a gateway id (GMO OrderID,
/// AccessID, TranID; Amazon charge / charge permission / checkout session id), or the payment
/// id. `state=expired` also finds 仮売上 past their deadline; `near_expiry=1` only 仮売上 within
/// [`kessai_core::console::NEAR_EXPIRY_DAYS`] days of it.
pub async fn list(store: &Store<'_>, query: &[(String, String)]) -> ApiResult<Reply> {
    let f = list_filter(query)?;
    let now = platform::now().0;
    let rows = store.list_payments(&list_query(&f, now)).await?;
    let mut data = Vec::new();
    for row in &rows {
        let shown = display_state(row, now)?;
        let keep = match (f.state, f.near_expiry) {
            (_, true) => badge(row, now).is_some_and(|b| b.near_expiry),
            (Some(st @ (PaymentState::Expired | PaymentState::Unpaid)), false) => shown == st,
            (Some(st), false) => shown == st || row.state == st.as_str(),
            (None, false) => true,
        };
        if keep && (data.len() as i64) < f.limit {
            data.push(payment_view(row)?);
        }
    }
    Ok(Reply::ok(json!({ "data": data })))
}

/// What to read from D1 for `f`. `expired` and `near_expiry` are decided by the clock, not
/// stored: the candidates (stored expired + authorised) are read and [`list`] decides.
fn list_query<'a>(f: &'a ListFilter, now: i64) -> ListQuery<'a> {
    let states = match (f.state, f.near_expiry) {
        (_, true) => vec![PaymentState::Authorized],
        (Some(PaymentState::Expired), false) => {
            vec![PaymentState::Expired, PaymentState::Authorized]
        }
        // カード未決済 is shown for card payments still waiting for payment (and stored only when
        // an operator forced it).
        (Some(PaymentState::Unpaid), false) => {
            vec![PaymentState::RequiresPayment, PaymentState::Unpaid]
        }
        (Some(st), false) => vec![st],
        (None, false) => vec![],
    };
    // 期限間近 / 期限切れ: only 仮売上 old enough can be either (bounded per method in SQL), and
    // the most urgent come first; a shop's thousands of fresh 仮売上 never hide them.
    let by_clock = f.near_expiry || f.state == Some(PaymentState::Expired);
    let authorized_by = by_clock.then(|| {
        let threshold = if f.near_expiry { NEAR_EXPIRY_DAYS } else { -1 };
        let bound =
            |m| AuthorizationExpiry::latest_needing_attention(m, UnixMillis(now), threshold).0;
        (bound(PaymentMethod::Card), bound(PaymentMethod::AmazonPay))
    });
    ListQuery {
        states,
        method: f.method,
        q: f.q.as_deref(),
        // Reading more than asked when the clock decides, so the limit still holds after
        // filtering.
        limit: if by_clock {
            (f.limit * 5).min(2_000)
        } else {
            f.limit
        },
        authorized_by,
    }
}
