//! kessai edge: a thin Cloudflare Worker, in rooms that read top-down (docs/architecture.md):
//!
//! - [`routes`]: the API's index (method, path → handler) and the checks applied to every
//!   request in one place (origin/CORS, authentication, body limit, `Idempotency-Key`);
//! - [`flows`]: one module per use case (card checkout, Amazon checkout, sign-in and links,
//!   operations, notifications, sweep), talking to gateways and the store;
//! - [`views`]: the JSON a payment is shown as;
//! - [`gateways`]: per gateway, how to talk (transport, signing) apart from what it means;
//! - [`store`]: D1, one file per table or aggregate (all SQL lives there);
//! - [`config`], [`http`], [`platform`]: the floor; nothing there imports anything above.
//!
//! Protocol rules and state machines come from `kessai-core`.

mod config;
mod flows;
mod gateways;
mod http;
mod platform;
mod routes;
mod store;
mod views;

use worker::{Context, Env, Request, Response, event};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    routes::serve(req, &env).await
}

/// The Cron Trigger (`[triggers]` in wrangler.toml): settles payments left with an open outcome.
#[event(scheduled)]
async fn scheduled(_event: worker::ScheduledEvent, env: Env, _ctx: worker::ScheduleContext) {
    flows::sweep::scheduled(&env).await
}
