//! SNS envelopes (Amazon Pay IPN delivery): parse, string to sign, certificate URL rules, and
//! an envelope written back out parses to itself.
#![no_main]

use kessai_core::sns;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(e) = sns::parse_envelope(body) else {
        return;
    };
    let _ = e.string_to_sign();
    let _ = sns::check_live_cert_url(&e.signing_cert_url);
    let _ = sns::check_sandbox_cert_url(&e.signing_cert_url, "https://127.0.0.1:9/sns/");
    if let Some(u) = &e.subscribe_url {
        let _ = sns::check_live_subscribe_url(u);
    }
    assert_eq!(sns::parse_envelope(&e.to_json()).as_ref(), Ok(&e));
    let _ = sns::parse_ipn_message(&e.message);
});
