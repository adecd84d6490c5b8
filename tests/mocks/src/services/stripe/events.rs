//! Events and webhooks: every event the mock records is Stripe's `event`
//! object (readable at `GET /v1/events/{id}`, see the router);
//! [`StripeMock::deliver`] POSTs one to a webhook endpoint the way Stripe
//! does, signed with `Stripe-Signature`.
//!
//! The events recorded: `checkout.session.completed`,
//! `checkout.session.expired`, `charge.refunded`, `refund.created`,
//! `invoice.paid` and `invoice.payment_failed`.

use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, Mac as _};
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::net::TcpStream;

use super::wire::system_now;
use super::{Call, DEFAULT_VERSION, State, StripeMock};

/// How long a delivery may take before it counts as failed (Stripe waits
/// a little longer; tests should not).
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// The `User-Agent` Stripe's webhook deliveries carry.
pub const WEBHOOK_USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";

impl StripeMock {
    /// Every event recorded, oldest first.
    pub fn events(&self) -> Vec<Value> {
        self.lock().events.clone()
    }

    /// Stripe's `Stripe-Signature` header for `payload` sent at
    /// `timestamp` (seconds) to an endpoint whose signing secret is
    /// `secret` (`whsec_...`, used as given):
    /// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<payload>")>`.
    pub fn signature_header(secret: &str, timestamp: i64, payload: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        format!(
            "t={timestamp},v1={}",
            hex::encode(mac.finalize().into_bytes())
        )
    }

    /// Deliver `event` to the webhook endpoint at `url` (plain
    /// `http://host:port/path`) as Stripe does: a POST of its JSON
    /// (exactly the bytes signed) with `Content-Type: application/json;
    /// charset=utf-8`, Stripe's `User-Agent`, and `Stripe-Signature`
    /// signed with `secret` at this machine's current time. Returns the
    /// endpoint's status and body; a delivery that fails (refused, timed
    /// out, not `http://`) is status 0 with the reason.
    pub async fn deliver(&self, event: &Value, url: &str, secret: &str) -> (u16, String) {
        let payload = event.to_string();
        let header = Self::signature_header(secret, system_now(), &payload);
        self.deliver_with_header(&payload, &header, url).await
    }

    /// Deliver `payload` to `url` as [`StripeMock::deliver`] does, with
    /// `header` as its `Stripe-Signature` (for forged, stale or replayed
    /// signatures).
    pub async fn deliver_with_header(
        &self,
        payload: &str,
        header: &str,
        url: &str,
    ) -> (u16, String) {
        match tokio::time::timeout(DELIVERY_TIMEOUT, post(url, payload, header)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(reason)) => (0, reason),
            Err(_) => (0, format!("no answer from {url} in {DELIVERY_TIMEOUT:?}")),
        }
    }
}

impl State {
    /// Record an event of `kind` about `object` (as it is now), caused by
    /// API request `request` (or by something outside the API); returns it.
    pub(super) fn record_event(
        &mut self,
        kind: &str,
        object: Value,
        request: Option<&Call<'_>>,
    ) -> Value {
        let id = self.new_id("evt", 24);
        let event = json!({
            "id": id,
            "object": "event",
            "api_version": DEFAULT_VERSION,
            "created": self.clock,
            "data": {"object": object},
            "livemode": false,
            "pending_webhooks": 1,
            "request": {
                "id": request.map(|c| c.request_id),
                "idempotency_key": request.and_then(|c| c.idempotency_key()),
            },
            "type": kind,
        });
        self.events.push(event.clone());
        event
    }
}

/// One webhook POST over a fresh connection.
async fn post(url: &str, payload: &str, signature: &str) -> Result<(u16, String), String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!("{url}: only http:// endpoints can be delivered to"));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| format!("{url}: no host"))?
        .to_string();
    let port = parsed.port_or_known_default().unwrap_or(80);
    let stream = TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let connection = tokio::spawn(connection);
    let target = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let request = http::Request::builder()
        .method("POST")
        .uri(target)
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", WEBHOOK_USER_AGENT)
        .header("accept", "*/*; q=0.5, application/xml")
        .header("cache-control", "no-cache")
        .header("stripe-signature", signature)
        .body(Full::new(Bytes::from(payload.to_string())))
        .map_err(|e| format!("{url}: {e}"))?;
    let answer = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
    .await;
    connection.abort();
    answer
}
