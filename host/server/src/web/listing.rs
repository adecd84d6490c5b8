//! The developer console's page for one integration its account owns or
//! co-maintains: how it is doing (installs, executions and success rate
//! over 30 days, ratings), its marketplace listing to edit, its icon, and
//! its co-maintainers. Each part goes through the API's handler with the
//! same checks ([`crate::api::listings`], [`crate::api::publishers`]):
//!
//! - `GET /developer/integrations/{name}`: anyone but its owner and
//!   co-maintainers gets the API's 404;
//! - `POST /developer/integrations/{name}/listing`: summary, Markdown
//!   description, categories, price (dollars as typed, read exactly), and
//!   notes per approved version;
//! - `POST /developer/integrations/{name}/icon`: a PNG, JPEG or WebP
//!   upload;
//! - `POST /developer/integrations/{name}/maintainers`: add one by email
//!   (the owner only);
//! - `POST /developer/integrations/{name}/maintainers/{account}/remove`.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;

use workway_engine::billing::tariff::{read_cents, show_cents};
use workway_engine::marketplace::listings::CATEGORIES;
use workway_engine::platform::Platform;

use super::error::{WebError, answered_on_form};
use super::layout::{Nav, encode, render, when};
use super::session::{Member, WebForm, WebUpload};
use crate::api::body::ApiJson;
use crate::api::error::ApiError;
use crate::api::listings::{self, ListingView, PutListing};
use crate::api::publishers::{self, AddMaintainer};

/// The listing's fields as the form shows them: the stored listing, or
/// what was just posted when it was refused.
struct Draft {
    summary: String,
    description: String,
    categories: Vec<String>,
    price: String,
    /// Notes per approved version, newest first.
    changelog: Vec<(String, String)>,
}

impl Draft {
    fn of(listing: &ListingView) -> Draft {
        Draft {
            summary: listing.summary.clone(),
            description: listing.description.markdown.clone(),
            categories: listing.categories.clone(),
            price: listing
                .pricing
                .upfront_cents
                .map(show_cents)
                .unwrap_or_default(),
            changelog: listing
                .versions
                .iter()
                .map(|v| (v.version.clone(), v.changelog.clone().unwrap_or_default()))
                .collect(),
        }
    }

    fn posted(form: &WebForm, listing: &ListingView) -> Draft {
        Draft {
            summary: form.get("summary").to_string(),
            description: form.get("description").to_string(),
            categories: form
                .all("category")
                .into_iter()
                .map(str::to_string)
                .collect(),
            price: form.get("price").to_string(),
            changelog: listing
                .versions
                .iter()
                .map(|v| {
                    let notes = form.get(&changelog_field(&v.version)).to_string();
                    (v.version.clone(), notes)
                })
                .collect(),
        }
    }
}

/// The form field holding `version`'s notes.
fn changelog_field(version: &str) -> String {
    format!("changelog:{version}")
}

/// A co-maintainer as the page lists them.
struct MaintainerLine {
    account_id: String,
    name: String,
    added: String,
}

/// The page.
#[derive(Template)]
#[template(path = "developer_integration.html")]
struct IntegrationPage {
    nav: Nav,
    listing: ListingView,
    draft: Draft,
    categories: Vec<(&'static str, bool)>,
    installs: String,
    success: String,
    rating: String,
    owner: bool,
    maintainers: Vec<MaintainerLine>,
    notice: Option<&'static str>,
    error: Option<String>,
}

/// `?done=` on the page.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// What `?done=` reports.
fn done_notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "listing" => "The listing is saved: the marketplace shows it now.",
        "icon" => "The icon is saved.",
        "added" => "Co-maintainer added: they may submit new versions.",
        "removed" => "Co-maintainer removed.",
        _ => return None,
    })
}

/// Integration `name`'s console page for `member`: `draft` in the form
/// when a save was refused with `error`.
async fn page(
    platform: Arc<Platform>,
    member: &Member,
    name: String,
    notice: Option<&'static str>,
    refused: Option<(StatusCode, String, Option<Draft>)>,
) -> Result<Response, WebError> {
    // Its owner and co-maintainers only: the API answers 404 to anyone else.
    let team = publishers::list_maintainers(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let listing = listings::show(State(platform.clone()), member.caller.clone(), Path(name))
        .await
        .map_err(|e| member.fail(e))?
        .0;
    let mut maintainers = Vec::with_capacity(team.maintainers.len());
    for m in team.maintainers {
        let name = platform
            .store
            .accounts()
            .get(&m.account_id)
            .await
            .map_err(|e| member.fail(ApiError::from(e)))?
            .map(|a| a.display_name)
            .unwrap_or_else(|| "a former account".to_string());
        maintainers.push(MaintainerLine {
            account_id: m.account_id,
            name,
            added: when(m.added_at),
        });
    }
    let (status, error, draft) = match refused {
        Some((status, message, draft)) => (status, Some(message), draft),
        None => (StatusCode::OK, None, None),
    };
    let draft = draft.unwrap_or_else(|| Draft::of(&listing));
    let figures = &listing.figures;
    let page = IntegrationPage {
        nav: member.nav(),
        categories: CATEGORIES
            .iter()
            .map(|c| (*c, draft.categories.iter().any(|d| d == c)))
            .collect(),
        draft,
        installs: format!(
            "{} now, {} ever",
            figures.installs.current, figures.installs.total
        ),
        success: match figures.success_rate {
            Some(rate) => format!(
                "{:.1}% of {} executions in 30 days, median {} ms",
                rate * 100.0,
                figures.executions_30d,
                figures.p50_latency_ms.unwrap_or(0)
            ),
            None => "no executions in the last 30 days".to_string(),
        },
        rating: match figures.rating.average {
            Some(avg) => format!("{avg:.1} out of 5 ({} ratings)", figures.rating.count),
            None => "no ratings yet".to_string(),
        },
        owner: team.owner == member.caller.0.account_id,
        maintainers,
        notice,
        error,
        listing,
    };
    let mut response = render(&page);
    *response.status_mut() = status;
    Ok(response)
}

/// `GET /developer/integrations/{name}`.
pub async fn show(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Path(name): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, WebError> {
    let notice = done.done.as_deref().and_then(done_notice);
    page(platform, &member, name, notice, None).await
}

/// Back to the page saying what was `done`, or the page again with what
/// was refused (and, for the listing, what was typed).
async fn after(
    platform: Arc<Platform>,
    member: &Member,
    name: String,
    outcome: Result<&'static str, ApiError>,
    draft: Option<Draft>,
) -> Result<Response, WebError> {
    match outcome {
        Ok(done) => Ok(Redirect::to(&format!(
            "/developer/integrations/{}?done={done}",
            encode(&name)
        ))
        .into_response()),
        Err(e) if answered_on_form(&e) => {
            let refused = (e.status(), e.message().to_string(), draft);
            page(platform, member, name, None, Some(refused)).await
        }
        Err(e) => Err(member.fail(e)),
    }
}

/// `POST /developer/integrations/{name}/listing`.
pub async fn save_listing(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let listing = listings::show(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let draft = Draft::posted(&form, &listing);
    let price = draft.price.trim();
    let price_cents = if price.is_empty() || price.eq_ignore_ascii_case("free") {
        Value::Null
    } else if let Some(cents) = read_cents(price) {
        Value::from(cents)
    } else {
        let refused = ApiError::invalid(
            "price",
            format!(
                "`{}` is not a price: write dollars and cents such as 19.00, or leave it empty for free",
                price.chars().take(40).collect::<String>()
            ),
        );
        return after(platform, &member, name, Err(refused), Some(draft)).await;
    };
    let body = PutListing {
        summary: draft.summary.clone(),
        description: draft.description.clone(),
        categories: draft.categories.clone(),
        price_cents,
        changelog: draft
            .changelog
            .iter()
            .filter(|(_, notes)| !notes.trim().is_empty())
            .cloned()
            .collect::<BTreeMap<_, _>>(),
    };
    let outcome = listings::put(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
        ApiJson(body),
    )
    .await
    .map(|_| "listing");
    after(platform, &member, name, outcome, Some(draft)).await
}

/// `POST /developer/integrations/{name}/icon`: the file in `icon`, sent
/// to the API with the type the browser gave it.
pub async fn save_icon(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    upload: WebUpload,
) -> Result<Response, WebError> {
    let member = upload.member.clone();
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(upload.content_type("icon")) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    let outcome = listings::put_icon(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
        headers,
        Bytes::copy_from_slice(upload.bytes("icon")),
    )
    .await
    .map(|_| "icon");
    after(platform, &member, name, outcome, None).await
}

/// `POST /developer/integrations/{name}/maintainers`: `email`.
pub async fn add_maintainer(
    State(platform): State<Arc<Platform>>,
    Path(name): Path<String>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let body = ApiJson(AddMaintainer {
        email: form.get("email").to_string(),
    });
    let outcome = publishers::add_maintainer(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
        body,
    )
    .await
    .map(|_| "added");
    after(platform, &member, name, outcome, None).await
}

/// `POST /developer/integrations/{name}/maintainers/{account}/remove`.
pub async fn remove_maintainer(
    State(platform): State<Arc<Platform>>,
    Path((name, account)): Path<(String, String)>,
    form: WebForm,
) -> Result<Response, WebError> {
    let member = form.member()?;
    let outcome = publishers::remove_maintainer(
        State(platform.clone()),
        member.caller.clone(),
        Path((name.clone(), account)),
    )
    .await
    .map(|_| "removed");
    after(platform, &member, name, outcome, None).await
}
