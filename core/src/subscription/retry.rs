//! When a failed cycle's charge is tried again.
//!
//! A shop configures offsets in days counted from the date the cycle's first attempt failed,
//! e.g. `"1,3,7"` (the default): retries on the day after, three days after and a week after.
//! Attempt 0 is the scheduled charge itself; attempt `n ≥ 1` is the n-th retry. After the last
//! retry fails the subscription becomes 未決済 (see [`super::state`]).

use std::fmt;

use super::date::ChargeDate;

/// The longest offset a shop may configure, in days.
pub const MAX_RETRY_OFFSET_DAYS: u8 = 60;

/// Retry offsets in days from the first failed attempt: non-empty, strictly increasing, 1..=60.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RetrySchedule {
    offsets: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryScheduleError {
    /// No offsets at all.
    Empty,
    /// An entry that is not a whole number of days (e.g. `"1,,3"`, `"2.5"`, `"-1"`).
    NotANumber { item: String },
    /// An offset of 0: the same day as the failure, which the cron that failed already covers.
    Zero,
    /// Above [`MAX_RETRY_OFFSET_DAYS`].
    TooLate { days: u32 },
    /// Not strictly increasing (`"3,1"`, `"1,1"`).
    NotIncreasing,
}

impl RetryScheduleError {
    pub fn code(&self) -> &'static str {
        match self {
            RetryScheduleError::Empty => "retry_schedule_empty",
            RetryScheduleError::NotANumber { .. } => "retry_schedule_not_a_number",
            RetryScheduleError::Zero => "retry_schedule_zero",
            RetryScheduleError::TooLate { .. } => "retry_schedule_too_late",
            RetryScheduleError::NotIncreasing => "retry_schedule_not_increasing",
        }
    }
    pub fn message_en(&self) -> String {
        match self {
            RetryScheduleError::Empty => {
                "retry schedule needs at least one offset in days, e.g. \"1,3,7\"".into()
            }
            RetryScheduleError::NotANumber { item } => {
                format!("retry offset {item:?} is not a whole number of days")
            }
            RetryScheduleError::Zero => {
                "retry offsets start at 1 day after the failed charge (0 is not allowed)".into()
            }
            RetryScheduleError::TooLate { days } => format!(
                "retry offset {days} is more than {MAX_RETRY_OFFSET_DAYS} days after the failed charge"
            ),
            RetryScheduleError::NotIncreasing => {
                "retry offsets must be strictly increasing, e.g. \"1,3,7\"".into()
            }
        }
    }
    pub fn message_ja(&self) -> String {
        match self {
            RetryScheduleError::Empty => {
                "再試行の日数を1つ以上指定してください(例: 1,3,7)。".into()
            }
            RetryScheduleError::NotANumber { item } => {
                format!("再試行の日数「{item}」が整数ではありません。")
            }
            RetryScheduleError::Zero => {
                "再試行の日数は失敗した日の1日後以降で指定してください(0は指定できません)。".into()
            }
            RetryScheduleError::TooLate { days } => {
                format!("再試行の日数 {days} が上限({MAX_RETRY_OFFSET_DAYS}日)を超えています。")
            }
            RetryScheduleError::NotIncreasing => {
                "再試行の日数は小さい順に、重複なく指定してください(例: 1,3,7)。".into()
            }
        }
    }
}

impl fmt::Display for RetryScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl std::error::Error for RetryScheduleError {}

impl Default for RetrySchedule {
    /// +1, +3, +7 days.
    fn default() -> RetrySchedule {
        RetrySchedule {
            offsets: vec![1, 3, 7],
        }
    }
}

impl RetrySchedule {
    /// Checks a list of offsets.
    pub fn new(offsets: &[u32]) -> Result<RetrySchedule, RetryScheduleError> {
        if offsets.is_empty() {
            return Err(RetryScheduleError::Empty);
        }
        let mut out = Vec::with_capacity(offsets.len());
        for &days in offsets {
            if days == 0 {
                return Err(RetryScheduleError::Zero);
            }
            let small = u8::try_from(days)
                .ok()
                .filter(|d| *d <= MAX_RETRY_OFFSET_DAYS)
                .ok_or(RetryScheduleError::TooLate { days })?;
            if out.last().is_some_and(|prev| *prev >= small) {
                return Err(RetryScheduleError::NotIncreasing);
            }
            out.push(small);
        }
        Ok(RetrySchedule { offsets: out })
    }

    /// Parses the shop setting: comma-separated days, spaces around items allowed (`"1, 3, 7"`).
    pub fn parse(s: &str) -> Result<RetrySchedule, RetryScheduleError> {
        if s.trim().is_empty() {
            return Err(RetryScheduleError::Empty);
        }
        let mut days = Vec::new();
        for item in s.split(',') {
            let t = item.trim();
            let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
            if !digits {
                return Err(RetryScheduleError::NotANumber {
                    item: t.to_string(),
                });
            }
            // More digits than fit are certainly too late.
            let n = t.parse::<u32>().unwrap_or(u32::MAX);
            days.push(n);
        }
        RetrySchedule::new(&days)
    }

    pub fn offsets(&self) -> &[u8] {
        &self.offsets
    }

    /// How many retries follow a failed scheduled charge.
    pub fn retries(&self) -> u32 {
        // At most 60 entries.
        self.offsets.len() as u32
    }

    /// The date of retry `attempt` (1 = first retry) of a charge that first failed on
    /// `failed_on`; `None` for attempt 0 (the scheduled charge, not a retry) and after the last.
    pub fn retry_date(&self, failed_on: ChargeDate, attempt: u32) -> Option<ChargeDate> {
        let i = usize::try_from(attempt.checked_sub(1)?).ok()?;
        let days = self.offsets.get(i)?;
        Some(failed_on.plus_days(i64::from(*days)))
    }
}

impl fmt::Display for RetrySchedule {
    /// `1,3,7`: what [`RetrySchedule::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.offsets.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Free function form of [`RetrySchedule::retry_date`].
pub fn retry_date(
    schedule: &RetrySchedule,
    failed_on: ChargeDate,
    attempt: u32,
) -> Option<ChargeDate> {
    schedule.retry_date(failed_on, attempt)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u8, day: u8) -> ChargeDate {
        ChargeDate::new(y, m, day).expect("test date")
    }

    #[test]
    fn default_is_1_3_7() {
        let s = RetrySchedule::default();
        assert_eq!(RetrySchedule::parse("1,3,7"), Ok(s.clone()));
        assert_eq!(RetrySchedule::parse(" 1 , 3,7 "), Ok(s.clone()));
        assert_eq!(s.to_string(), "1,3,7");
        let failed = d(2026, 2, 27);
        assert_eq!(s.retry_date(failed, 0), None);
        assert_eq!(s.retry_date(failed, 1), Some(d(2026, 2, 28)));
        assert_eq!(s.retry_date(failed, 2), Some(d(2026, 3, 2)));
        assert_eq!(retry_date(&s, failed, 3), Some(d(2026, 3, 6)));
        assert_eq!(s.retry_date(failed, 4), None);
        assert_eq!(s.retry_date(failed, u32::MAX), None);
        // Across the year and a leap day.
        assert_eq!(s.retry_date(d(2027, 12, 31), 1), Some(d(2028, 1, 1)));
        assert_eq!(s.retry_date(d(2028, 2, 28), 1), Some(d(2028, 2, 29)));
    }

    #[test]
    fn refuses_bad_settings() {
        use RetryScheduleError as E;
        for (s, e) in [
            ("", E::Empty),
            ("  ", E::Empty),
            ("0,3", E::Zero),
            ("1,3,61", E::TooLate { days: 61 }),
            ("99999999999", E::TooLate { days: u32::MAX }),
            ("3,1", E::NotIncreasing),
            ("1,1", E::NotIncreasing),
            ("1,,3", E::NotANumber { item: "".into() }),
            ("1,3,", E::NotANumber { item: "".into() }),
            ("2.5", E::NotANumber { item: "2.5".into() }),
            ("-1", E::NotANumber { item: "-1".into() }),
            ("+1", E::NotANumber { item: "+1".into() }),
        ] {
            assert_eq!(RetrySchedule::parse(s), Err(e.clone()), "{s:?}");
            assert!(!e.message_ja().is_empty() && !e.code().is_empty());
        }
        assert!(RetrySchedule::parse("60").is_ok());
        assert_eq!(RetrySchedule::new(&[]), Err(E::Empty));
    }

    proptest! {
        #[test]
        fn retry_dates_increase_and_stay_within_60_days(
            mut set in proptest::collection::btree_set(1u32..=60, 1..8),
            day in 7305i64..47_482,
        ) {
            let offsets: Vec<u32> = std::mem::take(&mut set).into_iter().collect();
            let text = offsets.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
            let s = RetrySchedule::parse(&text);
            prop_assert!(s.is_ok());
            let s = s.unwrap_or_default();
            prop_assert_eq!(s.to_string(), text);
            let failed = ChargeDate::from_day_number(day);
            let mut prev = failed;
            for a in 1..=s.retries() {
                let r = s.retry_date(failed, a);
                prop_assert!(r.is_some());
                let r = r.unwrap_or(prev);
                prop_assert!(r > prev && failed.days_until(r) <= 60);
                prev = r;
            }
            prop_assert_eq!(s.retry_date(failed, s.retries() + 1), None);
        }
    }
}
