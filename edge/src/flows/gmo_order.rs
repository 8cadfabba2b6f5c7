//! GMO OrderIDs of a payment. Its own room because both creating a payment ([`super::payments`])
//! and the card authorisation ([`super::card_checkout`]) hand them out, and the card flow must not
//! depend on the merchant's payment endpoints (that made an import circle through reconcile).

use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::PaymentRow;

/// A new GMO OrderID (`ks-` + 20 hex + `-attempt`, at most 27 characters as GMO allows).
pub(super) fn new_gmo_order_id(attempt: i64) -> ApiResult<String> {
    let hex = platform::random_hex(10).ok_or_else(|| ApiError::internal("random"))?;
    Ok(format!("ks-{hex}-{attempt}"))
}

/// Gives the payment a fresh GMO OrderID for its next EntryTran. GMO keeps an OrderID taken
/// forever, even by an EntryTran it refused (E01040010 on reuse, reference §2b), so a payment
/// whose EntryTran failed or whose amount changed after one must move on.
pub(super) fn move_to_new_gmo_order(row: &mut PaymentRow) -> ApiResult<()> {
    row.gmo_attempt += 1;
    row.gmo_order_id = new_gmo_order_id(row.gmo_attempt)?;
    row.gmo_access_id = None;
    row.gmo_access_pass = None;
    Ok(())
}
