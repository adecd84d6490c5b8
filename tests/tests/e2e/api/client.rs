//! A small HTTP/1.1 client for the API tests: one request per connection
//! over real TCP to the server on 127.0.0.1, the answer's status, headers
//! and JSON; and helpers that make an account, sign it in and connect its
//! Slack account.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use workway_engine::platform::Platform;
use workway_fixtures::{USER, first_party_scopes};
use workway_vault::oauth::token::TokenSet;

use crate::workflows::Deployment;

/// The API of one platform, served on a free local port.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    /// Where it listens.
    pub address: SocketAddr,
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'a> {
    /// No credential.
    None,
    /// `Authorization: Bearer <token>`.
    Token(&'a str),
    /// The session cookie, with the CSRF header when given.
    Session {
        /// The session id (the cookie's value).
        id: &'a str,
        /// The CSRF token, if the request sends it.
        csrf: Option<&'a str>,
    },
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Every header, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Null` when empty or not JSON).
    pub json: Value,
    /// The body as text (an HTML page's source).
    pub body: String,
}

impl Response {
    /// The first header called `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }
}

impl Api {
    /// Serve `platform`'s API until the test ends.
    pub async fn start(platform: Arc<Platform>) -> Api {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let address = listener.local_addr().expect("bound");
        tokio::spawn(workway_server::serve(
            listener,
            platform,
            std::future::pending(),
        ));
        Api { address }
    }

    /// Send `method path` with `auth`, extra `headers` and a raw `body`.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\nconnection: close\r\n",
            self.address,
            body.len()
        );
        match auth {
            Auth::None => {}
            Auth::Token(token) => request.push_str(&format!("authorization: Bearer {token}\r\n")),
            Auth::Session { id, csrf } => {
                request.push_str(&format!("cookie: theme=dark; workway_session={id}\r\n"));
                if let Some(csrf) = csrf {
                    request.push_str(&format!("x-csrf-token: {csrf}\r\n"));
                }
            }
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut stream = tokio::net::TcpStream::connect(self.address)
            .await
            .expect("connects");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("request sent");
        stream.write_all(body).await.expect("body sent");
        let mut answer = Vec::new();
        stream
            .read_to_end(&mut answer)
            .await
            .expect("response read");
        let answer = String::from_utf8_lossy(&answer);
        let (head, body) = answer.split_once("\r\n\r\n").expect("a response head");
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Response {
            status,
            headers,
            json: serde_json::from_str(body).unwrap_or(Value::Null),
            body: body.to_string(),
        }
    }

    /// Send `method path` with `auth` and an optional JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        body: Option<&Value>,
    ) -> Response {
        match body {
            Some(body) => {
                let text = serde_json::to_vec(body).expect("JSON");
                self.raw(
                    method,
                    path,
                    auth,
                    &[("content-type", "application/json")],
                    &text,
                )
                .await
            }
            None => self.raw(method, path, auth, &[], b"").await,
        }
    }

    /// GET with `auth`.
    pub async fn get(&self, path: &str, auth: Auth<'_>) -> Response {
        self.call("GET", path, auth, None).await
    }

    /// POST a JSON body with `auth`.
    pub async fn post(&self, path: &str, auth: Auth<'_>, body: &Value) -> Response {
        self.call("POST", path, auth, Some(body)).await
    }

    /// DELETE with `auth`.
    pub async fn delete(&self, path: &str, auth: Auth<'_>) -> Response {
        self.call("DELETE", path, auth, None).await
    }

    /// The consent summary of installing `integration` (exactly `version`,
    /// or its newest approved one), as `GET /v1/integrations/{name}/consent`
    /// answers it.
    pub async fn consent(
        &self,
        auth: Auth<'_>,
        integration: &str,
        version: Option<&str>,
    ) -> Response {
        let mut path = format!("/v1/integrations/{}/consent", encode(integration));
        if let Some(version) = version {
            path.push_str(&format!("?version={}", encode(version)));
        }
        self.get(&path, auth).await
    }

    /// `POST /v1/installations` with `body`, accepting what the version
    /// it names may do: `accept` is set to the `consent_digest` of its
    /// consent summary (left out when the summary cannot be read, so the
    /// install's own refusal is answered).
    pub async fn install(&self, auth: Auth<'_>, body: &Value) -> Response {
        let integration = body["integration"].as_str().unwrap_or_default();
        let consent = self
            .consent(auth, integration, body["version"].as_str())
            .await;
        let mut body = body.clone();
        if let (200, Some(digest)) = (consent.status, consent.json["consent_digest"].as_str()) {
            body["accept"] = json!(digest);
        }
        self.post("/v1/installations", auth, &body).await
    }
}

/// `text` percent-encoded for a path segment or query value: every byte
/// but ASCII letters, digits, `-`, `.` and `_`.
pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An account made through the API, signed in, with a token.
#[derive(Debug, Clone)]
pub struct Account {
    /// Its id (the owner of its resources).
    pub id: String,
    /// Its login.
    pub email: String,
    /// Its password.
    pub password: String,
    /// A session id.
    pub session: String,
    /// That session's CSRF token.
    pub csrf: String,
    /// A token with the `read` and `run` scopes.
    pub token: String,
}

impl Account {
    /// The session, with its CSRF token.
    pub fn session(&self) -> Auth<'_> {
        Auth::Session {
            id: &self.session,
            csrf: Some(&self.csrf),
        }
    }

    /// The session's cookie alone, as a browser sends it (a page's form
    /// carries the CSRF value in its body).
    pub fn browser(&self) -> Auth<'_> {
        Auth::Session {
            id: &self.session,
            csrf: None,
        }
    }

    /// The token.
    pub fn token(&self) -> Auth<'_> {
        Auth::Token(&self.token)
    }
}

/// The session id a sign-in answer's cookie carries.
pub fn session_cookie(response: &Response) -> String {
    let cookie = response.header("set-cookie").expect("a session cookie");
    cookie
        .split(';')
        .next()
        .and_then(|pair| pair.trim().strip_prefix("workway_session="))
        .expect("the session cookie")
        .to_string()
}

/// Sign in `email` with `password`: the session id and its CSRF token.
pub async fn sign_in(api: &Api, email: &str, password: &str) -> (String, String) {
    let r = api
        .post(
            "/v1/auth/signin",
            Auth::None,
            &json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(r.status, 200, "signed in: {}", r.json);
    let csrf = r.json["csrf_token"]
        .as_str()
        .expect("a CSRF token")
        .to_string();
    (session_cookie(&r), csrf)
}

/// Sign up `name`@example.com, sign in and make a read+run token.
pub async fn account(api: &Api, name: &str) -> Account {
    let email = format!("{name}@example.com");
    let password = format!("{name} has a long password");
    let r = api
        .post(
            "/v1/auth/signup",
            Auth::None,
            &json!({"email": email, "display_name": name, "password": password}),
        )
        .await;
    assert_eq!(r.status, 201, "signed up: {}", r.json);
    let id = r.json["id"].as_str().expect("an id").to_string();
    let (session, csrf) = sign_in(api, &email, &password).await;
    let r = api
        .post(
            "/v1/tokens",
            Auth::Session {
                id: &session,
                csrf: Some(&csrf),
            },
            &json!({"name": "tests", "scopes": ["read", "run"]}),
        )
        .await;
    assert_eq!(r.status, 201, "token made: {}", r.json);
    let token = r.json["token"].as_str().expect("a token").to_string();
    Account {
        id,
        email,
        password,
        session,
        csrf,
        token,
    }
}

/// A deployment on `t` whose API takes 1,000 requests a window per
/// credential (for tests that make many as one account), and its API
/// served on 127.0.0.1.
pub async fn busy_api(t: &workway_store::testing::TestStore) -> (Deployment, Api) {
    let d = Deployment::start_with(t, crate::support::shared_runtime(), |c| {
        c.accounts.api_requests_per_window = 1_000;
    })
    .await;
    let api = Api::start(d.platform.clone()).await;
    (d, api)
}

/// Sign up `name`, give it `roles` (as an operator would), and make an
/// API token with `scopes` in its session.
pub async fn with_roles(
    api: &Api,
    store: &workway_store::Store,
    name: &str,
    roles: &[workway_engine::accounts::Role],
    scopes: &[&str],
) -> (Account, String) {
    let who = account(api, name).await;
    workway_engine::accounts::set_roles(store, &who.id, roles, workway_store::clock::now_ms())
        .await
        .expect("roles set");
    let r = api
        .post(
            "/v1/tokens",
            who.session(),
            &json!({"name": "tests", "scopes": scopes}),
        )
        .await;
    assert_eq!(r.status, 201, "token made: {}", r.json);
    let token = r.json["token"].as_str().expect("a token").to_string();
    (who, token)
}

/// Connect `owner`'s Slack account with the deployment user's Slack token
/// (the mock accepts it, whoever presents it); the connection's id.
pub async fn connect_slack(d: &Deployment, owner: &str) -> String {
    let vault = &d.platform.vault;
    let users = vault
        .find(USER, "slack")
        .await
        .expect("read")
        .expect("the deployment user's Slack connection");
    let token = vault
        .access_token(&users.info.id)
        .await
        .expect("the token opens");
    vault
        .save(
            owner,
            "slack",
            &first_party_scopes("slack"),
            &TokenSet {
                access_token: token,
                refresh_token: None,
                expires_at: None,
                scopes: None,
                account: Some(format!("{owner}'s workspace")),
            },
        )
        .await
        .expect("connected")
        .id
}

/// `evolving` at `version` with `hosts` as a `POST /v1/submissions` body.
pub fn evolving(version: &str, hosts: &[&str]) -> Value {
    let s = crate::registry::evolving(version, hosts);
    json!({"manifest": s.manifest, "component": STANDARD.encode(s.component)})
}

/// Submit `body` as `auth`: the new submission's id.
pub async fn submit(api: &Api, auth: Auth<'_>, body: &Value) -> String {
    let r = api.post("/v1/submissions", auth, body).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["id"].as_str().expect("an id").to_string()
}

/// Approve submission `id` as `auth` with the fingerprint it is shown.
pub async fn approve(api: &Api, auth: Auth<'_>, id: &str) -> Response {
    let shown = api.get(&format!("/v1/submissions/{id}"), auth).await;
    assert_eq!(shown.status, 200, "{}", shown.json);
    let fingerprint = shown.json["fingerprint"].as_str().expect("a fingerprint");
    api.post(
        &format!("/v1/reviews/{id}/approve"),
        auth,
        &json!({"fingerprint": fingerprint}),
    )
    .await
}
