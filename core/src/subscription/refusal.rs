//! Why kessai refuses a subscription change or charge: a code for the API, English for logs and
//! the API, Japanese for the console. Nothing was sent to a gateway and nothing changed.

use std::fmt;

use super::date::ChargeDate;
use super::state::SubscriptionStatus;
use crate::amazon::rules::AmountRuleError;
use crate::money::{AmountError, Jpy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 解約済み: nothing changes a cancelled subscription.
    Cancelled,
    /// A charge succeeded after the subscription was cancelled: the edge must cancel (取消) that
    /// payment; the subscription stays cancelled.
    ChargeAfterCancel,
    /// Pause of a paused subscription.
    AlreadyPaused,
    /// Resume of a subscription that is not paused.
    NotPaused { status: SubscriptionStatus },
    /// 未決済: the customer must change the card / update the payment method on Amazon first.
    Unpaid,
    /// A charge result for another cycle or attempt than the one pending (a late or repeated report).
    StaleChargeResult {
        expected_date: ChargeDate,
        expected_attempt: u8,
    },
    /// No failed charge is waiting for a retry.
    NoRetryPending,
    /// A failed charge is being retried: its date cannot move (wait, or cancel).
    RetryPending,
    /// A card subscription cannot move to Amazon Pay or back: create a new subscription.
    SourceKindChanged,
    /// The new next charge date is before today (JST).
    NextDateInPast { today: ChargeDate },
    /// The new next charge date is more than [`super::state::MAX_NEXT_DATE_AHEAD_DAYS`] ahead.
    NextDateTooFar { latest: ChargeDate },
    /// The amount is not chargeable (below ¥1 or above GMO's ceiling).
    InvalidAmount(AmountError),
    /// One charge above Amazon's recurring monthly cap can never be charged.
    AmountAboveMonthlyCap { requested: Jpy, cap: Jpy },
    /// This month's charges on the charge permission leave no room for this one (checked before
    /// calling Amazon, which would answer `PeriodicAmountExceeded`).
    AmazonMonthlyCap(AmountRuleError),
    /// 255 failed attempts on one cycle: cancel the subscription or settle the order by hand.
    TooManyAttempts,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Cancelled => "subscription_cancelled",
            Refusal::ChargeAfterCancel => "charge_after_cancel",
            Refusal::AlreadyPaused => "subscription_already_paused",
            Refusal::NotPaused { .. } => "subscription_not_paused",
            Refusal::Unpaid => "subscription_unpaid",
            Refusal::StaleChargeResult { .. } => "stale_charge_result",
            Refusal::NoRetryPending => "no_retry_pending",
            Refusal::RetryPending => "retry_pending",
            Refusal::SourceKindChanged => "payment_source_kind_changed",
            Refusal::NextDateInPast { .. } => "next_date_in_past",
            Refusal::NextDateTooFar { .. } => "next_date_too_far",
            Refusal::InvalidAmount(_) => "invalid_amount",
            Refusal::AmountAboveMonthlyCap { .. } => "amount_above_monthly_cap",
            Refusal::AmazonMonthlyCap(_) => "monthly_cap_exceeded",
            Refusal::TooManyAttempts => "too_many_attempts",
        }
    }

    pub fn message_en(&self) -> String {
        match self {
            Refusal::Cancelled => "the subscription is cancelled".into(),
            Refusal::ChargeAfterCancel => {
                "a charge succeeded after the subscription was cancelled; cancel that payment".into()
            }
            Refusal::AlreadyPaused => "the subscription is already paused".into(),
            Refusal::NotPaused { status } => {
                format!("only a paused subscription can be resumed (it is {})", status.as_str())
            }
            Refusal::Unpaid => {
                "the subscription is unpaid: the customer must change the card or update the payment method on Amazon first".into()
            }
            Refusal::StaleChargeResult {
                expected_date,
                expected_attempt,
            } => format!(
                "charge result does not match the pending charge ({expected_date}, attempt {expected_attempt})"
            ),
            Refusal::NoRetryPending => "no failed charge is waiting for a retry".into(),
            Refusal::RetryPending => {
                "a failed charge is being retried; its date cannot be changed".into()
            }
            Refusal::SourceKindChanged => {
                "a subscription cannot switch between card and Amazon Pay; create a new subscription".into()
            }
            Refusal::NextDateInPast { today } => {
                format!("the next charge date must be today ({today}, JST) or later")
            }
            Refusal::NextDateTooFar { latest } => {
                format!("the next charge date must be on or before {latest}")
            }
            Refusal::InvalidAmount(e) => e.message_en(),
            Refusal::AmountAboveMonthlyCap { requested, cap } => format!(
                "{} yen exceeds Amazon Pay's recurring limit of {} yen per calendar month",
                requested.yen(),
                cap.yen()
            ),
            Refusal::AmazonMonthlyCap(e) => e.message_en(),
            Refusal::TooManyAttempts => {
                "too many failed attempts for this cycle; cancel the subscription or settle the order by hand".into()
            }
        }
    }

    pub fn message_ja(&self) -> String {
        match self {
            Refusal::Cancelled => "この定期購入は解約済みです。".into(),
            Refusal::ChargeAfterCancel => {
                "解約後に課金が成功しました。この決済を取消してください。".into()
            }
            Refusal::AlreadyPaused => "この定期購入はすでに一時停止中です。".into(),
            Refusal::NotPaused { status } => format!(
                "再開できるのは一時停止中の定期購入だけです(現在: {})。",
                status.label_ja()
            ),
            Refusal::Unpaid => {
                "この定期購入は未決済です。お客様にカードの変更(Amazon Pay の場合は Amazon でのお支払い方法の更新)をお願いしてください。".into()
            }
            Refusal::StaleChargeResult {
                expected_date,
                expected_attempt,
            } => format!(
                "課金結果が処理待ちの課金({expected_date}、{expected_attempt}回目の再試行)と一致しません。"
            ),
            Refusal::NoRetryPending => "再試行待ちの課金はありません。".into(),
            Refusal::RetryPending => {
                "失敗した課金を再試行中のため、次回課金日は変更できません。".into()
            }
            Refusal::SourceKindChanged => {
                "カード払いと Amazon Pay の間で支払方法を切り替えることはできません。新しい定期購入を作成してください。".into()
            }
            Refusal::NextDateInPast { today } => {
                format!("次回課金日は本日({today})以降の日付を指定してください。")
            }
            Refusal::NextDateTooFar { latest } => {
                format!("次回課金日は{latest}までの日付を指定してください。")
            }
            Refusal::InvalidAmount(e) => e.message_ja(),
            Refusal::AmountAboveMonthlyCap { requested, cap } => format!(
                "Amazon Pay の定期課金は1か月あたり {cap} までのため、{requested} は設定できません。"
            ),
            Refusal::AmazonMonthlyCap(e) => e.message_ja(),
            Refusal::TooManyAttempts => {
                "この回の課金の失敗が上限に達しました。定期購入を解約するか、受注を個別に処理してください。".into()
            }
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl std::error::Error for Refusal {}
