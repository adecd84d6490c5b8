//! The executions roll-up and the figures a listing shows, on SQLite and
//! (when the server answers) PostgreSQL: finished attempts counted once
//! per integration and day, skipped and running ones left out, the
//! settle lag, the 30-day window, batches, and running it twice.

use workway_engine::marketplace::figures::{
    DAY_MS, P50_RELATIVE_ERROR, RollupSettings, figures, roll_up,
};
use workway_store::testing::{TestStore, test_stores};

/// Now, for every test: a fixed day, at noon UTC.
const NOW: i64 = 20_000 * DAY_MS + DAY_MS / 2;

/// Insert attempt 1 of step `step` of `run`, calling `action`, in
/// `status`, started `latency` ms before `finished_at` (running: not
/// finished).
async fn attempt(
    t: &TestStore,
    run: &str,
    step: i64,
    action: &str,
    status: &str,
    finished_at: i64,
    latency: i64,
) {
    let started_at = finished_at - latency;
    let finished = if status == "running" {
        "NULL".to_string()
    } else {
        finished_at.to_string()
    };
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
async fn finished_attempts_are_counted_once_per_integration() {
    for t in test_stores().await {
        let settings = RollupSettings::default();
        let hour = 3_600_000;
        // Slack: 3 succeeded (100, 200, 300 ms), 1 failed (1000 ms), 1
        // skipped, 1 running; GitHub: 1 succeeded.
        attempt(
            &t,
            "r1",
            0,
            "slack.send-message",
            "succeeded",
            NOW - hour,
            100,
        )
        .await;
        attempt(
            &t,
            "r1",
            1,
            "slack.send-message",
            "succeeded",
            NOW - hour,
            200,
        )
        .await;
        attempt(&t, "r2", 0, "slack.read", "succeeded", NOW - 2 * hour, 300).await;
        attempt(&t, "r2", 1, "slack.read", "failed", NOW - 2 * hour, 1_000).await;
        attempt(&t, "r3", 0, "slack.read", "skipped", NOW - hour, 0).await;
        attempt(&t, "r3", 1, "slack.read", "running", NOW - hour, 0).await;
        attempt(
            &t,
            "r4",
            0,
            "github.open-issue",
            "succeeded",
            NOW - hour,
            50,
        )
        .await;

        let report = roll_up(&t.store, NOW, &settings).await.expect("rolled up");
        assert_eq!(report.counted, 5, "{}", t.label);
        let f = figures(&t.store, "slack", NOW).await.expect("read");
        assert_eq!((f.executions_30d, f.successes_30d), (4, 3), "{}", t.label);
        assert_eq!(f.success_rate, Some(0.75));
        // The lower median of 100, 200, 300, 1000 is 200.
        let p50 = f.p50_latency_ms.expect("a median") as f64;
        assert!(
            (p50 - 200.0).abs() <= 200.0 * P50_RELATIVE_ERROR + 0.5,
            "{p50}"
        );
        let g = figures(&t.store, "github", NOW).await.expect("read");
        assert_eq!((g.executions_30d, g.success_rate), (1, Some(1.0)));

        // Rolling up again counts nothing twice.
        let again = roll_up(&t.store, NOW, &settings).await.expect("rolled up");
        assert_eq!(again.counted, 0, "{}", t.label);
        assert_eq!(figures(&t.store, "slack", NOW).await.expect("read"), f);

        // Nothing ran: nulls, not zeros.
        let none = figures(&t.store, "jira", NOW).await.expect("read");
        assert_eq!(
            (none.executions_30d, none.success_rate, none.p50_latency_ms),
            (0, None, None)
        );
        assert_eq!((none.installs_total, none.rating.average), (0, None));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn recent_attempts_wait_for_the_settle_lag() {
    for t in test_stores().await {
        let settings = RollupSettings::default();
        attempt(&t, "old", 0, "slack.send", "succeeded", NOW - 120_000, 10).await;
        attempt(&t, "new", 0, "slack.send", "succeeded", NOW - 30_000, 10).await;
        let report = roll_up(&t.store, NOW, &settings).await.expect("rolled up");
        assert_eq!(report.counted, 1, "{}", t.label);
        // An attempt committed late, stamped before the cursor's position
        // but within the lag of the last roll-up: still counted.
        attempt(&t, "late", 0, "slack.send", "failed", NOW - 45_000, 10).await;
        let later = NOW + settings.settle_lag_ms;
        let report = roll_up(&t.store, later, &settings)
            .await
            .expect("rolled up");
        assert_eq!(report.counted, 2, "{}", t.label);
        let f = figures(&t.store, "slack", later).await.expect("read");
        assert_eq!((f.executions_30d, f.successes_30d), (3, 2), "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn the_window_is_the_last_thirty_days() {
    for t in test_stores().await {
        for (run, days_ago) in [("d0", 0), ("d29", 29), ("d30", 30), ("d45", 45)] {
            attempt(
                &t,
                run,
                0,
                "slack.send",
                "succeeded",
                NOW - days_ago * DAY_MS - 120_000,
                5,
            )
            .await;
        }
        roll_up(&t.store, NOW, &RollupSettings::default())
            .await
            .expect("rolled up");
        let f = figures(&t.store, "slack", NOW).await.expect("read");
        assert_eq!(f.executions_30d, 2, "{}", t.label);
        // A day later the oldest of those two has left the window.
        let f = figures(&t.store, "slack", NOW + DAY_MS)
            .await
            .expect("read");
        assert_eq!(f.executions_30d, 1, "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn batches_add_up_to_one_count() {
    for t in test_stores().await {
        for i in 0..7 {
            let finished = NOW - 3 * DAY_MS + i * 1_000;
            let status = if i % 2 == 0 { "succeeded" } else { "failed" };
            attempt(
                &t,
                &format!("r{i}"),
                0,
                "slack.send",
                status,
                finished,
                40 * i,
            )
            .await;
        }
        let small = RollupSettings {
            batch: 2,
            max_batches: 2,
            ..RollupSettings::default()
        };
        let first = roll_up(&t.store, NOW, &small).await.expect("rolled up");
        assert_eq!((first.counted, first.batches), (4, 2), "{}", t.label);
        let rest = roll_up(&t.store, NOW, &small).await.expect("rolled up");
        assert_eq!(rest.counted, 3, "{}", t.label);
        let f = figures(&t.store, "slack", NOW).await.expect("read");
        assert_eq!((f.executions_30d, f.successes_30d), (7, 4), "{}", t.label);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn two_hosts_rolling_up_at_once_count_each_attempt_once() {
    for t in test_stores().await {
        for i in 0..40 {
            attempt(
                &t,
                &format!("r{i:02}"),
                0,
                "slack.send",
                "succeeded",
                NOW - DAY_MS + i,
                9,
            )
            .await;
        }
        let other = t.reopen().await;
        let settings = RollupSettings {
            batch: 3,
            ..RollupSettings::default()
        };
        let (a, b) = tokio::join!(
            roll_up(&t.store, NOW, &settings),
            roll_up(&other, NOW, &settings)
        );
        let counted = a.expect("rolled up").counted + b.expect("rolled up").counted;
        assert_eq!(counted, 40, "{}", t.label);
        let f = figures(&t.store, "slack", NOW).await.expect("read");
        assert_eq!(f.executions_30d, 40, "{}", t.label);
        other.close().await;
        t.cleanup().await;
    }
}
