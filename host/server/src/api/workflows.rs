//! The caller's workflows: definitions validated against the account's
//! installations when saved, each save a new version; a webhook workflow's
//! signing secret, shown once when the workflow becomes a webhook workflow
//! and again only when rotated.
//!
//! - `GET /v1/workflows` → the account's workflows;
//! - `POST /v1/workflows` (the definition as `application/json`, or YAML as
//!   `application/yaml` or `text/yaml`) → 201 the saved version, with
//!   `webhook: {path, secret}` when it just became a webhook workflow; 400
//!   for text that is not a definition, 415 for another content type, 422
//!   when it does not hold against the installations (each problem in
//!   `details.problems`), 409 when concurrent saves kept colliding;
//! - `GET /v1/workflows/{name}` → its current definition and metadata;
//! - `GET /v1/workflows/{name}/versions` → every version, oldest first;
//! - `GET /v1/workflows/{name}/versions/{version}` → that version;
//! - `POST /v1/workflows/{name}/rotate-secret` → a new signing secret,
//!   shown only now (409 when the workflow has no webhook trigger, or
//!   when its sender makes the secret: Stripe, Slack);
//! - `POST /v1/workflows/{name}/secret` (`{"secret": "..."}`) → the
//!   sender's secret (Stripe's endpoint secret, Slack's signing secret,
//!   the one typed into GitHub, a Standard Webhooks sender's `whpk_`
//!   public key) becomes the signing secret, once checked against the
//!   trigger's format (400 when it cannot be one);
//! - `DELETE /v1/workflows/{name}` → 204: the workflow is deleted (see
//!   [`delete`]; its runs stay readable, its active runs are cancelled,
//!   its name is free again).
//!
//! Another account's workflow answers 404, as a missing one does.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::json;

use workway_engine::accounts::Scope;
use workway_engine::installations::InstallError;
use workway_engine::platform::Platform;
use workway_engine::saved::{self, SaveError};
use workway_engine::triggers::TriggerError;
use workway_engine::triggers::webhook::{self, WebhookError};
use workway_store::workflows::{TriggerKind, WorkflowRow};
use workway_workflow::definition::{Format, WorkflowDefinition};

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};

/// A workflow as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Workflow)]
pub struct WorkflowView {
    /// The workflow's id (runs name it).
    pub id: String,
    /// Its name, unique in the account.
    pub name: String,
    /// Its current version, from 1.
    pub version: i64,
    /// How its runs start: manual, webhook, schedule or event.
    pub trigger: &'static str,
    /// Where deliveries are POSTed, when its trigger is a webhook.
    pub webhook_path: Option<String>,
    /// When it was first saved (Unix ms).
    pub created_at: i64,
    /// When it was last saved (Unix ms).
    pub updated_at: i64,
}

impl From<&WorkflowRow> for WorkflowView {
    fn from(row: &WorkflowRow) -> Self {
        WorkflowView {
            id: row.id.clone(),
            name: row.name.clone(),
            version: row.version,
            trigger: row.trigger_kind.as_str(),
            webhook_path: webhook_path(row),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// The URL path deliveries to `row` are POSTed to, while its current
/// trigger is a webhook (a workflow that stopped being one keeps its token
/// for when it becomes one again, but takes no deliveries).
fn webhook_path(row: &WorkflowRow) -> Option<String> {
    row.webhook_token
        .as_deref()
        .filter(|_| row.trigger_kind == TriggerKind::Webhook)
        .map(|token| format!("/v1/hooks/{token}"))
}

/// A workflow with one version's definition.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkflowDetail {
    /// The workflow.
    #[serde(flatten)]
    pub workflow: WorkflowView,
    /// The definition (of the current version, unless a version was asked for).
    #[schema(schema_with = crate::openapi::workflow_definition_ref)]
    pub definition: WorkflowDefinition,
}

/// A webhook workflow's URL and, when just made, its signing secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookView {
    /// Where deliveries are POSTed.
    pub path: String,
    /// The signing secret: present only when it was just made (a new
    /// webhook workflow, or a rotation), never shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// A workflow version just saved.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SavedWorkflow)]
pub struct SavedView {
    /// The workflow at its new version.
    #[serde(flatten)]
    pub workflow: WorkflowDetail,
    /// Its webhook, when its trigger is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookView>,
}

/// One saved version, as listed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WorkflowVersion)]
pub struct VersionView {
    /// The version, from 1.
    pub version: i64,
    /// When it was saved (Unix ms).
    pub created_at: i64,
}

/// One saved version with its definition.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = WorkflowVersionDetail)]
pub struct VersionDetail {
    /// The workflow's name.
    pub name: String,
    /// This version.
    pub version: i64,
    /// The workflow's current version.
    pub current_version: i64,
    /// When this version was saved (Unix ms).
    pub created_at: i64,
    /// Its definition.
    #[schema(schema_with = crate::openapi::workflow_definition_ref)]
    pub definition: WorkflowDefinition,
}

/// A rotated signing secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = RotatedSecret)]
pub struct RotatedView {
    /// The workflow's name.
    pub name: String,
    /// Its webhook, with the new secret (the old one no longer verifies).
    pub webhook: WebhookView,
}

/// `POST /v1/workflows/{name}/secret`'s body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSecret {
    /// The signing secret the sender gave (Stripe's `whsec_...`, Slack's
    /// signing secret, the secret typed into GitHub, a Standard Webhooks
    /// `whsec_<base64>` or a Standard Webhooks sender's ed25519 public key
    /// `whpk_<base64>`, never its private `whsk_` key); never shown back.
    pub(crate) secret: String,
}

/// A signing secret set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = SecretSet)]
pub struct SecretSetView {
    /// The workflow's name.
    pub name: String,
    /// Where deliveries are POSTed.
    pub path: String,
    /// The trigger's sender format the secret was checked for.
    pub format: String,
}

/// An installation failure met while reading installations (saving or
/// starting a workflow): only the store or a damaged row can fail there.
pub(super) fn read_install_error(e: InstallError) -> ApiError {
    match e {
        InstallError::Store(e) => ApiError::from(e),
        e => ApiError::internal(&e),
    }
}

/// A failure to save or read a workflow as the API answers it.
pub(super) fn save_error(e: SaveError) -> ApiError {
    match e {
        SaveError::Definition(e) => ApiError::invalid("definition", e.to_string()),
        SaveError::Invalid(ref problems) => {
            let problems: Vec<_> = problems
                .iter()
                .map(|p| json!({ "location": p.location, "message": p.message }))
                .collect();
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_workflow",
                format!(
                    "{e}\nfix each problem (listed in details.problems) and save again; \
                     GET /v1/installations shows what the account has installed"
                ),
            )
            .with_details(json!({ "problems": problems }))
        }
        SaveError::Unknown(_) => ApiError::not_found("workflow"),
        SaveError::Store(e) => ApiError::from(e),
        SaveError::Install(e) => read_install_error(e),
        e @ (SaveError::Damaged(..) | SaveError::Secret(_)) => ApiError::internal(&e),
    }
}

/// The format the request's `Content-Type` names, if it is one a
/// definition is written in.
fn format_of(headers: &HeaderMap) -> Result<Format, ApiError> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match media_type.as_str() {
        "application/json" => Ok(Format::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml" => Ok(Format::Yaml),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_body",
            "send the workflow definition as JSON with `Content-Type: application/json`, \
             or as YAML with `Content-Type: application/yaml` (or `text/yaml`)",
        )),
    }
}

/// `owner`'s workflow `name`, or 404.
async fn find(platform: &Platform, owner: &str, name: &str) -> Result<WorkflowRow, ApiError> {
    platform
        .store
        .workflows()
        .find(owner, name)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow"))
}

/// The caller's workflows, by name.
#[utoipa::path(
    get,
    path = "/v1/workflows",
    tag = "workflows",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The account's workflows, by name.", body = Vec<WorkflowView>),
    ),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<WorkflowView>>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let rows = platform
        .store
        .workflows()
        .list(Some(principal.owner()))
        .await?;
    Ok(Json(rows.iter().map(WorkflowView::from).collect()))
}

/// Save a definition: a new workflow, or the next version of the one with
/// its name.
///
/// The definition is sent as JSON (`application/json`) or YAML
/// (`application/yaml`, `application/x-yaml`, `text/yaml`). It is
/// validated against the account's installations. A workflow that just
/// became a webhook workflow answers its signing secret, shown only now.
#[utoipa::path(
    post,
    path = "/v1/workflows",
    tag = "workflows",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    request_body(
        description = "The workflow definition, as JSON or as YAML text.",
        content(
            (crate::openapi::WorkflowDefinitionBody = "application/json"),
            (String = "application/yaml"),
            (String = "text/yaml"),
        ),
    ),
    responses(
        (status = 201, description = "Saved: the new version; `webhook` with its `secret` when it just became a webhook workflow.", body = SavedView),
        (status = 400, description = "The text is not a workflow definition (`invalid_input`, `details.field` = `definition`).", body = ErrorBody),
        (status = 409, description = "Concurrent saves kept colliding (`conflict`): save again.", body = ErrorBody),
        (status = 413, description = "The body is larger than this route takes (`invalid_body`).", body = ErrorBody),
        (status = 415, description = "Another content type (`invalid_body`).", body = ErrorBody),
        (status = 422, description = "The definition does not hold against the account's installations (`invalid_workflow`): each problem, `{location, message}`, in `details.problems`.", body = ErrorBody),
    ),
)]
pub async fn save(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<SavedView>), ApiError> {
    let principal = caller.require(Scope::Run)?;
    let owner = principal.owner();
    let format = format_of(&headers)?;
    let body = body.map_err(|rejection| {
        ApiError::new(
            rejection.status(),
            "invalid_body",
            format!("the request body cannot be read: {}", rejection.body_text()),
        )
    })?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::invalid("definition", "the definition is not UTF-8 text"))?;
    let definition = WorkflowDefinition::parse(text, format)
        .map_err(|e| ApiError::invalid("definition", e.to_string()))?;
    let had_webhook = platform
        .store
        .workflows()
        .find(owner, &definition.name)
        .await?
        .is_some_and(|w| w.webhook_token.is_some());
    let saved = saved::save(&platform, owner, definition)
        .await
        .map_err(save_error)?;
    let webhook = match (webhook_path(&saved.row), &saved.row.webhook_token) {
        (Some(path), Some(token)) => {
            let secret = if had_webhook {
                None
            } else {
                let sealed = saved.row.webhook_secret.as_deref().ok_or_else(|| {
                    ApiError::internal(&"a new webhook workflow was saved without its secret")
                })?;
                Some(
                    webhook::open_secret(&platform, token, sealed)
                        .map_err(|e| ApiError::internal(&e))?,
                )
            };
            Some(WebhookView { path, secret })
        }
        _ => None,
    };
    Ok((
        StatusCode::CREATED,
        Json(SavedView {
            workflow: WorkflowDetail {
                workflow: WorkflowView::from(&saved.row),
                definition: saved.definition,
            },
            webhook,
        }),
    ))
}

/// One workflow: its current definition and metadata.
#[utoipa::path(
    get,
    path = "/v1/workflows/{name}",
    tag = "workflows",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("name" = String, Path, description = "The workflow's name.")),
    responses(
        (status = 200, description = "The workflow at its current version.", body = WorkflowDetail),
        (status = 404, description = "No such workflow in this account (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn show(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<WorkflowDetail>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let current = saved::load(&platform, principal.owner(), &name)
        .await
        .map_err(save_error)?;
    Ok(Json(WorkflowDetail {
        workflow: WorkflowView::from(&current.row),
        definition: current.definition,
    }))
}

/// Every saved version of one workflow, oldest first.
#[utoipa::path(
    get,
    path = "/v1/workflows/{name}/versions",
    tag = "workflows",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("name" = String, Path, description = "The workflow's name.")),
    responses(
        (status = 200, description = "Every version, oldest first.", body = Vec<VersionView>),
        (status = 404, description = "No such workflow in this account (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn versions(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let row = find(&platform, principal.owner(), &name).await?;
    let versions = platform.store.workflows().versions(&row.id).await?;
    Ok(Json(
        versions
            .iter()
            .map(|v| VersionView {
                version: v.version,
                created_at: v.created_at,
            })
            .collect(),
    ))
}

/// One saved version of one workflow.
#[utoipa::path(
    get,
    path = "/v1/workflows/{name}/versions/{version}",
    tag = "workflows",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(
        ("name" = String, Path, description = "The workflow's name."),
        ("version" = i64, Path, minimum = 1, description = "The version, from 1."),
    ),
    responses(
        (status = 200, description = "That version's definition.", body = VersionDetail),
        (status = 400, description = "The version is not a whole number (`invalid_input`, `details.field` = `version`).", body = ErrorBody),
        (status = 404, description = "No such workflow in this account, or no such version (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn version(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<VersionDetail>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let version: i64 = version.parse().map_err(|_| {
        ApiError::invalid(
            "version",
            format!("`{version}` is not a version number: versions are whole numbers from 1"),
        )
    })?;
    let row = find(&platform, principal.owner(), &name).await?;
    let stored = platform
        .store
        .workflows()
        .version(&row.id, version)
        .await?
        .ok_or_else(|| ApiError::not_found("workflow version"))?;
    let definition = WorkflowDefinition::from_json(&stored.definition)
        .map_err(|e| ApiError::internal(&SaveError::Damaged(row.name.clone(), e.to_string())))?;
    Ok(Json(VersionDetail {
        name: row.name,
        version,
        current_version: row.version,
        created_at: stored.created_at,
        definition,
    }))
}

/// Give a webhook workflow a new signing secret; the old one stops
/// verifying at once.
#[utoipa::path(
    post,
    path = "/v1/workflows/{name}/rotate-secret",
    tag = "workflows",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("name" = String, Path, description = "The workflow's name.")),
    responses(
        (status = 200, description = "The new secret, shown only now.", body = RotatedView),
        (status = 404, description = "No such workflow in this account (`not_found`).", body = ErrorBody),
        (status = 409, description = "The workflow has no webhook trigger (`not_webhook`).", body = ErrorBody),
    ),
)]
pub async fn rotate_secret(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<RotatedView>, ApiError> {
    let principal = caller.require(Scope::Run)?;
    let row = find(&platform, principal.owner(), &name).await?;
    let not_webhook = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_webhook",
            format!(
                "workflow `{name}` has no webhook trigger, so it has no signing secret: \
                 save it with `trigger: {{kind: webhook}}` to give it one"
            ),
        )
    };
    let path = webhook_path(&row).ok_or_else(not_webhook)?;
    let secret = webhook::rotate_secret(&platform, principal.owner(), &name)
        .await
        .map_err(|e| match e {
            WebhookError::NotWebhook(_) => not_webhook(),
            e @ WebhookError::SenderSecret { .. } => {
                ApiError::new(StatusCode::CONFLICT, "sender_secret", e.to_string())
            }
            e => secret_error(e),
        })?;
    Ok(Json(RotatedView {
        name: row.name,
        webhook: WebhookView {
            path,
            secret: Some(secret),
        },
    }))
}

/// Set a webhook workflow's signing secret to the one its sender gave.
///
/// For senders that make their own secret (Stripe's endpoint secret,
/// Slack's signing secret) or take one typed in (GitHub). The secret is
/// checked against the trigger's format (a Standard Webhooks secret is
/// `whsec_` and the base64 of 24 to 64 bytes, or the sender's ed25519
/// public key, `whpk_` and the base64 of 32 bytes, whose `v1a` signatures
/// are then verified instead of `v1`; a private `whsk_` key is refused;
/// Stripe's starts with `whsec_`, a chosen one has at least 16
/// characters), sealed, and never shown back; the old one stops verifying
/// at once.
#[utoipa::path(
    post,
    path = "/v1/workflows/{name}/secret",
    tag = "workflows",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("name" = String, Path, description = "The workflow's name.")),
    request_body = SetSecret,
    responses(
        (status = 200, description = "The secret is set (not shown back).", body = SecretSetView),
        (status = 400, description = "The body is not `{\"secret\": \"...\"}`, or the secret cannot sign the trigger's format (`invalid_input`, `details.field` = `secret`).", body = ErrorBody),
        (status = 404, description = "No such workflow in this account (`not_found`).", body = ErrorBody),
        (status = 409, description = "The workflow has no webhook trigger (`not_webhook`).", body = ErrorBody),
    ),
)]
pub async fn set_secret(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<SetSecret>,
) -> Result<Json<SecretSetView>, ApiError> {
    let principal = caller.require(Scope::Run)?;
    let row = find(&platform, principal.owner(), &name).await?;
    let not_webhook = || {
        ApiError::new(
            StatusCode::CONFLICT,
            "not_webhook",
            format!(
                "workflow `{name}` has no webhook trigger, so it takes no signing secret: \
                 save it with `trigger: {{kind: webhook}}` first"
            ),
        )
    };
    let path = webhook_path(&row).ok_or_else(not_webhook)?;
    let format = webhook::set_secret(&platform, principal.owner(), &name, &body.secret)
        .await
        .map_err(|e| match e {
            WebhookError::NotWebhook(_) => not_webhook(),
            e @ WebhookError::InvalidSecret { .. } => ApiError::invalid("secret", e.to_string()),
            e => secret_error(e),
        })?;
    Ok(Json(SecretSetView {
        name: row.name,
        path,
        format: format.to_string(),
    }))
}

/// A failure to change a webhook's secret other than the caller's.
fn secret_error(e: WebhookError) -> ApiError {
    match e {
        WebhookError::Trigger(TriggerError::Workflow(e)) => save_error(e),
        WebhookError::Trigger(TriggerError::Store(e)) => ApiError::from(e),
        e => ApiError::internal(&e),
    }
}

/// Delete a workflow.
///
/// Its runs stay readable (listed and shown with the workflow's name, each
/// with the version it ran); those still queued, running or waiting are
/// cancelled at once (a step executing at that moment finishes, but its
/// result is not recorded). Its webhook URL answers 404 from now on, its
/// schedule and event triggers stop firing, its runs can no longer be
/// rerun (409 `workflow_gone`), and its name is free: saving a definition
/// of that name makes a new workflow at version 1.
#[utoipa::path(
    delete,
    path = "/v1/workflows/{name}",
    tag = "workflows",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("name" = String, Path, description = "The workflow's name.")),
    responses(
        (status = 204, description = "Deleted; its active runs cancelled."),
        (status = 404, description = "No such workflow in this account (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn delete(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Scope::Run)?;
    saved::delete(&platform, principal.owner(), &name)
        .await
        .map_err(save_error)?;
    Ok(StatusCode::NO_CONTENT)
}
