//! Wire codec. Requests are `application/x-www-form-urlencoded` whose non-ASCII values are CP932
//! (Shift_JIS, Windows-31J) bytes percent-encoded. Answers are HTTP 200 `text/plain;charset=Windows-31J`
//! with `Key=Value&…` pairs whose values are **not** percent-encoded; multi-record values are
//! `|`-joined column-wise, and errors are `ErrCode=…&ErrInfo=…` pairs.

use encoding_rs::SHIFT_JIS;

/// Ordered key/value pairs, as GMO sends and expects them.
pub type Params = Vec<(String, String)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// A value has a character CP932 cannot represent (GMO would store garbage or reject it).
    NotCp932 { key: String },
    /// Percent-escape that is not two hex digits.
    BadEscape,
    /// Bytes that do not decode as CP932.
    BadCp932,
}

fn cp932_bytes(s: &str) -> Option<Vec<u8>> {
    let (bytes, _, had_errors) = SHIFT_JIS.encode(s);
    (!had_errors).then(|| bytes.into_owned())
}

fn cp932_string(b: &[u8]) -> Result<String, CodecError> {
    // Without BOM handling: `decode` would read bytes starting with a UTF-8 or UTF-16 BOM as
    // that encoding instead of CP932.
    let (s, had_errors) = SHIFT_JIS.decode_without_bom_handling(b);
    if had_errors {
        Err(CodecError::BadCp932)
    } else {
        Ok(s.into_owned())
    }
}

fn percent_encode_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
    }
}

/// Encodes a request body: CP932 bytes, percent-encoded.
pub fn encode_form<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> Result<String, CodecError> {
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        let kb = cp932_bytes(k.as_ref()).ok_or_else(|| CodecError::NotCp932 {
            key: k.as_ref().into(),
        })?;
        let vb = cp932_bytes(v.as_ref()).ok_or_else(|| CodecError::NotCp932 {
            key: k.as_ref().into(),
        })?;
        percent_encode_into(&mut out, &kb);
        out.push('=');
        percent_encode_into(&mut out, &vb);
    }
    Ok(out)
}

fn percent_decode(s: &[u8]) -> Result<Vec<u8>, CodecError> {
    let hex = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = s
                    .get(i + 1)
                    .copied()
                    .and_then(hex)
                    .ok_or(CodecError::BadEscape)?;
                let lo = s
                    .get(i + 2)
                    .copied()
                    .and_then(hex)
                    .ok_or(CodecError::BadEscape)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

/// Decodes a request body as GMO does: split on `&` and the first `=`, percent-decode, CP932.
pub fn decode_form(body: &[u8]) -> Result<Params, CodecError> {
    let mut out = Vec::new();
    for pair in body.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        out.push((
            cp932_string(&percent_decode(k)?)?,
            cp932_string(&percent_decode(v)?)?,
        ));
    }
    Ok(out)
}

/// Encodes an answer the way GMO does: raw CP932, values not escaped. Characters CP932 lacks
/// become `?`, as a Windows-31J encoder on GMO's side would do.
pub fn encode_response<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> Vec<u8> {
    let mut s = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(k.as_ref());
        s.push('=');
        s.push_str(v.as_ref());
    }
    let (bytes, _, _) = SHIFT_JIS.encode(&s);
    bytes.into_owned()
}

/// Keys whose values may contain raw `&` and `=` (URLs) in ExecTran's 3-D Secure answers.
/// GMO's own module splits these by known key names (`execSpecialParse`); so do we.
const URL_KEYS: [&str; 2] = ["RedirectUrl", "ACSUrl"];

/// Parses an answer body into ordered pairs, keeping raw URLs whole.
pub fn decode_response(body: &[u8]) -> Result<Params, CodecError> {
    let text = cp932_string(body)?;
    let text = text.trim_end_matches(['\r', '\n']);
    // ACS=2: `ACS=2&RedirectUrl=https://…?transId=…&t=…` (the rest of the body is the URL).
    if let Some(rest) = text.strip_prefix("ACS=2&RedirectUrl=") {
        return Ok(vec![
            ("ACS".into(), "2".into()),
            ("RedirectUrl".into(), rest.into()),
        ]);
    }
    // ACS=1 (3-D Secure 1, obsolete): `ACS=1&ACSUrl=…&PaReq=…&MD=…`; PaReq and MD are base64 / hex.
    if let Some(rest) = text.strip_prefix("ACS=1&ACSUrl=") {
        let mut out: Params = vec![("ACS".into(), "1".into())];
        let pareq_at = rest.rfind("&PaReq=");
        let md_at = rest.rfind("&MD=");
        if let (Some(p), Some(m)) = (pareq_at, md_at)
            && p < m
        {
            out.push(("ACSUrl".into(), rest[..p].into()));
            out.push(("PaReq".into(), rest[p + 7..m].into()));
            out.push(("MD".into(), rest[m + 4..].into()));
            return Ok(out);
        }
        out.push((URL_KEYS[1].into(), rest.into()));
        return Ok(out);
    }
    Ok(text
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (pair.to_string(), String::new()),
        })
        .collect())
}

/// Looks a key up in decoded pairs (first occurrence).
pub fn get<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn form_is_cp932_percent_encoded() {
        let body =
            encode_form(&[("MemberName", "山田 太郎"), ("OrderID", "ord-1")]).expect("cp932");
        // 山 = 0x8E 0x52, 田 = 0x93 0x63 in Shift_JIS.
        assert_eq!(body, "MemberName=%8ER%93c+%91%BE%98Y&OrderID=ord-1");
        let back = decode_form(body.as_bytes()).expect("decodes");
        assert_eq!(get(&back, "MemberName"), Some("山田 太郎"));
    }

    #[test]
    fn characters_outside_cp932_are_refused() {
        assert_eq!(
            encode_form(&[("ClientField1", "😀")]),
            Err(CodecError::NotCp932 {
                key: "ClientField1".into()
            })
        );
    }

    #[test]
    fn half_width_kana_round_trips() {
        // The bug users hit when auto-detecting the answer's charset (gmo-payment-ruby #33).
        let raw = encode_response(&[("MemberName", "ﾔﾏﾀﾞ ﾀﾛｳ")]);
        assert_eq!(raw.len(), "MemberName=".len() + 8);
        let back = decode_response(&raw).expect("decodes");
        assert_eq!(get(&back, "MemberName"), Some("ﾔﾏﾀﾞ ﾀﾛｳ"));
    }

    #[test]
    fn recorded_exec_tran_answer() {
        let body = b"ACS=0&OrderID=1362106991&Forward=2a99662&Method=1&PayTimes=&Approve=6416276&TranID=1303011202111111111111198895&TranDate=20130301120312&CheckString=2d8fa5d3a220a34161d18a87e9cbfd75&ClientField1=client_field1&ClientField2=null&ClientField3=null";
        let p = decode_response(body).expect("decodes");
        assert_eq!(get(&p, "PayTimes"), Some(""));
        assert_eq!(get(&p, "TranID"), Some("1303011202111111111111198895"));
        assert_eq!(p.len(), 12);
    }

    #[test]
    fn acs2_redirect_url_kept_whole() {
        let body = b"ACS=2&RedirectUrl=https://pt01.mul-pay.jp/payment/Tds2StubCallback.idPass?transId=abc&t=xyz=";
        let p = decode_response(body).expect("decodes");
        assert_eq!(
            get(&p, "RedirectUrl"),
            Some("https://pt01.mul-pay.jp/payment/Tds2StubCallback.idPass?transId=abc&t=xyz=")
        );
    }

    #[test]
    fn acs1_fields_split_by_name() {
        let body = b"ACS=1&ACSUrl=https://acs.example/x?a=1&b=2&PaReq=eJx=&MD=0123";
        let p = decode_response(body).expect("decodes");
        assert_eq!(get(&p, "ACSUrl"), Some("https://acs.example/x?a=1&b=2"));
        assert_eq!(get(&p, "PaReq"), Some("eJx="));
        assert_eq!(get(&p, "MD"), Some("0123"));
    }

    #[test]
    fn bad_escape_is_an_error() {
        assert_eq!(decode_form(b"A=%G1"), Err(CodecError::BadEscape));
        assert_eq!(decode_form(b"A=%4"), Err(CodecError::BadEscape));
    }

    /// Regression (#16, found by the `gmo_form` fuzz target): bytes starting with a BOM were
    /// decoded as UTF-16 or UTF-8, not CP932 (`FE FF 20 3E` became `‾`).
    #[test]
    fn a_bom_is_not_an_encoding_switch() {
        assert_eq!(
            decode_form(b"A=\xFE\xFF\x20\x3E"),
            Err(CodecError::BadCp932)
        );
        assert_eq!(decode_response(b"\xFE\xFF\x00A"), Err(CodecError::BadCp932));
        // Was read as UTF-8 with the BOM dropped: `A=1`. EF BB is no CP932 character.
        assert_eq!(
            decode_response(b"\xEF\xBB\xBFA=1"),
            Err(CodecError::BadCp932)
        );
    }

    proptest! {
        #[test]
        fn form_round_trip(k in "[A-Za-z0-9]{1,12}", v in "[ -~ぁ-んァ-ヶ山田太郎花子東京都渋谷区ｦ-ﾟ]{0,30}") {
            let body = encode_form(&[(k.as_str(), v.as_str())]).expect("cp932 range");
            let back = decode_form(body.as_bytes()).expect("decodes");
            prop_assert_eq!(back, vec![(k, v)]);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_form(&b);
            let _ = decode_response(&b);
        }
    }
}
