//! The account's own routes: sign-up, sign-in, sign-out, the account,
//! password change, and API tokens.
//!
//! - `POST /v1/auth/signup` `{email, display_name, password}` → 201 the account;
//! - `POST /v1/auth/signin` `{email, password}` → 200 the account, the
//!   session's CSRF token and expiry, and the session cookie;
//! - `POST /v1/auth/signout` → 204, the session ended and its cookie cleared;
//! - `GET /v1/account` → the account and what this credential may do;
//! - `POST /v1/account/password` `{current_password, new_password}` → 204,
//!   every other session ended;
//! - `GET /v1/tokens`, `POST /v1/tokens` `{name, scopes, expires_at?}` →
//!   201 with the token, shown only now; `DELETE /v1/tokens/{id}` → 204.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::{
    self, Credential, NewAccountRequest, Principal, Role, Scope, sessions, tokens,
};
use workway_engine::platform::Platform;
use workway_store::accounts::AccountRow;
use workway_store::api_tokens::ApiTokenRow;
use workway_store::clock::now_ms;

use super::auth::{Caller, Client};
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};
use crate::openapi::{roles_schema, scopes_schema};

/// An account as the API shows it (never its password hash).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Account)]
pub struct AccountView {
    /// The account's id.
    pub id: String,
    /// Its login.
    pub email: String,
    /// Its name.
    pub display_name: String,
    /// Its roles.
    #[schema(schema_with = roles_schema)]
    pub roles: Vec<Role>,
    /// What the credential of this request may do (absent on sign-up).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = scopes_schema)]
    pub scopes: Option<Vec<Scope>>,
}

impl AccountView {
    fn of_row(row: &AccountRow) -> AccountView {
        AccountView {
            id: row.id.clone(),
            email: row.email.clone(),
            display_name: row.display_name.clone(),
            roles: accounts::roles_of(row).into_iter().collect(),
            scopes: None,
        }
    }

    fn of_principal(p: &Principal) -> AccountView {
        AccountView {
            id: p.account_id.clone(),
            email: p.email.clone(),
            display_name: p.display_name.clone(),
            roles: p.roles.iter().copied().collect(),
            scopes: Some(p.scopes.iter().copied().collect()),
        }
    }
}

/// `POST /v1/auth/signup`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    /// The login: an email address, unique on the platform.
    email: String,
    /// The name shown to others.
    display_name: String,
    /// At least 10 characters.
    password: String,
}

/// Make an account with the `user` role.
#[utoipa::path(
    post,
    path = "/v1/auth/signup",
    tag = "account",
    request_body = SignUp,
    responses(
        (status = 201, description = "The account, with the `user` role.", body = AccountView),
        (status = 400, description = "The body is not this route's JSON (`invalid_body`), or one field is wrong (`invalid_input`, `details.field` names it: `email`, `display_name`, `password`).", body = ErrorBody),
        (status = 409, description = "An account has this email already (`email_taken`).", body = ErrorBody),
        (status = 429, description = "Too many requests from this address, or (sign-in) too many failed sign-ins for this account or address (`rate_limited`); `Retry-After` says when to retry.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends."))),
    ),
)]
pub async fn sign_up(
    State(platform): State<Arc<Platform>>,
    _client: Client,
    ApiJson(body): ApiJson<SignUp>,
) -> Result<(StatusCode, Json<AccountView>), ApiError> {
    let row = accounts::create(
        &platform.store,
        &NewAccountRequest {
            email: &body.email,
            display_name: &body.display_name,
            password: &body.password,
            roles: &[],
        },
        now_ms(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(AccountView::of_row(&row))))
}

/// `POST /v1/auth/signin`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The account's email.
    email: String,
    /// Its password.
    password: String,
}

/// What sign-in answers.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SignedIn)]
pub struct SignedInView {
    /// Who signed in.
    pub account: AccountView,
    /// The token to send in `x-csrf-token` with every state-changing request.
    pub csrf_token: String,
    /// When the session ends unless used (Unix ms).
    pub expires_at: i64,
}

/// Open a browser session.
///
/// Sets the session cookie (`workway_session`, `HttpOnly; Secure;
/// SameSite=Lax`). Send `csrf_token` in the `x-csrf-token` header with
/// every state-changing request of the session.
#[utoipa::path(
    post,
    path = "/v1/auth/signin",
    tag = "account",
    request_body = SignIn,
    responses(
        (status = 200, description = "Signed in: the account, the session's CSRF token and expiry.", body = SignedInView,
            headers(("Set-Cookie" = String, description = "The session cookie, `workway_session=...; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=...`."))),
        (status = 401, description = "The email or the password is wrong (never says which: `unauthenticated`).", body = ErrorBody),
        (status = 403, description = "The account is disabled (`forbidden`).", body = ErrorBody),
        (status = 429, description = "Too many requests from this address, or (sign-in) too many failed sign-ins for this account or address (`rate_limited`); `Retry-After` says when to retry.", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the window ends."))),
    ),
)]
pub async fn sign_in(
    State(platform): State<Arc<Platform>>,
    client: Client,
    ApiJson(body): ApiJson<SignIn>,
) -> Result<impl IntoResponse, ApiError> {
    let now = now_ms();
    let signed_in = sessions::sign_in(
        &platform.store,
        &platform.accounts,
        &body.email,
        &body.password,
        &client.address,
        now,
    )
    .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        session_cookie(&signed_in.session_id, signed_in.expires_at, now)?,
    );
    Ok((
        headers,
        Json(SignedInView {
            account: AccountView::of_principal(&signed_in.principal),
            csrf_token: signed_in.csrf_token,
            expires_at: signed_in.expires_at,
        }),
    ))
}

/// End this session and clear its cookie.
///
/// Only a browser session signs out; an API token is revoked with
/// `DELETE /v1/tokens/{id}`.
#[utoipa::path(
    post,
    path = "/v1/auth/signout",
    tag = "account",
    security(("session" = [], "csrf" = [])),
    responses(
        (status = 204, description = "The session ended; its cookie is cleared.",
            headers(("Set-Cookie" = String, description = "Clears the session cookie (`Max-Age=0`)."))),
        (status = 400, description = "The request was made with an API token, not a session (`invalid_input`, `details.field` = `authorization`).", body = ErrorBody),
    ),
)]
pub async fn sign_out(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    if !matches!(caller.0.credential, Credential::Session { .. }) {
        return Err(ApiError::invalid(
            "authorization",
            "sign-out ends a browser session; an API token is revoked with DELETE /v1/tokens/{id}",
        ));
    }
    sessions::sign_out(&platform.store, &caller.0, now_ms()).await?;
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cleared_session_cookie())],
    ))
}

/// The `Set-Cookie` value of a session `session_id` that ends at
/// `expires_at` (Unix ms; `now` is now): `HttpOnly; Secure;
/// SameSite=Lax`, the API's and the web UI's alike.
pub(crate) fn session_cookie(
    session_id: &str,
    expires_at: i64,
    now: i64,
) -> Result<HeaderValue, ApiError> {
    let max_age = (expires_at - now).max(0) / 1000;
    HeaderValue::from_str(&format!(
        "{}={session_id}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={max_age}",
        sessions::COOKIE
    ))
    .map_err(|e| ApiError::internal(&e))
}

/// The `Set-Cookie` value that clears the session cookie.
pub(crate) fn cleared_session_cookie() -> String {
    format!(
        "{}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0",
        sessions::COOKIE
    )
}

/// The caller's account.
#[utoipa::path(
    get,
    path = "/v1/account",
    tag = "account",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The account and the scopes of this credential.", body = AccountView),
    ),
)]
pub async fn me(caller: Caller) -> Result<Json<AccountView>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    Ok(Json(AccountView::of_principal(principal)))
}

/// `POST /v1/account/password`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password now.
    current_password: String,
    /// The new one: at least 10 characters.
    new_password: String,
}

/// Change the password; every other session of the account ends.
#[utoipa::path(
    post,
    path = "/v1/account/password",
    tag = "account",
    security(("api_token" = []), ("session" = [], "csrf" = [])),
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed; every other session of the account ended."),
        (status = 400, description = "The current password is wrong or the new one too weak (`invalid_input`, `details.field` = `current_password` or `new_password`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
    ),
)]
pub async fn change_password(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    ApiJson(body): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    accounts::change_password(
        &platform.store,
        &caller.0,
        &body.current_password,
        &body.new_password,
        now_ms(),
    )
    .await
    .map_err(|e| match e {
        accounts::AccountError::BadCredentials => {
            ApiError::invalid("current_password", "the current password is wrong")
        }
        accounts::AccountError::WeakPassword(m) => ApiError::invalid("new_password", m),
        e => e.into(),
    })?;
    Ok(StatusCode::NO_CONTENT)
}

/// A token as listed (never its secret or digest).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Token)]
pub struct TokenView {
    /// The token's id (for revoking).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its first characters, to tell it apart.
    pub prefix: String,
    /// What it may do.
    #[schema(schema_with = scopes_schema)]
    pub scopes: Vec<String>,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it stops working (Unix ms), if ever.
    pub expires_at: Option<i64>,
    /// When it was last used (Unix ms, to the minute).
    pub last_used_at: Option<i64>,
    /// When it was revoked (Unix ms).
    pub revoked_at: Option<i64>,
}

impl From<&ApiTokenRow> for TokenView {
    fn from(row: &ApiTokenRow) -> Self {
        TokenView {
            id: row.id.clone(),
            name: row.name.clone(),
            prefix: row.prefix.clone(),
            scopes: row.scopes.clone(),
            created_at: row.created_at,
            expires_at: row.expires_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// The account's tokens.
#[utoipa::path(
    get,
    path = "/v1/tokens",
    tag = "account",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses(
        (status = 200, description = "The account's tokens: prefix, name, scopes, dates; never the token.", body = Vec<TokenView>),
    ),
)]
pub async fn list_tokens(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let rows = tokens::list(&platform.store, principal).await?;
    Ok(Json(rows.iter().map(TokenView::from).collect()))
}

/// `POST /v1/tokens`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A name, to tell the account's tokens apart.
    name: String,
    /// What the token may do: within the scopes of the credential that
    /// makes it.
    #[schema(schema_with = scopes_schema)]
    scopes: Vec<String>,
    /// When it stops working (Unix ms, in the future); never when left out.
    #[serde(default)]
    expires_at: Option<i64>,
}

/// A token just made.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CreatedToken)]
pub struct CreatedToken {
    /// The token itself: shown only now.
    pub token: String,
    /// What is kept about it.
    #[serde(flatten)]
    pub view: TokenView,
}

/// Make a token.
///
/// The token (`wwk_...`) is in the answer only: it is stored as a digest.
#[utoipa::path(
    post,
    path = "/v1/tokens",
    tag = "account",
    security(("api_token" = []), ("session" = [], "csrf" = [])),
    request_body = CreateToken,
    responses(
        (status = 201, description = "The token, shown only now, and what is kept about it.", body = CreatedToken),
        (status = 400, description = "A field is wrong (`invalid_input`, `details.field` = `name`, `scopes` or `expires_at`), or the body is not this route's JSON (`invalid_body`).", body = ErrorBody),
        (status = 403, description = "A scope beyond the account's roles or this credential's own scopes (`forbidden`, `details.field` = `scopes`); or see the shared 403.", body = ErrorBody),
    ),
)]
pub async fn create_token(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    let scopes = body
        .scopes
        .iter()
        .map(|s| Scope::parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let made = tokens::create(
        &platform.store,
        &caller.0,
        &body.name,
        &scopes,
        body.expires_at,
        now_ms(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            token: made.secret,
            view: TokenView::from(&made.row),
        }),
    ))
}

/// Revoke one of the account's tokens.
#[utoipa::path(
    delete,
    path = "/v1/tokens/{id}",
    tag = "account",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("id" = String, Path, description = "The token's id.")),
    responses(
        (status = 204, description = "Revoked: it no longer authenticates."),
        (status = 404, description = "No such token in this account (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn revoke_token(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Scope::Run)?;
    tokens::revoke(&platform.store, principal, &id, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
