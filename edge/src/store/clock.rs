//! `test_clock`: the instant tests froze the edge's clock at (one row; test mode only, see
//! `flows::test_clock`). In D1 because one workerd process may run several isolates.

use super::db::{Store, n};
use crate::http::{ApiError, ApiResult};

impl Store<'_> {
    pub async fn frozen_clock(&self) -> ApiResult<Option<i64>> {
        self.db
            .prepare("SELECT frozen_ms FROM test_clock WHERE id = 1")
            .first::<i64>(Some("frozen_ms"))
            .await
            .map_err(|e| ApiError::internal(&format!("test clock: {e}")))
    }

    pub async fn freeze_clock(&self, now_ms: i64) -> ApiResult<()> {
        self.run(
            "INSERT INTO test_clock (id, frozen_ms) VALUES (1, ?1) \
             ON CONFLICT (id) DO UPDATE SET frozen_ms = excluded.frozen_ms",
            &[n(now_ms)],
        )
        .await?;
        Ok(())
    }

    pub async fn release_clock(&self) -> ApiResult<()> {
        self.run("DELETE FROM test_clock", &[]).await?;
        Ok(())
    }
}
