//! The trigger service: the one place runs are created. Each trigger kind
//! turns its event into trigger data and calls [`start_run`], which pins
//! the owner's installed integrations, queues the run (deduplicated by a
//! key when the trigger has one) and wakes the local executor.
//!
//! - [`manual`]: `workway run <workflow> [--input json]`;
//! - [`webhook`]: signed POSTs to a workflow's secret URL, deduplicated;
//! - [`schedule`]: cron ticks in a time zone, once per tick cluster-wide;
//! - [`events`]: another workflow's run finished, or the platform emitted
//!   an event (an installation, a connection needing re-authorisation).

pub mod events;
pub mod manual;
pub mod schedule;
pub mod webhook;

use serde_json::Value;
use workway_store::StoreError;
use workway_store::runs::{Inserted, NewRun};
use workway_store::workflows::WorkflowRow;

use crate::installations;
use crate::platform::Platform;
use crate::workflow::definition::WorkflowDefinition;
use crate::workflow::executor::{Pin, Pins};
use crate::workflow::saved::SaveError;

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
    /// Whether the key had already started a run, so none was created.
    pub duplicate: bool,
}

/// Queue a run of `workflow`'s current version (`definition`, as the
/// trigger already read it) with `data` as its trigger data. With `dedupe`
/// (a key and when it expires, Unix ms), a key seen before for this
/// workflow returns the run it started instead.
pub async fn start_run(
    platform: &Platform,
    workflow: &WorkflowRow,
    definition: &WorkflowDefinition,
    kind: &str,
    data: &Value,
    dedupe: Option<(&str, i64)>,
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
        now: crate::oauth::token::now_ms(),
    };
    let started = match dedupe {
        None => {
            platform.store.runs().insert(&new).await?;
            StartedRun {
                run_id,
                duplicate: false,
            }
        }
        Some((key, expires_at)) => match platform
            .store
            .runs()
            .insert_unique(&new, key, expires_at)
            .await?
        {
            Inserted::New => StartedRun {
                run_id,
                duplicate: false,
            },
            Inserted::Duplicate { run_id } => StartedRun {
                run_id,
                duplicate: true,
            },
        },
    };
    if !started.duplicate {
        tracing::info!(run = %started.run_id, workflow = %workflow.name, kind, "run queued");
        platform.queued.notify_waiters();
    }
    Ok(started)
}
