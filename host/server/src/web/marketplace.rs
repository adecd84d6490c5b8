//! The marketplace: search with filters and an order, a page at a time,
//! and an integration's page: what it may do in plain words, its price,
//! installs, success rate, ratings, reviews with the publisher's replies,
//! and its versions.
//!
//! - `GET /marketplace?q=&category=&price=&provider=&sort=&cursor=`;
//! - `GET /marketplace/{name}?reviews=&done=`, with the viewer's own
//!   review to write or edit once they may ([`super::ratings`] takes the
//!   forms), a reply form on reviews for the publisher, and a hide form
//!   on each review for admins.
//!
//! Both call the API's handlers ([`crate::api::integrations::list`],
//! [`crate::api::listings::show`], [`crate::api::ratings::list_reviews`])
//! and render what they answer: the same checks, the same data.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;

use workway_engine::accounts::Scope;
use workway_engine::marketplace::listings::CATEGORIES;
use workway_engine::platform::Platform;
use workway_registry::manifest::KNOWN_PROVIDERS;

use super::error::WebError;
use super::installations::{Grant, grants};
use super::layout::{Nav, encode, render, when};
use super::session::Member;
use crate::api::consent::{self, ConsentQuery};
use crate::api::error::ApiError;
use crate::api::installations;
use crate::api::integrations::{self, SearchParams, SearchResultView};
use crate::api::listings::{self, ListingView};
use crate::api::purchases;
use crate::api::ratings::{self, ListQuery, ReviewView};

/// One choice of a filter's drop-down.
struct Choice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

fn choices(options: &[(&'static str, &'static str)], current: Option<&str>) -> Vec<Choice> {
    options
        .iter()
        .map(|&(value, label)| Choice {
            value,
            label,
            selected: current == Some(value),
        })
        .collect()
}

/// A search result as a row shows it.
struct ResultLine {
    name: String,
    version: String,
    summary: String,
    categories: String,
    price: String,
    publisher: String,
    verified: bool,
    installs: String,
    rating: String,
    icon_url: Option<String>,
}

/// `n` installs, in words: `1 install`, `12 installs`.
fn installs(n: i64) -> String {
    format!("{n} install{}", if n == 1 { "" } else { "s" })
}

impl From<SearchResultView> for ResultLine {
    fn from(r: SearchResultView) -> Self {
        ResultLine {
            price: r
                .price_cents
                .map(workway_engine::billing::tariff::show_cents)
                .unwrap_or_else(|| "Free".to_string()),
            publisher: r.publisher.unwrap_or_else(|| "Workway".to_string()),
            rating: match r.rating_tenths {
                Some(t) => format!("{}.{} ★ ({})", t / 10, t % 10, r.rating_count),
                None => "no ratings yet".to_string(),
            },
            categories: r.categories.join(", "),
            name: r.name,
            version: r.version,
            summary: r.summary,
            verified: r.verified,
            installs: installs(r.installs),
            icon_url: r.icon_url,
        }
    }
}

/// The search page.
#[derive(Template)]
#[template(path = "marketplace.html")]
struct SearchPage {
    nav: Nav,
    q: String,
    categories: Vec<Choice>,
    prices: Vec<Choice>,
    providers: Vec<Choice>,
    sorts: Vec<Choice>,
    results: Vec<ResultLine>,
    error: Option<String>,
    next_page: Option<String>,
    searched: bool,
}

/// The query string of the next page: this search with `cursor`.
fn next_page(params: &SearchParams, cursor: &str) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let given = [
        ("q", &params.q),
        ("category", &params.category),
        ("price", &params.price),
        ("provider", &params.provider),
        ("sort", &params.sort),
    ];
    for (name, value) in given {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            query.append_pair(name, v);
        }
    }
    query.append_pair("cursor", cursor);
    format!("/marketplace?{}", query.finish())
}

/// `GET /marketplace`.
pub async fn search(
    State(platform): State<Arc<Platform>>,
    member: Member,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Response, WebError> {
    let params = match params {
        Ok(Query(p)) => p,
        Err(rejection) => {
            return Err(member.fail(WebError::bad_request(format!(
                "this search's address is not one the marketplace makes ({}): start a new search",
                rejection.body_text()
            ))));
        }
    };
    let answer = integrations::list(
        State(platform),
        member.caller.clone(),
        Ok(Query(params.clone())),
    )
    .await;
    let (results, next, error, status) = match answer {
        Ok(page) => {
            let page = page.0;
            let next = page.next_cursor.as_deref().map(|c| next_page(&params, c));
            (
                page.items.into_iter().map(ResultLine::from).collect(),
                next,
                None,
                200,
            )
        }
        Err(e) if e.status().is_client_error() && e.field().is_some() => {
            (Vec::new(), None, Some(e.message().to_string()), 400)
        }
        Err(e) => return Err(member.fail(e)),
    };
    let category_options: Vec<(&'static str, &'static str)> =
        CATEGORIES.iter().map(|c| (*c, *c)).collect();
    let provider_options: Vec<(&'static str, &'static str)> =
        KNOWN_PROVIDERS.iter().map(|p| (*p, *p)).collect();
    let page = SearchPage {
        nav: member.nav(),
        searched: params.q.as_deref().is_some_and(|q| !q.is_empty())
            || params.category.is_some()
            || params.price.is_some()
            || params.provider.is_some(),
        q: params.q.clone().unwrap_or_default(),
        categories: choices(&category_options, params.category.as_deref()),
        prices: choices(
            &[("free", "Free"), ("paid", "Paid")],
            params.price.as_deref(),
        ),
        providers: choices(&provider_options, params.provider.as_deref()),
        sorts: choices(
            &[
                ("relevance", "Best match"),
                ("installs", "Most installed"),
                ("rating", "Best rated"),
                ("newest", "Newest"),
            ],
            params.sort.as_deref(),
        ),
        results,
        error,
        next_page: next,
    };
    let mut response = render(&page);
    *response.status_mut() =
        axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::OK);
    Ok(response)
}

/// `?reviews=&done=` on an integration's page: the reviews' page
/// cursor, and what a review form just did.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    pub(super) reviews: Option<String>,
    pub(super) done: Option<String>,
}

/// What the page says above the reviews after a form: what was done, or
/// what was refused (with the status the page is sent with).
#[derive(Debug, Default)]
pub(super) struct Feedback {
    pub(super) notice: Option<&'static str>,
    pub(super) error: Option<(axum::http::StatusCode, String)>,
}

/// What `?done=` reports.
fn done_notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "reviewed" => "Your review is saved.",
        "deleted" => "Your review is deleted.",
        "replied" => "Your reply is posted.",
        "hidden" => "The review is hidden from everyone but its author.",
        _ => return None,
    })
}

/// One bar of the rating histogram.
struct StarBar {
    stars: i64,
    count: i64,
    total: i64,
}

/// A review as the page shows it.
struct ReviewLine {
    id: String,
    author: String,
    stars: String,
    title: Option<String>,
    body: String,
    when: String,
    reply: Option<(String, String)>,
    mine: bool,
    /// Why it is hidden, for its author and admins.
    hidden: Option<String>,
}

impl From<ReviewView> for ReviewLine {
    fn from(r: ReviewView) -> Self {
        let stars = usize::try_from(r.rating.clamp(0, 5)).unwrap_or(0);
        ReviewLine {
            id: r.id,
            author: r.author.unwrap_or_else(|| "a former account".to_string()),
            stars: format!("{}{}", "★".repeat(stars), "☆".repeat(5 - stars)),
            title: r.title,
            body: r.body,
            when: when(r.updated_at),
            reply: r.reply.map(|reply| (reply.body, when(reply.at))),
            mine: r.mine,
            hidden: r.hidden.map(|h| format!("{}: {}", when(h.at), h.reason)),
        }
    }
}

/// The viewer's own review as its form shows it (empty before they
/// wrote one).
#[derive(Default)]
struct MyReview {
    rating: i64,
    title: String,
    body: String,
    written: bool,
}

/// An integration's page.
#[derive(Template)]
#[template(path = "integration.html")]
struct IntegrationPage {
    nav: Nav,
    listing: ListingView,
    publisher: String,
    verified: bool,
    price: String,
    permissions: Vec<Grant>,
    installed: bool,
    bought: bool,
    installs: String,
    success: String,
    rating: String,
    bars: Vec<StarBar>,
    reviews: Vec<ReviewLine>,
    more_reviews: Option<String>,
    versions: Vec<(String, String, Option<String>)>,
    mine: MyReview,
    /// Whether the viewer publishes it (and may reply to reviews).
    publisher_viewing: bool,
    /// Whether the viewer is an admin (and may hide reviews).
    admin: bool,
    notice: Option<&'static str>,
    error: Option<String>,
}

/// A fraction from 0 to 1 as a percentage with one decimal.
fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// `GET /marketplace/{name}`.
pub async fn integration(
    State(platform): State<Arc<Platform>>,
    member: Member,
    Path(name): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Response, WebError> {
    let feedback = Feedback {
        notice: page.done.as_deref().and_then(done_notice),
        error: None,
    };
    integration_page(platform, &member, name, page.reviews, feedback).await
}

/// Integration `name`'s page for `member`, its reviews from `cursor`,
/// with `feedback` from a review form.
pub(super) async fn integration_page(
    platform: Arc<Platform>,
    member: &Member,
    name: String,
    cursor: Option<String>,
    feedback: Feedback,
) -> Result<Response, WebError> {
    let listing = listings::show(
        State(platform.clone()),
        member.caller.clone(),
        Path(name.clone()),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    let reviews = ratings::list_reviews(
        State(platform.clone()),
        member.caller.clone(),
        Path(name),
        Ok(Query(ListQuery {
            limit: Some("10".to_string()),
            cursor,
        })),
    )
    .await
    .map_err(|e| member.fail(e))?
    .0;
    // What it may do, as the consent screen will say it (the listing's
    // own lists when the newest version cannot be installed).
    let permissions = match consent::show(
        State(platform.clone()),
        member.caller.clone(),
        Path(listing.name.clone()),
        Ok(Query(ConsentQuery::default())),
    )
    .await
    {
        Ok(c) => grants(&c.0.hosts, &c.0.scopes),
        Err(_) => {
            let mut scopes: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for s in &listing.scopes {
                scopes
                    .entry(s.provider.clone())
                    .or_default()
                    .push(s.scope.clone());
            }
            grants(&listing.hosts, &scopes)
        }
    };
    let installed = installations::list(State(platform.clone()), member.caller.clone())
        .await
        .map_err(|e| member.fail(e))?
        .0
        .iter()
        .any(|i| i.installation.integration == listing.name);
    let bought = purchases::list(State(platform.clone()), member.caller.clone())
        .await
        .map_err(|e| member.fail(e))?
        .0
        .items
        .iter()
        .any(|p| p.integration == listing.name && p.state == "paid");
    // The viewer's own review, for its form (the store's row of this
    // account's review, which is what the API would list as `mine`).
    let mine = platform
        .store
        .ratings()
        .find(&listing.name, member.caller.0.owner())
        .await
        .map_err(|e| member.fail(ApiError::from(e)))?
        .map(|r| MyReview {
            rating: r.rating,
            title: r.title.unwrap_or_default(),
            body: r.body,
            written: true,
        });
    let figures = &listing.figures;
    let total = reviews.summary.count;
    let bars = (1..=5)
        .rev()
        .map(|stars| StarBar {
            stars,
            count: usize::try_from(stars - 1)
                .ok()
                .and_then(|i| reviews.summary.histogram.get(i).copied())
                .unwrap_or(0),
            total,
        })
        .collect();
    let page = IntegrationPage {
        nav: member.nav(),
        publisher: listing
            .publisher
            .as_ref()
            .and_then(|p| p.profile.as_ref().map(|p| p.display_name.clone()))
            .unwrap_or_else(|| "Workway".to_string()),
        verified: listing.publisher.as_ref().is_some_and(|p| p.verified),
        price: if listing.pricing.upfront_cents.is_some() {
            listing.pricing.display.clone()
        } else {
            "Free".to_string()
        },
        permissions,
        installed,
        bought,
        installs: installs(figures.installs.current),
        success: figures
            .success_rate
            .map(|r| {
                format!(
                    "{} of {} runs in 30 days",
                    percent(r),
                    figures.executions_30d
                )
            })
            .unwrap_or_else(|| "no runs in the last 30 days".to_string()),
        rating: match reviews.summary.average_hundredths {
            Some(h) => format!("{}.{:02} out of 5 ({total} ratings)", h / 100, h % 100),
            None => "no ratings yet".to_string(),
        },
        bars,
        more_reviews: reviews.next_cursor.map(|c| {
            format!(
                "/marketplace/{}?reviews={}",
                encode(&listing.name),
                encode(&c)
            )
        }),
        reviews: reviews.reviews.into_iter().map(ReviewLine::from).collect(),
        mine: mine.unwrap_or_default(),
        publisher_viewing: listing
            .publisher
            .as_ref()
            .is_some_and(|p| p.account_id == member.caller.0.account_id),
        admin: member.caller.0.can(Scope::Admin),
        notice: feedback.notice,
        error: feedback.error.as_ref().map(|(_, m)| m.clone()),
        versions: listing
            .versions
            .iter()
            .map(|v| (v.version.clone(), when(v.approved_at), v.changelog.clone()))
            .collect(),
        listing,
    };
    let mut response = render(&page);
    if let Some((status, _)) = feedback.error {
        *response.status_mut() = status;
    }
    Ok(response)
}
