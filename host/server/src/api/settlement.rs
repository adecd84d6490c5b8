//! How statements were settled through the payment provider, as the
//! billing routes show it: a user statement's invoice and a developer's
//! payouts.

use serde::Serialize;
use utoipa::ToSchema;
use workway_store::billing::{InvoiceRow, PayoutRow};

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
