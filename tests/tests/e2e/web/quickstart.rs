//! The quickstart's whole story, through the browser only, in a real
//! headless Chromium (scripts off) against a real server on 127.0.0.1
//! and the local stand-ins of Google, Notion and Slack (SQLite): a
//! developer uploads a component, a reviewer reads its report and
//! approves it, a user finds it in the marketplace and installs it;
//! then installs Gmail, Notion and Slack, connects all three accounts
//! through their providers' consent pages (OAuth), writes the three-step
//! workflow, runs it and watches its steps complete.

use workway_engine::accounts::Role;
use workway_fixtures::{CHANNEL, fast, inbox_to_notion};
use workway_store::testing::sqlite_store;

use super::browser::{Browser, Script};
use crate::api::client::{Account, Api, account, with_roles};
use crate::workflows::Deployment;

/// Sign `who` in, in a browser with no other session.
async fn sign_in(b: &Browser, who: &Account) {
    b.client.delete_all_cookies().await.expect("signed out");
    b.sign_in(&who.email, &who.password).await;
}

#[tokio::test]
async fn a_developer_publishes_a_reviewer_approves_and_a_user_runs_the_quickstart() {
    let t = sqlite_store().await;
    let d = Deployment::start(&t, crate::support::shared_runtime()).await;
    let api = Api::start(d.platform.clone()).await;
    let origin = format!("http://{}", api.address);
    let (dana, _) = with_roles(&api, &t.store, "dana", &[Role::Developer], &["read"]).await;
    let (rita, _) = with_roles(&api, &t.store, "rita", &[Role::Reviewer], &["read"]).await;
    let una = account(&api, "una").await;
    d.seed_invoice();
    let executor = d.executor(fast());
    let worker = tokio::spawn(async move { executor.work(std::future::pending::<()>()).await });
    let Some(b) = Browser::start(&origin, 1440, Script::Off).await else {
        worker.abort();
        return;
    };

    // The developer uploads a component and its manifest.
    let files = tempfile::tempdir().expect("a folder");
    let submission = crate::registry::evolving("1.0.0", &["https://api.example.com"]);
    let component = files.path().join("evolving.wasm");
    let manifest = files.path().join("workway.toml");
    std::fs::write(&component, &submission.component).expect("written");
    std::fs::write(&manifest, &submission.manifest).expect("written");
    sign_in(&b, &dana).await;
    b.click("a[href='/developer']").await;
    b.arrive("/developer").await;
    assert!(
        b.text("#no-submissions")
            .await
            .contains("Nothing submitted")
    );
    b.find("#component")
        .await
        .send_keys(&component.display().to_string())
        .await
        .expect("chosen");
    b.find("#manifest")
        .await
        .send_keys(&manifest.display().to_string())
        .await
        .expect("chosen");
    b.click("#submit-version").await;
    assert_eq!(b.text("#submission-state").await, "pending review");
    assert!(b.path().await.starts_with("/submissions/"));
    assert!(
        b.text("#report-hosts")
            .await
            .contains("https://api.example.com")
    );
    let examples = b.text("#examples").await;
    assert!(
        examples.contains("ping") && examples.contains("ok"),
        "{examples}"
    );
    assert!(
        b.all("#approve").await.is_empty(),
        "a developer does not review"
    );

    // The reviewer finds it in the queue, reads the report and approves.
    sign_in(&b, &rita).await;
    b.click("a[href='/review']").await;
    b.click("#queue tr[data-submission] a").await;
    assert!(b.text("#capability-diff").await.contains("A first version"));
    assert!(
        b.text("#toolkit").await.contains("workway-sdk"),
        "the report names the toolchain"
    );
    let limits = b.text("#sandbox-limits").await;
    assert!(
        limits.contains("64 core instances") && limits.contains("64 MiB"),
        "{limits}"
    );
    b.click("#approve").await;
    b.text_with("#notice", "Approved and signed").await;
    assert_eq!(b.text("#submission-state").await, "approved");

    // The user finds it and installs it with consent.
    sign_in(&b, &una).await;
    b.fill("#q", "evolving").await;
    b.click("form.search button[type=submit]").await;
    b.click("#results li[data-integration='evolving'] h2 a")
        .await;
    b.arrive("/marketplace/evolving").await;
    b.click("#install").await;
    assert!(
        b.text("#consent-grants")
            .await
            .contains("Send requests to https://api.example.com")
    );
    b.click("#accept-install").await;
    b.arrive("/installations?installed=evolving").await;

    // Gmail, Notion and Slack, each installed on its consent screen and
    // its account connected through the provider.
    for name in ["gmail", "notion", "slack"] {
        b.open(&format!("/marketplace/{name}")).await;
        b.click("#install").await;
        b.click("#accept-install").await;
        b.arrive(&format!("/installations?installed={name}")).await;
    }
    for (link, provider) in [
        ("Google", "google"),
        ("Notion", "notion"),
        ("Slack", "slack"),
    ] {
        b.open("/connections").await;
        b.click(&format!("a[data-connect='{link}']")).await;
        b.arrive(&format!("/connections?connected={provider}"))
            .await;
    }
    assert_eq!(b.all("#connections tr[data-provider]").await.len(), 3);

    // The three-step workflow, written, started and watched to the end.
    b.open("/workflows/new").await;
    b.fill("#definition", &inbox_to_notion("  kind: manual"))
        .await;
    b.click("#save-workflow").await;
    assert_eq!(b.text("#workflow-name").await, "inbox-to-notion");
    b.click("#start-run").await;
    b.text_with("#run-status", "succeeded").await;
    for step in ["fetch", "file", "tell"] {
        let line = b.text(&format!("#timeline li[data-step='{step}']")).await;
        assert!(line.contains("succeeded"), "{step}: {line}");
    }
    let told = d.slack.messages_in(CHANNEL);
    assert_eq!(told.len(), 1, "the team was told once");
    b.close().await;
    worker.abort();
    t.cleanup().await;
}
