//! The CV2 REST API: `/{sandbox|live}/v2/…` and the unified `/v2/…` (environment from the
//! `SANDBOX-` key id). Every request is signature-checked ([`super::auth::verify_request`]),
//! POSTs need an idempotency key, and the state rules follow reference §1.4/§1.5/§5.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::buyers::BuyerOutcome;
use super::state::{
    Charge, ChargePermission, ChargePermissionState, ChargePermissionType, ChargeState,
    CheckoutSession, CheckoutSessionState, IdempotencyRecord, LogEntry, MerchantMetadata,
    ONE_TIME_CHARGE_PERMISSION_DAYS, PaymentDetails, PaymentIntent, Processing, ProductType,
    RECURRING_MONTHLY_CAP, REFUND_EXTRA_CAP, REFUND_EXTRA_PERCENT, Refund, RefundState, State,
    WebCheckoutDetails, buyer, uuid_v4,
};
use super::wire::{self, ApiError, Schema, str_at};
use super::{Shared, lock};
use crate::state::random_digits;

/// The APIs, as the request log and faults name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    CreateCheckoutSession,
    GetCheckoutSession,
    UpdateCheckoutSession,
    CompleteCheckoutSession,
    GetChargePermission,
    UpdateChargePermission,
    CloseChargePermission,
    CreateCharge,
    GetCharge,
    CaptureCharge,
    CancelCharge,
    CreateRefund,
    GetRefund,
    GetBuyer,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::CreateCheckoutSession => "CreateCheckoutSession",
            Api::GetCheckoutSession => "GetCheckoutSession",
            Api::UpdateCheckoutSession => "UpdateCheckoutSession",
            Api::CompleteCheckoutSession => "CompleteCheckoutSession",
            Api::GetChargePermission => "GetChargePermission",
            Api::UpdateChargePermission => "UpdateChargePermission",
            Api::CloseChargePermission => "CloseChargePermission",
            Api::CreateCharge => "CreateCharge",
            Api::GetCharge => "GetCharge",
            Api::CaptureCharge => "CaptureCharge",
            Api::CancelCharge => "CancelCharge",
            Api::CreateRefund => "CreateRefund",
            Api::GetRefund => "GetRefund",
            Api::GetBuyer => "GetBuyer",
        }
    }
}

/// Maps method + resource path (after `/v2`) to an API and its path id.
fn route(method: &Method, resource: &str) -> Result<(Api, Option<String>), ApiError> {
    let segs: Vec<&str> = resource.split('/').filter(|s| !s.is_empty()).collect();
    let id = |i: usize| segs.get(i).map(|s| percent_decode(s));
    let m = method.clone();
    let api = match (segs.as_slice(), m) {
        (["checkoutSessions"], Method::POST) => Api::CreateCheckoutSession,
        (["checkoutSessions", _], Method::GET) => Api::GetCheckoutSession,
        (["checkoutSessions", _], Method::PATCH) => Api::UpdateCheckoutSession,
        (["checkoutSessions", _, "complete"], Method::POST) => Api::CompleteCheckoutSession,
        (["chargePermissions", _], Method::GET) => Api::GetChargePermission,
        (["chargePermissions", _], Method::PATCH) => Api::UpdateChargePermission,
        (["chargePermissions", _, "close"], Method::DELETE) => Api::CloseChargePermission,
        (["charges"], Method::POST) => Api::CreateCharge,
        (["charges", _], Method::GET) => Api::GetCharge,
        (["charges", _, "capture"], Method::POST) => Api::CaptureCharge,
        (["charges", _, "cancel"], Method::DELETE) => Api::CancelCharge,
        (["refunds"], Method::POST) => Api::CreateRefund,
        (["refunds", _], Method::GET) => Api::GetRefund,
        (["buyers", _], Method::GET) => Api::GetBuyer,
        (
            ["checkoutSessions"]
            | ["checkoutSessions", _]
            | ["checkoutSessions", _, "complete"]
            | ["chargePermissions", _]
            | ["chargePermissions", _, "close"]
            | ["charges"]
            | ["charges", _]
            | ["charges", _, "capture" | "cancel"]
            | ["refunds"]
            | ["refunds", _]
            | ["buyers", _],
            other,
        ) => {
            return Err(ApiError::new(
                "UnsupportedOperation",
                format!("The operation {other} is not supported on this resource."),
            ));
        }
        _ => {
            return Err(ApiError::new(
                "ResourceNotFound",
                format!("No API matches the path '{resource}'."),
            ));
        }
    };
    let object = match api {
        Api::CreateCheckoutSession | Api::CreateCharge | Api::CreateRefund => None,
        Api::GetCheckoutSession
        | Api::UpdateCheckoutSession
        | Api::CompleteCheckoutSession
        | Api::GetChargePermission
        | Api::UpdateChargePermission
        | Api::CloseChargePermission
        | Api::GetCharge
        | Api::CaptureCharge
        | Api::CancelCharge
        | Api::GetRefund
        | Api::GetBuyer => id(1),
    };
    Ok((api, object))
}

/// Decodes `%XX` in a path segment (ids arrive percent-encoded, e.g. `|` in buyer tokens).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

enum Env {
    Sandbox,
    Live,
    /// `/v2/…`: the environment is the key id's prefix.
    Unified,
}

fn split_env(path: &str) -> Option<(Env, &str)> {
    if let Some(rest) = path.strip_prefix("/sandbox/v2") {
        Some((Env::Sandbox, rest))
    } else if let Some(rest) = path.strip_prefix("/live/v2") {
        Some((Env::Live, rest))
    } else {
        path.strip_prefix("/v2").map(|rest| (Env::Unified, rest))
    }
}

/// A response body that fails at once: hyper closes the connection without an answer, so the
/// client sees the request lost although the sandbox committed it.
struct AbortedBody;

impl HttpBody for AbortedBody {
    type Data = Bytes;
    type Error = std::io::Error;
    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "kessai sandbox fault: answer dropped",
        ))))
    }
}

fn json_response(status: StatusCode, body: Vec<u8>, request_id: &str) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amz-pay-request-id", v);
    }
    resp
}

fn error_response(e: &ApiError, request_id: &str) -> Response {
    json_response(e.status, e.body().to_string().into_bytes(), request_id)
}

/// Idempotency keys: ≤ 32 of `[A-Za-z0-9_-]` [C reference §5].
fn valid_idempotency_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 32
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn fingerprint(method: &Method, path: &str, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b"\n");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    h.finalize().into()
}

/// The sandbox's own `host:port`, as `x-amz-pay-host` may name it.
fn own_host(base_url: &str) -> &str {
    base_url
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(base_url)
        .trim_end_matches('/')
}

/// Entry point of every `/…/v2/…` request.
pub async fn handle(
    AxState(shared): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid_v4();
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("").to_string();
    let mut entry = LogEntry {
        seq: 0,
        at_unix_ms: 0,
        method: method.to_string(),
        path: path.clone(),
        api: "-".into(),
        status: 0,
        reason_code: None,
        object_id: None,
        replayed: false,
        dropped: false,
    };
    let (outcome, fault) = {
        let mut st = lock(&shared);
        st.refresh();
        let outcome = run(&mut st, &method, &path, &query, &headers, &body, &mut entry);
        let fault = match &outcome {
            Ok((status, _)) if status.is_success() && !entry.replayed => {
                st.take_fault(&entry.api, entry.object_id.as_deref())
            }
            Ok(_) | Err(_) => None,
        };
        match &outcome {
            Ok((status, _)) => entry.status = status.as_u16(),
            Err(e) => {
                entry.status = e.status.as_u16();
                entry.reason_code = Some(e.reason_code.to_string());
            }
        }
        entry.dropped = fault.as_ref().is_some_and(|f| f.drop_answer);
        st.record(entry);
        (outcome, fault)
    };
    if let Some(f) = &fault
        && f.delay_ms > 0
    {
        tokio::time::sleep(Duration::from_millis(f.delay_ms)).await;
    }
    if fault.as_ref().is_some_and(|f| f.drop_answer) {
        let mut resp = Response::new(Body::new(AbortedBody));
        *resp.status_mut() = StatusCode::OK;
        return resp;
    }
    match outcome {
        Ok((status, bytes)) => json_response(status, bytes, &request_id),
        Err(e) => error_response(&e, &request_id),
    }
}

/// Authenticates, routes, applies idempotency and executes. Answers the status and body bytes.
fn run(
    st: &mut State,
    method: &Method,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    entry: &mut LogEntry,
) -> Result<(StatusCode, Vec<u8>), ApiError> {
    let Some((env, resource)) = split_env(path) else {
        return Err(ApiError::new("ResourceNotFound", "Unknown path."));
    };
    if let Ok((api, object)) = route(method, resource) {
        entry.api = api.name().to_string();
        entry.object_id = object;
    }
    match env {
        Env::Live => {
            return Err(ApiError::new(
                "InvalidAuthentication",
                "The Live environment is not available in the Amazon Pay sandbox; use /sandbox/v2.",
            ));
        }
        Env::Sandbox | Env::Unified => {}
    }
    let key = super::auth::parse_public_key(&st.cfg.public_key_pem);
    let host = own_host(&st.base_url).to_string();
    let received = super::auth::Received {
        method,
        path,
        query,
        headers,
        body,
    };
    super::auth::verify_request(&st.cfg, key.as_ref(), &host, st.now(), &received)?;
    if matches!(env, Env::Unified)
        && !st
            .cfg
            .public_key_id
            .to_ascii_uppercase()
            .starts_with("SANDBOX")
    {
        return Err(ApiError::new(
            "InvalidAuthentication",
            "The unified endpoint needs an environment-specific (SANDBOX-) public key id.",
        ));
    }
    let (api, object) = route(method, resource)?;
    // Idempotency: POSTs only (ignored on GET/PATCH/DELETE) [C reference §5].
    let mut idem_key = None;
    if *method == Method::POST {
        let k = headers
            .get("x-amz-pay-idempotency-key")
            .and_then(|v| v.to_str().ok());
        let Some(k) = k else {
            // [U] Amazon documents the key as required on create calls; the sandbox requires
            // it on every POST (complete and capture included) so retries are always safe.
            return Err(ApiError::new(
                "MissingHeader",
                "The request is missing the required header x-amz-pay-idempotency-key.",
            ));
        };
        if !valid_idempotency_key(k) {
            return Err(ApiError::new(
                "InvalidHeaderValue",
                format!(
                    "The value '{k}' provided for header 'x-amz-pay-idempotency-key' is invalid."
                ),
            ));
        }
        let fp = fingerprint(method, path, body);
        if let Some(rec) = st.idempotency.get(k) {
            if rec.fingerprint != fp {
                return Err(ApiError::new(
                    "DuplicateIdempotencyKey",
                    format!("The idempotency key '{k}' was already used with a different request."),
                ));
            }
            entry.replayed = true;
            let status = StatusCode::from_u16(rec.status).unwrap_or(StatusCode::OK);
            return Ok((status, rec.body.clone()));
        }
        idem_key = Some((k.to_string(), fp));
    }
    let body_json: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::new(
                "InvalidRequestFormat",
                format!("The request body is not valid JSON: {e}"),
            )
        })?
    };
    if !body_json.is_object() {
        return Err(ApiError::new(
            "InvalidRequestFormat",
            "The request body must be a JSON object.",
        ));
    }
    let simulation = headers
        .get("x-amz-pay-simulation-code")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let id = object.unwrap_or_default();
    let result = execute(st, api, &id, &body_json, simulation.as_deref());
    // The first answer (success or business error, not 5xx) is kept for the key.
    if let Some((k, fp)) = idem_key {
        let (status, bytes) = match &result {
            Ok((s, v)) => (*s, v.to_string().into_bytes()),
            Err(e) => (e.status, e.body().to_string().into_bytes()),
        };
        if !status.is_server_error() {
            st.idempotency.insert(
                k,
                IdempotencyRecord {
                    fingerprint: fp,
                    status: status.as_u16(),
                    body: bytes,
                },
            );
        }
    }
    if let Ok((_, v)) = &result {
        // Creates: the log names the new object.
        let new_id = match api {
            Api::CreateCheckoutSession => str_at(v, "checkoutSessionId"),
            Api::CreateCharge => str_at(v, "chargeId"),
            Api::CreateRefund => str_at(v, "refundId"),
            Api::GetCheckoutSession
            | Api::UpdateCheckoutSession
            | Api::CompleteCheckoutSession
            | Api::GetChargePermission
            | Api::UpdateChargePermission
            | Api::CloseChargePermission
            | Api::GetCharge
            | Api::CaptureCharge
            | Api::CancelCharge
            | Api::GetRefund
            | Api::GetBuyer => None,
        };
        if let Some(n) = new_id {
            entry.object_id = Some(n.to_string());
        }
    }
    result.map(|(s, v)| (s, v.to_string().into_bytes()))
}

fn execute(
    st: &mut State,
    api: Api,
    id: &str,
    body: &Value,
    simulation: Option<&str>,
) -> Result<(StatusCode, Value), ApiError> {
    let ok = |v: Value| Ok((StatusCode::OK, v));
    match api {
        Api::CreateCheckoutSession => {
            wire::check(body, &wire::CREATE_CHECKOUT_SESSION, "")?;
            let cs_id = create_checkout_session(st, body, ProductType::PayAndShip, None)?;
            let cs = st
                .checkout_sessions
                .get(&cs_id)
                .ok_or_else(|| ApiError::not_found("Checkout Session", &cs_id))?;
            Ok((
                StatusCode::CREATED,
                wire::checkout_session_json(cs, &st.base_url),
            ))
        }
        Api::GetCheckoutSession => {
            let cs = get_cs(st, id)?;
            ok(wire::checkout_session_json(cs, &st.base_url))
        }
        Api::UpdateCheckoutSession => {
            wire::check(body, &wire::UPDATE_CHECKOUT_SESSION, "")?;
            update_checkout_session(st, id, body)?;
            ok(wire::checkout_session_json(get_cs(st, id)?, &st.base_url))
        }
        Api::CompleteCheckoutSession => {
            wire::check(body, &wire::COMPLETE_CHECKOUT_SESSION, "")?;
            let pending = complete_checkout_session(st, id, body, simulation)?;
            let status = if pending {
                StatusCode::ACCEPTED
            } else {
                StatusCode::OK
            };
            Ok((
                status,
                wire::checkout_session_json(get_cs(st, id)?, &st.base_url),
            ))
        }
        Api::GetChargePermission => ok(charge_permission_value(st, id)?),
        Api::UpdateChargePermission => {
            wire::check(body, &wire::UPDATE_CHARGE_PERMISSION, "")?;
            update_charge_permission(st, id, body)?;
            ok(charge_permission_value(st, id)?)
        }
        Api::CloseChargePermission => {
            wire::check(body, &wire::CLOSE_CHARGE_PERMISSION, "")?;
            close_charge_permission(st, id, body)?;
            ok(charge_permission_value(st, id)?)
        }
        Api::CreateCharge => {
            wire::check(body, &wire::CREATE_CHARGE, "")?;
            let charge_id = create_charge(st, body, simulation)?;
            let c = get_charge(st, &charge_id)?;
            let status = if c.state == ChargeState::AuthorizationInitiated {
                StatusCode::ACCEPTED
            } else {
                StatusCode::CREATED
            };
            Ok((status, wire::charge_json(c)))
        }
        Api::GetCharge => ok(wire::charge_json(get_charge(st, id)?)),
        Api::CaptureCharge => {
            wire::check(body, &wire::CAPTURE_CHARGE, "")?;
            capture_charge(st, id, body)?;
            ok(wire::charge_json(get_charge(st, id)?))
        }
        Api::CancelCharge => {
            wire::check(body, &wire::CANCEL_CHARGE, "")?;
            cancel_charge(st, id, body)?;
            ok(wire::charge_json(get_charge(st, id)?))
        }
        Api::CreateRefund => {
            wire::check(body, &wire::CREATE_REFUND, "")?;
            let refund_id = create_refund(st, body, simulation)?;
            let r = st
                .refunds
                .get(&refund_id)
                .ok_or_else(|| ApiError::not_found("Refund", &refund_id))?;
            Ok((StatusCode::CREATED, wire::refund_json(r)))
        }
        Api::GetRefund => {
            let r = st
                .refunds
                .get(id)
                .ok_or_else(|| ApiError::not_found("Refund", id))?;
            ok(wire::refund_json(r))
        }
        Api::GetBuyer => {
            // [U] code for an unknown or expired token.
            let t = st
                .buyer_tokens
                .get(id)
                .ok_or_else(|| ApiError::not_found("buyer token", "…"))?;
            let b = buyer(t.buyer_key).ok_or_else(|| ApiError::not_found("buyer", "…"))?;
            ok(wire::get_buyer_json(b, &t.scopes))
        }
    }
}

fn get_cs<'a>(st: &'a State, id: &str) -> Result<&'a CheckoutSession, ApiError> {
    st.checkout_sessions
        .get(id)
        .ok_or_else(|| ApiError::not_found("Checkout Session", id))
}

fn get_charge<'a>(st: &'a State, id: &str) -> Result<&'a Charge, ApiError> {
    st.charges
        .get(id)
        .ok_or_else(|| ApiError::not_found("Charge", id))
}

fn charge_permission_value(st: &State, id: &str) -> Result<Value, ApiError> {
    let cp = st
        .charge_permissions
        .get(id)
        .ok_or_else(|| ApiError::not_found("Charge Permission", id))?;
    Ok(wire::charge_permission_json(cp, st.amount_held(id)))
}

/// An absolute http(s) URL (the sandbox, like Amazon's, accepts http; live needs https [C]).
fn check_url(path: &str, url: &str) -> Result<(), ApiError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && url.len() <= 2048 => Ok(()),
        _ => Err(ApiError::invalid(path, url)),
    }
}

const SCOPES: [&str; 7] = [
    "name",
    "email",
    "phoneNumber",
    "billingAddress",
    "shippingAddress",
    "postalCode",
    "primeStatus",
];

pub fn check_scopes(path: &str, v: Option<&Value>) -> Result<Option<Vec<String>>, ApiError> {
    let Some(Value::Array(items)) = v else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for s in items.iter().filter_map(Value::as_str) {
        if !SCOPES.contains(&s) {
            return Err(ApiError::invalid(path, s));
        }
        out.push(s.to_string());
    }
    Ok(Some(out))
}

fn merge_web(into: &mut WebCheckoutDetails, v: &Value) -> Result<(), ApiError> {
    if let Some(u) = str_at(v, "checkoutReviewReturnUrl") {
        check_url("webCheckoutDetails.checkoutReviewReturnUrl", u)?;
        into.checkout_review_return_url = Some(u.to_string());
    }
    if let Some(u) = str_at(v, "checkoutResultReturnUrl") {
        check_url("webCheckoutDetails.checkoutResultReturnUrl", u)?;
        into.checkout_result_return_url = Some(u.to_string());
    }
    if let Some(u) = str_at(v, "checkoutCancelUrl") {
        check_url("webCheckoutDetails.checkoutCancelUrl", u)?;
        into.checkout_cancel_url = Some(u.to_string());
    }
    Ok(())
}

/// Creates an Open checkout session from a Create Checkout Session body (API or button
/// payload, already schema-checked). Answers its id.
pub fn create_checkout_session(
    st: &mut State,
    body: &Value,
    product_type: ProductType,
    button_page: Option<String>,
) -> Result<String, ApiError> {
    let empty = json!({});
    let web_v = body.get("webCheckoutDetails").unwrap_or(&empty);
    let mut web = WebCheckoutDetails::default();
    merge_web(&mut web, web_v)?;
    if web.checkout_review_return_url.is_none() {
        return Err(ApiError::missing(
            "webCheckoutDetails.checkoutReviewReturnUrl",
        ));
    }
    let Some(store_id) = str_at(body, "storeId") else {
        return Err(ApiError::missing("storeId"));
    };
    if store_id != st.cfg.store_id {
        return Err(ApiError::invalid("storeId", store_id));
    }
    let scopes = check_scopes("scopes", body.get("scopes"))?;
    let cp_type = match str_at(body, "chargePermissionType") {
        None => ChargePermissionType::OneTime,
        // [U] PaymentMethodOnFile (saved wallet) is not simulated: refused like an unknown value.
        Some(s) => match ChargePermissionType::parse(s) {
            Some(t @ (ChargePermissionType::OneTime | ChargePermissionType::Recurring)) => t,
            Some(ChargePermissionType::PaymentMethodOnFile) | None => {
                return Err(ApiError::invalid("chargePermissionType", s));
            }
        },
    };
    let recurring_metadata = body
        .get("recurringMetadata")
        .filter(|v| !v.is_null())
        .cloned();
    if let Some(amount) = recurring_metadata
        .as_ref()
        .and_then(|r| r.get("amount"))
        .filter(|a| !a.is_null())
    {
        wire::price(amount, "recurringMetadata.amount")?;
    }
    if let Some(d) = body.get("deliverySpecifications").filter(|v| !v.is_null()) {
        delivery_specifications(d)?;
    }
    let mut payment_details = PaymentDetails::default();
    if let Some(pd) = body.get("paymentDetails").filter(|v| !v.is_null()) {
        wire::merge_payment_details(&mut payment_details, pd)?;
    }
    let mut merchant_metadata = MerchantMetadata::default();
    if let Some(mm) = body.get("merchantMetadata").filter(|v| !v.is_null()) {
        wire::merge_merchant_metadata(&mut merchant_metadata, mm)?;
    }
    let now = st.now();
    let id = uuid_v4();
    let cs = CheckoutSession {
        id: id.clone(),
        product_type,
        web,
        store_id: store_id.to_string(),
        scopes,
        charge_permission_type: cp_type,
        recurring_metadata,
        payment_details,
        merchant_metadata,
        delivery_specifications: body
            .get("deliverySpecifications")
            .filter(|v| !v.is_null())
            .cloned(),
        platform_id: str_at(body, "platformId").map(str::to_string),
        provider_reference_id: body
            .get("providerMetadata")
            .and_then(|p| str_at(p, "providerReferenceId"))
            .map(str::to_string),
        created_at: now,
        state: CheckoutSessionState::Open,
        reason_code: None,
        reason_description: None,
        last_updated: now,
        buyer_key: None,
        address_index: None,
        payment_method_index: None,
        processing: None,
        charge_permission_id: None,
        charge_id: None,
        button_page,
    };
    st.checkout_sessions.insert(id.clone(), cs);
    Ok(id)
}

/// Reads `deliverySpecifications` with core's model; the restriction type must be Allowed or
/// NotAllowed [C field values].
pub fn delivery_specifications(
    v: &Value,
) -> Result<kessai_core::amazon::model::DeliverySpecifications, ApiError> {
    let spec: kessai_core::amazon::model::DeliverySpecifications =
        serde_json::from_value(v.clone())
            .map_err(|_| ApiError::invalid("deliverySpecifications", &v.to_string()))?;
    if let Some(r) = &spec.address_restrictions
        && r.kind != "Allowed"
        && r.kind != "NotAllowed"
    {
        return Err(ApiError::invalid(
            "deliverySpecifications.addressRestrictions.type",
            &r.kind,
        ));
    }
    Ok(spec)
}

fn state_error(what: &str, code: &'static str, state: &str) -> ApiError {
    ApiError::new(
        code,
        format!("The {what} is in the {state} state; this operation is not allowed in that state."),
    )
}

fn charge_status_error(state: ChargeState) -> ApiError {
    state_error("Charge", "InvalidChargeStatus", charge_state_name(state))
}

fn charge_permission_status_error(state: ChargePermissionState) -> ApiError {
    state_error(
        "Charge Permission",
        "InvalidChargePermissionStatus",
        cp_state_name(state),
    )
}

/// A price the body must carry (`null` counts as absent): `missing` when it does not.
fn required_price(body: &Value, field: &str) -> Result<i64, ApiError> {
    let Some(amount) = body.get(field).filter(|v| !v.is_null()) else {
        return Err(ApiError::missing(field));
    };
    wire::price(amount, field)
}

fn cs_state_name(s: CheckoutSessionState) -> &'static str {
    match s {
        CheckoutSessionState::Open => "Open",
        CheckoutSessionState::Completed => "Completed",
        CheckoutSessionState::Canceled => "Canceled",
    }
}

fn charge_state_name(s: ChargeState) -> &'static str {
    match s {
        ChargeState::AuthorizationInitiated => "AuthorizationInitiated",
        ChargeState::Authorized => "Authorized",
        ChargeState::CaptureInitiated => "CaptureInitiated",
        ChargeState::Captured => "Captured",
        ChargeState::Canceled => "Canceled",
        ChargeState::Declined => "Declined",
    }
}

fn cp_state_name(s: ChargePermissionState) -> &'static str {
    match s {
        ChargePermissionState::Chargeable => "Chargeable",
        ChargePermissionState::NonChargeable => "NonChargeable",
        ChargePermissionState::Closed => "Closed",
    }
}

fn update_checkout_session(st: &mut State, id: &str, body: &Value) -> Result<(), ApiError> {
    let now = st.now();
    let cs = st
        .checkout_sessions
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("Checkout Session", id))?;
    match cs.state {
        CheckoutSessionState::Open => {}
        CheckoutSessionState::Completed | CheckoutSessionState::Canceled => {
            return Err(state_error(
                "Checkout Session",
                "InvalidCheckoutSessionStatus",
                cs_state_name(cs.state),
            ));
        }
    }
    // Once the buyer went through the processing page the payment is authorised for the
    // session's amount: no increase after the order (and the sandbox refuses any change of the
    // payment details then; a smaller amount is taken by capturing less). [U] Amazon's exact
    // answer; the sandbox uses InvalidCheckoutSessionStatus.
    if cs.processing.is_some() && body.get("paymentDetails").is_some_and(|v| !v.is_null()) {
        return Err(ApiError::new(
            "InvalidCheckoutSessionStatus",
            "The buyer has already confirmed this Checkout Session; its payment details can no longer be changed.",
        ));
    }
    // Validate everything on copies first: a refused update changes nothing.
    let mut web = cs.web.clone();
    let mut pd = cs.payment_details.clone();
    let mut mm = cs.merchant_metadata.clone();
    if let Some(w) = body.get("webCheckoutDetails").filter(|v| !v.is_null()) {
        merge_web(&mut web, w)?;
    }
    if let Some(p) = body.get("paymentDetails").filter(|v| !v.is_null()) {
        wire::merge_payment_details(&mut pd, p)?;
    }
    if let Some(m) = body.get("merchantMetadata").filter(|v| !v.is_null()) {
        wire::merge_merchant_metadata(&mut mm, m)?;
    }
    let recurring = body
        .get("recurringMetadata")
        .filter(|v| !v.is_null())
        .cloned();
    if let Some(amount) = recurring
        .as_ref()
        .and_then(|r| r.get("amount"))
        .filter(|a| !a.is_null())
    {
        wire::price(amount, "recurringMetadata.amount")?;
    }
    cs.web = web;
    cs.payment_details = pd;
    cs.merchant_metadata = mm;
    if recurring.is_some() {
        cs.recurring_metadata = recurring;
    }
    if let Some(p) = str_at(body, "platformId") {
        cs.platform_id = Some(p.to_string());
    }
    if let Some(p) = body
        .get("providerMetadata")
        .and_then(|p| str_at(p, "providerReferenceId"))
    {
        cs.provider_reference_id = Some(p.to_string());
    }
    cs.last_updated = now;
    Ok(())
}

/// Random unique 6-digit suffix for charge (`-C`) and refund (`-R`) ids.
fn child_id(st: &State, cp_id: &str, kind: char) -> String {
    loop {
        let id = format!("{cp_id}-{kind}{}", random_digits(6));
        if !st.charges.contains_key(&id) && !st.refunds.contains_key(&id) {
            return id;
        }
    }
}

/// The processing page (`amazonPayRedirectUrl`): Amazon processes the payment for the buyer
/// chosen on the hosted page. Answers Ok(()) when done (or already done), Err when the session
/// cannot be processed.
pub fn process_checkout_session(st: &mut State, id: &str) -> Result<(), String> {
    let now = st.now();
    let cs = st
        .checkout_sessions
        .get(id)
        .ok_or_else(|| "このチェックアウトセッションは存在しません。".to_string())?;
    if cs.processing.is_some() {
        return Ok(());
    }
    match cs.state {
        CheckoutSessionState::Open => {}
        CheckoutSessionState::Completed | CheckoutSessionState::Canceled => return Ok(()),
    }
    if !wire::constraints(cs).is_empty() {
        return Err(
            "このチェックアウトセッションはまだ処理できません（constraints が残っています）。"
                .into(),
        );
    }
    let Some(b) = cs.buyer_key.and_then(buyer) else {
        return Err("購入者が選択されていません。".into());
    };
    match b.outcome {
        BuyerOutcome::HardDeclined => {
            if let Some(cs) = st.checkout_sessions.get_mut(id) {
                cs.state = CheckoutSessionState::Canceled;
                cs.reason_code = Some("Declined");
                cs.reason_description = Some("The buyer's payment was declined.".into());
                cs.last_updated = now;
                cs.processing = Some(Processing::Declined);
            }
            return Ok(());
        }
        BuyerOutcome::Pays => {}
    }
    let cs = cs.clone();
    let amount = cs.payment_details.charge_amount.unwrap_or(0);
    let cp_id = st.new_charge_permission_id();
    let expires_at = match cs.charge_permission_type {
        ChargePermissionType::OneTime => {
            Some(now.plus_days(if cs.payment_details.extend_expiration {
                395 // 13 months [C option; U exact day count]
            } else {
                ONE_TIME_CHARGE_PERMISSION_DAYS
            }))
        }
        ChargePermissionType::Recurring | ChargePermissionType::PaymentMethodOnFile => None,
    };
    let cp = ChargePermission {
        id: cp_id.clone(),
        kind: cs.charge_permission_type,
        buyer_key: b.key,
        address_index: cs.address_index,
        payment_method_index: cs.payment_method_index.unwrap_or(0),
        product_type: cs.product_type,
        scopes: cs.scopes.clone(),
        merchant_metadata: cs.merchant_metadata.clone(),
        recurring_metadata: cs.recurring_metadata.clone(),
        platform_id: cs.platform_id.clone(),
        amount_limit: match cs.charge_permission_type {
            // [U] allowOvercharge is accepted but its larger limit is not simulated.
            ChargePermissionType::OneTime => Some(amount),
            ChargePermissionType::Recurring | ChargePermissionType::PaymentMethodOnFile => None,
        },
        created_at: now,
        expires_at,
        state: ChargePermissionState::Chargeable,
        reasons: Vec::new(),
        last_updated: now,
        wallet_declines: None,
    };
    st.charge_permissions.insert(cp_id.clone(), cp);
    let intent = cs
        .payment_details
        .payment_intent
        .unwrap_or(PaymentIntent::Authorize);
    let charge_id = match intent {
        PaymentIntent::Confirm => None,
        PaymentIntent::Authorize | PaymentIntent::AuthorizeWithCapture => {
            let charge_id = child_id(st, &cp_id, 'C');
            let capture = intent == PaymentIntent::AuthorizeWithCapture;
            let pending = cs.payment_details.can_handle_pending_authorization && !capture;
            let charge = Charge {
                id: charge_id.clone(),
                charge_permission_id: cp_id.clone(),
                charge_amount: amount,
                capture_amount: capture.then_some(amount),
                refunded_amount: 0,
                soft_descriptor: cs.payment_details.soft_descriptor.clone(),
                capture_now: capture,
                can_handle_pending_authorization: cs
                    .payment_details
                    .can_handle_pending_authorization,
                merchant_metadata: cs.merchant_metadata.clone(),
                created_at: now,
                state: if capture {
                    ChargeState::Captured
                } else if pending {
                    ChargeState::AuthorizationInitiated
                } else {
                    ChargeState::Authorized
                },
                reason_code: None,
                reason_description: None,
                last_updated: now,
                // A pending authorisation starts settling once the merchant completes the
                // session (Complete answers 202 meanwhile).
                settles_at: None,
            };
            st.charges.insert(charge_id.clone(), charge);
            Some(charge_id)
        }
    };
    if let Some(cs) = st.checkout_sessions.get_mut(id) {
        cs.processing = Some(Processing::Approved {
            charge_permission_id: cp_id,
            charge_id,
        });
        cs.last_updated = now;
    }
    Ok(())
}

/// Sandbox simulation codes accepted by Complete Checkout Session [U list].
const COMPLETE_SIMULATIONS: [&str; 3] = ["BuyerCanceled", "AmazonCanceled", "Declined"];

/// Answers whether the authorisation is still pending (202).
fn complete_checkout_session(
    st: &mut State,
    id: &str,
    body: &Value,
    simulation: Option<&str>,
) -> Result<bool, ApiError> {
    let now = st.now();
    let cs = get_cs(st, id)?.clone();
    match cs.state {
        CheckoutSessionState::Open => {}
        // Completing twice is refused (reference §1.3 [C FAQ]): a retry must reuse its
        // idempotency key (then the first answer is replayed) or read the session instead.
        CheckoutSessionState::Completed => {
            return Err(state_error(
                "Checkout Session",
                "InvalidCheckoutSessionStatus",
                "Completed",
            ));
        }
        // A failed checkout (declined, canceled, expired) [C EC-CUBE; 400 per JTL, U].
        CheckoutSessionState::Canceled => {
            return Err(ApiError::new(
                "CheckoutSessionCanceled",
                format!(
                    "The Checkout Session was canceled ({}); read it for the reason.",
                    cs.reason_code.unwrap_or("Canceled")
                ),
            ));
        }
    }
    let Some(Processing::Approved {
        charge_permission_id,
        charge_id,
    }) = cs.processing.clone()
    else {
        // [U] Amazon's answer before the buyer went through amazonPayRedirectUrl.
        return Err(ApiError::new(
            "InvalidCheckoutSessionStatus",
            "The buyer has not completed checkout on Amazon Pay yet (amazonPayRedirectUrl was not visited).",
        ));
    };
    let amount = required_price(body, "chargeAmount")?;
    if let Some(t) = body.get("totalOrderAmount").filter(|v| !v.is_null()) {
        wire::price(t, "totalOrderAmount")?;
    }
    let expected = cs.payment_details.charge_amount.unwrap_or(0);
    if amount != expected {
        return Err(ApiError::new(
            "AmountMismatch",
            format!(
                "The chargeAmount ({amount} JPY) does not match the Checkout Session's chargeAmount ({expected} JPY)."
            ),
        ));
    }
    if let Some(code) = simulation {
        if !COMPLETE_SIMULATIONS.contains(&code) {
            return Err(ApiError::new(
                "InvalidSandboxSimulationSpecified",
                format!("The simulation code '{code}' is not valid for this API."),
            ));
        }
        let reason: &'static str = COMPLETE_SIMULATIONS
            .iter()
            .find(|c| **c == code)
            .copied()
            .unwrap_or("Declined");
        if let Some(c) = charge_id.as_ref().and_then(|c| st.charges.get_mut(c)) {
            c.state = ChargeState::Canceled;
            c.reason_code = Some("AmazonCanceled");
            c.last_updated = now;
        }
        if let Some(cp) = st.charge_permissions.get_mut(&charge_permission_id) {
            cp.state = ChargePermissionState::Closed;
            cp.reasons = vec![("AmazonCanceled", None)];
            cp.last_updated = now;
        }
        if let Some(cs) = st.checkout_sessions.get_mut(id) {
            cs.state = CheckoutSessionState::Canceled;
            cs.reason_code = Some(reason);
            cs.reason_description = Some(format!("Simulated {reason}."));
            cs.last_updated = now;
        }
        return Err(ApiError::new(
            "CheckoutSessionCanceled",
            format!("The Checkout Session was canceled ({reason})."),
        ));
    }
    let pending_delay = st.cfg.pending_delay_ms;
    let pending = match charge_id.as_ref().and_then(|c| st.charges.get_mut(c)) {
        Some(c) if c.state == ChargeState::AuthorizationInitiated => {
            c.settles_at = Some(kessai_core::jst::UnixMillis(now.0 + pending_delay));
            true
        }
        Some(_) | None => false,
    };
    if let Some(cs) = st.checkout_sessions.get_mut(id) {
        cs.state = CheckoutSessionState::Completed;
        cs.charge_permission_id = Some(charge_permission_id);
        cs.charge_id = charge_id;
        cs.last_updated = now;
    }
    Ok(pending)
}

fn update_charge_permission(st: &mut State, id: &str, body: &Value) -> Result<(), ApiError> {
    let now = st.now();
    let cp = st
        .charge_permissions
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("Charge Permission", id))?;
    let mut mm = cp.merchant_metadata.clone();
    if let Some(m) = body.get("merchantMetadata").filter(|v| !v.is_null()) {
        wire::merge_merchant_metadata(&mut mm, m)?;
    }
    match cp.state {
        ChargePermissionState::Chargeable | ChargePermissionState::NonChargeable => {}
        ChargePermissionState::Closed => {
            // Closed: only fields still unset may be set [C update-info excerpt].
            let old = &cp.merchant_metadata;
            let changes_set_field = [
                (&old.merchant_reference_id, &mm.merchant_reference_id),
                (&old.merchant_store_name, &mm.merchant_store_name),
                (&old.note_to_buyer, &mm.note_to_buyer),
                (&old.custom_information, &mm.custom_information),
            ]
            .iter()
            .any(|(o, n)| o.is_some() && o != n);
            let recurring_change = body.get("recurringMetadata").is_some_and(|v| !v.is_null())
                && cp.recurring_metadata.is_some();
            if changes_set_field || recurring_change {
                return Err(ApiError::new(
                    "ChargePermissionNotModifiable",
                    "The Charge Permission is Closed; only fields that are not set yet can be updated.",
                ));
            }
        }
    }
    cp.merchant_metadata = mm;
    if let Some(r) = body.get("recurringMetadata").filter(|v| !v.is_null()) {
        if let Some(amount) = r.get("amount").filter(|a| !a.is_null()) {
            wire::price(amount, "recurringMetadata.amount")?;
        }
        cp.recurring_metadata = Some(r.clone());
    }
    cp.last_updated = now;
    Ok(())
}

fn close_charge_permission(st: &mut State, id: &str, body: &Value) -> Result<(), ApiError> {
    let now = st.now();
    let Some(reason) = str_at(body, "closureReason") else {
        // [U] required-ness: the .NET request type takes it in its constructor.
        return Err(ApiError::missing("closureReason"));
    };
    wire::check_length("closureReason", reason, 255)?;
    let cancel_pending = body
        .get("cancelPendingCharges")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let cp = st
        .charge_permissions
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("Charge Permission", id))?;
    match cp.state {
        ChargePermissionState::Chargeable | ChargePermissionState::NonChargeable => {}
        ChargePermissionState::Closed => {
            return Err(charge_permission_status_error(cp.state));
        }
    }
    cp.state = ChargePermissionState::Closed;
    cp.reasons = vec![("MerchantClosed", Some(reason.to_string()))];
    cp.last_updated = now;
    if cancel_pending {
        for c in st
            .charges
            .values_mut()
            .filter(|c| c.charge_permission_id == id)
        {
            match c.state {
                ChargeState::AuthorizationInitiated | ChargeState::Authorized => {
                    c.state = ChargeState::Canceled;
                    c.reason_code = Some("ChargePermissionCanceled");
                    c.reason_description = Some(reason.to_string());
                    c.last_updated = now;
                }
                // [U] a capture already under way is not stopped.
                ChargeState::CaptureInitiated
                | ChargeState::Captured
                | ChargeState::Canceled
                | ChargeState::Declined => {}
            }
        }
    }
    Ok(())
}

/// Simulation codes accepted by Create Charge [U list] and the error each answers.
fn charge_simulation(code: &str) -> Option<&'static str> {
    [
        "HardDeclined",
        "SoftDeclined",
        "AmazonRejected",
        "TransactionTimedOut",
        "ProcessingFailure",
    ]
    .into_iter()
    .find(|c| *c == code)
}

fn create_charge(
    st: &mut State,
    body: &Value,
    simulation: Option<&str>,
) -> Result<String, ApiError> {
    let now = st.now();
    let Some(cp_id) = str_at(body, "chargePermissionId") else {
        return Err(ApiError::missing("chargePermissionId"));
    };
    let amount = required_price(body, "chargeAmount")?;
    let capture_now = body
        .get("captureNow")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let can_pend = body
        .get("canHandlePendingAuthorization")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let soft = wire::soft_descriptor(body, "softDescriptor")?;
    if soft.is_some() && !capture_now {
        // softDescriptor is only usable with captureNow=true [C charge excerpt].
        return Err(ApiError::new(
            "InvalidParameterCombination",
            "softDescriptor can only be set when captureNow is true.",
        ));
    }
    let mut mm = MerchantMetadata::default();
    if let Some(m) = body.get("merchantMetadata").filter(|v| !v.is_null()) {
        wire::merge_merchant_metadata(&mut mm, m)?;
    }
    let cp = st
        .charge_permissions
        .get(cp_id)
        .ok_or_else(|| ApiError::not_found("Charge Permission", cp_id))?
        .clone();
    match cp.state {
        ChargePermissionState::Chargeable => {}
        ChargePermissionState::NonChargeable | ChargePermissionState::Closed => {
            return Err(charge_permission_status_error(cp.state));
        }
    }
    match cp.kind {
        ChargePermissionType::OneTime => {
            let limit = cp.amount_limit.unwrap_or(0);
            let balance = limit - st.amount_held(cp_id);
            if amount > balance {
                return Err(ApiError::new(
                    "TransactionAmountExceeded",
                    format!(
                        "The chargeAmount ({amount} JPY) exceeds the Charge Permission's remaining balance ({} JPY).",
                        balance.max(0)
                    ),
                ));
            }
        }
        ChargePermissionType::Recurring | ChargePermissionType::PaymentMethodOnFile => {
            let used = st.charged_in_month(cp_id, now);
            if used + amount > RECURRING_MONTHLY_CAP {
                return Err(ApiError::new(
                    "PeriodicAmountExceeded",
                    format!(
                        "Charging {amount} JPY would exceed the monthly limit of {RECURRING_MONTHLY_CAP} JPY for this Charge Permission ({used} JPY charged this month)."
                    ),
                ));
            }
        }
    }
    // The buyer's wallet (test control) declines when no simulation header says otherwise.
    let declined = match simulation {
        None => cp.wallet_declines,
        Some(code) => Some(charge_simulation(code).ok_or_else(|| {
            ApiError::new(
                "InvalidSandboxSimulationSpecified",
                format!("The simulation code '{code}' is not valid for this API."),
            )
        })?),
    };
    let charge_id = child_id(st, cp_id, 'C');
    let pending = can_pend && !capture_now && declined.is_none();
    let state = match (declined, capture_now, pending) {
        (Some(_), _, _) => ChargeState::Declined,
        (None, true, _) => ChargeState::Captured,
        (None, false, true) => ChargeState::AuthorizationInitiated,
        (None, false, false) => ChargeState::Authorized,
    };
    let charge = Charge {
        id: charge_id.clone(),
        charge_permission_id: cp_id.to_string(),
        charge_amount: amount,
        capture_amount: (capture_now && declined.is_none()).then_some(amount),
        refunded_amount: 0,
        soft_descriptor: soft,
        capture_now,
        can_handle_pending_authorization: can_pend,
        merchant_metadata: mm,
        created_at: now,
        state,
        reason_code: declined,
        reason_description: declined.map(|c| format!("Simulated {c}.")),
        last_updated: now,
        settles_at: pending.then_some(kessai_core::jst::UnixMillis(
            now.0 + st.cfg.pending_delay_ms,
        )),
    };
    st.charges.insert(charge_id.clone(), charge);
    // The buyer's wallet declining (not a one-request simulation header): the permission waits
    // for the buyer.
    if simulation.is_none()
        && declined == Some("HardDeclined")
        && let Some(cp) = st.charge_permissions.get_mut(cp_id)
    {
        // [U] Amazon's docs list PaymentMethodInvalid among NonChargeable reasons but do not
        // say a HardDeclined charge causes it; the sandbox assumes it does, so the merchant must
        // wait for the buyer to update the payment method on Amazon.
        cp.state = ChargePermissionState::NonChargeable;
        cp.reasons = vec![("PaymentMethodInvalid", None)];
        cp.last_updated = now;
    }
    if let Some(code) = declined {
        return Err(ApiError::new(
            code,
            format!("The authorization was declined ({code}, sandbox simulation)."),
        ));
    }
    Ok(charge_id)
}

pub(crate) fn capture_charge(st: &mut State, id: &str, body: &Value) -> Result<(), ApiError> {
    let now = st.now();
    let amount = required_price(body, "captureAmount")?;
    let soft = wire::soft_descriptor(body, "softDescriptor")?;
    let async_after_days = st.cfg.capture_pending_after_days;
    let pending_delay = st.cfg.pending_delay_ms;
    let c = st
        .charges
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("Charge", id))?;
    match c.state {
        ChargeState::Authorized => {}
        // One capture per charge [I]: more money needs a new charge on the permission.
        ChargeState::AuthorizationInitiated
        | ChargeState::CaptureInitiated
        | ChargeState::Captured
        | ChargeState::Canceled
        | ChargeState::Declined => {
            return Err(charge_status_error(c.state));
        }
    }
    if amount > c.charge_amount {
        // [I] capture ≤ the authorised amount.
        return Err(ApiError::new(
            "TransactionAmountExceeded",
            format!(
                "The captureAmount ({amount} JPY) exceeds the authorized chargeAmount ({} JPY).",
                c.charge_amount
            ),
        ));
    }
    c.capture_amount = Some(amount);
    if soft.is_some() {
        c.soft_descriptor = soft;
    }
    // A capture long after the authorisation is processed asynchronously [C state; I rule].
    let late = async_after_days.is_some_and(|d| now >= c.created_at.plus_days(d));
    if late {
        c.state = ChargeState::CaptureInitiated;
        c.settles_at = Some(kessai_core::jst::UnixMillis(now.0 + pending_delay));
    } else {
        c.state = ChargeState::Captured;
    }
    c.last_updated = now;
    Ok(())
}

pub(crate) fn cancel_charge(st: &mut State, id: &str, body: &Value) -> Result<(), ApiError> {
    let now = st.now();
    let reason = str_at(body, "cancellationReason").map(str::to_string);
    if let Some(r) = &reason {
        wire::check_length("cancellationReason", r, 255)?;
    }
    let c = st
        .charges
        .get_mut(id)
        .ok_or_else(|| ApiError::not_found("Charge", id))?;
    match c.state {
        ChargeState::Authorized | ChargeState::AuthorizationInitiated => {
            c.state = ChargeState::Canceled;
            c.reason_code = Some("MerchantCanceled");
            c.reason_description = reason;
            c.last_updated = now;
            c.settles_at = None;
            Ok(())
        }
        ChargeState::CaptureInitiated
        | ChargeState::Captured
        | ChargeState::Canceled
        | ChargeState::Declined => Err(charge_status_error(c.state)),
    }
}

/// Simulation codes accepted by Create Refund [U list]: the refund is accepted
/// (RefundInitiated) and later settles as Declined with this reason.
const REFUND_SIMULATIONS: [&str; 2] = ["AmazonRejected", "ProcessingFailure"];

pub(crate) fn create_refund(
    st: &mut State,
    body: &Value,
    simulation: Option<&str>,
) -> Result<String, ApiError> {
    let now = st.now();
    let declines_with: Option<&'static str> = match simulation {
        None => None,
        Some(code) => Some(
            REFUND_SIMULATIONS
                .iter()
                .find(|c| **c == code)
                .copied()
                .ok_or_else(|| {
                    ApiError::new(
                        "InvalidSandboxSimulationSpecified",
                        format!("The simulation code '{code}' is not valid for this API."),
                    )
                })?,
        ),
    };
    let Some(charge_id) = str_at(body, "chargeId") else {
        return Err(ApiError::missing("chargeId"));
    };
    let amount = required_price(body, "refundAmount")?;
    let soft = wire::soft_descriptor(body, "softDescriptor")?;
    let c = get_charge(st, charge_id)?.clone();
    match c.state {
        ChargeState::Captured => {}
        ChargeState::AuthorizationInitiated
        | ChargeState::Authorized
        | ChargeState::CaptureInitiated
        | ChargeState::Canceled
        | ChargeState::Declined => {
            return Err(charge_status_error(c.state));
        }
    }
    let captured = c.capture_amount.unwrap_or(0);
    // Up to the captured amount plus min(15 %, ¥8,400) in total [C reference §1.5].
    let ceiling = captured + (captured * REFUND_EXTRA_PERCENT / 100).min(REFUND_EXTRA_CAP);
    let already: i64 = st
        .refunds
        .values()
        .filter(|r| r.charge_id == charge_id)
        .filter(|r| match r.state {
            RefundState::RefundInitiated | RefundState::Refunded => true,
            RefundState::Declined => false,
        })
        .map(|r| r.amount)
        .sum();
    if already + amount > ceiling {
        return Err(ApiError::new(
            "TransactionAmountExceeded",
            format!(
                "The refundAmount ({amount} JPY) exceeds what can still be refunded on this Charge ({} JPY).",
                (ceiling - already).max(0)
            ),
        ));
    }
    let refund_id = child_id(st, &c.charge_permission_id, 'R');
    let refund = Refund {
        id: refund_id.clone(),
        charge_id: charge_id.to_string(),
        amount,
        soft_descriptor: soft,
        created_at: now,
        state: RefundState::RefundInitiated,
        reason_code: None,
        declines_with,
        last_updated: now,
        settles_at: kessai_core::jst::UnixMillis(now.0 + st.cfg.refund_delay_ms),
    };
    st.refunds.insert(refund_id.clone(), refund);
    Ok(refund_id)
}

/// The schema a button payload must follow for each product type.
pub fn payload_schema(product_type: ProductType) -> &'static Schema {
    match product_type {
        ProductType::PayAndShip | ProductType::PayOnly => &wire::CREATE_CHECKOUT_SESSION,
        ProductType::SignIn => &wire::SIGN_IN_PAYLOAD,
    }
}
