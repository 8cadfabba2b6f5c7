//! A JST calendar date (no time of day): the unit every subscription rule counts in.
//!
//! This is a date-only view over [`crate::jst`]'s calendar (the same Hinnant day numbers,
//! [`days_in_month`] and JST offset); it adds no calendar of its own.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::jst::{JstDateTime, UnixMillis, civil_from_days, days_from_civil, days_in_month};

/// Years a [`ChargeDate`] may be parsed in. Arithmetic outside stays correct; this only keeps
/// typos such as `0202-01-01` out of the API.
pub const MIN_YEAR: i32 = 1970;
pub const MAX_YEAR: i32 = 9999;

/// A calendar date in Japan (JST, UTC+9). Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChargeDate {
    year: i32,
    month: u8,
    day: u8,
}

/// A day of the week, Monday first (ISO 8601).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// 0 = Monday … 6 = Sunday.
    pub fn index(self) -> u8 {
        match self {
            Weekday::Mon => 0,
            Weekday::Tue => 1,
            Weekday::Wed => 2,
            Weekday::Thu => 3,
            Weekday::Fri => 4,
            Weekday::Sat => 5,
            Weekday::Sun => 6,
        }
    }

    /// The API's name: `mon` … `sun`.
    pub fn as_str(self) -> &'static str {
        match self {
            Weekday::Mon => "mon",
            Weekday::Tue => "tue",
            Weekday::Wed => "wed",
            Weekday::Thu => "thu",
            Weekday::Fri => "fri",
            Weekday::Sat => "sat",
            Weekday::Sun => "sun",
        }
    }

    pub fn parse(s: &str) -> Option<Weekday> {
        Weekday::ALL.into_iter().find(|w| w.as_str() == s)
    }

    /// 月曜日 … 日曜日.
    pub fn label_ja(self) -> &'static str {
        match self {
            Weekday::Mon => "月曜日",
            Weekday::Tue => "火曜日",
            Weekday::Wed => "水曜日",
            Weekday::Thu => "木曜日",
            Weekday::Fri => "金曜日",
            Weekday::Sat => "土曜日",
            Weekday::Sun => "日曜日",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Weekday::Mon => "Monday",
            Weekday::Tue => "Tuesday",
            Weekday::Wed => "Wednesday",
            Weekday::Thu => "Thursday",
            Weekday::Fri => "Friday",
            Weekday::Sat => "Saturday",
            Weekday::Sun => "Sunday",
        }
    }
}

impl ChargeDate {
    /// A real date (`None` for 2027-02-29, month 13, day 0, …).
    pub fn new(year: i32, month: u8, day: u8) -> Option<ChargeDate> {
        let ok = (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        ok.then_some(ChargeDate { year, month, day })
    }

    /// The JST date an instant falls on (`2026-11-22T15:00:00Z` is already the 23rd in Japan).
    pub fn of_instant(t: UnixMillis) -> ChargeDate {
        let j = t.to_jst();
        ChargeDate {
            year: j.year,
            month: j.month,
            day: j.day,
        }
    }

    /// 00:00:00.000 JST of this date (15:00 UTC the day before).
    pub fn start(self) -> UnixMillis {
        JstDateTime {
            year: self.year,
            month: self.month,
            day: self.day,
            hour: 0,
            minute: 0,
            second: 0,
        }
        .to_unix()
    }

    pub fn year(self) -> i32 {
        self.year
    }
    pub fn month(self) -> u8 {
        self.month
    }
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn day_number(self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }

    pub fn from_day_number(n: i64) -> ChargeDate {
        let (year, month, day) = civil_from_days(n);
        ChargeDate { year, month, day }
    }

    pub fn plus_days(self, days: i64) -> ChargeDate {
        ChargeDate::from_day_number(self.day_number().saturating_add(days))
    }

    /// `other − self` in days.
    pub fn days_until(self, other: ChargeDate) -> i64 {
        other.day_number() - self.day_number()
    }

    pub fn weekday(self) -> Weekday {
        // 1970-01-01 was a Thursday (index 3).
        let i = (self.day_number() + 3).rem_euclid(7);
        Weekday::ALL[i as usize]
    }

    /// The number of days of this date's month.
    pub fn days_in_month(self) -> u8 {
        days_in_month(self.year, self.month)
    }

    /// Day `day` of the given month, or the month's last day when it has fewer days
    /// (day 31 of February 2028 is 2028-02-29). `day` is clamped into 1..=31 first.
    pub fn clamped(year: i32, month: u8, day: u8) -> ChargeDate {
        let month = month.clamp(1, 12);
        let day = day.clamp(1, days_in_month(year, month));
        ChargeDate { year, month, day }
    }

    /// `(year, month)` of the month after this date's.
    pub fn following_month(self) -> (i32, u8) {
        if self.month == 12 {
            (self.year.saturating_add(1), 1)
        } else {
            (self.year, self.month + 1)
        }
    }

    /// Whether both dates lie in the same JST calendar month.
    pub fn same_month(self, other: ChargeDate) -> bool {
        (self.year, self.month) == (other.year, other.month)
    }

    /// Parses `YYYY-MM-DD` (the API's form); years [`MIN_YEAR`]..=[`MAX_YEAR`].
    pub fn parse(s: &str) -> Option<ChargeDate> {
        let b = s.as_bytes();
        let shape = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape {
            return None;
        }
        let year: i32 = s.get(0..4)?.parse().ok()?;
        let month: u8 = s.get(5..7)?.parse().ok()?;
        let day: u8 = s.get(8..10)?.parse().ok()?;
        if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
            return None;
        }
        ChargeDate::new(year, month, day)
    }

    /// `YYYYMMDD`, for ids.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for ChargeDate {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for ChargeDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChargeDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ChargeDate, D::Error> {
        let s = String::deserialize(d)?;
        ChargeDate::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!("invalid date {s:?}: expected YYYY-MM-DD"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u8, day: u8) -> ChargeDate {
        ChargeDate::new(y, m, day).expect("test date")
    }

    #[test]
    fn jst_midnight_boundary() {
        // 2026-11-22T15:00:00Z is 2026-11-23 00:00:00 JST.
        let midnight = UnixMillis(1_795_359_600_000);
        assert_eq!(ChargeDate::of_instant(midnight), d(2026, 11, 23));
        assert_eq!(
            ChargeDate::of_instant(UnixMillis(midnight.0 - 1)),
            d(2026, 11, 22)
        );
        assert_eq!(d(2026, 11, 23).start(), midnight);
        // New Year in Japan comes at 15:00 UTC on 31 December.
        let ny = d(2027, 1, 1).start();
        assert_eq!(ChargeDate::of_instant(ny), d(2027, 1, 1));
        assert_eq!(
            ChargeDate::of_instant(UnixMillis(ny.0 - 1)),
            d(2026, 12, 31)
        );
    }

    #[test]
    fn weekdays_and_parsing() {
        assert_eq!(d(1970, 1, 1).weekday(), Weekday::Thu);
        assert_eq!(d(2026, 1, 1).weekday(), Weekday::Thu);
        assert_eq!(d(2028, 2, 29).weekday(), Weekday::Tue);
        assert_eq!(ChargeDate::parse("2028-02-29"), Some(d(2028, 2, 29)));
        for bad in [
            "2027-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "20260101",
            "+026-01-01",
            "2026-01-0a",
            "0999-01-01",
            "",
        ] {
            assert_eq!(ChargeDate::parse(bad), None, "{bad}");
        }
        assert_eq!(d(2026, 3, 9).to_string(), "2026-03-09");
        assert_eq!(d(2026, 3, 9).compact(), "20260309");
        assert_eq!(ChargeDate::clamped(2028, 2, 31), d(2028, 2, 29));
        assert_eq!(ChargeDate::clamped(2027, 2, 31), d(2027, 2, 28));
        assert_eq!(d(2026, 12, 5).following_month(), (2027, 1));
        let json = serde_json::to_string(&d(2026, 3, 9)).expect("serialize");
        assert_eq!(json, "\"2026-03-09\"");
        assert_eq!(
            serde_json::from_str::<ChargeDate>(&json).ok(),
            Some(d(2026, 3, 9))
        );
        assert!(serde_json::from_str::<ChargeDate>("\"2026-02-30\"").is_err());
    }
}
