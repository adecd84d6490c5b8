//! How a page fails: [`WebError`] turns the API's errors into pages that
//! say what was wrong and what to do, and an unauthenticated visit into
//! a trip to the sign-in page and back.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::layout::Nav;
use crate::api::error::ApiError;

/// A page that could not be shown, and the navigation bar to show
/// around the explanation.
#[derive(Debug)]
pub struct WebError {
    problem: Box<Problem>,
    nav: Box<Nav>,
}

/// What went wrong.
#[derive(Debug)]
enum Problem {
    /// Nobody is signed in: go to the sign-in page, then to `next`.
    SignIn { next: String },
    /// A form's CSRF field did not match this browser's.
    Csrf,
    /// The API refused or failed: its status and message.
    Api(ApiError),
    /// The request itself was malformed.
    BadRequest(String),
}

/// Whether a form's page can explain refusal `e` itself (bad input, a
/// conflict, a rule of the API): any 4xx but 404, which is a page of its
/// own (the thing is not there, or not this account's).
pub fn answered_on_form(e: &ApiError) -> bool {
    e.status().is_client_error() && e.status() != StatusCode::NOT_FOUND
}

impl WebError {
    /// Nobody is signed in: the sign-in page, then back to `next` (a
    /// path and query on this site).
    pub fn sign_in(next: impl Into<String>) -> WebError {
        WebError::of(Problem::SignIn { next: next.into() })
    }

    /// A form whose CSRF field did not match.
    pub fn csrf() -> WebError {
        WebError::of(Problem::Csrf)
    }

    /// 400 with `message`.
    pub fn bad_request(message: impl Into<String>) -> WebError {
        WebError::of(Problem::BadRequest(message.into()))
    }

    fn of(problem: Problem) -> WebError {
        WebError {
            problem: Box::new(problem),
            nav: Box::new(Nav::anonymous()),
        }
    }

    /// The same error, explained inside `nav` (the signed-in account's
    /// navigation bar).
    pub fn inside(mut self, nav: Nav) -> WebError {
        self.nav = Box::new(nav);
        self
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::of(Problem::Api(e))
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    nav: Nav,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// The path to the sign-in page that comes back to `next` afterwards.
pub fn sign_in_path(next: &str) -> String {
    format!("/signin?next={}", super::layout::encode(next))
}

/// An error page with `status` inside `nav`.
pub fn page(nav: Nav, status: StatusCode, message: &str) -> Response {
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::TOO_MANY_REQUESTS => "Slow down",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let html = ErrorPage {
        nav,
        status: status.as_u16(),
        title,
        message,
    }
    .render()
    .unwrap_or_else(|_| message.to_string());
    (status, super::layout::Html(html)).into_response()
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let nav = *self.nav;
        match *self.problem {
            Problem::SignIn { next } => Redirect::to(&sign_in_path(&next)).into_response(),
            Problem::Csrf => page(
                nav,
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from this site. Go back, reload the page and submit it again.",
            ),
            Problem::BadRequest(message) => page(nav, StatusCode::BAD_REQUEST, &message),
            Problem::Api(e) if e.status() == StatusCode::UNAUTHORIZED => {
                Redirect::to(&sign_in_path("/")).into_response()
            }
            Problem::Api(e) => {
                let mut response = page(nav, e.status(), e.message());
                if let Some(secs) = e.retry_after() {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
        }
    }
}
