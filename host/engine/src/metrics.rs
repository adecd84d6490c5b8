//! The metrics the platform records, in one place: their names, their
//! labels, the helpers that record them, and the process's Prometheus
//! recorder that `GET /metrics` renders.
//!
//! Every name starts with `workway_` and carries its unit; every label is
//! low-cardinality (a route template, a method, a status, an outcome, a
//! billing class, a provider), never a user, run or URL. The executor,
//! the HTTP layer and the host's background loop call the helpers here
//! rather than the `metrics` macros, so each metric is recorded one way.
//! Until [`install`] runs, the helpers record nothing (the `metrics`
//! facade's default recorder drops everything), so libraries and tests
//! that never install a recorder pay almost nothing.
//!
//! `docs/OBSERVABILITY.md` describes each metric for operators.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use workway_report::{ExecutionReport, Outcome};
use workway_store::{Store, StoreError};

pub use workway_vault::metrics::TOKEN_REFRESHES_TOTAL;

/// Counter of HTTP requests answered, by `route` (the route template,
/// or `unmatched`), `method` and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "workway_http_requests_total";

/// Histogram of the time to answer an HTTP request (until the response
/// headers are ready), in seconds, by `route` and `method`.
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "workway_http_request_duration_seconds";

/// Counter of executions of a component (the guest was started), by
/// `outcome` (`ok`, `integration_error`, `host_error`) and
/// `billing_class` (`light`, `heavy`).
pub const EXECUTIONS_TOTAL: &str = "workway_executions_total";

/// Histogram of the fuel one execution burned; its sum is the fuel
/// burned in all.
pub const EXECUTION_FUEL: &str = "workway_execution_fuel";

/// Histogram of the wall time of one step attempt (resolving the
/// integration, its capabilities and the execution), in seconds, by
/// `outcome` (`ok`, or who reported the failure: `integration`, `host`,
/// `platform`).
pub const STEP_DURATION_SECONDS: &str = "workway_step_duration_seconds";

/// Gauge of the runs waiting in the store's queue (queued or waiting for
/// a retry, due or not), sampled by the host's background loop.
pub const RUNS_QUEUED: &str = "workway_runs_queued";

/// The route label of a request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Buckets of the latency histograms, in seconds: 1 ms to 60 s, dense
/// enough that p50, p95 and p99 can be estimated from them.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// Buckets of [`EXECUTION_FUEL`]: from a trivial action to past the
/// default fuel limit (2e9).
pub const FUEL_BUCKETS: &[f64] = &[1e4, 3e4, 1e5, 3e5, 1e6, 3e6, 1e7, 3e7, 1e8, 3e8, 1e9, 3e9];

/// Why the process's recorder could not be installed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MetricsError {
    /// Building it failed, or another recorder was installed first.
    #[error("cannot install the metrics recorder: {0}")]
    Install(String),
}

/// The process's recorder, once [`install`] ran (whether it worked).
static RECORDER: OnceLock<Result<PrometheusHandle, MetricsError>> = OnceLock::new();

/// Install the Prometheus recorder for this process (once: later calls
/// return the same handle, so tests that start several servers in one
/// process share it) and describe every metric. Host processes call it
/// when they start.
pub fn install() -> Result<&'static PrometheusHandle, MetricsError> {
    RECORDER
        .get_or_init(build_and_install)
        .as_ref()
        .map_err(Clone::clone)
}

/// The installed recorder's handle, or `None` before [`install`] (or
/// when it failed).
pub fn handle() -> Option<&'static PrometheusHandle> {
    RECORDER.get().and_then(|installed| installed.as_ref().ok())
}

/// Every metric in the Prometheus text format, or `None` when no
/// recorder is installed.
pub fn render() -> Option<String> {
    handle().map(PrometheusHandle::render)
}

/// Fold the histograms' recent samples into their buckets, so they do
/// not pile up in memory between scrapes; the host's background loop
/// calls it every few seconds.
pub fn run_upkeep() {
    if let Some(handle) = handle() {
        handle.run_upkeep();
    }
}

fn build_and_install() -> Result<PrometheusHandle, MetricsError> {
    let failed = |e: metrics_exporter_prometheus::BuildError| MetricsError::Install(e.to_string());
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(HTTP_REQUEST_DURATION_SECONDS.into()),
            LATENCY_BUCKETS,
        )
        .and_then(|b| {
            b.set_buckets_for_metric(Matcher::Full(STEP_DURATION_SECONDS.into()), LATENCY_BUCKETS)
        })
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full(EXECUTION_FUEL.into()), FUEL_BUCKETS))
        .map_err(failed)?
        .install_recorder()
        .map_err(failed)?;
    describe();
    Ok(handle)
}

/// The `# HELP` line of every metric.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS_TOTAL, "HTTP requests answered.");
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time to answer an HTTP request."
    );
    describe_counter!(EXECUTIONS_TOTAL, "Executions of a component.");
    describe_histogram!(EXECUTION_FUEL, "Fuel one execution burned.");
    describe_histogram!(
        STEP_DURATION_SECONDS,
        Unit::Seconds,
        "Wall time of one step attempt."
    );
    describe_gauge!(RUNS_QUEUED, "Runs queued or waiting to retry.");
    describe_counter!(
        TOKEN_REFRESHES_TOTAL,
        "OAuth token refreshes, by provider and outcome."
    );
}

/// The method label: a standard method's name, else `other` (a client
/// choosing methods must not grow the label set).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Record one HTTP request answered with `status` after `elapsed`:
/// `route` is its route template ([`UNMATCHED_ROUTE`] when none matched).
pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let method = method_label(method);
    metrics::counter!(
        HTTP_REQUESTS_TOTAL,
        "route" => route.to_string(),
        "method" => method,
        "status" => status.to_string(),
    )
    .increment(1);
    metrics::histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        "route" => route.to_string(),
        "method" => method,
    )
    .record(elapsed.as_secs_f64());
}

/// The outcome label of an execution: `ok`, `integration_error` or
/// `host_error`.
pub fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Ok { .. } => "ok",
        Outcome::IntegrationError { .. } => "integration_error",
        Outcome::HostError { .. } => "host_error",
    }
}

/// Record one execution from its report: its outcome and billing class,
/// and the fuel it burned.
pub fn execution(report: &ExecutionReport) {
    let billing_class = match report.billing_class {
        workway_report::metering::BillingClass::Light => "light",
        workway_report::metering::BillingClass::Heavy => "heavy",
    };
    metrics::counter!(
        EXECUTIONS_TOTAL,
        "outcome" => outcome_label(&report.outcome),
        "billing_class" => billing_class,
    )
    .increment(1);
    // Fuel fits an f64's 53 bits of mantissa well past any fuel limit.
    #[allow(clippy::cast_precision_loss)]
    metrics::histogram!(EXECUTION_FUEL).record(report.fuel_used as f64);
}

/// Record one step attempt that took `elapsed`: `outcome` is `ok` or who
/// reported its failure (`integration`, `host`, `platform`, `workflow`).
pub fn step_attempt(outcome: &str, elapsed: Duration) {
    let outcome = match outcome {
        "ok" => "ok",
        "integration" => "integration",
        "host" => "host",
        "workflow" => "workflow",
        _ => "platform",
    };
    metrics::histogram!(STEP_DURATION_SECONDS, "outcome" => outcome).record(elapsed.as_secs_f64());
}

/// Sample the queue depth: count the runs queued or waiting in `store`
/// and set [`RUNS_QUEUED`] to it. Returns the count.
pub async fn sample_queue_depth(store: &Store) -> Result<i64, StoreError> {
    let queued = store.runs().queue_depth().await?;
    // A count of rows fits an f64 exactly far past any real queue.
    #[allow(clippy::cast_precision_loss)]
    metrics::gauge!(RUNS_QUEUED).set(queued as f64);
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_standard_set_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("DELETE"), "DELETE");
        assert_eq!(method_label("BREW"), "other");
        assert_eq!(method_label("get"), "other");
    }

    #[test]
    fn buckets_are_increasing() {
        for buckets in [LATENCY_BUCKETS, FUEL_BUCKETS] {
            assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{buckets:?}");
        }
    }
}
