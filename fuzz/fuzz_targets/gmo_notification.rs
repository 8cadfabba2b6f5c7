//! GMO 結果通知: the POSTed form, decoded and read.
#![no_main]

use kessai_core::gmo::codec::decode_form;
use kessai_core::gmo::notification::read_notification;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(params) = decode_form(data) else {
        return;
    };
    if let Ok(n) = read_notification(&params) {
        assert!(!n.shop_id.is_empty());
        assert!(n.is_ping() || (!n.order_id.is_empty() && !n.access_id.is_empty()));
        // A CP932 byte becomes at most 3 UTF-8 bytes.
        assert!(n.dedupe_key().len() <= 3 * data.len() + 16);
    }
});
