//! Refunds: `POST /v1/refunds` (of a charge or a payment intent's latest
//! charge, in full or in part, reversing the destination charge's transfer
//! and refunding its application fee in proportion when asked), and
//! `GET /v1/refunds/{id}` (see the router). A refund records the events
//! `charge.refunded` and `refund.created`.

use serde_json::{Value, json};

use super::wire::{self, Schema, Shape, money, share};
use super::{Call, State, find_mut, idempotency};
use crate::response::MockResponse;

/// The form parameters `POST /v1/refunds` takes.
const REFUND: &Schema = &[
    ("payment_intent", Shape::Value),
    ("charge", Shape::Value),
    ("amount", Shape::Value),
    ("reason", Shape::Value),
    ("reverse_transfer", Shape::Value),
    ("refund_application_fee", Shape::Value),
    ("metadata", Shape::Map),
    ("expand", Shape::List),
];

const REASONS: &[&str] = &["duplicate", "fraudulent", "requested_by_customer"];

/// `POST /v1/refunds`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> MockResponse {
    idempotency::post(state, call, REFUND, |state, form, call| {
        let charge_id = match (form.text("charge"), form.text("payment_intent")) {
            (Some(_), Some(_)) => return Err(wire::exclusive(&["charge", "payment_intent"])),
            (None, None) => {
                return Err(wire::error_response(
                    400,
                    "invalid_request_error",
                    Some("parameter_missing"),
                    "One of the following params should be provided for this request: payment_intent or charge.",
                    None,
                ));
            }
            (Some(id), None) => state
                .charge(id)
                .map(|_| id.to_string())
                .ok_or_else(|| wire::no_such("charge", id, "charge", 400))?,
            (None, Some(id)) => {
                let intent = state
                    .payment_intents
                    .iter()
                    .find(|p| p["id"] == id)
                    .ok_or_else(|| wire::no_such("payment_intent", id, "payment_intent", 400))?;
                intent["latest_charge"]
                    .as_str()
                    .filter(|c| state.charge(c).is_some())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        wire::invalid(
                            None,
                            &format!(
                                "This PaymentIntent ({id}) does not have a successful charge to refund."
                            ),
                            "payment_intent",
                        )
                    })?
            }
        };
        let amount = form.integer_at_least("amount", 1)?;
        let reason = form.choice("reason", REASONS)?.map(str::to_string);
        let reverse_transfer = form.boolean("reverse_transfer")?.unwrap_or(false);
        let refund_application_fee = form.boolean("refund_application_fee")?.unwrap_or(false);
        let metadata = form.metadata("metadata")?;

        let charge = state.charge(&charge_id).cloned().unwrap_or_default();
        let total = charge["amount"].as_i64().unwrap_or(0);
        let refunded = charge["amount_refunded"].as_i64().unwrap_or(0);
        let currency = charge["currency"].as_str().unwrap_or("usd").to_string();
        let remaining = total - refunded;
        if remaining <= 0 {
            return Err(wire::invalid(
                Some("charge_already_refunded"),
                &format!("Charge {charge_id} has already been refunded."),
                "charge",
            ));
        }
        let amount = amount.unwrap_or(remaining);
        if amount > remaining {
            return Err(wire::invalid(
                Some("amount_too_large"),
                &format!(
                    "Refund amount ({}) is greater than unrefunded amount on charge ({})",
                    money(amount, &currency),
                    money(remaining, &currency)
                ),
                "amount",
            ));
        }
        let fully = amount == remaining;

        state.tick();
        let refund_id = state.new_id("re", 24);
        let txn = state.add_balance_transaction("refund", -amount, 0, &currency, &refund_id, None);
        let transfer_reversal = match charge["transfer"].as_str() {
            Some(transfer) if reverse_transfer => {
                let part = proportion(
                    &state.transfers,
                    transfer,
                    "amount_reversed",
                    amount,
                    total,
                    fully,
                );
                state.reverse_transfer(transfer, part, &refund_id)
            }
            _ => None,
        };
        if let Some(fee) = charge["application_fee"]
            .as_str()
            .filter(|_| refund_application_fee)
        {
            let part = proportion(
                &state.application_fees,
                fee,
                "amount_refunded",
                amount,
                total,
                fully,
            );
            state.refund_application_fee(fee, part);
        }
        if let Some(charge) = state.charge_mut(&charge_id) {
            charge["amount_refunded"] = json!(refunded + amount);
            charge["refunded"] = json!(fully);
        }
        let refund = json!({
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": txn,
            "charge": charge_id,
            "created": state.clock,
            "currency": currency,
            "destination_details": {
                "card": {
                    "reference": null,
                    "reference_status": "pending",
                    "reference_type": "acquirer_reference_number",
                    "type": "refund"
                },
                "type": "card"
            },
            "metadata": metadata,
            "payment_intent": charge["payment_intent"],
            "reason": reason,
            "receipt_number": null,
            "source_transfer_reversal": null,
            "status": "succeeded",
            "transfer_reversal": transfer_reversal,
        });
        state.refunds.push(refund.clone());
        let charge_now = state.charge(&charge_id).cloned().unwrap_or_default();
        state.record_event("charge.refunded", charge_now, Some(call));
        state.record_event("refund.created", refund.clone(), Some(call));
        Ok(refund)
    })
}

/// The part of object `id` in `list` (its `amount`, less what `done`
/// says is already returned) that refunding `amount` of a `total`
/// charge takes back: in proportion, or all that is left when the
/// charge is now `fully` refunded.
fn proportion(list: &[Value], id: &str, done: &str, amount: i64, total: i64, fully: bool) -> i64 {
    let Some(object) = list.iter().find(|o| o["id"] == id) else {
        return 0;
    };
    let whole = object["amount"].as_i64().unwrap_or(0);
    let left = whole - object[done].as_i64().unwrap_or(0);
    if fully {
        left
    } else {
        share(amount, whole, total).min(left)
    }
}

impl State {
    /// Refund `amount` of application fee `id` (a `fee_refund` in its `refunds`).
    fn refund_application_fee(&mut self, id: &str, amount: i64) {
        if amount <= 0 {
            return;
        }
        let refund_id = self.new_id("fr", 24);
        let now = self.clock;
        let Some(fee) = find_mut(&mut self.application_fees, id) else {
            return;
        };
        let refunded = fee["amount_refunded"].as_i64().unwrap_or(0) + amount;
        fee["amount_refunded"] = json!(refunded);
        fee["refunded"] = json!(refunded >= fee["amount"].as_i64().unwrap_or(0));
        let fee_refund = json!({
            "id": refund_id,
            "object": "fee_refund",
            "amount": amount,
            "balance_transaction": null,
            "created": now,
            "currency": fee["currency"],
            "fee": id,
            "metadata": {},
        });
        if let Some(data) = fee["refunds"]["data"].as_array_mut() {
            data.insert(0, fee_refund);
        }
    }
}
