//! The OAuth providers the platform brokers: where users authorise, where
//! codes and refresh tokens are exchanged, which API hosts a provider's
//! token may be sent to, and how each provider's token endpoint wants to be
//! spoken to.
//!
//! The four built in (Google, Notion, Slack, Stripe) carry their real
//! endpoints. Operators give each one a client id and secret; they may
//! also point the endpoints elsewhere (a regional or government instance,
//! or a local mock in tests): configuration is the only way to do so.

use std::collections::BTreeMap;

use serde::Deserialize;
use workway_registry::hosts::HostPattern;

use workway_capabilities::secret::Secret;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientAuth {
    /// `client_id` and `client_secret` in the request body (RFC 6749 2.3.1).
    Body,
    /// HTTP Basic with the client id and secret.
    Basic,
}

/// How the token request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyFormat {
    /// `application/x-www-form-urlencoded` (the RFC's way).
    Form,
    /// `application/json` (Notion).
    Json,
}

/// How the provider revokes a grant when the user disconnects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// RFC 7009: POST `token=<refresh or access token>` as a form (Google).
    TokenForm,
    /// POST with the access token as the bearer (Slack's `auth.revoke`).
    Bearer,
    /// Stripe Connect: deauthorize the connected account, authenticated
    /// with the platform's secret key.
    StripeDeauthorize,
}

/// Where the account's display name is found in the token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountField {
    /// A JSON pointer into the token response (`/team/name`).
    Pointer(&'static str),
    /// The `email` claim of the OpenID Connect `id_token` in the response.
    IdTokenEmail,
}

/// One OAuth provider, ready to use.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The provider's name, as manifests and connections spell it.
    pub name: String,
    /// Where the user is sent to authorise.
    pub authorization_url: String,
    /// Where codes and refresh tokens are exchanged.
    pub token_url: String,
    /// The hosts this provider's bearer token may be sent to.
    pub api_hosts: Vec<HostPattern>,
    /// Scopes that reach nothing but the account's identity (Google's
    /// `openid` and `email`): asked for on top of an installation's
    /// approved scopes so the account's name is known, and the only scopes
    /// a connection may hold beyond what an installation was approved for.
    pub identity_scopes: Vec<String>,
    /// How scopes are joined in the authorization URL.
    pub scope_separator: &'static str,
    /// Extra authorization URL parameters (Google's `access_type=offline`).
    /// Never Google's `include_granted_scopes=true`: it would make every
    /// new grant the union of all scopes the user ever granted the
    /// platform, so one installation's connection would carry another's
    /// scopes.
    pub authorize_params: Vec<(String, String)>,
    /// How the client authenticates at the token endpoint.
    pub client_auth: ClientAuth,
    /// How the token request body is encoded.
    pub body_format: BodyFormat,
    /// Where the account name is in the token response.
    pub account: AccountField,
    /// How and where a grant is revoked at the provider; `None` when the
    /// provider offers no revocation (Notion: users remove the integration
    /// in Notion itself).
    pub revocation: Option<(Revocation, String)>,
    /// The platform's client id, when configured.
    pub client_id: Option<String>,
    /// The platform's client secret, when configured.
    pub client_secret: Option<Secret>,
}

/// Operator settings for one provider (the `[oauth.<name>]` table of the
/// host configuration). Everything but the client credentials is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSettings {
    /// The platform's client id at the provider.
    pub client_id: Option<String>,
    /// The client secret.
    pub client_secret: Option<String>,
    /// Replace the authorization URL.
    pub authorization_url: Option<String>,
    /// Replace the token URL.
    pub token_url: Option<String>,
    /// Replace the revocation URL (for providers that have one).
    pub revocation_url: Option<String>,
    /// Replace the API hosts (host patterns, `https://*.googleapis.com`).
    pub api_hosts: Option<Vec<String>>,
}

/// Why provider settings cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The settings name a provider the platform does not know.
    #[error("unknown OAuth provider `{0}`; known providers: {1}")]
    Unknown(String, String),
    /// A URL setting is not an absolute http(s) URL.
    #[error("oauth.{0}.{1} `{2}` is not an absolute http(s) URL")]
    BadUrl(String, &'static str, String),
    /// A revocation URL was given for a provider without revocation.
    #[error("oauth.{0}.revocation_url: this provider offers no revocation endpoint")]
    NoRevocation(String),
    /// An API host pattern is malformed.
    #[error("oauth.{0}.api_hosts: {1}")]
    BadHost(String, workway_registry::hosts::HostPatternError),
}

fn patterns(list: &[&str]) -> Vec<HostPattern> {
    list.iter().filter_map(|p| p.parse().ok()).collect()
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn builtin() -> Vec<Provider> {
    vec![
        Provider {
            name: "google".into(),
            authorization_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            api_hosts: patterns(&["https://*.googleapis.com"]),
            identity_scopes: strings(&["openid", "email"]),
            scope_separator: " ",
            authorize_params: vec![
                ("access_type".into(), "offline".into()),
                ("prompt".into(), "consent".into()),
            ],
            client_auth: ClientAuth::Body,
            body_format: BodyFormat::Form,
            account: AccountField::IdTokenEmail,
            revocation: Some((
                Revocation::TokenForm,
                "https://oauth2.googleapis.com/revoke".into(),
            )),
            client_id: None,
            client_secret: None,
        },
        Provider {
            name: "notion".into(),
            authorization_url: "https://api.notion.com/v1/oauth/authorize".into(),
            token_url: "https://api.notion.com/v1/oauth/token".into(),
            api_hosts: patterns(&["https://api.notion.com"]),
            identity_scopes: Vec::new(),
            scope_separator: " ",
            authorize_params: vec![("owner".into(), "user".into())],
            client_auth: ClientAuth::Basic,
            body_format: BodyFormat::Json,
            account: AccountField::Pointer("/workspace_name"),
            revocation: None,
            client_id: None,
            client_secret: None,
        },
        Provider {
            name: "slack".into(),
            authorization_url: "https://slack.com/oauth/v2/authorize".into(),
            token_url: "https://slack.com/api/oauth.v2.access".into(),
            api_hosts: patterns(&["https://slack.com"]),
            identity_scopes: Vec::new(),
            scope_separator: ",",
            authorize_params: Vec::new(),
            client_auth: ClientAuth::Body,
            body_format: BodyFormat::Form,
            account: AccountField::Pointer("/team/name"),
            revocation: Some((
                Revocation::Bearer,
                "https://slack.com/api/auth.revoke".into(),
            )),
            client_id: None,
            client_secret: None,
        },
        Provider {
            name: "stripe".into(),
            authorization_url: "https://connect.stripe.com/oauth/authorize".into(),
            token_url: "https://connect.stripe.com/oauth/token".into(),
            api_hosts: patterns(&["https://api.stripe.com", "https://files.stripe.com"]),
            identity_scopes: Vec::new(),
            scope_separator: " ",
            authorize_params: Vec::new(),
            client_auth: ClientAuth::Body,
            body_format: BodyFormat::Form,
            account: AccountField::Pointer("/stripe_user_id"),
            revocation: Some((
                Revocation::StripeDeauthorize,
                "https://connect.stripe.com/oauth/deauthorize".into(),
            )),
            client_id: None,
            client_secret: None,
        },
    ]
}

/// Every provider the platform brokers, by name.
#[derive(Debug, Clone)]
pub struct ProviderRegistry {
    providers: BTreeMap<String, Provider>,
}

impl Default for ProviderRegistry {
    fn default() -> Self {
        Self::builtin()
    }
}

fn check_url(provider: &str, field: &'static str, url: &str) -> Result<String, ProviderError> {
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => {
            Ok(url.to_string())
        }
        _ => Err(ProviderError::BadUrl(provider.into(), field, url.into())),
    }
}

impl ProviderRegistry {
    /// Google, Notion, Slack and Stripe with their real endpoints and no
    /// client credentials.
    pub fn builtin() -> Self {
        ProviderRegistry {
            providers: builtin().into_iter().map(|p| (p.name.clone(), p)).collect(),
        }
    }

    /// Apply operator settings, provider by provider.
    pub fn configure(
        mut self,
        settings: &BTreeMap<String, ProviderSettings>,
    ) -> Result<Self, ProviderError> {
        for (name, s) in settings {
            let known = self.names().join(", ");
            let p = self
                .providers
                .get_mut(name)
                .ok_or_else(|| ProviderError::Unknown(name.clone(), known))?;
            if let Some(id) = &s.client_id {
                p.client_id = Some(id.clone());
            }
            if let Some(secret) = &s.client_secret {
                p.client_secret = Some(Secret::new(secret.clone()));
            }
            if let Some(url) = &s.authorization_url {
                p.authorization_url = check_url(name, "authorization_url", url)?;
            }
            if let Some(url) = &s.token_url {
                p.token_url = check_url(name, "token_url", url)?;
            }
            if let Some(url) = &s.revocation_url {
                let url = check_url(name, "revocation_url", url)?;
                match &mut p.revocation {
                    Some((_, current)) => *current = url,
                    None => return Err(ProviderError::NoRevocation(name.clone())),
                }
            }
            if let Some(hosts) = &s.api_hosts {
                p.api_hosts = hosts
                    .iter()
                    .map(|h| {
                        h.parse()
                            .map_err(|e| ProviderError::BadHost(name.clone(), e))
                    })
                    .collect::<Result<_, _>>()?;
            }
        }
        Ok(self)
    }

    /// The provider called `name`.
    pub fn get(&self, name: &str) -> Option<&Provider> {
        self.providers.get(name)
    }

    /// The providers' names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.providers.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_match_the_registry_s_known_providers() {
        let r = ProviderRegistry::builtin();
        assert_eq!(r.names(), workway_registry::manifest::KNOWN_PROVIDERS);
        let google = r.get("google").expect("google");
        assert!(google.api_hosts[0].matches("https", "gmail.googleapis.com", 443));
        assert!(!google.api_hosts[0].matches("https", "slack.com", 443));
        assert_eq!(
            r.get("slack").expect("slack").api_hosts[0].to_string(),
            "https://slack.com"
        );
    }

    #[test]
    fn settings_override_and_are_checked() {
        let mut settings = BTreeMap::new();
        settings.insert(
            "slack".to_string(),
            ProviderSettings {
                client_id: Some("id".into()),
                client_secret: Some("shh".into()),
                token_url: Some("http://127.0.0.1:9/token".into()),
                ..Default::default()
            },
        );
        let r = ProviderRegistry::builtin()
            .configure(&settings)
            .expect("valid");
        let slack = r.get("slack").expect("slack");
        assert_eq!(slack.token_url, "http://127.0.0.1:9/token");
        assert_eq!(slack.client_id.as_deref(), Some("id"));
        assert!(!format!("{slack:?}").contains("shh"));

        settings.insert("gitlab".into(), ProviderSettings::default());
        let err = ProviderRegistry::builtin()
            .configure(&settings)
            .unwrap_err();
        assert!(err.to_string().contains("known providers: google"), "{err}");
        let mut bad = BTreeMap::new();
        bad.insert(
            "google".to_string(),
            ProviderSettings {
                token_url: Some("oauth2.googleapis.com/token".into()),
                ..Default::default()
            },
        );
        assert!(matches!(
            ProviderRegistry::builtin().configure(&bad),
            Err(ProviderError::BadUrl(..))
        ));
    }
}
