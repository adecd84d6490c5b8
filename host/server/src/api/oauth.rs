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
//!   tokens); a browser (`Accept` with `text/html`) is sent back to the
//!   web UI's connections page instead, with the outcome by code. A state issued to another account, used twice or expired
//!   is refused, and consumed.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::installations::{self, InstallError};
use workway_engine::platform::Platform;
use workway_vault::oauth::flow::{FlowError, OAuthFlow};

use super::auth::{Caller, cookie};
use super::connections::ConnectionView;
use super::error::{ApiError, ErrorBody};

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
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Authorization)]
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

/// Start connecting the caller's account at a provider.
///
/// Asks the provider for exactly the scopes the installed version's
/// approval lists for it (OAuth authorization code with PKCE). The state
/// is single-use, expires in 10 minutes and is bound to the account, and
/// to the browser by the `workway_oauth_state` cookie. A client that
/// sends `Accept: application/json` gets the consent page's URL as JSON
/// instead of a redirect.
#[utoipa::path(
    get,
    path = "/v1/connections/{provider}/connect",
    tag = "connections",
    operation_id = "oauth_connect",
    security(("api_token" = ["run"]), ("session" = ["run"])),
    params(
        ("provider" = String, Path, description = "The provider: google, notion, slack or stripe."),
        ("integration" = String, Query, description = "The installed integration the connection is for."),
    ),
    responses(
        (status = 303, description = "To the provider's consent page.",
            headers(
                ("Location" = String, description = "The provider's consent page, every parameter filled in."),
                ("Set-Cookie" = String, description = "`workway_oauth_state=...; HttpOnly; Secure; SameSite=Lax; Path=/v1/oauth; Max-Age=600`."),
            )),
        (status = 200, description = "For a client that asked for JSON (`Accept: application/json`): the consent page's URL.", body = AuthorizationView,
            headers(("Set-Cookie" = String, description = "The `workway_oauth_state` cookie, as with the redirect."))),
        (status = 400, description = "The integration is not installed (`invalid_input`, `details.field` = `integration`), its approval lists no scopes for this provider (`details.field` = `provider`), or the query lacks `integration`.", body = ErrorBody),
        (status = 404, description = "No such provider (`not_found`).", body = ErrorBody),
    ),
)]
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
///
/// Completes the flow only for the account that started it, and only in
/// the browser that started it when that browser holds the state cookie;
/// the grant is sealed in the vault. A state issued to another account,
/// used twice or expired is refused, and consumed.
#[utoipa::path(
    get,
    path = "/v1/oauth/callback",
    tag = "connections",
    operation_id = "oauth_callback",
    security(("api_token" = ["run"]), ("session" = ["run"])),
    params(
        ("code" = Option<String>, Query, description = "The authorization code the provider issued."),
        ("state" = String, Query, description = "The state the connect route issued."),
        ("error" = Option<String>, Query, description = "The provider's refusal, instead of a code."),
    ),
    responses(
        (status = 201, description = "Connected: the connection (never its tokens).", body = ConnectionView,
            headers(("Set-Cookie" = String, description = "Clears the `workway_oauth_state` cookie."))),
        (status = 303, description = "To a browser (`Accept` with `text/html`): back to the web UI's `/connections` page, with `?connected=<provider>` or `?failed=<error code>`.",
            headers(("Location" = String, description = "`/connections?connected=...` or `/connections?failed=...`."))),
        (status = 400, description = "The state is unknown, expired, used, issued to another account or browser, or a parameter is missing (`invalid_input`, `details.field` names it).", body = ErrorBody),
        (status = 403, description = "The user refused at the provider (`denied`); or see the shared 403.", body = ErrorBody),
        (status = 502, description = "The provider did not exchange the code (`provider_failed`): start connecting again.", body = ErrorBody),
    ),
)]
pub async fn callback(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    headers: HeaderMap,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    let finished = finish(&platform, &caller, &headers, &query.unwrap_or_default()).await;
    let clear =
        format!("{STATE_COOKIE}=; HttpOnly; Secure; SameSite=Lax; Path=/v1/oauth; Max-Age=0");
    let clear = HeaderValue::from_str(&clear).map_err(|e| ApiError::internal(&e))?;
    let browser = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let mut response = match (finished, browser) {
        (Ok(view), false) => (StatusCode::CREATED, Json(view)).into_response(),
        (Err(e), false) => return Err(e),
        // A browser goes back to the web UI's connections page, which
        // says what happened (by code only: nothing the provider wrote
        // is echoed into the page).
        (Ok(view), true) => Redirect::to(&format!(
            "{CONNECTIONS_PAGE}?connected={}",
            url::form_urlencoded::byte_serialize(view.provider.as_bytes()).collect::<String>()
        ))
        .into_response(),
        (Err(e), true) => {
            Redirect::to(&format!("{CONNECTIONS_PAGE}?failed={}", e.code())).into_response()
        }
    };
    response.headers_mut().insert(header::SET_COOKIE, clear);
    Ok(response)
}

/// The web UI's page a browser returns to after connecting.
pub const CONNECTIONS_PAGE: &str = "/connections";

/// Complete the flow for `caller` with the provider's `query`: the
/// connection stored.
async fn finish(
    platform: &Platform,
    caller: &Caller,
    headers: &HeaderMap,
    query: &str,
) -> Result<ConnectionView, ApiError> {
    let principal = caller.require(Scope::Run)?;
    if let Some(bound) = cookie(headers, STATE_COOKIE) {
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
        .callback_as(principal.owner(), query)
        .await
        .map_err(flow_error)?;
    let row = platform
        .store
        .connections()
        .get(&info.id)
        .await?
        .ok_or_else(|| ApiError::internal(&"the connection just stored cannot be read"))?;
    Ok(ConnectionView::from(&row))
}
