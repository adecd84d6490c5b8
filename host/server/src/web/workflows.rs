//! Workflows: the list, writing one as YAML (problems shown with where
//! they are), its page with its definition, webhook and recent runs,
//! and starting a run with an input.
//!
//! - `GET /workflows`, `GET /workflows/new`, `POST /workflows`;
//! - `GET /workflows/{name}`: the definition, editable;
//! - `GET /workflows/{name}/versions/{version}`: an older definition;
//! - `POST /workflows/{name}/rotate-secret`: a new webhook secret, shown once;
//! - `POST /workflows/{name}/delete`;
//! - `POST /workflows/{name}/runs`: start a run, then its page.
//!
//! Each calls the API's handler ([`crate::api::workflows`],
//! [`crate::api::runs`]).

use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use workway_engine::platform::Platform;
use workway_workflow::definition::Trigger;
use workway_workflow::webhook::WebhookFormat;

use super::error::{WebError, answered_on_form};
use super::layout::{Nav, encode, render, when};
use super::runs::RunLine;
use super::session::{Member, WebForm};
use crate::api::body::ApiJson;
use crate::api::error::ApiError;
use crate::api::runs::{self, ListQuery, StartRun};
use crate::api::workflows::{self, SetSecret, WorkflowView};

/// A workflow as the list shows it.
struct WorkflowLine {
    name: String,
    version: i64,
    trigger: &'static str,
    updated: String,
}

impl From<WorkflowView> for WorkflowLine {
    fn from(w: WorkflowView) -> Self {
        WorkflowLine {
            updated: when(w.updated_at),
            name: w.name,
            version: w.version,
            trigger: w.trigger,
        }
    }
}

/// The workflows page.
#[derive(Template)]
#[template(path = "workflows.html")]
struct ListPage {
    nav: Nav,
    items: Vec<WorkflowLine>,
}

/// `GET /workflows`.
pub async fn list(
    State(platform): State<Arc<Platform>>,
    member: Member,
) -> Result<Response, WebError> {
    let items = workflows::list(State(platform), member.caller.clone())
        .await
        .map_err(|e| member.fail(e))?
        .0;
    Ok(render(&ListPage {
        nav: member.nav(),
        items: items.into_iter().map(WorkflowLine::from).collect(),
    }))
}

/// One problem of a definition, with where it is.
struct Problem {
    location: String,
    message: String,
}

/// The editor: a new workflow, or a saved one's definition.
#[derive(Template)]
#[template(path = "workflow_edit.html")]
struct EditPage {
    nav: Nav,
    yaml: String,
    error: Option<String>,
    problems: Vec<Problem>,
}

/// An example to start from: one manual step.
const EXAMPLE: &str = "name: hello-slack
trigger:
  kind: manual
steps:
  - id: tell
    action: slack.send-message
    input:
      channel: C0123ABCD
      text: Hello from Workway
";

/// `GET /workflows/new`.
pub async fn new(member: Member) -> Response {
    render(&EditPage {
        nav: member.nav(),
        yaml: EXAMPLE.to_string(),
        error: None,
        problems: Vec::new(),
    })
}

/// What a refused save says: the message and each problem's place.
fn problems_of(e: &ApiError) -> (String, Vec<Problem>) {
    let problems = e
        .details()
        .get("problems")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .map(|p| match p.as_str() {
                    Some(text) => Problem {
                        location: String::new(),
                        message: text.to_string(),
                    },
                    None => Problem {
                        location: p["location"].as_str().unwrap_or_default().to_string(),
                        message: p["message"].as_str().unwrap_or_default().to_string(),
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let message = e.message().lines().next().unwrap_or_default().to_string();
    (message, problems)
}

/// `POST /workflows`: save the YAML; its page (with a new webhook's
/// secret, shown this once), or the editor with what to fix.
pub async fn save(
    State(platform): State<Arc<Platform>>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let yaml = form.get("definition").replace("\r\n", "\n");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/yaml"),
    );
    let saved = workflows::save(
        State(platform.clone()),
        member.caller.clone(),
        headers,
        Ok(Bytes::from(yaml.clone())),
    )
    .await;
    match saved {
        Ok((_, saved)) => {
            let saved = saved.0;
            let notice = format!("Saved as version {}.", saved.workflow.workflow.version);
            let secret = saved.webhook.and_then(|w| w.secret);
            let answer = Answer {
                notice: Some(notice),
                secret,
                ..Answer::default()
            };
            let page =
                workflow_page(platform, &member, saved.workflow.workflow.name, answer).await?;
            Ok((StatusCode::CREATED, page).into_response())
        }
        Err(e) if e.status().is_client_error() => {
            let (message, problems) = problems_of(&e);
            let page = render(&EditPage {
                nav: member.nav(),
                yaml,
                error: Some(message),
                problems,
            });
            Ok((e.status(), page).into_response())
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// A workflow's page.
#[derive(Template)]
#[template(path = "workflow.html")]
struct WorkflowPage {
    nav: Nav,
    workflow: WorkflowView,
    yaml: String,
    /// The webhook trigger's sender format (`workway` when not set).
    format: String,
    /// How its deliveries are signed, in words.
    signed: &'static str,
    notice: Option<String>,
    secret: Option<String>,
    secret_error: Option<String>,
    input: String,
    error: Option<String>,
    runs: Vec<RunLine>,
    versions: Vec<(i64, String)>,
}

/// What a form on the workflow page answered, shown on it.
#[derive(Debug, Default)]
struct Answer<'a> {
    /// What was done.
    notice: Option<String>,
    /// A new signing secret, shown this once.
    secret: Option<String>,
    /// The run input typed and why it was refused.
    start_error: Option<(&'a str, String)>,
    /// Why a sender's secret was refused.
    secret_error: Option<String>,
}

/// How a webhook trigger of `format` is signed, for the page.
fn signed_how(format: &str) -> &'static str {
    match format {
        "standard-webhooks" => {
            "The Standard Webhooks way: webhook-id, webhook-timestamp and webhook-signature headers, \
             v1 (HMAC-SHA256) signatures with the secret made here (whsec_...); or set the sender's \
             public key (whpk_...) below to verify its asymmetric v1a (ed25519) signatures instead. \
             Never paste the sender's private key (whsk_...)."
        }
        "stripe" => {
            "Stripe's Stripe-Signature header: set the endpoint's signing secret (whsec_...) from \
             Stripe's dashboard below."
        }
        "github" => {
            "GitHub's X-Hub-Signature-256 header, with X-GitHub-Delivery as the delivery's id: give \
             GitHub the secret made here, or set the one you typed there."
        }
        "slack" => {
            "Slack's X-Slack-Signature and X-Slack-Request-Timestamp headers: set your Slack app's \
             signing secret below."
        }
        _ => {
            "Workway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\"> with the secret."
        }
    }
}

/// The page of `member`'s workflow `name`, with what a form answered.
async fn workflow_page(
    platform: Arc<Platform>,
    member: &Member,
    name: String,
    answer: Answer<'_>,
) -> Result<Response, WebError> {
    let Answer {
        notice,
        secret,
        start_error,
        secret_error,
    } = answer;
    let detail = workflows::show(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let yaml = serde_yaml::to_string(&detail.definition)
        .map_err(|e| member.fail(ApiError::internal(&e)))?;
    let format = match &detail.definition.trigger {
        Trigger::Webhook { format, .. } => format.as_str(),
        _ => WebhookFormat::default().as_str(),
    }
    .to_string();
    let versions = workflows::versions(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0
    .into_iter()
    .map(|v| (v.version, when(v.created_at)))
    .collect();
    let runs = runs::list(
        State(platform),
        member.caller.clone(),
        Ok(Query(ListQuery {
            workflow: Some(name),
            limit: Some("10".to_string()),
            ..ListQuery::default()
        })),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let (input, error) = match start_error {
        Some((input, message)) => (input.to_string(), Some(message)),
        None => ("{}".to_string(), None),
    };
    let status = if error.is_some() || secret_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = WorkflowPage {
        nav: member.nav(),
        workflow: detail.workflow,
        yaml,
        signed: signed_how(&format),
        format,
        notice,
        secret,
        secret_error,
        input,
        error,
        runs: runs.runs.into_iter().map(RunLine::from).collect(),
        versions,
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /workflows/{name}`.
pub async fn show(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    workflow_page(platform, &member, name, Answer::default()).await
}

/// `POST /workflows/{name}/rotate-secret`: the new secret, shown once.
pub async fn rotate_secret(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let rotated = workflows::rotate_secret(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let answer = Answer {
        notice: Some(
            "A new signing secret is made; the old one no longer verifies deliveries.".into(),
        ),
        secret: rotated.webhook.secret,
        ..Answer::default()
    };
    workflow_page(platform, &member, name, answer).await
}

/// `POST /workflows/{name}/secret`: the signing secret the sender gave
/// (`secret`), checked against the trigger's format and never shown back.
pub async fn set_secret(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let set = workflows::set_secret(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
        ApiJson(SetSecret {
            secret: form.get("secret").to_string(),
        }),
    )
    .await;
    let answer = match set {
        Ok(_) => Answer {
            notice: Some(
                "The sender's secret is set; the old one no longer verifies deliveries.".into(),
            ),
            ..Answer::default()
        },
        Err(e) if e.status() == StatusCode::BAD_REQUEST => Answer {
            secret_error: Some(e.message().to_string()),
            ..Answer::default()
        },
        Err(e) => return Err(member.fail(e)),
    };
    workflow_page(platform, &member, name, answer).await
}

/// `POST /workflows/{name}/runs`: start a run with the form's JSON input.
pub async fn start(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let text = form.get("input");
    let input = if text.trim().is_empty() {
        Ok(Value::Object(Default::default()))
    } else {
        serde_json::from_str::<Value>(text).map_err(|e| {
            format!(
                "the input is not JSON ({e}): write an object such as {{\"subject\": \"hello\"}}"
            )
        })
    };
    let started = match input {
        Ok(input) => {
            runs::start(
                State(platform.clone()),
                member.caller.clone(),
                ApiJson(StartRun {
                    workflow: name.clone(),
                    input,
                }),
            )
            .await
        }
        Err(message) => Err(ApiError::invalid("input", message)),
    };
    match started {
        Ok((_, started)) => {
            Ok(Redirect::to(&format!("/runs/{}", encode(&started.0.run_id))).into_response())
        }
        Err(e) if answered_on_form(&e) => {
            let (message, problems) = problems_of(&e);
            let message = problems
                .iter()
                .fold(message, |m, p| match p.location.as_str() {
                    "" => format!("{m}\n{}", p.message),
                    at => format!("{m}\n{at}: {}", p.message),
                });
            let answer = Answer {
                start_error: Some((text, message)),
                ..Answer::default()
            };
            workflow_page(platform, &member, name, answer).await
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// One saved version's page.
#[derive(Template)]
#[template(path = "workflow_version.html")]
struct VersionPage {
    nav: Nav,
    name: String,
    version: i64,
    current: i64,
    saved: String,
    yaml: String,
}

/// `GET /workflows/{name}/versions/{version}`.
pub async fn version(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Path((name, version)): Path<(String, String)>,
) -> Result<Response, WebError> {
    let detail = workflows::version(
        State(platform),
        member.caller.clone(),
        Path((name, version)),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let yaml = serde_yaml::to_string(&detail.definition)
        .map_err(|e| member.fail(ApiError::internal(&e)))?;
    Ok(render(&VersionPage {
        nav: member.nav(),
        name: detail.name,
        version: detail.version,
        current: detail.current_version,
        saved: when(detail.created_at),
        yaml,
    }))
}

/// `POST /workflows/{name}/delete`: its runs are kept.
pub async fn delete(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    workflows::delete(State(platform), member.caller.clone(), Path(name))
        .await
        .map_err(|e| member.fail(e))?;
    Ok(Redirect::to("/workflows").into_response())
}
