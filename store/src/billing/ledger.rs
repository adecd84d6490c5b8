//! The double-entry ledger: append-only entries grouped in transactions
//! that each sum to zero, their balances per account, and the
//! reconciliation of the ledger against the usage records it posted.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::Billing;
use crate::StoreError;

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    /// `<txn>.<seq>`.
    pub id: String,
    /// The transaction it belongs to.
    pub txn: String,
    /// Its place in the transaction.
    pub seq: i64,
    /// The account (`user:<id>:receivable`, `developer:<id>:payable`,
    /// `platform:revenue`, ...).
    pub account: String,
    /// What it records (`user_charge`, `developer_share`, ...).
    pub kind: String,
    /// Debit when positive, credit when negative (mills).
    pub amount_mills: i64,
    /// The statement (or purchase, payout, refund) it belongs to.
    pub reference: String,
    /// When it was posted (Unix ms).
    pub posted_at: i64,
}

/// One account's balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    /// The account.
    pub account: String,
    /// The sum of its entries (mills).
    pub balance_mills: i64,
}

/// Whether the ledger adds up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reconciliation {
    /// Entries in the ledger.
    pub entries: i64,
    /// The sum of every entry (0 when every transaction balances).
    pub sum_mills: i64,
    /// Transactions whose entries do not sum to zero (none, normally).
    pub unbalanced: Vec<String>,
    /// Usage charges posted (mills).
    pub charges_mills: i64,
    /// Developer shares posted (mills, as a positive amount).
    pub developer_shares_mills: i64,
    /// Platform shares posted (mills, as a positive amount).
    pub platform_shares_mills: i64,
    /// What the usage records on finalized user statements charged.
    pub usage_charged_mills: i64,
    /// Their developer shares.
    pub usage_developer_mills: i64,
    /// Their platform shares.
    pub usage_platform_mills: i64,
}

impl Reconciliation {
    /// Every transaction balances and the ledger's usage postings equal
    /// the usage records they came from, to the mill.
    pub fn holds(&self) -> bool {
        self.sum_mills == 0
            && self.unbalanced.is_empty()
            && self.charges_mills == self.developer_shares_mills + self.platform_shares_mills
            && self.charges_mills == self.usage_charged_mills
            && self.developer_shares_mills == self.usage_developer_mills
            && self.platform_shares_mills == self.usage_platform_mills
    }
}

const COLUMNS: &str = "id, txn, seq, account, kind, amount_mills, reference, posted_at";

fn decode(row: &AnyRow) -> Result<LedgerEntry, StoreError> {
    Ok(LedgerEntry {
        id: row.try_get("id")?,
        txn: row.try_get("txn")?,
        seq: row.try_get("seq")?,
        account: row.try_get("account")?,
        kind: row.try_get("kind")?,
        amount_mills: row.try_get("amount_mills")?,
        reference: row.try_get("reference")?,
        posted_at: row.try_get("posted_at")?,
    })
}

/// Post transaction `txn`: `entries` (account, kind, mills), which must
/// sum to zero, in the caller's transaction.
pub(super) async fn post(
    conn: &mut sqlx::AnyConnection,
    txn: &str,
    reference: &str,
    entries: &[(String, &str, i64)],
    now: i64,
) -> Result<(), StoreError> {
    let sum: i64 = entries.iter().map(|(_, _, amount)| amount).sum();
    if sum != 0 {
        return Err(StoreError::Conflict(format!(
            "ledger transaction {txn} does not balance: its entries sum to {sum} mills"
        )));
    }
    for (seq, (account, kind, amount)) in entries.iter().enumerate() {
        sqlx::query(&format!(
            "INSERT INTO ledger_entries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(format!("{txn}.{seq}"))
        .bind(txn)
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .bind(account)
        .bind(*kind)
        .bind(*amount)
        .bind(reference)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The balance of ledger account `account` (mills: debits positive,
/// credits negative), in the caller's transaction.
pub(super) async fn balance_in(
    conn: &mut sqlx::AnyConnection,
    account: &str,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_mills), 0) AS BIGINT) FROM ledger_entries \
         WHERE account = $1",
    )
    .bind(account)
    .fetch_one(conn)
    .await?)
}

/// What a state change posts: the ledger transaction's id, its reference
/// and its entries (account, kind, mills).
pub(super) type Posting = (String, String, Vec<(String, &'static str, i64)>);

/// Move one row to a new state and post what the move owes, in one
/// transaction: `update` is an `UPDATE ... RETURNING` of at most one row
/// (guarded by the state it leaves), `decode` reads the row and
/// `posting` says what to post for it. `None` when no row moved (moved
/// already: a repeated notification or a second host).
pub(super) async fn transition<'q, T>(
    pool: &sqlx::AnyPool,
    update: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    decode: fn(&AnyRow) -> Result<T, StoreError>,
    posting: impl FnOnce(&T) -> Posting,
    now: i64,
) -> Result<Option<T>, StoreError> {
    let mut tx = pool.begin().await?;
    let Some(row) = update.fetch_optional(&mut *tx).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let moved = decode(&row)?;
    let (txn, reference, entries) = posting(&moved);
    post(&mut tx, &txn, &reference, &entries, now).await?;
    tx.commit().await?;
    Ok(Some(moved))
}

impl Billing<'_> {
    /// The balance of ledger account `account` (mills: debits positive,
    /// credits negative; 0 without entries).
    pub async fn balance(&self, account: &str) -> Result<i64, StoreError> {
        let mut conn = self.store.pool().acquire().await?;
        balance_in(&mut conn, account).await
    }

    /// Ledger entries in the order they were posted, after the entry
    /// (`posted_at`, `id`) when given, at most `limit`.
    pub async fn ledger(
        &self,
        after: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let (at, id) = after.unwrap_or((i64::MIN, ""));
        let sql = format!(
            "SELECT {COLUMNS} FROM ledger_entries \
             WHERE posted_at > $1 OR (posted_at = $1 AND id > $2) \
             ORDER BY posted_at, id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(at)
            .bind(id)
            .bind(limit)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(decode).collect()
    }

    /// Every account's balance, by account.
    pub async fn balances(&self) -> Result<Vec<Balance>, StoreError> {
        let rows = sqlx::query(
            "SELECT account, CAST(SUM(amount_mills) AS BIGINT) AS balance FROM ledger_entries \
             GROUP BY account ORDER BY account",
        )
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Balance {
                    account: row.try_get("account")?,
                    balance_mills: row.try_get("balance")?,
                })
            })
            .collect()
    }

    /// The ledger reconciled: its sum, the transactions that do not
    /// balance, and its usage postings against the usage records on
    /// finalized user statements.
    pub async fn reconcile(&self) -> Result<Reconciliation, StoreError> {
        let pool = self.store.pool();
        let totals = sqlx::query(
            "SELECT COUNT(*) AS entries, CAST(COALESCE(SUM(amount_mills), 0) AS BIGINT) AS sum_mills, \
             CAST(COALESCE(SUM(CASE WHEN kind = 'user_charge' THEN amount_mills ELSE 0 END), 0) AS BIGINT) \
             AS charges, \
             CAST(COALESCE(SUM(CASE WHEN kind = 'developer_share' THEN -amount_mills ELSE 0 END), 0) AS BIGINT) \
             AS developer_shares, \
             CAST(COALESCE(SUM(CASE WHEN kind = 'platform_share' THEN -amount_mills ELSE 0 END), 0) AS BIGINT) \
             AS platform_shares FROM ledger_entries",
        )
        .fetch_one(pool)
        .await?;
        let unbalanced = sqlx::query_scalar(
            "SELECT txn FROM ledger_entries GROUP BY txn HAVING SUM(amount_mills) <> 0 \
             ORDER BY txn",
        )
        .fetch_all(pool)
        .await?;
        let usage = sqlx::query(
            "SELECT CAST(COALESCE(SUM(charge_mills), 0) AS BIGINT) AS charged, \
             CAST(COALESCE(SUM(developer_mills), 0) AS BIGINT) AS developer, \
             CAST(COALESCE(SUM(platform_mills), 0) AS BIGINT) AS platform \
             FROM usage_records WHERE statement_id IS NOT NULL",
        )
        .fetch_one(pool)
        .await?;
        Ok(Reconciliation {
            entries: totals.try_get("entries")?,
            sum_mills: totals.try_get("sum_mills")?,
            unbalanced,
            charges_mills: totals.try_get("charges")?,
            developer_shares_mills: totals.try_get("developer_shares")?,
            platform_shares_mills: totals.try_get("platform_shares")?,
            usage_charged_mills: usage.try_get("charged")?,
            usage_developer_mills: usage.try_get("developer")?,
            usage_platform_mills: usage.try_get("platform")?,
        })
    }
}
