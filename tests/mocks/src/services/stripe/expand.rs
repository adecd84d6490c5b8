//! `expand[]`: Stripe's expansion of id fields into the objects they name,
//! along dotted paths of up to four levels
//! (`payment_intent.latest_charge.balance_transaction`). Which fields of
//! which object can be expanded follows Stripe's API reference; an id of
//! an object the mock does not keep stays an id, a null stays null, and
//! `data` steps into a list (`line_items.data.price`).

use serde_json::Value;

use super::State;
use super::wire::{self, list_object};
use crate::response::MockResponse;

/// Stripe's limit on the depth of an expansion.
const MAX_DEPTH: usize = 4;

/// Expand `paths` in `object`, or Stripe's 400 for the first that cannot be.
pub(super) fn apply(
    state: &State,
    object: &mut Value,
    paths: &[String],
) -> Result<(), MockResponse> {
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        if segments.len() > MAX_DEPTH {
            return Err(wire::invalid(
                None,
                &format!(
                    "You cannot expand more than {MAX_DEPTH} levels of a property. Property: {path}"
                ),
                "expand",
            ));
        }
        let kind = object["object"].as_str().unwrap_or_default();
        if !valid(kind, &segments) {
            return Err(cannot_expand(path));
        }
        walk(state, object, &segments).map_err(|()| cannot_expand(path))?;
    }
    Ok(())
}

fn cannot_expand(path: &str) -> MockResponse {
    wire::invalid(
        None,
        &format!("This property cannot be expanded ({path})."),
        "expand",
    )
}

fn walk(state: &State, value: &mut Value, segments: &[&str]) -> Result<(), ()> {
    let Some((field, rest)) = segments.split_first() else {
        return Ok(());
    };
    if value["object"] == "list" && *field == "data" {
        if let Some(items) = value["data"].as_array_mut() {
            for item in items {
                walk(state, item, rest)?;
            }
        }
        return Ok(());
    }
    let kind = value["object"].as_str().unwrap_or_default().to_string();
    if target(&kind, field).is_none() {
        return Err(());
    }
    let owner = value["id"].as_str().unwrap_or_default().to_string();
    let Some(object) = value.as_object_mut() else {
        return Err(());
    };
    // Lists that are only there when expanded (once).
    let listed = object.get(*field).is_some_and(Value::is_object);
    match (kind.as_str(), *field) {
        _ if listed => {}
        ("checkout.session", "line_items") => {
            let items = state
                .session(&owner)
                .map(|s| s.line_items.clone())
                .unwrap_or_default();
            let url = format!("/v1/checkout/sessions/{owner}/line_items");
            object.insert("line_items".into(), list_object(items, &url));
        }
        ("charge", "refunds") => {
            let mut refunds: Vec<Value> = state
                .refunds
                .iter()
                .filter(|r| r["charge"] == owner.as_str())
                .cloned()
                .collect();
            refunds.reverse();
            let url = format!("/v1/charges/{owner}/refunds");
            object.insert("refunds".into(), list_object(refunds, &url));
        }
        _ => {}
    }
    // A field the object does not have (a charge without a transfer) has
    // nothing to expand.
    let Some(target) = object.get_mut(*field) else {
        return Ok(());
    };
    if let Some(id) = target.as_str()
        && let Some(found) = state.object(id)
    {
        *target = found;
    }
    if target.is_object() {
        walk(state, target, rest)
    } else {
        // A null, or an id the mock keeps no object for: nothing deeper.
        Ok(())
    }
}

/// What an expandable field holds once expanded.
#[derive(Debug, Clone, Copy)]
enum Target {
    /// An object of this kind.
    Object(&'static str),
    /// A list object of this kind's objects (`data` steps into it).
    List(&'static str),
    /// An object the mock does not keep, or of several kinds.
    Other,
}

/// What `field` of a `kind` object expands to, if Stripe can expand it.
fn target(kind: &str, field: &str) -> Option<Target> {
    use Target::{List, Object, Other};
    Some(match (kind, field) {
        ("checkout.session", "customer") => Object("customer"),
        ("checkout.session", "invoice") => Object("invoice"),
        ("checkout.session", "line_items") => List("item"),
        ("checkout.session", "payment_intent") => Object("payment_intent"),
        ("checkout.session", "payment_link" | "setup_intent" | "subscription") => Other,
        ("payment_intent", "customer") => Object("customer"),
        ("payment_intent", "invoice") => Object("invoice"),
        ("payment_intent", "latest_charge") => Object("charge"),
        ("payment_intent", "application" | "on_behalf_of" | "payment_method" | "review") => Other,
        ("charge", "application_fee") => Object("application_fee"),
        ("charge", "balance_transaction" | "failure_balance_transaction") => {
            Object("balance_transaction")
        }
        ("charge", "customer") => Object("customer"),
        ("charge", "invoice") => Object("invoice"),
        ("charge", "payment_intent") => Object("payment_intent"),
        ("charge", "refunds") => List("refund"),
        ("charge", "source_transfer" | "transfer") => Object("transfer"),
        ("charge", "application" | "on_behalf_of" | "review") => Other,
        ("balance_transaction", "source") => Other,
        ("transfer", "balance_transaction") => Object("balance_transaction"),
        ("transfer", "source_transaction") => Object("charge"),
        ("transfer", "destination" | "destination_payment") => Other,
        ("transfer_reversal", "balance_transaction") => Object("balance_transaction"),
        ("transfer_reversal", "source_refund") => Object("refund"),
        ("transfer_reversal", "transfer") => Object("transfer"),
        ("transfer_reversal", "destination_payment_refund") => Other,
        ("refund", "balance_transaction" | "failure_balance_transaction") => {
            Object("balance_transaction")
        }
        ("refund", "charge") => Object("charge"),
        ("refund", "payment_intent") => Object("payment_intent"),
        ("refund", "source_transfer_reversal" | "transfer_reversal") => Object("transfer_reversal"),
        ("application_fee", "balance_transaction") => Object("balance_transaction"),
        ("application_fee", "charge") => Object("charge"),
        ("application_fee", "account" | "application" | "originating_transaction") => Other,
        ("fee_refund", "balance_transaction") => Object("balance_transaction"),
        ("fee_refund", "fee") => Object("application_fee"),
        ("invoice", "charge") => Object("charge"),
        ("invoice", "customer") => Object("customer"),
        ("invoice", "payment_intent") => Object("payment_intent"),
        (
            "invoice",
            "account_tax_ids"
            | "application"
            | "default_payment_method"
            | "default_source"
            | "latest_revision"
            | "on_behalf_of"
            | "subscription"
            | "test_clock",
        ) => Other,
        ("invoiceitem", "customer") => Object("customer"),
        ("invoiceitem", "invoice") => Object("invoice"),
        ("invoiceitem", "subscription" | "test_clock") => Other,
        ("item" | "line_item", "price") => Object("price"),
        ("price", "product") => Other,
        ("customer", "default_source" | "test_clock") => Other,
        _ => return None,
    })
}

/// Whether `segments` is a path Stripe can expand from a `kind` object
/// (as far as the kinds along it are known).
fn valid(kind: &str, segments: &[&str]) -> bool {
    let Some((field, rest)) = segments.split_first() else {
        return true;
    };
    match target(kind, field) {
        None => false,
        Some(Target::Other) => true,
        Some(Target::Object(inner)) => valid(inner, rest),
        Some(Target::List(inner)) => match rest.split_first() {
            None => true,
            Some((&"data", rest)) => valid(inner, rest),
            Some(_) => false,
        },
    }
}
