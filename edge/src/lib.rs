//! kessai edge: a thin Cloudflare Worker. Routes, authentication and JSON in/out live here;
//! protocol rules come from `kessai-core`, storage from [`store`], gateway flows from
//! [`card_payment`] and [`amazon_payment`] / [`signin`] (Amazon Pay).

mod amazon_payment;
mod amazon_transport;
mod card_payment;
mod config;
mod console;
mod gmo_notification;
mod gmo_transport;
mod http;
mod ipn;
mod operations;
mod platform;
mod signin;
mod store;
mod sweep;
mod test_clock;

use card_payment::Outcome;
use config::Config;
use http::{
    ApiError, ApiResult, Nav, cors_headers, error_response, json_response, nav_response, secure_eq,
};
use kessai_core::money::Jpy;
use kessai_core::payment::{CaptureMode, PaymentState};
use serde_json::{Value, json};
use store::{Event, NewPayment, PaymentRow, Store};
use worker::{Context, Env, Method, Request, Response, event};

/// What one request produced: a status and a JSON body.
struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Reply { status: 200, body }
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let method = req.method();
    let path = req.path();
    let origin = req.headers().get("origin").ok().flatten();
    // Called from storefront pages (CORS): the widget API and the sign-in button.
    let is_widget_api = path.starts_with("/v1/checkout/") || path == signin::BUTTON_PATH;

    let cfg = match Config::from_env(&env) {
        Ok(c) => c,
        Err(e) => return error_response(&e),
    };
    // The widget API is called from storefront pages: only configured origins may.
    let allowed_origin = match (&origin, is_widget_api) {
        (Some(o), true) if cfg.origin_allowed(o) => Some(o.clone()),
        (Some(_), true) => {
            return error_response(&ApiError::new(
                403,
                "origin_not_allowed",
                "this storefront origin is not allowed",
                "このサイトからはご利用いただけません。",
            ));
        }
        _ => None,
    };
    if method == Method::Options {
        let resp = Response::empty()?.with_status(204);
        if let Some(o) = &allowed_origin {
            cors_headers(resp.headers(), o)?;
        }
        return Ok(resp);
    }

    // Every rule below reads the time: the test clock, when on, is loaded once here.
    if let Err(e) = test_clock::load(&env, &cfg).await {
        return error_response(&e);
    }

    // Amazon sends the shopper's browser here (top-level navigations): redirects or a page.
    if method == Method::Get && amazon_payment::is_navigation(&path) {
        let nav = navigate(&req, &env, &cfg, &path).await;
        if let Nav::ErrorPage { status, reason, .. } = &nav {
            worker::console_warn!("GET {path} -> {status} ({reason})");
        } else {
            worker::console_log!("GET {path} -> navigation");
        }
        let script_hash = signin::form_post_script_hash();
        return nav_response(&nav, &script_hash);
    }

    // Gateway notifications (server to server; their own verification and answers).
    if method == Method::Post
        && (path == ipn::AMAZON_IPN_PATH || path == gmo_notification::GMO_NOTIFY_PATH)
    {
        let resp = if path == ipn::AMAZON_IPN_PATH {
            ipn::amazon_ipn(req, &env, &cfg).await?
        } else {
            gmo_notification::gmo_notify(req, &env, &cfg).await?
        };
        worker::console_log!("POST {path} -> {}", resp.status_code());
        return Ok(resp);
    }

    // The operator console's own API (login, logout, me): answers may set the session cookie.
    if path.starts_with("/console/api/") {
        return console::api(req, &env, &cfg, method, &path).await;
    }

    let result = route(req, &env, &cfg, method.clone(), &path).await;
    let resp = match &result {
        Ok(reply) if reply.status == 204 => Response::empty()?.with_status(204),
        Ok(reply) => json_response(reply.status, &reply.body)?,
        Err(e) => error_response(e)?,
    };
    let status = resp.status_code();
    worker::console_log!("{} {} -> {}", method.to_string(), path, status);
    if let Some(o) = &allowed_origin {
        cors_headers(resp.headers(), o)?;
    }
    Ok(resp)
}

/// The Cron Trigger (`[triggers]` in wrangler.toml): settles payments left with an open outcome.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    let cfg = match Config::from_env(&env) {
        Ok(c) => c,
        Err(e) => {
            worker::console_error!("sweep: configuration: {}", e.message);
            return;
        }
    };
    if let Err(e) = test_clock::load(&env, &cfg).await {
        worker::console_error!("sweep: clock: {}", e.code);
        return;
    }
    let db = match env.d1("DB") {
        Ok(db) => db,
        Err(_) => {
            worker::console_error!("sweep: D1 binding missing");
            return;
        }
    };
    let report = sweep::run(&Store { db: &db }, &cfg).await;
    worker::console_log!(
        "sweep: examined {} settled {} still_open {} failed {}; notifications processed {} failed {}",
        report.examined,
        report.settled,
        report.still_open,
        report.failed,
        report.notifications_processed,
        report.notifications_failed
    );
}

async fn route(
    mut req: Request,
    env: &Env,
    cfg: &Config,
    method: Method,
    path: &str,
) -> ApiResult<Reply> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let verb = method.clone();
    match (method, segments.as_slice()) {
        (Method::Get, ["health"]) => Ok(Reply::ok(json!({ "ok": true }))),
        (method @ (Method::Put | Method::Delete), ["v1", "test", "clock"]) => {
            merchant_auth(&req, cfg)?;
            let body = match method {
                Method::Put => Some(req.text().await.map_err(|_| invalid_json())?),
                _ => None,
            };
            let db = env.d1("DB")?;
            let view = test_clock::control(&Store { db: &db }, cfg, body.as_deref()).await?;
            Ok(Reply::ok(view))
        }
        (Method::Get, ["v1", "checkout", payment_id]) => {
            let db = env.d1("DB")?;
            let store = Store { db: &db };
            let mut row = payment_by_secret(&store, payment_id, &client_secret(&req)).await?;
            // The widget polls this after a 202: settle a lost outcome as soon as GMO can tell.
            if matches!(
                row.state()?,
                PaymentState::Unknown | PaymentState::Processing
            ) {
                row = reconcile_any(&store, cfg, row).await?;
            }
            Ok(Reply::ok(checkout_view(&row, cfg)?))
        }
        (Method::Post, ["v1", "checkout", payment_id, "card"]) => {
            let secret = client_secret(&req);
            let body: Value = req.json().await.map_err(|_| invalid_json())?;
            let token = body
                .get("token")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string();
            if token.is_empty() || token.len() > 256 || !token.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(ApiError::bad_request(
                    "token is required",
                    "カード情報を入力してください。",
                ));
            }
            // The edge accepts a token only: anything that looks like card data is refused, so a
            // misbuilt integration fails loudly instead of moving PAN through our servers.
            if body
                .as_object()
                .is_some_and(|m| m.keys().any(|k| k != "token"))
            {
                return Err(ApiError::bad_request(
                    "only a GMO token may be sent",
                    "カード情報は送信できません。トークンのみを送信してください。",
                ));
            }
            let db = env.d1("DB")?;
            let store = Store { db: &db };
            let mut row = payment_by_secret(&store, payment_id, &secret).await?;
            // An Amazon Pay attempt whose outcome is open is settled with Amazon, never with
            // GMO (which knows nothing of it and would call it "not charged").
            if amazon_payment::is_amazon(&row)
                && matches!(
                    row.state()?,
                    PaymentState::Unknown | PaymentState::Processing
                )
            {
                row = reconcile_any(&store, cfg, row).await?;
                if matches!(
                    row.state()?,
                    PaymentState::Unknown | PaymentState::Processing
                ) {
                    return Err(card_payment::in_progress());
                }
            }
            let now = platform::now().0;
            match card_payment::authorize(&store, cfg, row, &token, now).await? {
                Outcome::Paid(p) => Ok(Reply::ok(payment_result(&p)?)),
                Outcome::Unknown(p) => Ok(Reply {
                    status: 202,
                    body: {
                        let mut b = payment_result(&p)?;
                        b["error"] = ApiError::new(
                            202,
                            "outcome_unknown",
                            "the card company has not confirmed the result yet; do not pay again",
                            "決済結果を確認中です。二重決済を防ぐため、再度お支払いせずにショップからのご連絡をお待ちください。",
                        )
                        .body()["error"]
                            .clone();
                        b
                    },
                }),
            }
        }
        (Method::Post, ["v1", "payments"]) => {
            caller_of(&req, env, cfg, &verb).await?;
            let key = req.headers().get("idempotency-key").ok().flatten();
            let raw = req.text().await.map_err(|_| invalid_json())?;
            let db = env.d1("DB")?;
            let store = Store { db: &db };
            with_idempotency(&store, key.as_deref(), &raw, create_payment(&store, &raw)).await
        }
        (Method::Get, ["v1", "payments"]) => {
            caller_of(&req, env, cfg, &verb).await?;
            let db = env.d1("DB")?;
            console::list(&req, &Store { db: &db }).await
        }
        (Method::Get, ["v1", "payments", id]) => {
            caller_of(&req, env, cfg, &verb).await?;
            let db = env.d1("DB")?;
            let store = Store { db: &db };
            let row = store.existing_payment(id).await?;
            let mut view = payment_view(&row)?;
            view["previews"] = console::previews(&row, platform::now().0)?;
            let events = store.events(id).await?;
            view["events"] = json!(
                events
                    .iter()
                    .map(|e| json!({
                        "at": e.at, "actor": e.actor, "kind": e.kind, "from": e.from_state, "to": e.to_state,
                        "detail": serde_json::from_str::<Value>(&e.detail).unwrap_or(Value::Null),
                    }))
                    .collect::<Vec<_>>()
            );
            Ok(Reply::ok(view))
        }
        (Method::Post, ["v1", "payments", "bulk", "capture"]) => {
            let caller = caller_of(&req, env, cfg, &verb).await?;
            let key = req.headers().get("idempotency-key").ok().flatten();
            let raw = req.text().await.map_err(|_| invalid_json())?;
            let db = env.d1("DB")?;
            let store = Store { db: &db };
            // The path is part of what a key stands for: one key, one request.
            let keyed = format!("{path}\n{raw}");
            with_idempotency(
                &store,
                key.as_deref(),
                &keyed,
                operations::bulk_capture(&store, cfg, &raw, &caller.actor()),
            )
            .await
        }
        (
            Method::Post,
            [
                "v1",
                "payments",
                id,
                endpoint @ ("capture" | "amount" | "cancel" | "refund"),
            ],
        ) => {
            let caller = caller_of(&req, env, cfg, &verb).await?;
            let key = req.headers().get("idempotency-key").ok().flatten();
            let raw = req.text().await.map_err(|_| invalid_json())?;
            let op = operations::parse_operation(endpoint, &raw)?;
            let db = env.d1("DB")?;
            let store = Store { db: &db };
            let keyed = format!("{path}\n{raw}");
            with_idempotency(
                &store,
                key.as_deref(),
                &keyed,
                operations::operate(&store, cfg, id, op, &caller.actor()),
            )
            .await
        }
        (Method::Post, ["v1", "payments", id, "reconcile"]) => {
            caller_of(&req, env, cfg, &verb).await?;
            let db = env.d1("DB")?;
            let store = Store { db: &db };
            let row = store.existing_payment(id).await?;
            let row = reconcile_any(&store, cfg, row).await?;
            // Both sides, as they stand after the reconcile, for the operator to compare.
            let mut view = payment_view(&row)?;
            view["sides"] = json!({
                "kessai": console::kessai_side(&row),
                "gateway": console::gateway_side(cfg, &row).await,
            });
            Ok(Reply::ok(view))
        }
        (Method::Post, ["v1", "payments", id, "force"]) => {
            let caller = caller_of(&req, env, cfg, &verb).await?;
            let raw = req.text().await.map_err(|_| invalid_json())?;
            let db = env.d1("DB")?;
            console::force(&Store { db: &db }, cfg, id, &raw, &caller).await
        }
        (Method::Post, ["v1", "checkout", payment_id, "amazon-pay", "button"]) => {
            let amazon = amazon_enabled(cfg)?;
            let secret = client_secret(&req);
            let body: Value = req.json().await.map_err(|_| invalid_json())?;
            let db = env.d1("DB")?;
            let store = Store { db: &db };
            let row = payment_by_secret(&store, payment_id, &secret).await?;
            let signed = amazon_payment::button(&store, cfg, amazon, row, &body).await?;
            Ok(Reply::ok(signed))
        }
        (Method::Post, ["v1", "amazon-pay", "signin-button"]) => {
            let amazon = amazon_enabled(cfg)?;
            if req.headers().get("origin").ok().flatten().is_none() {
                return Err(signin::origin_required());
            }
            let body: Value = req.json().await.map_err(|_| invalid_json())?;
            let db = env.d1("DB")?;
            let signed = signin::button(&Store { db: &db }, cfg, amazon, &body).await?;
            Ok(Reply::ok(signed))
        }
        (Method::Get, ["v1", "amazon-pay", "links"]) => {
            caller_of(&req, env, cfg, &verb).await?;
            amazon_enabled(cfg)?;
            let url = req.url()?;
            let buyer_id = url
                .query_pairs()
                .find(|(k, _)| k == "buyer_id")
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            let db = env.d1("DB")?;
            Ok(Reply::ok(
                signin::find_link(&Store { db: &db }, &buyer_id).await?,
            ))
        }
        (Method::Get, ["v1", "amazon-pay", "links", member_id]) => {
            caller_of(&req, env, cfg, &verb).await?;
            amazon_enabled(cfg)?;
            let db = env.d1("DB")?;
            Ok(Reply::ok(
                signin::get_link(&Store { db: &db }, member_id).await?,
            ))
        }
        (Method::Put, ["v1", "amazon-pay", "links", member_id]) => {
            caller_of(&req, env, cfg, &verb).await?;
            let amazon = amazon_enabled(cfg)?;
            let body: Value = req.json().await.map_err(|_| invalid_json())?;
            let db = env.d1("DB")?;
            Ok(Reply::ok(
                signin::put_link(&Store { db: &db }, cfg, amazon, member_id, &body).await?,
            ))
        }
        (Method::Delete, ["v1", "amazon-pay", "links", member_id]) => {
            caller_of(&req, env, cfg, &verb).await?;
            amazon_enabled(cfg)?;
            let db = env.d1("DB")?;
            signin::delete_link(&Store { db: &db }, member_id).await?;
            Ok(Reply {
                status: 204,
                body: Value::Null,
            })
        }
        _ => Err(ApiError::new(
            404,
            "not_found",
            "no such endpoint",
            "ページが見つかりません。",
        )),
    }
}

/// The Amazon Pay settings, or 404 when this shop has Amazon Pay off.
fn amazon_enabled(cfg: &Config) -> ApiResult<&config::AmazonConfig> {
    cfg.amazon.as_ref().ok_or_else(|| {
        ApiError::new(
            404,
            "amazon_pay_disabled",
            "Amazon Pay is not enabled for this shop",
            "このショップではAmazon Payをご利用いただけません。",
        )
    })
}

/// Settles an open outcome with the gateway that holds it.
pub(crate) async fn reconcile_any(
    store: &Store<'_>,
    cfg: &Config,
    row: PaymentRow,
) -> ApiResult<PaymentRow> {
    let now = platform::now().0;
    if operations::unknown_after_operation(&row, now) {
        return operations::reconcile_operation(store, cfg, row).await;
    }
    match (amazon_payment::is_amazon(&row), cfg.amazon.as_ref()) {
        (true, Some(amazon)) => amazon_payment::reconcile_now(store, amazon, row, now).await,
        // Amazon Pay switched off since: nothing can be asked; the payment stays as it is.
        (true, None) => Ok(row),
        (false, _) => card_payment::reconcile_now(store, cfg, row, now).await,
    }
}

/// Top-level navigations from Amazon (review, result, sign-in return).
async fn navigate(req: &Request, env: &Env, cfg: &Config, path: &str) -> Nav {
    let Some(amazon) = cfg.amazon.as_ref() else {
        return Nav::ErrorPage {
            status: 404,
            reason: "amazon pay disabled",
            message_ja: "このショップではAmazon Payをご利用いただけません。".to_string(),
        };
    };
    let query: Vec<(String, String)> = match req.url() {
        Ok(u) => u
            .query_pairs()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        Err(_) => Vec::new(),
    };
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let db = match env.d1("DB") {
        Ok(db) => db,
        Err(_) => {
            return Nav::ErrorPage {
                status: 500,
                reason: "D1 binding missing",
                message_ja: "システムエラーが発生しました。".to_string(),
            };
        }
    };
    let store = Store { db: &db };
    match path {
        amazon_payment::REVIEW_PATH => {
            amazon_payment::review(
                &store,
                cfg,
                amazon,
                &param("payment"),
                &param("amazonCheckoutSessionId"),
            )
            .await
        }
        amazon_payment::RESULT_PATH => {
            amazon_payment::result(
                &store,
                cfg,
                amazon,
                &param("payment"),
                &param("amazonCheckoutSessionId"),
            )
            .await
        }
        _ => {
            signin::signin_return(&store, cfg, amazon, &param("state"), &param("buyerToken")).await
        }
    }
}

fn invalid_json() -> ApiError {
    ApiError::bad_request("body must be JSON", "リクエストの形式が正しくありません。")
}

/// Who is calling the merchant API: the merchant key or an operator session (see [`console`]).
async fn caller_of(
    req: &Request,
    env: &Env,
    cfg: &Config,
    method: &Method,
) -> ApiResult<console::Caller> {
    let db = env.d1("DB")?;
    console::authenticate(req, &Store { db: &db }, cfg, method).await
}

fn merchant_auth(req: &Request, cfg: &Config) -> ApiResult<()> {
    let header = req
        .headers()
        .get("authorization")
        .ok()
        .flatten()
        .unwrap_or_default();
    match header.strip_prefix("Bearer ") {
        Some(key) if secure_eq(key.trim(), &cfg.merchant_secret_key) => Ok(()),
        _ => Err(ApiError::unauthorized()),
    }
}

/// The widget sends the payment's client secret in a header, not the URL: URLs end up in
/// access logs, headers do not.
fn client_secret(req: &Request) -> String {
    req.headers()
        .get("x-client-secret")
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The widget API is scoped to one payment by its client secret (compared in constant time).
async fn payment_by_secret(
    store: &Store<'_>,
    payment_id: &str,
    secret: &str,
) -> ApiResult<PaymentRow> {
    let not_found = || {
        ApiError::new(
            404,
            "checkout_not_found",
            "unknown payment or wrong client secret",
            "お支払い情報が見つかりません。",
        )
    };
    let row = store.payment(payment_id).await?.ok_or_else(not_found)?;
    if !secret.is_empty() && secure_eq(&row.client_secret, secret) {
        Ok(row)
    } else {
        Err(not_found())
    }
}

fn checkout_view(row: &PaymentRow, cfg: &Config) -> ApiResult<Value> {
    Ok(json!({
        "payment_id": row.id,
        "order_id": row.order_id,
        "amount": row.amount,
        "currency": row.currency,
        "state": row.state,
        // How it was paid (card | amazon_pay); only meaningful once the payment is paid.
        "method": row.method,
        "capture": row.capture_mode,
        "mode": cfg.mode.as_str(),
        "card": { "shop_id": cfg.gmo.shop_id, "token_js_url": cfg.gmo_token_js_url },
        "amazon_pay": amazon_payment::checkout_block(cfg),
        "last_error": amazon_payment::last_error_block(row),
    }))
}

fn payment_result(row: &PaymentRow) -> ApiResult<Value> {
    let state = row.state()?;
    Ok(
        json!({ "payment_id": row.id, "state": row.state, "state_label_ja": state.label_ja(), "amount": row.amount }),
    )
}

fn payment_view(row: &PaymentRow) -> ApiResult<Value> {
    let state = row.state()?;
    let now = platform::now().0;
    let shown = console::display_state(row, now)?;
    Ok(json!({
        "id": row.id,
        "order_id": row.order_id,
        "amount": row.amount,
        "currency": row.currency,
        "method": row.method,
        "capture": row.capture_mode,
        "state": row.state,
        "state_label_ja": state.label_ja(),
        "client_secret": row.client_secret,
        "gateway": {
            "gmo_order_id": row.gmo_order_id,
            "access_id": row.gmo_access_id,
            "tran_id": row.gmo_tran_id,
            "approve": row.gmo_approve,
            "forward": row.gmo_forward,
            "tran_date": row.gmo_tran_date,
        },
        "card_mask": row.card_mask,
        "amazon_pay": amazon_payment::payment_block(row),
        "last_error": row.last_error_code.as_ref().map(|c| json!({ "code": c, "err_info": row.last_error_info })),
        "created_at": row.created_at,
        "authorized_at": row.authorized_at,
        "customer_name": console::customer_name(row),
        // The console's view: 期限切れ for a 仮売上 past its deadline, and the countdown.
        "display_state": shown.as_str(),
        "display_state_label_ja": shown.label_ja(),
        "authorization_expiry": console::expiry_view(row, now),
    }))
}

/// Replays the first answer for an `Idempotency-Key`; refuses the key for a different body.
async fn with_idempotency(
    store: &Store<'_>,
    key: Option<&str>,
    raw: &str,
    work: impl std::future::Future<Output = ApiResult<Reply>>,
) -> ApiResult<Reply> {
    let Some(key) = key.map(str::trim).filter(|k| !k.is_empty()) else {
        return work.await;
    };
    if key.len() > 255 {
        return Err(ApiError::bad_request(
            "Idempotency-Key is too long",
            "Idempotency-Keyが長すぎます。",
        ));
    }
    let hash = platform::sha256_hex(raw.as_bytes())
        .await
        .ok_or_else(|| ApiError::internal("sha256"))?;
    if let Some((stored_hash, status, body)) = store.idempotent_get(key).await? {
        if stored_hash != hash {
            return Err(ApiError::new(
                422,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different request",
                "同じIdempotency-Keyが別のリクエストに使われています。",
            ));
        }
        let body = serde_json::from_str(&body)
            .map_err(|_| ApiError::internal("stored idempotent body"))?;
        return Ok(Reply { status, body });
    }
    let result = work.await;
    let (status, body) = match &result {
        Ok(r) => (r.status, r.body.clone()),
        Err(e) => (e.status, e.body()),
    };
    // Server errors are not final answers: a retry with the same key should try again.
    if status < 500 {
        store
            .idempotent_put(key, &hash, status, &body.to_string(), platform::now().0)
            .await?;
    }
    result
}

fn new_gmo_order_id(attempt: i64) -> ApiResult<String> {
    let hex = platform::random_hex(10).ok_or_else(|| ApiError::internal("random"))?;
    Ok(format!("ks-{hex}-{attempt}"))
}

/// `POST /v1/payments`: creates the payment for an order, or resumes the open one.
async fn create_payment(store: &Store<'_>, raw: &str) -> ApiResult<Reply> {
    let body: Value = serde_json::from_str(raw).map_err(|_| invalid_json())?;
    let order_id = body
        .get("order_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("");
    if order_id.is_empty()
        || order_id.chars().count() > 64
        || order_id.chars().any(char::is_control)
    {
        return Err(ApiError::bad_request(
            "order_id must be 1-64 characters",
            "注文番号は1〜64文字で指定してください。",
        )
        .with("param", "order_id"));
    }
    let amount = match body.get("amount") {
        Some(v) if v.is_i64() => v.as_i64().unwrap_or(0),
        _ => {
            return Err(ApiError::bad_request(
                "amount must be an integer number of yen",
                "金額は円単位の整数で指定してください。",
            )
            .with("param", "amount"));
        }
    };
    let amount = Jpy::chargeable(amount).map_err(|e| {
        ApiError::bad_request(e.message_en(), e.message_ja()).with("param", "amount")
    })?;
    let capture = match body.get("capture").and_then(Value::as_str) {
        None => CaptureMode::Manual,
        Some(c) => CaptureMode::parse(c).ok_or_else(|| {
            ApiError::bad_request(
                "capture must be manual or automatic",
                "売上方式はmanualかautomaticで指定してください。",
            )
            .with("param", "capture")
        })?,
    };
    let customer_name = match body.get("customer_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name))
            if !name.trim().is_empty()
                && name.trim().chars().count() <= 100
                && !name.chars().any(char::is_control) =>
        {
            Some(name.trim())
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "customer_name must be 1-100 characters",
                "お客様名は1〜100文字で指定してください。",
            )
            .with("param", "customer_name"));
        }
    };
    let now = platform::now().0;

    if let Some(existing) = store.payment_by_order(order_id).await? {
        return resume_payment(store, existing, amount, capture, now).await;
    }
    let id = format!(
        "pay_{}",
        platform::random_hex(12).ok_or_else(|| ApiError::internal("random"))?
    );
    let secret = format!(
        "{id}_secret_{}",
        platform::random_hex(16).ok_or_else(|| ApiError::internal("random"))?
    );
    let gmo_order_id = new_gmo_order_id(1)?;
    let new = NewPayment {
        id: &id,
        client_secret: &secret,
        order_id,
        amount: amount.yen(),
        capture,
        gmo_order_id: &gmo_order_id,
        now,
        customer_name,
    };
    let ev = Event {
        actor: "merchant",
        kind: "created",
        detail: json!({ "amount": amount.yen(), "capture": capture.as_str() }),
    };
    if !store.insert_payment(&new, &ev).await? {
        // Lost a race with a concurrent create for the same order.
        let existing = store
            .payment_by_order(order_id)
            .await?
            .ok_or_else(|| ApiError::internal("order vanished"))?;
        return resume_payment(store, existing, amount, capture, now).await;
    }
    let row = store
        .payment(&id)
        .await?
        .ok_or_else(|| ApiError::internal("payment vanished"))?;
    Ok(Reply {
        status: 201,
        body: payment_view(&row)?,
    })
}

/// A storefront that opens checkout again for the same order gets the same payment; if the cart
/// total changed before anything was charged, the payment follows it (with a new GMO OrderID
/// when an EntryTran for the old amount exists).
async fn resume_payment(
    store: &Store<'_>,
    row: PaymentRow,
    amount: Jpy,
    capture: CaptureMode,
    now: i64,
) -> ApiResult<Reply> {
    let state = row.state()?;
    if state != PaymentState::RequiresPayment {
        return Err(ApiError::new(
            409,
            "order_has_payment",
            format!("order already has a payment in state {}", row.state),
            format!("この注文の決済は既に「{}」です。", state.label_ja()),
        )
        .with("payment_id", &row.id)
        .with("state", &row.state));
    }
    if row.amount == amount.yen() && row.capture_mode == capture.as_str() {
        return Ok(Reply::ok(payment_view(&row)?));
    }
    let mut next = row.clone();
    next.amount = amount.yen();
    next.capture_mode = capture.as_str().to_string();
    if next.gmo_access_id.is_some() {
        next.gmo_attempt += 1;
        next.gmo_order_id = new_gmo_order_id(next.gmo_attempt)?;
        next.gmo_access_id = None;
        next.gmo_access_pass = None;
    }
    let ev = Event {
        actor: "merchant",
        kind: "amount_updated",
        detail: json!({ "from": row.amount, "to": amount.yen(), "gmo_order_id": next.gmo_order_id }),
    };
    if !store
        .transition(
            &next,
            PaymentState::RequiresPayment,
            PaymentState::RequiresPayment,
            now,
            &ev,
        )
        .await?
    {
        return Err(ApiError::new(
            409,
            "payment_in_progress",
            "the payment changed meanwhile; retry",
            "処理中です。再度お試しください。",
        ));
    }
    let fresh = store
        .payment(&row.id)
        .await?
        .ok_or_else(|| ApiError::internal("payment vanished"))?;
    Ok(Reply::ok(payment_view(&fresh)?))
}
