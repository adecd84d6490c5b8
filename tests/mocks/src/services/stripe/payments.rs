//! What a succeeded card payment leaves behind: a payment intent, its
//! charge, the charge's balance transaction with Stripe's fee, and for a
//! destination charge the application fee and the transfer to the
//! connected account. Checkout Sessions and invoices are paid through
//! [`State::capture`]; `GET /v1/payment_intents/{id}` and
//! `GET /v1/balance_transactions/{id}` read what it made.

use serde_json::{Map, Value, json};

use super::charges::charge_object;
use super::transfers::NewTransfer;
use super::wire::{card_fee, list_object, stripe_id};
use super::{State, Stored};

/// The Connect application of the platform account the mock stands for.
pub(super) const PLATFORM_APPLICATION: &str = "ca_WorkwayMockPlatform0000000000";

/// A payment the buyer made.
#[derive(Debug, Clone, Default)]
pub(super) struct Payment {
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Map<String, Value>,
    pub receipt_email: Option<String>,
    pub invoice: Option<String>,
    /// The platform's cut of a destination charge.
    pub application_fee_amount: Option<i64>,
    /// The connected account of a destination charge.
    pub destination: Option<String>,
    /// Stripe's fee; `None` for the standard US card fee.
    pub fee_cents: Option<i64>,
}

/// The ids a payment made.
#[derive(Debug, Clone)]
pub(super) struct Paid {
    pub payment_intent: String,
    pub charge: String,
}

impl State {
    /// Record `payment` as succeeded: its payment intent, charge (listed
    /// with the other charges), balance transaction, and for a destination
    /// charge its application fee and transfer.
    pub(super) fn capture(&mut self, payment: Payment) -> Paid {
        let (_, now) = self.tick();
        let intent_id = self.new_id("pi", 24);
        let charge_seq = {
            self.seq += 1;
            self.seq
        };
        let charge_id = stripe_id("ch", charge_seq, 24);
        let amount = payment.amount;
        let currency = payment.currency.clone();
        let fee = payment.fee_cents.unwrap_or_else(|| card_fee(amount));
        let txn = self.add_balance_transaction(
            "charge",
            amount,
            fee,
            &currency,
            &charge_id,
            payment.description.clone(),
        );
        let transfer_group = payment
            .destination
            .as_ref()
            .map(|_| format!("group_{intent_id}"));
        let application_fee_amount = payment.application_fee_amount.unwrap_or(0);
        let application_fee = match &payment.destination {
            Some(account) if application_fee_amount > 0 => {
                let id = self.new_id("fee", 24);
                self.application_fees.push(json!({
                    "id": id,
                    "object": "application_fee",
                    "account": account,
                    "amount": application_fee_amount,
                    "amount_refunded": 0,
                    "application": PLATFORM_APPLICATION,
                    "balance_transaction": null,
                    "charge": charge_id,
                    "created": now,
                    "currency": currency,
                    "fee_source": {"charge": charge_id, "type": "charge"},
                    "livemode": false,
                    "originating_transaction": null,
                    "refunded": false,
                    "refunds": list_object(Vec::new(), &format!("/v1/application_fees/{id}/refunds")),
                }));
                Some(id)
            }
            _ => None,
        };
        let transfer = match &payment.destination {
            Some(destination) if amount > application_fee_amount => {
                let transfer = self.create_transfer(NewTransfer {
                    amount: amount - application_fee_amount,
                    currency: currency.clone(),
                    destination: destination.clone(),
                    source_transaction: Some(charge_id.clone()),
                    transfer_group: transfer_group.clone(),
                    description: None,
                    metadata: Map::new(),
                });
                Some(transfer["id"].clone())
            }
            _ => None,
        };

        let mut charge = charge_object(&charge_id, amount, now, charge_seq);
        charge["currency"] = json!(currency);
        charge["customer"] = json!(payment.customer);
        charge["description"] = json!(payment.description);
        charge["metadata"] = Value::Object(payment.metadata.clone());
        charge["payment_intent"] = json!(intent_id);
        charge["balance_transaction"] = json!(txn);
        charge["invoice"] = json!(payment.invoice);
        charge["receipt_email"] = json!(payment.receipt_email);
        charge["billing_details"]["email"] = json!(payment.receipt_email);
        charge["application_fee"] = json!(application_fee);
        charge["application_fee_amount"] = json!(payment.application_fee_amount);
        if let Some(destination) = &payment.destination {
            charge["transfer_data"] = json!({"amount": null, "destination": destination});
            charge["transfer_group"] = json!(transfer_group);
            charge["transfer"] = transfer.unwrap_or(Value::Null);
        }
        let payment_method = charge["payment_method"].clone();
        self.charges.push(Stored {
            seq: charge_seq,
            object: charge,
        });

        let secret = stripe_id("secret", charge_seq, 24);
        self.payment_intents.push(json!({
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_details": {"tip": {}},
            "amount_received": amount,
            "application": null,
            "application_fee_amount": payment.application_fee_amount,
            "automatic_payment_methods": null,
            "canceled_at": null,
            "cancellation_reason": null,
            "capture_method": "automatic",
            "client_secret": format!("{intent_id}_{secret}"),
            "confirmation_method": "automatic",
            "created": now,
            "currency": currency,
            "customer": payment.customer,
            "description": payment.description,
            "invoice": payment.invoice,
            "last_payment_error": null,
            "latest_charge": charge_id,
            "livemode": false,
            "metadata": payment.metadata,
            "next_action": null,
            "on_behalf_of": null,
            "payment_method": payment_method,
            "payment_method_configuration_details": null,
            "payment_method_options": {
                "card": {
                    "installments": null,
                    "mandate_options": null,
                    "network": null,
                    "request_three_d_secure": "automatic"
                }
            },
            "payment_method_types": ["card"],
            "processing": null,
            "receipt_email": payment.receipt_email,
            "review": null,
            "setup_future_usage": null,
            "shipping": null,
            "source": null,
            "statement_descriptor": null,
            "statement_descriptor_suffix": null,
            "status": "succeeded",
            "transfer_data": payment.destination.as_ref().map(|d| json!({"destination": d})),
            "transfer_group": transfer_group,
        }));
        Paid {
            payment_intent: intent_id,
            charge: charge_id,
        }
    }

    /// Record a balance transaction of `kind` (`charge`, `refund`,
    /// `transfer`, `transfer_refund`) for `source`; returns its id.
    pub(super) fn add_balance_transaction(
        &mut self,
        kind: &str,
        amount: i64,
        fee: i64,
        currency: &str,
        source: &str,
        description: Option<String>,
    ) -> String {
        let id = self.new_id("txn", 24);
        let fee_details = if fee == 0 {
            Vec::new()
        } else {
            vec![json!({
                "amount": fee,
                "application": null,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            })]
        };
        let reporting_category = match kind {
            "transfer_refund" => "transfer_reversal",
            other => other,
        };
        self.balance_transactions.push(json!({
            "id": id,
            "object": "balance_transaction",
            "amount": amount,
            "available_on": self.clock,
            "created": self.clock,
            "currency": currency,
            "description": description,
            "exchange_rate": null,
            "fee": fee,
            "fee_details": fee_details,
            "net": amount - fee,
            "reporting_category": reporting_category,
            "source": source,
            "status": "available",
            "type": kind,
        }));
        id
    }
}
