//! Amazon Pay CV2 JSON objects (camelCase on the wire).
//!
//! Response objects tolerate unknown fields and `null`s (Amazon adds fields; unset ones come as
//! `null`), and every optional field is skipped when `None`, so the sandbox can serialise the same
//! types. Request bodies are read with [`parse_request_body`], which refuses unknown top-level
//! fields as Amazon does (`400 UnrecognizedField`, "The field 'checkoutMode' is invalid for this API.").

use super::signing::{amz_date, parse_amz_date};
use super::status::{
    ChargePermissionState, ChargeState, CheckoutSessionState, ConstraintId, RefundState,
};
use crate::jst::UnixMillis;
use crate::money::Jpy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// `yyyyMMdd'T'HHmmss'Z'` (UTC), the format of `creationTimestamp` and friends.
pub fn timestamp(t: UnixMillis) -> String {
    amz_date(t)
}

/// Reads a body timestamp (`20200222T041614Z`; the dashed ISO form is accepted too).
pub fn parse_timestamp(s: &str) -> Option<UnixMillis> {
    parse_amz_date(s)
}

/// The currency kessai deals in.
pub const JPY: &str = "JPY";

/// `{"amount": "500", "currencyCode": "JPY"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Price {
    /// A decimal string. SDKs send JSON strings or numbers; numbers are read into their decimal
    /// text so both shapes reach the same checks.
    #[serde(deserialize_with = "string_or_number")]
    pub amount: String,
    pub currency_code: String,
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(serde_json::Number),
    }
    match Raw::deserialize(d)? {
        Raw::Text(s) => Ok(s),
        Raw::Number(n) => Ok(n.to_string()),
    }
}

/// Why a [`Price`] is not a yen amount kessai accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceError {
    /// `currencyCode` is not `JPY`.
    Currency(String),
    /// Not a non-negative whole number of yen (decimals, separators, signs, spaces, empty, too large).
    Amount(String),
}

impl fmt::Display for PriceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PriceError::Currency(c) => write!(f, "currency '{c}' is not JPY"),
            PriceError::Amount(a) => write!(f, "'{a}' is not a whole number of yen"),
        }
    }
}

impl std::error::Error for PriceError {}

/// At most this many digits: keeps the i64 far from overflow (Amazon caps a charge at ¥10,000,000).
const MAX_AMOUNT_DIGITS: usize = 15;

fn whole_yen(digits: &str) -> Option<i64> {
    if digits.is_empty()
        || digits.len() > MAX_AMOUNT_DIGITS
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok()
}

impl Price {
    pub fn jpy(amount: Jpy) -> Price {
        Price {
            amount: amount.yen().to_string(),
            currency_code: JPY.to_string(),
        }
    }

    /// Reads an amount from Amazon: `"500"`, and leniently `"500.00"` (an old JPY refund showed
    /// `"100.00"`). Refuses fractions (`"705.50"`), separators (`"1,000"`), signs, spaces and
    /// other currencies. Zero is allowed (e.g. `refundedAmount`).
    pub fn to_jpy(&self) -> Result<Jpy, PriceError> {
        self.check_currency()?;
        let bad = || PriceError::Amount(self.amount.clone());
        let (int, frac) = match self.amount.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (self.amount.as_str(), None),
        };
        if let Some(f) = frac
            && (f.is_empty() || !f.bytes().all(|b| b == b'0'))
        {
            return Err(bad());
        }
        whole_yen(int).map(Jpy::from_stored).ok_or_else(bad)
    }

    /// Reads an amount as Amazon reads a request for JPY: digits only. `"705.00"` is refused
    /// (Amazon: 400 InvalidParameterValue "The value '705.00' provided for 'chargeAmount.Amount'
    /// is invalid.").
    pub fn to_jpy_strict(&self) -> Result<Jpy, PriceError> {
        self.check_currency()?;
        whole_yen(&self.amount)
            .map(Jpy::from_stored)
            .ok_or_else(|| PriceError::Amount(self.amount.clone()))
    }

    fn check_currency(&self) -> Result<(), PriceError> {
        if self.currency_code == JPY {
            Ok(())
        } else {
            Err(PriceError::Currency(self.currency_code.clone()))
        }
    }
}

/// A postal address as Amazon returns it. Japanese addresses: `stateOrRegion` is the prefecture,
/// `city`/`addressLine1..3` the rest (Amazon has no furigana).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
}

/// `statusDetails` of Checkout Session, Charge and Refund (one `reasonCode`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StatusDetails {
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_timestamp: Option<String>,
}

/// One entry of a Charge Permission's `statusDetails.reasons`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StatusReason {
    pub reason_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_description: Option<String>,
}

/// `statusDetails` of a Charge Permission: a `reasons` array, unlike the other objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChargePermissionStatusDetails {
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Vec<StatusReason>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated_timestamp: Option<String>,
}

/// The buyer, in a Checkout Session / Charge Permission and from Get Buyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    /// Stable `amzn1.account.…`: what an account link stores.
    pub buyer_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prime_membership_types: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct WebCheckoutDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_review_return_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_result_return_url: Option<String>,
    /// Present only when no constraint remains.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amazon_pay_redirect_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_cancel_url: Option<String>,
    /// `ProcessOrder` (Additional Payment Button only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkout_mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDetails {
    /// `Confirm` | `Authorize` | `AuthorizeWithCapture` ([`super::status::PaymentIntent`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_handle_pending_authorization: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_amount: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_order_amount: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presentment_currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soft_descriptor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_overcharge: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_expiration: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate_order_total: Option<Price>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct MerchantMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_reference_id: Option<String>,
    /// More than 50 characters is an error at Amazon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_store_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note_to_buyer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_information: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPreference {
    /// e.g. "Amazon Pay" or a masked card.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_descriptor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Constraint {
    pub constraint_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Constraint {
    pub fn of(id: ConstraintId) -> Constraint {
        Constraint {
            constraint_id: id.as_str().to_string(),
            description: Some(id.description().to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RecurringFrequency {
    /// `Year` | `Month` | `Week` | `Day` | `Variable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Sent as a string or a number by SDK samples.
    #[serde(
        default,
        deserialize_with = "opt_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub value: Option<String>,
}

fn opt_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(serde_json::Number),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Text(s)) => Some(s),
        Some(Raw::Number(n)) => Some(n.to_string()),
        None => None,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RecurringMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frequency: Option<RecurringFrequency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Price>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct RegionRestriction {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub states_or_regions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip_codes: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct AddressRestrictions {
    /// `Allowed` | `NotAllowed`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Keyed by country code, e.g. `JP`. `null` reads as empty.
    #[serde(default, deserialize_with = "null_as_empty_map")]
    pub restrictions: BTreeMap<String, RegionRestriction>,
}

fn null_as_empty_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, RegionRestriction>, D::Error> {
    Ok(Option::<BTreeMap<String, RegionRestriction>>::deserialize(d)?.unwrap_or_default())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DeliverySpecifications {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub special_restrictions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_restrictions: Option<AddressRestrictions>,
}

impl DeliverySpecifications {
    /// Whether a shipping address in `country_code` satisfies the restrictions (no restrictions:
    /// any country). Only the country level is evaluated; region/zip lists are [U] in detail.
    pub fn allows_country(&self, country_code: &str) -> bool {
        match &self.address_restrictions {
            None => true,
            Some(r) => {
                let listed = r.restrictions.contains_key(country_code);
                match r.kind.as_str() {
                    "Allowed" => listed,
                    "NotAllowed" => !listed,
                    // An unknown type is refused when the session is created; nothing to allow.
                    _ => false,
                }
            }
        }
    }
}

/// A Checkout Session (Get/Update/Complete responses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CheckoutSession {
    pub checkout_session_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_checkout_details: Option<WebCheckoutDetails>,
    /// `PayAndShip` | `PayOnly` | `SignIn`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_details: Option<PaymentDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_permission_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring_metadata: Option<RecurringMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_metadata: Option<MerchantMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_preferences: Option<Vec<PaymentPreference>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<StatusDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Vec<Constraint>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// creation + 24 h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_permission_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_specifications: Option<DeliverySpecifications>,
    /// `Sandbox` | `Live`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_environment: Option<String>,
}

impl CheckoutSession {
    /// The typed state; `None` when absent or unknown to kessai (treat as "ask again").
    pub fn state(&self) -> Option<CheckoutSessionState> {
        self.status_details
            .as_ref()
            .and_then(|s| CheckoutSessionState::parse(&s.state))
    }
    pub fn reason_code(&self) -> Option<&str> {
        self.status_details.as_ref()?.reason_code.as_deref()
    }
    pub fn amazon_pay_redirect_url(&self) -> Option<&str> {
        self.web_checkout_details
            .as_ref()?
            .amazon_pay_redirect_url
            .as_deref()
    }
    pub fn checkout_review_return_url(&self) -> Option<&str> {
        self.web_checkout_details
            .as_ref()?
            .checkout_review_return_url
            .as_deref()
    }
    pub fn charge_amount(&self) -> Option<&Price> {
        self.payment_details.as_ref()?.charge_amount.as_ref()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChargePermissionLimits {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_limit: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount_balance: Option<Price>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ChargePermission {
    pub charge_permission_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_permission_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<ChargePermissionLimits>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buyer: Option<Buyer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_preferences: Option<Vec<PaymentPreference>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_metadata: Option<MerchantMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring_metadata: Option<RecurringMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub presentment_currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<ChargePermissionStatusDetails>,
}

impl ChargePermission {
    pub fn state(&self) -> Option<ChargePermissionState> {
        self.status_details
            .as_ref()
            .and_then(|s| ChargePermissionState::parse(&s.state))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Charge {
    pub charge_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_permission_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_amount: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_amount: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunded_amount: Option<Price>,
    /// Returned prefixed `AMZ*`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soft_descriptor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_now: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_handle_pending_authorization: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_metadata: Option<MerchantMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub converted_amount: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversion_rate: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// creation + 30 days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<StatusDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<String>,
}

impl Charge {
    pub fn state(&self) -> Option<ChargeState> {
        self.status_details
            .as_ref()
            .and_then(|s| ChargeState::parse(&s.state))
    }
    pub fn reason_code(&self) -> Option<&str> {
        self.status_details.as_ref()?.reason_code.as_deref()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    pub refund_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refund_amount: Option<Price>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soft_descriptor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_details: Option<StatusDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_environment: Option<String>,
}

impl Refund {
    pub fn state(&self) -> Option<RefundState> {
        self.status_details
            .as_ref()
            .and_then(|s| RefundState::parse(&s.state))
    }
}

/// The error body of every failed call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    pub reason_code: String,
    #[serde(default)]
    pub message: String,
}

impl ErrorBody {
    pub fn new(reason_code: impl Into<String>, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            reason_code: reason_code.into(),
            message: message.into(),
        }
    }
}

// ---- request bodies -------------------------------------------------------------------------

/// Create Checkout Session (also the checkout button's payload).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCheckoutSession {
    pub web_checkout_details: WebCheckoutDetails,
    pub store_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_permission_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring_metadata: Option<RecurringMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_details: Option<PaymentDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_metadata: Option<MerchantMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_specifications: Option<DeliverySpecifications>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_details: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_permission_id: Option<String>,
}

/// The Sign in with Amazon button payload, as the sandbox reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignInPayload {
    pub sign_in_return_url: String,
    pub store_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_scopes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_in_cancel_url: Option<String>,
}

/// Update Checkout Session (PATCH).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateCheckoutSession {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_checkout_details: Option<WebCheckoutDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_details: Option<PaymentDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_metadata: Option<MerchantMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring_metadata: Option<RecurringMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<serde_json::Value>,
}

/// Complete Checkout Session: `chargeAmount` must equal the session's (else 409 AmountMismatch).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompleteCheckoutSession {
    pub charge_amount: Price,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_order_amount: Option<Price>,
}

/// Update Charge Permission (PATCH).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateChargePermission {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_metadata: Option<MerchantMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurring_metadata: Option<RecurringMetadata>,
}

/// Close Charge Permission (DELETE with a body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloseChargePermission {
    /// At most 255 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closure_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_pending_charges: Option<bool>,
}

/// Create Charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateCharge {
    pub charge_permission_id: String,
    pub charge_amount: Price,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture_now: Option<bool>,
    /// Only with `captureNow: true`; at most 16 characters [I].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soft_descriptor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_handle_pending_authorization: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merchant_metadata: Option<MerchantMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_metadata: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_initiator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_checkout_details: Option<WebCheckoutDetails>,
}

/// Capture Charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptureCharge {
    pub capture_amount: Price,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soft_descriptor: Option<String>,
}

/// Cancel Charge (DELETE with a body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelCharge {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancellation_reason: Option<String>,
}

/// Create Refund.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRefund {
    pub charge_id: String,
    pub refund_amount: Price,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub soft_descriptor: Option<String>,
}

/// Why a request body was refused, with the reason code Amazon uses for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBodyError {
    /// 400 `UnrecognizedField`: a top-level field the API does not know.
    UnrecognizedField(String),
    /// 400 `MissingParameterValue`: a required field is absent.
    MissingParameterValue(String),
    /// 400 `InvalidParameterValue`: a value of the wrong type or shape.
    InvalidParameterValue(String),
    /// 400 `InvalidRequestFormat`: not a JSON object.
    InvalidRequestFormat(String),
}

impl RequestBodyError {
    pub fn reason_code(&self) -> &'static str {
        match self {
            RequestBodyError::UnrecognizedField(_) => "UnrecognizedField",
            RequestBodyError::MissingParameterValue(_) => "MissingParameterValue",
            RequestBodyError::InvalidParameterValue(_) => "InvalidParameterValue",
            RequestBodyError::InvalidRequestFormat(_) => "InvalidRequestFormat",
        }
    }
    /// Amazon-style English message.
    pub fn message(&self) -> String {
        match self {
            RequestBodyError::UnrecognizedField(f) => {
                format!("The field '{f}' is invalid for this API.")
            }
            RequestBodyError::MissingParameterValue(f) => {
                format!(
                    "The mandatory field '{f}' is missing. Please check your request and try again."
                )
            }
            RequestBodyError::InvalidParameterValue(detail) => {
                format!("A value provided in the request is invalid: {detail}")
            }
            RequestBodyError::InvalidRequestFormat(detail) => {
                format!("The request body is not valid JSON: {detail}")
            }
        }
    }
    pub fn to_error_body(&self) -> ErrorBody {
        ErrorBody::new(self.reason_code(), self.message())
    }
}

impl fmt::Display for RequestBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason_code(), self.message())
    }
}

impl std::error::Error for RequestBodyError {}

/// The text between the first pair of backticks of a serde message (`unknown field `x``).
fn backticked(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    Some(msg[start..start + len].to_string())
}

/// Reads a request body the way Amazon does: JSON object, unknown top-level fields refused,
/// required fields present. An empty body reads as `{}`.
pub fn parse_request_body<T: DeserializeOwned>(body: &str) -> Result<T, RequestBodyError> {
    let body = if body.trim().is_empty() { "{}" } else { body };
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| RequestBodyError::InvalidRequestFormat(e.to_string()))?;
    if !value.is_object() {
        return Err(RequestBodyError::InvalidRequestFormat(
            "expected a JSON object".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| {
        let msg = e.to_string();
        if msg.starts_with("unknown field") {
            RequestBodyError::UnrecognizedField(backticked(&msg).unwrap_or(msg))
        } else if msg.starts_with("missing field") {
            RequestBodyError::MissingParameterValue(backticked(&msg).unwrap_or(msg))
        } else {
            RequestBodyError::InvalidParameterValue(msg)
        }
    })
}

/// Serialises a body or object for the wire. Plain data cannot fail to serialise; an empty
/// string would be refused by the receiver rather than send something unintended.
pub fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn price(a: &str, c: &str) -> Price {
        Price {
            amount: a.into(),
            currency_code: c.into(),
        }
    }

    #[test]
    fn price_reading() {
        assert_eq!(price("500", "JPY").to_jpy(), Ok(Jpy::from_stored(500)));
        assert_eq!(price("500.00", "JPY").to_jpy(), Ok(Jpy::from_stored(500)));
        assert_eq!(price("500.0", "JPY").to_jpy(), Ok(Jpy::from_stored(500)));
        assert_eq!(price("0", "JPY").to_jpy(), Ok(Jpy::from_stored(0)));
        for bad in [
            "705.50", "1,000", "", "-5", "+5", " 5", "5 ", "5.", ".5", "1e3", "５", "1.0.0",
        ] {
            assert_eq!(
                price(bad, "JPY").to_jpy(),
                Err(PriceError::Amount(bad.into())),
                "{bad:?}"
            );
        }
        assert!(price("9999999999999999", "JPY").to_jpy().is_err());
        assert_eq!(
            price("500", "USD").to_jpy(),
            Err(PriceError::Currency("USD".into()))
        );
        assert_eq!(
            price("500", "jpy").to_jpy(),
            Err(PriceError::Currency("jpy".into()))
        );
        // The strict reader is Amazon's JPY request rule.
        assert_eq!(
            price("705", "JPY").to_jpy_strict(),
            Ok(Jpy::from_stored(705))
        );
        assert!(price("705.00", "JPY").to_jpy_strict().is_err());
        assert_eq!(Price::jpy(Jpy::from_stored(12_800)), price("12800", "JPY"));
        assert_eq!(
            PriceError::Amount("705.50".into()).to_string(),
            "'705.50' is not a whole number of yen"
        );
    }

    #[test]
    fn price_wire_forms() {
        let p: Price = serde_json::from_str(r#"{"amount":"500","currencyCode":"JPY"}"#).unwrap();
        assert_eq!(p, price("500", "JPY"));
        let n: Price = serde_json::from_str(r#"{"amount":500,"currencyCode":"JPY"}"#).unwrap();
        assert_eq!(n, price("500", "JPY"));
        let f: Price = serde_json::from_str(r#"{"amount":705.5,"currencyCode":"JPY"}"#).unwrap();
        assert!(f.to_jpy().is_err());
        assert_eq!(
            serde_json::to_string(&Price::jpy(Jpy::from_stored(1))).unwrap(),
            r#"{"amount":"1","currencyCode":"JPY"}"#
        );
    }

    #[test]
    fn timestamps() {
        let t = UnixMillis(1_582_344_974_000); // 2020-02-22T04:16:14Z
        assert_eq!(timestamp(t), "20200222T041614Z");
        assert_eq!(parse_timestamp("20200222T041614Z"), Some(t));
        assert_eq!(parse_timestamp("2020-02-22"), None);
    }

    /// A Checkout Session shaped like the public API fixtures: nulls, unknown fields, all parts.
    #[test]
    fn checkout_session_from_amazon_json() {
        let json = r#"{
          "checkoutSessionId": "bd504926-f659-4ad7-a1a9-9a747aaf5275",
          "webCheckoutDetails": {"checkoutReviewReturnUrl": "https://a.example/review", "checkoutResultReturnUrl": null,
                                 "amazonPayRedirectUrl": null, "checkoutCancelUrl": null},
          "productType": "PayAndShip",
          "paymentDetails": {"paymentIntent": "Authorize", "canHandlePendingAuthorization": false,
                             "chargeAmount": {"amount": "12800", "currencyCode": "JPY"}, "totalOrderAmount": null,
                             "softDescriptor": null, "presentmentCurrency": "JPY", "allowOvercharge": null, "extendExpiration": null},
          "chargePermissionType": "OneTime",
          "recurringMetadata": null,
          "merchantMetadata": {"merchantReferenceId": "order-1", "merchantStoreName": null, "noteToBuyer": null, "customInformation": null},
          "supplementaryData": null,
          "buyer": {"buyerId": "amzn1.account.AAA", "name": "山田 太郎", "email": "taro@example.jp", "phoneNumber": "0312345678", "primeMembershipTypes": null},
          "billingAddress": null,
          "shippingAddress": {"name": "山田 太郎", "addressLine1": "千代田1-1", "addressLine2": "", "addressLine3": null, "city": "千代田区",
                              "county": null, "district": null, "stateOrRegion": "東京都", "postalCode": "100-0001", "countryCode": "JP", "phoneNumber": "0312345678"},
          "shippingAddressList": null,
          "paymentPreferences": [{"paymentDescriptor": "Visa ****1111"}],
          "statusDetails": {"state": "Open", "reasonCode": null, "reasonDescription": null, "lastUpdatedTimestamp": "20240101T000000Z"},
          "constraints": [{"constraintId": "CheckoutResultReturnUrlNotSet", "description": "checkoutResultReturnUrl is not set."}],
          "creationTimestamp": "20240101T000000Z",
          "expirationTimestamp": "20240102T000000Z",
          "storeId": "amzn1.application-oa2-client.test",
          "deliverySpecifications": {"specialRestrictions": null, "addressRestrictions": {"type": "Allowed", "restrictions": {"JP": {"statesOrRegions": null, "zipCodes": null}}}},
          "providerMetadata": {"providerReferenceId": null},
          "checkoutButtonText": null,
          "releaseEnvironment": "Sandbox",
          "chargePermissionId": null,
          "chargeId": null,
          "platformId": null,
          "someFutureField": {"x": 1}
        }"#;
        let cs: CheckoutSession = serde_json::from_str(json).unwrap();
        assert_eq!(cs.state(), Some(CheckoutSessionState::Open));
        assert_eq!(cs.reason_code(), None);
        assert_eq!(cs.amazon_pay_redirect_url(), None);
        assert_eq!(
            cs.checkout_review_return_url(),
            Some("https://a.example/review")
        );
        assert_eq!(
            cs.charge_amount().map(Price::to_jpy),
            Some(Ok(Jpy::from_stored(12_800)))
        );
        assert_eq!(
            cs.buyer.as_ref().map(|b| b.buyer_id.as_str()),
            Some("amzn1.account.AAA")
        );
        let addr = cs.shipping_address.as_ref().unwrap();
        assert_eq!(addr.state_or_region.as_deref(), Some("東京都"));
        assert_eq!(addr.address_line3, None);
        assert_eq!(cs.constraints.as_ref().map(Vec::len), Some(1));
        assert!(
            cs.delivery_specifications
                .as_ref()
                .unwrap()
                .allows_country("JP")
        );
        assert!(
            !cs.delivery_specifications
                .as_ref()
                .unwrap()
                .allows_country("US")
        );
        // Re-serialised: nulls dropped, round trip stable.
        let again = serde_json::to_string(&cs).unwrap();
        assert!(!again.contains("null"));
        assert!(!again.contains("someFutureField"));
        assert_eq!(serde_json::from_str::<CheckoutSession>(&again).unwrap(), cs);
    }

    #[test]
    fn charge_permission_reasons_array() {
        let json = r#"{"chargePermissionId":"S03-1234567-1234567","chargePermissionType":"OneTime",
          "limits":{"amountLimit":{"amount":"12800","currencyCode":"JPY"},"amountBalance":{"amount":"0","currencyCode":"JPY"}},
          "statusDetails":{"state":"Closed","reasons":[{"reasonCode":"MerchantClosed","reasonDescription":"order canceled"}],
          "lastUpdatedTimestamp":"20240101T000000Z"},"releaseEnvironment":"Sandbox"}"#;
        let cp: ChargePermission = serde_json::from_str(json).unwrap();
        assert_eq!(cp.state(), Some(ChargePermissionState::Closed));
        let reasons = cp.status_details.unwrap().reasons.unwrap();
        assert_eq!(reasons[0].reason_code, "MerchantClosed");
        assert_eq!(
            cp.limits.unwrap().amount_balance.unwrap().to_jpy(),
            Ok(Jpy::from_stored(0))
        );
    }

    #[test]
    fn charge_and_refund() {
        let charge: Charge = serde_json::from_str(
            r#"{"chargeId":"S03-1-C000001","chargePermissionId":"S03-1","chargeAmount":{"amount":"500","currencyCode":"JPY"},
            "captureAmount":null,"refundedAmount":null,"softDescriptor":"AMZ*SHOP","conversionRate":1.0,
            "statusDetails":{"state":"Declined","reasonCode":"HardDeclined","reasonDescription":"x","lastUpdatedTimestamp":"20240101T000000Z"}}"#,
        )
        .unwrap();
        assert_eq!(charge.state(), Some(ChargeState::Declined));
        assert_eq!(charge.reason_code(), Some("HardDeclined"));
        let refund: Refund = serde_json::from_str(
            r#"{"refundId":"S03-1-R000001","chargeId":"S03-1-C000001","refundAmount":{"amount":"100.00","currencyCode":"JPY"},
            "statusDetails":{"state":"RefundInitiated"}}"#,
        )
        .unwrap();
        assert_eq!(refund.state(), Some(RefundState::RefundInitiated));
        assert_eq!(
            refund.refund_amount.unwrap().to_jpy(),
            Ok(Jpy::from_stored(100))
        );
        // A state kessai does not know reads as None, not an error.
        let odd: Charge =
            serde_json::from_str(r#"{"chargeId":"c","statusDetails":{"state":"Mystery"}}"#)
                .unwrap();
        assert_eq!(odd.state(), None);
    }

    #[test]
    fn error_body() {
        let e: ErrorBody = serde_json::from_str(
            r#"{"reasonCode":"InvalidChargeStatus","message":"You cannot capture.","extra":1}"#,
        )
        .unwrap();
        assert_eq!(
            e,
            ErrorBody::new("InvalidChargeStatus", "You cannot capture.")
        );
        assert_eq!(
            to_json(&ErrorBody::new("ResourceNotFound", "m")),
            r#"{"reasonCode":"ResourceNotFound","message":"m"}"#
        );
    }

    #[test]
    fn request_bodies_as_amazon_reads_them() {
        let ok: CompleteCheckoutSession =
            parse_request_body(r#"{"chargeAmount":{"amount":"500","currencyCode":"JPY"}}"#)
                .unwrap();
        assert_eq!(ok.charge_amount.to_jpy_strict(), Ok(Jpy::from_stored(500)));
        assert_eq!(
            parse_request_body::<CreateCheckoutSession>(
                r#"{"webCheckoutDetails":{"checkoutMode":"ProcessOrder"},"storeId":"s","checkoutMode":"x"}"#
            ),
            Err(RequestBodyError::UnrecognizedField("checkoutMode".into()))
        );
        let missing = parse_request_body::<CreateRefund>(r#"{"chargeId":"c"}"#).unwrap_err();
        assert_eq!(
            missing,
            RequestBodyError::MissingParameterValue("refundAmount".into())
        );
        assert_eq!(missing.reason_code(), "MissingParameterValue");
        assert!(matches!(
            parse_request_body::<CaptureCharge>(r#"{"captureAmount":"500"}"#),
            Err(RequestBodyError::InvalidParameterValue(_))
        ));
        assert!(matches!(
            parse_request_body::<CancelCharge>("[1]"),
            Err(RequestBodyError::InvalidRequestFormat(_))
        ));
        assert!(matches!(
            parse_request_body::<CancelCharge>("{"),
            Err(RequestBodyError::InvalidRequestFormat(_))
        ));
        assert_eq!(
            parse_request_body::<CancelCharge>(""),
            Ok(CancelCharge::default())
        );
        assert_eq!(
            RequestBodyError::UnrecognizedField("checkoutMode".into()).to_error_body(),
            ErrorBody::new(
                "UnrecognizedField",
                "The field 'checkoutMode' is invalid for this API."
            )
        );
    }

    #[test]
    fn checkout_button_payload_is_a_create_checkout_session_body() {
        use crate::amazon::button::{CheckoutButtonPayload, checkout_payload_json};
        let json = checkout_payload_json(&CheckoutButtonPayload::new(
            "https://e.example/v1/amazon-pay/review?payment=p",
            "amzn1.application-oa2-client.test",
            "order-9",
            Jpy::chargeable(3_300).unwrap(),
        ));
        let body: CreateCheckoutSession = parse_request_body(&json).unwrap();
        assert_eq!(body.store_id, "amzn1.application-oa2-client.test");
        assert_eq!(body.charge_permission_type.as_deref(), Some("OneTime"));
        let pd = body.payment_details.unwrap();
        assert_eq!(pd.payment_intent.as_deref(), Some("Authorize"));
        assert_eq!(pd.can_handle_pending_authorization, Some(false));
        assert_eq!(
            pd.charge_amount.unwrap().to_jpy_strict(),
            Ok(Jpy::from_stored(3_300))
        );
        assert!(body.delivery_specifications.unwrap().allows_country("JP"));
        assert_eq!(
            body.merchant_metadata
                .unwrap()
                .merchant_reference_id
                .as_deref(),
            Some("order-9")
        );
    }

    #[test]
    fn signin_payload_reads_back() {
        use crate::amazon::button::{SIGNIN_SCOPES, SignInButtonPayload, signin_payload_json};
        let json = signin_payload_json(&SignInButtonPayload {
            sign_in_return_url: "https://e.example/r?state=1".into(),
            store_id: "s".into(),
            scopes: SIGNIN_SCOPES.to_vec(),
        });
        let p: SignInPayload = parse_request_body(&json).unwrap();
        assert_eq!(p.sign_in_return_url, "https://e.example/r?state=1");
        assert_eq!(p.sign_in_scopes.map(|s| s.len()), Some(5));
    }

    proptest! {
        #[test]
        fn price_jpy_round_trip(yen in 0i64..=10_000_000) {
            let p = Price::jpy(Jpy::from_stored(yen));
            prop_assert_eq!(p.to_jpy(), Ok(Jpy::from_stored(yen)));
            prop_assert_eq!(p.to_jpy_strict(), Ok(Jpy::from_stored(yen)));
            let lenient = price(&format!("{yen}.00"), "JPY");
            prop_assert_eq!(lenient.to_jpy(), Ok(Jpy::from_stored(yen)));
            prop_assert!(lenient.to_jpy_strict().is_err());
        }

        #[test]
        fn fractional_yen_refused(yen in 0i64..1_000_000, frac in 1u32..100) {
            let p = price(&format!("{yen}.{frac:02}"), "JPY");
            prop_assert!(p.to_jpy().is_err());
        }

        #[test]
        fn price_never_panics(s in "\\PC{0,20}") {
            let _ = price(&s, "JPY").to_jpy();
        }
    }
}
