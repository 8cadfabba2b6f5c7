//! マイページ › カード情報 (会員カード, issue #14): the member's stored cards as the edge lists
//! them (masked; GMO keeps the cards), 「いつも使うカードにする」 and 削除, all through the
//! edge's merchant API with the secret key. A new card is saved at checkout (「このカードを登録する」),
//! after the payment's 3-D Secure authentication, so every stored card was authenticated once.

use crate::html::{escape, page};
use crate::members::{
    ensure_session, expired_session, logged_in, session_id, set_flash, take_flash, with_cookie,
};
use crate::shop::Storefront;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

fn brand_label(brand: &str) -> &'static str {
    match brand {
        "visa" => "VISA",
        "mastercard" => "Mastercard",
        "jcb" => "JCB",
        "amex" => "American Express",
        "diners" => "Diners Club",
        "discover" => "Discover",
        _ => "カード",
    }
}

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
<p class="note">新しいカードは、お買い物のお支払い画面で「このカードを登録する」を選ぶと、本人認証(3Dセキュア)のうえで登録されます。カード番号はカード決済会社(GMOペイメントゲートウェイ)が保管し、当店には下桁と有効期限のみが表示されます。</p>
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
    let Some(sid) = session_id(&shop, &headers) else {
        return expired_session();
    };
    let Some(member) = logged_in(&shop, &sid) else {
        return Redirect::to("/login").into_response();
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
    let Some(sid) = session_id(&shop, &headers) else {
        return expired_session();
    };
    let Some(member) = logged_in(&shop, &sid) else {
        return Redirect::to("/login").into_response();
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
