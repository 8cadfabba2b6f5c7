//! The Sign in with Amazon assertion the edge hands to the storefront: a compact JWS, HS256.
//!
//! `base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256(key, signing input))`.
//! The MAC is computed by the caller (edge: WebCrypto HMAC; storefront: the `hmac` crate) so this
//! module stays free of keys and crypto. Claims: `iss` "kessai", `aud` the storefront origin,
//! `iat`/`exp` in Unix seconds (exp = iat + 300), `nonce` from the storefront's session, `sub` the
//! Amazon buyer id, and the profile (no furigana: Amazon has none).

use super::model::Buyer;
use super::signing::{base64url_decode, base64url_encode};
use crate::jst::UnixMillis;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The issuer of every assertion.
pub const ISSUER: &str = "kessai";
/// Assertion lifetime.
pub const LIFETIME_SECS: i64 = 300;
/// Tolerated clock difference between edge and storefront for `iat`.
pub const CLOCK_SKEW_SECS: i64 = 60;
/// The only header kessai writes and accepts (no `alg` negotiation: `none` and others are refused).
const HEADER_JSON: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AssertionAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// Prefecture (都道府県).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_or_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_line3: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AssertionClaims {
    pub iss: String,
    /// Origin of the storefront page the assertion is posted to (`https://shop.example.jp`).
    pub aud: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
    pub nonce: String,
    /// Amazon `buyerId` (`amzn1.account.…`): stable, what account links store.
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<AssertionAddress>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|v| !v.trim().is_empty()).cloned()
}

impl AssertionClaims {
    /// Claims for `buyer` (Get Buyer), issued at `now` for the storefront origin `aud`.
    /// Postal code and phone fall back on the shipping address's when the buyer has none.
    pub fn from_buyer(buyer: &Buyer, aud: &str, nonce: &str, now: UnixMillis) -> AssertionClaims {
        let iat = now.0.div_euclid(1000);
        let ship = buyer.shipping_address.as_ref();
        let address = ship.map(|a| AssertionAddress {
            postal_code: non_empty(&a.postal_code),
            state_or_region: non_empty(&a.state_or_region),
            city: non_empty(&a.city),
            address_line1: non_empty(&a.address_line1),
            address_line2: non_empty(&a.address_line2),
            address_line3: non_empty(&a.address_line3),
        });
        AssertionClaims {
            iss: ISSUER.to_string(),
            aud: aud.to_string(),
            iat,
            exp: iat + LIFETIME_SECS,
            nonce: nonce.to_string(),
            sub: buyer.buyer_id.clone(),
            name: non_empty(&buyer.name),
            email: non_empty(&buyer.email),
            postal_code: non_empty(&buyer.postal_code)
                .or_else(|| ship.and_then(|a| non_empty(&a.postal_code))),
            address,
            phone: non_empty(&buyer.phone_number)
                .or_else(|| ship.and_then(|a| non_empty(&a.phone_number))),
        }
    }
}

/// `base64url(header) "." base64url(claims JSON)`: the bytes to MAC.
pub fn signing_input(claims: &AssertionClaims) -> String {
    // Plain strings and integers always serialise.
    let payload = serde_json::to_string(claims).unwrap_or_default();
    format!(
        "{}.{}",
        base64url_encode(HEADER_JSON.as_bytes()),
        base64url_encode(payload.as_bytes())
    )
}

/// The compact JWS: signing input, `.`, base64url of the MAC.
pub fn assemble(signing_input: &str, mac: &[u8]) -> String {
    format!("{signing_input}.{}", base64url_encode(mac))
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Splits a compact JWS into (signing input, MAC, claims). `None` when it is not three base64url
/// segments, the header is not HS256, or the claims do not parse. The MAC is NOT checked here:
/// verify it over the returned signing input before trusting the claims.
pub fn split(jws: &str) -> Option<(String, Vec<u8>, AssertionClaims)> {
    let mut parts = jws.split('.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let header: Header = serde_json::from_slice(&base64url_decode(h)?).ok()?;
    if header.alg != "HS256" {
        return None;
    }
    let claims: AssertionClaims = serde_json::from_slice(&base64url_decode(p)?).ok()?;
    let mac = base64url_decode(s)?;
    if mac.is_empty() {
        return None;
    }
    Some((format!("{h}.{p}"), mac, claims))
}

/// Compares two MACs in time independent of where they differ.
pub fn mac_matches(expected: &[u8], got: &[u8]) -> bool {
    if expected.len() != got.len() {
        return false;
    }
    expected
        .iter()
        .zip(got)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

/// Why an assertion's claims are not acceptable (the MAC is checked separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionError {
    /// Not three base64url segments with an HS256 header and readable claims.
    Malformed,
    /// The MAC does not match (reported by callers that verify it).
    BadSignature,
    WrongIssuer,
    WrongAudience,
    Expired,
    /// `iat` later than now (beyond the tolerated skew).
    NotYetValid,
    /// `exp` further from `iat` than kessai issues.
    LifetimeTooLong,
    NonceMismatch,
    /// No `sub`.
    MissingSubject,
}

impl AssertionError {
    pub fn code(&self) -> &'static str {
        match self {
            AssertionError::Malformed => "assertion_malformed",
            AssertionError::BadSignature => "assertion_bad_signature",
            AssertionError::WrongIssuer => "assertion_wrong_issuer",
            AssertionError::WrongAudience => "assertion_wrong_audience",
            AssertionError::Expired => "assertion_expired",
            AssertionError::NotYetValid => "assertion_not_yet_valid",
            AssertionError::LifetimeTooLong => "assertion_lifetime_too_long",
            AssertionError::NonceMismatch => "assertion_nonce_mismatch",
            AssertionError::MissingSubject => "assertion_missing_subject",
        }
    }
    pub fn message_en(&self) -> &'static str {
        match self {
            AssertionError::Malformed => "the Amazon sign-in assertion is malformed",
            AssertionError::BadSignature => "the Amazon sign-in assertion signature is invalid",
            AssertionError::WrongIssuer => "the Amazon sign-in assertion was not issued by kessai",
            AssertionError::WrongAudience => {
                "the Amazon sign-in assertion was issued for another site"
            }
            AssertionError::Expired => "the Amazon sign-in assertion has expired",
            AssertionError::NotYetValid => "the Amazon sign-in assertion is not valid yet",
            AssertionError::LifetimeTooLong => {
                "the Amazon sign-in assertion lifetime is longer than allowed"
            }
            AssertionError::NonceMismatch => {
                "the Amazon sign-in assertion belongs to another session"
            }
            AssertionError::MissingSubject => "the Amazon sign-in assertion has no buyer id",
        }
    }
    /// For the shopper (Japanese): all of these mean "sign in again".
    pub fn message_ja(&self) -> &'static str {
        match self {
            AssertionError::Expired => {
                "Amazon アカウントでのログインの有効期限が切れました。もう一度ログインしてください。"
            }
            AssertionError::Malformed
            | AssertionError::BadSignature
            | AssertionError::WrongIssuer
            | AssertionError::WrongAudience
            | AssertionError::NotYetValid
            | AssertionError::LifetimeTooLong
            | AssertionError::NonceMismatch
            | AssertionError::MissingSubject => {
                "Amazon アカウントでのログインを確認できませんでした。お手数ですが、もう一度ログインしてください。"
            }
        }
    }
}

impl fmt::Display for AssertionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message_en())
    }
}

impl std::error::Error for AssertionError {}

/// Checks the claims of an assertion whose MAC has been verified: issuer, audience, time window
/// (`iat` ≤ now + skew < … , now < `exp`, `exp` − `iat` ≤ 300 s), subject, and the nonce when the
/// caller has one (the storefront's login; account linking by the merchant API has none).
pub fn check(
    claims: &AssertionClaims,
    now: UnixMillis,
    expected_aud: &str,
    expected_nonce: Option<&str>,
) -> Result<(), AssertionError> {
    let now_s = now.0.div_euclid(1000);
    if claims.iss != ISSUER {
        return Err(AssertionError::WrongIssuer);
    }
    if claims.aud != expected_aud {
        return Err(AssertionError::WrongAudience);
    }
    if claims.sub.is_empty() {
        return Err(AssertionError::MissingSubject);
    }
    if claims.exp.saturating_sub(claims.iat) > LIFETIME_SECS || claims.exp < claims.iat {
        return Err(AssertionError::LifetimeTooLong);
    }
    if claims.iat > now_s + CLOCK_SKEW_SECS {
        return Err(AssertionError::NotYetValid);
    }
    if now_s >= claims.exp {
        return Err(AssertionError::Expired);
    }
    if let Some(nonce) = expected_nonce
        && !mac_matches(nonce.as_bytes(), claims.nonce.as_bytes())
    {
        return Err(AssertionError::NonceMismatch);
    }
    Ok(())
}

/// [`check`] for a verifier that accepts several audiences (the storefront's origins): the `aud`
/// must be one that `is_ours` accepts (else `WrongAudience`, before any other claim is looked at),
/// then every other claim is checked against it.
pub fn check_for_audiences(
    claims: &AssertionClaims,
    now: UnixMillis,
    is_ours: impl Fn(&str) -> bool,
    expected_nonce: Option<&str>,
) -> Result<(), AssertionError> {
    if !is_ours(&claims.aud) {
        return Err(AssertionError::WrongAudience);
    }
    check(claims, now, &claims.aud, expected_nonce)
}

/// `scheme://host[:port]` of an absolute http(s) URL, lowercase scheme and host: the `aud` of an
/// assertion for a `return_url`. `None` for anything else.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    Some(format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amazon::model::Address;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    /// HMAC-SHA256 written out for the tests only (callers use WebCrypto or the `hmac` crate):
    /// lets the tests exercise the full sign → split → verify path.
    fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
        let mut k = [0u8; 64];
        if key.len() > 64 {
            k[..32].copy_from_slice(&Sha256::digest(key));
        } else {
            k[..key.len()].copy_from_slice(key);
        }
        let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::digest([ipad.as_slice(), msg].concat());
        Sha256::digest([opad.as_slice(), inner.as_slice()].concat()).to_vec()
    }

    #[test]
    fn hmac_helper_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    fn buyer() -> Buyer {
        Buyer {
            buyer_id: "amzn1.account.TESTBUYER".into(),
            name: Some("山田 花子".into()),
            email: Some("hanako@example.jp".into()),
            postal_code: None,
            country_code: Some("JP".into()),
            phone_number: Some("".into()),
            shipping_address: Some(Address {
                name: Some("山田 花子".into()),
                address_line1: Some("西新宿2-8-1".into()),
                address_line2: Some("".into()),
                city: Some("新宿区".into()),
                state_or_region: Some("東京都".into()),
                postal_code: Some("163-8001".into()),
                country_code: Some("JP".into()),
                phone_number: Some("0353211111".into()),
                ..Address::default()
            }),
            ..Buyer::default()
        }
    }

    const NOW: UnixMillis = UnixMillis(1_795_359_600_123);

    #[test]
    fn claims_from_buyer() {
        let c = AssertionClaims::from_buyer(&buyer(), "https://shop.example.jp", "n-1", NOW);
        assert_eq!(c.iss, "kessai");
        assert_eq!(c.iat, 1_795_359_600);
        assert_eq!(c.exp, 1_795_359_900);
        assert_eq!(c.sub, "amzn1.account.TESTBUYER");
        assert_eq!(c.postal_code.as_deref(), Some("163-8001"));
        assert_eq!(c.phone.as_deref(), Some("0353211111"));
        let a = c.address.as_ref().unwrap();
        assert_eq!(a.state_or_region.as_deref(), Some("東京都"));
        assert_eq!(a.address_line2, None, "empty lines are dropped");
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""postal_code":"163-8001""#));
        assert!(json.contains(r#""address_line1":"西新宿2-8-1""#));
        assert!(!json.contains("furigana") && !json.contains("kana"));
    }

    #[test]
    fn sign_split_verify_check() {
        let key = b"assertion-test-key";
        let c = AssertionClaims::from_buyer(&buyer(), "https://shop.example.jp", "n-1", NOW);
        let input = signing_input(&c);
        assert!(input.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
        let jws = assemble(&input, &hmac_sha256(key, input.as_bytes()));
        let (got_input, mac, claims) = split(&jws).unwrap();
        assert_eq!(got_input, input);
        assert!(mac_matches(&hmac_sha256(key, got_input.as_bytes()), &mac));
        assert!(!mac_matches(
            &hmac_sha256(b"other key", got_input.as_bytes()),
            &mac
        ));
        assert_eq!(claims, c);
        assert_eq!(
            check(&claims, NOW, "https://shop.example.jp", Some("n-1")),
            Ok(())
        );
        assert_eq!(check(&claims, NOW, "https://shop.example.jp", None), Ok(()));
    }

    #[test]
    fn tampering_is_detected() {
        let key = b"k";
        let c = AssertionClaims::from_buyer(&buyer(), "https://shop.example.jp", "n", NOW);
        let input = signing_input(&c);
        let jws = assemble(&input, &hmac_sha256(key, input.as_bytes()));
        // Swap in other claims, keep the MAC.
        let mut evil = c.clone();
        evil.sub = "amzn1.account.ATTACKER".into();
        let evil_input = signing_input(&evil);
        let mac_part = jws.rsplit('.').next().unwrap();
        let forged = format!("{evil_input}.{mac_part}");
        let (fi, fmac, _) = split(&forged).unwrap();
        assert!(!mac_matches(&hmac_sha256(key, fi.as_bytes()), &fmac));
        // alg none / other algs are refused outright.
        let none_header = base64url_encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = input.split('.').nth(1).unwrap();
        assert!(split(&format!("{none_header}.{payload}.{mac_part}")).is_none());
        assert!(split(&format!("{none_header}.{payload}.")).is_none());
        let rs = base64url_encode(br#"{"alg":"RS256"}"#);
        assert!(split(&format!("{rs}.{payload}.{mac_part}")).is_none());
        // Shape errors.
        assert!(split("").is_none());
        assert!(split("a.b").is_none());
        assert!(split(&format!("{jws}.x")).is_none());
        assert!(split(&format!("{input}.")).is_none());
        assert!(split(&jws.replace('.', "=.")).is_none());
    }

    /// Regression (#16, found by `parsers_round_trip::signin_assertion`): `exp - iat` overflowed
    /// for far-apart `i64` claims: a panic with overflow checks, and without them a wrapped
    /// lifetime (`exp` = i64::MAX, `iat` = -1) that passed the 300 s limit.
    #[test]
    fn extreme_claim_times_are_refused_not_overflowed() {
        let c = AssertionClaims::from_buyer(&buyer(), "https://shop.example.jp", "n", NOW);
        for (iat, exp) in [
            (-1, i64::MAX),
            (1, i64::MIN),
            (i64::MIN, i64::MAX),
            (i64::MIN, 0),
        ] {
            let claims = AssertionClaims {
                iat,
                exp,
                ..c.clone()
            };
            assert_eq!(
                check(&claims, NOW, "https://shop.example.jp", Some("n")),
                Err(AssertionError::LifetimeTooLong),
                "iat {iat}, exp {exp}"
            );
        }
    }

    #[test]
    fn claim_checks() {
        let c = AssertionClaims::from_buyer(&buyer(), "https://shop.example.jp", "n-1", NOW);
        let aud = "https://shop.example.jp";
        let at = |secs: i64| UnixMillis(NOW.0 + secs * 1000);
        assert_eq!(check(&c, at(299), aud, Some("n-1")), Ok(()));
        assert_eq!(
            check(&c, at(300), aud, Some("n-1")),
            Err(AssertionError::Expired)
        );
        assert_eq!(check(&c, at(-60), aud, None), Ok(()));
        assert_eq!(
            check(&c, at(-61), aud, None),
            Err(AssertionError::NotYetValid)
        );
        assert_eq!(
            check(&c, NOW, "https://evil.example", None),
            Err(AssertionError::WrongAudience)
        );
        assert_eq!(
            check(&c, NOW, aud, Some("n-2")),
            Err(AssertionError::NonceMismatch)
        );
        assert_eq!(
            check(&c, NOW, aud, Some("")),
            Err(AssertionError::NonceMismatch)
        );
        let mut wrong = c.clone();
        wrong.iss = "someone".into();
        assert_eq!(
            check(&wrong, NOW, aud, None),
            Err(AssertionError::WrongIssuer)
        );
        let mut long = c.clone();
        long.exp += 1;
        assert_eq!(
            check(&long, NOW, aud, None),
            Err(AssertionError::LifetimeTooLong)
        );
        let mut nosub = c.clone();
        nosub.sub.clear();
        assert_eq!(
            check(&nosub, NOW, aud, None),
            Err(AssertionError::MissingSubject)
        );
        for e in [AssertionError::Expired, AssertionError::BadSignature] {
            assert!(e.message_ja().ends_with('。'));
            assert!(e.message_en().is_ascii());
        }
    }

    #[test]
    fn audience_sets() {
        let c = AssertionClaims::from_buyer(&buyer(), "https://shop.example.jp", "n-1", NOW);
        let ours = ["https://shop.example.jp", "http://127.0.0.1:8080"];
        let is_ours = |aud: &str| ours.contains(&aud);
        assert_eq!(check_for_audiences(&c, NOW, is_ours, Some("n-1")), Ok(()));
        assert_eq!(
            check_for_audiences(&c, NOW, |_| false, None),
            Err(AssertionError::WrongAudience)
        );
        // A foreign audience is named before any other claim is read.
        let mut foreign = c.clone();
        foreign.aud = "https://evil.example".into();
        foreign.iss = "someone".into();
        assert_eq!(
            check_for_audiences(&foreign, NOW, is_ours, None),
            Err(AssertionError::WrongAudience)
        );
        // An accepted audience still goes through every other check.
        let mut wrong = c.clone();
        wrong.iss = "someone".into();
        assert_eq!(
            check_for_audiences(&wrong, NOW, is_ours, None),
            Err(AssertionError::WrongIssuer)
        );
        assert_eq!(
            check_for_audiences(&c, NOW, is_ours, Some("n-2")),
            Err(AssertionError::NonceMismatch)
        );
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://Shop.Example.jp/login?x=1").as_deref(),
            Some("https://shop.example.jp")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/mypage").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("https://a.jp").as_deref(), Some("https://a.jp"));
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("ftp://a.jp/"), None);
        assert_eq!(origin_of("https:///x"), None);
        assert_eq!(origin_of("https://user@a.jp/"), None);
    }

    proptest! {
        #[test]
        fn jws_round_trip(
            name in proptest::option::of("\\PC{0,20}"),
            sub in "[A-Za-z0-9.]{1,40}",
            nonce in "[ -~]{0,40}",
            secs in 0i64..4_000_000_000,
            mac in prop::collection::vec(any::<u8>(), 1..64),
        ) {
            let c = AssertionClaims {
                iss: ISSUER.into(),
                aud: "https://s.example".into(),
                iat: secs,
                exp: secs + LIFETIME_SECS,
                nonce,
                sub,
                name,
                ..AssertionClaims::default()
            };
            let input = signing_input(&c);
            let jws = assemble(&input, &mac);
            prop_assert_eq!(split(&jws), Some((input, mac, c.clone())));
            prop_assert_eq!(check(&c, UnixMillis(secs * 1000), "https://s.example", Some(&c.nonce)), Ok(()));
            prop_assert_eq!(check(&c, UnixMillis((secs + LIFETIME_SECS) * 1000), "https://s.example", None), Err(AssertionError::Expired));
        }

        #[test]
        fn split_never_panics(s in "\\PC{0,80}") {
            let _ = split(&s);
        }
    }
}
