//! The API's index: every (method, path) the edge answers, who may call it, how large a body it
//! takes, whether an `Idempotency-Key` replays it, and its handler. Paths are matched segment by
//! segment; `{name}` takes one segment. The first matching row wins (so `/v1/payments/bulk/…`
//! stands before `/v1/payments/{id}/…`). docs/api.md documents the same rows.

use super::auth::Access;
use super::call::{Handler, Idempotent};
use super::handlers::*;
use worker::Method;

/// No body is read.
pub const NO_BODY: usize = 0;
/// JSON request bodies (the largest, a bulk capture of 100 ids, is under 4 kB).
pub const JSON_BODY: usize = 64 * 1024;
/// SNS envelopes are at most 256 KB; Amazon Pay's are tiny.
pub const IPN_BODY: usize = 64 * 1024;
/// GMO 結果通知 forms are a few hundred bytes.
pub const GMO_NOTIFY_BODY: usize = 16 * 1024;

pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    /// Needs Amazon Pay switched on (404 `amazon_pay_disabled` otherwise).
    pub amazon_pay: bool,
    pub max_body: usize,
    pub idempotent: Idempotent,
    pub handler: Handler,
}

const fn route(
    method: Method,
    path: &'static str,
    access: Access,
    max_body: usize,
    handler: Handler,
) -> Route {
    Route {
        method,
        path,
        access,
        amazon_pay: false,
        max_body,
        idempotent: Idempotent::No,
        handler,
    }
}

const fn amazon(mut r: Route) -> Route {
    r.amazon_pay = true;
    r
}

const fn keyed(mut r: Route, idempotent: Idempotent) -> Route {
    r.idempotent = idempotent;
    r
}

use Access::*;
use Handler::{Json, Page, Raw};
use Idempotent::{Body, PathAndBody};
use Method::{Delete, Get, Post, Put};

#[rustfmt::skip]
pub static ROUTES: [Route; 44] = [
    route(Get,    "/health",                                Public,             NO_BODY,    Json(health)),
    // Merchant API (server to server) and the operator console.
    keyed(route(Post, "/v1/payments",                       MerchantOrOperator, JSON_BODY,  Json(create_payment)), Body),
    route(Get,    "/v1/payments",                           MerchantOrOperator, NO_BODY,    Json(list_payments)),
    keyed(route(Post, "/v1/payments/bulk/capture",          MerchantOrOperator, JSON_BODY,  Json(bulk_capture)), PathAndBody),
    route(Get,    "/v1/payments/{id}",                      MerchantOrOperator, NO_BODY,    Json(get_payment)),
    keyed(route(Post, "/v1/payments/{id}/capture",          MerchantOrOperator, JSON_BODY,  Json(capture)), PathAndBody),
    keyed(route(Post, "/v1/payments/{id}/amount",           MerchantOrOperator, JSON_BODY,  Json(change_amount)), PathAndBody),
    keyed(route(Post, "/v1/payments/{id}/cancel",           MerchantOrOperator, JSON_BODY,  Json(cancel)), PathAndBody),
    keyed(route(Post, "/v1/payments/{id}/refund",           MerchantOrOperator, JSON_BODY,  Json(refund)), PathAndBody),
    route(Post,   "/v1/payments/{id}/reconcile",            MerchantOrOperator, NO_BODY,    Json(reconcile)),
    route(Post,   "/v1/payments/{id}/force",                MerchantOrOperator, JSON_BODY,  Json(force)),
    amazon(route(Get,    "/v1/amazon-pay/links",            MerchantOrOperator, NO_BODY,    Json(find_link))),
    amazon(route(Get,    "/v1/amazon-pay/links/{member}",   MerchantOrOperator, NO_BODY,    Json(get_link))),
    amazon(route(Put,    "/v1/amazon-pay/links/{member}",   MerchantOrOperator, JSON_BODY,  Json(put_link))),
    amazon(route(Delete, "/v1/amazon-pay/links/{member}",   MerchantOrOperator, NO_BODY,    Json(delete_link))),
    // Stored cards (会員カード, #14): the merchant server manages its customers' cards.
    route(Get,    "/v1/customers/{customer}/cards",         MerchantOrOperator, NO_BODY,    Json(customer_cards)),
    route(Delete, "/v1/customers/{customer}/cards/{seq}",   MerchantOrOperator, NO_BODY,    Json(delete_customer_card)),
    route(Put,    "/v1/customers/{customer}/cards/{seq}/default", MerchantOrOperator, NO_BODY, Json(default_customer_card)),
    // 定期購入 (#15): card and Amazon Pay subscriptions, charged by the Cron Trigger.
    keyed(route(Post, "/v1/subscriptions",                  MerchantOrOperator, JSON_BODY,  Json(create_subscription)), Body),
    route(Get,    "/v1/subscriptions",                      MerchantOrOperator, NO_BODY,    Json(list_subscriptions)),
    route(Get,    "/v1/subscriptions/{id}",                 MerchantOrOperator, NO_BODY,    Json(get_subscription)),
    keyed(route(Post, "/v1/subscriptions/{id}",             MerchantOrOperator, JSON_BODY,  Json(update_subscription)), PathAndBody),
    keyed(route(Post, "/v1/subscriptions/{id}/pause",       MerchantOrOperator, NO_BODY,    Json(pause_subscription)), PathAndBody),
    keyed(route(Post, "/v1/subscriptions/{id}/resume",      MerchantOrOperator, NO_BODY,    Json(resume_subscription)), PathAndBody),
    keyed(route(Post, "/v1/subscriptions/{id}/cancel",      MerchantOrOperator, NO_BODY,    Json(cancel_subscription)), PathAndBody),
    keyed(route(Post, "/v1/subscriptions/{id}/retry",       MerchantOrOperator, NO_BODY,    Json(retry_subscription)), PathAndBody),
    keyed(route(Post, "/v1/subscriptions/{id}/charge-now",  MerchantOrOperator, NO_BODY,    Json(charge_subscription_now)), PathAndBody),
    route(Get,    "/v1/customers/{customer}/subscriptions", MerchantOrOperator, NO_BODY,    Json(customer_subscriptions)),
    // Widget API (storefront pages, client secret).
    route(Get,    "/v1/checkout/{id}",                      Checkout,           NO_BODY,    Json(checkout_view)),
    route(Get,    "/v1/checkout/{id}/cards",                Checkout,           NO_BODY,    Json(checkout_cards)),
    route(Post,   "/v1/checkout/{id}/card",                 Checkout,           JSON_BODY,  Json(pay_by_card)),
    amazon(route(Post, "/v1/checkout/{id}/amazon-pay/button", Checkout,         JSON_BODY,  Json(amazon_button))),
    amazon(route(Post, "/v1/amazon-pay/signin-button",      Storefront,         JSON_BODY,  Json(signin_button))),
    // Navigations: Amazon, or the card issuer's 3-D Secure page, sends the shopper's browser here.
    amazon(route(Get, "/v1/amazon-pay/review",              Navigation,         NO_BODY,    Page(amazon_review))),
    amazon(route(Get, "/v1/amazon-pay/result",              Navigation,         NO_BODY,    Page(amazon_result))),
    route(Post,   "/v1/checkout/{id}/3ds/return",           Navigation,         GMO_NOTIFY_BODY, Page(three_d_secure_return)),
    amazon(route(Get, "/v1/amazon-pay/signin/return",       Navigation,         NO_BODY,    Page(signin_return))),
    // Gateway notifications (their own verification and answers).
    route(Post,   "/api/amazonpay2/ipn.php",                Gateway,            IPN_BODY,   Raw(amazon_ipn)),
    route(Post,   "/v1/notify/gmo",                         Gateway,            GMO_NOTIFY_BODY, Raw(gmo_notify)),
    // The console's own session API (answers may set the session cookie).
    route(Post,   "/console/api/login",                     Public,             JSON_BODY,  Json(console_login)),
    route(Post,   "/console/api/logout",                    MerchantOrOperator, NO_BODY,    Json(console_logout)),
    route(Get,    "/console/api/me",                        MerchantOrOperator, NO_BODY,    Json(console_me)),
    // 不正検知 (card testing, #13): locked payments and IPs, and the operator's 解除.
    route(Get,    "/console/api/fraud",                     MerchantOrOperator, NO_BODY,    Json(fraud_list)),
    route(Post,   "/console/api/fraud/unlock",              MerchantOrOperator, JSON_BODY,  Json(fraud_unlock)),
];

/// Test controls (only with `TEST_CLOCK=on`; the handler answers 404 otherwise).
#[rustfmt::skip]
pub static TEST_ROUTES: [Route; 2] = [
    route(Put,    "/v1/test/clock",                         Merchant,           JSON_BODY,  Json(freeze_clock)),
    route(Delete, "/v1/test/clock",                         Merchant,           NO_BODY,    Json(release_clock)),
];

/// The path's `{…}` segments if `path` matches `pattern`.
pub fn match_path(pattern: &str, path: &str) -> Option<Vec<String>> {
    let mut want = pattern.trim_matches('/').split('/');
    let mut got = path.trim_matches('/').split('/');
    let mut params = Vec::new();
    loop {
        match (want.next(), got.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(g)) if w.starts_with('{') && !g.is_empty() => params.push(g.to_string()),
            (Some(w), Some(g)) if w == g => {}
            _ => return None,
        }
    }
}

/// Every route, the test controls last.
pub fn all() -> impl Iterator<Item = &'static Route> {
    ROUTES.iter().chain(TEST_ROUTES.iter())
}

/// The route for `method` and `path`, with its path parameters.
pub fn find(method: &Method, path: &str) -> Option<(&'static Route, Vec<String>)> {
    all()
        .filter(|r| r.method == *method)
        .find_map(|r| match_path(r.path, path).map(|p| (r, p)))
}

/// Whether storefront pages may call `path` (any method): CORS and the origin rule apply.
pub fn cross_origin(path: &str) -> bool {
    all().any(|r| r.access.cross_origin() && match_path(r.path, path).is_some())
}
