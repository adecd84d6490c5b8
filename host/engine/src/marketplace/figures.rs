//! The figures a listing shows of an integration: installs (now and ever),
//! executions and their success rate and median latency over the last 30
//! days, and the rating average with its per-star histogram.
//!
//! Installs and ratings are exact: the store counts them in the
//! transaction of each install, uninstall and review write
//! ([`workway_store::usage`]). Executions are rolled up: [`roll_up`]
//! (run by the hosts' upkeep every [`RollupSettings::every`], or called
//! directly) reads the step attempts that succeeded or failed after the
//! stored cursor, sums them up per integration (the action's text before
//! its first `.`) and UTC day **of `finished_at`**, and adds the sums to
//! `integration_usage_daily` in the transaction that moves the cursor, so
//! no attempt is counted twice or missed by a crash.
//!
//! The roll-up only reads attempts that finished more than
//! [`RollupSettings::settle_lag_ms`] (60 s by default) before now: an
//! attempt is stamped with its host's clock before its transaction
//! commits, and another host may commit one a little late; one committed
//! more than the lag after its `finished_at` (a host stalled that long
//! between stamping and committing, or a clock that far behind) falls
//! behind the cursor and is never counted.
//!
//! Latencies (`finished_at - started_at`, whole milliseconds) are kept as
//! histograms of logarithmic buckets, eight per doubling (each bucket's
//! bounds are a ratio of 2^(1/8) apart). The median reported is the
//! geometric middle of the bucket holding the true median (the ⌈n/2⌉-th
//! smallest latency), rounded to a millisecond: within
//! [`P50_RELATIVE_ERROR`] (4.5%) of it, plus half a millisecond.

use std::collections::BTreeMap;
use std::sync::LazyLock;
use std::time::Duration;

use workway_store::usage::{FinishedAttempt, UsageDay};
use workway_store::{Store, StoreError};

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// How many UTC days the execution figures cover: today (so far) and the
/// 29 days before it.
pub const WINDOW_DAYS: i64 = 30;

/// How far the reported median latency may be from the true one, as a
/// fraction of it (2^(1/16) - 1 is 0.0443), besides rounding to a whole
/// millisecond.
pub const P50_RELATIVE_ERROR: f64 = 0.045;

/// Latency buckets per doubling.
const BUCKETS_PER_DOUBLING: u32 = 8;

/// The highest bucket: its lower bound is at 2^62.875, so it holds every
/// latency up to `i64::MAX`.
const LAST_BUCKET: u32 = 63 * BUCKETS_PER_DOUBLING;

/// `LOWER[b]` is the least latency (ms) of bucket `b`: 0 for bucket 0
/// (latency 0), `ceil(2^((b - 1) / 8))` from bucket 1 on. Several small
/// buckets share a bound and stay empty (no whole number falls in them).
static LOWER: LazyLock<Vec<u64>> = LazyLock::new(|| {
    let mut lower = vec![0u64];
    for b in 1..=LAST_BUCKET {
        let bound = (f64::from(b - 1) / f64::from(BUCKETS_PER_DOUBLING))
            .exp2()
            .ceil();
        // `as` saturates; the max keeps the table ascending whatever the
        // last bit of the float.
        let bound = (bound as u64).max(*lower.last().unwrap_or(&0));
        lower.push(bound);
    }
    lower
});

/// The bucket of a latency of `ms` milliseconds.
pub fn bucket(ms: u64) -> u32 {
    let above = LOWER.partition_point(|&lower| lower <= ms);
    u32::try_from(above.saturating_sub(1)).unwrap_or(LAST_BUCKET)
}

/// The latencies bucket `b` holds: from the first to the second, both
/// included. `None` for a bucket number past the last.
pub fn bucket_range(b: u32) -> Option<(u64, u64)> {
    let i = usize::try_from(b).ok()?;
    let lower = *LOWER.get(i)?;
    let upper = LOWER
        .get(i + 1)
        .map_or(u64::MAX, |next| next.saturating_sub(1));
    Some((lower, upper))
}

/// The latency reported for bucket `b`: the geometric middle of its real
/// bounds, 2^((b - 1/2) / 8), kept within the whole numbers it holds and
/// rounded. `None` for a bucket number past the last.
pub fn representative(b: u32) -> Option<u64> {
    let (lower, upper) = bucket_range(b)?;
    if b == 0 {
        return Some(0);
    }
    let middle = ((f64::from(b) - 0.5) / f64::from(BUCKETS_PER_DOUBLING)).exp2();
    Some((middle.round() as u64).clamp(lower, upper))
}

/// The median of the latencies in `histogram` (bucket -> count): the
/// representative of the bucket holding the ⌈n/2⌉-th smallest; `None`
/// when it is empty. Buckets past the last are ignored.
pub fn p50(histogram: &BTreeMap<u32, i64>) -> Option<u64> {
    let total: i64 = histogram.values().filter(|&&n| n > 0).sum();
    if total == 0 {
        return None;
    }
    let rank = (total + 1) / 2;
    let mut seen = 0;
    for (&b, &n) in histogram {
        seen += n.max(0);
        if seen >= rank {
            return representative(b);
        }
    }
    None
}

/// When and how the roll-up runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollupSettings {
    /// How often the hosts' upkeep runs it.
    pub every: Duration,
    /// Attempts that finished less than this long before now (ms) wait
    /// for the next roll-up, so one committed a little late is not
    /// skipped.
    pub settle_lag_ms: i64,
    /// The most attempts read and added up in one transaction.
    pub batch: i64,
    /// The most batches one call rolls up (the rest wait for the next).
    pub max_batches: usize,
}

impl Default for RollupSettings {
    fn default() -> Self {
        RollupSettings {
            every: Duration::from_secs(60),
            settle_lag_ms: 60_000,
            batch: 10_000,
            max_batches: 100,
        }
    }
}

/// What one [`roll_up`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RollupReport {
    /// The attempts it counted.
    pub counted: usize,
    /// The batches it committed.
    pub batches: usize,
}

/// Sum `attempts` up per integration (the action's text before its first
/// `.`; an action without one names no integration and is left out) and
/// UTC day of `finished_at`.
pub fn summarize(attempts: &[FinishedAttempt]) -> Vec<UsageDay> {
    let mut days: BTreeMap<(&str, i64), UsageDay> = BTreeMap::new();
    for a in attempts {
        let Some((integration, _)) = a.action.split_once('.') else {
            continue;
        };
        let day = a.finished_at.div_euclid(DAY_MS);
        let sum = days.entry((integration, day)).or_insert_with(|| UsageDay {
            integration: integration.to_string(),
            day,
            ..UsageDay::default()
        });
        sum.executions += 1;
        sum.successes += i64::from(a.succeeded);
        let latency = u64::try_from(a.finished_at.saturating_sub(a.started_at)).unwrap_or(0);
        *sum.latency.entry(bucket(latency)).or_insert(0) += 1;
    }
    days.into_values().collect()
}

/// Count the attempts that succeeded or failed after the store's cursor
/// and before `now - settings.settle_lag_ms`, a batch (one transaction)
/// at a time, at most `settings.max_batches`. Safe to run on several
/// hosts at once: a batch another one committed first is dropped and
/// read again from the moved cursor.
pub async fn roll_up(
    store: &Store,
    now: i64,
    settings: &RollupSettings,
) -> Result<RollupReport, StoreError> {
    let usage = store.usage();
    let until = now.saturating_sub(settings.settle_lag_ms);
    let batch = settings.batch.max(1);
    let mut report = RollupReport::default();
    for _ in 0..settings.max_batches {
        let from = usage.cursor().await?;
        let attempts = usage.finished_attempts(&from, until, batch).await?;
        let Some(last) = attempts.last() else {
            break;
        };
        if usage
            .add_days(&from, &last.cursor(), &summarize(&attempts))
            .await?
        {
            report.counted += attempts.len();
            report.batches += 1;
        }
        if i64::try_from(attempts.len()).unwrap_or(i64::MAX) < batch {
            break;
        }
    }
    Ok(report)
}

/// An integration's ratings, summed up.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingFigures {
    /// How many reviews that are not hidden rate it.
    pub count: i64,
    /// The sum of their ratings.
    pub sum: i64,
    /// Their average, rounded half up to one decimal; `None` with none.
    pub average: Option<f64>,
    /// `histogram[n - 1]` is how many gave `n` stars.
    pub histogram: [i64; 5],
}

/// What a listing shows of an integration's use and reception.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    /// How many accounts have it installed now.
    pub installs_current: i64,
    /// How many installs were ever made (re-installs in place excluded).
    pub installs_total: i64,
    /// Its executions (step attempts that succeeded or failed) over the
    /// last [`WINDOW_DAYS`] UTC days, as far as rolled up.
    pub executions_30d: i64,
    /// How many of them succeeded.
    pub successes_30d: i64,
    /// `successes_30d / executions_30d`, rounded to four decimals; `None`
    /// with no executions.
    pub success_rate: Option<f64>,
    /// The median latency of those executions (ms), within
    /// [`P50_RELATIVE_ERROR`]; `None` with no executions.
    pub p50_latency_ms: Option<u64>,
    /// Its ratings.
    pub rating: RatingFigures,
}

/// `integration`'s figures at `now` (Unix ms): its stats row and at most
/// [`WINDOW_DAYS`] daily rows, each read by primary key. Public figures:
/// sums over every account, naming none.
pub async fn figures(store: &Store, integration: &str, now: i64) -> Result<Figures, StoreError> {
    let usage = store.usage();
    let stats = usage.stats(integration).await?.unwrap_or_default();
    let today = now.div_euclid(DAY_MS);
    let days = usage
        .days(integration, today - (WINDOW_DAYS - 1), today)
        .await?;
    let mut total = UsageDay::default();
    for day in &days {
        total.merge(day);
    }
    Ok(Figures {
        installs_current: stats.installs_current,
        installs_total: stats.installs_total,
        executions_30d: total.executions,
        successes_30d: total.successes,
        success_rate: ratio_4dp(total.successes, total.executions),
        p50_latency_ms: p50(&total.latency),
        rating: RatingFigures {
            count: stats.rating_count,
            sum: stats.rating_sum,
            average: (stats.rating_count > 0).then(|| {
                let tenths =
                    (stats.rating_sum * 20 + stats.rating_count) / (2 * stats.rating_count);
                tenths as f64 / 10.0
            }),
            histogram: stats.stars,
        },
    })
}

/// `part / whole` rounded half up to four decimals (in integers, so every
/// store and client agrees); `None` when `whole` is not positive.
fn ratio_4dp(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| {
        let basis_points = (part * 20_000 + whole) / (2 * whole);
        basis_points as f64 / 10_000.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn attempt(action: &str, ok: bool, started_at: i64, finished_at: i64) -> FinishedAttempt {
        FinishedAttempt {
            run_id: "r".into(),
            step_index: 0,
            attempt: 1,
            action: action.into(),
            succeeded: ok,
            started_at,
            finished_at,
        }
    }

    #[test]
    fn small_latencies_have_buckets_of_their_own() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(1), 1);
        assert_eq!(bucket(2), 9);
        assert_eq!(bucket(4), 17);
        assert_eq!(bucket(1024), 81);
        assert_eq!(representative(0), Some(0));
        assert_eq!(representative(1), Some(1));
        assert_eq!(representative(9), Some(2));
        assert_eq!(bucket(u64::MAX), LAST_BUCKET);
        assert_eq!(representative(LAST_BUCKET + 1), None);
    }

    #[test]
    fn the_table_ascends_and_covers_every_latency() {
        assert!(LOWER.windows(2).all(|w| w[0] <= w[1]));
        let (_, top) = bucket_range(LAST_BUCKET).expect("the last bucket");
        assert_eq!(top, u64::MAX);
        assert!(LOWER[LAST_BUCKET as usize] <= i64::MAX as u64);
    }

    #[test]
    fn summing_up_splits_by_integration_and_day() {
        let day = DAY_MS * 20_000;
        let days = summarize(&[
            attempt("slack.send", true, day + 10, day + 20),
            attempt("slack.read", false, day + 10, day + 30),
            attempt("slack.send", true, day - 50, day - 10),
            attempt("github.open", true, day, day),
            attempt("nodot", true, day, day),
        ]);
        let key: Vec<_> = days
            .iter()
            .map(|d| (d.integration.as_str(), d.day, d.executions, d.successes))
            .collect();
        assert_eq!(
            key,
            [
                ("github", 20_000, 1, 1),
                ("slack", 19_999, 1, 1),
                ("slack", 20_000, 2, 1)
            ]
        );
        assert_eq!(
            days[2].latency,
            BTreeMap::from([(bucket(10), 1), (bucket(20), 1)])
        );
    }

    #[test]
    fn rates_and_averages_round_in_integers() {
        assert_eq!(ratio_4dp(0, 0), None);
        assert_eq!(ratio_4dp(2, 3), Some(0.6667));
        assert_eq!(ratio_4dp(3, 3), Some(1.0));
    }

    #[test]
    fn the_median_of_a_known_distribution() {
        // 1..=1000 ms, once each: the lower median is 500.
        let mut h = BTreeMap::new();
        for ms in 1..=1000 {
            *h.entry(bucket(ms)).or_insert(0) += 1;
        }
        let got = p50(&h).expect("a median") as f64;
        assert!(
            (got - 500.0).abs() <= 500.0 * P50_RELATIVE_ERROR + 0.5,
            "{got}"
        );
        assert_eq!(p50(&BTreeMap::new()), None);
    }

    proptest! {
        #[test]
        fn a_bucket_holds_its_latency(ms in any::<u64>()) {
            let b = bucket(ms);
            let (lower, upper) = bucket_range(b).expect("a bucket");
            prop_assert!(lower <= ms && ms <= upper, "{ms} in {b} = {lower}..={upper}");
        }

        #[test]
        fn a_bucket_holds_latencies_within_the_bound(ms in 1u64..(1 << 50)) {
            let reported = representative(bucket(ms)).expect("a bucket") as f64;
            let true_ms = ms as f64;
            prop_assert!((reported - true_ms).abs() <= true_ms * P50_RELATIVE_ERROR + 0.5,
                "{ms} reported as {reported}");
        }

        #[test]
        fn the_median_is_within_the_bound(
            mut latencies in prop::collection::vec(0u64..10_000_000, 1..400),
        ) {
            let mut h = BTreeMap::new();
            for &ms in &latencies {
                *h.entry(bucket(ms)).or_insert(0) += 1;
            }
            latencies.sort_unstable();
            let true_median = latencies[latencies.len().div_ceil(2) - 1] as f64;
            let got = p50(&h).expect("a median") as f64;
            prop_assert!((got - true_median).abs() <= true_median * P50_RELATIVE_ERROR + 0.5,
                "{got} vs {true_median}");
        }

        #[test]
        fn merged_days_sum_as_one(
            a in prop::collection::vec((0u64..100_000, any::<bool>()), 0..50),
            b in prop::collection::vec((0u64..100_000, any::<bool>()), 0..50),
        ) {
            let as_attempts = |v: &[(u64, bool)]| -> Vec<FinishedAttempt> {
                v.iter().map(|&(ms, ok)| attempt("x.y", ok, 0, ms as i64)).collect()
            };
            let all: Vec<_> = as_attempts(&a).into_iter().chain(as_attempts(&b)).collect();
            let whole = summarize(&all);
            let mut merged = UsageDay::default();
            for day in summarize(&as_attempts(&a)).iter().chain(&summarize(&as_attempts(&b))) {
                merged.merge(day);
            }
            let mut expected = UsageDay::default();
            for day in &whole {
                expected.merge(day);
            }
            prop_assert_eq!(merged, expected);
        }
    }
}
