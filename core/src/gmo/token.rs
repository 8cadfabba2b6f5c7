//! Result codes of GMO's token JS (トークン決済 v1, `Multipayment.getToken`) and what the widget
//! tells the shopper for each. Codes from the reference §1a.

use crate::card::{Field, FieldProblem, Lang};

/// Where a token-JS result belongs in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFailure {
    Field(Field, FieldProblem),
    /// Not the shopper's input: configuration, GMO's side or the network.
    Service {
        busy: bool,
    },
}

pub fn token_failure(result_code: &str) -> TokenFailure {
    use Field::*;
    use FieldProblem::*;
    match result_code {
        "100" => TokenFailure::Field(Number, Required),
        "101" | "102" => TokenFailure::Field(Number, NumberInvalid),
        "110" => TokenFailure::Field(Expiry, Required),
        "111" | "112" | "113" => TokenFailure::Field(Expiry, ExpiryInvalid),
        "121" | "122" => TokenFailure::Field(Cvc, CvcInvalid),
        "131" | "132" => TokenFailure::Field(Holder, HolderInvalid),
        "902" => TokenFailure::Service { busy: true },
        _ => TokenFailure::Service { busy: false },
    }
}

/// The message for a service-side token failure.
pub fn service_message(busy: bool, lang: Lang) -> &'static str {
    match (busy, lang) {
        (true, Lang::Ja) => "只今大変混み合っております。しばらく時間をおいて再度お試しください。",
        (true, Lang::En) => "The card service is busy. Please wait a moment and try again.",
        (false, Lang::Ja) => "カード情報を送信できませんでした。時間をおいて再度お試しください。",
        (false, Lang::En) => "Your card details could not be sent. Please try again later.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_fields() {
        assert_eq!(
            token_failure("102"),
            TokenFailure::Field(Field::Number, FieldProblem::NumberInvalid)
        );
        assert_eq!(
            token_failure("113"),
            TokenFailure::Field(Field::Expiry, FieldProblem::ExpiryInvalid)
        );
        assert_eq!(
            token_failure("122"),
            TokenFailure::Field(Field::Cvc, FieldProblem::CvcInvalid)
        );
        assert_eq!(
            token_failure("132"),
            TokenFailure::Field(Field::Holder, FieldProblem::HolderInvalid)
        );
        assert_eq!(token_failure("902"), TokenFailure::Service { busy: true });
        assert_eq!(token_failure("180"), TokenFailure::Service { busy: false });
    }
}
