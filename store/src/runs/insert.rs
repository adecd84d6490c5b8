//! Making runs: queued, or recorded already finished as refused, and
//! deduplicated by trigger keys (one webhook delivery or cron tick starts
//! one run, however many processes see it); and where a kind of key left
//! off (a schedule's last tick).

use sqlx::Row as _;
use sqlx::any::AnyArguments;

use super::{Inserted, NewRun, Runs};
use crate::StoreError;

/// How many times [`Runs::insert_unique`] starts over when the key it
/// collided with disappeared before it could be read (expired and deleted
/// by another process in between).
const INSERT_UNIQUE_TRIES: usize = 8;

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
    .bind(new.trigger_kind.as_str())
    .bind(new.trigger_data)
    .bind(new.pins)
    .bind(new.now)
    .bind(refused)
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
}
