//! The run monitor: the account's runs with a status filter, a page at a
//! time, and a run's page with its step timeline (each attempt's status,
//! typed error, retry time, fuel, billing class and wall time), kept
//! current while the run is not finished: pushed over Server-Sent Events
//! to `static/live.js`, or, with scripts off, by reloading every two
//! seconds; with cancel and rerun.
//!
//! - `GET /runs?status=&cursor=`;
//! - `GET /runs/{id}`, `GET /runs/{id}/events` (the live stream);
//! - `POST /runs/{id}/cancel`, `POST /runs/{id}/rerun`.
//!
//! Each calls the API's handler ([`crate::api::runs`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::Stream;
use serde_json::Value;

use workway_engine::platform::Platform;

use super::error::WebError;
use super::layout::{Nav, encode, render, when};
use super::session::{Member, WebForm};
use crate::api::runs::{self, AttemptView, ListQuery, RunDetail, RunView};

/// The statuses a run can be in, for the filter.
const STATUSES: &[&str] = &[
    "queued",
    "running",
    "waiting",
    "succeeded",
    "failed",
    "cancelled",
    "refused",
];

/// A run as a list shows it.
pub struct RunLine {
    /// Its id.
    pub id: String,
    /// Its workflow's name.
    pub workflow: String,
    /// Where it is.
    pub status: &'static str,
    /// What started it.
    pub trigger: &'static str,
    /// When it was made.
    pub created: String,
    /// How long it took, once finished.
    pub took: Option<String>,
}

/// Milliseconds for people: `840 ms`, `3.2 s`.
fn duration(ms: i64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    }
}

impl From<RunView> for RunLine {
    fn from(r: RunView) -> Self {
        RunLine {
            took: r
                .started_at
                .zip(r.finished_at)
                .map(|(s, f)| duration(f - s)),
            created: when(r.created_at),
            workflow: r
                .workflow
                .unwrap_or_else(|| "(deleted workflow)".to_string()),
            status: r.status,
            trigger: r.trigger,
            id: r.id,
        }
    }
}

/// The runs page.
#[derive(Template)]
#[template(path = "runs.html")]
struct RunsPage {
    nav: Nav,
    statuses: Vec<(&'static str, bool)>,
    runs: Vec<RunLine>,
    next_page: Option<String>,
    filtered: bool,
}

/// `GET /runs`.
pub async fn list(
    State(platform): State<Arc<Platform>>,
    member: Member,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, WebError> {
    let Query(query) = query.map_err(|r| {
        member.fail(WebError::bad_request(format!(
            "this list's address is not one the page makes ({}): open Runs again",
            r.body_text()
        )))
    })?;
    let status = query.status.clone().filter(|s| !s.is_empty());
    let page = runs::list(
        State(platform),
        member.caller.clone(),
        Ok(Query(ListQuery {
            status: status.clone(),
            ..query
        })),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let next_page = page.next_cursor.map(|c| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &status {
            q.append_pair("status", s);
        }
        q.append_pair("cursor", &c);
        format!("/runs?{}", q.finish())
    });
    Ok(render(&RunsPage {
        nav: member.nav(),
        statuses: STATUSES
            .iter()
            .map(|s| (*s, status.as_deref() == Some(*s)))
            .collect(),
        filtered: status.is_some(),
        runs: page.runs.into_iter().map(RunLine::from).collect(),
        next_page,
    }))
}

/// One attempt on the timeline.
struct AttemptLine {
    step: String,
    action: String,
    attempt: i64,
    status: &'static str,
    error: Option<String>,
    retry: Option<String>,
    fuel: String,
    class: String,
    wall: String,
    started: String,
    output: Option<String>,
    log: Vec<(String, String)>,
    log_dropped: u64,
}

/// A typed error as one line: `source kind: message`.
fn error_line(error: &Value) -> String {
    match error {
        Value::Object(e) => {
            let part = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default();
            let head = [part("source"), part("kind")]
                .into_iter()
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            match (head.is_empty(), part("message")) {
                (true, m) => m.to_string(),
                (false, "") => head,
                (false, m) => format!("{head}: {m}"),
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A run's error as one line: the step that ended it, its attempt, its
/// typed error and why it was not retried; other shapes as they are.
fn run_error_line(error: &Value) -> String {
    let (Some(step), Some(inner)) = (
        error.get("step").and_then(Value::as_str),
        error.get("error"),
    ) else {
        let line = error_line(error);
        return if line.is_empty() {
            error.to_string()
        } else {
            line
        };
    };
    let attempt = error.get("attempt").and_then(Value::as_i64).unwrap_or(1);
    let mut line = format!(
        "Step {step} failed on attempt {attempt}: {}",
        error_line(inner)
    );
    if let Some(reason) = error
        .get("reason")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        line.push_str(&format!(" ({reason})"));
    }
    line
}

impl From<AttemptView> for AttemptLine {
    fn from(a: AttemptView) -> Self {
        AttemptLine {
            step: a.step_id,
            action: a.action,
            attempt: a.attempt,
            status: a.status,
            error: a.error.as_ref().map(error_line),
            retry: a.retry_at.map(when),
            fuel: a
                .fuel_used
                .map(|f| f.to_string())
                .unwrap_or_else(|| "–".to_string()),
            class: a.billing_class.unwrap_or_else(|| "–".to_string()),
            wall: a
                .wall_time_us
                .map(|us| format!("{}.{:01} ms", us / 1000, (us % 1000) / 100))
                .unwrap_or_else(|| "–".to_string()),
            started: when(a.started_at),
            log: a.log.into_iter().map(|l| (l.source, l.message)).collect(),
            log_dropped: a.log_dropped,
            output: a.output.map(|o| {
                let text = o.to_string();
                if text.chars().count() > 300 {
                    format!("{}…", text.chars().take(300).collect::<String>())
                } else {
                    text
                }
            }),
        }
    }
}

/// What of a run changes while it runs: its status, error, actions and
/// step timeline, rendered inside the run page and pushed alone over
/// Server-Sent Events.
#[derive(Template)]
#[template(path = "run_live.html")]
struct Live {
    nav: Nav,
    run: RunLine,
    error: Option<String>,
    attempts: Vec<AttemptLine>,
    /// Whether the run is not finished yet.
    live: bool,
}

impl Live {
    /// The changing part of `detail`, with its workflow version and
    /// pretty-printed input for the page around it.
    fn of(member: &Member, detail: RunDetail) -> (Live, i64, String) {
        let live = matches!(detail.run.status, "queued" | "running" | "waiting");
        let version = detail.run.workflow_version;
        let input = serde_json::to_string_pretty(&detail.input).unwrap_or_default();
        let part = Live {
            nav: member.nav(),
            error: detail.run.error.as_ref().map(run_error_line),
            attempts: detail.attempts.into_iter().map(AttemptLine::from).collect(),
            live,
            run: RunLine::from(detail.run),
        };
        (part, version, input)
    }
}

/// A run's page: the run's header and input around its changing part.
#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    nav: Nav,
    id: String,
    workflow: String,
    trigger: &'static str,
    created: String,
    version: i64,
    input: String,
    live: bool,
    part: String,
}

/// `GET /runs/{id}`.
pub async fn show(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let detail = runs::show(State(platform), member.caller.clone(), Path(id))
        .await
        .map_err(|e| member.fail(e))?
        .0;
    let (part, version, input) = Live::of(&member, detail);
    let page = RunPage {
        nav: part.nav.clone(),
        id: part.run.id.clone(),
        workflow: part.run.workflow.clone(),
        trigger: part.run.trigger,
        created: part.run.created.clone(),
        version,
        input,
        live: part.live,
        part: part
            .render()
            .map_err(|e| member.fail(crate::api::error::ApiError::internal(&e)))?,
    };
    Ok(render(&page))
}

/// How often the live stream reads the run.
const POLL: Duration = Duration::from_millis(500);

/// How long one live stream lasts; the browser's `EventSource` opens
/// another after it (a run can wait for its retries for hours).
const STREAM_FOR: Duration = Duration::from_secs(600);

/// What the live stream carries between reads.
struct Watch {
    platform: Arc<Platform>,
    member: Member,
    id: String,
    /// The part last sent.
    last: Option<String>,
    /// The run is over and `finished` was sent: the stream ends.
    done: bool,
    /// When this stream ends without `finished` (the browser reconnects).
    until: tokio::time::Instant,
}

/// `GET /runs/{id}/events`: Server-Sent Events, a `run` event with the
/// rendered changing part whenever it changes, then `finished` once the
/// run is over. For the run's own account only (404 otherwise).
pub async fn events(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    // Only the run's own account may watch it.
    let _readable = runs::show(
        State(platform.clone()),
        member.caller.clone(),
        Path(id.clone()),
    )
    .await
    .map_err(|e| member.fail(e))?;
    let watch = Watch {
        platform,
        member,
        id,
        last: None,
        done: false,
        until: tokio::time::Instant::now() + STREAM_FOR,
    };
    let stream = futures_util::stream::unfold(watch, |mut w| async move {
        if w.done || tokio::time::Instant::now() >= w.until {
            return None;
        }
        loop {
            let detail = runs::show(
                State(w.platform.clone()),
                w.member.caller.clone(),
                Path(w.id.clone()),
            )
            .await
            .ok()?
            .0;
            let (part, _, _) = Live::of(&w.member, detail);
            let finished = !part.live;
            let html = part.render().ok()?;
            if w.last.as_deref() != Some(html.as_str()) {
                w.last = Some(html.clone());
                return Some((Ok(Event::default().event("run").data(html)), w));
            }
            if finished {
                w.done = true;
                return Some((Ok(Event::default().event("finished").data("over")), w));
            }
            if tokio::time::Instant::now() >= w.until {
                return None;
            }
            tokio::time::sleep(POLL).await;
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// `POST /runs/{id}/cancel`.
pub async fn cancel(
    State(platform): State<Arc<Platform>>,
    Path(id): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    runs::cancel(State(platform), member.caller.clone(), Path(id.clone()))
        .await
        .map_err(|e| member.fail(e))?;
    Ok(Redirect::to(&format!("/runs/{}", encode(&id))).into_response())
}

/// `POST /runs/{id}/rerun`: a new run with the same input, then its page.
pub async fn rerun(
    State(platform): State<Arc<Platform>>,
    Path(id): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let (_, started) = runs::rerun(State(platform), member.caller.clone(), Path(id))
        .await
        .map_err(|e| member.fail(e))?;
    Ok(Redirect::to(&format!("/runs/{}", encode(&started.0.run_id))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_read_as_one_line() {
        let typed = json!({"source": "integration", "kind": "not-found", "message": "no channel"});
        assert_eq!(error_line(&typed), "integration not-found: no channel");
        assert_eq!(error_line(&json!("plain text")), "plain text");
        let run = json!({"step": "tell", "step_index": 0, "attempt": 2, "error": typed, "reason": "not retryable"});
        assert_eq!(
            run_error_line(&run),
            "Step tell failed on attempt 2: integration not-found: no channel (not retryable)"
        );
        assert_eq!(run_error_line(&json!({"odd": 1})), r#"{"odd":1}"#);
    }

    #[test]
    fn durations_read_for_people() {
        assert_eq!(duration(840), "840 ms");
        assert_eq!(duration(3_250), "3.2 s");
    }
}
