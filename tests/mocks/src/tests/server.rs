//! The generic mock server: recording, responses, large bodies, shutdown.

use std::time::{Duration, Instant};

use serde_json::json;

use super::client::{get, post_form, send};
use crate::{MockResponse, MockServer};

#[tokio::test]
async fn records_requests_in_order() {
    let server =
        MockServer::start(|req| MockResponse::json(201, json!({ "path": req.path }))).await;
    let reply = post_form(
        &server.url("/a/b?x=1&y=two%20words"),
        &[("k", "v w")],
        Some("Bearer tok"),
    )
    .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json(), json!({ "path": "/a/b" }));
    send(
        "PUT",
        &server.url("json"),
        &[("X-Custom", "Yes")],
        br#"{"n":1}"#.to_vec(),
    )
    .await;

    let requests = server.requests();
    assert_eq!(server.request_count(), 2);
    let first = &requests[0];
    assert_eq!(
        (first.method.as_str(), first.path.as_str()),
        ("POST", "/a/b")
    );
    assert_eq!(first.query.as_deref(), Some("x=1&y=two%20words"));
    assert_eq!(first.query_param("y").as_deref(), Some("two words"));
    assert_eq!(first.form(), vec![("k".to_owned(), "v w".to_owned())]);
    assert_eq!(first.bearer_token(), Some("tok"));
    assert_eq!(
        first.header("Content-Type"),
        Some("application/x-www-form-urlencoded")
    );
    let second = &requests[1];
    assert_eq!(second.method, "PUT");
    assert!(
        second
            .headers
            .contains(&("x-custom".to_owned(), "Yes".to_owned()))
    );
    assert_eq!(second.json(), Some(json!({ "n": 1 })));
    server.clear_requests();
    assert_eq!(server.request_count(), 0);
}

#[tokio::test]
async fn response_builders_delay_and_redirect() {
    let server = MockServer::start(|req| match req.path.as_str() {
        "/slow" => MockResponse::text(200, "late").delay(Duration::from_millis(200)),
        "/moved" => MockResponse::redirect(307, "https://elsewhere.example/x").header("x-a", "1"),
        _ => MockResponse::status(404),
    })
    .await;
    let started = Instant::now();
    let slow = get(&server.url("/slow")).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(&slow.body[..], b"late");
    let moved = get(&server.url("/moved")).await;
    assert_eq!(moved.status, 307);
    assert_eq!(
        moved.header("location"),
        Some("https://elsewhere.example/x")
    );
    assert_eq!(moved.header("x-a"), Some("1"));
    assert_eq!(get(&server.url("/nope")).await.status, 404);
}

#[tokio::test]
async fn serves_oversized_bodies() {
    let big = bytes::Bytes::from(vec![b'x'; 32 << 20]);
    let server = MockServer::start(move |req| {
        let response = MockResponse::bytes(200, big.clone());
        if req.path == "/chunked" {
            response.chunked(1 << 20)
        } else {
            response
        }
    })
    .await;
    let whole = get(&server.url("/whole")).await;
    assert_eq!(whole.header("content-length"), Some("33554432"));
    assert_eq!(whole.body.len(), 32 << 20);
    let chunked = get(&server.url("/chunked")).await;
    assert_eq!(chunked.header("content-length"), None);
    assert_eq!(chunked.header("transfer-encoding"), Some("chunked"));
    assert_eq!(chunked.body.len(), 32 << 20);
}

#[tokio::test]
async fn drop_stops_server() {
    let server = MockServer::start(|_| MockResponse::status(204)).await;
    let addr = server.addr();
    assert_eq!(get(&server.url("/")).await.status, 204);
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
