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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_digits_and_letters() {
        assert_eq!(to_half_width("４１１１　ＡＢｃ／"), "4111 ABc/");
        assert_eq!(digits_only("４１１１-1111 ２２"), "4111111122");
        assert_eq!(to_half_width("カード－１"), "カード-1");
    }
}
