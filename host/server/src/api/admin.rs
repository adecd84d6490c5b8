//! Accounts as operators manage them (scope `admin`); `workway admin` does
//! the same with local access to the database.
//!
//! - `GET /v1/admin/accounts?q=&cursor=&limit=` → `{accounts,
//!   next_cursor}`, ordered by email; `q` keeps the accounts whose email or
//!   display name contains it (ignoring case);
//! - `PUT /v1/admin/accounts/{id}/roles` `{roles}` → the account with
//!   exactly those roles (every account is a `user`); an admin cannot take
//!   the admin role from their own account (409 `own_account`);
//! - `POST /v1/admin/accounts/{id}/disable` → the account, which can no
//!   longer sign in or use its tokens (its sessions end); not one's own
//!   (409 `own_account`);
//! - `POST /v1/admin/accounts/{id}/enable` → the account, usable again.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::{self, AccountError, Role, Scope};
use workway_engine::platform::Platform;
use workway_store::accounts::AccountRow;
use workway_store::clock::now_ms;

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};
use super::paging;
use crate::openapi::roles_schema;

/// An account as operators see it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ManagedAccount)]
pub struct ManagedAccountView {
    /// The account's id.
    pub id: String,
    /// Its login.
    pub email: String,
    /// Its name.
    pub display_name: String,
    /// Its roles.
    #[schema(schema_with = roles_schema)]
    pub roles: Vec<Role>,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it was disabled (Unix ms); `null` while it may sign in.
    pub disabled_at: Option<i64>,
}

impl From<&AccountRow> for ManagedAccountView {
    fn from(row: &AccountRow) -> Self {
        ManagedAccountView {
            id: row.id.clone(),
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            roles: accounts::roles_of(row).into_iter().collect(),
            created_at: row.created_at,
            disabled_at: row.disabled_at,
        }
    }
}

/// A page of accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AccountPage {
    /// The accounts, by email.
    pub accounts: Vec<ManagedAccountView>,
    /// The `cursor` of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// `GET /v1/admin/accounts`'s query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountQuery {
    pub(crate) q: Option<String>,
    pub(crate) limit: Option<String>,
    pub(crate) cursor: Option<String>,
}

/// `PUT /v1/admin/accounts/{id}/roles`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRoles {
    /// The roles the account is to hold: any of `user`, `developer`,
    /// `reviewer`, `admin` (`user` is always kept).
    pub(crate) roles: Vec<String>,
}

/// The longest `q` a search takes.
const MAX_QUERY_CHARS: usize = 100;

/// The account `id` as it is now.
async fn reread(platform: &Platform, id: &str) -> Result<ManagedAccountView, ApiError> {
    let row = platform
        .store
        .accounts()
        .get(id)
        .await?
        .ok_or(AccountError::NoSuchAccount)?;
    Ok(ManagedAccountView::from(&row))
}

/// Every account, by email, a page at a time (admins).
#[utoipa::path(
    get,
    path = "/v1/admin/accounts",
    tag = "admin",
    security(("api_token" = ["admin"]), ("session" = ["admin"])),
    params(
        ("q" = Option<String>, Query, description = "Only accounts whose email or display name contains this (ignoring case), at most 100 characters."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many accounts a page holds (20 when left out)."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, unchanged; left out for the first page."),
    ),
    responses(
        (status = 200, description = "A page of accounts.", body = AccountPage),
        (status = 400, description = "A query parameter is wrong (`invalid_input`, `details.field` names it: `q`, `limit`, `cursor`, or `query` for an unknown one).", body = ErrorBody),
    ),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    query: Result<Query<AccountQuery>, QueryRejection>,
) -> Result<Json<AccountPage>, ApiError> {
    caller.require(Scope::Admin)?;
    let query = paging::query_of(query, "q, limit and cursor")?;
    let q = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    if let Some(q) = q
        && (q.chars().count() > MAX_QUERY_CHARS || q.chars().any(char::is_control))
    {
        return Err(ApiError::invalid(
            "q",
            format!("a search is at most {MAX_QUERY_CHARS} characters on one line"),
        ));
    }
    let limit = paging::limit(query.limit.as_deref())?;
    let after = query
        .cursor
        .as_deref()
        .map(|c| paging::decode_text(c).ok_or_else(paging::not_a_cursor))
        .transpose()?;
    let mut rows = platform
        .store
        .accounts()
        .list(q, after.as_deref(), limit + 1)
        .await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = rows
        .last()
        .filter(|_| more)
        .map(|r| paging::encode_text(&r.email));
    Ok(Json(AccountPage {
        accounts: rows.iter().map(ManagedAccountView::from).collect(),
        next_cursor,
    }))
}

/// Give an account exactly these roles (admins).
///
/// An account left without the reviewer role has its reviewer signing key
/// retired. An admin cannot take the admin role from their own account.
#[utoipa::path(
    put,
    path = "/v1/admin/accounts/{id}/roles",
    tag = "admin",
    security(("api_token" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The account's id.")),
    request_body = SetRoles,
    responses(
        (status = 200, description = "The account with its roles now.", body = ManagedAccountView),
        (status = 400, description = "A role that is not one (`invalid_input`, `details.field` = `roles`).", body = ErrorBody),
        (status = 404, description = "No such account (`not_found`).", body = ErrorBody),
        (status = 409, description = "The admin's own admin role (`own_account`).", body = ErrorBody),
    ),
)]
pub async fn set_roles(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SetRoles>,
) -> Result<Json<ManagedAccountView>, ApiError> {
    let admin = caller.require(Scope::Admin)?;
    let roles = body
        .roles
        .iter()
        .map(|r| Role::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    if id == admin.account_id && !roles.contains(&Role::Admin) {
        return Err(AccountError::OwnAccount("take the admin role from").into());
    }
    accounts::set_roles(&platform.store, &id, &roles, now_ms()).await?;
    Ok(Json(reread(&platform, &id).await?))
}

/// Stop an account from signing in or using its tokens (admins); its
/// sessions end. Not one's own.
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{id}/disable",
    tag = "admin",
    security(("api_token" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The account's id.")),
    responses(
        (status = 200, description = "The account, disabled.", body = ManagedAccountView),
        (status = 404, description = "No such account (`not_found`).", body = ErrorBody),
        (status = 409, description = "The admin's own account (`own_account`).", body = ErrorBody),
    ),
)]
pub async fn disable(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ManagedAccountView>, ApiError> {
    let admin = caller.require(Scope::Admin)?;
    if id == admin.account_id {
        return Err(AccountError::OwnAccount("disable").into());
    }
    accounts::disable(&platform.store, &id, now_ms()).await?;
    Ok(Json(reread(&platform, &id).await?))
}

/// Let a disabled account sign in and use its tokens again (admins).
#[utoipa::path(
    post,
    path = "/v1/admin/accounts/{id}/enable",
    tag = "admin",
    security(("api_token" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The account's id.")),
    responses(
        (status = 200, description = "The account, enabled.", body = ManagedAccountView),
        (status = 404, description = "No such account (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn enable(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ManagedAccountView>, ApiError> {
    caller.require(Scope::Admin)?;
    accounts::enable(&platform.store, &id, now_ms()).await?;
    Ok(Json(reread(&platform, &id).await?))
}
