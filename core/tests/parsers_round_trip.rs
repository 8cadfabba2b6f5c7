//! Round trips (encode → parse = identity) for every parser of outside input that has an
//! encoder, and structured near-valid inputs: a valid message with one field mutated, so the
//! parsers are exercised past the first rejection and each mutation gets the answer it should.
//! Arbitrary bytes and strings are in `parsers_never_panic.rs`; the long runs in `fuzz/`.

use kessai_core::amazon::assertion::{self, AssertionClaims};
use kessai_core::amazon::model::{Charge, Price, StatusDetails};
use kessai_core::amazon::signing::{
    Algorithm, AuthorizationHeader, amz_date, base64_encode, parse_amz_date, parse_query,
    uri_encode,
};
use kessai_core::amazon::status::ChargeState;
use kessai_core::der::{self, SignatureAlgorithm, TbsFields};
use kessai_core::gmo::codec::{decode_form, decode_response, encode_form, encode_response, get};
use kessai_core::gmo::errors::{GmoErrors, classify};
use kessai_core::gmo::notification::{NotNotification, PING_CODE, read_notification};
use kessai_core::gmo::site::{StoredCard, read_cards};
use kessai_core::gmo::{risk, tds2};
use kessai_core::jst::{JstDateTime, UnixMillis};
use kessai_core::sns::{self, Envelope, EnvelopeError, IpnMessage, IpnMessageError, IpnObjectType};
use proptest::prelude::*;
use serde_json::{Value, json};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn cp932_ok(s: &str) -> bool {
    !encoding_rs::SHIFT_JIS.encode(s).2
}

/// Japanese shop text: ASCII, kana (both widths), common kanji, and the separators GMO's format
/// uses (`&`, `=`, `|`, `%`, `+`), limited to what CP932 encodes.
fn cp932_text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(
        "[ -~ぁ-んァ-ヶｦ-ﾟ一-龠ー、。「」・＠（）]{{0,{max}}}"
    ))
    .expect("regex")
    .prop_filter("CP932 only", |s| cp932_ok(s))
}

/// One SearchCard record: CardSeq, DefaultFlag, CardNo, Expire, DeleteFlag.
type CardRow = (u32, bool, String, String, bool);

fn answer_key() -> impl Strategy<Value = String> {
    "[A-Z][A-Za-z0-9]{0,11}".prop_filter("not ACS", |k| k != "ACS")
}

proptest! {
    #![proptest_config(config(256))]

    /// Request/notification forms: CP932 + percent-encoding, any characters incl. `&`, `=`, `+`.
    #[test]
    fn gmo_form_round_trip(pairs in proptest::collection::vec((cp932_text(12), cp932_text(30)), 0..8)) {
        let body = encode_form(&pairs).expect("CP932 text");
        prop_assert!(body.is_ascii());
        prop_assert_eq!(decode_form(body.as_bytes()).expect("decodes"), pairs);
    }

    /// Answers: raw CP932, values unescaped (so they may hold `=` and `|`, not `&`).
    #[test]
    fn gmo_answer_round_trip(pairs in proptest::collection::vec(
        (answer_key(), cp932_text(30).prop_filter("no &", |v| !v.contains('&'))), 0..8)) {
        let body = encode_response(&pairs);
        prop_assert_eq!(decode_response(&body).expect("decodes"), pairs);
    }

    /// ExecTran's 3-D Secure answers keep URLs with raw `&` and `=` whole.
    #[test]
    fn gmo_acs_urls_kept_whole(
        url in "https://[a-z0-9.]{1,20}/[a-z0-9/?&=.]{0,40}",
        pareq in "[A-Za-z0-9+/]{0,40}={0,2}",
        md in "[0-9a-f]{0,32}",
        crlf in any::<bool>(),
    ) {
        let nl = if crlf { "\r\n" } else { "" };
        let two = decode_response(format!("ACS=2&RedirectUrl={url}{nl}").as_bytes()).expect("decodes");
        prop_assert_eq!(get(&two, "RedirectUrl"), Some(url.as_str()));
        let one = decode_response(format!("ACS=1&ACSUrl={url}&PaReq={pareq}&MD={md}{nl}").as_bytes())
            .expect("decodes");
        prop_assert_eq!(get(&one, "ACS"), Some("1"));
        prop_assert_eq!(get(&one, "ACSUrl"), Some(url.as_str()));
        prop_assert_eq!(get(&one, "PaReq"), Some(pareq.as_str()));
        prop_assert_eq!(get(&one, "MD"), Some(md.as_str()));
    }

    /// SearchCard: column-wise `|`-joined records read back card by card.
    #[test]
    fn gmo_search_card_columns(cards in proptest::collection::vec(
        (0u32..1000, any::<bool>(), "[*X0-9]{14,16}", "[0-9]{4}", any::<bool>()), 1..6)) {
        let col = |f: &dyn Fn(&CardRow) -> String| {
            cards.iter().map(f).collect::<Vec<_>>().join("|")
        };
        let flag = |b: bool| if b { "1" } else { "0" }.to_string();
        let body = encode_response(&[
            ("CardSeq", col(&|c| c.0.to_string())),
            ("DefaultFlag", col(&|c| flag(c.1))),
            ("CardName", col(&|_| String::new())),
            ("CardNo", col(&|c| c.2.clone())),
            ("Expire", col(&|c| c.3.clone())),
            ("DeleteFlag", col(&|c| flag(c.4))),
        ]);
        let got = read_cards(&decode_response(&body).expect("decodes")).expect("reads");
        let want: Vec<StoredCard> = cards.iter().map(|c| StoredCard {
            card_seq: c.0, default: c.1, masked: c.2.clone(), expire: c.3.clone(), deleted: c.4,
        }).collect();
        prop_assert_eq!(got, want);
    }

    /// Error answers: `ErrCode=a|b&ErrInfo=x|y` pair up in order; an unknown-outcome code wins.
    #[test]
    fn gmo_error_pairs(pairs in proptest::collection::vec(
        ("(E0[0-9]|E9[0-2]|E1[0-9]|42G|42C|EX1)", "(E[0-9]{8}|42[CG][0-9]{6}|EX1000301)"), 1..4)) {
        let codes: Vec<&str> = pairs.iter().map(|p| p.0.as_str()).collect();
        let infos: Vec<&str> = pairs.iter().map(|p| p.1.as_str()).collect();
        let body = encode_response(&[("ErrCode", codes.join("|")), ("ErrInfo", infos.join("|"))]);
        let errors = GmoErrors::from_params(&decode_response(&body).expect("decodes")).expect("errors");
        prop_assert_eq!(errors.joined(), (codes.join("|"), infos.join("|")));
        let unknown = infos.iter().any(|i| classify(i).class == kessai_core::gmo::errors::ErrorClass::OutcomeUnknown);
        prop_assert_eq!(errors.meaning().class == kessai_core::gmo::errors::ErrorClass::OutcomeUnknown, unknown);
    }
}

// ---------------------------------------------------------------------------------------------
// GMO 結果通知: a valid notification with fields dropped, blanked, padded or pinged.

#[derive(Debug, Clone)]
enum FieldEdit {
    Keep,
    Drop,
    Blank,
    Pad,
}

fn field_edit() -> impl Strategy<Value = FieldEdit> {
    prop_oneof![
        4 => Just(FieldEdit::Keep),
        1 => Just(FieldEdit::Drop),
        1 => Just(FieldEdit::Blank),
        1 => Just(FieldEdit::Pad),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn gmo_notification_model(
        values in proptest::collection::vec(cp932_text(16).prop_map(|s| s.replace('|', "").trim().to_string()), 8),
        edits in proptest::collection::vec(field_edit(), 8),
        ping in any::<bool>(),
        extra in proptest::collection::vec((answer_key(), cp932_text(10)), 0..3),
    ) {
        const KEYS: [&str; 8] = ["ShopID", "AccessID", "OrderID", "Status", "JobCd", "TranID", "TranDate", "ErrInfo"];
        let mut pairs: Vec<(String, String)> = vec![("ShopPass".into(), "**********".into())];
        let mut seen: Vec<String> = Vec::new();
        for (i, key) in KEYS.iter().enumerate() {
            let value = if *key == "ErrInfo" && ping { PING_CODE.to_string() } else { values[i].clone() };
            let (sent, read) = match edits[i] {
                FieldEdit::Keep => (Some(value.clone()), value),
                FieldEdit::Drop => (None, String::new()),
                FieldEdit::Blank => (Some(String::new()), String::new()),
                FieldEdit::Pad => (Some(format!("  {value} ")), value),
            };
            if let Some(v) = sent {
                pairs.push((key.to_string(), v));
            }
            seen.push(read);
        }
        // Unknown fields sent after ours are ignored.
        pairs.extend(extra.into_iter().filter(|(k, _)| !KEYS.contains(&k.as_str())));
        let body = encode_form(&pairs).expect("CP932");
        let got = read_notification(&decode_form(body.as_bytes()).expect("decodes"));
        let is_ping = seen[7].split('|').any(|c| c == PING_CODE);
        let want = if seen[0].is_empty() {
            Err(NotNotification("ShopID"))
        } else if !is_ping && seen[2].is_empty() {
            Err(NotNotification("OrderID"))
        } else if !is_ping && seen[1].is_empty() {
            Err(NotNotification("AccessID"))
        } else {
            Ok(())
        };
        match (got, want) {
            (Ok(n), Ok(())) => {
                prop_assert_eq!(
                    [&n.shop_id, &n.access_id, &n.order_id, &n.status, &n.job_cd, &n.tran_id, &n.tran_date],
                    [&seen[0], &seen[1], &seen[2], &seen[3], &seen[4], &seen[5], &seen[6]]
                );
                prop_assert_eq!(n.is_ping(), is_ping);
                let shown = format!("{n:?}");
                prop_assert!(!shown.contains("****"));
            }
            (Err(e), Err(w)) => prop_assert_eq!(e, w),
            (got, want) => prop_assert!(false, "got {:?}, want {:?}", got, want),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SNS envelopes and Amazon Pay IPN messages

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        prop_oneof![
            Just(sns::MessageType::Notification),
            Just(sns::MessageType::SubscriptionConfirmation),
            Just(sns::MessageType::UnsubscribeConfirmation),
        ],
        any::<bool>(),
        proptest::collection::vec("\\PC{0,30}", 7),
        proptest::option::of("\\PC{0,20}"),
        proptest::option::of("\\PC{0,20}"),
    )
        .prop_map(|(kind, v2, t, subject, unsubscribe_url)| {
            let confirmation = kind != sns::MessageType::Notification;
            Envelope {
                kind,
                message_id: t[0].clone(),
                topic_arn: t[1].clone(),
                subject,
                message: t[2].clone(),
                timestamp: t[3].clone(),
                signature_version: if v2 {
                    sns::SignatureVersion::V2
                } else {
                    sns::SignatureVersion::V1
                },
                signature: t[4].clone(),
                signing_cert_url: t[5].clone(),
                subscribe_url: confirmation.then(|| t[6].clone()),
                token: confirmation.then(|| t[6].chars().rev().collect()),
                unsubscribe_url,
            }
        })
}

/// One change to a valid envelope's JSON, and what parsing should then say.
#[derive(Debug, Clone)]
enum EnvelopeEdit {
    Remove(&'static str),
    Null(&'static str),
    Number(&'static str),
    Array(&'static str),
    Lambda,
    Type(String),
    Version(String),
    Unknown(String),
}

const ENVELOPE_KEYS: [&str; 11] = [
    "Type",
    "SignatureVersion",
    "MessageId",
    "TopicArn",
    "Subject",
    "Message",
    "Timestamp",
    "Signature",
    "SigningCertURL",
    "SubscribeURL",
    "Token",
];

fn envelope_edit() -> impl Strategy<Value = EnvelopeEdit> {
    let key = proptest::sample::select(&ENVELOPE_KEYS[..]);
    prop_oneof![
        key.clone().prop_map(EnvelopeEdit::Remove),
        key.clone().prop_map(EnvelopeEdit::Null),
        key.clone().prop_map(EnvelopeEdit::Number),
        key.prop_map(EnvelopeEdit::Array),
        Just(EnvelopeEdit::Lambda),
        "(notification|Notificatio|\\PC{0,12})".prop_map(EnvelopeEdit::Type),
        "(3|0|1 | 2|V2|\\PC{0,3})".prop_map(EnvelopeEdit::Version),
        "[A-Za-z]{1,12}".prop_map(EnvelopeEdit::Unknown),
    ]
}

fn expected_error(e: &Envelope, edit: &EnvelopeEdit) -> Option<EnvelopeError> {
    let confirmation = e.kind != sns::MessageType::Notification;
    let required = |k: &'static str| {
        matches!(
            k,
            "Type"
                | "SignatureVersion"
                | "MessageId"
                | "TopicArn"
                | "Message"
                | "Timestamp"
                | "Signature"
                | "SigningCertURL"
        ) || (confirmation && matches!(k, "SubscribeURL" | "Token"))
    };
    let present = |k: &str| match k {
        "Subject" => e.subject.is_some(),
        "SubscribeURL" | "Token" => confirmation,
        _ => true,
    };
    match edit {
        EnvelopeEdit::Remove(k) | EnvelopeEdit::Null(k) if required(k) => {
            Some(EnvelopeError::Missing(k))
        }
        EnvelopeEdit::Number(k) | EnvelopeEdit::Array(k) if present(k) => {
            Some(EnvelopeError::NotAString(k))
        }
        EnvelopeEdit::Type(t) if sns::MessageType::parse(t).is_none() => {
            Some(EnvelopeError::UnknownType)
        }
        EnvelopeEdit::Version(v) if v != "1" && v != "2" => {
            Some(EnvelopeError::UnknownSignatureVersion)
        }
        _ => None,
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn sns_envelope_round_trip(e in envelope()) {
        let parsed = sns::parse_envelope(&e.to_json()).expect("parses");
        prop_assert_eq!(parsed.string_to_sign(), e.string_to_sign());
        prop_assert_eq!(parsed, e);
    }

    /// A valid envelope with one field removed, nulled, of the wrong JSON type, respelled or
    /// given an unknown value: parsed or refused exactly as the rules say, never otherwise.
    #[test]
    fn sns_envelope_mutated(e in envelope(), edit in envelope_edit()) {
        let Value::Object(mut obj) = serde_json::from_str::<Value>(&e.to_json()).expect("json") else {
            unreachable!()
        };
        match &edit {
            EnvelopeEdit::Remove(k) => { obj.remove(*k); }
            EnvelopeEdit::Null(k) => { obj.insert(k.to_string(), Value::Null); }
            EnvelopeEdit::Number(k) if obj.contains_key(*k) => { obj.insert(k.to_string(), json!(7)); }
            EnvelopeEdit::Array(k) if obj.contains_key(*k) => { obj.insert(k.to_string(), json!(["x"])); }
            EnvelopeEdit::Number(_) | EnvelopeEdit::Array(_) => {}
            EnvelopeEdit::Lambda => {
                for (from, to) in [("SigningCertURL", "SigningCertUrl"), ("SubscribeURL", "SubscribeUrl"), ("UnsubscribeURL", "UnsubscribeUrl")] {
                    if let Some(v) = obj.remove(from) { obj.insert(to.into(), v); }
                }
            }
            EnvelopeEdit::Type(t) => { obj.insert("Type".into(), json!(t)); }
            EnvelopeEdit::Version(v) => { obj.insert("SignatureVersion".into(), json!(v)); }
            EnvelopeEdit::Unknown(k) => {
                if !ENVELOPE_KEYS.contains(&k.as_str()) && !k.starts_with("Unsubscribe") && !k.ends_with("Url") {
                    obj.insert(k.clone(), json!({"nested": [1, 2]}));
                }
            }
        }
        let body = Value::Object(obj).to_string();
        let got = sns::parse_envelope(&body);
        match expected_error(&e, &edit) {
            Some(err) => prop_assert_eq!(got, Err(err)),
            None => {
                let got = got.expect("still an envelope");
                prop_assert_eq!(&got.message, &e.message);
                prop_assert_eq!(&got.signing_cert_url, &e.signing_cert_url);
                if matches!(edit, EnvelopeEdit::Lambda | EnvelopeEdit::Unknown(_)) {
                    prop_assert_eq!(got, e);
                }
            }
        }
    }

    /// Certificate URLs near the SNS shape: whatever the live rule accepts is https, an SNS host
    /// without user info or port, and a `.pem` path without query or fragment.
    #[test]
    fn sns_cert_url_near_valid(
        scheme in "(https|HTTPS|http|ftp|https:)",
        sep in "(://|:/|:///)",
        user in "(|user@|a:b@)",
        region in "(ap-northeast-1|us-east-1|x|eu-west-1\\.evil|[a-zA-Z0-9-]{0,8})",
        suffix in "(\\.amazonaws\\.com|\\.amazonaws\\.com\\.cn|\\.amazonaws\\.com\\.evil\\.jp|\\.AMAZONAWS\\.COM)",
        port in "(|:443|:)",
        path in "(/SimpleNotificationService-[a-f0-9]{4}\\.pem|/x\\.pem\\?a=1|/x\\.pem#f|/x\\.pe|/\\.\\./x\\.pem|/x\\\\y\\.pem|/a b\\.pem|/\u{3000}\\.pem)",
    ) {
        let url = format!("{scheme}{sep}{user}sns.{region}{suffix}{port}{path}");
        if sns::check_live_cert_url(&url).is_ok() {
            let lower = url.to_ascii_lowercase();
            let rest = lower.strip_prefix("https://").expect("https");
            let (host, path) = rest.split_at(rest.find('/').expect("path"));
            prop_assert!(host.starts_with("sns."));
            prop_assert!(host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn"));
            prop_assert!(!host.contains(['@', ':']));
            let clean = !path.contains(['?', '#', '\\', ' ', '\u{3000}']);
            prop_assert!(path.ends_with(".pem") && clean);
            prop_assert!(sns::check_live_subscribe_url(&url).is_ok());
        }
        if scheme == "https" && sep == "://" && user.is_empty() && port.is_empty()
            && region.len() >= 3 && region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && (suffix == ".amazonaws.com" || suffix == ".amazonaws.com.cn")
            && path.starts_with("/SimpleNotificationService-")
        {
            prop_assert_eq!(sns::check_live_cert_url(&url), Ok(()));
        }
    }
}

fn ipn_message() -> impl Strategy<Value = IpnMessage> {
    (
        proptest::sample::select(vec![
            IpnObjectType::ChargePermission,
            IpnObjectType::Charge,
            IpnObjectType::Refund,
            IpnObjectType::Chargeback,
        ]),
        proptest::collection::vec("\\PC{1,24}", 5),
    )
        .prop_map(|(object_type, t)| IpnMessage {
            merchant_id: t[0].clone(),
            object_type,
            object_id: t[1].clone(),
            charge_permission_id: t[2].clone(),
            notification_type: t[3].clone(),
            notification_id: t[4].clone(),
        })
}

const IPN_KEYS: [&str; 7] = [
    "NotificationVersion",
    "MerchantID",
    "ObjectType",
    "ObjectId",
    "ChargePermissionId",
    "NotificationType",
    "NotificationId",
];

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn ipn_message_round_trip(m in ipn_message()) {
        prop_assert_eq!(sns::parse_ipn_message(&m.to_json()), Ok(m));
    }

    /// One field removed, emptied, of another type, or (ObjectType, NotificationVersion) given
    /// an unknown value: refused with that field's error.
    #[test]
    fn ipn_message_mutated(m in ipn_message(), key in proptest::sample::select(&IPN_KEYS[..]), how in 0u8..4) {
        let Value::Object(mut obj) = serde_json::from_str::<Value>(&m.to_json()).expect("json") else {
            unreachable!()
        };
        match how {
            0 => { obj.remove(key); }
            1 => { obj.insert(key.into(), json!("")); }
            2 => { obj.insert(key.into(), json!(1)); }
            _ => { obj.insert(key.into(), json!("V1")); }
        }
        let want = match (key, how) {
            ("NotificationVersion", 3) => IpnMessageError::NotV2,
            ("ObjectType", 3) => IpnMessageError::UnknownObjectType,
            (_, 3) => {
                let got = sns::parse_ipn_message(&Value::Object(obj).to_string()).expect("still valid");
                prop_assert_eq!(got.object_type, m.object_type);
                return Ok(());
            }
            (k, _) => IpnMessageError::Missing(k),
        };
        prop_assert_eq!(sns::parse_ipn_message(&Value::Object(obj).to_string()), Err(want));
    }
}

// ---------------------------------------------------------------------------------------------
// Amazon JSON

fn price() -> impl Strategy<Value = Price> {
    ("[0-9]{1,9}", "(JPY|USD)").prop_map(|(amount, currency_code)| Price {
        amount,
        currency_code,
    })
}

proptest! {
    #![proptest_config(config(256))]

    /// A Charge as the sandbox writes it reads back the same (states known or not).
    #[test]
    fn amazon_charge_round_trip(
        id in "\\PC{0,20}",
        amounts in proptest::collection::vec(proptest::option::of(price()), 3),
        state in prop_oneof![
            proptest::sample::select(ChargeState::ALL).prop_map(|s| s.as_str().to_string()),
            "\\PC{0,10}",
        ],
        reason in proptest::option::of("[A-Za-z]{0,12}"),
        capture_now in proptest::option::of(any::<bool>()),
    ) {
        let charge = Charge {
            charge_id: id,
            charge_amount: amounts[0].clone(),
            capture_amount: amounts[1].clone(),
            refunded_amount: amounts[2].clone(),
            capture_now,
            status_details: Some(StatusDetails { state: state.clone(), reason_code: reason, ..Default::default() }),
            ..Default::default()
        };
        let back: Charge = serde_json::from_str(&kessai_core::amazon::model::to_json(&charge)).expect("reads");
        prop_assert_eq!(back.state(), ChargeState::parse(&state));
        prop_assert_eq!(back, charge);
    }

    /// Amounts: only whole yen (`"500"`, leniently `"500.00"`) are read, to their value.
    #[test]
    fn amazon_price_amounts(amount in "(|[0-9]{1,17}|[0-9,.+ -]{0,8}[0-9]{0,4}(\\.[0-9]{0,3})?)", number in any::<bool>()) {
        let raw = if number && !amount.is_empty() && amount.bytes().all(|b| b.is_ascii_digit()) && amount.len() < 16 {
            format!(r#"{{"amount":{},"currencyCode":"JPY"}}"#, amount.trim_start_matches('0').parse::<u64>().unwrap_or(0))
        } else {
            json!({"amount": amount, "currencyCode": "JPY"}).to_string()
        };
        let p: Price = serde_json::from_str(&raw).expect("price");
        let (int, frac) = p.amount.split_once('.').unwrap_or((&p.amount, ""));
        let whole = !int.is_empty() && int.len() <= 15 && int.bytes().all(|b| b.is_ascii_digit());
        let frac_ok = !p.amount.contains('.') || (!frac.is_empty() && frac.bytes().all(|b| b == b'0'));
        match p.to_jpy() {
            Ok(y) => {
                prop_assert!(whole && frac_ok, "{} accepted", p.amount);
                prop_assert_eq!(y.yen(), int.parse::<i64>().expect("digits"));
            }
            Err(_) => prop_assert!(!(whole && frac_ok), "{} refused", p.amount),
        }
        prop_assert_eq!(p.to_jpy_strict().is_ok(), whole && !p.amount.contains('.'));
    }
}

// ---------------------------------------------------------------------------------------------
// DER / PEM

fn time_in_range() -> impl Strategy<Value = UnixMillis> {
    // 1950-01-01 .. 9999-12-31, whole seconds.
    (-631_152_000i64..253_402_300_799).prop_map(|s| UnixMillis(s * 1000))
}

fn certificate_parts() -> impl Strategy<
    Value = (
        Vec<u8>,
        SignatureAlgorithm,
        String,
        String,
        UnixMillis,
        UnixMillis,
        Vec<u8>,
    ),
> {
    (
        proptest::collection::vec(any::<u8>(), 1..20),
        proptest::sample::select(vec![
            SignatureAlgorithm::RsaSha1,
            SignatureAlgorithm::RsaSha256,
            SignatureAlgorithm::RsaSha384,
            SignatureAlgorithm::RsaSha512,
        ]),
        "\\PC{0,40}",
        "\\PC{0,200}",
        time_in_range(),
        time_in_range(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
}

fn fake_spki(modulus: &[u8]) -> Vec<u8> {
    let key = der::sequence(&[
        &der::positive_integer(modulus),
        &der::positive_integer(&[1, 0, 1]),
    ]);
    let mut bits = vec![0u8];
    bits.extend_from_slice(&key);
    der::sequence(&[
        &der::sequence(&[
            &der::tlv(der::TAG_OID, der::OID_RSA_ENCRYPTION),
            &der::tlv(der::TAG_NULL, &[]),
        ]),
        &der::tlv(der::TAG_BIT_STRING, &bits),
    ])
}

fn within(part: &[u8], whole: &[u8]) -> bool {
    let (p, w) = (part.as_ptr() as usize, whole.as_ptr() as usize);
    p >= w && p + part.len() <= w + whole.len()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn der_tlv_round_trip(tag in any::<u8>().prop_filter("single-byte tag", |t| t & 0x1f != 0x1f),
                          content in prop_oneof![
                              9 => proptest::collection::vec(any::<u8>(), 0..300),
                              1 => (0x80usize..70_000).prop_map(|n| vec![0x5a; n]),
                          ],
                          tail in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mut encoded = der::tlv(tag, &content);
        let len = encoded.len();
        encoded.extend_from_slice(&tail);
        let (got, rest) = der::read_tlv(&encoded).expect("reads");
        prop_assert_eq!((got.tag, got.content, got.raw.len(), rest), (tag, &content[..], len, &tail[..]));
        // Cut anywhere inside, it is truncated, never misread.
        let cut = len / 2;
        prop_assert_eq!(der::read_tlv(&encoded[..cut]).err(), Some(der::DerError::Truncated));
    }

    /// A certificate written by `der` reads back field for field, and through PEM.
    #[test]
    fn der_certificate_round_trip((serial, alg, issuer, subject, a, b, signature) in certificate_parts(),
                                  modulus in proptest::collection::vec(any::<u8>(), 1..300)) {
        let (not_before, not_after) = if a.0 <= b.0 { (a, b) } else { (b, a) };
        let spki = fake_spki(&modulus);
        let tbs = der::tbs_certificate(&TbsFields {
            serial: &serial, algorithm: alg, issuer_cn: &issuer, subject_cn: &subject,
            not_before, not_after, spki: &spki,
        });
        let cert_der = der::certificate(&tbs, alg, &signature);
        let cert = der::parse_certificate(&cert_der).expect("reads");
        prop_assert_eq!(cert.tbs, &tbs[..]);
        prop_assert_eq!(cert.signature_algorithm, alg);
        prop_assert_eq!(cert.signature, &signature[..]);
        prop_assert_eq!(cert.issuer, &der::common_name(&issuer)[..]);
        prop_assert_eq!(cert.subject, &der::common_name(&subject)[..]);
        prop_assert_eq!((cert.not_before, cert.not_after), (not_before, not_after));
        prop_assert_eq!(cert.spki, &spki[..]);
        prop_assert!(cert.has_rsa_key());
        let stripped: Vec<u8> = serial.iter().copied().skip_while(|b| *b == 0).collect();
        prop_assert_eq!(cert.serial.iter().copied().skip_while(|b| *b == 0).collect::<Vec<_>>(), stripped);
        let pem = der::certificate_pem(&cert_der).replace('\n', "\r\n");
        prop_assert_eq!(der::certificate_der_from_pem(&format!("junk\n{pem}more")).expect("pem"), cert_der);
    }

    /// The same certificate with one byte changed, a byte dropped or added, or cut short: read
    /// or refused, and whatever is read lies inside the input.
    #[test]
    fn der_certificate_mutated((serial, alg, issuer, subject, a, b, signature) in certificate_parts(),
                               at in any::<prop::sample::Index>(), byte in any::<u8>(), how in 0u8..4) {
        let spki = fake_spki(&[0xc5; 64]);
        let tbs = der::tbs_certificate(&TbsFields {
            serial: &serial, algorithm: alg, issuer_cn: &issuer, subject_cn: &subject,
            not_before: a, not_after: b, spki: &spki,
        });
        let mut input = der::certificate(&tbs, alg, &signature);
        let i = at.index(input.len());
        match how {
            0 => input[i] = byte,
            1 => { input.remove(i); }
            2 => input.insert(i, byte),
            _ => input.truncate(i),
        }
        if let Ok(cert) = der::parse_certificate(&input) {
            for part in [cert.tbs, cert.serial, cert.signature, cert.issuer, cert.subject, cert.spki] {
                prop_assert!(within(part, &input));
            }
        }
        if how == 3 {
            prop_assert!(der::parse_certificate(&input).is_err());
        }
    }

    #[test]
    fn der_time_round_trip(t in time_in_range()) {
        let encoded = der::generalized_time(t);
        let (tlv, _) = der::read_tlv(&encoded).expect("tlv");
        prop_assert_eq!(der::parse_time(&tlv), Ok(t));
    }
}

// ---------------------------------------------------------------------------------------------
// 3-D Secure 2, request headers and fields

proptest! {
    #![proptest_config(config(256))]

    /// TdTenantName: EUC-JP in Base64, at most 25 bytes; what encodes decodes to itself.
    #[test]
    fn tds2_tenant_name_round_trip(name in "[ -~ぁ-んァ-ヶ一-龠ー]{0,20}") {
        match tds2::encode_tenant_name(&name) {
            Ok(b64) => prop_assert_eq!(tds2::decode_tenant_name(&b64), Ok(name)),
            Err(tds2::TenantNameError::TooLong(n)) => prop_assert!(n > tds2::TENANT_NAME_MAX_BYTES),
            Err(tds2::TenantNameError::NotEucJp) => prop_assert!(encoding_rs::EUC_JP.encode(&name).2),
            Err(e) => prop_assert!(e == tds2::TenantNameError::Empty && name.is_empty()),
        }
    }

    #[test]
    fn tds2_outcome_fields(status in "(Y|A|N|U|R|C|y|YY|)", eci in "(0[0-9]|[0-9]|[0-9]{3}|a1|)") {
        let params = vec![("Tds2TransResult".to_string(), status.clone()), ("Tds2Eci".to_string(), eci.clone())];
        let got = tds2::read_outcome(&params);
        prop_assert_eq!(got.status.map(|s| s.as_str().to_string()), tds2::TransStatus::parse(&status).map(|s| s.as_str().to_string()));
        prop_assert_eq!(got.status.is_some(), ["Y", "A", "N", "U", "R", "C"].contains(&status.as_str()));
        let eci_ok = !eci.is_empty() && eci.len() <= 2 && eci.bytes().all(|b| b.is_ascii_digit());
        prop_assert_eq!(got.eci, eci_ok.then_some(eci));
    }

    /// The Amazon `authorization` header the sandbox and edge read.
    #[test]
    fn authorization_header_round_trip(
        legacy in any::<bool>(),
        key in "[A-Za-z0-9-]{1,40}",
        headers in proptest::collection::vec("[a-z0-9-]{1,20}", 1..6),
        sig in proptest::collection::vec(any::<u8>(), 1..300),
    ) {
        let h = AuthorizationHeader {
            algorithm: if legacy { Algorithm::Legacy } else { Algorithm::V2 },
            public_key_id: key,
            signed_headers: headers,
            signature_b64: base64_encode(&sig),
        };
        prop_assert_eq!(AuthorizationHeader::parse(&h.to_header_value()), Ok(h));
    }

    #[test]
    fn amz_date_round_trip(t in (0i64..253_402_200_000).prop_map(|s| UnixMillis(s * 1000))) {
        prop_assert_eq!(parse_amz_date(&amz_date(t)), Some(t));
        let jst = t.to_jst();
        prop_assert_eq!(JstDateTime::parse_gmo(&jst.gmo_format()), Some(jst));
    }

    #[test]
    fn query_round_trip(pairs in proptest::collection::vec(("\\PC{1,10}", "\\PC{0,10}"), 0..6)) {
        let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", uri_encode(k), uri_encode(v))).collect();
        prop_assert_eq!(parse_query(&q.join("&")), pairs);
    }

    /// Sign-in assertions: split gives back what was assembled, and `check` holds for every
    /// `iat`/`exp` (no overflow): accepted only with a lifetime of 0–300 s around now.
    #[test]
    fn signin_assertion(
        iat in prop_oneof![any::<i64>(), 1_699_999_000i64..1_700_001_000],
        exp in prop_oneof![any::<i64>(), 1_699_999_000i64..1_700_001_000, Just(i64::MAX), Just(i64::MIN)],
        sub in "\\PC{0,20}",
        mac in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let claims = AssertionClaims {
            iss: assertion::ISSUER.into(),
            aud: "https://shop.example".into(),
            iat, exp, sub, nonce: "n".into(),
            ..Default::default()
        };
        let jws = assertion::assemble(&assertion::signing_input(&claims), &mac);
        let (input, got_mac, got) = assertion::split(&jws).expect("splits");
        prop_assert_eq!(input, assertion::signing_input(&claims));
        prop_assert_eq!(&got_mac, &mac);
        prop_assert_eq!(&got, &claims);
        let now = UnixMillis(1_700_000_000_000);
        if assertion::check(&got, now, "https://shop.example", Some("n")).is_ok() {
            let life = i128::from(exp) - i128::from(iat);
            prop_assert!((0..=i128::from(assertion::LIFETIME_SECS)).contains(&life));
            prop_assert!(iat <= 1_700_000_000 + assertion::CLOCK_SKEW_SECS && 1_700_000_000 < exp);
        }
    }

    /// The merchant's `risk` object: what is accepted is stored and read back the same, and a
    /// date is taken only as `YYYY-MM-DD` digits.
    #[test]
    fn risk_round_trip(
        email in "(|taro@example\\.jp|a@b|@x\\.jp|\\PC{0,10}@[a-z]{1,5}\\.jp)",
        postal in "(100-0001|1000001|〒100-0001|[0-9+ -]{6,9})",
        pref in "(東京都|東京|13|1|48|北|大阪|\\PC{0,4})",
        city in "\\PC{0,12}",
        date in "(2024-04-01|2024-02-30|[0-9+ ]{4}-[0-9+ ]{2}-[0-9+ ]{2}|[0-9]{4}-[0-9]{1,3}-[0-9]{2})",
    ) {
        let v = json!({
            "email": email,
            "billing_address": {"postal_code": postal, "prefecture": pref, "city": city, "line1": "1-1"},
            "account_created_on": date,
        });
        if let Ok(r) = risk::parse(Some(&v)) {
            prop_assert_eq!(risk::parse(Some(&risk::to_json(&r))), Ok(r.clone()));
        }
    }

    /// Prefectures: a name, its short name, or its code `1`–`47` in digits; nothing else.
    #[test]
    fn risk_prefecture_codes(s in r"(\+[0-9]|[0-9]{1,3}| [0-9]|東京都|東京|大阪|北|\PC{0,3})") {
        if let Some(code) = risk::prefecture_code(&s) {
            let t = s.trim();
            let n: u32 = code.parse().expect("two digits");
            prop_assert!(code.len() == 2 && (1..=47).contains(&n));
            let digits = !t.is_empty() && t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit());
            prop_assert!(digits || !t.is_ascii(), "{:?} read as {}", s, code);
        }
    }

    /// `account_created_on` near a date (signs, spaces, short fields): taken only as
    /// `YYYY-MM-DD` digits, and stored as those digits.
    #[test]
    fn risk_account_date(date in r"(19|20|\+2|2 )[0-9]{2}-(\+[1-9]|0[0-9]|1[0-3]| [1-9]|[1-9])-(\+[1-9]|[0-3][0-9]| [1-9])") {
        let got = risk::parse(Some(&json!({ "account_created_on": date })));
        let t = date.trim();
        let digits_shape = t.len() == 10
            && t.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
        if let Ok(r) = &got {
            let d = r.account_created.as_deref().expect("a date");
            prop_assert!(digits_shape, "{:?} accepted as {}", date, d);
            prop_assert_eq!(d, t.replace('-', ""));
        }
    }
}

#[test]
fn empty_form_and_answer() {
    assert_eq!(decode_form(b""), Ok(Vec::new()));
    assert_eq!(decode_response(b"\r\n"), Ok(Vec::new()));
    assert_eq!(encode_form::<&str, &str>(&[]), Ok(String::new()));
}
