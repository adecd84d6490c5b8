//! The events the platform raises about an owner: a run finished
//! (`run_succeeded`, `run_failed`, `run_finished`), an integration was
//! installed (`installation_created`), a connection needs its owner to
//! authorise again (`connection_needs_reauth`).
//!
//! Services publish them to the platform's outbox
//! ([`Platform::publish`](crate::platform::Platform::publish)) and know
//! nothing of who listens; the event trigger
//! ([`triggers::events`](crate::triggers::events)) consumes them and starts
//! the workflows watching each one.

use serde::Deserialize;
use serde_json::{Value, json};
use workway_store::runs::{RunRow, RunStatus, TriggerKind};
use workway_workflow::definition::{EventKind, Trigger};

use crate::stored_run::{self, RunColumn};

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
        let (depth, budget) = chain_of(run);
        let depth = depth + 1;
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
                    "budget": budget,
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

    /// Whether `trigger` watches this event.
    pub fn matches(&self, trigger: &Trigger) -> bool {
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

/// Where an event-started run stands in its chain, as its trigger data
/// carries it.
#[derive(Deserialize)]
struct ChainLink {
    /// How many run-event links led to the run (none when a platform
    /// event started it).
    #[serde(default)]
    chain: u64,
    /// What is left of the chain's budget for the runs below it.
    budget: u64,
}

/// How many run-event links led to `run`, and what is left of its chain's
/// budget (`None`: it began a chain). Read only from runs an event
/// started: any other run's trigger data is what a user or a sender wrote,
/// and must not be able to reset a chain or raise its budget. An event
/// run whose trigger data is damaged does not begin a chain either: its
/// budget counts as spent (the runs its events would start are refused)
/// and the damage is logged.
fn chain_of(run: &RunRow) -> (u64, Option<u64>) {
    if run.trigger_kind != TriggerKind::Event {
        return (0, None);
    }
    match stored_run::decode::<ChainLink>(run, RunColumn::TriggerData) {
        Ok(link) => (link.chain, Some(link.budget)),
        Err(damaged) => {
            tracing::warn!(
                run = %run.id,
                "{damaged}; its chain's budget counts as spent, so its events start no runs"
            );
            (0, Some(0))
        }
    }
}
