//! `Idempotency-Key`: the first answer to a keyed request is stored and replayed for a retry
//! with the same key and request; the same key with another request is refused (422). Server
//! errors are not stored, so a retry after one tries again.

use crate::http::{ApiError, ApiResult, Reply};
use crate::platform;
use crate::store::Store;

/// Replays the first answer for `key`; runs `work` and stores its answer otherwise. `request`
/// is what the key stands for (the body, or the path and the body).
pub async fn with_idempotency(
    store: &Store<'_>,
    key: Option<&str>,
    request: &str,
    work: impl std::future::Future<Output = ApiResult<Reply>>,
) -> ApiResult<Reply> {
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return work.await;
    };
    if key.len() > 255 {
        return Err(ApiError::bad_request(
            "Idempotency-Key is too long",
            "Idempotency-Keyが長すぎます。",
        ));
    }
    let hash = platform::sha256_hex(request.as_bytes())
        .await
        .ok_or_else(|| ApiError::internal("sha256"))?;
    if let Some(stored) = store.idempotent_get(key).await? {
        if stored.request_hash != hash {
            return Err(ApiError::new(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
                "同じIdempotency-Keyが別のリクエストに使われています。",
            ));
        }
        let body = serde_json::from_str(&stored.body)
            .map_err(|_| ApiError::internal("stored idempotent body"))?;
        return Ok(Reply::with_status(stored.status, body));
    }
    let result = work.await;
    let (status, body) = match &result {
        Ok(r) => (r.status, r.body.clone()),
        Err(e) => (e.status, e.body()),
    };
    // Server errors are not final answers: a retry with the same key should try again.
    if status < 500 {
        store
            .idempotent_put(key, &hash, status, &body.to_string(), platform::now().0)
            .await?;
    }
    result
}
