//! Amazon Pay plans. See the module docs of [`super`] for the sequences and why.

use crate::amazon::rules::{self, AmountChange};
use crate::amazon::status::{ChargeCanceledReason, ChargeState};
use crate::jst::UnixMillis;
use crate::money::{AmountError, Jpy};
use crate::payment::PaymentState;

use super::{
    GatewayCall, Operation, OperationKind, PaymentSnapshot, Plan, Record, Refusal,
    require_unexpired,
};

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
        // 返品/月跨返品 and カード確認済み are card states; an Amazon payment in them is finished
        // all the same.
        PaymentState::Verified
        | PaymentState::Voided
        | PaymentState::Returned
        | PaymentState::ReturnedNextMonth
        | PaymentState::Refunded
        | PaymentState::Declined
        | PaymentState::Unpaid => Err(Refusal::Closed { state }),
        PaymentState::Expired => match operation {
            Operation::Capture { .. } | Operation::ChangeAmount { .. } => {
                require_unexpired(snapshot, operation.kind(), now)?;
                // Recorded as expired by kessai before the window ended (clock skew at the
                // sweep?): it stays expired all the same.
                Err(Refusal::Closed { state })
            }
            Operation::Cancel | Operation::Refund { .. } => Err(Refusal::Closed { state }),
        },
        PaymentState::Authorized => authorized(operation, snapshot, now),
        PaymentState::Captured | PaymentState::PartiallyRefunded => captured(operation, snapshot),
    }
}

fn amount_rule(e: rules::AmountRuleError) -> Refusal {
    Refusal::AmazonAmount(e)
}

fn authorized(
    operation: Operation,
    snapshot: &PaymentSnapshot,
    now: UnixMillis,
) -> Result<Plan, Refusal> {
    let mut plan = Plan::new(operation, snapshot);
    match operation {
        Operation::Capture { amount } => {
            require_unexpired(snapshot, OperationKind::Capture, now)?;
            let capture = amount.unwrap_or(snapshot.amount);
            // Capturing less is a decrease; more than the payment's amount an increase.
            rules::check_amount_change(snapshot.amount, capture).map_err(amount_rule)?;
            rules::check_capture(snapshot.authorized_amount, capture).map_err(amount_rule)?;
            plan.then(
                GatewayCall::AmazonCaptureCharge { amount: capture },
                Record {
                    state: PaymentState::Captured,
                    amount: capture,
                    captured: capture,
                    ..plan.outcome
                },
            );
        }
        Operation::ChangeAmount { to } => {
            require_unexpired(snapshot, OperationKind::ChangeAmount, now)?;
            match rules::check_amount_change(snapshot.amount, to).map_err(amount_rule)? {
                AmountChange::Unchanged => {}
                // No Amazon API edits an authorised amount: kessai captures less later.
                AmountChange::Decrease { .. } => {
                    plan.outcome = Record {
                        amount: to,
                        ..plan.outcome
                    };
                }
            }
        }
        Operation::Cancel => {
            let expiry = snapshot
                .authorization_expiry()
                .ok_or(Refusal::MissingGatewayRecord {
                    what: "authorization time",
                })?;
            if expiry.is_expired(now) && snapshot.recurring_permission {
                // Amazon cancels the expired Charge itself (ExpiredUnused); the permission pays
                // the subscription's later cycles and stays open: nothing to call.
                plan.outcome = Record {
                    state: PaymentState::Expired,
                    ..plan.outcome
                };
            } else if expiry.is_expired(now) {
                // Amazon cancels the Charge itself (ExpiredUnused), maybe not yet at this very
                // moment: closing the permission with cancelPendingCharges covers both.
                plan.then(
                    GatewayCall::AmazonCloseChargePermission {
                        cancel_pending_charges: true,
                    },
                    Record {
                        state: PaymentState::Expired,
                        ..plan.outcome
                    },
                );
            } else {
                let voided = Record {
                    state: PaymentState::Voided,
                    ..plan.outcome
                };
                plan.then(GatewayCall::AmazonCancelCharge, voided);
                if snapshot.recurring_permission {
                    // A 定期購入's permission: only this cycle's charge is cancelled.
                    return Ok(plan);
                }
                // [U] whether Amazon closes a OneTime permission by itself once its charge is
                // cancelled; closing it ourselves is harmless, and if this call fails the payment
                // is 取消 already (nothing was charged).
                plan.then(
                    GatewayCall::AmazonCloseChargePermission {
                        cancel_pending_charges: false,
                    },
                    voided,
                );
            }
        }
        Operation::Refund { .. } => return Err(Refusal::RefundBeforeCapture),
    }
    Ok(plan)
}

fn captured(operation: Operation, snapshot: &PaymentSnapshot) -> Result<Plan, Refusal> {
    let mut plan = Plan::new(operation, snapshot);
    match operation {
        Operation::Capture { .. } => return Err(Refusal::AlreadyCaptured),
        Operation::Cancel => return Err(Refusal::CancelAfterCaptureUseRefund),
        Operation::ChangeAmount { to } => {
            if to.yen() < 1 {
                // The rules' message suggests 取消, which no longer exists after capture.
                return Err(Refusal::InvalidAmount(AmountError::NotPositive));
            }
            match rules::check_amount_change(snapshot.amount, to).map_err(amount_rule)? {
                AmountChange::Unchanged => {}
                AmountChange::Decrease { by } => push_refund(&mut plan, snapshot, by)?,
            }
        }
        Operation::Refund { amount } => push_refund(&mut plan, snapshot, amount)?,
    }
    Ok(plan)
}

fn push_refund(plan: &mut Plan, snapshot: &PaymentSnapshot, amount: Jpy) -> Result<(), Refusal> {
    rules::check_refund(snapshot.captured, snapshot.refunded, amount).map_err(amount_rule)?;
    let refunded = Jpy::from_stored(snapshot.refunded.yen() + amount.yen());
    let state = if refunded >= snapshot.captured {
        PaymentState::Refunded
    } else {
        PaymentState::PartiallyRefunded
    };
    plan.then(
        GatewayCall::AmazonCreateRefund { amount },
        Record {
            state,
            amount: Jpy::from_stored((snapshot.amount.yen() - amount.yen()).max(0)),
            refunded,
            ..plan.outcome
        },
    );
    Ok(())
}

/// The kessai state an Amazon Charge stands for, as Get Charge reports it (reconciliation, and
/// the "both sides" view of the console). `captured` is the Charge's `captureAmount`, `refunded`
/// the sum of its Refunds that are not Declined. A Charge in flight (`AuthorizationInitiated`,
/// `CaptureInitiated`) is `processing`: the reconcile sweep asks again later.
pub fn state_from_amazon_charge(
    state: ChargeState,
    canceled_reason: Option<ChargeCanceledReason>,
    captured: Jpy,
    refunded: Jpy,
) -> PaymentState {
    match state {
        ChargeState::AuthorizationInitiated | ChargeState::CaptureInitiated => {
            PaymentState::Processing
        }
        ChargeState::Authorized => PaymentState::Authorized,
        ChargeState::Captured => {
            if refunded.yen() <= 0 {
                PaymentState::Captured
            } else if refunded < captured {
                PaymentState::PartiallyRefunded
            } else {
                PaymentState::Refunded
            }
        }
        ChargeState::Declined => PaymentState::Declined,
        ChargeState::Canceled => match canceled_reason {
            Some(ChargeCanceledReason::ExpiredUnused) => PaymentState::Expired,
            // kessai closes the permission with cancelPendingCharges only for an expired
            // authorisation; a cancel by anyone else is a 取消 all the same.
            Some(
                ChargeCanceledReason::MerchantCanceled
                | ChargeCanceledReason::ChargePermissionCanceled
                | ChargeCanceledReason::AmazonCanceled
                | ChargeCanceledReason::BuyerCanceled,
            )
            | None => PaymentState::Voided,
        },
    }
}
