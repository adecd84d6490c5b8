//! Transfers to connected accounts: `POST /v1/transfers`,
//! `GET /v1/transfers/{id}` (see the router), the ones destination charges
//! make, and their reversals (made by refunds with `reverse_transfer`).

use serde_json::{Map, Value, json};

use super::wire::{self, Schema, Shape, list_object};
use super::{Call, State, StripeMock, find_mut, idempotency};
use crate::response::MockResponse;

/// The form parameters `POST /v1/transfers` takes.
const TRANSFER: &Schema = &[
    ("amount", Shape::Value),
    ("currency", Shape::Value),
    ("destination", Shape::Value),
    ("description", Shape::Value),
    ("transfer_group", Shape::Value),
    ("source_transaction", Shape::Value),
    ("metadata", Shape::Map),
    ("expand", Shape::List),
];

/// A transfer to make.
#[derive(Debug, Clone)]
pub(super) struct NewTransfer {
    pub amount: i64,
    pub currency: String,
    pub destination: String,
    pub source_transaction: Option<String>,
    pub transfer_group: Option<String>,
    pub description: Option<String>,
    pub metadata: Map<String, Value>,
}

impl StripeMock {
    /// Every transfer (by `POST /v1/transfers` and by destination
    /// charges), oldest first.
    pub fn transfers(&self) -> Vec<Value> {
        self.lock().transfers.clone()
    }
}

/// `POST /v1/transfers`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> MockResponse {
    idempotency::post(state, call, TRANSFER, |state, form, _| {
        let amount = form.integer_at_least("amount", 1)?;
        let currency = form.currency("currency")?;
        let Some(amount) = amount else {
            return Err(wire::missing("amount"));
        };
        let Some(currency) = currency else {
            return Err(wire::missing("currency"));
        };
        let destination = state.destination(form.required("destination")?, "destination")?;
        let source_transaction = match form.text("source_transaction") {
            None => None,
            Some(id) => match state.charge(id) {
                None => return Err(wire::no_such("charge", id, "source_transaction", 400)),
                Some(charge) if charge["currency"] != currency.as_str() => {
                    return Err(wire::invalid(
                        None,
                        &format!(
                            "The currency of source_transaction's balance transaction ({}) must be the same as the transfer currency ({currency})",
                            charge["currency"].as_str().unwrap_or_default()
                        ),
                        "currency",
                    ));
                }
                Some(_) => Some(id.to_string()),
            },
        };
        let metadata = form.metadata("metadata")?;
        state.tick();
        Ok(state.create_transfer(NewTransfer {
            amount,
            currency,
            destination,
            source_transaction,
            transfer_group: form.text("transfer_group").map(str::to_string),
            description: form.text("description").map(str::to_string),
            metadata,
        }))
    })
}

impl State {
    /// Make and store `transfer` (with its balance transaction); returns it.
    pub(super) fn create_transfer(&mut self, transfer: NewTransfer) -> Value {
        let id = self.new_id("tr", 24);
        let txn = self.add_balance_transaction(
            "transfer",
            -transfer.amount,
            0,
            &transfer.currency,
            &id,
            transfer.description.clone(),
        );
        let payment = self.new_id("py", 24);
        let object = json!({
            "id": id,
            "object": "transfer",
            "amount": transfer.amount,
            "amount_reversed": 0,
            "balance_transaction": txn,
            "created": self.clock,
            "currency": transfer.currency,
            "description": transfer.description,
            "destination": transfer.destination,
            "destination_payment": payment,
            "livemode": false,
            "metadata": transfer.metadata,
            "reversals": list_object(Vec::new(), &format!("/v1/transfers/{id}/reversals")),
            "reversed": false,
            "source_transaction": transfer.source_transaction,
            "source_type": "card",
            "transfer_group": transfer.transfer_group,
        });
        self.transfers.push(object.clone());
        object
    }

    /// Reverse `amount` of transfer `id` for refund `refund`: the reversal
    /// is added to the transfer's `reversals`; returns its id (`None` if
    /// the transfer is unknown or `amount` is not positive).
    pub(super) fn reverse_transfer(
        &mut self,
        id: &str,
        amount: i64,
        refund: &str,
    ) -> Option<String> {
        let currency = self
            .transfers
            .iter()
            .find(|t| t["id"] == id)?
            .get("currency")?
            .as_str()?
            .to_string();
        if amount <= 0 {
            return None;
        }
        let reversal_id = self.new_id("trr", 24);
        let txn = self.add_balance_transaction(
            "transfer_refund",
            amount,
            0,
            &currency,
            &reversal_id,
            None,
        );
        let payment_refund = self.new_id("pyr", 24);
        let now = self.clock;
        let transfer = find_mut(&mut self.transfers, id)?;
        let reversal = json!({
            "id": reversal_id,
            "object": "transfer_reversal",
            "amount": amount,
            "balance_transaction": txn,
            "created": now,
            "currency": currency,
            "destination_payment_refund": payment_refund,
            "metadata": {},
            "source_refund": refund,
            "transfer": id,
        });
        let reversed = transfer["amount_reversed"].as_i64().unwrap_or(0) + amount;
        transfer["amount_reversed"] = json!(reversed);
        transfer["reversed"] = json!(reversed >= transfer["amount"].as_i64().unwrap_or(0));
        if let Some(data) = transfer["reversals"]["data"].as_array_mut() {
            // Lists are newest first.
            data.insert(0, reversal);
        }
        Some(reversal_id)
    }
}
