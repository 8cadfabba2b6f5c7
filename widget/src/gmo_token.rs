//! GMO-PG token JS (トークン決済 v1): load `token.js`, `Multipayment.init(shopId)`, and
//! `Multipayment.getToken(card, callback)` as a future. The card object goes to GMO's script
//! and nowhere else.

use crate::js::{self, interop};
use wasm_bindgen_futures::JsFuture;

/// The card as GMO's token JS wants it (v1 keys are lower case).
pub struct CardInput {
    pub cardno: String,
    pub expire: String,
    pub securitycode: String,
    pub holdername: String,
}

/// Why no token came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// GMO's result code (`100`…`902`), mapped to fields by `kessai_core::gmo::token`.
    Code(String),
    /// The script could not be loaded or did not answer (within 30 s).
    Unavailable,
}

/// Injects `token.js` once per page and waits for it. After a failure the next call tries again.
pub async fn load(url: &str) -> Result<(), TokenError> {
    match JsFuture::from(interop::gmo_load(url)).await {
        Ok(v) if v.as_bool() == Some(true) => Ok(()),
        _ => Err(TokenError::Unavailable),
    }
}

/// Loads token.js if needed, `Multipayment.init(shopId)` and asks `Multipayment.getToken` for
/// one token (js/interop.js: a uniquely named global callback, removed afterwards).
pub async fn get_token(url: &str, shop_id: &str, card: &CardInput) -> Result<String, TokenError> {
    let answer = JsFuture::from(interop::gmo_token(
        url,
        shop_id,
        &card.cardno,
        &card.expire,
        &card.securitycode,
        &card.holdername,
    ))
    .await
    .map_err(|_| TokenError::Unavailable)?;
    match js::get_str(&answer, "code").unwrap_or_default().as_str() {
        "" => Err(TokenError::Unavailable),
        "000" => js::get_str(&answer, "token")
            .filter(|t| !t.is_empty())
            .ok_or(TokenError::Unavailable),
        code => Err(TokenError::Code(code.to_string())),
    }
}
