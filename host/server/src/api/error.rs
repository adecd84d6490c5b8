//! The API's one error shape: `{"error": {"code", "message", "details"}}`
//! with the HTTP status that fits. `code` is stable for programs,
//! `message` says what was wrong and what to do, `details` names the
//! field when one input was wrong. A failure of the platform itself is
//! logged for the operator and answered with a generic message.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use workway_engine::accounts::AccountError;
use workway_engine::accounts::rate_limit::Limited;
use workway_engine::accounts::sessions::SignInError;
use workway_store::StoreError;

/// An API error response.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
    retry_after: Option<u64>,
}

impl ApiError {
    /// An error with `status`, `code` and `message` and no details.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Value::Object(Default::default()),
            retry_after: None,
        }
    }

    /// 400: one input was wrong; `field` names it.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
            .with_details(json!({ "field": field }))
    }

    /// 404: `what` does not exist, or belongs to another account (the
    /// answer is the same, so ids of others' resources do not leak).
    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// 401: no credential, or one that is unknown, expired or revoked.
    pub fn unauthenticated(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    /// 403: the credential does not allow this.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 429 with `Retry-After`.
    pub fn limited(limited: Limited, message: impl Into<String>) -> ApiError {
        let mut error = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
            .with_details(json!({ "retry_after_secs": limited.retry_after_secs }));
        error.retry_after = Some(limited.retry_after_secs);
        error
    }

    /// 500 or 503: the platform failed. `error` is logged, never sent.
    pub fn internal(error: &dyn std::fmt::Display) -> ApiError {
        tracing::error!("API request failed: {error}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the platform could not complete this request; try again, and tell the operator if it persists",
        )
    }

    /// The same error with `details`.
    pub fn with_details(mut self, details: Value) -> ApiError {
        self.details = details;
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code (`invalid_input`, `forbidden`, ...).
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// What was wrong and what to do, for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// More about it (`field`, `problems`, ...): an object.
    pub fn details(&self) -> &Value {
        &self.details
    }

    /// Seconds until a rate limit's window ends, on 429.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The one input that was wrong, when `details.field` names it.
    pub fn field(&self) -> Option<&str> {
        self.details.get("field").and_then(Value::as_str)
    }
}

/// The body of every error answer, as sent: the OpenAPI document's
/// `ApiError` schema is derived from this type, so the two cannot drift.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    as = ApiError,
    description = "Every error of the `/v1` API: `{\"error\": {code, message, details}}`, with the HTTP status that fits."
)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, in [`ErrorBody`].
#[derive(Debug, Serialize, ToSchema)]
#[schema(description = "What went wrong.")]
pub struct ErrorDetail {
    /// Stable for programs: `invalid_input`, `invalid_body`,
    /// `unauthenticated`, `forbidden`, `not_found`, `conflict`,
    /// `rate_limited`, `internal` and the route-specific codes the API
    /// documentation lists.
    #[schema(examples("invalid_input"))]
    pub code: &'static str,
    /// What was wrong and what to do, for people.
    #[schema(examples("a password needs at least 10 characters"))]
    pub message: String,
    /// More about it: `field` names the one input that was wrong;
    /// `retry_after_secs` on 429; `problems`, `reasons` or `differences`
    /// list what a route refused. An empty object when there is nothing
    /// more to say.
    #[schema(value_type = Object, examples(json!({"field": "password"})))]
    pub details: Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                details: self.details,
            },
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// A store failure: 409 for a write that kept colliding with concurrent
/// ones (retrying is the fix), 503 otherwise (logged, never sent).
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        if let StoreError::Conflict(message) = e {
            return ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{message}; try again"),
            );
        }
        let error = ApiError::internal(&e);
        ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            ..error
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = match &rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JsonRejection::BytesRejection(_) => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(
            status,
            "invalid_body",
            format!(
                "the request body is not what this route takes: {}",
                rejection.body_text()
            ),
        )
    }
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        use AccountError as E;
        match e {
            E::InvalidEmail(_) => ApiError::invalid("email", e.to_string()),
            E::InvalidDisplayName => ApiError::invalid("display_name", e.to_string()),
            E::WeakPassword(_) => ApiError::invalid("password", e.to_string()),
            E::UnknownRole(_) => ApiError::invalid("roles", e.to_string()),
            E::UnknownScope(_) | E::NoScopes => ApiError::invalid("scopes", e.to_string()),
            E::ScopeBeyondRoles { .. } | E::ScopeBeyondCredential(_) => {
                ApiError::forbidden(e.to_string()).with_details(json!({ "field": "scopes" }))
            }
            E::InvalidTokenName => ApiError::invalid("name", e.to_string()),
            E::ExpiryInPast => ApiError::invalid("expires_at", e.to_string()),
            E::EmailTaken => ApiError::new(StatusCode::CONFLICT, "email_taken", e.to_string()),
            E::BadCredentials => ApiError::unauthenticated(e.to_string()),
            E::Disabled => ApiError::forbidden(e.to_string()),
            E::NoSuchAccount => ApiError::not_found("account"),
            E::OwnAccount(_) => ApiError::new(StatusCode::CONFLICT, "own_account", e.to_string()),
            E::NoSuchToken => ApiError::not_found("token"),
            E::Store(e) => e.into(),
            E::Random(_) | E::Hash(_) => ApiError::internal(&e),
        }
    }
}

impl From<SignInError> for ApiError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Limited(limited) => ApiError::limited(limited, e.to_string()),
            SignInError::Account(e) => e.into(),
        }
    }
}
