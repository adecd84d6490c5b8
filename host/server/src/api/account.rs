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

use workway_engine::accounts::{
    self, Credential, NewAccountRequest, Principal, Role, Scope, sessions, tokens,
};
use workway_engine::platform::Platform;
use workway_store::accounts::AccountRow;
use workway_store::api_tokens::ApiTokenRow;
use workway_store::clock::now_ms;

use super::auth::{Caller, Client};
use super::body::ApiJson;
use super::error::ApiError;

/// An account as the API shows it (never its password hash).
#[derive(Debug, Serialize)]
pub struct AccountView {
    /// The account's id.
    pub id: String,
    /// Its login.
    pub email: String,
    /// Its name.
    pub display_name: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// What the credential of this request may do (absent on sign-up).
    #[serde(skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignUp {
    email: String,
    display_name: String,
    password: String,
}

/// Make an account with the `user` role.
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    email: String,
    password: String,
}

/// What sign-in answers.
#[derive(Debug, Serialize)]
pub struct SignedInView {
    /// Who signed in.
    pub account: AccountView,
    /// The token to send in `x-csrf-token` with every state-changing request.
    pub csrf_token: String,
    /// When the session ends unless used (Unix ms).
    pub expires_at: i64,
}

/// Open a browser session.
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
    let max_age = (signed_in.expires_at - now).max(0) / 1000;
    let cookie = format!(
        "{}={}; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age={max_age}",
        sessions::COOKIE,
        signed_in.session_id
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(&e))?,
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
    let cookie = format!(
        "{}=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0",
        sessions::COOKIE
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]))
}

/// The caller's account.
pub async fn me(caller: Caller) -> Result<Json<AccountView>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    Ok(Json(AccountView::of_principal(principal)))
}

/// `POST /v1/account/password`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    current_password: String,
    new_password: String,
}

/// Change the password; every other session of the account ends.
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
#[derive(Debug, Serialize)]
pub struct TokenView {
    /// The token's id (for revoking).
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its first characters, to tell it apart.
    pub prefix: String,
    /// What it may do.
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
pub async fn list_tokens(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let rows = tokens::list(&platform.store, principal).await?;
    Ok(Json(rows.iter().map(TokenView::from).collect()))
}

/// `POST /v1/tokens`'s body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
    scopes: Vec<String>,
    #[serde(default)]
    expires_at: Option<i64>,
}

/// A token just made.
#[derive(Debug, Serialize)]
pub struct CreatedToken {
    /// The token itself: shown only now.
    pub token: String,
    /// What is kept about it.
    #[serde(flatten)]
    pub view: TokenView,
}

/// Make a token.
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
pub async fn revoke_token(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Scope::Run)?;
    tokens::revoke(&platform.store, principal, &id, now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
