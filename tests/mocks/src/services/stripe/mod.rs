//! Stripe's REST API (`https://api.stripe.com`), as far as the Stripe
//! integration and the platform's Stripe payment provider use it:
//!
//! - `GET /v1/charges` (a list), `GET /v1/charges/{id}`;
//! - `POST /v1/customers`, `GET /v1/customers/{id}`, `DELETE /v1/customers/{id}`;
//! - `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`
//!   (only `mode=payment` with ad-hoc `price_data` line items; a
//!   destination charge with `payment_intent_data[transfer_data][destination]`
//!   and `[application_fee_amount]`);
//! - `GET /v1/payment_intents/{id}`, `GET /v1/balance_transactions/{id}`;
//! - `POST /v1/refunds` (with `reverse_transfer` and
//!   `refund_application_fee`), `GET /v1/refunds/{id}`;
//! - `POST /v1/transfers`, `GET /v1/transfers/{id}`;
//! - `POST /v1/invoiceitems`, `POST /v1/invoices`,
//!   `POST /v1/invoices/{id}/finalize`, `GET /v1/invoices/{id}`;
//! - `GET /v1/events/{id}`.
//!
//! What happens outside the API is done by test hooks: the buyer pays or
//! abandons a Checkout Session ([`StripeMock::complete_checkout`],
//! [`StripeMock::expire_checkout`]), an invoice is paid or its payment
//! fails ([`StripeMock::pay_invoice`], [`StripeMock::fail_invoice_payment`]),
//! Connect accounts exist ([`StripeMock::add_connected_account`]). Those and
//! refunds record Stripe's events ([`StripeMock::events`]), which
//! [`StripeMock::deliver`] POSTs to a webhook endpoint signed with
//! `Stripe-Signature` as Stripe does.
//!
//! What it checks, as Stripe does: the `Authorization: Bearer` key (a
//! missing or unknown key gets Stripe's 401, whose `type` is
//! `invalid_request_error`), the `Stripe-Version` header's format, the
//! method and path (anything else is Stripe's "Unrecognized request URL"
//! 404), every query and form parameter, nested ones in Stripe's bracket
//! syntax included (unknown ones are a 400 `parameter_unknown` naming the
//! `param`), required parameters (`parameter_missing`), integers,
//! booleans, enumerations, currencies (three lowercase letters), URLs and
//! email addresses, that the customers, charges, payment intents, invoices
//! and Connect accounts a request names exist (a 400 `resource_missing`
//! naming the `param`), amounts (refunds beyond what is left are
//! `charge_already_refunded` or `amount_too_large`, an application fee
//! beyond the total is refused), list `limit` (1 to 100),
//! `starting_after` / `ending_before` cursors, the form content type of a
//! POST, `metadata[key]` limits (50 keys, 40-character keys,
//! 500-character values), and idempotency keys on every POST (the same
//! key with the same parameters replays the first response with
//! `Idempotent-Replayed: true`, with other parameters it is a 400
//! `idempotency_error`).
//!
//! Objects have Stripe's real shape (API version 2024-06-20); lists are
//! Stripe's list object, newest first. `expand[]` works on the retrieve
//! and create endpoints of checkout sessions, payment intents, charges,
//! balance transactions, refunds, transfers, invoices, invoice items and
//! events (the charge list and `POST /v1/customers` refuse it as an
//! unknown parameter and `GET /v1/customers/{id}` ignores its query, as
//! before): id fields are replaced by the objects
//! the mock keeps, along dotted paths of up to four levels
//! (`payment_intent.latest_charge.balance_transaction`), `line_items` of a
//! session and `refunds` of a charge are listed; an id of an object the
//! mock does not keep (a payment method, a product, an account) stays an
//! id; a path Stripe cannot expand is a 400 naming it. Every response
//! carries a `Request-Id`, and every error body a `request_log_url`.
//!
//! Objects are created on the mock's own clock, each operation a minute
//! after the previous from 2024-06-21 on; only `expires_at` of a Checkout
//! Session is checked against this machine's clock (its client computes
//! it from that), and [`StripeMock::deliver`] signs with it.

mod accounts;
mod charges;
mod checkout;
mod customers;
mod events;
mod expand;
mod idempotency;
mod invoices;
mod payments;
mod refunds;
mod transfers;
mod wire;

pub use events::WEBHOOK_USER_AGENT;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::{AcceptedTokens, Faults, ServiceServer};
use crate::request::RecordedRequest;
use crate::response::MockResponse;
use crate::tls::TestCa;
use wire::{EXPAND_ONLY, Form, error_body, error_response, stripe_id};

/// The host name the mock's certificate is for.
pub const HOST: &str = "api.stripe.com";

/// The API version answered in when a request pins none.
pub const DEFAULT_VERSION: &str = "2024-06-20";

/// A stand-in for `api.stripe.com` with customers, charges, Checkout
/// Sessions, payment intents, refunds, transfers, invoices and events in
/// memory.
pub struct StripeMock {
    service: ServiceServer,
    state: Arc<Mutex<State>>,
}

/// An object with its insertion order (ties on `created` go newest first).
#[derive(Debug, Clone)]
struct Stored {
    seq: u64,
    object: Value,
}

#[derive(Debug, Clone)]
struct State {
    seq: u64,
    clock: i64,
    requests: u64,
    customers: Vec<Stored>,
    deleted: Vec<String>,
    charges: Vec<Stored>,
    /// Connect accounts (`acct_...`) that exist.
    accounts: Vec<String>,
    sessions: Vec<checkout::Session>,
    payment_intents: Vec<Value>,
    balance_transactions: Vec<Value>,
    application_fees: Vec<Value>,
    transfers: Vec<Value>,
    refunds: Vec<Value>,
    invoice_items: Vec<Value>,
    invoices: Vec<Value>,
    events: Vec<Value>,
    /// By `(API key, Idempotency-Key)`: keys are scoped to the account.
    idempotency: HashMap<(String, String), idempotency::Saved>,
}

/// One API request being answered: who sent it and its `Request-Id`.
#[derive(Debug, Clone, Copy)]
struct Call<'a> {
    req: &'a RecordedRequest,
    /// The API key it authenticated with.
    key: &'a str,
    request_id: &'a str,
}

impl Call<'_> {
    fn idempotency_key(&self) -> Option<&str> {
        self.req.header("idempotency-key")
    }
}

impl StripeMock {
    /// Start the mock for `HOST`, with a certificate signed by `ca`,
    /// accepting the bearer keys `tokens` accepts.
    pub async fn start(ca: &TestCa, tokens: AcceptedTokens) -> Self {
        let state = Arc::new(Mutex::new(State::new()));
        let shared = state.clone();
        let service = ServiceServer::start(ca, HOST, move |faults, req| {
            handle(&shared, &tokens, faults, req)
        })
        .await;
        StripeMock { service, state }
    }

    /// A Stripe error response: `{"error": {"type": kind, "code": code,
    /// "doc_url": .., "message": message}}` with `status` (the handler adds
    /// `request_log_url` and `Request-Id`).
    pub fn error(status: u16, kind: &str, code: Option<&str>, message: &str) -> MockResponse {
        error_response(status, kind, code, message, None)
    }

    /// [`StripeMock::error`] about parameter `param`.
    pub fn error_with_param(
        status: u16,
        kind: &str,
        code: Option<&str>,
        message: &str,
        param: &str,
    ) -> MockResponse {
        error_response(status, kind, code, message, Some(param))
    }

    /// Stripe's 429 for too many requests (no `Retry-After`, as Stripe
    /// sends none; add one with `.header("retry-after", "2")`).
    pub fn rate_limited() -> MockResponse {
        Self::error(
            429,
            "invalid_request_error",
            Some("rate_limit"),
            "Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.",
        )
    }

    /// Stripe's 402 for a declined card.
    pub fn card_declined() -> MockResponse {
        let mut body = error_body(
            "card_error",
            Some("card_declined"),
            "Your card was declined.",
            None,
        );
        body["error"]["decline_code"] = json!("generic_decline");
        body["error"]["charge"] = json!("ch_3PWdDeclinedCharge0001");
        MockResponse::json(402, body)
    }

    /// Stripe's 400 for a transfer or payout the available balance does
    /// not cover (queue it with `faults().push_for("/v1/transfers", ..)`).
    pub fn balance_insufficient() -> MockResponse {
        Self::error(
            400,
            "invalid_request_error",
            Some("balance_insufficient"),
            "You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl std::fmt::Debug for StripeMock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeMock")
            .field("port", &self.port())
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for StripeMock {
    type Target = ServiceServer;

    fn deref(&self) -> &ServiceServer {
        &self.service
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl State {
    fn new() -> Self {
        State {
            seq: 0,
            clock: 1_719_000_000,
            requests: 0,
            customers: Vec::new(),
            deleted: Vec::new(),
            charges: Vec::new(),
            accounts: Vec::new(),
            sessions: Vec::new(),
            payment_intents: Vec::new(),
            balance_transactions: Vec::new(),
            application_fees: Vec::new(),
            transfers: Vec::new(),
            refunds: Vec::new(),
            invoice_items: Vec::new(),
            invoices: Vec::new(),
            events: Vec::new(),
            idempotency: HashMap::new(),
        }
    }

    /// The next sequence number and creation time (a minute apart).
    fn tick(&mut self) -> (u64, i64) {
        self.seq += 1;
        self.clock += 60;
        (self.seq, self.clock)
    }

    /// A fresh id `<prefix>_` and `len` characters (the clock stays).
    fn new_id(&mut self, prefix: &str, len: usize) -> String {
        self.seq += 1;
        stripe_id(prefix, self.seq, len)
    }

    /// Any object the mock keeps, by its id (the prefix says which kind);
    /// a deleted customer is its tombstone.
    fn object(&self, id: &str) -> Option<Value> {
        let prefix = id.split_once('_').map_or("", |(p, _)| p);
        let find = |list: &[Value]| list.iter().find(|o| o["id"] == id).cloned();
        match prefix {
            "cus" => self.customer(id).cloned().or_else(|| {
                self.deleted
                    .iter()
                    .any(|d| d == id)
                    .then(|| customers::deleted_customer(id))
            }),
            "ch" => self.charge(id).cloned(),
            "cs" => self.session(id).map(|s| s.object.clone()),
            "pi" => find(&self.payment_intents),
            "txn" => find(&self.balance_transactions),
            "fee" => find(&self.application_fees),
            "fr" => nested(&self.application_fees, "refunds", id),
            "tr" => find(&self.transfers),
            "trr" => nested(&self.transfers, "reversals", id),
            "re" => find(&self.refunds),
            "ii" => find(&self.invoice_items),
            "in" => find(&self.invoices),
            "evt" => find(&self.events),
            _ => None,
        }
    }
}

/// Object `id` in the `field` list object of one of `owners`.
fn nested(owners: &[Value], field: &str, id: &str) -> Option<Value> {
    owners
        .iter()
        .filter_map(|o| o[field]["data"].as_array())
        .flatten()
        .find(|o| o["id"] == id)
        .cloned()
}

/// Mutable `id` in `list`.
fn find_mut<'a>(list: &'a mut [Value], id: &str) -> Option<&'a mut Value> {
    list.iter_mut().find(|o| o["id"] == id)
}

// ---------------------------------------------------------------------------
// The handler

fn handle(
    state: &Mutex<State>,
    tokens: &AcceptedTokens,
    faults: &Faults,
    req: &RecordedRequest,
) -> MockResponse {
    let request_id = {
        let mut state = lock(state);
        state.requests += 1;
        stripe_id("req", state.requests, 14)
    };
    let version = req
        .header("stripe-version")
        .unwrap_or(DEFAULT_VERSION)
        .to_string();
    let response = match faults.take(req) {
        Some(fault) => fault,
        None => route(state, tokens, req, &request_id),
    };
    finish(response, &request_id, &version)
}

fn route(
    state: &Mutex<State>,
    tokens: &AcceptedTokens,
    req: &RecordedRequest,
    request_id: &str,
) -> MockResponse {
    let Some(key) = req.bearer_token() else {
        return wire::unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
        );
    };
    if !tokens.accepts(key) {
        return wire::unauthorized(&format!(
            "Invalid API Key provided: {}",
            wire::mask_key(key)
        ));
    }
    if let Some(version) = req.header("stripe-version")
        && !wire::valid_version(version)
    {
        return error_response(
            400,
            "invalid_request_error",
            None,
            &format!("Invalid Stripe API version: {version}"),
            None,
        );
    }
    let call = Call {
        req,
        key,
        request_id,
    };
    let state = &mut *lock(state);
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["", "v1", "charges"]) => charges::list(state, req),
        ("GET", ["", "v1", "charges", id]) => retrieve(state, req, "charge", id),
        ("GET", ["", "v1", "customers", id]) => customers::get(state, id),
        ("POST", ["", "v1", "customers"]) => customers::create(state, &call),
        ("DELETE", ["", "v1", "customers", id]) => customers::delete(state, id),
        ("POST", ["", "v1", "checkout", "sessions"]) => checkout::create(state, &call),
        ("GET", ["", "v1", "checkout", "sessions", id]) => {
            retrieve(state, req, "checkout.session", id)
        }
        ("GET", ["", "v1", "payment_intents", id]) => retrieve(state, req, "payment_intent", id),
        ("GET", ["", "v1", "balance_transactions", id]) => {
            retrieve(state, req, "balance_transaction", id)
        }
        ("POST", ["", "v1", "refunds"]) => refunds::create(state, &call),
        ("GET", ["", "v1", "refunds", id]) => retrieve(state, req, "refund", id),
        ("POST", ["", "v1", "transfers"]) => transfers::create(state, &call),
        ("GET", ["", "v1", "transfers", id]) => retrieve(state, req, "transfer", id),
        ("POST", ["", "v1", "invoiceitems"]) => invoices::create_item(state, &call),
        ("POST", ["", "v1", "invoices"]) => invoices::create(state, &call),
        ("POST", ["", "v1", "invoices", id, "finalize"]) => invoices::finalize(state, &call, id),
        ("GET", ["", "v1", "invoices", id]) => retrieve(state, req, "invoice", id),
        ("GET", ["", "v1", "events", id]) => retrieve(state, req, "event", id),
        (method, _) => error_response(
            404,
            "invalid_request_error",
            None,
            &format!(
                "Unrecognized request URL ({method}: {}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
                req.path
            ),
            None,
        ),
    }
}

/// `GET /v1/<kind>s/{id}` with `expand[]`: object `id` if it is a `kind`.
fn retrieve(state: &State, req: &RecordedRequest, kind: &str, id: &str) -> MockResponse {
    let form = match Form::parse(req.query_pairs(), EXPAND_ONLY) {
        Ok(form) => form,
        Err(rejection) => return rejection,
    };
    let Some(mut object) = state.object(id).filter(|o| o["object"] == kind) else {
        return wire::no_such(kind, id, "id", 404);
    };
    match expand::apply(state, &mut object, &form.list("expand")) {
        Ok(()) => MockResponse::json(200, object),
        Err(rejection) => rejection,
    }
}

/// `Request-Id` and `Stripe-Version` on every response, and the
/// `request_log_url` in every error body.
fn finish(mut response: MockResponse, request_id: &str, version: &str) -> MockResponse {
    if response.status >= 400
        && let Ok(mut body) = serde_json::from_slice::<Value>(&response.body)
        && let Some(error) = body.get_mut("error").and_then(Value::as_object_mut)
        && !error.contains_key("request_log_url")
    {
        error.insert(
            "request_log_url".into(),
            json!(format!(
                "https://dashboard.stripe.com/test/logs/{request_id}"
            )),
        );
        response.body = serde_json::to_vec(&body)
            .expect("a JSON value serializes")
            .into();
    }
    let has =
        |r: &MockResponse, name: &str| r.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if !has(&response, "request-id") {
        response = response.header("request-id", request_id);
    }
    if !has(&response, "stripe-version") {
        response = response.header("stripe-version", version);
    }
    response
}
