//! `POST /api/amazonpay2/ipn.php`: Amazon Pay IPNs (SNS envelopes).
//!
//! Trust nothing in the body: the envelope is verified as AWS specifies (the certificate URL
//! rule, the certificate itself, RSA PKCS#1 v1.5 with SHA-1 or SHA-256 over the string to sign,
//! all through WebCrypto), the topic and the merchant id must be ours, and even then the
//! notification is only a hint: the charge is read again from Amazon (signed Get Charge) and a
//! state change is adopted only when it moves the payment forward
//! ([`kessai_core::amazon::ipn::moves_forward`]), by the usual compare-and-set with one event.
//!
//! Never lost: the notification is recorded (UNIQUE key, `INSERT OR IGNORE`) before it is
//! processed. If processing cannot finish (Amazon unreachable, D1 error, a payment busy under a
//! live lease) the answer is 5xx and the row stays `received`: SNS delivers again and the
//! retry processes it. A duplicate of a processed notification answers 200 and changes nothing.
//! Rejections (bad signature, certificate, topic, merchant) answer 400/403 so SNS stops; they
//! are logged with the reason only, never the body.
//!
//! Certificates: live mode fetches only `https://sns.<region>.amazonaws.com[.cn]/….pem` and
//! trusts it through TLS (as AWS's own validators do). Test mode with a configured sandbox CA
//! accepts only URLs under `AMAZON_PAY_IPN_SANDBOX_CERT_BASE` and checks that the certificate
//! was issued by that CA. Either way the certificate's validity dates are checked against the
//! clock, and it is cached per URL in the isolate.

use crate::amazon_payment;
use crate::config::{AccessMode, AmazonConfig, Config};
use crate::http::ApiError;
use crate::platform::{self, js_object, key_usages};
use crate::store::{Event, PaymentRow, Store};
use kessai_core::amazon::ipn::moves_forward;
use kessai_core::amazon::model::{Charge, Price};
use kessai_core::amazon::request::api;
use kessai_core::amazon::signing::base64_decode;
use kessai_core::amazon::status::ChargeCanceledReason;
use kessai_core::der;
use kessai_core::jst::UnixMillis;
use kessai_core::money::Jpy;
use kessai_core::payment::PaymentState;
use kessai_core::sns::{self, Envelope, MessageType};
use serde::Deserialize;
use serde_json::{Value, json};
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::CryptoKey;
use worker::{AbortController, Fetch, Method, Request, RequestInit};

pub const AMAZON_IPN_PATH: &str = "/api/amazonpay2/ipn.php";

/// Largest body accepted (SNS messages are at most 256 KB; Amazon Pay's are tiny).
const MAX_BODY: usize = 64 * 1024;
/// Largest certificate accepted.
const MAX_CERT: usize = 16 * 1024;
const CERT_FETCH_TIMEOUT_MS: u64 = 5_000;

/// IPN settings (from `AMAZON_PAY_IPN_*`).
#[derive(Debug, Clone)]
pub struct IpnConfig {
    /// The SNS topic Amazon Pay publishes this merchant's notifications to.
    pub topic_arn: String,
    /// Test mode with the local sandbox only: its certificate base URL and CA public key.
    pub sandbox: Option<SandboxTrust>,
}

#[derive(Debug, Clone)]
pub struct SandboxTrust {
    /// URL prefix (ending in `/`) the signing certificates must lie directly under.
    pub cert_base: String,
    /// The sandbox CA's SubjectPublicKeyInfo (DER).
    pub ca_spki: Vec<u8>,
}

impl IpnConfig {
    /// `None` when `AMAZON_PAY_IPN_TOPIC_ARN` is not set (the endpoint then answers 404).
    /// Live mode refuses any sandbox trust setting.
    pub fn from_values(
        mode: AccessMode,
        topic_arn: Option<String>,
        cert_base: Option<String>,
        ca_spki_b64: Option<String>,
    ) -> Result<Option<IpnConfig>, ApiError> {
        let sandbox = match (mode, cert_base, ca_spki_b64) {
            (_, None, None) => None,
            (AccessMode::Live, _, _) => {
                return Err(ApiError::internal(
                    "live mode refuses AMAZON_PAY_IPN_SANDBOX_* settings",
                ));
            }
            (AccessMode::Test, Some(base), Some(ca)) => {
                let ca_spki = base64_decode(ca.trim()).ok_or_else(|| {
                    ApiError::internal("AMAZON_PAY_IPN_SANDBOX_CA is not base64 SPKI DER")
                })?;
                if !base.ends_with('/') || crate::config::origin_of(&base).is_none() {
                    return Err(ApiError::internal(
                        "AMAZON_PAY_IPN_SANDBOX_CERT_BASE must be an http(s) URL ending in /",
                    ));
                }
                Some(SandboxTrust {
                    cert_base: base,
                    ca_spki,
                })
            }
            (AccessMode::Test, _, _) => {
                return Err(ApiError::internal(
                    "AMAZON_PAY_IPN_SANDBOX_CERT_BASE and AMAZON_PAY_IPN_SANDBOX_CA go together",
                ));
            }
        };
        Ok(topic_arn.map(|topic_arn| IpnConfig { topic_arn, sandbox }))
    }
}

/// Why a delivery is refused (or cannot be processed now). The reason is logged; the body
/// never is.
pub struct Refusal {
    pub status: u16,
    pub reason: String,
}

pub fn refuse(status: u16, reason: impl Into<String>) -> Refusal {
    Refusal {
        status,
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// Verification

struct CachedCert {
    url: String,
    not_before: UnixMillis,
    not_after: UnixMillis,
    spki: Vec<u8>,
    /// One imported key per hash (WebCrypto binds the hash to the key).
    keys: Vec<(&'static str, CryptoKey)>,
}

thread_local! {
    /// Verified signing certificates by URL (a handful at most: SNS rotates rarely).
    static CERTS: RefCell<Vec<CachedCert>> = const { RefCell::new(Vec::new()) };
}

const MAX_CACHED_CERTS: usize = 8;

fn subtle() -> Result<web_sys::SubtleCrypto, Refusal> {
    platform::crypto()
        .map(|c| c.subtle())
        .ok_or_else(|| refuse(500, "crypto.subtle is not available"))
}

async fn import_spki(spki: &[u8], hash: &str) -> Result<CryptoKey, Refusal> {
    let algorithm = js_object(&[("name", "RSASSA-PKCS1-v1_5".into()), ("hash", hash.into())]);
    let data = js_sys::Uint8Array::from(spki);
    let promise = subtle()?
        .import_key_with_object("spki", &data, &algorithm, false, &key_usages(&["verify"]))
        .map_err(|_| refuse(400, "importKey(spki) refused the call"))?;
    JsFuture::from(promise)
        .await
        .map_err(|_| refuse(400, "certificate key is not an RSA key WebCrypto accepts"))?
        .dyn_into::<CryptoKey>()
        .map_err(|_| refuse(500, "importKey returned no CryptoKey"))
}

async fn rsa_verify(key: &CryptoKey, signature: &[u8], data: &[u8]) -> Result<bool, Refusal> {
    let algorithm = js_object(&[("name", "RSASSA-PKCS1-v1_5".into())]);
    let promise = subtle()?
        .verify_with_object_and_u8_array_and_u8_array(
            algorithm.unchecked_ref(),
            key,
            signature,
            data,
        )
        .map_err(|_| refuse(500, "verify refused the call"))?;
    let ok = JsFuture::from(promise)
        .await
        .map_err(|_| refuse(400, "signature could not be checked"))?;
    Ok(ok.as_bool() == Some(true))
}

async fn fetch_text(url: &str) -> Result<String, Refusal> {
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    let request =
        Request::new_with_init(url, &init).map_err(|_| refuse(400, "certificate URL unusable"))?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = async {
        let mut resp = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|e| refuse(502, format!("certificate fetch failed: {e}")))?;
        if resp.status_code() != 200 {
            return Err(refuse(
                502,
                format!("certificate fetch answered HTTP {}", resp.status_code()),
            ));
        }
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| refuse(502, format!("certificate unreadable: {e}")))?;
        if bytes.len() > MAX_CERT {
            return Err(refuse(400, "certificate too large"));
        }
        String::from_utf8(bytes).map_err(|_| refuse(400, "certificate is not PEM text"))
    };
    platform::within_timeout(call, controller, CERT_FETCH_TIMEOUT_MS, |m| {
        refuse(502, format!("certificate fetch: {m}"))
    })
    .await
}

/// Fetches, parses and checks the certificate at `url` (already allowed by the URL rule).
async fn load_certificate(
    url: &str,
    cfg: &IpnConfig,
    now: UnixMillis,
) -> Result<CachedCert, Refusal> {
    let pem = fetch_text(url).await?;
    let der_bytes = der::certificate_der_from_pem(&pem)
        .map_err(|e| refuse(400, format!("signing certificate: {e}")))?;
    let cert = der::parse_certificate(&der_bytes)
        .map_err(|e| refuse(400, format!("signing certificate: {e}")))?;
    if !cert.has_rsa_key() {
        return Err(refuse(400, "signing certificate has no RSA key"));
    }
    if let Some(trust) = &cfg.sandbox {
        let ca = import_spki(&trust.ca_spki, cert.signature_algorithm.webcrypto_hash()).await?;
        if !rsa_verify(&ca, cert.signature, cert.tbs).await? {
            return Err(refuse(
                403,
                "signing certificate not issued by the sandbox CA",
            ));
        }
    }
    // Live: the certificate came over TLS from an SNS host; no other chain is checked.
    let cached = CachedCert {
        url: url.to_string(),
        not_before: cert.not_before,
        not_after: cert.not_after,
        spki: cert.spki.to_vec(),
        keys: Vec::new(),
    };
    if !cert.valid_at(now) {
        return Err(refuse(403, "signing certificate is not valid now"));
    }
    Ok(cached)
}

/// The verification key for `url` and `hash`, from the isolate's cache or freshly loaded.
async fn signing_key(
    url: &str,
    hash: &'static str,
    cfg: &IpnConfig,
    now: UnixMillis,
) -> Result<CryptoKey, Refusal> {
    let hit = CERTS.with(|c| {
        let mut certs = c.borrow_mut();
        // An expired certificate is dropped, never used.
        certs.retain(|e| e.not_before.0 <= now.0 && now.0 <= e.not_after.0);
        certs.iter().find(|e| e.url == url).map(|e| {
            (
                e.spki.clone(),
                e.keys
                    .iter()
                    .find(|(h, _)| *h == hash)
                    .map(|(_, k)| k.clone()),
            )
        })
    });
    let spki = match hit {
        Some((_, Some(key))) => return Ok(key),
        Some((spki, None)) => spki,
        None => {
            let loaded = load_certificate(url, cfg, now).await?;
            let spki = loaded.spki.clone();
            CERTS.with(|c| {
                let mut certs = c.borrow_mut();
                if certs.len() >= MAX_CACHED_CERTS {
                    certs.remove(0);
                }
                certs.retain(|e| e.url != url);
                certs.push(loaded);
            });
            spki
        }
    };
    let key = import_spki(&spki, hash).await?;
    CERTS.with(|c| {
        if let Some(e) = c.borrow_mut().iter_mut().find(|e| e.url == url) {
            e.keys.push((hash, key.clone()));
        }
    });
    Ok(key)
}

/// Checks everything about the envelope that does not need D1 or Amazon.
async fn verify_envelope(env: &Envelope, cfg: &IpnConfig, now: UnixMillis) -> Result<(), Refusal> {
    if env.topic_arn != cfg.topic_arn {
        return Err(refuse(403, "TopicArn is not the configured topic"));
    }
    let url_check = match &cfg.sandbox {
        Some(trust) => sns::check_sandbox_cert_url(&env.signing_cert_url, &trust.cert_base),
        None => sns::check_live_cert_url(&env.signing_cert_url),
    };
    url_check.map_err(|e| refuse(403, e.to_string()))?;
    let signature = base64_decode(env.signature.trim())
        .ok_or_else(|| refuse(400, "Signature is not base64"))?;
    let key = signing_key(
        &env.signing_cert_url,
        env.signature_version.webcrypto_hash(),
        cfg,
        now,
    )
    .await?;
    if !rsa_verify(&key, &signature, env.string_to_sign().as_bytes()).await? {
        return Err(refuse(403, "signature does not verify"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Recording and applying

#[derive(Debug, Deserialize)]
pub struct NotificationRow {
    pub id: i64,
    pub status: String,
}

fn s(v: &str) -> JsValue {
    JsValue::from_str(v)
}

pub fn d1(e: worker::Error) -> Refusal {
    refuse(503, format!("D1: {e}"))
}

/// What a new notification row says (ids and states only).
pub struct NewNotification<'a> {
    pub source: &'a str,
    pub dedupe_key: &'a str,
    pub message_id: Option<&'a str>,
    pub kind: &'a str,
    pub object_type: Option<&'a str>,
    pub object_id: Option<&'a str>,
    pub charge_permission_id: Option<&'a str>,
}

/// Records the notification once; returns its row (new or from an earlier delivery).
pub async fn record(
    db: &worker::D1Database,
    n: &NewNotification<'_>,
    now: i64,
) -> Result<NotificationRow, Refusal> {
    let opt = |v: Option<&str>| v.map(s).unwrap_or(JsValue::NULL);
    db.prepare(
        "INSERT OR IGNORE INTO notifications (source, dedupe_key, message_id, kind, object_type, object_id, \
           charge_permission_id, status, received_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'received', ?8)",
    )
    .bind(&[
        s(n.source),
        s(n.dedupe_key),
        opt(n.message_id),
        s(n.kind),
        opt(n.object_type),
        opt(n.object_id),
        opt(n.charge_permission_id),
        JsValue::from_f64(now as f64),
    ])
    .map_err(d1)?
    .run()
    .await
    .map_err(d1)?;
    db.prepare("SELECT id, status FROM notifications WHERE dedupe_key = ?1")
        .bind(&[s(n.dedupe_key)])
        .map_err(d1)?
        .first::<NotificationRow>(None)
        .await
        .map_err(d1)?
        .ok_or_else(|| refuse(503, "notification row vanished"))
}

pub async fn finish(
    db: &worker::D1Database,
    row: &NotificationRow,
    status: &str,
    payment_id: Option<&str>,
    outcome: &Value,
    now: i64,
) -> Result<(), Refusal> {
    db.prepare(
        "UPDATE notifications SET status = ?1, payment_id = ?2, outcome = ?3, processed_at = ?4 \
         WHERE id = ?5 AND status = 'received'",
    )
    .bind(&[
        s(status),
        payment_id.map(s).unwrap_or(JsValue::NULL),
        s(&outcome.to_string()),
        JsValue::from_f64(now as f64),
        JsValue::from_f64(row.id as f64),
    ])
    .map_err(d1)?
    .run()
    .await
    .map_err(d1)?;
    Ok(())
}

/// One history line that changes no state (a notification that moved nothing).
pub async fn note_event(
    db: &worker::D1Database,
    payment_id: &str,
    now: i64,
    kind: &str,
    detail: &Value,
) -> Result<(), Refusal> {
    db.prepare(
        "INSERT INTO payment_events (payment_id, at, actor, kind, detail) VALUES (?1, ?2, 'gateway', ?3, ?4)",
    )
    .bind(&[
        s(payment_id),
        JsValue::from_f64(now as f64),
        s(kind),
        s(&detail.to_string()),
    ])
    .map_err(d1)?
    .run()
    .await
    .map_err(d1)?;
    Ok(())
}

async fn payment_by_charge_permission(
    db: &worker::D1Database,
    cp_id: &str,
) -> Result<Option<PaymentRow>, Refusal> {
    db.prepare("SELECT * FROM payments WHERE amazon_charge_permission_id = ?1 LIMIT 1")
        .bind(&[s(cp_id)])
        .map_err(d1)?
        .first::<PaymentRow>(None)
        .await
        .map_err(d1)
}

pub fn api_refusal(e: ApiError) -> Refusal {
    refuse(503, format!("{}: {}", e.code, e.message))
}

/// What Amazon says about the payment's charge now, as a kessai state plus the amounts.
async fn charge_now(
    amazon: &AmazonConfig,
    charge_id: &str,
) -> Result<(PaymentState, Value, Jpy, Jpy), Refusal> {
    let answer = amazon_payment::call(amazon, api::get_charge(charge_id), None, None, "GetCharge")
        .await
        .map_err(|e| refuse(503, format!("GetCharge: {e:?}")))?;
    if answer.status != 200 {
        return Err(refuse(
            503,
            format!("GetCharge answered HTTP {}", answer.status),
        ));
    }
    let charge: Charge = serde_json::from_str(&answer.body)
        .map_err(|_| refuse(503, "unreadable Get Charge answer"))?;
    let yen = |p: &Option<Price>| {
        p.as_ref()
            .and_then(|p| p.to_jpy().ok())
            .unwrap_or(Jpy::from_stored(0))
    };
    let captured = yen(&charge.capture_amount);
    let refunded = yen(&charge.refunded_amount);
    let Some(state) = charge.state() else {
        return Err(refuse(503, "Get Charge answer without a state"));
    };
    let observed = kessai_core::operations::state_from_amazon_charge(
        state,
        charge.reason_code().and_then(ChargeCanceledReason::parse),
        captured,
        refunded,
    );
    let seen = json!({
        "charge_id": charge_id,
        "charge_state": state.as_str(),
        "reason_code": charge.reason_code(),
        "captured": captured.yen(),
        "refunded": refunded.yen(),
    });
    Ok((observed, seen, captured, refunded))
}

/// What re-reading the gateway said about a payment: the state it implies, the row as it is
/// to be stored if that state is adopted, and what was seen (for the history).
pub struct Observed {
    pub state: PaymentState,
    pub next: PaymentRow,
    pub seen: Value,
}

/// What processing a notification did to its payment.
pub enum Outcome {
    /// Moved forward (one event, written by the compare-and-set).
    Moved {
        from: PaymentState,
        to: PaymentState,
        row: PaymentRow,
        seen: Value,
    },
    /// Nothing to change: already there, stale, or a state a notification never moves.
    Unchanged {
        state: PaymentState,
        row: PaymentRow,
        seen: Value,
    },
}

/// The part every gateway notification shares: a payment under a live lease is left to its
/// flow (503: the gateway delivers again), `processing`/`unknown` go to reconciliation, any other
/// state adopts what `read` observes if [`moves_forward`] allows it, by compare-and-set with one
/// `event_kind` event (`{"notification": detail, gateway_key: seen}`). A lost compare-and-set is
/// retried against the fresh row.
pub async fn apply_forward<F, Fut>(
    store: &Store<'_>,
    cfg: &Config,
    mut row: PaymentRow,
    event_kind: &str,
    gateway_key: &str,
    detail: &Value,
    read: F,
) -> Result<Outcome, Refusal>
where
    F: Fn(PaymentRow) -> Fut,
    Fut: std::future::Future<Output = Result<Observed, Refusal>>,
{
    for _ in 0..3 {
        let now = platform::now().0;
        let state = row.state().map_err(api_refusal)?;
        match state {
            PaymentState::Processing if row.lease_until.is_some_and(|t| t > now) => {
                // The flow holding the lease reads the outcome itself.
                return Err(refuse(503, "payment busy (processing under a live lease)"));
            }
            PaymentState::Processing | PaymentState::Unknown => {
                let settled = crate::reconcile_any(store, cfg, row.clone())
                    .await
                    .map_err(api_refusal)?;
                let after = settled.state().map_err(api_refusal)?;
                let seen = json!({ "reconciled": true });
                return Ok(if after == state {
                    Outcome::Unchanged {
                        state,
                        row: settled,
                        seen,
                    }
                } else {
                    Outcome::Moved {
                        from: state,
                        to: after,
                        row: settled,
                        seen,
                    }
                });
            }
            PaymentState::RequiresPayment
            | PaymentState::Authorized
            | PaymentState::Captured
            | PaymentState::Voided
            | PaymentState::Returned
            | PaymentState::ReturnedNextMonth
            | PaymentState::Refunded
            | PaymentState::PartiallyRefunded
            | PaymentState::Declined
            | PaymentState::Unpaid
            | PaymentState::Expired => {}
        }
        let observed = read(row.clone()).await?;
        if !moves_forward(state, observed.state) {
            return Ok(Outcome::Unchanged {
                state,
                row,
                seen: observed.seen,
            });
        }
        let mut event_detail = serde_json::Map::new();
        event_detail.insert("notification".into(), detail.clone());
        event_detail.insert(gateway_key.into(), observed.seen.clone());
        let ev = Event {
            actor: "gateway",
            kind: event_kind,
            detail: Value::Object(event_detail),
        };
        if store
            .transition(&observed.next, state, observed.state, now, &ev)
            .await
            .map_err(api_refusal)?
        {
            return Ok(Outcome::Moved {
                from: state,
                to: observed.state,
                row: observed.next,
                seen: observed.seen,
            });
        }
        row = store.existing_payment(&row.id).await.map_err(api_refusal)?;
    }
    Err(refuse(503, "payment kept changing; retry later"))
}

/// Amazon's side of a payment now: its charge re-read (Get Charge), amounts taken over when
/// the charge is captured.
async fn observe_amazon(amazon: &AmazonConfig, row: PaymentRow) -> Result<Observed, Refusal> {
    let state = row.state().map_err(api_refusal)?;
    let Some(charge_id) = row.amazon_charge_id.clone() else {
        return Ok(Observed {
            state,
            next: row,
            seen: json!({}),
        });
    };
    let (observed, seen, captured, refunded) = charge_now(amazon, &charge_id).await?;
    let mut next = row;
    if matches!(
        observed,
        PaymentState::Captured | PaymentState::PartiallyRefunded | PaymentState::Refunded
    ) {
        next.captured_amount = Some(captured.yen());
        next.refunded_amount = Some(refunded.yen());
        let left = captured.yen() - refunded.yen();
        if left > 0 {
            next.amount = left;
        }
    }
    Ok(Observed {
        state: observed,
        next,
        seen,
    })
}

/// Records what a processed notification did: an `…_unchanged` event when nothing moved (the
/// applied event is written by the compare-and-set), and the notification row's outcome.
/// Returns the row status (`applied` | `unchanged`).
pub async fn conclude(
    db: &worker::D1Database,
    notification: &NotificationRow,
    outcome: &Outcome,
    unchanged_kind: &str,
    gateway_key: &str,
    detail: &Value,
) -> Result<&'static str, Refusal> {
    let now = platform::now().0;
    let (status, row, summary) = match outcome {
        Outcome::Moved {
            from,
            to,
            row,
            seen,
        } => (
            "applied",
            row,
            json!({ "from": from.as_str(), "to": to.as_str(), gateway_key: seen }),
        ),
        Outcome::Unchanged { state, row, seen } => {
            note_event(
                db,
                &row.id,
                now,
                unchanged_kind,
                &json!({ "notification": detail, "state": state.as_str(), gateway_key: seen }),
            )
            .await?;
            (
                "unchanged",
                row,
                json!({ "state": state.as_str(), gateway_key: seen }),
            )
        }
    };
    finish(db, notification, status, Some(&row.id), &summary, now).await?;
    Ok(status)
}

async fn handle(
    req: &mut Request,
    env: &worker::Env,
    cfg: &Config,
) -> Result<(u16, Value), Refusal> {
    let Some(amazon) = cfg.amazon.as_ref() else {
        return Err(refuse(404, "Amazon Pay is not configured"));
    };
    let Some(ipn_cfg) = amazon.ipn.as_ref() else {
        return Err(refuse(404, "AMAZON_PAY_IPN_TOPIC_ARN is not configured"));
    };
    let body = req
        .bytes()
        .await
        .map_err(|_| refuse(400, "body unreadable"))?;
    if body.len() > MAX_BODY {
        return Err(refuse(413, "body too large"));
    }
    let text = String::from_utf8(body).map_err(|_| refuse(400, "body is not UTF-8"))?;
    let envelope = sns::parse_envelope(&text).map_err(|e| refuse(400, e.to_string()))?;
    let now = platform::now();
    verify_envelope(&envelope, ipn_cfg, now).await?;

    let db = env.d1("DB").map_err(d1)?;
    match envelope.kind {
        MessageType::Notification => {}
        MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => {
            let key = format!("sns:{}", envelope.message_id);
            let row = record(
                &db,
                &NewNotification {
                    source: "amazon_ipn",
                    dedupe_key: &key,
                    message_id: Some(&envelope.message_id),
                    kind: envelope.kind.as_str(),
                    object_type: None,
                    object_id: None,
                    charge_permission_id: None,
                },
                now.0,
            )
            .await?;
            let confirm_url = envelope.subscribe_url.as_deref().unwrap_or("");
            let allowed = envelope.kind == MessageType::SubscriptionConfirmation
                && sns::check_live_subscribe_url(confirm_url).is_ok();
            let status = if allowed {
                // Amazon Pay may never send one [U]; confirming only on an SNS host over HTTPS.
                let _ = fetch_text(confirm_url).await?;
                "confirmed"
            } else {
                "recorded"
            };
            finish(&db, &row, status, None, &json!({}), now.0).await?;
            return Ok((200, json!({ "received": true, "status": status })));
        }
    }
    let msg = sns::parse_ipn_message(&envelope.message).map_err(|e| refuse(400, e.to_string()))?;
    if msg.merchant_id != amazon.merchant_id {
        return Err(refuse(403, "MerchantID is not this merchant"));
    }
    let key = format!("amazon:{}", msg.notification_id);
    let row = record(
        &db,
        &NewNotification {
            source: "amazon_ipn",
            dedupe_key: &key,
            message_id: Some(&envelope.message_id),
            kind: envelope.kind.as_str(),
            object_type: Some(msg.object_type.as_str()),
            object_id: Some(&msg.object_id),
            charge_permission_id: Some(&msg.charge_permission_id),
        },
        now.0,
    )
    .await?;
    if row.status != "received" {
        return Ok((200, json!({ "received": true, "duplicate": true })));
    }
    let detail = json!({
        "message_id": envelope.message_id,
        "notification_id": msg.notification_id,
        "object_type": msg.object_type.as_str(),
        "object_id": msg.object_id,
        "notification_type": msg.notification_type,
    });
    let status = process_amazon(&db, cfg, amazon, &row, &msg.charge_permission_id, &detail).await?;
    worker::console_log!(
        "Amazon IPN #{} {} -> {status}",
        row.id,
        msg.object_type.as_str()
    );
    Ok((200, json!({ "received": true, "status": status })))
}

/// Applies a recorded (`received`) Amazon IPN: finds the payment by its charge permission,
/// re-reads Amazon and moves the payment forward. Runs on delivery and, for a row a failed
/// delivery left `received`, in the Cron sweep (`crate::sweep`). Returns the row's new status
/// (`unmatched` | `applied` | `unchanged`).
pub async fn process_amazon(
    db: &worker::D1Database,
    cfg: &Config,
    amazon: &AmazonConfig,
    row: &NotificationRow,
    charge_permission_id: &str,
    detail: &Value,
) -> Result<&'static str, Refusal> {
    let Some(payment) = payment_by_charge_permission(db, charge_permission_id).await? else {
        finish(db, row, "unmatched", None, &json!({}), platform::now().0).await?;
        return Ok("unmatched");
    };
    let store = Store { db };
    let outcome = apply_forward(
        &store,
        cfg,
        payment,
        "amazon_ipn_applied",
        "amazon",
        detail,
        |r| observe_amazon(amazon, r),
    )
    .await?;
    conclude(db, row, &outcome, "amazon_ipn_unchanged", "amazon", detail).await
}

/// `POST /api/amazonpay2/ipn.php`.
pub async fn amazon_ipn(
    mut req: Request,
    env: &worker::Env,
    cfg: &Config,
) -> worker::Result<worker::Response> {
    let (status, body) = match handle(&mut req, env, cfg).await {
        Ok(ok) => ok,
        Err(r) => {
            worker::console_warn!("Amazon IPN refused ({}): {}", r.status, r.reason);
            let code = if r.status >= 500 {
                "retry_later"
            } else {
                "rejected"
            };
            (
                r.status,
                json!({ "error": { "code": code, "message": r.reason } }),
            )
        }
    };
    crate::http::json_response(status, &body)
}
