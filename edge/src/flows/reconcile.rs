//! Settling an open outcome with the gateway that holds it: an operation's `unknown` (capture,
//! amount change, cancel, refund) with the operation's reconcile, a checkout's with the card or
//! the Amazon Pay flow. Used by the merchant's 再照会, the widget's polling, notifications and
//! the Cron sweep: always ask first, never repeat a charge.

use super::{amazon_checkout, amazon_recurring, card_checkout, operations};
use crate::config::Config;
use crate::http::ApiResult;
use crate::platform;
use crate::store::{PaymentRow, Store};
use kessai_core::payment::Phase;

/// Settles an open outcome with the gateway that holds it.
pub async fn reconcile_any(
    store: &Store<'_>,
    cfg: &Config,
    row: PaymentRow,
) -> ApiResult<PaymentRow> {
    let now = platform::now().0;
    if operations::reconcile::unknown_after_operation(&row, now) {
        return operations::reconcile::reconcile_operation(store, cfg, row).await;
    }
    match (row.is_amazon(), cfg.amazon.as_ref()) {
        // A 定期購入 cycle's Create Charge whose answer was lost: the same call again, which
        // Amazon answers from the first execution (there is no checkout session to ask).
        (true, Some(amazon))
            if amazon_recurring::is_recurring_charge(&row)
                && matches!(row.state()?.phase(), Phase::InFlight | Phase::Unknown) =>
        {
            let cp = row.amazon_charge_permission_id.clone().unwrap_or_default();
            amazon_recurring::charge(store, amazon, row, &cp, now).await
        }
        (true, Some(amazon)) => {
            amazon_checkout::reconcile::reconcile_now(store, amazon, row, now).await
        }
        // Amazon Pay switched off since: nothing can be asked; the payment stays as it is.
        (true, None) => Ok(row),
        (false, _) => card_checkout::reconcile_now(store, cfg, row, now).await,
    }
}
