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
use crate::payment::PaymentState;

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

    /// The capture deadline of a payment in `state`: only a 仮売上 waits for capture and has one
    /// (none either when no authorisation time is recorded). The one rule behind the
    /// console's countdown and [`super::PaymentSnapshot::capture_deadline`].
    pub fn capture_deadline(
        method: PaymentMethod,
        state: PaymentState,
        authorized_at: Option<UnixMillis>,
    ) -> Option<AuthorizationExpiry> {
        match state {
            PaymentState::Authorized => {
                authorized_at.map(|at| AuthorizationExpiry::new(method, at))
            }
            PaymentState::RequiresPayment
            | PaymentState::Processing
            | PaymentState::RequiresAction
            | PaymentState::Captured
            | PaymentState::Verified
            | PaymentState::Voided
            | PaymentState::Returned
            | PaymentState::ReturnedNextMonth
            | PaymentState::Refunded
            | PaymentState::PartiallyRefunded
            | PaymentState::Declined
            | PaymentState::Unpaid
            | PaymentState::Expired
            | PaymentState::Unknown => None,
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

    /// The latest `authorized_at` whose authorisation is near expiry (`threshold_days`) or
    /// expired at `now`: anything authorised later needs no attention yet. A bound for database
    /// queries, so "期限間近" finds the oldest 仮売上 of a large shop, not only its newest rows.
    /// Expiring on JST day `today + threshold_days` at the latest means expiring before
    /// `now + threshold_days + 1` days, i.e. authorised before `now - (valid - threshold - 1)` days.
    pub fn latest_needing_attention(
        method: PaymentMethod,
        now: UnixMillis,
        threshold_days: i64,
    ) -> UnixMillis {
        now.plus_days(threshold_days + 1 - method.authorization_valid_days())
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn method(card: bool) -> PaymentMethod {
        if card {
            PaymentMethod::Card
        } else {
            PaymentMethod::AmazonPay
        }
    }

    proptest! {
        /// Every authorisation that is near expiry or expired lies at or before the bound, so
        /// a query bounded by it misses none.
        #[test]
        fn the_attention_bound_misses_nothing(
            card: bool,
            now in 1_600_000_000_000_i64..1_900_000_000_000,
            age_ms in 0_i64..(90 * DAY_MS),
            threshold in 0_i64..15,
        ) {
            let m = method(card);
            let e = AuthorizationExpiry::new(m, UnixMillis(now - age_ms));
            let bound = AuthorizationExpiry::latest_needing_attention(m, UnixMillis(now), threshold);
            if e.near_expiry(UnixMillis(now), threshold) || e.is_expired(UnixMillis(now)) {
                prop_assert!(e.authorized_at <= bound, "{e:?} now {now} bound {bound:?}");
            }
        }
    }

    #[test]
    fn the_attention_bound_is_tight_within_a_day() {
        // Card (60 days), 7-day threshold: the bound is 52 days back; 53 days back is near
        // (expires in 7 days), 51 days back is not (9 days left).
        let now = JstDateTime::parse_gmo("20270315120000").map(|d| d.to_unix());
        let Some(now) = now else {
            panic!("valid JST time");
        };
        let bound = AuthorizationExpiry::latest_needing_attention(PaymentMethod::Card, now, 7);
        assert_eq!(bound, now.plus_days(-52));
        let just_near = AuthorizationExpiry::new(PaymentMethod::Card, now.plus_days(-53));
        assert!(just_near.near_expiry(now, 7));
        let not_yet = AuthorizationExpiry::new(PaymentMethod::Card, now.plus_days(-51));
        assert!(!not_yet.near_expiry(now, 7));
    }
}
