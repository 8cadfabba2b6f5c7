//! The demo: a small Japanese storefront that embeds the kessai widget, and [`stack::Stack`],
//! which runs the GMO sandbox, the edge worker under `wrangler dev` (workerd + local D1) and the
//! storefront together. The end-to-end tests start the same stack.
//!
//! Layering (each module imports only the ones below it):
//! `stack` → `routes` → `storefront`, `member_cards`, `member_subscriptions` → `members` → `shop`
//! → `member_store`; `html` is used by the page modules; `operator` (console logins) by `stack`;
//! `args` (the demo's command line, used by `main.rs`) only reads `stack::repo_root`.

pub mod args;
mod html;
mod member_cards;
mod member_store;
mod member_subscriptions;
pub mod members;
pub mod operator;
mod routes;
mod shop;
pub mod stack;
pub mod storefront;
mod webhook_inbox;
