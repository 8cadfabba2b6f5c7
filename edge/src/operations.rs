//! Merchant operations after an order (受注後の操作, issue #4): capture, amount change, cancel,
//! refund, and bulk capture, for card (GMO-PG) and Amazon Pay.
//!
//! What to call is decided by `kessai_core::operations::plan` (pure); this module runs the plan:
//! 1. One operation per payment at a time: the run starts only by winning the compare-and-set
//!    into `processing` with a lease (the card flow's [`Store::claim_processing`]), so two
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

use crate::amazon_payment;
use crate::card_payment::LEASE_MS;
use crate::config::{AmazonConfig, Config};
use crate::gmo_transport::{GmoTransport, TransportError as GmoTransportError};
use crate::http::{ApiError, ApiResult, only_fields};
use crate::platform;
use crate::store::{Claim, Event, PaymentRow, Store};
use crate::{Reply, payment_view};
use kessai_core::amazon::errors::classify;
use kessai_core::amazon::model::{
    CancelCharge, CaptureCharge, Charge, CloseChargePermission, CreateRefund, ErrorBody, Price,
    Refund, to_json,
};
use kessai_core::amazon::request::api;
use kessai_core::amazon::status::{ChargeState, RefundState};
use kessai_core::gmo::api::{self as gmo_api, Access, Answer};
use kessai_core::gmo::errors::ErrorClass;
use kessai_core::gmo::status::TranStatus;
use kessai_core::jst::{JstDateTime, UnixMillis};
use kessai_core::money::Jpy;
use kessai_core::operations::{
    GatewayCall, Operation, PaymentMethod, PaymentSnapshot, Plan, Record, Refusal, Step, plan,
};
use kessai_core::payment::PaymentState;
use serde_json::{Value, json};

/// Most payments one bulk request may name (each is processed one by one within the request).
pub const BULK_MAX: usize = 100;

/// Parses the body of `POST /v1/payments/{id}/{capture|amount|cancel|refund}`.
pub fn parse_operation(endpoint: &str, raw: &str) -> ApiResult<Operation> {
    let body: Value = if raw.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(raw).map_err(|_| crate::invalid_json())?
    };
    let amount = |required: bool| -> ApiResult<Option<Jpy>> {
        match body.get("amount") {
            Some(v) if v.is_i64() => Ok(v.as_i64().map(Jpy::from_stored)),
            None if !required => Ok(None),
            _ => Err(ApiError::bad_request(
                "amount must be an integer number of yen",
                "金額は円単位の整数で指定してください。",
            )
            .with("param", "amount")),
        }
    };
    let missing = || {
        ApiError::bad_request(
            "amount must be an integer number of yen",
            "金額は円単位の整数で指定してください。",
        )
        .with("param", "amount")
    };
    match endpoint {
        "capture" => {
            only_fields(&body, &["amount"])?;
            Ok(Operation::Capture {
                amount: amount(false)?,
            })
        }
        "amount" => {
            only_fields(&body, &["amount"])?;
            Ok(Operation::ChangeAmount {
                to: amount(true)?.ok_or_else(missing)?,
            })
        }
        "cancel" => {
            only_fields(&body, &[])?;
            Ok(Operation::Cancel)
        }
        "refund" => {
            only_fields(&body, &["amount"])?;
            Ok(Operation::Refund {
                amount: amount(true)?.ok_or_else(missing)?,
            })
        }
        _ => Err(ApiError::not_found("operation")),
    }
}

fn refusal_error(r: &Refusal) -> ApiError {
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

pub(crate) fn method_of(row: &PaymentRow) -> PaymentMethod {
    if amazon_payment::is_amazon(row) {
        PaymentMethod::AmazonPay
    } else {
        PaymentMethod::Card
    }
}

pub(crate) fn is_captured_state(state: PaymentState) -> bool {
    match state {
        PaymentState::Captured | PaymentState::PartiallyRefunded | PaymentState::Refunded => true,
        PaymentState::RequiresPayment
        | PaymentState::Processing
        | PaymentState::Authorized
        | PaymentState::Voided
        | PaymentState::Returned
        | PaymentState::ReturnedNextMonth
        | PaymentState::Declined
        | PaymentState::Unpaid
        | PaymentState::Expired
        | PaymentState::Unknown => false,
    }
}

/// kessai's record of `row` as the planner sees it. Columns of migration 0003 that are still
/// NULL (payments authorised by the checkout flows) are derived from the state.
pub fn snapshot_of(row: &PaymentRow) -> ApiResult<PaymentSnapshot> {
    let method = method_of(row);
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
                PaymentState::RequiresPayment
                | PaymentState::Processing
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
        captured: Jpy::from_stored(row.captured_amount.unwrap_or(if is_captured_state(state) {
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
    })
}

/// Writes a step's record into the row (the state itself is set by the store's transition).
fn apply_record(row: &mut PaymentRow, rec: &Record, at: i64, tran_date: Option<&str>) {
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
enum StepResult {
    /// Accepted (or proven done by reconciliation). `tran_date`: GMO's new TranDate.
    Done {
        detail: Value,
        tran_date: Option<String>,
    },
    /// Definitively refused: nothing changed at the gateway.
    Refused { detail: Value, gateway_code: String },
    /// Neither the answer nor the gateway's state tells.
    Unknown { detail: Value },
}

struct Runner<'a> {
    cfg: &'a Config,
}

fn gmo_access(row: &PaymentRow) -> Option<Access> {
    match (&row.gmo_access_id, &row.gmo_access_pass) {
        (Some(id), Some(pass)) => Some(Access {
            access_id: id.clone(),
            access_pass: pass.clone(),
        }),
        _ => None,
    }
}

fn amazon_reason(answer_body: &str) -> String {
    serde_json::from_str::<ErrorBody>(answer_body)
        .map(|b| b.reason_code)
        .unwrap_or_default()
}

impl Runner<'_> {
    fn gmo(&self) -> GmoTransport<'_> {
        GmoTransport {
            base: &self.cfg.gmo_api_base,
            timeout_ms: self.cfg.gmo_timeout_ms,
        }
    }

    fn amazon(&self) -> ApiResult<&AmazonConfig> {
        self.cfg.amazon.as_ref().ok_or_else(|| {
            ApiError::new(
                409,
                "amazon_pay_disabled",
                "Amazon Pay is not enabled: the payment cannot be operated",
                "Amazon Payが無効のため、この決済は操作できません。",
            )
        })
    }

    async fn run_step(&self, row: &PaymentRow, index: usize, step: &Step) -> ApiResult<StepResult> {
        match step.call {
            GatewayCall::GmoAlterTran { .. } | GatewayCall::GmoChangeTran { .. } => {
                Ok(self.gmo_step(row, step).await)
            }
            GatewayCall::AmazonCaptureCharge { .. }
            | GatewayCall::AmazonCancelCharge
            | GatewayCall::AmazonCloseChargePermission { .. }
            | GatewayCall::AmazonCreateRefund { .. } => self.amazon_step(row, index, step).await,
        }
    }

    async fn gmo_step(&self, row: &PaymentRow, step: &Step) -> StepResult {
        let call = step.call.describe();
        let Some(access) = gmo_access(row) else {
            return StepResult::Refused {
                detail: json!({ "call": call, "reason": "no GMO AccessID recorded" }),
                gateway_code: "missing_access".into(),
            };
        };
        let (path, params) = match step.call {
            GatewayCall::GmoAlterTran { job, amount } => (
                gmo_api::ALTER_TRAN,
                gmo_api::alter_tran(&self.cfg.gmo, &access, job, amount.map(Jpy::yen)),
            ),
            GatewayCall::GmoChangeTran { job, amount } => (
                gmo_api::CHANGE_TRAN,
                gmo_api::change_tran(&self.cfg.gmo, &access, job, amount.yen()),
            ),
            GatewayCall::AmazonCaptureCharge { .. }
            | GatewayCall::AmazonCancelCharge
            | GatewayCall::AmazonCloseChargePermission { .. }
            | GatewayCall::AmazonCreateRefund { .. } => {
                return StepResult::Refused {
                    detail: json!({ "call": call, "reason": "not a GMO call" }),
                    gateway_code: "internal".into(),
                };
            }
        };
        let (why, answered) = match self.gmo().post(path, &params).await {
            Err(GmoTransportError::NotSent(why)) => {
                return StepResult::Refused {
                    detail: json!({ "call": call, "reason": why }),
                    gateway_code: "not_sent".into(),
                };
            }
            Err(GmoTransportError::Unknown(why)) => (why, false),
            Ok(answer) => match gmo_api::read(&answer, gmo_api::read_alter) {
                Ok(Answer::Ok(a)) => {
                    return StepResult::Done {
                        detail: json!({ "call": call, "gmo_order_id": row.gmo_order_id, "tran_id": a.tran_id, "approve": a.approve, "tran_date": a.tran_date }),
                        tran_date: Some(a.tran_date),
                    };
                }
                Ok(Answer::Err(e)) => {
                    let (code, info) = e.joined();
                    match e.meaning().class {
                        ErrorClass::OutcomeUnknown => (format!("answered {info}"), true),
                        ErrorClass::Declined
                        | ErrorClass::ShopperInput
                        | ErrorClass::ThreeDSecure
                        | ErrorClass::Busy
                        | ErrorClass::OrderIdExists
                        | ErrorClass::AuthorizationExpired
                        | ErrorClass::StateConflict
                        | ErrorClass::Rejected => {
                            return StepResult::Refused {
                                detail: json!({ "call": call, "gmo_order_id": row.gmo_order_id, "err_code": code, "err_info": info }),
                                gateway_code: info,
                            };
                        }
                    }
                }
                Err(_) => ("unreadable answer".to_string(), false),
            },
        };
        self.gmo_reconcile(row, step, &call, &why, answered).await
    }

    /// SearchTrade after a step without a usable answer. GMO's status (and amount, when the
    /// status alone cannot tell) decides; an answered E90/E91/42C whose trade still shows the
    /// record before the step was not executed.
    async fn gmo_reconcile(
        &self,
        row: &PaymentRow,
        step: &Step,
        call: &str,
        why: &str,
        answered: bool,
    ) -> StepResult {
        worker::console_warn!(
            "payment {}: {call} outcome open ({why}); reconciling with SearchTrade",
            row.id
        );
        let params = gmo_api::search_trade(&self.cfg.gmo, &row.gmo_order_id);
        let trade = match self.gmo().post(gmo_api::SEARCH_TRADE, &params).await {
            Ok(a) => match gmo_api::read(&a, gmo_api::read_trade) {
                Ok(Answer::Ok(t)) => t,
                Ok(Answer::Err(_)) | Err(_) => {
                    return StepResult::Unknown {
                        detail: json!({ "call": call, "reason": why, "reconcile": "SearchTrade failed" }),
                    };
                }
            },
            Err(_) => {
                return StepResult::Unknown {
                    detail: json!({ "call": call, "reason": why, "reconcile": "SearchTrade unavailable" }),
                };
            }
        };
        let same_status = step.on_success.gmo_status == step.on_failure.gmo_status;
        let is = |rec: &Record| {
            rec.gmo_status == Some(trade.status)
                && (!same_status || trade.amount == rec.authorized_amount.yen())
        };
        let detail = json!({ "call": call, "reason": why, "gmo_status": trade.status.as_str(), "gmo_amount": trade.amount, "tran_id": trade.tran_id });
        if is(&step.on_success) {
            StepResult::Done {
                detail,
                tran_date: Some(trade.process_date.clone()),
            }
        } else if answered && is(&step.on_failure) {
            StepResult::Refused {
                detail,
                gateway_code: why.to_string(),
            }
        } else {
            StepResult::Unknown { detail }
        }
    }

    async fn idempotency_key(
        &self,
        row: &PaymentRow,
        index: usize,
        step: &Step,
    ) -> ApiResult<String> {
        let seed = format!(
            "{}|{}|{}|{}|{}|{}",
            row.id,
            index,
            step.call.describe(),
            row.captured_amount.unwrap_or(0),
            row.refunded_amount.unwrap_or(0),
            row.amount
        );
        let hex = platform::sha256_hex(seed.as_bytes())
            .await
            .ok_or_else(|| ApiError::internal("sha256"))?;
        // Amazon allows 1–32 of [A-Za-z0-9_-].
        Ok(hex.chars().take(32).collect())
    }

    async fn amazon_step(
        &self,
        row: &PaymentRow,
        index: usize,
        step: &Step,
    ) -> ApiResult<StepResult> {
        let amazon = self.amazon()?;
        let call = step.call.describe();
        let charge_id = row.amazon_charge_id.clone().unwrap_or_default();
        let (api_name, request, body, key) = match step.call {
            GatewayCall::AmazonCaptureCharge { amount } => (
                "CaptureCharge",
                api::capture_charge(&charge_id),
                to_json(&CaptureCharge {
                    capture_amount: Price::jpy(amount),
                    soft_descriptor: None,
                }),
                Some(self.idempotency_key(row, index, step).await?),
            ),
            GatewayCall::AmazonCancelCharge => (
                "CancelCharge",
                api::cancel_charge(&charge_id),
                to_json(&CancelCharge {
                    cancellation_reason: Some("merchant cancel".into()),
                }),
                None,
            ),
            GatewayCall::AmazonCloseChargePermission {
                cancel_pending_charges,
            } => (
                "CloseChargePermission",
                api::close_charge_permission(
                    row.amazon_charge_permission_id
                        .as_deref()
                        .unwrap_or_default(),
                ),
                to_json(&CloseChargePermission {
                    closure_reason: Some("merchant cancel".into()),
                    cancel_pending_charges: Some(cancel_pending_charges),
                }),
                None,
            ),
            GatewayCall::AmazonCreateRefund { amount } => (
                "CreateRefund",
                api::create_refund(),
                to_json(&CreateRefund {
                    charge_id: charge_id.clone(),
                    refund_amount: Price::jpy(amount),
                    soft_descriptor: None,
                }),
                Some(self.idempotency_key(row, index, step).await?),
            ),
            GatewayCall::GmoAlterTran { .. } | GatewayCall::GmoChangeTran { .. } => {
                return Ok(StepResult::Refused {
                    detail: json!({ "call": call, "reason": "not an Amazon Pay call" }),
                    gateway_code: "internal".into(),
                });
            }
        };
        let answer =
            amazon_payment::call(amazon, request, Some(body), key.as_deref(), api_name).await;
        let why = match answer {
            Err(crate::amazon_transport::TransportError::NotSent(why)) => {
                return Ok(StepResult::Refused {
                    detail: json!({ "call": call, "reason": why }),
                    gateway_code: "not_sent".into(),
                });
            }
            Err(crate::amazon_transport::TransportError::Lost(why)) => why,
            Ok(a) if (200..300).contains(&a.status) => {
                return Ok(self.amazon_accepted(step, &call, a.status, &a.body));
            }
            Ok(a) => {
                let reason = amazon_reason(&a.body);
                if classify(a.status, &reason).outcome_unknown() {
                    format!("HTTP {} {reason}", a.status)
                } else {
                    return Ok(StepResult::Refused {
                        detail: json!({ "call": call, "http_status": a.status, "reason_code": reason }),
                        gateway_code: reason,
                    });
                }
            }
        };
        Ok(self.amazon_reconcile(amazon, row, step, &call, &why).await)
    }

    fn amazon_accepted(&self, step: &Step, call: &str, status: u16, body: &str) -> StepResult {
        match step.call {
            GatewayCall::AmazonCaptureCharge { .. } => {
                let charge: Option<Charge> = serde_json::from_str(body).ok();
                let state = charge.as_ref().and_then(Charge::state);
                let detail = json!({ "call": call, "http_status": status, "charge_state": state.map(ChargeState::as_str) });
                match state {
                    Some(ChargeState::Captured) => StepResult::Done {
                        detail,
                        tran_date: None,
                    },
                    // CaptureInitiated (asynchronous capture) is not 実売上 yet.
                    Some(
                        ChargeState::AuthorizationInitiated
                        | ChargeState::Authorized
                        | ChargeState::CaptureInitiated
                        | ChargeState::Canceled
                        | ChargeState::Declined,
                    )
                    | None => StepResult::Unknown { detail },
                }
            }
            GatewayCall::AmazonCreateRefund { .. } => {
                let refund: Option<Refund> = serde_json::from_str(body).ok();
                let state = refund.as_ref().and_then(Refund::state);
                let detail = json!({
                    "call": call, "http_status": status,
                    "refund_id": refund.as_ref().map(|r| r.refund_id.clone()),
                    "refund_state": state.map(RefundState::as_str),
                });
                match state {
                    Some(RefundState::Declined) => StepResult::Refused {
                        detail,
                        gateway_code: "Declined".into(),
                    },
                    // Accepted (RefundInitiated / Refunded): a later Declined is found by
                    // reconciliation.
                    Some(RefundState::RefundInitiated | RefundState::Refunded) | None => {
                        StepResult::Done {
                            detail,
                            tran_date: None,
                        }
                    }
                }
            }
            GatewayCall::AmazonCancelCharge
            | GatewayCall::AmazonCloseChargePermission { .. }
            | GatewayCall::GmoAlterTran { .. }
            | GatewayCall::GmoChangeTran { .. } => StepResult::Done {
                detail: json!({ "call": call, "http_status": status }),
                tran_date: None,
            },
        }
    }

    /// Get Charge after an Amazon step without a usable answer.
    async fn amazon_reconcile(
        &self,
        amazon: &AmazonConfig,
        row: &PaymentRow,
        step: &Step,
        call: &str,
        why: &str,
    ) -> StepResult {
        worker::console_warn!(
            "payment {}: {call} outcome open ({why}); reconciling with Get Charge",
            row.id
        );
        // Closing the permission after a cancel changes nothing kessai records (nothing can be
        // charged on a canceled OneTime charge either way).
        if step.on_success == step.on_failure {
            return StepResult::Done {
                detail: json!({ "call": call, "reason": why, "unconfirmed": true }),
                tran_date: None,
            };
        }
        let charge_id = row.amazon_charge_id.clone().unwrap_or_default();
        let charge = match amazon_payment::call(
            amazon,
            api::get_charge(&charge_id),
            None,
            None,
            "GetCharge",
        )
        .await
        {
            Ok(a) if a.status == 200 => serde_json::from_str::<Charge>(&a.body).ok(),
            Ok(_) | Err(_) => None,
        };
        let state = charge.as_ref().and_then(Charge::state);
        let detail =
            json!({ "call": call, "reason": why, "charge_state": state.map(ChargeState::as_str) });
        let done = match step.call {
            GatewayCall::AmazonCaptureCharge { .. } => state == Some(ChargeState::Captured),
            GatewayCall::AmazonCancelCharge | GatewayCall::AmazonCloseChargePermission { .. } => {
                state == Some(ChargeState::Canceled)
            }
            // [U] Amazon's Charge shows a refund only once it is Refunded (asynchronous): a lost
            // Create Refund answer stays unknown until a refund is seen.
            GatewayCall::AmazonCreateRefund { .. }
            | GatewayCall::GmoAlterTran { .. }
            | GatewayCall::GmoChangeTran { .. } => false,
        };
        if done {
            StepResult::Done {
                detail,
                tran_date: None,
            }
        } else {
            StepResult::Unknown { detail }
        }
    }
}

pub(crate) fn plan_summary(plan: &Plan) -> Value {
    json!({
        "kind": plan.operation.kind().as_str(),
        "label_ja": plan.operation.kind().label_ja(),
        "steps": plan.steps.iter().map(|s| s.call.describe()).collect::<Vec<_>>(),
        "cancel_job": plan.cancel_job.map(|j| j.as_str()),
        "stays_on_statement": plan.stays_on_statement,
    })
}

fn reply_with(row: &PaymentRow, plan: &Plan, status: u16) -> ApiResult<Reply> {
    let mut body = payment_view(row)?;
    body["operation"] = plan_summary(plan);
    Ok(Reply { status, body })
}

fn changed_meanwhile() -> ApiError {
    ApiError::new(
        409,
        "payment_in_progress",
        "the payment changed meanwhile; reload and retry",
        "他の操作と重なりました。最新の状態を確認してから再度お試しください。",
    )
}

/// Runs `op` on payment `id`: 200 with the payment when every step succeeded, 202 when the
/// outcome is unknown (the payment is `unknown`, reconcile before anything else), an error with
/// the reason otherwise. `actor` is who asked (`merchant`, `operator:<name>`): every event says so.
pub async fn operate(
    store: &Store<'_>,
    cfg: &Config,
    id: &str,
    op: Operation,
    actor: &str,
) -> ApiResult<Reply> {
    let now = platform::now().0;
    let row = store.existing_payment(id).await?;
    let state = row.state()?;
    let snapshot = snapshot_of(&row)?;
    let plan = plan(op, &snapshot, UnixMillis(now)).map_err(|r| refusal_error(&r))?;
    let runner = Runner { cfg };
    let kind = op.kind().as_str();

    if plan.is_local() {
        let mut next = row.clone();
        apply_record(&mut next, &plan.outcome, now, None);
        let ev = Event {
            actor,
            kind,
            detail: json!({ "operation": kind, "from_amount": row.amount, "to_amount": plan.outcome.amount.yen(), "gateway_calls": 0 }),
        };
        if !store
            .transition(&next, state, plan.outcome.state, now, &ev)
            .await?
        {
            return Err(changed_meanwhile());
        }
        let fresh = store.existing_payment(id).await?;
        return reply_with(&fresh, &plan, 200);
    }

    // Claim: exactly one operation reaches the gateway.
    let mut claimed = row.clone();
    claimed.lease_until = Some(now + LEASE_MS);
    claimed.first_authorized_at = row.first_authorized_at.or(row.authorized_at);
    // Make the derived record explicit before the first step (later steps build on it).
    apply_record(&mut claimed, &plan.start, now, None);
    let ev = Event {
        actor,
        kind: "operation_started",
        detail: json!({ "operation": kind, "from": state.as_str(), "steps": plan_summary(&plan)["steps"] }),
    };
    let mut row = match store.claim_processing(claimed, state, now, &ev).await? {
        Claim::Won(r) => r,
        Claim::Lost(current) => {
            // Someone else changed the payment first: tell why this one cannot run now.
            let snap = snapshot_of(&current)?;
            return match kessai_core::operations::plan(op, &snap, UnixMillis(now)) {
                Err(r) => Err(refusal_error(&r)),
                Ok(_) => Err(changed_meanwhile()),
            };
        }
    };

    for (index, step) in plan.steps.iter().enumerate() {
        // The record before this step.
        let before = step.on_failure;
        match runner.run_step(&row, index, step).await? {
            StepResult::Done { detail, tran_date } => {
                apply_record(&mut row, &step.on_success, now, tran_date.as_deref());
                let mut d = detail;
                d["operation"] = json!(kind);
                d["step"] = json!(index + 1);
                d["from"] = json!(before.state.as_str());
                d["to"] = json!(step.on_success.state.as_str());
                let ev = Event {
                    actor,
                    kind: "operation_step",
                    detail: d,
                };
                if !store
                    .transition(
                        &row,
                        PaymentState::Processing,
                        PaymentState::Processing,
                        now,
                        &ev,
                    )
                    .await?
                {
                    // The lease ran out and someone else settled the payment: theirs stands.
                    return Err(changed_meanwhile());
                }
                row.version += 1;
            }
            StepResult::Refused {
                detail,
                gateway_code,
            } => {
                apply_record(&mut row, &step.on_failure, now, None);
                let to = step.on_failure.state;
                let mut d = detail;
                d["operation"] = json!(kind);
                d["step"] = json!(index + 1);
                d["from"] = json!(before.state.as_str());
                d["to"] = json!(to.as_str());
                let ev = Event {
                    actor,
                    kind: "operation_failed",
                    detail: d,
                };
                let settled = store.settle_leased(row, to, now, &ev).await?;
                let state = settled.state()?;
                return Err(ApiError::new(
                    409,
                    "gateway_refused",
                    format!(
                        "the gateway refused {} ({gateway_code}); the payment is {}",
                        step.call.describe(),
                        state.as_str()
                    ),
                    format!(
                        "決済ゲートウェイが{}を受け付けませんでした（{gateway_code}）。現在の状態: {}",
                        op.kind().label_ja(),
                        state.label_ja()
                    ),
                )
                .with("gateway_code", gateway_code)
                .with("state", state.as_str())
                .with("step", index + 1));
            }
            StepResult::Unknown { detail } => {
                let mut d = detail;
                d["operation"] = json!(kind);
                d["step"] = json!(index + 1);
                let ev = Event {
                    actor: "system",
                    kind: "outcome_unknown",
                    detail: d,
                };
                let settled = store
                    .settle_leased(row, PaymentState::Unknown, now, &ev)
                    .await?;
                let mut reply = reply_with(&settled, &plan, 202)?;
                reply.body["error"] = ApiError::new(
                    202,
                    "outcome_unknown",
                    "the gateway has not confirmed the result; reconcile before anything else",
                    "決済ゲートウェイの処理結果を確認できませんでした。再操作せず、照会してください。",
                )
                .body()["error"]
                    .clone();
                return Ok(reply);
            }
        }
    }

    let to = plan.outcome.state;
    let ev = Event {
        actor,
        kind,
        detail: json!({ "operation": kind, "from": state.as_str(), "to": to.as_str(), "amount": plan.outcome.amount.yen(), "cancel_job": plan.cancel_job.map(|j| j.as_str()) }),
    };
    let settled = store.settle_leased(row, to, now, &ev).await?;
    reply_with(&settled, &plan, 200)
}

/// `POST /v1/payments/bulk/capture`: captures each payment in turn and reports every one.
pub async fn bulk_capture(
    store: &Store<'_>,
    cfg: &Config,
    raw: &str,
    actor: &str,
) -> ApiResult<Reply> {
    let body: Value = serde_json::from_str(raw).map_err(|_| crate::invalid_json())?;
    only_fields(&body, &["payment_ids"])?;
    let bad = || {
        ApiError::bad_request(
            format!("payment_ids must be 1-{BULK_MAX} payment ids"),
            format!("決済IDを1〜{BULK_MAX}件指定してください。"),
        )
        .with("param", "payment_ids")
    };
    let ids: Vec<String> = body
        .get("payment_ids")
        .and_then(Value::as_array)
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    if ids.is_empty() || ids.len() > BULK_MAX {
        return Err(bad());
    }
    let mut results = Vec::with_capacity(ids.len());
    let (mut ok_count, mut failed) = (0, 0);
    for id in &ids {
        let outcome = operate(store, cfg, id, Operation::Capture { amount: None }, actor).await;
        let entry = match outcome {
            Ok(reply) if reply.status == 200 => {
                ok_count += 1;
                json!({ "id": id, "ok": true, "state": reply.body["state"] })
            }
            Ok(reply) => {
                failed += 1;
                json!({ "id": id, "ok": false, "state": reply.body["state"], "error": reply.body["error"] })
            }
            Err(e) => {
                failed += 1;
                let state = match store.payment(id).await {
                    Ok(Some(r)) => json!(r.state),
                    Ok(None) | Err(_) => Value::Null,
                };
                json!({ "id": id, "ok": false, "state": state, "error": e.body()["error"] })
            }
        };
        results.push(entry);
    }
    Ok(Reply::ok(
        json!({ "data": results, "succeeded": ok_count, "failed": failed }),
    ))
}

/// Whether an `unknown` payment (or an operation abandoned in `processing` past its lease) was
/// left by an operation after the authorisation rather than by a checkout flow: only operations
/// record `authorized_amount`.
pub fn unknown_after_operation(row: &PaymentRow, now: i64) -> bool {
    row.authorized_amount.is_some()
        && match row.state() {
            Ok(PaymentState::Unknown) => true,
            Ok(PaymentState::Processing) => row.lease_until.is_none_or(|t| t <= now),
            Ok(_) | Err(_) => false,
        }
}

/// Settles an operation's `unknown` with the gateway's own view (SearchTrade / Get Charge) and
/// records both sides in the event. While the gateway cannot tell, the payment stays `unknown`.
pub async fn reconcile_operation(
    store: &Store<'_>,
    cfg: &Config,
    row: PaymentRow,
) -> ApiResult<PaymentRow> {
    let now = platform::now().0;
    let mut claimed = row.clone();
    claimed.lease_until = Some(now + LEASE_MS);
    let ev = Event {
        actor: "system",
        kind: "reconcile_started",
        detail: json!({ "after": "operation" }),
    };
    let from = row.state()?;
    let mut claimed = match store.claim_processing(claimed, from, now, &ev).await? {
        Claim::Won(r) => r,
        Claim::Lost(current) => return Ok(current),
    };
    let kessai_side = crate::console::kessai_side(&row);
    let runner = Runner { cfg };
    let adopted: Option<(PaymentState, Value)> = match method_of(&row) {
        PaymentMethod::Card => {
            let params = gmo_api::search_trade(&cfg.gmo, &row.gmo_order_id);
            match runner.gmo().post(gmo_api::SEARCH_TRADE, &params).await {
                Ok(a) => match gmo_api::read(&a, gmo_api::read_trade) {
                    Ok(Answer::Ok(t)) => {
                        let to = kessai_core::payment::state_from_gmo(t.status);
                        claimed.gmo_status = Some(t.status.as_str().to_string());
                        claimed.authorized_amount = Some(t.amount);
                        if t.amount > 0 {
                            claimed.amount = t.amount;
                        }
                        claimed.captured_amount =
                            Some(if is_captured_state(to) { t.amount } else { 0 });
                        if JstDateTime::parse_gmo(&t.process_date).is_some() {
                            claimed.gmo_tran_date = Some(t.process_date.clone());
                        }
                        let gateway = json!({ "gmo_status": t.status.as_str(), "amount": t.amount, "tran_id": t.tran_id });
                        match to {
                            // An operation never leads back to before the authorisation.
                            PaymentState::RequiresPayment => None,
                            PaymentState::Processing
                            | PaymentState::Authorized
                            | PaymentState::Captured
                            | PaymentState::Voided
                            | PaymentState::Returned
                            | PaymentState::ReturnedNextMonth
                            | PaymentState::Refunded
                            | PaymentState::PartiallyRefunded
                            | PaymentState::Declined
                            | PaymentState::Unpaid
                            | PaymentState::Expired
                            | PaymentState::Unknown => Some((to, gateway)),
                        }
                    }
                    Ok(Answer::Err(_)) | Err(_) => None,
                },
                Err(_) => None,
            }
        }
        PaymentMethod::AmazonPay => match cfg.amazon.as_ref() {
            None => None,
            Some(amazon) => {
                let charge_id = row.amazon_charge_id.clone().unwrap_or_default();
                let charge = match amazon_payment::call(
                    amazon,
                    api::get_charge(&charge_id),
                    None,
                    None,
                    "GetCharge",
                )
                .await
                {
                    Ok(a) if a.status == 200 => serde_json::from_str::<Charge>(&a.body).ok(),
                    Ok(_) | Err(_) => None,
                };
                charge.and_then(|c| {
                    let yen = |p: &Option<Price>| {
                        p.as_ref()
                            .and_then(|p| p.to_jpy().ok())
                            .unwrap_or(Jpy::from_stored(0))
                    };
                    let captured = yen(&c.capture_amount);
                    // [U] Amazon shows a refund in refundedAmount only once it is Refunded: a
                    // refund still RefundInitiated is not seen here. Repeating that refund with
                    // the same amount from this record reuses its idempotency key.
                    let refunded = yen(&c.refunded_amount).max(Jpy::from_stored(
                        row.refunded_amount.unwrap_or(0),
                    ));
                    let state = c.state()?;
                    let to = kessai_core::operations::state_from_amazon_charge(
                        state,
                        c.reason_code()
                            .and_then(kessai_core::amazon::status::ChargeCanceledReason::parse),
                        captured,
                        refunded,
                    );
                    if is_captured_state(to) {
                        claimed.captured_amount = Some(captured.yen());
                        claimed.refunded_amount = Some(refunded.yen());
                        let left = captured.yen() - refunded.yen();
                        if left > 0 {
                            claimed.amount = left;
                        }
                    }
                    let gateway = json!({ "charge_state": state.as_str(), "captured": captured.yen(), "refunded": refunded.yen() });
                    // A charge still in flight stays unknown (asked again later).
                    (to != PaymentState::Processing).then_some((to, gateway))
                })
            }
        },
    };
    match adopted {
        Some((to, gateway)) => {
            let ev = Event {
                actor: "system",
                kind: "reconciled",
                detail: json!({ "kessai": kessai_side, "gateway": gateway }),
            };
            store.settle_leased(claimed, to, now, &ev).await
        }
        // Nothing to adopt: the record before the reconcile stands (the claim's version).
        None => {
            let ev = Event {
                actor: "system",
                kind: "outcome_unknown",
                detail: json!({ "kessai": kessai_side, "reason": "the gateway could not tell" }),
            };
            store
                .settle_leased(
                    PaymentRow {
                        state: claimed.state,
                        version: claimed.version,
                        lease_until: claimed.lease_until,
                        ..row
                    },
                    PaymentState::Unknown,
                    now,
                    &ev,
                )
                .await
        }
    }
}
