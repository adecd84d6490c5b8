//! Health probes: `/health/live` answers while the process serves,
//! `/health/ready` only when the store answers too; `/health` is both.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use workway_engine::platform::Platform;

/// What a probe answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable`.
    #[schema(examples("ok"))]
    pub status: &'static str,
    /// Whether the store answers: `ok` or `unavailable` (absent from the
    /// liveness probe, which does not ask it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<&'static str>,
}

/// The process is up.
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "operations",
    responses((status = 200, description = "The process serves.", body = Health)),
)]
pub async fn live() -> Json<Health> {
    Json(Health {
        status: "ok",
        store: None,
    })
}

/// The process can do its work: the store answers.
///
/// A failure is logged for the operator and answered with a generic
/// status only: the probe is open to anyone, and a store's error can name
/// hosts, users and paths.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "operations",
    responses(
        (status = 200, description = "The store answers.", body = Health),
        (status = 503, description = "The store does not answer.", body = Health),
    ),
)]
pub async fn ready(State(platform): State<Arc<Platform>>) -> (StatusCode, Json<Health>) {
    match platform.store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                store: Some("ok"),
            }),
        ),
        Err(e) => {
            tracing::warn!("readiness probe: the store does not answer: {e}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    store: Some("unavailable"),
                }),
            )
        }
    }
}

/// Liveness and readiness together.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses(
        (status = 200, description = "The process serves and the store answers.", body = Health),
        (status = 503, description = "The store does not answer.", body = Health),
    ),
)]
pub async fn health(state: State<Arc<Platform>>) -> (StatusCode, Json<Health>) {
    ready(state).await
}
