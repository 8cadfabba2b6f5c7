//! The widget's API, scoped to one payment by its client secret (checked by the routes before
//! anything here runs): the checkout view the widget renders, and paying it by card with a GMO
//! token. An open outcome is settled with its gateway first, so the widget's polling after a
//! 202 sees the result as soon as the gateway can tell.

use super::card_checkout::{self, AttemptSource, CardAttempt, Outcome};
use super::card_testing;
use super::reconcile::reconcile_any;
use super::stored_cards;
use super::subscriptions::sign_up;
use super::three_d_secure;
use crate::config::Config;
use crate::http::{ApiError, ApiResult, Reply, invalid_json};
use crate::platform;
use crate::store::{PaymentRow, Store};
use crate::views::{checkout_view, payment_result};
use kessai_core::gmo::installments::Installments;
use kessai_core::payment::{CaptureMode, PaymentState};
use serde_json::{Value, json};

fn outcome_open(row: &PaymentRow) -> ApiResult<bool> {
    Ok(matches!(
        row.state()?,
        PaymentState::Unknown | PaymentState::Processing
    ))
}

/// `GET /v1/checkout/{id}`.
pub async fn view(store: &Store<'_>, cfg: &Config, mut row: PaymentRow) -> ApiResult<Reply> {
    // The widget polls this after a 202: settle a lost outcome as soon as GMO can tell. A
    // shopper back from an authentication abandoned past its window (closed tab, back button)
    // gets the form again now instead of at the next sweep.
    let abandoned = three_d_secure::abandoned(&row, platform::now().0);
    if abandoned || outcome_open(&row)? {
        row = reconcile_any(store, cfg, row).await?;
        card_testing::settle_open_attempt(store, &row).await;
    }
    let mut body = checkout_view(&row, cfg);
    if body["last_error"].is_null()
        && let Some(e) = three_d_secure::return_error_view(&row)
    {
        body["last_error"] = e;
    }
    Ok(Reply::ok(body))
}

/// The body of `POST /v1/checkout/{id}/card`: a GMO token or a stored card's `card_seq`, with
/// `save_card` (+ `card_brand`), `installments` and `return_url`. The edge accepts no card data:
/// any other key is refused, so a misbuilt integration fails loudly instead of moving PAN
/// through our servers.
struct CardRequest {
    source: RequestedSource,
    save: Option<Option<String>>,
    installments: Installments,
    return_url: Option<String>,
}

enum RequestedSource {
    Token(String),
    Stored(u32),
}

const CARD_KEYS: [&str; 6] = [
    "token",
    "card_seq",
    "save_card",
    "card_brand",
    "installments",
    "return_url",
];

fn card_request(cfg: &Config, row: &PaymentRow, raw: &str) -> ApiResult<CardRequest> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    if body
        .as_object()
        .is_none_or(|m| m.keys().any(|k| !CARD_KEYS.contains(&k.as_str())))
    {
        return Err(ApiError::bad_request(
            "only a GMO token or a stored card may be sent",
            "カード情報は送信できません。トークンのみを送信してください。",
        ));
    }
    let source = requested_source(row, &body)?;
    let verify = row.capture_mode == CaptureMode::Verify.as_str();
    if verify && matches!(source, RequestedSource::Stored(_)) {
        return Err(ApiError::bad_request(
            "a card registration takes a new card (token), not a stored one",
            "登録済みのカードは登録できません。新しいカードを入力してください。",
        )
        .with("param", "card_seq"));
    }
    // A card registration saves its card, and so does a 定期購入 sign-up paying with a new card
    // (later cycles are charged on it).
    let sign_up_new_card =
        row.subscription_plan.is_some() && !matches!(source, RequestedSource::Stored(_));
    let save = requested_save(cfg, row, &body, &source, verify || sign_up_new_card)?;
    let installments = match body.get("installments") {
        None | Some(Value::Null) => Installments::Lump,
        Some(Value::String(code)) => Installments::parse(code)
            .filter(|pay| cfg.installments.allows(*pay))
            .ok_or_else(installments_refused)?,
        Some(_) => return Err(installments_refused()),
    };
    // 有効性チェック (CHECK) has no 支払回数.
    if verify && installments != Installments::Lump {
        return Err(installments_refused());
    }
    // Where the shopper comes back after 3-D Secure: a page of the storefront, or none.
    let return_url = match body.get("return_url") {
        None | Some(Value::Null) => None,
        Some(_) => Some(cfg.storefront_return_url(&body)?.to_string()),
    };
    Ok(CardRequest {
        source,
        save,
        installments,
        return_url,
    })
}

/// `token` (a new card) or `card_seq` (one of the customer's saved cards), never both.
fn requested_source(row: &PaymentRow, body: &Value) -> ApiResult<RequestedSource> {
    let token = body
        .get("token")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    let source = match (token.is_empty(), body.get("card_seq")) {
        (true, None | Some(Value::Null)) => {
            return Err(ApiError::bad_request(
                "token is required",
                "カード情報を入力してください。",
            ));
        }
        (false, None | Some(Value::Null)) => {
            if token.len() > 256 || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(ApiError::bad_request(
                    "token is required",
                    "カード情報を入力してください。",
                ));
            }
            RequestedSource::Token(token)
        }
        (true, Some(seq)) => {
            let seq = seq
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "card_seq must be a stored card's number",
                        "カードの指定が正しくありません。",
                    )
                    .with("param", "card_seq")
                })?;
            if row.customer_id.is_none() {
                return Err(ApiError::bad_request(
                    "this payment has no customer: stored cards cannot be used",
                    "このお支払いでは登録済みのカードをご利用いただけません。",
                )
                .with("param", "card_seq"));
            }
            RequestedSource::Stored(seq)
        }
        (false, Some(_)) => {
            return Err(ApiError::bad_request(
                "send either token or card_seq",
                "カードの指定が正しくありません。",
            )
            .with("param", "card_seq"));
        }
    };
    Ok(source)
}

/// `save_card` (with the `card_brand` the widget saw): only for a new card on a payment with a
/// customer, on a shop with a GMO site. `always`: the payment saves its card whatever the
/// shopper sends (a card registration, a 定期購入 sign-up).
fn requested_save(
    cfg: &Config,
    row: &PaymentRow,
    body: &Value,
    source: &RequestedSource,
    always: bool,
) -> ApiResult<Option<Option<String>>> {
    Ok(match body.get("save_card") {
        Some(Value::Bool(false)) if always => {
            return Err(ApiError::bad_request(
                "this payment saves its card (card registration or subscription sign-up): save_card cannot be false",
                "このお手続きではカードを登録します。",
            )
            .with("param", "save_card"));
        }
        None | Some(Value::Null | Value::Bool(false)) if !always => None,
        None | Some(Value::Null | Value::Bool(true)) => {
            if row.customer_id.is_none() || matches!(source, RequestedSource::Stored(_)) {
                return Err(ApiError::bad_request(
                    "save_card needs a new card on a payment with a customer",
                    "このお支払いではカードを登録できません。",
                )
                .with("param", "save_card"));
            }
            cfg.stored_cards()?;
            let brand = match body.get("card_brand") {
                None | Some(Value::Null) => None,
                Some(Value::String(b)) if stored_cards::brand_ok(b) => Some(b.clone()),
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "card_brand must be visa, mastercard, jcb, amex, diners or discover",
                        "カードの種類が正しくありません。",
                    )
                    .with("param", "card_brand"));
                }
            };
            Some(brand)
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "save_card must be true or false",
                "カード登録の指定が正しくありません。",
            )
            .with("param", "save_card"));
        }
    })
}

fn installments_refused() -> ApiError {
    ApiError::bad_request(
        "installments must be one the shop offers (checkout view `card.installments`)",
        "お支払い回数はこのショップでご利用いただけません。",
    )
    .with("param", "installments")
}

/// What a card attempt came to, for the card-testing count.
fn attempt_outcome(result: &ApiResult<Outcome>) -> &'static str {
    match result {
        Ok(Outcome::Paid(_)) => "paid",
        Ok(Outcome::RequiresAction { .. }) => "three_d_secure",
        Ok(Outcome::Unknown(_)) => "unknown",
        Err(e) if e.code == "card_declined" || e.code == "card_input" => "declined",
        Err(_) => "failed",
    }
}

fn merge(body: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
        b.extend(extra);
    }
}

/// `POST /v1/checkout/{id}/card` `{token | card_seq, save_card?, card_brand?, installments?,
/// return_url?}`: 200 paid (with `card_saved` / `card_save_error` when asked to save), 200 with `next_action` for
/// 3-D Secure (the widget sends the browser there), 202 while GMO cannot tell, or the error.
pub async fn pay_by_card(
    store: &Store<'_>,
    cfg: &Config,
    mut row: PaymentRow,
    raw: &str,
    client_ip: Option<&str>,
) -> ApiResult<Reply> {
    let request = card_request(cfg, &row, raw)?;
    // An Amazon Pay attempt whose outcome is open is settled with Amazon, never with GMO
    // (which knows nothing of it and would call it "not charged").
    if row.is_amazon() && outcome_open(&row)? {
        row = reconcile_any(store, cfg, row).await?;
        if outcome_open(&row)? {
            return Err(card_checkout::in_progress());
        }
    }
    let source = match request.source {
        RequestedSource::Token(token) => AttemptSource::Token(token),
        RequestedSource::Stored(card_seq) => {
            let customer = row.customer_id.as_deref().unwrap_or("");
            let member_id = stored_cards::usable_card(store, cfg, customer, card_seq).await?;
            AttemptSource::Stored {
                member_id,
                card_seq,
            }
        }
    };
    let attempt = CardAttempt {
        source,
        installments: request.installments,
        save: request.save,
        return_url: request.return_url,
    };
    let now = platform::now().0;
    // Card-testing limits before anything reaches GMO; the attempt is recorded after it.
    let ticket = card_testing::admit(store, cfg, &row.id, client_ip, now).await?;
    let result = card_checkout::authorize(store, cfg, row, &attempt, now, Some(&ticket)).await;
    card_testing::finish(store, ticket, attempt_outcome(&result)).await;
    match result? {
        Outcome::Paid(p) => {
            let mut body = payment_result(&p)?;
            // Paid without a 3-D Secure redirect (policy off, or GMO answered ACS=0 at once).
            if let Some(saved) = stored_cards::save_after_payment(store, cfg, &p, false).await {
                merge(&mut body, saved);
            }
            if let Some(sub) = sign_up::after_checkout(store, cfg, &p.id).await {
                body["subscription_id"] = json!(sub);
            }
            Ok(Reply::ok(body))
        }
        Outcome::RequiresAction { row, redirect_url } => {
            let mut body = payment_result(&row)?;
            body["next_action"] = json!({ "type": "redirect", "url": redirect_url });
            Ok(Reply::ok(body))
        }
        Outcome::Unknown(p) => {
            let mut body = payment_result(&p)?;
            body["error"] = ApiError::new(
                202,
                "outcome_unknown",
                "the card company has not confirmed the result yet; do not pay again",
                "決済結果を確認中です。二重決済を防ぐため、再度お支払いせずにショップからのご連絡をお待ちください。",
            )
            .body()["error"]
                .clone();
            Ok(Reply::with_status(202, body))
        }
    }
}
