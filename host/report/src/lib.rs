//! The execution report: what every execution returns, success or not,
//! with its typed errors, the limits it ran under ([`config`]) and how it
//! is metered and billed ([`metering`]).
//!
//! Plain data with no engine: the runtime fills it, the workflow
//! language's retry policy decides on its typed errors, and the engine
//! stores it, without any of them depending on wasmtime.

pub mod config;
pub mod metering;

pub use config::{Limits, MeteringConfig, RuntimeConfig};

use serde::{Deserialize, Serialize};

use crate::metering::BillingClass;

/// The one answer of an execution: the action's result, the plugin's typed
/// error, or the host's typed reason for stopping it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum Outcome {
    /// The action succeeded.
    Ok {
        /// Its output, matching the action's output schema.
        data: serde_json::Value,
        /// Metadata the action attached.
        metadata: Vec<(String, String)>,
    },
    /// The action failed with a typed integration error.
    IntegrationError {
        /// The error.
        error: IntegrationError,
    },
    /// The host stopped or refused the execution.
    HostError {
        /// Why.
        error: HostError,
    },
}

impl Outcome {
    /// Whether the action succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. })
    }
}

/// A typed failure reported by the plugin itself, mirroring the WIT
/// `integration-error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum IntegrationError {
    /// The grant expired: refresh and retry once.
    #[error("auth-expired: {message}")]
    AuthExpired {
        /// The service's message.
        message: String,
    },
    /// Rate limited: retry after the delay.
    #[error("rate-limited (retry after {retry_after_ms:?} ms): {message}")]
    RateLimited {
        /// Milliseconds to wait, when the service said.
        retry_after_ms: Option<u64>,
        /// The service's message.
        message: String,
    },
    /// The input is wrong.
    #[error("invalid-input: {message}")]
    InvalidInput {
        /// What is wrong.
        message: String,
    },
    /// The referenced thing does not exist.
    #[error("not-found: {message}")]
    NotFound {
        /// What was not found.
        message: String,
    },
    /// The grant does not allow it.
    #[error("permission-denied: {message}")]
    PermissionDenied {
        /// The service's message.
        message: String,
    },
    /// The service failed.
    #[error("upstream ({status}): {message}")]
    Upstream {
        /// HTTP status.
        status: u16,
        /// The service's message.
        message: String,
    },
    /// The service could not be reached.
    #[error("network: {message}")]
    Network {
        /// What failed.
        message: String,
    },
    /// A bug inside the integration.
    #[error("internal: {message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl IntegrationError {
    /// The error's kebab-case kind, as the report and CLI show it.
    pub fn kind(&self) -> &'static str {
        match self {
            IntegrationError::AuthExpired { .. } => "auth-expired",
            IntegrationError::RateLimited { .. } => "rate-limited",
            IntegrationError::InvalidInput { .. } => "invalid-input",
            IntegrationError::NotFound { .. } => "not-found",
            IntegrationError::PermissionDenied { .. } => "permission-denied",
            IntegrationError::Upstream { .. } => "upstream",
            IntegrationError::Network { .. } => "network",
            IntegrationError::Internal { .. } => "internal",
        }
    }
}

/// Why the host stopped or refused an execution. The guest cannot forge
/// these: they come from the sandbox itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum HostError {
    /// The input is not JSON, is too large, or fails the action's input schema;
    /// the guest did not run.
    #[error("input-invalid: {0}")]
    InputInvalid(String),
    /// The component has no such action; the guest did not run.
    #[error("unknown-action: {0}")]
    UnknownAction(String),
    /// The guest burned all its fuel.
    #[error("fuel-exhausted: {0}")]
    FuelExhausted(String),
    /// The wall-clock deadline passed.
    #[error("timeout: {0}")]
    Timeout(String),
    /// The guest tried to grow memory or tables past the limit.
    #[error("memory-limit: {0}")]
    MemoryLimit(String),
    /// The guest trapped (panic, stack overflow, unreachable, exit).
    #[error("trap: {0}")]
    Trap(String),
    /// The guest asked for something it was not granted.
    #[error("capability-denied: {0}")]
    CapabilityDenied(String),
    /// The output is not JSON, too large, or fails the output schema.
    #[error("output-invalid: {0}")]
    OutputInvalid(String),
    /// The host itself failed to run the execution.
    #[error("internal: {0}")]
    Internal(String),
}

impl HostError {
    /// The error's kebab-case kind, as the report and CLI show it.
    pub fn kind(&self) -> &'static str {
        match self {
            HostError::InputInvalid(_) => "input-invalid",
            HostError::UnknownAction(_) => "unknown-action",
            HostError::FuelExhausted(_) => "fuel-exhausted",
            HostError::Timeout(_) => "timeout",
            HostError::MemoryLimit(_) => "memory-limit",
            HostError::Trap(_) => "trap",
            HostError::CapabilityDenied(_) => "capability-denied",
            HostError::OutputInvalid(_) => "output-invalid",
            HostError::Internal(_) => "internal",
        }
    }
}

/// One line of an execution's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Where it came from: `log` (with its level), `stdout` or `stderr`.
    pub source: String,
    /// The text.
    pub message: String,
}

/// The execution's log, capped in size: message bytes plus a fixed cost per
/// entry ([`crate::config::LOG_ENTRY_BYTES`]), so empty lines count too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionLog {
    /// The entries kept, in order.
    pub entries: Vec<LogEntry>,
    /// Message bytes dropped after the cap was reached.
    pub dropped_bytes: u64,
    /// Entries dropped (wholly) after the cap was reached.
    #[serde(default)]
    pub dropped_entries: u64,
}

impl ExecutionLog {
    /// Whether anything was dropped.
    pub fn truncated(&self) -> bool {
        self.dropped_bytes > 0 || self.dropped_entries > 0
    }
}

/// A text the guest handed out that the host cut to its limit
/// ([`crate::config::Limits::message_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// What was cut, e.g. `error.message`.
    pub field: String,
    /// Its length as the guest gave it, in bytes.
    pub original_bytes: u64,
    /// What the report keeps of it, in bytes.
    pub kept_bytes: u64,
}

/// Everything measured about one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecutionReport {
    /// Unique id of the execution.
    pub execution_id: String,
    /// The component's digest.
    pub digest: String,
    /// The action run.
    pub action: String,
    /// What happened.
    pub outcome: Outcome,
    /// Fuel the guest burned.
    pub fuel_used: u64,
    /// Calls into the host's brokered imports.
    pub host_calls: u64,
    /// Compute units those calls cost.
    pub host_call_units: u64,
    /// Outbound HTTP requests made.
    pub http_requests: u32,
    /// Bytes into the sandbox (input and response bodies).
    pub bytes_in: u64,
    /// Bytes out of the sandbox (output and request bodies).
    pub bytes_out: u64,
    /// Total compute units: fuel, host calls and bytes moved.
    pub compute_units: u64,
    /// Light or heavy, by the configured threshold.
    pub billing_class: BillingClass,
    /// Wall time of the whole execution, in microseconds.
    pub wall_time_us: u64,
    /// The captured log.
    pub log: ExecutionLog,
    /// Guest-supplied texts cut to their limit; empty when nothing was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub truncated: Vec<Truncation>,
}
