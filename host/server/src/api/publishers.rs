//! Publishers: developer profiles, their verification by an admin, and the
//! co-maintainers of an integration (see
//! [`workway_engine::marketplace::publishers`] for the rules).
//!
//! - `GET /v1/developer/profile`, `PUT /v1/developer/profile`
//!   `{display_name, website?, support_contact, payout_account?}`: the
//!   caller's own profile, payout reference included (the `publish` scope);
//! - `GET /v1/publishers/{account_id}`: a publisher's public profile, no
//!   payout reference, for any signed-in caller; 404 without a profile;
//! - `POST /v1/admin/publishers/{account_id}/verification` `{verified}`:
//!   an admin marks a publisher verified or not (the `admin` scope);
//! - `GET /v1/integrations/{name}/maintainers` (its owner and
//!   co-maintainers), `POST` `{email}` and
//!   `DELETE .../maintainers/{account_id}` (its owner only): anyone else
//!   gets 404, as if the integration did not exist.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::marketplace::publishers::{self, ProfileInput, PublisherError};
use workway_engine::platform::Platform;
use workway_store::publishers::{DeveloperProfileRow, MaintainerRow};

use super::auth::Caller;
use super::body::ApiJson;
use super::error::{ApiError, ErrorBody};

/// A developer's own profile, as its owner and admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeveloperProfile {
    /// The developer account.
    pub account_id: String,
    /// The name the marketplace shows.
    pub display_name: String,
    /// The website (an https URL), if given.
    pub website: Option<String>,
    /// An email address or an https URL where users get help.
    pub support_contact: String,
    /// The opaque reference billing pays out to, if given.
    pub payout_account: Option<String>,
    /// Whether an admin verified the publisher.
    pub verified: bool,
    /// The admin who verified it, while verified.
    pub verified_by: Option<String>,
    /// When it was verified (Unix ms), while verified.
    pub verified_at: Option<i64>,
    /// When the profile was made (Unix ms).
    pub created_at: i64,
    /// When it last changed (Unix ms).
    pub updated_at: i64,
}

impl From<DeveloperProfileRow> for DeveloperProfile {
    fn from(p: DeveloperProfileRow) -> Self {
        DeveloperProfile {
            verified: p.verified(),
            account_id: p.account_id,
            display_name: p.display_name,
            website: p.website,
            support_contact: p.support_contact,
            payout_account: p.payout_account,
            verified_by: p.verified_by,
            verified_at: p.verified_at,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A publisher as every signed-in caller sees it: no payout reference,
/// not who verified it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PublicProfile {
    /// The developer account.
    pub account_id: String,
    /// The name the marketplace shows.
    pub display_name: String,
    /// The website (an https URL), if given.
    pub website: Option<String>,
    /// An email address or an https URL where users get help.
    pub support_contact: String,
    /// Whether an admin verified the publisher.
    pub verified: bool,
    /// When it was verified (Unix ms), while verified.
    pub verified_at: Option<i64>,
    /// When the profile was made (Unix ms).
    pub created_at: i64,
}

impl From<DeveloperProfileRow> for PublicProfile {
    fn from(p: DeveloperProfileRow) -> Self {
        PublicProfile {
            verified: p.verified(),
            account_id: p.account_id,
            display_name: p.display_name,
            website: p.website,
            support_contact: p.support_contact,
            verified_at: p.verified_at,
            created_at: p.created_at,
        }
    }
}

/// `PUT /v1/developer/profile`'s body: every field the developer writes
/// (the profile is replaced; an omitted optional field is cleared).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutProfile {
    /// The name the marketplace shows: 1 to 100 characters.
    display_name: String,
    /// The website: an https URL.
    #[serde(default)]
    website: Option<String>,
    /// An email address or an https URL where users get help.
    support_contact: String,
    /// The reference of the payout account billing pays to (letters,
    /// digits, `_ - . :`, up to 128).
    #[serde(default)]
    payout_account: Option<String>,
}

/// `POST /v1/admin/publishers/{account_id}/verification`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// Whether the publisher is verified.
    verified: bool,
}

/// `POST /v1/integrations/{name}/maintainers`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMaintainer {
    /// The email of the developer account to add.
    pub(crate) email: String,
}

/// One co-maintainer of an integration.
#[derive(Debug, Serialize, ToSchema)]
pub struct Maintainer {
    /// Their account.
    pub account_id: String,
    /// The owner who added them.
    pub added_by: String,
    /// When (Unix ms).
    pub added_at: i64,
}

impl From<MaintainerRow> for Maintainer {
    fn from(m: MaintainerRow) -> Self {
        Maintainer {
            account_id: m.account_id,
            added_by: m.added_by,
            added_at: m.added_at,
        }
    }
}

/// Who publishes an integration: its owner and co-maintainers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Maintainers {
    /// The integration's name.
    pub integration: String,
    /// The account that owns the name (published its first approved version).
    pub owner: String,
    /// Its co-maintainers, earliest added first.
    pub maintainers: Vec<Maintainer>,
}

/// A publisher failure as the API answers it.
fn publisher_error(e: PublisherError) -> ApiError {
    match e {
        PublisherError::Invalid { field, message } => ApiError::invalid(field, message),
        PublisherError::NoProfile => ApiError::not_found("developer profile"),
        PublisherError::NotOwner(_) => ApiError::not_found("integration"),
        PublisherError::NoSuchMaintainer => ApiError::not_found("co-maintainer"),
        PublisherError::Store(e) => e.into(),
    }
}

/// The caller's own developer profile, payout reference included.
#[utoipa::path(
    get,
    path = "/v1/developer/profile",
    tag = "publishers",
    security(("api_token" = ["publish"]), ("session" = ["publish"])),
    responses(
        (status = 200, description = "The caller's profile.", body = DeveloperProfile),
        (status = 404, description = "The caller has not made a profile yet (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn my_profile(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<DeveloperProfile>, ApiError> {
    let principal = caller.require(Scope::Publish)?;
    let profile = publishers::profile(&platform.store, principal.owner())
        .await
        .map_err(publisher_error)?;
    Ok(Json(profile.into()))
}

/// Make or replace the caller's developer profile.
///
/// Every field is written: an omitted `website` or `payout_account` is
/// cleared. Changing the display name or the website clears the
/// verification (an admin verifies again).
#[utoipa::path(
    put,
    path = "/v1/developer/profile",
    tag = "publishers",
    security(("api_token" = ["publish"]), ("session" = ["publish"], "csrf" = [])),
    request_body = PutProfile,
    responses(
        (status = 200, description = "The profile as stored.", body = DeveloperProfile),
        (status = 400, description = "A field is wrong (`invalid_input`, `details.field` names it: `display_name`, `website`, `support_contact` or `payout_account`).", body = ErrorBody),
    ),
)]
pub async fn put_profile(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    ApiJson(body): ApiJson<PutProfile>,
) -> Result<Json<DeveloperProfile>, ApiError> {
    let principal = caller.require(Scope::Publish)?;
    let input = ProfileInput {
        display_name: body.display_name,
        website: body.website,
        support_contact: body.support_contact,
        payout_account: body.payout_account,
    };
    let profile = publishers::put_profile(&platform.store, principal.owner(), &input)
        .await
        .map_err(publisher_error)?;
    Ok(Json(profile.into()))
}

/// A publisher's public profile.
#[utoipa::path(
    get,
    path = "/v1/publishers/{account_id}",
    tag = "publishers",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    params(("account_id" = String, Path, description = "The publisher's account id.")),
    responses(
        (status = 200, description = "The public profile: no payout reference.", body = PublicProfile),
        (status = 404, description = "That account has no developer profile (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn public_profile(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(account_id): Path<String>,
) -> Result<Json<PublicProfile>, ApiError> {
    caller.require(Scope::Read)?;
    let profile = publishers::profile(&platform.store, &account_id)
        .await
        .map_err(publisher_error)?;
    Ok(Json(profile.into()))
}

/// Mark a publisher verified, or not (admins only).
#[utoipa::path(
    post,
    path = "/v1/admin/publishers/{account_id}/verification",
    tag = "publishers",
    security(("api_token" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
    params(("account_id" = String, Path, description = "The publisher's account id.")),
    request_body = Verification,
    responses(
        (status = 200, description = "The profile as stored, with who verified it and when.", body = DeveloperProfile),
        (status = 404, description = "That account has no developer profile (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn verify(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(account_id): Path<String>,
    ApiJson(body): ApiJson<Verification>,
) -> Result<Json<DeveloperProfile>, ApiError> {
    let admin = caller.require(Scope::Admin)?;
    let profile = publishers::set_verified(
        &platform.store,
        &account_id,
        body.verified,
        &admin.account_id,
    )
    .await
    .map_err(publisher_error)?;
    Ok(Json(profile.into()))
}

/// The owner and co-maintainers of an integration, for them only.
#[utoipa::path(
    get,
    path = "/v1/integrations/{name}/maintainers",
    tag = "publishers",
    security(("api_token" = ["publish"]), ("session" = ["publish"])),
    params(("name" = String, Path, description = "The integration's name.")),
    responses(
        (status = 200, description = "Its owner and co-maintainers.", body = Maintainers),
        (status = 404, description = "No approved integration of that name of which the caller is the owner or a co-maintainer (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn list_maintainers(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Json<Maintainers>, ApiError> {
    let principal = caller.require(Scope::Publish)?;
    let (owner, maintainers) = publishers::maintainers(&platform.store, &name, principal.owner())
        .await
        .map_err(publisher_error)?;
    Ok(Json(Maintainers {
        integration: name,
        owner,
        maintainers: maintainers.into_iter().map(Maintainer::from).collect(),
    }))
}

/// Add a co-maintainer (the integration's owner only).
///
/// They may then submit new versions of the integration; the name stays
/// the owner's. Adding someone twice changes nothing (200).
#[utoipa::path(
    post,
    path = "/v1/integrations/{name}/maintainers",
    tag = "publishers",
    security(("api_token" = ["publish"]), ("session" = ["publish"], "csrf" = [])),
    params(("name" = String, Path, description = "The integration's name.")),
    request_body = AddMaintainer,
    responses(
        (status = 201, description = "Added.", body = Maintainer),
        (status = 200, description = "They already were a co-maintainer.", body = Maintainer),
        (status = 400, description = "`email` is not a developer account's, or is the owner's (`invalid_input`, `details.field` = `email`).", body = ErrorBody),
        (status = 404, description = "No approved integration of that name owned by the caller (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn add_maintainer(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<AddMaintainer>,
) -> Result<(StatusCode, Json<Maintainer>), ApiError> {
    let principal = caller.require(Scope::Publish)?;
    let (row, added) =
        publishers::add_maintainer(&platform.store, &name, principal.owner(), &body.email)
            .await
            .map_err(publisher_error)?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(row.into())))
}

/// Remove a co-maintainer (the integration's owner only).
///
/// Their versions still pending review can no longer be approved.
#[utoipa::path(
    delete,
    path = "/v1/integrations/{name}/maintainers/{account_id}",
    tag = "publishers",
    security(("api_token" = ["publish"]), ("session" = ["publish"], "csrf" = [])),
    params(
        ("name" = String, Path, description = "The integration's name."),
        ("account_id" = String, Path, description = "The co-maintainer's account id."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "No approved integration of that name owned by the caller, or that account is not its co-maintainer (`not_found`).", body = ErrorBody),
    ),
)]
pub async fn remove_maintainer(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path((name, account_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let principal = caller.require(Scope::Publish)?;
    publishers::remove_maintainer(&platform.store, &name, principal.owner(), &account_id)
        .await
        .map_err(publisher_error)?;
    Ok(StatusCode::NO_CONTENT)
}
