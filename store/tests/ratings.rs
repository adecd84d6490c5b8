//! Ratings and reviews of integrations (`integration_reviews`), on SQLite
//! and (when the server answers) PostgreSQL: one review per author per
//! integration, edited in place; one reply; hiding; pages and the
//! summary; whether a user has run an integration; and the table added to
//! a database an earlier release made, its rows kept.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use workway_store::ratings::{Deleted, NewReview, Summary, Viewer};
use workway_store::testing::{TestStore, earlier_databases, test_stores};

/// A review of `integration` by `author` with `rating`, at `now`.
fn review<'a>(
    id: &'a str,
    integration: &'a str,
    author: &'a str,
    rating: i64,
    now: i64,
) -> NewReview<'a> {
    NewReview {
        id,
        integration,
        author,
        rating,
        title: Some("Works"),
        body: "It does what it says.\nTwice.",
        now,
    }
}

/// A run `run` of `owner` with one attempt of `action` in `status`.
async fn ran(t: &TestStore, run: &str, owner: &str, action: &str, status: &str) {
    t.tamper(
        "INSERT INTO runs (id, workflow_id, workflow_version, owner, trigger_kind, trigger_data, \
         pins, status, next_step, not_before, created_at, updated_at) \
         VALUES ($1, 'wf', 1, $2, 'manual', '{}', '{}', 'succeeded', 1, 0, 0, 0)",
        &[run, owner],
    )
    .await;
    t.tamper(
        "INSERT INTO step_attempts (run_id, step_index, attempt, step_id, action, status, \
         idempotency_key, started_at) VALUES ($1, 0, 1, 'step', $2, $3, $1, 0)",
        &[run, action, status],
    )
    .await;
}

#[tokio::test]
async fn one_review_per_author_edited_in_place() {
    for t in test_stores().await {
        let r = t.store.ratings();
        let (first, new) = r
            .upsert(&review("r1", "slack", "ann", 4, 1_000))
            .await
            .expect("written");
        assert!(new, "{}", t.label);
        assert_eq!(
            (
                first.id.as_str(),
                first.rating,
                first.created_at,
                first.updated_at
            ),
            ("r1", 4, 1_000, 1_000),
            "{}",
            t.label
        );
        assert_eq!(first.body, "It does what it says.\nTwice.");
        assert_eq!(first.title.as_deref(), Some("Works"));

        // Writing again edits the one review: id and created_at kept.
        let mut edit = review("r2", "slack", "ann", 2, 2_000);
        edit.title = None;
        edit.body = "Worse now.";
        let (edited, new) = r.upsert(&edit).await.expect("edited");
        assert!(!new, "{}", t.label);
        assert_eq!(
            (
                edited.id.as_str(),
                edited.rating,
                edited.created_at,
                edited.updated_at
            ),
            ("r1", 2, 1_000, 2_000),
            "{}",
            t.label
        );
        assert_eq!((edited.title, edited.body.as_str()), (None, "Worse now."));
        let page = r
            .page("slack", Viewer::Account("ann"), None, 10)
            .await
            .expect("listed");
        assert_eq!(page.len(), 1, "no duplicate ({})", t.label);

        // Another author, another integration: rows of their own.
        r.upsert(&review("r3", "slack", "bob", 5, 3_000))
            .await
            .expect("written");
        r.upsert(&review("r4", "notion", "ann", 1, 3_000))
            .await
            .expect("written");
        assert_eq!(
            r.find("slack", "bob").await.expect("read").map(|x| x.id),
            Some("r3".to_string())
        );

        // The table refuses a rating out of 1..5 whatever the caller checked.
        assert!(
            r.upsert(&review("r5", "slack", "cy", 6, 3_000))
                .await
                .is_err(),
            "{}",
            t.label
        );

        // Deleting: only the author's own, once, and never a hidden one
        // (kept for moderation).
        assert_eq!(
            r.delete("slack", "ann").await.expect("deleted"),
            Deleted::Deleted
        );
        assert_eq!(
            r.delete("slack", "ann").await.expect("nothing left"),
            Deleted::NotFound
        );
        assert!(r.find("slack", "ann").await.expect("read").is_none());
        assert!(
            r.set_hidden("r3", Some(("admin", "abusive")), 4_000)
                .await
                .expect("hidden")
        );
        assert_eq!(
            r.delete("slack", "bob").await.expect("refused"),
            Deleted::Hidden,
            "{}",
            t.label
        );
        assert!(r.find("slack", "bob").await.expect("read").is_some());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn one_reply_and_hiding_kept_flagged() {
    for t in test_stores().await {
        let r = t.store.ratings();
        r.upsert(&review("r1", "slack", "ann", 1, 1_000))
            .await
            .expect("written");
        r.upsert(&review("r2", "slack", "bob", 5, 2_000))
            .await
            .expect("written");
        assert!(
            r.reply("r1", "dev", "Fixed in 1.1.", 3_000)
                .await
                .expect("replied")
        );
        assert!(
            !r.reply("r1", "dev", "Again", 4_000).await.expect("refused"),
            "one reply ({})",
            t.label
        );
        assert!(
            !r.reply("nope", "dev", "x", 4_000)
                .await
                .expect("no such review")
        );
        let replied = r.get("r1").await.expect("read").expect("there");
        let reply = replied.reply.expect("a reply");
        assert_eq!(
            (reply.body.as_str(), reply.by.as_str(), reply.at),
            ("Fixed in 1.1.", "dev", 3_000)
        );

        // Hidden: kept, flagged; out of others' lists and the summary.
        assert!(
            r.set_hidden("r1", Some(("admin", "abusive")), 5_000)
                .await
                .expect("hidden")
        );
        let hidden = r.get("r1").await.expect("read").expect("kept");
        let flag = hidden.hidden.expect("flagged");
        assert_eq!(
            (flag.by.as_str(), flag.at, flag.reason.as_str()),
            ("admin", 5_000, "abusive")
        );
        let ids = |rows: Vec<workway_store::ratings::ReviewRow>| {
            rows.into_iter().map(|x| x.id).collect::<Vec<_>>()
        };
        assert_eq!(
            ids(r
                .page("slack", Viewer::Account("bob"), None, 10)
                .await
                .expect("listed")),
            ["r2"],
            "{}",
            t.label
        );
        assert_eq!(
            ids(r
                .page("slack", Viewer::Account("ann"), None, 10)
                .await
                .expect("listed")),
            ["r2", "r1"],
            "the author still sees it ({})",
            t.label
        );
        assert_eq!(
            ids(r
                .page("slack", Viewer::Everything, None, 10)
                .await
                .expect("listed")),
            ["r2", "r1"]
        );
        let summary = r.summary("slack").await.expect("summed");
        assert_eq!((summary.count, summary.histogram), (1, [0, 0, 0, 0, 1]));

        // Editing keeps the flag; showing it again clears it.
        r.upsert(&review("r9", "slack", "ann", 3, 6_000))
            .await
            .expect("edited");
        assert!(
            r.get("r1")
                .await
                .expect("read")
                .expect("kept")
                .hidden
                .is_some()
        );
        assert!(r.set_hidden("r1", None, 7_000).await.expect("shown"));
        assert!(
            r.get("r1")
                .await
                .expect("read")
                .expect("kept")
                .hidden
                .is_none()
        );
        assert!(
            !r.set_hidden("nope", None, 7_000)
                .await
                .expect("no such review")
        );
        let summary = r.summary("slack").await.expect("summed");
        assert_eq!((summary.count, summary.histogram), (2, [0, 0, 1, 0, 1]));
        assert_eq!(summary.average_hundredths(), Some(400));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn pages_are_newest_first_and_keyed() {
    for t in test_stores().await {
        let r = t.store.ratings();
        let authors: Vec<String> = (0..7).map(|i| format!("user{i}")).collect();
        for (i, author) in authors.iter().enumerate() {
            let id = format!("r{i}");
            // Two reviews share each time: the id breaks the tie.
            let now = 1_000 + i64::try_from(i / 2).expect("small");
            r.upsert(&review(&id, "slack", author, 3, now))
                .await
                .expect("written");
        }
        let mut seen = Vec::new();
        let mut before: Option<(i64, String)> = None;
        loop {
            let page = r
                .page(
                    "slack",
                    Viewer::Account("nobody"),
                    before.as_ref().map(|(at, id)| (*at, id.as_str())),
                    3,
                )
                .await
                .expect("a page");
            if page.is_empty() {
                break;
            }
            let last = page.last().expect("a row");
            before = Some((last.created_at, last.id.clone()));
            seen.extend(page.into_iter().map(|x| x.id));
        }
        assert_eq!(
            seen,
            ["r6", "r5", "r4", "r3", "r2", "r1", "r0"],
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn has_run_needs_a_called_action_of_the_integration_in_an_own_run() {
    for t in test_stores().await {
        let r = t.store.ratings();
        assert!(!r.has_run("ann", "slack").await.expect("read"));
        // A skipped step never called its action; another integration
        // whose name starts alike is not this one; bob's run is not ann's.
        ran(&t, "run1", "ann", "slack.send-message", "skipped").await;
        ran(&t, "run2", "ann", "slackish.post", "succeeded").await;
        ran(&t, "run3", "bob", "slack.send-message", "succeeded").await;
        assert!(
            !r.has_run("ann", "slack").await.expect("read"),
            "{}",
            t.label
        );
        assert!(r.has_run("ann", "slackish").await.expect("read"));
        assert!(r.has_run("bob", "slack").await.expect("read"));
        // A failed call is a call.
        ran(&t, "run4", "ann", "slack.send-message", "failed").await;
        assert!(
            r.has_run("ann", "slack").await.expect("read"),
            "{}",
            t.label
        );
        t.cleanup().await;
    }
}

/// The summary as the visible `ratings` give it, counted by hand.
fn expected(ratings: &[(i64, bool)]) -> Summary {
    let mut summary = Summary::default();
    for &(rating, hidden) in ratings {
        if !hidden {
            summary.count += 1;
            summary.histogram[usize::try_from(rating - 1).expect("1..5")] += 1;
        }
    }
    summary
}

/// The mean of `ratings` in hundredths, found as the whole number `h`
/// nearest to it (`|h·n − 100·sum|` smallest, the larger on a tie): a
/// different computation from the store's, exact like it.
fn nearest_hundredths(ratings: &[i64]) -> Option<i64> {
    let n = i64::try_from(ratings.len()).expect("few");
    let scaled = 100 * ratings.iter().sum::<i64>();
    (0..=500)
        .filter(|_| n > 0)
        .min_by_key(|h: &i64| ((h * n - scaled).abs(), -h))
}

/// For random sets of ratings, some hidden, the summary's count and
/// histogram are those of the visible ratings, and its average is their
/// mean rounded half up to hundredths.
#[test]
fn the_summary_agrees_with_the_visible_ratings() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let stores = runtime.block_on(test_stores());
    let mut runner = TestRunner::new(Config {
        cases: 24,
        ..Config::default()
    });
    let case = std::cell::Cell::new(0_u32);
    let strategy = prop::collection::vec((1_i64..=5, any::<bool>()), 0..30);
    let outcome = runner.run(&strategy, |ratings| {
        case.set(case.get() + 1);
        let integration = format!("integration-{}", case.get());
        let want = expected(&ratings);
        runtime.block_on(async {
            for t in &stores {
                let r = t.store.ratings();
                for (i, &(rating, hidden)) in ratings.iter().enumerate() {
                    let id = format!("{integration}-{i}");
                    let author = format!("user{i}");
                    r.upsert(&review(&id, &integration, &author, rating, 1_000))
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    if hidden {
                        r.set_hidden(&id, Some(("admin", "abusive")), 2_000)
                            .await
                            .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    }
                }
                let got = r
                    .summary(&integration)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(got, want, "{}", t.label);
                let visible: Vec<i64> = ratings
                    .iter()
                    .filter(|(_, hidden)| !hidden)
                    .map(|(rating, _)| *rating)
                    .collect();
                // What a visitor's list shows is exactly what is counted.
                let mut listed: Vec<i64> = r
                    .page(&integration, Viewer::Account("visitor"), None, 100)
                    .await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?
                    .iter()
                    .map(|x| x.rating)
                    .collect();
                listed.sort_unstable();
                let mut counted = visible.clone();
                counted.sort_unstable();
                prop_assert_eq!(listed, counted, "{}", t.label);
                let average = nearest_hundredths(&visible);
                prop_assert_eq!(got.average_hundredths(), average, "{}", t.label);
            }
            Ok(())
        })
    });
    runtime.block_on(async {
        for t in stores {
            t.cleanup().await;
        }
    });
    outcome.expect("the summary agrees with the visible ratings");
}

/// A database made by the release before `integration_reviews` (its last
/// migration 0008) with users who installed and ran an integration: the
/// upgrade adds the table, keeps every row, and the old runs count as
/// having run the integration.
#[tokio::test]
async fn the_upgrade_keeps_an_earlier_release_rows() {
    for db in earlier_databases(8).await {
        let label = db.label;
        db.execute(
            "INSERT INTO integration_owners (integration, owner, submission_id, claimed_at) \
             VALUES ('slack', $1, 's1', 1000)",
            &["dev"],
        )
        .await;
        db.execute(
            "INSERT INTO installations (id, owner, integration, version, digest, \
             submission_id, config, created_at, updated_at) \
             VALUES ('i1', $1, 'slack', '1.0.0', 'sha256:one', 's1', '{}', 1000, 1000)",
            &["ann"],
        )
        .await;
        db.execute(
            "INSERT INTO runs (id, workflow_id, workflow_version, owner, trigger_kind, \
             trigger_data, pins, status, next_step, not_before, created_at, updated_at) \
             VALUES ('run1', 'wf', 1, $1, 'manual', '{}', '{}', 'succeeded', 1, 0, 2000, 2000)",
            &["ann"],
        )
        .await;
        db.execute(
            "INSERT INTO step_attempts (run_id, step_index, attempt, step_id, action, status, \
             idempotency_key, started_at) \
             VALUES ('run1', 0, 1, 'tell', $1, 'succeeded', 'k1', 2000)",
            &["slack.send-message"],
        )
        .await;
        let t = db.upgrade().await;
        let store = &t.store;
        let owner = store
            .submissions()
            .owner("slack")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(owner.owner, "dev", "{label}");
        let installed = store
            .installations()
            .find("ann", "slack")
            .await
            .expect("read")
            .expect("kept");
        assert_eq!((installed.id.as_str(), installed.created_at), ("i1", 1000));
        let run = store.runs().get("run1").await.expect("read").expect("kept");
        assert_eq!(run.owner, "ann", "{label}");
        assert!(store.ratings().has_run("ann", "slack").await.expect("read"));
        let (written, new) = store
            .ratings()
            .upsert(&review("r1", "slack", "ann", 5, 3_000))
            .await
            .expect("the new table takes reviews");
        assert!(new && written.rating == 5, "{label}");
        assert_eq!(
            store
                .ratings()
                .summary("slack")
                .await
                .expect("summed")
                .count,
            1
        );
        t.cleanup().await;
    }
}
