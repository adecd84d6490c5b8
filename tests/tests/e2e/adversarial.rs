//! Adversarial plugins: each is contained with its typed error, well
//! before the deadline unless the deadline is the point, and the host
//! keeps serving afterwards.

use std::sync::Arc;
use std::time::{Duration, Instant};

use workway_host::capabilities::Capabilities;
use workway_host::capabilities::replay::{ReplayBroker, ReplayFile};
use workway_host::report::{HostError, Outcome};
use workway_host::{Limits, LoadError, LoadedComponent};

use crate::support::{adversarial, assert_host_still_serves, data, host_error, run, runtime};

fn limits(fuel: u64, timeout_ms: u64) -> Limits {
    Limits {
        fuel,
        timeout_ms,
        ..Limits::default()
    }
}

/// Run an adversarial action; return its host error and how long it took.
async fn contain(
    action: &str,
    limits: Limits,
    capabilities: Capabilities,
) -> (HostError, Duration) {
    let component = adversarial().await;
    let started = Instant::now();
    let report = run(&component, action, "{}", Some(limits), capabilities).await;
    let elapsed = started.elapsed();
    let error = host_error(&report).clone();
    assert_host_still_serves().await;
    (error, elapsed)
}

#[tokio::test]
async fn an_infinite_loop_runs_out_of_fuel() {
    let (error, elapsed) = contain("spin", limits(50_000_000, 10_000), Capabilities::none()).await;
    assert!(matches!(error, HostError::FuelExhausted(_)), "{error}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn an_infinite_loop_with_plenty_of_fuel_hits_the_deadline() {
    let (error, elapsed) = contain("spin", limits(u64::MAX / 2, 300), Capabilities::none()).await;
    assert!(matches!(error, HostError::Timeout(_)), "{error}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn sleeping_in_a_wasi_call_hits_the_deadline() {
    let (error, elapsed) = contain("sleep", limits(1_000_000_000, 300), Capabilities::none()).await;
    assert!(matches!(error, HostError::Timeout(_)), "{error}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn blocking_in_the_http_host_call_hits_the_deadline() {
    let replay = ReplayFile::parse(
        r#"{"interactions": [{"request": {"method": "GET", "url": "https://slow.example.com/"},
                              "response": {"status": 200}, "delay_ms": 60000}]}"#,
    )
    .expect("valid replay");
    let caps = Capabilities {
        http: Arc::new(ReplayBroker::new(replay)),
        ..Capabilities::none()
    };
    let component = adversarial().await;
    let started = Instant::now();
    let report = run(
        &component,
        "slow-upstream",
        "{}",
        Some(limits(1_000_000_000, 300)),
        caps,
    )
    .await;
    let elapsed = started.elapsed();
    // The broker's own timeout is capped by the deadline, so the guest sees
    // a network error or the execution times out; either way, promptly.
    match &report.outcome {
        Outcome::HostError {
            error: HostError::Timeout(_),
        }
        | Outcome::IntegrationError { .. } => {}
        other => panic!("unexpected {other:#?}"),
    }
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    assert_host_still_serves().await;
}

#[tokio::test]
async fn unapproved_hosts_are_capability_denied() {
    let (error, _) = contain("exfiltrate", Limits::default(), Capabilities::none()).await;
    assert!(
        matches!(&error, HostError::CapabilityDenied(m) if m.contains("attacker.example.net")),
        "{error}"
    );
}

#[tokio::test]
async fn unbounded_memory_growth_hits_the_memory_limit() {
    let limits = Limits {
        memory_bytes: 16 << 20,
        ..Limits::default()
    };
    let (error, elapsed) = contain("grow-memory", limits, Capabilities::none()).await;
    assert!(matches!(error, HostError::MemoryLimit(_)), "{error}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn deep_recursion_traps_without_crashing_the_host() {
    let (error, elapsed) =
        contain("recurse-forever", Limits::default(), Capabilities::none()).await;
    assert!(
        matches!(&error, HostError::Trap(m) if m.contains("stack")),
        "{error}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn a_panic_is_a_trap_with_its_message() {
    let (error, _) = contain("panic", Limits::default(), Capabilities::none()).await;
    assert!(
        matches!(&error, HostError::Trap(m) if m.contains("the plugin gave up")),
        "{error}"
    );
}

#[tokio::test]
async fn exit_is_a_trap() {
    let (error, _) = contain("exit", Limits::default(), Capabilities::none()).await;
    assert!(
        matches!(&error, HostError::Trap(m) if m.contains("called exit(")),
        "{error}"
    );
}

#[tokio::test]
async fn huge_output_is_refused() {
    let (error, _) = contain("huge-output", Limits::default(), Capabilities::none()).await;
    assert!(
        matches!(&error, HostError::OutputInvalid(m) if m.contains("limit")),
        "{error}"
    );
}

#[tokio::test]
async fn log_flooding_is_truncated() {
    let component = adversarial().await;
    let limits = Limits {
        log_bytes: 16 << 10,
        ..Limits::default()
    };
    let report = run(
        &component,
        "flood-logs",
        "{}",
        Some(limits),
        Capabilities::none(),
    )
    .await;
    data(&report);
    let kept: usize = report.log.entries.iter().map(|e| e.message.len()).sum();
    assert!(kept <= 16 << 10, "{kept} bytes kept");
    assert!(report.log.truncated());
    assert!(
        report.log.dropped_bytes > 1 << 20,
        "{}",
        report.log.dropped_bytes
    );
    let sources: std::collections::BTreeSet<&str> = report
        .log
        .entries
        .iter()
        .map(|e| e.source.as_str())
        .collect();
    assert!(
        sources.contains("log.info") && sources.contains("stdout"),
        "{sources:?}"
    );
    assert_host_still_serves().await;
}

/// Slots of the instance pool are reused with their dirty pages reset in
/// place; nothing one execution wrote (globals, static memory, grown
/// memory, heap) may be visible to the next, even after executions that
/// dirty megabytes of memory.
#[tokio::test]
async fn no_state_survives_between_executions() {
    let component = adversarial().await;
    assert_no_state_survives(&component).await;
}

/// Alternate `leftovers` with an execution that dirties megabytes: every
/// `leftovers` starts from the component's pristine state.
pub(crate) async fn assert_no_state_survives(component: &LoadedComponent) {
    for round in 0..4 {
        let report = run(component, "leftovers", "{}", None, Capabilities::none()).await;
        assert_eq!(
            data(&report),
            &serde_json::json!({"counter": 1, "saw_marker": false, "saw_grown_marker": false}),
            "round {round}"
        );
        let dirty = run(component, "huge-output", "{}", None, Capabilities::none()).await;
        host_error(&dirty);
    }
}

async fn refused(path: &str) -> Vec<String> {
    let bytes = std::fs::read(path).expect("test plugin built");
    match runtime().load(&bytes).await {
        Err(LoadError::Refused(reasons)) => reasons,
        Err(other) => panic!("expected a refusal, got {other}"),
        Ok(_) => panic!("{path} loaded but must be refused"),
    }
}

#[tokio::test]
async fn filesystem_imports_are_refused_at_load() {
    let reasons = refused(workway_test_artifacts::IMPORTS_FILESYSTEM).await;
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("wasi:filesystem/") && r.contains("std::fs")),
        "{reasons:#?}"
    );
    assert_host_still_serves().await;
}

#[tokio::test]
async fn socket_imports_are_refused_at_load() {
    let reasons = refused(workway_test_artifacts::IMPORTS_SOCKETS).await;
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("wasi:sockets/") && r.contains("workway_sdk::http")),
        "{reasons:#?}"
    );
    assert_host_still_serves().await;
}
