//! The webhook trigger over HTTP, on SQLite and PostgreSQL: a signed
//! delivery to the workflow's secret URL starts the three-step workflow,
//! which runs to the end; a repeated delivery (same idempotency key) makes
//! no second run, and neither does a captured delivery replayed with a new
//! delivery id; unsigned, wrongly signed, stale and keyless deliveries
//! are refused with the status that says why, and start nothing. A rotated
//! secret refuses what the old one signs; the readiness probe never shows
//! the store's error.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use workway_engine::platform::Platform;
use workway_engine::triggers::webhook::{self, SIGNATURE_HEADER};
use workway_store::runs::TriggerKind;
use workway_store::testing::test_stores;

use super::{DATABASE, USER, assert_succeeded, deployment, inbox_to_notion};

/// The API of `platform` on a free local port; its address.
async fn serve(platform: Arc<Platform>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("bound");
    tokio::spawn(workway_server::serve(
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
    workway_store::clock::now_ms() / 1000
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
        assert_eq!(run.trigger_kind, TriggerKind::Webhook);
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

/// The runs of the deployment's store, all owners.
async fn run_count(platform: &Platform) -> usize {
    platform
        .store
        .runs()
        .list(None, None, 1_000)
        .await
        .expect("listed")
        .len()
}

/// The signing secret of a saved webhook workflow, as its owner sees it.
fn secret_of(platform: &Platform, saved: &workway_engine::saved::SavedWorkflow) -> String {
    let token = saved.row.webhook_token.as_deref().expect("a webhook URL");
    webhook::open_secret(
        platform,
        token,
        saved
            .row
            .webhook_secret
            .as_deref()
            .expect("a sealed secret"),
    )
    .expect("the owner can read the secret")
}

#[tokio::test]
async fn a_replayed_delivery_with_a_new_delivery_id_starts_no_second_run() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let keyed = d
            .save(&inbox_to_notion(
                "  kind: webhook\n  idempotency_header: X-Delivery-Id",
            ))
            .await;
        let keyless = d
            .save(
                &inbox_to_notion("  kind: webhook")
                    .replace("name: inbox-to-notion", "name: keyless"),
            )
            .await;
        assert_eq!(keyless.row.name, "keyless");
        let address = serve(d.platform.clone()).await;
        let body = json!({"invoice": 42}).to_string();

        // One captured delivery, replayed with fresh (unsigned) delivery ids.
        let secret = secret_of(&d.platform, &keyed);
        let captured = webhook::sign(&secret, now_secs(), body.as_bytes());
        let path = format!(
            "/v1/hooks/{}",
            keyed.row.webhook_token.as_deref().expect("URL")
        );
        let mut run_ids = Vec::new();
        for (delivery, expected) in [("evt_1", 202), ("evt_2", 200), ("evt_3", 200)] {
            let (status, answer) = post(
                address,
                &path,
                &[
                    (SIGNATURE_HEADER, captured.clone()),
                    ("x-delivery-id", delivery.into()),
                ],
                &body,
            )
            .await;
            assert_eq!(status, expected, "{}: {delivery}: {answer}", t.label);
            run_ids.push(answer["run_id"].as_str().expect("a run id").to_string());
        }
        assert!(run_ids.iter().all(|id| *id == run_ids[0]), "{run_ids:?}");
        assert_eq!(run_count(&d.platform).await, 1, "{}", t.label);

        // Without any idempotency setting, a replay is still one delivery.
        let secret = secret_of(&d.platform, &keyless);
        let captured = webhook::sign(&secret, now_secs(), body.as_bytes());
        let path = format!(
            "/v1/hooks/{}",
            keyless.row.webhook_token.as_deref().expect("URL")
        );
        for expected in [202, 200] {
            let (status, answer) = post(
                address,
                &path,
                &[(SIGNATURE_HEADER, captured.clone())],
                &body,
            )
            .await;
            assert_eq!(status, expected, "{}: {answer}", t.label);
        }
        assert_eq!(run_count(&d.platform).await, 2, "{}", t.label);

        // A new delivery (signed anew, with a new id) still starts a run.
        let fresh = webhook::sign(&secret, now_secs() + 1, body.as_bytes());
        let (status, answer) = post(address, &path, &[(SIGNATURE_HEADER, fresh)], &body).await;
        assert_eq!(status, 202, "{}: {answer}", t.label);
        assert_eq!(run_count(&d.platform).await, 3, "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_rotated_secret_refuses_deliveries_signed_with_the_old_one() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let saved = d.save(&inbox_to_notion("  kind: webhook")).await;
        let old = secret_of(&d.platform, &saved);
        let address = serve(d.platform.clone()).await;
        let path = format!(
            "/v1/hooks/{}",
            saved.row.webhook_token.as_deref().expect("URL")
        );
        let body = json!({"invoice": 7}).to_string();

        // Only the owner rotates: another user's name finds nothing.
        let stranger = webhook::rotate_secret(&d.platform, "mallory", "inbox-to-notion")
            .await
            .expect_err("not mallory's workflow");
        assert!(stranger.to_string().contains("no workflow"), "{stranger}");
        let new = webhook::rotate_secret(&d.platform, USER, "inbox-to-notion")
            .await
            .expect("rotated");
        assert!(new.starts_with("whsec_") && new != old, "{}", t.label);

        let (status, answer) = post(
            address,
            &path,
            &[(
                SIGNATURE_HEADER,
                webhook::sign(&old, now_secs(), body.as_bytes()),
            )],
            &body,
        )
        .await;
        assert_eq!(status, 401, "{}: {answer}", t.label);
        assert_eq!(run_count(&d.platform).await, 0, "{}", t.label);
        let (status, answer) = post(
            address,
            &path,
            &[(
                SIGNATURE_HEADER,
                webhook::sign(&new, now_secs(), body.as_bytes()),
            )],
            &body,
        )
        .await;
        assert_eq!(status, 202, "{}: {answer}", t.label);

        // A workflow without a webhook has no secret to rotate.
        d.save(
            &inbox_to_notion("  kind: manual").replace("name: inbox-to-notion", "name: by-hand"),
        )
        .await;
        let none = webhook::rotate_secret(&d.platform, USER, "by-hand")
            .await
            .expect_err("no webhook");
        assert!(none.to_string().contains("no webhook trigger"), "{none}");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn readiness_answers_a_generic_status_not_the_store_error() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        // A host whose store connection is gone.
        let keyring = Arc::new(
            workway_vault::Keyring::parse(
                &workway_vault::Keyring::generate_entry("k2").expect("random"),
            )
            .expect("valid"),
        );
        let store = t.reopen().await;
        let broken = Arc::new(
            Platform::new(
                store.clone(),
                d.platform.runtime.clone(),
                d.platform.catalog.clone(),
                keyring,
                &workway_engine::platform::HostConfig::default(),
            )
            .expect("assembles"),
        );
        store.close().await;
        let address = serve(broken).await;
        let (status, health) = get_health(address).await;
        assert_eq!(status, 503, "{}", t.label);
        assert_eq!(
            health,
            json!({"status": "unavailable", "store": "unavailable"}),
            "{}: nothing of the store's error reaches the caller",
            t.label
        );
        t.cleanup().await;
    }
}
