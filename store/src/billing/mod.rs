//! Billing's tables (migrations 0017 to 0019): `billing_months` and
//! `usage_records`, written with each step's result by
//! [`crate::runs::Runs::finish_attempt`]; `statements`, finalized monthly;
//! `ledger_entries`, the append-only double-entry ledger.
//!
//! The store applies the numbers it is given (the free allowance, the
//! price and share of one execution, the rounding of a statement); what
//! they are is the engine's (`workway_engine::billing`).
//!
//! - `usage`: what a user's executions of a month used and cost;
//! - `statements`: finalizing a month's statement of a user (its usage
//!   charged, the ledger posted) or of a developer (their shares, the
//!   payout), and reading them back;
//! - `purchases`: upfront purchases of paid integrations, from pending to
//!   paid (the entitlement granted, the sale and fee posted) and refunded;
//! - `credit`: prepaid credit, bought and drawn down by statements;
//! - `settlement` (migration 0019): what the payment provider was asked
//!   to do and reported back: notifications applied once, customers,
//!   usage invoices, sale transfers to developers and payouts;
//! - `ledger`: the entries, their balances and the reconciliation.

mod credit;
mod ledger;
mod purchases;
mod settlement;
mod statements;
mod usage;

pub use credit::{CreditPurchaseRow, credit_account};
pub use ledger::{Balance, LedgerEntry, Reconciliation};
pub use purchases::{NewPurchase, PurchaseRow, PurchaseState, provider_account};
pub use settlement::{InvoiceRow, PayoutClaim, PayoutRow};
pub use statements::{Rounding, StatementKind, StatementLine, StatementRow, StatementSummary};
pub use usage::{IntegrationUsage, UsageRecord, UsageSummary};

use crate::Store;

/// The queries on billing's tables.
#[derive(Debug, Clone, Copy)]
pub struct Billing<'s> {
    store: &'s Store,
}

impl Store {
    /// Billing's tables: usage, statements, the ledger.
    pub fn billing(&self) -> Billing<'_> {
        Billing { store: self }
    }
}

/// The ledger account a developer's share is credited to: the account's
/// own, or the platform's when the integration has no developer account.
pub fn developer_account(developer: Option<&str>) -> String {
    format!("developer:{}:payable", developer.unwrap_or("platform"))
}

/// The ledger account a user's charges are debited to.
pub fn user_account(owner: &str) -> String {
    format!("user:{owner}:receivable")
}

/// The ledger account of the platform's share of usage.
pub const PLATFORM_REVENUE: &str = "platform:revenue";
