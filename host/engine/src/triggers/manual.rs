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
