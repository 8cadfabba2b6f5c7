//! The edge's front door. [`table`] is the API's index (method, path, access, body limit,
//! idempotency, handler); [`serve`] applies, in this order and in this one place: the
//! configuration, the storefront-origin rule and CORS, the test clock, the route lookup,
//! authentication ([`auth`]), the Amazon Pay switch, the body limit, a JSON route's content
//! type, the `Idempotency-Key` ([`idempotency`]), then the handler ([`handlers`]), and renders
//! its answer with one log line (method, path, status: never a query, a body or a header).

pub mod auth;
pub mod call;
pub mod handlers;
pub mod idempotency;
pub mod table;

use crate::config::Config;
use crate::flows::test_clock;
use crate::http::{
    ApiError, ApiResult, Nav, Reply, cors_headers, error_response, invalid_json, json_response,
    nav_response,
};
use crate::store::Store;
pub use call::{Call, Handled, Handler, Idempotent};
use table::{Route, cross_origin, find};
use worker::{Env, Method, Request, Response};

fn not_found() -> ApiError {
    ApiError::new(
        404,
        "not_found",
        "no such endpoint",
        "ページが見つかりません。",
    )
}

fn body_too_large(max: usize) -> ApiError {
    ApiError::new(
        413,
        "body_too_large",
        format!("the request body is larger than {max} bytes"),
        "リクエストが大きすぎます。",
    )
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        415,
        "unsupported_media_type",
        "the request body must be JSON (Content-Type: application/json)",
        "リクエストの形式が正しくありません(JSONで送信してください)。",
    )
}

/// A JSON route's body declared as anything but JSON (a form, text: what a cross-site HTML
/// form can send) is refused; a body without `Content-Type` is read as JSON.
fn json_content_type(req: &Request) -> ApiResult<()> {
    let declared = auth::header(req, "content-type");
    let media = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let json = media == "application/json"
        || (media.starts_with("application/") && media.ends_with("+json"));
    if media.is_empty() || json {
        Ok(())
    } else {
        Err(unsupported_media_type())
    }
}

/// The storefront origin a cross-origin route may answer (CORS), `Err` for an origin that is
/// not one of the shop's.
fn allowed_origin(req: &Request, cfg: &Config, path: &str) -> ApiResult<Option<String>> {
    let origin = req.headers().get("origin").ok().flatten();
    match origin {
        Some(o) if cross_origin(path) => {
            if cfg.origin_allowed(&o) {
                Ok(Some(o))
            } else {
                Err(ApiError::new(
                    403,
                    "origin_not_allowed",
                    "this storefront origin is not allowed",
                    "このサイトからはご利用いただけません。",
                ))
            }
        }
        Some(_) | None => Ok(None),
    }
}

thread_local! {
    /// The configuration, read once per isolate (#17: reading ~30 vars and secrets through the
    /// JS boundary cost more per request than routing). The vars and secrets of a deployment
    /// never change under a running isolate (a new deployment or `.env` starts a new one).
    static CONFIG: std::cell::RefCell<Option<std::rc::Rc<Config>>> =
        const { std::cell::RefCell::new(None) };
}

/// The isolate's configuration; a configuration error is not kept (each request reports it).
fn config(env: &Env) -> ApiResult<std::rc::Rc<Config>> {
    if let Some(cfg) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(cfg);
    }
    let cfg = std::rc::Rc::new(Config::from_env(env)?);
    CONFIG.with(|c| *c.borrow_mut() = Some(cfg.clone()));
    Ok(cfg)
}

/// Every request of the `fetch` event.
pub async fn serve(req: Request, env: &Env) -> worker::Result<Response> {
    let method = req.method();
    let path = req.path();
    let cfg = match config(env) {
        Ok(c) => c,
        Err(e) => return error_response(&e),
    };
    let origin = match allowed_origin(&req, &cfg, &path) {
        Ok(o) => o,
        Err(e) => return error_response(&e),
    };
    if method == Method::Options {
        let resp = Response::empty()?.with_status(204);
        if let Some(o) = &origin {
            cors_headers(resp.headers(), o)?;
        }
        return Ok(resp);
    }
    let db = env.d1("DB")?;
    let store = Store { db: &db };
    // Every rule below reads the time: the test clock, when on, is loaded once here.
    if let Err(e) = test_clock::load(&store, &cfg).await {
        return error_response(&e);
    }
    let resp = match find(&method, &path) {
        Some((route, params)) => dispatch(req, &store, &cfg, route, params).await?,
        None => error_response(&not_found())?,
    };
    // Refused and failed requests only: Cloudflare's invocation log (and `wrangler tail`,
    // `wrangler dev`) already has every request's method, URL and status, and a line per
    // request cost ~0.1 ms of the isolate's CPU, a fifth of a `/health` (#17 profile).
    if resp.status_code() >= 400 {
        worker::console_log!("{} {} -> {}", method.to_string(), path, resp.status_code());
    }
    if let Some(o) = &origin {
        cors_headers(resp.headers(), o)?;
    }
    Ok(resp)
}

/// Runs one route: the checks, the handler, and the answer in the handler's kind.
async fn dispatch(
    req: Request,
    store: &Store<'_>,
    cfg: &Config,
    route: &'static Route,
    params: Vec<String>,
) -> worker::Result<Response> {
    let path = req.path();
    let call = match prepare(req, store, cfg, route, params).await {
        Ok(call) => call,
        Err(e) => return answer_error(&route.handler, &path, &e),
    };
    match &route.handler {
        Handler::Json(handler) => json_answer(run_json(&call, route, *handler, &path).await),
        Handler::Page(handler) => match handler(&call).await {
            Ok(nav) => page_answer(&nav, &path),
            Err(e) => answer_error(&route.handler, &path, &e),
        },
        Handler::Raw(handler) => handler(&call).await,
    }
}

/// The checks of [`serve`] that need the route: who calls, the Amazon Pay switch, the body.
/// Authentication comes before the body is read, so an unauthenticated caller learns nothing
/// from how its body would have been parsed.
async fn prepare<'a>(
    mut req: Request,
    store: &'a Store<'a>,
    cfg: &'a Config,
    route: &'static Route,
    params: Vec<String>,
) -> ApiResult<Call<'a>> {
    let caller = auth::authenticate(
        &req,
        store,
        cfg,
        route.access,
        params.first().map(String::as_str),
    )
    .await?;
    if route.amazon_pay {
        cfg.amazon_pay()?;
    }
    let body = read_body(&mut req, route.max_body).await?;
    if matches!(route.handler, Handler::Json(_)) && !body.is_empty() {
        json_content_type(&req)?;
    }
    let query = req
        .url()
        .map(|u| {
            u.query_pairs()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .unwrap_or_default();
    Ok(Call {
        store,
        cfg,
        caller,
        params,
        query,
        body,
        session_token: auth::session_token(&req),
        client_ip: req.headers().get("cf-connecting-ip").ok().flatten(),
        idempotency_key: req.headers().get("idempotency-key").ok().flatten(),
    })
}

/// The body, at most `max` bytes (413 `body_too_large` beyond); none for `max == 0`.
async fn read_body(req: &mut Request, max: usize) -> ApiResult<Vec<u8>> {
    if max == 0 {
        return Ok(Vec::new());
    }
    let declared = auth::header(req, "content-length")
        .trim()
        .parse::<usize>()
        .ok();
    if declared.is_some_and(|n| n > max) {
        return Err(body_too_large(max));
    }
    let body = req.bytes().await.map_err(|_| invalid_json())?;
    if body.len() > max {
        return Err(body_too_large(max));
    }
    Ok(body)
}

/// Runs a JSON handler, through the route's `Idempotency-Key` rule.
async fn run_json(
    call: &Call<'_>,
    route: &'static Route,
    handler: for<'a> fn(&'a Call<'a>) -> Handled<'a, ApiResult<Reply>>,
    path: &str,
) -> ApiResult<Reply> {
    let request = match route.idempotent {
        Idempotent::No => return handler(call).await,
        Idempotent::Body => call.text()?.to_string(),
        // The path is part of what a key stands for: one key, one request.
        Idempotent::PathAndBody => format!("{path}\n{}", call.text()?),
    };
    let key = call.idempotency_key.as_deref();
    idempotency::with_idempotency(call.store, key, &request, handler(call)).await
}

fn json_answer(result: ApiResult<Reply>) -> worker::Result<Response> {
    match result {
        Ok(reply) => {
            let resp = if reply.status == 204 {
                Response::empty()?.with_status(204)
            } else {
                json_response(reply.status, &reply.body)?
            };
            if let Some(cookie) = &reply.set_cookie {
                resp.headers().set("set-cookie", cookie)?;
            }
            resp.headers().set("cache-control", "no-store")?;
            Ok(resp)
        }
        Err(e) => error_response(&e),
    }
}

fn page_answer(nav: &Nav, path: &str) -> worker::Result<Response> {
    if let Nav::ErrorPage { status, reason, .. } = nav {
        worker::console_warn!("GET {path} -> {status} ({reason})");
    }
    nav_response(nav)
}

/// An error before or in the handler, in the handler's kind: a Japanese page for navigations,
/// the JSON error otherwise.
fn answer_error(handler: &Handler, path: &str, e: &ApiError) -> worker::Result<Response> {
    match handler {
        Handler::Page(_) => page_answer(
            &Nav::ErrorPage {
                status: e.status,
                reason: e.code,
                message_ja: e.message_ja.clone(),
            },
            path,
        ),
        Handler::Json(_) | Handler::Raw(_) => error_response(e),
    }
}
