//! The HTTP/1.1 listener under the API: an accept loop on hyper that
//! bounds what a client can hold. A request's headers must arrive within
//! [`ServerConfig::header_read_timeout_ms`] (which also closes idle
//! keep-alive connections), its body within
//! [`ServerConfig::body_read_timeout_ms`] of when the handler starts
//! reading it, and at most [`ServerConfig::max_connections`] connections
//! are served at once: at the cap the loop stops accepting, so further
//! clients wait in the kernel's listen backlog instead of holding memory
//! here.
//!
//! When `stop` completes the listener closes (new connections are
//! refused), every connection finishes the request it is serving and
//! closes, and whatever is still open after
//! [`ServerConfig::shutdown_grace_ms`] is dropped.
//!
//! Handlers see the client's address as
//! [`ConnectInfo<SocketAddr>`](axum::extract::ConnectInfo), as under
//! `axum::serve` with `into_make_service_with_connect_info`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode, header};
use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Sleep;
use tower_service::Service as _;

use crate::ServerConfig;

/// How long the accept loop waits after an error that is not one
/// client's (such as running out of file descriptors) before it accepts
/// again.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// Why a request body could not be read. Handlers see it through the
/// body extractors' rejections; a timed-out body is answered 408 whatever
/// the handler answered.
#[derive(Debug, thiserror::Error)]
pub enum BodyReadError {
    /// The whole body did not arrive within the body read timeout.
    #[error("the request body did not arrive within {0:?}")]
    TimedOut(Duration),
    /// The connection failed while the body was read.
    #[error(transparent)]
    Read(#[from] hyper::Error),
}

/// Serve `router` on `listener`, bounded by `config`, until `stop`
/// completes; then stop accepting, let the requests in flight finish
/// (within [`ServerConfig::shutdown_grace_ms`]) and return. Errors
/// accepting (a client resetting, file descriptors running out) are
/// logged and retried, as under `axum::serve`, so this returns `Ok` once
/// stopped.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    config: ServerConfig,
    stop: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(
        config.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout())
        .keep_alive(true);
    let body_timeout = config.body_read_timeout();
    let (shutdown, shutting_down) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut stop = std::pin::pin!(stop);

    loop {
        let (permit, accepted) = tokio::select! {
            () = &mut stop => break,
            Some(finished) = connections.join_next() => {
                report_panic(finished);
                continue;
            }
            next = accept(&listener, &permits) => match next {
                Some(next) => next,
                None => break,
            },
        };
        match accepted {
            Ok((stream, remote)) => {
                connections.spawn(connection(
                    builder.clone(),
                    stream,
                    remote,
                    router.clone(),
                    body_timeout,
                    permit,
                    shutting_down.clone(),
                ));
            }
            Err(e) if is_client_error(&e) => {}
            Err(e) => {
                drop(permit);
                tracing::warn!("cannot accept connections: {e}");
                tokio::select! {
                    () = &mut stop => break,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                }
            }
        }
    }

    drop(listener);
    shutdown.send_replace(true);
    let drained = tokio::time::timeout(config.shutdown_grace(), async {
        while let Some(finished) = connections.join_next().await {
            report_panic(finished);
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "closing {} connections still open after the shutdown grace period",
            connections.len()
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// The next connection, once a connection slot is free; `None` if the
/// slots are gone (they never are: the semaphore is never closed).
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(OwnedSemaphorePermit, io::Result<(TcpStream, SocketAddr)>)> {
    let permit = permits.clone().acquire_owned().await.ok()?;
    Some((permit, listener.accept().await))
}

/// Whether an accept error is one client's doing (it reset or gave up
/// before being accepted), so the loop goes straight on.
fn is_client_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Log a connection task that panicked (a handler's panic).
fn report_panic(finished: Result<(), JoinError>) {
    if let Err(e) = finished
        && e.is_panic()
    {
        tracing::error!("an HTTP connection panicked: {e}");
    }
}

/// Serve one connection until it closes, or, once `shutting_down` turns
/// true, until the request it is serving is answered. Holds `permit`, its
/// connection slot, throughout.
async fn connection(
    builder: http1::Builder,
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    body_timeout: Duration,
    permit: OwnedSemaphorePermit,
    shutting_down: watch::Receiver<bool>,
) {
    let _permit = permit;
    let service = hyper::service::service_fn(move |request| {
        handle(router.clone(), request, remote, body_timeout)
    });
    let mut conn = std::pin::pin!(builder.serve_connection(TokioIo::new(stream), service));
    let served = tokio::select! {
        served = conn.as_mut() => served,
        () = stopping(shutting_down) => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!("HTTP connection from {remote} ended: {e}");
    }
}

/// Completes when `shutting_down` turns true.
async fn stopping(mut shutting_down: watch::Receiver<bool>) {
    let _ = shutting_down.wait_for(|s| *s).await;
}

/// Answer one request with `router`: the body read under
/// `body_timeout`, the client's address as `ConnectInfo`.
async fn handle(
    mut router: Router,
    request: Request<Incoming>,
    remote: SocketAddr,
    body_timeout: Duration,
) -> Result<Response, Infallible> {
    let timed_out = Arc::new(AtomicBool::new(false));
    let mut request = request.map(|body| TimedBody {
        inner: body,
        limit: body_timeout,
        deadline: None,
        timed_out: timed_out.clone(),
    });
    request.extensions_mut().insert(ConnectInfo(remote));
    // A `Router` is always ready: it is called without `poll_ready`.
    let response = router.call(request).await?;
    if timed_out.load(Ordering::Acquire) {
        return Ok(body_timed_out());
    }
    Ok(response)
}

/// The answer to a request whose body did not arrive in time, in the
/// API's error shape; the connection is closed after it, since the rest
/// of the body is still on the way.
fn body_timed_out() -> Response {
    let body = json!({
        "error": {
            "code": "request_timeout",
            "message": "the request body did not arrive in time",
            "details": {},
        }
    });
    (
        StatusCode::REQUEST_TIMEOUT,
        [(header::CONNECTION, "close")],
        axum::Json(body),
    )
        .into_response()
}

/// A request body that fails with [`BodyReadError::TimedOut`] unless it
/// has all arrived `limit` after it is first read, and then sets
/// `timed_out`.
struct TimedBody {
    inner: Incoming,
    limit: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    timed_out: Arc<AtomicBool>,
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = BodyReadError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyReadError>>> {
        let this = self.get_mut();
        if this.inner.is_end_stream() {
            return Poll::Ready(None);
        }
        let limit = this.limit;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|frame| frame.map_err(BodyReadError::Read)));
        }
        if deadline.as_mut().poll(cx).is_ready() {
            this.timed_out.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(BodyReadError::TimedOut(limit))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
