//! The demo: a small Japanese storefront that embeds the kessai widget, and [`stack::Stack`],
//! which runs the GMO sandbox, the edge worker under `wrangler dev` (workerd + local D1) and the
//! storefront together. The end-to-end tests start the same stack.

pub mod members;
pub mod operator;
pub mod stack;
pub mod storefront;
