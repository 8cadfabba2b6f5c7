//! Form bodies (percent-encoded CP932): decode, and what decodes re-encodes to the same pairs.
#![no_main]

use kessai_core::gmo::codec::{decode_form, encode_form};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(params) = decode_form(data) else {
        return;
    };
    assert!(params.len() <= data.len());
    if let Ok(body) = encode_form(&params) {
        assert_eq!(decode_form(body.as_bytes()).as_ref(), Ok(&params));
    }
});
