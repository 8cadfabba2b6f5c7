//! D1 repository. Every state change is a compare-and-set on `version`, batched with the event
//! that records it (`INSERT … SELECT … WHERE changes() = 1`), so a lost race writes no event.

use crate::http::{ApiError, ApiResult};
use kessai_core::payment::{CaptureMode, PaymentState};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PaymentRow {
    pub id: String,
    pub client_secret: String,
    pub order_id: String,
    pub amount: i64,
    pub currency: String,
    pub method: String,
    pub capture_mode: String,
    pub state: String,
    pub version: i64,
    pub lease_until: Option<i64>,
    pub attempt_started_at: Option<i64>,
    pub gmo_order_id: String,
    pub gmo_attempt: i64,
    pub gmo_access_id: Option<String>,
    pub gmo_access_pass: Option<String>,
    pub gmo_tran_id: Option<String>,
    pub gmo_approve: Option<String>,
    pub gmo_forward: Option<String>,
    pub gmo_tran_date: Option<String>,
    pub card_mask: Option<String>,
    pub last_error_code: Option<String>,
    pub last_error_info: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub authorized_at: Option<i64>,
    // Amazon Pay (migration 0002).
    #[serde(default)]
    pub amazon_checkout_session_id: Option<String>,
    #[serde(default)]
    pub amazon_charge_id: Option<String>,
    #[serde(default)]
    pub amazon_charge_permission_id: Option<String>,
    #[serde(default)]
    pub amazon_buyer_id: Option<String>,
    #[serde(default)]
    pub amazon_buyer_name: Option<String>,
    #[serde(default)]
    pub amazon_buyer_email: Option<String>,
    /// JSON of the shipping address Amazon reported.
    #[serde(default)]
    pub shipping_address: Option<String>,
    /// The storefront page an Amazon flow ends on (on an allowed origin, checked when stored).
    #[serde(default)]
    pub return_url: Option<String>,
    // Operations (migration 0003); NULL until an operation (or a flow that knows them) sets them.
    #[serde(default)]
    pub authorized_amount: Option<i64>,
    #[serde(default)]
    pub captured_amount: Option<i64>,
    #[serde(default)]
    pub refunded_amount: Option<i64>,
    #[serde(default)]
    pub first_authorized_at: Option<i64>,
    #[serde(default)]
    pub gmo_status: Option<String>,
    /// The customer's name as the storefront sent it (migration 0004).
    #[serde(default)]
    pub customer_name: Option<String>,
}

impl PaymentRow {
    pub fn state(&self) -> ApiResult<PaymentState> {
        PaymentState::parse(&self.state).ok_or_else(|| ApiError::internal("unknown state in D1"))
    }
    pub fn capture(&self) -> ApiResult<CaptureMode> {
        CaptureMode::parse(&self.capture_mode)
            .ok_or_else(|| ApiError::internal("unknown capture mode in D1"))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub detail: String,
}

/// One appended history line.
/// Who holds a payment after [`Store::claim_processing`].
pub enum Claim {
    /// We moved it into `processing` (the row as stored now).
    Won(PaymentRow),
    /// Someone else changed the payment first; this is its current row.
    Lost(PaymentRow),
}

pub struct Event<'a> {
    pub actor: &'a str,
    pub kind: &'a str,
    pub detail: Value,
}

pub(crate) fn d1(e: worker::Error) -> ApiError {
    ApiError::internal(&format!("D1: {e}"))
}

pub(crate) fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}
pub(crate) fn n(v: i64) -> JsValue {
    JsValue::from_f64(v as f64)
}
fn opt(v: &Option<String>) -> JsValue {
    v.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL)
}

pub struct Store<'a> {
    pub db: &'a D1Database,
}

pub struct NewPayment<'a> {
    pub id: &'a str,
    pub client_secret: &'a str,
    pub order_id: &'a str,
    pub amount: i64,
    pub capture: CaptureMode,
    pub gmo_order_id: &'a str,
    pub now: i64,
    pub customer_name: Option<&'a str>,
}

impl Store<'_> {
    fn stmt(&self, sql: &str, args: &[JsValue]) -> ApiResult<D1PreparedStatement> {
        self.db.prepare(sql).bind(args).map_err(d1)
    }

    fn event_stmt(
        &self,
        payment_id: &str,
        at: i64,
        from: Option<PaymentState>,
        to: Option<PaymentState>,
        ev: &Event<'_>,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            "INSERT INTO payment_events (payment_id, at, actor, kind, from_state, to_state, detail) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE changes() = 1",
            &[
                s(payment_id),
                n(at),
                s(ev.actor),
                s(ev.kind),
                from.map(|x| s(x.as_str())).unwrap_or(JsValue::NULL),
                to.map(|x| s(x.as_str())).unwrap_or(JsValue::NULL),
                s(&ev.detail.to_string()),
            ],
        )
    }

    /// Inserts a payment and its `created` event. `Ok(false)` when the order already has one.
    pub async fn insert_payment(&self, p: &NewPayment<'_>, ev: &Event<'_>) -> ApiResult<bool> {
        let insert = self.stmt(
            "INSERT INTO payments (id, client_secret, order_id, amount, capture_mode, state, gmo_order_id, created_at, updated_at, customer_name) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'requires_payment', ?6, ?7, ?7, ?8) ON CONFLICT(order_id) DO NOTHING",
            &[s(p.id), s(p.client_secret), s(p.order_id), n(p.amount), s(p.capture.as_str()), s(p.gmo_order_id), n(p.now),
              p.customer_name.map(JsValue::from_str).unwrap_or(JsValue::NULL)],
        )?;
        let event = self.event_stmt(p.id, p.now, None, Some(PaymentState::RequiresPayment), ev)?;
        let res = self.db.batch(vec![insert, event]).await.map_err(d1)?;
        let changed = res
            .first()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok(changed == 1)
    }

    pub async fn payment(&self, id: &str) -> ApiResult<Option<PaymentRow>> {
        self.stmt("SELECT * FROM payments WHERE id = ?1", &[s(id)])?
            .first::<PaymentRow>(None)
            .await
            .map_err(d1)
    }

    /// A payment the caller names: 404 when it does not exist.
    pub async fn existing_payment(&self, id: &str) -> ApiResult<PaymentRow> {
        self.payment(id)
            .await?
            .ok_or_else(|| ApiError::not_found("payment"))
    }

    pub async fn payment_by_order(&self, order_id: &str) -> ApiResult<Option<PaymentRow>> {
        self.stmt("SELECT * FROM payments WHERE order_id = ?1", &[s(order_id)])?
            .first::<PaymentRow>(None)
            .await
            .map_err(d1)
    }

    /// Payments whose outcome is open and nobody is working on: `unknown`, or `processing` with
    /// a lease that has run out. Oldest first (the Cron sweep, [`crate::sweep`]).
    pub async fn open_outcomes(&self, now: i64, limit: i64) -> ApiResult<Vec<PaymentRow>> {
        self.stmt(
            "SELECT * FROM payments WHERE state = 'unknown' \
             OR (state = 'processing' AND (lease_until IS NULL OR lease_until <= ?1)) \
             ORDER BY updated_at LIMIT ?2",
            &[n(now), n(limit)],
        )?
        .all()
        .await
        .map_err(d1)?
        .results::<PaymentRow>()
        .map_err(d1)
    }

    /// Gateway notifications still `received` (their processing failed and the redeliveries
    /// ran out) that arrived at or before `cutoff`, oldest first (the Cron sweep).
    pub async fn notifications_left_received(
        &self,
        cutoff: i64,
        limit: i64,
    ) -> ApiResult<Vec<LeftNotification>> {
        self.stmt(
            "SELECT id, status, source, dedupe_key, kind, object_type, object_id, charge_permission_id \
             FROM notifications WHERE status = 'received' AND received_at <= ?1 \
             ORDER BY received_at LIMIT ?2",
            &[n(cutoff), n(limit)],
        )?
        .all()
        .await
        .map_err(d1)?
        .results::<LeftNotification>()
        .map_err(d1)
    }

    pub async fn events(&self, payment_id: &str) -> ApiResult<Vec<EventRow>> {
        self.stmt(
            "SELECT id, at, actor, kind, from_state, to_state, detail FROM payment_events WHERE payment_id = ?1 ORDER BY id",
            &[s(payment_id)],
        )?
        .all()
        .await
        .map_err(d1)?
        .results::<EventRow>()
        .map_err(d1)
    }

    /// Compare-and-set: applies `row`'s mutable columns if the stored version is still
    /// `row.version`, bumps the version and appends `ev`. Returns whether it won.
    pub async fn transition(
        &self,
        row: &PaymentRow,
        from: PaymentState,
        to: PaymentState,
        now: i64,
        ev: &Event<'_>,
    ) -> ApiResult<bool> {
        let update = self.stmt(
            "UPDATE payments SET state = ?1, version = version + 1, lease_until = ?2, amount = ?3, \
               gmo_order_id = ?4, gmo_attempt = ?5, gmo_access_id = ?6, gmo_access_pass = ?7, gmo_tran_id = ?8, \
               gmo_approve = ?9, gmo_forward = ?10, gmo_tran_date = ?11, card_mask = ?12, last_error_code = ?13, \
               last_error_info = ?14, authorized_at = ?15, updated_at = ?16, capture_mode = ?20, attempt_started_at = ?21, \
               method = ?22, amazon_checkout_session_id = ?23, amazon_charge_id = ?24, amazon_charge_permission_id = ?25, \
               amazon_buyer_id = ?26, amazon_buyer_name = ?27, amazon_buyer_email = ?28, shipping_address = ?29, return_url = ?30, \
               authorized_amount = ?31, captured_amount = ?32, refunded_amount = ?33, first_authorized_at = ?34, gmo_status = ?35 \
             WHERE id = ?17 AND version = ?18 AND state = ?19",
            &[
                s(to.as_str()),
                row.lease_until.map(n).unwrap_or(JsValue::NULL),
                n(row.amount),
                s(&row.gmo_order_id),
                n(row.gmo_attempt),
                opt(&row.gmo_access_id),
                opt(&row.gmo_access_pass),
                opt(&row.gmo_tran_id),
                opt(&row.gmo_approve),
                opt(&row.gmo_forward),
                opt(&row.gmo_tran_date),
                opt(&row.card_mask),
                opt(&row.last_error_code),
                opt(&row.last_error_info),
                row.authorized_at.map(n).unwrap_or(JsValue::NULL),
                n(now),
                s(&row.id),
                n(row.version),
                s(from.as_str()),
                s(&row.capture_mode),
                row.attempt_started_at.map(n).unwrap_or(JsValue::NULL),
                s(&row.method),
                opt(&row.amazon_checkout_session_id),
                opt(&row.amazon_charge_id),
                opt(&row.amazon_charge_permission_id),
                opt(&row.amazon_buyer_id),
                opt(&row.amazon_buyer_name),
                opt(&row.amazon_buyer_email),
                opt(&row.shipping_address),
                opt(&row.return_url),
                row.authorized_amount.map(n).unwrap_or(JsValue::NULL),
                row.captured_amount.map(n).unwrap_or(JsValue::NULL),
                row.refunded_amount.map(n).unwrap_or(JsValue::NULL),
                row.first_authorized_at.map(n).unwrap_or(JsValue::NULL),
                opt(&row.gmo_status),
            ],
        )?;
        let event = self.event_stmt(&row.id, now, Some(from), Some(to), ev)?;
        let res = self.db.batch(vec![update, event]).await.map_err(d1)?;
        let changed = res
            .first()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok(changed == 1)
    }

    /// Moves `claimed` (its lease already set) from `from` into `processing` by compare-and-set.
    /// Losing means someone else changed the payment first: their current row is returned.
    pub async fn claim_processing(
        &self,
        mut claimed: PaymentRow,
        from: PaymentState,
        now: i64,
        ev: &Event<'_>,
    ) -> ApiResult<Claim> {
        if self
            .transition(&claimed, from, PaymentState::Processing, now, ev)
            .await?
        {
            claimed.state = PaymentState::Processing.as_str().to_string();
            claimed.version += 1;
            Ok(Claim::Won(claimed))
        } else {
            Ok(Claim::Lost(self.current_payment(&claimed.id).await?))
        }
    }

    /// Leaves a leased `processing` (or `unknown`) payment for `to` and clears the lease. The
    /// caller held the lease, so a lost compare-and-set means the lease expired and someone else
    /// settled it: their row is returned.
    pub async fn settle_leased(
        &self,
        mut next: PaymentRow,
        to: PaymentState,
        now: i64,
        ev: &Event<'_>,
    ) -> ApiResult<PaymentRow> {
        let from = next.state()?;
        next.lease_until = None;
        if self.transition(&next, from, to, now, ev).await? {
            next.state = to.as_str().to_string();
            next.version += 1;
            Ok(next)
        } else {
            self.current_payment(&next.id).await
        }
    }

    /// A payment this flow has just read: it cannot have gone (500, not 404, if it did).
    async fn current_payment(&self, id: &str) -> ApiResult<PaymentRow> {
        self.payment(id)
            .await?
            .ok_or_else(|| ApiError::internal("payment vanished"))
    }

    /// Records gateway ids learnt mid-flight (AccessID/AccessPass after EntryTran) while we hold
    /// the processing lease, so a crash after this point can still be reconciled.
    pub async fn save_access(
        &self,
        id: &str,
        version: i64,
        access_id: &str,
        access_pass: &str,
    ) -> ApiResult<()> {
        self.stmt(
            "UPDATE payments SET gmo_access_id = ?1, gmo_access_pass = ?2 WHERE id = ?3 AND version = ?4",
            &[s(access_id), s(access_pass), s(id), n(version)],
        )?
        .run()
        .await
        .map_err(d1)?;
        Ok(())
    }

    pub async fn idempotent_get(&self, key: &str) -> ApiResult<Option<(String, u16, String)>> {
        #[derive(Deserialize)]
        struct Row {
            request_hash: String,
            status: i64,
            body: String,
        }
        let row = self
            .stmt(
                "SELECT request_hash, status, body FROM idempotency_keys WHERE key = ?1",
                &[s(key)],
            )?
            .first::<Row>(None)
            .await
            .map_err(d1)?;
        Ok(row.map(|r| {
            (
                r.request_hash,
                u16::try_from(r.status).unwrap_or(500),
                r.body,
            )
        }))
    }

    pub async fn idempotent_put(
        &self,
        key: &str,
        hash: &str,
        status: u16,
        body: &str,
        now: i64,
    ) -> ApiResult<()> {
        self.stmt(
            "INSERT INTO idempotency_keys (key, request_hash, status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT(key) DO NOTHING",
            &[s(key), s(hash), n(i64::from(status)), s(body), n(now)],
        )?
        .run()
        .await
        .map_err(d1)?;
        Ok(())
    }

    /// Records a sign-in button's state (single use, until `expires_at`).
    pub async fn insert_signin_state(
        &self,
        state: &str,
        return_url: &str,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> ApiResult<()> {
        // Expired rows are useless: each new button sweeps a few, so the table stays small
        // without a cron.
        let sweep = self.stmt(
            "DELETE FROM amazon_signin_states WHERE state IN \
               (SELECT state FROM amazon_signin_states WHERE expires_at < ?1 LIMIT 20)",
            &[n(now - 3_600_000)],
        )?;
        let insert = self.stmt(
            "INSERT INTO amazon_signin_states (state, return_url, nonce, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[s(state), s(return_url), s(nonce), n(now), n(expires_at)],
        )?;
        self.db.batch(vec![sweep, insert]).await.map_err(d1)?;
        Ok(())
    }

    /// Uses a sign-in state once: `Some((return_url, nonce))` only for the first use of a state
    /// that has not expired. The UPDATE is the compare-and-set, so two concurrent returns with
    /// the same state cannot both win.
    pub async fn consume_signin_state(
        &self,
        state: &str,
        now: i64,
    ) -> ApiResult<Option<(String, String)>> {
        #[derive(Deserialize)]
        struct Row {
            return_url: String,
            nonce: String,
        }
        let row = self
            .stmt(
                "UPDATE amazon_signin_states SET used_at = ?2 \
                 WHERE state = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING return_url, nonce",
                &[s(state), n(now)],
            )?
            .first::<Row>(None)
            .await
            .map_err(d1)?;
        Ok(row.map(|r| (r.return_url, r.nonce)))
    }

    pub async fn link_by_member(&self, member_id: &str) -> ApiResult<Option<AccountLink>> {
        self.stmt(
            "SELECT member_id, buyer_id, linked_at FROM amazon_account_links WHERE member_id = ?1",
            &[s(member_id)],
        )?
        .first::<AccountLink>(None)
        .await
        .map_err(d1)
    }

    pub async fn link_by_buyer(&self, buyer_id: &str) -> ApiResult<Option<AccountLink>> {
        self.stmt(
            "SELECT member_id, buyer_id, linked_at FROM amazon_account_links WHERE buyer_id = ?1",
            &[s(buyer_id)],
        )?
        .first::<AccountLink>(None)
        .await
        .map_err(d1)
    }

    /// Links `member_id` to `buyer_id` (replacing the member's earlier link). `Ok(false)` when
    /// the buyer is linked to another member: the UNIQUE index decides, so a race cannot link
    /// one Amazon account to two members.
    pub async fn upsert_link(&self, member_id: &str, buyer_id: &str, now: i64) -> ApiResult<bool> {
        let res = self
            .stmt(
                "INSERT INTO amazon_account_links (member_id, buyer_id, linked_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(member_id) DO UPDATE SET buyer_id = excluded.buyer_id, linked_at = excluded.linked_at \
                 WHERE amazon_account_links.buyer_id <> excluded.buyer_id",
                &[s(member_id), s(buyer_id), n(now)],
            )?
            .run()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.to_string().contains("UNIQUE") => Ok(false),
            Err(e) => Err(d1(e)),
        }
    }

    /// Removes a member's link; whether there was one.
    pub async fn delete_link(&self, member_id: &str) -> ApiResult<bool> {
        let res = self
            .stmt(
                "DELETE FROM amazon_account_links WHERE member_id = ?1",
                &[s(member_id)],
            )?
            .run()
            .await
            .map_err(d1)?;
        Ok(res
            .meta()
            .ok()
            .flatten()
            .and_then(|m| m.changes)
            .unwrap_or(0)
            > 0)
    }
}

/// A shop member's linked Amazon account.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AccountLink {
    pub member_id: String,
    pub buyer_id: String,
    pub linked_at: i64,
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
