//! Upfront purchases of paid integrations: made pending when the payment
//! provider's checkout starts, paid (the entitlement granted, the sale and
//! the provider's fee posted to the ledger) and refunded (the entitlement
//! removed, the sale reversed), each move one transaction that applies
//! once.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::{Billing, developer_account};
use crate::{Store, StoreError};

stored_enum! {
    /// Where a purchase is.
    pub enum PurchaseState("purchase state") {
        /// The checkout started; not paid yet.
        Pending = "pending",
        /// Paid: the buyer may install the integration.
        Paid = "paid",
        /// Refunded: the entitlement is gone.
        Refunded = "refunded",
        /// The checkout expired unpaid: nothing was bought.
        Expired = "expired",
    }
}

/// A stored purchase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurchaseRow {
    /// Its id.
    pub id: String,
    /// The buyer.
    pub account_id: String,
    /// The integration bought.
    pub integration: String,
    /// The account that owned its name when bought (`None`: the platform's).
    pub developer: Option<String>,
    /// The price paid (cents).
    pub price_cents: i64,
    /// The fee shown before paying (cents).
    pub fee_estimate_cents: i64,
    /// The fee the payment provider reported (cents), once paid.
    pub fee_cents: Option<i64>,
    /// The payment provider (`local`, `stripe`).
    pub provider: String,
    /// The provider's reference (its checkout session), once made.
    pub provider_ref: Option<String>,
    /// Where it is.
    pub state: PurchaseState,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it last moved (Unix ms).
    pub updated_at: i64,
}

/// A purchase to record as pending.
#[derive(Debug, Clone)]
pub struct NewPurchase<'a> {
    /// Its id.
    pub id: &'a str,
    /// The buyer.
    pub account_id: &'a str,
    /// The integration.
    pub integration: &'a str,
    /// The price (cents).
    pub price_cents: i64,
    /// The fee shown before paying (cents).
    pub fee_estimate_cents: i64,
    /// The payment provider.
    pub provider: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

const COLUMNS: &str = "id, account_id, integration, developer, price_cents, fee_estimate_cents, \
     fee_cents, provider, provider_ref, state, created_at, updated_at";

fn decode(row: &AnyRow) -> Result<PurchaseRow, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(PurchaseRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        integration: row.try_get("integration")?,
        developer: row.try_get("developer")?,
        price_cents: row.try_get("price_cents")?,
        fee_estimate_cents: row.try_get("fee_estimate_cents")?,
        fee_cents: row.try_get("fee_cents")?,
        provider: row.try_get("provider")?,
        provider_ref: row.try_get("provider_ref")?,
        state: PurchaseState::decode(&state)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// The `purchases` table, for the queries it shares with
/// `credit_purchases`.
const PURCHASES: PurchaseTable<PurchaseRow> = PurchaseTable {
    name: "purchases",
    columns: COLUMNS,
    decode,
};

/// A table of purchases (`purchases`, `credit_purchases`): rows with an
/// id, a buyer (`account_id`), a payment provider and its reference, a
/// state that starts `pending`, and when they were made. The queries the
/// tables share, each reading rows of `T`.
pub(super) struct PurchaseTable<T> {
    /// The table's name.
    pub(super) name: &'static str,
    /// The columns `decode` reads.
    pub(super) columns: &'static str,
    /// One row of it.
    pub(super) decode: fn(&AnyRow) -> Result<T, StoreError>,
}

impl<T> PurchaseTable<T> {
    /// Note the provider's reference (its checkout) of pending purchase `id`.
    pub(super) async fn set_provider_ref(
        &self,
        store: &Store,
        id: &str,
        provider_ref: &str,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE {} SET provider_ref = $1 WHERE id = $2 AND state = 'pending'",
            self.name
        );
        sqlx::query(&sql)
            .bind(provider_ref)
            .bind(id)
            .execute(store.pool())
            .await?;
        Ok(())
    }

    /// Pending purchase `id`'s checkout expired unpaid: it is `expired`
    /// (false when it was not pending: paid meanwhile, or expired already).
    pub(super) async fn expire(
        &self,
        store: &Store,
        id: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE {} SET state = 'expired', updated_at = $1 WHERE id = $2 AND state = 'pending'",
            self.name
        );
        let done = sqlx::query(&sql)
            .bind(now)
            .bind(id)
            .execute(store.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Purchase `id`, whoever made it.
    pub(super) async fn by_id(&self, store: &Store, id: &str) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT {} FROM {} WHERE id = $1", self.columns, self.name);
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(store.pool())
            .await?;
        row.as_ref().map(self.decode).transpose()
    }

    /// The purchase `provider` knows as `provider_ref`.
    pub(super) async fn by_ref(
        &self,
        store: &Store,
        provider: &str,
        provider_ref: &str,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {} WHERE provider = $1 AND provider_ref = $2",
            self.columns, self.name
        );
        let row = sqlx::query(&sql)
            .bind(provider)
            .bind(provider_ref)
            .fetch_optional(store.pool())
            .await?;
        row.as_ref().map(self.decode).transpose()
    }

    /// `account_id`'s purchases, newest first (at most 200).
    pub(super) async fn of_account(
        &self,
        store: &Store,
        account_id: &str,
    ) -> Result<Vec<T>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {} WHERE account_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT 200",
            self.columns, self.name
        );
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .fetch_all(store.pool())
            .await?;
        rows.iter().map(self.decode).collect()
    }
}

/// The ledger account of money held at payment provider `provider`.
pub fn provider_account(provider: &str) -> String {
    format!("payments:{provider}")
}

impl Billing<'_> {
    /// Record purchase `p` as pending, its developer the name's owner now.
    pub async fn create_purchase(&self, p: &NewPurchase<'_>) -> Result<PurchaseRow, StoreError> {
        let sql = format!(
            "INSERT INTO purchases ({COLUMNS}) \
             SELECT $1, $2, $3, (SELECT o.owner FROM integration_owners o \
             WHERE o.integration = $3), $4, $5, NULL, $6, NULL, 'pending', $7, $7 \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(p.id)
            .bind(p.account_id)
            .bind(p.integration)
            .bind(p.price_cents)
            .bind(p.fee_estimate_cents)
            .bind(p.provider)
            .bind(p.now)
            .fetch_one(self.store.pool())
            .await?;
        decode(&row)
    }

    /// Note the provider's reference (its checkout) of pending purchase `id`.
    pub async fn set_provider_ref(&self, id: &str, provider_ref: &str) -> Result<(), StoreError> {
        PURCHASES
            .set_provider_ref(self.store, id, provider_ref)
            .await
    }

    /// Pending purchase `id`'s checkout expired unpaid (false when it was
    /// not pending).
    pub async fn mark_expired(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        PURCHASES.expire(self.store, id, now).await
    }

    /// Purchase `id`, whoever made it (for admins and the provider's
    /// notifications).
    pub async fn purchase_by_id(&self, id: &str) -> Result<Option<PurchaseRow>, StoreError> {
        PURCHASES.by_id(self.store, id).await
    }

    /// The purchase `provider` knows as `provider_ref`.
    pub async fn purchase_by_ref(
        &self,
        provider: &str,
        provider_ref: &str,
    ) -> Result<Option<PurchaseRow>, StoreError> {
        PURCHASES.by_ref(self.store, provider, provider_ref).await
    }

    /// `account_id`'s purchases, newest first.
    pub async fn purchases_of(&self, account_id: &str) -> Result<Vec<PurchaseRow>, StoreError> {
        PURCHASES.of_account(self.store, account_id).await
    }

    /// Pending purchase `id` is paid, with the provider's fee `fee_cents`:
    /// in one transaction it becomes paid, its buyer is entitled to the
    /// integration (`purchase:<id>`), and the ledger gets the sale (the
    /// provider's account debited, the developer's payable credited the
    /// price) and the fee (the developer's payable debited). False when it
    /// was not pending (paid already: a repeated notification).
    pub async fn mark_paid(&self, id: &str, fee_cents: i64, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let sql = format!(
            "UPDATE purchases SET state = 'paid', fee_cents = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'pending' AND $1 >= 0 AND $1 <= price_cents \
             RETURNING {COLUMNS}"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(fee_cents)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        let p = decode(&row)?;
        sqlx::query(
            "INSERT INTO entitlements (account_id, integration, granted_at, source) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, integration) DO UPDATE \
             SET granted_at = excluded.granted_at, source = excluded.source",
        )
        .bind(&p.account_id)
        .bind(&p.integration)
        .bind(now)
        .bind(format!("purchase:{id}"))
        .execute(&mut *tx)
        .await?;
        let (held, developer) = (
            provider_account(&p.provider),
            developer_account(p.developer.as_deref()),
        );
        let price = p.price_cents * 10;
        let sale = [
            (held.clone(), "upfront_sale", price),
            (developer.clone(), "upfront_sale", -price),
        ];
        super::ledger::post(&mut tx, &format!("{id}.sale"), id, &sale, now).await?;
        if fee_cents > 0 {
            let fee = [
                (developer, "payment_fee", fee_cents * 10),
                (held, "payment_fee", -fee_cents * 10),
            ];
            super::ledger::post(&mut tx, &format!("{id}.fee"), id, &fee, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Paid purchase `id` is refunded: in one transaction it becomes
    /// refunded, the entitlement it granted is removed, and the sale is
    /// reversed in the ledger (the provider keeps its fee, so the fee stays
    /// booked). False when it was not paid.
    pub async fn mark_refunded(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let sql = format!(
            "UPDATE purchases SET state = 'refunded', updated_at = $1 \
             WHERE id = $2 AND state = 'paid' RETURNING {COLUMNS}"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        let p = decode(&row)?;
        sqlx::query(
            "DELETE FROM entitlements WHERE account_id = $1 AND integration = $2 AND source = $3",
        )
        .bind(&p.account_id)
        .bind(&p.integration)
        .bind(format!("purchase:{id}"))
        .execute(&mut *tx)
        .await?;
        let price = p.price_cents * 10;
        let refund = [
            (developer_account(p.developer.as_deref()), "refund", price),
            (provider_account(&p.provider), "refund", -price),
        ];
        super::ledger::post(&mut tx, &format!("{id}.refund"), id, &refund, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}
