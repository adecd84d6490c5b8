//! What brokering costs: an outbound request through the production egress
//! broker (policy, resolution and address checks, header rules, bounded
//! body read) against the same request sent directly, with and without a
//! vault token; the same inside a sandboxed execution; and how the vault's
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
use workway_vault::{Keyring, Vault};

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

/// One GET over a fresh connection with hyper, no broker: the floor.
async fn direct(addr: SocketAddr, tls: Option<&tokio_rustls::TlsConnector>) {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let request = hyper::Request::get("/ping")
        .header(hyper::header::HOST, HOST)
        .body(Empty::<Bytes>::new())
        .expect("request");
    let response = match tls {
        Some(connector) => {
            let name = rustls_pki_types::ServerName::try_from(HOST).expect("name");
            let stream = connector.connect(name, tcp).await.expect("TLS");
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            sender.send_request(request).await.expect("response")
        }
        None => {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .expect("handshake");
            tokio::spawn(conn);
            sender.send_request(request).await.expect("response")
        }
    };
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.expect("body");
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

async fn requests(w: &World, stores: &[TestStore], n: usize) {
    header(
        "Outbound request: direct hyper vs the egress broker (fresh connection each, local mock)",
    );
    let plain_url = format!("http://{HOST}:{}/ping", w.plain.port());
    let tls_url = format!("https://{HOST}/ping");
    let egress = Arc::new(Egress::new(w.config.clone()).expect("egress"));
    let broker = egress.broker(vec![
        format!("http://{HOST}:{}", w.plain.port())
            .parse()
            .expect("pattern"),
        format!("https://{HOST}").parse().expect("pattern"),
    ]);

    let direct_plain = time_async(n, async || direct(w.plain.addr(), None).await).await;
    row("direct, plain HTTP", &direct_plain, None);
    let brokered_plain = time_async(n, async || {
        broker.send(get(&plain_url), None).await.expect("sent");
    })
    .await;
    row("broker, plain HTTP", &brokered_plain, Some(&direct_plain));
    println!(
        "|   broker overhead per request: {:.1} µs",
        brokered_plain.median - direct_plain.median
    );

    let direct_tls = time_async(n, async || direct(w.tls.addr(), Some(&w.connector)).await).await;
    row("direct, HTTPS (TLS handshake each)", &direct_tls, None);
    let brokered_tls = time_async(n, async || {
        broker.send(get(&tls_url), None).await.expect("sent");
    })
    .await;
    row("broker, HTTPS", &brokered_tls, Some(&direct_tls));

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
            &format!("broker, HTTPS + vault token ({})", t.label),
            &with_token,
            Some(&direct_tls),
        );
        let token_only = time_async(n, async || {
            vault.access_token(&info.id).await.expect("token");
        })
        .await;
        row(
            &format!("vault token lookup alone ({})", t.label),
            &token_only,
            None,
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
        "execution, fetch over HTTPS through the broker",
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
            &format!("execution, fetch + connection lookup + token ({})", t.label),
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
