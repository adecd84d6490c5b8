//! How a claimed run moves: its step attempts started, finished or
//! skipped together with the run's next state, each write fenced by the
//! holder's lease; and a run finished outside any lease (it cannot start,
//! or a user cancels it).

use std::sync::OnceLock;

use super::{
    ATTEMPT_COLUMNS, AttemptStatus, FinishAttempt, NewAttempt, RunStatus, RunUpdate, Runs,
};
use crate::{Backend, StoreError};
use sqlx::Row as _;

/// A value bound to a placeholder.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Int(i64),
    Text(Option<&'a str>),
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

fn bind<'q>(query: AnyQuery<'q>, arg: Arg<'q>) -> AnyQuery<'q> {
    match arg {
        Arg::Int(value) => query.bind(value),
        Arg::Text(value) => query.bind(value),
    }
}

/// How a [`RunUpdate`] moves a run: which `SET` clause of `runs` it
/// takes, so the statements built with one are built once per kind.
#[derive(Debug, Clone, Copy)]
enum Move {
    Continue,
    Wait,
    Succeed,
    Fail,
}

impl Move {
    /// How many kinds there are.
    const COUNT: usize = 4;

    /// How many values of its own the update binds (from `$4`).
    fn arg_count(self) -> usize {
        match self {
            Move::Succeed => 0,
            Move::Continue | Move::Fail => 1,
            Move::Wait => 2,
        }
    }

    /// The `SET` clause of `runs`, with `now` at `$3` and the update's own
    /// values from `$4`.
    fn set(self) -> &'static str {
        match self {
            Move::Continue => "next_step = $4, updated_at = $3",
            Move::Wait => {
                "status = 'waiting', next_step = $4, not_before = $5, lease_owner = NULL, \
                 lease_until = NULL, updated_at = $3"
            }
            Move::Succeed => {
                "status = 'succeeded', lease_owner = NULL, lease_until = NULL, finished_at = $3, \
                 updated_at = $3"
            }
            Move::Fail => {
                "status = 'failed', error = $4, lease_owner = NULL, lease_until = NULL, \
                 finished_at = $3, updated_at = $3"
            }
        }
    }
}

/// How `update` moves a run, and its own values (bound from `$4`, in
/// order; [`Move::arg_count`] of them, without allocating).
fn update_set(update: RunUpdate<'_>) -> (Move, [Option<Arg<'_>>; 2]) {
    match update {
        RunUpdate::Continue { next_step } => (Move::Continue, [Some(Arg::Int(next_step)), None]),
        RunUpdate::Wait {
            next_step,
            not_before,
        } => (
            Move::Wait,
            [Some(Arg::Int(next_step)), Some(Arg::Int(not_before))],
        ),
        RunUpdate::Succeed => (Move::Succeed, [None, None]),
        RunUpdate::Fail { error } => (Move::Fail, [Some(Arg::Text(Some(error))), None]),
    }
}

/// The fence of every write of a lease holder, for `runs`: the run (`$1`)
/// is running under the lease of `$2`, unexpired at `$3` (now).
///
/// This fence, PostgreSQL's start of an attempt and the lease's renewal
/// and release find a run by its id and write the check that it is
/// running as `(status = 'running') IS TRUE`, which no index can serve,
/// so the primary key is the only way in (SQLite's planner takes the
/// primary key for `id = ?` either way; `plans.rs` checks both). Written as
/// `status = 'running'`, PostgreSQL picks `runs_due` (which leads with
/// `status`) whenever its statistics say few runs are running (taken while
/// the queue was idle, or never taken, as in a new database), and then
/// reads every running run to find the one: 1.07 ms instead of 0.05 ms
/// per fenced write with 3,000 runs running (`EXPLAIN ANALYZE`).
pub(super) const FENCE: &str =
    "id = $1 AND (status = 'running') IS TRUE AND lease_owner = $2 AND lease_until >= $3";

/// Move the run per `update`, fenced by `lease_owner`'s lease at `now`.
/// The first statement of every fenced transaction: a write, so on SQLite
/// the transaction holds the write lock from here on. Whether the lease
/// held (nothing was written when it did not).
async fn apply_update(
    conn: &mut sqlx::AnyConnection,
    run_id: &str,
    lease_owner: &str,
    now: i64,
    update: RunUpdate<'_>,
) -> Result<bool, StoreError> {
    let (how, args) = update_set(update);
    let sql = format!("UPDATE runs SET {} WHERE {FENCE}", how.set());
    let mut query = sqlx::query(&sql).bind(run_id).bind(lease_owner).bind(now);
    for arg in args.into_iter().flatten() {
        query = bind(query, arg);
    }
    Ok(query.execute(conn).await?.rows_affected() == 1)
}

/// Record attempt `a` as started, in one statement fenced by the lease:
/// on PostgreSQL the fence is an `UPDATE` of the run in a CTE (it locks
/// the run's row, like the fenced transactions); on SQLite the statement
/// runs under the database's write lock, so its check of the lease and
/// its insert are one step. Taking over a row left running by a process
/// that died updates its `started_at` and `input`.
pub(super) fn start_sql(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => {
            // The status check as in `FENCE`, for the same reason.
            "WITH fence AS (UPDATE runs SET updated_at = $8 \
             WHERE id = $1 AND (status = 'running') IS TRUE AND lease_owner = $9 \
             AND lease_until >= $8 RETURNING id) \
             INSERT INTO step_attempts (run_id, step_index, attempt, step_id, action, status, \
             input, idempotency_key, started_at) \
             SELECT $1, $2, $3, $4, $5, 'running', $6, $7, $8 FROM fence \
             ON CONFLICT (run_id, step_index, attempt) DO UPDATE SET \
             started_at = excluded.started_at, input = excluded.input \
             WHERE step_attempts.status = 'running'"
        }
        Backend::Sqlite => {
            "INSERT INTO step_attempts (run_id, step_index, attempt, step_id, action, status, \
             input, idempotency_key, started_at) \
             SELECT $1, $2, $3, $4, $5, 'running', $6, $7, $8 \
             WHERE EXISTS (SELECT 1 FROM runs \
             WHERE id = $1 AND status = 'running' AND lease_owner = $9 AND lease_until >= $8) \
             ON CONFLICT (run_id, step_index, attempt) DO UPDATE SET \
             started_at = excluded.started_at, input = excluded.input \
             WHERE step_attempts.status = 'running'"
        }
    }
}

/// The placeholders of [`Runs::finish_attempt`]'s statement after the
/// run's (`$1` the run, `$2` the lease owner, `$3` now, then the update's
/// own values): the attempt's result, the attempt as it started, then its
/// usage record's (the [`Metered`](super::Metered) values). The one place
/// that numbers them: [`bind_result`] binds them in this order.
#[derive(Debug, Clone, Copy)]
struct ResultPlaceholders {
    status: usize,
    output: usize,
    error: usize,
    report: usize,
    retry_at: usize,
    step: usize,
    attempt: usize,
    step_id: usize,
    action: usize,
    input: usize,
    key: usize,
    started: usize,
    /// The usage record's: the owner, integration, class, compute units,
    /// billable (1 or 0), free executions per month, the charge and the
    /// developer's share of it (mills).
    owner: usize,
    integration: usize,
    class: usize,
    units: usize,
    billable: usize,
    free: usize,
    charge: usize,
    developer: usize,
}

impl ResultPlaceholders {
    /// The placeholders after an update with `update_args` values of its own.
    fn after_update(update_args: usize) -> Self {
        let k = 4 + update_args;
        ResultPlaceholders {
            status: k,
            output: k + 1,
            error: k + 2,
            report: k + 3,
            retry_at: k + 4,
            step: k + 5,
            attempt: k + 6,
            step_id: k + 7,
            action: k + 8,
            input: k + 9,
            key: k + 10,
            started: k + 11,
            owner: k + 12,
            integration: k + 13,
            class: k + 14,
            units: k + 15,
            billable: k + 16,
            free: k + 17,
            charge: k + 18,
            developer: k + 19,
        }
    }

    /// The condition on `step_attempts` that selects the attempt once it
    /// is finished (a result recorded).
    fn attempt_finished(&self) -> String {
        format!(
            "run_id = $1 AND step_index = ${step} AND attempt = ${attempt} AND status <> 'running'",
            step = self.step,
            attempt = self.attempt,
        )
    }

    /// The upsert that records the attempt with its result, finished now
    /// (`$3`): inserted whole when its start was never recorded, or its
    /// row updated while it is still running (a start recorded by this
    /// process, or left by one that died: `started_at` and `input` become
    /// this start's). Its values are selected `source` (the fence, a `FROM`
    /// or a `WHERE` clause); a finished row is left as it is.
    fn record_result(&self, source: &str) -> String {
        format!(
            "INSERT INTO step_attempts ({ATTEMPT_COLUMNS}) \
             SELECT $1, ${step}, ${attempt}, ${step_id}, ${action}, ${status}, ${input}, \
             ${output}, ${error}, ${report}, ${key}, ${started}, $3, ${retry_at} {source} \
             ON CONFLICT (run_id, step_index, attempt) DO UPDATE SET \
             status = excluded.status, input = excluded.input, output = excluded.output, \
             error = excluded.error, report = excluded.report, \
             started_at = excluded.started_at, finished_at = excluded.finished_at, \
             retry_at = excluded.retry_at \
             WHERE step_attempts.status = 'running'",
            step = self.step,
            attempt = self.attempt,
            step_id = self.step_id,
            action = self.action,
            status = self.status,
            input = self.input,
            output = self.output,
            error = self.error,
            report = self.report,
            key = self.key,
            started = self.started,
            retry_at = self.retry_at,
        )
    }

    /// The values of the usage record (in [`USAGE_COLUMNS`]' order) of
    /// the finished attempt `source` (its `started_at` and `status`), with
    /// `month` the month it started in and `seq` its number among its
    /// user's billable executions of that month (NULL when not billable).
    fn usage_values(&self, source: &str, month: &str, seq: &str) -> String {
        format!(
            "$1, ${step}, ${attempt}, ${owner}, ${integration}, \
             (SELECT o.owner FROM integration_owners o WHERE o.integration = ${integration}), \
             {month}, {source}.started_at, $3, {source}.status, ${class}, ${units}, \
             {seq}, {charges}",
            step = self.step,
            attempt = self.attempt,
            owner = self.owner,
            integration = self.integration,
            class = self.class,
            units = self.units,
            charges = charges_sql(seq, self.free, self.charge, self.developer),
        )
    }
}

/// Bind `f`'s result and, when it has one, its usage record to `query`
/// (whose run and update values are bound), in the order
/// [`ResultPlaceholders`] numbers them.
fn bind_result<'q>(query: AnyQuery<'q>, f: &FinishAttempt<'q>) -> AnyQuery<'q> {
    let start = &f.start;
    let query = query
        .bind(f.status.as_str())
        .bind(f.output)
        .bind(f.error)
        .bind(f.report)
        .bind(f.retry_at)
        .bind(start.step_index)
        .bind(start.attempt)
        .bind(start.step_id)
        .bind(start.action)
        .bind(start.input)
        .bind(start.idempotency_key)
        .bind(start.now);
    match &f.usage {
        Some(usage) => query
            .bind(usage.owner)
            .bind(usage.integration)
            .bind(usage.class)
            .bind(usage.compute_units)
            .bind(i64::from(f.status == AttemptStatus::Succeeded))
            .bind(usage.price.free_per_month)
            .bind(usage.price.charge_mills)
            .bind(usage.price.developer_mills),
        None => query,
    }
}

/// [`Runs::finish_attempt`]'s statement on `backend` for an update that
/// moves the run `how`, with a usage record when `metered`: built on first
/// use and kept, so a commit does not build its SQL.
fn finish_sql(backend: Backend, how: Move, metered: bool) -> &'static str {
    const VARIANTS: usize = 2 * Move::COUNT * 2;
    static BUILT: [OnceLock<String>; VARIANTS] = [const { OnceLock::new() }; VARIANTS];
    let backend_index = match backend {
        Backend::Sqlite => 0,
        Backend::Postgres => 1,
    };
    let slot = (backend_index * Move::COUNT + how as usize) * 2 + usize::from(metered);
    BUILT[slot].get_or_init(|| {
        let p = ResultPlaceholders::after_update(how.arg_count());
        match backend {
            Backend::Postgres => finish_sql_postgres(how.set(), &p, metered),
            Backend::Sqlite => finish_sql_sqlite(how.set(), &p, metered),
        }
    })
}

/// Record attempt `f` with its result and move the run per `update` in
/// one call to SQLite (one round trip to its connection's thread instead
/// of four): a transaction that holds the write lock from its start,
/// records the attempt only if it is not finished and the lease holds,
/// moves the run only if it did (`changes()`), and reports whether it did
/// (`finished`, 1 or 0; nothing was written when 0). With `metered`, the
/// execution's usage record (see [`usage_sql_sqlite`]) in the same
/// transaction. Placeholders `p` (see [`ResultPlaceholders`]).
fn finish_sql_sqlite(set: &str, p: &ResultPlaceholders, metered: bool) -> String {
    let usage = if metered {
        usage_sql_sqlite(p)
    } else {
        String::new()
    };
    format!(
        "BEGIN IMMEDIATE; \
         {record}; \
         UPDATE runs SET {set} WHERE {FENCE} AND changes() = 1; \
         SELECT changes() AS finished; \
         {usage}\
         COMMIT;",
        record = p.record_result(
            "WHERE EXISTS (SELECT 1 FROM runs WHERE runs.id = $1 \
             AND runs.status = 'running' AND runs.lease_owner = $2 AND runs.lease_until >= $3)"
        ),
    )
}

/// The usage record's statements in SQLite's finishing transaction, with
/// placeholders `p`. They apply only when this transaction finished the
/// attempt: it is finished now, at this transaction's time, with no usage
/// record yet (the record's key is the attempt's). A billable execution
/// first adds one to its user's month (SQLite serialises writers, so the
/// counts follow commit order), then takes that count as its number.
fn usage_sql_sqlite(p: &ResultPlaceholders) -> String {
    let (status, step, attempt) = (p.status, p.step, p.attempt);
    let (owner, billable) = (p.owner, p.billable);
    let month = "strftime('%Y-%m', a.started_at / 1000, 'unixepoch')";
    let this = format!(
        "a.run_id = $1 AND a.step_index = ${step} AND a.attempt = ${attempt} \
         AND a.status = ${status} AND a.finished_at = $3 \
         AND NOT EXISTS (SELECT 1 FROM usage_records u WHERE u.run_id = $1 \
         AND u.step_index = ${step} AND u.attempt = ${attempt})"
    );
    format!(
        "INSERT INTO billing_months (owner, month, billable) \
         SELECT ${owner}, {month}, 1 FROM step_attempts a WHERE {this} AND ${billable} = 1 \
         ON CONFLICT (owner, month) DO UPDATE SET billable = billable + 1; \
         INSERT INTO usage_records ({USAGE_COLUMNS}) \
         SELECT {values} \
         FROM step_attempts a LEFT JOIN billing_months b ON ${billable} = 1 \
         AND b.owner = ${owner} AND b.month = {month} \
         WHERE {this}; ",
        values = p.usage_values("a", month, "b.billable"),
    )
}

/// The charge, developer share and platform share of a usage record
/// numbered `seq` (NULL when not billable): nothing for the first `free`.
fn charges_sql(seq: &str, free: usize, charge: usize, developer: usize) -> String {
    format!(
        "CASE WHEN {seq} > ${free} THEN ${charge} ELSE 0 END, \
         CASE WHEN {seq} > ${free} THEN ${developer} ELSE 0 END, \
         CASE WHEN {seq} > ${free} THEN ${charge} - ${developer} ELSE 0 END"
    )
}

/// The columns of `usage_records` the finishing transaction writes.
const USAGE_COLUMNS: &str = "run_id, step_index, attempt, owner, integration, developer, \
     month, started_at, committed_at, outcome, class, compute_units, seq, charge_mills, \
     developer_mills, platform_mills";

/// Record attempt `f` with its result and move the run per `update` in
/// one PostgreSQL statement (one round trip instead of four): the run
/// moves only when the lease holds and the attempt is not finished, and
/// the attempt is recorded only when the run moved. How many attempts it finished
/// (`finished`, 0 or 1). With `metered`, the execution's usage record in
/// the same statement: a billable one adds one to its user's month with
/// an upsert, whose row lock orders concurrent commits of one user across
/// hosts, and takes the count as its number.
fn finish_sql_postgres(set: &str, p: &ResultPlaceholders, metered: bool) -> String {
    let usage = if metered {
        let (owner, billable) = (p.owner, p.billable);
        let month = "to_char(to_timestamp(done.started_at / 1000) AT TIME ZONE 'UTC', 'YYYY-MM')";
        format!(
            ", counted AS (INSERT INTO billing_months (owner, month, billable) \
             SELECT ${owner}, {month}, 1 FROM done WHERE ${billable} = 1 \
             ON CONFLICT (owner, month) DO UPDATE SET billable = billing_months.billable + 1 \
             RETURNING billable), \
             metered AS (INSERT INTO usage_records ({USAGE_COLUMNS}) \
             SELECT {values} FROM done) ",
            values = p.usage_values("done", month, "(SELECT billable FROM counted)"),
        )
    } else {
        String::new()
    };
    format!(
        "WITH moved AS (UPDATE runs SET {set} WHERE {FENCE} \
         AND NOT EXISTS (SELECT 1 FROM step_attempts WHERE {finished}) RETURNING id), \
         done AS ({record} \
         RETURNING run_id, started_at, status){usage} \
         SELECT COUNT(*) AS finished FROM done",
        finished = p.attempt_finished(),
        record = p.record_result("FROM moved"),
    )
}

/// Insert the attempt row `a` as skipped (started and finished now), or
/// make the row of the same (run, step, attempt) skipped while it is still
/// running; a conflict error when that row is finished already.
async fn write_skipped(
    conn: &mut sqlx::AnyConnection,
    a: &NewAttempt<'_>,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO step_attempts ({ATTEMPT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, 'skipped', $6, NULL, NULL, NULL, $7, $8, $8, NULL) \
         ON CONFLICT (run_id, step_index, attempt) DO UPDATE SET \
         status = excluded.status, input = excluded.input, \
         finished_at = excluded.finished_at \
         WHERE step_attempts.status = 'running'"
    );
    let written = sqlx::query(&sql)
        .bind(a.run_id)
        .bind(a.step_index)
        .bind(a.attempt)
        .bind(a.step_id)
        .bind(a.action)
        .bind(a.input)
        .bind(a.idempotency_key)
        .bind(a.now)
        .execute(conn)
        .await?
        .rows_affected();
    if written != 1 {
        return Err(StoreError::Conflict(format!(
            "attempt {} of step {} of run {} is already finished",
            a.attempt, a.step_index, a.run_id
        )));
    }
    Ok(())
}

impl Runs<'_> {
    /// Record that an attempt starts, fenced by the lease: in one
    /// statement (see `start_sql`), check the run is still leased by
    /// `lease_owner` with `lease_until >= a.now`, then insert the attempt
    /// (running) — or, when that (run, step, attempt) row exists and is
    /// still running (a process died during it and this one resumes it),
    /// update its `started_at` and `input`. The commit does not wait for
    /// the disk (see [`crate::Store`]'s relaxed pool): the next durable
    /// commit, the attempt's result, makes it durable with it.
    /// False, with nothing written, when the lease is lost; an error when
    /// the attempt exists and is finished.
    pub async fn start_attempt(
        &self,
        a: &NewAttempt<'_>,
        lease_owner: &str,
    ) -> Result<bool, StoreError> {
        // Relaxed: a start lost in a power cut is recorded again when the
        // run resumes, under the same attempt number and idempotency key
        // (the number comes from the finished attempts, which are durable).
        let written = sqlx::query(start_sql(self.store.backend()))
            .bind(a.run_id)
            .bind(a.step_index)
            .bind(a.attempt)
            .bind(a.step_id)
            .bind(a.action)
            .bind(a.input)
            .bind(a.idempotency_key)
            .bind(a.now)
            .bind(lease_owner)
            .execute(self.store.relaxed_pool())
            .await?
            .rows_affected();
        if written == 1 {
            return Ok(true);
        }
        self.nothing_written(a.run_id, lease_owner, a.now, || {
            format!(
                "attempt {} of step {} of run {} is already finished",
                a.attempt, a.step_index, a.run_id
            )
        })
        .await
    }

    /// After a fenced write of `run_id` that wrote nothing: `Ok(false)`
    /// when `lease_owner`'s lease is lost (expired or taken over at
    /// `now`), else the conflict `conflict` describes (the attempt was not
    /// in the state the write needs).
    async fn nothing_written(
        &self,
        run_id: &str,
        lease_owner: &str,
        now: i64,
        conflict: impl FnOnce() -> String,
    ) -> Result<bool, StoreError> {
        let sql = format!("SELECT 1 AS held FROM runs WHERE {FENCE}");
        let held = sqlx::query(&sql)
            .bind(run_id)
            .bind(lease_owner)
            .bind(now)
            .fetch_optional(self.store.pool())
            .await?
            .is_some();
        if held {
            return Err(StoreError::Conflict(conflict()));
        }
        Ok(false)
    }

    /// Record an attempt with its result and move the run per `update`,
    /// in one transaction fenced by the lease (`lease_until >= f.now`):
    /// false, with nothing written, when the lease is lost. The attempt's
    /// row is updated when its start was recorded ([`Runs::start_attempt`],
    /// by this process or one that died during it), else inserted whole
    /// from `f.start`: a step that needs no visible `running` row costs
    /// one commit. `Continue` leaves `lease_until` as it is. An error when
    /// the attempt is finished already or `f.status` is `Running`.
    /// It returns once the result is on disk, in the group commit (see
    /// [`crate::Store`]): a result acted on survives a power cut.
    pub async fn finish_attempt(
        &self,
        f: &FinishAttempt<'_>,
        update: RunUpdate<'_>,
        lease_owner: &str,
    ) -> Result<bool, StoreError> {
        let start = &f.start;
        if f.status == AttemptStatus::Running {
            return Err(StoreError::Conflict(format!(
                "attempt {} of step {} of run {} cannot finish as `running`",
                start.attempt, start.step_index, start.run_id
            )));
        }
        let (how, args) = update_set(update);
        let sql = finish_sql(self.store.backend(), how, f.usage.is_some());
        let mut query = sqlx::query(sql)
            .bind(start.run_id)
            .bind(lease_owner)
            .bind(f.now);
        for arg in args.into_iter().flatten() {
            query = bind(query, arg);
        }
        let query = bind_result(query, f);
        // One call either way; on SQLite it runs a whole transaction.
        let mut conn = self.store.grouped_pool().acquire().await?;
        let finished: i64 = match query.fetch_all(&mut *conn).await {
            Ok(rows) => match rows.first() {
                Some(row) => row.try_get("finished")?,
                None => 0,
            },
            Err(error) => {
                // A SQLite transaction may still be open on this
                // connection: end it before the connection goes back to
                // the pool (an error here means none was open).
                if self.store.backend() == Backend::Sqlite {
                    let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                }
                return Err(error.into());
            }
        };
        drop(conn);
        if finished == 1 {
            self.store.group_commit().await?;
            return Ok(true);
        }
        self.nothing_written(start.run_id, lease_owner, f.now, || {
            format!(
                "attempt {} of step {} of run {} is finished already",
                start.attempt, start.step_index, start.run_id
            )
        })
        .await
    }

    /// Record a skipped step (the attempt `a.attempt`, normally 1: skipped,
    /// started and finished at `a.now`; an attempt row left running by a
    /// process that died becomes skipped) and move the run per `update`
    /// (`Continue` to the next step, or `Succeed` when it was the last),
    /// fenced like [`Runs::finish_attempt`]: false, nothing written, when
    /// the lease is lost.
    pub async fn skip_step(
        &self,
        a: &NewAttempt<'_>,
        update: RunUpdate<'_>,
        lease_owner: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.grouped_pool().begin().await?;
        if !apply_update(&mut tx, a.run_id, lease_owner, a.now, update).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        write_skipped(&mut tx, a).await?;
        tx.commit().await?;
        self.store.group_commit().await?;
        Ok(true)
    }

    /// Finish a run outside any lease (one that cannot start, or that a
    /// user cancels): `status` (a finished one: failed, cancelled or
    /// succeeded) with `error`, lease cleared, `finished_at` set — only if
    /// the run is not finished yet. A process still driving it loses its
    /// next fenced write. Whether the run was finished by this call.
    pub async fn finish_unleased(
        &self,
        run_id: &str,
        status: RunStatus,
        error: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        if !status.is_finished() {
            return Err(StoreError::Conflict(format!(
                "run {run_id} cannot be finished as `{status}`"
            )));
        }
        let done = sqlx::query(
            "UPDATE runs SET status = $1, error = $2, lease_owner = NULL, lease_until = NULL, \
             finished_at = $3, updated_at = $3 \
             WHERE id = $4 AND status IN ('queued', 'running', 'waiting')",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(now)
        .bind(run_id)
        .execute(self.store.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Cancel every run of workflow `workflow_id` that is queued, running
    /// or waiting, like [`Runs::finish_unleased`] with `cancelled` and
    /// `error` (JSON): a process driving one loses its next fenced write.
    /// The ids of the runs cancelled. [`crate::workflows::Workflows::delete`]
    /// does this in the transaction that deletes the workflow; calling it
    /// again afterwards catches a run a trigger inserted while it did.
    pub async fn cancel_active_of_workflow(
        &self,
        workflow_id: &str,
        error: &str,
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.store.pool().acquire().await?;
        crate::workflows::cancel_active_runs(&mut conn, workflow_id, error, now).await
    }
}
