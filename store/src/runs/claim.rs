//! Claiming runs: due runs taken under a lease (many processes at once,
//! each run by one), the lease renewed by its holder's heartbeat or given
//! back, and the live leases counted per owner for per-user bounds.

use sqlx::Row as _;

use super::{COLUMNS, RunRow, Runs, decode};
use crate::{Backend, StoreError};

/// Which runs a claimer may take at `$3` (now): due queued or waiting
/// runs, and running runs whose lease expired.
const CLAIMABLE: &str = "((status IN ('queued', 'waiting') AND not_before <= $3) \
     OR (status = 'running' AND lease_until < $3))";

impl Runs<'_> {
    /// Claim up to `limit` runs that are due at `now`: queued or waiting
    /// with `not_before <= now`, or running under a lease that expired
    /// (its process died). Each becomes running, leased to `lease_owner`
    /// until `now + lease_ms`, with `started_at` set on its first claim.
    /// Oldest (`not_before`, `created_at`) first. Runs of `exclude_owners`
    /// are left alone (per-user concurrency limits).
    ///
    /// One `UPDATE ... RETURNING` over the picked ids that re-checks the
    /// claim condition. On PostgreSQL the ids are picked `FOR UPDATE SKIP
    /// LOCKED` inside `= ANY(ARRAY(...))` (an init plan, run exactly once,
    /// where a plain `IN (...)` subquery may be re-run by the planner and
    /// pick more than `limit`), so concurrent claimers take disjoint runs
    /// without waiting on each other; SQLite runs one writer at a time.
    pub async fn claim(
        &self,
        lease_owner: &str,
        lease_ms: i64,
        now: i64,
        limit: i64,
        exclude_owners: &[String],
    ) -> Result<Vec<RunRow>, StoreError> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let excluded = if exclude_owners.is_empty() {
            String::new()
        } else {
            let placeholders: Vec<String> = (0..exclude_owners.len())
                .map(|i| format!("${}", i + 5))
                .collect();
            format!(" AND owner NOT IN ({})", placeholders.join(", "))
        };
        let pick = format!(
            "SELECT id FROM runs WHERE {CLAIMABLE}{excluded} \
             ORDER BY not_before, created_at, id LIMIT $4"
        );
        let picked = match self.store.backend() {
            Backend::Postgres => format!("id = ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))"),
            Backend::Sqlite => format!("id IN ({pick})"),
        };
        let sql = format!(
            "UPDATE runs SET status = 'running', lease_owner = $1, lease_until = $2, \
             started_at = COALESCE(started_at, $3), updated_at = $3 \
             WHERE {picked} AND {CLAIMABLE}{excluded} RETURNING {COLUMNS}"
        );
        let mut query = sqlx::query(&sql)
            .bind(lease_owner)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .bind(limit);
        for owner in exclude_owners {
            query = query.bind(owner.as_str());
        }
        let rows = query.fetch_all(self.store.pool()).await?;
        let mut runs = rows.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        runs.sort_by(|a, b| {
            (a.not_before, a.created_at, &a.id).cmp(&(b.not_before, b.created_at, &b.id))
        });
        Ok(runs)
    }

    /// Claim the run `run_id` alone, if it is due (as [`Runs::claim`]
    /// would): for a process that drives one run in the foreground.
    pub async fn claim_run(
        &self,
        run_id: &str,
        lease_owner: &str,
        lease_ms: i64,
        now: i64,
    ) -> Result<Option<RunRow>, StoreError> {
        let sql = format!(
            "UPDATE runs SET status = 'running', lease_owner = $1, lease_until = $2, \
             started_at = COALESCE(started_at, $3), updated_at = $3 \
             WHERE id = $4 AND {CLAIMABLE} RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(lease_owner)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .bind(run_id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Extend the lease to `lease_until` if `lease_owner` still holds it
    /// (the run is running and nobody claimed it since). False when lost.
    pub async fn renew(
        &self,
        run_id: &str,
        lease_owner: &str,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE runs SET lease_until = $1 \
             WHERE id = $2 AND status = 'running' AND lease_owner = $3",
        )
        .bind(lease_until)
        .bind(run_id)
        .bind(lease_owner)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Give the run back to the queue (queued, lease cleared, due as
    /// before) if `lease_owner` holds it. Whether it did.
    pub async fn release(
        &self,
        run_id: &str,
        lease_owner: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE runs SET status = 'queued', lease_owner = NULL, lease_until = NULL, \
             updated_at = $1 WHERE id = $2 AND status = 'running' AND lease_owner = $3",
        )
        .bind(now)
        .bind(run_id)
        .bind(lease_owner)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How many runs are running under a lease live at `now`, per owner
    /// (for per-user concurrency limits), by owner.
    pub async fn running_by_owner(&self, now: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT owner, COUNT(*) AS running FROM runs \
             WHERE status = 'running' AND lease_until >= $1 GROUP BY owner ORDER BY owner",
        )
        .bind(now)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("owner")?, r.try_get("running")?)))
            .collect()
    }
}
