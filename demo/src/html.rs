//! The storefront's HTML helpers: the page chrome every storefront and member page is wrapped in,
//! and text escaping. A leaf module: the shop's pages ([`crate::storefront`]) and the member pages
//! ([`crate::members`]) both use it, so neither has to import the other for it.

use axum::response::Html;

pub(crate) use kessai_core::text::html_escape as escape;

pub(crate) fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} | kessai デモショップ</title>
<style>
body{{font-family:system-ui,"Hiragino Sans","Noto Sans JP",sans-serif;margin:0;background:#f6f5f2;color:#222}}
header{{background:#1f3a5f;color:#fff;padding:12px 20px}} header a{{color:#fff;text-decoration:none;font-weight:600}}
main{{max-width:760px;margin:24px auto;padding:0 16px}} .card{{background:#fff;border-radius:8px;padding:20px;margin-bottom:16px;box-shadow:0 1px 3px #0002}}
table{{width:100%;border-collapse:collapse}} td,th{{padding:6px 4px;border-bottom:1px solid #eee;text-align:left}} td.num,th.num{{text-align:right}}
button.primary{{background:#c0392b;color:#fff;border:0;border-radius:6px;padding:10px 18px;font-size:1rem;cursor:pointer}}
.note{{font-size:.85rem;color:#555}} .badge{{display:inline-block;padding:2px 8px;border-radius:10px;background:#e8f0fe;color:#1f3a5f;font-weight:600}}
code{{background:#f0f0f0;padding:1px 4px;border-radius:3px}}
nav.member{{float:right}} nav.member a{{margin-left:14px;font-weight:400}}
.flash{{padding:8px 12px;border-radius:6px}} .flash.ok{{background:#eaf7ee;color:#1e6b34}} .flash.ng{{background:#fdf3f2;color:#8c1d18;list-style:none}}
input[type=text],input[type=email],input[type=tel],input[type=password]{{width:100%;max-width:360px;padding:8px;font-size:1rem;box-sizing:border-box}}
</style></head>
<body><header><a href="/">kessai デモショップ</a> <span class="note" style="color:#cde">テストモード: サンドボックス接続中</span>
<nav class="member"><a href="/mypage" id="nav-mypage">マイページ</a><a href="/login" id="nav-login">ログイン</a><a href="/register">会員登録</a></nav></header>
<main>{body}</main></body></html>"#
    ))
}

/// The brand of a stored card as the edge names it (`visa`, …), for the member pages.
pub(crate) fn brand_label(brand: &str) -> &'static str {
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
