//! Card numbers with a fixed outcome in the sandbox. All are Luhn-valid; any other Luhn-valid
//! number approves, a number failing the Luhn check is declined with `42G650000`, and an expiry
//! before the current JST month is declined with `42G830000`.
//!
//! GMO's own test-host triggers are not public [U]; these are kessai's convention. The decline
//! numbers are `4` + twelve `0` + the two digits of the code they trigger + a check digit.
//!
//! 3-D Secure 2 (EntryTran `TdFlag=2`): every card is enrolled and authenticates frictionless
//! with `Y` unless it is one of the `TDS2_*` cards below (`4000000000003` + two digits + a check
//! digit, and the older [`TDS2_FAILS`]). Without 3-D Secure all of them approve like
//! [`APPROVED`].

use kessai_core::gmo::tds2::TransStatus;

/// Approves (Visa). Any expiry in the future, any CVC. With `TdFlag=2`: frictionless `Y`.
pub const APPROVED: &str = "4111111111111111";
/// Approves (JCB).
pub const APPROVED_JCB: &str = "3530111333300000";
/// Approves (Mastercard).
pub const APPROVED_MASTERCARD: &str = "5555555555554444";
/// Approves (American Express, 15 digits, 4-digit CVC).
pub const APPROVED_AMEX: &str = "378282246310005";
/// Declined: insufficient balance, `G02` / `42G020000`. The transaction stays UNPROCESSED.
pub const INSUFFICIENT_FUNDS: &str = "4000000000000028";
/// Declined: card not usable, `G12` / `42G120000`.
pub const CARD_UNUSABLE: &str = "4000000000000127";
/// Declined: security code wrong, `G44` / `42G440000`.
pub const WRONG_CVC: &str = "4000000000000440";
/// Declined: card number wrong, `G65` / `42G650000`.
pub const WRONG_NUMBER: &str = "4000000000000655";
/// Declined: expiry wrong, `G83` / `42G830000`.
pub const EXPIRED_CARD: &str = "4000000000000838";
/// Busy: the first two ExecTran attempts with one token answer `E92`/`E92000001` (nothing is
/// executed and the token is not consumed [U]); the third approves.
pub const BUSY: &str = "4000000000000929";
/// Unknown outcome: the authorisation IS committed (status AUTH, visible in SearchTrade) but the
/// answer is `E91`/`E91099999`.
pub const UNKNOWN_OUTCOME: &str = "4000000000000911";
/// Issuer communication failure: the authorisation IS committed, answer `C01`/`42C010000`.
pub const ISSUER_TIMEOUT: &str = "4000000000000010";
/// 3-D Secure 2 fails at SecureTran2 with `E21`/`E21030007` (only with `TdFlag=2`; without
/// 3-D Secure it approves): the issuer answers `N` (not authenticated) without a challenge.
pub const TDS2_FAILS: &str = "4000000000000218";
/// 3-D Secure 2 frictionless `A` (attempted): SecureTran2 authorises, `Tds2TransResult=A`.
pub const TDS2_ATTEMPTED: &str = "4000000000003014";
/// 3-D Secure 2 challenge: the page asks for a one-time code (shown on it). Right code → `Y`
/// and SecureTran2 authorises; 3 wrong codes or キャンセル → `N` (`E21030007`).
pub const TDS2_CHALLENGE: &str = "4000000000003022";
/// Not enrolled in 3-D Secure 2: `Tds2Type=2` (and `1` [U]) → ExecTran `E21030201`;
/// `Tds2Type=3` → plain authorisation (ACS=0).
pub const TDS2_NOT_ENROLLED: &str = "4000000000003030";
/// 3-D Secure 2 frictionless `U` (authentication unavailable): SecureTran2 `E21030001` [U].
pub const TDS2_UNAVAILABLE: &str = "4000000000003048";
/// 3-D Secure 2 frictionless `R` (rejected by the issuer): SecureTran2 `E21030007` [U].
pub const TDS2_REJECTED: &str = "4000000000003055";

/// Every test card with a one-line description (for docs, demo pages and tests).
pub const TABLE: &[(&str, &str)] = &[
    (
        APPROVED,
        "承認 (VISA)、3Dセキュア2はフリクションレス認証 / approved; 3DS2 frictionless Y",
    ),
    (APPROVED_JCB, "承認 (JCB) / approved"),
    (APPROVED_MASTERCARD, "承認 (Mastercard) / approved"),
    (APPROVED_AMEX, "承認 (AMEX, CVC 4桁) / approved"),
    (
        INSUFFICIENT_FUNDS,
        "残高不足 42G020000 / declined: insufficient funds",
    ),
    (
        CARD_UNUSABLE,
        "利用不可 42G120000 / declined: card not usable",
    ),
    (
        WRONG_CVC,
        "セキュリティコード誤り 42G440000 / declined: wrong CVC",
    ),
    (
        WRONG_NUMBER,
        "カード番号誤り 42G650000 / declined: wrong card number",
    ),
    (EXPIRED_CARD, "有効期限誤り 42G830000 / declined: expiry"),
    (
        BUSY,
        "混雑 E92000001 ×2 のあと承認 / busy twice, then approved",
    ),
    (
        UNKNOWN_OUTCOME,
        "結果不明 E91099999 (オーソリ済) / unknown outcome, auth committed",
    ),
    (
        ISSUER_TIMEOUT,
        "カード会社通信エラー 42C010000 (オーソリ済) / issuer timeout, auth committed",
    ),
    (
        TDS2_FAILS,
        "3Dセキュア失敗 E21030007 (TdFlag=2のみ) / 3-D Secure 2 fails",
    ),
    (
        TDS2_ATTEMPTED,
        "3Dセキュア2 認証試行(A)のあと承認 / 3DS2 attempted (A), approved",
    ),
    (
        TDS2_CHALLENGE,
        "3Dセキュア2 チャレンジ(画面のワンタイムパスワード)で承認 / 3DS2 challenge, right code approves",
    ),
    (
        TDS2_NOT_ENROLLED,
        "3Dセキュア2 非対応 E21030201 (Tds2Type=3なら通常承認) / not enrolled",
    ),
    (
        TDS2_UNAVAILABLE,
        "3Dセキュア2 認証不可(U) E21030001 / 3DS2 unavailable (U)",
    ),
    (
        TDS2_REJECTED,
        "3Dセキュア2 認証拒否(R) E21030007 / 3DS2 rejected (R)",
    ),
];

/// What the simulated issuer does with a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Approve,
    Decline(&'static str),
    Busy,
    /// Commit the authorisation, then answer this ErrInfo.
    CommitThenFail(&'static str),
}

/// What the simulated issuer's 3-D Secure 2 server does with a card (with `TdFlag=2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tds2Profile {
    /// Decided after the device step, without the shopper.
    Frictionless(TransStatus),
    /// A one-time-code challenge (right code → Y, else N).
    Challenge,
    /// Outside 3-D Secure 2: the EntryTran's `Tds2Type` decides.
    NotEnrolled,
}

pub(crate) fn tds2_profile(card_no: &str) -> Tds2Profile {
    match card_no {
        TDS2_FAILS => Tds2Profile::Frictionless(TransStatus::N),
        TDS2_ATTEMPTED => Tds2Profile::Frictionless(TransStatus::A),
        TDS2_CHALLENGE => Tds2Profile::Challenge,
        TDS2_NOT_ENROLLED => Tds2Profile::NotEnrolled,
        TDS2_UNAVAILABLE => Tds2Profile::Frictionless(TransStatus::U),
        TDS2_REJECTED => Tds2Profile::Frictionless(TransStatus::R),
        _ => Tds2Profile::Frictionless(TransStatus::Y),
    }
}

pub(crate) fn outcome(card_no: &str) -> Outcome {
    match card_no {
        INSUFFICIENT_FUNDS => Outcome::Decline("42G020000"),
        CARD_UNUSABLE => Outcome::Decline("42G120000"),
        WRONG_CVC => Outcome::Decline("42G440000"),
        WRONG_NUMBER => Outcome::Decline("42G650000"),
        EXPIRED_CARD => Outcome::Decline("42G830000"),
        BUSY => Outcome::Busy,
        UNKNOWN_OUTCOME => Outcome::CommitThenFail("E91099999"),
        ISSUER_TIMEOUT => Outcome::CommitThenFail("42C010000"),
        n if !kessai_core::card::luhn_ok(n) => Outcome::Decline("42G650000"),
        _ => Outcome::Approve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kessai_core::card::{CardBrand, luhn_ok};

    #[test]
    fn all_test_cards_are_luhn_valid_and_listed_once() {
        for (n, what) in TABLE {
            assert!(luhn_ok(n), "{n} ({what}) fails Luhn");
            assert_ne!(CardBrand::detect(n), CardBrand::Unknown, "{n}");
            assert_eq!(TABLE.iter().filter(|(m, _)| m == n).count(), 1);
        }
        assert_eq!(TABLE.len(), 18);
    }

    #[test]
    fn outcomes() {
        for n in [
            APPROVED,
            APPROVED_JCB,
            APPROVED_MASTERCARD,
            APPROVED_AMEX,
            "4242424242424242",
        ] {
            assert_eq!(outcome(n), Outcome::Approve, "{n}");
        }
        // The 3-D Secure cards approve without 3-D Secure.
        for n in [
            TDS2_FAILS,
            TDS2_ATTEMPTED,
            TDS2_CHALLENGE,
            TDS2_NOT_ENROLLED,
            TDS2_UNAVAILABLE,
            TDS2_REJECTED,
        ] {
            assert_eq!(outcome(n), Outcome::Approve, "{n}");
        }
        assert_eq!(
            tds2_profile(APPROVED),
            Tds2Profile::Frictionless(TransStatus::Y)
        );
        assert_eq!(tds2_profile(TDS2_CHALLENGE), Tds2Profile::Challenge);
        assert_eq!(outcome(INSUFFICIENT_FUNDS), Outcome::Decline("42G020000"));
        assert_eq!(outcome("4111111111111112"), Outcome::Decline("42G650000"));
        assert_eq!(
            outcome(UNKNOWN_OUTCOME),
            Outcome::CommitThenFail("E91099999")
        );
    }
}
