//! Lean components (`workway plugin build --lean`): a wasm32-unknown-unknown
//! core module wrapped into a component imports the contract and no WASI.
//! The lean builds of the test plugins keep the whole contract, the
//! containment and the isolation of their wasm32-wasip2 builds.

use workway_host::capabilities::Capabilities;
use workway_host::report::{HostError, IntegrationError, Outcome};

use crate::support::{data, host_error, load, run, well_behaved, with_config};
use crate::well_behaved::replay;

#[tokio::test]
async fn a_lean_component_imports_only_the_contract() {
    let lean = load(workway_test_artifacts::WELL_BEHAVED_LEAN).await;
    let wasi = well_behaved().await;
    assert!(
        lean.imports
            .imports
            .iter()
            .all(|name| name.starts_with("workway:plugin/")),
        "{:?}",
        lean.imports.imports
    );
    assert!(
        wasi.imports
            .imports
            .iter()
            .any(|name| name.starts_with("wasi:")),
        "the wasm32-wasip2 build imports WASI"
    );
    assert_eq!(lean.description, wasi.description);
    assert_eq!(lean.sdk_stamp, wasi.sdk_stamp);
}

#[tokio::test]
async fn a_lean_component_runs_the_whole_contract() {
    let lean = load(workway_test_artifacts::WELL_BEHAVED_LEAN).await;

    let greet = run(
        &lean,
        "greet",
        r#"{"name": "Ada", "times": 2}"#,
        None,
        with_config(&[("greeting-word", "Hi")]),
    )
    .await;
    assert_eq!(
        data(&greet),
        &serde_json::json!({"greeting": "Hi, Ada! Hi, Ada!", "word": "Hi"})
    );
    assert!(
        greet
            .log
            .entries
            .iter()
            .any(|e| e.source == "log.info" && e.message == "greeting Ada")
    );

    let profile = run(&lean, "profile", r#"{"user": "U1"}"#, None, replay()).await;
    assert_eq!(data(&profile)["display_name"], "Ada");
    assert_eq!(profile.http_requests, 1);

    let limited = run(&lean, "rate-limited", "{}", None, Capabilities::none()).await;
    assert_eq!(
        limited.outcome,
        Outcome::IntegrationError {
            error: IntegrationError::RateLimited {
                retry_after_ms: Some(30_000),
                message: "slow down".into()
            }
        }
    );

    // About 800 KB of JSON: the SDK's allocator grows the lean module's
    // memory past its initial 2 MiB.
    let item = r#"{"name": "a longer string value here", "n": 1.5, "tags": ["x", "y"]}"#;
    let document = format!("[{}]", vec![item; 10_000].join(","));
    let input = serde_json::json!({ "document": document }).to_string();
    let transform = run(&lean, "transform", &input, None, Capabilities::none()).await;
    assert_eq!(data(&transform)["strings"], 30_000);
}

/// The isolation test of the adversarial plugin, on its lean build: the
/// lean module's statics, heap and grown memory are reset like any other.
#[tokio::test]
async fn no_state_survives_between_lean_executions() {
    let lean = load(workway_test_artifacts::ADVERSARIAL_LEAN).await;
    for round in 0..4 {
        let report = run(&lean, "leftovers", "{}", None, Capabilities::none()).await;
        assert_eq!(
            data(&report),
            &serde_json::json!({"counter": 1, "saw_marker": false, "saw_grown_marker": false}),
            "round {round}"
        );
        let dirty = run(&lean, "huge-output", "{}", None, Capabilities::none()).await;
        host_error(&dirty);
    }
}

/// Without WASI, a panic still reaches the report with its message (the
/// SDK's panic hook logs it through the contract).
#[tokio::test]
async fn a_lean_panic_is_a_trap_with_its_message() {
    let lean = load(workway_test_artifacts::ADVERSARIAL_LEAN).await;
    let report = run(&lean, "panic", "{}", None, Capabilities::none()).await;
    assert!(
        matches!(host_error(&report), HostError::Trap(m) if m.contains("the plugin gave up")),
        "{:?}",
        report.outcome
    );
}
