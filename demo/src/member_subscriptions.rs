//! マイページ › 定期購入 (issue #15): the member's subscriptions as the edge lists them (商品名 from
//! the demo's own record, 金額, 周期, 次回お支払い日, 状態, お支払いカード), 解約 behind the
//! browser's confirm(), and 「定期購入を申し込む」: one of the demo's two plans on one of the
//! member's stored cards, created with the edge's merchant API (secret key). The form carries a
//! nonce that becomes the `Idempotency-Key`, so a double submit creates one subscription.

use crate::html::{brand_label, escape, page};
use crate::members::{
    ensure_session, logged_in, member_session, random_hex, set_flash, take_flash, with_cookie,
};
use crate::shop::{Order, Storefront};
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use kessai_core::money::Jpy;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// A plan the demo sells as 定期購入: form value, 商品名, amount (yen), the edge's cycle.
struct Plan {
    key: &'static str,
    name: &'static str,
    amount: i64,
    cycle: &'static str,
}

const PLANS: [Plan; 2] = [
    Plan {
        key: "coffee",
        name: "コーヒー豆 定期便(毎月10日)",
        amount: 1_980,
        cycle: "monthly:10",
    },
    Plan {
        key: "water",
        name: "ミネラルウォーター 定期便(2週間ごと)",
        amount: 2_400,
        cycle: "days:14",
    },
];

/// The demo's own record: subscription id → 商品名 (in memory, like its members; the edge
/// keeps no product names). Ids are unique across edges, so one map serves every storefront.
fn product_names() -> std::sync::MutexGuard<'static, HashMap<String, &'static str>> {
    static NAMES: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner())
}

/// `VISA ・・・・111` for a card of the edge's list.
fn card_label(c: &Value) -> String {
    format!(
        "{} ・・・・{}",
        brand_label(c["brand"].as_str().unwrap_or("")),
        c["last_digits"].as_str().unwrap_or("")
    )
}

/// One subscription's row; `cards` the member's cards by `card_seq`.
fn subscription_row(s: &Value, cards: &HashMap<i64, String>) -> String {
    let id = s["id"].as_str().unwrap_or("");
    let status = s["status"].as_str().unwrap_or("");
    let name = product_names()
        .get(id)
        .map(|n| n.to_string())
        .unwrap_or_else(|| format!("定期購入 {id}"));
    let seq = s["source"]["card_seq"].as_i64().unwrap_or(-1);
    let card = if s["source"]["type"] == "amazon_pay" {
        "Amazon Pay".to_string()
    } else {
        cards
            .get(&seq)
            .cloned()
            .unwrap_or_else(|| "登録カード(削除済み)".to_string())
    };
    let next = if status == "cancelled" {
        "—".to_string()
    } else {
        s["next_charge_on"].as_str().unwrap_or("—").to_string()
    };
    let cancel = if status == "cancelled" {
        String::new()
    } else {
        format!(
            r#"<form method="post" action="/mypage/subscriptions/{id}/cancel" onsubmit="return confirm('この定期購入を解約しますか？')"><button type="submit" class="subscription-cancel" aria-label="{name} を解約">解約</button></form>"#,
            id = escape(id),
            name = escape(&name),
        )
    };
    format!(
        r#"<tr class="subscription" data-subscription-id="{id}" data-status="{status}"><td class="sub-name">{name}</td><td class="num sub-amount">{amount}</td><td class="sub-cycle">{cycle}</td><td class="sub-next">{next}</td><td class="sub-status"><span class="badge">{label}</span></td><td class="sub-card">{card}</td><td>{cancel}</td></tr>"#,
        id = escape(id),
        status = escape(status),
        name = escape(&name),
        amount = Jpy::from_stored(s["amount"].as_i64().unwrap_or(0)),
        cycle = escape(s["cycle_label_ja"].as_str().unwrap_or("")),
        next = escape(&next),
        label = escape(s["status_label_ja"].as_str().unwrap_or("")),
        card = escape(&card),
    )
}

/// 「定期購入を申し込む」: the plans, the member's usable cards (the first picked), a fresh nonce.
fn subscribe_form(cards: &[Value]) -> String {
    let usable: Vec<&Value> = cards
        .iter()
        .filter(|c| c["expired"].as_bool() != Some(true))
        .collect();
    if usable.is_empty() {
        return r#"<p id="subscribe-no-cards">定期購入のお支払いには登録済みのカードが必要です。<a href="/mypage/cards" id="subscribe-add-card">カード情報 › カードを追加する</a>からカードを登録してください。</p>"#.into();
    }
    let plans: String = PLANS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                r#"<p><label><input type="radio" name="plan" value="{key}" id="plan-{key}"{checked}> {name} {amount}</label></p>"#,
                key = p.key,
                name = escape(p.name),
                amount = Jpy::from_stored(p.amount),
                checked = if i == 0 { " checked" } else { "" },
            )
        })
        .collect();
    let card_radios: String = usable
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let seq = c["card_seq"].as_i64().unwrap_or(-1);
            format!(
                r#"<p><label><input type="radio" name="card_seq" value="{seq}" id="subscribe-card-{seq}"{checked}> {label} <span class="note">有効期限 {expire}</span></label></p>"#,
                label = escape(&card_label(c)),
                expire = escape(c["expire"].as_str().unwrap_or("")),
                checked = if i == 0 { " checked" } else { "" },
            )
        })
        .collect();
    format!(
        r#"<form method="post" action="/mypage/subscriptions" id="subscribe-form">
<input type="hidden" name="nonce" value="{nonce}">
<fieldset><legend>商品</legend>{plans}</fieldset>
<fieldset><legend>お支払いカード</legend>{card_radios}</fieldset>
<p><button type="submit" class="primary" id="subscribe-submit">定期購入を申し込む</button></p></form>
<p class="note">お届けのたびに登録カードで自動的にお支払いいただきます(本人認証は登録時に済んでいます)。いつでもこのページから解約できます。</p>"#,
        nonce = random_hex(16),
    )
}

/// 「ご注文手続きで申し込む」: a plan paid at checkout with a new card or Amazon Pay (the first
/// delivery is paid now; later ones are charged automatically on the same card or Amazon Pay).
fn checkout_sign_up_form() -> String {
    let plans: String = PLANS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                r#"<p><label><input type="radio" name="plan" value="{key}" id="checkout-plan-{key}"{checked}> {name} {amount}</label></p>"#,
                key = p.key,
                name = escape(p.name),
                amount = Jpy::from_stored(p.amount),
                checked = if i == 0 { " checked" } else { "" },
            )
        })
        .collect();
    format!(
        r#"<form method="post" action="/mypage/subscriptions/checkout" id="checkout-sign-up-form">
<input type="hidden" name="nonce" value="{nonce}">
<fieldset><legend>商品</legend>{plans}</fieldset>
<p><button type="submit" class="primary" id="checkout-sign-up-submit">ご注文手続きへ(クレジットカード・Amazon Pay)</button></p></form>
<p class="note">初回分はご注文手続きでお支払いいただき、2回目以降は同じカードまたは Amazon Pay で自動的にお支払いいただきます。</p>"#,
        nonce = random_hex(16),
    )
}

/// `GET /mypage/subscriptions`.
pub async fn subscriptions_page(State(shop): State<Storefront>, headers: HeaderMap) -> Response {
    let (sid, cookie) = ensure_session(&shop, &headers);
    let Some(member) = logged_in(&shop, &sid) else {
        set_flash(
            &shop,
            &sid,
            false,
            "定期購入を見るにはログインしてください。",
        );
        return with_cookie(cookie, Redirect::to("/login").into_response());
    };
    let flash = take_flash(&shop, &sid);
    let cards_path = format!("/v1/customers/{}/cards", member.id);
    let cards = match shop
        .merchant(reqwest::Method::GET, &cards_path, None, None)
        .await
    {
        Ok((200, v)) => Some(v["cards"].as_array().cloned().unwrap_or_default()),
        Ok(_) | Err(_) => None,
    };
    let labels: HashMap<i64, String> = cards
        .iter()
        .flatten()
        .filter_map(|c| Some((c["card_seq"].as_i64()?, card_label(c))))
        .collect();
    let subs_path = format!("/v1/customers/{}/subscriptions", member.id);
    let list = match shop
        .merchant(reqwest::Method::GET, &subs_path, None, None)
        .await
    {
        Ok((200, v)) => {
            let subs = v["data"].as_array().cloned().unwrap_or_default();
            if subs.is_empty() {
                r#"<p id="subscriptions-empty">お申し込み中の定期購入はありません。</p>"#.to_string()
            } else {
                let rows: String = subs.iter().map(|s| subscription_row(s, &labels)).collect();
                format!(
                    r#"<table id="subscriptions"><tr><th>商品名</th><th class="num">金額</th><th>周期</th><th>次回お支払い日</th><th>状態</th><th>お支払いカード</th><th></th></tr>{rows}</table>"#
                )
            }
        }
        Ok(_) | Err(_) => {
            r#"<p class="flash ng" id="subscriptions-error">定期購入を取得できませんでした。しばらくしてから再度お試しください。</p>"#.into()
        }
    };
    let form = match &cards {
        Some(cards) => subscribe_form(cards),
        None => r#"<p class="flash ng" id="subscribe-unavailable">登録カードを取得できないため、いまはお申し込みいただけません。</p>"#.into(),
    };
    let body = format!(
        r#"<div class="card"><h1>定期購入</h1>{flash}{list}<p><a href="/mypage">マイページへ戻る</a></p></div>
<div class="card"><h2>定期購入を申し込む</h2>{form}</div>
<div class="card"><h2>ご注文手続きで申し込む</h2>{checkout}</div>"#,
        checkout = checkout_sign_up_form(),
    );
    with_cookie(
        cookie,
        (
            [(header::CACHE_CONTROL, "no-store")],
            page("定期購入", &body),
        )
            .into_response(),
    )
}

/// The form's plan, if it names one and its nonce (the `Idempotency-Key`'s part) is well formed.
fn checked_plan(plan: &str, nonce: &str) -> Option<&'static Plan> {
    let nonce_ok = (16..=64).contains(&nonce.len()) && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    PLANS.iter().find(|p| p.key == plan).filter(|_| nonce_ok)
}

/// A sign-up form the page did not make (or an old one): back to the list with a message.
fn unreadable_form(shop: &Storefront, sid: &str) -> Response {
    set_flash(
        shop,
        sid,
        false,
        "お申し込み内容を確認できませんでした。もう一度お試しください。",
    );
    Redirect::to("/mypage/subscriptions").into_response()
}

#[derive(Deserialize)]
pub struct CheckoutSignUpForm {
    plan: String,
    nonce: String,
}

/// `POST /mypage/subscriptions/checkout`: a payment for the plan's first delivery that signs
/// up for it (`subscription` on `POST /v1/payments`), then the storefront's ご注文手続き page.
/// The edge sets the subscription up once the shopper has paid.
pub async fn checkout_sign_up(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<CheckoutSignUpForm>,
) -> Response {
    let (sid, member) = match member_session(&shop, &headers) {
        Ok(m) => m,
        Err(page) => return *page,
    };
    let Some(plan) = checked_plan(&form.plan, &form.nonce) else {
        return unreadable_form(&shop, &sid);
    };
    let order_id = format!("SUB{}", &form.nonce[..12]);
    let body = json!({
        "order_id": order_id,
        "amount": plan.amount,
        "customer": member.id,
        "customer_name": member.name,
        "subscription": { "cycle": plan.cycle },
    });
    let key = format!("demo-sub-checkout-{}", form.nonce);
    match shop
        .merchant(
            reqwest::Method::POST,
            "/v1/payments",
            Some(body),
            Some(&key),
        )
        .await
    {
        Ok((200 | 201, v)) => {
            let payment_id = v["id"].as_str().unwrap_or_default().to_string();
            // The edge derives the subscription's id from the payment's.
            product_names().insert(
                format!("sub_{}", payment_id.trim_start_matches("pay_")),
                plan.name,
            );
            shop.orders().insert(
                order_id.clone(),
                Order {
                    lines: vec![(plan.name.to_string(), plan.amount, 1)],
                    amount: plan.amount,
                    payment_id,
                    client_secret: v["client_secret"].as_str().unwrap_or_default().to_string(),
                },
            );
            Redirect::to(&format!("/checkout/{order_id}")).into_response()
        }
        Ok((_, v)) => {
            let m = message_ja(
                &v,
                "お申し込みを始められませんでした。しばらくしてから再度お試しください。",
            );
            set_flash(&shop, &sid, false, &m);
            Redirect::to("/mypage/subscriptions").into_response()
        }
        Err(_) => {
            set_flash(
                &shop,
                &sid,
                false,
                "お申し込みを始められませんでした。しばらくしてから再度お試しください。",
            );
            Redirect::to("/mypage/subscriptions").into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    plan: String,
    card_seq: String,
    nonce: String,
}

/// The edge's Japanese message of a refusal, or `fallback`.
fn message_ja(v: &Value, fallback: &str) -> String {
    v["error"]["message_ja"]
        .as_str()
        .filter(|m| !m.is_empty())
        .unwrap_or(fallback)
        .to_string()
}

/// `POST /mypage/subscriptions`: creates the subscription (`Idempotency-Key` from the form's
/// nonce: a second submit of the same form replays the first answer), then the list.
pub async fn subscribe(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<SubscribeForm>,
) -> Response {
    let (sid, member) = match member_session(&shop, &headers) {
        Ok(m) => m,
        Err(page) => return *page,
    };
    let (Some(plan), Ok(seq)) = (
        checked_plan(&form.plan, &form.nonce),
        form.card_seq.parse::<u32>(),
    ) else {
        return unreadable_form(&shop, &sid);
    };
    let key = format!("demo-sub-{}-{}", member.id, form.nonce);
    let body = json!({
        "customer": member.id,
        "card_seq": seq,
        "amount": plan.amount,
        "cycle": plan.cycle,
    });
    // A double submit sends the same key twice: the edge runs it once and the shared client
    // waits for the first answer (`Storefront::merchant`).
    let answer = shop
        .merchant(
            reqwest::Method::POST,
            "/v1/subscriptions",
            Some(body),
            Some(&key),
        )
        .await;
    let (good, message) = match answer {
        Ok((200 | 201, v)) => {
            if let Some(id) = v["id"].as_str() {
                product_names().insert(id.to_string(), plan.name);
            }
            let first = v["next_charge_on"].as_str().unwrap_or("次回のお支払い日");
            (
                true,
                format!(
                    "定期購入を申し込みました。初回のお支払いは{first}に登録カードで行われます。"
                ),
            )
        }
        Ok((_, v)) => (
            false,
            message_ja(
                &v,
                "定期購入を申し込めませんでした。しばらくしてから再度お試しください。",
            ),
        ),
        Err(_) => (
            false,
            "定期購入を申し込めませんでした。しばらくしてから再度お試しください。".into(),
        ),
    };
    set_flash(&shop, &sid, good, &message);
    Redirect::to("/mypage/subscriptions").into_response()
}

/// `POST /mypage/subscriptions/{id}/cancel`: 解約 (the browser asked first). Only the member's
/// own subscription: the edge's view must name them as its customer.
pub async fn cancel(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let (sid, member) = match member_session(&shop, &headers) {
        Ok(m) => m,
        Err(page) => return *page,
    };
    let not_found = "定期購入が見つかりません。";
    let safe = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let path = format!("/v1/subscriptions/{id}");
    let owned = safe
        && matches!(
            shop.merchant(reqwest::Method::GET, &path, None, None).await,
            Ok((200, v)) if v["customer"] == member.id.as_str()
        );
    let (good, message) = if !owned {
        (false, not_found.to_string())
    } else {
        let key = format!("demo-sub-cancel-{id}");
        match shop
            .merchant(
                reqwest::Method::POST,
                &format!("{path}/cancel"),
                None,
                Some(&key),
            )
            .await
        {
            Ok((200, _)) => (true, "定期購入を解約しました。".to_string()),
            Ok((_, v)) => (
                false,
                message_ja(
                    &v,
                    "解約できませんでした。しばらくしてから再度お試しください。",
                ),
            ),
            Err(_) => (
                false,
                "解約できませんでした。しばらくしてから再度お試しください。".into(),
            ),
        }
    };
    set_flash(&shop, &sid, good, &message);
    Redirect::to("/mypage/subscriptions").into_response()
}
