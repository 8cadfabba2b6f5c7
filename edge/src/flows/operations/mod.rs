//! Merchant operations after an order (受注後の操作, issue #4): capture, amount change, cancel,
//! refund, and bulk capture, for card (GMO-PG) and Amazon Pay.
//!
//! What to call is decided by `kessai_core::operations::plan` (pure); [`run`] runs the plan with
//! the gateway calls of [`steps`]:
//! 1. One operation per payment at a time: the run starts only by winning the compare-and-set
//!    into `processing` with a lease (`Store::claim_processing`), so two
//!    concurrent captures make exactly one gateway capture; the loser is told why.
//! 2. Every step is recorded as an event (actor `merchant` or `operator:<name>`, the record's from/to, the gateway's
//!    answer codes; never AccessPass, keys or buyer data).
//! 3. A step the gateway definitively refuses leaves the step's `on_failure` record.
//! 4. A step without a usable answer (timeout, 5xx, E90/E91/42C, Amazon's `Unavailable`) is never
//!    sent again: the gateway is asked (SearchTrade / Get Charge). Only an answer that proves the
//!    step happened continues the plan; anything else leaves the payment `unknown` (結果不明).
//!
//! Amazon POSTs (Capture Charge, Create Refund) carry an idempotency key derived from the payment,
//! the operation, the step and the amounts kessai had recorded: a repeat of the same operation
//! from the same record (e.g. after an `unknown` was reconciled back) reuses the key, so Amazon
//! replays its first answer instead of capturing or refunding twice.

//!
//! Rooms: [`parse`] (request bodies), [`run`] (one operation), [`steps`] (one gateway call and
//! its reconciliation), [`bulk`] (一括売上確定), [`reconcile`] (an operation's `unknown`),
//! [`sides`] (kessai's and the gateway's record side by side), [`force`]
//! (「エラーを無視して変更する」), [`preview`] (what capture and cancel would do now).

pub mod bulk;
pub mod force;
pub mod parse;
pub mod preview;
pub mod reconcile;
pub mod run;
pub mod sides;
pub mod steps;

use crate::http::{ApiError, ApiResult, Reply};
use crate::store::PaymentRow;
use crate::views::payment_view;
use kessai_core::gmo::status::TranStatus;
use kessai_core::jst::{JstDateTime, UnixMillis};
use kessai_core::money::Jpy;
use kessai_core::operations::{PaymentMethod, PaymentSnapshot, Plan, Record, Refusal};
use kessai_core::payment::PaymentState;
use serde_json::{Value, json};

pub(crate) fn refusal_error(r: &Refusal) -> ApiError {
    let status = match r {
        Refusal::InvalidAmount(_)
        | Refusal::AmazonAmount(_)
        | Refusal::CaptureAmountMismatch { .. } => 422,
        Refusal::OutcomeUnknown
        | Refusal::InProgress
        | Refusal::NotAuthorized { .. }
        | Refusal::Closed { .. }
        | Refusal::AlreadyCaptured
        | Refusal::AuthorizationExpired { .. }
        | Refusal::ChangeLimitExceeded
        | Refusal::CancelAfterCaptureUseRefund
        | Refusal::RefundBeforeCapture
        | Refusal::CardRefundUnsupported
        | Refusal::GatewayStateMismatch { .. }
        | Refusal::MissingGatewayRecord { .. }
        | Refusal::GatewayWouldRefuse { .. } => 409,
    };
    ApiError::new(status, r.code(), r.message_en(), r.message_ja())
}

/// kessai's record of `row` as the planner sees it. Columns of migration 0003 that are still
/// NULL (payments authorised by the checkout flows) are derived from the state.
pub fn snapshot_of(row: &PaymentRow) -> ApiResult<PaymentSnapshot> {
    let method = row.method();
    let state = row.state()?;
    let amount = Jpy::from_stored(row.amount);
    let gmo_status = match method {
        PaymentMethod::AmazonPay => None,
        PaymentMethod::Card => match row.gmo_status.as_deref() {
            Some(s) => TranStatus::parse(s),
            None => match state {
                PaymentState::Authorized => Some(TranStatus::Auth),
                // The checkout flow captures with JobCd CAPTURE (即時売上); a later AlterTran
                // SALES is recorded in gmo_status.
                PaymentState::Captured => Some(TranStatus::Capture),
                PaymentState::Verified => Some(TranStatus::Check),
                PaymentState::RequiresPayment
                | PaymentState::Processing
                | PaymentState::RequiresAction
                | PaymentState::Voided
                | PaymentState::Returned
                | PaymentState::ReturnedNextMonth
                | PaymentState::Refunded
                | PaymentState::PartiallyRefunded
                | PaymentState::Declined
                | PaymentState::Unpaid
                | PaymentState::Expired
                | PaymentState::Unknown => None,
            },
        },
    };
    let authorized_at = row.authorized_at.map(UnixMillis);
    Ok(PaymentSnapshot {
        method,
        state,
        amount,
        authorized_amount: Jpy::from_stored(row.authorized_amount.unwrap_or(row.amount)),
        captured: Jpy::from_stored(row.captured_amount.unwrap_or(if state.holds_capture() {
            row.amount
        } else {
            0
        })),
        refunded: Jpy::from_stored(row.refunded_amount.unwrap_or(0)),
        authorized_at,
        first_authorized_at: row.first_authorized_at.map(UnixMillis).or(authorized_at),
        last_transaction_at: row
            .gmo_tran_date
            .as_deref()
            .and_then(JstDateTime::parse_gmo)
            .map(JstDateTime::to_unix)
            .or(authorized_at),
        gmo_status,
        // A 定期購入's Amazon permission (a cycle's charge or the sign-up's) stays open on 取消.
        recurring_permission: row.is_amazon()
            && (row.subscription_id.is_some() || row.subscription_plan.is_some()),
    })
}

/// Writes a step's record into the row (the state itself is set by the store's transition).
pub(crate) fn apply_record(row: &mut PaymentRow, rec: &Record, at: i64, tran_date: Option<&str>) {
    // `payments.amount` is CHECK (amount > 0): a full refund leaves the last positive amount
    // there; `refunded_amount` and the state say that all of it was given back.
    if rec.amount.yen() > 0 {
        row.amount = rec.amount.yen();
    }
    row.authorized_amount = Some(rec.authorized_amount.yen());
    row.captured_amount = Some(rec.captured.yen());
    row.refunded_amount = Some(rec.refunded.yen());
    if let Some(st) = rec.gmo_status {
        row.gmo_status = Some(st.as_str().to_string());
    }
    if rec.restarts_authorization {
        row.authorized_at = Some(at);
    }
    if rec.new_transaction_date {
        row.gmo_tran_date = Some(
            tran_date
                .filter(|d| JstDateTime::parse_gmo(d).is_some())
                .map(str::to_string)
                .unwrap_or_else(|| UnixMillis(at).to_jst().gmo_format()),
        );
    }
}

/// What one gateway call came to.
pub(crate) fn plan_summary(plan: &Plan) -> Value {
    json!({
        "kind": plan.operation.kind().as_str(),
        "label_ja": plan.operation.kind().label_ja(),
        "steps": plan.steps.iter().map(|s| s.call.describe()).collect::<Vec<_>>(),
        "cancel_job": plan.cancel_job.map(|j| j.as_str()),
        "stays_on_statement": plan.stays_on_statement,
    })
}

pub(crate) fn reply_with(row: &PaymentRow, plan: &Plan, status: u16) -> ApiResult<Reply> {
    let mut body = payment_view(row)?;
    body["operation"] = plan_summary(plan);
    Ok(Reply::with_status(status, body))
}

pub(crate) fn changed_meanwhile() -> ApiError {
    ApiError::new(
        409,
        "payment_in_progress",
        "the payment changed meanwhile; reload and retry",
        "他の操作と重なりました。最新の状態を確認してから再度お試しください。",
    )
}
