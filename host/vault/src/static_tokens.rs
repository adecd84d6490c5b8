//! Connections whose tokens are given on the command line
//! (`workway plugin run --connection slack=xoxb-...`): for a plugin author
//! running actions against real services with their own account. The
//! token is still attached by the broker, only to the provider's API hosts,
//! and the guest still never sees it.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use workway_registry::hosts::HostPattern;

use crate::oauth::providers::ProviderRegistry;
use workway_capabilities::secret::Secret;
use workway_capabilities::{
    BrokerError, ConnectionBroker, ConnectionError, ConnectionInfo, CredentialSource,
};

/// Why a `provider=token` pair was refused.
#[derive(Debug, thiserror::Error)]
pub enum StaticTokenError {
    /// Not `provider=token`.
    #[error("--connection `{0}` must be PROVIDER=TOKEN, for example slack=xoxb-...")]
    Malformed(String),
    /// The provider is unknown.
    #[error("--connection names unknown provider `{0}`; known providers: {1}")]
    UnknownProvider(String, String),
}

/// Fixed tokens by provider, handed out as connections.
#[derive(Debug, Clone)]
pub struct StaticTokens {
    providers: Arc<ProviderRegistry>,
    tokens: BTreeMap<String, Secret>,
}

impl StaticTokens {
    /// Parse `provider=token` pairs.
    pub fn parse(
        providers: Arc<ProviderRegistry>,
        pairs: &[String],
    ) -> Result<Self, StaticTokenError> {
        let mut tokens = BTreeMap::new();
        for pair in pairs {
            let (provider, token) = pair
                .split_once('=')
                .filter(|(p, t)| !p.is_empty() && !t.is_empty())
                .ok_or_else(|| {
                    // The pair may be a bare token: never echo it.
                    StaticTokenError::Malformed(
                        pair.split_once('=')
                            .map_or("<value hidden>".to_string(), |(p, _)| format!("{p}=...")),
                    )
                })?;
            if providers.get(provider).is_none() {
                return Err(StaticTokenError::UnknownProvider(
                    provider.to_string(),
                    providers.names().join(", "),
                ));
            }
            tokens.insert(provider.to_string(), Secret::new(token));
        }
        Ok(StaticTokens { providers, tokens })
    }

    /// Whether any token was given.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The connections, without tokens (for a replay file).
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        self.tokens.keys().map(|p| info(p)).collect()
    }
}

fn info(provider: &str) -> ConnectionInfo {
    ConnectionInfo {
        id: format!("cli-{provider}"),
        provider: provider.to_string(),
        account: None,
        scopes: Vec::new(),
    }
}

impl ConnectionBroker for StaticTokens {
    fn get(&self, provider: &str) -> Result<ConnectionInfo, ConnectionError> {
        if self.tokens.contains_key(provider) {
            Ok(info(provider))
        } else {
            Err(ConnectionError::NotConnected(format!(
                "no `{provider}` connection: pass --connection {provider}=TOKEN"
            )))
        }
    }
}

#[async_trait]
impl CredentialSource for StaticTokens {
    fn api_hosts(&self, provider: &str) -> Option<Vec<HostPattern>> {
        self.providers.get(provider).map(|p| p.api_hosts.clone())
    }

    async fn access_token(&self, connection: &ConnectionInfo) -> Result<Secret, BrokerError> {
        self.tokens
            .get(&connection.provider)
            .cloned()
            .ok_or_else(|| {
                BrokerError::AuthExpired(format!("no `{}` token was given", connection.provider))
            })
    }

    async fn token_rejected(
        &self,
        _connection: &ConnectionInfo,
        _rejected: &Secret,
    ) -> Result<Option<Secret>, BrokerError> {
        // A token from the command line cannot be refreshed: the 401 goes
        // back to the plugin, which reports auth-expired.
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_parsed_without_echoing_tokens() {
        let providers = Arc::new(ProviderRegistry::builtin());
        let t = StaticTokens::parse(providers.clone(), &["slack=xoxb-1".into()]).expect("valid");
        assert_eq!(t.get("slack").expect("connected").id, "cli-slack");
        assert!(t.get("google").is_err());
        let err = StaticTokens::parse(providers.clone(), &["xoxb-secret".into()]).unwrap_err();
        assert!(!err.to_string().contains("xoxb-secret"), "{err}");
        let err = StaticTokens::parse(providers, &["gitlab=glpat-1".into()]).unwrap_err();
        assert!(err.to_string().contains("known providers"), "{err}");
        assert!(!err.to_string().contains("glpat"), "{err}");
    }
}
