//! The fields of browser and merchant requests the edge hands to core: `risk` JSON, card fields,
//! cookies, client secrets, idempotency keys, URLs, installments, GMO dates.
#![no_main]

use kessai_core::gmo::{api, installments, risk};
use kessai_core::{access, amazon, card, console, jst, payment};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text)
        && let Ok(r) = risk::parse(Some(&v))
    {
        assert_eq!(risk::parse(Some(&risk::to_json(&r))), Ok(r));
    }
    let _ = risk::prefecture_code(text);
    let _ = card::check_number(text);
    let _ = card::check_expiry(text, 2026, 4);
    let _ = card::check_cvc(text, card::CardBrand::Unknown);
    let _ = card::check_holder(text);
    let _ = card::format_card_number(text);
    assert!(card::format_expiry(text).len() <= 5);
    let _ = console::cookie_value(text, "kessai_console");
    let _ = console::parse_operators(text);
    if let Some(id) = payment::payment_id_of_secret(text) {
        assert!(id.starts_with("pay_"));
    }
    let _ = amazon::request::idempotency_key_ok(text);
    let _ = amazon::request::url_host(text);
    let _ = access::is_loopback_url(text);
    let _ = installments::InstallmentPlan::parse(text);
    let _ = api::order_id_error(text);
    if let Some(dt) = jst::JstDateTime::parse_gmo(text) {
        assert_eq!(dt.gmo_format(), text);
    }
});
