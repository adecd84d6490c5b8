//! The vault behind the capability seam: connection handles for one
//! execution, and credentials for the HTTP broker.

use std::collections::BTreeMap;

use async_trait::async_trait;
use workway_registry::hosts::HostPattern;

use super::{Vault, VaultError};
use crate::capabilities::{
    BrokerError, ConnectionBroker, ConnectionError, ConnectionInfo, CredentialSource,
};
use crate::secret::Secret;

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

/// The connections one execution may use: the installation owner's
/// newest connection for each provider its manifest declares, looked up
/// once before the guest starts.
#[derive(Debug, Clone, Default)]
pub struct ExecutionConnections {
    declared: Vec<String>,
    connected: BTreeMap<String, ConnectionInfo>,
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

impl Vault {
    /// The connections of `owner` for the `declared` providers.
    pub async fn connections_for(
        &self,
        owner: &str,
        declared: &[String],
    ) -> Result<ExecutionConnections, VaultError> {
        let mut connected = BTreeMap::new();
        let mut versions = BTreeMap::new();
        for provider in declared {
            if let Some(row) = self.store().connections().find(owner, provider).await? {
                versions.insert(row.id.clone(), row.token_version);
                connected.insert(provider.clone(), super::info_of(&row));
            }
        }
        Ok(ExecutionConnections {
            declared: declared.to_vec(),
            connected,
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
                continue;
            };
            if row.token_version == *seen {
                if row.refresh_token.is_none() {
                    continue;
                }
                let stale = self
                    .keyring()
                    .open(&row.access_token, &super::access_context(id))?;
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
        self.connected.get(provider).cloned().ok_or_else(|| {
            ConnectionError::NotConnected(format!(
                "the user has not connected a `{provider}` account; connect one and run again"
            ))
        })
    }
}
