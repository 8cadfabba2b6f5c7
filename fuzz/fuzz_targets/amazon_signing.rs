//! Amazon Pay request signing inputs the sandbox verifies: the `authorization` header,
//! `x-amz-pay-date`, the raw query, base64.
#![no_main]

use kessai_core::amazon::signing::{
    AuthorizationHeader, amz_date, base64_decode, parse_amz_date, parse_query,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(h) = AuthorizationHeader::parse(text) {
        assert_eq!(
            AuthorizationHeader::parse(&h.to_header_value()).as_ref(),
            Ok(&h)
        );
    }
    if let Some(t) = parse_amz_date(text) {
        assert_eq!(parse_amz_date(&amz_date(t)), Some(t));
    }
    let q = parse_query(text);
    assert!(q.len() <= text.len());
    if let Some(b) = base64_decode(text) {
        assert!(b.len() <= text.len());
    }
});
