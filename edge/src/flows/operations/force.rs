//! 「エラーを無視して変更する」 (`POST /v1/payments/{id}/force` `{state, reason}`): sets kessai's
//! state without a gateway operation, after a change made in GMO's or Amazon's own console. The
//! `forced` event records the reason, the caller, kessai's side before and the gateway's side
//! read just before. Refused without a reason, for a state a flow owns, or while an operation
//! runs.

use super::changed_meanwhile;
use super::sides::{gateway_side, kessai_side};
use crate::config::Config;
use crate::http::{ApiError, ApiResult, Reply, invalid_json, only_fields};
use crate::platform;
use crate::store::{Event, Store};
use crate::views::payment_view;
use kessai_core::payment::PaymentState;
use serde_json::{Value, json};

/// The body: the reason (1–500 characters) and the settled state to set.
fn parse_force(raw: &str) -> ApiResult<(String, PaymentState)> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    only_fields(&body, &["state", "reason"])?;
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(ApiError::new(
            400,
            "reason_required",
            "a reason (1-500 characters) is required to override the state",
            "変更の理由を入力してください（500文字以内）。",
        )
        .with("param", "reason"));
    }
    let target = body
        .get("state")
        .and_then(Value::as_str)
        .and_then(PaymentState::parse)
        .filter(|st| st.forceable())
        .ok_or_else(|| {
            ApiError::bad_request(
                "state must be a settled payment state",
                "変更後の状態を選んでください。",
            )
            .with("param", "state")
        })?;
    Ok((reason.to_string(), target))
}

/// `POST /v1/payments/{id}/force`; `actor` is who asked (`merchant`, `operator:<name>`).
pub async fn force(
    store: &Store<'_>,
    cfg: &Config,
    id: &str,
    raw: &str,
    actor: &str,
) -> ApiResult<Reply> {
    let (reason, target) = parse_force(raw)?;
    let now = platform::now().0;
    let row = store.existing_payment(id).await?;
    let from = row.state()?;
    let leased = from == PaymentState::Processing && row.lease_live(now);
    if leased || from == PaymentState::RequiresPayment {
        return Err(ApiError::new(
            409,
            "payment_not_forceable",
            format!(
                "the payment is {}; it cannot be overridden now",
                from.as_str()
            ),
            format!("現在の状態（{}）では変更できません。", from.label_ja()),
        ));
    }
    let gateway = gateway_side(cfg, &row).await;
    let mine = kessai_side(&row);
    let mut next = row.clone();
    next.lease_until = None;
    // What later operations plan from follows the forced state: the gateway's status as just
    // read (card), and whether money is captured.
    if let Some(st) = gateway.get("gmo_status").and_then(Value::as_str) {
        next.gmo_status = Some(st.to_string());
    }
    next.captured_amount = Some(if target.holds_capture() {
        row.captured_amount.filter(|c| *c > 0).unwrap_or(row.amount)
    } else {
        0
    });
    let ev = Event {
        actor,
        kind: "forced",
        detail: json!({ "reason": reason, "from": from.as_str(), "to": target.as_str(), "kessai": mine, "gateway": gateway }),
    };
    if !store.transition(&next, from, target, now, &ev).await? {
        return Err(changed_meanwhile());
    }
    worker::console_log!(
        "payment {id}: forced {} -> {} by {actor}",
        from.as_str(),
        target.as_str()
    );
    let fresh = store.existing_payment(id).await?;
    let mut view = payment_view(&fresh)?;
    view["forced"] = json!({ "kessai": mine, "gateway": gateway });
    Ok(Reply::ok(view))
}
