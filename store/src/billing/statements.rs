//! Monthly statements: finalizing a user's (the usage not yet on a
//! statement charged, the ledger posted, in one transaction) and a
//! developer's (the shares of usage charged to users and not yet credited,
//! the payout), and reading them back. A finalized statement is written
//! once and never updated; usage that arrives after its month's statement
//! was finalized is on the next one, as an adjustment.

use serde::{Deserialize, Serialize};
use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::usage::{grouped_sql, per_integration};
use super::{Billing, PLATFORM_REVENUE, developer_account, user_account};
use crate::StoreError;

stored_enum! {
    /// Whose statement it is.
    pub enum StatementKind("statement kind") {
        /// A user's: what their usage cost.
        User = "user",
        /// A developer's: their share of usage charged, and the payout.
        Developer = "developer",
    }
}

/// How a statement's mills become cents: `(mills, carried_in)` to
/// `(cents, carried_out)`, the engine's rule
/// (`workway_engine::billing::tariff::to_cents_with_carry`).
pub type Rounding = fn(i64, i64) -> (i64, i64);

/// What a statement counts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatementSummary {
    /// Billable executions that were free.
    pub free: i64,
    /// Light executions charged.
    pub light: i64,
    /// Heavy executions charged.
    pub heavy: i64,
    /// Failed executions (never charged).
    pub failed: i64,
    /// Executions of earlier months on this statement (late usage).
    pub late: i64,
}

/// One line of a statement: one integration's executions of one month.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StatementLine {
    /// The integration.
    pub integration: String,
    /// The month the executions started in (`YYYY-MM`); earlier than the
    /// statement's for late usage.
    pub month: String,
    /// Free executions.
    pub free: i64,
    /// Light executions charged.
    pub light: i64,
    /// Heavy executions charged.
    pub heavy: i64,
    /// Failed executions.
    pub failed: i64,
    /// User statement: what they cost; developer statement: the share.
    pub amount_mills: i64,
}

/// A finalized statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRow {
    /// Its id.
    pub id: String,
    /// The user or developer account.
    pub account_id: String,
    /// Whose it is.
    pub kind: StatementKind,
    /// `YYYY-MM`.
    pub month: String,
    /// The month's own amount (mills).
    pub total_mills: i64,
    /// Earlier months' usage that arrived late (mills).
    pub adjustment_mills: i64,
    /// The previous statement's sub-cent remainder (mills).
    pub carried_in_mills: i64,
    /// Prepaid credit drawn down (mills; user statements).
    pub credit_mills: i64,
    /// Invoiced (user) or paid out (developer), floored to the cent.
    pub amount_cents: i64,
    /// The remainder carried to the next statement (mills).
    pub carried_out_mills: i64,
    /// What it counts.
    pub summary: StatementSummary,
    /// Per integration and month.
    pub lines: Vec<StatementLine>,
    /// When it was finalized (Unix ms).
    pub finalized_at: i64,
}

const COLUMNS: &str = "id, account_id, kind, month, total_mills, adjustment_mills, \
     carried_in_mills, credit_mills, amount_cents, carried_out_mills, summary, lines, finalized_at";

fn decode(row: &AnyRow) -> Result<StatementRow, StoreError> {
    let kind: String = row.try_get("kind")?;
    let summary: String = row.try_get("summary")?;
    let lines: String = row.try_get("lines")?;
    let id: String = row.try_get("id")?;
    Ok(StatementRow {
        summary: serde_json::from_str(&summary).map_err(|_| StoreError::Damaged {
            what: "statement summary",
            value: summary.clone(),
        })?,
        lines: serde_json::from_str(&lines).map_err(|_| StoreError::Damaged {
            what: "statement lines",
            value: lines.clone(),
        })?,
        account_id: row.try_get("account_id")?,
        kind: StatementKind::decode(&kind)?,
        month: row.try_get("month")?,
        total_mills: row.try_get("total_mills")?,
        adjustment_mills: row.try_get("adjustment_mills")?,
        carried_in_mills: row.try_get("carried_in_mills")?,
        credit_mills: row.try_get("credit_mills")?,
        amount_cents: row.try_get("amount_cents")?,
        carried_out_mills: row.try_get("carried_out_mills")?,
        finalized_at: row.try_get("finalized_at")?,
        id,
    })
}

/// A statement's lines, its counts, the month's own amount and the late
/// usage's amount (mills).
pub type Totals = (Vec<StatementLine>, StatementSummary, i64, i64);

/// The lines and summary of the usage rows grouped by (month, integration,
/// outcome, class) in `rows`, for a statement of `month`; the amount of a
/// line is the `amount` column. Also the month's own total and the late
/// total.
fn lines_of(rows: &[AnyRow], month: &str) -> Result<Totals, StoreError> {
    let mut months: Vec<String> = Vec::new();
    for row in rows {
        let m: String = row.try_get("month")?;
        if !months.contains(&m) {
            months.push(m);
        }
    }
    months.sort();
    let mut lines = Vec::new();
    let mut summary = StatementSummary::default();
    let (mut own, mut late) = (0, 0);
    for m in months {
        let of_month = rows
            .iter()
            .filter(|r| r.try_get::<String, _>("month").is_ok_and(|x| x == m));
        for usage in per_integration(of_month)? {
            let count = usage.free + usage.light + usage.heavy + usage.failed;
            summary.free += usage.free;
            summary.light += usage.light;
            summary.heavy += usage.heavy;
            summary.failed += usage.failed;
            if m.as_str() < month {
                summary.late += count;
                late += usage.charge_mills;
            } else {
                own += usage.charge_mills;
            }
            lines.push(StatementLine {
                integration: usage.integration,
                month: m.clone(),
                free: usage.free,
                light: usage.light,
                heavy: usage.heavy,
                failed: usage.failed,
                amount_mills: usage.charge_mills,
            });
        }
    }
    Ok((lines, summary, own, late))
}

/// The grouped rows of `usage_records` that `filter` selects, with
/// `amount` the column a statement adds up.
fn statement_rows_sql(filter: &str, amount: &str) -> String {
    grouped_sql(filter, amount, "month, ")
}

impl Billing<'_> {
    /// The users with usage of `month` or earlier on no statement, and no
    /// statement of `month` yet: whose statement of `month` is due.
    pub async fn users_to_finalize(&self, month: &str) -> Result<Vec<String>, StoreError> {
        let owners = sqlx::query_scalar(
            "SELECT DISTINCT u.owner FROM usage_records u \
             WHERE u.statement_id IS NULL AND u.month <= $1 \
             AND NOT EXISTS (SELECT 1 FROM statements s WHERE s.account_id = u.owner \
             AND s.kind = 'user' AND s.month = $1) ORDER BY u.owner",
        )
        .bind(month)
        .fetch_all(self.store.pool())
        .await?;
        Ok(owners)
    }

    /// Finalize `owner`'s statement of `month` as `id`, in one
    /// transaction: every usage record of `month` or earlier that is on no
    /// statement is put on it, its totals written once, and its charges
    /// posted to the ledger (the user's receivable debited, each
    /// developer's payable and the platform's revenue credited, summing to
    /// zero). `None` when `owner` has a statement of `month` already
    /// (another host finalized it) or nothing to put on one.
    pub async fn finalize_user(
        &self,
        owner: &str,
        month: &str,
        id: &str,
        now: i64,
        round: Rounding,
    ) -> Result<Option<StatementRow>, StoreError> {
        let claim = Claim {
            kind: StatementKind::User,
            account_id: owner,
            month,
            id,
            now,
        };
        let Some((mut tx, row)) = claim.begin(self.store.pool(), round).await? else {
            return Ok(None);
        };
        post_charges(&mut tx, owner, id, now).await?;
        if row.credit_mills > 0 {
            super::credit::draw_down(&mut tx, owner, id, row.credit_mills, now).await?;
        }
        tx.commit().await?;
        Ok(Some(row))
    }

    /// The developers with shares charged to users on statements of
    /// `month` or earlier and not yet credited, and no statement of
    /// `month` yet.
    pub async fn developers_to_finalize(&self, month: &str) -> Result<Vec<String>, StoreError> {
        let developers = sqlx::query_scalar(
            "SELECT DISTINCT u.developer FROM usage_records u \
             JOIN statements s ON s.id = u.statement_id \
             WHERE u.developer IS NOT NULL AND u.developer_statement_id IS NULL \
             AND s.month <= $1 \
             AND NOT EXISTS (SELECT 1 FROM statements d WHERE d.account_id = u.developer \
             AND d.kind = 'developer' AND d.month = $1) ORDER BY u.developer",
        )
        .bind(month)
        .fetch_all(self.store.pool())
        .await?;
        Ok(developers)
    }

    /// Finalize `developer`'s statement of `month` as `id`, in one
    /// transaction: the shares of every usage record of theirs charged to
    /// a user on a statement of `month` or earlier and not yet credited,
    /// and the payout (floored to the cent by `round`, the remainder
    /// carried). `None` when there is a statement of `month` already or
    /// nothing to credit.
    pub async fn finalize_developer(
        &self,
        developer: &str,
        month: &str,
        id: &str,
        now: i64,
        round: Rounding,
    ) -> Result<Option<StatementRow>, StoreError> {
        let claim = Claim {
            kind: StatementKind::Developer,
            account_id: developer,
            month,
            id,
            now,
        };
        let Some((tx, row)) = claim.begin(self.store.pool(), round).await? else {
            return Ok(None);
        };
        tx.commit().await?;
        Ok(Some(row))
    }

    /// `account_id`'s statements of `kind`, newest month first, at most
    /// `limit`, before month `before` when given.
    pub async fn statements(
        &self,
        account_id: &str,
        kind: StatementKind,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StatementRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM statements WHERE account_id = $1 AND kind = $2 \
             AND ($3 IS NULL OR month < $3) ORDER BY month DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(account_id)
            .bind(kind.as_str())
            .bind(before)
            .bind(limit)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(decode).collect()
    }

    /// `account_id`'s statement `id`, if it is theirs.
    pub async fn statement(
        &self,
        account_id: &str,
        id: &str,
    ) -> Result<Option<StatementRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM statements WHERE id = $1 AND account_id = $2");
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(account_id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// What `owner`'s next statement holds so far (the draft): the usage
    /// on no statement yet, as lines of a statement of `month`.
    pub async fn user_draft(&self, owner: &str, month: &str) -> Result<Totals, StoreError> {
        let rows = sqlx::query(&statement_rows_sql(
            "owner = $1 AND statement_id IS NULL",
            "charge_mills",
        ))
        .bind(owner)
        .fetch_all(self.store.pool())
        .await?;
        lines_of(&rows, month)
    }

    /// `developer`'s shares by usage month and integration: those credited
    /// on statements (`credited`) and those not yet (`pending`: charged to
    /// users or still on their drafts).
    pub async fn developer_shares(
        &self,
        developer: &str,
    ) -> Result<(Vec<StatementLine>, Vec<StatementLine>), StoreError> {
        let credited = sqlx::query(&statement_rows_sql(
            "developer = $1 AND developer_statement_id IS NOT NULL",
            "developer_mills",
        ))
        .bind(developer)
        .fetch_all(self.store.pool())
        .await?;
        let pending = sqlx::query(&statement_rows_sql(
            "developer = $1 AND developer_statement_id IS NULL",
            "developer_mills",
        ))
        .bind(developer)
        .fetch_all(self.store.pool())
        .await?;
        Ok((lines_of(&credited, "")?.0, lines_of(&pending, "")?.0))
    }
}

/// Post user statement `id`'s charges to the ledger as one transaction:
/// `owner`'s receivable debited, each developer's payable and the
/// platform's revenue credited, summing to zero (nothing when nothing
/// was charged).
async fn post_charges(
    conn: &mut sqlx::AnyConnection,
    owner: &str,
    id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let shares = sqlx::query(
        "SELECT developer, CAST(COALESCE(SUM(developer_mills), 0) AS BIGINT) AS developer_mills, \
         CAST(COALESCE(SUM(platform_mills), 0) AS BIGINT) AS platform_mills, \
         CAST(COALESCE(SUM(charge_mills), 0) AS BIGINT) AS charge_mills \
         FROM usage_records WHERE statement_id = $1 GROUP BY developer ORDER BY developer",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let mut entries = Vec::new();
    let (mut charged, mut platform) = (0i64, 0i64);
    for share in &shares {
        let developer: Option<String> = share.try_get("developer")?;
        let developer_mills: i64 = share.try_get("developer_mills")?;
        charged += share.try_get::<i64, _>("charge_mills")?;
        platform += share.try_get::<i64, _>("platform_mills")?;
        if developer_mills != 0 {
            entries.push((
                developer_account(developer.as_deref()),
                "developer_share",
                -developer_mills,
            ));
        }
    }
    if charged != 0 {
        entries.insert(0, (user_account(owner), "user_charge", charged));
        if platform != 0 {
            entries.push((PLATFORM_REVENUE.to_string(), "platform_share", -platform));
        }
        super::ledger::post(conn, id, id, &entries, now).await?;
    }
    Ok(())
}

/// A statement to finalize: its usage records are claimed (their
/// `statement_id` or `developer_statement_id` set to `id`), then it is
/// written from them.
struct Claim<'a> {
    kind: StatementKind,
    account_id: &'a str,
    month: &'a str,
    id: &'a str,
    now: i64,
}

impl Claim<'_> {
    /// The statement that claims the usage records of this statement (`$1`
    /// its id, `$2` the account, `$3` the month), unless the account has
    /// one of this kind and month already. A user's: their records of
    /// the month or earlier on no statement. A developer's: those of
    /// theirs charged to a user on a statement of the month or earlier
    /// and not yet credited.
    fn claim_sql(&self) -> &'static str {
        match self.kind {
            StatementKind::User => {
                "UPDATE usage_records SET statement_id = $1 \
                 WHERE owner = $2 AND statement_id IS NULL AND month <= $3 \
                 AND NOT EXISTS (SELECT 1 FROM statements s WHERE s.account_id = $2 \
                 AND s.kind = 'user' AND s.month = $3)"
            }
            StatementKind::Developer => {
                "UPDATE usage_records SET developer_statement_id = $1 \
                 WHERE developer = $2 AND developer_statement_id IS NULL \
                 AND statement_id IN (SELECT s.id FROM statements s \
                 WHERE s.kind = 'user' AND s.month <= $3) \
                 AND NOT EXISTS (SELECT 1 FROM statements d WHERE d.account_id = $2 \
                 AND d.kind = 'developer' AND d.month = $3)"
            }
        }
    }

    /// Begin the statement's transaction: claim its usage records first,
    /// then write it ([`Claim::write`]). The transaction is returned open
    /// with the statement, for the caller to add to and commit; `None`,
    /// rolled back, when there was nothing to claim or the account has a
    /// statement of this kind and month already (another host finalized
    /// it).
    async fn begin(
        &self,
        pool: &sqlx::AnyPool,
        round: Rounding,
    ) -> Result<Option<(sqlx::Transaction<'static, sqlx::Any>, StatementRow)>, StoreError> {
        let mut tx = pool.begin().await?;
        // Claim the records first: on PostgreSQL this locks them, and a
        // record committed after this statement is left for the next.
        let claimed = sqlx::query(self.claim_sql())
            .bind(self.id)
            .bind(self.account_id)
            .bind(self.month)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if claimed == 0 {
            tx.rollback().await?;
            return Ok(None);
        }
        let Some(row) = self.write(&mut tx, round).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        Ok(Some((tx, row)))
    }

    /// Sum the claimed records into lines (a user statement adds up the
    /// charges, a developer statement the shares), round with the carried
    /// remainder, and write the statement once: `None` when the account
    /// has one of this kind and month already (another host wrote it).
    async fn write(
        &self,
        conn: &mut sqlx::AnyConnection,
        round: Rounding,
    ) -> Result<Option<StatementRow>, StoreError> {
        let (claimed_by, amount) = match self.kind {
            StatementKind::User => ("statement_id = $1", "charge_mills"),
            StatementKind::Developer => ("developer_statement_id = $1", "developer_mills"),
        };
        let rows = sqlx::query(&statement_rows_sql(claimed_by, amount))
            .bind(self.id)
            .fetch_all(&mut *conn)
            .await?;
        let (lines, summary, own, late) = lines_of(&rows, self.month)?;
        let carried_in = carried_out_before(conn, self.account_id, self.kind, self.month).await?;
        // A user's prepaid credit pays their charges before anything is
        // invoiced.
        let credit = match self.kind {
            StatementKind::User => {
                let available = super::credit::balance_in(conn, self.account_id).await?;
                available.min(own + late).max(0)
            }
            StatementKind::Developer => 0,
        };
        let (amount_cents, carried_out) = round(own + late - credit, carried_in);
        let row = StatementRow {
            id: self.id.to_string(),
            account_id: self.account_id.to_string(),
            kind: self.kind,
            month: self.month.to_string(),
            total_mills: own,
            adjustment_mills: late,
            carried_in_mills: carried_in,
            credit_mills: credit,
            amount_cents,
            carried_out_mills: carried_out,
            summary,
            lines,
            finalized_at: self.now,
        };
        Ok(insert_statement(conn, &row).await?.then_some(row))
    }
}

/// The remainder `account_id`'s latest statement of `kind` before `month`
/// carried out (0 for the first).
async fn carried_out_before(
    conn: &mut sqlx::AnyConnection,
    account_id: &str,
    kind: StatementKind,
    month: &str,
) -> Result<i64, StoreError> {
    let carried: Option<i64> = sqlx::query_scalar(
        "SELECT carried_out_mills FROM statements WHERE account_id = $1 AND kind = $2 \
         AND month < $3 ORDER BY month DESC LIMIT 1",
    )
    .bind(account_id)
    .bind(kind.as_str())
    .bind(month)
    .fetch_optional(conn)
    .await?;
    Ok(carried.unwrap_or(0))
}

/// Write `row` once: false when its account has a statement of its kind
/// and month already (another host finalized it first).
async fn insert_statement(
    conn: &mut sqlx::AnyConnection,
    row: &StatementRow,
) -> Result<bool, StoreError> {
    // Plain structs of strings and integers: serialising cannot fail.
    let summary = serde_json::to_string(&row.summary).unwrap_or_default();
    let lines = serde_json::to_string(&row.lines).unwrap_or_default();
    let written = sqlx::query(&format!(
        "INSERT INTO statements ({COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (account_id, kind, month) DO NOTHING"
    ))
    .bind(&row.id)
    .bind(&row.account_id)
    .bind(row.kind.as_str())
    .bind(&row.month)
    .bind(row.total_mills)
    .bind(row.adjustment_mills)
    .bind(row.carried_in_mills)
    .bind(row.credit_mills)
    .bind(row.amount_cents)
    .bind(row.carried_out_mills)
    .bind(summary)
    .bind(lines)
    .bind(row.finalized_at)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(written == 1)
}
