//! A subscription's standing and the events that move it.
//!
//! ```text
//!            Pause                 ChargeFailed(hard) / last retry failed / RetryScheduleExhausted
//!   有効 ─────────▶ 一時停止        有効 ─────────────────────────────────────────────▶ 未決済
//!   Active ◀───────── Paused        Active ◀────────────────────────────────────────── Unpaid
//!            Resume                         SourceChanged (card changed / Amazon updated)
//!
//!   any of them ── Cancel ──▶ 解約 Cancelled (final: every event is refused)
//! ```
//!
//! A failed charge does not change the status by itself while retries remain: the subscription
//! stays 有効 with a [`Dunning`] record (the cycle's order is カード未決済 and is retried on the
//! schedule's dates). [`Subscription::apply`] is the only way to change a subscription; it never
//! panics and returns the new subscription with the [`Effect`]s the edge must carry out, or a
//! [`Refusal`].

use serde::{Deserialize, Serialize};

use super::date::ChargeDate;
use super::key::ChargeKey;
use super::refusal::Refusal;
use super::retry::RetrySchedule;
use super::schedule::{Cycle, first_on_or_after, next_cycle_after};
use super::source::PaymentSource;
use crate::amazon::rules::RECURRING_MONTHLY_CAP;
use crate::money::Jpy;

/// How far ahead a next charge date may be moved by hand.
pub const MAX_NEXT_DATE_AHEAD_DAYS: i64 = 366;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    /// 有効: charged on its dates (and retried after a failure).
    Active,
    /// 一時停止: no charges until resumed.
    Paused,
    /// 未決済: the retries are exhausted (or the source is dead); waits for a new card / an
    /// updated Amazon payment method.
    Unpaid,
    /// 解約: final.
    Cancelled,
}

impl SubscriptionStatus {
    pub const ALL: [SubscriptionStatus; 4] = [
        SubscriptionStatus::Active,
        SubscriptionStatus::Paused,
        SubscriptionStatus::Unpaid,
        SubscriptionStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Paused => "paused",
            SubscriptionStatus::Unpaid => "unpaid",
            SubscriptionStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<SubscriptionStatus> {
        SubscriptionStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// The console's label.
    pub fn label_ja(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "有効",
            SubscriptionStatus::Paused => "一時停止",
            SubscriptionStatus::Unpaid => "未決済",
            SubscriptionStatus::Cancelled => "解約",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "Active",
            SubscriptionStatus::Paused => "Paused",
            SubscriptionStatus::Unpaid => "Unpaid",
            SubscriptionStatus::Cancelled => "Cancelled",
        }
    }
}

/// A cycle whose charge failed and is being retried (or, in 未決済, waits for a new source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dunning {
    /// The JST date the cycle's first attempt failed: retry offsets count from it.
    pub first_failed_on: ChargeDate,
    /// Failed attempts of this cycle so far (≥ 1); also the number of the next attempt.
    pub failed_attempts: u8,
    /// When the next attempt is due; `None` while 未決済.
    pub next_attempt_on: Option<ChargeDate>,
}

/// One subscription, as far as the rules need it (ids, customer and history live in D1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub status: SubscriptionStatus,
    pub source: PaymentSource,
    /// Charged every cycle (and by each retry of a cycle).
    pub amount: Jpy,
    pub cycle: Cycle,
    /// The scheduled date of the cycle charged next (or being retried / owed while 未決済).
    pub next_charge_on: ChargeDate,
    pub dunning: Option<Dunning>,
}

/// How a charge failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Worth retrying on the schedule: Amazon SoftDeclined / ProcessingFailure, a card decline
    /// that may pass later (limit, temporary issuer error).
    Retryable,
    /// The source cannot pay until the customer acts: Amazon HardDeclined / PaymentMethodNotAllowed,
    /// an expired, deleted or invalid stored card. Straight to 未決済, no retries.
    Hard,
}

impl FailureKind {
    /// What a refused Create Charge on a recurring charge permission means for the subscription
    /// (reference §5): the buyer must fix the payment method on Amazon (`HardDeclined`,
    /// `PaymentMethodNotAllowed`, `AmazonRejected`: "do not retry"; the permission no longer
    /// chargeable, closed or missing), or another day may pass (`SoftDeclined`,
    /// `ProcessingFailure`, `TransactionTimedOut`, the monthly cap). [U] Amazon's JP docs do not
    /// list which reasons leave a Recurring permission NonChargeable; an unknown reason is
    /// retried on the schedule, which ends in 未決済 anyway.
    pub fn of_amazon_reason(reason: &str) -> FailureKind {
        match reason {
            "HardDeclined"
            | "PaymentMethodNotAllowed"
            | "AmazonRejected"
            | "InvalidChargePermissionStatus"
            | "ResourceNotFound" => FailureKind::Hard,
            _ => FailureKind::Retryable,
        }
    }
}

/// Something that happened to a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Pause,
    /// `today`: the JST date now; dates missed while paused are skipped, not charged.
    Resume {
        today: ChargeDate,
    },
    /// The charge for the cycle scheduled on `scheduled_on` succeeded on `on` (JST), whatever
    /// the attempt.
    ChargeSucceeded {
        scheduled_on: ChargeDate,
        on: ChargeDate,
    },
    /// Attempt `attempt` of the cycle scheduled on `scheduled_on` failed on `on` (JST).
    ChargeFailed {
        scheduled_on: ChargeDate,
        attempt: u8,
        on: ChargeDate,
        kind: FailureKind,
    },
    /// Give up retrying now (e.g. the shop shortened its schedule): 未決済.
    RetryScheduleExhausted,
    /// The customer changed the card, or updated the payment method on Amazon (same or new
    /// charge permission).
    SourceChanged {
        source: PaymentSource,
        today: ChargeDate,
    },
    Cancel,
    ChangeAmount {
        amount: Jpy,
    },
    ChangeNextDate {
        date: ChargeDate,
        today: ChargeDate,
    },
}

/// What the merchant is told by webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// A cycle's charge failed (its order is カード未決済).
    ChargeFailed,
    /// The subscription became 未決済: ask the customer for another payment method.
    BecameUnpaid,
}

/// What the edge must do after a transition (besides storing the new subscription).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The next cycle is charged on `on`; `skipped` cycle dates passed without a charge.
    NextChargeOn { on: ChargeDate, skipped: u32 },
    /// Attempt `attempt` of the pending cycle is due on `on`.
    RetryOn { attempt: u8, on: ChargeDate },
    /// Record the cycle's order as カード未決済 (attempt `attempt` of `scheduled_on` failed).
    RecordUnpaidCharge {
        scheduled_on: ChargeDate,
        attempt: u8,
    },
    /// Send the merchant a signed webhook.
    NotifyMerchant(Notice),
    /// Close the Amazon charge permission (cancel, or replaced by a new one).
    CloseChargePermission { charge_permission_id: String },
}

/// The result of an accepted event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub subscription: Subscription,
    pub effects: Vec<Effect>,
}

/// The charge a cron run should attempt now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCharge {
    pub scheduled_on: ChargeDate,
    pub attempt: u8,
    pub amount: Jpy,
}

impl DueCharge {
    /// Its idempotency key (D1 unique key, GMO OrderID, Amazon idempotency key).
    pub fn key(&self, subscription_id: &str) -> ChargeKey {
        ChargeKey::new(subscription_id, self.scheduled_on, self.attempt)
    }
}

fn close_if_amazon(source: &PaymentSource) -> Vec<Effect> {
    match source.charge_permission_id() {
        Some(id) => vec![Effect::CloseChargePermission {
            charge_permission_id: id.to_string(),
        }],
        None => vec![],
    }
}

impl Subscription {
    /// A new 有効 subscription whose first charge is the first cycle date on or after `start`.
    pub fn new(
        source: PaymentSource,
        amount: Jpy,
        cycle: Cycle,
        start: ChargeDate,
    ) -> Subscription {
        Subscription {
            status: SubscriptionStatus::Active,
            source,
            amount,
            cycle,
            next_charge_on: first_on_or_after(cycle, start),
            dunning: None,
        }
    }

    /// The number the next attempt of the pending cycle gets (0 = the scheduled charge).
    pub fn next_attempt(&self) -> u8 {
        self.dunning.map_or(0, |d| d.failed_attempts)
    }

    /// The charge due on `today` (JST), if any: only 有効 subscriptions are charged.
    pub fn due(&self, today: ChargeDate) -> Option<DueCharge> {
        match self.status {
            SubscriptionStatus::Active => {
                let on = match self.dunning {
                    None => self.next_charge_on,
                    Some(d) => d.next_attempt_on?,
                };
                (on <= today).then_some(DueCharge {
                    scheduled_on: self.next_charge_on,
                    attempt: self.next_attempt(),
                    amount: self.amount,
                })
            }
            SubscriptionStatus::Paused
            | SubscriptionStatus::Unpaid
            | SubscriptionStatus::Cancelled => None,
        }
    }

    /// The pending cycle, charged ahead of its date (the test environment's 「次回分を今すぐ
    /// 課金」): only a 有効 subscription with no failed charge waiting for a retry. Its key is the
    /// cycle's own (scheduled date, attempt 0), so charging early twice is one charge, and the
    /// cron never charges that cycle again.
    pub fn due_early(&self) -> Option<DueCharge> {
        match (self.status, self.dunning) {
            (SubscriptionStatus::Active, None) => Some(DueCharge {
                scheduled_on: self.next_charge_on,
                attempt: 0,
                amount: self.amount,
            }),
            (SubscriptionStatus::Active, Some(_))
            | (SubscriptionStatus::Paused, _)
            | (SubscriptionStatus::Unpaid, _)
            | (SubscriptionStatus::Cancelled, _) => None,
        }
    }

    /// Applies an event under the shop's retry schedule.
    pub fn apply(&self, event: &Event, retry: &RetrySchedule) -> Result<Transition, Refusal> {
        use SubscriptionStatus as S;
        let mut next = self.clone();
        let mut effects = Vec::new();
        match event {
            Event::Pause => match self.status {
                S::Active => next.status = S::Paused,
                S::Paused => return Err(Refusal::AlreadyPaused),
                S::Unpaid => return Err(Refusal::Unpaid),
                S::Cancelled => return Err(Refusal::Cancelled),
            },

            Event::Resume { today } => match self.status {
                S::Paused => {
                    next.status = S::Active;
                    match self.dunning {
                        Some(d) => {
                            let on = d.next_attempt_on.map_or(*today, |x| x.max(*today));
                            next.dunning = Some(Dunning {
                                next_attempt_on: Some(on),
                                ..d
                            });
                            effects.push(Effect::RetryOn {
                                attempt: d.failed_attempts,
                                on,
                            });
                        }
                        None => {
                            if self.next_charge_on < *today {
                                // Dates that passed while paused are skipped.
                                let (on, skipped) = next_cycle_after(
                                    self.cycle,
                                    self.next_charge_on,
                                    today.plus_days(-1),
                                );
                                next.next_charge_on = on;
                                effects.push(Effect::NextChargeOn {
                                    on,
                                    skipped: skipped.saturating_add(1),
                                });
                            } else {
                                effects.push(Effect::NextChargeOn {
                                    on: self.next_charge_on,
                                    skipped: 0,
                                });
                            }
                        }
                    }
                }
                S::Active | S::Unpaid => {
                    return Err(Refusal::NotPaused {
                        status: self.status,
                    });
                }
                S::Cancelled => return Err(Refusal::Cancelled),
            },

            Event::ChargeSucceeded { scheduled_on, on } => match self.status {
                S::Active | S::Paused | S::Unpaid => {
                    if *scheduled_on != self.next_charge_on {
                        return Err(self.stale());
                    }
                    if self.status == S::Unpaid {
                        next.status = S::Active;
                    }
                    let (date, skipped) = next_cycle_after(self.cycle, *scheduled_on, *on);
                    next.next_charge_on = date;
                    next.dunning = None;
                    effects.push(Effect::NextChargeOn { on: date, skipped });
                }
                S::Cancelled => return Err(Refusal::ChargeAfterCancel),
            },

            Event::ChargeFailed {
                scheduled_on,
                attempt,
                on,
                kind,
            } => match self.status {
                S::Active | S::Paused | S::Unpaid => {
                    if *scheduled_on != self.next_charge_on || *attempt != self.next_attempt() {
                        return Err(self.stale());
                    }
                    effects.push(Effect::RecordUnpaidCharge {
                        scheduled_on: *scheduled_on,
                        attempt: *attempt,
                    });
                    effects.push(Effect::NotifyMerchant(Notice::ChargeFailed));
                    let first_failed_on = self.dunning.map_or(*on, |d| d.first_failed_on);
                    let failed = attempt.checked_add(1);
                    let retry_on = match (self.status, kind, failed) {
                        (S::Unpaid, _, _) | (_, FailureKind::Hard, _) | (_, _, None) => None,
                        (S::Active | S::Paused | S::Cancelled, FailureKind::Retryable, Some(n)) => {
                            retry
                                .retry_date(first_failed_on, u32::from(n))
                                // Never twice on one day, even when a retry ran late.
                                .map(|d| d.max(on.plus_days(1)))
                        }
                    };
                    next.dunning = Some(Dunning {
                        first_failed_on,
                        failed_attempts: failed.unwrap_or(u8::MAX),
                        next_attempt_on: retry_on,
                    });
                    match retry_on {
                        Some(d) => effects.push(Effect::RetryOn {
                            attempt: failed.unwrap_or(u8::MAX),
                            on: d,
                        }),
                        None => {
                            if self.status != S::Unpaid {
                                effects.push(Effect::NotifyMerchant(Notice::BecameUnpaid));
                            }
                            next.status = S::Unpaid;
                        }
                    }
                }
                S::Cancelled => return Err(Refusal::Cancelled),
            },

            Event::RetryScheduleExhausted => match self.status {
                S::Active | S::Paused => match self.dunning {
                    Some(d) => {
                        next.status = S::Unpaid;
                        next.dunning = Some(Dunning {
                            next_attempt_on: None,
                            ..d
                        });
                        effects.push(Effect::NotifyMerchant(Notice::BecameUnpaid));
                    }
                    None => return Err(Refusal::NoRetryPending),
                },
                S::Unpaid => return Err(Refusal::NoRetryPending),
                S::Cancelled => return Err(Refusal::Cancelled),
            },

            Event::SourceChanged { source, today } => {
                match self.status {
                    S::Active | S::Paused | S::Unpaid => {}
                    S::Cancelled => return Err(Refusal::Cancelled),
                }
                if source.kind() != self.source.kind() {
                    return Err(Refusal::SourceKindChanged);
                }
                if self.source.charge_permission_id() != source.charge_permission_id() {
                    effects.extend(close_if_amazon(&self.source));
                }
                next.source = source.clone();
                match (self.status, self.dunning) {
                    // The owed cycle is tried again at once on the new source.
                    (S::Unpaid, Some(d)) => {
                        if d.failed_attempts == u8::MAX {
                            return Err(Refusal::TooManyAttempts);
                        }
                        next.status = S::Active;
                        next.dunning = Some(Dunning {
                            next_attempt_on: Some(*today),
                            ..d
                        });
                        effects.push(Effect::RetryOn {
                            attempt: d.failed_attempts,
                            on: *today,
                        });
                    }
                    (S::Unpaid, None) => next.status = S::Active,
                    // A pending retry comes forward to today.
                    (S::Active, Some(d)) => {
                        let on = d.next_attempt_on.map_or(*today, |x| x.min(*today));
                        next.dunning = Some(Dunning {
                            next_attempt_on: Some(on),
                            ..d
                        });
                        effects.push(Effect::RetryOn {
                            attempt: d.failed_attempts,
                            on,
                        });
                    }
                    (S::Active | S::Paused | S::Cancelled, _) => {}
                }
            }

            Event::Cancel => match self.status {
                S::Active | S::Paused | S::Unpaid => {
                    next.status = S::Cancelled;
                    next.dunning = None;
                    effects.extend(close_if_amazon(&self.source));
                }
                S::Cancelled => return Err(Refusal::Cancelled),
            },

            Event::ChangeAmount { amount } => match self.status {
                S::Active | S::Paused | S::Unpaid => {
                    let amount = Jpy::chargeable(amount.yen()).map_err(Refusal::InvalidAmount)?;
                    if self.source.charge_permission_id().is_some()
                        && amount > RECURRING_MONTHLY_CAP
                    {
                        return Err(Refusal::AmountAboveMonthlyCap {
                            requested: amount,
                            cap: RECURRING_MONTHLY_CAP,
                        });
                    }
                    next.amount = amount;
                }
                S::Cancelled => return Err(Refusal::Cancelled),
            },

            Event::ChangeNextDate { date, today } => match self.status {
                S::Active | S::Paused => {
                    if self.dunning.is_some() {
                        return Err(Refusal::RetryPending);
                    }
                    if date < today {
                        return Err(Refusal::NextDateInPast { today: *today });
                    }
                    let latest = today.plus_days(MAX_NEXT_DATE_AHEAD_DAYS);
                    if *date > latest {
                        return Err(Refusal::NextDateTooFar { latest });
                    }
                    next.next_charge_on = *date;
                    effects.push(Effect::NextChargeOn {
                        on: *date,
                        skipped: 0,
                    });
                }
                S::Unpaid => return Err(Refusal::Unpaid),
                S::Cancelled => return Err(Refusal::Cancelled),
            },
        }
        Ok(Transition {
            subscription: next,
            effects,
        })
    }

    fn stale(&self) -> Refusal {
        Refusal::StaleChargeResult {
            expected_date: self.next_charge_on,
            expected_attempt: self.next_attempt(),
        }
    }
}
