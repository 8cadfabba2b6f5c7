//! Webhooks to the shop's server (`WEBHOOK_URL`, signed with `WEBHOOK_SIGNING_KEY`): the notices
//! of 定期購入 (#15) — `subscription.charge_failed` (a cycle's charge failed: its order is カード
//! 未決済, a retry is scheduled) and `subscription.unpaid` (retries exhausted or the card is dead:
//! ask the customer for another card). Recorded in D1 in the same run that decides them, then
//! delivered by the Cron Trigger: a 2xx answer ends it; anything else (a 4xx, a 5xx, no answer
//! within the timeout) is tried again after 1 min, 5 min, 30 min, 2 h, 6 h, 12 h and 24 h, then
//! given up (the history and the merchant API still show the state). Each event keeps its id
//! (`kessai-event-id`) across retries, so the receiver can drop duplicates.

use crate::config::Config;
use crate::gateways::merchant;
use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::Store;
use serde_json::{Value, json};

/// The waits after attempt 1, 2, … before the next one; after the last attempt none.
pub const RETRY_AFTER_MS: [i64; 7] = [
    60_000,
    5 * 60_000,
    30 * 60_000,
    2 * 3_600_000,
    6 * 3_600_000,
    12 * 3_600_000,
    24 * 3_600_000,
];

/// Deliveries one run makes at most.
pub const DELIVERY_BATCH: i64 = 25;

/// Records `event` with `data` for the shop's server; nothing when no `WEBHOOK_URL` is set.
pub async fn enqueue(store: &Store<'_>, cfg: &Config, event: &str, data: Value) -> ApiResult<()> {
    if cfg.webhook.is_none() {
        return Ok(());
    }
    let id = format!(
        "evt_{}",
        platform::random_hex(12).ok_or_else(|| ApiError::internal("random"))?
    );
    let now = platform::now().0;
    let body = json!({ "id": id, "type": event, "created_at": now, "data": data }).to_string();
    store.enqueue_webhook(&id, event, &body, now).await
}

#[derive(Default, Debug)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub failed: usize,
    pub given_up: usize,
}

/// Sends what is due now.
pub async fn deliver_due(store: &Store<'_>, cfg: &Config) -> DeliveryReport {
    let mut report = DeliveryReport::default();
    let Some(hook) = &cfg.webhook else {
        return report;
    };
    let now = platform::now().0;
    let rows = match store.due_webhooks(now, DELIVERY_BATCH).await {
        Ok(rows) => rows,
        Err(e) => {
            worker::console_error!("webhooks: listing failed: {}", e.code);
            return report;
        }
    };
    for row in rows {
        let attempt = row.attempts + 1;
        let next_at = usize::try_from(row.attempts)
            .ok()
            .and_then(|i| RETRY_AFTER_MS.get(i))
            .map(|wait| now + wait);
        // Claimed first: an overlapping run never sends the same attempt.
        match store.claim_webhook(&row.id, row.attempts, next_at).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                worker::console_warn!("webhooks: {} claim failed: {}", row.id, e.code);
                continue;
            }
        }
        let Some(signature) = merchant::signature(&hook.signing_key, now / 1000, &row.body).await
        else {
            worker::console_error!("webhooks: signing failed");
            return report;
        };
        let answer = merchant::deliver(&hook.url, &row.id, &signature, &row.body).await;
        let (status, delivered) = match &answer {
            Ok(code) => (Some(i64::from(*code)), (200..300).contains(code)),
            Err(_) => (None, false),
        };
        if let Err(e) = store
            .webhook_answered(&row.id, status, delivered.then_some(now))
            .await
        {
            worker::console_warn!("webhooks: {} record failed: {}", row.id, e.code);
        }
        match (delivered, next_at) {
            (true, _) => report.delivered += 1,
            (false, Some(_)) => report.failed += 1,
            (false, None) => report.given_up += 1,
        }
        // Ids and status only: never the body (it names customers) or the key.
        worker::console_log!(
            "webhooks: {} {} attempt {attempt}: {}",
            row.id,
            row.event,
            match &answer {
                Ok(code) => code.to_string(),
                Err(why) => why.clone(),
            }
        );
    }
    report
}
