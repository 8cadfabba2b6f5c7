//! The gateways, one folder each, as narrow interfaces for the flows. Per gateway, "how to talk"
//! (`transport`: encoding, signing, timeouts, the retries that are safe) is apart from "what it
//! means" (`meaning`: status and error mapping into kessai's errors; the rules themselves live in
//! `kessai_core`). A flow calls typed methods (`GmoClient::search_trade`,
//! `AmazonClient::get_charge`, …) and never builds an HTTP request itself.

pub mod amazon;
pub mod gmo;
pub mod merchant;
