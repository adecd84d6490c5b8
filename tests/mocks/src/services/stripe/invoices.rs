//! Invoices: `POST /v1/invoiceitems`, `POST /v1/invoices`,
//! `POST /v1/invoices/{id}/finalize`, `GET /v1/invoices/{id}` (see the
//! router), and the test hooks for what happens to an open invoice: it is
//! paid ([`StripeMock::pay_invoice`]) or its payment fails
//! ([`StripeMock::fail_invoice_payment`]).
//!
//! As in API version 2024-06-20, a new invoice takes the customer's
//! pending invoice items only with `pending_invoice_items_behavior=include`
//! (the default is `exclude`); items can also be added to a draft with
//! `invoice`. Finalizing numbers the invoice from the customer's
//! `invoice_prefix` and `next_invoice_sequence`; an invoice of nothing due
//! is paid when finalized.

use serde_json::{Value, json};

use super::payments::Payment;
use super::wire::{self, Schema, Shape, list_object, stripe_id};
use super::{Call, State, StripeMock, find_mut, idempotency};
use crate::response::MockResponse;

/// The platform account the mock stands for (in hosted invoice URLs).
const PLATFORM_ACCOUNT: &str = "acct_1WorkwayMockPlat";

/// The form parameters `POST /v1/invoiceitems` takes.
const INVOICE_ITEM: &Schema = &[
    ("customer", Shape::Value),
    ("amount", Shape::Value),
    ("currency", Shape::Value),
    ("description", Shape::Value),
    ("invoice", Shape::Value),
    ("metadata", Shape::Map),
    ("expand", Shape::List),
];

/// The form parameters `POST /v1/invoices` takes.
const INVOICE: &Schema = &[
    ("customer", Shape::Value),
    ("collection_method", Shape::Value),
    ("days_until_due", Shape::Value),
    ("auto_advance", Shape::Value),
    ("currency", Shape::Value),
    ("description", Shape::Value),
    ("metadata", Shape::Map),
    ("pending_invoice_items_behavior", Shape::Value),
    ("expand", Shape::List),
];

/// The form parameters `POST /v1/invoices/{id}/finalize` takes.
const FINALIZE: &Schema = &[("auto_advance", Shape::Value), ("expand", Shape::List)];

impl StripeMock {
    /// Every invoice, oldest first.
    pub fn invoices(&self) -> Vec<Value> {
        self.lock().invoices.clone()
    }

    /// Open invoice `id` was paid (by the customer's card, or on its
    /// hosted page): a payment of what remains is made (payment intent,
    /// charge, balance transaction) and the invoice becomes `paid`.
    /// Records and returns the event `invoice.paid`.
    pub fn pay_invoice(&self, id: &str) -> Result<Value, String> {
        let mut state = self.lock();
        let invoice = state.open_invoice(id)?.clone();
        let remaining = invoice["amount_remaining"].as_i64().unwrap_or(0);
        let customer = invoice["customer"].as_str().map(str::to_string);
        let paid = (remaining > 0).then(|| {
            state.capture(Payment {
                amount: remaining,
                currency: invoice["currency"].as_str().unwrap_or("usd").to_string(),
                customer,
                description: Some("Payment for Invoice".into()),
                receipt_email: invoice["customer_email"].as_str().map(str::to_string),
                invoice: Some(id.to_string()),
                ..Payment::default()
            })
        });
        if paid.is_none() {
            state.tick();
        }
        let now = state.clock;
        let invoice = find_mut(&mut state.invoices, id).ok_or("the invoice vanished")?;
        let amount_paid = invoice["amount_paid"].as_i64().unwrap_or(0) + remaining;
        invoice["amount_paid"] = json!(amount_paid);
        invoice["amount_remaining"] = json!(0);
        invoice["paid"] = json!(true);
        invoice["status"] = json!("paid");
        invoice["attempted"] = json!(true);
        invoice["attempt_count"] = json!(invoice["attempt_count"].as_i64().unwrap_or(0) + 1);
        invoice["next_payment_attempt"] = Value::Null;
        invoice["status_transitions"]["paid_at"] = json!(now);
        if let Some(paid) = paid {
            invoice["charge"] = json!(paid.charge);
            invoice["payment_intent"] = json!(paid.payment_intent);
        }
        let invoice = invoice.clone();
        Ok(state.record_event("invoice.paid", invoice, None))
    }

    /// The payment of open invoice `id` failed: it stays `open`, its
    /// `attempt_count` grows (and Stripe would retry in three days, for
    /// `charge_automatically`). Records and returns the event
    /// `invoice.payment_failed`.
    pub fn fail_invoice_payment(&self, id: &str) -> Result<Value, String> {
        let mut state = self.lock();
        state.open_invoice(id)?;
        let (_, now) = state.tick();
        let invoice = find_mut(&mut state.invoices, id).ok_or("the invoice vanished")?;
        invoice["attempted"] = json!(true);
        invoice["attempt_count"] = json!(invoice["attempt_count"].as_i64().unwrap_or(0) + 1);
        invoice["next_payment_attempt"] = if invoice["collection_method"] == "charge_automatically"
        {
            json!(now + 3 * 24 * 3600)
        } else {
            Value::Null
        };
        let invoice = invoice.clone();
        Ok(state.record_event("invoice.payment_failed", invoice, None))
    }
}

impl State {
    fn open_invoice(&self, id: &str) -> Result<&Value, String> {
        let invoice = self
            .invoices
            .iter()
            .find(|i| i["id"] == id)
            .ok_or_else(|| format!("no such invoice: {id}"))?;
        match invoice["status"].as_str() {
            Some("open") => Ok(invoice),
            status => Err(format!(
                "invoice {id} is {}, not open",
                status.unwrap_or("unknown")
            )),
        }
    }

    /// Rebuild invoice `id`'s lines and amounts from its invoice items.
    fn refresh_invoice(&mut self, id: &str) {
        let finalized = self
            .invoices
            .iter()
            .find(|i| i["id"] == id)
            .is_some_and(|i| i["status"] != "draft");
        let lines: Vec<Value> = self
            .invoice_items
            .iter()
            .filter(|item| item["invoice"] == id)
            .map(|item| line_object(item, id, finalized))
            .collect();
        let total: i64 = lines.iter().filter_map(|l| l["amount"].as_i64()).sum();
        let Some(invoice) = find_mut(&mut self.invoices, id) else {
            return;
        };
        let paid = invoice["amount_paid"].as_i64().unwrap_or(0);
        let due = total.max(0);
        invoice["lines"] = list_object(lines, &format!("/v1/invoices/{id}/lines"));
        for field in [
            "subtotal",
            "subtotal_excluding_tax",
            "total",
            "total_excluding_tax",
        ] {
            invoice[field] = json!(total);
        }
        invoice["amount_due"] = json!(due);
        invoice["amount_remaining"] = json!((due - paid).max(0));
    }
}

/// `POST /v1/invoiceitems`.
pub(super) fn create_item(state: &mut State, call: &Call<'_>) -> MockResponse {
    idempotency::post(state, call, INVOICE_ITEM, |state, form, _| {
        let customer_id = form.required("customer")?;
        let customer = state.existing_customer(customer_id, "customer")?;
        let amount = form
            .integer("amount")?
            .ok_or_else(|| wire::missing("amount"))?;
        let currency = match form.currency("currency")? {
            Some(currency) => currency,
            None => customer["currency"]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| wire::missing("currency"))?,
        };
        let invoice = match form.text("invoice") {
            None => None,
            Some(id) => {
                let invoice = state
                    .invoices
                    .iter()
                    .find(|i| i["id"] == id)
                    .ok_or_else(|| wire::no_such("invoice", id, "invoice", 400))?;
                if invoice["customer"] != customer_id {
                    return Err(wire::invalid(
                        None,
                        &format!(
                            "The invoice {id} belongs to customer {}, not to {customer_id}.",
                            invoice["customer"].as_str().unwrap_or_default()
                        ),
                        "invoice",
                    ));
                }
                if invoice["status"] != "draft" {
                    return Err(wire::invalid(
                        Some("invoice_not_editable"),
                        &format!(
                            "You can only add invoice items to draft invoices; {id} is {}.",
                            invoice["status"].as_str().unwrap_or_default()
                        ),
                        "invoice",
                    ));
                }
                if invoice["currency"] != currency.as_str() {
                    return Err(wire::invalid(
                        None,
                        &format!(
                            "The invoice item's currency ({currency}) must match the invoice's ({}).",
                            invoice["currency"].as_str().unwrap_or_default()
                        ),
                        "currency",
                    ));
                }
                Some(id.to_string())
            }
        };
        let metadata = form.metadata("metadata")?;
        let (seq, created) = state.tick();
        let id = stripe_id("ii", seq, 24);
        let price = state.new_id("price", 24);
        let product = state.new_id("prod", 14);
        let item = json!({
            "id": id,
            "object": "invoiceitem",
            "amount": amount,
            "currency": currency,
            "customer": customer_id,
            "date": created,
            "description": form.text("description"),
            "discountable": true,
            "discounts": [],
            "invoice": invoice,
            "livemode": false,
            "metadata": metadata,
            "period": {"end": created, "start": created},
            "plan": null,
            "price": {
                "id": price,
                "object": "price",
                "active": false,
                "billing_scheme": "per_unit",
                "created": created,
                "currency": currency,
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
                "unit_amount": amount,
                "unit_amount_decimal": amount.to_string()
            },
            "proration": false,
            "quantity": 1,
            "subscription": null,
            "tax_rates": [],
            "test_clock": null,
            "unit_amount": amount,
            "unit_amount_decimal": amount.to_string(),
        });
        state.invoice_items.push(item.clone());
        if let Some(invoice) = invoice {
            state.refresh_invoice(&invoice);
        }
        Ok(item)
    })
}

/// `POST /v1/invoices`.
pub(super) fn create(state: &mut State, call: &Call<'_>) -> MockResponse {
    idempotency::post(state, call, INVOICE, |state, form, _| {
        let customer_id = form.required("customer")?;
        let customer = state.existing_customer(customer_id, "customer")?.clone();
        let collection_method = form
            .choice(
                "collection_method",
                &["charge_automatically", "send_invoice"],
            )?
            .unwrap_or("charge_automatically");
        let days_until_due = form.integer_at_least("days_until_due", 0)?;
        match (collection_method, days_until_due) {
            ("send_invoice", None) => return Err(wire::missing("days_until_due")),
            ("charge_automatically", Some(_)) => {
                return Err(wire::invalid(
                    None,
                    "You can only set `days_until_due` if `collection_method` is `send_invoice`.",
                    "days_until_due",
                ));
            }
            _ => {}
        }
        let auto_advance = form.boolean("auto_advance")?.unwrap_or(false);
        let include = form
            .choice("pending_invoice_items_behavior", &["include", "exclude"])?
            .unwrap_or("exclude")
            == "include";
        let pending: Vec<&Value> = state
            .invoice_items
            .iter()
            .filter(|i| i["customer"] == customer_id && i["invoice"].is_null())
            .collect();
        let currency = match form.currency("currency")? {
            Some(currency) => currency,
            None => customer["currency"]
                .as_str()
                .or_else(|| {
                    pending
                        .first()
                        .filter(|_| include)
                        .and_then(|i| i["currency"].as_str())
                })
                .unwrap_or("usd")
                .to_string(),
        };
        let taken: Vec<String> = if include {
            pending
                .iter()
                .filter(|i| i["currency"] == currency.as_str())
                .filter_map(|i| i["id"].as_str().map(str::to_string))
                .collect()
        } else {
            Vec::new()
        };
        let metadata = form.metadata("metadata")?;
        let (seq, created) = state.tick();
        let id = stripe_id("in", seq, 24);
        let next_payment_attempt =
            (collection_method == "charge_automatically" && auto_advance).then_some(created + 3600);
        let invoice = json!({
            "id": id,
            "object": "invoice",
            "account_country": "US",
            "account_name": "Workway",
            "account_tax_ids": null,
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "amount_shipping": 0,
            "application": null,
            "application_fee_amount": null,
            "attempt_count": 0,
            "attempted": false,
            "auto_advance": auto_advance,
            "automatic_tax": {"enabled": false, "liability": null, "status": null},
            "billing_reason": "manual",
            "charge": null,
            "collection_method": collection_method,
            "created": created,
            "currency": currency,
            "custom_fields": null,
            "customer": customer_id,
            "customer_address": customer["address"],
            "customer_email": customer["email"],
            "customer_name": customer["name"],
            "customer_phone": customer["phone"],
            "customer_shipping": null,
            "customer_tax_exempt": customer["tax_exempt"],
            "customer_tax_ids": [],
            "default_payment_method": null,
            "default_source": null,
            "default_tax_rates": [],
            "description": form.text("description"),
            "discount": null,
            "discounts": [],
            "due_date": days_until_due.map(|days| created + days * 24 * 3600),
            "effective_at": null,
            "ending_balance": null,
            "footer": null,
            "from_invoice": null,
            "hosted_invoice_url": null,
            "invoice_pdf": null,
            "issuer": {"type": "self"},
            "last_finalization_error": null,
            "latest_revision": null,
            "lines": list_object(Vec::new(), &format!("/v1/invoices/{id}/lines")),
            "livemode": false,
            "metadata": metadata,
            "next_payment_attempt": next_payment_attempt,
            "number": null,
            "on_behalf_of": null,
            "paid": false,
            "paid_out_of_band": false,
            "payment_intent": null,
            "payment_settings": {
                "default_mandate": null,
                "payment_method_options": null,
                "payment_method_types": null
            },
            "period_end": created,
            "period_start": created,
            "post_payment_credit_notes_amount": 0,
            "pre_payment_credit_notes_amount": 0,
            "quote": null,
            "receipt_number": null,
            "rendering": null,
            "shipping_cost": null,
            "shipping_details": null,
            "starting_balance": 0,
            "statement_descriptor": null,
            "status": "draft",
            "status_transitions": {
                "finalized_at": null,
                "marked_uncollectible_at": null,
                "paid_at": null,
                "voided_at": null
            },
            "subscription": null,
            "subscription_details": {"metadata": null},
            "subtotal": 0,
            "subtotal_excluding_tax": 0,
            "tax": null,
            "test_clock": null,
            "total": 0,
            "total_discount_amounts": [],
            "total_excluding_tax": 0,
            "total_tax_amounts": [],
            "transfer_data": null,
            "webhooks_delivered_at": created,
        });
        state.invoices.push(invoice);
        for item in &taken {
            if let Some(item) = find_mut(&mut state.invoice_items, item) {
                item["invoice"] = json!(id);
            }
        }
        state.refresh_invoice(&id);
        Ok(state.object(&id).unwrap_or_default())
    })
}

/// `POST /v1/invoices/{id}/finalize`.
pub(super) fn finalize(state: &mut State, call: &Call<'_>, id: &str) -> MockResponse {
    idempotency::post(state, call, FINALIZE, |state, form, _| {
        let invoice = state
            .invoices
            .iter()
            .find(|i| i["id"] == id)
            .ok_or_else(|| wire::no_such("invoice", id, "invoice", 404))?;
        if invoice["status"] != "draft" {
            return Err(wire::error_response(
                400,
                "invalid_request_error",
                Some("invoice_not_editable"),
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                None,
            ));
        }
        let auto_advance = form.boolean("auto_advance")?;
        let customer_id = invoice["customer"].as_str().unwrap_or_default().to_string();
        let (_, now) = state.tick();
        let number = match state.customer_mut(&customer_id) {
            Some(customer) => {
                let sequence = customer["next_invoice_sequence"].as_i64().unwrap_or(1);
                customer["next_invoice_sequence"] = json!(sequence + 1);
                format!(
                    "{}-{sequence:04}",
                    customer["invoice_prefix"].as_str().unwrap_or("INVOICE")
                )
            }
            None => format!("INVOICE-{:04}", state.invoices.len()),
        };
        let token = state.new_id("test", 80);
        let invoice = find_mut(&mut state.invoices, id)
            .ok_or_else(|| wire::no_such("invoice", id, "invoice", 404))?;
        if let Some(auto_advance) = auto_advance {
            invoice["auto_advance"] = json!(auto_advance);
        }
        invoice["status"] = json!("open");
        invoice["number"] = json!(number);
        invoice["effective_at"] = json!(now);
        invoice["status_transitions"]["finalized_at"] = json!(now);
        invoice["hosted_invoice_url"] = json!(format!(
            "https://invoice.stripe.com/i/{PLATFORM_ACCOUNT}/{token}?s=ap"
        ));
        invoice["invoice_pdf"] = json!(format!(
            "https://pay.stripe.com/invoice/{PLATFORM_ACCOUNT}/{token}/pdf?s=ap"
        ));
        invoice["next_payment_attempt"] = if invoice["collection_method"] == "charge_automatically"
            && invoice["auto_advance"] == true
        {
            json!(now + 3600)
        } else {
            Value::Null
        };
        if invoice["amount_due"] == 0 {
            invoice["status"] = json!("paid");
            invoice["paid"] = json!(true);
            invoice["next_payment_attempt"] = Value::Null;
            invoice["status_transitions"]["paid_at"] = json!(now);
        }
        state.refresh_invoice(id);
        Ok(state.object(id).unwrap_or_default())
    })
}

/// Invoice `invoice`'s line for invoice item `item` (its id is temporary
/// until the invoice is finalized).
fn line_object(item: &Value, invoice: &str, finalized: bool) -> Value {
    let item_id = item["id"].as_str().unwrap_or_default();
    let suffix = item_id.strip_prefix("ii_").unwrap_or(item_id);
    let id = if finalized {
        format!("il_{suffix}")
    } else {
        format!("il_tmp_{suffix}")
    };
    json!({
        "id": id,
        "object": "line_item",
        "amount": item["amount"],
        "amount_excluding_tax": item["amount"],
        "currency": item["currency"],
        "description": item["description"],
        "discount_amounts": [],
        "discountable": true,
        "discounts": [],
        "invoice": invoice,
        "invoice_item": item_id,
        "livemode": false,
        "metadata": item["metadata"],
        "period": item["period"],
        "plan": null,
        "price": item["price"],
        "proration": false,
        "proration_details": {"credited_items": null},
        "quantity": 1,
        "subscription": null,
        "tax_amounts": [],
        "tax_rates": [],
        "type": "invoiceitem",
        "unit_amount_excluding_tax": item["amount"].to_string(),
    })
}
