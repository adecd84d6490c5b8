//! Marketplace search and listing pages at marketplace scale: 10,000
//! listed integrations and 1,000,000 executions in the 30-day window of
//! the listing figures, on SQLite (a temporary file) and PostgreSQL,
//! through `workway_server::serve` on 127.0.0.1 over real HTTP/1.1 with an
//! API token, one request at a time (the latency a user waits for).
//!
//! The marketplace is written in bulk (`data.rs`): listings cloned from the
//! deployment's approved first-party integrations under generated names
//! and words, publishers, prices, installs and ratings, then
//! `BENCH_MARKET_EXECUTIONS` (default 1,000,000) finished step attempts
//! spread over the last 30 days, skewed towards popular integrations, and
//! the engine's own roll-up over them (timed, and printed).
//!
//! Measured, each `BENCH_MARKET_REQUESTS` times (default 500), after a
//! warm-up: `GET /health/live` (the floor: HTTP and the load client);
//! searches (`GET /v1/integrations?...`) by one common word (in about a
//! fifth of the listings), two words, a prefix, a rare word, and a word in
//! every listing (the worst case: all 10,000 ranked), browsing sorted by
//! installs, rating and newest, a
//! category and price filter, a provider filter, and the fifth page of a
//! browse through its cursor; and the listing page
//! (`GET /v1/integrations/{name}/listing`: listing, publisher, versions,
//! actions with schemas, hosts, scopes and the figures) of integrations
//! drawn across all of them. Printed: p50 and p99 per request kind, and
//! whether each is under the 20 ms goal.
//!
//! Run with `scripts/bench.sh marketplace` (or `cargo bench -p
//! workway-bench --bench marketplace`). `BENCH_MARKET_LISTINGS` (default
//! 10,000) sets the number of listings.

mod data;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use workway_bench::load::{Call, Phase, drive, open, send, sign_up};
use workway_fixtures::Deployment;
use workway_runtime::{Runtime, RuntimeConfig};
use workway_store::testing::{DEFAULT_POSTGRES_URL, TestStore, postgres_store, sqlite_store};

/// The latency goal, in microseconds (20 ms at p50 and p99).
const GOAL_US: f64 = 20_000.0;

/// What makes request `i` of one request kind.
type MakeCall = Box<dyn Fn(usize) -> Call + Send + Sync>;

/// A positive number from the environment variable `name`, or `default`.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Sign up, sign in and make a token with the `read` scope.
async fn token(address: SocketAddr) -> String {
    let shopper = sign_up(address, "shopper").await;
    let mut api = open(address).await;
    let make = shopper.on(Call::post_json(
        "/v1/tokens",
        &json!({"name": "bench", "scopes": ["read"]}),
    ));
    let r = send(&mut api, &make).await.expect("a token made");
    assert_eq!(r.status.as_u16(), 201, "token: {}", r.json());
    r.json()["token"].as_str().expect("a token").to_string()
}

/// The cursor of page `page` (1-based) of `query`, found by walking it.
async fn cursor_of_page(address: SocketAddr, token: &str, query: &str, page: usize) -> String {
    let mut api = open(address).await;
    let mut cursor = String::new();
    for _ in 1..page {
        let path = if cursor.is_empty() {
            format!("/v1/integrations?{query}")
        } else {
            format!("/v1/integrations?{query}&cursor={cursor}")
        };
        let r = send(&mut api, &Call::get(path).bearer(token))
            .await
            .expect("answered");
        assert_eq!(r.status.as_u16(), 200, "{}", r.json());
        cursor = r.json()["next_cursor"]
            .as_str()
            .expect("another page")
            .to_string();
    }
    cursor
}

/// How many results `call` answers with (`items` of a search, 1 for any
/// other 2xx JSON answer), so an empty search is not mistaken for a fast
/// one.
async fn hits(address: SocketAddr, call: &Call) -> usize {
    let mut api = open(address).await;
    let r = send(&mut api, call).await.expect("answered");
    assert!(
        r.status.is_success(),
        "{} {}: {}",
        call.method,
        call.path,
        r.json()
    );
    r.json()["items"].as_array().map_or(1, Vec::len)
}

/// Print one phase's row, and its first errors below it.
fn row(store: &str, what: &str, hits: usize, phase: &Phase) {
    let verdict = if phase.errors > 0 {
        "errors"
    } else if phase.p50_us < GOAL_US && phase.p99_us < GOAL_US {
        "yes"
    } else {
        "NO"
    };
    println!(
        "| {:<8} | {:<44} | {:>5} | {:>8} | {:>9.0} | {:>9.0} | {:>6} | {:>9} |",
        store, what, hits, phase.requests, phase.p50_us, phase.p99_us, phase.errors, verdict
    );
    for error in &phase.first_errors {
        println!("|   error: {}", error.chars().take(300).collect::<String>());
    }
}

/// Build the marketplace on `t`'s store and measure every request kind.
async fn measure(t: &TestStore, runtime: Arc<Runtime>) {
    let d = Deployment::start_with(t, runtime, |config| {
        config.accounts.api_requests_per_window = i64::MAX;
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
    let token = Arc::new(token(address).await);

    let listings = setting("BENCH_MARKET_LISTINGS", 10_000);
    let executions = setting("BENCH_MARKET_EXECUTIONS", 1_000_000);
    let now = workway_store::clock::now_ms();
    let made = data::make(&d.platform.store, t.url(), listings, executions, now).await;
    println!(
        "| {:<8} | setup: {listings} listings in {:.1} s, {executions} step attempts in {:.1} s, \
         rolled up ({} counted) in {:.1} s ({:.0} attempts/s)",
        t.label,
        made.listing_secs,
        made.attempts_secs,
        made.rolled_up,
        made.rollup_secs,
        made.rolled_up as f64 / made.rollup_secs.max(1e-9),
    );
    let names = Arc::new(made.names);

    let requests = setting("BENCH_MARKET_REQUESTS", 500);
    let get = {
        let token = token.clone();
        move |path: String| Call::get(path).bearer(&token)
    };
    let page5 = cursor_of_page(address, &token, "sort=installs&limit=20", 5).await;
    let common: &'static [&'static str] = &["message", "invoice", "calendar", "report", "sync"];
    let kinds: Vec<(&str, MakeCall)> = vec![
        (
            "GET /health/live (floor)",
            Box::new(|_| Call::get("/health/live")),
        ),
        ("search: one common word", {
            let get = get.clone();
            Box::new(move |i| get(format!("/v1/integrations?q={}", common[i % common.len()])))
        }),
        ("search: two words", {
            let get = get.clone();
            Box::new(move |i| {
                get(format!(
                    "/v1/integrations?q={}%20{}",
                    common[i % common.len()],
                    common[(i + 1) % common.len()]
                ))
            })
        }),
        ("search: a prefix (\"subs\")", {
            let get = get.clone();
            Box::new(move |_| get("/v1/integrations?q=subs".into()))
        }),
        ("search: a rare word", {
            let get = get.clone();
            Box::new(move |i| {
                let word = data::generated_word(data::RARE_WORDS.start + i as u64 % 200);
                get(format!("/v1/integrations?q={word}"))
            })
        }),
        ("search: a word in every listing (worst case)", {
            let get = get.clone();
            Box::new(move |_| get(format!("/v1/integrations?q={}", data::EVERYWHERE)))
        }),
        ("browse: sort=installs", {
            let get = get.clone();
            Box::new(move |_| get("/v1/integrations?sort=installs".into()))
        }),
        ("browse: sort=rating", {
            let get = get.clone();
            Box::new(move |_| get("/v1/integrations?sort=rating".into()))
        }),
        ("browse: sort=newest", {
            let get = get.clone();
            Box::new(move |_| get("/v1/integrations?sort=newest".into()))
        }),
        ("browse: category=finance, price=free", {
            let get = get.clone();
            Box::new(move |_| {
                get("/v1/integrations?category=finance&price=free&sort=installs".into())
            })
        }),
        ("browse: provider=google, sort=rating", {
            let get = get.clone();
            Box::new(move |_| get("/v1/integrations?provider=google&sort=rating".into()))
        }),
        ("browse: page 5 by cursor, sort=installs", {
            let get = get.clone();
            Box::new(move |_| {
                get(format!(
                    "/v1/integrations?sort=installs&limit=20&cursor={page5}"
                ))
            })
        }),
        ("listing page, any of them", {
            let (get, names) = (get.clone(), names.clone());
            Box::new(move |i| {
                get(format!(
                    "/v1/integrations/{}/listing",
                    names[(i * 7919) % names.len()]
                ))
            })
        }),
    ];
    for (what, make) in kinds {
        let make: Arc<dyn Fn(usize) -> Call + Send + Sync> = Arc::from(make);
        let warm = {
            let make = make.clone();
            drive(address, 1, 50, move |i| make(i + 1_000_000)).await
        };
        assert_eq!(
            warm.errors, 0,
            "{what}: warm-up failed: {:?}",
            warm.first_errors
        );
        let hits = hits(address, &make(0)).await;
        let phase = drive(address, 1, requests, move |i| make(i)).await;
        row(t.label, what, hits, &phase);
    }
    stop.send(()).ok();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .ok();
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
        println!("\nMarketplace search and listing pages (workway_server::serve, HTTP/1.1 on 127.0.0.1)\n");
        println!(
            "- {} listings, {} executions in the 30-day window; one request at a time, after 50 \
             warm-up requests per kind; server, client and (for SQLite) the store share {cores} \
             cores",
            setting("BENCH_MARKET_LISTINGS", 10_000),
            setting("BENCH_MARKET_EXECUTIONS", 1_000_000)
        );
        println!(
            "- every request but the floor carries an API token (looked up, and counted in its \
             rate-limit window: a write); latency is send to answer read; hits: results on \
             the first page (a page holds 20); goal: p50 and p99 under 20 ms"
        );
        if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
            let load: Vec<&str> = load.split_whitespace().take(3).collect();
            println!("- load average at the start: {}", load.join(" "));
        }
        println!();
        println!(
            "| {:<8} | {:<44} | {:>5} | {:>8} | {:>9} | {:>9} | {:>6} | {:>9} |",
            "store", "request", "hits", "requests", "p50 µs", "p99 µs", "errors", "< 20 ms"
        );
        println!(
            "|{:-<10}|{:-<46}|{:->7}|{:->10}|{:->11}|{:->11}|{:->8}|{:->11}|",
            "", "", "", "", "", "", "", ""
        );
        let mut stores = vec![sqlite_store().await];
        let postgres = postgres_store().await;
        let skipped = postgres.is_none();
        stores.extend(postgres);
        for t in stores {
            measure(&t, runtime.clone()).await;
            t.cleanup().await;
        }
        if skipped {
            println!(
                "postgres: skipped, no PostgreSQL server answers at WORKWAY_TEST_POSTGRES_URL \
                 (default {DEFAULT_POSTGRES_URL})"
            );
        }
    });
}
