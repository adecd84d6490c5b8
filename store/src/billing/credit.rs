//! Prepaid credit: bought by a user through the payment provider (a
//! credit purchase, from pending to paid), kept in the ledger as the
//! user's credit account (`user:<id>:credit`, a negative balance being
//! what the platform holds for them), and drawn down by their statements
//! before anything is invoiced.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::purchases::{PurchaseState, PurchaseTable, provider_account};
use super::{Billing, user_account};
use crate::StoreError;

/// The ledger account of a user's prepaid credit.
pub fn credit_account(owner: &str) -> String {
    format!("user:{owner}:credit")
}

/// A purchase of prepaid credit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditPurchaseRow {
    /// Its id.
    pub id: String,
    /// The buyer.
    pub account_id: String,
    /// The credit bought (cents).
    pub amount_cents: i64,
    /// The payment provider.
    pub provider: String,
    /// The provider's reference, once made.
    pub provider_ref: Option<String>,
    /// Where it is (`pending`, `paid`).
    pub state: PurchaseState,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it last moved (Unix ms).
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, account_id, amount_cents, provider, provider_ref, state, created_at, updated_at";

/// The `credit_purchases` table, for the queries it shares with
/// `purchases`.
const CREDIT_PURCHASES: PurchaseTable<CreditPurchaseRow> = PurchaseTable {
    name: "credit_purchases",
    columns: COLUMNS,
    decode,
};

fn decode(row: &AnyRow) -> Result<CreditPurchaseRow, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(CreditPurchaseRow {
        id: row.try_get("id")?,
        account_id: row.try_get("account_id")?,
        amount_cents: row.try_get("amount_cents")?,
        provider: row.try_get("provider")?,
        provider_ref: row.try_get("provider_ref")?,
        state: PurchaseState::decode(&state)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

/// `owner`'s prepaid credit left (mills), in the caller's transaction.
pub(super) async fn balance_in(
    conn: &mut sqlx::AnyConnection,
    owner: &str,
) -> Result<i64, StoreError> {
    Ok(-super::ledger::balance_in(conn, &credit_account(owner)).await?)
}

/// Draw `mills` of `owner`'s credit down for statement `statement_id`:
/// the credit account debited, the receivable credited.
pub(super) async fn draw_down(
    conn: &mut sqlx::AnyConnection,
    owner: &str,
    statement_id: &str,
    mills: i64,
    now: i64,
) -> Result<(), StoreError> {
    let entries = [
        (credit_account(owner), "credit_applied", mills),
        (user_account(owner), "credit_applied", -mills),
    ];
    super::ledger::post(
        conn,
        &format!("{statement_id}.credit"),
        statement_id,
        &entries,
        now,
    )
    .await
}

impl Billing<'_> {
    /// Record a pending purchase of `amount_cents` of credit by `account_id`.
    pub async fn create_credit_purchase(
        &self,
        id: &str,
        account_id: &str,
        amount_cents: i64,
        provider: &str,
        now: i64,
    ) -> Result<CreditPurchaseRow, StoreError> {
        let sql = format!(
            "INSERT INTO credit_purchases ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, NULL, 'pending', $5, $5) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(account_id)
            .bind(amount_cents)
            .bind(provider)
            .bind(now)
            .fetch_one(self.store.pool())
            .await?;
        decode(&row)
    }

    /// Pending credit purchase `id` is paid (the provider's reference
    /// `provider_ref`): in one transaction it becomes paid and the credit
    /// is posted (the provider's account debited, the user's credit
    /// credited). False when it was not pending.
    pub async fn mark_credit_paid(
        &self,
        id: &str,
        provider_ref: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE credit_purchases SET state = 'paid', provider_ref = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'pending' RETURNING {COLUMNS}"
        );
        let update = sqlx::query(&sql).bind(provider_ref).bind(now).bind(id);
        let paid = super::ledger::transition(
            self.store.pool(),
            update,
            decode,
            |p: &CreditPurchaseRow| {
                let amount = p.amount_cents * 10;
                let entries = vec![
                    (provider_account(&p.provider), "credit_purchase", amount),
                    (credit_account(&p.account_id), "credit_purchase", -amount),
                ];
                (format!("{id}.credit"), id.to_string(), entries)
            },
            now,
        )
        .await?;
        Ok(paid.is_some())
    }

    /// Pending credit purchase `id`'s checkout expired unpaid (false when
    /// it was not pending).
    pub async fn mark_credit_expired(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        CREDIT_PURCHASES.expire(self.store, id, now).await
    }

    /// Note the provider's reference (its checkout) of pending credit
    /// purchase `id`.
    pub async fn set_credit_provider_ref(
        &self,
        id: &str,
        provider_ref: &str,
    ) -> Result<(), StoreError> {
        CREDIT_PURCHASES
            .set_provider_ref(self.store, id, provider_ref)
            .await
    }

    /// `owner`'s prepaid credit left (mills).
    pub async fn credit_balance(&self, owner: &str) -> Result<i64, StoreError> {
        let mut conn = self.store.pool().acquire().await?;
        balance_in(&mut conn, owner).await
    }

    /// `account_id`'s credit purchases, newest first.
    pub async fn credit_purchases_of(
        &self,
        account_id: &str,
    ) -> Result<Vec<CreditPurchaseRow>, StoreError> {
        CREDIT_PURCHASES.of_account(self.store, account_id).await
    }

    /// Credit purchase `id`, whoever made it: what a purchase just made
    /// stands at, without reading the buyer's others.
    pub async fn credit_purchase_by_id(
        &self,
        id: &str,
    ) -> Result<Option<CreditPurchaseRow>, StoreError> {
        CREDIT_PURCHASES.by_id(self.store, id).await
    }
}
