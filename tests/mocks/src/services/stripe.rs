//! Stripe's REST API (`https://api.stripe.com`), as far as the Stripe
//! integration uses it: `GET /v1/charges`, `GET /v1/customers/{id}`,
//! `POST /v1/customers` and `DELETE /v1/customers/{id}`.
//!
//! What it checks, as Stripe does: the `Authorization: Bearer` key (a
//! missing or unknown key gets Stripe's 401, whose `type` is
//! `invalid_request_error`), the `Stripe-Version` header's format, the
//! method and path (anything else is Stripe's "Unrecognized request URL"
//! 404), every query and form parameter (unknown ones are a 400
//! `parameter_unknown` naming the `param`), list `limit` (1 to 100),
//! `starting_after` / `ending_before` cursors (an unknown id is a 400
//! `resource_missing`), the form content type of a POST, `metadata[key]`
//! limits (50 keys, 40-character keys, 500-character values), email
//! addresses, and idempotency keys (the same key with the same parameters
//! replays the first response with `Idempotent-Replayed: true`, with other
//! parameters it is a 400 `idempotency_error`).
//!
//! Objects have Stripe's real shape (API version 2024-06-20); lists are
//! Stripe's list object, newest first. `expand[]` is not implemented: it
//! is refused as an unknown parameter rather than silently ignored. Every response carries a
//! `Request-Id`, and every error body a `request_log_url`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Map, Value, json};

use super::{AcceptedTokens, Faults, ServiceServer};
use crate::request::RecordedRequest;
use crate::response::MockResponse;
use crate::tls::TestCa;

/// The host name the mock's certificate is for.
pub const HOST: &str = "api.stripe.com";

/// The API version answered in when a request pins none.
pub const DEFAULT_VERSION: &str = "2024-06-20";

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

/// The form parameters `POST /v1/customers` takes (besides `metadata[..]`
/// and `address[..]`).
const CUSTOMER_PARAMS: &[&str] = &[
    "email",
    "name",
    "description",
    "phone",
    "balance",
    "invoice_prefix",
    "tax_exempt",
    "preferred_locales[]",
];

/// The sub-parameters of `address[..]`.
const ADDRESS_FIELDS: &[&str] = &["line1", "line2", "city", "state", "postal_code", "country"];

/// A stand-in for `api.stripe.com` with customers and charges in memory.
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

/// A response saved under an idempotency key.
#[derive(Debug, Clone)]
struct Saved {
    endpoint: String,
    params: Vec<(String, String)>,
    request_id: String,
    response: MockResponse,
}

#[derive(Debug)]
struct State {
    seq: u64,
    clock: i64,
    requests: u64,
    customers: Vec<Stored>,
    deleted: Vec<String>,
    charges: Vec<Stored>,
    /// By `(API key, Idempotency-Key)`: keys are scoped to the account.
    idempotency: HashMap<(String, String), Saved>,
}

impl StripeMock {
    /// Start the mock for `HOST`, with a certificate signed by `ca`,
    /// accepting the bearer keys `tokens` accepts.
    pub async fn start(ca: &TestCa, tokens: AcceptedTokens) -> Self {
        let state = Arc::new(Mutex::new(State {
            seq: 0,
            clock: 1_719_000_000,
            requests: 0,
            customers: Vec::new(),
            deleted: Vec::new(),
            charges: Vec::new(),
            idempotency: HashMap::new(),
        }));
        let shared = state.clone();
        let service = ServiceServer::start(ca, HOST, move |faults, req| {
            handle(&shared, &tokens, faults, req)
        })
        .await;
        StripeMock { service, state }
    }

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

    /// Add a charge: a real, succeeded charge object with `fields` (a JSON
    /// object: `{"amount": 2000, "customer": "cus_..", "created": ..}`)
    /// replacing the defaults; `amount_captured` follows `amount` and
    /// `refunded` follows `amount_refunded` unless given. Each new object
    /// is created a minute after the previous one. Returns its id (`ch_...`).
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

    /// The charges, oldest first.
    pub fn charges(&self) -> Vec<Value> {
        self.lock()
            .charges
            .iter()
            .map(|s| s.object.clone())
            .collect()
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

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl State {
    /// The next sequence number and creation time (a minute apart).
    fn tick(&mut self) -> (u64, i64) {
        self.seq += 1;
        self.clock += 60;
        (self.seq, self.clock)
    }

    fn customer(&self, id: &str) -> Option<&Value> {
        self.customers
            .iter()
            .find(|s| s.object["id"] == id)
            .map(|s| &s.object)
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
        return unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.",
        );
    };
    if !tokens.accepts(key) {
        return unauthorized(&format!("Invalid API Key provided: {}", mask_key(key)));
    }
    if let Some(version) = req.header("stripe-version")
        && !valid_version(version)
    {
        return error_response(
            400,
            "invalid_request_error",
            None,
            &format!("Invalid Stripe API version: {version}"),
            None,
        );
    }
    let segments: Vec<&str> = req.path.trim_end_matches('/').split('/').collect();
    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["", "v1", "charges"]) => list_charges(&lock(state), req),
        ("GET", ["", "v1", "customers", id]) => get_customer(&lock(state), id),
        ("POST", ["", "v1", "customers"]) => {
            create_customer(&mut lock(state), req, key, request_id)
        }
        ("DELETE", ["", "v1", "customers", id]) => {
            if lock(state).delete_customer(id) {
                MockResponse::json(200, deleted_customer(id))
            } else {
                no_such("customer", id, "id", 404)
            }
        }
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

/// `GET /v1/charges`.
fn list_charges(state: &State, req: &RecordedRequest) -> MockResponse {
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

/// `GET /v1/customers/{id}`.
fn get_customer(state: &State, id: &str) -> MockResponse {
    if let Some(customer) = state.customer(id) {
        return MockResponse::json(200, customer);
    }
    if state.deleted.iter().any(|d| d == id) {
        return MockResponse::json(200, deleted_customer(id));
    }
    no_such("customer", id, "id", 404)
}

/// `POST /v1/customers`.
fn create_customer(
    state: &mut State,
    req: &RecordedRequest,
    key: &str,
    request_id: &str,
) -> MockResponse {
    let form_encoded = req.header("content-type").is_some_and(|t| {
        t.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if !form_encoded && !req.body.is_empty() {
        return error_response(
            400,
            "invalid_request_error",
            None,
            "Invalid request (check that your POST content type is application/x-www-form-urlencoded). If you have any questions, we can help at https://support.stripe.com/.",
            None,
        );
    }
    let params = req.form();
    let idempotency_key = req.header("idempotency-key").map(str::to_string);
    let endpoint = format!("{} {}", req.method, req.path);
    let mut sorted = params.clone();
    sorted.sort();
    if let Some(saved) = idempotency_key
        .as_ref()
        .and_then(|k| state.idempotency.get(&(key.to_string(), k.clone())))
    {
        if saved.endpoint != endpoint || saved.params != sorted {
            return error_response(
                400,
                "idempotency_error",
                None,
                &format!(
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{}' if you meant to execute a different request.",
                    idempotency_key.as_deref().unwrap_or_default()
                ),
                None,
            );
        }
        return saved
            .response
            .clone()
            .header("idempotent-replayed", "true")
            .header("original-request", saved.request_id.clone());
    }
    let customer = match customer_from_params(state, &params) {
        Ok(customer) => customer,
        Err(rejection) => return rejection,
    };
    let mut response = MockResponse::json(200, &customer);
    if let Some(k) = &idempotency_key {
        response = response.header("idempotency-key", k.clone());
        state.idempotency.insert(
            (key.to_string(), k.clone()),
            Saved {
                endpoint,
                params: sorted,
                request_id: request_id.to_string(),
                response: response.clone(),
            },
        );
    }
    response
}

/// A new customer from the form `params`, stored; or Stripe's 400.
fn customer_from_params(
    state: &mut State,
    params: &[(String, String)],
) -> Result<Value, MockResponse> {
    let known = |k: &str| {
        CUSTOMER_PARAMS.contains(&k)
            || bracketed(k, "metadata").is_some_and(|inner| !inner.is_empty())
            || bracketed(k, "address").is_some_and(|inner| ADDRESS_FIELDS.contains(&inner))
    };
    if let Some(unknown) = unknown_param(params, known) {
        return Err(unknown);
    }
    let mut metadata = Map::new();
    let mut address = Map::new();
    for (k, v) in params {
        if let Some(field) = bracketed(k, "address") {
            address.insert(field.to_string(), json!(v));
        }
        let Some(meta_key) = bracketed(k, "metadata") else {
            continue;
        };
        let length = meta_key.chars().count();
        if length > 40 {
            return Err(error_response(
                400,
                "invalid_request_error",
                None,
                &format!(
                    "Metadata keys can have up to 40 characters, but you passed in a key that is {length} characters. Invalid key: '{meta_key}'"
                ),
                Some("metadata"),
            ));
        }
        let length = v.chars().count();
        if length > 500 {
            return Err(error_response(
                400,
                "invalid_request_error",
                None,
                &format!(
                    "Metadata values can have up to 500 characters, but you passed in a value that is {length} characters. Invalid value: '{v}'"
                ),
                Some(&format!("metadata[{meta_key}]")),
            ));
        }
        // An empty value unsets the key.
        if v.is_empty() {
            metadata.remove(meta_key);
        } else {
            metadata.insert(meta_key.to_string(), json!(v));
        }
    }
    if metadata.len() > 50 {
        return Err(error_response(
            400,
            "invalid_request_error",
            None,
            &format!(
                "You can have at most 50 metadata keys, but you passed in {} keys.",
                metadata.len()
            ),
            Some("metadata"),
        ));
    }
    let param = |name: &str| params.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v);
    if let Some(email) = param("email")
        && !email.is_empty()
        && (email.contains(char::is_whitespace)
            || !email
                .split_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.')))
    {
        return Err(error_response(
            400,
            "invalid_request_error",
            Some("email_invalid"),
            &format!("Invalid email address: {email}"),
            Some("email"),
        ));
    }
    let balance = match param("balance") {
        None => 0,
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| invalid_integer("balance", v))?,
    };
    let (seq, created) = state.tick();
    let id = stripe_id("cus", seq, 14);
    let mut customer = customer_object(&id, created, seq);
    for field in ["email", "name", "description", "phone", "invoice_prefix"] {
        if let Some(v) = param(field).filter(|v| !v.is_empty()) {
            customer[field] = json!(v);
        }
    }
    customer["balance"] = json!(balance);
    customer["metadata"] = Value::Object(metadata);
    if !address.is_empty() {
        let mut full = json!({"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null});
        merge(&mut full, Value::Object(address));
        customer["address"] = full;
    }
    state.customers.push(Stored {
        seq,
        object: customer.clone(),
    });
    Ok(customer)
}

// ---------------------------------------------------------------------------
// Objects

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

fn charge_object(id: &str, amount: i64, created: i64, seq: u64) -> Value {
    json!({
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
    })
}

fn deleted_customer(id: &str) -> Value {
    json!({ "id": id, "object": "customer", "deleted": true })
}

// ---------------------------------------------------------------------------
// Errors and helpers

fn error_body(kind: &str, code: Option<&str>, message: &str, param: Option<&str>) -> Value {
    let mut error = json!({ "type": kind, "message": message });
    if let Some(code) = code {
        error["code"] = json!(code);
        error["doc_url"] = json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            code.replace('_', "-")
        ));
    }
    if let Some(param) = param {
        error["param"] = json!(param);
    }
    json!({ "error": error })
}

fn error_response(
    status: u16,
    kind: &str,
    code: Option<&str>,
    message: &str,
    param: Option<&str>,
) -> MockResponse {
    MockResponse::json(status, error_body(kind, code, message, param))
}

/// Stripe's 401: its `type` is `invalid_request_error`.
fn unauthorized(message: &str) -> MockResponse {
    error_response(401, "invalid_request_error", None, message, None)
        .header("www-authenticate", "Basic realm=\"Stripe\"")
}

/// `No such <what>: '<id>'` (`resource_missing`).
fn no_such(what: &str, id: &str, param: &str, status: u16) -> MockResponse {
    error_response(
        status,
        "invalid_request_error",
        Some("resource_missing"),
        &format!("No such {what}: '{id}'"),
        Some(param),
    )
}

fn invalid_integer(param: &str, value: &str) -> MockResponse {
    error_response(
        400,
        "invalid_request_error",
        Some("parameter_invalid_integer"),
        &format!("Invalid integer: {value}"),
        Some(param),
    )
}

/// Stripe's 400 for the first parameter `known` does not accept.
fn unknown_param(
    params: &[(String, String)],
    known: impl Fn(&str) -> bool,
) -> Option<MockResponse> {
    let (name, _) = params.iter().find(|(k, _)| !known(k))?;
    Some(error_response(
        400,
        "invalid_request_error",
        Some("parameter_unknown"),
        &format!("Received unknown parameter: {name}"),
        Some(name),
    ))
}

/// `inner` of `outer[inner]`.
fn bracketed<'a>(name: &'a str, outer: &str) -> Option<&'a str> {
    name.strip_prefix(outer)?
        .strip_prefix('[')?
        .strip_suffix(']')
        .filter(|inner| !inner.contains(['[', ']']))
}

/// `2024-06-20`, optionally with a preview suffix (`2024-06-20.acacia`).
fn valid_version(version: &str) -> bool {
    let date = version.split_once('.').map_or(version, |(d, _)| d);
    let b = date.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// Stripe's way of echoing a key: the prefix, stars, the last four.
fn mask_key(key: &str) -> String {
    let prefix_end = key.match_indices('_').nth(1).map_or(0, |(i, _)| i + 1);
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{}{}{tail}", &key[..prefix_end], "*".repeat(20))
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

/// Replace `target`'s fields with those of `fields` (a JSON object).
fn merge(target: &mut Value, fields: Value) {
    if let (Some(target), Value::Object(fields)) = (target.as_object_mut(), fields) {
        for (k, v) in fields {
            target.insert(k, v);
        }
    }
}

/// A deterministic id shaped like Stripe's: `<prefix>_` and `len` base-62 characters.
fn stripe_id(prefix: &str, seq: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let salt = prefix
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut x = seq ^ salt.rotate_left(32);
    let mut id = format!("{prefix}_");
    for i in 0..len {
        if i % 10 == 0 {
            x = splitmix(x ^ i as u64);
        }
        id.push(ALPHABET[(x % 62) as usize] as char);
        x /= 62;
    }
    id
}

fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl std::ops::Deref for StripeMock {
    type Target = ServiceServer;

    fn deref(&self) -> &ServiceServer {
        &self.service
    }
}
