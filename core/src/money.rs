//! Money is integer JPY. No floats, no minor units: the yen has none.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount in Japanese yen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Jpy(i64);

/// GMO-PG rejects Amount + Tax above this (E01490005).
pub const GMO_MAX_AMOUNT: i64 = 9_999_999;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AmountError {
    NotPositive,
    TooLarge { max: i64 },
}

impl AmountError {
    pub fn message_en(&self) -> String {
        match self {
            AmountError::NotPositive => "amount must be a positive whole number of yen".into(),
            AmountError::TooLarge { max } => format!("amount must be at most {max} yen"),
        }
    }
    pub fn message_ja(&self) -> String {
        match self {
            AmountError::NotPositive => "金額は1円以上の整数で指定してください。".into(),
            AmountError::TooLarge { max } => format!("金額は{max}円以下で指定してください。"),
        }
    }
}

impl Jpy {
    /// A chargeable amount: 1 ..= 9,999,999 yen (the GMO-PG ceiling, which also bounds Amazon Pay here).
    pub fn chargeable(yen: i64) -> Result<Jpy, AmountError> {
        if yen < 1 {
            return Err(AmountError::NotPositive);
        }
        if yen > GMO_MAX_AMOUNT {
            return Err(AmountError::TooLarge {
                max: GMO_MAX_AMOUNT,
            });
        }
        Ok(Jpy(yen))
    }
    /// Any stored value (zero allowed: e.g. a fully refunded balance).
    pub const fn from_stored(yen: i64) -> Jpy {
        Jpy(yen)
    }
    pub const fn yen(self) -> i64 {
        self.0
    }
}

impl Jpy {
    /// `¥12,345` (`-¥3,300` below zero): the way Japanese storefronts print prices. The same
    /// text as `Display`, without `core::fmt` (the widget prints its pay label with it).
    pub fn label(self) -> String {
        let text = crate::text::decimal(self.0, 0);
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let mut out = String::with_capacity(digits.len() + 8);
        if self.0 < 0 {
            out.push('-');
        }
        out.push('¥');
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }
}

impl fmt::Display for Jpy {
    /// [`Jpy::label`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(Jpy::chargeable(0), Err(AmountError::NotPositive));
        assert_eq!(Jpy::chargeable(-5), Err(AmountError::NotPositive));
        assert_eq!(Jpy::chargeable(1).map(Jpy::yen), Ok(1));
        assert_eq!(Jpy::chargeable(9_999_999).map(Jpy::yen), Ok(9_999_999));
        assert!(matches!(
            Jpy::chargeable(10_000_000),
            Err(AmountError::TooLarge { .. })
        ));
    }

    #[test]
    fn display_groups_thousands() {
        assert_eq!(Jpy::from_stored(0).to_string(), "¥0");
        assert_eq!(Jpy::from_stored(999).to_string(), "¥999");
        assert_eq!(Jpy::from_stored(1000).to_string(), "¥1,000");
        assert_eq!(Jpy::from_stored(1234567).to_string(), "¥1,234,567");
        assert_eq!(Jpy::from_stored(-3300).to_string(), "-¥3,300");
    }

    #[test]
    fn label_is_display() {
        for yen in [
            0,
            5,
            999,
            1000,
            12_345,
            999_999,
            1_000_000,
            9_999_999,
            -1,
            -3300,
            -1_000_000,
            i64::MAX,
            i64::MIN,
        ] {
            let j = Jpy::from_stored(yen);
            assert_eq!(j.label(), j.to_string(), "{yen}");
        }
        assert_eq!(Jpy::from_stored(1234567).label(), "¥1,234,567");
        assert_eq!(
            Jpy::from_stored(i64::MIN).label(),
            "-¥9,223,372,036,854,775,808"
        );
    }
}
