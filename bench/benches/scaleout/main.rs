//! Scale-out: N `workway worker` processes on one PostgreSQL database
//! share the queue (each run claimed under a lease, candidates picked
//! `FOR UPDATE SKIP LOCKED`), and one owner's backlog does not starve
//! another owner's run.
//!
//! - Scale-out: for N = 1, 2, 4 (`BENCH_SCALEOUT_WORKERS`), a fresh
//!   database with `BENCH_SCALEOUT_RUNS` (default 2,000) runs of the
//!   three-step workflow (gmail.fetch-email -> notion.create-page ->
//!   slack.send-message, against the local mocks over TLS) queued before
//!   the workers start; N real worker processes drive them, each with
//!   `BENCH_SCALEOUT_IN_FLIGHT` runs in flight (default 64, the shipped
//!   `max_in_flight`). Printed: the wall time
//!   from starting the workers to the last run finished, runs per second,
//!   whether every step executed exactly once (each mock's request count
//!   against runs times the requests one run makes, measured by a
//!   calibration run first; and three succeeded attempts per run), and
//!   database round trips per step (the workers reach the database
//!   through a proxy in this process that counts the simple queries and
//!   syncs they send), in all and by statement.
//! - Fairness: owner A has `BENCH_FAIRNESS_RUNS` (default 10,000) runs
//!   queued; once the workers (`BENCH_FAIRNESS_WORKERS`, default 2; the
//!   same runs in flight, the other executor bounds as shipped) are
//!   through the first of them, owner B queues one run. Printed: B's wait
//!   (queued to first claimed, from the run's row) and how many of A's
//!   runs were claimed and finished meanwhile. A's backlog is not
//!   drained: the workers stop once B's run is done
//!   (`BENCH_FAIRNESS_LIMIT_S`, default 180, bounds the wait).
//!
//! Run with `scripts/bench.sh scaleout`, which builds the `workway` binary
//! first; `cargo bench -p workway-bench --bench scaleout` alone needs it
//! built (`cargo build --release -p workway-cli`) or named by
//! `WORKWAY_BIN`. Needs PostgreSQL at `WORKWAY_TEST_POSTGRES_URL` (default
//! 127.0.0.1:5432 db `test`) and skips with a message without it. See
//! docs/SCALING.md for what the figures mean.

mod setup;
mod watch;
mod workers;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use workway_bench::pg_proxy::{PgProxy, RoundTrips, server_of, url_through};
use workway_engine::executor::ExecutorConfig;
use workway_runtime::{Runtime, RuntimeConfig};
use workway_store::testing::{DEFAULT_POSTGRES_URL, TestStore, postgres_store};

use setup::{Mocks, Requests, Scene};
use watch::Watch;
use workers::Workers;

/// The owner of the scale-out runs and of the fairness scenario's backlog.
const OWNER_A: &str = "alice";
/// The fairness scenario's other owner.
const OWNER_B: &str = "bob";
/// Steps of the workflow.
const STEPS: u64 = 3;
/// Statements listed in the round-trip breakdown.
const STATEMENTS_SHOWN: usize = 15;
/// Runs inserted at once while queueing.
const QUEUE_PARALLEL: usize = 8;
/// The per-owner bound in the scale-out part: out of the way, since every
/// run there has one owner.
const SCALEOUT_PER_OWNER: usize = 100_000;
/// Runs each worker drives at once unless `BENCH_SCALEOUT_IN_FLIGHT` says
/// otherwise: the shipped `max_in_flight` (a worker's runtime has an
/// instance slot for each, and a few more).
const DEFAULT_IN_FLIGHT: usize = 64;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace(['_', ','], "").parse().ok())
        .unwrap_or(default)
}

/// The worker counts to measure (`BENCH_SCALEOUT_WORKERS`, e.g. `1,2,4`).
fn worker_counts() -> Vec<usize> {
    std::env::var("BENCH_SCALEOUT_WORKERS")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .filter(|n| *n > 0)
                .collect::<Vec<usize>>()
        })
        .filter(|counts| !counts.is_empty())
        .unwrap_or_else(|| vec![1, 2, 4])
}

/// What every scenario shares.
struct Bench {
    binary: PathBuf,
    /// Runs each worker drives at once (`max_in_flight`).
    in_flight: usize,
    runtime: Arc<Runtime>,
    mocks: Mocks,
    proxy: PgProxy,
}

/// The workers' `[executor]` table: `in_flight` runs per worker, and
/// `per_owner` running per owner when given (else the shipped bound).
fn executor_table(in_flight: usize, per_owner: Option<usize>) -> String {
    let per_owner = per_owner
        .map(|n| format!("max_runs_per_owner = {n}\n"))
        .unwrap_or_default();
    format!("[executor]\nmax_in_flight = {in_flight}\n{per_owner}")
}

/// Wait until `target` runs are finished, at most `limit`, giving up early
/// if a worker exits; when they were.
async fn wait_for(
    watch: &Watch,
    workers: &mut Workers,
    target: i64,
    limit: Duration,
) -> Result<Instant, String> {
    let deadline = Instant::now() + limit;
    loop {
        let finished = watch.finished().await;
        if finished >= target {
            return Ok(Instant::now());
        }
        if !workers.all_running() {
            return Err(format!(
                "a worker exited with {finished} of {target} runs finished"
            ));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "{finished} of {target} runs finished within {limit:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A fresh database with `owners` set up on it, and the workers' environment.
async fn scene(
    bench: &Bench,
    executor: &str,
    owners: &[&str],
) -> (TestStore, Scene, Vec<(String, String)>) {
    let t = postgres_store()
        .await
        .expect("PostgreSQL answered a moment ago");
    let scene = Scene::new(
        t.store.clone(),
        bench.runtime.clone(),
        &bench.mocks,
        executor,
        owners,
    )
    .await;
    let mut env = scene.env.clone();
    env.push((
        "WORKWAY_DATABASE_URL".into(),
        url_through(t.url(), bench.proxy.addr()).expect("a postgres:// URL"),
    ));
    (t, scene, env)
}

/// One run driven by one worker: the requests a run makes at each mock
/// (and the workers' compile cache warmed).
async fn calibrate(bench: &Bench) -> Result<Requests, String> {
    let executor = executor_table(bench.in_flight, Some(SCALEOUT_PER_OWNER));
    let (t, scene, env) = scene(bench, &executor, &[OWNER_A]).await;
    scene.queue(OWNER_A, 1, 1).await;
    let watch = Watch::connect(t.url()).await;
    let before = bench.mocks.requests();
    let mut workers = Workers::start(&bench.binary, 1, &env, scene.dir.path(), "calibrate");
    let waited = wait_for(&watch, &mut workers, 1, Duration::from_secs(300)).await;
    let outcome = watch.outcome().await;
    let tails = workers.log_tails();
    workers.stop().await;
    let per_run = bench.mocks.requests().since(&before);
    watch.close().await;
    t.cleanup().await;
    waited.map_err(|e| format!("the calibration run: {e}\n{tails}"))?;
    if outcome.succeeded != 1 {
        return Err(format!(
            "the calibration run did not succeed ({outcome:?})\n{tails}"
        ));
    }
    Ok(per_run)
}

/// One row of the scale-out table.
struct ScaleRow {
    workers: usize,
    runs: usize,
    wall: Duration,
    steady_s: f64,
    succeeded: i64,
    expected: Requests,
    seen: Requests,
    attempts: i64,
    attempts_succeeded: i64,
    trips: RoundTrips,
    complaints: usize,
    /// What went wrong, when something did.
    errors: Vec<String>,
}

impl ScaleRow {
    fn exactly_once(&self) -> bool {
        self.seen == self.expected
            && self.attempts == self.runs as i64 * STEPS as i64
            && self.attempts_succeeded == self.attempts
    }

    fn print(&self) {
        let steps = (self.runs as u64 * STEPS).max(1);
        println!(
            "| {:>7} | {:>6} | {:>7.2} | {:>7.0} | {:>14.0} | {:>9} | {:>17} | {:>12} | {:>14.1} |",
            self.workers,
            self.runs,
            self.wall.as_secs_f64(),
            self.runs as f64 / self.wall.as_secs_f64(),
            self.runs as f64 / self.steady_s.max(0.001),
            format!("{}/{}", self.succeeded, self.runs),
            format!("{} / {}", self.expected.total(), self.seen.total()),
            if self.exactly_once() { "yes" } else { "no" },
            self.trips.total() as f64 / steps as f64,
        );
    }

    fn details(&self) -> String {
        format!(
            "N={}: gmail {}/{}, notion {}/{}, slack {}/{} (expected/seen); {} attempts ({} succeeded); \
             {} simple queries + {} syncs over {} connections; {} warning lines in the worker logs",
            self.workers,
            self.expected.gmail,
            self.seen.gmail,
            self.expected.notion,
            self.seen.notion,
            self.expected.slack,
            self.seen.slack,
            self.attempts,
            self.attempts_succeeded,
            self.trips.queries,
            self.trips.syncs,
            self.trips.connections,
            self.complaints,
        ) + &self
            .errors
            .iter()
            .map(|e| format!("\n  {e}"))
            .collect::<String>()
    }
}

/// Statements with the most round trips, per step, for each N measured.
fn print_statements(rows: &[ScaleRow]) {
    let Some(first) = rows.first() else {
        return;
    };
    println!(
        "\nDB round trips per step by statement (the {STATEMENTS_SHOWN} most frequent at N={}):\n",
        first.workers
    );
    let header: String = rows
        .iter()
        .map(|r| format!(" N={:<4} |", r.workers))
        .collect();
    println!("|{header} statement |");
    println!("|{} ---|", "-------:|".repeat(rows.len()));
    for (sql, _) in first.trips.top(STATEMENTS_SHOWN) {
        let cells: String = rows
            .iter()
            .map(|r| {
                let steps = (r.runs as u64 * STEPS).max(1) as f64;
                let n = r.trips.by_statement.get(sql).copied().unwrap_or(0);
                format!(" {:>6.2} |", n as f64 / steps)
            })
            .collect();
        println!("|{cells} `{}` |", sql.replace('|', "\\|"));
    }
}

/// `runs` queued, then `n` workers started and timed until all are finished.
async fn scale_out(
    bench: &Bench,
    n: usize,
    runs: usize,
    per_run: &Requests,
) -> Result<ScaleRow, String> {
    let executor = executor_table(bench.in_flight, Some(SCALEOUT_PER_OWNER));
    let (t, scene, env) = scene(bench, &executor, &[OWNER_A]).await;
    scene.queue(OWNER_A, runs, QUEUE_PARALLEL).await;
    let watch = Watch::connect(t.url()).await;
    let requests_before = bench.mocks.requests();
    let trips_before = bench.proxy.round_trips();
    let limit = Duration::from_secs(120) + Duration::from_millis(200) * runs as u32;
    let started = Instant::now();
    let mut workers = Workers::start(&bench.binary, n, &env, scene.dir.path(), &format!("n{n}"));
    let waited = wait_for(&watch, &mut workers, runs as i64, limit).await;
    let trips = bench.proxy.round_trips().since(&trips_before);
    let tails = workers.log_tails();
    let complaints = workers.complaints();
    workers.stop().await;
    let seen = bench.mocks.requests().since(&requests_before);
    let outcome = watch.outcome().await;
    let mut errors = watch.errors(5).await;
    if waited.is_err() || !errors.is_empty() || complaints > 0 {
        errors.push(tails);
    }
    watch.close().await;
    t.cleanup().await;
    let done = waited.map_err(|e| format!("{n} worker(s): {e}\n{}", errors.join("\n")))?;
    Ok(ScaleRow {
        workers: n,
        runs,
        wall: done - started,
        steady_s: (outcome.last_finished - outcome.first_started) as f64 / 1000.0,
        succeeded: outcome.succeeded,
        expected: per_run.times(runs as u64),
        seen,
        attempts: outcome.attempts,
        attempts_succeeded: outcome.attempts_succeeded,
        trips,
        complaints,
        errors,
    })
}

/// Owner A's backlog, then owner B's single run: B's wait.
async fn fairness(bench: &Bench, backlog: usize, n: usize) -> Result<(), String> {
    let executor = executor_table(bench.in_flight, None);
    let (t, scene, env) = scene(bench, &executor, &[OWNER_A, OWNER_B]).await;
    let queueing = Instant::now();
    scene.queue(OWNER_A, backlog, QUEUE_PARALLEL).await;
    let queued_in = queueing.elapsed();
    let watch = Watch::connect(t.url()).await;
    let mut workers = Workers::start(&bench.binary, n, &env, scene.dir.path(), "fairness");
    // B arrives once the workers are through the first of A's runs, not
    // while they are still starting.
    let warm = i64::try_from((backlog / 10).clamp(1, 100)).unwrap_or(100);
    let deadline = Instant::now() + Duration::from_secs(120);
    let result = async {
        while watch.finished_of(OWNER_A).await < warm {
            if !workers.all_running() || Instant::now() >= deadline {
                return Err(format!("the workers did not finish {warm} of A's runs"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let before_b = watch.finished_of(OWNER_A).await;
        let b = scene.start_run(OWNER_B).await;
        let limit = Duration::from_secs(env_usize("BENCH_FAIRNESS_LIMIT_S", 180) as u64);
        let deadline = Instant::now() + limit;
        let times = loop {
            let times = watch.times(&b).await;
            if times.finished.is_some() {
                break times;
            }
            if !workers.all_running() {
                return Err("a worker exited before B's run finished".to_string());
            }
            if Instant::now() >= deadline {
                break times;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        Ok((before_b, times))
    }
    .await;
    let tails = workers.log_tails();
    workers.stop().await;
    let (before_b, times) = match result {
        Ok(found) => found,
        Err(e) => {
            watch.close().await;
            t.cleanup().await;
            return Err(format!("{e}\n{tails}"));
        }
    };
    let claimed_at = times.started.unwrap_or_else(workway_store::clock::now_ms);
    let (claimed, finished, unclaimed) = watch.between(OWNER_A, times.created, claimed_at).await;
    let errors = watch.errors(3).await;
    watch.close().await;
    t.cleanup().await;
    let wait = match times.started {
        Some(started) => format!("{}", started - times.created),
        None => format!("> {} (never claimed)", claimed_at - times.created),
    };
    let run = match (times.started, times.finished) {
        (Some(s), Some(f)) => format!("{} ({})", f - s, times.status),
        _ => times.status.clone(),
    };
    let defaults = ExecutorConfig::default();
    println!(
        "\nFairness: owner A's backlog against owner B's single run ({n} workers; \
         max_in_flight {} per worker, max_runs_per_owner {} and poll {} ms as shipped)\n",
        bench.in_flight, defaults.max_runs_per_owner, defaults.poll_ms
    );
    println!(
        "| A queued | A done before B | B wait ms (queued -> claimed) | B run ms | A claimed while B waited | A finished while B waited | A unclaimed at B's claim |"
    );
    println!(
        "|---------:|----------------:|------------------------------:|---------:|-------------------------:|--------------------------:|-------------------------:|"
    );
    println!(
        "| {backlog:>8} | {before_b:>15} | {wait:>29} | {run:>8} | {claimed:>24} | {finished:>25} | {unclaimed:>24} |"
    );
    for error in errors {
        println!("\n  {error}");
    }
    println!(
        "\nA's {backlog} runs were queued in {:.1} s ({QUEUE_PARALLEL} inserts at a time) before the workers started; \
         B queued through the manual trigger once {warm} of A's had finished.",
        queued_in.as_secs_f64()
    );
    Ok(())
}

fn main() {
    let binary = match workers::binary() {
        Ok(binary) => binary,
        Err(e) => {
            eprintln!("scaleout: {e}");
            std::process::exit(1);
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(run(binary));
}

async fn run(binary: PathBuf) {
    let admin_url =
        std::env::var("WORKWAY_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
    let Some(probe) = postgres_store().await else {
        println!(
            "\nScale-out: skipped, PostgreSQL does not answer at {admin_url} \
             (start it with scripts/start-postgres.sh or set WORKWAY_TEST_POSTGRES_URL)"
        );
        return;
    };
    probe.cleanup().await;
    let Some(server) = server_of(&admin_url) else {
        eprintln!("scaleout: cannot tell the server of {admin_url}");
        std::process::exit(1);
    };
    let runtime = Arc::new(
        Runtime::new(RuntimeConfig {
            cache_dir: Some(std::env::temp_dir().join("workway-bench-component-cache")),
            ..RuntimeConfig::default()
        })
        .expect("runtime"),
    );
    let bench = Bench {
        binary,
        in_flight: env_usize("BENCH_SCALEOUT_IN_FLIGHT", DEFAULT_IN_FLIGHT).max(1),
        runtime,
        mocks: Mocks::start().await,
        proxy: PgProxy::start(&server)
            .await
            .expect("the counting proxy listens"),
    };
    let per_run = match calibrate(&bench).await {
        Ok(per_run) => per_run,
        Err(e) => {
            eprintln!("scaleout: {e}");
            std::process::exit(1);
        }
    };
    let runs = env_usize("BENCH_SCALEOUT_RUNS", 2000).max(1);
    println!(
        "\nScale-out: N `workway worker` processes on one PostgreSQL database, {} runs in flight \
         per worker ({} cores here; the mocks and the proxy run in the benchmark's process)\n",
        bench.in_flight,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "| {:>7} | {:>6} | {:>7} | {:>7} | {:>14} | {:>9} | {:>17} | {:>12} | {:>14} |",
        "workers",
        "runs",
        "wall s",
        "runs/s",
        "after 1st claim",
        "succeeded",
        "requests exp/seen",
        "exactly once",
        "DB trips/step"
    );
    println!(
        "|{:->9}|{:->8}|{:->9}|{:->9}|{:->16}|{:->11}|{:->19}|{:->14}|{:->16}|",
        ":", ":", ":", ":", ":", ":", ":", ":", ":"
    );
    let mut details = Vec::new();
    let mut measured = Vec::new();
    for n in worker_counts() {
        match scale_out(&bench, n, runs, &per_run).await {
            Ok(row) => {
                row.print();
                details.push(row.details());
                measured.push(row);
            }
            Err(e) => {
                println!("| {n:>7} | {runs:>6} | failed: see below |");
                details.push(e);
            }
        }
    }
    println!(
        "\nwall s: from starting the workers (processes launched, components loaded from the compile \
         cache) to the last run finished; after 1st claim: runs over first claim to last finish. \
         A run makes {} requests (gmail {}, notion {}, slack {}); exactly once: every mock saw runs \
         times that, and every run has {STEPS} attempts, all succeeded. DB trips/step: simple queries \
         plus syncs the workers sent, over runs x {STEPS} (claims, leases, attempts, commits, the \
         workers' polling and start-up).\n",
        per_run.total(),
        per_run.gmail,
        per_run.notion,
        per_run.slack
    );
    for line in details {
        println!("{line}");
    }
    print_statements(&measured);
    let backlog = env_usize("BENCH_FAIRNESS_RUNS", 10_000).max(1);
    let fairness_workers = env_usize("BENCH_FAIRNESS_WORKERS", 2).max(1);
    if let Err(e) = fairness(&bench, backlog, fairness_workers).await {
        println!("\nFairness: failed: {e}");
    }
}
