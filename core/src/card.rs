//! Card form rules for the widget: brand detection, formatting, Luhn, expiry and CVC checks.
//!
//! The PAN never leaves the shopper's browser except to GMO's token JS; these checks exist so the
//! shopper learns of a typo before a token is even requested. A field's error is reported only
//! once its value can no longer become valid (or the shopper left the field), never while a
//! still-valid prefix is being typed.

use crate::text::{decimal, digits_only, parse_digits, to_half_width};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CardBrand {
    Visa,
    Mastercard,
    Jcb,
    Amex,
    Diners,
    Discover,
    Unknown,
}

impl CardBrand {
    pub fn detect(digits: &str) -> CardBrand {
        // The first `n` characters as a number when they are `n` ASCII digits (`parse::<u32>`
        // would also take a `+`, which leaves fewer digits than any range below needs).
        let p = |n: usize| {
            digits
                .get(..n)
                .filter(|s| s.len() == n)
                .and_then(parse_digits)
        };
        if digits.starts_with('4') {
            CardBrand::Visa
        } else if matches!(p(2), Some(34 | 37)) {
            CardBrand::Amex
        } else if matches!(p(4), Some(3528..=3589)) {
            CardBrand::Jcb
        } else if matches!(p(2), Some(36 | 38 | 39)) || matches!(p(3), Some(300..=305)) {
            CardBrand::Diners
        } else if matches!(p(2), Some(51..=55)) || matches!(p(4), Some(2221..=2720)) {
            CardBrand::Mastercard
        } else if digits.starts_with("6011") || digits.starts_with("65") {
            CardBrand::Discover
        } else {
            CardBrand::Unknown
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CardBrand::Visa => "VISA",
            CardBrand::Mastercard => "Mastercard",
            CardBrand::Jcb => "JCB",
            CardBrand::Amex => "American Express",
            CardBrand::Diners => "Diners Club",
            CardBrand::Discover => "Discover",
            CardBrand::Unknown => "",
        }
    }

    /// Lengths the brand issues. GMO accepts 10–16 digits overall (token result 102).
    pub fn lengths(self) -> &'static [usize] {
        match self {
            CardBrand::Visa => &[13, 16],
            CardBrand::Mastercard | CardBrand::Jcb | CardBrand::Discover => &[16],
            CardBrand::Amex => &[15],
            CardBrand::Diners => &[14, 16],
            CardBrand::Unknown => &[10, 11, 12, 13, 14, 15, 16],
        }
    }

    pub fn max_len(self) -> usize {
        self.lengths().iter().copied().max().unwrap_or(16)
    }

    /// Digit groups for display: Amex 4-6-5, Diners-14 4-6-4, others by fours.
    fn groups(self, len: usize) -> &'static [usize] {
        match (self, len) {
            (CardBrand::Amex, _) => &[4, 6, 5],
            (CardBrand::Diners, 0..=14) => &[4, 6, 4],
            _ => &[4, 4, 4, 4],
        }
    }

    pub fn cvc_len(self) -> usize {
        match self {
            CardBrand::Amex => 4,
            _ => 3,
        }
    }
}

pub fn luhn_ok(digits: &str) -> bool {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 { dd - 9 } else { dd }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Formats what the shopper typed (full-width allowed) as grouped digits, cut at the brand's maximum.
pub fn format_card_number(input: &str) -> String {
    let digits = digits_only(input);
    let brand = CardBrand::detect(&digits);
    let digits: String = digits.chars().take(brand.max_len()).collect();
    let mut out = String::with_capacity(digits.len() + 4);
    let mut rest = digits.as_str();
    for (i, g) in brand.groups(digits.len()).iter().enumerate() {
        if rest.is_empty() {
            break;
        }
        let take = (*g).min(rest.len());
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&rest[..take]);
        rest = &rest[take..];
    }
    out.push_str(rest);
    out
}

/// Why a field is not (yet) acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldProblem {
    Required,
    /// A prefix of something valid: say nothing while typing, complain on blur/submit.
    Incomplete,
    NumberInvalid,
    NumberBrandUnsupported,
    ExpiryInvalid,
    ExpiryPast,
    CvcInvalid,
    HolderInvalid,
}

impl FieldProblem {
    /// Shown while typing only when the value can no longer become valid.
    pub fn definite(self) -> bool {
        !matches!(self, FieldProblem::Required | FieldProblem::Incomplete)
    }
    pub fn message(self, field: Field, lang: Lang) -> &'static str {
        use FieldProblem::*;
        match (lang, self, field) {
            (Lang::Ja, Required, Field::Number) => "カード番号を入力してください。",
            (Lang::Ja, Required, Field::Expiry) => "有効期限を入力してください。",
            (Lang::Ja, Required, Field::Cvc) => "セキュリティコードを入力してください。",
            (Lang::Ja, Required, Field::Holder) => "カード名義を入力してください。",
            (Lang::Ja, Incomplete, Field::Number) => "カード番号が途中までしか入力されていません。",
            (Lang::Ja, Incomplete, Field::Expiry) => "有効期限を月/年(MM/YY)で入力してください。",
            (Lang::Ja, Incomplete, Field::Cvc) => "セキュリティコードの桁数が足りません。",
            (Lang::Ja, Incomplete, Field::Holder) => "カード名義を入力してください。",
            (Lang::Ja, NumberInvalid, _) => {
                "カード番号に誤りがあります。ご確認のうえ再度入力してください。"
            }
            (Lang::Ja, NumberBrandUnsupported, _) => "このカードブランドはご利用いただけません。",
            (Lang::Ja, ExpiryInvalid, _) => "有効期限に誤りがあります。",
            (Lang::Ja, ExpiryPast, _) => "有効期限が切れています。",
            (Lang::Ja, CvcInvalid, _) => "セキュリティコードに誤りがあります。",
            (Lang::Ja, HolderInvalid, _) => {
                "カード名義は半角英字で入力してください(例: TARO YAMADA)。"
            }
            (Lang::En, Required, Field::Number) => "Enter your card number.",
            (Lang::En, Required, Field::Expiry) => "Enter the expiry date.",
            (Lang::En, Required, Field::Cvc) => "Enter the security code.",
            (Lang::En, Required, Field::Holder) => "Enter the name on the card.",
            (Lang::En, Incomplete, Field::Number) => "The card number is incomplete.",
            (Lang::En, Incomplete, Field::Expiry) => "Enter the expiry as MM/YY.",
            (Lang::En, Incomplete, Field::Cvc) => "The security code is too short.",
            (Lang::En, Incomplete, Field::Holder) => "Enter the name on the card.",
            (Lang::En, NumberInvalid, _) => "The card number is not valid. Please check it.",
            (Lang::En, NumberBrandUnsupported, _) => "This card brand is not accepted.",
            (Lang::En, ExpiryInvalid, _) => "The expiry date is not valid.",
            (Lang::En, ExpiryPast, _) => "The card has expired.",
            (Lang::En, CvcInvalid, _) => "The security code is not valid.",
            (Lang::En, HolderInvalid, _) => {
                "Enter the name in half-width Latin letters (e.g. TARO YAMADA)."
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Number,
    Expiry,
    Cvc,
    Holder,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    #[default]
    Ja,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Lang {
        if s.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Ja
        }
    }
}

pub fn check_number(input: &str) -> Result<String, FieldProblem> {
    let digits = digits_only(input);
    if digits.is_empty() {
        return Err(FieldProblem::Required);
    }
    let brand = CardBrand::detect(&digits);
    if digits.len() > brand.max_len() {
        return Err(FieldProblem::NumberInvalid);
    }
    if brand.lengths().contains(&digits.len()) && luhn_ok(&digits) {
        return Ok(digits);
    }
    if digits.len() >= brand.max_len() {
        // No more digits can be added: it is wrong, not unfinished.
        Err(FieldProblem::NumberInvalid)
    } else {
        Err(FieldProblem::Incomplete)
    }
}

/// Card expiry as typed (`MM/YY`, `MMYY`, `MM/YYYY`, full-width allowed) against the current
/// JST year and month. Returns GMO's token-JS form `YYYYMM`.
pub fn check_expiry(input: &str, now_year: i32, now_month: u8) -> Result<String, FieldProblem> {
    let half = to_half_width(input);
    let digits = digits_only(&half);
    if digits.is_empty() {
        return Err(FieldProblem::Required);
    }
    let (m, year_digits) = match half.split_once('/') {
        Some((m, y)) => (digits_only(m), digits_only(y)),
        // ASCII digits: bytes are characters.
        None => (
            digits.get(..2).unwrap_or(&digits).to_string(),
            digits.get(2..).unwrap_or_default().to_string(),
        ),
    };
    // As `parse::<u8>()` (only ASCII digits here): none when empty or above 255.
    let month: u8 = match parse_digits(&m).map(u8::try_from) {
        Some(Ok(v)) if (1..=12).contains(&v) => v,
        Some(Ok(_)) => return Err(FieldProblem::ExpiryInvalid),
        _ => return Err(FieldProblem::Incomplete),
    };
    let year = |y: &str| {
        parse_digits(y)
            .and_then(|v| i32::try_from(v).ok())
            .ok_or(FieldProblem::ExpiryInvalid)
    };
    let year: i32 = match year_digits.len() {
        0 | 1 | 3 => return Err(FieldProblem::Incomplete),
        2 => 2000 + year(&year_digits)?,
        4 => year(&year_digits)?,
        _ => return Err(FieldProblem::ExpiryInvalid),
    };
    if (year, month) < (now_year, now_month) {
        return Err(FieldProblem::ExpiryPast);
    }
    if year > now_year + 20 {
        return Err(FieldProblem::ExpiryInvalid);
    }
    // `format!("{year:04}{month:02}")`, without `core::fmt` (the widget checks with this).
    Ok([decimal(year.into(), 4), decimal(month.into(), 2)].concat())
}

/// Formats expiry input as `MM/YY` while typing.
pub fn format_expiry(input: &str) -> String {
    let digits: String = digits_only(input).chars().take(4).collect();
    if digits.len() <= 2 {
        digits
    } else {
        [&digits[..2], "/", &digits[2..]].concat()
    }
}

pub fn check_cvc(input: &str, brand: CardBrand) -> Result<String, FieldProblem> {
    let half = to_half_width(input);
    let digits = digits_only(&half);
    if half.trim().is_empty() {
        return Err(FieldProblem::Required);
    }
    if digits.len() != half.trim().chars().count() {
        return Err(FieldProblem::CvcInvalid);
    }
    let want = brand.cvc_len();
    match digits.len().cmp(&want) {
        std::cmp::Ordering::Equal => Ok(digits),
        // Brand unknown yet: 3 or 4 are both plausible.
        std::cmp::Ordering::Greater if brand == CardBrand::Unknown && digits.len() == 4 => {
            Ok(digits)
        }
        std::cmp::Ordering::Greater => Err(FieldProblem::CvcInvalid),
        std::cmp::Ordering::Less => Err(FieldProblem::Incomplete),
    }
}

/// GMO's token JS accepts half-width alphanumerics and a few symbols, at most 50 characters
/// (results 131/132). Lower case is upper-cased, as embossed names are.
pub fn check_holder(input: &str) -> Result<String, FieldProblem> {
    let half = to_half_width(input.trim()).to_ascii_uppercase();
    if half.is_empty() {
        return Err(FieldProblem::Required);
    }
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '/' | ',');
    if half.chars().count() > 50 || !half.chars().all(ok_char) {
        return Err(FieldProblem::HolderInvalid);
    }
    Ok(half)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn brands() {
        assert_eq!(CardBrand::detect("4111111111111111"), CardBrand::Visa);
        assert_eq!(CardBrand::detect("5555555555554444"), CardBrand::Mastercard);
        assert_eq!(CardBrand::detect("2221000000000009"), CardBrand::Mastercard);
        assert_eq!(CardBrand::detect("3530111333300000"), CardBrand::Jcb);
        assert_eq!(CardBrand::detect("378282246310005"), CardBrand::Amex);
        assert_eq!(CardBrand::detect("30569309025904"), CardBrand::Diners);
        assert_eq!(CardBrand::detect("9"), CardBrand::Unknown);
    }

    #[test]
    fn luhn() {
        assert!(luhn_ok("4111111111111111"));
        assert!(!luhn_ok("4111111111111112"));
        assert!(luhn_ok("378282246310005"));
        assert!(!luhn_ok(""));
    }

    #[test]
    fn number_states() {
        assert_eq!(check_number(""), Err(FieldProblem::Required));
        assert_eq!(check_number("4111 1111"), Err(FieldProblem::Incomplete));
        assert_eq!(
            check_number("４１１１ １１１１ １１１１ １１１１").as_deref(),
            Ok("4111111111111111")
        );
        assert_eq!(
            check_number("4111111111111112"),
            Err(FieldProblem::NumberInvalid)
        );
        assert_eq!(
            check_number("41111111111111111"),
            Err(FieldProblem::NumberInvalid)
        );
        assert_eq!(
            check_number("378282246310005").as_deref(),
            Ok("378282246310005")
        );
    }

    #[test]
    fn formatting_by_brand() {
        assert_eq!(
            format_card_number("4111111111111111"),
            "4111 1111 1111 1111"
        );
        assert_eq!(format_card_number("378282246310005"), "3782 822463 10005");
        assert_eq!(format_card_number("3056930902590"), "3056 930902 590");
        assert_eq!(
            format_card_number("41111111111111119999"),
            "4111 1111 1111 1111"
        );
        assert_eq!(format_card_number("４１１"), "411");
    }

    #[test]
    fn expiry() {
        assert_eq!(check_expiry("12/28", 2026, 11).as_deref(), Ok("202812"));
        assert_eq!(check_expiry("1128", 2026, 11).as_deref(), Ok("202811"));
        assert_eq!(
            check_expiry("１０／２６", 2026, 11),
            Err(FieldProblem::ExpiryPast)
        );
        assert_eq!(check_expiry("11/26", 2026, 11).as_deref(), Ok("202611"));
        assert_eq!(
            check_expiry("13", 2026, 11),
            Err(FieldProblem::ExpiryInvalid)
        );
        assert_eq!(
            check_expiry("12/2", 2026, 11),
            Err(FieldProblem::Incomplete)
        );
        assert_eq!(check_expiry("", 2026, 11), Err(FieldProblem::Required));
        assert_eq!(check_expiry("12/2030", 2026, 11).as_deref(), Ok("203012"));
        assert_eq!(format_expiry("1228"), "12/28");
        // Zero-padded as `{year:04}{month:02}` would write it, even for a year below 1000.
        assert_eq!(check_expiry("01/0005", 1, 1).as_deref(), Ok("000501"));
        assert_eq!(check_expiry("3/2027", 2026, 11).as_deref(), Ok("202703"));
        assert_eq!(format_expiry("123"), "12/3");
        assert_eq!(format_expiry("１２"), "12");
    }

    #[test]
    fn cvc_by_brand() {
        assert_eq!(check_cvc("123", CardBrand::Visa).as_deref(), Ok("123"));
        assert_eq!(
            check_cvc("1234", CardBrand::Visa),
            Err(FieldProblem::CvcInvalid)
        );
        assert_eq!(
            check_cvc("123", CardBrand::Amex),
            Err(FieldProblem::Incomplete)
        );
        assert_eq!(check_cvc("1234", CardBrand::Amex).as_deref(), Ok("1234"));
        assert_eq!(
            check_cvc("12a", CardBrand::Visa),
            Err(FieldProblem::CvcInvalid)
        );
    }

    #[test]
    fn holder() {
        assert_eq!(check_holder(" taro yamada ").as_deref(), Ok("TARO YAMADA"));
        assert_eq!(check_holder("山田太郎"), Err(FieldProblem::HolderInvalid));
        assert_eq!(
            check_holder(&"A".repeat(51)),
            Err(FieldProblem::HolderInvalid)
        );
    }

    proptest! {
        /// A prefix of a valid number is never reported as definitely wrong.
        #[test]
        fn prefixes_of_valid_numbers_are_not_errors(body in "[0-9]{15}", cut in 1usize..16) {
            let mut n = format!("4{}", &body[..14]);
            let check = (0..10).map(|d| format!("{n}{d}")).find(|c| luhn_ok(c)).unwrap_or_default();
            n = check;
            let prefix = &n[..cut];
            let r = check_number(prefix);
            prop_assert!(r.is_ok() || r == Err(FieldProblem::Incomplete), "{} -> {:?}", prefix, r);
        }

        #[test]
        fn formatting_keeps_the_digits(s in "[0-9０-９ ]{0,24}") {
            let formatted = format_card_number(&s);
            let brand = CardBrand::detect(&digits_only(&s));
            let want: String = digits_only(&s).chars().take(brand.max_len()).collect();
            prop_assert_eq!(digits_only(&formatted), want);
        }

        #[test]
        fn check_number_never_panics(s in "\\PC{0,40}") {
            let _ = check_number(&s);
            let _ = check_expiry(&s, 2026, 11);
            let _ = check_cvc(&s, CardBrand::Unknown);
            let _ = check_holder(&s);
        }
    }
}
