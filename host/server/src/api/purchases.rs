//! Buying a paid integration and refunding a purchase.
//!
//! - `POST /v1/integrations/{name}/purchase` (scope `run`): the price
//!   from the listing, the card fee estimate, the payment provider's
//!   checkout; paid at once by the local provider (not for production), or
//!   pending with a `checkout_url` where the buyer pays;
//! - `GET /v1/billing/purchases` (scope `read`): the caller's purchases;
//! - `POST /v1/admin/purchases/{id}/refund` (scope `admin`): refunded in
//!   full, the entitlement removed, the sale reversed in the ledger.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use workway_engine::accounts::Scope;
use workway_engine::billing::purchases::{self, PurchaseError};
use workway_engine::catalog::CatalogError;
use workway_engine::platform::Platform;
use workway_engine::review::RegistryError;
use workway_store::billing::PurchaseRow;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};

/// A purchase.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchaseView {
    /// Its id.
    pub id: String,
    /// The integration bought.
    pub integration: String,
    /// The price (cents).
    pub price_cents: i64,
    /// The card fee shown before paying (cents): round(2.9% x price) + 30.
    pub fee_estimate_cents: i64,
    /// The fee the payment provider took (cents), once paid.
    pub fee_cents: Option<i64>,
    /// What the developer receives: the price minus the fee (cents), once paid.
    pub developer_cents: Option<i64>,
    /// `pending`, `paid`, `refunded` or `expired` (the checkout ended unpaid).
    pub state: String,
    /// The payment provider (`local`: recorded as paid, no money moved).
    pub provider: String,
    /// When it was made (Unix ms).
    pub created_at: i64,
    /// When it last moved (Unix ms).
    pub updated_at: i64,
}

impl From<&PurchaseRow> for PurchaseView {
    fn from(p: &PurchaseRow) -> PurchaseView {
        PurchaseView {
            id: p.id.clone(),
            integration: p.integration.clone(),
            price_cents: p.price_cents,
            fee_estimate_cents: p.fee_estimate_cents,
            fee_cents: p.fee_cents,
            developer_cents: p.fee_cents.map(|fee| p.price_cents - fee),
            state: p.state.as_str().to_string(),
            provider: p.provider.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// A purchase started.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoughtView {
    /// The purchase as it stands.
    pub purchase: PurchaseView,
    /// Where the buyer pays, when the provider asks them to; `null` when
    /// it is paid already.
    pub checkout_url: Option<String>,
}

/// The caller's purchases.
#[derive(Debug, Serialize, ToSchema)]
pub struct PurchasesView {
    /// Newest first.
    pub items: Vec<PurchaseView>,
}

/// A purchase failure as the API answers it.
pub(super) fn purchase_error(e: PurchaseError) -> ApiError {
    match e {
        PurchaseError::Catalog(CatalogError::Registry(RegistryError::NotApproved(_))) => {
            ApiError::not_found("integration")
        }
        PurchaseError::Catalog(CatalogError::Revoked { .. }) => {
            ApiError::new(StatusCode::CONFLICT, "not_installable", e.to_string())
        }
        PurchaseError::Free(_) => ApiError::new(StatusCode::CONFLICT, "free", e.to_string())
            .with_details(json!({"field": "integration"})),
        PurchaseError::AlreadyEntitled(_) => {
            ApiError::new(StatusCode::CONFLICT, "already_entitled", e.to_string())
        }
        PurchaseError::NotFound => ApiError::not_found("purchase"),
        PurchaseError::NotPaid(_) => ApiError::new(StatusCode::CONFLICT, "not_paid", e.to_string()),
        PurchaseError::Provider(e) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "payment_provider",
            format!("{e}; try again later"),
        ),
        PurchaseError::Store(e) => e.into(),
        PurchaseError::Listing(e) => super::listings::listing_error(e),
        e => ApiError::internal(&e),
    }
}

/// Buy a paid integration.
///
/// The price comes from its listing; the card fee estimate is shown. The
/// local payment provider records the purchase as paid at once (not for
/// production); a card provider answers with the `checkout_url` where the
/// buyer pays, and the purchase is paid when the provider says so. Once
/// paid, the caller may install it.
#[utoipa::path(
    post,
    path = "/v1/integrations/{name}/purchase",
    tag = "billing",
    security(("api_token" = ["run"]), ("session" = ["run"], "csrf" = [])),
    params(("name" = String, Path, description = "The integration to buy.")),
    responses(
        (status = 201, description = "The purchase, paid or waiting at `checkout_url`.", body = BoughtView),
        (status = 404, description = "No approved version of that integration (`not_found`).", body = ErrorBody),
        (status = 409, description = "It is free (`free`), or the caller may install it already (`already_entitled`).", body = ErrorBody),
        (status = 502, description = "The payment provider refused (`payment_provider`).", body = ErrorBody),
    ),
)]
pub async fn buy(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<(StatusCode, Json<BoughtView>), ApiError> {
    let principal = caller.require(Scope::Run)?;
    let bought = purchases::buy(&platform, &principal.account_id, &name)
        .await
        .map_err(purchase_error)?;
    Ok((
        StatusCode::CREATED,
        Json(BoughtView {
            purchase: (&bought.purchase).into(),
            checkout_url: bought.checkout_url,
        }),
    ))
}

/// The caller's purchases, newest first.
#[utoipa::path(
    get,
    path = "/v1/billing/purchases",
    tag = "billing",
    security(("api_token" = ["read"]), ("session" = ["read"])),
    responses((status = 200, description = "The caller's purchases.", body = PurchasesView)),
)]
pub async fn list(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
) -> Result<Json<PurchasesView>, ApiError> {
    let principal = caller.require(Scope::Read)?;
    let rows = platform
        .store
        .billing()
        .purchases_of(&principal.account_id)
        .await?;
    Ok(Json(PurchasesView {
        items: rows.iter().map(Into::into).collect(),
    }))
}

/// Refund a paid purchase in full (admins).
///
/// Through the payment provider that took it; the buyer's entitlement is
/// removed (installing again needs a new purchase) and the sale is
/// reversed in the ledger.
#[utoipa::path(
    post,
    path = "/v1/admin/purchases/{id}/refund",
    tag = "billing",
    security(("api_token" = ["admin"]), ("session" = ["admin"], "csrf" = [])),
    params(("id" = String, Path, description = "The purchase.")),
    responses(
        (status = 200, description = "The purchase, refunded.", body = PurchaseView),
        (status = 403, description = "The credential lacks the `admin` scope (`forbidden`).", body = ErrorBody),
        (status = 404, description = "No such purchase (`not_found`).", body = ErrorBody),
        (status = 409, description = "It is not paid (`not_paid`).", body = ErrorBody),
        (status = 502, description = "The payment provider refused (`payment_provider`).", body = ErrorBody),
    ),
)]
pub async fn refund(
    State(platform): State<Arc<Platform>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PurchaseView>, ApiError> {
    caller.require(Scope::Admin)?;
    let row = purchases::refund(&platform, &id)
        .await
        .map_err(purchase_error)?;
    Ok(Json((&row).into()))
}
