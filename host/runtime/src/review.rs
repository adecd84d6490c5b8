//! The runtime as the registry's [`Sandbox`]: a submission is inspected by
//! loading it exactly as a host would (compile, check imports and contract
//! version, run `describe()`), and its declared examples run with no
//! network: every request is refused, or answered from the replay file the
//! developer submitted.

use std::sync::Arc;

use async_trait::async_trait;
use workway_registry::review::{ExampleRun, Inspection, Sandbox};

use super::{ExecutionRequest, LoadError, Runtime};
use workway_capabilities::Capabilities;
use workway_capabilities::replay::{ReplayBroker, ReplayFile};
use workway_report::Outcome;

#[async_trait]
impl Sandbox for Runtime {
    async fn inspect(&self, component: &[u8]) -> Result<Inspection, Vec<String>> {
        match self.load(component).await {
            Ok(loaded) => Ok(Inspection {
                imports: loaded.imports.imports.clone(),
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
        action: &str,
        input: &serde_json::Value,
        replay: Option<&str>,
    ) -> ExampleRun {
        let failed = |outcome: String| ExampleRun { fuel: 0, outcome };
        let loaded = match self.load(component).await {
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
