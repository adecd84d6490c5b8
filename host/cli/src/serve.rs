//! `workway serve` and `workway worker`: a host process. Both drive queued
//! runs (the executor), fire schedules and re-emit events of finished
//! runs; `serve` also answers the HTTP API (webhooks, health, metrics).
//! Several may share one store: each run is claimed by one of them at a
//! time, each schedule tick fires once. Both record metrics (see
//! `docs/OBSERVABILITY.md`); a worker serves them on `--metrics-listen`
//! when given.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::sync::watch;

use super::platform::PlatformOptions;
use workway_engine::accounts;
use workway_engine::executor::{Executor, ExecutorConfig};
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
    pub(crate) platform: PlatformOptions,
}

/// Arguments of `workway worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Where to serve `GET /metrics` for a Prometheus scraper (no other
    /// route); not served when absent. Keep it off the public internet.
    #[arg(long, env = "WORKWAY_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// Run `workway serve`.
pub async fn serve(args: ServeArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    workway_engine::metrics::install()?;
    let platform = args.platform.platform(cache_dir).await?;
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
    let background = async {
        if args.api_only {
            upkeep(&platform, stopped).await;
        } else {
            background(platform.clone(), host_config.executor, stopped).await;
        }
    };
    let (api, ()) = tokio::join!(api, background);
    drop(stop);
    api.context("the HTTP server failed")?;
    eprintln!("workway stopped");
    Ok(ExitCode::SUCCESS)
}

/// Run `workway worker`.
pub async fn worker(args: WorkerArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    workway_engine::metrics::install()?;
    let platform = args.platform.platform(cache_dir).await?;
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
    let background = background(platform, host_config.executor, stopped.clone());
    let (metrics, ()) = tokio::join!(metrics, background);
    drop(stop);
    metrics.context("the metrics server failed")?;
    eprintln!("worker stopped");
    Ok(ExitCode::SUCCESS)
}

/// The executor, the scheduler and the event sweep (which also samples
/// the queue depth, folds the metrics' histograms and, once a minute,
/// purges ended rate-limit windows and sessions), until `stopped` says so.
async fn background(
    platform: Arc<Platform>,
    config: ExecutorConfig,
    stopped: watch::Receiver<bool>,
) {
    let executor = Arc::new(Executor::new(platform.clone(), config));
    let scheduler = Scheduler::new(platform.clone(), Duration::from_secs(1));
    let sweep = async {
        let mut stopped = stopped.clone();
        let mut last_purge = 0;
        loop {
            let since = workway_store::clock::now_ms() - SWEEP_WINDOW_MS;
            if let Err(e) = events::sweep(&platform, since).await {
                tracing::warn!("event sweep failed: {e}");
            }
            if let Err(e) = housekeeping(&platform, &mut last_purge).await {
                tracing::warn!("{e}");
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
        sweep
    );
}

/// What an API-only server does besides answering: the queue-depth
/// metric, the histograms' upkeep and the purge of ended rate-limit
/// windows and sessions, until `stopped` says so.
async fn upkeep(platform: &Platform, mut stopped: watch::Receiver<bool>) {
    let mut last_purge = 0;
    loop {
        if let Err(e) = housekeeping(platform, &mut last_purge).await {
            tracing::warn!("{e}");
        }
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
    }
}

/// One round of upkeep: sample the queue depth, fold the histograms and,
/// once a minute (`last_purge` says when it last ran), purge ended
/// rate-limit windows and sessions.
async fn housekeeping(platform: &Platform, last_purge: &mut i64) -> anyhow::Result<()> {
    metrics::sample_queue_depth(&platform.store)
        .await
        .context("cannot count the queued runs")?;
    metrics::run_upkeep();
    let now = workway_store::clock::now_ms();
    if now - *last_purge >= PURGE_EVERY_MS {
        *last_purge = now;
        accounts::purge(&platform.store, &platform.accounts, now)
            .await
            .context("cannot purge ended rate-limit windows and sessions")?;
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
