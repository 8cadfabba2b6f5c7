//! Amazon Pay (CV2): the API calls kessai makes, typed. Requests are built by
//! `kessai_core::amazon::request`, signed by [`signing`] and sent by [`transport`]; [`meaning`]
//! turns refusals into the edge's errors; [`sns`] verifies IPN envelopes.

pub mod meaning;
pub mod signing;
pub mod sns;
pub mod transport;

use crate::config::AmazonConfig;
use crate::http::{ApiError, ApiResult};
use crate::platform;
use kessai_core::amazon::button;
use kessai_core::amazon::model::{
    CancelCharge, CaptureCharge, Charge, ChargePermission, CheckoutSession, CloseChargePermission,
    CreateCharge, CreateRefund, MerchantMetadata, Price, to_json,
};
use kessai_core::amazon::request::{self, ApiConfig, Environment, HttpMethod, api};
use kessai_core::amazon::signing::Algorithm;
use meaning::{ReadError, ReadFailure};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use transport::{AmazonTransport, Answer, TransportError};

/// One merchant's Amazon Pay API (keys, region, environment and timeout from the config).
pub struct AmazonClient<'a> {
    amazon: &'a AmazonConfig,
}

/// A call's raw answer, for the calls whose HTTP status the flow interprets.
pub type Sent = Result<Answer, TransportError>;

impl<'a> AmazonClient<'a> {
    pub fn new(amazon: &'a AmazonConfig) -> AmazonClient<'a> {
        AmazonClient { amazon }
    }

    fn api_config(&self) -> ApiConfig {
        ApiConfig {
            base_url: self.amazon.api_base.clone(),
            environment: if self.amazon.sandbox() {
                Environment::Sandbox
            } else {
                Environment::Live
            },
            region: self.amazon.region.clone(),
            public_key_id: self.amazon.public_key_id.clone(),
        }
    }

    /// Signs and sends one API call built by `kessai_core::amazon::request`.
    async fn call(
        &self,
        (method, resource): (HttpMethod, String),
        body: Option<String>,
        idempotency_key: Option<&str>,
        api_name: &str,
    ) -> Sent {
        let unsigned = request::build(
            &self.api_config(),
            method,
            &resource,
            body,
            idempotency_key,
            platform::now(),
        );
        let transport = AmazonTransport {
            private_key_pem: &self.amazon.private_key_pem,
            timeout_ms: self.amazon.timeout_ms,
        };
        transport.call(unsigned, api_name).await
    }

    /// A call whose 200 answer is the object `T`.
    async fn read<T: DeserializeOwned>(
        &self,
        request: (HttpMethod, String),
        body: Option<String>,
        api: &'static str,
    ) -> Result<T, ReadError> {
        let fail = |kind| ReadError { api, kind };
        let answer = self
            .call(request, body, None, api)
            .await
            .map_err(|e| fail(ReadFailure::NoAnswer(e)))?;
        if answer.status != 200 {
            return Err(fail(ReadFailure::Refused(answer)));
        }
        serde_json::from_str(&answer.body).map_err(|_| fail(ReadFailure::Unreadable))
    }

    pub async fn get_checkout_session(&self, cs_id: &str) -> Result<CheckoutSession, ReadError> {
        self.read(api::get_checkout_session(cs_id), None, "GetCheckoutSession")
            .await
    }

    /// Update Checkout Session with `update` (the payment intent, amount and return URL).
    pub async fn update_checkout_session(
        &self,
        cs_id: &str,
        update: &Value,
    ) -> Result<CheckoutSession, ReadError> {
        self.read(
            api::update_checkout_session(cs_id),
            Some(update.to_string()),
            "UpdateCheckoutSession",
        )
        .await
    }

    /// Complete Checkout Session for `amount` under `idempotency_key`.
    pub async fn complete_checkout_session(
        &self,
        cs_id: &str,
        amount: Price,
        idempotency_key: &str,
    ) -> Sent {
        let body = json!({ "chargeAmount": amount }).to_string();
        self.call(
            api::complete_checkout_session(cs_id),
            Some(body),
            Some(idempotency_key),
            "CompleteCheckoutSession",
        )
        .await
    }

    /// Create Charge on a recurring charge permission: an authorisation (no capture, no pending
    /// answer) of `amount` under `key` (Amazon replays the first answer for the same key).
    pub async fn create_charge(
        &self,
        charge_permission_id: &str,
        amount: Price,
        merchant_reference_id: &str,
        key: &str,
    ) -> Sent {
        let body = to_json(&CreateCharge {
            charge_permission_id: charge_permission_id.to_string(),
            charge_amount: amount,
            capture_now: Some(false),
            can_handle_pending_authorization: Some(false),
            merchant_metadata: Some(MerchantMetadata {
                merchant_reference_id: Some(merchant_reference_id.to_string()),
                ..MerchantMetadata::default()
            }),
            ..CreateCharge::default()
        });
        self.call(api::create_charge(), Some(body), Some(key), "CreateCharge")
            .await
    }

    pub async fn get_charge_permission(
        &self,
        charge_permission_id: &str,
    ) -> Result<ChargePermission, ReadError> {
        self.read(
            api::get_charge_permission(charge_permission_id),
            None,
            "GetChargePermission",
        )
        .await
    }

    pub async fn get_charge(&self, charge_id: &str) -> Result<Charge, ReadError> {
        self.read(api::get_charge(charge_id), None, "GetCharge")
            .await
    }

    pub async fn capture_charge(&self, charge_id: &str, amount: Price, key: &str) -> Sent {
        let body = to_json(&CaptureCharge {
            capture_amount: amount,
            soft_descriptor: None,
        });
        self.call(
            api::capture_charge(charge_id),
            Some(body),
            Some(key),
            "CaptureCharge",
        )
        .await
    }

    pub async fn cancel_charge(&self, charge_id: &str, reason: &str) -> Sent {
        let body = to_json(&CancelCharge {
            cancellation_reason: Some(reason.into()),
        });
        self.call(
            api::cancel_charge(charge_id),
            Some(body),
            None,
            "CancelCharge",
        )
        .await
    }

    pub async fn close_charge_permission(
        &self,
        charge_permission_id: &str,
        reason: &str,
        cancel_pending_charges: bool,
    ) -> Sent {
        let body = to_json(&CloseChargePermission {
            closure_reason: Some(reason.into()),
            cancel_pending_charges: Some(cancel_pending_charges),
        });
        self.call(
            api::close_charge_permission(charge_permission_id),
            Some(body),
            None,
            "CloseChargePermission",
        )
        .await
    }

    pub async fn create_refund(&self, charge_id: &str, amount: Price, key: &str) -> Sent {
        let body = to_json(&CreateRefund {
            charge_id: charge_id.to_string(),
            refund_amount: amount,
            soft_descriptor: None,
        });
        self.call(api::create_refund(), Some(body), Some(key), "CreateRefund")
            .await
    }

    /// Get Buyer with the sign-in button's `buyerToken`.
    pub async fn get_buyer(&self, buyer_token: &str) -> Sent {
        self.call(api::get_buyer(buyer_token), None, None, "GetBuyer")
            .await
    }

    /// What a button needs from us: `payload_json` and its V2 `signature` (WebCrypto RSASSA-PSS
    /// with the merchant key), with the `public_key_id` and `algorithm` that verify it.
    pub async fn sign_button(&self, payload: String) -> ApiResult<Value> {
        let to_sign = button::button_string_to_sign(Algorithm::V2, &payload);
        let signature = signing::sign_pss(&self.amazon.private_key_pem, &to_sign)
            .await
            .map_err(|e| ApiError::internal(e.0))?;
        Ok(json!({
            "payload_json": payload,
            "signature": signature,
            "public_key_id": self.amazon.public_key_id,
            "algorithm": Algorithm::V2.as_str(),
        }))
    }
}
