//! How long a 仮売上 stays capturable: card 60 days, Amazon Pay 30 days.
//!
//! The window is counted to the millisecond from the authorisation (`authorized_at + N × 24 h`),
//! because that is what the gateways compare: GMO answers E01420010 once the window has passed
//! (reference §4b, 60 days [S]) and Amazon cancels the Charge (`ExpiredUnused`) 30 days after it
//! was authorised (reference §1.4 [C]). kessai treats the exact instant `expires_at` as expired
//! already (the GMO sandbox still accepts a SALES at that millisecond): refusing one millisecond
//! early never sends a call the gateway would refuse.
//!
//! For people, the countdown is in JST calendar days ([`AuthorizationExpiry::days_left`]).

use crate::jst::{JstDateTime, UnixMillis};

use super::PaymentMethod;

/// GMO-PG: days from 仮売上 to the last possible 実売上 (reference §4b [S]; contract-dependent).
pub const CARD_AUTHORIZATION_VALID_DAYS: i64 = 60;

const DAY_MS: i64 = 86_400_000;

/// The validity window of one authorisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorizationExpiry {
    pub authorized_at: UnixMillis,
    pub valid_days: i64,
}

impl AuthorizationExpiry {
    pub fn new(method: PaymentMethod, authorized_at: UnixMillis) -> AuthorizationExpiry {
        AuthorizationExpiry {
            authorized_at,
            valid_days: method.authorization_valid_days(),
        }
    }

    /// The first instant at which the authorisation can no longer be captured.
    pub fn expires_at(&self) -> UnixMillis {
        self.authorized_at.plus_days(self.valid_days)
    }

    pub fn is_expired(&self, now: UnixMillis) -> bool {
        now >= self.expires_at()
    }

    /// JST calendar days from today to the day the authorisation expires: 0 on that day
    /// (whether or not the hour has passed), 1 the day before, negative once the day is over.
    pub fn days_left(&self, now: UnixMillis) -> i64 {
        jst_day_number(self.expires_at()) - jst_day_number(now)
    }

    /// Still capturable, but its last day is at most `threshold_days` JST days away.
    pub fn near_expiry(&self, now: UnixMillis, threshold_days: i64) -> bool {
        !self.is_expired(now) && self.days_left(now) <= threshold_days
    }
}

/// Days since 1970-01-01 of the JST calendar date of `t`.
fn jst_day_number(t: UnixMillis) -> i64 {
    let d = t.to_jst();
    let midnight = JstDateTime {
        hour: 0,
        minute: 0,
        second: 0,
        ..d
    }
    .to_unix();
    // JST midnight is 15:00 UTC of the day before: shift back to a whole UTC day count.
    (midnight.0 + 9 * 3_600_000).div_euclid(DAY_MS)
}
