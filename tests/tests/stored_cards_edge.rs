//! Stored cards (会員カード) and 支払回数 through the edge in workerd (D1, `THREE_D_SECURE=required`)
//! against the GMO sandbox's Site API (issue #14): a card saved at checkout after its 3-D Secure
//! authentication (TradedCard), listed masked to the merchant and to the widget of that
//! customer's payments only, paying the next order (3-D Secure again), deleted (the last one only
//! when confirmed), made the default; installments sent as Method/PayTimes, refused by the edge
//! when the shop does not offer them and by GMO when the card contract lacks them.
//!
//! Tests that change the sandbox shop's contract or the clock take [`TURN`] for writing; the
//! others hold it for reading.

use kessai_sandbox::test_cards;
use kessai_tests::tds::*;
use kessai_tests::*;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::RwLock;

static TURN: RwLock<()> = RwLock::const_new(());

fn init() {
    stack_3ds();
}

/// A shop member id no other test uses.
fn customer() -> String {
    order_id("member")
}

/// A payment of `customer` (the merchant names the shop's member).
async fn payment_of(customer: &str, amount: i64) -> Value {
    let (status, body) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("SC"), "amount": amount, "customer": customer })),
    )
    .await;
    assert_eq!(status, 201, "create payment: {body}");
    body
}

/// Pays `p` with a new card and 「このカードを登録する」; the edge's redirect after 3-D Secure.
async fn pay_and_save(p: &Value, card: &str) -> String {
    let token = token_for(card).await;
    let url = card_post_requiring_3ds(
        p,
        json!({ "token": token, "save_card": true, "card_brand": "visa" }),
    )
    .await;
    through_3ds(&url).await
}

async fn cards_of(customer: &str) -> Vec<Value> {
    let (status, body) = merchant(
        Method::GET,
        &format!("/v1/customers/{customer}/cards"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["customer"], customer);
    body["cards"].as_array().cloned().unwrap_or_default()
}

/// The widget's list of its payment's customer's cards.
async fn widget_cards(p: &Value) -> (u16, Value) {
    widget_call(
        Method::GET,
        &format!("/v1/checkout/{}/cards", id_of(p)),
        p["client_secret"].as_str().unwrap_or(""),
        None,
    )
    .await
}

/// The parameters of the payment's first logged call of `api` at the sandbox.
async fn sent(p: &Value, api: &str) -> Value {
    let log = gateway_requests(&gmo_order(p)).await;
    log.iter()
        .find(|r| r["api"] == api)
        .map(|r| r["params"].clone())
        .unwrap_or_else(|| panic!("no {api} in {log:?}"))
}

/// A customer with one saved card (from an authorised 3-D Secure payment); its GMO MemberID.
async fn customer_with_a_card(customer: &str, card: &str) -> String {
    let p = payment_of(customer, 1_500).await;
    let back = pay_and_save(&p, card).await;
    assert!(back.contains("kessai_card_saved=1"), "{back}");
    sent(&p, "TradedCard").await["MemberID"]
        .as_str()
        .expect("MemberID")
        .to_string()
}

#[tokio::test]
async fn a_card_saved_after_3ds_is_listed_masked_and_pays_the_next_order_with_3ds_again() {
    init();
    let _t = TURN.read().await;
    let c = customer();
    let first = payment_of(&c, 3_300).await;
    let back = pay_and_save(&first, test_cards::APPROVED).await;
    assert_eq!(
        back,
        format!(
            "{}&kessai_card_saved=1",
            card_back_in_shop(&id_of(&first), "authorized")
        )
    );
    let paid = payment(&id_of(&first)).await;
    assert_eq!(paid["state"], "authorized", "{paid}");
    assert_eq!(paid["customer"], c.as_str());
    assert_eq!(paid["card"]["saved_card_seq"], 0, "{paid}");
    assert!(event_kinds(&paid).contains(&"card_saved".to_string()));
    // TradedCard ran on the finished transaction, for kessai's own MemberID (never the shop's).
    let traded = sent(&first, "TradedCard").await;
    let member_id = traded["MemberID"].as_str().expect("MemberID").to_string();
    assert_ne!(member_id, c);
    assert_eq!(traded["OrderID"], gmo_order(&first).as_str());

    let cards = cards_of(&c).await;
    assert_eq!(cards.len(), 1, "{cards:?}");
    let card = &cards[0];
    assert_eq!(card["card_seq"], 0);
    assert_eq!(card["brand"], "visa");
    assert_eq!(card["default"], true);
    assert_eq!(card["expired"], false);
    assert_eq!(card["three_d_secure"], true);
    let last = card["last_digits"].as_str().unwrap_or("");
    assert!(
        !last.is_empty() && test_cards::APPROVED.ends_with(last) && last.len() <= 4,
        "{card}"
    );
    assert!(
        !card.to_string().contains(test_cards::APPROVED),
        "no full number anywhere: {card}"
    );
    // The sandbox holds the card under kessai's member.
    let at_gmo: Value = client()
        .get(format!("{}/__sandbox/members/{member_id}", stack().sandbox))
        .send()
        .await
        .expect("sandbox")
        .json()
        .await
        .expect("json");
    assert!(at_gmo.to_string().contains(last), "{at_gmo}");

    // The next order: the widget lists the card, pays with it, 3-D Secure runs again.
    let next = payment_of(&c, 2_750).await;
    let (_, view) = checkout_config(&next).await;
    assert_eq!(view["card"]["stored_cards"], true, "{view}");
    let (status, listed) = widget_cards(&next).await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["cards"], json!(cards));
    let url = card_post_requiring_3ds(&next, json!({ "card_seq": 0 })).await;
    assert_eq!(
        through_3ds(&url).await,
        card_back_in_shop(&id_of(&next), "authorized")
    );
    let paid = payment(&id_of(&next)).await;
    assert_eq!(paid["state"], "authorized", "{paid}");
    assert_eq!(paid["card"]["stored_card_seq"], 0, "{paid}");
    let exec = sent(&next, "ExecTran").await;
    assert_eq!(exec["MemberID"], member_id.as_str(), "{exec}");
    assert_eq!(exec["CardSeq"], "0", "{exec}");
    assert!(exec.get("Token").is_none(), "{exec}");
    let entry = sent(&next, "EntryTran").await;
    assert_eq!(
        entry["TdFlag"], "2",
        "customer-initiated: 3-D Secure: {entry}"
    );
}

#[tokio::test]
async fn a_client_secret_never_reaches_another_customers_cards() {
    init();
    let _t = TURN.read().await;
    let alice = customer();
    customer_with_a_card(&alice, test_cards::APPROVED).await;

    // Bob's payment: his (empty) list, and Alice's card number is not his.
    let bob = payment_of(&customer(), 1_200).await;
    let (status, listed) = widget_cards(&bob).await;
    assert_eq!((status, listed["cards"].clone()), (200, json!([])));
    let (status, body) = widget_post(
        &bob,
        json!({ "card_seq": 0, "return_url": tds_return_url() }),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("card_not_found"))
    );
    assert_eq!(
        count_api(&gateway_requests(&gmo_order(&bob)).await, "ExecTran"),
        0
    );
    // A payment without a customer: no cards, no card_seq, no saving.
    let anon = create_payment(1_000).await;
    let (_, view) = checkout_config(&anon).await;
    assert_eq!(view["card"]["stored_cards"], false);
    assert_eq!(widget_cards(&anon).await.1["cards"], json!([]));
    let (status, body) = widget_post(&anon, json!({ "card_seq": 0 })).await;
    assert_eq!(
        (status, body["error"]["param"].clone()),
        (400, json!("card_seq")),
        "{body}"
    );
    let token = token_for(test_cards::APPROVED).await;
    let (status, body) = widget_post(&anon, json!({ "token": token, "save_card": true })).await;
    assert_eq!(
        (status, body["error"]["param"].clone()),
        (400, json!("save_card")),
        "{body}"
    );
    // Another payment's client secret does not open Alice's payment's list.
    let alices = payment_of(&alice, 900).await;
    let (status, _) = widget_call(
        Method::GET,
        &format!("/v1/checkout/{}/cards", id_of(&alices)),
        bob["client_secret"].as_str().unwrap_or(""),
        None,
    )
    .await;
    assert_eq!(status, 404);
    // Resuming Alice's open order as someone else is refused.
    let (status, body) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": alices["order_id"], "amount": 900, "customer": "mallory" })),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("customer_mismatch"))
    );
}

#[tokio::test]
async fn the_merchant_endpoints_need_the_secret_key_and_refuse_it_from_a_browser() {
    init();
    let _t = TURN.read().await;
    let c = customer();
    customer_with_a_card(&c, test_cards::APPROVED).await;
    let urls = stack();
    let path = format!("{}/v1/customers/{c}/cards", urls.edge);
    let p = payment_of(&c, 800).await;
    let attempts = [
        // No key; a client secret is not a key.
        client().get(&path),
        client()
            .get(&path)
            .header("x-client-secret", p["client_secret"].as_str().unwrap_or("")),
        client().get(&path).bearer_auth("sk_wrong"),
        client().delete(format!("{path}/0")),
    ];
    for req in attempts {
        let resp = req.send().await.expect("edge");
        assert_eq!(resp.status().as_u16(), 401);
    }
    // The right key from a page of the storefront (a browser sends Origin / Sec-Fetch-Site).
    for (name, value) in [
        ("origin", urls.storefront.clone()),
        ("sec-fetch-site", "cross-site".to_string()),
    ] {
        let resp = client()
            .get(&path)
            .bearer_auth(kessai_demo::stack::MERCHANT_SECRET_KEY)
            .header(name, &value)
            .send()
            .await
            .expect("edge");
        assert_eq!(resp.status().as_u16(), 403, "{name}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "secret_key_in_browser");
    }
    assert_eq!(cards_of(&c).await.len(), 1, "nothing deleted");
    // An id that cannot be a shop member's.
    let (status, _) = merchant(Method::GET, "/v1/customers/a%20b/cards", None).await;
    assert_eq!(status, 404);
    // A customer kessai never saw has no cards.
    assert!(cards_of(&customer()).await.is_empty());
}

#[tokio::test]
async fn deleting_cards_keeps_the_last_one_until_confirmed_and_the_default_can_move() {
    init();
    let _t = TURN.read().await;
    let c = customer();
    customer_with_a_card(&c, test_cards::APPROVED).await;
    let p = payment_of(&c, 1_100).await;
    assert!(
        pay_and_save(&p, "5555555555554444")
            .await
            .contains("kessai_card_saved=1")
    );
    let cards = cards_of(&c).await;
    let seqs: Vec<_> = cards.iter().map(|c| c["card_seq"].clone()).collect();
    assert_eq!(
        seqs,
        vec![json!(0), json!(1)],
        "the first saved is the default: {cards:?}"
    );
    assert_eq!(cards[0]["default"], true);
    assert_eq!(cards[1]["default"], false);

    // The shop's マイページ makes the second the default: listed first, default.
    let (status, body) = merchant(
        Method::PUT,
        &format!("/v1/customers/{c}/cards/1/default"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cards"][0]["card_seq"], 1);
    assert_eq!(body["cards"][0]["default"], true);
    assert_eq!(body["cards"][1]["default"], false);
    let (status, _) = merchant(
        Method::PUT,
        &format!("/v1/customers/{c}/cards/7/default"),
        None,
    )
    .await;
    assert_eq!(status, 404);

    let delete = |seq: u32, confirm: bool| {
        let c = c.clone();
        async move {
            let q = if confirm { "?confirm_last=1" } else { "" };
            merchant(
                Method::DELETE,
                &format!("/v1/customers/{c}/cards/{seq}{q}"),
                None,
            )
            .await
        }
    };
    assert_eq!(delete(1, false).await.0, 204);
    // The default went with it: the remaining card is the default again (GMO's flag).
    let left = cards_of(&c).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(
        (left[0]["card_seq"].clone(), left[0]["default"].clone()),
        (json!(0), json!(true))
    );
    let (status, body) = delete(0, false).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (409, json!("last_card")),
        "{body}"
    );
    assert!(
        body["error"]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("最後の登録カード")),
        "{body}"
    );
    assert_eq!(cards_of(&c).await.len(), 1);
    assert_eq!(delete(0, true).await.0, 204);
    assert!(cards_of(&c).await.is_empty());
    let (status, body) = delete(0, true).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("card_not_found"))
    );
    // A deleted card cannot pay.
    let q = payment_of(&c, 600).await;
    let (status, body) =
        widget_post(&q, json!({ "card_seq": 0, "return_url": tds_return_url() })).await;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (404, json!("card_not_found"))
    );
}

#[tokio::test]
async fn an_expired_stored_card_is_shown_expired_and_refused_before_gmo() {
    init();
    let _t = TURN.write().await;
    let c = customer();
    customer_with_a_card(&c, test_cards::APPROVED).await;
    let expire = cards_of(&c).await[0]["expire"]
        .as_str()
        .unwrap_or("")
        .to_string();
    // The month after the card's expiry (MM/YY), JST noon.
    let (mm, yy) = expire.split_once('/').expect("MM/YY");
    let (mm, yy): (u32, i32) = (mm.parse().expect("month"), yy.parse().expect("year"));
    let (y, m) = if mm == 12 {
        (2001 + yy, 1)
    } else {
        (2000 + yy, mm + 1)
    };
    let later = chrono_free_jst_noon(y, m);
    set_clock(later).await;
    let cards = cards_of(&c).await;
    let p = payment_of(&c, 700).await;
    let answer = widget_post(&p, json!({ "card_seq": 0, "return_url": tds_return_url() })).await;
    real_clock().await;
    assert_eq!(cards[0]["expired"], true, "{cards:?}");
    let (status, body) = answer;
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (402, json!("card_expired")),
        "{body}"
    );
    assert!(
        body["error"]["message_ja"]
            .as_str()
            .is_some_and(|m| m.contains("有効期限"))
    );
    assert_eq!(
        count_api(&gateway_requests(&gmo_order(&p)).await, "ExecTran"),
        0
    );
}

/// Unix ms of 12:00 JST on the 1st of `month` in `year` (days from the civil calendar).
fn chrono_free_jst_noon(year: i32, month: u32) -> i64 {
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m as i32 + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = i64::from(era) * 146_097 + i64::from(doe) - 719_468;
    days * 86_400_000 + 3 * 3_600_000
}

#[tokio::test]
async fn installments_go_to_gmo_as_method_and_pay_times_and_survive_an_amount_change() {
    init();
    let _t = TURN.read().await;
    let p = create_payment(36_000).await;
    let (_, view) = checkout_config(&p).await;
    let codes: Vec<_> = view["card"]["installments"]
        .as_array()
        .map(|a| a.iter().map(|c| c["code"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(
        codes,
        [
            "lump",
            "split_3",
            "split_5",
            "split_6",
            "split_10",
            "split_12",
            "bonus",
            "revolving"
        ]
        .map(|c| json!(c))
        .to_vec(),
        "{view}"
    );
    assert_eq!(
        view["card"]["installments"][1]["label_ja"],
        "分割払い（3回）"
    );
    let token = token_for(test_cards::APPROVED).await;
    let url =
        card_post_requiring_3ds(&p, json!({ "token": token, "installments": "split_3" })).await;
    assert_eq!(
        through_3ds(&url).await,
        card_back_in_shop(&id_of(&p), "authorized")
    );
    let exec = sent(&p, "ExecTran").await;
    assert_eq!(
        (exec["Method"].clone(), exec["PayTimes"].clone()),
        (json!("2"), json!("3")),
        "{exec}"
    );
    let paid = payment(&id_of(&p)).await;
    assert_eq!(paid["card"]["installments"], "split_3");
    assert_eq!(paid["card"]["installments_label_ja"], "分割払い（3回）");
    let trade = gmo_trade(&gmo_order(&p)).await;
    assert_eq!(
        (trade["method"].clone(), trade["pay_times"].clone()),
        (json!("2"), json!("3")),
        "{trade}"
    );
    // Captured, then the amount changes: the new authorisation keeps 3 installments.
    assert_eq!(operate(&id_of(&p), "capture", None).await.0, 200);
    let (status, body) = operate(&id_of(&p), "amount", Some(json!({ "amount": 30_000 }))).await;
    assert_eq!(status, 200, "{body}");
    let log = gateway_requests(&gmo_order(&p)).await;
    let recapture = log
        .iter()
        .rev()
        .find(|r| r["api"] == "AlterTran" && r["params"]["JobCd"] == "CAPTURE")
        .unwrap_or_else(|| panic!("no AlterTran CAPTURE in {log:?}"));
    assert_eq!(recapture["params"]["Method"], "2", "{recapture}");
    assert_eq!(recapture["params"]["PayTimes"], "3", "{recapture}");

    // What the shop does not offer never reaches GMO.
    let q = create_payment(5_000).await;
    for bad in [
        json!("split_24"),
        json!("split_2"),
        json!("bonus_split"),
        json!(3),
    ] {
        let token = token_for(test_cards::APPROVED).await;
        let (status, body) = widget_post(
            &q,
            json!({ "token": token, "installments": bad, "return_url": tds_return_url() }),
        )
        .await;
        assert_eq!(
            (status, body["error"]["param"].clone()),
            (400, json!("installments")),
            "{bad}: {body}"
        );
        assert!(
            body["error"]["message_ja"]
                .as_str()
                .is_some_and(|m| m.contains("お支払い回数"))
        );
    }
    assert_eq!(
        count_api(&gateway_requests(&gmo_order(&q)).await, "ExecTran"),
        0
    );
}

async fn sandbox_installments(contract: &str) {
    let resp = client()
        .post(format!("{}/__sandbox/shop", stack().sandbox))
        .json(&json!({ "installments": contract }))
        .send()
        .await
        .expect("sandbox reachable");
    assert!(resp.status().is_success(), "{}", resp.status());
}

#[tokio::test]
async fn gmo_refuses_installments_outside_the_card_contract_and_nothing_is_charged() {
    init();
    let _t = TURN.write().await;
    // The shop offers bonus (CARD_INSTALLMENTS), but its GMO contract has only 3 and 5 today.
    sandbox_installments("3,5").await;
    let p = create_payment(8_000).await;
    let token = token_for(test_cards::APPROVED).await;
    let url = card_post_requiring_3ds(&p, json!({ "token": token, "installments": "bonus" })).await;
    let back = through_3ds(&url).await;
    let after = payment(&id_of(&p)).await;
    let trade = gmo_trade(&gmo_order(&p)).await;
    sandbox_installments("3,5,6,10,12,15,18,20,24,bonus,revolving").await;
    assert_eq!(back, card_back_in_shop(&id_of(&p), "declined"), "{after}");
    assert_eq!(after["state"], "requires_payment", "{after}");
    assert_eq!(after["last_error"]["err_info"], "42G700000", "{after}");
    assert_ne!(trade["status"], "AUTH", "{trade}");
    // 一括 on the same payment pays.
    let token = token_for(test_cards::APPROVED).await;
    let url = card_post_requiring_3ds(&p, json!({ "token": token })).await;
    assert_eq!(
        through_3ds(&url).await,
        card_back_in_shop(&id_of(&p), "authorized")
    );
}

#[tokio::test]
async fn a_card_registration_charges_nothing_authenticates_with_3ds_and_stores_the_card() {
    init();
    let _t = TURN.read().await;
    let c = customer();
    // What a registration refuses before anything is created.
    for (body, param) in [
        (
            json!({ "order_id": order_id("CARD"), "capture": "verify" }),
            "customer",
        ),
        (
            json!({ "order_id": order_id("CARD"), "capture": "verify", "customer": c, "amount": 1 }),
            "amount",
        ),
        (
            json!({ "order_id": order_id("CARD"), "capture": "later", "customer": c }),
            "capture",
        ),
    ] {
        let (status, answer) = merchant(Method::POST, "/v1/payments", Some(body)).await;
        assert_eq!(
            (status, answer["error"]["param"].clone()),
            (400, json!(param)),
            "{answer}"
        );
    }
    let (status, p) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("CARD"), "capture": "verify", "customer": c })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(
        (p["amount"].clone(), p["capture"].clone()),
        (json!(0), json!("verify"))
    );
    // The widget gets one new card, 一括, no Amazon Pay.
    let (_, view) = checkout_config(&p).await;
    assert_eq!(view["capture"], "verify");
    assert_eq!(view["card"]["installments"], json!([]), "{view}");
    assert_eq!(view["card"]["stored_cards"], false);
    assert!(view["amazon_pay"].is_null(), "{view}");
    let token = token_for(test_cards::APPROVED).await;
    for (body, param) in [
        (
            json!({ "card_seq": 0, "return_url": tds_return_url() }),
            "card_seq",
        ),
        (
            json!({ "token": token, "save_card": false, "return_url": tds_return_url() }),
            "save_card",
        ),
        (
            json!({ "token": token, "installments": "split_3", "return_url": tds_return_url() }),
            "installments",
        ),
    ] {
        let (status, answer) = widget_post(&p, body).await;
        assert_eq!(
            (status, answer["error"]["param"].clone()),
            (400, json!(param)),
            "{answer}"
        );
    }
    let (status, answer) = widget_call(
        Method::POST,
        &format!("/v1/checkout/{}/amazon-pay/button", id_of(&p)),
        p["client_secret"].as_str().unwrap_or(""),
        Some(json!({ "return_url": tds_return_url() })),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (409, json!("card_registration_only"))
    );

    // The card: 3-D Secure, then the card is stored; no save_card needed.
    let url = card_post_requiring_3ds(&p, json!({ "token": token, "card_brand": "visa" })).await;
    assert_eq!(
        through_3ds(&url).await,
        format!(
            "{}&kessai_card_saved=1",
            card_back_in_shop(&id_of(&p), "authorized")
        )
    );
    let done = payment(&id_of(&p)).await;
    assert_eq!(done["state"], "verified", "{done}");
    assert_eq!(done["card"]["saved_card_seq"], 0, "{done}");
    assert!(
        event_kinds(&done).contains(&"verified".to_string()),
        "{done}"
    );
    let entry = sent(&p, "EntryTran").await;
    assert_eq!(entry["JobCd"], "CHECK", "{entry}");
    assert!(
        entry.get("Amount").is_none(),
        "有効性チェック carries no amount: {entry}"
    );
    assert_eq!(entry["TdFlag"], "2", "{entry}");
    let trade = gmo_trade(&gmo_order(&p)).await;
    assert_eq!(trade["status"], "CHECK", "{trade}");
    let cards = cards_of(&c).await;
    assert_eq!(cards.len(), 1, "{cards:?}");
    assert_eq!(
        (
            cards[0]["brand"].clone(),
            cards[0]["three_d_secure"].clone()
        ),
        (json!("visa"), json!(true))
    );
    // No money moved: no operation applies, and the order stays a registration.
    for (op, body) in [
        ("capture", None),
        ("cancel", None),
        ("amount", Some(json!({ "amount": 100 }))),
        ("refund", Some(json!({ "amount": 100 }))),
    ] {
        let (status, answer) = operate(&id_of(&p), op, body).await;
        assert_eq!(status, 409, "{op}: {answer}");
    }
    let (status, answer) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": p["order_id"], "amount": 500, "customer": c })),
    )
    .await;
    assert_eq!(
        (status, answer["error"]["code"].clone()),
        (409, json!("capture_mismatch"))
    );
    // The stored card pays a later order (3-D Secure again).
    let next = payment_of(&c, 2_000).await;
    let url = card_post_requiring_3ds(&next, json!({ "card_seq": 0 })).await;
    assert_eq!(
        through_3ds(&url).await,
        card_back_in_shop(&id_of(&next), "authorized")
    );
}

#[tokio::test]
async fn a_declined_card_registration_stores_nothing_and_can_be_retried() {
    init();
    let _t = TURN.read().await;
    let c = customer();
    let (_, p) = merchant(
        Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": order_id("CARD"), "capture": "verify", "customer": c })),
    )
    .await;
    let token = token_for(test_cards::INSUFFICIENT_FUNDS).await;
    let (status, answer) = widget_post(
        &p,
        json!({ "token": token, "return_url": tds_return_url() }),
    )
    .await;
    let declined = if status == 200 {
        // Declined after the issuer's authentication.
        let url = answer["next_action"]["url"]
            .as_str()
            .unwrap_or("")
            .to_string();
        through_3ds(&url).await == card_back_in_shop(&id_of(&p), "declined")
    } else {
        status == 402
    };
    assert!(declined, "{status} {answer}");
    assert_eq!(payment(&id_of(&p)).await["state"], "requires_payment");
    assert!(cards_of(&c).await.is_empty());
    let token = token_for(test_cards::APPROVED).await;
    let url = card_post_requiring_3ds(&p, json!({ "token": token })).await;
    through_3ds(&url).await;
    assert_eq!(payment(&id_of(&p)).await["state"], "verified");
    assert_eq!(cards_of(&c).await.len(), 1);
}
