//! kessai-core: the pure part of kessai.
//!
//! Nothing here does I/O, reads a clock or talks to a network: callers pass the time in
//! ([`jst::UnixMillis`]) and carry the bytes. That keeps every rule unit- and property-testable
//! on the host and lets the same code run in the edge worker, the widget and the sandbox.

pub mod access;
pub mod amazon;
pub mod card;
pub mod console;
pub mod der;
pub mod gmo;
pub mod jst;
pub mod money;
pub mod operations;
pub mod payment;
pub mod sns;
pub mod subscription;
pub mod text;
