//! Installations: a user's choice to use one approved version of an
//! integration, with its settings. Workflows may only call installed
//! integrations, and each run pins the version and digest installed when
//! it started, so a later upgrade or re-approval never changes a run
//! midway.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use workway_store::installations::{InstallationRow, NewInstallation};
use workway_store::{Store, StoreError};

use crate::catalog::CatalogError;
use crate::events::Event;
use crate::platform::Platform;
use workway_vault::oauth::flow::{AuthorizationStart, FlowError, OAuthFlow};

/// What a run pinned of one integration when it started: the installed
/// version, the approved component's digest and the installation's
/// settings. A run uses exactly these until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The installed version.
    pub version: String,
    /// The approved component's digest (`sha256:...`).
    pub digest: String,
    /// The installation's settings.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// The pins of a run, by integration name.
pub type Pins = BTreeMap<String, Pin>;

/// Why an installation could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// No approved version can be installed (or its approval does not hold).
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A setting names something the integration does not declare.
    #[error("{0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored configuration is not a JSON object of strings.
    #[error("the stored configuration of installation `{0}` is damaged: {1}")]
    Damaged(String, String),
    /// The user has not installed the integration.
    #[error("`{0}` is not installed; install it first")]
    NotInstalled(String),
    /// The installation's approval names no scopes of this provider.
    #[error(
        "`{integration}` was not approved to use `{provider}`, so it needs no `{provider}` connection"
    )]
    ProviderNotApproved {
        /// The integration.
        integration: String,
        /// The provider asked for.
        provider: String,
    },
    /// Starting the authorization failed.
    #[error(transparent)]
    Flow(#[from] FlowError),
    /// The integration is paid and the account may not install it yet
    /// (see [`crate::marketplace::listings::require_entitlement`]).
    #[error(transparent)]
    Listing(#[from] crate::marketplace::listings::ListingError),
}

/// An installed integration, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installation {
    /// The stored row.
    pub row: InstallationRow,
    /// Its settings.
    pub config: BTreeMap<String, String>,
}

impl Installation {
    fn decode(row: InstallationRow) -> Result<Installation, InstallError> {
        let config = serde_json::from_str(&row.config)
            .map_err(|e| InstallError::Damaged(row.id.clone(), e.to_string()))?;
        Ok(Installation { row, config })
    }
}

/// Install `integration` (exactly `version`, or its newest approved one)
/// for `owner` with `config`. Installing again replaces the version and
/// settings; runs already started keep what they pinned.
pub async fn install(
    platform: &Platform,
    owner: &str,
    integration: &str,
    version: Option<&str>,
    config: BTreeMap<String, String>,
) -> Result<Installation, InstallError> {
    let approved = platform.catalog.get(integration, version).await?;
    crate::marketplace::listings::require_entitlement(
        &platform.store,
        owner,
        integration,
        &approved.manifest,
    )
    .await?;
    check_settings(&config)?;
    let config_json = serde_json::to_string(&config)
        .map_err(|e| InstallError::Config(format!("cannot encode the settings: {e}")))?;
    let row = platform
        .store
        .installations()
        .upsert(&NewInstallation {
            id: &uuid::Uuid::new_v4().to_string(),
            owner,
            integration,
            version: &approved.claims.version,
            digest: &approved.claims.digest.to_string(),
            submission_id: &approved.submission_id,
            config: &config_json,
            now: workway_store::clock::now_ms(),
        })
        .await?;
    tracing::info!(owner, integration, version = %row.version, "installed");
    let event = Event::installation_created(owner, integration, &row.version, &row.id);
    if let Err(e) = platform.publish(&[event]).await {
        tracing::warn!(
            owner,
            integration,
            "cannot publish installation_created: {e}"
        );
    }
    Installation::decode(row)
}

/// Start connecting `owner`'s `provider` account for their installation
/// of `integration`: the authorization request asks for exactly the scopes
/// the installed version's signed approval lists for that provider (plus
/// the provider's identity scopes), so the grant is made per installation
/// and the vault can hand it to this installation (see
/// [`workway_vault::credentials::ExecutionConnections`]). Returns where to
/// send the user.
pub async fn connect(
    platform: &Platform,
    owner: &str,
    integration: &str,
    provider: &str,
    redirect_uri: &str,
) -> Result<AuthorizationStart, InstallError> {
    let installed = find(&platform.store, owner, integration)
        .await?
        .ok_or_else(|| InstallError::NotInstalled(integration.to_string()))?;
    let approved = platform
        .catalog
        .get(integration, Some(&installed.row.version))
        .await?;
    let scopes =
        approved
            .claims
            .scopes
            .get(provider)
            .ok_or_else(|| InstallError::ProviderNotApproved {
                integration: integration.to_string(),
                provider: provider.to_string(),
            })?;
    Ok(OAuthFlow::new(platform.vault.clone())
        .begin(owner, provider, scopes, redirect_uri)
        .await?)
}

/// Refuse settings whose names are not setting names (letters, digits,
/// `_`, `-` and `.`, at most 64), naming the first bad one.
pub fn check_settings(config: &BTreeMap<String, String>) -> Result<(), InstallError> {
    match config.keys().find(|k| !valid_setting_name(k)) {
        Some(bad) => Err(InstallError::Config(format!(
            "setting name `{bad}` is not valid: use letters, digits, `_`, `-` and `.`"
        ))),
        None => Ok(()),
    }
}

fn valid_setting_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The installation of `integration` by `owner`, if any.
pub async fn find(
    store: &Store,
    owner: &str,
    integration: &str,
) -> Result<Option<Installation>, InstallError> {
    store
        .installations()
        .find(owner, integration)
        .await?
        .map(Installation::decode)
        .transpose()
}

/// Everything `owner` installed, by integration name.
pub async fn list(store: &Store, owner: &str) -> Result<Vec<Installation>, InstallError> {
    store
        .installations()
        .list(owner)
        .await?
        .into_iter()
        .map(Installation::decode)
        .collect()
}
