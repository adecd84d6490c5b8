//! Authenticated API requests per second: the platform API served by
//! `workway_server::serve` on 127.0.0.1 over real HTTP/1.1, loaded from
//! this process by `BENCH_API_CONCURRENCY` (default 32) keep-alive
//! connections, each request carrying `Authorization: Bearer wwk_...`; on
//! SQLite (a temporary file) and PostgreSQL.
//!
//! Per store, after a warm-up:
//!
//! - one at a time (2,000 requests each), the unloaded latency of
//!   `GET /health/live` (no credential, no store: the floor of the HTTP
//!   stack and the load client) and of `GET /v1/runs/{id}`, for the ratio;
//! - `GET /health/live` under load, `BENCH_API_GETS` requests (default
//!   20,000);
//! - `GET /v1/runs/{id}` under load, as many requests, over 200 finished
//!   runs of a one-step manual workflow (the run, its attempt and its
//!   workflow are read): once with one token, as one busy client, and once
//!   with a token per connection, as many clients (their rate-limit
//!   counters are different rows);
//! - `POST /v1/runs`: `BENCH_API_POSTS` runs (default 2,000) of that
//!   workflow queued. No executor runs meanwhile, so this is the API's cost
//!   (input checked against the workflow's schema, the owner's waiting runs
//!   counted against the queue bound, the run inserted), not the runs'.
//!
//! Every authenticated request also looks its token up, and counts itself
//! in its token's rate-limit window (a write). The account limit
//! (`accounts.api_requests_per_window`, 100 per 15 minutes by default) and
//! the queue bound (`triggers.max_queued_runs_per_owner`) are raised to
//! `i64::MAX` so they never refuse; the counting still happens.
//!
//! Printed per phase: requests, seconds, requests per second, p50 and p99
//! latency (send to answer read) and errors (any answer that is not 2xx,
//! the first few shown; expected 0).
//!
//! Run with `scripts/bench.sh api` (or `cargo bench -p workway-bench
//! --bench api`). The PostgreSQL rows run when a server answers at
//! `WORKWAY_TEST_POSTGRES_URL` (default 127.0.0.1:5432, database `test`).

mod setup;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use workway_fixtures::Deployment;
use workway_runtime::{Runtime, RuntimeConfig};
use workway_store::testing::{DEFAULT_POSTGRES_URL, TestStore, postgres_store, sqlite_store};

use workway_bench::load::{Call, Phase, drive};

/// Finished runs `GET /v1/runs/{id}` reads, in turn.
const RUNS_READ: usize = 200;

/// A positive number from the environment variable `name`, or `default`.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// How many requests are in flight at once.
fn concurrency() -> usize {
    setting("BENCH_API_CONCURRENCY", 32)
}

/// How many `GET /v1/runs/{id}` (and `GET /health/live`) requests.
fn gets() -> usize {
    setting("BENCH_API_GETS", 20_000)
}

/// How many `POST /v1/runs` requests.
fn posts() -> usize {
    setting("BENCH_API_POSTS", 2_000)
}

/// Requests one at a time, for the unloaded latency.
const SERIAL: usize = 2_000;

/// Print one phase's row, and its first errors below it.
fn row(store: &str, request: &str, in_flight: usize, tokens: &str, phase: &Phase) {
    println!(
        "| {:<8} | {:<17} | {:>9} | {:>6} | {:>8} | {:>7.2} | {:>8.0} | {:>8.0} | {:>8.0} | {:>6} |",
        store,
        request,
        in_flight,
        tokens,
        phase.requests,
        phase.wall.as_secs_f64(),
        phase.per_second(),
        phase.p50_us,
        phase.p99_us,
        phase.errors
    );
    for error in &phase.first_errors {
        println!("|   error: {}", error.chars().take(300).collect::<String>());
    }
}

/// What the summary lines of one store compare.
struct Figures {
    /// `GET /health/live`, one at a time.
    health_1: Phase,
    /// `GET /v1/runs/{id}`, one at a time.
    read_1: Phase,
    /// `GET /health/live` under load.
    health: Phase,
    /// `GET /v1/runs/{id}` under load, one token.
    read: Phase,
    /// `GET /v1/runs/{id}` under load, a token per connection.
    read_spread: Phase,
}

/// Every phase on `t`'s store.
async fn measure(t: &TestStore, runtime: Arc<Runtime>) -> Figures {
    let d = Deployment::start_with(t, runtime, |config| {
        config.accounts.api_requests_per_window = i64::MAX;
        config.triggers.max_queued_runs_per_owner = i64::MAX;
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address: SocketAddr = listener.local_addr().expect("bound");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(workway_server::serve(
        listener,
        d.platform.clone(),
        async move {
            stopped.await.ok();
        },
    ));

    let n = concurrency();
    let client = setup::client(&d, address, n).await;
    let ids = Arc::new(setup::finished_runs(&d, address, &client, RUNS_READ).await);
    let token = Arc::new(client.token.clone());
    let tokens = Arc::new(client.tokens.clone());

    let health = |_: usize| Call::get("/health/live");
    let read = {
        let (ids, token) = (ids.clone(), token.clone());
        move |i: usize| Call::get(format!("/v1/runs/{}", ids[i % ids.len()])).bearer(&token)
    };
    let read_spread = {
        let (ids, tokens) = (ids.clone(), tokens.clone());
        move |i: usize| {
            Call::get(format!("/v1/runs/{}", ids[i % ids.len()])).bearer(&tokens[i % tokens.len()])
        }
    };
    let start = |offset: usize| {
        let token = token.clone();
        move |i: usize| Call::post_json("/v1/runs", &setup::start_body(offset + i)).bearer(&token)
    };

    // Warm-up: connections pooled, statements prepared, caches filled.
    let warm_posts = 200;
    for warm in [
        drive(address, n, 2_000, health).await,
        drive(address, n, 2_000, read.clone()).await,
        drive(address, n, 2_000, read_spread.clone()).await,
        drive(address, n, warm_posts, start(RUNS_READ)).await,
    ] {
        assert_eq!(warm.errors, 0, "warm-up failed: {:?}", warm.first_errors);
    }

    let one = "1";
    let all = n.to_string();
    let health_1 = drive(address, 1, SERIAL, health).await;
    row(t.label, "GET /health/live", 1, "-", &health_1);
    let read_1 = drive(address, 1, SERIAL, read.clone()).await;
    row(t.label, "GET /v1/runs/{id}", 1, one, &read_1);
    let health = drive(address, n, gets(), health).await;
    row(t.label, "GET /health/live", n, "-", &health);
    let read = drive(address, n, gets(), read).await;
    row(t.label, "GET /v1/runs/{id}", n, one, &read);
    let read_spread = drive(address, n, gets(), read_spread).await;
    row(t.label, "GET /v1/runs/{id}", n, &all, &read_spread);
    let started = drive(address, n, posts(), start(RUNS_READ + warm_posts)).await;
    row(t.label, "POST /v1/runs", n, one, &started);

    let queued = d
        .platform
        .store
        .runs()
        .waiting_count(&client.owner)
        .await
        .expect("readable");
    let expected = i64::try_from(warm_posts + posts() - started.errors).unwrap_or(i64::MAX);
    assert_eq!(queued, expected, "every accepted POST queued one run");

    stop.send(()).ok();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .ok();
    Figures {
        health_1,
        read_1,
        health,
        read,
        read_spread,
    }
}

/// The summary lines of one store.
fn summary(label: &str, f: &Figures, cores: usize) {
    let n = concurrency();
    println!(
        "{label}: one at a time, GET /v1/runs/{{id}} takes {:.0} µs p50 vs {:.0} µs for GET \
         /health/live ({:.1}x): authentication, the rate-limit count and the store reads add \
         {:.0} µs per request.",
        f.read_1.p50_us,
        f.health_1.p50_us,
        f.read_1.p50_us / f.health_1.p50_us,
        f.read_1.p50_us - f.health_1.p50_us,
    );
    println!(
        "{label}: {n} in flight, {:.0} vs {:.0} requests/s ({:.0} vs {:.0} µs of the {cores} \
         cores per request; p50 latency there is mostly queueing, {n} / throughput); with a \
         token per connection {:.0} requests/s.",
        f.read.per_second(),
        f.health.per_second(),
        cores as f64 * 1e6 / f.read.per_second(),
        cores as f64 * 1e6 / f.health.per_second(),
        f.read_spread.per_second(),
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
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!("\nAuthenticated API requests per second (workway_server::serve, HTTP/1.1 on 127.0.0.1)\n");
        println!(
            "- load: {} keep-alive connections from this process, each sending its next request \
             when its answer is read; server, load and (for SQLite) the store share {cores} cores",
            concurrency()
        );
        println!(
            "- authenticated requests carry `Authorization: Bearer wwk_...` (scopes read, run); \
             each looks its token up and counts itself in the token's rate-limit window (a write)"
        );
        println!(
            "- accounts.api_requests_per_window raised from 100 (per 15 min) to i64::MAX, and \
             triggers.max_queued_runs_per_owner from 1000 to i64::MAX, so nothing is refused"
        );
        println!(
            "- GET /v1/runs/{{id}}: {RUNS_READ} finished one-step runs read in turn; POST /v1/runs: \
             a manual workflow, runs queued with no executor running (the API's cost only)"
        );
        println!(
            "- in flight 1: {SERIAL} requests one at a time (unloaded latency); tokens {}: \
             request i uses token i mod {} (many clients instead of one busy one)",
            concurrency(),
            concurrency()
        );
        println!("- latency: send to answer read, per request; errors: answers not 2xx");
        if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
            let load: Vec<&str> = load.split_whitespace().take(3).collect();
            println!(
                "- load average at the start: {} (anything else running on these cores lowers \
                 the figures)",
                load.join(" ")
            );
        }
        println!();
        println!(
            "| {:<8} | {:<17} | {:>9} | {:>6} | {:>8} | {:>7} | {:>8} | {:>8} | {:>8} | {:>6} |",
            "store",
            "request",
            "in flight",
            "tokens",
            "requests",
            "seconds",
            "req/s",
            "p50 µs",
            "p99 µs",
            "errors"
        );
        println!(
            "|{:-<10}|{:-<19}|{:->11}|{:->8}|{:->10}|{:->9}|{:->10}|{:->10}|{:->10}|{:->8}|",
            "", "", "", "", "", "", "", "", "", ""
        );
        let mut stores = vec![sqlite_store().await];
        let postgres = postgres_store().await;
        let skipped = postgres.is_none();
        stores.extend(postgres);
        let mut figures = Vec::new();
        for t in stores {
            figures.push((t.label, measure(&t, runtime.clone()).await));
            t.cleanup().await;
        }
        println!();
        for (label, f) in &figures {
            summary(label, f, cores.max(1));
        }
        if skipped {
            println!(
                "postgres: skipped, no PostgreSQL server answers at WORKWAY_TEST_POSTGRES_URL \
                 (default {DEFAULT_POSTGRES_URL})"
            );
        }
    });
}
