//! Settlement (migration 0019): what the payment provider was asked to do
//! with the money the ledger says is owed, and what it reported back —
//! provider notifications applied once, the provider's customer of an
//! account, usage invoices of finalized user statements, the part of an
//! upfront sale moved to the developer with the charge, and developer
//! payouts.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::purchases::provider_account;
use super::{Billing, developer_account, user_account};
use crate::StoreError;

/// A usage invoice of a finalized user statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRow {
    /// The statement invoiced.
    pub statement_id: String,
    /// The user.
    pub account_id: String,
    /// What the statement asks the user to pay (cents).
    pub amount_cents: i64,
    /// The payment provider.
    pub provider: String,
    /// The provider's invoice, once it made one.
    pub provider_ref: Option<String>,
    /// Where the user pays, when the provider has a page for it.
    pub url: Option<String>,
    /// `pending` (not yet made at the provider), `open`, `paid`,
    /// `payment_failed` (the provider retries) or `failed` (the provider
    /// refused to make it).
    pub state: String,
    /// Why the provider refused to make it.
    pub failure: Option<String>,
    /// Failed payment attempts the provider reported.
    pub attempts: i64,
    /// When it was created (Unix ms).
    pub created_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

/// A developer payout of a finalized developer statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRow {
    /// Its id (also the idempotency key of the provider's transfer).
    pub id: String,
    /// The developer paid.
    pub developer: String,
    /// The developer statement it belongs to.
    pub statement_id: String,
    /// What is sent (cents; 0 when skipped).
    pub amount_cents: i64,
    /// The developer's payout account at the provider.
    pub destination: Option<String>,
    /// The payment provider.
    pub provider: String,
    /// The provider's transfer, once made.
    pub provider_ref: Option<String>,
    /// `skipped`, `pending`, `paid` or `failed`.
    pub state: String,
    /// Why it was skipped or failed.
    pub failure: Option<String>,
    /// When it was created (Unix ms).
    pub created_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

/// What a payout claim found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutClaim<'a> {
    /// The payout's id.
    pub id: &'a str,
    /// The finalized developer statement.
    pub statement_id: &'a str,
    /// The developer.
    pub developer: &'a str,
    /// Their payout account, if they gave one.
    pub destination: Option<&'a str>,
    /// The payment provider.
    pub provider: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

const INVOICE_COLUMNS: &str = "statement_id, account_id, amount_cents, provider, provider_ref, \
     url, state, failure, attempts, created_at, updated_at";

const PAYOUT_COLUMNS: &str = "id, developer, statement_id, amount_cents, destination, provider, \
     provider_ref, state, failure, created_at, updated_at";

fn invoice(row: &AnyRow) -> Result<InvoiceRow, StoreError> {
    Ok(InvoiceRow {
        statement_id: row.try_get("statement_id")?,
        account_id: row.try_get("account_id")?,
        amount_cents: row.try_get("amount_cents")?,
        provider: row.try_get("provider")?,
        provider_ref: row.try_get("provider_ref")?,
        url: row.try_get("url")?,
        state: row.try_get("state")?,
        failure: row.try_get("failure")?,
        attempts: row.try_get("attempts")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn payout(row: &AnyRow) -> Result<PayoutRow, StoreError> {
    Ok(PayoutRow {
        id: row.try_get("id")?,
        developer: row.try_get("developer")?,
        statement_id: row.try_get("statement_id")?,
        amount_cents: row.try_get("amount_cents")?,
        destination: row.try_get("destination")?,
        provider: row.try_get("provider")?,
        provider_ref: row.try_get("provider_ref")?,
        state: row.try_get("state")?,
        failure: row.try_get("failure")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Billing<'_> {
    /// Whether `provider`'s notification `event_id` was applied already.
    pub async fn event_applied(&self, provider: &str, event_id: &str) -> Result<bool, StoreError> {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM payment_events WHERE provider = $1 AND event_id = $2",
        )
        .bind(provider)
        .bind(event_id)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(found.is_some())
    }

    /// Note `provider`'s notification `event_id` as applied; false when it
    /// was already. Written after applying it, so a notification whose
    /// application failed is applied when the provider sends it again
    /// (every application is idempotent on its own).
    pub async fn record_event(
        &self,
        provider: &str,
        event_id: &str,
        kind: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO payment_events (provider, event_id, kind, received_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (provider, event_id) DO NOTHING",
        )
        .bind(provider)
        .bind(event_id)
        .bind(kind)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `provider`'s customer of `account_id`, if one was made.
    pub async fn customer_ref(
        &self,
        account_id: &str,
        provider: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT customer_ref FROM payment_customers WHERE account_id = $1 AND provider = $2",
        )
        .bind(account_id)
        .bind(provider)
        .fetch_optional(self.store.pool())
        .await?)
    }

    /// Keep `customer_ref` as `provider`'s customer of `account_id` unless
    /// one was kept already; returns the one kept.
    pub async fn keep_customer_ref(
        &self,
        account_id: &str,
        provider: &str,
        customer_ref: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO payment_customers (account_id, provider, customer_ref, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, provider) DO NOTHING",
        )
        .bind(account_id)
        .bind(provider)
        .bind(customer_ref)
        .bind(now)
        .execute(self.store.pool())
        .await?;
        Ok(self
            .customer_ref(account_id, provider)
            .await?
            .unwrap_or_else(|| customer_ref.to_string()))
    }

    /// Claim an invoice for every finalized user statement with something
    /// to pay and none yet (at most `limit`), as `pending` through
    /// `provider`; returns the pending invoices not yet made at the
    /// provider (these and earlier ones whose making failed), oldest first.
    pub async fn invoices_to_make(
        &self,
        provider: &str,
        now: i64,
        limit: i64,
    ) -> Result<Vec<InvoiceRow>, StoreError> {
        sqlx::query(
            "INSERT INTO invoices (statement_id, account_id, amount_cents, provider, \
             provider_ref, url, state, failure, attempts, created_at, updated_at) \
             SELECT s.id, s.account_id, s.amount_cents, $1, NULL, NULL, 'pending', NULL, 0, $2, $2 \
             FROM statements s WHERE s.kind = 'user' AND s.amount_cents > 0 \
             AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.statement_id = s.id) \
             ORDER BY s.finalized_at, s.id LIMIT $3 \
             ON CONFLICT (statement_id) DO NOTHING",
        )
        .bind(provider)
        .bind(now)
        .bind(limit)
        .execute(self.store.pool())
        .await?;
        let sql = format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE state = 'pending' AND provider = $1 \
             ORDER BY created_at, statement_id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(provider)
            .bind(limit)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(invoice).collect()
    }

    /// Pending invoice `statement_id` was made at the provider as
    /// `provider_ref` (payable at `url`), `open` or already `paid`.
    pub async fn invoice_made(
        &self,
        statement_id: &str,
        provider_ref: &str,
        url: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE invoices SET provider_ref = $1, url = $2, state = 'open', updated_at = $3 \
             WHERE statement_id = $4 AND state = 'pending'",
        )
        .bind(provider_ref)
        .bind(url)
        .bind(now)
        .bind(statement_id)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// The provider refused to make pending invoice `statement_id` for
    /// `reason` (a deleted customer, say): it is `failed` and not offered
    /// again; the amount stays on the user's receivable.
    pub async fn invoice_refused(
        &self,
        statement_id: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invoices SET state = 'failed', failure = $1, updated_at = $2 \
             WHERE statement_id = $3 AND state = 'pending'",
        )
        .bind(reason)
        .bind(now)
        .bind(statement_id)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Invoice of statement `statement_id`, if one was claimed.
    pub async fn invoice(&self, statement_id: &str) -> Result<Option<InvoiceRow>, StoreError> {
        let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE statement_id = $1");
        let row = sqlx::query(&sql)
            .bind(statement_id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(invoice).transpose()
    }

    /// Failed invoice `statement_id` is made again (an admin fixed what the
    /// provider refused): it is `pending`, made by the next settlement
    /// pass. None when it is not failed.
    pub async fn retry_invoice(
        &self,
        statement_id: &str,
        now: i64,
    ) -> Result<Option<InvoiceRow>, StoreError> {
        let sql = format!(
            "UPDATE invoices SET state = 'pending', failure = NULL, updated_at = $1 \
             WHERE statement_id = $2 AND state = 'failed' RETURNING {INVOICE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(statement_id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(invoice).transpose()
    }

    /// The invoice `provider` knows as `provider_ref` was paid: in one
    /// transaction it becomes paid and the ledger moves its amount from the
    /// user's receivable to the provider. False when it was paid already
    /// or is unknown.
    pub async fn invoice_paid(
        &self,
        provider: &str,
        provider_ref: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE invoices SET state = 'paid', updated_at = $1 \
             WHERE provider = $2 AND provider_ref = $3 AND state <> 'paid' \
             RETURNING {INVOICE_COLUMNS}"
        );
        let update = sqlx::query(&sql)
            .bind(now)
            .bind(provider)
            .bind(provider_ref);
        let paid = super::ledger::transition(
            self.store.pool(),
            update,
            invoice,
            |paid: &InvoiceRow| {
                let amount = paid.amount_cents * 10;
                let entries = vec![
                    (provider_account(provider), "invoice_payment", amount),
                    (user_account(&paid.account_id), "invoice_payment", -amount),
                ];
                let txn = format!("{}.paid", paid.statement_id);
                (txn, paid.statement_id.clone(), entries)
            },
            now,
        )
        .await?;
        Ok(paid.is_some())
    }

    /// A payment of the invoice `provider` knows as `provider_ref` failed
    /// (the provider retries it); false when it is paid or unknown.
    pub async fn invoice_payment_failed(
        &self,
        provider: &str,
        provider_ref: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE invoices SET state = 'payment_failed', attempts = attempts + 1, \
             updated_at = $1 WHERE provider = $2 AND provider_ref = $3 AND state <> 'paid'",
        )
        .bind(now)
        .bind(provider)
        .bind(provider_ref)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// `account_id`'s usage invoices, newest first (at most 200).
    pub async fn invoices_of(&self, account_id: &str) -> Result<Vec<InvoiceRow>, StoreError> {
        let sql = format!(
            "SELECT {INVOICE_COLUMNS} FROM invoices WHERE account_id = $1 \
             ORDER BY created_at DESC, statement_id DESC LIMIT 200"
        );
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(invoice).collect()
    }

    /// The provider moved `amount_cents` of paid purchase `purchase_id` to
    /// the developer with the charge (transfer `provider_ref`): recorded,
    /// and the ledger moves it from the provider to the developer's
    /// payable, once (false when it was recorded already).
    pub async fn record_sale_transfer(
        &self,
        purchase_id: &str,
        provider: &str,
        provider_ref: &str,
        amount_cents: i64,
        developer: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let done = sqlx::query(
            "INSERT INTO sale_transfers (purchase_id, provider_ref, amount_cents, reversed_cents, \
             created_at) VALUES ($1, $2, $3, 0, $4) ON CONFLICT (purchase_id) DO NOTHING",
        )
        .bind(purchase_id)
        .bind(provider_ref)
        .bind(amount_cents)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        if amount_cents > 0 {
            let amount = amount_cents * 10;
            let entries = [
                (developer_account(developer), "sale_transfer", amount),
                (provider_account(provider), "sale_transfer", -amount),
            ];
            let txn = format!("{purchase_id}.transfer");
            super::ledger::post(&mut tx, &txn, purchase_id, &entries, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// A refund of purchase `purchase_id` reversed its sale transfer up to
    /// `reversed_cents` in all: the ledger moves the newly reversed part
    /// back from the developer's payable to the provider. False when
    /// nothing new was reversed (no transfer, or reversed already).
    pub async fn record_transfer_reversal(
        &self,
        purchase_id: &str,
        provider: &str,
        reversed_cents: i64,
        developer: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let before: Option<(i64, i64)> = sqlx::query_as(
            "SELECT amount_cents, reversed_cents FROM sale_transfers WHERE purchase_id = $1",
        )
        .bind(purchase_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((amount, reversed)) = before else {
            tx.rollback().await?;
            return Ok(false);
        };
        let total = reversed_cents.clamp(0, amount);
        if total <= reversed {
            tx.rollback().await?;
            return Ok(false);
        }
        let moved = sqlx::query(
            "UPDATE sale_transfers SET reversed_cents = $1 \
             WHERE purchase_id = $2 AND reversed_cents = $3",
        )
        .bind(total)
        .bind(purchase_id)
        .bind(reversed)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let newly = (total - reversed) * 10;
        let entries = [
            (developer_account(developer), "transfer_reversal", -newly),
            (provider_account(provider), "transfer_reversal", newly),
        ];
        let txn = format!("{purchase_id}.reversal{total}");
        super::ledger::post(&mut tx, &txn, purchase_id, &entries, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The developer statements finalized with no payout yet, oldest
    /// first (at most `limit`): `(statement id, developer)`.
    pub async fn statements_to_pay_out(
        &self,
        limit: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.id, s.account_id FROM statements s WHERE s.kind = 'developer' \
             AND NOT EXISTS (SELECT 1 FROM payouts p WHERE p.statement_id = s.id) \
             ORDER BY s.finalized_at, s.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Claim the payout of developer statement `c.statement_id`, in one
    /// transaction: what the developer's payable account is owed now,
    /// floored to the cent, is moved to the provider in the ledger and the
    /// payout is `pending`; with less than a cent owed or no payout
    /// account it is `skipped` (the balance waits for the next one). None
    /// when the statement has a payout already (another host claimed it).
    pub async fn claim_payout(&self, c: &PayoutClaim<'_>) -> Result<Option<PayoutRow>, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let claimed = sqlx::query(
            "INSERT INTO payouts (id, developer, statement_id, amount_cents, destination, \
             provider, provider_ref, state, failure, created_at, updated_at) \
             VALUES ($1, $2, $3, 0, $4, $5, NULL, 'skipped', NULL, $6, $6) \
             ON CONFLICT (statement_id) DO NOTHING",
        )
        .bind(c.id)
        .bind(c.developer)
        .bind(c.statement_id)
        .bind(c.destination)
        .bind(c.provider)
        .bind(c.now)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let account = developer_account(Some(c.developer));
        let balance = super::ledger::balance_in(&mut tx, &account).await?;
        // A payable account is credited (negative) with what is owed.
        let owed_cents = (-balance).max(0) / 10;
        let (state, amount, failure) = match (owed_cents, c.destination) {
            (0, _) => ("skipped", 0, Some("less than a cent is owed")),
            (_, None) => ("skipped", 0, Some("no payout account: the balance waits")),
            (owed, Some(_)) => ("pending", owed, None),
        };
        let sql = format!(
            "UPDATE payouts SET state = $1, amount_cents = $2, failure = $3 WHERE id = $4 \
             RETURNING {PAYOUT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(state)
            .bind(amount)
            .bind(failure)
            .bind(c.id)
            .fetch_one(&mut *tx)
            .await?;
        if amount > 0 {
            let entries = [
                (account, "payout", amount * 10),
                (provider_account(c.provider), "payout", -amount * 10),
            ];
            super::ledger::post(&mut tx, c.id, c.statement_id, &entries, c.now).await?;
        }
        tx.commit().await?;
        payout(&row).map(Some)
    }

    /// Payouts through `provider` waiting for the provider (claimed, the
    /// transfer not yet confirmed), oldest first.
    pub async fn pending_payouts(
        &self,
        provider: &str,
        limit: i64,
    ) -> Result<Vec<PayoutRow>, StoreError> {
        let sql = format!(
            "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE state = 'pending' AND provider = $1 \
             ORDER BY created_at, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(provider)
            .bind(limit)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(payout).collect()
    }

    /// Pending payout `id` was sent as the provider's transfer
    /// `provider_ref`.
    pub async fn payout_sent(
        &self,
        id: &str,
        provider_ref: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE payouts SET state = 'paid', provider_ref = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'pending'",
        )
        .bind(provider_ref)
        .bind(now)
        .bind(id)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The provider refused pending payout `id` for `reason`: in one
    /// transaction it fails and the ledger moves its amount back to the
    /// developer's payable (paid with a later payout).
    pub async fn payout_failed(
        &self,
        id: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE payouts SET state = 'failed', failure = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'pending' RETURNING {PAYOUT_COLUMNS}"
        );
        let update = sqlx::query(&sql).bind(reason).bind(now).bind(id);
        let failed = super::ledger::transition(
            self.store.pool(),
            update,
            payout,
            |failed: &PayoutRow| {
                let amount = failed.amount_cents * 10;
                let developer = developer_account(Some(&failed.developer));
                let entries = vec![
                    (developer, "payout_failed", -amount),
                    (provider_account(&failed.provider), "payout_failed", amount),
                ];
                (format!("{id}.failed"), id.to_string(), entries)
            },
            now,
        )
        .await?;
        Ok(failed.is_some())
    }

    /// `developer`'s payouts, newest first (at most 200).
    pub async fn payouts_of(&self, developer: &str) -> Result<Vec<PayoutRow>, StoreError> {
        let sql = format!(
            "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE developer = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 200"
        );
        let rows = sqlx::query(&sql)
            .bind(developer)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(payout).collect()
    }
}
