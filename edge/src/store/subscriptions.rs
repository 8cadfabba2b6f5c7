//! `subscriptions` and `subscription_events` (定期購入, #15). The rules' state is
//! `kessai_core::subscription::Subscription`, kept whole as JSON in `model`; `status` and `due_on`
//! repeat what the cron and the lists query. Every change is a compare-and-set on `version`,
//! batched with the event that records it, so a lost race writes nothing.

use super::db::{Store, changes, d1, n, opt, s};
use crate::http::{ApiError, ApiResult};
use kessai_core::subscription::{Subscription, SubscriptionStatus};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionRow {
    pub id: String,
    pub customer_id: String,
    pub model: String,
    /// (`status` is a column for queries; the model's status is the one read.)
    pub due_on: Option<String>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// When Amazon confirmed closing a cancelled subscription's charge permission (0014).
    #[serde(default)]
    pub source_closed_at: Option<i64>,
    /// The newest attempt's payment state and error code (only the console's list reads them:
    /// 前回の課金).
    #[serde(default)]
    pub last_charge_state: Option<String>,
    #[serde(default)]
    pub last_charge_error: Option<String>,
}

impl SubscriptionRow {
    /// The rules' view of the row; a row that no longer reads is an internal error, never a guess.
    pub fn subscription(&self) -> ApiResult<Subscription> {
        serde_json::from_str(&self.model)
            .map_err(|_| ApiError::internal("unreadable subscription in D1"))
    }
}

/// One line of a subscription's history.
pub struct SubscriptionEvent<'a> {
    pub actor: &'a str,
    pub kind: &'a str,
    pub detail: Value,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SubscriptionEventRow {
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub detail: String,
}

/// What the cron and the lists query, derived from the model: the status and, while 有効, the
/// JST date of the next attempt.
fn columns(sub: &Subscription) -> (String, Option<String>) {
    let due = match sub.status {
        SubscriptionStatus::Active => Some(match sub.dunning {
            None => Some(sub.next_charge_on),
            Some(d) => d.next_attempt_on,
        }),
        SubscriptionStatus::Paused | SubscriptionStatus::Unpaid | SubscriptionStatus::Cancelled => {
            None
        }
    };
    (
        sub.status.as_str().to_string(),
        due.flatten().map(|d| d.to_string()),
    )
}

fn model_json(sub: &Subscription) -> ApiResult<String> {
    serde_json::to_string(sub).map_err(|_| ApiError::internal("subscription JSON"))
}

impl Store<'_> {
    fn subscription_event_stmt(
        &self,
        id: &str,
        now: i64,
        ev: &SubscriptionEvent<'_>,
    ) -> ApiResult<worker::D1PreparedStatement> {
        // Written only when the statement before it changed a row.
        self.stmt(
            "INSERT INTO subscription_events (subscription_id, at, actor, kind, detail) \
             SELECT ?1, ?2, ?3, ?4, ?5 WHERE changes() = 1",
            &[
                s(id),
                n(now),
                s(ev.actor),
                s(ev.kind),
                s(&ev.detail.to_string()),
            ],
        )
    }

    pub async fn insert_subscription(
        &self,
        id: &str,
        customer_id: &str,
        sub: &Subscription,
        now: i64,
        ev: &SubscriptionEvent<'_>,
    ) -> ApiResult<()> {
        let (status, due_on) = columns(sub);
        let insert = self.stmt(
            "INSERT INTO subscriptions (id, customer_id, model, status, due_on, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            &[s(id), s(customer_id), s(&model_json(sub)?), s(&status), opt(due_on.as_deref()), n(now)],
        )?;
        let event = self.subscription_event_stmt(id, now, ev)?;
        self.db.batch(vec![insert, event]).await.map_err(d1)?;
        Ok(())
    }

    /// A 定期購入 sign-up's subscription and its tag on the sign-up payment, in one batch; set up
    /// once (`id` is derived from the payment's): `Ok(false)` when it already exists.
    pub async fn insert_sign_up(
        &self,
        id: &str,
        customer_id: &str,
        sub: &Subscription,
        payment_id: &str,
        now: i64,
        ev: &SubscriptionEvent<'_>,
    ) -> ApiResult<bool> {
        let (status, due_on) = columns(sub);
        let insert = self.stmt(
            "INSERT INTO subscriptions (id, customer_id, model, status, due_on, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT(id) DO NOTHING",
            &[s(id), s(customer_id), s(&model_json(sub)?), s(&status), opt(due_on.as_deref()), n(now)],
        )?;
        let event = self.subscription_event_stmt(id, now, ev)?;
        let tag = self.stmt(
            "UPDATE payments SET subscription_id = ?2 WHERE id = ?1 AND subscription_id IS NULL",
            &[s(payment_id), s(id)],
        )?;
        let res = self.db.batch(vec![insert, event, tag]).await.map_err(d1)?;
        Ok(res.first().map(changes) == Some(1))
    }

    /// Sign-up payments whose subscription is not set up yet (the sweep's safety net), oldest
    /// first.
    pub async fn pending_sign_ups(&self, limit: i64) -> ApiResult<Vec<crate::store::PaymentRow>> {
        self.all(
            "SELECT * FROM payments WHERE subscription_plan IS NOT NULL AND subscription_id IS NULL \
             AND state IN ('authorized', 'captured', 'verified') \
             AND NOT EXISTS (SELECT 1 FROM payment_events e WHERE e.payment_id = payments.id \
                             AND e.kind = 'subscription_sign_up_failed') \
             ORDER BY updated_at LIMIT ?1",
            &[n(limit)],
        )
        .await
    }

    /// Cancelled subscriptions whose Amazon charge permission is not closed yet.
    pub async fn charge_permissions_to_close(&self, limit: i64) -> ApiResult<Vec<SubscriptionRow>> {
        self.all(
            "SELECT * FROM subscriptions WHERE status = 'cancelled' AND source_closed_at IS NULL \
             AND json_extract(model, '$.source.type') = 'amazon_charge_permission' ORDER BY updated_at LIMIT ?1",
            &[n(limit)],
        )
        .await
    }

    /// Amazon confirmed the charge permission closed.
    pub async fn mark_source_closed(
        &self,
        id: &str,
        now: i64,
        ev: &SubscriptionEvent<'_>,
    ) -> ApiResult<()> {
        let update = self.stmt(
            "UPDATE subscriptions SET source_closed_at = ?2 WHERE id = ?1 AND source_closed_at IS NULL",
            &[s(id), n(now)],
        )?;
        let event = self.subscription_event_stmt(id, now, ev)?;
        self.db.batch(vec![update, event]).await.map_err(d1)?;
        Ok(())
    }

    /// The subscriptions charged on an Amazon charge permission.
    pub async fn subscriptions_on_permission(
        &self,
        charge_permission_id: &str,
    ) -> ApiResult<Vec<SubscriptionRow>> {
        self.all(
            "SELECT * FROM subscriptions WHERE json_extract(model, '$.source.charge_permission_id') = ?1 LIMIT 10",
            &[s(charge_permission_id)],
        )
        .await
    }

    /// Every payment on an Amazon charge permission (for its monthly cap), newest first.
    pub async fn payments_of_charge_permission(
        &self,
        charge_permission_id: &str,
    ) -> ApiResult<Vec<crate::store::PaymentRow>> {
        self.all(
            "SELECT * FROM payments WHERE amazon_charge_permission_id = ?1 ORDER BY created_at DESC LIMIT 200",
            &[s(charge_permission_id)],
        )
        .await
    }

    pub async fn subscription(&self, id: &str) -> ApiResult<Option<SubscriptionRow>> {
        self.first("SELECT * FROM subscriptions WHERE id = ?1", &[s(id)])
            .await
    }

    /// The customer's subscriptions, newest first.
    pub async fn subscriptions_of(&self, customer_id: &str) -> ApiResult<Vec<SubscriptionRow>> {
        self.all(
            "SELECT * FROM subscriptions WHERE customer_id = ?1 ORDER BY created_at DESC, id DESC LIMIT 100",
            &[s(customer_id)],
        )
        .await
    }

    /// Every subscription, or those in `status`, newest first (the console's 定期購入 list).
    pub async fn subscriptions_by_status(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> ApiResult<Vec<SubscriptionRow>> {
        self.all(
            "SELECT s.*, \
               (SELECT p.state FROM payments p WHERE p.subscription_id = s.id ORDER BY p.created_at DESC, p.rowid DESC LIMIT 1) AS last_charge_state, \
               (SELECT p.last_error_code FROM payments p WHERE p.subscription_id = s.id ORDER BY p.created_at DESC, p.rowid DESC LIMIT 1) AS last_charge_error \
             FROM subscriptions s WHERE (?1 IS NULL OR s.status = ?1) \
             ORDER BY s.created_at DESC, s.id DESC LIMIT ?2",
            &[opt(status), n(limit)],
        )
        .await
    }

    /// 有効 subscriptions with an attempt due on or before `today` (`YYYY-MM-DD`), oldest first.
    pub async fn due_subscriptions(
        &self,
        today: &str,
        limit: i64,
    ) -> ApiResult<Vec<SubscriptionRow>> {
        self.all(
            "SELECT * FROM subscriptions WHERE due_on IS NOT NULL AND due_on <= ?1 \
             ORDER BY due_on, id LIMIT ?2",
            &[s(today), n(limit)],
        )
        .await
    }

    /// Compare-and-set of the model from `row.version`, with its event. `Ok(false)`: someone
    /// else changed it first (nothing written).
    pub async fn update_subscription(
        &self,
        row: &SubscriptionRow,
        next: &Subscription,
        now: i64,
        ev: &SubscriptionEvent<'_>,
    ) -> ApiResult<bool> {
        let (status, due_on) = columns(next);
        let update = self.stmt(
            "UPDATE subscriptions SET model = ?3, status = ?4, due_on = ?5, version = version + 1, updated_at = ?6 \
             WHERE id = ?1 AND version = ?2",
            &[s(&row.id), n(row.version), s(&model_json(next)?), s(&status), opt(due_on.as_deref()), n(now)],
        )?;
        let event = self.subscription_event_stmt(&row.id, now, ev)?;
        let res = self.db.batch(vec![update, event]).await.map_err(d1)?;
        Ok(res.first().map(changes) == Some(1))
    }

    /// [`Store::update_subscription`]'s statements, to ride in the batch that settles the
    /// attempt's payment `payment_id` (#17, [`crate::store::PaidRider`]): the compare-and-set from
    /// `row.version` also requires the payment to be paid (仮売上, 実売上 or 確認済み) when it
    /// runs, after the settle in the same transaction; the event only if it wrote.
    pub fn subscription_cas_if_paid(
        &self,
        row: &SubscriptionRow,
        next: &Subscription,
        payment_id: &str,
        now: i64,
        ev: &SubscriptionEvent<'_>,
    ) -> ApiResult<Vec<worker::D1PreparedStatement>> {
        let (status, due_on) = columns(next);
        let update = self.stmt(
            "UPDATE subscriptions SET model = ?3, status = ?4, due_on = ?5, version = version + 1, updated_at = ?6 \
             WHERE id = ?1 AND version = ?2 AND EXISTS (SELECT 1 FROM payments WHERE id = ?7 \
               AND state IN ('authorized', 'captured', 'verified'))",
            &[s(&row.id), n(row.version), s(&model_json(next)?), s(&status), opt(due_on.as_deref()), n(now), s(payment_id)],
        )?;
        let event = self.subscription_event_stmt(&row.id, now, ev)?;
        Ok(vec![update, event])
    }

    pub async fn subscription_events(&self, id: &str) -> ApiResult<Vec<SubscriptionEventRow>> {
        self.all(
            "SELECT at, actor, kind, detail FROM subscription_events WHERE subscription_id = ?1 ORDER BY id",
            &[s(id)],
        )
        .await
    }

    /// Every attempt's payment of a subscription, newest first.
    pub async fn payments_of_subscription(
        &self,
        subscription_id: &str,
    ) -> ApiResult<Vec<crate::store::PaymentRow>> {
        self.all(
            "SELECT * FROM payments WHERE subscription_id = ?1 ORDER BY created_at DESC, rowid DESC LIMIT 200",
            &[s(subscription_id)],
        )
        .await
    }
}
