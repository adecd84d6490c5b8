//! What brokering costs: an outbound request through the production egress
//! broker (policy, resolution and address checks, header rules, bounded
//! body read) against the same request sent directly, each over a new
//! connection and over a kept one (the broker's pool, against an egress
//! with pooling off in the same process), with and without a vault token;
//! the same inside a sandboxed execution; and how the vault's
//! refresh behaves when many executions on two hosts want the same expired
//! connection at once. Everything runs against local mock servers, in one
//! process and one run.
//!
//! Run with `cargo bench -p workway-bench --bench brokers` (or
//! `scripts/bench.sh brokers`). `BENCH_ITERATIONS` sets the samples per
//! request row (default 2000). PostgreSQL rows run when a server answers at
//! `WORKWAY_TEST_POSTGRES_URL` (default 127.0.0.1:5432, database `test`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use workway_bench::timing::{Spread, spread, time_async};
use workway_capabilities::secret::Secret;
use workway_capabilities::{Capabilities, ConnectionInfo, HttpBroker, OutboundRequest};
use workway_egress::{Egress, EgressConfig};
use workway_mocks::{Flavor, MockOAuthProvider, MockResponse, MockServer, TestCa};
use workway_report::Outcome;
use workway_runtime::{ExecutionRequest, Runtime, RuntimeConfig};
use workway_store::clock::now_ms;
use workway_store::testing::{TestStore, test_stores};
use workway_vault::oauth::providers::{ProviderRegistry, ProviderSettings};
use workway_vault::oauth::token::TokenSet;
use workway_vault::{Keyring, Vault, VaultSettings};

const HOST: &str = "api.bench.test";

fn iterations() -> usize {
    std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn row(name: &str, s: &Spread, baseline: Option<&Spread>) {
    let ratio = baseline.map_or(String::from("(base)"), |b| {
        format!("{:.2}x", s.median / b.median)
    });
    println!(
        "| {name:<52} | {:>9.1} | {:>9.1} | {ratio:>7} |",
        s.median, s.p99
    );
}

fn header(title: &str) {
    println!("\n{title}\n");
    println!(
        "| {:<52} | {:>9} | {:>9} | {:>7} |",
        "path", "median µs", "p99 µs", "ratio"
    );
    println!("|{:-<54}|{:->11}|{:->11}|{:->9}|", "", "", "", "");
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// A new hyper connection to `addr`, TLS when `tls` is given.
async fn open(addr: SocketAddr, tls: Option<&tokio_rustls::TlsConnector>) -> Sender {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    match tls {
        Some(connector) => {
            let name = rustls_pki_types::ServerName::try_from(HOST).expect("name");
            let stream = connector.connect(name, tcp).await.expect("TLS");
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            sender
        }
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            sender
        }
    }
}

/// One GET with hyper over `sender`, no broker.
async fn ping(sender: &mut Sender) {
    sender.ready().await.expect("ready");
    let request = hyper::Request::get("/ping")
        .header(hyper::header::HOST, HOST)
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.expect("body");
}

/// One GET over a fresh connection with hyper, no broker: the floor
/// without a pool.
async fn direct(addr: SocketAddr, tls: Option<&tokio_rustls::TlsConnector>) {
    ping(&mut open(addr, tls).await).await;
}

fn get(url: &str) -> OutboundRequest {
    OutboundRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![("accept".into(), "application/json".into())],
        body: Vec::new(),
        timeout: Duration::from_secs(10),
        max_response_bytes: 1 << 20,
    }
}

/// The outside world: a plain and a TLS API server, and the egress that
/// reaches them by explicit overrides.
struct World {
    plain: MockServer,
    tls: MockServer,
    connector: tokio_rustls::TlsConnector,
    config: EgressConfig,
    /// The vault key every host shares.
    keys: Arc<Keyring>,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let ok = |_: &workway_mocks::RecordedRequest| {
        MockResponse::json(200, serde_json::json!({"ok": true}))
    };
    let ca = TestCa::new();
    let dir = tempfile::tempdir().expect("temp dir");
    let pem = ca.write_pem(dir.path());
    let plain = MockServer::start(ok).await;
    let tls = MockServer::start_tls(ok, ca.server_config(&[HOST])).await;
    let config = EgressConfig {
        overrides: vec![
            format!("{HOST}:{}=127.0.0.1:{}", plain.port(), plain.port()),
            format!("{HOST}:443=127.0.0.1:{}", tls.port()),
        ],
        extra_root_certificates: vec![pem],
        ..EgressConfig::default()
    };
    World {
        connector: tokio_rustls::TlsConnector::from(ca.client_config()),
        plain,
        tls,
        config,
        keys: Arc::new(
            Keyring::parse(&Keyring::generate_entry("k1").expect("random")).expect("keys"),
        ),
        _dir: dir,
    }
}

/// A vault over `store` whose `slack` provider's API host is the bench host.
fn vault(store: workway_store::Store, w: &World, token_url: &str) -> Arc<Vault> {
    let mut settings = BTreeMap::new();
    settings.insert(
        "slack".to_string(),
        ProviderSettings {
            client_id: Some("bench".into()),
            client_secret: Some("bench-secret".into()),
            token_url: Some(token_url.into()),
            api_hosts: Some(vec![format!("https://{HOST}")]),
            ..Default::default()
        },
    );
    let providers = ProviderRegistry::builtin()
        .configure(&settings)
        .expect("settings");
    let egress = Arc::new(Egress::new(w.config.clone()).expect("egress"));
    Arc::new(Vault::new(
        store,
        w.keys.clone(),
        Arc::new(providers),
        egress,
    ))
}

async fn connect(
    vault: &Vault,
    access: &str,
    refresh: &str,
    expires_at: Option<i64>,
) -> ConnectionInfo {
    vault
        .save(
            "bench",
            "slack",
            &["chat:write".to_string()],
            &TokenSet {
                access_token: Secret::new(access),
                refresh_token: Some(Secret::new(refresh)),
                expires_at,
                scopes: None,
                account: None,
            },
        )
        .await
        .expect("saved")
}

/// `w`'s egress configuration with connection pooling off: every request
/// opens (and closes) its own connection, as before the pool.
fn unpooled(w: &World) -> EgressConfig {
    EgressConfig {
        pool_idle_timeout_ms: 0,
        ..w.config.clone()
    }
}

async fn requests(w: &World, stores: &[TestStore], n: usize) {
    header(
        "Outbound request: direct hyper vs the egress broker, new connection each vs kept (local mock)",
    );
    let plain_url = format!("http://{HOST}:{}/ping", w.plain.port());
    let tls_url = format!("https://{HOST}/ping");
    let patterns = || {
        vec![
            format!("http://{HOST}:{}", w.plain.port())
                .parse()
                .expect("pattern"),
            format!("https://{HOST}").parse().expect("pattern"),
        ]
    };
    let egress = Arc::new(Egress::new(w.config.clone()).expect("egress"));
    let broker = egress.broker(patterns());
    let fresh_egress = Arc::new(Egress::new(unpooled(w)).expect("egress"));
    let fresh_broker = fresh_egress.broker(patterns());

    // The floor for the token rows below: HTTPS over one kept connection.
    let mut tls_kept = None;
    for (label, url, addr, tls) in [
        ("plain HTTP", &plain_url, w.plain.addr(), None),
        ("HTTPS", &tls_url, w.tls.addr(), Some(&w.connector)),
    ] {
        let direct_fresh = time_async(n, async || direct(addr, tls).await).await;
        row(
            &format!("direct, {label}, new connection each"),
            &direct_fresh,
            None,
        );
        let brokered_fresh = time_async(n, async || {
            fresh_broker.send(get(url), None).await.expect("sent");
        })
        .await;
        row(
            &format!("broker, {label}, pooling off"),
            &brokered_fresh,
            Some(&direct_fresh),
        );
        let mut kept = open(addr, tls).await;
        let direct_kept = time_async(n, async || ping(&mut kept).await).await;
        row(
            &format!("direct, {label}, one kept connection"),
            &direct_kept,
            None,
        );
        let brokered = time_async(n, async || {
            broker.send(get(url), None).await.expect("sent");
        })
        .await;
        row(
            &format!("broker, {label}, pooled"),
            &brokered,
            Some(&direct_kept),
        );
        println!(
            "|   {label}: broker overhead per request {:.1} µs pooled, {:.1} µs fresh; \
             pooled vs fresh {:.2}x",
            brokered.median - direct_kept.median,
            brokered_fresh.median - direct_fresh.median,
            brokered.median / brokered_fresh.median
        );
        if tls.is_some() {
            tls_kept = Some(direct_kept);
        }
    }
    for t in stores {
        let vault = vault(t.store.clone(), w, "http://127.0.0.1:9/unused");
        let info = connect(&vault, "xoxb-bench", "xoxe-bench", None).await;
        let egress = Arc::new(
            Egress::new(w.config.clone())
                .expect("egress")
                .with_credentials(vault.clone()),
        );
        let broker = egress.broker(vec![format!("https://{HOST}").parse().expect("pattern")]);
        let with_token = time_async(n, async || {
            broker.send(get(&tls_url), Some(&info)).await.expect("sent");
        })
        .await;
        row(
            &format!("broker, HTTPS pooled + vault token ({})", t.label),
            &with_token,
            tls_kept.as_ref(),
        );
        // The token read alone, same process and connection: with the
        // cache off (every read opens the stored row), then with the
        // default cache (a hit after the first read of each second).
        let uncached = Vault::new(
            t.store.clone(),
            w.keys.clone(),
            Arc::new(vault.providers().clone()),
            Arc::new(Egress::new(w.config.clone()).expect("egress")),
        )
        .with_settings(VaultSettings {
            token_cache: Duration::ZERO,
            ..VaultSettings::default()
        });
        let read = time_async(n, async || {
            uncached.access_token(&info.id).await.expect("token");
        })
        .await;
        row(
            &format!("vault token read, uncached ({})", t.label),
            &read,
            None,
        );
        let cached = time_async(n, async || {
            vault.access_token(&info.id).await.expect("token");
        })
        .await;
        row(
            &format!("vault token read, cached ({})", t.label),
            &cached,
            Some(&read),
        );
    }
}

async fn executions(w: &World, stores: &[TestStore], n: usize) {
    header("Inside the sandbox: one isolated execution, without and with a brokered request");
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: Some(std::env::temp_dir().join("workway-bench-cache")),
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let bytes = std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("test plugin built");
    let component = runtime.load(&bytes).await.expect("loads");
    let egress = Arc::new(Egress::new(w.config.clone()).expect("egress"));
    let fresh_egress = Arc::new(Egress::new(unpooled(w)).expect("egress"));
    let run = async |action: &str, input: String, capabilities: Capabilities| {
        let report = runtime
            .execute(
                &component,
                ExecutionRequest {
                    action: action.into(),
                    input,
                    capabilities,
                    ..Default::default()
                },
            )
            .await;
        assert!(
            matches!(report.outcome, Outcome::Ok { .. }),
            "{:?}",
            report.outcome
        );
    };
    let echo = time_async(n, async || {
        run(
            "echo",
            workway_bench::ECHO_INPUT.into(),
            Capabilities::none(),
        )
        .await;
    })
    .await;
    row("execution, echo (no request)", &echo, None);
    let input = serde_json::json!({"url": format!("https://{HOST}/ping")}).to_string();
    let fetch_fresh = time_async(n, async || {
        let caps = Capabilities {
            http: Arc::new(
                fresh_egress.broker(vec![format!("https://{HOST}").parse().expect("pattern")]),
            ),
            ..Capabilities::none()
        };
        run("fetch", input.clone(), caps).await;
    })
    .await;
    row(
        "execution, fetch over HTTPS, pooling off",
        &fetch_fresh,
        Some(&echo),
    );
    let fetch = time_async(n, async || {
        let caps = Capabilities {
            http: Arc::new(
                egress.broker(vec![format!("https://{HOST}").parse().expect("pattern")]),
            ),
            ..Capabilities::none()
        };
        run("fetch", input.clone(), caps).await;
    })
    .await;
    row(
        "execution, fetch over HTTPS through the pooled broker",
        &fetch,
        Some(&echo),
    );
    for t in stores {
        let vault = vault(t.store.clone(), w, "http://127.0.0.1:9/unused");
        connect(&vault, "xoxb-bench", "xoxe-bench", None).await;
        let egress = Arc::new(
            Egress::new(w.config.clone())
                .expect("egress")
                .with_credentials(vault.clone()),
        );
        let input =
            serde_json::json!({"url": format!("https://{HOST}/ping"), "connection": "slack"})
                .to_string();
        let with_token = time_async(n, async || {
            let caps = Capabilities {
                http: Arc::new(
                    egress.broker(vec![format!("https://{HOST}").parse().expect("pattern")]),
                ),
                connections: Arc::new(
                    vault
                        .connections_for(
                            "bench",
                            &BTreeMap::from([(
                                "slack".to_string(),
                                vec!["chat:write".to_string()],
                            )]),
                        )
                        .await
                        .expect("connections"),
                ),
                ..Capabilities::none()
            };
            run("fetch", input.clone(), caps).await;
        })
        .await;
        row(
            &format!("execution, pooled fetch + connection + token ({})", t.label),
            &with_token,
            Some(&echo),
        );
    }
}

async fn contention(w: &World, stores: &[TestStore]) {
    println!(
        "\nRefresh under contention: N callers on two hosts (two pools on one database) want the same expired connection at once\n"
    );
    println!(
        "| {:<10} | {:>7} | {:>15} | {:>13} | {:>13} | {:>13} |",
        "store", "callers", "refresh delay", "refresh calls", "median wait", "max wait"
    );
    println!(
        "|{:-<12}|{:->9}|{:->17}|{:->15}|{:->15}|{:->15}|",
        "", "", "", "", "", ""
    );
    for t in stores {
        let other = t.reopen().await;
        for delay_ms in [0u64, 100] {
            for callers in [2usize, 16, 64] {
                let oauth = MockOAuthProvider::start(Flavor::Slack, "bench", "bench-secret").await;
                oauth.set_refresh_delay(Duration::from_millis(delay_ms));
                let a = vault(t.store.clone(), w, &oauth.token_url());
                let b = vault(other.clone(), w, &oauth.token_url());
                let grant = oauth.seed_grant();
                let info = connect(
                    &a,
                    &grant.access_token,
                    &grant.refresh_token,
                    Some(now_ms() - 1),
                )
                .await;
                let started = Instant::now();
                let mut tasks = Vec::new();
                for i in 0..callers {
                    let v = if i % 2 == 0 { a.clone() } else { b.clone() };
                    let id = info.id.clone();
                    tasks.push(tokio::spawn(async move {
                        let begun = Instant::now();
                        v.access_token(&id).await.expect("token");
                        begun.elapsed()
                    }));
                }
                let mut waits = Vec::new();
                for task in tasks {
                    waits.push(task.await.expect("joined"));
                }
                let _ = started.elapsed();
                let max = waits.iter().max().copied().unwrap_or_default();
                let s = spread(waits);
                println!(
                    "| {:<10} | {callers:>7} | {:>12} ms | {:>13} | {:>10.1} ms | {:>10.1} ms |",
                    t.label,
                    delay_ms,
                    oauth.refresh_count(),
                    s.median / 1000.0,
                    max.as_secs_f64() * 1000.0
                );
            }
        }
        other.close().await;
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    runtime.block_on(async {
        let n = iterations();
        let w = world().await;
        let stores = test_stores().await;
        println!(
            "Brokers benchmark: {n} samples per row; stores: {}",
            stores
                .iter()
                .map(|t| t.label)
                .collect::<Vec<_>>()
                .join(", ")
        );
        requests(&w, &stores, n).await;
        executions(&w, &stores, (n / 4).max(50)).await;
        contention(&w, &stores).await;
        for t in stores {
            t.cleanup().await;
        }
    });
}
