//! State-machine property tests of `kessai_core::operations`: random sequences of operations
//! (with time moving on, across JST midnights and the expiry windows) on random payments. Every
//! planned step is run against a model of the gateway built from core's own rules
//! (`gmo::status::{alter, change, cancel_job}` plus the sandbox's amount/expiry/180-day checks;
//! `amazon::status` transitions plus `amazon::rules`). The properties:
//! - no planned step is one the gateway would refuse;
//! - after every plan (and after a plan stopped by a step the gateway refuses) kessai's record
//!   equals what the gateway model says;
//! - refusals leave everything as it was, and kessai does not refuse what the gateway accepts
//!   (capture, cancel) inside the windows.

use kessai_core::amazon::rules;
use kessai_core::amazon::status::{ChargeCanceledReason, ChargePermissionState, ChargeState};
use kessai_core::gmo::status::{self, CHANGE_LIMIT_DAYS, JobCd, TranStatus};
use kessai_core::jst::{JstDateTime, UnixMillis};
use kessai_core::money::Jpy;
use kessai_core::operations::{
    CARD_AUTHORIZATION_VALID_DAYS, GatewayCall, Operation, PaymentMethod, PaymentSnapshot, Plan,
    Record, Refusal, plan, state_from_amazon_charge,
};
use kessai_core::payment::{PaymentState, state_from_gmo};
use proptest::prelude::*;

const DAY: i64 = 86_400_000;

fn yen(n: i64) -> Jpy {
    Jpy::from_stored(n)
}

// ---------------------------------------------------------------------------------------------
// Gateway models

/// GMO's view of one transaction, with the checks the sandbox applies.
#[derive(Debug, Clone, PartialEq, Eq)]
struct GmoTrade {
    status: TranStatus,
    amount: Jpy,
    auth_at: UnixMillis,
    executed_at: UnixMillis,
    last_tran_at: UnixMillis,
}

impl GmoTrade {
    fn apply(&mut self, call: GatewayCall, now: UnixMillis) -> Result<(), String> {
        if (now.0 - self.executed_at.0).div_euclid(DAY) > CHANGE_LIMIT_DAYS {
            return Err("E11010010".into());
        }
        match call {
            GatewayCall::GmoAlterTran { job, amount } => {
                let next = status::alter(self.status, job).map_err(|r| r.0.to_string())?;
                match job {
                    JobCd::Sales => {
                        if amount != Some(self.amount) {
                            return Err("E01060010".into());
                        }
                        if now.0 > self.auth_at.plus_days(CARD_AUTHORIZATION_VALID_DAYS).0 {
                            return Err("E01420010".into());
                        }
                    }
                    JobCd::Void | JobCd::Return | JobCd::Returnx => {
                        let expected = status::cancel_job(
                            self.status,
                            &self.last_tran_at.to_jst(),
                            &now.to_jst(),
                        );
                        if job != expected {
                            return Err(format!("E01050004 (expected {})", expected.as_str()));
                        }
                    }
                    JobCd::Auth | JobCd::Capture | JobCd::Sauth => {
                        let Some(a) = amount else {
                            return Err("re-authorisation without Amount".into());
                        };
                        self.amount = a;
                        self.auth_at = now;
                    }
                    JobCd::Check => return Err("CHECK is no AlterTran job".into()),
                }
                self.status = next;
                self.last_tran_at = now;
                Ok(())
            }
            GatewayCall::GmoChangeTran { job, amount } => {
                let next = status::change(self.status, job).map_err(|r| r.0.to_string())?;
                self.amount = amount;
                if matches!(next, TranStatus::Auth | TranStatus::Sauth) {
                    self.auth_at = now;
                }
                self.status = next;
                self.last_tran_at = now;
                Ok(())
            }
            GatewayCall::AmazonCaptureCharge { .. }
            | GatewayCall::AmazonCancelCharge
            | GatewayCall::AmazonCloseChargePermission { .. }
            | GatewayCall::AmazonCreateRefund { .. } => Err(format!("{call:?} sent to GMO")),
        }
    }
}

/// Amazon's view of one OneTime charge permission with its single charge.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AmazonCharge {
    state: ChargeState,
    expired_unused: bool,
    charge_amount: Jpy,
    capture_amount: Option<Jpy>,
    refunded: Jpy,
    created_at: UnixMillis,
    permission: ChargePermissionState,
}

impl AmazonCharge {
    fn move_to(&mut self, next: ChargeState) -> Result<(), String> {
        if !self.state.can_transition_to(next) {
            return Err(format!("no transition {} → {}", self.state, next));
        }
        self.state = next;
        Ok(())
    }

    /// Amazon's own clock: an unused authorisation is cancelled after 30 days.
    fn tick(&mut self, now: UnixMillis) {
        if self.state == ChargeState::Authorized
            && rules::authorization_expired(self.created_at, now)
        {
            self.state = ChargeState::Canceled;
            self.expired_unused = true;
        }
    }

    fn apply(&mut self, call: GatewayCall, now: UnixMillis) -> Result<(), String> {
        self.tick(now);
        match call {
            GatewayCall::AmazonCaptureCharge { amount } => {
                if !self.state.capturable() {
                    return Err(format!("InvalidChargeStatus ({})", self.state));
                }
                rules::check_capture(self.charge_amount, amount).map_err(|e| e.message_en())?;
                self.move_to(ChargeState::Captured)?;
                self.capture_amount = Some(amount);
                Ok(())
            }
            GatewayCall::AmazonCancelCharge => {
                if !self.state.cancelable() {
                    return Err(format!("InvalidChargeStatus ({})", self.state));
                }
                self.move_to(ChargeState::Canceled)
            }
            GatewayCall::AmazonCloseChargePermission {
                cancel_pending_charges,
            } => {
                if !self.permission.closable() {
                    return Err("InvalidChargePermissionStatus".into());
                }
                self.permission = ChargePermissionState::Closed;
                if cancel_pending_charges && self.state.cancelable() {
                    self.move_to(ChargeState::Canceled)?;
                }
                Ok(())
            }
            GatewayCall::AmazonCreateRefund { amount } => {
                if !self.state.refundable() {
                    return Err(format!("InvalidChargeStatus ({})", self.state));
                }
                let captured = self.capture_amount.unwrap_or(yen(0));
                rules::check_refund(captured, self.refunded, amount).map_err(|e| e.message_en())?;
                self.refunded = yen(self.refunded.yen() + amount.yen());
                Ok(())
            }
            GatewayCall::GmoAlterTran { .. } | GatewayCall::GmoChangeTran { .. } => {
                Err(format!("{call:?} sent to Amazon"))
            }
        }
    }

    /// The kessai state this charge stands for.
    fn payment_state(&self) -> PaymentState {
        match self.state {
            ChargeState::Authorized => PaymentState::Authorized,
            ChargeState::Captured => {
                let captured = self.capture_amount.unwrap_or(yen(0));
                if self.refunded.yen() == 0 {
                    PaymentState::Captured
                } else if self.refunded < captured {
                    PaymentState::PartiallyRefunded
                } else {
                    PaymentState::Refunded
                }
            }
            ChargeState::Canceled if self.expired_unused => PaymentState::Expired,
            ChargeState::Canceled => PaymentState::Voided,
            ChargeState::Declined => PaymentState::Declined,
            ChargeState::AuthorizationInitiated | ChargeState::CaptureInitiated => {
                PaymentState::Processing
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Gateway {
    Gmo(GmoTrade),
    Amazon(AmazonCharge),
}

impl Gateway {
    fn apply(&mut self, call: GatewayCall, now: UnixMillis) -> Result<(), String> {
        match self {
            Gateway::Gmo(t) => t.apply(call, now),
            Gateway::Amazon(c) => c.apply(call, now),
        }
    }
}

/// kessai's record agrees with the gateway.
fn assert_agree(s: &PaymentSnapshot, g: &Gateway) -> Result<(), TestCaseError> {
    match g {
        Gateway::Gmo(t) => {
            let expected = match (s.state, t.status) {
                // 期限切れ is kessai's word for an AUTH past its window: GMO still says AUTH.
                (PaymentState::Expired, TranStatus::Auth | TranStatus::Sauth) => {
                    PaymentState::Expired
                }
                _ => state_from_gmo(t.status),
            };
            prop_assert_eq!(s.state, expected, "state vs GMO {:?}", t);
            prop_assert_eq!(s.gmo_status, Some(t.status));
            prop_assert_eq!(s.amount, t.amount);
            prop_assert_eq!(s.authorized_amount, t.amount);
            prop_assert_eq!(s.authorized_at, Some(t.auth_at));
            prop_assert_eq!(s.last_transaction_at, Some(t.last_tran_at));
            let captured = match t.status {
                TranStatus::Sales | TranStatus::Capture => t.amount,
                _ => yen(0),
            };
            prop_assert_eq!(s.captured, captured);
        }
        Gateway::Amazon(c) => {
            prop_assert_eq!(s.state, c.payment_state(), "state vs Amazon {:?}", c);
            // core's reconciliation mapping says the same as this model.
            let reason = match c.state {
                ChargeState::Canceled if c.expired_unused => {
                    Some(ChargeCanceledReason::ExpiredUnused)
                }
                ChargeState::Canceled => Some(ChargeCanceledReason::MerchantCanceled),
                _ => None,
            };
            prop_assert_eq!(
                state_from_amazon_charge(
                    c.state,
                    reason,
                    c.capture_amount.unwrap_or(yen(0)),
                    c.refunded
                ),
                c.payment_state()
            );
            prop_assert_eq!(s.authorized_amount, c.charge_amount);
            prop_assert_eq!(s.captured, c.capture_amount.unwrap_or(yen(0)));
            prop_assert_eq!(s.refunded, c.refunded);
            match c.state {
                ChargeState::Authorized => prop_assert!(s.amount <= c.charge_amount),
                ChargeState::Captured => {
                    let captured = c.capture_amount.unwrap_or(yen(0)).yen();
                    prop_assert_eq!(s.amount.yen(), (captured - c.refunded.yen()).max(0));
                }
                ChargeState::AuthorizationInitiated
                | ChargeState::CaptureInitiated
                | ChargeState::Canceled
                | ChargeState::Declined => {}
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generated scenarios

#[derive(Debug, Clone, Copy)]
enum AmountPick {
    /// The payment's amount.
    Same,
    /// A percentage of it (0..=150 %).
    Percent(i64),
    /// Any number, valid or not.
    Raw(i64),
}

fn amount_pick() -> impl Strategy<Value = AmountPick> {
    prop_oneof![
        Just(AmountPick::Same),
        (0i64..=150).prop_map(AmountPick::Percent),
        (-5i64..=200_000).prop_map(AmountPick::Raw),
    ]
}

impl AmountPick {
    fn of(self, s: &PaymentSnapshot) -> Jpy {
        match self {
            AmountPick::Same => s.amount,
            AmountPick::Percent(p) => yen(s.amount.yen() * p / 100),
            AmountPick::Raw(n) => yen(n),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Capture(Option<AmountPick>),
    Change(AmountPick),
    Cancel,
    Refund(AmountPick),
    /// The cron sweep: an authorised payment past its window becomes 期限切れ.
    Sweep,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        proptest::option::of(amount_pick()).prop_map(Action::Capture),
        amount_pick().prop_map(Action::Change),
        Just(Action::Cancel),
        amount_pick().prop_map(Action::Refund),
        Just(Action::Sweep),
    ]
}

/// How far the clock moves before an action.
#[derive(Debug, Clone, Copy)]
enum Advance {
    Ms(i64),
    /// To the next JST midnight, ± up to 2 s.
    AroundMidnight(i64),
    /// To the end of GMO's change window (181 whole days after the start), ± up to 3 days.
    AroundChangeLimit(i64),
    /// To the end of the first authorisation window (30/60 days after the start), ± up to 1 h.
    AroundExpiry(i64),
}

fn advance() -> impl Strategy<Value = Advance> {
    prop_oneof![
        Just(Advance::Ms(0)),
        (0i64..60_000).prop_map(Advance::Ms),
        (0i64..DAY).prop_map(Advance::Ms),
        (0i64..5 * DAY).prop_map(Advance::Ms),
        (0i64..40 * DAY).prop_map(Advance::Ms),
        (0i64..100 * DAY).prop_map(Advance::Ms),
        (-2_000i64..=2_000).prop_map(Advance::AroundMidnight),
        (-3 * DAY..=3 * DAY).prop_map(Advance::AroundChangeLimit),
        (-3_600_000i64..=3_600_000).prop_map(Advance::AroundExpiry),
    ]
}

impl Advance {
    fn from(self, now: UnixMillis, st: &Start) -> UnixMillis {
        let at_least_now = |t: UnixMillis| UnixMillis(t.0.max(now.0));
        match self {
            Advance::AroundChangeLimit(off) => {
                at_least_now(UnixMillis(st.at.plus_days(CHANGE_LIMIT_DAYS + 1).0 + off))
            }
            Advance::AroundExpiry(off) => at_least_now(UnixMillis(
                st.at.plus_days(st.method.authorization_valid_days()).0 + off,
            )),
            Advance::Ms(ms) => UnixMillis(now.0 + ms),
            Advance::AroundMidnight(off) => {
                let d = now.to_jst();
                let midnight = JstDateTime {
                    hour: 0,
                    minute: 0,
                    second: 0,
                    ..d
                }
                .to_unix()
                .plus_days(1);
                // Never backwards.
                UnixMillis((midnight.0 + off).max(now.0))
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Start {
    method: PaymentMethod,
    captured_at_once: bool,
    amount: i64,
    at: UnixMillis,
}

fn start() -> impl Strategy<Value = Start> {
    // 2026-01-01 .. 2029-01-01 (spans the 2028 leap day), any millisecond.
    let from = JstDateTime {
        year: 2026,
        month: 1,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
    }
    .to_unix()
    .0;
    (
        prop_oneof![Just(PaymentMethod::Card), Just(PaymentMethod::AmazonPay)],
        any::<bool>(),
        1i64..=200_000,
        from..from + 3 * 365 * DAY,
    )
        .prop_map(|(method, captured_at_once, amount, at)| Start {
            method,
            captured_at_once,
            amount,
            at: UnixMillis(at),
        })
}

fn begin(st: Start) -> (PaymentSnapshot, Gateway) {
    let amount = yen(st.amount);
    match st.method {
        PaymentMethod::Card => {
            let (state, status) = if st.captured_at_once {
                (PaymentState::Captured, TranStatus::Capture)
            } else {
                (PaymentState::Authorized, TranStatus::Auth)
            };
            let snapshot = PaymentSnapshot {
                method: st.method,
                state,
                amount,
                authorized_amount: amount,
                captured: if st.captured_at_once { amount } else { yen(0) },
                refunded: yen(0),
                authorized_at: Some(st.at),
                first_authorized_at: Some(st.at),
                last_transaction_at: Some(st.at),
                gmo_status: Some(status),
                recurring_permission: false,
            };
            let trade = GmoTrade {
                status,
                amount,
                auth_at: st.at,
                executed_at: st.at,
                last_tran_at: st.at,
            };
            (snapshot, Gateway::Gmo(trade))
        }
        PaymentMethod::AmazonPay => {
            let snapshot = PaymentSnapshot {
                method: st.method,
                state: PaymentState::Authorized,
                amount,
                authorized_amount: amount,
                captured: yen(0),
                refunded: yen(0),
                authorized_at: Some(st.at),
                first_authorized_at: Some(st.at),
                last_transaction_at: None,
                gmo_status: None,
                recurring_permission: false,
            };
            let charge = AmazonCharge {
                state: ChargeState::Authorized,
                expired_unused: false,
                charge_amount: amount,
                capture_amount: None,
                refunded: yen(0),
                created_at: st.at,
                permission: ChargePermissionState::Chargeable,
            };
            (snapshot, Gateway::Amazon(charge))
        }
    }
}

fn operation(a: Action, s: &PaymentSnapshot) -> Option<Operation> {
    match a {
        Action::Capture(pick) => Some(Operation::Capture {
            amount: pick.map(|p| p.of(s)),
        }),
        Action::Change(p) => Some(Operation::ChangeAmount { to: p.of(s) }),
        Action::Cancel => Some(Operation::Cancel),
        Action::Refund(p) => Some(Operation::Refund { amount: p.of(s) }),
        Action::Sweep => None,
    }
}

/// What the gateway says to the one call an operator would naively make, on a copy.
fn gateway_accepts(g: &Gateway, call: GatewayCall, now: UnixMillis) -> bool {
    let mut copy = g.clone();
    copy.apply(call, now).is_ok()
}

/// Liveness: kessai does not refuse a capture or cancel GMO would accept inside its windows.
fn check_card_liveness(
    op: Operation,
    s: &PaymentSnapshot,
    g: &Gateway,
    now: UnixMillis,
    refusal: &Refusal,
) -> Result<(), TestCaseError> {
    let Gateway::Gmo(t) = g else {
        return Ok(());
    };
    let window_open = s.authorization_expiry().is_some_and(|e| !e.is_expired(now));
    match op {
        Operation::Capture { amount: None } if s.state == PaymentState::Authorized => {
            let ok = gateway_accepts(
                g,
                GatewayCall::GmoAlterTran {
                    job: JobCd::Sales,
                    amount: Some(t.amount),
                },
                now,
            );
            prop_assert!(
                !(ok && window_open),
                "capture refused ({refusal:?}) though GMO accepts"
            );
        }
        Operation::Cancel
            if matches!(
                s.state,
                PaymentState::Authorized | PaymentState::Captured | PaymentState::Expired
            ) =>
        {
            let job = status::cancel_job(t.status, &t.last_tran_at.to_jst(), &now.to_jst());
            let ok = gateway_accepts(g, GatewayCall::GmoAlterTran { job, amount: None }, now);
            prop_assert!(
                !ok,
                "cancel refused ({refusal:?}) though GMO accepts {job:?}"
            );
        }
        _ => {}
    }
    Ok(())
}

/// Runs a plan against the gateway model, optionally with the gateway refusing step `fail_at`.
fn run(
    p: &Plan,
    s: &PaymentSnapshot,
    g: &mut Gateway,
    now: UnixMillis,
    fail_at: Option<usize>,
) -> Result<PaymentSnapshot, TestCaseError> {
    prop_assert_eq!(p.start.state, s.state);
    let mut record = p.start;
    for (i, step) in p.steps.iter().enumerate() {
        prop_assert_eq!(
            step.on_failure,
            record,
            "on_failure is the record before step {}",
            i
        );
        if fail_at == Some(i) {
            // The gateway refuses this call definitively: nothing changes there.
            let after = p
                .apply_failed_at(i, s, now)
                .ok_or_else(|| TestCaseError::fail("no such step"))?;
            return Ok(after);
        }
        if let Err(e) = g.apply(step.call, now) {
            return Err(TestCaseError::fail(format!(
                "gateway refuses planned step {i} {:?} at {}: {e}\nplan {p:#?}\nsnapshot {s:#?}\ngateway {g:#?}",
                step.call,
                now.to_jst()
            )));
        }
        record = step.on_success;
        // Mid-plan the record already agrees with the gateway.
        assert_agree(&s.with_record(&record, now), g)?;
    }
    if p.steps.is_empty() {
        // kessai's own change: only the amount may move (Amazon decrease before capture).
        prop_assert_eq!(
            Record {
                amount: p.start.amount,
                ..p.outcome
            },
            p.start
        );
        prop_assert!(p.outcome.amount <= p.start.amount);
    } else {
        prop_assert_eq!(record, p.outcome);
    }
    Ok(p.apply(s, now))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    #[test]
    fn no_planned_step_is_refused_and_kessai_follows_the_gateway(
        st in start(),
        actions in proptest::collection::vec((advance(), action(), proptest::option::of(0usize..3)), 1..14),
    ) {
        let (mut s, mut g) = begin(st);
        let mut now = st.at;
        assert_agree(&s, &g)?;
        for (adv, a, fail_at) in actions {
            now = adv.from(now, &st);
            let Some(op) = operation(a, &s) else {
                // Sweep: Amazon's clock runs, kessai marks expired authorisations.
                if let Gateway::Amazon(c) = &mut g {
                    c.tick(now);
                }
                if s.state == PaymentState::Authorized
                    && s.authorization_expiry().is_some_and(|e| e.is_expired(now))
                {
                    s.state = PaymentState::Expired;
                }
                assert_agree(&s, &g)?;
                continue;
            };
            let before = s.clone();
            let gateway_before = format!("{g:?}");
            match plan(op, &s, now) {
                Ok(p) => {
                    prop_assert_eq!(Ok(p.clone()), plan(op, &s, now), "planning is pure");
                    prop_assert_eq!(p.method, s.method);
                    if p.stays_on_statement {
                        prop_assert_eq!(s.state, PaymentState::Captured);
                    }
                    for step in &p.steps {
                        let gmo_call = matches!(step.call, GatewayCall::GmoAlterTran { .. } | GatewayCall::GmoChangeTran { .. });
                        prop_assert_eq!(gmo_call, s.method == PaymentMethod::Card);
                    }
                    s = run(&p, &s, &mut g, now, fail_at)?;
                    assert_agree(&s, &g)?;
                }
                Err(r) => {
                    prop_assert_eq!(&s, &before);
                    prop_assert_eq!(format!("{g:?}"), gateway_before, "a refusal sends nothing");
                    prop_assert_eq!(Err(r.clone()), plan(op, &s, now));
                    prop_assert!(!r.code().is_empty() && r.message_en().is_ascii() && r.message_ja().ends_with('。'));
                    check_card_liveness(op, &s, &g, now, &r)?;
                }
            }
        }
    }

    /// Amazon money never goes beyond its bounds whatever the operator asks.
    #[test]
    fn amazon_money_stays_within_bounds(
        st in start(),
        actions in proptest::collection::vec((advance(), action()), 1..14),
    ) {
        let (mut s, mut g) = begin(Start { method: PaymentMethod::AmazonPay, ..st });
        let mut now = st.at;
        let initial = s.amount;
        for (adv, a) in actions {
            now = adv.from(now, &st);
            let Some(op) = operation(a, &s) else { continue };
            if let Ok(p) = plan(op, &s, now) {
                s = run(&p, &s, &mut g, now, None)?;
            }
            prop_assert!(s.amount <= initial, "never above the order amount");
            prop_assert!(s.captured <= s.authorized_amount, "capture ≤ authorised");
            prop_assert!(s.refunded <= rules::refundable(s.captured, yen(0)), "refunds ≤ refundable");
            prop_assert!(s.amount.yen() >= 0);
        }
    }

    /// Every unknown or in-flight payment is refused, whatever the operation and time.
    #[test]
    fn unknown_and_processing_refuse_everything(
        st in start(),
        a in action(),
        later in 0i64..200 * DAY,
        processing in any::<bool>(),
    ) {
        let (mut s, _) = begin(st);
        s.state = if processing { PaymentState::Processing } else { PaymentState::Unknown };
        if let Some(op) = operation(a, &s) {
            let r = plan(op, &s, UnixMillis(st.at.0 + later)).unwrap_err();
            prop_assert_eq!(r, if processing { Refusal::InProgress } else { Refusal::OutcomeUnknown });
        }
    }
}
