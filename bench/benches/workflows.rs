//! What durable workflows cost: the three-step workflow (gmail.fetch-email
//! -> notion.create-page -> slack.send-message, against the local mocks
//! over TLS, through the production egress broker and vault) on SQLite and
//! PostgreSQL.
//!
//! - Runs per second: `BENCH_RUNS` runs (default 200) queued at once and
//!   driven by one executor with 64 in flight. `BENCH_OWNERS` (default 1)
//!   spreads them round-robin over that many users, each with the same
//!   installations, connections and workflow: one user's runs share that
//!   user's queue bound (`max_queued_runs_per_owner`, 1,000) and, on
//!   PostgreSQL, the lock on the user's month of billing.
//! - Per-step overhead: the same runs one at a time, each claimed as the
//!   one before ends; the phase's wall time per run minus the plugins' own
//!   execution wall times, divided by its three steps (the mean, timed with
//!   the monotonic clock). That is what durability costs per step:
//!   claiming, rendering the input, committing the attempt, resolving the
//!   pinned integration and its capabilities. The median and p99 come from
//!   each run's stored timestamps, which are whole milliseconds, so they
//!   move in steps of a third of a millisecond.
//!
//! Run with `cargo bench -p workway-bench --bench workflows` (or
//! `scripts/bench.sh workflows`). PostgreSQL rows run when a server
//! answers at `WORKWAY_TEST_POSTGRES_URL` (default 127.0.0.1:5432).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use workway_bench::timing::spread;
use workway_engine::executor::{Executor, ExecutorConfig};
use workway_fixtures::{Deployment, USER, inbox_to_notion};
use workway_report::ExecutionReport;
use workway_runtime::{Runtime, RuntimeConfig};
use workway_store::runs::RunStatus;
use workway_store::testing::{TestStore, test_stores};

fn runs() -> usize {
    std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

/// How many users the throughput phase's runs are spread over.
fn owners() -> usize {
    std::env::var("BENCH_OWNERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// The benchmark's users: [`USER`] and `owners() - 1` more.
fn owner_names() -> Vec<String> {
    std::iter::once(USER.to_string())
        .chain((1..owners()).map(|i| format!("bench-owner-{i}")))
        .collect()
}

/// Queue `n` runs, round-robin over `owners`, and drive them with
/// `in_flight` at once; the wall time.
async fn drive(
    d: &Deployment,
    owners: &[String],
    n: usize,
    in_flight: usize,
) -> (Duration, Vec<String>) {
    let mut ids = Vec::with_capacity(n);
    for owner in owners.iter().cycle().take(n) {
        ids.push(d.start_run_as(owner, "inbox-to-notion", json!({})).await);
    }
    let executor = Arc::new(Executor::new(
        d.platform.clone(),
        ExecutorConfig {
            max_in_flight: in_flight,
            max_runs_per_owner: in_flight,
            max_executions_per_installation: in_flight,
            poll_ms: 5,
            ..ExecutorConfig::default()
        },
    ));
    let runs = d.platform.store.runs();
    let started = Instant::now();
    let last = ids.last().cloned().unwrap_or_default();
    // Done when every run is: watched through the last queued run (one
    // row read per poll, so the watching takes little from the runs being
    // measured), then every run checked once.
    let all_done = async {
        loop {
            let last_done = runs
                .get(&last)
                .await
                .expect("read")
                .is_some_and(|r| r.status.is_finished());
            if last_done
                && runs
                    .list(None, None, i64::try_from(n).unwrap_or(i64::MAX))
                    .await
                    .expect("listed")
                    .iter()
                    .all(|r| r.status.is_finished())
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    executor.work(all_done).await;
    let wall = started.elapsed();
    let run = runs.get(&last).await.expect("read").expect("run");
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.error);
    (wall, ids)
}

async fn measure(t: &TestStore, runtime: Arc<Runtime>) {
    let d = Deployment::start(t, runtime).await;
    d.seed_invoice();
    let owners = owner_names();
    for owner in &owners {
        if owner != USER {
            d.add_user(owner).await;
        }
        d.save_as(owner, &inbox_to_notion("  kind: manual")).await;
    }
    let n = runs();
    // Warm up: components loaded, connections pooled, statements prepared.
    drive(&d, &owners, 8, 8).await;

    let (wall, _) = drive(&d, &owners, n, 64).await;
    let per_second = n as f64 / wall.as_secs_f64();

    // The per-step overhead is one run at a time, so one user is enough
    // (and at most 500 runs, within that user's queue bound).
    let serial = (n / 2).clamp(20, 500);
    let (serial_wall, ids) = drive(&d, &owners[..1], serial, 1).await;
    let store = d.platform.store.runs();
    let mut run_walls = Vec::new();
    let mut overheads = Vec::new();
    let mut execution = Vec::new();
    let mut exec_total_us = 0u64;
    let mut steps_total = 0u64;
    for id in &ids {
        let run = store.get(id).await.expect("read").expect("run");
        let (Some(s), Some(f)) = (run.started_at, run.finished_at) else {
            continue;
        };
        let run_us = u64::try_from(f - s).unwrap_or(0) * 1000;
        let attempts = store.attempts(id).await.expect("read");
        let exec_us: u64 = attempts
            .iter()
            .filter_map(|a| a.report.as_deref())
            .filter_map(|r| serde_json::from_str::<ExecutionReport>(r).ok())
            .map(|r| r.wall_time_us)
            .sum();
        let steps = attempts.len().max(1) as u64;
        exec_total_us += exec_us;
        steps_total += steps;
        run_walls.push(Duration::from_micros(run_us));
        execution.push(Duration::from_micros(exec_us / steps));
        overheads.push(Duration::from_micros(
            run_us.saturating_sub(exec_us) / steps,
        ));
    }
    let run_spread = spread(run_walls);
    let exec_spread = spread(execution);
    let overhead = spread(overheads);
    let wall_us = u64::try_from(serial_wall.as_micros()).unwrap_or(u64::MAX);
    let overhead_mean = wall_us.saturating_sub(exec_total_us) / steps_total.max(1);
    println!(
        "| {:<10} | {:>6} | {:>10.0} | {:>12.1} | {:>14.0} | {:>14} | {:>12.0} / {:<6.0} |",
        t.label,
        n,
        per_second,
        run_spread.median / 1000.0,
        exec_spread.median,
        overhead_mean,
        overhead.median,
        overhead.p99
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let runtime = Arc::new(
            Runtime::new(RuntimeConfig {
                cache_dir: Some(std::env::temp_dir().join("workway-bench-component-cache")),
                ..RuntimeConfig::default()
            })
            .expect("runtime"),
        );
        println!("\nThe three-step workflow (gmail -> notion -> slack, local mocks over TLS)\n");
        println!(
            "| {:<10} | {:>6} | {:>10} | {:>12} | {:>14} | {:>14} | {:>21} |",
            "store",
            "runs",
            "runs/s",
            "run ms (1x)",
            "exec µs/step",
            "overhead mean",
            "overhead med/p99 (ms)"
        );
        println!(
            "|{:-<12}|{:->8}|{:->12}|{:->14}|{:->16}|{:->16}|{:->23}|",
            "", "", "", "", "", "", ""
        );
        for t in test_stores().await {
            measure(&t, runtime.clone()).await;
            t.cleanup().await;
        }
        println!(
            "\nruns/s: {} runs queued at once over {} user(s), 64 in flight, one process. run ms: \
             one at a time, claimed to finished. overhead µs/step: run wall minus the plugins' \
             own execution; the mean timed over the one-at-a-time phase, the median and p99 \
             from the runs' millisecond timestamps.",
            runs(),
            owners()
        );
    });
}
