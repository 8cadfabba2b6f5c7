//! The identity of one charge attempt of one cycle: (subscription id, scheduled date, attempt).
//!
//! Two cron runs that look at the same due subscription compute the same [`ChargeKey`], so the
//! edge can claim it with a unique key in D1 before any gateway call: the second run's insert
//! fails and it charges nothing. The same triple gives the GMO OrderID (which GMO keeps forever,
//! E01040010 on reuse) and the Amazon `x-amz-pay-idempotency-key` of the attempt.

use sha2::{Digest, Sha256};

use super::date::ChargeDate;

/// GMO's OrderID limit (`gmo-pg.md`: ≤ 27 characters of `[A-Za-z0-9-]`).
pub const GMO_ORDER_ID_MAX: usize = 27;

/// Attempt 0 is the scheduled charge, 1.. the retries (and the attempts after a source change).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChargeKey {
    pub subscription_id: String,
    pub scheduled_on: ChargeDate,
    pub attempt: u8,
}

/// Crockford-style base32 without i, l, o, u: lowercase letters and digits only.
const BASE32: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

impl ChargeKey {
    pub fn new(subscription_id: &str, scheduled_on: ChargeDate, attempt: u8) -> ChargeKey {
        ChargeKey {
            subscription_id: subscription_id.to_string(),
            scheduled_on,
            attempt,
        }
    }

    /// The D1 unique key: `{subscription id}/{YYYY-MM-DD}/{attempt}`. Injective: the last two
    /// fields have a fixed form and contain no `/`, so the key reads back from the right even
    /// when the subscription id contains `/`.
    pub fn storage_key(&self) -> String {
        format!(
            "{}/{}/{}",
            self.subscription_id, self.scheduled_on, self.attempt
        )
    }

    /// The GMO OrderID of this attempt, exactly 27 characters of `[a-z0-9-]`:
    /// `kr` + `YYYYMMDD` + attempt as 2 hex digits + `-` + 14 base32 characters of
    /// SHA-256("kessai-subscription:" + subscription id). (A date outside years 1000..=9999,
    /// which no API accepts, spells a longer year and leaves fewer hash characters; the length
    /// stays 27.)
    ///
    /// Date and attempt are spelled out, so two attempts of one subscription never share an
    /// OrderID; different subscriptions differ in the 70-bit hash (a collision is as likely as
    /// guessing a 70-bit random number; GMO would answer E01040010 and the edge records the attempt
    /// as failed rather than charging twice). The `kr` prefix keeps these apart from one-time
    /// payments' `ks-…` OrderIDs. It is also a valid Amazon idempotency key (≤ 32 of
    /// `[A-Za-z0-9_-]`).
    pub fn order_id(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"kessai-subscription:");
        h.update(self.subscription_id.as_bytes());
        let digest = h.finalize();
        let mut out = String::with_capacity(GMO_ORDER_ID_MAX);
        out.push_str("kr");
        out.push_str(&self.scheduled_on.compact());
        out.push_str(&format!("{:02x}", self.attempt));
        out.push('-');
        // Read the digest as a bit string, 5 bits a character.
        let mut acc: u32 = 0;
        let mut bits = 0u32;
        let mut bytes = digest.iter();
        while out.len() < GMO_ORDER_ID_MAX {
            if bits < 5 {
                // 32 bytes hold 51 characters' worth: never runs dry.
                let b = bytes.next().copied().unwrap_or(0);
                acc = (acc << 8) | u32::from(b);
                bits += 8;
            }
            let idx = ((acc >> (bits - 5)) & 31) as usize;
            bits -= 5;
            out.push(char::from(BASE32[idx]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::request::idempotency_key_ok;
    use crate::gmo::api::order_id_error;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn d(y: i32, m: u8, day: u8) -> ChargeDate {
        ChargeDate::new(y, m, day).expect("test date")
    }

    #[test]
    fn deterministic_and_distinct() {
        let k = ChargeKey::new("sub_0123456789ab", d(2026, 1, 31), 0);
        assert_eq!(
            k.order_id(),
            ChargeKey::new("sub_0123456789ab", d(2026, 1, 31), 0).order_id()
        );
        assert_eq!(k.storage_key(), "sub_0123456789ab/2026-01-31/0");
        let id = k.order_id();
        assert_eq!(id.len(), 27);
        assert!(id.starts_with("kr2026013100-"), "{id}");
        assert_eq!(order_id_error(&id), None);
        assert!(idempotency_key_ok(&id));
        let mut seen = HashSet::new();
        for sub in ["a", "b", "sub/x", "", "定期"] {
            for date in [d(2026, 1, 31), d(2026, 2, 28), d(2028, 2, 29)] {
                for attempt in [0u8, 1, 2, 3, 255] {
                    let k = ChargeKey::new(sub, date, attempt);
                    assert!(seen.insert(k.order_id()), "{k:?}");
                    assert_eq!(order_id_error(&k.order_id()), None);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn order_id_always_valid(sub in ".{0,80}", day in -1000i64..3_000_000, attempt in any::<u8>()) {
            let k = ChargeKey::new(&sub, ChargeDate::from_day_number(day), attempt);
            let id = k.order_id();
            prop_assert_eq!(id.len(), GMO_ORDER_ID_MAX);
            prop_assert_eq!(order_id_error(&id), None);
            prop_assert!(idempotency_key_ok(&id));
            prop_assert_eq!(k.clone().order_id(), id);
        }

        #[test]
        fn order_ids_differ_when_any_part_differs(
            sub in "[a-z0-9_]{1,20}",
            other in "[a-z0-9_]{1,20}",
            day in 7305i64..47_482,
            shift in 1i64..400,
            attempt in 0u8..255,
        ) {
            let date = ChargeDate::from_day_number(day);
            let k = ChargeKey::new(&sub, date, attempt);
            prop_assert_ne!(k.order_id(), ChargeKey::new(&sub, date.plus_days(shift), attempt).order_id());
            prop_assert_ne!(k.order_id(), ChargeKey::new(&sub, date, attempt + 1).order_id());
            if sub != other {
                prop_assert_ne!(k.order_id(), ChargeKey::new(&other, date, attempt).order_id());
                prop_assert_ne!(k.storage_key(), ChargeKey::new(&other, date, attempt).storage_key());
            }
        }
    }
}
