//! Signing up, in and out, and the account page with its API tokens.
//!
//! - `GET /signin`, `POST /signin`: the sign-in form; on success the
//!   session cookie and a redirect to where the browser was going;
//! - `GET /signup`, `POST /signup`: a new `user` account, signed in;
//! - `POST /signout`: the session ended;
//! - `GET /account`: the account and its API tokens;
//! - `POST /account/tokens`: a new token, shown on the page this once;
//! - `POST /account/tokens/{id}/revoke`: revoke one of the account's tokens.
//!
//! Each calls the engine's account services exactly as the API's
//! [`crate::api::account`] does, with the same checks.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use workway_engine::accounts::{self, Credential, NewAccountRequest, Scope, sessions, tokens};
use workway_engine::platform::Platform;
use workway_store::api_tokens::ApiTokenRow;
use workway_store::clock::now_ms;

use super::error::WebError;
use super::layout::{Nav, render, when};
use super::session::{ClientAddress, Member, Viewer, WebForm};
use crate::api::account::{cleared_session_cookie, session_cookie};
use crate::api::auth::Caller;
use crate::api::error::ApiError;

/// Where a signed-in browser goes when it was not going anywhere.
const HOME: &str = "/marketplace";

/// `?next=` on the sign-in and sign-up pages.
#[derive(Debug, Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// `next` if it is a path on this site, else [`HOME`]: never a redirect
/// to another origin.
fn local(next: &str) -> &str {
    // Only visible ASCII: a path this site makes is percent-encoded, and
    // anything else could not be sent back as a `Location` header.
    let on_site = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.chars().all(|c| c.is_ascii_graphic());
    if on_site { next } else { HOME }
}

/// The sign-in form.
#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage<'a> {
    nav: Nav,
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    error: Option<&'a str>,
}

/// The sign-up form.
#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpPage<'a> {
    nav: Nav,
    csrf: &'a str,
    next: &'a str,
    email: &'a str,
    display_name: &'a str,
    error: Option<FieldError<'a>>,
}

/// One form field's error.
struct FieldError<'a> {
    field: &'a str,
    message: &'a str,
}

/// A page for a browser that is not signed in yet, giving it its form
/// cookie if it has none.
fn with_form_cookie(viewer: &Viewer, status: StatusCode, page: Response) -> Response {
    let mut response = (status, page).into_response();
    if let Some(cookie) = viewer.form_cookie_header() {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /signin`.
pub async fn sign_in_page(viewer: Viewer, Query(q): Query<Next>) -> Response {
    let next = local(q.next.as_deref().unwrap_or(HOME));
    if viewer.caller.is_some() {
        return Redirect::to(next).into_response();
    }
    let page = render(&SignInPage {
        nav: Nav::anonymous(),
        csrf: &viewer.csrf,
        next,
        email: "",
        error: None,
    });
    with_form_cookie(&viewer, StatusCode::OK, page)
}

/// Open a session for `email` and send the browser on to `next`.
async fn open_session(
    platform: &Platform,
    address: &str,
    email: &str,
    password: &str,
    next: &str,
) -> Result<Response, ApiError> {
    let now = now_ms();
    let signed_in = sessions::sign_in(
        &platform.store,
        &platform.accounts,
        email,
        password,
        address,
        now,
    )
    .await?;
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        session_cookie(&signed_in.session_id, signed_in.expires_at, now)?,
    );
    Ok((headers, Redirect::to(next)).into_response())
}

/// `POST /signin`.
pub async fn sign_in(
    State(platform): State<Arc<Platform>>,
    address: ClientAddress,
    form: WebForm,
) -> Response {
    let next = local(form.get("next"));
    let email = form.get("email");
    match open_session(&platform, &address.0, email, form.get("password"), next).await {
        Ok(response) => response,
        Err(e) if e.status().is_server_error() => WebError::from(e).into_response(),
        Err(e) => {
            let page = render(&SignInPage {
                nav: Nav::anonymous(),
                csrf: &form.viewer.csrf,
                next,
                email,
                error: Some(e.message()),
            });
            (e.status(), page).into_response()
        }
    }
}

/// `GET /signup`.
pub async fn sign_up_page(viewer: Viewer, Query(q): Query<Next>) -> Response {
    let next = local(q.next.as_deref().unwrap_or(HOME));
    if viewer.caller.is_some() {
        return Redirect::to(next).into_response();
    }
    let page = render(&SignUpPage {
        nav: Nav::anonymous(),
        csrf: &viewer.csrf,
        next,
        email: "",
        display_name: "",
        error: None,
    });
    with_form_cookie(&viewer, StatusCode::OK, page)
}

/// `POST /signup`: a `user` account, then signed in.
pub async fn sign_up(
    State(platform): State<Arc<Platform>>,
    address: ClientAddress,
    form: WebForm,
) -> Response {
    let next = local(form.get("next"));
    let (email, display_name, password) = (
        form.get("email"),
        form.get("display_name"),
        form.get("password"),
    );
    let made = accounts::create(
        &platform.store,
        &NewAccountRequest {
            email,
            display_name,
            password,
            roles: &[],
        },
        now_ms(),
    )
    .await
    .map_err(ApiError::from);
    let result = match made {
        Ok(_) => open_session(&platform, &address.0, email, password, next).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(response) => response,
        Err(e) if e.status().is_server_error() => WebError::from(e).into_response(),
        Err(e) => {
            let field = match e.code() {
                "email_taken" => "email",
                _ => e.field().unwrap_or("form"),
            };
            let page = render(&SignUpPage {
                nav: Nav::anonymous(),
                csrf: &form.viewer.csrf,
                next,
                email,
                display_name,
                error: Some(FieldError {
                    field,
                    message: e.message(),
                }),
            });
            (e.status(), page).into_response()
        }
    }
}

/// `POST /signout`.
pub async fn sign_out(State(platform): State<Arc<Platform>>, form: WebForm) -> Response {
    if let Some(Caller(principal)) = &form.viewer.caller
        && matches!(principal.credential, Credential::Session { .. })
        && let Err(e) = sessions::sign_out(&platform.store, principal, now_ms()).await
    {
        return WebError::from(ApiError::from(e)).into_response();
    }
    (
        [(header::SET_COOKIE, cleared_session_cookie())],
        Redirect::to("/signin"),
    )
        .into_response()
}

/// A token as the account page lists it.
struct TokenLine {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    created: String,
    last_used: String,
    state: String,
    live: bool,
}

impl TokenLine {
    fn of(row: &ApiTokenRow, now: i64) -> TokenLine {
        let (state, live) = match (row.revoked_at, row.expires_at) {
            (Some(at), _) => (format!("revoked {}", when(at)), false),
            (None, Some(at)) if at <= now => (format!("expired {}", when(at)), false),
            (None, Some(at)) => (format!("active until {}", when(at)), true),
            (None, None) => ("active, never expires".to_string(), true),
        };
        TokenLine {
            id: row.id.clone(),
            name: row.name.clone(),
            prefix: row.prefix.clone(),
            scopes: row.scopes.join(", "),
            created: when(row.created_at),
            last_used: row
                .last_used_at
                .map(when)
                .unwrap_or_else(|| "never".to_string()),
            state,
            live,
        }
    }
}

/// A scope the token form offers.
struct ScopeChoice {
    name: &'static str,
    checked: bool,
}

/// The account page.
#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Nav,
    email: String,
    roles: String,
    tokens: Vec<TokenLine>,
    scopes: Vec<ScopeChoice>,
    new_token: Option<String>,
    token_name: String,
    expires_days: String,
    error: Option<FieldErrorOwned>,
}

/// One form field's error, owned.
struct FieldErrorOwned {
    field: String,
    message: String,
}

/// The account page for `member`, with what the token form shows.
async fn account_page(
    platform: &Platform,
    member: &Member,
    new_token: Option<String>,
    form: Option<(&WebForm, ApiError)>,
) -> Result<Response, WebError> {
    let principal = member
        .caller
        .require(Scope::Read)
        .map_err(|e| member.fail(e))?;
    let now = now_ms();
    let rows = tokens::list(&platform.store, principal)
        .await
        .map_err(|e| member.fail(ApiError::from(e)))?;
    let chosen: Vec<&str> = form
        .as_ref()
        .map(|(f, _)| f.all("scope"))
        .unwrap_or_default();
    let scopes = Scope::ALL
        .into_iter()
        .filter(|s| principal.can(*s))
        .map(|s| ScopeChoice {
            name: s.as_str(),
            checked: if form.is_some() {
                chosen.contains(&s.as_str())
            } else {
                s == Scope::Read
            },
        })
        .collect();
    let status = form.as_ref().map_or(StatusCode::OK, |(_, e)| e.status());
    let page = AccountPage {
        nav: member.nav(),
        email: principal.email.clone(),
        roles: principal
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        tokens: rows.iter().map(|r| TokenLine::of(r, now)).collect(),
        scopes,
        new_token,
        token_name: form
            .as_ref()
            .map(|(f, _)| f.get("name").to_string())
            .unwrap_or_default(),
        expires_days: form
            .as_ref()
            .map(|(f, _)| f.get("expires_days").to_string())
            .unwrap_or_default(),
        error: form.map(|(_, e)| FieldErrorOwned {
            field: e.field().unwrap_or("form").to_string(),
            message: e.message().to_string(),
        }),
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /account`.
pub async fn show(
    State(platform): State<Arc<Platform>>,
    member: Member,
) -> Result<Response, WebError> {
    account_page(&platform, &member, None, None).await
}

/// The largest expiry the token form takes, in days (ten years).
const MAX_EXPIRY_DAYS: i64 = 3650;

/// When a token made now should expire, from the form's `expires_days`.
fn expiry(days: &str, now: i64) -> Result<Option<i64>, ApiError> {
    let days = days.trim();
    if days.is_empty() {
        return Ok(None);
    }
    match days.parse::<i64>() {
        Ok(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => Ok(Some(now + d * 86_400_000)),
        _ => Err(ApiError::invalid(
            "expires_days",
            format!(
                "expiry must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}, or left empty for a token that never expires"
            ),
        )),
    }
}

/// `POST /account/tokens`: the token is on the answer page only.
pub async fn create_token(
    State(platform): State<Arc<Platform>>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let now = now_ms();
    let made = async {
        let scopes = form
            .all("scope")
            .into_iter()
            .map(Scope::parse)
            .collect::<Result<Vec<_>, _>>()?;
        let expires_at = expiry(form.get("expires_days"), now)?;
        tokens::create(
            &platform.store,
            &member.caller.0,
            form.get("name"),
            &scopes,
            expires_at,
            now,
        )
        .await
        .map_err(ApiError::from)
    }
    .await;
    match made {
        Ok(made) => {
            let mut response = account_page(&platform, &member, Some(made.secret), None).await?;
            *response.status_mut() = StatusCode::CREATED;
            Ok(response)
        }
        Err(e) if e.status().is_server_error() => Err(member.fail(e)),
        Err(e) => account_page(&platform, &member, None, Some((&form, e))).await,
    }
}

/// `POST /account/tokens/{id}/revoke`.
pub async fn revoke_token(
    State(platform): State<Arc<Platform>>,
    Path(id): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let principal = member
        .caller
        .require(Scope::Run)
        .map_err(|e| member.fail(e))?;
    tokens::revoke(&platform.store, principal, &id, now_ms())
        .await
        .map_err(|e| member.fail(ApiError::from(e)))?;
    Ok(Redirect::to("/account").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_after_sign_in_stays_on_this_site() {
        assert_eq!(local("/account"), "/account");
        assert_eq!(local("/marketplace?q=mail"), "/marketplace?q=mail");
        for away in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/a\r\nSet-Cookie: x=1",
            "/caf\u{e9}",
            "/a b",
        ] {
            assert_eq!(local(away), HOME, "{away:?}");
        }
    }

    #[test]
    fn a_token_expiry_is_whole_days_within_ten_years() {
        let now = 1_000;
        assert_eq!(expiry("", now).ok(), Some(None));
        assert_eq!(expiry(" 30 ", now).ok(), Some(Some(now + 30 * 86_400_000)));
        assert_eq!(
            expiry("3650", now).ok(),
            Some(Some(now + 3650 * 86_400_000))
        );
        for bad in ["0", "-1", "3651", "1.5", "forever", "99999999999999999999"] {
            let e = expiry(bad, now).expect_err(bad);
            assert_eq!(e.field(), Some("expires_days"), "{bad}");
        }
    }
}
