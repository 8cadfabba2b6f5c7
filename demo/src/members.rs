//! The storefront's members (会員): ログイン (email + password, or "Amazonでログイン"), 会員登録
//! (prefilled from the Amazon profile), マイページ (link / unlink the Amazon account), ログアウト.
//!
//! Sign in with Amazon reaches the shop as a kessai assertion: a compact JWS (HS256) the edge
//! POSTs to our `return-url` as `kessai_amazon_assertion`. We verify it ourselves — MAC with the
//! shared assertion key, `iss`, `exp`, `aud` = our own origin, and `nonce` = one we issued into
//! this browser's session — before believing any of it. Members live in memory (a demo); the
//! member ↔ Amazon buyer links live in the edge (D1), reached with the merchant key.

use crate::html::{escape, page};
// The data types live below the state type (crate::shop) so that it need not import this
// module; re-exported so their old paths (`kessai_demo::members::…`) still work.
pub use crate::member_store::{AmazonProfile, Member, MemberStore, Purpose, Session};
use crate::shop::Storefront;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, Mac};
use kessai_core::amazon::assertion::{self, AssertionClaims, AssertionError};
use kessai_core::jst::UnixMillis;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::member_store::{SESSION_COOKIE, session_in_cookies};
/// How many outstanding sign-in nonces one session keeps (one per page that shows a button).
const MAX_NONCES: usize = 8;

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    // The OS generator does not fail on Linux; should it, the all-zero value would only make
    // this demo's ids guessable, and the nonce check still binds to the session.
    let _ = getrandom::getrandom(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn password_hash(salt: &str, password: &str) -> String {
    let digest = Sha256::digest(format!("{salt}:{password}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn now() -> UnixMillis {
    UnixMillis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0),
    )
}

// ---------------------------------------------------------------------------------------------
// Assertion

/// Checks a kessai assertion: the MAC (HMAC-SHA256 with the shared key, constant-time compare),
/// then core's claim rules (`iss`, `aud` = one of our origins, `iat`/`exp`, `sub`). The nonce is
/// checked by the caller against the session. Returns the claims.
pub fn verify_assertion(
    key: &[u8],
    jws: &str,
    audiences: &[String],
    now: UnixMillis,
) -> Result<AssertionClaims, AssertionError> {
    let (signing_input, mac_bytes, claims) =
        assertion::split(jws.trim()).ok_or(AssertionError::Malformed)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| AssertionError::BadSignature)?;
    mac.update(signing_input.as_bytes());
    // verify_slice compares in constant time.
    mac.verify_slice(&mac_bytes)
        .map_err(|_| AssertionError::BadSignature)?;
    // The audience must be one of our origins.
    assertion::check_for_audiences(&claims, now, |aud| audiences.iter().any(|a| a == aud), None)?;
    Ok(claims)
}

fn profile_of(claims: &AssertionClaims) -> AmazonProfile {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let address = claims.address.clone().unwrap_or_default();
    let postal = claims
        .postal_code
        .clone()
        .filter(|p| !p.is_empty())
        .or(address.postal_code.clone())
        .unwrap_or_default();
    let address2 = [&address.address_line2, &address.address_line3]
        .into_iter()
        .filter_map(|l| l.clone().filter(|l| !l.is_empty()))
        .collect::<Vec<_>>()
        .join(" ");
    AmazonProfile {
        buyer_id: claims.sub.clone(),
        name: text(&claims.name),
        email: text(&claims.email),
        postal_code: postal,
        prefecture: text(&address.state_or_region),
        city: text(&address.city),
        address1: text(&address.address_line1),
        address2,
        phone: text(&claims.phone),
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions

/// This browser's session id from the cookie, if it names a live session.
pub(crate) fn session_id(shop: &Storefront, headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let sid = session_in_cookies(cookies)?;
    shop.members().sessions.contains_key(&sid).then_some(sid)
}

/// The session id, creating a session (and its cookie) when there is none.
pub(crate) fn ensure_session(
    shop: &Storefront,
    headers: &HeaderMap,
) -> (String, Option<HeaderValue>) {
    if let Some(sid) = session_id(shop, headers) {
        return (sid, None);
    }
    let sid = random_hex(16);
    shop.members()
        .sessions
        .insert(sid.clone(), Session::default());
    // SameSite=Lax: the edge's sign-in page POSTs back to us from another origin; in this demo
    // it is the same site (127.0.0.1, other port), so the cookie comes along. A storefront on a
    // different site from its edge needs `SameSite=None; Secure` (HTTPS) for that POST.
    let cookie = format!("{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax");
    (sid, HeaderValue::from_str(&cookie).ok())
}

pub(crate) fn with_cookie(cookie: Option<HeaderValue>, response: Response) -> Response {
    let mut response = response;
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

fn new_nonce(shop: &Storefront, sid: &str, purpose: Purpose) -> String {
    let nonce = random_hex(16);
    if let Some(s) = shop.members().sessions.get_mut(sid) {
        s.nonces.push((nonce.clone(), purpose));
        if s.nonces.len() > MAX_NONCES {
            s.nonces.remove(0);
        }
    }
    nonce
}

/// Takes the flash message of the session, as HTML.
pub(crate) fn take_flash(shop: &Storefront, sid: &str) -> String {
    let flash = shop
        .members()
        .sessions
        .get_mut(sid)
        .and_then(|s| s.flash.take());
    match flash {
        Some((true, text)) => format!(
            r#"<p class="flash ok" id="flash" role="status">{}</p>"#,
            escape(&text)
        ),
        Some((false, text)) => format!(
            r#"<p class="flash ng" id="flash" role="alert">{}</p>"#,
            escape(&text)
        ),
        None => String::new(),
    }
}

pub(crate) fn set_flash(shop: &Storefront, sid: &str, good: bool, text: &str) {
    if let Some(s) = shop.members().sessions.get_mut(sid) {
        s.flash = Some((good, text.to_string()));
    }
}

pub(crate) fn logged_in(shop: &Storefront, sid: &str) -> Option<Member> {
    shop.members().member_of_session(sid)
}

/// Verifies the posted assertion for `purpose` and consumes its nonce.
fn accept_assertion(
    shop: &Storefront,
    sid: &str,
    jws: &str,
    purpose: Purpose,
) -> Result<AmazonProfile, AssertionError> {
    let Some(amazon) = shop.amazon.as_ref() else {
        return Err(AssertionError::BadSignature);
    };
    let claims = verify_assertion(amazon.assertion_key.as_bytes(), jws, &shop.origins, now())?;
    let mut store = shop.members();
    let session = store
        .sessions
        .get_mut(sid)
        .ok_or(AssertionError::NonceMismatch)?;
    let at = session
        .nonces
        .iter()
        .position(|(n, p)| {
            *p == purpose && assertion::mac_matches(n.as_bytes(), claims.nonce.as_bytes())
        })
        .ok_or(AssertionError::NonceMismatch)?;
    // Single use: a replayed assertion finds no nonce.
    session.nonces.remove(at);
    Ok(profile_of(&claims))
}

// ---------------------------------------------------------------------------------------------
// Pages

fn signin_element(shop: &Storefront, id: &str, return_path: &str, nonce: &str) -> String {
    if shop.amazon.is_none() {
        return r#"<p class="note">Amazonでログインは現在ご利用いただけません。</p>"#.into();
    }
    let edge = escape(&shop.edge_url);
    format!(
        r#"<script type="module" src="{edge}/kessai.js"></script>
<kessai-amazon-signin id="{id}" edge-url="{edge}" return-url="{ret}" nonce="{nonce}" lang="ja"></kessai-amazon-signin>"#,
        ret = escape(&format!("{}{return_path}", shop.origin)),
        nonce = escape(nonce),
    )
}

pub async fn login_page(State(shop): State<Storefront>, headers: HeaderMap) -> Response {
    let (sid, cookie) = ensure_session(&shop, &headers);
    if logged_in(&shop, &sid).is_some() {
        return with_cookie(cookie, Redirect::to("/mypage").into_response());
    }
    let flash = take_flash(&shop, &sid);
    let nonce = new_nonce(&shop, &sid, Purpose::Login);
    let body = format!(
        r#"<div class="card"><h1>ログイン</h1>{flash}
<h2>Amazonアカウントでログイン</h2>
<p class="note">Amazonに登録されたお名前・メールアドレス・ご住所を使って、かんたんにログイン/会員登録できます。</p>
{signin}
<h2>メールアドレスでログイン</h2>
<form method="post" action="/login" id="login-form">
<p><label for="login-email">メールアドレス</label><br><input type="email" id="login-email" name="email" required autocomplete="email"></p>
<p><label for="login-password">パスワード</label><br><input type="password" id="login-password" name="password" required autocomplete="current-password"></p>
<p><button class="primary" type="submit" id="login-submit">ログイン</button></p></form>
<p>はじめての方は <a href="/register" id="to-register">会員登録</a></p></div>"#,
        signin = signin_element(&shop, "amazon-login", "/login/amazon", &nonce),
    );
    with_cookie(cookie, page("ログイン", &body).into_response())
}

#[derive(serde::Deserialize)]
pub struct PasswordLogin {
    email: String,
    password: String,
}

pub async fn login_submit(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<PasswordLogin>,
) -> Response {
    let (sid, cookie) = ensure_session(&shop, &headers);
    let found = {
        let store = shop.members();
        store
            .members
            .values()
            .find(|m| {
                m.email.eq_ignore_ascii_case(form.email.trim())
                    && m.password_hash == password_hash(&m.password_salt, &form.password)
            })
            .map(|m| m.id.clone())
    };
    match found {
        Some(id) => {
            if let Some(s) = shop.members().sessions.get_mut(&sid) {
                s.member_id = Some(id);
            }
            with_cookie(cookie, Redirect::to("/mypage").into_response())
        }
        None => {
            set_flash(
                &shop,
                &sid,
                false,
                "メールアドレスまたはパスワードが正しくありません。",
            );
            with_cookie(cookie, Redirect::to("/login").into_response())
        }
    }
}

#[derive(serde::Deserialize)]
pub struct SignInReturn {
    #[serde(default)]
    kessai_amazon_signin: String,
}

/// `GET /login/amazon` and `GET /mypage/amazon/link`: the edge sends the shopper back here without
/// an assertion when the Amazon sign-in was cancelled or failed (`kessai_amazon_signin`).
async fn signin_not_completed(
    shop: Storefront,
    headers: HeaderMap,
    outcome: &str,
    back: &'static str,
) -> Response {
    let (sid, cookie) = ensure_session(&shop, &headers);
    let text = match outcome {
        "canceled" => "Amazonでのログインがキャンセルされました。",
        _ => "Amazonでのログインを完了できませんでした。しばらくしてから再度お試しください。",
    };
    set_flash(&shop, &sid, false, text);
    with_cookie(cookie, Redirect::to(back).into_response())
}

pub async fn login_amazon_not_completed(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Query(q): Query<SignInReturn>,
) -> Response {
    signin_not_completed(shop, headers, &q.kessai_amazon_signin, "/login").await
}

pub async fn link_amazon_not_completed(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Query(q): Query<SignInReturn>,
) -> Response {
    signin_not_completed(shop, headers, &q.kessai_amazon_signin, "/mypage").await
}

#[derive(serde::Deserialize)]
pub struct AssertionPost {
    #[serde(default)]
    kessai_amazon_assertion: String,
}

/// `POST /login/amazon`: the edge's form_post after "Amazonでログイン".
pub async fn login_amazon(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<AssertionPost>,
) -> Response {
    let Some(sid) = session_id(&shop, &headers) else {
        return expired_session();
    };
    let profile = match accept_assertion(&shop, &sid, &form.kessai_amazon_assertion, Purpose::Login)
    {
        Ok(v) => v,
        Err(why) => {
            eprintln!("storefront: Amazon sign-in assertion refused: {why}");
            set_flash(&shop, &sid, false, why.message_ja());
            return Redirect::to("/login").into_response();
        }
    };
    let link = shop
        .merchant(
            reqwest::Method::GET,
            &format!(
                "/v1/amazon-pay/links?buyer_id={}",
                query_escape(&profile.buyer_id)
            ),
            None,
            None,
        )
        .await;
    match link {
        Ok((200, v)) => {
            let member_id = v["member_id"].as_str().unwrap_or("").to_string();
            let mut store = shop.members();
            if store.members.contains_key(&member_id) {
                if let Some(s) = store.sessions.get_mut(&sid) {
                    s.member_id = Some(member_id);
                    s.pending = None;
                    s.flash = Some((true, "Amazonアカウントでログインしました。".into()));
                }
                return Redirect::to("/mypage").into_response();
            }
            // Linked to a member this demo no longer knows (it keeps members in memory).
            drop(store);
            register_with(
                &shop,
                &sid,
                profile,
                Some(
                    "このAmazonアカウントに連携された会員情報が見つかりません。会員登録をお願いします。",
                ),
            )
        }
        Ok((404, _)) => register_with(&shop, &sid, profile, None),
        Ok((status, v)) => {
            eprintln!("storefront: link lookup answered {status}");
            let msg = v["error"]["message_ja"].as_str().unwrap_or(
                "ただいまAmazonでログインをご利用いただけません。しばらくしてからお試しください。",
            );
            set_flash(&shop, &sid, false, msg);
            Redirect::to("/login").into_response()
        }
        Err(e) => {
            eprintln!("storefront: link lookup failed: {e}");
            set_flash(
                &shop,
                &sid,
                false,
                "ただいまAmazonでログインをご利用いただけません。しばらくしてからお試しください。",
            );
            Redirect::to("/login").into_response()
        }
    }
}

fn register_with(
    shop: &Storefront,
    sid: &str,
    profile: AmazonProfile,
    note: Option<&str>,
) -> Response {
    if let Some(s) = shop.members().sessions.get_mut(sid) {
        s.pending = Some(profile);
        s.flash = Some((
            true,
            note.unwrap_or("Amazonアカウントの情報を入力しました。内容をご確認のうえ、会員登録を完了してください。")
                .to_string(),
        ));
    }
    Redirect::to("/register").into_response()
}

/// The session and its logged-in member for a form POST: the page to answer otherwise (an
/// expired session, or the login page).
pub(crate) fn member_session(
    shop: &Storefront,
    headers: &HeaderMap,
) -> Result<(String, Member), Box<Response>> {
    let Some(sid) = session_id(shop, headers) else {
        return Err(Box::new(expired_session()));
    };
    match logged_in(shop, &sid) {
        Some(member) => Ok((sid, member)),
        None => Err(Box::new(Redirect::to("/login").into_response())),
    }
}

pub(crate) fn expired_session() -> Response {
    (
        StatusCode::BAD_REQUEST,
        page(
            "エラー",
            r#"<div class="card"><p id="error">セッションの有効期限が切れました。お手数ですが、もう一度ログインしてください。</p><p><a href="/login">ログインへ</a></p></div>"#,
        ),
    )
        .into_response()
}

fn query_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(serde::Deserialize, Default, Clone)]
pub struct RegisterForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kana: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    postal_code: String,
    #[serde(default)]
    prefecture: String,
    #[serde(default)]
    city: String,
    #[serde(default)]
    address1: String,
    #[serde(default)]
    address2: String,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    password: String,
}

fn register_form_html(f: &RegisterForm, errors: &[String], from_amazon: bool) -> String {
    let field = |id: &str, name: &str, label: &str, value: &str, kind: &str, extra: &str| {
        format!(
            r#"<p><label for="{id}">{label}</label><br><input type="{kind}" id="{id}" name="{name}" value="{v}"{extra}></p>"#,
            v = escape(value),
        )
    };
    let errors_html = if errors.is_empty() {
        String::new()
    } else {
        let items: String = errors
            .iter()
            .map(|e| format!("<li>{}</li>", escape(e)))
            .collect();
        format!(r#"<ul class="flash ng" id="register-errors" role="alert">{items}</ul>"#)
    };
    let kana_note = if from_amazon {
        r#"<p class="note" id="kana-note">フリガナはAmazonから取得できません。お手数ですがご入力ください。</p>"#
    } else {
        ""
    };
    format!(
        r#"{errors_html}<form method="post" action="/register" id="register-form">
{name}{kana}{kana_note}{email}{postal}{pref}{city}{a1}{a2}{phone}{pw}
<p><button class="primary" type="submit" id="register-submit">会員登録する</button></p></form>"#,
        name = field(
            "reg-name",
            "name",
            "お名前",
            &f.name,
            "text",
            r#" required autocomplete="name""#
        ),
        kana = field("reg-kana", "kana", "フリガナ", &f.kana, "text", " required"),
        email = field(
            "reg-email",
            "email",
            "メールアドレス",
            &f.email,
            "email",
            r#" required autocomplete="email""#
        ),
        postal = field(
            "reg-postal",
            "postal_code",
            "郵便番号",
            &f.postal_code,
            "text",
            r#" required autocomplete="postal-code" placeholder="100-0001""#
        ),
        pref = field(
            "reg-pref",
            "prefecture",
            "都道府県",
            &f.prefecture,
            "text",
            r#" required autocomplete="address-level1""#
        ),
        city = field(
            "reg-city",
            "city",
            "市区町村",
            &f.city,
            "text",
            r#" autocomplete="address-level2""#
        ),
        a1 = field(
            "reg-addr1",
            "address1",
            "番地",
            &f.address1,
            "text",
            r#" required autocomplete="address-line1""#
        ),
        a2 = field(
            "reg-addr2",
            "address2",
            "建物名・部屋番号",
            &f.address2,
            "text",
            r#" autocomplete="address-line2""#
        ),
        phone = field(
            "reg-phone",
            "phone",
            "電話番号",
            &f.phone,
            "tel",
            r#" required autocomplete="tel""#
        ),
        pw = field(
            "reg-password",
            "password",
            "パスワード(8文字以上)",
            "",
            "password",
            r#" required minlength="8" autocomplete="new-password""#
        ),
    )
}

pub async fn register_page(State(shop): State<Storefront>, headers: HeaderMap) -> Response {
    let (sid, cookie) = ensure_session(&shop, &headers);
    if logged_in(&shop, &sid).is_some() {
        return with_cookie(cookie, Redirect::to("/mypage").into_response());
    }
    let flash = take_flash(&shop, &sid);
    let pending = shop
        .members()
        .sessions
        .get(&sid)
        .and_then(|s| s.pending.clone());
    let form = match &pending {
        Some(p) => RegisterForm {
            name: p.name.clone(),
            email: p.email.clone(),
            postal_code: p.postal_code.clone(),
            prefecture: p.prefecture.clone(),
            city: p.city.clone(),
            address1: p.address1.clone(),
            address2: p.address2.clone(),
            phone: p.phone.clone(),
            ..RegisterForm::default()
        },
        None => RegisterForm::default(),
    };
    let body = format!(
        r#"<div class="card"><h1>会員登録</h1>{flash}{form}<p class="note">登録後、マイページでAmazonアカウントと連携すると、次回から「Amazonでログイン」でログインできます。</p></div>"#,
        form = register_form_html(&form, &[], pending.is_some()),
    );
    with_cookie(cookie, page("会員登録", &body).into_response())
}

fn validate(f: &RegisterForm) -> Vec<String> {
    let mut errors = Vec::new();
    let blank = |s: &str| s.trim().is_empty();
    if blank(&f.name) {
        errors.push("お名前を入力してください。".into());
    }
    if blank(&f.kana) {
        errors.push("フリガナを入力してください。".into());
    } else if !f
        .kana
        .trim()
        .chars()
        .all(|c| matches!(c, 'ァ'..='ヶ' | 'ー' | '・' | ' ' | '\u{3000}'))
    {
        errors.push("フリガナは全角カタカナで入力してください。".into());
    }
    let email = f.email.trim();
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        errors.push("メールアドレスを正しく入力してください。".into());
    }
    let postal: String = f
        .postal_code
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    if postal.len() != 7 {
        errors.push("郵便番号は7桁で入力してください(例: 100-0001)。".into());
    }
    if blank(&f.prefecture) {
        errors.push("都道府県を入力してください。".into());
    }
    if blank(&f.address1) {
        errors.push("番地を入力してください。".into());
    }
    let phone_digits = f.phone.chars().filter(|c| c.is_ascii_digit()).count();
    if !(10..=11).contains(&phone_digits) {
        errors.push("電話番号を正しく入力してください(10〜11桁)。".into());
    }
    if f.password.chars().count() < 8 {
        errors.push("パスワードは8文字以上で入力してください。".into());
    }
    errors
}

pub async fn register_submit(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Response {
    let (sid, cookie) = ensure_session(&shop, &headers);
    let mut errors = validate(&form);
    let duplicate = shop
        .members()
        .members
        .values()
        .any(|m| m.email.eq_ignore_ascii_case(form.email.trim()));
    if duplicate {
        errors.push("このメールアドレスは既に登録されています。ログインしてください。".into());
    }
    if !errors.is_empty() {
        let from_amazon = shop
            .members()
            .sessions
            .get(&sid)
            .is_some_and(|s| s.pending.is_some());
        let body = format!(
            r#"<div class="card"><h1>会員登録</h1>{}</div>"#,
            register_form_html(&form, &errors, from_amazon)
        );
        return with_cookie(
            cookie,
            (StatusCode::BAD_REQUEST, page("会員登録", &body)).into_response(),
        );
    }
    let salt = random_hex(8);
    let member = Member {
        id: format!("mem_{}", random_hex(6)),
        name: form.name.trim().into(),
        kana: form.kana.trim().into(),
        email: form.email.trim().into(),
        postal_code: form.postal_code.trim().into(),
        prefecture: form.prefecture.trim().into(),
        city: form.city.trim().into(),
        address1: form.address1.trim().into(),
        address2: form.address2.trim().into(),
        phone: form.phone.trim().into(),
        password_hash: password_hash(&salt, &form.password),
        password_salt: salt,
    };
    let mut store = shop.members();
    if let Some(s) = store.sessions.get_mut(&sid) {
        s.member_id = Some(member.id.clone());
        s.pending = None;
        s.flash = Some((true, "会員登録が完了しました。".into()));
    }
    store.members.insert(member.id.clone(), member);
    drop(store);
    with_cookie(cookie, Redirect::to("/mypage").into_response())
}

pub async fn mypage(State(shop): State<Storefront>, headers: HeaderMap) -> Response {
    let (sid, cookie) = ensure_session(&shop, &headers);
    let Some(member) = logged_in(&shop, &sid) else {
        set_flash(
            &shop,
            &sid,
            false,
            "マイページを見るにはログインしてください。",
        );
        return with_cookie(cookie, Redirect::to("/login").into_response());
    };
    let flash = take_flash(&shop, &sid);
    let link = shop
        .merchant(
            reqwest::Method::GET,
            &format!("/v1/amazon-pay/links/{}", member.id),
            None,
            None,
        )
        .await;
    let amazon = match link {
        Ok((200, v)) => format!(
            r#"<p>状態: <span class="badge" id="amazon-link-state" data-linked="true">連携済み</span> <span class="note">(連携日時 {})</span></p>
<form method="post" action="/mypage/amazon/unlink"><button type="submit" id="amazon-unlink">連携を解除する</button></form>"#,
            escape(&linked_at_label(&v["linked_at"]))
        ),
        Ok((404, _)) => {
            let nonce = new_nonce(&shop, &sid, Purpose::Link);
            format!(
                r#"<p>状態: <span class="badge" id="amazon-link-state" data-linked="false">未連携</span></p>
<p>Amazonアカウントと連携する: 下のボタンからAmazonにログインすると連携されます。</p>
{}"#,
                signin_element(&shop, "amazon-link", "/mypage/amazon/link", &nonce)
            )
        }
        Ok(_) | Err(_) => {
            r#"<p class="flash ng" id="amazon-link-state" data-linked="unknown">連携状態を確認できませんでした。しばらくしてから再度お試しください。</p>"#.into()
        }
    };
    let address = [
        member.prefecture.as_str(),
        member.city.as_str(),
        member.address1.as_str(),
        member.address2.as_str(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" ");
    let body = format!(
        r#"<div class="card"><h1>マイページ</h1>{flash}
<table id="member-info"><tr><th>会員ID</th><td id="member-id">{id}</td></tr><tr><th>お名前</th><td id="member-name">{name}({kana})</td></tr>
<tr><th>メールアドレス</th><td id="member-email">{email}</td></tr><tr><th>ご住所</th><td>〒{postal} {address}</td></tr><tr><th>電話番号</th><td>{phone}</td></tr></table>
<form method="post" action="/logout"><p><button type="submit" id="logout">ログアウト</button></p></form></div>
<div class="card"><h2>カード情報</h2><p>登録済みのクレジットカードの確認・削除、いつも使うカードの変更ができます。</p><p><a href="/mypage/cards" id="mypage-cards">カード情報の管理へ</a></p></div>
<div class="card"><h2>定期購入</h2><p>お申し込み中の定期購入の確認・解約と、新しい定期購入のお申し込みができます。</p><p><a href="/mypage/subscriptions" id="mypage-subscriptions">定期購入の管理へ</a></p></div>
<div class="card"><h2>Amazonアカウント連携</h2>{amazon}</div>"#,
        id = escape(&member.id),
        name = escape(&member.name),
        kana = escape(&member.kana),
        email = escape(&member.email),
        postal = escape(&member.postal_code),
        address = escape(&address),
        phone = escape(&member.phone),
    );
    with_cookie(
        cookie,
        (
            [(header::CACHE_CONTROL, "no-store")],
            page("マイページ", &body),
        )
            .into_response(),
    )
}

fn linked_at_label(v: &Value) -> String {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(|ms| {
                let t = kessai_core::jst::UnixMillis(ms).to_jst();
                format!(
                    "{}-{:02}-{:02} {:02}:{:02}",
                    t.year, t.month, t.day, t.hour, t.minute
                )
            })
            .unwrap_or_default(),
        Value::String(s) => s.clone(),
        _ => String::new(),
    }
}

/// `POST /mypage/amazon/link`: the edge's form_post after "Amazonアカウントと連携する".
pub async fn link_amazon(
    State(shop): State<Storefront>,
    headers: HeaderMap,
    Form(form): Form<AssertionPost>,
) -> Response {
    let Some(sid) = session_id(&shop, &headers) else {
        return expired_session();
    };
    let Some(member) = logged_in(&shop, &sid) else {
        set_flash(&shop, &sid, false, "連携するにはログインしてください。");
        return Redirect::to("/login").into_response();
    };
    // Our own checks first (nonce of this session: nobody can link their Amazon account to this
    // member by posting an assertion from elsewhere), then the edge verifies it again and links.
    if let Err(why) = accept_assertion(&shop, &sid, &form.kessai_amazon_assertion, Purpose::Link) {
        eprintln!("storefront: Amazon link assertion refused: {why}");
        set_flash(&shop, &sid, false, why.message_ja());
        return Redirect::to("/mypage").into_response();
    }
    let answer = shop
        .merchant(
            reqwest::Method::PUT,
            &format!("/v1/amazon-pay/links/{}", member.id),
            Some(json!({ "assertion": form.kessai_amazon_assertion.trim() })),
            None,
        )
        .await;
    let (good, message) = match answer {
        Ok((200 | 201, _)) => (
            true,
            "Amazonアカウントと連携しました。次回から「Amazonでログイン」でログインできます。"
                .to_string(),
        ),
        Ok((409, v)) if v["error"]["code"] == "amazon_account_linked_elsewhere" => (
            false,
            "このAmazonアカウントは別の会員と連携されているため、連携できません。".to_string(),
        ),
        Ok((status, v)) => {
            eprintln!("storefront: link answered {status}");
            (
                false,
                v["error"]["message_ja"]
                    .as_str()
                    .unwrap_or("Amazonアカウントと連携できませんでした。もう一度お試しください。")
                    .to_string(),
            )
        }
        Err(e) => {
            eprintln!("storefront: link failed: {e}");
            (
                false,
                "Amazonアカウントと連携できませんでした。もう一度お試しください。".to_string(),
            )
        }
    };
    set_flash(&shop, &sid, good, &message);
    Redirect::to("/mypage").into_response()
}

/// `POST /mypage/amazon/unlink`.
pub async fn unlink_amazon(State(shop): State<Storefront>, headers: HeaderMap) -> Response {
    let Some(sid) = session_id(&shop, &headers) else {
        return expired_session();
    };
    let Some(member) = logged_in(&shop, &sid) else {
        return Redirect::to("/login").into_response();
    };
    let answer = shop
        .merchant(
            reqwest::Method::DELETE,
            &format!("/v1/amazon-pay/links/{}", member.id),
            None,
            None,
        )
        .await;
    let (good, message) = match answer {
        Ok((200 | 204, _)) => (true, "Amazonアカウントとの連携を解除しました。"),
        Ok((404, _)) => (false, "Amazonアカウントは連携されていません。"),
        Ok(_) | Err(_) => (
            false,
            "連携を解除できませんでした。しばらくしてから再度お試しください。",
        ),
    };
    set_flash(&shop, &sid, good, message);
    Redirect::to("/mypage").into_response()
}

pub async fn logout(State(shop): State<Storefront>, headers: HeaderMap) -> Response {
    if let Some(sid) = session_id(&shop, &headers) {
        let mut store = shop.members();
        if let Some(s) = store.sessions.get_mut(&sid) {
            s.member_id = None;
            s.pending = None;
            s.flash = Some((true, "ログアウトしました。".into()));
        }
    }
    Redirect::to("/login").into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use kessai_core::amazon::signing::base64url_encode;

    fn jws(key: &[u8], header: &str, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            base64url_encode(header.as_bytes()),
            base64url_encode(claims.to_string().as_bytes())
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(input.as_bytes());
        format!("{input}.{}", base64url_encode(&mac.finalize().into_bytes()))
    }

    const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

    fn claims(aud: &str, iat: i64) -> Value {
        json!({"iss":"kessai","aud":aud,"iat":iat,"exp":iat+300,"nonce":"n0nce-1234","sub":"amzn1.account.X",
               "name":"山田 太郎","email":"t@example.jp","postal_code":"100-0001",
               "address":{"postal_code":"100-0001","state_or_region":"東京都","city":"千代田区","address_line1":"千代田1-1"},
               "phone":"090-0000-0001"})
    }

    fn at(s: i64) -> UnixMillis {
        UnixMillis(s * 1000)
    }

    #[test]
    fn a_good_assertion_verifies_and_maps_to_a_profile() {
        let aud = vec![
            "http://127.0.0.1:8080".to_string(),
            "http://localhost:8080".to_string(),
        ];
        let token = jws(b"k", HS256, &claims(&aud[1], 1_000));
        let c = verify_assertion(b"k", &token, &aud, at(1_100)).unwrap();
        let p = profile_of(&c);
        assert_eq!(p.buyer_id, "amzn1.account.X");
        assert_eq!(p.prefecture, "東京都");
        assert_eq!(p.address1, "千代田1-1");
        assert_eq!(p.address2, "");
        assert_eq!(p.postal_code, "100-0001");
    }

    #[test]
    fn wrong_key_expiry_audience_and_alg_are_refused() {
        let aud = vec!["http://127.0.0.1:8080".to_string()];
        let good = jws(b"k", HS256, &claims(&aud[0], 1_000));
        assert_eq!(
            verify_assertion(b"other", &good, &aud, at(1_100)),
            Err(AssertionError::BadSignature)
        );
        assert_eq!(
            verify_assertion(b"k", &good, &aud, at(1_300)),
            Err(AssertionError::Expired)
        );
        assert_eq!(
            verify_assertion(b"k", &good, &aud, at(800)),
            Err(AssertionError::NotYetValid)
        );
        let elsewhere = jws(b"k", HS256, &claims("https://evil.example", 1_000));
        assert_eq!(
            verify_assertion(b"k", &elsewhere, &aud, at(1_100)),
            Err(AssertionError::WrongAudience)
        );
        let none = jws(b"k", r#"{"alg":"none"}"#, &claims(&aud[0], 1_000));
        assert_eq!(
            verify_assertion(b"k", &none, &aud, at(1_100)),
            Err(AssertionError::Malformed)
        );
        // A changed claim breaks the MAC.
        let mut parts: Vec<String> = good.split('.').map(str::to_string).collect();
        parts[1] = base64url_encode(claims(&aud[0], 1_050).to_string().as_bytes());
        assert_eq!(
            verify_assertion(b"k", &parts.join("."), &aud, at(1_100)),
            Err(AssertionError::BadSignature)
        );
        assert_eq!(
            verify_assertion(b"k", "a.b", &aud, at(1_100)),
            Err(AssertionError::Malformed)
        );
    }

    #[test]
    fn a_nonce_is_single_use_and_bound_to_its_session_and_purpose() {
        let shop = Storefront::with_options(crate::shop::StorefrontOptions {
            edge_url: "http://127.0.0.1:1".into(),
            secret_key: "sk".into(),
            sandbox_url: "http://127.0.0.1:2".into(),
            storefront_url: "http://127.0.0.1:8080".into(),
            amazon: Some(crate::shop::AmazonDemo {
                sandbox_url: "http://127.0.0.1:3".into(),
                assertion_key: "key".into(),
            }),
        });
        let (sid, cookie) = ensure_session(&shop, &HeaderMap::new());
        assert!(cookie.is_some(), "a new session sets its cookie");
        let (other_sid, _) = ensure_session(&shop, &HeaderMap::new());
        let nonce = new_nonce(&shop, &sid, Purpose::Login);
        let now_s = now().0 / 1000;
        let mut c = claims("http://localhost:8080", now_s);
        c["nonce"] = json!(nonce);
        let token = jws(b"key", HS256, &c);
        assert_eq!(
            accept_assertion(&shop, &other_sid, &token, Purpose::Login).err(),
            Some(AssertionError::NonceMismatch),
            "another browser's session"
        );
        assert_eq!(
            accept_assertion(&shop, &sid, &token, Purpose::Link).err(),
            Some(AssertionError::NonceMismatch),
            "a login nonce cannot link"
        );
        let profile = accept_assertion(&shop, &sid, &token, Purpose::Login).unwrap();
        assert_eq!(profile.email, "t@example.jp");
        assert_eq!(
            accept_assertion(&shop, &sid, &token, Purpose::Login).err(),
            Some(AssertionError::NonceMismatch),
            "replayed"
        );
    }
}
