//! States and reason codes of Amazon Pay CV2 objects, and the transitions that exist.
//!
//! Source: reference §1.4 ([C] .NET SDK `Types/State.cs`, `Types/ReasonCodes.cs`; which reason
//! code goes with which state is partly inferred [I]). The wire objects in
//! [`crate::amazon::model`] carry states as strings (Amazon may add values); these enums are how
//! kessai reasons about them, with total matches so a new state cannot slip through.

use std::fmt;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            /// Exact, case-sensitive match on the wire value.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown {} '{}'", stringify!($name), s))
                })
            }
        }
    };
}

wire_enum! {
    /// Checkout Session: `Open` → `Completed` | `Canceled`.
    CheckoutSessionState {
        Open => "Open",
        Completed => "Completed",
        Canceled => "Canceled",
    }
}

impl CheckoutSessionState {
    /// Update and Complete are only accepted while Open (else `InvalidCheckoutSessionStatus`).
    pub fn is_open(self) -> bool {
        match self {
            CheckoutSessionState::Open => true,
            CheckoutSessionState::Completed | CheckoutSessionState::Canceled => false,
        }
    }
    pub fn is_final(self) -> bool {
        !self.is_open()
    }
    pub fn can_transition_to(self, next: CheckoutSessionState) -> bool {
        match (self, next) {
            (CheckoutSessionState::Open, CheckoutSessionState::Completed)
            | (CheckoutSessionState::Open, CheckoutSessionState::Canceled) => true,
            (CheckoutSessionState::Open, CheckoutSessionState::Open)
            | (CheckoutSessionState::Completed, _)
            | (CheckoutSessionState::Canceled, _) => false,
        }
    }
}

wire_enum! {
    /// Why a Checkout Session is Canceled.
    CheckoutSessionCanceledReason {
        /// The buyer left the Amazon page (sandbox card …3064).
        BuyerCanceled => "BuyerCanceled",
        /// The payment method was declined (sandbox card …3434).
        Declined => "Declined",
        AmazonCanceled => "AmazonCanceled",
        /// 24 hours in Open.
        Expired => "Expired",
    }
}

wire_enum! {
    /// Charge Permission: `Chargeable` ⇄ `NonChargeable` → `Closed`.
    ChargePermissionState {
        Chargeable => "Chargeable",
        NonChargeable => "NonChargeable",
        Closed => "Closed",
    }
}

impl ChargePermissionState {
    /// Create Charge needs a Chargeable permission (else `InvalidChargePermissionStatus`).
    pub fn can_charge(self) -> bool {
        match self {
            ChargePermissionState::Chargeable => true,
            ChargePermissionState::NonChargeable | ChargePermissionState::Closed => false,
        }
    }
    /// Close is accepted while not yet Closed.
    pub fn closable(self) -> bool {
        match self {
            ChargePermissionState::Chargeable | ChargePermissionState::NonChargeable => true,
            ChargePermissionState::Closed => false,
        }
    }
    /// `merchantMetadata` may be changed repeatedly while Chargeable/NonChargeable; once Closed
    /// only fields still unset may be filled (reference §1.3).
    pub fn metadata_freely_updatable(self) -> bool {
        self.closable()
    }
    pub fn can_transition_to(self, next: ChargePermissionState) -> bool {
        match (self, next) {
            (ChargePermissionState::Chargeable, ChargePermissionState::NonChargeable)
            | (ChargePermissionState::NonChargeable, ChargePermissionState::Chargeable)
            | (ChargePermissionState::Chargeable, ChargePermissionState::Closed)
            | (ChargePermissionState::NonChargeable, ChargePermissionState::Closed) => true,
            (ChargePermissionState::Chargeable, ChargePermissionState::Chargeable)
            | (ChargePermissionState::NonChargeable, ChargePermissionState::NonChargeable)
            | (ChargePermissionState::Closed, _) => false,
        }
    }
}

wire_enum! {
    /// Why a Charge Permission is NonChargeable.
    ChargePermissionNonChargeableReason {
        /// "A charge is already in progress. You cannot initiate a new charge unless previous charge is canceled."
        ChargeInProgress => "ChargeInProgress",
        PaymentMethodInvalid => "PaymentMethodInvalid",
        PaymentMethodDeleted => "PaymentMethodDeleted",
        PaymentMethodExpired => "PaymentMethodExpired",
        PaymentMethodNotAllowed => "PaymentMethodNotAllowed",
        PaymentMethodNotSet => "PaymentMethodNotSet",
        BillingAddressDeleted => "BillingAddressDeleted",
        MfaFailed => "MFAFailed",
    }
}

wire_enum! {
    /// Why a Charge Permission is Closed.
    ChargePermissionClosedReason {
        /// reasonDescription = the merchant's `closureReason`.
        MerchantClosed => "MerchantClosed",
        BuyerClosed => "BuyerClosed",
        AmazonClosed => "AmazonClosed",
        AmazonCanceled => "AmazonCanceled",
        /// OneTime: 180 days (13 months with extendExpiration).
        Expired => "Expired",
    }
}

wire_enum! {
    /// Charge: `AuthorizationInitiated` → `Authorized` → `CaptureInitiated` → `Captured`;
    /// `Declined`; `Canceled`.
    ChargeState {
        /// Pending authorisation: only when `canHandlePendingAuthorization` is true (never for kessai).
        AuthorizationInitiated => "AuthorizationInitiated",
        /// 仮売上. Expires (Canceled/ExpiredUnused) after 30 days.
        Authorized => "Authorized",
        /// Asynchronous capture (e.g. more than 7 days after authorisation [U: exact triggers]).
        CaptureInitiated => "CaptureInitiated",
        Captured => "Captured",
        Canceled => "Canceled",
        Declined => "Declined",
    }
}

impl ChargeState {
    /// Capture Charge is accepted only for an Authorized charge (else `InvalidChargeStatus`).
    pub fn capturable(self) -> bool {
        match self {
            ChargeState::Authorized => true,
            ChargeState::AuthorizationInitiated
            | ChargeState::CaptureInitiated
            | ChargeState::Captured
            | ChargeState::Canceled
            | ChargeState::Declined => false,
        }
    }
    /// Cancel Charge is accepted before capture starts.
    pub fn cancelable(self) -> bool {
        match self {
            ChargeState::AuthorizationInitiated | ChargeState::Authorized => true,
            ChargeState::CaptureInitiated
            | ChargeState::Captured
            | ChargeState::Canceled
            | ChargeState::Declined => false,
        }
    }
    /// Refunds need captured money.
    pub fn refundable(self) -> bool {
        match self {
            ChargeState::Captured => true,
            ChargeState::AuthorizationInitiated
            | ChargeState::Authorized
            | ChargeState::CaptureInitiated
            | ChargeState::Canceled
            | ChargeState::Declined => false,
        }
    }
    /// No further transition exists.
    pub fn is_final(self) -> bool {
        match self {
            ChargeState::Captured | ChargeState::Canceled | ChargeState::Declined => true,
            ChargeState::AuthorizationInitiated
            | ChargeState::Authorized
            | ChargeState::CaptureInitiated => false,
        }
    }
    pub fn can_transition_to(self, next: ChargeState) -> bool {
        use ChargeState::*;
        match self {
            AuthorizationInitiated => matches!(next, Authorized | Declined | Canceled),
            // A capture Amazon declines turns the charge Declined [I].
            Authorized => matches!(next, CaptureInitiated | Captured | Canceled | Declined),
            CaptureInitiated => matches!(next, Captured | Declined),
            Captured | Canceled | Declined => false,
        }
    }
}

wire_enum! {
    /// Why a Charge is Declined.
    ChargeDeclinedReason {
        /// Retry may succeed later.
        SoftDeclined => "SoftDeclined",
        /// Retry with the same payment method will fail.
        HardDeclined => "HardDeclined",
        AmazonRejected => "AmazonRejected",
        ProcessingFailure => "ProcessingFailure",
        TransactionTimedOut => "TransactionTimedOut",
    }
}

wire_enum! {
    /// Why a Charge is Canceled.
    ChargeCanceledReason {
        MerchantCanceled => "MerchantCanceled",
        ChargePermissionCanceled => "ChargePermissionCanceled",
        AmazonCanceled => "AmazonCanceled",
        BuyerCanceled => "BuyerCanceled",
        /// 30 days in Authorized without capture.
        ExpiredUnused => "ExpiredUnused",
    }
}

wire_enum! {
    /// Refund: `RefundInitiated` → `Refunded` | `Declined` (always asynchronous).
    RefundState {
        RefundInitiated => "RefundInitiated",
        Refunded => "Refunded",
        Declined => "Declined",
    }
}

impl RefundState {
    pub fn is_final(self) -> bool {
        match self {
            RefundState::RefundInitiated => false,
            RefundState::Refunded | RefundState::Declined => true,
        }
    }
    pub fn can_transition_to(self, next: RefundState) -> bool {
        match (self, next) {
            (RefundState::RefundInitiated, RefundState::Refunded)
            | (RefundState::RefundInitiated, RefundState::Declined) => true,
            (RefundState::RefundInitiated, RefundState::RefundInitiated)
            | (RefundState::Refunded, _)
            | (RefundState::Declined, _) => false,
        }
    }
}

wire_enum! {
    /// Why a Refund is Declined [I: by analogy with the MWS refund page].
    RefundDeclinedReason {
        AmazonRejected => "AmazonRejected",
        ProcessingFailure => "ProcessingFailure",
    }
}

wire_enum! {
    /// `chargePermissionType`.
    ChargePermissionType {
        OneTime => "OneTime",
        Recurring => "Recurring",
        PaymentMethodOnFile => "PaymentMethodOnFile",
    }
}

wire_enum! {
    /// `paymentDetails.paymentIntent`.
    PaymentIntent {
        /// Charge Permission Chargeable, no charge.
        Confirm => "Confirm",
        /// Charge Authorized (仮売上): what kessai uses.
        Authorize => "Authorize",
        /// Charge captured at once [I].
        AuthorizeWithCapture => "AuthorizeWithCapture",
    }
}

wire_enum! {
    /// `releaseEnvironment`.
    ReleaseEnvironment {
        Sandbox => "Sandbox",
        Live => "Live",
    }
}

wire_enum! {
    /// Checkout Session `constraints[].constraintId`: while any remains, Amazon gives no
    /// `amazonPayRedirectUrl` and Complete is refused.
    ConstraintId {
        BuyerNotAssociated => "BuyerNotAssociated",
        ChargeAmountNotSet => "ChargeAmountNotSet",
        CheckoutResultReturnUrlNotSet => "CheckoutResultReturnUrlNotSet",
        PaymentIntentNotSet => "PaymentIntentNotSet",
        /// Recurring sessions only.
        RecurringFrequencyNotSet => "RecurringFrequencyNotSet",
    }
}

impl ConstraintId {
    /// The fixed `description` Amazon sends with each constraint (wording of public API fixtures).
    pub fn description(self) -> &'static str {
        match self {
            ConstraintId::BuyerNotAssociated => {
                "There is no buyer associated with the Checkout Session. Return the checkout session id to the Amazon Pay Button to allow buyer to login."
            }
            ConstraintId::ChargeAmountNotSet => "chargeAmount is not set.",
            ConstraintId::CheckoutResultReturnUrlNotSet => "checkoutResultReturnUrl is not set.",
            ConstraintId::PaymentIntentNotSet => "paymentIntent is not set.",
            // Not seen in a fixture [U]: worded like the others.
            ConstraintId::RecurringFrequencyNotSet => "recurringMetadata.frequency is not set.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Copy + PartialEq + fmt::Debug>(
        all: &[T],
        as_str: fn(T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        for &v in all {
            assert_eq!(parse(as_str(v)), Some(v));
            let lower = as_str(v).to_lowercase();
            if lower != as_str(v) {
                assert_eq!(parse(&lower), None, "parsing is case-sensitive");
            }
        }
        assert_eq!(parse(""), None);
    }

    #[test]
    fn wire_names_round_trip() {
        round_trips(
            CheckoutSessionState::ALL,
            CheckoutSessionState::as_str,
            CheckoutSessionState::parse,
        );
        round_trips(ChargeState::ALL, ChargeState::as_str, ChargeState::parse);
        round_trips(RefundState::ALL, RefundState::as_str, RefundState::parse);
        round_trips(
            ChargePermissionState::ALL,
            ChargePermissionState::as_str,
            ChargePermissionState::parse,
        );
        round_trips(
            ChargeDeclinedReason::ALL,
            ChargeDeclinedReason::as_str,
            ChargeDeclinedReason::parse,
        );
        round_trips(
            ChargeCanceledReason::ALL,
            ChargeCanceledReason::as_str,
            ChargeCanceledReason::parse,
        );
        round_trips(
            ChargePermissionNonChargeableReason::ALL,
            ChargePermissionNonChargeableReason::as_str,
            ChargePermissionNonChargeableReason::parse,
        );
        round_trips(
            ChargePermissionClosedReason::ALL,
            ChargePermissionClosedReason::as_str,
            ChargePermissionClosedReason::parse,
        );
        round_trips(
            CheckoutSessionCanceledReason::ALL,
            CheckoutSessionCanceledReason::as_str,
            CheckoutSessionCanceledReason::parse,
        );
        round_trips(ConstraintId::ALL, ConstraintId::as_str, ConstraintId::parse);
        assert_eq!(
            ChargePermissionNonChargeableReason::MfaFailed.as_str(),
            "MFAFailed"
        );
        assert_eq!(ChargeState::ALL.len(), 6);
        assert_eq!(ChargeState::parse("authorized"), None);
    }

    #[test]
    fn serde_uses_wire_names() {
        assert_eq!(
            serde_json::to_string(&ChargeState::CaptureInitiated).unwrap(),
            "\"CaptureInitiated\""
        );
        assert_eq!(
            serde_json::from_str::<PaymentIntent>("\"Authorize\"").unwrap(),
            PaymentIntent::Authorize
        );
        let err = serde_json::from_str::<PaymentIntent>("\"authorize\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown PaymentIntent 'authorize'"),
            "{err}"
        );
    }

    #[test]
    fn charge_rules() {
        use ChargeState::*;
        let capturable: Vec<_> = ChargeState::ALL.iter().filter(|s| s.capturable()).collect();
        assert_eq!(capturable, vec![&Authorized]);
        let cancelable: Vec<_> = ChargeState::ALL.iter().filter(|s| s.cancelable()).collect();
        assert_eq!(cancelable, vec![&AuthorizationInitiated, &Authorized]);
        assert!(Captured.refundable() && !Authorized.refundable());
        for &s in ChargeState::ALL {
            // Final states have no way out; everything else has at least one.
            let outs = ChargeState::ALL
                .iter()
                .filter(|&&n| s.can_transition_to(n))
                .count();
            assert_eq!(outs == 0, s.is_final(), "{s}");
            assert!(!s.can_transition_to(s), "{s} → itself");
            // Capture and cancel are transitions the machine allows.
            if s.capturable() {
                assert!(s.can_transition_to(Captured));
            }
            if s.cancelable() {
                assert!(s.can_transition_to(Canceled));
            }
        }
        assert!(!Captured.can_transition_to(Canceled));
        assert!(!Declined.can_transition_to(Authorized));
    }

    #[test]
    fn session_permission_refund_rules() {
        use CheckoutSessionState as Cs;
        assert!(Cs::Open.is_open() && Cs::Completed.is_final() && Cs::Canceled.is_final());
        assert!(Cs::Open.can_transition_to(Cs::Completed));
        assert!(!Cs::Canceled.can_transition_to(Cs::Completed));
        assert!(!Cs::Completed.can_transition_to(Cs::Canceled));

        use ChargePermissionState as Cp;
        assert!(
            Cp::Chargeable.can_charge()
                && !Cp::NonChargeable.can_charge()
                && !Cp::Closed.can_charge()
        );
        assert!(Cp::NonChargeable.can_transition_to(Cp::Chargeable));
        assert!(!Cp::Closed.can_transition_to(Cp::Chargeable));
        assert!(!Cp::Closed.closable() && Cp::NonChargeable.closable());

        use RefundState as R;
        assert!(R::RefundInitiated.can_transition_to(R::Refunded));
        assert!(!R::Refunded.can_transition_to(R::Declined));
        assert!(R::Declined.is_final() && !R::RefundInitiated.is_final());
    }

    #[test]
    fn constraint_descriptions() {
        for &c in ConstraintId::ALL {
            assert!(!c.description().is_empty());
        }
    }
}
