//! The authorization-code flow with PKCE (RFC 6749 4.1, RFC 7636): build
//! the URL that sends the user to the provider, then, when the provider
//! sends the user back, check the single-use `state`, exchange the code
//! with its verifier and store the grant in the vault.
//!
//! The HTTP routes that expose this (connect and callback) belong to the
//! server; everything they need is here.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use workway_store::StoreError;
use workway_store::oauth_states::OAuthStateRow;

use crate::oauth::token::{self, TokenError};
use crate::{KeyringError, Vault, VaultError};
use workway_capabilities::ConnectionInfo;
use workway_capabilities::secret::Secret;
use workway_store::clock::now_ms;

/// How long a user has to finish authorising.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// Where to send the user, and what to remember.
#[derive(Debug, Clone)]
pub struct AuthorizationStart {
    /// The provider's authorization URL with every parameter filled in.
    pub authorization_url: String,
    /// The single-use `state` value in that URL (the server may also bind
    /// it to the user's session with a cookie).
    pub state: String,
    /// When the request stops being accepted (Unix ms).
    pub expires_at: i64,
}

/// Why connecting an account failed.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The provider is not one the platform knows.
    #[error("unknown OAuth provider `{0}`")]
    UnknownProvider(String),
    /// The platform has no client id for the provider.
    #[error(
        "the platform has no OAuth client for `{0}`: set oauth.{0}.client_id and client_secret in the host configuration"
    )]
    NotConfigured(String),
    /// The redirect URI is not acceptable.
    #[error(
        "redirect URI `{0}` must be an absolute https URL (http only for localhost) without a fragment"
    )]
    BadRedirect(String),
    /// The callback's `state` was never issued, or was already used.
    #[error(
        "this authorization response is not one the platform is waiting for (already used, or never issued); start connecting the account again"
    )]
    UnknownState,
    /// The user took too long.
    #[error("this authorization request expired; start connecting the account again")]
    Expired,
    /// The provider reported an error instead of a code (the user declined).
    #[error("{provider} did not authorise the connection: {error}")]
    Denied {
        /// The provider.
        provider: String,
        /// The provider's `error` (and description).
        error: String,
    },
    /// The callback has neither a code nor an error.
    #[error("the authorization response has no `{0}` parameter")]
    Missing(&'static str),
    /// Exchanging the code failed.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The vault failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl From<StoreError> for FlowError {
    fn from(e: StoreError) -> Self {
        FlowError::Vault(VaultError::Store(e))
    }
}

impl From<KeyringError> for FlowError {
    fn from(e: KeyringError) -> Self {
        FlowError::Vault(VaultError::Keyring(e))
    }
}

fn random_token() -> Result<String, KeyringError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| KeyringError::Random(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn sha256_b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

fn state_hash(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

fn verifier_context(hash: &str) -> String {
    format!("oauth-state:{hash}:verifier")
}

fn check_redirect(uri: &str) -> Result<(), FlowError> {
    let bad = || FlowError::BadRedirect(uri.to_string());
    let url = url::Url::parse(uri).map_err(|_| bad())?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && local);
    if !scheme_ok || url.fragment().is_some() || url.host().is_none() {
        return Err(bad());
    }
    Ok(())
}

/// Connects users' accounts: the two halves of the authorization-code flow.
#[derive(Debug, Clone)]
pub struct OAuthFlow {
    vault: Arc<Vault>,
}

impl OAuthFlow {
    /// A flow that stores grants in `vault`.
    pub fn new(vault: Arc<Vault>) -> Self {
        OAuthFlow { vault }
    }

    /// Start connecting `owner`'s `provider` account for one installation:
    /// `scopes` are the scopes that installation's approval lists for the
    /// provider (the engine's `installations::connect` looks them up). The
    /// request asks for exactly those plus the provider's identity scopes
    /// (`openid email` for Google, so the account's name is known), never
    /// for more, and never with Google's `include_granted_scopes`, so the
    /// grant is not widened to earlier grants' scopes; the vault hands the
    /// resulting connection only to installations approved for what it was
    /// granted. Returns the URL to send the user to. The state and PKCE
    /// verifier are stored, the verifier sealed.
    pub async fn begin(
        &self,
        owner: &str,
        provider: &str,
        scopes: &[String],
        redirect_uri: &str,
    ) -> Result<AuthorizationStart, FlowError> {
        let p = self
            .vault
            .providers()
            .get(provider)
            .ok_or_else(|| FlowError::UnknownProvider(provider.to_string()))?;
        let client_id = p
            .client_id
            .as_deref()
            .ok_or_else(|| FlowError::NotConfigured(provider.to_string()))?;
        check_redirect(redirect_uri)?;
        let mut all_scopes: Vec<String> = Vec::new();
        for s in p.identity_scopes.iter().chain(scopes) {
            if !all_scopes.contains(s) {
                all_scopes.push(s.clone());
            }
        }
        let state = random_token()?;
        let verifier = random_token()?;
        let hash = state_hash(&state);
        let now = now_ms();
        let expires_at = now + i64::try_from(STATE_TTL.as_millis()).unwrap_or(i64::MAX);

        let mut url = url::Url::parse(&p.authorization_url)
            .map_err(|_| FlowError::UnknownProvider(provider.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code");
            q.append_pair("client_id", client_id);
            q.append_pair("redirect_uri", redirect_uri);
            if !all_scopes.is_empty() {
                q.append_pair("scope", &all_scopes.join(p.scope_separator));
            }
            q.append_pair("state", &state);
            q.append_pair("code_challenge", &sha256_b64(&verifier));
            q.append_pair("code_challenge_method", "S256");
            for (k, v) in &p.authorize_params {
                q.append_pair(k, v);
            }
        }
        let sealed = self
            .vault
            .keyring()
            .seal(&verifier, &verifier_context(&hash))?;
        let store = self.vault.store();
        // Forget abandoned requests while adding this one.
        store.oauth_states().purge_expired(now).await?;
        store
            .oauth_states()
            .insert(&OAuthStateRow {
                state_hash: hash,
                owner: owner.to_string(),
                provider: provider.to_string(),
                scopes: all_scopes,
                redirect_uri: redirect_uri.to_string(),
                pkce_verifier: sealed,
                expires_at,
                created_at: now,
            })
            .await?;
        Ok(AuthorizationStart {
            authorization_url: url.to_string(),
            state,
            expires_at,
        })
    }

    /// Finish with the query string the provider redirected the user back
    /// with (`code=...&state=...`, or `error=...&state=...`).
    pub async fn callback(&self, query: &str) -> Result<ConnectionInfo, FlowError> {
        self.finish(None, query).await
    }

    /// [`OAuthFlow::callback`] for a request made by `owner`: a state
    /// issued to anyone else is refused as unknown (and consumed), so a
    /// user cannot be made to complete another user's authorization and
    /// end up with that user's account connected.
    pub async fn callback_as(&self, owner: &str, query: &str) -> Result<ConnectionInfo, FlowError> {
        self.finish(Some(owner), query).await
    }

    async fn finish(&self, owner: Option<&str>, query: &str) -> Result<ConnectionInfo, FlowError> {
        let mut code = None;
        let mut state = None;
        let mut error = None;
        let mut description = None;
        for (k, v) in url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            match k.as_ref() {
                "code" => code = Some(v.into_owned()),
                "state" => state = Some(v.into_owned()),
                "error" => error = Some(v.into_owned()),
                "error_description" => description = Some(v.into_owned()),
                _ => {}
            }
        }
        let state = state.ok_or(FlowError::Missing("state"))?;
        // The state is consumed whatever follows, so it cannot be replayed.
        let row = self.take(&state).await?;
        if owner.is_some_and(|owner| owner != row.owner) {
            return Err(FlowError::UnknownState);
        }
        if let Some(error) = error {
            let error = match description {
                Some(d) => format!("{error} ({d})"),
                None => error,
            };
            return Err(FlowError::Denied {
                provider: row.provider,
                error,
            });
        }
        let code = code.ok_or(FlowError::Missing("code"))?;
        self.exchange(row, &code).await
    }

    async fn take(&self, state: &str) -> Result<OAuthStateRow, FlowError> {
        let row = self
            .vault
            .store()
            .oauth_states()
            .take(&state_hash(state))
            .await?
            .ok_or(FlowError::UnknownState)?;
        if row.expires_at < now_ms() {
            return Err(FlowError::Expired);
        }
        Ok(row)
    }

    /// Finish with the `state` and `code` the provider sent back: the state
    /// is consumed (a second use fails), the code exchanged with the PKCE
    /// verifier, and the grant stored.
    pub async fn complete(&self, state: &str, code: &str) -> Result<ConnectionInfo, FlowError> {
        let row = self.take(state).await?;
        self.exchange(row, code).await
    }

    /// Exchange `code` for the request `row` (already taken) and store the grant.
    async fn exchange(&self, row: OAuthStateRow, code: &str) -> Result<ConnectionInfo, FlowError> {
        let verifier: Secret = self
            .vault
            .keyring()
            .open(&row.pkce_verifier, &verifier_context(&row.state_hash))?;
        let provider = self
            .vault
            .providers()
            .get(&row.provider)
            .ok_or_else(|| FlowError::UnknownProvider(row.provider.clone()))?;
        let tokens = token::exchange_code(
            self.vault.egress(),
            provider,
            code,
            &row.redirect_uri,
            &verifier,
        )
        .await?;
        Ok(self
            .vault
            .save(&row.owner, &row.provider, &row.scopes, &tokens)
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_checked() {
        assert!(check_redirect("https://workway.example/oauth/callback").is_ok());
        assert!(check_redirect("http://localhost:8080/cb").is_ok());
        assert!(check_redirect("http://workway.example/cb").is_err());
        assert!(check_redirect("https://workway.example/cb#x").is_err());
        assert!(check_redirect("/cb").is_err());
    }

    #[test]
    fn pkce_challenge_is_s256() {
        // RFC 7636 appendix B.
        assert_eq!(
            sha256_b64("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
