//! The marketplace: integrations with an approved, not revoked version,
//! for any account (the `read` scope).
//!
//! - `GET /v1/integrations` → the search: words, filters (category,
//!   price, provider), an order (relevance, installs, rating, newest) and
//!   keyset pages (`{items, next_cursor}`), answered by the store's
//!   search documents ([`workway_store::search`]);
//! - `GET /v1/integrations/{name}` → that version with its actions, the
//!   hosts it may call and the OAuth scopes it asks for;
//! - `GET /v1/integrations/{name}/versions` → every approved version,
//!   newest first.
//!
//! A name with no approved version answers 404.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::marketplace::listings::CATEGORIES;
use workway_engine::platform::Platform;
use workway_registry::Manifest;
use workway_registry::manifest::KNOWN_PROVIDERS;
use workway_store::search::{
    MAX_QUERY_CHARS, PriceFilter, SearchError, SearchHit, SearchQuery, SearchSort,
};
use workway_store::submissions::SubmissionRow;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::paging;
use super::submissions::{registry, registry_error};

/// An integration as the listing shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationSummary {
    /// Its name.
    pub name: String,
    /// Its newest approved version.
    pub version: String,
    /// Who publishes it, as its manifest says.
    pub publisher: String,
    /// What it does.
    pub description: String,
}

/// One action of an integration.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Action)]
pub struct ActionView {
    /// The action's name.
    pub name: String,
    /// What it does.
    pub description: String,
}

/// An integration's newest approved version in full.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Integration)]
pub struct IntegrationView {
    /// Name, version, publisher, description.
    #[serde(flatten)]
    pub summary: IntegrationSummary,
    /// The approved component's digest (`sha256:...`).
    pub digest: String,
    /// Its actions.
    pub actions: Vec<ActionView>,
    /// The outbound hosts it may call.
    pub hosts: Vec<String>,
    /// The OAuth scopes it asks for, by provider.
    pub scopes: BTreeMap<String, Vec<String>>,
    /// When this version was approved (Unix ms).
    pub approved_at: i64,
}

/// One approved version.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = IntegrationVersion)]
pub struct VersionView {
    /// The version.
    pub version: String,
    /// Its component's digest.
    pub digest: String,
    /// When it was approved (Unix ms).
    pub approved_at: i64,
}

/// The approved manifest of `row`.
fn manifest(row: &SubmissionRow) -> Result<Manifest, ApiError> {
    Manifest::from_toml(&row.manifest).map_err(|e| {
        ApiError::internal(&format!(
            "approved submission {} has a manifest that does not parse: {e}",
            row.id
        ))
    })
}

fn summary(row: &SubmissionRow, manifest: &Manifest) -> IntegrationSummary {
    IntegrationSummary {
        name: row.integration.clone(),
        version: row.version.clone(),
        publisher: manifest.publisher.clone(),
        description: manifest.description.clone(),
    }
}

/// `GET /v1/integrations`'s query: the search and the page.
/// The web UI's marketplace page takes the same parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub(crate) q: Option<String>,
    pub(crate) category: Option<String>,
    pub(crate) price: Option<String>,
    pub(crate) max_price_cents: Option<String>,
    pub(crate) provider: Option<String>,
    pub(crate) sort: Option<String>,
    pub(crate) limit: Option<String>,
    pub(crate) cursor: Option<String>,
}

/// One integration a search found: what a result row shows, all public.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SearchResult)]
pub struct SearchResultView {
    /// Its name.
    pub name: String,
    /// Its newest approved version.
    pub version: String,
    /// One line about it (the listing's summary, or the manifest's
    /// description while it has no listing).
    pub summary: String,
    /// Its category slugs.
    pub categories: Vec<String>,
    /// The OAuth providers its newest approved version uses.
    pub providers: Vec<String>,
    /// Its upfront price in cents; null when free.
    pub price_cents: Option<i64>,
    /// The publisher's display name, when it has a developer profile.
    pub publisher: Option<String>,
    /// Whether an admin verified the publisher.
    pub verified: bool,
    /// How many accounts have it installed.
    pub installs: i64,
    /// How many ratings it has.
    pub rating_count: i64,
    /// Its average rating in tenths of a star (45 for 4.5); null before
    /// the first rating.
    pub rating_tenths: Option<i64>,
    /// Where its icon is served, if it has one.
    pub icon_url: Option<String>,
    /// When it was first approved (Unix ms): the `newest` order.
    pub listed_at: i64,
}

/// A page of search results.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SearchResults)]
pub struct SearchResultsView {
    /// The integrations found, in order.
    pub items: Vec<SearchResultView>,
    /// Pass as `cursor`, with the same query, for the next page; null on
    /// the last page.
    pub next_cursor: Option<String>,
}

impl From<SearchHit> for SearchResultView {
    fn from(hit: SearchHit) -> SearchResultView {
        SearchResultView {
            rating_tenths: hit.rating_tenths(),
            icon_url: hit
                .has_icon
                .then(|| format!("/v1/integrations/{}/icon", hit.name)),
            name: hit.name,
            version: hit.version,
            summary: hit.summary,
            categories: hit.categories,
            providers: hit.providers,
            price_cents: hit.price_cents,
            publisher: hit.publisher,
            verified: hit.verified,
            installs: hit.installs_current,
            rating_count: hit.rating_count,
            listed_at: hit.first_approved_at,
        }
    }
}

/// At most the first 40 characters of `text`, for an error message.
fn shown(text: &str) -> String {
    text.chars().take(40).collect()
}

/// The search `params` ask for, checked: a 400 names the parameter.
fn search_query(params: SearchParams) -> Result<SearchQuery, ApiError> {
    let given = |v: Option<String>| v.filter(|v| !v.is_empty());
    if let Some(q) = &params.q
        && q.chars().count() > MAX_QUERY_CHARS
    {
        return Err(ApiError::invalid(
            "q",
            format!("q is too long: at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    let category = given(params.category);
    if let Some(c) = &category
        && !CATEGORIES.contains(&c.as_str())
    {
        return Err(ApiError::invalid(
            "category",
            format!(
                "unknown category `{}`: use one of {}",
                shown(c),
                CATEGORIES.join(", ")
            ),
        ));
    }
    let provider = given(params.provider);
    if let Some(p) = &provider
        && !KNOWN_PROVIDERS.contains(&p.as_str())
    {
        return Err(ApiError::invalid(
            "provider",
            format!(
                "unknown provider `{}`: use one of {}",
                shown(p),
                KNOWN_PROVIDERS.join(", ")
            ),
        ));
    }
    let price = match given(params.price) {
        None => None,
        Some(text) => Some(PriceFilter::parse(&text).ok_or_else(|| {
            ApiError::invalid(
                "price",
                format!(
                    "unknown price `{}`: use free or paid (or max_price_cents for a ceiling)",
                    shown(&text)
                ),
            )
        })?),
    };
    let max_price_cents = match given(params.max_price_cents) {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .ok()
                .filter(|cents| *cents >= 0)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "max_price_cents",
                        "max_price_cents must be a whole number of cents, 0 or more (4900 for $49)",
                    )
                })?,
        ),
    };
    let sort = match given(params.sort) {
        None => None,
        Some(text) => Some(SearchSort::parse(&text).ok_or_else(|| {
            ApiError::invalid(
                "sort",
                format!(
                    "unknown sort `{}`: use relevance, installs, rating or newest",
                    shown(&text)
                ),
            )
        })?),
    };
    Ok(SearchQuery {
        text: given(params.q),
        category,
        provider,
        price,
        max_price_cents,
        sort,
        limit: paging::limit(params.limit.as_deref())?,
        cursor: given(params.cursor),
    })
}

/// Search the marketplace: integrations with an approved, not revoked
/// version, a page at a time.
///
/// Words in `q` are matched in the name, summary and description (the
/// last word as a prefix); the filters keep one category, free or paid
/// integrations, a price ceiling, or one OAuth provider. Ordered by
/// relevance when there are words, by installs otherwise; ties by name.
#[utoipa::path(
    get,
    path = "/v1/integrations",
    tag = "integrations",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(
        ("q" = Option<String>, Query, description = "Words to search for (at most 200 characters; the first 10 words count; anything but letters and digits separates words)."),
        ("category" = Option<String>, Query, description = "Only integrations filed under this category: communication, productivity, crm, finance, developer-tools, marketing, storage or other."),
        ("price" = Option<String>, Query, description = "`free` or `paid`."),
        ("max_price_cents" = Option<i64>, Query, minimum = 0, description = "Only integrations costing at most this many cents (free ones included)."),
        ("provider" = Option<String>, Query, description = "Only integrations that use this OAuth provider: google, notion, slack or stripe."),
        ("sort" = Option<String>, Query, description = "relevance (needs q; the default with q), installs (the default without), rating or newest."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many results a page holds (20 when left out)."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, unchanged, with the same query; left out for the first page."),
    ),
    responses(
        (status = 200, description = "A page of integrations found.", body = SearchResultsView),
        (status = 400, description = "A query parameter is wrong (`invalid_input`, `details.field` names it: `q`, `category`, `price`, `max_price_cents`, `provider`, `sort`, `limit`, `cursor`, or `query` for an unknown one).", body = ErrorBody),
    ),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Result<Json<SearchResultsView>, ApiError> {
    caller.require(Scope::Read)?;
    let params = paging::query_of(
        params,
        "q, category, price, max_price_cents, provider, sort, limit and cursor",
    )?;
    let query = search_query(params)?;
    let page = platform
        .store
        .search()
        .search(&query)
        .await
        .map_err(|e| match e {
            SearchError::Invalid { field, message } => ApiError::invalid(field, message),
            SearchError::Store(e) => ApiError::from(e),
        })?;
    Ok(Json(SearchResultsView {
        items: page.hits.into_iter().map(SearchResultView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The newest approved version of an integration.
///
/// With its actions, the hosts it may call and the OAuth scopes it asks for.
#[utoipa::path(
    get,
    path = "/v1/integrations/{name}",
    tag = "integrations",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("name" = String, Path, description = "The integration's name.")),
    responses(
        (status = 200, description = "The newest approved version.", body = IntegrationView),
        (status = 404, description = "No approved version of this name (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn show(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<IntegrationView>, ApiError> {
    caller.require(Scope::Read)?;
    let rows = registry(&platform)?
        .approved_versions(&name)
        .await
        .map_err(registry_error)?;
    let row = rows
        .first()
        .ok_or_else(|| ApiError::not_found("integration"))?;
    let manifest = manifest(row)?;
    Ok(Json(IntegrationView {
        summary: summary(row, &manifest),
        digest: row.digest.clone(),
        actions: manifest
            .actions
            .iter()
            .map(|(name, action)| ActionView {
                name: name.clone(),
                description: action.description.clone(),
            })
            .collect(),
        hosts: manifest.http.hosts.clone(),
        scopes: manifest
            .oauth
            .iter()
            .map(|(provider, r)| (provider.clone(), r.scopes.clone()))
            .collect(),
        approved_at: row.updated_at,
    }))
}

/// Every approved version of an integration, newest first.
#[utoipa::path(
    get,
    path = "/v1/integrations/{name}/versions",
    tag = "integrations",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("name" = String, Path, description = "The integration's name.")),
    responses(
        (status = 200, description = "Every approved version, newest first.", body = Vec<VersionView>),
        (status = 404, description = "No approved version of this name (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn versions(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Vec<VersionView>>, ApiError> {
    caller.require(Scope::Read)?;
    let rows = registry(&platform)?
        .approved_versions(&name)
        .await
        .map_err(registry_error)?;
    if rows.is_empty() {
        return Err(ApiError::not_found("integration"));
    }
    Ok(Json(
        rows.iter()
            .map(|row| VersionView {
                version: row.version.clone(),
                digest: row.digest.clone(),
                approved_at: row.updated_at,
            })
            .collect(),
    ))
}
