//! The webhook trigger over HTTP, on SQLite and PostgreSQL: a signed
//! delivery to the workflow's secret URL starts the three-step workflow,
//! which runs to the end; a repeated delivery (same idempotency key) makes
//! no second run; unsigned, wrongly signed, stale and keyless deliveries
//! are refused with the status that says why, and start nothing.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use workway_host::platform::Platform;
use workway_host::triggers::webhook::{self, SIGNATURE_HEADER};
use workway_store::testing::test_stores;

use super::{DATABASE, assert_succeeded, deployment, inbox_to_notion};

/// The API of `platform` on a free local port; its address.
async fn serve(platform: Arc<Platform>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("bound");
    tokio::spawn(workway_host::api::serve(
        listener,
        platform,
        std::future::pending(),
    ));
    address
}

/// POST `body` to `path` with `headers`; the status and the JSON answer.
async fn post(
    address: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .expect("response read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}

fn now_secs() -> i64 {
    workway_host::oauth::token::now_ms() / 1000
}

#[tokio::test]
async fn a_signed_delivery_runs_the_workflow_once_per_idempotency_key() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.seed_invoice();
        let saved = d
            .save(&inbox_to_notion(
                "  kind: webhook\n  idempotency_header: X-Delivery-Id\n  tolerance_secs: 60",
            ))
            .await;
        let token = saved.row.webhook_token.clone().expect("a webhook URL");
        let secret = webhook::open_secret(
            &d.platform,
            &token,
            saved
                .row
                .webhook_secret
                .as_deref()
                .expect("a sealed secret"),
        )
        .expect("the owner can read the secret");
        assert!(secret.starts_with("whsec_"));
        let address = serve(d.platform.clone()).await;
        let path = format!("/v1/hooks/{token}");
        let body = json!({"invoice": 42}).to_string();
        let signed = |body: &str, at: i64| webhook::sign(&secret, at, body.as_bytes());

        // One delivery, freshly signed each time it is sent.
        let deliver_evt_1 = async || {
            post(
                address,
                &path,
                &[
                    (SIGNATURE_HEADER, signed(&body, now_secs())),
                    ("x-delivery-id", "evt_1".into()),
                ],
                &body,
            )
            .await
        };
        let (status, first) = deliver_evt_1().await;
        assert_eq!(status, 202, "{}: {first}", t.label);
        let run_id = first["run_id"].as_str().expect("a run id").to_string();

        // The sender retries the same delivery: the same run, no new one.
        let (status, again) = deliver_evt_1().await;
        assert_eq!((status, again["duplicate"].as_bool()), (200, Some(true)));
        assert_eq!(again["run_id"], run_id.as_str());

        // Refusals: each says why, none starts a run.
        let refusals = [
            (
                vec![("x-delivery-id", "evt_2".to_string())],
                401,
                "Workway-Signature",
            ),
            (
                vec![
                    (
                        SIGNATURE_HEADER,
                        webhook::sign("whsec_forged", now_secs(), body.as_bytes()),
                    ),
                    ("x-delivery-id", "evt_3".into()),
                ],
                401,
                "no v1 signature matches",
            ),
            (
                vec![
                    (SIGNATURE_HEADER, signed(&body, now_secs() - 3600)),
                    ("x-delivery-id", "evt_4".into()),
                ],
                401,
                "tolerance 60 s",
            ),
            (
                vec![(SIGNATURE_HEADER, signed(&body, now_secs()))],
                400,
                "X-Delivery-Id",
            ),
        ];
        for (headers, expected, says) in refusals {
            let (status, answer) = post(address, &path, &headers, &body).await;
            assert_eq!(status, expected, "{answer}");
            let error = answer["error"].as_str().expect("an error");
            assert!(error.contains(says), "{says}: {error}");
        }
        let (status, _) = post(
            address,
            "/v1/hooks/not-a-token",
            &[(SIGNATURE_HEADER, signed(&body, now_secs()))],
            &body,
        )
        .await;
        assert_eq!(status, 404);
        let all = d
            .platform
            .store
            .runs()
            .list(None, None, 100)
            .await
            .expect("listed");
        assert_eq!(
            all.len(),
            1,
            "{}: only the first delivery started a run",
            t.label
        );

        let (run, attempts) = d.finish(&run_id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        assert_eq!(run.trigger_kind, "webhook");
        let data: Value = serde_json::from_str(&run.trigger_data).expect("JSON");
        assert_eq!(data["body"]["invoice"], 42);
        assert_eq!(data["idempotency_key"], "evt_1");
        assert_eq!(d.notion.pages(DATABASE).len(), 1);

        let (status, health) = get_health(address).await;
        assert_eq!((status, health["store"].as_str()), (200, Some("ok")));
        t.cleanup().await;
    }
}

async fn get_health(address: std::net::SocketAddr) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    stream
        .write_all(b"GET /health/ready HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let json = answer
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(Value::Null);
    (status, json)
}
