//! The HTTP API (axum on hyper), served by `workway serve`.
//!
//! - [`health`]: `/health`, `/health/live`, `/health/ready`;
//! - [`hooks`]: `POST /v1/hooks/{token}`, the webhook trigger.
//!
//! Every route is versioned under `/v1` except health, which load
//! balancers and orchestrators probe.

pub mod health;
pub mod hooks;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use workway_engine::platform::Platform;

/// The largest request body accepted (a webhook delivery), in bytes.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The API's routes over `platform`.
pub fn router(platform: Arc<Platform>) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/v1/hooks/{token}", post(hooks::deliver))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(platform)
}

/// Serve the API on `listener` until `stop` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    platform: Arc<Platform>,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(platform))
        .with_graceful_shutdown(stop)
        .await
}
