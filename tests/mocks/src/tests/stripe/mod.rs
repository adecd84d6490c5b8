//! The Stripe mock's payment endpoints, driven over real HTTPS (a client
//! trusting only the test CA, for `api.stripe.com`), as the platform's
//! Stripe payment provider reaches it.

mod checkout;
mod customers;
mod invoices;
mod refunds;
mod transfers;
mod webhooks;

use rustls_pki_types::ServerName;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::client::{Reply, send_over};
use crate::TestCa;
use crate::services::AcceptedTokens;
use crate::services::stripe::{HOST, StripeMock};

const KEY: &str = "sk_test_4eC39HqLyjWDarjtT1zdp7dc";

/// The mock and a client for it.
struct Api {
    mock: StripeMock,
    ca: TestCa,
}

impl Api {
    async fn start() -> Self {
        let ca = TestCa::new();
        let mock = StripeMock::start(&ca, AcceptedTokens::exactly(KEY)).await;
        Api { mock, ca }
    }

    /// One request to `https://api.stripe.com{path}` with the API key.
    async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let tcp = TcpStream::connect(("127.0.0.1", self.mock.port()))
            .await
            .unwrap();
        let tls = TlsConnector::from(self.ca.client_config())
            .connect(ServerName::try_from(HOST).unwrap(), tcp)
            .await
            .unwrap();
        let auth = format!("Bearer {KEY}");
        let mut all = vec![("authorization", auth.as_str())];
        all.extend_from_slice(headers);
        let url = format!("https://{HOST}:{}{path}", self.mock.port());
        send_over(tls, method, &url, &all, body).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, &[], Vec::new()).await
    }

    /// `GET path` with `expand[]` for each of `expand`.
    async fn get_expanded(&self, path: &str, expand: &[&str]) -> Reply {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(expand.iter().map(|e| ("expand[]", *e)))
            .finish();
        self.get(&format!("{path}?{query}")).await
    }

    /// A form POST, with `Idempotency-Key: key` if given.
    async fn post(&self, path: &str, pairs: &[(&str, &str)], key: Option<&str>) -> Reply {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
        headers.extend(key.map(|k| ("idempotency-key", k)));
        self.send("POST", path, &headers, body.into_bytes()).await
    }

    /// A POST that must succeed; its object.
    async fn create(&self, path: &str, pairs: &[(&str, &str)]) -> Value {
        let reply = self.post(path, pairs, None).await;
        assert_eq!(
            reply.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        reply.json()
    }

    /// A checkout of 39.00 USD for `destination` (fee 5.00 to the platform).
    async fn checkout(&self, destination: &str) -> Value {
        self.create(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("success_url", "https://workway.example/paid?p=pu_1"),
                ("cancel_url", "https://workway.example/cancelled"),
                ("client_reference_id", "pu_1"),
                ("line_items[0][quantity]", "1"),
                ("line_items[0][price_data][currency]", "usd"),
                ("line_items[0][price_data][unit_amount]", "3900"),
                (
                    "line_items[0][price_data][product_data][name]",
                    "Gmail triage",
                ),
                ("metadata[workway_reference]", "pu_1"),
                ("payment_intent_data[metadata][workway_reference]", "pu_1"),
                (
                    "payment_intent_data[transfer_data][destination]",
                    destination,
                ),
                ("payment_intent_data[application_fee_amount]", "500"),
            ],
        )
        .await
    }
}

/// Stripe's error fields of a reply: status, `type`, `code`, `param`, `message`.
fn error(reply: &Reply) -> (u16, String, String, String, String) {
    let body = reply.json();
    let field = |name: &str| body["error"][name].as_str().unwrap_or_default().to_string();
    assert!(
        field("request_log_url").starts_with("https://dashboard.stripe.com/test/logs/req_"),
        "{body}"
    );
    (
        reply.status,
        field("type"),
        field("code"),
        field("param"),
        field("message"),
    )
}

fn id(value: &Value) -> &str {
    value["id"].as_str().expect("an id")
}
