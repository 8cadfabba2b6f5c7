//! Gateway notifications: Amazon Pay IPN ([`amazon_ipn`]) and GMO 結果通知 ([`gmo_result`]).
//!
//! A notification is only a hint. It is recorded once (UNIQUE key) before it is processed, the
//! payment's state is read again at the gateway, and a change is adopted only when it moves the
//! payment forward ([`kessai_core::amazon::ipn::moves_forward`]), by the usual compare-and-set
//! with one event. If processing cannot finish, the answer asks the gateway to deliver again
//! and the row stays `received` (the Cron sweep finishes what the redeliveries do not).

pub mod amazon_ipn;
pub mod gmo_result;

use super::reconcile::reconcile_any;
use crate::config::Config;
use crate::http::{Refusal, refuse};
use crate::platform;
use crate::store::notifications::NotificationRow;
use crate::store::{Event, PaymentRow, Store};
use kessai_core::amazon::ipn::moves_forward;
use kessai_core::payment::PaymentState;
use serde_json::{Value, json};

/// What re-reading the gateway said about a payment: the state it implies, the row as it is
/// to be stored if that state is adopted, and what was seen (for the history).
pub struct Observed {
    pub state: PaymentState,
    pub next: PaymentRow,
    pub seen: Value,
}

/// What processing a notification did to its payment.
pub enum Outcome {
    /// Moved forward (one event, written by the compare-and-set). `finished`: the
    /// notification's outcome was written in the compare-and-set's batch too.
    Moved {
        from: PaymentState,
        to: PaymentState,
        row: PaymentRow,
        seen: Value,
        finished: bool,
    },
    /// Nothing to change: already there, stale, or a state a notification never moves.
    Unchanged {
        state: PaymentState,
        row: PaymentRow,
        seen: Value,
    },
}

/// How a notification names its payment's history lines: the event kinds and the key under
/// which the gateway's side is recorded (`amazon`, `gmo`).
pub struct Kinds<'a> {
    pub applied: &'a str,
    pub unchanged: &'a str,
    pub gateway_key: &'a str,
}

/// The part every gateway notification shares: a payment under a live lease is left to its
/// flow (503: the gateway delivers again), `processing`/`unknown` go to reconciliation, any other
/// state adopts what `read` observes if [`moves_forward`] allows it, by compare-and-set with one
/// `kinds.applied` event (`{"notification": detail, gateway_key: seen}`), and `notification`
/// ends `applied` in the same batch. A lost compare-and-set is retried against the fresh row.
pub async fn apply_forward<F, Fut>(
    store: &Store<'_>,
    cfg: &Config,
    notification: &NotificationRow,
    mut row: PaymentRow,
    kinds: &Kinds<'_>,
    detail: &Value,
    read: F,
) -> Result<Outcome, Refusal>
where
    F: Fn(PaymentRow) -> Fut,
    Fut: std::future::Future<Output = Result<Observed, Refusal>>,
{
    for _ in 0..3 {
        let now = platform::now().0;
        let state = row.state()?;
        match state {
            PaymentState::Processing if row.lease_live(now) => {
                // The flow holding the lease reads the outcome itself.
                return Err(refuse(503, "payment busy (processing under a live lease)"));
            }
            // The RetUrl (SecureTran2) settles a 3-D Secure payment, or the sweep once the
            // authentication window has passed; until then the gateway delivers again.
            PaymentState::RequiresAction => {
                return Err(refuse(503, "payment busy (awaiting 3-D Secure)"));
            }
            PaymentState::Processing | PaymentState::Unknown => {
                return settle_open(store, cfg, row, state).await;
            }
            PaymentState::RequiresPayment
            | PaymentState::Authorized
            | PaymentState::Captured
            | PaymentState::Verified
            | PaymentState::Voided
            | PaymentState::Returned
            | PaymentState::ReturnedNextMonth
            | PaymentState::Refunded
            | PaymentState::PartiallyRefunded
            | PaymentState::Declined
            | PaymentState::Unpaid
            | PaymentState::Expired => {}
        }
        let observed = read(row.clone()).await?;
        if !moves_forward(state, observed.state) {
            return Ok(Outcome::Unchanged {
                state,
                row,
                seen: observed.seen,
            });
        }
        if let Some(moved) = adopt(store, notification, kinds, detail, state, observed, now).await?
        {
            return Ok(moved);
        }
        row = store.existing_payment(&row.id).await?;
    }
    Err(refuse(503, "payment kept changing; retry later"))
}

/// Adopts what was observed by compare-and-set with one `kinds.applied` event
/// (`{"notification": detail, gateway_key: seen}`), the notification ending `applied` in the
/// same batch. `None`: the compare-and-set was lost (someone changed the payment meanwhile).
async fn adopt(
    store: &Store<'_>,
    notification: &NotificationRow,
    kinds: &Kinds<'_>,
    detail: &Value,
    state: PaymentState,
    observed: Observed,
    now: i64,
) -> Result<Option<Outcome>, Refusal> {
    let mut event_detail = serde_json::Map::new();
    event_detail.insert("notification".into(), detail.clone());
    event_detail.insert(kinds.gateway_key.into(), observed.seen.clone());
    let ev = Event {
        actor: "gateway",
        kind: kinds.applied,
        detail: Value::Object(event_detail),
    };
    let summary = moved_summary(kinds, state, observed.state, &observed.seen);
    let won = store
        .transition_finishing(
            &observed.next,
            state,
            observed.state,
            now,
            &ev,
            notification,
            "applied",
            &summary,
        )
        .await?;
    Ok(won.then_some(Outcome::Moved {
        from: state,
        to: observed.state,
        row: observed.next,
        seen: observed.seen,
        finished: true,
    }))
}

/// An open outcome (`processing` past its lease, `unknown`) is reconciled, not adopted.
async fn settle_open(
    store: &Store<'_>,
    cfg: &Config,
    row: PaymentRow,
    state: PaymentState,
) -> Result<Outcome, Refusal> {
    let settled = reconcile_any(store, cfg, row).await?;
    let after = settled.state()?;
    let seen = json!({ "reconciled": true });
    Ok(if after == state {
        Outcome::Unchanged {
            state,
            row: settled,
            seen,
        }
    } else {
        Outcome::Moved {
            from: state,
            to: after,
            row: settled,
            seen,
            finished: false,
        }
    })
}

/// What a notification that moved its payment did (the notification row's outcome).
fn moved_summary(kinds: &Kinds<'_>, from: PaymentState, to: PaymentState, seen: &Value) -> Value {
    json!({ "from": from.as_str(), "to": to.as_str(), kinds.gateway_key: seen })
}

/// Records what a processed notification did: a `kinds.unchanged` event when nothing moved
/// (the applied event is written by the compare-and-set), and the notification row's outcome
/// (already written when the compare-and-set's batch carried it). Returns the row status
/// (`applied` | `unchanged`).
pub async fn conclude(
    store: &Store<'_>,
    notification: &NotificationRow,
    outcome: &Outcome,
    kinds: &Kinds<'_>,
    detail: &Value,
) -> Result<&'static str, Refusal> {
    let now = platform::now().0;
    let key = kinds.gateway_key;
    match outcome {
        Outcome::Moved { finished: true, .. } => {}
        Outcome::Moved {
            from,
            to,
            row,
            seen,
            finished: false,
        } => {
            store
                .finish_notification(
                    notification,
                    "applied",
                    Some(&row.id),
                    &moved_summary(kinds, *from, *to, seen),
                    now,
                )
                .await?;
        }
        Outcome::Unchanged { state, row, seen } => {
            // The payment's line and the notification's outcome in one batch.
            store
                .finish_notification_noting(
                    notification,
                    "unchanged",
                    &row.id,
                    &json!({ "state": state.as_str(), key: seen }),
                    kinds.unchanged,
                    &json!({ "notification": detail, "state": state.as_str(), key: seen }),
                    now,
                )
                .await?;
        }
    }
    Ok(match outcome {
        Outcome::Moved { .. } => "applied",
        Outcome::Unchanged { .. } => "unchanged",
    })
}

/// Applies a recorded notification to its payment: [`apply_forward`] with `read`, then
/// [`conclude`]. Returns the row's new status.
pub async fn process<F, Fut>(
    store: &Store<'_>,
    cfg: &Config,
    notification: &NotificationRow,
    payment: PaymentRow,
    kinds: &Kinds<'_>,
    detail: &Value,
    read: F,
) -> Result<&'static str, Refusal>
where
    F: Fn(PaymentRow) -> Fut,
    Fut: std::future::Future<Output = Result<Observed, Refusal>>,
{
    let outcome = apply_forward(store, cfg, notification, payment, kinds, detail, read).await?;
    conclude(store, notification, &outcome, kinds, detail).await
}
