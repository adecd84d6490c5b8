//! `POST /v1/hooks/{token}`: a webhook delivery. Answers 202 with the run
//! id (200 with the earlier run for a duplicate delivery, a replayed
//! signature included), 401 for a bad signature, 400 for an unusable body,
//! 404 for an unknown URL, 429 when the workflow's owner has too many runs
//! waiting (the sender retries later).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

use workway_engine::platform::Platform;
use workway_engine::triggers::webhook::{self, WebhookError};

/// Deliver a webhook.
pub async fn deliver(
    State(platform): State<Arc<Platform>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(name, value)| {
            value
                .to_str()
                .ok()
                .map(|v| (name.as_str().to_string(), v.to_string()))
        })
        .collect();
    let now = workway_store::clock::now_ms();
    match webhook::deliver(&platform, &token, &headers, &body, now).await {
        Ok(started) if started.duplicate => (
            StatusCode::OK,
            Json(json!({"run_id": started.run_id, "duplicate": true})),
        ),
        Ok(started) => (
            StatusCode::ACCEPTED,
            Json(json!({"run_id": started.run_id, "duplicate": false})),
        ),
        Err(e) => {
            let status = match &e {
                WebhookError::UnknownHook | WebhookError::NotWebhook(_) => StatusCode::NOT_FOUND,
                WebhookError::Signature(_) => StatusCode::UNAUTHORIZED,
                WebhookError::Body(_) => StatusCode::BAD_REQUEST,
                WebhookError::Trigger(workway_engine::triggers::TriggerError::Store(_)) => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                WebhookError::Trigger(workway_engine::triggers::TriggerError::Refused {
                    ..
                }) => StatusCode::TOO_MANY_REQUESTS,
                WebhookError::Trigger(_) => StatusCode::UNPROCESSABLE_ENTITY,
            };
            if status.is_server_error() {
                // The store's error is for the operator, not the sender.
                tracing::warn!("webhook delivery started no run: {e}");
                return (
                    status,
                    Json(
                        json!({"error": "the service cannot take deliveries right now; retry later"}),
                    ),
                );
            }
            if status == StatusCode::UNPROCESSABLE_ENTITY {
                tracing::warn!("webhook delivery started no run: {e}");
            }
            (status, Json(json!({"error": e.to_string()})))
        }
    }
}
