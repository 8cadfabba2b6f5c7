//! Sign in with Amazon and member ↔ Amazon account links (マイページ).
//!
//! The storefront gets the buyer's profile as a short-lived assertion: a compact JWS (HS256 with
//! `ASSERTION_SIGNING_KEY`, MAC through WebCrypto HMAC) posted to its `return_url` by an
//! auto-submitting form, so the profile never sits in a URL or an access log. The `state` in
//! `signInReturnUrl` is a single-use D1 row (10 minutes) that remembers where to post and the
//! storefront's `nonce`.

use crate::amazon_payment::{call, signed_button};
use crate::config::{AmazonConfig, Config, origin_of};
use crate::http::{ApiError, ApiResult, FORM_POST_SCRIPT, Nav, only_fields};
use crate::platform;
use crate::store::Store;
use kessai_core::amazon::assertion::{self, AssertionClaims, AssertionError};
use kessai_core::amazon::button::{self, SIGNIN_SCOPES, SignInButtonPayload};
use kessai_core::amazon::model::Buyer;
use kessai_core::amazon::request::api;
use kessai_core::amazon::signing::{base64_encode, sha256_hex};
use kessai_core::jst::UnixMillis;
use serde_json::{Value, json};
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::CryptoKey;

pub const BUTTON_PATH: &str = "/v1/amazon-pay/signin-button";
pub const RETURN_PATH: &str = "/v1/amazon-pay/signin/return";
/// How long a sign-in button's state is accepted.
pub const STATE_TTL_MS: i64 = 10 * 60_000;

pub fn origin_required() -> ApiError {
    ApiError::new(
        403,
        "origin_not_allowed",
        "the sign-in button is served to storefront pages only (Origin header required)",
        "このサイトからはご利用いただけません。",
    )
}

/// CSP source of the form_post page's only script.
pub fn form_post_script_hash() -> String {
    let hex = sha256_hex(FORM_POST_SCRIPT.as_bytes());
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect();
    format!("sha256-{}", base64_encode(&bytes))
}

// ---------------------------------------------------------------------------------------------
// HMAC through WebCrypto

thread_local! {
    /// The imported assertion key (keyed by a fingerprint of the secret), once per isolate.
    static HMAC_KEY: RefCell<Option<(u64, CryptoKey)>> = const { RefCell::new(None) };
}

fn hmac_algorithm() -> js_sys::Object {
    platform::js_object(&[("name", "HMAC".into()), ("hash", "SHA-256".into())])
}

fn subtle() -> ApiResult<web_sys::SubtleCrypto> {
    Ok(platform::crypto()
        .ok_or_else(|| ApiError::internal("crypto.subtle missing"))?
        .subtle())
}

async fn hmac_key(secret: &str) -> ApiResult<CryptoKey> {
    let fp = crate::amazon_transport::fingerprint(secret.as_bytes());
    if let Some(key) = HMAC_KEY.with(|k| {
        k.borrow()
            .as_ref()
            .filter(|(f, _)| *f == fp)
            .map(|(_, key)| key.clone())
    }) {
        return Ok(key);
    }
    let subtle = subtle()?;
    let raw = js_sys::Uint8Array::from(secret.as_bytes());
    let usages = platform::key_usages(&["sign", "verify"]);
    let promise = subtle
        .import_key_with_object("raw", &raw, &hmac_algorithm(), false, &usages)
        .map_err(|_| ApiError::internal("importKey(HMAC) refused"))?;
    let key = JsFuture::from(promise)
        .await
        .map_err(|_| ApiError::internal("importKey(HMAC) failed"))?
        .dyn_into::<CryptoKey>()
        .map_err(|_| ApiError::internal("importKey(HMAC) returned no key"))?;
    HMAC_KEY.with(|k| *k.borrow_mut() = Some((fp, key.clone())));
    Ok(key)
}

async fn hmac_sign(secret: &str, data: &str) -> ApiResult<Vec<u8>> {
    let key = hmac_key(secret).await?;
    let subtle = subtle()?;
    let promise = subtle
        .sign_with_object_and_js_u8_array(
            &hmac_algorithm(),
            &key,
            &js_sys::Uint8Array::from(data.as_bytes()),
        )
        .map_err(|_| ApiError::internal("sign(HMAC) refused"))?;
    let mac = JsFuture::from(promise)
        .await
        .map_err(|_| ApiError::internal("sign(HMAC) failed"))?;
    Ok(js_sys::Uint8Array::new(&mac).to_vec())
}

/// Constant-time MAC check (WebCrypto `verify`).
async fn hmac_verify(secret: &str, data: &str, mac: &[u8]) -> ApiResult<bool> {
    let key = hmac_key(secret).await?;
    let subtle = subtle()?;
    let promise = subtle
        .verify_with_object_and_js_u8_array_and_js_u8_array(
            &hmac_algorithm(),
            &key,
            &js_sys::Uint8Array::from(mac),
            &js_sys::Uint8Array::from(data.as_bytes()),
        )
        .map_err(|_| ApiError::internal("verify(HMAC) refused"))?;
    let ok = JsFuture::from(promise)
        .await
        .map_err(|_| ApiError::internal("verify(HMAC) failed"))?;
    Ok(ok.as_bool().unwrap_or(false))
}

// ---------------------------------------------------------------------------------------------
// Assertion (compact JWS, HS256; claims and checks from `kessai_core::amazon::assertion`)

async fn sign_assertion(secret: &str, claims: &AssertionClaims) -> ApiResult<String> {
    let input = assertion::signing_input(claims);
    let mac = hmac_sign(secret, &input).await?;
    Ok(assertion::assemble(&input, &mac))
}

fn assertion_invalid(e: &AssertionError) -> ApiError {
    ApiError::new(400, e.code(), e.message_en(), e.message_ja()).with("param", "assertion")
}

/// Verifies a kessai assertion for account linking: HS256 MAC (WebCrypto), then issuer, time
/// window and subject (core), with an audience that is one of the storefront origins. There is
/// no nonce here: the storefront checked it against its own session before calling us.
async fn verify_assertion(
    cfg: &Config,
    amazon: &AmazonConfig,
    jws: &str,
    now: UnixMillis,
) -> ApiResult<AssertionClaims> {
    if jws.len() > 8192 {
        return Err(assertion_invalid(&AssertionError::Malformed));
    }
    // `split` accepts only an HS256 header: `none` or an RSA/EC alg never selects another check.
    let (input, mac, claims) =
        assertion::split(jws).ok_or_else(|| assertion_invalid(&AssertionError::Malformed))?;
    if !hmac_verify(&amazon.assertion_signing_key, &input, &mac).await? {
        return Err(assertion_invalid(&AssertionError::BadSignature));
    }
    assertion::check_for_audiences(&claims, now, |aud| cfg.origin_allowed(aud), None)
        .map_err(|e| assertion_invalid(&e))?;
    if !valid_buyer_id(&claims.sub) {
        return Err(assertion_invalid(&AssertionError::MissingSubject));
    }
    Ok(claims)
}

fn valid_buyer_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

// ---------------------------------------------------------------------------------------------
// Endpoints

fn valid_nonce(n: &str) -> bool {
    (8..=128).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

/// `POST /v1/amazon-pay/signin-button`: a signed Sign-in payload with a fresh state.
pub async fn button(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    body: &Value,
) -> ApiResult<Value> {
    only_fields(body, &["return_url", "nonce"])?;
    let return_url = cfg.storefront_return_url(body)?;
    let nonce = body.get("nonce").and_then(Value::as_str).unwrap_or("");
    if !valid_nonce(nonce) {
        return Err(ApiError::bad_request(
            "nonce must be 8-128 characters of A-Z a-z 0-9 - _ . ~",
            "リクエストの形式が正しくありません。",
        )
        .with("param", "nonce"));
    }
    let state = platform::random_hex(16).ok_or_else(|| ApiError::internal("random"))?;
    let now = platform::now().0;
    store
        .insert_signin_state(&state, return_url, nonce, now, now + STATE_TTL_MS)
        .await?;
    let payload = button::signin_payload_json(&SignInButtonPayload {
        sign_in_return_url: format!("{}{RETURN_PATH}?state={state}", amazon.edge_public_url),
        store_id: amazon.store_id.clone(),
        scopes: SIGNIN_SCOPES.to_vec(),
    });
    let mut answer = signed_button(amazon, payload).await?;
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("merchant_id".into(), json!(amazon.merchant_id));
        fields.insert("checkout_js_url".into(), json!(amazon.checkout_js_url));
        fields.insert("sandbox".into(), json!(amazon.sandbox()));
    }
    Ok(answer)
}

fn signin_result(return_url: &str, outcome: &str) -> Nav {
    let (base, fragment) = match return_url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (return_url, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut url = format!("{base}{sep}kessai_amazon_signin={outcome}");
    if let Some(f) = fragment {
        url.push('#');
        url.push_str(f);
    }
    Nav::Redirect(url)
}

/// `GET /v1/amazon-pay/signin/return?state=&buyerToken=`: Amazon sends the buyer here after
/// consent. Answers the form_post page with the assertion, a 303 back to the storefront with
/// `kessai_amazon_signin=canceled|error`, or an error page when the state is not usable.
pub async fn signin_return(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    state: &str,
    buyer_token: &str,
) -> Nav {
    let bad_state = |status: u16, reason: &'static str| {
        Nav::ErrorPage {
        status,
        reason,
        message_ja: "サインインの有効期限が切れたか、既に使用されています。ショップのページからもう一度サインインしてください。"
            .to_string(),
    }
    };
    if state.len() != 32 || !state.bytes().all(|b| b.is_ascii_hexdigit()) {
        return bad_state(400, "malformed state");
    }
    let now = platform::now().0;
    let (return_url, nonce) = match store.consume_signin_state(state, now).await {
        Ok(Some(found)) => found,
        Ok(None) => return bad_state(400, "unknown, used or expired state"),
        Err(_) => return bad_state(500, "D1 error"),
    };
    // Checked again: the allowed origins may have changed since the button was rendered.
    let Some(aud) = origin_of(&return_url).filter(|o| cfg.origin_allowed(o)) else {
        return bad_state(400, "return_url no longer allowed");
    };
    if buyer_token.is_empty() {
        return signin_result(&return_url, "canceled");
    }
    if buyer_token.len() > 2048 || !buyer_token.bytes().all(|b| b.is_ascii_graphic()) {
        return signin_result(&return_url, "error");
    }
    let answer = match call(amazon, api::get_buyer(buyer_token), None, None, "GetBuyer").await {
        Ok(a) if a.status == 200 => a,
        Ok(a) => {
            worker::console_warn!("sign-in: Get Buyer answered HTTP {}", a.status);
            return signin_result(&return_url, "error");
        }
        Err(_) => {
            worker::console_warn!("sign-in: Get Buyer got no answer");
            return signin_result(&return_url, "error");
        }
    };
    let buyer = match serde_json::from_str::<Buyer>(&answer.body) {
        Ok(b) if valid_buyer_id(&b.buyer_id) => b,
        Ok(_) | Err(_) => {
            worker::console_warn!("sign-in: Get Buyer answer without a usable buyerId");
            return signin_result(&return_url, "error");
        }
    };
    // No furigana: Amazon has none (the storefront asks for it at registration).
    let claims = AssertionClaims::from_buyer(&buyer, &aud, &nonce, UnixMillis(now));
    match sign_assertion(&amazon.assertion_signing_key, &claims).await {
        Ok(jws) => Nav::FormPost {
            action: return_url,
            fields: vec![("kessai_amazon_assertion", jws)],
        },
        Err(_) => signin_result(&return_url, "error"),
    }
}

// ---------------------------------------------------------------------------------------------
// Account links (merchant API)

fn valid_member_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check_member_id(id: &str) -> ApiResult<()> {
    if valid_member_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "member_id must be 1-64 characters of A-Z a-z 0-9 - _ .",
            "会員IDの形式が正しくありません。",
        )
        .with("param", "member_id"))
    }
}

fn link_view(l: &crate::store::AccountLink) -> Value {
    json!({ "member_id": l.member_id, "buyer_id": l.buyer_id, "linked_at": l.linked_at })
}

fn no_link() -> ApiError {
    ApiError::new(
        404,
        "amazon_account_not_linked",
        "no Amazon account is linked",
        "Amazonアカウントは連携されていません。",
    )
}

/// `PUT /v1/amazon-pay/links/{member_id}` `{"assertion"}`.
pub async fn put_link(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    member_id: &str,
    body: &Value,
) -> ApiResult<Value> {
    check_member_id(member_id)?;
    let jws = body
        .get("assertion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    if jws.is_empty() {
        return Err(assertion_invalid(&AssertionError::Malformed));
    }
    let now = platform::now().0;
    let claims = verify_assertion(cfg, amazon, jws, UnixMillis(now)).await?;
    let buyer_id = claims.sub;
    let linked_elsewhere = || {
        ApiError::new(
            409,
            "amazon_account_linked_elsewhere",
            "this Amazon account is linked to another member",
            "このAmazonアカウントは既に別の会員と連携されています。",
        )
    };
    if let Some(existing) = store.link_by_buyer(&buyer_id).await?
        && existing.member_id != member_id
    {
        return Err(linked_elsewhere());
    }
    if !store.upsert_link(member_id, &buyer_id, now).await? {
        return Err(linked_elsewhere());
    }
    let link = store
        .link_by_member(member_id)
        .await?
        .ok_or_else(|| ApiError::internal("link vanished"))?;
    Ok(link_view(&link))
}

/// `DELETE /v1/amazon-pay/links/{member_id}`.
pub async fn delete_link(store: &Store<'_>, member_id: &str) -> ApiResult<()> {
    check_member_id(member_id)?;
    if store.delete_link(member_id).await? {
        Ok(())
    } else {
        Err(no_link())
    }
}

/// `GET /v1/amazon-pay/links/{member_id}`.
pub async fn get_link(store: &Store<'_>, member_id: &str) -> ApiResult<Value> {
    check_member_id(member_id)?;
    store
        .link_by_member(member_id)
        .await?
        .map(|l| link_view(&l))
        .ok_or_else(no_link)
}

/// `GET /v1/amazon-pay/links?buyer_id=`.
pub async fn find_link(store: &Store<'_>, buyer_id: &str) -> ApiResult<Value> {
    if !valid_buyer_id(buyer_id) {
        return Err(ApiError::bad_request(
            "buyer_id is required",
            "AmazonアカウントIDを指定してください。",
        )
        .with("param", "buyer_id"));
    }
    store
        .link_by_buyer(buyer_id)
        .await?
        .map(|l| link_view(&l))
        .ok_or_else(no_link)
}
