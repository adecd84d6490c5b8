//! A local HTTP(S) server on 127.0.0.1 standing in for a third-party API host.
//!
//! Every request is read fully, recorded, and answered by a synchronous
//! handler. The server runs until the [`MockServer`] is dropped.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::request::RecordedRequest;
use crate::response::{MockBody, MockResponse};

/// A request handler: sees the recorded request, returns the canned answer.
pub type Handler = Arc<dyn Fn(&RecordedRequest) -> MockResponse + Send + Sync + 'static>;

/// A mock HTTP server listening on `127.0.0.1:<ephemeral port>`.
///
/// Dropping it stops accepting and aborts open connections.
pub struct MockServer {
    addr: SocketAddr,
    tls: bool,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
    accept_task: JoinHandle<()>,
}

impl MockServer {
    /// Starts a plain-HTTP server answering with `handler`.
    pub async fn start<F>(handler: F) -> Self
    where
        F: Fn(&RecordedRequest) -> MockResponse + Send + Sync + 'static,
    {
        Self::spawn(Arc::new(handler), None).await
    }

    /// Starts an HTTPS server with `tls` (see [`TestCa::server_config`](crate::TestCa::server_config)).
    pub async fn start_tls<F>(handler: F, tls: Arc<rustls::ServerConfig>) -> Self
    where
        F: Fn(&RecordedRequest) -> MockResponse + Send + Sync + 'static,
    {
        Self::spawn(Arc::new(handler), Some(TlsAcceptor::from(tls))).await
    }

    async fn spawn(handler: Handler, tls: Option<TlsAcceptor>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("mock server must bind 127.0.0.1:0");
        let addr = listener
            .local_addr()
            .expect("bound listener has an address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let is_tls = tls.is_some();
        let accept_task = tokio::spawn(accept_loop(listener, tls, handler, requests.clone()));
        Self {
            addr,
            tls: is_tls,
            requests,
            accept_task,
        }
    }

    /// The listening address (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Whether this server speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// `http://127.0.0.1:PORT/path` (`https://` for a TLS server). `path`
    /// may omit the leading `/` and may carry a query string.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        self.url_with_host(&format!("{scheme}://127.0.0.1"), path)
    }

    /// `<origin>:PORT/path`, e.g. `url_with_host("https://localhost", "/v1")`
    /// for a TLS server whose certificate names `localhost`.
    pub fn url_with_host(&self, origin: &str, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{origin}:{}{slash}{path}", self.port())
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> usize {
        self.lock().len()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// Accepts connections until aborted; connection tasks live in a `JoinSet`
/// owned by this task, so aborting it also aborts them.
async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: Handler,
    requests: Arc<Mutex<Vec<RecordedRequest>>>,
) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            // E.g. out of file descriptors: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        // Real servers answer without waiting for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        while connections.try_join_next().is_some() {}
        let (handler, requests, tls) = (handler.clone(), requests.clone(), tls.clone());
        connections.spawn(async move {
            match tls {
                None => serve(stream, handler, requests).await,
                Some(acceptor) => {
                    // A failed handshake is the client's problem (e.g. it
                    // doesn't trust the test CA); just drop the connection.
                    if let Ok(stream) = acceptor.accept(stream).await {
                        serve(stream, handler, requests).await;
                    }
                }
            }
        });
    }
}

async fn serve<S>(stream: S, handler: Handler, requests: Arc<Mutex<Vec<RecordedRequest>>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let (handler, requests) = (handler.clone(), requests.clone());
        async move { respond(req, &handler, &requests).await }
    });
    // Connection errors (client hung up mid-body, etc.) are expected in tests.
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn respond(
    req: hyper::Request<Incoming>,
    handler: &Handler,
    requests: &Mutex<Vec<RecordedRequest>>,
) -> Result<hyper::Response<MockBody>, hyper::Error> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await?.to_bytes().to_vec();
    let recorded = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
                (k.as_str().to_ascii_lowercase(), value)
            })
            .collect(),
        body,
    };
    requests
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(recorded.clone());
    let mock = handler(&recorded);
    if let Some(delay) = mock.delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = hyper::Response::builder().status(mock.status);
    for (name, value) in &mock.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    Ok(response
        .body(MockBody::new(mock.body, mock.chunk_size))
        .expect("mock response status and headers must be valid HTTP"))
}
