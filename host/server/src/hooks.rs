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
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use workway_engine::platform::Platform;
use workway_engine::triggers::webhook::{self, WebhookError};

/// What a delivery that started (or had started) a run answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct HookAccepted {
    /// The run the delivery started (the earlier one, for a duplicate).
    pub run_id: String,
    /// Whether this delivery was seen before (the same signature, or the
    /// sender's idempotency key within the workflow's dedupe window).
    pub duplicate: bool,
}

/// What a delivery that started no run answers. Webhook senders are not
/// API clients, so this is not the API's error shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct HookRefused {
    /// Why, for the sender's logs.
    pub error: String,
}

/// Deliver a webhook.
///
/// The body (JSON) becomes the run's trigger data. The delivery must be
/// signed: `Workway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
/// "<t>.<body>">` under the workflow's signing secret; a timestamp outside
/// the workflow's tolerance is refused. A replayed or retried delivery
/// answers the run the first one started.
#[utoipa::path(
    post,
    path = "/v1/hooks/{token}",
    tag = "hooks",
    params(
        ("token" = String, Path, description = "The workflow's secret webhook token (its `webhook.path`)."),
        ("Workway-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` under the workflow's signing secret."),
    ),
    request_body(
        description = "The event, as JSON: the run's trigger data.",
        content(("application/json")),
    ),
    responses(
        (status = 202, description = "A run was started.", body = HookAccepted),
        (status = 200, description = "A duplicate delivery: the run the first one started.", body = HookAccepted),
        (status = 400, description = "The body cannot be used as trigger data.", body = HookRefused),
        (status = 401, description = "The signature is missing, malformed, stale or wrong.", body = HookRefused),
        (status = 404, description = "No webhook workflow has this URL.", body = HookRefused),
        (status = 413, description = "The body is larger than 1 MiB (a plain-text answer)."),
        (status = 422, description = "The workflow could not start a run (its definition or installations).", body = HookRefused),
        (status = 429, description = "The workflow's owner has too many runs waiting: retry later.", body = HookRefused),
        (status = 503, description = "The service cannot take deliveries right now: retry later.", body = HookRefused),
    ),
)]
pub async fn deliver(
    State(platform): State<Arc<Platform>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
        Ok(started) => {
            let status = if started.duplicate {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            let accepted = HookAccepted {
                run_id: started.run_id,
                duplicate: started.duplicate,
            };
            (status, Json(accepted)).into_response()
        }
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
                let refused = HookRefused {
                    error: "the service cannot take deliveries right now; retry later".to_string(),
                };
                return (status, Json(refused)).into_response();
            }
            if status == StatusCode::UNPROCESSABLE_ENTITY {
                tracing::warn!("webhook delivery started no run: {e}");
            }
            let refused = HookRefused {
                error: e.to_string(),
            };
            (status, Json(refused)).into_response()
        }
    }
}
