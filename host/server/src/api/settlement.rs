//! How statements were settled through the payment provider, as the
//! billing routes show it: a user statement's invoice and a developer's
//! payouts; and `POST /v1/admin/invoices/{statement_id}/retry`, an admin
//! making a failed invoice again.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use workway_engine::accounts::Scope;
use workway_engine::platform::Platform;
use workway_store::billing::{InvoiceRow, PayoutRow};

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};

/// The invoice of a user statement with something to pay.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    /// What is asked (cents).
    pub amount_cents: i64,
    /// `pending` (not yet at the provider), `open`, `paid`,
    /// `payment_failed` (the provider tries again) or `failed` (the
    /// provider refused to make it; `reason` says why).
    pub state: String,
    /// Why the provider refused to make it.
    pub reason: Option<String>,
    /// Where to pay it, when the provider hosts a page.
    pub url: Option<String>,
    /// Failed payment attempts.
    pub attempts: i64,
}

impl From<&InvoiceRow> for InvoiceView {
    fn from(i: &InvoiceRow) -> InvoiceView {
        InvoiceView {
            amount_cents: i.amount_cents,
            state: i.state.clone(),
            reason: i.failure.clone(),
            url: i.url.clone(),
            attempts: i.attempts,
        }
    }
}

/// A payout to a developer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PayoutView {
    /// Its id.
    pub id: String,
    /// The developer statement it follows.
    pub statement_id: String,
    /// What was sent (cents): what the payable account was owed then,
    /// floored to the cent; 0 when skipped.
    pub amount_cents: i64,
    /// `skipped` (less than a cent owed, or no payout account: the balance
    /// waits), `pending`, `paid` or `failed` (the amount is owed again).
    pub state: String,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    /// When it was claimed (Unix ms).
    pub created_at: i64,
}

impl From<&PayoutRow> for PayoutView {
    fn from(p: &PayoutRow) -> PayoutView {
        PayoutView {
            id: p.id.clone(),
            statement_id: p.statement_id.clone(),
            amount_cents: p.amount_cents,
            state: p.state.clone(),
            reason: p.failure.clone(),
            created_at: p.created_at,
        }
    }
}

/// Make a failed usage invoice again.
///
/// An invoice the payment provider refused to make (a deleted customer,
/// say) is `failed` and left alone; once what it refused is fixed, an
/// admin sends it back to `pending`, and the next settlement pass (within
/// a minute) makes it.
#[utoipa::path(
    post,
    path = "/v1/admin/invoices/{statement_id}/retry",
    tag = "billing",
    security(("api_token" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
    params(("statement_id" = String, Path, description = "The user statement the invoice is for.")),
    responses(
        (status = 200, description = "The invoice, pending again.", body = InvoiceView),
        (status = 403, description = "The credential lacks the `admin` scope (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No invoice for this statement (`not_found`).", body = ErrorBody),
        (status = 409, description = "The invoice has not failed (`not_failed`).", body = ErrorBody),
    ),
)]
pub async fn retry_invoice(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(statement_id): Path<String>,
) -> Result<Json<InvoiceView>, ApiError> {
    caller.require(Scope::Admin)?;
    let billing = platform.store.billing();
    let now = workway_store::clock::now_ms();
    if let Some(row) = billing.retry_invoice(&statement_id, now).await? {
        return Ok(Json((&row).into()));
    }
    match billing.invoice(&statement_id).await? {
        Some(row) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_failed",
            format!(
                "the invoice is {}: only a failed invoice is made again",
                row.state
            ),
        )),
        None => Err(ApiError::not_found("invoice")),
    }
}
