//! The reviewer dashboard: the queue of submissions waiting for review,
//! oldest first, with their age, approvals and claims.
//!
//! - `GET /review`: for the reviewer role (anyone else gets the 403 page
//!   that says which role it needs), from [`crate::api::reviews::queue`];
//! - on a submission's page ([`super::developer`]): `POST
//!   /submissions/{id}/{action}`: claim, release, approve (with the
//!   report's fingerprint the page showed), reject and revoke (with a
//!   reason), each through [`crate::api::reviews`].

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use workway_engine::platform::Platform;

use super::developer::submission_page;
use super::error::{WebError, answered_on_form};
use super::layout::{Nav, encode, render, when};
use super::session::{Member, WebForm};
use crate::api::body::ApiJson;
use crate::api::error::ApiError;
use crate::api::reviews::{self, Approve, Decision, QueueItem};

/// A queue entry as the dashboard shows it.
struct QueueLine {
    id: String,
    integration: String,
    version: String,
    submitted: String,
    age: String,
    approvals: String,
    claim: String,
}

/// `secs` as the largest whole unit: `3 days`, `5 hours`, `12 minutes`.
fn age(secs: i64) -> String {
    let (n, unit) = match secs.max(0) {
        s if s >= 86_400 => (s / 86_400, "day"),
        s if s >= 3_600 => (s / 3_600, "hour"),
        s if s >= 60 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

impl From<QueueItem> for QueueLine {
    fn from(item: QueueItem) -> Self {
        QueueLine {
            age: age(item.age_secs),
            approvals: format!("{} of {}", item.approvals, item.needed),
            claim: match (item.claimed_by, item.claim_expires_at) {
                (Some(by), Some(until)) => format!("claimed by {by} until {}", when(until)),
                (Some(by), None) => format!("claimed by {by}"),
                _ => "unclaimed".to_string(),
            },
            submitted: when(item.summary.created_at),
            id: item.summary.id,
            integration: item.summary.integration,
            version: item.summary.version,
        }
    }
}

/// The queue page.
#[derive(Template)]
#[template(path = "review_queue.html")]
struct QueuePage {
    nav: Nav,
    items: Vec<QueueLine>,
}

/// `GET /review`.
pub async fn queue(
    State(platform): State<Arc<Platform>>,
    member: Member,
) -> Result<Response, WebError> {
    let items = reviews::queue(State(platform), member.caller.clone())
        .await
        .map_err(|e| member.fail(e))?
        .0;
    Ok(render(&QueuePage {
        nav: member.nav(),
        items: items.into_iter().map(QueueLine::from).collect(),
    }))
}

/// What a reviewer's action answered: back to the page with what
/// happened, or the page again with what was refused.
async fn after(
    platform: Arc<Platform>,
    member: &Member,
    id: String,
    outcome: Result<&'static str, ApiError>,
) -> Result<Response, WebError> {
    match outcome {
        Ok(done) => {
            Ok(Redirect::to(&format!("/submissions/{}?done={done}", encode(&id))).into_response())
        }
        Err(e) if answered_on_form(&e) => {
            let status = e.status();
            let message = e.message().to_string();
            submission_page(platform, member, id, None, Some((status, message))).await
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// `POST /submissions/{id}/{action}`: `claim`, `release`, `approve`
/// (with the fingerprint of the report the page showed, so a report that
/// changed since is not approved), `reject` or `revoke` (with a reason).
pub async fn act(
    State(platform): State<Arc<Platform>>,
    Path((id, action)): Path<(String, String)>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let (state, caller, path) = (
        State(platform.clone()),
        member.caller.clone(),
        Path(id.clone()),
    );
    let reason = || {
        ApiJson(Decision {
            reason: Some(form.get("reason").to_string()),
        })
    };
    let outcome = match action.as_str() {
        "claim" => reviews::claim(state, caller, path).await.map(|_| "claimed"),
        "release" => reviews::release(state, caller, path)
            .await
            .map(|_| "released"),
        "approve" => {
            let body = ApiJson(Approve {
                fingerprint: Some(form.get("fingerprint").to_string()),
            });
            reviews::approve(state, caller, path, body).await.map(|r| {
                if r.status() == StatusCode::ACCEPTED {
                    "recorded"
                } else {
                    "approved"
                }
            })
        }
        "reject" => reviews::reject(state, caller, path, reason())
            .await
            .map(|_| "rejected"),
        "revoke" => reviews::revoke(state, caller, path, reason())
            .await
            .map(|_| "revoked"),
        _ => return Err(member.fail(ApiError::not_found("review action"))),
    };
    after(platform, &member, id, outcome).await
}
