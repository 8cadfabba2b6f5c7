//! Sign-in assertions (compact JWS from the browser): split, then the claim checks.
#![no_main]

use kessai_core::amazon::assertion;
use kessai_core::jst::UnixMillis;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = assertion::origin_of(text);
    if let Some((input, mac, claims)) = assertion::split(text) {
        assert!(input.len() < text.len() && mac.len() < text.len());
        let now = UnixMillis(1_700_000_000_000);
        let _ = assertion::check(&claims, now, &claims.aud, Some(&claims.nonce));
        let _ = assertion::check_for_audiences(&claims, now, |a| a.starts_with("https://"), None);
    }
});
