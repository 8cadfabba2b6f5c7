//! Stand-in of GMO's token JS (トークン決済 v1): `GET /ext/js/token.js` and the JSON endpoint it
//! calls, `POST /ext/api/credit/getToken`.
//!
//! [U] transport: the real script RSA-encrypts the card under the shop's public key and sends it
//! to GMO's host (result codes 150–191). This stand-in sends the card **in the clear** as JSON to
//! the local sandbox only; it is a test double and must never point at a real card.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::{State, StoredToken, mask_6_4, random_alnum};
use crate::{Shared, TOKEN_LIFETIME_MINUTES, lock};

const SCRIPT: &str = include_str!("assets/token.js");

fn cors(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

pub async fn script() -> Response {
    let mut r = (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/javascript; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        SCRIPT,
    )
        .into_response();
    cors(r.headers_mut());
    r
}

pub async fn preflight() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    cors(h);
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    r
}

/// A card the token JS accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardInput {
    pub card_no: String,
    /// `YYMM`.
    pub expire: String,
    pub cvc: String,
    pub holder: String,
    /// `None`: answer one token as a string; `Some(n)`: an array of n.
    pub token_number: Option<usize>,
}

/// A JSON value as the script would have stringified it (numbers allowed for digits).
fn field(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// The v1 input checks, in the order of their result codes (reference §1a). Shared by the
/// server; `assets/token.js` performs the same checks before posting.
pub fn validate(v: &Value) -> Result<CardInput, &'static str> {
    let card_no = field(v, "cardno");
    if card_no.is_empty() {
        return Err("100");
    }
    if !digits(&card_no) {
        return Err("101");
    }
    if !(10..=16).contains(&card_no.len()) {
        return Err("102");
    }
    let expire = field(v, "expire");
    if expire.is_empty() {
        return Err("110");
    }
    if !digits(&expire) {
        return Err("111");
    }
    let (yy, mm) = match expire.len() {
        6 => (&expire[2..4], &expire[4..6]),
        4 => (&expire[..2], &expire[2..4]),
        _ => return Err("112"),
    };
    // [U] month 00 is reported like month ≥ 13.
    if !matches!(mm.parse::<u8>(), Ok(1..=12)) {
        return Err("113");
    }
    let cvc = field(v, "securitycode");
    if !digits(&cvc) {
        return Err("121");
    }
    if cvc.len() >= 5 {
        return Err("122");
    }
    let holder = field(v, "holdername");
    let holder_ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | ',' | '-' | '/');
    if !holder.chars().all(holder_ok) {
        return Err("131");
    }
    if holder.chars().count() >= 51 {
        return Err("132");
    }
    let tn = field(v, "tokennumber");
    let token_number = if tn.is_empty() {
        None
    } else {
        if !digits(&tn) {
            return Err("141");
        }
        match tn.parse::<usize>() {
            Ok(n @ 1..=10) => Some(n),
            _ => return Err("142"),
        }
    };
    Ok(CardInput {
        card_no,
        expire: format!("{yy}{mm}"),
        cvc,
        holder,
        token_number,
    })
}

/// ShopID checks of the token API: 160 missing, 161 ≥ 14 chars, 162 not alphanumeric.
pub fn validate_shop(shop: &str) -> Result<(), &'static str> {
    if shop.is_empty() {
        Err("160")
    } else if shop.chars().count() >= 14 {
        Err("161")
    } else if !shop.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Err("162")
    } else {
        Ok(())
    }
}

/// Issues tokens for a validated card: 64 random alphanumerics each, single-use, 30 minutes.
pub fn issue(st: &mut State, shop_id: &str, card: &CardInput) -> Value {
    let now = st.now();
    let count = card.token_number.unwrap_or(1);
    let tokens: Vec<String> = (0..count)
        .map(|_| {
            let token = random_alnum(64);
            st.tokens.insert(
                token.clone(),
                StoredToken {
                    shop_id: shop_id.to_string(),
                    card_no: card.card_no.clone(),
                    expire: card.expire.clone(),
                    has_cvc: !card.cvc.is_empty(),
                    holder: card.holder.clone(),
                    issued_at: now,
                    used: false,
                    busy_answers: 0,
                },
            );
            token
        })
        .collect();
    let exp = now.plus_minutes(TOKEN_LIFETIME_MINUTES).to_jst();
    let to_be_expired_at = format!(
        "{:04}-{:02}-{:02}-{:02}-{:02}-{:02}",
        exp.year, exp.month, exp.day, exp.hour, exp.minute, exp.second
    );
    let token = match card.token_number {
        None => json!(tokens.first().cloned().unwrap_or_default()),
        Some(_) => json!(tokens),
    };
    json!({
        "resultCode": "000",
        "tokenObject": {
            "token": token,
            "toBeExpiredAt": to_be_expired_at,
            "maskedCardNo": mask_6_4(&card.card_no),
            "isSecurityCodeSet": !card.cvc.is_empty(),
        }
    })
}

fn json_reply(v: Value) -> Response {
    let mut r = (StatusCode::OK, Json(v)).into_response();
    cors(r.headers_mut());
    r
}

/// `POST /ext/api/credit/getToken` with `{shopId, cardno, expire, securitycode, holdername,
/// tokennumber}`. Always HTTP 200 with `{resultCode, tokenObject?}`, like the callback argument.
pub async fn get_token(AxState(shared): AxState<Shared>, body: Bytes) -> Response {
    let (answer, delay) = {
        let mut st = lock(&shared);
        let fault = st.take_fault("getToken", None);
        let delay = fault.as_ref().map(|f| f.delay_ms).unwrap_or(0);
        let parsed: Result<Value, _> = serde_json::from_slice(&body);
        let (answer, masked) = match parsed {
            // [U] 150 "card information missing" for a body that is not a JSON object.
            Err(_) => (json!({"resultCode": "150"}), serde_json::Map::new()),
            Ok(v) if !v.is_object() => (json!({"resultCode": "150"}), serde_json::Map::new()),
            Ok(v) => {
                let shop = field(&v, "shopId");
                let mut masked = serde_json::Map::new();
                masked.insert("shopId".into(), json!(shop));
                masked.insert(
                    "cardno".into(),
                    json!(crate::state::mask_last4(&field(&v, "cardno"))),
                );
                masked.insert("expire".into(), json!(field(&v, "expire")));
                masked.insert("tokennumber".into(), json!(field(&v, "tokennumber")));
                let answer = if let Some(code) = fault.and_then(|f| f.err_info) {
                    json!({ "resultCode": code })
                } else {
                    match validate(&v).and_then(|c| validate_shop(&shop).map(|_| c)) {
                        Err(code) => json!({ "resultCode": code }),
                        Ok(_) if shop != st.cfg.shop_id => json!({"resultCode": "180"}),
                        Ok(card) => {
                            let sid = st.cfg.shop_id.clone();
                            issue(&mut st, &sid, &card)
                        }
                    }
                };
                (answer, masked)
            }
        };
        let result = answer["resultCode"].as_str().unwrap_or("").to_string();
        st.record("getToken", String::new(), masked, result, delay);
        (answer, delay)
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    json_reply(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(cardno: &str, expire: &str, cvc: &str, holder: &str, tn: Value) -> Value {
        json!({"cardno": cardno, "expire": expire, "securitycode": cvc, "holdername": holder, "tokennumber": tn})
    }

    #[test]
    fn result_codes() {
        let ok = "4111111111111111";
        let code = |v: Value| validate(&v).err().unwrap_or("000");
        assert_eq!(
            code(card(ok, "203012", "123", "TARO YAMADA", Value::Null)),
            "000"
        );
        assert_eq!(code(card("", "203012", "", "", Value::Null)), "100");
        assert_eq!(
            code(card("4111-1111", "203012", "", "", Value::Null)),
            "101"
        );
        assert_eq!(
            code(card("411111111", "203012", "", "", Value::Null)),
            "102"
        );
        assert_eq!(
            code(card("41111111111111111", "203012", "", "", Value::Null)),
            "102"
        );
        assert_eq!(code(card(ok, "", "", "", Value::Null)), "110");
        assert_eq!(code(card(ok, "20a012", "", "", Value::Null)), "111");
        assert_eq!(code(card(ok, "20301", "", "", Value::Null)), "112");
        assert_eq!(code(card(ok, "203013", "", "", Value::Null)), "113");
        assert_eq!(code(card(ok, "3013", "", "", Value::Null)), "113");
        assert_eq!(code(card(ok, "3012", "12a", "", Value::Null)), "121");
        assert_eq!(code(card(ok, "3012", "12345", "", Value::Null)), "122");
        assert_eq!(code(card(ok, "3012", "", "山田", Value::Null)), "131");
        assert_eq!(
            code(card(ok, "3012", "", &"A".repeat(51), Value::Null)),
            "132"
        );
        assert_eq!(code(card(ok, "3012", "", "", json!("x"))), "141");
        assert_eq!(code(card(ok, "3012", "", "", json!(11))), "142");
        assert_eq!(code(card(ok, "3012", "", "", json!("0"))), "142");
        let c = validate(&card(ok, "203012", "", "", json!(2))).expect("valid");
        assert_eq!((c.expire.as_str(), c.token_number), ("3012", Some(2)));
        assert_eq!(validate_shop(""), Err("160"));
        assert_eq!(validate_shop("tshop000000001"), Err("161"));
        assert_eq!(validate_shop("tshop-1"), Err("162"));
        assert_eq!(validate_shop("tshop00000001"), Ok(()));
    }
}
