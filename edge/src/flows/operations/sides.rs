//! kessai's record and the gateway's, side by side: what 再照会 shows the operator and what
//! 「エラーを無視して変更する」 and an operation's reconcile record. Reading the gateway here never
//! changes anything.

use crate::config::Config;
use crate::gateways::amazon::AmazonClient;
use crate::gateways::amazon::meaning::ReadFailure;
use crate::gateways::gmo::{CallError, GmoClient};
use crate::store::PaymentRow;
use kessai_core::amazon::model::{Charge, Price};
use kessai_core::gmo::api::Answer;
use kessai_core::operations::PaymentMethod;
use kessai_core::payment::state_from_gmo;
use serde_json::{Value, json};

/// kessai's side of a comparison with the gateway.
pub fn kessai_side(row: &PaymentRow) -> Value {
    json!({
        "state": row.state, "amount": row.amount, "authorized_amount": row.authorized_amount,
        "captured": row.captured_amount, "refunded": row.refunded_amount, "gmo_status": row.gmo_status,
    })
}

/// What the gateway holds for the payment right now: SearchTrade (card) or Get Charge (Amazon
/// Pay). Read only; `{"error": …}` when the gateway cannot be read.
pub async fn gateway_side(cfg: &Config, row: &PaymentRow) -> Value {
    match row.method() {
        PaymentMethod::Card => gmo_side(cfg, row).await,
        PaymentMethod::AmazonPay => {
            let Some(amazon) = cfg.amazon.as_ref() else {
                return json!({ "gateway": "amazon_pay", "error": "Amazon Pay is off" });
            };
            let Some(charge_id) = row.amazon_charge_id.as_deref() else {
                return json!({ "gateway": "amazon_pay", "error": "no charge id recorded" });
            };
            match AmazonClient::new(amazon).get_charge(charge_id).await {
                Ok(c) => amazon_side(&c),
                Err(e) => match e.kind {
                    ReadFailure::Unreadable => {
                        json!({ "gateway": "amazon_pay", "error": "unreadable Get Charge answer" })
                    }
                    ReadFailure::Refused(a) => {
                        json!({ "gateway": "amazon_pay", "error": "Get Charge refused", "http_status": a.status })
                    }
                    ReadFailure::NoAnswer(_) => {
                        json!({ "gateway": "amazon_pay", "error": "Amazon did not answer" })
                    }
                },
            }
        }
    }
}

async fn gmo_side(cfg: &Config, row: &PaymentRow) -> Value {
    match GmoClient::new(cfg).search_trade(&row.gmo_order_id).await {
        Ok(Answer::Ok(t)) => json!({
            "gateway": "gmo", "gmo_status": t.status.as_str(),
            "state": state_from_gmo(t.status).as_str(),
            "amount": t.amount, "tran_id": t.tran_id, "process_date": t.process_date,
        }),
        Ok(Answer::Err(e)) => {
            let (code, info) = e.joined();
            json!({ "gateway": "gmo", "error": "SearchTrade refused", "err_code": code, "err_info": info })
        }
        Err(CallError::Unreadable(_)) => {
            json!({ "gateway": "gmo", "error": "unreadable SearchTrade answer" })
        }
        Err(CallError::NotSent(_) | CallError::NoAnswer(_)) => {
            json!({ "gateway": "gmo", "error": "GMO did not answer" })
        }
    }
}

fn amazon_side(c: &Charge) -> Value {
    let yen = |p: &Option<Price>| p.as_ref().and_then(|p| p.to_jpy().ok()).map(|j| j.yen());
    json!({
        "gateway": "amazon_pay",
        "charge_state": c.state().map(|st| st.as_str()),
        "reason_code": c.reason_code(),
        "captured": yen(&c.capture_amount),
        "refunded": yen(&c.refunded_amount),
    })
}
