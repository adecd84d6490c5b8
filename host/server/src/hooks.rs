//! `POST /v1/hooks/{token}`: a webhook delivery, signed in the sender
//! format the workflow's trigger names (`workway`, `standard-webhooks`,
//! `stripe`, `github`, `slack`). Answers 202 with the run id (200 with
//! the earlier run for a duplicate delivery, a replayed signature
//! included; 200 with no run for a GitHub `ping` or a Slack
//! `url_verification`, whose challenge it echoes), 401 for a missing,
//! malformed, stale or wrong signature (naming the header and the format
//! expected), 400 for an unusable body, 404 for an unknown URL, 429 when
//! the workflow's owner has too many runs waiting (the sender retries
//! later).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use workway_engine::platform::Platform;
use workway_engine::triggers::webhook::{self, Delivered, WebhookError};

/// What a delivery that started (or had started) a run answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct HookAccepted {
    /// The run the delivery started (the earlier one, for a duplicate).
    pub run_id: String,
    /// Whether this delivery was seen before (the same signature, or the
    /// sender's idempotency key within the workflow's dedupe window).
    pub duplicate: bool,
}

/// What a sender's handshake answers: no run is started.
#[derive(Debug, Serialize, ToSchema)]
pub struct HookHandshake {
    /// A Slack `url_verification`'s challenge, echoed back (Slack's answer
    /// is exactly `{"challenge": "..."}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
    /// True for a GitHub `ping` (sent when the webhook is made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ping: Option<bool>,
}

/// What a 200 answers: a duplicate delivery's run, or a handshake.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum HookOk {
    /// A duplicate delivery: the run the first one started.
    Duplicate(HookAccepted),
    /// A GitHub `ping` or a Slack `url_verification`: no run.
    Handshake(HookHandshake),
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
/// The body becomes the run's trigger data (`{body, idempotency_key}`,
/// and `event` for GitHub): JSON, or for `github` and `slack` also a form
/// (`application/x-www-form-urlencoded`: an object of its fields, a
/// `payload` field holding JSON read as JSON). The delivery must be
/// signed in the format the workflow's trigger names (`format:`; only
/// that format's headers are read):
///
/// - `workway` (default): `Workway-Signature: t=<unix seconds>,v1=<hex
///   HMAC-SHA256 of "<t>.<body>">` under the workflow's signing secret;
/// - `standard-webhooks`: `webhook-id`, `webhook-timestamp` and
///   `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`
///   under the key of the `whsec_<base64>` secret, or, when the secret set
///   is the sender's ed25519 public key `whpk_<base64>`, `v1a,<base64
///   ed25519 signature of "<id>.<timestamp>.<body>">` (only `v1a` entries
///   are read then); `webhook-id` is the idempotency key;
/// - `stripe`: `Stripe-Signature: t=<unix seconds>,v1=<hex>` under the
///   endpoint's secret; the event's `id` is the idempotency key;
/// - `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
///   and `X-GitHub-Delivery` (the idempotency key); a `ping` event is
///   answered 200 without a run;
/// - `slack`: `X-Slack-Signature: v0=<hex HMAC-SHA256 of
///   "v0:<timestamp>:<body>">` and `X-Slack-Request-Timestamp`; the
///   event's `event_id` is the idempotency key; a `url_verification` is
///   answered 200 with `{"challenge": ...}` without a run.
///
/// A timestamp outside the workflow's tolerance is refused. A replayed or
/// retried delivery answers the run the first one started.
#[utoipa::path(
    post,
    path = "/v1/hooks/{token}",
    tag = "hooks",
    params(
        ("token" = String, Path, description = "The workflow's secret webhook token (its `webhook.path`)."),
        ("Workway-Signature" = Option<String>, Header, description = "Format `workway`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` under the workflow's signing secret."),
        ("webhook-id" = Option<String>, Header, description = "Format `standard-webhooks`: the message id, signed, and the idempotency key."),
        ("webhook-timestamp" = Option<String>, Header, description = "Format `standard-webhooks`: the Unix seconds the message was signed at."),
        ("webhook-signature" = Option<String>, Header, description = "Format `standard-webhooks`: space-separated `v1,<base64 HMAC-SHA256 of \"<id>.<timestamp>.<body>\">` entries under a `whsec_` secret, or `v1a,<base64 ed25519 signature of \"<id>.<timestamp>.<body>\">` entries under the sender's `whpk_` public key; one must match."),
        ("Stripe-Signature" = Option<String>, Header, description = "Format `stripe`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` under the endpoint's signing secret."),
        ("X-Hub-Signature-256" = Option<String>, Header, description = "Format `github`: `sha256=<hex HMAC-SHA256 of the body>` under the webhook's secret."),
        ("X-GitHub-Delivery" = Option<String>, Header, description = "Format `github`: the delivery's id, the idempotency key."),
        ("X-GitHub-Event" = Option<String>, Header, description = "Format `github`: the event (`ping` starts no run); in the trigger data as `event`."),
        ("X-Slack-Signature" = Option<String>, Header, description = "Format `slack`: `v0=<hex HMAC-SHA256 of \"v0:<timestamp>:<body>\">` under the app's signing secret."),
        ("X-Slack-Request-Timestamp" = Option<String>, Header, description = "Format `slack`: the Unix seconds the request was signed at."),
    ),
    request_body(
        description = "The event: the run's trigger data. JSON; for the `github` and `slack` formats also a form.",
        content(("application/json"), ("application/x-www-form-urlencoded")),
    ),
    responses(
        (status = 202, description = "A run was started.", body = HookAccepted),
        (status = 200, description = "A duplicate delivery (the run the first one started), or a GitHub `ping` or Slack `url_verification` (no run; Slack's challenge echoed).", body = HookOk),
        (status = 400, description = "The body cannot be used as trigger data, or the idempotency key is missing from it.", body = HookRefused),
        (status = 401, description = "The signature is missing, malformed, stale or wrong: the message names the header and the format expected.", body = HookRefused),
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
        .map(|(name, value)| {
            // A value that is not text is kept (lossily) so that a
            // signature header of raw bytes is refused as malformed rather
            // than as missing.
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_string(), value)
        })
        .collect();
    let now = workway_store::clock::now_ms();
    match webhook::deliver(&platform, &token, &headers, &body, now).await {
        Ok(Delivered::Ping) => (
            StatusCode::OK,
            Json(HookOk::Handshake(HookHandshake {
                challenge: None,
                ping: Some(true),
            })),
        )
            .into_response(),
        Ok(Delivered::Challenge(challenge)) => (
            StatusCode::OK,
            Json(HookOk::Handshake(HookHandshake {
                challenge: Some(challenge),
                ping: None,
            })),
        )
            .into_response(),
        Ok(Delivered::Run(started)) => {
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
                WebhookError::Sealed(_) => StatusCode::SERVICE_UNAVAILABLE,
                WebhookError::InvalidSecret { .. } | WebhookError::SenderSecret { .. } => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
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
