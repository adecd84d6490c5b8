//! Replay files: recorded HTTP interactions and connections, so a plugin
//! author can run actions offline with `workway plugin run --replay`.
//!
//! ```json
//! {
//!   "connections": {
//!     "slack": { "account": "acme.slack.com", "scopes": ["users:read"] }
//!   },
//!   "interactions": [
//!     {
//!       "request": { "method": "GET", "url": "https://slack.com/api/users.info?user=U1",
//!                    "authorized_by": "slack" },
//!       "response": { "status": 200, "headers": { "content-type": "application/json" },
//!                     "json": { "ok": true } }
//!     }
//!   ]
//! }
//! ```
//!
//! A request matches an interaction when method and URL are equal and, if
//! the interaction names `authorized_by`, the request was authorised with a
//! connection of that provider (and, if it gives `json`, the request body is
//! that JSON). An unmatched request ends the execution with a
//! `capability-denied` error that lists what was recorded.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::{
    BrokerError, ConnectionBroker, ConnectionError, ConnectionInfo, HttpBroker, InboundResponse,
    OutboundRequest,
};

/// A parsed replay file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayFile {
    /// Connections available to the execution, by provider.
    #[serde(default)]
    pub connections: BTreeMap<String, ReplayConnection>,
    /// Recorded request and response pairs.
    #[serde(default)]
    pub interactions: Vec<Interaction>,
}

/// A connection in a replay file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayConnection {
    /// The account name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Granted scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// One recorded exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interaction {
    /// What the request must look like.
    pub request: RecordedRequest,
    /// The answer.
    pub response: RecordedResponse,
    /// Wait this long before answering (to rehearse slow upstreams).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
}

/// The request side of an interaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    /// Method, case-insensitive.
    pub method: String,
    /// Exact URL, query included.
    pub url: String,
    /// The provider whose connection must authorise the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorized_by: Option<String>,
    /// The JSON body the request must carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
}

/// The response side of an interaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    /// HTTP status.
    #[serde(default = "ok_status")]
    pub status: u16,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A JSON body (sets `content-type: application/json` unless given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<serde_json::Value>,
    /// A text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A binary body, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn ok_status() -> u16 {
    200
}

/// Why a replay file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("cannot read replay file {0}: {1}")]
    Read(String, std::io::Error),
    /// The file is not a valid replay file.
    #[error("replay file {0} is not valid: {1}")]
    Parse(String, ReplayParseError),
}

/// Why replay JSON is not a valid replay file; the message says where.
#[derive(Debug, thiserror::Error)]
pub enum ReplayParseError {
    /// The text is not JSON of the replay file's shape.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// An interaction's response gives more than one body.
    #[error(
        "interaction {index}: give at most one of response.json, response.body and response.body_base64"
    )]
    SeveralBodies {
        /// The interaction's position in the file, from 0.
        index: usize,
    },
    /// An interaction's `body_base64` is not base64.
    #[error("interaction {index}: response.body_base64: {error}")]
    BodyBase64 {
        /// The interaction's position in the file, from 0.
        index: usize,
        /// What the decoder said (in the message, so not also a source).
        error: base64::DecodeError,
    },
}

impl ReplayFile {
    /// Read and parse a replay file.
    pub fn load(path: &Path) -> Result<Self, ReplayError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ReplayError::Read(name.clone(), e))?;
        Self::parse(&text).map_err(|e| ReplayError::Parse(name, e))
    }

    /// Parse replay JSON; the error says where it is wrong.
    pub fn parse(text: &str) -> Result<Self, ReplayParseError> {
        let file: ReplayFile = serde_json::from_str(text)?;
        for (index, interaction) in file.interactions.iter().enumerate() {
            let r = &interaction.response;
            let bodies = [r.json.is_some(), r.body.is_some(), r.body_base64.is_some()];
            if bodies.iter().filter(|b| **b).count() > 1 {
                return Err(ReplayParseError::SeveralBodies { index });
            }
            if let Some(b64) = &r.body_base64 {
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|error| ReplayParseError::BodyBase64 { index, error })?;
            }
        }
        Ok(file)
    }
}

/// Answers requests from a [`ReplayFile`] and hands out its connections.
#[derive(Debug, Clone)]
pub struct ReplayBroker {
    file: ReplayFile,
}

impl ReplayBroker {
    /// A broker over `file`.
    pub fn new(file: ReplayFile) -> Self {
        ReplayBroker { file }
    }

    fn find(
        &self,
        request: &OutboundRequest,
        auth: Option<&ConnectionInfo>,
    ) -> Option<&Interaction> {
        self.file.interactions.iter().find(|i| {
            let r = &i.request;
            r.method.eq_ignore_ascii_case(&request.method)
                && r.url == request.url
                && r.authorized_by
                    .as_deref()
                    .is_none_or(|p| auth.is_some_and(|a| a.provider == p))
                && r.json.as_ref().is_none_or(|expected| {
                    serde_json::from_slice::<serde_json::Value>(&request.body)
                        .is_ok_and(|actual| &actual == expected)
                })
        })
    }
}

#[async_trait]
impl HttpBroker for ReplayBroker {
    async fn send(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
    ) -> Result<InboundResponse, BrokerError> {
        let Some(interaction) = self.find(&request, auth) else {
            let recorded: Vec<String> = self
                .file
                .interactions
                .iter()
                .map(|i| format!("{} {}", i.request.method.to_uppercase(), i.request.url))
                .collect();
            let auth = auth.map_or(String::new(), |a| {
                format!(" authorised by `{}`", a.provider)
            });
            return Err(BrokerError::Denied(format!(
                "no recorded response in the replay file for {} {}{auth}; recorded: [{}]",
                request.method,
                request.url,
                recorded.join(", ")
            )));
        };
        if interaction.delay_ms > 0 {
            let delay = Duration::from_millis(interaction.delay_ms);
            if delay > request.timeout {
                tokio::time::sleep(request.timeout).await;
                return Err(BrokerError::Timeout);
            }
            tokio::time::sleep(delay).await;
        }
        let r = &interaction.response;
        let mut headers: Vec<(String, String)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let body = if let Some(json) = &r.json {
            if !headers.iter().any(|(k, _)| k == "content-type") {
                headers.push(("content-type".into(), "application/json".into()));
            }
            json.to_string().into_bytes()
        } else if let Some(text) = &r.body {
            text.clone().into_bytes()
        } else if let Some(b64) = &r.body_base64 {
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| BrokerError::InvalidRequest(format!("replay body_base64: {e}")))?
        } else {
            Vec::new()
        };
        Ok(InboundResponse {
            status: r.status,
            headers,
            body,
        })
    }
}

impl ConnectionBroker for ReplayBroker {
    fn get(&self, provider: &str) -> Result<ConnectionInfo, ConnectionError> {
        let c = self.file.connections.get(provider).ok_or_else(|| {
            ConnectionError::NotConnected(format!(
                "the replay file has no `{provider}` connection; add it under \"connections\""
            ))
        })?;
        Ok(ConnectionInfo {
            id: format!("replay-{provider}"),
            provider: provider.to_string(),
            account: c.account.clone(),
            scopes: c.scopes.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str) -> OutboundRequest {
        OutboundRequest {
            method: method.into(),
            url: url.into(),
            headers: vec![],
            body: vec![],
            timeout: Duration::from_secs(5),
            max_response_bytes: 1 << 20,
        }
    }

    #[tokio::test]
    async fn matches_method_url_and_auth() {
        let file = ReplayFile::parse(
            r#"{"connections": {"slack": {"scopes": ["a"]}},
                "interactions": [{"request": {"method": "get", "url": "https://x.test/a", "authorized_by": "slack"},
                                  "response": {"status": 201, "json": {"ok": true}}}]}"#,
        )
        .expect("valid");
        let broker = ReplayBroker::new(file);
        let conn = broker.get("slack").expect("connection");
        let ok = broker
            .send(request("GET", "https://x.test/a"), Some(&conn))
            .await
            .expect("matched");
        assert_eq!(ok.status, 201);
        assert_eq!(ok.body, br#"{"ok":true}"#);
        let unauthorised = broker.send(request("GET", "https://x.test/a"), None).await;
        assert!(
            matches!(unauthorised, Err(BrokerError::Denied(m)) if m.contains("recorded: [GET https://x.test/a]"))
        );
        assert!(broker.get("google").is_err());
    }

    #[test]
    fn bad_files_say_where() {
        let err = ReplayFile::parse(
            r#"{"interactions": [{"request": {"method": "GET", "url": "u"}, "response": {"json": 1, "body": "x"}}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("interaction 0"), "{err}");
        assert!(ReplayFile::parse(r#"{"interactoins": []}"#).is_err());
    }
}
