//! Stripe for Workway: list charges, read and create customers of the
//! user's connected Stripe account (Stripe Connect OAuth, scope
//! `read_write`), through Stripe's REST API at `https://api.stripe.com`.

mod api;
mod model;

use std::collections::BTreeMap;

use workway_sdk::prelude::*;

use api::Stripe;
use model::List;
pub use model::{Charge, Customer};

/// Stripe's largest page size for list endpoints.
const PAGE_LIMIT: usize = 100;

/// Which charges to list.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListChargesInput {
    /// Only the charges of this customer (`cus_...`).
    #[serde(default)]
    pub customer: Option<String>,
    /// Only the charges created after this moment, in Unix seconds.
    #[serde(default)]
    pub created_after: Option<u64>,
    /// The most charges to return, 1 to 1000 (default 10); pages of up to 100 are fetched until this many are collected.
    #[serde(default = "default_max_results")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_results: u32,
}

fn default_max_results() -> u32 {
    10
}

/// The charges found.
#[derive(Serialize, JsonSchema)]
pub struct ListChargesOutput {
    /// The charges, newest first.
    pub charges: Vec<Charge>,
    /// Whether Stripe holds more matching charges than were returned (raise `max_results` or narrow with `created_after` to see them).
    pub has_more: bool,
}

/// List the connected account's charges, newest first, optionally only one customer's or only those created after a time.
#[action]
fn list_charges(ctx: &Context, input: ListChargesInput) -> Result<ListChargesOutput> {
    if !(1..=1000).contains(&input.max_results) {
        return Err(Error::invalid_input(format!(
            "`max_results` must be between 1 and 1000; got {}",
            input.max_results
        )));
    }
    if let Some(customer) = &input.customer {
        check_id("customer", customer, "cus_", "a customer")?;
    }
    let max = input.max_results as usize;
    let stripe = Stripe::connect(ctx)?;
    let mut charges: Vec<Charge> = Vec::new();
    let mut starting_after: Option<String> = None;
    let mut has_more = false;
    while charges.len() < max {
        let mut query = vec![("limit", (max - charges.len()).min(PAGE_LIMIT).to_string())];
        if let Some(customer) = &input.customer {
            query.push(("customer", customer.clone()));
        }
        if let Some(after) = input.created_after {
            query.push(("created[gt]", after.to_string()));
        }
        if let Some(id) = &starting_after {
            query.push(("starting_after", id.clone()));
        }
        let page: List<Charge> = stripe.get("/v1/charges", &query)?.json()?;
        has_more = page.has_more;
        let Some(last) = page.data.last() else {
            break;
        };
        starting_after = Some(last.id.clone());
        charges.extend(page.data);
        if !has_more {
            break;
        }
    }
    if charges.len() > max {
        charges.truncate(max);
        has_more = true;
    }
    Ok(ListChargesOutput { charges, has_more })
}

/// Which customer to read.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetCustomerInput {
    /// The customer's id, as Stripe shows it (`cus_...`).
    pub customer_id: String,
}

/// Read one customer of the connected account by id; a deleted customer counts as not found.
#[action]
fn get_customer(ctx: &Context, input: GetCustomerInput) -> Result<Customer> {
    let id = &input.customer_id;
    check_id("customer_id", id, "cus_", "a customer")?;
    let stripe = Stripe::connect(ctx)?;
    let response = stripe.get(&format!("/v1/customers/{id}"), &[])?;
    let object: serde_json::Value = response.json()?;
    if object.get("deleted") == Some(&serde_json::Value::Bool(true)) {
        return Err(Error::not_found(format!(
            "Stripe customer {id} has been deleted"
        )));
    }
    serde_json::from_value(object).map_err(|e| Error::Upstream {
        status: response.status,
        message: format!("Stripe's customer is not the expected JSON: {e}"),
    })
}

/// The customer to create.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCustomerInput {
    /// The customer's email address.
    #[serde(default)]
    pub email: Option<String>,
    /// The customer's full name or business name.
    #[serde(default)]
    pub name: Option<String>,
    /// A free-form description, shown in the Stripe Dashboard.
    #[serde(default)]
    pub description: Option<String>,
    /// The customer's phone number.
    #[serde(default)]
    pub phone: Option<String>,
    /// Key-value pairs to attach: at most 50 keys, keys up to 40 characters (no square brackets), values up to 500 characters.
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Create a customer in the connected account; retried attempts of one workflow step create it only once (Stripe idempotency keys).
#[action]
fn create_customer(ctx: &Context, input: CreateCustomerInput) -> Result<Customer> {
    check_metadata(&input.metadata)?;
    let mut fields: Vec<(String, String)> = [
        ("email", input.email),
        ("name", input.name),
        ("description", input.description),
        ("phone", input.phone),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k.to_string(), v?)))
    .collect();
    fields.extend(
        input
            .metadata
            .into_iter()
            .map(|(k, v)| (format!("metadata[{k}]"), v)),
    );
    let stripe = Stripe::connect(ctx)?;
    let response = stripe.post_form("/v1/customers", &fields, ctx.idempotency_key())?;
    if response.header("idempotent-replayed") == Some("true") {
        ctx.set_metadata("idempotent-replayed", "true");
    }
    response.json()
}

/// `Ok` if `value` looks like a Stripe id with `prefix` (`cus_` and
/// letters and digits): it goes into a URL path, so nothing else may pass.
fn check_id(field: &str, value: &str, prefix: &str, what: &str) -> Result<()> {
    let valid = value.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 250 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if valid {
        return Ok(());
    }
    let shown: String = value.chars().take(60).collect();
    Err(Error::invalid_input(format!(
        "`{field}` must be the id of {what} as Stripe shows it, `{prefix}` then letters and digits (like `{prefix}NffrFeUfNV2Hib`); got `{shown}`"
    )))
}

/// Stripe's metadata limits, checked before sending so the user learns
/// which key is wrong without a round trip.
fn check_metadata(metadata: &BTreeMap<String, String>) -> Result<()> {
    if metadata.len() > 50 {
        return Err(Error::invalid_input(format!(
            "`metadata` has {} keys; Stripe allows at most 50",
            metadata.len()
        )));
    }
    for (key, value) in metadata {
        let shown: String = key.chars().take(60).collect();
        if key.is_empty() || key.chars().count() > 40 {
            return Err(Error::invalid_input(format!(
                "`metadata` key `{shown}` must be 1 to 40 characters long; it has {}",
                key.chars().count()
            )));
        }
        if key.contains(['[', ']']) {
            return Err(Error::invalid_input(format!(
                "`metadata` key `{shown}` must not contain square brackets"
            )));
        }
        if value.chars().count() > 500 {
            return Err(Error::invalid_input(format!(
                "`metadata` value of `{shown}` has {} characters; Stripe allows at most 500",
                value.chars().count()
            )));
        }
    }
    Ok(())
}

workway_sdk::integration! {
    name: "stripe",
    actions: [list_charges, get_customer, create_customer],
}
