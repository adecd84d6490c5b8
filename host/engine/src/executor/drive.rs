//! Driving one claimed run: from its first step without a committed
//! result to the end, a wait for a retry, a failure, or a lost lease.
//!
//! Per step: the condition (`when`) is evaluated against the run's
//! context; a false one records the step as skipped. Otherwise the input
//! template is rendered, the integration runs, and the attempt with its
//! result and the run's next state are committed in one transaction
//! (fenced by the lease) before anything else happens. An attempt still
//! executing after `record_running_after_ms` is recorded as running first,
//! so users see it; a fast one costs that one commit. A run resumed after
//! a crash makes the interrupted attempt again under the same number and
//! idempotency key (the number follows the committed attempts, and a row
//! left running is taken over), so a service that honours the key
//! (Stripe) applies it once.
//!
//! The drive goes in phases, each a function below: [`load`] the run's
//! workflow version, pins and trigger data (a run whose version cannot be
//! read or whose row is damaged fails there, before any step); then per
//! step [`Claimed::run_step`]: pick the attempt, skip it or render its
//! input, execute it (recording it as started if it runs long), and commit
//! it with its result and what the run does next.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use tracing::Instrument as _;
use workway_store::runs::{
    AttemptRow, AttemptStatus, FinishAttempt, Metered, NewAttempt, RunRow, RunStatus, RunUpdate,
    Runs,
};
use workway_vault::credentials::ExecutionConnections;

use super::Executor;
use super::lease::Lease;
use super::step::{AttemptOutcome, AttemptRequest, StepError};
use crate::events::Event;
use crate::installations::Pins;
use crate::stored_run::{self, RunColumn};
use workway_workflow::definition::{Step, WorkflowDefinition};
use workway_workflow::retry::{Decision, decide};
use workway_workflow::template;

/// Where a drive left its run.
#[derive(Debug)]
pub(crate) enum Handed {
    /// Finished in a commit under the lease (every step done, or a step
    /// failed for good): the run as committed, so its events need no read.
    Finished(Box<Ended>),
    /// Finished outside the lease (it could not start, or its definition
    /// lost steps): what it became is read back for its events.
    Closed,
    /// Back in the queue until a retry is due.
    Waiting,
}

/// A run finished under the lease, as its events need it.
#[derive(Debug)]
pub(crate) struct Ended {
    /// The run as claimed, with the status and error it was committed
    /// with.
    pub(crate) run: RunRow,
    /// Its workflow's name: the one every version of a workflow carries,
    /// since a workflow is saved by its definition's name.
    pub(crate) workflow: String,
}

/// Why a drive stopped stepping.
enum Stop {
    /// Every step done.
    Succeeded,
    /// A step failed for good, with the run's error as committed.
    Failed(String),
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
fn run_error(step_index: i64, step_id: &str, attempt: i64, error: &StepError, why: &str) -> String {
    to_json(&json!({
        "step": step_id,
        "step_index": step_index,
        "attempt": attempt,
        "error": error,
        "reason": why,
    }))
}

/// Now, Unix ms.
fn now() -> i64 {
    workway_store::clock::now_ms()
}

/// Drive the claimed `run` under `lease` until it is handed back
/// (succeeded, failed, waiting for a retry) or the lease is lost.
/// `first_claim`: this claim is the run's first, so it has no attempts.
pub(super) async fn drive(
    executor: &Arc<Executor>,
    run: RunRow,
    first_claim: bool,
    lease: &Lease,
) -> Result<Handed, DriveError> {
    let Some((claimed, mut progress)) = load(executor, run, first_claim, lease.holder()).await?
    else {
        return Ok(Handed::Closed);
    };
    let mut index = usize::try_from(claimed.run.next_step).unwrap_or(usize::MAX);
    loop {
        if lease.is_lost() {
            return Err(DriveError::LeaseLost);
        }
        let Some(step) = claimed.def.steps.get(index) else {
            return claimed.close_past_the_last_step().await;
        };
        match claimed.run_step(index, step, &mut progress).await? {
            Then::NextStep => index += 1,
            Then::SameStep => {}
            Then::Stop(stop) => return Ok(claimed.handed(stop)),
        }
    }
}

/// What a drive reads and never changes: the run as claimed, the workflow
/// version it pinned, what it pinned of each integration, and the name
/// its lease is held under.
struct Claimed<'a> {
    executor: &'a Executor,
    run: RunRow,
    def: Arc<WorkflowDefinition>,
    pins: Pins,
    holder: &'a str,
}

/// What a drive learns as it goes: every attempt of the run so far, and
/// the context input templates and conditions read (see [`context`]).
struct Progress {
    attempts: Vec<AttemptRow>,
    ctx: Value,
}

/// What the drive does after one step.
enum Then {
    /// Go on with the next step.
    NextStep,
    /// Run the same step again now (its connection was refreshed).
    SameStep,
    /// Stop: the run is handed back.
    Stop(Stop),
}

impl Then {
    /// After a step that is done and committed with `update`: stop when
    /// it was the last (the run succeeded), else go on.
    fn after_done(update: RunUpdate<'_>) -> Then {
        if matches!(update, RunUpdate::Succeed) {
            Then::Stop(Stop::Succeeded)
        } else {
            Then::NextStep
        }
    }
}

/// Load phase: the workflow version the run pinned, its pins and trigger
/// data, and the attempts made so far (none, without reading them, on the
/// run's `first_claim`). `None` for a run that cannot be
/// driven, its workflow version unreadable or its pins or trigger data
/// damaged: it is failed here, before any step, with the reason stored
/// (never run with empty values in place of what it stored).
async fn load<'a>(
    executor: &'a Executor,
    run: RunRow,
    first_claim: bool,
    holder: &'a str,
) -> Result<Option<(Claimed<'a>, Progress)>, DriveError> {
    let def = match executor
        .definition(&run.workflow_id, run.workflow_version)
        .await
    {
        Ok(def) => def,
        Err(e) => {
            let error = StepError::platform("definition", e.to_string());
            let why = "the run's workflow version cannot be read";
            fail_unstartable(executor, &run, &error, why).await?;
            return Ok(None);
        }
    };
    let stored = stored_run::decode::<Pins>(&run, RunColumn::Pins).and_then(|pins| {
        stored_run::decode::<Value>(&run, RunColumn::TriggerData).map(|trigger| (pins, trigger))
    });
    let (pins, trigger) = match stored {
        Ok(stored) => stored,
        Err(damaged) => {
            tracing::warn!(run = %run.id, "{damaged}: the run fails");
            let error = StepError::platform("damaged", damaged.to_string());
            let why = "the run's stored row is damaged; start a new run";
            fail_unstartable(executor, &run, &error, why).await?;
            return Ok(None);
        }
    };
    let attempts = if first_claim {
        Vec::new()
    } else {
        executor.platform.store.runs().attempts(&run.id).await?
    };
    let ctx = context(&run, &def, trigger, &attempts);
    Ok(Some((
        Claimed {
            executor,
            run,
            def,
            pins,
            holder,
        },
        Progress { attempts, ctx },
    )))
}

/// Fail `run`, which cannot be driven at all, outside its lease (no step
/// was attempted): `error` and `why` become its stored error.
async fn fail_unstartable(
    executor: &Executor,
    run: &RunRow,
    error: &StepError,
    why: &str,
) -> Result<(), DriveError> {
    let error = to_json(&json!({"error": error, "reason": why}));
    executor
        .platform
        .store
        .runs()
        .finish_unleased(&run.id, RunStatus::Failed, Some(&error), now())
        .await?;
    Ok(())
}

/// Pick phase: the number of the attempt to make of step `step_index`:
/// the one a process that died left running (resumed under its
/// idempotency key), else one more than the last, from 1.
fn next_attempt(attempts: &[AttemptRow], step_index: i64) -> i64 {
    match attempts.iter().rev().find(|a| a.step_index == step_index) {
        Some(a) if a.status == AttemptStatus::Running => a.attempt,
        Some(a) => a.attempt + 1,
        None => 1,
    }
}

/// Input phase: the step's input rendered from the context, which first
/// learns this attempt's number (`/run/attempt`).
fn render_input(step: &Step, attempt: i64, ctx: &mut Value) -> Result<Value, StepError> {
    ctx["run"]["attempt"] = json!(attempt);
    template::render(&step.input, ctx).map_err(|e| StepError::workflow("template", e.to_string()))
}

impl Claimed<'_> {
    /// The run tables.
    fn runs(&self) -> Runs<'_> {
        self.executor.platform.store.runs()
    }

    /// How the run moves once step `index` is done: on to the next step,
    /// or succeeded after the last.
    fn after(&self, index: usize) -> RunUpdate<'static> {
        if index + 1 >= self.def.steps.len() {
            RunUpdate::Succeed
        } else {
            RunUpdate::Continue {
                next_step: i64::try_from(index + 1).unwrap_or(i64::MAX),
            }
        }
    }

    /// The drive's outcome once it `stop`s: a finished run as committed.
    fn handed(self, stop: Stop) -> Handed {
        let (status, error) = match stop {
            Stop::Waiting => return Handed::Waiting,
            Stop::Succeeded => (RunStatus::Succeeded, self.run.error),
            Stop::Failed(error) => (RunStatus::Failed, Some(error)),
        };
        Handed::Finished(Box::new(Ended {
            run: RunRow {
                status,
                error,
                ..self.run
            },
            workflow: self.def.name.clone(),
        }))
    }

    /// Past the last step with the run still open: only a run whose
    /// definition lost steps can get here. Close it as succeeded.
    async fn close_past_the_last_step(&self) -> Result<Handed, DriveError> {
        self.runs()
            .finish_unleased(&self.run.id, RunStatus::Succeeded, None, now())
            .await?;
        Ok(Handed::Closed)
    }

    /// Step `index`, phase by phase: pick its attempt; skip it when its
    /// condition is false, or render its input; execute it within its
    /// installation's bound (recorded as started if it runs long); commit
    /// it with its result and what the run does next.
    async fn run_step(
        &self,
        index: usize,
        step: &Step,
        progress: &mut Progress,
    ) -> Result<Then, DriveError> {
        let step_index = i64::try_from(index).unwrap_or(i64::MAX);
        let attempt = next_attempt(&progress.attempts, step_index);
        let key = idempotency_key(&self.run.id, index, attempt);
        let at = AttemptAt {
            run_id: &self.run.id,
            step_index,
            attempt,
            step_id: &step.id,
            action: &step.action,
            key: &key,
        };
        // Everything logged about this attempt, the execution's lines
        // included, carries the run, the step and the attempt.
        let span = tracing::info_span!("step", run_id = %self.run.id, step = %step.id, attempt);
        async {
            if let Some(condition) = &step.when
                && !condition.evaluate(&progress.ctx)
            {
                return self.skip(&at, index, step, progress).await;
            }
            let input = match render_input(step, attempt, &mut progress.ctx) {
                Ok(input) => input,
                Err(error) => return self.fail_unbuildable(&at, step, &error).await,
            };
            // Wait for the installation's bound before the attempt counts as
            // started; hold it until the result is committed.
            let slots = self
                .executor
                .installation_slots(&self.run.owner, step.integration());
            let Ok(_permit) = slots.acquire_owned().await else {
                return Err(DriveError::LeaseLost);
            };
            let input_text = input.to_string();
            let start = at.starting(Some(&input_text));
            let outcome = self.execute_recorded(step, &input, &start).await?;
            self.commit(&at, start, index, step, outcome, progress)
                .await
        }
        .instrument(span)
        .await
    }

    /// Skip phase: the step's condition is false; it is recorded as
    /// skipped and the run moved on, in one fenced write.
    async fn skip(
        &self,
        at: &AttemptAt<'_>,
        index: usize,
        step: &Step,
        progress: &mut Progress,
    ) -> Result<Then, DriveError> {
        let update = self.after(index);
        if !self
            .runs()
            .skip_step(&at.starting(None), update, self.holder)
            .await?
        {
            return Err(DriveError::LeaseLost);
        }
        tracing::info!(step = %step.id, "skipped: its condition is false");
        progress
            .attempts
            .push(at.recorded(AttemptStatus::Skipped, None, None));
        Ok(Then::after_done(update))
    }

    /// The step's input cannot be built: the attempt is recorded as
    /// failed with `error` (in one write), and the run fails (a retry would
    /// build the same input).
    async fn fail_unbuildable(
        &self,
        at: &AttemptAt<'_>,
        step: &Step,
        error: &StepError,
    ) -> Result<Then, DriveError> {
        let why = "the step's input cannot be built; fix the workflow and run it again";
        let error_json = to_json(error);
        let run_err = run_error(at.step_index, &step.id, at.attempt, error, why);
        let finished = self
            .runs()
            .finish_attempt(
                &at.failed(at.starting(None), &error_json, None, None, None),
                RunUpdate::Fail { error: &run_err },
                self.holder,
            )
            .await?;
        if finished {
            Ok(Then::Stop(Stop::Failed(run_err)))
        } else {
            Err(DriveError::LeaseLost)
        }
    }

    /// Execute phase, for an attempt that `start`s now: [`Self::execute`],
    /// and once it has run for `record_running_after_ms`, the attempt
    /// recorded as started (fenced by the lease) while it goes on. A lost
    /// lease stops the execution there; a start being written is waited
    /// for before the result, so the two never race.
    async fn execute_recorded(
        &self,
        step: &Step,
        input: &Value,
        start: &NewAttempt<'_>,
    ) -> Result<AttemptOutcome, DriveError> {
        let execution = self.execute(step, input, start.idempotency_key);
        tokio::pin!(execution);
        let after = self.executor.config.record_running_after();
        tokio::select! {
            biased;
            outcome = &mut execution => return Ok(outcome),
            () = tokio::time::sleep(after) => {}
        }
        let recorded = self.record_start(start);
        tokio::pin!(recorded);
        tokio::select! {
            outcome = &mut execution => {
                recorded.await?;
                Ok(outcome)
            }
            held = &mut recorded => {
                held?;
                Ok(execution.await)
            }
        }
    }

    /// Record phase: the attempt `start` is recorded as started with its
    /// input, fenced by the lease.
    async fn record_start(&self, start: &NewAttempt<'_>) -> Result<(), DriveError> {
        if self.runs().start_attempt(start, self.holder).await? {
            Ok(())
        } else {
            Err(DriveError::LeaseLost)
        }
    }

    /// Execute phase: one attempt of the step's action, on the version of
    /// its integration the run pinned; its wall time is recorded
    /// ([`crate::metrics::step_attempt`]).
    async fn execute(&self, step: &Step, input: &Value, key: &str) -> AttemptOutcome {
        let started = Instant::now();
        let outcome = self
            .executor
            .attempt(AttemptRequest {
                owner: &self.run.owner,
                integration: step.integration(),
                action: step.action_name(),
                pin: self.pins.get(step.integration()),
                input,
                idempotency_key: key,
            })
            .await;
        let reported_by = match &outcome.result {
            Ok(_) => "ok",
            Err(error) => error.source.as_str(),
        };
        crate::metrics::step_attempt(reported_by, started.elapsed());
        outcome
    }

    /// Commit phase: the attempt that `start`ed with its result, and the
    /// run's next state, in one fenced transaction; then what the drive
    /// does next.
    async fn commit(
        &self,
        at: &AttemptAt<'_>,
        start: NewAttempt<'_>,
        index: usize,
        step: &Step,
        outcome: AttemptOutcome,
        progress: &mut Progress,
    ) -> Result<Then, DriveError> {
        let report = outcome.report.as_ref().map(to_json);
        let usage = outcome
            .report
            .as_ref()
            .map(|r| crate::billing::metered(&self.run.owner, step.integration(), r));
        let recorded = Recorded {
            start,
            report: report.as_deref(),
            usage,
        };
        match outcome.result {
            Ok(envelope) => {
                self.commit_success(at, index, step, &envelope, recorded, progress)
                    .await
            }
            Err(error) => {
                let decision = self
                    .retry_decision(at, step, &error, &outcome.connections, &progress.attempts)
                    .await;
                self.commit_failure(at, step, &error, decision, recorded, progress)
                    .await
            }
        }
    }

    /// A succeeded attempt: its output committed with the run moved on;
    /// the output joins the context for the steps after it.
    async fn commit_success(
        &self,
        at: &AttemptAt<'_>,
        index: usize,
        step: &Step,
        envelope: &Value,
        recorded: Recorded<'_>,
        progress: &mut Progress,
    ) -> Result<Then, DriveError> {
        let output = to_json(envelope);
        let update = self.after(index);
        let committed = self
            .runs()
            .finish_attempt(&at.succeeded(&output, recorded), update, self.holder)
            .await?;
        if !committed {
            return Err(DriveError::LeaseLost);
        }
        tracing::info!(step = %step.id, attempt = at.attempt, "step succeeded");
        if let Value::Object(steps) = &mut progress.ctx["steps"] {
            steps.insert(
                step.id.clone(),
                json!({"output": envelope["data"], "metadata": envelope["metadata"]}),
            );
        }
        progress
            .attempts
            .push(at.recorded(AttemptStatus::Succeeded, Some(output), None));
        Ok(Then::after_done(update))
    }

    /// Decide phase, after a failed attempt: the step's retry policy's
    /// answer, once the grant was refreshed when the integration said it
    /// expired (at most once per step: `attempts` says whether an earlier
    /// attempt of the step already did).
    async fn retry_decision(
        &self,
        at: &AttemptAt<'_>,
        step: &Step,
        error: &StepError,
        connections: &Option<ExecutionConnections>,
        attempts: &[AttemptRow],
    ) -> Decision {
        let policy = step.retry_policy();
        let refreshed = attempts
            .iter()
            .filter(|a| a.step_index == at.step_index)
            .any(|a| {
                a.error
                    .as_deref()
                    .and_then(|e| serde_json::from_str::<StepError>(e).ok())
                    .is_some_and(|e| e.kind == "auth-expired")
            });
        let attempt_no = u32::try_from(at.attempt).unwrap_or(u32::MAX);
        let decision = decide(&policy, &error.failure(), attempt_no, refreshed);
        if decision == Decision::RefreshAndRetry {
            refresh(self.executor, &self.run.owner, connections).await
        } else {
            decision
        }
    }

    /// A failed attempt: committed with what `decision` makes of the run
    /// (the same step again now, a wait for a retry, or a failure).
    async fn commit_failure(
        &self,
        at: &AttemptAt<'_>,
        step: &Step,
        error: &StepError,
        decision: Decision,
        recorded: Recorded<'_>,
        progress: &mut Progress,
    ) -> Result<Then, DriveError> {
        let error_json = to_json(error);
        tracing::info!(step = %step.id, attempt = at.attempt, %error, ?decision, "step failed");
        let run_err = match &decision {
            Decision::GiveUp { reason } => {
                run_error(at.step_index, &step.id, at.attempt, error, reason)
            }
            _ => String::new(),
        };
        let (retry_at, update, then) = match &decision {
            Decision::RefreshAndRetry => (
                Some(now()),
                RunUpdate::Continue {
                    next_step: at.step_index,
                },
                Then::SameStep,
            ),
            Decision::RetryAfter(delay) => {
                let due = now() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
                let update = RunUpdate::Wait {
                    next_step: at.step_index,
                    not_before: due,
                };
                (Some(due), update, Then::Stop(Stop::Waiting))
            }
            Decision::GiveUp { .. } => (
                None,
                RunUpdate::Fail { error: &run_err },
                Then::Stop(Stop::Failed(run_err.clone())),
            ),
        };
        let committed = self
            .runs()
            .finish_attempt(
                &at.failed(
                    recorded.start,
                    &error_json,
                    recorded.report,
                    retry_at,
                    recorded.usage,
                ),
                update,
                self.holder,
            )
            .await?;
        if !committed {
            return Err(DriveError::LeaseLost);
        }
        progress
            .attempts
            .push(at.recorded(AttemptStatus::Failed, None, Some(error_json)));
        if matches!(then, Then::Stop(Stop::Waiting)) {
            // Wake whoever polls: the retry may be due before the next poll.
            self.executor.platform.queued.notify_waiters();
        }
        Ok(then)
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

/// What an execution adds to its attempt's result: the attempt as it
/// started, the report (JSON) and the usage record, when the plugin ran.
#[derive(Clone)]
struct Recorded<'a> {
    start: NewAttempt<'a>,
    report: Option<&'a str>,
    usage: Option<Metered<'a>>,
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
    fn succeeded(&self, output: &'a str, recorded: Recorded<'a>) -> FinishAttempt<'a> {
        FinishAttempt {
            start: recorded.start,
            status: AttemptStatus::Succeeded,
            output: Some(output),
            error: None,
            report: recorded.report,
            retry_at: None,
            now: workway_store::clock::now_ms(),
            usage: recorded.usage,
        }
    }

    /// The attempt that `start`ed, when it failed with `error`.
    fn failed(
        &self,
        start: NewAttempt<'a>,
        error: &'a str,
        report: Option<&'a str>,
        retry_at: Option<i64>,
        usage: Option<Metered<'a>>,
    ) -> FinishAttempt<'a> {
        FinishAttempt {
            start,
            status: AttemptStatus::Failed,
            output: None,
            error: Some(error),
            report,
            retry_at,
            now: workway_store::clock::now_ms(),
            usage,
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
