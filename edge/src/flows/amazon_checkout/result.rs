//! `GET /v1/amazon-pay/result`: Amazon sends the shopper here after its confirmation page. One
//! Complete per payment at a time (the claim); a reload, a back button or a concurrent request
//! only redirects with the outcome, never completes again.

use super::super::subscriptions::sign_up;
use super::settle::{Answered, Flow, claim};
use super::{
    ShopperOutcome, back_to_shop, load_for_nav, nav_or_back_to_shop, outcome_of, valid_session_id,
};
use crate::config::{AmazonConfig, Config};
use crate::http::{ApiResult, Nav};
use crate::platform;
use crate::store::{Claim, PaymentRow, Store};
use kessai_core::payment::Phase;

/// `GET /v1/amazon-pay/result?payment=&amazonCheckoutSessionId=`.
pub async fn result(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    payment_id: &str,
    cs_id: &str,
) -> Nav {
    let row = match load_for_nav(store, payment_id).await {
        Ok(r) => r,
        Err(nav) => return nav,
    };
    let nav = result_inner(store, cfg, amazon, row.clone(), cs_id).await;
    nav_or_back_to_shop(nav, &row, cfg, "result")
}

/// The outcome the shopper is told: the payment's, when it is about this checkout session.
fn outcome_for(row: &PaymentRow, same_session: bool) -> ShopperOutcome {
    if same_session {
        outcome_of(row)
    } else {
        ShopperOutcome::Error
    }
}

async fn result_inner(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    row: PaymentRow,
    cs_id: &str,
) -> ApiResult<Nav> {
    let now = platform::now().0;
    let flow = Flow::new(store, amazon, now);
    let same_session =
        valid_session_id(cs_id) && row.amazon_checkout_session_id.as_deref() == Some(cs_id);
    let state = row.state()?;
    let row = match state.phase() {
        // Repeated result (reload, back button): only the redirect, never another Complete.
        Phase::Paid => {
            return Ok(back_to_shop(&row, cfg, outcome_for(&row, same_session)));
        }
        Phase::Closed => return Ok(back_to_shop(&row, cfg, ShopperOutcome::Error)),
        Phase::InFlight if row.lease_live(now) => {
            // A concurrent result (double reload) holds the claim: wait for its outcome.
            let settled = wait_for_settle(store, &row.id).await?;
            return Ok(back_to_shop(
                &settled,
                cfg,
                outcome_for(&settled, same_session),
            ));
        }
        Phase::InFlight | Phase::Unknown => {
            if !row.is_amazon() {
                return Ok(back_to_shop(&row, cfg, ShopperOutcome::Error));
            }
            match claim(&flow, &row, state, "amazon_reconcile_started", None, false).await? {
                Claim::Won(claimed) => {
                    flow.reconcile(claimed, "previous attempt unresolved", Answered::No, true)
                        .await?
                }
                Claim::Lost(current) => current,
            }
        }
        Phase::Open => match complete_open(&flow, cfg, row, cs_id, same_session).await? {
            Ok(row) => row,
            Err(nav) => return Ok(nav),
        },
    };
    let same = row.amazon_checkout_session_id.as_deref() == Some(cs_id);
    // A 定期購入 sign-up starts on its Recurring charge permission (a payment without a plan
    // has none to start: no D1 read for it).
    if row.state()?.phase() == Phase::Paid && row.subscription_plan.is_some() {
        let _ = sign_up::after_checkout(store, cfg, &row.id).await;
    }
    Ok(back_to_shop(&row, cfg, outcome_for(&row, same)))
}

/// Completes an open payment's stored session: claim, then Complete. `Err` is where the shopper
/// goes at once (another session's result, or a session whose completion was already refused).
async fn complete_open(
    flow: &Flow<'_>,
    cfg: &Config,
    row: PaymentRow,
    cs_id: &str,
    same_session: bool,
) -> ApiResult<Result<PaymentRow, Nav>> {
    if !same_session {
        worker::console_warn!(
            "payment {}: result for a checkout session that is not the stored one",
            row.id
        );
        return Ok(Err(back_to_shop(&row, cfg, ShopperOutcome::Error)));
    }
    // This session's completion already ended in a refusal (declined, canceled, amount,
    // …): it is never completed a second time; the shopper starts a new checkout.
    if row.is_amazon() && row.last_amazon_error().is_some() {
        return Ok(Err(back_to_shop(&row, cfg, outcome_of(&row))));
    }
    let state = row.state()?;
    let row = match claim(
        flow,
        &row,
        state,
        "amazon_authorization_started",
        Some(cs_id),
        true,
    )
    .await?
    {
        Claim::Won(claimed) => flow.complete(claimed, cs_id).await?,
        Claim::Lost(current) => match current.state()?.phase() {
            Phase::InFlight => wait_for_settle(flow.store, &row.id).await?,
            Phase::Open | Phase::Paid | Phase::Unknown | Phase::Closed => current,
        },
    };
    Ok(Ok(row))
}

/// Waits (up to ~10 s) for a flow held by another request to leave `processing`.
async fn wait_for_settle(store: &Store<'_>, id: &str) -> ApiResult<PaymentRow> {
    let mut row = store.existing_payment(id).await?;
    for _ in 0..40 {
        if row.state()?.phase() != Phase::InFlight {
            break;
        }
        worker::Delay::from(std::time::Duration::from_millis(250)).await;
        row = store.existing_payment(id).await?;
    }
    Ok(row)
}
