//! The trigger service: the one place runs are created. Each trigger kind
//! turns its event into trigger data and calls [`start_run`], which pins
//! the owner's installed integrations, queues the run (deduplicated by a
//! key when the trigger has one) and wakes the local executor.
//!
//! - [`manual`]: `workway run <workflow> [--input json]`, and a rerun of
//!   an earlier run with its trigger data;
//! - [`webhook`]: signed POSTs to a workflow's secret URL, deduplicated;
//! - [`schedule`]: cron ticks in a time zone, once per tick cluster-wide;
//! - [`events`]: another workflow's run finished, or the platform emitted
//!   an event (an installation, a connection needing re-authorisation).

pub mod events;
pub mod manual;
pub mod schedule;
pub mod webhook;

use serde_json::{Value, json};
use workway_store::StoreError;
use workway_store::runs::{Inserted, NewRun};
use workway_store::workflows::{TriggerKind, WorkflowRow};

use crate::installations;
use crate::installations::{Pin, Pins};
use crate::platform::Platform;
use crate::saved::SaveError;
use workway_workflow::definition::WorkflowDefinition;

pub use crate::config::TriggerLimits;
pub use manual::manual;

/// Why no run was started.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    /// The workflow cannot be read.
    #[error(transparent)]
    Workflow(#[from] SaveError),
    /// A step's integration is no longer installed.
    #[error(
        "workflow `{workflow}` uses `{integration}`, which is not installed: run `workway install {integration}`"
    )]
    NotInstalled {
        /// The workflow.
        workflow: String,
        /// The integration.
        integration: String,
    },
    /// The trigger's data does not fit what the workflow expects.
    #[error("the input does not fit workflow `{workflow}`:\n  - {}", .problems.join("\n  - "))]
    Input {
        /// The workflow.
        workflow: String,
        /// Every problem, with the field it is in.
        problems: Vec<String>,
    },
    /// A bound of [`TriggerLimits`] refused the run. Event and schedule
    /// refusals are also recorded as a run with status `refused`, so the
    /// owner sees them in `workway runs list`.
    #[error("no run of `{workflow}` was started: {reason}")]
    Refused {
        /// The workflow.
        workflow: String,
        /// Which bound, and what to do about it.
        reason: String,
    },
    /// Installations could not be read.
    #[error(transparent)]
    Install(#[from] installations::InstallError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A run a trigger asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedRun {
    /// The run's id (the earlier run's, for a duplicate).
    pub run_id: String,
    /// Whether a key had already started a run, so none was created.
    pub duplicate: bool,
}

/// Whether refusals of runs started by `kind` are recorded as refused
/// runs: nobody waits on an event or a schedule to be told, while a
/// manual run's user and a webhook's sender get the refusal as the answer
/// (a recorded webhook refusal would hold the delivery's keys, so the
/// sender's retry would be taken for a duplicate).
fn records_refusals(kind: TriggerKind) -> bool {
    match kind {
        TriggerKind::Event | TriggerKind::Schedule => true,
        TriggerKind::Manual | TriggerKind::Webhook => false,
    }
}

/// Queue a run of `workflow`'s current version (`definition`, as the
/// trigger already read it) with `data` as its trigger data. With `keys`
/// (each a key and when it expires, Unix ms), a key seen before for this
/// workflow returns the run it started instead. Refused (and, for events
/// and schedules, recorded as refused) when the owner already has
/// [`TriggerLimits::max_queued_runs_per_owner`] runs waiting. A run of a
/// workflow deleted while it was being started is recorded cancelled.
pub async fn start_run(
    platform: &Platform,
    workflow: &WorkflowRow,
    definition: &WorkflowDefinition,
    kind: TriggerKind,
    data: &Value,
    keys: &[(&str, i64)],
) -> Result<StartedRun, TriggerError> {
    let mut pins = Pins::new();
    for step in &definition.steps {
        let name = step.integration();
        if pins.contains_key(name) {
            continue;
        }
        let installation = installations::find(&platform.store, &workflow.owner, name)
            .await?
            .ok_or_else(|| TriggerError::NotInstalled {
                workflow: workflow.name.clone(),
                integration: name.to_string(),
            })?;
        pins.insert(
            name.to_string(),
            Pin {
                version: installation.row.version.clone(),
                digest: installation.row.digest.clone(),
                config: installation.config.clone(),
            },
        );
    }
    let limit = platform.triggers.max_queued_runs_per_owner;
    let waiting = platform.store.runs().waiting_count(&workflow.owner).await?;
    if waiting >= limit {
        let reason = format!(
            "{} already has {waiting} runs waiting to start (triggers.max_queued_runs_per_owner \
             is {limit}); let them finish, or raise the bound",
            workflow.owner
        );
        return Err(refuse(platform, workflow, kind, data, keys, reason).await);
    }
    let run_id = uuid::Uuid::new_v4().to_string();
    let data = data.to_string();
    let pins = serde_json::to_string(&pins).unwrap_or_else(|_| "{}".into());
    let new = NewRun {
        id: &run_id,
        workflow_id: &workflow.id,
        workflow_version: workflow.version,
        owner: &workflow.owner,
        trigger_kind: kind,
        trigger_data: &data,
        pins: &pins,
        now: workway_store::clock::now_ms(),
    };
    let started = if keys.is_empty() {
        platform.store.runs().insert(&new).await?;
        StartedRun {
            run_id,
            duplicate: false,
        }
    } else {
        match platform.store.runs().insert_unique_keys(&new, keys).await? {
            Inserted::New => StartedRun {
                run_id,
                duplicate: false,
            },
            Inserted::Duplicate { run_id } => StartedRun {
                run_id,
                duplicate: true,
            },
        }
    };
    if !started.duplicate {
        if cancelled_as_deleted(platform, workflow, &started.run_id).await? {
            return Ok(started);
        }
        tracing::info!(run = %started.run_id, workflow = %workflow.name, %kind, "run queued");
        platform.queued.notify_waiters();
    }
    Ok(started)
}

/// Whether `workflow` turned out deleted once run `run_id` was inserted,
/// in which case the run is cancelled as [`crate::saved::delete`] cancels
/// the others. The trigger read the workflow before inserting; a deletion
/// committed in between cancelled the runs it saw, and this one may not
/// have been among them. Read after the insert committed, the workflow is
/// either seen deleted here, or deleted later, by a deletion whose second
/// sweep sees this run.
async fn cancelled_as_deleted(
    platform: &Platform,
    workflow: &WorkflowRow,
    run_id: &str,
) -> Result<bool, TriggerError> {
    let deleted = platform
        .store
        .workflows()
        .get(&workflow.id)
        .await?
        .is_none_or(|w| w.deleted_at.is_some());
    if deleted {
        platform
            .store
            .runs()
            .finish_unleased(
                run_id,
                workway_store::runs::RunStatus::Cancelled,
                Some(&crate::saved::deleted_workflow_error()),
                workway_store::clock::now_ms(),
            )
            .await?;
        tracing::info!(run = %run_id, workflow = %workflow.name, "run cancelled: its workflow was deleted");
    }
    Ok(deleted)
}

/// Refuse a run of `workflow` for `reason`: logged with its owner, and
/// recorded as a refused run (under `keys`, so the same event or tick is
/// not refused twice, nor logged twice) when [`records_refusals`] says so.
/// The error to return; a failure to record it is logged, not returned, so
/// the caller still learns the refusal.
pub(crate) async fn refuse(
    platform: &Platform,
    workflow: &WorkflowRow,
    kind: TriggerKind,
    data: &Value,
    keys: &[(&str, i64)],
    reason: String,
) -> TriggerError {
    let mut new_refusal = true;
    if records_refusals(kind) {
        let run_id = uuid::Uuid::new_v4().to_string();
        let data = data.to_string();
        let error = json!({ "refused": reason }).to_string();
        let new = NewRun {
            id: &run_id,
            workflow_id: &workflow.id,
            workflow_version: workflow.version,
            owner: &workflow.owner,
            trigger_kind: kind,
            trigger_data: &data,
            pins: "{}",
            now: workway_store::clock::now_ms(),
        };
        match platform
            .store
            .runs()
            .insert_refused(&new, &error, keys)
            .await
        {
            Ok(Inserted::New) => {}
            Ok(Inserted::Duplicate { .. }) => new_refusal = false,
            Err(e) => {
                tracing::warn!(workflow = %workflow.name, "cannot record the refused run: {e}");
            }
        }
    }
    if new_refusal {
        tracing::warn!(
            owner = %workflow.owner,
            workflow = %workflow.name,
            %kind,
            "run refused: {reason}"
        );
    }
    TriggerError::Refused {
        workflow: workflow.name.clone(),
        reason,
    }
}
