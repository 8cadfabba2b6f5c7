//! EMV 3-D Secure 2 end to end with a plain HTTP client: EntryTran → ExecTran (ACS=2) → the
//! RedirectUrl pages (device step, frictionless or challenge, forms parsed and submitted) →
//! the return to RetUrl → SecureTran2 → SearchTrade.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use kessai_core::gmo::codec::{Params, get};
use kessai_core::gmo::tds2::encode_tenant_name;
use kessai_sandbox::{SandboxConfig, test_cards};
use serde_json::json;

const RET: &str = "https://shop.example/3ds/return?x=1";

type Access = (String, String);

async fn entry_with(sb: &Sb, o: &str, extra: &[(&str, &str)]) -> Params {
    let mut p = vec![
        sb.shop()[0],
        sb.shop()[1],
        ("OrderID", o),
        ("JobCd", "AUTH"),
        ("Amount", "5000"),
    ];
    p.extend_from_slice(extra);
    sb.call("EntryTran", &p).await
}

fn access(p: &Params) -> Access {
    assert_eq!(get(p, "ErrCode"), None, "{p:?}");
    (
        get(p, "AccessID").expect("id").to_string(),
        get(p, "AccessPass").expect("pass").to_string(),
    )
}

async fn entry_3ds(sb: &Sb, o: &str, tds2_type: &str, extra: &[(&str, &str)]) -> Access {
    let mut p = vec![("TdFlag", "2"), ("Tds2Type", tds2_type)];
    p.extend_from_slice(extra);
    access(&entry_with(sb, o, &p).await)
}

async fn exec_3ds(sb: &Sb, o: &str, a: &Access, tok: &str, extra: &[(&str, &str)]) -> Params {
    let mut p = vec![
        ("AccessID", a.0.as_str()),
        ("AccessPass", a.1.as_str()),
        ("OrderID", o),
        ("Method", "1"),
        ("Token", tok),
    ];
    p.extend_from_slice(extra);
    sb.call("ExecTran", &p).await
}

/// EntryTran (TdFlag=2, Tds2Type=3) + ExecTran with `card` and RetUrl=RET: the RedirectUrl.
async fn start_3ds(sb: &Sb, tag: &str, card: &str) -> (String, Access, String) {
    let o = order_id(tag);
    let a = entry_3ds(sb, &o, "3", &[]).await;
    let tok = sb.token(card).await;
    let p = exec_3ds(sb, &o, &a, &tok, &[("RetUrl", RET)]).await;
    assert_eq!(get(&p, "ACS"), Some("2"), "{p:?}");
    let url = get(&p, "RedirectUrl").expect("url").to_string();
    (o, a, url)
}

async fn secure_tran2(sb: &Sb, a: &Access) -> Params {
    sb.call("SecureTran2", &[("AccessID", &a.0), ("AccessPass", &a.1)])
        .await
}

async fn status(sb: &Sb, o: &str) -> String {
    get(&sb.search(o).await, "Status").unwrap_or("").to_string()
}

/// The return page's form: POST to RetUrl with only AccessID; the outcome it shows.
fn assert_returns_by_post(html: &str, a: &Access, outcome: &str) {
    assert!(html.contains(r#"<html lang="ja">"#), "{html}");
    let f = form(html, "tds2-return-form");
    assert_eq!((f.method.as_str(), f.action.as_str()), ("post", RET));
    assert_eq!(f.fields, vec![("AccessID".to_string(), a.0.clone())]);
    assert!(
        html.contains(&format!(r#"data-trans-status="{outcome}""#)),
        "{html}"
    );
}

#[tokio::test]
async fn frictionless_cards_end_to_end() {
    let sb = Sb::start().await;
    // (card, EMV outcome, SecureTran2's ErrInfo or None, ECI, SearchTrade status after)
    let cases = [
        (test_cards::APPROVED, "Y", None, "05", "AUTH"),
        (test_cards::APPROVED_MASTERCARD, "Y", None, "02", "AUTH"),
        (test_cards::TDS2_ATTEMPTED, "A", None, "06", "AUTH"),
        (
            test_cards::TDS2_FAILS,
            "N",
            Some("E21030007"),
            "",
            "UNPROCESSED",
        ),
        (
            test_cards::TDS2_REJECTED,
            "R",
            Some("E21030007"),
            "",
            "UNPROCESSED",
        ),
        (
            test_cards::TDS2_UNAVAILABLE,
            "U",
            Some("E21030001"),
            "",
            "UNPROCESSED",
        ),
    ];
    for (card, outcome, err, eci, after) in cases {
        let (o, a, url) = start_3ds(&sb, "fric", card).await;
        assert_eq!(status(&sb, &o).await, "UNPROCESSED");
        let (code, html) = sb.tds2_device_step(&url).await;
        assert_eq!(code, 200, "{card}");
        assert_returns_by_post(&html, &a, outcome);
        let authenticated = if err.is_none() {
            "AUTHENTICATED"
        } else {
            "UNPROCESSED"
        };
        assert_eq!(status(&sb, &o).await, authenticated, "{card}");
        let p = secure_tran2(&sb, &a).await;
        assert_eq!(err_info(&p), err, "{card}: {p:?}");
        if err.is_none() {
            assert_eq!(get(&p, "Tds2TransResult"), Some(outcome));
            assert_eq!(get(&p, "Tds2Eci"), Some(eci));
            assert_eq!(get(&sb.search(&o).await, "TranID"), get(&p, "TranID"));
        }
        assert_eq!(status(&sb, &o).await, after, "{card}");
        let t = sb.get_json(&format!("/__sandbox/trades/{o}")).await;
        assert_eq!(t["tds2_result"], outcome);
        assert!(t["tds2"].is_null(), "SecureTran2 ended the authentication");
        if err.is_some() {
            // Like a decline: a new token on the same AccessID may start again.
            let tok = sb.token(test_cards::APPROVED).await;
            let p = exec_3ds(&sb, &o, &a, &tok, &[("RetUrl", RET)]).await;
            assert_eq!(get(&p, "ACS"), Some("2"), "{p:?}");
        }
    }
}

#[tokio::test]
async fn device_step_records_the_browser_data() {
    let sb = Sb::start().await;
    let (o, _a, url) = start_3ds(&sb, "device", test_cards::APPROVED).await;
    let (code, html) = sb.page(&url).await;
    assert_eq!(code, 200);
    assert!(html.contains(r#"<html lang="ja">"#));
    let f = form(&html, "tds2-method-form");
    assert_eq!(
        (f.method.as_str(), f.action.as_str()),
        ("post", "/tds2/method")
    );
    assert!(html.contains(r#"id="tds2-method-continue""#));
    assert!(html.contains("f.submit()"), "the script submits by itself");
    // What the script would fill in.
    let (code, _, _) = sb
        .submit(
            &url,
            &f,
            &[
                ("browserJavascriptEnabled", "true"),
                ("browserScreenWidth", "1280"),
            ],
        )
        .await;
    assert_eq!(code, 200);
    let t = sb.get_json(&format!("/__sandbox/trades/{o}")).await;
    assert_eq!(t["tds2"]["device"]["browserJavascriptEnabled"], "true");
    assert_eq!(t["tds2"]["device"]["browserScreenWidth"], "1280");
    assert_eq!(t["tds2"]["result"], "Y");
    assert_eq!(t["tds2"]["returned"], true);
}

/// Starts a challenge with a TdTenantName; the challenge page and its code.
async fn challenge(sb: &Sb, tag: &str) -> (String, Access, String, String, String) {
    let o = order_id(tag);
    let name = encode_tenant_name("決済ショップ").expect("encodes");
    let a = entry_3ds(sb, &o, "2", &[("TdTenantName", &name), ("Tax", "500")]).await;
    let tok = sb.token(test_cards::TDS2_CHALLENGE).await;
    let p = exec_3ds(sb, &o, &a, &tok, &[("RetUrl", RET)]).await;
    let url = get(&p, "RedirectUrl").expect("url").to_string();
    let (code, html) = sb.tds2_device_step(&url).await;
    assert_eq!(code, 200, "{html}");
    assert!(html.contains(r#"<html lang="ja">"#));
    assert_eq!(
        text_of(&html, "tds2-merchant").as_deref(),
        Some("決済ショップ")
    );
    assert_eq!(text_of(&html, "tds2-amount").as_deref(), Some("¥5,500"));
    assert_eq!(
        text_of(&html, "tds2-card").as_deref(),
        Some("************3022")
    );
    let code = text_of(&html, "tds2-otp-code").expect("hint");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    for id in ["tds2-otp-hint", "tds2-otp", "tds2-submit", "tds2-cancel"] {
        assert!(html.contains(&format!(r#"id="{id}""#)), "{id}");
    }
    assert!(html.contains("認証する") && html.contains("キャンセル"));
    (o, a, url, html, code)
}

#[tokio::test]
async fn challenge_with_the_right_code_authorizes() {
    let sb = Sb::start().await;
    let (o, a, url, html, code) = challenge(&sb, "chal").await;
    // Not back at RetUrl yet.
    assert_eq!(err_info(&secure_tran2(&sb, &a).await), Some("E11010003"));
    assert_eq!(status(&sb, &o).await, "UNPROCESSED");
    // Reloading the RedirectUrl shows the same challenge (same code).
    let (_, again) = sb.page(&url).await;
    assert_eq!(text_of(&again, "tds2-otp-code"), Some(code.clone()));
    let f = form(&html, "tds2-challenge-form");
    assert_eq!(
        (f.method.as_str(), f.action.as_str()),
        ("post", "/tds2/challenge")
    );
    let (st, html, _) = sb
        .submit(&url, &f, &[("otp", &code), ("action", "submit")])
        .await;
    assert_eq!(st, 200);
    assert_returns_by_post(&html, &a, "Y");
    assert_eq!(status(&sb, &o).await, "AUTHENTICATED");
    let p = secure_tran2(&sb, &a).await;
    assert_eq!(
        (get(&p, "Tds2TransResult"), get(&p, "Tds2Eci")),
        (Some("Y"), Some("05")),
        "{p:?}"
    );
    assert_eq!(status(&sb, &o).await, "AUTH");
    // Each transaction has its own code (6 random digits).
    let (_, _, _, _, other) = challenge(&sb, "chal").await;
    assert_eq!(other.len(), 6);
}

#[tokio::test]
async fn wrong_codes_and_cancel_end_with_n() {
    let sb = Sb::start().await;
    let (o, a, url, html, code) = challenge(&sb, "wrong").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut page = html;
    for left in ["2", "1"] {
        let f = form(&page, "tds2-challenge-form");
        let (st, next, _) = sb.submit(&url, &f, &[("otp", wrong)]).await;
        assert_eq!(st, 200);
        assert_eq!(text_of(&next, "tds2-tries-left").as_deref(), Some(left));
        assert!(next.contains(r#"id="tds2-error""#));
        page = next;
    }
    let f = form(&page, "tds2-challenge-form");
    let (_, last, _) = sb.submit(&url, &f, &[("otp", wrong)]).await;
    assert_returns_by_post(&last, &a, "N");
    assert_eq!(status(&sb, &o).await, "UNPROCESSED");
    assert_eq!(err_info(&secure_tran2(&sb, &a).await), Some("E21030007"));
    assert_eq!(status(&sb, &o).await, "UNPROCESSED");
    // The right code after the end changes nothing.
    let (st, _, _) = sb.submit(&url, &f, &[("otp", &code)]).await;
    assert_eq!(st, 409);

    let (o, a, url, html, _) = challenge(&sb, "cancel").await;
    let f = form(&html, "tds2-challenge-form");
    let (_, back, _) = sb.submit(&url, &f, &[("action", "cancel")]).await;
    assert_returns_by_post(&back, &a, "N");
    assert_eq!(err_info(&secure_tran2(&sb, &a).await), Some("E21030007"));
    assert_eq!(status(&sb, &o).await, "UNPROCESSED");
}

#[tokio::test]
async fn not_enrolled_card_follows_tds2_type() {
    let sb = Sb::start().await;
    for (tds2_type, expected) in [
        ("2", Some("E21030201")),
        ("", Some("E21030201")),
        ("1", Some("E21030201")),
        ("3", None),
    ] {
        let o = order_id("notenr");
        let a = entry_3ds(&sb, &o, tds2_type, &[]).await;
        let tok = sb.token(test_cards::TDS2_NOT_ENROLLED).await;
        let p = exec_3ds(&sb, &o, &a, &tok, &[("RetUrl", RET)]).await;
        assert_eq!(err_info(&p), expected, "Tds2Type={tds2_type}: {p:?}");
        match expected {
            Some(_) => {
                assert_eq!(status(&sb, &o).await, "UNPROCESSED");
                // The token was consumed [U].
                let p = exec_3ds(&sb, &o, &a, &tok, &[("RetUrl", RET)]).await;
                assert_eq!(err_info(&p), Some("EX1000302"));
            }
            None => {
                assert_eq!(get(&p, "ACS"), Some("0"), "plain authorisation");
                assert_eq!(get(&p, "Tds2TransResult"), None);
                assert_eq!(status(&sb, &o).await, "AUTH");
            }
        }
    }
    // Without 3-D Secure every 3-D Secure card approves.
    for card in [
        test_cards::TDS2_NOT_ENROLLED,
        test_cards::TDS2_CHALLENGE,
        test_cards::TDS2_FAILS,
        test_cards::TDS2_REJECTED,
        test_cards::TDS2_UNAVAILABLE,
        test_cards::TDS2_ATTEMPTED,
    ] {
        let o = order_id("plain");
        let a = sb.entry(&o, "AUTH", 100).await;
        let p = sb.exec(&o, &a, &sb.token(card).await).await;
        assert_eq!(get(&p, "ACS"), Some("0"), "{card}: {p:?}");
    }
}

#[tokio::test]
async fn entry_tran_checks_the_3ds_parameters() {
    let sb = Sb::start().await;
    let long = encode_tenant_name("あいうえおかきくけこさしす").err();
    assert!(long.is_some(), "26 bytes cannot be encoded by core");
    // 26 EUC-JP bytes, Base64 by hand: 13 × 「あ」 (0xA4 0xA2).
    let too_long = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode([0xA4u8, 0xA2].repeat(13))
    };
    for (extra, code) in [
        (vec![("TdFlag", "2"), ("Tds2Type", "4")], "E01820007"),
        (
            vec![("TdFlag", "2"), ("TdTenantName", too_long.as_str())],
            "E01800010",
        ),
        (
            vec![("TdFlag", "2"), ("TdTenantName", "not base64!")],
            "E01800010",
        ),
        (vec![("TdFlag", "1")], "E01080007"),
    ] {
        let p = entry_with(&sb, &order_id("entry3"), &extra).await;
        assert_eq!(err_info(&p), Some(code), "{extra:?}");
    }
    let name = encode_tenant_name("ABCDEFGHIJKLMNOPQRSTUVWXY").expect("25 bytes");
    let o = order_id("entry3");
    access(&entry_with(&sb, &o, &[("TdFlag", "2"), ("TdTenantName", &name)]).await);
    let t = sb.get_json(&format!("/__sandbox/trades/{o}")).await;
    assert_eq!(
        (t["tenant_name"].as_str(), t["tds2_type"].as_str()),
        (Some("ABCDEFGHIJKLMNOPQRSTUVWXY"), Some("1"))
    );
}

#[tokio::test]
async fn tds_required_shop_refuses_payments_without_3ds() {
    let sb = Sb::start().await;
    assert_eq!(sb.get_json("/__sandbox/shop").await["tds_required"], false);
    let v = sb
        .control("/__sandbox/shop", json!({"tds_required": true}))
        .await;
    assert_eq!(v["tds_required"], true);
    for extra in [vec![], vec![("TdFlag", "0")]] {
        let p = entry_with(&sb, &order_id("req"), &extra).await;
        assert_eq!(err_info(&p), Some("E01080101"), "{extra:?}");
        assert_eq!(get(&p, "ErrCode"), Some("E01"));
    }
    access(&entry_with(&sb, &order_id("req"), &[("TdFlag", "2")]).await);
    let r = sb
        .http
        .post(sb.url("/__sandbox/shop"))
        .json(&json!({"tds_requird": false}))
        .send()
        .await
        .expect("ok");
    assert_eq!(r.status(), 400, "a mistyped control is refused");
    sb.control("/__sandbox/reset", json!({})).await;
    assert_eq!(sb.get_json("/__sandbox/shop").await["tds_required"], false);
    access(&entry_with(&sb, &order_id("req"), &[]).await);
    // Configured at start: reset keeps the configured value.
    let sb = Sb::start_with(SandboxConfig {
        tds_required: true,
        ..SandboxConfig::default()
    })
    .await;
    sb.control("/__sandbox/reset", json!({})).await;
    let p = entry_with(&sb, &order_id("req"), &[]).await;
    assert_eq!(err_info(&p), Some("E01080101"));
}

#[tokio::test]
async fn exec_tran_checks_ret_url_and_callback_type() {
    let sb = Sb::start().await;
    let o = order_id("ret");
    let a = entry_3ds(&sb, &o, "3", &[]).await;
    let tok = sb.token(test_cards::APPROVED).await;
    for (extra, code) in [
        (vec![], "E01530001"),
        (vec![("RetUrl", "ftp://shop.example/r")], "E01530008"),
        (vec![("RetUrl", "/3ds/return")], "E01530008"),
        (vec![("RetUrl", RET), ("CallbackType", "2")], "E01540010"),
        (vec![("RetUrl", RET), ("CallbackType", "9")], "E01540007"),
    ] {
        let p = exec_3ds(&sb, &o, &a, &tok, &extra).await;
        assert_eq!(err_info(&p), Some(code), "{extra:?}");
    }
    // Parameter errors consume nothing: the same token starts 3-D Secure.
    let p = exec_3ds(&sb, &o, &a, &tok, &[("RetUrl", RET), ("CallbackType", "1")]).await;
    assert_eq!(get(&p, "ACS"), Some("2"), "{p:?}");
}

/// A tiny "shop": records what arrives at its RetUrl (method, query, form body).
async fn shop_listener() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::extract::{Request, State};
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    async fn record(State(seen): State<Arc<Mutex<Vec<String>>>>, req: Request) -> &'static str {
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, 1 << 16)
            .await
            .unwrap_or_default();
        let line = format!(
            "{} {} {}",
            parts.method,
            parts.uri.query().unwrap_or(""),
            String::from_utf8_lossy(&body)
        );
        seen.lock().expect("lock").push(line);
        "shop"
    }
    let app = axum::Router::new()
        .route("/3ds/return", axum::routing::any(record))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/3ds/return?shop=1"), seen)
}

#[tokio::test]
async fn the_browser_arrives_at_ret_url_by_post_or_get() {
    let sb = Sb::start().await;
    let (ret, seen) = shop_listener().await;
    for (callback, expected_method) in [("1", "post"), ("3", "get")] {
        let o = order_id("cb");
        let a = entry_3ds(&sb, &o, "3", &[]).await;
        let tok = sb.token(test_cards::APPROVED).await;
        let p = exec_3ds(
            &sb,
            &o,
            &a,
            &tok,
            &[("RetUrl", &ret), ("CallbackType", callback)],
        )
        .await;
        let url = get(&p, "RedirectUrl").expect("url").to_string();
        let (_, html) = sb.tds2_device_step(&url).await;
        let f = form(&html, "tds2-return-form");
        assert_eq!(f.method, expected_method);
        let (st, body, _) = sb.submit(&url, &f, &[]).await;
        assert_eq!((st, body.as_str()), (200, "shop"));
        let got = seen.lock().expect("lock").pop().expect("arrived");
        let want = match callback {
            "1" => format!("POST shop=1 AccessID={}", a.0),
            _ => format!("GET shop=1&AccessID={} ", a.0),
        };
        assert_eq!(got, want);
        assert!(get(&secure_tran2(&sb, &a).await, "ErrCode").is_none());
    }
}

#[tokio::test]
async fn abandoned_authentication_expires_and_charges_nothing() {
    let sb = Sb::start().await;
    sb.set_clock(T0).await;
    // Abandoned on the challenge page.
    let (o, a, url, html, code) = challenge(&sb, "aband").await;
    sb.advance_minutes(9).await;
    assert_eq!(sb.page(&url).await.0, 200, "still open after 9 minutes");
    sb.advance_minutes(1).await;
    let (st, page) = sb.page(&url).await;
    assert_eq!(st, 410);
    assert!(
        page.contains(r#"id="tds2-expired""#) && !page.contains("<form"),
        "{page}"
    );
    let f = form(&html, "tds2-challenge-form");
    let (st, late, _) = sb.submit(&url, &f, &[("otp", &code)]).await;
    assert_eq!(st, 410, "the return is refused: {late}");
    assert_eq!(status(&sb, &o).await, "UNPROCESSED");
    assert_eq!(err_info(&secure_tran2(&sb, &a).await), Some("E21030001"));
    assert_eq!(status(&sb, &o).await, "UNPROCESSED");
    assert_eq!(sb.page(&url).await.0, 410);

    // Back at RetUrl (AUTHENTICATED) but no SecureTran2 in time: nothing was charged.
    let (o, a, url) = start_3ds(&sb, "aband", test_cards::APPROVED).await;
    sb.tds2_device_step(&url).await;
    assert_eq!(status(&sb, &o).await, "AUTHENTICATED");
    sb.advance_minutes(10).await;
    assert_eq!(status(&sb, &o).await, "UNPROCESSED");
    assert_eq!(err_info(&secure_tran2(&sb, &a).await), Some("E21030001"));

    // The timeout is configurable.
    let sb = Sb::start_with(SandboxConfig {
        tds2_timeout_minutes: 2,
        ..SandboxConfig::default()
    })
    .await;
    sb.set_clock(T0).await;
    let (_, _, url) = start_3ds(&sb, "aband", test_cards::APPROVED).await;
    sb.advance_minutes(2).await;
    assert_eq!(sb.page(&url).await.0, 410);
}

#[tokio::test]
async fn second_secure_tran2_and_replayed_return_do_not_authorize_again() {
    let sb = Sb::start().await;
    let (o, a, url) = start_3ds(&sb, "replay", test_cards::APPROVED).await;
    let (_, method_page) = sb.page(&url).await;
    let method_form = form(&method_page, "tds2-method-form");
    let (_, first, _) = sb.submit(&url, &method_form, &[]).await;
    // Replays before SecureTran2 show the same return, decide nothing new.
    let (st, replay, _) = sb.submit(&url, &method_form, &[]).await;
    assert_eq!(st, 200);
    assert_eq!(
        form(&replay, "tds2-return-form").fields,
        form(&first, "tds2-return-form").fields
    );
    let p = secure_tran2(&sb, &a).await;
    let tran_id = get(&p, "TranID").expect("authorised").to_string();
    assert_eq!(err_info(&secure_tran2(&sb, &a).await), Some("E11010001"));
    let (st, page) = sb.page(&url).await;
    assert_eq!(st, 409);
    assert!(page.contains(r#"id="tds2-finished""#));
    assert_eq!(sb.submit(&url, &method_form, &[]).await.0, 409);
    assert_eq!(err_info(&secure_tran2(&sb, &a).await), Some("E11010001"));
    let s = sb.search(&o).await;
    assert_eq!(
        (get(&s, "Status"), get(&s, "TranID")),
        (Some("AUTH"), Some(tran_id.as_str()))
    );
    let t = sb.get_json(&format!("/__sandbox/trades/{o}")).await;
    let ok_auths = t["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter(|h| h["api"] == "SecureTran2" && h["result"] == "OK")
        .count();
    assert_eq!(ok_auths, 1);
    // An unknown or forged transaction.
    let forged = format!("{}&t=forged", url.split("&t=").next().unwrap_or(""));
    assert_eq!(sb.page(&forged).await.0, 404);
}
