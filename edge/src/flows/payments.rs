//! The merchant's payments: creating (or resuming) the payment of an order, the view of one
//! payment with its previews and history, and 再照会 (reconcile, with both sides shown).

use super::gmo_order::{move_to_new_gmo_order, new_gmo_order_id};
use super::operations::preview::previews;
use super::operations::sides::{gateway_side, kessai_side};
use super::reconcile::reconcile_any;
use crate::config::Config;
use crate::http::{ApiError, ApiResult, Reply, invalid_json};
use crate::platform;
use crate::store::{Event, NewPayment, PaymentRow, Store};
use crate::views::{events_view, payment_view};
use kessai_core::gmo::risk;
use kessai_core::money::Jpy;
use kessai_core::payment::{CaptureMode, PaymentState};
use kessai_core::subscription::{ChargeDate, Cycle, SubscriptionPlan};
use serde_json::{Value, json};

/// `GET /v1/payments/{id}`: the payment, what capture and cancel would do now, and its history.
pub async fn get(store: &Store<'_>, id: &str) -> ApiResult<Reply> {
    let row = store.existing_payment(id).await?;
    let mut view = payment_view(&row)?;
    view["previews"] = previews(&row, platform::now().0)?;
    view["events"] = events_view(&store.events(id).await?);
    Ok(Reply::ok(view))
}

/// `POST /v1/payments/{id}/reconcile`: settles with the gateway, then shows both sides as they
/// stand after it, for the operator to compare.
pub async fn reconcile(store: &Store<'_>, cfg: &Config, id: &str) -> ApiResult<Reply> {
    let row = store.existing_payment(id).await?;
    let row = reconcile_any(store, cfg, row).await?;
    let mut view = payment_view(&row)?;
    view["sides"] = json!({
        "kessai": kessai_side(&row),
        "gateway": gateway_side(cfg, &row).await,
    });
    Ok(Reply::ok(view))
}

/// What `POST /v1/payments` asks for.
struct PaymentRequest {
    order_id: String,
    amount: Jpy,
    capture: CaptureMode,
    customer_name: Option<String>,
    /// `risk` in its stored JSON form; `None` when the request had none.
    risk_data: Option<String>,
    /// The shop's member id (`customer`): the payment may save and use that member's cards.
    customer_id: Option<String>,
    /// `subscription`: a 定期購入 sign-up (set up once the payment is paid or the card registered).
    plan: Option<SubscriptionPlan>,
}

/// The shop's member id as the merchant names it: 1–100 of `[A-Za-z0-9._@+-]` (EC-CUBE's
/// numeric ids, e-mail-like logins). Never sent to GMO (kessai makes its own MemberID).
pub fn customer_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@+-".contains(&b))
}

/// `capture` (manual by default) and `amount`: whole yen within GMO's range, or none at all for
/// a card registration (`verify`, GMO 有効性チェック: no money moves).
fn capture_and_amount(body: &Value) -> ApiResult<(CaptureMode, Jpy)> {
    let capture = match body.get("capture").and_then(Value::as_str) {
        None => CaptureMode::Manual,
        Some(c) => CaptureMode::parse(c).ok_or_else(|| {
            ApiError::bad_request(
                "capture must be manual, automatic or verify",
                "売上方式はmanual・automatic・verifyのいずれかで指定してください。",
            )
            .with("param", "capture")
        })?,
    };
    let amount = match body.get("amount") {
        // カード登録 (`verify`: GMO 有効性チェック) charges nothing: no amount, or 0.
        None | Some(Value::Null) if capture == CaptureMode::Verify => 0,
        Some(v) if capture == CaptureMode::Verify && v.as_i64() == Some(0) => 0,
        Some(_) if capture == CaptureMode::Verify => {
            return Err(ApiError::bad_request(
                "a card registration (capture: verify) charges nothing: leave amount out",
                "カード登録(verify)では金額を指定できません。",
            )
            .with("param", "amount"));
        }
        Some(v) if v.is_i64() => v.as_i64().unwrap_or(0),
        _ => {
            return Err(ApiError::bad_request(
                "amount must be an integer number of yen",
                "金額は円単位の整数で指定してください。",
            )
            .with("param", "amount"));
        }
    };
    let amount = if capture == CaptureMode::Verify {
        Jpy::from_stored(0)
    } else {
        Jpy::chargeable(amount).map_err(|e| {
            ApiError::bad_request(e.message_en(), e.message_ja()).with("param", "amount")
        })?
    };
    Ok((capture, amount))
}

/// Reads and checks the body of `POST /v1/payments` (400 with `param` for each bad field).
/// The keys `POST /v1/payments` takes: any other is refused, so a typo (`"captrue"`) fails
/// loudly instead of creating a payment the merchant did not ask for.
const PAYMENT_KEYS: [&str; 7] = [
    "order_id",
    "amount",
    "capture",
    "customer_name",
    "customer",
    "risk",
    "subscription",
];

fn bad_plan(en: impl Into<String>, ja: impl Into<String>) -> ApiError {
    ApiError::bad_request(en, ja).with("param", "subscription")
}

/// `subscription: {cycle, amount?, first_charge_on?}`: a 定期購入 sign-up. The payment pays the
/// first cycle (each cycle's `amount` defaults to the payment's), or, for a card registration
/// (`capture: verify`), charges nothing and the first cycle is charged on `first_charge_on`
/// (default today, JST) by the Cron Trigger. A customer is needed: the source is theirs.
fn subscription_plan(
    body: &Value,
    capture: CaptureMode,
    amount: Jpy,
    customer: bool,
) -> ApiResult<Option<SubscriptionPlan>> {
    let plan = match body.get("subscription") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(plan)) => plan,
        Some(_) => {
            return Err(bad_plan(
                "subscription must be an object {cycle, amount?, first_charge_on?}",
                "定期購入の指定(subscription)が正しくありません。",
            ));
        }
    };
    if let Some(k) = plan
        .keys()
        .find(|k| !["cycle", "amount", "first_charge_on"].contains(&k.as_str()))
    {
        return Err(bad_plan(
            format!("unknown field subscription.{k}"),
            "定期購入の指定に使えない項目があります。",
        ));
    }
    if !customer {
        return Err(ApiError::bad_request(
            "a subscription sign-up needs the customer it belongs to",
            "定期購入のお申し込みには会員ID(customer)が必要です。",
        )
        .with("param", "customer"));
    }
    let cycle = match plan.get("cycle").and_then(Value::as_str).map(Cycle::parse) {
        Some(Ok(c)) => c,
        Some(Err(e)) => return Err(bad_plan(e.message_en(), e.message_ja())),
        None => {
            return Err(bad_plan(
                "subscription.cycle must be days:N, monthly:D or weekly:mon..sun",
                "周期は days:N、monthly:D、weekly:mon〜sun のいずれかで指定してください。",
            ));
        }
    };
    let verify = capture == CaptureMode::Verify;
    let amount = match plan.get("amount") {
        None | Some(Value::Null) if !verify => amount,
        Some(v) if v.is_i64() => Jpy::chargeable(v.as_i64().unwrap_or(0))
            .map_err(|e| bad_plan(e.message_en(), e.message_ja()))?,
        _ => {
            return Err(bad_plan(
                "subscription.amount must be an integer number of yen (required with capture: verify)",
                "定期購入の金額(subscription.amount)を円単位の整数で指定してください。",
            ));
        }
    };
    let first_charge_on = match plan.get("first_charge_on") {
        None | Some(Value::Null) => None,
        Some(_) if !verify => {
            return Err(bad_plan(
                "subscription.first_charge_on is only for a card registration (capture: verify): this payment is the first charge",
                "この決済が初回のお支払いのため、初回課金日は指定できません。",
            ));
        }
        Some(v) => Some(v.as_str().and_then(ChargeDate::parse).ok_or_else(|| {
            bad_plan(
                "subscription.first_charge_on must be a date YYYY-MM-DD",
                "初回課金日は YYYY-MM-DD で指定してください。",
            )
        })?),
    };
    Ok(Some(SubscriptionPlan {
        cycle,
        amount,
        first_charge_on,
    }))
}

fn parse_request(raw: &str) -> ApiResult<PaymentRequest> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    let Some(fields) = body.as_object() else {
        return Err(invalid_json());
    };
    if let Some(k) = fields.keys().find(|k| !PAYMENT_KEYS.contains(&k.as_str())) {
        return Err(ApiError::bad_request(
            format!("unknown field {k}"),
            "指定できない項目があります。",
        )
        .with("param", k));
    }
    let order_id = body
        .get("order_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if order_id.is_empty()
        || order_id.chars().count() > 64
        || order_id.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "order_id must be 1-64 characters",
            "注文番号は1〜64文字で指定してください。",
        )
        .with("param", "order_id"));
    }
    let (capture, amount) = capture_and_amount(&body)?;
    let customer_name = match body.get("customer_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name))
            if !name.trim().is_empty()
                && name.trim().chars().count() <= 100
                && !name.chars().any(char::is_control) =>
        {
            Some(name.trim())
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "customer_name must be 1-100 characters",
                "お客様名は1〜100文字で指定してください。",
            )
            .with("param", "customer_name"));
        }
    };
    let customer_id = match body.get("customer") {
        None | Some(Value::Null) => None,
        Some(Value::String(c)) if customer_id_ok(c) => Some(c.clone()),
        Some(_) => {
            return Err(ApiError::bad_request(
                "customer must be 1-100 characters of A-Z a-z 0-9 . _ @ + -",
                "会員IDは半角英数字と . _ @ + - の1〜100文字で指定してください。",
            )
            .with("param", "customer"));
        }
    };
    if capture == CaptureMode::Verify && customer_id.is_none() {
        return Err(ApiError::bad_request(
            "a card registration (capture: verify) needs the customer whose card it stores",
            "カード登録(verify)には会員ID(customer)が必要です。",
        )
        .with("param", "customer"));
    }
    let risk = risk::parse(body.get("risk"))
        .map_err(|e| ApiError::bad_request(e.message_en, e.message_ja).with("param", &e.param))?;
    let plan = subscription_plan(&body, capture, amount, customer_id.is_some())?;
    Ok(PaymentRequest {
        order_id: order_id.to_string(),
        amount,
        capture,
        customer_name: customer_name.map(str::to_string),
        risk_data: (!risk::is_empty(&risk)).then(|| risk::to_json(&risk).to_string()),
        customer_id,
        plan,
    })
}

/// A new payment's id (`pay_<24 hex>`), client secret (`pay_…_secret_<32 hex>`) and first GMO
/// OrderID.
pub fn new_payment_ids() -> ApiResult<(String, String, String)> {
    let id = format!(
        "pay_{}",
        platform::random_hex(12).ok_or_else(|| ApiError::internal("random"))?
    );
    let secret = format!(
        "{id}_secret_{}",
        platform::random_hex(16).ok_or_else(|| ApiError::internal("random"))?
    );
    Ok((id, secret, new_gmo_order_id(1)?))
}

/// `POST /v1/payments`: creates the payment for an order, or resumes the open one.
pub async fn create(store: &Store<'_>, cfg: &Config, raw: &str) -> ApiResult<Reply> {
    let PaymentRequest {
        order_id,
        amount,
        capture,
        customer_name,
        risk_data,
        customer_id,
        plan,
    } = parse_request(raw)?;
    if capture == CaptureMode::Verify {
        cfg.stored_cards()?;
    }
    if let Some(first) = plan.and_then(|p| p.first_charge_on)
        && first < ChargeDate::of_instant(platform::now())
    {
        return Err(bad_plan(
            "subscription.first_charge_on is in the past",
            "初回課金日に過去の日付は指定できません。",
        ));
    }
    let plan_json = plan
        .map(|p| serde_json::to_string(&p))
        .transpose()
        .map_err(|_| ApiError::internal("plan encoding"))?;
    let order_id = order_id.as_str();
    let customer_name = customer_name.as_deref();
    let now = platform::now().0;

    if let Some(existing) = store.payment_by_order(order_id).await? {
        same_customer(&existing, customer_id.as_deref())?;
        same_plan(&existing, plan_json.as_deref())?;
        let existing = update_risk(store, existing, risk_data.as_deref()).await?;
        return resume_payment(store, existing, amount, capture, now).await;
    }
    let (id, secret, gmo_order_id) = new_payment_ids()?;
    let new = NewPayment {
        id: &id,
        client_secret: &secret,
        order_id,
        amount: amount.yen(),
        capture,
        gmo_order_id: &gmo_order_id,
        now,
        customer_name,
        risk_data: risk_data.as_deref(),
        customer_id: customer_id.as_deref(),
        subscription_plan: plan_json.as_deref(),
    };
    let ev = Event {
        actor: "merchant",
        kind: "created",
        detail: json!({ "amount": amount.yen(), "capture": capture.as_str(), "subscription": plan }),
    };
    if !store.insert_payment(&new, &ev).await? {
        // Lost a race with a concurrent create for the same order.
        let existing = store
            .payment_by_order(order_id)
            .await?
            .ok_or_else(|| ApiError::internal("order vanished"))?;
        return resume_payment(store, existing, amount, capture, now).await;
    }
    let row = store
        .payment(&id)
        .await?
        .ok_or_else(|| ApiError::internal("payment vanished"))?;
    Ok(Reply::with_status(201, payment_view(&row)?))
}

/// A resumed creation names the payment's customer or none: another member would see (and
/// could pay with) the first one's cards.
fn same_customer(row: &PaymentRow, customer_id: Option<&str>) -> ApiResult<()> {
    if customer_id.is_none() || row.customer_id.as_deref() == customer_id {
        return Ok(());
    }
    Err(ApiError::new(
        409,
        "customer_mismatch",
        "this order's payment was created for another customer",
        "この注文の決済は別の会員で作成されています。",
    )
    .with("payment_id", &row.id))
}

/// A resumed creation sends the same 定期購入 plan or none (the shopper may already be paying
/// for the first one).
fn same_plan(row: &PaymentRow, plan_json: Option<&str>) -> ApiResult<()> {
    if plan_json.is_none() || row.subscription_plan.as_deref() == plan_json {
        return Ok(());
    }
    Err(ApiError::new(
        409,
        "subscription_plan_mismatch",
        "this order's payment was created with another subscription plan",
        "この注文の決済は別の定期購入の内容で作成されています。",
    )
    .with("payment_id", &row.id))
}

/// A resumed creation that sends risk data replaces the stored one while nothing is charged (the
/// shopper may have changed the address); without `risk`, the stored data stays.
async fn update_risk(
    store: &Store<'_>,
    row: PaymentRow,
    risk_data: Option<&str>,
) -> ApiResult<PaymentRow> {
    match risk_data {
        Some(r)
            if row.risk_data.as_deref() != Some(r) && store.set_risk_data(&row.id, r).await? =>
        {
            Ok(PaymentRow {
                risk_data: Some(r.to_string()),
                ..row
            })
        }
        Some(_) | None => Ok(row),
    }
}

/// A storefront that opens checkout again for the same order gets the same payment; if the cart
/// total changed before anything was charged, the payment follows it (with a new GMO OrderID
/// when an EntryTran for the old amount exists).
async fn resume_payment(
    store: &Store<'_>,
    row: PaymentRow,
    amount: Jpy,
    capture: CaptureMode,
    now: i64,
) -> ApiResult<Reply> {
    let state = row.state()?;
    // A card registration stays one, and an order's payment never becomes one.
    if (row.capture_mode == CaptureMode::Verify.as_str()) != (capture == CaptureMode::Verify) {
        return Err(ApiError::new(
            409,
            "capture_mismatch",
            "this order's payment was created with another capture mode (verify is for card registration only)",
            "この注文の決済は別の売上方式で作成されています(verifyはカード登録専用です)。",
        )
        .with("payment_id", &row.id));
    }
    if state != PaymentState::RequiresPayment {
        return Err(ApiError::new(
            409,
            "order_has_payment",
            format!("order already has a payment in state {}", row.state),
            format!("この注文の決済は既に「{}」です。", state.label_ja()),
        )
        .with("payment_id", &row.id)
        .with("state", &row.state));
    }
    if row.amount == amount.yen() && row.capture_mode == capture.as_str() {
        return Ok(Reply::ok(payment_view(&row)?));
    }
    let mut next = row.clone();
    next.amount = amount.yen();
    next.capture_mode = capture.as_str().to_string();
    if next.gmo_access_id.is_some() {
        move_to_new_gmo_order(&mut next)?;
    }
    let ev = Event {
        actor: "merchant",
        kind: "amount_updated",
        detail: json!({ "from": row.amount, "to": amount.yen(), "gmo_order_id": next.gmo_order_id }),
    };
    if !store
        .transition(
            &next,
            PaymentState::RequiresPayment,
            PaymentState::RequiresPayment,
            now,
            &ev,
        )
        .await?
    {
        return Err(ApiError::new(
            409,
            "payment_in_progress",
            "the payment changed meanwhile; retry",
            "処理中です。再度お試しください。",
        ));
    }
    let fresh = store
        .payment(&row.id)
        .await?
        .ok_or_else(|| ApiError::internal("payment vanished"))?;
    Ok(Reply::ok(payment_view(&fresh)?))
}
