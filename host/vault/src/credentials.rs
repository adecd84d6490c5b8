//! The vault behind the capability seam: connection handles for one
//! execution, and credentials for the HTTP broker.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use workway_registry::hosts::HostPattern;
use workway_store::connections::ConnectionRow;

use super::{Vault, VaultError};
use workway_capabilities::secret::Secret;
use workway_capabilities::{
    BrokerError, ConnectionBroker, ConnectionError, ConnectionInfo, CredentialSource,
};

fn broker_error(error: VaultError) -> BrokerError {
    match error {
        VaultError::NeedsReauth { .. } | VaultError::NotFound(_) => {
            BrokerError::AuthExpired(error.to_string())
        }
        VaultError::RefreshUnavailable { .. } => BrokerError::Network(error.to_string()),
        VaultError::UnknownProvider(_) => BrokerError::Denied(error.to_string()),
        VaultError::Store(_) | VaultError::Keyring(_) => {
            tracing::error!("the vault failed: {error}");
            BrokerError::Network("the host could not read the connection's credentials".into())
        }
    }
}

#[async_trait]
impl CredentialSource for Vault {
    fn api_hosts(&self, provider: &str) -> Option<Vec<HostPattern>> {
        self.providers().get(provider).map(|p| p.api_hosts.clone())
    }

    async fn access_token(&self, connection: &ConnectionInfo) -> Result<Secret, BrokerError> {
        Vault::access_token(self, &connection.id)
            .await
            .map_err(broker_error)
    }

    async fn token_rejected(
        &self,
        connection: &ConnectionInfo,
        rejected: &Secret,
    ) -> Result<Option<Secret>, BrokerError> {
        Vault::token_rejected(self, &connection.id, rejected)
            .await
            .map_err(broker_error)
    }
}

/// The connections one execution may use, chosen per installation: for
/// each OAuth provider its signed approval names, the owner's newest
/// connection whose granted scopes the approval covers, looked up once
/// before the guest starts.
///
/// A grant is only as narrow as its scopes, and one provider's token opens
/// every API of that provider that its scopes allow (Google's token goes to
/// any `*.googleapis.com` host). So a connection is handed to an
/// installation only when every scope it was granted is one the
/// installation's approval lists for that provider, or one of the
/// provider's identity scopes ([`Provider::identity_scopes`], which reach
/// nothing but the account's name): a plugin approved for a read-only
/// calendar scope never receives the user's Gmail grant, and its requests
/// to Gmail leave without a token. Connections are made per installation
/// the same way: the authorization request asks for exactly the approved
/// scopes (see [`crate::oauth::flow::OAuthFlow::begin`]), and the scopes
/// recorded are the ones the provider says it granted, so a grant widened
/// at the provider is not handed to a narrower installation either.
///
/// A connection that records no scopes at all (a provider without scopes,
/// like Notion, or a token pasted on the command line without `--scope`)
/// gives the platform nothing to check against the approval, so it is
/// handed only to an installation whose approval lists no scopes for its
/// provider: a broad Google token pasted without its scopes never reaches
/// a plugin approved for a read-only calendar scope.
///
/// [`Provider::identity_scopes`]: crate::oauth::providers::Provider::identity_scopes
#[derive(Debug, Clone, Default)]
pub struct ExecutionConnections {
    declared: Vec<String>,
    connected: BTreeMap<String, ConnectionInfo>,
    /// Why a declared provider got no connection although the owner has
    /// some: their grants are wider than the approval, or record no scopes.
    refused: BTreeMap<String, String>,
    /// The token version of each connection when it was looked up, so a
    /// refresh after `auth-expired` happens only if nobody refreshed since.
    versions: BTreeMap<String, i64>,
}

impl ExecutionConnections {
    /// The connections handed out, one per connected provider.
    pub fn connected(&self) -> impl Iterator<Item = &ConnectionInfo> {
        self.connected.values()
    }
}

/// Whether a connection that was granted `granted` may be handed to an
/// installation approved for `approved` with `provider`'s identity scopes.
/// A connection that records no scopes is covered only by an approval
/// that lists none: what such a token can reach is unknown.
fn covered(granted: &[String], approved: &[String], identity: &[String]) -> bool {
    if granted.is_empty() {
        return approved.is_empty();
    }
    granted
        .iter()
        .all(|scope| approved.contains(scope) || identity.contains(scope))
}

/// Why none of a provider's connections, `rows`, may be handed to an
/// installation approved for `approved` (with the provider's `identity`
/// scopes): their grants are wider than the approval, or they record no
/// scopes to check.
fn refusal(
    provider: &str,
    rows: &[ConnectionRow],
    approved: &[String],
    identity: &[String],
) -> String {
    let mut wider: Vec<&str> = rows
        .iter()
        .flat_map(|row| row.scopes.iter())
        .filter(|s| !approved.contains(s) && !identity.contains(s))
        .map(String::as_str)
        .collect();
    wider.sort_unstable();
    wider.dedup();
    let mut reasons = Vec::new();
    if !wider.is_empty() {
        reasons.push(format!(
            "the user's `{provider}` connections grant scopes this integration was not approved for ({}); connect a `{provider}` account for this integration, which asks only for the approved scopes",
            wider.join(", ")
        ));
    }
    if rows.iter().any(|row| row.scopes.is_empty()) {
        reasons.push(format!(
            "the `{provider}` connection records no scopes, so the platform cannot tell it is within what this integration was approved for ({}); connect it again with `workway connect {provider} --token - --scope <scope> ...`, naming each scope the token was granted",
            approved.join(", ")
        ));
    }
    reasons.join("; ")
}

impl Vault {
    /// The connections of `owner` for an installation whose approval grants
    /// `approved` (OAuth scopes by provider): per provider, the newest
    /// connection whose granted scopes the approval covers. The owner's
    /// connections are read through the listing cache: one made, dropped
    /// or marked dead by another process is seen within
    /// [`crate::VaultSettings::token_cache`].
    pub async fn connections_for(
        &self,
        owner: &str,
        approved: &BTreeMap<String, Vec<String>>,
    ) -> Result<ExecutionConnections, VaultError> {
        let mut connected = BTreeMap::new();
        let mut refused = BTreeMap::new();
        let mut versions = BTreeMap::new();
        for (provider, scopes) in approved {
            let identity = self
                .providers()
                .get(provider)
                .map(|p| p.identity_scopes.as_slice())
                .unwrap_or_default();
            let rows = match self.listings.get(owner, provider) {
                Some(rows) => rows,
                None => {
                    let ticket = self.listings.ticket();
                    let rows = Arc::new(
                        self.store()
                            .connections()
                            .for_provider(owner, provider)
                            .await?,
                    );
                    self.listings.fill(ticket, owner, provider, rows.clone());
                    rows
                }
            };
            match rows
                .iter()
                .find(|row| covered(&row.scopes, scopes, identity))
            {
                Some(row) => {
                    // The execution must never be handed a token older
                    // than the one it looked up.
                    self.cache.at_least(&row.id, row.token_version);
                    versions.insert(row.id.clone(), row.token_version);
                    connected.insert(provider.clone(), super::info_of(row));
                }
                None if !rows.is_empty() => {
                    refused.insert(provider.clone(), refusal(provider, &rows, scopes, identity));
                }
                None => {}
            }
        }
        Ok(ExecutionConnections {
            declared: approved.keys().cloned().collect(),
            connected,
            refused,
            versions,
        })
    }

    /// An execution that used `connections` ended with `auth-expired`:
    /// refresh each of its connections whose tokens nobody has replaced
    /// since the execution looked them up (one refresh cluster-wide, as
    /// always), so a retry runs with fresh tokens. Returns the ids of the
    /// connections that now hold tokens newer than the execution's.
    /// A connection that cannot be refreshed is marked as needing
    /// re-authorisation and reported as the error.
    pub async fn after_auth_expired(
        &self,
        connections: &ExecutionConnections,
    ) -> Result<Vec<String>, VaultError> {
        let mut renewed = Vec::new();
        for (id, seen) in &connections.versions {
            let Some(row) = self.store().connections().get(id).await? else {
                self.cache.gone(id);
                self.listings.changed();
                continue;
            };
            // The retry must not be handed the token that failed (cached
            // before someone else replaced it).
            self.cache.at_least(id, row.token_version);
            if row.token_version == *seen {
                if row.refresh_token.is_none() {
                    continue;
                }
                let stale = self.open_access(&row)?;
                self.token_rejected(id, &stale).await?;
            }
            renewed.push(id.clone());
        }
        Ok(renewed)
    }
}

impl ConnectionBroker for ExecutionConnections {
    fn get(&self, provider: &str) -> Result<ConnectionInfo, ConnectionError> {
        if !self.declared.iter().any(|p| p == provider) {
            return Err(ConnectionError::NotDeclared(format!(
                "the integration's manifest does not declare the `{provider}` provider; add it under [oauth.{provider}]"
            )));
        }
        if let Some(info) = self.connected.get(provider) {
            return Ok(info.clone());
        }
        Err(ConnectionError::NotConnected(
            self.refused.get(provider).cloned().unwrap_or_else(|| {
                format!(
                    "the user has not connected a `{provider}` account; connect one and run again"
                )
            }),
        ))
    }
}
