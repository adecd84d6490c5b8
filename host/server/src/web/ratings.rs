//! The review forms on an integration's page ([`super::marketplace`]),
//! each through [`crate::api::ratings`] with the same rules:
//!
//! - `POST /marketplace/{name}/reviews`: write or edit the viewer's
//!   rating and review (once they installed it and ran it);
//! - `POST /marketplace/{name}/reviews/delete`: delete it;
//! - `POST /marketplace/{name}/reviews/{id}/reply`: the publisher's one
//!   reply to a review.
//!
//! Admins hide reviews from the same page through [`super::admin`].
//! Success goes back to the page saying what was done; a refusal (bad
//! input, not eligible yet, already replied) is the page again with the
//! API's message.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use workway_engine::platform::Platform;

use super::error::{WebError, answered_on_form};
use super::layout::encode;
use super::marketplace::{Feedback, integration_page};
use super::session::{Member, WebForm};
use crate::api::body::ApiJson;
use crate::api::error::ApiError;
use crate::api::ratings::{self, WriteReply, WriteReview};

/// Back to `name`'s page after a form: saying what was `done`, or the
/// page again with what was refused.
async fn after(
    platform: Arc<Platform>,
    member: &Member,
    name: String,
    outcome: Result<&'static str, ApiError>,
) -> Result<Response, WebError> {
    match outcome {
        Ok(done) => Ok(Redirect::to(&format!(
            "/marketplace/{}?done={done}#reviews-section",
            encode(&name)
        ))
        .into_response()),
        Err(e) if answered_on_form(&e) => {
            let feedback = Feedback {
                notice: None,
                error: Some((e.status(), e.message().to_string())),
            };
            integration_page(platform, member, name, None, feedback).await
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// `POST /marketplace/{name}/reviews`: `rating` (1 to 5), `title`, `body`.
pub async fn write(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    // A rating that is not a number reaches the API as text, which answers
    // at the field that it is a whole number from 1 to 5.
    let rating = form
        .get("rating")
        .trim()
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(form.get("rating")));
    let title = Some(form.get("title").to_string()).filter(|t| !t.trim().is_empty());
    let body = ApiJson(WriteReview {
        rating,
        title,
        body: form.get("body").to_string(),
    });
    let outcome = ratings::write_review(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
        body,
    )
    .await
    .map(|_| "reviewed");
    after(platform, &member, name, outcome).await
}

/// `POST /marketplace/{name}/reviews/delete`.
pub async fn delete(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let outcome = ratings::delete_review(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
    )
    .await
    .map(|_| "deleted");
    after(platform, &member, name, outcome).await
}

/// `POST /marketplace/{name}/reviews/{id}/reply`: `body`.
pub async fn reply(
    State(platform): State<Arc<Platform>>,
    Path((name, id)): Path<(String, String)>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let body = ApiJson(WriteReply {
        body: form.get("body").to_string(),
    });
    let outcome = ratings::reply_to_review(
        State(platform.clone()),
        member.caller.clone(),
        Path((name.clone(), id)),
        body,
    )
    .await
    .map(|_| "replied");
    after(platform, &member, name, outcome).await
}
