//! The Amazon Pay sandbox's memory: checkout sessions, charge permissions, charges, refunds,
//! sign-in sessions and buyer tokens, idempotency records, the request log and faults.
//!
//! Time-driven transitions (24-hour checkout sessions, 30-day authorisations, 180-day one-time
//! charge permissions, asynchronous refunds and captures) are applied lazily by
//! [`State::refresh`], which every request runs first against the injected clock.

use std::collections::HashMap;

use kessai_core::amazon::rules;
use kessai_core::jst::UnixMillis;
use serde::Serialize;

use super::AmazonSandboxConfig;
use super::buyers::SandboxBuyer;
use crate::state::{Clock, random_bytes, random_digits, take_fault_use};

pub const HOUR_MS: i64 = 3_600_000;
/// A checkout session is canceled (`Expired`) 24 hours after creation unless completed [C].
pub const CHECKOUT_SESSION_LIFETIME_MS: i64 = 24 * HOUR_MS;
/// An authorisation expires after 30 days in `Authorized` (`Canceled`/`ExpiredUnused`) [C].
pub const AUTHORIZATION_LIFETIME_DAYS: i64 = rules::AUTHORIZATION_VALID_DAYS;
/// A one-time charge permission closes after 180 days (`Closed`/`Expired`) [C].
pub const ONE_TIME_CHARGE_PERMISSION_DAYS: i64 = 180;
/// Largest amount of one charge or refund [C].
pub const MAX_TRANSACTION_AMOUNT: i64 = rules::MAX_CHARGE.yen();
/// Recurring charge permissions: at most ¥100,000 charged per JST calendar month. [U] the value
/// comes from the cart manual this project follows, not from Amazon's own table.
pub const RECURRING_MONTHLY_CAP: i64 = rules::RECURRING_MONTHLY_CAP.yen();
/// Refunds may exceed the captured amount by min(15 %, ¥8,400) [C].
pub const REFUND_EXTRA_PERCENT: i64 = rules::REFUND_OVERAGE_PERCENT;
pub const REFUND_EXTRA_CAP: i64 = rules::REFUND_OVERAGE_MAX.yen();
/// Sign-in buyer tokens are accepted by Get Buyer for this long after issue. [U] Amazon does
/// not publish the lifetime; tokens are reusable within it (a retried GET must not fail).
pub const BUYER_TOKEN_LIFETIME_MS: i64 = 10 * 60_000;

// States and their wire names are core's, so the sandbox and the edge read them alike.
pub use kessai_core::amazon::status::{
    ChargePermissionState, ChargePermissionType, ChargeState, CheckoutSessionState, PaymentIntent,
    RefundState,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ProductType {
    PayAndShip,
    PayOnly,
    SignIn,
}

impl ProductType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductType::PayAndShip => "PayAndShip",
            ProductType::PayOnly => "PayOnly",
            ProductType::SignIn => "SignIn",
        }
    }
    pub fn parse(s: &str) -> Option<ProductType> {
        match s {
            "PayAndShip" => Some(ProductType::PayAndShip),
            "PayOnly" => Some(ProductType::PayOnly),
            "SignIn" => Some(ProductType::SignIn),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MerchantMetadata {
    pub merchant_reference_id: Option<String>,
    pub merchant_store_name: Option<String>,
    pub note_to_buyer: Option<String>,
    pub custom_information: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentDetails {
    pub payment_intent: Option<PaymentIntent>,
    pub can_handle_pending_authorization: bool,
    pub charge_amount: Option<i64>,
    pub total_order_amount: Option<i64>,
    pub soft_descriptor: Option<String>,
    pub allow_overcharge: bool,
    pub extend_expiration: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebCheckoutDetails {
    pub checkout_review_return_url: Option<String>,
    pub checkout_result_return_url: Option<String>,
    pub checkout_cancel_url: Option<String>,
}

/// What the processing page decided for a checkout session.
#[derive(Debug, Clone, Serialize)]
pub enum Processing {
    /// The payment was processed: a charge permission exists, and a charge unless the intent
    /// was Confirm. Both become visible on the session only after Complete.
    Approved {
        charge_permission_id: String,
        charge_id: Option<String>,
    },
    /// The buyer's payment was declined; the session is Canceled/Declined.
    Declined,
}

#[derive(Debug, Clone)]
pub struct CheckoutSession {
    pub id: String,
    pub product_type: ProductType,
    pub web: WebCheckoutDetails,
    pub store_id: String,
    pub scopes: Option<Vec<String>>,
    pub charge_permission_type: ChargePermissionType,
    pub recurring_metadata: Option<serde_json::Value>,
    pub payment_details: PaymentDetails,
    pub merchant_metadata: MerchantMetadata,
    pub delivery_specifications: Option<serde_json::Value>,
    pub platform_id: Option<String>,
    pub provider_reference_id: Option<String>,
    pub created_at: UnixMillis,
    pub state: CheckoutSessionState,
    pub reason_code: Option<&'static str>,
    pub reason_description: Option<String>,
    pub last_updated: UnixMillis,
    /// The buyer chosen on the hosted login page (`BuyerNotAssociated` until then).
    pub buyer_key: Option<&'static str>,
    pub address_index: Option<usize>,
    pub payment_method_index: Option<usize>,
    pub processing: Option<Processing>,
    /// Shown only once Completed.
    pub charge_permission_id: Option<String>,
    pub charge_id: Option<String>,
    /// The page that had the button (where "キャンセル" returns when no checkoutCancelUrl).
    pub button_page: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ChargePermission {
    pub id: String,
    pub kind: ChargePermissionType,
    pub buyer_key: &'static str,
    pub address_index: Option<usize>,
    pub payment_method_index: usize,
    pub product_type: ProductType,
    pub scopes: Option<Vec<String>>,
    pub merchant_metadata: MerchantMetadata,
    pub recurring_metadata: Option<serde_json::Value>,
    pub platform_id: Option<String>,
    /// OneTime: the order amount (charges beyond the balance are refused). Recurring: none.
    pub amount_limit: Option<i64>,
    pub created_at: UnixMillis,
    pub expires_at: Option<UnixMillis>,
    pub state: ChargePermissionState,
    pub reasons: Vec<(&'static str, Option<String>)>,
    pub last_updated: UnixMillis,
    /// Test control (`/__sandbox/amazon/charge-permissions/{id}/wallet`): the buyer's payment
    /// method now declines Create Charge with this reason (`HardDeclined`, `SoftDeclined`).
    pub wallet_declines: Option<&'static str>,
}

#[derive(Debug, Clone)]
pub struct Charge {
    pub id: String,
    pub charge_permission_id: String,
    pub charge_amount: i64,
    pub capture_amount: Option<i64>,
    pub refunded_amount: i64,
    pub soft_descriptor: Option<String>,
    pub capture_now: bool,
    pub can_handle_pending_authorization: bool,
    pub merchant_metadata: MerchantMetadata,
    pub created_at: UnixMillis,
    pub state: ChargeState,
    pub reason_code: Option<&'static str>,
    pub reason_description: Option<String>,
    pub last_updated: UnixMillis,
    /// An asynchronous step (AuthorizationInitiated, CaptureInitiated) settles at the first
    /// request at or after this instant.
    pub settles_at: Option<UnixMillis>,
}

impl Charge {
    /// The part of the charge permission's amount this charge holds: the authorised amount
    /// while open, the captured amount once captured, nothing when it ended without money.
    pub fn amount_held(&self) -> i64 {
        match self.state {
            ChargeState::AuthorizationInitiated
            | ChargeState::Authorized
            | ChargeState::CaptureInitiated => self.charge_amount,
            ChargeState::Captured => self.capture_amount.unwrap_or(self.charge_amount),
            ChargeState::Canceled | ChargeState::Declined => 0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Refund {
    pub id: String,
    pub charge_id: String,
    pub amount: i64,
    pub soft_descriptor: Option<String>,
    pub created_at: UnixMillis,
    pub state: RefundState,
    pub reason_code: Option<&'static str>,
    /// Set by a sandbox simulation code: the refund settles as Declined with this reason.
    pub declines_with: Option<&'static str>,
    pub last_updated: UnixMillis,
    pub settles_at: UnixMillis,
}

/// A sign-in started from a SignIn button, until the consent page issues a buyer token.
#[derive(Debug, Clone)]
pub struct SignInSession {
    pub return_url: String,
    pub cancel_url: Option<String>,
    pub scopes: Vec<String>,
    pub button_page: Option<String>,
    pub buyer_key: Option<&'static str>,
    pub created_at: UnixMillis,
}

#[derive(Debug, Clone)]
pub struct BuyerToken {
    pub buyer_key: &'static str,
    pub scopes: Vec<String>,
    pub issued_at: UnixMillis,
}

/// The first answer given to a POST with an idempotency key.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    /// sha256 of method, path and body: same key + other request → DuplicateIdempotencyKey.
    pub fingerprint: [u8; 32],
    pub status: u16,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    pub at_unix_ms: i64,
    pub method: String,
    pub path: String,
    /// The API name (`CreateCheckoutSession`, …) or `-` when the path matched none.
    pub api: String,
    pub status: u16,
    pub reason_code: Option<String>,
    /// The object the call was about (session, charge, … id), when there is one.
    pub object_id: Option<String>,
    /// Answered from the idempotency store.
    pub replayed: bool,
    /// The answer was dropped on purpose (fault).
    pub dropped: bool,
}

/// A test fault on the answer of an API call: the call is executed (committed), then its answer
/// is dropped (connection closed without a response) or delayed.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    /// API name, e.g. `CompleteCheckoutSession`, `CaptureCharge`.
    pub api: String,
    /// Only calls about this object id (checkout session, charge, …) trip it.
    pub object_id: Option<String>,
    pub drop_answer: bool,
    pub delay_ms: u64,
    pub times: u32,
    /// Answer this HTTP status (429, 500, 503) with Amazon's error body instead: without
    /// executing the call (throttled / down before it ran), or after it (`commit`).
    pub status: Option<u16>,
    pub commit: bool,
    /// Hold the call back `delay_ms` before executing it (still running at "Amazon" when the
    /// client gives up), instead of executing at once and answering late.
    pub execute_late: bool,
    /// The caller's own label (e.g. the soak's fault kind), shown by `GET …/faults`.
    pub tag: Option<String>,
}

pub struct State {
    pub cfg: AmazonSandboxConfig,
    pub base_url: String,
    pub clock: Clock,
    pub checkout_sessions: HashMap<String, CheckoutSession>,
    pub charge_permissions: HashMap<String, ChargePermission>,
    pub charges: HashMap<String, Charge>,
    pub refunds: HashMap<String, Refund>,
    pub sign_ins: HashMap<String, SignInSession>,
    pub buyer_tokens: HashMap<String, BuyerToken>,
    pub idempotency: HashMap<String, IdempotencyRecord>,
    pub log: Vec<LogEntry>,
    pub faults: Vec<Fault>,
    seq: u64,
}

impl State {
    pub fn new(cfg: AmazonSandboxConfig, base_url: String) -> State {
        State {
            cfg,
            base_url,
            clock: Clock::default(),
            checkout_sessions: HashMap::new(),
            charge_permissions: HashMap::new(),
            charges: HashMap::new(),
            refunds: HashMap::new(),
            sign_ins: HashMap::new(),
            buyer_tokens: HashMap::new(),
            idempotency: HashMap::new(),
            log: Vec::new(),
            faults: Vec::new(),
            seq: 0,
        }
    }

    pub fn reset(&mut self) {
        let cfg = self.cfg.clone();
        let base = self.base_url.clone();
        *self = State::new(cfg, base);
    }

    pub fn now(&self) -> UnixMillis {
        self.clock.now()
    }

    /// Applies every transition that time alone causes, as of the injected clock's now.
    pub fn refresh(&mut self) {
        let now = self.now();
        // Asynchronous charge steps settle.
        for c in self.charges.values_mut() {
            let due = c.settles_at.is_some_and(|t| now >= t);
            if !due {
                continue;
            }
            match c.state {
                ChargeState::AuthorizationInitiated => {
                    c.state = ChargeState::Authorized;
                    c.settles_at = None;
                    c.last_updated = now;
                }
                ChargeState::CaptureInitiated => {
                    c.state = ChargeState::Captured;
                    c.settles_at = None;
                    c.last_updated = now;
                }
                ChargeState::Authorized
                | ChargeState::Captured
                | ChargeState::Canceled
                | ChargeState::Declined => c.settles_at = None,
            }
        }
        // Authorisations unused for 30 days expire.
        for c in self.charges.values_mut() {
            let expired = rules::authorization_expired(c.created_at, now);
            match c.state {
                ChargeState::Authorized | ChargeState::AuthorizationInitiated if expired => {
                    c.state = ChargeState::Canceled;
                    c.reason_code = Some("ExpiredUnused");
                    c.reason_description = Some(
                        "The Charge has been canceled because it expired after 30 days.".into(),
                    );
                    c.last_updated = now;
                }
                ChargeState::AuthorizationInitiated
                | ChargeState::Authorized
                | ChargeState::CaptureInitiated
                | ChargeState::Captured
                | ChargeState::Canceled
                | ChargeState::Declined => {}
            }
        }
        // Refunds settle.
        for r in self.refunds.values_mut() {
            match r.state {
                RefundState::RefundInitiated
                    if now >= r.settles_at && r.declines_with.is_some() =>
                {
                    r.state = RefundState::Declined;
                    r.reason_code = r.declines_with;
                    r.last_updated = now;
                }
                RefundState::RefundInitiated if now >= r.settles_at => {
                    r.state = RefundState::Refunded;
                    r.last_updated = now;
                    if let Some(c) = self.charges.get_mut(&r.charge_id) {
                        c.refunded_amount += r.amount;
                        c.last_updated = now;
                    }
                }
                RefundState::RefundInitiated | RefundState::Refunded | RefundState::Declined => {}
            }
        }
        // Open checkout sessions expire after 24 hours; what their processing authorised is
        // released. [U] the reason codes of the released objects are not documented.
        let mut released: Vec<(String, Option<String>)> = Vec::new();
        for cs in self.checkout_sessions.values_mut() {
            match cs.state {
                CheckoutSessionState::Open
                    if now.0 >= cs.created_at.0 + CHECKOUT_SESSION_LIFETIME_MS =>
                {
                    cs.state = CheckoutSessionState::Canceled;
                    cs.reason_code = Some("Expired");
                    cs.reason_description = Some(
                        "The Checkout Session has expired because it was not completed within 24 hours."
                            .into(),
                    );
                    cs.last_updated = now;
                    if let Some(Processing::Approved {
                        charge_permission_id,
                        charge_id,
                    }) = &cs.processing
                    {
                        released.push((charge_permission_id.clone(), charge_id.clone()));
                    }
                }
                CheckoutSessionState::Open
                | CheckoutSessionState::Completed
                | CheckoutSessionState::Canceled => {}
            }
        }
        for (cp_id, charge_id) in released {
            if let Some(c) = charge_id.and_then(|id| self.charges.get_mut(&id)) {
                c.state = ChargeState::Canceled;
                c.reason_code = Some("AmazonCanceled");
                c.reason_description = Some("The Checkout Session expired.".into());
                c.last_updated = now;
            }
            if let Some(cp) = self.charge_permissions.get_mut(&cp_id) {
                cp.state = ChargePermissionState::Closed;
                cp.reasons = vec![(
                    "AmazonCanceled",
                    Some("The Checkout Session expired.".into()),
                )];
                cp.last_updated = now;
            }
        }
        // One-time charge permissions close after 180 days.
        for cp in self.charge_permissions.values_mut() {
            let expired = cp.expires_at.is_some_and(|t| now >= t);
            match cp.state {
                ChargePermissionState::Chargeable | ChargePermissionState::NonChargeable
                    if expired =>
                {
                    cp.state = ChargePermissionState::Closed;
                    cp.reasons = vec![("Expired", None)];
                    cp.last_updated = now;
                }
                ChargePermissionState::Chargeable
                | ChargePermissionState::NonChargeable
                | ChargePermissionState::Closed => {}
            }
        }
        // Sign-in leftovers.
        self.buyer_tokens
            .retain(|_, t| now.0 < t.issued_at.0 + BUYER_TOKEN_LIFETIME_MS);
        self.sign_ins
            .retain(|_, s| now.0 < s.created_at.0 + CHECKOUT_SESSION_LIFETIME_MS);
    }

    /// A new charge permission id: `S03-XXXXXXX-XXXXXXX` (S = sandbox, 03 = JP [I]).
    pub fn new_charge_permission_id(&self) -> String {
        loop {
            let id = format!("S03-{}-{}", random_digits(7), random_digits(7));
            if !self.charge_permissions.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn record(&mut self, mut entry: LogEntry) {
        self.seq += 1;
        entry.seq = self.seq;
        entry.at_unix_ms = self.now().0;
        self.log.push(entry);
    }

    /// Takes one use of the first fault armed for `api` (and this object, if it names one).
    pub fn take_fault(&mut self, api: &str, object_id: Option<&str>) -> Option<Fault> {
        take_fault_use(
            &mut self.faults,
            |f| &mut f.times,
            |f| {
                f.api.eq_ignore_ascii_case(api)
                    && (f.object_id.is_none() || f.object_id.as_deref() == object_id)
            },
        )
    }

    /// Total of this recurring permission's charges created in the JST calendar month of `at`.
    pub fn charged_in_month(&self, charge_permission_id: &str, at: UnixMillis) -> i64 {
        let month = at.to_jst();
        self.charges
            .values()
            .filter(|c| c.charge_permission_id == charge_permission_id)
            .filter(|c| c.created_at.to_jst().same_month(&month))
            .map(Charge::amount_held)
            .sum()
    }

    pub fn amount_held(&self, charge_permission_id: &str) -> i64 {
        self.charges
            .values()
            .filter(|c| c.charge_permission_id == charge_permission_id)
            .map(Charge::amount_held)
            .sum()
    }
}

/// A random UUID v4 (checkout session ids).
pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&random_bytes(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Amazon's body timestamps: `yyyyMMdd'T'HHmmss'Z'` (UTC).
pub fn amazon_timestamp(t: UnixMillis) -> String {
    // JST is UTC+9: shift back to read the UTC wall clock with core's calendar.
    let utc = UnixMillis(t.0 - 9 * HOUR_MS).to_jst();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second
    )
}

/// The sandbox buyer behind a key stored on an object (keys always come from the table).
pub fn buyer(key: &str) -> Option<&'static SandboxBuyer> {
    super::buyers::by_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
        assert_ne!(u, uuid_v4());
    }

    #[test]
    fn timestamp_is_utc() {
        // 2026-11-22T15:00:00Z
        assert_eq!(
            amazon_timestamp(UnixMillis(1_795_359_600_000)),
            "20261122T150000Z"
        );
        assert_eq!(amazon_timestamp(UnixMillis(0)), "19700101T000000Z");
    }
}
