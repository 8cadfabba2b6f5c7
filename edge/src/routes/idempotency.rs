//! `Idempotency-Key`: the first answer to a keyed request is stored and replayed for a retry
//! with the same key and request; the same key with another request is refused (422). The key is
//! reserved before the request runs, so a concurrent request with the same key answers 409
//! `idempotency_key_in_progress` instead of running twice. Server errors are not stored, so a
//! retry after one tries again.

use crate::http::{ApiError, ApiResult, Reply};
use crate::platform;
use crate::store::Store;
use crate::store::idempotency::IN_PROGRESS;

/// How long a reservation may stay unanswered before it counts as abandoned (a Worker request
/// ends long before: its wall-clock limit is well under a minute for an HTTP request).
const ABANDONED_AFTER_MS: i64 = 120_000;

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
    let now = platform::now().0;
    // Reserved before the work runs: a concurrent request with the same key waits for this one's
    // answer (409, retry) instead of running a second time.
    let mut owned = store.idempotent_reserve(key, &hash, now).await?;
    if !owned {
        let stored = store
            .idempotent_get(key)
            .await?
            .ok_or_else(|| ApiError::internal("idempotency key vanished"))?;
        if stored.request_hash != hash {
            return Err(ApiError::new(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
                "同じIdempotency-Keyが別のリクエストに使われています。",
            ));
        }
        if stored.status != IN_PROGRESS {
            let body = serde_json::from_str(&stored.body)
                .map_err(|_| ApiError::internal("stored idempotent body"))?;
            return Ok(Reply::with_status(stored.status, body));
        }
        // A reservation older than any request can run belongs to a worker that died: take it.
        owned = now - stored.created_at > ABANDONED_AFTER_MS
            && store
                .idempotent_take_over(key, stored.created_at, now)
                .await?;
        if !owned {
            return Err(ApiError::new(
                409,
                "idempotency_key_in_progress",
                "a request with this Idempotency-Key is still being processed; retry shortly",
                "同じIdempotency-Keyのリクエストを処理中です。しばらくしてから再度お試しください。",
            ));
        }
    }
    let result = work.await;
    let (status, body) = match &result {
        Ok(r) => (r.status, r.body.clone()),
        Err(e) => (e.status, e.body()),
    };
    // Server errors are not final answers: a retry with the same key should try again.
    if status < 500 {
        store.idempotent_put(key, status, &body.to_string()).await?;
    } else {
        store.idempotent_release(key).await?;
    }
    result
}
