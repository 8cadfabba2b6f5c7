//! Card-testing defence (issue #13): limits on card attempts, counted in D1
//! (`store::card_attempts`) on the injected clock.
//!
//! - An *attempt* is a card POST that reaches GMO's ExecTran, whatever it comes to (a decline,
//!   a refused card input, a failed or abandoned 3-D Secure, an open outcome). A request that
//!   never reaches ExecTran (a busy payment, an EntryTran refusal, a paid payment) is not one.
//! - Per payment at most `CARD_ATTEMPTS_PER_PAYMENT` attempts that did not pay; then the payment
//!   is locked for the shopper (423 `card_attempts_exceeded`) until an operator unlocks it (解除).
//! - Per client IP (`CF-Connecting-IP`) at most `CARD_FAILURES_PER_IP` failures (declined,
//!   failed, or still pending) in 10 minutes across payments; then 429 `too_many_card_failures`
//!   with `Retry-After`, before anything reaches GMO. A paid attempt is no failure.
//!
//! - An attempt whose outcome was open (3-D Secure, unknown) is settled when the outcome is
//!   known: by the 3-D Secure return or the sweep ([`settle_open_attempt`]).
//!
//! The reservation is one conditional insert, so parallel requests cannot pass a limit together.

use crate::config::{CardTestingConfig, Config};
use crate::http::{ApiError, ApiResult, Reply, invalid_json, only_fields};
use crate::store::card_attempts::AttemptLimits;
use crate::store::{PaymentRow, Store};
use kessai_core::payment::{PaymentState, Phase};
use serde_json::{Value, json};
use std::cell::Cell;

/// The IP key of a request without `CF-Connecting-IP` (never on Cloudflare): only the
/// per-payment limit applies to it.
const NO_IP: &str = "unknown";

/// A reserved attempt: the card flow marks it when ExecTran is sent, [`finish`] records it.
pub struct Ticket {
    id: i64,
    reached: Cell<bool>,
}

impl Ticket {
    /// The card flow is about to send ExecTran: this request is an attempt.
    pub fn reached_gateway(&self) {
        self.reached.set(true);
    }
}

fn limits(cfg: &CardTestingConfig, ip: &str, now: i64) -> AttemptLimits {
    AttemptLimits {
        per_payment: cfg.attempts_per_payment,
        per_ip: if ip == NO_IP {
            u32::MAX
        } else {
            cfg.failures_per_ip
        },
        window_start: now - CardTestingConfig::IP_WINDOW_MS,
    }
}

/// 423: the payment has used its attempts.
pub fn payment_locked(attempts: i64) -> ApiError {
    ApiError::new(
        423,
        "card_attempts_exceeded",
        "this payment has reached its limit of card attempts and is locked; the shop can unlock it",
        "このお支払いはカードの試行回数の上限に達したため、ロックされました。ショップにお問い合わせください。",
    )
    .with("attempts", attempts)
}

/// 429: this IP failed too often; `retry_after_seconds` also becomes the `Retry-After` header.
pub fn ip_limited(retry_after_seconds: i64) -> ApiError {
    let minutes = (retry_after_seconds + 59) / 60;
    ApiError::new(
        429,
        "too_many_card_failures",
        format!("too many failed card attempts from this network; retry in {retry_after_seconds} s"),
        format!("カードのお支払いの失敗が続いたため、一時的にご利用を制限しています。{minutes}分ほどおいてから再度お試しください。"),
    )
    .with("retry_after_seconds", retry_after_seconds)
}

/// Reserves an attempt of `payment_id` from `ip`, or the refusal (423 or 429).
pub async fn admit(
    store: &Store<'_>,
    cfg: &Config,
    payment_id: &str,
    ip: Option<&str>,
    now: i64,
) -> ApiResult<Ticket> {
    let ip = ip.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(NO_IP);
    let lim = limits(&cfg.card_testing, ip, now);
    if let Some(id) = store
        .reserve_card_attempt(payment_id, ip, now, &lim)
        .await?
    {
        return Ok(Ticket {
            id,
            reached: Cell::new(false),
        });
    }
    let counts = store
        .attempt_counts(payment_id, ip, lim.window_start)
        .await?;
    if counts.payment_attempts >= i64::from(lim.per_payment) {
        worker::console_warn!("payment {payment_id}: card attempts exhausted, locked");
        return Err(payment_locked(counts.payment_attempts));
    }
    let oldest = counts.ip_oldest.unwrap_or(now);
    let wait_ms = oldest + CardTestingConfig::IP_WINDOW_MS - now;
    worker::console_warn!(
        "payment {payment_id}: {} card failures from one IP in the window, refused",
        counts.ip_failures
    );
    Err(ip_limited(((wait_ms + 999) / 1000).max(1)))
}

/// Records the attempt's `outcome` (`paid`, `declined`, `failed`, `unknown`,
/// `three_d_secure`), or drops the reservation when ExecTran was never sent.
pub async fn finish(store: &Store<'_>, ticket: Ticket, outcome: &str) {
    let written = if ticket.reached.get() {
        store.finish_card_attempt(ticket.id, outcome).await
    } else {
        store.drop_card_attempt(ticket.id).await
    };
    if let Err(e) = written {
        // The shopper's answer stands; a pending row keeps counting, which errs on the safe side.
        worker::console_error!("card attempt {}: not recorded: {}", ticket.id, e.message);
    }
}

/// Settles the attempt of a payment whose outcome was open when its card POST answered (the
/// shopper at the issuer's 3-D Secure page, or unknown): a failed authentication or a decline
/// after it now counts against the IP like any decline. Still open: nothing to record yet.
pub async fn settle_open_attempt(store: &Store<'_>, row: &PaymentRow) {
    let outcome = match row.state().map(PaymentState::phase) {
        Ok(Phase::Paid) => "paid",
        Ok(Phase::Open) => "declined",
        Ok(Phase::Unknown) => "unknown",
        Ok(Phase::Closed) => "failed",
        Ok(Phase::InFlight) | Err(_) => return,
    };
    if let Err(e) = store.settle_open_card_attempt(&row.id, outcome).await {
        worker::console_error!(
            "payment {}: card attempt not settled: {}",
            row.id,
            e.message
        );
    }
}

/// `GET /console/api/fraud`: locked payments and IPs over their limit (不正検知).
pub async fn list(store: &Store<'_>, cfg: &Config, now: i64) -> ApiResult<Reply> {
    let ct = &cfg.card_testing;
    let window_start = now - CardTestingConfig::IP_WINDOW_MS;
    let payments = store.locked_payments(ct.attempts_per_payment).await?;
    let ips = store.blocked_ips(ct.failures_per_ip, window_start).await?;
    let ips: Vec<Value> = ips
        .into_iter()
        .map(|ip| {
            let frees_at = ip.first_at + CardTestingConfig::IP_WINDOW_MS;
            let mut v = json!(ip);
            v["frees_at"] = json!(frees_at);
            v
        })
        .collect();
    Ok(Reply::ok(json!({
        "limits": {
            "attempts_per_payment": ct.attempts_per_payment,
            "failures_per_ip": ct.failures_per_ip,
            "ip_window_seconds": CardTestingConfig::IP_WINDOW_MS / 1000,
        },
        "locked_payments": payments,
        "blocked_ips": ips,
    })))
}

/// `POST /console/api/fraud/unlock` `{payment_id}` or `{ip}`: 解除, recorded as payment events
/// with the operator's name.
pub async fn unlock(store: &Store<'_>, raw: &str, actor: &str, now: i64) -> ApiResult<Reply> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    only_fields(&body, &["payment_id", "ip"])?;
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim);
    let cleared = match (field("payment_id"), field("ip")) {
        (Some(id), None) if !id.is_empty() && id.len() <= 64 => {
            let n = store.clear_payment_attempts(id, now, actor).await?;
            worker::console_log!("payment {id}: card attempts unlocked by {actor} ({n})");
            json!({ "payment_id": id, "cleared": n })
        }
        (None, Some(ip)) if !ip.is_empty() && ip.len() <= 64 => {
            let window_start = now - CardTestingConfig::IP_WINDOW_MS;
            let n = store
                .clear_ip_failures(ip, window_start, now, actor)
                .await?;
            worker::console_log!("card failures of an IP unlocked by {actor} ({n})");
            json!({ "ip": ip, "cleared": n })
        }
        (Some(_) | None, Some(_) | None) => {
            return Err(ApiError::bad_request(
                "give either payment_id or ip",
                "解除する決済IDまたはIPアドレスを指定してください。",
            ));
        }
    };
    Ok(Reply::ok(cleared))
}
