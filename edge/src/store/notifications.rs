//! `notifications`: gateway notifications (Amazon IPN, GMO 結果通知), each recorded once under a
//! UNIQUE dedupe key before it is processed, so a redelivery is recognised and nothing is lost
//! when processing fails (the row stays `received` for the next delivery or the Cron sweep).

use super::db::{Store, changes, d1, n, opt, s};
use super::events::Event;
use super::payments::PaymentRow;
use crate::http::{ApiError, ApiResult};
use kessai_core::payment::PaymentState;
use serde::Deserialize;
use serde_json::Value;
use worker::D1PreparedStatement;

/// A notification's row: its id and status (`received`, `applied`, `unchanged`, `unmatched`, …).
#[derive(Debug, Deserialize)]
pub struct NotificationRow {
    pub id: i64,
    pub status: String,
}

/// What a new notification row says (ids and states only).
pub struct NewNotification<'a> {
    pub source: &'a str,
    pub dedupe_key: &'a str,
    pub message_id: Option<&'a str>,
    pub kind: &'a str,
    pub object_type: Option<&'a str>,
    pub object_id: Option<&'a str>,
    pub charge_permission_id: Option<&'a str>,
}

/// A notification row left `received` (ids only), for the Cron sweep to finish.
#[derive(Debug, Deserialize)]
pub struct LeftNotification {
    pub id: i64,
    pub status: String,
    pub source: String,
    pub dedupe_key: String,
    pub kind: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub charge_permission_id: Option<String>,
}

impl Store<'_> {
    /// Records the notification once; returns its row (new or from an earlier delivery).
    pub async fn record_notification(
        &self,
        new: &NewNotification<'_>,
        now: i64,
    ) -> ApiResult<NotificationRow> {
        // One round trip (#17): the insert and the read of its row in one batch, in this order.
        self.batch_last_first(self.record_stmts(new, now)?)
            .await?
            .ok_or_else(|| ApiError::internal("notification row vanished"))
    }

    /// An Amazon IPN recorded once, as [`Store::record_notification`], and its payment looked up
    /// as [`Store::payment_for_amazon_ipn`] does (the charge's payment first, then the charge
    /// permission's), all in one batch: one round trip instead of two (#17). Both depend only on
    /// the verified message; for a redelivery the payment read is not used.
    pub async fn record_amazon_ipn(
        &self,
        new: &NewNotification<'_>,
        now: i64,
        charge_id: Option<&str>,
        charge_permission_id: &str,
    ) -> ApiResult<(NotificationRow, Option<PaymentRow>)> {
        let mut stmts = self.record_stmts(new, now)?;
        if let Some(charge_id) = charge_id {
            stmts.push(self.stmt(
                "SELECT * FROM payments WHERE amazon_charge_id = ?1 LIMIT 1",
                &[s(charge_id)],
            )?);
        }
        stmts.push(self.stmt(
            "SELECT * FROM payments WHERE amazon_charge_permission_id = ?1 LIMIT 1",
            &[s(charge_permission_id)],
        )?);
        let results = self.db.batch(stmts).await.map_err(d1)?;
        let mut results = results.into_iter().skip(1);
        let row = match results.next() {
            Some(read) => read
                .results::<NotificationRow>()
                .map_err(d1)?
                .into_iter()
                .next(),
            None => None,
        }
        .ok_or_else(|| ApiError::internal("notification row vanished"))?;
        for lookup in results {
            if let Some(payment) = lookup
                .results::<PaymentRow>()
                .map_err(d1)?
                .into_iter()
                .next()
            {
                return Ok((row, Some(payment)));
            }
        }
        Ok((row, None))
    }

    /// The insert (ignored for a redelivery) and the read of a notification's row, in this order.
    fn record_stmts(
        &self,
        new: &NewNotification<'_>,
        now: i64,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let insert = self.stmt(
            "INSERT OR IGNORE INTO notifications (source, dedupe_key, message_id, kind, object_type, object_id, \
               charge_permission_id, status, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'received', ?8)",
            &[
                s(new.source),
                s(new.dedupe_key),
                opt(new.message_id),
                s(new.kind),
                opt(new.object_type),
                opt(new.object_id),
                opt(new.charge_permission_id),
                n(now),
            ],
        )?;
        let read = self.stmt(
            "SELECT id, status FROM notifications WHERE dedupe_key = ?1",
            &[s(new.dedupe_key)],
        )?;
        Ok(vec![insert, read])
    }

    /// Ends a `received` notification with its `status` and what it did.
    pub async fn finish_notification(
        &self,
        row: &NotificationRow,
        status: &str,
        payment_id: Option<&str>,
        outcome: &Value,
        now: i64,
    ) -> ApiResult<()> {
        self.finish_stmt(row, status, payment_id, outcome, now, "")?
            .run()
            .await
            .map_err(d1)?;
        Ok(())
    }

    /// The update that ends a `received` notification; `also`: an extra SQL condition.
    fn finish_stmt(
        &self,
        row: &NotificationRow,
        status: &str,
        payment_id: Option<&str>,
        outcome: &Value,
        now: i64,
        also: &str,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            &format!(
                "UPDATE notifications SET status = ?1, payment_id = ?2, outcome = ?3, processed_at = ?4 \
                 WHERE id = ?5 AND status = 'received'{also}"
            ),
            &[
                s(status),
                opt(payment_id),
                s(&outcome.to_string()),
                n(now),
                n(row.id),
            ],
        )
    }

    /// Ends a notification that changed nothing: the payment's history line (`kind`, no state
    /// change) and the notification's outcome in one batch (#17: one round trip, not two).
    #[allow(clippy::too_many_arguments)]
    pub async fn finish_notification_noting(
        &self,
        row: &NotificationRow,
        status: &str,
        payment_id: &str,
        outcome: &Value,
        kind: &str,
        note: &Value,
        now: i64,
    ) -> ApiResult<()> {
        let stmts = vec![
            self.note_event_stmt(payment_id, now, kind, note)?,
            self.finish_stmt(row, status, Some(payment_id), outcome, now, "")?,
        ];
        self.db.batch(stmts).await.map_err(d1)?;
        Ok(())
    }

    /// A payment's compare-and-set with its event ([`Store::transition`]) that also ends the
    /// notification which caused it as `status` with `outcome`, in the same batch and only if
    /// the compare-and-set won (#17: one round trip, not two). A lost one writes nothing and
    /// leaves the notification `received`.
    #[allow(clippy::too_many_arguments)]
    pub async fn transition_finishing(
        &self,
        next: &PaymentRow,
        from: PaymentState,
        to: PaymentState,
        now: i64,
        ev: &Event<'_>,
        notification: &NotificationRow,
        status: &str,
        outcome: &Value,
    ) -> ApiResult<bool> {
        let mut stmts = self.transition_stmts(next, from, to, now, &[(from, to, ev)])?;
        // After the event, which is written only if the compare-and-set was.
        stmts.push(self.finish_stmt(
            notification,
            status,
            Some(&next.id),
            outcome,
            now,
            " AND changes() = 1",
        )?);
        let res = self.db.batch(stmts).await.map_err(d1)?;
        Ok(res.first().map(changes) == Some(1))
    }

    /// Gateway notifications still `received` (their processing failed and the redeliveries
    /// ran out) that arrived at or before `cutoff`, oldest first (the Cron sweep).
    pub async fn notifications_left_received(
        &self,
        cutoff: i64,
        limit: i64,
    ) -> ApiResult<Vec<LeftNotification>> {
        self.all(
            "SELECT id, status, source, dedupe_key, kind, object_type, object_id, charge_permission_id \
             FROM notifications WHERE status = 'received' AND received_at <= ?1 \
             ORDER BY received_at LIMIT ?2",
            &[n(cutoff), n(limit)],
        )
        .await
    }
}
