//! Amazon Pay's recurring limit: ¥100,000 per JST calendar month per charge permission
//! ([`RECURRING_MONTHLY_CAP`]; the value is the cart manual's, Amazon's own JP table was not seen:
//! [U] in `amazon-pay.md` §1.5). kessai checks it before Create Charge and refuses with its own
//! message instead of letting Amazon answer `PeriodicAmountExceeded`.
//!
//! What counts toward a month:
//! - charges on the same charge permission whose JST date (the day the charge was created, not
//!   the cycle's scheduled date) lies in the month;
//! - in the states that hold or took money or may still do so: in flight (kessai claimed the
//!   attempt, Amazon has not answered), pending (`AuthorizationInitiated`), `Authorized`,
//!   `CaptureInitiated` / `Captured`;
//! - not `Declined`, nor `Canceled` (incl. `ExpiredUnused`). [U] The reference does not say
//!   whether Amazon's `limits.amountBalance` gives a canceled authorisation's amount back; kessai
//!   assumes it does, as nothing was charged.
//! - A refund does **not** give room back: the reference says nothing about refunds and the
//!   monthly limit, so kessai takes the safe reading [U] and counts the charge's full amount.
//!
//! This builds on [`crate::amazon::rules`] (the cap, and the error with its ja/en messages).

use super::date::ChargeDate;
use super::refusal::Refusal;
use crate::amazon::rules::{AmountRuleError, RECURRING_MONTHLY_CAP};
use crate::money::Jpy;

/// Where a charge on a recurring charge permission stands, for the monthly cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecurringChargeState {
    /// kessai claimed the attempt and may be calling Amazon now (answer unknown yet).
    InFlight,
    /// `AuthorizationInitiated`.
    Pending,
    /// `Authorized`.
    Authorized,
    /// `CaptureInitiated` or `Captured` (refunded or not: see the module notes [U]).
    Captured,
    /// `Declined` (SoftDeclined, HardDeclined, …): nothing was charged.
    Declined,
    /// `Canceled` (incl. `ExpiredUnused`): the authorisation was released [U].
    Canceled,
}

impl RecurringChargeState {
    /// Whether a charge in this state uses the month's room.
    pub fn counts_toward_cap(self) -> bool {
        match self {
            RecurringChargeState::InFlight
            | RecurringChargeState::Pending
            | RecurringChargeState::Authorized
            | RecurringChargeState::Captured => true,
            RecurringChargeState::Declined | RecurringChargeState::Canceled => false,
        }
    }
}

/// A charge already made (or being made) on a charge permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurringCharge {
    pub charge_permission_id: String,
    /// The JST date the charge was created.
    pub on: ChargeDate,
    pub amount: Jpy,
    pub state: RecurringChargeState,
}

/// The sum that counts toward `charge_permission_id`'s cap in the JST month of `on`.
/// Negative stored amounts count as 0 (they never make room).
pub fn month_total(charges: &[RecurringCharge], charge_permission_id: &str, on: ChargeDate) -> Jpy {
    let total = charges
        .iter()
        .filter(|c| {
            c.charge_permission_id == charge_permission_id
                && c.on.same_month(on)
                && c.state.counts_toward_cap()
        })
        .fold(0i64, |acc, c| acc.saturating_add(c.amount.yen().max(0)));
    Jpy::from_stored(total)
}

/// What is left of the cap in the JST month of `on` (never negative).
pub fn remaining(charges: &[RecurringCharge], charge_permission_id: &str, on: ChargeDate) -> Jpy {
    let used = month_total(charges, charge_permission_id, on).yen();
    Jpy::from_stored(RECURRING_MONTHLY_CAP.yen().saturating_sub(used).max(0))
}

/// Whether a new charge of `amount` on `on` (JST date of the attempt, i.e. today) fits in the
/// month. Ok: the room left after it. Refused: [`Refusal::InvalidAmount`] below ¥1,
/// [`Refusal::AmountAboveMonthlyCap`] when the amount alone exceeds the cap,
/// [`Refusal::AmazonMonthlyCap`] when this month's charges leave too little room.
pub fn check_charge(
    charges: &[RecurringCharge],
    charge_permission_id: &str,
    on: ChargeDate,
    amount: Jpy,
) -> Result<Jpy, Refusal> {
    if amount.yen() < 1 {
        return Err(Refusal::InvalidAmount(
            crate::money::AmountError::NotPositive,
        ));
    }
    if amount > RECURRING_MONTHLY_CAP {
        return Err(Refusal::AmountAboveMonthlyCap {
            requested: amount,
            cap: RECURRING_MONTHLY_CAP,
        });
    }
    let month_total = month_total(charges, charge_permission_id, on);
    let room = remaining(charges, charge_permission_id, on);
    if amount > room {
        return Err(Refusal::AmazonMonthlyCap(
            AmountRuleError::MonthlyCapExceeded {
                month_total,
                requested: amount,
                cap: RECURRING_MONTHLY_CAP,
            },
        ));
    }
    Ok(Jpy::from_stored(room.yen() - amount.yen()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CP: &str = "S03-1111111-1111111";
    const OTHER: &str = "S03-2222222-2222222";

    fn d(y: i32, m: u8, day: u8) -> ChargeDate {
        ChargeDate::new(y, m, day).expect("test date")
    }
    fn yen(n: i64) -> Jpy {
        Jpy::from_stored(n)
    }
    fn c(cp: &str, on: ChargeDate, amount: i64, state: RecurringChargeState) -> RecurringCharge {
        RecurringCharge {
            charge_permission_id: cp.into(),
            on,
            amount: yen(amount),
            state,
        }
    }

    #[test]
    fn counts_only_live_charges_of_the_permission_in_the_jst_month() {
        use RecurringChargeState as S;
        let charges = [
            c(CP, d(2026, 1, 31), 60_000, S::Captured),
            c(CP, d(2026, 2, 1), 30_000, S::Authorized),
            c(CP, d(2026, 2, 2), 10_000, S::Pending),
            c(CP, d(2026, 2, 3), 5_000, S::InFlight),
            c(CP, d(2026, 2, 4), 50_000, S::Declined),
            c(CP, d(2026, 2, 5), 50_000, S::Canceled),
            c(OTHER, d(2026, 2, 6), 90_000, S::Captured),
            c(CP, d(2027, 2, 6), 90_000, S::Captured),
        ];
        let feb = d(2026, 2, 28);
        assert_eq!(month_total(&charges, CP, feb), yen(45_000));
        assert_eq!(remaining(&charges, CP, feb), yen(55_000));
        assert_eq!(check_charge(&charges, CP, feb, yen(55_000)), Ok(yen(0)));
        let refused = check_charge(&charges, CP, feb, yen(55_001));
        assert_eq!(
            refused,
            Err(Refusal::AmazonMonthlyCap(
                AmountRuleError::MonthlyCapExceeded {
                    month_total: yen(45_000),
                    requested: yen(55_001),
                    cap: yen(100_000)
                }
            ))
        );
        let r = refused.err().unwrap_or(Refusal::Cancelled);
        assert_eq!(r.code(), "monthly_cap_exceeded");
        assert!(r.message_ja().contains("¥100,000"), "{}", r.message_ja());
        assert!(
            r.message_en().contains("100000 yen monthly cap"),
            "{}",
            r.message_en()
        );
        // A new JST month starts with the full cap.
        assert_eq!(remaining(&charges, CP, d(2026, 3, 1)), yen(100_000));
        assert_eq!(remaining(&charges, CP, d(2026, 1, 1)), yen(40_000));
        assert_eq!(
            check_charge(&[], CP, feb, yen(100_001)).map_err(|e| e.code()),
            Err("amount_above_monthly_cap")
        );
        assert_eq!(
            check_charge(&[], CP, feb, yen(0)).map_err(|e| e.code()),
            Err("invalid_amount")
        );
    }

    fn any_state() -> impl Strategy<Value = RecurringChargeState> {
        use RecurringChargeState as S;
        prop_oneof![
            Just(S::InFlight),
            Just(S::Pending),
            Just(S::Authorized),
            Just(S::Captured),
            Just(S::Declined),
            Just(S::Canceled),
        ]
    }

    proptest! {
        /// Charging only what `check_charge` allows never takes a JST month past the cap, and
        /// what it reports as left is exactly the cap minus what counts.
        #[test]
        fn the_cap_holds(
            requests in proptest::collection::vec(
                (0i64..120, 1i64..60_000, any_state(), any::<bool>(), proptest::option::of(-2i64..=2)),
                0..40),
        ) {
            let start = d(2026, 1, 20);
            let mut charges: Vec<RecurringCharge> = Vec::new();
            for (offset, amount, state, other, edge) in requests {
                let on = start.plus_days(offset);
                let cp = if other { OTHER } else { CP };
                let before = remaining(&charges, cp, on);
                // Half the time, aim right at the room left (± 2 yen).
                let amount = edge.map_or(amount, |delta| (before.yen() + delta).max(1));
                match check_charge(&charges, cp, on, yen(amount)) {
                    Ok(left) => {
                        prop_assert_eq!(left.yen(), before.yen() - amount);
                        charges.push(c(cp, on, amount, state));
                    }
                    Err(_) => prop_assert!(amount > before.yen()),
                }
                for m in 0..5 {
                    let month = start.plus_days(31 * m);
                    for p in [CP, OTHER] {
                        let total = month_total(&charges, p, month).yen();
                        prop_assert!(total <= 100_000);
                        prop_assert_eq!(remaining(&charges, p, month).yen(), 100_000 - total);
                    }
                }
            }
        }
    }
}
