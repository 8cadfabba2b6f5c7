//! Card authorisation (仮売上 / 即時売上) with GMO-PG and reconciliation of lost outcomes.
//!
//! Safety rules, in order:
//! 1. One gateway flow per payment at a time: the flow starts only by winning a compare-and-set
//!    from `requires_payment` to `processing` (with a lease); everyone else gets "in progress".
//! 2. ExecTran is never blindly retried, except on E92 (GMO executed nothing). Any answer that
//!    leaves the outcome open (timeout, 5xx, E90/E91/42C/E82, an unreadable answer) is settled by
//!    SearchTrade before we reply; if that fails too the payment is `unknown`, never "failed".
//! 3. A decline leaves the GMO transaction UNPROCESSED; the shopper retries with a new token on
//!    the same AccessID (reference §2c), so the payment returns to `requires_payment`.

use super::card_testing::Ticket;
use super::gmo_order::move_to_new_gmo_order;
use super::lease::{LEASE_MS, in_flight_window_passed};
use super::three_d_secure;
use crate::config::Config;
use crate::gateways::gmo::meaning::{declined, failure_for, gmo_detail};
use crate::gateways::gmo::{CallError, Called, CardSource, GmoClient};
use crate::http::{ApiError, ApiResult};
use crate::store::{Claim, Event, Member, PaidRider, PaymentRow, Store, StoredCardClaim};
use kessai_core::gmo::api::{Access, Answer, Authorization, ExecResult, Trade};
use kessai_core::gmo::errors::{ErrorClass, GmoErrors, ShopperMessage};
use kessai_core::gmo::installments::Installments;
use kessai_core::gmo::status::TranStatus;
use kessai_core::gmo::tds2::{self, RiskData, ThreeDSecurePolicy};
use kessai_core::payment::{CaptureMode, PaymentState, Phase, state_from_gmo};
use serde_json::json;

/// Whether the gateway finished with the call whose outcome we are reconciling.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Finished {
    /// GMO answered (E90/E91/42C/…): what SearchTrade shows is final.
    Yes,
    /// No answer (timeout, connection lost, 5xx): the call may still be running at GMO.
    Maybe,
}

pub enum Outcome {
    /// 仮売上 / 実売上 (now or already before this request).
    Paid(PaymentRow),
    /// The gateway did not answer and SearchTrade could not tell: the payment is `unknown`.
    Unknown(PaymentRow),
    /// EMV 3-D Secure 2: the browser goes to the issuer's page (`redirect_url`, never logged);
    /// the payment is `requires_action` until the RetUrl or the sweep settles it.
    RequiresAction {
        row: PaymentRow,
        redirect_url: String,
    },
}

pub(super) struct Flow<'a> {
    pub(super) store: &'a Store<'a>,
    pub(super) gmo: GmoClient<'a>,
    pub(super) cfg: &'a Config,
    pub(super) now: i64,
    /// Statements a paid settle of this flow carries in its batch (a 定期購入 charge's
    /// subscription compare-and-set, #17).
    paid_rider: Option<&'a PaidRider>,
    /// The group batches of the cron's charges started together (#17): the AccessID write, then
    /// the paid settle.
    together: Option<&'a Together>,
}

/// A 定期購入 charge's places in its group's two batches (#17, [`crate::store::GroupBatch`]):
/// the AccessID write (before ExecTran) and the paid settle. A flow leaves the first before it
/// can wait in the second, so the group never waits on itself.
pub struct Together {
    pub access: Member,
    pub settle: Member,
}

impl<'a> Flow<'a> {
    pub(super) fn new(store: &'a Store<'a>, cfg: &'a Config, now: i64) -> Flow<'a> {
        Flow {
            store,
            gmo: GmoClient::new(cfg),
            cfg,
            now,
            paid_rider: None,
            together: None,
        }
    }
}

impl Flow<'_> {
    /// For a later look at an unresolved attempt: finished once the in-flight window has passed.
    fn finished_by_age(&self, row: &PaymentRow) -> Finished {
        let started = row.attempt_started_at.unwrap_or(row.updated_at);
        if in_flight_window_passed(started, self.now) {
            Finished::Yes
        } else {
            Finished::Maybe
        }
    }

    /// Leaves `processing` for `to`, recording why. The caller holds the lease, so losing the
    /// compare-and-set means the lease expired and someone else reconciled: report theirs.
    pub(super) async fn settle(
        &self,
        next: PaymentRow,
        to: PaymentState,
        ev: Event<'_>,
    ) -> ApiResult<PaymentRow> {
        match self.paid_rider {
            Some(rider) if to.is_paid() => {
                let via = self.together.map(|t| {
                    t.access.leave();
                    &t.settle
                });
                self.store
                    .settle_leased_riding(next, to, self.now, &ev, rider, via)
                    .await
            }
            _ => self.store.settle_leased(next, to, self.now, &ev).await,
        }
    }

    /// Back to `requires_payment` after a failure where nothing was charged.
    pub(super) async fn release(
        &self,
        mut row: PaymentRow,
        kind: &str,
        errors: Option<&GmoErrors>,
        code: &str,
    ) -> ApiResult<PaymentRow> {
        row.last_error_code = Some(code.to_string());
        row.last_error_info = errors.map(|e| e.joined().1);
        let detail = gmo_detail(&row.gmo_order_id, errors);
        self.settle(
            row,
            PaymentState::RequiresPayment,
            Event {
                actor: "gateway",
                kind,
                detail,
            },
        )
        .await
    }

    /// Adopts what SearchTrade says. Only an amount that matches ours counts as paid.
    async fn adopt_trade(&self, mut row: PaymentRow, trade: Trade) -> ApiResult<PaymentRow> {
        let to = state_from_gmo(trade.status);
        if to.is_paid() && trade.amount != row.amount {
            // Drift: GMO holds a different amount than we asked for. Keep it visible as unknown.
            let detail = json!({ "gmo_order_id": row.gmo_order_id, "gmo_status": trade.status.as_str(), "gmo_amount": trade.amount });
            return self
                .settle(
                    row,
                    PaymentState::Unknown,
                    Event {
                        actor: "system",
                        kind: "reconcile_amount_mismatch",
                        detail,
                    },
                )
                .await;
        }
        row.gmo_access_id = Some(trade.access.access_id.clone());
        row.gmo_access_pass = Some(trade.access.access_pass.clone());
        if to.is_paid() {
            row.gmo_tran_id = Some(trade.tran_id.clone());
            row.gmo_approve = Some(trade.approve.clone());
            row.gmo_forward = Some(trade.forward.clone());
            row.gmo_tran_date = Some(trade.process_date.clone());
            row.card_mask = Some(trade.card_no.clone()).filter(|c| !c.is_empty());
            row.authorized_at = Some(self.now);
            row.last_error_code = None;
            row.last_error_info = None;
        }
        let detail = json!({ "gmo_order_id": row.gmo_order_id, "gmo_status": trade.status.as_str(), "tran_id": trade.tran_id });
        self.settle(
            row,
            to,
            Event {
                actor: "system",
                kind: "reconciled",
                detail,
            },
        )
        .await
    }

    /// Asks GMO what happened to this payment's OrderID and adopts it; `unknown` if GMO can't say.
    pub(super) async fn reconcile(
        &self,
        row: PaymentRow,
        why: &str,
        finished: Finished,
    ) -> ApiResult<PaymentRow> {
        worker::console_warn!(
            "payment {}: outcome open ({why}); reconciling with SearchTrade",
            row.id
        );
        match self.gmo.search_trade(&row.gmo_order_id).await {
            Ok(Answer::Ok(trade)) => {
                // AUTHENTICATED: 3-D Secure done, SecureTran2 may still be authorising at GMO.
                let not_yet = matches!(
                    trade.status,
                    TranStatus::Unprocessed | TranStatus::Authenticated
                );
                if not_yet && finished == Finished::Maybe {
                    let detail = json!({ "gmo_order_id": row.gmo_order_id, "gmo_status": "UNPROCESSED", "reason": why });
                    return self
                        .settle(
                            row,
                            PaymentState::Unknown,
                            Event {
                                actor: "system",
                                kind: "outcome_pending",
                                detail,
                            },
                        )
                        .await;
                }
                self.adopt_trade(row, trade).await
            }
            // No transaction under this OrderID: EntryTran never happened, nothing was charged.
            Ok(Answer::Err(e)) if e.contains("E01110002") => {
                self.release(row, "reconciled_not_found", Some(&e), "gateway_unavailable")
                    .await
            }
            Ok(Answer::Err(e)) => {
                let mut d = gmo_detail(&row.gmo_order_id, Some(&e));
                d["reason"] = json!(why);
                self.settle(
                    row,
                    PaymentState::Unknown,
                    Event {
                        actor: "system",
                        kind: "outcome_unknown",
                        detail: d,
                    },
                )
                .await
            }
            Err(_) => {
                let detail = json!({ "gmo_order_id": row.gmo_order_id, "reason": why });
                self.settle(
                    row,
                    PaymentState::Unknown,
                    Event {
                        actor: "system",
                        kind: "outcome_unknown",
                        detail,
                    },
                )
                .await
            }
        }
    }

    /// EntryTran, or recover the AccessID of an earlier EntryTran whose answer we lost. Done
    /// with its group's AccessID batch either way (written there or left).
    async fn ensure_access(
        &self,
        row: &mut PaymentRow,
    ) -> Result<Access, (Option<GmoErrors>, &'static str)> {
        let access = self.entry(row).await;
        if let Some(t) = self.together {
            t.access.leave();
        }
        access
    }

    async fn entry(
        &self,
        row: &mut PaymentRow,
    ) -> Result<Access, (Option<GmoErrors>, &'static str)> {
        if let (Some(id), Some(pass)) = (&row.gmo_access_id, &row.gmo_access_pass) {
            return Ok(Access {
                access_id: id.clone(),
                access_pass: pass.clone(),
            });
        }
        let capture = row.capture().map_err(|_| (None, "internal_error"))?;
        // At most one move to a fresh OrderID per attempt, so a gateway that keeps answering
        // E01040010 ends in `gateway_conflict` instead of a loop.
        let mut moved = false;
        let access = loop {
            let entry = self
                .gmo
                .entry_tran(
                    &row.gmo_order_id,
                    capture.gmo_job(),
                    row.amount,
                    row.subscription_id.is_some(),
                )
                .await;
            match entry {
                Ok(Answer::Ok(access)) => break access,
                Ok(Answer::Err(e)) if e.meaning().class == ErrorClass::OrderIdExists => {
                    match self.gmo.search_trade(&row.gmo_order_id).await {
                        // Our earlier EntryTran went through but its answer was lost.
                        Ok(Answer::Ok(t))
                            if t.status == TranStatus::Unprocessed && t.amount == row.amount =>
                        {
                            break t.access;
                        }
                        // Taken by an EntryTran for another amount that was never paid, or by
                        // one GMO refused (the OrderID stays reserved without a trade,
                        // reference §2b): nothing was charged, so a fresh OrderID is safe.
                        Ok(Answer::Ok(t)) if t.status == TranStatus::Unprocessed && !moved => {}
                        Ok(Answer::Err(nf)) if nf.contains("E01110002") && !moved => {}
                        // A trade that went further (or an unreadable answer) is not ours to
                        // paper over: the operator reconciles it.
                        _ => return Err((Some(e), "gateway_conflict")),
                    }
                    moved = true;
                    self.move_order(row).await?;
                }
                Ok(Answer::Err(e)) if e.meaning().class == ErrorClass::Busy => {
                    return Err((Some(e), "gateway_busy"));
                }
                Ok(Answer::Err(e)) => return Err((Some(e), "gateway_rejected")),
                Err(_) => return Err((None, "gateway_unavailable")),
            }
        };
        if self
            .store
            .save_access(
                &row.id,
                row.version,
                &access,
                self.together.map(|t| &t.access),
            )
            .await
            .is_err()
        {
            return Err((None, "internal_error"));
        }
        row.gmo_access_id = Some(access.access_id.clone());
        row.gmo_access_pass = Some(access.access_pass.clone());
        Ok(access)
    }

    /// Moves the claimed payment to a fresh GMO OrderID and records it before the EntryTran
    /// that uses it, so a crash in between is still reconciled under the right OrderID.
    async fn move_order(
        &self,
        row: &mut PaymentRow,
    ) -> Result<(), (Option<GmoErrors>, &'static str)> {
        let from = row.gmo_order_id.clone();
        move_to_new_gmo_order(row).map_err(|_| (None, "internal_error"))?;
        worker::console_warn!(
            "payment {}: GMO OrderID {from} is taken without a payment; moving to {}",
            row.id,
            row.gmo_order_id
        );
        self.store
            .save_gmo_order(&row.id, row.version, &row.gmo_order_id, row.gmo_attempt)
            .await
            .map_err(|_| (None, "internal_error"))
    }

    /// Back to `requires_payment` after GMO refused the EntryTran. GMO keeps the refused
    /// OrderID reserved, so the payment moves to a fresh one for the shopper's next try (which
    /// would otherwise meet E01040010 on every retry).
    async fn release_refused_entry(
        &self,
        mut row: PaymentRow,
        errors: Option<&GmoErrors>,
        code: &str,
    ) -> ApiResult<PaymentRow> {
        let mut detail = gmo_detail(&row.gmo_order_id, errors);
        if code == "gateway_rejected" {
            move_to_new_gmo_order(&mut row)?;
            detail["next_gmo_order_id"] = json!(row.gmo_order_id);
        }
        row.last_error_code = Some(code.to_string());
        row.last_error_info = errors.map(|e| e.joined().1);
        self.settle(
            row,
            PaymentState::RequiresPayment,
            Event {
                actor: "gateway",
                kind: "entry_failed",
                detail,
            },
        )
        .await
    }
}

/// What one card POST pays with, and how.
pub struct CardAttempt {
    pub source: AttemptSource,
    /// 支払回数 (checked against the shop's contract before).
    pub installments: Installments,
    /// 「このカードを登録する」 with the brand the widget saw (a token attempt of a payment with a
    /// customer only).
    pub save: Option<Option<String>>,
    /// Where the shopper returns after 3-D Secure (checked against the storefront origins).
    pub return_url: Option<String>,
}

pub enum AttemptSource {
    /// A single-use token from GMO's token JS.
    Token(String),
    /// A card GMO keeps for the payment's customer (checked to exist and be valid).
    Stored { member_id: String, card_seq: u32 },
}

/// Authorises `row` with a GMO token or a stored card. Returns the paid or unknown payment, or
/// the error to show.
pub async fn authorize(
    store: &Store<'_>,
    cfg: &Config,
    row: PaymentRow,
    attempt: &CardAttempt,
    now: i64,
    ticket: Option<&Ticket>,
) -> ApiResult<Outcome> {
    Flow::new(store, cfg, now)
        .authorize(row, attempt, ticket)
        .await
}

/// A 定期購入 charge on a stored card (#17): [`authorize`], or with `claimed` the charge of a
/// payment already claimed for `attempt` (`processing` under this flow's lease, with the
/// attempt's choices, as `claim_attempt` leaves it: the cron claims its new payment in the batch
/// that creates it). A settle into a paid state carries `on_paid`'s statements (the
/// subscription's compare-and-set) in its batch; with `together`, the AccessID write and that
/// settle go in the group's batches.
pub async fn authorize_subscription_charge(
    store: &Store<'_>,
    cfg: &Config,
    row: PaymentRow,
    attempt: &CardAttempt,
    now: i64,
    claimed: bool,
    (on_paid, together): (&PaidRider, Option<&Together>),
) -> ApiResult<Outcome> {
    let mut flow = Flow::new(store, cfg, now);
    flow.paid_rider = Some(on_paid);
    flow.together = together;
    if claimed {
        flow.charge_claimed(row, attempt, None).await
    } else {
        flow.authorize(row, attempt, None).await
    }
}

impl Flow<'_> {
    async fn authorize(
        &self,
        row: PaymentRow,
        attempt: &CardAttempt,
        ticket: Option<&Ticket>,
    ) -> ApiResult<Outcome> {
        let flow = self;
        // A flow left behind (lease expired) or a lost outcome is settled before anything new.
        let row = flow
            .settle_left_attempt(row, "previous attempt unresolved")
            .await?;
        match row.state()?.phase() {
            Phase::Paid => return Ok(Outcome::Paid(row)),
            Phase::Unknown => return Ok(Outcome::Unknown(row)),
            Phase::InFlight if row.state()? == PaymentState::RequiresAction => {
                return Err(three_d_secure_in_progress());
            }
            Phase::InFlight => return Err(in_progress()),
            Phase::Open => {}
            Phase::Closed => {
                return Err(ApiError::new(
                    409,
                    "payment_not_payable",
                    "this payment can no longer be paid",
                    "このお支払いは受け付けられません。ショップにお問い合わせください。",
                ));
            }
        }
        let claimed = match flow.claim_attempt(row, attempt).await? {
            Ok(claimed) => claimed,
            Err(outcome) => return outcome,
        };
        flow.charge_claimed(claimed, attempt, ticket).await
    }
}

/// The `authorization_started` event of a card attempt's claim. A 定期購入 charge is started by
/// kessai's cron (`system`), anything else by a shopper.
fn attempt_started<'a>(
    by_cron: bool,
    gmo_order_id: &str,
    installments: &str,
    card_seq: Option<i64>,
    save_card: bool,
) -> Event<'a> {
    Event {
        actor: if by_cron { "system" } else { "shopper" },
        kind: "authorization_started",
        detail: json!({
            "gmo_order_id": gmo_order_id,
            "installments": installments,
            "card_seq": card_seq,
            "save_card": save_card,
        }),
    }
}

/// The card flow's claim of a new 定期購入 payment on a stored card (一括, nothing saved), for
/// the batch that creates the payment to write (#17): the same record and event as
/// `claim_attempt` writes, so [`authorize_subscription_charge`] can go on from it.
pub fn stored_card_claim<'a>(
    gmo_order_id: &str,
    card_seq: u32,
    lease_until: i64,
    installments: &'a str,
) -> StoredCardClaim<'a> {
    let card_seq = i64::from(card_seq);
    StoredCardClaim {
        lease_until,
        card_seq,
        installments,
        event: attempt_started(true, gmo_order_id, installments, Some(card_seq), false),
    }
}

impl Flow<'_> {
    /// EntryTran (or the AccessID kept), then ExecTran, on the claimed payment.
    async fn charge_claimed(
        &self,
        mut claimed: PaymentRow,
        attempt: &CardAttempt,
        ticket: Option<&Ticket>,
    ) -> ApiResult<Outcome> {
        let (flow, cfg) = (self, self.cfg);
        let access = match flow.ensure_access(&mut claimed).await {
            Ok(a) => a,
            Err((errors, code)) => {
                flow.release_refused_entry(claimed, errors.as_ref(), code)
                    .await?;
                return Err(failure_for(code, errors.as_ref()));
            }
        };
        let ret_url = three_d_secure::ret_url(cfg, &claimed.id);
        let risk = stored_risk(&claimed);
        // A 定期購入 charge (the payment of a subscription) is merchant-initiated: no shopper to
        // authenticate; its stored card was authenticated when it was saved (#14).
        let tds = match cfg.three_d_secure.policy {
            _ if claimed.subscription_id.is_some() => None,
            ThreeDSecurePolicy::Required | ThreeDSecurePolicy::IfAvailable => {
                Some((ret_url.as_str(), &risk))
            }
            ThreeDSecurePolicy::Off => None,
        };
        let source = match &attempt.source {
            AttemptSource::Token(token) => CardSource::Token(token),
            AttemptSource::Stored {
                member_id,
                card_seq,
            } => CardSource::Stored {
                member_id,
                card_seq: *card_seq,
            },
        };
        if let Some(ticket) = ticket {
            ticket.reached_gateway();
        }
        let answer = flow
            .gmo
            .exec_tran(
                &access,
                &claimed.gmo_order_id,
                source,
                attempt.installments,
                tds,
            )
            .await;
        flow.adopt_exec(claimed, answer).await
    }
}

/// The risk data the merchant sent on creation (validated then; a row that no longer reads is
/// logged and sent without, so the issuer decides on card and device data alone).
fn stored_risk(row: &PaymentRow) -> RiskData {
    let Some(raw) = row.risk_data.as_deref() else {
        return RiskData::default();
    };
    let parsed = serde_json::from_str::<serde_json::Value>(raw)
        .ok()
        .and_then(|v| kessai_core::gmo::risk::parse(Some(&v)).ok());
    parsed.unwrap_or_else(|| {
        worker::console_warn!("payment {}: stored risk data unreadable", row.id);
        RiskData::default()
    })
}

impl Flow<'_> {
    /// Claims the payment for this attempt: exactly one request proceeds to the gateway. `Err`
    /// carries the answer for a request that lost the claim.
    async fn claim_attempt(
        &self,
        row: PaymentRow,
        attempt: &CardAttempt,
    ) -> ApiResult<Result<PaymentRow, ApiResult<Outcome>>> {
        let mut claimed = row.clone();
        if let Some(url) = &attempt.return_url {
            claimed.return_url = Some(url.clone());
        }
        // The attempt's choices stay on the payment: the 3-D Secure return, a reconciliation
        // and a later re-authorisation (same 支払回数) read them.
        claimed.installments = attempt.installments.code();
        claimed.card_seq = match &attempt.source {
            AttemptSource::Token(_) => None,
            AttemptSource::Stored { card_seq, .. } => Some(i64::from(*card_seq)),
        };
        claimed.save_card = i64::from(attempt.save.is_some());
        claimed.save_card_brand = attempt.save.clone().flatten();
        claimed.lease_until = Some(self.now + LEASE_MS);
        claimed.attempt_started_at = Some(self.now);
        // The payment may have tried Amazon Pay before; from here on the card flow holds it.
        claimed.method = "card".to_string();
        let ev = attempt_started(
            row.subscription_id.is_some(),
            &row.gmo_order_id,
            &claimed.installments,
            claimed.card_seq,
            attempt.save.is_some(),
        );
        if !self
            .store
            .transition(
                &claimed,
                PaymentState::RequiresPayment,
                PaymentState::Processing,
                self.now,
                &ev,
            )
            .await?
        {
            let current = self
                .store
                .payment(&row.id)
                .await?
                .ok_or_else(|| ApiError::internal("payment vanished"))?;
            return Ok(Err(match current.state()?.phase() {
                Phase::Paid => Ok(Outcome::Paid(current)),
                Phase::Unknown => Ok(Outcome::Unknown(current)),
                Phase::Open | Phase::InFlight | Phase::Closed => Err(in_progress()),
            }));
        }
        claimed.state = PaymentState::Processing.as_str().to_string();
        claimed.version += 1;
        Ok(Ok(claimed))
    }

    /// What ExecTran's answer (or its absence) makes of the claimed payment.
    async fn adopt_exec(
        &self,
        claimed: PaymentRow,
        answer: Called<ExecResult>,
    ) -> ApiResult<Outcome> {
        match answer {
            Ok(Answer::Ok(ExecResult::Authorized(au))) => {
                settled(self.adopt_authorization(claimed, au, None).await?)
            }
            Ok(Answer::Ok(ExecResult::ThreeDSecure { redirect_url })) => {
                match self.cfg.three_d_secure.policy {
                    // A merchant-initiated charge never asked for 3-D Secure: settle it as below.
                    ThreeDSecurePolicy::Required | ThreeDSecurePolicy::IfAvailable
                        if claimed.subscription_id.is_none() =>
                    {
                        let row = self.three_d_secure_started(claimed).await?;
                        Ok(Outcome::RequiresAction { row, redirect_url })
                    }
                    // We did not ask for 3-D Secure: our view of the shop is off.
                    ThreeDSecurePolicy::Required
                    | ThreeDSecurePolicy::IfAvailable
                    | ThreeDSecurePolicy::Off => settled(
                        self.reconcile(claimed, "unexpected 3-D Secure redirect", Finished::Yes)
                            .await?,
                    ),
                }
            }
            Ok(Answer::Err(e)) => self.exec_refused(claimed, e).await,
            Err(CallError::NotSent(why)) => {
                worker::console_error!("payment {}: ExecTran not sent: {why}", claimed.id);
                self.release(claimed, "exec_not_sent", None, "gateway_unavailable")
                    .await?;
                Err(failure_for("gateway_unavailable", None))
            }
            Err(CallError::NoAnswer(why)) => {
                settled(self.reconcile(claimed, &why, Finished::Maybe).await?)
            }
            Err(CallError::Unreadable(_)) => settled(
                self.reconcile(claimed, "unreadable ExecTran answer", Finished::Maybe)
                    .await?,
            ),
        }
    }

    /// 仮売上 / 実売上 from an ExecTran or SecureTran2 answer; `tds` is the 3-D Secure outcome
    /// GMO reported with it (recorded in the event).
    pub(super) async fn adopt_authorization(
        &self,
        claimed: PaymentRow,
        au: Authorization,
        tds: Option<&tds2::Outcome>,
    ) -> ApiResult<PaymentRow> {
        let capture = claimed.capture()?;
        let mut next = claimed;
        next.gmo_tran_id = Some(au.tran_id.clone());
        next.gmo_approve = Some(au.approve.clone());
        next.gmo_forward = Some(au.forward.clone());
        next.gmo_tran_date = Some(au.tran_date.clone());
        next.authorized_at = Some(self.now);
        next.last_error_code = None;
        next.last_error_info = None;
        let mut detail = json!({ "gmo_order_id": next.gmo_order_id, "tran_id": au.tran_id, "approve": au.approve, "tran_date": au.tran_date });
        if let Some(o) = tds {
            detail["three_d_secure"] = three_d_secure::outcome_detail(o);
        }
        let kind = match capture {
            CaptureMode::Manual => "authorized",
            CaptureMode::Automatic => "captured",
            CaptureMode::Verify => "verified",
        };
        let ev = Event {
            actor: "gateway",
            kind,
            detail,
        };
        self.settle(next, capture.paid_state(), ev).await
    }

    /// ExecTran answered with GMO's error pairs: a decline, a busy gateway, an open outcome or
    /// a refusal of the request itself.
    async fn exec_refused(&self, claimed: PaymentRow, e: GmoErrors) -> ApiResult<Outcome> {
        let meaning = e.meaning();
        if let Some(refusal) = three_d_secure::not_enrolled(&e) {
            self.release(
                claimed,
                "authorization_declined",
                Some(&e),
                three_d_secure::NOT_ENROLLED,
            )
            .await?;
            return Err(refusal);
        }
        match meaning.class {
            ErrorClass::Declined | ErrorClass::ShopperInput | ErrorClass::ThreeDSecure => {
                let code = if meaning.class == ErrorClass::Declined {
                    "card_declined"
                } else {
                    "card_input"
                };
                self.release(claimed, "authorization_declined", Some(&e), code)
                    .await?;
                Err(declined(code, meaning.shopper, &e))
            }
            ErrorClass::Busy => {
                self.release(claimed, "gateway_busy", Some(&e), "gateway_busy")
                    .await?;
                Err(failure_for("gateway_busy", Some(&e)))
            }
            ErrorClass::OutcomeUnknown | ErrorClass::StateConflict => {
                let why = format!("ExecTran answered {}", e.joined().1);
                settled(self.reconcile(claimed, &why, Finished::Yes).await?)
            }
            ErrorClass::OrderIdExists | ErrorClass::AuthorizationExpired | ErrorClass::Rejected => {
                worker::console_error!(
                    "payment {}: ExecTran rejected {}",
                    claimed.id,
                    e.joined().1
                );
                self.release(
                    claimed,
                    "authorization_rejected",
                    Some(&e),
                    "gateway_rejected",
                )
                .await?;
                Err(failure_for("gateway_rejected", Some(&e)))
            }
        }
    }

    /// Settles an `unknown` payment or an abandoned `processing` one (lease run out) with
    /// SearchTrade, taking it over first; any other payment is returned as it is.
    async fn settle_left_attempt(&self, row: PaymentRow, why: &str) -> ApiResult<PaymentRow> {
        let state = row.state()?;
        if state == PaymentState::Unknown
            || (state == PaymentState::Processing && !row.lease_live(self.now))
            || three_d_secure::abandoned(&row, self.now)
        {
            return match claim_for_reconcile(self, row).await? {
                Claim::Won(claimed) => {
                    let finished = self.finished_by_age(&claimed);
                    self.reconcile(claimed, why, finished).await
                }
                Claim::Lost(current) => Ok(current),
            };
        }
        Ok(row)
    }
}

/// A second attempt while the shopper's 3-D Secure authentication is open.
pub fn three_d_secure_in_progress() -> ApiError {
    ApiError::new(
        409,
        "three_d_secure_in_progress",
        "3-D Secure authentication of this payment is in progress",
        "本人認証(3Dセキュア)の途中です。認証画面を閉じた場合は、10分ほどおいてから再度お試しください。",
    )
}

impl Flow<'_> {
    /// ExecTran answered ACS=2: the claimed payment waits for the shopper's authentication.
    pub(super) async fn three_d_secure_started(
        &self,
        claimed: PaymentRow,
    ) -> ApiResult<PaymentRow> {
        self.three_d_secure_waits(claimed, "three_d_secure_started")
            .await
    }

    /// Back to `requires_action` (event `kind`): the authentication is open at GMO.
    pub(super) async fn three_d_secure_waits(
        &self,
        claimed: PaymentRow,
        kind: &str,
    ) -> ApiResult<PaymentRow> {
        let detail = json!({ "gmo_order_id": claimed.gmo_order_id });
        self.settle(
            claimed,
            PaymentState::RequiresAction,
            Event {
                actor: "gateway",
                kind,
                detail,
            },
        )
        .await
    }
}

pub fn in_progress() -> ApiError {
    ApiError::new(
        409,
        "payment_in_progress",
        "this payment is already being processed",
        "お支払いを処理中です。しばらくお待ちください。",
    )
}

/// Maps the state a flow ended in to the caller's outcome.
pub(super) fn settled(row: PaymentRow) -> ApiResult<Outcome> {
    match row.state()?.phase() {
        Phase::Paid => Ok(Outcome::Paid(row)),
        Phase::Open => Err(
            ApiError::shopper(402, "card_not_charged", ShopperMessage::Failed)
                .with("retryable", true),
        ),
        Phase::Unknown | Phase::InFlight => Ok(Outcome::Unknown(row)),
        Phase::Closed => Err(ApiError::new(
            409,
            "payment_not_payable",
            "the gateway reports this payment as cancelled",
            "このお支払いは取り消されています。ショップにお問い合わせください。",
        )),
    }
}

/// Takes over an abandoned `processing` lease or an `unknown` payment for reconciliation.
async fn claim_for_reconcile(flow: &Flow<'_>, row: PaymentRow) -> ApiResult<Claim> {
    let from = row.state()?;
    let mut claimed = row.clone();
    claimed.lease_until = Some(flow.now + LEASE_MS);
    let ev = Event {
        actor: "system",
        kind: "reconcile_started",
        detail: json!({ "gmo_order_id": row.gmo_order_id }),
    };
    flow.store
        .claim_processing(claimed, from, flow.now, &ev)
        .await
}

/// Reconciles an `unknown` payment (or an abandoned flow) on the merchant's request.
pub async fn reconcile_now(
    store: &Store<'_>,
    cfg: &Config,
    row: PaymentRow,
    now: i64,
) -> ApiResult<PaymentRow> {
    Flow::new(store, cfg, now)
        .settle_left_attempt(row, "merchant requested reconcile")
        .await
}
