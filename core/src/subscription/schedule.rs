//! Billing cycles and the next charge date, in JST calendar dates.
//!
//! API form of a cycle (one compact string, stored as is in D1):
//!
//! | string        | meaning                                                        |
//! |---------------|----------------------------------------------------------------|
//! | `days:N`      | every N days, N in 1..=365                                     |
//! | `monthly:D`   | monthly on day D (1..=31); a month without day D: its last day |
//! | `weekly:mon`  | weekly on a weekday (`mon` `tue` `wed` `thu` `fri` `sat` `sun`) |
//!
//! Rules (see `docs/subscriptions.md`):
//! - [`next_after`] is strictly after the given date. For `monthly:D` it is day D (clamped) of
//!   the *calendar month after* the given date's, so a charge moved by hand within a month still
//!   counts as that month's and the schedule never charges one month twice nor skips one:
//!   Jan 31 → Feb 28/29 → Mar 31.
//! - [`first_on_or_after`] gives the first charge date of a subscription starting on a date.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::date::{ChargeDate, Weekday};
use crate::jst::UnixMillis;

pub const MAX_EVERY_DAYS: u16 = 365;

/// How often a subscription is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cycle {
    /// Every N days (1..=365).
    EveryDays(u16),
    /// Monthly on day 1..=31 (its month's last day when the month is shorter).
    Monthly { day: u8 },
    /// Weekly on a weekday.
    Weekly(Weekday),
}

/// Why a cycle string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CycleError {
    /// Not one of `days:N`, `monthly:D`, `weekly:xxx`.
    UnknownForm,
    /// `days:N` with N outside 1..=365 (or not a number).
    EveryDaysOutOfRange,
    /// `monthly:D` with D outside 1..=31 (or not a number).
    DayOfMonthOutOfRange,
    /// `weekly:` with something else than `mon` … `sun`.
    UnknownWeekday,
}

impl CycleError {
    pub fn code(&self) -> &'static str {
        match self {
            CycleError::UnknownForm => "invalid_cycle",
            CycleError::EveryDaysOutOfRange => "invalid_cycle_days",
            CycleError::DayOfMonthOutOfRange => "invalid_cycle_day_of_month",
            CycleError::UnknownWeekday => "invalid_cycle_weekday",
        }
    }
    pub fn message_en(&self) -> String {
        match self {
            CycleError::UnknownForm => {
                "cycle must be \"days:N\" (N = 1..365), \"monthly:D\" (D = 1..31) or \"weekly:mon\" … \"weekly:sun\"".into()
            }
            CycleError::EveryDaysOutOfRange => {
                format!("\"days:N\" needs a whole number of days from 1 to {MAX_EVERY_DAYS}")
            }
            CycleError::DayOfMonthOutOfRange => {
                "\"monthly:D\" needs a day of the month from 1 to 31 (months without that day charge on their last day)".into()
            }
            CycleError::UnknownWeekday => {
                "\"weekly:\" needs one of mon, tue, wed, thu, fri, sat, sun".into()
            }
        }
    }
    pub fn message_ja(&self) -> String {
        match self {
            CycleError::UnknownForm => {
                "周期は「days:日数」(1〜365)、「monthly:日」(1〜31)、「weekly:曜日」(mon〜sun) のいずれかで指定してください。".into()
            }
            CycleError::EveryDaysOutOfRange => {
                format!("「days:日数」の日数は1〜{MAX_EVERY_DAYS}の整数で指定してください。")
            }
            CycleError::DayOfMonthOutOfRange => {
                "「monthly:日」の日は1〜31で指定してください(その日がない月は月末日に課金します)。".into()
            }
            CycleError::UnknownWeekday => {
                "「weekly:曜日」の曜日は mon, tue, wed, thu, fri, sat, sun のいずれかで指定してください。".into()
            }
        }
    }
}

impl fmt::Display for CycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl std::error::Error for CycleError {}

/// A small decimal without sign, leading `+` or leading zeros beyond one digit's worth.
fn small_number(s: &str) -> Option<u16> {
    let ok = !s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    s.parse().ok()
}

impl Cycle {
    /// Builds `EveryDays`, checking the range.
    pub fn every_days(n: u16) -> Result<Cycle, CycleError> {
        if (1..=MAX_EVERY_DAYS).contains(&n) {
            Ok(Cycle::EveryDays(n))
        } else {
            Err(CycleError::EveryDaysOutOfRange)
        }
    }

    /// Builds `Monthly`, checking the range.
    pub fn monthly(day: u8) -> Result<Cycle, CycleError> {
        if (1..=31).contains(&day) {
            Ok(Cycle::Monthly { day })
        } else {
            Err(CycleError::DayOfMonthOutOfRange)
        }
    }

    /// Parses the API form (`days:14`, `monthly:31`, `weekly:fri`; surrounding whitespace allowed).
    pub fn parse(s: &str) -> Result<Cycle, CycleError> {
        let (kind, arg) = s.trim().split_once(':').ok_or(CycleError::UnknownForm)?;
        match kind {
            "days" => {
                let n = small_number(arg).ok_or(CycleError::EveryDaysOutOfRange)?;
                Cycle::every_days(n)
            }
            "monthly" => {
                let d = small_number(arg)
                    .and_then(|d| u8::try_from(d).ok())
                    .ok_or(CycleError::DayOfMonthOutOfRange)?;
                Cycle::monthly(d)
            }
            "weekly" => Weekday::parse(arg)
                .map(Cycle::Weekly)
                .ok_or(CycleError::UnknownWeekday),
            _ => Err(CycleError::UnknownForm),
        }
    }

    /// Whether the value respects its ranges (constructed directly, a variant could hold 0).
    pub fn is_valid(self) -> bool {
        match self {
            Cycle::EveryDays(n) => (1..=MAX_EVERY_DAYS).contains(&n),
            Cycle::Monthly { day } => (1..=31).contains(&day),
            Cycle::Weekly(_) => true,
        }
    }

    /// Amazon Pay's `recurringMetadata.frequency` (`unit`, `value`) for this cycle: `days:N` →
    /// `Day`/N, `monthly:D` → `Month`/1, `weekly:W` → `Week`/1. Amazon reads it only for the
    /// permission's expiry and the buyer's mails; the charge dates stay kessai's.
    pub fn amazon_frequency(self) -> (&'static str, u32) {
        match self {
            Cycle::EveryDays(n) => ("Day", u32::from(n)),
            Cycle::Monthly { .. } => ("Month", 1),
            Cycle::Weekly(_) => ("Week", 1),
        }
    }

    /// For the console: 「14日ごと」「毎月31日(月末)」「毎週金曜日」.
    pub fn label_ja(self) -> String {
        match self {
            Cycle::EveryDays(n) => format!("{n}日ごと"),
            Cycle::Monthly { day } if day >= 29 => format!("毎月{day}日(ない月は月末)"),
            Cycle::Monthly { day } => format!("毎月{day}日"),
            Cycle::Weekly(w) => format!("毎週{}", w.label_ja()),
        }
    }

    pub fn label_en(self) -> String {
        match self {
            Cycle::EveryDays(1) => "every day".into(),
            Cycle::EveryDays(n) => format!("every {n} days"),
            Cycle::Monthly { day } => format!("monthly on day {day}"),
            Cycle::Weekly(w) => format!("every {}", w.label_en()),
        }
    }
}

impl fmt::Display for Cycle {
    /// The API form, which [`Cycle::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cycle::EveryDays(n) => write!(f, "days:{n}"),
            Cycle::Monthly { day } => write!(f, "monthly:{day}"),
            Cycle::Weekly(w) => write!(f, "weekly:{}", w.as_str()),
        }
    }
}

impl Serialize for Cycle {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cycle {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Cycle, D::Error> {
        let s = String::deserialize(d)?;
        Cycle::parse(&s).map_err(|e| serde::de::Error::custom(e.message_en()))
    }
}

/// Day `day` of the month after `date`'s, clamped to that month's last day.
fn monthly_in_following_month(date: ChargeDate, day: u8) -> ChargeDate {
    let (y, m) = date.following_month();
    ChargeDate::clamped(y, m, day)
}

/// The charge date after one on `date`: strictly later.
///
/// - `days:N`: `date + N`.
/// - `monthly:D`: day D of the next calendar month, or its last day (Jan 31 → Feb 28/29 →
///   Mar 31). Always exactly one calendar month on, whatever day `date` is.
/// - `weekly:W`: the first W after `date` (1 to 7 days on).
///
/// An out-of-range `Cycle` (built by hand) is treated as its nearest valid value.
pub fn next_after(cycle: Cycle, date: ChargeDate) -> ChargeDate {
    match cycle {
        Cycle::EveryDays(n) => date.plus_days(i64::from(n.clamp(1, MAX_EVERY_DAYS))),
        Cycle::Monthly { day } => monthly_in_following_month(date, day),
        Cycle::Weekly(w) => {
            let ahead = (i64::from(w.index()) - i64::from(date.weekday().index())).rem_euclid(7);
            date.plus_days(if ahead == 0 { 7 } else { ahead })
        }
    }
}

/// The first charge date of a subscription starting on `start` (on or after it).
///
/// - `days:N`: `start` itself.
/// - `monthly:D`: day D (clamped) of `start`'s month if not already past, else of the next month.
/// - `weekly:W`: `start` if it is a W, else the next W.
pub fn first_on_or_after(cycle: Cycle, start: ChargeDate) -> ChargeDate {
    match cycle {
        Cycle::EveryDays(_) => start,
        Cycle::Monthly { day } => {
            let this_month = ChargeDate::clamped(start.year(), start.month(), day);
            if this_month >= start {
                this_month
            } else {
                monthly_in_following_month(start, day)
            }
        }
        Cycle::Weekly(w) => {
            if start.weekday() == w {
                start
            } else {
                next_after(cycle, start)
            }
        }
    }
}

/// The first cycle date after `scheduled` (a date on the cycle) that is strictly after `after`:
/// where the schedule continues when the charge for `scheduled` settled late (retries) and cycles
/// that passed meanwhile are skipped, never charged in a burst. Also returns how many cycle
/// dates were skipped.
pub fn next_cycle_after(
    cycle: Cycle,
    scheduled: ChargeDate,
    after: ChargeDate,
) -> (ChargeDate, u32) {
    let mut next = next_after(cycle, scheduled);
    let mut skipped = 0u32;
    if let Cycle::EveryDays(n) = cycle {
        // Arithmetic instead of a walk: the gap may be long.
        let n = i64::from(n.clamp(1, MAX_EVERY_DAYS));
        let behind = next.days_until(after);
        if behind >= 0 {
            let steps = behind / n + 1;
            next = next.plus_days(steps * n);
            skipped = u32::try_from(steps).unwrap_or(u32::MAX);
        }
        return (next, skipped);
    }
    // Weekly and monthly advance at least 7 days a step: a few thousand steps cover centuries.
    while next <= after {
        next = next_after(cycle, next);
        skipped = skipped.saturating_add(1);
    }
    (next, skipped)
}

/// Whether a charge for `date` is due at instant `now`: from 00:00 JST of that date on.
pub fn is_due(date: ChargeDate, now: UnixMillis) -> bool {
    now >= date.start()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u8, day: u8) -> ChargeDate {
        ChargeDate::new(y, m, day).expect("test date")
    }

    #[test]
    fn amazon_frequency_of_cycles() {
        let f = |c: &str| Cycle::parse(c).map(Cycle::amazon_frequency);
        assert_eq!(f("days:14"), Ok(("Day", 14)));
        assert_eq!(f("monthly:31"), Ok(("Month", 1)));
        assert_eq!(f("weekly:fri"), Ok(("Week", 1)));
    }

    #[test]
    fn parse_and_format() {
        for (s, c) in [
            ("days:1", Cycle::EveryDays(1)),
            ("days:365", Cycle::EveryDays(365)),
            ("monthly:1", Cycle::Monthly { day: 1 }),
            ("monthly:31", Cycle::Monthly { day: 31 }),
            ("weekly:fri", Cycle::Weekly(Weekday::Fri)),
        ] {
            assert_eq!(Cycle::parse(s), Ok(c), "{s}");
            assert_eq!(c.to_string(), s);
        }
        assert_eq!(Cycle::parse(" days:07 "), Ok(Cycle::EveryDays(7)));
        for (s, e) in [
            ("", CycleError::UnknownForm),
            ("days", CycleError::UnknownForm),
            ("yearly:1", CycleError::UnknownForm),
            ("days:0", CycleError::EveryDaysOutOfRange),
            ("days:366", CycleError::EveryDaysOutOfRange),
            ("days:-1", CycleError::EveryDaysOutOfRange),
            ("days:+5", CycleError::EveryDaysOutOfRange),
            ("days:", CycleError::EveryDaysOutOfRange),
            ("days:99999999999", CycleError::EveryDaysOutOfRange),
            ("monthly:0", CycleError::DayOfMonthOutOfRange),
            ("monthly:32", CycleError::DayOfMonthOutOfRange),
            ("monthly:300", CycleError::DayOfMonthOutOfRange),
            ("weekly:Mon", CycleError::UnknownWeekday),
            ("weekly:", CycleError::UnknownWeekday),
        ] {
            assert_eq!(Cycle::parse(s), Err(e.clone()), "{s}");
            assert!(!e.message_ja().is_empty() && !e.message_en().is_empty());
        }
        assert_eq!(
            serde_json::to_string(&Cycle::Monthly { day: 31 }).ok(),
            Some("\"monthly:31\"".into())
        );
        assert!(serde_json::from_str::<Cycle>("\"days:0\"").is_err());
        assert_eq!(
            Cycle::Monthly { day: 31 }.label_ja(),
            "毎月31日(ない月は月末)"
        );
        assert_eq!(Cycle::Weekly(Weekday::Fri).label_ja(), "毎週金曜日");
        assert_eq!(Cycle::EveryDays(14).label_en(), "every 14 days");
    }

    #[test]
    fn month_ends_clamp_and_come_back() {
        let c = Cycle::Monthly { day: 31 };
        let mut x = d(2026, 1, 31);
        let mut seen = vec![];
        for _ in 0..5 {
            x = next_after(c, x);
            seen.push(x);
        }
        assert_eq!(
            seen,
            vec![
                d(2026, 2, 28),
                d(2026, 3, 31),
                d(2026, 4, 30),
                d(2026, 5, 31),
                d(2026, 6, 30)
            ]
        );
        // Leap year 2028.
        assert_eq!(next_after(c, d(2028, 1, 31)), d(2028, 2, 29));
        assert_eq!(
            next_after(Cycle::Monthly { day: 29 }, d(2028, 1, 29)),
            d(2028, 2, 29)
        );
        assert_eq!(
            next_after(Cycle::Monthly { day: 29 }, d(2027, 1, 29)),
            d(2027, 2, 28)
        );
        // Year rollover.
        assert_eq!(next_after(c, d(2026, 12, 31)), d(2027, 1, 31));
        assert_eq!(
            next_after(Cycle::EveryDays(1), d(2026, 12, 31)),
            d(2027, 1, 1)
        );
        assert_eq!(
            next_after(Cycle::EveryDays(365), d(2027, 3, 1)),
            d(2028, 2, 29)
        );
        // A date moved within a month still counts for that month.
        assert_eq!(
            next_after(Cycle::Monthly { day: 25 }, d(2026, 3, 2)),
            d(2026, 4, 25)
        );
    }

    #[test]
    fn weekly_and_first_dates() {
        let fri = Cycle::Weekly(Weekday::Fri);
        // 2026-01-02 is a Friday.
        assert_eq!(d(2026, 1, 2).weekday(), Weekday::Fri);
        assert_eq!(next_after(fri, d(2026, 1, 2)), d(2026, 1, 9));
        assert_eq!(next_after(fri, d(2025, 12, 31)), d(2026, 1, 2));
        assert_eq!(first_on_or_after(fri, d(2026, 1, 2)), d(2026, 1, 2));
        assert_eq!(first_on_or_after(fri, d(2026, 1, 3)), d(2026, 1, 9));
        let m31 = Cycle::Monthly { day: 31 };
        assert_eq!(first_on_or_after(m31, d(2027, 2, 10)), d(2027, 2, 28));
        assert_eq!(first_on_or_after(m31, d(2027, 2, 28)), d(2027, 2, 28));
        let m10 = Cycle::Monthly { day: 10 };
        assert_eq!(first_on_or_after(m10, d(2026, 12, 11)), d(2027, 1, 10));
        assert_eq!(
            first_on_or_after(Cycle::EveryDays(30), d(2026, 5, 5)),
            d(2026, 5, 5)
        );
    }

    #[test]
    fn catching_up_skips_missed_cycles() {
        let m = Cycle::Monthly { day: 31 };
        assert_eq!(
            next_cycle_after(m, d(2026, 1, 31), d(2026, 2, 3)),
            (d(2026, 2, 28), 0)
        );
        assert_eq!(
            next_cycle_after(m, d(2026, 1, 31), d(2026, 2, 28)),
            (d(2026, 3, 31), 1)
        );
        let w = Cycle::EveryDays(7);
        assert_eq!(
            next_cycle_after(w, d(2026, 1, 1), d(2026, 1, 8)),
            (d(2026, 1, 15), 1)
        );
        assert_eq!(
            next_cycle_after(w, d(2026, 1, 1), d(2025, 1, 8)),
            (d(2026, 1, 8), 0)
        );
    }

    #[test]
    fn due_from_jst_midnight() {
        let day = d(2026, 11, 23);
        // 2026-11-22T15:00:00Z = 2026-11-23 00:00 JST.
        let midnight = UnixMillis(1_795_359_600_000);
        assert!(is_due(day, midnight));
        assert!(!is_due(day, UnixMillis(midnight.0 - 1)));
    }

    fn any_date() -> impl Strategy<Value = ChargeDate> {
        // 1990-01-01 ..= 2100-12-31
        (7305i64..=47_482).prop_map(ChargeDate::from_day_number)
    }

    fn any_cycle() -> impl Strategy<Value = Cycle> {
        prop_oneof![
            (1u16..=365).prop_map(Cycle::EveryDays),
            (1u8..=31).prop_map(|day| Cycle::Monthly { day }),
            (0usize..7).prop_map(|i| Cycle::Weekly(Weekday::ALL[i])),
        ]
    }

    proptest! {
        #[test]
        fn next_is_strictly_after(c in any_cycle(), x in any_date()) {
            let n = next_after(c, x);
            prop_assert!(n > x);
            prop_assert!(first_on_or_after(c, x) >= x);
            prop_assert!(ChargeDate::new(n.year(), n.month(), n.day()).is_some());
        }

        #[test]
        fn cycle_strings_round_trip(c in any_cycle()) {
            prop_assert_eq!(Cycle::parse(&c.to_string()), Ok(c));
        }

        #[test]
        fn every_n_days_is_exactly_n(n in 1u16..=365, x in any_date()) {
            let c = Cycle::EveryDays(n);
            let mut a = x;
            for _ in 0..5 {
                let b = next_after(c, a);
                prop_assert_eq!(a.days_until(b), i64::from(n));
                a = b;
            }
        }

        #[test]
        fn weekly_is_seven_days_on_its_weekday(i in 0usize..7, x in any_date()) {
            let w = Weekday::ALL[i];
            let first = next_after(Cycle::Weekly(w), x);
            prop_assert!((1..=7).contains(&x.days_until(first)));
            prop_assert_eq!(first.weekday(), w);
            let second = next_after(Cycle::Weekly(w), first);
            prop_assert_eq!(first.days_until(second), 7);
        }

        /// Monthly: one charge per calendar month, none skipped, never on a day the month lacks,
        /// on day D whenever the month has it, else on its last day.
        #[test]
        fn monthly_never_skips_and_clamps(day in 1u8..=31, x in any_date()) {
            let c = Cycle::Monthly { day };
            let mut a = first_on_or_after(c, x);
            for _ in 0..30 {
                let b = next_after(c, a);
                prop_assert_eq!(a.following_month(), (b.year(), b.month()));
                prop_assert!(ChargeDate::new(b.year(), b.month(), b.day()).is_some());
                prop_assert_eq!(b.day(), day.min(b.days_in_month()));
                a = b;
            }
        }

        #[test]
        fn catch_up_lands_after_and_on_the_cycle(c in any_cycle(), x in any_date(), gap in 0i64..1000) {
            let after = x.plus_days(gap);
            let (n, skipped) = next_cycle_after(c, x, after);
            prop_assert!(n > after);
            // Walking from x by next_after reaches n after `skipped + 1` steps.
            let mut w = x;
            for _ in 0..=skipped {
                w = next_after(c, w);
            }
            prop_assert_eq!(w, n);
        }
    }
}
