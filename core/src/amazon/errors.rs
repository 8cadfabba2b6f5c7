//! Amazon Pay CV2 errors: HTTP status per `reasonCode`, what kind of failure it is, whether a
//! retry may help, whether the outcome is unknown, and what to tell the shopper and the operator.
//!
//! Status table: reference §5 ([C] for the 400 rows from Amazon's error-handling page; the rest
//! from two third-party integrations). `CheckoutSessionCanceled` is filed under 400 by one and 422
//! by the other [U]: kessai uses 400 and classifies it by reason code, not status.

use std::fmt;

/// Reason codes kessai (and its sandbox) produce or act on.
pub mod reason {
    pub const INVALID_HEADER_VALUE: &str = "InvalidHeaderValue";
    pub const INVALID_REQUEST: &str = "InvalidRequest";
    pub const INVALID_PARAMETER_VALUE: &str = "InvalidParameterValue";
    pub const INVALID_REQUEST_FORMAT: &str = "InvalidRequestFormat";
    pub const MISSING_HEADER: &str = "MissingHeader";
    pub const MISSING_HEADER_VALUE: &str = "MissingHeaderValue";
    pub const MISSING_PARAMETER_VALUE: &str = "MissingParameterValue";
    pub const UNRECOGNIZED_FIELD: &str = "UnrecognizedField";
    pub const INVALID_SANDBOX_SIMULATION_SPECIFIED: &str = "InvalidSandboxSimulationSpecified";
    pub const DUPLICATE_IDEMPOTENCY_KEY: &str = "DuplicateIdempotencyKey";
    pub const INVALID_PARAMETER_COMBINATION: &str = "InvalidParameterCombination";
    pub const CURRENCY_MISMATCH: &str = "CurrencyMismatch";
    pub const INVALID_API_VERSION: &str = "InvalidAPIVersion";
    pub const TRANSACTION_AMOUNT_EXCEEDED: &str = "TransactionAmountExceeded";
    pub const PERIODIC_AMOUNT_EXCEEDED: &str = "PeriodicAmountExceeded";
    pub const CHECKOUT_SESSION_CANCELED: &str = "CheckoutSessionCanceled";
    pub const UNAUTHORIZED_ACCESS: &str = "UnauthorizedAccess";
    pub const INVALID_AUTHENTICATION: &str = "InvalidAuthentication";
    pub const INVALID_ACCOUNT_STATUS: &str = "InvalidAccountStatus";
    pub const INVALID_REQUEST_SIGNATURE: &str = "InvalidRequestSignature";
    pub const INVALID_AUTHORIZATION_TOKEN: &str = "InvalidAuthorizationToken";
    pub const RESOURCE_NOT_FOUND: &str = "ResourceNotFound";
    pub const UNSUPPORTED_OPERATION: &str = "UnsupportedOperation";
    pub const REQUEST_NOT_SUPPORTED: &str = "RequestNotSupported";
    pub const REQUEST_TIMEOUT: &str = "RequestTimeout";
    pub const AMOUNT_MISMATCH: &str = "AmountMismatch";
    pub const INVALID_CHARGE_STATUS: &str = "InvalidChargeStatus";
    pub const INVALID_CHARGE_PERMISSION_STATUS: &str = "InvalidChargePermissionStatus";
    pub const INVALID_CHECKOUT_SESSION_STATUS: &str = "InvalidCheckoutSessionStatus";
    pub const CHARGE_PERMISSION_NOT_MODIFIABLE: &str = "ChargePermissionNotModifiable";
    pub const TRANSACTION_COUNT_EXCEEDED: &str = "TransactionCountExceeded";
    pub const AMAZON_REJECTED: &str = "AmazonRejected";
    pub const HARD_DECLINED: &str = "HardDeclined";
    pub const SOFT_DECLINED: &str = "SoftDeclined";
    pub const PAYMENT_METHOD_NOT_ALLOWED: &str = "PaymentMethodNotAllowed";
    pub const MFA_NOT_COMPLETED: &str = "MFANotCompleted";
    pub const TRANSACTION_TIMED_OUT: &str = "TransactionTimedOut";
    pub const TLS_VERSION_NOT_SUPPORTED: &str = "TLSVersionNotSupported";
    pub const TOO_MANY_REQUESTS: &str = "TooManyRequests";
    pub const INTERNAL_SERVER_ERROR: &str = "InternalServerError";
    pub const PROCESSING_FAILURE: &str = "ProcessingFailure";
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
    /// Checkout Session `statusDetails.reasonCode` values (not HTTP errors).
    pub const BUYER_CANCELED: &str = "BuyerCanceled";
    pub const DECLINED: &str = "Declined";
    pub const AMAZON_CANCELED: &str = "AmazonCanceled";
    pub const EXPIRED: &str = "Expired";
}

/// The HTTP status Amazon answers with for an error `reasonCode` (reference §5). Codes not in the
/// table are treated as 400.
pub fn http_status_of(reason_code: &str) -> u16 {
    use reason::*;
    match reason_code {
        INVALID_HEADER_VALUE
        | INVALID_REQUEST
        | INVALID_PARAMETER_VALUE
        | INVALID_REQUEST_FORMAT
        | MISSING_HEADER
        | MISSING_HEADER_VALUE
        | MISSING_PARAMETER_VALUE
        | UNRECOGNIZED_FIELD
        | INVALID_SANDBOX_SIMULATION_SPECIFIED
        | DUPLICATE_IDEMPOTENCY_KEY
        | INVALID_PARAMETER_COMBINATION
        | CURRENCY_MISMATCH
        | INVALID_API_VERSION
        | TRANSACTION_AMOUNT_EXCEEDED
        | PERIODIC_AMOUNT_EXCEEDED
        // [U]: 400 or 422.
        | CHECKOUT_SESSION_CANCELED => 400,
        UNAUTHORIZED_ACCESS => 401,
        INVALID_AUTHENTICATION
        | INVALID_ACCOUNT_STATUS
        | INVALID_REQUEST_SIGNATURE
        | INVALID_AUTHORIZATION_TOKEN => 403,
        RESOURCE_NOT_FOUND => 404,
        UNSUPPORTED_OPERATION | REQUEST_NOT_SUPPORTED => 405,
        REQUEST_TIMEOUT => 408,
        AMOUNT_MISMATCH => 409,
        INVALID_CHARGE_STATUS
        | INVALID_CHARGE_PERMISSION_STATUS
        | INVALID_CHECKOUT_SESSION_STATUS
        | CHARGE_PERMISSION_NOT_MODIFIABLE
        | TRANSACTION_COUNT_EXCEEDED
        | AMAZON_REJECTED
        | HARD_DECLINED
        | SOFT_DECLINED
        | PAYMENT_METHOD_NOT_ALLOWED
        | MFA_NOT_COMPLETED
        | TRANSACTION_TIMED_OUT => 422,
        TLS_VERSION_NOT_SUPPORTED => 426,
        TOO_MANY_REQUESTS => 429,
        INTERNAL_SERVER_ERROR | PROCESSING_FAILURE => 500,
        SERVICE_UNAVAILABLE => 503,
        _ => 400,
    }
}

/// What kind of failure an Amazon Pay answer (or its absence) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AmazonErrorClass {
    /// The payment method was refused (HardDeclined, SoftDeclined, AmazonRejected, …): no money moved.
    Declined,
    /// The buyer left or canceled on Amazon's pages.
    BuyerCanceled,
    /// Complete refused because the session was canceled; the session's `reasonCode` says why
    /// (Get Checkout Session before telling the shopper).
    CheckoutCanceled,
    /// The object is not in a state that allows the call (InvalidChargeStatus, …).
    InvalidState,
    /// An amount rule (AmountMismatch, TransactionAmountExceeded, PeriodicAmountExceeded, CurrencyMismatch, …).
    AmountRule,
    /// Signature, key or authentication problem: merchant configuration.
    Signature,
    /// The merchant account cannot transact (InvalidAccountStatus).
    AccountStatus,
    /// Same idempotency key with another body.
    IdempotencyConflict,
    /// 429: nothing was done; retry later.
    Throttled,
    /// 5xx, 408 or no answer (timeout, network): the call may or may not have taken effect.
    Unavailable,
    /// The object does not exist (404).
    NotFound,
    /// A request Amazon considers malformed: a bug on kessai's side.
    BadRequest,
    /// Method or protocol not supported (405, 426).
    Unsupported,
}

impl AmazonErrorClass {
    pub const ALL: [AmazonErrorClass; 13] = [
        AmazonErrorClass::Declined,
        AmazonErrorClass::BuyerCanceled,
        AmazonErrorClass::CheckoutCanceled,
        AmazonErrorClass::InvalidState,
        AmazonErrorClass::AmountRule,
        AmazonErrorClass::Signature,
        AmazonErrorClass::AccountStatus,
        AmazonErrorClass::IdempotencyConflict,
        AmazonErrorClass::Throttled,
        AmazonErrorClass::Unavailable,
        AmazonErrorClass::NotFound,
        AmazonErrorClass::BadRequest,
        AmazonErrorClass::Unsupported,
    ];

    /// snake_case code for logs and APIs.
    pub fn code(self) -> &'static str {
        match self {
            AmazonErrorClass::Declined => "amazon_declined",
            AmazonErrorClass::BuyerCanceled => "amazon_canceled",
            AmazonErrorClass::CheckoutCanceled => "amazon_checkout_canceled",
            AmazonErrorClass::InvalidState => "amazon_invalid_state",
            AmazonErrorClass::AmountRule => "amazon_amount_rule",
            AmazonErrorClass::Signature => "amazon_signature",
            AmazonErrorClass::AccountStatus => "amazon_account_status",
            AmazonErrorClass::IdempotencyConflict => "amazon_idempotency_conflict",
            AmazonErrorClass::Throttled => "amazon_throttled",
            AmazonErrorClass::Unavailable => "amazon_unavailable",
            AmazonErrorClass::NotFound => "amazon_not_found",
            AmazonErrorClass::BadRequest => "amazon_bad_request",
            AmazonErrorClass::Unsupported => "amazon_unsupported",
        }
    }

    /// Whether sending the same request again (same idempotency key for a POST) may succeed.
    /// Only throttling and unavailability; a decline is final for that payment method.
    pub fn retryable(self) -> bool {
        match self {
            AmazonErrorClass::Throttled | AmazonErrorClass::Unavailable => true,
            AmazonErrorClass::Declined
            | AmazonErrorClass::BuyerCanceled
            | AmazonErrorClass::CheckoutCanceled
            | AmazonErrorClass::InvalidState
            | AmazonErrorClass::AmountRule
            | AmazonErrorClass::Signature
            | AmazonErrorClass::AccountStatus
            | AmazonErrorClass::IdempotencyConflict
            | AmazonErrorClass::NotFound
            | AmazonErrorClass::BadRequest
            | AmazonErrorClass::Unsupported => false,
        }
    }

    /// Whether the call may have taken effect at Amazon although no success was seen: then the
    /// state must be reconciled with a GET (Checkout Session, Charge), never guessed or blindly
    /// repeated. 429 is a refusal before processing [I], so it is known.
    pub fn outcome_unknown(self) -> bool {
        match self {
            AmazonErrorClass::Unavailable => true,
            AmazonErrorClass::Declined
            | AmazonErrorClass::BuyerCanceled
            | AmazonErrorClass::CheckoutCanceled
            | AmazonErrorClass::InvalidState
            | AmazonErrorClass::AmountRule
            | AmazonErrorClass::Signature
            | AmazonErrorClass::AccountStatus
            | AmazonErrorClass::IdempotencyConflict
            | AmazonErrorClass::Throttled
            | AmazonErrorClass::NotFound
            | AmazonErrorClass::BadRequest
            | AmazonErrorClass::Unsupported => false,
        }
    }

    /// Shown to the shopper (Japanese).
    pub fn shopper_message_ja(self) -> &'static str {
        match self {
            AmazonErrorClass::Declined => {
                "Amazon Pay でのお支払いが承認されませんでした。別のお支払い方法をお試しください。"
            }
            AmazonErrorClass::BuyerCanceled => "Amazon Pay でのお支払いがキャンセルされました。",
            AmazonErrorClass::CheckoutCanceled => {
                "Amazon Pay でのお手続きが完了しませんでした。もう一度お試しいただくか、別のお支払い方法をご利用ください。"
            }
            AmazonErrorClass::InvalidState => {
                "このお支払いは現在お手続きできない状態です。ページを再読み込みしてお支払い状況をご確認ください。"
            }
            AmazonErrorClass::AmountRule => {
                "ご注文金額を Amazon Pay でお支払いいただけませんでした。別のお支払い方法をお試しください。"
            }
            AmazonErrorClass::Throttled => {
                "ただいま Amazon Pay が混み合っています。しばらく時間をおいてから再度お試しください。"
            }
            AmazonErrorClass::Unavailable => {
                "Amazon Pay からの応答を確認できませんでした。お支払いの状況を確認しておりますので、もう一度お支払いの操作をせずに、しばらくしてからご確認ください。"
            }
            AmazonErrorClass::NotFound => {
                "Amazon Pay のお手続き情報が見つかりませんでした。お手数ですが、最初からやり直してください。"
            }
            AmazonErrorClass::Signature
            | AmazonErrorClass::AccountStatus
            | AmazonErrorClass::IdempotencyConflict
            | AmazonErrorClass::BadRequest
            | AmazonErrorClass::Unsupported => {
                "Amazon Pay との連携でエラーが発生したため、お支払いを完了できませんでした。お手数ですが、ショップへお問い合わせください。"
            }
        }
    }

    /// Shown to the shopper (English).
    pub fn shopper_message_en(self) -> &'static str {
        match self {
            AmazonErrorClass::Declined => {
                "Your Amazon Pay payment was not approved. Please try another payment method."
            }
            AmazonErrorClass::BuyerCanceled => "Your Amazon Pay payment was canceled.",
            AmazonErrorClass::CheckoutCanceled => {
                "The Amazon Pay checkout was not completed. Please try again or use another payment method."
            }
            AmazonErrorClass::InvalidState => {
                "This payment cannot be processed right now. Please reload the page and check its status."
            }
            AmazonErrorClass::AmountRule => {
                "This order amount cannot be paid with Amazon Pay. Please try another payment method."
            }
            AmazonErrorClass::Throttled => "Amazon Pay is busy. Please try again in a moment.",
            AmazonErrorClass::Unavailable => {
                "We could not get an answer from Amazon Pay and are checking your payment. Please do not pay again; check back shortly."
            }
            AmazonErrorClass::NotFound => {
                "The Amazon Pay checkout could not be found. Please start again."
            }
            AmazonErrorClass::Signature
            | AmazonErrorClass::AccountStatus
            | AmazonErrorClass::IdempotencyConflict
            | AmazonErrorClass::BadRequest
            | AmazonErrorClass::Unsupported => {
                "The payment could not be completed because of an Amazon Pay integration error. Please contact the shop."
            }
        }
    }

    /// For the operator (管理画面, Japanese): what happened and what to do.
    pub fn operator_message_ja(self) -> &'static str {
        match self {
            AmazonErrorClass::Declined => {
                "Amazon Pay で与信が承認されませんでした（購入者の支払い方法が拒否されました）。売上は発生していません。"
            }
            AmazonErrorClass::BuyerCanceled => {
                "購入者が Amazon Pay の画面でお支払いをキャンセルしました。売上は発生していません。"
            }
            AmazonErrorClass::CheckoutCanceled => {
                "Amazon Pay のチェックアウトセッションがキャンセル済みのため完了できませんでした。理由はセッションの状態で確認してください。"
            }
            AmazonErrorClass::InvalidState => {
                "Amazon Pay 側の取引状態がこの操作を受け付けませんでした。取引の最新状態を確認してください。"
            }
            AmazonErrorClass::AmountRule => {
                "Amazon Pay の金額ルールにより拒否されました（金額の不一致・上限超過など）。金額を確認し、必要であれば別の決済手段をご利用ください。"
            }
            AmazonErrorClass::Signature => {
                "Amazon Pay の認証に失敗しました。公開鍵ID・秘密鍵・リージョン・アクセスモード（テスト／本番）の設定を確認してください。"
            }
            AmazonErrorClass::AccountStatus => {
                "Amazon Pay のアカウントが取引できない状態です。セラーセントラルでアカウントの状態を確認してください。"
            }
            AmazonErrorClass::IdempotencyConflict => {
                "同じ冪等キーで異なる内容のリクエストが送信され、Amazon Pay に拒否されました。システム管理者に連絡してください。"
            }
            AmazonErrorClass::Throttled => {
                "Amazon Pay のリクエスト数の上限に達しました。しばらく時間をおいて再度実行してください。"
            }
            AmazonErrorClass::Unavailable => {
                "Amazon Pay から応答がなかったため結果が不明です。取引状態を Amazon Pay に照会して確定させます。同じ操作を繰り返さないでください。"
            }
            AmazonErrorClass::NotFound => {
                "Amazon Pay に該当する取引が見つかりませんでした。取引IDとアクセスモード（テスト／本番）を確認してください。"
            }
            AmazonErrorClass::BadRequest => {
                "Amazon Pay がリクエストの形式を受け付けませんでした。システム管理者に連絡してください。"
            }
            AmazonErrorClass::Unsupported => {
                "Amazon Pay がこの操作に対応していません。システム管理者に連絡してください。"
            }
        }
    }

    /// For the operator and logs (English).
    pub fn operator_message_en(self) -> &'static str {
        match self {
            AmazonErrorClass::Declined => {
                "Amazon Pay declined the authorization; no money was taken."
            }
            AmazonErrorClass::BuyerCanceled => "The buyer canceled on Amazon Pay's pages.",
            AmazonErrorClass::CheckoutCanceled => {
                "The checkout session was already canceled; read its reasonCode."
            }
            AmazonErrorClass::InvalidState => {
                "The Amazon Pay object is not in a state that allows this call."
            }
            AmazonErrorClass::AmountRule => {
                "Refused by an Amazon Pay amount rule (mismatch or limit)."
            }
            AmazonErrorClass::Signature => {
                "Amazon Pay authentication failed: check public key id, private key, region and environment."
            }
            AmazonErrorClass::AccountStatus => {
                "The Amazon Pay merchant account cannot transact; check Seller Central."
            }
            AmazonErrorClass::IdempotencyConflict => {
                "The idempotency key was reused with a different body."
            }
            AmazonErrorClass::Throttled => "Amazon Pay throttled the request (429).",
            AmazonErrorClass::Unavailable => {
                "No definite answer from Amazon Pay; the outcome is unknown and must be reconciled with a GET."
            }
            AmazonErrorClass::NotFound => "The Amazon Pay object was not found.",
            AmazonErrorClass::BadRequest => "Amazon Pay rejected the request as malformed.",
            AmazonErrorClass::Unsupported => "Amazon Pay does not support this operation.",
        }
    }
}

impl fmt::Display for AmazonErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Classifies an error answer by its `reasonCode` first, then by HTTP status for codes not known.
/// A timeout or network failure has no status: use [`AmazonErrorClass::Unavailable`].
pub fn classify(status: u16, reason_code: &str) -> AmazonErrorClass {
    use reason::*;
    match reason_code {
        HARD_DECLINED
        | SOFT_DECLINED
        | AMAZON_REJECTED
        | PAYMENT_METHOD_NOT_ALLOWED
        | TRANSACTION_TIMED_OUT
        | MFA_NOT_COMPLETED
        | DECLINED => AmazonErrorClass::Declined,
        BUYER_CANCELED => AmazonErrorClass::BuyerCanceled,
        CHECKOUT_SESSION_CANCELED => AmazonErrorClass::CheckoutCanceled,
        INVALID_CHARGE_STATUS
        | INVALID_CHARGE_PERMISSION_STATUS
        | INVALID_CHECKOUT_SESSION_STATUS
        | CHARGE_PERMISSION_NOT_MODIFIABLE => AmazonErrorClass::InvalidState,
        AMOUNT_MISMATCH
        | TRANSACTION_AMOUNT_EXCEEDED
        | PERIODIC_AMOUNT_EXCEEDED
        | TRANSACTION_COUNT_EXCEEDED
        | CURRENCY_MISMATCH => AmazonErrorClass::AmountRule,
        INVALID_REQUEST_SIGNATURE
        | INVALID_AUTHENTICATION
        | UNAUTHORIZED_ACCESS
        | INVALID_AUTHORIZATION_TOKEN => AmazonErrorClass::Signature,
        INVALID_ACCOUNT_STATUS => AmazonErrorClass::AccountStatus,
        DUPLICATE_IDEMPOTENCY_KEY => AmazonErrorClass::IdempotencyConflict,
        TOO_MANY_REQUESTS => AmazonErrorClass::Throttled,
        INTERNAL_SERVER_ERROR | PROCESSING_FAILURE | SERVICE_UNAVAILABLE | REQUEST_TIMEOUT => {
            AmazonErrorClass::Unavailable
        }
        RESOURCE_NOT_FOUND => AmazonErrorClass::NotFound,
        UNSUPPORTED_OPERATION | REQUEST_NOT_SUPPORTED | TLS_VERSION_NOT_SUPPORTED => {
            AmazonErrorClass::Unsupported
        }
        _ => match status {
            429 => AmazonErrorClass::Throttled,
            408 | 500..=599 => AmazonErrorClass::Unavailable,
            401 | 403 => AmazonErrorClass::Signature,
            404 => AmazonErrorClass::NotFound,
            405 | 426 => AmazonErrorClass::Unsupported,
            409 => AmazonErrorClass::AmountRule,
            422 => AmazonErrorClass::InvalidState,
            _ => AmazonErrorClass::BadRequest,
        },
    }
}

/// A finer shopper message for some decline reasons (Japanese), else `None`.
pub fn decline_hint_ja(reason_code: &str) -> Option<&'static str> {
    match reason_code {
        reason::SOFT_DECLINED => Some(
            "一時的にお支払いが承認されませんでした。時間をおいて再度お試しいただくか、Amazon Pay で別のお支払い方法を選択してください。",
        ),
        reason::HARD_DECLINED | reason::DECLINED => Some(
            "選択されたお支払い方法はご利用いただけませんでした。Amazon Pay で別のお支払い方法を選択するか、他の決済手段をご利用ください。",
        ),
        reason::TRANSACTION_TIMED_OUT => Some(
            "お支払いの承認が時間内に完了しませんでした。お手数ですが、もう一度お試しください。",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::reason::*;
    use super::*;

    /// Reference §5, row by row.
    #[test]
    fn status_table() {
        let table: &[(u16, &[&str])] = &[
            (
                400,
                &[
                    INVALID_HEADER_VALUE,
                    INVALID_REQUEST,
                    INVALID_PARAMETER_VALUE,
                    INVALID_REQUEST_FORMAT,
                    MISSING_HEADER,
                    MISSING_HEADER_VALUE,
                    MISSING_PARAMETER_VALUE,
                    UNRECOGNIZED_FIELD,
                    INVALID_SANDBOX_SIMULATION_SPECIFIED,
                    DUPLICATE_IDEMPOTENCY_KEY,
                    INVALID_PARAMETER_COMBINATION,
                    CURRENCY_MISMATCH,
                    INVALID_API_VERSION,
                    TRANSACTION_AMOUNT_EXCEEDED,
                    PERIODIC_AMOUNT_EXCEEDED,
                    CHECKOUT_SESSION_CANCELED,
                ],
            ),
            (401, &[UNAUTHORIZED_ACCESS]),
            (
                403,
                &[
                    INVALID_AUTHENTICATION,
                    INVALID_ACCOUNT_STATUS,
                    INVALID_REQUEST_SIGNATURE,
                    INVALID_AUTHORIZATION_TOKEN,
                ],
            ),
            (404, &[RESOURCE_NOT_FOUND]),
            (405, &[UNSUPPORTED_OPERATION, REQUEST_NOT_SUPPORTED]),
            (408, &[REQUEST_TIMEOUT]),
            (409, &[AMOUNT_MISMATCH]),
            (
                422,
                &[
                    INVALID_CHARGE_STATUS,
                    INVALID_CHARGE_PERMISSION_STATUS,
                    INVALID_CHECKOUT_SESSION_STATUS,
                    CHARGE_PERMISSION_NOT_MODIFIABLE,
                    TRANSACTION_COUNT_EXCEEDED,
                    AMAZON_REJECTED,
                    HARD_DECLINED,
                    SOFT_DECLINED,
                    PAYMENT_METHOD_NOT_ALLOWED,
                    MFA_NOT_COMPLETED,
                    TRANSACTION_TIMED_OUT,
                ],
            ),
            (426, &[TLS_VERSION_NOT_SUPPORTED]),
            (429, &[TOO_MANY_REQUESTS]),
            (500, &[INTERNAL_SERVER_ERROR, PROCESSING_FAILURE]),
            (503, &[SERVICE_UNAVAILABLE]),
        ];
        for (status, codes) in table {
            for code in *codes {
                assert_eq!(http_status_of(code), *status, "{code}");
                // A code and its own status always classify the same way as the code alone.
                assert_eq!(classify(*status, code), classify(400, code), "{code}");
            }
        }
        assert_eq!(http_status_of("SomethingNew"), 400);
    }

    #[test]
    fn classification() {
        assert_eq!(classify(422, HARD_DECLINED), AmazonErrorClass::Declined);
        assert_eq!(classify(422, SOFT_DECLINED), AmazonErrorClass::Declined);
        assert_eq!(
            classify(400, CHECKOUT_SESSION_CANCELED),
            AmazonErrorClass::CheckoutCanceled
        );
        assert_eq!(
            classify(422, CHECKOUT_SESSION_CANCELED),
            AmazonErrorClass::CheckoutCanceled
        );
        assert_eq!(classify(409, AMOUNT_MISMATCH), AmazonErrorClass::AmountRule);
        assert_eq!(
            classify(403, INVALID_REQUEST_SIGNATURE),
            AmazonErrorClass::Signature
        );
        assert_eq!(
            classify(403, INVALID_ACCOUNT_STATUS),
            AmazonErrorClass::AccountStatus
        );
        assert_eq!(
            classify(429, TOO_MANY_REQUESTS),
            AmazonErrorClass::Throttled
        );
        assert_eq!(
            classify(500, PROCESSING_FAILURE),
            AmazonErrorClass::Unavailable
        );
        assert_eq!(
            classify(404, RESOURCE_NOT_FOUND),
            AmazonErrorClass::NotFound
        );
        assert_eq!(
            classify(400, DUPLICATE_IDEMPOTENCY_KEY),
            AmazonErrorClass::IdempotencyConflict
        );
        assert_eq!(
            classify(400, INVALID_PARAMETER_VALUE),
            AmazonErrorClass::BadRequest
        );
        // Unknown codes fall back on the status.
        assert_eq!(classify(502, ""), AmazonErrorClass::Unavailable);
        assert_eq!(
            classify(504, "GatewayTimeout"),
            AmazonErrorClass::Unavailable
        );
        assert_eq!(classify(429, "Whatever"), AmazonErrorClass::Throttled);
        assert_eq!(
            classify(422, "NewStateCode"),
            AmazonErrorClass::InvalidState
        );
        assert_eq!(classify(418, ""), AmazonErrorClass::BadRequest);
    }

    #[test]
    fn retry_and_unknown_outcome() {
        let retryable: Vec<_> = AmazonErrorClass::ALL
            .iter()
            .filter(|c| c.retryable())
            .collect();
        assert_eq!(
            retryable,
            vec![&AmazonErrorClass::Throttled, &AmazonErrorClass::Unavailable]
        );
        let unknown: Vec<_> = AmazonErrorClass::ALL
            .iter()
            .filter(|c| c.outcome_unknown())
            .collect();
        assert_eq!(unknown, vec![&AmazonErrorClass::Unavailable]);
        assert!(!AmazonErrorClass::Declined.retryable());
    }

    #[test]
    fn messages() {
        assert_eq!(
            AmazonErrorClass::Declined.shopper_message_ja(),
            "Amazon Pay でのお支払いが承認されませんでした。別のお支払い方法をお試しください。"
        );
        assert_eq!(
            AmazonErrorClass::BuyerCanceled.shopper_message_ja(),
            "Amazon Pay でのお支払いがキャンセルされました。"
        );
        let mut codes = std::collections::HashSet::new();
        for c in AmazonErrorClass::ALL {
            assert!(codes.insert(c.code()), "duplicate code {}", c.code());
            for m in [
                c.shopper_message_ja(),
                c.operator_message_ja(),
                c.shopper_message_en(),
                c.operator_message_en(),
            ] {
                assert!(!m.is_empty());
            }
            // Japanese messages are Japanese sentences; English ones are ASCII.
            assert!(c.shopper_message_ja().ends_with('。'), "{c}");
            assert!(c.operator_message_ja().ends_with('。'), "{c}");
            assert!(c.shopper_message_en().is_ascii() && c.operator_message_en().is_ascii());
        }
        assert_eq!(AmazonErrorClass::BuyerCanceled.code(), "amazon_canceled");
        assert_eq!(AmazonErrorClass::Declined.code(), "amazon_declined");
        assert!(decline_hint_ja(SOFT_DECLINED).is_some());
        assert!(decline_hint_ja(INVALID_CHARGE_STATUS).is_none());
    }
}
