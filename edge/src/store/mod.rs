//! D1 storage: one file per table or aggregate, and the only place with SQL. Every state change
//! of a payment is a compare-and-set on `version`, batched with the event that records it
//! (`INSERT … SELECT … WHERE changes() = 1`), so a lost race writes no event.
//!
//! Rooms: [`payments`] (the payment aggregate and its compare-and-set), [`events`] (its
//! append-only history), [`notifications`] (gateway notifications, recorded once),
//! [`members`] (Amazon account links and sign-in states), [`operators`] (console sessions and
//! login failures), [`idempotency`] (replayed answers), [`clock`] (the test clock), [`card_attempts`] (card attempts per payment and IP, #13), [`customers`] (GMO members and stored-card notes, #14), [`subscriptions`] (定期購入 and their history, #15); [`db`] holds the `Store` handle and
//! the statement helpers they share.
//! Migrations stay wrangler-native in `edge/migrations`.

pub mod card_attempts;
pub mod clock;
pub mod customers;
pub mod db;
pub mod events;
pub mod idempotency;
pub mod members;
pub mod notifications;
pub mod operators;
pub mod payments;
pub mod subscriptions;
pub mod webhooks;

pub use db::{GroupBatch, Member, Store};
pub use events::{Event, EventRow};
pub use payments::{Claim, ListQuery, NewPayment, PaidRider, PaymentRow, StoredCardClaim};
