//! Installing with consent: what a version may do, shown before it is
//! installed, and how a refusal to install is answered.
//!
//! - `GET /v1/integrations/{name}/consent?version=` → the consent summary
//!   of the version that would be installed (the newest approved one when
//!   `version` is left out): the hosts it may reach, the OAuth scopes it
//!   asks for by provider (from its signed approval), its upfront price
//!   (`price_cents`, `null` when free), and `consent_digest`,
//!   which `POST /v1/installations` (and `POST
//!   /v1/installations/{integration}/upgrade`, in [`super::installations`])
//!   must carry back as `accept`;
//! - [`consent_error`] and [`install_error`]: the answers to a refused
//!   install or upgrade, shared with [`super::installations`].
//!
//! The rule is enforced in the engine's
//! [`workway_engine::marketplace::consent`], which these handlers call.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::catalog::CatalogError;
use workway_engine::installations::InstallError;
use workway_engine::marketplace::consent::{self, ConsentDiff, ConsentError, ConsentSummary};
use workway_engine::platform::Platform;
use workway_engine::review::RegistryError;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::paging;

/// What installing one version grants.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ConsentSummary)]
pub struct ConsentView {
    /// The integration.
    pub integration: String,
    /// The version that would be installed.
    pub version: String,
    /// The outbound host patterns it may reach, sorted.
    pub hosts: Vec<String>,
    /// The OAuth scopes it asks for, by provider, sorted (a provider with
    /// no scopes: it may use that provider's connection).
    pub scopes: BTreeMap<String, Vec<String>>,
    /// `sha256:<hex>` of the canonical form of exactly this set: send it
    /// back as `accept` to install.
    pub consent_digest: String,
    /// Its upfront price in cents; `null` when free (a paid one installs
    /// only once purchased).
    pub price_cents: Option<i64>,
}

impl From<ConsentSummary> for ConsentView {
    fn from(s: ConsentSummary) -> Self {
        ConsentView {
            integration: s.integration,
            version: s.version,
            hosts: s.set.hosts.into_iter().collect(),
            scopes: s
                .set
                .scopes
                .into_iter()
                .map(|(p, s)| (p, s.into_iter().collect()))
                .collect(),
            consent_digest: s.consent_digest,
            price_cents: s.price_cents,
        }
    }
}

/// What an update adds to what was accepted.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ConsentDiff)]
pub struct ConsentDiffView {
    /// Hosts not accepted before.
    pub hosts: Vec<String>,
    /// Scopes not accepted before, by provider (a new provider with all its scopes).
    pub scopes: BTreeMap<String, Vec<String>>,
}

impl From<ConsentDiff> for ConsentDiffView {
    fn from(d: ConsentDiff) -> Self {
        ConsentDiffView {
            hosts: d.hosts,
            scopes: d.scopes,
        }
    }
}

/// A consent failure as the API answers it: 409 `consent_required` with
/// the summary (and, for an installed integration, what it adds) in
/// `details`, so a client can show it and ask again.
pub(super) fn consent_error(e: ConsentError) -> ApiError {
    match e {
        ConsentError::Install(e) => install_error(e),
        ConsentError::Required {
            ref summary,
            ref added,
        } => {
            let message = e.to_string();
            let summary = ConsentView::from(summary.clone());
            let added = added.clone().map(ConsentDiffView::from);
            ApiError::new(StatusCode::CONFLICT, "consent_required", message).with_details(json!({
                "field": "accept",
                "consent": summary,
                "added": added,
            }))
        }
    }
}

/// An installation failure as the API answers it.
pub(super) fn install_error(e: InstallError) -> ApiError {
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
        InstallError::Listing(e) => super::listings::listing_error(e),
        e => ApiError::internal(&e),
    }
}

/// `GET /v1/integrations/{name}/consent`'s query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentQuery {
    pub(crate) version: Option<String>,
}

/// The consent summary of the version that would be installed.
#[utoipa::path(
    get,
    path = "/v1/integrations/{name}/consent",
    tag = "installations",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(
        ("name" = String, Path, description = "The integration's name."),
        ("version" = Option<String>, Query, description = "An approved version; the newest approved one when left out."),
    ),
    responses(
        (status = 200, description = "What installing it grants, and the digest to accept it with.", body = ConsentView),
        (status = 400, description = "A query parameter is wrong (`invalid_input`, `details.field` = `version` or `query`).", body = ErrorBody),
        (status = 404, description = "No approved version serves this integration (and version) (`not_found`).", body = ErrorBody),
        (status = 409, description = "The version is revoked or its approval no longer holds (`not_installable`).", body = ErrorBody),
    ),
)]
pub async fn show(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
    query: Result<Query<ConsentQuery>, QueryRejection>,
) -> Result<Json<ConsentView>, ApiError> {
    caller.require(Scope::Read)?;
    let query = paging::query_of(query, "version")?;
    let version = query.version.as_deref().map(str::trim);
    if version.is_some_and(str::is_empty) {
        return Err(ApiError::invalid(
            "version",
            "the version is empty: name one, or leave `version` out for the newest approved one",
        ));
    }
    let summary = consent::summary(&platform, &name, version)
        .await
        .map_err(install_error)?;
    Ok(Json(ConsentView::from(summary)))
}
