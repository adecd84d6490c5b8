//! The marketplace listing: integrations with an approved, not revoked
//! version, for any account (the `read` scope).
//!
//! - `GET /v1/integrations` → each integration's newest approved version:
//!   name, version, publisher, description;
//! - `GET /v1/integrations/{name}` → that version with its actions, the
//!   hosts it may call and the OAuth scopes it asks for;
//! - `GET /v1/integrations/{name}/versions` → every approved version,
//!   newest first.
//!
//! A name with no approved version answers 404.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::platform::Platform;
use workway_registry::Manifest;
use workway_store::submissions::SubmissionRow;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::submissions::{registry, registry_error};

/// An integration as the listing shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationSummary {
    /// Its name.
    pub name: String,
    /// Its newest approved version.
    pub version: String,
    /// Who publishes it, as its manifest says.
    pub publisher: String,
    /// What it does.
    pub description: String,
}

/// One action of an integration.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Action)]
pub struct ActionView {
    /// The action's name.
    pub name: String,
    /// What it does.
    pub description: String,
}

/// An integration's newest approved version in full.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Integration)]
pub struct IntegrationView {
    /// Name, version, publisher, description.
    #[serde(flatten)]
    pub summary: IntegrationSummary,
    /// The approved component's digest (`sha256:...`).
    pub digest: String,
    /// Its actions.
    pub actions: Vec<ActionView>,
    /// The outbound hosts it may call.
    pub hosts: Vec<String>,
    /// The OAuth scopes it asks for, by provider.
    pub scopes: BTreeMap<String, Vec<String>>,
    /// When this version was approved (Unix ms).
    pub approved_at: i64,
}

/// One approved version.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = IntegrationVersion)]
pub struct VersionView {
    /// The version.
    pub version: String,
    /// Its component's digest.
    pub digest: String,
    /// When it was approved (Unix ms).
    pub approved_at: i64,
}

/// The approved manifest of `row`.
fn manifest(row: &SubmissionRow) -> Result<Manifest, ApiError> {
    Manifest::from_toml(&row.manifest).map_err(|e| {
        ApiError::internal(&format!(
            "approved submission {} has a manifest that does not parse: {e}",
            row.id
        ))
    })
}

fn summary(row: &SubmissionRow, manifest: &Manifest) -> IntegrationSummary {
    IntegrationSummary {
        name: row.integration.clone(),
        version: row.version.clone(),
        publisher: manifest.publisher.clone(),
        description: manifest.description.clone(),
    }
}

/// Every integration with an approved version, by name.
#[utoipa::path(
    get,
    path = "/v1/integrations",
    tag = "integrations",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "Each integration's newest approved, not revoked version.", body = Vec<IntegrationSummary>),
    ),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<IntegrationSummary>>, ApiError> {
    caller.require(Scope::Read)?;
    let rows = registry(&platform)?
        .approved_integrations()
        .await
        .map_err(registry_error)?;
    let listed = rows
        .iter()
        .map(|row| Ok(summary(row, &manifest(row)?)))
        .collect::<Result<_, ApiError>>()?;
    Ok(Json(listed))
}

/// The newest approved version of an integration.
///
/// With its actions, the hosts it may call and the OAuth scopes it asks for.
#[utoipa::path(
    get,
    path = "/v1/integrations/{name}",
    tag = "integrations",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("name" = String, Path, description = "The integration's name.")),
    responses(
        (status = 200, description = "The newest approved version.", body = IntegrationView),
        (status = 404, description = "No approved version of this name (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn show(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<IntegrationView>, ApiError> {
    caller.require(Scope::Read)?;
    let rows = registry(&platform)?
        .approved_versions(&name)
        .await
        .map_err(registry_error)?;
    let row = rows
        .first()
        .ok_or_else(|| ApiError::not_found("integration"))?;
    let manifest = manifest(row)?;
    Ok(Json(IntegrationView {
        summary: summary(row, &manifest),
        digest: row.digest.clone(),
        actions: manifest
            .actions
            .iter()
            .map(|(name, action)| ActionView {
                name: name.clone(),
                description: action.description.clone(),
            })
            .collect(),
        hosts: manifest.http.hosts.clone(),
        scopes: manifest
            .oauth
            .iter()
            .map(|(provider, r)| (provider.clone(), r.scopes.clone()))
            .collect(),
        approved_at: row.updated_at,
    }))
}

/// Every approved version of an integration, newest first.
#[utoipa::path(
    get,
    path = "/v1/integrations/{name}/versions",
    tag = "integrations",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("name" = String, Path, description = "The integration's name.")),
    responses(
        (status = 200, description = "Every approved version, newest first.", body = Vec<VersionView>),
        (status = 404, description = "No approved version of this name (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn versions(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    caller.require(Scope::Read)?;
    let rows = registry(&platform)?
        .approved_versions(&name)
        .await
        .map_err(registry_error)?;
    if rows.is_empty() {
        return Err(ApiError::not_found("integration"));
    }
    Ok(Json(
        rows.iter()
            .map(|row| VersionView {
                version: row.version.clone(),
                digest: row.digest.clone(),
                approved_at: row.updated_at,
            })
            .collect(),
    ))
}
