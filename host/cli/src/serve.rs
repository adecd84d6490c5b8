//! `workway serve` and `workway worker`: a host process. Both drive queued
//! runs (the executor), fire schedules and re-emit events of finished
//! runs; `serve` also answers the HTTP API (webhooks, health, metrics).
//! Several may share one store: each run is claimed by one of them at a
//! time, each schedule tick fires once. Both record metrics (see
//! `docs/OBSERVABILITY.md`); a worker serves them on `--metrics-listen`
//! when given.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::sync::watch;

use super::platform::PlatformOptions;
use crate::CompileCache;
use workway_engine::accounts;
use workway_engine::billing::{settlement, statements};
use workway_engine::executor::{Executor, ExecutorConfig};
use workway_engine::marketplace::figures::{self, RollupSettings};
use workway_engine::metrics;
use workway_engine::platform::Platform;
use workway_engine::triggers::{events, schedule::Scheduler};

/// How far back the event sweep looks for finished runs.
const SWEEP_WINDOW_MS: i64 = 10 * 60 * 1000;

/// How often ended rate-limit windows and sessions are purged.
const PURGE_EVERY_MS: i64 = 60 * 1000;

/// Arguments of `workway serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the HTTP API listens.
    #[arg(long, env = "WORKWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Answer the API only: leave queued runs, schedules and events to
    /// `workway worker` processes on the same store (a front end that
    /// scales apart from the workers).
    #[arg(long, env = "WORKWAY_API_ONLY")]
    pub api_only: bool,
    #[command(flatten)]
    pub(crate) rollup: RollupOptions,
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// How often the marketplace's execution figures are rolled up.
#[derive(Debug, Clone, Args)]
pub struct RollupOptions {
    /// Seconds between roll-ups of finished step attempts into the
    /// listings' execution figures (at least 1).
    #[arg(
        long = "usage-rollup-every",
        env = "WORKWAY_USAGE_ROLLUP_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub every_secs: u64,
}

impl RollupOptions {
    /// The roll-up's settings: the defaults at this cadence.
    fn settings(&self) -> RollupSettings {
        RollupSettings {
            every: Duration::from_secs(self.every_secs),
            ..RollupSettings::default()
        }
    }
}

/// Arguments of `workway worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Where to serve `GET /metrics` for a Prometheus scraper (no other
    /// route); not served when absent. Keep it off the public internet.
    #[arg(long, env = "WORKWAY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub(crate) rollup: RollupOptions,
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// Run `workway serve`.
pub async fn serve(args: ServeArgs, cache: CompileCache) -> anyhow::Result<ExitCode> {
    workway_engine::metrics::install()?;
    let platform = args.platform.platform(cache).await?;
    let host_config = args.platform.host_config()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr().unwrap_or(args.listen);
    let (stop, stopped) = stop_on_signal();
    eprintln!("workway serving on http://{address}");
    let api = workway_server::serve_with(
        listener,
        platform.clone(),
        host_config.server,
        wait(stopped.clone()),
    );
    let rollup = args.rollup.settings();
    let background = async {
        if args.api_only {
            upkeep(&platform, rollup, stopped).await;
        } else {
            background(platform.clone(), host_config.executor, rollup, stopped).await;
        }
    };
    let (api, ()) = tokio::join!(api, background);
    drop(stop);
    api.context("the HTTP server failed")?;
    eprintln!("workway stopped");
    Ok(ExitCode::SUCCESS)
}

/// Run `workway worker`.
pub async fn worker(args: WorkerArgs, cache: CompileCache) -> anyhow::Result<ExitCode> {
    workway_engine::metrics::install()?;
    let platform = args.platform.platform(cache).await?;
    let host_config = args.platform.host_config()?;
    let metrics_listener = match args.metrics_listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address}"))?,
        ),
        None => None,
    };
    let (stop, stopped) = stop_on_signal();
    let metrics = async {
        let Some(listener) = metrics_listener else {
            return Ok(());
        };
        if let Ok(address) = listener.local_addr() {
            eprintln!("worker metrics on http://{address}/metrics");
        }
        workway_server::serve_router(
            listener,
            workway_server::observe::metrics_router(),
            host_config.server,
            wait(stopped.clone()),
        )
        .await
    };
    eprintln!("worker ready");
    let background = background(
        platform,
        host_config.executor,
        args.rollup.settings(),
        stopped.clone(),
    );
    let (metrics, ()) = tokio::join!(metrics, background);
    drop(stop);
    metrics.context("the metrics server failed")?;
    eprintln!("worker stopped");
    Ok(ExitCode::SUCCESS)
}

/// The executor, the scheduler and the event sweep (which also does the
/// [`housekeeping`]), until `stopped` says so.
async fn background(
    platform: Arc<Platform>,
    config: ExecutorConfig,
    rollup: RollupSettings,
    stopped: watch::Receiver<bool>,
) {
    let executor = Arc::new(Executor::new(platform.clone(), config));
    let scheduler = Scheduler::new(platform.clone(), Duration::from_secs(1));
    let sweep = async {
        let mut stopped = stopped.clone();
        let mut chores = Chores::new();
        loop {
            let since = workway_store::clock::now_ms() - SWEEP_WINDOW_MS;
            if let Err(e) = events::sweep(&platform, since).await {
                tracing::warn!("event sweep failed: {e}");
            }
            if let Err(e) = housekeeping(&platform, &mut chores).await {
                tracing::warn!("{e:#}");
            }
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    };
    tokio::join!(
        executor.work(wait(stopped.clone())),
        scheduler.run(wait(stopped.clone())),
        sweep,
        roll_ups(&platform, rollup, stopped.clone())
    );
}

/// What an API-only server does besides answering: the
/// [`housekeeping`], until `stopped` says so.
async fn upkeep(platform: &Platform, rollup: RollupSettings, stopped: watch::Receiver<bool>) {
    let chores = async {
        let mut stopped = stopped.clone();
        let mut chores = Chores::new();
        loop {
            if let Err(e) = housekeeping(platform, &mut chores).await {
                tracing::warn!("{e:#}");
            }
            tokio::select! {
                _ = stopped.wait_for(|s| *s) => return,
                () = tokio::time::sleep(Duration::from_secs(5)) => {}
            }
        }
    };
    tokio::join!(chores, roll_ups(platform, rollup, stopped.clone()));
}

/// Roll the finished step attempts up into the listings' execution
/// figures every `settings.every`, until `stopped` says so: a loop of its
/// own, so a long backlog (a database upgraded with millions of attempts)
/// never holds up the event sweep or the purges. While a roll-up leaves
/// attempts behind (it did its most batches), the next starts at once.
async fn roll_ups(
    platform: &Platform,
    settings: RollupSettings,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let now = workway_store::clock::now_ms();
        let behind = match figures::roll_up(&platform.store, now, &settings).await {
            Ok(report) => report.batches >= settings.max_batches,
            Err(e) => {
                tracing::warn!("cannot roll up the executions into the listings' figures: {e}");
                false
            }
        };
        let pause = if behind {
            Duration::ZERO
        } else {
            settings.every
        };
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// The periodic chores of [`housekeeping`]: when each last ran.
struct Chores {
    /// When ended rate-limit windows and sessions were last purged (Unix ms).
    last_purge: i64,
}

impl Chores {
    /// Nothing done yet: every chore is due.
    fn new() -> Chores {
        Chores { last_purge: 0 }
    }
}

/// One round of upkeep: sample the queue depth, fold the histograms, and
/// once a minute purge ended rate-limit windows and sessions, finalize
/// the monthly statements that are due, and settle them (invoices and
/// payouts through the payment provider).
async fn housekeeping(platform: &Platform, chores: &mut Chores) -> anyhow::Result<()> {
    metrics::sample_queue_depth(&platform.store)
        .await
        .context("cannot count the queued runs")?;
    metrics::run_upkeep();
    let now = workway_store::clock::now_ms();
    if now - chores.last_purge >= PURGE_EVERY_MS {
        chores.last_purge = now;
        accounts::purge(&platform.store, &platform.accounts, now)
            .await
            .context("cannot purge ended rate-limit windows and sessions")?;
        statements::finalize_due(&platform.store, now, statements::GRACE_MS)
            .await
            .context("cannot finalize the monthly statements")?;
        settlement::settle(platform, now)
            .await
            .context("cannot settle invoices and payouts")?;
    }
    Ok(())
}

/// Completes when `stopped` turns true.
async fn wait(mut stopped: watch::Receiver<bool>) {
    let _ = stopped.wait_for(|s| *s).await;
}

/// A flag that turns true on Ctrl-C or SIGTERM; keep the sender alive.
fn stop_on_signal() -> (Arc<watch::Sender<bool>>, watch::Receiver<bool>) {
    let (tx, rx) = watch::channel(false);
    let tx = Arc::new(tx);
    let signal = tx.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = signal.send(true);
    });
    (tx, rx)
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
