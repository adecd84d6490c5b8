//! The typed error every action returns on failure.

use std::time::Duration;

use crate::bindings::workway::plugin::types::{IntegrationError, RateLimit, UpstreamFailure};

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an action failed, in terms the workflow engine acts on: refresh the
/// connection and retry, wait and retry, back off and retry, or give up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The grant is expired or revoked; the host refreshes it and retries once.
    AuthExpired(String),
    /// The service asked to slow down; retried after `retry_after` when given.
    RateLimited {
        /// How long the service asked to wait.
        retry_after: Option<Duration>,
        /// The service's message.
        message: String,
    },
    /// The input is wrong; never retried.
    InvalidInput(String),
    /// What the input refers to does not exist.
    NotFound(String),
    /// The grant does not allow this.
    PermissionDenied(String),
    /// The service failed with `status`.
    Upstream {
        /// The HTTP status the service answered with.
        status: u16,
        /// The service's message.
        message: String,
    },
    /// The service could not be reached.
    Network(String),
    /// A bug or unexpected state in the integration.
    Internal(String),
}

impl Error {
    /// An [`Error::InvalidInput`] with `message`.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput(message.into())
    }

    /// An [`Error::NotFound`] with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }

    /// The typed error an HTTP failure status means for a REST API: 401
    /// auth-expired, 403 permission-denied, 404 and 410 not-found, 429
    /// rate-limited (after `retry_after`), 408, 409 (a conflict with a
    /// concurrent change) and 5xx upstream (retried with backoff), other
    /// 4xx invalid-input. `message` should be the service's own words, from
    /// its error body.
    pub fn from_status(
        status: u16,
        message: impl Into<String>,
        retry_after: Option<Duration>,
    ) -> Self {
        let message = message.into();
        match status {
            401 => Error::AuthExpired(message),
            403 => Error::PermissionDenied(message),
            404 | 410 => Error::NotFound(message),
            429 => Error::RateLimited {
                retry_after,
                message,
            },
            408 | 409 => Error::Upstream { status, message },
            400..=499 => Error::InvalidInput(message),
            status => Error::Upstream { status, message },
        }
    }

    /// An [`Error::Internal`] with `message`.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal(message.into())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::AuthExpired(m) => write!(f, "authorization expired: {m}"),
            Error::RateLimited {
                retry_after,
                message,
            } => match retry_after {
                Some(d) => write!(
                    f,
                    "rate limited (retry after {} ms): {message}",
                    d.as_millis()
                ),
                None => write!(f, "rate limited: {message}"),
            },
            Error::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Error::NotFound(m) => write!(f, "not found: {m}"),
            Error::PermissionDenied(m) => write!(f, "permission denied: {m}"),
            Error::Upstream { status, message } => write!(f, "upstream error {status}: {message}"),
            Error::Network(m) => write!(f, "network error: {m}"),
            Error::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Internal(format!("JSON: {e}"))
    }
}

impl From<Error> for IntegrationError {
    fn from(e: Error) -> Self {
        match e {
            Error::AuthExpired(m) => IntegrationError::AuthExpired(m),
            Error::RateLimited {
                retry_after,
                message,
            } => IntegrationError::RateLimited(RateLimit {
                retry_after_ms: retry_after
                    .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                message,
            }),
            Error::InvalidInput(m) => IntegrationError::InvalidInput(m),
            Error::NotFound(m) => IntegrationError::NotFound(m),
            Error::PermissionDenied(m) => IntegrationError::PermissionDenied(m),
            Error::Upstream { status, message } => {
                IntegrationError::Upstream(UpstreamFailure { status, message })
            }
            Error::Network(m) => IntegrationError::Network(m),
            Error::Internal(m) => IntegrationError::Internal(m),
        }
    }
}
