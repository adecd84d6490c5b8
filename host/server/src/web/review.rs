//! The reviewer dashboard: the queue of submissions waiting for review,
//! oldest first, with their age, approvals and claims.
//!
//! - `GET /review`: for the reviewer role (anyone else gets the 403 page
//!   that says which role it needs), from [`crate::api::reviews::queue`].

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use workway_engine::platform::Platform;

use super::error::WebError;
use super::layout::{Nav, render, when};
use super::session::Member;
use crate::api::reviews::{self, QueueItem};

/// A queue entry as the dashboard shows it.
struct QueueLine {
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
