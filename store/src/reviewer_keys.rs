//! The `reviewer_keys` table: each reviewer account's ed25519 signing
//! keys, the public half in the clear (hosts trust it as that reviewer's)
//! and the private half sealed with the vault keyring. An account has at
//! most one key that is not retired.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A stored reviewer key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewerKeyRow {
    /// The key's id, as approvals and revocations name it.
    pub key_id: String,
    /// The reviewer account it belongs to.
    pub account_id: String,
    /// The verifying half, base64 of 32 bytes.
    pub public_key: String,
    /// The signing half, sealed with the vault keyring.
    pub sealed_private_key: String,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it was retired (Unix ms), if it was: it signs nothing after.
    pub retired_at: Option<i64>,
}

/// The queries on the `reviewer_keys` table.
#[derive(Debug, Clone, Copy)]
pub struct ReviewerKeys<'s> {
    store: &'s Store,
}

impl Store {
    /// The `reviewer_keys` table.
    pub fn reviewer_keys(&self) -> ReviewerKeys<'_> {
        ReviewerKeys { store: self }
    }
}

const COLUMNS: &str = "key_id, account_id, public_key, sealed_private_key, created_at, retired_at";

fn decode(row: &AnyRow) -> Result<ReviewerKeyRow, StoreError> {
    Ok(ReviewerKeyRow {
        key_id: row.try_get("key_id")?,
        account_id: row.try_get("account_id")?,
        public_key: row.try_get("public_key")?,
        sealed_private_key: row.try_get("sealed_private_key")?,
        created_at: row.try_get("created_at")?,
        retired_at: row.try_get("retired_at")?,
    })
}

impl ReviewerKeys<'_> {
    /// Store a new key (`retired_at` is ignored: a new key is active).
    /// Returns false, storing nothing, when the account already has an
    /// active key or the key id is taken: the unique indexes decide, so
    /// two first approvals racing on different hosts make one key.
    pub async fn insert(&self, row: &ReviewerKeyRow) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO reviewer_keys (key_id, account_id, public_key, sealed_private_key, \
             created_at, retired_at) VALUES ($1, $2, $3, $4, $5, NULL)",
        )
        .bind(&row.key_id)
        .bind(&row.account_id)
        .bind(&row.public_key)
        .bind(&row.sealed_private_key)
        .bind(row.created_at)
        .execute(self.store.pool())
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The account's key that is not retired, if it has one.
    pub async fn active(&self, account_id: &str) -> Result<Option<ReviewerKeyRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM reviewer_keys WHERE account_id = $1 AND retired_at IS NULL"
        ))
        .bind(account_id)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The key with this id, retired or not.
    pub async fn get(&self, key_id: &str) -> Result<Option<ReviewerKeyRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM reviewer_keys WHERE key_id = $1"
        ))
        .bind(key_id)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every key, retired ones too, oldest first: what hosts trust.
    pub async fn all(&self) -> Result<Vec<ReviewerKeyRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM reviewer_keys ORDER BY created_at, key_id"
        ))
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Retire the account's active key at `now` (it lost the reviewer
    /// role). Returns how many keys were retired (0 or 1).
    pub async fn retire(&self, account_id: &str, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE reviewer_keys SET retired_at = $2 \
             WHERE account_id = $1 AND retired_at IS NULL",
        )
        .bind(account_id)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
