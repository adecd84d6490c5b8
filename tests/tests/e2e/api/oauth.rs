//! Connecting a provider account through the API, with the browser's side
//! played by an HTTP client following redirects: the platform sends the
//! browser to the (mock) provider's consent page with PKCE and a state,
//! the provider sends it back with a code, and the callback stores the
//! grant for the account that started the flow, and for no other.

use std::collections::BTreeMap;

use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use workway_store::testing::test_stores;

use super::client::{Api, Auth, account};
use crate::workflows::Deployment;

/// GET an absolute `http://127.0.0.1:PORT/...` URL: the status and the
/// `Location` header.
async fn follow(url: &str) -> (u16, Option<String>) {
    let parsed = url::Url::parse(url).expect("an absolute URL");
    let address = format!(
        "{}:{}",
        parsed.host_str().expect("a host"),
        parsed.port().expect("a port")
    );
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    let request = format!("GET {target} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let location = answer.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(n, _)| n.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.trim().to_string())
    });
    (status, location)
}

fn query_of(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url)
        .expect("a URL")
        .query_pairs()
        .into_owned()
        .collect()
}

/// The cookie `name` a response sets.
fn set_cookie(r: &super::client::Response, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .find_map(|(_, v)| {
            v.split(';')
                .next()
                .and_then(|pair| pair.trim().strip_prefix(&format!("{name}=")))
                .map(str::to_string)
        })
}

#[tokio::test]
async fn the_oauth_connect_flow_completes_only_for_the_account_and_browser_that_started_it() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let connect = "/v1/connections/google/connect?integration=gmail";

        let r = api.get(connect, ann.session()).await;
        assert_eq!(
            (r.status, r.json["error"]["details"]["field"].as_str()),
            (400, Some("integration")),
            "not installed yet: {} ({})",
            r.json,
            t.label
        );
        let r = api
            .install(ann.token(), &json!({"integration": "gmail"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let r = api
            .get(
                "/v1/connections/nope/connect?integration=gmail",
                ann.session(),
            )
            .await;
        assert_eq!(
            r.status, 400,
            "gmail is not approved for `nope`: {}",
            r.json
        );

        // The browser is sent to the consent page, with PKCE and a state
        // also held in a cookie of its own.
        let r = api.get(connect, ann.session()).await;
        assert_eq!(r.status, 303, "{}", r.json);
        let consent = r.header("location").expect("a Location").to_string();
        assert!(consent.starts_with(&d.google.authorize_url()), "{consent}");
        let params = query_of(&consent);
        assert_eq!(params["code_challenge_method"], "S256");
        assert_eq!(
            params["redirect_uri"],
            format!("http://{}/v1/oauth/callback", api.address)
        );
        let state_cookie = set_cookie(&r, "workway_oauth_state").expect("a state cookie");
        assert_eq!(state_cookie, params["state"]);

        // The provider approves and sends the browser back with a code.
        let (status, back) = follow(&consent).await;
        assert_eq!(status, 302);
        let back = back.expect("a redirect back");
        let callback = back
            .strip_prefix(&format!("http://{}", api.address))
            .expect("back to the platform")
            .to_string();
        let cookie = format!("workway_oauth_state={state_cookie}");
        let browser = |auth| {
            let callback = callback.clone();
            let cookie = cookie.clone();
            async move {
                api.raw("GET", &callback, auth, &[("cookie", &cookie)], b"")
                    .await
            }
        };

        // Another account's session cannot complete it: refused and consumed.
        let stolen = browser(bob.session()).await;
        assert_eq!(
            (
                stolen.status,
                stolen.json["error"]["details"]["field"].as_str()
            ),
            (400, Some("state")),
            "{}",
            stolen.json
        );
        let r = browser(ann.session()).await;
        assert_eq!(r.status, 400, "a state is used once: {}", r.json);
        assert!(
            api.get("/v1/connections", bob.token())
                .await
                .json
                .as_array()
                .is_some_and(Vec::is_empty)
        );

        // Again, and this time Ann's own browser comes back.
        let r = api.get(connect, ann.session()).await;
        let consent = r.header("location").expect("a Location").to_string();
        let state_cookie = set_cookie(&r, "workway_oauth_state").expect("a state cookie");
        let (_, back) = follow(&consent).await;
        let callback = back
            .expect("a redirect back")
            .strip_prefix(&format!("http://{}", api.address))
            .expect("back to the platform")
            .to_string();
        let other_browser = api
            .raw(
                "GET",
                &callback,
                ann.session(),
                &[("cookie", "workway_oauth_state=someone-elses")],
                b"",
            )
            .await;
        assert_eq!(
            other_browser.status, 400,
            "another browser's state cookie: {}",
            other_browser.json
        );
        // That refusal did not consume the state: the right browser completes.
        let r = api
            .raw(
                "GET",
                &callback,
                ann.session(),
                &[("cookie", &format!("workway_oauth_state={state_cookie}"))],
                b"",
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        assert_eq!(r.json["provider"], "google");
        assert!(
            r.json["scopes"].as_array().is_some_and(|s| s
                .iter()
                .any(|x| x.as_str().is_some_and(|x| x.contains("gmail")))),
            "{}",
            r.json
        );
        assert!(
            set_cookie(&r, "workway_oauth_state").is_some_and(|v| v.is_empty()),
            "the state cookie is cleared"
        );
        let mine = api.get("/v1/connections", ann.token()).await;
        assert_eq!(mine.json.as_array().map(Vec::len), Some(1), "{}", mine.json);
        assert!(!mine.json.to_string().contains("access_token"));
        assert!(
            api.get("/v1/connections", bob.token())
                .await
                .json
                .as_array()
                .is_some_and(Vec::is_empty)
        );

        // A client that asks for JSON gets the URL instead of a redirect;
        // a read-only credential cannot start a connection.
        let r = api
            .raw(
                "GET",
                connect,
                ann.token(),
                &[("accept", "application/json")],
                b"",
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert!(
            r.json["authorization_url"]
                .as_str()
                .is_some_and(|u| u.contains("code_challenge="))
        );
        let read = api
            .post(
                "/v1/tokens",
                ann.session(),
                &json!({"name": "r", "scopes": ["read"]}),
            )
            .await;
        let read = read.json["token"].as_str().expect("token").to_string();
        assert_eq!(api.get(connect, Auth::Token(&read)).await.status, 403);
        t.cleanup().await;
    }
}
