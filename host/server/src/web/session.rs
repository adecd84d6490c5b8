//! Who is looking at a page: [`Viewer`] reads the browser session (the
//! same `workway_session` cookie and the same checks as the API's
//! [`Caller`]), [`Member`] insists on one and sends anyone else to the
//! sign-in page, and [`WebForm`] reads a posted form only once its CSRF
//! field matches: the session's CSRF token when signed in, the
//! `workway_form` cookie's value on the sign-in and sign-up forms.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};

use workway_engine::accounts::{secrets, sessions};
use workway_engine::platform::Platform;
use workway_store::clock::now_ms;

use super::error::WebError;
use super::layout::Nav;
use crate::api::auth::{self, Caller, cookie};

/// The cookie that carries the CSRF value of forms posted without a
/// session (sign-in, sign-up): a double-submitted random value.
pub const FORM_COOKIE: &str = "workway_form";

/// The largest form body a page accepts, in bytes (64 KiB).
pub const FORM_BODY_BYTES: usize = 64 << 10;

/// The browser behind a request: signed in or not.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The signed-in account, admitted like an API caller.
    pub caller: Option<Caller>,
    /// The value forms carry in their `csrf` field.
    pub csrf: String,
    /// A fresh form cookie to set, when the request carried none and
    /// has no session.
    pub new_form_cookie: Option<String>,
}

impl Viewer {
    /// The `Set-Cookie` value that gives this browser its form cookie,
    /// when it needs one.
    pub fn form_cookie_header(&self) -> Option<HeaderValue> {
        let value = self.new_form_cookie.as_ref()?;
        HeaderValue::from_str(&format!(
            "{FORM_COOKIE}={value}; HttpOnly; Secure; SameSite=Strict; Path=/"
        ))
        .ok()
    }
}

impl FromRequestParts<Arc<Platform>> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, Self::Rejection> {
        let now = now_ms();
        if let Some(session_id) = cookie(&parts.headers, sessions::COOKIE)
            && let Some(principal) =
                sessions::authenticate(&platform.store, &platform.accounts, &session_id, now)
                    .await
                    .map_err(crate::api::error::ApiError::from)?
        {
            let caller = auth::admit(platform, principal, now).await?;
            return Ok(Viewer {
                caller: Some(caller),
                csrf: secrets::csrf_token(&session_id),
                new_form_cookie: None,
            });
        }
        auth::count_address(platform, &auth::address(parts)).await?;
        let existing = cookie(&parts.headers, FORM_COOKIE).filter(|v| {
            v.starts_with("wwf_")
                && (40..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        });
        let (csrf, new_form_cookie) = match existing {
            Some(value) => (value, None),
            None => {
                let value =
                    secrets::random_secret("wwf_").map_err(crate::api::error::ApiError::from)?;
                (value.clone(), Some(value))
            }
        };
        Ok(Viewer {
            caller: None,
            csrf,
            new_form_cookie,
        })
    }
}

/// A signed-in browser; anyone else is sent to the sign-in page and back.
#[derive(Debug, Clone)]
pub struct Member {
    /// The account, admitted like an API caller.
    pub caller: Caller,
    /// The value forms carry in their `csrf` field.
    pub csrf: String,
}

impl Member {
    /// `error` explained inside this member's navigation bar.
    pub fn fail(&self, error: impl Into<WebError>) -> WebError {
        error.into().inside(self.nav())
    }

    /// This member's navigation bar.
    pub fn nav(&self) -> Nav {
        Nav::of(&self.caller.0, &self.csrf)
    }
}

impl FromRequestParts<Arc<Platform>> for Member {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        platform: &Arc<Platform>,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, platform).await?;
        match viewer.caller {
            Some(caller) => Ok(Member {
                caller,
                csrf: viewer.csrf,
            }),
            None => Err(WebError::sign_in(
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_string())
                    .unwrap_or_else(|| "/".to_string()),
            )),
        }
    }
}

/// A posted `application/x-www-form-urlencoded` form whose `csrf` field
/// matched, with the viewer who posted it.
#[derive(Debug)]
pub struct WebForm {
    /// Who posted it.
    pub viewer: Viewer,
    fields: Vec<(String, String)>,
}

impl WebForm {
    /// The first value of `name`, trimmed of nothing; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }

    /// The signed-in member who posted it, or a trip to the sign-in page.
    pub fn member(&self) -> Result<Member, WebError> {
        match &self.viewer.caller {
            Some(caller) => Ok(Member {
                caller: caller.clone(),
                csrf: self.viewer.csrf.clone(),
            }),
            None => Err(WebError::sign_in("/")),
        }
    }

    /// Every value of `name`, in order (checkboxes sharing a name).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

impl FromRequest<Arc<Platform>> for WebForm {
    type Rejection = WebError;

    async fn from_request(
        request: Request,
        platform: &Arc<Platform>,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, platform).await?;
        let form_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(WebError::bad_request(
                "this page takes a form (application/x-www-form-urlencoded): submit it from the page",
            ));
        }
        let bytes = axum::body::to_bytes(body, FORM_BODY_BYTES)
            .await
            .map_err(|_| WebError::bad_request("the form is too large: at most 64 KiB"))?;
        let fields = parse(&bytes);
        let form = WebForm { viewer, fields };
        if !secrets::same(form.get("csrf"), &form.viewer.csrf)
            || form.viewer.new_form_cookie.is_some()
        {
            return Err(WebError::csrf());
        }
        Ok(form)
    }
}

/// A posted `multipart/form-data` form (a file upload) whose `csrf`
/// field matched, with the signed-in member who posted it. The route's
/// body limit bounds the whole upload.
#[derive(Debug)]
pub struct WebUpload {
    /// Who posted it.
    pub member: Member,
    fields: Vec<UploadField>,
}

/// One field of an upload.
#[derive(Debug)]
struct UploadField {
    name: String,
    /// The `Content-Type` the browser gave a file, if any.
    content_type: Option<String>,
    bytes: Bytes,
}

impl WebUpload {
    /// The bytes of the field `name` (a file's content); empty when absent.
    pub fn bytes(&self, name: &str) -> &[u8] {
        self.field(name)
            .map(|f| f.bytes.as_ref())
            .unwrap_or_default()
    }

    /// The content type the browser sent for the file in field `name`
    /// (as the browser guessed it from the file's name; empty when absent).
    pub fn content_type(&self, name: &str) -> &str {
        self.field(name)
            .and_then(|f| f.content_type.as_deref())
            .unwrap_or_default()
    }

    fn field(&self, name: &str) -> Option<&UploadField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field `name` as text (lossy for bytes that are not UTF-8).
    pub fn text(&self, name: &str) -> String {
        String::from_utf8_lossy(self.bytes(name)).into_owned()
    }
}

impl FromRequest<Arc<Platform>> for WebUpload {
    type Rejection = WebError;

    async fn from_request(
        request: Request,
        platform: &Arc<Platform>,
    ) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let member = Member::from_request_parts(&mut parts, platform).await?;
        let request = Request::from_parts(parts, body);
        let mut multipart = axum::extract::Multipart::from_request(request, platform)
            .await
            .map_err(|e| {
                member.fail(WebError::bad_request(format!(
                    "this page takes a file upload (multipart/form-data): {}",
                    e.body_text()
                )))
            })?;
        let mut fields = Vec::new();
        loop {
            match multipart.next_field().await {
                Ok(Some(field)) => {
                    let name = field.name().unwrap_or_default().to_string();
                    let content_type = field.content_type().map(str::to_string);
                    let bytes = field.bytes().await.map_err(|e| {
                        member.fail(WebError::bad_request(format!(
                            "the upload could not be read ({}): a file may be too large",
                            e.body_text()
                        )))
                    })?;
                    fields.push(UploadField {
                        name,
                        content_type,
                        bytes,
                    });
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(member.fail(WebError::bad_request(format!(
                        "the upload could not be read ({}): a file may be too large",
                        e.body_text()
                    ))));
                }
            }
        }
        let upload = WebUpload { member, fields };
        if !secrets::same(&upload.text("csrf"), &upload.member.csrf) {
            return Err(WebError::csrf());
        }
        Ok(upload)
    }
}

/// The name-value pairs of an urlencoded body.
fn parse(bytes: &Bytes) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes)
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

/// The client's address, for the sign-in rate limits.
#[derive(Debug)]
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(auth::address(parts)))
    }
}
