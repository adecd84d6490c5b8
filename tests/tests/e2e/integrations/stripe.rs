//! The Stripe integration against its mock (`api.stripe.com` over TLS
//! through the production egress broker, the Connect access token attached
//! by the host) and offline against its replay file.

use serde_json::{Value, json};
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::stripe::{HOST, StripeMock};
use workway_mocks::{MockResponse, RecordedRequest};
use workway_report::{HostError, IntegrationError};

use super::{Integration, World, integration_error, metadata};
use crate::support::{data, host_error};

/// The connected account's access token (a Connect grant's token is the
/// account's secret key).
const TOKEN: &str = "sk_test_51WorkwayConnectedAcctTokenWXYZ";

/// The API version the integration pins.
const VERSION: &str = "2024-06-20";

struct Setup {
    integration: Integration,
    world: World,
    mock: StripeMock,
}

impl Setup {
    async fn new() -> Self {
        let integration = Integration::load("stripe").await;
        let world = World::new();
        let mock = StripeMock::start(&world.ca, AcceptedTokens::exactly(TOKEN)).await;
        Setup {
            integration,
            world,
            mock,
        }
    }

    fn capabilities_with(&self, token: &str) -> workway_capabilities::Capabilities {
        self.world.capabilities(
            &self.integration,
            &[(HOST, self.mock.port())],
            &[("stripe", token)],
        )
    }

    async fn run(&self, action: &str, input: Value) -> workway_report::ExecutionReport {
        self.integration
            .run(&self.capabilities_with(TOKEN), action, input)
            .await
    }

    async fn run_with_key(
        &self,
        action: &str,
        input: Value,
        key: &str,
    ) -> workway_report::ExecutionReport {
        self.integration
            .run_with_key(&self.capabilities_with(TOKEN), action, input, Some(key))
            .await
    }
}

/// What every request to Stripe carries: the method and path, the token the
/// host attached, the pinned API version.
fn assert_stripe_request(req: &RecordedRequest, method: &str, path: &str) {
    assert_eq!(req.method, method);
    assert_eq!(req.path, path);
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(req.header("stripe-version"), Some(VERSION));
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ids(charges: &Value) -> Vec<String> {
    charges
        .as_array()
        .expect("charges is an array")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_string())
        .collect()
}

// ---------------------------------------------------------------------------
// list-charges

#[tokio::test]
async fn list_charges_follows_starting_after_across_pages_with_a_customer_filter() {
    let s = Setup::new().await;
    let ada = s.mock.add_customer(json!({"email": "ada@example.com"}));
    let bob = s.mock.add_customer(json!({"email": "bob@example.com"}));
    let mut adas = Vec::new();
    for i in 0..230 {
        adas.push(
            s.mock
                .add_charge(json!({"amount": 100 + i, "customer": ada})),
        );
        if i % 4 == 0 {
            s.mock.add_charge(json!({"amount": 7, "customer": bob}));
        }
        if i % 9 == 0 {
            s.mock.add_charge(json!({"amount": 9}));
        }
    }

    let report = s
        .run(
            "list-charges",
            json!({"customer": ada, "max_results": 1000}),
        )
        .await;
    let out = data(&report);
    let newest_first: Vec<String> = adas.iter().rev().cloned().collect();
    assert_eq!(ids(&out["charges"]), newest_first);
    assert_eq!(out["has_more"], false);
    assert!(
        out["charges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["customer"] == ada.as_str())
    );

    let requests = s.mock.requests();
    assert_eq!(requests.len(), 3, "three pages: 100, 100, 30");
    for req in &requests {
        assert_stripe_request(req, "GET", "/v1/charges");
        assert!(req.body.is_empty());
    }
    assert_eq!(
        requests[0].query.as_deref(),
        Some(format!("limit=100&customer={ada}").as_str())
    );
    assert_eq!(
        requests[1].query_pairs(),
        pairs(&[
            ("limit", "100"),
            ("customer", &ada),
            ("starting_after", &newest_first[99]),
        ])
    );
    assert_eq!(
        requests[2].query_pairs(),
        pairs(&[
            ("limit", "100"),
            ("customer", &ada),
            ("starting_after", &newest_first[199]),
        ])
    );
}

#[tokio::test]
async fn list_charges_asks_for_only_what_is_left_and_reports_has_more() {
    let s = Setup::new().await;
    for i in 0..120 {
        s.mock.add_charge(json!({"amount": 500 + i}));
    }
    let report = s.run("list-charges", json!({"max_results": 110})).await;
    let out = data(&report);
    assert_eq!(out["charges"].as_array().unwrap().len(), 110);
    assert_eq!(out["has_more"], true);
    let limits: Vec<Option<String>> = s
        .mock
        .requests()
        .iter()
        .map(|r| r.query_param("limit"))
        .collect();
    assert_eq!(limits, [Some("100".into()), Some("10".into())]);
}

#[tokio::test]
async fn list_charges_filters_by_creation_time_and_returns_stripes_fields() {
    let s = Setup::new().await;
    let cus = s.mock.add_customer(json!({}));
    let old = s.mock.add_charge(json!({"customer": cus, "amount": 100}));
    let cutoff = s.mock.charges()[0]["created"].as_i64().unwrap();
    let refunded = s.mock.add_charge(json!({
        "customer": cus, "amount": 2000, "amount_refunded": 2000, "currency": "eur",
        "description": "Order 42", "receipt_email": "ada@example.com",
    }));
    let partial = s
        .mock
        .add_charge(json!({"customer": cus, "amount": 1500, "amount_refunded": 500}));
    let newest = s.mock.add_charge(json!({
        "customer": cus, "amount": 999, "status": "failed", "paid": false,
    }));

    let report = s
        .run(
            "list-charges",
            json!({"customer": cus, "created_after": cutoff, "max_results": 2}),
        )
        .await;
    let out = data(&report);
    assert_eq!(ids(&out["charges"]), [newest.clone(), partial.clone()]);
    assert_eq!(out["has_more"], true);
    let failed = &out["charges"][0];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["paid"], false);

    let report = s
        .run(
            "list-charges",
            json!({"customer": cus, "created_after": cutoff, "max_results": 5}),
        )
        .await;
    let out = data(&report);
    assert_eq!(ids(&out["charges"]), [newest, partial, refunded.clone()]);
    assert!(!ids(&out["charges"]).contains(&old));
    assert_eq!(out["has_more"], false);
    let created = s.mock.charges()[1]["created"].clone();
    assert_eq!(
        out["charges"][2],
        json!({
            "id": refunded, "amount": 2000, "currency": "eur", "status": "succeeded",
            "paid": true, "refunded": true, "amount_refunded": 2000, "customer": cus,
            "description": "Order 42", "receipt_email": "ada@example.com", "created": created,
        })
    );
    assert_eq!(out["charges"][1]["refunded"], false);
    assert_eq!(out["charges"][1]["amount_refunded"], 500);

    let requests = s.mock.requests();
    assert_eq!(
        requests[0].query.as_deref(),
        Some(format!("limit=2&customer={cus}&created%5Bgt%5D={cutoff}").as_str())
    );
    assert_eq!(
        requests[1].query_param("created[gt]"),
        Some(cutoff.to_string())
    );
}

#[tokio::test]
async fn list_charges_rejects_bad_inputs_before_any_request() {
    let s = Setup::new().await;
    for max in [0, 1001] {
        let report = s.run("list-charges", json!({"max_results": max})).await;
        assert!(
            matches!(host_error(&report), HostError::InputInvalid(m) if m.contains("max_results")),
            "{report:#?}"
        );
    }
    let report = s
        .run("list-charges", json!({"customer": "ada@example.com"}))
        .await;
    match integration_error(&report) {
        IntegrationError::InvalidInput { message } => {
            assert!(message.contains("`customer`"), "{message}")
        }
        other => panic!("expected invalid-input, got {other:?}"),
    }
    assert!(s.mock.requests().is_empty());
}

// ---------------------------------------------------------------------------
// get-customer

#[tokio::test]
async fn get_customer_returns_the_customer() {
    let s = Setup::new().await;
    let id = s.mock.add_customer(json!({
        "email": "jenny.rosen@example.com", "name": "Jenny Rosen", "phone": "+15555550123",
        "description": "VIP", "currency": "usd", "balance": -500, "delinquent": true,
        "metadata": {"order_id": "6735"},
    }));
    let created = s.mock.customer(&id).unwrap()["created"].clone();
    let report = s.run("get-customer", json!({"customer_id": id})).await;
    assert_eq!(
        data(&report),
        &json!({
            "id": id, "email": "jenny.rosen@example.com", "name": "Jenny Rosen",
            "description": "VIP", "phone": "+15555550123", "created": created,
            "currency": "usd", "balance": -500, "delinquent": true,
            "metadata": {"order_id": "6735"},
        })
    );
    let requests = s.mock.requests();
    assert_eq!(requests.len(), 1);
    assert_stripe_request(&requests[0], "GET", &format!("/v1/customers/{id}"));
    assert_eq!(requests[0].query, None);
    assert!(requests[0].body.is_empty());
}

#[tokio::test]
async fn get_customer_unknown_is_not_found() {
    let s = Setup::new().await;
    let report = s
        .run(
            "get-customer",
            json!({"customer_id": "cus_UnknownCustomer1"}),
        )
        .await;
    match integration_error(&report) {
        IntegrationError::NotFound { message } => {
            assert!(
                message.contains("No such customer: 'cus_UnknownCustomer1'"),
                "{message}"
            );
            assert!(message.contains("code: resource_missing"), "{message}");
            assert!(message.contains("(request req_"), "{message}");
        }
        other => panic!("expected not-found, got {other:?}"),
    }
}

#[tokio::test]
async fn get_customer_deleted_is_not_found() {
    let s = Setup::new().await;
    let id = s.mock.add_customer(json!({"email": "gone@example.com"}));
    assert!(s.mock.delete_customer(&id));
    let report = s.run("get-customer", json!({"customer_id": id})).await;
    match integration_error(&report) {
        IntegrationError::NotFound { message } => {
            assert!(
                message.contains("deleted") && message.contains(&id),
                "{message}"
            )
        }
        other => panic!("expected not-found, got {other:?}"),
    }
    assert_eq!(s.mock.requests().len(), 1);
}

#[tokio::test]
async fn get_customer_malformed_id_is_invalid_input_with_no_request() {
    let s = Setup::new().await;
    for bad in [
        "abc",
        "cus_",
        "ch_3PWd2uLkdIwHu7ix",
        "cus_../charges",
        "cus_a?b=c",
        "",
    ] {
        let report = s.run("get-customer", json!({"customer_id": bad})).await;
        match integration_error(&report) {
            IntegrationError::InvalidInput { message } => {
                assert!(message.contains("`customer_id`"), "{message}");
                assert!(message.contains("cus_"), "{message}");
            }
            other => panic!("{bad}: expected invalid-input, got {other:?}"),
        }
    }
    assert!(s.mock.requests().is_empty());
}

// ---------------------------------------------------------------------------
// create-customer

#[tokio::test]
async fn create_customer_sends_stripes_form_encoding_with_metadata() {
    let s = Setup::new().await;
    let report = s
        .run(
            "create-customer",
            json!({
                "email": "ada@example.com", "name": "Ada Lovelace",
                "description": "Analytical & co", "phone": "+44 20 7946 0018",
                "metadata": {"order_id": "42", "tier": "gold plus"},
            }),
        )
        .await;
    let out = data(&report).clone();
    let id = out["id"].as_str().expect("an id").to_string();
    assert!(id.starts_with("cus_"));
    assert_eq!(out["email"], "ada@example.com");
    assert_eq!(out["name"], "Ada Lovelace");
    assert_eq!(out["description"], "Analytical & co");
    assert_eq!(out["phone"], "+44 20 7946 0018");
    assert_eq!(
        out["metadata"],
        json!({"order_id": "42", "tier": "gold plus"})
    );
    assert_eq!(out["balance"], 0);
    assert_eq!(out["currency"], Value::Null);

    let requests = s.mock.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_stripe_request(req, "POST", "/v1/customers");
    assert_eq!(
        req.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        req.header("idempotency-key"),
        None,
        "no key outside a workflow step"
    );
    assert_eq!(
        req.body_text(),
        "email=ada%40example.com&name=Ada%20Lovelace&description=Analytical%20%26%20co\
         &phone=%2B44%2020%207946%200018&metadata%5Border_id%5D=42&metadata%5Btier%5D=gold%20plus"
    );

    // Written, then read back through Stripe and through the action.
    let stored = s.mock.customer(&id).expect("stored");
    assert_eq!(stored["metadata"]["tier"], "gold plus");
    let report = s.run("get-customer", json!({"customer_id": id})).await;
    assert_eq!(data(&report), &out);
}

#[tokio::test]
async fn create_customer_with_the_same_idempotency_key_creates_one_customer() {
    let s = Setup::new().await;
    let input = json!({"email": "ada@example.com", "metadata": {"order_id": "42"}});
    let first = s
        .run_with_key("create-customer", input.clone(), "run-7-step-2")
        .await;
    let second = s
        .run_with_key("create-customer", input.clone(), "run-7-step-2")
        .await;
    assert_eq!(data(&first), data(&second));
    assert_eq!(s.mock.customers().len(), 1);
    assert!(metadata(&first).is_empty());
    assert_eq!(
        metadata(&second),
        [("idempotent-replayed".to_string(), "true".to_string())]
    );
    for req in s.mock.requests() {
        assert_stripe_request(&req, "POST", "/v1/customers");
        assert_eq!(req.header("idempotency-key"), Some("run-7-step-2"));
    }

    // The same key with other parameters is Stripe's idempotency_error.
    let report = s
        .run_with_key(
            "create-customer",
            json!({"email": "bob@example.com"}),
            "run-7-step-2",
        )
        .await;
    match integration_error(&report) {
        IntegrationError::InvalidInput { message } => {
            assert!(
                message.contains("Keys for idempotent requests"),
                "{message}"
            );
            assert!(message.contains("type: idempotency_error"), "{message}");
        }
        other => panic!("expected invalid-input, got {other:?}"),
    }
    assert_eq!(s.mock.customers().len(), 1);

    // Another step's key creates another customer.
    let third = s
        .run_with_key("create-customer", input, "run-7-step-3")
        .await;
    assert_ne!(data(&third)["id"], data(&first)["id"]);
    assert_eq!(s.mock.customers().len(), 2);
}

#[tokio::test]
async fn create_customer_checks_stripes_metadata_limits_before_sending() {
    let s = Setup::new().await;
    let too_many: serde_json::Map<String, Value> =
        (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let cases = [
        (json!({"metadata": too_many}), "at most 50"),
        (
            json!({"metadata": {"k".repeat(41): "v"}}),
            "1 to 40 characters",
        ),
        (json!({"metadata": {"": "v"}}), "1 to 40 characters"),
        (json!({"metadata": {"a[b]": "v"}}), "square brackets"),
        (
            json!({"metadata": {"note": "x".repeat(501)}}),
            "at most 500",
        ),
    ];
    for (input, expected) in cases {
        let report = s.run("create-customer", input).await;
        match integration_error(&report) {
            IntegrationError::InvalidInput { message } => {
                assert!(message.contains(expected), "{message}")
            }
            other => panic!("expected invalid-input, got {other:?}"),
        }
    }
    // The limits themselves are allowed.
    let at_limit: serde_json::Map<String, Value> = (0..50)
        .map(|i| (format!("{i:0>40}"), json!("x".repeat(500))))
        .collect();
    let report = s
        .run("create-customer", json!({"metadata": at_limit}))
        .await;
    assert_eq!(data(&report)["metadata"].as_object().unwrap().len(), 50);
    assert_eq!(s.mock.requests().len(), 1);
}

// ---------------------------------------------------------------------------
// Error mappings, with Stripe's own error bodies

#[tokio::test]
async fn stripe_400_is_invalid_input_with_stripes_message_and_param() {
    let s = Setup::new().await;
    let report = s
        .run("create-customer", json!({"email": "not-an-email"}))
        .await;
    match integration_error(&report) {
        IntegrationError::InvalidInput { message } => {
            assert!(
                message.contains("Invalid email address: not-an-email"),
                "{message}"
            );
            assert!(message.contains("param: email"), "{message}");
            assert!(message.contains("code: email_invalid"), "{message}");
        }
        other => panic!("expected invalid-input, got {other:?}"),
    }
    assert!(s.mock.customers().is_empty());
}

#[tokio::test]
async fn stripe_401_is_auth_expired_and_the_key_is_not_echoed() {
    let s = Setup::new().await;
    let caps = s.capabilities_with("sk_test_51RevokedConnectedAcctTokenQRST");
    let report = s
        .integration
        .run(
            &caps,
            "get-customer",
            json!({"customer_id": "cus_NffrFeUfNV2Hib"}),
        )
        .await;
    match integration_error(&report) {
        IntegrationError::AuthExpired { message } => {
            assert!(
                message.contains("Invalid API Key provided: [key]"),
                "{message}"
            );
            assert!(!message.contains("QRST"), "{message}");
        }
        other => panic!("expected auth-expired, got {other:?}"),
    }
    // The mock answered with Stripe's real 401 (type invalid_request_error).
    let requests = s.mock.requests();
    assert_eq!(
        requests[0].bearer_token(),
        Some("sk_test_51RevokedConnectedAcctTokenQRST")
    );
}

#[tokio::test]
async fn stripe_402_card_error_is_invalid_input_with_the_decline() {
    let s = Setup::new().await;
    s.mock.faults().push(StripeMock::card_declined());
    let report = s.run("create-customer", json!({"name": "Ada"})).await;
    match integration_error(&report) {
        IntegrationError::InvalidInput { message } => {
            assert!(message.contains("Your card was declined."), "{message}");
            assert!(
                message.contains("decline code: generic_decline"),
                "{message}"
            );
        }
        other => panic!("expected invalid-input, got {other:?}"),
    }
}

#[tokio::test]
async fn stripe_403_is_permission_denied() {
    let s = Setup::new().await;
    s.mock.faults().push(StripeMock::error(
        403,
        "invalid_request_error",
        None,
        "The provided key 'rk_test_****abcd' does not have the required permissions for this endpoint on account 'acct_1Nv0FGQ9RKHgCVdK'. Having the 'rak_charge_read' permission would allow this request to continue.",
    ));
    let report = s.run("list-charges", json!({})).await;
    match integration_error(&report) {
        IntegrationError::PermissionDenied { message } => {
            assert!(
                message.contains("does not have the required permissions"),
                "{message}"
            );
            assert!(message.contains("'[key]'"), "{message}");
        }
        other => panic!("expected permission-denied, got {other:?}"),
    }
}

#[tokio::test]
async fn stripe_409_is_upstream_409_with_the_retry_hint() {
    let s = Setup::new().await;
    s.mock.faults().push(
        StripeMock::error(
            409,
            "idempotency_error",
            None,
            "There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): run-7-step-2. Please try again later.",
        )
        .header("stripe-should-retry", "true"),
    );
    let report = s
        .run_with_key("create-customer", json!({"name": "Ada"}), "run-7-step-2")
        .await;
    match integration_error(&report) {
        IntegrationError::Upstream { status, message } => {
            assert_eq!(*status, 409);
            assert!(message.contains("another in-progress request"), "{message}");
            assert!(message.contains("Stripe-Should-Retry: true"), "{message}");
        }
        other => panic!("expected upstream 409, got {other:?}"),
    }
}

#[tokio::test]
async fn stripe_429_is_rate_limited_without_a_delay_unless_retry_after_is_sent() {
    let s = Setup::new().await;
    s.mock.faults().push(StripeMock::rate_limited());
    s.mock
        .faults()
        .push(StripeMock::rate_limited().header("retry-after", "2"));
    s.mock.faults().push(StripeMock::error(
        429,
        "invalid_request_error",
        Some("lock_timeout"),
        "This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request.",
    ));
    let expected = [
        (None, "Request rate limit exceeded"),
        (Some(2000), "Request rate limit exceeded"),
        (None, "code: lock_timeout"),
    ];
    for (retry, text) in expected {
        let report = s.run("list-charges", json!({})).await;
        match integration_error(&report) {
            IntegrationError::RateLimited {
                retry_after_ms,
                message,
            } => {
                assert_eq!(*retry_after_ms, retry);
                assert!(message.contains(text), "{message}");
            }
            other => panic!("expected rate-limited, got {other:?}"),
        }
    }
    // Once the faults are used up, the same request succeeds.
    let report = s.run("list-charges", json!({})).await;
    assert_eq!(data(&report)["charges"], json!([]));
}

#[tokio::test]
async fn stripe_5xx_is_upstream_with_its_status() {
    let s = Setup::new().await;
    s.mock.faults().push(StripeMock::error(
        500,
        "api_error",
        None,
        "An unknown error occurred",
    ));
    s.mock.faults().push(
        StripeMock::error(500, "api_error", None, "An unknown error occurred")
            .header("stripe-should-retry", "false"),
    );
    s.mock.faults().push(
        MockResponse::text(503, "<html><body>Service Unavailable</body></html>")
            .header("content-type", "text/html"),
    );
    let report = s
        .run("get-customer", json!({"customer_id": "cus_A1"}))
        .await;
    match integration_error(&report) {
        IntegrationError::Upstream { status, message } => {
            assert_eq!(*status, 500);
            assert!(message.contains("An unknown error occurred"), "{message}");
            assert!(message.contains("type: api_error"), "{message}");
            assert!(!message.contains("Stripe-Should-Retry"), "{message}");
        }
        other => panic!("expected upstream 500, got {other:?}"),
    }
    let report = s
        .run("get-customer", json!({"customer_id": "cus_A1"}))
        .await;
    match integration_error(&report) {
        IntegrationError::Upstream { status, message } => {
            assert_eq!(*status, 500);
            assert!(message.contains("Stripe-Should-Retry: false"), "{message}");
        }
        other => panic!("expected upstream 500, got {other:?}"),
    }
    let report = s
        .run("get-customer", json!({"customer_id": "cus_A1"}))
        .await;
    match integration_error(&report) {
        IntegrationError::Upstream { status, message } => {
            assert_eq!(*status, 503);
            assert!(message.contains("Service Unavailable"), "{message}");
        }
        other => panic!("expected upstream 503, got {other:?}"),
    }
}

#[tokio::test]
async fn connection_failure_is_network() {
    let s = Setup::new().await;
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let caps = s
        .world
        .capabilities(&s.integration, &[(HOST, port)], &[("stripe", TOKEN)]);
    let report = s.integration.run(&caps, "list-charges", json!({})).await;
    assert!(
        matches!(integration_error(&report), IntegrationError::Network { .. }),
        "{report:#?}"
    );
}

// ---------------------------------------------------------------------------
// Offline, and the fuel figures

#[tokio::test]
async fn every_manifest_example_runs_against_the_replay_file() {
    let integration = Integration::load("stripe").await;
    let caps = integration.replay();
    for action in ["list-charges", "get-customer", "create-customer"] {
        let report = integration
            .run(&caps, action, integration.example(action))
            .await;
        let out = data(&report);
        assert!(out.is_object(), "{action}: {out}");
    }
    let report = integration
        .run(&caps, "list-charges", integration.example("list-charges"))
        .await;
    assert_eq!(data(&report)["charges"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn fuel_of_each_action_on_the_mock() {
    let s = Setup::new().await;
    let cus = s
        .mock
        .add_customer(json!({"email": "ada@example.com", "name": "Ada"}));
    for i in 0..10 {
        s.mock
            .add_charge(json!({"customer": cus, "amount": 1000 + i}));
    }
    let runs = [
        ("list-charges", json!({"customer": cus})),
        ("get-customer", json!({"customer_id": cus})),
        (
            "create-customer",
            json!({"email": "bob@example.com", "metadata": {"order_id": "42"}}),
        ),
    ];
    for (action, input) in runs {
        let report = s.run(action, input).await;
        data(&report);
        println!("figure stripe.{action} fuel={}", report.fuel_used);
    }
}

// ---------------------------------------------------------------------------
// The mock itself rejects what Stripe rejects (driven through the
// well-behaved test plugin's `fetch`, which sends arbitrary requests)

#[tokio::test]
async fn the_mock_rejects_requests_the_way_stripe_does() {
    let s = Setup::new().await;
    let cus = s.mock.add_customer(json!({}));
    s.mock.add_charge(json!({"customer": cus}));
    let fetcher = crate::support::well_behaved().await;
    let fetch = |input: Value| {
        let caps = s.capabilities_with(TOKEN);
        let fetcher = fetcher.clone();
        async move {
            let report =
                crate::support::run(&fetcher, "fetch", &input.to_string(), None, caps).await;
            let out = data(&report);
            let body: Value =
                serde_json::from_str(out["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
            (out["status"].as_u64().unwrap_or_default(), body)
        }
    };
    let get = |path: &str| json!({"url": format!("https://{HOST}{path}"), "connection": "stripe"});

    let (status, body) = fetch(get("/v1/charges?limit=101")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["param"], "limit");

    let (status, body) = fetch(get("/v1/charges?starting_after=ch_Unknown")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "resource_missing");
    assert_eq!(body["error"]["param"], "starting_after");
    assert_eq!(body["error"]["message"], "No such charge: 'ch_Unknown'");
    assert!(
        body["error"]["request_log_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://dashboard.stripe.com/test/logs/req_"))
    );

    let (status, body) = fetch(get("/v1/charges?colour=blue")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "parameter_unknown");
    assert_eq!(body["error"]["param"], "colour");

    let (status, body) = fetch(get("/v1/charges?limit=1")).await;
    assert_eq!(status, 200);
    assert_eq!(body["object"], "list");
    assert_eq!(body["url"], "/v1/charges");
    assert_eq!(body["data"][0]["object"], "charge");

    let (status, body) = fetch(json!({
        "url": format!("https://{HOST}/v1/customers"), "connection": "stripe",
        "method": "POST", "json": {"email": "ada@example.com"},
    }))
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("application/x-www-form-urlencoded"))
    );

    let (status, body) = fetch(json!({
        "url": format!("https://{HOST}/v1/charges"), "connection": "stripe",
        "headers": [["stripe-version", "latest"]],
    }))
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["message"],
        "Invalid Stripe API version: latest"
    );

    let (status, body) = fetch(get("/v1/refunds")).await;
    assert_eq!(status, 404);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Unrecognized request URL (GET: /v1/refunds)"))
    );

    let (status, body) = fetch(json!({"url": format!("https://{HOST}/v1/charges")})).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("You did not provide an API key."))
    );
    assert!(s.mock.customers().len() == 1, "nothing was created");
}
