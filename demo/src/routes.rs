//! The storefront's routes: the shop's pages ([`crate::storefront`]) and the member pages
//! ([`crate::members`]) on one router over the shared state ([`crate::shop::Storefront`]). The
//! only module that knows both page modules, so they need not know each other.

use crate::member_cards;
use crate::member_subscriptions;
use crate::members;
use crate::shop::Storefront;
use crate::storefront;
use axum::Router;
use axum::routing::{get, post};

/// Every storefront route, with `shop` as the state.
pub fn router(shop: Storefront) -> Router {
    Router::new()
        .route("/", get(storefront::home))
        .route("/checkout", post(storefront::create_checkout))
        .route("/checkout/{order_id}", get(storefront::checkout_page))
        .route("/complete/{order_id}", get(storefront::complete_page))
        .route("/orders", get(storefront::orders_page))
        .route("/privacy", get(storefront::privacy_page))
        .route(
            "/login",
            get(members::login_page).post(members::login_submit),
        )
        .route(
            "/login/amazon",
            get(members::login_amazon_not_completed).post(members::login_amazon),
        )
        .route(
            "/register",
            get(members::register_page).post(members::register_submit),
        )
        .route("/mypage", get(members::mypage))
        .route(
            "/mypage/amazon/link",
            get(members::link_amazon_not_completed).post(members::link_amazon),
        )
        .route("/mypage/amazon/unlink", post(members::unlink_amazon))
        .route("/mypage/cards", get(member_cards::cards_page))
        .route("/mypage/cards/add", post(member_cards::start_add))
        .route("/mypage/cards/add/{payment}", get(member_cards::add_page))
        .route("/mypage/cards/added/{payment}", get(member_cards::added))
        .route(
            "/mypage/cards/{seq}/delete",
            post(member_cards::delete_card),
        )
        .route(
            "/mypage/cards/{seq}/default",
            post(member_cards::make_default),
        )
        .route(
            "/mypage/subscriptions",
            get(member_subscriptions::subscriptions_page).post(member_subscriptions::subscribe),
        )
        .route(
            "/mypage/subscriptions/checkout",
            post(member_subscriptions::checkout_sign_up),
        )
        .route(
            "/mypage/subscriptions/{id}/cancel",
            post(member_subscriptions::cancel),
        )
        .route("/logout", post(members::logout))
        .with_state(shop)
}

impl Storefront {
    /// The storefront as a router ([`router`]); kept as a method for callers of the old API.
    pub fn router(self) -> Router {
        router(self)
    }
}
