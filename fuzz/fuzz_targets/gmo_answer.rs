//! GMO-PG answers (`Key=Value&…`, CP932, raw URLs in ACS=1/2) and every reader of them.
#![no_main]

use kessai_core::gmo::codec::decode_response;
use kessai_core::gmo::errors::GmoErrors;
use kessai_core::gmo::{api, site, tds2};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(params) = decode_response(data) else {
        return;
    };
    let chars: usize = params
        .iter()
        .map(|(k, v)| k.chars().count() + v.chars().count())
        .sum();
    assert!(chars <= data.len(), "answer grew: {chars} > {}", data.len());
    if let Some(e) = GmoErrors::from_params(&params) {
        let _ = (e.meaning(), e.joined());
    }
    let _ = api::read_access(&params);
    let _ = api::read_exec(&params);
    let _ = api::read_alter(&params);
    let _ = api::read_trade(&params);
    if let Ok(cards) = site::read_cards(&params) {
        assert!(cards.len() <= chars);
        for c in &cards {
            let _ = (c.last_digits(), c.expired(2026, 4));
        }
    }
    let _ = site::read_saved(&params);
    let _ = tds2::read_outcome(&params);
});
