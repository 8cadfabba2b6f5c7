//! Every `kessai_core` function that reads outside input (gateway answers, notifications, SNS
//! envelopes, certificates, browser and merchant requests, headers) takes arbitrary bytes or
//! text without panicking, and what it returns is bounded by what it was given (no output that
//! grows beyond the input: no unbounded allocation).
//!
//! These are the short, bounded runs of issue #16's fuzzing; the long runs (≥ 10 M inputs per
//! parser) are the cargo-fuzz targets in `fuzz/` (`scripts/fuzz.sh`, `docs/reliability.md`).
//! Structured, near-valid inputs and round trips are in `parsers_round_trip.rs`.

use kessai_core::amazon::model::{
    Buyer, Charge, ChargePermission, CheckoutSession, CreateCharge, CreateCheckoutSession,
    ErrorBody, Price, Refund, parse_request_body,
};
use kessai_core::amazon::signing::{
    AuthorizationHeader, base64_decode, base64url_decode, parse_amz_date, parse_query,
};
use kessai_core::amazon::{assertion, errors as amazon_errors, request, status as amazon_status};
use kessai_core::gmo::codec::{decode_form, decode_response, encode_form};
use kessai_core::gmo::errors::{GmoErrors, classify, describe_ja, err_code_for};
use kessai_core::gmo::{api, installments, notification, risk, site, status as gmo_status, tds2};
use kessai_core::jst::{JstDateTime, UnixMillis};
use kessai_core::{access, card, console, der, payment, sns, text};
use proptest::prelude::*;
use serde_json::Value;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// Text that is mostly the separators and markers the parsers look for, so random strings reach
/// past the first split.
fn spiky_text() -> impl Strategy<Value = String> {
    "(ACS=|&|=|\\||%|%4|%G|\\+|RedirectUrl=|ACSUrl=|&PaReq=|&MD=|ErrCode=|ErrInfo=|CardSeq=|\
      -----BEGIN CERTIFICATE-----|-----END CERTIFICATE-----|https://|sns\\.|\\.amazonaws\\.com|\
      \\.pem|/|:|@|\\.|_secret_|pay_|;|,|\\$|[ -~]|[ぁ-んｦ-ﾟ一-龠]|\\PC|\r|\n){0,40}"
}

/// Sum of the characters of every key and value.
fn chars_out(params: &[(String, String)]) -> usize {
    params
        .iter()
        .map(|(k, v)| k.chars().count() + v.chars().count())
        .sum()
}

/// Arbitrary JSON whose object keys are mostly names the Amazon, SNS and risk readers look for.
fn json_value() -> impl Strategy<Value = Value> {
    const KEYS: &[&str] = &[
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertURL",
        "SubscribeURL",
        "Token",
        "NotificationVersion",
        "MerchantID",
        "ObjectType",
        "ObjectId",
        "ChargePermissionId",
        "NotificationType",
        "NotificationId",
        "chargeId",
        "chargePermissionId",
        "checkoutSessionId",
        "refundId",
        "buyerId",
        "statusDetails",
        "state",
        "reasonCode",
        "message",
        "chargeAmount",
        "amount",
        "currencyCode",
        "webCheckoutDetails",
        "paymentDetails",
        "restrictions",
        "deliverySpecifications",
        "addressRestrictions",
        "recurringMetadata",
        "frequency",
        "value",
        "email",
        "billing_address",
        "shipping_address",
        "postal_code",
        "prefecture",
        "city",
        "line1",
        "account_created_on",
    ];
    let key = prop_oneof![
        4 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "(1|V2|CHARGE|Notification|JPY|500|500\\.00|Open|Completed|Authorized|東京都|13|\
          2024-04-01|a@b\\.jp|100-0001|\\PC{0,12})"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Every Amazon response type and request body reader over one text.
fn read_amazon_json(s: &str) {
    if let Ok(cs) = serde_json::from_str::<CheckoutSession>(s) {
        let _ = (cs.state(), cs.reason_code(), cs.charge_amount());
        let _ = cs.charge_amount().map(Price::to_jpy);
    }
    if let Ok(cp) = serde_json::from_str::<ChargePermission>(s) {
        let _ = cp.state();
    }
    if let Ok(c) = serde_json::from_str::<Charge>(s) {
        let _ = (c.state(), c.reason_code());
        for p in [&c.charge_amount, &c.capture_amount, &c.refunded_amount] {
            let _ = p.as_ref().map(|p| (p.to_jpy(), p.to_jpy_strict()));
        }
    }
    if let Ok(r) = serde_json::from_str::<Refund>(s) {
        let _ = r.state();
    }
    if let Ok(e) = serde_json::from_str::<ErrorBody>(s) {
        let _ = amazon_errors::classify(400, &e.reason_code);
        let _ = amazon_errors::decline_hint_ja(&e.reason_code);
        let _ = amazon_errors::http_status_of(&e.reason_code);
    }
    let _ = serde_json::from_str::<Buyer>(s);
    if let Err(e) = parse_request_body::<CreateCheckoutSession>(s) {
        let _ = (e.reason_code(), e.message());
    }
    let _ = parse_request_body::<CreateCharge>(s);
}

/// A GMO answer, read the way the edge reads each API's answer.
fn read_gmo_answer(params: &[(String, String)]) {
    if let Some(e) = GmoErrors::from_params(params) {
        let _ = (e.meaning(), e.joined());
        // One pair per ErrCode entry: never more pairs than the answer has characters.
        assert!(e.0.len() <= chars_out(params) + 1);
    }
    let _ = api::read(params, api::read_access);
    let _ = api::read(params, api::read_exec);
    let _ = api::read(params, api::read_alter);
    if let Ok(t) = api::read_trade(params) {
        let _ = payment::state_from_gmo(t.status);
    }
    if let Ok(cards) = site::read_cards(params) {
        assert!(cards.len() <= chars_out(params));
        for c in &cards {
            let _ = (c.last_digits(), c.expired(2026, 4));
        }
    }
    let _ = site::read_saved(params);
    let _ = site::read_member(params);
    let outcome = tds2::read_outcome(params);
    if let Some(eci) = &outcome.eci {
        assert!(eci.len() <= 2 && eci.bytes().all(|b| b.is_ascii_digit()));
    }
}

proptest! {
    #![proptest_config(config(1024))]

    /// GMO answers (CP932 text): pairs never hold more characters than the body had bytes.
    #[test]
    fn gmo_answer_bytes(body in bytes(300)) {
        if let Ok(params) = decode_response(&body) {
            prop_assert!(chars_out(&params) <= body.len());
            read_gmo_answer(&params);
        }
    }

    #[test]
    fn gmo_answer_text(s in spiky_text()) {
        let (body, _, _) = encoding_rs::SHIFT_JIS.encode(&s);
        if let Ok(params) = decode_response(&body) {
            prop_assert!(chars_out(&params) <= body.len());
            read_gmo_answer(&params);
        }
    }

    /// Form bodies (GMO 結果通知, percent-encoded CP932): percent-decoding only shrinks.
    #[test]
    fn gmo_form_and_notification(body in prop_oneof![bytes(300), spiky_text().prop_map(String::into_bytes)]) {
        if let Ok(params) = decode_form(&body) {
            prop_assert!(chars_out(&params) <= body.len());
            prop_assert!(params.len() <= body.len());
            if let Ok(n) = notification::read_notification(&params) {
                prop_assert!(!n.shop_id.is_empty());
                let _ = (n.is_ping(), n.dedupe_key());
            }
        }
    }

    /// What decodes as CP932 re-encodes to the same pairs, whatever the first bytes are (a
    /// UTF-8 or UTF-16 byte order mark once switched the decoder away from CP932).
    #[test]
    fn gmo_form_re_encodes(
        bom in proptest::sample::select(vec![&b""[..], b"\xEF\xBB\xBF", b"\xFE\xFF", b"\xFF\xFE"]),
        key in "[A-Za-z]{0,4}=",
        rest in bytes(60),
    ) {
        let body = [key.as_bytes(), bom, &rest].concat();
        if let Ok(params) = decode_form(&body) {
            match encode_form(&params) {
                Ok(again) => prop_assert_eq!(decode_form(again.as_bytes()), Ok(params)),
                // The CP932 user-defined area (外字, F040–F9FC) decodes to private use
                // characters that the encoder does not write back; nothing else may fail.
                Err(_) => {
                    let private_use = params.iter().any(|(k, v)| {
                        k.chars().chain(v.chars()).any(|c| ('\u{E000}'..='\u{E757}').contains(&c))
                    });
                    prop_assert!(private_use);
                }
            }
        }
    }

    #[test]
    fn sns_envelope_text(s in prop_oneof![spiky_text(), "\\PC{0,200}"]) {
        if let Ok(e) = sns::parse_envelope(&s) {
            prop_assert!(e.string_to_sign().len() <= 2 * s.len() + 128);
        }
        let _ = sns::parse_ipn_message(&s);
        let _ = sns::check_live_cert_url(&s);
        let _ = sns::check_live_subscribe_url(&s);
        let _ = sns::check_sandbox_cert_url(&s, "https://127.0.0.1:9/sns/");
        let _ = sns::is_sns_host(&s);
    }

    /// The Amazon readers over arbitrary JSON text.
    #[test]
    fn amazon_json_text(s in prop_oneof![spiky_text(), "\\PC{0,200}"]) {
        read_amazon_json(&s);
    }

    #[test]
    fn der_bytes(input in bytes(400)) {
        if let Ok((tlv, rest)) = der::read_tlv(&input) {
            prop_assert_eq!(tlv.raw.len() + rest.len(), input.len());
            prop_assert!(tlv.content.len() < tlv.raw.len());
        }
        if let Ok(cert) = der::parse_certificate(&input) {
            prop_assert!(cert.tbs.len() < input.len());
            let _ = (cert.has_rsa_key(), cert.valid_at(UnixMillis(0)));
        }
    }

    /// PEM: the DER is at most 3/4 of the text.
    #[test]
    fn pem_text(s in spiky_text()) {
        if let Ok(der) = der::certificate_der_from_pem(&s) {
            prop_assert!(der.len() * 4 <= s.len() * 3);
            let _ = der::parse_certificate(&der);
        }
    }

    /// Headers, URLs and small fields of browser and merchant requests, and config values.
    #[test]
    fn request_fields(s in prop_oneof![spiky_text(), "\\PC{0,80}"]) {
        let _ = tds2::decode_tenant_name(&s).map(|name| assert!(name.chars().count() <= 25));
        let _ = tds2::TransStatus::parse(&s);
        let _ = tds2::ThreeDSecurePolicy::parse(&s);
        let _ = AuthorizationHeader::parse(&s);
        let _ = parse_amz_date(&s);
        let q = parse_query(&s);
        prop_assert!(chars_out(&q) <= s.len());
        if let Some(b) = base64_decode(&s) { prop_assert!(b.len() <= s.len()); }
        if let Some(b) = base64url_decode(&s) { prop_assert!(b.len() <= s.len()); }
        if let Some((_, mac, claims)) = assertion::split(&s) {
            prop_assert!(mac.len() <= s.len());
            let _ = assertion::check(&claims, UnixMillis(1_700_000_000_000), "https://shop.example", Some("n"));
        }
        let _ = assertion::origin_of(&s);
        let _ = request::url_host(&s);
        let _ = request::idempotency_key_ok(&s);
        let _ = console::cookie_value(&s, "kessai_console");
        let _ = console::parse_operators(&s);
        let _ = payment::payment_id_of_secret(&s);
        let _ = access::is_loopback_url(&s);
        let _ = access::AccessMode::parse(Some(&s)).map(|m| m.allows_url(&s));
        let _ = JstDateTime::parse_gmo(&s);
        let _ = installments::Installments::parse(&s);
        let _ = installments::InstallmentPlan::parse(&s);
        let _ = risk::prefecture_code(&s);
        let _ = gmo_status::TranStatus::parse(&s);
        let _ = gmo_status::JobCd::parse(&s);
        let _ = api::order_id_error(&s);
        let _ = site::expire_month(&s);
        let _ = (classify(&s), err_code_for(&s), describe_ja(&s));
        let _ = amazon_status::ChargeState::parse(&s);
        let _ = amazon_errors::classify(422, &s);
    }

    /// Card fields as typed in the widget (full-width digits and IME punctuation included).
    #[test]
    fn card_fields(s in "[0-9０-９/／ 　‐―−a-zA-Zａ-ｚ\\PC]{0,40}") {
        let formatted = card::format_card_number(&s);
        prop_assert!(formatted.chars().count() <= 2 * s.chars().count());
        let _ = card::check_number(&s);
        let _ = card::check_expiry(&s, 2026, 4);
        prop_assert!(card::format_expiry(&s).len() <= 5);
        let _ = card::check_cvc(&s, card::CardBrand::detect(&text::digits_only(&s)));
        let _ = card::check_holder(&s);
        prop_assert_eq!(text::to_half_width(&s).chars().count(), s.chars().count());
        let _ = text::html_escape(&s);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// The JSON readers over arbitrary JSON *values* with the field names they look for, so they
    /// get past "not JSON" into the field checks.
    #[test]
    fn json_readers_on_json_values(v in json_value()) {
        let s = v.to_string();
        read_amazon_json(&s);
        let _ = sns::parse_envelope(&s);
        let _ = sns::parse_ipn_message(&s);
        let _ = risk::parse(Some(&v));
        if let Value::Object(m) = &v {
            let _ = risk::parse(m.get("risk"));
        }
    }
}
