//! The `runs`, `step_attempts` and `trigger_keys` tables: runs of
//! workflows, claimed by host processes under a lease; every attempt of
//! every step, written only by the process holding the run's lease; and the
//! trigger keys that make one webhook delivery or cron tick start one run.
//!
//! A run is `queued` when made, `running` while a process holds its lease,
//! `waiting` between a failed attempt and its retry, and `succeeded`,
//! `failed` or `cancelled` at the end. Every write a lease holder makes
//! ([`Runs::start_attempt`], [`Runs::finish_attempt`], [`Runs::skip_step`])
//! is fenced: it is one transaction that first updates the run on the
//! condition that the lease is still the caller's and unexpired, and writes
//! nothing when it is not, so a process that lost its lease (paused past
//! it, cut off from the database) cannot overwrite the work of the process
//! that took the run over.
//!
//! This module holds the rows and the [`Runs`] handle; the queries are
//! split by concern:
//!
//! - `insert`: making runs (queued, or recorded as refused), deduplicated
//!   by trigger keys;
//! - `claim`: claiming due runs under a lease, renewing and releasing it;
//! - `progress`: the fenced writes that move a claimed run through its
//!   step attempts, and finishing runs outside any lease (one run, or
//!   every active run of a deleted workflow);
//! - `read`: reading runs and attempts back, for the executor, the
//!   triggers and users.

mod claim;
#[cfg(test)]
mod claim_order;
mod insert;
#[cfg(test)]
mod plans;
mod progress;
mod read;

use sqlx::Row as _;
use sqlx::any::AnyRow;

use crate::{Store, StoreError};

pub use crate::workflows::TriggerKind;

stored_enum! {
    /// Where a run is.
    pub enum RunStatus("run status") {
        /// Made, waiting for a process to claim it.
        Queued = "queued",
        /// Claimed: a process holds its lease and drives it.
        Running = "running",
        /// Waiting until its `not_before` to retry a step.
        Waiting = "waiting",
        /// Every step done.
        Succeeded = "succeeded",
        /// Stopped by an error.
        Failed = "failed",
        /// Stopped by a user.
        Cancelled = "cancelled",
        /// Never started: a trigger bound (fan-out, queued runs per owner)
        /// refused it; `error` says which, so its owner can see why.
        Refused = "refused",
    }
}

impl RunStatus {
    /// Whether the run is over (succeeded, failed, cancelled or refused).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled | RunStatus::Refused
        )
    }
}

stored_enum! {
    /// Where a step attempt is.
    pub enum AttemptStatus("step attempt status") {
        /// Started, not finished (or its process died during it).
        Running = "running",
        /// Done.
        Succeeded = "succeeded",
        /// Failed (retried when its `retry_at` is set).
        Failed = "failed",
        /// Not run: its condition did not hold.
        Skipped = "skipped",
    }
}

/// A stored run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    /// The run's id.
    pub id: String,
    /// The workflow it runs.
    pub workflow_id: String,
    /// The workflow version it runs (pinned when it was made).
    pub workflow_version: i64,
    /// The workflow's owner.
    pub owner: String,
    /// What started it.
    pub trigger_kind: TriggerKind,
    /// What the trigger carried, JSON.
    pub trigger_data: String,
    /// What the run pinned (integration -> version and digest), JSON.
    pub pins: String,
    /// Where it is.
    pub status: RunStatus,
    /// The index of the step to run next.
    pub next_step: i64,
    /// When it may next be claimed (Unix ms).
    pub not_before: i64,
    /// The process holding its lease, while running.
    pub lease_owner: Option<String>,
    /// Until when the lease holds (Unix ms).
    pub lease_until: Option<i64>,
    /// Why it failed, JSON.
    pub error: Option<String>,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it was first claimed (Unix ms).
    pub started_at: Option<i64>,
    /// When it finished (Unix ms).
    pub finished_at: Option<i64>,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

/// A run to insert (queued, due now).
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    /// The run's id.
    pub id: &'a str,
    /// The workflow.
    pub workflow_id: &'a str,
    /// The workflow version to run.
    pub workflow_version: i64,
    /// The workflow's owner.
    pub owner: &'a str,
    /// What started it.
    pub trigger_kind: TriggerKind,
    /// What the trigger carried, JSON.
    pub trigger_data: &'a str,
    /// What the run pins, JSON.
    pub pins: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// A stored step attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// The run.
    pub run_id: String,
    /// The step's index in the workflow, from 0.
    pub step_index: i64,
    /// The attempt's number, from 1.
    pub attempt: i64,
    /// The step's id in the workflow.
    pub step_id: String,
    /// The action it calls (`integration.action`).
    pub action: String,
    /// Where the attempt is.
    pub status: AttemptStatus,
    /// The action's input, JSON.
    pub input: Option<String>,
    /// The action's output, JSON, when it succeeded.
    pub output: Option<String>,
    /// Why it failed, JSON.
    pub error: Option<String>,
    /// What the call did (fuel, requests, time), JSON.
    pub report: Option<String>,
    /// The idempotency key the action was called with.
    pub idempotency_key: String,
    /// When it (last) started (Unix ms).
    pub started_at: i64,
    /// When it finished (Unix ms).
    pub finished_at: Option<i64>,
    /// When the step is retried after this failed attempt (Unix ms).
    pub retry_at: Option<i64>,
}

/// A step attempt that starts (or is skipped).
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    /// The run.
    pub run_id: &'a str,
    /// The step's index, from 0.
    pub step_index: i64,
    /// The attempt's number, from 1.
    pub attempt: i64,
    /// The step's id.
    pub step_id: &'a str,
    /// The action it calls.
    pub action: &'a str,
    /// The action's input, JSON.
    pub input: Option<&'a str>,
    /// The idempotency key the action is called with.
    pub idempotency_key: &'a str,
    /// Now (Unix ms).
    pub now: i64,
}

/// The result of a step attempt, with the attempt as it started: an
/// attempt whose start was never recorded (a fast step, see
/// [`Runs::finish_attempt`]) is recorded whole with its result.
#[derive(Debug, Clone)]
pub struct FinishAttempt<'a> {
    /// The attempt as it started: its run, step, number, input and key,
    /// and when it started (`now`).
    pub start: NewAttempt<'a>,
    /// How it ended (not [`AttemptStatus::Running`]).
    pub status: AttemptStatus,
    /// The action's output, JSON.
    pub output: Option<&'a str>,
    /// Why it failed, JSON.
    pub error: Option<&'a str>,
    /// What the call did, JSON.
    pub report: Option<&'a str>,
    /// When the step is retried, if it is.
    pub retry_at: Option<i64>,
    /// Now (Unix ms).
    pub now: i64,
    /// The execution's usage record, written in the same transaction:
    /// set when the plugin ran (or was refused after the attempt started),
    /// `None` for an attempt that never reached the runtime.
    pub usage: Option<Metered<'a>>,
}

/// What one execution used and what it costs once past the free
/// allowance, recorded as its usage record (`usage_records`) when its
/// attempt finishes. It is billable only when the attempt succeeded.
#[derive(Debug, Clone, Copy)]
pub struct Metered<'a> {
    /// The run's owner: the user it is billed to.
    pub owner: &'a str,
    /// The integration whose component ran (its name's owner is the
    /// developer credited).
    pub integration: &'a str,
    /// `light` or `heavy`.
    pub class: &'a str,
    /// The execution's compute units.
    pub compute_units: i64,
    /// What it costs if it is billable and past the free allowance.
    pub price: Price,
}

/// The price of one billable execution of a class, in mills (1/1000 USD),
/// as the tariff sets it: the store applies it, the engine decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    /// Billable executions per user and calendar month (UTC) that are free.
    pub free_per_month: i64,
    /// The charge of one past the allowance.
    pub charge_mills: i64,
    /// The developer's share of the charge; the platform keeps the rest.
    pub developer_mills: i64,
}

/// What happens to the run in the same transaction as a finished attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunUpdate<'a> {
    /// Go on with step `next_step` (lease kept, status running).
    Continue {
        /// The step to run next.
        next_step: i64,
    },
    /// Wait until `not_before` (status waiting, lease released) then retry
    /// step `next_step`.
    Wait {
        /// The step to run when the wait is over.
        next_step: i64,
        /// When the run may be claimed again (Unix ms).
        not_before: i64,
    },
    /// Every step done: succeeded, lease released, finished_at set.
    Succeed,
    /// Failed with `error` (JSON): failed, lease released, finished_at set.
    Fail {
        /// Why, JSON.
        error: &'a str,
    },
}

/// What [`Runs::insert_unique`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// The run was inserted.
    New,
    /// The key already started a run: this one.
    Duplicate {
        /// The run the key started.
        run_id: String,
    },
}

/// The queries on the run tables.
#[derive(Debug, Clone, Copy)]
pub struct Runs<'s> {
    store: &'s Store,
}

impl Store {
    /// The `runs`, `step_attempts` and `trigger_keys` tables.
    pub fn runs(&self) -> Runs<'_> {
        Runs { store: self }
    }
}

/// The columns of `runs`, as [`decode`] reads them.
const COLUMNS: &str = "id, workflow_id, workflow_version, owner, trigger_kind, trigger_data, \
     pins, status, next_step, not_before, lease_owner, lease_until, error, created_at, \
     started_at, finished_at, updated_at";

/// The columns of `step_attempts`, as [`decode_attempt`] reads them.
const ATTEMPT_COLUMNS: &str = "run_id, step_index, attempt, step_id, action, status, input, \
     output, error, report, idempotency_key, started_at, finished_at, retry_at";

fn decode(row: &AnyRow) -> Result<RunRow, StoreError> {
    let status: String = row.try_get("status")?;
    let trigger_kind: String = row.try_get("trigger_kind")?;
    Ok(RunRow {
        id: row.try_get("id")?,
        workflow_id: row.try_get("workflow_id")?,
        workflow_version: row.try_get("workflow_version")?,
        owner: row.try_get("owner")?,
        trigger_kind: TriggerKind::decode(&trigger_kind)?,
        trigger_data: row.try_get("trigger_data")?,
        pins: row.try_get("pins")?,
        status: RunStatus::decode(&status)?,
        next_step: row.try_get("next_step")?,
        not_before: row.try_get("not_before")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_until: row.try_get("lease_until")?,
        error: row.try_get("error")?,
        created_at: row.try_get("created_at")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn decode_attempt(row: &AnyRow) -> Result<AttemptRow, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(AttemptRow {
        run_id: row.try_get("run_id")?,
        step_index: row.try_get("step_index")?,
        attempt: row.try_get("attempt")?,
        step_id: row.try_get("step_id")?,
        action: row.try_get("action")?,
        status: AttemptStatus::decode(&status)?,
        input: row.try_get("input")?,
        output: row.try_get("output")?,
        error: row.try_get("error")?,
        report: row.try_get("report")?,
        idempotency_key: row.try_get("idempotency_key")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        retry_at: row.try_get("retry_at")?,
    })
}
