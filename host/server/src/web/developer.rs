//! The developer console: the account's submissions and submitting a
//! component, earnings by month and integration with the payouts, and a submission's page with its review report, its
//! capability change (what it adds shown as a widening), its examples'
//! outcomes and fuel, and its history with the reviewers' reasons. The
//! same page carries the reviewer's actions ([`super::review`]).
//!
//! - `GET /developer`: the account's approved integrations with their
//!   installs and success rate (each opening [`super::listing`]'s page),
//!   the submissions and the upload form;
//! - `POST /developer/submissions`: upload the `.wasm` file, the
//!   manifest (`workway.toml`) and an optional replay file;
//! - `GET /submissions/{id}`: for its submitter, reviewers and admins.
//!
//! Each calls the API's handler ([`crate::api::submissions`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

use workway_engine::accounts::Scope;
use workway_engine::billing::tariff::{show_cents, show_mills};
use workway_engine::platform::Platform;

use super::error::WebError;
use super::layout::{Nav, encode, render, when};
use super::session::{Member, WebUpload};
use crate::api::billing;
use crate::api::body::ApiJson;
use crate::api::listings;
use crate::api::submissions::{self, Publish, SubmissionSummary, SubmissionView};

/// A submission as the console lists it.
struct SubmissionLine {
    id: String,
    integration: String,
    version: String,
    state: String,
    submitted: String,
}

impl From<SubmissionSummary> for SubmissionLine {
    fn from(s: SubmissionSummary) -> Self {
        SubmissionLine {
            submitted: when(s.created_at),
            state: s.state.replace('_', " "),
            id: s.id,
            integration: s.integration,
            version: s.version,
        }
    }
}

/// A developer's share of one month's usage of one integration.
struct EarningLine {
    month: String,
    integration: String,
    charged: i64,
    share: String,
    credited: bool,
}

/// A payout as the console lists it.
struct PayoutLine {
    amount: String,
    state: String,
    when: String,
}

/// An approved integration of the account, with how it is doing.
struct OwnedLine {
    name: String,
    version: String,
    installs: i64,
    success: String,
}

/// The console.
#[derive(Template)]
#[template(path = "developer.html")]
struct ConsolePage {
    nav: Nav,
    integrations: Vec<OwnedLine>,
    items: Vec<SubmissionLine>,
    error: Option<String>,
    reasons: Vec<String>,
    earnings: Vec<EarningLine>,
    payouts: Vec<PayoutLine>,
}

async fn console(
    platform: Arc<Platform>,
    member: &Member,
    refused: Option<(StatusCode, String, Vec<String>)>,
) -> Result<Response, WebError> {
    let items = submissions::list(State(platform.clone()), member.caller.clone())
        .await
        .map_err(|e| member.fail(e))?
        .0;
    // Each integration with an approved version the account submitted,
    // with the figures its listing shows (a revoked one has none).
    let names: BTreeSet<&str> = items
        .iter()
        .filter(|s| s.state == "approved")
        .map(|s| s.integration.as_str())
        .collect();
    let mut integrations = Vec::with_capacity(names.len());
    for name in names {
        let Ok(listing) = listings::show(
            State(platform.clone()),
            member.caller.clone(),
            Path(name.to_string()),
        )
        .await
        else {
            continue;
        };
        let f = &listing.0.figures;
        integrations.push(OwnedLine {
            name: listing.0.name.clone(),
            version: listing.0.version.clone(),
            installs: f.installs.current,
            success: f
                .success_rate
                .map(|r| format!("{:.1}% of {}", r * 100.0, f.executions_30d))
                .unwrap_or_else(|| "no executions".to_string()),
        });
    }
    let earned = billing::earnings(State(platform), member.caller.clone())
        .await
        .map_err(|e| member.fail(e))?
        .0;
    let mut earnings: Vec<EarningLine> = earned
        .pending
        .into_iter()
        .map(|e| (e, false))
        .chain(earned.credited.into_iter().map(|e| (e, true)))
        .map(|(e, credited)| EarningLine {
            share: show_mills(e.share_mills),
            month: e.month,
            integration: e.integration,
            charged: e.charged,
            credited,
        })
        .collect();
    earnings.sort_by(|a, b| {
        b.month
            .cmp(&a.month)
            .then(a.integration.cmp(&b.integration))
    });
    let (status, error, reasons) = match refused {
        Some((status, message, reasons)) => (status, Some(message), reasons),
        None => (StatusCode::OK, None, Vec::new()),
    };
    let page = ConsolePage {
        nav: member.nav(),
        integrations,
        items: items.into_iter().map(SubmissionLine::from).collect(),
        error,
        reasons,
        earnings,
        payouts: earned
            .payouts
            .into_iter()
            .map(|p| PayoutLine {
                amount: show_cents(p.amount_cents),
                state: match p.reason {
                    Some(reason) => format!("{}: {reason}", p.state),
                    None => p.state,
                },
                when: when(p.created_at),
            })
            .collect(),
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /developer`: for the developer role (the `publish` scope).
pub async fn show(
    State(platform): State<Arc<Platform>>,
    member: Member,
) -> Result<Response, WebError> {
    member
        .caller
        .require(Scope::Publish)
        .map_err(|e| member.fail(e))?;
    console(platform, &member, None).await
}

/// `POST /developer/submissions`.
pub async fn submit(
    State(platform): State<Arc<Platform>>,
    upload: WebUpload,
) -> Result<Response, WebError> {
    let member = upload.member.clone();
    let replay = upload.text("replay");
    let body = Publish {
        manifest: upload.text("manifest"),
        component: STANDARD.encode(upload.bytes("component")),
        replay: Some(replay).filter(|r| !r.trim().is_empty()),
    };
    match submissions::submit(
        State(platform.clone()),
        member.caller.clone(),
        ApiJson(body),
    )
    .await
    {
        Ok((_, view)) => Ok(
            Redirect::to(&format!("/submissions/{}", encode(&view.0.summary.id))).into_response(),
        ),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::FORBIDDEN => {
            let reasons = e
                .details()
                .get("reasons")
                .and_then(Value::as_array)
                .map(|all| {
                    all.iter()
                        .map(|r| r.as_str().map_or_else(|| r.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let message = e.message().to_string();
            console(platform, &member, Some((e.status(), message, reasons))).await
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// One line of the report's capability change.
struct Change {
    what: String,
    widens: bool,
}

/// An example run as the report shows it.
struct ExampleLine {
    action: String,
    outcome: String,
    fuel: u64,
    ok: bool,
}

/// A history entry.
struct EventLine {
    change: String,
    actor: String,
    reason: Option<String>,
    at: String,
}

/// A submission's page.
#[derive(Template)]
#[template(path = "submission.html")]
struct SubmissionPage {
    nav: Nav,
    s: SubmissionView,
    state: String,
    size: String,
    hosts: Vec<String>,
    scopes: Vec<String>,
    changes: Vec<Change>,
    previous: Option<String>,
    examples: Vec<ExampleLine>,
    events: Vec<EventLine>,
    reviewer: bool,
    pending: bool,
    approved: bool,
    notice: Option<String>,
    error: Option<String>,
}

/// The page of submission `id` for `member`, with what just happened
/// (`notice`) or what was refused (`error`, with its status) on top.
pub(super) async fn submission_page(
    platform: Arc<Platform>,
    member: &Member,
    id: String,
    notice: Option<String>,
    error: Option<(StatusCode, String)>,
) -> Result<Response, WebError> {
    let s = submissions::show(State(platform), member.caller.clone(), Path(id))
        .await
        .map_err(|e| member.fail(e))?
        .0;
    let report = &s.report;
    let (changes, previous) = match &report.since_previous {
        Some(diff) => {
            let mut changes = Vec::new();
            for h in &diff.hosts_added {
                changes.push(Change {
                    what: format!("adds host {h}"),
                    widens: true,
                });
            }
            for sc in &diff.scopes_added {
                changes.push(Change {
                    what: format!("adds scope {sc}"),
                    widens: true,
                });
            }
            for h in &diff.hosts_removed {
                changes.push(Change {
                    what: format!("drops host {h}"),
                    widens: false,
                });
            }
            for sc in &diff.scopes_removed {
                changes.push(Change {
                    what: format!("drops scope {sc}"),
                    widens: false,
                });
            }
            (changes, Some(diff.previous_version.clone()))
        }
        None => (Vec::new(), None),
    };
    let page = SubmissionPage {
        nav: member.nav(),
        state: s.summary.state.replace('_', " "),
        size: format!("{:.1} KiB", report.size as f64 / 1024.0),
        hosts: report.hosts.clone(),
        scopes: report
            .scopes
            .iter()
            .flat_map(|(p, all)| {
                if all.is_empty() {
                    vec![format!("{p} (the account, no scopes)")]
                } else {
                    all.iter().map(|sc| format!("{p}: {sc}")).collect()
                }
            })
            .collect(),
        changes,
        previous,
        examples: report
            .examples
            .iter()
            .map(|(action, run)| ExampleLine {
                action: action.clone(),
                ok: run.outcome == "ok",
                outcome: run.outcome.clone(),
                fuel: run.fuel,
            })
            .collect(),
        events: s
            .events
            .iter()
            .map(|e| EventLine {
                change: match &e.from {
                    Some(from) => {
                        format!("{} → {}", from.replace('_', " "), e.to.replace('_', " "))
                    }
                    None => format!("submitted ({})", e.to.replace('_', " ")),
                },
                actor: e.actor.clone(),
                reason: e.reason.clone(),
                at: when(e.at),
            })
            .collect(),
        reviewer: member.caller.0.can(Scope::Review),
        pending: s.summary.state == "pending_review",
        approved: s.summary.state == "approved",
        notice,
        error: error.as_ref().map(|(_, m)| m.clone()),
        s,
    };
    let status = error.map_or(StatusCode::OK, |(status, _)| status);
    Ok((status, render(&page)).into_response())
}

/// `?done=` after a reviewer's action: what happened, by code.
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// What a reviewer's action did, for people.
fn done(code: &str) -> Option<&'static str> {
    Some(match code {
        "claimed" => "You claimed it: other reviewers see it is yours for now.",
        "released" => "You released it for other reviewers.",
        "approved" => "Approved and signed: it is in the marketplace.",
        "recorded" => {
            "Your approval is recorded. It widens access, so a second reviewer must approve it too."
        }
        "rejected" => "Rejected; the developer reads your reason.",
        "revoked" => "Revoked: it no longer installs or runs.",
        _ => return None,
    })
}

/// `GET /submissions/{id}`.
pub async fn submission(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response, WebError> {
    let notice = q.done.as_deref().and_then(done).map(str::to_string);
    submission_page(platform, &member, id, notice, None).await
}
