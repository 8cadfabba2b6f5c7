//! Plans of `kessai_core::operations`, one by one, and the JST calendar boundaries of the cancel
//! classification and the authorisation expiry (explicit instants; 15:00 UTC = 00:00 JST).

use kessai_core::amazon::status::{ChargeCanceledReason, ChargeState};
use kessai_core::gmo::status::{JobCd, TranStatus};
use kessai_core::jst::{JstDateTime, UnixMillis};
use kessai_core::money::Jpy;
use kessai_core::operations::{
    AuthorizationExpiry, GatewayCall, Operation, OperationKind, PaymentMethod, PaymentSnapshot,
    Refusal, plan, state_from_amazon_charge,
};
use kessai_core::payment::PaymentState;

fn yen(n: i64) -> Jpy {
    Jpy::from_stored(n)
}

fn jst(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> UnixMillis {
    JstDateTime {
        year: y,
        month: mo,
        day: d,
        hour: h,
        minute: mi,
        second: s,
    }
    .to_unix()
}

/// The same wall-clock reading taken as UTC.
fn utc(y: i32, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> UnixMillis {
    UnixMillis(jst(y, mo, d, h, mi, s).0 + 9 * 3_600_000)
}

fn card(state: PaymentState, status: TranStatus, amount: i64, at: UnixMillis) -> PaymentSnapshot {
    let captured = match state {
        PaymentState::Captured => amount,
        _ => 0,
    };
    PaymentSnapshot {
        method: PaymentMethod::Card,
        state,
        amount: yen(amount),
        authorized_amount: yen(amount),
        captured: yen(captured),
        refunded: yen(0),
        authorized_at: Some(at),
        first_authorized_at: Some(at),
        last_transaction_at: Some(at),
        gmo_status: Some(status),
        recurring_permission: false,
    }
}

fn card_auth(amount: i64, at: UnixMillis) -> PaymentSnapshot {
    card(PaymentState::Authorized, TranStatus::Auth, amount, at)
}

fn card_sales(amount: i64, at: UnixMillis) -> PaymentSnapshot {
    card(PaymentState::Captured, TranStatus::Sales, amount, at)
}

fn amazon(
    state: PaymentState,
    amount: i64,
    authorized: i64,
    captured: i64,
    refunded: i64,
    at: UnixMillis,
) -> PaymentSnapshot {
    PaymentSnapshot {
        method: PaymentMethod::AmazonPay,
        state,
        amount: yen(amount),
        authorized_amount: yen(authorized),
        captured: yen(captured),
        refunded: yen(refunded),
        authorized_at: Some(at),
        first_authorized_at: Some(at),
        last_transaction_at: None,
        gmo_status: None,
        recurring_permission: false,
    }
}

fn calls(p: &kessai_core::operations::Plan) -> Vec<GatewayCall> {
    p.steps.iter().map(|s| s.call).collect()
}

fn refusal(op: Operation, s: &PaymentSnapshot, now: UnixMillis) -> Refusal {
    plan(op, s, now).expect_err("refused")
}

const CAPTURE: Operation = Operation::Capture { amount: None };

// ---------------------------------------------------------------------------------------------
// Card

#[test]
fn card_capture_is_alter_tran_sales_of_the_authorised_amount() {
    let at = jst(2026, 3, 10, 12, 0, 0);
    let s = card_auth(5_000, at);
    let p = plan(CAPTURE, &s, at.plus_days(3)).unwrap();
    assert_eq!(
        calls(&p),
        vec![GatewayCall::GmoAlterTran {
            job: JobCd::Sales,
            amount: Some(yen(5_000))
        }]
    );
    assert_eq!(p.outcome.state, PaymentState::Captured);
    assert_eq!(p.outcome.gmo_status, Some(TranStatus::Sales));
    assert_eq!(p.outcome.captured, yen(5_000));
    assert_eq!(p.steps[0].on_failure.state, PaymentState::Authorized);
    assert!(!p.stays_on_statement);
    assert_eq!(p.cancel_job, None);
    let after = p.apply(&s, at.plus_days(3));
    assert_eq!(after.state, PaymentState::Captured);
    assert_eq!(after.last_transaction_at, Some(at.plus_days(3)));
    assert_eq!(
        after.authorized_at,
        Some(at),
        "SALES does not restart the window"
    );
    // Explicit amount equal to the authorisation is the same plan; any other is refused.
    let same = plan(
        Operation::Capture {
            amount: Some(yen(5_000)),
        },
        &s,
        at,
    )
    .unwrap();
    assert_eq!(calls(&same), calls(&p));
    let r = refusal(
        Operation::Capture {
            amount: Some(yen(4_000)),
        },
        &s,
        at,
    );
    assert_eq!(r.code(), "capture_amount_mismatch");
    assert!(r.message_ja().contains("先に金額変更"));
}

#[test]
fn card_capture_twice_is_refused() {
    let at = jst(2026, 3, 10, 12, 0, 0);
    let r = refusal(CAPTURE, &card_sales(5_000, at), at);
    assert_eq!(r, Refusal::AlreadyCaptured);
    assert_eq!(r.code(), "already_captured");
}

#[test]
fn card_change_from_authorized_is_change_tran() {
    let at = jst(2026, 3, 10, 12, 0, 0);
    let s = card_auth(5_000, at);
    let now = at.plus_days(10);
    let p = plan(Operation::ChangeAmount { to: yen(4_200) }, &s, now).unwrap();
    assert_eq!(
        calls(&p),
        vec![GatewayCall::GmoChangeTran {
            job: JobCd::Auth,
            amount: yen(4_200)
        }]
    );
    assert_eq!(p.outcome.state, PaymentState::Authorized);
    assert_eq!(p.outcome.amount, yen(4_200));
    assert_eq!(p.outcome.authorized_amount, yen(4_200));
    assert_eq!(p.steps[0].on_failure.amount, yen(5_000));
    // [U] ChangeTran restarts the 60-day window (as the sandbox assumes).
    assert_eq!(p.apply(&s, now).authorized_at, Some(now));
    // Increases go through ChangeTran too (the issuer decides).
    let up = plan(Operation::ChangeAmount { to: yen(9_000) }, &s, now).unwrap();
    assert_eq!(up.steps.len(), 1);
    // Unchanged: nothing to do.
    let same = plan(Operation::ChangeAmount { to: yen(5_000) }, &s, now).unwrap();
    assert!(same.is_local());
    assert_eq!(same.outcome, same.start);
    // Not a chargeable amount.
    for bad in [0, -1, 10_000_000] {
        let r = refusal(Operation::ChangeAmount { to: yen(bad) }, &s, now);
        assert_eq!(r.code(), "invalid_amount", "{bad}");
    }
}

#[test]
fn card_change_from_captured_cancels_and_reauthorises_into_capture() {
    let at = jst(2026, 3, 10, 12, 0, 0);
    let s = card_sales(5_000, at);
    // Same JST day: VOID then CAPTURE(new).
    let now = jst(2026, 3, 10, 18, 0, 0);
    let p = plan(Operation::ChangeAmount { to: yen(3_000) }, &s, now).unwrap();
    assert_eq!(
        calls(&p),
        vec![
            GatewayCall::GmoAlterTran {
                job: JobCd::Void,
                amount: None
            },
            GatewayCall::GmoAlterTran {
                job: JobCd::Capture,
                amount: Some(yen(3_000))
            },
        ]
    );
    assert_eq!(p.cancel_job, Some(JobCd::Void));
    assert!(p.stays_on_statement);
    // If the cancel fails, still 実売上 for the old amount; if the re-authorisation fails, 取消.
    assert_eq!(p.steps[0].on_failure.state, PaymentState::Captured);
    assert_eq!(p.steps[0].on_failure.amount, yen(5_000));
    assert_eq!(p.steps[0].on_success.state, PaymentState::Voided);
    assert_eq!(p.steps[1].on_failure.state, PaymentState::Voided);
    assert_eq!(p.steps[1].on_failure.captured, yen(0));
    assert_eq!(p.outcome.state, PaymentState::Captured);
    assert_eq!(p.outcome.gmo_status, Some(TranStatus::Capture));
    assert_eq!(p.outcome.amount, yen(3_000));
    assert_eq!(p.outcome.captured, yen(3_000));
    let failed = p.apply_failed_at(1, &s, now).unwrap();
    assert_eq!(failed.state, PaymentState::Voided);
    assert_eq!(failed.gmo_status, Some(TranStatus::Void));
    assert_eq!(failed.last_transaction_at, Some(now));
    assert_eq!(p.apply_failed_at(2, &s, now), None);
    // A later month: RETURNX first.
    let later = plan(
        Operation::ChangeAmount { to: yen(6_000) },
        &s,
        jst(2026, 4, 2, 9, 0, 0),
    )
    .unwrap();
    assert_eq!(later.cancel_job, Some(JobCd::Returnx));
    assert_eq!(
        later.steps[1].on_failure.state,
        PaymentState::ReturnedNextMonth
    );
    // From 即時売上 (CAPTURE) the same way; unchanged is a no-op.
    let s2 = card(PaymentState::Captured, TranStatus::Capture, 5_000, at);
    let p2 = plan(
        Operation::ChangeAmount { to: yen(4_000) },
        &s2,
        jst(2026, 3, 20, 0, 0, 0),
    )
    .unwrap();
    assert_eq!(p2.cancel_job, Some(JobCd::Return));
    assert!(
        plan(Operation::ChangeAmount { to: yen(5_000) }, &s2, at)
            .unwrap()
            .is_local()
    );
}

#[test]
fn card_cancel_classification_at_jst_day_boundaries() {
    // Last transaction 2026-03-10 23:59:59 JST = 14:59:59 UTC.
    let last = jst(2026, 3, 10, 23, 59, 59);
    assert_eq!(last, utc(2026, 3, 10, 14, 59, 59));
    let sales = card_sales(5_000, last);
    let auth = card_auth(5_000, last);
    let cancel = |s: &PaymentSnapshot, now| plan(Operation::Cancel, s, now).unwrap();

    // Same second: 取消.
    let p = cancel(&sales, last);
    assert_eq!(p.cancel_job, Some(JobCd::Void));
    assert_eq!(p.outcome.state, PaymentState::Voided);
    assert!(p.stays_on_statement, "cancel after capture warns");
    let p = cancel(&auth, last);
    assert_eq!(p.cancel_job, Some(JobCd::Void));
    assert!(
        !p.stays_on_statement,
        "an authorisation never reached a statement"
    );

    // One second later it is 00:00:00 JST on the 11th (15:00:00 UTC on the 10th): 返品.
    let midnight = utc(2026, 3, 10, 15, 0, 0);
    assert_eq!(midnight, jst(2026, 3, 11, 0, 0, 0));
    let p = cancel(&sales, midnight);
    assert_eq!(p.cancel_job, Some(JobCd::Return));
    assert_eq!(p.outcome.state, PaymentState::Returned);
    assert_eq!(
        calls(&p),
        vec![GatewayCall::GmoAlterTran {
            job: JobCd::Return,
            amount: None
        }]
    );
    assert_eq!(cancel(&auth, midnight).cancel_job, Some(JobCd::Return));
}

#[test]
fn card_cancel_classification_at_month_ends() {
    let cases: [(UnixMillis, UnixMillis, JobCd, JobCd); 5] = [
        // Jan 31 → Feb 1.
        (
            jst(2026, 1, 31, 23, 59, 59),
            jst(2026, 2, 1, 0, 0, 0),
            JobCd::Returnx,
            JobCd::Return,
        ),
        // Leap year 2028: Feb 28 → Feb 29 is the same month.
        (
            jst(2028, 2, 28, 23, 59, 59),
            jst(2028, 2, 29, 0, 0, 0),
            JobCd::Return,
            JobCd::Return,
        ),
        // Feb 29 → Mar 1.
        (
            jst(2028, 2, 29, 23, 59, 59),
            jst(2028, 3, 1, 0, 0, 0),
            JobCd::Returnx,
            JobCd::Return,
        ),
        // Dec 31 → Jan 1.
        (
            jst(2026, 12, 31, 23, 59, 59),
            jst(2027, 1, 1, 0, 0, 0),
            JobCd::Returnx,
            JobCd::Return,
        ),
        // Last second of a month is still that month.
        (
            jst(2026, 1, 1, 0, 0, 0),
            jst(2026, 1, 31, 23, 59, 59),
            JobCd::Return,
            JobCd::Return,
        ),
    ];
    for (last, now, sales_job, auth_job) in cases {
        let p = plan(Operation::Cancel, &card_sales(1_000, last), now).unwrap();
        assert_eq!(
            p.cancel_job,
            Some(sales_job),
            "{} → {}",
            last.to_jst(),
            now.to_jst()
        );
        let p = plan(Operation::Cancel, &card_auth(1_000, last), now).unwrap();
        assert_eq!(
            p.cancel_job,
            Some(auth_job),
            "{} → {}",
            last.to_jst(),
            now.to_jst()
        );
        // One second earlier than the boundary the day is still the same: VOID.
        if now.0 - last.0 == 1000 {
            let p = plan(Operation::Cancel, &card_sales(1_000, last), last).unwrap();
            assert_eq!(p.cancel_job, Some(JobCd::Void));
        }
    }
    // The expected labels.
    let p = plan(
        Operation::Cancel,
        &card_sales(1_000, jst(2026, 1, 31, 23, 59, 59)),
        jst(2026, 2, 1, 0, 0, 0),
    )
    .unwrap();
    assert_eq!(p.outcome.state.label_ja(), "月跨返品");
}

#[test]
fn card_cancel_uses_the_last_transaction_date_not_the_authorisation() {
    // Authorised in January, captured on Feb 3: a cancel on Feb 3 is 取消, on Feb 4 返品.
    let mut s = card_sales(2_000, jst(2026, 1, 20, 10, 0, 0));
    s.last_transaction_at = Some(jst(2026, 2, 3, 10, 0, 0));
    let p = plan(Operation::Cancel, &s, jst(2026, 2, 3, 23, 0, 0)).unwrap();
    assert_eq!(p.cancel_job, Some(JobCd::Void));
    let p = plan(Operation::Cancel, &s, jst(2026, 2, 4, 0, 0, 0)).unwrap();
    assert_eq!(p.cancel_job, Some(JobCd::Return));
    s.last_transaction_at = None;
    assert_eq!(
        refusal(Operation::Cancel, &s, jst(2026, 2, 4, 0, 0, 0)).code(),
        "missing_gateway_record"
    );
}

#[test]
fn card_changes_end_after_180_days() {
    let at = jst(2026, 1, 10, 12, 0, 0);
    let s = card_sales(1_000, at);
    // Day 180 (whole days since the first authorisation): still accepted.
    let ok = UnixMillis(at.plus_days(181).0 - 1);
    assert_eq!(
        plan(Operation::Cancel, &s, ok).unwrap().cancel_job,
        Some(JobCd::Returnx)
    );
    let r = refusal(Operation::Cancel, &s, at.plus_days(181));
    assert_eq!(r, Refusal::ChangeLimitExceeded);
    assert!(r.message_ja().contains("180日"));
    assert_eq!(
        refusal(
            Operation::ChangeAmount { to: yen(500) },
            &s,
            at.plus_days(200)
        )
        .code(),
        "change_limit_exceeded"
    );
}

#[test]
fn card_capture_expires_after_60_days() {
    let at = jst(2026, 1, 10, 12, 0, 0);
    let s = card_auth(1_000, at);
    // Day 60, one second before the hour of authorisation: still capturable.
    let last_ok = jst(2026, 3, 11, 11, 59, 59);
    assert_eq!(at.plus_days(60), jst(2026, 3, 11, 12, 0, 0));
    assert!(plan(CAPTURE, &s, last_ok).is_ok());
    let r = refusal(CAPTURE, &s, jst(2026, 3, 11, 12, 0, 0));
    assert_eq!(r.code(), "authorization_expired");
    assert_eq!(
        r.message_ja(),
        "仮売上の有効期限(60日)を過ぎているため売上確定できません。再オーソリが必要です。"
    );
    assert!(r.message_en().contains("60-day card authorization expired"));
    // Day 61.
    assert_eq!(
        refusal(CAPTURE, &s, jst(2026, 3, 12, 0, 0, 0)).code(),
        "authorization_expired"
    );
    // Amount changes need a live authorisation too; a cancel does not.
    let r = refusal(
        Operation::ChangeAmount { to: yen(900) },
        &s,
        jst(2026, 3, 12, 0, 0, 0),
    );
    assert!(r.message_ja().contains("金額変更できません"));
    let p = plan(Operation::Cancel, &s, jst(2026, 3, 12, 0, 0, 0)).unwrap();
    assert_eq!(p.cancel_job, Some(JobCd::Return));
}

#[test]
fn card_expired_state_can_only_be_cancelled() {
    let at = jst(2026, 1, 10, 12, 0, 0);
    let s = card(PaymentState::Expired, TranStatus::Auth, 1_000, at);
    let now = at.plus_days(70);
    assert_eq!(refusal(CAPTURE, &s, now).code(), "authorization_expired");
    assert_eq!(
        refusal(Operation::Refund { amount: yen(1) }, &s, now).code(),
        "card_refund_use_cancel"
    );
    let p = plan(Operation::Cancel, &s, now).unwrap();
    assert_eq!(p.outcome.state, PaymentState::Returned);
    assert_eq!(p.steps[0].on_failure.state, PaymentState::Expired);
}

#[test]
fn card_refund_is_refused_in_favour_of_cancel() {
    let at = jst(2026, 1, 10, 12, 0, 0);
    for s in [card_auth(1_000, at), card_sales(1_000, at)] {
        let r = refusal(Operation::Refund { amount: yen(500) }, &s, at);
        assert_eq!(r, Refusal::CardRefundUnsupported);
        assert!(r.message_ja().contains("取消"));
    }
}

#[test]
fn card_drift_between_kessai_and_gmo_is_refused() {
    let at = jst(2026, 1, 10, 12, 0, 0);
    // Captured in GMO's own console while kessai still says 仮売上.
    let s = card(PaymentState::Authorized, TranStatus::Sales, 1_000, at);
    for op in [
        CAPTURE,
        Operation::Cancel,
        Operation::ChangeAmount { to: yen(10) },
    ] {
        let r = refusal(op, &s, at);
        assert_eq!(
            r,
            Refusal::GatewayStateMismatch {
                state: PaymentState::Authorized,
                gmo_status: TranStatus::Sales
            }
        );
        assert!(r.message_ja().contains("照会"));
    }
    let s = card(PaymentState::Captured, TranStatus::Void, 1_000, at);
    assert_eq!(
        refusal(Operation::Cancel, &s, at).code(),
        "gateway_state_mismatch"
    );
    let mut s = card_auth(1_000, at);
    s.gmo_status = None;
    assert_eq!(refusal(CAPTURE, &s, at).code(), "missing_gateway_record");
}

#[test]
fn card_sauth_from_an_earlier_month_has_no_cancel_at_gmo() {
    // GMO's rule says RETURNX after the month, and SAUTH does not allow RETURNX.
    let at = jst(2026, 1, 10, 12, 0, 0);
    let s = card(PaymentState::Authorized, TranStatus::Sauth, 1_000, at);
    assert_eq!(
        refusal(Operation::Cancel, &s, jst(2026, 2, 2, 0, 0, 0)),
        Refusal::GatewayWouldRefuse {
            err_info: "E01050004"
        }
    );
    assert_eq!(
        plan(Operation::Cancel, &s, at).unwrap().cancel_job,
        Some(JobCd::Void)
    );
}

// ---------------------------------------------------------------------------------------------
// Both methods

#[test]
fn unknown_and_processing_payments_are_refused_until_reconciled() {
    let at = jst(2026, 1, 10, 12, 0, 0);
    let ops = [
        CAPTURE,
        Operation::ChangeAmount { to: yen(10) },
        Operation::Cancel,
        Operation::Refund { amount: yen(10) },
    ];
    for mut s in [
        card_auth(1_000, at),
        amazon(PaymentState::Authorized, 1_000, 1_000, 0, 0, at),
    ] {
        for op in ops {
            s.state = PaymentState::Unknown;
            let r = refusal(op, &s, at);
            assert_eq!(r, Refusal::OutcomeUnknown);
            assert_eq!(
                r.message_ja(),
                "結果不明の決済です。先に照会(リコンサイル)してください。"
            );
            assert_eq!(r.code(), "outcome_unknown");
            s.state = PaymentState::Processing;
            assert_eq!(refusal(op, &s, at).code(), "operation_in_progress");
            s.state = PaymentState::RequiresPayment;
            assert_eq!(refusal(op, &s, at).code(), "payment_not_authorized");
        }
    }
}

#[test]
fn finished_payments_are_refused() {
    let at = jst(2026, 1, 10, 12, 0, 0);
    let finished = [
        PaymentState::Voided,
        PaymentState::Returned,
        PaymentState::ReturnedNextMonth,
        PaymentState::Refunded,
        PaymentState::Declined,
        PaymentState::Unpaid,
    ];
    for state in finished {
        let mut c = card_auth(1_000, at);
        c.state = state;
        let mut a = amazon(state, 1_000, 1_000, 1_000, 1_000, at);
        a.state = state;
        for s in [c, a] {
            let r = refusal(Operation::Cancel, &s, at);
            assert_eq!(r, Refusal::Closed { state });
            assert!(r.message_ja().contains(state.label_ja()));
        }
    }
}

#[test]
fn refusal_messages_are_ja_and_en() {
    let at = jst(2026, 1, 10, 12, 0, 0);
    let all = [
        Refusal::OutcomeUnknown,
        Refusal::InProgress,
        Refusal::NotAuthorized {
            state: PaymentState::RequiresPayment,
        },
        Refusal::Closed {
            state: PaymentState::Voided,
        },
        Refusal::AlreadyCaptured,
        Refusal::AuthorizationExpired {
            method: PaymentMethod::Card,
            operation: OperationKind::Capture,
            expired_at: at,
        },
        Refusal::AuthorizationExpired {
            method: PaymentMethod::AmazonPay,
            operation: OperationKind::Capture,
            expired_at: at,
        },
        Refusal::ChangeLimitExceeded,
        Refusal::CaptureAmountMismatch {
            authorized: yen(2),
            requested: yen(1),
        },
        Refusal::InvalidAmount(kessai_core::money::AmountError::NotPositive),
        Refusal::CancelAfterCaptureUseRefund,
        Refusal::RefundBeforeCapture,
        Refusal::CardRefundUnsupported,
        Refusal::GatewayStateMismatch {
            state: PaymentState::Authorized,
            gmo_status: TranStatus::Void,
        },
        Refusal::MissingGatewayRecord { what: "x" },
        Refusal::GatewayWouldRefuse {
            err_info: "E01050004",
        },
    ];
    let mut codes = std::collections::HashSet::new();
    for r in &all {
        assert!(r.message_en().is_ascii(), "{r:?}");
        assert!(r.message_ja().ends_with('。'), "{r:?}");
        assert!(!r.message_ja().is_ascii(), "{r:?}");
        assert!(
            r.code()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{}",
            r.code()
        );
        codes.insert(r.code());
    }
    // Both expiry variants share a code; everything else is distinct.
    assert_eq!(codes.len(), all.len() - 1);
}

// ---------------------------------------------------------------------------------------------
// Amazon Pay

#[test]
fn amazon_capture_full_and_partial() {
    let at = jst(2026, 5, 1, 10, 0, 0);
    let s = amazon(PaymentState::Authorized, 5_000, 5_000, 0, 0, at);
    let p = plan(CAPTURE, &s, at.plus_days(2)).unwrap();
    assert_eq!(
        calls(&p),
        vec![GatewayCall::AmazonCaptureCharge { amount: yen(5_000) }]
    );
    assert_eq!(p.outcome.state, PaymentState::Captured);
    assert_eq!(p.outcome.captured, yen(5_000));
    assert_eq!(p.steps[0].on_failure.state, PaymentState::Authorized);
    // Partial capture = a decrease.
    let p = plan(
        Operation::Capture {
            amount: Some(yen(3_000)),
        },
        &s,
        at,
    )
    .unwrap();
    assert_eq!(p.outcome.amount, yen(3_000));
    assert_eq!(p.outcome.captured, yen(3_000));
    assert_eq!(p.outcome.authorized_amount, yen(5_000));
    // More than the payment's amount is an increase.
    let r = refusal(
        Operation::Capture {
            amount: Some(yen(5_001)),
        },
        &s,
        at,
    );
    assert_eq!(r.code(), "amount_increase_not_allowed");
    assert!(r.message_ja().contains("別のお支払い方法"));
    // After a recorded decrease to 4,000 the capture is 4,000, and 4,500 is refused although
    // it is within the authorisation.
    let lowered = amazon(PaymentState::Authorized, 4_000, 5_000, 0, 0, at);
    let p = plan(CAPTURE, &lowered, at).unwrap();
    assert_eq!(
        calls(&p),
        vec![GatewayCall::AmazonCaptureCharge { amount: yen(4_000) }]
    );
    assert_eq!(
        refusal(
            Operation::Capture {
                amount: Some(yen(4_500))
            },
            &lowered,
            at
        )
        .code(),
        "amount_increase_not_allowed"
    );
    // Inconsistent record (amount above the authorisation): Amazon's own rule refuses.
    let over = amazon(PaymentState::Authorized, 6_000, 5_000, 0, 0, at);
    assert_eq!(
        refusal(CAPTURE, &over, at).code(),
        "capture_exceeds_authorization"
    );
    assert_eq!(
        refusal(
            CAPTURE,
            &amazon(PaymentState::Captured, 5_000, 5_000, 5_000, 0, at),
            at
        ),
        Refusal::AlreadyCaptured
    );
}

#[test]
fn amazon_decrease_before_capture_is_recorded_only() {
    let at = jst(2026, 5, 1, 10, 0, 0);
    let s = amazon(PaymentState::Authorized, 5_000, 5_000, 0, 0, at);
    let p = plan(Operation::ChangeAmount { to: yen(4_000) }, &s, at).unwrap();
    assert!(p.is_local());
    assert_eq!(p.outcome.amount, yen(4_000));
    assert_eq!(p.outcome.authorized_amount, yen(5_000));
    assert_eq!(p.outcome.state, PaymentState::Authorized);
    let after = p.apply(&s, at);
    assert_eq!(after.amount, yen(4_000));
    assert_eq!(after.authorized_at, Some(at));
    // Increase: refused with the other-payment-method message.
    let r = refusal(Operation::ChangeAmount { to: yen(5_001) }, &s, at);
    assert_eq!(r.code(), "amount_increase_not_allowed");
    assert_eq!(
        r.message_ja(),
        "Amazon Pay では注文後に金額を増額できません（現在 ¥5,000 → 変更後 ¥5,001）。減額のみ可能です。増額分は別のお支払い方法でご請求ください。"
    );
    assert!(r.message_en().contains("another payment method"));
    assert_eq!(
        refusal(Operation::ChangeAmount { to: yen(0) }, &s, at).code(),
        "invalid_amount"
    );
}

#[test]
fn amazon_decrease_after_capture_refunds_the_difference() {
    let at = jst(2026, 5, 1, 10, 0, 0);
    let s = amazon(PaymentState::Captured, 5_000, 5_000, 5_000, 0, at);
    let p = plan(Operation::ChangeAmount { to: yen(3_500) }, &s, at).unwrap();
    assert_eq!(
        calls(&p),
        vec![GatewayCall::AmazonCreateRefund { amount: yen(1_500) }]
    );
    assert_eq!(p.outcome.state, PaymentState::PartiallyRefunded);
    assert_eq!(p.outcome.amount, yen(3_500));
    assert_eq!(p.outcome.refunded, yen(1_500));
    assert_eq!(p.steps[0].on_failure.state, PaymentState::Captured);
    // Then down again from 一部返金.
    let s2 = p.apply(&s, at);
    let p2 = plan(Operation::ChangeAmount { to: yen(3_000) }, &s2, at).unwrap();
    assert_eq!(
        calls(&p2),
        vec![GatewayCall::AmazonCreateRefund { amount: yen(500) }]
    );
    assert_eq!(p2.outcome.refunded, yen(2_000));
    let s3 = p2.apply(&s2, at);
    assert_eq!(
        refusal(Operation::ChangeAmount { to: yen(3_001) }, &s3, at).code(),
        "amount_increase_not_allowed"
    );
}

#[test]
fn amazon_cancel_before_capture_cancels_the_charge_and_closes_the_permission() {
    let at = jst(2026, 5, 1, 10, 0, 0);
    let s = amazon(PaymentState::Authorized, 5_000, 5_000, 0, 0, at);
    let p = plan(Operation::Cancel, &s, at.plus_days(1)).unwrap();
    assert_eq!(
        calls(&p),
        vec![
            GatewayCall::AmazonCancelCharge,
            GatewayCall::AmazonCloseChargePermission {
                cancel_pending_charges: false
            }
        ]
    );
    assert_eq!(p.steps[0].on_failure.state, PaymentState::Authorized);
    assert_eq!(p.steps[0].on_success.state, PaymentState::Voided);
    assert_eq!(p.steps[1].on_failure.state, PaymentState::Voided);
    assert_eq!(p.outcome.state, PaymentState::Voided);
    assert_eq!(p.outcome.state.label_ja(), "取消");
    assert!(!p.stays_on_statement);
}

#[test]
fn amazon_cancel_after_capture_points_to_refund() {
    let at = jst(2026, 5, 1, 10, 0, 0);
    for s in [
        amazon(PaymentState::Captured, 5_000, 5_000, 5_000, 0, at),
        amazon(
            PaymentState::PartiallyRefunded,
            4_000,
            5_000,
            5_000,
            1_000,
            at,
        ),
    ] {
        let r = refusal(Operation::Cancel, &s, at);
        assert_eq!(r, Refusal::CancelAfterCaptureUseRefund);
        assert_eq!(
            r.message_ja(),
            "Amazon Pay の決済は売上確定後に取消できません。返金（全額または一部）を選択してください。"
        );
    }
}

#[test]
fn amazon_refunds_full_and_partial() {
    let at = jst(2026, 5, 1, 10, 0, 0);
    let s = amazon(PaymentState::Captured, 5_000, 5_000, 5_000, 0, at);
    let full = plan(Operation::Refund { amount: yen(5_000) }, &s, at).unwrap();
    assert_eq!(full.outcome.state, PaymentState::Refunded);
    assert_eq!(full.outcome.amount, yen(0));
    let part = plan(Operation::Refund { amount: yen(1_000) }, &s, at).unwrap();
    assert_eq!(part.outcome.state, PaymentState::PartiallyRefunded);
    assert_eq!(part.outcome.amount, yen(4_000));
    // The rest of a partially refunded payment: 返金.
    let s2 = part.apply(&s, at);
    let rest = plan(Operation::Refund { amount: yen(4_000) }, &s2, at).unwrap();
    assert_eq!(rest.outcome.state, PaymentState::Refunded);
    assert_eq!(rest.outcome.refunded, yen(5_000));
    // Up to captured + min(15 %, ¥8,400): 5,750 in all.
    assert!(plan(Operation::Refund { amount: yen(5_750) }, &s, at).is_ok());
    let r = refusal(Operation::Refund { amount: yen(5_751) }, &s, at);
    assert_eq!(r.code(), "refund_exceeds_refundable");
    assert!(r.message_ja().contains("返金可能額"));
    assert_eq!(
        refusal(Operation::Refund { amount: yen(0) }, &s, at).code(),
        "invalid_amount"
    );
    // Before capture.
    let auth = amazon(PaymentState::Authorized, 5_000, 5_000, 0, 0, at);
    assert_eq!(
        refusal(Operation::Refund { amount: yen(1) }, &auth, at),
        Refusal::RefundBeforeCapture
    );
    // Refunded is finished.
    let done = full.apply(&s, at);
    assert_eq!(
        refusal(Operation::Refund { amount: yen(1) }, &done, at).code(),
        "payment_closed"
    );
}

#[test]
fn amazon_authorisation_lasts_30_days() {
    // Authorised 2026-01-31 10:00 JST: expires 2026-03-02 10:00 JST (February has 28 days).
    let at = jst(2026, 1, 31, 10, 0, 0);
    let s = amazon(PaymentState::Authorized, 5_000, 5_000, 0, 0, at);
    assert_eq!(at.plus_days(30), jst(2026, 3, 2, 10, 0, 0));
    // Day 30, one second before: capturable.
    assert!(plan(CAPTURE, &s, jst(2026, 3, 2, 9, 59, 59)).is_ok());
    let r = refusal(CAPTURE, &s, jst(2026, 3, 2, 10, 0, 0));
    assert_eq!(r.code(), "authorization_expired");
    assert!(
        r.message_ja()
            .starts_with("仮売上の有効期限(30日)を過ぎているため売上確定できません。")
    );
    // Day 31.
    assert_eq!(
        refusal(CAPTURE, &s, jst(2026, 3, 3, 0, 0, 0)).code(),
        "authorization_expired"
    );
    // Cancel after expiry: Amazon cancelled the charge; close the permission → 期限切れ.
    let p = plan(Operation::Cancel, &s, jst(2026, 3, 2, 10, 0, 0)).unwrap();
    assert_eq!(
        calls(&p),
        vec![GatewayCall::AmazonCloseChargePermission {
            cancel_pending_charges: true
        }]
    );
    assert_eq!(p.outcome.state, PaymentState::Expired);
    // A payment already marked 期限切れ.
    let mut e = s.clone();
    e.state = PaymentState::Expired;
    assert_eq!(
        refusal(CAPTURE, &e, jst(2026, 3, 3, 0, 0, 0)).code(),
        "authorization_expired"
    );
    assert_eq!(
        refusal(Operation::Cancel, &e, jst(2026, 3, 3, 0, 0, 0)).code(),
        "payment_closed"
    );
}

// ---------------------------------------------------------------------------------------------
// Expiry countdown

#[test]
fn expiry_countdown_in_jst_calendar_days() {
    // Card, authorised 2026-01-01 23:59:59 JST: expires 2026-03-02 23:59:59 JST.
    let at = jst(2026, 1, 1, 23, 59, 59);
    let e = AuthorizationExpiry::new(PaymentMethod::Card, at);
    assert_eq!(e.expires_at(), jst(2026, 3, 2, 23, 59, 59));
    assert_eq!(e.days_left(at), 60);
    // 2026-02-28 23:59:59 JST → 2 days; one second later (15:00 UTC) it is March 1st in Japan → 1.
    assert_eq!(e.days_left(jst(2026, 2, 28, 23, 59, 59)), 2);
    assert_eq!(e.days_left(utc(2026, 2, 28, 15, 0, 0)), 1);
    // The last day: 0, still valid until the second of authorisation.
    assert_eq!(e.days_left(jst(2026, 3, 2, 0, 0, 0)), 0);
    assert!(!e.is_expired(jst(2026, 3, 2, 23, 59, 58)));
    assert!(e.is_expired(jst(2026, 3, 2, 23, 59, 59)));
    assert_eq!(e.days_left(jst(2026, 3, 3, 0, 0, 0)), -1);
    // Near expiry: within 3 days and not expired.
    assert!(!e.near_expiry(jst(2026, 2, 26, 12, 0, 0), 3));
    assert!(e.near_expiry(jst(2026, 2, 27, 0, 0, 0), 3));
    assert!(e.near_expiry(jst(2026, 3, 2, 23, 59, 58), 3));
    assert!(!e.near_expiry(jst(2026, 3, 2, 23, 59, 59), 3));
}

#[test]
fn expiry_across_february_in_a_leap_year() {
    // Card: Jan 31 + 60 days is Mar 31 in 2028 (Feb 29 exists) but Apr 1 in 2027.
    let e = AuthorizationExpiry::new(PaymentMethod::Card, jst(2028, 1, 31, 12, 0, 0));
    assert_eq!(e.expires_at(), jst(2028, 3, 31, 12, 0, 0));
    let e = AuthorizationExpiry::new(PaymentMethod::Card, jst(2027, 1, 31, 12, 0, 0));
    assert_eq!(e.expires_at(), jst(2027, 4, 1, 12, 0, 0));
    // Amazon: Feb 1 00:00 JST + 30 days = Mar 2 in 2028, Mar 3 in 2027.
    let e = AuthorizationExpiry::new(PaymentMethod::AmazonPay, jst(2028, 2, 1, 0, 0, 0));
    assert_eq!(e.expires_at(), jst(2028, 3, 2, 0, 0, 0));
    assert_eq!(e.days_left(jst(2028, 2, 29, 23, 59, 59)), 2);
    let e = AuthorizationExpiry::new(PaymentMethod::AmazonPay, jst(2027, 2, 1, 0, 0, 0));
    assert_eq!(e.expires_at(), jst(2027, 3, 3, 0, 0, 0));
    // Dec 31 → Jan: days_left counts across the year.
    let e = AuthorizationExpiry::new(PaymentMethod::AmazonPay, jst(2026, 12, 31, 23, 0, 0));
    assert_eq!(e.expires_at(), jst(2027, 1, 30, 23, 0, 0));
    assert_eq!(e.days_left(jst(2027, 1, 1, 0, 0, 0)), 29);
    assert_eq!(e.days_left(jst(2026, 12, 31, 23, 59, 59)), 30);
}

#[test]
fn amazon_expiry_agrees_with_the_amazon_rules() {
    let at = jst(2026, 7, 7, 7, 7, 7);
    let e = AuthorizationExpiry::new(PaymentMethod::AmazonPay, at);
    assert_eq!(
        e.expires_at(),
        kessai_core::amazon::rules::authorization_expiry(at)
    );
    for d in [-1, 0, 1] {
        let now = UnixMillis(e.expires_at().0 + d);
        assert_eq!(
            e.is_expired(now),
            kessai_core::amazon::rules::authorization_expired(at, now)
        );
    }
}

#[test]
fn names() {
    assert_eq!(
        PaymentMethod::parse("amazon_pay"),
        Some(PaymentMethod::AmazonPay)
    );
    assert_eq!(
        PaymentMethod::parse(PaymentMethod::Card.as_str()),
        Some(PaymentMethod::Card)
    );
    assert_eq!(PaymentMethod::parse("paypay"), None);
    assert_eq!(OperationKind::Capture.label_ja(), "売上確定");
    let op: Operation = serde_json::from_str(r#"{"operation":"change_amount","to":1200}"#).unwrap();
    assert_eq!(op, Operation::ChangeAmount { to: yen(1_200) });
    assert_eq!(
        serde_json::to_string(&Operation::Cancel).unwrap(),
        r#"{"operation":"cancel"}"#
    );
    assert_eq!(
        GatewayCall::GmoAlterTran {
            job: JobCd::Sales,
            amount: Some(yen(100))
        }
        .describe(),
        "GMO AlterTran SALES 100"
    );
}

#[test]
fn capture_deadline_only_for_authorised_payments() {
    let at = jst(2026, 4, 1, 9, 0, 0);
    let s = card_auth(1_000, at);
    let d = s.capture_deadline().unwrap();
    assert_eq!(d.expires_at(), jst(2026, 5, 31, 9, 0, 0));
    assert_eq!(d.days_left(jst(2026, 5, 28, 23, 0, 0)), 3);
    assert!(d.near_expiry(jst(2026, 5, 28, 23, 0, 0), 3));
    let a = amazon(PaymentState::Authorized, 1_000, 1_000, 0, 0, at);
    assert_eq!(
        a.capture_deadline().unwrap().expires_at(),
        jst(2026, 5, 1, 9, 0, 0)
    );
    for state in PaymentState::ALL {
        if state != PaymentState::Authorized {
            let mut x = s.clone();
            x.state = state;
            assert_eq!(x.capture_deadline(), None, "{state:?}");
        }
    }
    let mut none = s.clone();
    none.authorized_at = None;
    assert_eq!(none.capture_deadline(), None);
    assert_eq!(refusal(CAPTURE, &none, at).code(), "missing_gateway_record");
}

#[test]
fn amazon_charge_states_for_reconciliation() {
    use ChargeState as C;
    let f = state_from_amazon_charge;
    assert_eq!(
        f(C::Authorized, None, yen(0), yen(0)),
        PaymentState::Authorized
    );
    assert_eq!(
        f(C::Captured, None, yen(500), yen(0)),
        PaymentState::Captured
    );
    assert_eq!(
        f(C::Captured, None, yen(500), yen(100)),
        PaymentState::PartiallyRefunded
    );
    assert_eq!(
        f(C::Captured, None, yen(500), yen(500)),
        PaymentState::Refunded
    );
    assert_eq!(
        f(C::Captured, None, yen(500), yen(560)),
        PaymentState::Refunded
    );
    assert_eq!(
        f(
            C::Canceled,
            Some(ChargeCanceledReason::ExpiredUnused),
            yen(0),
            yen(0)
        ),
        PaymentState::Expired
    );
    assert_eq!(
        f(
            C::Canceled,
            Some(ChargeCanceledReason::MerchantCanceled),
            yen(0),
            yen(0)
        ),
        PaymentState::Voided
    );
    assert_eq!(f(C::Canceled, None, yen(0), yen(0)), PaymentState::Voided);
    assert_eq!(f(C::Declined, None, yen(0), yen(0)), PaymentState::Declined);
    assert_eq!(
        f(C::CaptureInitiated, None, yen(0), yen(0)),
        PaymentState::Processing
    );
    assert_eq!(
        f(C::AuthorizationInitiated, None, yen(0), yen(0)),
        PaymentState::Processing
    );
}

#[test]
fn amazon_change_to_zero_after_capture_is_not_a_cancel() {
    let at = jst(2026, 5, 1, 10, 0, 0);
    let s = amazon(PaymentState::Captured, 5_000, 5_000, 5_000, 0, at);
    let r = refusal(Operation::ChangeAmount { to: yen(0) }, &s, at);
    assert_eq!(r.code(), "invalid_amount");
    assert!(!r.message_ja().contains("取消"), "{}", r.message_ja());
}

#[test]
fn cancelling_a_subscription_cycle_on_amazon_keeps_its_recurring_permission_open() {
    let at = jst(2026, 11, 15, 12, 0, 0);
    let mut s = amazon(PaymentState::Authorized, 1_980, 1_980, 0, 0, at);
    s.recurring_permission = true;
    // Within the authorisation: Cancel Charge only, no Close Charge Permission.
    let p = plan(Operation::Cancel, &s, at).unwrap();
    assert_eq!(calls(&p), vec![GatewayCall::AmazonCancelCharge]);
    assert_eq!(p.outcome.state, PaymentState::Voided);
    // Expired: Amazon cancels the charge itself; nothing is called and the permission stays.
    let later = UnixMillis(at.0 + 31 * 86_400_000);
    let p = plan(Operation::Cancel, &s, later).unwrap();
    assert!(calls(&p).is_empty(), "{:?}", calls(&p));
    assert_eq!(p.outcome.state, PaymentState::Expired);
    // A one-time permission is closed as before.
    s.recurring_permission = false;
    let p = plan(Operation::Cancel, &s, at).unwrap();
    assert!(
        calls(&p).contains(&GatewayCall::AmazonCloseChargePermission {
            cancel_pending_charges: false
        })
    );
}
