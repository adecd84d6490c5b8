//! The host side of the `http` interface: each request is counted, checked
//! (URL, guest-forbidden headers) and capped (body size, timeout) here, then
//! handed to the execution's broker, which applies the egress policy and
//! attaches credentials.

use std::time::Duration;

use wasmtime::component::Resource;

use crate::bindings::workway::plugin::http;
use crate::state::{CapabilityDenied, ConnectionHandle, ConnectionUnusable, HostState};
use workway_capabilities::{BrokerError, OutboundRequest, is_forbidden_for_guests};

/// The method as it goes on the wire.
fn method_name(method: http::Method) -> &'static str {
    match method {
        http::Method::Get => "GET",
        http::Method::Head => "HEAD",
        http::Method::Post => "POST",
        http::Method::Put => "PUT",
        http::Method::Patch => "PATCH",
        http::Method::Delete => "DELETE",
        http::Method::Options => "OPTIONS",
    }
}

impl http::Host for HostState {
    async fn send(
        &mut self,
        request: http::Request,
        auth: Option<Resource<ConnectionHandle>>,
    ) -> wasmtime::Result<Result<http::Response, http::HttpError>> {
        self.count_host_call();
        if !self.requests.try_take() {
            return Ok(Err(http::HttpError::TooLarge(
                self.requests.exhausted_message(),
            )));
        }
        let url = match url::Url::parse(&request.url) {
            Ok(url) if matches!(url.scheme(), "https" | "http") && url.host().is_some() => url,
            Ok(url) => {
                return Ok(Err(http::HttpError::InvalidRequest(format!(
                    "`{url}` is not an absolute http(s) URL"
                ))));
            }
            Err(e) => {
                return Ok(Err(http::HttpError::InvalidRequest(format!(
                    "`{}` is not a valid URL: {e}",
                    request.url
                ))));
            }
        };
        if let Some(h) = request
            .headers
            .iter()
            .find(|h| is_forbidden_for_guests(&h.name))
        {
            return Ok(Err(http::HttpError::InvalidRequest(format!(
                "header `{}` is set by the host, not the integration; use .auth(&connection) for credentials",
                h.name
            ))));
        }
        let body = request.body.unwrap_or_default();
        self.charge_bytes(body.len());
        if body.len() > self.limits.http_request_bytes {
            return Ok(Err(http::HttpError::TooLarge(format!(
                "request body is {} bytes; the limit is {}",
                body.len(),
                self.limits.http_request_bytes
            ))));
        }
        let auth = match auth {
            Some(handle) => Some(self.table.get(&handle)?.info.clone()),
            None => None,
        };
        let remaining = self
            .deadline
            .saturating_duration_since(tokio::time::Instant::now());
        let timeout = request
            .timeout_ms
            .map(|ms| Duration::from_millis(u64::from(ms)))
            .map_or(remaining, |t| t.min(remaining));
        self.usage.bytes_out += body.len() as u64;
        let outbound = OutboundRequest {
            method: method_name(request.method).to_string(),
            url: url.to_string(),
            headers: request
                .headers
                .into_iter()
                .map(|h| (h.name.to_ascii_lowercase(), h.value))
                .collect(),
            body,
            timeout,
            max_response_bytes: self.limits.http_response_bytes,
        };
        let broker = self.capabilities.http.clone();
        let sent = tokio::time::timeout(
            timeout,
            broker.send_counted(outbound, auth.as_ref(), &self.requests),
        )
        .await;
        let response = match sent {
            Err(_) => return Ok(Err(http::HttpError::Timeout)),
            Ok(Err(BrokerError::Denied(reason))) => {
                return Err(wasmtime::Error::new(CapabilityDenied(reason)));
            }
            Ok(Err(BrokerError::InvalidRequest(m))) => {
                return Ok(Err(http::HttpError::InvalidRequest(m)));
            }
            Ok(Err(BrokerError::Network(m))) => return Ok(Err(http::HttpError::Network(m))),
            Ok(Err(BrokerError::Timeout)) => return Ok(Err(http::HttpError::Timeout)),
            Ok(Err(BrokerError::TooLarge(m))) => return Ok(Err(http::HttpError::TooLarge(m))),
            Ok(Err(BrokerError::AuthExpired(reason))) => {
                return Err(wasmtime::Error::new(ConnectionUnusable(reason)));
            }
            Ok(Ok(response)) => response,
        };
        if response.body.len() > self.limits.http_response_bytes {
            return Ok(Err(http::HttpError::TooLarge(format!(
                "response body is {} bytes; the limit is {}",
                response.body.len(),
                self.limits.http_response_bytes
            ))));
        }
        self.usage.bytes_in += response.body.len() as u64;
        self.charge_bytes(response.body.len());
        Ok(Ok(http::Response {
            status: response.status,
            headers: response
                .headers
                .into_iter()
                .map(|(name, value)| http::Header { name, value })
                .collect(),
            body: response.body,
        }))
    }
}
