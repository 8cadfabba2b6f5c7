//! The Cron Trigger (issue #4): payments left with an open outcome are settled with the gateway
//! that holds them, so nothing stays 結果不明 just because nobody came back for it (the
//! shopper closed the tab, the operator never pressed 再照会).
//!
//! Each run takes the oldest few `unknown` payments and `processing` ones whose lease has run
//! out (the request that held it died), and reconciles each exactly as an operator's 再照会
//! would (`crate::reconcile_any`): ask first (SearchTrade / Get Checkout Session / Get Charge),
//! never repeat a charge. A payment the gateway still cannot tell about stays `unknown` for the
//! next run. Failures are logged per payment (ids and codes only) and never stop the run.

use crate::config::Config;
use crate::store::Store;
use crate::{platform, reconcile_any};
use kessai_core::payment::PaymentState;

/// Payments one run settles at most. Each costs one or two gateway calls plus a few D1 queries;
/// 25 keeps a run well inside the Workers subrequest and CPU limits. Older ones go first, and
/// what is left waits for the next run (every 5 minutes).
pub const SWEEP_BATCH: i64 = 25;

/// What one run did (its log line).
#[derive(Default)]
pub struct SweepReport {
    pub examined: usize,
    pub settled: usize,
    pub still_open: usize,
    pub failed: usize,
}

pub async fn run(store: &Store<'_>, cfg: &Config) -> SweepReport {
    let now = platform::now().0;
    let mut report = SweepReport::default();
    let rows = match store.open_outcomes(now, SWEEP_BATCH).await {
        Ok(rows) => rows,
        Err(e) => {
            worker::console_error!("sweep: listing open outcomes failed: {}", e.code);
            report.failed = 1;
            return report;
        }
    };
    for row in rows {
        report.examined += 1;
        let id = row.id.clone();
        match reconcile_any(store, cfg, row).await.and_then(|r| r.state()) {
            Ok(state @ (PaymentState::Unknown | PaymentState::Processing)) => {
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
    report
}
