//! `merchant_webhooks`: events for the shop's server and their delivery (#15).

use super::db::{Store, n, opt_n, s};
use crate::http::ApiResult;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookRow {
    pub id: String,
    pub event: String,
    pub body: String,
    pub attempts: i64,
}

impl Store<'_> {
    /// Records an event to deliver from `now` on.
    pub async fn enqueue_webhook(
        &self,
        id: &str,
        event: &str,
        body: &str,
        now: i64,
    ) -> ApiResult<()> {
        self.run(
            "INSERT INTO merchant_webhooks (id, event, body, next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            &[s(id), s(event), s(body), n(now)],
        )
        .await?;
        Ok(())
    }

    /// Events due for a delivery attempt, oldest first.
    pub async fn due_webhooks(&self, now: i64, limit: i64) -> ApiResult<Vec<WebhookRow>> {
        self.all(
            "SELECT id, event, body, attempts FROM merchant_webhooks \
             WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
            &[n(now), n(limit)],
        )
        .await
    }

    /// Takes the attempt `attempts + 1` of `id` (compare-and-set on `attempts`, so two
    /// overlapping runs never send the same attempt twice); `next_at` is when the one after it
    /// may go if this one fails. `Ok(false)`: another run has it.
    pub async fn claim_webhook(
        &self,
        id: &str,
        attempts: i64,
        next_at: Option<i64>,
    ) -> ApiResult<bool> {
        self.run(
            "UPDATE merchant_webhooks SET attempts = attempts + 1, next_attempt_at = ?3 WHERE id = ?1 AND attempts = ?2 AND delivered_at IS NULL",
            &[s(id), n(attempts), opt_n(next_at)],
        )
        .await
        .map(|c| c == 1)
    }

    /// The answer of the attempt just made: delivered (2xx) or not.
    pub async fn webhook_answered(
        &self,
        id: &str,
        status: Option<i64>,
        delivered_at: Option<i64>,
    ) -> ApiResult<()> {
        self.run(
            "UPDATE merchant_webhooks SET last_status = ?2, delivered_at = ?3, \
             next_attempt_at = CASE WHEN ?3 IS NULL THEN next_attempt_at ELSE NULL END WHERE id = ?1",
            &[s(id), opt_n(status), opt_n(delivered_at)],
        )
        .await?;
        Ok(())
    }
}
