//! `idempotency_keys`: the first answer to a request sent with an `Idempotency-Key`, replayed
//! for a retry with the same key and body.

use super::db::{Store, n, s};
use crate::http::ApiResult;
use serde::Deserialize;

/// The stored first answer of a key.
pub struct StoredAnswer {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

impl Store<'_> {
    pub async fn idempotent_get(&self, key: &str) -> ApiResult<Option<StoredAnswer>> {
        #[derive(Deserialize)]
        struct Row {
            request_hash: String,
            status: i64,
            body: String,
        }
        let row: Option<Row> = self
            .first(
                "SELECT request_hash, status, body FROM idempotency_keys WHERE key = ?1",
                &[s(key)],
            )
            .await?;
        Ok(row.map(|r| StoredAnswer {
            request_hash: r.request_hash,
            status: u16::try_from(r.status).unwrap_or(500),
            body: r.body,
        }))
    }

    /// Stores the first answer of `key` (a concurrent first answer keeps its own).
    pub async fn idempotent_put(
        &self,
        key: &str,
        hash: &str,
        status: u16,
        body: &str,
        now: i64,
    ) -> ApiResult<()> {
        self.run(
            "INSERT INTO idempotency_keys (key, request_hash, status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT(key) DO NOTHING",
            &[s(key), s(hash), n(i64::from(status)), s(body), n(now)],
        )
        .await?;
        Ok(())
    }
}
