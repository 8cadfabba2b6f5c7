//! The demo storefront: an EC-CUBE-like shop front. It plays the merchant's server: it computes
//! the order total itself and creates the payment through the edge's merchant API with the
//! secret key, then embeds the widget with the payment's client secret. The browser never
//! chooses the amount. The widget offers Amazon Pay beside the card form when the edge has it;
//! Amazon sends the shopper back to the checkout page, which then shows the result. Members
//! (ログイン, 会員登録, マイページ with Amazon sign-in and account links) are in [`crate::members`];
//! the shop's state is [`crate::shop`], the routes are assembled in [`crate::routes`].

use crate::html::{escape, page};
use crate::shop::Order;
// The state type moved to crate::shop (below this module and crate::members); re-exported so
// `kessai_demo::storefront::Storefront` and its options keep working.
pub use crate::shop::{AmazonDemo, Storefront, StorefrontOptions};
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use kessai_core::money::Jpy;
use serde_json::{Value, json};
use std::collections::HashMap;

pub struct Product {
    pub id: &'static str,
    pub name: &'static str,
    pub price: i64,
}

pub const CATALOG: [Product; 3] = [
    Product {
        id: "mug",
        name: "有田焼 マグカップ",
        price: 3300,
    },
    Product {
        id: "towel",
        name: "今治タオル フェイスタオル 2枚組",
        price: 2750,
    },
    Product {
        id: "tea",
        name: "静岡煎茶 100g",
        price: 1620,
    },
];

/// 送料: free from ¥5,000.
pub fn shipping_for(subtotal: i64) -> i64 {
    if subtotal >= 5000 { 0 } else { 550 }
}

#[derive(serde::Deserialize)]
pub(crate) struct CheckoutForm {
    #[serde(flatten)]
    qty: HashMap<String, String>,
}

pub(crate) async fn home() -> Html<String> {
    let rows: String = CATALOG
        .iter()
        .map(|p| {
            format!(
                r#"<tr><td>{}</td><td class="num">{}</td><td class="num"><label>数量 <input type="number" name="{}" value="0" min="0" max="9" style="width:3em"></label></td></tr>"#,
                escape(p.name),
                Jpy::from_stored(p.price),
                p.id
            )
        })
        .collect();
    page(
        "商品一覧",
        &format!(
            r#"<div class="card"><h1>商品一覧</h1>
<form method="post" action="/checkout" id="cart">
<table><thead><tr><th>商品</th><th class="num">価格(税込)</th><th class="num"></th></tr></thead><tbody>{rows}</tbody></table>
<p class="note">5,000円以上で送料無料(それ以外は送料550円)。</p>
<p><label>お名前 <input name="customer_name" id="customer-name" maxlength="100" value="山田 太郎"></label></p>
<p><button class="primary" type="submit" id="to-checkout">ご注文手続きへ</button></p></form></div>
<p class="note"><a href="/orders">受注一覧(デモ)</a></p>"#
        ),
    )
}

fn new_order_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("EC{}", nanos % 10_000_000_000_000)
}

pub(crate) async fn create_checkout(
    State(shop): State<Storefront>,
    headers: axum::http::HeaderMap,
    Form(form): Form<CheckoutForm>,
) -> Response {
    let mut lines = Vec::new();
    for p in &CATALOG {
        let q = form
            .qty
            .get(p.id)
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0);
        if !(0..=9).contains(&q) {
            return (
                StatusCode::BAD_REQUEST,
                page("エラー", "<p>数量は0〜9で指定してください。</p>"),
            )
                .into_response();
        }
        if q > 0 {
            lines.push((p.name.to_string(), p.price, q));
        }
    }
    if lines.is_empty() {
        return (StatusCode::BAD_REQUEST, page("エラー", r#"<div class="card"><p>商品を1つ以上選んでください。</p><p><a href="/">戻る</a></p></div>"#)).into_response();
    }
    let subtotal: i64 = lines.iter().map(|(_, price, q)| price * q).sum();
    let amount = subtotal + shipping_for(subtotal);
    let order_id = new_order_id();
    // The form's other fields are quantities keyed by product id; the name is shown in the
    // operator console's list (お客様名).
    let customer_name = form
        .qty
        .get("customer_name")
        .map(|n| n.trim().chars().take(100).collect::<String>())
        .filter(|n| !n.is_empty());
    // A logged-in member pays as a customer: the widget offers the member's saved cards and
    // 「このカードを登録する」 (会員カード, issue #14).
    let customer = shop.member_id_of(&headers);
    let body = json!({ "order_id": order_id, "amount": amount, "capture": "manual", "customer_name": customer_name, "customer": customer });
    match shop
        .merchant(
            reqwest::Method::POST,
            "/v1/payments",
            Some(body),
            Some(&format!("create-{order_id}")),
        )
        .await
    {
        Ok((201 | 200, v)) => {
            let payment_id = v["id"].as_str().unwrap_or_default().to_string();
            let client_secret = v["client_secret"].as_str().unwrap_or_default().to_string();
            shop.orders().insert(
                order_id.clone(),
                Order {
                    lines,
                    amount,
                    payment_id,
                    client_secret,
                },
            );
            Redirect::to(&format!("/checkout/{order_id}")).into_response()
        }
        Ok((status, v)) => (
            StatusCode::BAD_GATEWAY,
            page(
                "エラー",
                &format!(
                    "<p>決済の準備に失敗しました ({status}): {}</p>",
                    escape(v["error"]["message_ja"].as_str().unwrap_or(""))
                ),
            ),
        )
            .into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            page(
                "エラー",
                &format!("<p>決済サーバーに接続できません: {}</p>", escape(&e)),
            ),
        )
            .into_response(),
    }
}

pub(crate) async fn checkout_page(
    State(shop): State<Storefront>,
    Path(order_id): Path<String>,
) -> Response {
    let Some(order) = shop.orders().get(&order_id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            page("見つかりません", "<p>注文が見つかりません。</p>"),
        )
            .into_response();
    };
    let rows: String = order
        .lines
        .iter()
        .map(|(name, price, q)| {
            format!(
                "<tr><td>{}</td><td class=\"num\">{} × {q}</td></tr>",
                escape(name),
                Jpy::from_stored(*price)
            )
        })
        .collect();
    let subtotal: i64 = order.lines.iter().map(|(_, p, q)| p * q).sum();
    let cards: String = kessai_sandbox::test_cards::TABLE
        .iter()
        .map(|(number, what)| {
            format!(
                "<tr><td><code>{number}</code></td><td>{}</td></tr>",
                escape(what)
            )
        })
        .collect();
    let edge = escape(&shop.edge_url);
    let amazon_note = match &shop.amazon {
        Some(amazon) => {
            let buyers: String = kessai_sandbox::amazon::buyers::BUYERS
                .iter()
                .map(|b| {
                    let what = match b.outcome {
                        kessai_sandbox::amazon::buyers::BuyerOutcome::Pays => "お支払いできます",
                        kessai_sandbox::amazon::buyers::BuyerOutcome::HardDeclined => {
                            "お支払いが拒否されます(与信NG)"
                        }
                    };
                    format!(
                        "<tr><td>{}</td><td><code>{}</code></td><td>{what}</td></tr>",
                        escape(b.name),
                        escape(b.email)
                    )
                })
                .collect();
            format!(
                r#"<div class="card"><h3>テスト用 Amazon アカウント (サンドボックス)</h3><p class="note">「Amazon Pay」ボタンを押すと、Amazon Pay サンドボックス (<code>{}</code>) のログイン画面で次の購入者を選べます。パスワードは確認されません。</p>
<table>{buyers}</table></div>"#,
                escape(&amazon.sandbox_url)
            )
        }
        None => String::new(),
    };
    let body = format!(
        r#"<div class="card"><h1>ご注文手続き</h1><p>注文番号 <strong id="order-id">{oid}</strong></p>
<table>{rows}<tr><td>送料</td><td class="num">{ship}</td></tr><tr><th>お支払い金額</th><th class="num" id="order-amount">{amount}</th></tr></table></div>
<div class="card"><h2>お支払い方法</h2>
<script type="module" src="{edge}/kessai.js"></script>
<kessai-checkout id="kessai" client-secret="{secret}" edge-url="{edge}" lang="ja"{privacy}></kessai-checkout>
</div>
<div class="card"><h3>テスト用カード (サンドボックス)</h3><p class="note">有効期限は未来の任意の月、セキュリティコードは任意の3桁(AMEXは4桁)、名義は半角英字。</p>
<table>{cards}</table></div>
{amazon_note}
<script>
window.__kessaiEvents = [];
const el = document.getElementById('kessai');
for (const name of ['kessai:ready','kessai:change','kessai:success','kessai:error']) {{
  el.addEventListener(name, (e) => {{
    window.__kessaiEvents.push({{type: name, detail: e.detail}});
    // Kept for the demo's completion page (and its tests) across the redirect.
    sessionStorage.setItem('kessaiEvents', JSON.stringify(window.__kessaiEvents));
  }});
}}
// Card or Amazon Pay (after Amazon sends the shopper back here): the completion page confirms
// the payment with the edge, server to server.
el.addEventListener('kessai:success', () => setTimeout(() => location.assign('/complete/{oid}'), 800));
</script>"#,
        oid = escape(&order_id),
        ship = Jpy::from_stored(order.amount - subtotal),
        amount = Jpy::from_stored(order.amount),
        secret = escape(&order.client_secret),
        // The widget links the 3-D Secure consent notice to it (absolute http(s) only).
        privacy = if shop.origin.is_empty() {
            String::new()
        } else {
            format!(" data-privacy-url=\"{}/privacy\"", escape(&shop.origin))
        },
    );
    let _ = &shop.sandbox_url;
    (
        [(header::CACHE_CONTROL, "no-store")],
        page("ご注文手続き", &body),
    )
        .into_response()
}

pub(crate) async fn complete_page(
    State(shop): State<Storefront>,
    Path(order_id): Path<String>,
) -> Response {
    let Some(order) = shop.orders().get(&order_id).cloned() else {
        return (
            StatusCode::NOT_FOUND,
            page("見つかりません", "<p>注文が見つかりません。</p>"),
        )
            .into_response();
    };
    // The storefront trusts the edge (server to server), never the browser's word, for "paid".
    let state = match shop
        .merchant(
            reqwest::Method::GET,
            &format!("/v1/payments/{}", order.payment_id),
            None,
            None,
        )
        .await
    {
        Ok((200, v)) => v,
        _ => {
            return (
                StatusCode::BAD_GATEWAY,
                page("エラー", "<p>決済状態を確認できませんでした。</p>"),
            )
                .into_response();
        }
    };
    let label = state["state_label_ja"].as_str().unwrap_or("");
    let paid = matches!(state["state"].as_str(), Some("authorized" | "captured"));
    let method = method_label(&state);
    let amazon = amazon_details(&state);
    let card_note = card_saved_note(&state) + &subscription_note(&state);
    let headline = if paid {
        "ご注文ありがとうございます"
    } else {
        "お支払いが完了していません"
    };
    let body = format!(
        r#"<div class="card"><h1 id="headline">{headline}</h1><p>注文番号 <strong>{oid}</strong></p>
<p>お支払い金額 <strong>{amount}</strong></p><p>支払方法 <span id="payment-method" data-method="{method_code}">{method}</span></p>
<p>決済状態 <span class="badge" id="payment-state" data-state="{st}">{label}</span></p>{amazon}{card_note}
<p class="note">決済ID {pid}</p><p><a href="/">買い物を続ける</a></p></div>"#,
        method_code = escape(state["method"].as_str().unwrap_or("")),
        oid = escape(&order_id),
        amount = Jpy::from_stored(order.amount),
        st = escape(state["state"].as_str().unwrap_or("")),
        label = escape(label),
        pid = escape(&order.payment_id),
    );
    page("ご注文完了", &body).into_response()
}

/// A 定期購入 sign-up that the edge has set up (the payment names its subscription).
fn subscription_note(p: &Value) -> String {
    match p["subscription_id"].as_str() {
        Some(id) if p["subscription_plan"].is_object() => format!(
            r#"<p class="flash ok" id="subscription-started" data-subscription-id="{}">定期購入を開始しました。次回からは自動的にお支払いいただきます(<a href="/mypage/subscriptions">定期購入</a>)。</p>"#,
            escape(id)
        ),
        Some(_) | None => String::new(),
    }
}

/// Whether this payment saved the shopper's card (the edge's word: `card.saved_card_seq` and
/// the `card_save_failed` event), for the completion page.
fn card_saved_note(p: &Value) -> String {
    if let Some(seq) = p["card"]["saved_card_seq"].as_i64() {
        return format!(
            r#"<p class="flash ok" id="card-saved" data-card-seq="{seq}">カードを登録しました。次回から「登録済みのカード」でお支払いいただけます(<a href="/mypage/cards">カード情報</a>)。</p>"#
        );
    }
    let failed = p["events"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["kind"] == "card_save_failed"));
    if failed {
        return r#"<p class="flash ng" id="card-saved" data-card-seq="">お支払いは完了しましたが、カードを登録できませんでした。</p>"#.into();
    }
    String::new()
}

/// The shop's privacy policy (linked from the widget's 3-D Secure consent notice).
pub(crate) async fn privacy_page() -> Html<String> {
    page(
        "プライバシーポリシー",
        r#"<div class="card"><h1>プライバシーポリシー</h1><p>kessaiデモ店は、ご注文とお支払いのためにお客様の情報を利用します。クレジットカードの本人認証(EMV 3Dセキュア)では、不正利用の検知のため、カード・端末・メールアドレスの情報をカード発行会社に提供します。カード番号は当店のサーバーを通らず、決済代行会社に直接送信されます。(デモ用の文面です。)</p></div>"#,
    )
}

pub(crate) async fn orders_page(State(shop): State<Storefront>) -> Response {
    let (_, list) = match shop
        .merchant(reqwest::Method::GET, "/v1/payments", None, None)
        .await
    {
        Ok(v) => v,
        Err(_) => {
            return (
                StatusCode::BAD_GATEWAY,
                page("エラー", "<p>決済サーバーに接続できません。</p>"),
            )
                .into_response();
        }
    };
    let rows: String = list["data"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .map(|p| {
            format!(
                "<tr data-order=\"{oid}\"><td>{oid}</td><td class=\"num\">{}</td><td>{}</td><td class=\"method\">{}</td><td>{}</td><td>{}</td></tr>",
                Jpy::from_stored(p["amount"].as_i64().unwrap_or(0)),
                escape(p["state_label_ja"].as_str().unwrap_or("")),
                method_label(p),
                amazon_details(p),
                escape(p["gateway"]["gmo_order_id"].as_str().unwrap_or("")),
                oid = escape(p["order_id"].as_str().unwrap_or("")),
            )
        })
        .collect();
    page(
        "受注一覧",
        &format!(
            r#"<div class="card"><h1>受注一覧(デモ)</h1><table><thead><tr><th>注文番号</th><th class="num">金額</th><th>対応状況(決済)</th><th>支払方法</th><th>購入者・お届け先 (Amazon)</th><th>GMO オーダーID</th></tr></thead><tbody>{rows}</tbody></table></div>"#
        ),
    )
    .into_response()
}

/// 支払方法 of a payment (merchant API view): クレジットカード / Amazon Pay, empty while unpaid.
fn method_label(p: &Value) -> &'static str {
    match p["method"].as_str() {
        Some("amazon_pay") => "Amazon Pay",
        Some("card") => "クレジットカード",
        Some(_) | None => "",
    }
}

/// The Amazon buyer and shipping address of a payment (merchant API view), as HTML; empty
/// for a card payment.
fn amazon_details(p: &Value) -> String {
    let amazon = &p["amazon_pay"];
    let buyer = amazon["buyer"]["name"].as_str().unwrap_or("");
    let a = &amazon["shipping_address"];
    if buyer.is_empty() && !a.is_object() {
        return String::new();
    }
    let s = |k: &str| a[k].as_str().unwrap_or("");
    let address = [
        s("state_or_region"),
        s("city"),
        s("address_line1"),
        s("address_line2"),
        s("address_line3"),
    ]
    .iter()
    .filter(|x| !x.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" ");
    format!(
        r#"<div class="amazon-details"><p>ご購入者 (Amazon) <span class="amazon-buyer">{}</span></p><p>お届け先 <span class="amazon-address">〒{} {} {} 様</span></p></div>"#,
        escape(buyer),
        escape(s("postal_code")),
        escape(&address),
        escape(s("name")),
    )
}
