//! The `install_consents` table on SQLite and PostgreSQL, and the upgrade
//! from the release before migration 0011.

use workway_store::install_consents::NewConsent;
use workway_store::testing::{earlier_databases, test_stores};

/// An acceptance of `version` by `owner` at `now`.
fn consent<'a>(id: &'a str, owner: &'a str, version: &'a str, now: i64) -> NewConsent<'a> {
    NewConsent {
        id,
        owner,
        integration: "slack",
        version,
        hosts: r#"["slack.com"]"#,
        scopes: r#"{"slack":["chat:write"]}"#,
        consent_digest: "sha256:abc",
        now,
    }
}

#[tokio::test]
async fn acceptances_are_recorded_per_owner_and_read_newest_first() {
    for t in test_stores().await {
        let c = t.store.install_consents();
        c.record(&consent("c1", "ann", "1.0.0", 1_000))
            .await
            .expect("recorded");
        c.record(&consent("c2", "ann", "1.0.0", 2_000))
            .await
            .expect("recorded");
        c.record(&consent("c3", "ann", "2.0.0", 3_000))
            .await
            .expect("recorded");
        c.record(&consent("c4", "bob", "1.0.0", 4_000))
            .await
            .expect("recorded");
        let latest = c
            .latest("ann", "slack", "1.0.0")
            .await
            .expect("read")
            .expect("there is one");
        assert_eq!(
            (latest.id.as_str(), latest.accepted_at),
            ("c2", 2_000),
            "{}",
            t.label
        );
        assert_eq!(latest.hosts, r#"["slack.com"]"#);
        assert_eq!(latest.consent_digest, "sha256:abc");
        let all: Vec<String> = c
            .list("ann", "slack")
            .await
            .expect("read")
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(all, ["c3", "c2", "c1"], "{}", t.label);
        assert!(
            c.latest("carl", "slack", "1.0.0")
                .await
                .expect("read")
                .is_none(),
            "another account's are not carl's"
        );
        t.cleanup().await;
    }
}

/// A database made by the release before 0011 (migrations through 0010)
/// with an installation: the upgrade adds the table and keeps the row.
#[tokio::test]
async fn the_upgrade_to_0011_keeps_installations() {
    for db in earlier_databases(10).await {
        let label = db.label;
        db.execute(
            "INSERT INTO installations (id, owner, integration, version, digest, \
             submission_id, config, created_at, updated_at) \
             VALUES ('i1', $1, 'slack', '1.0.0', 'sha256:one', 's1', '{}', 1000, 1000)",
            &["ann"],
        )
        .await;
        let t = db.upgrade().await;
        let installed = t
            .store
            .installations()
            .find("ann", "slack")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(
            (installed.id.as_str(), installed.version.as_str()),
            ("i1", "1.0.0"),
            "{label}"
        );
        assert!(
            t.store
                .install_consents()
                .latest("ann", "slack", "1.0.0")
                .await
                .expect("the new table is there")
                .is_none(),
            "{label}"
        );
        t.store
            .install_consents()
            .record(&consent("c1", "ann", "1.0.0", 2_000))
            .await
            .expect("recorded after the upgrade");
        t.cleanup().await;
    }
}
