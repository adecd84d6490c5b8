//! The caller's connections: accounts at providers whose grants the vault
//! holds sealed. Their tokens are never shown.
//!
//! - `GET /v1/connections` → the account's connections, oldest first;
//! - `DELETE /v1/connections/{id}` → 204: the connection and its tokens
//!   are erased here (every cache of the vault told), then the grant is
//!   revoked at the provider, best effort.
//!
//! Another account's connection answers 404, as a missing one does.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use workway_engine::accounts::Scope;
use workway_engine::platform::Platform;
use workway_store::connections::{ConnectionRow, ConnectionStatus};
use workway_vault::VaultError;

use super::auth::Caller;
use super::error::ApiError;

/// A connection (never its tokens).
#[derive(Debug, Serialize)]
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

/// The caller's connections, oldest first.
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<ConnectionView>>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let rows = platform.store.connections().list(principal.owner()).await?;
    Ok(Json(rows.iter().map(ConnectionView::from).collect()))
}

/// Disconnect one of the caller's connections.
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
