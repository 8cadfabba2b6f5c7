//! `idempotency_keys`: the first answer to a request sent with an `Idempotency-Key`, replayed
//! for a retry with the same key and body. A key is reserved (status 0, "in progress") before its
//! request runs, so two concurrent requests with one key never both run.

use super::db::{Store, n, s};
use crate::http::ApiResult;
use serde::Deserialize;

/// The stored first answer of a key.
pub struct StoredAnswer {
    pub request_hash: String,
    /// 0 while the first request is still running ([`IN_PROGRESS`]).
    pub status: u16,
    pub body: String,
    pub created_at: i64,
}

/// The status of a reserved key whose request has not answered yet.
pub const IN_PROGRESS: u16 = 0;

impl Store<'_> {
    pub async fn idempotent_get(&self, key: &str) -> ApiResult<Option<StoredAnswer>> {
        #[derive(Deserialize)]
        struct Row {
            request_hash: String,
            status: i64,
            body: String,
            created_at: i64,
        }
        let row: Option<Row> = self
            .first(
                "SELECT request_hash, status, body, created_at FROM idempotency_keys WHERE key = ?1",
                &[s(key)],
            )
            .await?;
        Ok(row.map(|r| StoredAnswer {
            request_hash: r.request_hash,
            status: u16::try_from(r.status).unwrap_or(500),
            body: r.body,
            created_at: r.created_at,
        }))
    }

    /// Reserves `key` for this request (`Ok(false)`: another request has it).
    pub async fn idempotent_reserve(&self, key: &str, hash: &str, now: i64) -> ApiResult<bool> {
        self.run(
            "INSERT INTO idempotency_keys (key, request_hash, status, body, created_at) VALUES (?1, ?2, 0, '', ?3) \
             ON CONFLICT(key) DO NOTHING",
            &[s(key), s(hash), n(now)],
        )
        .await
        .map(|c| c == 1)
    }

    /// Takes over a reservation whose request never answered (its worker died): compare-and-set
    /// on the reservation's time, so one taker wins.
    pub async fn idempotent_take_over(
        &self,
        key: &str,
        reserved_at: i64,
        now: i64,
    ) -> ApiResult<bool> {
        self.run(
            "UPDATE idempotency_keys SET created_at = ?3 WHERE key = ?1 AND status = 0 AND created_at = ?2",
            &[s(key), n(reserved_at), n(now)],
        )
        .await
        .map(|c| c == 1)
    }

    /// Frees a reservation whose request ended in a server error: a retry runs again.
    pub async fn idempotent_release(&self, key: &str) -> ApiResult<()> {
        self.run(
            "DELETE FROM idempotency_keys WHERE key = ?1 AND status = 0",
            &[s(key)],
        )
        .await?;
        Ok(())
    }

    /// Stores the answer of the reserved `key`.
    pub async fn idempotent_put(&self, key: &str, status: u16, body: &str) -> ApiResult<()> {
        self.run(
            "UPDATE idempotency_keys SET status = ?2, body = ?3 WHERE key = ?1 AND status = 0",
            &[s(key), n(i64::from(status)), s(body)],
        )
        .await?;
        Ok(())
    }
}
