//! What Amazon Pay's answers mean for the edge's callers: the error of a refused or lost call,
//! Amazon's reasonCode, and why a checkout session ended. The classification itself (HTTP
//! status + reasonCode → class, shopper messages) is `kessai_core::amazon::errors`.

use super::transport::{Answer, TransportError};
use crate::http::{ApiError, ApiResult};
use kessai_core::amazon::errors::AmazonErrorClass;
use kessai_core::amazon::model::{CheckoutSession, ErrorBody, Price};
use kessai_core::amazon::status::CheckoutSessionCanceledReason;
use kessai_core::money::Jpy;

/// Amazon's error body `{"reasonCode","message"}`; only the code is kept (the message can echo
/// request data).
pub fn reason_code(answer: &Answer) -> String {
    serde_json::from_str::<ErrorBody>(&answer.body)
        .map(|e| e.reason_code)
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(64)
        .collect()
}

/// Amazon's reasonCode as it came (operations record it as the gateway's code).
pub fn raw_reason_code(body: &str) -> String {
    serde_json::from_str::<ErrorBody>(body)
        .map(|b| b.reason_code)
        .unwrap_or_default()
}

pub fn amazon_refused(why: &str) -> ApiError {
    ApiError::new(
        502,
        "amazon_error",
        format!("Amazon Pay: {why}"),
        "Amazon Payでのお手続きを続けられませんでした。",
    )
}

pub fn amazon_error(api_name: &str, answer: &Answer) -> ApiError {
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

pub fn transport_failed(api_name: &str, e: &TransportError) -> ApiError {
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
pub fn price(yen: i64) -> ApiResult<Price> {
    Jpy::chargeable(yen)
        .map(Price::jpy)
        .map_err(|_| ApiError::internal("stored amount out of range"))
}

/// Why a canceled checkout session ended, as the class of `last_error_code`.
pub fn canceled_class(cs: &CheckoutSession) -> AmazonErrorClass {
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

/// Why a read (Get Checkout Session, Get Charge, Update Checkout Session) gave no object.
#[derive(Debug, Clone)]
pub struct ReadError {
    /// The API's name, for messages (`GetCharge`, …).
    pub api: &'static str,
    pub kind: ReadFailure,
}

#[derive(Debug, Clone)]
pub enum ReadFailure {
    /// No usable answer (see [`TransportError`]).
    NoAnswer(TransportError),
    /// Amazon answered with an error.
    Refused(Answer),
    /// Amazon answered 200 with a body that is not the object.
    Unreadable,
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match &e.kind {
            ReadFailure::NoAnswer(t) => transport_failed(e.api, t),
            ReadFailure::Refused(answer) => amazon_error(e.api, answer),
            ReadFailure::Unreadable => amazon_refused(unreadable_message(e.api)),
        }
    }
}

fn unreadable_message(api: &str) -> &'static str {
    match api {
        "GetCheckoutSession" => "unreadable Get Checkout Session answer",
        "UpdateCheckoutSession" => "unreadable Update Checkout Session answer",
        "GetCharge" => "unreadable Get Charge answer",
        _ => "unreadable answer",
    }
}
