//! Timing helpers shared by the benchmarks: samples, median and p99.

use std::time::{Duration, Instant};

/// Median and p99 of per-call samples, in microseconds.
pub struct Spread {
    /// The median.
    pub median: f64,
    /// The 99th percentile.
    pub p99: f64,
}

/// The spread of `samples`.
pub fn spread(mut samples: Vec<Duration>) -> Spread {
    samples.sort_unstable();
    let at = |q: f64| {
        let index = ((samples.len() - 1) as f64 * q).round() as usize;
        samples[index].as_secs_f64() * 1e6
    };
    Spread {
        median: at(0.5),
        p99: at(0.99),
    }
}

/// Time `f` `iterations` times after a warm-up of a tenth as many.
pub fn time_sync(iterations: usize, mut f: impl FnMut()) -> Spread {
    for _ in 0..iterations / 10 {
        f();
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        f();
        samples.push(started.elapsed());
    }
    spread(samples)
}

/// Time the async `f` `iterations` times after a warm-up of a tenth as many.
pub async fn time_async<F: AsyncFnMut()>(iterations: usize, mut f: F) -> Spread {
    for _ in 0..iterations / 10 {
        f().await;
    }
    let mut samples = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        f().await;
        samples.push(started.elapsed());
    }
    spread(samples)
}
