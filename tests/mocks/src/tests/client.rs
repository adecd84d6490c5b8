//! A minimal HTTP/1 client (hyper over a `TcpStream` or TLS stream).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

pub struct Reply {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("reply body is JSON")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// Sends one request over `stream` and reads the whole reply.
pub async fn send_over<S>(
    stream: S,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Reply
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let parsed = url::Url::parse(url).unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let host = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
    let mut req = http::Request::builder()
        .method(method)
        .uri(target)
        .header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body))).unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

/// Sends one request to a plain-HTTP `url`.
pub async fn send(method: &str, url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    let parsed = url::Url::parse(url).unwrap();
    let addr = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
    let stream = TcpStream::connect(addr).await.unwrap();
    send_over(stream, method, url, headers, body).await
}

pub async fn get(url: &str) -> Reply {
    send("GET", url, &[], Vec::new()).await
}

/// POSTs an urlencoded form, with an optional `Authorization` header.
pub async fn post_form(url: &str, pairs: &[(&str, &str)], auth: Option<&str>) -> Reply {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    headers.extend(auth.map(|a| ("authorization", a)));
    send("POST", url, &headers, body.into_bytes()).await
}

/// POSTs a JSON body, with an optional `Authorization` header.
pub async fn post_json(url: &str, value: &Value, auth: Option<&str>) -> Reply {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend(auth.map(|a| ("authorization", a)));
    send("POST", url, &headers, value.to_string().into_bytes()).await
}
