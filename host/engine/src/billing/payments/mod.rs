//! The payment provider: where a buyer pays for a paid integration, and
//! how a purchase is refunded. The platform holds one
//! ([`crate::platform::Platform::payments`]).
//!
//! [`LocalPayments`] is the default of a single-machine install and the
//! quickstart: it records every payment as paid at once, with the fee
//! estimate as its fee, and moves no money. It is **not for production**:
//! anyone can "buy" anything. A provider that charges cards (Stripe
//! Checkout with destination charges to the developer's connected account)
//! implements the same trait.

use async_trait::async_trait;

use super::tariff::card_fee_estimate_cents;

/// What the provider is asked to charge.
#[derive(Debug, Clone)]
pub struct CheckoutRequest<'a> {
    /// The purchase (also the idempotency key of every call about it).
    pub purchase_id: &'a str,
    /// The integration bought (shown to the buyer).
    pub integration: &'a str,
    /// The price (cents, USD).
    pub price_cents: i64,
    /// The developer's payout account at the provider, if they gave one.
    pub payout_account: Option<&'a str>,
}

/// How a checkout started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// The buyer pays at `url`; the provider reports the payment later.
    Redirect {
        /// The provider's reference of this checkout.
        provider_ref: String,
        /// Where the buyer's browser goes to pay.
        url: String,
    },
    /// Paid already, with the provider's fee.
    Paid {
        /// The provider's reference of this payment.
        provider_ref: String,
        /// The fee the provider took (cents).
        fee_cents: i64,
    },
}

/// Why the provider did not do what was asked.
#[derive(Debug, thiserror::Error)]
#[error("the payment provider refused: {0}")]
pub struct PaymentError(pub String);

/// Takes payments for purchases and refunds them.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's name as purchases store it (`local`, `stripe`).
    fn name(&self) -> &'static str;

    /// Start charging the buyer for `request`.
    async fn checkout(&self, request: &CheckoutRequest<'_>) -> Result<Checkout, PaymentError>;

    /// Refund the payment the provider knows as `provider_ref` in full.
    async fn refund(&self, provider_ref: &str, purchase_id: &str) -> Result<(), PaymentError>;
}

/// Records every payment as paid at once, the fee estimate as its fee;
/// moves no money. For the quickstart and single-machine trials only.
#[derive(Debug, Default)]
pub struct LocalPayments;

#[async_trait]
impl PaymentProvider for LocalPayments {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn checkout(&self, request: &CheckoutRequest<'_>) -> Result<Checkout, PaymentError> {
        tracing::warn!(
            purchase = request.purchase_id,
            integration = request.integration,
            "local payments: recorded as paid without charging anyone (not for production)"
        );
        Ok(Checkout::Paid {
            provider_ref: format!("local_{}", request.purchase_id),
            fee_cents: card_fee_estimate_cents(request.price_cents),
        })
    }

    async fn refund(&self, _provider_ref: &str, purchase_id: &str) -> Result<(), PaymentError> {
        tracing::warn!(
            purchase = purchase_id,
            "local payments: refund recorded, no money moved"
        );
        Ok(())
    }
}
