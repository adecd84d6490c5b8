//! The account's connections to providers.
//!
//! - `GET /connections`: every connection (provider, account, scopes,
//!   status), a "Connect" button per provider an installed integration
//!   uses (the OAuth flow in the browser: `GET
//!   /v1/connections/{provider}/connect`, which sends the browser to the
//!   provider and back to the API's callback, which sends it here with
//!   the outcome), and a form for a key the user holds;
//! - `POST /connections/key`: connect with a pasted key;
//! - `POST /connections/{id}/disconnect`.
//!
//! Each calls the API's handler ([`crate::api::connections`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use workway_engine::platform::Platform;
use workway_registry::manifest::KNOWN_PROVIDERS;

use super::error::WebError;
use super::installations::capitalized;
use super::layout::{Nav, encode, render, when};
use super::session::{Member, WebForm};
use crate::api::body::ApiJson;
use crate::api::connections::{self, ConnectKey, ConnectionView};
use crate::api::consent::{self, ConsentQuery};
use crate::api::error::ApiError;
use crate::api::installations;

/// `?connected=` or `?failed=` after the OAuth flow.
#[derive(Debug, Default, Deserialize)]
pub struct Outcome {
    connected: Option<String>,
    failed: Option<String>,
}

/// A connection as the page lists it.
struct ConnectionLine {
    id: String,
    provider: String,
    account: String,
    scopes: String,
    status: String,
    since: String,
}

impl From<ConnectionView> for ConnectionLine {
    fn from(c: ConnectionView) -> Self {
        ConnectionLine {
            status: match (c.status, c.status_reason) {
                ("active", _) => "connected".to_string(),
                (_, Some(reason)) => format!("connect again: {reason}"),
                (status, None) => status.to_string(),
            },
            account: c.account.unwrap_or_else(|| "an account".to_string()),
            scopes: if c.scopes.is_empty() {
                "no scopes".to_string()
            } else {
                c.scopes.join(", ")
            },
            since: when(c.created_at),
            provider: capitalized(&c.provider),
            id: c.id,
        }
    }
}

/// A provider an installed integration uses, with where to connect it.
struct ConnectLink {
    provider: String,
    integration: String,
    href: String,
}

/// The connections page.
#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    nav: Nav,
    notice: Option<String>,
    error: Option<String>,
    connections: Vec<ConnectionLine>,
    links: Vec<ConnectLink>,
    providers: Vec<(&'static str, bool)>,
    key_account: String,
    key_scopes: String,
}

/// What a failed OAuth flow's error code means, for people.
fn failure(code: &str) -> String {
    match code {
        "denied" => "You declined at the provider, so nothing was connected.",
        "provider_failed" => {
            "The provider did not complete the connection. Start connecting again."
        }
        "invalid_input" => {
            "That connection request had expired or was already used. Start connecting again."
        }
        _ => "The account could not be connected. Start connecting again.",
    }
    .to_string()
}

/// The page, with a key form's fields and error when it was refused.
async fn page(
    platform: Arc<Platform>,
    member: &Member,
    outcome: Outcome,
    key_form: Option<(&WebForm, ApiError)>,
) -> Result<Response, WebError> {
    let listed = connections::list(State(platform.clone()), member.caller.clone())
        .await
        .map_err(|e| member.fail(e))?
        .0;
    let installed = installations::list(State(platform.clone()), member.caller.clone())
        .await
        .map_err(|e| member.fail(e))?
        .0;
    let mut links = Vec::new();
    let mut seen = BTreeSet::new();
    for item in installed {
        let i = item.installation;
        let Ok(c) = consent::show(
            State(platform.clone()),
            member.caller.clone(),
            Path(i.integration.clone()),
            Ok(Query(ConsentQuery {
                version: Some(i.version.clone()),
            })),
        )
        .await
        else {
            continue;
        };
        for provider in c.0.scopes.keys() {
            if seen.insert(provider.clone()) {
                links.push(ConnectLink {
                    provider: capitalized(provider),
                    href: format!(
                        "/v1/connections/{provider}/connect?integration={}",
                        encode(&i.integration)
                    ),
                    integration: i.integration.clone(),
                });
            }
        }
    }
    let notice = outcome
        .connected
        .filter(|p| KNOWN_PROVIDERS.contains(&p.as_str()))
        .map(|p| format!("Your {} account is connected.", capitalized(&p)));
    let status = key_form
        .as_ref()
        .map_or(StatusCode::OK, |(_, e)| e.status());
    let page = ConnectionsPage {
        nav: member.nav(),
        notice,
        error: match &key_form {
            Some((_, e)) => Some(e.message().to_string()),
            None => outcome.failed.as_deref().map(failure),
        },
        connections: listed.into_iter().map(ConnectionLine::from).collect(),
        links,
        providers: KNOWN_PROVIDERS
            .iter()
            .map(|p| {
                let chosen = key_form
                    .as_ref()
                    .is_some_and(|(f, _)| f.get("provider") == *p);
                (*p, chosen)
            })
            .collect(),
        key_account: key_form
            .as_ref()
            .map(|(f, _)| f.get("account").to_string())
            .unwrap_or_default(),
        key_scopes: key_form
            .as_ref()
            .map(|(f, _)| f.get("scopes").to_string())
            .unwrap_or_default(),
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /connections`.
pub async fn list(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Query(outcome): Query<Outcome>,
) -> Result<Response, WebError> {
    page(platform, &member, outcome, None).await
}

/// `POST /connections/key`: the key is sealed at once and never shown.
pub async fn connect_key(
    State(platform): State<Arc<Platform>>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let account = form.get("account").trim();
    let body = ConnectKey {
        provider: form.get("provider").to_string(),
        secret: form.get("secret").to_string(),
        account: Some(account.to_string()).filter(|a| !a.is_empty()),
        scopes: form
            .get("scopes")
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    };
    match connections::connect(
        State(platform.clone()),
        member.caller.clone(),
        ApiJson(body),
    )
    .await
    {
        Ok((_, view)) => Ok(
            Redirect::to(&format!("/connections?connected={}", view.0.provider)).into_response(),
        ),
        Err(e) if e.status().is_client_error() => {
            page(platform, &member, Outcome::default(), Some((&form, e))).await
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// `POST /connections/{id}/disconnect`.
pub async fn disconnect(
    State(platform): State<Arc<Platform>>,
    Path(id): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    connections::disconnect(State(platform), member.caller.clone(), Path(id))
        .await
        .map_err(|e| member.fail(e))?;
    Ok(Redirect::to("/connections").into_response())
}
