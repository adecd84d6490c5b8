//! `scripts/screenshots.sh` runs this (it is ignored by the test suite):
//! a seeded server on SQLite (the first-party integrations approved, a
//! reviewer and developer with an API token and a submission waiting for
//! review, a user) and a PNG of every page at 1440 and
//! 375 px wide, written into `target/screenshots/` (or
//! `WORKWAY_SCREENSHOTS`).

use std::path::PathBuf;

use workway_engine::accounts::Role;
use workway_store::testing::sqlite_store;

use super::browser::{Browser, Script};
use crate::api::client::{Api, evolving, submit, with_roles};
use crate::workflows::Deployment;

/// Every page worth a picture, named for its file, with who sees it.
const PAGES: &[(&str, &str, bool)] = &[
    ("signin", "/signin", false),
    ("signup", "/signup", false),
    ("marketplace", "/marketplace", true),
    ("marketplace-search", "/marketplace?q=mail", true),
    (
        "marketplace-empty",
        "/marketplace?q=nothing-matches-this",
        true,
    ),
    ("integration", "/marketplace/slack", true),
    ("account", "/account", true),
    ("review-queue", "/review", true),
    ("forbidden", "/review?as=user", true),
];

fn out_dir() -> PathBuf {
    std::env::var_os("WORKWAY_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"))
}

#[tokio::test]
#[ignore = "run by scripts/screenshots.sh"]
async fn screenshots_of_every_page() {
    let t = sqlite_store().await;
    let d = Deployment::start(&t, crate::support::shared_runtime()).await;
    let api = Api::start(d.platform.clone()).await;
    let origin = format!("http://{}", api.address);
    let (rita, _) = with_roles(
        &api,
        &t.store,
        "rita",
        &[Role::Reviewer, Role::Developer],
        &["read", "review"],
    )
    .await;
    let r = api
        .post(
            "/v1/tokens",
            rita.session(),
            &serde_json::json!({"name": "laptop CLI", "scopes": ["read", "run"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    submit(
        &api,
        rita.session(),
        &evolving("1.0.0", &["https://api.example.com"]),
    )
    .await;
    let (user, _) = with_roles(&api, &t.store, "sam", &[Role::User], &["read"]).await;
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("the screenshots folder");
    for width in [1440, 375] {
        let b = Browser::start(&origin, width, Script::On)
            .await
            .expect("chromium and chromedriver (scripts/install-browser.sh)");
        for (name, path, signed_in) in PAGES {
            let (email, password) = if path.ends_with("as=user") {
                (&user.email, &user.password)
            } else {
                (&rita.email, &rita.password)
            };
            b.client.delete_all_cookies().await.expect("signed out");
            if *signed_in {
                b.open("/signin").await;
                b.fill("#email", email).await;
                b.fill("#password", password).await;
                b.click("form[action='/signin'] button[type=submit]").await;
            }
            b.open(path).await;
            let png = b.client.screenshot().await.expect("a screenshot");
            let file = dir.join(format!("{name}-{width}.png"));
            std::fs::write(&file, png).expect("written");
            println!("{}", file.display());
        }
        b.close().await;
    }
    t.cleanup().await;
}
