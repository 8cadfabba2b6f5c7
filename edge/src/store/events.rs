//! `payment_events`: the append-only history of a payment. State changes write their event in
//! the same batch as the compare-and-set ([`super::payments`]); a note that changes no state
//! (a notification that moved nothing) is written alone.

use super::db::{Store, d1, n, opt, s};
use crate::http::ApiResult;
use kessai_core::payment::PaymentState;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::D1PreparedStatement;

/// One history line to append.
pub struct Event<'a> {
    pub actor: &'a str,
    pub kind: &'a str,
    pub detail: Value,
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

impl Store<'_> {
    /// The event of a compare-and-set: written only if the statement before it changed a row.
    pub(crate) fn event_stmt(
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
                opt(from.map(PaymentState::as_str)),
                opt(to.map(PaymentState::as_str)),
                s(&ev.detail.to_string()),
            ],
        )
    }

    pub async fn events(&self, payment_id: &str) -> ApiResult<Vec<EventRow>> {
        self.all(
            "SELECT id, at, actor, kind, from_state, to_state, detail FROM payment_events WHERE payment_id = ?1 ORDER BY id",
            &[s(payment_id)],
        )
        .await
    }

    /// One history line that changes no state, from `ev.actor`: both ends are the payment's
    /// state when it is written (read in the same statement), as a same-state compare-and-set
    /// would record it, without taking the payment's version (#17: one round trip instead of a
    /// re-read and a compare-and-set, for lines whose loss in a race would change nothing).
    pub async fn note_in_state(&self, payment_id: &str, now: i64, ev: &Event<'_>) -> ApiResult<()> {
        self.run(
            "INSERT INTO payment_events (payment_id, at, actor, kind, from_state, to_state, detail) \
             SELECT id, ?2, ?3, ?4, state, state, ?5 FROM payments WHERE id = ?1",
            &[
                s(payment_id),
                n(now),
                s(ev.actor),
                s(ev.kind),
                s(&ev.detail.to_string()),
            ],
        )
        .await?;
        Ok(())
    }

    /// One history line that changes no state (actor `gateway`).
    pub async fn note_event(
        &self,
        payment_id: &str,
        now: i64,
        kind: &str,
        detail: &Value,
    ) -> ApiResult<()> {
        self.note_event_stmt(payment_id, now, kind, detail)?
            .run()
            .await
            .map_err(d1)?;
        Ok(())
    }

    /// The statement of [`Store::note_event`], for a batch.
    pub(crate) fn note_event_stmt(
        &self,
        payment_id: &str,
        now: i64,
        kind: &str,
        detail: &Value,
    ) -> ApiResult<D1PreparedStatement> {
        self.stmt(
            "INSERT INTO payment_events (payment_id, at, actor, kind, detail) VALUES (?1, ?2, 'gateway', ?3, ?4)",
            &[s(payment_id), n(now), s(kind), s(&detail.to_string())],
        )
    }
}
