//! The manual trigger: a user starts a run by hand, with optional input
//! that becomes the run's trigger data (checked against the workflow's
//! `input_schema` when its trigger is manual and declares one).

use serde_json::Value;

use super::{StartedRun, TriggerError, start_run};
use crate::platform::Platform;
use crate::saved;
use workway_registry::schema::Schema;
use workway_store::workflows::TriggerKind;
use workway_workflow::definition::Trigger;

/// Start a run of `owner`'s workflow `name` with `input`.
pub async fn manual(
    platform: &Platform,
    owner: &str,
    name: &str,
    input: &Value,
) -> Result<StartedRun, TriggerError> {
    let workflow = saved::load(platform, owner, name).await?;
    if let Trigger::Manual {
        input_schema: Some(schema),
    } = &workflow.definition.trigger
    {
        let problems = match Schema::compile(schema) {
            Ok(schema) => schema.check(input).err(),
            Err(e) => Some(vec![format!(
                "the workflow's input_schema does not compile: {e}"
            )]),
        };
        if let Some(problems) = problems {
            return Err(TriggerError::Input {
                workflow: name.to_string(),
                problems,
            });
        }
    }
    start_run(
        platform,
        &workflow.row,
        &workflow.definition,
        TriggerKind::Manual,
        input,
        &[],
    )
    .await
}

/// Why a run could not be started again.
#[derive(Debug, thiserror::Error)]
pub enum RerunError {
    /// No run of this owner has that id.
    #[error("no such run")]
    NotFound,
    /// The run's workflow was deleted.
    #[error("the workflow of this run no longer exists")]
    WorkflowGone,
    /// The run's stored trigger data is not JSON.
    #[error("the stored trigger data of run {0} is damaged")]
    Damaged(String),
    /// Starting the new run failed.
    #[error(transparent)]
    Trigger(#[from] TriggerError),
}

/// Start `owner`'s run `run_id` again: a new manual run of the workflow's
/// current version with the same trigger data (its input, or the webhook
/// delivery or event that started it), pinned to the integrations
/// installed now.
pub async fn rerun(
    platform: &Platform,
    owner: &str,
    run_id: &str,
) -> Result<StartedRun, RerunError> {
    let store = &platform.store;
    let run = store
        .runs()
        .get_owned(owner, run_id)
        .await
        .map_err(TriggerError::Store)?
        .ok_or(RerunError::NotFound)?;
    let workflow = store
        .workflows()
        .get(&run.workflow_id)
        .await
        .map_err(TriggerError::Store)?
        .filter(|w| w.owner == owner && w.deleted_at.is_none())
        .ok_or(RerunError::WorkflowGone)?;
    let data: Value =
        serde_json::from_str(&run.trigger_data).map_err(|_| RerunError::Damaged(run.id.clone()))?;
    Ok(manual(platform, owner, &workflow.name, &data).await?)
}
