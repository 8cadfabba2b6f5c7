//! 定期購入 (issue #15), card subscriptions: the merchant's API (create, view, list, pause,
//! resume, cancel, change amount or next date) over the pure model in
//! `kessai_core::subscription`, and [`charge`], the Cron Trigger's step that charges what is due.
//!
//! A subscription charges one of its customer's stored cards (#14: saved after a 3-D Secure
//! authenticated payment or registration), merchant-initiated: no 3-D Secure on each charge.
//! Every attempt of a cycle is an ordinary payment (order id = the attempt's `ChargeKey` OrderID,
//! `subscription_id` set), so capture, cancel, the console and the history work on it as on any
//! other payment. Amazon Pay subscriptions charge a Recurring charge permission instead
//! ([`amazon`]); a sign-up at checkout ([`sign_up`]) creates either kind.

pub mod amazon;
pub mod charge;
pub mod sign_up;

use super::payments::customer_id_ok;
use super::stored_cards;
use crate::config::{AccessMode, Config};
use crate::http::{ApiError, ApiResult, Reply, invalid_json};
use crate::platform;
use crate::store::Store;
use crate::store::subscriptions::{SubscriptionEvent, SubscriptionRow};
use crate::views::subscription_view;
use kessai_core::money::Jpy;
use kessai_core::subscription::{
    ChargeDate, Cycle, Event, PaymentSource, Subscription, SubscriptionStatus,
};
use serde_json::{Value, json};

fn bad(param: &str, en: impl Into<String>, ja: impl Into<String>) -> ApiError {
    ApiError::bad_request(en, ja).with("param", param)
}

/// `amount`: whole yen GMO can charge (¥1–¥9,999,999).
fn amount_of(v: Option<&Value>) -> ApiResult<Jpy> {
    let yen = v
        .filter(|v| v.is_i64())
        .and_then(Value::as_i64)
        .ok_or_else(|| {
            bad(
                "amount",
                "amount must be an integer number of yen",
                "金額は円単位の整数で指定してください。",
            )
        })?;
    Jpy::chargeable(yen).map_err(|e| bad("amount", e.message_en(), e.message_ja()))
}

/// What `POST /v1/subscriptions` asks for.
struct NewSubscription {
    customer_id: String,
    card_seq: u32,
    amount: Jpy,
    cycle: Cycle,
    first_charge_on: Option<ChargeDate>,
}

const CREATE_KEYS: [&str; 5] = ["customer", "card_seq", "amount", "cycle", "first_charge_on"];

fn parse_new(raw: &str) -> ApiResult<NewSubscription> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    let Some(obj) = body.as_object() else {
        return Err(invalid_json());
    };
    if let Some(k) = obj.keys().find(|k| !CREATE_KEYS.contains(&k.as_str())) {
        return Err(bad(
            k,
            format!("unknown field {k}"),
            "指定できない項目があります。",
        ));
    }
    let customer_id = match body.get("customer") {
        Some(Value::String(c)) if customer_id_ok(c) => c.clone(),
        _ => {
            return Err(bad(
                "customer",
                "customer must be 1-100 characters of A-Z a-z 0-9 . _ @ + -",
                "会員IDは半角英数字と . _ @ + - の1〜100文字で指定してください。",
            ));
        }
    };
    let card_seq = body
        .get("card_seq")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| {
            bad(
                "card_seq",
                "card_seq must be one of the customer's stored cards",
                "登録済みのカードを指定してください。",
            )
        })?;
    let amount = amount_of(body.get("amount"))?;
    let cycle = match body.get("cycle").and_then(Value::as_str).map(Cycle::parse) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return Err(bad("cycle", e.message_en(), e.message_ja())),
        None => {
            return Err(bad(
                "cycle",
                "cycle must be days:N, monthly:D or weekly:mon..sun",
                "周期は days:N、monthly:D、weekly:mon〜sun のいずれかで指定してください。",
            ));
        }
    };
    let first_charge_on = match body.get("first_charge_on") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_str().and_then(ChargeDate::parse).ok_or_else(|| {
            bad(
                "first_charge_on",
                "first_charge_on must be a date YYYY-MM-DD",
                "初回課金日は YYYY-MM-DD で指定してください。",
            )
        })?),
    };
    Ok(NewSubscription {
        customer_id,
        card_seq,
        amount,
        cycle,
        first_charge_on,
    })
}

/// `POST /v1/subscriptions`: a card subscription of the customer's stored card `card_seq`,
/// charged first on `first_charge_on` (default: today, JST; the next cron run charges it) or on
/// the cycle's first date after it.
pub async fn create(store: &Store<'_>, cfg: &Config, raw: &str) -> ApiResult<Reply> {
    cfg.stored_cards()?;
    let req = parse_new(raw)?;
    let now = platform::now();
    let today = ChargeDate::of_instant(now);
    let start = req.first_charge_on.unwrap_or(today);
    if start < today {
        return Err(bad(
            "first_charge_on",
            "first_charge_on is in the past",
            "初回課金日に過去の日付は指定できません。",
        ));
    }
    // The card must exist and be valid now (it was authenticated when it was stored).
    let member_id = stored_cards::usable_card(store, cfg, &req.customer_id, req.card_seq).await?;
    let source = PaymentSource::gmo_card(&member_id, req.card_seq)
        .map_err(|e| bad("card_seq", e.message_en(), e.message_ja()))?;
    let sub = Subscription::new(source, req.amount, req.cycle, start);
    let id = format!(
        "sub_{}",
        platform::random_hex(12).ok_or_else(|| ApiError::internal("random"))?
    );
    let ev = SubscriptionEvent {
        actor: "merchant",
        kind: "created",
        detail: json!({ "amount": req.amount.yen(), "cycle": req.cycle.to_string(), "card_seq": req.card_seq, "next_charge_on": sub.next_charge_on.to_string() }),
    };
    store
        .insert_subscription(&id, &req.customer_id, &sub, now.0, &ev)
        .await?;
    let row = existing(store, &id).await?;
    Ok(Reply::with_status(201, full_view(store, &row).await?))
}

async fn existing(store: &Store<'_>, id: &str) -> ApiResult<SubscriptionRow> {
    store.subscription(id).await?.ok_or_else(|| {
        ApiError::new(
            404,
            "subscription_not_found",
            "no such subscription",
            "定期購入が見つかりません。",
        )
    })
}

/// The subscription with its charges (every attempt's payment) and its history.
async fn full_view(store: &Store<'_>, row: &SubscriptionRow) -> ApiResult<Value> {
    let charges = store.payments_of_subscription(&row.id).await?;
    let events = store.subscription_events(&row.id).await?;
    subscription_view(row, &charges, &events)
}

/// `GET /v1/subscriptions/{id}`; `charge_now_available` says whether `POST …/charge-now` may be
/// used (test environment).
pub async fn get(store: &Store<'_>, cfg: &Config, id: &str) -> ApiResult<Reply> {
    let row = existing(store, id).await?;
    let mut view = full_view(store, &row).await?;
    view["charge_now_available"] = json!(cfg.mode == AccessMode::Test);
    Ok(Reply::ok(view))
}

/// `GET /v1/customers/{customer}/subscriptions`: the customer's, newest first (no charges).
pub async fn list(store: &Store<'_>, customer_id: &str) -> ApiResult<Reply> {
    if !customer_id_ok(customer_id) {
        return Err(bad(
            "customer",
            "customer must be 1-100 characters of A-Z a-z 0-9 . _ @ + -",
            "会員IDが正しくありません。",
        ));
    }
    let rows = store.subscriptions_of(customer_id).await?;
    let data = rows
        .iter()
        .map(|r| subscription_view(r, &[], &[]))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Reply::ok(json!({ "customer": customer_id, "data": data })))
}

/// `GET /v1/subscriptions?status=active|paused|unpaid|cancelled`: the shop's subscriptions, newest
/// first (200 at most), without charges and history; the console's 定期購入 list.
pub async fn list_all(store: &Store<'_>, query: &[(String, String)]) -> ApiResult<Reply> {
    let status = query
        .iter()
        .find(|(k, _)| k == "status")
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty());
    if let Some(s) = status
        && SubscriptionStatus::parse(s).is_none()
    {
        return Err(bad(
            "status",
            "status must be active, paused, unpaid or cancelled",
            "状態は active・paused・unpaid・cancelled のいずれかで指定してください。",
        ));
    }
    let rows = store.subscriptions_by_status(status, 200).await?;
    let data = rows
        .iter()
        .map(|r| subscription_view(r, &[], &[]))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(Reply::ok(json!({ "data": data })))
}

/// What the merchant asks a subscription to do.
pub enum Change {
    Pause,
    Resume,
    Cancel,
    /// 再オーソリ: a 未決済 subscription's owed cycle charged again now, on its card.
    Retry,
    /// Test environment only: the next cycle moved to today and charged at once (the demo's
    /// 「次回分を今すぐ課金」, instead of waiting a whole cycle).
    ChargeNow,
    /// `POST /v1/subscriptions/{id}` `{amount?, next_charge_on?}`.
    Update(String),
}

/// The changes of `POST /v1/subscriptions/{id}`: amount and date as events, and the stored card
/// to pay with from now on (`card_seq`, checked by the caller against GMO).
type Updates = (Vec<(Event, &'static str)>, Option<u32>);

fn update_events(raw: &str, today: ChargeDate) -> ApiResult<Updates> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    let Some(obj) = body.as_object() else {
        return Err(invalid_json());
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !["amount", "next_charge_on", "card_seq"].contains(&k.as_str()))
    {
        return Err(bad(
            k,
            format!("unknown field {k}"),
            "指定できない項目があります。",
        ));
    }
    let mut events = Vec::new();
    if let Some(v) = body.get("amount") {
        let amount = amount_of(Some(v))?;
        events.push((Event::ChangeAmount { amount }, "amount_changed"));
    }
    if let Some(v) = body.get("next_charge_on") {
        let date = v.as_str().and_then(ChargeDate::parse).ok_or_else(|| {
            bad(
                "next_charge_on",
                "next_charge_on must be a date YYYY-MM-DD",
                "次回課金日は YYYY-MM-DD で指定してください。",
            )
        })?;
        events.push((Event::ChangeNextDate { date, today }, "next_date_changed"));
    }
    let card_seq = match body.get("card_seq") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    bad(
                        "card_seq",
                        "card_seq must be one of the customer's stored cards",
                        "登録済みのカードを指定してください。",
                    )
                })?,
        ),
    };
    if events.is_empty() && card_seq.is_none() {
        return Err(bad(
            "amount",
            "nothing to change: send amount, next_charge_on or card_seq",
            "変更する項目(金額・次回課金日・カード)を指定してください。",
        ));
    }
    Ok((events, card_seq))
}

/// `POST /v1/subscriptions/{id}/pause|resume|cancel` and `POST /v1/subscriptions/{id}`. A change
/// the rules refuse answers 409 with their code (e.g. `not_paused`) and messages; a concurrent
/// change (another request, the cron) answers 409 `subscription_changed`, nothing written.
pub async fn change(
    store: &Store<'_>,
    cfg: &Config,
    id: &str,
    what: Change,
    actor: &str,
) -> ApiResult<Reply> {
    let row = existing(store, id).await?;
    let now = platform::now();
    let today = ChargeDate::of_instant(now);
    if matches!(what, Change::ChargeNow) {
        return charge_now(store, cfg, &row, today).await;
    }
    let retry = matches!(what, Change::Retry);
    let events = events_of(store, cfg, &row, what, today).await?;
    let mut sub = row.subscription()?;
    for (event, _) in &events {
        sub = sub
            .apply(event, &cfg.subscription_retry)
            .map_err(|r| ApiError::new(409, r.code(), r.message_en(), r.message_ja()))?
            .subscription;
    }
    let kinds: Vec<&str> = events.iter().map(|(_, k)| *k).collect();
    let ev = SubscriptionEvent {
        actor,
        kind: kinds.first().copied().unwrap_or("changed"),
        detail: json!({ "changes": kinds, "amount": sub.amount.yen(), "next_charge_on": sub.next_charge_on.to_string(), "status": sub.status.as_str() }),
    };
    if !store.update_subscription(&row, &sub, now.0, &ev).await? {
        return Err(ApiError::new(
            409,
            "subscription_changed",
            "the subscription changed meanwhile; read it again",
            "定期購入が同時に更新されました。最新の状態を確認してください。",
        ));
    }
    let mut row = existing(store, id).await?;
    // 解約 of an Amazon Pay subscription closes its charge permission (the Cron Trigger tries
    // again if Amazon cannot be reached now).
    if sub.status == SubscriptionStatus::Cancelled
        && let Some(cp) = sub.source.charge_permission_id()
        && row.source_closed_at.is_none()
    {
        amazon::close_permission(store, cfg, &row, cp).await?;
        row = existing(store, id).await?;
    }
    if retry {
        // 再オーソリ charges at once (the operator waits for the answer), exactly as the cron
        // would: the same payment key, claim and compare-and-set.
        charge::charge_one(store, cfg, &row, today).await?;
        row = existing(store, id).await?;
    }
    Ok(Reply::ok(full_view(store, &row).await?))
}

/// The model's events for what the merchant asks (with the history's name of each).
async fn events_of(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    what: Change,
    today: ChargeDate,
) -> ApiResult<Vec<(Event, &'static str)>> {
    Ok(match what {
        Change::Pause => vec![(Event::Pause, "paused")],
        Change::Resume => vec![(Event::Resume { today }, "resumed")],
        Change::Cancel => vec![(Event::Cancel, "cancelled")],
        Change::Retry => vec![(
            retry_event(store, cfg, row, today).await?,
            "retry_requested",
        )],
        // Handled by `change` before any event (nothing changes but the charge).
        Change::ChargeNow => Vec::new(),
        Change::Update(raw) => {
            let (mut events, card_seq) = update_events(&raw, today)?;
            // Another of the customer's cards (valid now) pays from here on; in 未決済 the owed
            // cycle is tried at once by the next cron run.
            if let Some(seq) = card_seq {
                let member_id =
                    stored_cards::usable_card(store, cfg, &row.customer_id, seq).await?;
                let source = PaymentSource::gmo_card(&member_id, seq)
                    .map_err(|e| bad("card_seq", e.message_en(), e.message_ja()))?;
                events.push((Event::SourceChanged { source, today }, "card_changed"));
            }
            events
        }
    })
}

/// `POST /v1/subscriptions/{id}/charge-now` (test environment only): the pending cycle charged
/// now, ahead of its date, under that cycle's own key — so a repeat is the same payment and the
/// cron never charges the cycle again; the schedule then moves on from the cycle's date.
async fn charge_now(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    today: ChargeDate,
) -> ApiResult<Reply> {
    if cfg.mode != AccessMode::Test {
        return Err(ApiError::new(
            403,
            "test_mode_only",
            "charging the next cycle now is only available in the test environment",
            "次回分の前倒し課金はテスト環境でのみ使えます。",
        ));
    }
    charge::charge_early(store, cfg, row, today).await?;
    let row = existing(store, &row.id).await?;
    let mut view = full_view(store, &row).await?;
    view["charge_now_available"] = json!(true);
    Ok(Reply::ok(view))
}

/// 再オーソリ of a 未決済 subscription: its card again (checked at GMO first), as a source change.
async fn retry_event(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    today: ChargeDate,
) -> ApiResult<Event> {
    let sub = row.subscription()?;
    if sub.status != SubscriptionStatus::Unpaid {
        return Err(ApiError::new(
            409,
            "subscription_not_unpaid",
            "only a subscription in unpaid (未決済) can be charged again now",
            "再オーソリできるのは「未決済」の定期購入だけです。",
        ));
    }
    let source = match &sub.source {
        PaymentSource::GmoCard { card_seq, .. } => {
            let member_id =
                stored_cards::usable_card(store, cfg, &row.customer_id, *card_seq).await?;
            PaymentSource::gmo_card(&member_id, *card_seq)
                .map_err(|e| bad("card_seq", e.message_en(), e.message_ja()))?
        }
        PaymentSource::AmazonChargePermission { .. } => sub.source.clone(),
    };
    Ok(Event::SourceChanged { source, today })
}
