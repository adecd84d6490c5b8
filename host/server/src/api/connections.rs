//! The caller's connections: accounts at providers whose grants the vault
//! holds sealed. Their tokens are never shown.
//!
//! - `GET /v1/connections` → the account's connections, oldest first;
//! - `POST /v1/connections` `{provider, secret, account?, scopes?}` → 201
//!   the connection: a key the user holds (a Stripe restricted key, a
//!   Notion internal integration secret, a Slack bot token) sealed in the
//!   vault like an OAuth token and never shown again; 400 naming the field
//!   that is wrong (checked by [`workway_engine::connections::check`]);
//! - `DELETE /v1/connections/{id}` → 204: the connection and its tokens
//!   are erased here (every cache of the vault told), then the grant is
//!   revoked at the provider, best effort.
//!
//! Another account's connection answers 404, as a missing one does.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use workway_engine::accounts::Scope;
use workway_engine::connections::{self, KeyConnectionError};
use workway_engine::platform::Platform;
use workway_store::connections::{ConnectionRow, ConnectionStatus};
use workway_vault::VaultError;

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};

/// A connection (never its tokens).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Connection)]
pub struct ConnectionView {
    /// The connection's id (for disconnecting).
    pub id: String,
    /// The provider: google, notion, slack or stripe.
    pub provider: String,
    /// The account's name at the provider, when known.
    pub account: Option<String>,
    /// The scopes the grant carries.
    pub scopes: Vec<String>,
    /// `active`, or `needs-reauth` when the account must be connected again.
    pub status: &'static str,
    /// Why it needs re-authorisation.
    pub status_reason: Option<String>,
    /// When it was connected (Unix ms).
    pub created_at: i64,
}

impl From<&ConnectionRow> for ConnectionView {
    fn from(row: &ConnectionRow) -> Self {
        ConnectionView {
            id: row.id.clone(),
            provider: row.provider.clone(),
            account: row.account.clone(),
            scopes: row.scopes.clone(),
            status: match row.status {
                ConnectionStatus::Active => "active",
                ConnectionStatus::NeedsReauth => "needs-reauth",
            },
            status_reason: row.status_reason.clone(),
            created_at: row.created_at,
        }
    }
}

/// `POST /v1/connections`'s body: a key the user holds for `provider`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectKey {
    /// The provider: google, notion, slack or stripe.
    #[schema(examples("slack"))]
    pub(crate) provider: String,
    /// The key or access token, one word of visible ASCII of at most 4096
    /// bytes (surrounding whitespace is dropped). Sealed at once, never
    /// shown again.
    #[schema(max_length = 4096, write_only)]
    pub(crate) secret: String,
    /// The account's name at the provider, shown to the user and to
    /// integrations (at most 200 characters).
    #[serde(default)]
    #[schema(max_length = 200, examples("Acme workspace"))]
    pub(crate) account: Option<String>,
    /// The scopes the key was granted, spelled the provider's way:
    /// required for Google, Slack and Stripe, refused for Notion (whose
    /// keys carry none). At most 100.
    #[serde(default)]
    #[schema(max_items = 100, examples(json!(["chat:write"])))]
    pub(crate) scopes: Vec<String>,
}

/// The key stays out of logs.
impl std::fmt::Debug for ConnectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectKey")
            .field("provider", &self.provider)
            .field("secret", &"[redacted]")
            .field("account", &self.account)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// A key connection refused or failed, as the API answers it.
fn key_error(e: KeyConnectionError) -> ApiError {
    if let Some(field) = e.field() {
        return ApiError::invalid(field, e.to_string());
    }
    match e {
        KeyConnectionError::Vault(VaultError::Store(e)) => ApiError::from(e),
        e => ApiError::internal(&e),
    }
}

/// The caller's connections, oldest first.
#[utoipa::path(
    get,
    path = "/v1/connections",
    tag = "connections",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The account's connections, oldest first: provider, account, scopes, status; never a token.", body = Vec<ConnectionView>),
    ),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<ConnectionView>>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let rows = platform.store.connections().list(principal.owner()).await?;
    Ok(Json(rows.iter().map(ConnectionView::from).collect()))
}

/// Connect a provider account with a key the caller holds.
///
/// For services used with a key instead of OAuth (a Stripe restricted
/// key, a Notion internal integration secret, a Slack bot token). The key
/// is sealed in the vault like an OAuth token and never shown again; the
/// connection records the scopes named, and is handed only to
/// installations approved for all of them.
#[utoipa::path(
    post,
    path = "/v1/connections",
    tag = "connections",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    request_body = ConnectKey,
    responses(
        (status = 201, description = "Connected; the key is sealed and never shown.", body = ConnectionView),
        (status = 400, description = "A field is wrong (`invalid_input`, `details.field` = `provider`, `secret`, `account` or `scopes`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
    ),
)]
pub async fn connect(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    ApiJson(body): ApiJson<ConnectKey>,
) -> Result<(StatusCode, Json<ConnectionView>), ApiError> {
    let principal = caller.require(Scope::Run)?;
    let key = connections::check(
        &body.provider,
        &body.secret,
        body.account.as_deref(),
        &body.scopes,
    )
    .map_err(key_error)?;
    let saved = connections::connect(&platform, principal.owner(), &key)
        .await
        .map_err(key_error)?;
    let row = platform
        .store
        .connections()
        .get(&saved.id)
        .await?
        .ok_or_else(|| ApiError::internal(&"a connection just saved cannot be read back"))?;
    Ok((StatusCode::CREATED, Json(ConnectionView::from(&row))))
}

/// Disconnect one of the caller's connections.
///
/// The connection and its tokens are erased here, then the grant is
/// revoked at the provider, best effort.
#[utoipa::path(
    delete,
    path = "/v1/connections/{id}",
    tag = "connections",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("id" = String, Path, description = "The connection's id.")),
    responses(
        (status = 204, description = "Disconnected."),
        (status = 404, description = "No such connection in this account (`not_found`).", body = super::error::ErrorBody),
    ),
)]
pub async fn disconnect(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Scope::Run)?;
    let vault_error = |e: VaultError| match e {
        VaultError::Store(e) => ApiError::from(e),
        e => ApiError::internal(&e),
    };
    let owned = platform
        .vault
        .get(&id)
        .await
        .map_err(vault_error)?
        .is_some_and(|c| c.owner == principal.owner());
    if !owned {
        return Err(ApiError::not_found("connection"));
    }
    match platform.vault.disconnect(&id).await.map_err(vault_error)? {
        Some(_) => Ok(StatusCode::NO_CONTENT),
        None => Err(ApiError::not_found("connection")),
    }
}
