//! What the server tells operators: a span per request, an
//! `x-request-id` on every response, the HTTP metrics, and `GET /metrics`.
//!
//! [`observe`] layers a router so that every request, matched or not,
//! runs inside a `request` span (method, route template, request id),
//! answers with an `x-request-id` header, and is counted in
//! `workway_http_requests_total` and timed in
//! `workway_http_request_duration_seconds` by its route template (see
//! [`workway_engine::metrics`]). [`metrics`] renders the process's
//! recorder in the Prometheus text format.
//!
//! `/metrics` is not authenticated, like `/health`: it shows counts by
//! route, status, outcome and provider, never a user, run or URL, but
//! operators should still keep it off the public internet (let only the
//! scraper reach it, at the proxy or the network).

use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument as _;

use workway_engine::metrics::{UNMATCHED_ROUTE, http_request, render};

/// The header that carries a request's id, on the request (from a proxy
/// that assigned one) and on every response.
pub const REQUEST_ID: &str = "x-request-id";

/// The longest request id taken from a client; a longer one is replaced.
const MAX_REQUEST_ID_BYTES: usize = 64;

/// The content type of the Prometheus text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Layer `router` with the request span, the request id and the HTTP
/// metrics. Apply it last, once every route is added (a layer covers only
/// the routes already there); requests no route matches are covered too,
/// with the route `unmatched`.
pub fn observe<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(middleware::from_fn(observe_request))
}

/// A router that serves only `GET /metrics`, observed: what a process
/// without the API (`workway worker`) listens with for its scraper.
pub fn metrics_router() -> Router {
    observe(Router::new().route("/metrics", get(metrics)))
}

/// `GET /metrics`: every metric of this process in the Prometheus text
/// format; 404 when the process installed no recorder.
pub async fn metrics() -> Response {
    match render() {
        Some(text) => ([(header::CONTENT_TYPE, PROMETHEUS_TEXT)], text).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            "this process records no metrics\n".to_string(),
        )
            .into_response(),
    }
}

/// Run `request` inside its span, then record it and echo its id.
async fn observe_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED_ROUTE, MatchedPath::as_str)
        .to_string();
    let method = request.method().clone();
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| acceptable_request_id(id))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_string);
    let span = tracing::info_span!("request", %method, route = %route, %request_id);
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status();
    span.in_scope(|| {
        tracing::debug!(
            status = status.as_u16(),
            elapsed_ms = elapsed.as_millis(),
            "answered"
        );
    });
    http_request(&route, method.as_str(), status.as_u16(), elapsed);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), value);
    }
    response
}

/// Whether a client's request id is kept: short, and only letters,
/// digits, `-`, `_` and `.`, so it cannot forge a log line or a header.
fn acceptable_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_BYTES
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::acceptable_request_id;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        assert!(acceptable_request_id("3f2a-01.b_c"));
        assert!(!acceptable_request_id(""));
        assert!(!acceptable_request_id("a b"));
        assert!(!acceptable_request_id("line\nbreak"));
        assert!(!acceptable_request_id(&"x".repeat(65)));
    }
}
