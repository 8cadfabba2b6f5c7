//! The bodies of `POST /v1/payments/{id}/{capture|amount|cancel|refund}`.

use crate::http::{ApiError, ApiResult, invalid_json, only_fields};
use kessai_core::money::Jpy;
use kessai_core::operations::Operation;
use serde_json::{Value, json};

/// Parses the body of `POST /v1/payments/{id}/{capture|amount|cancel|refund}`.
pub fn parse_operation(endpoint: &str, raw: &str) -> ApiResult<Operation> {
    let body: Value = if raw.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(raw).map_err(|_| invalid_json())?
    };
    let amount = |required: bool| -> ApiResult<Option<Jpy>> {
        match body.get("amount") {
            Some(v) if v.is_i64() => Ok(v.as_i64().map(Jpy::from_stored)),
            None if !required => Ok(None),
            _ => Err(ApiError::bad_request(
                "amount must be an integer number of yen",
                "金額は円単位の整数で指定してください。",
            )
            .with("param", "amount")),
        }
    };
    let missing = || {
        ApiError::bad_request(
            "amount must be an integer number of yen",
            "金額は円単位の整数で指定してください。",
        )
        .with("param", "amount")
    };
    match endpoint {
        "capture" => {
            only_fields(&body, &["amount"])?;
            Ok(Operation::Capture {
                amount: amount(false)?,
            })
        }
        "amount" => {
            only_fields(&body, &["amount"])?;
            Ok(Operation::ChangeAmount {
                to: amount(true)?.ok_or_else(missing)?,
            })
        }
        "cancel" => {
            only_fields(&body, &[])?;
            Ok(Operation::Cancel)
        }
        "refund" => {
            only_fields(&body, &["amount"])?;
            Ok(Operation::Refund {
                amount: amount(true)?.ok_or_else(missing)?,
            })
        }
        _ => Err(ApiError::not_found("operation")),
    }
}
