//! The web UI's pages with seeded data, on SQLite (a temporary file) and
//! PostgreSQL, through `workway_server::serve` on 127.0.0.1 over real
//! HTTP/1.1 with a browser session's cookie, one request at a time (the
//! server time a user waits for, plus loopback).
//!
//! Seeded: the marketplace bench's bulk marketplace (`BENCH_PAGES_LISTINGS`
//! listings, default 10,000, and `BENCH_PAGES_EXECUTIONS` finished step
//! attempts, default 200,000, rolled up); a user with Slack installed and
//! connected, 20 workflows and `BENCH_PAGES_RUNS` finished runs (default
//! 500, run by the executor); a developer and reviewer with a submission
//! waiting for review.
//!
//! Measured, each `BENCH_PAGES_REQUESTS` times (default 200) after 20
//! warm-up requests: every page a signed-in user, developer or reviewer
//! opens. Printed: p50 and p99 per page, and whether p99 is under the
//! 200 ms goal.
//!
//! Run with `scripts/bench.sh pages` (or `cargo bench -p workway-bench
//! --bench pages`).

#[path = "../marketplace/data.rs"]
#[allow(dead_code)]
mod data;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use workway_bench::load::{Call, Phase, Session, drive, open, send, sign_up};
use workway_fixtures::{CHANNEL, Deployment, USER, fast};
use workway_runtime::{Runtime, RuntimeConfig};
use workway_store::testing::{DEFAULT_POSTGRES_URL, TestStore, postgres_store, sqlite_store};
use workway_vault::oauth::token::TokenSet;

/// The goal, in microseconds: 200 ms at p99.
const GOAL_US: f64 = 200_000.0;

/// A positive number from the environment variable `name`, or `default`.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// Send `call`, insisting on `status`: the answer's JSON.
async fn must(address: SocketAddr, call: Call, status: u16) -> serde_json::Value {
    let mut api = open(address).await;
    let r = send(&mut api, &call).await.expect("answered");
    assert_eq!(
        r.status.as_u16(),
        status,
        "{} {}: {}",
        call.method,
        call.path,
        r.json()
    );
    r.json()
}

/// Print one page's row, and its first errors below it.
fn row(store: &str, what: &str, phase: &Phase) {
    let verdict = if phase.errors > 0 {
        "errors"
    } else if phase.p99_us < GOAL_US {
        "yes"
    } else {
        "NO"
    };
    println!(
        "| {:<8} | {:<36} | {:>8} | {:>9.0} | {:>9.0} | {:>6} | {:>8} |",
        store, what, phase.requests, phase.p50_us, phase.p99_us, phase.errors, verdict
    );
    for error in &phase.first_errors {
        println!("|   error: {}", error.chars().take(300).collect::<String>());
    }
}

/// Seed `t`'s store and measure every page.
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

    // The marketplace.
    let listings = setting("BENCH_PAGES_LISTINGS", 10_000);
    let executions = setting("BENCH_PAGES_EXECUTIONS", 200_000);
    let made = data::make(
        &d.platform.store,
        t.url(),
        listings,
        executions,
        workway_store::clock::now_ms(),
    )
    .await;

    // A user with Slack, workflows and finished runs.
    let user = sign_up(address, "pat").await;
    must(
        address,
        user.on(Call::post_json(
            "/v1/installations",
            &json!({"integration": "slack"}),
        )),
        409,
    )
    .await;
    let consent = must(
        address,
        user.on(Call::get("/v1/integrations/slack/consent")),
        200,
    )
    .await;
    must(
        address,
        user.on(Call::post_json(
            "/v1/installations",
            &json!({"integration": "slack", "accept": consent["consent_digest"]}),
        )),
        201,
    )
    .await;
    let vault = &d.platform.vault;
    let users = vault
        .find(USER, "slack")
        .await
        .expect("read")
        .expect("a Slack grant");
    let token = vault.access_token(&users.info.id).await.expect("opens");
    vault
        .save(
            &user.id,
            "slack",
            &workway_fixtures::first_party_scopes("slack"),
            &TokenSet {
                access_token: token,
                refresh_token: None,
                expires_at: None,
                scopes: None,
                account: Some("pat's workspace".into()),
            },
        )
        .await
        .expect("connected");
    for i in 0..20 {
        let yaml = format!(
            "name: flow-{i}\ntrigger:\n  kind: manual\nsteps:\n  - id: tell\n    action: slack.send-message\n    input:\n      channel: {CHANNEL}\n      text: run {i}\n"
        );
        must(
            address,
            user.on(Call::post("/v1/workflows", "application/yaml", yaml)),
            201,
        )
        .await;
    }
    let runs = setting("BENCH_PAGES_RUNS", 500);
    let mut run_ids = Vec::with_capacity(runs);
    for i in 0..runs {
        let started = must(
            address,
            user.on(Call::post_json(
                "/v1/runs",
                &json!({"workflow": format!("flow-{}", i % 20)}),
            )),
            202,
        )
        .await;
        run_ids.push(started["run_id"].as_str().expect("an id").to_string());
        if run_ids.len() % 50 == 0 {
            // Drain as we go: the account's queue is bounded.
            let last = run_ids.last().cloned().expect("a run");
            d.finish(&last, Duration::from_secs(120)).await;
        }
    }
    if let Some(last) = run_ids.last() {
        d.finish(last, Duration::from_secs(120)).await;
    }
    let executor = d.executor(fast());
    let drained = {
        let store = d.platform.store.clone();
        let ids = run_ids.clone();
        async move {
            for id in ids {
                loop {
                    let run = store.runs().get(&id).await.expect("read").expect("a run");
                    if run.status.is_finished() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    };
    executor.work(drained).await;

    // A developer, reviewer and admin with a submission waiting.
    let reviewer = sign_up(address, "rex").await;
    workway_engine::accounts::set_roles(
        &d.platform.store,
        &reviewer.id,
        &[
            workway_engine::accounts::Role::User,
            workway_engine::accounts::Role::Developer,
            workway_engine::accounts::Role::Reviewer,
            workway_engine::accounts::Role::Admin,
        ],
        workway_store::clock::now_ms(),
    )
    .await
    .expect("roles");
    let component = std::fs::read(workway_test_artifacts::EVOLVING_V1).expect("built");
    let manifest = "name = \"evolving\"\nversion = \"1.0.0\"\npublisher = \"bench\"\n\
        description = \"One test integration.\"\n\n[actions.ping]\n\
        description = \"Say which version answers.\"\nexample = {}\n\n[http]\n\
        hosts = [\"https://api.example.com\"]\n";
    let body = json!({"manifest": manifest, "component": STANDARD.encode(&component)});
    let submitted = must(
        address,
        reviewer.on(Call::post_json("/v1/submissions", &body)),
        201,
    )
    .await;
    let submission = submitted["id"].as_str().expect("an id").to_string();

    println!(
        "| {:<8} | seeded: {listings} listings ({:.1} s), {executions} attempts rolled up ({:.1} s), {runs} runs",
        t.label, made.listing_secs, made.rollup_secs
    );
    let name = made.names[made.names.len() / 2].clone();
    let run = run_ids[run_ids.len() / 2].clone();
    let user = Arc::new(user);
    let reviewer = Arc::new(reviewer);
    let pages: Vec<(&str, String, Arc<Session>)> = vec![
        ("marketplace", "/marketplace".into(), user.clone()),
        (
            "marketplace search",
            "/marketplace?q=message".into(),
            user.clone(),
        ),
        (
            "integration page",
            format!("/marketplace/{name}"),
            user.clone(),
        ),
        (
            "consent screen",
            "/marketplace/notion/install".into(),
            user.clone(),
        ),
        ("installations", "/installations".into(), user.clone()),
        ("connections", "/connections".into(), user.clone()),
        ("workflows", "/workflows".into(), user.clone()),
        ("workflow page", "/workflows/flow-7".into(), user.clone()),
        ("runs", "/runs".into(), user.clone()),
        (
            "runs, succeeded",
            "/runs?status=succeeded".into(),
            user.clone(),
        ),
        ("run page", format!("/runs/{run}"), user.clone()),
        ("account", "/account".into(), user.clone()),
        ("billing", "/billing".into(), user.clone()),
        ("developer console", "/developer".into(), reviewer.clone()),
        ("review queue", "/review".into(), reviewer.clone()),
        (
            "submission page",
            format!("/submissions/{submission}"),
            reviewer.clone(),
        ),
        (
            "admin: accounts",
            "/admin/accounts".into(),
            reviewer.clone(),
        ),
        (
            "admin: submissions",
            "/admin/submissions?state=all".into(),
            reviewer.clone(),
        ),
        (
            "admin: hidden reviews",
            "/admin/reviews".into(),
            reviewer.clone(),
        ),
        ("admin: ledger", "/admin/ledger".into(), reviewer.clone()),
    ];
    let requests = setting("BENCH_PAGES_REQUESTS", 200);
    for (what, path, who) in pages {
        let cookie = who.cookie.clone();
        let make = move |_| Call::get(path.clone()).header("cookie", cookie.clone());
        let make = Arc::new(make);
        let warm = {
            let make = make.clone();
            drive(address, 1, 20, move |i| make(i)).await
        };
        assert_eq!(
            warm.errors, 0,
            "{what}: warm-up failed: {:?}",
            warm.first_errors
        );
        let phase = drive(address, 1, requests, move |i| make(i)).await;
        row(t.label, what, &phase);
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
        println!(
            "\nWeb UI pages (workway_server::serve, HTTP/1.1 on 127.0.0.1, a browser session)\n"
        );
        println!(
            "- one request at a time after 20 warm-up requests per page; server, client and (for \
             SQLite) the store share {cores} cores; latency is send to answer read; goal: p99 \
             under 200 ms"
        );
        if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
            let load: Vec<&str> = load.split_whitespace().take(3).collect();
            println!("- load average at the start: {}", load.join(" "));
        }
        println!();
        println!(
            "| {:<8} | {:<36} | {:>8} | {:>9} | {:>9} | {:>6} | {:>8} |",
            "store", "page", "requests", "p50 µs", "p99 µs", "errors", "< 200 ms"
        );
        println!(
            "|{:-<10}|{:-<38}|{:->10}|{:->11}|{:->11}|{:->8}|{:->10}|",
            "", "", "", "", "", "", ""
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
