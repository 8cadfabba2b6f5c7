//! `card_attempts`: every card POST that reached GMO's ExecTran (card-testing defence, #13).
//! A new attempt is reserved by one conditional `INSERT … SELECT … WHERE` so that concurrent
//! requests cannot pass the per-payment and per-IP limits together; the flow
//! (`flows::card_testing`) sets its outcome afterwards, or drops the reservation when the request
//! never reached ExecTran. Operators clear a payment's attempts or an IP's window (解除); the rows
//! stay, marked with who cleared them, and the clearing writes payment events.

use super::db::{Store, n, s};
use crate::http::ApiResult;
use serde::Deserialize;

/// Outcomes that count against an IP (a pending attempt counts until it is known to have paid).
const IP_FAILURES: &str = "outcome IN ('pending', 'declined', 'failed')";

/// The limits and window a reservation is checked against.
pub struct AttemptLimits {
    pub per_payment: u32,
    pub per_ip: u32,
    /// Failures at or before this instant no longer count against the IP.
    pub window_start: i64,
}

/// Where a payment and an IP stand against the limits.
#[derive(Debug, Deserialize)]
pub struct AttemptCounts {
    pub payment_attempts: i64,
    pub ip_failures: i64,
    /// The oldest failure of the IP still in the window.
    pub ip_oldest: Option<i64>,
}

#[derive(Deserialize)]
struct IdRow {
    id: i64,
}

/// A locked payment in the console's 不正検知 list.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct LockedPayment {
    pub payment_id: String,
    pub order_id: Option<String>,
    pub attempts: i64,
    pub last_at: i64,
    pub last_ip: Option<String>,
}

/// An IP over its failure limit in the console's 不正検知 list.
#[derive(Debug, Deserialize, serde::Serialize)]
pub struct BlockedIp {
    pub ip: String,
    pub failures: i64,
    pub payments: i64,
    pub first_at: i64,
    pub last_at: i64,
}

impl Store<'_> {
    /// Reserves an attempt for `payment_id` from `ip` if both are under their limits; the
    /// attempt's id, or `None` when a limit is reached (ask [`Store::attempt_counts`] which).
    pub async fn reserve_card_attempt(
        &self,
        payment_id: &str,
        ip: &str,
        now: i64,
        limits: &AttemptLimits,
    ) -> ApiResult<Option<i64>> {
        let sql = format!(
            "INSERT INTO card_attempts (payment_id, ip, at, outcome) \
             SELECT ?1, ?2, ?3, 'pending' WHERE \
             (SELECT COUNT(*) FROM card_attempts WHERE payment_id = ?1 AND payment_cleared_at IS NULL AND outcome <> 'paid') < ?4 \
             AND (SELECT COUNT(*) FROM card_attempts WHERE ip = ?2 AND at > ?5 AND ip_cleared_at IS NULL AND {IP_FAILURES}) < ?6 \
             RETURNING id"
        );
        let row: Option<IdRow> = self
            .first(
                &sql,
                &[
                    s(payment_id),
                    s(ip),
                    n(now),
                    n(i64::from(limits.per_payment)),
                    n(limits.window_start),
                    n(i64::from(limits.per_ip)),
                ],
            )
            .await?;
        Ok(row.map(|r| r.id))
    }

    /// The payment's counted attempts and the IP's failures in the window.
    pub async fn attempt_counts(
        &self,
        payment_id: &str,
        ip: &str,
        window_start: i64,
    ) -> ApiResult<AttemptCounts> {
        let sql = format!(
            "SELECT \
             (SELECT COUNT(*) FROM card_attempts WHERE payment_id = ?1 AND payment_cleared_at IS NULL AND outcome <> 'paid') AS payment_attempts, \
             (SELECT COUNT(*) FROM card_attempts WHERE ip = ?2 AND at > ?3 AND ip_cleared_at IS NULL AND {IP_FAILURES}) AS ip_failures, \
             (SELECT MIN(at) FROM card_attempts WHERE ip = ?2 AND at > ?3 AND ip_cleared_at IS NULL AND {IP_FAILURES}) AS ip_oldest"
        );
        let counts: Option<AttemptCounts> = self
            .first(&sql, &[s(payment_id), s(ip), n(window_start)])
            .await?;
        Ok(counts.unwrap_or(AttemptCounts {
            payment_attempts: 0,
            ip_failures: 0,
            ip_oldest: None,
        }))
    }

    /// Records what a reserved attempt came to.
    pub async fn finish_card_attempt(&self, id: i64, outcome: &str) -> ApiResult<()> {
        self.run(
            "UPDATE card_attempts SET outcome = ?2 WHERE id = ?1",
            &[n(id), s(outcome)],
        )
        .await?;
        Ok(())
    }

    /// Records what the payment's latest attempt came to once its open outcome (3-D Secure at
    /// the issuer, unknown, or left pending) is settled; an attempt already settled stays as it
    /// is, so a replayed return or a second sweep changes nothing.
    pub async fn settle_open_card_attempt(&self, payment_id: &str, outcome: &str) -> ApiResult<()> {
        self.run(
            "UPDATE card_attempts SET outcome = ?2 WHERE id =              (SELECT id FROM card_attempts WHERE payment_id = ?1 ORDER BY id DESC LIMIT 1)              AND outcome IN ('three_d_secure', 'unknown', 'pending')",
            &[s(payment_id), s(outcome)],
        )
        .await?;
        Ok(())
    }

    /// Deletes up to `limit` attempts made before `before`, except those that still lock an open
    /// payment (not paid, not cleared, the payment awaiting payment); how many went.
    pub async fn prune_card_attempts(&self, before: i64, limit: i64) -> ApiResult<usize> {
        let stmt = self.stmt(
            "DELETE FROM card_attempts WHERE id IN (SELECT a.id FROM card_attempts a              LEFT JOIN payments p ON p.id = a.payment_id WHERE a.at < ?1 AND              (a.outcome = 'paid' OR a.payment_cleared_at IS NOT NULL OR p.id IS NULL OR p.state <> 'requires_payment')              ORDER BY a.id LIMIT ?2)",
            &[n(before), n(limit)],
        )?;
        let results = self.db.batch(vec![stmt]).await.map_err(super::db::d1)?;
        Ok(results.first().map(super::db::changes).unwrap_or(0))
    }

    /// Drops a reservation whose request never reached ExecTran.
    pub async fn drop_card_attempt(&self, id: i64) -> ApiResult<()> {
        self.run("DELETE FROM card_attempts WHERE id = ?1", &[n(id)])
            .await?;
        Ok(())
    }

    /// Payments with at least `per_payment` counted attempts, the latest first.
    pub async fn locked_payments(&self, per_payment: u32) -> ApiResult<Vec<LockedPayment>> {
        self.all(
            "SELECT a.payment_id AS payment_id, p.order_id AS order_id, COUNT(*) AS attempts, MAX(a.at) AS last_at, \
             (SELECT b.ip FROM card_attempts b WHERE b.payment_id = a.payment_id ORDER BY b.at DESC, b.id DESC LIMIT 1) AS last_ip \
             FROM card_attempts a LEFT JOIN payments p ON p.id = a.payment_id \
             WHERE a.payment_cleared_at IS NULL AND a.outcome <> 'paid' \
             GROUP BY a.payment_id HAVING COUNT(*) >= ?1 ORDER BY last_at DESC LIMIT 200",
            &[n(i64::from(per_payment))],
        )
        .await
    }

    /// IPs with at least `per_ip` failures in the window, the latest first.
    pub async fn blocked_ips(&self, per_ip: u32, window_start: i64) -> ApiResult<Vec<BlockedIp>> {
        let sql = format!(
            "SELECT ip, COUNT(*) AS failures, COUNT(DISTINCT payment_id) AS payments, MIN(at) AS first_at, MAX(at) AS last_at \
             FROM card_attempts WHERE at > ?1 AND ip_cleared_at IS NULL AND {IP_FAILURES} \
             GROUP BY ip HAVING COUNT(*) >= ?2 ORDER BY last_at DESC LIMIT 200"
        );
        self.all(&sql, &[n(window_start), n(i64::from(per_ip))])
            .await
    }

    /// Clears the payment's counted attempts (解除) and records it in its history; how many
    /// attempts were cleared.
    pub async fn clear_payment_attempts(
        &self,
        payment_id: &str,
        now: i64,
        actor: &str,
    ) -> ApiResult<usize> {
        let update = self.stmt(
            "UPDATE card_attempts SET payment_cleared_at = ?2, payment_cleared_by = ?3 \
             WHERE payment_id = ?1 AND payment_cleared_at IS NULL AND outcome <> 'paid'",
            &[s(payment_id), n(now), s(actor)],
        )?;
        let event = self.stmt(
            "INSERT INTO payment_events (payment_id, at, actor, kind, detail) \
             SELECT ?1, ?2, ?3, 'card_attempts_unlocked', json_object('attempts', changes()) \
             WHERE changes() > 0 AND EXISTS (SELECT 1 FROM payments WHERE id = ?1)",
            &[s(payment_id), n(now), s(actor)],
        )?;
        let results = self
            .db
            .batch(vec![update, event])
            .await
            .map_err(super::db::d1)?;
        Ok(results.first().map(super::db::changes).unwrap_or(0))
    }

    /// Clears the IP's failures in the window (解除) and records it in the history of every
    /// payment they were made on; how many failures were cleared.
    pub async fn clear_ip_failures(
        &self,
        ip: &str,
        window_start: i64,
        now: i64,
        actor: &str,
    ) -> ApiResult<usize> {
        let update = self.stmt(
            &format!(
                "UPDATE card_attempts SET ip_cleared_at = ?3, ip_cleared_by = ?4 \
                 WHERE ip = ?1 AND at > ?2 AND ip_cleared_at IS NULL AND {IP_FAILURES}"
            ),
            &[s(ip), n(window_start), n(now), s(actor)],
        )?;
        let events = self.stmt(
            "INSERT INTO payment_events (payment_id, at, actor, kind, detail) \
             SELECT DISTINCT a.payment_id, ?3, ?4, 'card_ip_unlocked', json_object('ip', ?1) \
             FROM card_attempts a JOIN payments p ON p.id = a.payment_id \
             WHERE a.ip = ?1 AND a.ip_cleared_at = ?3 AND a.ip_cleared_by = ?4",
            &[s(ip), n(window_start), n(now), s(actor)],
        )?;
        let results = self
            .db
            .batch(vec![update, events])
            .await
            .map_err(super::db::d1)?;
        Ok(results.first().map(super::db::changes).unwrap_or(0))
    }
}
