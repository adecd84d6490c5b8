//! Shared pieces of the benchmark: the echoed object, a slow upstream,
//! timing, an HTTP load driver, and a proxy counting PostgreSQL round
//! trips.

pub mod load;
pub mod pg_proxy;
pub mod timing;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use workway_capabilities::{
    BrokerError, ConnectionInfo, HttpBroker, InboundResponse, OutboundRequest,
};

/// The small JSON object every contender echoes.
#[derive(Debug, Serialize, Deserialize)]
pub struct Echo {
    /// A message.
    pub message: String,
    /// A number.
    pub count: u32,
    /// Some tags.
    pub tags: Vec<String>,
}

/// The echo input every contender gets.
pub const ECHO_INPUT: &str = r#"{"message":"hello, workway","count":3,"tags":["a","b","c"]}"#;

/// The native floor: parse the object and serialize it back.
pub fn native_echo(input: &str) -> String {
    let echo: Echo = serde_json::from_str(input).expect("valid echo input");
    serde_json::to_string(&echo).expect("serializable")
}

/// An upstream that answers every request after `delay`, as a slow API
/// would; it stands in for the network broker (issue 4) so the benchmark
/// measures what the runtime holds while executions wait.
pub struct SlowUpstream {
    /// How long each answer takes.
    pub delay: Duration,
}

#[async_trait]
impl HttpBroker for SlowUpstream {
    async fn send(
        &self,
        _request: OutboundRequest,
        _auth: Option<&ConnectionInfo>,
    ) -> Result<InboundResponse, BrokerError> {
        tokio::time::sleep(self.delay).await;
        Ok(InboundResponse {
            status: 200,
            headers: Vec::new(),
            body: b"ok".to_vec(),
        })
    }
}
