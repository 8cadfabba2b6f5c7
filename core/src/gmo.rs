//! GMO Payment Gateway, protocol ("idPass") type.
//!
//! "How to talk" lives in [`codec`] (CP932 form bodies, the raw `key=value` answers and the
//! ExecTran special parse) and [`api`] (request parameters and typed answers); "what it means"
//! lives in [`errors`] (ErrInfo → category and shopper message) and [`status`] (which operation a
//! transaction status allows). See `../shared/reference/gmo-pg.md` for the sources; facts marked
//! [U] there are marked "unsure" in comments here.

pub mod api;
pub mod codec;
pub mod errors;
pub mod installments;
pub mod notification;
pub mod risk;
pub mod site;
pub mod status;
pub mod tds2;
pub mod token;
