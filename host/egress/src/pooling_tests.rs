//! Connection reuse through a whole [`Egress`] where the integration tests
//! cannot go: names that resolve to loopback addresses (the address checks
//! refuse them, and only this crate's tests may let 127.0.0.0/8 through)
//! and a pool clock moved forward.

use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use rustls::RootCertStore;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use workway_capabilities::{BrokerError, HttpBroker, OutboundRequest};

use super::address::{self, Refusal};
use super::policy::Target;
use super::pool::Origin;
use super::{Egress, EgressConfig, NetworkBroker, Resolve};

const HOST: &str = "api.switch.test";

/// The address checks, except that 127.0.0.0/8 may be reached.
fn loopback_allowed(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => None,
        _ => address::refusal(ip),
    }
}

/// Answers every name with whatever it was last told.
struct Switch(Mutex<Vec<IpAddr>>);

impl Switch {
    fn point_to(&self, ip: [u8; 4]) {
        *self.0.lock().expect("not poisoned") = vec![IpAddr::V4(Ipv4Addr::from(ip))];
    }
}

#[async_trait]
impl Resolve for Switch {
    async fn resolve(&self, _host: &str, _port: u16) -> io::Result<Vec<IpAddr>> {
        Ok(self.0.lock().expect("not poisoned").clone())
    }
}

/// A keep-alive HTTP server on one port of several loopback addresses
/// that notes the local address of every connection it accepts.
struct Server {
    port: u16,
    accepted: Arc<Mutex<Vec<SocketAddr>>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Server {
    async fn start(addresses: &[[u8; 4]]) -> Server {
        // The first address picks the port; the others must have it free.
        'attempt: for _ in 0..20 {
            let first = TcpListener::bind((Ipv4Addr::from(addresses[0]), 0))
                .await
                .expect("bind");
            let port = first.local_addr().expect("address").port();
            let mut listeners = vec![first];
            for ip in &addresses[1..] {
                match TcpListener::bind((Ipv4Addr::from(*ip), port)).await {
                    Ok(listener) => listeners.push(listener),
                    Err(_) => continue 'attempt,
                }
            }
            let accepted = Arc::new(Mutex::new(Vec::new()));
            let tasks = listeners
                .into_iter()
                .map(|listener| tokio::spawn(serve(listener, accepted.clone())))
                .collect();
            return Server {
                port,
                accepted,
                tasks,
            };
        }
        panic!("no port free on every address");
    }

    fn accepted(&self) -> Vec<SocketAddr> {
        self.accepted.lock().expect("not poisoned").clone()
    }
}

async fn serve(listener: TcpListener, accepted: Arc<Mutex<Vec<SocketAddr>>>) {
    while let Ok((stream, _)) = listener.accept().await {
        if let Ok(local) = stream.local_addr() {
            accepted.lock().expect("not poisoned").push(local);
        }
        tokio::spawn(async move {
            let service = service_fn(|_: Request<hyper::body::Incoming>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn egress(config: EgressConfig, resolver: Arc<Switch>) -> Arc<Egress> {
    let mut egress = Egress::with_roots(config, RootCertStore::empty())
        .expect("egress")
        .with_resolver(resolver);
    egress.check = loopback_allowed;
    Arc::new(egress)
}

fn broker(egress: &Arc<Egress>, port: u16) -> NetworkBroker {
    egress.broker(vec![
        format!("http://{HOST}:{port}").parse().expect("pattern"),
    ])
}

fn get(port: u16) -> OutboundRequest {
    OutboundRequest {
        method: "GET".into(),
        url: format!("http://{HOST}:{port}/"),
        headers: vec![],
        body: vec![],
        timeout: Duration::from_secs(10),
        max_response_bytes: 1024,
    }
}

fn origin(port: u16) -> Origin {
    let url = format!("http://{HOST}:{port}/").parse().expect("URL");
    Origin::of(&Target::of(&url).expect("target"))
}

fn at(ip: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)
}

#[tokio::test]
async fn a_new_answer_is_checked_and_never_rides_a_connection_to_the_old_address() {
    let server = Server::start(&[[127, 0, 0, 1], [127, 0, 0, 2]]).await;
    let p = server.port;
    let resolver = Arc::new(Switch(Mutex::new(Vec::new())));
    let egress = egress(EgressConfig::default(), resolver.clone());
    let broker = broker(&egress, p);

    resolver.point_to([127, 0, 0, 1]);
    let response = broker.send(get(p), None).await.expect("sent");
    assert_eq!(response.body, b"ok");
    assert_eq!(server.accepted(), [at([127, 0, 0, 1], p)]);
    assert_eq!(egress.pool.idle_count(&origin(p)), 1);

    // The name moves: a new connection to the new address.
    resolver.point_to([127, 0, 0, 2]);
    broker.send(get(p), None).await.expect("sent");
    assert_eq!(
        server.accepted(),
        [at([127, 0, 0, 1], p), at([127, 0, 0, 2], p)]
    );
    assert_eq!(egress.pool.idle_count(&origin(p)), 2);

    // The name moves to a refused address: denied, though connections for
    // the origin are idle in the pool.
    resolver.point_to([10, 0, 0, 1]);
    match broker.send(get(p), None).await {
        Err(BrokerError::Denied(reason)) => assert!(
            reason.contains("api.switch.test resolves to 10.0.0.1, a private address"),
            "{reason}"
        ),
        other => panic!("expected Denied, got {other:?}"),
    }
    assert_eq!(server.accepted().len(), 2);

    // Back at the first address: its connection is reused.
    resolver.point_to([127, 0, 0, 1]);
    broker.send(get(p), None).await.expect("sent");
    assert_eq!(server.accepted().len(), 2);
}

#[tokio::test]
async fn an_idle_connection_past_the_idle_timeout_is_not_reused() {
    let server = Server::start(&[[127, 0, 0, 1]]).await;
    let p = server.port;
    let resolver = Arc::new(Switch(Mutex::new(Vec::new())));
    resolver.point_to([127, 0, 0, 1]);
    let egress = egress(
        EgressConfig {
            pool_idle_timeout_ms: 1000,
            ..EgressConfig::default()
        },
        resolver,
    );
    let broker = broker(&egress, p);

    broker.send(get(p), None).await.expect("sent");
    egress.pool.advance(Duration::from_millis(999));
    broker.send(get(p), None).await.expect("sent");
    assert_eq!(server.accepted().len(), 1, "reused within the timeout");

    egress.pool.advance(Duration::from_millis(1000));
    broker.send(get(p), None).await.expect("sent");
    assert_eq!(server.accepted().len(), 2, "a new connection after it");
}

#[tokio::test]
async fn with_pooling_off_every_request_has_its_own_connection() {
    let server = Server::start(&[[127, 0, 0, 1]]).await;
    let p = server.port;
    let resolver = Arc::new(Switch(Mutex::new(Vec::new())));
    resolver.point_to([127, 0, 0, 1]);
    let egress = egress(
        EgressConfig {
            pool_idle_timeout_ms: 0,
            ..EgressConfig::default()
        },
        resolver,
    );
    let broker = broker(&egress, p);
    for _ in 0..3 {
        broker.send(get(p), None).await.expect("sent");
    }
    assert_eq!(server.accepted().len(), 3);
    assert_eq!(egress.pool.idle_count(&origin(p)), 0);
}
