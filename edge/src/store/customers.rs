//! `customers` and `customer_cards` (stored cards, #14): which GMO member is which of the shop's
//! customers, and what kessai knows of their cards beyond GMO's SearchCard (the brand the widget
//! saw, the payment it was saved from, whether that payment was 3-D Secure-authenticated). GMO
//! stays the source of truth for which cards exist.

use super::db::{Store, n, opt, s};
use crate::http::ApiResult;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct CustomerRow {
    pub gmo_member_id: String,
    pub member_saved: i64,
    /// The default card the shop chose (`PUT …/cards/{seq}/default`); `None`: GMO's DefaultFlag.
    #[serde(default)]
    pub default_card_seq: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CardNote {
    pub card_seq: i64,
    pub brand: Option<String>,
    pub three_d_secure: i64,
}

impl Store<'_> {
    pub async fn customer(&self, customer_id: &str) -> ApiResult<Option<CustomerRow>> {
        self.first(
            "SELECT gmo_member_id, member_saved, default_card_seq FROM customers WHERE customer_id = ?1",
            &[s(customer_id)],
        )
        .await
    }

    /// The customer's row, created with `gmo_member_id` unless it exists (a concurrent first
    /// use keeps the row that won).
    pub async fn ensure_customer(
        &self,
        customer_id: &str,
        gmo_member_id: &str,
        now: i64,
    ) -> ApiResult<Option<CustomerRow>> {
        // One round trip (#17): the insert and the read of the row that won, in one batch.
        let insert = self.stmt(
            "INSERT INTO customers (customer_id, gmo_member_id, created_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT(customer_id) DO NOTHING",
            &[s(customer_id), s(gmo_member_id), n(now)],
        )?;
        let read = self.stmt(
            "SELECT gmo_member_id, member_saved, default_card_seq FROM customers WHERE customer_id = ?1",
            &[s(customer_id)],
        )?;
        self.batch_last_first(vec![insert, read]).await
    }

    pub async fn set_default_card(&self, customer_id: &str, card_seq: i64) -> ApiResult<()> {
        self.run(
            "UPDATE customers SET default_card_seq = ?2 WHERE customer_id = ?1",
            &[s(customer_id), n(card_seq)],
        )
        .await?;
        Ok(())
    }

    pub async fn mark_member_saved(&self, customer_id: &str) -> ApiResult<()> {
        self.run(
            "UPDATE customers SET member_saved = 1 WHERE customer_id = ?1",
            &[s(customer_id)],
        )
        .await?;
        Ok(())
    }

    pub async fn card_notes(&self, customer_id: &str) -> ApiResult<Vec<CardNote>> {
        self.all(
            "SELECT card_seq, brand, three_d_secure FROM customer_cards WHERE customer_id = ?1",
            &[s(customer_id)],
        )
        .await
    }

    /// Records a card saved from `payment_id`, and the payment's `saved_card_seq`.
    pub async fn record_saved_card(
        &self,
        customer_id: &str,
        card_seq: i64,
        brand: Option<&str>,
        payment_id: &str,
        three_d_secure: bool,
        now: i64,
    ) -> ApiResult<()> {
        let card = self.stmt(
            "INSERT INTO customer_cards (customer_id, card_seq, brand, payment_id, three_d_secure, saved_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(customer_id, card_seq) DO UPDATE SET \
             brand = excluded.brand, payment_id = excluded.payment_id, three_d_secure = excluded.three_d_secure, saved_at = excluded.saved_at",
            &[s(customer_id), n(card_seq), opt(brand), s(payment_id), n(i64::from(three_d_secure)), n(now)],
        )?;
        let payment = self.stmt(
            "UPDATE payments SET saved_card_seq = ?2 WHERE id = ?1",
            &[s(payment_id), n(card_seq)],
        )?;
        self.db
            .batch(vec![card, payment])
            .await
            .map_err(super::db::d1)?;
        Ok(())
    }

    pub async fn forget_card(&self, customer_id: &str, card_seq: i64) -> ApiResult<()> {
        self.run(
            "DELETE FROM customer_cards WHERE customer_id = ?1 AND card_seq = ?2",
            &[s(customer_id), n(card_seq)],
        )
        .await?;
        Ok(())
    }
}
