//! The console's operators: `console_sessions` (a session token is kept only as its SHA-256)
//! and `console_login_failures` (the per-name lockout window). Operators themselves are a
//! secret (`CONSOLE_OPERATORS`), not a table.

use super::db::{Store, d1, n, opt_n, s};
use crate::http::{ApiError, ApiResult};
use crate::platform;
use kessai_core::console::LoginFailures;
use serde::Deserialize;

/// What D1 keeps of a session token: its SHA-256 (hex).
async fn token_hash(token: &str) -> ApiResult<String> {
    platform::sha256_hex(token.as_bytes())
        .await
        .ok_or_else(|| ApiError::internal("sha256"))
}

impl Store<'_> {
    /// The operator of a live session, if `token` is one.
    pub async fn session_operator(&self, token: &str, now: i64) -> ApiResult<Option<String>> {
        // Tokens are 64 hex characters; anything else cannot be one (and is not hashed).
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        #[derive(Deserialize)]
        struct Row {
            operator: String,
        }
        let hash = token_hash(token).await?;
        let row: Option<Row> = self
            .first(
                "SELECT operator FROM console_sessions WHERE token_hash = ?1 AND expires_at > ?2",
                &[s(&hash), n(now)],
            )
            .await?;
        Ok(row.map(|r| r.operator))
    }

    /// Starts a session for `name` (after a good password): clears its failures and sweeps
    /// expired sessions in the same batch.
    pub async fn start_session(
        &self,
        token: &str,
        name: &str,
        now: i64,
        expires_at: i64,
    ) -> ApiResult<()> {
        let hash = token_hash(token).await?;
        let sweep = self.stmt(
            "DELETE FROM console_sessions WHERE expires_at < ?1",
            &[n(now)],
        )?;
        let clear = self.stmt(
            "DELETE FROM console_login_failures WHERE name = ?1",
            &[s(name)],
        )?;
        let insert = self.stmt(
            "INSERT INTO console_sessions (token_hash, operator, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            &[s(&hash), s(name), n(now), n(expires_at)],
        )?;
        self.db
            .batch(vec![sweep, clear, insert])
            .await
            .map_err(d1)?;
        Ok(())
    }

    pub async fn end_session(&self, token: &str) -> ApiResult<()> {
        let hash = token_hash(token).await?;
        self.run(
            "DELETE FROM console_sessions WHERE token_hash = ?1",
            &[s(&hash)],
        )
        .await?;
        Ok(())
    }

    /// The failed logins counted for `name` (none recorded: the default).
    pub async fn login_failures(&self, name: &str) -> ApiResult<LoginFailures> {
        #[derive(Deserialize)]
        struct Row {
            count: i64,
            window_start: i64,
            locked_until: Option<i64>,
        }
        let row: Option<Row> = self
            .first(
                "SELECT count, window_start, locked_until FROM console_login_failures WHERE name = ?1",
                &[s(name)],
            )
            .await?;
        Ok(row
            .map(|r| LoginFailures {
                count: r.count,
                window_start: r.window_start,
                locked_until: r.locked_until,
            })
            .unwrap_or_default())
    }

    pub async fn save_login_failures(&self, name: &str, f: &LoginFailures) -> ApiResult<()> {
        self.run(
            "INSERT INTO console_login_failures (name, count, window_start, locked_until) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT(name) DO UPDATE SET count = excluded.count, window_start = excluded.window_start, \
             locked_until = excluded.locked_until",
            &[s(name), n(f.count), n(f.window_start), opt_n(f.locked_until)],
        )
        .await?;
        Ok(())
    }
}
