//! The Cron Trigger's 定期購入 step: every 有効 subscription with an attempt due today (JST) is
//! charged once, merchant-initiated: on its stored card (no 3-D Secure) or by Create Charge on its
//! Amazon Pay Recurring charge permission ([`super::amazon`], after the monthly cap).
//!
//! Exactly once, whatever runs overlap or repeat: the attempt's payment has the order id of its
//! `ChargeKey` (subscription, scheduled date, attempt), UNIQUE in `payments`, so every run finds
//! the same payment; the payment's own claim (`requires_payment → processing`, compare-and-set)
//! lets one run call GMO; the subscription moves on by compare-and-set on its version, and the
//! model refuses a result for another cycle or attempt (`stale_charge_result`). A run that dies
//! half-way is finished by the next: the payment tells what happened (paid, declined, or still
//! open and then charged), and an unknown outcome waits for the sweep's reconciliation — never a
//! second ExecTran on a guess.

use super::super::card_checkout::{self, AttemptSource, CardAttempt, Outcome, Together};
use super::super::payments::new_payment_ids;
use super::super::webhooks;
use super::amazon;
use crate::config::Config;
use crate::flows::lease::LEASE_MS;
use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::subscriptions::{SubscriptionEvent, SubscriptionRow};
use crate::store::{
    Event as PaymentEvent, GroupBatch, NewPayment, PaidRider, PaymentRow, Store, StoredCardClaim,
};
use kessai_core::gmo::installments::Installments;
use kessai_core::payment::{CaptureMode, PaymentState, Phase};
use kessai_core::subscription::{
    ChargeDate, DueCharge, Effect, Event, FailureKind, Notice, PaymentSource, Subscription,
    Transition,
};
use serde_json::json;

/// Subscriptions one run charges at most (each costs up to three gateway calls, a few D1 round
/// trips and ~3 ms of isolate CPU: 100 stay far inside a Cron Trigger's limits); the rest wait
/// for the next run, oldest due first. 25 a run measured 64 charges/s, 100 a run 79 (the run's
/// own work is shared by more charges).
pub const CHARGE_BATCH: i64 = 100;

/// Charges in flight at once within a run (Workers' limit of simultaneous open connections is 6).
const CONCURRENT_CHARGES: usize = 6;

/// What one run did (its log line).
#[derive(Default, Debug)]
pub struct ChargeReport {
    pub due: usize,
    pub charged: usize,
    pub failed: usize,
    /// Left for a later run: in flight elsewhere, outcome unknown, gateway busy.
    pub waiting: usize,
    pub errors: usize,
    /// Sign-ups at checkout set up by the safety net (their return did not).
    pub signed_up: usize,
    /// Charge permissions of cancelled Amazon Pay subscriptions closed.
    pub closed: usize,
}

/// Charges what is due now.
pub async fn run(store: &Store<'_>, cfg: &Config) -> ChargeReport {
    let mut report = ChargeReport::default();
    if cfg.site.is_none() && cfg.amazon.is_none() {
        return report;
    }
    report.signed_up = super::sign_up::sweep(store, cfg).await;
    report.closed = amazon::close_cancelled(store, cfg).await;
    let today = ChargeDate::of_instant(platform::now());
    let rows = match store
        .due_subscriptions(&today.to_string(), CHARGE_BATCH)
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            worker::console_error!("subscriptions: listing due failed: {}", e.code);
            report.errors += 1;
            return report;
        }
    };
    // Subscriptions are independent of one another (each has its own payment, claim and
    // compare-and-set), so a few are charged at once: Workers allow six open connections per
    // invocation, and each charge waits mostly on GMO and D1. A group is started together, its
    // payments created and claimed in one batch just before its gateway calls (#17).
    let mut results: Vec<(String, ApiResult<Step>)> = Vec::with_capacity(rows.len());
    for group in rows.chunks(CONCURRENT_CHARGES) {
        results.extend(charge_group(store, cfg, group, today).await);
    }
    for (id, step) in results {
        report.due += 1;
        match step {
            Ok(Step::Charged) => report.charged += 1,
            Ok(Step::Failed) => report.failed += 1,
            Ok(Step::Waiting) => report.waiting += 1,
            Err(e) => {
                report.errors += 1;
                worker::console_warn!("subscriptions: {id} failed: {}", e.code);
            }
        }
    }
    report
}

/// Charges a group of due subscriptions at once (at most [`CONCURRENT_CHARGES`]): the model
/// decides what each has due, one batch creates and claims their attempts' payments
/// ([`attempt_payments`]; if it fails each goes alone), then each is charged as
/// [`charge_one`] would, the card charges' AccessID writes in one batch and their paid settles
/// in another ([`Together`]).
async fn charge_group(
    store: &Store<'_>,
    cfg: &Config,
    rows: &[SubscriptionRow],
    today: ChargeDate,
) -> Vec<(String, ApiResult<Step>)> {
    let mut done = Vec::new();
    let mut due = Vec::with_capacity(rows.len());
    for row in rows {
        // `due_on` is what the query saw; the model decides (it may have moved meanwhile).
        match row.subscription() {
            Ok(sub) => match sub.due(today) {
                Some(d) => due.push((row, sub, d)),
                None => done.push((row.id.clone(), Ok(Step::Waiting))),
            },
            Err(e) => done.push((row.id.clone(), Err(e))),
        }
    }
    let payments = attempt_payments(store, &due).await;
    // The charges that go to the card flow share its two batches.
    let carded: Vec<bool> = match &payments {
        Some(found) => due
            .iter()
            .zip(found)
            .map(|((_, sub, _), f)| goes_to_card_flow(sub, f))
            .collect(),
        None => Vec::new(),
    };
    let sharing = carded.iter().filter(|c| **c).count();
    let groups = (sharing > 1).then(|| (GroupBatch::new(sharing), GroupBatch::new(sharing)));
    let mut payments = payments.map(Vec::into_iter);
    let charges = due.into_iter().enumerate().map(|(i, (row, sub, d))| {
        let payment = payments.as_mut().and_then(Iterator::next);
        let together = match (&groups, carded.get(i)) {
            (Some((access, settle)), Some(true)) => Some(Together {
                access: access.member(),
                settle: settle.member(),
            }),
            _ => None,
        };
        async move {
            let step = match payment {
                Some(Ok((p, claimed))) => {
                    charge_attempt(store, cfg, row, &sub, d, today, (p, claimed, together)).await
                }
                Some(Err(e)) => Err(e),
                None => charge_due(store, cfg, row, &sub, d, today).await,
            };
            (row.id.clone(), step)
        }
    });
    done.extend(futures_util::future::join_all(charges).await);
    done
}

pub(super) enum Step {
    Charged,
    Failed,
    Waiting,
}

/// How the attempt's payment stands.
enum Attempted {
    Paid,
    Failed(FailureKind),
    Waiting,
}

/// Charges `row`'s due attempt now, if it has one (the cron's step for one subscription; also
/// 再オーソリ).
pub(super) async fn charge_one(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    today: ChargeDate,
) -> ApiResult<Step> {
    let sub = row.subscription()?;
    // `due_on` is what the query saw; the model decides (it may have moved meanwhile).
    let Some(due) = sub.due(today) else {
        return Ok(Step::Waiting);
    };
    charge_due(store, cfg, row, &sub, due, today).await
}

/// The test environment's 「次回分を今すぐ課金」: the pending cycle charged ahead of its date,
/// under the cycle's own key (a repeat finds the same payment).
pub(super) async fn charge_early(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    today: ChargeDate,
) -> ApiResult<Step> {
    let sub = row.subscription()?;
    let Some(due) = sub.due_early() else {
        return Err(ApiError::new(
            409,
            "subscription_not_chargeable_now",
            "only an active subscription without a pending retry can be charged ahead",
            "前倒しで課金できるのは、再試行待ちのない「有効」の定期購入だけです。",
        ));
    };
    charge_due(store, cfg, row, &sub, due, today).await
}

/// Charges `due` (its payment created once under its key) and records the result.
async fn charge_due(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    sub: &Subscription,
    due: DueCharge,
    today: ChargeDate,
) -> ApiResult<Step> {
    let (payment, claimed) = attempt_payment(store, row, &due, &sub.source).await?;
    charge_attempt(store, cfg, row, sub, due, today, (payment, claimed, None)).await
}

/// Whether [`charge_attempt`] takes this attempt to the card flow.
fn goes_to_card_flow(sub: &Subscription, found: &ApiResult<(PaymentRow, bool)>) -> bool {
    matches!(sub.source, PaymentSource::GmoCard { .. })
        && match found {
            Ok((payment, claimed)) => *claimed || matches!(attempted(payment), Ok(None)),
            Err(_) => false,
        }
}

/// Charges `due` on its attempt's payment as [`attempt_payment`] found it (`claimed`: created
/// and claimed for the charge by this run; `together`: its places in the group's batches) and
/// records the result.
async fn charge_attempt(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    sub: &Subscription,
    due: DueCharge,
    today: ChargeDate,
    (payment, claimed, together): (PaymentRow, bool, Option<Together>),
) -> ApiResult<Step> {
    // The subscription's success, computed before ExecTran to ride in the batch that settles
    // the payment paid (#17); a lost compare-and-set is recorded below as before.
    let mut success = None;
    // As the charge left it (its decline code goes into the notice).
    let (attempted, payment) = match (claimed, attempted(&payment)?) {
        // Claimed in the batch that created it: `processing` under our lease, charge it now.
        (true, _) | (false, None) => match &sub.source {
            PaymentSource::GmoCard {
                member_id,
                card_seq,
            } => {
                let ready = Success::prepare(store, cfg, row, sub, &payment, &due)?;
                let on_paid = ready.as_ref().map(|s| &s.rider);
                let charged = charge_card(
                    store,
                    cfg,
                    payment,
                    (member_id, *card_seq),
                    claimed,
                    (on_paid, together.as_ref()),
                )
                .await?;
                success = ready;
                charged
            }
            PaymentSource::AmazonChargePermission {
                charge_permission_id,
            } => {
                amazon::charge(store, cfg, &payment, charge_permission_id, today).await?;
                let after = store.existing_payment(&payment.id).await?;
                (attempted(&after)?.unwrap_or(Attempted::Waiting), after)
            }
        },
        (false, Some(a)) => (a, payment),
    };
    let mut row = row;
    let fresh;
    if let Some(success) = success {
        match success.rider.won() {
            // Recorded in the settle's batch: only the notices are left.
            Some(true) => {
                notify(store, cfg, row, &payment, &due, &success.transition).await?;
                return Ok(Step::Charged);
            }
            // The subscription changed meanwhile: recorded below on the row as it is now.
            Some(false) => {
                fresh = store
                    .subscription(&row.id)
                    .await?
                    .ok_or_else(|| ApiError::internal("subscription vanished"))?;
                row = &fresh;
            }
            None => {}
        }
    }
    let now = platform::now();
    let on = ChargeDate::of_instant(now);
    let Some((event, kind, step)) = result_event(attempted, &due, on) else {
        return Ok(Step::Waiting);
    };
    if record(store, cfg, row, &payment, &due, &event, kind).await? {
        Ok(step)
    } else {
        Ok(Step::Waiting)
    }
}

/// Records the attempt's result on the subscription (compare-and-set), then sends its notices.
/// A lost compare-and-set (a merchant's pause or change meanwhile) is tried again on the fresh
/// row, so a paid cycle is never left unrecorded; the model refuses a result another run has
/// already recorded (`stale_charge_result`): `Ok(false)`.
async fn record(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    payment: &PaymentRow,
    due: &DueCharge,
    event: &Event,
    kind: &str,
) -> ApiResult<bool> {
    let mut row = row.clone();
    for _ in 0..3 {
        let transition = match row.subscription()?.apply(event, &cfg.subscription_retry) {
            Ok(t) => t,
            Err(r) => {
                worker::console_log!("subscriptions: {}: {}", row.id, r.code());
                return Ok(false);
            }
        };
        let ev = result_record(payment, due, &transition, kind);
        let now = platform::now().0;
        if store
            .update_subscription(&row, &transition.subscription, now, &ev)
            .await?
        {
            notify(store, cfg, &row, payment, due, &transition).await?;
            return Ok(true);
        }
        row = store
            .subscription(&row.id)
            .await?
            .ok_or_else(|| ApiError::internal("subscription vanished"))?;
    }
    Err(ApiError::internal("subscription kept changing"))
}

/// The subscription's event recording an attempt's result.
fn result_record<'a>(
    payment: &PaymentRow,
    due: &DueCharge,
    transition: &Transition,
    kind: &'a str,
) -> SubscriptionEvent<'a> {
    SubscriptionEvent {
        actor: "system",
        kind,
        detail: json!({
            "payment_id": payment.id,
            "order_id": payment.order_id,
            "scheduled_on": due.scheduled_on.to_string(),
            "attempt": due.attempt,
            "effects": effects_detail(&transition.effects),
            "status": transition.subscription.status.as_str(),
        }),
    }
}

/// A charge's success on the subscription, prepared before the gateway call: the model's
/// transition and its compare-and-set (with its event) as statements for the batch that settles
/// the payment paid (#17). The same write [`record`] makes, in the same transaction as the
/// payment's: 4 → 3 D1 round trips per charge.
struct Success {
    transition: Transition,
    rider: PaidRider,
}

impl Success {
    /// `None` when the model would refuse the success now (then [`record`] tells, as before).
    fn prepare(
        store: &Store<'_>,
        cfg: &Config,
        row: &SubscriptionRow,
        sub: &Subscription,
        payment: &PaymentRow,
        due: &DueCharge,
    ) -> ApiResult<Option<Success>> {
        let now = platform::now();
        let event = Event::ChargeSucceeded {
            scheduled_on: due.scheduled_on,
            on: ChargeDate::of_instant(now),
        };
        let Ok(transition) = sub.apply(&event, &cfg.subscription_retry) else {
            return Ok(None);
        };
        let ev = result_record(payment, due, &transition, "charge_succeeded");
        let stmts = store.subscription_cas_if_paid(
            row,
            &transition.subscription,
            &payment.id,
            now.0,
            &ev,
        )?;
        Ok(Some(Success {
            transition,
            rider: PaidRider::new(stmts),
        }))
    }
}

/// The notices of a transition, as webhooks to the shop (`flows::webhooks`).
async fn notify(
    store: &Store<'_>,
    cfg: &Config,
    row: &SubscriptionRow,
    payment: &PaymentRow,
    due: &DueCharge,
    transition: &Transition,
) -> ApiResult<()> {
    for effect in &transition.effects {
        if let Effect::NotifyMerchant(notice) = effect {
            let event = match notice {
                Notice::ChargeFailed => "subscription.charge_failed",
                Notice::BecameUnpaid => "subscription.unpaid",
            };
            let data = json!({
                "subscription_id": row.id,
                "customer": row.customer_id,
                "payment_id": payment.id,
                "order_id": payment.order_id,
                "amount": payment.amount,
                "scheduled_on": due.scheduled_on.to_string(),
                "attempt": due.attempt,
                "status": transition.subscription.status.as_str(),
                "next_attempt_on": transition.subscription.dunning.and_then(|d| d.next_attempt_on).map(|d| d.to_string()),
                "reason": payment.last_error_code,
            });
            webhooks::enqueue(store, cfg, event, data).await?;
        }
    }
    Ok(())
}

/// The model's event for what the attempt's payment says; `None` while it cannot tell yet.
fn result_event(
    attempted: Attempted,
    due: &DueCharge,
    on: ChargeDate,
) -> Option<(Event, &'static str, Step)> {
    Some(match attempted {
        Attempted::Waiting => return None,
        Attempted::Paid => (
            Event::ChargeSucceeded {
                scheduled_on: due.scheduled_on,
                on,
            },
            "charge_succeeded",
            Step::Charged,
        ),
        Attempted::Failed(failure) => (
            Event::ChargeFailed {
                scheduled_on: due.scheduled_on,
                attempt: due.attempt,
                on,
                kind: failure,
            },
            "charge_failed",
            Step::Failed,
        ),
    })
}

/// ExecTran on the stored card, merchant-initiated (the payment's `subscription_id` makes the
/// card flow send no 3-D Secure), then what the payment says, with the row as the charge left
/// it. `claimed`: the payment is already claimed for this attempt (`attempt_payment`);
/// `on_paid`: the subscription's success, written in the batch that settles the payment paid;
/// `together`: the group's batches.
async fn charge_card(
    store: &Store<'_>,
    cfg: &Config,
    payment: PaymentRow,
    (member_id, card_seq): (&str, u32),
    claimed: bool,
    (on_paid, together): (Option<&PaidRider>, Option<&Together>),
) -> ApiResult<(Attempted, PaymentRow)> {
    let attempt = stored_card_attempt(member_id, card_seq);
    let now = platform::now().0;
    let id = payment.id.clone();
    let none = PaidRider::default();
    let on_paid = on_paid.unwrap_or(&none);
    let outcome = card_checkout::authorize_subscription_charge(
        store,
        cfg,
        payment,
        &attempt,
        now,
        claimed,
        (on_paid, together),
    )
    .await;
    Ok(match outcome {
        // The settled row the card flow wrote: no read needed (#17).
        Ok(Outcome::Paid(row)) => (Attempted::Paid, row),
        Ok(Outcome::Unknown(row) | Outcome::RequiresAction { row, .. }) => {
            (Attempted::Waiting, row)
        }
        // Declined, refused, busy: the payment records which.
        Err(_) => {
            let after = store.existing_payment(&id).await?;
            (attempted(&after)?.unwrap_or(Attempted::Waiting), after)
        }
    })
}

/// A charge on the stored card: 一括, nothing to save, no return page.
fn stored_card_attempt(member_id: &str, card_seq: u32) -> CardAttempt {
    CardAttempt {
        source: AttemptSource::Stored {
            member_id: member_id.to_string(),
            card_seq,
        },
        installments: Installments::Lump,
        save: None,
        return_url: None,
    }
}

/// The effects, as the history shows them (the notices also go out as webhooks).
fn effects_detail(effects: &[Effect]) -> Vec<serde_json::Value> {
    effects
        .iter()
        .map(|e| match e {
            Effect::NextChargeOn { on, skipped } => {
                json!({ "next_charge_on": on.to_string(), "skipped": skipped })
            }
            Effect::RetryOn { attempt, on } => {
                json!({ "retry": attempt, "on": on.to_string() })
            }
            Effect::RecordUnpaidCharge {
                scheduled_on,
                attempt,
            } => json!({ "unpaid_charge": scheduled_on.to_string(), "attempt": attempt }),
            Effect::NotifyMerchant(notice) => json!({ "notice": notice }),
            Effect::CloseChargePermission {
                charge_permission_id,
            } => json!({ "close_charge_permission": charge_permission_id }),
        })
        .collect()
}

/// What the attempt's payment already says; `None` when it has not been charged yet (never
/// tried, or only a busy or unreachable gateway, where nothing was charged).
fn attempted(p: &PaymentRow) -> ApiResult<Option<Attempted>> {
    Ok(match p.state()?.phase() {
        Phase::Paid => Some(Attempted::Paid),
        Phase::InFlight | Phase::Unknown => Some(Attempted::Waiting),
        Phase::Closed => Some(Attempted::Failed(FailureKind::Hard)),
        Phase::Open => match p.last_error_code.as_deref() {
            // The issuer declined: may pass another day.
            Some("card_declined") => Some(Attempted::Failed(FailureKind::Retryable)),
            // Amazon's monthly cap (checked by kessai): next month has room again.
            Some("monthly_cap_exceeded") => Some(Attempted::Failed(FailureKind::Retryable)),
            Some("amount_above_monthly_cap") => Some(Attempted::Failed(FailureKind::Hard)),
            // Amazon refused the Create Charge: its reasonCode says whether the buyer must act.
            Some(code) if code.starts_with("amazon_") => Some(Attempted::Failed(
                FailureKind::of_amazon_reason(p.last_error_info.as_deref().unwrap_or("")),
            )),
            // The card cannot pay (expired, deleted, refused by GMO) until the customer acts.
            Some("card_input" | "gateway_rejected" | "card_expired" | "card_not_found") => {
                Some(Attempted::Failed(FailureKind::Hard))
            }
            Some(_) | None => None,
        },
    })
}

/// A new attempt's payment as this run would create it: ids drawn, its `created` event and,
/// on a stored card, the card flow's claim for the charge.
struct NewAttempt {
    id: String,
    secret: String,
    gmo_order_id: String,
    order_id: String,
    subscription_id: String,
    customer_id: String,
    amount: i64,
    now: i64,
    lease_until: i64,
    lump: String,
    /// The stored card (`None`: Amazon Pay, claimed by its own flow).
    card_seq: Option<u32>,
    created: serde_json::Value,
}

impl NewAttempt {
    fn new(row: &SubscriptionRow, due: &DueCharge, source: &PaymentSource) -> ApiResult<Self> {
        let (id, secret, gmo_order_id) = new_payment_ids()?;
        let now = platform::now().0;
        Ok(NewAttempt {
            id,
            secret,
            gmo_order_id,
            order_id: due.key(&row.id).order_id(),
            subscription_id: row.id.clone(),
            customer_id: row.customer_id.clone(),
            amount: due.amount.yen(),
            now,
            lease_until: now + LEASE_MS,
            lump: Installments::Lump.code(),
            card_seq: match source {
                PaymentSource::GmoCard { card_seq, .. } => Some(*card_seq),
                PaymentSource::AmazonChargePermission { .. } => None,
            },
            created: json!({ "amount": due.amount.yen(), "capture": "manual", "subscription_id": row.id, "scheduled_on": due.scheduled_on.to_string(), "attempt": due.attempt }),
        })
    }

    /// The insert, its event, the subscription's tag and (stored card) the claim, as
    /// [`Store::insert_subscription_payment`] takes them.
    fn statements(
        &self,
    ) -> (
        NewPayment<'_>,
        PaymentEvent<'_>,
        &str,
        Option<StoredCardClaim<'_>>,
    ) {
        let new = NewPayment {
            id: &self.id,
            client_secret: &self.secret,
            order_id: &self.order_id,
            amount: self.amount,
            capture: CaptureMode::Manual,
            gmo_order_id: &self.gmo_order_id,
            now: self.now,
            customer_name: None,
            risk_data: None,
            customer_id: Some(&self.customer_id),
            subscription_plan: None,
        };
        let ev = PaymentEvent {
            actor: "system",
            kind: "created",
            detail: self.created.clone(),
        };
        // The card flow's own claim of a stored-card attempt.
        let claim = self.card_seq.map(|card_seq| {
            card_checkout::stored_card_claim(
                &self.gmo_order_id,
                card_seq,
                self.lease_until,
                &self.lump,
            )
        });
        (new, ev, &self.subscription_id, claim)
    }

    /// The attempt's payment as the batch left it, and whether this run created and claimed it.
    fn found(&self, payment: Option<PaymentRow>) -> ApiResult<(PaymentRow, bool)> {
        let payment = payment.ok_or_else(|| ApiError::internal("subscription payment vanished"))?;
        let claimed = self.card_seq.is_some()
            && payment.id == self.id
            && payment.state == PaymentState::Processing.as_str()
            && payment.lease_until == Some(self.lease_until);
        Ok((payment, claimed))
    }
}

/// The payment of this attempt: created once (its order id is the attempt's `ChargeKey`
/// OrderID), marked as the subscription's; `true` when this call created it and, the source
/// being a stored card, claimed it for the charge in the same batch (#17). One batch: created
/// unless a concurrent or earlier run did (that one is used, as it is), tagged before anything
/// reaches GMO (the tag makes the charge merchant-initiated: no 3-D Secure), claimed if new,
/// read.
async fn attempt_payment(
    store: &Store<'_>,
    row: &SubscriptionRow,
    due: &DueCharge,
    source: &PaymentSource,
) -> ApiResult<(PaymentRow, bool)> {
    let attempt = NewAttempt::new(row, due, source)?;
    let (new, ev, subscription_id, claim) = attempt.statements();
    let payment = store
        .insert_subscription_payment(&new, &ev, subscription_id, claim.as_ref())
        .await?;
    attempt.found(payment)
}

/// [`attempt_payment`] for a group of charges started together (#17): one batch creates (and
/// claims) all their payments, each on its own exactly as alone, just before their gateway
/// calls. `None` for the whole group when the batch failed (each then goes alone).
async fn attempt_payments(
    store: &Store<'_>,
    group: &[(&SubscriptionRow, Subscription, DueCharge)],
) -> Option<Vec<ApiResult<(PaymentRow, bool)>>> {
    let attempts = group
        .iter()
        .map(|(row, sub, due)| NewAttempt::new(row, due, &sub.source))
        .collect::<ApiResult<Vec<_>>>()
        .ok()?;
    let statements: Vec<_> = attempts.iter().map(NewAttempt::statements).collect();
    let rows = match store.insert_subscription_payments(&statements).await {
        Ok(rows) => rows,
        Err(e) => {
            worker::console_warn!("subscriptions: group of payments failed: {}", e.code);
            return None;
        }
    };
    Some(
        attempts
            .iter()
            .zip(rows)
            .map(|(a, row)| a.found(row))
            .collect(),
    )
}
