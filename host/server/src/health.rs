//! Health probes: `/health/live` answers while the process serves,
//! `/health/ready` only when the store answers too; `/health` is both.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use workway_engine::platform::Platform;

/// The process is up.
pub async fn live() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// The process can do its work: the store answers. A failure is logged
/// for the operator and answered with a generic status only: the probe is
/// open to anyone, and a store's error can name hosts, users and paths.
pub async fn ready(State(platform): State<Arc<Platform>>) -> (StatusCode, Json<Value>) {
    match platform.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok", "store": "ok"}))),
        Err(e) => {
            tracing::warn!("readiness probe: the store does not answer: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "store": "unavailable"})),
            )
        }
    }
}

/// Liveness and readiness together.
pub async fn health(state: State<Arc<Platform>>) -> (StatusCode, Json<Value>) {
    ready(state).await
}
