//! The `api_tokens` table: the tokens accounts make for scripts and other
//! programs, each stored as its SHA-256 (the token itself is shown once,
//! at creation, and never stored) with its scopes, expiry and revocation.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A stored API token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// The token's id.
    pub id: String,
    /// The account it acts for.
    pub account_id: String,
    /// The name its owner gave it.
    pub name: String,
    /// Its first characters, in the clear, so its owner can tell tokens
    /// apart.
    pub prefix: String,
    /// SHA-256 of the token, hex; unique.
    pub token_hash: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it stops being accepted (Unix ms); `None` for never.
    pub expires_at: Option<i64>,
    /// When it was last used (Unix ms), to within the touch gap.
    pub last_used_at: Option<i64>,
    /// When it was revoked (Unix ms), if it was.
    pub revoked_at: Option<i64>,
}

/// The queries on the `api_tokens` table.
#[derive(Debug, Clone, Copy)]
pub struct ApiTokens<'s> {
    store: &'s Store,
}

impl Store {
    /// The `api_tokens` table.
    pub fn api_tokens(&self) -> ApiTokens<'_> {
        ApiTokens { store: self }
    }
}

const COLUMNS: &str = "id, account_id, name, prefix, token_hash, scopes, created_at, \
     expires_at, last_used_at, revoked_at";

fn decode(row: &AnyRow) -> Result<ApiTokenRow, StoreError> {
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiTokenRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        prefix: row.try_get("prefix")?,
        token_hash: row.try_get("token_hash")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl ApiTokens<'_> {
    /// Store a new token.
    pub async fn insert(&self, row: &ApiTokenRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, account_id, name, prefix, token_hash, scopes, \
             created_at, expires_at, last_used_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&row.id)
        .bind(&row.account_id)
        .bind(&row.name)
        .bind(&row.prefix)
        .bind(&row.token_hash)
        .bind(row.scopes.join(" "))
        .bind(row.created_at)
        .bind(row.expires_at)
        .bind(row.last_used_at)
        .bind(row.revoked_at)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// The token with this hash if not revoked and not expired at `now`
    /// (`expires_at` NULL = never).
    pub async fn live(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<ApiTokenRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        ))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The account's tokens (revoked ones included), newest first.
    pub async fn list(&self, account_id: &str) -> Result<Vec<ApiTokenRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE account_id = $1 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(account_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Revoke the account's token `id`; false when it is not that
    /// account's or already revoked. The account is part of the `WHERE`
    /// clause, so one account can never revoke another's token.
    pub async fn revoke(&self, account_id: &str, id: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 \
             WHERE account_id = $1 AND id = $2 AND revoked_at IS NULL",
        )
        .bind(account_id)
        .bind(id)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Set `last_used_at = now` only when it is NULL or older than `now -
    /// min_gap_ms`, so a busy token writes at most once per gap. Whether it
    /// wrote.
    pub async fn touch(&self, id: &str, now: i64, min_gap_ms: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET last_used_at = $2 \
             WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(id)
        .bind(now)
        .bind(now.saturating_sub(min_gap_ms))
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
