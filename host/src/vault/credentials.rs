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
}

impl Vault {
    /// The connections of `owner` for the `declared` providers.
    pub async fn connections_for(
        &self,
        owner: &str,
        declared: &[String],
    ) -> Result<ExecutionConnections, VaultError> {
        let mut connected = BTreeMap::new();
        for provider in declared {
            if let Some(summary) = self.find(owner, provider).await? {
                connected.insert(provider.clone(), summary.info);
            }
        }
        Ok(ExecutionConnections {
            declared: declared.to_vec(),
            connected,
        })
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
