//! The listings' tables on SQLite and (when the server answers)
//! PostgreSQL: a listing written and replaced with its icon kept, the
//! price range held by the schema too, entitlements granted once, and the
//! upgrade of a database made by the release before them.

use workway_store::listings::ListingFields;
use workway_store::testing::{earlier_databases, test_stores};

fn fields<'a>(summary: &'a str, price_cents: Option<i64>, now: i64) -> ListingFields<'a> {
    ListingFields {
        name: "slack",
        summary,
        description: "# Slack\n\nPosts messages.",
        categories: "[\"communication\"]",
        changelog: "{\"1.0.0\":\"First.\"}",
        price_cents,
        updated_by: "dev",
        now,
    }
}

#[tokio::test]
async fn a_listing_is_written_replaced_and_keeps_its_icon() {
    for t in test_stores().await {
        let listings = t.store.listings();
        assert_eq!(listings.get("slack").await.expect("reads"), None);

        let icon = listings
            .set_icon("slack", "sha256:abc", "image/png", "dev", 1000)
            .await
            .expect("icon set on no listing");
        assert_eq!(
            (
                icon.summary.as_str(),
                icon.categories.as_str(),
                icon.price_cents
            ),
            ("", "[]", None),
            "an icon alone makes an empty, free listing ({})",
            t.label
        );

        let first = listings
            .put(&fields("Post to Slack", Some(4900), 2000))
            .await
            .expect("put");
        assert_eq!(first.summary, "Post to Slack");
        assert_eq!(first.price_cents, Some(4900));
        assert_eq!(
            first.icon_digest.as_deref(),
            Some("sha256:abc"),
            "icon kept"
        );
        assert_eq!(first.created_at, 1000);
        assert_eq!(first.updated_at, 2000);

        let second = listings
            .put(&fields("Slack, free now", None, 3000))
            .await
            .expect("replaced");
        assert_eq!(second.price_cents, None);
        assert_eq!(second.icon_type.as_deref(), Some("image/png"));
        assert_eq!(listings.get("slack").await.expect("reads"), Some(second));

        // The schema holds the price range even if a caller skipped the
        // engine's check.
        for bad in [1899, 24901, -1] {
            assert!(
                listings.put(&fields("Bad", Some(bad), 4000)).await.is_err(),
                "{bad} refused by the schema ({})",
                t.label
            );
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn entitlements_are_granted_once_per_account_and_integration() {
    for t in test_stores().await {
        let listings = t.store.listings();
        assert!(
            !listings
                .has_entitlement("ann", "slack")
                .await
                .expect("reads")
        );
        assert!(
            listings
                .grant_entitlement("ann", "slack", "grant:ada", 1000)
                .await
                .expect("granted")
        );
        assert!(
            !listings
                .grant_entitlement("ann", "slack", "purchase:p1", 2000)
                .await
                .expect("granted again"),
            "the first grant is kept"
        );
        let row = listings
            .entitlement("ann", "slack")
            .await
            .expect("reads")
            .expect("one");
        assert_eq!((row.granted_at, row.source.as_str()), (1000, "grant:ada"));
        assert!(
            listings
                .has_entitlement("ann", "slack")
                .await
                .expect("reads")
        );
        assert!(
            !listings
                .has_entitlement("bob", "slack")
                .await
                .expect("reads")
        );
        assert!(
            !listings
                .has_entitlement("ann", "gmail")
                .await
                .expect("reads")
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_earlier_database_upgrades_with_its_rows_and_the_new_tables() {
    for db in earlier_databases(11).await {
        let label = db.label;
        db.execute(
            "INSERT INTO integration_owners (integration, owner, submission_id, claimed_at) \
             VALUES ('slack', $1, 's1', 1000)",
            &["dev"],
        )
        .await;
        db.execute(
            "INSERT INTO developer_profiles (account_id, display_name, support_contact, \
             created_at, updated_at) VALUES ($1, 'Acme', 'help@acme.example', 1000, 1000)",
            &["dev"],
        )
        .await;
        let t = db.upgrade().await;
        let owner = t
            .store
            .submissions()
            .owner("slack")
            .await
            .expect("reads")
            .expect("kept");
        assert_eq!(owner.owner, "dev", "{label}");
        let profile = t
            .store
            .publishers()
            .profile("dev")
            .await
            .expect("reads")
            .expect("kept");
        assert_eq!(profile.display_name, "Acme", "{label}");
        assert_eq!(t.store.listings().get("slack").await.expect("reads"), None);
        t.store
            .listings()
            .put(&fields("Post to Slack", Some(1900), 2000))
            .await
            .expect("the new table takes a listing");
        assert!(
            t.store
                .listings()
                .grant_entitlement("ann", "slack", "grant:ada", 2000)
                .await
                .expect("the new table takes an entitlement")
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn every_write_of_a_listing_is_kept_as_a_numbered_revision() {
    for t in test_stores().await {
        let listings = t.store.listings();
        for (summary, now) in [("First", 1_000), ("Second", 2_000), ("Third", 3_000)] {
            listings
                .put(&fields(summary, None, now))
                .await
                .expect("put");
        }
        let all = listings.revisions("slack", 100).await.expect("read");
        let seen: Vec<(i64, &str, i64)> = all
            .iter()
            .map(|r| (r.revision, r.summary.as_str(), r.written_at))
            .collect();
        assert_eq!(
            seen,
            vec![
                (1, "First", 1_000),
                (2, "Second", 2_000),
                (3, "Third", 3_000)
            ],
            "{}",
            t.label
        );
        let at = |ms| listings.revision_at("slack", ms);
        assert_eq!(at(999).await.expect("read"), None, "{}", t.label);
        let then = at(2_500).await.expect("read").expect("one");
        assert_eq!((then.revision, then.summary.as_str()), (2, "Second"));
        let exact = at(3_000).await.expect("read").expect("one");
        assert_eq!(exact.revision, 3, "{}", t.label);
        assert!(
            listings
                .revision_at("other", 5_000)
                .await
                .expect("read")
                .is_none()
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn concurrent_writes_of_one_listing_number_their_revisions_apart() {
    for t in test_stores().await {
        let listings = t.store.listings();
        let mut writes = tokio::task::JoinSet::new();
        for i in 0..8 {
            let store = t.store.clone();
            writes.spawn(async move {
                let summary = format!("Write {i}");
                store
                    .listings()
                    .put(&fields(&summary, None, 1_000 + i))
                    .await
                    .map(|_| ())
            });
        }
        while let Some(write) = writes.join_next().await {
            write.expect("joined").expect("written");
        }
        let numbers: Vec<i64> = listings
            .revisions("slack", 100)
            .await
            .expect("read")
            .iter()
            .map(|r| r.revision)
            .collect();
        assert_eq!(numbers, (1..=8).collect::<Vec<_>>(), "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_listing_of_the_previous_release_becomes_its_first_revision() {
    for db in earlier_databases(15).await {
        let label = db.label;
        db.execute(
            "INSERT INTO marketplace_integrations (name, summary, description, categories, \
             changelog, price_cents, updated_by, created_at, updated_at) \
             VALUES ('slack', $1, 'Posts.', '[\"communication\"]', '{}', 4900, 'dev', 10, 20)",
            &["Post to Slack"],
        )
        .await;
        let t = db.upgrade().await;
        let revisions = t
            .store
            .listings()
            .revisions("slack", 10)
            .await
            .expect("read");
        assert_eq!(revisions.len(), 1, "{label}");
        let first = &revisions[0];
        assert_eq!(
            (
                first.revision,
                first.summary.as_str(),
                first.price_cents,
                first.written_by.as_str(),
                first.written_at
            ),
            (1, "Post to Slack", Some(4900), "dev", 20),
            "{label}"
        );
        let listing = t
            .store
            .listings()
            .get("slack")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(listing.summary, "Post to Slack", "{label}");
        t.cleanup().await;
    }
}
