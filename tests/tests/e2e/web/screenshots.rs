//! `scripts/screenshots.sh` runs this (it is ignored by the test suite):
//! a seeded server on SQLite (the first-party integrations approved; a
//! reviewer and developer with an approved integration and its next
//! version waiting for review; an admin; a user
//! with Slack installed and connected, two workflows and a succeeded and
//! a failed run) and a PNG of every page at 1440 and 375 px wide,
//! written into `target/screenshots/` (or `WORKWAY_SCREENSHOTS`).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use workway_engine::accounts::Role;
use workway_store::testing::sqlite_store;

use super::browser::{Browser, Script};
use super::runs::slack_user;
use crate::api::client::{Account, Api, approve, evolving, submit, with_roles};
use crate::workflows::Deployment;

/// Who looks at a page.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Reviewer,
    User,
    Admin,
}

fn out_dir() -> PathBuf {
    std::env::var_os("WORKWAY_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"))
}

/// Save `yaml` as a workflow of `who`'s, run it to its end: the run's id.
async fn run(api: &Api, d: &Deployment, who: &Account, yaml: &str) -> String {
    let r = api
        .raw(
            "POST",
            "/v1/workflows",
            who.token(),
            &[("content-type", "application/yaml")],
            yaml.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let name = r.json["name"].as_str().expect("a name").to_string();
    let r = api
        .post("/v1/runs", who.token(), &json!({"workflow": name}))
        .await;
    assert_eq!(r.status, 202, "{}", r.json);
    let id = r.json["run_id"].as_str().expect("an id").to_string();
    d.finish(&id, Duration::from_secs(30)).await;
    id
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
    // Rita's integration: 1.0.0 approved (by another reviewer: nobody
    // approves their own), 2.0.0 waiting for review.
    let (vera, _) = with_roles(&api, &t.store, "vera", &[Role::Reviewer], &["read"]).await;
    let approved = submit(
        &api,
        rita.session(),
        &evolving("1.0.0", &["https://api.example.com"]),
    )
    .await;
    assert_eq!(approve(&api, vera.session(), &approved).await.status, 200);
    let submission = submit(
        &api,
        rita.session(),
        &evolving("2.0.0", &["https://api.example.com"]),
    )
    .await;
    let (ada, _) = with_roles(&api, &t.store, "ada", &[Role::Admin], &["read"]).await;
    let sam = slack_user(&api, &d, "sam").await;
    let step = |name: &str, channel: &str| {
        format!(
            "name: {name}\ntrigger:\n  kind: manual\nsteps:\n  - id: tell\n    action: slack.send-message\n    input:\n      channel: {channel}\n      text: Hello\n    retry: {{ max_attempts: 1 }}\n"
        )
    };
    let good = run(&api, &d, &sam, &step("greet", "C0123ABCD")).await;
    let bad = run(&api, &d, &sam, &step("shout", "C999NOPE")).await;
    let pages: Vec<(&str, String, Who)> = vec![
        ("signin", "/signin".into(), Who::Nobody),
        ("signup", "/signup".into(), Who::Nobody),
        ("marketplace", "/marketplace".into(), Who::User),
        (
            "marketplace-search",
            "/marketplace?q=mail".into(),
            Who::User,
        ),
        (
            "marketplace-empty",
            "/marketplace?q=nothing-matches-this".into(),
            Who::User,
        ),
        ("integration", "/marketplace/slack".into(), Who::User),
        ("consent", "/marketplace/notion/install".into(), Who::User),
        ("installations", "/installations".into(), Who::User),
        ("connections", "/connections".into(), Who::User),
        ("workflows", "/workflows".into(), Who::User),
        ("workflow-new", "/workflows/new".into(), Who::User),
        ("workflow", "/workflows/greet".into(), Who::User),
        ("runs", "/runs".into(), Who::User),
        ("run-succeeded", format!("/runs/{good}"), Who::User),
        ("run-failed", format!("/runs/{bad}"), Who::User),
        ("billing", "/billing".into(), Who::User),
        ("account", "/account".into(), Who::User),
        ("forbidden", "/review".into(), Who::User),
        ("developer", "/developer".into(), Who::Reviewer),
        ("review-queue", "/review".into(), Who::Reviewer),
        (
            "submission",
            format!("/submissions/{submission}"),
            Who::Reviewer,
        ),
        (
            "developer-integration",
            "/developer/integrations/evolving".into(),
            Who::Reviewer,
        ),
        ("admin-accounts", "/admin/accounts".into(), Who::Admin),
        ("admin-reviews", "/admin/reviews".into(), Who::Admin),
        (
            "admin-submissions",
            "/admin/submissions?state=all".into(),
            Who::Admin,
        ),
        ("admin-ledger", "/admin/ledger".into(), Who::Admin),
    ];
    let dir = out_dir();
    std::fs::create_dir_all(&dir).expect("the screenshots folder");
    for width in [1440, 375] {
        let b = Browser::start(&origin, width, Script::On)
            .await
            .expect("chromium and chromedriver (scripts/install-browser.sh)");
        let mut signed_in = None;
        for (name, path, who) in &pages {
            if signed_in != Some(*who) {
                b.client.delete_all_cookies().await.expect("signed out");
                let account = match who {
                    Who::Nobody => None,
                    Who::Reviewer => Some(&rita),
                    Who::User => Some(&sam),
                    Who::Admin => Some(&ada),
                };
                if let Some(account) = account {
                    b.sign_in(&account.email, &account.password).await;
                }
                signed_in = Some(*who);
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
