//! EntryTran / ExecTran / SearchTrade against a running sandbox: wire shapes, OrderID rules,
//! tokens and the test cards.

mod common;

use common::*;
use kessai_core::gmo::api::{Answer, ExecResult, read, read_exec, read_trade};
use kessai_core::gmo::codec::{decode_response, get};
use kessai_core::gmo::status::TranStatus;
use kessai_sandbox::test_cards;
use serde_json::json;

fn md5_hex(s: &str) -> String {
    // Independent MD5 for the CheckString check, via the md-5 crate the sandbox also uses would
    // prove nothing; compare against the known vector of the formula instead.
    use std::process::Command;
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib,sys;print(hashlib.md5(sys.argv[1].encode()).hexdigest())",
            s,
        ])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => String::new(),
    }
}

#[tokio::test]
async fn recorded_answer_shapes() {
    let sb = Sb::start().await;
    sb.set_clock(T0).await;
    assert_eq!(jst(T0), "20261115120000");
    let order = order_id("shape");
    let access = sb.entry(&order, "AUTH", 1200).await;
    for v in [&access.0, &access.1] {
        assert_eq!(v.len(), 32);
        assert!(v.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    let tok = sb.token(test_cards::APPROVED).await;
    let raw = sb.exec_raw(&order, &access, &tok).await;
    let p = decode_response(&raw).expect("decodes");
    let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "ACS",
            "OrderID",
            "Forward",
            "Method",
            "PayTimes",
            "Approve",
            "TranID",
            "TranDate",
            "CheckString"
        ]
    );
    assert_eq!(get(&p, "Forward"), Some("2a99662"));
    assert_eq!(get(&p, "PayTimes"), Some(""));
    let approve = get(&p, "Approve").expect("approve");
    assert!(approve.len() == 7 && approve.bytes().all(|b| b.is_ascii_digit()));
    let tran_id = get(&p, "TranID").expect("tranid");
    assert_eq!(tran_id.len(), 28);
    assert!(tran_id.starts_with("2611151200111111111111"), "{tran_id}");
    assert_eq!(get(&p, "TranDate"), Some("20261115120000"));
    let check = get(&p, "CheckString").expect("check");
    let expected = md5_hex(&format!(
        "{order}2a996621{approve}{tran_id}20261115120000{}",
        sb.cfg.shop_pass
    ));
    if !expected.is_empty() {
        assert_eq!(check, expected);
    }
    assert_eq!(check.len(), 32);
    // core's reader accepts it.
    let Ok(Answer::Ok(ExecResult::Authorized(a))) = read(&p, read_exec) else {
        panic!("core reads the answer: {p:?}")
    };
    assert_eq!(a.tran_id, tran_id);

    let s = sb.search(&order).await;
    let keys: Vec<&str> = s.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "OrderID",
            "Status",
            "ProcessDate",
            "JobCd",
            "AccessID",
            "AccessPass",
            "ItemCode",
            "Amount",
            "Tax",
            "SiteID",
            "MemberID",
            "CardNo",
            "Expire",
            "Method",
            "PayTimes",
            "Forward",
            "TranID",
            "Approve",
            "ClientField1",
            "ClientField2",
            "ClientField3"
        ]
    );
    let Ok(Answer::Ok(t)) = read(&s, read_trade) else {
        panic!("trade {s:?}")
    };
    assert_eq!(t.status, TranStatus::Auth);
    assert_eq!(
        (t.amount, t.card_no.as_str(), t.approve.as_str()),
        (1200, "************1111", approve)
    );
    assert_eq!(get(&s, "ItemCode"), Some("0000990"));
    assert_eq!(get(&s, "Expire"), Some("3012"));
    assert_eq!(get(&s, "JobCd"), Some("AUTH"));
}

#[tokio::test]
async fn search_right_after_entry_is_unprocessed_and_unknown_order_is_e01110002() {
    let sb = Sb::start().await;
    let order = order_id("fresh");
    sb.entry(&order, "CAPTURE", 500).await;
    let s = sb.search(&order).await;
    assert_eq!(get(&s, "Status"), Some("UNPROCESSED"));
    for k in ["CardNo", "Forward", "TranID", "Approve"] {
        assert_eq!(get(&s, k), Some(""), "{k}");
    }
    let s = sb.search("no-such-order").await;
    assert_eq!(get(&s, "ErrCode"), Some("E01"));
    assert_eq!(err_info(&s), Some("E01110002"));
}

#[tokio::test]
async fn cp932_client_field_round_trip() {
    let sb = Sb::start().await;
    let order = order_id("sjis");
    let access = sb.entry(&order, "AUTH", 300).await;
    let tok = sb.token(test_cards::APPROVED).await;
    let field = "山田太郎 ﾃｽﾄ 東京都";
    let raw = sb
        .raw(
            "ExecTran",
            &[
                ("AccessID", &access.0),
                ("AccessPass", &access.1),
                ("OrderID", &order),
                ("Method", "1"),
                ("Token", &tok),
                ("ClientField1", field),
                ("ClientField2", "x"),
                ("ClientFieldFlag", "1"),
            ],
        )
        .await;
    // 山 is 0x8E 0x52 and ﾃ is the single byte 0xC3 in CP932: the answer is raw CP932.
    assert!(raw.windows(2).any(|w| w == [0x8E, 0x52]), "raw CP932 bytes");
    assert!(raw.contains(&0xC3));
    let p = decode_response(&raw).expect("decodes");
    assert_eq!(get(&p, "ClientField1"), Some(field));
    assert_eq!(get(&p, "ClientField2"), Some("x"));
    assert_eq!(get(&p, "ClientField3"), Some(""));
    let s = sb.search(&order).await;
    assert_eq!(get(&s, "ClientField1"), Some(field));
    // Without ClientFieldFlag the fields are stored but not echoed.
    let order2 = order_id("sjis");
    let access2 = sb.entry(&order2, "AUTH", 300).await;
    let tok2 = sb.token(test_cards::APPROVED).await;
    let p = sb
        .call(
            "ExecTran",
            &[
                ("AccessID", &access2.0),
                ("AccessPass", &access2.1),
                ("OrderID", &order2),
                ("Method", "1"),
                ("Token", &tok2),
                ("ClientField1", field),
            ],
        )
        .await;
    assert_eq!(get(&p, "ACS"), Some("0"));
    assert_eq!(get(&p, "ClientField1"), None);
    // Over 100 CP932 bytes is refused.
    let long = "あ".repeat(51);
    let order3 = order_id("sjis");
    let access3 = sb.entry(&order3, "AUTH", 300).await;
    let p = sb
        .call(
            "ExecTran",
            &[
                ("AccessID", &access3.0),
                ("AccessPass", &access3.1),
                ("OrderID", &order3),
                ("Method", "1"),
                ("Token", "t"),
                ("ClientField1", &long),
            ],
        )
        .await;
    assert_eq!(err_info(&p), Some("E01320012"));
}

#[tokio::test]
async fn get_is_refused_like_gmo_and_unknown_api_is_e91099997() {
    let sb = Sb::start().await;
    let r = sb
        .http
        .get(sb.url("/payment/EntryTran.idPass"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().await.expect("body"),
        "ErrCode=E00&ErrInfo=E31500014"
    );
    let p = sb.call("NoSuchApi", &[("A", "1")]).await;
    assert_eq!(err_info(&p), Some("E91099997"));
}

#[tokio::test]
async fn recorded_multi_error_answers() {
    let sb = Sb::start().await;
    // ExecTran with every value the literal "null" (RB cassette).
    let raw = sb
        .raw(
            "ExecTran",
            &[
                ("AccessID", "null"),
                ("AccessPass", "null"),
                ("OrderID", "null"),
                ("CardNo", "null"),
                ("Expire", "null"),
            ],
        )
        .await;
    assert_eq!(
        String::from_utf8_lossy(&raw),
        "ErrCode=E01|E01|E01|E01|E01|E01&ErrInfo=E01090008|E01100008|E01110002|E01170011|E01170006|E01180006"
    );
    let order = order_id("nulls");
    let raw = sb
        .raw(
            "EntryTran",
            &[
                sb.shop()[0],
                sb.shop()[1],
                ("OrderID", &order),
                ("JobCd", "null"),
                ("Amount", "null"),
            ],
        )
        .await;
    assert_eq!(
        String::from_utf8_lossy(&raw),
        "ErrCode=E01|E01&ErrInfo=E01050002|E01060006"
    );
    let raw = sb
        .raw(
            "AlterTran",
            &[
                sb.shop()[0],
                sb.shop()[1],
                ("AccessID", "null"),
                ("AccessPass", "null"),
                ("JobCd", "SALES"),
                ("Amount", "100"),
            ],
        )
        .await;
    assert_eq!(
        String::from_utf8_lossy(&raw),
        "ErrCode=E01|E01|E01&ErrInfo=E01090008|E01100008|E01110002"
    );
    // A bogus token (RB cassette): EX1000301.
    let order = order_id("bogus");
    let access = sb.entry(&order, "AUTH", 100).await;
    let raw = sb.exec_raw(&order, &access, "bogus").await;
    assert_eq!(
        String::from_utf8_lossy(&raw),
        "ErrCode=EX1&ErrInfo=EX1000301"
    );
}

#[tokio::test]
async fn entry_tran_validation() {
    let sb = Sb::start().await;
    let o = order_id("val");
    let p = sb
        .call(
            "EntryTran",
            &[
                ("ShopID", "tshop00000001"),
                ("ShopPass", "wrong"),
                ("OrderID", &o),
                ("JobCd", "AUTH"),
                ("Amount", "100"),
            ],
        )
        .await;
    assert_eq!(err_info(&p), Some("E01030002"));
    let p = sb.call("EntryTran", &[]).await;
    assert_eq!(get(&p, "ErrCode"), Some("E01|E01|E01|E01|E01"));
    assert_eq!(
        err_info(&p),
        Some("E01010001|E01020001|E01040001|E01050001|E01060001")
    );
    let cases: &[(&str, &str, &str, &str)] = &[
        ("AUTH", "10000000", "0", "E01060005"),
        ("AUTH", "0", "0", "E01060005"),
        ("AUTH", "9999999", "1", "E01490005"),
        ("AUTH", "12a", "0", "E01060006"),
        ("SALES", "100", "0", "E01050002"),
        ("AUTH", "100", "x", "E01070006"),
    ];
    for (job, amount, tax, code) in cases {
        let o = order_id("val");
        let p = sb
            .call(
                "EntryTran",
                &[
                    sb.shop()[0],
                    sb.shop()[1],
                    ("OrderID", &o),
                    ("JobCd", job),
                    ("Amount", amount),
                    ("Tax", tax),
                ],
            )
            .await;
        assert_eq!(err_info(&p), Some(*code), "{job} {amount} {tax}");
    }
    for (o, code) in [("ord_1", "E01040013"), (&*"a".repeat(28), "E01040003")] {
        let p = sb
            .call(
                "EntryTran",
                &[
                    sb.shop()[0],
                    sb.shop()[1],
                    ("OrderID", o),
                    ("JobCd", "AUTH"),
                    ("Amount", "1"),
                ],
            )
            .await;
        assert_eq!(err_info(&p), Some(code));
    }
    // Boundaries accepted: 27 chars, 9,999,998 + 1 tax, CHECK without amount.
    let o27 = "A".repeat(27);
    let p = sb
        .call(
            "EntryTran",
            &[
                sb.shop()[0],
                sb.shop()[1],
                ("OrderID", &o27),
                ("JobCd", "AUTH"),
                ("Amount", "9999998"),
                ("Tax", "1"),
            ],
        )
        .await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    let o = order_id("check");
    let p = sb
        .call(
            "EntryTran",
            &[
                sb.shop()[0],
                sb.shop()[1],
                ("OrderID", &o),
                ("JobCd", "CHECK"),
            ],
        )
        .await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
}

#[tokio::test]
async fn order_id_is_unique_forever() {
    let sb = Sb::start().await;
    // After a success.
    let o = order_id("uniq");
    sb.entry(&o, "AUTH", 100).await;
    let again = [
        sb.shop()[0],
        sb.shop()[1],
        ("OrderID", o.as_str()),
        ("JobCd", "AUTH"),
        ("Amount", "100"),
    ];
    assert_eq!(
        err_info(&sb.call("EntryTran", &again).await),
        Some("E01040010")
    );
    // After a failed EntryTran (bad amount) the OrderID is taken too [U].
    let o = order_id("uniq");
    let bad = [
        sb.shop()[0],
        sb.shop()[1],
        ("OrderID", o.as_str()),
        ("JobCd", "AUTH"),
        ("Amount", "0"),
    ];
    assert_eq!(
        err_info(&sb.call("EntryTran", &bad).await),
        Some("E01060005")
    );
    let good = [
        sb.shop()[0],
        sb.shop()[1],
        ("OrderID", o.as_str()),
        ("JobCd", "AUTH"),
        ("Amount", "100"),
    ];
    assert_eq!(
        err_info(&sb.call("EntryTran", &good).await),
        Some("E01040010")
    );
    // After a declined ExecTran.
    let o = order_id("uniq");
    let access = sb.entry(&o, "AUTH", 100).await;
    let tok = sb.token(test_cards::INSUFFICIENT_FUNDS).await;
    assert_eq!(
        err_info(&sb.exec(&o, &access, &tok).await),
        Some("42G020000")
    );
    let again = [
        sb.shop()[0],
        sb.shop()[1],
        ("OrderID", o.as_str()),
        ("JobCd", "AUTH"),
        ("Amount", "100"),
    ];
    assert_eq!(
        err_info(&sb.call("EntryTran", &again).await),
        Some("E01040010")
    );
    // A wrong shop password reserves nothing.
    let o = order_id("uniq");
    let wrong = [
        ("ShopID", "tshop00000001"),
        ("ShopPass", "nope"),
        ("OrderID", o.as_str()),
        ("JobCd", "AUTH"),
        ("Amount", "100"),
    ];
    assert_eq!(
        err_info(&sb.call("EntryTran", &wrong).await),
        Some("E01030002")
    );
    sb.entry(&o, "AUTH", 100).await;
}

#[tokio::test]
async fn decline_then_retry_with_a_new_token_on_the_same_access_id() {
    let sb = Sb::start().await;
    let o = order_id("retry");
    let access = sb.entry(&o, "AUTH", 4500).await;
    let bad = sb.token(test_cards::INSUFFICIENT_FUNDS).await;
    let p = sb.exec(&o, &access, &bad).await;
    assert_eq!(get(&p, "ErrCode"), Some("G02"));
    assert_eq!(err_info(&p), Some("42G020000"));
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("UNPROCESSED"));
    // The declined token was consumed.
    assert_eq!(
        err_info(&sb.exec(&o, &access, &bad).await),
        Some("EX1000302")
    );
    let good = sb.token(test_cards::APPROVED).await;
    let p = sb.exec(&o, &access, &good).await;
    assert_eq!(get(&p, "ACS"), Some("0"), "{p:?}");
    assert_eq!(get(&sb.search(&o).await, "Status"), Some("AUTH"));
    // A second ExecTran after success.
    let another = sb.token(test_cards::APPROVED).await;
    assert_eq!(
        err_info(&sb.exec(&o, &access, &another).await),
        Some("E11010001")
    );
    // The trade's history shows all attempts.
    let t = sb.get_json(&format!("/__sandbox/trades/{o}")).await;
    let results: Vec<&str> = t["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["result"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(results, ["OK", "42G020000", "EX1000302", "OK", "E11010001"]);
    assert_eq!(t["status"], "AUTH");
    assert_eq!(t["card"]["card_no"], "************1111");
    assert_eq!(t["card"]["holder_name"], "TARO YAMADA");
}

#[tokio::test]
async fn token_is_single_use_and_expires_after_30_minutes() {
    let sb = Sb::start().await;
    sb.set_clock(T0).await;
    let tok = sb.token(test_cards::APPROVED).await;
    let o1 = order_id("tok");
    let a1 = sb.entry(&o1, "AUTH", 100).await;
    assert_eq!(get(&sb.exec(&o1, &a1, &tok).await, "ACS"), Some("0"));
    let o2 = order_id("tok");
    let a2 = sb.entry(&o2, "AUTH", 100).await;
    assert_eq!(err_info(&sb.exec(&o2, &a2, &tok).await), Some("EX1000302"));

    let late = sb.token(test_cards::APPROVED).await;
    let in_time = sb.token(test_cards::APPROVED).await;
    sb.advance_minutes(29).await;
    let o3 = order_id("tok");
    let a3 = sb.entry(&o3, "AUTH", 100).await;
    assert_eq!(get(&sb.exec(&o3, &a3, &in_time).await, "ACS"), Some("0"));
    sb.advance_minutes(1).await;
    let o4 = order_id("tok");
    let a4 = sb.entry(&o4, "AUTH", 100).await;
    assert_eq!(err_info(&sb.exec(&o4, &a4, &late).await), Some("EX1000303"));
    // An expired token attempt leaves the transaction retryable.
    let fresh = sb.token(test_cards::APPROVED).await;
    assert_eq!(get(&sb.exec(&o4, &a4, &fresh).await, "ACS"), Some("0"));
}

#[tokio::test]
async fn token_of_another_shop_is_ex1000304() {
    let sb = Sb::start().await;
    let v = sb
        .control(
            "/__sandbox/tokens",
            json!({"shop_id": "tshop99999999", "cardno": test_cards::APPROVED, "expire": "3012"}),
        )
        .await;
    let tok = v["tokenObject"]["token"].as_str().expect("token");
    let o = order_id("shop");
    let a = sb.entry(&o, "AUTH", 100).await;
    assert_eq!(err_info(&sb.exec(&o, &a, tok).await), Some("EX1000304"));
}

#[tokio::test]
async fn raw_card_numbers_and_member_cards_are_refused() {
    let sb = Sb::start().await;
    let o = order_id("pan");
    let a = sb.entry(&o, "AUTH", 100).await;
    let p = sb
        .call(
            "ExecTran",
            &[
                ("AccessID", &a.0),
                ("AccessPass", &a.1),
                ("OrderID", &o),
                ("Method", "1"),
                ("CardNo", test_cards::APPROVED),
                ("Expire", "3012"),
                ("SecurityCode", "123"),
            ],
        )
        .await;
    assert_eq!(get(&p, "ErrCode"), Some("E61"));
    assert_eq!(err_info(&p), Some("E61040001"));
    let p = sb
        .call(
            "ExecTran",
            &[
                ("AccessID", &a.0),
                ("AccessPass", &a.1),
                ("OrderID", &o),
                ("Method", "1"),
                ("SiteID", "tsite0001"),
                ("SitePass", "x"),
                ("MemberID", "m1"),
                ("CardSeq", "0"),
            ],
        )
        .await;
    assert_eq!(err_info(&p), Some("E01210002"));
    let p = sb
        .call(
            "ExecTran",
            &[
                ("AccessID", &a.0),
                ("AccessPass", &a.1),
                ("OrderID", &o),
                ("Method", "1"),
            ],
        )
        .await;
    assert_eq!(err_info(&p), Some("E01170001"));
    // Method rules: 2 (分割) needs PayTimes; 6 does not exist.
    let tok = sb.token(test_cards::APPROVED).await;
    let p = sb
        .call(
            "ExecTran",
            &[
                ("AccessID", &a.0),
                ("AccessPass", &a.1),
                ("OrderID", &o),
                ("Method", "2"),
                ("Token", &tok),
            ],
        )
        .await;
    assert_eq!(err_info(&p), Some("E01270001"));
    let p = sb
        .call(
            "ExecTran",
            &[
                ("AccessID", &a.0),
                ("AccessPass", &a.1),
                ("OrderID", &o),
                ("Method", "6"),
                ("Token", &tok),
            ],
        )
        .await;
    assert_eq!(err_info(&p), Some("E01260002"));
    // Mismatched OrderID.
    let p = sb
        .call(
            "ExecTran",
            &[
                ("AccessID", &a.0),
                ("AccessPass", &a.1),
                ("OrderID", "other-order"),
                ("Method", "1"),
                ("Token", &tok),
            ],
        )
        .await;
    assert_eq!(err_info(&p), Some("E01110002"));
    // Nothing was consumed by the refusals: the token still pays, in 3 installments.
    let p = sb
        .call(
            "ExecTran",
            &[
                ("AccessID", &a.0),
                ("AccessPass", &a.1),
                ("OrderID", &o),
                ("Method", "2"),
                ("PayTimes", "3"),
                ("Token", &tok),
            ],
        )
        .await;
    assert_eq!(get(&p, "ACS"), Some("0"), "{p:?}");
    assert_eq!(
        (get(&p, "Method"), get(&p, "PayTimes")),
        (Some("2"), Some("3"))
    );
}

#[tokio::test]
async fn every_test_card() {
    let sb = Sb::start().await;
    for card in [
        test_cards::APPROVED,
        test_cards::APPROVED_JCB,
        test_cards::APPROVED_MASTERCARD,
        test_cards::APPROVED_AMEX,
    ] {
        let o = order_id("card");
        let a = sb.entry(&o, "AUTH", 100).await;
        let p = sb.exec(&o, &a, &sb.token(card).await).await;
        assert_eq!(get(&p, "ACS"), Some("0"), "{card}: {p:?}");
        let s = sb.search(&o).await;
        assert_eq!(get(&s, "CardNo").map(|c| c.len()), Some(card.len()));
        assert!(get(&s, "CardNo").is_some_and(|c| c.ends_with(&card[card.len() - 4..])));
    }
    for (card, code, info) in [
        (test_cards::INSUFFICIENT_FUNDS, "G02", "42G020000"),
        (test_cards::CARD_UNUSABLE, "G12", "42G120000"),
        (test_cards::WRONG_CVC, "G44", "42G440000"),
        (test_cards::WRONG_NUMBER, "G65", "42G650000"),
        (test_cards::EXPIRED_CARD, "G83", "42G830000"),
    ] {
        let o = order_id("card");
        let a = sb.entry(&o, "AUTH", 100).await;
        let p = sb.exec(&o, &a, &sb.token(card).await).await;
        assert_eq!(
            (get(&p, "ErrCode"), err_info(&p)),
            (Some(code), Some(info)),
            "{card}"
        );
        let s = sb.search(&o).await;
        assert_eq!(get(&s, "Status"), Some("UNPROCESSED"), "{card}");
    }
    // A non-Luhn number gets through the token JS but the issuer says "number wrong".
    let o = order_id("card");
    let a = sb.entry(&o, "AUTH", 100).await;
    assert_eq!(
        err_info(&sb.exec(&o, &a, &sb.token("4111111111111112").await).await),
        Some("42G650000")
    );
    // An expiry in the past is declined as an expiry error.
    let v = sb
        .token_json(
            json!({"shopId": sb.cfg.shop_id, "cardno": test_cards::APPROVED, "expire": "2001"}),
        )
        .await;
    let o = order_id("card");
    let a = sb.entry(&o, "AUTH", 100).await;
    let tok = v["tokenObject"]["token"].as_str().expect("token");
    assert_eq!(err_info(&sb.exec(&o, &a, tok).await), Some("42G830000"));

    // BUSY: E92 twice with the same token, then approved with it.
    let o = order_id("busy");
    let a = sb.entry(&o, "AUTH", 100).await;
    let tok = sb.token(test_cards::BUSY).await;
    for _ in 0..2 {
        let p = sb.exec(&o, &a, &tok).await;
        assert_eq!(
            (get(&p, "ErrCode"), err_info(&p)),
            (Some("E92"), Some("E92000001"))
        );
        assert_eq!(get(&sb.search(&o).await, "Status"), Some("UNPROCESSED"));
    }
    assert_eq!(get(&sb.exec(&o, &a, &tok).await, "ACS"), Some("0"));

    // UNKNOWN_OUTCOME and ISSUER_TIMEOUT: the answer is an error but the auth is committed.
    for (card, code, info) in [
        (test_cards::UNKNOWN_OUTCOME, "E91", "E91099999"),
        (test_cards::ISSUER_TIMEOUT, "C01", "42C010000"),
    ] {
        let o = order_id("unknown");
        let a = sb.entry(&o, "AUTH", 2500).await;
        let p = sb.exec(&o, &a, &sb.token(card).await).await;
        assert_eq!((get(&p, "ErrCode"), err_info(&p)), (Some(code), Some(info)));
        let s = sb.search(&o).await;
        assert_eq!(get(&s, "Status"), Some("AUTH"), "{card}");
        assert_eq!(get(&s, "TranID").map(str::len), Some(28));
        assert_eq!(get(&s, "Amount"), Some("2500"));
        // It is a real authorisation: it can be captured.
        let p = sb
            .alter(&a, &[("JobCd", "SALES"), ("Amount", "2500")])
            .await;
        assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    }
}

#[tokio::test]
async fn capture_check_and_sauth_jobs() {
    let sb = Sb::start().await;
    for (job, status) in [
        ("CAPTURE", "CAPTURE"),
        ("SAUTH", "SAUTH"),
        ("CHECK", "CHECK"),
    ] {
        let o = order_id("job");
        let a = sb.entry(&o, job, 100).await;
        let tok = sb.token(test_cards::APPROVED).await;
        let p = sb
            .call(
                "ExecTran",
                &[
                    ("AccessID", &a.0),
                    ("AccessPass", &a.1),
                    ("OrderID", &o),
                    ("Token", &tok),
                    ("Method", if job == "CHECK" { "" } else { "1" }),
                ],
            )
            .await;
        assert_eq!(get(&p, "ACS"), Some("0"), "{job}: {p:?}");
        let s = sb.search(&o).await;
        assert_eq!(
            (get(&s, "Status"), get(&s, "JobCd")),
            (Some(status), Some(job))
        );
    }
}
