//! The HTTP API (axum on hyper), served by `workway serve`.
//!
//! - [`health`]: `/health`, `/health/live`, `/health/ready`;
//! - [`hooks`]: `POST /v1/hooks/{token}`, the webhook trigger;
//! - [`payment_hooks`]: `POST /v1/payments/stripe/webhook`, the payment
//!   provider's notifications;
//! - [`api`]: the authenticated platform API (accounts, tokens, and the
//!   resources each account owns);
//! - [`listener`]: the HTTP/1.1 server under them (timeouts, a connection
//!   cap, graceful shutdown), bounded by [`ServerConfig`];
//! - [`observe`]: a span and an `x-request-id` per request, the HTTP
//!   metrics, and `GET /metrics` (unauthenticated, like health: keep it
//!   off the public internet);
//! - [`openapi`]: the OpenAPI 3.1 document of every route but `/metrics`,
//!   generated from the handlers and served at `GET /v1/openapi.json`;
//! - [`web`]: the web UI, server-rendered pages on the same sessions,
//!   authorisation and handlers as the API.
//!
//! Every route is versioned under `/v1` except health and metrics, which
//! load balancers, orchestrators and scrapers probe.

pub mod api;
pub mod health;
pub mod hooks;
pub mod listener;
pub mod observe;
pub mod openapi;
pub mod payment_hooks;
pub mod web;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use workway_engine::platform::Platform;

pub use listener::serve_router;
pub use workway_engine::config::ServerConfig;

/// The largest request body a route accepts unless it says otherwise, in
/// bytes (1 MiB): room for a webhook delivery.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The largest request body of the account routes (sign-up, sign-in,
/// the account, API tokens), in bytes (64 KiB): they take a few short
/// fields, so a bigger body is refused before it is buffered.
pub const ACCOUNT_BODY_BYTES: usize = 64 << 10;

/// The path prefixes whose routes take at most [`ACCOUNT_BODY_BYTES`]:
/// a prefix covers the path itself and every path below it.
const ACCOUNT_PREFIXES: &[&str] = &["/v1/auth", "/v1/account", "/v1/tokens"];

/// Every route but `/metrics`, each registered with its OpenAPI
/// description (`routes!`): the platform API, webhook delivery, health
/// and the document itself. The document before [`openapi::finish`].
pub fn documented_routes() -> OpenApiRouter<Arc<Platform>> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(api::routes())
        .routes(routes!(hooks::deliver))
        .routes(routes!(payment_hooks::stripe_webhook))
        .routes(routes!(health::health))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(openapi::document))
}

/// The OpenAPI 3.1 document of every route [`router`] serves but
/// `/metrics` (Prometheus text, not JSON), as `GET /v1/openapi.json`
/// answers it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::finish(documented_routes().into_openapi())
}

/// The API's and the web UI's routes over `platform`.
pub fn router(platform: Arc<Platform>) -> Router {
    let (routes, _document) = documented_routes().split_for_parts();
    let routes = routes
        .route("/metrics", get(observe::metrics))
        .merge(web::routes());
    observe::observe(body_limits(routes)).with_state(platform)
}

/// Layer the request body limits on every route of `router`:
/// [`MAX_BODY_BYTES`] by default and [`ACCOUNT_BODY_BYTES`] for the
/// account routes. A limit a route sets itself ([`with_body_limit`])
/// wins over both. Apply it last, once every route is added: a layer
/// covers only the routes already there.
pub fn body_limits<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(middleware::from_fn(account_body_limit))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// Give every route of `router` its own request body limit of `bytes`,
/// bigger or smaller than [`MAX_BODY_BYTES`] (such as a plugin upload's);
/// merge the result into the API's routes before [`body_limits`].
pub fn with_body_limit<S>(router: Router<S>, bytes: usize) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.route_layer(DefaultBodyLimit::max(bytes))
}

/// Limit the bodies of the account routes to [`ACCOUNT_BODY_BYTES`].
async fn account_body_limit(mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let account = ACCOUNT_PREFIXES.iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    if account {
        DefaultBodyLimit::max(ACCOUNT_BODY_BYTES).apply(&mut request);
    }
    next.run(request).await
}

/// Serve the API on `listener` with the default [`ServerConfig`] until
/// `stop` completes (see [`serve_with`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    platform: Arc<Platform>,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, platform, ServerConfig::default(), stop).await
}

/// Serve the API on `listener`, bounded by `config` (timeouts, the
/// connection cap), until `stop` completes; then let the requests in
/// flight finish within the shutdown grace period and return.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    platform: Arc<Platform>,
    config: ServerConfig,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(platform), config, stop).await
}
