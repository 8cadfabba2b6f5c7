//! Amazon Pay button payloads (checkout and Sign in with Amazon) and their string to sign.
//!
//! The edge signs the exact JSON string returned here and the widget passes that same string to
//! `amazon.Pay.renderButton` as `payloadJSON`, never re-serialised: Amazon hashes the bytes the
//! page passes, and a re-encoded string (e.g. `\/`) is the most common signature failure.
//! serde_json never escapes `/`, and non-ASCII stays UTF-8.

use super::signing::{Algorithm, sha256_hex};
use crate::money::Jpy;
use serde::{Deserialize, Serialize};

/// Buyer data a button asks Amazon for (`scopes` / `signInScopes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    Name,
    Email,
    PhoneNumber,
    BillingAddress,
    ShippingAddress,
    PostalCode,
    PrimeStatus,
}

impl Scope {
    pub const ALL: [Scope; 7] = [
        Scope::Name,
        Scope::Email,
        Scope::PhoneNumber,
        Scope::BillingAddress,
        Scope::ShippingAddress,
        Scope::PostalCode,
        Scope::PrimeStatus,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Name => "name",
            Scope::Email => "email",
            Scope::PhoneNumber => "phoneNumber",
            Scope::BillingAddress => "billingAddress",
            Scope::ShippingAddress => "shippingAddress",
            Scope::PostalCode => "postalCode",
            Scope::PrimeStatus => "primeStatus",
        }
    }
    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The scopes of kessai's checkout button (docs/amazon-pay.md).
pub const CHECKOUT_SCOPES: [Scope; 6] = [
    Scope::Name,
    Scope::Email,
    Scope::PhoneNumber,
    Scope::BillingAddress,
    Scope::ShippingAddress,
    Scope::PostalCode,
];

/// The scopes of kessai's Sign in with Amazon button (docs/amazon-pay.md).
pub const SIGNIN_SCOPES: [Scope; 5] = [
    Scope::Name,
    Scope::Email,
    Scope::PostalCode,
    Scope::ShippingAddress,
    Scope::PhoneNumber,
];

/// What varies per checkout button; the rest of the payload is kessai's fixed choice:
/// scopes [`CHECKOUT_SCOPES`], `chargePermissionType: OneTime` (or `Recurring` for a 定期購入
/// sign-up), delivery to Japan only, and
/// `paymentDetails {paymentIntent: Authorize, canHandlePendingAuthorization: false, chargeAmount}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutButtonPayload {
    /// `webCheckoutDetails.checkoutReviewReturnUrl` (the edge's review endpoint for the payment).
    pub review_return_url: String,
    /// `storeId`: the `amzn1.application-oa2-client.…` client id.
    pub store_id: String,
    /// `merchantMetadata.merchantReferenceId`: the order id.
    pub merchant_reference_id: String,
    /// `paymentDetails.chargeAmount`, integer yen.
    pub amount: Jpy,
    /// A 定期購入 sign-up: `chargePermissionType: Recurring` with this `recurringMetadata`
    /// (Amazon uses it only for the permission's expiry and the buyer's mails; kessai creates each
    /// cycle's charge itself).
    pub recurring: Option<RecurringButton>,
}

/// `recurringMetadata` of a recurring checkout: `frequency {unit, value}` and the amount of one
/// cycle's charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurringButton {
    /// `Year` | `Month` | `Week` | `Day` (kessai never sends `Variable`).
    pub unit: &'static str,
    pub value: u32,
    pub amount: Jpy,
}

impl CheckoutButtonPayload {
    pub fn new(
        review_return_url: impl Into<String>,
        store_id: impl Into<String>,
        merchant_reference_id: impl Into<String>,
        amount: Jpy,
    ) -> CheckoutButtonPayload {
        CheckoutButtonPayload {
            review_return_url: review_return_url.into(),
            store_id: store_id.into(),
            merchant_reference_id: merchant_reference_id.into(),
            amount,
            recurring: None,
        }
    }

    /// The same button for a 定期購入 sign-up (a `Recurring` charge permission).
    pub fn recurring(mut self, recurring: RecurringButton) -> CheckoutButtonPayload {
        self.recurring = Some(recurring);
        self
    }
}

/// The Sign in with Amazon button payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInButtonPayload {
    /// `signInReturnUrl`: Amazon appends `buyerToken=…`.
    pub sign_in_return_url: String,
    pub store_id: String,
    /// `signInScopes`; kessai uses [`SIGNIN_SCOPES`].
    pub scopes: Vec<Scope>,
}

// Wire shapes: field order here is the order in the JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckoutWire<'a> {
    web_checkout_details: WebCheckoutWire<'a>,
    store_id: &'a str,
    scopes: &'a [Scope],
    charge_permission_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recurring_metadata: Option<RecurringWire>,
    delivery_specifications: DeliveryWire,
    payment_details: PaymentDetailsWire,
    merchant_metadata: MerchantMetadataWire<'a>,
}

#[derive(Serialize)]
struct RecurringWire {
    frequency: FrequencyWire,
    amount: PriceWire,
}

#[derive(Serialize)]
struct FrequencyWire {
    unit: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebCheckoutWire<'a> {
    checkout_review_return_url: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeliveryWire {
    address_restrictions: AddressRestrictionsWire,
}

#[derive(Serialize)]
struct AddressRestrictionsWire {
    #[serde(rename = "type")]
    kind: &'static str,
    restrictions: JpOnlyWire,
}

#[derive(Serialize)]
struct JpOnlyWire {
    #[serde(rename = "JP")]
    jp: EmptyObject,
}

#[derive(Serialize)]
struct EmptyObject {}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PaymentDetailsWire {
    payment_intent: &'static str,
    can_handle_pending_authorization: bool,
    charge_amount: PriceWire,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PriceWire {
    amount: String,
    currency_code: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MerchantMetadataWire<'a> {
    merchant_reference_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignInWire<'a> {
    sign_in_return_url: &'a str,
    store_id: &'a str,
    sign_in_scopes: &'a [Scope],
}

/// Serialising structs of strings, bools and unit enums cannot fail; an empty string would make
/// the signature check fail loudly rather than sign something unexpected.
fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn price_wire(amount: Jpy) -> PriceWire {
    PriceWire {
        // Integer yen as a string: Amazon rejects "705.00" and "1,000" for JPY.
        amount: amount.yen().to_string(),
        currency_code: "JPY",
    }
}

/// The exact checkout payload JSON to sign and to pass as `payloadJSON`.
pub fn checkout_payload_json(p: &CheckoutButtonPayload) -> String {
    to_json(&CheckoutWire {
        web_checkout_details: WebCheckoutWire {
            checkout_review_return_url: &p.review_return_url,
        },
        store_id: &p.store_id,
        scopes: &CHECKOUT_SCOPES,
        charge_permission_type: if p.recurring.is_some() {
            "Recurring"
        } else {
            "OneTime"
        },
        recurring_metadata: p.recurring.as_ref().map(|r| RecurringWire {
            frequency: FrequencyWire {
                unit: r.unit,
                value: r.value.to_string(),
            },
            amount: price_wire(r.amount),
        }),
        delivery_specifications: DeliveryWire {
            address_restrictions: AddressRestrictionsWire {
                kind: "Allowed",
                restrictions: JpOnlyWire { jp: EmptyObject {} },
            },
        },
        payment_details: PaymentDetailsWire {
            payment_intent: "Authorize",
            // kessai has no asynchronous authorisation path: an answer is needed at Complete.
            can_handle_pending_authorization: false,
            charge_amount: price_wire(p.amount),
        },
        merchant_metadata: MerchantMetadataWire {
            merchant_reference_id: &p.merchant_reference_id,
        },
    })
}

/// The exact Sign in with Amazon payload JSON to sign and to pass as `payloadJSON`.
pub fn signin_payload_json(p: &SignInButtonPayload) -> String {
    to_json(&SignInWire {
        sign_in_return_url: &p.sign_in_return_url,
        store_id: &p.store_id,
        sign_in_scopes: &p.scopes,
    })
}

/// `ALG \n hex(sha256(payloadJSON))`: no canonical request and no date, so it is stable per payload.
pub fn button_string_to_sign(alg: Algorithm, payload_json: &str) -> String {
    format!("{}\n{}", alg.as_str(), sha256_hex(payload_json.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reference_button_vector() {
        let payload = r#"{"storeId":"amzn1.application-oa2-client.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","webCheckoutDetails":{"checkoutReviewReturnUrl":"https://localhost/test/CheckoutReview.php","checkoutResultReturnUrl":"https://localhost/test/CheckoutResult.php"}}"#;
        let hash = "8dec52d799607be40f82d5c8e7ecb6c171e6591c41b1111a576b16076c89381c";
        assert_eq!(
            button_string_to_sign(Algorithm::V2, payload),
            format!("AMZN-PAY-RSASSA-PSS-V2\n{hash}")
        );
        assert_eq!(
            button_string_to_sign(Algorithm::Legacy, payload),
            format!("AMZN-PAY-RSASSA-PSS\n{hash}")
        );
    }

    #[test]
    fn checkout_payload_exact() {
        let p = CheckoutButtonPayload::new(
            "https://edge.example.jp/v1/amazon-pay/review?payment=pay_1",
            "amzn1.application-oa2-client.test",
            "order-1001",
            Jpy::chargeable(12_800).unwrap(),
        );
        assert_eq!(
            checkout_payload_json(&p),
            concat!(
                r#"{"webCheckoutDetails":{"checkoutReviewReturnUrl":"https://edge.example.jp/v1/amazon-pay/review?payment=pay_1"},"#,
                r#""storeId":"amzn1.application-oa2-client.test","#,
                r#""scopes":["name","email","phoneNumber","billingAddress","shippingAddress","postalCode"],"#,
                r#""chargePermissionType":"OneTime","#,
                r#""deliverySpecifications":{"addressRestrictions":{"type":"Allowed","restrictions":{"JP":{}}}},"#,
                r#""paymentDetails":{"paymentIntent":"Authorize","canHandlePendingAuthorization":false,"chargeAmount":{"amount":"12800","currencyCode":"JPY"}},"#,
                r#""merchantMetadata":{"merchantReferenceId":"order-1001"}}"#
            )
        );
    }

    #[test]
    fn recurring_checkout_payload_exact() {
        let p = CheckoutButtonPayload::new(
            "https://edge.example.jp/v1/amazon-pay/review?payment=pay_2",
            "amzn1.application-oa2-client.test",
            "order-1002",
            Jpy::chargeable(3_980).unwrap(),
        )
        .recurring(RecurringButton {
            unit: "Month",
            value: 1,
            amount: Jpy::chargeable(3_980).unwrap(),
        });
        let json = checkout_payload_json(&p);
        assert!(json.contains(concat!(
            r#""chargePermissionType":"Recurring","#,
            r#""recurringMetadata":{"frequency":{"unit":"Month","value":"1"},"amount":{"amount":"3980","currencyCode":"JPY"}},"#,
            r#""deliverySpecifications""#
        )));
        // The one-time payload carries no recurringMetadata at all (not even null).
        let one_time = CheckoutButtonPayload {
            recurring: None,
            ..p
        };
        assert!(!checkout_payload_json(&one_time).contains("recurring"));
    }

    #[test]
    fn signin_payload_exact() {
        let p = SignInButtonPayload {
            sign_in_return_url: "http://127.0.0.1:8787/v1/amazon-pay/signin/return?state=ab12"
                .into(),
            store_id: "amzn1.application-oa2-client.test".into(),
            scopes: SIGNIN_SCOPES.to_vec(),
        };
        assert_eq!(
            signin_payload_json(&p),
            r#"{"signInReturnUrl":"http://127.0.0.1:8787/v1/amazon-pay/signin/return?state=ab12","storeId":"amzn1.application-oa2-client.test","signInScopes":["name","email","postalCode","shippingAddress","phoneNumber"]}"#
        );
    }

    #[test]
    fn escaping_is_minimal_and_safe() {
        let p = CheckoutButtonPayload::new(
            "https://x.jp/a/b?q=\"1\"&r=\\",
            "s",
            "注文-1</script>",
            Jpy::chargeable(1).unwrap(),
        );
        let json = checkout_payload_json(&p);
        assert!(json.contains(r#""checkoutReviewReturnUrl":"https://x.jp/a/b?q=\"1\"&r=\\""#));
        assert!(json.contains("注文-1</script>"));
        assert!(!json.contains("\\/"));
    }

    #[test]
    fn scope_names() {
        for s in Scope::ALL {
            assert_eq!(Scope::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(Scope::parse("Name"), None);
    }

    proptest! {
        #[test]
        fn checkout_payload_is_valid_json_with_the_inputs(
            url in "\\PC{0,40}", store in "\\PC{0,20}", reference in "\\PC{0,20}", yen in 1i64..=9_999_999,
        ) {
            let p = CheckoutButtonPayload::new(url.clone(), store.clone(), reference.clone(), Jpy::chargeable(yen).unwrap());
            let json = checkout_payload_json(&p);
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&v["webCheckoutDetails"]["checkoutReviewReturnUrl"], &serde_json::Value::String(url));
            prop_assert_eq!(&v["storeId"], &serde_json::Value::String(store));
            prop_assert_eq!(&v["merchantMetadata"]["merchantReferenceId"], &serde_json::Value::String(reference));
            prop_assert_eq!(&v["paymentDetails"]["chargeAmount"]["amount"], &serde_json::Value::String(yen.to_string()));
            // '/' is never escaped: every '/' of the JSON comes from an input, unchanged.
            let slashes = |s: &str| s.matches('/').count();
            prop_assert_eq!(slashes(&json), slashes(&p.review_return_url) + slashes(&p.store_id) + slashes(&p.merchant_reference_id));
            let sts = button_string_to_sign(Algorithm::V2, &json);
            prop_assert_eq!(sts.len(), "AMZN-PAY-RSASSA-PSS-V2\n".len() + 64);
        }
    }
}
