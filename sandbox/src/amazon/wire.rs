//! The JSON side of the API: the error body, request-body schemas (unknown fields are
//! refused like Amazon does), JPY prices, and the objects' JSON as Amazon returns them.

use axum::http::StatusCode;
use kessai_core::amazon::errors::http_status_of;
use kessai_core::amazon::status::ConstraintId;
use serde_json::{Map, Value, json};

use super::buyers::{SandboxAddress, SandboxBuyer};
use super::state::{
    Charge, ChargePermission, ChargePermissionType, CheckoutSession, CheckoutSessionState,
    MAX_TRANSACTION_AMOUNT, MerchantMetadata, PaymentDetails, ProductType, Refund,
    amazon_timestamp, buyer,
};

/// An error answer: `{"reasonCode","message"}` with the HTTP status Amazon uses (reference §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub reason_code: &'static str,
    pub message: String,
}

impl ApiError {
    /// An error with the HTTP status Amazon uses for `reason_code` (core's table, so the edge
    /// and the sandbox agree on it).
    pub fn new(reason_code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::from_u16(http_status_of(reason_code))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            reason_code,
            message: message.into(),
        }
    }
    pub fn body(&self) -> Value {
        json!({ "reasonCode": self.reason_code, "message": self.message })
    }
    pub fn missing(param: &str) -> ApiError {
        ApiError::new(
            "MissingParameterValue",
            format!("Value is missing for the required parameter {param}"),
        )
    }
    pub fn invalid(param: &str, value: &str) -> ApiError {
        ApiError::new(
            "InvalidParameterValue",
            format!("The value '{value}' provided for '{param}' is invalid."),
        )
    }
    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(
            "ResourceNotFound",
            format!("The {what} with id '{id}' was not found."),
        )
    }
}

/// The shape of a request body. Objects list their fields; anything else is refused with
/// `UnrecognizedField` ("The field 'x' is invalid for this API.", reference §5).
pub enum Schema {
    Str,
    Bool,
    /// `{amount, currencyCode}`.
    Price,
    StrList,
    /// Accepted as given (address restrictions, APB address details).
    Any,
    Obj(&'static [(&'static str, Schema)]),
}

const MERCHANT_METADATA: Schema = Schema::Obj(&[
    ("merchantReferenceId", Schema::Str),
    ("merchantStoreName", Schema::Str),
    ("noteToBuyer", Schema::Str),
    ("customInformation", Schema::Str),
]);

const PAYMENT_DETAILS: Schema = Schema::Obj(&[
    ("paymentIntent", Schema::Str),
    ("canHandlePendingAuthorization", Schema::Bool),
    ("chargeAmount", Schema::Price),
    ("totalOrderAmount", Schema::Price),
    ("presentmentCurrency", Schema::Str),
    ("softDescriptor", Schema::Str),
    ("allowOvercharge", Schema::Bool),
    ("extendExpiration", Schema::Bool),
    ("estimateOrderTotal", Schema::Price),
]);

const RECURRING_METADATA: Schema = Schema::Obj(&[
    (
        "frequency",
        Schema::Obj(&[("unit", Schema::Str), ("value", Schema::Any)]),
    ),
    ("amount", Schema::Price),
]);

const PROVIDER_METADATA: Schema = Schema::Obj(&[("providerReferenceId", Schema::Str)]);

/// Create Checkout Session (also the checkout button's payload). `checkoutMode` (Additional
/// Payment Button) and `addressDetails` are not simulated: they are refused as unrecognized.
/// [U] Amazon accepts them for APB merchants.
pub const CREATE_CHECKOUT_SESSION: Schema = Schema::Obj(&[
    (
        "webCheckoutDetails",
        Schema::Obj(&[
            ("checkoutReviewReturnUrl", Schema::Str),
            ("checkoutResultReturnUrl", Schema::Str),
            ("checkoutCancelUrl", Schema::Str),
        ]),
    ),
    ("storeId", Schema::Str),
    ("scopes", Schema::StrList),
    ("chargePermissionType", Schema::Str),
    ("recurringMetadata", RECURRING_METADATA),
    ("paymentDetails", PAYMENT_DETAILS),
    ("merchantMetadata", MERCHANT_METADATA),
    (
        "deliverySpecifications",
        Schema::Obj(&[
            ("specialRestrictions", Schema::StrList),
            ("addressRestrictions", Schema::Any),
        ]),
    ),
    ("platformId", Schema::Str),
    ("providerMetadata", PROVIDER_METADATA),
]);

pub const UPDATE_CHECKOUT_SESSION: Schema = Schema::Obj(&[
    (
        "webCheckoutDetails",
        Schema::Obj(&[
            ("checkoutReviewReturnUrl", Schema::Str),
            ("checkoutResultReturnUrl", Schema::Str),
            ("checkoutCancelUrl", Schema::Str),
        ]),
    ),
    ("recurringMetadata", RECURRING_METADATA),
    ("paymentDetails", PAYMENT_DETAILS),
    ("merchantMetadata", MERCHANT_METADATA),
    ("platformId", Schema::Str),
    ("providerMetadata", PROVIDER_METADATA),
]);

pub const COMPLETE_CHECKOUT_SESSION: Schema = Schema::Obj(&[
    ("chargeAmount", Schema::Price),
    ("totalOrderAmount", Schema::Price),
]);

pub const UPDATE_CHARGE_PERMISSION: Schema = Schema::Obj(&[
    ("merchantMetadata", MERCHANT_METADATA),
    ("recurringMetadata", RECURRING_METADATA),
]);

pub const CLOSE_CHARGE_PERMISSION: Schema = Schema::Obj(&[
    ("closureReason", Schema::Str),
    ("cancelPendingCharges", Schema::Bool),
]);

pub const CREATE_CHARGE: Schema = Schema::Obj(&[
    ("chargePermissionId", Schema::Str),
    ("chargeAmount", Schema::Price),
    ("captureNow", Schema::Bool),
    ("softDescriptor", Schema::Str),
    ("canHandlePendingAuthorization", Schema::Bool),
    ("merchantMetadata", MERCHANT_METADATA),
    ("providerMetadata", PROVIDER_METADATA),
    ("platformId", Schema::Str),
]);

pub const CAPTURE_CHARGE: Schema = Schema::Obj(&[
    ("captureAmount", Schema::Price),
    ("softDescriptor", Schema::Str),
]);

pub const CANCEL_CHARGE: Schema = Schema::Obj(&[("cancellationReason", Schema::Str)]);

pub const CREATE_REFUND: Schema = Schema::Obj(&[
    ("chargeId", Schema::Str),
    ("refundAmount", Schema::Price),
    ("softDescriptor", Schema::Str),
]);

/// The sign-in button's payload (`signInConfig.payloadJSON`).
pub const SIGN_IN_PAYLOAD: Schema = Schema::Obj(&[
    ("signInReturnUrl", Schema::Str),
    ("signInCancelUrl", Schema::Str),
    ("storeId", Schema::Str),
    ("signInScopes", Schema::StrList),
]);

/// Checks `v` against `schema`; `path` names the field in messages (`paymentDetails.chargeAmount`).
/// `null` is accepted anywhere (the SDKs send unset fields as null).
pub fn check(v: &Value, schema: &Schema, path: &str) -> Result<(), ApiError> {
    if v.is_null() {
        return Ok(());
    }
    match schema {
        Schema::Any => Ok(()),
        Schema::Str => match v {
            Value::String(_) => Ok(()),
            other => Err(ApiError::invalid(path, &short(other))),
        },
        Schema::Bool => match v {
            Value::Bool(_) => Ok(()),
            other => Err(ApiError::invalid(path, &short(other))),
        },
        Schema::StrList => match v {
            Value::Array(items) if items.iter().all(Value::is_string) => Ok(()),
            other => Err(ApiError::invalid(path, &short(other))),
        },
        Schema::Price => {
            let Value::Object(m) = v else {
                return Err(ApiError::invalid(path, &short(v)));
            };
            for k in m.keys() {
                if k != "amount" && k != "currencyCode" {
                    return Err(unrecognized(k));
                }
            }
            Ok(())
        }
        Schema::Obj(fields) => {
            let Value::Object(m) = v else {
                return Err(ApiError::invalid(path, &short(v)));
            };
            for (k, child) in m {
                let Some((_, s)) = fields.iter().find(|(name, _)| name == k) else {
                    return Err(unrecognized(k));
                };
                let child_path = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                check(child, s, &child_path)?;
            }
            Ok(())
        }
    }
}

fn unrecognized(field: &str) -> ApiError {
    ApiError::new(
        "UnrecognizedField",
        format!("The field '{field}' is invalid for this API."),
    )
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    s.chars().take(80).collect()
}

/// Reads a JPY price `{amount, currencyCode}` at `path` (e.g. `chargeAmount`).
///
/// JPY has no minor unit: the amount must be a whole number of yen, as a JSON string of digits
/// or an integer JSON number. `"705"` and `705` are accepted; `"705.00"`, `705.5`, `"1,000"`,
/// `"-5"` and `"0"` are refused with InvalidParameterValue, worded like Amazon's "The value
/// '705.00' provided for 'chargeAmount.Amount' is invalid." [C for decimals; zero per the
/// reference: zero-yen payments are impossible]. Amounts above ¥10,000,000 are refused too [U
/// code]. `currencyCode` must be JPY, the ledger currency (else CurrencyMismatch).
pub fn price(v: &Value, path: &str) -> Result<i64, ApiError> {
    let Value::Object(m) = v else {
        return Err(ApiError::missing(path));
    };
    let amount_path = format!("{path}.Amount");
    let amount = match m.get("amount") {
        None | Some(Value::Null) => return Err(ApiError::missing(&format!("{path}.amount"))),
        Some(Value::String(s)) => {
            if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ApiError::invalid(&amount_path, s));
            }
            s.parse::<i64>()
                .map_err(|_| ApiError::invalid(&amount_path, s))?
        }
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => i,
            None => return Err(ApiError::invalid(&amount_path, &n.to_string())),
        },
        Some(other) => return Err(ApiError::invalid(&amount_path, &short(other))),
    };
    if !(1..=MAX_TRANSACTION_AMOUNT).contains(&amount) {
        return Err(ApiError::invalid(&amount_path, &amount.to_string()));
    }
    match m.get("currencyCode") {
        None | Some(Value::Null) => Err(ApiError::missing(&format!("{path}.currencyCode"))),
        Some(Value::String(c)) if c == "JPY" => Ok(amount),
        Some(Value::String(c)) => Err(ApiError::new(
            "CurrencyMismatch",
            format!(
                "The currency code '{c}' provided for '{path}' does not match the ledger currency JPY."
            ),
        )),
        Some(other) => Err(ApiError::invalid(
            &format!("{path}.currencyCode"),
            &short(other),
        )),
    }
}

pub fn price_json(amount: i64) -> Value {
    json!({ "amount": amount.to_string(), "currencyCode": "JPY" })
}

fn opt_price(v: Option<i64>) -> Value {
    v.map(price_json).unwrap_or(Value::Null)
}

/// A string field of an object, if present and not null.
pub fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Length limits Amazon enforces on free-text fields [C reference §1.5, §6.10].
pub fn check_length(path: &str, value: &str, max_chars: usize) -> Result<(), ApiError> {
    if value.chars().count() > max_chars {
        return Err(ApiError::new(
            "InvalidParameterValue",
            format!("The value provided for '{path}' exceeds the maximum length of {max_chars}."),
        ));
    }
    Ok(())
}

/// Merges a `merchantMetadata` object into `into` (fields absent or null are left alone).
pub fn merge_merchant_metadata(into: &mut MerchantMetadata, v: &Value) -> Result<(), ApiError> {
    if let Some(s) = str_at(v, "merchantReferenceId") {
        check_length("merchantMetadata.merchantReferenceId", s, 256)?;
        into.merchant_reference_id = Some(s.to_string());
    }
    if let Some(s) = str_at(v, "merchantStoreName") {
        // >50 characters errors at Amazon [C reference §1.5].
        check_length("merchantMetadata.merchantStoreName", s, 50)?;
        into.merchant_store_name = Some(s.to_string());
    }
    if let Some(s) = str_at(v, "noteToBuyer") {
        check_length("merchantMetadata.noteToBuyer", s, 255)?; // [U] limit
        into.note_to_buyer = Some(s.to_string());
    }
    if let Some(s) = str_at(v, "customInformation") {
        check_length("merchantMetadata.customInformation", s, 4096)?; // [U] limit
        into.custom_information = Some(s.to_string());
    }
    Ok(())
}

pub fn soft_descriptor(v: &Value, path: &str) -> Result<Option<String>, ApiError> {
    match str_at(v, "softDescriptor") {
        Some(s) => {
            check_length(path, s, 16)?; // [I] ≤ 16 characters
            Ok(Some(s.to_string()))
        }
        None => Ok(None),
    }
}

/// Merges `paymentDetails` into `into`.
pub fn merge_payment_details(into: &mut PaymentDetails, v: &Value) -> Result<(), ApiError> {
    if let Some(s) = str_at(v, "paymentIntent") {
        into.payment_intent = Some(
            super::state::PaymentIntent::parse(s)
                .ok_or_else(|| ApiError::invalid("paymentDetails.paymentIntent", s))?,
        );
    }
    if let Some(b) = v
        .get("canHandlePendingAuthorization")
        .and_then(Value::as_bool)
    {
        into.can_handle_pending_authorization = b;
    }
    if let Some(p) = v.get("chargeAmount").filter(|p| !p.is_null()) {
        into.charge_amount = Some(price(p, "chargeAmount")?);
    }
    if let Some(p) = v.get("totalOrderAmount").filter(|p| !p.is_null()) {
        into.total_order_amount = Some(price(p, "totalOrderAmount")?);
    }
    if let Some(p) = v.get("estimateOrderTotal").filter(|p| !p.is_null()) {
        price(p, "estimateOrderTotal")?;
    }
    if let Some(c) = str_at(v, "presentmentCurrency") {
        // EU/UK only [C]; in Japan the only currency is the ledger's.
        if c != "JPY" {
            return Err(ApiError::new(
                "CurrencyMismatch",
                format!("The presentmentCurrency '{c}' does not match the ledger currency JPY."),
            ));
        }
    }
    if let Some(s) = soft_descriptor(v, "paymentDetails.softDescriptor")? {
        into.soft_descriptor = Some(s);
    }
    if let Some(b) = v.get("allowOvercharge").and_then(Value::as_bool) {
        into.allow_overcharge = b;
    }
    if let Some(b) = v.get("extendExpiration").and_then(Value::as_bool) {
        into.extend_expiration = b;
    }
    Ok(())
}

pub fn merchant_metadata_json(m: &MerchantMetadata) -> Value {
    json!({
        "merchantReferenceId": m.merchant_reference_id,
        "merchantStoreName": m.merchant_store_name,
        "noteToBuyer": m.note_to_buyer,
        "customInformation": m.custom_information,
    })
}

pub fn address_json(a: &SandboxAddress) -> Value {
    json!({
        "name": a.name,
        "addressLine1": a.address_line1,
        "addressLine2": a.address_line2,
        "addressLine3": Value::Null,
        "city": a.city,
        "county": Value::Null,
        "district": Value::Null,
        "stateOrRegion": a.state_or_region,
        "postalCode": a.postal_code,
        "countryCode": "JP",
        "phoneNumber": a.phone_number,
    })
}

fn has_scope(scopes: &Option<Vec<String>>, scope: &str) -> bool {
    match scopes {
        Some(list) => list.iter().any(|s| s == scope),
        // No scopes requested: Amazon shares name and email by default [C signin excerpt];
        // for checkout the shipping address of PayAndShip is always shared.
        None => scope == "name" || scope == "email",
    }
}

/// The `buyer` object a checkout session / charge permission shows, per the requested scopes.
pub fn buyer_json(b: &SandboxBuyer, scopes: &Option<Vec<String>>) -> Value {
    json!({
        "buyerId": b.buyer_id,
        "name": if has_scope(scopes, "name") { json!(b.name) } else { Value::Null },
        "email": if has_scope(scopes, "email") { json!(b.email) } else { Value::Null },
        "phoneNumber": if has_scope(scopes, "phoneNumber") { json!(b.phone_number) } else { Value::Null },
        "primeMembershipTypes": Value::Null,
    })
}

/// Billing address: the buyer's first address book entry [U which one Amazon uses].
fn billing_json(b: &SandboxBuyer, scopes: &Option<Vec<String>>) -> Value {
    if has_scope(scopes, "billingAddress") {
        b.addresses.first().map(address_json).unwrap_or(Value::Null)
    } else {
        Value::Null
    }
}

fn shipping_json(
    b: &SandboxBuyer,
    product_type: ProductType,
    address_index: Option<usize>,
) -> Value {
    match product_type {
        ProductType::PayAndShip => address_index
            .and_then(|i| b.addresses.get(i))
            .map(address_json)
            .unwrap_or(Value::Null),
        ProductType::PayOnly | ProductType::SignIn => Value::Null,
    }
}

fn payment_preferences(b: &SandboxBuyer, index: Option<usize>) -> Value {
    match index.and_then(|i| b.payment_methods.get(i)) {
        Some(d) => json!([{ "paymentDescriptor": d }]),
        None => Value::Null,
    }
}

/// The constraints that keep an Open checkout session from being processed (reference §1.3;
/// descriptions as Amazon words them).
pub fn constraints(cs: &CheckoutSession) -> Vec<ConstraintId> {
    let mut out = Vec::new();
    match cs.state {
        CheckoutSessionState::Open => {}
        CheckoutSessionState::Completed | CheckoutSessionState::Canceled => return out,
    }
    if cs.buyer_key.is_none() {
        out.push(ConstraintId::BuyerNotAssociated);
    }
    if cs.payment_details.charge_amount.is_none() {
        out.push(ConstraintId::ChargeAmountNotSet);
    }
    if cs.web.checkout_result_return_url.is_none() {
        out.push(ConstraintId::CheckoutResultReturnUrlNotSet);
    }
    if cs.payment_details.payment_intent.is_none() {
        out.push(ConstraintId::PaymentIntentNotSet);
    }
    let frequency_set = cs
        .recurring_metadata
        .as_ref()
        .and_then(|r| r.get("frequency"))
        .is_some_and(|f| f.get("unit").is_some_and(|u| !u.is_null()));
    match cs.charge_permission_type {
        // [U] constraint id and wording are not seen in a fixture (core's choice).
        ChargePermissionType::Recurring if !frequency_set => {
            out.push(ConstraintId::RecurringFrequencyNotSet)
        }
        ChargePermissionType::OneTime
        | ChargePermissionType::Recurring
        | ChargePermissionType::PaymentMethodOnFile => {}
    }
    out
}

fn status_details(state: &str, reason: Option<&str>, desc: Option<&str>, at: i64) -> Value {
    json!({
        "state": state,
        "reasonCode": reason,
        "reasonDescription": desc,
        "lastUpdatedTimestamp": amazon_timestamp(kessai_core::jst::UnixMillis(at)),
    })
}

pub fn checkout_session_json(cs: &CheckoutSession, base_url: &str) -> Value {
    let constraints = constraints(cs);
    let redirect = match cs.state {
        CheckoutSessionState::Open if constraints.is_empty() => Value::String(format!(
            "{base_url}/checkout/processing?amazonCheckoutSessionId={}",
            cs.id
        )),
        CheckoutSessionState::Open
        | CheckoutSessionState::Completed
        | CheckoutSessionState::Canceled => Value::Null,
    };
    let buyer = cs.buyer_key.and_then(buyer);
    let pd = &cs.payment_details;
    json!({
        "checkoutSessionId": cs.id,
        "webCheckoutDetails": {
            "checkoutReviewReturnUrl": cs.web.checkout_review_return_url,
            "checkoutResultReturnUrl": cs.web.checkout_result_return_url,
            "checkoutCancelUrl": cs.web.checkout_cancel_url,
            "amazonPayRedirectUrl": redirect,
            "checkoutMode": Value::Null,
        },
        "productType": cs.product_type.as_str(),
        "paymentDetails": {
            "paymentIntent": pd.payment_intent.map(|i| i.as_str()),
            "canHandlePendingAuthorization": pd.can_handle_pending_authorization,
            "chargeAmount": opt_price(pd.charge_amount),
            "totalOrderAmount": opt_price(pd.total_order_amount),
            "softDescriptor": pd.soft_descriptor,
            "presentmentCurrency": "JPY",
            "allowOvercharge": pd.allow_overcharge,
            "extendExpiration": pd.extend_expiration,
        },
        "chargePermissionType": cs.charge_permission_type.as_str(),
        "recurringMetadata": cs.recurring_metadata,
        "merchantMetadata": merchant_metadata_json(&cs.merchant_metadata),
        "supplementaryData": Value::Null,
        "buyer": buyer.map(|b| buyer_json(b, &cs.scopes)).unwrap_or(Value::Null),
        "billingAddress": buyer.map(|b| billing_json(b, &cs.scopes)).unwrap_or(Value::Null),
        "paymentPreferences": buyer.map(|b| payment_preferences(b, cs.payment_method_index)).unwrap_or(Value::Null),
        "statusDetails": status_details(cs.state.as_str(), cs.reason_code, cs.reason_description.as_deref(), cs.last_updated.0),
        "shippingAddress": buyer.map(|b| shipping_json(b, cs.product_type, cs.address_index)).unwrap_or(Value::Null),
        "platformId": cs.platform_id,
        "chargePermissionId": cs.charge_permission_id,
        "chargeId": cs.charge_id,
        "constraints": constraints.iter().map(|c| json!({"constraintId": c.as_str(), "description": c.description()})).collect::<Vec<_>>(),
        "creationTimestamp": amazon_timestamp(cs.created_at),
        "expirationTimestamp": amazon_timestamp(kessai_core::jst::UnixMillis(cs.created_at.0 + super::state::CHECKOUT_SESSION_LIFETIME_MS)),
        "storeId": cs.store_id,
        "providerMetadata": { "providerReferenceId": cs.provider_reference_id },
        "releaseEnvironment": "Sandbox",
        "deliverySpecifications": cs.delivery_specifications,
    })
}

pub fn charge_permission_json(cp: &ChargePermission, held: i64) -> Value {
    let buyer = buyer(cp.buyer_key);
    let reasons: Value = if cp.reasons.is_empty() {
        Value::Null
    } else {
        Value::Array(
            cp.reasons
                .iter()
                .map(|(code, desc)| json!({"reasonCode": code, "reasonDescription": desc}))
                .collect(),
        )
    };
    let limits = match cp.amount_limit {
        Some(limit) => json!({
            "amountLimit": price_json(limit),
            "amountBalance": { "amount": (limit - held).max(0).to_string(), "currencyCode": "JPY" },
        }),
        None => Value::Null,
    };
    json!({
        "chargePermissionId": cp.id,
        "chargePermissionReferenceId": Value::Null,
        "chargePermissionType": cp.kind.as_str(),
        "recurringMetadata": cp.recurring_metadata,
        "buyer": buyer.map(|b| buyer_json(b, &cp.scopes)).unwrap_or(Value::Null),
        "shippingAddress": buyer.map(|b| shipping_json(b, cp.product_type, cp.address_index)).unwrap_or(Value::Null),
        "billingAddress": buyer.map(|b| billing_json(b, &cp.scopes)).unwrap_or(Value::Null),
        "paymentPreferences": buyer.map(|b| payment_preferences(b, Some(cp.payment_method_index))).unwrap_or(Value::Null),
        "statusDetails": {
            "state": cp.state.as_str(),
            "reasons": reasons,
            "lastUpdatedTimestamp": amazon_timestamp(cp.last_updated),
        },
        "creationTimestamp": amazon_timestamp(cp.created_at),
        "expirationTimestamp": cp.expires_at.map(amazon_timestamp),
        "merchantMetadata": merchant_metadata_json(&cp.merchant_metadata),
        "platformId": cp.platform_id,
        "limits": limits,
        "presentmentCurrency": "JPY",
        "releaseEnvironment": "Sandbox",
    })
}

pub fn charge_json(c: &Charge) -> Value {
    json!({
        "chargeId": c.id,
        "chargePermissionId": c.charge_permission_id,
        "chargeAmount": price_json(c.charge_amount),
        "captureAmount": opt_price(c.capture_amount),
        "refundedAmount": if c.refunded_amount > 0 { price_json(c.refunded_amount) } else { Value::Null },
        "convertedAmount": Value::Null,
        "conversionRate": Value::Null,
        "softDescriptor": c.soft_descriptor.as_ref().map(|s| format!("AMZ*{s}")),
        "merchantMetadata": merchant_metadata_json(&c.merchant_metadata),
        "providerMetadata": { "providerReferenceId": Value::Null },
        "statusDetails": status_details(c.state.as_str(), c.reason_code, c.reason_description.as_deref(), c.last_updated.0),
        "creationTimestamp": amazon_timestamp(c.created_at),
        "expirationTimestamp": amazon_timestamp(c.created_at.plus_days(super::state::AUTHORIZATION_LIFETIME_DAYS)),
        "captureNow": c.capture_now,
        "canHandlePendingAuthorization": c.can_handle_pending_authorization,
        "releaseEnvironment": "Sandbox",
        "platformId": Value::Null,
    })
}

pub fn refund_json(r: &Refund) -> Value {
    json!({
        "refundId": r.id,
        "chargeId": r.charge_id,
        "refundAmount": price_json(r.amount),
        "softDescriptor": r.soft_descriptor.as_ref().map(|s| format!("AMZ*{s}")),
        "creationTimestamp": amazon_timestamp(r.created_at),
        "statusDetails": status_details(r.state.as_str(), r.reason_code, None, r.last_updated.0),
        "releaseEnvironment": "Sandbox",
    })
}

/// Get Buyer's answer, per the sign-in scopes.
pub fn get_buyer_json(b: &SandboxBuyer, scopes: &[String]) -> Value {
    let has = |s: &str| {
        if scopes.is_empty() {
            s == "name" || s == "email"
        } else {
            scopes.iter().any(|x| x == s)
        }
    };
    let home = b.addresses.first();
    let mut m = Map::new();
    m.insert("buyerId".into(), json!(b.buyer_id));
    m.insert(
        "name".into(),
        if has("name") {
            json!(b.name)
        } else {
            Value::Null
        },
    );
    m.insert(
        "email".into(),
        if has("email") {
            json!(b.email)
        } else {
            Value::Null
        },
    );
    m.insert(
        "postalCode".into(),
        match home {
            Some(a) if has("postalCode") => json!(a.postal_code),
            _ => Value::Null,
        },
    );
    m.insert(
        "countryCode".into(),
        if has("postalCode") || has("shippingAddress") {
            json!("JP")
        } else {
            Value::Null
        },
    );
    m.insert(
        "phoneNumber".into(),
        if has("phoneNumber") {
            json!(b.phone_number)
        } else {
            Value::Null
        },
    );
    m.insert(
        "shippingAddress".into(),
        match home {
            Some(a) if has("shippingAddress") => address_json(a),
            _ => Value::Null,
        },
    );
    m.insert(
        "billingAddress".into(),
        match home {
            Some(a) if has("billingAddress") => address_json(a),
            _ => Value::Null,
        },
    );
    m.insert("primeMembershipTypes".into(), Value::Null);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpy_amounts_are_whole_yen() {
        assert_eq!(
            price(
                &json!({"amount":"705","currencyCode":"JPY"}),
                "chargeAmount"
            ),
            Ok(705)
        );
        assert_eq!(
            price(&json!({"amount":705,"currencyCode":"JPY"}), "chargeAmount"),
            Ok(705)
        );
        let e = price(
            &json!({"amount":"705.00","currencyCode":"JPY"}),
            "chargeAmount",
        )
        .expect_err("decimals refused");
        assert_eq!(e.reason_code, "InvalidParameterValue");
        assert_eq!(
            e.message,
            "The value '705.00' provided for 'chargeAmount.Amount' is invalid."
        );
        for bad in [
            json!("1,000"),
            json!("-5"),
            json!("0"),
            json!(705.5),
            json!(""),
            json!("10000001"),
        ] {
            let e = price(
                &json!({"amount": bad, "currencyCode":"JPY"}),
                "chargeAmount",
            )
            .expect_err("refused");
            assert_eq!(e.reason_code, "InvalidParameterValue", "{bad}");
        }
        let e = price(
            &json!({"amount":"705","currencyCode":"USD"}),
            "chargeAmount",
        )
        .expect_err("USD refused");
        assert_eq!(
            (e.status.as_u16(), e.reason_code),
            (400, "CurrencyMismatch")
        );
        let e = price(&json!({"amount":"705"}), "chargeAmount").expect_err("currency needed");
        assert_eq!(e.reason_code, "MissingParameterValue");
    }

    #[test]
    fn unknown_fields_are_refused_at_any_depth() {
        let ok = json!({"chargeAmount":{"amount":"1","currencyCode":"JPY"}});
        assert!(check(&ok, &COMPLETE_CHECKOUT_SESSION, "").is_ok());
        let e = check(
            &json!({"checkoutMode":"ProcessOrder"}),
            &CREATE_CHECKOUT_SESSION,
            "",
        )
        .expect_err("unknown");
        assert_eq!(e.reason_code, "UnrecognizedField");
        assert_eq!(
            e.message,
            "The field 'checkoutMode' is invalid for this API."
        );
        let e = check(
            &json!({"paymentDetails":{"chargeAmount":{"amount":"1","currencyCode":"JPY","x":1}}}),
            &CREATE_CHECKOUT_SESSION,
            "",
        )
        .expect_err("nested unknown");
        assert_eq!(e.message, "The field 'x' is invalid for this API.");
        let e = check(&json!({"captureNow":"yes"}), &CREATE_CHARGE, "").expect_err("type");
        assert_eq!(e.reason_code, "InvalidParameterValue");
    }
}
