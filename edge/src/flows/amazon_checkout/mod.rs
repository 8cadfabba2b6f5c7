//! Amazon Pay checkout: what Amazon's answers mean for a payment. Rooms: [`button`] (the signed
//! payload), [`review`] (Update Checkout Session), [`result`] (Complete, 仮売上), [`settle`] (the
//! claimed flow: complete, reconcile, adopt), [`reconcile`] (settling with Amazon on request).
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

pub mod button;
pub mod reconcile;
pub mod result;
pub mod review;
pub mod settle;

use crate::config::{AmazonConfig, Config};
use crate::http::{ApiResult, Nav, with_query};
use crate::store::{PaymentRow, Store};
use kessai_core::amazon::errors::AmazonErrorClass;
use kessai_core::amazon::model::Address;
use kessai_core::payment::{PaymentState, Phase};
use serde_json::{Value, json};

pub const REVIEW_PATH: &str = "/v1/amazon-pay/review";
pub const RESULT_PATH: &str = "/v1/amazon-pay/result";

/// The shipping address as the merchant view shows it (snake_case; raw Amazon values kept).
pub(super) fn address_json(a: &Address) -> Value {
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

pub(super) fn review_url(amazon: &AmazonConfig, payment_id: &str) -> String {
    format!(
        "{}{REVIEW_PATH}?payment={payment_id}",
        amazon.edge_public_url
    )
}

pub(super) fn result_url(amazon: &AmazonConfig, payment_id: &str) -> String {
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
    with_query(
        return_url,
        &format!(
            "kessai_payment={payment_id}&kessai_amazon={}",
            outcome.as_str()
        ),
    )
}

pub(super) fn error_page(status: u16, reason: &'static str, message_ja: &str) -> Nav {
    Nav::ErrorPage {
        status,
        reason,
        message_ja: message_ja.to_string(),
    }
}

/// Where the shopper goes after a flow: the stored return URL, or an error page without one.
pub(super) fn back_to_shop(row: &PaymentRow, cfg: &Config, outcome: ShopperOutcome) -> Nav {
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

/// How an Amazon attempt that charged nothing ended, for the shopper and the payment's history.
#[derive(Clone, Copy)]
pub(super) enum Unpaid {
    Declined,
    /// By the buyer, or Amazon canceled the checkout session.
    Canceled,
    Failed,
}

impl Unpaid {
    pub(super) fn of(class: AmazonErrorClass) -> Unpaid {
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
pub(super) fn outcome_of(row: &PaymentRow) -> ShopperOutcome {
    match row.state().map(PaymentState::phase) {
        // Paid, but by card: this Amazon checkout did not pay it.
        Ok(Phase::Paid) if !row.is_amazon() => ShopperOutcome::Error,
        Ok(Phase::Paid) => ShopperOutcome::Authorized,
        Ok(Phase::Open) => match row.last_amazon_error().map(Unpaid::of) {
            Some(Unpaid::Declined) => ShopperOutcome::Declined,
            Some(Unpaid::Canceled) => ShopperOutcome::Canceled,
            Some(Unpaid::Failed) | None => ShopperOutcome::Error,
        },
        Ok(Phase::InFlight | Phase::Unknown | Phase::Closed) | Err(_) => ShopperOutcome::Error,
    }
}

pub(super) fn valid_session_id(cs: &str) -> bool {
    (1..=100).contains(&cs.len())
        && cs
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn valid_payment_id(id: &str) -> bool {
    id.len() == 28 && id.starts_with("pay_") && id[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

pub(super) async fn load_for_nav(store: &Store<'_>, payment_id: &str) -> Result<PaymentRow, Nav> {
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

/// Where a return from Amazon leads: `nav`, or back to the shop with an error when the `step`
/// (review, result) failed (logged with the error's code, never the shopper's data).
pub(super) fn nav_or_back_to_shop(
    nav: ApiResult<Nav>,
    row: &PaymentRow,
    cfg: &Config,
    step: &str,
) -> Nav {
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
