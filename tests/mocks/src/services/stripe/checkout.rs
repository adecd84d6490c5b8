//! Checkout Sessions: `POST /v1/checkout/sessions` (`mode=payment` with
//! ad-hoc `price_data` line items, optionally a destination charge),
//! `GET /v1/checkout/sessions/{id}` (see the router), and the test hooks
//! for what the buyer does on Stripe's page: pay
//! ([`StripeMock::complete_checkout`]) or let it expire
//! ([`StripeMock::expire_checkout`]).

use serde_json::{Map, Value, json};

use super::payments::Payment;
use super::wire::{self, Form, Schema, Shape, money, stripe_id, system_now};
use super::{Call, State, StripeMock, idempotency};
use crate::response::MockResponse;

const PRODUCT_DATA: &Schema = &[("name", Shape::Value), ("description", Shape::Value)];

const PRICE_DATA: &Schema = &[
    ("currency", Shape::Value),
    ("unit_amount", Shape::Value),
    ("product_data", Shape::Hash(PRODUCT_DATA)),
];

const LINE_ITEM: &Schema = &[
    ("quantity", Shape::Value),
    ("price", Shape::Value),
    ("price_data", Shape::Hash(PRICE_DATA)),
];

const TRANSFER_DATA: &Schema = &[("destination", Shape::Value)];

const PAYMENT_INTENT_DATA: &Schema = &[
    ("application_fee_amount", Shape::Value),
    ("transfer_data", Shape::Hash(TRANSFER_DATA)),
    ("metadata", Shape::Map),
    ("description", Shape::Value),
];

/// The form parameters `POST /v1/checkout/sessions` takes.
const SESSION: &Schema = &[
    ("mode", Shape::Value),
    ("success_url", Shape::Value),
    ("cancel_url", Shape::Value),
    ("client_reference_id", Shape::Value),
    ("customer", Shape::Value),
    ("customer_email", Shape::Value),
    ("metadata", Shape::Map),
    ("line_items", Shape::Array(LINE_ITEM)),
    ("payment_intent_data", Shape::Hash(PAYMENT_INTENT_DATA)),
    ("payment_method_types", Shape::List),
    ("expires_at", Shape::Value),
    ("expand", Shape::List),
];

/// The most Stripe charges at once: $999,999.99.
const MAX_AMOUNT: i64 = 99_999_999;

/// A Checkout Session and what it keeps for the payment it makes.
#[derive(Debug, Clone)]
pub(super) struct Session {
    pub object: Value,
    /// Its line items (`item` objects), shown when `line_items` is expanded.
    pub line_items: Vec<Value>,
    intent: IntentData,
}

/// `payment_intent_data[..]`: what the payment intent will carry.
#[derive(Debug, Clone, Default)]
struct IntentData {
    application_fee_amount: Option<i64>,
    destination: Option<String>,
    metadata: Map<String, Value>,
    description: Option<String>,
}

/// One checked line item.
struct Item {
    quantity: i64,
    currency: String,
    unit_amount: i64,
    name: String,
}

impl StripeMock {
    /// Every Checkout Session, oldest first.
    pub fn checkout_sessions(&self) -> Vec<Value> {
        self.lock()
            .sessions
            .iter()
            .map(|s| s.object.clone())
            .collect()
    }

    /// The buyer paid Checkout Session `session_id` (open): its payment
    /// intent, charge (with Stripe's fee `fee_cents`, or the standard US
    /// card fee of 2.9% + 30 cents), balance transaction and, for a
    /// destination charge, its transfer are made; the session becomes
    /// `complete` and `paid`. Records and returns the event
    /// `checkout.session.completed`.
    pub fn complete_checkout(
        &self,
        session_id: &str,
        fee_cents: Option<i64>,
    ) -> Result<Value, String> {
        let mut state = self.lock();
        let session = state.open_session(session_id)?;
        let object = &session.object;
        let customer = object["customer"].as_str().map(str::to_string);
        let email = object["customer_email"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                customer
                    .as_deref()
                    .and_then(|c| state.customer(c))
                    .and_then(|c| c["email"].as_str())
                    .map(str::to_string)
            });
        let payment = Payment {
            amount: object["amount_total"].as_i64().unwrap_or(0),
            currency: object["currency"].as_str().unwrap_or("usd").to_string(),
            customer,
            description: session.intent.description.clone(),
            metadata: session.intent.metadata.clone(),
            receipt_email: email.clone(),
            invoice: None,
            application_fee_amount: session.intent.application_fee_amount,
            destination: session.intent.destination.clone(),
            fee_cents,
        };
        let paid = state.capture(payment);
        let session = state
            .session_mut(session_id)
            .ok_or_else(|| format!("no such checkout session: {session_id}"))?;
        let object = &mut session.object;
        object["status"] = json!("complete");
        object["payment_status"] = json!("paid");
        object["payment_intent"] = json!(paid.payment_intent);
        object["url"] = Value::Null;
        object["customer_details"] = json!({
            "address": null,
            "email": email,
            "name": null,
            "phone": null,
            "tax_exempt": "none",
            "tax_ids": []
        });
        let object = object.clone();
        Ok(state.record_event("checkout.session.completed", object, None))
    }

    /// Checkout Session `session_id` (open) expired unpaid: it becomes
    /// `expired`. Records and returns the event `checkout.session.expired`.
    pub fn expire_checkout(&self, session_id: &str) -> Result<Value, String> {
        let mut state = self.lock();
        state.open_session(session_id)?;
        state.tick();
        let session = state
            .session_mut(session_id)
            .ok_or_else(|| format!("no such checkout session: {session_id}"))?;
        session.object["status"] = json!("expired");
        session.object["url"] = Value::Null;
        let object = session.object.clone();
        Ok(state.record_event("checkout.session.expired", object, None))
    }
}

impl State {
    pub(super) fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.object["id"] == id)
    }

    fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.object["id"] == id)
    }

    fn open_session(&self, id: &str) -> Result<&Session, String> {
        let session = self
            .session(id)
            .ok_or_else(|| format!("no such checkout session: {id}"))?;
        match session.object["status"].as_str() {
            Some("open") => Ok(session),
            status => Err(format!(
                "checkout session {id} is {}, not open",
                status.unwrap_or("unknown")
            )),
        }
    }
}

/// `POST /v1/checkout/sessions`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> MockResponse {
    idempotency::post(state, call, SESSION, build)
}

fn build(state: &mut State, form: &Form, _: &Call<'_>) -> Result<Value, MockResponse> {
    let mode = form
        .choice("mode", &["payment", "setup", "subscription"])?
        .ok_or_else(|| wire::missing("mode"))?;
    if mode != "payment" {
        return Err(wire::invalid(
            None,
            &format!(
                "This test stand-in of Stripe supports only `mode=payment` Checkout Sessions, not `{mode}`."
            ),
            "mode",
        ));
    }
    let success_url = form
        .url("success_url")?
        .ok_or_else(|| wire::missing("success_url"))?;
    let cancel_url = form.url("cancel_url")?;
    let customer = form.text("customer");
    let customer_email = form.email("customer_email")?;
    if customer.is_some() && customer_email.is_some() {
        return Err(wire::exclusive(&["customer", "customer_email"]));
    }
    if let Some(id) = customer {
        state.existing_customer(id, "customer")?;
    }
    let client_reference_id = form.text("client_reference_id");
    if let Some(reference) = client_reference_id
        && reference.chars().count() > 200
    {
        return Err(wire::invalid(
            None,
            &format!("Invalid string: {reference}; must be at most 200 characters"),
            "client_reference_id",
        ));
    }
    for (i, method) in form.list("payment_method_types").iter().enumerate() {
        if method != "card" {
            return Err(wire::invalid(
                None,
                &format!("Invalid payment_method_types[{i}]: must be one of card"),
                &format!("payment_method_types[{i}]"),
            ));
        }
    }

    let items = line_items(form)?;
    let currency = items[0].currency.clone();
    if let Some(other) = items.iter().find(|i| i.currency != currency) {
        return Err(wire::invalid(
            None,
            &format!(
                "All line items must use the same currency, but both {currency} and {} were given.",
                other.currency
            ),
            "line_items",
        ));
    }
    let amount_total = items
        .iter()
        .try_fold(0i64, |total, i| {
            i.unit_amount
                .checked_mul(i.quantity)
                .and_then(|a| total.checked_add(a))
        })
        .filter(|total| *total <= MAX_AMOUNT)
        .ok_or_else(|| {
            wire::invalid(
                Some("amount_too_large"),
                &format!("Amount must be no more than {}", money(MAX_AMOUNT, "usd")),
                "line_items",
            )
        })?;
    if currency == "usd" && amount_total < 50 {
        return Err(wire::invalid(
            None,
            "The Checkout Session's total amount due must add up to at least $0.50 usd",
            "line_items",
        ));
    }

    let intent = intent_data(state, form, amount_total, &currency)?;
    let metadata = form.metadata("metadata")?;
    let expires_at = match form.integer("expires_at")? {
        None => None,
        Some(at) => Some(check_expiry(at)?),
    };

    let (seq, created) = state.tick();
    let id = stripe_id("cs_test", seq, 58);
    let mut line_items = Vec::new();
    for item in &items {
        line_items.push(item_object(state, item, created));
    }
    let object = json!({
        "id": id,
        "object": "checkout.session",
        "after_expiration": null,
        "allow_promotion_codes": null,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": false, "liability": null, "status": null},
        "billing_address_collection": null,
        "cancel_url": cancel_url,
        "client_reference_id": client_reference_id,
        "client_secret": null,
        "consent": null,
        "consent_collection": null,
        "created": created,
        "currency": currency,
        "currency_conversion": null,
        "custom_fields": [],
        "custom_text": {
            "after_submit": null,
            "shipping_address": null,
            "submit": null,
            "terms_of_service_acceptance": null
        },
        "customer": customer,
        "customer_creation": if customer.is_some() { Value::Null } else { json!("if_required") },
        "customer_details": null,
        "customer_email": customer_email,
        "expires_at": expires_at.unwrap_or(created + 24 * 3600),
        "invoice": null,
        "invoice_creation": {
            "enabled": false,
            "invoice_data": {
                "account_tax_ids": null,
                "custom_fields": null,
                "description": null,
                "footer": null,
                "issuer": null,
                "metadata": {},
                "rendering_options": null
            }
        },
        "livemode": false,
        "locale": null,
        "metadata": metadata,
        "mode": "payment",
        "payment_intent": null,
        "payment_link": null,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": null,
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "phone_number_collection": {"enabled": false},
        "recovered_from": null,
        "saved_payment_method_options": null,
        "setup_intent": null,
        "shipping_address_collection": null,
        "shipping_cost": null,
        "shipping_details": null,
        "shipping_options": [],
        "status": "open",
        "submit_type": null,
        "subscription": null,
        "success_url": success_url,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": format!("https://checkout.stripe.com/c/pay/{id}"),
    });
    state.sessions.push(Session {
        object: object.clone(),
        line_items,
        intent,
    });
    Ok(object)
}

/// `line_items[N][..]`, checked: at least one, each with a quantity and
/// `price_data` (a `price` id names a price the mock does not keep).
fn line_items(form: &Form) -> Result<Vec<Item>, MockResponse> {
    let indices = form.indices("line_items");
    if indices.is_empty() {
        return Err(wire::missing("line_items"));
    }
    let mut items = Vec::new();
    for i in indices {
        let p = format!("line_items[{i}]");
        if let Some(price) = form.text(&format!("{p}[price]")) {
            return Err(wire::no_such("price", price, &format!("{p}[price]"), 400));
        }
        if !form.has(&format!("{p}[price_data]")) {
            return Err(wire::missing(&format!("{p}[price_data]")));
        }
        let quantity_param = format!("{p}[quantity]");
        let quantity = form
            .integer_at_least(&quantity_param, 1)?
            .ok_or_else(|| wire::missing(&quantity_param))?;
        let currency_param = format!("{p}[price_data][currency]");
        let currency = form
            .currency(&currency_param)?
            .ok_or_else(|| wire::missing(&currency_param))?;
        let amount_param = format!("{p}[price_data][unit_amount]");
        let unit_amount = form
            .integer_at_least(&amount_param, 0)?
            .ok_or_else(|| wire::missing(&amount_param))?;
        // The product's `description` is the product's, which the mock
        // does not keep.
        let name = form.required(&format!("{p}[price_data][product_data][name]"))?;
        items.push(Item {
            quantity,
            currency,
            unit_amount,
            name: name.to_string(),
        });
    }
    Ok(items)
}

/// `payment_intent_data[..]`, checked against the session's total.
fn intent_data(
    state: &State,
    form: &Form,
    amount_total: i64,
    currency: &str,
) -> Result<IntentData, MockResponse> {
    let destination_param = "payment_intent_data[transfer_data][destination]";
    let destination = match form.text(destination_param) {
        Some(id) => Some(state.destination(id, destination_param)?),
        None => None,
    };
    let fee_param = "payment_intent_data[application_fee_amount]";
    let application_fee_amount = form.integer_at_least(fee_param, 0)?;
    if let Some(fee) = application_fee_amount {
        if destination.is_none() {
            return Err(wire::invalid(
                None,
                "Can only apply an application_fee_amount when the PaymentIntent is attempting a direct payment (using an OAuth key or Stripe-Account header) or destination payment (using `transfer_data[destination]`).",
                fee_param,
            ));
        }
        if fee > amount_total {
            return Err(wire::invalid(
                None,
                &format!(
                    "The application fee amount ({}) cannot be greater than the total amount of the Checkout Session ({}).",
                    money(fee, currency),
                    money(amount_total, currency)
                ),
                fee_param,
            ));
        }
    }
    Ok(IntentData {
        application_fee_amount,
        destination,
        metadata: form.metadata("payment_intent_data[metadata]")?,
        description: form
            .text("payment_intent_data[description]")
            .map(str::to_string),
    })
}

/// `expires_at`: from 30 minutes to 24 hours after creation, on this
/// machine's clock (with a minute's slack for the request's travel).
fn check_expiry(at: i64) -> Result<i64, MockResponse> {
    let now = system_now();
    if at < now + 30 * 60 - 60 {
        return Err(wire::invalid(
            None,
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session creation.",
            "expires_at",
        ));
    }
    if at > now + 24 * 3600 + 60 {
        return Err(wire::invalid(
            None,
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
            "expires_at",
        ));
    }
    Ok(at)
}

/// A Checkout line item (`item`) with its ad-hoc price.
fn item_object(state: &mut State, item: &Item, created: i64) -> Value {
    let id = state.new_id("li", 24);
    let price = state.new_id("price", 24);
    let product = state.new_id("prod", 14);
    let amount = item.unit_amount * item.quantity;
    json!({
        "id": id,
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": item.currency,
        "description": item.name,
        "price": {
            "id": price,
            "object": "price",
            "active": false,
            "billing_scheme": "per_unit",
            "created": created,
            "currency": item.currency,
            "custom_unit_amount": null,
            "livemode": false,
            "lookup_key": null,
            "metadata": {},
            "nickname": null,
            "product": product,
            "recurring": null,
            "tax_behavior": "unspecified",
            "tiers_mode": null,
            "transform_quantity": null,
            "type": "one_time",
            "unit_amount": item.unit_amount,
            "unit_amount_decimal": item.unit_amount.to_string()
        },
        "quantity": item.quantity,
    })
}
