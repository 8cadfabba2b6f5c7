//! マイページ › カード情報 (会員カード, issue #14): the member's stored cards as the edge lists
//! them (masked; GMO keeps the cards), 「いつも使うカードにする」 and 削除, all through the
//! edge's merchant API with the secret key. A new card is saved at checkout (「このカードを登録する」)
//! or here (「カードを追加する」: a card-registration payment, `capture: verify`, GMO 有効性チェック
//! with 3-D Secure, nothing charged), so every stored card was authenticated once.

use crate::html::{brand_label, escape, page};
use crate::members::{
    ensure_session, logged_in, member_session, set_flash, take_flash, with_cookie,
};
use crate::shop::Storefront;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// One card's row: brand ・・・・last digits, expiry, default badge or button, delete.
fn card_row(c: &Value) -> String {
    let seq = c["card_seq"].as_i64().unwrap_or(-1);
    let brand = brand_label(c["brand"].as_str().unwrap_or(""));
    let last = escape(c["last_digits"].as_str().unwrap_or(""));
    let expire = escape(c["expire"].as_str().unwrap_or(""));
    let expired = if c["expired"].as_bool() == Some(true) {
        r#" <span class="badge expired">有効期限切れ</span>"#
    } else {
        ""
    };
    let default = if c["default"].as_bool() == Some(true) {
        r#"<span class="badge default-card">いつも使うカード</span>"#.to_string()
    } else {
        format!(
            r#"<form method="post" action="/mypage/cards/{seq}/default"><button type="submit" class="card-default">いつも使うカードにする</button></form>"#
        )
    };
    format!(
        r#"<tr class="saved-card" data-card-seq="{seq}"><td>{brand} ・・・・{last}</td><td>有効期限 {expire}{expired}</td><td>{default}</td>
<td><form method="post" action="/mypage/cards/{seq}/delete" onsubmit="return confirm('このカードを削除しますか？')"><button type="submit" class="card-delete" aria-label="{brand} ・・・・{last} を削除">削除</button></form></td></tr>"#
    )
}

/// The box that asks again before the member's last card goes (the edge answered `last_card`).
fn confirm_last_box(seq: u32) -> String {
    format!(
        r#"<div class="flash ng" id="confirm-last" role="alert"><p>最後の登録カードです。削除すると、次回のお支払いで登録カードを使えなくなります。</p>
<form method="post" action="/mypage/cards/{seq}/delete"><input type="hidden" name="confirm_last" value="1"><button type="submit" id="confirm-last-delete">それでも削除する</button> <a href="/mypage/cards">やめる</a></form></div>"#
    )
}

/// `GET /mypage/cards[?confirm_last=N]`.
pub async fn cards_page(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (sid, cookie) = ensure_session(&shop, &headers);
    let Some(member) = logged_in(&shop, &sid) else {
        set_flash(
            &shop,
            &sid,
            false,
            "カード情報を見るにはログインしてください。",
        );
        return with_cookie(cookie, Redirect::to("/login").into_response());
    };
    let flash = take_flash(&shop, &sid);
    let confirm = q
        .get("confirm_last")
        .and_then(|s| s.parse::<u32>().ok())
        .map(confirm_last_box)
        .unwrap_or_default();
    let path = format!("/v1/customers/{}/cards", member.id);
    let list = match shop.merchant(reqwest::Method::GET, &path, None, None).await {
        Ok((200, v)) => {
            let cards = v["cards"].as_array().cloned().unwrap_or_default();
            if cards.is_empty() {
                r#"<p id="cards-empty">登録済みのカードはありません。</p>"#.to_string()
            } else {
                let rows: String = cards.iter().map(card_row).collect();
                format!(r#"<table id="saved-cards">{rows}</table>"#)
            }
        }
        Ok((404, _)) => {
            r#"<p id="cards-empty">このショップではカードの登録をご利用いただけません。</p>"#.into()
        }
        Ok(_) | Err(_) => {
            r#"<p class="flash ng" id="cards-error">カード情報を取得できませんでした。しばらくしてから再度お試しください。</p>"#.into()
        }
    };
    let body = format!(
        r#"<div class="card"><h1>カード情報</h1>{flash}{confirm}{list}
<form method="post" action="/mypage/cards/add"><p><button type="submit" class="primary" id="add-card">カードを追加する</button></p></form>
<p class="note">カードは本人認証(3Dセキュア)のうえで登録されます(ご請求はありません)。お買い物のお支払い画面で「このカードを登録する」を選んでも登録できます。カード番号はカード決済会社(GMOペイメントゲートウェイ)が保管し、当店には下桁と有効期限のみが表示されます。</p>
<p><a href="/mypage">マイページへ戻る</a></p></div>"#
    );
    with_cookie(
        cookie,
        (
            [(header::CACHE_CONTROL, "no-store")],
            page("カード情報", &body),
        )
            .into_response(),
    )
}

#[derive(Deserialize)]
pub struct DeleteForm {
    confirm_last: Option<String>,
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        page(
            "見つかりません",
            r#"<div class="card"><p>カードが見つかりません。</p><p><a href="/mypage/cards">カード情報へ</a></p></div>"#,
        ),
    )
        .into_response()
}

/// `POST /mypage/cards/{seq}/delete` (`confirm_last=1` after the member confirmed).
pub async fn delete_card(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Path(seq): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Response {
    let (sid, member) = match member_session(&shop, &headers) {
        Ok(m) => m,
        Err(page) => return *page,
    };
    let Ok(seq) = seq.parse::<u32>() else {
        return not_found();
    };
    let confirm = form.confirm_last.as_deref() == Some("1");
    let path = format!(
        "/v1/customers/{}/cards/{seq}{}",
        member.id,
        if confirm { "?confirm_last=1" } else { "" }
    );
    let answer = shop
        .merchant(reqwest::Method::DELETE, &path, None, None)
        .await;
    let (good, message) = match answer {
        Ok((204 | 200, _)) => (true, "カードを削除しました。"),
        Ok((409, v)) if v["error"]["code"] == "last_card" => {
            return Redirect::to(&format!("/mypage/cards?confirm_last={seq}")).into_response();
        }
        Ok((404, _)) => (false, "カードが見つかりません(すでに削除されています)。"),
        Ok(_) | Err(_) => (
            false,
            "カードを削除できませんでした。しばらくしてから再度お試しください。",
        ),
    };
    set_flash(&shop, &sid, good, message);
    Redirect::to("/mypage/cards").into_response()
}

/// `POST /mypage/cards/{seq}/default`.
pub async fn make_default(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Path(seq): Path<String>,
) -> Response {
    let (sid, member) = match member_session(&shop, &headers) {
        Ok(m) => m,
        Err(page) => return *page,
    };
    let Ok(seq) = seq.parse::<u32>() else {
        return not_found();
    };
    let path = format!("/v1/customers/{}/cards/{seq}/default", member.id);
    let (good, message) = match shop.merchant(reqwest::Method::PUT, &path, None, None).await {
        Ok((200, _)) => (true, "いつも使うカードを変更しました。"),
        Ok((404, _)) => (false, "カードが見つかりません(すでに削除されています)。"),
        Ok(_) | Err(_) => (
            false,
            "変更できませんでした。しばらくしてから再度お試しください。",
        ),
    };
    set_flash(&shop, &sid, good, message);
    Redirect::to("/mypage/cards").into_response()
}

/// `POST /mypage/cards/add`: a card-registration payment for the member (nothing charged), then
/// its page.
pub async fn start_add(State(shop): State<Storefront>, headers: HeaderMap) -> Response {
    let (sid, member) = match member_session(&shop, &headers) {
        Ok(m) => m,
        Err(page) => return *page,
    };
    let order_id = format!("CARD-{}", crate::members::random_hex(8));
    let body = json!({ "order_id": order_id, "capture": "verify", "customer": member.id });
    match shop
        .merchant(
            reqwest::Method::POST,
            "/v1/payments",
            Some(body),
            Some(&order_id),
        )
        .await
    {
        Ok((201 | 200, p)) => {
            let id = p["id"].as_str().unwrap_or_default();
            Redirect::to(&format!("/mypage/cards/add/{id}")).into_response()
        }
        Ok(_) | Err(_) => {
            set_flash(
                &shop,
                &sid,
                false,
                "カードの登録を開始できませんでした。しばらくしてから再度お試しください。",
            );
            Redirect::to("/mypage/cards").into_response()
        }
    }
}

/// `GET /mypage/cards/add/{payment}`: the widget for the member's card registration (the issuer's
/// 3-D Secure page brings the browser back here). Only the member whose registration it is may
/// open it.
pub async fn add_page(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Path(payment_id): Path<String>,
) -> Response {
    let (sid, cookie) = ensure_session(&shop, &headers);
    let Some(member) = logged_in(&shop, &sid) else {
        return with_cookie(cookie, Redirect::to("/login").into_response());
    };
    let path = format!("/v1/payments/{payment_id}");
    let p = match shop.merchant(reqwest::Method::GET, &path, None, None).await {
        Ok((200, p)) if p["customer"] == member.id.as_str() && p["capture"] == "verify" => p,
        Ok(_) | Err(_) => return not_found(),
    };
    let edge = escape(&shop.edge_url);
    let body = format!(
        r#"<div class="card"><h1>カードを追加する</h1>
<p class="note">ご請求はありません。カード発行会社の本人認証(3Dセキュア)のうえで登録します。</p>
<script type="module" src="{edge}/kessai.js"></script>
<kessai-checkout id="kessai" client-secret="{secret}" edge-url="{edge}" lang="ja"{privacy}></kessai-checkout>
<p><a href="/mypage/cards">カード情報へ戻る</a></p></div>
<script>
document.getElementById('kessai').addEventListener('kessai:success', () => setTimeout(() => location.assign('/mypage/cards/added/{pid}'), 300));
</script>"#,
        secret = escape(p["client_secret"].as_str().unwrap_or("")),
        pid = escape(&payment_id),
        privacy = if shop.origin.is_empty() {
            String::new()
        } else {
            format!(" data-privacy-url=\"{}/privacy\"", escape(&shop.origin))
        },
    );
    with_cookie(
        cookie,
        (
            [(header::CACHE_CONTROL, "no-store")],
            page("カードを追加する", &body),
        )
            .into_response(),
    )
}

/// `GET /mypage/cards/added/{payment}`: confirms the registration with the edge (server to server,
/// never the browser's word alone), then back to the list with the news.
pub async fn added(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Path(payment_id): Path<String>,
) -> Response {
    let (sid, member) = match member_session(&shop, &headers) {
        Ok(m) => m,
        Err(page) => return *page,
    };
    let path = format!("/v1/payments/{payment_id}");
    let (good, message) = match shop.merchant(reqwest::Method::GET, &path, None, None).await {
        Ok((200, p)) if p["customer"] == member.id.as_str() => {
            if p["state"] == "verified" && p["card"]["saved_card_seq"].is_number() {
                (true, "カードを登録しました。")
            } else if p["state"] == "verified" {
                (
                    false,
                    "カードは確認できましたが、登録できませんでした。登録できるカードの上限に達している可能性があります。",
                )
            } else {
                (false, "カードを登録できませんでした。")
            }
        }
        Ok(_) | Err(_) => return not_found(),
    };
    set_flash(&shop, &sid, good, message);
    Redirect::to("/mypage/cards").into_response()
}
