//! EMV 3-D Secure 2 on the protocol type (reference `gmo-pg.md` §4c): the EntryTran/ExecTran
//! parameters that ask for it, the shop's name shown on the challenge page (`TdTenantName`), the
//! SecureTran2 call that finishes it, and the EMV outcome (`transStatus`) kessai records.
//!
//! Confirmed: TdFlag=2, Tds2Type 1/2/3, RetUrl + CallbackType 1 (POST) / 3 (GET), ACS=2 +
//! RedirectUrl, the browser coming back with `AccessID`, SecureTran2 with AccessID/AccessPass,
//! E01080101 for a "3D必須" shop without TdFlag, E21030201/E21030202, TdTenantName as EUC-JP
//! bytes in Base64 (≤ 25 bytes before encoding).
//! Unsure [U]: how GMO reports the EMV outcome. The reference says "a `Tds2TransResult`-like
//! field on SecureTran2/SearchTrade"; kessai reads `Tds2TransResult` (and `Tds2Eci`) when the
//! answer has them and records "not reported" otherwise. The sandbox sends them.

use base64::Engine;

pub const SECURE_TRAN2: &str = "/payment/SecureTran2.idPass";

/// The shop is contracted as 3D必須 and the EntryTran did not ask for 3-D Secure.
pub const TDS_REQUIRED_BY_SHOP: &str = "E01080101";
/// The card (its issuer) does not take part in 3-D Secure 2 (Tds2Type=2).
pub const CARD_NOT_ENROLLED: &str = "E21030201";
/// 3-D Secure 2 is required for this card/shop and was not done.
pub const TDS2_REQUIRED: &str = "E21030202";
/// The 3-D Secure 2 authentication failed (wrong code, rejected, …).
pub const TDS2_FAILED: &str = "E21030007";
/// The 3-D Secure 2 authentication could not be started.
pub const TDS2_INIT_FAILED: &str = "E21030001";
/// TdTenantName longer than 25 bytes in EUC-JP, or not Base64 of EUC-JP. [U] The reference does
/// not name the code; E01800010 is kessai's and the sandbox's convention (an E01 input error).
pub const TENANT_NAME_INVALID: &str = "E01800010";

/// The longest `TdTenantName`, in EUC-JP bytes before Base64.
pub const TENANT_NAME_MAX_BYTES: usize = 25;

/// The shop's 3-D Secure setting (`THREE_D_SECURE` in the edge's config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreeDSecurePolicy {
    /// Every card payment runs 3-D Secure 2; a card outside it is refused (Tds2Type=2). The
    /// guideline 6.0 default ("原則として決済の都度").
    Required,
    /// 3-D Secure 2 when the card takes part in it, a plain authorisation otherwise (Tds2Type=3).
    IfAvailable,
    /// No 3-D Secure (TdFlag=0). A shop contracted as 3D必須 gets E01080101 from GMO.
    Off,
}

impl ThreeDSecurePolicy {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "required" => Some(Self::Required),
            "if_available" => Some(Self::IfAvailable),
            "off" => Some(Self::Off),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::IfAvailable => "if_available",
            Self::Off => "off",
        }
    }

    /// `TdFlag` and `Tds2Type` of the EntryTran.
    pub fn entry_flags(self) -> (&'static str, Option<Tds2Type>) {
        match self {
            Self::Required => ("2", Some(Tds2Type::Refuse)),
            Self::IfAvailable => ("2", Some(Tds2Type::PlainAuthorization)),
            Self::Off => ("0", None),
        }
    }
}

/// What GMO does when the card does not take part in 3-D Secure 2 (EntryTran `Tds2Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tds2Type {
    /// `1` (GMO's default): fall back to 3-D Secure 1, obsolete; kessai never sends it.
    FallBackTo3ds1,
    /// `2`: refuse with E21030201.
    Refuse,
    /// `3`: authorise without 3-D Secure.
    PlainAuthorization,
}

impl Tds2Type {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FallBackTo3ds1 => "1",
            Self::Refuse => "2",
            Self::PlainAuthorization => "3",
        }
    }

    /// An EntryTran value; empty means GMO's default `1`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "1" => Some(Self::FallBackTo3ds1),
            "2" => Some(Self::Refuse),
            "3" => Some(Self::PlainAuthorization),
            _ => None,
        }
    }
}

/// How the 3-D Secure server sends the browser back to `RetUrl` (ExecTran `CallbackType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackType {
    /// `1` (default): an auto-submitted POST form.
    Post,
    /// `2`: direct (Tds2Auth/Tds2Result); kessai does not use it.
    Direct,
    /// `3`: a GET redirect with the fields in the query.
    Get,
}

impl CallbackType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "1",
            Self::Direct => "2",
            Self::Get => "3",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "" | "1" => Some(Self::Post),
            "2" => Some(Self::Direct),
            "3" => Some(Self::Get),
            _ => None,
        }
    }
}

/// Why a shop name cannot be a `TdTenantName`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantNameError {
    /// A character EUC-JP cannot encode.
    NotEucJp,
    /// More than [`TENANT_NAME_MAX_BYTES`] bytes in EUC-JP (the count is given).
    TooLong(usize),
    /// Empty.
    Empty,
}

/// The shop name as GMO takes it: EUC-JP bytes (≤ 25), Base64.
pub fn encode_tenant_name(name: &str) -> Result<String, TenantNameError> {
    if name.is_empty() {
        return Err(TenantNameError::Empty);
    }
    let (bytes, _, unmappable) = encoding_rs::EUC_JP.encode(name);
    if unmappable {
        return Err(TenantNameError::NotEucJp);
    }
    if bytes.len() > TENANT_NAME_MAX_BYTES {
        return Err(TenantNameError::TooLong(bytes.len()));
    }
    Ok(base64::engine::general_purpose::STANDARD.encode(&bytes))
}

/// The shop name of a `TdTenantName` (the sandbox shows it on the challenge page), or why GMO
/// would refuse it.
pub fn decode_tenant_name(b64: &str) -> Result<String, TenantNameError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| TenantNameError::NotEucJp)?;
    if bytes.is_empty() {
        return Err(TenantNameError::Empty);
    }
    if bytes.len() > TENANT_NAME_MAX_BYTES {
        return Err(TenantNameError::TooLong(bytes.len()));
    }
    let (text, had_errors) = encoding_rs::EUC_JP.decode_without_bom_handling(&bytes);
    if had_errors {
        return Err(TenantNameError::NotEucJp);
    }
    Ok(text.into_owned())
}

/// The EMV 3-D Secure outcome (`transStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransStatus {
    /// Authenticated (frictionless or after a challenge).
    Y,
    /// Attempted: the issuer does not authenticate but the attempt counts (liability shift kept).
    A,
    /// Not authenticated (e.g. wrong challenge code).
    N,
    /// Authentication unavailable (a technical problem at the issuer).
    U,
    /// Rejected by the issuer: do not authorise.
    R,
    /// A challenge is required (an intermediate status, never final).
    C,
}

impl TransStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Y" => Some(Self::Y),
            "A" => Some(Self::A),
            "N" => Some(Self::N),
            "U" => Some(Self::U),
            "R" => Some(Self::R),
            "C" => Some(Self::C),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Y => "Y",
            Self::A => "A",
            Self::N => "N",
            Self::U => "U",
            Self::R => "R",
            Self::C => "C",
        }
    }

    /// Whether the payment may be authorised after this outcome.
    pub fn allows_authorization(self) -> bool {
        match self {
            Self::Y | Self::A => true,
            Self::N | Self::U | Self::R | Self::C => false,
        }
    }

    /// The console's label.
    pub fn label_ja(self) -> &'static str {
        match self {
            Self::Y => "認証成功",
            Self::A => "認証試行",
            Self::N => "認証失敗",
            Self::U => "認証不可",
            Self::R => "認証拒否",
            Self::C => "チャレンジ要求",
        }
    }
}

/// Risk data for the issuer's decision (frictionless or challenge), as the merchant passed it on
/// payment creation. Field names from the reference's ExecTran list (`Tds2Email`,
/// `Tds2BillAddr*`, `Tds2ShipAddr*`, `Tds2ChAccDate`); [U] their exact formats at GMO: kessai
/// sends EMV's (country ISO 3166-1 numeric `392`, dates `YYYYMMDD`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskData {
    pub email: Option<String>,
    pub billing: Option<RiskAddress>,
    pub shipping: Option<RiskAddress>,
    /// When the shopper's account at the shop was opened, `YYYYMMDD` (JST).
    pub account_created: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RiskAddress {
    pub postal_code: String,
    /// Prefecture as its JIS X 0401 code (`13` Tokyo), EMV's state.
    pub state: String,
    pub city: String,
    pub line1: String,
    pub line2: Option<String>,
    pub line3: Option<String>,
}

/// Japan, ISO 3166-1 numeric.
pub const COUNTRY_JAPAN: &str = "392";

impl RiskData {
    /// The ExecTran parameters (none for what was not given).
    pub fn params(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        let mut put = |k: &str, val: &str| {
            if !val.is_empty() {
                v.push((k.to_string(), val.to_string()));
            }
        };
        if let Some(e) = &self.email {
            put("Tds2Email", e);
        }
        for (prefix, addr) in [
            ("Tds2BillAddr", &self.billing),
            ("Tds2ShipAddr", &self.shipping),
        ] {
            if let Some(a) = addr {
                put(&format!("{prefix}PostCode"), &a.postal_code);
                put(&format!("{prefix}State"), &a.state);
                put(&format!("{prefix}City"), &a.city);
                put(&format!("{prefix}Line1"), &a.line1);
                put(&format!("{prefix}Line2"), a.line2.as_deref().unwrap_or(""));
                put(&format!("{prefix}Line3"), a.line3.as_deref().unwrap_or(""));
                put(&format!("{prefix}Country"), COUNTRY_JAPAN);
            }
        }
        if let Some(d) = &self.account_created {
            put("Tds2ChAccDate", d);
        }
        v
    }
}

/// SecureTran2: finishes the authorisation once the browser came back to `RetUrl`.
pub fn secure_tran2(access: &super::api::Access) -> Vec<(String, String)> {
    vec![
        ("AccessID".to_string(), access.access_id.clone()),
        ("AccessPass".to_string(), access.access_pass.clone()),
    ]
}

/// What an answer says of the 3-D Secure outcome. [U] `Tds2TransResult` / `Tds2Eci` are the
/// names kessai and the sandbox use; an answer without them records `status: None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub status: Option<TransStatus>,
    pub eci: Option<String>,
}

pub fn read_outcome(params: &[(String, String)]) -> Outcome {
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    Outcome {
        status: get("Tds2TransResult").and_then(TransStatus::parse),
        eci: get("Tds2Eci")
            .filter(|e| e.len() <= 2 && e.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_string),
    }
}

/// Adds the 3-D Secure fields of the shop's policy to an EntryTran ([`super::api::entry_tran`]).
/// `tenant_name` is the encoded [`encode_tenant_name`]; GMO shows its own default without it.
pub fn with_entry_flags(
    mut params: Vec<(String, String)>,
    policy: ThreeDSecurePolicy,
    tenant_name: Option<&str>,
) -> Vec<(String, String)> {
    let (td_flag, tds2_type) = policy.entry_flags();
    params.push(("TdFlag".to_string(), td_flag.to_string()));
    if let Some(t) = tds2_type {
        params.push(("Tds2Type".to_string(), t.as_str().to_string()));
        if let Some(name) = tenant_name {
            params.push(("TdTenantName".to_string(), name.to_string()));
        }
    }
    params
}

/// Adds what a 3-D Secure ExecTran carries to [`super::api::exec_tran_token`]: where the browser
/// comes back (`RetUrl`, by POST), and the risk data.
pub fn with_exec_fields(
    mut params: Vec<(String, String)>,
    ret_url: &str,
    risk: &RiskData,
) -> Vec<(String, String)> {
    params.push(("RetUrl".to_string(), ret_url.to_string()));
    params.push((
        "CallbackType".to_string(),
        CallbackType::Post.as_str().to_string(),
    ));
    params.extend(risk.params());
    params
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tenant_name_is_euc_jp_base64_within_25_bytes() {
        // 「決済ショップ」: 6 characters × 2 bytes in EUC-JP.
        let b64 = encode_tenant_name("決済ショップ").expect("encodes");
        assert_eq!(decode_tenant_name(&b64).as_deref(), Ok("決済ショップ"));
        let raw = base64::engine::general_purpose::STANDARD
            .decode(&b64)
            .expect("base64");
        assert_eq!(raw.len(), 12);
        // 13 double-byte characters = 26 bytes: one too many.
        assert_eq!(
            encode_tenant_name("あいうえおかきくけこさしす"),
            Err(TenantNameError::TooLong(26))
        );
        assert_eq!(
            encode_tenant_name("ABCDEFGHIJKLMNOPQRSTUVWXY").map(|s| s.len()),
            Ok(36)
        );
        assert_eq!(encode_tenant_name(""), Err(TenantNameError::Empty));
        assert_eq!(encode_tenant_name("🙂"), Err(TenantNameError::NotEucJp));
        assert_eq!(
            decode_tenant_name("not base64!"),
            Err(TenantNameError::NotEucJp)
        );
    }

    #[test]
    fn policy_decides_the_entry_flags() {
        assert_eq!(
            ThreeDSecurePolicy::Required.entry_flags(),
            ("2", Some(Tds2Type::Refuse))
        );
        assert_eq!(
            ThreeDSecurePolicy::IfAvailable.entry_flags(),
            ("2", Some(Tds2Type::PlainAuthorization))
        );
        assert_eq!(ThreeDSecurePolicy::Off.entry_flags(), ("0", None));
        for p in [
            ThreeDSecurePolicy::Required,
            ThreeDSecurePolicy::IfAvailable,
            ThreeDSecurePolicy::Off,
        ] {
            assert_eq!(ThreeDSecurePolicy::parse(p.as_str()), Some(p));
        }
        assert_eq!(ThreeDSecurePolicy::parse("yes"), None);
    }

    #[test]
    fn only_y_and_a_allow_authorization() {
        let all = ["Y", "A", "N", "U", "R", "C"].map(|s| TransStatus::parse(s).expect("status"));
        let allowed: Vec<_> = all
            .iter()
            .filter(|s| s.allows_authorization())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(allowed, ["Y", "A"]);
        assert_eq!(TransStatus::parse("y"), None);
        assert_eq!(Tds2Type::parse(""), Some(Tds2Type::FallBackTo3ds1));
        assert_eq!(Tds2Type::parse("4"), None);
        assert_eq!(CallbackType::parse("3"), Some(CallbackType::Get));
        assert_eq!(CallbackType::parse("4"), None);
    }

    #[test]
    fn risk_data_becomes_exec_tran_fields() {
        let risk = RiskData {
            email: Some("taro@example.jp".into()),
            billing: Some(RiskAddress {
                postal_code: "1000001".into(),
                state: "13".into(),
                city: "千代田区".into(),
                line1: "千代田1-1".into(),
                line2: None,
                line3: None,
            }),
            shipping: None,
            account_created: Some("20240401".into()),
        };
        let keys: Vec<_> = risk.params().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "Tds2Email",
                "Tds2BillAddrPostCode",
                "Tds2BillAddrState",
                "Tds2BillAddrCity",
                "Tds2BillAddrLine1",
                "Tds2BillAddrCountry",
                "Tds2ChAccDate"
            ]
        );
        assert!(RiskData::default().params().is_empty());
    }

    #[test]
    fn outcome_is_read_when_reported() {
        let p = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let o = read_outcome(&p(&[("Tds2TransResult", "A"), ("Tds2Eci", "06")]));
        assert_eq!(
            (o.status, o.eci.as_deref()),
            (Some(TransStatus::A), Some("06"))
        );
        let o = read_outcome(&p(&[("Tds2TransResult", "?"), ("Tds2Eci", "x")]));
        assert_eq!(o, Outcome::default());
        assert_eq!(read_outcome(&p(&[("TranID", "1")])), Outcome::default());
    }

    proptest! {
        #[test]
        fn encoded_names_round_trip_and_respect_the_limit(name in "[a-zA-Z0-9あ-んア-ン決済店舗東京大阪商品 ]{0,20}") {
            match encode_tenant_name(&name) {
                Ok(b64) => {
                    prop_assert_eq!(decode_tenant_name(&b64), Ok(name.clone()));
                    let (bytes, _, _) = encoding_rs::EUC_JP.encode(&name);
                    prop_assert!(bytes.len() <= TENANT_NAME_MAX_BYTES);
                }
                Err(TenantNameError::TooLong(n)) => prop_assert!(n > TENANT_NAME_MAX_BYTES),
                Err(TenantNameError::Empty) => prop_assert!(name.is_empty()),
                Err(TenantNameError::NotEucJp) => prop_assert!(false, "all inputs are EUC-JP"),
            }
        }
    }
}
