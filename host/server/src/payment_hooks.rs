//! `POST /v1/payments/stripe/webhook`: the payment provider's
//! notifications (Stripe's webhooks), verified by their `Stripe-Signature`
//! and applied once by event id. Answers 200 once applied (or applied
//! before, or about nothing the platform acts on), 400 for a bad signature
//! or an event that does not match the platform's records (Stripe shows
//! it in its dashboard), 404 when the server does not take payments
//! through Stripe, 503 when the store or Stripe's API failed (Stripe
//! sends it again later).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use workway_engine::billing::payments::{NotificationError, PaymentError};
use workway_engine::billing::settlement::{self, Applied, SettlementError};
use workway_engine::platform::Platform;

use crate::hooks::HookRefused;

/// What an accepted notification answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationReceived {
    /// Always true: the notification was verified and need not be sent
    /// again.
    pub received: bool,
    /// `applied`, `duplicate` (applied before) or `ignored` (an event the
    /// platform does not act on).
    pub outcome: String,
}

/// Receive a Stripe webhook.
///
/// Configure the endpoint in Stripe's dashboard with this URL and put its
/// signing secret in `[payments.stripe] webhook_secret`. Events acted on:
/// `checkout.session.completed` and `checkout.session.async_payment_succeeded`
/// (a purchase or prepaid credit paid; the fee is read from the charge's
/// balance transaction), `checkout.session.expired` (nothing bought),
/// `charge.refunded`, `invoice.paid`, `invoice.payment_failed`; others are
/// acknowledged and ignored.
#[utoipa::path(
    post,
    path = "/v1/payments/stripe/webhook",
    tag = "hooks",
    params(
        ("Stripe-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\">` under the endpoint's signing secret, as Stripe sends it."),
    ),
    request_body(
        description = "A Stripe event object, as JSON.",
        content(("application/json")),
    ),
    responses(
        (status = 200, description = "Verified and applied (or applied before, or ignored).", body = NotificationReceived),
        (status = 400, description = "The signature is missing, stale or wrong, or the event does not match this platform's records.", body = HookRefused),
        (status = 404, description = "This server does not take payments through Stripe.", body = HookRefused),
        (status = 413, description = "The body is larger than 1 MiB (a plain-text answer)."),
        (status = 503, description = "The store or Stripe's API failed: Stripe sends the event again.", body = HookRefused),
    ),
)]
pub async fn stripe_webhook(
    State(platform): State<Arc<Platform>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if platform.payments.name() != "stripe" {
        return refuse(
            StatusCode::NOT_FOUND,
            "this server does not take payments through Stripe",
        );
    }
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    match settlement::apply_notification(&platform, signature, &body).await {
        Ok(applied) => {
            let outcome = match applied {
                Applied::Applied => "applied",
                Applied::Duplicate => "duplicate",
                Applied::Ignored => "ignored",
            };
            let received = NotificationReceived {
                received: true,
                outcome: outcome.to_string(),
            };
            (StatusCode::OK, Json(received)).into_response()
        }
        Err(e) => {
            let status = match &e {
                SettlementError::Notification(NotificationError::Provider(
                    PaymentError::Unavailable(_),
                ))
                | SettlementError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            tracing::warn!("payment notification not applied: {e}");
            if status.is_server_error() {
                return refuse(
                    status,
                    "the notification cannot be applied now; send it again",
                );
            }
            refuse(status, &e.to_string())
        }
    }
}

fn refuse(status: StatusCode, error: &str) -> Response {
    let refused = HookRefused {
        error: error.to_string(),
    };
    (status, Json(refused)).into_response()
}
