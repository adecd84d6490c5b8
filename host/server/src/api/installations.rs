//! The caller's installations: which approved version of each integration
//! the account's workflows may call, with its settings.
//!
//! - `GET /v1/installations` → the account's installations, by name, each
//!   with the newer approved version waiting for it (`update`), if any:
//!   whether it needs consent and what it adds;
//! - `POST /v1/installations` `{integration, version?, config?, accept}` →
//!   201 the installation (installing again replaces version and settings;
//!   runs already started keep what they pinned); `accept` must be the
//!   `consent_digest` of `GET /v1/integrations/{name}/consent` for that
//!   version, else 409 `consent_required` with the summary in `details`;
//!   404 when no approved version serves it, 400 for a setting name that is
//!   not one, 409 `not_installable` for a revoked version or an approval
//!   that no longer holds;
//! - `DELETE /v1/installations/{integration}` → 200 `{integration,
//!   workflows}`: the account's workflows whose steps call it (they are
//!   refused as not installed until it is installed again).
//!
//! Another account's installation answers 404, as a missing one does.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::installations::{self, Installation};
use workway_engine::marketplace::consent::{self, PendingUpdate};
use workway_engine::platform::Platform;

use super::auth::Caller;
use super::body::ApiJson;
use super::consent::{ConsentDiffView, ConsentView, consent_error, install_error};
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

/// A newer approved version waiting for an installation.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InstallationUpdate)]
pub struct UpdateView {
    /// Whether moving to it needs the account's consent: it widens what was
    /// accepted (a new host, scope or provider). Until then the
    /// installation keeps its version.
    pub consent_required: bool,
    /// What it adds to what was accepted (empty when nothing).
    pub added: ConsentDiffView,
    /// Its consent summary (accept its `consent_digest` to move to it with
    /// `POST /v1/installations/{integration}/upgrade`).
    pub consent: ConsentView,
}

impl From<PendingUpdate> for UpdateView {
    fn from(u: PendingUpdate) -> Self {
        UpdateView {
            consent_required: u.consent_required,
            added: ConsentDiffView::from(u.added),
            consent: ConsentView::from(u.summary),
        }
    }
}

/// An installation as the list shows it: with the update waiting for it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = InstallationListItem)]
pub struct ListedInstallation {
    /// The installation.
    #[serde(flatten)]
    pub installation: InstallationView,
    /// The newer approved version waiting for it, if any (`null`: none).
    pub update: Option<UpdateView>,
}

/// `POST /v1/installations`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// The integration's name.
    pub(crate) integration: String,
    /// An approved version; the newest approved one when left out.
    #[serde(default)]
    pub(crate) version: Option<String>,
    /// The account's settings for it, by the names its manifest declares.
    #[serde(default)]
    pub(crate) config: BTreeMap<String, String>,
    /// The `consent_digest` of the version's consent summary
    /// (`GET /v1/integrations/{name}/consent`): the account accepts what it
    /// may do. Required.
    #[serde(default)]
    pub(crate) accept: Option<String>,
}

/// What an uninstall answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Uninstalled {
    /// The integration uninstalled.
    pub integration: String,
    /// The names of the account's workflows whose steps call it: they are
    /// refused (`not_installed`) until it is installed again or they change.
    pub workflows: Vec<String>,
}

/// The caller's installations, by integration name.
#[utoipa::path(
    get,
    path = "/v1/installations",
    tag = "installations",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The account's installations, by integration name, each with the newer version waiting for it (`update`).", body = Vec<ListedInstallation>),
    ),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<ListedInstallation>>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let owner = principal.owner();
    let all = installations::list(&platform.store, owner)
        .await
        .map_err(install_error)?;
    let mut listed = Vec::with_capacity(all.len());
    for installation in all {
        let update = consent::pending_update(&platform, owner, &installation)
            .await
            .map_err(install_error)?;
        listed.push(ListedInstallation {
            installation: InstallationView::from(installation),
            update: update.map(UpdateView::from),
        });
    }
    Ok(Json(listed))
}

/// Install an integration (its newest approved version, or `version`),
/// accepting what it may do.
///
/// `accept` must be the `consent_digest` of that version's consent summary;
/// the acceptance is recorded. Installing again replaces the version and
/// the settings; runs already started keep what they pinned.
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
        (status = 409, description = "`accept` is missing or not the digest of what the version may do (`consent_required`, `details.consent` the summary to show, `details.added` what it adds to an existing installation's); or the version is revoked or its approval no longer holds (`not_installable`, `details.field` = `version`).", body = ErrorBody),
        (status = 402, description = "The integration is paid and the account has no entitlement to it (`payment_required`; `details.price_cents`, `details.purchase`: the route that buys it).", body = ErrorBody),
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
    let installed = consent::install(
        &platform,
        principal.owner(),
        integration,
        version,
        body.config,
        body.accept.as_deref().map(str::trim),
    )
    .await
    .map_err(consent_error)?;
    Ok((StatusCode::CREATED, Json(InstallationView::from(installed))))
}

/// Uninstall an integration.
///
/// Answers the account's workflows whose steps call it: they cannot be
/// saved or started (`not_installed`) until it is installed again; runs
/// already started keep what they pinned.
#[utoipa::path(
    delete,
    path = "/v1/installations/{integration}",
    tag = "installations",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("integration" = String, Path, description = "The installed integration's name.")),
    responses(
        (status = 200, description = "Uninstalled; the workflows that use it.", body = Uninstalled),
        (status = 404, description = "The account has not installed it (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn uninstall(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(integration): Path<String>,
) -> Result<Json<Uninstalled>, ApiError> {
    let principal = caller.require(Scope::Run)?;
    let workflows = consent::uninstall(&platform, principal.owner(), &integration)
        .await
        .map_err(install_error)?
        .ok_or_else(|| ApiError::not_found("installation"))?;
    Ok(Json(Uninstalled {
        integration,
        workflows,
    }))
}

/// `POST /v1/installations/{integration}/upgrade`'s body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Upgrade {
    /// The `consent_digest` of the newer version's summary; needed when
    /// the update widens what was accepted.
    #[serde(default)]
    pub(crate) accept: Option<String>,
}

/// The answer to an upgrade.
#[derive(Debug, Serialize, ToSchema)]
pub struct Upgraded {
    /// Whether the installation moved (false: it already had the newest version).
    pub upgraded: bool,
    /// The installation, as it now is.
    pub installation: InstallationView,
}

/// Move an installation to the newest approved version.
///
/// Keeps the settings. An update that widens hosts or scopes (or adds a
/// provider) compared with what was accepted needs `accept`; until then
/// the installation keeps its version.
#[utoipa::path(
    post,
    path = "/v1/installations/{integration}/upgrade",
    tag = "installations",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("integration" = String, Path, description = "The installed integration's name.")),
    request_body = Upgrade,
    responses(
        (status = 200, description = "Moved to the newest approved version, or already there (`upgraded` false).", body = Upgraded),
        (status = 400, description = "The body is not this route's JSON (`invalid_body`).", body = ErrorBody),
        (status = 402, description = "The integration became paid and the account has no entitlement to it (`payment_required`).", body = ErrorBody),
        (status = 404, description = "The account has not installed it (`not_found`).", body = ErrorBody),
        (status = 409, description = "The update widens what was accepted and `accept` is missing or not its digest (`consent_required`, `details.consent` the summary, `details.added` what it adds); or the version is not installable (`not_installable`).", body = ErrorBody),
    ),
)]
pub async fn upgrade(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(integration): Path<String>,
    ApiJson(body): ApiJson<Upgrade>,
) -> Result<Json<Upgraded>, ApiError> {
    let principal = caller.require(Scope::Run)?;
    let owner = principal.owner();
    let moved = consent::upgrade(&platform, owner, &integration, body.accept.as_deref())
        .await
        .map_err(consent_error)?;
    let (upgraded, installation) = match moved {
        Some(installation) => (true, installation),
        None => (
            false,
            workway_engine::installations::find(&platform.store, owner, &integration)
                .await
                .map_err(install_error)?
                .ok_or_else(|| ApiError::not_found("installation"))?,
        ),
    };
    Ok(Json(Upgraded {
        upgraded,
        installation: InstallationView::from(installation),
    }))
}
