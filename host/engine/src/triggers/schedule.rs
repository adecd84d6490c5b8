//! The schedule trigger: cron expressions read in an IANA time zone start
//! one run per tick, cluster-wide.
//!
//! Every host runs a [`Scheduler`]; on each pass it lists the schedule
//! workflows and, for each, the ticks that are due, and starts a run per
//! tick with the key `tick:<unix ms>`. The store's unique key on
//! (workflow, key) lets exactly one host start each tick, however many
//! race for it.
//!
//! Catch-up after downtime (no host ran the scheduler over some ticks): a
//! tick is *missed* when it is more than [`GRACE`] old when first seen.
//! With `catch_up: skip` (the default) missed ticks fire nothing and the
//! schedule resumes at the next tick; `latest` fires one run for the most
//! recent missed tick; `all` fires every missed tick, at most
//! [`MAX_CATCH_UP`] of them (the newest). Ticks before the workflow's
//! schedule was saved never fire.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone as _, Utc};
use serde_json::json;
use workway_store::workflows::{TriggerKind, WorkflowRow};

use super::{StartedRun, TriggerError, start_run};
use crate::platform::Platform;
use crate::saved;
use workway_workflow::definition::{CatchUp, Trigger};

/// How late a tick may be seen and still fire as on time.
pub const GRACE: Duration = Duration::from_secs(60);

/// The most missed ticks `catch_up: all` fires.
pub const MAX_CATCH_UP: usize = 100;

/// How long a fired tick's key is kept (so the next pass knows where the
/// schedule left off).
const KEY_TTL_MS: i64 = 30 * 24 * 3600 * 1000;

/// How far back missed ticks are looked for.
const LOOKBACK_MS: i64 = 7 * 24 * 3600 * 1000;

/// The most ticks enumerated per workflow per pass.
const MAX_TICKS: usize = 10_000;

/// The key of the tick at `ms`: zero-padded so text order is time order.
pub fn tick_key(ms: i64) -> String {
    format!("tick:{ms:015}")
}

fn parse_tick(key: &str) -> Option<i64> {
    key.strip_prefix("tick:")?.parse().ok()
}

/// Fire the due ticks of every schedule workflow as of `now`. Returns the
/// runs this call started (ticks another host fired are not included).
pub async fn fire_due(
    platform: &Platform,
    now: DateTime<Utc>,
) -> Result<Vec<StartedRun>, TriggerError> {
    let mut started = Vec::new();
    for workflow in platform
        .store
        .workflows()
        .with_trigger(TriggerKind::Schedule, None)
        .await?
    {
        match fire_workflow(platform, &workflow, now).await {
            Ok(mut runs) => started.append(&mut runs),
            Err(e) => tracing::warn!(workflow = %workflow.name, "schedule not fired: {e}"),
        }
    }
    Ok(started)
}

async fn fire_workflow(
    platform: &Platform,
    workflow: &WorkflowRow,
    now: DateTime<Utc>,
) -> Result<Vec<StartedRun>, TriggerError> {
    let definition = saved::definition_of(platform, workflow, workflow.version).await?;
    let Trigger::Schedule { catch_up, .. } = &definition.trigger else {
        return Ok(Vec::new());
    };
    let Some(Ok(schedule)) = definition.trigger.schedule() else {
        return Ok(Vec::new());
    };
    let now_ms = now.timestamp_millis();
    let last = platform
        .store
        .runs()
        .latest_key(&workflow.id, "tick:", now_ms)
        .await?
        .as_deref()
        .and_then(parse_tick);
    // Nothing before the schedule was saved, nothing twice, nothing older
    // than the look-back window.
    let grace_ms = i64::try_from(GRACE.as_millis()).unwrap_or(i64::MAX);
    let floor = last
        .unwrap_or(workflow.updated_at - 1)
        .max(now_ms - LOOKBACK_MS)
        .max(if *catch_up == CatchUp::Skip {
            now_ms - grace_ms
        } else {
            i64::MIN
        });
    let Some(mut cursor) = Utc.timestamp_millis_opt(floor).single() else {
        return Ok(Vec::new());
    };
    let mut due = Vec::new();
    while let Some(tick) = schedule.next_tick(cursor) {
        if tick > now || due.len() >= MAX_TICKS {
            break;
        }
        due.push(tick);
        cursor = tick;
    }
    let (on_time, missed): (Vec<_>, Vec<_>) = due
        .into_iter()
        .partition(|tick| now_ms - tick.timestamp_millis() <= grace_ms);
    let mut fire: Vec<(DateTime<Utc>, bool)> = match catch_up {
        CatchUp::Skip => Vec::new(),
        CatchUp::Latest => missed.last().map(|t| (*t, true)).into_iter().collect(),
        CatchUp::All => {
            let skip = missed.len().saturating_sub(MAX_CATCH_UP);
            missed.into_iter().skip(skip).map(|t| (t, true)).collect()
        }
    };
    fire.extend(on_time.into_iter().map(|t| (t, false)));
    let mut started = Vec::new();
    for (tick, late) in fire {
        let ms = tick.timestamp_millis();
        let data = json!({
            "tick": tick.to_rfc3339(),
            "tick_ms": ms,
            "timezone": schedule.timezone().name(),
            "catch_up": late,
        });
        let key = tick_key(ms);
        let run = match start_run(
            platform,
            workflow,
            &definition,
            TriggerKind::Schedule,
            &data,
            &[(key.as_str(), ms.saturating_add(KEY_TTL_MS))],
        )
        .await
        {
            Ok(run) => run,
            // Recorded as a refused run under the tick's key: the next
            // tick is tried on its own.
            Err(TriggerError::Refused { .. }) => continue,
            Err(e) => return Err(e),
        };
        if !run.duplicate {
            tracing::info!(workflow = %workflow.name, tick = %tick, late, "schedule fired");
            started.push(run);
        }
    }
    Ok(started)
}

/// The loop each host runs: [`fire_due`] every `interval` until stopped.
pub struct Scheduler {
    platform: Arc<Platform>,
    interval: Duration,
}

impl Scheduler {
    /// A scheduler passing every `interval` (one second suits cron's
    /// one-second resolution).
    pub fn new(platform: Arc<Platform>, interval: Duration) -> Scheduler {
        Scheduler { platform, interval }
    }

    /// Pass until `stop` completes.
    pub async fn run(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = fire_due(&self.platform, Utc::now()).await {
                tracing::warn!("scheduler pass failed: {e}");
            }
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(self.interval) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_keys_sort_as_time_and_parse_back() {
        let early = tick_key(999_999_999_999);
        let late = tick_key(1_700_000_000_000);
        assert!(early < late, "{early} < {late}");
        assert_eq!(parse_tick(&late), Some(1_700_000_000_000));
        assert_eq!(parse_tick("webhook:x"), None);
    }
}
