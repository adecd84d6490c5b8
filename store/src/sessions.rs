//! The `sessions` table: signed-in browsers, each keyed by the SHA-256 of
//! its opaque session id (the id itself is never stored), with a sliding
//! expiry and revocation.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// SHA-256 of the session id, hex.
    pub id_hash: String,
    /// The account signed in.
    pub account_id: String,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it stops being accepted (Unix ms), unless slid forward.
    pub expires_at: i64,
    /// When it was last slid forward (Unix ms).
    pub last_seen_at: i64,
    /// When it was revoked (Unix ms), if it was.
    pub revoked_at: Option<i64>,
}

/// The queries on the `sessions` table.
#[derive(Debug, Clone, Copy)]
pub struct Sessions<'s> {
    store: &'s Store,
}

impl Store {
    /// The `sessions` table.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions { store: self }
    }
}

const COLUMNS: &str = "id_hash, account_id, created_at, expires_at, last_seen_at, revoked_at";

fn decode(row: &AnyRow) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id_hash: row.try_get("id_hash")?,
        account_id: row.try_get("account_id")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

impl Sessions<'_> {
    /// Store a new session.
    pub async fn insert(&self, row: &SessionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, account_id, created_at, expires_at, last_seen_at, \
             revoked_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&row.id_hash)
        .bind(&row.account_id)
        .bind(row.created_at)
        .bind(row.expires_at)
        .bind(row.last_seen_at)
        .bind(row.revoked_at)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// The session if it exists, is not revoked and expires after `now`.
    pub async fn live(&self, id_hash: &str, now: i64) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sessions \
             WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > $2"
        ))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Slide the expiry: sets `last_seen_at = now` and `expires_at =
    /// new_expires_at`, only for a live session and only when
    /// `last_seen_at < now - min_gap_ms` (so a busy session writes at most
    /// once per gap). Returns whether it wrote.
    pub async fn touch(
        &self,
        id_hash: &str,
        now: i64,
        new_expires_at: i64,
        min_gap_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET last_seen_at = $2, expires_at = $3 \
             WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > $2 \
             AND last_seen_at < $4",
        )
        .bind(id_hash)
        .bind(now)
        .bind(new_expires_at)
        .bind(now.saturating_sub(min_gap_ms))
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revoke one session (sign-out). Returns whether a live one was
    /// revoked.
    pub async fn revoke(&self, id_hash: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $2 \
             WHERE id_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(id_hash)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revoke every live session of an account except `keep` (an
    /// `id_hash`), e.g. after a password change, so only the browser that
    /// made the change stays signed in. Returns how many.
    pub async fn revoke_all(
        &self,
        account_id: &str,
        keep: Option<&str>,
        now: i64,
    ) -> Result<u64, StoreError> {
        const LIVE: &str = "UPDATE sessions SET revoked_at = $2 \
             WHERE account_id = $1 AND revoked_at IS NULL AND expires_at > $2";
        let done = match keep {
            Some(keep) => {
                sqlx::query(&format!("{LIVE} AND id_hash <> $3"))
                    .bind(account_id)
                    .bind(now)
                    .bind(keep)
                    .execute(self.store.pool())
                    .await?
            }
            None => {
                sqlx::query(LIVE)
                    .bind(account_id)
                    .bind(now)
                    .execute(self.store.pool())
                    .await?
            }
        };
        Ok(done.rows_affected())
    }

    /// Delete sessions that expired or were revoked before `before`. How
    /// many.
    pub async fn purge(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1")
            .bind(before)
            .execute(self.store.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
