//! Amazon Pay checkout: what Amazon's answers mean for a payment.
//!
//! Flow (docs/amazon-pay.md): the widget gets a button payload signed for the payment's amount →
//! Amazon returns the shopper to `review` (Get Checkout Session, Update it with the **stored**
//! amount, redirect to Amazon's confirmation) → Amazon returns the shopper to `result` (claim,
//! Complete Checkout Session, 仮売上) → 303 to the storefront's `return_url`.
//!
//! Safety rules:
//! 1. One Complete per payment at a time: `result` starts only by winning the compare-and-set
//!    `requires_payment → processing` (the card flow's lease); everyone else waits for the winner
//!    and is redirected with its outcome.
//! 2. Complete is never sent again blindly. A lost answer (timeout, connection reset, 5xx) is
//!    settled by asking Amazon: Get Checkout Session, then Get Charge. Completing a session twice
//!    can cancel a paid order (reference §6.4), so a session that is still Open right after a lost
//!    answer leaves the payment `unknown` until the in-flight window has passed; only then is
//!    Complete repeated, with the same idempotency key.
//! 3. 仮売上 only when Amazon's charge is Authorized for exactly the stored amount.
//! 4. Buyer PII (name, e-mail, address) is stored in its own columns, never in events or logs.

use crate::amazon_transport::{AmazonTransport, Answer, TransportError};
use crate::card_payment::{IN_FLIGHT_WINDOW_MS, LEASE_MS};
use crate::config::{AmazonConfig, Config};
use crate::http::{ApiError, ApiResult, Nav, only_fields};
use crate::platform;
use crate::store::{Claim, Event, PaymentRow, Store};
use kessai_core::amazon::button::{self, CheckoutButtonPayload};
use kessai_core::amazon::errors::{AmazonErrorClass, classify};
use kessai_core::amazon::model::{Address, Charge, CheckoutSession, ErrorBody, Price};
use kessai_core::amazon::request::{self, ApiConfig, Environment, HttpMethod, api};
use kessai_core::amazon::signing::Algorithm;
use kessai_core::amazon::status::{
    ChargeCanceledReason, ChargeState, CheckoutSessionCanceledReason, CheckoutSessionState,
};
use kessai_core::money::Jpy;
use kessai_core::payment::{PaymentState, Phase};
use serde_json::{Value, json};

pub const METHOD: &str = "amazon_pay";
pub const REVIEW_PATH: &str = "/v1/amazon-pay/review";
pub const RESULT_PATH: &str = "/v1/amazon-pay/result";

/// Paths Amazon sends the shopper's browser to.
pub fn is_navigation(path: &str) -> bool {
    path == REVIEW_PATH || path == RESULT_PATH || path == crate::signin::RETURN_PATH
}

/// Whether the payment's current (or last) attempt went through Amazon Pay.
pub fn is_amazon(row: &PaymentRow) -> bool {
    row.method == METHOD
}

pub fn api_config(amazon: &AmazonConfig) -> ApiConfig {
    ApiConfig {
        base_url: amazon.api_base.clone(),
        environment: if amazon.sandbox() {
            Environment::Sandbox
        } else {
            Environment::Live
        },
        region: amazon.region.clone(),
        public_key_id: amazon.public_key_id.clone(),
    }
}

pub fn transport(amazon: &AmazonConfig) -> AmazonTransport<'_> {
    AmazonTransport {
        private_key_pem: &amazon.private_key_pem,
        timeout_ms: amazon.timeout_ms,
    }
}

/// Signs and sends one API call built by `kessai_core::amazon::request`.
pub async fn call(
    amazon: &AmazonConfig,
    (method, resource): (HttpMethod, String),
    body: Option<String>,
    idempotency_key: Option<&str>,
    api_name: &str,
) -> Result<Answer, TransportError> {
    let unsigned = request::build(
        &api_config(amazon),
        method,
        &resource,
        body,
        idempotency_key,
        platform::now(),
    );
    transport(amazon).call(unsigned, api_name).await
}

// ---------------------------------------------------------------------------------------------
// Views

/// `amazon_pay` block of `GET /v1/checkout/{id}`: what the widget needs to render the button.
pub fn checkout_block(cfg: &Config) -> Value {
    match &cfg.amazon {
        None => Value::Null,
        Some(a) => json!({
            "merchant_id": a.merchant_id,
            "public_key_id": a.public_key_id,
            "checkout_js_url": a.checkout_js_url,
            "sandbox": a.sandbox(),
            "ledger_currency": "JPY",
            "checkout_language": "ja_JP",
        }),
    }
}

/// `last_error` of the checkout view for a payment whose last attempt ended at Amazon.
pub fn last_error_block(row: &PaymentRow) -> Value {
    match amazon_error_class(row) {
        Some(k) => json!({
            "code": k.code(),
            "message": k.shopper_message_en(),
            "message_ja": row
                .last_error_info
                .as_deref()
                .and_then(kessai_core::amazon::errors::decline_hint_ja)
                .unwrap_or(k.shopper_message_ja()),
        }),
        None => Value::Null,
    }
}

/// `amazon_pay` block of the merchant's payment view.
pub fn payment_block(row: &PaymentRow) -> Value {
    if !is_amazon(row) && row.amazon_checkout_session_id.is_none() {
        return Value::Null;
    }
    json!({
        "checkout_session_id": row.amazon_checkout_session_id,
        "charge_id": row.amazon_charge_id,
        "charge_permission_id": row.amazon_charge_permission_id,
        "buyer": row.amazon_buyer_id.as_ref().map(|id| json!({
            "buyer_id": id,
            "name": row.amazon_buyer_name,
            "email": row.amazon_buyer_email,
        })),
        "shipping_address": row
            .shipping_address
            .as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok()),
        "return_url": row.return_url,
    })
}

// ---------------------------------------------------------------------------------------------
// Reading Amazon's JSON (field names: reference §1.3)

/// Amazon's error body `{"reasonCode","message"}`; only the code is kept (the message can echo
/// request data).
fn reason_code(answer: &Answer) -> String {
    serde_json::from_str::<ErrorBody>(&answer.body)
        .map(|e| e.reason_code)
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(64)
        .collect()
}

/// Why a canceled checkout session ended, as the class of `last_error_code`.
fn canceled_class(cs: &CheckoutSession) -> AmazonErrorClass {
    match cs
        .reason_code()
        .and_then(CheckoutSessionCanceledReason::parse)
    {
        Some(CheckoutSessionCanceledReason::Declined) => AmazonErrorClass::Declined,
        Some(CheckoutSessionCanceledReason::BuyerCanceled) => AmazonErrorClass::BuyerCanceled,
        // Amazon canceled it, or 24 hours passed: nothing was charged.
        Some(
            CheckoutSessionCanceledReason::AmazonCanceled | CheckoutSessionCanceledReason::Expired,
        )
        | None => AmazonErrorClass::CheckoutCanceled,
    }
}

/// The shipping address as the merchant view shows it (snake_case; raw Amazon values kept).
fn address_json(a: &Address) -> Value {
    json!({
        "name": a.name,
        "postal_code": a.postal_code,
        "state_or_region": a.state_or_region,
        "city": a.city,
        "address_line1": a.address_line1,
        "address_line2": a.address_line2,
        "address_line3": a.address_line3,
        "country_code": a.country_code,
        "phone": a.phone_number,
    })
}

// ---------------------------------------------------------------------------------------------
// URLs

fn review_url(amazon: &AmazonConfig, payment_id: &str) -> String {
    format!(
        "{}{REVIEW_PATH}?payment={payment_id}",
        amazon.edge_public_url
    )
}

fn result_url(amazon: &AmazonConfig, payment_id: &str) -> String {
    format!(
        "{}{RESULT_PATH}?payment={payment_id}",
        amazon.edge_public_url
    )
}

/// The shopper's outcome as the storefront's return page reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShopperOutcome {
    Authorized,
    Declined,
    Canceled,
    Error,
}

impl ShopperOutcome {
    fn as_str(self) -> &'static str {
        match self {
            ShopperOutcome::Authorized => "authorized",
            ShopperOutcome::Declined => "declined",
            ShopperOutcome::Canceled => "canceled",
            ShopperOutcome::Error => "error",
        }
    }
}

/// `return_url` with `kessai_payment` and `kessai_amazon` added (before any fragment).
pub fn return_with(return_url: &str, payment_id: &str, outcome: ShopperOutcome) -> String {
    let (base, fragment) = match return_url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (return_url, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut url = format!(
        "{base}{sep}kessai_payment={payment_id}&kessai_amazon={}",
        outcome.as_str()
    );
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    url
}

fn error_page(status: u16, reason: &'static str, message_ja: &str) -> Nav {
    Nav::ErrorPage {
        status,
        reason,
        message_ja: message_ja.to_string(),
    }
}

/// Where the shopper goes after a flow: the stored return URL, or an error page without one.
fn back_to_shop(row: &PaymentRow, cfg: &Config, outcome: ShopperOutcome) -> Nav {
    match row.return_url.as_deref() {
        Some(url) if cfg.url_on_allowed_origin(url) => {
            Nav::Redirect(return_with(url, &row.id, outcome))
        }
        _ => error_page(
            400,
            "no return url",
            match outcome {
                ShopperOutcome::Authorized => {
                    "お支払いは完了しています。ショップのページに戻ってご確認ください。"
                }
                ShopperOutcome::Declined | ShopperOutcome::Canceled | ShopperOutcome::Error => {
                    "Amazon Payでのお支払いを完了できませんでした。"
                }
            },
        ),
    }
}

/// The Amazon error class a payment's `last_error_code` names, if it is one.
fn amazon_error_class(row: &PaymentRow) -> Option<AmazonErrorClass> {
    let code = row.last_error_code.as_deref()?;
    AmazonErrorClass::ALL.into_iter().find(|k| k.code() == code)
}

/// How an Amazon attempt that charged nothing ended, for the shopper and the payment's history.
#[derive(Clone, Copy)]
enum Unpaid {
    Declined,
    /// By the buyer, or Amazon canceled the checkout session.
    Canceled,
    Failed,
}

impl Unpaid {
    fn of(class: AmazonErrorClass) -> Unpaid {
        match class {
            AmazonErrorClass::Declined => Unpaid::Declined,
            AmazonErrorClass::BuyerCanceled | AmazonErrorClass::CheckoutCanceled => {
                Unpaid::Canceled
            }
            AmazonErrorClass::InvalidState
            | AmazonErrorClass::AmountRule
            | AmazonErrorClass::Signature
            | AmazonErrorClass::AccountStatus
            | AmazonErrorClass::IdempotencyConflict
            | AmazonErrorClass::Throttled
            | AmazonErrorClass::Unavailable
            | AmazonErrorClass::NotFound
            | AmazonErrorClass::BadRequest
            | AmazonErrorClass::Unsupported => Unpaid::Failed,
        }
    }
}

/// What the shopper is told about an Amazon attempt that has ended (or not).
fn outcome_of(row: &PaymentRow) -> ShopperOutcome {
    match row.state().map(PaymentState::phase) {
        // Paid, but by card: this Amazon checkout did not pay it.
        Ok(Phase::Paid) if !is_amazon(row) => ShopperOutcome::Error,
        Ok(Phase::Paid) => ShopperOutcome::Authorized,
        Ok(Phase::Open) => match amazon_error_class(row).map(Unpaid::of) {
            Some(Unpaid::Declined) => ShopperOutcome::Declined,
            Some(Unpaid::Canceled) => ShopperOutcome::Canceled,
            Some(Unpaid::Failed) | None => ShopperOutcome::Error,
        },
        Ok(Phase::InFlight | Phase::Unknown | Phase::Closed) | Err(_) => ShopperOutcome::Error,
    }
}

fn valid_session_id(cs: &str) -> bool {
    (1..=100).contains(&cs.len())
        && cs
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn valid_payment_id(id: &str) -> bool {
    id.len() == 28 && id.starts_with("pay_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

// ---------------------------------------------------------------------------------------------
// Button

/// `POST /v1/checkout/{id}/amazon-pay/button`: the signed checkout payload for this payment.
pub async fn button(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    row: PaymentRow,
    body: &Value,
) -> ApiResult<Value> {
    only_fields(body, &["return_url"])?;
    let return_url = cfg.storefront_return_url(body)?;
    let state = row.state()?;
    if state.phase() != Phase::Open {
        return Err(ApiError::new(
            409,
            "payment_not_payable",
            format!("the payment is {}; it cannot be paid again", row.state),
            format!("このお支払いは既に「{}」です。", state.label_ja()),
        )
        .with("state", &row.state));
    }
    let amount = Jpy::chargeable(row.amount)
        .map_err(|_| ApiError::internal("stored amount out of range"))?;
    let now = platform::now().0;
    if row.return_url.as_deref() != Some(return_url) {
        let mut next = row.clone();
        next.return_url = Some(return_url.to_string());
        let ev = Event {
            actor: "shopper",
            kind: "amazon_button_signed",
            detail: json!({ "amount": row.amount }),
        };
        // Losing this race only means someone changed the payment meanwhile; its amount is
        // re-read below (the payload must carry the stored one).
        if !store.transition(&next, state, state, now, &ev).await? {
            return Err(ApiError::new(
                409,
                "payment_in_progress",
                "the payment changed meanwhile; retry",
                "処理中です。再度お試しください。",
            ));
        }
    }
    let payload = button::checkout_payload_json(&CheckoutButtonPayload::new(
        review_url(amazon, &row.id),
        amazon.store_id.clone(),
        row.order_id.clone(),
        amount,
    ));
    signed_button(amazon, payload).await
}

/// What a button needs from us: `payload_json` and its V2 `signature` (WebCrypto RSASSA-PSS
/// with the merchant key), with the `public_key_id` and `algorithm` that verify it.
pub(crate) async fn signed_button(amazon: &AmazonConfig, payload: String) -> ApiResult<Value> {
    let to_sign = button::button_string_to_sign(Algorithm::V2, &payload);
    let signature = crate::amazon_transport::sign_pss(&amazon.private_key_pem, &to_sign)
        .await
        .map_err(|e| ApiError::internal(e.0))?;
    Ok(json!({
        "payload_json": payload,
        "signature": signature,
        "public_key_id": amazon.public_key_id,
        "algorithm": Algorithm::V2.as_str(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Review

async fn load_for_nav(store: &Store<'_>, payment_id: &str) -> Result<PaymentRow, Nav> {
    if !valid_payment_id(payment_id) {
        return Err(error_page(
            400,
            "bad payment id",
            "お支払い情報が見つかりません。",
        ));
    }
    match store.payment(payment_id).await {
        Ok(Some(row)) => Ok(row),
        Ok(None) => Err(error_page(
            404,
            "payment not found",
            "お支払い情報が見つかりません。",
        )),
        Err(_) => Err(error_page(
            500,
            "D1 error",
            "システムエラーが発生しました。時間をおいて再度お試しください。",
        )),
    }
}

/// `GET /v1/amazon-pay/review?payment=&amazonCheckoutSessionId=`: Amazon sends the shopper here
/// after login and address choice.
pub async fn review(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    payment_id: &str,
    cs_id: &str,
) -> Nav {
    let row = match load_for_nav(store, payment_id).await {
        Ok(r) => r,
        Err(nav) => return nav,
    };
    if !valid_session_id(cs_id) {
        return back_to_shop(&row, cfg, ShopperOutcome::Error);
    }
    let nav = review_inner(store, cfg, amazon, row.clone(), cs_id).await;
    nav_or_back_to_shop(nav, &row, cfg, "review")
}

/// Where a return from Amazon leads: `nav`, or back to the shop with an error when the `step`
/// (review, result) failed (logged with the error's code, never the shopper's data).
fn nav_or_back_to_shop(nav: ApiResult<Nav>, row: &PaymentRow, cfg: &Config, step: &str) -> Nav {
    match nav {
        Ok(nav) => nav,
        Err(e) => {
            worker::console_warn!(
                "payment {}: Amazon {step} failed: {} ({})",
                row.id,
                e.code,
                e.message
            );
            back_to_shop(row, cfg, ShopperOutcome::Error)
        }
    }
}

async fn review_inner(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    row: PaymentRow,
    cs_id: &str,
) -> ApiResult<Nav> {
    let state = row.state()?;
    match state.phase() {
        Phase::Open => {}
        Phase::Paid | Phase::InFlight | Phase::Unknown | Phase::Closed => {
            return Ok(back_to_shop(&row, cfg, outcome_of(&row)));
        }
    }
    let cs = get_session(amazon, cs_id).await?;
    if cs.state() != Some(CheckoutSessionState::Open) {
        return Err(amazon_refused("checkout session is not Open"));
    }
    // The session must have been created from the button signed for this very payment: a
    // session of another payment (or shop) cannot be attached here.
    if cs.checkout_review_return_url() != Some(review_url(amazon, &row.id).as_str()) {
        return Err(amazon_refused(
            "checkout session belongs to another payment",
        ));
    }
    let now = platform::now().0;
    if row.amazon_checkout_session_id.as_deref() != Some(cs_id) {
        let mut next = row.clone();
        next.amazon_checkout_session_id = Some(cs_id.to_string());
        // A new session starts afresh: the refusal of an earlier one (declined, canceled…) must
        // not be taken as this session's outcome when its result comes back.
        if amazon_error_class(&row).is_some() {
            next.last_error_code = None;
            next.last_error_info = None;
        }
        let ev = Event {
            actor: "shopper",
            kind: "amazon_session_opened",
            detail: json!({ "checkout_session_id": cs_id }),
        };
        if !store.transition(&next, state, state, now, &ev).await? {
            return Err(amazon_refused("payment changed during review"));
        }
    }
    // Re-read: the amount is whatever the payment holds now, never what the browser carried.
    let row = store.existing_payment(&row.id).await?;
    let update = json!({
        "webCheckoutDetails": { "checkoutResultReturnUrl": result_url(amazon, &row.id) },
        "paymentDetails": {
            "paymentIntent": "Authorize",
            "canHandlePendingAuthorization": false,
            "chargeAmount": price(row.amount)?,
        },
        "merchantMetadata": { "merchantReferenceId": row.order_id },
    });
    let answer = call(
        amazon,
        api::update_checkout_session(cs_id),
        Some(update.to_string()),
        None,
        "UpdateCheckoutSession",
    )
    .await
    .map_err(|e| transport_failed("UpdateCheckoutSession", &e))?;
    if answer.status != 200 {
        return Err(amazon_error("UpdateCheckoutSession", &answer));
    }
    let updated: CheckoutSession = serde_json::from_str(&answer.body)
        .map_err(|_| amazon_refused("unreadable Update Checkout Session answer"))?;
    let redirect = updated
        .amazon_pay_redirect_url()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        .ok_or_else(|| amazon_refused("no amazonPayRedirectUrl (constraints remain)"))?;
    let ev_row = store.existing_payment(&row.id).await?;
    let ev = Event {
        actor: "system",
        kind: "amazon_session_updated",
        detail: json!({ "checkout_session_id": cs_id, "amount": row.amount }),
    };
    let st = ev_row.state()?;
    // Only the history line; losing this race changes nothing that matters.
    let _ = store.transition(&ev_row, st, st, now, &ev).await;
    Ok(Nav::Redirect(redirect.to_string()))
}

fn amazon_refused(why: &str) -> ApiError {
    ApiError::new(
        502,
        "amazon_error",
        format!("Amazon Pay: {why}"),
        "Amazon Payでのお手続きを続けられませんでした。",
    )
}

fn amazon_error(api_name: &str, answer: &Answer) -> ApiError {
    ApiError::new(
        502,
        "amazon_error",
        format!(
            "Amazon Pay {api_name} answered HTTP {} {}",
            answer.status,
            reason_code(answer)
        ),
        "Amazon Payでのお手続きを続けられませんでした。",
    )
    .with("reason_code", reason_code(answer))
}

fn transport_failed(api_name: &str, e: &TransportError) -> ApiError {
    let why = match e {
        TransportError::NotSent(w) | TransportError::Lost(w) => w,
    };
    ApiError::new(
        502,
        "amazon_unavailable",
        format!("Amazon Pay {api_name}: {why}"),
        "Amazon Payに接続できませんでした。時間をおいて再度お試しください。",
    )
}

/// The stored amount as an Amazon price.
fn price(yen: i64) -> ApiResult<Price> {
    Jpy::chargeable(yen)
        .map(Price::jpy)
        .map_err(|_| ApiError::internal("stored amount out of range"))
}

async fn get_session(amazon: &AmazonConfig, cs_id: &str) -> ApiResult<CheckoutSession> {
    let answer = call(
        amazon,
        api::get_checkout_session(cs_id),
        None,
        None,
        "GetCheckoutSession",
    )
    .await
    .map_err(|e| transport_failed("GetCheckoutSession", &e))?;
    if answer.status != 200 {
        return Err(amazon_error("GetCheckoutSession", &answer));
    }
    serde_json::from_str(&answer.body)
        .map_err(|_| amazon_refused("unreadable Get Checkout Session answer"))
}

async fn get_charge(amazon: &AmazonConfig, charge_id: &str) -> ApiResult<Charge> {
    let answer = call(amazon, api::get_charge(charge_id), None, None, "GetCharge")
        .await
        .map_err(|e| transport_failed("GetCharge", &e))?;
    if answer.status != 200 {
        return Err(amazon_error("GetCharge", &answer));
    }
    serde_json::from_str(&answer.body).map_err(|_| amazon_refused("unreadable Get Charge answer"))
}

// ---------------------------------------------------------------------------------------------
// Result

struct Flow<'a> {
    store: &'a Store<'a>,
    amazon: &'a AmazonConfig,
    now: i64,
}

impl Flow<'_> {
    /// Leaves `processing` (or `unknown`) for `to`. The caller holds the lease, so a lost
    /// compare-and-set means the lease expired and someone else settled it: report theirs.
    async fn settle(
        &self,
        next: PaymentRow,
        to: PaymentState,
        kind: &str,
        detail: Value,
    ) -> ApiResult<PaymentRow> {
        let ev = Event {
            actor: "gateway",
            kind,
            detail,
        };
        self.store.settle_leased(next, to, self.now, &ev).await
    }

    /// Back to `requires_payment`: nothing was charged. `class` names the shopper's message
    /// (`last_error_code`), `reason` is Amazon's reasonCode (kept for the operator).
    async fn release(
        &self,
        mut row: PaymentRow,
        class: AmazonErrorClass,
        reason: &str,
    ) -> ApiResult<PaymentRow> {
        row.last_error_code = Some(class.code().to_string());
        row.last_error_info = Some(reason.to_string()).filter(|r| !r.is_empty());
        let detail = json!({
            "checkout_session_id": row.amazon_checkout_session_id,
            "reason_code": reason,
        });
        let kind = match Unpaid::of(class) {
            Unpaid::Declined => "amazon_declined",
            Unpaid::Canceled => "amazon_canceled",
            Unpaid::Failed => "amazon_failed",
        };
        self.settle(row, PaymentState::RequiresPayment, kind, detail)
            .await
    }

    async fn unknown(&self, row: PaymentRow, kind: &str, why: &str) -> ApiResult<PaymentRow> {
        worker::console_warn!("payment {}: Amazon outcome open: {why}", row.id);
        let detail = json!({
            "checkout_session_id": row.amazon_checkout_session_id,
            "reason": why,
        });
        self.settle(row, PaymentState::Unknown, kind, detail).await
    }

    /// Complete Checkout Session with the stored amount. One idempotency key per (payment,
    /// session): a repeat is answered by Amazon from the first execution.
    async fn complete(&self, row: PaymentRow, cs_id: &str) -> ApiResult<PaymentRow> {
        let key_hex = platform::sha256_hex(format!("complete:{}:{cs_id}", row.id).as_bytes())
            .await
            .ok_or_else(|| ApiError::internal("sha256"))?;
        // ≤ 32 characters of [A-Za-z0-9_-] (reference §5).
        let key = format!("kc{}", key_hex.get(..30).unwrap_or(&key_hex));
        let body = json!({ "chargeAmount": price(row.amount)? }).to_string();
        let answer = call(
            self.amazon,
            api::complete_checkout_session(cs_id),
            Some(body),
            Some(&key),
            "CompleteCheckoutSession",
        )
        .await;
        let answer = match answer {
            Ok(a) => a,
            Err(TransportError::NotSent(why)) => {
                worker::console_error!("payment {}: Complete not sent: {why}", row.id);
                return self
                    .release(row, AmazonErrorClass::Unavailable, "NotSent")
                    .await;
            }
            Err(TransportError::Lost(why)) => {
                return Box::pin(self.reconcile(row, &why, Answered::No, false)).await;
            }
        };
        if (200..=202).contains(&answer.status) {
            return match serde_json::from_str::<CheckoutSession>(&answer.body) {
                Ok(cs) => self.adopt_session(row, &cs, true).await,
                Err(_) => {
                    Box::pin(self.reconcile(row, "unreadable Complete answer", Answered::No, false))
                        .await
                }
            };
        }
        let reason = reason_code(&answer);
        let class = classify(answer.status, &reason);
        match class {
            // The session was canceled (declined on Amazon's page, canceled, expired) or is in
            // another state than we thought (completed by an earlier call): Get CS says which.
            AmazonErrorClass::CheckoutCanceled | AmazonErrorClass::InvalidState => {
                Box::pin(self.reconcile(
                    row,
                    &format!("Complete answered {reason}"),
                    Answered::Yes,
                    false,
                ))
                .await
            }
            // A 5xx with a body (the transport normally turns those into a lost answer).
            AmazonErrorClass::Unavailable => {
                Box::pin(self.reconcile(
                    row,
                    &format!("Complete answered HTTP {}", answer.status),
                    Answered::No,
                    false,
                ))
                .await
            }
            AmazonErrorClass::Declined | AmazonErrorClass::BuyerCanceled => {
                self.release(row, class, &reason).await
            }
            AmazonErrorClass::AmountRule
            | AmazonErrorClass::Signature
            | AmazonErrorClass::AccountStatus
            | AmazonErrorClass::IdempotencyConflict
            | AmazonErrorClass::Throttled
            | AmazonErrorClass::NotFound
            | AmazonErrorClass::BadRequest
            | AmazonErrorClass::Unsupported => {
                worker::console_error!(
                    "payment {}: Complete refused: HTTP {} {reason} ({})",
                    row.id,
                    answer.status,
                    class.operator_message_en()
                );
                self.release(row, class, &reason).await
            }
        }
    }

    /// Asks Amazon what happened to the stored checkout session. `answered`: whether Amazon
    /// answered the call being reconciled (then an Open session means it did not complete it);
    /// without an answer the call may still be running at Amazon. `may_complete`: whether an
    /// Open session that Amazon certainly did not complete may be completed now (not when we
    /// come from a Complete that Amazon just refused).
    async fn reconcile(
        &self,
        row: PaymentRow,
        why: &str,
        answered: Answered,
        may_complete: bool,
    ) -> ApiResult<PaymentRow> {
        let Some(cs_id) = row.amazon_checkout_session_id.clone() else {
            return self
                .unknown(row, "amazon_outcome_unknown", "no checkout session stored")
                .await;
        };
        worker::console_warn!(
            "payment {}: Amazon outcome open ({why}); asking Get Checkout Session",
            row.id
        );
        let cs = match get_session(self.amazon, &cs_id).await {
            Ok(cs) => cs,
            Err(e) => {
                return self
                    .unknown(row, "amazon_outcome_unknown", &e.message)
                    .await;
            }
        };
        match cs.state() {
            Some(CheckoutSessionState::Completed) => self.adopt_session(row, &cs, false).await,
            Some(CheckoutSessionState::Canceled) => {
                let reason = cs.reason_code().unwrap_or("").to_string();
                self.release(row, canceled_class(&cs), &reason).await
            }
            Some(CheckoutSessionState::Open) => {
                let started = row.attempt_started_at.unwrap_or(row.updated_at);
                let not_applied =
                    answered == Answered::Yes || self.now - started >= IN_FLIGHT_WINDOW_MS;
                match (not_applied, may_complete) {
                    // Amazon did not apply a Complete (it answered, or every call in flight has
                    // ended by now): completing now is the first completion.
                    (true, true) => self.complete(row, &cs_id).await,
                    // Amazon refused our Complete and the session is still Open: nothing was
                    // charged; the shopper may start again.
                    (true, false) => {
                        self.release(row, AmazonErrorClass::InvalidState, "SessionStillOpen")
                            .await
                    }
                    // [U] Amazon does not document how long a Complete may run; the card
                    // flow's in-flight window is used.
                    (false, _) => {
                        self.unknown(
                            row,
                            "amazon_outcome_pending",
                            "session still Open after a lost answer",
                        )
                        .await
                    }
                }
            }
            None => {
                self.unknown(
                    row,
                    "amazon_outcome_unknown",
                    "unknown checkout session state",
                )
                .await
            }
        }
    }

    /// A Completed checkout session: 仮売上 once Get Charge confirms the authorisation.
    async fn adopt_session(
        &self,
        mut row: PaymentRow,
        cs: &CheckoutSession,
        from_complete: bool,
    ) -> ApiResult<PaymentRow> {
        row.amazon_charge_permission_id = cs.charge_permission_id.clone();
        row.amazon_charge_id = cs.charge_id.clone();
        if let Some(b) = &cs.buyer {
            row.amazon_buyer_id = Some(b.buyer_id.clone());
            row.amazon_buyer_name = b.name.clone();
            row.amazon_buyer_email = b.email.clone();
        }
        if let Some(a) = &cs.shipping_address {
            row.shipping_address = Some(address_json(a).to_string());
        }
        match cs.state() {
            Some(CheckoutSessionState::Completed) => {}
            Some(CheckoutSessionState::Open | CheckoutSessionState::Canceled) | None => {
                return self
                    .unknown(
                        row,
                        "amazon_outcome_unknown",
                        "Complete answered a session that is not Completed",
                    )
                    .await;
            }
        }
        let Some(charge_id) = row.amazon_charge_id.clone() else {
            // Authorize intent always yields a charge; without one nothing is held for us.
            return self
                .unknown(
                    row,
                    "amazon_outcome_unknown",
                    "completed session without a charge",
                )
                .await;
        };
        let charge = match get_charge(self.amazon, &charge_id).await {
            Ok(c) => c,
            Err(e) => {
                return self
                    .unknown(row, "amazon_outcome_unknown", &e.message)
                    .await;
            }
        };
        let kind = if from_complete {
            "amazon_authorized"
        } else {
            "amazon_reconciled"
        };
        self.adopt_charge(row, &charge, kind).await
    }

    /// Adopts a charge's state for a payment that is being settled (processing/unknown).
    async fn adopt_charge(
        &self,
        mut row: PaymentRow,
        charge: &Charge,
        kind: &str,
    ) -> ApiResult<PaymentRow> {
        let amount = charge
            .charge_amount
            .as_ref()
            .and_then(|p| p.to_jpy().ok())
            .map(|j| j.yen());
        let state = charge.state();
        let detail = json!({
            "checkout_session_id": row.amazon_checkout_session_id,
            "charge_id": row.amazon_charge_id,
            "charge_permission_id": row.amazon_charge_permission_id,
            "charge_state": state.map(ChargeState::as_str),
            "amount": amount,
        });
        let reason = charge.reason_code().unwrap_or("").to_string();
        match state {
            Some(
                ChargeState::Authorized | ChargeState::CaptureInitiated | ChargeState::Captured,
            ) if amount != Some(row.amount) => {
                worker::console_error!(
                    "payment {}: Amazon holds a different amount than the payment",
                    row.id
                );
                self.settle(row, PaymentState::Unknown, "amazon_amount_mismatch", detail)
                    .await
            }
            // CaptureInitiated: a capture is on its way (made at Amazon, not by kessai yet);
            // until it settles the authorisation stands.
            Some(ChargeState::Authorized | ChargeState::CaptureInitiated) => {
                row.authorized_at = Some(self.now);
                row.last_error_code = None;
                row.last_error_info = None;
                self.settle(row, PaymentState::Authorized, kind, detail)
                    .await
            }
            Some(ChargeState::Captured) => {
                row.authorized_at = row.authorized_at.or(Some(self.now));
                row.last_error_code = None;
                row.last_error_info = None;
                self.settle(row, PaymentState::Captured, kind, detail).await
            }
            Some(ChargeState::Declined) => {
                self.release(row, AmazonErrorClass::Declined, &reason).await
            }
            Some(ChargeState::Canceled) => {
                self.release(row, AmazonErrorClass::CheckoutCanceled, &reason)
                    .await
            }
            // canHandlePendingAuthorization is false, so Amazon should never leave our charges
            // in this state; if it does, the outcome is open until it settles.
            Some(ChargeState::AuthorizationInitiated) => {
                self.settle(row, PaymentState::Unknown, "amazon_outcome_pending", detail)
                    .await
            }
            None => {
                self.settle(row, PaymentState::Unknown, "amazon_outcome_unknown", detail)
                    .await
            }
        }
    }
}

/// Whether Amazon answered the call whose outcome is being reconciled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answered {
    Yes,
    No,
}

async fn claim(
    flow: &Flow<'_>,
    row: &PaymentRow,
    from: PaymentState,
    kind: &str,
    cs_id: Option<&str>,
    new_attempt: bool,
) -> ApiResult<Claim> {
    let mut claimed = row.clone();
    claimed.lease_until = Some(flow.now + LEASE_MS);
    claimed.method = METHOD.to_string();
    if new_attempt {
        claimed.attempt_started_at = Some(flow.now);
    }
    let ev = Event {
        actor: if new_attempt { "shopper" } else { "system" },
        kind,
        detail: json!({ "checkout_session_id": cs_id.or(row.amazon_checkout_session_id.as_deref()) }),
    };
    flow.store
        .claim_processing(claimed, from, flow.now, &ev)
        .await
}

/// `GET /v1/amazon-pay/result?payment=&amazonCheckoutSessionId=`: Amazon sends the shopper here
/// after its confirmation page.
pub async fn result(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    payment_id: &str,
    cs_id: &str,
) -> Nav {
    let row = match load_for_nav(store, payment_id).await {
        Ok(r) => r,
        Err(nav) => return nav,
    };
    let nav = result_inner(store, cfg, amazon, row.clone(), cs_id).await;
    nav_or_back_to_shop(nav, &row, cfg, "result")
}

async fn result_inner(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    row: PaymentRow,
    cs_id: &str,
) -> ApiResult<Nav> {
    let now = platform::now().0;
    let flow = Flow { store, amazon, now };
    let same_session =
        valid_session_id(cs_id) && row.amazon_checkout_session_id.as_deref() == Some(cs_id);
    let state = row.state()?;
    let lease_live = row.lease_until.is_some_and(|t| t > now);
    let row = match state.phase() {
        // Repeated result (reload, back button): only the redirect, never another Complete.
        Phase::Paid => {
            let outcome = if same_session {
                outcome_of(&row)
            } else {
                ShopperOutcome::Error
            };
            return Ok(back_to_shop(&row, cfg, outcome));
        }
        Phase::Closed => return Ok(back_to_shop(&row, cfg, ShopperOutcome::Error)),
        Phase::InFlight if lease_live => {
            // A concurrent result (double reload) holds the claim: wait for its outcome.
            let settled = wait_for_settle(store, &row.id).await?;
            return Ok(back_to_shop(
                &settled,
                cfg,
                if same_session {
                    outcome_of(&settled)
                } else {
                    ShopperOutcome::Error
                },
            ));
        }
        Phase::InFlight | Phase::Unknown => {
            if !is_amazon(&row) {
                return Ok(back_to_shop(&row, cfg, ShopperOutcome::Error));
            }
            match claim(&flow, &row, state, "amazon_reconcile_started", None, false).await? {
                Claim::Won(claimed) => {
                    flow.reconcile(claimed, "previous attempt unresolved", Answered::No, true)
                        .await?
                }
                Claim::Lost(current) => current,
            }
        }
        Phase::Open => {
            if !same_session {
                worker::console_warn!(
                    "payment {}: result for a checkout session that is not the stored one",
                    row.id
                );
                return Ok(back_to_shop(&row, cfg, ShopperOutcome::Error));
            }
            // This session's completion already ended in a refusal (declined, canceled, amount,
            // …): it is never completed a second time; the shopper starts a new checkout.
            if is_amazon(&row) && amazon_error_class(&row).is_some() {
                return Ok(back_to_shop(&row, cfg, outcome_of(&row)));
            }
            match claim(
                &flow,
                &row,
                state,
                "amazon_authorization_started",
                Some(cs_id),
                true,
            )
            .await?
            {
                Claim::Won(claimed) => flow.complete(claimed, cs_id).await?,
                Claim::Lost(current) => match current.state()?.phase() {
                    Phase::InFlight => wait_for_settle(store, &row.id).await?,
                    Phase::Open | Phase::Paid | Phase::Unknown | Phase::Closed => current,
                },
            }
        }
    };
    let outcome = if row.amazon_checkout_session_id.as_deref() == Some(cs_id) {
        outcome_of(&row)
    } else {
        ShopperOutcome::Error
    };
    Ok(back_to_shop(&row, cfg, outcome))
}

/// Waits (up to ~10 s) for a flow held by another request to leave `processing`.
async fn wait_for_settle(store: &Store<'_>, id: &str) -> ApiResult<PaymentRow> {
    let mut row = store.existing_payment(id).await?;
    for _ in 0..40 {
        if row.state()?.phase() != Phase::InFlight {
            break;
        }
        worker::Delay::from(std::time::Duration::from_millis(250)).await;
        row = store.existing_payment(id).await?;
    }
    Ok(row)
}

// ---------------------------------------------------------------------------------------------
// Reconciliation

/// Settles an Amazon payment with Amazon: an open outcome via Get Checkout Session / Get Charge,
/// a settled one by re-reading its charge (Get Charge), adopting changes made at Amazon.
pub async fn reconcile_now(
    store: &Store<'_>,
    amazon: &AmazonConfig,
    row: PaymentRow,
    now: i64,
) -> ApiResult<PaymentRow> {
    let flow = Flow { store, amazon, now };
    let state = row.state()?;
    let lease_live = row.lease_until.is_some_and(|t| t > now);
    match state {
        PaymentState::Processing if lease_live => Ok(row),
        PaymentState::Unknown | PaymentState::Processing => {
            match claim(&flow, &row, state, "amazon_reconcile_started", None, false).await? {
                Claim::Won(claimed) => {
                    flow.reconcile(claimed, "reconcile requested", Answered::No, true)
                        .await
                }
                Claim::Lost(current) => Ok(current),
            }
        }
        PaymentState::Authorized | PaymentState::Captured => {
            let Some(charge_id) = row.amazon_charge_id.clone() else {
                return Ok(row);
            };
            let charge = get_charge(amazon, &charge_id).await?;
            let reason = charge.reason_code().map(str::to_string);
            let to = match charge.state() {
                Some(ChargeState::Authorized | ChargeState::CaptureInitiated) => {
                    PaymentState::Authorized
                }
                Some(ChargeState::Captured) => PaymentState::Captured,
                // 30 days unused → 期限切れ; canceled by anyone → 取消.
                Some(ChargeState::Canceled) => {
                    match reason.as_deref().and_then(ChargeCanceledReason::parse) {
                        Some(ChargeCanceledReason::ExpiredUnused) => PaymentState::Expired,
                        Some(
                            ChargeCanceledReason::MerchantCanceled
                            | ChargeCanceledReason::ChargePermissionCanceled
                            | ChargeCanceledReason::AmazonCanceled
                            | ChargeCanceledReason::BuyerCanceled,
                        )
                        | None => PaymentState::Voided,
                    }
                }
                Some(ChargeState::Declined) => PaymentState::Declined,
                Some(ChargeState::AuthorizationInitiated) | None => state,
            };
            if to == state {
                return Ok(row);
            }
            let detail = json!({
                "charge_id": charge_id,
                "charge_state": charge.state().map(ChargeState::as_str),
                "reason_code": reason,
            });
            let ev = Event {
                actor: "system",
                kind: "amazon_reconciled",
                detail,
            };
            // Losing the race means someone else changed it meanwhile: theirs is current.
            store.transition(&row, state, to, now, &ev).await?;
            store.existing_payment(&row.id).await
        }
        PaymentState::RequiresPayment
        | PaymentState::Voided
        | PaymentState::Returned
        | PaymentState::ReturnedNextMonth
        | PaymentState::Refunded
        | PaymentState::PartiallyRefunded
        | PaymentState::Declined
        | PaymentState::Unpaid
        | PaymentState::Expired => Ok(row),
    }
}
