//! The Site API (会員・カード) and the 支払回数 contract over HTTP: CP932 answers, the request log's
//! masking, the `/__sandbox/shop` and `/__sandbox/members/{id}` controls, a stored card paying
//! through 3-D Secure 2, and TradedCard after a 3-D Secure payment.

mod common;

use common::*;
use kessai_core::gmo::codec::{Params, get};
use kessai_sandbox::{SandboxConfig, test_cards};
use serde_json::json;

const RET: &str = "https://shop.example/3ds/return";

impl Sb {
    fn site(&self) -> [(&str, &str); 2] {
        [
            ("SiteID", self.cfg.site_id.as_str()),
            ("SitePass", self.cfg.site_pass.as_str()),
        ]
    }

    async fn site_call(&self, api: &str, extra: &[(&str, &str)]) -> Params {
        let mut p = self.site().to_vec();
        p.extend_from_slice(extra);
        self.call(api, &p).await
    }

    /// SaveMember + SaveCard with a fresh token of `card`: the card's CardSeq.
    async fn member_with_card(&self, member: &str, card: &str) -> String {
        let p = self.site_call("SaveMember", &[("MemberID", member)]).await;
        assert_eq!(get(&p, "MemberID"), Some(member), "{p:?}");
        let tok = self.token(card).await;
        let p = self
            .site_call(
                "SaveCard",
                &[("MemberID", member), ("Token", &tok), ("DefaultFlag", "1")],
            )
            .await;
        get(&p, "CardSeq").expect("CardSeq").to_string()
    }

    async fn post_shop(&self, body: serde_json::Value) -> (u16, serde_json::Value) {
        let r = self
            .http
            .post(self.url("/__sandbox/shop"))
            .json(&body)
            .send()
            .await
            .expect("reachable");
        (r.status().as_u16(), r.json().await.expect("json"))
    }
}

fn stored(sb: &Sb, member: &'static str, seq: &'static str) -> Vec<(&'static str, String)> {
    vec![
        ("SiteID", sb.cfg.site_id.clone()),
        ("SitePass", sb.cfg.site_pass.clone()),
        ("MemberID", member.to_string()),
        ("SeqMode", "0".to_string()),
        ("CardSeq", seq.to_string()),
    ]
}

async fn exec_with(sb: &Sb, o: &str, a: &(String, String), extra: &[(&str, &str)]) -> Params {
    let mut p = vec![
        ("AccessID", a.0.as_str()),
        ("AccessPass", a.1.as_str()),
        ("OrderID", o),
    ];
    p.extend_from_slice(extra);
    sb.call("ExecTran", &p).await
}

/// TradedCard of `order` for `member`, as the default card.
async fn traded_card(sb: &Sb, order: &str, member: &str) -> Params {
    let mut p = sb.shop().to_vec();
    p.extend(sb.site());
    p.extend([
        ("OrderID", order),
        ("MemberID", member),
        ("DefaultFlag", "1"),
    ]);
    sb.call("TradedCard", &p).await
}

#[tokio::test]
async fn site_answers_are_raw_cp932_and_the_log_masks_the_site_pass() {
    let sb = Sb::start().await;
    let p = sb
        .site_call(
            "SaveMember",
            &[("MemberID", "km-raw"), ("MemberName", "山田 太郎")],
        )
        .await;
    assert_eq!(get(&p, "MemberID"), Some("km-raw"));
    let body = sb
        .raw(
            "SearchMember",
            &[sb.site()[0], sb.site()[1], ("MemberID", "km-raw")],
        )
        .await;
    let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&body);
    assert_eq!(text, "MemberID=km-raw&MemberName=山田 太郎&DeleteFlag=0");
    let tok = sb.token(test_cards::APPROVED).await;
    let body = sb
        .raw(
            "SaveCard",
            &[
                sb.site()[0],
                sb.site()[1],
                ("MemberID", "km-raw"),
                ("Token", &tok),
            ],
        )
        .await;
    assert_eq!(
        body,
        b"CardSeq=0&CardNo=*************111&Forward=2a99662".to_vec()
    );
    let log = sb.get_json("/__sandbox/requests?api=SaveCard").await;
    let logged = log.to_string();
    assert!(!logged.contains(&sb.cfg.site_pass), "{logged}");
    assert!(!logged.contains(&tok), "{logged}");
    assert_eq!(log[0]["params"]["MemberID"], "km-raw");
    assert_eq!(log[0]["result"], "OK");
}

#[tokio::test]
async fn member_control_shows_masked_cards_and_404_for_unknown() {
    let sb = Sb::start().await;
    sb.member_with_card("km-ctl", test_cards::APPROVED).await;
    let tok = sb.token(test_cards::APPROVED_JCB).await;
    sb.site_call("SaveCard", &[("MemberID", "km-ctl"), ("Token", &tok)])
        .await;
    sb.site_call("DeleteCard", &[("MemberID", "km-ctl"), ("CardSeq", "0")])
        .await;
    let v = sb.get_json("/__sandbox/members/km-ctl").await;
    assert!(!v.to_string().contains(test_cards::APPROVED), "{v}");
    assert_eq!(v["member_id"], "km-ctl");
    assert_eq!(v["site_id"], sb.cfg.site_id.as_str());
    assert_eq!(v["deleted"], false);
    assert_eq!(
        v["cards"],
        json!([
            {"card_seq": 0, "physical_seq": null, "default": false, "card_name": "",
             "card_no": "*************111", "expire": "3012", "holder_name": "TARO YAMADA",
             "deleted": true},
            {"card_seq": 1, "physical_seq": 0, "default": false, "card_name": "",
             "card_no": "*************000", "expire": "3012", "holder_name": "TARO YAMADA",
             "deleted": false},
        ])
    );
    let r = sb
        .http
        .get(sb.url("/__sandbox/members/nobody"))
        .send()
        .await
        .expect("reachable");
    assert_eq!(r.status(), 404);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["member_id"], "nobody");
}

#[tokio::test]
async fn contract_change_through_the_shop_control_and_reset() {
    let sb = Sb::start().await;
    let shop = sb.get_json("/__sandbox/shop").await;
    assert_eq!(shop["site_id"], "tsite00000001");
    assert_eq!(shop["site_pass"], "sitepass01");
    assert_eq!(
        shop["installments"],
        "3,5,6,10,12,15,18,20,24,bonus,revolving"
    );
    let (status, v) = sb.post_shop(json!({ "installments": "5, 3,bonus" })).await;
    assert_eq!(
        (status, v["installments"].clone()),
        (200, json!("3,5,bonus"))
    );
    for (method, pay_times, ok) in [
        ("2", "3", true),
        ("2", "6", false),
        ("3", "", true),
        ("5", "", false),
    ] {
        let o = order_id("contract");
        let a = sb.entry(&o, "AUTH", 3000).await;
        let tok = sb.token(test_cards::APPROVED).await;
        let p = exec_with(
            &sb,
            &o,
            &a,
            &[("Method", method), ("PayTimes", pay_times), ("Token", &tok)],
        )
        .await;
        if ok {
            assert_eq!(get(&p, "PayTimes"), Some(pay_times), "{p:?}");
        } else {
            assert_eq!(get(&p, "ErrCode"), Some("G70"), "{method}/{pay_times}");
            assert_eq!(err_info(&p), Some("42G700000"));
        }
    }
    // 一括 only; a bad item or an unknown field is refused and changes nothing.
    let (status, v) = sb.post_shop(json!({ "installments": "" })).await;
    assert_eq!((status, v["installments"].clone()), (200, json!("")));
    let (status, _) = sb.post_shop(json!({ "installments": "4" })).await;
    assert_eq!(status, 400);
    let (status, _) = sb.post_shop(json!({ "installment": "3" })).await;
    assert_eq!(status, 400);
    let o = order_id("lump-only");
    let a = sb.entry(&o, "AUTH", 3000).await;
    let tok = sb.token(test_cards::APPROVED).await;
    let p = exec_with(&sb, &o, &a, &[("Method", "3"), ("Token", &tok)]).await;
    assert_eq!(err_info(&p), Some("42G700000"));
    sb.control("/__sandbox/reset", json!({})).await;
    let shop = sb.get_json("/__sandbox/shop").await;
    assert_eq!(
        shop["installments"],
        "3,5,6,10,12,15,18,20,24,bonus,revolving"
    );
}

#[tokio::test]
async fn configured_site_and_contract() {
    let sb = Sb::start_with(SandboxConfig {
        site_id: "tsite00000777".into(),
        site_pass: "otherpass7".into(),
        installments: kessai_sandbox::parse_installments("12").expect("plan"),
        ..SandboxConfig::default()
    })
    .await;
    let shop = sb.get_json("/__sandbox/shop").await;
    assert_eq!(shop["installments"], "12");
    let p = sb.site_call("SaveMember", &[("MemberID", "km-cfg")]).await;
    assert_eq!(get(&p, "MemberID"), Some("km-cfg"));
    let p = sb
        .call(
            "SaveMember",
            &[
                ("SiteID", "tsite00000001"),
                ("SitePass", "sitepass01"),
                ("MemberID", "km-cfg2"),
            ],
        )
        .await;
    assert_eq!(err_info(&p), Some("E01210002"));
}

#[tokio::test]
async fn a_stored_card_pays_through_3ds_and_search_trade_names_the_member() {
    let sb = Sb::start().await;
    let seq = sb
        .member_with_card("km-3ds", test_cards::TDS2_CHALLENGE)
        .await;
    assert_eq!(seq, "0");
    let o = order_id("stored3ds");
    let p = sb
        .call(
            "EntryTran",
            &[
                sb.shop()[0],
                sb.shop()[1],
                ("OrderID", &o),
                ("JobCd", "AUTH"),
                ("Amount", "4400"),
                ("TdFlag", "2"),
            ],
        )
        .await;
    let a = (
        get(&p, "AccessID").expect("id").to_string(),
        get(&p, "AccessPass").expect("pass").to_string(),
    );
    let member = stored(&sb, "km-3ds", "0");
    let mut params: Vec<(&str, &str)> = member.iter().map(|(k, v)| (*k, v.as_str())).collect();
    params.extend([
        ("Method", "2"),
        ("PayTimes", "6"),
        ("RetUrl", RET),
        ("SecurityCode", "123"),
    ]);
    let p = exec_with(&sb, &o, &a, &params).await;
    assert_eq!(get(&p, "ACS"), Some("2"), "{p:?}");
    let url = get(&p, "RedirectUrl").expect("url").to_string();
    let (code, html) = sb.tds2_device_step(&url).await;
    assert_eq!(code, 200);
    let otp = text_of(&html, "tds2-otp-code").expect("hint");
    let f = form(&html, "tds2-challenge-form");
    let (code, html, _) = sb
        .submit(&url, &f, &[("otp", &otp), ("action", "submit")])
        .await;
    assert_eq!(code, 200, "{html}");
    let p = sb
        .call("SecureTran2", &[("AccessID", &a.0), ("AccessPass", &a.1)])
        .await;
    assert_eq!(get(&p, "Method"), Some("2"), "{p:?}");
    assert_eq!(get(&p, "PayTimes"), Some("6"));
    let s = sb.search(&o).await;
    assert_eq!(get(&s, "Status"), Some("AUTH"));
    assert_eq!(get(&s, "SiteID"), Some("tsite00000001"));
    assert_eq!(get(&s, "MemberID"), Some("km-3ds"));
    assert_eq!(get(&s, "CardNo"), Some("************3022"));
    assert_eq!(
        (get(&s, "Method"), get(&s, "PayTimes")),
        (Some("2"), Some("6"))
    );
    let t = sb.get_json(&format!("/__sandbox/trades/{o}")).await;
    assert_eq!(t["member"]["card_seq"], 0);
    assert!(!t.to_string().contains(test_cards::TDS2_CHALLENGE), "{t}");
}

#[tokio::test]
async fn traded_card_after_a_3ds_payment_then_pays_the_next_order() {
    let sb = Sb::start().await;
    let p = sb
        .site_call("SaveMember", &[("MemberID", "km-traded")])
        .await;
    assert_eq!(get(&p, "MemberID"), Some("km-traded"));
    let o = order_id("traded");
    let p = sb
        .call(
            "EntryTran",
            &[
                sb.shop()[0],
                sb.shop()[1],
                ("OrderID", &o),
                ("JobCd", "AUTH"),
                ("Amount", "1500"),
                ("TdFlag", "2"),
            ],
        )
        .await;
    let a = (
        get(&p, "AccessID").expect("id").to_string(),
        get(&p, "AccessPass").expect("pass").to_string(),
    );
    let tok = sb.token(test_cards::APPROVED_MASTERCARD).await;
    let p = exec_with(
        &sb,
        &o,
        &a,
        &[("Method", "1"), ("Token", &tok), ("RetUrl", RET)],
    )
    .await;
    let url = get(&p, "RedirectUrl").expect("url").to_string();
    // Waiting for 3-D Secure: nothing to store yet [U code].
    let p = traded_card(&sb, &o, "km-traded").await;
    assert_eq!(err_info(&p), Some("E01110010"));
    sb.tds2_device_step(&url).await;
    let p = sb
        .call("SecureTran2", &[("AccessID", &a.0), ("AccessPass", &a.1)])
        .await;
    assert_eq!(get(&p, "ErrCode"), None, "{p:?}");
    let p = traded_card(&sb, &o, "km-traded").await;
    assert_eq!(get(&p, "CardSeq"), Some("0"), "{p:?}");
    assert_eq!(get(&p, "CardNo"), Some("************4444"));
    // The next order pays with it, without 3-D Secure (a merchant-initiated charge).
    let next = order_id("traded-next");
    let a2 = sb.entry(&next, "AUTH", 990).await;
    let member = stored(&sb, "km-traded", "0");
    let mut params: Vec<(&str, &str)> = member.iter().map(|(k, v)| (*k, v.as_str())).collect();
    params.push(("Method", "1"));
    let p = exec_with(&sb, &next, &a2, &params).await;
    assert_eq!(get(&p, "ACS"), Some("0"), "{p:?}");
    let p = traded_card(&sb, "no-such-order", "km-traded").await;
    assert_eq!(err_info(&p), Some("E01110002"));
}
