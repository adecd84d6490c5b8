//! The marketplace's figures (`integration_stats`,
//! `integration_usage_daily`, `usage_rollup_cursor`), on SQLite and (when
//! the server answers) PostgreSQL: installs and ratings kept exact in the
//! transactions that change them, whatever the sequence of changes; the
//! roll-up's cursor moved once per batch; the bulk loaders; and the
//! figures an upgrade computes from an earlier release's rows.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use workway_store::Store;
use workway_store::installations::NewInstallation;
use workway_store::ratings::NewReview;
use workway_store::testing::{TestStore, earlier_databases, test_stores};
use workway_store::usage::{IntegrationStats, RollupCursor, UsageDay};

/// Install `integration` for `owner` (a fresh id each time, as the engine
/// does).
async fn install(store: &Store, owner: &str, integration: &str, version: &str) -> String {
    store
        .installations()
        .upsert(&NewInstallation {
            id: &uuid::Uuid::new_v4().to_string(),
            owner,
            integration,
            version,
            digest: "sha256:x",
            submission_id: "s1",
            config: "{}",
            now: 1_000,
        })
        .await
        .expect("installed")
        .id
}

/// `author`'s review of `integration` with `rating`.
async fn rate(store: &Store, author: &str, integration: &str, rating: i64) {
    store
        .ratings()
        .upsert(&NewReview {
            id: &uuid::Uuid::new_v4().to_string(),
            integration,
            author,
            rating,
            title: None,
            body: "",
            now: 1_000,
        })
        .await
        .expect("rated");
}

/// The figures as kept, `updated_at` left out.
async fn kept(store: &Store, integration: &str) -> IntegrationStats {
    let mut stats = store
        .usage()
        .stats(integration)
        .await
        .expect("read")
        .unwrap_or_default();
    stats.updated_at = 0;
    stats.integration = integration.to_string();
    stats
}

#[tokio::test]
async fn installs_count_fresh_installs_only() {
    for t in test_stores().await {
        let s = &t.store;
        assert_eq!(s.usage().stats("slack").await.expect("read"), None);
        install(s, "ann", "slack", "1.0.0").await;
        install(s, "ann", "slack", "1.1.0").await; // an upgrade in place
        install(s, "bob", "slack", "1.0.0").await;
        let stats = kept(s, "slack").await;
        assert_eq!(
            (stats.installs_current, stats.installs_total),
            (2, 2),
            "{}",
            t.label
        );
        assert!(
            s.installations()
                .delete("ann", "slack")
                .await
                .expect("gone")
        );
        assert!(
            !s.installations()
                .delete("ann", "slack")
                .await
                .expect("read")
        );
        let stats = kept(s, "slack").await;
        assert_eq!(
            (stats.installs_current, stats.installs_total),
            (1, 2),
            "{}",
            t.label
        );
        install(s, "ann", "slack", "1.1.0").await;
        let stats = kept(s, "slack").await;
        assert_eq!(
            (stats.installs_current, stats.installs_total),
            (2, 3),
            "{}",
            t.label
        );
        assert_eq!(kept(s, "github").await.installs_total, 0);
        t.cleanup().await;
    }
}

/// One change to installations or reviews, by one of a few users of one
/// of two integrations.
#[derive(Debug, Clone)]
enum Op {
    Install(usize, usize),
    Uninstall(usize, usize),
    Rate(usize, usize, i64),
    Hide(usize, usize),
    Unhide(usize, usize),
    DeleteReview(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let who = || (0_usize..4, 0_usize..2);
    prop_oneof![
        who().prop_map(|(u, i)| Op::Install(u, i)),
        who().prop_map(|(u, i)| Op::Uninstall(u, i)),
        (who(), 1_i64..=5).prop_map(|((u, i), r)| Op::Rate(u, i, r)),
        who().prop_map(|(u, i)| Op::Hide(u, i)),
        who().prop_map(|(u, i)| Op::Unhide(u, i)),
        who().prop_map(|(u, i)| Op::DeleteReview(u, i)),
    ]
}

/// Apply `ops` to integrations `{prefix}-0` and `{prefix}-1`; how many
/// fresh installs each got.
async fn apply(store: &Store, prefix: &str, ops: &[Op]) -> Result<[i64; 2], TestCaseError> {
    let fail = |e: workway_store::StoreError| TestCaseError::fail(e.to_string());
    let name = |i: usize| format!("{prefix}-{i}");
    let user = |u: usize| format!("user{u}");
    let mut installed: BTreeSet<(usize, usize)> = BTreeSet::new();
    let mut totals = [0; 2];
    for op in ops {
        match *op {
            Op::Install(u, i) => {
                install(store, &user(u), &name(i), "1.0.0").await;
                if installed.insert((u, i)) {
                    totals[i] += 1;
                }
            }
            Op::Uninstall(u, i) => {
                let gone = store
                    .installations()
                    .delete(&user(u), &name(i))
                    .await
                    .map_err(fail)?;
                prop_assert_eq!(gone, installed.remove(&(u, i)));
            }
            Op::Rate(u, i, r) => rate(store, &user(u), &name(i), r).await,
            Op::Hide(u, i) | Op::Unhide(u, i) => {
                if let Some(review) = store
                    .ratings()
                    .find(&name(i), &user(u))
                    .await
                    .map_err(fail)?
                {
                    let hidden = matches!(op, Op::Hide(..)).then_some(("admin", "abusive"));
                    store
                        .ratings()
                        .set_hidden(&review.id, hidden, 2_000)
                        .await
                        .map_err(fail)?;
                }
            }
            Op::DeleteReview(u, i) => {
                store
                    .ratings()
                    .delete(&name(i), &user(u))
                    .await
                    .map_err(fail)?;
            }
        }
    }
    Ok(totals)
}

#[test]
fn kept_figures_equal_a_recount_after_any_changes() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let stores = runtime.block_on(test_stores());
    for t in &stores {
        let cases = if t.label == "sqlite" { 48 } else { 12 };
        let mut runner = TestRunner::new(Config {
            cases,
            ..Config::default()
        });
        let case = std::cell::Cell::new(0_u32);
        let outcome = runner.run(&prop::collection::vec(op(), 0..40), |ops| {
            case.set(case.get() + 1);
            let prefix = format!("case{}", case.get());
            runtime.block_on(async {
                let totals = apply(&t.store, &prefix, &ops).await?;
                for (i, total) in totals.iter().enumerate() {
                    let integration = format!("{prefix}-{i}");
                    let mut want = t
                        .store
                        .usage()
                        .recount(&integration)
                        .await
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                    want.installs_total = *total;
                    prop_assert_eq!(kept(&t.store, &integration).await, want, "{}", t.label);
                }
                Ok(())
            })
        });
        if let Err(e) = outcome {
            panic!("{}: {e}", t.label);
        }
    }
    runtime.block_on(async {
        for t in stores {
            t.cleanup().await;
        }
    });
}

/// Reviews and installs written at once from many connections still
/// leave the figures equal to a recount (on PostgreSQL the stats row's
/// lock orders the recounts).
#[tokio::test]
async fn concurrent_writes_keep_the_figures_exact() {
    for t in test_stores().await {
        let mut tasks = Vec::new();
        for u in 0..12 {
            let store = t.store.clone();
            tasks.push(tokio::spawn(async move {
                let user = format!("user{u}");
                install(&store, &user, "busy", "1.0.0").await;
                rate(&store, &user, "busy", u % 5 + 1).await;
                if u % 3 == 0 {
                    store
                        .ratings()
                        .delete("busy", &user)
                        .await
                        .expect("deleted");
                    store
                        .installations()
                        .delete(&user, "busy")
                        .await
                        .expect("uninstalled");
                }
            }));
        }
        for task in tasks {
            task.await.expect("the writer finished");
        }
        let mut want = t.store.usage().recount("busy").await.expect("counted");
        want.installs_total = 12;
        assert_eq!(kept(&t.store, "busy").await, want, "{}", t.label);
        assert_eq!((want.installs_current, want.rating_count), (8, 8));
        t.cleanup().await;
    }
}

/// Insert attempt `(run, step, attempt)` of `action` in `status`.
async fn attempt(
    t: &TestStore,
    run: &str,
    step: i64,
    action: &str,
    status: &str,
    started_at: i64,
    finished_at: Option<i64>,
) {
    let finished = finished_at.map_or("NULL".to_string(), |f| f.to_string());
    t.tamper(
        &format!(
            "INSERT INTO step_attempts (run_id, step_index, attempt, step_id, action, status, \
             idempotency_key, started_at, finished_at) \
             VALUES ($1, {step}, 1, 'step', $2, $3, $1, {started_at}, {finished})"
        ),
        &[run, action, status],
    )
    .await;
}

#[tokio::test]
async fn attempts_are_read_in_order_after_the_cursor_and_the_cursor_moves_once() {
    for t in test_stores().await {
        let usage = t.store.usage();
        let start = usage.cursor().await.expect("the first cursor");
        assert_eq!(start.finished_at, -1, "{}", t.label);
        attempt(&t, "b", 0, "slack.send", "succeeded", 100, Some(200)).await;
        attempt(&t, "a", 1, "slack.send", "failed", 100, Some(200)).await;
        attempt(&t, "a", 0, "slack.send", "succeeded", 50, Some(200)).await;
        attempt(&t, "c", 0, "slack.send", "skipped", 300, Some(300)).await;
        attempt(&t, "d", 0, "slack.send", "running", 300, None).await;
        attempt(&t, "e", 0, "slack.send", "succeeded", 300, Some(400)).await;
        let read = usage
            .finished_attempts(&start, 400, 10)
            .await
            .expect("read");
        let keys: Vec<_> = read
            .iter()
            .map(|a| (a.run_id.as_str(), a.step_index, a.succeeded))
            .collect();
        assert_eq!(
            keys,
            [("a", 0, true), ("a", 1, false), ("b", 0, true)],
            "{}",
            t.label
        );
        let page = usage.finished_attempts(&start, 401, 2).await.expect("read");
        let after = page[1].cursor();
        let rest = usage
            .finished_attempts(&after, 401, 10)
            .await
            .expect("read");
        let rest: Vec<_> = rest.iter().map(|a| a.run_id.as_str()).collect();
        assert_eq!(rest, ["b", "e"], "{}", t.label);

        let day = UsageDay {
            integration: "slack".into(),
            day: 0,
            executions: 2,
            successes: 1,
            latency: BTreeMap::from([(7, 2)]),
        };
        assert!(
            usage
                .add_days(&start, &after, std::slice::from_ref(&day))
                .await
                .expect("added")
        );
        // The same batch again, from the cursor it started at: refused.
        assert!(
            !usage
                .add_days(&start, &after, std::slice::from_ref(&day))
                .await
                .expect("read")
        );
        let end = RollupCursor {
            finished_at: 400,
            run_id: "e".into(),
            step_index: 0,
            attempt: 1,
        };
        assert!(usage.add_days(&after, &end, &[day]).await.expect("added"));
        assert_eq!(usage.cursor().await.expect("read"), end);
        let days = usage.days("slack", 0, 0).await.expect("read");
        assert_eq!(days.len(), 1);
        assert_eq!(
            (days[0].executions, days[0].successes),
            (4, 2),
            "{}",
            t.label
        );
        assert_eq!(days[0].latency, BTreeMap::from([(7, 4)]));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_bulk_loaders_write_rows_as_given() {
    for t in test_stores().await {
        let usage = t.store.usage();
        let days: Vec<UsageDay> = (0..1_200)
            .map(|i| UsageDay {
                integration: format!("i{}", i % 600),
                day: 20_000 + i / 600,
                executions: i,
                successes: i / 2,
                latency: BTreeMap::from([(40, i)]),
            })
            .collect();
        usage.put_days(&days).await.expect("loaded");
        let got = usage.days("i7", 20_000, 20_001).await.expect("read");
        assert_eq!(got, vec![days[7].clone(), days[607].clone()], "{}", t.label);
        let stats: Vec<IntegrationStats> = (0..700)
            .map(|i| IntegrationStats {
                integration: format!("i{i}"),
                installs_current: i,
                installs_total: i + 1,
                rating_count: 2,
                rating_sum: 7,
                stars: [0, 0, 1, 1, 0],
                updated_at: 5,
            })
            .collect();
        usage.put_stats(&stats).await.expect("loaded");
        usage.put_stats(&stats[..1]).await.expect("replaced");
        assert_eq!(
            usage.stats("i650").await.expect("read"),
            Some(stats[650].clone())
        );
        t.cleanup().await;
    }
}

/// A database of the release before (migrations up to 0014) with
/// installations and reviews: the upgrade computes their figures.
#[tokio::test]
async fn the_upgrade_backfills_the_figures() {
    for db in earlier_databases(14).await {
        let label = db.label;
        for (id, owner, integration) in [
            ("i1", "ann", "slack"),
            ("i2", "bob", "slack"),
            ("i3", "ann", "github"),
        ] {
            db.execute(
                "INSERT INTO installations (id, owner, integration, version, digest, \
                 submission_id, config, created_at, updated_at) \
                 VALUES ($1, $2, $3, '1.0.0', 'sha256:one', 's1', '{}', 1000, 1000)",
                &[id, owner, integration],
            )
            .await;
        }
        for (id, author, integration, rating, hidden) in [
            ("r1", "ann", "slack", "5", false),
            ("r2", "bob", "slack", "3", false),
            ("r3", "carl", "slack", "1", true),
            ("r4", "dee", "jira", "4", false),
        ] {
            let hidden = if hidden {
                "2000, 'admin', 'abusive'"
            } else {
                "NULL, NULL, NULL"
            };
            db.execute(
                &format!(
                    "INSERT INTO integration_reviews (id, integration, author, rating, body, \
                     created_at, updated_at, hidden_at, hidden_by, hidden_reason) \
                     VALUES ($1, $2, $3, {rating}, '', 1000, 1000, {hidden})"
                ),
                &[id, integration, author],
            )
            .await;
        }
        let t = db.upgrade().await;
        let slack = kept(&t.store, "slack").await;
        assert_eq!(
            (
                slack.installs_current,
                slack.installs_total,
                slack.rating_count,
                slack.rating_sum,
                slack.stars
            ),
            (2, 2, 2, 8, [0, 0, 1, 0, 1]),
            "{label}"
        );
        let github = kept(&t.store, "github").await;
        assert_eq!((github.installs_current, github.rating_count), (1, 0));
        let jira = kept(&t.store, "jira").await;
        assert_eq!((jira.installs_current, jira.rating_sum), (0, 4), "{label}");
        // Kept exact from there on.
        install(&t.store, "carl", "slack", "1.0.0").await;
        rate(&t.store, "ann", "slack", 4).await;
        let slack = kept(&t.store, "slack").await;
        assert_eq!(
            (
                slack.installs_current,
                slack.installs_total,
                slack.rating_sum
            ),
            (3, 3, 7),
            "{label}"
        );
        assert_eq!(
            t.store.usage().cursor().await.expect("read").finished_at,
            -1
        );
        t.cleanup().await;
    }
}
