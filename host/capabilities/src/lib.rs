//! The capability seam: everything a sandboxed integration can reach
//! outside its own memory goes through these traits.
//!
//! The runtime counts, caps and reports each use; a broker decides whether
//! and how a request reaches the world:
//!
//! This crate is the seam only: it knows no engine, no database and no
//! network stack. The brokers that reach the world live above it:
//! `workway-egress` (the production HTTP broker, with credentials from a
//! [`CredentialSource`]), `workway-vault` (connections and command-line
//! tokens) and `workway-engine` (an installation's capabilities). Here:
//!
//! - [`deny::DenyAll`] refuses everything; [`replay::ReplayBroker`] answers
//!   from a replay file and [`record::Recorder`] writes one, for offline
//!   development;
//! - [`secret::Secret`]: a value that never prints.

pub mod deny;
pub mod record;
pub mod replay;
pub mod secret;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use workway_registry::hosts::HostPattern;

use crate::secret::Secret;

/// Hop-by-hop, routing and framing headers: the transport sets them, no
/// caller does.
pub const TRANSPORT_HEADERS: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// Whether `name` is a transport header (see [`TRANSPORT_HEADERS`]) or a
/// proxy header.
pub fn is_transport_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    TRANSPORT_HEADERS.contains(&name.as_str()) || name.starts_with("proxy-")
}

/// Whether a guest may not set header `name`: credentials (only the host
/// attaches them, from a connection), and transport and proxy headers.
pub fn is_forbidden_for_guests(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("cookie")
        || is_transport_header(name)
}

/// An outbound HTTP request as the guest asked for it, after the runtime's
/// own checks (header rules, size caps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRequest {
    /// Upper-case method (`GET`).
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// How long the broker may take, already capped by the execution's deadline.
    pub timeout: Duration,
    /// The most response body bytes the broker may read (the execution's
    /// `Limits.http_response_bytes`); a longer body is `TooLarge`.
    pub max_response_bytes: usize,
}

/// An upstream's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// Policy refused the request: the execution ends with `capability-denied`.
    #[error("{0}")]
    Denied(String),
    /// The request is malformed; the guest gets `invalid-request`.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The upstream could not be reached; the guest gets `network`.
    #[error("network: {0}")]
    Network(String),
    /// The request timed out; the guest gets `timeout`.
    #[error("timed out")]
    Timeout,
    /// A body was over the size allowed; the guest gets `too-large`.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The connection's grant cannot be used any more (refresh failed, the
    /// user revoked it): the execution ends with the integration error
    /// `auth-expired` carrying this reason, and the user must reconnect.
    #[error("auth expired: {0}")]
    AuthExpired(String),
}

/// Non-secret facts about one of the user's connections. The token stays
/// with the broker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionInfo {
    /// The connection's id in the vault.
    pub id: String,
    /// The OAuth provider.
    pub provider: String,
    /// The account name, when known.
    pub account: Option<String>,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// Why no connection was handed out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// The user has not connected this provider.
    #[error("{0}")]
    NotConnected(String),
    /// The integration did not declare the provider.
    #[error("{0}")]
    NotDeclared(String),
}

/// Sends outbound requests for a guest.
#[async_trait]
pub trait HttpBroker: Send + Sync {
    /// Send `request`, authorised with `auth`'s grant when given.
    async fn send(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
    ) -> Result<InboundResponse, BrokerError>;

    /// [`send`](Self::send) for an execution whose request cap is `budget`:
    /// the request itself is already counted, and every redirect hop the
    /// broker follows takes one more request from `budget` (a hop past the
    /// cap is `TooLarge`). Brokers that follow no redirects keep this default.
    async fn send_counted(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
        budget: &RequestBudget,
    ) -> Result<InboundResponse, BrokerError> {
        let _ = budget;
        self.send(request, auth).await
    }
}

/// The outbound requests one execution may make, shared with its broker so
/// that redirect hops count as requests too.
#[derive(Debug)]
pub struct RequestBudget {
    used: std::sync::atomic::AtomicU32,
    max: u32,
}

impl RequestBudget {
    /// A budget of `max` requests, none used.
    pub fn new(max: u32) -> Self {
        RequestBudget {
            used: std::sync::atomic::AtomicU32::new(0),
            max,
        }
    }

    /// Count one request; `false` (and nothing counted) when all are used.
    pub fn try_take(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used < self.max).then_some(used + 1)
            })
            .is_ok()
    }

    /// Requests counted so far.
    pub fn used(&self) -> u32 {
        self.used.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The most requests allowed.
    pub fn max(&self) -> u32 {
        self.max
    }

    /// Why a request past the cap is refused.
    pub fn exhausted_message(&self) -> String {
        format!(
            "this execution already made {} requests (each redirect hop counts as one), the most allowed",
            self.max
        )
    }
}

/// Where the HTTP broker gets a connection's credentials. The vault
/// implements it; the guest never sees what it returns.
#[async_trait]
pub trait CredentialSource: Send + Sync {
    /// The hosts `provider`'s bearer token may be sent to (its own API
    /// hosts), or `None` for a provider the platform does not know.
    fn api_hosts(&self, provider: &str) -> Option<Vec<HostPattern>>;

    /// A current access token for `connection`, refreshed first when it
    /// expires soon. `BrokerError::AuthExpired` when the grant is unusable.
    async fn access_token(&self, connection: &ConnectionInfo) -> Result<Secret, BrokerError>;

    /// The provider answered 401 to `rejected`: refresh the grant unless
    /// another execution already replaced that token, and return the token
    /// to retry with, or `None` when the grant cannot be refreshed (the
    /// 401 then goes back to the guest).
    async fn token_rejected(
        &self,
        connection: &ConnectionInfo,
        rejected: &Secret,
    ) -> Result<Option<Secret>, BrokerError>;
}

/// Hands out connection handles.
pub trait ConnectionBroker: Send + Sync {
    /// The connection of this execution for `provider`.
    fn get(&self, provider: &str) -> Result<ConnectionInfo, ConnectionError>;
}

/// What one execution may reach: its brokers and its installation's
/// configuration.
#[derive(Clone)]
pub struct Capabilities {
    /// Outbound HTTP.
    pub http: Arc<dyn HttpBroker>,
    /// Connections.
    pub connections: Arc<dyn ConnectionBroker>,
    /// The installation's configuration.
    pub config: Arc<BTreeMap<String, String>>,
}

impl Capabilities {
    /// Nothing reachable: every request is denied, no connection exists,
    /// configuration is empty.
    pub fn none() -> Self {
        Capabilities {
            http: Arc::new(deny::DenyAll),
            connections: Arc::new(deny::DenyAll),
            config: Arc::new(BTreeMap::new()),
        }
    }

    /// The same brokers with `config` as the configuration.
    pub fn with_config(mut self, config: BTreeMap<String, String>) -> Self {
        self.config = Arc::new(config);
        self
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Self::none()
    }
}
