//! 定期購入 (subscriptions): the pure model (issue #15). Design notes: `docs/subscriptions.md`.
//!
//! - [`date`]: [`ChargeDate`], a JST calendar date over [`crate::jst`]'s calendar.
//! - [`schedule`]: [`Cycle`] (`days:N`, `monthly:D`, `weekly:mon`), [`next_after`],
//!   [`first_on_or_after`], [`next_cycle_after`], [`is_due`].
//! - [`source`]: [`PaymentSource`], a stored GMO card or an Amazon recurring charge permission.
//! - [`state`]: [`SubscriptionStatus`] (有効 / 一時停止 / 未決済 / 解約), [`Subscription::apply`]
//!   over [`Event`]s giving a [`Transition`] (new subscription + [`Effect`]s) or a [`Refusal`].
//! - [`retry`]: [`RetrySchedule`] (`"1,3,7"` days after the first failure).
//! - [`key`]: [`ChargeKey`], one attempt's idempotency key and GMO OrderID.
//! - [`plan`]: [`SubscriptionPlan`], a sign-up at checkout and the subscription it becomes.
//! - [`amazon_limit`]: ¥100,000 per JST calendar month per charge permission.
//!
//! Nothing here reads a clock: callers pass today's JST date ([`ChargeDate::of_instant`]).

pub mod amazon_limit;
pub mod date;
pub mod key;
pub mod plan;
pub mod refusal;
pub mod retry;
pub mod schedule;
pub mod source;
pub mod state;

#[cfg(test)]
mod tests;

pub use amazon_limit::{RecurringCharge, RecurringChargeState};
pub use date::{ChargeDate, Weekday};
pub use key::ChargeKey;
pub use plan::SubscriptionPlan;
pub use refusal::Refusal;
pub use retry::{RetrySchedule, RetryScheduleError, retry_date};
pub use schedule::{Cycle, CycleError, first_on_or_after, is_due, next_after, next_cycle_after};
pub use source::{PaymentSource, SourceError, SourceKind};
pub use state::{
    DueCharge, Dunning, Effect, Event, FailureKind, Notice, Subscription, SubscriptionStatus,
    Transition,
};
