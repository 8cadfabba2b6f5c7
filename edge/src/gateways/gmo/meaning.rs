//! What GMO's answers mean for the edge's callers: the shopper's error for a failed
//! authorisation and the history detail of GMO's error pairs. The classification itself
//! (ErrInfo → class and shopper message) is `kessai_core::gmo::errors`.

use crate::http::ApiError;
use kessai_core::gmo::errors::{GmoErrors, ShopperMessage};
use kessai_core::gmo::tds2::TDS_REQUIRED_BY_SHOP;
use serde_json::{Value, json};

/// The history detail of a GMO call for `gmo_order_id`, with GMO's ErrCode/ErrInfo if any.
pub fn gmo_detail(gmo_order_id: &str, errors: Option<&GmoErrors>) -> Value {
    let mut d = json!({ "gmo_order_id": gmo_order_id });
    if let Some(e) = errors {
        let (code, info) = e.joined();
        d["err_code"] = json!(code);
        d["err_info"] = json!(info);
    }
    d
}

/// The card form field a shopper message points at.
pub fn field_of(msg: ShopperMessage) -> Option<&'static str> {
    match msg {
        ShopperMessage::CardNumber => Some("number"),
        ShopperMessage::Expiry => Some("expiry"),
        ShopperMessage::SecurityCode => Some("cvc"),
        ShopperMessage::TokenExpired => Some("token"),
        ShopperMessage::InsufficientFunds
        | ShopperMessage::CardUnusable
        | ShopperMessage::PaymentMethod
        | ShopperMessage::ThreeDSecure
        | ShopperMessage::Busy
        | ShopperMessage::Failed => None,
    }
}

/// The shopper's error for an authorisation that charged nothing for a gateway reason (`code`:
/// `gateway_busy`, `gateway_unavailable`, `gateway_rejected`, `gateway_conflict`, …).
pub fn failure_for(code: &str, errors: Option<&GmoErrors>) -> ApiError {
    if let Some(errs) = errors.filter(|e| e.contains(TDS_REQUIRED_BY_SHOP)) {
        // The GMO shop is contracted as 3D必須 but the edge's THREE_D_SECURE is off: no card
        // payment can pass until the setting follows the contract.
        worker::console_error!(
            "GMO refused EntryTran without 3-D Secure (E01080101): the shop is 3D必須, set THREE_D_SECURE=required"
        );
        return ApiError::new(
            502,
            "three_d_secure_required_by_shop",
            "the GMO shop requires 3-D Secure (E01080101) but THREE_D_SECURE is off; nothing was charged",
            "現在、このショップではカードでのお支払いを受け付けられません(本人認証(3Dセキュア)の設定が必要です)。お支払いは行われていません。ショップにお問い合わせください。",
        )
        .with("gateway", json!({ "err_info": errs.joined().1 }));
    }
    match code {
        "gateway_busy" => ApiError::shopper(503, "gateway_busy", ShopperMessage::Busy),
        _ => {
            let mut e = ApiError::shopper(502, "gateway_error", ShopperMessage::Failed)
                .with("reason", code);
            if let Some(errs) = errors {
                e = e.with("gateway", json!({ "err_info": errs.joined().1 }));
            }
            e
        }
    }
}

/// A card refusal the shopper can act on (402): the message, the field it points at, and GMO's
/// ErrInfo for the merchant.
pub fn declined(code: &'static str, msg: ShopperMessage, errors: &GmoErrors) -> ApiError {
    let mut err = ApiError::shopper(402, code, msg).with("retryable", true);
    if let Some(f) = field_of(msg) {
        err = err.with("field", f);
    }
    err.with("gateway", json!({ "err_info": errors.joined().1 }))
}
