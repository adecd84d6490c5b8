//! Authorization and code exchange against every flavour.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::client::{Reply, basic, get, post_form, post_json};
use crate::{Flavor, MockOAuthProvider};

pub const CLIENT_ID: &str = "client-123";
pub const CLIENT_SECRET: &str = "s3cret";
pub const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
pub const FLAVORS: [Flavor; 4] = [
    Flavor::Google,
    Flavor::Slack,
    Flavor::Notion,
    Flavor::Stripe,
];
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

pub async fn provider(flavor: Flavor) -> MockOAuthProvider {
    MockOAuthProvider::start(flavor, CLIENT_ID, CLIENT_SECRET).await
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An authorization URL as the host would build it for `flavor`.
fn auth_url(flavor: Flavor, pkce: bool) -> String {
    let mut url = url::Url::parse("https://provider.example/oauth/authorize").unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", CLIENT_ID);
        if flavor != Flavor::Slack {
            q.append_pair("response_type", "code");
        }
        q.append_pair("redirect_uri", REDIRECT);
        q.append_pair("scope", flavor.default_scope());
        q.append_pair("state", "st-42");
        if pkce {
            q.append_pair("code_challenge", &challenge(VERIFIER));
            q.append_pair("code_challenge_method", "S256");
        }
    }
    url.into()
}

/// A token request authenticated in `p`'s style with `secret`.
pub async fn token_request_with(
    p: &MockOAuthProvider,
    params: &[(&str, &str)],
    secret: &str,
) -> Reply {
    let url = p.token_url();
    match p.flavor() {
        Flavor::Notion => {
            let body: serde_json::Map<String, Value> = params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(v)))
                .collect();
            post_json(&url, &Value::Object(body), Some(&basic(CLIENT_ID, secret))).await
        }
        Flavor::Stripe => {
            let mut form = vec![("client_secret", secret)];
            form.extend_from_slice(params);
            post_form(&url, &form, None).await
        }
        Flavor::Google | Flavor::Slack => {
            let mut form = vec![("client_id", CLIENT_ID), ("client_secret", secret)];
            form.extend_from_slice(params);
            post_form(&url, &form, None).await
        }
    }
}

pub async fn token_request(p: &MockOAuthProvider, params: &[(&str, &str)]) -> Reply {
    token_request_with(p, params, CLIENT_SECRET).await
}

async fn exchange(p: &MockOAuthProvider, code: &str, verifier: &str) -> Reply {
    let params = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    token_request(p, &params).await
}

/// Asserts `reply` is `flavor`'s error shape with the given error codes.
pub fn assert_rejected(flavor: Flavor, reply: &Reply, status: u16, error: &str, slack_error: &str) {
    let body = reply.json();
    if flavor == Flavor::Slack {
        assert_eq!(reply.status, 200, "{body}");
        assert_eq!(body, json!({ "ok": false, "error": slack_error }));
    } else {
        assert_eq!(reply.status, status, "{flavor:?}: {body}");
        assert_eq!(body["error"], error, "{flavor:?}: {body}");
    }
}

fn assert_success_shape(flavor: Flavor, body: &Value) {
    let access = body["access_token"].as_str().unwrap();
    match flavor {
        Flavor::Google => {
            assert!(access.starts_with("ya29."));
            assert_eq!(body["token_type"], "Bearer");
            assert_eq!(body["expires_in"], 3599);
            assert!(body["refresh_token"].as_str().unwrap().starts_with("1//"));
            let parts: Vec<&str> = body["id_token"].as_str().unwrap().split('.').collect();
            assert_eq!(parts.len(), 3);
            let claims: Value =
                serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(claims["email"], "user@example.com");
            assert!(claims["sub"].is_string());
        }
        Flavor::Slack => {
            assert_eq!(body["ok"], true);
            assert!(access.starts_with("xoxb-"));
            assert_eq!(body["token_type"], "bot");
            assert_eq!(body["team"]["name"], "Acme");
            assert_eq!(body["enterprise"], Value::Null);
            assert_eq!(body["is_enterprise_install"], false);
            assert!(
                body["refresh_token"]
                    .as_str()
                    .unwrap()
                    .starts_with("xoxe-1-")
            );
            assert_eq!(body["expires_in"], 43200);
        }
        Flavor::Notion => {
            assert!(access.starts_with("ntn_"));
            assert_eq!(body["token_type"], "bearer");
            assert!(body["refresh_token"].as_str().unwrap().starts_with("nrt_"));
            assert_eq!(body["workspace_name"], "Acme HQ");
            assert_eq!(body["owner"]["type"], "user");
            assert!(body.get("expires_in").is_none());
        }
        Flavor::Stripe => {
            assert!(access.starts_with("sk_test_"));
            assert_eq!(body["livemode"], false);
            assert_eq!(body["scope"], "read_write");
            assert!(body["refresh_token"].as_str().unwrap().starts_with("rt_"));
            assert!(
                body["stripe_user_id"]
                    .as_str()
                    .unwrap()
                    .starts_with("acct_")
            );
            assert!(
                body["stripe_publishable_key"]
                    .as_str()
                    .unwrap()
                    .starts_with("pk_test_")
            );
        }
    }
}

#[tokio::test]
async fn authorize_and_exchange_with_pkce_every_flavor() {
    for flavor in FLAVORS {
        let p = provider(flavor).await;
        let outcome = p.authorize(&auth_url(flavor, true)).unwrap();
        assert_eq!(outcome.state.as_deref(), Some("st-42"));
        let redirect = url::Url::parse(&outcome.redirect).unwrap();
        assert!(outcome.redirect.starts_with(REDIRECT));
        let pairs: Vec<(String, String)> = redirect.query_pairs().into_owned().collect();
        assert!(pairs.contains(&("code".into(), outcome.code.clone())));
        assert!(pairs.contains(&("state".into(), "st-42".into())));
        let recorded = &p.authorize_requests()[0];
        assert_eq!(recorded.code_challenge_method.as_deref(), Some("S256"));
        assert_eq!(recorded.redirect_uri, REDIRECT);

        let reply = exchange(&p, &outcome.code, VERIFIER).await;
        assert_eq!(reply.status, 200, "{flavor:?}: {:?}", reply.body);
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with("application/json")
        );
        let body = reply.json();
        assert_success_shape(flavor, &body);
        let access = body["access_token"].as_str().unwrap();
        assert!(p.is_valid_access_token(access));
        assert_eq!(p.current_access_token().as_deref(), Some(access));
        assert_eq!(p.code_exchange_count(), 1);
        assert_eq!(p.token_requests().len(), 1);
    }
}

#[tokio::test]
async fn wrong_verifier_rejected() {
    for flavor in FLAVORS {
        let p = provider(flavor).await;
        let outcome = p.authorize(&auth_url(flavor, true)).unwrap();
        let reply = exchange(
            &p,
            &outcome.code,
            "not-the-verifier-not-the-verifier-000000000",
        )
        .await;
        assert_rejected(
            flavor,
            &reply,
            400,
            "invalid_grant",
            "invalid_code_verifier",
        );
        assert_eq!(p.current_access_token(), None);
    }
}

#[tokio::test]
async fn code_reuse_rejected() {
    for flavor in FLAVORS {
        let p = provider(flavor).await;
        let outcome = p.authorize(&auth_url(flavor, true)).unwrap();
        assert_eq!(exchange(&p, &outcome.code, VERIFIER).await.status, 200);
        let again = exchange(&p, &outcome.code, VERIFIER).await;
        assert_rejected(flavor, &again, 400, "invalid_grant", "invalid_code");
        assert_eq!(p.code_exchange_count(), 2);
    }
}

#[tokio::test]
async fn unknown_and_expired_codes_rejected() {
    for flavor in FLAVORS {
        let p = provider(flavor).await;
        let reply = exchange(&p, "no-such-code", VERIFIER).await;
        assert_rejected(flavor, &reply, 400, "invalid_grant", "invalid_code");
        p.set_code_ttl(std::time::Duration::ZERO);
        let outcome = p.authorize(&auth_url(flavor, false)).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let reply = exchange(&p, &outcome.code, VERIFIER).await;
        assert_rejected(flavor, &reply, 400, "invalid_grant", "invalid_code");
    }
}

#[tokio::test]
async fn redirect_uri_mismatch_rejected() {
    for flavor in FLAVORS {
        let p = provider(flavor).await;
        let outcome = p.authorize(&auth_url(flavor, false)).unwrap();
        let params = [
            ("grant_type", "authorization_code"),
            ("code", outcome.code.as_str()),
            ("redirect_uri", "http://evil.example/cb"),
        ];
        let reply = token_request(&p, &params).await;
        assert_rejected(flavor, &reply, 400, "invalid_grant", "bad_redirect_uri");
    }
}

#[tokio::test]
async fn wrong_client_secret_rejected() {
    for flavor in FLAVORS {
        let p = provider(flavor).await;
        let outcome = p.authorize(&auth_url(flavor, false)).unwrap();
        let params = [
            ("grant_type", "authorization_code"),
            ("code", outcome.code.as_str()),
            ("redirect_uri", REDIRECT),
        ];
        let reply = token_request_with(&p, &params, "wrong").await;
        assert_rejected(flavor, &reply, 401, "invalid_client", "bad_client_secret");
    }
}

#[tokio::test]
async fn notion_rejects_credentials_in_body() {
    let p = provider(Flavor::Notion).await;
    let outcome = p.authorize(&auth_url(Flavor::Notion, false)).unwrap();
    let body = json!({
        "grant_type": "authorization_code", "code": outcome.code, "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
    });
    let reply = post_json(&p.token_url(), &body, None).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "invalid_client");
    // A form body is not what Notion speaks either.
    let form = [
        ("grant_type", "authorization_code"),
        ("code", outcome.code.as_str()),
    ];
    let reply = post_form(
        &p.token_url(),
        &form,
        Some(&basic(CLIENT_ID, CLIENT_SECRET)),
    )
    .await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn slack_accepts_basic_auth() {
    let p = provider(Flavor::Slack).await;
    let outcome = p.authorize(&auth_url(Flavor::Slack, false)).unwrap();
    let form = [("code", outcome.code.as_str()), ("redirect_uri", REDIRECT)];
    let reply = post_form(
        &p.token_url(),
        &form,
        Some(&basic(CLIENT_ID, CLIENT_SECRET)),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["ok"], true, "{:?}", reply.body);
}

#[tokio::test]
async fn authorize_checks_client_and_response_type() {
    let p = provider(Flavor::Google).await;
    let url = auth_url(Flavor::Google, false).replace(CLIENT_ID, "someone-else");
    assert!(p.authorize(&url).unwrap_err().contains("invalid_client"));
    let url = auth_url(Flavor::Google, false).replace("response_type=code", "response_type=token");
    assert!(p.authorize(&url).is_err());
    assert!(p.authorize_requests().is_empty());
}

#[tokio::test]
async fn get_authorize_redirects_to_callback() {
    let p = provider(Flavor::Stripe).await;
    let url = auth_url(Flavor::Stripe, false);
    let query = url.split_once('?').unwrap().1;
    let reply = get(&format!("{}?{query}", p.authorize_url())).await;
    assert_eq!(reply.status, 302);
    let location = reply.header("location").unwrap();
    assert!(
        location.starts_with(REDIRECT) && location.contains("code=ac_"),
        "{location}"
    );
    assert_eq!(p.authorize_requests().len(), 1);
}

#[tokio::test]
async fn token_checker_guards_mock_api() {
    use crate::{MockResponse, MockServer};
    let p = provider(Flavor::Notion).await;
    let grant = p.seed_grant();
    let api = MockServer::start(
        p.token_checker()
            .guard(|_| MockResponse::json(200, json!({"object": "list"}))),
    )
    .await;
    let auth = format!("Bearer {}", grant.access_token);
    let ok = super::client::send(
        "GET",
        &api.url("/v1/users"),
        &[("authorization", &auth)],
        Vec::new(),
    )
    .await;
    assert_eq!(ok.status, 200);
    let bad = super::client::send(
        "GET",
        &api.url("/v1/users"),
        &[("authorization", "Bearer nope")],
        Vec::new(),
    )
    .await;
    assert_eq!(bad.status, 401);
    assert_eq!(bad.json()["code"], "unauthorized");
}
