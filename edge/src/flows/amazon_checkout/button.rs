//! `POST /v1/checkout/{id}/amazon-pay/button`: the Amazon Pay checkout button of a payment,
//! its payload signed on the edge for the **stored** amount (never the browser's).

use super::review_url;
use crate::config::{AmazonConfig, Config};
use crate::gateways::amazon::AmazonClient;
use crate::http::{ApiError, ApiResult, only_fields};
use crate::platform;
use crate::store::{Event, PaymentRow, Store};
use kessai_core::amazon::button::{self, CheckoutButtonPayload, RecurringButton};
use kessai_core::amazon::rules::RECURRING_MONTHLY_CAP;
use kessai_core::money::Jpy;
use kessai_core::payment::{CaptureMode, Phase};
use kessai_core::subscription::SubscriptionPlan;
use serde_json::{Value, json};

/// `POST /v1/checkout/{id}/amazon-pay/button`: the signed checkout payload for this payment.
pub async fn button(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    row: PaymentRow,
    body: &Value,
) -> ApiResult<Value> {
    only_fields(body, &["return_url"])?;
    let return_url = cfg.storefront_return_url(body)?;
    if row.capture_mode == CaptureMode::Verify.as_str() {
        return Err(ApiError::new(
            409,
            "card_registration_only",
            "this payment registers a card; Amazon Pay cannot be used for it",
            "このお手続きはカードの登録専用です。Amazon Payはご利用いただけません。",
        ));
    }
    let state = row.state()?;
    if state.phase() != Phase::Open {
        return Err(ApiError::new(
            409,
            "payment_not_payable",
            format!("the payment is {}; it cannot be paid again", row.state),
            format!("このお支払いは既に「{}」です。", state.label_ja()),
        )
        .with("state", &row.state));
    }
    let amount = Jpy::chargeable(row.amount)
        .map_err(|_| ApiError::internal("stored amount out of range"))?;
    let now = platform::now().0;
    if row.return_url.as_deref() != Some(return_url) {
        let mut next = row.clone();
        next.return_url = Some(return_url.to_string());
        let ev = Event {
            actor: "shopper",
            kind: "amazon_button_signed",
            detail: json!({ "amount": row.amount }),
        };
        // Losing this race only means someone changed the payment meanwhile; its amount is
        // re-read below (the payload must carry the stored one).
        if !store.transition(&next, state, state, now, &ev).await? {
            return Err(ApiError::new(
                409,
                "payment_in_progress",
                "the payment changed meanwhile; retry",
                "処理中です。再度お試しください。",
            ));
        }
    }
    let mut payload = CheckoutButtonPayload::new(
        review_url(amazon, &row.id),
        amazon.store_id.clone(),
        row.order_id.clone(),
        amount,
    );
    // A 定期購入 sign-up asks Amazon for a Recurring charge permission (later cycles are charged
    // on it by the Cron Trigger).
    if let Some(plan) = row.subscription_plan.as_deref() {
        let plan: SubscriptionPlan = serde_json::from_str(plan)
            .map_err(|_| ApiError::internal("unreadable subscription plan in D1"))?;
        if plan.amount > RECURRING_MONTHLY_CAP {
            return Err(ApiError::new(
                409,
                "amount_above_monthly_cap",
                "Amazon Pay recurring charges are limited to 100,000 yen per calendar month",
                "Amazon Pay の定期購入は1か月あたり100,000円までのため、ご利用いただけません。",
            ));
        }
        let (unit, value) = plan.cycle.amazon_frequency();
        payload = payload.recurring(RecurringButton {
            unit,
            value,
            amount: plan.amount,
        });
    }
    let payload = button::checkout_payload_json(&payload);
    AmazonClient::new(amazon).sign_button(payload).await
}
