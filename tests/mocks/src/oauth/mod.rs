//! A mock OAuth 2.0 authorization server standing in for Google, Slack,
//! Notion or Stripe Connect: simulated user consent plus a `/token` endpoint
//! speaking that provider's real wire format.

mod flavor;
pub(crate) mod state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use flavor::Flavor;
use state::State;

use crate::request::RecordedRequest;
use crate::response::MockResponse;
use crate::server::MockServer;

/// One simulated visit to the provider's consent screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    /// The full authorization URL as the host built it.
    pub url: String,
    /// `client_id` parameter.
    pub client_id: String,
    /// `redirect_uri` parameter.
    pub redirect_uri: String,
    /// `scope` parameter, if any.
    pub scope: Option<String>,
    /// `state` parameter, if any.
    pub state: Option<String>,
    /// `code_challenge` parameter, if any.
    pub code_challenge: Option<String>,
    /// `code_challenge_method` (defaults to `plain` when a challenge was sent).
    pub code_challenge_method: Option<String>,
    /// Every query parameter, decoded, in order.
    pub params: Vec<(String, String)>,
}

/// The result of a simulated consent: where the browser would be sent next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeOutcome {
    /// The one-time authorization code.
    pub code: String,
    /// The `state` echoed back, if one was sent.
    pub state: Option<String>,
    /// `redirect_uri?code=...&state=...`, the callback URL to hit.
    pub redirect: String,
}

/// Tokens of a grant created without the authorization dance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeededGrant {
    /// The grant's current access token.
    pub access_token: String,
    /// The grant's current refresh token.
    pub refresh_token: String,
}

/// How the provider currently regards an access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// The newest access token of a live grant, not expired.
    Valid,
    /// The newest access token of a live grant, but past its expiry.
    Expired,
    /// Unknown, superseded by a refresh, or revoked.
    Invalid,
}

static NEXT_TAG: AtomicU64 = AtomicU64::new(1);

/// A running mock authorization server for one [`Flavor`] and one client.
///
/// Serves `POST /token` and `GET /authorize` (302 to the redirect URI) over
/// plain HTTP on 127.0.0.1 until dropped.
pub struct MockOAuthProvider {
    flavor: Flavor,
    state: Arc<Mutex<State>>,
    server: MockServer,
}

impl MockOAuthProvider {
    /// Starts a provider that knows exactly one client.
    pub async fn start(flavor: Flavor, client_id: &str, client_secret: &str) -> Self {
        let tag = NEXT_TAG.fetch_add(1, Ordering::Relaxed);
        let state = Arc::new(Mutex::new(State::new(
            flavor,
            client_id,
            client_secret,
            tag,
        )));
        let shared = state.clone();
        let server = MockServer::start(move |req| route(&shared, req)).await;
        Self {
            flavor,
            state,
            server,
        }
    }

    /// The flavour this provider speaks.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// `http://127.0.0.1:PORT/token`, to put in the host's provider registry.
    pub fn token_url(&self) -> String {
        self.server.url("/token")
    }

    /// `http://127.0.0.1:PORT/authorize` (GET redirects like the real consent
    /// screen would after approval).
    pub fn authorize_url(&self) -> String {
        self.server.url("/authorize")
    }

    /// `http://127.0.0.1:PORT/revoke`: the flavour's revocation endpoint
    /// (Google's token revocation, Slack's `auth.revoke`, Stripe's
    /// `oauth/deauthorize`; Notion has none and answers 400).
    pub fn revocation_url(&self) -> String {
        self.server.url("/revoke")
    }

    /// How many grants were revoked through the revocation endpoint.
    pub fn revocation_count(&self) -> usize {
        self.lock().revocation_count
    }

    /// The underlying server (all requests, port, ...).
    pub fn server(&self) -> &MockServer {
        &self.server
    }

    /// Simulates the user approving the consent screen for the
    /// authorization URL the host built. Checks `client_id`,
    /// `response_type=code` (optional for Slack), `redirect_uri` and the PKCE
    /// method, then issues a one-time code bound to them.
    pub fn authorize(&self, authorization_url: &str) -> Result<AuthorizeOutcome, String> {
        self.lock().authorize(authorization_url)
    }

    /// Every successful [`authorize`](Self::authorize) call, in order.
    pub fn authorize_requests(&self) -> Vec<AuthorizeRequest> {
        self.lock().authorize_requests.clone()
    }

    /// Creates a grant directly (as if a code exchange had happened).
    pub fn seed_grant(&self) -> SeededGrant {
        let mut state = self.lock();
        let scope = self.flavor.default_scope().to_owned();
        let index = state.new_grant(scope);
        let grant = &state.grants[index];
        SeededGrant {
            access_token: grant.access_token.clone(),
            refresh_token: grant.refresh_token.clone(),
        }
    }

    /// Holds every refresh response for `delay`. The refresh is decided (and
    /// tokens rotated) on arrival; only the answer is late, so concurrent
    /// refreshes overlap.
    pub fn set_refresh_delay(&self, delay: Duration) {
        self.lock().refresh_delay = (!delay.is_zero()).then_some(delay);
    }

    /// Makes every refresh fail with OAuth error `error` (e.g.
    /// `"invalid_grant"`; Slack answers `{"ok":false,"error":error}`), or
    /// stops failing with `None`.
    pub fn fail_refresh_with(&self, error: Option<&str>) {
        self.lock().fail_refresh = error.map(str::to_owned);
    }

    /// Access tokens minted from now on expire `secs` seconds after minting
    /// (and Google/Slack report `expires_in: secs`).
    pub fn expire_access_tokens_in(&self, secs: u64) {
        self.lock().access_ttl = Some(secs);
    }

    /// Makes every current access token expired now; refresh tokens stay valid.
    pub fn expire_current_access_tokens(&self) {
        self.lock().expire_current_access_tokens();
    }

    /// Authorization codes older than `ttl` are rejected (default 10 minutes).
    pub fn set_code_ttl(&self, ttl: Duration) {
        self.lock().code_ttl = ttl;
    }

    /// The account e-mail reported (Google `id_token`, Notion owner).
    pub fn set_user_email(&self, email: &str) {
        self.lock().user_email = email.to_owned();
    }

    /// Token requests with `grant_type=refresh_token`, successful or not.
    pub fn refresh_count(&self) -> usize {
        self.lock().refresh_count
    }

    /// Refreshes that minted a new access token.
    pub fn successful_refresh_count(&self) -> usize {
        self.lock().successful_refresh_count
    }

    /// Token requests exchanging an authorization code, successful or not.
    pub fn code_exchange_count(&self) -> usize {
        self.lock().code_exchange_count
    }

    /// Every request to `/token`, in arrival order.
    pub fn token_requests(&self) -> Vec<RecordedRequest> {
        let mut requests = self.server.requests();
        requests.retain(|r| r.path == "/token");
        requests
    }

    /// True only for the newest, unexpired access token of a live grant.
    pub fn is_valid_access_token(&self, token: &str) -> bool {
        self.access_token_status(token) == TokenStatus::Valid
    }

    /// Whether `token` is valid, expired, or invalid.
    pub fn access_token_status(&self, token: &str) -> TokenStatus {
        self.lock().token_status(token)
    }

    /// The most recently minted access token, if any.
    pub fn current_access_token(&self) -> Option<String> {
        let state = self.lock();
        state
            .latest_grant
            .map(|i| state.grants[i].access_token.clone())
    }

    /// The current refresh token of the grant with the newest access token.
    pub fn current_refresh_token(&self) -> Option<String> {
        let state = self.lock();
        state
            .latest_grant
            .map(|i| state.grants[i].refresh_token.clone())
    }

    /// Revokes every grant (access and refresh tokens) and unused code.
    pub fn revoke_all(&self) {
        self.lock().revoke_all();
    }

    /// A cheap, `'static` handle for checking bearer tokens inside a
    /// [`MockServer`] handler of a mock API.
    pub fn token_checker(&self) -> crate::api::TokenChecker {
        crate::api::TokenChecker::new(self.flavor, self.state.clone())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

impl std::fmt::Debug for MockOAuthProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockOAuthProvider")
            .field("flavor", &self.flavor)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

pub(crate) fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(crate) fn token_status(state: &Mutex<State>, token: &str) -> TokenStatus {
    lock(state).token_status(token)
}

fn route(state: &Mutex<State>, req: &RecordedRequest) -> MockResponse {
    match (req.method.as_str(), req.path.as_str()) {
        (_, "/token") => lock(state).token_endpoint(req),
        ("POST", "/revoke") => lock(state).revocation_endpoint(req),
        ("GET", "/authorize") => {
            let url = format!(
                "http://localhost/authorize?{}",
                req.query.as_deref().unwrap_or("")
            );
            match lock(state).authorize(&url) {
                Ok(outcome) => MockResponse::redirect(302, outcome.redirect),
                Err(e) => MockResponse::text(400, e),
            }
        }
        _ => MockResponse::json(404, serde_json::json!({ "error": "not_found" })),
    }
}
