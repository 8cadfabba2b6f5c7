//! One small function per route of [`super::table`]: it takes what the request carries (path
//! parameters, query, body, caller) from the [`Call`] and hands it to a flow. No rule lives here.

use super::call::{Call, Handled};
use crate::flows::notifications::{amazon_ipn, gmo_result};
use crate::flows::operations::{bulk, force as force_flow, parse, run};
use crate::flows::{
    account_links, amazon_checkout, card_testing, checkout, console, payment_list, payments,
    signin, stored_cards, subscriptions, test_clock, three_d_secure_return,
};
use crate::http::{ApiError, ApiResult, Nav, Reply, json_response};
use crate::platform;
use crate::routes::auth::Caller;
use kessai_core::gmo::codec::{decode_form, get};
use serde_json::json;
use worker::Response;

type JsonAnswer<'a> = Handled<'a, ApiResult<Reply>>;
type PageAnswer<'a> = Handled<'a, ApiResult<Nav>>;
type RawAnswer<'a> = Handled<'a, worker::Result<Response>>;

pub fn health<'a>(_c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async { Ok(Reply::ok(json!({ "ok": true }))) })
}

pub fn freeze_clock<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        let view = test_clock::control(c.store, c.cfg, Some(c.text()?)).await?;
        Ok(Reply::ok(view))
    })
}

pub fn release_clock<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { Ok(Reply::ok(test_clock::control(c.store, c.cfg, None).await?)) })
}

pub fn create_payment<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { payments::create(c.store, c.cfg, c.text()?).await })
}

pub fn list_payments<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { payment_list::list(c.store, &c.query).await })
}

pub fn get_payment<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { payments::get(c.store, c.param(0)).await })
}

pub fn bulk_capture<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { bulk::bulk_capture(c.store, c.cfg, c.text()?, &c.caller.actor()).await })
}

/// One operation endpoint (`capture`, `amount`, `cancel`, `refund`) on the path's payment.
async fn operation(c: &Call<'_>, endpoint: &str) -> ApiResult<Reply> {
    let op = parse::parse_operation(endpoint, c.text()?)?;
    run::operate(c.store, c.cfg, c.param(0), op, &c.caller.actor()).await
}

pub fn capture<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(operation(c, "capture"))
}

pub fn change_amount<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(operation(c, "amount"))
}

pub fn cancel<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(operation(c, "cancel"))
}

pub fn refund<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(operation(c, "refund"))
}

pub fn reconcile<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { payments::reconcile(c.store, c.cfg, c.param(0)).await })
}

pub fn force<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        force_flow::force(c.store, c.cfg, c.param(0), c.text()?, &c.caller.actor()).await
    })
}

pub fn find_link<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        Ok(Reply::ok(
            account_links::find_link(c.store, c.query_param("buyer_id")).await?,
        ))
    })
}

pub fn get_link<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        Ok(Reply::ok(
            account_links::get_link(c.store, c.param(0)).await?,
        ))
    })
}

pub fn put_link<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        let link =
            account_links::put_link(c.store, c.cfg, c.amazon()?, c.param(0), &c.json()?).await?;
        Ok(Reply::ok(link))
    })
}

pub fn delete_link<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        account_links::delete_link(c.store, c.param(0)).await?;
        Ok(Reply::no_content())
    })
}

pub fn customer_cards<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        Ok(Reply::ok(
            stored_cards::merchant_list(c.store, c.cfg, c.param(0)).await?,
        ))
    })
}

pub fn delete_customer_card<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        let confirm_last = c.query_param("confirm_last") == "1";
        stored_cards::merchant_delete(c.store, c.cfg, c.param(0), c.param(1), confirm_last).await?;
        Ok(Reply::no_content())
    })
}

pub fn default_customer_card<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        Ok(Reply::ok(
            stored_cards::merchant_set_default(c.store, c.cfg, c.param(0), c.param(1)).await?,
        ))
    })
}

pub fn checkout_cards<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        Ok(Reply::ok(
            stored_cards::checkout_list(c.store, c.cfg, &c.payment()?).await?,
        ))
    })
}

pub fn checkout_view<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { checkout::view(c.store, c.cfg, c.payment()?).await })
}

pub fn pay_by_card<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        let ip = c.client_ip.as_deref();
        checkout::pay_by_card(c.store, c.cfg, c.payment()?, c.text()?, ip).await
    })
}

pub fn amazon_button<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        let (amazon, body) = (c.amazon()?, c.json()?);
        let signed =
            amazon_checkout::button::button(c.store, c.cfg, amazon, c.payment()?, &body).await?;
        Ok(Reply::ok(signed))
    })
}

pub fn signin_button<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        let signed = signin::button(c.store, c.cfg, c.amazon()?, &c.json()?).await?;
        Ok(Reply::ok(signed))
    })
}

pub fn amazon_review<'a>(c: &'a Call<'a>) -> PageAnswer<'a> {
    Box::pin(async move {
        let (payment, cs) = (
            c.query_param("payment"),
            c.query_param("amazonCheckoutSessionId"),
        );
        Ok(amazon_checkout::review::review(c.store, c.cfg, c.amazon()?, payment, cs).await)
    })
}

pub fn amazon_result<'a>(c: &'a Call<'a>) -> PageAnswer<'a> {
    Box::pin(async move {
        let (payment, cs) = (
            c.query_param("payment"),
            c.query_param("amazonCheckoutSessionId"),
        );
        Ok(amazon_checkout::result::result(c.store, c.cfg, c.amazon()?, payment, cs).await)
    })
}

/// The issuer's 3-D Secure page posts the form `AccessID=…` here (GMO CallbackType 1).
pub fn three_d_secure_return<'a>(c: &'a Call<'a>) -> PageAnswer<'a> {
    Box::pin(async move {
        let form = decode_form(&c.body).unwrap_or_default();
        let access_id = get(&form, "AccessID").unwrap_or("");
        Ok(three_d_secure_return::on_return(c.store, c.cfg, c.param(0), access_id).await)
    })
}

pub fn signin_return<'a>(c: &'a Call<'a>) -> PageAnswer<'a> {
    Box::pin(async move {
        let (state, token) = (c.query_param("state"), c.query_param("buyerToken"));
        Ok(signin::signin_return(c.store, c.cfg, c.amazon()?, state, token).await)
    })
}

pub fn amazon_ipn<'a>(c: &'a Call<'a>) -> RawAnswer<'a> {
    Box::pin(async move {
        let (status, body) = amazon_ipn::receive(c.store, c.cfg, &c.body).await;
        json_response(status, &body)
    })
}

pub fn gmo_notify<'a>(c: &'a Call<'a>) -> RawAnswer<'a> {
    Box::pin(async move { Response::ok(gmo_result::receive(c.store, c.cfg, &c.body).await) })
}

pub fn console_login<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        // A body that is not UTF-8 is refused as invalid JSON, after the configuration check.
        console::login(c.store, c.cfg, c.text().unwrap_or("")).await
    })
}

pub fn console_logout<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { console::logout(c.store, c.session_token.as_deref()).await })
}

pub fn console_me<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        match &c.caller {
            Caller::Operator(name) => Ok(Reply::ok(json!({ "operator": name }))),
            Caller::Merchant | Caller::Shopper(_) | Caller::Anonymous => Err(ApiError::new(
                401,
                "unauthorized",
                "missing or wrong API key, or no valid operator session",
                "ログインしてください。",
            )),
        }
    })
}

pub fn fraud_list<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { card_testing::list(c.store, c.cfg, platform::now().0).await })
}

pub fn fraud_unlock<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        card_testing::unlock(c.store, c.text()?, &c.caller.actor(), platform::now().0).await
    })
}

// 定期購入 (#15): card subscriptions.

pub fn create_subscription<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { subscriptions::create(c.store, c.cfg, c.text()?).await })
}

pub fn list_subscriptions<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { subscriptions::list_all(c.store, &c.query).await })
}

pub fn get_subscription<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { subscriptions::get(c.store, c.cfg, c.param(0)).await })
}

pub fn customer_subscriptions<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move { subscriptions::list(c.store, c.param(0)).await })
}

async fn change_subscription(c: &Call<'_>, what: subscriptions::Change) -> ApiResult<Reply> {
    subscriptions::change(c.store, c.cfg, c.param(0), what, &c.caller.actor()).await
}

pub fn update_subscription<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(async move {
        let body = c.text()?.to_string();
        change_subscription(c, subscriptions::Change::Update(body)).await
    })
}

pub fn pause_subscription<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(change_subscription(c, subscriptions::Change::Pause))
}

pub fn resume_subscription<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(change_subscription(c, subscriptions::Change::Resume))
}

pub fn retry_subscription<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(change_subscription(c, subscriptions::Change::Retry))
}

pub fn charge_subscription_now<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(change_subscription(c, subscriptions::Change::ChargeNow))
}

pub fn cancel_subscription<'a>(c: &'a Call<'a>) -> JsonAnswer<'a> {
    Box::pin(change_subscription(c, subscriptions::Change::Cancel))
}
