//! The merchant's risk data for EMV 3-D Secure 2 (`POST /v1/payments` `risk`), read into
//! [`RiskData`]. The issuer's ACS uses it to decide between frictionless and challenge, so a shop
//! that sends it gets fewer challenges; all of it is optional.
//!
//! ```json
//! "risk": {
//!   "email": "taro@example.jp",
//!   "billing_address":  {"postal_code": "100-0001", "prefecture": "東京都", "city": "千代田区",
//!                        "line1": "千代田1-1", "line2": "kessaiビル3F"},
//!   "shipping_address": {…same fields…},
//!   "account_created_on": "2024-04-01"
//! }
//! ```
//!
//! Limits are EMV 3DS 2.2's field lengths (email 254, city and lines 50, postal code 16); [U] GMO
//! may cut shorter. The prefecture is a name (東京都, 東京) or its JIS X 0401 code (`13`).

use super::tds2::{RiskAddress, RiskData};
use serde_json::{Map, Value, json};

/// A field of `risk` that cannot be used: `param` is its JSON path (`risk.billing_address.city`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskError {
    pub param: String,
    pub message_en: String,
    pub message_ja: String,
}

fn err(param: &str, en: &str, ja: &str) -> RiskError {
    RiskError {
        param: param.to_string(),
        message_en: en.to_string(),
        message_ja: ja.to_string(),
    }
}

/// JIS X 0401 order: index + 1 is the code.
const PREFECTURES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// `13`, `東京都` or `東京` → `13`.
pub fn prefecture_code(s: &str) -> Option<String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<usize>()
        && (1..=47).contains(&n)
        && s.len() <= 2
        && s.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(format!("{n:02}"));
    }
    let short = |p: &str| {
        p.strip_suffix('都')
            .or_else(|| p.strip_suffix('府'))
            .or_else(|| p.strip_suffix('県'))
            .unwrap_or(p)
            .to_string()
    };
    PREFECTURES
        .iter()
        .position(|p| *p == s || (s != "北" && short(p) == s))
        .map(|i| format!("{:02}", i + 1))
}

fn text(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
    max: usize,
) -> Result<Option<String>, RiskError> {
    let param = format!("{path}.{key}");
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                Ok(None)
            } else if s.chars().count() > max || s.chars().any(char::is_control) {
                Err(err(
                    &param,
                    &format!("{param} must be at most {max} characters"),
                    &format!("{param}は{max}文字以内で指定してください。"),
                ))
            } else {
                Ok(Some(s.to_string()))
            }
        }
        Some(_) => Err(err(
            &param,
            &format!("{param} must be a string"),
            &format!("{param}は文字列で指定してください。"),
        )),
    }
}

fn email(obj: &Map<String, Value>) -> Result<Option<String>, RiskError> {
    let e = text(obj, "email", "risk", 254)?;
    match e {
        Some(e) if is_email(&e) => Ok(Some(e)),
        Some(_) => Err(err(
            "risk.email",
            "risk.email is not an e-mail address",
            "メールアドレスの形式が正しくありません。",
        )),
        None => Ok(None),
    }
}

fn is_email(e: &str) -> bool {
    match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !e.contains(char::is_whitespace)
        }
        None => false,
    }
}

fn postal_code(s: &str) -> Option<String> {
    let digits: String = s.chars().filter(|c| *c != '-' && *c != '〒').collect();
    (digits.len() == 7 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(digits)
}

fn address(v: Option<&Value>, path: &str) -> Result<Option<RiskAddress>, RiskError> {
    let obj = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(err(
                path,
                &format!("{path} must be an object"),
                &format!("{path}はオブジェクトで指定してください。"),
            ));
        }
    };
    only(
        obj,
        path,
        &[
            "postal_code",
            "prefecture",
            "city",
            "line1",
            "line2",
            "line3",
        ],
    )?;
    let required = |key: &str, max: usize| -> Result<String, RiskError> {
        text(obj, key, path, max)?.ok_or_else(|| {
            err(
                &format!("{path}.{key}"),
                &format!("{path}.{key} is required"),
                &format!("{path}.{key}を指定してください。"),
            )
        })
    };
    let postal = required("postal_code", 16)?;
    let postal_code = postal_code(&postal).ok_or_else(|| {
        err(
            &format!("{path}.postal_code"),
            "postal_code must be 7 digits (123-4567)",
            "郵便番号は7桁（123-4567）で指定してください。",
        )
    })?;
    let pref = required("prefecture", 10)?;
    let state = prefecture_code(&pref).ok_or_else(|| {
        err(
            &format!("{path}.prefecture"),
            "prefecture must be a Japanese prefecture or its code 01-47",
            "都道府県名（または01〜47のコード）で指定してください。",
        )
    })?;
    Ok(Some(RiskAddress {
        postal_code,
        state,
        city: required("city", 50)?,
        line1: required("line1", 50)?,
        line2: text(obj, "line2", path, 50)?,
        line3: text(obj, "line3", path, 50)?,
    }))
}

fn only(obj: &Map<String, Value>, path: &str, keys: &[&str]) -> Result<(), RiskError> {
    match obj.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(k) => Err(err(
            &format!("{path}.{k}"),
            &format!("{path}.{k} is not a known field"),
            &format!("{path}.{k}は指定できない項目です。"),
        )),
        None => Ok(()),
    }
}

/// `2024-04-01` → `20240401`, a real calendar date from 1900 on.
fn account_date(s: &str) -> Option<String> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    // `parse` alone would take a sign (`+1`) as a digit.
    if ![y, m, d]
        .iter()
        .all(|p| p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (y >= 1900 && (1..=days).contains(&d)).then(|| format!("{y:04}{m:02}{d:02}"))
}

/// Reads `risk` of `POST /v1/payments` (absent or null → empty risk data).
pub fn parse(v: Option<&Value>) -> Result<RiskData, RiskError> {
    let obj = match v {
        None | Some(Value::Null) => return Ok(RiskData::default()),
        Some(Value::Object(o)) => o,
        Some(_) => {
            return Err(err(
                "risk",
                "risk must be an object",
                "riskはオブジェクトで指定してください。",
            ));
        }
    };
    only(
        obj,
        "risk",
        &[
            "email",
            "billing_address",
            "shipping_address",
            "account_created_on",
        ],
    )?;
    let account_created = match text(obj, "account_created_on", "risk", 10)? {
        Some(s) => Some(account_date(&s).ok_or_else(|| {
            err(
                "risk.account_created_on",
                "risk.account_created_on must be a date YYYY-MM-DD",
                "会員登録日はYYYY-MM-DDの日付で指定してください。",
            )
        })?),
        None => None,
    };
    Ok(RiskData {
        email: email(obj)?,
        billing: address(obj.get("billing_address"), "risk.billing_address")?,
        shipping: address(obj.get("shipping_address"), "risk.shipping_address")?,
        account_created,
    })
}

fn address_json(a: &RiskAddress) -> Value {
    json!({
        "postal_code": a.postal_code,
        "prefecture": a.state,
        "city": a.city,
        "line1": a.line1,
        "line2": a.line2,
        "line3": a.line3,
    })
}

/// The stored (and shown) form: [`parse`] reads it back to the same [`RiskData`].
pub fn to_json(r: &RiskData) -> Value {
    let date = r
        .account_created
        .as_ref()
        .filter(|d| d.len() == 8)
        .map(|d| format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]));
    json!({
        "email": r.email,
        "billing_address": r.billing.as_ref().map(address_json),
        "shipping_address": r.shipping.as_ref().map(address_json),
        "account_created_on": date,
    })
}

pub fn is_empty(r: &RiskData) -> bool {
    *r == RiskData::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full() -> Value {
        json!({
            "email": " taro@example.jp ",
            "billing_address": {"postal_code": "100-0001", "prefecture": "東京都",
                "city": "千代田区", "line1": "千代田1-1", "line2": "kessaiビル3F"},
            "shipping_address": {"postal_code": "〒5300001", "prefecture": "27",
                "city": "大阪市北区", "line1": "梅田1-1"},
            "account_created_on": "2024-02-29"
        })
    }

    #[test]
    fn reads_a_full_risk_object_into_exec_tran_fields() {
        let r = parse(Some(&full())).expect("valid");
        let p = r.params();
        let get = |k: &str| p.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Tds2Email"), Some("taro@example.jp"));
        assert_eq!(get("Tds2BillAddrPostCode"), Some("1000001"));
        assert_eq!(get("Tds2BillAddrState"), Some("13"));
        assert_eq!(get("Tds2BillAddrLine2"), Some("kessaiビル3F"));
        assert_eq!(get("Tds2ShipAddrState"), Some("27"));
        assert_eq!(get("Tds2ShipAddrPostCode"), Some("5300001"));
        assert_eq!(get("Tds2ShipAddrLine2"), None);
        assert_eq!(get("Tds2ShipAddrCountry"), Some("392"));
        assert_eq!(get("Tds2ChAccDate"), Some("20240229"));
    }

    #[test]
    fn absent_or_null_is_empty() {
        assert!(is_empty(&parse(None).expect("none")));
        assert!(is_empty(&parse(Some(&Value::Null)).expect("null")));
    }

    #[test]
    fn each_bad_field_is_named() {
        let cases = [
            (json!("x"), "risk"),
            (json!({"mail": "a@b.jp"}), "risk.mail"),
            (json!({"email": "no-at-sign"}), "risk.email"),
            (json!({"email": 5}), "risk.email"),
            (
                json!({"account_created_on": "2023-02-29"}),
                "risk.account_created_on",
            ),
            (
                json!({"account_created_on": "20240101"}),
                "risk.account_created_on",
            ),
            // Regression (#16, found by `parsers_round_trip::risk_account_date`): signs were
            // read as digits, `1900-+1-+1` became 1900-01-01.
            (
                json!({"account_created_on": "1900-+1-+1"}),
                "risk.account_created_on",
            ),
            (
                json!({"account_created_on": "+202-04-01"}),
                "risk.account_created_on",
            ),
            (
                json!({"billing_address": {"postal_code": "12-34", "prefecture": "東京都", "city": "c", "line1": "l"}}),
                "risk.billing_address.postal_code",
            ),
            (
                json!({"billing_address": {"postal_code": "1000001", "prefecture": "東京州", "city": "c", "line1": "l"}}),
                "risk.billing_address.prefecture",
            ),
            (
                json!({"shipping_address": {"postal_code": "1000001", "prefecture": "13", "line1": "l"}}),
                "risk.shipping_address.city",
            ),
            (
                json!({"shipping_address": {"postal_code": "1000001", "prefecture": "13", "city": "c",
                "line1": "あ".repeat(51)}}),
                "risk.shipping_address.line1",
            ),
        ];
        for (v, param) in cases {
            let e = parse(Some(&json!(v))).expect_err(param);
            assert_eq!(e.param, param, "{v}");
            assert!(!e.message_ja.is_empty());
        }
    }

    #[test]
    fn prefectures_by_name_short_name_and_code() {
        assert_eq!(prefecture_code("北海道").as_deref(), Some("01"));
        assert_eq!(prefecture_code("京都").as_deref(), Some("26"));
        assert_eq!(prefecture_code("東京").as_deref(), Some("13"));
        assert_eq!(prefecture_code("沖縄県").as_deref(), Some("47"));
        assert_eq!(prefecture_code("9").as_deref(), Some("09"));
        assert_eq!(prefecture_code("48"), None);
        assert_eq!(prefecture_code("0"), None);
        assert_eq!(prefecture_code("北"), None);
        assert_eq!(prefecture_code("013"), None);
        // Regression (#16, `parsers_round_trip::risk_prefecture_codes`): a sign is not a digit.
        assert_eq!(prefecture_code("+1"), None);
    }

    #[test]
    fn stored_form_reads_back_the_same() {
        let r = parse(Some(&full())).expect("valid");
        assert_eq!(parse(Some(&to_json(&r))).expect("stored"), r);
    }

    proptest! {
        #[test]
        fn any_json_string_never_panics(s in ".{0,80}") {
            let _ = parse(Some(&json!({"email": s.clone(), "account_created_on": s.clone()})));
            let _ = prefecture_code(&s);
        }

        #[test]
        fn valid_dates_round_trip(y in 1900i32..2100, m in 1u32..=12, d in 1u32..=28) {
            let s = format!("{y:04}-{m:02}-{d:02}");
            let r = parse(Some(&json!({"account_created_on": s}))).expect("date");
            prop_assert_eq!(r.account_created, Some(format!("{y:04}{m:02}{d:02}")));
        }
    }
}
