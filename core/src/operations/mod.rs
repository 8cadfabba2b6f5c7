//! What shop staff do after an order (受注後の操作): capture, amount change, cancel, refund,
//! planned as gateway calls, for card (GMO-PG) and Amazon Pay (issue #4).
//!
//! Pure: [`plan`] takes kessai's record of a payment ([`PaymentSnapshot`]), the operation and the
//! time (`now`, injected), and answers either a [`Plan`] or a [`Refusal`]. The edge runs the plan's
//! steps in order; each [`Step`] carries the record kessai keeps when the step succeeds
//! (`on_success`) and when the gateway definitively refuses it (`on_failure` = the record before
//! the step), so a plan that stops half-way always leaves a clear state. A step whose answer is
//! lost (timeout, 5xx, E90/E91/42C) leaves the payment `unknown`, to be reconciled before anything
//! else: that is the edge's rule, not a record here.
//!
//! # Card (GMO-PG, reference gmo-pg.md §2c, §4a, §4b)
//! - Capture (仮売上 → 実売上): `AlterTran SALES(amount)`; the amount must equal the authorised one
//!   (E01060010), and the 60-day window must not have passed (E01420010).
//! - Amount change from 仮売上: `ChangeTran AUTH(new)`. GMO does it as cancel + re-authorisation
//!   internally (new TranID); [U] whether it restarts the 60-day window (we assume it does, as the
//!   OpenAPI reference says for amount changes and as the sandbox does).
//! - Amount change from 実売上: `AlterTran VOID|RETURN|RETURNX` (classified as for a cancel) then
//!   `AlterTran CAPTURE(new)` (再オーソリ, only allowed from VOID/RETURN/RETURNX, reference §2c [C]).
//!   Re-authorising straight into CAPTURE takes one call less than AUTH + SALES and never leaves
//!   the payment 仮売上 with the new amount: if the re-authorisation is declined, the payment stays
//!   cancelled (取消/返品/月跨返品) with nothing charged. ChangeTran from SALES exists in GMO's
//!   table but its result is [U], so kessai does not use it.
//! - Cancel: classified in JST by the transaction's last TranDate ([`crate::gmo::status::cancel_job`]):
//!   same day → VOID 取消, same month → RETURN 返品, later → RETURNX 月跨返品, a never-captured AUTH
//!   after its day → RETURN. Refused once the transaction is more than 180 days old (E11010010).
//!   A cancel after capture sets [`Plan::stays_on_statement`] (the console warns that the sale
//!   and its cancellation may both show on the shopper's card statement).
//! - Refund: not a card operation; refused with a message pointing to cancel or amount change.
//!
//! # Amazon Pay (reference amazon-pay.md §1.4, §1.5, §7)
//! - Capture: `Capture Charge(captureAmount)`, at most the authorised amount; capturing less is a
//!   decrease. Refused after the 30-day window (Amazon has cancelled the Charge, `ExpiredUnused`).
//! - Amount change: decreases only ([`crate::amazon::rules::check_amount_change`]). Before capture
//!   no call (kessai records the lower amount and captures it later); after capture a refund of
//!   the difference. An increase is refused, telling the operator to use another payment method.
//! - Cancel before capture: `Cancel Charge` → 取消, then `Close Charge Permission` so nothing
//!   else can be charged on it (a failure of that second call leaves the payment 取消: nothing
//!   is charged either way). Once the authorisation has expired, Amazon has cancelled the Charge
//!   already: one `Close Charge Permission(cancelPendingCharges)` → 期限切れ.
//!   After capture cancel is refused: the operator chooses 返金.
//! - Refund (after capture, full or partial, up to [`crate::amazon::rules::refundable`]):
//!   `Create Refund` → 返金 when everything captured is given back, else 一部返金. Amazon refunds
//!   are asynchronous (RefundInitiated → Refunded | Declined): kessai records the refund when
//!   Amazon accepts it, and a later Declined is found by reconciliation.
//!
//! # Unsure ([U]) choices, each the cautious reading
//! - ChangeTran restarts the 60-day window (OpenAPI reference says amount changes re-authorise;
//!   the sandbox does the same). If GMO does not, a later capture gets E01420010: refused, no money moves.
//! - The 180-day limit counts whole days from the first authorisation (as the sandbox does);
//!   GMO's plugins count from the last TranDate, which is never earlier.
//! - Expiry at the exact millisecond `authorized_at + N days` counts as expired for both methods
//!   (as `amazon::rules` does; the GMO sandbox still accepts a SALES at that millisecond).
//! - ChangeTran from SALES is not used (its resulting status is undocumented).
//! - Whether Amazon closes a OneTime charge permission by itself after Cancel Charge.
//!
//! # Always
//! `unknown` (結果不明) and `processing` (処理中) payments are refused until reconciled or finished;
//! finished payments (取消, 返品, 返金, 決済失敗, …) are refused; matches over [`PaymentState`] and
//! [`TranStatus`] are total, so a new state has to be decided here.

mod amazon;
mod card;
mod expiry;
mod refusal;

pub use amazon::state_from_amazon_charge;
pub use expiry::{AuthorizationExpiry, CARD_AUTHORIZATION_VALID_DAYS};
pub use refusal::Refusal;

use serde::{Deserialize, Serialize};

use crate::gmo::status::{JobCd, TranStatus};
use crate::jst::UnixMillis;
use crate::money::Jpy;
use crate::payment::PaymentState;

/// How the shopper paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Card through GMO-PG.
    Card,
    AmazonPay,
}

impl PaymentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::Card => "card",
            PaymentMethod::AmazonPay => "amazon_pay",
        }
    }
    pub fn parse(s: &str) -> Option<PaymentMethod> {
        match s {
            "card" => Some(PaymentMethod::Card),
            "amazon_pay" => Some(PaymentMethod::AmazonPay),
            _ => None,
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            PaymentMethod::Card => "クレジットカード",
            PaymentMethod::AmazonPay => "Amazon Pay",
        }
    }
    /// Days a 仮売上 stays capturable.
    pub fn authorization_valid_days(self) -> i64 {
        match self {
            PaymentMethod::Card => CARD_AUTHORIZATION_VALID_DAYS,
            PaymentMethod::AmazonPay => crate::amazon::rules::AUTHORIZATION_VALID_DAYS,
        }
    }
}

/// What kessai knows of a payment when an operator asks for an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSnapshot {
    pub method: PaymentMethod,
    pub state: PaymentState,
    /// The payment's current amount: what the shopper pays after every change so far (Amazon
    /// before capture: what will be captured, possibly less than authorised; after capture: what
    /// was captured minus what was refunded).
    pub amount: Jpy,
    /// What the gateway holds authorised (GMO's Amount; Amazon's Charge `chargeAmount`).
    pub authorized_amount: Jpy,
    /// Captured and not given back by a card cancel (card) / `captureAmount` (Amazon).
    pub captured: Jpy,
    /// Sum of accepted refunds (Amazon; always zero for cards).
    pub refunded: Jpy,
    /// Start of the current authorisation window (仮売上, re-authorisation, card ChangeTran).
    pub authorized_at: Option<UnixMillis>,
    /// The first authorisation (ExecTran / Complete Checkout Session): GMO's 180-day limit.
    pub first_authorized_at: Option<UnixMillis>,
    /// GMO's last TranDate (cancel classification). Unused for Amazon Pay.
    pub last_transaction_at: Option<UnixMillis>,
    /// GMO's transaction status as kessai last saw it (card only).
    pub gmo_status: Option<TranStatus>,
    /// Amazon Pay: the charge permission is a 定期購入's Recurring one (it pays later cycles),
    /// so 取消 cancels the charge only and never closes the permission.
    pub recurring_permission: bool,
}

impl PaymentSnapshot {
    /// The validity window of the current authorisation, when one is recorded.
    pub fn authorization_expiry(&self) -> Option<AuthorizationExpiry> {
        self.authorized_at
            .map(|at| AuthorizationExpiry::new(self.method, at))
    }

    /// The countdown the console shows: only a 仮売上 waits for capture. `None` in every other
    /// state (and when no authorisation time is recorded).
    pub fn capture_deadline(&self) -> Option<AuthorizationExpiry> {
        AuthorizationExpiry::capture_deadline(self.method, self.state, self.authorized_at)
    }

    /// What a step leaves of this payment, at the time `at` its answer came.
    pub fn with_record(&self, record: &Record, at: UnixMillis) -> PaymentSnapshot {
        PaymentSnapshot {
            method: self.method,
            state: record.state,
            amount: record.amount,
            authorized_amount: record.authorized_amount,
            captured: record.captured,
            refunded: record.refunded,
            authorized_at: if record.restarts_authorization {
                Some(at)
            } else {
                self.authorized_at
            },
            first_authorized_at: self.first_authorized_at,
            last_transaction_at: if record.new_transaction_date {
                Some(at)
            } else {
                self.last_transaction_at
            },
            gmo_status: record.gmo_status,
            recurring_permission: self.recurring_permission,
        }
    }

    fn record(&self) -> Record {
        Record {
            state: self.state,
            amount: self.amount,
            authorized_amount: self.authorized_amount,
            captured: self.captured,
            refunded: self.refunded,
            gmo_status: self.gmo_status,
            restarts_authorization: false,
            new_transaction_date: false,
        }
    }
}

/// What an operator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "operation", rename_all = "snake_case")]
pub enum Operation {
    /// 売上確定 (仮売上 → 実売上). `amount: None` captures the payment's amount; Amazon Pay may
    /// capture less (a decrease), a card only exactly the authorised amount.
    Capture { amount: Option<Jpy> },
    /// 金額変更.
    ChangeAmount { to: Jpy },
    /// 取消 (card: 取消/返品/月跨返品 by the JST rule; Amazon Pay: before capture only).
    Cancel,
    /// 返金 (Amazon Pay after capture; full or partial).
    Refund { amount: Jpy },
}

impl Operation {
    pub fn kind(&self) -> OperationKind {
        match self {
            Operation::Capture { .. } => OperationKind::Capture,
            Operation::ChangeAmount { .. } => OperationKind::ChangeAmount,
            Operation::Cancel => OperationKind::Cancel,
            Operation::Refund { .. } => OperationKind::Refund,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    Capture,
    ChangeAmount,
    Cancel,
    Refund,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Capture => "capture",
            OperationKind::ChangeAmount => "change_amount",
            OperationKind::Cancel => "cancel",
            OperationKind::Refund => "refund",
        }
    }
    pub fn label_ja(self) -> &'static str {
        match self {
            OperationKind::Capture => "売上確定",
            OperationKind::ChangeAmount => "金額変更",
            OperationKind::Cancel => "取消",
            OperationKind::Refund => "返金",
        }
    }
}

/// One gateway call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayCall {
    /// GMO AlterTran. `amount` for SALES (= the authorised amount) and for re-authorisation
    /// (AUTH/CAPTURE: the new amount, sent with the payment's original Method/PayTimes).
    GmoAlterTran { job: JobCd, amount: Option<Jpy> },
    /// GMO ChangeTran (amount change) with the JobCd of the transaction's family.
    GmoChangeTran { job: JobCd, amount: Jpy },
    /// Amazon Capture Charge. [U] Amazon may answer `CaptureInitiated` (asynchronous capture, e.g.
    /// long after the authorisation): that is not yet 実売上, so the edge keeps the payment
    /// `unknown` and reconciles with Get Charge.
    AmazonCaptureCharge { amount: Jpy },
    /// Amazon Cancel Charge.
    AmazonCancelCharge,
    /// Amazon Close Charge Permission.
    AmazonCloseChargePermission { cancel_pending_charges: bool },
    /// Amazon Create Refund (accepted as RefundInitiated; settles asynchronously).
    AmazonCreateRefund { amount: Jpy },
}

impl GatewayCall {
    /// Short English description for logs and the event history.
    pub fn describe(&self) -> String {
        match self {
            GatewayCall::GmoAlterTran { job, amount } => match amount {
                Some(a) => format!("GMO AlterTran {} {}", job.as_str(), a.yen()),
                None => format!("GMO AlterTran {}", job.as_str()),
            },
            GatewayCall::GmoChangeTran { job, amount } => {
                format!("GMO ChangeTran {} {}", job.as_str(), amount.yen())
            }
            GatewayCall::AmazonCaptureCharge { amount } => {
                format!("Amazon Pay Capture Charge {}", amount.yen())
            }
            GatewayCall::AmazonCancelCharge => "Amazon Pay Cancel Charge".into(),
            GatewayCall::AmazonCloseChargePermission {
                cancel_pending_charges,
            } => format!(
                "Amazon Pay Close Charge Permission (cancelPendingCharges={cancel_pending_charges})"
            ),
            GatewayCall::AmazonCreateRefund { amount } => {
                format!("Amazon Pay Create Refund {}", amount.yen())
            }
        }
    }
}

/// The part of kessai's record an operation changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    pub state: PaymentState,
    pub amount: Jpy,
    pub authorized_amount: Jpy,
    pub captured: Jpy,
    pub refunded: Jpy,
    pub gmo_status: Option<TranStatus>,
    /// A new authorisation window starts with this step (re-authorisation, card ChangeTran).
    pub restarts_authorization: bool,
    /// GMO answered a new TranDate in this plan: `last_transaction_at` moves to the answer time.
    pub new_transaction_date: bool,
}

/// One call of a plan and the records it leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub call: GatewayCall,
    /// kessai's record once the gateway has accepted this call.
    pub on_success: Record,
    /// kessai's record when the gateway definitively refuses this call (the record before it):
    /// the plan stops here.
    pub on_failure: Record,
}

/// A planned operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub operation: Operation,
    pub method: PaymentMethod,
    /// Gateway calls in order; empty when the change is kessai's alone (Amazon decrease before
    /// capture, or an unchanged amount).
    pub steps: Vec<Step>,
    /// kessai's record before the plan.
    pub start: Record,
    /// kessai's record when every step succeeded.
    pub outcome: Record,
    /// The card cancel classification used (取消/返品/月跨返品), if the plan cancels at GMO.
    pub cancel_job: Option<JobCd>,
    /// A cancel after capture: the console warns that the sale (and its cancellation) may stay
    /// on the shopper's card statement.
    pub stays_on_statement: bool,
}

impl Plan {
    fn new(operation: Operation, snapshot: &PaymentSnapshot) -> Plan {
        let start = snapshot.record();
        Plan {
            operation,
            method: snapshot.method,
            steps: Vec::new(),
            start,
            outcome: start,
            cancel_job: None,
            stays_on_statement: false,
        }
    }

    /// Appends a call whose success leaves `next`; its failure leaves the current outcome.
    fn then(&mut self, call: GatewayCall, next: Record) {
        let next = Record {
            restarts_authorization: next.restarts_authorization
                || self.outcome.restarts_authorization,
            new_transaction_date: next.new_transaction_date || self.outcome.new_transaction_date,
            ..next
        };
        self.steps.push(Step {
            call,
            on_success: next,
            on_failure: self.outcome,
        });
        self.outcome = next;
    }

    /// No gateway call: kessai records the change alone.
    pub fn is_local(&self) -> bool {
        self.steps.is_empty()
    }

    /// The payment after every step succeeded, answered at `at`.
    pub fn apply(&self, snapshot: &PaymentSnapshot, at: UnixMillis) -> PaymentSnapshot {
        snapshot.with_record(&self.outcome, at)
    }

    /// The payment when step `index` was definitively refused at `at` (earlier steps succeeded).
    /// `None` if there is no such step.
    pub fn apply_failed_at(
        &self,
        index: usize,
        snapshot: &PaymentSnapshot,
        at: UnixMillis,
    ) -> Option<PaymentSnapshot> {
        self.steps
            .get(index)
            .map(|step| snapshot.with_record(&step.on_failure, at))
    }
}

/// Plans `operation` on `snapshot` at `now`, or says why not.
pub fn plan(
    operation: Operation,
    snapshot: &PaymentSnapshot,
    now: UnixMillis,
) -> Result<Plan, Refusal> {
    match snapshot.method {
        PaymentMethod::Card => card::plan(operation, snapshot, now),
        PaymentMethod::AmazonPay => amazon::plan(operation, snapshot, now),
    }
}

/// An amount the gateways can charge (¥1 ..= ¥9,999,999).
fn chargeable(amount: Jpy) -> Result<Jpy, Refusal> {
    Jpy::chargeable(amount.yen()).map_err(Refusal::InvalidAmount)
}

/// Refuses once the authorisation window has passed (or if no authorisation time is recorded).
fn require_unexpired(
    snapshot: &PaymentSnapshot,
    operation: OperationKind,
    now: UnixMillis,
) -> Result<(), Refusal> {
    let expiry = snapshot
        .authorization_expiry()
        .ok_or(Refusal::MissingGatewayRecord {
            what: "authorization time",
        })?;
    if expiry.is_expired(now) {
        return Err(Refusal::AuthorizationExpired {
            method: snapshot.method,
            operation,
            expired_at: expiry.expires_at(),
        });
    }
    Ok(())
}
