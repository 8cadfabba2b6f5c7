//! Why kessai refuses an operation before calling any gateway: a code for the API, an English
//! message for logs and the API, and a Japanese message for the operator console.

use std::fmt;

use crate::amazon::rules::AmountRuleError;
use crate::gmo::status::{CHANGE_LIMIT_DAYS, TranStatus};
use crate::jst::UnixMillis;
use crate::money::{AmountError, Jpy};
use crate::payment::PaymentState;

use super::{OperationKind, PaymentMethod};

/// An operation kessai will not plan. Nothing was sent to a gateway and nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 結果不明: a gateway answer was lost; reconcile (SearchTrade / Get Charge) first.
    OutcomeUnknown,
    /// 処理中: another gateway call for this payment is in flight.
    InProgress,
    /// No authorisation exists yet (未決済).
    NotAuthorized { state: PaymentState },
    /// The payment is finished (取消, 返品, 返金, 決済失敗, …): nothing left to operate on.
    Closed { state: PaymentState },
    /// 実売上 already: capture again is meaningless (GMO answers E11010003 to a second SALES).
    AlreadyCaptured,
    /// The authorisation's validity window has passed.
    AuthorizationExpired {
        method: PaymentMethod,
        operation: OperationKind,
        expired_at: UnixMillis,
    },
    /// GMO refuses any change to a transaction older than 180 days (E11010010).
    ChangeLimitExceeded,
    /// GMO's SALES must equal the authorised amount (E01060010): change the amount first.
    CaptureAmountMismatch { authorized: Jpy, requested: Jpy },
    /// The amount itself is not a chargeable amount.
    InvalidAmount(AmountError),
    /// An Amazon Pay money rule (no increase, capture ≤ authorised, refund ≤ refundable, …).
    AmazonAmount(AmountRuleError),
    /// Amazon Pay after capture: cancelling is not possible, the operator refunds instead.
    CancelAfterCaptureUseRefund,
    /// A refund needs captured money; before capture the operator cancels.
    RefundBeforeCapture,
    /// Card payments are given back with 取消/返品 (or a lower amount), not with a refund call.
    CardRefundUnsupported,
    /// kessai's record and the gateway status it holds disagree (changed in GMO's own console?).
    GatewayStateMismatch {
        state: PaymentState,
        gmo_status: TranStatus,
    },
    /// A gateway fact the plan needs is missing from kessai's record (e.g. no GMO status).
    MissingGatewayRecord { what: &'static str },
    /// GMO's status machine has no such transition (e.g. a SAUTH from an earlier month, which
    /// only RETURNX would cancel and GMO does not allow): planning it would only earn this ErrInfo.
    GatewayWouldRefuse { err_info: &'static str },
}

impl Refusal {
    /// Stable English snake_case code for the API and the event history.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::OutcomeUnknown => "outcome_unknown",
            Refusal::InProgress => "operation_in_progress",
            Refusal::NotAuthorized { .. } => "payment_not_authorized",
            Refusal::Closed { .. } => "payment_closed",
            Refusal::AlreadyCaptured => "already_captured",
            Refusal::AuthorizationExpired { .. } => "authorization_expired",
            Refusal::ChangeLimitExceeded => "change_limit_exceeded",
            Refusal::CaptureAmountMismatch { .. } => "capture_amount_mismatch",
            Refusal::InvalidAmount(_) => "invalid_amount",
            Refusal::AmazonAmount(e) => match e {
                AmountRuleError::IncreaseNotAllowed { .. } => "amount_increase_not_allowed",
                AmountRuleError::NotPositive { .. } => "invalid_amount",
                AmountRuleError::CaptureExceedsAuthorization { .. } => {
                    "capture_exceeds_authorization"
                }
                AmountRuleError::ChargeTooLarge { .. } => "amount_too_large",
                AmountRuleError::MonthlyCapExceeded { .. } => "monthly_cap_exceeded",
                AmountRuleError::RefundTooLarge { .. } => "refund_exceeds_refundable",
            },
            Refusal::CancelAfterCaptureUseRefund => "cancel_after_capture_use_refund",
            Refusal::RefundBeforeCapture => "refund_before_capture",
            Refusal::CardRefundUnsupported => "card_refund_use_cancel",
            Refusal::GatewayStateMismatch { .. } => "gateway_state_mismatch",
            Refusal::MissingGatewayRecord { .. } => "missing_gateway_record",
            Refusal::GatewayWouldRefuse { .. } => "gateway_would_refuse",
        }
    }

    /// For logs and API answers (English).
    pub fn message_en(&self) -> String {
        match self {
            Refusal::OutcomeUnknown => {
                "the outcome of an earlier gateway call is unknown; reconcile the payment with the gateway first".into()
            }
            Refusal::InProgress => {
                "another gateway call for this payment is in progress; wait for it or reconcile".into()
            }
            Refusal::NotAuthorized { state } => format!(
                "the payment has no authorization yet (state {})",
                state.as_str()
            ),
            Refusal::Closed { state } => format!(
                "the payment is closed (state {}); no further operation is possible",
                state.as_str()
            ),
            Refusal::AlreadyCaptured => "the payment is already captured".into(),
            Refusal::AuthorizationExpired {
                method,
                operation,
                expired_at,
            } => format!(
                "the {}-day {} authorization expired at {}; {} is not possible{}",
                method.authorization_valid_days(),
                method.as_str(),
                expired_at.to_jst(),
                operation.as_str(),
                match method {
                    PaymentMethod::Card => ", a new authorization is needed",
                    PaymentMethod::AmazonPay => {
                        ", Amazon Pay has canceled the charge; cancel and ask the buyer to pay again"
                    }
                }
            ),
            Refusal::ChangeLimitExceeded => format!(
                "the transaction is older than {CHANGE_LIMIT_DAYS} days; GMO accepts no cancel or change (E11010010)"
            ),
            Refusal::CaptureAmountMismatch {
                authorized,
                requested,
            } => format!(
                "a card capture must equal the authorized {} yen (got {}); change the amount first",
                authorized.yen(),
                requested.yen()
            ),
            Refusal::InvalidAmount(e) => e.message_en(),
            Refusal::AmazonAmount(e) => e.message_en(),
            Refusal::CancelAfterCaptureUseRefund => {
                "an Amazon Pay payment cannot be canceled after capture; refund it (fully or partially) instead".into()
            }
            Refusal::RefundBeforeCapture => {
                "nothing is captured yet, so nothing can be refunded; cancel the authorization instead".into()
            }
            Refusal::CardRefundUnsupported => {
                "card payments are returned with cancel (void/return) or a lower amount, not with a refund".into()
            }
            Refusal::GatewayStateMismatch { state, gmo_status } => format!(
                "kessai records the payment as {} but GMO's status as {}; reconcile with the gateway first",
                state.as_str(),
                gmo_status.as_str()
            ),
            Refusal::MissingGatewayRecord { what } => {
                format!("the payment record lacks the {what}; reconcile with the gateway first")
            }
            Refusal::GatewayWouldRefuse { err_info } => format!(
                "GMO does not allow this operation in the transaction's status (it would answer {err_info})"
            ),
        }
    }

    /// For the operator console (Japanese).
    pub fn message_ja(&self) -> String {
        match self {
            Refusal::OutcomeUnknown => {
                "結果不明の決済です。先に照会(リコンサイル)してください。".into()
            }
            Refusal::InProgress => {
                "この決済は処理中です。完了を待つか、照会(リコンサイル)してください。".into()
            }
            Refusal::NotAuthorized { state } => format!(
                "まだ仮売上になっていない決済です（現在の状態: {}）。",
                state.label_ja()
            ),
            Refusal::Closed { state } => format!(
                "この決済は{}のため、これ以上操作できません。",
                state.label_ja()
            ),
            Refusal::AlreadyCaptured => "この決済はすでに実売上です。".into(),
            Refusal::AuthorizationExpired {
                method, operation, ..
            } => match method {
                PaymentMethod::Card => format!(
                    "仮売上の有効期限({}日)を過ぎているため{}できません。再オーソリが必要です。",
                    method.authorization_valid_days(),
                    operation.label_ja()
                ),
                PaymentMethod::AmazonPay => format!(
                    "仮売上の有効期限({}日)を過ぎているため{}できません。Amazon Pay 側で与信は取り消されています。取消のうえ、購入者に再度お支払いいただいてください。",
                    method.authorization_valid_days(),
                    operation.label_ja()
                ),
            },
            Refusal::ChangeLimitExceeded => format!(
                "取引から{CHANGE_LIMIT_DAYS}日を超えているため、GMO では取消・金額変更ができません。返金は別途ご対応ください。"
            ),
            Refusal::CaptureAmountMismatch {
                authorized,
                requested,
            } => format!(
                "カード決済の売上確定額は仮売上の金額 {authorized} と同じである必要があります（指定額 {requested}）。先に金額変更を行ってください。"
            ),
            Refusal::InvalidAmount(e) => e.message_ja(),
            Refusal::AmazonAmount(e) => e.message_ja(),
            Refusal::CancelAfterCaptureUseRefund => {
                "Amazon Pay の決済は売上確定後に取消できません。返金（全額または一部）を選択してください。".into()
            }
            Refusal::RefundBeforeCapture => {
                "売上確定前のため返金できません。取消を行ってください。".into()
            }
            Refusal::CardRefundUnsupported => {
                "カード決済は返金ではなく取消（取消・返品・月跨返品）または金額変更で行ってください。".into()
            }
            Refusal::GatewayStateMismatch { state, gmo_status } => format!(
                "kessai の状態（{}）と GMO の取引状態（{}）が一致しません。先に照会(リコンサイル)してください。",
                state.label_ja(),
                gmo_status.as_str()
            ),
            Refusal::MissingGatewayRecord { .. } => {
                "決済ゲートウェイの取引情報が不足しています。先に照会(リコンサイル)してください。".into()
            }
            Refusal::GatewayWouldRefuse { err_info } => format!(
                "この取引状態では GMO がこの操作を受け付けません（{err_info}）。GMO の管理画面で取引状態を確認してください。"
            ),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_en())
    }
}

impl std::error::Error for Refusal {}
