//! `POST /v1/connections` over real HTTP, on SQLite and PostgreSQL: a key
//! the user holds (a Slack bot token, a Notion internal integration
//! secret) is sealed in the vault and never shown again; every wrong input
//! is refused naming its field and connects nothing; the connection is
//! listed and used by the account's runs; another account neither sees
//! nor reaches it (404), and connects keys of its own.

use std::time::Duration;

use serde_json::{Value, json};
use workway_fixtures::{CHANNEL, USER, first_party_scopes};
use workway_store::testing::test_stores;

use super::client::{Auth, Response, account, busy_api};

/// A manual workflow that posts its input's text to Slack.
fn tell() -> String {
    format!(
        r#"
name: tell
trigger:
  kind: manual
steps:
  - id: tell
    action: slack.send-message
    input:
      channel: "{CHANNEL}"
      text: "keyed: {{{{ /trigger/text }}}}"
"#
    )
}

/// A 400 naming `field`.
fn assert_invalid(r: &Response, field: &str, says: &str) {
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
    assert_eq!(r.json["error"]["details"]["field"], field, "{}", r.json);
    let message = r.json["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "`{says}` in {message}");
}

/// The ids of a list of connections.
fn ids(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|c| c["id"].as_str().expect("an id"))
        .collect()
}

#[tokio::test]
async fn a_pasted_key_is_checked_sealed_listed_and_used_by_its_owner_only() {
    for t in test_stores().await {
        let (d, api) = busy_api(&t).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let post =
            async |auth: Auth<'_>, body: Value| api.post("/v1/connections", auth, &body).await;
        let calendar = "https://www.googleapis.com/auth/calendar.readonly";

        // Every wrong input is refused, naming its field.
        let refusals = [
            (
                json!({"provider": "github", "secret": "ghp_x"}),
                "provider",
                "unknown provider `github`",
            ),
            (
                json!({"provider": "google", "secret": "ya29.x"}),
                "scopes",
                "name the scopes the `google` token was granted",
            ),
            (
                json!({"provider": "stripe", "secret": "rk_live_x", "scopes": []}),
                "scopes",
                "read_write",
            ),
            (
                json!({"provider": "notion", "secret": "secret_x", "scopes": ["read"]}),
                "scopes",
                "`notion` tokens carry no scopes",
            ),
            (
                json!({"provider": "google", "secret": "ya29.x", "scopes": ["chat:write"]}),
                "scopes",
                "has no scope `chat:write`",
            ),
            (
                json!({"provider": "slack", "secret": "xoxb-1", "scopes": ["chat:write users:read"]}),
                "scopes",
                "more than one word",
            ),
            (
                json!({"provider": "google", "secret": "", "scopes": [calendar]}),
                "secret",
                "the key is empty",
            ),
            (
                json!({"provider": "google", "secret": " \n ", "scopes": [calendar]}),
                "secret",
                "the key is empty",
            ),
            (
                json!({"provider": "notion", "secret": "secret_x\nsecret_y"}),
                "secret",
                "whitespace",
            ),
            (
                json!({"provider": "notion", "secret": "k".repeat(4097)}),
                "secret",
                "at most 4096",
            ),
            (
                json!({"provider": "notion", "secret": "secret_x", "account": "a".repeat(201)}),
                "account",
                "at most 200",
            ),
            (
                json!({"provider": "notion", "secret": "secret_x", "account": "Ann\u{0}"}),
                "account",
                "control character",
            ),
        ];
        for (body, field, says) in refusals {
            assert_invalid(&post(ann.token(), body).await, field, says);
        }
        // A body that is not the route's shape.
        for body in [
            json!({"provider": "notion"}),
            json!({"provider": "notion", "secret": "secret_x", "token": "x"}),
            json!({"provider": "notion", "secret": 42}),
        ] {
            let r = post(ann.token(), body).await;
            assert_eq!((r.status, r.code()), (400, "invalid_body"), "{}", r.json);
        }
        // A read-only token connects nothing.
        let r = api
            .post(
                "/v1/tokens",
                ann.session(),
                &json!({"name": "ro", "scopes": ["read"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let read_only = r.json["token"].as_str().expect("a token").to_string();
        let r = post(
            Auth::Token(&read_only),
            json!({"provider": "notion", "secret": "secret_x"}),
        )
        .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api.get("/v1/connections", ann.token()).await;
        assert_eq!(r.json, json!([]), "nothing connected ({})", t.label);

        // A Notion secret: no scopes, its account name trimmed.
        let notion_secret = "secret_notion_never_shown";
        let r = post(
            ann.session(),
            json!({"provider": "notion", "secret": format!("{notion_secret}\n"), "account": "  Ann's notes "}),
        )
        .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        let notion = r.json["id"].as_str().expect("an id").to_string();
        assert_eq!(
            (
                r.json["provider"].as_str(),
                r.json["account"].as_str(),
                r.json["status"].as_str()
            ),
            (Some("notion"), Some("Ann's notes"), Some("active"))
        );
        assert_eq!(r.json["scopes"], json!([]));
        assert!(r.json["created_at"].is_i64(), "{}", r.json);

        // A Slack bot token (the one the mock accepts), with the scopes it
        // was granted, in any order and repeated.
        let vault = &d.platform.vault;
        let users = vault
            .find(USER, "slack")
            .await
            .expect("read")
            .expect("the deployment user's Slack connection");
        let slack_token = vault
            .access_token(&users.info.id)
            .await
            .expect("the token opens");
        let granted = first_party_scopes("slack");
        let mut sent: Vec<String> = granted.iter().rev().cloned().collect();
        sent.push(granted[0].clone());
        let r = post(
            ann.token(),
            json!({"provider": "slack", "secret": slack_token.expose(), "account": "Acme workspace", "scopes": sent}),
        )
        .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        let slack = r.json["id"].as_str().expect("an id").to_string();
        let mut sorted = granted.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(r.json["scopes"], json!(sorted), "{}", r.json);

        // Listed, never shown; sealed in the store, and opened by the vault.
        let r = api.get("/v1/connections", ann.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(ids(&r.json), [notion.as_str(), slack.as_str()]);
        let text = r.json.to_string();
        assert!(
            !text.contains(notion_secret) && !text.contains(slack_token.expose()),
            "{text}"
        );
        let row = d
            .platform
            .store
            .connections()
            .get(&notion)
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(row.owner, ann.id);
        assert!(
            !row.access_token.contains(notion_secret),
            "sealed, not stored in the clear"
        );
        assert_eq!(
            vault.access_token(&notion).await.expect("opens").expose(),
            notion_secret
        );

        // The connection is what Ann's runs use.
        let r = api
            .install(ann.token(), &json!({"integration": "slack"}))
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let r = api
            .raw(
                "POST",
                "/v1/workflows",
                ann.token(),
                &[("content-type", "application/yaml")],
                tell().as_bytes(),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let r = api
            .post(
                "/v1/runs",
                ann.token(),
                &json!({"workflow": "tell", "input": {"text": "via a pasted key"}}),
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.json);
        let run = r.json["run_id"].as_str().expect("a run id").to_string();
        let (finished, attempts) = d.finish(&run, Duration::from_secs(60)).await;
        crate::workflows::assert_succeeded(&finished, &attempts);
        assert!(
            d.slack
                .messages_in(CHANNEL)
                .iter()
                .any(|m| m.text.as_deref() == Some("keyed: via a pasted key")),
            "the run posted with the pasted token ({})",
            t.label
        );

        // Bob sees none of Ann's connections and reaches none (404, as a
        // missing one); his own key is his alone.
        for auth in [bob.token(), bob.session()] {
            let r = api.get("/v1/connections", auth).await;
            assert_eq!((r.status, r.json.clone()), (200, json!([])));
            let theirs = api.delete(&format!("/v1/connections/{notion}"), auth).await;
            let missing = api.delete("/v1/connections/no-such", auth).await;
            assert_eq!((theirs.status, theirs.code()), (404, "not_found"));
            assert_eq!(
                theirs.json, missing.json,
                "another's answers as a missing one"
            );
        }
        let r = post(
            bob.token(),
            json!({"provider": "notion", "secret": "secret_bobs", "account": "Bob's notes"}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let bobs = r.json["id"].as_str().expect("an id").to_string();
        let r = api.get("/v1/connections", bob.token()).await;
        assert_eq!(ids(&r.json), [bobs.as_str()]);
        let r = api.get("/v1/connections", ann.token()).await;
        assert_eq!(ids(&r.json), [notion.as_str(), slack.as_str()]);
        let r = api
            .delete(&format!("/v1/connections/{bobs}"), ann.token())
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        assert!(vault.get(&bobs).await.expect("read").is_some(), "kept");
        t.cleanup().await;
    }
}
