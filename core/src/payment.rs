//! A kessai payment: its states, their console labels, and which transitions exist.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    /// 未決済: created by the merchant, no authorisation yet (also after a decline).
    RequiresPayment,
    /// 処理中: a gateway call is in flight; nobody else may start one.
    Processing,
    /// 3Dセキュア認証中: ExecTran asked for EMV 3-D Secure 2 (ACS=2) and the shopper's browser is at
    /// the issuer's authentication; the RetUrl (then SecureTran2) or the sweep settles it.
    RequiresAction,
    /// 仮売上
    Authorized,
    /// 実売上
    Captured,
    /// カード確認済み: a card-registration payment (`CaptureMode::Verify`, GMO 有効性チェック
    /// JobCd=CHECK, no amount) whose card the issuer accepted (after 3-D Secure when it runs). No
    /// money moves, so no operation applies; its card is what the customer keeps (TradedCard).
    Verified,
    /// 取消
    Voided,
    /// 返品
    Returned,
    /// 月跨返品
    ReturnedNextMonth,
    /// 返金
    Refunded,
    /// 一部返金
    PartiallyRefunded,
    /// 決済失敗 (final: the merchant gave up on the payment)
    Declined,
    /// カード未決済: shown, not stored (`console::shown_state`): a card payment whose attempt reached
    /// GMO and did not complete (declined, or the shopper left); it can still be paid.
    Unpaid,
    /// 期限切れ
    Expired,
    /// 結果不明: the gateway's answer was lost; reconcile before anything else.
    Unknown,
}

impl PaymentState {
    pub const ALL: [PaymentState; 15] = [
        PaymentState::RequiresPayment,
        PaymentState::Processing,
        PaymentState::RequiresAction,
        PaymentState::Authorized,
        PaymentState::Captured,
        PaymentState::Verified,
        PaymentState::Voided,
        PaymentState::Returned,
        PaymentState::ReturnedNextMonth,
        PaymentState::Refunded,
        PaymentState::PartiallyRefunded,
        PaymentState::Declined,
        PaymentState::Unpaid,
        PaymentState::Expired,
        PaymentState::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentState::RequiresPayment => "requires_payment",
            PaymentState::Processing => "processing",
            PaymentState::RequiresAction => "requires_action",
            PaymentState::Authorized => "authorized",
            PaymentState::Captured => "captured",
            PaymentState::Verified => "verified",
            PaymentState::Voided => "voided",
            PaymentState::Returned => "returned",
            PaymentState::ReturnedNextMonth => "returned_next_month",
            PaymentState::Refunded => "refunded",
            PaymentState::PartiallyRefunded => "partially_refunded",
            PaymentState::Declined => "declined",
            PaymentState::Unpaid => "unpaid",
            PaymentState::Expired => "expired",
            PaymentState::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentState> {
        PaymentState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The label the console and the shop's 受注一覧 show.
    pub fn label_ja(self) -> &'static str {
        match self {
            PaymentState::RequiresPayment => "未決済",
            PaymentState::Processing => "処理中",
            PaymentState::RequiresAction => "3Dセキュア認証中",
            PaymentState::Authorized => "仮売上",
            PaymentState::Captured => "実売上",
            PaymentState::Verified => "カード確認済み",
            PaymentState::Voided => "取消",
            PaymentState::Returned => "返品",
            PaymentState::ReturnedNextMonth => "月跨返品",
            PaymentState::Refunded => "返金",
            PaymentState::PartiallyRefunded => "一部返金",
            PaymentState::Declined => "決済失敗",
            PaymentState::Unpaid => "カード未決済",
            PaymentState::Expired => "期限切れ",
            PaymentState::Unknown => "結果不明",
        }
    }

    /// Where the payment stands, in the detail a payment flow needs.
    pub fn phase(self) -> Phase {
        match self {
            PaymentState::RequiresPayment => Phase::Open,
            // Nobody else may start a gateway call meanwhile: the authentication holds the
            // transaction until SecureTran2 or the sweep settles it.
            PaymentState::Processing | PaymentState::RequiresAction => Phase::InFlight,
            // A verified card is the success of a card-registration payment.
            PaymentState::Authorized | PaymentState::Captured | PaymentState::Verified => {
                Phase::Paid
            }
            PaymentState::Unknown => Phase::Unknown,
            PaymentState::Voided
            | PaymentState::Returned
            | PaymentState::ReturnedNextMonth
            | PaymentState::Refunded
            | PaymentState::PartiallyRefunded
            | PaymentState::Declined
            | PaymentState::Unpaid
            | PaymentState::Expired => Phase::Closed,
        }
    }

    /// States from which the shopper may (re)try to pay.
    pub fn accepts_payment_attempt(self) -> bool {
        self.phase() == Phase::Open
    }

    /// The shopper has paid (the money is at least reserved).
    pub fn is_paid(self) -> bool {
        self.phase() == Phase::Paid
    }

    /// States 「エラーを無視して変更する」 may set: settled states only (never `processing`,
    /// `unknown` or `requires_payment`, which belong to flows in flight). The edge refuses the
    /// others and the console offers only these.
    pub fn forceable(self) -> bool {
        match self {
            PaymentState::Authorized
            | PaymentState::Captured
            | PaymentState::Verified
            | PaymentState::Voided
            | PaymentState::Returned
            | PaymentState::ReturnedNextMonth
            | PaymentState::Refunded
            | PaymentState::PartiallyRefunded
            | PaymentState::Declined
            | PaymentState::Unpaid
            | PaymentState::Expired => true,
            PaymentState::RequiresPayment
            | PaymentState::Processing
            | PaymentState::RequiresAction
            | PaymentState::Unknown => false,
        }
    }

    /// Money has been captured (実売上, and what a refund leaves of it): the states whose record
    /// counts a captured amount.
    pub fn holds_capture(self) -> bool {
        match self {
            PaymentState::Captured | PaymentState::PartiallyRefunded | PaymentState::Refunded => {
                true
            }
            PaymentState::RequiresPayment
            | PaymentState::Processing
            | PaymentState::RequiresAction
            | PaymentState::Authorized
            | PaymentState::Verified
            | PaymentState::Voided
            | PaymentState::Returned
            | PaymentState::ReturnedNextMonth
            | PaymentState::Declined
            | PaymentState::Unpaid
            | PaymentState::Expired
            | PaymentState::Unknown => false,
        }
    }
}

/// The payment id inside a client secret (`pay_<id>_secret_<hex>`): the widget API's path names
/// the payment, the secret itself travels in a header. `None` for anything else.
pub fn payment_id_of_secret(secret: &str) -> Option<&str> {
    // `split_once("_secret_")` by hand (the widget calls this; no substring searcher in its wasm).
    let secret = secret.trim();
    let at = secret
        .as_bytes()
        .windows(8)
        .position(|w| w == b"_secret_")?;
    let (id, rest) = (secret.get(..at)?, secret.get(at + 8..)?);
    let id_ok = id.len() > 4
        && id.starts_with("pay_")
        && id[4..].bytes().all(|b| b.is_ascii_alphanumeric());
    let rest_ok = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric());
    (id_ok && rest_ok).then_some(id)
}

/// The coarse standing of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// 未決済: a payment attempt may start.
    Open,
    /// 処理中: a gateway call is in flight under a lease.
    InFlight,
    /// 仮売上 / 実売上.
    Paid,
    /// 結果不明: reconcile before anything else.
    Unknown,
    /// Cancelled, refunded, declined for good or expired: no payment attempt any more.
    Closed,
}

/// How the merchant wants the card charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureMode {
    /// 仮売上 now, 実売上 later by the shop (GMO JobCd AUTH).
    Manual,
    /// 即時売上 (GMO JobCd CAPTURE).
    Automatic,
    /// カード登録 only: GMO 有効性チェック (JobCd CHECK, no amount), with 3-D Secure when it
    /// runs, then the card is stored for the payment's customer. Ends `verified`.
    Verify,
}

impl CaptureMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMode::Manual => "manual",
            CaptureMode::Automatic => "automatic",
            CaptureMode::Verify => "verify",
        }
    }
    pub fn parse(s: &str) -> Option<CaptureMode> {
        match s {
            "manual" => Some(CaptureMode::Manual),
            "automatic" => Some(CaptureMode::Automatic),
            "verify" => Some(CaptureMode::Verify),
            _ => None,
        }
    }
    pub fn gmo_job(self) -> crate::gmo::status::JobCd {
        match self {
            CaptureMode::Manual => crate::gmo::status::JobCd::Auth,
            CaptureMode::Automatic => crate::gmo::status::JobCd::Capture,
            CaptureMode::Verify => crate::gmo::status::JobCd::Check,
        }
    }
    /// The kessai state a successful authorisation in this mode leaves.
    pub fn paid_state(self) -> PaymentState {
        match self {
            CaptureMode::Manual => PaymentState::Authorized,
            CaptureMode::Automatic => PaymentState::Captured,
            CaptureMode::Verify => PaymentState::Verified,
        }
    }
}

/// What a SearchTrade status means for a payment whose authorisation outcome we lost.
pub fn state_from_gmo(status: crate::gmo::status::TranStatus) -> PaymentState {
    use crate::gmo::status::TranStatus as T;
    match status {
        T::Unprocessed | T::Authenticated => PaymentState::RequiresPayment,
        // Only a card-registration payment sends CHECK.
        T::Check => PaymentState::Verified,
        T::Auth | T::Sauth => PaymentState::Authorized,
        T::Capture | T::Sales => PaymentState::Captured,
        T::Void => PaymentState::Voided,
        T::Return => PaymentState::Returned,
        T::Returnx => PaymentState::ReturnedNextMonth,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for s in PaymentState::ALL {
            assert_eq!(PaymentState::parse(s.as_str()), Some(s));
        }
        let mut labels: Vec<_> = PaymentState::ALL.iter().map(|s| s.label_ja()).collect();
        labels.sort();
        labels.dedup();
        assert_eq!(labels.len(), PaymentState::ALL.len());
    }

    #[test]
    fn only_requires_payment_accepts_attempts() {
        let open: Vec<_> = PaymentState::ALL
            .into_iter()
            .filter(|s| s.accepts_payment_attempt())
            .collect();
        assert_eq!(open, vec![PaymentState::RequiresPayment]);
    }

    #[test]
    fn captured_money_is_held_by_captured_and_refund_states_only() {
        let held: Vec<_> = PaymentState::ALL
            .into_iter()
            .filter(|s| s.holds_capture())
            .collect();
        assert_eq!(
            held,
            vec![
                PaymentState::Captured,
                PaymentState::Refunded,
                PaymentState::PartiallyRefunded
            ]
        );
        // Every state that holds a capture is a paid or closed one, never open or in flight.
        for s in held {
            assert!(matches!(s.phase(), Phase::Paid | Phase::Closed), "{s:?}");
        }
    }

    #[test]
    fn a_card_registration_checks_the_card_and_ends_verified_without_money() {
        let verify = CaptureMode::parse("verify").expect("verify");
        assert_eq!(verify.as_str(), "verify");
        assert_eq!(verify.gmo_job(), crate::gmo::status::JobCd::Check);
        assert_eq!(verify.paid_state(), PaymentState::Verified);
        assert_eq!(
            state_from_gmo(crate::gmo::status::TranStatus::Check),
            PaymentState::Verified
        );
        assert!(PaymentState::Verified.is_paid(), "the widget's success");
        assert!(!PaymentState::Verified.holds_capture());
        assert!(!PaymentState::Verified.accepts_payment_attempt());
    }

    #[test]
    fn payment_id_from_client_secret() {
        let s = "pay_0123456789ab_secret_00112233445566778899aabbccddeeff";
        assert_eq!(payment_id_of_secret(s), Some("pay_0123456789ab"));
        assert_eq!(
            payment_id_of_secret(&format!(" {s}\n")),
            Some("pay_0123456789ab")
        );
        for bad in [
            "",
            "pay_abc",
            "pay__secret_x",
            "pay_abc_secret_",
            "pi_abc_secret_x",
            "pay_a/b_secret_x",
            "pay_abc_secret_x?y",
        ] {
            assert_eq!(payment_id_of_secret(bad), None, "{bad}");
        }
    }

    #[test]
    fn modes() {
        assert_eq!(CaptureMode::Manual.paid_state().label_ja(), "仮売上");
        assert_eq!(
            CaptureMode::parse("automatic"),
            Some(CaptureMode::Automatic)
        );
        assert_eq!(CaptureMode::parse("later"), None);
    }
}
