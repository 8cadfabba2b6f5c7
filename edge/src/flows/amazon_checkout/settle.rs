//! The claimed Amazon Pay attempt: Complete Checkout Session, asking Amazon what happened
//! after a lost or refused answer (Get Checkout Session, then Get Charge), and adopting what
//! Amazon holds. Every exit leaves `processing` by the compare-and-set of the lease holder.

use super::{Unpaid, address_json};
use crate::config::AmazonConfig;
use crate::flows::lease::{LEASE_MS, in_flight_window_passed};
use crate::gateways::amazon::AmazonClient;
use crate::gateways::amazon::meaning::{canceled_class, price, reason_code};
use crate::gateways::amazon::transport::{Answer, TransportError};
use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::{Claim, Event, PaymentRow, Store};
use kessai_core::amazon::errors::{AmazonErrorClass, classify};
use kessai_core::amazon::model::{Charge, CheckoutSession};
use kessai_core::amazon::status::{ChargeState, CheckoutSessionState};
use kessai_core::operations::PaymentMethod;
use kessai_core::payment::PaymentState;
use serde_json::{Value, json};

/// A claimed Amazon attempt: the store, the merchant's Amazon client, and the time it runs at.
pub(super) struct Flow<'a> {
    pub store: &'a Store<'a>,
    pub client: AmazonClient<'a>,
    pub now: i64,
}

impl<'a> Flow<'a> {
    pub fn new(store: &'a Store<'a>, amazon: &'a AmazonConfig, now: i64) -> Flow<'a> {
        Flow {
            store,
            client: AmazonClient::new(amazon),
            now,
        }
    }
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
    pub async fn complete(&self, row: PaymentRow, cs_id: &str) -> ApiResult<PaymentRow> {
        let key_hex = platform::sha256_hex(format!("complete:{}:{cs_id}", row.id).as_bytes())
            .await
            .ok_or_else(|| ApiError::internal("sha256"))?;
        // ≤ 32 characters of [A-Za-z0-9_-] (reference §5).
        let key = format!("kc{}", key_hex.get(..30).unwrap_or(&key_hex));
        let answer = self
            .client
            .complete_checkout_session(cs_id, price(row.amount)?, &key)
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
        self.complete_refused(row, &answer).await
    }

    /// Complete answered with an error: a canceled or completed session is asked about, a
    /// decline or a refusal releases the payment (nothing was charged).
    async fn complete_refused(&self, row: PaymentRow, answer: &Answer) -> ApiResult<PaymentRow> {
        let reason = reason_code(answer);
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
    pub async fn reconcile(
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
        let cs = match self.client.get_checkout_session(&cs_id).await {
            Ok(cs) => cs,
            Err(e) => {
                let e = ApiError::from(e);
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
                    answered == Answered::Yes || in_flight_window_passed(started, self.now);
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
    pub async fn adopt_session(
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
        let charge = match self.client.get_charge(&charge_id).await {
            Ok(c) => c,
            Err(e) => {
                let e = ApiError::from(e);
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
pub(super) enum Answered {
    Yes,
    No,
}

/// Takes the payment into `processing` for an Amazon attempt (`new_attempt`: the shopper's) or
/// a reconcile (the system's).
pub(super) async fn claim(
    flow: &Flow<'_>,
    row: &PaymentRow,
    from: PaymentState,
    kind: &str,
    cs_id: Option<&str>,
    new_attempt: bool,
) -> ApiResult<Claim> {
    let mut claimed = row.clone();
    claimed.lease_until = Some(flow.now + LEASE_MS);
    claimed.method = PaymentMethod::AmazonPay.as_str().to_string();
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
