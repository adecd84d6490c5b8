//! Ratings and written reviews of integrations (the submission review
//! flow is [`super::reviews`]); the rules are
//! [`workway_engine::marketplace::ratings`]'s.
//!
//! - `GET /v1/integrations/{name}/reviews?cursor=&limit=` → `{summary,
//!   reviews, next_cursor}`: newest first, `limit` from 1 to 100 (20 by
//!   default), `next_cursor` passed back as `cursor` for the next page; the
//!   summary counts the visible ratings, gives their average in hundredths
//!   (`average_hundredths`: 425 is 4.25, rounded half up; `null` with no
//!   ratings) and a histogram (`histogram[0]` counts 1 star, ...,
//!   `histogram[4]` 5 stars). Hidden reviews are listed only to their
//!   author and to admins, flagged, and never counted;
//! - `PUT /v1/integrations/{name}/reviews/mine` `{rating, title?, body?}`
//!   → 201 the new review, 200 the edited one; 403 `not_eligible` with
//!   `details.reason` `not_installed` or `not_run_yet`;
//! - `DELETE /v1/integrations/{name}/reviews/mine` → 204;
//! - `POST /v1/integrations/{name}/reviews/{id}/reply` `{body}` → 201 the
//!   review with its reply, for the integration's publisher (403
//!   `not_publisher` for anyone else), once (409 `already_replied`);
//! - `POST /v1/admin/reviews/{id}/hide` `{reason}` and
//!   `POST /v1/admin/reviews/{id}/unhide` → 200 the review, for admins;
//! - `GET /v1/admin/reviews/hidden?cursor=&limit=` → `{reviews,
//!   next_cursor}`: every integration's hidden reviews, most recently
//!   hidden first, for admins.
//!
//! An unknown integration answers 404; so does a review the caller cannot
//! see.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use workway_engine::accounts::{Principal, Scope};
use workway_engine::marketplace::ratings::{self, RatingError, ReviewText};
use workway_engine::platform::Platform;
use workway_store::clock::now_ms;
use workway_store::ratings::{ReviewRow, Summary, Viewer};

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};
use super::paging::{self, encode_key};

/// The publisher's reply to a review.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ReviewReply)]
pub struct ReplyView {
    /// What the publisher wrote.
    pub body: String,
    /// When (Unix ms).
    pub at: i64,
}

/// Why a review is hidden: shown only to its author and to admins.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ReviewHidden)]
pub struct HiddenView {
    /// When it was hidden (Unix ms).
    pub at: i64,
    /// Why.
    pub reason: String,
    /// The admin who hid it (shown to admins only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// A review.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Review)]
pub struct ReviewView {
    /// The review's id.
    pub id: String,
    /// The integration's name.
    pub integration: String,
    /// The author's display name.
    pub author: Option<String>,
    /// Whether the caller wrote it.
    pub mine: bool,
    /// From 1 to 5.
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    /// Its title, if it has one.
    pub title: Option<String>,
    /// What the author wrote (empty for a rating alone).
    pub body: String,
    /// When it was first written (Unix ms).
    pub created_at: i64,
    /// When it was last edited (Unix ms).
    pub updated_at: i64,
    /// The publisher's reply.
    pub reply: Option<ReplyView>,
    /// Set when an admin hid it (only its author and admins see it then).
    pub hidden: Option<HiddenView>,
}

impl ReviewView {
    fn of(row: ReviewRow, principal: &Principal) -> ReviewView {
        let admin = principal.can(Scope::Admin);
        ReviewView {
            mine: row.author == principal.owner(),
            id: row.id,
            integration: row.integration,
            author: row.author_name,
            rating: row.rating,
            title: row.title,
            body: row.body,
            created_at: row.created_at,
            updated_at: row.updated_at,
            reply: row.reply.map(|r| ReplyView {
                body: r.body,
                at: r.at,
            }),
            hidden: row.hidden.map(|h| HiddenView {
                at: h.at,
                reason: h.reason,
                by: admin.then_some(h.by),
            }),
        }
    }
}

/// The visible ratings of an integration, summed up.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RatingSummary)]
pub struct SummaryView {
    /// How many visible reviews there are (hidden ones are not counted).
    pub count: i64,
    /// Their average rating in hundredths, rounded half up (425 is 4.25);
    /// `null` with no ratings.
    #[schema(examples(425))]
    pub average_hundredths: Option<i64>,
    /// How many gave each number of stars: `histogram[0]` counts 1 star,
    /// ..., `histogram[4]` 5 stars.
    #[schema(examples(json!([0, 0, 1, 2, 1])))]
    pub histogram: Vec<i64>,
}

impl From<Summary> for SummaryView {
    fn from(s: Summary) -> Self {
        SummaryView {
            count: s.count,
            average_hundredths: s.average_hundredths(),
            histogram: s.histogram.to_vec(),
        }
    }
}

/// A page of an integration's reviews with its summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewPage {
    /// The visible ratings summed up (every page carries it).
    pub summary: SummaryView,
    /// The reviews, newest first.
    pub reviews: Vec<ReviewView>,
    /// The `cursor` of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// `PUT /v1/integrations/{name}/reviews/mine`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteReview {
    /// From 1 to 5 stars.
    #[schema(value_type = i64, minimum = 1, maximum = 5)]
    pub(crate) rating: Value,
    /// A one-line title of at most 120 characters; none when left out or
    /// blank.
    #[serde(default)]
    pub(crate) title: Option<String>,
    /// The review, at most 4,000 characters, no control characters but
    /// newlines; empty for a rating alone.
    #[serde(default)]
    pub(crate) body: String,
}

/// `POST /v1/integrations/{name}/reviews/{id}/reply`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteReply {
    /// The reply, 1 to 4,000 characters, no control characters but
    /// newlines.
    pub(crate) body: String,
}

/// `POST /v1/admin/reviews/{id}/hide`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideReview {
    /// Why it is hidden, 1 to 500 characters on one line; shown to the
    /// review's author.
    pub(crate) reason: String,
}

/// A page of hidden reviews across the marketplace.
#[derive(Debug, Serialize, ToSchema)]
pub struct HiddenReviewPage {
    /// The reviews, most recently hidden first.
    pub reviews: Vec<ReviewView>,
    /// The `cursor` of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

/// `GET /v1/integrations/{name}/reviews`'s query.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub(crate) limit: Option<String>,
    pub(crate) cursor: Option<String>,
}

/// A refusal as the API answers it.
fn rating_error(e: RatingError) -> ApiError {
    match e {
        RatingError::UnknownIntegration(_) => ApiError::not_found("integration"),
        RatingError::NotInstalled(ref name) => {
            ApiError::new(StatusCode::FORBIDDEN, "not_eligible", e.to_string())
                .with_details(json!({ "reason": "not_installed", "integration": name }))
        }
        RatingError::NotRunYet(ref name) => {
            ApiError::new(StatusCode::FORBIDDEN, "not_eligible", e.to_string())
                .with_details(json!({ "reason": "not_run_yet", "integration": name }))
        }
        RatingError::Invalid { field, message } => ApiError::invalid(field, message),
        RatingError::NoSuchReview => ApiError::not_found("review"),
        RatingError::NotPublisher(_) => {
            ApiError::new(StatusCode::FORBIDDEN, "not_publisher", e.to_string())
        }
        RatingError::AlreadyReplied => {
            ApiError::new(StatusCode::CONFLICT, "already_replied", e.to_string())
        }
        RatingError::HiddenKept => {
            ApiError::new(StatusCode::CONFLICT, "review_hidden", e.to_string())
        }
        RatingError::Store(e) => ApiError::from(e),
    }
}

/// An integration's reviews, newest first, a page at a time, with the
/// summary of its visible ratings.
///
/// Hidden reviews are listed (flagged) only to their author and to admins,
/// and never counted in the summary.
#[utoipa::path(
    get,
    path = "/v1/integrations/{name}/reviews",
    tag = "ratings",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(
        ("name" = String, Path, description = "The integration's name."),
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many reviews a page holds (20 when left out)."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, unchanged; left out for the first page."),
    ),
    responses(
        (status = 200, description = "A page of reviews, newest first, and the summary.", body = ReviewPage),
        (status = 400, description = "A query parameter is wrong (`invalid_input`, `details.field` names it: `limit`, `cursor`, or `query` for an unknown one).", body = ErrorBody),
        (status = 404, description = "No integration of this name (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn list_reviews(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<ReviewPage>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let query = paging::query_of(query, "limit and cursor")?;
    let limit = paging::limit(query.limit.as_deref())?;
    let before = paging::before(query.cursor.as_deref())?;
    let viewer = if principal.can(Scope::Admin) {
        Viewer::Everything
    } else {
        Viewer::Account(principal.owner())
    };
    let page = ratings::list(
        &platform.store,
        &name,
        viewer,
        before.as_ref().map(|(at, id)| (*at, id.as_str())),
        limit,
    )
    .await
    .map_err(rating_error)?;
    let next_cursor = page
        .reviews
        .last()
        .filter(|_| page.more)
        .map(|r| encode_key(r.created_at, &r.id));
    Ok(Json(ReviewPage {
        summary: page.summary.into(),
        reviews: page
            .reviews
            .into_iter()
            .map(|r| ReviewView::of(r, principal))
            .collect(),
        next_cursor,
    }))
}

/// Rate and review an integration, or edit the caller's review of it.
///
/// Only once the caller has installed it and run it: some step of one of
/// the caller's runs called one of its actions. One review per account
/// per integration: writing again edits it in place.
#[utoipa::path(
    put,
    path = "/v1/integrations/{name}/reviews/mine",
    tag = "ratings",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("name" = String, Path, description = "The integration's name.")),
    request_body = WriteReview,
    responses(
        (status = 200, description = "The caller's review, edited (same id and `created_at`).", body = ReviewView),
        (status = 201, description = "The caller's review, written.", body = ReviewView),
        (status = 400, description = "An input is wrong (`invalid_input`, `details.field`: `rating`, `title` or `body`).", body = ErrorBody),
        (status = 403, description = "The caller may not rate it yet (`not_eligible`, `details.reason`: `not_installed` — install it and run it first — or `not_run_yet` — run it first).", body = ErrorBody),
        (status = 404, description = "No integration of this name (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn write_review(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<WriteReview>,
) -> Result<(StatusCode, Json<ReviewView>), ApiError> {
    let principal = caller.require(Scope::Run)?;
    let rating = body
        .rating
        .as_i64()
        .ok_or_else(|| ApiError::invalid("rating", "`rating` is a whole number from 1 to 5"))?;
    let text = ReviewText {
        rating,
        title: body.title.as_deref(),
        body: &body.body,
    };
    let (row, created) = ratings::write(&platform.store, principal.owner(), &name, &text, now_ms())
        .await
        .map_err(rating_error)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(ReviewView::of(row, principal))))
}

/// Delete the caller's review of an integration.
#[utoipa::path(
    delete,
    path = "/v1/integrations/{name}/reviews/mine",
    tag = "ratings",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("name" = String, Path, description = "The integration's name.")),
    responses(
        (status = 204, description = "Deleted, with its reply."),
        (status = 404, description = "No integration of this name, or the caller has not reviewed it (`not_found`).", body = ErrorBody),
        (status = 409, description = "An admin hid the caller's review: it is kept for moderation (`review_hidden`); edit it instead.", body = ErrorBody),
    ),
)]
pub async fn delete_review(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Scope::Run)?;
    ratings::delete(&platform.store, principal.owner(), &name)
        .await
        .map_err(rating_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reply to a review of one of the caller's integrations, once.
#[utoipa::path(
    post,
    path = "/v1/integrations/{name}/reviews/{id}/reply",
    tag = "ratings",
    security(("api_token" = ["publish"]), ("session" = ["publish"], "csrf" = [])),
    params(
        ("name" = String, Path, description = "The integration's name."),
        ("id" = String, Path, description = "The review's id."),
    ),
    request_body = WriteReply,
    responses(
        (status = 201, description = "The review with its reply.", body = ReviewView),
        (status = 400, description = "The reply is empty, too long or holds control characters (`invalid_input`, `details.field` = `body`).", body = ErrorBody),
        (status = 403, description = "The caller is not the integration's publisher (`not_publisher`).", body = ErrorBody),
        (status = 404, description = "No integration of this name, or no such review of it (`not_found`).", body = ErrorBody),
        (status = 409, description = "The review already has the publisher's reply (`already_replied`).", body = ErrorBody),
    ),
)]
pub async fn reply_to_review(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path((name, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<WriteReply>,
) -> Result<(StatusCode, Json<ReviewView>), ApiError> {
    let principal = caller.require(Scope::Publish)?;
    let row = ratings::reply(
        &platform.store,
        principal.owner(),
        &name,
        &id,
        &body.body,
        now_ms(),
    )
    .await
    .map_err(rating_error)?;
    Ok((StatusCode::CREATED, Json(ReviewView::of(row, principal))))
}

/// Hide an abusive review, saying why (admins).
///
/// The review is kept, flagged with who hid it, when and why; it leaves
/// everyone's list and the summary but its author's.
#[utoipa::path(
    post,
    path = "/v1/admin/reviews/{id}/hide",
    tag = "ratings",
    security(("api_token" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The review's id.")),
    request_body = HideReview,
    responses(
        (status = 200, description = "The review, hidden.", body = ReviewView),
        (status = 400, description = "The reason is empty, too long or not one line (`invalid_input`, `details.field` = `reason`).", body = ErrorBody),
        (status = 404, description = "No such review (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn hide_review(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<HideReview>,
) -> Result<Json<ReviewView>, ApiError> {
    let principal = caller.require(Scope::Admin)?;
    let row = ratings::set_hidden(
        &platform.store,
        principal.owner(),
        &id,
        Some(&body.reason),
        now_ms(),
    )
    .await
    .map_err(rating_error)?;
    Ok(Json(ReviewView::of(row, principal)))
}

/// Show a hidden review again (admins).
#[utoipa::path(
    post,
    path = "/v1/admin/reviews/{id}/unhide",
    tag = "ratings",
    security(("api_token" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The review's id.")),
    responses(
        (status = 200, description = "The review, visible again.", body = ReviewView),
        (status = 404, description = "No such review (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn unhide_review(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReviewView>, ApiError> {
    let principal = caller.require(Scope::Admin)?;
    let row = ratings::set_hidden(&platform.store, principal.owner(), &id, None, now_ms())
        .await
        .map_err(rating_error)?;
    Ok(Json(ReviewView::of(row, principal)))
}

/// Every integration's hidden reviews, most recently hidden first, a page
/// at a time (admins): what moderation has taken down, to review again.
#[utoipa::path(
    get,
    path = "/v1/admin/reviews/hidden",
    tag = "ratings",
    security(("api_token" = ["admin"]), ("session" = ["admin"])),
    params(
        ("limit" = Option<i64>, Query, minimum = 1, maximum = 100, description = "How many reviews a page holds (20 when left out)."),
        ("cursor" = Option<String>, Query, description = "`next_cursor` of the previous page, unchanged; left out for the first page."),
    ),
    responses(
        (status = 200, description = "A page of hidden reviews with who hid each, when and why.", body = HiddenReviewPage),
        (status = 400, description = "A query parameter is wrong (`invalid_input`, `details.field` names it: `limit`, `cursor`, or `query` for an unknown one).", body = ErrorBody),
    ),
)]
pub async fn hidden_reviews(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<HiddenReviewPage>, ApiError> {
    let principal = caller.require(Scope::Admin)?;
    let query = paging::query_of(query, "limit and cursor")?;
    let limit = paging::limit(query.limit.as_deref())?;
    let before = paging::before(query.cursor.as_deref())?;
    let (reviews, more) = ratings::hidden(
        &platform.store,
        before.as_ref().map(|(at, id)| (*at, id.as_str())),
        limit,
    )
    .await
    .map_err(rating_error)?;
    let next_cursor = reviews
        .last()
        .filter(|_| more)
        .and_then(|r| r.hidden.as_ref().map(|h| encode_key(h.at, &r.id)));
    Ok(Json(HiddenReviewPage {
        reviews: reviews
            .into_iter()
            .map(|r| ReviewView::of(r, principal))
            .collect(),
        next_cursor,
    }))
}
