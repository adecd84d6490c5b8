//! The token-endpoint wire formats of the real providers: how each one takes
//! client credentials and parameters, and the exact JSON shapes it answers.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::request::RecordedRequest;
use crate::response::MockResponse;

/// Which provider's OAuth 2.0 dialect a [`MockOAuthProvider`](crate::MockOAuthProvider) speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// `https://oauth2.googleapis.com/token`: form body, `client_secret_post`.
    Google,
    /// `https://slack.com/api/oauth.v2.access`: form body, always HTTP 200.
    Slack,
    /// `https://api.notion.com/v1/oauth/token`: JSON body, HTTP Basic only.
    Notion,
    /// `https://connect.stripe.com/oauth/token`: form body with `client_secret`.
    Stripe,
}

/// Parameters and client credentials of one token request.
pub(crate) struct TokenParams {
    pub params: Map<String, Value>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl TokenParams {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(Value::as_str)
    }
}

/// A token-endpoint failure, rendered per flavour.
#[derive(Debug)]
pub(crate) struct TokenError {
    pub status: u16,
    pub error: String,
    pub slack_error: &'static str,
    pub description: String,
}

impl TokenError {
    pub fn invalid_client(slack_error: &'static str, description: impl Into<String>) -> Self {
        Self::new(401, "invalid_client", slack_error, description)
    }
    pub fn invalid_request(slack_error: &'static str, description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", slack_error, description)
    }
    pub fn invalid_grant(slack_error: &'static str, description: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", slack_error, description)
    }
    pub fn unsupported_grant_type(grant_type: &str) -> Self {
        let description = format!("Invalid grant_type: {grant_type}");
        Self::new(
            400,
            "unsupported_grant_type",
            "invalid_grant_type",
            description,
        )
    }
    /// A failure injected with `fail_refresh_with`.
    pub fn injected(error: &str) -> Self {
        let status = match error {
            "invalid_client" => 401,
            "server_error" => 500,
            "temporarily_unavailable" => 503,
            _ => 400,
        };
        let mut err = Self::new(status, error, "", "Injected failure.");
        err.error = error.to_owned();
        err
    }
    fn new(
        status: u16,
        error: &str,
        slack_error: &'static str,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error: error.to_owned(),
            slack_error,
            description: description.into(),
        }
    }
}

/// What a successful token request hands out.
pub(crate) struct Issued {
    pub grant_id: u64,
    pub access_token: String,
    /// `None` when this flavour omits it (Google on refresh).
    pub refresh_token: Option<String>,
    pub expires_in: Option<u64>,
    pub scope: String,
    pub client_id: String,
    pub email: String,
}

impl Flavor {
    /// The provider's name as Workway's registry spells it (`google`, ...).
    pub fn provider_name(self) -> &'static str {
        match self {
            Flavor::Google => "google",
            Flavor::Slack => "slack",
            Flavor::Notion => "notion",
            Flavor::Stripe => "stripe",
        }
    }

    pub(crate) fn access_prefix(self) -> &'static str {
        match self {
            Flavor::Google => "ya29.",
            Flavor::Slack => "xoxb-",
            Flavor::Notion => "ntn_",
            Flavor::Stripe => "sk_test_",
        }
    }

    pub(crate) fn refresh_prefix(self) -> &'static str {
        match self {
            Flavor::Google => "1//",
            Flavor::Slack => "xoxe-1-",
            Flavor::Notion => "nrt_",
            Flavor::Stripe => "rt_",
        }
    }

    /// Whether a refresh issues a new refresh token and retires the old one.
    pub fn rotates_refresh_tokens(self) -> bool {
        matches!(self, Flavor::Slack | Flavor::Notion)
    }

    /// Access-token lifetime the provider reports by default, if any.
    pub(crate) fn default_access_ttl(self) -> Option<u64> {
        match self {
            Flavor::Google => Some(3599),
            Flavor::Slack => Some(43200),
            Flavor::Notion | Flavor::Stripe => None,
        }
    }

    pub(crate) fn reports_expiry(self) -> bool {
        matches!(self, Flavor::Google | Flavor::Slack)
    }

    pub(crate) fn default_scope(self) -> &'static str {
        match self {
            Flavor::Google => "openid https://www.googleapis.com/auth/userinfo.email",
            Flavor::Slack => "chat:write,channels:read",
            Flavor::Notion => "",
            Flavor::Stripe => "read_write",
        }
    }

    /// Slack does not require `response_type=code` on its authorize URL.
    pub(crate) fn requires_response_type(self) -> bool {
        !matches!(self, Flavor::Slack)
    }

    /// Whether the token request must repeat `redirect_uri` (otherwise it is
    /// only checked when present).
    pub(crate) fn requires_redirect_uri(self) -> bool {
        matches!(self, Flavor::Google | Flavor::Notion)
    }

    pub(crate) fn authorization_code(self, tag: u64, n: u64) -> String {
        match self {
            Flavor::Google => format!("4/0Mock{tag}-code-{n}"),
            Flavor::Slack => format!("{tag}.{n}.mockcode"),
            Flavor::Notion => uuidish(tag, n),
            Flavor::Stripe => format!("ac_Mock{tag}x{n}"),
        }
    }

    /// Reads credentials and parameters the way this provider does.
    pub(crate) fn parse_token_request(
        self,
        req: &RecordedRequest,
    ) -> Result<TokenParams, TokenError> {
        let basic = req.basic_auth();
        if self == Flavor::Notion {
            let is_json = req
                .header("content-type")
                .is_some_and(|ct| ct.to_ascii_lowercase().starts_with("application/json"));
            let params = match req.json() {
                Some(Value::Object(map)) if is_json => map,
                _ => {
                    return Err(TokenError::invalid_request(
                        "",
                        "Body must be a JSON object (Content-Type: application/json).",
                    ));
                }
            };
            let (client_id, client_secret) = basic.unzip();
            return Ok(TokenParams {
                params,
                client_id,
                client_secret,
            });
        }
        let is_form = req.header("content-type").is_some_and(|ct| {
            ct.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
        if !is_form {
            return Err(TokenError::invalid_request(
                "invalid_form_data",
                "Body must be application/x-www-form-urlencoded.",
            ));
        }
        let mut params = Map::new();
        for (k, v) in req.form() {
            params.entry(k).or_insert(Value::String(v));
        }
        let body_id = params
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let body_secret = params
            .get("client_secret")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let (client_id, client_secret) = match (body_secret, basic) {
            (Some(secret), _) => (body_id, Some(secret)),
            // Stripe's Basic form is `sk_...:` (the secret key as user name).
            (None, Some((user, _))) if self == Flavor::Stripe => (body_id, Some(user)),
            (None, Some((id, secret))) => (Some(id), Some(secret)),
            (None, None) => (body_id, None),
        };
        Ok(TokenParams {
            params,
            client_id,
            client_secret,
        })
    }

    pub(crate) fn error_response(self, err: &TokenError) -> MockResponse {
        if self == Flavor::Slack {
            let error = if err.slack_error.is_empty() {
                err.error.as_str()
            } else {
                err.slack_error
            };
            return MockResponse::json(200, json!({ "ok": false, "error": error }));
        }
        if err.status == 401 && self == Flavor::Google {
            return MockResponse::json(
                401,
                json!({ "error": "invalid_client", "error_description": "Unauthorized" }),
            );
        }
        MockResponse::json(
            err.status,
            json!({ "error": err.error, "error_description": err.description }),
        )
    }

    pub(crate) fn success_response(self, issued: &Issued) -> MockResponse {
        let body = match self {
            Flavor::Google => google_body(issued),
            Flavor::Slack => slack_body(issued),
            Flavor::Notion => notion_body(issued),
            Flavor::Stripe => json!({
                "access_token": issued.access_token,
                "livemode": false,
                "refresh_token": issued.refresh_token,
                "token_type": "bearer",
                "stripe_publishable_key": format!("pk_test_Mock{}", issued.grant_id),
                "stripe_user_id": format!("acct_1Mock{:011}", issued.grant_id),
                "scope": issued.scope,
            }),
        };
        MockResponse::json(200, body).header(
            "cache-control",
            "no-cache, no-store, max-age=0, must-revalidate",
        )
    }
}

fn google_body(issued: &Issued) -> Value {
    let mut body = json!({
        "access_token": issued.access_token,
        "expires_in": issued.expires_in,
        "token_type": "Bearer",
        "scope": issued.scope,
        "id_token": id_token(issued),
    });
    if let Some(refresh) = &issued.refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    body
}

fn slack_body(issued: &Issued) -> Value {
    json!({
        "ok": true,
        "access_token": issued.access_token,
        "token_type": "bot",
        "scope": issued.scope,
        "bot_user_id": "U0MOCKBOT1",
        "app_id": "A0MOCKAPP1",
        "team": { "id": "T0MOCKTEAM", "name": "Acme" },
        "enterprise": null,
        "is_enterprise_install": false,
        "authed_user": { "id": format!("U0MOCKUSR{}", issued.grant_id) },
        "refresh_token": issued.refresh_token,
        "expires_in": issued.expires_in,
    })
}

fn notion_body(issued: &Issued) -> Value {
    json!({
        "access_token": issued.access_token,
        "token_type": "bearer",
        "refresh_token": issued.refresh_token,
        "bot_id": uuidish(1, issued.grant_id),
        "workspace_id": uuidish(2, 1),
        "workspace_name": "Acme HQ",
        "workspace_icon": null,
        "owner": {
            "type": "user",
            "user": {
                "object": "user",
                "id": uuidish(3, issued.grant_id),
                "name": "Mock User",
                "avatar_url": null,
                "type": "person",
                "person": { "email": issued.email },
            },
        },
        "duplicated_template_id": null,
        "request_id": uuidish(4, issued.grant_id),
    })
}

/// `base64url(header).base64url(claims).signature`: looks like Google's JWT,
/// but is not signed by anything.
fn id_token(issued: &Issued) -> String {
    let header = json!({ "alg": "RS256", "kid": "mock-key", "typ": "JWT" });
    let claims = json!({
        "iss": "https://accounts.google.com",
        "aud": issued.client_id,
        "sub": format!("1{:020}", issued.grant_id),
        "email": issued.email,
        "email_verified": true,
        "iat": 1_700_000_000u64,
        "exp": 1_700_003_599u64,
    });
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.{}",
        enc(&header),
        enc(&claims),
        URL_SAFE_NO_PAD.encode("mock-signature")
    )
}

fn uuidish(a: u64, b: u64) -> String {
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        a & 0xffff_ffff,
        b & 0xffff_ffff_ffff
    )
}
