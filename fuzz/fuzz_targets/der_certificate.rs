//! DER: one element and an X.509 certificate (the SNS signing certificate).
#![no_main]

use kessai_core::der;
use kessai_core::jst::UnixMillis;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((tlv, rest)) = der::read_tlv(data) {
        assert_eq!(tlv.raw.len() + rest.len(), data.len());
    }
    if let Ok(cert) = der::parse_certificate(data) {
        assert!(cert.tbs.len() < data.len());
        let _ = (
            cert.has_rsa_key(),
            cert.valid_at(UnixMillis(1_700_000_000_000)),
        );
    }
});
