//! The use cases, one module each. A flow reads and writes payments through [`crate::store`],
//! talks to GMO-PG and Amazon Pay through [`crate::gateways`] (never building an HTTP request
//! itself), and answers with [`crate::views`]. Routes call flows; flows never import routes.
//!
//! - [`payments`]: create (or resume) a payment, the merchant's view of one, its reconcile.
//! - [`payment_list`]: the merchant's and the console's list (filters, 期限間近 / 期限切れ).
//! - [`checkout`]: the widget's API (the checkout view, paying by card).
//! - [`card_checkout`]: the GMO authorisation (仮売上 / 即時売上) and its reconciliation.
//! - [`card_testing`]: card-testing limits per payment and per IP, the 不正検知 list and 解除.
//! - [`amazon_checkout`]: the Amazon Pay button, review, result and reconciliation.
//! - [`signin`], [`account_links`]: Sign in with Amazon and member ↔ Amazon account links.
//! - [`operations`]: capture, amount change, cancel, refund (single and bulk), force, previews.
//! - [`reconcile`]: settling an open outcome with whichever gateway holds it.
//! - [`notifications`]: Amazon IPN and GMO 結果通知.
//! - [`subscriptions`]: 定期購入 (#15): the merchant's API and the cron's charges.
//! - [`sweep`]: the Cron Trigger.
//! - [`console`]: operator login, logout and the session's operator.
//! - [`test_clock`]: the injected clock (test mode only).
//! - [`webhooks`]: signed notices to the shop's server, with retries (#15).
//! - [`gmo_order`]: a payment's GMO OrderIDs (a fresh one after a refused EntryTran).
//! - [`lease`]: the processing lease every gateway flow holds.

pub mod account_links;
pub mod amazon_checkout;
pub mod amazon_recurring;
pub mod card_checkout;
pub mod card_testing;
pub mod checkout;
pub mod console;
pub mod gmo_order;
pub mod lease;
pub mod notifications;
pub mod operations;
pub mod payment_list;
pub mod payments;
pub mod reconcile;
pub mod signin;
pub mod stored_cards;
pub mod subscriptions;
pub mod sweep;
pub mod test_clock;
pub mod three_d_secure;
pub mod three_d_secure_return;
pub mod webhooks;
