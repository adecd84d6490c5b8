//! What a user's executions used and cost: the usage records of a month
//! summed by integration, and single records.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use super::Billing;
use crate::StoreError;

/// One execution's usage record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    /// The run.
    pub run_id: String,
    /// The step's index.
    pub step_index: i64,
    /// The attempt's number.
    pub attempt: i64,
    /// The user billed.
    pub owner: String,
    /// The integration whose component ran.
    pub integration: String,
    /// Its developer account (`None`: the platform's own).
    pub developer: Option<String>,
    /// `YYYY-MM` of its start (UTC).
    pub month: String,
    /// When it started (Unix ms).
    pub started_at: i64,
    /// When its result was committed (Unix ms).
    pub committed_at: i64,
    /// `succeeded` or `failed`.
    pub outcome: String,
    /// `light` or `heavy`.
    pub class: String,
    /// Its compute units.
    pub compute_units: i64,
    /// Its number among the user's billable executions of the month.
    pub seq: Option<i64>,
    /// What it costs the user (mills).
    pub charge_mills: i64,
    /// The developer's share (mills).
    pub developer_mills: i64,
    /// The platform's share (mills).
    pub platform_mills: i64,
    /// The user statement that charged it, once finalized.
    pub statement_id: Option<String>,
    /// The developer statement that credited its share, once finalized.
    pub developer_statement_id: Option<String>,
}

/// A month's usage of one integration by one user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntegrationUsage {
    /// The integration.
    pub integration: String,
    /// Billable executions that were free.
    pub free: i64,
    /// Light executions charged.
    pub light: i64,
    /// Heavy executions charged.
    pub heavy: i64,
    /// Failed executions (never charged).
    pub failed: i64,
    /// What they cost (mills).
    pub charge_mills: i64,
}

/// A user's usage in one month.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UsageSummary {
    /// `YYYY-MM`.
    pub month: String,
    /// Billable executions so far (free ones included).
    pub billable: i64,
    /// Per integration, by name.
    pub integrations: Vec<IntegrationUsage>,
}

impl UsageSummary {
    /// Executions that were free.
    pub fn free(&self) -> i64 {
        self.integrations.iter().map(|i| i.free).sum()
    }

    /// Light executions charged.
    pub fn light(&self) -> i64 {
        self.integrations.iter().map(|i| i.light).sum()
    }

    /// Heavy executions charged.
    pub fn heavy(&self) -> i64 {
        self.integrations.iter().map(|i| i.heavy).sum()
    }

    /// Failed executions.
    pub fn failed(&self) -> i64 {
        self.integrations.iter().map(|i| i.failed).sum()
    }

    /// What the month's executions cost so far (mills).
    pub fn charge_mills(&self) -> i64 {
        self.integrations.iter().map(|i| i.charge_mills).sum()
    }
}

/// The columns of `usage_records`, as [`decode`] reads them.
pub(super) const COLUMNS: &str = "run_id, step_index, attempt, owner, integration, developer, \
     month, started_at, committed_at, outcome, class, compute_units, seq, charge_mills, \
     developer_mills, platform_mills, statement_id, developer_statement_id";

pub(super) fn decode(row: &AnyRow) -> Result<UsageRecord, StoreError> {
    Ok(UsageRecord {
        run_id: row.try_get("run_id")?,
        step_index: row.try_get("step_index")?,
        attempt: row.try_get("attempt")?,
        owner: row.try_get("owner")?,
        integration: row.try_get("integration")?,
        developer: row.try_get("developer")?,
        month: row.try_get("month")?,
        started_at: row.try_get("started_at")?,
        committed_at: row.try_get("committed_at")?,
        outcome: row.try_get("outcome")?,
        class: row.try_get("class")?,
        compute_units: row.try_get("compute_units")?,
        seq: row.try_get("seq")?,
        charge_mills: row.try_get("charge_mills")?,
        developer_mills: row.try_get("developer_mills")?,
        platform_mills: row.try_get("platform_mills")?,
        statement_id: row.try_get("statement_id")?,
        developer_statement_id: row.try_get("developer_statement_id")?,
    })
}

/// The per-class counts of usage rows grouped by integration, outcome and
/// class, summed into [`IntegrationUsage`]s ordered by name.
pub(super) fn per_integration<'r>(
    rows: impl IntoIterator<Item = &'r AnyRow>,
) -> Result<Vec<IntegrationUsage>, StoreError> {
    let mut out: Vec<IntegrationUsage> = Vec::new();
    for row in rows {
        let integration: String = row.try_get("integration")?;
        let outcome: String = row.try_get("outcome")?;
        let class: String = row.try_get("class")?;
        let count: i64 = row.try_get("n")?;
        let free: i64 = row.try_get("free")?;
        let charge: i64 = row.try_get("amount")?;
        let at = match out.iter().position(|u| u.integration == integration) {
            Some(at) => at,
            None => {
                out.push(IntegrationUsage {
                    integration,
                    ..IntegrationUsage::default()
                });
                out.len() - 1
            }
        };
        let usage = &mut out[at];
        if outcome == "succeeded" {
            usage.free += free;
            if class == "heavy" {
                usage.heavy += count - free;
            } else {
                usage.light += count - free;
            }
        } else {
            usage.failed += count;
        }
        usage.charge_mills += charge;
    }
    out.sort_by(|a, b| a.integration.cmp(&b.integration));
    Ok(out)
}

/// The grouped counts [`per_integration`] reads, of the rows `filter`
/// selects (placeholders from `$1`), with `amount` the sum of the column
/// `amount_column`, grouped also by the columns `by` (each followed by a
/// comma, or empty).
pub(super) fn grouped_sql(filter: &str, amount_column: &str, by: &str) -> String {
    format!(
        "SELECT {by}integration, outcome, class, COUNT(*) AS n, \
         CAST(COALESCE(SUM(CASE WHEN seq IS NOT NULL AND charge_mills = 0 THEN 1 ELSE 0 END), 0) AS BIGINT) \
         AS free, CAST(COALESCE(SUM({amount_column}), 0) AS BIGINT) AS amount \
         FROM usage_records WHERE {filter} GROUP BY {by}integration, outcome, class"
    )
}

impl Billing<'_> {
    /// `owner`'s usage in `month` (`YYYY-MM`): every execution that started
    /// in it, committed so far.
    pub async fn month_usage(&self, owner: &str, month: &str) -> Result<UsageSummary, StoreError> {
        let rows = sqlx::query(&grouped_sql(
            "owner = $1 AND month = $2",
            "charge_mills",
            "",
        ))
        .bind(owner)
        .bind(month)
        .fetch_all(self.store.pool())
        .await?;
        let billable: Option<i64> = sqlx::query_scalar(
            "SELECT billable FROM billing_months WHERE owner = $1 AND month = $2",
        )
        .bind(owner)
        .bind(month)
        .fetch_optional(self.store.pool())
        .await?;
        Ok(UsageSummary {
            month: month.to_string(),
            billable: billable.unwrap_or(0),
            integrations: per_integration(&rows)?,
        })
    }

    /// The usage record of one execution (a step attempt), if it has one.
    pub async fn usage_record(
        &self,
        run_id: &str,
        step_index: i64,
        attempt: i64,
    ) -> Result<Option<UsageRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM usage_records \
             WHERE run_id = $1 AND step_index = $2 AND attempt = $3"
        );
        let row = sqlx::query(&sql)
            .bind(run_id)
            .bind(step_index)
            .bind(attempt)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every usage record of `owner`, oldest commit first (for tests and
    /// reconciliation; a user's records of a month are also summed by
    /// [`Billing::month_usage`]).
    pub async fn usage_records_of(&self, owner: &str) -> Result<Vec<UsageRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM usage_records WHERE owner = $1 \
             ORDER BY committed_at, run_id, step_index, attempt"
        );
        let rows = sqlx::query(&sql)
            .bind(owner)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(decode).collect()
    }
}
