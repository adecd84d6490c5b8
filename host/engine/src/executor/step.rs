//! One attempt of one step: the pinned integration resolved through the
//! catalog (still approved, same digest), its capabilities for the run's
//! owner, one isolated execution, and the outcome as stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::capabilities::capabilities_for;
use crate::catalog::CatalogError;
use workway_report::{ExecutionReport, HostError, IntegrationError, Outcome};
use workway_runtime::ExecutionRequest;
use workway_vault::credentials::ExecutionConnections;
use workway_workflow::retry::Failure;

use super::Executor;
use crate::installations::Pin;

/// A step's failure as stored with its attempt and shown to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepError {
    /// Who reported it: `integration` (the plugin's typed error), `host`
    /// (the sandbox stopped or refused the execution), `workflow` (the
    /// input template or condition) or `platform` (the integration cannot
    /// run: not installed, revoked, store unreachable).
    pub source: String,
    /// The kebab-case kind (`rate-limited`, `fuel-exhausted`, `template`, ...).
    pub kind: String,
    /// What happened.
    pub message: String,
    /// For `upstream`: the service's HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// For `rate-limited`: how long the service asked to wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl StepError {
    fn new(source: &str, kind: &str, message: impl Into<String>) -> StepError {
        StepError {
            source: source.into(),
            kind: kind.into(),
            message: message.into(),
            status: None,
            retry_after_ms: None,
        }
    }

    /// A failure of the workflow's own input template or condition.
    pub fn workflow(kind: &str, message: impl Into<String>) -> StepError {
        StepError::new("workflow", kind, message)
    }

    /// The platform cannot run the step.
    pub fn platform(kind: &str, message: impl Into<String>) -> StepError {
        StepError::new("platform", kind, message)
    }

    fn from_integration(error: &IntegrationError) -> StepError {
        let (kind, message, status, retry_after_ms) = match error {
            IntegrationError::AuthExpired { message } => ("auth-expired", message, None, None),
            IntegrationError::RateLimited {
                retry_after_ms,
                message,
            } => ("rate-limited", message, None, *retry_after_ms),
            IntegrationError::InvalidInput { message } => ("invalid-input", message, None, None),
            IntegrationError::NotFound { message } => ("not-found", message, None, None),
            IntegrationError::PermissionDenied { message } => {
                ("permission-denied", message, None, None)
            }
            IntegrationError::Upstream { status, message } => {
                ("upstream", message, Some(*status), None)
            }
            IntegrationError::Network { message } => ("network", message, None, None),
            IntegrationError::Internal { message } => ("internal", message, None, None),
        };
        StepError {
            status,
            retry_after_ms,
            ..StepError::new("integration", kind, message.clone())
        }
    }

    fn from_host(error: &HostError) -> StepError {
        let message = match error {
            HostError::InputInvalid(m)
            | HostError::UnknownAction(m)
            | HostError::FuelExhausted(m)
            | HostError::Timeout(m)
            | HostError::MemoryLimit(m)
            | HostError::Trap(m)
            | HostError::CapabilityDenied(m)
            | HostError::OutputInvalid(m)
            | HostError::Internal(m) => m.clone(),
        };
        StepError::new("host", error.kind(), message)
    }

    /// The failure as the retry rules see it.
    pub fn failure(&self) -> Failure<'_> {
        match (self.source.as_str(), self.kind.as_str()) {
            ("integration", "auth-expired") => Failure::AuthExpired,
            ("integration", "rate-limited") => Failure::RateLimited {
                retry_after_ms: self.retry_after_ms,
            },
            ("integration", "network") => Failure::Network,
            ("integration", "upstream") => Failure::Upstream {
                status: self.status.unwrap_or(500),
            },
            ("integration", "invalid-input") => Failure::InvalidInput,
            ("integration", "not-found") => Failure::NotFound,
            ("integration", "permission-denied") => Failure::PermissionDenied,
            ("integration", _) => Failure::Internal,
            // The store or registry could not be reached: transient.
            ("platform", "unavailable") => Failure::Network,
            (_, kind) => Failure::Host { kind },
        }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} ({status}): {}", self.kind, self.message),
            None => write!(f, "{}: {}", self.kind, self.message),
        }
    }
}

/// What one attempt produced.
pub(super) struct AttemptOutcome {
    /// The action's result envelope (`{"data": ..., "metadata": {...}}`), or why not.
    pub result: Result<serde_json::Value, StepError>,
    /// The execution report, when the guest was started.
    pub report: Option<ExecutionReport>,
    /// The connections the execution was given, for a refresh after `auth-expired`.
    pub connections: Option<ExecutionConnections>,
}

impl AttemptOutcome {
    fn refused(error: StepError) -> AttemptOutcome {
        AttemptOutcome {
            result: Err(error),
            report: None,
            connections: None,
        }
    }
}

/// Everything one attempt needs.
pub(super) struct AttemptRequest<'a> {
    pub owner: &'a str,
    pub integration: &'a str,
    pub action: &'a str,
    pub pin: Option<&'a Pin>,
    pub input: &'a serde_json::Value,
    pub idempotency_key: &'a str,
}

impl Executor {
    /// Run one attempt of a step. Never fails: every problem is a [`StepError`].
    pub(super) async fn attempt(&self, request: AttemptRequest<'_>) -> AttemptOutcome {
        let AttemptRequest {
            owner,
            integration,
            action,
            pin,
            input,
            idempotency_key,
        } = request;
        let Some(pin) = pin else {
            return AttemptOutcome::refused(StepError::platform(
                "not-installed",
                format!(
                    "the run did not pin `{integration}`: it was not installed when the run started"
                ),
            ));
        };
        let approved = match self
            .platform
            .catalog
            .get(integration, Some(&pin.version))
            .await
        {
            Ok(approved) => approved,
            Err(e) => return AttemptOutcome::refused(catalog_error(&e)),
        };
        if approved.claims.digest.to_string() != pin.digest {
            return AttemptOutcome::refused(StepError::platform(
                "pin-mismatch",
                format!(
                    "`{integration}` {} is now approved as {}, not the {} this run pinned; start a new run",
                    pin.version, approved.claims.digest, pin.digest
                ),
            ));
        }
        let installation = match capabilities_for(
            &self.platform.egress,
            &self.platform.vault,
            &approved.claims,
            owner,
            pin.config.clone(),
        )
        .await
        {
            Ok(c) => c,
            Err(e) => {
                return AttemptOutcome::refused(StepError::platform(
                    "unavailable",
                    format!("cannot read the connections: {e}"),
                ));
            }
        };
        let report = self
            .platform
            .runtime
            .execute(
                &approved.component,
                ExecutionRequest {
                    action: action.to_string(),
                    input: input.to_string(),
                    capabilities: installation.capabilities,
                    idempotency_key: Some(idempotency_key.to_string()),
                    ..Default::default()
                },
            )
            .await;
        crate::metrics::execution(&report);
        let result = match &report.outcome {
            Outcome::Ok { data, metadata } => Ok(serde_json::json!({
                "data": data,
                "metadata": metadata.iter().cloned().collect::<BTreeMap<String, String>>(),
            })),
            Outcome::IntegrationError { error } => Err(StepError::from_integration(error)),
            Outcome::HostError { error } => Err(StepError::from_host(error)),
        };
        AttemptOutcome {
            result,
            report: Some(report),
            connections: Some(installation.connections),
        }
    }
}

fn catalog_error(error: &CatalogError) -> StepError {
    match error {
        CatalogError::Revoked { .. } => StepError::platform("revoked", error.to_string()),
        CatalogError::Registry(crate::review::RegistryError::Store(_)) => {
            StepError::platform("unavailable", error.to_string())
        }
        _ => StepError::platform("not-approved", error.to_string()),
    }
}
