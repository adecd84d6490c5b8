//! Driving one claimed run: from its first step without a committed
//! result to the end, a wait for a retry, a failure, or a lost lease.
//!
//! Per step: the condition (`when`) is evaluated against the run's
//! context; a false one records the step as skipped. Otherwise the input
//! template is rendered, the attempt is recorded as running (fenced by the
//! lease), the integration runs, and its result and the run's next state
//! are committed in one transaction before anything else happens. A run
//! resumed after a crash finds an attempt still marked running: it runs
//! that attempt again under the same idempotency key, so a service that
//! honours the key (Stripe) applies it once.

use std::sync::Arc;

use serde_json::{Value, json};
use workway_store::runs::{
    AttemptRow, AttemptStatus, FinishAttempt, NewAttempt, RunRow, RunStatus, RunUpdate,
};

use super::Executor;
use super::lease::Lease;
use super::step::{AttemptRequest, StepError};
use crate::events::Event;
use crate::installations::Pins;
use workway_workflow::definition::WorkflowDefinition;
use workway_workflow::retry::{Decision, decide};
use workway_workflow::template;

/// Where a drive left its run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Handed {
    /// Every step done.
    Succeeded,
    /// A step failed for good.
    Failed,
    /// Back in the queue until a retry is due.
    Waiting,
}

/// Why a drive stopped without handing the run back.
#[derive(Debug, thiserror::Error)]
pub(super) enum DriveError {
    /// Another executor holds the run now; it carries on from the last commit.
    #[error("the lease was lost; the run continues elsewhere")]
    LeaseLost,
    /// The store failed; the lease lapses and the run is resumed later.
    #[error("store: {0}")]
    Store(#[from] workway_store::StoreError),
}

/// The idempotency key of an attempt: the same for a resumed attempt,
/// different for each retry.
pub fn idempotency_key(run_id: &str, step_index: usize, attempt: i64) -> String {
    format!("{run_id}:{step_index}:{attempt}")
}

/// The document input templates and conditions read: the trigger's data,
/// each finished step's output and metadata, and the run itself.
fn context(
    run: &RunRow,
    def: &WorkflowDefinition,
    trigger: Value,
    attempts: &[AttemptRow],
) -> Value {
    let mut steps = serde_json::Map::new();
    for a in attempts
        .iter()
        .filter(|a| a.status == AttemptStatus::Succeeded)
    {
        let envelope: Value = a
            .output
            .as_deref()
            .and_then(|o| serde_json::from_str(o).ok())
            .unwrap_or(Value::Null);
        steps.insert(
            a.step_id.clone(),
            json!({"output": envelope["data"], "metadata": envelope["metadata"]}),
        );
    }
    json!({
        "trigger": trigger,
        "steps": steps,
        "run": {"id": run.id, "workflow": def.name, "version": run.workflow_version},
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"unencodable\": \"{e}\"}}"))
}

/// The run's error as stored: which step, which attempt, what, and why it
/// was not retried.
fn run_error(
    step_index: usize,
    step_id: &str,
    attempt: i64,
    error: &StepError,
    why: &str,
) -> String {
    to_json(&json!({
        "step": step_id,
        "step_index": step_index,
        "attempt": attempt,
        "error": error,
        "reason": why,
    }))
}

pub(super) async fn drive(
    executor: &Arc<Executor>,
    run: RunRow,
    lease: &Lease,
) -> Result<Handed, DriveError> {
    let store = &executor.platform.store;
    let runs = store.runs();
    let now = workway_store::clock::now_ms;
    let def = match executor
        .definition(&run.workflow_id, run.workflow_version)
        .await
    {
        Ok(def) => def,
        Err(e) => {
            let error = to_json(
                &json!({"error": StepError::platform("definition", e.clone()), "reason": "the run's workflow version cannot be read"}),
            );
            runs.finish_unleased(&run.id, RunStatus::Failed, Some(&error), now())
                .await?;
            return Ok(Handed::Failed);
        }
    };
    let pins: Pins = serde_json::from_str(&run.pins).unwrap_or_default();
    let trigger: Value = serde_json::from_str(&run.trigger_data).unwrap_or(Value::Null);
    let mut attempts = runs.attempts(&run.id).await?;
    let mut ctx = context(&run, &def, trigger, &attempts);
    let holder = lease.holder();
    let mut index = usize::try_from(run.next_step).unwrap_or(usize::MAX);

    loop {
        if lease.is_lost() {
            return Err(DriveError::LeaseLost);
        }
        let Some(step) = def.steps.get(index) else {
            // Past the last step with the run still open: only a run whose
            // definition lost steps can get here. Close it.
            runs.finish_unleased(&run.id, RunStatus::Succeeded, None, now())
                .await?;
            return Ok(Handed::Succeeded);
        };
        let after = |i: usize| -> RunUpdate<'static> {
            if i + 1 >= def.steps.len() {
                RunUpdate::Succeed
            } else {
                RunUpdate::Continue {
                    next_step: i64::try_from(i + 1).unwrap_or(i64::MAX),
                }
            }
        };
        let step_index = i64::try_from(index).unwrap_or(i64::MAX);
        let previous: Vec<&AttemptRow> = attempts
            .iter()
            .filter(|a| a.step_index == step_index)
            .collect();
        let attempt = match previous.last() {
            Some(a) if a.status == AttemptStatus::Running => a.attempt,
            Some(a) => a.attempt + 1,
            None => 1,
        };
        let key = idempotency_key(&run.id, index, attempt);
        let at = AttemptAt {
            run_id: &run.id,
            step_index,
            attempt,
            step_id: &step.id,
            action: &step.action,
            key: &key,
        };

        if let Some(condition) = &step.when
            && !condition.evaluate(&ctx)
        {
            let update = after(index);
            let done = matches!(update, RunUpdate::Succeed);
            if !runs.skip_step(&at.starting(None), update, holder).await? {
                return Err(DriveError::LeaseLost);
            }
            tracing::info!(step = %step.id, "skipped: its condition is false");
            attempts.push(at.recorded(AttemptStatus::Skipped, None, None));
            if done {
                return Ok(Handed::Succeeded);
            }
            index += 1;
            continue;
        }

        ctx["run"]["attempt"] = json!(attempt);
        let input = match template::render(&step.input, &ctx) {
            Ok(input) => input,
            Err(e) => {
                let error = StepError::workflow("template", e.to_string());
                if !runs.start_attempt(&at.starting(None), holder).await? {
                    return Err(DriveError::LeaseLost);
                }
                let why = "the step's input cannot be built; fix the workflow and run it again";
                let error_json = to_json(&error);
                let run_err = run_error(index, &step.id, attempt, &error, why);
                let finished = runs
                    .finish_attempt(
                        &at.failed(&error_json, None, None),
                        RunUpdate::Fail { error: &run_err },
                        holder,
                    )
                    .await?;
                return if finished {
                    Ok(Handed::Failed)
                } else {
                    Err(DriveError::LeaseLost)
                };
            }
        };
        let input_text = input.to_string();
        // Wait for the installation's bound before the attempt counts as started.
        let slots = executor.installation_slots(&run.owner, step.integration());
        let Ok(_permit) = slots.acquire_owned().await else {
            return Err(DriveError::LeaseLost);
        };
        if !runs
            .start_attempt(&at.starting(Some(&input_text)), holder)
            .await?
        {
            return Err(DriveError::LeaseLost);
        }
        let outcome = executor
            .attempt(AttemptRequest {
                owner: &run.owner,
                integration: step.integration(),
                action: step.action_name(),
                pin: pins.get(step.integration()),
                input: &input,
                idempotency_key: &key,
            })
            .await;
        let report = outcome.report.as_ref().map(to_json);
        match outcome.result {
            Ok(envelope) => {
                let output = to_json(&envelope);
                let update = after(index);
                let done = matches!(update, RunUpdate::Succeed);
                let committed = runs
                    .finish_attempt(&at.succeeded(&output, report.as_deref()), update, holder)
                    .await?;
                if !committed {
                    return Err(DriveError::LeaseLost);
                }
                tracing::info!(step = %step.id, attempt, "step succeeded");
                if let Value::Object(steps) = &mut ctx["steps"] {
                    steps.insert(
                        step.id.clone(),
                        json!({"output": envelope["data"], "metadata": envelope["metadata"]}),
                    );
                }
                attempts.push(at.recorded(AttemptStatus::Succeeded, Some(output), None));
                if done {
                    return Ok(Handed::Succeeded);
                }
                index += 1;
            }
            Err(error) => {
                let policy = step.retry_policy();
                let refreshed = previous.iter().any(|a| {
                    a.error
                        .as_deref()
                        .and_then(|e| serde_json::from_str::<StepError>(e).ok())
                        .is_some_and(|e| e.kind == "auth-expired")
                });
                let attempt_no = u32::try_from(attempt).unwrap_or(u32::MAX);
                let mut decision = decide(&policy, &error.failure(), attempt_no, refreshed);
                if decision == Decision::RefreshAndRetry {
                    decision = refresh(executor, &run.owner, &outcome.connections).await;
                }
                let error_json = to_json(&error);
                tracing::info!(step = %step.id, attempt, %error, ?decision, "step failed");
                let run_err = match &decision {
                    Decision::GiveUp { reason } => {
                        run_error(index, &step.id, attempt, &error, reason)
                    }
                    _ => String::new(),
                };
                let (retry_at, update, handed) = match &decision {
                    Decision::RefreshAndRetry => (
                        Some(now()),
                        RunUpdate::Continue {
                            next_step: step_index,
                        },
                        None,
                    ),
                    Decision::RetryAfter(delay) => {
                        let at = now() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                        let update = RunUpdate::Wait {
                            next_step: step_index,
                            not_before: at,
                        };
                        (Some(at), update, Some(Handed::Waiting))
                    }
                    Decision::GiveUp { .. } => (
                        None,
                        RunUpdate::Fail { error: &run_err },
                        Some(Handed::Failed),
                    ),
                };
                let committed = runs
                    .finish_attempt(
                        &at.failed(&error_json, report.as_deref(), retry_at),
                        update,
                        holder,
                    )
                    .await?;
                if !committed {
                    return Err(DriveError::LeaseLost);
                }
                attempts.push(at.recorded(AttemptStatus::Failed, None, Some(error_json)));
                if let Some(handed) = handed {
                    if handed == Handed::Waiting {
                        // Wake whoever polls: the retry may be due before the next poll.
                        executor.platform.queued.notify_waiters();
                    }
                    return Ok(handed);
                }
            }
        }
    }
}

/// After `auth-expired`: refresh the connections the attempt used; retry
/// at once if that worked, give up with the reason if it did not.
async fn refresh(
    executor: &Executor,
    owner: &str,
    connections: &Option<workway_vault::credentials::ExecutionConnections>,
) -> Decision {
    let Some(connections) = connections else {
        return Decision::GiveUp {
            reason: "the grant expired and the execution had no connection to refresh".into(),
        };
    };
    match executor
        .platform
        .vault
        .after_auth_expired(connections)
        .await
    {
        Ok(_) => Decision::RefreshAndRetry,
        Err(e) => {
            let at = workway_store::clock::now_ms();
            for connection in connections.connected() {
                let event =
                    Event::connection_needs_reauth(owner, &connection.provider, &connection.id, at);
                if let Err(e) = executor.platform.publish(&[event]).await {
                    tracing::warn!("cannot publish connection_needs_reauth: {e}");
                }
            }
            Decision::GiveUp {
                reason: format!(
                    "the connection could not be refreshed ({e}); reconnect the account and run again"
                ),
            }
        }
    }
}

/// One attempt of one step of one run: what its rows are keyed by.
struct AttemptAt<'a> {
    run_id: &'a str,
    step_index: i64,
    attempt: i64,
    step_id: &'a str,
    action: &'a str,
    key: &'a str,
}

impl<'a> AttemptAt<'a> {
    /// The row that records the attempt starting now (or skipped now).
    fn starting(&self, input: Option<&'a str>) -> NewAttempt<'a> {
        NewAttempt {
            run_id: self.run_id,
            step_index: self.step_index,
            attempt: self.attempt,
            step_id: self.step_id,
            action: self.action,
            input,
            idempotency_key: self.key,
            now: workway_store::clock::now_ms(),
        }
    }

    /// The attempt's result when it succeeded with `output`.
    fn succeeded(&self, output: &'a str, report: Option<&'a str>) -> FinishAttempt<'a> {
        FinishAttempt {
            run_id: self.run_id,
            step_index: self.step_index,
            attempt: self.attempt,
            status: AttemptStatus::Succeeded,
            output: Some(output),
            error: None,
            report,
            retry_at: None,
            now: workway_store::clock::now_ms(),
        }
    }

    /// The attempt's result when it failed with `error`.
    fn failed(
        &self,
        error: &'a str,
        report: Option<&'a str>,
        retry_at: Option<i64>,
    ) -> FinishAttempt<'a> {
        FinishAttempt {
            run_id: self.run_id,
            step_index: self.step_index,
            attempt: self.attempt,
            status: AttemptStatus::Failed,
            output: None,
            error: Some(error),
            report,
            retry_at,
            now: workway_store::clock::now_ms(),
        }
    }

    /// An in-memory copy of what was just committed, so the rest of the
    /// drive sees it without reading it back.
    fn recorded(
        &self,
        status: AttemptStatus,
        output: Option<String>,
        error: Option<String>,
    ) -> AttemptRow {
        AttemptRow {
            run_id: self.run_id.to_string(),
            step_index: self.step_index,
            attempt: self.attempt,
            step_id: self.step_id.to_string(),
            action: String::new(),
            status,
            input: None,
            output,
            error,
            report: None,
            idempotency_key: String::new(),
            started_at: 0,
            finished_at: None,
            retry_at: None,
        }
    }
}
