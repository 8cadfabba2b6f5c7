//! Operator console rules (issue #4), pure: the operator credential format, the session cookie,
//! login throttling and the authorisation countdown shown in the list.
//!
//! Credentials come from the `CONSOLE_OPERATORS` secret as
//! `name:pbkdf2-sha256$<iterations>$<salt base64>$<hash base64>[,name2:…]`. The edge derives
//! with WebCrypto PBKDF2 (never pure-Rust crypto in the worker) and compares in constant time.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::jst::UnixMillis;
use crate::operations::{AuthorizationExpiry, PaymentMethod};
use crate::payment::PaymentState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "kessai_console";
/// A console session lasts one working day.
pub const SESSION_TTL_MS: i64 = 8 * 3_600_000;
/// Failed logins (per operator name) within [`FAILURE_WINDOW_MS`] that lock the name.
pub const MAX_FAILURES: i64 = 5;
pub const FAILURE_WINDOW_MS: i64 = 15 * 60_000;
/// How long a locked name stays locked.
pub const LOCKOUT_MS: i64 = 15 * 60_000;
/// Cloudflare Workers' WebCrypto refuses PBKDF2 above 100 000 iterations (toolchain fact):
/// a credential asking for more could never be verified.
pub const MAX_ITERATIONS: u32 = 100_000;
/// Days before the capture deadline at which the list flags a 仮売上.
pub const NEAR_EXPIRY_DAYS: i64 = 7;

/// One operator's stored credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorCredential {
    pub name: String,
    pub iterations: u32,
    pub salt: Vec<u8>,
    /// The derived key (its length is the derivation's length).
    pub hash: Vec<u8>,
}

/// Why `CONSOLE_OPERATORS` could not be read (English, for the log; never echoes the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialError {
    Empty,
    BadEntry { index: usize, why: &'static str },
    DuplicateName { index: usize },
}

impl CredentialError {
    pub fn message(&self) -> String {
        match self {
            CredentialError::Empty => "CONSOLE_OPERATORS has no operator".into(),
            CredentialError::BadEntry { index, why } => {
                format!("CONSOLE_OPERATORS entry {} {why}", index + 1)
            }
            CredentialError::DuplicateName { index } => {
                format!("CONSOLE_OPERATORS entry {} repeats a name", index + 1)
            }
        }
    }
}

/// Operator names: 1–32 of `A-Z a-z 0-9 - _ .` (they end up in event actors and logs).
pub fn valid_operator_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Parses `CONSOLE_OPERATORS`.
pub fn parse_operators(value: &str) -> Result<Vec<OperatorCredential>, CredentialError> {
    let mut out: Vec<OperatorCredential> = Vec::new();
    for (index, entry) in value
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .enumerate()
    {
        let bad = |why| CredentialError::BadEntry { index, why };
        let (name, spec) = entry.split_once(':').ok_or(bad("has no ':'"))?;
        if !valid_operator_name(name) {
            return Err(bad("has an invalid name"));
        }
        let mut parts = spec.split('$');
        if parts.next() != Some("pbkdf2-sha256") {
            return Err(bad("is not pbkdf2-sha256"));
        }
        let iterations: u32 = parts
            .next()
            .and_then(|i| i.parse().ok())
            .filter(|i| (1..=MAX_ITERATIONS).contains(i))
            .ok_or(bad("needs 1-100000 iterations"))?;
        let salt = parts
            .next()
            .and_then(|s| STANDARD.decode(s).ok())
            .filter(|s| s.len() >= 16)
            .ok_or(bad("needs a base64 salt of at least 16 bytes"))?;
        let hash = parts
            .next()
            .and_then(|s| STANDARD.decode(s).ok())
            .filter(|h| (16..=64).contains(&h.len()))
            .ok_or(bad("needs a base64 hash of 16-64 bytes"))?;
        if parts.next().is_some() {
            return Err(bad("has extra fields"));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(CredentialError::DuplicateName { index });
        }
        out.push(OperatorCredential {
            name: name.to_string(),
            iterations,
            salt,
            hash,
        });
    }
    if out.is_empty() {
        return Err(CredentialError::Empty);
    }
    Ok(out)
}

/// Formats a credential entry (the demo and tests write `CONSOLE_OPERATORS` with it).
pub fn format_operator(c: &OperatorCredential) -> String {
    format!(
        "{}:pbkdf2-sha256${}${}${}",
        c.name,
        c.iterations,
        STANDARD.encode(&c.salt),
        STANDARD.encode(&c.hash)
    )
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The `Set-Cookie` value of a new session.
pub fn session_cookie(token: &str) -> String {
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={}",
        SESSION_TTL_MS / 1000
    )
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0")
}

/// Failed-login bookkeeping for one operator name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginFailures {
    /// Failures counted since `window_start`.
    pub count: i64,
    pub window_start: i64,
    /// Locked until this instant (exclusive), if locked.
    pub locked_until: Option<i64>,
}

impl LoginFailures {
    /// Whether a login for this name is refused now without checking the password.
    pub fn locked(&self, now: i64) -> bool {
        self.locked_until.is_some_and(|t| now < t)
    }

    /// The record after one more failure at `now`: a failure outside the window starts a new
    /// one; the [`MAX_FAILURES`]th failure within the window locks the name.
    pub fn after_failure(&self, now: i64) -> LoginFailures {
        let fresh = now - self.window_start >= FAILURE_WINDOW_MS || self.locked_until.is_some();
        let (count, window_start) = if fresh {
            (1, now)
        } else {
            (self.count + 1, self.window_start)
        };
        LoginFailures {
            count,
            window_start,
            locked_until: (count >= MAX_FAILURES).then_some(now + LOCKOUT_MS),
        }
    }
}

/// The countdown of one list row: when a 仮売上 stops being capturable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryBadge {
    pub expires_at: UnixMillis,
    /// JST calendar days left (0 on the last day, negative after).
    pub days_left: i64,
    pub near_expiry: bool,
    pub expired: bool,
}

/// The countdown for a payment in `state` authorised at `authorized_at` (only a 仮売上 has one).
pub fn expiry_badge(
    method: PaymentMethod,
    state: PaymentState,
    authorized_at: Option<UnixMillis>,
    now: UnixMillis,
) -> Option<ExpiryBadge> {
    let expiry = AuthorizationExpiry::capture_deadline(method, state, authorized_at)?;
    Some(ExpiryBadge {
        expires_at: expiry.expires_at(),
        days_left: expiry.days_left(now),
        near_expiry: expiry.near_expiry(now, NEAR_EXPIRY_DAYS),
        expired: expiry.is_expired(now),
    })
}

/// The state the console shows (受注一覧, 決済詳細) for a stored `state`:
/// - 期限切れ for a 仮売上 past its deadline (`badge`), before anyone asked the gateway;
/// - カード未決済 for a card payment still waiting for payment after a card attempt reached GMO
///   (`card_attempted`: its EntryTran exists; the shopper was declined or left): the order
///   needs the shop's attention, unlike a fresh 未決済 the shopper has not tried to pay yet.
///
/// Only a view: the stored state stays (`requires_payment` can still be paid).
pub fn shown_state(
    state: PaymentState,
    method: PaymentMethod,
    card_attempted: bool,
    badge: Option<&ExpiryBadge>,
) -> PaymentState {
    if badge.is_some_and(|b| b.expired) {
        return PaymentState::Expired;
    }
    match (state, method) {
        (PaymentState::RequiresPayment, PaymentMethod::Card) if card_attempted => {
            PaymentState::Unpaid
        }
        (
            PaymentState::RequiresPayment
            | PaymentState::Processing
            | PaymentState::RequiresAction
            | PaymentState::Authorized
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
            | PaymentState::Unknown,
            PaymentMethod::Card | PaymentMethod::AmazonPay,
        ) => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(name: &str) -> OperatorCredential {
        OperatorCredential {
            name: name.into(),
            iterations: 100_000,
            salt: vec![7; 16],
            hash: vec![9; 32],
        }
    }

    #[test]
    fn operators_round_trip_and_refuse_bad_entries() {
        let value = format!(
            "{},{}",
            format_operator(&cred("alice")),
            format_operator(&cred("bob"))
        );
        let parsed = parse_operators(&value).unwrap();
        assert_eq!(parsed, vec![cred("alice"), cred("bob")]);
        assert_eq!(parse_operators(" , "), Err(CredentialError::Empty));
        let too_many = format_operator(&cred("a")).replace("100000", "100001");
        assert!(matches!(
            parse_operators(&too_many),
            Err(CredentialError::BadEntry { index: 0, .. })
        ));
        let dup = format!(
            "{},{}",
            format_operator(&cred("a")),
            format_operator(&cred("a"))
        );
        assert_eq!(
            parse_operators(&dup),
            Err(CredentialError::DuplicateName { index: 1 })
        );
        assert!(
            parse_operators(
                "bad name:pbkdf2-sha256$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA=="
            )
            .is_err()
        );
        assert!(
            parse_operators("a:sha1$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAA==").is_err()
        );
        // A short salt is refused.
        assert!(parse_operators("a:pbkdf2-sha256$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==").is_err());
    }

    #[test]
    fn cookie_value_finds_the_session_among_others() {
        let h = "a=1; kessai_console=tok123; b=2";
        assert_eq!(cookie_value(h, SESSION_COOKIE), Some("tok123"));
        assert_eq!(cookie_value("kessai_console_x=1", SESSION_COOKIE), None);
        assert_eq!(cookie_value("kessai_console=", SESSION_COOKIE), None);
        assert!(session_cookie("t").contains("HttpOnly; Secure; SameSite=Strict; Path=/"));
        assert!(cleared_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn fifth_failure_in_the_window_locks_and_the_lock_ends() {
        let mut f = LoginFailures::default();
        let t0 = 1_000_000_000;
        for i in 0..MAX_FAILURES {
            assert!(!f.locked(t0 + i), "locked after {i} failures");
            f = f.after_failure(t0 + i);
        }
        assert!(f.locked(t0 + MAX_FAILURES));
        assert!(f.locked(t0 + MAX_FAILURES - 1 + LOCKOUT_MS - 1));
        assert!(!f.locked(t0 + MAX_FAILURES - 1 + LOCKOUT_MS));
        // After the lock a failure starts a new window.
        let after = f.after_failure(t0 + LOCKOUT_MS + 10);
        assert_eq!(after.count, 1);
        assert!(!after.locked(t0 + LOCKOUT_MS + 10));
        // Failures spread beyond the window never lock.
        let mut g = LoginFailures::default();
        for i in 0..10 {
            g = g.after_failure(t0 + i * FAILURE_WINDOW_MS);
            assert!(!g.locked(t0 + i * FAILURE_WINDOW_MS));
        }
    }

    #[test]
    fn expiry_badge_counts_jst_days_and_flags() {
        // 2026-01-01 00:00 JST = 2025-12-31 15:00 UTC.
        let auth = UnixMillis(1_767_193_200_000);
        let day = 86_400_000;
        let b = expiry_badge(
            PaymentMethod::AmazonPay,
            PaymentState::Authorized,
            Some(auth),
            auth,
        )
        .unwrap();
        assert_eq!(b.days_left, 30);
        assert!(!b.near_expiry && !b.expired);
        let near = expiry_badge(
            PaymentMethod::AmazonPay,
            PaymentState::Authorized,
            Some(auth),
            UnixMillis(auth.0 + 23 * day),
        )
        .unwrap();
        assert_eq!(near.days_left, 7);
        assert!(near.near_expiry);
        let past = expiry_badge(
            PaymentMethod::Card,
            PaymentState::Authorized,
            Some(auth),
            UnixMillis(auth.0 + 60 * day),
        )
        .unwrap();
        assert!(past.expired && !past.near_expiry);
        assert_eq!(
            expiry_badge(
                PaymentMethod::Card,
                PaymentState::Captured,
                Some(auth),
                auth
            ),
            None
        );
    }

    #[test]
    fn shown_state_marks_card_unpaid_and_expired_only() {
        use PaymentState as S;
        assert_eq!(
            shown_state(S::RequiresPayment, PaymentMethod::Card, true, None),
            S::Unpaid
        );
        assert_eq!(
            shown_state(S::RequiresPayment, PaymentMethod::Card, false, None),
            S::RequiresPayment
        );
        assert_eq!(
            shown_state(S::RequiresPayment, PaymentMethod::AmazonPay, true, None),
            S::RequiresPayment
        );
        let at = UnixMillis(1_800_000_000_000);
        let expired = expiry_badge(
            PaymentMethod::Card,
            S::Authorized,
            Some(at),
            at.plus_days(61),
        );
        let live = expiry_badge(
            PaymentMethod::Card,
            S::Authorized,
            Some(at),
            at.plus_days(59),
        );
        assert_eq!(
            shown_state(S::Authorized, PaymentMethod::Card, true, expired.as_ref()),
            S::Expired
        );
        assert_eq!(
            shown_state(S::Authorized, PaymentMethod::Card, true, live.as_ref()),
            S::Authorized
        );
        assert_eq!(
            shown_state(S::Captured, PaymentMethod::AmazonPay, false, None),
            S::Captured
        );
    }
}
