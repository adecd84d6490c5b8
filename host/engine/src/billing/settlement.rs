//! Settlement: moving the money the ledger says is owed through the
//! payment provider, and applying what the provider reports back.
//!
//! - [`apply_notification`]: a provider notification (a Stripe webhook),
//!   verified, applied once by its event id: a checkout paid (the
//!   purchase paid with the fee the provider reports, the part transferred
//!   to the developer, or the credit credited) or expired unpaid, a refund
//!   (the entitlement removed, the transfer's reversal booked), an invoice
//!   paid or failed.
//! - [`settle`]: run with the statements pass in `serve`/`worker`
//!   upkeep: invoices for finalized user statements with something to
//!   pay, payouts for finalized developer statements, and payouts the
//!   provider has not confirmed yet asked for again (the payout's id is
//!   the idempotency key, so a repeat never pays twice).
//!
//! Every step is idempotent and claimed in the store, so it is safe on
//! any number of hosts and after a crash at any point.

use workway_store::StoreError;
use workway_store::billing::{PayoutClaim, PayoutRow};

use super::payments::{
    InvoiceRequest, NotificationError, PaymentError, PaymentEvent, TransferRequest,
};
use crate::platform::Platform;

/// The most invoices or payouts one pass handles (the rest wait a minute).
const BATCH: i64 = 50;

/// Why a notification was not applied.
#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    /// The notification was refused (signature, format, the provider).
    #[error("{0}")]
    Notification(#[from] NotificationError),
    /// It names something of this platform that does not match it.
    #[error("the notification does not match this platform's records: {0}")]
    Mismatch(String),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What applying a notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied now.
    Applied,
    /// Applied before (the provider sent it again).
    Duplicate,
    /// Verified, about nothing this platform acts on.
    Ignored,
}

/// Verify and apply the provider's notification: `signature` (its header)
/// over the raw `body`.
pub async fn apply_notification(
    platform: &Platform,
    signature: Option<&str>,
    body: &[u8],
) -> Result<Applied, SettlementError> {
    let provider = &platform.payments;
    let now = workway_store::clock::now_ms();
    let notification = provider
        .notification(signature, body, now.div_euclid(1000))
        .await?;
    let billing = platform.store.billing();
    if billing
        .event_applied(provider.name(), &notification.id)
        .await?
    {
        return Ok(Applied::Duplicate);
    }
    let applied = match &notification.event {
        PaymentEvent::CheckoutPaid {
            reference,
            provider_ref,
            fee_cents,
            transfer,
        } => {
            checkout_paid(platform, reference, provider_ref, *fee_cents, transfer, now).await?;
            Applied::Applied
        }
        PaymentEvent::CheckoutExpired { reference } => {
            if reference.starts_with("cr_") {
                billing.mark_credit_expired(reference, now).await?;
            } else {
                billing.mark_expired(reference, now).await?;
            }
            Applied::Applied
        }
        PaymentEvent::Refunded {
            reference,
            full,
            reversed_cents,
        } => {
            refunded(platform, reference, *full, *reversed_cents, now).await?;
            Applied::Applied
        }
        PaymentEvent::InvoicePaid { provider_ref } => {
            billing
                .invoice_paid(provider.name(), provider_ref, now)
                .await?;
            Applied::Applied
        }
        PaymentEvent::InvoicePaymentFailed { provider_ref } => {
            billing
                .invoice_payment_failed(provider.name(), provider_ref, now)
                .await?;
            Applied::Applied
        }
        PaymentEvent::Ignored => Applied::Ignored,
    };
    billing
        .record_event(provider.name(), &notification.id, &notification.kind, now)
        .await?;
    tracing::info!(
        event = notification.id,
        kind = notification.kind,
        outcome = ?applied,
        "payment notification"
    );
    Ok(applied)
}

async fn checkout_paid(
    platform: &Platform,
    reference: &str,
    provider_ref: &str,
    fee_cents: i64,
    transfer: &Option<(String, i64)>,
    now: i64,
) -> Result<(), SettlementError> {
    let billing = platform.store.billing();
    let provider = platform.payments.name();
    if reference.starts_with("cr_") {
        let credit = billing
            .credit_purchase_by_id(reference)
            .await?
            .filter(|c| c.provider == provider)
            .ok_or_else(|| SettlementError::Mismatch(format!("no credit purchase {reference}")))?;
        billing
            .mark_credit_paid(&credit.id, provider_ref, now)
            .await?;
        return Ok(());
    }
    // The checkout may be reported before `buy` noted its reference.
    let purchase = billing
        .purchase_by_id(reference)
        .await?
        .filter(|p| {
            p.provider == provider
                && p.provider_ref
                    .as_deref()
                    .is_none_or(|known| known == provider_ref)
        })
        .ok_or_else(|| {
            SettlementError::Mismatch(format!(
                "no purchase {reference} with checkout {provider_ref}"
            ))
        })?;
    if purchase.provider_ref.is_none() {
        billing.set_provider_ref(&purchase.id, provider_ref).await?;
    }
    billing.mark_paid(&purchase.id, fee_cents, now).await?;
    if let Some((transfer_ref, amount_cents)) = transfer {
        billing
            .record_sale_transfer(
                &purchase.id,
                provider,
                transfer_ref,
                *amount_cents,
                purchase.developer.as_deref(),
                now,
            )
            .await?;
    }
    Ok(())
}

async fn refunded(
    platform: &Platform,
    reference: &str,
    full: bool,
    reversed_cents: i64,
    now: i64,
) -> Result<(), SettlementError> {
    let billing = platform.store.billing();
    let provider = platform.payments.name();
    let Some(purchase) = billing
        .purchase_by_id(reference)
        .await?
        .filter(|p| p.provider == provider)
    else {
        // Prepaid credit is not refunded through the platform.
        tracing::warn!(
            reference,
            "a refund at the provider of no purchase: left alone"
        );
        return Ok(());
    };
    if full {
        billing.mark_refunded(&purchase.id, now).await?;
    }
    billing
        .record_transfer_reversal(
            &purchase.id,
            provider,
            reversed_cents,
            purchase.developer.as_deref(),
            now,
        )
        .await?;
    Ok(())
}

/// What one settlement pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Invoices made at the provider.
    pub invoices: usize,
    /// Payouts sent.
    pub payouts: usize,
    /// Payouts skipped (less than a cent owed, or no payout account).
    pub skipped: usize,
    /// Requests the provider refused or could not take (retried or
    /// failed; logged).
    pub errors: usize,
}

/// One settlement pass: invoice finalized user statements, claim the
/// payouts of finalized developer statements, send pending payouts.
pub async fn settle(platform: &Platform, now: i64) -> Result<Settled, StoreError> {
    let mut done = Settled::default();
    invoice_statements(platform, now, &mut done).await?;
    claim_payouts(platform, now, &mut done).await?;
    send_payouts(platform, now, &mut done).await?;
    if done != Settled::default() {
        tracing::info!(
            invoices = done.invoices,
            payouts = done.payouts,
            skipped = done.skipped,
            errors = done.errors,
            "settlement"
        );
    }
    Ok(done)
}

async fn invoice_statements(
    platform: &Platform,
    now: i64,
    done: &mut Settled,
) -> Result<(), StoreError> {
    let billing = platform.store.billing();
    let provider = &platform.payments;
    for invoice in billing
        .invoices_to_make(provider.name(), now, BATCH)
        .await?
    {
        let Some(statement) = billing
            .statement(&invoice.account_id, &invoice.statement_id)
            .await?
        else {
            continue;
        };
        let made = async {
            let customer = match billing
                .customer_ref(&invoice.account_id, provider.name())
                .await?
            {
                Some(customer) => customer,
                None => {
                    let email = platform
                        .store
                        .accounts()
                        .get(&invoice.account_id)
                        .await?
                        .map(|a| a.email)
                        .unwrap_or_default();
                    let made = provider.customer(&invoice.account_id, &email).await?;
                    billing
                        .keep_customer_ref(&invoice.account_id, provider.name(), &made, now)
                        .await?
                }
            };
            let invoiced = provider
                .invoice(&InvoiceRequest {
                    statement_id: &invoice.statement_id,
                    month: &statement.month,
                    customer: &customer,
                    amount_cents: invoice.amount_cents,
                })
                .await?;
            billing
                .invoice_made(
                    &invoice.statement_id,
                    &invoiced.provider_ref,
                    invoiced.url.as_deref(),
                    now,
                )
                .await?;
            if invoiced.paid {
                billing
                    .invoice_paid(provider.name(), &invoiced.provider_ref, now)
                    .await?;
            }
            Ok::<_, Failure>(())
        }
        .await;
        match made {
            Ok(()) => done.invoices += 1,
            Err(Failure::Store(e)) => return Err(e),
            Err(Failure::Provider(PaymentError::Refused(reason))) => {
                done.errors += 1;
                tracing::warn!(
                    statement = invoice.statement_id,
                    reason,
                    "the provider refused the invoice; the amount stays receivable"
                );
                billing
                    .invoice_refused(&invoice.statement_id, &reason, now)
                    .await?;
            }
            Err(Failure::Provider(e)) => {
                done.errors += 1;
                tracing::warn!(statement = invoice.statement_id, error = %e, "invoice not made; tried again next pass");
            }
        }
    }
    Ok(())
}

async fn claim_payouts(
    platform: &Platform,
    now: i64,
    done: &mut Settled,
) -> Result<(), StoreError> {
    let billing = platform.store.billing();
    let provider = platform.payments.name();
    for (statement_id, developer) in billing.statements_to_pay_out(BATCH).await? {
        let destination = platform
            .store
            .publishers()
            .profile(&developer)
            .await?
            .and_then(|p| p.payout_account);
        let id = format!("po_{}", uuid::Uuid::new_v4().simple());
        let claimed = billing
            .claim_payout(&PayoutClaim {
                id: &id,
                statement_id: &statement_id,
                developer: &developer,
                destination: destination.as_deref(),
                provider,
                now,
            })
            .await?;
        if claimed.is_some_and(|p| p.state == "skipped") {
            done.skipped += 1;
        }
    }
    Ok(())
}

async fn send_payouts(platform: &Platform, now: i64, done: &mut Settled) -> Result<(), StoreError> {
    let billing = platform.store.billing();
    let provider = &platform.payments;
    for payout in billing.pending_payouts(provider.name(), BATCH).await? {
        match send(platform, &payout).await {
            Ok(transfer) => {
                billing.payout_sent(&payout.id, &transfer, now).await?;
                done.payouts += 1;
            }
            Err(PaymentError::Refused(reason)) => {
                done.errors += 1;
                tracing::warn!(
                    payout = payout.id,
                    reason,
                    "payout refused; its amount stays owed"
                );
                billing.payout_failed(&payout.id, &reason, now).await?;
            }
            Err(PaymentError::Unavailable(reason)) => {
                done.errors += 1;
                tracing::warn!(
                    payout = payout.id,
                    reason,
                    "payout not sent; tried again next pass"
                );
            }
        }
    }
    Ok(())
}

async fn send(platform: &Platform, payout: &PayoutRow) -> Result<String, PaymentError> {
    let Some(destination) = payout.destination.as_deref() else {
        return Err(PaymentError::Refused("no payout account".into()));
    };
    platform
        .payments
        .transfer(&TransferRequest {
            payout_id: &payout.id,
            destination,
            amount_cents: payout.amount_cents,
            statement_id: &payout.statement_id,
        })
        .await
}

/// A step of making an invoice failed: the store (the pass stops) or the
/// provider (the invoice is tried again next pass).
enum Failure {
    Store(StoreError),
    Provider(PaymentError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl From<PaymentError> for Failure {
    fn from(e: PaymentError) -> Self {
        Failure::Provider(e)
    }
}
