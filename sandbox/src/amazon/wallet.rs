//! Test control of a buyer's payment method behind a Recurring charge permission, so every path
//! of a 定期購入 on Amazon runs offline:
//! `POST /__sandbox/amazon/charge-permissions/{id}/wallet` `{"declines": "HardDeclined" |
//! "SoftDeclined" | null}`. A declining wallet answers Create Charge on the permission with that
//! reason (422); `null` is the buyer updating the payment method on Amazon: the permission is
//! Chargeable again.

use axum::Json;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Shared, lock};
use crate::control::bad_request;
use kessai_core::amazon::status::ChargePermissionState;

pub async fn set_wallet(
    AxState(shared): AxState<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let declines = match body.get("declines") {
        None | Some(Value::Null) => None,
        Some(Value::String(r)) if r == "HardDeclined" => Some("HardDeclined"),
        Some(Value::String(r)) if r == "SoftDeclined" => Some("SoftDeclined"),
        Some(_) => return bad_request("declines must be HardDeclined, SoftDeclined or null"),
    };
    let mut st = lock(&shared);
    let now = st.now();
    let Some(cp) = st.charge_permissions.get_mut(&id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such charge permission" })),
        )
            .into_response();
    };
    cp.wallet_declines = declines;
    if declines.is_none() && cp.state == ChargePermissionState::NonChargeable {
        cp.state = ChargePermissionState::Chargeable;
        cp.reasons.clear();
        cp.last_updated = now;
    }
    Json(json!({ "charge_permission_id": id, "declines": declines })).into_response()
}
