//! The payment provider: where buyers pay for paid integrations and
//! prepaid credit, where users' usage invoices are sent, how developers
//! are paid out, and what the provider reports back (its notifications).
//! The platform holds one ([`crate::platform::Platform::payments`]),
//! chosen by `[payments]` in the host configuration ([`PaymentsConfig`]).
//!
//! - `local`: [`LocalPayments`], the default of a single-machine install
//!   and the quickstart. It records every payment as paid at once, with
//!   the fee estimate as its fee, and moves no money. It is **not for
//!   production**: anyone can "buy" anything.
//! - `stripe`: [`StripePayments`], Stripe's real API: Checkout Sessions
//!   as destination charges to the developer's connected account
//!   (`application_fee_amount = 0`), invoices, Connect transfers, refunds
//!   reversing the transfer, and webhooks verified by `Stripe-Signature`.

mod local;
pub mod stripe;

use async_trait::async_trait;
use serde::Deserialize;

pub use local::LocalPayments;
pub use stripe::{StripePayments, StripeSettings};

/// Which payment provider the platform uses (`[payments]` in the host
/// configuration).
///
/// ```toml
/// [payments]
/// provider = "stripe"
///
/// [payments.stripe]
/// secret_key = "sk_live_..."
/// webhook_secret = "whsec_..."
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsConfig {
    /// `local` (the default: nothing is charged, not for production) or
    /// `stripe`.
    pub provider: ProviderKind,
    /// Stripe's settings, read when `provider = "stripe"`.
    pub stripe: Option<StripeSettings>,
}

/// The payment providers there are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// [`LocalPayments`].
    #[default]
    Local,
    /// [`StripePayments`].
    Stripe,
}

/// What the provider is asked to charge: an upfront purchase (`pu_...`)
/// or prepaid credit (`cr_...`).
#[derive(Debug, Clone)]
pub struct CheckoutRequest<'a> {
    /// The purchase (also the idempotency key of every call about it, and
    /// what the provider's notification names).
    pub purchase_id: &'a str,
    /// What is bought (shown to the buyer).
    pub integration: &'a str,
    /// The price (cents, USD).
    pub price_cents: i64,
    /// The developer's payout account at the provider, if they gave one:
    /// the sale goes to it with the charge.
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

/// A refund done: how much of the sale's transfer to the developer the
/// provider took back with it (cents, 0 when nothing was transferred).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Refunded {
    /// The transfer reversed, in all (cents).
    pub reversed_cents: i64,
}

/// A usage invoice to make for a finalized user statement.
#[derive(Debug, Clone)]
pub struct InvoiceRequest<'a> {
    /// The statement (the idempotency key of every call about it).
    pub statement_id: &'a str,
    /// The statement's month (`YYYY-MM`), for the description.
    pub month: &'a str,
    /// The provider's customer of the user.
    pub customer: &'a str,
    /// What is owed (cents).
    pub amount_cents: i64,
}

/// An invoice made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoiced {
    /// The provider's reference of the invoice.
    pub provider_ref: String,
    /// Where the user pays it, if the provider has a page.
    pub url: Option<String>,
    /// Paid already (the local provider).
    pub paid: bool,
}

/// A payout to send to a developer's connected account.
#[derive(Debug, Clone)]
pub struct TransferRequest<'a> {
    /// The payout (the idempotency key).
    pub payout_id: &'a str,
    /// The developer's payout account.
    pub destination: &'a str,
    /// The amount (cents).
    pub amount_cents: i64,
    /// The statement it pays (shown to the developer).
    pub statement_id: &'a str,
}

/// What a provider's notification (a webhook) reports, in the platform's
/// terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentEvent {
    /// A checkout was paid: purchase or credit `reference`, the provider's
    /// checkout `provider_ref`, its fee, and the part moved to the
    /// developer with the charge (the transfer and its amount).
    CheckoutPaid {
        /// The purchase (`pu_...`) or credit purchase (`cr_...`).
        reference: String,
        /// The provider's checkout.
        provider_ref: String,
        /// The fee the provider took, as it reports it (cents).
        fee_cents: i64,
        /// The transfer to the developer's account, and its amount.
        transfer: Option<(String, i64)>,
    },
    /// A checkout expired unpaid: nothing was bought.
    CheckoutExpired {
        /// The purchase (`pu_...`) or credit purchase (`cr_...`).
        reference: String,
    },
    /// A charge was refunded (in full or in part) at the provider.
    Refunded {
        /// The purchase.
        reference: String,
        /// Whether all of it is refunded now.
        full: bool,
        /// The sale's transfer reversed, in all (cents).
        reversed_cents: i64,
    },
    /// A usage invoice was paid.
    InvoicePaid {
        /// The provider's invoice.
        provider_ref: String,
    },
    /// Collecting a usage invoice failed (the provider tries again).
    InvoicePaymentFailed {
        /// The provider's invoice.
        provider_ref: String,
    },
    /// Something the platform does not act on (acknowledged).
    Ignored,
}

/// A notification verified as the provider's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The provider's event id (applied once).
    pub id: String,
    /// The provider's event type (`checkout.session.completed`).
    pub kind: String,
    /// What it means.
    pub event: PaymentEvent,
}

/// Why the provider did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    /// The provider refused the request (a 4xx with its reason): asking
    /// again will not help.
    #[error("the payment provider refused: {0}")]
    Refused(String),
    /// The provider could not be reached or failed (a 5xx, a 429, the
    /// network): asking again later may work.
    #[error("the payment provider is unavailable: {0}")]
    Unavailable(String),
}

/// Why a notification was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// This provider sends no notifications.
    #[error("the `{0}` payment provider sends no notifications")]
    Unsupported(&'static str),
    /// The signature is missing, malformed, wrong or too old.
    #[error("the notification's signature does not verify: {0}")]
    Signature(String),
    /// The body is not a notification.
    #[error("the notification is not readable: {0}")]
    Malformed(String),
    /// Reading what the notification names from the provider failed.
    #[error("{0}")]
    Provider(#[from] PaymentError),
}

/// Takes payments, sends invoices and payouts, and reads the provider's
/// notifications.
#[async_trait]
pub trait PaymentProvider: Send + Sync {
    /// The provider's name as rows store it (`local`, `stripe`).
    fn name(&self) -> &'static str;

    /// Start charging the buyer for `request`.
    async fn checkout(&self, request: &CheckoutRequest<'_>) -> Result<Checkout, PaymentError>;

    /// Refund purchase `purchase_id`, which the provider knows as
    /// `provider_ref`, in full (taking back its transfer to the developer).
    async fn refund(&self, provider_ref: &str, purchase_id: &str)
    -> Result<Refunded, PaymentError>;

    /// The provider's customer for account `account_id` (made now; the
    /// caller keeps it).
    async fn customer(&self, account_id: &str, email: &str) -> Result<String, PaymentError>;

    /// Make and send the usage invoice `request`.
    async fn invoice(&self, request: &InvoiceRequest<'_>) -> Result<Invoiced, PaymentError>;

    /// Send payout `request` to the developer's account; returns the
    /// provider's transfer.
    async fn transfer(&self, request: &TransferRequest<'_>) -> Result<String, PaymentError>;

    /// Verify and read a notification: its `signature` header and raw
    /// `body`, at Unix time `now_s` (an event the platform does not act on
    /// is [`PaymentEvent::Ignored`]).
    async fn notification(
        &self,
        signature: Option<&str>,
        body: &[u8],
        now_s: i64,
    ) -> Result<Notification, NotificationError>;
}
