//! The `workflows` and `workflow_versions` tables: workflows named per
//! owner, with every version of their definition kept (runs pin the
//! version they started with), and [`TriggerKind`], how a workflow's runs
//! start (stored with the workflow and with each of its runs).
//!
//! A deleted workflow keeps its row and versions, marked `deleted_at`, so
//! the runs it recorded stay readable; every query here but
//! [`Workflows::get`], [`Workflows::names`] and the version reads sees
//! only workflows that are not deleted, and its name is free again.

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

stored_enum! {
    /// How a workflow's runs start. Stored with the workflow (which
    /// trigger serves it) and with each run (what started it).
    pub enum TriggerKind("trigger kind") {
        /// Started by hand (`workway run`).
        Manual = "manual",
        /// Started by a signed POST to the workflow's webhook URL.
        Webhook = "webhook",
        /// Started by a cron tick.
        Schedule = "schedule",
        /// Started by another workflow's run finishing, or by a platform
        /// event about the owner.
        Event = "event",
    }
}

/// A stored workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowRow {
    /// The workflow's id.
    pub id: String,
    /// The user who owns it.
    pub owner: String,
    /// Its name, unique per owner.
    pub name: String,
    /// Its latest version, from 1.
    pub version: i64,
    /// How its runs start.
    pub trigger_kind: TriggerKind,
    /// The secret path component of its webhook URL, when it has one.
    pub webhook_token: Option<String>,
    /// The sealed key its webhook deliveries are signed with.
    pub webhook_secret: Option<String>,
    /// When it was first saved (Unix ms).
    pub created_at: i64,
    /// When it was last saved (Unix ms).
    pub updated_at: i64,
    /// When it was deleted (Unix ms); `None` while it is not.
    pub deleted_at: Option<i64>,
}

/// A workflow just deleted, and the runs of it the deletion cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedWorkflow {
    /// The workflow's row as deleted.
    pub row: WorkflowRow,
    /// The runs that were queued, running or waiting, now cancelled.
    pub cancelled_runs: Vec<String>,
}

/// One saved version of a workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowVersionRow {
    /// The workflow.
    pub workflow_id: String,
    /// The version, from 1.
    pub version: i64,
    /// The definition as saved, JSON.
    pub definition: String,
    /// When it was saved (Unix ms).
    pub created_at: i64,
}

/// A workflow version to save.
#[derive(Debug, Clone)]
pub struct SaveWorkflow<'a> {
    /// The id to give the workflow, used only when it is new.
    pub new_id: &'a str,
    /// The user who owns it.
    pub owner: &'a str,
    /// Its name.
    pub name: &'a str,
    /// How its runs start (replaces the stored kind).
    pub trigger_kind: TriggerKind,
    /// Its webhook token: set when the workflow is new or when given; an
    /// existing workflow keeps its token when this is `None`.
    pub webhook_token: Option<&'a str>,
    /// The sealed webhook signing key, kept like `webhook_token`.
    pub webhook_secret: Option<&'a str>,
    /// The definition, JSON.
    pub definition: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// The queries on the workflow tables.
#[derive(Debug, Clone, Copy)]
pub struct Workflows<'s> {
    store: &'s Store,
}

impl Store {
    /// The `workflows` and `workflow_versions` tables.
    pub fn workflows(&self) -> Workflows<'_> {
        Workflows { store: self }
    }
}

const COLUMNS: &str = "id, owner, name, version, trigger_kind, webhook_token, webhook_secret, \
     created_at, updated_at, deleted_at";

/// The columns a new workflow is inserted with (`deleted_at` is `NULL`).
const INSERT_COLUMNS: &str =
    "id, owner, name, version, trigger_kind, webhook_token, webhook_secret, created_at, updated_at";

const VERSION_COLUMNS: &str = "workflow_id, version, definition, created_at";

/// How many times [`Workflows::save`] starts over when another process
/// created the same workflow at the same moment (once is enough; the bound
/// only turns a bug into an error instead of a busy loop).
const SAVE_TRIES: usize = 8;

fn decode(row: &AnyRow) -> Result<WorkflowRow, StoreError> {
    let trigger_kind: String = row.try_get("trigger_kind")?;
    Ok(WorkflowRow {
        id: row.try_get("id")?,
        owner: row.try_get("owner")?,
        name: row.try_get("name")?,
        version: row.try_get("version")?,
        trigger_kind: TriggerKind::decode(&trigger_kind)?,
        webhook_token: row.try_get("webhook_token")?,
        webhook_secret: row.try_get("webhook_secret")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        deleted_at: row.try_get("deleted_at")?,
    })
}

fn decode_version(row: &AnyRow) -> Result<WorkflowVersionRow, StoreError> {
    Ok(WorkflowVersionRow {
        workflow_id: row.try_get("workflow_id")?,
        version: row.try_get("version")?,
        definition: row.try_get("definition")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Workflows<'_> {
    /// Create the workflow at version 1, or add version N+1 of an existing
    /// (owner, name), in one transaction. Returns the row after the save.
    /// A deleted workflow of that name is not continued: the save creates
    /// a new workflow (new id, version 1).
    ///
    /// The bump is one `UPDATE ... SET version = version + 1 ... RETURNING`:
    /// SQLite runs one writer at a time, and on PostgreSQL a concurrent save
    /// waits for the row lock and then increments the committed version, so
    /// concurrent saves of one workflow each get their own version number.
    /// When the workflow does not exist yet it is inserted with `ON
    /// CONFLICT (owner, name) DO NOTHING`; losing that race starts over,
    /// and the next try bumps the winner's row.
    pub async fn save(&self, w: &SaveWorkflow<'_>) -> Result<WorkflowRow, StoreError> {
        for _ in 0..SAVE_TRIES {
            let mut tx = self.store.pool().begin().await?;
            // A write first: on SQLite the transaction takes the write lock
            // here, so nothing it reads afterwards can go stale.
            let bumped = sqlx::query(&format!(
                "UPDATE workflows SET version = version + 1, trigger_kind = $1, \
                 webhook_token = COALESCE($2, webhook_token), updated_at = $3, \
                 webhook_secret = COALESCE($6, webhook_secret) \
                 WHERE owner = $4 AND name = $5 AND deleted_at IS NULL RETURNING {COLUMNS}"
            ))
            .bind(w.trigger_kind.as_str())
            .bind(w.webhook_token)
            .bind(w.now)
            .bind(w.owner)
            .bind(w.name)
            .bind(w.webhook_secret)
            .fetch_optional(&mut *tx)
            .await?;
            let row = match bumped {
                Some(row) => row,
                None => {
                    let created = sqlx::query(&format!(
                        "INSERT INTO workflows ({INSERT_COLUMNS}) \
                         VALUES ($1, $2, $3, 1, $4, $5, $7, $6, $6) \
                         ON CONFLICT (owner, name) WHERE deleted_at IS NULL DO NOTHING \
                         RETURNING {COLUMNS}"
                    ))
                    .bind(w.new_id)
                    .bind(w.owner)
                    .bind(w.name)
                    .bind(w.trigger_kind.as_str())
                    .bind(w.webhook_token)
                    .bind(w.now)
                    .bind(w.webhook_secret)
                    .fetch_optional(&mut *tx)
                    .await?;
                    match created {
                        Some(row) => row,
                        None => {
                            // Created by someone else since the UPDATE.
                            tx.rollback().await?;
                            continue;
                        }
                    }
                }
            };
            let row = decode(&row)?;
            sqlx::query(&format!(
                "INSERT INTO workflow_versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4)"
            ))
            .bind(&row.id)
            .bind(row.version)
            .bind(w.definition)
            .bind(w.now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(row);
        }
        Err(StoreError::Conflict(format!(
            "cannot save workflow `{}` of {}: it kept changing under the save",
            w.name, w.owner
        )))
    }

    /// The workflow with this id, deleted or not (a run names the workflow
    /// it ran after the workflow is deleted; check
    /// [`WorkflowRow::deleted_at`] before acting on it).
    pub async fn get(&self, id: &str) -> Result<Option<WorkflowRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM workflows WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// `owner`'s workflow called `name` (not deleted).
    pub async fn find(&self, owner: &str, name: &str) -> Result<Option<WorkflowRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE owner = $1 AND name = $2 AND deleted_at IS NULL"
        ))
        .bind(owner)
        .bind(name)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The workflow (not deleted) whose webhook URL carries `token`.
    pub async fn by_webhook_token(&self, token: &str) -> Result<Option<WorkflowRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE webhook_token = $1 AND deleted_at IS NULL"
        ))
        .bind(token)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Replace the sealed webhook signing key of `owner`'s workflow `name`
    /// (a rotation: deliveries signed with the old key are refused from
    /// now on). The row after the change; `None` when `owner` has no such
    /// workflow with a webhook URL (another owner's workflow included).
    pub async fn set_webhook_secret(
        &self,
        owner: &str,
        name: &str,
        sealed: &str,
        now: i64,
    ) -> Result<Option<WorkflowRow>, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE workflows SET webhook_secret = $1, updated_at = $2 \
             WHERE owner = $3 AND name = $4 AND webhook_token IS NOT NULL \
             AND deleted_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(sealed)
        .bind(now)
        .bind(owner)
        .bind(name)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every workflow not deleted (of `owner` when given), by owner then name.
    pub async fn list(&self, owner: Option<&str>) -> Result<Vec<WorkflowRow>, StoreError> {
        let rows = match owner {
            Some(owner) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM workflows WHERE owner = $1 AND deleted_at IS NULL \
                     ORDER BY owner, name"
                ))
                .bind(owner)
                .fetch_all(self.store.pool())
                .await?
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM workflows WHERE deleted_at IS NULL \
                     ORDER BY owner, name"
                ))
                .fetch_all(self.store.pool())
                .await?
            }
        };
        rows.iter().map(decode).collect()
    }

    /// Every workflow not deleted whose runs start by `kind`, of `owner`
    /// only when given, by owner then name.
    pub async fn with_trigger(
        &self,
        kind: TriggerKind,
        owner: Option<&str>,
    ) -> Result<Vec<WorkflowRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM workflows WHERE trigger_kind = $1 \
             AND ($2 IS NULL OR owner = $2) AND deleted_at IS NULL ORDER BY owner, name"
        ))
        .bind(kind.as_str())
        .bind(owner)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode).collect()
    }

    /// The id and name of every workflow `owner` saved, deleted ones
    /// included, by name: what runs are listed with, since a run keeps
    /// naming its workflow after it is deleted. Two ids may share a name
    /// (a deleted workflow and a later one of the same name).
    pub async fn names(&self, owner: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT id, name FROM workflows WHERE owner = $1 ORDER BY name, id")
            .bind(owner)
            .fetch_all(self.store.pool())
            .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("name")?)))
            .collect()
    }

    /// Delete `owner`'s workflow `name`, in one transaction: mark it
    /// deleted (its row and versions stay, for the runs that name them),
    /// clear its webhook token and signing key (deliveries to its URL find
    /// nothing from now on), and cancel its runs that are queued, running
    /// or waiting with `cancel_error` (JSON) as their error, as
    /// [`crate::runs::Runs::finish_unleased`] would. `None` when `owner`
    /// has no such workflow (another owner's included).
    pub async fn delete(
        &self,
        owner: &str,
        name: &str,
        cancel_error: &str,
        now: i64,
    ) -> Result<Option<DeletedWorkflow>, StoreError> {
        let mut tx = self.store.pool().begin().await?;
        let row = sqlx::query(&format!(
            "UPDATE workflows SET deleted_at = $1, webhook_token = NULL, webhook_secret = NULL \
             WHERE owner = $2 AND name = $3 AND deleted_at IS NULL RETURNING {COLUMNS}"
        ))
        .bind(now)
        .bind(owner)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let row = decode(&row)?;
        let cancelled_runs = cancel_active_runs(&mut tx, &row.id, cancel_error, now).await?;
        tx.commit().await?;
        Ok(Some(DeletedWorkflow {
            row,
            cancelled_runs,
        }))
    }

    /// One saved version of a workflow.
    pub async fn version(
        &self,
        workflow_id: &str,
        version: i64,
    ) -> Result<Option<WorkflowVersionRow>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM workflow_versions \
             WHERE workflow_id = $1 AND version = $2"
        ))
        .bind(workflow_id)
        .bind(version)
        .fetch_optional(self.store.pool())
        .await?;
        row.as_ref().map(decode_version).transpose()
    }

    /// Every saved version of a workflow, oldest first.
    pub async fn versions(&self, workflow_id: &str) -> Result<Vec<WorkflowVersionRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM workflow_versions \
             WHERE workflow_id = $1 ORDER BY version"
        ))
        .bind(workflow_id)
        .fetch_all(self.store.pool())
        .await?;
        rows.iter().map(decode_version).collect()
    }
}

/// Cancel workflow `workflow_id`'s queued, running and waiting runs on
/// `conn` (the deletion's transaction, or a connection of
/// [`crate::runs::Runs::cancel_active_of_workflow`]); the ids cancelled.
/// It lives here, not in `runs`, because `runs` already reads this module.
pub(crate) async fn cancel_active_runs(
    conn: &mut sqlx::AnyConnection,
    workflow_id: &str,
    error: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "UPDATE runs SET status = 'cancelled', error = $1, lease_owner = NULL, \
         lease_until = NULL, finished_at = $2, updated_at = $2 \
         WHERE workflow_id = $3 AND status IN ('queued', 'running', 'waiting') RETURNING id",
    )
    .bind(error)
    .bind(now)
    .bind(workflow_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(|row| Ok(row.try_get("id")?)).collect()
}
