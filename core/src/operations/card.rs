//! Card (GMO-PG) plans. See the module docs of [`super`] for the sequences and why.

use crate::gmo::status::{self, CHANGE_LIMIT_DAYS, JobCd, TranStatus};
use crate::jst::UnixMillis;
use crate::money::Jpy;
use crate::payment::{PaymentState, state_from_gmo};

use super::{
    GatewayCall, Operation, OperationKind, PaymentSnapshot, Plan, Record, Refusal, chargeable,
    require_unexpired,
};

const DAY_MS: i64 = 86_400_000;

pub(super) fn plan(
    operation: Operation,
    snapshot: &PaymentSnapshot,
    now: UnixMillis,
) -> Result<Plan, Refusal> {
    let state = snapshot.state;
    match state {
        PaymentState::Unknown => Err(Refusal::OutcomeUnknown),
        PaymentState::Processing | PaymentState::RequiresAction => Err(Refusal::InProgress),
        PaymentState::RequiresPayment => Err(Refusal::NotAuthorized { state }),
        // A card registration moved no money: nothing to capture, change, cancel or refund.
        PaymentState::Verified
        | PaymentState::Voided
        | PaymentState::Returned
        | PaymentState::ReturnedNextMonth
        | PaymentState::Refunded
        | PaymentState::PartiallyRefunded
        | PaymentState::Declined
        | PaymentState::Unpaid => Err(Refusal::Closed { state }),
        PaymentState::Authorized => authorized(operation, snapshot, now),
        PaymentState::Captured => captured(operation, snapshot, now),
        PaymentState::Expired => expired(operation, snapshot, now),
    }
}

fn gmo_status(snapshot: &PaymentSnapshot) -> Result<TranStatus, Refusal> {
    snapshot.gmo_status.ok_or(Refusal::MissingGatewayRecord {
        what: "GMO transaction status",
    })
}

fn mismatch(snapshot: &PaymentSnapshot, gmo_status: TranStatus) -> Refusal {
    Refusal::GatewayStateMismatch {
        state: snapshot.state,
        gmo_status,
    }
}

/// The JobCd of an authorisation's family, or the mismatch if GMO's status is not one.
fn authorization_job(snapshot: &PaymentSnapshot, status: TranStatus) -> Result<JobCd, Refusal> {
    match status {
        TranStatus::Auth => Ok(JobCd::Auth),
        TranStatus::Sauth => Ok(JobCd::Sauth),
        TranStatus::Unprocessed
        | TranStatus::Authenticated
        | TranStatus::Check
        | TranStatus::Capture
        | TranStatus::Sales
        | TranStatus::Void
        | TranStatus::Return
        | TranStatus::Returnx => Err(mismatch(snapshot, status)),
    }
}

/// GMO refuses any change more than [`CHANGE_LIMIT_DAYS`] whole days after the first
/// authorisation (E11010010). [U] Which date GMO counts from: the sandbox and kessai use the first
/// authorisation (the earliest date, so the stricter reading); GMO's plugins use the last TranDate.
fn within_change_limit(snapshot: &PaymentSnapshot, now: UnixMillis) -> Result<(), Refusal> {
    let since = snapshot
        .first_authorized_at
        .or(snapshot.authorized_at)
        .ok_or(Refusal::MissingGatewayRecord {
            what: "authorization time",
        })?;
    if (now.0 - since.0).div_euclid(DAY_MS) > CHANGE_LIMIT_DAYS {
        return Err(Refusal::ChangeLimitExceeded);
    }
    Ok(())
}

fn alter(status: TranStatus, job: JobCd) -> Result<TranStatus, Refusal> {
    status::alter(status, job).map_err(|r| Refusal::GatewayWouldRefuse { err_info: r.0 })
}

/// Appends the classified cancel (VOID / RETURN / RETURNX) of a transaction in `status`.
fn push_cancel(
    plan: &mut Plan,
    snapshot: &PaymentSnapshot,
    status: TranStatus,
    now: UnixMillis,
) -> Result<TranStatus, Refusal> {
    let last = snapshot
        .last_transaction_at
        .ok_or(Refusal::MissingGatewayRecord {
            what: "last GMO transaction date",
        })?;
    let job = status::cancel_job(status, &last.to_jst(), &now.to_jst());
    let cancelled = alter(status, job)?;
    plan.cancel_job = Some(job);
    plan.then(
        GatewayCall::GmoAlterTran { job, amount: None },
        Record {
            state: state_from_gmo(cancelled),
            captured: Jpy::from_stored(0),
            gmo_status: Some(cancelled),
            new_transaction_date: true,
            ..plan.outcome
        },
    );
    Ok(cancelled)
}

fn authorized(
    operation: Operation,
    snapshot: &PaymentSnapshot,
    now: UnixMillis,
) -> Result<Plan, Refusal> {
    let status = gmo_status(snapshot)?;
    let family = authorization_job(snapshot, status)?;
    if let Operation::Refund { .. } = operation {
        return Err(Refusal::CardRefundUnsupported);
    }
    within_change_limit(snapshot, now)?;
    let mut plan = Plan::new(operation, snapshot);
    let authorized = snapshot.authorized_amount;
    match operation {
        Operation::Capture { amount } => {
            if let Some(requested) = amount
                && requested != authorized
            {
                return Err(Refusal::CaptureAmountMismatch {
                    authorized,
                    requested,
                });
            }
            require_unexpired(snapshot, OperationKind::Capture, now)?;
            let sales = alter(status, JobCd::Sales)?;
            plan.then(
                GatewayCall::GmoAlterTran {
                    job: JobCd::Sales,
                    amount: Some(authorized),
                },
                Record {
                    state: state_from_gmo(sales),
                    amount: authorized,
                    captured: authorized,
                    gmo_status: Some(sales),
                    new_transaction_date: true,
                    ..plan.outcome
                },
            );
        }
        Operation::ChangeAmount { to } => {
            let to = chargeable(to)?;
            require_unexpired(snapshot, OperationKind::ChangeAmount, now)?;
            if to != authorized {
                let changed = status::change(status, family)
                    .map_err(|r| Refusal::GatewayWouldRefuse { err_info: r.0 })?;
                plan.then(
                    GatewayCall::GmoChangeTran {
                        job: family,
                        amount: to,
                    },
                    Record {
                        state: state_from_gmo(changed),
                        amount: to,
                        authorized_amount: to,
                        gmo_status: Some(changed),
                        // [U] GMO re-authorises inside ChangeTran; we take it to restart the window.
                        restarts_authorization: true,
                        new_transaction_date: true,
                        ..plan.outcome
                    },
                );
            }
        }
        Operation::Cancel => {
            push_cancel(&mut plan, snapshot, status, now)?;
        }
        Operation::Refund { .. } => return Err(Refusal::CardRefundUnsupported),
    }
    Ok(plan)
}

fn captured(
    operation: Operation,
    snapshot: &PaymentSnapshot,
    now: UnixMillis,
) -> Result<Plan, Refusal> {
    let status = gmo_status(snapshot)?;
    match status {
        TranStatus::Capture | TranStatus::Sales => {}
        TranStatus::Unprocessed
        | TranStatus::Authenticated
        | TranStatus::Check
        | TranStatus::Auth
        | TranStatus::Sauth
        | TranStatus::Void
        | TranStatus::Return
        | TranStatus::Returnx => return Err(mismatch(snapshot, status)),
    }
    let mut plan = Plan::new(operation, snapshot);
    match operation {
        Operation::Capture { .. } => return Err(Refusal::AlreadyCaptured),
        Operation::Refund { .. } => return Err(Refusal::CardRefundUnsupported),
        Operation::ChangeAmount { to } => {
            let to = chargeable(to)?;
            within_change_limit(snapshot, now)?;
            if to != snapshot.amount {
                let cancelled = push_cancel(&mut plan, snapshot, status, now)?;
                // 再オーソリ straight into 即時売上 (CAPTURE) with the new amount.
                let reauthorized = alter(cancelled, JobCd::Capture)?;
                plan.then(
                    GatewayCall::GmoAlterTran {
                        job: JobCd::Capture,
                        amount: Some(to),
                    },
                    Record {
                        state: state_from_gmo(reauthorized),
                        amount: to,
                        authorized_amount: to,
                        captured: to,
                        gmo_status: Some(reauthorized),
                        restarts_authorization: true,
                        new_transaction_date: true,
                        ..plan.outcome
                    },
                );
                plan.stays_on_statement = true;
            }
        }
        Operation::Cancel => {
            within_change_limit(snapshot, now)?;
            push_cancel(&mut plan, snapshot, status, now)?;
            plan.stays_on_statement = true;
        }
    }
    Ok(plan)
}

/// 期限切れ: GMO still holds the transaction as AUTH (the issuer released the hold); it can be
/// cancelled to clean up, but not captured or changed.
fn expired(
    operation: Operation,
    snapshot: &PaymentSnapshot,
    now: UnixMillis,
) -> Result<Plan, Refusal> {
    let status = gmo_status(snapshot)?;
    authorization_job(snapshot, status)?;
    match operation {
        Operation::Capture { .. } | Operation::ChangeAmount { .. } => {
            let expiry = snapshot
                .authorization_expiry()
                .ok_or(Refusal::MissingGatewayRecord {
                    what: "authorization time",
                })?;
            Err(Refusal::AuthorizationExpired {
                method: snapshot.method,
                operation: operation.kind(),
                expired_at: expiry.expires_at(),
            })
        }
        Operation::Refund { .. } => Err(Refusal::CardRefundUnsupported),
        Operation::Cancel => {
            within_change_limit(snapshot, now)?;
            let mut plan = Plan::new(operation, snapshot);
            push_cancel(&mut plan, snapshot, status, now)?;
            Ok(plan)
        }
    }
}
