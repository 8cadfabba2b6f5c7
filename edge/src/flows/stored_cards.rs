//! Stored cards (会員カード, issue #14). GMO keeps the cards under a member (Site API); kessai
//! maps the shop's customer id to a MemberID of its own making, created on first use, and keeps
//! what GMO does not tell (the brand seen when saving). Cards are saved only from a finished
//! payment (TradedCard), so every stored card was authorised once — with 3-D Secure when the
//! shop runs it — which is what later merchant-initiated charges (#15) rely on.
//!
//! Who may see what: the merchant server (secret key) lists and deletes any customer's cards;
//! the widget (client secret) sees only the cards of its payment's customer, masked.

use crate::config::Config;
use crate::gateways::gmo::{CallError, GmoClient};
use crate::http::{ApiError, ApiResult};
use crate::platform;
use crate::store::customers::{CardNote, CustomerRow};
use crate::store::{PaymentRow, Store};
use kessai_core::gmo::api::Answer;
use kessai_core::gmo::errors::GmoErrors;
use kessai_core::gmo::site::{self, StoredCard};
use kessai_core::jst::UnixMillis;
use kessai_core::subscription::{PaymentSource, SubscriptionStatus};
use serde_json::{Value, json};

/// The brands the widget may report for a card it saves (`kessai_core::card::CardBrand`).
pub fn brand_ok(brand: &str) -> bool {
    matches!(
        brand,
        "visa" | "mastercard" | "jcb" | "amex" | "diners" | "discover"
    )
}

pub fn card_not_found() -> ApiError {
    ApiError::new(
        404,
        "card_not_found",
        "no such stored card for this customer",
        "指定されたカードが見つかりません。",
    )
}

pub fn card_expired() -> ApiError {
    ApiError::new(
        402,
        "card_expired",
        "the stored card has expired",
        "このカードは有効期限が切れています。別のカードをご利用ください。",
    )
    .with("retryable", true)
}

fn gateway_failed(e: Option<&GmoErrors>) -> ApiError {
    let mut err = ApiError::new(
        502,
        "gateway_error",
        "GMO's Site API could not be used; try again later",
        "カード情報を取得できませんでした。時間をおいて再度お試しください。",
    );
    if let Some(e) = e {
        err = err.with("gateway", json!({ "err_info": e.joined().1 }));
    }
    err
}

/// The customer's GMO member, created (kessai's MemberID, then SaveMember) when `create`.
/// `None`: the customer has no member yet and `create` was false.
pub async fn member(
    store: &Store<'_>,
    cfg: &Config,
    customer_id: &str,
    create: bool,
) -> ApiResult<Option<CustomerRow>> {
    cfg.stored_cards()?;
    let row = match store.customer(customer_id).await? {
        Some(row) => row,
        None if create => {
            let hex = platform::random_hex(12).ok_or_else(|| ApiError::internal("random"))?;
            store
                .ensure_customer(customer_id, &format!("km-{hex}"), platform::now().0)
                .await?
                .ok_or_else(|| ApiError::internal("customer vanished"))?
        }
        None => return Ok(None),
    };
    if row.member_saved == 1 || !create {
        return Ok(Some(row));
    }
    match GmoClient::new(cfg).save_member(&row.gmo_member_id).await {
        Ok(Answer::Ok(_)) => {}
        // An earlier SaveMember went through but its answer was lost.
        Ok(Answer::Err(e)) if e.contains(site::MEMBER_EXISTS) => {}
        Ok(Answer::Err(e)) => return Err(gateway_failed(Some(&e))),
        Err(_) => return Err(gateway_failed(None)),
    }
    store.mark_member_saved(customer_id).await?;
    Ok(Some(CustomerRow {
        member_saved: 1,
        ..row
    }))
}

/// The member's live cards at GMO (deleted ones left out); none for a member GMO never saw.
async fn gmo_cards(cfg: &Config, member: &CustomerRow) -> ApiResult<Vec<StoredCard>> {
    if member.member_saved != 1 {
        return Ok(Vec::new());
    }
    match GmoClient::new(cfg)
        .search_cards(&member.gmo_member_id)
        .await
    {
        Ok(Answer::Ok(cards)) => Ok(cards.into_iter().filter(|c| !c.deleted).collect()),
        // [U] A member without cards: GMO's answer is not documented; either code means none.
        Ok(Answer::Err(e))
            if e.contains(site::CARD_NOT_FOUND) || e.contains(site::MEMBER_NOT_FOUND) =>
        {
            Ok(Vec::new())
        }
        Ok(Answer::Err(e)) => Err(gateway_failed(Some(&e))),
        Err(CallError::NotSent(_) | CallError::NoAnswer(_) | CallError::Unreadable(_)) => {
            Err(gateway_failed(None))
        }
    }
}

/// One card as the API shows it: masked, never more than GMO shows.
fn card_view(card: &StoredCard, notes: &[CardNote], now: UnixMillis) -> Value {
    let jst = now.to_jst();
    let note = notes
        .iter()
        .find(|n| n.card_seq == i64::from(card.card_seq));
    let expire = site::expire_month(&card.expire)
        .map(|(y, m)| format!("{m:02}/{:02}", y % 100))
        .unwrap_or_default();
    json!({
        "card_seq": card.card_seq,
        "brand": note.and_then(|n| n.brand.clone()),
        "last_digits": card.last_digits(),
        "masked": card.masked,
        "expire": expire,
        "expired": card.expired(jst.year, jst.month),
        "default": card.default,
        "three_d_secure": note.is_some_and(|n| n.three_d_secure == 1),
    })
}

/// The shop's chosen default (`default_card_seq`) in place of GMO's DefaultFlag while that card
/// exists; otherwise GMO's flag stands.
fn with_chosen_default(mut cards: Vec<StoredCard>, member: &CustomerRow) -> Vec<StoredCard> {
    let chosen = member
        .default_card_seq
        .filter(|seq| cards.iter().any(|c| i64::from(c.card_seq) == *seq));
    if let Some(seq) = chosen {
        for c in &mut cards {
            c.default = i64::from(c.card_seq) == seq;
        }
    }
    cards
}

/// The customer's cards, the default first, then by CardSeq.
async fn list(store: &Store<'_>, cfg: &Config, customer_id: &str) -> ApiResult<Vec<Value>> {
    let Some(member) = member(store, cfg, customer_id, false).await? else {
        return Ok(Vec::new());
    };
    let mut cards = with_chosen_default(gmo_cards(cfg, &member).await?, &member);
    cards.sort_by_key(|c| (!c.default, c.card_seq));
    let notes = store.card_notes(customer_id).await?;
    let now = platform::now();
    Ok(cards.iter().map(|c| card_view(c, &notes, now)).collect())
}

/// The stored card `card_seq` of the payment's customer, checked before ExecTran: it exists
/// and has not expired (GMO would refuse it less clearly). Returns the GMO MemberID.
pub async fn usable_card(
    store: &Store<'_>,
    cfg: &Config,
    customer_id: &str,
    card_seq: u32,
) -> ApiResult<String> {
    let member = member(store, cfg, customer_id, false)
        .await?
        .ok_or_else(card_not_found)?;
    let cards = gmo_cards(cfg, &member).await?;
    let card = cards
        .iter()
        .find(|c| c.card_seq == card_seq)
        .ok_or_else(card_not_found)?;
    let jst = platform::now().to_jst();
    if card.expired(jst.year, jst.month) {
        return Err(card_expired());
    }
    Ok(member.gmo_member_id)
}

/// `DELETE /v1/customers/{customer}/cards/{card_seq}` (logical delete at GMO). The customer's
/// last card goes only with `confirm_last` (the shop's マイページ asks first): without a card,
/// the next order must be typed in again and no 定期購入 can be charged.
async fn delete(
    store: &Store<'_>,
    cfg: &Config,
    customer_id: &str,
    card_seq: &str,
    confirm_last: bool,
) -> ApiResult<()> {
    let card_seq: u32 = card_seq.parse().map_err(|_| card_not_found())?;
    let member = member(store, cfg, customer_id, false)
        .await?
        .filter(|m| m.member_saved == 1)
        .ok_or_else(card_not_found)?;
    let live = gmo_cards(cfg, &member).await?;
    if !live.iter().any(|c| c.card_seq == card_seq) {
        return Err(card_not_found());
    }
    if card_in_use(store, customer_id, card_seq).await? {
        return Err(ApiError::new(
            409,
            "card_in_use",
            "this card pays a subscription; change or cancel the subscription first",
            "このカードは定期購入のお支払いに使われているため削除できません。定期購入のお支払い方法を変更するか、解約してから削除してください。",
        ));
    }
    if live.len() == 1 && !confirm_last {
        return Err(ApiError::new(
            409,
            "last_card",
            "this is the customer's last stored card; send confirm_last=1 to delete it anyway",
            "最後の登録カードです。削除すると、次回のお支払いや定期購入で登録カードを使えなくなります。",
        ));
    }
    match GmoClient::new(cfg)
        .delete_card(&member.gmo_member_id, card_seq)
        .await
    {
        Ok(Answer::Ok(())) => {}
        Ok(Answer::Err(e))
            if e.contains(site::CARD_NOT_FOUND) || e.contains(site::MEMBER_NOT_FOUND) =>
        {
            return Err(card_not_found());
        }
        Ok(Answer::Err(e)) => return Err(gateway_failed(Some(&e))),
        // A lost answer: the delete may have happened; a retry answers 404 then.
        Err(_) => return Err(gateway_failed(None)),
    }
    store.forget_card(customer_id, i64::from(card_seq)).await?;
    worker::console_log!("customer card {card_seq} deleted");
    Ok(())
}

/// After a paid attempt whose shopper ticked 「このカードを登録する」: TradedCard stores the
/// transaction's card for the customer. The payment stands whatever happens here; the answer
/// says whether the card was saved (`card_saved` / `card_save_error` in the card POST's body).
pub async fn save_after_payment(
    store: &Store<'_>,
    cfg: &Config,
    row: &PaymentRow,
    three_d_secure: bool,
) -> Option<Value> {
    let customer_id = row.customer_id.as_deref()?;
    if row.save_card != 1 || row.saved_card_seq.is_some() {
        return None;
    }
    let now = platform::now().0;
    match save(store, cfg, row, customer_id, three_d_secure, now).await {
        Ok(saved) => Some(json!({ "card_saved": saved })),
        Err(e) => {
            worker::console_warn!("payment {}: card not saved: {}", row.id, e.code);
            let detail = json!({ "code": e.code, "gateway": e.extra.get("gateway") });
            if let Err(n) = store
                .note_event(&row.id, now, "card_save_failed", &detail)
                .await
            {
                worker::console_error!("payment {}: event not written: {}", row.id, n.code);
            }
            Some(json!({ "card_save_error": {
                "code": e.code,
                "message": e.message,
                "message_ja": "お支払いは完了しましたが、カードを登録できませんでした。",
            }}))
        }
    }
}

async fn save(
    store: &Store<'_>,
    cfg: &Config,
    row: &PaymentRow,
    customer_id: &str,
    three_d_secure: bool,
    now: i64,
) -> ApiResult<Value> {
    let member = member(store, cfg, customer_id, true)
        .await?
        .ok_or_else(|| ApiError::internal("member vanished"))?;
    // The first card becomes the default (the one later charges use).
    let first = gmo_cards(cfg, &member).await?.is_empty();
    let saved = match GmoClient::new(cfg)
        .traded_card(&row.gmo_order_id, &member.gmo_member_id, first)
        .await
    {
        Ok(Answer::Ok(saved)) => saved,
        Ok(Answer::Err(e)) if e.contains(site::TOO_MANY_CARDS) => {
            return Err(ApiError::new(
                409,
                "too_many_cards",
                "the customer has as many stored cards as GMO allows",
                "登録できるカードの上限に達しています。不要なカードを削除してください。",
            )
            .with("gateway", json!({ "err_info": e.joined().1 })));
        }
        Ok(Answer::Err(e)) => return Err(gateway_failed(Some(&e))),
        Err(_) => return Err(gateway_failed(None)),
    };
    let card_seq = i64::from(saved.card_seq);
    store
        .record_saved_card(
            customer_id,
            card_seq,
            row.save_card_brand.as_deref(),
            &row.id,
            three_d_secure,
            now,
        )
        .await?;
    let detail = json!({ "card_seq": card_seq, "masked": saved.masked, "default": first, "three_d_secure": three_d_secure });
    store
        .note_event(&row.id, now, "card_saved", &detail)
        .await?;
    Ok(
        json!({ "card_seq": card_seq, "last_digits": saved.masked.trim_start_matches('*'), "default": first }),
    )
}

/// The customer id of a path (`/v1/customers/{customer}/…`): 404 when it cannot be one.
fn path_customer(customer_id: &str) -> ApiResult<&str> {
    if super::payments::customer_id_ok(customer_id) {
        Ok(customer_id)
    } else {
        Err(card_not_found())
    }
}

/// `GET /v1/customers/{customer}/cards` (merchant): the customer's cards.
pub async fn merchant_list(store: &Store<'_>, cfg: &Config, customer_id: &str) -> ApiResult<Value> {
    let customer_id = path_customer(customer_id)?;
    let cards = list(store, cfg, customer_id).await?;
    Ok(json!({ "customer": customer_id, "cards": cards }))
}

/// `DELETE /v1/customers/{customer}/cards/{card_seq}` (merchant).
pub async fn merchant_delete(
    store: &Store<'_>,
    cfg: &Config,
    customer_id: &str,
    card_seq: &str,
    confirm_last: bool,
) -> ApiResult<()> {
    delete(
        store,
        cfg,
        path_customer(customer_id)?,
        card_seq,
        confirm_last,
    )
    .await
}

/// `PUT /v1/customers/{customer}/cards/{card_seq}/default` (merchant): the card kessai's views
/// put first and its charges use. Answers the list.
pub async fn merchant_set_default(
    store: &Store<'_>,
    cfg: &Config,
    customer_id: &str,
    card_seq: &str,
) -> ApiResult<Value> {
    let customer_id = path_customer(customer_id)?;
    let card_seq: u32 = card_seq.parse().map_err(|_| card_not_found())?;
    let member = member(store, cfg, customer_id, false)
        .await?
        .ok_or_else(card_not_found)?;
    if !gmo_cards(cfg, &member)
        .await?
        .iter()
        .any(|c| c.card_seq == card_seq)
    {
        return Err(card_not_found());
    }
    store
        .set_default_card(customer_id, i64::from(card_seq))
        .await?;
    merchant_list(store, cfg, customer_id).await
}

/// `GET /v1/checkout/{id}/cards` (widget, client secret): the cards of this payment's customer
/// only; none for a payment without a customer or a shop without stored cards.
pub async fn checkout_list(store: &Store<'_>, cfg: &Config, row: &PaymentRow) -> ApiResult<Value> {
    let cards = match (&row.customer_id, &cfg.site) {
        (Some(customer_id), Some(_)) => list(store, cfg, customer_id).await?,
        (None, _) | (_, None) => Vec::new(),
    };
    Ok(json!({ "cards": cards }))
}

/// Whether the customer's stored card `card_seq` pays a subscription that is not cancelled: it
/// must not be deleted (the delete refuses with 409 `card_in_use`).
pub async fn card_in_use(store: &Store<'_>, customer_id: &str, card_seq: u32) -> ApiResult<bool> {
    let rows = store.subscriptions_of(customer_id).await?;
    for row in rows {
        let sub = row.subscription()?;
        let live = match sub.status {
            SubscriptionStatus::Active
            | SubscriptionStatus::Paused
            | SubscriptionStatus::Unpaid => true,
            SubscriptionStatus::Cancelled => false,
        };
        let same_card = match &sub.source {
            PaymentSource::GmoCard { card_seq: seq, .. } => *seq == card_seq,
            PaymentSource::AmazonChargePermission { .. } => false,
        };
        if live && same_card {
            return Ok(true);
        }
    }
    Ok(false)
}
