//! How a claimed run moves: its step attempts started, finished or
//! skipped together with the run's next state, each write fenced by the
//! holder's lease; and a run finished outside any lease (it cannot start,
//! or a user cancels it).

use super::{
    ATTEMPT_COLUMNS, AttemptStatus, FinishAttempt, NewAttempt, RunStatus, RunUpdate, Runs,
};
use crate::StoreError;

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
}
