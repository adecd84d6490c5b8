//! Recording: wraps a live broker and writes what passed through it as a
//! replay file, so `workway plugin run --record` today makes
//! `workway plugin run --replay` work offline tomorrow.
//!
//! What is recorded is what the guest sent and received. The credentials
//! the broker attached never reach this layer, and response headers that
//! carry session secrets (`set-cookie`) are left out.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use base64::Engine as _;

use super::replay::{Interaction, RecordedRequest, RecordedResponse, ReplayConnection, ReplayFile};
use super::{
    BrokerError, ConnectionInfo, HttpBroker, InboundResponse, OutboundRequest, RequestBudget,
};

/// Response headers never written to a replay file.
const UNRECORDED_HEADERS: &[&str] = &["set-cookie", "www-authenticate", "authorization"];

/// A broker that forwards to `inner` and remembers every exchange.
pub struct Recorder {
    inner: Arc<dyn HttpBroker>,
    interactions: Mutex<Vec<Interaction>>,
}

impl Recorder {
    /// Record what `inner` answers.
    pub fn new(inner: Arc<dyn HttpBroker>) -> Self {
        Recorder {
            inner,
            interactions: Mutex::new(Vec::new()),
        }
    }

    /// The replay file for what was recorded, with `connections`' non-secret facts.
    pub fn replay_file(&self, connections: &[ConnectionInfo]) -> ReplayFile {
        let interactions = self
            .interactions
            .lock()
            .map(|i| i.clone())
            .unwrap_or_default();
        ReplayFile {
            connections: connections
                .iter()
                .map(|c| {
                    (
                        c.provider.clone(),
                        ReplayConnection {
                            account: c.account.clone(),
                            scopes: c.scopes.clone(),
                        },
                    )
                })
                .collect(),
            interactions,
        }
    }

    /// Write the replay file to `path`.
    pub fn save(&self, path: &Path, connections: &[ConnectionInfo]) -> std::io::Result<()> {
        let file = self.replay_file(connections);
        let text = serde_json::to_string_pretty(&file).map_err(std::io::Error::other)?;
        std::fs::write(path, text + "\n")
    }
}

fn recorded_response(response: &InboundResponse) -> RecordedResponse {
    let headers = response
        .headers
        .iter()
        .filter(|(k, _)| !UNRECORDED_HEADERS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let json = response
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v.contains("json"))
        .then(|| serde_json::from_slice::<serde_json::Value>(&response.body).ok())
        .flatten();
    let (body, body_base64) = match (&json, std::str::from_utf8(&response.body)) {
        (Some(_), _) => (None, None),
        (None, Ok(text)) if !text.is_empty() => (Some(text.to_string()), None),
        (None, Ok(_)) => (None, None),
        (None, Err(_)) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(&response.body)),
        ),
    };
    RecordedResponse {
        status: response.status,
        headers,
        json,
        body,
        body_base64,
    }
}

impl Recorder {
    /// Forward `request` to the inner broker (counting redirect hops against
    /// `budget` when there is one) and remember the exchange.
    async fn forward(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
        budget: Option<&RequestBudget>,
    ) -> Result<InboundResponse, BrokerError> {
        let method = request.method.clone();
        let url = request.url.clone();
        let json = serde_json::from_slice::<serde_json::Value>(&request.body).ok();
        let response = match budget {
            Some(budget) => self.inner.send_counted(request, auth, budget).await?,
            None => self.inner.send(request, auth).await?,
        };
        let interaction = Interaction {
            request: RecordedRequest {
                method,
                url,
                authorized_by: auth.map(|a| a.provider.clone()),
                json,
            },
            response: recorded_response(&response),
            delay_ms: 0,
        };
        if let Ok(mut interactions) = self.interactions.lock() {
            interactions.push(interaction);
        }
        Ok(response)
    }
}

#[async_trait]
impl HttpBroker for Recorder {
    async fn send(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
    ) -> Result<InboundResponse, BrokerError> {
        self.forward(request, auth, None).await
    }

    async fn send_counted(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
        budget: &RequestBudget,
    ) -> Result<InboundResponse, BrokerError> {
        self.forward(request, auth, Some(budget)).await
    }
}
