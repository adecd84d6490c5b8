//! The HTTP listener over real TCP on 127.0.0.1, with a tiny router: a
//! client sending its headers slowly is disconnected, a slow body is
//! answered 408, connections over the cap wait until one closes, stopping
//! refuses new connections while the request in flight finishes, handlers
//! see the client's address, and bodies over a route's limit get 413.
//! Timeouts are short; timings are only bounded generously. `openapi`:
//! the OpenAPI document, and the real server serving it and every route
//! it documents.

mod openapi;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::routing::{get, post};
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use workway_server::{ServerConfig, body_limits, serve_router, with_body_limit};

/// Well past anything the tests wait for, so a slow machine never fails
/// them.
const PATIENCE: Duration = Duration::from_secs(10);

/// A served router: its address, what stops it, and its task.
struct Served {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

/// Serve `router` with `config` on a free local port.
async fn start(router: Router, config: ServerConfig) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a free port");
    let address = listener.local_addr().expect("bound");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_router(listener, router, config, async move {
        let _ = stopped.await;
    }));
    Served {
        address,
        stop,
        task,
    }
}

/// Settings with short timeouts.
fn quick() -> ServerConfig {
    ServerConfig {
        header_read_timeout_ms: 200,
        body_read_timeout_ms: 200,
        max_connections: 16,
        shutdown_grace_ms: 5_000,
        ..ServerConfig::default()
    }
}

/// `GET /ok` answers "ok", `POST /echo` its body, `GET /whoami` the
/// client's address.
fn basic() -> Router {
    Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route("/echo", post(|body: Bytes| async move { body }))
        .route(
            "/whoami",
            get(|ConnectInfo(client): ConnectInfo<SocketAddr>| async move { client.to_string() }),
        )
}

/// A keep-alive client connection; its address and request sender.
async fn connect(address: SocketAddr) -> (SocketAddr, SendRequest<Empty<Bytes>>, JoinHandle<()>) {
    let stream = TcpStream::connect(address).await.expect("connects");
    let local = stream.local_addr().expect("a local address");
    let (sender, conn) = http1::handshake(TokioIo::new(stream))
        .await
        .expect("a handshake");
    let conn = tokio::spawn(async move {
        let _ = conn.await;
    });
    (local, sender, conn)
}

/// `GET path` on `sender`; the status and the body.
async fn get_on(sender: &mut SendRequest<Empty<Bytes>>, path: &str) -> (StatusCode, String) {
    let request = Request::get(path)
        .header("host", "test")
        .body(Empty::new())
        .expect("a request");
    let response = sender.send_request(request).await.expect("an answer");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Read `stream` until the server closes it (end of stream or reset) or
/// `within` passes; what was read, and whether it was closed.
async fn read_until_closed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: Duration,
) -> (Vec<u8>, bool) {
    let mut read = Vec::new();
    let closed = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .is_ok();
    (read, closed)
}

/// POST `body` to `path` on a fresh connection asking to close; the
/// status line's code. Written whole before reading, and a write cut
/// short by an early answer is fine.
async fn post_raw(address: SocketAddr, path: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(address).await.expect("connects");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let (answer, closed) = read_until_closed(&mut stream, PATIENCE).await;
    assert!(closed, "the answer to POST {path} ends");
    status_of(&answer)
}

/// The status code of a raw HTTP answer (0 if there is none).
fn status_of(answer: &[u8]) -> u16 {
    std::str::from_utf8(answer)
        .ok()
        .and_then(|text| text.strip_prefix("HTTP/1.1 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let served = start(basic(), quick()).await;
    let stream = TcpStream::connect(served.address).await.expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    let began = Instant::now();
    let trickle = tokio::spawn(async move {
        if writer
            .write_all(b"GET /ok HTTP/1.1\r\nHost: test\r\n")
            .await
            .is_err()
        {
            return;
        }
        for i in 0..200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let line = format!("x-slow-{i}: a\r\n");
            if writer.write_all(line.as_bytes()).await.is_err() {
                return;
            }
        }
    });

    let (answer, closed) = read_until_closed(&mut reader, PATIENCE).await;
    trickle.abort();
    assert!(closed, "a client trickling its headers is disconnected");
    assert_ne!(status_of(&answer), 200, "and is not served");
    assert!(
        began.elapsed() >= Duration::from_millis(100),
        "but only once the header timeout passed"
    );

    let (_, mut sender, _conn) = connect(served.address).await;
    assert_eq!(get_on(&mut sender, "/ok").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_slow_body_is_answered_408() {
    let served = start(basic(), quick()).await;
    let stream = TcpStream::connect(served.address).await.expect("connects");
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        let head = "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n";
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..100 {
            if writer.write_all(b"0123456789").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });

    let (answer, closed) = read_until_closed(&mut reader, PATIENCE).await;
    trickle.abort();
    assert_eq!(status_of(&answer), 408, "a body trickling in is refused");
    assert!(
        String::from_utf8_lossy(&answer).contains("request_timeout"),
        "in the API's error shape"
    );
    assert!(closed, "and its connection closed");

    assert_eq!(post_raw(served.address, "/echo", b"quick").await, 200);
}

#[tokio::test]
async fn connections_over_the_cap_wait_until_one_closes() {
    let config = ServerConfig {
        header_read_timeout_ms: 60_000,
        max_connections: 2,
        ..quick()
    };
    let served = start(basic(), config).await;
    let (_, mut first, first_conn) = connect(served.address).await;
    let (_, mut second, _second_conn) = connect(served.address).await;
    assert_eq!(get_on(&mut first, "/ok").await.0, StatusCode::OK);
    assert_eq!(get_on(&mut second, "/ok").await.0, StatusCode::OK);

    let (_, mut third, _third_conn) = connect(served.address).await;
    let mut waiting = tokio::spawn(async move { get_on(&mut third, "/ok").await });
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut waiting)
            .await
            .is_err(),
        "a third connection is not served while two are open"
    );

    drop(first);
    first_conn.abort();
    let (status, body) = tokio::time::timeout(PATIENCE, waiting)
        .await
        .expect("the third connection is served once the first closes")
        .expect("the request completes");
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    assert_eq!(get_on(&mut second, "/ok").await.0, StatusCode::OK);
}

#[tokio::test]
async fn stopping_finishes_the_request_in_flight_and_refuses_new_ones() {
    /// Signalled when the slow handler starts; it then waits for the
    /// release.
    #[derive(Clone, Default)]
    struct Gate {
        started: Arc<Notify>,
        release: Arc<Notify>,
    }
    let gate = Gate::default();
    let router = Router::new()
        .route(
            "/slow",
            get(|State(gate): State<Gate>| async move {
                gate.started.notify_one();
                gate.release.notified().await;
                tokio::time::sleep(Duration::from_millis(300)).await;
                "done"
            }),
        )
        .with_state(gate.clone());
    let served = start(router, quick()).await;

    let (_, mut sender, _conn) = connect(served.address).await;
    let in_flight = tokio::spawn(async move { get_on(&mut sender, "/slow").await });
    tokio::time::timeout(PATIENCE, gate.started.notified())
        .await
        .expect("the slow request starts");

    served.stop.send(()).expect("the server is running");
    let refused = tokio::time::timeout(PATIENCE, async {
        loop {
            match TcpStream::connect(served.address).await {
                Err(_) => return,
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await;
    assert!(refused.is_ok(), "new connections are refused once stopped");
    assert!(!in_flight.is_finished(), "while the request is in flight");

    gate.release.notify_one();
    let (status, body) = tokio::time::timeout(PATIENCE, in_flight)
        .await
        .expect("the request in flight is answered")
        .expect("the request completes");
    assert_eq!((status, body.as_str()), (StatusCode::OK, "done"));
    tokio::time::timeout(PATIENCE, served.task)
        .await
        .expect("the server returns once drained")
        .expect("the server task ends")
        .expect("the server stops cleanly");
}

#[tokio::test]
async fn shutdown_gives_up_on_requests_past_the_grace_period() {
    let router = Router::new().route(
        "/forever",
        get(|| async {
            std::future::pending::<()>().await;
            "never"
        }),
    );
    let config = ServerConfig {
        shutdown_grace_ms: 200,
        ..quick()
    };
    let served = start(router, config).await;
    let (_, mut sender, _conn) = connect(served.address).await;
    let in_flight = tokio::spawn(async move {
        let request = Request::get("/forever")
            .header("host", "test")
            .body(Empty::<Bytes>::new())
            .expect("a request");
        sender.send_request(request).await.map(|r| r.status())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    served.stop.send(()).expect("the server is running");
    tokio::time::timeout(PATIENCE, served.task)
        .await
        .expect("the server returns after the grace period")
        .expect("the server task ends")
        .expect("the server stops cleanly");
    let answer = tokio::time::timeout(PATIENCE, in_flight)
        .await
        .expect("the client sees the connection close")
        .expect("the client task ends");
    assert!(answer.is_err(), "the request was never answered");
}

#[tokio::test]
async fn handlers_see_the_client_address() {
    let served = start(basic(), quick()).await;
    let (local, mut sender, _conn) = connect(served.address).await;
    let (status, body) = get_on(&mut sender, "/whoami").await;
    assert_eq!((status, body), (StatusCode::OK, local.to_string()));
}

#[tokio::test]
async fn bodies_over_a_routes_limit_get_413() {
    let length = post(|body: Bytes| async move { body.len().to_string() });
    let router = body_limits(
        Router::new()
            .route("/v1/auth/signin", length.clone())
            .route("/v1/accountant", length.clone())
            .route("/v1/hooks/{token}", length.clone())
            .merge(with_body_limit(
                Router::new().route("/v1/tiny", length.clone()),
                1024,
            ))
            .merge(with_body_limit(
                Router::new().route("/v1/upload", length),
                4 << 20,
            )),
    );
    let served = start(router, quick()).await;
    let address = served.address;

    let small = vec![b'a'; 1024];
    let over_account = vec![b'a'; workway_server::ACCOUNT_BODY_BYTES + 1024];
    let over_default = vec![b'a'; workway_server::MAX_BODY_BYTES + 1024];

    assert_eq!(post_raw(address, "/v1/auth/signin", &small).await, 200);
    assert_eq!(
        post_raw(address, "/v1/auth/signin", &over_account).await,
        413,
        "the account routes take small bodies only"
    );
    assert_eq!(
        post_raw(address, "/v1/accountant", &over_account).await,
        200,
        "a prefix covers whole path segments only"
    );
    assert_eq!(post_raw(address, "/v1/hooks/x", &over_account).await, 200);
    assert_eq!(
        post_raw(address, "/v1/tiny", &small[..512]).await,
        200,
        "a route's own limit"
    );
    assert_eq!(post_raw(address, "/v1/tiny", &vec![b'a'; 2048]).await, 413);
    assert_eq!(
        post_raw(address, "/v1/upload", &over_default).await,
        200,
        "a route may take more than the default"
    );
}

/// The lines of a Prometheus text `body` for `metric` whose labels
/// include every one of `labels` (`name="value"` each).
fn samples<'a>(body: &'a str, metric: &str, labels: &[&str]) -> Vec<&'a str> {
    body.lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")))
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .collect()
}

/// The value at the end of a sample line.
fn value(line: &str) -> f64 {
    line.rsplit(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a value in {line}"))
}

#[tokio::test]
async fn observed_requests_are_counted_by_route_template_and_carry_a_request_id() {
    workway_engine::metrics::install().expect("the recorder installs");
    let router = workway_server::observe::observe(
        basic()
            .route(
                "/items/{id}",
                get(|axum::extract::Path(id): axum::extract::Path<String>| async move { id }),
            )
            .route("/metrics", get(workway_server::observe::metrics)),
    );
    let served = start(router, quick()).await;
    let (_, mut sender, _conn) = connect(served.address).await;

    assert_eq!(get_on(&mut sender, "/items/7").await.0, StatusCode::OK);
    assert_eq!(get_on(&mut sender, "/items/8").await.0, StatusCode::OK);
    assert_eq!(
        get_on(&mut sender, "/nowhere").await.0,
        StatusCode::NOT_FOUND
    );

    // A plain request id from the client is echoed; a forged one is
    // replaced with a fresh one.
    let with_id = |id: &str| {
        Request::get("/ok")
            .header("host", "test")
            .header("x-request-id", id)
            .body(Empty::new())
            .expect("a request")
    };
    let echoed = sender
        .send_request(with_id("proxy-42.a_b"))
        .await
        .expect("an answer");
    assert_eq!(echoed.headers()["x-request-id"], "proxy-42.a_b");
    let _ = echoed.into_body().collect().await;
    let replaced = sender
        .send_request(with_id("has space"))
        .await
        .expect("an answer");
    let fresh = replaced.headers()["x-request-id"]
        .to_str()
        .expect("text")
        .to_string();
    assert!(!fresh.is_empty() && fresh != "has space", "{fresh}");
    let _ = replaced.into_body().collect().await;

    let (status, body) = get_on(&mut sender, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let items = samples(
        &body,
        "workway_http_requests_total",
        &[
            r#"route="/items/{id}""#,
            r#"method="GET""#,
            r#"status="200""#,
        ],
    );
    assert_eq!(items.len(), 1, "{body}");
    assert!(value(items[0]) >= 2.0, "{}", items[0]);
    let unmatched = samples(
        &body,
        "workway_http_requests_total",
        &[r#"route="unmatched""#, r#"status="404""#],
    );
    assert_eq!(unmatched.len(), 1, "{body}");
    assert!(
        samples(&body, "workway_http_requests_total", &["/items/7"]).is_empty(),
        "a path is never a label: {body}"
    );

    // A histogram with its buckets, so quantiles can be computed.
    let buckets = samples(
        &body,
        "workway_http_request_duration_seconds_bucket",
        &[r#"route="/items/{id}""#],
    );
    assert!(
        buckets.iter().any(|line| line.contains(r#"le="0.1""#)),
        "{body}"
    );
    let all = buckets
        .iter()
        .find(|line| line.contains(r#"le="+Inf""#))
        .unwrap_or_else(|| panic!("a +Inf bucket: {body}"));
    assert!(value(all) >= 2.0, "{all}");
    assert!(body.contains("# TYPE workway_http_request_duration_seconds histogram"));

    drop(sender);
    let _ = served.stop.send(());
    let _ = tokio::time::timeout(PATIENCE, served.task).await;
}
