//! Amazon Pay money and time rules kessai enforces (and its sandbox imitates).
//!
//! - No increase of an order's amount after the order; decreases are allowed (captured smaller or
//!   refunded). No Amazon API edits an authorised amount (reference §1.5 [I]).
//! - An authorisation (Charge in `Authorized`) expires 30 days after it was granted
//!   (`ExpiredUnused`, reference §1.4 [C]).
//! - Capture at most the authorised amount (reference §1.5 [I]).
//! - Recurring charges: at most ¥100,000 per JST calendar month per charge permission. The value
//!   is the cart manual's; Amazon's own JP table was not seen [U].

use crate::jst::UnixMillis;
use crate::money::Jpy;
use std::fmt;

/// Days an authorisation stays capturable.
pub const AUTHORIZATION_VALID_DAYS: i64 = 30;

/// Amazon's ceiling for one charge (reference §1.5 [C]).
pub const MAX_CHARGE: Jpy = Jpy::from_stored(10_000_000);

/// Recurring cap per JST calendar month and charge permission [U: value from the cart manual
/// this project follows, Amazon's JP table not seen]. Amazon's error for it: `PeriodicAmountExceeded`.
pub const RECURRING_MONTHLY_CAP: Jpy = Jpy::from_stored(100_000);

/// Refunds may exceed the captured amount by min(15 %, ¥8,400) (reference §1.5 [C]).
pub const REFUND_OVERAGE_PERCENT: i64 = 15;
pub const REFUND_OVERAGE_MAX: Jpy = Jpy::from_stored(8_400);

/// When an authorisation granted at `authorized_at` expires (30 days later, to the millisecond).
pub fn authorization_expiry(authorized_at: UnixMillis) -> UnixMillis {
    authorized_at.plus_days(AUTHORIZATION_VALID_DAYS)
}

/// Whether the authorisation can no longer be captured at `now`.
pub fn authorization_expired(authorized_at: UnixMillis, now: UnixMillis) -> bool {
    now >= authorization_expiry(authorized_at)
}

/// An accepted change of an order's amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountChange {
    Unchanged,
    /// Lower by `by` yen: capture less before capture, refund the difference after.
    Decrease {
        by: Jpy,
    },
}

/// A money rule was broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountRuleError {
    /// Amazon Pay cannot raise an order's amount after the order.
    IncreaseNotAllowed { current: Jpy, requested: Jpy },
    /// The amount must be at least ¥1 (zero is a cancellation, not a change).
    NotPositive { requested: Jpy },
    /// A capture larger than the authorisation.
    CaptureExceedsAuthorization { authorized: Jpy, requested: Jpy },
    /// Above Amazon's per-charge ceiling.
    ChargeTooLarge { requested: Jpy },
    /// The JST month's recurring total would pass the cap.
    MonthlyCapExceeded {
        month_total: Jpy,
        requested: Jpy,
        cap: Jpy,
    },
    /// A refund above what may be refunded.
    RefundTooLarge { refundable: Jpy, requested: Jpy },
}

impl AmountRuleError {
    /// The `reasonCode` Amazon answers with when the rule is broken at its API, if it is one
    /// ([U] for the capture and refund codes: not seen in a source).
    pub fn amazon_reason_code(&self) -> Option<&'static str> {
        match self {
            // Decided by kessai before any call: there is no Amazon API for it.
            AmountRuleError::IncreaseNotAllowed { .. } => None,
            AmountRuleError::NotPositive { .. } => Some("InvalidParameterValue"),
            AmountRuleError::CaptureExceedsAuthorization { .. } => {
                Some("TransactionAmountExceeded")
            }
            AmountRuleError::ChargeTooLarge { .. } => Some("TransactionAmountExceeded"),
            AmountRuleError::MonthlyCapExceeded { .. } => Some("PeriodicAmountExceeded"),
            AmountRuleError::RefundTooLarge { .. } => Some("TransactionAmountExceeded"),
        }
    }

    /// For the operator (Japanese).
    pub fn message_ja(&self) -> String {
        match self {
            AmountRuleError::IncreaseNotAllowed { current, requested } => format!(
                "Amazon Pay では注文後に金額を増額できません（現在 {current} → 変更後 {requested}）。減額のみ可能です。増額分は別のお支払い方法でご請求ください。"
            ),
            AmountRuleError::NotPositive { requested } => format!(
                "金額は1円以上で指定してください（指定額 {requested}）。全額を取りやめる場合は取消を行ってください。"
            ),
            AmountRuleError::CaptureExceedsAuthorization {
                authorized,
                requested,
            } => format!(
                "売上確定額 {requested} が与信額 {authorized} を超えています。与信額以下で売上確定してください。"
            ),
            AmountRuleError::ChargeTooLarge { requested } => format!(
                "Amazon Pay で1回にお支払いいただける金額は {MAX_CHARGE} までです（指定額 {requested}）。"
            ),
            AmountRuleError::MonthlyCapExceeded {
                month_total,
                requested,
                cap,
            } => format!(
                "Amazon Pay の定期課金は1か月あたり {cap} までです。今月の課金済み {month_total} に {requested} を加えると上限を超えます。"
            ),
            AmountRuleError::RefundTooLarge {
                refundable,
                requested,
            } => format!("返金額 {requested} が返金可能額 {refundable} を超えています。"),
        }
    }

    /// For logs and API messages (English).
    pub fn message_en(&self) -> String {
        match self {
            AmountRuleError::IncreaseNotAllowed { current, requested } => format!(
                "Amazon Pay cannot increase an order's amount after the order ({} -> {} yen); only decreases are possible, charge the difference with another payment method",
                current.yen(),
                requested.yen()
            ),
            AmountRuleError::NotPositive { requested } => format!(
                "amount must be at least 1 yen (got {}); cancel instead of changing to zero",
                requested.yen()
            ),
            AmountRuleError::CaptureExceedsAuthorization {
                authorized,
                requested,
            } => format!(
                "capture of {} yen exceeds the authorized {} yen",
                requested.yen(),
                authorized.yen()
            ),
            AmountRuleError::ChargeTooLarge { requested } => format!(
                "{} yen exceeds Amazon Pay's per-charge maximum of {} yen",
                requested.yen(),
                MAX_CHARGE.yen()
            ),
            AmountRuleError::MonthlyCapExceeded {
                month_total,
                requested,
                cap,
            } => format!(
                "recurring charges this JST month total {} yen; {} more would exceed the {} yen monthly cap",
                month_total.yen(),
                requested.yen(),
                cap.yen()
            ),
            AmountRuleError::RefundTooLarge {
                refundable,
                requested,
            } => format!(
                "refund of {} yen exceeds the refundable {} yen",
                requested.yen(),
                refundable.yen()
            ),
        }
    }
}

impl fmt::Display for AmountRuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl std::error::Error for AmountRuleError {}

/// Whether an order of `current` yen may become `requested` yen: equal or lower (but ≥ ¥1) only.
pub fn check_amount_change(current: Jpy, requested: Jpy) -> Result<AmountChange, AmountRuleError> {
    if requested.yen() < 1 {
        return Err(AmountRuleError::NotPositive { requested });
    }
    match requested.cmp(&current) {
        std::cmp::Ordering::Equal => Ok(AmountChange::Unchanged),
        std::cmp::Ordering::Less => Ok(AmountChange::Decrease {
            by: Jpy::from_stored(current.yen() - requested.yen()),
        }),
        std::cmp::Ordering::Greater => {
            Err(AmountRuleError::IncreaseNotAllowed { current, requested })
        }
    }
}

/// Whether `capture` may be captured on a charge authorised for `authorized`: ¥1 ..= authorised.
pub fn check_capture(authorized: Jpy, capture: Jpy) -> Result<(), AmountRuleError> {
    if capture.yen() < 1 {
        return Err(AmountRuleError::NotPositive { requested: capture });
    }
    if capture > authorized {
        return Err(AmountRuleError::CaptureExceedsAuthorization {
            authorized,
            requested: capture,
        });
    }
    Ok(())
}

/// Whether one charge of `amount` is within ¥1 ..= [`MAX_CHARGE`].
pub fn check_charge_amount(amount: Jpy) -> Result<(), AmountRuleError> {
    if amount.yen() < 1 {
        return Err(AmountRuleError::NotPositive { requested: amount });
    }
    if amount > MAX_CHARGE {
        return Err(AmountRuleError::ChargeTooLarge { requested: amount });
    }
    Ok(())
}

/// How much more may be refunded on a charge that captured `captured` and has refunded
/// `already_refunded`: captured + min(15 % (rounded down), ¥8,400) − refunded, never negative.
pub fn refundable(captured: Jpy, already_refunded: Jpy) -> Jpy {
    let overage = (captured.yen() * REFUND_OVERAGE_PERCENT / 100).min(REFUND_OVERAGE_MAX.yen());
    Jpy::from_stored((captured.yen() + overage - already_refunded.yen()).max(0))
}

/// Whether a refund of `amount` is allowed (¥1 ..= [`refundable`]).
pub fn check_refund(
    captured: Jpy,
    already_refunded: Jpy,
    amount: Jpy,
) -> Result<(), AmountRuleError> {
    if amount.yen() < 1 {
        return Err(AmountRuleError::NotPositive { requested: amount });
    }
    let max = refundable(captured, already_refunded);
    if amount > max {
        return Err(AmountRuleError::RefundTooLarge {
            refundable: max,
            requested: amount,
        });
    }
    Ok(())
}

/// A charge already made on a recurring charge permission, for the monthly cap. Pass only charges
/// that hold or took money (Authorized, CaptureInitiated, Captured); declined and canceled ones
/// do not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorCharge {
    pub at: UnixMillis,
    pub amount: Jpy,
}

/// Sum of `prior` charges in the JST calendar month of `at`.
pub fn recurring_month_total(prior: &[PriorCharge], at: UnixMillis) -> Jpy {
    let month = at.to_jst();
    Jpy::from_stored(
        prior
            .iter()
            .filter(|c| c.at.to_jst().same_month(&month))
            .map(|c| c.amount.yen())
            .sum(),
    )
}

/// Whether a recurring charge of `amount` at `at` keeps its JST month within
/// [`RECURRING_MONTHLY_CAP`] [U]. Returns what remains of the month's cap after it.
pub fn check_recurring_monthly_cap(
    prior: &[PriorCharge],
    at: UnixMillis,
    amount: Jpy,
) -> Result<Jpy, AmountRuleError> {
    if amount.yen() < 1 {
        return Err(AmountRuleError::NotPositive { requested: amount });
    }
    let month_total = recurring_month_total(prior, at);
    let after = month_total.yen() + amount.yen();
    if after > RECURRING_MONTHLY_CAP.yen() {
        return Err(AmountRuleError::MonthlyCapExceeded {
            month_total,
            requested: amount,
            cap: RECURRING_MONTHLY_CAP,
        });
    }
    Ok(Jpy::from_stored(RECURRING_MONTHLY_CAP.yen() - after))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jst::JstDateTime;
    use proptest::prelude::*;

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

    #[test]
    fn authorization_lasts_thirty_days() {
        let at = jst(2026, 1, 31, 10, 0, 0);
        let exp = authorization_expiry(at);
        assert_eq!(exp.to_jst(), jst(2026, 3, 2, 10, 0, 0).to_jst());
        assert!(!authorization_expired(at, UnixMillis(exp.0 - 1)));
        assert!(authorization_expired(at, exp));
    }

    #[test]
    fn amount_changes() {
        assert_eq!(
            check_amount_change(yen(5000), yen(5000)),
            Ok(AmountChange::Unchanged)
        );
        assert_eq!(
            check_amount_change(yen(5000), yen(4200)),
            Ok(AmountChange::Decrease { by: yen(800) })
        );
        let err = check_amount_change(yen(5000), yen(5001)).unwrap_err();
        assert_eq!(
            err,
            AmountRuleError::IncreaseNotAllowed {
                current: yen(5000),
                requested: yen(5001)
            }
        );
        assert_eq!(
            err.message_ja(),
            "Amazon Pay では注文後に金額を増額できません（現在 ¥5,000 → 変更後 ¥5,001）。減額のみ可能です。増額分は別のお支払い方法でご請求ください。"
        );
        assert!(err.message_en().contains("another payment method"));
        assert_eq!(err.amazon_reason_code(), None);
        assert_eq!(
            check_amount_change(yen(5000), yen(0)),
            Err(AmountRuleError::NotPositive { requested: yen(0) })
        );
    }

    #[test]
    fn captures() {
        assert_eq!(check_capture(yen(3000), yen(3000)), Ok(()));
        assert_eq!(check_capture(yen(3000), yen(1)), Ok(()));
        assert_eq!(
            check_capture(yen(3000), yen(3001)),
            Err(AmountRuleError::CaptureExceedsAuthorization {
                authorized: yen(3000),
                requested: yen(3001)
            })
        );
        assert!(check_capture(yen(3000), yen(0)).is_err());
        assert_eq!(check_charge_amount(yen(10_000_000)), Ok(()));
        assert!(check_charge_amount(yen(10_000_001)).is_err());
    }

    #[test]
    fn refunds() {
        // 15 % of 10,000 = 1,500.
        assert_eq!(refundable(yen(10_000), yen(0)), yen(11_500));
        // 15 % of 100,000 = 15,000 → capped at 8,400.
        assert_eq!(refundable(yen(100_000), yen(0)), yen(108_400));
        // 15 % of 999 = 149.85 → 149.
        assert_eq!(refundable(yen(999), yen(0)), yen(1_148));
        assert_eq!(refundable(yen(1_000), yen(2_000)), yen(0));
        assert_eq!(check_refund(yen(10_000), yen(10_000), yen(1_500)), Ok(()));
        assert_eq!(
            check_refund(yen(10_000), yen(10_000), yen(1_501)),
            Err(AmountRuleError::RefundTooLarge {
                refundable: yen(1_500),
                requested: yen(1_501)
            })
        );
    }

    /// [U]: the ¥100,000 value is the cart manual's.
    #[test]
    fn recurring_cap_per_jst_month() {
        let prior = [
            // 2026-01-31 23:59:59 JST: January.
            PriorCharge {
                at: jst(2026, 1, 31, 23, 59, 59),
                amount: yen(60_000),
            },
            // 2026-02-01 00:00:00 JST (still 1/31 in UTC): February.
            PriorCharge {
                at: jst(2026, 2, 1, 0, 0, 0),
                amount: yen(70_000),
            },
        ];
        let feb = jst(2026, 2, 15, 12, 0, 0);
        assert_eq!(recurring_month_total(&prior, feb), yen(70_000));
        assert_eq!(
            check_recurring_monthly_cap(&prior, feb, yen(30_000)),
            Ok(yen(0))
        );
        let err = check_recurring_monthly_cap(&prior, feb, yen(30_001)).unwrap_err();
        assert_eq!(
            err,
            AmountRuleError::MonthlyCapExceeded {
                month_total: yen(70_000),
                requested: yen(30_001),
                cap: yen(100_000)
            }
        );
        assert_eq!(err.amazon_reason_code(), Some("PeriodicAmountExceeded"));
        assert!(err.message_ja().contains("¥100,000"));
        let jan = jst(2026, 1, 1, 0, 0, 0);
        assert_eq!(
            check_recurring_monthly_cap(&prior, jan, yen(40_000)),
            Ok(yen(0))
        );
        // Next month starts over.
        let mar = jst(2026, 3, 1, 0, 0, 0);
        assert_eq!(
            check_recurring_monthly_cap(&prior, mar, yen(100_000)),
            Ok(yen(0))
        );
        assert!(check_recurring_monthly_cap(&prior, mar, yen(100_001)).is_err());
        assert!(check_recurring_monthly_cap(&[], mar, yen(0)).is_err());
    }

    proptest! {
        #[test]
        fn change_accepted_iff_not_an_increase(cur in 1i64..=10_000_000, req in -5i64..=10_000_005) {
            let r = check_amount_change(yen(cur), yen(req));
            prop_assert_eq!(r.is_ok(), req >= 1 && req <= cur);
            if let Ok(AmountChange::Decrease { by }) = r {
                prop_assert_eq!(by.yen() + req, cur);
                prop_assert!(by.yen() > 0);
            }
        }

        #[test]
        fn capture_bound(auth in 1i64..=10_000_000, cap in -5i64..=10_000_005) {
            prop_assert_eq!(check_capture(yen(auth), yen(cap)).is_ok(), cap >= 1 && cap <= auth);
        }

        #[test]
        fn monthly_cap_matches_a_plain_sum(
            charges in prop::collection::vec((0i64..120, 1i64..60_000), 0..8),
            day in 0i64..120,
            amount in 1i64..120_000,
        ) {
            let base = jst(2026, 1, 1, 0, 0, 0);
            let prior: Vec<PriorCharge> = charges
                .iter()
                .map(|&(d, a)| PriorCharge { at: base.plus_days(d), amount: yen(a) })
                .collect();
            let at = base.plus_days(day);
            let m = at.to_jst();
            let sum: i64 = prior
                .iter()
                .filter(|c| {
                    let j = c.at.to_jst();
                    (j.year, j.month) == (m.year, m.month)
                })
                .map(|c| c.amount.yen())
                .sum();
            let r = check_recurring_monthly_cap(&prior, at, yen(amount));
            prop_assert_eq!(r.is_ok(), sum + amount <= 100_000);
            if let Ok(left) = r {
                prop_assert_eq!(left.yen(), 100_000 - sum - amount);
            }
        }

        #[test]
        fn refundable_never_negative_and_bounded(cap in 0i64..=10_000_000, done in 0i64..=12_000_000) {
            let r = refundable(yen(cap), yen(done)).yen();
            prop_assert!(r >= 0);
            prop_assert!(r <= cap + 8_400);
        }
    }
}
