//! Building blocks for mock APIs (Gmail, Slack Web API, Notion, Stripe)
//! that accept only the access tokens a [`MockOAuthProvider`] currently
//! considers valid, and reject others the way the real API does.
//!
//! [`MockOAuthProvider`]: crate::MockOAuthProvider

use std::sync::{Arc, Mutex};

use serde_json::json;

use crate::oauth::state::State;
use crate::oauth::{Flavor, TokenStatus, token_status};
use crate::request::RecordedRequest;
use crate::response::MockResponse;

/// Checks bearer tokens against a provider's current grants. Cheap to clone
/// and `'static`, so it can live inside a [`MockServer`](crate::MockServer) handler.
#[derive(Clone)]
pub struct TokenChecker {
    flavor: Flavor,
    state: Arc<Mutex<State>>,
}

impl TokenChecker {
    pub(crate) fn new(flavor: Flavor, state: Arc<Mutex<State>>) -> Self {
        Self { flavor, state }
    }

    /// Same as [`MockOAuthProvider::is_valid_access_token`](crate::MockOAuthProvider::is_valid_access_token).
    pub fn is_valid(&self, token: &str) -> bool {
        self.status(token) == TokenStatus::Valid
    }

    /// Same as [`MockOAuthProvider::access_token_status`](crate::MockOAuthProvider::access_token_status).
    pub fn status(&self, token: &str) -> TokenStatus {
        token_status(&self.state, token)
    }

    /// `Ok` if the request carries a valid token (`Authorization: Bearer`,
    /// or for Slack also a `token` form/query parameter); otherwise the real
    /// API's authentication-failure response.
    pub fn check(&self, req: &RecordedRequest) -> Result<(), MockResponse> {
        let token = req.bearer_token().map(str::to_owned).or_else(|| {
            (self.flavor == Flavor::Slack)
                .then(|| req.form_param("token").or_else(|| req.query_param("token")))
                .flatten()
        });
        let status = token.as_deref().map(|t| self.status(t));
        match status {
            Some(TokenStatus::Valid) => Ok(()),
            _ => Err(unauthorized(self.flavor, status)),
        }
    }

    /// Wraps `handler` so that it only sees authenticated requests.
    pub fn guard<F>(
        self,
        handler: F,
    ) -> impl Fn(&RecordedRequest) -> MockResponse + Send + Sync + 'static
    where
        F: Fn(&RecordedRequest) -> MockResponse + Send + Sync + 'static,
    {
        move |req| match self.check(req) {
            Ok(()) => handler(req),
            Err(rejection) => rejection,
        }
    }
}

impl std::fmt::Debug for TokenChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenChecker")
            .field("flavor", &self.flavor)
            .finish_non_exhaustive()
    }
}

/// The provider API's real answer to a missing (`None`), expired or invalid
/// access token.
pub fn unauthorized(flavor: Flavor, status: Option<TokenStatus>) -> MockResponse {
    let expired = status == Some(TokenStatus::Expired);
    match flavor {
        Flavor::Google => MockResponse::json(
            401,
            json!({ "error": {
                "code": 401,
                "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
                "errors": [{ "message": "Invalid Credentials", "domain": "global", "reason": "authError",
                             "location": "Authorization", "locationType": "header" }],
                "status": "UNAUTHENTICATED",
            }}),
        )
        .header(
            "www-authenticate",
            r#"Bearer realm="https://accounts.google.com/", error="invalid_token""#,
        ),
        Flavor::Slack => {
            let error = match status {
                None => "not_authed",
                Some(_) if expired => "token_expired",
                Some(_) => "invalid_auth",
            };
            MockResponse::json(200, json!({ "ok": false, "error": error }))
        }
        Flavor::Notion => MockResponse::json(
            401,
            json!({ "object": "error", "status": 401, "code": "unauthorized",
                    "message": "API token is invalid.",
                    "request_id": "00000000-0000-4000-8000-000000000401" }),
        ),
        Flavor::Stripe => {
            let mut error = json!({ "message": "Invalid API Key provided: sk_test_****", "type": "invalid_request_error" });
            if expired {
                error["code"] = json!("api_key_expired");
                error["message"] = json!("Expired API Key provided: sk_test_****");
            }
            MockResponse::json(401, json!({ "error": error }))
        }
    }
}
