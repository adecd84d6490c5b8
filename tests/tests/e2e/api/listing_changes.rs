//! What a reviewer reads beside the capability diff, on SQLite and
//! PostgreSQL: how the integration's listing text changed since its newest
//! approved version was approved (summary then and now, the description as
//! a unified diff, categories added and removed, the price), on
//! `GET /v1/submissions/{id}` while the submission waits for review.

use serde_json::{Value, json};
use workway_engine::accounts::Role;
use workway_store::listings::ListingFields;
use workway_store::testing::test_stores;

use super::client::{Api, Auth, account, approve, evolving, submit, with_roles};
use crate::workflows::Deployment;

/// Submit `evolving` at `version` as `auth`; its submission id.
async fn submit_version(api: &Api, auth: Auth<'_>, version: &str) -> String {
    submit(api, auth, &evolving(version, &["https://api.example.com"])).await
}

#[tokio::test]
async fn a_reviewer_sees_how_the_listing_text_changed_since_the_last_approval() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (_, olga) = with_roles(
            &api,
            store,
            "olga",
            &[Role::Developer],
            &["read", "publish"],
        )
        .await;
        let (_, rita) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let (olga, rita) = (Auth::Token(&olga), Auth::Token(&rita));

        // A first version: no listing yet, nothing to compare.
        let first = submit_version(&api, olga, "1.0.0").await;
        let shown = api.get(&format!("/v1/submissions/{first}"), rita).await;
        let changes = &shown.json["listing_changes"];
        assert_eq!(changes["since_version"], Value::Null, "{}", t.label);
        assert_eq!(changes["unchanged"], true, "{changes}");
        let r = approve(&api, rita, &first).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let decided = api.get(&format!("/v1/submissions/{first}"), rita).await;
        assert_eq!(
            decided.json["listing_changes"],
            Value::Null,
            "a decided submission has none"
        );
        let approved_at = store
            .submissions()
            .get(&first)
            .await
            .expect("read")
            .expect("stored")
            .updated_at;

        // The listing as it stood when 1.0.0 was approved ...
        store
            .listings()
            .put(&ListingFields {
                name: "evolving",
                summary: "Reads which version answers",
                description: "# Evolving\n\nRead-only: it never writes.\nAsks one host.",
                categories: r#"["developer-tools"]"#,
                changelog: "{}",
                price_cents: None,
                updated_by: "olga",
                now: approved_at - 1,
            })
            .await
            .expect("the listing then");
        // ... and as the publisher rewrote it since, through the API.
        let r = api
            .call(
                "PUT",
                "/v1/integrations/evolving/listing",
                olga,
                Some(&json!({
                    "summary": "Reads and writes which version answers",
                    "description": "# Evolving\n\nReads and writes.\nAsks one host.\n",
                    "categories": ["developer-tools", "productivity"],
                    "price_cents": 4900,
                    "changelog": {},
                })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);

        let second = submit_version(&api, olga, "2.0.0").await;
        let shown = api.get(&format!("/v1/submissions/{second}"), rita).await;
        assert_eq!(shown.status, 200, "{}", shown.json);
        let changes = &shown.json["listing_changes"];
        assert_eq!(
            changes["since_version"], "1.0.0",
            "{} ({})",
            changes, t.label
        );
        assert_eq!(changes["since_approved_at"], approved_at);
        assert_eq!(
            (
                changes["from_revision"].clone(),
                changes["to_revision"].clone()
            ),
            (json!(1), json!(2)),
            "{changes}"
        );
        assert_eq!(changes["unchanged"], false);
        assert_eq!(
            changes["summary"],
            json!({
                "before": "Reads which version answers",
                "after": "Reads and writes which version answers",
            })
        );
        let diff = changes["description_diff"].as_str().expect("a diff");
        assert!(diff.contains("-Read-only: it never writes."), "{diff}");
        assert!(diff.contains("+Reads and writes."), "{diff}");
        assert!(
            diff.contains(" Asks one host."),
            "unchanged context: {diff}"
        );
        assert_eq!(changes["categories_added"], json!(["productivity"]));
        assert_eq!(changes["categories_removed"], json!([]));
        assert_eq!(
            changes["price_cents"],
            json!({"before": null, "after": 4900})
        );

        // The submitter reads the same; another account reads nothing.
        let own = api.get(&format!("/v1/submissions/{second}"), olga).await;
        assert_eq!(own.json["listing_changes"], *changes);
        let stranger = account(&api, "ursula").await;
        let r = api
            .get(&format!("/v1/submissions/{second}"), stranger.token())
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        t.cleanup().await;
    }
}
