//! Lean components (`workway plugin build --lean`): a wasm32-unknown-unknown
//! core module wrapped into a component imports the contract and no WASI.
//! The lean builds of the test plugins keep the whole contract, the
//! containment and the isolation of their wasm32-wasip2 builds.

use workway_capabilities::Capabilities;
use workway_report::{HostError, IntegrationError, Outcome};

use crate::adversarial::assert_no_state_survives;
use crate::support::{data, host_error, load, run, well_behaved};
use crate::well_behaved::{assert_greets, assert_transform_grows_memory, replay};

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

    assert_greets(&lean).await;

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

    // The SDK's allocator grows the lean module's memory past its initial
    // 2 MiB.
    assert_transform_grows_memory(&lean).await;
}

/// The isolation test of the adversarial plugin, on its lean build: the
/// lean module's statics, heap and grown memory are reset like any other.
#[tokio::test]
async fn no_state_survives_between_lean_executions() {
    let lean = load(workway_test_artifacts::ADVERSARIAL_LEAN).await;
    assert_no_state_survives(&lean).await;
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

/// A lean component has no clock: `SystemTime::now` panics, and the report
/// shows that panic's message; the wasm32-wasip2 build reads the clock.
#[tokio::test]
async fn a_lean_clock_read_is_a_trap_with_its_message() {
    let lean = load(workway_test_artifacts::ADVERSARIAL_LEAN).await;
    let report = run(&lean, "read-clock", "{}", None, Capabilities::none()).await;
    assert!(
        matches!(host_error(&report), HostError::Trap(m)
            if m.contains("the guest panicked") && m.contains("time not implemented")),
        "{:?}",
        report.outcome
    );
    let wasi = load(workway_test_artifacts::ADVERSARIAL).await;
    let report = run(&wasi, "read-clock", "{}", None, Capabilities::none()).await;
    assert!(
        data(&report)["unix_seconds"].as_u64() > Some(1_600_000_000),
        "{report:?}"
    );
}
