//! Listings: what the marketplace shows of an integration (see
//! [`workway_engine::marketplace::listings`] for the rules).
//!
//! - `GET /v1/integrations/{name}/listing`: for any signed-in caller, the
//!   listing with its publisher's public profile, the rendered description,
//!   the newest approved version's actions with their schemas, the hosts it
//!   may reach, the OAuth scopes it asks for with the provider's own
//!   description of each, every approved version with its notes, and its
//!   figures (installs, executions, ratings); 404 when no version of the
//!   name is approved;
//! - `PUT /v1/integrations/{name}/listing` `{summary, description,
//!   categories, price_cents, changelog?}`: its owner or a co-maintainer
//!   writes it (the `publish` scope); anyone else gets 404;
//! - `PUT /v1/integrations/{name}/icon`: the icon, the raw image as the
//!   body with its `Content-Type` (`image/png`, `image/jpeg`, `image/webp`);
//!   the same callers;
//! - `GET /v1/integrations/{name}/icon`: the icon with its content type and
//!   `X-Content-Type-Options: nosniff`, for any signed-in caller.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::billing::tariff::show_cents;
use workway_engine::marketplace::figures;
use workway_engine::marketplace::listings::{
    self, Listing, ListingError, ListingInput, render_markdown,
};
use workway_engine::platform::Platform;
use workway_engine::review::compare_versions;
use workway_registry::scopes::scope_description;
use workway_registry::{Manifest, ReviewReport};

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};
use super::publishers::PublicProfile;
use super::submissions::registry;

/// The largest body `PUT /v1/integrations/{name}/icon` reads: above the
/// icon limit, so a too-large icon is answered naming the field rather
/// than cut off.
pub const ICON_BODY_BYTES: usize = 1 << 20;

/// `PUT /v1/integrations/{name}/listing`'s body: every field is written
/// (the listing is replaced; the icon is kept).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutListing {
    /// One line, up to 160 characters.
    pub(crate) summary: String,
    /// The long description, Markdown, up to 20,000 characters; raw HTML
    /// in it is shown as text.
    #[serde(default)]
    pub(crate) description: String,
    /// Up to 3 of `communication`, `productivity`, `crm`, `finance`,
    /// `developer-tools`, `marketing`, `storage`, `other`.
    #[serde(default)]
    pub(crate) categories: Vec<String>,
    /// The upfront price in whole cents, 1900 to 24900 ($19 to $249), or
    /// null (or left out) for a free integration.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub(crate) price_cents: serde_json::Value,
    /// Notes per approved version.
    #[serde(default)]
    pub(crate) changelog: BTreeMap<String, String>,
}

/// Who publishes an integration.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingPublisher {
    /// The account that owns the name.
    pub account_id: String,
    /// Its public developer profile, if it made one.
    pub profile: Option<PublicProfile>,
    /// Whether an admin verified the publisher.
    pub verified: bool,
}

/// A listing's description, as written and as HTML safe to show.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingDescription {
    /// The Markdown source.
    pub markdown: String,
    /// The rendered HTML: raw HTML escaped, only http, https and mailto
    /// links (https images).
    pub html: String,
}

/// What an integration costs.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingPricing {
    /// `free` or `upfront`.
    pub model: &'static str,
    /// The upfront price in cents, when paid.
    pub upfront_cents: Option<i64>,
    /// The price for people: `free` or like `$49.00`.
    pub display: String,
}

/// One action with its schemas, as the approved component describes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingAction {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// JSON Schema of its input.
    #[schema(value_type = Object)]
    pub input_schema: serde_json::Value,
    /// JSON Schema of its output.
    #[schema(value_type = Object)]
    pub output_schema: serde_json::Value,
}

/// One OAuth scope the integration asks for.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingScope {
    /// The provider (`google`, `slack`, ...).
    pub provider: String,
    /// The scope, as the provider spells it.
    pub scope: String,
    /// What it lets the integration do, in the provider's words; null
    /// for a scope the platform has no description of.
    pub description: Option<String>,
}

/// One approved version.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingVersion {
    /// The version.
    pub version: String,
    /// When it was approved (Unix ms).
    pub approved_at: i64,
    /// The publisher's notes on it, if written.
    pub changelog: Option<String>,
}

/// An integration's listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingView {
    /// The integration's name.
    pub name: String,
    /// Who publishes it (null for a name no account owns, such as the
    /// platform's own integrations).
    pub publisher: Option<ListingPublisher>,
    /// One line; the manifest's description while no listing was written.
    pub summary: String,
    /// The long description.
    pub description: ListingDescription,
    /// Its categories.
    pub categories: Vec<String>,
    /// What it costs.
    pub pricing: ListingPricing,
    /// Where its icon is served, if it has one.
    pub icon_url: Option<String>,
    /// The newest approved version.
    pub version: String,
    /// That version's actions with their schemas.
    pub actions: Vec<ListingAction>,
    /// Every host it may reach.
    pub hosts: Vec<String>,
    /// Every OAuth scope it asks for, with what it allows.
    pub scopes: Vec<ListingScope>,
    /// Every approved version, most recently approved first.
    pub versions: Vec<ListingVersion>,
    /// When the listing last changed (Unix ms); null while none was written.
    pub updated_at: Option<i64>,
    /// Its installs, executions and ratings, over every account.
    pub figures: ListingFigures,
}

/// How many accounts installed an integration.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstallFigures {
    /// Accounts that have it installed now.
    pub current: i64,
    /// Installs ever made (re-installs and upgrades in place excluded).
    pub total: i64,
}

/// An integration's ratings, over the reviews that are not hidden.
#[derive(Debug, Serialize, ToSchema)]
pub struct RatingFigures {
    /// The average rating, rounded half up to one decimal; null with no
    /// ratings.
    pub average: Option<f64>,
    /// How many ratings.
    pub count: i64,
    /// The sum of the ratings (`sum / count` is the exact average).
    pub sum: i64,
    /// How many gave each number of stars, `"1"` to `"5"`.
    pub histogram: BTreeMap<String, i64>,
}

/// What a listing shows of an integration's use and reception.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListingFigures {
    /// Its installs.
    pub installs: InstallFigures,
    /// Step attempts calling its actions that succeeded or failed over the
    /// last 30 UTC days (today included), as rolled up (every minute by
    /// default, lagging a minute).
    pub executions_30d: i64,
    /// How many of them succeeded.
    pub successes_30d: i64,
    /// `successes_30d / executions_30d`, from 0 to 1, four decimals; null
    /// with no executions.
    pub success_rate: Option<f64>,
    /// Their median latency in milliseconds, within 4.5% (plus half a
    /// millisecond) of the exact one; null with no executions.
    pub p50_latency_ms: Option<u64>,
    /// Its ratings.
    pub rating: RatingFigures,
}

impl From<figures::Figures> for ListingFigures {
    fn from(f: figures::Figures) -> Self {
        ListingFigures {
            installs: InstallFigures {
                current: f.installs_current,
                total: f.installs_total,
            },
            executions_30d: f.executions_30d,
            successes_30d: f.successes_30d,
            success_rate: f.success_rate,
            p50_latency_ms: f.p50_latency_ms,
            rating: RatingFigures {
                average: f.rating.average,
                count: f.rating.count,
                sum: f.rating.sum,
                histogram: (1..)
                    .zip(f.rating.histogram)
                    .map(|(stars, n): (i64, i64)| (stars.to_string(), n))
                    .collect(),
            },
        }
    }
}

/// The listing as stored, after a write.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredListing {
    /// The integration's name.
    pub name: String,
    /// The summary.
    pub summary: String,
    /// The description.
    pub description: ListingDescription,
    /// The categories.
    pub categories: Vec<String>,
    /// The price.
    pub pricing: ListingPricing,
    /// Notes per approved version.
    pub changelog: BTreeMap<String, String>,
    /// Where its icon is served, if it has one.
    pub icon_url: Option<String>,
    /// The account that last changed it.
    pub updated_by: String,
    /// When (Unix ms).
    pub updated_at: i64,
}

fn pricing(price_cents: Option<i64>) -> ListingPricing {
    match price_cents {
        Some(cents) => ListingPricing {
            model: "upfront",
            upfront_cents: Some(cents),
            display: show_cents(cents),
        },
        None => ListingPricing {
            model: "free",
            upfront_cents: None,
            display: "free".to_string(),
        },
    }
}

fn icon_url(name: &str, listing: Option<&Listing>) -> Option<String> {
    listing
        .and_then(|l| l.row.icon_digest.as_ref())
        .map(|_| format!("/v1/integrations/{name}/icon"))
}

impl From<Listing> for StoredListing {
    fn from(l: Listing) -> Self {
        StoredListing {
            icon_url: icon_url(&l.row.name, Some(&l)),
            description: ListingDescription {
                html: render_markdown(&l.row.description),
                markdown: l.row.description,
            },
            name: l.row.name,
            summary: l.row.summary,
            categories: l.categories,
            pricing: pricing(l.row.price_cents),
            changelog: l.changelog,
            updated_by: l.row.updated_by,
            updated_at: l.row.updated_at,
        }
    }
}

/// A listing failure as the API answers it.
pub(crate) fn listing_error(e: ListingError) -> ApiError {
    match e {
        ListingError::Invalid { field, message } => ApiError::invalid(field, message),
        ListingError::NotFound(_) => ApiError::not_found("integration"),
        ListingError::NoIcon(_) => ApiError::not_found("icon"),
        ListingError::PaymentRequired {
            ref integration,
            price_cents,
        } => ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            "payment_required",
            e.to_string(),
        )
        .with_details(json!({
            "field": "integration",
            "integration": integration,
            "price_cents": price_cents,
            "purchase": format!("/v1/integrations/{integration}/purchase"),
            "purchase_available": true,
        })),
        ListingError::Store(e) => e.into(),
        e => ApiError::internal(&e),
    }
}

/// An integration's listing.
///
/// With its publisher, the rendered description, the newest approved
/// version's actions and schemas, the hosts and OAuth scopes it may use
/// (with the provider's description of each scope), its versions, and
/// its public figures (installs, executions over 30 days with their
/// success rate and median latency, ratings).
#[utoipa::path(
    get,
    path = "/v1/integrations/{name}/listing",
    tag = "listings",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("name" = String, Path, description = "The integration's name.")),
    responses(
        (status = 200, description = "The listing.", body = ListingView),
        (status = 404, description = "No approved version of this name (`not_found`).", body = ErrorBody),
        (status = 409, description = "The newest approved version was reviewed before reports recorded its actions, and its component cannot be loaded to ask them (`not_installable`).", body = ErrorBody),
    ),
)]
pub async fn show(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<ListingView>, ApiError> {
    caller.require(Scope::Read)?;
    let store = &platform.store;
    let versions = listings::approved_versions(store, &name)
        .await
        .map_err(listing_error)?;
    if versions.is_empty() {
        return Err(ApiError::not_found("integration"));
    }
    // The newest approved version as the store has it: the listing shows
    // its manifest and the actions its review recorded, without loading
    // the component (a host verifies the signed approval against the
    // bytes before it runs them).
    let newest = versions
        .iter()
        .max_by(|a, b| compare_versions(&a.version, &b.version))
        .ok_or_else(|| ApiError::not_found("integration"))?;
    let damaged = |e: String| {
        ApiError::internal(&format!(
            "the approved submission {} of `{name}` is damaged: {e}",
            newest.id
        ))
    };
    let manifest = Manifest::from_toml(&newest.manifest).map_err(|e| damaged(e.to_string()))?;
    let report: ReviewReport =
        serde_json::from_str(&newest.report).map_err(|e| damaged(e.to_string()))?;
    let actions = if report.actions.is_empty() {
        // Reviewed before reports recorded the actions: ask the component.
        platform
            .catalog
            .get(&name, Some(&newest.version))
            .await
            .map_err(|e| ApiError::new(StatusCode::CONFLICT, "not_installable", e.to_string()))?
            .component
            .description
            .actions
            .clone()
    } else {
        report.actions
    };
    let listing = listings::listing(store, &name)
        .await
        .map_err(listing_error)?;
    let publisher = match store.submissions().owner(&name).await? {
        Some(owner) => {
            let profile = store.publishers().profile(&owner.owner).await?;
            Some(ListingPublisher {
                account_id: owner.owner,
                verified: profile.as_ref().is_some_and(|p| p.verified()),
                profile: profile.map(PublicProfile::from),
            })
        }
        None => None,
    };
    let price = listings::price_cents(store, &name, &manifest)
        .await
        .map_err(listing_error)?;
    let figures = figures::figures(store, &name, workway_store::clock::now_ms()).await?;
    let (summary, markdown, categories, changelog, updated_at) = match &listing {
        Some(l) if !l.row.summary.is_empty() => (
            l.row.summary.clone(),
            l.row.description.clone(),
            l.categories.clone(),
            l.changelog.clone(),
            Some(l.row.updated_at),
        ),
        other => (
            manifest.description.clone(),
            String::new(),
            other
                .as_ref()
                .map(|l| l.categories.clone())
                .unwrap_or_default(),
            BTreeMap::new(),
            other.as_ref().map(|l| l.row.updated_at),
        ),
    };
    Ok(Json(ListingView {
        icon_url: icon_url(&name, listing.as_ref()),
        publisher,
        summary,
        description: ListingDescription {
            html: render_markdown(&markdown),
            markdown,
        },
        categories,
        pricing: pricing(price),
        version: newest.version.clone(),
        actions: actions
            .into_iter()
            .map(|a| ListingAction {
                name: a.name,
                description: a.description,
                input_schema: a.input_schema,
                output_schema: a.output_schema,
            })
            .collect(),
        hosts: manifest.http.hosts.clone(),
        scopes: manifest
            .oauth
            .iter()
            .flat_map(|(provider, r)| {
                r.scopes.iter().map(move |scope| ListingScope {
                    provider: provider.clone(),
                    scope: scope.clone(),
                    description: scope_description(provider, scope).map(str::to_string),
                })
            })
            .collect(),
        versions: versions
            .into_iter()
            .map(|row| ListingVersion {
                changelog: changelog.get(&row.version).cloned(),
                version: row.version,
                approved_at: row.updated_at,
            })
            .collect(),
        name,
        updated_at,
        figures: figures.into(),
    }))
}

/// Write an integration's listing (its owner or a co-maintainer).
///
/// Every field is written; the icon is kept.
#[utoipa::path(
    put,
    path = "/v1/integrations/{name}/listing",
    tag = "listings",
    security(("api_token" = ["publish"]), ("session" = ["publish"], "csrf" = [])),
    params(("name" = String, Path, description = "The integration's name.")),
    request_body = PutListing,
    responses(
        (status = 200, description = "The listing as stored.", body = StoredListing),
        (status = 400, description = "A field is wrong (`invalid_input`, `details.field` names it: `summary`, `description`, `categories`, `price_cents` or `changelog`).", body = ErrorBody),
        (status = 404, description = "No approved integration of that name of which the caller is the owner or a co-maintainer (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn put(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<PutListing>,
) -> Result<Json<StoredListing>, ApiError> {
    let principal = caller.require(Scope::Publish)?;
    let input = ListingInput {
        summary: body.summary,
        description: body.description,
        categories: body.categories,
        price_cents: body.price_cents,
        changelog: body.changelog,
    };
    let listing = listings::put_listing(&platform.store, &name, principal.owner(), &input)
        .await
        .map_err(listing_error)?;
    Ok(Json(listing.into()))
}

/// Set an integration's icon (its owner or a co-maintainer).
///
/// The body is the image itself: PNG, JPEG or WebP (its first bytes must
/// match the `Content-Type`), at most 256 KiB and 1024×1024 pixels.
#[utoipa::path(
    put,
    path = "/v1/integrations/{name}/icon",
    tag = "listings",
    security(("api_token" = ["publish"]), ("session" = ["publish"], "csrf" = [])),
    params(("name" = String, Path, description = "The integration's name.")),
    request_body(
        description = "The image, as sent with its `Content-Type`.",
        content(
            (Vec<u8> = "image/png"),
            (Vec<u8> = "image/jpeg"),
            (Vec<u8> = "image/webp"),
        ),
    ),
    responses(
        (status = 200, description = "The listing as stored, with its icon.", body = StoredListing),
        (status = 400, description = "The icon is refused (`invalid_input`, `details.field` = `content_type` for a type other than PNG, JPEG or WebP, `icon` for bytes that are not that type, too large, or over 1024×1024).", body = ErrorBody),
        (status = 404, description = "No approved integration of that name of which the caller is the owner or a co-maintainer (`not_found`).", body = ErrorBody),
        (status = 413, description = "The body is over 1 MiB (`too_large`).", body = ErrorBody),
    ),
)]
pub async fn put_icon(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StoredListing>, ApiError> {
    let principal = caller.require(Scope::Publish)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let artifacts = registry(&platform)?.artifacts();
    let listing = listings::put_icon(
        &platform.store,
        artifacts,
        &name,
        principal.owner(),
        content_type,
        &body,
    )
    .await
    .map_err(listing_error)?;
    Ok(Json(listing.into()))
}

/// An integration's icon.
#[utoipa::path(
    get,
    path = "/v1/integrations/{name}/icon",
    tag = "listings",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("name" = String, Path, description = "The integration's name.")),
    responses(
        (status = 200, description = "The image, with its content type and `X-Content-Type-Options: nosniff`.",
            content((Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/webp"))),
        (status = 404, description = "The integration has no icon (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn icon(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(Scope::Read)?;
    let artifacts = registry(&platform)?.artifacts();
    let (bytes, media_type) = listings::icon(&platform.store, artifacts, &name)
        .await
        .map_err(listing_error)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The body limit of the icon route, for the router.
pub fn icon_body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(ICON_BODY_BYTES)
}
