//! The `connections` table: one OAuth grant of one user for one provider,
//! with its tokens sealed by the vault, its status, and the refresh lease
//! that keeps exactly one refresh in flight per connection across every
//! process sharing the database.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

/// Whether a connection can be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// The grant works (or can be refreshed).
    Active,
    /// A refresh failed or the provider revoked the grant: the user must
    /// connect the account again.
    NeedsReauth,
}

impl ConnectionStatus {
    fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Active => "active",
            ConnectionStatus::NeedsReauth => "needs-reauth",
        }
    }

    fn parse(text: &str) -> Result<Self, StoreError> {
        match text {
            "active" => Ok(ConnectionStatus::Active),
            "needs-reauth" => Ok(ConnectionStatus::NeedsReauth),
            other => Err(StoreError::Query(sqlx::Error::Decode(
                format!("unknown connection status `{other}`").into(),
            ))),
        }
    }
}

/// A stored connection. Token fields hold sealed (encrypted) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionRow {
    /// The connection's id.
    pub id: String,
    /// The user who owns it.
    pub owner: String,
    /// The OAuth provider (`google`, `slack`, ...).
    pub provider: String,
    /// The account the grant belongs to, when known.
    pub account: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The sealed access token.
    pub access_token: String,
    /// The sealed refresh token, when the provider issued one.
    pub refresh_token: Option<String>,
    /// When the access token expires (Unix ms), when the provider said.
    pub expires_at: Option<i64>,
    /// Whether the connection can be used.
    pub status: ConnectionStatus,
    /// Why the connection needs re-authorisation, when it does.
    pub status_reason: Option<String>,
    /// Bumped every time the tokens change.
    pub token_version: i64,
    /// Who holds the refresh lease, if anyone.
    pub refresh_lease_owner: Option<String>,
    /// Until when the lease holds (Unix ms).
    pub refresh_lease_until: Option<i64>,
    /// Which associated data the tokens were sealed with: [`SEAL_BINDING`]
    /// for rows written by this version, 1 for rows sealed before the
    /// owner and provider were bound (the vault re-seals those).
    pub seal_binding: i64,
    /// When the connection was made (Unix ms).
    pub created_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

/// A connection to insert.
#[derive(Debug, Clone)]
pub struct NewConnection<'a> {
    /// The connection's id.
    pub id: &'a str,
    /// The user who owns it.
    pub owner: &'a str,
    /// The OAuth provider.
    pub provider: &'a str,
    /// The account, when known.
    pub account: Option<&'a str>,
    /// Granted scopes.
    pub scopes: &'a [String],
    /// The sealed access token.
    pub access_token: &'a str,
    /// The sealed refresh token.
    pub refresh_token: Option<&'a str>,
    /// When the access token expires (Unix ms).
    pub expires_at: Option<i64>,
    /// Now (Unix ms).
    pub now: i64,
}

/// Freshly refreshed tokens to store.
#[derive(Debug, Clone)]
pub struct RefreshedTokens<'a> {
    /// The new sealed access token.
    pub access_token: &'a str,
    /// The new sealed refresh token; `None` keeps the current one (providers
    /// that do not rotate refresh tokens).
    pub refresh_token: Option<&'a str>,
    /// When the new access token expires (Unix ms).
    pub expires_at: Option<i64>,
    /// Now (Unix ms).
    pub now: i64,
}

/// The seal binding every row written from now on carries: the tokens are
/// sealed with associated data naming the connection's id, owner and
/// provider (see the vault). Rows from before carry 1 (id only).
pub const SEAL_BINDING: i64 = 2;

/// One refresh attempt's hold on a connection's refresh lease: the token
/// that attempt wrote into the lease (unique per attempt, so two attempts of
/// one process never share a lease) and the token version it read. Every
/// write a refresher makes is fenced by both, so an attempt whose lease
/// lapsed and was taken over, or whose tokens someone else already
/// replaced, changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease<'a> {
    /// The attempt's lease token.
    pub token: &'a str,
    /// The token version the attempt read and leased.
    pub token_version: i64,
}

/// What a [`Connections::mark_needs_reauth`] is conditional on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fence<'a> {
    /// The caller's refresh attempt still holds the lease on the version it read.
    Lease(Lease<'a>),
    /// The tokens are still at this version (a grant with no refresh token,
    /// so nobody leases it).
    Version(i64),
}

/// The queries on the `connections` table.
#[derive(Debug, Clone, Copy)]
pub struct Connections<'s> {
    store: &'s Store,
}

impl Store {
    /// The `connections` table.
    pub fn connections(&self) -> Connections<'_> {
        Connections { store: self }
    }
}

const COLUMNS: &str = "id, owner, provider, account, scopes, access_token, refresh_token, \
     expires_at, status, status_reason, token_version, refresh_lease_owner, \
     refresh_lease_until, seal_binding, created_at, updated_at";

fn decode(row: &AnyRow) -> Result<ConnectionRow, StoreError> {
    let scopes: String = row.try_get("scopes")?;
    let status: String = row.try_get("status")?;
    Ok(ConnectionRow {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        provider: row.try_get("provider")?,
        account: row.try_get("account")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        access_token: row.try_get("access_token")?,
        refresh_token: row.try_get("refresh_token")?,
        expires_at: row.try_get("expires_at")?,
        status: ConnectionStatus::parse(&status)?,
        status_reason: row.try_get("status_reason")?,
        token_version: row.try_get("token_version")?,
        refresh_lease_owner: row.try_get("refresh_lease_owner")?,
        refresh_lease_until: row.try_get("refresh_lease_until")?,
        seal_binding: row.try_get("seal_binding")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Connections<'_> {
    /// Store a new, active connection.
    pub async fn insert(&self, new: &NewConnection<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO connections (id, owner, provider, account, scopes, access_token, \
             refresh_token, expires_at, status, token_version, seal_binding, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $11)",
        )
        .bind(new.id)
        .bind(new.owner)
        .bind(new.provider)
        .bind(new.account)
        .bind(new.scopes.join(" "))
        .bind(new.access_token)
        .bind(new.refresh_token)
        .bind(new.expires_at)
        .bind(ConnectionStatus::Active.as_str())
        .bind(SEAL_BINDING)
        .bind(new.now)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// The connection with this id.
    pub async fn get(&self, id: &str) -> Result<Option<ConnectionRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM connections WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The owner's newest connection for `provider`, whatever its status.
    pub async fn find(
        &self,
        owner: &str,
        provider: &str,
    ) -> Result<Option<ConnectionRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM connections WHERE owner = $1 AND provider = $2 \
             ORDER BY created_at DESC, id DESC LIMIT 1"
        ))
        .bind(owner)
        .bind(provider)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every connection of `owner` for `provider`, newest first.
    pub async fn for_provider(
        &self,
        owner: &str,
        provider: &str,
    ) -> Result<Vec<ConnectionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM connections WHERE owner = $1 AND provider = $2 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(owner)
        .bind(provider)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Every connection of `owner`, oldest first.
    pub async fn list(&self, owner: &str) -> Result<Vec<ConnectionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM connections WHERE owner = $1 ORDER BY created_at, id"
        ))
        .bind(owner)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Up to `limit` connections with ids after `after` (all owners), in
    /// id order: for walking the whole table (key rotation).
    pub async fn page(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ConnectionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM connections WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// Delete the connection and its tokens. Whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM connections WHERE id = $1")
            .bind(id)
            .execute(self.store.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Take the refresh lease for `lease`'s attempt until `until`, if the
    /// connection is active, its tokens are still at `lease.token_version`
    /// (no one refreshed them since the caller read them) and nobody holds
    /// an unexpired lease. One conditional UPDATE, so exactly one of any
    /// number of racing attempts wins. Whether this attempt got it.
    pub async fn try_lease(
        &self,
        id: &str,
        lease: Lease<'_>,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE connections SET refresh_lease_owner = $1, refresh_lease_until = $2 \
             WHERE id = $3 AND status = 'active' AND token_version = $4 \
             AND (refresh_lease_until IS NULL OR refresh_lease_until <= $5)",
        )
        .bind(lease.token)
        .bind(until)
        .bind(id)
        .bind(lease.token_version)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Store refreshed tokens (sealed with [`SEAL_BINDING`]) and release
    /// the lease, if `lease`'s attempt still holds it on the version it
    /// read. Whether the tokens were stored.
    pub async fn store_refreshed(
        &self,
        id: &str,
        lease: Lease<'_>,
        tokens: &RefreshedTokens<'_>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE connections SET access_token = $1, \
             refresh_token = COALESCE($2, refresh_token), expires_at = $3, \
             token_version = token_version + 1, refresh_lease_owner = NULL, \
             refresh_lease_until = NULL, seal_binding = $4, updated_at = $5 \
             WHERE id = $6 AND refresh_lease_owner = $7 AND token_version = $8",
        )
        .bind(tokens.access_token)
        .bind(tokens.refresh_token)
        .bind(tokens.expires_at)
        .bind(SEAL_BINDING)
        .bind(tokens.now)
        .bind(id)
        .bind(lease.token)
        .bind(lease.token_version)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Give the lease back without changing the tokens, if `lease`'s
    /// attempt still holds it. Whether it did.
    pub async fn release_lease(&self, id: &str, lease: Lease<'_>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE connections SET refresh_lease_owner = NULL, refresh_lease_until = NULL \
             WHERE id = $1 AND refresh_lease_owner = $2 AND token_version = $3",
        )
        .bind(id)
        .bind(lease.token)
        .bind(lease.token_version)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Mark the connection as needing the user to connect again, with the
    /// reason, and release the lease, if `fence` still holds: a refresher
    /// whose lease was taken over, or whose tokens were replaced since it
    /// read them, cannot kill a connection someone else just refreshed.
    /// Whether the connection was marked.
    pub async fn mark_needs_reauth(
        &self,
        id: &str,
        fence: Fence<'_>,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (sql, token_version, lease_token) = match fence {
            Fence::Lease(lease) => (
                "UPDATE connections SET status = $1, status_reason = $2, \
                 refresh_lease_owner = NULL, refresh_lease_until = NULL, updated_at = $3 \
                 WHERE id = $4 AND token_version = $5 AND refresh_lease_owner = $6",
                lease.token_version,
                Some(lease.token),
            ),
            Fence::Version(version) => (
                "UPDATE connections SET status = $1, status_reason = $2, \
                 refresh_lease_owner = NULL, refresh_lease_until = NULL, updated_at = $3 \
                 WHERE id = $4 AND token_version = $5",
                version,
                None,
            ),
        };
        let mut query = sqlx::query(sql)
            .bind(ConnectionStatus::NeedsReauth.as_str())
            .bind(reason)
            .bind(now)
            .bind(id)
            .bind(token_version);
        if let Some(token) = lease_token {
            query = query.bind(token);
        }
        let done = query.execute(self.store.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replace the sealed tokens (same plaintext, new key or the current
    /// [`SEAL_BINDING`]) if they have not changed since `token_version`.
    /// Whether they were replaced.
    pub async fn reseal(
        &self,
        id: &str,
        token_version: i64,
        access_token: &str,
        refresh_token: Option<&str>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE connections SET access_token = $1, refresh_token = $2, seal_binding = $3 \
             WHERE id = $4 AND token_version = $5",
        )
        .bind(access_token)
        .bind(refresh_token)
        .bind(SEAL_BINDING)
        .bind(id)
        .bind(token_version)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
