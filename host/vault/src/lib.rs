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
//!
//! Every write a refresher makes (the new tokens, giving the lease back,
//! marking the grant dead) is fenced by a lease token unique to that one
//! attempt and by the token version it read: an attempt whose lease lapsed
//! and was taken over, by another process or by another task of this one,
//! changes nothing, so a stale refresher can never mark a connection
//! someone just refreshed as needing re-authorisation.
//!
//! Tokens are sealed with associated data naming the connection's id, its
//! owner and its provider ([`SEAL_BINDING`]): a sealed token copied into
//! another row, or a row whose owner or provider is changed in the
//! database, does not open. Rows sealed before owner and provider were
//! bound (binding 1, id only) are opened once with the old associated data
//! and re-sealed under the new one: all of them by
//! [`Vault::reseal_legacy_bindings`] when a host starts, and any left at
//! first use. A row is opened only with the binding its `seal_binding`
//! column names, and a row sealed under the new binding never opens with
//! the old data, so lowering that column does not weaken a row.
//!
//! Fresh access tokens are cached in the process for at most
//! [`VaultSettings::token_cache`] (one second by default; see
//! [`token_cache`]): a disconnect, refresh or re-authorisation mark made by
//! another process sharing the store is seen by this one within that
//! bound, and what this process does itself is seen at once. The list of
//! an owner's connections to a provider, from which an execution's
//! connections are chosen, is cached with the same bound (see
//! `listing_cache`).

pub mod credentials;
pub mod keyring;
mod listing_cache;
pub mod metrics;
pub mod oauth;
pub mod static_tokens;
pub mod token_cache;

use std::sync::Arc;
use std::time::Duration;

use workway_store::connections::{
    ConnectionRow, ConnectionStatus, Fence, Lease, NewConnection, RefreshedTokens, SEAL_BINDING,
};
use workway_store::{Store, StoreError};

use crate::oauth::providers::ProviderRegistry;
use crate::oauth::token::{self, TokenError, TokenSet};
pub use keyring::{Keyring, KeyringError};
use workway_capabilities::ConnectionInfo;
use workway_capabilities::secret::Secret;
use workway_egress::Egress;
use workway_store::clock::now_ms;

use crate::listing_cache::ListingCache;
use crate::token_cache::TokenCache;
pub use crate::token_cache::{CacheClock, MonotonicClock};

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
    /// How long an unsealed access token read from the store may be used
    /// again without reading the store: the bound on how long this process
    /// goes on attaching a token after another process disconnected the
    /// connection, refreshed it, or marked it as needing re-authorisation.
    /// Changes made through this vault are seen at once. Zero disables the
    /// cache.
    pub token_cache: Duration,
    /// How many connections the token cache holds at most.
    pub token_cache_entries: usize,
}

impl Default for VaultSettings {
    fn default() -> Self {
        VaultSettings {
            refresh_skew: Duration::from_secs(60),
            lease: Duration::from_secs(30),
            poll_min: Duration::from_millis(5),
            poll_max: Duration::from_millis(50),
            // A second is far below how soon anyone can notice a
            // disconnect took effect, and the provider is told at once
            // anyway; yet a connection used many times a second is read
            // from the store once a second instead of once per request.
            token_cache: Duration::from_secs(1),
            // Some kilobytes each at most: bounded memory whatever the load.
            token_cache_entries: 10_000,
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

/// The seal binding of rows written before owner and provider were bound:
/// the associated data names the connection's id only.
const LEGACY_BINDING: i64 = 1;

/// Which of a connection's two sealed tokens.
#[derive(Debug, Clone, Copy)]
enum Field {
    Access,
    Refresh,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Access => "access",
            Field::Refresh => "refresh",
        }
    }
}

/// The associated data a token of connection `id` (of `owner`, for
/// `provider`) is sealed with under seal binding `binding`. The current
/// binding encodes the parts as a JSON array, so no choice of owner or
/// provider text can make two different rows produce the same data.
fn context(
    binding: i64,
    id: &str,
    owner: &str,
    provider: &str,
    field: Field,
) -> Result<String, KeyringError> {
    match binding {
        LEGACY_BINDING => Ok(format!("connection:{id}:{}", field.name())),
        SEAL_BINDING => Ok(format!(
            "connection/v2:{}",
            serde_json::json!([id, owner, provider, field.name()])
        )),
        other => Err(KeyringError::Corrupt(format!(
            "connection {id} names seal binding {other}, which this host does not know"
        ))),
    }
}

/// What a pass re-sealing many rows does with a row that does not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unopenable {
    /// Stop with the error (key rotation: the operator must hear that a
    /// key is missing before removing any).
    Fail,
    /// Log it and go on (the start-up pass).
    Skip,
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
    /// Fresh access tokens recently read, by connection.
    cache: TokenCache,
    /// Owners' connections to each provider recently read.
    listings: ListingCache,
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
        let settings = VaultSettings::default();
        let clock: Arc<dyn CacheClock> = Arc::new(MonotonicClock::new());
        Vault {
            store,
            keyring,
            providers,
            egress,
            cache: cache_for(&settings, clock.clone()),
            listings: listings_for(&settings, clock),
            settings,
            holder: format!("vault-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The timings this vault refreshes and caches by.
    pub fn settings(&self) -> &VaultSettings {
        &self.settings
    }

    /// The same vault with other timings (and an empty token cache).
    pub fn with_settings(mut self, settings: VaultSettings) -> Self {
        self.cache = cache_for(&settings, self.cache.clock());
        self.listings = listings_for(&settings, self.cache.clock());
        self.settings = settings;
        self
    }

    /// The same vault with its token cache aging entries by `clock`
    /// instead of the process's monotonic clock (and empty): for tests
    /// that step time past the cache's bound.
    pub fn with_cache_clock(mut self, clock: Arc<dyn CacheClock>) -> Self {
        self.cache = cache_for(&self.settings, clock.clone());
        self.listings = listings_for(&self.settings, clock);
        self
    }

    /// The providers this vault refreshes with.
    pub fn providers(&self) -> &ProviderRegistry {
        &self.providers
    }

    /// The keyring, for the other values the platform seals with it
    /// (webhook workflows' signing secrets).
    pub fn keyring(&self) -> &Keyring {
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
        let (access, refresh) = self.seal_tokens(
            (&id, owner, provider),
            &tokens.access_token,
            tokens.refresh_token.as_ref(),
        )?;
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
        self.listings.changed();
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
        let refresh = self.open_refresh(&row);
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
        self.cache.gone(id);
        self.listings.changed();
        if deleted {
            tracing::info!(connection = %id, "connection deleted");
        }
        Ok(deleted)
    }

    async fn row(&self, id: &str) -> Result<ConnectionRow, VaultError> {
        let row = self.store.connections().get(id).await?.ok_or_else(|| {
            self.cache.gone(id);
            self.listings.changed();
            VaultError::NotFound(id.to_string())
        })?;
        if row.status == ConnectionStatus::NeedsReauth {
            self.cache.gone(id);
            self.listings.changed();
            return Err(VaultError::NeedsReauth {
                provider: row.provider,
                reason: row.status_reason.unwrap_or_else(|| "unknown".into()),
            });
        }
        self.upgraded(row).await
    }

    /// `row`, re-sealed under the current binding first if it was sealed
    /// under the legacy one (and read again).
    async fn upgraded(&self, row: ConnectionRow) -> Result<ConnectionRow, VaultError> {
        if row.seal_binding == SEAL_BINDING {
            return Ok(row);
        }
        self.reseal(&row).await?;
        self.store
            .connections()
            .get(&row.id)
            .await?
            .ok_or_else(|| VaultError::NotFound(row.id.clone()))
    }

    /// Seal a connection's access and refresh tokens for storage, bound to
    /// its `(id, owner, provider)`.
    fn seal_tokens(
        &self,
        (id, owner, provider): (&str, &str, &str),
        access: &Secret,
        refresh: Option<&Secret>,
    ) -> Result<(String, Option<String>), KeyringError> {
        let seal = |secret: &Secret, field| {
            self.keyring.seal(
                secret.expose(),
                &context(SEAL_BINDING, id, owner, provider, field)?,
            )
        };
        let access = seal(access, Field::Access)?;
        let refresh = refresh.map(|r| seal(r, Field::Refresh)).transpose()?;
        Ok((access, refresh))
    }

    /// Open one of `row`'s sealed tokens with the binding the row names.
    fn open_field(
        &self,
        row: &ConnectionRow,
        sealed: &str,
        field: Field,
    ) -> Result<Secret, VaultError> {
        let context = context(row.seal_binding, &row.id, &row.owner, &row.provider, field)?;
        Ok(self.keyring.open(sealed, &context)?)
    }

    fn open_access(&self, row: &ConnectionRow) -> Result<Secret, VaultError> {
        self.open_field(row, &row.access_token, Field::Access)
    }

    fn open_refresh(&self, row: &ConnectionRow) -> Result<Option<Secret>, VaultError> {
        row.refresh_token
            .as_deref()
            .map(|r| self.open_field(row, r, Field::Refresh))
            .transpose()
    }

    /// Re-seal `row`'s tokens under the active key and the current binding,
    /// unless they changed since it was read. Whether they were re-sealed.
    async fn reseal(&self, row: &ConnectionRow) -> Result<bool, VaultError> {
        let refresh = self.open_refresh(row)?;
        let (access, refresh) = self.seal_tokens(
            (&row.id, &row.owner, &row.provider),
            &self.open_access(row)?,
            refresh.as_ref(),
        )?;
        // A refresh racing with this already sealed with the active key and
        // the current binding; skipping that row is right.
        let resealed = self
            .store
            .connections()
            .reseal(&row.id, row.token_version, &access, refresh.as_deref())
            .await?;
        self.cache.forget(&row.id);
        self.listings.changed();
        Ok(resealed)
    }

    /// Until when (Unix ms) the access token is good for a while yet, or
    /// `None` when it does not expire. The margin is the configured skew,
    /// but at most half the token's lifetime, so a provider issuing tokens
    /// shorter than the skew does not make every use a refresh.
    fn fresh_until(&self, row: &ConnectionRow) -> Option<i64> {
        let skew = i64::try_from(self.settings.refresh_skew.as_millis()).unwrap_or(i64::MAX);
        row.expires_at.map(|at| {
            let lifetime = at.saturating_sub(row.updated_at).max(0);
            at.saturating_sub(skew.min(lifetime / 2))
        })
    }

    /// Whether the access token is good for a while yet (see
    /// [`Vault::fresh_until`]).
    fn fresh(&self, row: &ConnectionRow, now: i64) -> bool {
        self.fresh_until(row).is_none_or(|until| until > now)
    }

    /// A usable access token for connection `id`: the stored one while it
    /// is fresh, otherwise a refreshed one (one refresh cluster-wide).
    ///
    /// A fresh token read from the store is kept in the process's token
    /// cache and served from it, without reading the store, for at most
    /// [`VaultSettings::token_cache`] and never into its refresh margin.
    /// So another process's disconnect, refresh or re-authorisation mark
    /// is seen here no later than that bound after it is stored; this
    /// vault's own (and a token this process saw rejected, or a newer
    /// token version it looked up) at once.
    pub async fn access_token(&self, id: &str) -> Result<Secret, VaultError> {
        if let Some(token) = self.cache.get(id, now_ms()) {
            return Ok(token);
        }
        self.token(id, None).await
    }

    /// The provider rejected `rejected` (HTTP 401): refresh unless someone
    /// already replaced that token, and return the token to use now, or
    /// `None` when the grant has no refresh token. Reads the store, never
    /// the token cache, and drops the connection's cached token; a grant
    /// without a refresh token whose stored token is the rejected one is
    /// not cached again until its tokens change.
    pub async fn token_rejected(
        &self,
        id: &str,
        rejected: &Secret,
    ) -> Result<Option<Secret>, VaultError> {
        self.cache.forget(id);
        let row = self.row(id).await?;
        if row.refresh_token.is_none() {
            if self.open_access(&row)? == *rejected {
                self.cache.at_least(id, row.token_version.saturating_add(1));
            }
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
            let ticket = self.cache.ticket();
            let row = self.row(id).await?;
            let current = self.open_access(&row)?;
            let now = now_ms();
            let stale = rejected.is_some_and(|r| *r == current);
            if !stale && self.fresh(&row, now) {
                self.cache.fill(
                    ticket,
                    id,
                    row.token_version,
                    &current,
                    self.fresh_until(&row),
                );
                return Ok(current);
            }
            let Some(refresh_token) = self.open_refresh(&row)? else {
                if row.expires_at.is_some_and(|at| at <= now) {
                    let reason =
                        "the access token expired and the provider issued no refresh token";
                    let marked = self
                        .store
                        .connections()
                        .mark_needs_reauth(id, Fence::Version(row.token_version), reason, now)
                        .await?;
                    if !marked {
                        // The tokens changed since they were read: look again.
                        continue;
                    }
                    self.cache.gone(id);
                    self.listings.changed();
                    return Err(VaultError::NeedsReauth {
                        provider: row.provider,
                        reason: reason.into(),
                    });
                }
                return Ok(current);
            };
            // A token for this attempt alone: another task of this process
            // taking the lease after this one lapsed holds a different one.
            let lease_token = format!("{}:{}", self.holder, uuid::Uuid::new_v4().simple());
            let lease = Lease {
                token: &lease_token,
                token_version: row.token_version,
            };
            let leased = self
                .store
                .connections()
                .try_lease(id, lease, now, now.saturating_add(lease_ms))
                .await?;
            if !leased {
                // Another attempt is refreshing (or just did): wait for the
                // row to change, then look again.
                tokio::time::sleep(poll).await;
                poll = (poll * 3 / 2).min(self.settings.poll_max);
                continue;
            }
            match self
                .refresh_leased(&row, lease, &refresh_token, current)
                .await?
            {
                Some(token) => return Ok(token),
                // The lease was lost before the outcome could be stored:
                // whoever took it over decides; read the row again.
                None => continue,
            }
        }
    }

    /// Call the token endpoint while holding `lease`, and store the
    /// outcome. `None` when the lease was lost before a refusal could be
    /// recorded (someone else took over, and their outcome stands).
    async fn refresh_leased(
        &self,
        row: &ConnectionRow,
        lease: Lease<'_>,
        refresh_token: &Secret,
        current: Secret,
    ) -> Result<Option<Secret>, VaultError> {
        let connections = self.store.connections();
        let provider = match self.providers.get(&row.provider) {
            Some(p) => p,
            None => {
                connections.release_lease(&row.id, lease).await?;
                return Err(VaultError::UnknownProvider(row.provider.clone()));
            }
        };
        tracing::info!(connection = %row.id, provider = %row.provider, "refreshing connection");
        let refreshed = token::refresh(&self.egress, provider, refresh_token).await;
        crate::metrics::refreshed(
            &row.provider,
            match &refreshed {
                Ok(_) => "ok",
                Err(TokenError::Rejected { .. }) => "rejected",
                Err(TokenError::NotConfigured(_)) => "not_configured",
                Err(TokenError::Unavailable { .. }) => "unavailable",
            },
        );
        match refreshed {
            Ok(tokens) => {
                // A provider that keeps the refresh token gets it re-sealed
                // too, so both tokens carry the current binding.
                let (access, refresh) = self.seal_tokens(
                    (&row.id, &row.owner, &row.provider),
                    &tokens.access_token,
                    Some(tokens.refresh_token.as_ref().unwrap_or(refresh_token)),
                )?;
                let stored = connections
                    .store_refreshed(
                        &row.id,
                        lease,
                        &RefreshedTokens {
                            access_token: &access,
                            refresh_token: refresh.as_deref(),
                            expires_at: tokens.expires_at,
                            now: now_ms(),
                        },
                    )
                    .await?;
                if stored {
                    // Never serve the tokens this refresh replaced.
                    self.cache
                        .at_least(&row.id, row.token_version.saturating_add(1));
                    self.listings.changed();
                } else {
                    if connections.get(&row.id).await?.is_none() {
                        // Deleted while we refreshed: the grant is gone,
                        // and so is any use of it.
                        self.cache.gone(&row.id);
                        self.listings.changed();
                        return Err(VaultError::NotFound(row.id.clone()));
                    }
                    // The lease lapsed and someone else took over; their
                    // tokens win, but ours are valid too.
                    self.cache.forget(&row.id);
                    self.listings.changed();
                    tracing::warn!(connection = %row.id, "refresh lease lapsed before the new tokens were stored");
                }
                Ok(Some(tokens.access_token))
            }
            Err(error @ TokenError::Rejected { .. })
            | Err(error @ TokenError::NotConfigured(_)) => {
                let reason = format!("refreshing failed: {error}");
                let marked = connections
                    .mark_needs_reauth(&row.id, Fence::Lease(lease), &reason, now_ms())
                    .await?;
                if !marked {
                    tracing::warn!(connection = %row.id, "a refresh was refused after this attempt's lease was taken over; the connection is left to the new holder: {reason}");
                    return Ok(None);
                }
                self.cache.gone(&row.id);
                self.listings.changed();
                tracing::warn!(connection = %row.id, "{reason}");
                Err(VaultError::NeedsReauth {
                    provider: row.provider.clone(),
                    reason,
                })
            }
            Err(TokenError::Unavailable { provider, reason }) => {
                connections.release_lease(&row.id, lease).await?;
                if row.expires_at.is_some_and(|at| at > now_ms()) {
                    // Not expired yet: keep using it and refresh next time.
                    return Ok(Some(current));
                }
                Err(VaultError::RefreshUnavailable { provider, reason })
            }
        }
    }

    /// Re-seal every stored token under the active key and the current
    /// binding, so older keys can be removed from the configuration.
    /// Returns how many connections were re-sealed.
    pub async fn rotate_keys(&self) -> Result<u64, VaultError> {
        let active = self.keyring.active_id().to_string();
        self.cache.clear();
        self.listings.changed();
        self.reseal_where(Unopenable::Fail, |row| {
            row.seal_binding != SEAL_BINDING
                || Keyring::key_id_of(&row.access_token) != Some(active.as_str())
                || row
                    .refresh_token
                    .as_deref()
                    .is_some_and(|r| Keyring::key_id_of(r) != Some(active.as_str()))
        })
        .await
    }

    /// Re-seal every connection still sealed under the legacy, id-only
    /// binding (rows written before owner and provider were bound), so a
    /// change of a row's owner or provider in the database stops it from
    /// opening. Hosts run this when they start; a row that does not open
    /// (damaged, or sealed with a key no longer configured) is logged and
    /// left as it is, failing where it is used, so one bad row does not
    /// keep a host from starting. Returns how many were re-sealed.
    pub async fn reseal_legacy_bindings(&self) -> Result<u64, VaultError> {
        self.reseal_where(Unopenable::Skip, |row| row.seal_binding != SEAL_BINDING)
            .await
    }

    /// Walk the whole table and re-seal the rows `needs` picks.
    async fn reseal_where(
        &self,
        unopenable: Unopenable,
        needs: impl Fn(&ConnectionRow) -> bool,
    ) -> Result<u64, VaultError> {
        let connections = self.store.connections();
        let mut after: Option<String> = None;
        let mut resealed = 0;
        loop {
            let page = connections.page(after.as_deref(), 200).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            for row in page.iter().filter(|row| needs(row)) {
                match self.reseal(row).await {
                    Ok(true) => resealed += 1,
                    Ok(false) => {}
                    Err(VaultError::Keyring(e)) if unopenable == Unopenable::Skip => {
                        tracing::warn!(connection = %row.id, "cannot re-seal the connection: {e}");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(resealed)
    }
}

/// The connection listing cache `settings` ask for (the token cache's
/// bound and capacity), aging entries by `clock`.
fn listings_for(settings: &VaultSettings, clock: Arc<dyn CacheClock>) -> ListingCache {
    ListingCache::new(settings.token_cache, settings.token_cache_entries, clock)
}

/// The token cache `settings` ask for, aging entries by `clock`.
fn cache_for(settings: &VaultSettings, clock: Arc<dyn CacheClock>) -> TokenCache {
    TokenCache::new(settings.token_cache, settings.token_cache_entries, clock)
}
