//! Amazon Pay IPN helpers shared by the IPN tests (`ipn_edge`) and the bad-input suite
//! (`bad_input_edge`): Seller Central's controls at the Amazon sandbox, and what a payment's
//! history says about a notification. Signing and posting envelopes: [`crate::signed_ipn`],
//! [`crate::post_amazon_ipn`], [`crate::ipn_message`].

use crate::amazon_sandbox_post;
use serde_json::Value;

/// `POST /__sandbox/amazon/console/charges/{id}/{action}` (Seller Central: `capture`, `cancel`,
/// `refund` `{amount}`): Amazon changes the charge, the edge hears of it only through an IPN.
pub async fn seller_central(charge_id: &str, action: &str, body: Value) -> Value {
    let (status, answer) = amazon_sandbox_post(
        &format!("/__sandbox/amazon/console/charges/{charge_id}/{action}"),
        body,
    )
    .await;
    assert_eq!(status, 200, "console {action}: {answer}");
    answer
}

/// How many history events a notification with this NotificationId left.
pub fn events_of_notification(p: &Value, notification_id: &str) -> usize {
    p["events"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["detail"]["notification"]["notification_id"] == notification_id)
                .count()
        })
        .unwrap_or(0)
}

/// The Amazon charge permission id of a payment view.
pub fn cp_of(p: &Value) -> String {
    p["amazon_pay"]["charge_permission_id"]
        .as_str()
        .expect("charge permission id")
        .to_string()
}
