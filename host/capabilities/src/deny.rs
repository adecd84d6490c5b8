//! The broker that grants nothing.

use async_trait::async_trait;

use super::{
    BrokerError, ConnectionBroker, ConnectionError, ConnectionInfo, HttpBroker, InboundResponse,
    OutboundRequest,
};

/// Refuses every request and has no connections. Used where no network
/// broker is configured, so nothing ever pretends to reach the network.
#[derive(Debug, Clone, Copy, Default)]
pub struct DenyAll;

#[async_trait]
impl HttpBroker for DenyAll {
    async fn send(
        &self,
        request: OutboundRequest,
        _auth: Option<&ConnectionInfo>,
    ) -> Result<InboundResponse, BrokerError> {
        Err(BrokerError::Denied(format!(
            "outbound HTTP is not available here ({} {}); give `workway plugin run` a --replay file to answer requests offline",
            request.method, request.url
        )))
    }
}

impl ConnectionBroker for DenyAll {
    fn get(&self, provider: &str) -> Result<ConnectionInfo, ConnectionError> {
        Err(ConnectionError::NotConnected(format!(
            "no `{provider}` connection is available to this execution"
        )))
    }
}
