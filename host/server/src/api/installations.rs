//! The caller's installations: which approved version of each integration
//! the account's workflows may call, with its settings.
//!
//! - `GET /v1/installations` → the account's installations, by name;
//! - `POST /v1/installations` `{integration, version?, config?}` → 201 the
//!   installation (installing again replaces version and settings; runs
//!   already started keep what they pinned); 404 when no approved version
//!   serves it, 400 for a setting name that is not one, 409 for a revoked
//!   version or an approval that no longer holds;
//! - `DELETE /v1/installations/{integration}` → 204.
//!
//! Another account's installation answers 404, as a missing one does.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::catalog::CatalogError;
use workway_engine::installations::{self, InstallError, Installation};
use workway_engine::platform::Platform;
use workway_engine::review::RegistryError;

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};

/// An installation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Installation)]
pub struct InstallationView {
    /// The installation's id.
    pub id: String,
    /// The integration's name.
    pub integration: String,
    /// The installed version.
    pub version: String,
    /// The installed component's digest (`sha256:...`).
    pub digest: String,
    /// The account's settings for it.
    pub config: BTreeMap<String, String>,
    /// When it was first installed (Unix ms).
    pub created_at: i64,
    /// When it was last installed again (Unix ms).
    pub updated_at: i64,
}

impl From<Installation> for InstallationView {
    fn from(i: Installation) -> Self {
        InstallationView {
            id: i.row.id,
            integration: i.row.integration,
            version: i.row.version,
            digest: i.row.digest,
            config: i.config,
            created_at: i.row.created_at,
            updated_at: i.row.updated_at,
        }
    }
}

/// `POST /v1/installations`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// The integration's name.
    integration: String,
    /// An approved version; the newest approved one when left out.
    #[serde(default)]
    version: Option<String>,
    /// The account's settings for it, by the names its manifest declares.
    #[serde(default)]
    config: BTreeMap<String, String>,
}

/// An installation failure as the API answers it.
fn install_error(e: InstallError) -> ApiError {
    match e {
        InstallError::Catalog(CatalogError::Registry(RegistryError::NotApproved(_))) => {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!(
                    "{e}: check the integration's name (and version), or install its newest \
                     approved version by leaving `version` out"
                ),
            )
            .with_details(json!({ "field": "integration" }))
        }
        InstallError::Catalog(CatalogError::Registry(RegistryError::Store(e))) => ApiError::from(e),
        InstallError::Catalog(
            CatalogError::Revoked { .. }
            | CatalogError::Approval { .. }
            | CatalogError::NotAsked { .. },
        ) => ApiError::new(
            StatusCode::CONFLICT,
            "not_installable",
            format!("{e}: install another approved version"),
        )
        .with_details(json!({ "field": "version" })),
        InstallError::Config(message) => ApiError::invalid("config", message),
        InstallError::Store(e) => ApiError::from(e),
        InstallError::NotInstalled(_) => ApiError::not_found("installation"),
        e => ApiError::internal(&e),
    }
}

/// The caller's installations, by integration name.
#[utoipa::path(
    get,
    path = "/v1/installations",
    tag = "installations",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The account's installations, by integration name.", body = Vec<InstallationView>),
    ),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<InstallationView>>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let all = installations::list(&platform.store, principal.owner())
        .await
        .map_err(install_error)?;
    Ok(Json(all.into_iter().map(InstallationView::from).collect()))
}

/// Install an integration (its newest approved version, or `version`).
///
/// Installing again replaces the version and the settings; runs already
/// started keep what they pinned.
#[utoipa::path(
    post,
    path = "/v1/installations",
    tag = "installations",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    request_body = Install,
    responses(
        (status = 201, description = "Installed.", body = InstallationView),
        (status = 400, description = "A field is wrong (`invalid_input`, `details.field` = `integration`, `version` or `config`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
        (status = 404, description = "No approved version serves this integration (and version) (`not_found`, `details.field` = `integration`).", body = ErrorBody),
        (status = 409, description = "The version is revoked or its approval no longer holds (`not_installable`, `details.field` = `version`).", body = ErrorBody),
    ),
)]
pub async fn install(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    ApiJson(body): ApiJson<Install>,
) -> Result<(StatusCode, Json<InstallationView>), ApiError> {
    let principal = caller.require(Scope::Run)?;
    let integration = body.integration.trim();
    if integration.is_empty() {
        return Err(ApiError::invalid(
            "integration",
            "name the integration to install",
        ));
    }
    let version = body.version.as_deref().map(str::trim);
    if version.is_some_and(str::is_empty) {
        return Err(ApiError::invalid(
            "version",
            "the version is empty: name one, or leave `version` out for the newest approved one",
        ));
    }
    let installed = installations::install(
        &platform,
        principal.owner(),
        integration,
        version,
        body.config,
    )
    .await
    .map_err(install_error)?;
    Ok((StatusCode::CREATED, Json(InstallationView::from(installed))))
}

/// Uninstall an integration.
///
/// Runs already started keep what they pinned; workflows that call it
/// cannot start until it is installed again.
#[utoipa::path(
    delete,
    path = "/v1/installations/{integration}",
    tag = "installations",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("integration" = String, Path, description = "The installed integration's name.")),
    responses(
        (status = 204, description = "Uninstalled."),
        (status = 404, description = "The account has not installed it (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn uninstall(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(integration): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Scope::Run)?;
    let deleted = platform
        .store
        .installations()
        .delete(principal.owner(), &integration)
        .await
        .map_err(ApiError::from)?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("installation"))
    }
}
