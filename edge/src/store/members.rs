//! Members' Amazon side: `amazon_account_links` (a shop member ↔ an Amazon buyer, one each way,
//! UNIQUE in D1) and `amazon_signin_states` (the single-use state of a Sign in with Amazon button).

use super::db::{Store, d1, n, s};
use crate::http::ApiResult;
use serde::{Deserialize, Serialize};

/// A shop member's linked Amazon account.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct AccountLink {
    pub member_id: String,
    pub buyer_id: String,
    pub linked_at: i64,
}

impl Store<'_> {
    /// Records a sign-in button's state (single use, until `expires_at`).
    pub async fn insert_signin_state(
        &self,
        state: &str,
        return_url: &str,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> ApiResult<()> {
        // Expired rows are useless: each new button sweeps a few, so the table stays small
        // without a cron.
        let sweep = self.stmt(
            "DELETE FROM amazon_signin_states WHERE state IN \
               (SELECT state FROM amazon_signin_states WHERE expires_at < ?1 LIMIT 20)",
            &[n(now - 3_600_000)],
        )?;
        let insert = self.stmt(
            "INSERT INTO amazon_signin_states (state, return_url, nonce, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            &[s(state), s(return_url), s(nonce), n(now), n(expires_at)],
        )?;
        self.db.batch(vec![sweep, insert]).await.map_err(d1)?;
        Ok(())
    }

    /// Uses a sign-in state once: `Some((return_url, nonce))` only for the first use of a state
    /// that has not expired. The UPDATE is the compare-and-set, so two concurrent returns with
    /// the same state cannot both win.
    pub async fn consume_signin_state(
        &self,
        state: &str,
        now: i64,
    ) -> ApiResult<Option<(String, String)>> {
        #[derive(Deserialize)]
        struct Row {
            return_url: String,
            nonce: String,
        }
        let row: Option<Row> = self
            .first(
                "UPDATE amazon_signin_states SET used_at = ?2 \
                 WHERE state = ?1 AND used_at IS NULL AND expires_at > ?2 RETURNING return_url, nonce",
                &[s(state), n(now)],
            )
            .await?;
        Ok(row.map(|r| (r.return_url, r.nonce)))
    }

    pub async fn link_by_member(&self, member_id: &str) -> ApiResult<Option<AccountLink>> {
        self.first(
            "SELECT member_id, buyer_id, linked_at FROM amazon_account_links WHERE member_id = ?1",
            &[s(member_id)],
        )
        .await
    }

    pub async fn link_by_buyer(&self, buyer_id: &str) -> ApiResult<Option<AccountLink>> {
        self.first(
            "SELECT member_id, buyer_id, linked_at FROM amazon_account_links WHERE buyer_id = ?1",
            &[s(buyer_id)],
        )
        .await
    }

    /// Links `member_id` to `buyer_id` (replacing the member's earlier link). `Ok(false)` when
    /// the buyer is linked to another member: the UNIQUE index decides, so a race cannot link
    /// one Amazon account to two members.
    pub async fn upsert_link(&self, member_id: &str, buyer_id: &str, now: i64) -> ApiResult<bool> {
        let res = self
            .stmt(
                "INSERT INTO amazon_account_links (member_id, buyer_id, linked_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(member_id) DO UPDATE SET buyer_id = excluded.buyer_id, linked_at = excluded.linked_at \
                 WHERE amazon_account_links.buyer_id <> excluded.buyer_id",
                &[s(member_id), s(buyer_id), n(now)],
            )?
            .run()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.to_string().contains("UNIQUE") => Ok(false),
            Err(e) => Err(d1(e)),
        }
    }

    /// Removes a member's link; whether there was one.
    pub async fn delete_link(&self, member_id: &str) -> ApiResult<bool> {
        let changed = self
            .run(
                "DELETE FROM amazon_account_links WHERE member_id = ?1",
                &[s(member_id)],
            )
            .await?;
        Ok(changed > 0)
    }
}
