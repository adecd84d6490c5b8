//! Buying a paid integration and refunding the purchase: the price from
//! its listing, the fee estimate shown before paying, the payment
//! provider's checkout, and the purchase moved to paid (entitlement and
//! ledger in one transaction) when the provider says it is paid.

use workway_store::StoreError;
use workway_store::billing::{CreditPurchaseRow, NewPurchase, PurchaseRow, PurchaseState};

use super::payments::{Checkout, CheckoutRequest, PaymentError};
use super::tariff::card_fee_estimate_cents;
use crate::catalog::CatalogError;
use crate::marketplace::listings::{ListingError, price_cents};
use crate::platform::Platform;

/// Why a purchase or refund was refused.
#[derive(Debug, thiserror::Error)]
pub enum PurchaseError {
    /// The integration has no approved version to buy.
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    /// It is free: install it instead.
    #[error("`{0}` is free: install it, there is nothing to buy")]
    Free(String),
    /// The account may install it already.
    #[error("you may install `{0}` already: it is bought, or you publish it")]
    AlreadyEntitled(String),
    /// No such purchase.
    #[error("no such purchase")]
    NotFound,
    /// The purchase is not paid, so there is nothing to refund.
    #[error("the purchase is {0}, not paid: there is nothing to refund")]
    NotPaid(PurchaseState),
    /// A credit amount outside what may be bought.
    #[error("credit is bought from $5.00 to $1,000.00 at a time, in whole cents; {0} cents is not")]
    CreditAmount(i64),
    /// The payment provider refused.
    #[error("{0}")]
    Provider(#[from] PaymentError),
    /// Reading the listing failed.
    #[error("{0}")]
    Listing(#[from] ListingError),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// A purchase started: paid already, or waiting for the buyer at
/// `checkout_url`.
#[derive(Debug, Clone)]
pub struct Bought {
    /// The purchase as it stands.
    pub purchase: PurchaseRow,
    /// Where the buyer pays, when the provider asks them to.
    pub checkout_url: Option<String>,
}

/// `account` buys `integration`: its price (from the listing, or the
/// approved manifest) with the fee estimate, the provider's checkout, and
/// the purchase paid at once when the provider says so.
pub async fn buy(
    platform: &Platform,
    account: &str,
    integration: &str,
) -> Result<Bought, PurchaseError> {
    let approved = platform.catalog.get(integration, None).await?;
    let store = &platform.store;
    let Some(price) = price_cents(store, integration, &approved.manifest).await? else {
        return Err(PurchaseError::Free(integration.to_string()));
    };
    if crate::marketplace::listings::require_entitlement(
        store,
        account,
        integration,
        &approved.manifest,
    )
    .await
    .is_ok()
    {
        return Err(PurchaseError::AlreadyEntitled(integration.to_string()));
    }
    let billing = store.billing();
    let id = format!("pu_{}", uuid::Uuid::new_v4().simple());
    let now = workway_store::clock::now_ms();
    let provider = &platform.payments;
    let purchase = billing
        .create_purchase(&NewPurchase {
            id: &id,
            account_id: account,
            integration,
            price_cents: price,
            fee_estimate_cents: card_fee_estimate_cents(price),
            provider: provider.name(),
            now,
        })
        .await?;
    let payout_account = match &purchase.developer {
        Some(developer) => store
            .publishers()
            .profile(developer)
            .await?
            .and_then(|p| p.payout_account),
        None => None,
    };
    let checkout = provider
        .checkout(&CheckoutRequest {
            purchase_id: &id,
            integration,
            price_cents: price,
            payout_account: payout_account.as_deref(),
        })
        .await?;
    let checkout_url = match checkout {
        Checkout::Redirect { provider_ref, url } => {
            billing.set_provider_ref(&id, &provider_ref).await?;
            Some(url)
        }
        Checkout::Paid {
            provider_ref,
            fee_cents,
        } => {
            billing.set_provider_ref(&id, &provider_ref).await?;
            billing
                .mark_paid(&id, fee_cents, workway_store::clock::now_ms())
                .await?;
            None
        }
    };
    let purchase = billing
        .purchase_by_id(&id)
        .await?
        .ok_or(PurchaseError::NotFound)?;
    Ok(Bought {
        purchase,
        checkout_url,
    })
}

/// Refund paid purchase `id` in full through its provider: the
/// entitlement is removed, the sale reversed, and the part of it the
/// provider had moved to the developer taken back.
pub async fn refund(platform: &Platform, id: &str) -> Result<PurchaseRow, PurchaseError> {
    let billing = platform.store.billing();
    let purchase = billing
        .purchase_by_id(id)
        .await?
        .ok_or(PurchaseError::NotFound)?;
    if purchase.state != PurchaseState::Paid {
        return Err(PurchaseError::NotPaid(purchase.state));
    }
    if purchase.provider != platform.payments.name() {
        return Err(PurchaseError::Provider(PaymentError::Refused(format!(
            "the purchase was paid through `{}`, and this server uses `{}`",
            purchase.provider,
            platform.payments.name()
        ))));
    }
    let provider_ref = purchase.provider_ref.clone().unwrap_or_default();
    let refunded = platform.payments.refund(&provider_ref, id).await?;
    let now = workway_store::clock::now_ms();
    billing.mark_refunded(id, now).await?;
    billing
        .record_transfer_reversal(
            id,
            &purchase.provider,
            refunded.reversed_cents,
            purchase.developer.as_deref(),
            now,
        )
        .await?;
    billing
        .purchase_by_id(id)
        .await?
        .ok_or(PurchaseError::NotFound)
}

/// The least prepaid credit bought at a time (cents).
pub const MIN_CREDIT_CENTS: i64 = 500;

/// The most prepaid credit bought at a time (cents).
pub const MAX_CREDIT_CENTS: i64 = 100_000;

/// `account` buys `amount_cents` of prepaid credit through the payment
/// provider: credited at once when the provider says it is paid, or
/// pending with the checkout's URL. Statements draw it down.
pub async fn buy_credit(
    platform: &Platform,
    account: &str,
    amount_cents: i64,
) -> Result<(CreditPurchaseRow, Option<String>), PurchaseError> {
    if !(MIN_CREDIT_CENTS..=MAX_CREDIT_CENTS).contains(&amount_cents) {
        return Err(PurchaseError::CreditAmount(amount_cents));
    }
    let billing = platform.store.billing();
    let id = format!("cr_{}", uuid::Uuid::new_v4().simple());
    let provider = &platform.payments;
    billing
        .create_credit_purchase(
            &id,
            account,
            amount_cents,
            provider.name(),
            workway_store::clock::now_ms(),
        )
        .await?;
    let checkout = provider
        .checkout(&CheckoutRequest {
            purchase_id: &id,
            integration: "prepaid credit",
            price_cents: amount_cents,
            payout_account: None,
        })
        .await?;
    let url = match checkout {
        Checkout::Redirect { provider_ref, url } => {
            billing.set_credit_provider_ref(&id, &provider_ref).await?;
            Some(url)
        }
        Checkout::Paid { provider_ref, .. } => {
            billing
                .mark_credit_paid(&id, &provider_ref, workway_store::clock::now_ms())
                .await?;
            None
        }
    };
    let row = billing
        .credit_purchase_by_id(&id)
        .await?
        .ok_or(PurchaseError::NotFound)?;
    Ok((row, url))
}
