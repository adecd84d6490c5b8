//! Customers: `POST /v1/customers`, `GET /v1/customers/{id}`,
//! `DELETE /v1/customers/{id}`, and the test hooks that seed them.

use serde_json::{Map, Value, json};

use super::wire::{self, Form, Schema, Shape, merge, splitmix, stripe_id};
use super::{Call, State, Stored, StripeMock, idempotency};
use crate::response::MockResponse;

/// The form parameters `POST /v1/customers` takes.
const CUSTOMER: &Schema = &[
    ("email", Shape::Value),
    ("name", Shape::Value),
    ("description", Shape::Value),
    ("phone", Shape::Value),
    ("balance", Shape::Value),
    ("invoice_prefix", Shape::Value),
    ("tax_exempt", Shape::Value),
    ("preferred_locales", Shape::List),
    ("metadata", Shape::Map),
    ("address", Shape::Hash(ADDRESS)),
];

/// The sub-parameters of `address[..]`.
const ADDRESS: &Schema = &[
    ("line1", Shape::Value),
    ("line2", Shape::Value),
    ("city", Shape::Value),
    ("state", Shape::Value),
    ("postal_code", Shape::Value),
    ("country", Shape::Value),
];

impl StripeMock {
    /// Add a customer: a real customer object with `fields` (a JSON
    /// object: `{"email": .., "name": .., "metadata": {..}}`) replacing the
    /// defaults. Returns its id (`cus_...`).
    pub fn add_customer(&self, fields: Value) -> String {
        let mut state = self.lock();
        let (seq, created) = state.tick();
        let id = stripe_id("cus", seq, 14);
        let mut customer = customer_object(&id, created, seq);
        merge(&mut customer, fields);
        let id = customer["id"].as_str().unwrap_or(&id).to_string();
        state.customers.push(Stored {
            seq,
            object: customer,
        });
        id
    }

    /// Delete customer `id` as `DELETE /v1/customers/{id}` does: reading
    /// it afterwards gives Stripe's tombstone. Whether it existed.
    pub fn delete_customer(&self, id: &str) -> bool {
        self.lock().delete_customer(id)
    }

    /// Customer `id` as stored (`None` if unknown or deleted).
    pub fn customer(&self, id: &str) -> Option<Value> {
        self.lock().customer(id).cloned()
    }

    /// The live customers, oldest first.
    pub fn customers(&self) -> Vec<Value> {
        self.lock()
            .customers
            .iter()
            .map(|s| s.object.clone())
            .collect()
    }
}

impl State {
    pub(super) fn customer(&self, id: &str) -> Option<&Value> {
        self.customers
            .iter()
            .find(|s| s.object["id"] == id)
            .map(|s| &s.object)
    }

    pub(super) fn customer_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.customers
            .iter_mut()
            .find(|s| s.object["id"] == id)
            .map(|s| &mut s.object)
    }

    fn delete_customer(&mut self, id: &str) -> bool {
        let before = self.customers.len();
        self.customers.retain(|s| s.object["id"] != id);
        let existed = self.customers.len() < before;
        if existed {
            self.deleted.push(id.to_string());
        }
        existed
    }

    /// Customer `id` named by parameter `param`, or Stripe's 400.
    pub(super) fn existing_customer(&self, id: &str, param: &str) -> Result<&Value, MockResponse> {
        self.customer(id)
            .ok_or_else(|| wire::no_such("customer", id, param, 400))
    }
}

/// `GET /v1/customers/{id}`.
pub(super) fn get(state: &State, id: &str) -> MockResponse {
    match state.object(id).filter(|o| o["object"] == "customer") {
        Some(customer) => MockResponse::json(200, customer),
        None => wire::no_such("customer", id, "id", 404),
    }
}

/// `DELETE /v1/customers/{id}`.
pub(super) fn delete(state: &mut State, id: &str) -> MockResponse {
    if state.delete_customer(id) {
        MockResponse::json(200, deleted_customer(id))
    } else {
        wire::no_such("customer", id, "id", 404)
    }
}

/// `POST /v1/customers`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> MockResponse {
    idempotency::post(state, call, CUSTOMER, |state, form, _| {
        customer_from_form(state, form)
    })
}

/// A new customer from `form`, stored; or Stripe's 400.
fn customer_from_form(state: &mut State, form: &Form) -> Result<Value, MockResponse> {
    let metadata = form.metadata("metadata")?;
    let mut address = Map::new();
    for field in ["line1", "line2", "city", "state", "postal_code", "country"] {
        if let Some(v) = form.get(&format!("address[{field}]")) {
            address.insert(field.to_string(), json!(v));
        }
    }
    form.email("email")?;
    let balance = form.integer("balance")?.unwrap_or(0);
    let (seq, created) = state.tick();
    let id = stripe_id("cus", seq, 14);
    let mut customer = customer_object(&id, created, seq);
    for field in ["email", "name", "description", "phone", "invoice_prefix"] {
        if let Some(v) = form.text(field) {
            customer[field] = json!(v);
        }
    }
    customer["balance"] = json!(balance);
    customer["metadata"] = Value::Object(metadata);
    if !address.is_empty() {
        let mut full = wire::no_address();
        merge(&mut full, Value::Object(address));
        customer["address"] = full;
    }
    state.customers.push(Stored {
        seq,
        object: customer.clone(),
    });
    Ok(customer)
}

fn customer_object(id: &str, created: i64, seq: u64) -> Value {
    json!({
        "id": id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": created,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": null,
        "discount": null,
        "email": null,
        "invoice_prefix": format!("{:08X}", splitmix(seq) as u32),
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": null,
            "footer": null,
            "rendering_options": null
        },
        "livemode": false,
        "metadata": {},
        "name": null,
        "next_invoice_sequence": 1,
        "phone": null,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null
    })
}

/// Stripe's tombstone of a deleted customer.
pub(super) fn deleted_customer(id: &str) -> Value {
    json!({ "id": id, "object": "customer", "deleted": true })
}
