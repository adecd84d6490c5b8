//! Connecting a provider account in the browser: the OAuth
//! authorization-code flow with PKCE, bound to the account that started it.
//!
//! - `GET /v1/connections/{provider}/connect?integration=NAME` (scope
//!   `run`): asks the provider for exactly the scopes the installed
//!   version's approval lists for it. Answers `303 See Other` to the
//!   provider's consent page, or, to a client that asks for JSON
//!   (`Accept: application/json`), `200 {authorization_url, expires_at}`.
//!   The state is single-use, expires in 10 minutes and is stored with the
//!   account; a cookie (`workway_oauth_state`, `HttpOnly; Secure;
//!   SameSite=Lax`, path `/v1/oauth`) binds it to the browser too.
//! - `GET /v1/oauth/callback?code=...&state=...` (the provider sends the
//!   browser back here; the session cookie comes along): completes the
//!   flow only for the account that started it, and only in the browser
//!   that started it when that browser holds the state cookie; the grant
//!   is sealed in the vault. Answers 201 with the connection (never its
//!   tokens). A state issued to another account, used twice or expired
//!   is refused, and consumed.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use workway_engine::accounts::Scope;
use workway_engine::installations::{self, InstallError};
use workway_engine::platform::Platform;
use workway_vault::oauth::flow::{FlowError, OAuthFlow};

use super::auth::{Caller, cookie};
use super::connections::ConnectionView;
use super::error::ApiError;

/// The cookie that binds an authorization in flight to the browser.
pub const STATE_COOKIE: &str = "workway_oauth_state";

/// Where providers send the browser back, under the platform's address.
pub const CALLBACK_PATH: &str = "/v1/oauth/callback";

/// The connect route's query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectQuery {
    /// The installed integration the connection is for.
    integration: String,
}

/// Where to send the user, for a client that asked for JSON.
#[derive(Debug, Serialize)]
pub struct AuthorizationView {
    /// The provider's consent page, every parameter filled in.
    pub authorization_url: String,
    /// When the request stops being accepted (Unix ms).
    pub expires_at: i64,
}

/// The callback URL for this request: `[server] public_url`, or the
/// request's own host when it is a loopback one (a local install).
fn callback_url(platform: &Platform, headers: &HeaderMap) -> Result<String, ApiError> {
    if let Some(base) = &platform.public_url {
        return Ok(format!("{}{CALLBACK_PATH}", base.trim_end_matches('/')));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    };
    if matches!(name, "127.0.0.1" | "localhost" | "[::1]") {
        Ok(format!("http://{host}{CALLBACK_PATH}"))
    } else {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "this platform does not know its public address: the operator sets \
             [server] public_url in the host configuration",
        ))
    }
}

/// A failure to start or finish the flow as the API answers it.
fn flow_error(e: FlowError) -> ApiError {
    match e {
        FlowError::UnknownProvider(_) => ApiError::not_found("provider"),
        FlowError::NotConfigured(_) | FlowError::BadRedirect(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            e.to_string(),
        ),
        FlowError::UnknownState | FlowError::Expired => ApiError::invalid("state", e.to_string()),
        FlowError::Missing(field) => ApiError::invalid(field, e.to_string()),
        FlowError::Denied { .. } => ApiError::new(StatusCode::FORBIDDEN, "denied", e.to_string()),
        FlowError::Token(_) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "provider_failed",
            format!("{e}; start connecting the account again"),
        ),
        FlowError::Vault(e) => ApiError::internal(&e),
    }
}

/// Start connecting the caller's `provider` account.
pub async fn connect(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(provider): Path<String>,
    Query(query): Query<ConnectQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let principal = caller.require(Scope::Run)?;
    let redirect_uri = callback_url(&platform, &headers)?;
    let start = installations::connect(
        &platform,
        principal.owner(),
        &query.integration,
        &provider,
        &redirect_uri,
    )
    .await
    .map_err(|e| match e {
        InstallError::NotInstalled(_) => ApiError::invalid(
            "integration",
            format!("{e}: POST /v1/installations, then connect"),
        ),
        InstallError::ProviderNotApproved { .. } => ApiError::invalid("provider", e.to_string()),
        InstallError::Flow(e) => flow_error(e),
        InstallError::Store(e) => e.into(),
        e => ApiError::internal(&e),
    })?;
    let max_age = 600;
    let cookie = format!(
        "{STATE_COOKIE}={}; HttpOnly; Secure; SameSite=Lax; Path=/v1/oauth; Max-Age={max_age}",
        start.state
    );
    let cookie = HeaderValue::from_str(&cookie).map_err(|e| ApiError::internal(&e))?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let mut response = if wants_json {
        Json(AuthorizationView {
            authorization_url: start.authorization_url,
            expires_at: start.expires_at,
        })
        .into_response()
    } else {
        let location =
            HeaderValue::from_str(&start.authorization_url).map_err(|e| ApiError::internal(&e))?;
        let mut r = StatusCode::SEE_OTHER.into_response();
        r.headers_mut().insert(header::LOCATION, location);
        r
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Finish connecting: the provider sent the browser back.
pub async fn callback(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    let principal = caller.require(Scope::Run)?;
    let query = query.unwrap_or_default();
    if let Some(bound) = cookie(&headers, STATE_COOKIE) {
        let state = url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if !workway_engine::accounts::secrets::same(&bound, &state) {
            return Err(ApiError::invalid(
                "state",
                "this browser started a different authorization; start connecting the account again",
            ));
        }
    }
    let info = OAuthFlow::new(platform.vault.clone())
        .callback_as(principal.owner(), &query)
        .await
        .map_err(flow_error)?;
    let row = platform
        .store
        .connections()
        .get(&info.id)
        .await?
        .ok_or_else(|| ApiError::internal(&"the connection just stored cannot be read"))?;
    let clear =
        format!("{STATE_COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/v1/oauth; Max-Age=0");
    let mut response = (StatusCode::CREATED, Json(ConnectionView::from(&row))).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&clear).map_err(|e| ApiError::internal(&e))?,
    );
    Ok(response)
}
