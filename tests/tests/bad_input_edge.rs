//! The bad-input suite (issue #16) against the real edge (workerd + D1 via `wrangler dev`) and
//! both sandboxes: oversized bodies, wrong content types, malformed JSON and non-objects, unknown
//! fields, bad amounts and order ids, replayed and foreign client secrets, the merchant key from
//! a browser, used and expired GMO tokens, forged / stale / replayed / out-of-order Amazon IPNs.
//! Each gets its documented status and error code (a Japanese message where a shopper or an
//! operator reads it) and changes nothing: the payment's state, amount and history stay, and the
//! sandbox saw no call for its GMO OrderID. Last, the worker's captured log holds no card number,
//! key, password, client secret or token.

use kessai_sandbox::test_cards;
use kessai_tests::ipn::{cp_of, events_of_notification, seller_central};
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The GMO sandbox's clock is moved back once (to mint an expired token); tokens are minted
/// under the read half so none is minted in that moment by another test.
static GMO_CLOCK: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Secrets this binary used (client secrets, GMO tokens): none may reach the worker's log.
static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn remember(secret: &str) {
    if let Ok(mut s) = SECRETS.lock() {
        s.push(secret.to_string());
    }
}

fn secret_of(p: &Value) -> String {
    let s = p["client_secret"]
        .as_str()
        .expect("client secret")
        .to_string();
    remember(&s);
    s
}

async fn fresh_token(card: &str) -> String {
    let _clock = GMO_CLOCK.read().await;
    let t = token_for(card).await;
    remember(&t);
    t
}

async fn paid_card_payment(amount: i64) -> Value {
    let _clock = GMO_CLOCK.read().await;
    let p = authorized_card_payment(amount).await;
    secret_of(&p);
    p
}

async fn new_payment(amount: i64) -> Value {
    let p = create_payment(amount).await;
    secret_of(&p);
    p
}

/// What must not change: state, amount, captured amount, history, and the GMO sandbox's
/// requests for the payment's OrderID.
async fn unchanged_marks(id: &str) -> Value {
    let p = payment(id).await;
    let order = p["gateway"]["gmo_order_id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let gmo = if order.is_empty() {
        0
    } else {
        gateway_requests(&order).await.len()
    };
    json!({
        "state": p["state"],
        "amount": p["amount"],
        "gmo_order_id": order,
        "events": event_kinds(&p),
        "gmo_requests": gmo,
    })
}

/// A request with exactly these headers and body bytes; status and JSON (or `null`).
async fn raw(method: Method, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (u16, Value) {
    let (status, text) = raw_text(method, path, headers, body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn raw_text(
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    let mut req = client().request(method, format!("{}{path}", stack().edge));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.body(body).send().await.expect("edge reachable");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

fn bearer() -> String {
    format!("Bearer {}", kessai_demo::stack::MERCHANT_SECRET_KEY)
}

/// A merchant call with a raw body and content type.
async fn merchant_raw(method: Method, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let auth = bearer();
    raw(
        method,
        path,
        &[
            ("authorization", auth.as_str()),
            ("content-type", content_type),
        ],
        body.to_vec(),
    )
    .await
}

/// A widget call as the storefront page makes it, with a raw body and content type.
async fn widget_raw(p: &Value, content_type: &str, body: &[u8]) -> (u16, Value) {
    let secret = secret_of(p);
    let origin = stack().storefront;
    let ip = shopper_ip(&secret);
    raw(
        Method::POST,
        &format!("/v1/checkout/{}/card", id_of(p)),
        &[
            ("origin", origin.as_str()),
            ("x-client-secret", secret.as_str()),
            ("cf-connecting-ip", ip.as_str()),
            ("content-type", content_type),
        ],
        body.to_vec(),
    )
    .await
}

/// The error's code and, when it has one, `param`.
fn code_param(body: &Value) -> (String, Option<String>) {
    (
        body["error"]["code"].as_str().unwrap_or("").to_string(),
        body["error"]["param"].as_str().map(str::to_string),
    )
}

/// A Japanese `message_ja` (operators read merchant errors in the console, shoppers widget ones).
fn assert_japanese(body: &Value, what: &str) {
    let ja = body["error"]["message_ja"].as_str().unwrap_or("");
    assert!(
        ja.chars()
            .any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)
                || ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{what}: no Japanese message: {body}"
    );
    assert!(body["error"]["message"].is_string(), "{what}: {body}");
}

/// How many payments have an order id containing `q`.
async fn payments_matching(q: &str) -> usize {
    let path = format!("/v1/payments?q={}", urlencode(q));
    let (status, list) = merchant(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{list}");
    list["data"].as_array().map_or(0, Vec::len)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Bodies: size, content type, JSON

/// A chunked POST (no Content-Length) over a raw connection; the status line's code and the
/// whole answer.
async fn chunked_post(path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let edge = stack().edge;
    let host = edge.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = tokio::net::TcpStream::connect(host).await.expect("edge");
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    for chunk in body.chunks(8 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    // The edge may answer before reading everything; a refused write is not the test's concern.
    let _ = conn.write_all(&out).await;
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).to_string();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

#[tokio::test]
async fn oversized_bodies_are_413_and_change_nothing() {
    let paid = paid_card_payment(1500).await;
    let paid_id = id_of(&paid);
    let fresh = new_payment(1600).await;
    let fresh_id = id_of(&fresh);
    let before_paid = unchanged_marks(&paid_id).await;
    let before_fresh = unchanged_marks(&fresh_id).await;

    // JSON routes take 64 KiB: one byte over is refused, whatever the body says.
    let over = |fields: &str| -> Vec<u8> {
        let head = format!("{{{fields}\"pad\":\"");
        let tail = "\"}";
        let pad = 64 * 1024 + 1 - head.len() - tail.len();
        format!("{head}{}{tail}", "a".repeat(pad)).into_bytes()
    };
    assert_eq!(over("").len(), 64 * 1024 + 1);
    let oid = order_id("BIGBODY");
    let mut cases = vec![(
        "/v1/payments".to_string(),
        over(&format!("\"order_id\":\"{oid}\",\"amount\":100,")),
    )];
    for op in ["capture", "amount", "cancel", "refund", "force"] {
        cases.push((
            format!("/v1/payments/{paid_id}/{op}"),
            over("\"amount\":1500,"),
        ));
    }
    cases.push(("/v1/payments/bulk/capture".to_string(), over("")));
    for (path, body) in &cases {
        let (status, answer) = merchant_raw(Method::POST, path, "application/json", body).await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (413, "body_too_large"),
            "{path}: {answer}"
        );
        assert_japanese(&answer, path);
        assert_eq!(answer["error"]["message_ja"], "リクエストが大きすぎます。");
    }
    // Exactly at the limit the body is read (and refused for what it says, not its size: its
    // padding is a key `POST /v1/payments` does not take).
    let at_limit = {
        let mut b = over(&format!("\"order_id\":\"{oid}\",\"amount\":\"x\","));
        b.remove(b.len() - 3);
        b
    };
    assert_eq!(at_limit.len(), 64 * 1024);
    let (status, answer) =
        merchant_raw(Method::POST, "/v1/payments", "application/json", &at_limit).await;
    assert_eq!(
        (status, code_param(&answer).1.as_deref()),
        (400, Some("pad")),
        "{answer}"
    );

    // The widget's card POST, the shopper's view of the same refusal.
    let (status, answer) = widget_raw(&fresh, "application/json", &over("\"token\":\"x\",")).await;
    assert_eq!(
        (status, code_param(&answer).0.as_str()),
        (413, "body_too_large"),
        "{answer}"
    );
    assert_japanese(&answer, "card POST");

    // The 3-D Secure return (a navigation: a Japanese page) takes 16 KiB.
    let (status, page) = raw_text(
        Method::POST,
        &format!("/v1/checkout/{fresh_id}/3ds/return"),
        &[("content-type", "application/x-www-form-urlencoded")],
        format!("AccessID={}", "a".repeat(16 * 1024)).into_bytes(),
    )
    .await;
    assert_eq!(status, 413, "{page}");
    assert!(page.contains("リクエストが大きすぎます。"), "{page}");

    // Without Content-Length (chunked), the bytes read are counted.
    let auth = bearer();
    let (status, answer) = chunked_post(
        "/v1/payments",
        &[
            ("authorization", auth.as_str()),
            ("content-type", "application/json"),
        ],
        &over(&format!("\"order_id\":\"{oid}\",\"amount\":100,")),
    )
    .await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("body_too_large"), "{answer}");

    assert_eq!(
        payments_matching(&oid).await,
        0,
        "a refused body created a payment"
    );
    assert_eq!(unchanged_marks(&paid_id).await, before_paid);
    assert_eq!(unchanged_marks(&fresh_id).await, before_fresh);
}

#[tokio::test]
async fn wrong_content_types_malformed_json_and_non_objects_are_400() {
    let oid = order_id("CTYPE");
    let good = format!("{{\"order_id\":\"{oid}\",\"amount\":1200}}");
    // A body declared as something other than JSON (the types a cross-site form can send) is
    // refused before it is read as JSON, even when it is JSON.
    for ct in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/xml",
    ] {
        let (status, answer) =
            merchant_raw(Method::POST, "/v1/payments", ct, good.as_bytes()).await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (415, "unsupported_media_type"),
            "{ct}: {answer}"
        );
        assert_japanese(&answer, ct);
    }
    let form = format!("order_id={oid}&amount=1200");
    let (status, answer) = merchant_raw(
        Method::POST,
        "/v1/payments",
        "application/x-www-form-urlencoded",
        form.as_bytes(),
    )
    .await;
    assert_eq!(status, 415, "{answer}");

    // Malformed JSON, or JSON that is not an object.
    let malformed: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good.as_bytes()[..good.len() - 1].to_vec()),
        ("single quotes", good.replace('"', "'").into_bytes()),
        ("trailing garbage", format!("{good} x").into_bytes()),
        ("empty", Vec::new()),
        (
            "BOM",
            [b"\xEF\xBB\xBF".as_slice(), good.as_bytes()].concat(),
        ),
        (
            "invalid UTF-8",
            format!("{{\"order_id\":\"{oid}\u{e9}\",\"amount\":1200}}")
                .into_bytes()
                .into_iter()
                .map(|b| if b == 0xC3 { 0xFF } else { b })
                .collect(),
        ),
        (
            "NUL byte",
            format!("{{\"order_id\":\"{oid}\0\",\"amount\":1200}}").into_bytes(),
        ),
    ];
    for (what, body) in &malformed {
        let (status, answer) =
            merchant_raw(Method::POST, "/v1/payments", "application/json", body).await;
        assert_eq!(
            code_param(&answer),
            ("invalid_request".to_string(), None),
            "{what}: {answer}"
        );
        assert_eq!(status, 400, "{what}");
        assert_japanese(&answer, what);
    }
    for not_object in ["[]", "[1,2]", "\"text\"", "1200", "null", "true"] {
        let (status, answer) = merchant_raw(
            Method::POST,
            "/v1/payments",
            "application/json",
            not_object.as_bytes(),
        )
        .await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (400, "invalid_request"),
            "{not_object}: {answer}"
        );
        assert_japanese(&answer, not_object);
    }
    // An unknown key (a typo of `capture`) is refused, named in `param`: no payment the merchant
    // did not mean.
    let (status, answer) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": oid, "amount": 1200, "captrue": "automatic" })),
    )
    .await;
    assert_eq!(
        (status, code_param(&answer)),
        (
            400,
            ("invalid_request".to_string(), Some("captrue".to_string()))
        ),
        "{answer}"
    );
    assert_japanese(&answer, "unknown key");
    assert_eq!(payments_matching(&oid).await, 0);

    // The same on the widget (the shopper's card POST) and on an operation: nothing reaches GMO.
    let p = new_payment(1300).await;
    let paid = paid_card_payment(1400).await;
    let before = unchanged_marks(&id_of(&p)).await;
    let before_paid = unchanged_marks(&id_of(&paid)).await;
    let (status, answer) = widget_raw(&p, "text/plain", b"{\"token\":\"abc\"}").await;
    assert_eq!(
        (status, code_param(&answer).0.as_str()),
        (415, "unsupported_media_type")
    );
    assert_japanese(&answer, "widget text/plain");
    for body in [b"{\"token\":".as_slice(), b"[\"abc\"]", b"\"abc\"", b"null"] {
        let (status, answer) = widget_raw(&p, "application/json", body).await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (400, "invalid_request"),
            "{}: {answer}",
            String::from_utf8_lossy(body)
        );
        assert_japanese(&answer, "widget body");
    }
    let capture = format!("/v1/payments/{}/capture", id_of(&paid));
    for (ct, body) in [
        (
            "application/x-www-form-urlencoded",
            b"amount=1400".as_slice(),
        ),
        ("application/json", b"{\"amount\":"),
        ("application/json", b"[1400]"),
        ("application/json", b"1400"),
    ] {
        let (status, answer) = merchant_raw(Method::POST, &capture, ct, body).await;
        let expected = if ct == "application/json" { 400 } else { 415 };
        assert_eq!(
            status,
            expected,
            "{ct} {}: {answer}",
            String::from_utf8_lossy(body)
        );
        assert_japanese(&answer, "capture body");
    }
    // Without a Content-Type, a JSON body is still read (server-side clients that omit it).
    let (status, answer) = raw(
        Method::POST,
        &capture,
        &[("authorization", bearer().as_str())],
        b"{\"amount\":\"1400\"}".to_vec(),
    )
    .await;
    assert_eq!(
        (status, code_param(&answer)),
        (
            400,
            ("invalid_request".to_string(), Some("amount".to_string()))
        ),
        "{answer}"
    );
    assert_eq!(unchanged_marks(&id_of(&p)).await, before);
    assert_eq!(unchanged_marks(&id_of(&paid)).await, before_paid);
}

#[tokio::test]
async fn unknown_fields_are_refused_where_the_body_is_closed() {
    let p = new_payment(1700).await;
    let paid = paid_card_payment(1800).await;
    let before = unchanged_marks(&id_of(&p)).await;
    let before_paid = unchanged_marks(&id_of(&paid)).await;
    // The card POST takes a token (or a stored card): card data, or anything else, is refused.
    for body in [
        json!({ "token": "abc", "cardno": test_cards::APPROVED, "securitycode": "123" }),
        json!({ "token": "abc", "amount": 1 }),
        json!({ "token": "abc", "Token": "abc" }),
    ] {
        let (status, answer) = widget_post(&p, body.clone()).await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (400, "invalid_request"),
            "{body}"
        );
        assert_japanese(&answer, "card POST unknown field");
    }
    let id = id_of(&paid);
    for (op, body) in [
        ("capture", json!({ "amount": 1800, "force": true })),
        ("amount", json!({ "amount": 1000, "reason": "x" })),
        ("cancel", json!({ "amount": 1800 })),
        ("refund", json!({ "amount": 100, "card": "x" })),
    ] {
        let (status, answer) = operate(&id, op, Some(body.clone())).await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (400, "invalid_request"),
            "{op} {body}"
        );
        assert_japanese(&answer, op);
    }
    assert_eq!(unchanged_marks(&id_of(&p)).await, before);
    assert_eq!(unchanged_marks(&id).await, before_paid);
}

// ---------------------------------------------------------------------------------------------
// Amounts and order ids

#[tokio::test]
async fn bad_amounts_are_400_with_param_and_create_or_change_nothing() {
    let oid = order_id("AMT");
    let bad = [
        "-1",
        "0",
        "1.5",
        "1000.0",
        "1e3",
        "\"100\"",
        "\"１０００\"",
        "\"1,000\"",
        "10000000",
        "9223372036854775807",
        "99999999999999999999999",
        "-9223372036854775809",
        "null",
        "true",
        "[100]",
        "{\"yen\":100}",
    ];
    for amount in bad {
        let body = format!("{{\"order_id\":\"{oid}\",\"amount\":{amount}}}");
        let (status, answer) = merchant_raw(
            Method::POST,
            "/v1/payments",
            "application/json",
            body.as_bytes(),
        )
        .await;
        assert_eq!(
            (status, code_param(&answer)),
            (
                400,
                ("invalid_request".to_string(), Some("amount".to_string()))
            ),
            "amount {amount}: {answer}"
        );
        assert_japanese(&answer, amount);
    }
    let (status, answer) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": oid })),
    )
    .await;
    assert_eq!(
        (status, code_param(&answer).1.as_deref()),
        (400, Some("amount")),
        "{answer}"
    );
    assert_eq!(payments_matching(&oid).await, 0);
    // The bounds themselves are accepted: ¥1 and ¥9,999,999.
    for amount in [1, 9_999_999] {
        let (status, answer) = merchant(
            Method::POST,
            "/v1/payments",
            Some(json!({ "order_id": order_id("AMTOK"), "amount": amount })),
        )
        .await;
        assert_eq!(status, 201, "{amount}: {answer}");
        assert_eq!(answer["amount"], amount);
    }

    // 金額変更 and capture on an authorised card payment: refused before any GMO call.
    let paid = paid_card_payment(2000).await;
    let id = id_of(&paid);
    let before = unchanged_marks(&id).await;
    for amount in ["-1", "0", "10000000", "9223372036854775807"] {
        let body = format!("{{\"amount\":{amount}}}");
        let (status, answer) = merchant_raw(
            Method::POST,
            &format!("/v1/payments/{id}/amount"),
            "application/json",
            body.as_bytes(),
        )
        .await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (422, "invalid_amount"),
            "amount change to {amount}: {answer}"
        );
        assert_japanese(&answer, amount);
    }
    for amount in [
        "1.5",
        "1e3",
        "\"1000\"",
        "\"１０００\"",
        "99999999999999999999999",
        "null",
    ] {
        for op in ["amount", "capture", "refund"] {
            let body = format!("{{\"amount\":{amount}}}");
            let (status, answer) = merchant_raw(
                Method::POST,
                &format!("/v1/payments/{id}/{op}"),
                "application/json",
                body.as_bytes(),
            )
            .await;
            assert_eq!(
                (status, code_param(&answer)),
                (
                    400,
                    ("invalid_request".to_string(), Some("amount".to_string()))
                ),
                "{op} {amount}: {answer}"
            );
        }
    }
    let (status, answer) = operate(&id, "capture", Some(json!({ "amount": 1999 }))).await;
    assert_eq!(
        (status, code_param(&answer).0.as_str()),
        (422, "capture_amount_mismatch"),
        "{answer}"
    );
    assert_japanese(&answer, "capture mismatch");
    assert_eq!(unchanged_marks(&id).await, before);
    let order = before["gmo_order_id"].as_str().unwrap_or("").to_string();
    let requests = gateway_requests(&order).await;
    assert_eq!(count_api(&requests, "AlterTran"), 0);
    assert_eq!(count_api(&requests, "ChangeTran"), 0);
}

#[tokio::test]
async fn bad_order_ids_are_400_and_boundaries_are_counted_in_characters() {
    let base = order_id("OID");
    let pad = |c: char, n: usize| -> String {
        let mut s = base.clone();
        while s.chars().count() < n {
            s.push(c);
        }
        s
    };
    let refused: Vec<(String, Value)> = vec![
        ("65 ASCII".into(), json!(pad('X', 65))),
        ("65 kana".into(), json!(pad('あ', 65))),
        ("bell".into(), json!(format!("{base}\u{7}"))),
        ("newline".into(), json!(format!("{base}\nX"))),
        ("NUL".into(), json!(format!("{base}\u{0}"))),
        ("DEL".into(), json!(format!("{base}\u{7f}"))),
        ("C1 control".into(), json!(format!("{base}\u{85}X"))),
        ("empty".into(), json!("")),
        ("blank".into(), json!("   ")),
        ("number".into(), json!(12345)),
        ("null".into(), Value::Null),
        ("array".into(), json!([base.clone()])),
    ];
    for (what, oid) in &refused {
        let (status, answer) = merchant(
            Method::POST,
            "/v1/payments",
            Some(json!({ "order_id": oid, "amount": 1000 })),
        )
        .await;
        assert_eq!(
            (status, code_param(&answer)),
            (
                400,
                ("invalid_request".to_string(), Some("order_id".to_string()))
            ),
            "{what}: {answer}"
        );
        assert_japanese(&answer, what);
    }
    // 64 characters, in ASCII or in multi-byte characters (192 bytes), and full-width digits
    // are order ids like any other.
    for oid in [pad('X', 64), pad('あ', 64), format!("{base}－１２３")] {
        let (status, answer) = merchant(
            Method::POST,
            "/v1/payments",
            Some(json!({ "order_id": oid, "amount": 1000 })),
        )
        .await;
        assert_eq!(status, 201, "{oid}: {answer}");
        assert_eq!(answer["order_id"], oid.as_str());
    }
    assert_eq!(payments_matching(&base).await, 3);
}

// ---------------------------------------------------------------------------------------------
// Client secrets and the merchant key

#[tokio::test]
async fn a_client_secret_replayed_after_payment_charges_nothing_twice() {
    let paid = paid_card_payment(2100).await;
    let id = id_of(&paid);
    let before = unchanged_marks(&id).await;
    let order = before["gmo_order_id"].as_str().unwrap_or("").to_string();
    assert_eq!(count_api(&gateway_requests(&order).await, "ExecTran"), 1);
    let token = fresh_token(test_cards::APPROVED).await;
    // Paid: a late double submit (or a replay) is answered with the payment as it stands, and
    // nothing reaches GMO.
    for body in [
        json!({ "token": token }),
        json!({ "token": token, "installments": "lump" }),
    ] {
        let (status, answer) = widget_post(&paid, body).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(
            (&answer["payment_id"], &answer["state"], &answer["amount"]),
            (&json!(id), &json!("authorized"), &json!(2100)),
            "{answer}"
        );
    }
    assert_eq!(unchanged_marks(&id).await, before);
    // Cancelled (取消): no longer payable at all.
    let (status, answer) = operate(&id, "cancel", None).await;
    assert_eq!(
        (status, &answer["state"]),
        (200, &json!("voided")),
        "{answer}"
    );
    let after_cancel = unchanged_marks(&id).await;
    let (status, answer) = widget_post(&paid, json!({ "token": token })).await;
    assert_eq!(
        (status, code_param(&answer).0.as_str()),
        (409, "payment_not_payable"),
        "{answer}"
    );
    assert_japanese(&answer, "card POST after cancel");
    assert_eq!(unchanged_marks(&id).await, after_cancel);
    assert_eq!(count_api(&gateway_requests(&order).await, "ExecTran"), 1);
    // The token never reached GMO: another payment can still use it.
    let other = new_payment(2150).await;
    let (status, answer) = widget_post(&other, json!({ "token": token })).await;
    assert_eq!(
        (status, &answer["state"]),
        (200, &json!("authorized")),
        "{answer}"
    );
}

#[tokio::test]
async fn another_payments_secret_or_a_malformed_one_is_not_found() {
    let target = new_payment(2200).await;
    let other = new_payment(2300).await;
    let target_id = id_of(&target);
    let before = unchanged_marks(&target_id).await;
    let before_other = unchanged_marks(&id_of(&other)).await;
    let other_secret = secret_of(&other);
    let target_secret = secret_of(&target);
    let mut guesses = vec![
        other_secret.clone(),
        String::new(),
        "x".to_string(),
        format!("{target_secret}x"),
        target_secret[..target_secret.len() - 1].to_string(),
        target_secret.to_uppercase(),
        format!("{target_secret}%00"),
        "a".repeat(4096),
        kessai_demo::stack::MERCHANT_SECRET_KEY.to_string(),
    ];
    guesses.retain(|g| g != &target_secret);
    for guess in &guesses {
        let (status, answer) = widget_post_with(&target_id, guess, json!({ "token": "abc" })).await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (404, "checkout_not_found"),
            "secret {:.40}: {answer}",
            guess
        );
        assert_eq!(
            answer["error"]["message_ja"],
            "お支払い情報が見つかりません。"
        );
        let (status, _) = widget_call(
            Method::GET,
            &format!("/v1/checkout/{target_id}"),
            guess,
            None,
        )
        .await;
        assert_eq!(status, 404, "GET with {:.40}", guess);
    }
    // A secret header that is not even text.
    let origin = stack().storefront;
    let resp = client()
        .post(format!("{}/v1/checkout/{target_id}/card", stack().edge))
        .header("origin", &origin)
        .header(
            "x-client-secret",
            reqwest::header::HeaderValue::from_bytes(b"\xff\xfe\x80secret").expect("obs-text"),
        )
        .json(&json!({ "token": "abc" }))
        .send()
        .await
        .expect("edge");
    assert_eq!(resp.status().as_u16(), 404);
    // The right secret on a malformed payment id.
    let long_id = "p".repeat(300);
    for bad_id in ["x", "%00", long_id.as_str()] {
        let (status, answer) =
            widget_post_with(bad_id, &target_secret, json!({ "token": "abc" })).await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (404, "checkout_not_found"),
            "{bad_id}"
        );
    }
    assert_eq!(unchanged_marks(&target_id).await, before);
    assert_eq!(unchanged_marks(&id_of(&other)).await, before_other);
}

#[tokio::test]
async fn the_secret_key_from_a_browser_is_403_on_every_merchant_route() {
    let paid = paid_card_payment(2400).await;
    let id = id_of(&paid);
    let before = unchanged_marks(&id).await;
    let oid = order_id("BROWSER");
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let routes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/v1/payments".into(),
            Some(json!({ "order_id": oid, "amount": 100 })),
        ),
        (Method::GET, "/v1/payments".into(), None),
        (Method::GET, format!("/v1/payments/{id}"), None),
        (
            Method::POST,
            format!("/v1/payments/{id}/capture"),
            Some(json!({})),
        ),
        (Method::POST, format!("/v1/payments/{id}/cancel"), None),
        (
            Method::POST,
            format!("/v1/payments/{id}/amount"),
            Some(json!({ "amount": 100 })),
        ),
        (Method::POST, format!("/v1/payments/{id}/reconcile"), None),
        (
            Method::POST,
            "/v1/payments/bulk/capture".into(),
            Some(json!({ "payment_ids": [id] })),
        ),
        (Method::GET, "/console/api/fraud".into(), None),
        (
            Method::PUT,
            "/v1/test/clock".into(),
            Some(json!({ "now_ms": now_ms })),
        ),
    ];
    let storefront = stack().storefront;
    let browsers: [(&str, &str); 4] = [
        ("origin", storefront.as_str()),
        ("origin", "https://evil.example"),
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-site", "none"),
    ];
    let keys = [bearer(), "Bearer sk_wrong".to_string()];
    for (method, path, body) in &routes {
        for (h, v) in browsers {
            for key in &keys {
                let mut req = client()
                    .request(method.clone(), format!("{}{path}", stack().edge))
                    .header("authorization", key)
                    .header(h, v);
                if let Some(b) = body {
                    req = req.json(b);
                }
                let resp = req.send().await.expect("edge");
                let status = resp.status().as_u16();
                let answer: Value = resp.json().await.unwrap_or(Value::Null);
                assert_eq!(
                    (status, code_param(&answer).0.as_str()),
                    (403, "secret_key_in_browser"),
                    "{method} {path} {h}: {v}: {answer}"
                );
                assert_eq!(
                    answer["error"]["message_ja"],
                    "この操作はショップのサーバーからのみ行えます。"
                );
            }
        }
    }
    assert_eq!(payments_matching(&oid).await, 0);
    assert_eq!(unchanged_marks(&id).await, before);
}

// ---------------------------------------------------------------------------------------------
// GMO tokens

/// The GMO sandbox's transaction for an OrderID holds no money: none yet, or not authorised.
async fn nothing_charged_at_gmo(order: &str) {
    let trade = gmo_trade(order).await;
    let status = trade["status"].as_str().unwrap_or("");
    assert!(
        !["AUTH", "CAPTURE", "SALES", "CHECK"].contains(&status),
        "{order} holds money: {trade}"
    );
}

#[tokio::test]
async fn used_expired_foreign_and_unknown_tokens_are_402_and_charge_nothing() {
    // Minted 31 minutes ago at the GMO sandbox (its clock moved back for that moment only).
    let expired = {
        let _clock = GMO_CLOCK.write().await;
        let ago = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
            - 31 * 60 * 1000;
        let set = |body: Value| async move {
            let resp = client()
                .post(format!("{}/__sandbox/clock", stack().sandbox))
                .json(&body)
                .send()
                .await
                .expect("sandbox");
            assert!(resp.status().is_success());
        };
        set(json!({ "set_unix_ms": ago })).await;
        let t = token_for(test_cards::APPROVED).await;
        set(json!({ "real": true })).await;
        remember(&t);
        t
    };
    let used = fresh_token(test_cards::APPROVED).await;
    let first = new_payment(2500).await;
    let (status, _) = widget_post(&first, json!({ "token": used })).await;
    assert_eq!(status, 200);
    let foreign = {
        let _clock = GMO_CLOCK.read().await;
        let (status, v) = {
            let resp = client()
                .post(format!("{}/__sandbox/tokens", stack().sandbox))
                .json(&json!({ "shop_id": "tshop99999999", "cardno": test_cards::APPROVED, "expire": "203012", "securitycode": "123" }))
                .send()
                .await
                .expect("sandbox");
            (
                resp.status().as_u16(),
                resp.json::<Value>().await.unwrap_or(Value::Null),
            )
        };
        assert_eq!(status, 200, "{v}");
        let t = v["tokenObject"]["token"]
            .as_str()
            .expect("token")
            .to_string();
        remember(&t);
        t
    };
    for (what, token) in [
        ("used", used.clone()),
        ("expired", expired),
        ("another shop's", foreign),
        ("unknown", "dGhpcyBpcyBub3QgYSB0b2tlbg".to_string()),
    ] {
        let p = new_payment(2600).await;
        let id = id_of(&p);
        let (status, answer) = widget_post(&p, json!({ "token": token })).await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (402, "card_input"),
            "{what}: {answer}"
        );
        assert_eq!(answer["error"]["field"], "token", "{what}: {answer}");
        assert_eq!(answer["error"]["retryable"], true, "{what}: {answer}");
        assert_japanese(&answer, what);
        let after = payment(&id).await;
        assert_eq!(after["state"], "requires_payment", "{what}: {after}");
        assert_eq!(after["amount"], 2600);
        nothing_charged_at_gmo(after["gateway"]["gmo_order_id"].as_str().unwrap_or("")).await;
    }
    // Not even token-shaped: refused before GMO hears of the payment.
    let long_token = "t".repeat(300);
    for token in [" ", "a b", "トークン", long_token.as_str(), "abc\u{0}"] {
        let p = new_payment(2700).await;
        let before = unchanged_marks(&id_of(&p)).await;
        let (status, answer) = widget_post(&p, json!({ "token": token })).await;
        assert_eq!(
            (status, code_param(&answer).0.as_str()),
            (400, "invalid_request"),
            "{token:.20}: {answer}"
        );
        assert_japanese(&answer, "malformed token");
        assert_eq!(unchanged_marks(&id_of(&p)).await, before);
        assert_eq!(before["gmo_requests"], 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Amazon Pay IPNs

async fn amazon_clock(body: Value) {
    let (status, answer) = amazon_sandbox_post("/__sandbox/amazon/clock", body).await;
    assert_eq!(status, 200, "{answer}");
}

async fn get_charges(charge_id: &str) -> usize {
    amazon_requests(Some("GetCharge"), Some(charge_id))
        .await
        .len()
}

#[tokio::test]
async fn forged_stale_replayed_and_out_of_order_ipns_change_nothing_wrongly() {
    let (p, charge_id) = authorized_amazon_payment(2800).await;
    let id = id_of(&p);
    secret_of(&p);
    let cp = cp_of(&payment(&id).await);
    let nid = format!("bad-input-{charge_id}");
    let msg = ipn_message("CHARGE", &charge_id, &cp, &nid);
    let good = signed_ipn(json!({ "message": msg })).await;
    let other = signed_ipn(json!({ "message": ipn_message("CHARGE", &charge_id, &cp, "x") })).await;
    let before = payment(&id).await;
    let reads_before = get_charges(&charge_id).await;

    let with = |key: &str, value: Value| {
        let mut e = good.clone();
        e[key] = value;
        e
    };
    let cert = good["SigningCertURL"]
        .as_str()
        .expect("cert url")
        .to_string();
    let mut cases: Vec<(String, Value)> = vec![
        (
            "forged signature".into(),
            with(
                "Signature",
                json!(kessai_core::amazon::signing::base64_encode(&[9u8; 256])),
            ),
        ),
        (
            "another message's signature".into(),
            with("Signature", other["Signature"].clone()),
        ),
        (
            "signature not base64".into(),
            with("Signature", json!("not base64 !!")),
        ),
        ("no signature".into(), with("Signature", json!(""))),
        (
            "stale Timestamp written in".into(),
            with("Timestamp", json!("2020-01-01T00:00:00.000Z")),
        ),
        (
            "MessageId swapped".into(),
            with("MessageId", other["MessageId"].clone()),
        ),
        (
            "Type changed".into(),
            with("Type", json!("SubscriptionConfirmation")),
        ),
        (
            "SignatureVersion 3".into(),
            with("SignatureVersion", json!("3")),
        ),
    ];
    for url in [
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem".to_string(),
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-0123.pem"
            .into(),
        "https://evil.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem"
            .into(),
        "https://s3.amazonaws.com/SimpleNotificationService-0123.pem".into(),
        "https://sns.us-east-1.amazonaws.com@evil.example/SimpleNotificationService-0123.pem"
            .into(),
        "ftp://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem".into(),
        "//sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem".into(),
        String::new(),
        cert.replace("https://", "http://")
            .replace(".pem", "/../../x.pem"),
        format!("{cert}?x=1"),
    ] {
        if url != cert {
            cases.push((
                format!("SigningCertURL {url}"),
                with("SigningCertURL", json!(url)),
            ));
        }
    }
    for (what, env) in &cases {
        let (status, answer) = post_amazon_ipn(env).await;
        assert!((400..500).contains(&status), "{what}: {status} {answer}");
        assert_eq!(answer["error"]["code"], "rejected", "{what}: {answer}");
        assert!(answer["error"]["message"].is_string(), "{what}: {answer}");
    }
    // Not an envelope at all.
    for body in ["", "hello", "[]", "{\"Type\":\"Notification\"}", "\u{0}"] {
        let resp = client()
            .post(format!("{}/api/amazonpay2/ipn.php", stack().edge))
            .header("content-type", "text/plain; charset=UTF-8")
            .body(body)
            .send()
            .await
            .expect("edge");
        let status = resp.status().as_u16();
        let answer: Value = resp.json().await.unwrap_or(Value::Null);
        assert_eq!(
            (status, &answer["error"]["code"]),
            (400, &json!("rejected")),
            "{body:?}"
        );
    }
    assert_eq!(
        get_charges(&charge_id).await,
        reads_before,
        "a rejected IPN read Amazon"
    );
    let after = payment(&id).await;
    assert_eq!(after["state"], before["state"]);
    assert_eq!(event_kinds(&after), event_kinds(&before));

    // Genuine but stale (signed by Amazon two days ago, delivered only now): a notification is
    // a hint, so it is verified, recorded once and answered with what Amazon says now.
    let stale = {
        let two_days_ago = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
            - 2 * 86_400_000;
        amazon_clock(json!({ "set_unix_ms": two_days_ago })).await;
        let env = signed_ipn(json!({ "message": ipn_message("CHARGE", &charge_id, &cp, &format!("stale-{charge_id}")) })).await;
        amazon_clock(json!({ "real": true })).await;
        env
    };
    assert!(
        stale["Timestamp"]
            .as_str()
            .is_some_and(|t| t < good["Timestamp"].as_str().unwrap_or(""))
    );
    let (status, answer) = post_amazon_ipn(&stale).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("unchanged")),
        "{answer}"
    );

    // The genuine one, then replayed as is and re-signed with the same NotificationId.
    let (status, answer) = post_amazon_ipn(&good).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("unchanged")),
        "{answer}"
    );
    for env in [good.clone(), signed_ipn(json!({ "message": msg })).await] {
        let (status, answer) = post_amazon_ipn(&env).await;
        assert_eq!(
            (status, &answer["duplicate"]),
            (200, &json!(true)),
            "{answer}"
        );
    }
    let after = payment(&id).await;
    assert_eq!(events_of_notification(&after, &nid), 1, "{after}");
    assert_eq!(after["state"], "authorized");
    assert_eq!(after["amount"], 2800);

    // Out of order: Amazon captures (Seller Central); the capture's notification arrives first,
    // the authorisation's (older) one after it. Forward only: captured once, never back.
    seller_central(&charge_id, "capture", json!({})).await;
    let newer = signed_ipn(json!({ "message": ipn_message("CHARGE", &charge_id, &cp, &format!("captured-{charge_id}")) })).await;
    let older = signed_ipn(json!({ "message": ipn_message("CHARGE_PERMISSION", &cp, &cp, &format!("chargeable-{charge_id}")) })).await;
    let (status, answer) = post_amazon_ipn(&newer).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("applied")),
        "{answer}"
    );
    let (status, answer) = post_amazon_ipn(&older).await;
    assert_eq!(
        (status, &answer["status"]),
        (200, &json!("unchanged")),
        "{answer}"
    );
    let (status, answer) = post_amazon_ipn(&newer).await;
    assert_eq!(
        (status, &answer["duplicate"]),
        (200, &json!(true)),
        "{answer}"
    );
    let last = payment(&id).await;
    assert_eq!(last["state"], "captured", "{last}");
    assert_eq!(
        event_kinds(&last)
            .iter()
            .filter(|k| *k == "amazon_ipn_applied")
            .count(),
        1,
        "{last}"
    );
    // The edge itself never captured: Amazon's change was adopted.
    assert_eq!(
        amazon_requests(Some("CaptureCharge"), Some(&charge_id))
            .await
            .len(),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// The worker's log

#[tokio::test]
async fn no_secret_card_number_or_token_reaches_the_worker_log() {
    let paid = paid_card_payment(3100).await;
    let declined = new_payment(3200).await;
    let token = fresh_token(test_cards::INSUFFICIENT_FUNDS).await;
    let (status, _) = widget_post(&declined, json!({ "token": token })).await;
    assert_eq!(status, 402);
    // Secrets where they do not belong: card data in the widget's body, a client secret sent as
    // a token (it reaches GMO, which refuses it), the key in a body, GMO passwords in a
    // notification that is not ours, an IPN that carries the key.
    let probe = new_payment(3300).await;
    let (status, _) = widget_post(
        &probe,
        json!({ "token": "abc", "cardno": test_cards::APPROVED, "securitycode": "123", "expire": "3012" }),
    )
    .await;
    assert_eq!(status, 400);
    let paid_secret = secret_of(&paid);
    let (status, answer) = widget_post(&probe, json!({ "token": paid_secret })).await;
    assert_eq!(status, 402, "{answer}");
    let key = kessai_demo::stack::MERCHANT_SECRET_KEY;
    let (status, _) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("LOG"), "amount": key, "customer_name": test_cards::APPROVED })),
    )
    .await;
    assert_eq!(status, 400);
    let shop = kessai_sandbox::SandboxConfig::default();
    let form = kessai_core::gmo::codec::encode_form(&[
        ("ShopID", "tshop99999999"),
        ("ShopPass", shop.shop_pass.as_str()),
        ("AccessID", "0123456789abcdef0123456789abcdef"),
        ("AccessPass", shop.site_pass.as_str()),
        ("OrderID", "kessai-log-probe"),
        ("Status", "CAPTURE"),
        ("JobCd", "CAPTURE"),
        ("Amount", "100"),
    ])
    .expect("form")
    .into_bytes();
    let (status, _) = raw_text(
        Method::POST,
        "/v1/notify/gmo",
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(status, 200);
    let env = signed_ipn(json!({ "message": ipn_message("CHARGE", key, key, &paid_secret) })).await;
    let (status, _) = post_amazon_ipn(&env).await;
    assert_eq!(status, 200);
    // Last: a request whose log line marks the end of this test's traffic (a refused request:
    // the edge logs those, not successful ones).
    let marker = format!("/v1/payments/{}-end-of-traffic", id_of(&probe));
    let (status, _) = merchant(Method::GET, &marker, None).await;
    assert_eq!(status, 404);
    let path = stack().state_dir.join(kessai_demo::stack::EDGE_LOG);
    let mut log = String::new();
    for _ in 0..100 {
        log = std::fs::read_to_string(&path).unwrap_or_default();
        if log.contains(&format!("GET {marker} -> 404")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        log.contains(&format!("GET {marker} -> 404")),
        "the log never showed {marker}"
    );

    let mut secrets: Vec<(String, String)> = vec![
        ("merchant key".into(), key.to_string()),
        ("ShopPass".into(), shop.shop_pass.clone()),
        ("SitePass".into(), shop.site_pass.clone()),
    ];
    for card in [
        test_cards::APPROVED,
        test_cards::APPROVED_JCB,
        test_cards::APPROVED_MASTERCARD,
        test_cards::APPROVED_AMEX,
        test_cards::INSUFFICIENT_FUNDS,
        test_cards::CARD_UNUSABLE,
        test_cards::WRONG_CVC,
        test_cards::WRONG_NUMBER,
        test_cards::EXPIRED_CARD,
        test_cards::BUSY,
    ] {
        secrets.push(("card number".into(), card.to_string()));
    }
    for s in SECRETS.lock().map(|s| s.clone()).unwrap_or_default() {
        secrets.push(("client secret or token".into(), s));
    }
    assert!(secrets.len() > 15, "{}", secrets.len());
    for (what, secret) in &secrets {
        if let Some(line) = log.lines().find(|l| l.contains(secret.as_str())) {
            panic!("a {what} reached the worker log: {line}");
        }
    }
}
