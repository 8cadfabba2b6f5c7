//! Sign in with Amazon and member ↔ Amazon account links (マイページ).
//!
//! The storefront gets the buyer's profile as a short-lived assertion: a compact JWS (HS256 with
//! `ASSERTION_SIGNING_KEY`, MAC through WebCrypto HMAC) posted to its `return_url` by an
//! auto-submitting form, so the profile never sits in a URL or an access log. The `state` in
//! `signInReturnUrl` is a single-use D1 row (10 minutes) that remembers where to post and the
//! storefront's `nonce`.

use crate::config::{AmazonConfig, Config};
use crate::gateways::amazon::AmazonClient;
use crate::http::{ApiError, ApiResult, Nav, only_fields, origin_of, with_query};
use crate::platform;
use crate::store::Store;
use kessai_core::amazon::assertion::{self, AssertionClaims, AssertionError};
use kessai_core::amazon::button::{self, SIGNIN_SCOPES, SignInButtonPayload};
use kessai_core::amazon::model::Buyer;
use kessai_core::jst::UnixMillis;
use serde_json::{Value, json};

pub const RETURN_PATH: &str = "/v1/amazon-pay/signin/return";
/// How long a sign-in button's state is accepted.
pub const STATE_TTL_MS: i64 = 10 * 60_000;

// ---------------------------------------------------------------------------------------------
// Assertion (compact JWS, HS256; claims and checks from `kessai_core::amazon::assertion`)

async fn sign_assertion(secret: &str, claims: &AssertionClaims) -> ApiResult<String> {
    let input = assertion::signing_input(claims);
    let mac = platform::hmac_sign(secret, &input)
        .await
        .map_err(|e| ApiError::internal(e.0))?;
    Ok(assertion::assemble(&input, &mac))
}

pub fn assertion_invalid(e: &AssertionError) -> ApiError {
    ApiError::new(400, e.code(), e.message_en(), e.message_ja()).with("param", "assertion")
}

/// Verifies a kessai assertion for account linking: HS256 MAC (WebCrypto), then issuer, time
/// window and subject (core), with an audience that is one of the storefront origins. There is
/// no nonce here: the storefront checked it against its own session before calling us.
pub async fn verify_assertion(
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
    let mac_ok = platform::hmac_verify(&amazon.assertion_signing_key, &input, &mac)
        .await
        .map_err(|e| ApiError::internal(e.0))?;
    if !mac_ok {
        return Err(assertion_invalid(&AssertionError::BadSignature));
    }
    assertion::check_for_audiences(&claims, now, |aud| cfg.origin_allowed(aud), None)
        .map_err(|e| assertion_invalid(&e))?;
    if !valid_buyer_id(&claims.sub) {
        return Err(assertion_invalid(&AssertionError::MissingSubject));
    }
    Ok(claims)
}

pub fn valid_buyer_id(id: &str) -> bool {
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
    let mut answer = AmazonClient::new(amazon).sign_button(payload).await?;
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("merchant_id".into(), json!(amazon.merchant_id));
        fields.insert("checkout_js_url".into(), json!(amazon.checkout_js_url));
        fields.insert("sandbox".into(), json!(amazon.sandbox()));
    }
    Ok(answer)
}

fn signin_result(return_url: &str, outcome: &str) -> Nav {
    Nav::Redirect(with_query(
        return_url,
        &format!("kessai_amazon_signin={outcome}"),
    ))
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
    let answer = match AmazonClient::new(amazon).get_buyer(buyer_token).await {
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
