//! The token vault: users' OAuth grants, sealed at rest, refreshed before
//! they expire and after a provider rejects them, with exactly one refresh
//! in flight per connection across every host sharing the store.
//!
//! The refresh protocol: read the row; if the access token is fresh, use
//! it. Otherwise take the connection's refresh lease, a conditional UPDATE
//! that succeeds for one caller only and only if the tokens are still the
//! version that caller read, call the provider, and store the new tokens
//! (which releases the lease). Everyone else polls the row until the token
//! version moves or the lease lapses (a crashed holder), so N executions
//! racing on N hosts cause one call to the token endpoint. A refresh the
//! provider refuses marks the connection as needing re-authorisation, and
//! every execution that needs it ends with `auth-expired` and that reason.

pub mod credentials;
pub mod keyring;

use std::sync::Arc;
use std::time::Duration;

use workway_store::connections::{ConnectionRow, ConnectionStatus, NewConnection, RefreshedTokens};
use workway_store::{Store, StoreError};

use crate::capabilities::ConnectionInfo;
use crate::capabilities::egress::Egress;
use crate::oauth::providers::ProviderRegistry;
use crate::oauth::token::{self, TokenError, TokenSet, now_ms};
use crate::secret::Secret;
pub use keyring::{Keyring, KeyringError};

/// Timing of refreshes.
#[derive(Debug, Clone)]
pub struct VaultSettings {
    /// Refresh an access token this long before it expires.
    pub refresh_skew: Duration,
    /// How long a refresh lease holds; a holder that dies frees the
    /// connection after this.
    pub lease: Duration,
    /// How soon a caller waiting for another's refresh first looks again;
    /// the wait grows by half each time up to `poll_max`, so waiters see
    /// a quick refresh quickly without hammering the store during a slow one.
    pub poll_min: Duration,
    /// The longest wait between looks.
    pub poll_max: Duration,
}

impl Default for VaultSettings {
    fn default() -> Self {
        VaultSettings {
            refresh_skew: Duration::from_secs(60),
            lease: Duration::from_secs(30),
            poll_min: Duration::from_millis(5),
            poll_max: Duration::from_millis(50),
        }
    }
}

/// Why the vault could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key is missing or a sealed value is damaged.
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// No connection has this id (it was deleted).
    #[error("connection {0} does not exist (it was deleted); connect the account again")]
    NotFound(String),
    /// The connection cannot be used until the user authorises again.
    #[error("the {provider} connection needs re-authorisation: {reason}")]
    NeedsReauth {
        /// The provider.
        provider: String,
        /// Why.
        reason: String,
    },
    /// The provider is not one the platform knows.
    #[error("unknown OAuth provider `{0}`")]
    UnknownProvider(String),
    /// Refreshing failed for a reason that may pass (the token endpoint is
    /// down).
    #[error("cannot refresh the {provider} connection right now: {reason}")]
    RefreshUnavailable {
        /// The provider.
        provider: String,
        /// Why.
        reason: String,
    },
}

/// What happened at the provider when a connection was disconnected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderRevocation {
    /// The provider revoked the grant (or it was already dead).
    Revoked,
    /// The provider has no revocation endpoint: the user removes the
    /// integration on the provider's side.
    NotSupported,
    /// The provider could not be reached or refused; the local tokens are
    /// gone regardless.
    Failed(String),
}

/// A disconnected connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disconnected {
    /// Its provider.
    pub provider: String,
    /// What the provider said.
    pub at_provider: ProviderRevocation,
}

/// Non-secret facts about a stored connection, for users and operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionSummary {
    /// What the guest may learn.
    pub info: ConnectionInfo,
    /// The owning user.
    pub owner: String,
    /// Whether it can be used.
    pub status: ConnectionStatus,
    /// Why not, when it cannot.
    pub status_reason: Option<String>,
    /// When the access token expires (Unix ms), when known.
    pub expires_at: Option<i64>,
}

fn info_of(row: &ConnectionRow) -> ConnectionInfo {
    ConnectionInfo {
        id: row.id.clone(),
        provider: row.provider.clone(),
        account: row.account.clone(),
        scopes: row.scopes.clone(),
    }
}

fn summary_of(row: &ConnectionRow) -> ConnectionSummary {
    ConnectionSummary {
        info: info_of(row),
        owner: row.owner.clone(),
        status: row.status,
        status_reason: row.status_reason.clone(),
        expires_at: row.expires_at,
    }
}

fn access_context(id: &str) -> String {
    format!("connection:{id}:access")
}

fn refresh_context(id: &str) -> String {
    format!("connection:{id}:refresh")
}

/// The vault. One per process; share it with `Arc`.
pub struct Vault {
    store: Store,
    keyring: Arc<Keyring>,
    providers: Arc<ProviderRegistry>,
    egress: Arc<Egress>,
    settings: VaultSettings,
    /// This vault's name as a lease holder: unique per process.
    holder: String,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("keyring", &self.keyring)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A vault over `store`, sealing with `keyring`, refreshing through
    /// `providers`' token endpoints reached with `egress`.
    pub fn new(
        store: Store,
        keyring: Arc<Keyring>,
        providers: Arc<ProviderRegistry>,
        egress: Arc<Egress>,
    ) -> Self {
        Vault {
            store,
            keyring,
            providers,
            egress,
            settings: VaultSettings::default(),
            holder: format!("vault-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The same vault with other refresh timings.
    pub fn with_settings(mut self, settings: VaultSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The providers this vault refreshes with.
    pub fn providers(&self) -> &ProviderRegistry {
        &self.providers
    }

    /// The keyring.
    pub(crate) fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The egress used for token endpoints.
    pub(crate) fn egress(&self) -> &Egress {
        &self.egress
    }

    /// Store a new grant of `owner` for `provider` and return its handle.
    pub async fn save(
        &self,
        owner: &str,
        provider: &str,
        scopes: &[String],
        tokens: &TokenSet,
    ) -> Result<ConnectionInfo, VaultError> {
        if self.providers.get(provider).is_none() {
            return Err(VaultError::UnknownProvider(provider.to_string()));
        }
        let id = uuid::Uuid::new_v4().to_string();
        let (access, refresh) =
            self.seal_tokens(&id, &tokens.access_token, tokens.refresh_token.as_ref())?;
        let scopes = tokens.scopes.clone().unwrap_or_else(|| scopes.to_vec());
        self.store
            .connections()
            .insert(&NewConnection {
                id: &id,
                owner,
                provider,
                account: tokens.account.as_deref(),
                scopes: &scopes,
                access_token: &access,
                refresh_token: refresh.as_deref(),
                expires_at: tokens.expires_at,
                now: now_ms(),
            })
            .await?;
        tracing::info!(connection = %id, owner, provider, "connection saved");
        Ok(ConnectionInfo {
            id,
            provider: provider.to_string(),
            account: tokens.account.clone(),
            scopes,
        })
    }

    /// The connection with this id, without secrets.
    pub async fn get(&self, id: &str) -> Result<Option<ConnectionSummary>, VaultError> {
        Ok(self
            .store
            .connections()
            .get(id)
            .await?
            .as_ref()
            .map(summary_of))
    }

    /// The newest connection of `owner` for `provider`, without secrets.
    pub async fn find(
        &self,
        owner: &str,
        provider: &str,
    ) -> Result<Option<ConnectionSummary>, VaultError> {
        Ok(self
            .store
            .connections()
            .find(owner, provider)
            .await?
            .as_ref()
            .map(summary_of))
    }

    /// Every connection of `owner`, without secrets.
    pub async fn list(&self, owner: &str) -> Result<Vec<ConnectionSummary>, VaultError> {
        Ok(self
            .store
            .connections()
            .list(owner)
            .await?
            .iter()
            .map(summary_of)
            .collect())
    }

    /// Disconnect: delete the connection and its sealed tokens here, then
    /// revoke the grant at the provider (best effort: the local erasure
    /// never depends on the provider answering). `None` when no such
    /// connection exists.
    pub async fn disconnect(&self, id: &str) -> Result<Option<Disconnected>, VaultError> {
        let Some(row) = self.store.connections().get(id).await? else {
            return Ok(None);
        };
        // Open the tokens before the row goes; a damaged row is still deleted.
        let access = self.open_access(&row);
        let refresh = row
            .refresh_token
            .as_ref()
            .map(|r| self.keyring.open(r, &refresh_context(id)))
            .transpose()
            .map_err(VaultError::from);
        if !self.delete(id).await? {
            return Ok(None);
        }
        let at_provider = match (self.providers.get(&row.provider), access, refresh) {
            (None, _, _) => ProviderRevocation::NotSupported,
            (Some(_), Err(e), _) | (Some(_), _, Err(e)) => {
                ProviderRevocation::Failed(e.to_string())
            }
            (Some(provider), Ok(access), Ok(refresh)) => {
                match token::revoke(
                    &self.egress,
                    provider,
                    &access,
                    refresh.as_ref(),
                    row.account.as_deref(),
                )
                .await
                {
                    Ok(token::Revoked::Yes) => ProviderRevocation::Revoked,
                    Ok(token::Revoked::NotSupported) => ProviderRevocation::NotSupported,
                    Err(e) => ProviderRevocation::Failed(e.to_string()),
                }
            }
        };
        if let ProviderRevocation::Failed(reason) = &at_provider {
            tracing::warn!(connection = %id, provider = %row.provider, "the provider did not confirm the revocation: {reason}");
        }
        Ok(Some(Disconnected {
            provider: row.provider,
            at_provider,
        }))
    }

    /// Delete a connection and its sealed tokens, without telling the
    /// provider (the grant is already dead there). Whether it existed.
    pub async fn delete(&self, id: &str) -> Result<bool, VaultError> {
        let deleted = self.store.connections().delete(id).await?;
        if deleted {
            tracing::info!(connection = %id, "connection deleted");
        }
        Ok(deleted)
    }

    async fn row(&self, id: &str) -> Result<ConnectionRow, VaultError> {
        let row = self
            .store
            .connections()
            .get(id)
            .await?
            .ok_or_else(|| VaultError::NotFound(id.to_string()))?;
        if row.status == ConnectionStatus::NeedsReauth {
            return Err(VaultError::NeedsReauth {
                provider: row.provider,
                reason: row.status_reason.unwrap_or_else(|| "unknown".into()),
            });
        }
        Ok(row)
    }

    /// Seal connection `id`'s access and refresh tokens for storage.
    fn seal_tokens(
        &self,
        id: &str,
        access: &Secret,
        refresh: Option<&Secret>,
    ) -> Result<(String, Option<String>), KeyringError> {
        let access = self.keyring.seal(access.expose(), &access_context(id))?;
        let refresh = refresh
            .map(|r| self.keyring.seal(r.expose(), &refresh_context(id)))
            .transpose()?;
        Ok((access, refresh))
    }

    fn open_access(&self, row: &ConnectionRow) -> Result<Secret, VaultError> {
        Ok(self
            .keyring
            .open(&row.access_token, &access_context(&row.id))?)
    }

    /// Whether the access token is good for a while yet. The margin is
    /// the configured skew, but at most half the token's lifetime, so a
    /// provider issuing tokens shorter than the skew does not make every
    /// use a refresh.
    fn fresh(&self, row: &ConnectionRow, now: i64) -> bool {
        let skew = i64::try_from(self.settings.refresh_skew.as_millis()).unwrap_or(i64::MAX);
        row.expires_at.is_none_or(|at| {
            let lifetime = at.saturating_sub(row.updated_at).max(0);
            at.saturating_sub(skew.min(lifetime / 2)) > now
        })
    }

    /// A usable access token for connection `id`: the stored one while it
    /// is fresh, otherwise a refreshed one (one refresh cluster-wide).
    pub async fn access_token(&self, id: &str) -> Result<Secret, VaultError> {
        self.token(id, None).await
    }

    /// The provider rejected `rejected` (HTTP 401): refresh unless someone
    /// already replaced that token, and return the token to use now, or
    /// `None` when the grant has no refresh token.
    pub async fn token_rejected(
        &self,
        id: &str,
        rejected: &Secret,
    ) -> Result<Option<Secret>, VaultError> {
        let row = self.row(id).await?;
        if row.refresh_token.is_none() {
            return Ok(None);
        }
        self.token(id, Some(rejected)).await.map(Some)
    }

    /// The refresh loop behind [`Vault::access_token`] and
    /// [`Vault::token_rejected`]: `rejected` forces a refresh while the
    /// stored token is still that one.
    async fn token(&self, id: &str, rejected: Option<&Secret>) -> Result<Secret, VaultError> {
        let lease_ms = i64::try_from(self.settings.lease.as_millis()).unwrap_or(i64::MAX);
        let mut poll = self.settings.poll_min;
        loop {
            let row = self.row(id).await?;
            let current = self.open_access(&row)?;
            let now = now_ms();
            let stale = rejected.is_some_and(|r| *r == current);
            if !stale && self.fresh(&row, now) {
                return Ok(current);
            }
            let Some(sealed_refresh) = &row.refresh_token else {
                if row.expires_at.is_some_and(|at| at <= now) {
                    let reason =
                        "the access token expired and the provider issued no refresh token";
                    self.store
                        .connections()
                        .mark_needs_reauth(id, reason, now)
                        .await?;
                    return Err(VaultError::NeedsReauth {
                        provider: row.provider,
                        reason: reason.into(),
                    });
                }
                return Ok(current);
            };
            let leased = self
                .store
                .connections()
                .try_lease(
                    id,
                    &self.holder,
                    row.token_version,
                    now,
                    now.saturating_add(lease_ms),
                )
                .await?;
            if !leased {
                // Another process is refreshing (or just did): wait for the
                // row to change, then look again.
                tokio::time::sleep(poll).await;
                poll = (poll * 3 / 2).min(self.settings.poll_max);
                continue;
            }
            let refresh_token = self.keyring.open(sealed_refresh, &refresh_context(id))?;
            return self.refresh_leased(&row, &refresh_token, current).await;
        }
    }

    /// Call the token endpoint while holding the lease, and store the
    /// outcome.
    async fn refresh_leased(
        &self,
        row: &ConnectionRow,
        refresh_token: &Secret,
        current: Secret,
    ) -> Result<Secret, VaultError> {
        let connections = self.store.connections();
        let provider = match self.providers.get(&row.provider) {
            Some(p) => p,
            None => {
                connections.release_lease(&row.id, &self.holder).await?;
                return Err(VaultError::UnknownProvider(row.provider.clone()));
            }
        };
        tracing::info!(connection = %row.id, provider = %row.provider, "refreshing connection");
        match token::refresh(&self.egress, provider, refresh_token).await {
            Ok(tokens) => {
                let (access, refresh) =
                    self.seal_tokens(&row.id, &tokens.access_token, tokens.refresh_token.as_ref())?;
                let stored = connections
                    .store_refreshed(
                        &row.id,
                        &self.holder,
                        &RefreshedTokens {
                            access_token: &access,
                            refresh_token: refresh.as_deref(),
                            expires_at: tokens.expires_at,
                            now: now_ms(),
                        },
                    )
                    .await?;
                if !stored {
                    if connections.get(&row.id).await?.is_none() {
                        // Deleted while we refreshed: the grant is gone,
                        // and so is any use of it.
                        return Err(VaultError::NotFound(row.id.clone()));
                    }
                    // The lease lapsed and someone else took over; their
                    // tokens win, but ours are valid too.
                    tracing::warn!(connection = %row.id, "refresh lease lapsed before the new tokens were stored");
                }
                Ok(tokens.access_token)
            }
            Err(error @ TokenError::Rejected { .. })
            | Err(error @ TokenError::NotConfigured(_)) => {
                let reason = format!("refreshing failed: {error}");
                connections
                    .mark_needs_reauth(&row.id, &reason, now_ms())
                    .await?;
                tracing::warn!(connection = %row.id, "{reason}");
                Err(VaultError::NeedsReauth {
                    provider: row.provider.clone(),
                    reason,
                })
            }
            Err(TokenError::Unavailable { provider, reason }) => {
                connections.release_lease(&row.id, &self.holder).await?;
                if row.expires_at.is_some_and(|at| at > now_ms()) {
                    // Not expired yet: keep using it and refresh next time.
                    return Ok(current);
                }
                Err(VaultError::RefreshUnavailable { provider, reason })
            }
        }
    }

    /// Re-seal every stored token under the active key, so older keys can
    /// be removed from the configuration. Returns how many connections were
    /// re-sealed.
    pub async fn rotate_keys(&self) -> Result<u64, VaultError> {
        let connections = self.store.connections();
        let active = self.keyring.active_id().to_string();
        let mut after: Option<String> = None;
        let mut resealed = 0;
        loop {
            let page = connections.page(after.as_deref(), 200).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            for row in &page {
                let current = Keyring::key_id_of(&row.access_token) == Some(active.as_str())
                    && row
                        .refresh_token
                        .as_deref()
                        .is_none_or(|r| Keyring::key_id_of(r) == Some(active.as_str()));
                if current {
                    continue;
                }
                let refresh = row
                    .refresh_token
                    .as_ref()
                    .map(|r| self.keyring.open(r, &refresh_context(&row.id)))
                    .transpose()?;
                let (access, refresh) =
                    self.seal_tokens(&row.id, &self.open_access(row)?, refresh.as_ref())?;
                // A refresh racing with the rotation already sealed with
                // the active key; skipping that row is right.
                if connections
                    .reseal(&row.id, row.token_version, &access, refresh.as_deref())
                    .await?
                {
                    resealed += 1;
                }
            }
        }
        Ok(resealed)
    }
}
