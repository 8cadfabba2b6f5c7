//! Amazon Pay IPNs from the sandbox: signed SNS notifications on every state change of a charge
//! permission, charge or refund, delivered to the configured URL with retries, and the SNS
//! signing certificate they name.
//!
//! At start the sandbox makes its own certificate authority (an RSA key) and an SNS signing
//! certificate issued by it (DER written with `kessai_core::der`, signed natively with `rsa`).
//! The certificate is served under `/__sns/`; the edge is configured with that base URL and the
//! CA's public key, and trusts nothing else in test mode (live SNS certificates are fetched over
//! HTTPS from `sns.*.amazonaws.com` only).
//!
//! Delivery, as SNS does it: one POST per notification (`content-type: text/plain`,
//! `x-amz-sns-message-type`), retried while the answer is not 2xx or no answer comes. The
//! retry schedule is compressed for tests (0.25 s doubling to 2 s, 40 attempts); the real one
//! is hours [U: reference §4]. Retries use wall time, not the sandbox clock (a frozen clock
//! must not stop delivery). The `/__sandbox/amazon/console/…` controls change objects the way
//! Seller Central would (no API call, no signature): the edge hears of them only by IPN.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kessai_core::der::{self, SignatureAlgorithm, TbsFields};
use kessai_core::jst::UnixMillis;
use kessai_core::sns::{Envelope, IpnMessage, IpnObjectType, MessageType, SignatureVersion};
use rsa::pkcs8::EncodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::Digest;

use super::state::uuid_v4;
use super::{Shared, lock};

/// Where the signing certificates are served (below the sandbox's base URL).
pub const CERT_PATH: &str = "/__sns/";
/// The signing certificate's file name.
pub const CERT_NAME: &str = "SimpleNotificationService-kessai-sandbox.pem";

/// A certificate authority and an SNS signing key with its certificate.
pub struct SnsIdentity {
    ca_key: RsaPrivateKey,
    /// The CA's SubjectPublicKeyInfo (DER): what the edge is configured to trust.
    pub ca_spki_der: Vec<u8>,
    signing_key: RsaPrivateKey,
    /// The signing certificate (DER), issued by the CA.
    pub cert_der: Vec<u8>,
}

fn rsa_key() -> RsaPrivateKey {
    let mut rng = rsa::rand_core::OsRng;
    RsaPrivateKey::new(&mut rng, 2048).expect("RSA-2048 key generation")
}

fn spki_der(key: &RsaPrivateKey) -> Vec<u8> {
    key.to_public_key()
        .to_public_key_der()
        .expect("SPKI encoding")
        .as_bytes()
        .to_vec()
}

/// RSASSA-PKCS1-v1_5 over `data` with SHA-1 or SHA-256.
fn pkcs1_sign(key: &RsaPrivateKey, version: SignatureVersion, data: &[u8]) -> Vec<u8> {
    let result = match version {
        SignatureVersion::V1 => {
            key.sign(Pkcs1v15Sign::new::<sha1::Sha1>(), &sha1::Sha1::digest(data))
        }
        SignatureVersion::V2 => key.sign(
            Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(data),
        ),
    };
    result.expect("PKCS#1 v1.5 signature with a 2048-bit key")
}

impl SnsIdentity {
    /// A new CA and a signing certificate valid from a day before `now` for a year.
    pub fn generate(now: UnixMillis) -> SnsIdentity {
        let ca_key = rsa_key();
        let ca_spki_der = spki_der(&ca_key);
        let signing_key = rsa_key();
        let mut id = SnsIdentity {
            ca_key,
            ca_spki_der,
            signing_key,
            cert_der: Vec::new(),
        };
        id.cert_der = id.issue(
            &spki_der(&id.signing_key),
            now.plus_days(-1),
            now.plus_days(365),
        );
        id
    }

    /// A second signing key whose certificate this CA issues with the given validity (an
    /// expired or not yet valid certificate for tests).
    pub fn sibling(&self, not_before: UnixMillis, not_after: UnixMillis) -> SnsIdentity {
        let signing_key = rsa_key();
        let cert_der = self.issue(&spki_der(&signing_key), not_before, not_after);
        SnsIdentity {
            ca_key: self.ca_key.clone(),
            ca_spki_der: self.ca_spki_der.clone(),
            signing_key,
            cert_der,
        }
    }

    fn issue(&self, spki: &[u8], not_before: UnixMillis, not_after: UnixMillis) -> Vec<u8> {
        let serial: Vec<u8> = uuid_v4().bytes().take(16).collect();
        let tbs = der::tbs_certificate(&TbsFields {
            serial: &serial,
            algorithm: SignatureAlgorithm::RsaSha256,
            issuer_cn: "kessai sandbox SNS CA",
            subject_cn: "sns.ap-northeast-1.amazonaws.com",
            not_before,
            not_after,
            spki,
        });
        let sig = pkcs1_sign(&self.ca_key, SignatureVersion::V2, &tbs);
        der::certificate(&tbs, SignatureAlgorithm::RsaSha256, &sig)
    }

    pub fn cert_pem(&self) -> String {
        der::certificate_pem(&self.cert_der)
    }

    /// Sets `Signature` (base64) over the envelope's string to sign, with the hash its
    /// `SignatureVersion` names.
    pub fn sign(&self, env: &mut Envelope) {
        let sig = pkcs1_sign(
            &self.signing_key,
            env.signature_version,
            env.string_to_sign().as_bytes(),
        );
        env.signature = kessai_core::amazon::signing::base64_encode(&sig);
    }
}

/// One delivery attempt, as the control shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    pub at_unix_ms: i64,
    /// HTTP status, or `None` when no answer came (refused, timed out).
    pub status: Option<u16>,
}

/// A notification and its delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    pub message_id: String,
    pub notification_id: String,
    pub object_type: String,
    pub object_id: String,
    pub charge_permission_id: String,
    /// The object's state that triggered it.
    pub object_state: String,
    pub url: String,
    pub delivered: bool,
    pub attempts: Vec<Attempt>,
    #[serde(skip)]
    body: String,
    #[serde(skip)]
    next_at: Instant,
}

pub const MAX_ATTEMPTS: usize = 40;

/// Wait before the next attempt after `attempts` failed ones (0.25 s doubling to 2 s).
pub fn backoff(attempts: usize) -> Duration {
    Duration::from_millis((250u64 << attempts.min(3)).min(2000))
}

pub struct IpnState {
    pub identity: SnsIdentity,
    pub cert_base: String,
    pub topic_arn: String,
    /// Where notifications go; `None`: none are made (the sandbox then behaves as before).
    pub url: Option<String>,
    /// Extra signing identities whose certificates are served under [`CERT_PATH`] by name
    /// (tests: one from a rogue CA, an expired one).
    pub extra: HashMap<String, SnsIdentity>,
    /// Object id → state, as last notified.
    seen: HashMap<String, String>,
    pub deliveries: Vec<Delivery>,
}

pub type IpnShared = Arc<Mutex<IpnState>>;

pub fn lock_ipn(s: &IpnShared) -> std::sync::MutexGuard<'_, IpnState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl IpnState {
    pub fn new(base_url: &str, merchant_id: &str, now: UnixMillis) -> IpnState {
        IpnState {
            identity: SnsIdentity::generate(now),
            cert_base: format!("{base_url}{CERT_PATH}"),
            topic_arn: format!("arn:aws:sns:us-west-2:000000000000:A01234567890{merchant_id}"),
            url: None,
            extra: HashMap::new(),
            seen: HashMap::new(),
            deliveries: Vec::new(),
        }
    }

    pub fn cert_url(&self) -> String {
        format!("{}{CERT_NAME}", self.cert_base)
    }

    /// A Notification envelope carrying `message`, not signed yet.
    pub fn unsigned_envelope(
        &self,
        message: String,
        version: SignatureVersion,
        now: UnixMillis,
    ) -> Envelope {
        Envelope {
            kind: MessageType::Notification,
            message_id: uuid_v4(),
            topic_arn: self.topic_arn.clone(),
            subject: None,
            message,
            timestamp: kessai_core::sns::iso_timestamp(now),
            signature_version: version,
            signature: String::new(),
            signing_cert_url: self.cert_url(),
            subscribe_url: None,
            token: None,
            // Every SNS Notification carries it (the link to stop the subscription).
            unsubscribe_url: Some(format!(
                "{}?Action=Unsubscribe&SubscriptionArn={}:{}",
                self.cert_base,
                self.topic_arn,
                uuid_v4()
            )),
        }
    }

    /// A signed Notification envelope carrying `msg`.
    pub fn envelope(
        &self,
        msg: &IpnMessage,
        version: SignatureVersion,
        now: UnixMillis,
    ) -> Envelope {
        let mut env = self.unsigned_envelope(msg.to_json(), version, now);
        self.identity.sign(&mut env);
        env
    }
}

/// Every object's current state: (object type, id, charge permission id, state).
fn snapshot(st: &mut super::state::State) -> Vec<(IpnObjectType, String, String, String)> {
    st.refresh();
    let mut out = Vec::new();
    for cp in st.charge_permissions.values() {
        out.push((
            IpnObjectType::ChargePermission,
            cp.id.clone(),
            cp.id.clone(),
            format!("{:?}", cp.state),
        ));
    }
    for c in st.charges.values() {
        out.push((
            IpnObjectType::Charge,
            c.id.clone(),
            c.charge_permission_id.clone(),
            format!("{:?}", c.state),
        ));
    }
    for r in st.refunds.values() {
        let cp = st
            .charges
            .get(&r.charge_id)
            .map(|c| c.charge_permission_id.clone())
            .unwrap_or_default();
        out.push((
            IpnObjectType::Refund,
            r.id.clone(),
            cp,
            format!("{:?}", r.state),
        ));
    }
    out.sort();
    out
}

/// Points delivery at `url`. Objects as they stand now count as notified: only later changes
/// make notifications. Pending deliveries go to the new URL.
pub fn set_url(shared: &Shared, ipn: &IpnShared, url: Option<String>) {
    let objects = snapshot(&mut lock(shared));
    let mut q = lock_ipn(ipn);
    if q.url.is_none() {
        q.seen = objects
            .into_iter()
            .map(|(_, id, _, state)| (id, state))
            .collect();
    }
    q.url = url;
}

/// Queues a notification for every object whose state changed since the last look.
fn detect_changes(shared: &Shared, ipn: &IpnShared) {
    let (objects, now, merchant_id) = {
        let mut st = lock(shared);
        if lock_ipn(ipn).url.is_none() {
            return;
        }
        (snapshot(&mut st), st.now(), st.cfg.merchant_id.clone())
    };
    let mut q = lock_ipn(ipn);
    let Some(url) = q.url.clone() else { return };
    for (object_type, id, cp_id, state) in objects {
        if q.seen.get(&id) == Some(&state) {
            continue;
        }
        q.seen.insert(id.clone(), state.clone());
        let msg = IpnMessage {
            merchant_id: merchant_id.clone(),
            object_type,
            object_id: id.clone(),
            charge_permission_id: cp_id.clone(),
            notification_type: "STATE_CHANGE".into(),
            notification_id: uuid_v4(),
        };
        let env = q.envelope(&msg, SignatureVersion::V2, now);
        q.deliveries.push(Delivery {
            message_id: env.message_id.clone(),
            notification_id: msg.notification_id.clone(),
            object_type: object_type.as_str().to_string(),
            object_id: id,
            charge_permission_id: cp_id,
            object_state: state,
            url: url.clone(),
            delivered: false,
            attempts: Vec::new(),
            body: env.to_json(),
            next_at: Instant::now(),
        });
    }
}

/// POSTs `body` as SNS does; the HTTP status, or `None` without an answer.
pub async fn post_envelope(
    client: &reqwest::Client,
    url: &str,
    kind: &str,
    body: String,
) -> Option<u16> {
    client
        .post(url)
        .header("content-type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", kind)
        .header("user-agent", "Amazon Simple Notification Service Agent")
        .body(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// Sends what is due, one at a time, oldest first.
async fn deliver_due(ipn: &IpnShared, client: &reqwest::Client) {
    loop {
        let due = {
            let q = lock_ipn(ipn);
            let now = Instant::now();
            q.deliveries
                .iter()
                .position(|d| !d.delivered && d.attempts.len() < MAX_ATTEMPTS && d.next_at <= now)
                .map(|i| {
                    (
                        i,
                        q.url.clone().unwrap_or_else(|| q.deliveries[i].url.clone()),
                        q.deliveries[i].body.clone(),
                    )
                })
        };
        let Some((i, url, body)) = due else { return };
        let status = post_envelope(client, &url, "Notification", body).await;
        let mut q = lock_ipn(ipn);
        let at = unix_ms_now();
        if let Some(d) = q.deliveries.get_mut(i) {
            d.attempts.push(Attempt {
                at_unix_ms: at,
                status,
            });
            d.url = url;
            d.delivered = status.is_some_and(|s| (200..300).contains(&s));
            d.next_at = Instant::now() + backoff(d.attempts.len());
        }
    }
}

/// Wall-clock Unix ms (delivery attempts are stamped with real time).
pub fn unix_ms_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The background sender: looks for changes and delivers, every 100 ms.
pub fn spawn_sender(shared: Shared, ipn: IpnShared) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        loop {
            detect_changes(&shared, &ipn);
            deliver_due(&ipn, &client).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Routes

async fn cert(
    AxState((_, ipn)): AxState<(Shared, IpnShared)>,
    Path(name): Path<String>,
) -> Response {
    let q = lock_ipn(&ipn);
    let pem = if name == CERT_NAME {
        Some(q.identity.cert_pem())
    } else {
        q.extra.get(&name).map(SnsIdentity::cert_pem)
    };
    match pem {
        Some(p) => ([(header::CONTENT_TYPE, "application/x-x509-ca-cert")], p).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn deliveries(AxState((_, ipn)): AxState<(Shared, IpnShared)>) -> Json<Value> {
    let q = lock_ipn(&ipn);
    Json(json!(q.deliveries))
}

fn config_json(q: &IpnState) -> Value {
    json!({
        "topic_arn": q.topic_arn,
        "cert_base": q.cert_base,
        "cert_url": q.cert_url(),
        "ca_spki": kessai_core::amazon::signing::base64_encode(&q.identity.ca_spki_der),
        "url": q.url,
    })
}

/// `GET /__sandbox/amazon/ipn`: topic, certificate URLs, CA key, delivery URL.
async fn ipn_config(AxState((_, ipn)): AxState<(Shared, IpnShared)>) -> Json<Value> {
    Json(config_json(&lock_ipn(&ipn)))
}

/// `POST /__sandbox/amazon/ipn/url` `{"url": "…" | null}`: where notifications go.
async fn ipn_url(
    AxState((shared, ipn)): AxState<(Shared, IpnShared)>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let url = body.get("url").and_then(Value::as_str).map(str::to_string);
    set_url(&shared, &ipn, url);
    Json(config_json(&lock_ipn(&ipn)))
}

/// `POST /__sandbox/amazon/ipn/identities` `{"name": "x.pem", "kind": "rogue" | "expired"}`:
/// serves another signing certificate under the certificate base: issued by a different CA
/// (`rogue`), or by the sandbox CA but expired a day ago (`expired`).
async fn add_identity(
    AxState((shared, ipn)): AxState<(Shared, IpnShared)>,
    Json(body): Json<Value>,
) -> Response {
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() || name.contains('/') || name == CERT_NAME {
        return crate::control::bad_request(
            "name must be a file name other than the signing certificate's",
        );
    }
    let now = lock(&shared).now();
    let identity = match body.get("kind").and_then(Value::as_str) {
        Some("rogue") => SnsIdentity::generate(now),
        Some("expired") => lock_ipn(&ipn)
            .identity
            .sibling(now.plus_days(-30), now.plus_days(-1)),
        _ => return crate::control::bad_request("kind must be rogue or expired"),
    };
    let mut q = lock_ipn(&ipn);
    q.extra.insert(name.to_string(), identity);
    Json(json!({ "cert_url": format!("{}{name}", q.cert_base) })).into_response()
}

/// `POST /__sandbox/amazon/ipn/sign` `{"message": "…", "signature_version": "1"|"2",
/// "identity"?: name, "topic_arn"?: …, "subject"?: …}`: a Notification envelope signed by the
/// sandbox's SNS key (or the named extra identity, whose certificate URL it then names).
/// Tests replay, tamper with and forge from it.
async fn sign(
    AxState((shared, ipn)): AxState<(Shared, IpnShared)>,
    Json(body): Json<Value>,
) -> Response {
    let Some(message) = body.get("message").and_then(Value::as_str) else {
        return crate::control::bad_request("message (string) is required");
    };
    let version = match body.get("signature_version").and_then(Value::as_str) {
        Some("1") => SignatureVersion::V1,
        Some("2") | None => SignatureVersion::V2,
        Some(_) => return crate::control::bad_request("signature_version must be 1 or 2"),
    };
    let now = lock(&shared).now();
    let q = lock_ipn(&ipn);
    let mut env = q.unsigned_envelope(message.to_string(), version, now);
    if let Some(topic) = body.get("topic_arn").and_then(Value::as_str) {
        env.topic_arn = topic.to_string();
    }
    env.subject = body
        .get("subject")
        .and_then(Value::as_str)
        .map(str::to_string);
    match body.get("identity").and_then(Value::as_str) {
        None => q.identity.sign(&mut env),
        Some(name) => match q.extra.get(name) {
            Some(identity) => {
                env.signing_cert_url = format!("{}{name}", q.cert_base);
                identity.sign(&mut env);
            }
            None => return crate::control::bad_request("unknown identity"),
        },
    }
    match serde_json::from_str::<Value>(&env.to_json()) {
        Ok(v) => Json(v).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn console_error(e: super::wire::ApiError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "reasonCode": e.reason_code, "message": e.message })),
    )
        .into_response()
}

/// `POST /__sandbox/amazon/console/charges/{id}/{capture|cancel|refund}` with an optional
/// `{"amount": n}`: what a merchant does in Seller Central. The same rules as the API apply.
async fn console(
    AxState((shared, _)): AxState<(Shared, IpnShared)>,
    Path((id, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let mut st = lock(&shared);
    st.refresh();
    let Some(charge) = st.charges.get(&id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({ "reasonCode": "ResourceNotFound" })),
        )
            .into_response();
    };
    let amount = body.get("amount").and_then(Value::as_i64);
    let price = |n: i64| json!({ "amount": n.to_string(), "currencyCode": "JPY" });
    let result = match action.as_str() {
        "capture" => super::api::capture_charge(
            &mut st,
            &id,
            &json!({ "captureAmount": price(amount.unwrap_or(charge.charge_amount)) }),
        )
        .map(|()| id.clone()),
        "cancel" => super::api::cancel_charge(
            &mut st,
            &id,
            &json!({ "cancellationReason": "Seller Central" }),
        )
        .map(|()| id.clone()),
        "refund" => super::api::create_refund(
            &mut st,
            &json!({
                "chargeId": id,
                "refundAmount": price(amount.unwrap_or(charge.capture_amount.unwrap_or(0))),
            }),
            None,
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    match result {
        Ok(object_id) => Json(json!({ "objectId": object_id })).into_response(),
        Err(e) => console_error(e),
    }
}

pub fn routes(shared: Shared, ipn: IpnShared) -> Router {
    Router::new()
        .route("/__sns/{name}", get(cert))
        .route("/__sandbox/amazon/ipn", get(ipn_config))
        .route("/__sandbox/amazon/ipn/url", post(ipn_url))
        .route("/__sandbox/amazon/ipn/identities", post(add_identity))
        .route("/__sandbox/amazon/ipn/sign", post(sign))
        .route("/__sandbox/amazon/ipn/deliveries", get(deliveries))
        .route(
            "/__sandbox/amazon/console/charges/{id}/{action}",
            post(console),
        )
        .with_state((shared, ipn))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::RsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;

    #[test]
    fn certificate_is_issued_by_the_ca_and_signatures_verify() {
        let now = UnixMillis(1_800_000_000_000);
        let id = SnsIdentity::generate(now);
        let cert = der::parse_certificate(&id.cert_der).expect("parses");
        assert!(cert.valid_at(now));
        assert!(cert.has_rsa_key());
        let ca = RsaPublicKey::from_public_key_der(&id.ca_spki_der).expect("ca key");
        ca.verify(
            Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(cert.tbs),
            cert.signature,
        )
        .expect("issued by the CA");

        let signer = RsaPublicKey::from_public_key_der(cert.spki).expect("signing key");
        for version in [SignatureVersion::V1, SignatureVersion::V2] {
            let mut env = IpnState::new("http://127.0.0.1:1", "A1", now).envelope(
                &IpnMessage {
                    merchant_id: "A1".into(),
                    object_type: IpnObjectType::Charge,
                    object_id: "C".into(),
                    charge_permission_id: "P".into(),
                    notification_type: "STATE_CHANGE".into(),
                    notification_id: "N".into(),
                },
                version,
                now,
            );
            // Signed by another identity's key: re-sign with ours to check the hash choice.
            id.sign(&mut env);
            let sig = kessai_core::amazon::signing::base64_decode(&env.signature).expect("b64");
            let data = env.string_to_sign();
            let ok = match version {
                SignatureVersion::V1 => signer.verify(
                    Pkcs1v15Sign::new::<sha1::Sha1>(),
                    &sha1::Sha1::digest(data.as_bytes()),
                    &sig,
                ),
                SignatureVersion::V2 => signer.verify(
                    Pkcs1v15Sign::new::<sha2::Sha256>(),
                    &sha2::Sha256::digest(data.as_bytes()),
                    &sig,
                ),
            };
            assert!(ok.is_ok(), "{version:?}");
        }
    }
}
