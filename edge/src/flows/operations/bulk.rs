//! 一括売上確定: `POST /v1/payments/bulk/capture` captures each payment as a single capture
//! would (under its own lease), a few at a time, and reports every one in the order asked; it
//! never stops half-way.

use super::run::operate;
use crate::config::Config;
use crate::http::{ApiError, ApiResult, Reply, invalid_json, only_fields};
use crate::store::Store;
use futures_util::StreamExt;
use kessai_core::operations::Operation;
use serde_json::{Value, json};

/// Most payments one bulk request may name.
pub const BULK_MAX: usize = 100;

/// Captures in flight at once within a request: payments are independent (each its own lease,
/// compare-and-set and gateway call), and Workers allow six open connections per invocation.
/// The same id named twice runs under the same lease rules as two single captures: one
/// captures, the other is answered `operation_in_progress` or `already_captured`.
const CONCURRENT_CAPTURES: usize = 6;

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
    // `buffered` keeps the answers in the order of `ids`.
    let results: Vec<(bool, Value)> = futures_util::stream::iter(&ids)
        .map(|id| capture_one(store, cfg, id, actor))
        .buffered(CONCURRENT_CAPTURES)
        .collect()
        .await;
    let ok_count = results.iter().filter(|(ok, _)| *ok).count();
    let failed = results.len() - ok_count;
    let results: Vec<Value> = results.into_iter().map(|(_, row)| row).collect();
    Ok(Reply::ok(
        json!({ "data": results, "succeeded": ok_count, "failed": failed }),
    ))
}

/// One payment's capture and its row of the answer (`ok`, the state it is in, the error).
async fn capture_one(store: &Store<'_>, cfg: &Config, id: &str, actor: &str) -> (bool, Value) {
    match operate(store, cfg, id, Operation::Capture { amount: None }, actor).await {
        Ok(reply) if reply.status == 200 => (
            true,
            json!({ "id": id, "ok": true, "state": reply.body["state"] }),
        ),
        Ok(reply) => (
            false,
            json!({ "id": id, "ok": false, "state": reply.body["state"], "error": reply.body["error"] }),
        ),
        Err(e) => {
            let state = match store.payment(id).await {
                Ok(Some(r)) => json!(r.state),
                Ok(None) | Err(_) => Value::Null,
            };
            (
                false,
                json!({ "id": id, "ok": false, "state": state, "error": e.body()["error"] }),
            )
        }
    }
}
