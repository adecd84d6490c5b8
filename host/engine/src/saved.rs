//! Saved workflows: a definition is validated against the owner's
//! installed integrations (every action exists, every reference resolves,
//! every literal fits the action's input schema) before it is stored as
//! the workflow's next version. Runs keep the version they started with.
//!
//! Deleting a workflow ([`delete`]) keeps what its runs need to stay
//! readable (its row, marked deleted, and every version) and stops
//! everything else: its webhook URL finds nothing, its schedule and event
//! triggers no longer fire, its runs still queued, running or waiting are
//! cancelled, and its name is free for a new workflow.

use std::collections::BTreeMap;
use std::sync::Arc;

use workway_store::StoreError;
use workway_store::workflows::{DeletedWorkflow, SaveWorkflow, TriggerKind, WorkflowRow};

use crate::catalog::ApprovedIntegration;
use crate::installations;
use crate::platform::Platform;
use workway_workflow::definition::{DefinitionError, Trigger, WorkflowDefinition};
use workway_workflow::validate::{ActionLookup, ActionSchemas, ValidationError, validate};

/// Why a workflow could not be saved or read.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The text does not parse as a definition.
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    /// The definition does not hold against the installed integrations;
    /// every problem is listed with the step and field it is in.
    #[error("the workflow is not valid:\n  - {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  - "))]
    Invalid(Vec<ValidationError>),
    /// No workflow of that name.
    #[error("no workflow `{0}`; `workway workflow list` shows yours")]
    Unknown(String),
    /// A stored definition no longer parses.
    #[error("stored workflow `{0}` is damaged: {1}")]
    Damaged(String, String),
    /// The webhook signing secret could not be made or sealed.
    #[error("cannot make the webhook's signing secret: {0}")]
    Secret(#[source] crate::hook_secrets::SecretError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Installations could not be read.
    #[error(transparent)]
    Install(#[from] installations::InstallError),
}

/// A stored workflow with its current definition.
#[derive(Debug, Clone)]
pub struct SavedWorkflow {
    /// The stored row (id, version, webhook token...).
    pub row: WorkflowRow,
    /// The definition of `row.version`.
    pub definition: WorkflowDefinition,
}

/// What the owner's installations offer, resolved before validation.
struct Installed(BTreeMap<String, Result<Arc<ApprovedIntegration>, String>>);

impl ActionLookup for Installed {
    fn action(
        &self,
        integration: &str,
        action: &str,
    ) -> Result<ActionSchemas, workway_workflow::validate::LookupError> {
        use workway_workflow::validate::LookupError;
        match self.0.get(integration) {
            None => Err(LookupError::NotInstalled {
                integration: integration.to_owned(),
            }),
            Some(Err(why)) => Err(LookupError::Unusable(why.clone())),
            Some(Ok(approved)) => match approved.component.action(action) {
                Some(a) => Ok(ActionSchemas {
                    input: a.input_schema.clone(),
                    output: a.output_schema.clone(),
                }),
                None => {
                    let offered: Vec<String> = approved
                        .component
                        .description
                        .actions
                        .iter()
                        .map(|a| a.name.clone())
                        .collect();
                    Err(LookupError::NoAction {
                        integration: integration.to_owned(),
                        action: action.to_owned(),
                        offered: Some(offered),
                    })
                }
            },
        }
    }
}

async fn installed(
    platform: &Platform,
    owner: &str,
    definition: &WorkflowDefinition,
) -> Result<Installed, SaveError> {
    let mut map = BTreeMap::new();
    for step in &definition.steps {
        let name = step.integration();
        if map.contains_key(name) {
            continue;
        }
        let Some(installation) = installations::find(&platform.store, owner, name).await? else {
            continue;
        };
        let resolved = platform
            .catalog
            .get(name, Some(&installation.row.version))
            .await
            .map_err(|e| {
                format!(
                    "`{name}` {} is installed but cannot run: {e}",
                    installation.row.version
                )
            });
        map.insert(name.to_string(), resolved);
    }
    Ok(Installed(map))
}

/// Validate `definition` against `owner`'s installations and store it as the
/// next version of the workflow of its name (version 1 when new).
pub async fn save(
    platform: &Platform,
    owner: &str,
    definition: WorkflowDefinition,
) -> Result<SavedWorkflow, SaveError> {
    let lookup = installed(platform, owner, &definition).await?;
    validate(&definition, &lookup).map_err(SaveError::Invalid)?;
    // A webhook workflow keeps its URL and signing key across versions;
    // one becomes a webhook workflow gets both, made here.
    let existing = platform
        .store
        .workflows()
        .find(owner, &definition.name)
        .await?;
    let (token, secret) = match (&definition.trigger, existing.and_then(|w| w.webhook_token)) {
        (Trigger::Webhook { format, .. }, None) => {
            let token = new_token();
            let sealed = crate::hook_secrets::new_secret_for(*format)
                .and_then(|secret| crate::hook_secrets::seal_secret(platform, &token, &secret))
                .map_err(SaveError::Secret)?;
            (Some(token), Some(sealed))
        }
        _ => (None, None),
    };
    let row = platform
        .store
        .workflows()
        .save(&SaveWorkflow {
            new_id: &uuid::Uuid::new_v4().to_string(),
            owner,
            name: &definition.name,
            trigger_kind: trigger_kind(&definition.trigger),
            webhook_token: token.as_deref(),
            webhook_secret: secret.as_deref(),
            definition: &definition.to_json(),
            now: workway_store::clock::now_ms(),
        })
        .await?;
    tracing::info!(owner, workflow = %row.name, version = row.version, "workflow saved");
    Ok(SavedWorkflow { row, definition })
}

/// The stored kind of `trigger`: which trigger serves the workflow, and
/// what the runs it starts record as having started them.
pub fn trigger_kind(trigger: &Trigger) -> TriggerKind {
    match trigger {
        Trigger::Manual { .. } => TriggerKind::Manual,
        Trigger::Webhook { .. } => TriggerKind::Webhook,
        Trigger::Schedule { .. } => TriggerKind::Schedule,
        Trigger::Event { .. } => TriggerKind::Event,
    }
}

/// A random token for a webhook URL's secret path: 128 bits, URL-safe.
fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The workflow `name` of `owner`, at its current version.
pub async fn load(
    platform: &Platform,
    owner: &str,
    name: &str,
) -> Result<SavedWorkflow, SaveError> {
    let row = platform
        .store
        .workflows()
        .find(owner, name)
        .await?
        .ok_or_else(|| SaveError::Unknown(name.to_string()))?;
    let definition = definition_of(platform, &row, row.version).await?;
    Ok(SavedWorkflow { row, definition })
}

/// What a run cancelled because its workflow was deleted records as its
/// error (JSON).
pub fn deleted_workflow_error() -> String {
    serde_json::json!({"reason": "its workflow was deleted"}).to_string()
}

/// Delete `owner`'s workflow `name`; [`SaveError::Unknown`] when `owner`
/// has none of that name (another owner's included).
///
/// The workflow is marked deleted and its active runs cancelled in one
/// transaction. Its active runs are then cancelled once more, after that
/// commit, to catch a run inserted meanwhile by a trigger that read the
/// workflow before the deletion; one inserted after this second sweep is
/// cancelled by [`crate::triggers::start_run`], which reads the workflow
/// again after inserting. A step executing at that moment finishes in its
/// sandbox, but its result is not recorded and no further step starts, as
/// with [`crate::cancel::cancel`].
pub async fn delete(
    platform: &Platform,
    owner: &str,
    name: &str,
) -> Result<DeletedWorkflow, SaveError> {
    let error = deleted_workflow_error();
    let now = workway_store::clock::now_ms();
    let mut deleted = platform
        .store
        .workflows()
        .delete(owner, name, &error, now)
        .await?
        .ok_or_else(|| SaveError::Unknown(name.to_string()))?;
    let late = platform
        .store
        .runs()
        .cancel_active_of_workflow(&deleted.row.id, &error, now)
        .await?;
    deleted.cancelled_runs.extend(late);
    tracing::info!(
        owner,
        workflow = name,
        id = %deleted.row.id,
        cancelled_runs = deleted.cancelled_runs.len(),
        "workflow deleted"
    );
    Ok(deleted)
}

/// Version `version` of the stored workflow `row`.
pub async fn definition_of(
    platform: &Platform,
    row: &WorkflowRow,
    version: i64,
) -> Result<WorkflowDefinition, SaveError> {
    let stored = platform
        .store
        .workflows()
        .version(&row.id, version)
        .await?
        .ok_or_else(|| {
            SaveError::Damaged(row.name.clone(), format!("version {version} is missing"))
        })?;
    WorkflowDefinition::from_json(&stored.definition)
        .map_err(|e| SaveError::Damaged(row.name.clone(), e.to_string()))
}
