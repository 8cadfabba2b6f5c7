//! Amazon Pay JSON: every response object the edge reads, the error body, and the request
//! bodies the sandbox reads; states, reason codes and amounts taken from them.
#![no_main]

use kessai_core::amazon::errors;
use kessai_core::amazon::model::{
    Buyer, Charge, ChargePermission, CheckoutSession, CreateCharge, CreateCheckoutSession,
    CreateRefund, ErrorBody, Refund, parse_request_body, to_json,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cs) = serde_json::from_str::<CheckoutSession>(s) {
        let _ = (cs.state(), cs.reason_code(), cs.amazon_pay_redirect_url());
        let _ = cs.charge_amount().map(|p| p.to_jpy());
    }
    if let Ok(cp) = serde_json::from_str::<ChargePermission>(s) {
        let _ = cp.state();
    }
    if let Ok(c) = serde_json::from_str::<Charge>(s) {
        let _ = (c.state(), c.reason_code());
        for p in [&c.charge_amount, &c.capture_amount, &c.refunded_amount]
            .into_iter()
            .flatten()
        {
            if let Ok(y) = p.to_jpy() {
                assert!(y.yen() >= 0);
            }
            let _ = p.to_jpy_strict();
        }
    }
    if let Ok(r) = serde_json::from_str::<Refund>(s) {
        let _ = r.state();
        assert_eq!(
            serde_json::from_str::<Refund>(&to_json(&r)).ok().as_ref(),
            Some(&r)
        );
    }
    if let Ok(e) = serde_json::from_str::<ErrorBody>(s) {
        let _ = errors::classify(errors::http_status_of(&e.reason_code), &e.reason_code);
        let _ = errors::decline_hint_ja(&e.reason_code);
        assert_eq!(
            serde_json::from_str::<ErrorBody>(&to_json(&e))
                .ok()
                .as_ref(),
            Some(&e)
        );
    }
    let _ = serde_json::from_str::<Buyer>(s);
    if let Err(e) = parse_request_body::<CreateCheckoutSession>(s) {
        let _ = (e.reason_code(), e.message());
    }
    let _ = parse_request_body::<CreateCharge>(s);
    let _ = parse_request_body::<CreateRefund>(s);
});
