//! The network HTTP broker against local servers standing in for the
//! world. Named hosts reach them only through explicit `overrides` or a
//! test resolver; everything else must be refused.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use workway_capabilities::secret::Secret;
use workway_capabilities::{
    BrokerError, ConnectionInfo, CredentialSource, HttpBroker, InboundResponse, OutboundRequest,
};
use workway_egress::{Egress, EgressConfig, Resolve};
use workway_registry::hosts::HostPattern;

// ---------------------------------------------------------------------------
// Local upstreams
// ---------------------------------------------------------------------------

/// What an upstream saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    /// Path and query.
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The TLS server name the client asked for.
    sni: Option<String>,
    /// Which of the upstream's connections (in accept order) carried it.
    connection: usize,
    /// Its TLS connection resumed an earlier session.
    resumed: bool,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How an upstream answers.
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Duration,
}

impl Reply {
    fn ok(body: &str) -> Reply {
        Reply {
            status: 200,
            headers: vec![("content-type", "text/plain".into())],
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: vec![],
            delay: Duration::ZERO,
        }
    }

    fn redirect(status: u16, location: &str) -> Reply {
        Reply {
            status,
            headers: vec![("location", location.to_string())],
            body: b"moved".to_vec(),
            delay: Duration::ZERO,
        }
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

struct Upstream {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("not poisoned").clone()
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Where a request arrived: its connection and TLS session.
#[derive(Clone)]
struct Arrival {
    sni: Option<String>,
    connection: usize,
    resumed: bool,
}

async fn answer(
    request: Request<Incoming>,
    arrival: Arrival,
    handler: Handler,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let record = Seen {
        method: parts.method.to_string(),
        target: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        sni: arrival.sni,
        connection: arrival.connection,
        resumed: arrival.resumed,
    };
    let reply = handler(&record);
    seen.lock().expect("not poisoned").push(record);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = Response::builder().status(reply.status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    Ok(response
        .body(Full::new(Bytes::from(reply.body)))
        .expect("valid response"))
}

/// An HTTP (or, with `tls`, HTTPS) server on 127.0.0.1.
async fn upstream(
    tls: Option<Arc<rustls::ServerConfig>>,
    handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let accepted = Arc::new(AtomicUsize::new(0));
    let handler: Handler = Arc::new(handler);
    let task = {
        let seen = seen.clone();
        let accepted = accepted.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let connection = accepted.fetch_add(1, Ordering::SeqCst);
                let handler = handler.clone();
                let seen = seen.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(config) => {
                            let acceptor = tokio_rustls::TlsAcceptor::from(config);
                            let Ok(stream) = acceptor.accept(stream).await else {
                                return;
                            };
                            let session = stream.get_ref().1;
                            let arrival = Arrival {
                                sni: session.server_name().map(String::from),
                                connection,
                                resumed: session.handshake_kind()
                                    == Some(rustls::HandshakeKind::Resumed),
                            };
                            let service = service_fn(move |r| {
                                answer(r, arrival.clone(), handler.clone(), seen.clone())
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        None => {
                            let arrival = Arrival {
                                sni: None,
                                connection,
                                resumed: false,
                            };
                            let service = service_fn(move |r| {
                                answer(r, arrival.clone(), handler.clone(), seen.clone())
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        })
    };
    Upstream {
        port,
        seen,
        accepted,
        task,
    }
}

/// A server that answers every connection with `head` and then, if
/// `endless`, chunks of body until the client goes away.
async fn raw_upstream(head: &'static str, endless: bool) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                if stream.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("1000\r\n{}\r\n", "x".repeat(0x1000));
                if !endless {
                    return;
                }
                while stream.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    (port, task)
}

// ---------------------------------------------------------------------------
// A test certificate authority
// ---------------------------------------------------------------------------

struct TestCa {
    ca_pem: tempfile::NamedTempFile,
    server: Arc<rustls::ServerConfig>,
}

fn test_ca(server_name: &str) -> TestCa {
    test_ca_for(&[server_name])
}

/// A test CA and a server certificate from it for `server_names`.
fn test_ca_for(server_names: &[&str]) -> TestCa {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "workway egress test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");

    let leaf_key = KeyPair::generate().expect("leaf key");
    let names = server_names
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>();
    let leaf_params = CertificateParams::new(names).expect("leaf params");
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca_cert, &ca_key)
        .expect("leaf certificate");

    let ca_pem = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(ca_pem.path(), ca_cert.pem()).expect("write CA");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server config");
    TestCa {
        ca_pem,
        server: Arc::new(server),
    }
}

// ---------------------------------------------------------------------------
// Test doubles for the resolver and the vault
// ---------------------------------------------------------------------------

/// Answers from a fixed table, counting lookups.
#[derive(Default)]
struct TableResolver {
    table: HashMap<String, Vec<IpAddr>>,
    lookups: AtomicUsize,
}

impl TableResolver {
    fn with(entries: &[(&str, &[&str])]) -> Arc<Self> {
        Arc::new(TableResolver {
            table: entries
                .iter()
                .map(|(name, ips)| {
                    (
                        name.to_string(),
                        ips.iter().map(|ip| ip.parse().expect("an IP")).collect(),
                    )
                })
                .collect(),
            lookups: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl Resolve for TableResolver {
    async fn resolve(&self, host: &str, _port: u16) -> io::Result<Vec<IpAddr>> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.table
            .get(host)
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such host"))
    }
}

/// A vault with one provider, `acme`, whose API hosts are given.
struct FakeVault {
    api_hosts: Vec<HostPattern>,
    token: Result<&'static str, &'static str>,
    refreshed: Option<&'static str>,
    rejected: Mutex<Vec<String>>,
}

impl FakeVault {
    fn new(api_hosts: &[&str]) -> FakeVault {
        FakeVault {
            api_hosts: patterns(api_hosts),
            token: Ok("tok"),
            refreshed: None,
            rejected: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl CredentialSource for FakeVault {
    fn api_hosts(&self, provider: &str) -> Option<Vec<HostPattern>> {
        (provider == "acme").then(|| self.api_hosts.clone())
    }

    async fn access_token(&self, _connection: &ConnectionInfo) -> Result<Secret, BrokerError> {
        self.token
            .map(Secret::new)
            .map_err(|reason| BrokerError::AuthExpired(reason.into()))
    }

    async fn token_rejected(
        &self,
        _connection: &ConnectionInfo,
        rejected: &Secret,
    ) -> Result<Option<Secret>, BrokerError> {
        self.rejected
            .lock()
            .expect("not poisoned")
            .push(rejected.expose().to_string());
        Ok(self.refreshed.map(Secret::new))
    }
}

fn connection(provider: &str) -> ConnectionInfo {
    ConnectionInfo {
        id: format!("conn-{provider}"),
        provider: provider.into(),
        account: None,
        scopes: vec![],
    }
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn patterns(texts: &[&str]) -> Vec<HostPattern> {
    texts
        .iter()
        .map(|t| t.parse().expect("a host pattern"))
        .collect()
}

fn get(url: &str) -> OutboundRequest {
    OutboundRequest {
        method: "GET".into(),
        url: url.into(),
        headers: vec![],
        body: vec![],
        timeout: Duration::from_secs(10),
        max_response_bytes: 1 << 20,
    }
}

fn with_overrides(overrides: &[String]) -> EgressConfig {
    EgressConfig {
        overrides: overrides.to_vec(),
        ..EgressConfig::default()
    }
}

fn egress(config: EgressConfig) -> Arc<Egress> {
    Arc::new(Egress::new(config).expect("egress"))
}

/// The `Denied` reason, or a failure naming what came instead.
fn denied(result: Result<InboundResponse, BrokerError>) -> String {
    match result {
        Err(BrokerError::Denied(reason)) => reason,
        other => panic!("expected Denied, got {other:?}"),
    }
}

fn ok(result: Result<InboundResponse, BrokerError>) -> InboundResponse {
    match result {
        Ok(response) => response,
        Err(e) => panic!("expected a response, got {e:?}"),
    }
}

fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "`{text}` should contain `{needle}`");
}

// ---------------------------------------------------------------------------
// Allowed requests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn plain_http_to_an_approved_host_succeeds() {
    let server = upstream(None, |_| Reply::ok("hello")).await;
    let p = server.port;
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:{p}=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));

    let response = ok(broker
        .send(get(&format!("http://api.allowed.test:{p}/hello?x=1")), None)
        .await);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"hello");
    assert!(
        response
            .headers
            .iter()
            .any(|(n, v)| n == "content-type" && v == "text/plain")
    );

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].target, "/hello?x=1");
    assert_eq!(
        seen[0].header("host"),
        Some(format!("api.allowed.test:{p}").as_str())
    );
    assert_eq!(seen[0].header("user-agent"), Some("workway/0.1"));
    assert_eq!(seen[0].header("authorization"), None);
}

#[tokio::test]
async fn https_with_a_test_ca_verifies_the_url_host_by_sni() {
    let ca = test_ca("api.allowed.test");
    let server = upstream(Some(ca.server.clone()), |_| Reply::ok("secure")).await;
    let p = server.port;
    let egress = egress(EgressConfig {
        // The URL uses the default port 443; the override sends it to the
        // local server.
        overrides: vec![format!("api.allowed.test:443=127.0.0.1:{p}")],
        extra_root_certificates: vec![ca.ca_pem.path().to_path_buf()],
        ..EgressConfig::default()
    });
    let broker = egress.broker(patterns(&["https://api.allowed.test"]));

    let response = ok(broker
        .send(get("https://api.allowed.test/v1/x"), None)
        .await);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"secure");
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].sni.as_deref(), Some("api.allowed.test"));
    assert_eq!(seen[0].header("host"), Some("api.allowed.test"));
}

#[tokio::test]
async fn https_to_a_server_the_roots_do_not_trust_is_a_certificate_error() {
    let ca = test_ca("api.allowed.test");
    let server = upstream(Some(ca.server.clone()), |_| Reply::ok("secure")).await;
    let p = server.port;
    // The test CA is not among the roots.
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:443=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&["https://api.allowed.test"]));
    match broker.send(get("https://api.allowed.test/"), None).await {
        Err(BrokerError::Network(message)) => {
            assert_contains(&message, "TLS certificate of `api.allowed.test`");
        }
        other => panic!("expected a certificate error, got {other:?}"),
    }
    assert!(server.seen().is_empty());

    // A certificate for another name is refused too, even from the trusted CA.
    let wrong = test_ca("other.test");
    let server = upstream(Some(wrong.server.clone()), |_| Reply::ok("secure")).await;
    let p = server.port;
    let egress = Arc::new(
        Egress::new(EgressConfig {
            overrides: vec![format!("api.allowed.test:443=127.0.0.1:{p}")],
            extra_root_certificates: vec![wrong.ca_pem.path().to_path_buf()],
            ..EgressConfig::default()
        })
        .expect("egress"),
    );
    let broker = egress.broker(patterns(&["https://api.allowed.test"]));
    match broker.send(get("https://api.allowed.test/"), None).await {
        Err(BrokerError::Network(message)) => assert_contains(&message, "certificate"),
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Refused destinations
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_host_outside_the_approved_list_is_denied() {
    let server = upstream(None, |_| Reply::ok("no")).await;
    let p = server.port;
    let egress = egress(with_overrides(&[
        format!("api.allowed.test:{p}=127.0.0.1:{p}"),
        format!("evil.test:{p}=127.0.0.1:{p}"),
    ]));
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    let reason = denied(
        broker
            .send(get(&format!("http://evil.test:{p}/x?secret=1")), None)
            .await,
    );
    assert_eq!(
        reason,
        format!(
            "`http://evil.test:{p}/x` is not among this integration's approved hosts \
             (http://api.allowed.test:{p})"
        )
    );
    // Same host, another port: also not approved.
    let reason = denied(broker.send(get("http://api.allowed.test/x"), None).await);
    assert_contains(&reason, "not among this integration's approved hosts");
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn ip_literal_hosts_are_denied_by_address_even_when_a_pattern_matches() {
    let server = upstream(None, |_| Reply::ok("no")).await;
    let p = server.port;
    let egress = egress(EgressConfig::default());
    let broker = egress.broker(patterns(&[
        &format!("http://127.0.0.1:{p}"),
        "http://10.1.2.3",
        "http://169.254.169.254",
    ]));
    for (url, needle) in [
        (
            format!("http://127.0.0.1:{p}/"),
            "127.0.0.1, a loopback address",
        ),
        ("http://10.1.2.3".to_string(), "10.1.2.3, a private address"),
        (
            "http://169.254.169.254/latest/meta-data".to_string(),
            "169.254.169.254, a cloud metadata address",
        ),
        (format!("http://[::1]:{p}/"), "::1, a loopback address"),
        (
            format!("http://[::ffff:127.0.0.1]:{p}/"),
            "a loopback address (IPv4-mapped form of 127.0.0.1)",
        ),
        ("http://0x7f.0.0.1/".to_string(), "a loopback address"),
        (
            "http://[fd00:ec2::254]/".to_string(),
            "a cloud metadata address",
        ),
    ] {
        let reason = denied(broker.send(get(&url), None).await);
        assert_contains(&reason, needle);
        assert_contains(&reason, "requests to such addresses are refused");
    }
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn names_that_resolve_to_refused_addresses_are_denied() {
    let resolver = TableResolver::with(&[
        ("api.evil.test", &["10.0.0.5"]),
        ("mapped.evil.test", &["::ffff:192.168.1.1"]),
        ("nat64.evil.test", &["64:ff9b::a9fe:a9fe"]),
        // One bad address among good ones is enough to refuse.
        ("mixed.evil.test", &["93.184.216.34", "100.64.1.1"]),
    ]);
    let egress = Arc::new(
        Egress::new(EgressConfig::default())
            .expect("egress")
            .with_resolver(resolver.clone()),
    );
    let broker = egress.broker(patterns(&[
        "https://api.evil.test",
        "https://mapped.evil.test",
        "https://nat64.evil.test",
        "https://mixed.evil.test",
    ]));
    for (url, expected) in [
        (
            "https://api.evil.test/x",
            "api.evil.test resolves to 10.0.0.5, a private address",
        ),
        (
            "https://mapped.evil.test/",
            "mapped.evil.test resolves to ::ffff:192.168.1.1, a private address \
             (IPv4-mapped form of 192.168.1.1)",
        ),
        (
            "https://nat64.evil.test/",
            "a cloud metadata address (NAT64 form of 169.254.169.254)",
        ),
        (
            "https://mixed.evil.test/",
            "mixed.evil.test resolves to 100.64.1.1, a carrier-grade NAT (shared) address",
        ),
    ] {
        let reason = denied(broker.send(get(url), None).await);
        assert_contains(&reason, expected);
    }
    // One lookup per request: the checked answer is the one used.
    assert_eq!(resolver.lookups.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn localhost_through_the_system_resolver_is_loopback() {
    let server = upstream(None, |_| Reply::ok("no")).await;
    let p = server.port;
    let egress = egress(EgressConfig::default());
    let broker = egress.broker(patterns(&[&format!("http://localhost:{p}")]));
    let reason = denied(
        broker
            .send(get(&format!("http://localhost:{p}/")), None)
            .await,
    );
    assert_contains(&reason, "localhost resolves to");
    assert_contains(&reason, "a loopback address");
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn an_override_applies_only_to_its_name_and_port() {
    let server = upstream(None, |_| Reply::ok("hi")).await;
    let p = server.port;
    let other_port = p.wrapping_add(1).max(1);
    let resolver = TableResolver::with(&[("api.allowed.test", &["127.0.0.1"])]);
    let egress = Arc::new(
        Egress::new(with_overrides(&[format!(
            "api.allowed.test:{p}=127.0.0.1:{p}"
        )]))
        .expect("egress")
        .with_resolver(resolver),
    );
    let broker = egress.broker(patterns(&[
        &format!("http://api.allowed.test:{p}"),
        &format!("http://api.allowed.test:{other_port}"),
    ]));
    ok(broker
        .send(get(&format!("http://api.allowed.test:{p}/")), None)
        .await);
    let reason = denied(
        broker
            .send(get(&format!("http://api.allowed.test:{other_port}/")), None)
            .await,
    );
    assert_contains(
        &reason,
        "api.allowed.test resolves to 127.0.0.1, a loopback address",
    );
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn the_platform_policy_applies_on_top_of_the_manifest() {
    let server = upstream(None, |_| Reply::ok("no")).await;
    let p = server.port;
    let egress_default = egress(with_overrides(&[
        format!("metadata.google.internal=127.0.0.1:{p}"),
        format!("api.allowed.test:{p}=127.0.0.1:{p}"),
    ]));
    let broker = egress_default.broker(patterns(&[
        "http://metadata.google.internal",
        &format!("http://api.allowed.test:{p}"),
    ]));
    let reason = denied(
        broker
            .send(
                get("http://metadata.google.internal/computeMetadata/v1/"),
                None,
            )
            .await,
    );
    assert_contains(
        &reason,
        "host `metadata.google.internal` is denied by the platform policy",
    );

    let https_only = egress(EgressConfig {
        allowed_schemes: vec!["https".into()],
        ..with_overrides(&[format!("api.allowed.test:{p}=127.0.0.1:{p}")])
    });
    let broker = https_only.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    let reason = denied(
        broker
            .send(get(&format!("http://api.allowed.test:{p}/")), None)
            .await,
    );
    assert_contains(
        &reason,
        "scheme `http`, which the platform policy does not allow",
    );
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn urls_with_credentials_are_denied() {
    let egress = egress(EgressConfig::default());
    let broker = egress.broker(patterns(&["https://api.allowed.test"]));
    let reason = denied(
        broker
            .send(get("https://user:hunter2@api.allowed.test/"), None)
            .await,
    );
    assert_contains(&reason, "carries credentials in the URL");
    assert!(!reason.contains("hunter2"), "{reason}");
}

// ---------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_redirect_to_a_disallowed_host_is_denied() {
    let server = upstream(None, |_| {
        Reply::redirect(302, "http://evil.test/steal?data=1")
    })
    .await;
    let p = server.port;
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:{p}=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    let reason = denied(
        broker
            .send(get(&format!("http://api.allowed.test:{p}/start")), None)
            .await,
    );
    assert_contains(
        &reason,
        &format!(
            "the 302 redirect from `http://api.allowed.test:{p}/start` to \
             `http://evil.test/steal` is refused"
        ),
    );
    assert_contains(&reason, "not among this integration's approved hosts");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_denied() {
    let server = upstream(None, |_| {
        Reply::redirect(307, "http://169.254.169.254/latest")
    })
    .await;
    let p = server.port;
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:{p}=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&[
        &format!("http://api.allowed.test:{p}"),
        "http://169.254.169.254",
    ]));
    let reason = denied(
        broker
            .send(get(&format!("http://api.allowed.test:{p}/")), None)
            .await,
    );
    assert_contains(&reason, "307 redirect");
    assert_contains(&reason, "a cloud metadata address");
}

#[tokio::test]
async fn redirects_are_followed_and_the_token_stays_with_its_origin() {
    let server = upstream(None, |seen| {
        let host = seen.header("host").unwrap_or_default().to_string();
        match (host.starts_with("api.provider.test"), seen.target.as_str()) {
            (true, "/start") => Reply::redirect(302, "/next"),
            (true, "/next") => {
                let port = host.rsplit(':').next().unwrap_or_default();
                Reply::redirect(
                    301,
                    &format!("http://other.allowed.test:{port}/final?page=2"),
                )
            }
            (false, "/final?page=2") => Reply::ok("done"),
            _ => Reply::status(404),
        }
    })
    .await;
    let p = server.port;
    let provider_host = format!("http://api.provider.test:{p}");
    let vault = Arc::new(FakeVault::new(&[&provider_host]));
    let egress = Arc::new(
        Egress::new(with_overrides(&[
            format!("api.provider.test:{p}=127.0.0.1:{p}"),
            format!("other.allowed.test:{p}=127.0.0.1:{p}"),
        ]))
        .expect("egress")
        .with_credentials(vault),
    );
    let broker = egress.broker(patterns(&[
        &provider_host,
        &format!("http://other.allowed.test:{p}"),
    ]));
    let acme = connection("acme");
    let response = ok(broker
        .send(get(&format!("{provider_host}/start")), Some(&acme))
        .await);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"done");

    let seen = server.seen();
    let trail: Vec<(&str, Option<&str>)> = seen
        .iter()
        .map(|s| (s.target.as_str(), s.header("authorization")))
        .collect();
    assert_eq!(
        trail,
        [
            ("/start", Some("Bearer tok")),
            ("/next", Some("Bearer tok")),
            ("/final?page=2", None),
        ]
    );
    assert_eq!(
        seen[2].header("host"),
        Some(format!("other.allowed.test:{p}").as_str())
    );
}

#[tokio::test]
async fn too_many_redirects_is_a_network_error() {
    let server = upstream(None, |seen| {
        Reply::redirect(302, &format!("{}x", seen.target))
    })
    .await;
    let p = server.port;
    let vault = Arc::new(FakeVault {
        token: Ok("tok-very-secret"),
        ..FakeVault::new(&[&format!("http://api.allowed.test:{p}")])
    });
    let egress = Arc::new(
        Egress::new(EgressConfig {
            max_redirects: 3,
            ..with_overrides(&[format!("api.allowed.test:{p}=127.0.0.1:{p}")])
        })
        .expect("egress")
        .with_credentials(vault),
    );
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    let result = broker
        .send(
            get(&format!("http://api.allowed.test:{p}/loop")),
            Some(&connection("acme")),
        )
        .await;
    match &result {
        Err(BrokerError::Network(message)) => {
            assert_contains(message, "too many redirects (more than 3)");
            assert_contains(message, &format!("http://api.allowed.test:{p}/loop"));
        }
        other => panic!("expected too many redirects, got {other:?}"),
    }
    assert!(!format!("{result:?}").contains("tok-very-secret"));
    assert_eq!(server.seen().len(), 4);
}

#[tokio::test]
async fn see_other_turns_a_post_into_a_get_and_307_keeps_it() {
    let server = upstream(None, |seen| match seen.target.as_str() {
        "/form" => Reply::redirect(303, "/done"),
        "/keep" => Reply::redirect(307, "/kept"),
        _ => Reply::ok("ok"),
    })
    .await;
    let p = server.port;
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:{p}=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    let post = |path: &str| OutboundRequest {
        method: "POST".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"a":1}"#.to_vec(),
        ..get(&format!("http://api.allowed.test:{p}{path}"))
    };
    ok(broker.send(post("/form"), None).await);
    ok(broker.send(post("/keep"), None).await);
    let seen = server.seen();
    assert_eq!(seen.len(), 4);
    assert_eq!((seen[0].method.as_str(), seen[0].body.len()), ("POST", 7));
    assert_eq!(seen[0].header("content-length"), Some("7"));
    assert_eq!(
        (seen[1].method.as_str(), seen[1].target.as_str()),
        ("GET", "/done")
    );
    assert!(seen[1].body.is_empty());
    assert_eq!(seen[1].header("content-type"), None);
    assert_eq!(
        (seen[3].method.as_str(), seen[3].target.as_str()),
        ("POST", "/kept")
    );
    assert_eq!(seen[3].body, br#"{"a":1}"#);
}

// ---------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_token_is_attached_only_for_its_providers_api_hosts() {
    let server = upstream(None, |_| Reply::ok("ok")).await;
    let p = server.port;
    let provider_host = format!("http://api.provider.test:{p}");
    let other_host = format!("http://other.allowed.test:{p}");
    let overrides = [
        format!("api.provider.test:{p}=127.0.0.1:{p}"),
        format!("other.allowed.test:{p}=127.0.0.1:{p}"),
    ];
    let egress = Arc::new(
        Egress::new(with_overrides(&overrides))
            .expect("egress")
            .with_credentials(Arc::new(FakeVault::new(&[&provider_host]))),
    );
    let broker = egress.broker(patterns(&[&provider_host, &other_host]));
    let acme = connection("acme");

    ok(broker
        .send(get(&format!("{provider_host}/me")), Some(&acme))
        .await);
    let reason = denied(
        broker
            .send(get(&format!("{other_host}/collect?t=1")), Some(&acme))
            .await,
    );
    assert_eq!(
        reason,
        format!(
            "a `acme` connection can only authorise requests to its API hosts \
             ({provider_host}); not {other_host}/collect"
        )
    );
    let unknown = denied(
        broker
            .send(
                get(&format!("{provider_host}/me")),
                Some(&connection("nope")),
            )
            .await,
    );
    assert_contains(&unknown, "`nope` is not a provider this platform knows");

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("authorization"), Some("Bearer tok"));

    // Without a credential source nothing can be authorised.
    let bare = egress_without_credentials(&overrides);
    let broker = bare.broker(patterns(&[&provider_host]));
    let reason = denied(
        broker
            .send(get(&format!("{provider_host}/me")), Some(&acme))
            .await,
    );
    assert_contains(&reason, "no credential source configured");
    assert_eq!(server.seen().len(), 1);
}

fn egress_without_credentials(overrides: &[String]) -> Arc<Egress> {
    egress(with_overrides(overrides))
}

#[tokio::test]
async fn a_401_is_retried_once_with_the_refreshed_token() {
    let server = upstream(None, |seen| {
        if seen.header("authorization") == Some("Bearer tok2") {
            Reply::ok("fresh")
        } else {
            Reply::status(401)
        }
    })
    .await;
    let p = server.port;
    let host = format!("http://api.provider.test:{p}");
    let vault = Arc::new(FakeVault {
        refreshed: Some("tok2"),
        ..FakeVault::new(&[&host])
    });
    let egress = Arc::new(
        Egress::new(with_overrides(&[format!(
            "api.provider.test:{p}=127.0.0.1:{p}"
        )]))
        .expect("egress")
        .with_credentials(vault.clone()),
    );
    let broker = egress.broker(patterns(&[&host]));
    let response = ok(broker
        .send(get(&format!("{host}/me")), Some(&connection("acme")))
        .await);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"fresh");
    let auths: Vec<Option<String>> = server
        .seen()
        .iter()
        .map(|s| s.header("authorization").map(String::from))
        .collect();
    assert_eq!(
        auths,
        [
            Some("Bearer tok".to_string()),
            Some("Bearer tok2".to_string())
        ]
    );
    assert_eq!(*vault.rejected.lock().expect("not poisoned"), ["tok"]);
}

#[tokio::test]
async fn a_401_goes_back_when_the_grant_cannot_be_refreshed_or_fails_again() {
    let server = upstream(None, |_| Reply::status(401)).await;
    let p = server.port;
    let host = format!("http://api.provider.test:{p}");
    let overrides = [format!("api.provider.test:{p}=127.0.0.1:{p}")];

    // No refresh possible: one request, the 401 is the answer.
    let vault = Arc::new(FakeVault::new(&[&host]));
    let egress = Arc::new(
        Egress::new(with_overrides(&overrides))
            .expect("egress")
            .with_credentials(vault.clone()),
    );
    let broker = egress.broker(patterns(&[&host]));
    let response = ok(broker
        .send(get(&format!("{host}/me")), Some(&connection("acme")))
        .await);
    assert_eq!(response.status, 401);
    assert_eq!(server.seen().len(), 1);

    // A refreshed token that is refused too: retried once only.
    let vault = Arc::new(FakeVault {
        refreshed: Some("tok2"),
        ..FakeVault::new(&[&host])
    });
    let egress = Arc::new(
        Egress::new(with_overrides(&overrides))
            .expect("egress")
            .with_credentials(vault.clone()),
    );
    let broker = egress.broker(patterns(&[&host]));
    let response = ok(broker
        .send(get(&format!("{host}/me")), Some(&connection("acme")))
        .await);
    assert_eq!(response.status, 401);
    assert_eq!(server.seen().len(), 3);
    assert_eq!(vault.rejected.lock().expect("not poisoned").len(), 1);

    // Without auth a 401 is just a response.
    let response = ok(broker.send(get(&format!("{host}/me")), None).await);
    assert_eq!(response.status, 401);
    assert_eq!(vault.rejected.lock().expect("not poisoned").len(), 1);
}

#[tokio::test]
async fn auth_expired_from_the_vault_propagates() {
    let server = upstream(None, |_| Reply::ok("no")).await;
    let p = server.port;
    let host = format!("http://api.provider.test:{p}");
    let vault = Arc::new(FakeVault {
        token: Err("the user revoked the grant"),
        ..FakeVault::new(&[&host])
    });
    let egress = Arc::new(
        Egress::new(with_overrides(&[format!(
            "api.provider.test:{p}=127.0.0.1:{p}"
        )]))
        .expect("egress")
        .with_credentials(vault),
    );
    let broker = egress.broker(patterns(&[&host]));
    let result = broker
        .send(get(&format!("{host}/me")), Some(&connection("acme")))
        .await;
    assert_eq!(
        result,
        Err(BrokerError::AuthExpired(
            "the user revoked the grant".into()
        ))
    );
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn guest_set_credential_and_routing_headers_are_stripped() {
    let server = upstream(None, |_| Reply::ok("ok")).await;
    let p = server.port;
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:{p}=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    let request = OutboundRequest {
        headers: vec![
            ("authorization".into(), "Bearer guest-forged".into()),
            ("cookie".into(), "session=stolen".into()),
            ("host".into(), "evil.test".into()),
            ("proxy-authorization".into(), "Basic eA==".into()),
            ("transfer-encoding".into(), "chunked".into()),
            ("content-length".into(), "999".into()),
            ("user-agent".into(), "my-plugin/2".into()),
            ("x-custom".into(), "kept".into()),
        ],
        ..get(&format!("http://api.allowed.test:{p}/h"))
    };
    ok(broker.send(request, None).await);
    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.header("authorization"), None);
    assert_eq!(s.header("cookie"), None);
    assert_eq!(s.header("proxy-authorization"), None);
    assert_eq!(s.header("transfer-encoding"), None);
    assert_eq!(
        s.header("host"),
        Some(format!("api.allowed.test:{p}").as_str())
    );
    assert_eq!(s.header("user-agent"), Some("my-plugin/2"));
    assert_eq!(s.header("x-custom"), Some("kept"));
}

// ---------------------------------------------------------------------------
// Caps and failures
// ---------------------------------------------------------------------------

#[tokio::test]
async fn an_oversized_response_is_too_large() {
    let server = upstream(None, |_| Reply::ok(&"x".repeat(64 * 1024))).await;
    let p = server.port;
    let (endless, _task) = raw_upstream(
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
        true,
    )
    .await;
    let egress = egress(with_overrides(&[
        format!("api.allowed.test:{p}=127.0.0.1:{p}"),
        format!("stream.allowed.test=127.0.0.1:{endless}"),
    ]));
    let broker = egress.broker(patterns(&[
        &format!("http://api.allowed.test:{p}"),
        "http://stream.allowed.test",
    ]));
    let capped = |url: &str| OutboundRequest {
        max_response_bytes: 1000,
        ..get(url)
    };
    let result = broker
        .send(capped(&format!("http://api.allowed.test:{p}/big")), None)
        .await;
    assert_eq!(
        result,
        Err(BrokerError::TooLarge(
            "response body exceeds 1000 bytes".into()
        ))
    );

    // A body with no length is cut off as soon as it passes the cap.
    let started = Instant::now();
    let result = broker
        .send(capped("http://stream.allowed.test/forever"), None)
        .await;
    assert_eq!(
        result,
        Err(BrokerError::TooLarge(
            "response body exceeds 1000 bytes".into()
        ))
    );
    assert!(started.elapsed() < Duration::from_secs(5));

    // A HEAD response announces a length but has no body.
    let head = OutboundRequest {
        method: "HEAD".into(),
        ..capped(&format!("http://api.allowed.test:{p}/big"))
    };
    let response = ok(broker.send(head, None).await);
    assert_eq!(response.status, 200);
    assert!(response.body.is_empty());
    assert!(
        response
            .headers
            .iter()
            .any(|(n, v)| n == "content-length" && v == "65536")
    );

    // At the cap exactly is fine.
    let exact = OutboundRequest {
        max_response_bytes: 64 * 1024,
        ..get(&format!("http://api.allowed.test:{p}/big"))
    };
    assert_eq!(ok(broker.send(exact, None).await).body.len(), 64 * 1024);
}

#[tokio::test]
async fn a_slow_upstream_times_out() {
    let server = upstream(None, |_| Reply {
        delay: Duration::from_secs(30),
        ..Reply::ok("late")
    })
    .await;
    let p = server.port;
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:{p}=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    let started = Instant::now();
    let result = broker
        .send(
            OutboundRequest {
                timeout: Duration::from_millis(300),
                ..get(&format!("http://api.allowed.test:{p}/slow"))
            },
            None,
        )
        .await;
    assert_eq!(result, Err(BrokerError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn unreachable_and_malformed_upstreams_are_network_errors() {
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("address").port()
    };
    let (garbage, _task) = raw_upstream("this is not HTTP\r\n\r\n", false).await;
    let egress = egress(with_overrides(&[
        format!("closed.allowed.test=127.0.0.1:{closed}"),
        format!("garbage.allowed.test=127.0.0.1:{garbage}"),
    ]));
    let broker = egress.broker(patterns(&[
        "http://closed.allowed.test",
        "http://garbage.allowed.test",
    ]));
    match broker.send(get("http://closed.allowed.test/"), None).await {
        Err(BrokerError::Network(m)) => {
            assert_contains(&m, "cannot connect to `closed.allowed.test`")
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    match broker.send(get("http://garbage.allowed.test/"), None).await {
        Err(BrokerError::Network(m)) => {
            assert_contains(&m, "did not answer with a valid HTTP response")
        }
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The host's own requests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn platform_requests_reach_operator_endpoints_without_manifest_checks() {
    let server = upstream(None, |seen| match seen.target.as_str() {
        "/token" => Reply::ok(r#"{"access_token":"a"}"#),
        _ => Reply::redirect(302, "/token"),
    })
    .await;
    let p = server.port;
    let egress = egress(EgressConfig::default());
    let request = OutboundRequest {
        method: "POST".into(),
        headers: vec![
            ("authorization".into(), "Basic Y2xpZW50OnNlY3JldA==".into()),
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("host".into(), "ignored.test".into()),
        ],
        body: b"grant_type=refresh_token".to_vec(),
        ..get(&format!("http://127.0.0.1:{p}/token"))
    };
    let response = ok(egress.platform_send(request, 1 << 16).await);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, br#"{"access_token":"a"}"#);
    let seen = server.seen();
    assert_eq!(
        seen[0].header("authorization"),
        Some("Basic Y2xpZW50OnNlY3JldA==")
    );
    assert_eq!(
        seen[0].header("host"),
        Some(format!("127.0.0.1:{p}").as_str())
    );
    assert_eq!(seen[0].body, b"grant_type=refresh_token");

    // Redirects are returned, not followed.
    let response = ok(egress
        .platform_send(get(&format!("http://127.0.0.1:{p}/old")), 1 << 16)
        .await);
    assert_eq!(response.status, 302);
    assert_eq!(server.seen().len(), 2);

    // The cap given by the caller applies.
    let result = egress
        .platform_send(get(&format!("http://127.0.0.1:{p}/token")), 4)
        .await;
    assert_eq!(
        result,
        Err(BrokerError::TooLarge(
            "response body exceeds 4 bytes".into()
        ))
    );
}

// ---------------------------------------------------------------------------
// Connection reuse
// ---------------------------------------------------------------------------

/// Every request an upstream saw came over connection 0.
fn all_on_one_connection(seen: &[Seen]) -> bool {
    seen.iter().all(|s| s.connection == 0)
}

#[tokio::test]
async fn sequential_requests_to_one_origin_share_one_connection_over_http_and_https() {
    let handler = |seen: &Seen| match seen.target.as_str() {
        "/moved" => Reply::redirect(302, "/here"),
        _ => Reply::ok("ok"),
    };
    let ca = test_ca("api.allowed.test");
    for tls in [None, Some(ca.server.clone())] {
        let server = upstream(tls.clone(), handler).await;
        let p = server.port;
        let (scheme, url_port, overrides) = match tls {
            None => ("http", p, format!("api.allowed.test:{p}=127.0.0.1:{p}")),
            Some(_) => ("https", 443, format!("api.allowed.test:443=127.0.0.1:{p}")),
        };
        let origin = if url_port == 443 {
            format!("{scheme}://api.allowed.test")
        } else {
            format!("{scheme}://api.allowed.test:{url_port}")
        };
        let egress = egress(EgressConfig {
            overrides: vec![overrides],
            extra_root_certificates: vec![ca.ca_pem.path().to_path_buf()],
            ..EgressConfig::default()
        });
        let broker = egress.broker(patterns(&[&origin]));

        for i in 0..5 {
            let response = ok(broker.send(get(&format!("{origin}/n/{i}")), None).await);
            assert_eq!(response.body, b"ok");
        }
        let post = OutboundRequest {
            method: "POST".into(),
            body: b"{}".to_vec(),
            ..get(&format!("{origin}/post"))
        };
        ok(broker.send(post, None).await);
        // A redirect's short body is drained, so its connection is kept.
        let response = ok(broker.send(get(&format!("{origin}/moved")), None).await);
        assert_eq!(response.status, 200);

        let seen = server.seen();
        assert_eq!(seen.len(), 8, "{scheme}");
        assert_eq!(server.accepted(), 1, "{scheme}: one connection for all");
        assert!(all_on_one_connection(&seen), "{scheme}");
        assert!(
            seen.iter().all(|s| s.header("connection").is_none()),
            "{scheme}: no `Connection: close` while pooling"
        );
    }
}

#[tokio::test]
async fn with_pooling_off_each_request_closes_its_connection_and_tls_resumes() {
    let ca = test_ca("api.allowed.test");
    let server = upstream(Some(ca.server.clone()), |_| Reply::ok("ok")).await;
    let p = server.port;
    let egress = egress(EgressConfig {
        overrides: vec![format!("api.allowed.test:443=127.0.0.1:{p}")],
        extra_root_certificates: vec![ca.ca_pem.path().to_path_buf()],
        pool_idle_timeout_ms: 0,
        ..EgressConfig::default()
    });
    let broker = egress.broker(patterns(&["https://api.allowed.test"]));
    for _ in 0..3 {
        ok(broker.send(get("https://api.allowed.test/"), None).await);
    }
    let seen = server.seen();
    assert_eq!(server.accepted(), 3);
    assert!(seen.iter().all(|s| s.header("connection") == Some("close")));
    // The egress's one TLS client configuration caches sessions.
    let resumed: Vec<bool> = seen.iter().map(|s| s.resumed).collect();
    assert_eq!(resumed, [false, true, true]);
}

#[tokio::test]
async fn origins_that_share_an_address_never_share_a_connection() {
    let ca = test_ca_for(&["api.provider.test", "other.allowed.test"]);
    for tls in [None, Some(ca.server.clone())] {
        let server = upstream(tls.clone(), |_| Reply::ok("ok")).await;
        let p = server.port;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let provider = format!("{scheme}://api.provider.test:{p}");
        let other = format!("{scheme}://other.allowed.test:{p}");
        let egress = Arc::new(
            Egress::new(EgressConfig {
                overrides: vec![
                    format!("api.provider.test:{p}=127.0.0.1:{p}"),
                    format!("other.allowed.test:{p}=127.0.0.1:{p}"),
                ],
                extra_root_certificates: vec![ca.ca_pem.path().to_path_buf()],
                ..EgressConfig::default()
            })
            .expect("egress")
            .with_credentials(Arc::new(FakeVault::new(&[&provider]))),
        );
        let broker = egress.broker(patterns(&[&provider, &other]));
        let acme = connection("acme");
        for _ in 0..3 {
            ok(broker
                .send(get(&format!("{provider}/me")), Some(&acme))
                .await);
            ok(broker.send(get(&format!("{other}/public")), None).await);
        }

        let seen = server.seen();
        assert_eq!(seen.len(), 6);
        assert_eq!(server.accepted(), 2, "{scheme}: one connection per origin");
        for connection in 0..2 {
            let on: Vec<&Seen> = seen.iter().filter(|s| s.connection == connection).collect();
            assert_eq!(on.len(), 3, "{scheme}");
            let host = on[0].header("host").expect("a Host");
            assert!(
                on.iter().all(|s| s.header("host") == Some(host)),
                "{scheme}: one Host per connection"
            );
            if tls.is_some() {
                assert!(
                    on.iter()
                        .all(|s| s.sni.as_deref() == host.split(':').next()),
                    "{scheme}: the TLS name is the Host's"
                );
            }
            let token_here = host.starts_with("api.provider.test");
            for s in &on {
                assert_eq!(
                    s.header("authorization"),
                    token_here.then_some("Bearer tok"),
                    "{scheme}: the token only on the provider's connection"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_server_that_says_connection_close_gets_a_new_connection_each_time() {
    let server = upstream(None, |_| Reply {
        headers: vec![("connection", "close".into())],
        ..Reply::ok("bye")
    })
    .await;
    let p = server.port;
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:{p}=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    for _ in 0..3 {
        let response = ok(broker
            .send(get(&format!("http://api.allowed.test:{p}/")), None)
            .await);
        assert_eq!(response.body, b"bye");
    }
    assert_eq!(server.accepted(), 3);
}

/// What a [`keep_alive_upstream`] does on a connection after answering
/// its first request.
#[derive(Clone, Copy)]
enum Then {
    /// Close it at once, idle.
    Close,
    /// Read the next request, then close without an answer.
    CloseAfterNextRequest,
}

/// A keep-alive server that answers only the first request of each
/// connection; it notes `(connection, request line)` for every request it
/// reads.
async fn keep_alive_upstream(
    then: Then,
) -> (u16, Arc<Mutex<Vec<(usize, String)>>>, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let task = {
        let log = log.clone();
        tokio::spawn(async move {
            let mut count = 0;
            while let Ok((mut stream, _)) = listener.accept().await {
                let connection = count;
                count += 1;
                let log = log.clone();
                tokio::spawn(async move {
                    let mut pending = Vec::new();
                    let Some(line) = read_request(&mut stream, &mut pending).await else {
                        return;
                    };
                    log.lock().expect("not poisoned").push((connection, line));
                    let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    if let Then::CloseAfterNextRequest = then
                        && let Some(line) = read_request(&mut stream, &mut pending).await
                    {
                        log.lock().expect("not poisoned").push((connection, line));
                    }
                });
            }
        })
    };
    (port, log, task)
}

/// Read one request (head and Content-Length body) from `stream`; its
/// request line, or `None` when the client went away first.
async fn read_request(stream: &mut tokio::net::TcpStream, pending: &mut Vec<u8>) -> Option<String> {
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buffer[..n]);
    };
    let head = String::from_utf8_lossy(&pending[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    while pending.len() < head_end + length {
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        pending.extend_from_slice(&buffer[..n]);
    }
    pending.drain(..head_end + length);
    head.lines().next().map(String::from)
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_does_not_fail_the_next_request() {
    let (p, log, _task) = keep_alive_upstream(Then::Close).await;
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:{p}=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    for i in 0..3 {
        let response = ok(broker
            .send(get(&format!("http://api.allowed.test:{p}/{i}")), None)
            .await);
        assert_eq!(response.body, b"ok");
    }
    // Each request is answered on a connection of its own, whether the
    // closed one was noticed in the pool or the request was sent again.
    let log = log.lock().expect("not poisoned").clone();
    assert_eq!(
        log,
        [
            (0, "GET /0 HTTP/1.1".to_string()),
            (1, "GET /1 HTTP/1.1".to_string()),
            (2, "GET /2 HTTP/1.1".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_reused_connection_that_dies_under_a_request_is_retried_only_if_idempotent() {
    let (p, log, _task) = keep_alive_upstream(Then::CloseAfterNextRequest).await;
    let egress = egress(with_overrides(&[format!(
        "api.allowed.test:{p}=127.0.0.1:{p}"
    )]));
    let broker = egress.broker(patterns(&[&format!("http://api.allowed.test:{p}")]));
    let url = |path: &str| format!("http://api.allowed.test:{p}{path}");

    ok(broker.send(get(&url("/first")), None).await);
    // The POST goes out on the kept connection, which dies under it: it may
    // have been acted on, so it is not sent again.
    let post = OutboundRequest {
        method: "POST".into(),
        body: b"charge=1".to_vec(),
        ..get(&url("/charge"))
    };
    match broker.send(post, None).await {
        Err(BrokerError::Network(message)) => {
            assert_contains(&message, "did not answer with a valid HTTP response")
        }
        other => panic!("expected a network error, got {other:?}"),
    }
    // A GET on a new connection, then one on that kept connection, which
    // dies under it too: the GET is sent once more on a new connection.
    ok(broker.send(get(&url("/second")), None).await);
    let response = ok(broker.send(get(&url("/third")), None).await);
    assert_eq!(response.body, b"ok");

    let log = log.lock().expect("not poisoned").clone();
    assert_eq!(
        log,
        [
            (0, "GET /first HTTP/1.1".to_string()),
            (0, "POST /charge HTTP/1.1".to_string()),
            (1, "GET /second HTTP/1.1".to_string()),
            (1, "GET /third HTTP/1.1".to_string()),
            (2, "GET /third HTTP/1.1".to_string()),
        ]
    );
}
