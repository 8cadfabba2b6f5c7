//! One operation on one payment: plan it (`kessai_core::operations::plan`), claim the payment,
//! run the plan's steps in order, and settle with the plan's outcome, the failed step's
//! `on_failure` record, or `unknown` when a step's result cannot be told.

use super::steps::{Runner, StepResult};
use super::{
    apply_record, changed_meanwhile, plan_summary, refusal_error, reply_with, snapshot_of,
};
use crate::config::Config;
use crate::flows::lease::LEASE_MS;
use crate::http::{ApiError, ApiResult, Reply};
use crate::platform;
use crate::store::{Claim, Event, PaymentRow, Store};
use kessai_core::jst::UnixMillis;
use kessai_core::operations::{Operation, Plan, Step, plan};
use kessai_core::payment::PaymentState;
use serde_json::{Value, json};

/// An operation under way: what it runs on and who asked.
struct Run<'a> {
    store: &'a Store<'a>,
    plan: Plan,
    op: Operation,
    actor: &'a str,
    now: i64,
}

/// Runs `op` on payment `id`: 200 with the payment when every step succeeded, 202 when the
/// outcome is unknown (the payment is `unknown`, reconcile before anything else), an error with
/// the reason otherwise. `actor` is who asked (`merchant`, `operator:<name>`): every event says so.
pub async fn operate(
    store: &Store<'_>,
    cfg: &Config,
    id: &str,
    op: Operation,
    actor: &str,
) -> ApiResult<Reply> {
    let row = store.existing_payment(id).await?;
    planned(store, row, op, actor)?.run_alone(cfg).await
}

/// An operation planned on a payment as read, not yet claimed: [`operate`] claims and runs it
/// at once; 一括売上確定 claims several in one batch first ([`Planned::claim_request`]).
pub struct Planned<'a> {
    run: Run<'a>,
    row: PaymentRow,
    state: PaymentState,
}

/// Plans `op` on `row` (the planner's refusal is the error).
pub fn planned<'a>(
    store: &'a Store<'a>,
    row: PaymentRow,
    op: Operation,
    actor: &'a str,
) -> ApiResult<Planned<'a>> {
    let now = platform::now().0;
    let state = row.state()?;
    let snapshot = snapshot_of(&row)?;
    let plan = plan(op, &snapshot, UnixMillis(now)).map_err(|r| refusal_error(&r))?;
    let run = Run {
        store,
        plan,
        op,
        actor,
        now,
    };
    Ok(Planned { run, row, state })
}

impl Planned<'_> {
    /// Whether the plan calls no gateway (recorded at once, without a claim).
    pub fn is_local(&self) -> bool {
        self.run.plan.is_local()
    }

    /// Claims the payment, runs the plan and settles it, as [`operate`] does.
    pub async fn run_alone(self, cfg: &Config) -> ApiResult<Reply> {
        let Planned { run, row, state } = self;
        if run.plan.is_local() {
            return run.apply_locally(row, state).await;
        }
        let claimed = run.claim(row, state).await?;
        run.execute(cfg, claimed, state).await
    }

    /// The claim (`Store::claim_processing`'s arguments) a batch of claims writes for this one.
    pub fn claim_request(&self) -> (PaymentRow, PaymentState, Event<'_>) {
        self.run.claim_request(&self.row, self.state)
    }

    /// Runs the plan on the payment this run has claimed (`claimed`, as the claim left it).
    pub async fn run_claimed(self, cfg: &Config, claimed: PaymentRow) -> ApiResult<Reply> {
        self.run.execute(cfg, claimed, self.state).await
    }
}

impl Run<'_> {
    /// Runs the plan's steps on the claimed payment and settles it: the last step's record and
    /// the outcome in one write.
    async fn execute(
        &self,
        cfg: &Config,
        mut row: PaymentRow,
        state: PaymentState,
    ) -> ApiResult<Reply> {
        let runner = Runner { cfg };
        let last = self.plan.steps.len().saturating_sub(1);
        for (index, step) in self.plan.steps.iter().enumerate() {
            match runner.run_step(&row, index, step).await? {
                StepResult::Done { detail, tran_date } if index == last => {
                    apply_record(&mut row, &step.on_success, self.now, tran_date.as_deref());
                    let step_ev = self.step_done_event(index, step, detail);
                    let settled = self
                        .store
                        .settle_leased_after_step(
                            row,
                            self.plan.outcome.state,
                            self.now,
                            &step_ev,
                            &self.outcome_event(state),
                        )
                        .await?;
                    return reply_with(&settled, &self.plan, 200);
                }
                StepResult::Done { detail, tran_date } => {
                    row = self.step_done(row, index, step, detail, tran_date).await?;
                }
                StepResult::Refused {
                    detail,
                    gateway_code,
                } => {
                    return Err(self
                        .step_refused(row, index, step, detail, gateway_code)
                        .await?);
                }
                StepResult::Unknown { detail } => {
                    return self.step_unknown(row, index, detail).await;
                }
            }
        }
        // A plan without steps that is not local: the outcome alone.
        let settled = self
            .store
            .settle_leased(
                row,
                self.plan.outcome.state,
                self.now,
                &self.outcome_event(state),
            )
            .await?;
        reply_with(&settled, &self.plan, 200)
    }

    /// The event of the plan's outcome, from the state the operation started in.
    fn outcome_event(&self, state: PaymentState) -> Event<'_> {
        let to = self.plan.outcome.state;
        let kind = self.op.kind().as_str();
        Event {
            actor: self.actor,
            kind,
            detail: json!({ "operation": kind, "from": state.as_str(), "to": to.as_str(), "amount": self.plan.outcome.amount.yen(), "cancel_job": self.plan.cancel_job.map(|j| j.as_str()) }),
        }
    }
}

impl Run<'_> {
    fn kind(&self) -> &'static str {
        self.op.kind().as_str()
    }

    /// A plan without gateway calls (an Amazon decrease before capture): recorded at once.
    async fn apply_locally(&self, row: PaymentRow, state: PaymentState) -> ApiResult<Reply> {
        let mut next = row.clone();
        apply_record(&mut next, &self.plan.outcome, self.now, None);
        let ev = Event {
            actor: self.actor,
            kind: self.kind(),
            detail: json!({ "operation": self.kind(), "from_amount": row.amount, "to_amount": self.plan.outcome.amount.yen(), "gateway_calls": 0 }),
        };
        if !self
            .store
            .transition(&next, state, self.plan.outcome.state, self.now, &ev)
            .await?
        {
            return Err(changed_meanwhile());
        }
        let fresh = self.store.existing_payment(&row.id).await?;
        reply_with(&fresh, &self.plan, 200)
    }

    /// Claim: exactly one operation reaches the gateway. A lost claim is told why this
    /// operation cannot run now.
    async fn claim(&self, row: PaymentRow, state: PaymentState) -> ApiResult<PaymentRow> {
        let (claimed, from, ev) = self.claim_request(&row, state);
        match self
            .store
            .claim_processing(claimed, from, self.now, &ev)
            .await?
        {
            Claim::Won(r) => Ok(r),
            Claim::Lost(current) => Err(self.lost(&current)),
        }
    }

    /// The claimed row (lease, the plan's starting record) and the claim's event.
    fn claim_request(
        &self,
        row: &PaymentRow,
        state: PaymentState,
    ) -> (PaymentRow, PaymentState, Event<'_>) {
        let mut claimed = row.clone();
        claimed.lease_until = Some(self.now + LEASE_MS);
        claimed.first_authorized_at = row.first_authorized_at.or(row.authorized_at);
        // Make the derived record explicit before the first step (later steps build on it).
        apply_record(&mut claimed, &self.plan.start, self.now, None);
        let ev = Event {
            actor: self.actor,
            kind: "operation_started",
            detail: json!({ "operation": self.kind(), "from": state.as_str(), "steps": plan_summary(&self.plan)["steps"] }),
        };
        (claimed, state, ev)
    }

    /// Someone else changed the payment first: why this operation cannot run now.
    fn lost(&self, current: &PaymentRow) -> ApiError {
        let snap = match snapshot_of(current) {
            Ok(s) => s,
            Err(e) => return e,
        };
        match plan(self.op, &snap, UnixMillis(self.now)) {
            Err(r) => refusal_error(&r),
            Ok(_) => changed_meanwhile(),
        }
    }

    /// The step's event detail: the gateway's detail with the operation, the step and the
    /// records it went between.
    fn step_detail(&self, detail: Value, index: usize, from: &str, to: &str) -> Value {
        let mut d = detail;
        d["operation"] = json!(self.kind());
        d["step"] = json!(index + 1);
        d["from"] = json!(from);
        d["to"] = json!(to);
        d
    }

    /// The history line of a step the gateway accepted.
    fn step_done_event(&self, index: usize, step: &Step, detail: Value) -> Event<'_> {
        Event {
            actor: self.actor,
            kind: "operation_step",
            detail: self.step_detail(
                detail,
                index,
                step.on_failure.state.as_str(),
                step.on_success.state.as_str(),
            ),
        }
    }

    /// A step the gateway accepted: its record, kept under the lease by compare-and-set.
    async fn step_done(
        &self,
        mut row: PaymentRow,
        index: usize,
        step: &Step,
        detail: Value,
        tran_date: Option<String>,
    ) -> ApiResult<PaymentRow> {
        apply_record(&mut row, &step.on_success, self.now, tran_date.as_deref());
        let ev = self.step_done_event(index, step, detail);
        if !self
            .store
            .transition(
                &row,
                PaymentState::Processing,
                PaymentState::Processing,
                self.now,
                &ev,
            )
            .await?
        {
            // The lease ran out and someone else settled the payment: theirs stands.
            return Err(changed_meanwhile());
        }
        row.version += 1;
        Ok(row)
    }

    /// A step the gateway refused: the step's `on_failure` record stands; the error says why.
    async fn step_refused(
        &self,
        mut row: PaymentRow,
        index: usize,
        step: &Step,
        detail: Value,
        gateway_code: String,
    ) -> ApiResult<ApiError> {
        apply_record(&mut row, &step.on_failure, self.now, None);
        let to = step.on_failure.state;
        let ev = Event {
            actor: self.actor,
            kind: "operation_failed",
            detail: self.step_detail(detail, index, step.on_failure.state.as_str(), to.as_str()),
        };
        let settled = self.store.settle_leased(row, to, self.now, &ev).await?;
        let state = settled.state()?;
        Ok(ApiError::new(
            409,
            "gateway_refused",
            format!(
                "the gateway refused {} ({gateway_code}); the payment is {}",
                step.call.describe(),
                state.as_str()
            ),
            format!(
                "決済ゲートウェイが{}を受け付けませんでした（{gateway_code}）。現在の状態: {}",
                self.op.kind().label_ja(),
                state.label_ja()
            ),
        )
        .with("gateway_code", gateway_code)
        .with("state", state.as_str())
        .with("step", index + 1))
    }

    /// A step whose result cannot be told: the payment is `unknown` (202).
    async fn step_unknown(&self, row: PaymentRow, index: usize, detail: Value) -> ApiResult<Reply> {
        let mut d = detail;
        d["operation"] = json!(self.kind());
        d["step"] = json!(index + 1);
        let ev = Event {
            actor: "system",
            kind: "outcome_unknown",
            detail: d,
        };
        let settled = self
            .store
            .settle_leased(row, PaymentState::Unknown, self.now, &ev)
            .await?;
        let mut reply = reply_with(&settled, &self.plan, 202)?;
        reply.body["error"] = ApiError::new(
            202,
            "outcome_unknown",
            "the gateway has not confirmed the result; reconcile before anything else",
            "決済ゲートウェイの処理結果を確認できませんでした。再操作せず、照会してください。",
        )
        .body()["error"]
            .clone();
        Ok(reply)
    }
}
