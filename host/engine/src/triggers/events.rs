//! The event trigger: a workflow starts when another workflow's run
//! finishes (`run_succeeded`, `run_failed`, `run_finished`), or when the
//! platform emits an event about the owner (`installation_created`,
//! `connection_needs_reauth`).
//!
//! Each event carries a key (`run_succeeded:<run id>`,
//! `installation_created:<installation>:<version>`, ...) used as the
//! started run's dedupe key, so an event seen twice (the executor emits it
//! when a run finishes, and the [`sweep`] re-emits recent ones in case a
//! host died in between) starts each watching workflow once.
//!
//! Many workflows watching one, and workflows watching each other, would
//! otherwise queue runs without bound in width and depth. Three bounds
//! hold that growth (see [`TriggerLimits`](super::TriggerLimits)): one
//! event starts at most `max_runs_per_event` runs; a chain of runs started
//! by run events stops at [`MAX_CHAIN`] links; and the whole tree of runs
//! descending from one run or platform event starts at most
//! `max_runs_per_chain` runs, because each event hands what is left of
//! that budget, shared equally, to the runs it starts (carried in their
//! trigger data as `budget`). A workflow an event does not start for a
//! bound gets a run with status `refused` whose error says which bound,
//! recorded under the event's key so a repeat does not record it again.

use serde_json::json;
use workway_store::runs::RunRow;
use workway_store::workflows::TriggerKind;

use async_trait::async_trait;

use super::{StartedRun, TriggerError, refuse, start_run};
pub use crate::events::Event;
use crate::platform::{EventSubscriber, Platform, PublishError};
use crate::saved;

/// The longest chain of runs started by run events.
pub const MAX_CHAIN: u64 = 8;

/// How long an event's key is remembered.
const KEY_TTL_MS: i64 = 7 * 24 * 3600 * 1000;

/// The event trigger as the outbox's subscriber: every published event
/// starts the workflows watching it, within the bounds.
pub struct EventTrigger;

#[async_trait]
impl EventSubscriber for EventTrigger {
    async fn deliver(&self, platform: &Platform, events: &[Event]) -> Result<(), PublishError> {
        emit_all(platform, events)
            .await
            .map(|_| ())
            .map_err(|e| PublishError {
                key: events.first().map(|e| e.key.clone()).unwrap_or_default(),
                source: Box::new(e),
            })
    }
}

/// Start a run of every workflow of the event's owner that watches it,
/// within the fan-out and chain bounds.
pub async fn emit(platform: &Platform, event: &Event) -> Result<Vec<StartedRun>, TriggerError> {
    emit_all(platform, std::slice::from_ref(event)).await
}

/// Start the runs of `events`, which happened together (the events of one
/// finished run: its own kind and `run_finished`) and so share one
/// fan-out bound and one budget. Workflows are taken by name; those past
/// the bounds are refused and recorded.
async fn emit_all(platform: &Platform, events: &[Event]) -> Result<Vec<StartedRun>, TriggerError> {
    let Some(first) = events.first() else {
        return Ok(Vec::new());
    };
    let depth = first.data["chain"].as_u64().unwrap_or(0);
    let limits = &platform.triggers;
    let budget = first.data["budget"]
        .as_u64()
        .unwrap_or(limits.max_runs_per_chain);
    let mut matched = Vec::new();
    for workflow in platform
        .store
        .workflows()
        .with_trigger(TriggerKind::Event, Some(&first.owner))
        .await?
    {
        let definition = saved::definition_of(platform, &workflow, workflow.version).await?;
        if let Some(event) = events.iter().find(|e| e.matches(&definition.trigger)) {
            matched.push((workflow, definition, event));
        }
    }
    let by_fan_out = if depth > MAX_CHAIN {
        0
    } else {
        matched.len().min(limits.max_runs_per_event)
    };
    let allowed = by_fan_out.min(usize::try_from(budget).unwrap_or(usize::MAX));
    // What each started run may start below it: the budget left after
    // this event's own runs, shared equally.
    let child_budget = match u64::try_from(allowed) {
        Ok(n) if n > 0 => budget.saturating_sub(n) / n,
        _ => 0,
    };
    let expires = workway_store::clock::now_ms().saturating_add(KEY_TTL_MS);
    let mut started = Vec::new();
    let total = matched.len();
    for (index, (workflow, definition, event)) in matched.into_iter().enumerate() {
        let mut data = event.data.clone();
        if let Some(object) = data.as_object_mut() {
            object.insert("budget".into(), json!(child_budget));
        }
        let key = format!("event:{}", event.key);
        let keys = [(key.as_str(), expires)];
        if index >= allowed {
            let why = if depth > MAX_CHAIN {
                format!(
                    "its run would be link {depth} of a chain of runs started by run events, \
                     which stops after {MAX_CHAIN}"
                )
            } else if index >= by_fan_out {
                format!(
                    "at most {} runs start per event (triggers.max_runs_per_event)",
                    limits.max_runs_per_event
                )
            } else {
                format!(
                    "the chain of runs it belongs to had {budget} left to start \
                     (triggers.max_runs_per_chain is {})",
                    limits.max_runs_per_chain
                )
            };
            let reason = format!(
                "event `{}` matched {total} workflows of {}, taken by name; {why}",
                event.key, event.owner
            );
            refuse(
                platform,
                &workflow,
                TriggerKind::Event,
                &data,
                &keys,
                reason,
            )
            .await;
            continue;
        }
        match start_run(
            platform,
            &workflow,
            &definition,
            TriggerKind::Event,
            &data,
            &keys,
        )
        .await
        {
            Ok(run) if !run.duplicate => started.push(run),
            Ok(_) | Err(TriggerError::Refused { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(started)
}

/// Emit the events of a finished `run`.
pub async fn run_finished(platform: &Platform, run: &RunRow) -> Result<(), TriggerError> {
    let Some(workflow) = platform.store.workflows().get(&run.workflow_id).await? else {
        return Ok(());
    };
    emit_all(platform, &Event::of_run(run, &workflow.name)).await?;
    Ok(())
}

/// Re-emit the events of runs that finished since `since` (Unix ms): what
/// a host that died between finishing a run and emitting its events left
/// undone. Dedupe keys make repeats harmless. Returns the runs started.
pub async fn sweep(platform: &Platform, since: i64) -> Result<usize, TriggerError> {
    if platform
        .store
        .workflows()
        .with_trigger(TriggerKind::Event, None)
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
        started += emit_all(platform, &Event::of_run(&run, &workflow.name))
            .await?
            .len();
    }
    Ok(started)
}
