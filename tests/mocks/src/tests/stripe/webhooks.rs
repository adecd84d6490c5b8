//! Webhook events: Stripe's signature, and delivery to a local endpoint
//! that verifies it as a receiver would.

use hmac::{Hmac, Mac as _};
use serde_json::Value;
use sha2::Sha256;

use super::{Api, id};
use crate::services::stripe::{StripeMock, WEBHOOK_USER_AGENT};
use crate::{MockResponse, MockServer, RecordedRequest};

const SECRET: &str = "whsec_test_secret";

#[test]
fn the_signature_header_is_stripes() {
    // Computed independently: printf '%s' '1700000000.{"id":"evt_test","object":"event"}'
    //   | openssl dgst -sha256 -hmac whsec_test_secret
    assert_eq!(
        StripeMock::signature_header(
            SECRET,
            1_700_000_000,
            r#"{"id":"evt_test","object":"event"}"#
        ),
        "t=1700000000,v1=8042376f6ca064adbe037642a718227dfd59047137eb49497a54c49eb0cfb724"
    );
    let payload = "{\"data\":{\"object\":{\"amount\":3900}}}";
    let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec_other").unwrap();
    mac.update(format!("42.{payload}").as_bytes());
    let expected = format!("t=42,v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(
        StripeMock::signature_header("whsec_other", 42, payload),
        expected
    );
}

/// A receiver's check of `Stripe-Signature` with a five-minute tolerance:
/// 200 `ok`, or 400 with the reason.
fn verify(req: &RecordedRequest) -> MockResponse {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if req.header("content-type") != Some("application/json; charset=utf-8")
        || req.header("user-agent") != Some(WEBHOOK_USER_AGENT)
    {
        return MockResponse::text(400, "not from Stripe");
    }
    let header = req.header("stripe-signature").unwrap_or_default();
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v.to_string()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return MockResponse::text(400, "no timestamp");
    };
    if (now - timestamp).abs() > 300 {
        return MockResponse::text(400, "stale");
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(&req.body);
    let expected = hex::encode(mac.finalize().into_bytes());
    if signatures.contains(&expected) {
        MockResponse::text(200, "ok")
    } else {
        MockResponse::text(400, "bad signature")
    }
}

#[tokio::test]
async fn deliver_posts_the_event_signed() {
    let api = Api::start().await;
    let account = api.mock.add_connected_account();
    let session = api.checkout(&account).await;
    let event = api.mock.complete_checkout(id(&session), Some(120)).unwrap();
    let receiver = MockServer::start(verify).await;
    let url = receiver.url("/v1/webhooks/stripe");

    assert_eq!(
        api.mock.deliver(&event, &url, SECRET).await,
        (200, "ok".into())
    );
    let received = &receiver.requests()[0];
    assert_eq!(received.method, "POST");
    assert_eq!(received.path, "/v1/webhooks/stripe");
    assert_eq!(
        received.body,
        serde_json::to_string(&event).unwrap().into_bytes()
    );
    assert_eq!(received.json(), Some(event.clone()));

    // Signed with another secret, stale, forged or without a header.
    assert_eq!(
        api.mock.deliver(&event, &url, "whsec_wrong").await,
        (400, "bad signature".into())
    );
    let payload = serde_json::to_string(&event).unwrap();
    let stale = StripeMock::signature_header(SECRET, 1_700_000_000, &payload);
    assert_eq!(
        api.mock.deliver_with_header(&payload, &stale, &url).await,
        (400, "stale".into())
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let signed = StripeMock::signature_header(SECRET, now, &payload);
    let tampered = payload.replace("\"amount_total\":3900", "\"amount_total\":1");
    assert_ne!(tampered, payload);
    assert_eq!(
        api.mock.deliver_with_header(&tampered, &signed, &url).await,
        (400, "bad signature".into())
    );
    assert_eq!(
        api.mock.deliver_with_header(&payload, &signed, &url).await,
        (200, "ok".into()),
        "a replay within the tolerance verifies; the receiver must dedupe by event id"
    );
    assert_eq!(receiver.request_count(), 5);

    // The fee given to complete_checkout is the one charged.
    let intent = event["data"]["object"]["payment_intent"].as_str().unwrap();
    let read: Value = api
        .get_expanded(
            &format!("/v1/payment_intents/{intent}"),
            &["latest_charge.balance_transaction"],
        )
        .await
        .json();
    assert_eq!(read["latest_charge"]["balance_transaction"]["fee"], 120);
    assert_eq!(read["latest_charge"]["balance_transaction"]["net"], 3780);

    // Nobody listening: status 0 and why.
    let port = receiver.port();
    drop(receiver);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (status, reason) = api
        .mock
        .deliver(&event, &format!("http://127.0.0.1:{port}/hook"), SECRET)
        .await;
    assert_eq!(status, 0, "{reason}");
    let (status, reason) = api
        .mock
        .deliver(&event, "https://example.com/hook", SECRET)
        .await;
    assert_eq!(status, 0);
    assert!(reason.contains("only http://"), "{reason}");
}
