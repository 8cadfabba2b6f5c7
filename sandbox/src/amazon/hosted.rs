//! The hosted "Amazon" side of the buyer journey: `checkout.js`, the button's landing
//! (`POST /checkout/start`, signature verified), buyer login, address book and payment method,
//! processing (`amazonPayRedirectUrl`), cancel, and the sign-in consent page.
//!
//! Shopper-facing text is Japanese. Every form has stable `name`s and `id`s so tests can drive
//! it with plain HTTP or a WebDriver (listed in `sandbox/README.md`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Query, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde_json::Value;

use super::api::{check_scopes, create_checkout_session, payload_schema, process_checkout_session};
use super::buyers::{self, BUYERS, SandboxBuyer};
use super::state::{BuyerToken, CheckoutSessionState, ProductType, SignInSession, uuid_v4};
use super::{Shared, auth, lock, wire};
use crate::state::random_alnum;

const SCRIPT: &str = include_str!("../assets/amazon_checkout.js");

type Params = HashMap<String, String>;

pub use kessai_core::text::html_escape as esc;

/// Percent-encodes a query value (RFC 3986 unreserved kept).
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `url` with `key=value` appended to its query (before any `#fragment`).
pub fn with_param(url: &str, key: &str, value: &str) -> String {
    let (base, frag) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if base.contains('?') {
        if base.ends_with('?') || base.ends_with('&') {
            ""
        } else {
            "&"
        }
    } else {
        "?"
    };
    let mut out = format!("{base}{sep}{key}={}", enc(value));
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title} - Amazon Pay サンドボックス</title><style>\
body{{font-family:sans-serif;margin:0;background:#f3f3f3;color:#0f1111}}\
header{{background:#232f3e;color:#fff;padding:12px 16px;font-weight:bold}}\
main{{max-width:560px;margin:16px auto;background:#fff;padding:16px 20px;border-radius:8px}}\
label{{display:block;margin:6px 0}} fieldset{{border:1px solid #ddd;border-radius:6px;margin:12px 0}}\
button{{background:#ffd814;border:1px solid #fcd200;border-radius:8px;padding:8px 18px;font-size:15px;cursor:pointer}}\
.error{{color:#b12704;font-weight:bold}} .note{{color:#565959;font-size:13px}}\
</style></head><body><header>Amazon Pay サンドボックス</header><main><h1>{title}</h1>{body}</main></body></html>",
        title = esc(title)
    );
    (status, Html(html)).into_response()
}

fn error_page(status: StatusCode, message: &str) -> Response {
    page(
        status,
        "エラー",
        &format!(
            "<p class=\"error\" id=\"amazon-error\">{}</p>\
             <p class=\"note\">Amazon Pay サンドボックスはこのリクエストを処理できませんでした。</p>",
            esc(message)
        ),
    )
}

fn see_other(url: &str) -> Response {
    Redirect::to(url).into_response()
}

/// `GET /checkout.js`: the button script stand-in, bound to this sandbox's origin.
pub async fn checkout_js(AxState(shared): AxState<Shared>) -> Response {
    let base = lock(&shared).base_url.clone();
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        SCRIPT.replace("__KESSAI_AMAZON_BASE__", &base),
    )
        .into_response()
}

fn field<'a>(p: &'a Params, k: &str) -> &'a str {
    p.get(k).map(String::as_str).unwrap_or("")
}

/// A `returnUrl` the button page sent: kept only when it is an http(s) URL.
fn page_url(p: &Params) -> Option<String> {
    let u = field(p, "returnUrl");
    (u.starts_with("http://") || u.starts_with("https://")).then(|| u.to_string())
}

/// `POST /checkout/start`: where the button sends the buyer. Checks the merchant, the key id and
/// the payload signature, then opens a checkout session (or a sign-in) and shows the login page.
pub async fn start(AxState(shared): AxState<Shared>, Form(p): Form<Params>) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let product_type = match field(&p, "productType") {
        "" => ProductType::PayAndShip,
        other => match ProductType::parse(other) {
            Some(t) => t,
            None => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    &format!("InvalidParameterValue: productType '{other}' is invalid."),
                );
            }
        },
    };
    if field(&p, "merchantId") != st.cfg.merchant_id {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!(
                "InvalidMerchantIdError: merchantId '{}' is not a sandbox merchant.",
                field(&p, "merchantId")
            ),
        );
    }
    if field(&p, "sandbox") != "true" {
        return error_page(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue: この Amazon Pay サンドボックスは sandbox: true のボタンのみ受け付けます。",
        );
    }
    if !matches!(field(&p, "ledgerCurrency"), "" | "JPY") {
        return error_page(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue: ledgerCurrency must be JPY.",
        );
    }
    if field(&p, "publicKeyId") != st.cfg.public_key_id {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!(
                "InvalidPublicKeyIdError: publicKeyId '{}' is not registered for merchant {}.",
                field(&p, "publicKeyId"),
                st.cfg.merchant_id
            ),
        );
    }
    let payload = field(&p, "payloadJSON");
    let key = auth::parse_public_key(&st.cfg.public_key_pem);
    let algorithm = p.get("algorithm").map(String::as_str);
    if let Err(e) = auth::verify_button(
        &st.cfg,
        key.as_ref(),
        payload,
        field(&p, "signature"),
        algorithm,
    ) {
        return error_page(StatusCode::BAD_REQUEST, &e.0);
    }
    let json: Value = match serde_json::from_str(payload) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) | Err(_) => {
            return error_page(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValue: payloadJSON is not a JSON object.",
            );
        }
    };
    if let Err(e) = wire::check(&json, payload_schema(product_type), "") {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("{}: {}", e.reason_code, e.message),
        );
    }
    let back = page_url(&p);
    match product_type {
        ProductType::PayAndShip | ProductType::PayOnly => {
            match create_checkout_session(&mut st, &json, product_type, back) {
                Ok(id) => see_other(&format!(
                    "/checkout/login?amazonCheckoutSessionId={}",
                    enc(&id)
                )),
                Err(e) => error_page(
                    StatusCode::BAD_REQUEST,
                    &format!("{}: {}", e.reason_code, e.message),
                ),
            }
        }
        ProductType::SignIn => {
            let Some(return_url) = wire::str_at(&json, "signInReturnUrl") else {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "MissingParameterValue: signInReturnUrl is required.",
                );
            };
            if wire::str_at(&json, "storeId") != Some(st.cfg.store_id.as_str()) {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValue: storeId does not belong to this merchant.",
                );
            }
            let scopes = match check_scopes("signInScopes", json.get("signInScopes")) {
                Ok(s) => s.unwrap_or_default(),
                Err(e) => {
                    return error_page(
                        StatusCode::BAD_REQUEST,
                        &format!("{}: {}", e.reason_code, e.message),
                    );
                }
            };
            let ok_url = |u: &str| u.starts_with("http://") || u.starts_with("https://");
            if !ok_url(return_url) {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    "InvalidParameterValue: signInReturnUrl.",
                );
            }
            let id = uuid_v4();
            let now = st.now();
            st.sign_ins.insert(
                id.clone(),
                SignInSession {
                    return_url: return_url.to_string(),
                    cancel_url: wire::str_at(&json, "signInCancelUrl")
                        .filter(|u| ok_url(u))
                        .map(str::to_string),
                    scopes,
                    button_page: back,
                    buyer_key: None,
                    created_at: now,
                },
            );
            see_other(&format!("/signin/login?signInSessionId={}", enc(&id)))
        }
    }
}

fn buyer_radios(selected: Option<&str>) -> String {
    BUYERS
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let checked = match selected {
                Some(k) => k == b.key,
                None => i == 0,
            };
            format!(
                "<label for=\"buyer-{key}\"><input type=\"radio\" name=\"buyer\" id=\"buyer-{key}\" value=\"{key}\"{c}> \
                 {name} &lt;{email}&gt;</label>",
                key = b.key,
                name = esc(b.name),
                email = esc(b.email),
                c = if checked { " checked" } else { "" }
            )
        })
        .collect()
}

fn login_form(
    action: &str,
    hidden: &[(&str, &str)],
    cancel_href: &str,
    error: Option<&str>,
) -> String {
    let hidden: String = hidden
        .iter()
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{k}\" value=\"{}\">", esc(v)))
        .collect();
    format!(
        "{err}<form method=\"post\" action=\"{action}\" id=\"loginForm\">{hidden}\
         <fieldset><legend>サンドボックスの購入者</legend>{radios}</fieldset>\
         <label for=\"email\">Eメールアドレス <input type=\"email\" name=\"email\" id=\"email\" autocomplete=\"off\"></label>\
         <label for=\"password\">パスワード <input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"off\"></label>\
         <p class=\"note\">サンドボックスではパスワードは確認されません。</p>\
         <button type=\"submit\" id=\"signInSubmit\">ログイン</button> \
         <a href=\"{cancel}\" id=\"cancelLink\">キャンセル</a></form>",
        err = error
            .map(|e| format!("<p class=\"error\" id=\"formError\">{}</p>", esc(e)))
            .unwrap_or_default(),
        radios = buyer_radios(None),
        cancel = esc(cancel_href),
    )
}

fn open_session_error(state: Option<CheckoutSessionState>) -> Option<Response> {
    match state {
        None => Some(error_page(
            StatusCode::NOT_FOUND,
            "このチェックアウトセッションは存在しません。",
        )),
        Some(CheckoutSessionState::Open) => None,
        Some(CheckoutSessionState::Completed | CheckoutSessionState::Canceled) => Some(error_page(
            StatusCode::BAD_REQUEST,
            "このチェックアウトセッションは終了しています。お店のページからもう一度お試しください。",
        )),
    }
}

/// `GET /checkout/login?amazonCheckoutSessionId=…`.
pub async fn login_page(AxState(shared): AxState<Shared>, Query(q): Query<Params>) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let id = field(&q, "amazonCheckoutSessionId");
    if let Some(r) = open_session_error(st.checkout_sessions.get(id).map(|c| c.state)) {
        return r;
    }
    let cancel = format!("/checkout/cancel?amazonCheckoutSessionId={}", enc(id));
    page(
        StatusCode::OK,
        "Amazonアカウントでログイン",
        &login_form(
            "/checkout/login",
            &[("amazonCheckoutSessionId", id)],
            &cancel,
            None,
        ),
    )
}

/// `POST /checkout/login` (`amazonCheckoutSessionId`, `buyer`, `email`, `password`).
pub async fn login_submit(AxState(shared): AxState<Shared>, Form(p): Form<Params>) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let id = field(&p, "amazonCheckoutSessionId");
    if let Some(r) = open_session_error(st.checkout_sessions.get(id).map(|c| c.state)) {
        return r;
    }
    match buyers::by_key(field(&p, "buyer")) {
        Some(b) => see_other(&format!(
            "/checkout/address?amazonCheckoutSessionId={}&buyer={}",
            enc(id),
            enc(b.key)
        )),
        None => {
            let cancel = format!("/checkout/cancel?amazonCheckoutSessionId={}", enc(id));
            page(
                StatusCode::BAD_REQUEST,
                "Amazonアカウントでログイン",
                &login_form(
                    "/checkout/login",
                    &[("amazonCheckoutSessionId", id)],
                    &cancel,
                    Some("購入者を選択してください。"),
                ),
            )
        }
    }
}

fn address_label(a: &buyers::SandboxAddress) -> String {
    format!(
        "{} 〒{} {}{}{}{}",
        a.name,
        a.postal_code,
        a.state_or_region,
        a.city.unwrap_or(""),
        a.address_line1,
        a.address_line2.map(|l| format!(" {l}")).unwrap_or_default()
    )
}

fn address_form(
    id: &str,
    b: &SandboxBuyer,
    ship: bool,
    amount: Option<i64>,
    error: Option<&str>,
) -> String {
    let addresses: String = if ship {
        let radios: String = b
            .addresses
            .iter()
            .enumerate()
            .map(|(i, a)| {
                format!(
                    "<label for=\"address-{i}\"><input type=\"radio\" name=\"address\" id=\"address-{i}\" value=\"{i}\"{c}> {} （電話 {}）</label>",
                    esc(&address_label(a)),
                    esc(a.phone_number),
                    c = if i == 0 { " checked" } else { "" }
                )
            })
            .collect();
        format!("<fieldset id=\"addressBook\"><legend>お届け先住所</legend>{radios}</fieldset>")
    } else {
        String::new()
    };
    let wallet: String = b
        .payment_methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            format!(
                "<label for=\"paymentMethod-{i}\"><input type=\"radio\" name=\"paymentMethod\" id=\"paymentMethod-{i}\" value=\"{i}\"{c}> {}</label>",
                esc(m),
                c = if i == 0 { " checked" } else { "" }
            )
        })
        .collect();
    let amount = amount
        .map(|a| {
            format!(
                "<p id=\"orderAmount\">ご請求額: ￥{}</p>",
                group_thousands(a)
            )
        })
        .unwrap_or_default();
    format!(
        "{err}<p id=\"buyerName\">{name} 様</p>{amount}<form method=\"post\" action=\"/checkout/address\" id=\"addressForm\">\
         <input type=\"hidden\" name=\"amazonCheckoutSessionId\" value=\"{id}\">\
         <input type=\"hidden\" name=\"buyer\" value=\"{key}\">{addresses}\
         <fieldset id=\"wallet\"><legend>お支払い方法</legend>{wallet}</fieldset>\
         <button type=\"submit\" id=\"continueButton\">続行</button> \
         <a href=\"/checkout/cancel?amazonCheckoutSessionId={id_q}\" id=\"cancelLink\">キャンセル</a></form>",
        err = error
            .map(|e| format!("<p class=\"error\" id=\"formError\">{}</p>", esc(e)))
            .unwrap_or_default(),
        name = esc(b.name),
        id = esc(id),
        id_q = enc(id),
        key = esc(b.key),
    )
}

fn group_thousands(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `GET /checkout/address?amazonCheckoutSessionId=…&buyer=…`: address book and wallet.
pub async fn address_page(AxState(shared): AxState<Shared>, Query(q): Query<Params>) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let id = field(&q, "amazonCheckoutSessionId");
    if let Some(r) = open_session_error(st.checkout_sessions.get(id).map(|c| c.state)) {
        return r;
    }
    let Some(b) = buyers::by_key(field(&q, "buyer")) else {
        return see_other(&format!(
            "/checkout/login?amazonCheckoutSessionId={}",
            enc(id)
        ));
    };
    let Some(cs) = st.checkout_sessions.get(id) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "このチェックアウトセッションは存在しません。",
        );
    };
    let ship = cs.product_type == ProductType::PayAndShip;
    page(
        StatusCode::OK,
        "お届け先とお支払い方法",
        &address_form(id, b, ship, cs.payment_details.charge_amount, None),
    )
}

/// `POST /checkout/address` (`amazonCheckoutSessionId`, `buyer`, `address`, `paymentMethod`):
/// associates the buyer and returns to the merchant's `checkoutReviewReturnUrl`.
pub async fn address_submit(AxState(shared): AxState<Shared>, Form(p): Form<Params>) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let id = field(&p, "amazonCheckoutSessionId").to_string();
    if let Some(r) = open_session_error(st.checkout_sessions.get(&id).map(|c| c.state)) {
        return r;
    }
    let Some(b) = buyers::by_key(field(&p, "buyer")) else {
        return see_other(&format!(
            "/checkout/login?amazonCheckoutSessionId={}",
            enc(&id)
        ));
    };
    let now = st.now();
    let Some(cs) = st.checkout_sessions.get_mut(&id) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "このチェックアウトセッションは存在しません。",
        );
    };
    if cs.processing.is_some() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "このお支払いはすでに処理されています。",
        );
    }
    let ship = cs.product_type == ProductType::PayAndShip;
    // Every sandbox address is in Japan: a session that does not allow JP cannot ship to any.
    let ships_to_japan = cs
        .delivery_specifications
        .as_ref()
        .and_then(|d| super::api::delivery_specifications(d).ok())
        .is_none_or(|d| d.allows_country("JP"));
    if ship && !ships_to_japan {
        return error_page(
            StatusCode::BAD_REQUEST,
            "このお店は選択できるお届け先の国に配送していません。",
        );
    }
    let address = field(&p, "address")
        .parse::<usize>()
        .ok()
        .filter(|i| *i < b.addresses.len());
    let method = field(&p, "paymentMethod")
        .parse::<usize>()
        .ok()
        .filter(|i| *i < b.payment_methods.len());
    let (Some(method), true) = (method, !ship || address.is_some()) else {
        let amount = cs.payment_details.charge_amount;
        return page(
            StatusCode::BAD_REQUEST,
            "お届け先とお支払い方法",
            &address_form(
                &id,
                b,
                ship,
                amount,
                Some("お届け先とお支払い方法を選択してください。"),
            ),
        );
    };
    cs.buyer_key = Some(b.key);
    cs.address_index = if ship { address } else { None };
    cs.payment_method_index = Some(method);
    cs.last_updated = now;
    let review = cs
        .web
        .checkout_review_return_url
        .clone()
        .unwrap_or_default();
    see_other(&with_param(&review, "amazonCheckoutSessionId", &id))
}

/// `GET /checkout/cancel?amazonCheckoutSessionId=…`: back to the merchant (checkoutCancelUrl,
/// else the page that had the button). The session stays Open.
pub async fn cancel(AxState(shared): AxState<Shared>, Query(q): Query<Params>) -> Response {
    let st = lock(&shared);
    let id = field(&q, "amazonCheckoutSessionId");
    let target = st.checkout_sessions.get(id).and_then(|cs| {
        cs.web
            .checkout_cancel_url
            .clone()
            .or_else(|| cs.button_page.clone())
    });
    match target {
        Some(url) => see_other(&url),
        None => page(
            StatusCode::OK,
            "キャンセルしました",
            "<p id=\"canceled\">Amazon Pay でのお支払いをキャンセルしました。お店のページに戻ってください。</p>",
        ),
    }
}

/// `GET /checkout/processing?amazonCheckoutSessionId=…` (the `amazonPayRedirectUrl`): Amazon
/// processes the payment for the chosen buyer, then returns to `checkoutResultReturnUrl`.
pub async fn processing(AxState(shared): AxState<Shared>, Query(q): Query<Params>) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let id = field(&q, "amazonCheckoutSessionId").to_string();
    if let Err(msg) = process_checkout_session(&mut st, &id) {
        return error_page(StatusCode::BAD_REQUEST, &msg);
    }
    let result = st
        .checkout_sessions
        .get(&id)
        .and_then(|cs| cs.web.checkout_result_return_url.clone());
    match result {
        Some(url) => see_other(&with_param(&url, "amazonCheckoutSessionId", &id)),
        None => error_page(
            StatusCode::BAD_REQUEST,
            "checkoutResultReturnUrl が設定されていません。",
        ),
    }
}

fn sign_in_cancel_href(id: &str) -> String {
    format!("/signin/cancel?signInSessionId={}", enc(id))
}

fn sign_in_missing() -> Response {
    error_page(
        StatusCode::NOT_FOUND,
        "このログインセッションは存在しないか期限切れです。お店のページからもう一度お試しください。",
    )
}

/// `GET /signin/login?signInSessionId=…`.
pub async fn signin_login_page(
    AxState(shared): AxState<Shared>,
    Query(q): Query<Params>,
) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let id = field(&q, "signInSessionId");
    if !st.sign_ins.contains_key(id) {
        return sign_in_missing();
    }
    page(
        StatusCode::OK,
        "Amazonアカウントでログイン",
        &login_form(
            "/signin/login",
            &[("signInSessionId", id)],
            &sign_in_cancel_href(id),
            None,
        ),
    )
}

/// `POST /signin/login` (`signInSessionId`, `buyer`, `email`, `password`).
pub async fn signin_login_submit(
    AxState(shared): AxState<Shared>,
    Form(p): Form<Params>,
) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let id = field(&p, "signInSessionId").to_string();
    let Some(b) = buyers::by_key(field(&p, "buyer")) else {
        if !st.sign_ins.contains_key(&id) {
            return sign_in_missing();
        }
        return page(
            StatusCode::BAD_REQUEST,
            "Amazonアカウントでログイン",
            &login_form(
                "/signin/login",
                &[("signInSessionId", &id)],
                &sign_in_cancel_href(&id),
                Some("購入者を選択してください。"),
            ),
        );
    };
    let Some(s) = st.sign_ins.get_mut(&id) else {
        return sign_in_missing();
    };
    s.buyer_key = Some(b.key);
    see_other(&format!("/signin/consent?signInSessionId={}", enc(&id)))
}

fn scope_label(scope: &str) -> &'static str {
    match scope {
        "name" => "名前",
        "email" => "Eメールアドレス",
        "postalCode" => "郵便番号",
        "shippingAddress" => "配送先住所",
        "billingAddress" => "請求先住所",
        "phoneNumber" => "電話番号",
        "primeStatus" => "プライム会員情報",
        _ => "その他の情報",
    }
}

/// `GET /signin/consent?signInSessionId=…`: what the merchant will receive.
pub async fn consent_page(AxState(shared): AxState<Shared>, Query(q): Query<Params>) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let id = field(&q, "signInSessionId");
    let Some(s) = st.sign_ins.get(id) else {
        return sign_in_missing();
    };
    let Some(b) = s.buyer_key.and_then(buyers::by_key) else {
        return see_other(&format!("/signin/login?signInSessionId={}", enc(id)));
    };
    let scopes: Vec<&str> = if s.scopes.is_empty() {
        vec!["name", "email"]
    } else {
        s.scopes.iter().map(String::as_str).collect()
    };
    let items: String = scopes
        .iter()
        .map(|sc| format!("<li data-scope=\"{}\">{}</li>", esc(sc), scope_label(sc)))
        .collect();
    page(
        StatusCode::OK,
        "情報の共有の確認",
        &format!(
            "<p id=\"buyerName\">{name} 様</p><p>このお店があなたの Amazon アカウントの次の情報を受け取ります:</p>\
             <ul id=\"scopes\">{items}</ul>\
             <form method=\"post\" action=\"/signin/consent\" id=\"consentForm\">\
             <input type=\"hidden\" name=\"signInSessionId\" value=\"{id}\">\
             <button type=\"submit\" name=\"decision\" value=\"allow\" id=\"consentSubmit\">許可する</button> \
             <a href=\"{cancel}\" id=\"cancelLink\">キャンセル</a></form>",
            name = esc(b.name),
            id = esc(id),
            cancel = esc(&sign_in_cancel_href(id)),
        ),
    )
}

/// `POST /signin/consent` (`signInSessionId`, `decision=allow`): issues a buyer token and returns
/// to `signInReturnUrl?buyerToken=…`.
pub async fn consent_submit(AxState(shared): AxState<Shared>, Form(p): Form<Params>) -> Response {
    let mut st = lock(&shared);
    st.refresh();
    let id = field(&p, "signInSessionId").to_string();
    if field(&p, "decision") != "allow" {
        return error_page(StatusCode::BAD_REQUEST, "decision=allow が必要です。");
    }
    let Some(s) = st.sign_ins.get(&id).cloned() else {
        return sign_in_missing();
    };
    let Some(key) = s.buyer_key else {
        return see_other(&format!("/signin/login?signInSessionId={}", enc(&id)));
    };
    st.sign_ins.remove(&id);
    let token = format!("Atzt|{}", random_alnum(96));
    let now = st.now();
    st.buyer_tokens.insert(
        token.clone(),
        BuyerToken {
            buyer_key: key,
            scopes: s.scopes.clone(),
            issued_at: now,
        },
    );
    see_other(&with_param(&s.return_url, "buyerToken", &token))
}

/// `GET /signin/cancel?signInSessionId=…`: back to `signInCancelUrl` or the button's page.
pub async fn signin_cancel(AxState(shared): AxState<Shared>, Query(q): Query<Params>) -> Response {
    let mut st = lock(&shared);
    let id = field(&q, "signInSessionId");
    let target = st
        .sign_ins
        .remove(id)
        .and_then(|s| s.cancel_url.or(s.button_page));
    match target {
        Some(url) => see_other(&url),
        None => page(
            StatusCode::OK,
            "キャンセルしました",
            "<p id=\"canceled\">ログインをキャンセルしました。お店のページに戻ってください。</p>",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_are_appended_before_fragments() {
        assert_eq!(
            with_param("https://s.jp/r", "a", "x y"),
            "https://s.jp/r?a=x%20y"
        );
        assert_eq!(
            with_param("https://s.jp/r?p=1", "a", "b"),
            "https://s.jp/r?p=1&a=b"
        );
        assert_eq!(
            with_param("https://s.jp/r?p=1#top", "a", "b"),
            "https://s.jp/r?p=1&a=b#top"
        );
        assert_eq!(
            with_param("https://s.jp/r?", "a", "b"),
            "https://s.jp/r?a=b"
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(group_thousands(1234567), "1,234,567");
        assert_eq!(group_thousands(705), "705");
    }
}
