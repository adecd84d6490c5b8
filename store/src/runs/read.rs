//! Reading runs and their attempts back: by id for the executor and the
//! triggers, by owner for users (another owner's run reads as missing),
//! newest first for listings (a page at a time for the API), recently
//! finished for the event sweeper, and the count of an owner's waiting
//! runs for the queue bound.

use super::{
    ATTEMPT_COLUMNS, AttemptRow, COLUMNS, RunRow, RunStatus, Runs, decode, decode_attempt,
};
use crate::StoreError;

impl Runs<'_> {
    /// The run with this id, whoever owns it: for the executor and the
    /// triggers. A user's read goes through [`Runs::get_owned`].
    pub async fn get(&self, id: &str) -> Result<Option<RunRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM runs WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
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

    /// One page of `owner`'s runs, newest first (by `created_at`, then id),
    /// at most `limit`: only those of `workflow_id` and in `status` when
    /// given, and only those after `before` in that order (the
    /// `created_at` and id of the previous page's last run) when given.
    /// The page boundary is a key, not an offset, so runs created while a
    /// client pages through are neither skipped nor shown twice.
    pub async fn page(
        &self,
        owner: &str,
        workflow_id: Option<&str>,
        status: Option<RunStatus>,
        before: Option<(i64, &str)>,
        limit: i64,
    ) -> Result<Vec<RunRow>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM runs WHERE owner = $1");
        let mut next = 2;
        if workflow_id.is_some() {
            sql.push_str(&format!(" AND workflow_id = ${next}"));
            next += 1;
        }
        if status.is_some() {
            sql.push_str(&format!(" AND status = ${next}"));
            next += 1;
        }
        if before.is_some() {
            sql.push_str(&format!(
                " AND (created_at < ${next} OR (created_at = ${next} AND id < ${}))",
                next + 1
            ));
            next += 2;
        }
        sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT ${next}"));
        let mut query = sqlx::query(&sql).bind(owner);
        if let Some(workflow_id) = workflow_id {
            query = query.bind(workflow_id);
        }
        if let Some(status) = status {
            query = query.bind(status.as_str());
        }
        if let Some((created_at, id)) = before {
            query = query.bind(created_at).bind(id);
        }
        let rows = query.bind(limit).fetch_all(self.store.pool()).await?;
        rows.iter().map(decode).collect()
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

    /// How many runs wait in the queue, whoever owns them: queued or
    /// waiting to retry, due or not. What the `workway_runs_queued` gauge
    /// shows; one count over the `(status, not_before)` index.
    pub async fn queue_depth(&self) -> Result<i64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM runs WHERE status IN ('queued', 'waiting')")
                .fetch_one(self.store.pool())
                .await?;
        Ok(count)
    }
}
