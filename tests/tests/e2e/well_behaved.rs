//! A well-behaved plugin through the whole contract.

use std::sync::Arc;

use workway_capabilities::Capabilities;
use workway_capabilities::replay::{ReplayBroker, ReplayFile};
use workway_report::metering::BillingClass;
use workway_report::{HostError, IntegrationError, Outcome};
use workway_runtime::LoadedComponent;

use crate::support::{data, host_error, run, well_behaved, with_config};

#[tokio::test]
async fn describe_reports_actions_schemas_and_versions() {
    let component = well_behaved().await;
    let d = &component.description;
    assert_eq!(d.name, "well-behaved");
    assert_eq!(d.version, "0.1.0");
    assert_eq!(d.sdk_version, "0.1.0");
    let names: Vec<&str> = d.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "greet",
            "work",
            "profile",
            "broken-promise",
            "rate-limited",
            "echo",
            "transform",
            "wait-upstream",
            "fetch"
        ]
    );
    let greet = component.action("greet").expect("greet");
    assert_eq!(greet.description, "Greet someone, a number of times.");
    assert_eq!(greet.input_schema["properties"]["times"]["maximum"], 5);
    assert_eq!(component.imports.contract_version, "0.1.0");
    assert_eq!(
        component.sdk_stamp.as_deref(),
        Some("workway-sdk=0.1.0;contract=0.1.0")
    );
}

#[tokio::test]
async fn typed_input_and_output_round_trip() {
    let component = well_behaved().await;
    assert_greets(&component).await;
}

/// `greet` round-trips typed input and output, reads its configuration,
/// logs, and is metered and billed as a light execution.
pub(crate) async fn assert_greets(component: &LoadedComponent) {
    let report = run(
        component,
        "greet",
        r#"{"name": "Ada", "times": 2}"#,
        None,
        with_config(&[("greeting-word", "Hi")]),
    )
    .await;
    assert_eq!(
        data(&report),
        &serde_json::json!({"greeting": "Hi, Ada! Hi, Ada!", "word": "Hi"})
    );
    let Outcome::Ok { metadata, .. } = &report.outcome else {
        unreachable!()
    };
    assert_eq!(
        metadata,
        &[("execution".to_string(), report.execution_id.clone())]
    );
    assert!(report.fuel_used > 0);
    assert!(report.host_calls >= 2, "config and log calls are counted");
    assert!(report.compute_units > report.fuel_used);
    assert_eq!(report.billing_class, BillingClass::Light);
    assert!(report.bytes_in > 0 && report.bytes_out > 0);
    assert!(
        report
            .log
            .entries
            .iter()
            .any(|e| e.source == "log.info" && e.message == "greeting Ada")
    );
}

#[tokio::test]
async fn malformed_json_is_rejected_before_the_guest_runs() {
    let component = well_behaved().await;
    let report = run(
        &component,
        "greet",
        "{name: Ada",
        None,
        Capabilities::none(),
    )
    .await;
    assert!(
        matches!(host_error(&report), HostError::InputInvalid(m) if m.contains("not valid JSON"))
    );
    assert_eq!(report.fuel_used, 0, "the guest must not run");
}

#[tokio::test]
async fn input_failing_the_schema_is_rejected_before_the_guest_runs() {
    let component = well_behaved().await;
    for input in [
        r#"{"name": "Ada", "times": 9}"#,
        r#"{"times": 1}"#,
        r#"{"name": "Ada", "times": 1, "extra": true}"#,
        r#"{"name": 5, "times": 1}"#,
    ] {
        let report = run(&component, "greet", input, None, Capabilities::none()).await;
        let HostError::InputInvalid(message) = host_error(&report) else {
            panic!("expected input-invalid for {input}");
        };
        assert!(message.contains("schema of `greet`"), "{message}");
        assert_eq!(report.fuel_used, 0);
    }
}

#[tokio::test]
async fn unknown_actions_are_named() {
    let component = well_behaved().await;
    let report = run(&component, "nope", "{}", None, Capabilities::none()).await;
    assert!(
        matches!(host_error(&report), HostError::UnknownAction(m) if m.contains("greet, work"))
    );
}

#[tokio::test]
async fn output_breaking_its_schema_is_output_invalid() {
    let component = well_behaved().await;
    let report = run(
        &component,
        "broken-promise",
        "{}",
        None,
        Capabilities::none(),
    )
    .await;
    assert!(matches!(host_error(&report), HostError::OutputInvalid(m) if m.contains("/value")));
}

#[tokio::test]
async fn typed_integration_errors_reach_the_host_intact() {
    let component = well_behaved().await;
    let report = run(&component, "rate-limited", "{}", None, Capabilities::none()).await;
    assert_eq!(
        report.outcome,
        Outcome::IntegrationError {
            error: IntegrationError::RateLimited {
                retry_after_ms: Some(30_000),
                message: "slow down".into()
            }
        }
    );
}

/// Replies for the `profile` action: one Slack user, and one that is gone.
const PROFILE_REPLAY: &str = r#"{
  "connections": { "slack": { "account": "acme.slack.com", "scopes": ["users:read"] } },
  "interactions": [
    { "request": { "method": "GET", "url": "https://api.example.com/users/U1", "authorized_by": "slack" },
      "response": { "status": 200, "json": { "display_name": "Ada" } } },
    { "request": { "method": "GET", "url": "https://api.example.com/users/gone", "authorized_by": "slack" },
      "response": { "status": 404, "body": "no such user" } }
  ]
}"#;

/// Capabilities whose HTTP and connections are the `PROFILE_REPLAY` broker.
pub(crate) fn replay() -> Capabilities {
    let broker = Arc::new(ReplayBroker::new(
        ReplayFile::parse(PROFILE_REPLAY).expect("valid replay"),
    ));
    Capabilities {
        http: broker.clone(),
        connections: broker,
        ..Capabilities::none()
    }
}

#[tokio::test]
async fn http_and_connections_go_through_the_broker() {
    let component = well_behaved().await;
    let report = run(&component, "profile", r#"{"user": "U1"}"#, None, replay()).await;
    assert_eq!(
        data(&report),
        &serde_json::json!({
            "display_name": "Ada",
            "provider": "slack",
            "account": "acme.slack.com",
            "scopes": ["users:read"]
        })
    );
    assert_eq!(report.http_requests, 1);

    let missing = run(&component, "profile", r#"{"user": "gone"}"#, None, replay()).await;
    assert!(matches!(
        &missing.outcome,
        Outcome::IntegrationError { error: IntegrationError::NotFound { message } } if message == "no such user"
    ));
}

#[tokio::test]
async fn without_a_broker_requests_are_capability_denied() {
    let component = well_behaved().await;
    let no_connection = run(
        &component,
        "profile",
        r#"{"user": "U1"}"#,
        None,
        Capabilities::none(),
    )
    .await;
    assert!(matches!(
        &no_connection.outcome,
        Outcome::IntegrationError {
            error: IntegrationError::AuthExpired { .. }
        }
    ));

    let connections_only = Capabilities {
        connections: replay().connections,
        ..Capabilities::none()
    };
    let report = run(
        &component,
        "profile",
        r#"{"user": "U1"}"#,
        None,
        connections_only,
    )
    .await;
    assert!(matches!(
        host_error(&report),
        HostError::CapabilityDenied(m) if m.contains("https://api.example.com/users/U1")
    ));
}

#[tokio::test]
async fn fuel_is_deterministic_and_grows_with_work() {
    let component = well_behaved().await;
    let fuel = |rounds: u32| {
        let component = component.clone();
        async move {
            let report = run(
                &component,
                "work",
                &format!(r#"{{"rounds": {rounds}}}"#),
                None,
                Capabilities::none(),
            )
            .await;
            data(&report);
            (report.fuel_used, report.billing_class)
        }
    };
    let (small, class) = fuel(1_000).await;
    assert_eq!(fuel(1_000).await.0, small, "same input, same fuel");
    assert_eq!(class, BillingClass::Light);
    let (larger, _) = fuel(100_000).await;
    assert!(larger > small + 100_000, "{larger} vs {small}");
    let (heavy, class) = fuel(40_000_000).await;
    assert!(heavy > larger);
    assert_eq!(class, BillingClass::Heavy, "{heavy} fuel");
}

#[tokio::test]
async fn allocations_past_the_initial_heap_grow_the_memory() {
    let component = well_behaved().await;
    assert_transform_grows_memory(&component).await;
}

/// `transform` on about 800 KB of JSON (under the 1 MiB input limit): the
/// input, the document string and its parsed tree outgrow the heap of the
/// component's initial memory several times over.
pub(crate) async fn assert_transform_grows_memory(component: &LoadedComponent) {
    let item = r#"{"name": "a longer string value here", "n": 1.5, "tags": ["x", "y"]}"#;
    let items = vec![item; 10_000].join(",");
    let document = format!("[{items}]");
    let input = serde_json::json!({ "document": document }).to_string();
    let report = run(component, "transform", &input, None, Capabilities::none()).await;
    let out = data(&report);
    assert_eq!(out["objects"], 10_000);
    assert_eq!(out["numbers"], 10_000);
    assert_eq!(out["strings"], 30_000);
    assert_eq!(out["longest"], "A LONGER STRING VALUE HERE");
}

/// A plain-HTTP server on 127.0.0.1 that answers `/hop/N` with a 302 to
/// `/hop/N-1` and `/hop/0` with 200; it counts the requests it receives.
async fn redirect_chain() -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let port = listener.local_addr().expect("an address").port();
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split_whitespace().nth(1).unwrap_or("/");
                let hops: u32 = path
                    .strip_prefix("/hop/")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                let answer = if hops == 0 {
                    "HTTP/1.1 200 OK\r\ncontent-length: 4\r\nconnection: close\r\n\r\ndone"
                        .to_string()
                } else {
                    format!(
                        "HTTP/1.1 302 Found\r\nlocation: /hop/{}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                        hops - 1
                    )
                };
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, received)
}

/// Capabilities whose HTTP goes through the production egress broker, with
/// `api.redirect.test:port` approved and pointed at 127.0.0.1.
fn egress_to(port: u16) -> Capabilities {
    use workway_egress::{Egress, EgressConfig};

    let egress = Arc::new(
        Egress::new(EgressConfig {
            overrides: vec![format!("api.redirect.test:{port}=127.0.0.1:{port}")],
            ..EgressConfig::default()
        })
        .expect("egress"),
    );
    let approved = format!("http://api.redirect.test:{port}")
        .parse()
        .expect("a host pattern");
    Capabilities {
        http: Arc::new(egress.broker(vec![approved])),
        ..Capabilities::none()
    }
}

#[tokio::test]
async fn redirect_hops_count_as_requests() {
    let component = well_behaved().await;
    let (port, received) = redirect_chain().await;
    let input = format!(r#"{{"url": "http://api.redirect.test:{port}/hop/3"}}"#);
    let report = run(&component, "fetch", &input, None, egress_to(port)).await;
    assert_eq!(data(&report)["body"], "done");
    assert_eq!(report.http_requests, 4, "one request and three hops");
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 4);

    // With a cap of three, the third hop is refused before it is sent.
    let (port, received) = redirect_chain().await;
    let input = format!(r#"{{"url": "http://api.redirect.test:{port}/hop/3"}}"#);
    let limits = workway_runtime::Limits {
        http_requests: 3,
        ..workway_runtime::Limits::default()
    };
    let report = run(&component, "fetch", &input, Some(limits), egress_to(port)).await;
    match &report.outcome {
        Outcome::IntegrationError { error } => assert!(
            error
                .to_string()
                .contains("each redirect hop counts as one"),
            "{error}"
        ),
        other => panic!("expected the capped request to fail, got {other:?}"),
    }
    assert_eq!(report.http_requests, 3);
    assert_eq!(received.load(std::sync::atomic::Ordering::SeqCst), 3);
}
