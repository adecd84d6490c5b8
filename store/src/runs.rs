//! The `runs`, `step_attempts` and `trigger_keys` tables: runs of
//! workflows, claimed by host processes under a lease; every attempt of
//! every step, written only by the process holding the run's lease; and the
//! trigger keys that make one webhook delivery or cron tick start one run.
//!
//! A run is `queued` when made, `running` while a process holds its lease,
//! `waiting` between a failed attempt and its retry, and `succeeded`,
//! `failed` or `cancelled` at the end. Every write a lease holder makes
//! ([`Runs::start_attempt`], [`Runs::finish_attempt`], [`Runs::skip_step`])
//! is fenced: it is one transaction that first updates the run on the
//! condition that the lease is still the caller's and unexpired, and writes
//! nothing when it is not, so a process that lost its lease (paused past
//! it, cut off from the database) cannot overwrite the work of the process
//! that took the run over.

use sqlx::Row as _;
use sqlx::any::{AnyArguments, AnyRow};

use crate::{Backend, Store, StoreError};

stored_enum! {
    /// Where a run is.
    pub enum RunStatus("run status") {
        /// Made, waiting for a process to claim it.
        Queued = "queued",
        /// Claimed: a process holds its lease and drives it.
        Running = "running",
        /// Waiting until its `not_before` to retry a step.
        Waiting = "waiting",
        /// Every step done.
        Succeeded = "succeeded",
        /// Stopped by an error.
        Failed = "failed",
        /// Stopped by a user.
        Cancelled = "cancelled",
        /// Never started: a trigger bound (fan-out, queued runs per owner)
        /// refused it; `error` says which, so its owner can see why.
        Refused = "refused",
    }
}

impl RunStatus {
    /// Whether the run is over (succeeded, failed, cancelled or refused).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled | RunStatus::Refused
        )
    }
}

stored_enum! {
    /// Where a step attempt is.
    pub enum AttemptStatus("step attempt status") {
        /// Started, not finished (or its process died during it).
        Running = "running",
        /// Done.
        Succeeded = "succeeded",
        /// Failed (retried when its `retry_at` is set).
        Failed = "failed",
        /// Not run: its condition did not hold.
        Skipped = "skipped",
    }
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    /// The run's id.
    pub id: String,
    /// The workflow it runs.
    pub workflow_id: String,
    /// The workflow version it runs (pinned when it was made).
    pub workflow_version: i64,
    /// The workflow's owner.
    pub owner: String,
    /// What started it: `manual`, `webhook`, `schedule` or `event`.
    pub trigger_kind: String,
    /// What the trigger carried, JSON.
    pub trigger_data: String,
    /// What the run pinned (integration -> version and digest), JSON.
    pub pins: String,
    /// Where it is.
    pub status: RunStatus,
    /// The index of the step to run next.
    pub next_step: i64,
    /// When it may next be claimed (Unix ms).
    pub not_before: i64,
    /// The process holding its lease, while running.
    pub lease_owner: Option<String>,
    /// Until when the lease holds (Unix ms).
    pub lease_until: Option<i64>,
    /// Why it failed, JSON.
    pub error: Option<String>,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it was first claimed (Unix ms).
    pub started_at: Option<i64>,
    /// When it finished (Unix ms).
    pub finished_at: Option<i64>,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

/// A run to insert (queued, due now).
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    /// The run's id.
    pub id: &'a str,
    /// The workflow.
    pub workflow_id: &'a str,
    /// The workflow version to run.
    pub workflow_version: i64,
    /// The workflow's owner.
    pub owner: &'a str,
    /// What started it.
    pub trigger_kind: &'a str,
    /// What the trigger carried, JSON.
    pub trigger_data: &'a str,
    /// What the run pins, JSON.
    pub pins: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// A stored step attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// The run.
    pub run_id: String,
    /// The step's index in the workflow, from 0.
    pub step_index: i64,
    /// The attempt's number, from 1.
    pub attempt: i64,
    /// The step's id in the workflow.
    pub step_id: String,
    /// The action it calls (`integration.action`).
    pub action: String,
    /// Where the attempt is.
    pub status: AttemptStatus,
    /// The action's input, JSON.
    pub input: Option<String>,
    /// The action's output, JSON, when it succeeded.
    pub output: Option<String>,
    /// Why it failed, JSON.
    pub error: Option<String>,
    /// What the call did (fuel, requests, time), JSON.
    pub report: Option<String>,
    /// The idempotency key the action was called with.
    pub idempotency_key: String,
    /// When it (last) started (Unix ms).
    pub started_at: i64,
    /// When it finished (Unix ms).
    pub finished_at: Option<i64>,
    /// When the step is retried after this failed attempt (Unix ms).
    pub retry_at: Option<i64>,
}

/// A step attempt that starts (or is skipped).
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    /// The run.
    pub run_id: &'a str,
    /// The step's index, from 0.
    pub step_index: i64,
    /// The attempt's number, from 1.
    pub attempt: i64,
    /// The step's id.
    pub step_id: &'a str,
    /// The action it calls.
    pub action: &'a str,
    /// The action's input, JSON.
    pub input: Option<&'a str>,
    /// The idempotency key the action is called with.
    pub idempotency_key: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// The result of a step attempt.
#[derive(Debug, Clone)]
pub struct FinishAttempt<'a> {
    /// The run.
    pub run_id: &'a str,
    /// The step's index.
    pub step_index: i64,
    /// The attempt's number.
    pub attempt: i64,
    /// How it ended (not [`AttemptStatus::Running`]).
    pub status: AttemptStatus,
    /// The action's output, JSON.
    pub output: Option<&'a str>,
    /// Why it failed, JSON.
    pub error: Option<&'a str>,
    /// What the call did, JSON.
    pub report: Option<&'a str>,
    /// When the step is retried, if it is.
    pub retry_at: Option<i64>,
    /// Now (Unix ms).
    pub now: i64,
}

/// What happens to the run in the same transaction as a finished attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunUpdate<'a> {
    /// Go on with step `next_step` (lease kept, status running).
    Continue {
        /// The step to run next.
        next_step: i64,
    },
    /// Wait until `not_before` (status waiting, lease released) then retry
    /// step `next_step`.
    Wait {
        /// The step to run when the wait is over.
        next_step: i64,
        /// When the run may be claimed again (Unix ms).
        not_before: i64,
    },
    /// Every step done: succeeded, lease released, finished_at set.
    Succeed,
    /// Failed with `error` (JSON): failed, lease released, finished_at set.
    Fail {
        /// Why, JSON.
        error: &'a str,
    },
}

/// What [`Runs::insert_unique`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The run was inserted.
    New,
    /// The key already started a run: this one.
    Duplicate {
        /// The run the key started.
        run_id: String,
    },
}

/// The queries on the run tables.
#[derive(Debug, Clone, Copy)]
pub struct Runs<'s> {
    store: &'s Store,
}

impl Store {
    /// The `runs`, `step_attempts` and `trigger_keys` tables.
    pub fn runs(&self) -> Runs<'_> {
        Runs { store: self }
    }
}

const COLUMNS: &str = "id, workflow_id, workflow_version, owner, trigger_kind, trigger_data, \
     pins, status, next_step, not_before, lease_owner, lease_until, error, created_at, \
     started_at, finished_at, updated_at";

const ATTEMPT_COLUMNS: &str = "run_id, step_index, attempt, step_id, action, status, input, \
     output, error, report, idempotency_key, started_at, finished_at, retry_at";

/// Which runs a claimer may take at `$3` (now): due queued or waiting
/// runs, and running runs whose lease expired.
const CLAIMABLE: &str = "((status IN ('queued', 'waiting') AND not_before <= $3) \
     OR (status = 'running' AND lease_until < $3))";

/// `$head` (an UPDATE of `runs` up to its `WHERE`) followed by the fence
/// of every write of a lease holder: the run (`$1`) is running under the
/// lease of `$2`, unexpired at `$3` (now).
macro_rules! fenced {
    ($head:literal $(,)?) => {
        concat!(
            $head,
            " WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND lease_until >= $3"
        )
    };
}

/// How many times [`Runs::insert_unique`] starts over when the key it
/// collided with disappeared before it could be read (expired and deleted
/// by another process in between).
const INSERT_UNIQUE_TRIES: usize = 8;

fn decode(row: &AnyRow) -> Result<RunRow, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(RunRow {
        id: row.try_get("id")?,
        workflow_id: row.try_get("workflow_id")?,
        workflow_version: row.try_get("workflow_version")?,
        owner: row.try_get("owner")?,
        trigger_kind: row.try_get("trigger_kind")?,
        trigger_data: row.try_get("trigger_data")?,
        pins: row.try_get("pins")?,
        status: RunStatus::decode(&status)?,
        next_step: row.try_get("next_step")?,
        not_before: row.try_get("not_before")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: row.try_get("lease_until")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn decode_attempt(row: &AnyRow) -> Result<AttemptRow, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(AttemptRow {
        run_id: row.try_get("run_id")?,
        step_index: row.try_get("step_index")?,
        attempt: row.try_get("attempt")?,
        step_id: row.try_get("step_id")?,
        action: row.try_get("action")?,
        status: AttemptStatus::decode(&status)?,
        input: row.try_get("input")?,
        output: row.try_get("output")?,
        error: row.try_get("error")?,
        report: row.try_get("report")?,
        idempotency_key: row.try_get("idempotency_key")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        retry_at: row.try_get("retry_at")?,
    })
}

/// The INSERT of a new run, for a pool or a transaction: queued, or, with
/// `refused` (the reason, JSON), already finished as refused.
fn insert_run<'q>(
    new: &NewRun<'q>,
    refused: Option<&'q str>,
) -> sqlx::query::Query<'q, sqlx::Any, AnyArguments<'q>> {
    sqlx::query(
        "INSERT INTO runs (id, workflow_id, workflow_version, owner, trigger_kind, \
         trigger_data, pins, status, next_step, not_before, error, finished_at, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, \
         CASE WHEN $9 IS NULL THEN 'queued' ELSE 'refused' END, 0, $8, $9, \
         CASE WHEN $9 IS NULL THEN NULL ELSE $8 END, $8, $8)",
    )
    .bind(new.id)
    .bind(new.workflow_id)
    .bind(new.workflow_version)
    .bind(new.owner)
    .bind(new.trigger_kind)
    .bind(new.trigger_data)
    .bind(new.pins)
    .bind(new.now)
    .bind(refused)
}

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
    let query = match update {
        RunUpdate::Continue { next_step } => {
            sqlx::query(fenced!("UPDATE runs SET next_step = $4, updated_at = $3",))
                .bind(run_id)
                .bind(lease_owner)
                .bind(now)
                .bind(next_step)
        }
        RunUpdate::Wait {
            next_step,
            not_before,
        } => sqlx::query(fenced!(
            "UPDATE runs SET status = 'waiting', next_step = $4, not_before = $5, \
             lease_owner = NULL, lease_until = NULL, updated_at = $3",
        ))
        .bind(run_id)
        .bind(lease_owner)
        .bind(now)
        .bind(next_step)
        .bind(not_before),
        RunUpdate::Succeed => sqlx::query(fenced!(
            "UPDATE runs SET status = 'succeeded', lease_owner = NULL, lease_until = NULL, \
             finished_at = $3, updated_at = $3",
        ))
        .bind(run_id)
        .bind(lease_owner)
        .bind(now),
        RunUpdate::Fail { error } => sqlx::query(fenced!(
            "UPDATE runs SET status = 'failed', error = $4, lease_owner = NULL, \
             lease_until = NULL, finished_at = $3, updated_at = $3",
        ))
        .bind(run_id)
        .bind(lease_owner)
        .bind(now)
        .bind(error),
    };
    Ok(query.execute(conn).await?.rows_affected() == 1)
}

/// How [`write_attempt`] records an attempt row.
#[derive(Clone, Copy)]
enum AttemptWrite {
    /// The attempt starts (running); a row left running by a process that
    /// died gets the new start time and input.
    Start,
    /// The step is skipped (started and finished now); a row left running
    /// becomes skipped.
    Skip,
}

/// Insert the attempt row `a`, or take over the row of the same (run,
/// step, attempt) while it is still running; a conflict error when that
/// row is finished already.
async fn write_attempt(
    conn: &mut sqlx::AnyConnection,
    a: &NewAttempt<'_>,
    how: AttemptWrite,
) -> Result<(), StoreError> {
    let sql = match how {
        AttemptWrite::Start => format!(
            "INSERT INTO step_attempts ({ATTEMPT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, 'running', $6, NULL, NULL, NULL, $7, $8, NULL, NULL) \
             ON CONFLICT (run_id, step_index, attempt) DO UPDATE SET \
             started_at = excluded.started_at, input = excluded.input \
             WHERE step_attempts.status = 'running'"
        ),
        AttemptWrite::Skip => format!(
            "INSERT INTO step_attempts ({ATTEMPT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, 'skipped', $6, NULL, NULL, NULL, $7, $8, $8, NULL) \
             ON CONFLICT (run_id, step_index, attempt) DO UPDATE SET \
             status = excluded.status, input = excluded.input, \
             finished_at = excluded.finished_at \
             WHERE step_attempts.status = 'running'"
        ),
    };
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
    /// Store a new run: queued, at step 0, due now.
    pub async fn insert(&self, new: &NewRun<'_>) -> Result<(), StoreError> {
        insert_run(new, None).execute(self.store.pool()).await?;
        Ok(())
    }

    /// Insert the run unless `key` is already recorded for the workflow and
    /// not expired (the workflow's keys expired at `new.now` are deleted
    /// first); key and run in one transaction. Of any number of processes
    /// inserting one key at once exactly one gets [`Inserted::New`], the
    /// others [`Inserted::Duplicate`] with the winner's run id.
    ///
    /// The key goes in with `INSERT ... ON CONFLICT DO NOTHING` (on
    /// PostgreSQL it waits for a concurrent insert of the same key to
    /// commit or roll back), so a duplicate is seen without a unique
    /// violation aborting the transaction; the existing run id is then
    /// read and the transaction rolled back.
    pub async fn insert_unique(
        &self,
        new: &NewRun<'_>,
        key: &str,
        expires_at: i64,
    ) -> Result<Inserted, StoreError> {
        self.insert_keyed(new, &[(key, expires_at)], None).await
    }

    /// [`Runs::insert_unique`] with several keys (`(key, expires_at)`):
    /// the run is inserted with all of them, or, when any one is already
    /// recorded, not at all and the run that key started is returned. A
    /// webhook delivery uses its signature and its sender's idempotency key.
    pub async fn insert_unique_keys(
        &self,
        new: &NewRun<'_>,
        keys: &[(&str, i64)],
    ) -> Result<Inserted, StoreError> {
        self.insert_keyed(new, keys, None).await
    }

    /// Record a run a trigger bound refused: inserted already finished,
    /// status `refused`, `reason` (JSON) as its error, never claimed. With
    /// `keys`, deduplicated like [`Runs::insert_unique_keys`], so an event
    /// seen again does not record its refusal twice.
    pub async fn insert_refused(
        &self,
        new: &NewRun<'_>,
        reason: &str,
        keys: &[(&str, i64)],
    ) -> Result<Inserted, StoreError> {
        self.insert_keyed(new, keys, Some(reason)).await
    }

    async fn insert_keyed(
        &self,
        new: &NewRun<'_>,
        keys: &[(&str, i64)],
        refused: Option<&str>,
    ) -> Result<Inserted, StoreError> {
        // One order on every process, so two transactions inserting
        // overlapping keys on PostgreSQL never wait on each other in a cycle.
        let mut keys = keys.to_vec();
        keys.sort_unstable();
        keys.dedup_by(|a, b| a.0 == b.0);
        'attempt: for _ in 0..INSERT_UNIQUE_TRIES {
            let mut tx = self.store.pool().begin().await?;
            // A write first (see `apply_update`). Deleting in primary key
            // order on every process keeps PostgreSQL's row locks in one
            // order.
            sqlx::query("DELETE FROM trigger_keys WHERE workflow_id = $1 AND expires_at <= $2")
                .bind(new.workflow_id)
                .bind(new.now)
                .execute(&mut *tx)
                .await?;
            for (key, expires_at) in &keys {
                let recorded = sqlx::query(
                    "INSERT INTO trigger_keys (workflow_id, key, run_id, expires_at) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (workflow_id, key) DO NOTHING",
                )
                .bind(new.workflow_id)
                .bind(*key)
                .bind(new.id)
                .bind(*expires_at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !recorded {
                    let existing: Option<String> = sqlx::query_scalar(
                        "SELECT run_id FROM trigger_keys WHERE workflow_id = $1 AND key = $2",
                    )
                    .bind(new.workflow_id)
                    .bind(*key)
                    .fetch_optional(&mut *tx)
                    .await?;
                    tx.rollback().await?;
                    match existing {
                        Some(run_id) => return Ok(Inserted::Duplicate { run_id }),
                        None => continue 'attempt,
                    }
                }
            }
            insert_run(new, refused).execute(&mut *tx).await?;
            tx.commit().await?;
            return Ok(Inserted::New);
        }
        let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
        Err(StoreError::Conflict(format!(
            "cannot record trigger key(s) `{}` of workflow {}: they kept changing",
            names.join("`, `"),
            new.workflow_id
        )))
    }

    /// How many runs of `owner` wait to start or to retry (queued or
    /// waiting): what the per-owner queue bound counts.
    pub async fn waiting_count(&self, owner: &str) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM runs WHERE owner = $1 AND status IN ('queued', 'waiting')",
        )
        .bind(owner)
        .fetch_one(self.store.pool())
        .await?;
        Ok(count)
    }

    /// `owner`'s run with this id: `None` for another owner's run, exactly
    /// as for a missing one, so a user cannot tell them apart. Every read a
    /// user makes goes through this (or [`Runs::list`] with the owner);
    /// [`Runs::get`] is for the executor, which works for every owner.
    pub async fn get_owned(&self, owner: &str, id: &str) -> Result<Option<RunRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM runs WHERE id = $1 AND owner = $2"
        ))
        .bind(id)
        .bind(owner)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every attempt of `owner`'s run `run_id`, by step then attempt; none
    /// for another owner's run.
    pub async fn attempts_owned(
        &self,
        owner: &str,
        run_id: &str,
    ) -> Result<Vec<AttemptRow>, StoreError> {
        let columns: Vec<String> = ATTEMPT_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect();
        let rows = sqlx::query(&format!(
            "SELECT {} FROM step_attempts a JOIN runs r ON r.id = a.run_id \
             WHERE a.run_id = $1 AND r.owner = $2 ORDER BY a.step_index, a.attempt",
            columns.join(", ")
        ))
        .bind(run_id)
        .bind(owner)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_attempt).collect()
    }

    /// The run with this id, whoever owns it: for the executor and the
    /// triggers. A user's read goes through [`Runs::get_owned`].
    pub async fn get(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Runs, newest first, at most `limit`; only those of `owner` and of
    /// `workflow_id` when given.
    pub async fn list(
        &self,
        owner: Option<&str>,
        workflow_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RunRow>, StoreError> {
        let mut filters = Vec::new();
        let mut args = Vec::new();
        if let Some(owner) = owner {
            args.push(owner);
            filters.push(format!("owner = ${}", args.len()));
        }
        if let Some(workflow_id) = workflow_id {
            args.push(workflow_id);
            filters.push(format!("workflow_id = ${}", args.len()));
        }
        let filter = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM runs {filter} ORDER BY created_at DESC, id DESC LIMIT ${}",
            args.len() + 1
        );
        let mut query = sqlx::query(&sql);
        for arg in args {
            query = query.bind(arg);
        }
        let rows = query.bind(limit).fetch_all(self.store.pool()).await?;
        rows.iter().map(decode).collect()
    }

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

    /// The greatest unexpired trigger key of `workflow_id` that starts
    /// with `prefix` (keys of one kind are zero-padded so text order is
    /// time order): where a schedule left off.
    pub async fn latest_key(
        &self,
        workflow_id: &str,
        prefix: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT MAX(key) AS key FROM trigger_keys \
             WHERE workflow_id = $1 AND key LIKE $2 AND expires_at > $3",
        )
        .bind(workflow_id)
        .bind(format!("{prefix}%"))
        .bind(now)
        .fetch_one(self.store.pool())
        .await?;
        Ok(row.try_get("key")?)
    }

    /// Runs that finished at or after `since` (Unix ms), oldest first, at
    /// most `limit`: what the event sweeper looks at.
    pub async fn finished_since(&self, since: i64, limit: i64) -> Result<Vec<RunRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM runs WHERE finished_at >= $1 \
             AND status IN ('succeeded', 'failed', 'cancelled') \
             ORDER BY finished_at, id LIMIT $2"
        ))
        .bind(since)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
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

    /// Record that an attempt starts, fenced by the lease: in one
    /// transaction, check the run is still leased by `lease_owner` with
    /// `lease_until >= a.now` (a conditional UPDATE of `runs.updated_at`),
    /// then insert the attempt (running) — or, when that (run, step,
    /// attempt) row exists and is still running (a process died during it
    /// and this one resumes it), update its `started_at` and `input`.
    /// False, with nothing written, when the lease is lost; an error when
    /// the attempt exists and is finished.
    pub async fn start_attempt(
        &self,
        a: &NewAttempt<'_>,
        lease_owner: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let held = sqlx::query(fenced!("UPDATE runs SET updated_at = $3"))
            .bind(a.run_id)
            .bind(lease_owner)
            .bind(a.now)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if !held {
            tx.rollback().await?;
            return Ok(false);
        }
        write_attempt(&mut tx, a, AttemptWrite::Start).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Record an attempt's result and move the run per `update`, in one
    /// transaction fenced by the lease (`lease_until >= f.now`): false,
    /// with nothing written, when the lease is lost. `Continue` leaves
    /// `lease_until` as it is. An error when the attempt is not running
    /// (never started, or finished already) or `f.status` is `Running`.
    pub async fn finish_attempt(
        &self,
        f: &FinishAttempt<'_>,
        update: RunUpdate<'_>,
        lease_owner: &str,
    ) -> Result<bool, StoreError> {
        if f.status == AttemptStatus::Running {
            return Err(StoreError::Conflict(format!(
                "attempt {} of step {} of run {} cannot finish as `running`",
                f.attempt, f.step_index, f.run_id
            )));
        }
        let mut tx = self.store.pool().begin().await?;
        if !apply_update(&mut tx, f.run_id, lease_owner, f.now, update).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let finished = sqlx::query(
            "UPDATE step_attempts SET status = $1, output = $2, error = $3, report = $4, \
             retry_at = $5, finished_at = $6 \
             WHERE run_id = $7 AND step_index = $8 AND attempt = $9 AND status = 'running'",
        )
        .bind(f.status.as_str())
        .bind(f.output)
        .bind(f.error)
        .bind(f.report)
        .bind(f.retry_at)
        .bind(f.now)
        .bind(f.run_id)
        .bind(f.step_index)
        .bind(f.attempt)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !finished {
            tx.rollback().await?;
            return Err(StoreError::Conflict(format!(
                "attempt {} of step {} of run {} is not running",
                f.attempt, f.step_index, f.run_id
            )));
        }
        tx.commit().await?;
        Ok(true)
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
        let mut tx = self.store.pool().begin().await?;
        if !apply_update(&mut tx, a.run_id, lease_owner, a.now, update).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        write_attempt(&mut tx, a, AttemptWrite::Skip).await?;
        tx.commit().await?;
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

    /// Every attempt of a run, by step then attempt, whoever owns it (a
    /// user's read goes through [`Runs::attempts_owned`]).
    pub async fn attempts(&self, run_id: &str) -> Result<Vec<AttemptRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM step_attempts WHERE run_id = $1 \
             ORDER BY step_index, attempt"
        ))
        .bind(run_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_attempt).collect()
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
