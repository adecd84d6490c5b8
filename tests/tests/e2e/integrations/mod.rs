//! The first-party integrations (`plugins/`) end to end: each component in
//! the sandbox, reaching its service's mock over TLS through the production
//! egress broker (the manifest's hosts approved, the service's host name
//! pointed at the mock by an explicit override, a test CA trusted), with
//! the token attached by the host; and each one offline against its replay
//! file.

mod chained;
mod gmail;
mod notion;
mod secrets;
mod slack;
mod stripe;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use workway_capabilities::Capabilities;
use workway_capabilities::replay::{ReplayBroker, ReplayFile};
use workway_egress::{Egress, EgressConfig};
use workway_mocks::TestCa;
use workway_registry::Manifest;
use workway_report::{ExecutionReport, IntegrationError, Outcome};
use workway_runtime::{ExecutionRequest, LoadedComponent};
use workway_test_artifacts::first_party;
use workway_vault::oauth::providers::ProviderRegistry;
use workway_vault::static_tokens::StaticTokens;

use crate::support::{load, runtime};

/// A first-party integration: its component, loaded, and its manifest.
pub struct Integration {
    /// The integration's name (`gmail`).
    pub name: &'static str,
    /// The component, compiled once per test process.
    pub component: Arc<LoadedComponent>,
    /// Its `workway.toml`.
    pub manifest: Manifest,
}

impl Integration {
    /// Load the first-party integration `name` and its manifest.
    pub async fn load(name: &'static str) -> Self {
        let path = match name {
            "gmail" => first_party::GMAIL,
            "notion" => first_party::NOTION,
            "slack" => first_party::SLACK,
            "stripe" => first_party::STRIPE,
            other => panic!("no first-party integration `{other}`"),
        };
        let manifest = Manifest::from_file(&Self::dir(name).join("workway.toml"))
            .expect("the manifest is valid");
        Integration {
            name,
            component: load(path).await,
            manifest,
        }
    }

    /// The integration's source folder (`plugins/<name>`).
    pub fn dir(name: &str) -> PathBuf {
        PathBuf::from(first_party::DIR).join(name)
    }

    /// Run `action` on `input` with `capabilities`.
    pub async fn run(
        &self,
        capabilities: &Capabilities,
        action: &str,
        input: serde_json::Value,
    ) -> ExecutionReport {
        self.run_with_key(capabilities, action, input, None).await
    }

    /// Run `action` as one attempt of a workflow step with `idempotency_key`.
    pub async fn run_with_key(
        &self,
        capabilities: &Capabilities,
        action: &str,
        input: serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> ExecutionReport {
        runtime()
            .execute(
                &self.component,
                ExecutionRequest {
                    action: action.into(),
                    input: input.to_string(),
                    capabilities: capabilities.clone(),
                    idempotency_key: idempotency_key.map(str::to_string),
                    ..Default::default()
                },
            )
            .await
    }

    /// Capabilities answering from the integration's `replay.json`, as
    /// `workway plugin run --replay plugins/<name>/replay.json` does.
    pub fn replay(&self) -> Capabilities {
        let file = ReplayFile::load(&Self::dir(self.name).join("replay.json"))
            .expect("the replay file is valid");
        let broker = Arc::new(ReplayBroker::new(file));
        let mut capabilities = Capabilities::none();
        capabilities.http = broker.clone();
        capabilities.connections = broker;
        capabilities
    }

    /// The manifest's example input of `action`.
    pub fn example(&self, action: &str) -> serde_json::Value {
        self.manifest.actions[action]
            .example
            .clone()
            .unwrap_or_else(|| panic!("{}: action `{action}` has no example", self.name))
    }
}

/// The outside world of one test: a CA the sandbox's broker trusts, for
/// the service mocks' certificates.
pub struct World {
    /// Signs each mock's certificate.
    pub ca: TestCa,
    ca_pem: PathBuf,
    _dir: tempfile::TempDir,
}

impl World {
    /// The CA's certificate file (PEM), for brokers built by hand.
    pub fn ca_pem(&self) -> &std::path::Path {
        &self.ca_pem
    }

    /// A fresh CA.
    pub fn new() -> Self {
        let ca = TestCa::new();
        let dir = tempfile::tempdir().expect("temp dir");
        let ca_pem = ca.write_pem(dir.path());
        World {
            ca,
            ca_pem,
            _dir: dir,
        }
    }

    /// What `integration` may reach in production (its manifest's hosts,
    /// through the egress broker), with each `(host, port)` of `upstreams`
    /// sent to the mock on `127.0.0.1:port`, and `tokens` as
    /// `(provider, token)` connections attached by the host.
    pub fn capabilities(
        &self,
        integration: &Integration,
        upstreams: &[(&str, u16)],
        tokens: &[(&str, &str)],
    ) -> Capabilities {
        let config = EgressConfig {
            overrides: upstreams
                .iter()
                .map(|(host, port)| format!("{host}:443=127.0.0.1:{port}"))
                .collect(),
            extra_root_certificates: vec![self.ca_pem.clone()],
            ..EgressConfig::default()
        };
        let pairs: Vec<String> = tokens.iter().map(|(p, t)| format!("{p}={t}")).collect();
        let tokens = Arc::new(
            StaticTokens::parse(Arc::new(ProviderRegistry::builtin()), &pairs)
                .expect("known providers"),
        );
        let egress = Arc::new(
            Egress::new(config)
                .expect("egress")
                .with_credentials(tokens.clone()),
        );
        Capabilities {
            http: Arc::new(egress.broker(integration.manifest.host_patterns())),
            connections: tokens,
            config: Arc::new(BTreeMap::new()),
        }
    }
}

/// The integration error of a report, or a panic that shows the report.
pub fn integration_error(report: &ExecutionReport) -> &IntegrationError {
    match &report.outcome {
        Outcome::IntegrationError { error } => error,
        other => panic!(
            "expected an integration error, got {other:#?}\nlog: {:#?}",
            report.log
        ),
    }
}

/// The metadata of a successful report.
pub fn metadata(report: &ExecutionReport) -> &[(String, String)] {
    match &report.outcome {
        Outcome::Ok { metadata, .. } => metadata,
        other => panic!("expected success, got {other:#?}"),
    }
}
