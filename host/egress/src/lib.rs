//! The network HTTP broker: how a plugin's `http` requests reach the world.
//!
//! [`Egress`] is built once per process from an [`EgressConfig`] (the
//! platform policy, explicit host overrides, extra root certificates) and
//! shared through an `Arc`. [`Egress::broker`] makes the per-execution
//! [`NetworkBroker`] for a plugin's approved hosts. A request leaves only
//! when:
//!
//! 1. its URL carries no credentials and, if its host is an IP literal,
//!    that address is one a plugin may reach ([`address`]);
//! 2. the platform policy allows its scheme and does not deny its host
//!    ([`policy`]);
//! 3. its scheme, host and port match one of the approved host patterns;
//! 4. every address its host resolves to may be reached; the broker then
//!    connects to one of exactly those addresses ([`resolve`]). Only an
//!    explicit [`HostOverride`] sends a named host elsewhere.
//!
//! Redirects are followed by the broker and every hop is checked the same
//! way. Connections are kept alive and reused (the `pool` module): an
//! idle connection serves only its own origin (scheme, host, port) and
//! only when the address it was opened to is among the request's freshly
//! checked addresses. A connection's bearer token is attached by the
//! broker only for the provider's own API hosts, and carried across a
//! redirect only to the same origin. Guest headers that carry credentials or routing are
//! dropped; the whole exchange is bounded by the request's timeout and the
//! response body by the execution's cap.

pub mod address;
pub mod policy;
mod pool;
#[cfg(test)]
mod pooling_tests;
mod redirect;
pub mod resolve;
mod transport;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use http::header::{AUTHORIZATION, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use url::Url;
use workway_registry::hosts::HostPattern;

pub use address::{AddressClass, Embedding, Refusal};
pub use policy::{DeniedHost, DeniedHostError, PlatformPolicy};
use policy::{Target, TargetHost, check_url, shown};
pub use resolve::{HostOverride, OverrideError, Resolve, SystemResolver};
use workway_capabilities::secret::Secret;
use workway_capabilities::{
    BrokerError, ConnectionInfo, CredentialSource, HttpBroker, InboundResponse, OutboundRequest,
    RequestBudget, is_forbidden_for_guests, is_transport_header,
};

/// Egress settings, as they appear in the host's configuration file:
///
/// ```toml
/// allowed_schemes = ["https", "http"]
/// denied_hosts = ["metadata.google.internal", "metadata"]
/// max_redirects = 5
/// user_agent = "workway/0.1"
/// overrides = ["api.slack.com:443=127.0.0.1:38291"]
/// extra_root_certificates = ["/etc/workway/test-ca.pem"]
/// pool_idle_timeout_ms = 30000
/// pool_max_idle_per_origin = 32
/// pool_max_open_per_origin = 256
/// ```
///
/// Every field is optional; the values above for the `pool_` fields are
/// their defaults. There is deliberately no setting that turns the
/// address checks off: `overrides` is the only way a named host reaches a
/// loopback or private address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EgressConfig {
    /// Schemes plugins may use; `https` and `http` by default.
    pub allowed_schemes: Vec<String>,
    /// Hosts no plugin may reach, whatever its manifest says: a bare host
    /// or `*.` wildcard (every scheme and port), `host:port`, or a full
    /// `scheme://host[:port]`. By default the cloud metadata names.
    pub denied_hosts: Vec<String>,
    /// How many redirects one request may follow; 5 by default.
    pub max_redirects: usize,
    /// The User-Agent sent when the plugin sets none.
    pub user_agent: String,
    /// Explicit `host[:port]=address:port` mappings (see [`HostOverride`])
    /// that skip resolution and the address checks for exactly that host
    /// (and port).
    pub overrides: Vec<String>,
    /// PEM files whose certificates are trusted in addition to the
    /// platform's root store.
    pub extra_root_certificates: Vec<PathBuf>,
    /// How long a keep-alive connection is kept unused for the next
    /// request to its origin, in milliseconds: 30000 by default, at most
    /// 3600000. 0 turns pooling off: every request opens its own
    /// connection and asks the server to close it.
    pub pool_idle_timeout_ms: u64,
    /// How many unused connections are kept per origin (scheme, host,
    /// port); 32 by default, at most `pool_max_open_per_origin`. 0 also
    /// turns pooling off.
    pub pool_max_idle_per_origin: usize,
    /// How many connections to one origin may be open at once, pooled or
    /// not; 256 by default, from 1 to 65536. A request over it waits for
    /// one to close, within its own timeout.
    pub pool_max_open_per_origin: usize,
}

impl Default for EgressConfig {
    fn default() -> Self {
        EgressConfig {
            allowed_schemes: vec!["https".into(), "http".into()],
            denied_hosts: policy::default_denied_hosts(),
            max_redirects: 5,
            user_agent: "workway/0.1".into(),
            overrides: Vec::new(),
            extra_root_certificates: Vec::new(),
            pool_idle_timeout_ms: pool::DEFAULT_IDLE_TIMEOUT.as_millis() as u64,
            pool_max_idle_per_origin: pool::DEFAULT_MAX_IDLE_PER_ORIGIN,
            pool_max_open_per_origin: pool::DEFAULT_MAX_OPEN_PER_ORIGIN,
        }
    }
}

impl EgressConfig {
    /// The pool's limits, or why they cannot be used.
    fn pool_settings(&self) -> Result<pool::PoolSettings, EgressError> {
        let idle_timeout = Duration::from_millis(self.pool_idle_timeout_ms);
        if idle_timeout > pool::MAX_IDLE_TIMEOUT {
            return Err(EgressError::Pool(format!(
                "pool_idle_timeout_ms is {}; at most {} is allowed",
                self.pool_idle_timeout_ms,
                pool::MAX_IDLE_TIMEOUT.as_millis()
            )));
        }
        if !(1..=pool::MAX_OPEN_PER_ORIGIN).contains(&self.pool_max_open_per_origin) {
            return Err(EgressError::Pool(format!(
                "pool_max_open_per_origin is {}; it must be from 1 to {}",
                self.pool_max_open_per_origin,
                pool::MAX_OPEN_PER_ORIGIN
            )));
        }
        if self.pool_max_idle_per_origin > self.pool_max_open_per_origin {
            return Err(EgressError::Pool(format!(
                "pool_max_idle_per_origin ({}) cannot exceed pool_max_open_per_origin ({})",
                self.pool_max_idle_per_origin, self.pool_max_open_per_origin
            )));
        }
        Ok(pool::PoolSettings {
            idle_timeout,
            max_idle: self.pool_max_idle_per_origin,
            max_open: self.pool_max_open_per_origin,
        })
    }
}

/// Why an [`Egress`] could not be built from its configuration.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// `allowed_schemes` names something other than https or http.
    #[error("egress: scheme `{0}` cannot be allowed; plugins may only use `https` and `http`")]
    Scheme(String),
    /// A `denied_hosts` entry is malformed.
    #[error("egress: {0}")]
    DeniedHost(#[from] DeniedHostError),
    /// An `overrides` entry is malformed.
    #[error("egress: {0}")]
    Override(#[from] OverrideError),
    /// `user_agent` cannot be a header value.
    #[error("egress: user_agent `{0}` is not a valid header value")]
    UserAgent(String),
    /// An extra root certificate file cannot be used.
    #[error("egress: extra root certificate file `{path}`: {reason}")]
    RootCertificate {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS client could not be configured.
    #[error("egress: TLS configuration: {0}")]
    Tls(String),
    /// The connection pool's limits are out of range.
    #[error("egress: {0}")]
    Pool(String),
}

/// The process's egress: policy, resolver, TLS roots, credentials and the
/// pool of keep-alive connections. Build it once and share it with `Arc`:
/// every broker made from it shares its pool and its TLS session cache.
pub struct Egress {
    policy: PlatformPolicy,
    max_redirects: usize,
    user_agent: HeaderValue,
    overrides: Vec<HostOverride>,
    tls: transport::Tls,
    pool: Arc<transport::ConnPool>,
    resolver: Arc<dyn Resolve>,
    credentials: Option<Arc<dyn CredentialSource>>,
    /// The address check; this crate's own tests let loopback through.
    #[cfg(test)]
    check: fn(IpAddr) -> Option<Refusal>,
}

impl fmt::Debug for Egress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Egress")
            .field("policy", &self.policy)
            .field("max_redirects", &self.max_redirects)
            .field("overrides", &self.overrides)
            .field("root_certificates", &self.tls.roots)
            .field("pool", self.pool.settings())
            .field("credentials", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

/// `headers` as a header map without the names `skip` picks (the guest's
/// credential and transport headers, or only transport headers for the
/// host's own requests); names or values that cannot be sent are an
/// invalid request. The guest's `Authorization` never reaches the wire:
/// the runtime refuses it and this drops it again.
fn header_map(
    headers: &[(String, String)],
    skip: fn(&str) -> bool,
) -> Result<HeaderMap, BrokerError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        if skip(name) {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        let header = HeaderName::from_bytes(lower.as_bytes()).map_err(|_| {
            BrokerError::InvalidRequest(format!("`{name}` is not a valid header name"))
        })?;
        // Never echo the value: it may be a secret.
        let value = HeaderValue::from_str(value).map_err(|_| {
            BrokerError::InvalidRequest(format!("header `{name}` has a value that cannot be sent"))
        })?;
        map.append(header, value);
    }
    Ok(map)
}

fn method_of(method: &str) -> Result<Method, BrokerError> {
    Method::from_bytes(method.to_ascii_uppercase().as_bytes())
        .map_err(|_| BrokerError::InvalidRequest(format!("`{method}` is not an HTTP method")))
}

fn parse_url(text: &str) -> Result<Url, BrokerError> {
    // The raw URL is not repeated: its query may carry secrets.
    let url = Url::parse(text)
        .map_err(|e| BrokerError::InvalidRequest(format!("the URL is not valid: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(BrokerError::InvalidRequest(format!(
            "`{}` is not an absolute http(s) URL",
            shown(&url)
        )));
    }
    Ok(url)
}

fn response_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn load_roots(config: &EgressConfig) -> Result<RootCertStore, EgressError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::warn!(%error, "some platform root certificates could not be loaded");
    }
    let (loaded, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(loaded, ignored, "platform root certificates");
    for path in &config.extra_root_certificates {
        let fail = |reason: String| EgressError::RootCertificate {
            path: path.clone(),
            reason,
        };
        let certificates = CertificateDer::pem_file_iter(path).map_err(|e| fail(e.to_string()))?;
        let mut count = 0;
        for certificate in certificates {
            let certificate = certificate.map_err(|e| fail(e.to_string()))?;
            roots
                .add(certificate)
                .map_err(|e| fail(format!("not a usable CA certificate: {e}")))?;
            count += 1;
        }
        if count == 0 {
            return Err(fail("it holds no PEM certificate".into()));
        }
    }
    if roots.is_empty() {
        tracing::warn!("no trusted root certificates: every https request will fail verification");
    }
    Ok(roots)
}

impl Egress {
    /// Check `config` and load the TLS roots (the platform's, plus the
    /// extra files). Names are resolved with [`SystemResolver`] and no
    /// credentials are configured until the `with_` methods say otherwise.
    pub fn new(config: EgressConfig) -> Result<Self, EgressError> {
        let roots = load_roots(&config)?;
        Self::with_roots(config, roots)
    }

    fn with_roots(config: EgressConfig, roots: RootCertStore) -> Result<Self, EgressError> {
        let mut allowed_schemes = Vec::new();
        for scheme in &config.allowed_schemes {
            let scheme = scheme.to_ascii_lowercase();
            if scheme != "https" && scheme != "http" {
                return Err(EgressError::Scheme(scheme));
            }
            allowed_schemes.push(scheme);
        }
        let denied_hosts = config
            .denied_hosts
            .iter()
            .map(|d| d.parse())
            .collect::<Result<Vec<DeniedHost>, _>>()?;
        let overrides = config
            .overrides
            .iter()
            .map(|o| o.parse())
            .collect::<Result<Vec<HostOverride>, _>>()?;
        let user_agent = HeaderValue::from_str(&config.user_agent)
            .map_err(|_| EgressError::UserAgent(config.user_agent.clone()))?;
        let pool = pool::Pool::new(config.pool_settings()?);
        let root_count = roots.len();
        // One client configuration for the process: its default
        // `Resumption` is an in-memory cache of TLS sessions (256 server
        // names), so new connections to a known server resume.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| EgressError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Egress {
            policy: PlatformPolicy {
                allowed_schemes,
                denied_hosts,
            },
            max_redirects: config.max_redirects,
            user_agent,
            overrides,
            tls: transport::tls(tls, root_count),
            pool: Arc::new(pool),
            resolver: Arc::new(SystemResolver),
            credentials: None,
            #[cfg(test)]
            check: address::refusal,
        })
    }

    /// Resolve names with `resolver` instead of the system's (tests).
    pub fn with_resolver(mut self, resolver: Arc<dyn Resolve>) -> Self {
        self.resolver = resolver;
        self
    }

    /// Take connections' tokens from `credentials`.
    pub fn with_credentials(mut self, credentials: Arc<dyn CredentialSource>) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The platform policy in force.
    pub fn policy(&self) -> &PlatformPolicy {
        &self.policy
    }

    /// The broker for one execution of a plugin approved for
    /// `approved_hosts`.
    pub fn broker(self: &Arc<Self>, approved_hosts: Vec<HostPattern>) -> NetworkBroker {
        NetworkBroker {
            egress: Arc::clone(self),
            approved: approved_hosts,
        }
    }

    /// Send one of the host's own requests (an OAuth token exchange) to an
    /// endpoint from the operator's configuration. The configuration is
    /// trusted: no manifest, platform-policy or address check applies (an
    /// override still does), the request's own `authorization` header is
    /// kept, no connection token is attached and redirects are returned,
    /// not followed. The body is capped at `max_response_bytes` (the
    /// request's own field is not consulted).
    ///
    /// These requests are rare (a token refresh per connection and hour)
    /// and skip the address checks, so they do not use the pool: each
    /// opens its own connection, closed after it, and plugin traffic never
    /// shares a connection with the host's. A new TLS connection still
    /// resumes a cached session.
    pub async fn platform_send(
        &self,
        request: OutboundRequest,
        max_response_bytes: usize,
    ) -> Result<InboundResponse, BrokerError> {
        let started = Instant::now();
        let method = request.method.clone();
        let timeout = request.timeout;
        let mut shown_url = String::new();
        let sent = tokio::time::timeout(
            timeout,
            self.platform_exchange(request, max_response_bytes, &mut shown_url),
        )
        .await
        .unwrap_or(Err(BrokerError::Timeout));
        log_request("platform", &method, &shown_url, &sent, 0, started);
        sent
    }

    async fn platform_exchange(
        &self,
        request: OutboundRequest,
        max_response_bytes: usize,
        shown_url: &mut String,
    ) -> Result<InboundResponse, BrokerError> {
        let url = parse_url(&request.url)?;
        *shown_url = shown(&url);
        let target = Target::of(&url).map_err(|e| BrokerError::InvalidRequest(e.to_string()))?;
        let method = method_of(&request.method)?;
        let mut headers = header_map(&request.headers, is_transport_header)?;
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, self.user_agent.clone());
        }
        let addresses = self.addresses(&target, false).await?;
        let body = Bytes::from(request.body);
        let outgoing = transport::Outgoing {
            method: &method,
            url: &url,
            target: &target,
            headers: &headers,
            body: &body,
        };
        let exchange = transport::send_single(&outgoing, &addresses, &self.tls).await?;
        let status = exchange.status.as_u16();
        let headers = response_headers(&exchange.headers);
        let body = exchange.read_body(max_response_bytes).await?;
        Ok(InboundResponse {
            status,
            headers,
            body,
        })
    }

    /// Why `ip` may not be reached by a plugin's request.
    fn refusal(&self, ip: IpAddr) -> Option<Refusal> {
        #[cfg(test)]
        return (self.check)(ip);
        #[cfg(not(test))]
        address::refusal(ip)
    }

    /// Where to connect for `target`: its IP literal, its override, or the
    /// resolved addresses, every one of them checked when `check` is set.
    /// This runs for every request and redirect hop, pooled connection or
    /// not: the pool is consulted only with addresses that passed.
    async fn addresses(
        &self,
        target: &Target,
        check: bool,
    ) -> Result<Vec<SocketAddr>, BrokerError> {
        let name = match &target.host {
            TargetHost::Ip(ip) => {
                if check && let Some(refusal) = self.refusal(*ip) {
                    return Err(BrokerError::Denied(format!(
                        "{ip} is {refusal}; requests to such addresses are refused"
                    )));
                }
                return Ok(vec![SocketAddr::new(address::canonical(*ip), target.port)]);
            }
            TargetHost::Name(name) => name,
        };
        if let Some(found) = resolve::find_override(&self.overrides, name, target.port) {
            return Ok(vec![found.address]);
        }
        let resolved = self
            .resolver
            .resolve(name, target.port)
            .await
            .map_err(|e| BrokerError::Network(format!("cannot resolve `{name}`: {e}")))?;
        if resolved.is_empty() {
            return Err(BrokerError::Network(format!(
                "`{name}` resolves to no address"
            )));
        }
        if check {
            for ip in &resolved {
                if let Some(refusal) = self.refusal(*ip) {
                    return Err(BrokerError::Denied(format!(
                        "{name} resolves to {ip}, {refusal}; requests to such addresses are refused"
                    )));
                }
            }
        }
        Ok(resolved
            .into_iter()
            .map(|ip| SocketAddr::new(address::canonical(ip), target.port))
            .collect())
    }
}

fn log_request(
    kind: &'static str,
    method: &str,
    url: &str,
    result: &Result<InboundResponse, BrokerError>,
    redirects: usize,
    started: Instant,
) {
    let duration_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(response) => tracing::debug!(
            kind,
            method,
            url,
            status = response.status,
            bytes = response.body.len(),
            redirects,
            duration_ms,
            "egress request"
        ),
        Err(error) => tracing::debug!(
            kind,
            method,
            url,
            %error,
            redirects,
            duration_ms,
            "egress request failed"
        ),
    }
}

/// The broker behind one execution's `http` import: the process's
/// [`Egress`] and the plugin's approved hosts.
pub struct NetworkBroker {
    egress: Arc<Egress>,
    approved: Vec<HostPattern>,
}

impl fmt::Debug for NetworkBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetworkBroker")
            .field("approved", &policy::list(&self.approved))
            .finish_non_exhaustive()
    }
}

/// A connection's grant in use for one request.
struct Grant<'a> {
    source: &'a dyn CredentialSource,
    connection: &'a ConnectionInfo,
    api_hosts: Vec<HostPattern>,
    /// Scheme, host and port of the original request: the token only
    /// follows redirects that stay there.
    origin: (String, String, u16),
    token: Secret,
    refreshed: bool,
}

impl Grant<'_> {
    fn applies_to(&self, target: &Target) -> bool {
        let origin = (target.scheme.clone(), target.host_text(), target.port);
        origin == self.origin && self.api_hosts.iter().any(|p| target.matches(p))
    }

    fn header(&self) -> Result<HeaderValue, BrokerError> {
        let mut text = format!("Bearer {}", self.token.expose()).into_bytes();
        let value = HeaderValue::from_bytes(&text);
        // Like `Secret`, leave no copy of the token in freed memory.
        text.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&text);
        let mut value = value.map_err(|_| {
            BrokerError::AuthExpired(format!(
                "the `{}` connection's access token cannot be sent in a header",
                self.connection.provider
            ))
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// The request being sent: the current hop.
struct Hop {
    url: Url,
    target: Target,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
}

impl NetworkBroker {
    /// The approved host patterns this broker enforces.
    pub fn approved_hosts(&self) -> &[HostPattern] {
        &self.approved
    }

    async fn grant<'a>(
        &'a self,
        connection: &'a ConnectionInfo,
        url: &Url,
        target: &Target,
    ) -> Result<Grant<'a>, BrokerError> {
        let provider = &connection.provider;
        let source = self.egress.credentials.as_deref().ok_or_else(|| {
            BrokerError::Denied(format!(
                "`{}` is to be authorised with a `{provider}` connection, but this host has no \
                 credential source configured",
                shown(url)
            ))
        })?;
        let api_hosts = source.api_hosts(provider).ok_or_else(|| {
            BrokerError::Denied(format!(
                "`{provider}` is not a provider this platform knows; its connection cannot \
                 authorise `{}`",
                shown(url)
            ))
        })?;
        if !api_hosts.iter().any(|p| target.matches(p)) {
            return Err(BrokerError::Denied(format!(
                "a `{provider}` connection can only authorise requests to its API hosts ({}); \
                 not {}",
                policy::list(&api_hosts),
                shown(url)
            )));
        }
        let token = source.access_token(connection).await?;
        Ok(Grant {
            source,
            connection,
            api_hosts,
            origin: (target.scheme.clone(), target.host_text(), target.port),
            token,
            refreshed: false,
        })
    }

    async fn exchange(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
        redirects: &mut usize,
        budget: Option<&RequestBudget>,
    ) -> Result<InboundResponse, BrokerError> {
        let url = parse_url(&request.url)?;
        let method = method_of(&request.method)?;
        let mut headers = header_map(&request.headers, is_forbidden_for_guests)?;
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, self.egress.user_agent.clone());
        }
        let target = check_url(&url, &self.egress.policy, &self.approved)
            .map_err(|e| BrokerError::Denied(e.to_string()))?;
        let mut grant = match auth {
            Some(connection) => Some(self.grant(connection, &url, &target).await?),
            None => None,
        };
        let first = shown(&url);
        let mut hop = Hop {
            url,
            target,
            method,
            headers,
            body: Bytes::from(request.body),
        };
        loop {
            let addresses = self.egress.addresses(&hop.target, true).await?;
            let mut headers = hop.headers.clone();
            let authorised = match &grant {
                Some(grant) if grant.applies_to(&hop.target) => {
                    headers.insert(AUTHORIZATION, grant.header()?);
                    true
                }
                _ => false,
            };
            let outgoing = transport::Outgoing {
                method: &hop.method,
                url: &hop.url,
                target: &hop.target,
                headers: &headers,
                body: &hop.body,
            };
            let exchange =
                transport::send(&outgoing, &addresses, &self.egress.tls, &self.egress.pool).await?;
            drop(headers);

            if exchange.status == StatusCode::UNAUTHORIZED
                && authorised
                && let Some(grant) = grant.as_mut()
                && !grant.refreshed
            {
                grant.refreshed = true;
                if let Some(token) = grant
                    .source
                    .token_rejected(grant.connection, &grant.token)
                    .await?
                {
                    exchange.discard().await;
                    grant.token = token;
                    continue;
                }
            }

            if let Some(next) =
                redirect::next_hop(exchange.status, &exchange.headers, &hop.url, &hop.method)
            {
                let status = exchange.status.as_u16();
                exchange.discard().await;
                let next = next.map_err(|redirect::BadLocation(why)| {
                    BrokerError::Network(format!(
                        "the {status} redirect from `{}` cannot be followed: {why}",
                        shown(&hop.url)
                    ))
                })?;
                if *redirects >= self.egress.max_redirects {
                    return Err(BrokerError::Network(format!(
                        "too many redirects (more than {}) starting at `{first}`",
                        self.egress.max_redirects
                    )));
                }
                let target = check_url(&next.url, &self.egress.policy, &self.approved).map_err(
                    |reason| {
                        BrokerError::Denied(format!(
                            "the {status} redirect from `{}` to `{}` is refused: {reason}",
                            shown(&hop.url),
                            shown(&next.url)
                        ))
                    },
                )?;
                if let Some(budget) = budget
                    && !budget.try_take()
                {
                    return Err(BrokerError::TooLarge(format!(
                        "the {status} redirect from `{}` is not followed: {}",
                        shown(&hop.url),
                        budget.exhausted_message()
                    )));
                }
                *redirects += 1;
                if next.drop_body {
                    hop.body = Bytes::new();
                    redirect::drop_body_headers(&mut hop.headers);
                }
                hop.url = next.url;
                hop.target = target;
                hop.method = next.method;
                continue;
            }

            let status = exchange.status.as_u16();
            let headers = response_headers(&exchange.headers);
            let body = exchange.read_body(request.max_response_bytes).await?;
            return Ok(InboundResponse {
                status,
                headers,
                body,
            });
        }
    }
}

impl NetworkBroker {
    /// Send `request` and log it; redirect hops count against `budget`
    /// when given.
    async fn send_logged(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
        budget: Option<&RequestBudget>,
    ) -> Result<InboundResponse, BrokerError> {
        let started = Instant::now();
        let method = request.method.clone();
        let shown_url = Url::parse(&request.url)
            .map(|u| shown(&u))
            .unwrap_or_default();
        let timeout = request.timeout;
        let mut redirects = 0;
        let sent = tokio::time::timeout(
            timeout,
            self.exchange(request, auth, &mut redirects, budget),
        )
        .await
        .unwrap_or(Err(BrokerError::Timeout));
        log_request("plugin", &method, &shown_url, &sent, redirects, started);
        sent
    }
}

#[async_trait]
impl HttpBroker for NetworkBroker {
    async fn send(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
    ) -> Result<InboundResponse, BrokerError> {
        self.send_logged(request, auth, None).await
    }

    async fn send_counted(
        &self,
        request: OutboundRequest,
        auth: Option<&ConnectionInfo>,
        budget: &RequestBudget,
    ) -> Result<InboundResponse, BrokerError> {
        self.send_logged(request, auth, Some(budget)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_defaults_and_unknown_fields() {
        let config: EgressConfig = toml::from_str("").expect("empty is valid");
        assert_eq!(config, EgressConfig::default());
        assert_eq!(config.allowed_schemes, ["https", "http"]);
        assert!(
            config
                .denied_hosts
                .iter()
                .any(|h| h == "metadata.google.internal")
        );
        assert!(config.denied_hosts.iter().any(|h| h == "metadata"));
        assert_eq!(config.max_redirects, 5);
        assert_eq!(config.user_agent, "workway/0.1");
        assert_eq!(config.pool_idle_timeout_ms, 30_000);
        assert_eq!(config.pool_max_idle_per_origin, 32);
        assert_eq!(config.pool_max_open_per_origin, 256);

        let config: EgressConfig = toml::from_str(
            r#"
            max_redirects = 2
            overrides = ["api.slack.com:443=127.0.0.1:38291", "mock.test=127.0.0.1:9"]
            extra_root_certificates = ["/tmp/ca.pem"]
            pool_idle_timeout_ms = 0
            pool_max_idle_per_origin = 4
            pool_max_open_per_origin = 8
            "#,
        )
        .expect("valid");
        assert_eq!(config.max_redirects, 2);
        assert_eq!(
            config.pool_settings().expect("valid pool settings"),
            pool::PoolSettings {
                idle_timeout: Duration::ZERO,
                max_idle: 4,
                max_open: 8,
            }
        );
        assert!(!config.pool_settings().expect("valid").keeps_idle());
        assert_eq!(config.overrides.len(), 2);
        assert_eq!(config.denied_hosts, policy::default_denied_hosts());

        let unknown = toml::from_str::<EgressConfig>("allow_private = true").expect_err("unknown");
        assert!(unknown.to_string().contains("allow_private"), "{unknown}");
    }

    #[test]
    fn bad_configurations_are_refused() {
        let scheme = Egress::new(EgressConfig {
            allowed_schemes: vec!["ftp".into()],
            ..EgressConfig::default()
        })
        .expect_err("ftp");
        assert!(matches!(scheme, EgressError::Scheme(s) if s == "ftp"));

        let denied = Egress::new(EgressConfig {
            denied_hosts: vec!["not a host".into()],
            ..EgressConfig::default()
        })
        .expect_err("bad denied host");
        assert!(matches!(denied, EgressError::DeniedHost(_)));

        let ip_override = Egress::new(EgressConfig {
            overrides: vec!["127.0.0.1=127.0.0.1:1".into()],
            ..EgressConfig::default()
        })
        .expect_err("an IP cannot be overridden");
        assert!(matches!(ip_override, EgressError::Override(_)));
        assert!(
            ip_override.to_string().contains("host name"),
            "{ip_override}"
        );

        for (config, needle) in [
            (
                EgressConfig {
                    pool_idle_timeout_ms: 3_600_001,
                    ..EgressConfig::default()
                },
                "pool_idle_timeout_ms is 3600001; at most 3600000",
            ),
            (
                EgressConfig {
                    pool_max_open_per_origin: 0,
                    pool_max_idle_per_origin: 0,
                    ..EgressConfig::default()
                },
                "pool_max_open_per_origin is 0; it must be from 1 to 65536",
            ),
            (
                EgressConfig {
                    pool_max_open_per_origin: usize::MAX,
                    ..EgressConfig::default()
                },
                "it must be from 1 to 65536",
            ),
            (
                EgressConfig {
                    pool_max_open_per_origin: 4,
                    ..EgressConfig::default()
                },
                "pool_max_idle_per_origin (32) cannot exceed pool_max_open_per_origin (4)",
            ),
        ] {
            let error = Egress::new(config).expect_err("bad pool settings");
            assert!(matches!(error, EgressError::Pool(_)), "{error}");
            assert!(error.to_string().contains(needle), "{error}");
        }

        let missing = Egress::new(EgressConfig {
            extra_root_certificates: vec!["/nonexistent/ca.pem".into()],
            ..EgressConfig::default()
        })
        .expect_err("missing file");
        assert!(
            missing.to_string().contains("/nonexistent/ca.pem"),
            "{missing}"
        );
    }

    /// A TLS server on 127.0.0.1 with a certificate for `name` from a
    /// throwaway CA; it accepts one handshake attempt per connection.
    async fn tls_server(name: &str) -> u16 {
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = rcgen::CertificateParams::new(vec![name.to_string()])
            .expect("params")
            .self_signed(&key)
            .expect("certificate");
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = acceptor.accept(stream).await;
            }
        });
        port
    }

    #[tokio::test]
    async fn without_any_root_certificate_https_fails_with_a_clear_error() {
        let port = tls_server("api.allowed.test").await;
        let egress = Arc::new(
            Egress::with_roots(
                EgressConfig {
                    overrides: vec![format!("api.allowed.test=127.0.0.1:{port}")],
                    ..EgressConfig::default()
                },
                RootCertStore::empty(),
            )
            .expect("an egress with no roots can still be built"),
        );
        let broker = egress.broker(vec!["https://api.allowed.test".parse().expect("pattern")]);
        let request = OutboundRequest {
            method: "GET".into(),
            url: "https://api.allowed.test/".into(),
            headers: vec![],
            body: vec![],
            timeout: std::time::Duration::from_secs(10),
            max_response_bytes: 1024,
        };
        match broker.send(request, None).await {
            Err(BrokerError::Network(message)) => {
                assert!(
                    message.contains("TLS certificate of `api.allowed.test` was not accepted"),
                    "{message}"
                );
                assert!(
                    message.contains("no trusted root certificates are loaded"),
                    "{message}"
                );
            }
            other => panic!("expected a certificate error, got {other:?}"),
        }
    }

    #[test]
    fn guest_credential_and_hop_headers_are_dropped() {
        let headers = header_map(
            &[
                ("Authorization".into(), "Bearer guest".into()),
                ("cookie".into(), "a=b".into()),
                ("host".into(), "evil.test".into()),
                ("proxy-authorization".into(), "x".into()),
                ("transfer-encoding".into(), "chunked".into()),
                ("content-length".into(), "5".into()),
                ("x-custom".into(), "1".into()),
            ],
            is_forbidden_for_guests,
        )
        .expect("valid");
        assert_eq!(headers.len(), 1);
        assert_eq!(
            headers.get("x-custom").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );

        let platform = header_map(
            &[
                ("authorization".into(), "Basic abc".into()),
                ("host".into(), "x".into()),
            ],
            is_transport_header,
        )
        .expect("valid");
        assert!(platform.contains_key(AUTHORIZATION));
        assert!(!platform.contains_key("host"));

        let bad = header_map(
            &[("x".into(), "secret\nvalue".into())],
            is_forbidden_for_guests,
        )
        .expect_err("bad value");
        assert!(!bad.to_string().contains("secret"), "{bad}");
    }
}
