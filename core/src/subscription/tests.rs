//! Scenario tests and properties of the subscription state machine.

use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::money::Jpy;

fn d(y: i32, m: u8, day: u8) -> ChargeDate {
    ChargeDate::new(y, m, day).expect("test date")
}
fn yen(n: i64) -> Jpy {
    Jpy::from_stored(n)
}
fn card(seq: u32) -> PaymentSource {
    PaymentSource::GmoCard {
        member_id: "mem-1".into(),
        card_seq: seq,
    }
}
fn amazon(id: &str) -> PaymentSource {
    PaymentSource::AmazonChargePermission {
        charge_permission_id: id.into(),
    }
}

/// Applies and returns the transition, failing the test on a refusal.
fn ok(s: &Subscription, e: Event) -> Transition {
    match s.apply(&e, &RetrySchedule::default()) {
        Ok(t) => t,
        Err(r) => panic!("{e:?} refused: {}", r.code()),
    }
}
fn refused(s: &Subscription, e: Event) -> &'static str {
    match s.apply(&e, &RetrySchedule::default()) {
        Ok(t) => panic!("{e:?} accepted: {t:?}"),
        Err(r) => {
            assert!(!r.message_ja().is_empty() && !r.message_en().is_empty());
            r.code()
        }
    }
}

#[test]
fn labels() {
    let ja: Vec<_> = SubscriptionStatus::ALL
        .iter()
        .map(|s| s.label_ja())
        .collect();
    assert_eq!(ja, ["有効", "一時停止", "未決済", "解約"]);
    for s in SubscriptionStatus::ALL {
        assert_eq!(SubscriptionStatus::parse(s.as_str()), Some(s));
    }
}

#[test]
fn card_declines_retry_go_unpaid_and_recover_after_card_change() {
    let sub = Subscription::new(
        card(0),
        yen(3_980),
        Cycle::Monthly { day: 31 },
        d(2026, 1, 15),
    );
    assert_eq!(sub.next_charge_on, d(2026, 1, 31));
    assert_eq!(sub.due(d(2026, 1, 30)), None);
    let due = sub.due(d(2026, 1, 31)).expect("due on its date");
    assert_eq!(
        (due.scheduled_on, due.attempt, due.amount),
        (d(2026, 1, 31), 0, yen(3_980))
    );
    let mut keys = HashSet::from([due.key("sub_1").order_id()]);

    let t = ok(
        &sub,
        Event::ChargeSucceeded {
            scheduled_on: d(2026, 1, 31),
            on: d(2026, 1, 31),
        },
    );
    assert_eq!(
        t.effects,
        vec![Effect::NextChargeOn {
            on: d(2026, 2, 28),
            skipped: 0
        }]
    );
    let mut sub = t.subscription;

    // The February charge fails three times more on +1, +3, +7 days, then 未決済.
    let feb = d(2026, 2, 28);
    let expected_retries = [d(2026, 3, 1), d(2026, 3, 3), d(2026, 3, 7)];
    let mut on = feb;
    for (i, retry_on) in expected_retries.into_iter().enumerate() {
        let due = sub.due(on).expect("due");
        assert_eq!(due.attempt as usize, i);
        assert!(keys.insert(due.key("sub_1").order_id()));
        let t = ok(
            &sub,
            Event::ChargeFailed {
                scheduled_on: feb,
                attempt: due.attempt,
                on,
                kind: FailureKind::Retryable,
            },
        );
        assert_eq!(
            t.effects,
            vec![
                Effect::RecordUnpaidCharge {
                    scheduled_on: feb,
                    attempt: due.attempt
                },
                Effect::NotifyMerchant(Notice::ChargeFailed),
                Effect::RetryOn {
                    attempt: due.attempt + 1,
                    on: retry_on
                },
            ]
        );
        sub = t.subscription;
        assert_eq!(sub.status, SubscriptionStatus::Active);
        assert_eq!(sub.due(retry_on.plus_days(-1)), None);
        on = retry_on;
    }
    let due = sub.due(on).expect("last retry due");
    assert_eq!(due.attempt, 3);
    assert!(keys.insert(due.key("sub_1").order_id()));
    let t = ok(
        &sub,
        Event::ChargeFailed {
            scheduled_on: feb,
            attempt: 3,
            on,
            kind: FailureKind::Retryable,
        },
    );
    assert!(
        t.effects
            .contains(&Effect::NotifyMerchant(Notice::BecameUnpaid))
    );
    sub = t.subscription;
    assert_eq!(sub.status, SubscriptionStatus::Unpaid);
    assert_eq!(sub.due(d(2026, 3, 20)), None);
    assert_eq!(refused(&sub, Event::Pause), "subscription_unpaid");
    assert_eq!(
        refused(&sub, Event::RetryScheduleExhausted),
        "no_retry_pending"
    );
    assert_eq!(
        refused(
            &sub,
            Event::SourceChanged {
                source: amazon("S03-1-2"),
                today: d(2026, 3, 9)
            }
        ),
        "payment_source_kind_changed"
    );

    // The customer registers another card: the owed February cycle is tried at once.
    let t = ok(
        &sub,
        Event::SourceChanged {
            source: card(1),
            today: d(2026, 3, 10),
        },
    );
    assert_eq!(
        t.effects,
        vec![Effect::RetryOn {
            attempt: 4,
            on: d(2026, 3, 10)
        }]
    );
    sub = t.subscription;
    assert_eq!(sub.status, SubscriptionStatus::Active);
    let due = sub.due(d(2026, 3, 10)).expect("due after card change");
    assert_eq!((due.scheduled_on, due.attempt), (feb, 4));
    assert!(keys.insert(due.key("sub_1").order_id()));
    let t = ok(
        &sub,
        Event::ChargeSucceeded {
            scheduled_on: feb,
            on: d(2026, 3, 10),
        },
    );
    assert_eq!(
        t.effects,
        vec![Effect::NextChargeOn {
            on: d(2026, 3, 31),
            skipped: 0
        }]
    );
    assert_eq!(t.subscription.dunning, None);
    // A duplicate report of the same success is stale, not a second advance.
    assert_eq!(
        refused(
            &t.subscription,
            Event::ChargeSucceeded {
                scheduled_on: feb,
                on: d(2026, 3, 10)
            }
        ),
        "stale_charge_result"
    );
}

#[test]
fn amazon_hard_decline_cancel_closes_the_permission() {
    let cp = "S03-4260904-6894064";
    let sub = Subscription::new(amazon(cp), yen(5_000), Cycle::EveryDays(30), d(2026, 4, 1));
    assert_eq!(sub.next_charge_on, d(2026, 4, 1));
    let t = ok(
        &sub,
        Event::ChargeFailed {
            scheduled_on: d(2026, 4, 1),
            attempt: 0,
            on: d(2026, 4, 1),
            kind: FailureKind::Hard,
        },
    );
    assert_eq!(t.subscription.status, SubscriptionStatus::Unpaid);
    assert!(
        !t.effects
            .iter()
            .any(|e| matches!(e, Effect::RetryOn { .. }))
    );
    // Buyer updated the payment method on Amazon: same permission, no close.
    let t = ok(
        &t.subscription,
        Event::SourceChanged {
            source: amazon(cp),
            today: d(2026, 4, 3),
        },
    );
    assert_eq!(
        t.effects,
        vec![Effect::RetryOn {
            attempt: 1,
            on: d(2026, 4, 3)
        }]
    );
    // After the source change, one more failure (beyond the schedule? no: attempt 1 = +1 day,
    // already past) goes to the retry date or the day after.
    let t2 = ok(
        &t.subscription,
        Event::ChargeFailed {
            scheduled_on: d(2026, 4, 1),
            attempt: 1,
            on: d(2026, 4, 3),
            kind: FailureKind::Retryable,
        },
    );
    // +3 days from the first failure (Apr 4) is after Apr 3.
    assert!(t2.effects.contains(&Effect::RetryOn {
        attempt: 2,
        on: d(2026, 4, 4)
    }));
    let t3 = ok(&t2.subscription, Event::Cancel);
    assert_eq!(t3.subscription.status, SubscriptionStatus::Cancelled);
    assert_eq!(
        t3.effects,
        vec![Effect::CloseChargePermission {
            charge_permission_id: cp.into()
        }]
    );
    let c = t3.subscription;
    assert_eq!(c.due(d(2026, 4, 4)), None);
    assert_eq!(refused(&c, Event::Cancel), "subscription_cancelled");
    assert_eq!(
        refused(
            &c,
            Event::ChargeSucceeded {
                scheduled_on: d(2026, 4, 1),
                on: d(2026, 4, 4)
            }
        ),
        "charge_after_cancel"
    );
    // A new charge permission replaces the old one: the old is closed.
    let t = ok(
        &sub,
        Event::SourceChanged {
            source: amazon("S03-1-2"),
            today: d(2026, 3, 30),
        },
    );
    assert_eq!(
        t.effects,
        vec![Effect::CloseChargePermission {
            charge_permission_id: cp.into()
        }]
    );
}

#[test]
fn stale_and_repeated_results_are_refused() {
    let sub = Subscription::new(card(0), yen(1_000), Cycle::EveryDays(7), d(2026, 1, 1));
    assert_eq!(
        refused(
            &sub,
            Event::ChargeSucceeded {
                scheduled_on: d(2025, 12, 25),
                on: d(2026, 1, 1)
            }
        ),
        "stale_charge_result"
    );
    let fail = Event::ChargeFailed {
        scheduled_on: d(2026, 1, 1),
        attempt: 0,
        on: d(2026, 1, 1),
        kind: FailureKind::Retryable,
    };
    let t = ok(&sub, fail.clone());
    // The same failure reported twice does not burn a second retry.
    assert_eq!(refused(&t.subscription, fail), "stale_charge_result");
    assert_eq!(
        refused(
            &t.subscription,
            Event::ChangeNextDate {
                date: d(2026, 1, 5),
                today: d(2026, 1, 1)
            }
        ),
        "retry_pending"
    );
    let t = ok(&t.subscription, Event::RetryScheduleExhausted);
    assert_eq!(t.subscription.status, SubscriptionStatus::Unpaid);
    assert_eq!(
        t.effects,
        vec![Effect::NotifyMerchant(Notice::BecameUnpaid)]
    );
}

#[test]
fn pause_resume_skips_missed_dates() {
    let sub = Subscription::new(
        card(0),
        yen(1_000),
        Cycle::Weekly(Weekday::Mon),
        d(2026, 1, 1),
    );
    assert_eq!(sub.next_charge_on, d(2026, 1, 5));
    let p = ok(&sub, Event::Pause).subscription;
    assert_eq!(p.due(d(2026, 1, 5)), None);
    assert_eq!(refused(&p, Event::Pause), "subscription_already_paused");
    assert_eq!(
        refused(
            &sub,
            Event::Resume {
                today: d(2026, 1, 2)
            }
        ),
        "subscription_not_paused"
    );
    let t = ok(
        &p,
        Event::Resume {
            today: d(2026, 1, 20),
        },
    );
    // 1/5, 1/12 and 1/19 passed while paused; next Monday is 1/26.
    assert_eq!(
        t.effects,
        vec![Effect::NextChargeOn {
            on: d(2026, 1, 26),
            skipped: 3
        }]
    );
    // Resumed on a charge day: that day is still charged.
    let t = ok(
        &p,
        Event::Resume {
            today: d(2026, 1, 19),
        },
    );
    assert_eq!(t.subscription.next_charge_on, d(2026, 1, 19));
    // Resumed before the date: unchanged.
    let t = ok(
        &p,
        Event::Resume {
            today: d(2026, 1, 3),
        },
    );
    assert_eq!(t.subscription.next_charge_on, d(2026, 1, 5));
}

#[test]
fn amount_and_date_changes() {
    let a = Subscription::new(
        amazon("S03-1-2"),
        yen(5_000),
        Cycle::Monthly { day: 1 },
        d(2026, 1, 1),
    );
    assert_eq!(
        refused(
            &a,
            Event::ChangeAmount {
                amount: yen(100_001)
            }
        ),
        "amount_above_monthly_cap"
    );
    assert_eq!(
        ok(
            &a,
            Event::ChangeAmount {
                amount: yen(100_000)
            }
        )
        .subscription
        .amount,
        yen(100_000)
    );
    assert_eq!(
        refused(&a, Event::ChangeAmount { amount: yen(0) }),
        "invalid_amount"
    );
    let c = Subscription::new(
        card(0),
        yen(5_000),
        Cycle::Monthly { day: 1 },
        d(2026, 1, 1),
    );
    assert_eq!(
        ok(
            &c,
            Event::ChangeAmount {
                amount: yen(150_000)
            }
        )
        .subscription
        .amount,
        yen(150_000)
    );
    assert_eq!(
        refused(
            &c,
            Event::ChangeAmount {
                amount: yen(10_000_000)
            }
        ),
        "invalid_amount"
    );
    let today = d(2026, 1, 10);
    assert_eq!(
        refused(
            &c,
            Event::ChangeNextDate {
                date: d(2026, 1, 9),
                today
            }
        ),
        "next_date_in_past"
    );
    assert_eq!(
        refused(
            &c,
            Event::ChangeNextDate {
                date: d(2027, 1, 12),
                today
            }
        ),
        "next_date_too_far"
    );
    let t = ok(
        &c,
        Event::ChangeNextDate {
            date: d(2026, 1, 20),
            today,
        },
    );
    assert_eq!(t.subscription.next_charge_on, d(2026, 1, 20));
    // The moved charge counts as January's: February's is still on the 1st.
    let t = ok(
        &t.subscription,
        Event::ChargeSucceeded {
            scheduled_on: d(2026, 1, 20),
            on: d(2026, 1, 20),
        },
    );
    assert_eq!(t.subscription.next_charge_on, d(2026, 2, 1));
}

fn any_source() -> impl Strategy<Value = PaymentSource> {
    prop_oneof![
        (0u32..3).prop_map(card),
        prop_oneof![Just("S03-1-1"), Just("S03-1-2")].prop_map(amazon),
    ]
}

fn any_cycle() -> impl Strategy<Value = Cycle> {
    prop_oneof![
        (1u16..=40).prop_map(Cycle::EveryDays),
        (1u8..=31).prop_map(|day| Cycle::Monthly { day }),
        (0usize..7).prop_map(|i| Cycle::Weekly(Weekday::ALL[i])),
    ]
}

/// Events with dates around 2026; charge results are aimed at the pending charge half the time.
fn any_event(base: ChargeDate) -> impl Strategy<Value = Event> {
    let date = (0i64..200).prop_map(move |n| base.plus_days(n));
    prop_oneof![
        Just(Event::Pause),
        date.clone().prop_map(|today| Event::Resume { today }),
        (date.clone(), date.clone())
            .prop_map(|(scheduled_on, on)| Event::ChargeSucceeded { scheduled_on, on }),
        (date.clone(), 0u8..6, date.clone(), any::<bool>()).prop_map(
            |(scheduled_on, attempt, on, hard)| {
                Event::ChargeFailed {
                    scheduled_on,
                    attempt,
                    on,
                    kind: if hard {
                        FailureKind::Hard
                    } else {
                        FailureKind::Retryable
                    },
                }
            }
        ),
        Just(Event::RetryScheduleExhausted),
        (any_source(), date.clone())
            .prop_map(|(source, today)| Event::SourceChanged { source, today }),
        Just(Event::Cancel),
        (-10i64..200_000).prop_map(|n| Event::ChangeAmount { amount: yen(n) }),
        (date.clone(), date).prop_map(|(date, today)| Event::ChangeNextDate { date, today }),
    ]
}

/// Aims a charge result at what is pending, so that sequences get past the stale check.
fn aim(sub: &Subscription, e: Event) -> Event {
    match e {
        Event::ChargeSucceeded { on, .. } => Event::ChargeSucceeded {
            scheduled_on: sub.next_charge_on,
            on: on.max(sub.next_charge_on),
        },
        Event::ChargeFailed { on, kind, .. } => Event::ChargeFailed {
            scheduled_on: sub.next_charge_on,
            attempt: sub.next_attempt(),
            on: on.max(sub.next_charge_on),
            kind,
        },
        other => other,
    }
}

fn invariants(s: &Subscription) -> Result<(), TestCaseError> {
    match s.status {
        SubscriptionStatus::Unpaid => {
            if let Some(d) = s.dunning {
                prop_assert_eq!(d.next_attempt_on, None);
            }
        }
        SubscriptionStatus::Active => {
            if let Some(d) = s.dunning {
                prop_assert!(d.next_attempt_on.is_some());
                prop_assert!(d.failed_attempts >= 1);
            }
        }
        SubscriptionStatus::Paused => {}
        SubscriptionStatus::Cancelled => prop_assert_eq!(s.dunning, None),
    }
    prop_assert!(s.amount.yen() >= 1);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever happens, a cancelled subscription stays cancelled and every event on it is refused;
    /// the invariants hold after every accepted event.
    #[test]
    fn never_leaves_cancelled(
        source in any_source(),
        cycle in any_cycle(),
        events in proptest::collection::vec((any_event(d(2026, 1, 1)), any::<bool>()), 1..40),
    ) {
        let retry = RetrySchedule::default();
        let mut sub = Subscription::new(source, yen(1_000), cycle, d(2026, 1, 1));
        let mut cancelled = false;
        for (e, aimed) in events {
            let e = if aimed { aim(&sub, e) } else { e };
            match sub.apply(&e, &retry) {
                Ok(t) => {
                    prop_assert!(!cancelled, "accepted {:?} after cancel", e);
                    if e == Event::Cancel {
                        prop_assert_eq!(t.subscription.status, SubscriptionStatus::Cancelled);
                        cancelled = true;
                    } else {
                        prop_assert_ne!(t.subscription.status, SubscriptionStatus::Cancelled);
                    }
                    sub = t.subscription;
                    invariants(&sub)?;
                }
                Err(r) => {
                    prop_assert!(!r.code().is_empty());
                    if cancelled {
                        prop_assert!(matches!(r, Refusal::Cancelled | Refusal::ChargeAfterCancel));
                    }
                }
            }
            prop_assert_eq!(sub.status == SubscriptionStatus::Cancelled, cancelled);
        }
    }

    /// A daily cron over ~8 months: each due charge is attempted under a key never used before,
    /// each cycle is paid at most once, paid cycles' dates increase, and a monthly subscription
    /// is paid at most once per calendar month.
    #[test]
    fn cron_never_reuses_a_key_nor_pays_a_cycle_twice(
        source in any_source(),
        cycle in any_cycle(),
        outcomes in proptest::collection::vec(0u8..10, 240),
    ) {
        let retry = RetrySchedule::default();
        let start = d(2026, 1, 1);
        let mut sub = Subscription::new(source.clone(), yen(1_000), cycle, start);
        let mut keys = HashSet::new();
        let mut paid: Vec<ChargeDate> = Vec::new();
        for (i, o) in outcomes.into_iter().enumerate() {
            let today = start.plus_days(i as i64);
            // Now and then the customer changes the source.
            let change = Event::SourceChanged { source: source.clone(), today };
            if let (9, Ok(t)) = (o, sub.apply(&change, &retry)) {
                sub = t.subscription;
            }
            let Some(due) = sub.due(today) else { continue };
            prop_assert!(due.scheduled_on <= today);
            prop_assert!(keys.insert(due.key("sub_x").order_id()), "key reused: {:?}", due);
            let e = match o {
                0..=5 => Event::ChargeSucceeded { scheduled_on: due.scheduled_on, on: today },
                6 | 7 | 9 => Event::ChargeFailed { scheduled_on: due.scheduled_on, attempt: due.attempt, on: today, kind: FailureKind::Retryable },
                _ => Event::ChargeFailed { scheduled_on: due.scheduled_on, attempt: due.attempt, on: today, kind: FailureKind::Hard },
            };
            let t = sub.apply(&e, &retry);
            prop_assert!(t.is_ok(), "{:?} refused: {:?}", e, t);
            let Ok(t) = t else { continue };
            if let Event::ChargeSucceeded { scheduled_on, .. } = e {
                if let Some(last) = paid.last() {
                    prop_assert!(*last < scheduled_on);
                    if let Cycle::Monthly { .. } = cycle {
                        prop_assert!(!last.same_month(scheduled_on));
                    }
                }
                paid.push(scheduled_on);
                prop_assert!(t.subscription.next_charge_on > today);
            }
            // Nothing is due twice on one day.
            if let Some(again) = t.subscription.due(today) {
                prop_assert!(false, "due again the same day: {:?}", again);
            }
            sub = t.subscription;
            invariants(&sub)?;
        }
    }
}

#[test]
fn a_cycle_charged_early_moves_the_schedule_on_from_its_own_date() {
    let sub = Subscription::new(
        PaymentSource::gmo_card("m1", 0).unwrap(),
        Jpy::chargeable(1_000).unwrap(),
        Cycle::parse("monthly:10").unwrap(),
        ChargeDate::parse("2027-01-10").unwrap(),
    );
    let today = ChargeDate::parse("2026-12-20").unwrap();
    assert_eq!(sub.due(today), None, "not due yet");
    let early = sub.due_early().unwrap();
    assert_eq!(early.scheduled_on, ChargeDate::parse("2027-01-10").unwrap());
    assert_eq!(early.attempt, 0);
    let paid = sub
        .apply(
            &Event::ChargeSucceeded {
                scheduled_on: early.scheduled_on,
                on: today,
            },
            &RetrySchedule::default(),
        )
        .unwrap()
        .subscription;
    assert_eq!(
        paid.next_charge_on,
        ChargeDate::parse("2027-02-10").unwrap()
    );
    let paused = sub
        .apply(&Event::Pause, &RetrySchedule::default())
        .unwrap()
        .subscription;
    assert_eq!(paused.due_early(), None);
}
