//! What an Amazon Pay IPN may change. The notification itself carries no state: the edge
//! re-reads the charge from Amazon, maps it with
//! [`crate::operations::state_from_amazon_charge`], and adopts the result only when it moves
//! the payment forward. A late, duplicate or reordered notification then changes nothing:
//! 実売上 never goes back to 仮売上, a refund never comes undone. GMO 結果通知 use the same rule
//! (with SearchTrade instead of Get Charge).

use crate::payment::PaymentState;

/// Whether a payment in `current` may adopt `observed` (what Amazon says now) because of a
/// notification. Only settled kessai states are moved; `processing` and `unknown` belong to the
/// flow holding the lease and to reconciliation.
pub fn moves_forward(current: PaymentState, observed: PaymentState) -> bool {
    use PaymentState as S;
    match current {
        // Captured, cancelled, expired or declined at Amazon (its console, a timeout, an
        // asynchronous capture that failed), or captured and refunded before we heard of it.
        S::Authorized => matches!(
            observed,
            S::Captured | S::PartiallyRefunded | S::Refunded | S::Voided | S::Expired | S::Declined
        ),
        S::Captured => matches!(observed, S::PartiallyRefunded | S::Refunded),
        S::PartiallyRefunded => matches!(observed, S::Refunded),
        S::RequiresPayment
        | S::Processing
        | S::RequiresAction
        | S::Verified
        | S::Unknown
        | S::Voided
        | S::Returned
        | S::ReturnedNextMonth
        | S::Refunded
        | S::Declined
        | S::Unpaid
        | S::Expired => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rank(s: PaymentState) -> Option<u8> {
        match s {
            PaymentState::Authorized => Some(1),
            PaymentState::Captured => Some(2),
            PaymentState::PartiallyRefunded => Some(3),
            PaymentState::Refunded => Some(4),
            _ => None,
        }
    }

    #[test]
    fn never_regresses() {
        assert!(!moves_forward(
            PaymentState::Captured,
            PaymentState::Authorized
        ));
        assert!(!moves_forward(
            PaymentState::Refunded,
            PaymentState::Captured
        ));
        assert!(!moves_forward(
            PaymentState::Voided,
            PaymentState::Authorized
        ));
        assert!(moves_forward(
            PaymentState::Authorized,
            PaymentState::Captured
        ));
        assert!(moves_forward(
            PaymentState::Captured,
            PaymentState::Refunded
        ));
        assert!(moves_forward(
            PaymentState::Authorized,
            PaymentState::Voided
        ));
    }

    proptest! {
        /// No state moves to itself, no cycle of two steps exists, and along the money path
        /// (仮売上 → 実売上 → 一部返金 → 返金) only higher ranks are adopted.
        #[test]
        fn forward_is_a_strict_order(a in 0usize..13, b in 0usize..13) {
            let (x, y) = (PaymentState::ALL[a], PaymentState::ALL[b]);
            prop_assert!(!moves_forward(x, x));
            prop_assert!(!(moves_forward(x, y) && moves_forward(y, x)));
            if let (Some(rx), Some(ry)) = (rank(x), rank(y)) {
                prop_assert_eq!(moves_forward(x, y), ry > rx);
            }
            // Lease holders and reconciliation own these; a notification never touches them.
            if matches!(x, PaymentState::Processing | PaymentState::Unknown) {
                prop_assert!(!moves_forward(x, y));
            }
        }
    }
}
