//! Stand-ins for the services the first-party integrations call: Gmail,
//! Notion, Slack and Stripe.
//!
//! Each is an HTTPS server for the service's real host name (its
//! certificate signed by a [`TestCa`](crate::TestCa)), reached by the
//! egress broker through an explicit override. It keeps its data in
//! memory, checks what the real server checks (method, path, query, the
//! `Authorization` header the host attached, content type, body shape) and
//! answers with the service's documented response shapes, error bodies and
//! pagination included. [`Faults`] queues failures ahead of the normal
//! answers (a 429 with its retry-after, then success).

pub mod gmail;
pub mod notion;
pub mod slack;
pub mod stripe;

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::api::TokenChecker;
use crate::request::RecordedRequest;
use crate::response::MockResponse;
use crate::server::MockServer;
use crate::tls::TestCa;

/// What every service mock stands on: the HTTPS server for the service's
/// host name and the queue of injected answers. Each mock dereferences to
/// it, so `mock.port()`, `mock.requests()` and `mock.faults()` are the same
/// everywhere.
pub struct ServiceServer {
    server: MockServer,
    faults: Faults,
}

impl ServiceServer {
    /// Serve `host` (certificate signed by `ca`) with `handler`, which gets
    /// the fault queue to consult where the service would (Gmail only after
    /// authentication, Stripe before stamping its request id).
    pub async fn start<F>(ca: &TestCa, host: &str, handler: F) -> Self
    where
        F: Fn(&Faults, &RecordedRequest) -> MockResponse + Send + Sync + 'static,
    {
        let faults = Faults::default();
        let queued = faults.clone();
        let server =
            MockServer::start_tls(move |req| handler(&queued, req), ca.server_config(&[host]))
                .await;
        ServiceServer { server, faults }
    }

    /// The port to send the service's `HOST:443` to (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// Answers queued ahead of the mock's normal behaviour (each mock has
    /// helpers that build its service's error responses).
    pub fn faults(&self) -> &Faults {
        &self.faults
    }
}

impl fmt::Debug for ServiceServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceServer")
            .field("port", &self.port())
            .field("pending_faults", &self.faults.pending())
            .finish()
    }
}

/// The bearer tokens a service mock accepts.
#[derive(Clone)]
pub struct AcceptedTokens(Arc<dyn Fn(&str) -> bool + Send + Sync>);

impl AcceptedTokens {
    /// Only `token`.
    pub fn exactly(token: impl Into<String>) -> Self {
        let token = token.into();
        AcceptedTokens(Arc::new(move |t| t == token))
    }

    /// The tokens a [`MockOAuthProvider`](crate::MockOAuthProvider) currently
    /// considers valid (so refreshes and revocations take effect).
    pub fn from_checker(checker: TokenChecker) -> Self {
        AcceptedTokens(Arc::new(move |t| checker.is_valid(t)))
    }

    /// Whether `token` is accepted.
    pub fn accepts(&self, token: &str) -> bool {
        (self.0)(token)
    }

    /// Whether `req` carries an accepted `Authorization: Bearer` token.
    pub fn check(&self, req: &RecordedRequest) -> bool {
        req.bearer_token().is_some_and(|t| self.accepts(t))
    }
}

impl fmt::Debug for AcceptedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AcceptedTokens(..)")
    }
}

/// Answers queued ahead of a mock's normal behaviour, each used once, in
/// order, by the next request whose path starts with its prefix.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    queue: Arc<Mutex<VecDeque<(String, MockResponse)>>>,
}

impl Faults {
    /// Answer the next request (any path) with `response`.
    pub fn push(&self, response: MockResponse) {
        self.push_for("/", response);
    }

    /// Answer the next request whose path starts with `path_prefix` with `response`.
    pub fn push_for(&self, path_prefix: impl Into<String>, response: MockResponse) {
        self.lock().push_back((path_prefix.into(), response));
    }

    /// The queued answer for `req`, if one matches; it is used up.
    pub fn take(&self, req: &RecordedRequest) -> Option<MockResponse> {
        let mut queue = self.lock();
        let index = queue
            .iter()
            .position(|(prefix, _)| req.path.starts_with(prefix.as_str()))?;
        queue.remove(index).map(|(_, response)| response)
    }

    /// How many queued answers are left.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(String, MockResponse)>> {
        self.queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
