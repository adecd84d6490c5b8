//! Who is calling: [`Caller`] authenticates a request by its API token
//! (`Authorization: Bearer wwk_...`) or its browser session (the
//! `workway_session` cookie), checks a session's CSRF token on every
//! state-changing request, and counts the request against the
//! credential's rate limit. [`Client`] counts an unauthenticated request
//! (sign-up, sign-in) against its address's limit.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, header};

use workway_engine::accounts::rate_limit::{self, Bucket};
use workway_engine::accounts::{Credential, Principal, Scope, secrets, sessions, tokens};
use workway_engine::platform::Platform;
use workway_store::clock::now_ms;

use super::error::ApiError;

/// An authenticated request's principal.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    /// The principal, if its credential carries `scope`.
    pub fn require(&self, scope: Scope) -> Result<&Principal, ApiError> {
        if self.0.can(scope) {
            Ok(&self.0)
        } else if !self.0.is(scope.needs()) {
            Err(ApiError::forbidden(format!(
                "this needs the {} role, which this account does not have",
                scope.needs()
            )))
        } else {
            Err(ApiError::forbidden(format!(
                "this credential lacks the `{scope}` scope: make a token with it"
            )))
        }
    }
}

/// The client's address, as the connection shows it.
pub(crate) fn address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The value of the cookie `name` among `headers`' cookies.
pub(crate) fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// Count a request from `address` that carried no valid credential.
pub(crate) async fn count_address(platform: &Platform, address: &str) -> Result<(), ApiError> {
    let limit = platform.accounts.api_requests_per_window;
    let bucket = Bucket::Address(address.to_string());
    rate_limit::hit(
        &platform.store,
        &platform.accounts,
        &bucket,
        limit,
        now_ms(),
    )
    .await?
    .map_err(|l| ApiError::limited(l, "too many requests from this address; retry later"))
}

impl FromRequestParts<Arc<Platform>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, Self::Rejection> {
        let now = now_ms();
        let store = &platform.store;
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.to_str().unwrap_or_default().to_string());
        let principal = if let Some(value) = bearer {
            let token = value.strip_prefix("Bearer ").unwrap_or_default().trim();
            tokens::authenticate(store, token, now).await?
        } else if let Some(session_id) = cookie(&parts.headers, sessions::COOKIE) {
            let principal =
                sessions::authenticate(store, &platform.accounts, &session_id, now).await?;
            if principal.is_some() && !is_safe(&parts.method) {
                let presented = parts
                    .headers
                    .get(sessions::CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                if !secrets::same(presented, &secrets::csrf_token(&session_id)) {
                    return Err(ApiError::forbidden(format!(
                        "a request in a browser session that changes something must carry \
                         the session's CSRF token in the `{}` header",
                        sessions::CSRF_HEADER
                    ))
                    .with_details(serde_json::json!({ "reason": "csrf" })));
                }
            }
            principal
        } else {
            count_address(platform, &address(parts)).await?;
            return Err(ApiError::unauthenticated(
                "sign in, or send an API token as `Authorization: Bearer wwk_...`",
            ));
        };
        let Some(principal) = principal else {
            count_address(platform, &address(parts)).await?;
            return Err(ApiError::unauthenticated(
                "the API token or session is unknown, expired or revoked: sign in again",
            ));
        };
        admit(platform, principal, now).await
    }
}

/// Count a request by `principal` against its credential's rate limit
/// and admit it as a [`Caller`]: the API's and the web UI's one way in.
pub(crate) async fn admit(
    platform: &Platform,
    principal: Principal,
    now: i64,
) -> Result<Caller, ApiError> {
    let bucket = match &principal.credential {
        Credential::Token { id } => Bucket::Token(id.clone()),
        Credential::Session { id_hash } => Bucket::Session(id_hash.clone()),
    };
    let limit = platform.accounts.api_requests_per_window;
    rate_limit::hit(&platform.store, &platform.accounts, &bucket, limit, now)
        .await?
        .map_err(|l| ApiError::limited(l, "too many requests with this credential; retry later"))?;
    Ok(Caller(principal))
}

/// Whether `method` only reads.
fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// An unauthenticated request, counted against its address's limit.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client's address.
    pub address: String,
}

impl FromRequestParts<Arc<Platform>> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, Self::Rejection> {
        let address = address(parts);
        count_address(platform, &address).await?;
        Ok(Client { address })
    }
}
