//! Amazon Pay Checkout v2 (CV2, Japan): the pure protocol code.
//!
//! Everything here is I/O-free and clock-free: the edge (WebCrypto signer, fetch) and the sandbox
//! (RSA-PSS verifier, axum) both build on it, so both sides compute the same canonical requests,
//! string-to-sign values and JSON payloads. Facts come from `shared/reference/amazon-pay.md`;
//! where that reference marks a fact unsure ([U]) the code says so.

pub mod assertion;
pub mod button;
pub mod errors;
pub mod ipn;
pub mod model;
pub mod request;
pub mod rules;
pub mod signing;
pub mod status;
