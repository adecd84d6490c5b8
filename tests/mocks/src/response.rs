//! What a mock server answers: a canned HTTP response standing in for a
//! third-party API's reply (status, headers, body, optional latency).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// A response a [`MockServer`](crate::MockServer) handler returns.
///
/// `Content-Length` is set automatically unless [`chunked`](Self::chunked)
/// is used. Bodies are [`Bytes`], so a large body (tens of MiB) built once
/// can be cloned into every response cheaply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockResponse {
    /// HTTP status code.
    pub status: u16,
    /// Response headers, in order.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Bytes,
    /// Wait this long before sending the response head.
    pub delay: Option<Duration>,
    /// Send the body with `Transfer-Encoding: chunked` in pieces of this size
    /// (no `Content-Length`).
    pub chunk_size: Option<usize>,
}

impl MockResponse {
    /// Status only, empty body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            delay: None,
            chunk_size: None,
        }
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json(status: u16, value: impl serde::Serialize) -> Self {
        let body = serde_json::to_vec(&value).expect("mock JSON response must serialize");
        Self::bytes(status, body).header("content-type", "application/json; charset=utf-8")
    }

    /// A plain-text body (`Content-Type: text/plain`).
    pub fn text(status: u16, text: impl Into<String>) -> Self {
        Self::bytes(status, text.into()).header("content-type", "text/plain; charset=utf-8")
    }

    /// Raw bytes with no `Content-Type`; e.g. an oversized download.
    pub fn bytes(status: u16, body: impl Into<Bytes>) -> Self {
        Self {
            body: body.into(),
            ..Self::status(status)
        }
    }

    /// A redirect with a `Location` header.
    pub fn redirect(status: u16, location: impl Into<String>) -> Self {
        Self::status(status).header("location", location)
    }

    /// Adds a header (builder style).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Delays the response by `delay` (builder style).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Streams the body chunked, `chunk_size` bytes at a time, without a
    /// `Content-Length` (builder style).
    pub fn chunked(mut self, chunk_size: usize) -> Self {
        self.chunk_size = Some(chunk_size.max(1));
        self
    }
}

/// Response body that is either sent whole or in fixed-size chunks.
pub(crate) struct MockBody {
    remaining: Bytes,
    chunk_size: Option<usize>,
}

impl MockBody {
    pub(crate) fn new(body: Bytes, chunk_size: Option<usize>) -> Self {
        Self {
            remaining: body,
            chunk_size,
        }
    }
}

impl Body for MockBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        if self.remaining.is_empty() {
            return Poll::Ready(None);
        }
        let take = self
            .chunk_size
            .unwrap_or(usize::MAX)
            .min(self.remaining.len());
        let chunk = self.remaining.split_to(take);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        match self.chunk_size {
            None => SizeHint::with_exact(self.remaining.len() as u64),
            Some(_) => SizeHint::default(),
        }
    }
}
