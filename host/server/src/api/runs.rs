//! The caller's runs: started by hand through the API (queued, then run by
//! the server's executor), listed newest first a page at a time, and read
//! back step by step.
//!
//! - `POST /v1/runs` `{workflow, input?}` → 202 `{run_id}`; 404 for an
//!   unknown workflow, 400 for input that does not fit the workflow's
//!   `input_schema`, 409 when a step's integration is no longer installed,
//!   429 when the account already has too many runs waiting;
//! - `GET /v1/runs?workflow=&status=&limit=&cursor=` → `{runs, next_cursor}`,
//!   newest first, `limit` from 1 to 100 (20 by default); pass
//!   `next_cursor` back as `cursor` for the next page (`null` on the last);
//! - `GET /v1/runs/{id}` → the run with every step attempt: status,
//!   error, fuel, billing class, time and log lines;
//! - `POST /v1/runs/{id}/cancel` → 204: the run is finished as
//!   `cancelled` at once (409 when it had already finished);
//! - `POST /v1/runs/{id}/rerun` → 202 `{run_id}`: a new run of the
//!   workflow's current version with the same trigger data.
//!
//! Another account's run answers 404, as a missing one does.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::cancel::{self, CancelError};
use workway_engine::platform::Platform;
use workway_engine::triggers::manual::{self, RerunError};
use workway_engine::triggers::{self, TriggerError};
use workway_store::runs::{AttemptRow, RunRow, RunStatus};

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};
use super::paging::{self, encode_key};
use super::workflows::{read_install_error, save_error};

/// `POST /v1/runs`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// The name of one of the account's workflows.
    pub(crate) workflow: String,
    /// The run's input, checked against the workflow's `input_schema`;
    /// an empty object when left out.
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    pub(crate) input: Value,
}

fn empty_object() -> Value {
    json!({})
}

/// A run just queued.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = StartedRun)]
pub struct StartedView {
    /// The run's id, for `GET /v1/runs/{id}`.
    pub run_id: String,
}

/// A run as listed.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Run)]
pub struct RunView {
    /// The run's id.
    pub id: String,
    /// The workflow's name (kept after the workflow is deleted).
    pub workflow: Option<String>,
    /// The workflow version it runs.
    pub workflow_version: i64,
    /// What started it: manual, webhook, schedule or event.
    #[schema(examples("manual"))]
    pub trigger: &'static str,
    /// Where it is: queued, running, waiting, succeeded, failed,
    /// cancelled or refused.
    #[schema(examples("succeeded"))]
    pub status: &'static str,
    /// Why it failed or was refused.
    pub error: Option<Value>,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it first started (Unix ms).
    pub started_at: Option<i64>,
    /// When it finished (Unix ms).
    pub finished_at: Option<i64>,
}

impl RunView {
    fn of(row: &RunRow, workflow: Option<String>) -> RunView {
        RunView {
            id: row.id.clone(),
            workflow,
            workflow_version: row.workflow_version,
            trigger: row.trigger_kind.as_str(),
            status: row.status.as_str(),
            error: row.error.as_deref().map(json_or_text),
            created_at: row.created_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
        }
    }
}

/// A page of runs.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunPage {
    /// The runs, newest first.
    pub runs: Vec<RunView>,
    /// The `cursor` of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// One step attempt of a run (never its idempotency key).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Attempt)]
pub struct AttemptView {
    /// The step's index in the workflow, from 0.
    pub step_index: i64,
    /// The step's id in the workflow.
    pub step_id: String,
    /// The action it calls (`integration.action`).
    pub action: String,
    /// The attempt's number, from 1.
    pub attempt: i64,
    /// Where it is: running, succeeded, failed or skipped.
    pub status: &'static str,
    /// The action's input.
    pub input: Option<Value>,
    /// The action's output, when it succeeded.
    pub output: Option<Value>,
    /// Why it failed: who reported it (`source`), the `kind`, a `message`.
    pub error: Option<Value>,
    /// The fuel the call used.
    pub fuel_used: Option<u64>,
    /// How the call is billed: light or heavy.
    pub billing_class: Option<String>,
    /// How long the call took, in microseconds.
    pub wall_time_us: Option<u64>,
    /// What the plugin logged (its `log` calls, stdout and stderr), in
    /// order, as far as the execution's log cap kept it.
    pub log: Vec<LogLine>,
    /// Log lines dropped past the cap (whole lines; a line cut short
    /// still counts as kept).
    pub log_dropped: u64,
    /// When it started (Unix ms).
    pub started_at: i64,
    /// When it finished (Unix ms).
    pub finished_at: Option<i64>,
    /// When the step is retried after this failed attempt (Unix ms).
    pub retry_at: Option<i64>,
}

/// One line of a step attempt's log.
#[derive(Debug, Serialize, ToSchema)]
pub struct LogLine {
    /// Where it came from: `log.` and its level (`log.info`), `stdout`
    /// or `stderr`.
    pub source: String,
    /// The text.
    pub message: String,
}

/// The log lines an execution report holds, and how many were dropped.
fn log_of(report: Option<&Value>) -> (Vec<LogLine>, u64) {
    let Some(log) = report.and_then(|r| r.get("log")) else {
        return (Vec::new(), 0);
    };
    let text = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let lines = log
        .get("entries")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .map(|e| LogLine {
                    source: text(e, "source"),
                    message: text(e, "message"),
                })
                .collect()
        })
        .unwrap_or_default();
    let dropped = log
        .get("dropped_entries")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    (lines, dropped)
}

impl From<&AttemptRow> for AttemptView {
    fn from(a: &AttemptRow) -> Self {
        let report: Option<Value> = a
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok());
        let report = report.as_ref();
        let (log, log_dropped) = log_of(report);
        AttemptView {
            step_index: a.step_index,
            step_id: a.step_id.clone(),
            action: a.action.clone(),
            attempt: a.attempt,
            status: a.status.as_str(),
            input: a.input.as_deref().map(json_or_text),
            output: a.output.as_deref().map(json_or_text),
            error: a.error.as_deref().map(json_or_text),
            fuel_used: report.and_then(|r| r["fuel_used"].as_u64()),
            billing_class: report.and_then(|r| r["billing_class"].as_str().map(str::to_string)),
            wall_time_us: report.and_then(|r| r["wall_time_us"].as_u64()),
            log,
            log_dropped,
            started_at: a.started_at,
            finished_at: a.finished_at,
            retry_at: a.retry_at,
        }
    }
}

/// A run with its attempts.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub run: RunView,
    /// What its trigger carried (a manual run's input).
    pub input: Value,
    /// Every attempt of every step, by step then attempt.
    pub attempts: Vec<AttemptView>,
}

/// Stored JSON as a value; text that is not JSON as a string.
fn json_or_text(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

/// Start a run of one of the caller's workflows.
///
/// The run is queued; the server's executor runs it. Read it back with
/// `GET /v1/runs/{id}`.
#[utoipa::path(
    post,
    path = "/v1/runs",
    tag = "runs",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    request_body = StartRun,
    responses(
        (status = 202, description = "Queued.", body = StartedView),
        (status = 400, description = "The input does not fit the workflow's `input_schema` (`invalid_input`, `details.field` = `input`, each problem in `details.problems`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
        (status = 404, description = "The account has no workflow of this name (`not_found`).", body = ErrorBody),
        (status = 409, description = "A step's integration is not installed (`not_installed`, `details.integration` names it).", body = ErrorBody),
        (status = 422, description = "The workflow no longer holds against the account's installations (`invalid_workflow`, `details.problems`).", body = ErrorBody),
        (status = 429, description = "The account already has too many runs waiting (`queue_full`), or a rate limit (`rate_limited`, with `Retry-After`).", body = ErrorBody),
    ),
)]
pub async fn start(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    ApiJson(body): ApiJson<StartRun>,
) -> Result<(StatusCode, Json<StartedView>), ApiError> {
    let principal = caller.require(Scope::Run)?;
    let started = triggers::manual(&platform, principal.owner(), &body.workflow, &body.input)
        .await
        .map_err(trigger_error)?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StartedView {
            run_id: started.run_id,
        }),
    ))
}

/// Cancel one of the caller's runs.
#[utoipa::path(
    post,
    path = "/v1/runs/{id}/cancel",
    tag = "runs",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("id" = String, Path, description = "The run's id.")),
    responses(
        (status = 204, description = "The run is finished as `cancelled`."),
        (status = 404, description = "No such run in this account (`not_found`).", body = ErrorBody),
        (status = 409, description = "The run had already finished (`finished`).", body = ErrorBody),
    ),
)]
pub async fn cancel(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Scope::Run)?;
    let now = workway_store::clock::now_ms();
    cancel::cancel(&platform, principal.owner(), &id, now)
        .await
        .map_err(|e| match e {
            CancelError::NotFound => ApiError::not_found("run"),
            CancelError::Finished(_) => {
                ApiError::new(StatusCode::CONFLICT, "finished", e.to_string())
            }
            CancelError::Store(e) => ApiError::from(e),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start one of the caller's runs again.
///
/// A new run of the workflow's current version with the same trigger data.
#[utoipa::path(
    post,
    path = "/v1/runs/{id}/rerun",
    tag = "runs",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("id" = String, Path, description = "The run to start again.")),
    responses(
        (status = 202, description = "The new run is queued.", body = StartedView),
        (status = 400, description = "The trigger data no longer fits the workflow's `input_schema` (`invalid_input`, `details.problems`).", body = ErrorBody),
        (status = 404, description = "No such run in this account (`not_found`).", body = ErrorBody),
        (status = 409, description = "The workflow is gone (`workflow_gone`), or a step's integration is not installed (`not_installed`).", body = ErrorBody),
        (status = 422, description = "The workflow no longer holds against the account's installations (`invalid_workflow`).", body = ErrorBody),
        (status = 429, description = "The account already has too many runs waiting (`queue_full`), or a rate limit (`rate_limited`, with `Retry-After`).", body = ErrorBody),
    ),
)]
pub async fn rerun(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<StartedView>), ApiError> {
    let principal = caller.require(Scope::Run)?;
    let started = manual::rerun(&platform, principal.owner(), &id)
        .await
        .map_err(|e| match e {
            RerunError::NotFound => ApiError::not_found("run"),
            RerunError::WorkflowGone => {
                ApiError::new(StatusCode::CONFLICT, "workflow_gone", e.to_string())
            }
            RerunError::Damaged(_) => ApiError::internal(&e),
            RerunError::Trigger(e) => trigger_error(e),
        })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(StartedView {
            run_id: started.run_id,
        }),
    ))
}

/// A refusal to start a run as the API answers it.
fn trigger_error(e: TriggerError) -> ApiError {
    match e {
        TriggerError::Workflow(e) => save_error(e),
        TriggerError::NotInstalled {
            workflow,
            integration,
        } => ApiError::new(
            StatusCode::CONFLICT,
            "not_installed",
            format!(
                "workflow `{workflow}` uses `{integration}`, which is not installed: read what it \
                 may do with GET /v1/integrations/{integration}/consent, install it with POST \
                 /v1/installations {{\"integration\": \"{integration}\", \"accept\": \
                 \"<consent_digest>\"}} (or `workway install {integration}`), then start the run again"
            ),
        )
        .with_details(json!({ "integration": integration })),
        TriggerError::Input { ref problems, .. } => ApiError::invalid("input", e.to_string())
            .with_details(json!({ "field": "input", "problems": problems })),
        TriggerError::Refused { .. } => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, "queue_full", e.to_string())
        }
        TriggerError::Install(e) => read_install_error(e),
        TriggerError::Store(e) => ApiError::from(e),
    }
}

/// `GET /v1/runs`'s query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub(crate) workflow: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) limit: Option<String>,
    pub(crate) cursor: Option<String>,
}

/// The caller's runs, newest first, a page at a time.
#[utoipa::path(
    get,
    path = "/v1/runs",
    tag = "runs",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(
        ("workflow" = Option<String>, Query, description = "Only the runs of the account's workflow of this name (not those of a deleted workflow that had it)."),
        ("status" = Option<String>, Query, description = "Only the runs in this state: queued, running, waiting, succeeded, failed, cancelled or refused."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many runs a page holds (20 when left out)."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, unchanged; left out for the first page."),
    ),
    responses(
        (status = 200, description = "A page of runs, newest first.", body = RunPage),
        (status = 400, description = "A query parameter is wrong (`invalid_input`, `details.field` names it: `workflow`, `status`, `limit`, `cursor`, or `query` for an unknown one).", body = ErrorBody),
    ),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<RunPage>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let owner = principal.owner();
    let query = paging::query_of(query, "workflow, status, limit and cursor")?;
    let limit = paging::limit(query.limit.as_deref())?;
    let status = match &query.status {
        None => None,
        Some(text) => Some(RunStatus::parse(text).ok_or_else(|| {
            ApiError::invalid(
                "status",
                format!(
                    "unknown status `{}`: use queued, running, waiting, succeeded, failed, \
                     cancelled or refused",
                    text.chars().take(40).collect::<String>()
                ),
            )
        })?),
    };
    let before = paging::before(query.cursor.as_deref())?;
    // Deleted workflows included: their runs keep their names.
    let workflows: BTreeMap<String, String> = platform
        .store
        .workflows()
        .names(owner)
        .await?
        .into_iter()
        .collect();
    let workflow_id = match &query.workflow {
        None => None,
        Some(name) => Some(
            platform
                .store
                .workflows()
                .find(owner, name)
                .await?
                .map(|w| w.id)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "workflow",
                        "the account has no workflow of this name: GET /v1/workflows lists them",
                    )
                })?,
        ),
    };
    let mut rows = platform
        .store
        .runs()
        .page(
            owner,
            workflow_id.as_deref(),
            status,
            before.as_ref().map(|(at, id)| (*at, id.as_str())),
            limit + 1,
        )
        .await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = rows
        .last()
        .filter(|_| more)
        .map(|r| encode_key(r.created_at, &r.id));
    Ok(Json(RunPage {
        runs: rows
            .iter()
            .map(|r| RunView::of(r, workflows.get(&r.workflow_id).cloned()))
            .collect(),
        next_cursor,
    }))
}

/// One of the caller's runs, with every step attempt.
#[utoipa::path(
    get,
    path = "/v1/runs/{id}",
    tag = "runs",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("id" = String, Path, description = "The run's id.")),
    responses(
        (status = 200, description = "The run, its input, and every attempt of every step.", body = RunDetail),
        (status = 404, description = "No such run in this account (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn show(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RunDetail>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let owner = principal.owner();
    let runs = platform.store.runs();
    let run = runs
        .get_owned(owner, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("run"))?;
    let attempts = runs.attempts_owned(owner, &run.id).await?;
    let workflow = platform
        .store
        .workflows()
        .get(&run.workflow_id)
        .await?
        .filter(|w| w.owner == owner)
        .map(|w| w.name);
    Ok(Json(RunDetail {
        run: RunView::of(&run, workflow),
        input: json_or_text(&run.trigger_data),
        attempts: attempts.iter().map(AttemptView::from).collect(),
    }))
}
