//! The command line as a client of the platform API (`workway serve`):
//! where the server is, the API token that says who is acting, and one
//! typed failure for every answer that is not a success. Identity comes
//! only from the token; the CLI never asserts who it is.
//!
//! - [`credentials`]: the token `workway login` keeps in the user's config
//!   folder (mode 0600), and how a command finds its server and token.

pub mod credentials;

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

pub use credentials::ServerOptions;

/// How long one request may take before the CLI gives up on the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A failure to talk to the platform API.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the Workway server at {server}: {source}")]
    Unreachable {
        /// The server's address.
        server: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with the API's error shape.
    #[error("{0}")]
    Api(ApiFailure),
    /// The server answered something that is not the API's (a proxy's
    /// error page, or a server that is not Workway).
    #[error("the server answered {status} with a body that is not Workway's API: {excerpt}")]
    Unexpected {
        /// The HTTP status.
        status: StatusCode,
        /// The beginning of the body.
        excerpt: String,
    },
}

/// An error the API answered: `{"error": {"code", "message", "details"}}`.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable code (`not_found`, `invalid_input`, `rate_limited`, ...).
    pub code: String,
    /// What was wrong and what to do.
    pub message: String,
    /// More: the field that was wrong, each problem of a workflow, each
    /// reason a submission was refused.
    pub details: Value,
    /// Seconds to wait before asking again, from `Retry-After`.
    pub retry_after: Option<u64>,
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(field) = self.details["field"].as_str() {
            write!(f, " (field `{field}`)")?;
        }
        for problem in self.details["problems"].as_array().into_iter().flatten() {
            let location = problem["location"].as_str().unwrap_or("");
            let message = problem["message"].as_str().unwrap_or("");
            write!(f, "\n  - {location}: {message}")?;
        }
        for reason in self.details["reasons"].as_array().into_iter().flatten() {
            match reason.as_str() {
                Some(text) => write!(f, "\n  - {text}")?,
                None => write!(f, "\n  - {reason}")?,
            }
        }
        for difference in self.details["differences"].as_array().into_iter().flatten() {
            write!(f, "\n  - {}", difference.as_str().unwrap_or_default())?;
        }
        match self.status {
            StatusCode::UNAUTHORIZED => write!(
                f,
                "\nsign in again with `workway login --server URL` (or set WORKWAY_TOKEN)"
            )?,
            StatusCode::TOO_MANY_REQUESTS => {
                if let Some(secs) = self.retry_after {
                    write!(f, "\ntry again in {secs} s")?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// An HTTP client of one Workway server, acting with one API token.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    server: Url,
    token: String,
}

impl ApiClient {
    /// A client of `server`, sending `token` as a bearer credential.
    pub fn new(server: Url, token: String) -> anyhow::Result<ApiClient> {
        Ok(ApiClient {
            http: http_client()?,
            server,
            token,
        })
    }

    /// The client `options` and the stored credentials name: the server
    /// and token given on the command line or in the environment, else
    /// those `workway login` stored.
    pub fn from_options(options: &ServerOptions) -> anyhow::Result<ApiClient> {
        let (server, token) = options.resolve()?;
        ApiClient::new(server, token)
    }

    /// The server this client talks to.
    pub fn server(&self) -> &Url {
        &self.server
    }

    /// The URL of the API path made of `segments`, each percent-encoded
    /// (a name never changes which route is called).
    pub fn url(&self, segments: &[&str]) -> Url {
        endpoint(&self.server, segments)
    }

    /// `GET` the path made of `segments`, with `query`.
    pub async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, String)],
    ) -> Result<T, ClientError> {
        let request = self.http.get(self.url(segments)).query(query);
        self.send(request).await
    }

    /// `POST` `body` as JSON to the path made of `segments`.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T, ClientError> {
        let request = self.http.post(self.url(segments)).json(body);
        self.send(request).await
    }

    /// `POST` `text` with `content_type` to the path made of `segments`.
    pub async fn post_text<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        content_type: &str,
        text: String,
    ) -> Result<T, ClientError> {
        let request = self
            .http
            .post(self.url(segments))
            .header(CONTENT_TYPE, content_type)
            .body(text);
        self.send(request).await
    }

    /// `POST` to the path made of `segments` with no body, for an action
    /// the API answers with 204 and nothing else.
    pub async fn post_action(&self, segments: &[&str]) -> Result<(), ClientError> {
        let request = self.http.post(self.url(segments));
        let response = self.execute(request).await?;
        decode_failure(response).await.map(drop)
    }

    /// `DELETE` the path made of `segments` (the API answers 204).
    pub async fn delete(&self, segments: &[&str]) -> Result<(), ClientError> {
        let request = self.http.delete(self.url(segments));
        let response = self.execute(request).await?;
        decode_failure(response).await.map(drop)
    }

    /// `DELETE` the path made of `segments`, for a route that answers 200
    /// with a JSON body.
    pub async fn delete_json<T: DeserializeOwned>(
        &self,
        segments: &[&str],
    ) -> Result<T, ClientError> {
        let request = self.http.delete(self.url(segments));
        self.send(request).await
    }

    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ClientError> {
        request
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                server: self.server.to_string(),
                source,
            })
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = self.execute(request).await?;
        decode(response, &self.server).await
    }
}

/// The HTTP client every command uses: rustls with the system's roots,
/// bounded time per request, no redirects followed (a redirect would
/// carry the token elsewhere).
pub(crate) fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("workway-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| anyhow::anyhow!("cannot make an HTTP client: {e}"))
}

/// The URL of `server`'s path made of `segments`, each percent-encoded.
pub(crate) fn endpoint(server: &Url, segments: &[&str]) -> Url {
    let mut url = server.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}

/// A success's JSON body as `T`, or the failure the server answered.
pub(crate) async fn decode<T: DeserializeOwned>(
    response: reqwest::Response,
    server: &Url,
) -> Result<T, ClientError> {
    let response = decode_failure(response).await?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|source| ClientError::Unreachable {
            server: server.to_string(),
            source,
        })?;
    serde_json::from_slice(&bytes).map_err(|_| ClientError::Unexpected {
        status,
        excerpt: excerpt(&bytes),
    })
}

/// The response itself when it is a success; its API failure otherwise.
pub(crate) async fn decode_failure(
    response: reqwest::Response,
) -> Result<reqwest::Response, ClientError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let bytes = response.bytes().await.unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let error = &body["error"];
    match (error["code"].as_str(), error["message"].as_str()) {
        (Some(code), Some(message)) => Err(ClientError::Api(ApiFailure {
            status,
            code: code.to_string(),
            message: message.to_string(),
            details: error["details"].clone(),
            retry_after,
        })),
        _ => Err(ClientError::Unexpected {
            status,
            excerpt: excerpt(&bytes),
        }),
    }
}

/// The first few hundred characters of a body, for an error message.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None if text.is_empty() => "(empty)".to_string(),
        None => text.to_string(),
    }
}

/// A Unix-ms time as an HTTP date (UTC), for listings.
pub fn when(ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    httpdate::fmt_http_date(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_encoded_so_a_name_cannot_change_the_route() {
        let server = Url::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(
            endpoint(&server, &["v1", "workflows", "../tokens"]).as_str(),
            "http://127.0.0.1:8080/v1/workflows/..%2Ftokens"
        );
        let prefixed = Url::parse("https://example.com/workway/").unwrap();
        assert_eq!(
            endpoint(&prefixed, &["v1", "runs", "a b"]).as_str(),
            "https://example.com/workway/v1/runs/a%20b"
        );
    }

    #[test]
    fn a_failure_says_the_field_and_each_problem() {
        let failure = ApiFailure {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_workflow".into(),
            message: "the workflow does not fit".into(),
            details: serde_json::json!({
                "field": "definition",
                "problems": [{"location": "steps[0].action", "message": "not installed"}]
            }),
            retry_after: None,
        };
        assert_eq!(
            failure.to_string(),
            "the workflow does not fit (field `definition`)\n  - steps[0].action: not installed"
        );
        let limited = ApiFailure {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited".into(),
            message: "too many requests".into(),
            details: Value::Null,
            retry_after: Some(42),
        };
        assert_eq!(limited.to_string(), "too many requests\ntry again in 42 s");
    }
}
