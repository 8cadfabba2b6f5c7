//! One step of an operation: the gateway call the plan names, and, when it has no usable answer,
//! the gateway's own view of whether it happened (SearchTrade / Get Charge). A step is never
//! sent twice: what cannot be proven either way is [`StepResult::Unknown`].

use crate::config::{AmazonConfig, Config};
use crate::gateways::amazon::AmazonClient;
use crate::gateways::amazon::meaning::raw_reason_code;
use crate::gateways::amazon::transport::{Answer as AmazonAnswer, TransportError};
use crate::gateways::gmo::{CallError, GmoClient};
use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::PaymentRow;
use kessai_core::amazon::errors::classify;
use kessai_core::amazon::model::{Charge, Price, Refund};
use kessai_core::amazon::status::{ChargeState, RefundState};
use kessai_core::gmo::api::Answer;
use kessai_core::gmo::errors::ErrorClass;
use kessai_core::money::Jpy;
use kessai_core::operations::{GatewayCall, Record, Step};
use serde_json::{Value, json};

/// What one gateway call came to.
pub enum StepResult {
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

impl StepResult {
    fn done(detail: Value) -> StepResult {
        StepResult::Done {
            detail,
            tran_date: None,
        }
    }
    fn refused(detail: Value, gateway_code: impl Into<String>) -> StepResult {
        StepResult::Refused {
            detail,
            gateway_code: gateway_code.into(),
        }
    }
}

/// Runs the steps of a plan against the shop's gateways.
pub struct Runner<'a> {
    pub cfg: &'a Config,
}

impl Runner<'_> {
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

    pub async fn run_step(
        &self,
        row: &PaymentRow,
        index: usize,
        step: &Step,
    ) -> ApiResult<StepResult> {
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
        let Some(access) = row.gmo_access() else {
            return StepResult::refused(
                json!({ "call": call, "reason": "no GMO AccessID recorded" }),
                "missing_access",
            );
        };
        let gmo = GmoClient::new(self.cfg);
        let answer = match step.call {
            GatewayCall::GmoAlterTran { job, amount } => {
                // A re-authorisation keeps the shopper's 支払回数.
                let pay = match row.pay_installments() {
                    Ok(pay) => pay,
                    Err(_) => {
                        return StepResult::refused(
                            json!({ "call": call, "reason": "unreadable installments" }),
                            "internal_error",
                        );
                    }
                };
                gmo.alter_tran(&access, job, amount.map(Jpy::yen), pay)
                    .await
            }
            GatewayCall::GmoChangeTran { job, amount } => {
                gmo.change_tran(&access, job, amount.yen()).await
            }
            GatewayCall::AmazonCaptureCharge { .. }
            | GatewayCall::AmazonCancelCharge
            | GatewayCall::AmazonCloseChargePermission { .. }
            | GatewayCall::AmazonCreateRefund { .. } => {
                return StepResult::refused(
                    json!({ "call": call, "reason": "not a GMO call" }),
                    "internal",
                );
            }
        };
        let (why, answered) = match answer {
            Err(CallError::NotSent(why)) => {
                return StepResult::refused(json!({ "call": call, "reason": why }), "not_sent");
            }
            Err(CallError::NoAnswer(why)) => (why, false),
            Err(CallError::Unreadable(_)) => ("unreadable answer".to_string(), false),
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
                    // GMO holds the trade in another state than kessai recorded (E11…,
                    // E01050004): kessai's record may be stale (a change on GMO's own screen,
                    // or a call that executed after the in-flight window). SearchTrade says
                    // which: the change already holds → done; the record before the step →
                    // refused with GMO's code; anything else → unknown, for 再照会 and the
                    // sweep to settle to what GMO holds. Never left wrong until an operator
                    // happens to look.
                    ErrorClass::StateConflict => (info, true),
                    ErrorClass::Declined
                    | ErrorClass::ShopperInput
                    | ErrorClass::ThreeDSecure
                    | ErrorClass::Busy
                    | ErrorClass::OrderIdExists
                    | ErrorClass::AuthorizationExpired
                    | ErrorClass::Rejected => {
                        return StepResult::Refused {
                            detail: json!({ "call": call, "gmo_order_id": row.gmo_order_id, "err_code": code, "err_info": info }),
                            gateway_code: info,
                        };
                    }
                }
            }
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
        let trade = match GmoClient::new(self.cfg)
            .search_trade(&row.gmo_order_id)
            .await
        {
            Ok(Answer::Ok(t)) => t,
            Ok(Answer::Err(_)) | Err(CallError::Unreadable(_)) => {
                return StepResult::Unknown {
                    detail: json!({ "call": call, "reason": why, "reconcile": "SearchTrade failed" }),
                };
            }
            Err(CallError::NotSent(_) | CallError::NoAnswer(_)) => {
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
            StepResult::refused(detail, why)
        } else {
            StepResult::Unknown { detail }
        }
    }

    /// The idempotency key of an Amazon POST: the payment, the step, and the amounts kessai had
    /// recorded, so the same operation from the same record reuses it.
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

    /// Sends the Amazon call of `step`; `None` for a GMO call (never planned on an Amazon
    /// payment).
    async fn send_amazon(
        &self,
        client: &AmazonClient<'_>,
        row: &PaymentRow,
        index: usize,
        step: &Step,
    ) -> ApiResult<Option<Result<AmazonAnswer, TransportError>>> {
        let charge_id = row.amazon_charge_id.clone().unwrap_or_default();
        Ok(Some(match step.call {
            GatewayCall::AmazonCaptureCharge { amount } => {
                let key = self.idempotency_key(row, index, step).await?;
                client
                    .capture_charge(&charge_id, Price::jpy(amount), &key)
                    .await
            }
            GatewayCall::AmazonCancelCharge => {
                client.cancel_charge(&charge_id, "merchant cancel").await
            }
            GatewayCall::AmazonCloseChargePermission {
                cancel_pending_charges,
            } => {
                let cp = row
                    .amazon_charge_permission_id
                    .as_deref()
                    .unwrap_or_default();
                client
                    .close_charge_permission(cp, "merchant cancel", cancel_pending_charges)
                    .await
            }
            GatewayCall::AmazonCreateRefund { amount } => {
                let key = self.idempotency_key(row, index, step).await?;
                client
                    .create_refund(&charge_id, Price::jpy(amount), &key)
                    .await
            }
            GatewayCall::GmoAlterTran { .. } | GatewayCall::GmoChangeTran { .. } => {
                return Ok(None);
            }
        }))
    }

    async fn amazon_step(
        &self,
        row: &PaymentRow,
        index: usize,
        step: &Step,
    ) -> ApiResult<StepResult> {
        let amazon = self.amazon()?;
        let client = AmazonClient::new(amazon);
        let call = step.call.describe();
        let Some(answer) = self.send_amazon(&client, row, index, step).await? else {
            return Ok(StepResult::refused(
                json!({ "call": call, "reason": "not an Amazon Pay call" }),
                "internal",
            ));
        };
        let why = match answer {
            Err(TransportError::NotSent(why)) => {
                return Ok(StepResult::refused(
                    json!({ "call": call, "reason": why }),
                    "not_sent",
                ));
            }
            Err(TransportError::Lost(why)) => why,
            Ok(a) if (200..300).contains(&a.status) => {
                return Ok(amazon_accepted(step, &call, a.status, &a.body));
            }
            Ok(a) => {
                let reason = raw_reason_code(&a.body);
                if classify(a.status, &reason).outcome_unknown() {
                    format!("HTTP {} {reason}", a.status)
                } else {
                    return Ok(StepResult::refused(
                        json!({ "call": call, "http_status": a.status, "reason_code": reason }),
                        reason,
                    ));
                }
            }
        };
        Ok(amazon_reconcile(&client, row, step, &call, &why).await)
    }
}

/// What an accepted Amazon call (2xx) means for the step.
fn amazon_accepted(step: &Step, call: &str, status: u16, body: &str) -> StepResult {
    match step.call {
        GatewayCall::AmazonCaptureCharge { .. } => {
            let charge: Option<Charge> = serde_json::from_str(body).ok();
            let state = charge.as_ref().and_then(Charge::state);
            let detail = json!({ "call": call, "http_status": status, "charge_state": state.map(ChargeState::as_str) });
            match state {
                Some(ChargeState::Captured) => StepResult::done(detail),
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
                Some(RefundState::Declined) => StepResult::refused(detail, "Declined"),
                // Accepted (RefundInitiated / Refunded): a later Declined is found by
                // reconciliation.
                Some(RefundState::RefundInitiated | RefundState::Refunded) | None => {
                    StepResult::done(detail)
                }
            }
        }
        GatewayCall::AmazonCancelCharge
        | GatewayCall::AmazonCloseChargePermission { .. }
        | GatewayCall::GmoAlterTran { .. }
        | GatewayCall::GmoChangeTran { .. } => {
            StepResult::done(json!({ "call": call, "http_status": status }))
        }
    }
}

/// Get Charge after an Amazon step without a usable answer.
async fn amazon_reconcile(
    client: &AmazonClient<'_>,
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
        return StepResult::done(json!({ "call": call, "reason": why, "unconfirmed": true }));
    }
    let charge_id = row.amazon_charge_id.clone().unwrap_or_default();
    let charge = client.get_charge(&charge_id).await.ok();
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
        StepResult::done(detail)
    } else {
        StepResult::Unknown { detail }
    }
}
