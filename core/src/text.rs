//! Text normalisation for Japanese input.

/// Maps full-width ASCII (U+FF01..U+FF5E) and the ideographic space to their half-width forms.
/// Japanese IMEs often leave the shopper typing `４１１１` or `１２／２８`.
pub fn to_half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
            '\u{3000}' => ' ',
            '‐' | '―' | '−' => '-',
            _ => c,
        })
        .collect()
}

/// Only the ASCII digits of `s`, after full-width normalisation.
pub fn digits_only(s: &str) -> String {
    to_half_width(s)
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect()
}

/// Escapes text for HTML element content and for single- or double-quoted attribute values
/// (`& < > " '`). Shared by every page kessai's crates render (edge, sandboxes, demo).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `n` in decimal, at least `width` digits (zeros in front; a minus sign before them): what
/// `format!("{n:0width$}")` writes, without `core::fmt` (the widget's wasm has no formatting
/// code on its paths; docs/architecture.md "Widget size").
pub fn decimal(n: i64, width: usize) -> String {
    let mut digits = Vec::with_capacity(20);
    let mut rest = n.unsigned_abs();
    loop {
        digits.push(b'0' + (rest % 10) as u8);
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let mut out = String::with_capacity(digits.len().max(width) + 1);
    if n < 0 {
        out.push('-');
    }
    let pad = width.saturating_sub(digits.len() + usize::from(n < 0));
    out.extend(std::iter::repeat_n('0', pad));
    out.extend(digits.iter().rev().map(|&d| char::from(d)));
    out
}

/// `s` as a number when it is one or more ASCII digits and fits a `u32` (no sign, no spaces):
/// `parse::<u32>()` without its sign handling and error type.
pub fn parse_digits(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0u32, |n, b| {
        let d = b.checked_sub(b'0').filter(|d| *d <= 9)?;
        n.checked_mul(10)?.checked_add(u32::from(d))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_is_format() {
        for n in [
            0,
            1,
            7,
            9,
            10,
            99,
            100,
            2026,
            9_999_999,
            -1,
            -42,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(decimal(n, 0), n.to_string());
            for w in [1, 2, 4, 25] {
                assert_eq!(decimal(n, w), format!("{n:0w$}"), "{n} {w}");
            }
        }
        assert_eq!(decimal(7, 2), "07");
        assert_eq!(decimal(2026, 4), "2026");
        assert_eq!(decimal(-5, 3), "-05");
    }

    #[test]
    fn parse_digits_takes_plain_digits_only() {
        assert_eq!(parse_digits("0"), Some(0));
        assert_eq!(parse_digits("0012"), Some(12));
        assert_eq!(parse_digits("4294967295"), Some(u32::MAX));
        assert_eq!(parse_digits("4294967296"), None);
        for bad in ["", "+1", "-1", " 1", "1 ", "1a", "１"] {
            assert_eq!(parse_digits(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_digits_is_parse_for_digits(s in "[0-9]{1,12}") {
            proptest::prop_assert_eq!(parse_digits(&s), s.parse::<u32>().ok());
        }


        #[test]
        fn decimal_matches_format(n: i64, w in 0usize..24) {
            proptest::prop_assert_eq!(decimal(n, w), format!("{n:0w$}"));
        }
    }

    #[test]
    fn html_escape_covers_markup_and_both_quotes() {
        assert_eq!(
            html_escape(r#"<a href="x?a=1&b='2'">山田 & 太郎</a>"#),
            "&lt;a href=&quot;x?a=1&amp;b=&#39;2&#39;&quot;&gt;山田 &amp; 太郎&lt;/a&gt;"
        );
        assert_eq!(html_escape("&amp;"), "&amp;amp;");
        assert_eq!(html_escape("ふつうの文"), "ふつうの文");
    }

    #[test]
    fn full_width_digits_and_letters() {
        assert_eq!(to_half_width("４１１１　ＡＢｃ／"), "4111 ABc/");
        assert_eq!(digits_only("４１１１-1111 ２２"), "4111111122");
        assert_eq!(to_half_width("カード－１"), "カード-1");
    }
}
