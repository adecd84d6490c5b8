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

/// The columns a claim sets: running under the lease of `$1` until `$2`,
/// started at `$3` (now) if it never started.
const TAKE: &str = "status = 'running', lease_owner = $1, lease_until = $2, \
     started_at = COALESCE(started_at, $3), updated_at = $3";

/// SQLite's index on the runs' primary key, named for `INDEXED BY`: the
/// claim looks its runs up by id, which SQLite (as bundled by sqlx)
/// planned as scans of the whole table otherwise.
const SQLITE_BY_ID: &str = "sqlite_autoindex_runs_1";

/// The most candidates a claim reads from one owner's queue; a claimer
/// asking for more gets this many of one owner's runs and claims again.
const MAX_CANDIDATES_PER_OWNER: i64 = 1 << 16;

/// How many of each owner's oldest due runs a claim that may `pick` that
/// many runs, at most `per_owner` of one owner, reads as candidates: no
/// owner can get more. Rounded up to a power of two because it is written
/// into the statement's text (see [`pick`]), so a connection caches a
/// handful of statements rather than one per limit.
fn candidates_per_owner(pick: i64, per_owner: Option<i64>) -> i64 {
    let wanted = pick
        .min(per_owner.unwrap_or(i64::MAX))
        .clamp(1, MAX_CANDIDATES_PER_OWNER);
    u64::try_from(wanted)
        .map(u64::next_power_of_two)
        .ok()
        .and_then(|n| i64::try_from(n).ok())
        .unwrap_or(MAX_CANDIDATES_PER_OWNER)
}

/// The runs a claim picks, as the CTE `pick` (`pick_id`, `nth`, `due_at`,
/// `made_at`): of the claimable runs, each owner's numbered oldest first
/// (`nth`), kept while the owner's live leases plus `nth` stay within `$5`,
/// in turns (every owner's first, then every owner's second, ...), at most
/// `limit` (an SQL expression). A recursive CTE must be declared with
/// `WITH RECURSIVE`.
///
/// The claimable runs are read without scanning the queue: the owners with
/// queued or waiting runs one index probe each (`queued_owners`, a loose
/// scan of `runs_queue`), then each owner's `candidates` oldest of those
/// runs (`candidates` is at least what one owner can get), kept if due,
/// plus the running runs whose lease expired (few: at most what was in
/// flight). Numbering them finds what numbering every claimable run would,
/// since an owner's first `candidates` claimable runs are among them.
///
/// `candidates` is written into the text, and the due check made on the
/// candidates read rather than in the index search: with either as a
/// parameter PostgreSQL's generic plan looked dearer than the custom ones
/// and it planned the statement anew at every claim (1.5 ms).
/// SQLite is told which index to read each part through: without
/// statistics (a new database, or one never analysed) it walked the owners
/// through `runs_due`, reading every queued run, and it counts the live
/// leases through `runs_by_owner`, reading the whole table, to skip a sort.
fn pick(backend: Backend, limit: &str, candidates: i64) -> String {
    let (by_status, queue) = match backend {
        Backend::Postgres => ("runs", "runs"),
        Backend::Sqlite => ("runs INDEXED BY runs_due", "runs INDEXED BY runs_queue"),
    };
    let oldest = oldest_of_each_owner(backend, candidates);
    format!(
        "live AS (SELECT owner AS live_owner, COUNT(*) AS running FROM {by_status} \
     WHERE status = 'running' AND lease_until >= $3 GROUP BY owner), \
     queued_owners(o) AS (SELECT MIN(owner) FROM {queue} WHERE status IN ('queued', 'waiting') \
     UNION ALL SELECT (SELECT MIN(owner) FROM {queue} WHERE status IN ('queued', 'waiting') \
     AND owner > q.o) FROM queued_owners q WHERE q.o IS NOT NULL), \
     candidates AS ({oldest} \
     UNION ALL SELECT id, owner, not_before, created_at FROM {by_status} \
     WHERE status = 'running' AND lease_until < $3), \
     due AS (SELECT id, owner, not_before, created_at, \
     ROW_NUMBER() OVER (PARTITION BY owner ORDER BY not_before, created_at, id) AS nth \
     FROM candidates), \
     pick AS (SELECT due.id AS pick_id, due.nth AS nth, due.not_before AS due_at, \
     due.created_at AS made_at FROM due LEFT JOIN live ON live.live_owner = due.owner \
     WHERE due.nth + COALESCE(live.running, 0) <= $5 \
     ORDER BY due.nth, due.not_before, due.created_at, due.id LIMIT {limit})",
    )
}

/// Each queued owner's `candidates` oldest queued or waiting runs that
/// are due, from `runs_queue` in its order: a lateral join on
/// PostgreSQL; SQLite, which has none, looks each owner's up by id from a
/// correlated list.
fn oldest_of_each_owner(backend: Backend, candidates: i64) -> String {
    let hint = match backend {
        Backend::Postgres => "",
        Backend::Sqlite => " INDEXED BY runs_queue",
    };
    let oldest = |alias: &str, columns: &str| {
        format!(
            "SELECT {columns} FROM runs AS {alias}{hint} WHERE {alias}.owner = q.o \
             AND {alias}.status IN ('queued', 'waiting') \
             ORDER BY {alias}.not_before, {alias}.created_at, {alias}.id LIMIT {candidates}"
        )
    };
    match backend {
        Backend::Sqlite => format!(
            "SELECT r.id, r.owner, r.not_before, r.created_at FROM queued_owners q \
             JOIN runs AS r INDEXED BY {SQLITE_BY_ID} ON r.id IN ({}) WHERE r.not_before <= $3",
            oldest("x", "x.id")
        ),
        Backend::Postgres => format!(
            "SELECT c.id, c.owner, c.not_before, c.created_at FROM queued_owners q \
             CROSS JOIN LATERAL ({}) c WHERE c.not_before <= $3",
            oldest("x", "x.id, x.owner, x.not_before, x.created_at")
        ),
    }
}

/// The claim statement for `backend`: up to `limit` runs (see
/// [`Runs::claim`]), at most `per_owner` running per owner.
pub(super) fn claim_sql(backend: Backend, limit: i64, per_owner: Option<i64>) -> String {
    // Each picked run is looked up by its key, the claim condition
    // re-checked as `IS TRUE`, which no index serves: as a plain condition
    // both databases could read it through `runs_due` (SQLite without
    // statistics, PostgreSQL's generic plan), reading the whole queue
    // again.
    match backend {
        // Four times the limit is picked, for the locking step to skip
        // runs other claimers hold.
        Backend::Postgres => {
            let candidates = candidates_per_owner(limit.saturating_mul(4), per_owner);
            format!(
                "WITH RECURSIVE {}, \
                 locked AS MATERIALIZED (SELECT runs.id FROM runs \
                 JOIN pick ON pick.pick_id = runs.id WHERE ({CLAIMABLE}) IS TRUE \
                 ORDER BY pick.nth, pick.due_at, pick.made_at, pick.pick_id \
                 LIMIT $4 FOR UPDATE OF runs SKIP LOCKED) \
                 UPDATE runs SET {TAKE} \
                 WHERE id = ANY(ARRAY(SELECT id FROM locked)) AND ({CLAIMABLE}) IS TRUE \
                 RETURNING {COLUMNS}",
                pick(backend, "$4 * 4", candidates)
            )
        }
        Backend::Sqlite => {
            let candidates = candidates_per_owner(limit, per_owner);
            format!(
                "WITH RECURSIVE {} UPDATE runs INDEXED BY {SQLITE_BY_ID} SET {TAKE} \
                 WHERE id IN (SELECT pick_id FROM pick) AND ({CLAIMABLE}) IS TRUE \
                 RETURNING {COLUMNS}",
                pick(backend, "$4", candidates)
            )
        }
    }
}

/// Extend the lease of run `$2` to `$1` if `$3` holds it. The status
/// check is written as in the fence, so that only the primary key serves
/// it (see `progress::FENCE`).
pub(super) const RENEW: &str = "UPDATE runs SET lease_until = $1 \
     WHERE id = $2 AND (status = 'running') IS TRUE AND lease_owner = $3";

/// Give run `$2` back to the queue at `$1` if `$3` holds it (the status
/// check as in [`RENEW`]).
pub(super) const RELEASE: &str = "UPDATE runs SET status = 'queued', lease_owner = NULL, \
     lease_until = NULL, updated_at = $1 \
     WHERE id = $2 AND (status = 'running') IS TRUE AND lease_owner = $3";

impl Runs<'_> {
    /// Claim up to `limit` runs that are due at `now`: queued or waiting
    /// with `not_before <= now`, or running under a lease that expired
    /// (its process died). Each becomes running, leased to `lease_owner`
    /// until `now + lease_ms`, with `started_at` set on its first claim.
    ///
    /// Fair across owners: the owners take turns (each owner's oldest due
    /// run first, then each one's second, ...; oldest first within a
    /// turn), so one owner's backlog of thousands of runs never delays
    /// another owner's run by more than one claim. With `per_owner`, no
    /// owner gets more runs than that running at once, counting the live
    /// leases of every process (per-user concurrency limits).
    ///
    /// One `UPDATE ... RETURNING` over the picked ids that re-checks the
    /// claim condition. On PostgreSQL the picked ids are then locked `FOR
    /// UPDATE SKIP LOCKED`, inside `= ANY(ARRAY(...))` (an init plan, run
    /// exactly once, where a plain `IN (...)` subquery may be re-run by the
    /// planner and pick more than `limit`), so concurrent claimers take
    /// disjoint runs without waiting on each other; SQLite runs one writer
    /// at a time. A claim need not be durable: one lost in a power cut
    /// leaves its run queued, and only finished steps are acted on. So it
    /// commits without waiting for the disk.
    pub async fn claim(
        &self,
        lease_owner: &str,
        lease_ms: i64,
        now: i64,
        limit: i64,
        per_owner: Option<i64>,
    ) -> Result<Vec<RunRow>, StoreError> {
        if limit <= 0 {
            return Ok(Vec::new());
        }
        let sql = claim_sql(self.store.backend(), limit, per_owner);
        let rows = sqlx::query(&sql)
            .bind(lease_owner)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .bind(limit)
            .bind(per_owner.unwrap_or(i64::MAX))
            .fetch_all(self.store.relaxed_pool())
            .await?;
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
             WHERE id = $4 AND ({CLAIMABLE}) IS TRUE RETURNING {COLUMNS}"
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
        let done = sqlx::query(RENEW)
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
        let done = sqlx::query(RELEASE)
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
