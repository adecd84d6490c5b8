//! The event trigger: a workflow starts when another workflow's run
//! finishes (`run_succeeded`, `run_failed`, `run_finished`), or when the
//! platform emits an event about the owner (`installation_created`,
//! `connection_needs_reauth`).
//!
//! Each event carries a key (`run_succeeded:<run id>`,
//! `installation_created:<installation>:<version>`, ...) used as the
//! started run's dedupe key, so an event seen twice (the executor emits it
//! when a run finishes, and the [`sweep`] re-emits recent ones in case a
//! host died in between) starts each watching workflow once. Chains of
//! runs started by run events stop at [`MAX_CHAIN`] links, so workflows
//! that watch each other cannot loop forever.

use serde_json::{Value, json};
use workway_store::runs::{RunRow, RunStatus};

use super::{StartedRun, TriggerError, start_run};
use crate::platform::Platform;
use crate::workflow::definition::{EventKind, Trigger};
use crate::workflow::saved;

/// The longest chain of runs started by run events.
pub const MAX_CHAIN: u64 = 8;

/// How long an event's key is remembered.
const KEY_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// Something that happened, for the workflows watching it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Whose it is: only this user's workflows see it.
    pub owner: String,
    /// Its unique key.
    pub key: String,
    /// The watched workflow's name (run events).
    pub workflow: Option<String>,
    /// The integration it is about (platform events).
    pub integration: Option<String>,
    /// The OAuth provider it is about (platform events).
    pub provider: Option<String>,
    /// What the started runs get as trigger data.
    pub data: Value,
}

impl Event {
    /// The events a finished `run` of `workflow` raises: its own kind and
    /// `run_finished`.
    pub fn of_run(run: &RunRow, workflow: &str) -> Vec<Event> {
        let kind = match run.status {
            RunStatus::Succeeded => EventKind::RunSucceeded,
            RunStatus::Failed => EventKind::RunFailed,
            _ => return Vec::new(),
        };
        let depth = chain_depth(&run.trigger_data) + 1;
        let error: Value = run
            .error
            .as_deref()
            .and_then(|e| serde_json::from_str(e).ok())
            .unwrap_or(Value::Null);
        [kind, EventKind::RunFinished]
            .into_iter()
            .map(|kind| Event {
                kind,
                owner: run.owner.clone(),
                key: format!("{}:{}", kind.as_str(), run.id),
                workflow: Some(workflow.to_string()),
                integration: None,
                provider: None,
                data: json!({
                    "event": kind.as_str(),
                    "chain": depth,
                    "run": {
                        "id": run.id,
                        "workflow": workflow,
                        "version": run.workflow_version,
                        "status": run.status.as_str(),
                        "error": error,
                    },
                }),
            })
            .collect()
    }

    /// `owner` installed (or re-installed) `integration` at `version`.
    pub fn installation_created(owner: &str, integration: &str, version: &str, id: &str) -> Event {
        let kind = EventKind::InstallationCreated;
        Event {
            kind,
            owner: owner.to_string(),
            key: format!("{}:{id}:{version}", kind.as_str()),
            workflow: None,
            integration: Some(integration.to_string()),
            provider: None,
            data: json!({"event": kind.as_str(), "integration": integration, "version": version}),
        }
    }

    /// `owner`'s connection `connection` to `provider` needs them to
    /// authorise again (its refresh failed at `at`, Unix ms).
    pub fn connection_needs_reauth(
        owner: &str,
        provider: &str,
        connection: &str,
        at: i64,
    ) -> Event {
        let kind = EventKind::ConnectionNeedsReauth;
        Event {
            kind,
            owner: owner.to_string(),
            key: format!("{}:{connection}:{at}", kind.as_str()),
            workflow: None,
            integration: None,
            provider: Some(provider.to_string()),
            data: json!({"event": kind.as_str(), "provider": provider, "connection": connection}),
        }
    }

    fn matches(&self, trigger: &Trigger) -> bool {
        let Trigger::Event {
            on,
            workflow,
            integration,
            provider,
        } = trigger
        else {
            return false;
        };
        *on == self.kind
            && (workflow.is_none() || *workflow == self.workflow)
            && (integration.is_none() || *integration == self.integration)
            && (provider.is_none() || *provider == self.provider)
    }
}

/// How many run-event links led to the run with this trigger data.
fn chain_depth(trigger_data: &str) -> u64 {
    serde_json::from_str::<Value>(trigger_data)
        .ok()
        .and_then(|v| v["chain"].as_u64())
        .unwrap_or(0)
}

/// Start a run of every workflow of the event's owner that watches it.
pub async fn emit(platform: &Platform, event: &Event) -> Result<Vec<StartedRun>, TriggerError> {
    if event.data["chain"].as_u64().unwrap_or(0) > MAX_CHAIN {
        tracing::warn!(key = %event.key, "event chain longer than {MAX_CHAIN}: not followed");
        return Ok(Vec::new());
    }
    let mut started = Vec::new();
    let watching = platform
        .store
        .workflows()
        .with_trigger("event", Some(&event.owner))
        .await?;
    for workflow in watching {
        let definition = saved::definition_of(platform, &workflow, workflow.version).await?;
        if !event.matches(&definition.trigger) {
            continue;
        }
        let expires = crate::oauth::token::now_ms().saturating_add(KEY_TTL_MS);
        let run = start_run(
            platform,
            &workflow,
            &definition,
            "event",
            &event.data,
            Some((&format!("event:{}", event.key), expires)),
        )
        .await?;
        if !run.duplicate {
            started.push(run);
        }
    }
    Ok(started)
}

/// Emit the events of a finished `run`.
pub async fn run_finished(platform: &Platform, run: &RunRow) -> Result<(), TriggerError> {
    let Some(workflow) = platform.store.workflows().get(&run.workflow_id).await? else {
        return Ok(());
    };
    for event in Event::of_run(run, &workflow.name) {
        emit(platform, &event).await?;
    }
    Ok(())
}

/// Re-emit the events of runs that finished since `since` (Unix ms): what
/// a host that died between finishing a run and emitting its events left
/// undone. Dedupe keys make repeats harmless. Returns the runs started.
pub async fn sweep(platform: &Platform, since: i64) -> Result<usize, TriggerError> {
    if platform
        .store
        .workflows()
        .with_trigger("event", None)
        .await?
        .is_empty()
    {
        return Ok(0);
    }
    let mut started = 0;
    for run in platform.store.runs().finished_since(since, 1_000).await? {
        let Some(workflow) = platform.store.workflows().get(&run.workflow_id).await? else {
            continue;
        };
        for event in Event::of_run(&run, &workflow.name) {
            started += emit(platform, &event).await?.len();
        }
    }
    Ok(started)
}
