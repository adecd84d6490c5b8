//! Stripe's objects as the API returns them (API version
//! [`STRIPE_VERSION`](crate::api::STRIPE_VERSION)), reduced to the fields the
//! actions return. Unknown fields are ignored, so Stripe adding fields
//! never breaks parsing.

use std::collections::BTreeMap;

use workway_sdk::prelude::*;

/// A charge (`"object": "charge"`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Charge {
    /// The charge's id (`ch_...`).
    pub id: String,
    /// The amount charged, in the currency's smallest unit (cents for USD, yen for JPY).
    pub amount: i64,
    /// Three-letter ISO currency code, lower-case (`usd`).
    pub currency: String,
    /// `succeeded`, `pending` or `failed`.
    pub status: String,
    /// Whether the charge succeeded or was authorised for later capture.
    pub paid: bool,
    /// Whether the charge has been fully refunded.
    pub refunded: bool,
    /// How much has been refunded, in the smallest currency unit.
    pub amount_refunded: i64,
    /// The id of the customer charged (`cus_...`), if any.
    pub customer: Option<String>,
    /// The charge's description, if any.
    pub description: Option<String>,
    /// Where the receipt was sent, if anywhere.
    pub receipt_email: Option<String>,
    /// When the charge was created, in Unix seconds.
    pub created: i64,
}

/// A customer (`"object": "customer"`).
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
pub struct Customer {
    /// The customer's id (`cus_...`).
    pub id: String,
    /// The customer's email address, if known.
    pub email: Option<String>,
    /// The customer's full name or business name, if known.
    pub name: Option<String>,
    /// A free-form description, if any.
    pub description: Option<String>,
    /// The customer's phone number, if known.
    pub phone: Option<String>,
    /// When the customer was created, in Unix seconds.
    pub created: i64,
    /// The currency the customer is billed in (`usd`), once one is set.
    pub currency: Option<String>,
    /// The customer's credit balance in the smallest currency unit: negative
    /// is credit, positive is owed on the next invoice.
    pub balance: i64,
    /// Whether the customer's latest invoice is overdue (null when Stripe does not say).
    pub delinquent: Option<bool>,
    /// The key-value pairs attached to the customer.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// One page of a list endpoint (`"object": "list"`).
#[derive(Debug, Deserialize)]
pub struct List<T> {
    /// The page's objects, newest first.
    pub data: Vec<T>,
    /// Whether more objects follow this page.
    pub has_more: bool,
}

/// Stripe's error body: `{"error": {...}}`.
#[derive(Debug, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: StripeError,
}

/// The `error` object of a failed request.
#[derive(Debug, Default, Deserialize)]
pub struct StripeError {
    /// `api_error`, `card_error`, `idempotency_error` or `invalid_request_error`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// A short machine-readable code (`resource_missing`, `rate_limit`, ...).
    #[serde(default)]
    pub code: Option<String>,
    /// For card errors, the issuer's reason (`insufficient_funds`, ...).
    #[serde(default)]
    pub decline_code: Option<String>,
    /// A human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// The parameter the error relates to.
    #[serde(default)]
    pub param: Option<String>,
}
