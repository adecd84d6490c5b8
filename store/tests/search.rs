//! The marketplace search on SQLite and (when the server answers)
//! PostgreSQL: documents written with approvals, revocations and
//! listings; ranking, stemming and prefixes; filters; orders; keyset
//! pages; hostile text; a bulk rebuild; and the upgrade of a database the
//! release before search made.

use std::collections::BTreeSet;

use workway_store::Store;
use workway_store::listings::ListingFields;
use workway_store::search::{
    MAX_QUERY_CHARS, PriceFilter, SearchError, SearchHit, SearchQuery, SearchSort,
};
use workway_store::submissions::{NewSubmission, SubmissionState, Transition};
use workway_store::testing::{TestStore, earlier_databases, test_stores};

/// A manifest of `name` at `version` asking `providers` for no scopes.
fn manifest(name: &str, version: &str, description: &str, providers: &[&str]) -> String {
    let mut text = format!(
        "name = \"{name}\"\nversion = \"{version}\"\npublisher = \"tests\"\n\
         description = \"{description}\"\n"
    );
    for p in providers {
        text.push_str(&format!("[oauth.{p}]\nscopes = []\n"));
    }
    text
}

/// Submit and approve `name` `version` as `by`: the submission's id.
async fn approve(
    store: &Store,
    name: &str,
    version: &str,
    description: &str,
    providers: &[&str],
    now: i64,
) -> String {
    let id = format!("sub_{name}_{version}");
    store
        .submissions()
        .insert(&NewSubmission {
            id: &id,
            integration: name,
            version,
            digest: &format!("sha256:{id}"),
            manifest: &manifest(name, version, description, providers),
            manifest_sha256: "abc",
            contract_version: "0.1.0",
            size: 1,
            submitted_by: "dev",
            report: "{}",
            now,
        })
        .await
        .expect("insert");
    store
        .submissions()
        .approve(
            &Transition {
                id: &id,
                from: SubmissionState::PendingReview,
                to: SubmissionState::Approved,
                actor: "rita",
                reason: None,
                approval: Some("{}"),
                now,
            },
            name,
            "dev",
        )
        .await
        .expect("approve runs");
    id
}

/// Write `name`'s listing.
async fn list(
    store: &Store,
    name: &str,
    summary: &str,
    description: &str,
    categories: &str,
    price_cents: Option<i64>,
) {
    store
        .listings()
        .put(&ListingFields {
            name,
            summary,
            description,
            categories,
            changelog: "{}",
            price_cents,
            updated_by: "dev",
            now: 5_000,
        })
        .await
        .expect("listing written");
}

/// The names one page of `query` finds.
async fn names(store: &Store, query: SearchQuery) -> Vec<String> {
    store
        .search()
        .search(&query)
        .await
        .expect("searched")
        .hits
        .into_iter()
        .map(|h| h.name)
        .collect()
}

fn text(q: &str) -> SearchQuery {
    SearchQuery {
        text: Some(q.into()),
        ..SearchQuery::default()
    }
}

/// Five integrations: `slack-notify` (name and summary about Slack),
/// `mailer` (Slack only in its description), `invoicer` (paid, Stripe),
/// `sheets` (Google, productivity), `sender` (sends email).
async fn seed(t: &TestStore) {
    let s = &t.store;
    approve(s, "slack-notify", "1.0.0", "Notify.", &["slack"], 1_000).await;
    approve(s, "mailer", "1.0.0", "Mail.", &["google"], 2_000).await;
    approve(s, "invoicer", "1.0.0", "Invoices.", &["stripe"], 3_000).await;
    approve(s, "sheets", "1.0.0", "Sheets.", &["google"], 4_000).await;
    approve(s, "sender", "2.0.0", "Send email to anyone.", &[], 4_500).await;
    list(
        s,
        "slack-notify",
        "Post alerts to Slack",
        "Posts an alert to a channel.",
        "[\"communication\"]",
        None,
    )
    .await;
    list(
        s,
        "mailer",
        "Email digests",
        "Sends a digest by email; can also copy it to Slack.",
        "[\"communication\",\"productivity\"]",
        None,
    )
    .await;
    list(
        s,
        "invoicer",
        "Invoices from Stripe charges",
        "Turns charges into invoices.",
        "[\"finance\"]",
        Some(4_900),
    )
    .await;
    list(
        s,
        "sheets",
        "Rows into spreadsheets",
        "Appends rows.",
        "[\"productivity\"]",
        Some(1_900),
    )
    .await;
}

#[tokio::test]
async fn words_rank_stem_and_prefix_and_filters_keep_what_they_say() {
    for t in test_stores().await {
        seed(&t).await;
        let s = &t.store;
        let l = t.label;

        // A name or summary match ranks above a description-only one.
        assert_eq!(
            names(s, text("slack")).await,
            ["slack-notify", "mailer"],
            "{l}"
        );
        // The last word is a prefix; stemming finds "sends" and "send"
        // from "sending".
        assert_eq!(names(s, text("sla")).await, ["slack-notify", "mailer"]);
        let sending: BTreeSet<String> = names(s, text("sending")).await.into_iter().collect();
        assert_eq!(
            sending,
            ["mailer", "sender"].map(String::from).into(),
            "{l}"
        );
        // Every word is required.
        assert_eq!(names(s, text("slack digest")).await, ["mailer"], "{l}");
        // Without a listing the manifest's description speaks.
        assert_eq!(names(s, text("anyone")).await, ["sender"], "{l}");

        let browse = |f: fn(&mut SearchQuery)| {
            let mut q = SearchQuery {
                sort: Some(SearchSort::Newest),
                ..SearchQuery::default()
            };
            f(&mut q);
            q
        };
        assert_eq!(
            names(s, browse(|q| q.category = Some("productivity".into()))).await,
            ["sheets", "mailer"],
            "{l}"
        );
        assert_eq!(
            names(s, browse(|q| q.provider = Some("google".into()))).await,
            ["sheets", "mailer"],
            "{l}"
        );
        assert_eq!(
            names(s, browse(|q| q.price = Some(PriceFilter::Paid))).await,
            ["sheets", "invoicer"],
            "{l}"
        );
        assert_eq!(
            names(s, browse(|q| q.price = Some(PriceFilter::Free))).await,
            ["sender", "mailer", "slack-notify"],
            "{l}"
        );
        assert_eq!(
            names(s, browse(|q| q.max_price_cents = Some(2_000))).await,
            ["sender", "sheets", "mailer", "slack-notify"],
            "{l}"
        );
        assert_eq!(
            names(s, browse(|q| q.category = Some("crm".into()))).await,
            Vec::<String>::new()
        );

        // The results carry what a result row shows.
        let hit: SearchHit = s
            .search()
            .search(&text("invoices"))
            .await
            .expect("searched")
            .hits
            .remove(0);
        assert_eq!(hit.name, "invoicer");
        assert_eq!(hit.categories, ["finance"]);
        assert_eq!(hit.providers, ["stripe"]);
        assert_eq!(hit.price_cents, Some(4_900));
        assert_eq!(hit.version, "1.0.0");
        assert_eq!(hit.first_approved_at, 3_000);
        assert_eq!((hit.installs_current, hit.rating_tenths()), (0, None));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn orders_pages_revocations_and_edits_follow_the_rows() {
    for t in test_stores().await {
        seed(&t).await;
        let s = &t.store;
        let l = t.label;
        for (name, installs, count, sum) in [
            ("sheets", 40, 2, 9),
            ("mailer", 40, 4, 18),
            ("invoicer", 7, 1, 5),
        ] {
            t.tamper(
                &format!(
                    "INSERT INTO integration_stats (integration, installs_current, \
                     installs_total, rating_count, rating_sum, updated_at) \
                     VALUES ($1, {installs}, {installs}, {count}, {sum}, 0)"
                ),
                &[name],
            )
            .await;
        }
        let sorted = |sort| SearchQuery {
            sort: Some(sort),
            ..SearchQuery::default()
        };
        // Installs (the default without words), ties by name.
        assert_eq!(
            names(s, SearchQuery::default()).await,
            ["mailer", "sheets", "invoicer", "sender", "slack-notify"],
            "{l}"
        );
        // Rating: 5.0, then 4.5 with more ratings, then 4.5.
        assert_eq!(
            names(s, sorted(SearchSort::Rating)).await,
            ["invoicer", "mailer", "sheets", "sender", "slack-notify"],
            "{l}"
        );
        assert_eq!(
            names(s, sorted(SearchSort::Newest)).await,
            ["sender", "sheets", "invoicer", "mailer", "slack-notify"],
            "{l}"
        );

        // Pages of two cover everything once, in every order.
        for sort in [SearchSort::Installs, SearchSort::Rating, SearchSort::Newest] {
            let mut seen = Vec::new();
            let mut cursor = None;
            loop {
                let page = s
                    .search()
                    .search(&SearchQuery {
                        sort: Some(sort),
                        limit: 2,
                        cursor,
                        ..SearchQuery::default()
                    })
                    .await
                    .expect("a page");
                assert!(page.hits.len() <= 2);
                seen.extend(page.hits.into_iter().map(|h| h.name));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, names(s, sorted(sort)).await, "{l} {sort:?}");
        }
        let first = s
            .search()
            .search(&SearchQuery {
                text: Some("e".into()),
                limit: 1,
                ..SearchQuery::default()
            })
            .await
            .expect("a page");
        // A cursor is for the search that made it.
        let other = s
            .search()
            .search(&SearchQuery {
                text: Some("slack".into()),
                cursor: first.next_cursor.clone(),
                ..SearchQuery::default()
            })
            .await;
        assert!(
            matches!(
                other,
                Err(SearchError::Invalid {
                    field: "cursor",
                    ..
                })
            ),
            "{other:?}"
        );

        // An edit of the listing is found at once; a revoked integration
        // is not.
        list(
            s,
            "sheets",
            "Rows into spreadsheets and calendars",
            "Appends rows.",
            "[\"productivity\"]",
            None,
        )
        .await;
        assert_eq!(names(s, text("calendars")).await, ["sheets"], "{l}");
        let revoke = s
            .submissions()
            .revoke(
                &Transition {
                    id: "sub_slack-notify_1.0.0",
                    from: SubmissionState::Approved,
                    to: SubmissionState::Revoked,
                    actor: "rita",
                    reason: Some("leaks"),
                    approval: None,
                    now: 9_000,
                },
                "sha256:x",
                &|seq| format!("{{\"seq\":{seq}}}"),
            )
            .await
            .expect("revoked");
        assert!(revoke.is_some());
        assert_eq!(names(s, text("slack")).await, ["mailer"], "{l}");
        assert!(
            !names(s, SearchQuery::default())
                .await
                .contains(&"slack-notify".to_string())
        );

        // A second approved version is the one shown; revoking it leaves
        // the first.
        let v2 = approve(s, "sender", "2.1.0", "Send email, faster.", &[], 9_500).await;
        let version = |q| async move {
            let page = s.search().search(&text(q)).await.expect("searched");
            page.hits.first().map(|h| h.version.clone())
        };
        assert_eq!(version("faster").await.as_deref(), Some("2.1.0"), "{l}");
        s.submissions()
            .revoke(
                &Transition {
                    id: &v2,
                    from: SubmissionState::Approved,
                    to: SubmissionState::Revoked,
                    actor: "rita",
                    reason: Some("slow"),
                    approval: None,
                    now: 9_600,
                },
                "sha256:y",
                &|seq| format!("{{\"seq\":{seq}}}"),
            )
            .await
            .expect("revoked");
        assert_eq!(version("anyone").await.as_deref(), Some("2.0.0"), "{l}");

        // A rebuild writes the same documents.
        assert_eq!(s.search().rebuild().await.expect("rebuilt"), 4, "{l}");
        assert_eq!(names(s, text("calendars")).await, ["sheets"], "{l}");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn hostile_text_is_searched_as_words_or_refused_by_name() {
    for t in test_stores().await {
        seed(&t).await;
        let s = &t.store;
        for q in [
            "\"",
            "\"slack",
            "slack\"",
            "NEAR(slack mailer)",
            "slack*",
            "*",
            "name:slack",
            "slack & mailer | !x",
            "(((",
            ")",
            "' OR 1=1 --",
            "\\",
            "AND OR NOT",
            "-slack",
            "^slack",
            "{slack}",
            "é",
            "the",
            "🙂",
            "ǅ İ",
        ] {
            let page = s.search().search(&text(q)).await;
            assert!(page.is_ok(), "{} `{q}`: {page:?}", t.label);
        }
        let long = "x".repeat(MAX_QUERY_CHARS + 1);
        let refused = s.search().search(&text(&long)).await;
        assert!(
            matches!(refused, Err(SearchError::Invalid { field: "q", .. })),
            "{refused:?}"
        );
        let refused = s
            .search()
            .search(&SearchQuery {
                cursor: Some("not a cursor".into()),
                ..SearchQuery::default()
            })
            .await;
        assert!(matches!(
            refused,
            Err(SearchError::Invalid {
                field: "cursor",
                ..
            })
        ));
        let refused = s
            .search()
            .search(&SearchQuery {
                limit: 101,
                ..SearchQuery::default()
            })
            .await;
        assert!(matches!(
            refused,
            Err(SearchError::Invalid { field: "limit", .. })
        ));
        let refused = s
            .search()
            .search(&SearchQuery {
                text: Some("!!".into()),
                sort: Some(SearchSort::Relevance),
                ..SearchQuery::default()
            })
            .await;
        assert!(matches!(
            refused,
            Err(SearchError::Invalid { field: "sort", .. })
        ));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn an_upgraded_database_finds_the_integrations_it_had() {
    for db in earlier_databases(13).await {
        let label = db.label;
        let slack = manifest("slack", "1.2.0", "Post to Slack.", &["slack"]);
        for (id, version, state, manifest) in [
            ("s1", "1.0.0", "approved", slack.replace("1.2.0", "1.0.0")),
            ("s2", "1.2.0", "approved", slack.clone()),
            (
                "s3",
                "2.0.0",
                "pending_review",
                slack.replace("1.2.0", "2.0.0"),
            ),
            (
                "g1",
                "1.0.0",
                "revoked",
                manifest("gone", "1.0.0", "Gone.", &[]),
            ),
        ] {
            let integration = if id == "g1" { "gone" } else { "slack" };
            db.execute(
                "INSERT INTO submissions (id, integration, version, digest, manifest, \
                 manifest_sha256, contract_version, size, submitted_by, state, report, \
                 approval, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'sha256:x', $4, 'abc', '0.1.0', 1, 'dev', $5, '{}', \
                 NULL, 1000, 1000)",
                &[id, integration, version, manifest.as_str(), state],
            )
            .await;
        }
        db.execute(
            "INSERT INTO integration_owners (integration, owner, submission_id, claimed_at) \
             VALUES ('slack', 'dev', 's1', 1000)",
            &[],
        )
        .await;
        db.execute(
            "INSERT INTO developer_profiles (account_id, display_name, support_contact, \
             created_at, updated_at) VALUES ('dev', 'Acme', 'help@acme.example', 1000, 1000)",
            &[],
        )
        .await;
        db.execute(
            "INSERT INTO marketplace_integrations (name, summary, description, categories, \
             changelog, price_cents, updated_by, created_at, updated_at) \
             VALUES ('slack', 'Messages to channels', 'Posts.', '[\"communication\"]', '{}', \
             NULL, 'dev', 1000, 1000)",
            &[],
        )
        .await;
        let t = db.upgrade().await;
        let page = t
            .store
            .search()
            .search(&SearchQuery {
                text: Some("channels".into()),
                provider: Some("slack".into()),
                ..SearchQuery::default()
            })
            .await
            .expect("searched");
        assert_eq!(page.hits.len(), 1, "{label}");
        let hit = &page.hits[0];
        assert_eq!(hit.name, "slack");
        assert_eq!(hit.version, "1.2.0", "the newest approved version");
        assert_eq!(hit.publisher.as_deref(), Some("Acme"));
        assert_eq!(hit.categories, ["communication"]);
        let all = names(&t.store, SearchQuery::default()).await;
        assert_eq!(all, ["slack"], "{label}: a revoked name is not found");
        // Opening it again writes nothing twice.
        let again = t.reopen().await;
        assert_eq!(names(&again, SearchQuery::default()).await, ["slack"]);
        again.close().await;
        t.cleanup().await;
    }
}
