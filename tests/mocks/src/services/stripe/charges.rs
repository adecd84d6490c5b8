//! Charges: `GET /v1/charges` (a list, newest first, with cursors and
//! filters), `GET /v1/charges/{id}` (see the router), the charge object,
//! and the test hooks that seed and read them.

use serde_json::{Value, json};

use super::wire::{error_response, invalid_integer, merge, no_such, stripe_id, unknown_param};
use super::{State, Stored, StripeMock};
use crate::request::RecordedRequest;
use crate::response::MockResponse;

/// The query parameters `GET /v1/charges` takes.
const CHARGE_LIST_PARAMS: &[&str] = &[
    "limit",
    "starting_after",
    "ending_before",
    "customer",
    "created",
    "created[gt]",
    "created[gte]",
    "created[lt]",
    "created[lte]",
    "payment_intent",
    "transfer_group",
];

impl StripeMock {
    /// Add a charge: a real, succeeded charge object with `fields` (a JSON
    /// object: `{"amount": 2000, "customer": "cus_..", "created": ..}`)
    /// replacing the defaults; `amount_captured` follows `amount` and
    /// `refunded` follows `amount_refunded` unless given. Each new object
    /// is created a minute after the previous one. Returns its id (`ch_...`).
    ///
    /// Its `payment_intent` and `balance_transaction` are ids of objects
    /// the mock does not keep (they stay ids when expanded); a charge made
    /// by [`StripeMock::complete_checkout`] has real ones.
    pub fn add_charge(&self, fields: Value) -> String {
        let mut state = self.lock();
        let (seq, created) = state.tick();
        let id = stripe_id("ch", seq, 24);
        let amount = fields.get("amount").and_then(Value::as_i64).unwrap_or(1000);
        let mut charge = charge_object(&id, amount, created, seq);
        let refunded_given = fields.get("refunded").is_some();
        merge(&mut charge, fields);
        if !refunded_given {
            charge["refunded"] = json!(charge["amount_refunded"].as_i64() == Some(amount));
        }
        let id = charge["id"].as_str().unwrap_or(&id).to_string();
        state.charges.push(Stored {
            seq,
            object: charge,
        });
        id
    }

    /// The charges (added, and made by payments), oldest first.
    pub fn charges(&self) -> Vec<Value> {
        self.lock()
            .charges
            .iter()
            .map(|s| s.object.clone())
            .collect()
    }
}

impl State {
    pub(super) fn charge(&self, id: &str) -> Option<&Value> {
        self.charges
            .iter()
            .find(|s| s.object["id"] == id)
            .map(|s| &s.object)
    }

    pub(super) fn charge_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.charges
            .iter_mut()
            .find(|s| s.object["id"] == id)
            .map(|s| &mut s.object)
    }
}

/// `GET /v1/charges`.
pub(super) fn list(state: &State, req: &RecordedRequest) -> MockResponse {
    let params = req.query_pairs();
    if let Some(unknown) = unknown_param(&params, |k| CHARGE_LIST_PARAMS.contains(&k)) {
        return unknown;
    }
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    let limit = match param("limit") {
        None => 10,
        Some(v) => match v.parse::<i64>() {
            Err(_) => return invalid_integer("limit", v),
            Ok(n) if n < 1 => {
                return error_response(
                    400,
                    "invalid_request_error",
                    None,
                    "This value must be greater than or equal to 1.",
                    Some("limit"),
                );
            }
            Ok(n) if n > 100 => {
                return error_response(
                    400,
                    "invalid_request_error",
                    None,
                    "This value must be less than or equal to 100.",
                    Some("limit"),
                );
            }
            Ok(n) => n as usize,
        },
    };
    let mut bounds = Vec::new();
    for op in [
        "created",
        "created[gt]",
        "created[gte]",
        "created[lt]",
        "created[lte]",
    ] {
        if let Some(v) = param(op) {
            match v.parse::<i64>() {
                Ok(n) => bounds.push((op, n)),
                Err(_) => return invalid_integer(op, v),
            }
        }
    }
    if param("starting_after").is_some() && param("ending_before").is_some() {
        return error_response(
            400,
            "invalid_request_error",
            None,
            "You may only specify one of these parameters: ending_before, starting_after.",
            None,
        );
    }
    let mut all: Vec<&Stored> = state.charges.iter().collect();
    all.sort_by(|a, b| {
        let created = |s: &Stored| s.object["created"].as_i64().unwrap_or_default();
        created(b).cmp(&created(a)).then(b.seq.cmp(&a.seq))
    });
    let matches = |s: &Stored| {
        let object = &s.object;
        let created = object["created"].as_i64().unwrap_or_default();
        param("customer").is_none_or(|c| object["customer"] == c.as_str())
            && param("payment_intent").is_none_or(|p| object["payment_intent"] == p.as_str())
            && param("transfer_group").is_none_or(|g| object["transfer_group"] == g.as_str())
            && bounds.iter().all(|(op, n)| match *op {
                "created" => created == *n,
                "created[gt]" => created > *n,
                "created[gte]" => created >= *n,
                "created[lt]" => created < *n,
                _ => created <= *n,
            })
    };
    let cursor = |name: &str| -> Result<Option<usize>, MockResponse> {
        match param(name) {
            None => Ok(None),
            Some(id) => all
                .iter()
                .position(|s| s.object["id"] == id.as_str())
                .map(Some)
                .ok_or_else(|| no_such("charge", id, name, 400)),
        }
    };
    let (data, has_more): (Vec<Value>, bool) =
        match (cursor("starting_after"), cursor("ending_before")) {
            (Err(e), _) | (_, Err(e)) => return e,
            (Ok(after), Ok(None)) => {
                let start = after.map_or(0, |i| i + 1);
                let rest: Vec<&Stored> = all[start..]
                    .iter()
                    .copied()
                    .filter(|s| matches(s))
                    .collect();
                let page = rest.iter().take(limit).map(|s| s.object.clone()).collect();
                (page, rest.len() > limit)
            }
            (Ok(_), Ok(Some(before))) => {
                let rest: Vec<&Stored> = all[..before]
                    .iter()
                    .copied()
                    .filter(|s| matches(s))
                    .collect();
                let skip = rest.len().saturating_sub(limit);
                let page = rest[skip..].iter().map(|s| s.object.clone()).collect();
                (page, skip > 0)
            }
        };
    MockResponse::json(
        200,
        json!({ "object": "list", "data": data, "has_more": has_more, "url": "/v1/charges" }),
    )
}

/// A succeeded card charge of `amount` cents (USD), its ids derived from `seq`.
pub(super) fn charge_object(id: &str, amount: i64, created: i64, seq: u64) -> Value {
    let mut charge = json!({
        "id": id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": stripe_id("txn", seq, 24),
        "billing_details": {
            "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
            "email": null,
            "name": null,
            "phone": null
        },
        "calculated_statement_descriptor": "WORKWAY",
        "captured": true,
        "created": created,
        "currency": "usd",
        "customer": null,
        "description": null,
        "disputed": false,
        "failure_balance_transaction": null,
        "failure_code": null,
        "failure_message": null,
        "fraud_details": {},
        "invoice": null,
        "livemode": false,
        "metadata": {},
        "on_behalf_of": null,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": null,
            "risk_level": "normal",
            "risk_score": 32,
            "seller_message": "Payment complete.",
            "type": "authorized"
        },
        "paid": true,
        "payment_intent": stripe_id("pi", seq, 24),
        "payment_method": stripe_id("pm", seq, 24),
        "receipt_email": null,
        "receipt_number": null,
        "receipt_url": format!("https://pay.stripe.com/receipts/payment/{}", stripe_id("rcpt", seq, 24)),
        "refunded": false,
        "review": null,
        "shipping": null,
        "source_transfer": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": "succeeded",
        "transfer_data": null,
        "transfer_group": null
    });
    charge["payment_method_details"] = card_details(amount);
    charge
}

/// The `payment_method_details` of a charge to Stripe's test Visa card.
fn card_details(amount: i64) -> Value {
    json!({
        "card": {
            "amount_authorized": amount,
            "brand": "visa",
            "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"},
            "country": "US",
            "exp_month": 12,
            "exp_year": 2034,
            "extended_authorization": {"status": "disabled"},
            "fingerprint": "Wk4yWaYm0ckSmock",
            "funding": "credit",
            "incremental_authorization": {"status": "unavailable"},
            "installments": null,
            "last4": "4242",
            "mandate": null,
            "multicapture": {"status": "unavailable"},
            "network": "visa",
            "network_token": {"used": false},
            "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
            "three_d_secure": null,
            "wallet": null
        },
        "type": "card"
    })
}
