//! The operators' pages (the admin role), each from the API's admin
//! handlers with the same checks:
//!
//! - `GET /admin/accounts?q=&cursor=`: accounts by email, searchable, with
//!   their roles and state ([`crate::api::admin::list`]);
//! - `POST /admin/accounts/{id}/roles`: the roles ticked
//!   ([`crate::api::admin::set_roles`]);
//! - `POST /admin/accounts/{id}/disable`, `.../enable`;
//! - `GET /admin/reviews?cursor=`: hidden reviews, with why and by whom
//!   ([`crate::api::ratings::hidden_reviews`]);
//! - `POST /admin/reviews/{id}/hide` (from an integration's page, with a
//!   reason) and `.../unhide`;
//! - `GET /admin/submissions?state=&cursor=`: submissions with every
//!   decision on them, revoked ones first offered
//!   ([`crate::api::audit::submissions`]);
//! - `GET /admin/ledger?cursor=`: whether the ledger reconciles, every
//!   account's balance, and its entries newest first
//!   ([`crate::api::billing::ledger`]).
//!
//! Anyone without the admin role gets the 403 page naming it.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use workway_engine::accounts::Role;
use workway_engine::billing::tariff::show_mills;
use workway_engine::platform::Platform;
use workway_store::submissions::SubmissionState;

use super::error::{WebError, answered_on_form};
use super::layout::{Nav, encode, render, when};
use super::session::{Member, WebForm};
use crate::api::admin::{self, AccountQuery, ManagedAccountView, SetRoles};
use crate::api::audit::{self, AuditQuery, AuditedSubmission};
use crate::api::billing::{self, PageQuery};
use crate::api::body::ApiJson;
use crate::api::error::ApiError;
use crate::api::ratings::{self, HideReview, ListQuery, ReviewView};

/// An account as the accounts page lists it.
struct AccountLine {
    id: String,
    email: String,
    name: String,
    /// Each role with whether the account holds it (`user` is not offered:
    /// every account is one).
    roles: Vec<(&'static str, bool)>,
    created: String,
    disabled: Option<String>,
    /// Whether this is the admin looking (no disabling oneself).
    me: bool,
}

impl AccountLine {
    fn of(account: ManagedAccountView, me: &str) -> AccountLine {
        AccountLine {
            me: account.id == me,
            roles: Role::ALL
                .into_iter()
                .filter(|r| *r != Role::User)
                .map(|r| (r.as_str(), account.roles.contains(&r)))
                .collect(),
            created: when(account.created_at),
            disabled: account.disabled_at.map(when),
            id: account.id,
            email: account.email,
            name: account.display_name,
        }
    }
}

/// The accounts page.
#[derive(Template)]
#[template(path = "admin_accounts.html")]
struct AccountsPage {
    nav: Nav,
    q: String,
    accounts: Vec<AccountLine>,
    next_page: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

/// `?q=&cursor=&done=` on the accounts page.
#[derive(Debug, Default, Deserialize)]
pub struct AccountsQuery {
    q: Option<String>,
    cursor: Option<String>,
    done: Option<String>,
}

/// What a change to an account reports back on the accounts page.
fn account_notice(done: &str) -> Option<String> {
    let text = match done {
        "roles" => "Roles saved.",
        "disabled" => "Account disabled: its sessions ended and its tokens stopped working.",
        "enabled" => "Account enabled: it may sign in again.",
        _ => return None,
    };
    Some(text.to_string())
}

/// The accounts page for `member`, with an error from a refused change.
async fn accounts_page(
    platform: Arc<Platform>,
    member: &Member,
    query: AccountsQuery,
    error: Option<String>,
) -> Result<Response, WebError> {
    let q = query.q.unwrap_or_default();
    let page = admin::list(
        State(platform),
        member.caller.clone(),
        Ok(Query(AccountQuery {
            q: Some(q.clone()),
            limit: None,
            cursor: query.cursor.filter(|c| !c.is_empty()),
        })),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let me = member.caller.0.account_id.clone();
    Ok(render(&AccountsPage {
        nav: member.nav(),
        next_page: page
            .next_cursor
            .map(|c| format!("/admin/accounts?q={}&cursor={}", encode(&q), encode(&c))),
        accounts: page
            .accounts
            .into_iter()
            .map(|a| AccountLine::of(a, &me))
            .collect(),
        notice: query.done.as_deref().and_then(account_notice),
        error,
        q,
    }))
}

/// `GET /admin/accounts`.
pub async fn accounts(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Query(query): Query<AccountsQuery>,
) -> Result<Response, WebError> {
    accounts_page(platform, &member, query, None).await
}

/// `POST /admin/accounts/{id}/{action}`: `roles` (the ticked `role`
/// boxes), `disable` or `enable`; back to the accounts page searched for
/// the account, saying what happened, or what was refused.
pub async fn account_action(
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
    let outcome = match action.as_str() {
        "roles" => {
            let roles = form.all("role").into_iter().map(str::to_string).collect();
            admin::set_roles(state, caller, path, ApiJson(SetRoles { roles }))
                .await
                .map(|a| ("roles", a.0))
        }
        "disable" => admin::disable(state, caller, path)
            .await
            .map(|a| ("disabled", a.0)),
        "enable" => admin::enable(state, caller, path)
            .await
            .map(|a| ("enabled", a.0)),
        _ => return Err(member.fail(ApiError::not_found("account action"))),
    };
    match outcome {
        Ok((done, account)) => Ok(Redirect::to(&format!(
            "/admin/accounts?q={}&done={done}",
            encode(&account.email)
        ))
        .into_response()),
        Err(e) if answered_on_form(&e) => {
            let message = e.message().to_string();
            let query = AccountsQuery {
                q: Some(form.get("q").to_string()),
                ..AccountsQuery::default()
            };
            let mut page = accounts_page(platform, &member, query, Some(message)).await?;
            *page.status_mut() = e.status();
            Ok(page)
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// A hidden review as the moderation page lists it.
struct HiddenLine {
    id: String,
    integration: String,
    author: String,
    rating: i64,
    title: String,
    body: String,
    hidden: String,
    reason: String,
}

impl From<ReviewView> for HiddenLine {
    fn from(r: ReviewView) -> Self {
        let (hidden, reason) = r
            .hidden
            .map(|h| {
                let by = h.by.map(|b| format!(" by {b}")).unwrap_or_default();
                (format!("{}{by}", when(h.at)), h.reason)
            })
            .unwrap_or_default();
        HiddenLine {
            id: r.id,
            integration: r.integration,
            author: r.author.unwrap_or_else(|| "a deleted account".to_string()),
            rating: r.rating,
            title: r.title.unwrap_or_default(),
            body: r.body,
            hidden,
            reason,
        }
    }
}

/// The hidden reviews page.
#[derive(Template)]
#[template(path = "admin_reviews.html")]
struct ReviewsPage {
    nav: Nav,
    reviews: Vec<HiddenLine>,
    next_page: Option<String>,
    notice: bool,
}

/// `?cursor=&done=` on the hidden reviews page.
#[derive(Debug, Default, Deserialize)]
pub struct ReviewsQuery {
    cursor: Option<String>,
    done: Option<String>,
}

/// `GET /admin/reviews`.
pub async fn reviews(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Query(query): Query<ReviewsQuery>,
) -> Result<Response, WebError> {
    let page = ratings::hidden_reviews(
        State(platform),
        member.caller.clone(),
        Ok(Query(ListQuery {
            limit: None,
            cursor: query.cursor.filter(|c| !c.is_empty()),
        })),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    Ok(render(&ReviewsPage {
        nav: member.nav(),
        next_page: page
            .next_cursor
            .map(|c| format!("/admin/reviews?cursor={}", encode(&c))),
        reviews: page.reviews.into_iter().map(HiddenLine::from).collect(),
        notice: query.done.as_deref() == Some("unhidden"),
    }))
}

/// `POST /admin/reviews/{id}/{action}`: `hide` (with a `reason`; back to
/// the integration's page) or `unhide` (back to the hidden reviews).
pub async fn review_action(
    State(platform): State<Arc<Platform>>,
    Path((id, action)): Path<(String, String)>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let (state, caller, path) = (State(platform), member.caller.clone(), Path(id));
    match action.as_str() {
        "hide" => {
            let body = ApiJson(HideReview {
                reason: form.get("reason").to_string(),
            });
            let review = ratings::hide_review(state, caller, path, body)
                .await
                .map_err(|e| member.fail(e))?
                .0;
            Ok(Redirect::to(&format!(
                "/marketplace/{}?done=hidden#reviews-section",
                encode(&review.integration)
            ))
            .into_response())
        }
        "unhide" => {
            let _shown = ratings::unhide_review(state, caller, path)
                .await
                .map_err(|e| member.fail(e))?;
            Ok(Redirect::to("/admin/reviews?done=unhidden").into_response())
        }
        _ => Err(member.fail(ApiError::not_found("review action"))),
    }
}

/// A submission as the audit page lists it.
struct AuditLine {
    id: String,
    integration: String,
    version: String,
    state: String,
    submitted: String,
    /// Each decision: when, who, from and to, why.
    events: Vec<String>,
}

impl From<AuditedSubmission> for AuditLine {
    fn from(a: AuditedSubmission) -> Self {
        AuditLine {
            events: a
                .events
                .iter()
                .map(|e| {
                    let change = match &e.from {
                        Some(from) => format!("{from} → {}", e.to),
                        None => e.to.clone(),
                    };
                    let why = e
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    format!("{} {change} by {}{why}", when(e.at), e.actor)
                })
                .collect(),
            state: a.summary.state.replace('_', " "),
            submitted: when(a.summary.created_at),
            id: a.summary.id,
            integration: a.summary.integration,
            version: a.summary.version,
        }
    }
}

/// The submissions audit page.
#[derive(Template)]
#[template(path = "admin_submissions.html")]
struct SubmissionsPage {
    nav: Nav,
    /// Each state offered, with whether it is the one shown.
    states: Vec<(&'static str, bool)>,
    state: String,
    items: Vec<AuditLine>,
    next_page: Option<String>,
}

/// `?state=&cursor=` on the submissions audit page.
#[derive(Debug, Default, Deserialize)]
pub struct SubmissionsQuery {
    state: Option<String>,
    cursor: Option<String>,
}

/// `GET /admin/submissions`: revoked versions unless another state (or
/// `all`) is asked for.
pub async fn submissions(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Query(query): Query<SubmissionsQuery>,
) -> Result<Response, WebError> {
    let state = query.state.unwrap_or_else(|| "revoked".to_string());
    let page = audit::submissions(
        State(platform),
        member.caller.clone(),
        Ok(Query(AuditQuery {
            state: (state != "all").then(|| state.clone()),
            cursor: query.cursor.filter(|c| !c.is_empty()),
            ..AuditQuery::default()
        })),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let states = [
        SubmissionState::Revoked,
        SubmissionState::PendingReview,
        SubmissionState::Approved,
        SubmissionState::Rejected,
    ]
    .map(|s| (s.as_str(), s.as_str() == state))
    .to_vec();
    Ok(render(&SubmissionsPage {
        nav: member.nav(),
        next_page: page.next_cursor.map(|c| {
            format!(
                "/admin/submissions?state={}&cursor={}",
                encode(&state),
                encode(&c)
            )
        }),
        items: page.items.into_iter().map(AuditLine::from).collect(),
        states,
        state,
    }))
}

/// The ledger page.
#[derive(Template)]
#[template(path = "admin_ledger.html")]
struct LedgerPage {
    nav: Nav,
    holds: bool,
    /// What the reconciliation found, line by line.
    checks: Vec<(&'static str, String)>,
    unbalanced: Vec<String>,
    balances: Vec<(String, String)>,
    /// Each entry: when, transaction, account, kind, amount, reference.
    entries: Vec<[String; 6]>,
    next_page: Option<String>,
}

/// `?cursor=` on the ledger page.
#[derive(Debug, Default, Deserialize)]
pub struct LedgerQuery {
    cursor: Option<String>,
}

/// `GET /admin/ledger`.
pub async fn ledger(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Query(query): Query<LedgerQuery>,
) -> Result<Response, WebError> {
    let view = billing::ledger(
        State(platform),
        member.caller.clone(),
        Ok(Query(PageQuery {
            limit: Some("50".to_string()),
            cursor: query.cursor.filter(|c| !c.is_empty()),
        })),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let r = &view.reconciliation;
    Ok(render(&LedgerPage {
        nav: member.nav(),
        holds: r.holds,
        checks: vec![
            ("Entries", r.entries.to_string()),
            (
                "Sum of every entry (zero when balanced)",
                show_mills(r.sum_mills),
            ),
            ("Usage charged", show_mills(r.usage_charged_mills)),
            ("Charges posted", show_mills(r.charges_mills)),
            ("Developers' shares", show_mills(r.developer_shares_mills)),
            ("Platform's shares", show_mills(r.platform_shares_mills)),
        ],
        unbalanced: r.unbalanced.clone(),
        balances: view
            .balances
            .iter()
            .map(|b| (b.account.clone(), show_mills(b.balance_mills)))
            .collect(),
        entries: view
            .items
            .iter()
            .map(|e| {
                [
                    when(e.posted_at),
                    e.txn.clone(),
                    e.account.clone(),
                    e.kind.clone(),
                    show_mills(e.amount_mills),
                    e.reference.clone(),
                ]
            })
            .collect(),
        next_page: view
            .next_cursor
            .map(|c| format!("/admin/ledger?cursor={}", encode(&c))),
    }))
}
