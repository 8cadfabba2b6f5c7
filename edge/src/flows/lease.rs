//! The processing lease. A flow talks to a gateway about a payment only after winning the
//! compare-and-set into `processing` with `lease_until` set (`Store::claim_processing`); the
//! lease protects it for [`LEASE_MS`]; past that the payment counts as abandoned and is
//! reconciled (never repeated) by whoever comes next, or by the Cron sweep.

/// How long a `processing` claim protects an in-flight flow. Longer than the worst case at the
/// default 20 s transport timeout: EntryTran (1 + 3 E92 retries) + ExecTran (1 + 3) + SearchTrade
/// = 9 calls × 20 s + 2 × 1.9 s of back-off ≈ 184 s. Even past the lease GMO itself refuses a
/// second authorisation on the same AccessID (E11010001), which we then reconcile.
pub const LEASE_MS: i64 = 240_000;

/// After a call that got no answer, the gateway may still be executing it: an UNPROCESSED
/// SearchTrade (or an Open checkout session) within this window does not prove that nothing
/// will be charged, so the payment stays `unknown` and is asked about again (by the widget's
/// polling, the merchant or the sweep).
/// [U] GMO does not document its own processing timeout; 90 s is a conservative guess. Amazon
/// does not document how long a Complete may run either; the same window is used.
pub const IN_FLIGHT_WINDOW_MS: i64 = 90_000;

/// Whether the in-flight window of the attempt started at `started` has passed at `now`.
pub fn in_flight_window_passed(started: i64, now: i64) -> bool {
    now - started >= IN_FLIGHT_WINDOW_MS
}
