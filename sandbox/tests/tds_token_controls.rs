//! 3-D Secure 2 stub, the token JS stand-in and its JSON API, and the `/__sandbox` controls.

mod common;

use std::time::Duration;

use common::*;
use kessai_core::gmo::api::{ExecResult, read_exec};
use kessai_core::gmo::codec::{decode_response, get};
use kessai_sandbox::test_cards;
use serde_json::{Value, json};

async fn tds_entry(sb: &Sb, o: &str) -> (String, String) {
    let p = sb
        .call(
            "EntryTran",
            &[
                sb.shop()[0],
                sb.shop()[1],
                ("OrderID", o),
                ("JobCd", "AUTH"),
                ("Amount", "5000"),
                ("TdFlag", "2"),
            ],
        )
        .await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    (
        get(&p, "AccessID").expect("id").to_string(),
        get(&p, "AccessPass").expect("pass").to_string(),
    )
}

#[tokio::test]
async fn three_d_secure_2_redirect_is_raw_and_completes_through_secure_tran2() {
    let sb = Sb::start().await;
    let o = order_id("tds");
    let a = tds_entry(&sb, &o).await;
    let tok = sb.token(test_cards::APPROVED).await;
    // RetUrl is required with TdFlag=2.
    let p = sb.exec(&o, &a, &tok).await;
    assert_eq!(err_info(&p), Some("E01530001"));
    let ret = "https://shop.example/3ds/return?x=1&y=2";
    let raw = sb
        .raw(
            "ExecTran",
            &[
                ("AccessID", &a.0),
                ("AccessPass", &a.1),
                ("OrderID", &o),
                ("Method", "1"),
                ("Token", &tok),
                ("RetUrl", ret),
            ],
        )
        .await;
    let text = String::from_utf8(raw.clone()).expect("ascii");
    let prefix = format!(
        "ACS=2&RedirectUrl={}/payment/Tds2StubCallback.idPass?transId=",
        sb.h.base_url
    );
    assert!(text.starts_with(&prefix), "{text}");
    assert!(text.contains("&t="), "raw & inside the URL: {text}");
    assert!(!text.contains('%'), "not percent-encoded: {text}");
    // core's decoder keeps the URL whole.
    let p = decode_response(&raw).expect("decodes");
    let url = get(&p, "RedirectUrl").expect("url").to_string();
    assert_eq!(format!("ACS=2&RedirectUrl={url}"), text);
    let Ok(ExecResult::ThreeDSecure { redirect_url }) = read_exec(&p) else {
        panic!("{p:?}")
    };
    assert_eq!(redirect_url, url);
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("UNPROCESSED"));
    // SecureTran2 before the browser came back is refused.
    let st2 = [("AccessID", a.0.as_str()), ("AccessPass", a.1.as_str())];
    assert_eq!(
        err_info(&sb.call("SecureTran2", &st2).await),
        Some("E11010003")
    );
    // The browser opens the stub (device step, then frictionless Y); it posts AccessID back to
    // RetUrl.
    let (status, html) = sb.tds2_device_step(&url).await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"action="https://shop.example/3ds/return?x=1&amp;y=2""#),
        "{html}"
    );
    assert!(html.contains(&format!(r#"name="AccessID" value="{}""#, a.0)));
    assert!(html.contains(r#"method="post""#));
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("AUTHENTICATED"));
    // A forged t is not accepted.
    let forged = format!("{}&t=forged", url.split("&t=").next().unwrap_or(""));
    assert_eq!(
        sb.http.get(&forged).send().await.expect("stub").status(),
        404
    );
    let p = sb.call("SecureTran2", &st2).await;
    let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "OrderID",
            "Forward",
            "Method",
            "PayTimes",
            "Approve",
            "TranID",
            "TranDate",
            "CheckString",
            "Tds2TransResult",
            "Tds2Eci"
        ]
    );
    let s = sb.search(&o).await;
    assert_eq!(
        (get(&s, "Status"), get(&s, "TranID")),
        (Some("AUTH"), get(&p, "TranID"))
    );
    assert_eq!(
        err_info(&sb.call("SecureTran2", &st2).await),
        Some("E11010001")
    );
}

#[tokio::test]
async fn three_d_secure_2_failure_and_decline_leave_the_order_retryable() {
    let sb = Sb::start().await;
    for (card, code) in [
        (test_cards::TDS2_FAILS, "E21030007"),
        (test_cards::INSUFFICIENT_FUNDS, "42G020000"),
    ] {
        let o = order_id("tdsfail");
        let a = tds_entry(&sb, &o).await;
        let tok = sb.token(card).await;
        let p = sb
            .call(
                "ExecTran",
                &[
                    ("AccessID", &a.0),
                    ("AccessPass", &a.1),
                    ("OrderID", &o),
                    ("Method", "1"),
                    ("Token", &tok),
                    ("RetUrl", "http://127.0.0.1/r"),
                    ("CallbackType", "3"),
                ],
            )
            .await;
        let url = get(&p, "RedirectUrl").expect("url").to_string();
        let (status, html) = sb.tds2_device_step(&url).await;
        assert_eq!(status, 200);
        assert!(
            html.contains(r#"method="get""#),
            "CallbackType=3 returns by GET"
        );
        let p = sb
            .call("SecureTran2", &[("AccessID", &a.0), ("AccessPass", &a.1)])
            .await;
        assert_eq!(err_info(&p), Some(code));
        assert_eq!(get(&sb.search(&o).await, "Status"), Some("UNPROCESSED"));
        // A new token on the same AccessID starts 3-D Secure again.
        let tok = sb.token(test_cards::APPROVED).await;
        let p = sb
            .call(
                "ExecTran",
                &[
                    ("AccessID", &a.0),
                    ("AccessPass", &a.1),
                    ("OrderID", &o),
                    ("Method", "1"),
                    ("Token", &tok),
                    ("RetUrl", "http://127.0.0.1/r"),
                ],
            )
            .await;
        assert_eq!(get(&p, "ACS"), Some("2"));
    }
}

#[tokio::test]
async fn token_js_is_served_with_multipayment() {
    let sb = Sb::start().await;
    let r = sb.http.get(sb.h.token_js_url()).send().await.expect("js");
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap_or("")
            .starts_with("application/javascript")
    );
    let js = r.text().await.expect("text");
    for needle in [
        "Multipayment",
        "init",
        "getToken",
        "/ext/api/credit/getToken",
        "currentScript",
        "IN THE CLEAR",
    ] {
        assert!(js.contains(needle), "{needle}");
    }
}

#[tokio::test]
async fn get_token_api_codes_cors_and_shapes() {
    let sb = Sb::start().await;
    sb.set_clock(T0).await;
    let shop = sb.cfg.shop_id.clone();
    let base = json!({"shopId": shop, "cardno": test_cards::APPROVED, "expire": "203012", "securitycode": "123", "holdername": "TARO YAMADA"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, code) in [
        (with("cardno", json!("")), "100"),
        (with("cardno", json!("4111x")), "101"),
        (with("cardno", json!("411111111")), "102"),
        (with("expire", json!("")), "110"),
        (with("expire", json!("2030a2")), "111"),
        (with("expire", json!("20301")), "112"),
        (with("expire", json!("203013")), "113"),
        (with("securitycode", json!("12a")), "121"),
        (with("securitycode", json!("12345")), "122"),
        (with("holdername", json!("山田")), "131"),
        (with("holdername", json!("A".repeat(51))), "132"),
        (with("tokennumber", json!("a")), "141"),
        (with("tokennumber", json!(11)), "142"),
        (with("shopId", json!("")), "160"),
        (with("shopId", json!("tshop99999999")), "180"),
    ] {
        let v = sb.token_json(body.clone()).await;
        assert_eq!(v["resultCode"], code, "{body}");
        assert!(v.get("tokenObject").is_none());
    }
    let r = sb
        .http
        .post(sb.url("/ext/api/credit/getToken"))
        .json(&base)
        .send()
        .await
        .expect("ok");
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    let v: Value = r.json().await.expect("json");
    let t = &v["tokenObject"];
    let token = t["token"].as_str().expect("string token");
    assert_eq!(token.len(), 64);
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(t["maskedCardNo"], "411111******1111");
    assert_eq!(t["isSecurityCodeSet"], true);
    assert_eq!(t["toBeExpiredAt"], "2026-11-15-12-30-00");
    // tokennumber → an array of distinct tokens; no CVC → isSecurityCodeSet false.
    let v = sb.token_json(json!({"shopId": shop, "cardno": test_cards::APPROVED_JCB, "expire": "3012", "tokennumber": "3"})).await;
    let arr = v["tokenObject"]["token"].as_array().expect("array");
    assert_eq!(arr.len(), 3);
    assert_ne!(arr[0], arr[1]);
    assert_eq!(v["tokenObject"]["isSecurityCodeSet"], false);
    // Preflight.
    let r = sb
        .http
        .request(reqwest::Method::OPTIONS, sb.url("/ext/api/credit/getToken"))
        .header("origin", "http://shop.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight");
    assert!(r.status().is_success());
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(
        r.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap_or("")
            .to_lowercase()
            .contains("content-type")
    );
    // Not JSON.
    let r = sb
        .http
        .post(sb.url("/ext/api/credit/getToken"))
        .body("cardno=1")
        .send()
        .await
        .expect("ok");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["resultCode"], "150");
}

/// Runs the served token.js in node (if installed) with a minimal browser shim and the real
/// fetch against the sandbox.
#[tokio::test]
async fn token_js_runs_in_node() {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("node not installed: skipping the token.js execution test");
        return;
    }
    let sb = Sb::start().await;
    let src = sb.h.token_js_url();
    let script = format!(
        r#"
globalThis.window = globalThis;
globalThis.location = {{ href: "http://shop.example/checkout", origin: "http://shop.example" }};
globalThis.document = {{ currentScript: {{ src: {src:?} }}, getElementsByTagName: () => [] }};
const code = await (await fetch({src:?})).text();
(0, eval)(code);
const call = (card, cb) => new Promise(res => {{ window[cb] = res; Multipayment.getToken(card, cb); }});
const out = [];
out.push(await call({{ cardno: "4111111111111111", expire: "203012" }}, "cbA"));
Multipayment.init({shop:?});
out.push(await call({{ cardno: "", expire: "203012" }}, "cbB"));
out.push(await call({{ cardno: "4111111111111111", expire: "203013" }}, "cbC"));
out.push(await new Promise(res => Multipayment.getToken({{ cardno: "4111111111111111", expire: "3012", securitycode: "123", holdername: "TARO YAMADA" }}, res)));
out.push(await new Promise(res => Multipayment.getToken({{ cardno: "4111111111111111", expire: "3012", tokennumber: 2 }}, res)));
let sync = true;
const p = new Promise(res => Multipayment.getToken({{}}, r => res(sync)));
sync = false;
out.push(await p);
console.log(JSON.stringify(out));
"#,
        shop = sb.cfg.shop_id
    );
    let dir = std::env::temp_dir().join(format!("kessai-sandbox-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("t.mjs");
    std::fs::write(&file, script).expect("write");
    let out = tokio::process::Command::new("node")
        .arg(&file)
        .output()
        .await
        .expect("node runs");
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v[0]["resultCode"], "160", "no init");
    assert_eq!(v[1]["resultCode"], "100");
    assert_eq!(v[2]["resultCode"], "113");
    assert_eq!(v[3]["resultCode"], "000");
    let token = v[3]["tokenObject"]["token"].as_str().expect("token");
    assert_eq!(token.len(), 64);
    assert_eq!(v[3]["tokenObject"]["maskedCardNo"], "411111******1111");
    assert_eq!(
        v[4]["tokenObject"]["token"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(v[5], false, "callbacks are asynchronous");
    // The token the script got pays.
    let o = order_id("nodejs");
    let a = sb.entry(&o, "AUTH", 100).await;
    assert_eq!(get(&sb.exec(&o, &a, token).await, "ACS"), Some("0"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn clock_control() {
    let sb = Sb::start().await;
    let v = sb.get_json("/__sandbox/clock").await;
    assert_eq!(v["frozen"], false);
    sb.set_clock(T0).await;
    let v = sb.get_json("/__sandbox/clock").await;
    assert_eq!(
        (
            v["unix_ms"].as_i64(),
            v["jst"].as_str(),
            v["frozen"].as_bool()
        ),
        (Some(T0), Some("20261115120000"), Some(true))
    );
    let v = sb
        .control("/__sandbox/clock", json!({"advance_minutes": 90}))
        .await;
    assert_eq!(v["jst"], "20261115133000");
    let r = sb
        .http
        .post(sb.url("/__sandbox/clock"))
        .json(&json!({"advance_minutes": "x"}))
        .send()
        .await
        .expect("ok");
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn request_log_masks_secrets_and_counts_calls_per_order() {
    let sb = Sb::start().await;
    let o = order_id("log");
    let a = sb.entry(&o, "AUTH", 100).await;
    let tok = sb.token(test_cards::APPROVED).await;
    sb.exec(&o, &a, &tok).await;
    sb.alter(&a, &[("JobCd", "SALES"), ("Amount", "100")]).await;
    sb.search(&o).await;
    sb.call(
        "ExecTran",
        &[
            ("AccessID", &a.0),
            ("AccessPass", &a.1),
            ("OrderID", &o),
            ("Method", "1"),
            ("CardNo", test_cards::APPROVED),
            ("Expire", "3012"),
            ("SecurityCode", "987"),
        ],
    )
    .await;
    let log = sb
        .get_json(&format!("/__sandbox/requests?order_id={o}"))
        .await;
    let rows = log.as_array().expect("array");
    let apis: Vec<&str> = rows
        .iter()
        .map(|r| r["api"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        apis,
        [
            "EntryTran",
            "ExecTran",
            "AlterTran",
            "SearchTrade",
            "ExecTran"
        ]
    );
    assert_eq!(rows[1]["result"], "OK");
    assert_eq!(rows[4]["result"], "E61040001");
    assert_eq!(rows[1]["params"]["OrderID"], o.as_str());
    assert_eq!(rows[4]["params"]["CardNo"], "************1111");
    assert_eq!(rows[4]["params"]["SecurityCode"], "***");
    assert_eq!(rows[1]["params"]["AccessPass"], "********");
    let text = log.to_string();
    for secret in [
        sb.cfg.shop_pass.as_str(),
        a.1.as_str(),
        tok.as_str(),
        test_cards::APPROVED,
    ] {
        assert!(!text.contains(secret), "log leaks {secret}");
    }
    let execs = sb
        .get_json(&format!("/__sandbox/requests?order_id={o}&api=ExecTran"))
        .await;
    assert_eq!(execs.as_array().map(Vec::len), Some(2));
    // Stored trade JSON; unknown → 404.
    let t = sb.get_json(&format!("/__sandbox/trades/{o}")).await;
    assert_eq!(
        (t["status"].as_str(), t["amount"].as_i64()),
        (Some("SALES"), Some(100))
    );
    assert!(!t.to_string().contains(test_cards::APPROVED));
    let r = sb
        .http
        .get(sb.url("/__sandbox/trades/nope"))
        .send()
        .await
        .expect("ok");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn delay_fault_answers_late_but_commits() {
    let sb = Sb::start().await;
    let o = order_id("fault");
    let a = sb.entry(&o, "AUTH", 100).await;
    let tok = sb.token(test_cards::APPROVED).await;
    sb.control(
        "/__sandbox/faults",
        json!({"api": "ExecTran", "delay_ms": 1500, "times": 1}),
    )
    .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let body = kessai_core::gmo::codec::encode_form(&[
        ("AccessID", a.0.as_str()),
        ("AccessPass", &a.1),
        ("OrderID", &o),
        ("Method", "1"),
        ("Token", &tok),
    ])
    .expect("form");
    let r = impatient
        .post(sb.url("/payment/ExecTran.idPass"))
        .body(body)
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()), "the client timed out");
    // The authorisation happened anyway: SearchTrade (not delayed) sees it.
    let s = sb.search(&o).await;
    assert_eq!(get(&s, "Status"), Some("AUTH"));
    // The fault was used up.
    let o2 = order_id("fault");
    let a2 = sb.entry(&o2, "AUTH", 100).await;
    let started = std::time::Instant::now();
    assert_eq!(
        get(
            &sb.exec(&o2, &a2, &sb.token(test_cards::APPROVED).await)
                .await,
            "ACS"
        ),
        Some("0")
    );
    assert!(started.elapsed() < Duration::from_millis(1000));
}

#[tokio::test]
async fn late_execution_fault_runs_the_call_after_the_client_gave_up() {
    let sb = Sb::start().await;
    let o = order_id("late");
    let a = sb.entry(&o, "AUTH", 100).await;
    let tok = sb.token(test_cards::APPROVED).await;
    sb.control(
        "/__sandbox/faults",
        json!({"api": "ExecTran", "delay_ms": 1200, "times": 1, "execute_late": true}),
    )
    .await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client");
    let body = kessai_core::gmo::codec::encode_form(&[
        ("AccessID", a.0.as_str()),
        ("AccessPass", &a.1),
        ("OrderID", &o),
        ("Method", "1"),
        ("Token", &tok),
    ])
    .expect("form");
    let r = impatient
        .post(sb.url("/payment/ExecTran.idPass"))
        .body(body)
        .send()
        .await;
    assert!(r.is_err_and(|e| e.is_timeout()), "the client timed out");
    // Still running at "GMO": nothing authorised yet…
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("UNPROCESSED"));
    // …until the held-back call executes.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("AUTH"));
}

#[tokio::test]
async fn error_fault_answers_without_executing() {
    let sb = Sb::start().await;
    let o = order_id("efault");
    let a = sb.entry(&o, "AUTH", 100).await;
    let tok = sb.token(test_cards::APPROVED).await;
    sb.control(
        "/__sandbox/faults",
        json!({"api": "ExecTran", "times": 2, "err_info": "E92000001"}),
    )
    .await;
    for _ in 0..2 {
        let p = sb.exec(&o, &a, &tok).await;
        assert_eq!(
            (get(&p, "ErrCode"), err_info(&p)),
            (Some("E92"), Some("E92000001"))
        );
    }
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("UNPROCESSED"));
    assert_eq!(
        get(&sb.exec(&o, &a, &tok).await, "ACS"),
        Some("0"),
        "token was not consumed"
    );
    sb.control(
        "/__sandbox/faults",
        json!({"api": "getToken", "err_info": "902"}),
    )
    .await;
    let v = sb
        .token_json(
            json!({"shopId": sb.cfg.shop_id, "cardno": test_cards::APPROVED, "expire": "3012"}),
        )
        .await;
    assert_eq!(v["resultCode"], "902");
}

#[tokio::test]
async fn stop_releases_the_port() {
    let sb = Sb::start().await;
    let addr = sb.h.addr;
    sb.h.stop().await;
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/ext/js/token.js"))
        .send()
        .await;
    assert!(r.is_err(), "server stopped");
}
