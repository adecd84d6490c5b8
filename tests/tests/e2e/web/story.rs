//! A user's first visit in a real headless Chromium against a real
//! server on 127.0.0.1 (SQLite; the pages' data paths run on both stores
//! in `pages`): sent to sign in, signs up (a bad password first, answered
//! at the field), finds Slack in the marketplace and reads what it may
//! do, makes an API token that works and is shown once, revokes it, is
//! refused the reviewers' page, signs out. With JavaScript off, as every
//! core flow must work; then the pages at a phone's width.

use serde_json::Value;
use workway_store::testing::sqlite_store;

use super::browser::{Browser, Script};
use workway_engine::accounts::Role;

use crate::api::client::{Api, Auth, approve, evolving, submit, with_roles};
use crate::workflows::Deployment;

#[tokio::test]
async fn a_user_signs_up_finds_an_integration_and_manages_a_token_with_scripts_off() {
    let t = sqlite_store().await;
    let d = Deployment::start(&t, crate::support::shared_runtime()).await;
    let api = Api::start(d.platform.clone()).await;
    let origin = format!("http://{}", api.address);
    let Some(b) = Browser::start(&origin, 1440, Script::Off).await else {
        return;
    };

    // A stranger asking for the account page is sent to sign in.
    b.open("/account").await;
    b.arrive("/signin?next=%2Faccount").await;
    b.click("a[href='/signup']").await;
    b.arrive("/signup").await;

    // A password too short is answered at its field; the rest is kept.
    b.fill("#email", "nina@example.com").await;
    b.fill("#display_name", "Nina").await;
    b.fill("#password", "short").await;
    b.click("form[action='/signup'] button[type=submit]").await;
    let error = b.text("#password-error").await;
    assert!(error.contains("10 characters"), "{error}");
    assert_eq!(
        b.find("#password")
            .await
            .attr("aria-invalid")
            .await
            .expect("attr")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        b.find("#email")
            .await
            .prop("value")
            .await
            .expect("value")
            .as_deref(),
        Some("nina@example.com")
    );
    b.fill("#password", "nina's long enough password").await;
    b.click("form[action='/signup'] button[type=submit]").await;
    b.arrive("/marketplace").await;
    assert_eq!(b.text("a.who").await, "Nina");

    // The marketplace lists the approved integrations; a search finds Slack.
    let listed = b.all("#results li[data-integration]").await;
    assert_eq!(
        listed.len(),
        4,
        "gmail, notion, slack and stripe are approved"
    );
    b.fill("#q", "slack").await;
    b.click("form.search button[type=submit]").await;
    b.arrive("/marketplace?q=slack&category=&price=&provider=&sort=")
        .await;
    let first = b.find("#results li[data-integration]").await;
    assert_eq!(
        first
            .attr("data-integration")
            .await
            .expect("attr")
            .as_deref(),
        Some("slack")
    );
    b.click("#results li[data-integration='slack'] h2 a").await;
    b.arrive("/marketplace/slack").await;
    assert_eq!(b.text("#integration-name").await, "slack");
    let permissions = b.text("#permissions").await;
    assert!(
        permissions.contains("Send requests to https://slack.com"),
        "{permissions}"
    );
    assert!(
        permissions.contains("Use your Slack account: chat:write"),
        "{permissions}"
    );
    assert!(
        permissions.contains("Send messages as the app"),
        "{permissions}"
    );
    assert_eq!(b.text("#price").await, "Free");
    assert_eq!(
        b.text("#installs").await,
        "1 install",
        "the deployment's user has it"
    );

    // An API token: made on the page, shown once, working, then revoked.
    b.open("/account").await;
    assert_eq!(b.text("#account-email").await, "nina@example.com");
    b.fill("#token-name", "laptop").await;
    b.click("form[action='/account/tokens'] button[type=submit]")
        .await;
    let token = b.text("#new-token").await;
    assert!(token.starts_with("wwk_"), "{token}");
    let me = api.get("/v1/account", Auth::Token(&token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["email"], Value::from("nina@example.com"));
    b.open("/account").await;
    assert!(b.all("#new-token").await.is_empty(), "shown only once");
    assert!(!b.source().await.contains(&token));
    b.click("tr[data-token='laptop'] button.danger").await;
    b.text_with("tr[data-token='laptop'] td.state", "revoked")
        .await;
    b.arrive("/account").await;
    assert_eq!(
        api.get("/v1/account", Auth::Token(&token)).await.status,
        401
    );

    // The reviewers' page is not hers, and says why.
    b.open("/review").await;
    let message = b.text("#error-message").await;
    assert!(message.contains("reviewer role"), "{message}");

    // Signed out, the account page sends her to sign in again.
    b.click("form[action='/signout'] button").await;
    b.arrive("/signin").await;
    b.open("/account").await;
    b.arrive("/signin?next=%2Faccount").await;
    b.close().await;
    t.cleanup().await;
}

#[tokio::test]
async fn the_pages_fit_a_phone() {
    let t = sqlite_store().await;
    let d = Deployment::start(&t, crate::support::shared_runtime()).await;
    let api = Api::start(d.platform.clone()).await;
    let origin = format!("http://{}", api.address);
    let (ann, _) = with_roles(
        &api,
        &t.store,
        "ann",
        &[Role::User, Role::Developer, Role::Reviewer, Role::Admin],
        &["read"],
    )
    .await;
    let (rita, _) = with_roles(&api, &t.store, "rita", &[Role::Reviewer], &["read"]).await;
    let submission = submit(
        &api,
        ann.session(),
        &evolving("1.0.0", &["https://a-rather-long-host-name.example.com"]),
    )
    .await;
    assert_eq!(approve(&api, rita.session(), &submission).await.status, 200);
    let Some(b) = Browser::start(&origin, 375, Script::On).await else {
        return;
    };
    b.sign_in(&ann.email, &ann.password).await;
    for path in [
        "/marketplace",
        "/marketplace?q=gmail",
        "/marketplace/slack",
        "/account",
        "/billing",
        "/review",
        "/developer",
        "/developer/integrations/evolving",
        "/marketplace/evolving",
        &format!("/submissions/{submission}"),
        "/admin/accounts",
        "/admin/reviews",
        "/admin/submissions?state=all",
        "/admin/ledger",
    ] {
        b.open(path).await;
        let widths = b
            .client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                Vec::new(),
            )
            .await
            .expect("measured");
        let (page, window) = (
            widths[0].as_i64().expect("px"),
            widths[1].as_i64().expect("px"),
        );
        assert!(
            page <= window,
            "{path} is {page} px wide in a {window} px window"
        );
    }

    // With scripts on, a token shown once gets a copy button.
    b.open("/account").await;
    b.fill("#token-name", "phone").await;
    b.click("#make-token").await;
    b.find("#new-token").await;
    assert_eq!(b.all("#new-token + button.copy").await.len(), 1);
    b.close().await;
    t.cleanup().await;
}
