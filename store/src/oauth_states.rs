//! The `oauth_states` table: authorization requests in flight, each
//! consumed exactly once by the provider's callback.

use sqlx::Row as _;

use crate::{Store, StoreError};

/// One pending authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthStateRow {
    /// SHA-256 of the `state` value, hex.
    pub state_hash: String,
    /// The user connecting an account.
    pub owner: String,
    /// The provider.
    pub provider: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Where the provider sends the user back.
    pub redirect_uri: String,
    /// The sealed PKCE code verifier.
    pub pkce_verifier: String,
    /// When the request stops being accepted (Unix ms).
    pub expires_at: i64,
    /// When it was made (Unix ms).
    pub created_at: i64,
}

/// The queries on the `oauth_states` table.
#[derive(Debug, Clone, Copy)]
pub struct OAuthStates<'s> {
    store: &'s Store,
}

impl Store {
    /// The `oauth_states` table.
    pub fn oauth_states(&self) -> OAuthStates<'_> {
        OAuthStates { store: self }
    }
}

impl OAuthStates<'_> {
    /// Remember a new authorization request.
    pub async fn insert(&self, row: &OAuthStateRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO oauth_states (state_hash, owner, provider, scopes, redirect_uri, \
             pkce_verifier, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&row.state_hash)
        .bind(&row.owner)
        .bind(&row.provider)
        .bind(row.scopes.join(" "))
        .bind(&row.redirect_uri)
        .bind(&row.pkce_verifier)
        .bind(row.expires_at)
        .bind(row.created_at)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Remove and return the request with this state hash: a state can be
    /// taken once, even by callbacks racing on different hosts.
    pub async fn take(&self, state_hash: &str) -> Result<Option<OAuthStateRow>, StoreError> {
        let row = sqlx::query(
            "DELETE FROM oauth_states WHERE state_hash = $1 RETURNING state_hash, owner, \
             provider, scopes, redirect_uri, pkce_verifier, expires_at, created_at",
        )
        .bind(state_hash)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let scopes: String = row.try_get("scopes")?;
        Ok(Some(OAuthStateRow {
            state_hash: row.try_get("state_hash")?,
            owner: row.try_get("owner")?,
            provider: row.try_get("provider")?,
            scopes: scopes.split_whitespace().map(str::to_string).collect(),
            redirect_uri: row.try_get("redirect_uri")?,
            pkce_verifier: row.try_get("pkce_verifier")?,
            expires_at: row.try_get("expires_at")?,
            created_at: row.try_get("created_at")?,
        }))
    }

    /// Forget requests that expired before `now`. How many.
    pub async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM oauth_states WHERE expires_at < $1")
            .bind(now)
            .execute(self.store.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
