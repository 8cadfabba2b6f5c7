//! Amazon Pay IPN messages (the envelope's `Message`): parse, and round trip.
#![no_main]

use kessai_core::sns::parse_ipn_message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(m) = parse_ipn_message(text) {
        assert_eq!(parse_ipn_message(&m.to_json()).as_ref(), Ok(&m));
    }
});
