//! The monthly statements pass: once a month and its grace period are
//! over, every user with usage on no statement gets a finalized statement
//! of that month (their charges posted to the ledger), then every
//! developer with shares not yet credited gets theirs (the payout floored
//! to the cent, the remainder carried). Usage of a month that commits
//! after its statement was finalized is on the next statement as an
//! adjustment: finalized statements are never changed.
//!
//! `serve` and `worker` run the pass with their upkeep; it is safe on any
//! number of hosts at once (a statement is claimed in one transaction and
//! written once).

use workway_store::billing::StatementKind;
use workway_store::{Store, StoreError};

use super::months::{month_of, previous};
use super::tariff::to_cents_with_carry;

/// How long after a month ends its statements wait for late usage (a run
/// retrying a step across the month's end): 3 days.
pub const GRACE_MS: i64 = 3 * 24 * 60 * 60 * 1000;

/// What one pass finalized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Finalized {
    /// The month whose statements were due.
    pub month: String,
    /// User statements finalized.
    pub users: usize,
    /// Developer statements finalized.
    pub developers: usize,
}

/// The month whose statements are due at `now` with `grace`: the one
/// before the month `grace` ago.
pub fn due_month(now: i64, grace_ms: i64) -> Option<String> {
    previous(&month_of(now.saturating_sub(grace_ms)))
}

/// Finalize every statement due at `now`: users' first, then developers'.
pub async fn finalize_due(store: &Store, now: i64, grace_ms: i64) -> Result<Finalized, StoreError> {
    let Some(month) = due_month(now, grace_ms) else {
        return Ok(Finalized::default());
    };
    finalize_month(store, &month, now).await
}

/// Finalize the statements of `month` that are not yet: users' then
/// developers'.
pub async fn finalize_month(store: &Store, month: &str, now: i64) -> Result<Finalized, StoreError> {
    let billing = store.billing();
    let mut done = Finalized {
        month: month.to_string(),
        ..Finalized::default()
    };
    for owner in billing.users_to_finalize(month).await? {
        let id = statement_id(StatementKind::User);
        if billing
            .finalize_user(&owner, month, &id, now, to_cents_with_carry)
            .await?
            .is_some()
        {
            done.users += 1;
        }
    }
    for developer in billing.developers_to_finalize(month).await? {
        let id = statement_id(StatementKind::Developer);
        if billing
            .finalize_developer(&developer, month, &id, now, to_cents_with_carry)
            .await?
            .is_some()
        {
            done.developers += 1;
        }
    }
    if done.users + done.developers > 0 {
        tracing::info!(
            month,
            users = done.users,
            developers = done.developers,
            "statements finalized"
        );
    }
    Ok(done)
}

/// A new statement id: `st_` (user) or `sd_` (developer) and 32 hex digits.
fn statement_id(kind: StatementKind) -> String {
    let prefix = match kind {
        StatementKind::User => "st",
        StatementKind::Developer => "sd",
    };
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::months::start_ms;

    #[test]
    fn a_month_is_due_after_its_grace() {
        let feb = start_ms("2026-02").unwrap();
        assert_eq!(
            due_month(feb + GRACE_MS - 1, GRACE_MS).as_deref(),
            Some("2025-12")
        );
        assert_eq!(
            due_month(feb + GRACE_MS, GRACE_MS).as_deref(),
            Some("2026-01")
        );
        assert_eq!(due_month(feb, 0).as_deref(), Some("2026-01"));
    }
}
