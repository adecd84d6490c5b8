//! The token endpoint: exchanging an authorization code, and refreshing a
//! grant, in each provider's own dialect (form or JSON body, credentials in
//! the body or as HTTP Basic, Slack's `ok: false` answers).

use std::time::Duration;
use workway_store::clock::now_ms;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::oauth::providers::{AccountField, BodyFormat, ClientAuth, Provider, Revocation};
use workway_capabilities::OutboundRequest;
use workway_capabilities::secret::Secret;
use workway_egress::Egress;

/// How long a token request may take.
const TOKEN_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest token response read.
const MAX_TOKEN_RESPONSE: usize = 256 << 10;

/// What a token endpoint granted.
#[derive(Debug, Clone)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// The refresh token, when the provider issued (or rotated) one.
    pub refresh_token: Option<Secret>,
    /// When the access token expires (Unix ms), when the provider said.
    pub expires_at: Option<i64>,
    /// The scopes granted, when the provider said.
    pub scopes: Option<Vec<String>>,
    /// The account's display name, when the response carries it.
    pub account: Option<String>,
}

/// Why the token endpoint gave no tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The provider refused the code or the grant (`invalid_grant`, a
    /// revoked token, a bad client): retrying will not help; the user must
    /// authorise again.
    #[error("{provider} refused the grant: {error}{}", description.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// The provider.
        provider: String,
        /// The OAuth error code.
        error: String,
        /// The provider's description, when given.
        description: Option<String>,
    },
    /// The token endpoint could not be reached or answered with a server
    /// error: worth retrying later.
    #[error("{provider}'s token endpoint is unavailable: {reason}")]
    Unavailable {
        /// The provider.
        provider: String,
        /// What went wrong.
        reason: String,
    },
    /// The platform has no client credentials for the provider.
    #[error(
        "the platform has no OAuth client for `{0}`: set oauth.{0}.client_id and client_secret in the host configuration"
    )]
    NotConfigured(String),
}

/// OAuth error codes that say "try again later" rather than "this grant is
/// dead": RFC 6749's, and Slack's own (which it sends with HTTP 200).
const TRANSIENT_ERRORS: &[&str] = &[
    "server_error",
    "temporarily_unavailable",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "ratelimited",
];

fn form_encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The platform's client id and secret at `provider`.
fn client_credentials(provider: &Provider) -> Result<(&str, &Secret), TokenError> {
    match (
        provider.client_id.as_deref(),
        provider.client_secret.as_ref(),
    ) {
        (Some(id), Some(secret)) => Ok((id, secret)),
        _ => Err(TokenError::NotConfigured(provider.name.clone())),
    }
}

/// The OAuth error of a provider's JSON answer, if it is one (an `error`
/// field, or Slack's `ok: false`): the code and the description, excerpted.
fn oauth_error(json: Option<&Value>) -> Option<(String, Option<String>)> {
    let j = json?;
    let failed = j.get("ok") == Some(&Value::Bool(false)) || j.get("error").is_some();
    failed.then(|| {
        let code = match j.get("error") {
            Some(Value::String(s)) => excerpt(s),
            Some(other) => excerpt(&other.to_string()),
            None => "unknown_error".into(),
        };
        let description = j
            .get("error_description")
            .and_then(Value::as_str)
            .map(excerpt);
        (code, description)
    })
}

/// Build the token request for `grant` (its parameters, without client
/// credentials) in the provider's dialect.
fn request(provider: &Provider, grant: &[(&str, &str)]) -> Result<OutboundRequest, TokenError> {
    let (client_id, secret) = client_credentials(provider)?;
    let mut params: Vec<(&str, &str)> = grant.to_vec();
    let mut headers = vec![("accept".to_string(), "application/json".to_string())];
    match provider.client_auth {
        ClientAuth::Body => {
            params.push(("client_id", client_id));
            params.push(("client_secret", secret.expose()));
        }
        ClientAuth::Basic => {
            let basic = STANDARD.encode(format!("{client_id}:{}", secret.expose()));
            headers.push(("authorization".into(), format!("Basic {basic}")));
        }
    }
    let body = match provider.body_format {
        BodyFormat::Form => {
            headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            form_encode(&params).into_bytes()
        }
        BodyFormat::Json => {
            headers.push(("content-type".into(), "application/json".into()));
            let object: serde_json::Map<String, Value> = params
                .iter()
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .collect();
            Value::Object(object).to_string().into_bytes()
        }
    };
    Ok(OutboundRequest {
        method: "POST".into(),
        url: provider.token_url.clone(),
        headers,
        body,
        timeout: TOKEN_TIMEOUT,
        max_response_bytes: MAX_TOKEN_RESPONSE,
    })
}

/// A short, token-free excerpt of a provider's error text.
fn excerpt(text: &str) -> String {
    let text: String = text.chars().take(200).collect();
    text.replace(['\n', '\r'], " ")
}

fn account_of(provider: &Provider, body: &Value) -> Option<String> {
    match &provider.account {
        AccountField::Pointer(pointer) => body.pointer(pointer).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }),
        AccountField::IdTokenEmail => {
            // The id_token came straight from the provider over TLS, so its
            // claims can be read without checking the signature (OpenID
            // Connect Core 3.1.3.7).
            let token = body.get("id_token")?.as_str()?;
            let claims = token.split('.').nth(1)?;
            let claims: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
            claims.get("email")?.as_str().map(str::to_string)
        }
    }
}

/// The statuses a token endpoint sends a documented OAuth error with:
/// RFC 6749 5.2's 400 and 401, and 200 for Slack's `ok: false` answers.
/// Only an OAuth error under one of these can say a grant is dead.
const OAUTH_ERROR_STATUSES: &[u16] = &[200, 400, 401];

/// Parse a token endpoint's answer.
///
/// A grant is declared dead ([`TokenError::Rejected`]) only by the
/// provider's documented refusal: an OAuth error body (`invalid_grant`,
/// Slack's `ok: false` with `invalid_refresh_token`, ...) with a status
/// the provider sends those with. Anything else that is not tokens (a
/// 403, 404 or 408 page from a proxy or a firewall in between, a body that
/// is not the provider's JSON) says nothing about the grant and is
/// [`TokenError::Unavailable`]: the refresh is tried again later instead
/// of sending the user to reconnect.
fn parse(provider: &Provider, status: u16, body: &[u8]) -> Result<TokenSet, TokenError> {
    let unavailable = |reason: String| TokenError::Unavailable {
        provider: provider.name.clone(),
        reason,
    };
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let error = oauth_error(json.as_ref());
    if status >= 500 || status == 429 {
        return Err(unavailable(format!("HTTP {status}")));
    }
    if let Some((error, description)) = error {
        if TRANSIENT_ERRORS.contains(&error.as_str()) {
            return Err(unavailable(error));
        }
        if !OAUTH_ERROR_STATUSES.contains(&status) {
            return Err(unavailable(format!(
                "HTTP {status} with OAuth error `{error}`, which is not how the provider refuses a grant"
            )));
        }
        return Err(TokenError::Rejected {
            provider: provider.name.clone(),
            error,
            description,
        });
    }
    if !(200..300).contains(&status) {
        let kind = if json.is_some() {
            "without an OAuth error"
        } else {
            "with a body that is not the provider's JSON (a proxy or firewall answering?)"
        };
        return Err(unavailable(format!("HTTP {status} {kind}")));
    }
    let json = json.ok_or_else(|| unavailable("the token response is not JSON".into()))?;
    let access_token = json
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unavailable("the token response has no access_token".into()))?;
    let refresh_token = json
        .get("refresh_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    let expires_at = json
        .get("expires_in")
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
        .filter(|s| *s > 0)
        .map(|secs| now_ms().saturating_add(secs.saturating_mul(1000)));
    let scopes = json.get("scope").and_then(Value::as_str).map(|s| {
        s.split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    });
    Ok(TokenSet {
        access_token: Secret::new(access_token),
        refresh_token,
        expires_at,
        scopes,
        account: account_of(provider, &json),
    })
}

async fn call(
    egress: &Egress,
    provider: &Provider,
    grant: &[(&str, &str)],
) -> Result<TokenSet, TokenError> {
    let request = request(provider, grant)?;
    let response = egress
        .platform_send(request, MAX_TOKEN_RESPONSE)
        .await
        .map_err(|e| TokenError::Unavailable {
            provider: provider.name.clone(),
            reason: e.to_string(),
        })?;
    parse(provider, response.status, &response.body)
}

/// Exchange an authorization code (with its PKCE verifier) for tokens.
pub async fn exchange_code(
    egress: &Egress,
    provider: &Provider,
    code: &str,
    redirect_uri: &str,
    code_verifier: &Secret,
) -> Result<TokenSet, TokenError> {
    call(
        egress,
        provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", code_verifier.expose()),
        ],
    )
    .await
}

/// Trade a refresh token for a new access token.
pub async fn refresh(
    egress: &Egress,
    provider: &Provider,
    refresh_token: &Secret,
) -> Result<TokenSet, TokenError> {
    call(
        egress,
        provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ],
    )
    .await
}

/// OAuth error codes that mean "this token is already dead": revoking it
/// again has nothing left to do.
const ALREADY_REVOKED: &[&str] = &[
    "invalid_token",
    "invalid_auth",
    "token_revoked",
    "account_inactive",
    "not_authed",
];

/// What the provider said to a revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// The grant is revoked (or was already dead).
    Yes,
    /// The provider has no revocation endpoint.
    NotSupported,
}

/// Revoke a grant at the provider: the refresh token (or the access token)
/// for RFC 7009 providers, the access token as bearer for Slack, the
/// connected account for Stripe.
pub async fn revoke(
    egress: &Egress,
    provider: &Provider,
    access_token: &Secret,
    refresh_token: Option<&Secret>,
    account: Option<&str>,
) -> Result<Revoked, TokenError> {
    let Some((kind, url)) = &provider.revocation else {
        return Ok(Revoked::NotSupported);
    };
    let form = (
        "content-type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    );
    let (headers, body) = match kind {
        Revocation::TokenForm => {
            let token = refresh_token.unwrap_or(access_token);
            (vec![form], form_encode(&[("token", token.expose())]))
        }
        Revocation::Bearer => (
            vec![(
                "authorization".to_string(),
                format!("Bearer {}", access_token.expose()),
            )],
            String::new(),
        ),
        Revocation::StripeDeauthorize => {
            let (client_id, secret) = client_credentials(provider)?;
            let account = account.unwrap_or_default();
            (
                vec![
                    form,
                    (
                        "authorization".into(),
                        format!("Bearer {}", secret.expose()),
                    ),
                ],
                form_encode(&[("client_id", client_id), ("stripe_user_id", account)]),
            )
        }
    };
    let request = OutboundRequest {
        method: "POST".into(),
        url: url.clone(),
        headers,
        body: body.into_bytes(),
        timeout: TOKEN_TIMEOUT,
        max_response_bytes: MAX_TOKEN_RESPONSE,
    };
    let response = egress
        .platform_send(request, MAX_TOKEN_RESPONSE)
        .await
        .map_err(|e| TokenError::Unavailable {
            provider: provider.name.clone(),
            reason: e.to_string(),
        })?;
    let json: Option<Value> = serde_json::from_slice(&response.body).ok();
    let error = oauth_error(json.as_ref()).map(|(code, _)| code);
    match (response.status, error) {
        (_, Some(e)) if ALREADY_REVOKED.contains(&e.as_str()) => Ok(Revoked::Yes),
        (status, _) if status >= 500 || status == 429 => Err(TokenError::Unavailable {
            provider: provider.name.clone(),
            reason: format!("HTTP {status}"),
        }),
        (_, Some(error)) => Err(TokenError::Rejected {
            provider: provider.name.clone(),
            error,
            description: None,
        }),
        (200..=299, None) => Ok(Revoked::Yes),
        (status, None) => Err(TokenError::Rejected {
            provider: provider.name.clone(),
            error: format!("HTTP {status}"),
            description: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::providers::ProviderRegistry;

    fn provider(name: &str) -> Provider {
        let mut p = ProviderRegistry::builtin()
            .get(name)
            .cloned()
            .expect("known");
        p.client_id = Some("cid".into());
        p.client_secret = Some(Secret::new("csecret"));
        p
    }

    #[test]
    fn requests_follow_each_provider_s_dialect() {
        let google =
            request(&provider("google"), &[("grant_type", "refresh_token")]).expect("built");
        let body = String::from_utf8(google.body).expect("utf-8");
        assert!(
            body.contains("client_secret=csecret") && body.contains("grant_type=refresh_token")
        );
        assert!(!google.headers.iter().any(|(k, _)| k == "authorization"));

        let notion =
            request(&provider("notion"), &[("grant_type", "refresh_token")]).expect("built");
        let json: Value = serde_json::from_slice(&notion.body).expect("json");
        assert_eq!(json, serde_json::json!({"grant_type": "refresh_token"}));
        let auth = notion
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .expect("basic");
        assert_eq!(auth.1, format!("Basic {}", STANDARD.encode("cid:csecret")));

        let mut bare = provider("slack");
        bare.client_secret = None;
        assert!(matches!(request(&bare, &[]), Err(TokenError::NotConfigured(p)) if p == "slack"));
    }

    #[test]
    fn an_html_403_404_or_408_from_a_proxy_does_not_mark_the_grant_dead() {
        let html = b"<html><body><h1>403 Forbidden</h1>Request blocked.</body></html>";
        for name in ["google", "slack", "notion", "stripe"] {
            for status in [403, 404, 408, 401, 400] {
                let outcome = parse(&provider(name), status, html);
                assert!(
                    matches!(&outcome, Err(TokenError::Unavailable { reason, .. }) if reason.contains(&format!("HTTP {status}"))),
                    "{name} {status}: {outcome:?}"
                );
            }
            // An OAuth error under a status no provider refuses grants with.
            let odd = parse(&provider(name), 403, br#"{"error":"invalid_grant"}"#);
            assert!(
                matches!(odd, Err(TokenError::Unavailable { .. })),
                "{name}: {odd:?}"
            );
        }
        // The documented refusals still kill the grant.
        for (status, body) in [
            (400, &br#"{"error":"invalid_grant"}"#[..]),
            (401, &br#"{"error":"invalid_client"}"#[..]),
        ] {
            assert!(matches!(
                parse(&provider("google"), status, body),
                Err(TokenError::Rejected { .. })
            ));
        }
        assert!(matches!(
            parse(
                &provider("slack"),
                200,
                br#"{"ok":false,"error":"invalid_refresh_token"}"#
            ),
            Err(TokenError::Rejected { .. })
        ));
    }

    #[test]
    fn responses_are_parsed_per_provider() {
        let slack = parse(
            &provider("slack"),
            200,
            br#"{"ok":true,"access_token":"xoxb-1","token_type":"bot","scope":"chat:write,users:read","team":{"id":"T1","name":"Acme"},"refresh_token":"xoxe-1","expires_in":43200}"#,
        )
        .expect("ok");
        assert_eq!(slack.access_token.expose(), "xoxb-1");
        assert_eq!(slack.account.as_deref(), Some("Acme"));
        assert_eq!(
            slack.scopes,
            Some(vec!["chat:write".to_string(), "users:read".to_string()])
        );
        assert!(slack.expires_at.is_some_and(|t| t > now_ms()));

        let refused = parse(
            &provider("slack"),
            200,
            br#"{"ok":false,"error":"invalid_refresh_token"}"#,
        );
        assert!(
            matches!(refused, Err(TokenError::Rejected { error, .. }) if error == "invalid_refresh_token")
        );

        let claims = URL_SAFE_NO_PAD.encode(br#"{"email":"ada@example.com"}"#);
        let google = parse(
            &provider("google"),
            200,
            format!(
                r#"{{"access_token":"ya29.x","expires_in":3599,"id_token":"e30.{claims}.sig"}}"#
            )
            .as_bytes(),
        )
        .expect("ok");
        assert_eq!(google.account.as_deref(), Some("ada@example.com"));
        assert!(google.refresh_token.is_none());

        let notion = parse(
            &provider("notion"),
            200,
            br#"{"access_token":"ntn_1","workspace_name":"HQ"}"#,
        )
        .expect("ok");
        assert_eq!(notion.account.as_deref(), Some("HQ"));
        assert_eq!(notion.expires_at, None);

        let expired = parse(&provider("google"), 400, br#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#);
        assert_eq!(
            expired.unwrap_err().to_string(),
            "google refused the grant: invalid_grant (Token has been expired or revoked.)"
        );
        assert!(matches!(
            parse(&provider("stripe"), 503, b"busy"),
            Err(TokenError::Unavailable { .. })
        ));
        let slack_down = parse(
            &provider("slack"),
            200,
            br#"{"ok":false,"error":"service_unavailable"}"#,
        );
        assert!(matches!(slack_down, Err(TokenError::Unavailable { .. })));
        assert!(matches!(
            parse(&provider("stripe"), 200, b"{}"),
            Err(TokenError::Unavailable { .. })
        ));
    }
}
