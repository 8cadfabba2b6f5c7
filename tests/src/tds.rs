//! EMV 3-D Secure 2 through the edge, driven over plain HTTP as a browser would: the card POST
//! answers `next_action.redirect`, the sandbox's ACS pages (device step, challenge) are parsed
//! and submitted, and the return form is posted to the edge's RetUrl without following the
//! edge's redirect, so its `Location` can be checked. Used by `tests/tds_edge.rs` and the
//! `bench_tds` benchmark.

use crate::{Hop, create_payment, manual_client, stack, token_for, widget_post};
use serde_json::{Value, json};

/// The storefront page the shopper comes back to after 3-D Secure in these tests.
pub fn tds_return_url() -> String {
    format!("{}/checkout/3ds-done", stack().storefront)
}

/// Where the edge sends the shopper after the RetUrl: the shop's page with kessai's parameters.
pub fn card_back_in_shop(payment_id: &str, outcome: &str) -> String {
    format!(
        "{}?kessai_payment={payment_id}&kessai_card={outcome}",
        tds_return_url()
    )
}

pub use kessai_sandbox::page_forms::{HtmlForm, form, forms, text_of};

/// Submits `f` as a browser would (action resolved against `page_url`, `extra` replacing or
/// adding pairs), without following redirects.
pub async fn submit(page_url: &str, f: &HtmlForm, extra: &[(&str, &str)]) -> Hop {
    let mut fields = f.fields.clone();
    for (k, v) in extra {
        fields.retain(|(n, _)| n != k);
        fields.push((k.to_string(), v.to_string()));
    }
    let base = reqwest::Url::parse(page_url).expect("page url");
    let url = base.join(&f.action).expect("form action");
    let req = if f.method.eq_ignore_ascii_case("post") {
        manual_client().post(url.clone()).form(&fields)
    } else {
        manual_client().get(url.clone()).query(&fields)
    };
    let resp = req.send().await.expect("reachable");
    crate::hop(resp, url.as_str()).await
}

/// A card payment of `amount` sent to 3-D Secure with `card`: the payment and the issuer's URL.
pub async fn start_3ds(amount: i64, card: &str) -> (Value, String) {
    let p = create_payment(amount).await;
    let url = card_post_3ds(&p, card).await;
    (p, url)
}

/// `POST /v1/checkout/{id}/card` with a fresh token for `card` and the shop's return page;
/// asserts the 3-D Secure redirect and returns its URL (the sandbox's ACS).
pub async fn card_post_3ds(p: &Value, card: &str) -> String {
    let token = token_for(card).await;
    let (status, body) =
        widget_post(p, json!({ "token": token, "return_url": tds_return_url() })).await;
    assert_eq!(status, 200, "card POST: {body}");
    assert_eq!(body["state"], "requires_action", "{body}");
    assert_eq!(body["next_action"]["type"], "redirect", "{body}");
    let url = body["next_action"]["url"]
        .as_str()
        .expect("redirect url")
        .to_string();
    assert!(
        url.starts_with(&stack().sandbox),
        "the issuer's page: {url}"
    );
    url
}

/// Opens the issuer's URL and goes through the device step (the hidden fields as a browser
/// without script sends them): the page after it (challenge or return page) and its URL.
pub async fn device_step(redirect_url: &str) -> (String, String) {
    let page = crate::nav_get(redirect_url).await;
    assert_eq!(page.status, 200, "ACS page: {}", page.body);
    let f = form(&page.body, "tds2-method-form");
    let after = submit(redirect_url, &f, &[]).await;
    assert_eq!(after.status, 200, "device step: {}", after.body);
    (after.body, redirect_url.to_string())
}

/// The challenge page's one-time code (the sandbox shows it in `#tds2-otp-code`).
pub fn otp_of(challenge_html: &str) -> String {
    text_of(challenge_html, "tds2-otp-code").expect("one-time code on the challenge page")
}

/// Answers the challenge with `otp` (or キャンセル when `None`): the next page.
pub async fn answer_challenge(page_url: &str, challenge_html: &str, otp: Option<&str>) -> String {
    let f = form(challenge_html, "tds2-challenge-form");
    let extra: Vec<(&str, &str)> = match otp {
        Some(code) => vec![("otp", code), ("action", "submit")],
        None => vec![("action", "cancel")],
    };
    let next = submit(page_url, &f, &extra).await;
    assert_eq!(next.status, 200, "challenge: {}", next.body);
    next.body
}

/// The return page's form (auto-submitted to the edge's RetUrl) and the EMV outcome it shows.
pub fn return_form(html: &str) -> (HtmlForm, String) {
    let f = form(html, "tds2-return-form");
    let status = html
        .split("data-trans-status=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("")
        .to_string();
    (f, status)
}

/// Posts the return form to the edge as the browser does; the edge's answer (not followed).
pub async fn post_return(f: &HtmlForm) -> Hop {
    submit(&f.action, f, &[]).await
}

/// The whole frictionless path: card POST → device step → return page → the edge's RetUrl.
/// Returns the payment, the return form and the edge's answer.
pub async fn pay_frictionless(amount: i64, card: &str) -> (Value, HtmlForm, Hop) {
    let (p, url) = start_3ds(amount, card).await;
    let (html, _) = device_step(&url).await;
    let (f, _) = return_form(&html);
    let back = post_return(&f).await;
    (p, f, back)
}

/// The card POST with `body` (plus the shop's return page); the issuer's redirect URL.
pub async fn card_post_requiring_3ds(p: &Value, mut body: Value) -> String {
    body["return_url"] = json!(tds_return_url());
    let (status, answer) = widget_post(p, body).await;
    assert_eq!(status, 200, "card POST: {answer}");
    assert_eq!(answer["state"], "requires_action", "{answer}");
    answer["next_action"]["url"]
        .as_str()
        .expect("redirect url")
        .to_string()
}

/// Through the issuer's frictionless pages back to the edge's RetUrl: its `Location`.
pub async fn through_3ds(redirect_url: &str) -> String {
    let (html, _) = device_step(redirect_url).await;
    let back = post_return(&return_form(&html).0).await;
    assert_eq!(back.status, 303, "RetUrl: {}", back.body);
    back.location.unwrap_or_default()
}

/// A shop member (new customer id) with one card stored (`card_seq` 0) by a card registration
/// (有効性チェック with 3-D Secure): needs [`crate::stack_3ds`].
pub async fn customer_with_card() -> String {
    let customer = crate::order_id("sub-member");
    let (status, p) = crate::merchant(
        reqwest::Method::POST,
        "/v1/payments",
        Some(json!({ "order_id": crate::order_id("CARD"), "capture": "verify", "customer": customer })),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    let token = token_for(kessai_sandbox::test_cards::APPROVED).await;
    let url = card_post_requiring_3ds(&p, json!({ "token": token, "card_brand": "visa" })).await;
    through_3ds(&url).await;
    assert_eq!(crate::payment(&crate::id_of(&p)).await["state"], "verified");
    customer
}
