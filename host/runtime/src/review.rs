//! The runtime as the registry's [`Sandbox`]: a submission is inspected by
//! loading it exactly as a host would (compile, check imports and contract
//! version, run `describe()`), and its declared examples run with no
//! network: every request is refused, or answered from the replay file the
//! developer submitted.

use std::sync::Arc;

use async_trait::async_trait;
use workway_registry::SandboxLimits;
use workway_registry::review::{ExampleRun, Inspection, Sandbox};

use super::{ExecutionRequest, LoadError, Runtime};
use workway_capabilities::Capabilities;
use workway_capabilities::replay::{ReplayBroker, ReplayFile};
use workway_report::Outcome;

#[async_trait]
impl Sandbox for Runtime {
    async fn inspect(
        &self,
        component: &[u8],
        limits: &SandboxLimits,
    ) -> Result<Inspection, Vec<String>> {
        match self.load_with(component, limits).await {
            Ok(loaded) => Ok(Inspection {
                imports: loaded.imports.imports.clone(),
                inert_imports: loaded.imports.inert.clone(),
                toolkit: loaded.toolkit.describe(),
                limits: SandboxLimits {
                    instances: Some(to_u32(loaded.limits.instances)),
                    memory_mb: Some(to_u32(loaded.limits.memory_bytes >> 20)),
                    table_elements: Some(to_u32(loaded.limits.table_elements)),
                },
                contract_version: loaded.imports.contract_version.clone(),
                description: loaded.description.clone(),
                describe_fuel: loaded.describe_fuel,
            }),
            Err(LoadError::Refused(reasons)) => Err(reasons),
            Err(other) => Err(vec![other.to_string()]),
        }
    }

    async fn run_example(
        &self,
        component: &[u8],
        limits: &SandboxLimits,
        action: &str,
        input: &serde_json::Value,
        replay: Option<&str>,
    ) -> ExampleRun {
        let failed = |outcome: String| ExampleRun { fuel: 0, outcome };
        let loaded = match self.load_with(component, limits).await {
            Ok(loaded) => loaded,
            Err(e) => return failed(e.to_string()),
        };
        let mut capabilities = Capabilities::none();
        if let Some(replay) = replay {
            match ReplayFile::parse(replay) {
                Ok(file) => {
                    let broker = Arc::new(ReplayBroker::new(file));
                    capabilities.http = broker.clone();
                    capabilities.connections = broker;
                }
                Err(e) => return failed(format!("the replay file is not valid: {e}")),
            }
        }
        let report = self
            .execute(
                &loaded,
                ExecutionRequest {
                    action: action.to_string(),
                    input: input.to_string(),
                    capabilities,
                    ..Default::default()
                },
            )
            .await;
        ExampleRun {
            fuel: report.fuel_used,
            outcome: match &report.outcome {
                Outcome::Ok { .. } => "ok".to_string(),
                Outcome::IntegrationError { error } => format!("integration-error {error}"),
                Outcome::HostError { error } => format!("host-error {error}"),
            },
        }
    }
}

/// A limit as the report shows it (limits are far below `u32::MAX`).
fn to_u32(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
