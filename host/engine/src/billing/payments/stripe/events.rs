//! Reading a verified Stripe event into the platform's terms. What an
//! event carries is only a hint: the figures the ledger books (the fee,
//! the transfer, what a refund reversed) are read back from Stripe's API
//! as it reports them now.

use serde_json::Value;

use super::{REFERENCE_KEY, StripePayments, id, integer, text};
use crate::billing::payments::{Notification, NotificationError, PaymentEvent};

/// The event in `body` (already verified as Stripe's).
pub(super) async fn read(
    stripe: &StripePayments,
    body: &[u8],
) -> Result<Notification, NotificationError> {
    let event: Value = serde_json::from_slice(body)
        .map_err(|e| NotificationError::Malformed(format!("not JSON: {e}")))?;
    let field = |name: &str| {
        event
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| NotificationError::Malformed(format!("the event has no `{name}`")))
    };
    let (event_id, kind) = (field("id")?, field("type")?);
    let object = event
        .pointer("/data/object")
        .ok_or_else(|| NotificationError::Malformed("the event has no `data.object`".into()))?;
    let event = match kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            checkout_paid(stripe, object).await?
        }
        "checkout.session.expired" => match reference(object.get("metadata")) {
            Some(reference) => PaymentEvent::CheckoutExpired { reference },
            None => PaymentEvent::Ignored,
        },
        "charge.refunded" => refunded(stripe, object).await?,
        "invoice.paid" => PaymentEvent::InvoicePaid {
            provider_ref: object_id(object)?,
        },
        "invoice.payment_failed" => PaymentEvent::InvoicePaymentFailed {
            provider_ref: object_id(object)?,
        },
        _ => PaymentEvent::Ignored,
    };
    Ok(Notification {
        id: event_id,
        kind,
        event,
    })
}

fn object_id(object: &Value) -> Result<String, NotificationError> {
    object
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| NotificationError::Malformed("the event's object has no `id`".into()))
}

fn reference(metadata: Option<&Value>) -> Option<String> {
    metadata
        .and_then(|m| m.get(REFERENCE_KEY))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// A paid Checkout Session: its fee from the charge's balance transaction
/// and its transfer, read back from Stripe.
async fn checkout_paid(
    stripe: &StripePayments,
    session: &Value,
) -> Result<PaymentEvent, NotificationError> {
    let Some(reference) = reference(session.get("metadata")) else {
        return Ok(PaymentEvent::Ignored);
    };
    if session.get("payment_status").and_then(Value::as_str) != Some("paid") {
        // Paid later by a delayed method: `async_payment_succeeded` follows.
        return Ok(PaymentEvent::Ignored);
    }
    let session_id = object_id(session)?;
    let session = stripe
        .get(
            &format!("/v1/checkout/sessions/{}", id(&session_id)?),
            &[
                (
                    "expand[]",
                    "payment_intent.latest_charge.balance_transaction",
                ),
                ("expand[]", "payment_intent.latest_charge.transfer"),
            ],
        )
        .await?;
    let charge = "/payment_intent/latest_charge";
    let fee_cents = integer(&session, &format!("{charge}/balance_transaction/fee"))?;
    let transfer = match session.pointer(&format!("{charge}/transfer")) {
        Some(Value::Object(_)) => Some((
            text(&session, &format!("{charge}/transfer/id"))?,
            integer(&session, &format!("{charge}/transfer/amount"))?,
        )),
        _ => None,
    };
    Ok(PaymentEvent::CheckoutPaid {
        reference,
        provider_ref: session_id,
        fee_cents,
        transfer,
    })
}

/// A refunded charge: the purchase from its payment intent's metadata,
/// what was reversed from its transfer.
async fn refunded(
    stripe: &StripePayments,
    charge: &Value,
) -> Result<PaymentEvent, NotificationError> {
    let charge_id = object_id(charge)?;
    let charge = stripe
        .get(
            &format!("/v1/charges/{}", id(&charge_id)?),
            &[("expand[]", "payment_intent"), ("expand[]", "transfer")],
        )
        .await?;
    let Some(reference) = reference(charge.pointer("/payment_intent/metadata")) else {
        return Ok(PaymentEvent::Ignored);
    };
    let reversed_cents = match charge.get("transfer") {
        Some(Value::Object(_)) => integer(&charge, "/transfer/amount_reversed")?,
        _ => 0,
    };
    Ok(PaymentEvent::Refunded {
        reference,
        full: charge.get("refunded").and_then(Value::as_bool) == Some(true),
        reversed_cents,
    })
}
