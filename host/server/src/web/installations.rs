//! Installing with consent, and the account's installations.
//!
//! - `GET /marketplace/{name}/install`: the consent screen: what the
//!   newest approved version may do (each host, each account and scope
//!   with the provider's description), its price, and one button that
//!   accepts exactly that;
//! - `POST /marketplace/{name}/install`: installs, carrying the digest
//!   the screen showed (a version that changed in between is refused and
//!   shown again);
//! - `GET /installations`: the account's integrations, with the accounts
//!   each still needs connected;
//! - `POST /installations/{name}/upgrade`: to the newer version the page
//!   showed, accepting what it adds;
//! - `POST /installations/{name}/uninstall`.
//!
//! Each calls the API's handler ([`crate::api::consent::show`],
//! [`crate::api::installations`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use workway_engine::platform::Platform;
use workway_registry::scopes::scope_description;

use super::error::{WebError, answered_on_form};
use super::layout::{Nav, encode, render, when};
use super::session::{Member, WebForm};
use crate::api::body::ApiJson;
use crate::api::consent::{self, ConsentQuery, ConsentView};
use crate::api::error::ApiError;
use crate::api::installations::{self, Install, Upgrade};

/// One thing an integration may do, in words.
pub struct Grant {
    /// What, in one line.
    pub what: String,
    /// The provider's description of a scope, when there is one.
    pub detail: Option<String>,
}

/// `word` with its first letter in upper case: `slack` → `Slack`.
pub fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// What a version with `hosts` and `scopes` (by provider) may do, one
/// line each: the marketplace page and the consent screen say it alike.
pub fn grants(hosts: &[String], scopes: &BTreeMap<String, Vec<String>>) -> Vec<Grant> {
    let mut out: Vec<Grant> = hosts
        .iter()
        .map(|host| Grant {
            what: format!("Send requests to {host}"),
            detail: None,
        })
        .collect();
    for (provider, scopes) in scopes {
        if scopes.is_empty() {
            out.push(Grant {
                what: format!("Use your {} account", capitalized(provider)),
                detail: None,
            });
        }
        for scope in scopes {
            out.push(Grant {
                what: format!("Use your {} account: {scope}", capitalized(provider)),
                detail: scope_description(provider, scope).map(str::to_string),
            });
        }
    }
    if out.is_empty() {
        out.push(Grant {
            what: "Nothing outside Workway: it reaches no host and no account".to_string(),
            detail: None,
        });
    }
    out
}

/// The consent screen.
#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    nav: Nav,
    consent: ConsentView,
    grants: Vec<Grant>,
    price: Option<String>,
    error: Option<String>,
    payment_required: bool,
}

async fn consent_page(
    platform: Arc<Platform>,
    member: &Member,
    name: String,
    error: Option<(StatusCode, String)>,
) -> Result<Response, WebError> {
    let consent = consent::show(
        State(platform),
        member.caller.clone(),
        Path(name),
        Ok(Query(ConsentQuery::default())),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let (status, error) = match error {
        Some((status, message)) => (status, Some(message)),
        None => (StatusCode::OK, None),
    };
    let payment_required = status == StatusCode::PAYMENT_REQUIRED;
    let page = ConsentPage {
        nav: member.nav(),
        grants: grants(&consent.hosts, &consent.scopes),
        price: consent
            .price_cents
            .map(workway_engine::billing::tariff::show_cents),
        consent,
        error,
        payment_required,
    };
    Ok((status, render(&page)).into_response())
}

/// `GET /marketplace/{name}/install`.
pub async fn consent(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    consent_page(platform, &member, name, None).await
}

/// `POST /marketplace/{name}/install`.
pub async fn install(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let body = Install {
        integration: name.clone(),
        version: Some(form.get("version").to_string()).filter(|v| !v.is_empty()),
        config: BTreeMap::new(),
        accept: Some(form.get("accept").to_string()),
    };
    match installations::install(
        State(platform.clone()),
        member.caller.clone(),
        ApiJson(body),
    )
    .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/installations?installed={}", encode(&name))).into_response(),
        ),
        Err(e) if answered_on_form(&e) => {
            let message = if e.code() == "consent_required" {
                "What this integration may do changed since the page was shown: read it again, then install.".to_string()
            } else {
                e.message().to_string()
            };
            consent_page(platform, &member, name, Some((e.status(), message))).await
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// A newer approved version waiting for an installation.
struct UpdateLine {
    version: String,
    digest: String,
    /// What it adds to what was accepted, in words (widening access).
    added: Vec<String>,
}

/// An installation as the list shows it.
struct InstalledLine {
    integration: String,
    version: String,
    since: String,
    update: Option<UpdateLine>,
    providers: Vec<(String, bool)>,
}

/// `?installed=` after an install, `?uninstalled=&affected=` after an
/// uninstall.
#[derive(Debug, Deserialize)]
pub struct Installed {
    installed: Option<String>,
    upgraded: Option<String>,
    to: Option<String>,
    uninstalled: Option<String>,
    affected: Option<u32>,
}

/// The installations page.
#[derive(Template)]
#[template(path = "installations.html")]
struct InstallationsPage {
    nav: Nav,
    installed: Option<String>,
    uninstalled: Option<String>,
    upgraded: Option<String>,
    items: Vec<InstalledLine>,
}

/// `GET /installations`.
pub async fn list(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Query(q): Query<Installed>,
) -> Result<Response, WebError> {
    let listed = installations::list(State(platform.clone()), member.caller.clone())
        .await
        .map_err(|e| member.fail(e))?
        .0;
    let connected: Vec<String> =
        crate::api::connections::list(State(platform.clone()), member.caller.clone())
            .await
            .map_err(|e| member.fail(e))?
            .0
            .into_iter()
            .filter(|c| c.status == "active")
            .map(|c| c.provider)
            .collect();
    let mut items = Vec::new();
    for item in listed {
        let i = item.installation;
        let consent = consent::show(
            State(platform.clone()),
            member.caller.clone(),
            Path(i.integration.clone()),
            Ok(Query(ConsentQuery {
                version: Some(i.version.clone()),
            })),
        )
        .await;
        let providers = match consent {
            Ok(c) => {
                c.0.scopes
                    .keys()
                    .map(|p| (p.clone(), connected.contains(p)))
                    .collect()
            }
            // A revoked version still shows; it names no accounts.
            Err(_) => Vec::new(),
        };
        items.push(InstalledLine {
            update: item.update.map(|u| UpdateLine {
                added: grants(&u.added.hosts, &u.added.scopes)
                    .into_iter()
                    .filter(|_| u.consent_required)
                    .map(|g| g.what)
                    .collect(),
                version: u.consent.version,
                digest: u.consent.consent_digest,
            }),
            since: when(i.created_at),
            integration: i.integration,
            version: i.version,
            providers,
        });
    }
    Ok(render(&InstallationsPage {
        nav: member.nav(),
        upgraded: q
            .upgraded
            .zip(q.to)
            .filter(|(n, v)| items.iter().any(|i| &i.integration == n && &i.version == v))
            .map(|(n, v)| format!("{n} now runs version {v}.")),
        installed: q
            .installed
            .filter(|n| items.iter().any(|i| &i.integration == n)),
        uninstalled: q
            .uninstalled
            .filter(|n| {
                n.len() <= 64
                    && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                    && !items.iter().any(|i| &i.integration == n)
            })
            .map(|n| match q.affected.unwrap_or(0) {
                0 => format!("{n} is uninstalled."),
                1 => format!("{n} is uninstalled. One of your workflows uses it: it cannot run until you install it again or change it."),
                k => format!("{n} is uninstalled. {k} of your workflows use it: they cannot run until you install it again or change them."),
            }),
        items,
    }))
}

/// `POST /installations/{name}/upgrade`: to the newer version the page
/// showed, accepting what it adds (the digest of its consent summary).
pub async fn upgrade(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let body = Upgrade {
        accept: Some(form.get("accept").to_string()).filter(|a| !a.is_empty()),
    };
    let upgraded = installations::upgrade(
        State(platform),
        member.caller.clone(),
        Path(name.clone()),
        ApiJson(body),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    Ok(Redirect::to(&format!(
        "/installations?upgraded={}&to={}",
        encode(&name),
        encode(&upgraded.installation.version)
    ))
    .into_response())
}

/// `POST /installations/{name}/uninstall`.
pub async fn uninstall(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let gone = installations::uninstall(State(platform), member.caller.clone(), Path(name))
        .await
        .map_err(|e: ApiError| member.fail(e))?
        .0;
    Ok(Redirect::to(&format!(
        "/installations?uninstalled={}&affected={}",
        encode(&gone.integration),
        gone.workflows.len()
    ))
    .into_response())
}
