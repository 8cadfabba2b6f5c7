//! The Cron Trigger (issue #4): payments left with an open outcome are settled with the gateway
//! that holds them, so nothing stays 結果不明 just because nobody came back for it (the
//! shopper closed the tab, the operator never pressed 再照会).
//!
//! Each run takes the oldest few `unknown` payments, `processing` ones whose lease has run out
//! and `requires_action` ones whose 3-D Secure authentication nobody finished (after
//! `three_d_secure::AUTHENTICATION_WINDOW_MS`), and reconciles each exactly as an operator's 再照会
//! would (`flows::reconcile::reconcile_any`): ask first (SearchTrade / Get Checkout Session / Get Charge),
//! never repeat a charge. A payment the gateway still cannot tell about stays `unknown` for the
//! next run. Failures are logged per payment (ids and codes only) and never stop the run.
//!
//! The same run finishes gateway notifications a failed delivery left `received` (Amazon IPN
//! or GMO 結果通知 whose processing could not complete and whose redeliveries ran out): after
//! [`NOTIFICATION_GRACE_MS`], so the gateways' own retries go first, each is processed as on
//! delivery (re-read at the gateway, forward only, once).
//!
//! Last, it deletes card attempts past their retention (`CardTestingConfig::RETENTION_MS`).

use super::card_testing;
use super::notifications::{amazon_ipn, gmo_result};
use super::reconcile::reconcile_any;
use super::subscriptions;
use super::test_clock;
use super::three_d_secure::AUTHENTICATION_WINDOW_MS;
use super::webhooks;
use crate::config::{CardTestingConfig, Config};
use crate::http::{Refusal, refuse};
use crate::platform;
use crate::store::Store;
use crate::store::notifications::{LeftNotification, NotificationRow};
use kessai_core::payment::PaymentState;
use serde_json::json;
use worker::Env;

/// Payments one run settles at most. Each costs one or two gateway calls plus a few D1 queries;
/// 25 keeps a run well inside the Workers subrequest and CPU limits. Older ones go first, and
/// what is left waits for the next run (every 5 minutes).
pub const SWEEP_BATCH: i64 = 25;

/// Notifications left `received` are taken up only this long after they arrived: until then
/// the gateway's own redelivery (SNS, GMO) is expected to bring them again.
pub const NOTIFICATION_GRACE_MS: i64 = 10 * 60_000;

/// What one run did (its log line).
#[derive(Default)]
pub struct SweepReport {
    pub examined: usize,
    pub settled: usize,
    pub still_open: usize,
    pub failed: usize,
    pub notifications_processed: usize,
    pub notifications_failed: usize,
    /// Card attempts past their retention (`CardTestingConfig::RETENTION_MS`) deleted.
    pub card_attempts_pruned: usize,
    /// 定期購入 charges (#15).
    pub subscriptions: subscriptions::charge::ChargeReport,
    /// Webhooks to the shop (#15).
    pub webhooks: webhooks::DeliveryReport,
}

/// The Cron Trigger's entry (`[triggers]` in wrangler.toml): configuration, the test clock,
/// then one [`run`] and its log line.
pub async fn scheduled(env: &Env) {
    let cfg = match Config::from_env(env) {
        Ok(c) => c,
        Err(e) => {
            worker::console_error!("sweep: configuration: {}", e.message);
            return;
        }
    };
    let db = match env.d1("DB") {
        Ok(db) => db,
        Err(_) => {
            worker::console_error!("sweep: D1 binding missing");
            return;
        }
    };
    let store = Store { db: &db };
    if let Err(e) = test_clock::load(&store, &cfg).await {
        worker::console_error!("sweep: clock: {}", e.code);
        return;
    }
    let report = run(&store, &cfg).await;
    worker::console_log!(
        "sweep: examined {} settled {} still_open {} failed {}; notifications processed {} failed {}; card attempts pruned {}; subscriptions due {} charged {} failed {} waiting {} errors {} signed up {} permissions closed {}; webhooks delivered {} failed {} given up {}",
        report.examined,
        report.settled,
        report.still_open,
        report.failed,
        report.notifications_processed,
        report.notifications_failed,
        report.card_attempts_pruned,
        report.subscriptions.due,
        report.subscriptions.charged,
        report.subscriptions.failed,
        report.subscriptions.waiting,
        report.subscriptions.errors,
        report.subscriptions.signed_up,
        report.subscriptions.closed,
        report.webhooks.delivered,
        report.webhooks.failed,
        report.webhooks.given_up
    );
}

pub async fn run(store: &Store<'_>, cfg: &Config) -> SweepReport {
    let mut report = SweepReport::default();
    settle_payments(store, cfg, &mut report).await;
    finish_notifications(store, cfg, &mut report).await;
    prune_card_attempts(store, &mut report).await;
    // Last: what the reconciliation above settled is read by the charges.
    report.subscriptions = subscriptions::charge::run(store, cfg).await;
    // The notices the charges just decided go out in the same run.
    report.webhooks = webhooks::deliver_due(store, cfg).await;
    report
}

async fn settle_payments(store: &Store<'_>, cfg: &Config, report: &mut SweepReport) {
    let now = platform::now().0;
    let abandoned_before = now - AUTHENTICATION_WINDOW_MS;
    let rows = match store
        .open_outcomes(now, abandoned_before, SWEEP_BATCH)
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            worker::console_error!("sweep: listing open outcomes failed: {}", e.code);
            report.failed = 1;
            return;
        }
    };
    for row in rows {
        report.examined += 1;
        let id = row.id.clone();
        let settled = reconcile_any(store, cfg, row).await;
        if let Ok(r) = &settled {
            card_testing::settle_open_attempt(store, r).await;
        }
        match settled.and_then(|r| r.state()) {
            Ok(
                state @ (PaymentState::Unknown
                | PaymentState::Processing
                | PaymentState::RequiresAction),
            ) => {
                report.still_open += 1;
                worker::console_log!("sweep: {id} still {}", state.as_str());
            }
            Ok(state) => {
                report.settled += 1;
                worker::console_log!("sweep: {id} settled as {}", state.as_str());
            }
            Err(e) => {
                report.failed += 1;
                worker::console_warn!("sweep: {id} failed: {}", e.code);
            }
        }
    }
}

/// Deletes card attempts past their retention, a batch per run.
async fn prune_card_attempts(store: &Store<'_>, report: &mut SweepReport) {
    let before = platform::now().0 - CardTestingConfig::RETENTION_MS;
    match store.prune_card_attempts(before, SWEEP_BATCH * 10).await {
        Ok(n) => report.card_attempts_pruned = n,
        Err(e) => worker::console_warn!("sweep: pruning card attempts failed: {}", e.code),
    }
}

async fn finish_notifications(store: &Store<'_>, cfg: &Config, report: &mut SweepReport) {
    let cutoff = platform::now().0 - NOTIFICATION_GRACE_MS;
    let pending = match store.notifications_left_received(cutoff, SWEEP_BATCH).await {
        Ok(rows) => rows,
        Err(e) => {
            worker::console_error!("sweep: listing notifications failed: {}", e.code);
            report.notifications_failed += 1;
            return;
        }
    };
    for n in pending {
        match finish_notification(store, cfg, &n).await {
            Ok(status) => {
                report.notifications_processed += 1;
                worker::console_log!("sweep: notification #{} -> {status}", n.id);
            }
            Err(r) => {
                report.notifications_failed += 1;
                worker::console_warn!(
                    "sweep: notification #{} not processed ({}): {}",
                    n.id,
                    r.status,
                    r.reason
                );
            }
        }
    }
}

/// Processes one left-over notification as its delivery would have.
async fn finish_notification(
    store: &Store<'_>,
    cfg: &Config,
    n: &LeftNotification,
) -> Result<&'static str, Refusal> {
    let row = NotificationRow {
        id: n.id,
        status: n.status.clone(),
    };
    let detail = json!({
        "notification_row": n.id,
        "dedupe_key": n.dedupe_key,
        "kind": n.kind,
        "object_type": n.object_type,
        "object_id": n.object_id,
        "swept": true,
    });
    match n.source.as_str() {
        "amazon_ipn" => {
            let (Some(amazon), Some(cp)) = (cfg.amazon.as_ref(), n.charge_permission_id.as_deref())
            else {
                return Err(refuse(
                    409,
                    "Amazon Pay is off or the row has no charge permission",
                ));
            };
            amazon_ipn::process_amazon(store, cfg, amazon, &row, cp, &detail).await
        }
        "gmo_result" => {
            let order = n.object_id.as_deref().unwrap_or("");
            match store.payment_by_gmo_order(order).await? {
                Some(payment) => gmo_result::process_gmo(store, cfg, &row, payment, &detail).await,
                None => {
                    store
                        .finish_notification(&row, "unmatched", None, &json!({}), platform::now().0)
                        .await?;
                    Ok("unmatched")
                }
            }
        }
        other => Err(refuse(409, format!("unknown notification source {other}"))),
    }
}
