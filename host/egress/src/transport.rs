//! One request over one connection: TCP to an address that was already
//! checked, TLS when the scheme is https, an HTTP/1.1 exchange with hyper
//! and a body read that stops as soon as it exceeds its cap.

use std::error::Error as StdError;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_LENGTH, HOST};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use url::Url;

use super::policy::{Target, TargetHost, shown};
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

/// Ends the connection driver when the exchange is dropped, however it
/// ends (read, abandoned for a redirect, cancelled by a timeout).
struct Driver(JoinHandle<()>);

impl Drop for Driver {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A response whose head has arrived; the body is read on demand.
pub(crate) struct Exchange {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The response cannot have a body (to HEAD, 204, 304), whatever its
    /// Content-Length says.
    bodiless: bool,
    body: Incoming,
    _driver: Driver,
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

/// Connect to the first of `addresses` that answers.
async fn connect(addresses: &[SocketAddr], host: &str) -> Result<TcpStream, BrokerError> {
    let mut last: Option<(SocketAddr, io::Error)> = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // Nagle only delays a request written in two parts.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = Some((*address, e)),
        }
    }
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

fn request(outgoing: &Outgoing<'_>) -> Result<Request<Full<Bytes>>, BrokerError> {
    let url = outgoing.url;
    let mut path = url.path().to_string();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    let uri: Uri = path.parse().map_err(|e| {
        BrokerError::InvalidRequest(format!("the path of `{}` cannot be sent: {e}", shown(url)))
    })?;
    let mut host = url.host_str().unwrap_or_default().to_string();
    if let Some(port) = url.port() {
        host.push_str(&format!(":{port}"));
    }
    let host = HeaderValue::from_str(&host).map_err(|_| {
        BrokerError::InvalidRequest(format!("`{}` has an invalid host", shown(url)))
    })?;
    let mut builder = Request::builder()
        .method(outgoing.method.clone())
        .uri(uri)
        .header(HOST, host);
    let expects_body = matches!(*outgoing.method, Method::POST | Method::PUT | Method::PATCH);
    if !outgoing.body.is_empty() || expects_body {
        builder = builder.header(CONTENT_LENGTH, outgoing.body.len());
    }
    // One request per connection.
    builder = builder.header(CONNECTION, HeaderValue::from_static("close"));
    let mut request = builder
        .body(Full::new(outgoing.body.clone()))
        .map_err(|e| BrokerError::InvalidRequest(format!("cannot build the request: {e}")))?;
    for (name, value) in outgoing.headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    Ok(request)
}

async fn exchange<S>(
    io: S,
    request: Request<Full<Bytes>>,
    host: &str,
) -> Result<Exchange, BrokerError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let head = request.method() == Method::HEAD;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| BrokerError::Network(format!("HTTP with `{host}` failed: {}", chain(&e))))?;
    let driver = Driver(tokio::spawn(async move {
        // Errors surface through `send_request` and the body.
        let _ = connection.await;
    }));
    let response = sender.send_request(request).await.map_err(|e| {
        BrokerError::Network(format!(
            "`{host}` did not answer with a valid HTTP response: {}",
            chain(&e)
        ))
    })?;
    drop(sender);
    let (parts, body) = response.into_parts();
    let bodiless =
        head || parts.status == StatusCode::NO_CONTENT || parts.status == StatusCode::NOT_MODIFIED;
    Ok(Exchange {
        status: parts.status,
        headers: parts.headers,
        bodiless,
        body,
        _driver: driver,
    })
}

/// Send `outgoing` over a new connection to the first of `addresses` that
/// answers, with TLS (SNI and verification against the URL's host) when
/// the scheme is https.
pub(crate) async fn send(
    outgoing: &Outgoing<'_>,
    addresses: &[SocketAddr],
    tls: &Tls,
) -> Result<Exchange, BrokerError> {
    let request = request(outgoing)?;
    let host = outgoing.target.host_text();
    let tcp = connect(addresses, &host).await?;
    if outgoing.target.scheme != "https" {
        return exchange(tcp, request, &host).await;
    }
    let server_name = match &outgoing.target.host {
        TargetHost::Name(name) => ServerName::try_from(name.clone()).map_err(|_| {
            BrokerError::InvalidRequest(format!("`{name}` cannot be used as a TLS server name"))
        })?,
        TargetHost::Ip(ip) => ServerName::IpAddress((*ip).into()),
    };
    let stream = tls
        .connector
        .connect(server_name, tcp)
        .await
        .map_err(|e| tls_failure(&host, e, tls))?;
    exchange(stream, request, &host).await
}

impl Exchange {
    /// Read the whole body, failing with `TooLarge` as soon as more than
    /// `max` bytes arrive (or are announced).
    pub async fn read_body(mut self, max: usize) -> Result<Vec<u8>, BrokerError> {
        let too_large = || BrokerError::TooLarge(format!("response body exceeds {max} bytes"));
        let announced = self
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if !self.bodiless && announced.is_some_and(|n| n > max as u64) {
            return Err(too_large());
        }
        let expected = if self.bodiless { None } else { announced };
        let mut body = Vec::with_capacity(expected.map_or(0, |n| n as usize));
        while let Some(frame) = self.body.frame().await {
            let frame = frame.map_err(|e| {
                BrokerError::Network(format!("reading the response body failed: {}", chain(&e)))
            })?;
            if let Ok(data) = frame.into_data() {
                if body.len() + data.len() > max {
                    return Err(too_large());
                }
                body.extend_from_slice(&data);
            }
        }
        Ok(body)
    }
}

/// The TLS side of the transport for `config`, which trusts `roots`
/// root certificates.
pub(crate) fn tls(config: rustls::ClientConfig, roots: usize) -> Tls {
    Tls {
        connector: TlsConnector::from(Arc::new(config)),
        roots,
    }
}
