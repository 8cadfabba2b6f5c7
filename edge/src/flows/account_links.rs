//! Member ↔ Amazon account links (マイページ), for the merchant's server: link the Amazon account
//! of a verified sign-in assertion to a shop member, look a link up either way, unlink. One
//! Amazon account links to one member at most (D1's UNIQUE index decides a race).

use super::signin::{assertion_invalid, valid_buyer_id, verify_assertion};
use crate::config::{AmazonConfig, Config};
use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::Store;
use crate::store::members::AccountLink;
use kessai_core::amazon::assertion::AssertionError;
use kessai_core::jst::UnixMillis;
use serde_json::{Value, json};

fn valid_member_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn check_member_id(id: &str) -> ApiResult<()> {
    if valid_member_id(id) {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "member_id must be 1-64 characters of A-Z a-z 0-9 - _ .",
            "会員IDの形式が正しくありません。",
        )
        .with("param", "member_id"))
    }
}

fn link_view(l: &AccountLink) -> Value {
    json!({ "member_id": l.member_id, "buyer_id": l.buyer_id, "linked_at": l.linked_at })
}

fn no_link() -> ApiError {
    ApiError::new(
        404,
        "amazon_account_not_linked",
        "no Amazon account is linked",
        "Amazonアカウントは連携されていません。",
    )
}

/// `PUT /v1/amazon-pay/links/{member_id}` `{"assertion"}`.
pub async fn put_link(
    store: &Store<'_>,
    cfg: &Config,
    amazon: &AmazonConfig,
    member_id: &str,
    body: &Value,
) -> ApiResult<Value> {
    check_member_id(member_id)?;
    let jws = body
        .get("assertion")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    if jws.is_empty() {
        return Err(assertion_invalid(&AssertionError::Malformed));
    }
    let now = platform::now().0;
    let claims = verify_assertion(cfg, amazon, jws, UnixMillis(now)).await?;
    let buyer_id = claims.sub;
    let linked_elsewhere = || {
        ApiError::new(
            409,
            "amazon_account_linked_elsewhere",
            "this Amazon account is linked to another member",
            "このAmazonアカウントは既に別の会員と連携されています。",
        )
    };
    if let Some(existing) = store.link_by_buyer(&buyer_id).await?
        && existing.member_id != member_id
    {
        return Err(linked_elsewhere());
    }
    if !store.upsert_link(member_id, &buyer_id, now).await? {
        return Err(linked_elsewhere());
    }
    let link = store
        .link_by_member(member_id)
        .await?
        .ok_or_else(|| ApiError::internal("link vanished"))?;
    Ok(link_view(&link))
}

/// `DELETE /v1/amazon-pay/links/{member_id}`.
pub async fn delete_link(store: &Store<'_>, member_id: &str) -> ApiResult<()> {
    check_member_id(member_id)?;
    if store.delete_link(member_id).await? {
        Ok(())
    } else {
        Err(no_link())
    }
}

/// `GET /v1/amazon-pay/links/{member_id}`.
pub async fn get_link(store: &Store<'_>, member_id: &str) -> ApiResult<Value> {
    check_member_id(member_id)?;
    store
        .link_by_member(member_id)
        .await?
        .map(|l| link_view(&l))
        .ok_or_else(no_link)
}

/// `GET /v1/amazon-pay/links?buyer_id=`.
pub async fn find_link(store: &Store<'_>, buyer_id: &str) -> ApiResult<Value> {
    if !valid_buyer_id(buyer_id) {
        return Err(ApiError::bad_request(
            "buyer_id is required",
            "AmazonアカウントIDを指定してください。",
        )
        .with("param", "buyer_id"));
    }
    store
        .link_by_buyer(buyer_id)
        .await?
        .map(|l| link_view(&l))
        .ok_or_else(no_link)
}
