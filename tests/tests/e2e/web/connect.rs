//! Installing with consent and connecting an account: in a real headless
//! Chromium (scripts off) through the (mock) provider's consent page and
//! back, on SQLite; and over plain HTTP on both stores, one account's
//! installations and connections kept from another, a stale consent and
//! a bad key answered on their pages, a failed OAuth return explained.

use workway_engine::accounts::Role;
use workway_store::testing::{sqlite_store, test_stores};

use super::browser::{Browser, Script};
use super::pages::{csrf_field, hidden_field, post_form};
use crate::api::client::{Api, account, approve, evolving, submit, with_roles};
use crate::workflows::Deployment;

#[tokio::test]
async fn a_user_installs_gmail_with_consent_and_connects_google_through_oauth() {
    let t = sqlite_store().await;
    let d = Deployment::start(&t, crate::support::shared_runtime()).await;
    let api = Api::start(d.platform.clone()).await;
    let origin = format!("http://{}", api.address);
    let ivy = account(&api, "ivy").await;
    let Some(b) = Browser::start(&origin, 1440, Script::Off).await else {
        return;
    };
    b.sign_in(&ivy.email, &ivy.password).await;

    // The consent screen says what Gmail may do before anything installs.
    b.open("/marketplace/gmail").await;
    b.click("#install").await;
    b.arrive("/marketplace/gmail/install").await;
    let grants = b.text("#consent-grants").await;
    assert!(
        grants.contains("Send requests to https://gmail.googleapis.com"),
        "{grants}"
    );
    assert!(
        grants.contains("Use your Google account: https://www.googleapis.com/auth/gmail.modify"),
        "{grants}"
    );
    let before = api.get("/v1/installations", ivy.token()).await;
    assert_eq!(before.json.as_array().map(Vec::len), Some(0), "nothing yet");
    b.click("#accept-install").await;
    b.arrive("/installations?installed=gmail").await;
    assert!(b.text("#notice").await.contains("gmail is installed"));
    let row = b.text("tr[data-integration='gmail']").await;
    assert!(row.contains("google (connect)"), "{row}");
    let after = api.get("/v1/installations", ivy.token()).await;
    assert_eq!(after.json[0]["integration"], "gmail", "{}", after.json);

    // Connect Google: to the provider's consent page and back.
    b.open("/connections").await;
    assert!(b.text("#no-connections").await.contains("No account"));
    b.click("a[data-connect='Google']").await;
    b.arrive("/connections?connected=google").await;
    assert_eq!(b.text("#notice").await, "Your Google account is connected.");
    let state = b.text("tr[data-provider='Google'] td.state").await;
    assert_eq!(state, "connected");
    let listed = api.get("/v1/connections", ivy.token()).await;
    assert_eq!(
        listed.json.as_array().map(Vec::len),
        Some(1),
        "{}",
        listed.json
    );
    assert_eq!(listed.json[0]["provider"], "google");
    let scopes = listed.json[0]["scopes"].as_array().expect("scopes");
    assert!(
        scopes.contains(&serde_json::json!(
            "https://www.googleapis.com/auth/gmail.modify"
        )),
        "what Gmail's approval lists (with the sign-in scopes): {scopes:?}"
    );
    assert!(
        d.google
            .authorize_requests()
            .iter()
            .any(|r| r.redirect_uri.ends_with("/v1/oauth/callback")),
        "the provider saw the platform's callback"
    );
    b.open("/installations").await;
    let row = b.text("tr[data-integration='gmail']").await;
    assert!(row.contains("google (connected)"), "{row}");

    // Disconnect, then uninstall.
    b.open("/connections").await;
    b.click("tr[data-provider='Google'] button.danger").await;
    b.text_with("main", "No account connected yet").await;
    assert_eq!(
        api.get("/v1/connections", ivy.token())
            .await
            .json
            .as_array()
            .map(Vec::len),
        Some(0)
    );
    b.open("/installations").await;
    b.click("tr[data-integration='gmail'] button.danger").await;
    b.text_with("#notice", "gmail is uninstalled.").await;
    b.close().await;
    t.cleanup().await;
}

#[tokio::test]
async fn installations_and_connections_are_kept_to_their_account() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let l = t.label;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let ann_session = ann.browser();
        let bob_session = bob.browser();

        // A consent screen older than the version is refused and shown again.
        let page = api.get("/marketplace/slack/install", ann_session).await;
        assert_eq!(page.status, 200, "{l}");
        let csrf = csrf_field(&page.body);
        let r = post_form(
            &api,
            "/marketplace/slack/install",
            ann_session,
            None,
            &[
                ("csrf", &csrf),
                ("accept", "sha256:0000"),
                ("version", "0.1.0"),
            ],
        )
        .await;
        assert_eq!(r.status, 409, "{l}: {}", r.body);
        assert!(r.body.contains("changed since the page was shown"), "{l}");
        assert!(r.body.contains("consent-grants"), "{l}: the screen again");
        let digest = hidden_field(&page.body, "accept");
        let r = post_form(
            &api,
            "/marketplace/slack/install",
            ann_session,
            None,
            &[("csrf", &csrf), ("accept", &digest), ("version", "0.1.0")],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert_eq!(
            r.header("location"),
            Some("/installations?installed=slack"),
            "{l}"
        );

        // Ann connects Slack with a key; a wrong key form is answered on the page.
        let r = post_form(
            &api,
            "/connections/key",
            ann_session,
            None,
            &[
                ("csrf", &csrf),
                ("provider", "notion"),
                ("secret", "secret_abc"),
                ("scopes", "read_content"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{l}: {}", r.body);
        assert!(r.body.contains(r#"id="form-error""#), "{l}");
        assert!(
            !r.body.contains("secret_abc"),
            "{l}: the key is never shown back"
        );
        let r = post_form(
            &api,
            "/connections/key",
            ann_session,
            None,
            &[
                ("csrf", &csrf),
                ("provider", "slack"),
                ("secret", "xoxb-ann"),
                ("account", "Ann's workspace"),
                ("scopes", "chat:write channels:read"),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let connections = api.get("/v1/connections", ann.token()).await.json;
        let id = connections[0]["id"].as_str().expect("an id").to_string();

        // Bob sees none of it and changes none of it.
        let bobs = api.get("/connections", bob_session).await;
        assert!(
            !bobs.body.contains("Ann&#39;s workspace") && !bobs.body.contains("Ann's workspace"),
            "{l}"
        );
        assert!(!bobs.body.contains(&id), "{l}");
        let bob_csrf = csrf_field(&bobs.body);
        let r = post_form(
            &api,
            &format!("/connections/{id}/disconnect"),
            bob_session,
            None,
            &[("csrf", &bob_csrf)],
        )
        .await;
        assert_eq!(r.status, 404, "{l}: {}", r.body);
        let installed = api.get("/installations", bob_session).await;
        assert!(installed.body.contains("no-installations"), "{l}");
        let r = post_form(
            &api,
            "/installations/slack/uninstall",
            bob_session,
            None,
            &[("csrf", &bob_csrf)],
        )
        .await;
        assert_eq!(r.status, 404, "{l}");
        assert_eq!(
            api.get("/v1/connections", ann.token())
                .await
                .json
                .as_array()
                .map(Vec::len),
            Some(1),
            "{l}"
        );
        assert_eq!(
            api.get("/v1/installations", ann.token())
                .await
                .json
                .as_array()
                .map(Vec::len),
            Some(1),
            "{l}"
        );
        // Nor without the CSRF field, in Ann's own session.
        let r = post_form(
            &api,
            &format!("/connections/{id}/disconnect"),
            ann_session,
            None,
            &[],
        )
        .await;
        assert_eq!(r.status, 403, "{l}");

        // A browser that comes back from the provider with a bad state is
        // told what to do, by code only.
        let r = api
            .raw(
                "GET",
                "/v1/oauth/callback?code=x&state=forged%3Cb%3E",
                ann_session,
                &[("accept", "text/html")],
                b"",
            )
            .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert_eq!(
            r.header("location"),
            Some("/connections?failed=invalid_input"),
            "{l}"
        );
        let page = api
            .get("/connections?failed=invalid_input", ann_session)
            .await;
        assert!(page.body.contains("expired or was already used"), "{l}");
        let page = api
            .get(
                "/connections?failed=%3Cscript%3E&connected=%3Cscript%3E",
                ann_session,
            )
            .await;
        assert!(!page.body.contains("<script>"), "{l}");
        // The API's own clients still get JSON.
        let r = api
            .get("/v1/oauth/callback?code=x&state=forged", ann.token())
            .await;
        assert_eq!(r.status, 400, "{l}");
        assert_eq!(r.code(), "invalid_input", "{l}");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_installation_is_updated_from_its_page_by_its_account_only() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let l = t.label;
        let (olga, _) = with_roles(&api, &t.store, "olga", &[Role::Developer], &["read"]).await;
        let (rita, _) = with_roles(&api, &t.store, "rita", &[Role::Reviewer], &["read"]).await;
        let hosts = ["https://api.example.com"];
        let first = submit(&api, olga.session(), &evolving("1.0.0", &hosts)).await;
        assert_eq!(
            approve(&api, rita.session(), &first).await.status,
            200,
            "{l}"
        );
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let r = api
            .install(ann.token(), &serde_json::json!({"integration": "evolving"}))
            .await;
        assert_eq!(r.status, 201, "{l}: {}", r.json);
        let second = submit(&api, olga.session(), &evolving("2.0.0", &hosts)).await;
        assert_eq!(
            approve(&api, rita.session(), &second).await.status,
            200,
            "{l}"
        );

        let ann_session = ann.browser();
        let bob_session = bob.browser();
        // The catalog learns of the new version within a few seconds.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let page = loop {
            let page = api.get("/installations", ann_session).await;
            if page.body.contains("Update to 2.0.0") {
                break page;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{l}: no update offered: {}",
                page.body
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        let csrf = csrf_field(&page.body);
        let digest = hidden_field(&page.body, "accept");
        let bob_csrf = csrf_field(&api.get("/installations", bob_session).await.body);
        let r = post_form(
            &api,
            "/installations/evolving/upgrade",
            bob_session,
            None,
            &[("csrf", &bob_csrf), ("accept", &digest)],
        )
        .await;
        assert_eq!(r.status, 404, "{l}: Bob has none to update");
        let r = post_form(
            &api,
            "/installations/evolving/upgrade",
            ann_session,
            None,
            &[("accept", &digest)],
        )
        .await;
        assert_eq!(r.status, 403, "{l}: no CSRF field");
        let r = post_form(
            &api,
            "/installations/evolving/upgrade",
            ann_session,
            None,
            &[("csrf", &csrf), ("accept", &digest)],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let page = api
            .get(r.header("location").expect("back"), ann_session)
            .await;
        assert!(
            page.body.contains("evolving now runs version 2.0.0."),
            "{l}: {}",
            page.body
        );
        let listed = api.get("/v1/installations", ann.token()).await;
        assert_eq!(listed.json[0]["version"], "2.0.0", "{l}");

        // The marketplace page says "installed" to Ann only.
        let hers = api.get("/marketplace/evolving", ann_session).await;
        assert!(hers.body.contains(r#"id="installed""#), "{l}");
        let his = api.get("/marketplace/evolving", bob_session).await;
        assert!(
            his.body.contains(r#"id="install""#) && !his.body.contains(r#"id="installed""#),
            "{l}"
        );

        // A submission's page and its review actions: for its developer
        // and reviewers. Another account learns nothing (404, and the
        // action refused); its developer, who may read it, is told the
        // action needs the reviewer role (403).
        let olga_page = api
            .get(&format!("/submissions/{second}"), olga.browser())
            .await;
        assert_eq!(olga_page.status, 200, "{l}");
        assert!(
            !olga_page.body.contains(r#"id="approve""#),
            "{l}: a developer does not review"
        );
        let olga_csrf = csrf_field(&olga_page.body);
        assert_eq!(
            api.get(&format!("/submissions/{second}"), bob_session)
                .await
                .status,
            404,
            "{l}"
        );
        for action in ["claim", "release", "approve", "reject", "revoke"] {
            let path = format!("/submissions/{second}/{action}");
            let r = post_form(
                &api,
                &path,
                bob_session,
                None,
                &[("csrf", &bob_csrf), ("reason", "no")],
            )
            .await;
            assert_eq!(r.status, 404, "{l}: {action}: {}", r.body);
            let r = post_form(
                &api,
                &path,
                olga.browser(),
                None,
                &[("csrf", &olga_csrf), ("reason", "no")],
            )
            .await;
            assert_eq!(r.status, 403, "{l}: {action}: {}", r.body);
            assert!(r.body.contains("reviewer role"), "{l}: {action}");
        }
        let r = post_form(
            &api,
            &format!("/submissions/{second}/publish"),
            rita.browser(),
            None,
            &[(
                "csrf",
                &csrf_field(&api.get("/review", rita.browser()).await.body),
            )],
        )
        .await;
        assert_eq!(r.status, 404, "{l}: no such action");
        let listed = api
            .get(&format!("/v1/submissions/{second}"), olga.token())
            .await;
        assert_eq!(listed.json["state"], "approved", "{l}: nothing changed");
        t.cleanup().await;
    }
}
