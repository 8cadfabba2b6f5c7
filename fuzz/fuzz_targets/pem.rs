//! PEM armour around a certificate: the DER inside, then the certificate.
#![no_main]

use kessai_core::der;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(bytes) = der::certificate_der_from_pem(text) {
        assert!(bytes.len() * 4 <= text.len() * 3);
        let _ = der::parse_certificate(&bytes);
    }
});
