//! One request over a connection: a pooled keep-alive one for the
//! request's origin and checked addresses ([`super::pool`]), or a new one
//! (TCP to an address that was already checked, TLS when the scheme is
//! https); an HTTP/1.1 exchange with hyper's client connection API; and a
//! body read that stops as soon as it exceeds its cap. A connection goes
//! back to the pool only after an exchange that ended cleanly.

use std::error::Error as StdError;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use url::{Position, Url};

use super::policy::{Target, TargetHost, shown};
use super::pool::{Connection, Held, Origin, Pool, Take};
use workway_capabilities::BrokerError;

/// How to speak TLS: the connector and whether any root certificate is
/// trusted at all (for the error message when none is).
#[derive(Clone)]
pub(crate) struct Tls {
    pub connector: TlsConnector,
    pub roots: usize,
}

/// One request to send.
pub(crate) struct Outgoing<'a> {
    pub method: &'a Method,
    pub url: &'a Url,
    pub target: &'a Target,
    /// Headers other than Host, Content-Length and Connection, which are
    /// set here.
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

/// Ends the connection driver when the connection is dropped, however it
/// ends (read, abandoned for a redirect, cancelled by a timeout, evicted
/// from the pool).
struct Driver(JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One HTTP/1.1 connection: the request side of hyper's client connection
/// and the task that drives it, to an address that was checked.
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    _driver: Driver,
    address: SocketAddr,
}

impl Connection for Conn {
    fn address(&self) -> SocketAddr {
        self.address
    }

    fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

/// The process's pool of keep-alive connections.
pub(crate) type ConnPool = Pool<Conn>;

/// Where the connection goes when the exchange is over.
enum Link {
    /// Back to `pool` under `origin` if the exchange ends cleanly.
    Pooled {
        held: Held<Conn>,
        pool: Arc<ConnPool>,
        origin: Origin,
        /// The response allows another request on the connection.
        keep: bool,
    },
    /// Closed with the exchange.
    Single { _conn: Conn },
}

/// A response whose head has arrived; the body is read on demand.
pub(crate) struct Exchange {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The response cannot have a body (to HEAD, 204, 304), whatever its
    /// Content-Length says.
    bodiless: bool,
    body: Incoming,
    link: Link,
}

/// `error` with its sources: hyper and io errors say little at the top.
pub(crate) fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

/// Connect to the first of `addresses` that answers; the stream and the
/// address it reached.
async fn connect(
    addresses: &[SocketAddr],
    target: &Target,
) -> Result<(TcpStream, SocketAddr), BrokerError> {
    let mut last: Option<(SocketAddr, io::Error)> = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // Nagle only delays a request written in two parts.
                let _ = stream.set_nodelay(true);
                return Ok((stream, *address));
            }
            Err(e) => last = Some((*address, e)),
        }
    }
    let host = target.host_text();
    Err(match last {
        Some((address, e)) => {
            BrokerError::Network(format!("cannot connect to `{host}` ({address}): {e}"))
        }
        None => BrokerError::Network(format!("`{host}` has no address to connect to")),
    })
}

fn tls_failure(host: &str, error: io::Error, tls: &Tls) -> BrokerError {
    let rustls_error = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(e @ rustls::Error::InvalidCertificate(_)) => {
            let hint = if tls.roots == 0 {
                " (no trusted root certificates are loaded: the platform store is empty \
                 and no extra_root_certificates are configured)"
            } else {
                ""
            };
            BrokerError::Network(format!(
                "TLS certificate of `{host}` was not accepted: {e}{hint}"
            ))
        }
        Some(e) => BrokerError::Network(format!("TLS handshake with `{host}` failed: {e}")),
        None => BrokerError::Network(format!(
            "TLS handshake with `{host}` failed: {}",
            chain(&error)
        )),
    }
}

/// The request for `outgoing`, asking the server to close the connection
/// after it unless `keep_alive`.
fn request(outgoing: &Outgoing<'_>, keep_alive: bool) -> Result<Request<Full<Bytes>>, BrokerError> {
    let url = outgoing.url;
    let uri = Uri::try_from(&url[Position::BeforePath..Position::AfterQuery]).map_err(|e| {
        BrokerError::InvalidRequest(format!("the path of `{}` cannot be sent: {e}", shown(url)))
    })?;
    // The URL's host and port as written; the URL leaves out a default port.
    let host =
        HeaderValue::from_str(&url[Position::BeforeHost..Position::AfterPort]).map_err(|_| {
            BrokerError::InvalidRequest(format!("`{}` has an invalid host", shown(url)))
        })?;
    let mut request = Request::new(Full::new(outgoing.body.clone()));
    *request.method_mut() = outgoing.method.clone();
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    headers.reserve(outgoing.headers.len() + 3);
    headers.insert(HOST, host);
    let expects_body = matches!(*outgoing.method, Method::POST | Method::PUT | Method::PATCH);
    if !outgoing.body.is_empty() || expects_body {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(outgoing.body.len()));
    }
    if !keep_alive {
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
    }
    for (name, value) in outgoing.headers {
        headers.append(name.clone(), value.clone());
    }
    Ok(request)
}

/// A new connection for `outgoing`'s target to the first of `addresses`
/// that answers: TCP, then TLS (SNI and verification against the URL's
/// host) when the scheme is https, then the HTTP/1.1 handshake. Its driver
/// is the one task spawned per connection.
async fn open(target: &Target, addresses: &[SocketAddr], tls: &Tls) -> Result<Conn, BrokerError> {
    let (tcp, address) = connect(addresses, target).await?;
    if target.scheme != "https" {
        return handshake(tcp, address, target).await;
    }
    let server_name = match &target.host {
        TargetHost::Name(name) => ServerName::try_from(name.clone()).map_err(|_| {
            BrokerError::InvalidRequest(format!("`{name}` cannot be used as a TLS server name"))
        })?,
        TargetHost::Ip(ip) => ServerName::IpAddress((*ip).into()),
    };
    let stream = tls
        .connector
        .connect(server_name, tcp)
        .await
        .map_err(|e| tls_failure(&target.host_text(), e, tls))?;
    handshake(stream, address, target).await
}

async fn handshake<S>(io: S, address: SocketAddr, target: &Target) -> Result<Conn, BrokerError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| {
            BrokerError::Network(format!(
                "HTTP with `{}` failed: {}",
                target.host_text(),
                chain(&e)
            ))
        })?;
    let driver = Driver(tokio::spawn(async move {
        // Errors surface through `send_request` and the body.
        let _ = connection.await;
    }));
    Ok(Conn {
        sender,
        _driver: driver,
        address,
    })
}

fn no_response(target: &Target, error: &hyper::Error) -> BrokerError {
    BrokerError::Network(format!(
        "`{}` did not answer with a valid HTTP response: {}",
        target.host_text(),
        chain(error)
    ))
}

/// Whether a request may be sent again after a reused connection failed
/// with `error` before a response arrived: only when `method` is
/// idempotent (RFC 9110 9.2.2) and the failure is what a server closing
/// an idle connection looks like (the connection ended, was reset or
/// broke). Anything else, a malformed answer included, is not retried.
fn retryable(method: &Method, error: &hyper::Error) -> bool {
    let idempotent = matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    );
    if !idempotent {
        return false;
    }
    if error.is_incomplete_message() || error.is_canceled() {
        return true;
    }
    let mut source = error.source();
    while let Some(inner) = source {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return matches!(
                io.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            );
        }
        source = inner.source();
    }
    false
}

/// Whether the response leaves the connection fit for another request:
/// HTTP/1.1, no `Connection: close`, no protocol switch.
fn allows_reuse(method: &Method, response: &Response<Incoming>) -> bool {
    let close = response.headers().get_all(CONNECTION).iter().any(|value| {
        value.to_str().map_or(true, |v| {
            v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
        })
    });
    response.version() == Version::HTTP_11
        && !close
        && response.status() != StatusCode::SWITCHING_PROTOCOLS
        && *method != Method::CONNECT
}

/// Send `outgoing` to one of `addresses` (the request's checked
/// addresses) over a pooled connection when one is idle for its origin
/// and one of those addresses, else over a new one (waiting for a place
/// under the origin's open cap if need be).
///
/// A reused connection is first checked to be open and ready. If it fails
/// before a response arrives (the server closed it while it was idle),
/// the request is sent once more, on a new connection, only when hyper
/// hands the request back unsent, or the method is idempotent and the
/// failure is a closed or reset connection (see [`retryable`]). A new
/// connection's failure is never retried.
pub(crate) async fn send(
    outgoing: &Outgoing<'_>,
    addresses: &[SocketAddr],
    tls: &Tls,
    pool: &Arc<ConnPool>,
) -> Result<Exchange, BrokerError> {
    let keep_alive = pool.settings().keeps_idle();
    let origin = Origin::of(outgoing.target);
    let mut request = request(outgoing, keep_alive)?;
    let slot = loop {
        let mut held = match pool.take(&origin, addresses) {
            Take::Idle(held) => held,
            Take::New(slot) => break slot.get().await?,
        };
        if !held.conn.sender.is_ready() && held.conn.sender.ready().await.is_err() {
            // Closed while idle: try the next one.
            continue;
        }
        let method = outgoing.method;
        match held.conn.sender.try_send_request(request).await {
            Ok(response) => return Ok(Exchange::pooled(response, method, held, pool, origin)),
            Err(mut failed) => {
                drop(held);
                request = match failed.take_message() {
                    Some(unsent) => unsent,
                    None => {
                        let error = failed.into_error();
                        if !retryable(method, &error) {
                            return Err(no_response(outgoing.target, &error));
                        }
                        tracing::debug!(
                            host = %outgoing.target.host_text(),
                            error = %chain(&error),
                            "a reused connection failed; sending once more on a new one"
                        );
                        self::request(outgoing, keep_alive)?
                    }
                };
                break pool.new_slot_for(&origin).get().await?;
            }
        }
    };
    let mut held = slot.hold(open(outgoing.target, addresses, tls).await?);
    let response = held
        .conn
        .sender
        .send_request(request)
        .await
        .map_err(|e| no_response(outgoing.target, &e))?;
    Ok(Exchange::pooled(
        response,
        outgoing.method,
        held,
        pool,
        origin,
    ))
}

/// Send `outgoing` over a new connection of its own, closed after the
/// exchange (the host's own requests).
pub(crate) async fn send_single(
    outgoing: &Outgoing<'_>,
    addresses: &[SocketAddr],
    tls: &Tls,
) -> Result<Exchange, BrokerError> {
    let request = request(outgoing, false)?;
    let mut conn = open(outgoing.target, addresses, tls).await?;
    let response = conn
        .sender
        .send_request(request)
        .await
        .map_err(|e| no_response(outgoing.target, &e))?;
    let (parts, body) = response.into_parts();
    Ok(Exchange {
        bodiless: bodiless(outgoing.method, parts.status),
        status: parts.status,
        headers: parts.headers,
        body,
        link: Link::Single { _conn: conn },
    })
}

/// The response to `method` with `status` has no body.
fn bodiless(method: &Method, status: StatusCode) -> bool {
    *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}

/// The most of an abandoned response's body (a redirect's, a refused
/// token's) read to keep its connection; a longer body closes it.
const DRAIN_MAX: usize = 16 * 1024;

/// The longest an abandoned response's body is waited for.
const DRAIN_WAIT: Duration = Duration::from_millis(100);

impl Exchange {
    fn pooled(
        response: Response<Incoming>,
        method: &Method,
        held: Held<Conn>,
        pool: &Arc<ConnPool>,
        origin: Origin,
    ) -> Exchange {
        let keep = allows_reuse(method, &response);
        let (parts, body) = response.into_parts();
        Exchange {
            bodiless: bodiless(method, parts.status),
            status: parts.status,
            headers: parts.headers,
            body,
            link: Link::Pooled {
                held,
                pool: Arc::clone(pool),
                origin,
                keep,
            },
        }
    }

    /// The Content-Length the response announces for its body.
    fn announced(&self) -> Option<u64> {
        if self.bodiless {
            return Some(0);
        }
        self.headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    }

    /// Read the rest of the body, failing with `TooLarge` as soon as more
    /// than `max` bytes arrive.
    async fn read_to_end(&mut self, max: usize, expected: usize) -> Result<Vec<u8>, BrokerError> {
        let mut body = Vec::with_capacity(expected.min(max));
        while let Some(frame) = self.body.frame().await {
            let frame = frame.map_err(|e| {
                BrokerError::Network(format!("reading the response body failed: {}", chain(&e)))
            })?;
            if let Ok(data) = frame.into_data() {
                if body.len() + data.len() > max {
                    return Err(too_large(max));
                }
                body.extend_from_slice(&data);
            }
        }
        Ok(body)
    }

    /// The body was read to its end: the connection goes back to the pool
    /// when the response allowed it (`Pool::put` checks that it is still
    /// open; whether it is ready is checked when it is taken again, as
    /// hyper's driver marks it ready a moment after the body ends).
    fn finish(self) {
        if let Link::Pooled {
            held,
            pool,
            origin,
            keep: true,
        } = self.link
        {
            pool.put(&origin, held);
        }
    }

    /// Read the whole body, failing with `TooLarge` as soon as more than
    /// `max` bytes arrive (or are announced). Only a body read to its end
    /// gives its connection back to the pool.
    pub async fn read_body(mut self, max: usize) -> Result<Vec<u8>, BrokerError> {
        let announced = self.announced();
        if announced.is_some_and(|n| n > max as u64) {
            return Err(too_large(max));
        }
        let expected = announced.map_or(0, |n| n as usize);
        let body = self.read_to_end(max, expected).await?;
        self.finish();
        Ok(body)
    }

    /// Give up on this response (a redirect followed, a refused token
    /// retried). Its connection is kept only when its body is short
    /// (at most [`DRAIN_MAX`] bytes) and arrives promptly (within
    /// [`DRAIN_WAIT`]); otherwise it is closed, never returned with an
    /// unread body.
    pub async fn discard(mut self) {
        let keep = matches!(self.link, Link::Pooled { keep: true, .. });
        if !keep || self.announced().is_some_and(|n| n > DRAIN_MAX as u64) {
            return;
        }
        let drained = tokio::time::timeout(DRAIN_WAIT, self.read_to_end(DRAIN_MAX, 0)).await;
        if matches!(drained, Ok(Ok(_))) {
            self.finish();
        }
    }
}

fn too_large(max: usize) -> BrokerError {
    BrokerError::TooLarge(format!("response body exceeds {max} bytes"))
}

/// The TLS side of the transport for `config`, which trusts `roots`
/// root certificates. The connector shares `config`, and with it rustls's
/// in-memory session cache (its default `Resumption`), so a new
/// connection to a server seen before resumes its TLS session instead of
/// a full handshake.
pub(crate) fn tls(config: rustls::ClientConfig, roots: usize) -> Tls {
    Tls {
        connector: TlsConnector::from(Arc::new(config)),
        roots,
    }
}
