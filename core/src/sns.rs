//! Amazon SNS message envelopes: how Amazon Pay delivers IPNs (instant payment notifications).
//!
//! Pure parts of the verification AWS specifies: reading the envelope, the exact string that was
//! signed, which certificate URLs may be fetched, and the Amazon Pay message inside. The RSA
//! verification itself (PKCS#1 v1.5, SHA-1 for `SignatureVersion` 1, SHA-256 for 2) happens in
//! WebCrypto on the edge; the sandbox signs the same string natively.
//!
//! Facts: `shared/reference/amazon-pay.md` §4 (envelope keys, key order, certificate URL rule,
//! Amazon Pay V2 message fields).

use serde_json::{Map, Value};

/// The envelope's `Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Notification => "Notification",
            MessageType::SubscriptionConfirmation => "SubscriptionConfirmation",
            MessageType::UnsubscribeConfirmation => "UnsubscribeConfirmation",
        }
    }

    pub fn parse(s: &str) -> Option<MessageType> {
        [
            MessageType::Notification,
            MessageType::SubscriptionConfirmation,
            MessageType::UnsubscribeConfirmation,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// `SignatureVersion`: which hash the RSA PKCS#1 v1.5 signature uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureVersion {
    /// `1`: SHA1withRSA.
    V1,
    /// `2`: SHA256withRSA.
    V2,
}

impl SignatureVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureVersion::V1 => "1",
            SignatureVersion::V2 => "2",
        }
    }

    /// The WebCrypto hash name for `RSASSA-PKCS1-v1_5`.
    pub fn webcrypto_hash(self) -> &'static str {
        match self {
            SignatureVersion::V1 => "SHA-1",
            SignatureVersion::V2 => "SHA-256",
        }
    }
}

/// A parsed SNS envelope. `message` is the `Message` value as signed (the JSON string's
/// unescaped text, not re-serialised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub kind: MessageType,
    pub message_id: String,
    pub topic_arn: String,
    pub subject: Option<String>,
    pub message: String,
    pub timestamp: String,
    pub signature_version: SignatureVersion,
    /// Base64 as received.
    pub signature: String,
    pub signing_cert_url: String,
    pub subscribe_url: Option<String>,
    pub token: Option<String>,
    pub unsubscribe_url: Option<String>,
}

/// Why a body is not an SNS envelope kessai can verify. Logged and answered as 400, never with
/// the body itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvelopeError {
    NotJson,
    Missing(&'static str),
    NotAString(&'static str),
    UnknownType,
    UnknownSignatureVersion,
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EnvelopeError::NotJson => write!(f, "body is not a JSON object"),
            EnvelopeError::Missing(k) => write!(f, "{k} is missing"),
            EnvelopeError::NotAString(k) => write!(f, "{k} is not a string"),
            EnvelopeError::UnknownType => write!(f, "Type is not an SNS message type"),
            EnvelopeError::UnknownSignatureVersion => write!(f, "SignatureVersion is not 1 or 2"),
        }
    }
}

fn text(obj: &Map<String, Value>, keys: &[&'static str]) -> Result<Option<String>, EnvelopeError> {
    for key in keys {
        match obj.get(*key) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => return Ok(Some(s.clone())),
            Some(_) => return Err(EnvelopeError::NotAString(keys[0])),
        }
    }
    Ok(None)
}

fn required(obj: &Map<String, Value>, keys: &[&'static str]) -> Result<String, EnvelopeError> {
    text(obj, keys)?.ok_or(EnvelopeError::Missing(keys[0]))
}

/// Reads an SNS envelope (the HTTP body SNS POSTs, `text/plain` JSON). Lambda-style spellings
/// `SigningCertUrl` / `SubscribeUrl` / `UnsubscribeUrl` are accepted as the same keys.
pub fn parse_envelope(body: &str) -> Result<Envelope, EnvelopeError> {
    let value: Value = serde_json::from_str(body).map_err(|_| EnvelopeError::NotJson)?;
    let obj = value.as_object().ok_or(EnvelopeError::NotJson)?;
    let kind = MessageType::parse(&required(obj, &["Type"])?).ok_or(EnvelopeError::UnknownType)?;
    let signature_version = match required(obj, &["SignatureVersion"])?.as_str() {
        "1" => SignatureVersion::V1,
        "2" => SignatureVersion::V2,
        _ => return Err(EnvelopeError::UnknownSignatureVersion),
    };
    let confirmation = kind != MessageType::Notification;
    let subscribe_url = text(obj, &["SubscribeURL", "SubscribeUrl"])?;
    let token = text(obj, &["Token"])?;
    if confirmation && subscribe_url.is_none() {
        return Err(EnvelopeError::Missing("SubscribeURL"));
    }
    if confirmation && token.is_none() {
        return Err(EnvelopeError::Missing("Token"));
    }
    Ok(Envelope {
        kind,
        message_id: required(obj, &["MessageId"])?,
        topic_arn: required(obj, &["TopicArn"])?,
        subject: text(obj, &["Subject"])?,
        message: required(obj, &["Message"])?,
        timestamp: required(obj, &["Timestamp"])?,
        signature_version,
        signature: required(obj, &["Signature"])?,
        signing_cert_url: required(obj, &["SigningCertURL", "SigningCertUrl"])?,
        subscribe_url,
        token,
        unsubscribe_url: text(obj, &["UnsubscribeURL", "UnsubscribeUrl"])?,
    })
}

impl Envelope {
    /// The string SNS signed: `key\nvalue\n` for each signed key in byte order of the key names.
    /// A Notification signs Message, MessageId, Subject (only when present), Timestamp,
    /// TopicArn, Type; the confirmations sign Message, MessageId, SubscribeURL, Timestamp,
    /// Token, TopicArn, Type.
    pub fn string_to_sign(&self) -> String {
        let mut fields: Vec<(&str, &str)> =
            vec![("Message", &self.message), ("MessageId", &self.message_id)];
        match self.kind {
            MessageType::Notification => {
                if let Some(s) = &self.subject {
                    fields.push(("Subject", s));
                }
            }
            MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => {
                fields.push(("SubscribeURL", self.subscribe_url.as_deref().unwrap_or("")));
            }
        }
        fields.push(("Timestamp", &self.timestamp));
        match self.kind {
            MessageType::Notification => {}
            MessageType::SubscriptionConfirmation | MessageType::UnsubscribeConfirmation => {
                fields.push(("Token", self.token.as_deref().unwrap_or("")));
            }
        }
        fields.push(("TopicArn", &self.topic_arn));
        fields.push(("Type", self.kind.as_str()));
        fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect()
    }

    /// The envelope as SNS sends it (the sandbox's sender; tests).
    pub fn to_json(&self) -> String {
        let mut obj = Map::new();
        let mut put = |k: &str, v: &str| {
            obj.insert(k.to_string(), Value::String(v.to_string()));
        };
        put("Type", self.kind.as_str());
        put("MessageId", &self.message_id);
        if let Some(t) = &self.token {
            put("Token", t);
        }
        put("TopicArn", &self.topic_arn);
        if let Some(s) = &self.subject {
            put("Subject", s);
        }
        put("Message", &self.message);
        if let Some(u) = &self.subscribe_url {
            put("SubscribeURL", u);
        }
        put("Timestamp", &self.timestamp);
        put("SignatureVersion", self.signature_version.as_str());
        put("Signature", &self.signature);
        put("SigningCertURL", &self.signing_cert_url);
        if let Some(u) = &self.unsubscribe_url {
            put("UnsubscribeURL", u);
        }
        Value::Object(obj).to_string()
    }
}

/// Why a certificate (or SubscribeURL) URL may not be fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertUrlError {
    NotHttps,
    NotPem,
    HostNotSns,
    Malformed,
    /// The certificate's SNS region is not the TopicArn's (`arn:aws:sns:<region>:…`).
    RegionMismatch,
}

impl std::fmt::Display for CertUrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertUrlError::NotHttps => write!(f, "certificate URL is not https"),
            CertUrlError::NotPem => write!(f, "certificate URL does not end in .pem"),
            CertUrlError::HostNotSns => write!(f, "certificate host is not an SNS host"),
            CertUrlError::Malformed => write!(f, "certificate URL is malformed"),
            CertUrlError::RegionMismatch => {
                write!(f, "certificate region is not the TopicArn's region")
            }
        }
    }
}

/// Whether `host` is an SNS endpoint: `^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$`.
pub fn is_sns_host(host: &str) -> bool {
    let rest = host
        .strip_suffix(".amazonaws.com.cn")
        .or_else(|| host.strip_suffix(".amazonaws.com"));
    let Some(region) = rest.and_then(|r| r.strip_prefix("sns.")) else {
        return false;
    };
    region.len() >= 3
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Splits an absolute URL into (scheme, host[:port], path). Refuses user info, queries,
/// fragments, control characters and backslashes: none of them appear in an SNS URL.
fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    if url.len() > 2048
        || url
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let slash = rest.find('/')?;
    let (host, path) = rest.split_at(slash);
    if host.is_empty() || host.contains('@') || path.contains(['?', '#']) {
        return None;
    }
    Some((scheme, host, path))
}

/// The live rule for `SigningCertURL`: `https`, an SNS host, a path ending in `.pem`.
pub fn check_live_cert_url(url: &str) -> Result<(), CertUrlError> {
    let (scheme, host, path) = split_url(url)
        .filter(|(_, host, _)| !host.contains(':'))
        .ok_or(CertUrlError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(CertUrlError::NotHttps);
    }
    if !is_sns_host(&host.to_ascii_lowercase()) {
        return Err(CertUrlError::HostNotSns);
    }
    if !path.ends_with(".pem") {
        return Err(CertUrlError::NotPem);
    }
    Ok(())
}

/// The live rule tying the certificate to the topic: SNS signs a topic's messages with its own
/// region's certificate, so `sns.<region>.amazonaws.com[.cn]` must name the region of the
/// TopicArn (`arn:aws[-cn]:sns:<region>:<account>:<name>`). Call after [`check_live_cert_url`].
pub fn check_topic_region(topic_arn: &str, cert_url: &str) -> Result<(), CertUrlError> {
    let (_, host, _) = split_url(cert_url).ok_or(CertUrlError::Malformed)?;
    let host = host.to_ascii_lowercase();
    let cert_region = host
        .strip_suffix(".amazonaws.com.cn")
        .or_else(|| host.strip_suffix(".amazonaws.com"))
        .and_then(|r| r.strip_prefix("sns."))
        .ok_or(CertUrlError::HostNotSns)?;
    let mut parts = topic_arn.split(':');
    let (Some("arn"), Some(_partition), Some("sns"), Some(region)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CertUrlError::RegionMismatch);
    };
    if region.eq_ignore_ascii_case(cert_region) {
        Ok(())
    } else {
        Err(CertUrlError::RegionMismatch)
    }
}

/// The sandbox rule: the URL lies directly under the one configured certificate base (exact
/// prefix, ending in `/`) and ends in `.pem`. Only for アクセスモード テスト; the caller checks
/// that.
pub fn check_sandbox_cert_url(url: &str, base: &str) -> Result<(), CertUrlError> {
    let (_, _, path) = split_url(url).ok_or(CertUrlError::Malformed)?;
    let Some(name) = url.strip_prefix(base).filter(|_| base.ends_with('/')) else {
        return Err(CertUrlError::HostNotSns);
    };
    if name.is_empty() || name.contains('/') || name.contains("..") {
        return Err(CertUrlError::Malformed);
    }
    if !path.ends_with(".pem") {
        return Err(CertUrlError::NotPem);
    }
    Ok(())
}

/// The live rule for `SubscribeURL`: `https` on an SNS host.
pub fn check_live_subscribe_url(url: &str) -> Result<(), CertUrlError> {
    let (scheme, host, _) = split_url(url)
        .filter(|(_, host, _)| !host.contains(':'))
        .ok_or(CertUrlError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(CertUrlError::NotHttps);
    }
    if !is_sns_host(&host.to_ascii_lowercase()) {
        return Err(CertUrlError::HostNotSns);
    }
    Ok(())
}

/// `2012-05-02T00:54:06.655Z`: the `Timestamp` format SNS uses.
pub fn iso_timestamp(t: crate::jst::UnixMillis) -> String {
    let ms = t.0.rem_euclid(1000);
    let secs = t.0.div_euclid(1000);
    let (y, m, d) = crate::jst::civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        s / 3600,
        (s / 60) % 60,
        s % 60
    )
}

// ---------------------------------------------------------------------------------------------
// Amazon Pay's message (NotificationVersion V2)

/// `ObjectType`: which object changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpnObjectType {
    ChargePermission,
    Charge,
    Refund,
    Chargeback,
}

impl IpnObjectType {
    pub fn as_str(self) -> &'static str {
        match self {
            IpnObjectType::ChargePermission => "CHARGE_PERMISSION",
            IpnObjectType::Charge => "CHARGE",
            IpnObjectType::Refund => "REFUND",
            IpnObjectType::Chargeback => "CHARGEBACK",
        }
    }

    pub fn parse(s: &str) -> Option<IpnObjectType> {
        [
            IpnObjectType::ChargePermission,
            IpnObjectType::Charge,
            IpnObjectType::Refund,
            IpnObjectType::Chargeback,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }
}

/// The Amazon Pay message inside a Notification. It says only that something changed: the
/// state is read from Amazon, never from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpnMessage {
    pub merchant_id: String,
    pub object_type: IpnObjectType,
    pub object_id: String,
    pub charge_permission_id: String,
    /// `STATE_CHANGE` | `ATTRIBUTE_CHANGE` (kept as sent).
    pub notification_type: String,
    /// For tracking only; the dedupe key is the SNS `MessageId` together with this.
    pub notification_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpnMessageError {
    NotJson,
    Missing(&'static str),
    UnknownObjectType,
    /// `NotificationVersion` other than `V2` (CV1 / MWS messages).
    NotV2,
}

impl std::fmt::Display for IpnMessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IpnMessageError::NotJson => write!(f, "Message is not a JSON object"),
            IpnMessageError::Missing(k) => write!(f, "Message.{k} is missing"),
            IpnMessageError::UnknownObjectType => write!(f, "Message.ObjectType is unknown"),
            IpnMessageError::NotV2 => write!(f, "Message.NotificationVersion is not V2"),
        }
    }
}

/// Reads the Amazon Pay V2 message (the envelope's `Message`).
pub fn parse_ipn_message(message: &str) -> Result<IpnMessage, IpnMessageError> {
    let value: Value = serde_json::from_str(message).map_err(|_| IpnMessageError::NotJson)?;
    let obj = value.as_object().ok_or(IpnMessageError::NotJson)?;
    let field = |k: &'static str| {
        obj.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or(IpnMessageError::Missing(k))
    };
    if field("NotificationVersion")? != "V2" {
        return Err(IpnMessageError::NotV2);
    }
    Ok(IpnMessage {
        merchant_id: field("MerchantID")?,
        object_type: IpnObjectType::parse(&field("ObjectType")?)
            .ok_or(IpnMessageError::UnknownObjectType)?,
        object_id: field("ObjectId")?,
        charge_permission_id: field("ChargePermissionId")?,
        notification_type: field("NotificationType")?,
        notification_id: field("NotificationId")?,
    })
}

impl IpnMessage {
    /// The message as Amazon Pay sends it (the sandbox; tests).
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "MerchantID": self.merchant_id,
            "ObjectType": self.object_type.as_str(),
            "ObjectId": self.object_id,
            "ChargePermissionId": self.charge_permission_id,
            "NotificationType": self.notification_type,
            "NotificationId": self.notification_id,
            "NotificationVersion": "V2",
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn notification() -> Envelope {
        Envelope {
            kind: MessageType::Notification,
            message_id: "95df01b4-ee98-5cb9-9903-4c221d41eb5e".into(),
            topic_arn: "arn:aws:sns:us-east-1:123456789012:MyTopic".into(),
            subject: Some("My First Message".into()),
            message: "Hello world!".into(),
            timestamp: "2012-05-02T00:54:06.655Z".into(),
            signature_version: SignatureVersion::V1,
            signature: "c2ln".into(),
            signing_cert_url: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem".into(),
            subscribe_url: None,
            token: None,
            unsubscribe_url: Some("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe".into()),
        }
    }

    #[test]
    fn notification_string_to_sign_has_aws_key_order() {
        let env = notification();
        assert_eq!(
            env.string_to_sign(),
            "Message\nHello world!\nMessageId\n95df01b4-ee98-5cb9-9903-4c221d41eb5e\n\
             Subject\nMy First Message\nTimestamp\n2012-05-02T00:54:06.655Z\n\
             TopicArn\narn:aws:sns:us-east-1:123456789012:MyTopic\nType\nNotification\n"
        );
        let without_subject = Envelope {
            subject: None,
            ..env
        };
        assert!(!without_subject.string_to_sign().contains("Subject"));
    }

    #[test]
    fn confirmation_signs_subscribe_url_and_token() {
        let env = Envelope {
            kind: MessageType::SubscriptionConfirmation,
            subject: Some("ignored for confirmations".into()),
            subscribe_url: Some(
                "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t".into(),
            ),
            token: Some("t0k".into()),
            ..notification()
        };
        let s = env.string_to_sign();
        let keys: Vec<&str> = s.lines().step_by(2).collect();
        assert_eq!(
            keys,
            [
                "Message",
                "MessageId",
                "SubscribeURL",
                "Timestamp",
                "Token",
                "TopicArn",
                "Type"
            ]
        );
        assert!(s.ends_with("Type\nSubscriptionConfirmation\n"));
    }

    #[test]
    fn envelope_round_trips_and_message_is_unescaped() {
        let env = Envelope {
            message: "{\"MerchantID\":\"A1\",\"x\":\"\\u3042\\n\"}".into(),
            ..notification()
        };
        let back = parse_envelope(&env.to_json()).expect("parses");
        assert_eq!(back, env);
        assert_eq!(back.string_to_sign(), env.string_to_sign());
    }

    #[test]
    fn lambda_spellings_and_missing_fields() {
        let mut v: Value = serde_json::from_str(&notification().to_json()).expect("json");
        let url = v["SigningCertURL"].take();
        v.as_object_mut().expect("obj").remove("SigningCertURL");
        v["SigningCertUrl"] = url;
        assert!(parse_envelope(&v.to_string()).is_ok());
        v.as_object_mut().expect("obj").remove("SigningCertUrl");
        assert_eq!(
            parse_envelope(&v.to_string()),
            Err(EnvelopeError::Missing("SigningCertURL"))
        );
        assert_eq!(parse_envelope("[]"), Err(EnvelopeError::NotJson));
        let mut v3: Value = serde_json::from_str(&notification().to_json()).expect("json");
        v3["SignatureVersion"] = "3".into();
        assert_eq!(
            parse_envelope(&v3.to_string()),
            Err(EnvelopeError::UnknownSignatureVersion)
        );
        let mut conf: Value = serde_json::from_str(&notification().to_json()).expect("json");
        conf["Type"] = "SubscriptionConfirmation".into();
        assert_eq!(
            parse_envelope(&conf.to_string()),
            Err(EnvelopeError::Missing("SubscribeURL"))
        );
    }

    #[test]
    fn live_cert_url_rule() {
        let ok = "https://sns.ap-northeast-1.amazonaws.com/SimpleNotificationService-abc.pem";
        assert_eq!(check_live_cert_url(ok), Ok(()));
        assert_eq!(
            check_live_cert_url("https://sns.cn-north-1.amazonaws.com.cn/x.pem"),
            Ok(())
        );
        let cases = [
            (
                "http://sns.us-east-1.amazonaws.com/x.pem",
                CertUrlError::NotHttps,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/x.crt",
                CertUrlError::NotPem,
            ),
            (
                "https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
                CertUrlError::HostNotSns,
            ),
            (
                "https://evil.com/sns.us-east-1.amazonaws.com/x.pem",
                CertUrlError::HostNotSns,
            ),
            (
                "https://sns.ab.amazonaws.com/x.pem",
                CertUrlError::HostNotSns,
            ),
            (
                "https://s3.us-east-1.amazonaws.com/x.pem",
                CertUrlError::HostNotSns,
            ),
            (
                "https://sns.us_east.amazonaws.com/x.pem",
                CertUrlError::HostNotSns,
            ),
            (
                "https://user@sns.us-east-1.amazonaws.com/x.pem",
                CertUrlError::Malformed,
            ),
            (
                "https://sns.us-east-1.amazonaws.com:8443/x.pem",
                CertUrlError::Malformed,
            ),
            (
                "https://sns.us-east-1.amazonaws.com/x.pem?a=.pem",
                CertUrlError::Malformed,
            ),
            (
                "https://sns.us-east-1.amazonaws.com",
                CertUrlError::Malformed,
            ),
        ];
        for (url, want) in cases {
            assert_eq!(check_live_cert_url(url), Err(want), "{url}");
        }
    }

    #[test]
    fn sandbox_cert_url_rule() {
        let base = "http://127.0.0.1:8791/__sns/";
        assert_eq!(
            check_sandbox_cert_url("http://127.0.0.1:8791/__sns/signing.pem", base),
            Ok(())
        );
        assert_eq!(
            check_sandbox_cert_url("http://127.0.0.1:8792/__sns/signing.pem", base),
            Err(CertUrlError::HostNotSns)
        );
        assert_eq!(
            check_sandbox_cert_url("http://127.0.0.1:8791/__sns/a/../b.pem", base),
            Err(CertUrlError::Malformed)
        );
        assert_eq!(
            check_sandbox_cert_url("http://127.0.0.1:8791/__sns/signing.txt", base),
            Err(CertUrlError::NotPem)
        );
        assert_eq!(
            check_sandbox_cert_url(
                "http://127.0.0.1:8791/__sns/x.pem",
                "http://127.0.0.1:8791/__sns"
            ),
            Err(CertUrlError::HostNotSns)
        );
    }

    #[test]
    fn iso_timestamps() {
        assert_eq!(
            iso_timestamp(crate::jst::UnixMillis(1_335_920_046_655)),
            "2012-05-02T00:54:06.655Z"
        );
    }

    #[test]
    fn ipn_message_v2() {
        let m = IpnMessage {
            merchant_id: "A3KESSAISANDBOX".into(),
            object_type: IpnObjectType::Charge,
            object_id: "S03-0000000-0000000-C000001".into(),
            charge_permission_id: "S03-0000000-0000000".into(),
            notification_type: "STATE_CHANGE".into(),
            notification_id: "9f1c".into(),
        };
        assert_eq!(parse_ipn_message(&m.to_json()), Ok(m.clone()));
        let mut v: Value = serde_json::from_str(&m.to_json()).expect("json");
        v["NotificationVersion"] = "V1".into();
        assert_eq!(
            parse_ipn_message(&v.to_string()),
            Err(IpnMessageError::NotV2)
        );
        v["NotificationVersion"] = "V2".into();
        v["ObjectType"] = "ORDER".into();
        assert_eq!(
            parse_ipn_message(&v.to_string()),
            Err(IpnMessageError::UnknownObjectType)
        );
        v.as_object_mut().expect("obj").remove("MerchantID");
        assert_eq!(
            parse_ipn_message(&v.to_string()),
            Err(IpnMessageError::Missing("MerchantID"))
        );
    }

    proptest! {
        /// Any change to a signed field changes the string to sign (a tampered message can
        /// never verify with the original signature).
        #[test]
        fn tampering_changes_the_string_to_sign(field in 0usize..5, extra in "[ -~]{1,8}") {
            let env = notification();
            let mut t = env.clone();
            match field {
                0 => t.message.push_str(&extra),
                1 => t.message_id.push_str(&extra),
                2 => t.timestamp.push_str(&extra),
                3 => t.topic_arn.push_str(&extra),
                _ => t.subject = Some(format!("{}{extra}", t.subject.clone().unwrap_or_default())),
            }
            prop_assert_ne!(t.string_to_sign(), env.string_to_sign());
        }

        #[test]
        fn envelopes_round_trip(message in "\\PC{0,80}", subject in proptest::option::of("[ -~]{0,20}")) {
            let env = Envelope { message, subject, ..notification() };
            let back = parse_envelope(&env.to_json()).expect("parses");
            prop_assert_eq!(back, env);
        }

        #[test]
        fn sns_host_pattern(region in "[a-zA-Z0-9-]{3,20}", cn in any::<bool>()) {
            let host = format!("sns.{region}.amazonaws.com{}", if cn { ".cn" } else { "" });
            prop_assert!(is_sns_host(&host));
            let host_is_sns = is_sns_host(&format!("x{host}"));
            prop_assert!(!host_is_sns);
        }
    }

    #[test]
    fn certificate_region_is_the_topics() {
        let cert = "https://sns.ap-northeast-1.amazonaws.com/SimpleNotificationService-abc.pem";
        let topic = "arn:aws:sns:ap-northeast-1:291180941288:A01234567890";
        assert_eq!(check_topic_region(topic, cert), Ok(()));
        assert_eq!(
            check_topic_region("arn:aws:sns:us-east-1:291180941288:A0", cert),
            Err(CertUrlError::RegionMismatch)
        );
        assert_eq!(
            check_topic_region("not-an-arn", cert),
            Err(CertUrlError::RegionMismatch)
        );
        assert_eq!(
            check_topic_region(topic, "https://example.com/x.pem"),
            Err(CertUrlError::HostNotSns)
        );
        let cn = "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem";
        assert_eq!(
            check_topic_region("arn:aws-cn:sns:cn-north-1:1:T", cn),
            Ok(())
        );
    }
}
