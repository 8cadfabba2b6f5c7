//! The injected clock of the edge (DEVELOPERS.md: time rules run in JST through an injected clock).
//!
//! In production every request runs at the real time. With `ACCESS_MODE=test` and
//! `TEST_CLOCK=on` (the test stack's setting; `live` refuses it in [`crate::config`]) the time
//! can be frozen at a chosen instant with `PUT /v1/test/clock {"now_ms": N}` (merchant key) and
//! released with `DELETE /v1/test/clock`. The frozen instant lives in D1 (`store::clock`),
//! because one workerd process may run several isolates; each request (and each cron run) loads
//! it into [`crate::platform`] before doing anything that reads the time.

use crate::config::Config;
use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::Store;
use kessai_core::jst::UnixMillis;
use serde_json::{Value, json};

/// Loads the frozen instant, if any, for this request or cron run. Real time (and no D1 read)
/// unless the test clock is on.
pub async fn load(store: &Store<'_>, cfg: &Config) -> ApiResult<()> {
    if !cfg.test_clock {
        platform::set_frozen(None);
        return Ok(());
    }
    platform::set_frozen(store.frozen_clock().await?);
    Ok(())
}

/// `PUT /v1/test/clock` (`{"now_ms": N}`: freeze there) and `DELETE` (back to real time; no
/// body). 404 unless the test clock is on, so the endpoint does not exist in production.
pub async fn control(store: &Store<'_>, cfg: &Config, body: Option<&str>) -> ApiResult<Value> {
    if !cfg.test_clock {
        return Err(ApiError::new(
            404,
            "not_found",
            "no such endpoint",
            "ページが見つかりません。",
        ));
    }
    match body {
        Some(raw) => {
            let now_ms = serde_json::from_str::<Value>(raw)
                .ok()
                .and_then(|v| v.get("now_ms").and_then(Value::as_i64))
                .filter(|ms| *ms > 0)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "expected {\"now_ms\": <unix milliseconds>}",
                        "時刻の指定が正しくありません。",
                    )
                })?;
            store.freeze_clock(now_ms).await?;
            platform::set_frozen(Some(now_ms));
        }
        None => {
            store.release_clock().await?;
            platform::set_frozen(None);
        }
    }
    Ok(view(platform::now()))
}

fn view(now: UnixMillis) -> Value {
    json!({
        "unix_ms": now.0,
        "jst": now.to_jst().gmo_format(),
        "frozen": platform::is_frozen(),
    })
}
