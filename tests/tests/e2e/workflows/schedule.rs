//! The schedule trigger on SQLite and PostgreSQL: two hosts sharing one
//! store fire each cron tick exactly once over a minute of ticks, and in
//! real time with both passing at the same instants; the
//! catch-up policy decides what a host that was down fires; a scheduled
//! run of the three-step workflow runs to the end.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::Value;
use workway_engine::platform::{HostConfig, Platform};
use workway_engine::triggers::schedule::fire_due;
use workway_store::runs::TriggerKind;
use workway_store::testing::{TestStore, test_stores};
use workway_vault::Keyring;

use super::{Deployment, assert_succeeded, deployment, inbox_to_notion};

/// A second host on the same store: its own pool, as another process has.
async fn second_host(t: &TestStore, d: &Deployment) -> Arc<Platform> {
    let keyring =
        Arc::new(Keyring::parse(&Keyring::generate_entry("k2").expect("random")).expect("valid"));
    Arc::new(
        Platform::new(
            t.reopen().await,
            d.platform.runtime.clone(),
            d.platform.catalog.clone(),
            keyring,
            &HostConfig::default(),
        )
        .expect("assembles"),
    )
}

/// The tick of every scheduled run, sorted.
async fn ticks(d: &Deployment) -> Vec<i64> {
    let mut ticks: Vec<i64> = d
        .platform
        .store
        .runs()
        .list(None, None, 10_000)
        .await
        .expect("listed")
        .iter()
        .filter(|r| r.trigger_kind == TriggerKind::Schedule)
        .map(|r| {
            let data: Value = serde_json::from_str(&r.trigger_data).expect("JSON");
            data["tick_ms"].as_i64().expect("a tick")
        })
        .collect();
    ticks.sort_unstable();
    ticks
}

/// The first whole second at or after `ms`: the first tick of a
/// per-second schedule saved at `ms`.
fn first_second_from(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt((ms + 999) / 1000 * 1000)
        .single()
        .expect("a time")
}

#[tokio::test]
async fn two_hosts_fire_each_tick_of_a_minute_exactly_once() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let saved = d
            .save(&inbox_to_notion(
                "  kind: schedule\n  cron: \"* * * * * *\"\n  timezone: Europe/Paris",
            ))
            .await;
        let other = second_host(&t, &d).await;
        // A minute of ticks, both hosts passing at every second, racing.
        let start = first_second_from(saved.row.updated_at);
        for second in 0..60 {
            let now = start + chrono::Duration::seconds(second);
            let (a, b) = tokio::join!(fire_due(&d.platform, now), fire_due(&other, now));
            let fired = a.expect("host a").len() + b.expect("host b").len();
            assert_eq!(fired, 1, "{}: second {second} fired {fired} runs", t.label);
        }
        let fired = ticks(&d).await;
        let expected: Vec<i64> = (0..60)
            .map(|s| (start + chrono::Duration::seconds(s)).timestamp_millis())
            .collect();
        assert_eq!(fired, expected, "{}: every tick once, none twice", t.label);
        t.cleanup().await;
    }
}

/// Two hosts' scheduler loops in real time, passing at the same instants
/// (a barrier before each pass) so that every tick is raced for, until the
/// store holds `ticks` scheduled runs. What each host's passes started.
async fn race_in_real_time(
    hosts: [Arc<Platform>; 2],
    store: &workway_store::Store,
    ticks: usize,
) -> [usize; 2] {
    let barrier = Arc::new(tokio::sync::Barrier::new(2));
    let passes = hosts.map(|host| {
        let barrier = barrier.clone();
        let store = store.clone();
        tokio::spawn(async move {
            let mut started = 0;
            loop {
                barrier.wait().await;
                let now = Utc::now();
                let runs = fire_due(&host, now).await.expect("a pass");
                started += runs.len();
                // Both passes are done: both read the same count and stop
                // at the same pass.
                barrier.wait().await;
                let scheduled = schedule_runs(&store).await;
                barrier.wait().await;
                if scheduled >= ticks {
                    return started;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    });
    let [a, b] = passes;
    let (a, b) = tokio::time::timeout(Duration::from_secs(120), async { tokio::join!(a, b) })
        .await
        .expect("the ticks fire");
    [a.expect("host a"), b.expect("host b")]
}

/// How many scheduled runs `store` holds.
async fn schedule_runs(store: &workway_store::Store) -> usize {
    store
        .runs()
        .list(None, None, 10_000)
        .await
        .expect("listed")
        .iter()
        .filter(|r| r.trigger_kind == TriggerKind::Schedule)
        .count()
}

#[tokio::test]
async fn two_scheduler_loops_in_real_time_never_fire_a_tick_twice() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.save(&inbox_to_notion(
            "  kind: schedule\n  cron: \"* * * * * *\"",
        ))
        .await;
        let other = second_host(&t, &d).await;
        let started = race_in_real_time([d.platform.clone(), other], &t.store, 5).await;
        let fired = ticks(&d).await;
        assert!(fired.len() >= 5, "{}: {fired:?}", t.label);
        assert_eq!(
            started[0] + started[1],
            fired.len(),
            "{}: every run started is one tick: {started:?} {fired:?}",
            t.label
        );
        for pair in fired.windows(2) {
            assert_eq!(
                pair[1] - pair[0],
                1000,
                "{}: consecutive, no duplicate: {fired:?}",
                t.label
            );
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn after_downtime_the_catch_up_policy_decides_what_fires() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        for (policy, expected) in [("skip", 0), ("latest", 1), ("all", 10)] {
            let name = format!("every-minute-{policy}");
            let yaml = inbox_to_notion(&format!(
                "  kind: schedule\n  cron: \"0 * * * * *\"\n  catch_up: {policy}"
            ))
            .replace("name: inbox-to-notion", &format!("name: {name}"));
            let saved = d.save(&yaml).await;
            // The first pass comes ten and a half minutes after the save:
            // ten ticks were missed, the newest 30 s ago (within grace).
            let saved_at = Utc
                .timestamp_millis_opt(saved.row.updated_at)
                .single()
                .expect("time");
            let minute = saved_at.timestamp() / 60 * 60;
            let now = Utc
                .timestamp_opt(minute + 60 * 11 + 30, 0)
                .single()
                .expect("time");
            let started = fire_due(&d.platform, now).await.expect("fired");
            let runs = d
                .platform
                .store
                .runs()
                .list(None, Some(&saved.row.id), 100)
                .await
                .expect("listed");
            // The tick 30 s ago is on time (within the 60 s grace) and always fires.
            assert_eq!(runs.len(), expected + 1, "{}: {policy}", t.label);
            assert_eq!(started.len(), runs.len());
            // A second pass at the same time fires nothing more.
            assert!(fire_due(&d.platform, now).await.expect("fired").is_empty());
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_scheduled_run_of_the_three_step_workflow_finishes() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        d.seed_invoice();
        let saved = d
            .save(&inbox_to_notion(
                "  kind: schedule\n  cron: \"*/5 * * * *\"\n  timezone: America/New_York",
            ))
            .await;
        // Ten seconds after the first five-minute tick following the save.
        let tick = (saved.row.updated_at / 1000 / 300 + 1) * 300;
        let now = Utc.timestamp_opt(tick + 10, 0).single().expect("time");
        let started = fire_due(&d.platform, now).await.expect("fired");
        assert_eq!(started.len(), 1, "{}", t.label);
        let (run, attempts) = d.finish(&started[0].run_id, Duration::from_secs(30)).await;
        assert_succeeded(&run, &attempts);
        assert_eq!(run.trigger_kind, TriggerKind::Schedule);
        let data: Value = serde_json::from_str(&run.trigger_data).expect("JSON");
        assert_eq!(data["timezone"], "America/New_York");
        t.cleanup().await;
    }
}
