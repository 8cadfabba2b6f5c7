//! Japan Standard Time (UTC+9, no daylight saving) calendar arithmetic.
//!
//! Every calendar rule of the product (same day → 取消, same month → 返品, 60/30-day authorization
//! windows, GMO's `yyyyMMddHHmmss` dates) is computed here from a Unix time the caller injects.

use std::fmt;

/// Milliseconds since the Unix epoch (UTC). The only way time enters kessai's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub i64);

const JST_OFFSET_MS: i64 = 9 * 3600 * 1000;
const DAY_MS: i64 = 86_400_000;

/// A wall-clock time in JST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JstDateTime {
    pub year: i32,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub(crate) fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            if leap { 29 } else { 28 }
        }
    }
}

impl UnixMillis {
    pub fn to_jst(self) -> JstDateTime {
        let local = self.0 + JST_OFFSET_MS;
        let days = local.div_euclid(DAY_MS);
        let ms_of_day = local.rem_euclid(DAY_MS);
        let (year, month, day) = civil_from_days(days);
        let secs = ms_of_day / 1000;
        JstDateTime {
            year,
            month,
            day,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
        }
    }
    pub fn plus_days(self, days: i64) -> UnixMillis {
        UnixMillis(self.0 + days * DAY_MS)
    }
    pub fn plus_minutes(self, minutes: i64) -> UnixMillis {
        UnixMillis(self.0 + minutes * 60_000)
    }
}

impl JstDateTime {
    /// Parses GMO's `yyyyMMddHHmmss` (always JST). Rejects impossible dates.
    pub fn parse_gmo(s: &str) -> Option<JstDateTime> {
        if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let n = |a: usize, b: usize| s[a..b].parse::<u32>().ok();
        let dt = JstDateTime {
            year: n(0, 4)? as i32,
            month: n(4, 6)? as u8,
            day: n(6, 8)? as u8,
            hour: n(8, 10)? as u8,
            minute: n(10, 12)? as u8,
            second: n(12, 14)? as u8,
        };
        let valid = (1..=12).contains(&dt.month)
            && dt.day >= 1
            && dt.day <= days_in_month(dt.year, dt.month)
            && dt.hour < 24
            && dt.minute < 60
            && dt.second < 60;
        valid.then_some(dt)
    }

    pub fn to_unix(self) -> UnixMillis {
        let days = days_from_civil(self.year, self.month, self.day);
        let secs =
            i64::from(self.hour) * 3600 + i64::from(self.minute) * 60 + i64::from(self.second);
        UnixMillis(days * DAY_MS + secs * 1000 - JST_OFFSET_MS)
    }

    /// GMO's `yyyyMMddHHmmss`.
    pub fn gmo_format(&self) -> String {
        format!(
            "{:04}{:02}{:02}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    pub fn same_day(&self, other: &JstDateTime) -> bool {
        (self.year, self.month, self.day) == (other.year, other.month, other.day)
    }
    pub fn same_month(&self, other: &JstDateTime) -> bool {
        (self.year, self.month) == (other.year, other.month)
    }
}

impl fmt::Display for JstDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} JST",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        // 2026-11-22T15:00:00Z is 2026-11-23 00:00:00 JST.
        let t = UnixMillis(1_795_359_600_000);
        assert_eq!(t.to_jst().gmo_format(), "20261123000000");
        // one millisecond earlier is still the 22nd in Japan.
        assert_eq!(UnixMillis(t.0 - 1).to_jst().gmo_format(), "20261122235959");
        assert_eq!(UnixMillis(0).to_jst().gmo_format(), "19700101090000");
    }

    #[test]
    fn month_and_leap_boundaries() {
        let end_feb = JstDateTime::parse_gmo("20280229235959").expect("2028 is a leap year");
        let next = UnixMillis(end_feb.to_unix().0 + 1000).to_jst();
        assert_eq!(next.gmo_format(), "20280301000000");
        assert!(!end_feb.same_month(&next));
        assert!(JstDateTime::parse_gmo("20270229000000").is_none());
        assert!(JstDateTime::parse_gmo("20261131000000").is_none());
        assert!(JstDateTime::parse_gmo("2026113100000").is_none());
    }

    proptest! {
        #[test]
        fn round_trip(secs in -2_000_000_000i64..8_000_000_000i64) {
            let t = UnixMillis(secs * 1000);
            let jst = t.to_jst();
            prop_assert_eq!(jst.to_unix(), t);
            prop_assert_eq!(JstDateTime::parse_gmo(&jst.gmo_format()), Some(jst));
        }
    }
}
