//! The authorization server's bookkeeping: issued codes, grants, current
//! tokens, and the rules the token endpoint enforces (client auth, one-time
//! codes, redirect URI binding, PKCE, refresh-token rotation).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::flavor::{Flavor, Issued, TokenError, TokenParams};
use super::{AuthorizeOutcome, AuthorizeRequest, TokenStatus};
use crate::request::RecordedRequest;
use crate::response::MockResponse;

pub(crate) struct IssuedCode {
    redirect_uri: String,
    scope: Option<String>,
    challenge: Option<(String, String)>,
    issued_at: Instant,
    used: bool,
}

pub(crate) struct Grant {
    id: u64,
    scope: String,
    pub access_token: String,
    access_expires_at: Option<Instant>,
    pub refresh_token: String,
    revoked: bool,
}

pub(crate) struct State {
    pub flavor: Flavor,
    pub client_id: String,
    pub client_secret: String,
    /// Distinguishes codes of different providers in one process.
    pub tag: u64,
    codes: HashMap<String, IssuedCode>,
    pub grants: Vec<Grant>,
    pub authorize_requests: Vec<AuthorizeRequest>,
    seq: u64,
    /// Index into `grants` of the grant whose access token was minted last.
    pub latest_grant: Option<usize>,
    pub access_ttl: Option<u64>,
    pub code_ttl: Duration,
    pub refresh_delay: Option<Duration>,
    pub fail_refresh: Option<String>,
    pub user_email: String,
    pub refresh_count: usize,
    pub successful_refresh_count: usize,
    pub code_exchange_count: usize,
    pub revocation_count: usize,
}

impl State {
    pub fn new(flavor: Flavor, client_id: &str, client_secret: &str, tag: u64) -> Self {
        Self {
            flavor,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            tag,
            codes: HashMap::new(),
            grants: Vec::new(),
            authorize_requests: Vec::new(),
            seq: 0,
            latest_grant: None,
            access_ttl: flavor.default_access_ttl(),
            code_ttl: Duration::from_secs(600),
            refresh_delay: None,
            fail_refresh: None,
            user_email: "user@example.com".to_owned(),
            refresh_count: 0,
            successful_refresh_count: 0,
            code_exchange_count: 0,
            revocation_count: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Simulates the user approving the consent screen at `url`.
    pub fn authorize(&mut self, url: &str) -> Result<AuthorizeOutcome, String> {
        let parsed =
            url::Url::parse(url).map_err(|e| format!("bad authorization URL {url:?}: {e}"))?;
        let params: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let client_id = get("client_id").ok_or("missing client_id")?;
        if client_id != self.client_id {
            return Err(format!("invalid_client: unknown client_id {client_id:?}"));
        }
        match get("response_type").as_deref() {
            Some("code") => {}
            None if !self.flavor.requires_response_type() => {}
            other => return Err(format!("unsupported_response_type: {other:?}")),
        }
        let redirect_uri = get("redirect_uri").ok_or("missing redirect_uri")?;
        let mut redirect = url::Url::parse(&redirect_uri)
            .map_err(|e| format!("bad redirect_uri {redirect_uri:?}: {e}"))?;
        let challenge = match (get("code_challenge"), get("code_challenge_method")) {
            (None, _) => None,
            (Some(c), method) => {
                let method = method.unwrap_or_else(|| "plain".to_owned());
                if method != "S256" && method != "plain" {
                    return Err(format!("invalid_request: code_challenge_method {method:?}"));
                }
                Some((c, method))
            }
        };
        let (scope, state) = (get("scope"), get("state"));
        // Google's incremental authorization: with
        // `include_granted_scopes=true` the new grant also carries every
        // scope the user granted this client before.
        let incremental = self.flavor == Flavor::Google
            && params
                .iter()
                .any(|(k, v)| k == "include_granted_scopes" && v == "true");
        let granted = if incremental {
            let mut all: Vec<String> = Vec::new();
            let earlier = self.grants.iter().filter(|g| !g.revoked);
            for word in earlier
                .flat_map(|g| g.scope.split(' '))
                .chain(scope.as_deref().unwrap_or_default().split(' '))
                .filter(|w| !w.is_empty())
            {
                if !all.iter().any(|a| a == word) {
                    all.push(word.to_owned());
                }
            }
            Some(all.join(" "))
        } else {
            scope.clone()
        };
        self.authorize_requests.push(AuthorizeRequest {
            url: url.to_owned(),
            client_id,
            redirect_uri: redirect_uri.clone(),
            scope: scope.clone(),
            state: state.clone(),
            code_challenge: challenge.as_ref().map(|(c, _)| c.clone()),
            code_challenge_method: challenge.as_ref().map(|(_, m)| m.clone()),
            params,
        });
        let n = self.next();
        let code = self.flavor.authorization_code(self.tag, n);
        {
            let mut query = redirect.query_pairs_mut();
            query.append_pair("code", &code);
            if let Some(state) = &state {
                query.append_pair("state", state);
            }
            if let (Flavor::Google | Flavor::Stripe, Some(scope)) = (self.flavor, &granted) {
                query.append_pair("scope", scope);
            }
        }
        let issued = IssuedCode {
            redirect_uri,
            scope: granted,
            challenge,
            issued_at: Instant::now(),
            used: false,
        };
        self.codes.insert(code.clone(), issued);
        Ok(AuthorizeOutcome {
            code,
            state,
            redirect: redirect.into(),
        })
    }

    /// Handles one request to the token endpoint.
    pub fn token_endpoint(&mut self, req: &RecordedRequest) -> MockResponse {
        if req.method != "POST" {
            return MockResponse::status(405).header("allow", "POST");
        }
        let flavor = self.flavor;
        let (result, is_refresh) = match flavor.parse_token_request(req) {
            Err(e) => (Err(e), false),
            Ok(params) => {
                let is_refresh = params.get("grant_type") == Some("refresh_token");
                (self.grant(&params), is_refresh)
            }
        };
        let response = match result {
            Ok(issued) => flavor.success_response(&issued),
            Err(err) => flavor.error_response(&err),
        };
        match self.refresh_delay {
            Some(delay) if is_refresh => response.delay(delay),
            _ => response,
        }
    }

    fn grant(&mut self, params: &TokenParams) -> Result<Issued, TokenError> {
        let grant_type = params.get("grant_type");
        match grant_type {
            Some("authorization_code") => self.code_exchange_count += 1,
            // Slack treats a request carrying `code` as a code exchange.
            None if self.flavor == Flavor::Slack && params.get("code").is_some() => {
                self.code_exchange_count += 1;
            }
            Some("refresh_token") => self.refresh_count += 1,
            None => {
                return Err(TokenError::invalid_request(
                    "invalid_grant_type",
                    "Missing required parameter: grant_type",
                ));
            }
            Some(other) => return Err(TokenError::unsupported_grant_type(other)),
        }
        self.authenticate_client(params)?;
        if grant_type == Some("refresh_token") {
            self.refresh(params)
        } else {
            self.exchange_code(params)
        }
    }

    fn authenticate_client(&self, params: &TokenParams) -> Result<(), TokenError> {
        let Some(secret) = &params.client_secret else {
            let how = match self.flavor {
                Flavor::Notion => "Client credentials must be sent with HTTP Basic authentication.",
                _ => "Client authentication is required.",
            };
            return Err(TokenError::invalid_client("invalid_client_id", how));
        };
        if self.flavor != Flavor::Stripe
            && params.client_id.as_deref() != Some(self.client_id.as_str())
        {
            return Err(TokenError::invalid_client(
                "invalid_client_id",
                "The OAuth client was not found.",
            ));
        }
        if *secret != self.client_secret {
            return Err(TokenError::invalid_client(
                "bad_client_secret",
                "Invalid client secret.",
            ));
        }
        Ok(())
    }

    fn exchange_code(&mut self, params: &TokenParams) -> Result<Issued, TokenError> {
        let bad_code = |why: &str| TokenError::invalid_grant("invalid_code", why);
        let code = params.get("code").ok_or_else(|| {
            TokenError::invalid_request("invalid_code", "Missing required parameter: code")
        })?;
        let code_ttl = self.code_ttl;
        let issued = self
            .codes
            .get_mut(code)
            .ok_or_else(|| bad_code("Malformed auth code."))?;
        if std::mem::replace(&mut issued.used, true) {
            return Err(bad_code("Authorization code has already been used."));
        }
        if issued.issued_at.elapsed() > code_ttl {
            return Err(bad_code("Authorization code has expired."));
        }
        match params.get("redirect_uri") {
            Some(uri) if uri == issued.redirect_uri => {}
            None if !self.flavor.requires_redirect_uri() => {}
            _ => {
                return Err(TokenError::invalid_grant(
                    "bad_redirect_uri",
                    "redirect_uri does not match the authorization request.",
                ));
            }
        }
        if let Some((challenge, method)) = &issued.challenge {
            let verifier = params.get("code_verifier").ok_or_else(|| {
                TokenError::invalid_grant("invalid_code_verifier", "Missing code verifier.")
            })?;
            let computed = match method.as_str() {
                "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
                _ => verifier.to_owned(),
            };
            if computed != *challenge {
                return Err(TokenError::invalid_grant(
                    "invalid_code_verifier",
                    "Invalid code verifier.",
                ));
            }
        }
        let scope = issued
            .scope
            .clone()
            .unwrap_or_else(|| self.flavor.default_scope().to_owned());
        let index = self.new_grant(scope);
        Ok(self.issued(index, true))
    }

    fn refresh(&mut self, params: &TokenParams) -> Result<Issued, TokenError> {
        let token = params.get("refresh_token").ok_or_else(|| {
            TokenError::invalid_request(
                "invalid_refresh_token",
                "Missing required parameter: refresh_token",
            )
        })?;
        if let Some(error) = &self.fail_refresh {
            return Err(TokenError::injected(error));
        }
        let index = self
            .grants
            .iter()
            .position(|g| !g.revoked && g.refresh_token == token)
            .ok_or_else(|| {
                TokenError::invalid_grant(
                    "invalid_refresh_token",
                    "Token has been expired or revoked.",
                )
            })?;
        self.mint_access(index);
        let rotates = self.flavor.rotates_refresh_tokens();
        if rotates {
            self.grants[index].refresh_token = self.mint_refresh();
        }
        self.successful_refresh_count += 1;
        // Google omits refresh_token on refresh; Stripe repeats the same one.
        Ok(self.issued(index, self.flavor != Flavor::Google))
    }

    /// Creates a grant with fresh tokens; returns its index.
    pub fn new_grant(&mut self, scope: String) -> usize {
        let id = self.next();
        let refresh_token = self.mint_refresh();
        self.grants.push(Grant {
            id,
            scope,
            access_token: String::new(),
            access_expires_at: None,
            refresh_token,
            revoked: false,
        });
        let index = self.grants.len() - 1;
        self.mint_access(index);
        index
    }

    fn mint_access(&mut self, index: usize) {
        let n = self.next();
        let grant = &mut self.grants[index];
        grant.access_token = format!("{}access-{n}", self.flavor.access_prefix());
        grant.access_expires_at = self
            .access_ttl
            .map(|s| Instant::now() + Duration::from_secs(s));
        self.latest_grant = Some(index);
    }

    fn mint_refresh(&mut self) -> String {
        let n = self.next();
        format!("{}refresh-{n}", self.flavor.refresh_prefix())
    }

    fn issued(&self, index: usize, with_refresh: bool) -> Issued {
        let grant = &self.grants[index];
        Issued {
            grant_id: grant.id,
            access_token: grant.access_token.clone(),
            refresh_token: with_refresh.then(|| grant.refresh_token.clone()),
            expires_in: self.access_ttl.filter(|_| self.flavor.reports_expiry()),
            scope: grant.scope.clone(),
            client_id: self.client_id.clone(),
            email: self.user_email.clone(),
        }
    }

    pub fn token_status(&self, token: &str) -> TokenStatus {
        let Some(grant) = self.grants.iter().find(|g| g.access_token == token) else {
            return TokenStatus::Invalid;
        };
        if grant.revoked {
            TokenStatus::Invalid
        } else if grant
            .access_expires_at
            .is_some_and(|at| Instant::now() >= at)
        {
            TokenStatus::Expired
        } else {
            TokenStatus::Valid
        }
    }

    pub fn expire_current_access_tokens(&mut self) {
        let now = Instant::now();
        for grant in &mut self.grants {
            grant.access_expires_at = Some(now);
        }
    }

    /// The revocation endpoint, in the flavour's dialect: Google's
    /// `POST /revoke` (form `token`: an access or refresh token revokes the
    /// whole grant), Slack's `auth.revoke` (the bearer token revokes its
    /// grant; HTTP 200 either way), Stripe's `POST /oauth/deauthorize`
    /// (the platform's secret key as bearer, form `client_id` and
    /// `stripe_user_id`). Notion has none.
    pub fn revocation_endpoint(&mut self, req: &RecordedRequest) -> MockResponse {
        let found = match self.flavor {
            Flavor::Google => req.form_param("token").and_then(|token| {
                self.grants.iter().position(|g| {
                    !g.revoked && (g.access_token == token || g.refresh_token == token)
                })
            }),
            Flavor::Slack => req.bearer_token().and_then(|token| {
                self.grants
                    .iter()
                    .position(|g| !g.revoked && g.access_token == token)
            }),
            Flavor::Stripe => {
                if req.bearer_token() != Some(self.client_secret.as_str())
                    || req.form_param("client_id").as_deref() != Some(self.client_id.as_str())
                {
                    return MockResponse::json(
                        401,
                        serde_json::json!({"error": "invalid_client", "error_description": "No such application"}),
                    );
                }
                let account = req.form_param("stripe_user_id").unwrap_or_default();
                self.grants
                    .iter()
                    .position(|g| !g.revoked && format!("acct_1Mock{:011}", g.id) == account)
            }
            Flavor::Notion => None,
        };
        let Some(index) = found else {
            return match self.flavor {
                Flavor::Slack => MockResponse::json(
                    200,
                    serde_json::json!({"ok": false, "error": "invalid_auth"}),
                ),
                Flavor::Stripe => MockResponse::json(
                    400,
                    serde_json::json!({"error": "invalid_client", "error_description": "This application is not connected to that account"}),
                ),
                _ => MockResponse::json(400, serde_json::json!({"error": "invalid_token"})),
            };
        };
        self.grants[index].revoked = true;
        self.revocation_count += 1;
        match self.flavor {
            Flavor::Slack => {
                MockResponse::json(200, serde_json::json!({"ok": true, "revoked": true}))
            }
            Flavor::Stripe => MockResponse::json(
                200,
                serde_json::json!({"stripe_user_id": format!("acct_1Mock{:011}", self.grants[index].id)}),
            ),
            _ => MockResponse::json(200, serde_json::json!({})),
        }
    }

    pub fn revoke_all(&mut self) {
        for grant in &mut self.grants {
            grant.revoked = true;
        }
        self.codes.clear();
    }
}
