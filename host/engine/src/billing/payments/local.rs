//! [`LocalPayments`]: every payment recorded as paid at once, no money
//! moved. For the quickstart and single-machine trials, never production.

use async_trait::async_trait;

use super::{
    Checkout, CheckoutRequest, InvoiceRequest, Invoiced, Notification, NotificationError,
    PaymentError, PaymentProvider, Refunded, TransferRequest,
};
use crate::billing::tariff::card_fee_estimate_cents;

/// Records every payment as paid at once, the fee estimate as its fee,
/// every invoice as paid and every payout as sent; moves no money. For the
/// quickstart and single-machine trials only.
#[derive(Debug, Default)]
pub struct LocalPayments;

#[async_trait]
impl PaymentProvider for LocalPayments {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn checkout(&self, request: &CheckoutRequest<'_>) -> Result<Checkout, PaymentError> {
        tracing::warn!(
            purchase = request.purchase_id,
            integration = request.integration,
            "local payments: recorded as paid without charging anyone (not for production)"
        );
        Ok(Checkout::Paid {
            provider_ref: format!("local_{}", request.purchase_id),
            fee_cents: card_fee_estimate_cents(request.price_cents),
        })
    }

    async fn refund(
        &self,
        _provider_ref: &str,
        purchase_id: &str,
    ) -> Result<Refunded, PaymentError> {
        tracing::warn!(
            purchase = purchase_id,
            "local payments: refund recorded, no money moved"
        );
        Ok(Refunded::default())
    }

    async fn customer(&self, account_id: &str, _email: &str) -> Result<String, PaymentError> {
        Ok(format!("local_{account_id}"))
    }

    async fn invoice(&self, request: &InvoiceRequest<'_>) -> Result<Invoiced, PaymentError> {
        tracing::warn!(
            statement = request.statement_id,
            amount_cents = request.amount_cents,
            "local payments: invoice recorded as paid, nobody was charged (not for production)"
        );
        Ok(Invoiced {
            provider_ref: format!("local_{}", request.statement_id),
            url: None,
            paid: true,
        })
    }

    async fn transfer(&self, request: &TransferRequest<'_>) -> Result<String, PaymentError> {
        tracing::warn!(
            payout = request.payout_id,
            amount_cents = request.amount_cents,
            "local payments: payout recorded as sent, no money moved (not for production)"
        );
        Ok(format!("local_{}", request.payout_id))
    }

    async fn notification(
        &self,
        _signature: Option<&str>,
        _body: &[u8],
        _now_s: i64,
    ) -> Result<Notification, NotificationError> {
        Err(NotificationError::Unsupported("local"))
    }
}
