//! `payments`: the payment aggregate. Every change is a compare-and-set on `version`
//! ([`Store::transition`]) batched with its event, so a lost race changes nothing and writes
//! no history; a processing lease ([`Store::claim_processing`]) gives one flow at a time the
//! right to talk to the gateway.

use super::db::{Member, Store, changes, d1, n, opt, opt_n, s};
use super::events::Event;
use crate::http::{ApiError, ApiResult};
use kessai_core::amazon::errors::AmazonErrorClass;
use kessai_core::gmo::api::Access;
use kessai_core::gmo::installments::Installments;
use kessai_core::operations::PaymentMethod;
use kessai_core::payment::{CaptureMode, PaymentState};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use worker::D1PreparedStatement;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PaymentRow {
    pub id: String,
    pub client_secret: String,
    pub order_id: String,
    pub amount: i64,
    pub currency: String,
    pub method: String,
    pub capture_mode: String,
    pub state: String,
    pub version: i64,
    pub lease_until: Option<i64>,
    pub attempt_started_at: Option<i64>,
    pub gmo_order_id: String,
    pub gmo_attempt: i64,
    pub gmo_access_id: Option<String>,
    pub gmo_access_pass: Option<String>,
    pub gmo_tran_id: Option<String>,
    pub gmo_approve: Option<String>,
    pub gmo_forward: Option<String>,
    pub gmo_tran_date: Option<String>,
    pub card_mask: Option<String>,
    pub last_error_code: Option<String>,
    pub last_error_info: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub authorized_at: Option<i64>,
    // Amazon Pay (migration 0002).
    #[serde(default)]
    pub amazon_checkout_session_id: Option<String>,
    #[serde(default)]
    pub amazon_charge_id: Option<String>,
    #[serde(default)]
    pub amazon_charge_permission_id: Option<String>,
    #[serde(default)]
    pub amazon_buyer_id: Option<String>,
    #[serde(default)]
    pub amazon_buyer_name: Option<String>,
    #[serde(default)]
    pub amazon_buyer_email: Option<String>,
    /// JSON of the shipping address Amazon reported.
    #[serde(default)]
    pub shipping_address: Option<String>,
    /// The storefront page an Amazon flow ends on (on an allowed origin, checked when stored).
    #[serde(default)]
    pub return_url: Option<String>,
    // Operations (migration 0003); NULL until an operation (or a flow that knows them) sets them.
    #[serde(default)]
    pub authorized_amount: Option<i64>,
    #[serde(default)]
    pub captured_amount: Option<i64>,
    #[serde(default)]
    pub refunded_amount: Option<i64>,
    #[serde(default)]
    pub first_authorized_at: Option<i64>,
    #[serde(default)]
    pub gmo_status: Option<String>,
    /// The customer's name as the storefront sent it (migration 0004).
    #[serde(default)]
    pub customer_name: Option<String>,
    /// 3-D Secure risk data, normalised JSON (migration 0008); written on creation and on a
    /// resumed creation that sends it, never by `transition`.
    #[serde(default)]
    pub risk_data: Option<String>,
    // Stored cards and 支払回数 (migration 0009).
    /// The shop's customer (member) id, set on creation; written by `transition` never.
    #[serde(default)]
    pub customer_id: Option<String>,
    /// 支払回数 of the current attempt (`kessai_core::gmo::installments` code).
    #[serde(default = "lump")]
    pub installments: String,
    /// The stored card (CardSeq) the current attempt pays with; `None`: a token.
    #[serde(default)]
    pub card_seq: Option<i64>,
    /// The shopper asked to save the card of the current attempt (1), with the brand the
    /// widget saw.
    #[serde(default)]
    pub save_card: i64,
    #[serde(default)]
    pub save_card_brand: Option<String>,
    /// The card saved from this payment (TradedCard's CardSeq).
    #[serde(default)]
    pub saved_card_seq: Option<i64>,
    /// The subscription (定期購入, #15) this payment is one attempt of.
    #[serde(default)]
    pub subscription_id: Option<String>,
    /// A 定期購入 sign-up at checkout: the plan (`SubscriptionPlan` JSON) it sets up once paid.
    #[serde(default)]
    pub subscription_plan: Option<String>,
}

fn lump() -> String {
    "lump".to_string()
}

impl PaymentRow {
    pub fn state(&self) -> ApiResult<PaymentState> {
        PaymentState::parse(&self.state).ok_or_else(|| ApiError::internal("unknown state in D1"))
    }
    pub fn capture(&self) -> ApiResult<CaptureMode> {
        CaptureMode::parse(&self.capture_mode)
            .ok_or_else(|| ApiError::internal("unknown capture mode in D1"))
    }
    /// 支払回数 of the current (or last) attempt.
    pub fn pay_installments(&self) -> ApiResult<Installments> {
        Installments::parse(&self.installments)
            .ok_or_else(|| ApiError::internal("unknown installments in D1"))
    }
    /// How the payment's current (or last) attempt pays: card unless it went through Amazon Pay.
    pub fn method(&self) -> PaymentMethod {
        if self.is_amazon() {
            PaymentMethod::AmazonPay
        } else {
            PaymentMethod::Card
        }
    }
    /// Whether the payment's current (or last) attempt went through Amazon Pay.
    pub fn is_amazon(&self) -> bool {
        self.method == PaymentMethod::AmazonPay.as_str()
    }
    /// The Amazon error class `last_error_code` names, if it is one.
    pub fn last_amazon_error(&self) -> Option<AmazonErrorClass> {
        let code = self.last_error_code.as_deref()?;
        AmazonErrorClass::ALL.into_iter().find(|k| k.code() == code)
    }
    /// The stored GMO AccessID/AccessPass, once EntryTran gave them.
    pub fn gmo_access(&self) -> Option<Access> {
        match (&self.gmo_access_id, &self.gmo_access_pass) {
            (Some(id), Some(pass)) => Some(Access {
                access_id: id.clone(),
                access_pass: pass.clone(),
            }),
            _ => None,
        }
    }
    /// Whether a lease protects the payment's `processing` at `now`.
    pub fn lease_live(&self, now: i64) -> bool {
        self.lease_until.is_some_and(|t| t > now)
    }
}

/// Who holds a payment after [`Store::claim_processing`].
pub enum Claim {
    /// We moved it into `processing` (the row as stored now).
    Won(PaymentRow),
    /// Someone else changed the payment first; this is its current row.
    Lost(PaymentRow),
}

/// What `GET /v1/payments` asks for (the flow decides the states and bounds; SQL is here).
pub struct ListQuery<'a> {
    /// At most two stored states (none: any).
    pub states: Vec<PaymentState>,
    pub method: Option<PaymentMethod>,
    /// Part of the order id, customer or buyer name, or a gateway id; exactly a payment id,
    /// AccessID or TranID.
    pub q: Option<&'a str>,
    pub limit: i64,
    /// 期限間近 / 期限切れ: only 仮売上 authorised at or before these instants (card, Amazon Pay)
    /// are read, most urgent first.
    pub authorized_by: Option<(i64, i64)>,
}

pub struct NewPayment<'a> {
    pub id: &'a str,
    pub client_secret: &'a str,
    pub order_id: &'a str,
    pub amount: i64,
    pub capture: CaptureMode,
    pub gmo_order_id: &'a str,
    pub now: i64,
    pub customer_name: Option<&'a str>,
    pub risk_data: Option<&'a str>,
    pub customer_id: Option<&'a str>,
    /// `SubscriptionPlan` JSON of a 定期購入 sign-up.
    pub subscription_plan: Option<&'a str>,
}

/// The claim of a new 定期購入 payment for its stored-card attempt, written in the batch that
/// creates it ([`Store::insert_subscription_payment`]).
pub struct StoredCardClaim<'a> {
    pub lease_until: i64,
    pub card_seq: i64,
    /// 支払回数 code (a merchant-initiated charge is 一括).
    pub installments: &'a str,
    /// `authorization_started`, as the card flow's own claim records it.
    pub event: Event<'a>,
}

/// Statements that ride in the batch of a payment's settle into a paid state (#17: a 定期購入
/// charge's subscription compare-and-set, [`Store::subscription_cas_if_paid`]): one round trip
/// for both. Each rider statement is conditioned by its writer on what the batch leaves (the
/// payment paid), so it writes nothing unless that holds. Taken by the first paid settle, at most
/// once; [`PaidRider::won`] then tells whether its first statement changed a row.
#[derive(Default)]
pub struct PaidRider {
    stmts: RefCell<Option<Vec<D1PreparedStatement>>>,
    won: Cell<Option<bool>>,
}

impl PaidRider {
    pub fn new(stmts: Vec<D1PreparedStatement>) -> PaidRider {
        PaidRider {
            stmts: RefCell::new(Some(stmts)),
            won: Cell::new(None),
        }
    }

    /// `None`: it never rode (no paid settle, or the batch failed); `Some(won)` once it did.
    pub fn won(&self) -> Option<bool> {
        self.won.get()
    }
}

impl Store<'_> {
    /// Inserts a payment and its `created` event. `Ok(false)` when the order already has one.
    pub async fn insert_payment(&self, p: &NewPayment<'_>, ev: &Event<'_>) -> ApiResult<bool> {
        let insert = self.stmt(
            "INSERT INTO payments (id, client_secret, order_id, amount, capture_mode, state, gmo_order_id, created_at, updated_at, customer_name, risk_data, customer_id, subscription_plan) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'requires_payment', ?6, ?7, ?7, ?8, ?9, ?10, ?11) ON CONFLICT(order_id) DO NOTHING",
            &[s(p.id), s(p.client_secret), s(p.order_id), n(p.amount), s(p.capture.as_str()), s(p.gmo_order_id), n(p.now),
              opt(p.customer_name), opt(p.risk_data), opt(p.customer_id), opt(p.subscription_plan)],
        )?;
        let event = self.event_stmt(p.id, p.now, None, Some(PaymentState::RequiresPayment), ev)?;
        let res = self.db.batch(vec![insert, event]).await.map_err(d1)?;
        Ok(res.first().map(changes) == Some(1))
    }

    /// A 定期購入 attempt's payment in one round trip (#17; was five): created once under its
    /// order id (a payment an earlier or concurrent run created is kept, and the `created` event
    /// is written only with a new row, as [`Store::insert_payment`]), tagged with its
    /// subscription unless it already carries one, and read back.
    ///
    /// With `claim` (a charge on a stored card, #17), a payment this call created is also
    /// claimed for its card attempt in the same batch (see [`Store::fresh_stored_card_claim`]):
    /// the read row is then `processing` under that lease. A payment that already existed is
    /// read as it is and never claimed here.
    pub async fn insert_subscription_payment(
        &self,
        p: &NewPayment<'_>,
        ev: &Event<'_>,
        subscription_id: &str,
        claim: Option<&StoredCardClaim<'_>>,
    ) -> ApiResult<Option<PaymentRow>> {
        let stmts = self.subscription_payment_stmts(p, ev, subscription_id, claim)?;
        self.batch_last_first(stmts).await
    }

    /// [`Store::insert_subscription_payment`] of several attempts in one batch (the cron's group
    /// of charges started together, #17): each attempt's statements exactly as alone, so each is
    /// created, tagged and claimed (or found as it is) on its own; the batch only saves round
    /// trips. Answers each attempt's row, in the order asked.
    pub async fn insert_subscription_payments(
        &self,
        attempts: &[(NewPayment<'_>, Event<'_>, &str, Option<StoredCardClaim<'_>>)],
    ) -> ApiResult<Vec<Option<PaymentRow>>> {
        let mut stmts = Vec::new();
        let mut reads = Vec::with_capacity(attempts.len());
        for (p, ev, subscription_id, claim) in attempts {
            stmts.extend(self.subscription_payment_stmts(
                p,
                ev,
                subscription_id,
                claim.as_ref(),
            )?);
            // Each attempt's read is its last statement.
            reads.push(stmts.len() - 1);
        }
        let res = self.db.batch(stmts).await.map_err(d1)?;
        reads
            .into_iter()
            .map(|i| match res.get(i) {
                Some(r) => Ok(r.results::<PaymentRow>().map_err(d1)?.into_iter().next()),
                None => Ok(None),
            })
            .collect()
    }

    /// One attempt's statements for [`Store::insert_subscription_payment`], its read last.
    fn subscription_payment_stmts(
        &self,
        p: &NewPayment<'_>,
        ev: &Event<'_>,
        subscription_id: &str,
        claim: Option<&StoredCardClaim<'_>>,
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let insert = self.stmt(
            "INSERT INTO payments (id, client_secret, order_id, amount, capture_mode, state, gmo_order_id, created_at, updated_at, customer_name, risk_data, customer_id, subscription_plan) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'requires_payment', ?6, ?7, ?7, ?8, ?9, ?10, ?11) ON CONFLICT(order_id) DO NOTHING",
            &[s(p.id), s(p.client_secret), s(p.order_id), n(p.amount), s(p.capture.as_str()), s(p.gmo_order_id), n(p.now),
              opt(p.customer_name), opt(p.risk_data), opt(p.customer_id), opt(p.subscription_plan)],
        )?;
        let event = self.event_stmt(p.id, p.now, None, Some(PaymentState::RequiresPayment), ev)?;
        let tag = self.stmt(
            "UPDATE payments SET subscription_id = ?2 WHERE order_id = ?1 AND subscription_id IS NULL",
            &[s(p.order_id), s(subscription_id)],
        )?;
        let read = self.stmt(
            "SELECT * FROM payments WHERE order_id = ?1",
            &[s(p.order_id)],
        )?;
        let mut stmts = vec![insert, event, tag];
        if let Some(c) = claim {
            stmts.extend(self.fresh_stored_card_claim(p, c)?);
        }
        stmts.push(read);
        Ok(stmts)
    }

    /// The card flow's claim (`requires_payment → processing` with its lease, as
    /// `card_checkout`'s `claim_attempt` writes it for a stored card, 一括, nothing saved) of
    /// the payment `p` describes, only if it is the row just inserted under `p.id` and nothing
    /// touched it yet (`version = 0`); its event only if the claim was written.
    fn fresh_stored_card_claim(
        &self,
        p: &NewPayment<'_>,
        c: &StoredCardClaim<'_>,
    ) -> ApiResult<[D1PreparedStatement; 2]> {
        let claim = self.stmt(
            "UPDATE payments SET state = 'processing', version = version + 1, lease_until = ?2, \
               attempt_started_at = ?3, updated_at = ?3, method = 'card', installments = ?4, card_seq = ?5, \
               save_card = 0, save_card_brand = NULL \
             WHERE id = ?1 AND version = 0 AND state = 'requires_payment'",
            &[s(p.id), n(c.lease_until), n(p.now), s(c.installments), n(c.card_seq)],
        )?;
        let event = self.event_stmt(
            p.id,
            p.now,
            Some(PaymentState::RequiresPayment),
            Some(PaymentState::Processing),
            &c.event,
        )?;
        Ok([claim, event])
    }

    /// Replaces the 3-D Secure risk data of a payment nothing was charged on yet.
    pub async fn set_risk_data(&self, id: &str, risk_data: &str) -> ApiResult<bool> {
        self.run(
            "UPDATE payments SET risk_data = ?2 WHERE id = ?1 AND state = 'requires_payment'",
            &[s(id), s(risk_data)],
        )
        .await
        .map(|n| n == 1)
    }

    pub async fn payment(&self, id: &str) -> ApiResult<Option<PaymentRow>> {
        self.first("SELECT * FROM payments WHERE id = ?1", &[s(id)])
            .await
    }

    /// A payment the caller names: 404 when it does not exist.
    pub async fn existing_payment(&self, id: &str) -> ApiResult<PaymentRow> {
        self.payment(id)
            .await?
            .ok_or_else(|| ApiError::not_found("payment"))
    }

    pub async fn payment_by_order(&self, order_id: &str) -> ApiResult<Option<PaymentRow>> {
        self.first("SELECT * FROM payments WHERE order_id = ?1", &[s(order_id)])
            .await
    }

    /// The payment of a GMO OrderID (GMO 結果通知).
    pub async fn payment_by_gmo_order(&self, gmo_order_id: &str) -> ApiResult<Option<PaymentRow>> {
        self.first(
            "SELECT * FROM payments WHERE gmo_order_id = ?1 LIMIT 1",
            &[s(gmo_order_id)],
        )
        .await
    }

    /// The payment an Amazon Pay IPN is about, in one round trip (#17; was two when the first
    /// missed): the payment holding the charge when the IPN names one (a 定期購入 permission has
    /// one payment per cycle), else the charge permission's payment. Both reads in one batch.
    pub async fn payment_for_amazon_ipn(
        &self,
        charge_id: Option<&str>,
        charge_permission_id: &str,
    ) -> ApiResult<Option<PaymentRow>> {
        let Some(charge_id) = charge_id else {
            return self
                .payment_by_charge_permission(charge_permission_id)
                .await;
        };
        let by_charge = self.stmt(
            "SELECT * FROM payments WHERE amazon_charge_id = ?1 LIMIT 1",
            &[s(charge_id)],
        )?;
        let by_permission = self.stmt(
            "SELECT * FROM payments WHERE amazon_charge_permission_id = ?1 LIMIT 1",
            &[s(charge_permission_id)],
        )?;
        for res in self
            .db
            .batch(vec![by_charge, by_permission])
            .await
            .map_err(d1)?
        {
            if let Some(row) = res.results::<PaymentRow>().map_err(d1)?.into_iter().next() {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// The payment of an Amazon charge permission (Amazon Pay IPN).
    pub async fn payment_by_charge_permission(
        &self,
        charge_permission_id: &str,
    ) -> ApiResult<Option<PaymentRow>> {
        self.first(
            "SELECT * FROM payments WHERE amazon_charge_permission_id = ?1 LIMIT 1",
            &[s(charge_permission_id)],
        )
        .await
    }

    /// Payments whose outcome is open and nobody is working on: `unknown`, or `processing` with
    /// a lease that has run out. Oldest first (the Cron sweep, `flows::sweep`).
    pub async fn open_outcomes(
        &self,
        now: i64,
        authentication_started_before: i64,
        limit: i64,
    ) -> ApiResult<Vec<PaymentRow>> {
        self.all(
            "SELECT * FROM payments WHERE state = 'unknown' \
             OR (state = 'processing' AND (lease_until IS NULL OR lease_until <= ?1)) \
             OR (state = 'requires_action' AND COALESCE(attempt_started_at, updated_at) <= ?3) \
             ORDER BY updated_at LIMIT ?2",
            &[n(now), n(limit), n(authentication_started_before)],
        )
        .await
    }

    /// The payments of `ids` that exist, in one round trip (一括売上確定 reads a request's
    /// payments at once; #17). The order is not `ids`'s: callers look rows up by id.
    pub async fn payments_by_ids(&self, ids: &[String]) -> ApiResult<Vec<PaymentRow>> {
        let list = serde_json::to_string(ids).map_err(|_| ApiError::internal("ids JSON"))?;
        self.all(
            "SELECT * FROM payments WHERE id IN (SELECT value FROM json_each(?1))",
            &[s(&list)],
        )
        .await
    }

    /// Compare-and-set: applies `row`'s mutable columns if the stored version is still
    /// `row.version`, bumps the version and appends `ev`. Returns whether it won.
    pub async fn transition(
        &self,
        row: &PaymentRow,
        from: PaymentState,
        to: PaymentState,
        now: i64,
        ev: &Event<'_>,
    ) -> ApiResult<bool> {
        let stmts = self.transition_stmts(row, from, to, now, &[(from, to, ev)])?;
        let res = self.db.batch(stmts).await.map_err(d1)?;
        Ok(res.first().map(changes) == Some(1))
    }

    /// The statements of one compare-and-set ([`Store::transition`]) for a batch: the update,
    /// then one event per `(from, to, event)`, each written only if the statement before it
    /// wrote a row (`changes() = 1`), so a lost compare-and-set writes none of them. More than
    /// one event: records that end in the same write (a plan's last step and its outcome), in
    /// order.
    pub(crate) fn transition_stmts(
        &self,
        row: &PaymentRow,
        from: PaymentState,
        to: PaymentState,
        now: i64,
        events: &[(PaymentState, PaymentState, &Event<'_>)],
    ) -> ApiResult<Vec<D1PreparedStatement>> {
        let update = self.stmt(
            "UPDATE payments SET state = ?1, version = version + 1, lease_until = ?2, amount = ?3, \
               gmo_order_id = ?4, gmo_attempt = ?5, gmo_access_id = ?6, gmo_access_pass = ?7, gmo_tran_id = ?8, \
               gmo_approve = ?9, gmo_forward = ?10, gmo_tran_date = ?11, card_mask = ?12, last_error_code = ?13, \
               last_error_info = ?14, authorized_at = ?15, updated_at = ?16, capture_mode = ?20, attempt_started_at = ?21, \
               method = ?22, amazon_checkout_session_id = ?23, amazon_charge_id = ?24, amazon_charge_permission_id = ?25, \
               amazon_buyer_id = ?26, amazon_buyer_name = ?27, amazon_buyer_email = ?28, shipping_address = ?29, return_url = ?30, \
               authorized_amount = ?31, captured_amount = ?32, refunded_amount = ?33, first_authorized_at = ?34, gmo_status = ?35, \
               installments = ?36, card_seq = ?37, save_card = ?38, save_card_brand = ?39, saved_card_seq = ?40 \
             WHERE id = ?17 AND version = ?18 AND state = ?19",
            &[
                s(to.as_str()),
                opt_n(row.lease_until),
                n(row.amount),
                s(&row.gmo_order_id),
                n(row.gmo_attempt),
                opt(row.gmo_access_id.as_deref()),
                opt(row.gmo_access_pass.as_deref()),
                opt(row.gmo_tran_id.as_deref()),
                opt(row.gmo_approve.as_deref()),
                opt(row.gmo_forward.as_deref()),
                opt(row.gmo_tran_date.as_deref()),
                opt(row.card_mask.as_deref()),
                opt(row.last_error_code.as_deref()),
                opt(row.last_error_info.as_deref()),
                opt_n(row.authorized_at),
                n(now),
                s(&row.id),
                n(row.version),
                s(from.as_str()),
                s(&row.capture_mode),
                opt_n(row.attempt_started_at),
                s(&row.method),
                opt(row.amazon_checkout_session_id.as_deref()),
                opt(row.amazon_charge_id.as_deref()),
                opt(row.amazon_charge_permission_id.as_deref()),
                opt(row.amazon_buyer_id.as_deref()),
                opt(row.amazon_buyer_name.as_deref()),
                opt(row.amazon_buyer_email.as_deref()),
                opt(row.shipping_address.as_deref()),
                opt(row.return_url.as_deref()),
                opt_n(row.authorized_amount),
                opt_n(row.captured_amount),
                opt_n(row.refunded_amount),
                opt_n(row.first_authorized_at),
                opt(row.gmo_status.as_deref()),
                s(&row.installments),
                opt_n(row.card_seq),
                n(row.save_card),
                opt(row.save_card_brand.as_deref()),
                opt_n(row.saved_card_seq),
            ],
        )?;
        let mut stmts = vec![update];
        for (event_from, event_to, ev) in events {
            stmts.push(self.event_stmt(&row.id, now, Some(*event_from), Some(*event_to), ev)?);
        }
        Ok(stmts)
    }

    /// Moves `claimed` (its lease already set) from `from` into `processing` by compare-and-set.
    /// Losing means someone else changed the payment first: their current row is returned.
    pub async fn claim_processing(
        &self,
        mut claimed: PaymentRow,
        from: PaymentState,
        now: i64,
        ev: &Event<'_>,
    ) -> ApiResult<Claim> {
        if self
            .transition(&claimed, from, PaymentState::Processing, now, ev)
            .await?
        {
            claimed.state = PaymentState::Processing.as_str().to_string();
            claimed.version += 1;
            Ok(Claim::Won(claimed))
        } else {
            Ok(Claim::Lost(self.current_payment(&claimed.id).await?))
        }
    }

    /// Leaves a leased `processing` (or `unknown`) payment for `to` and clears the lease. The
    /// caller held the lease, so a lost compare-and-set means the lease expired and someone else
    /// settled it: their row is returned.
    pub async fn settle_leased(
        &self,
        mut next: PaymentRow,
        to: PaymentState,
        now: i64,
        ev: &Event<'_>,
    ) -> ApiResult<PaymentRow> {
        let from = next.state()?;
        next.lease_until = None;
        if self.transition(&next, from, to, now, ev).await? {
            next.state = to.as_str().to_string();
            next.version += 1;
            Ok(next)
        } else {
            self.current_payment(&next.id).await
        }
    }

    /// [`Store::settle_leased`] into a paid state with `rider`'s statements in the same batch
    /// (after the payment's compare-and-set and its event), if it still has them (#17); with
    /// `via`, in its group's batch.
    pub async fn settle_leased_riding(
        &self,
        mut next: PaymentRow,
        to: PaymentState,
        now: i64,
        ev: &Event<'_>,
        rider: &PaidRider,
        via: Option<&Member>,
    ) -> ApiResult<PaymentRow> {
        let from = next.state()?;
        next.lease_until = None;
        let mut stmts = self.transition_stmts(&next, from, to, now, &[(from, to, ev)])?;
        let own = stmts.len();
        let riding = rider.stmts.borrow_mut().take();
        let rode = riding.is_some();
        stmts.extend(riding.unwrap_or_default());
        let res = match via {
            Some(member) => member.batch(self.db, stmts).await?,
            None => self.db.batch(stmts).await.map_err(d1)?,
        };
        if rode {
            rider.won.set(Some(res.get(own).map(changes) == Some(1)));
        }
        if res.first().map(changes) == Some(1) {
            next.state = to.as_str().to_string();
            next.version += 1;
            Ok(next)
        } else {
            self.current_payment(&next.id).await
        }
    }

    /// [`Store::settle_leased`] of a plan's last gateway step (#17): the step's record
    /// (`processing → processing`, `step_ev`) and the outcome (`ev`) in one compare-and-set,
    /// both events in its batch — one round trip instead of two, nothing between them that a
    /// crash could split (a lost answer is reconciled from the lease as before).
    pub async fn settle_leased_after_step(
        &self,
        mut next: PaymentRow,
        to: PaymentState,
        now: i64,
        step_ev: &Event<'_>,
        ev: &Event<'_>,
    ) -> ApiResult<PaymentRow> {
        let from = next.state()?;
        next.lease_until = None;
        let stmts = self.transition_stmts(
            &next,
            from,
            to,
            now,
            &[(from, from, step_ev), (from, to, ev)],
        )?;
        let res = self.db.batch(stmts).await.map_err(d1)?;
        if res.first().map(changes) == Some(1) {
            next.state = to.as_str().to_string();
            next.version += 1;
            Ok(next)
        } else {
            self.current_payment(&next.id).await
        }
    }

    /// [`Store::claim_processing`] of several payments in one batch (一括売上確定, #17): each
    /// its own compare-and-set with its event, so each is won or lost alone exactly as a single
    /// claim; the batch only saves round trips. Answers in the order of `claims`: the claimed
    /// row for a claim won, `None` for one someone else's change beat (the caller reads the
    /// payment again if it needs to know why).
    pub async fn claim_processing_many(
        &self,
        claims: Vec<(PaymentRow, PaymentState, Event<'_>)>,
        now: i64,
    ) -> ApiResult<Vec<Option<PaymentRow>>> {
        let mut stmts = Vec::with_capacity(claims.len() * 2);
        for (claimed, from, ev) in &claims {
            stmts.extend(self.transition_stmts(
                claimed,
                *from,
                PaymentState::Processing,
                now,
                &[(*from, PaymentState::Processing, ev)],
            )?);
        }
        let res = self.db.batch(stmts).await.map_err(d1)?;
        Ok(claims
            .into_iter()
            .enumerate()
            .map(|(i, (mut claimed, _, _))| {
                // Two statements per claim: the update's result is at 2 i.
                (res.get(2 * i).map(changes) == Some(1)).then(|| {
                    claimed.state = PaymentState::Processing.as_str().to_string();
                    claimed.version += 1;
                    claimed
                })
            })
            .collect())
    }

    /// A payment this flow has just read: it cannot have gone (500, not 404, if it did).
    async fn current_payment(&self, id: &str) -> ApiResult<PaymentRow> {
        self.payment(id)
            .await?
            .ok_or_else(|| ApiError::internal("payment vanished"))
    }

    /// Records a fresh GMO OrderID chosen mid-flight (the old one was taken without a payment)
    /// while we hold the processing lease.
    pub async fn save_gmo_order(
        &self,
        id: &str,
        version: i64,
        gmo_order_id: &str,
        gmo_attempt: i64,
    ) -> ApiResult<()> {
        self.run(
            "UPDATE payments SET gmo_order_id = ?1, gmo_attempt = ?2, gmo_access_id = NULL, gmo_access_pass = NULL WHERE id = ?3 AND version = ?4",
            &[s(gmo_order_id), n(gmo_attempt), s(id), n(version)],
        )
        .await?;
        Ok(())
    }

    /// Records gateway ids learnt mid-flight (AccessID/AccessPass after EntryTran) while we hold
    /// the processing lease, so a crash after this point can still be reconciled. With `via`, in
    /// its group's batch (#17), still before the ExecTran it protects.
    pub async fn save_access(
        &self,
        id: &str,
        version: i64,
        access: &Access,
        via: Option<&Member>,
    ) -> ApiResult<()> {
        let stmt = self.stmt(
            "UPDATE payments SET gmo_access_id = ?1, gmo_access_pass = ?2 WHERE id = ?3 AND version = ?4",
            &[s(&access.access_id), s(&access.access_pass), s(id), n(version)],
        )?;
        match via {
            Some(member) => {
                member.batch(self.db, vec![stmt]).await?;
            }
            None => {
                stmt.run().await.map_err(d1)?;
            }
        }
        Ok(())
    }

    /// The latest payments matching `q`, newest first (most urgent first with `authorized_by`).
    pub async fn list_payments(&self, q: &ListQuery<'_>) -> ApiResult<Vec<PaymentRow>> {
        let sql = "SELECT * FROM payments WHERE \
            (?1 IS NULL OR state = ?1 OR state = ?2) AND (?3 IS NULL OR method = ?3) AND \
            (?4 IS NULL OR id = ?5 OR order_id LIKE ?4 ESCAPE '\\' OR customer_name LIKE ?4 ESCAPE '\\' \
             OR amazon_buyer_name LIKE ?4 ESCAPE '\\' OR gmo_order_id LIKE ?4 ESCAPE '\\' OR gmo_access_id = ?5 \
             OR gmo_tran_id = ?5 OR amazon_charge_id LIKE ?4 ESCAPE '\\' OR amazon_charge_permission_id LIKE ?4 ESCAPE '\\' \
             OR amazon_checkout_session_id LIKE ?4 ESCAPE '\\') AND \
            (?7 IS NULL OR state <> 'authorized' OR (method = 'card' AND authorized_at <= ?7) \
             OR (method = 'amazon_pay' AND authorized_at <= ?8)) \
            ORDER BY CASE WHEN ?7 IS NULL THEN 0 ELSE authorized_at END, created_at DESC LIMIT ?6";
        let like = q.q.map(|q| {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
        self.all(
            sql,
            &[
                opt(q.states.first().map(|st| st.as_str())),
                opt(q.states.get(1).map(|st| st.as_str())),
                opt(q.method.map(PaymentMethod::as_str)),
                opt(like.as_deref()),
                opt(q.q),
                n(q.limit),
                opt_n(q.authorized_by.map(|b| b.0)),
                opt_n(q.authorized_by.map(|b| b.1)),
            ],
        )
        .await
    }
}
