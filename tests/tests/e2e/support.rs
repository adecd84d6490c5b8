//! Shared set-up: one runtime per test process (as in production: one
//! engine per process), components loaded once.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use workway_capabilities::Capabilities;
use workway_report::{ExecutionReport, HostError, Outcome};
use workway_runtime::{ExecutionRequest, Limits, LoadedComponent, Runtime, RuntimeConfig};

/// The process-wide runtime.
pub fn runtime() -> &'static Runtime {
    shared()
}

/// The process-wide runtime, for what keeps a handle on it (the registry's
/// sandbox, a catalog).
pub fn shared_runtime() -> Arc<Runtime> {
    Arc::clone(shared())
}

fn shared() -> &'static Arc<Runtime> {
    static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let cache = std::env::temp_dir().join("workway-test-component-cache");
        Arc::new(
            Runtime::new(RuntimeConfig {
                cache_dir: Some(cache),
                ..RuntimeConfig::default()
            })
            .expect("runtime starts"),
        )
    })
}

/// Load a test plugin by path.
pub async fn load(path: &str) -> Arc<LoadedComponent> {
    let bytes = std::fs::read(path).expect("test plugin built");
    runtime().load(&bytes).await.expect("test plugin loads")
}

/// The well-behaved plugin.
pub async fn well_behaved() -> Arc<LoadedComponent> {
    load(workway_test_artifacts::WELL_BEHAVED).await
}

/// The adversarial plugin.
pub async fn adversarial() -> Arc<LoadedComponent> {
    load(workway_test_artifacts::ADVERSARIAL).await
}

/// Run `action` on `input` with `limits` and `capabilities`.
pub async fn run(
    component: &LoadedComponent,
    action: &str,
    input: &str,
    limits: Option<Limits>,
    capabilities: Capabilities,
) -> ExecutionReport {
    runtime()
        .execute(
            component,
            ExecutionRequest {
                action: action.into(),
                input: input.into(),
                capabilities,
                limits,
                ..Default::default()
            },
        )
        .await
}

/// Capabilities with just a configuration.
pub fn with_config(pairs: &[(&str, &str)]) -> Capabilities {
    let config: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Capabilities::none().with_config(config)
}

/// The host error of a report, or a panic that shows the report.
pub fn host_error(report: &ExecutionReport) -> &HostError {
    match &report.outcome {
        Outcome::HostError { error } => error,
        other => panic!("expected a host error, got {other:#?}"),
    }
}

/// The data of a successful report, or a panic that shows the report.
pub fn data(report: &ExecutionReport) -> &serde_json::Value {
    match &report.outcome {
        Outcome::Ok { data, .. } => data,
        other => panic!("expected success, got {other:#?}\nlog: {:#?}", report.log),
    }
}

/// Prove the host still serves: a fresh execution of a good action succeeds.
pub async fn assert_host_still_serves() {
    let component = well_behaved().await;
    let report = run(
        &component,
        "greet",
        r#"{"name": "again", "times": 1}"#,
        None,
        Capabilities::none(),
    )
    .await;
    assert_eq!(data(&report)["greeting"], "Hello, again!");
}
