//! The load: keep-alive HTTP/1.1 connections (hyper's client over a plain
//! `TcpStream`) to the API on 127.0.0.1, one task per connection, each
//! sending its next request as soon as the previous answer is read. A
//! [`Phase`] sends a fixed number of requests across all of them and keeps
//! every request's latency and every answer that was not 2xx.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::timing::spread;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// One keep-alive connection.
pub type Sender = SendRequest<Full<Bytes>>;

/// The answers kept of a phase's errors, to print.
const ERRORS_KEPT: usize = 5;

/// A new keep-alive connection to `address`.
pub async fn open(address: SocketAddr) -> Sender {
    let tcp = tokio::net::TcpStream::connect(address)
        .await
        .expect("the API accepts a connection");
    tcp.set_nodelay(true).expect("nodelay");
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("an HTTP/1.1 handshake");
    tokio::spawn(connection);
    sender
}

/// A request to send: method, path, headers and body.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// The path (and query).
    pub path: String,
    /// Extra headers (`authorization`, `cookie`, `content-type`, ...).
    pub headers: Vec<(&'static str, String)>,
    /// The body.
    pub body: Bytes,
}

impl Call {
    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Call {
        Call {
            method: Method::GET,
            path: path.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// `POST path` with a body of `content_type`.
    pub fn post(path: impl Into<String>, content_type: &str, body: impl Into<Bytes>) -> Call {
        Call {
            method: Method::POST,
            path: path.into(),
            headers: vec![("content-type", content_type.to_string())],
            body: body.into(),
        }
    }

    /// `POST path` with a JSON body.
    pub fn post_json(path: impl Into<String>, body: &Value) -> Call {
        Call::post(
            path,
            "application/json",
            serde_json::to_vec(body).expect("JSON"),
        )
    }

    /// This call with `Authorization: Bearer <token>`.
    pub fn bearer(mut self, token: &str) -> Call {
        self.headers
            .push(("authorization", format!("Bearer {token}")));
        self
    }

    /// This call with one more header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Call {
        self.headers.push((name, value.into()));
        self
    }

    fn request(&self) -> Request<Full<Bytes>> {
        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(self.path.as_str())
            .header(header::HOST, "127.0.0.1");
        for (name, value) in &self.headers {
            request = request.header(*name, value.as_str());
        }
        request
            .body(Full::new(self.body.clone()))
            .expect("a well-formed request")
    }
}

/// An answer: its status, headers and body.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: hyper::HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON (`Null` when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Send `call` over `sender` and read the whole answer.
pub async fn send(sender: &mut Sender, call: &Call) -> Result<Answer, hyper::Error> {
    sender.ready().await?;
    let response = sender.send_request(call.request()).await?;
    let (parts, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    Ok(Answer {
        status: parts.status,
        headers: parts.headers,
        body,
    })
}

/// What one phase measured.
#[derive(Debug)]
pub struct Phase {
    /// Requests sent.
    pub requests: usize,
    /// From the first request sent to the last answer read.
    pub wall: Duration,
    /// The median latency, in microseconds.
    pub p50_us: f64,
    /// The 99th-percentile latency, in microseconds.
    pub p99_us: f64,
    /// Answers that were not 2xx, and requests that got no answer.
    pub errors: usize,
    /// The first few of them, to print.
    pub first_errors: Vec<String>,
}

impl Phase {
    /// Requests per second.
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }
}

/// What one connection's task measured.
struct Share {
    latencies: Vec<Duration>,
    errors: usize,
    first_errors: Vec<String>,
}

/// Send `total` requests over `concurrency` keep-alive connections to
/// `address`, request `i` being `make(i)`; each connection sends its next
/// request once its previous answer is read. Connections are opened before
/// the clock starts.
pub async fn drive(
    address: SocketAddr,
    concurrency: usize,
    total: usize,
    make: impl Fn(usize) -> Call + Send + Sync + 'static,
) -> Phase {
    let mut senders = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        senders.push(open(address).await);
    }
    let make = Arc::new(make);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = senders
        .into_iter()
        .map(|mut sender| {
            let make = make.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut share = Share {
                    latencies: Vec::with_capacity(total / concurrency + 1),
                    errors: 0,
                    first_errors: Vec::new(),
                };
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return share;
                    }
                    let call = make(i);
                    let sent = Instant::now();
                    let answer = send(&mut sender, &call).await;
                    share.latencies.push(sent.elapsed());
                    let problem = match answer {
                        Ok(a) if a.status.is_success() => continue,
                        Ok(a) => format!(
                            "{} {} -> {}: {}",
                            call.method,
                            call.path,
                            a.status,
                            String::from_utf8_lossy(&a.body)
                        ),
                        Err(e) => {
                            // The connection is gone: open another.
                            sender = open(address).await;
                            format!("{} {} -> no answer: {e}", call.method, call.path)
                        }
                    };
                    share.errors += 1;
                    if share.first_errors.len() < ERRORS_KEPT {
                        share.first_errors.push(problem);
                    }
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    let mut errors = 0;
    let mut first_errors = Vec::new();
    for task in tasks {
        let share = task.await.expect("a load task finishes");
        latencies.extend(share.latencies);
        errors += share.errors;
        first_errors.extend(share.first_errors);
    }
    let wall = started.elapsed();
    first_errors.truncate(ERRORS_KEPT);
    let s = spread(latencies);
    Phase {
        requests: total,
        wall,
        p50_us: s.median,
        p99_us: s.p99,
        errors,
        first_errors,
    }
}

/// An account signed up and signed in over the API.
#[derive(Debug, Clone)]
pub struct Session {
    /// The account's id.
    pub id: String,
    /// The session cookie (`workway_session=...`).
    pub cookie: String,
    /// The session's CSRF token.
    pub csrf: String,
}

impl Session {
    /// `call` in this session, with its CSRF token (for writes).
    pub fn on(&self, call: Call) -> Call {
        call.header("cookie", self.cookie.clone())
            .header("x-csrf-token", self.csrf.clone())
    }
}

/// Sign up `name@example.com` at the API on `address` and sign it in.
pub async fn sign_up(address: SocketAddr, name: &str) -> Session {
    let mut api = open(address).await;
    let email = format!("{name}@example.com");
    let password = format!("{name} has a long password");
    let signup = Call::post_json(
        "/v1/auth/signup",
        &serde_json::json!({"email": email, "display_name": name, "password": password}),
    );
    let r = send(&mut api, &signup).await.expect("signed up");
    assert_eq!(r.status.as_u16(), 201, "sign up: {}", r.json());
    let id = r.json()["id"].as_str().expect("an id").to_string();
    let signin = Call::post_json(
        "/v1/auth/signin",
        &serde_json::json!({"email": email, "password": password}),
    );
    let r = send(&mut api, &signin).await.expect("signed in");
    assert_eq!(r.status.as_u16(), 200, "sign in: {}", r.json());
    Session {
        id,
        csrf: r.json()["csrf_token"]
            .as_str()
            .expect("a CSRF token")
            .to_string(),
        cookie: r
            .headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_string(),
    }
}
