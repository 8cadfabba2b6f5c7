//! 一括売上確定: `POST /v1/payments/bulk/capture` captures each payment in turn (each as a
//! single capture would, under its own lease) and reports every one; it never stops half-way.

use super::run::operate;
use crate::config::Config;
use crate::http::{ApiError, ApiResult, Reply, invalid_json, only_fields};
use crate::store::Store;
use kessai_core::operations::Operation;
use serde_json::{Value, json};

/// Most payments one bulk request may name (each is processed one by one within the request).
pub const BULK_MAX: usize = 100;

/// `POST /v1/payments/bulk/capture`: captures each payment in turn and reports every one.
pub async fn bulk_capture(
    store: &Store<'_>,
    cfg: &Config,
    raw: &str,
    actor: &str,
) -> ApiResult<Reply> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    only_fields(&body, &["payment_ids"])?;
    let bad = || {
        ApiError::bad_request(
            format!("payment_ids must be 1-{BULK_MAX} payment ids"),
            format!("決済IDを1〜{BULK_MAX}件指定してください。"),
        )
        .with("param", "payment_ids")
    };
    let ids: Vec<String> = body
        .get("payment_ids")
        .and_then(Value::as_array)
        .ok_or_else(bad)?
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    if ids.is_empty() || ids.len() > BULK_MAX {
        return Err(bad());
    }
    let mut results = Vec::with_capacity(ids.len());
    let (mut ok_count, mut failed) = (0, 0);
    for id in &ids {
        let outcome = operate(store, cfg, id, Operation::Capture { amount: None }, actor).await;
        let entry = match outcome {
            Ok(reply) if reply.status == 200 => {
                ok_count += 1;
                json!({ "id": id, "ok": true, "state": reply.body["state"] })
            }
            Ok(reply) => {
                failed += 1;
                json!({ "id": id, "ok": false, "state": reply.body["state"], "error": reply.body["error"] })
            }
            Err(e) => {
                failed += 1;
                let state = match store.payment(id).await {
                    Ok(Some(r)) => json!(r.state),
                    Ok(None) | Err(_) => Value::Null,
                };
                json!({ "id": id, "ok": false, "state": state, "error": e.body()["error"] })
            }
        };
        results.push(entry);
    }
    Ok(Reply::ok(
        json!({ "data": results, "succeeded": ok_count, "failed": failed }),
    ))
}
