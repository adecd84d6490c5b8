//! [`StripePayments`]: Stripe's real API, through the host's own outbound
//! requests ([`workway_egress::Egress::platform_send`]).
//!
//! Every request is form-encoded with Stripe's bracket syntax, pins
//! [`API_VERSION`], and every create carries an `Idempotency-Key` derived
//! from the platform's own id (a purchase, statement or payout), so a
//! request repeated after a timeout or a crash never charges, invoices or
//! pays twice. Amounts are integer cents (USD).
//!
//! - Upfront purchases and credit: a Checkout Session (`mode=payment`).
//!   When the developer has a connected account, the sale is a
//!   destination charge to it with `application_fee_amount = 0`: Stripe
//!   moves the whole price to the developer with the charge, and the
//!   ledger recovers Stripe's fee (as the charge's balance transaction
//!   reports it) from the developer's next payout.
//! - Usage invoices: an invoice item and a `send_invoice` invoice for the
//!   user's customer, finalized (Stripe emails it and hosts its page).
//! - Payouts: Connect transfers to the developer's account.
//! - Refunds: in full, with `reverse_transfer` when the sale was
//!   transferred.
//! - Webhooks: verified by `Stripe-Signature` ([`crate::signing`], the
//!   scheme Workway's own deliveries share) and read into the platform's
//!   terms (`events`).

mod events;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::Value;
use workway_capabilities::OutboundRequest;
use workway_egress::Egress;

use crate::signing;

use super::{
    Checkout, CheckoutRequest, InvoiceRequest, Invoiced, Notification, NotificationError,
    PaymentError, PaymentProvider, Refunded, TransferRequest,
};

/// The Stripe API version every request pins.
pub const API_VERSION: &str = "2024-06-20";

/// The currency of every amount.
const CURRENCY: &str = "usd";

/// How long one request to Stripe may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// The most response bytes read from Stripe.
const MAX_RESPONSE: usize = 1 << 20;

/// The metadata key naming the platform's id on Stripe's objects.
pub const REFERENCE_KEY: &str = "workway_reference";

/// `[payments.stripe]` in the host configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StripeSettings {
    /// The platform account's secret key (`sk_live_...`).
    pub secret_key: String,
    /// The webhook endpoint's signing secret (`whsec_...`).
    pub webhook_secret: String,
    /// Where Stripe's API is (`https://api.stripe.com`; tests point it
    /// elsewhere).
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Where the buyer's browser returns after paying
    /// (`<[server] public_url>/billing?checkout=done` by default).
    #[serde(default)]
    pub success_url: Option<String>,
    /// Where it returns when the buyer gives up
    /// (`<[server] public_url>/billing?checkout=cancelled` by default).
    #[serde(default)]
    pub cancel_url: Option<String>,
    /// How far a webhook's signed timestamp may be from now (seconds).
    #[serde(default = "default_tolerance")]
    pub webhook_tolerance_s: i64,
    /// Days a user has to pay a usage invoice.
    #[serde(default = "default_days_until_due")]
    pub invoice_days_until_due: u32,
}

fn default_api_base() -> String {
    "https://api.stripe.com".into()
}

fn default_tolerance() -> i64 {
    300
}

fn default_days_until_due() -> u32 {
    14
}

/// Why the Stripe settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StripeSettingsError {
    /// A setting is missing or wrong.
    #[error("[payments.stripe] {0}")]
    Invalid(String),
}

/// Payments through Stripe (see the module's documentation).
pub struct StripePayments {
    egress: Arc<Egress>,
    settings: StripeSettings,
    api_base: String,
    success_url: String,
    cancel_url: String,
}

impl std::fmt::Debug for StripePayments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripePayments")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl StripePayments {
    /// Stripe with `settings`, sending through `egress`; the return URLs
    /// default to pages under `public_url`.
    pub fn new(
        egress: Arc<Egress>,
        settings: StripeSettings,
        public_url: Option<&str>,
    ) -> Result<StripePayments, StripeSettingsError> {
        let invalid = |why: &str| Err(StripeSettingsError::Invalid(why.to_string()));
        if !settings.secret_key.starts_with("sk_") && !settings.secret_key.starts_with("rk_") {
            return invalid(
                "secret_key must be a Stripe secret or restricted key (sk_... or rk_...)",
            );
        }
        if !settings.webhook_secret.starts_with("whsec_") {
            return invalid("webhook_secret must be the endpoint's signing secret (whsec_...)");
        }
        if settings.webhook_tolerance_s <= 0 {
            return invalid("webhook_tolerance_s must be positive");
        }
        let api_base = settings.api_base.trim_end_matches('/').to_string();
        if !api_base.starts_with("https://") {
            return invalid("api_base must be an https:// URL");
        }
        let page = |given: &Option<String>, state: &str| match (given, public_url) {
            (Some(url), _) => Ok(url.clone()),
            (None, Some(base)) => Ok(format!(
                "{}/billing?checkout={state}",
                base.trim_end_matches('/')
            )),
            (None, None) => Err(StripeSettingsError::Invalid(
                "success_url and cancel_url are needed when [server] public_url is not set"
                    .to_string(),
            )),
        };
        Ok(StripePayments {
            success_url: page(&settings.success_url, "done")?,
            cancel_url: page(&settings.cancel_url, "cancelled")?,
            egress,
            settings,
            api_base,
        })
    }

    /// `POST path` with form `params` and `Idempotency-Key: key`.
    async fn post(
        &self,
        path: &str,
        params: &[(&str, String)],
        key: &str,
    ) -> Result<Value, PaymentError> {
        let body = encode(params.iter().map(|(n, v)| (*n, v.as_str()))).into_bytes();
        let headers = vec![
            (
                "content-type".to_string(),
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("idempotency-key".to_string(), key.to_string()),
        ];
        self.send("POST", path, headers, body).await
    }

    /// `GET path` with `query` (`expand[]=...`).
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, PaymentError> {
        let path = if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{}", encode(query.iter().copied()))
        };
        self.send("GET", &path, Vec::new(), Vec::new()).await
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        mut headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Value, PaymentError> {
        headers.push((
            "authorization".to_string(),
            format!("Bearer {}", self.settings.secret_key),
        ));
        headers.push(("stripe-version".to_string(), API_VERSION.to_string()));
        let request = OutboundRequest {
            method: method.to_string(),
            url: format!("{}{path}", self.api_base),
            headers,
            body,
            timeout: TIMEOUT,
            max_response_bytes: MAX_RESPONSE,
        };
        let response = self
            .egress
            .platform_send(request, MAX_RESPONSE)
            .await
            .map_err(|e| PaymentError::Unavailable(format!("{method} {path}: {e}")))?;
        let json: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        match response.status {
            200..=299 => Ok(json),
            status => {
                let error = &json["error"];
                let message = error["message"].as_str().unwrap_or("no message");
                let code = error["code"]
                    .as_str()
                    .or(error["type"].as_str())
                    .unwrap_or("unknown");
                let said = format!("{method} {path}: {status} {code}: {message}");
                if status == 429 || status >= 500 || status == 409 {
                    Err(PaymentError::Unavailable(said))
                } else {
                    Err(PaymentError::Refused(said))
                }
            }
        }
    }
}

/// `pairs` form-encoded (`a=1&b%5Bc%5D=2`), Stripe's bracket names as
/// they are.
fn encode<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        form.append_pair(name, value);
    }
    form.finish()
}

/// The string at `pointer` in `value`, or a refusal naming what Stripe's
/// answer lacked.
fn text(value: &Value, pointer: &str) -> Result<String, PaymentError> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| PaymentError::Refused(format!("Stripe's answer has no `{pointer}`")))
}

/// The integer at `pointer` in `value`, or a refusal naming what Stripe's
/// answer lacked.
fn integer(value: &Value, pointer: &str) -> Result<i64, PaymentError> {
    value
        .pointer(pointer)
        .and_then(Value::as_i64)
        .ok_or_else(|| PaymentError::Refused(format!("Stripe's answer has no `{pointer}`")))
}

/// Path segments from Stripe's answers must be plain ids.
fn id(value: &str) -> Result<&str, PaymentError> {
    if !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(value)
    } else {
        Err(PaymentError::Refused(format!(
            "`{value}` is not a Stripe id"
        )))
    }
}

#[async_trait]
impl PaymentProvider for StripePayments {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn checkout(&self, request: &CheckoutRequest<'_>) -> Result<Checkout, PaymentError> {
        let name = if request.purchase_id.starts_with("cr_") {
            "Workway prepaid credit".to_string()
        } else {
            format!("{} (Workway integration)", request.integration)
        };
        let mut params = vec![
            ("mode", "payment".to_string()),
            ("success_url", self.success_url.clone()),
            ("cancel_url", self.cancel_url.clone()),
            ("client_reference_id", request.purchase_id.to_string()),
            ("line_items[0][quantity]", "1".to_string()),
            ("line_items[0][price_data][currency]", CURRENCY.to_string()),
            (
                "line_items[0][price_data][unit_amount]",
                request.price_cents.to_string(),
            ),
            ("line_items[0][price_data][product_data][name]", name),
            (
                "metadata[workway_reference]",
                request.purchase_id.to_string(),
            ),
            (
                "payment_intent_data[metadata][workway_reference]",
                request.purchase_id.to_string(),
            ),
        ];
        if let Some(destination) = request.payout_account {
            params.push((
                "payment_intent_data[transfer_data][destination]",
                destination.to_string(),
            ));
            params.push(("payment_intent_data[application_fee_amount]", "0".into()));
        }
        let key = format!("checkout-{}", request.purchase_id);
        let session = self.post("/v1/checkout/sessions", &params, &key).await?;
        Ok(Checkout::Redirect {
            provider_ref: text(&session, "/id")?,
            url: text(&session, "/url")?,
        })
    }

    async fn refund(
        &self,
        provider_ref: &str,
        purchase_id: &str,
    ) -> Result<Refunded, PaymentError> {
        let session = self
            .get(
                &format!("/v1/checkout/sessions/{}", id(provider_ref)?),
                &[("expand[]", "payment_intent.latest_charge")],
            )
            .await?;
        let intent = text(&session, "/payment_intent/id")?;
        let transfer = session
            .pointer("/payment_intent/latest_charge/transfer")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut params = vec![
            ("payment_intent", intent),
            ("reason", "requested_by_customer".to_string()),
            ("metadata[workway_reference]", purchase_id.to_string()),
        ];
        if transfer.is_some() {
            params.push(("reverse_transfer", "true".to_string()));
        }
        self.post("/v1/refunds", &params, &format!("refund-{purchase_id}"))
            .await?;
        let reversed_cents = match transfer {
            Some(transfer) => {
                let transfer = self
                    .get(&format!("/v1/transfers/{}", id(&transfer)?), &[])
                    .await?;
                integer(&transfer, "/amount_reversed")?
            }
            None => 0,
        };
        Ok(Refunded { reversed_cents })
    }

    async fn customer(&self, account_id: &str, email: &str) -> Result<String, PaymentError> {
        let params = [
            ("email", email.to_string()),
            ("metadata[workway_account]", account_id.to_string()),
        ];
        let customer = self
            .post("/v1/customers", &params, &format!("customer-{account_id}"))
            .await?;
        text(&customer, "/id")
    }

    async fn invoice(&self, request: &InvoiceRequest<'_>) -> Result<Invoiced, PaymentError> {
        let statement = request.statement_id;
        let reference = ("metadata[workway_reference]", statement.to_string());
        let item = [
            ("customer", request.customer.to_string()),
            ("amount", request.amount_cents.to_string()),
            ("currency", CURRENCY.to_string()),
            (
                "description",
                format!("Workway usage, {} (statement {statement})", request.month),
            ),
            reference.clone(),
        ];
        self.post(
            "/v1/invoiceitems",
            &item,
            &format!("invoiceitem-{statement}"),
        )
        .await?;
        let invoice = [
            ("customer", request.customer.to_string()),
            ("collection_method", "send_invoice".to_string()),
            (
                "days_until_due",
                self.settings.invoice_days_until_due.to_string(),
            ),
            ("pending_invoice_items_behavior", "include".to_string()),
            ("auto_advance", "true".to_string()),
            reference,
        ];
        let draft = self
            .post("/v1/invoices", &invoice, &format!("invoice-{statement}"))
            .await?;
        let invoice_id = text(&draft, "/id")?;
        let finalized = self
            .post(
                &format!("/v1/invoices/{}/finalize", id(&invoice_id)?),
                &[],
                &format!("finalize-{statement}"),
            )
            .await?;
        Ok(Invoiced {
            provider_ref: invoice_id,
            url: finalized
                .get("hosted_invoice_url")
                .and_then(Value::as_str)
                .map(str::to_string),
            paid: finalized.get("status").and_then(Value::as_str) == Some("paid"),
        })
    }

    async fn transfer(&self, request: &TransferRequest<'_>) -> Result<String, PaymentError> {
        let params = [
            ("amount", request.amount_cents.to_string()),
            ("currency", CURRENCY.to_string()),
            ("destination", request.destination.to_string()),
            (
                "description",
                format!("Workway payout for statement {}", request.statement_id),
            ),
            ("transfer_group", request.statement_id.to_string()),
            ("metadata[workway_reference]", request.payout_id.to_string()),
        ];
        let transfer = self
            .post(
                "/v1/transfers",
                &params,
                &format!("payout-{}", request.payout_id),
            )
            .await?;
        text(&transfer, "/id")
    }

    async fn notification(
        &self,
        header: Option<&str>,
        body: &[u8],
        now_s: i64,
    ) -> Result<Notification, NotificationError> {
        let header = header.ok_or_else(|| {
            NotificationError::Signature("no Stripe-Signature header".to_string())
        })?;
        let tolerance = self.settings.webhook_tolerance_s.unsigned_abs();
        signing::verify(
            &self.settings.webhook_secret,
            header,
            body,
            now_s,
            tolerance,
        )
        .map_err(|e| NotificationError::Signature(e.to_string()))?;
        events::read(self, body).await
    }
}
