//! `workway serve` and `workway worker`: a host process. Both drive queued
//! runs (the executor), fire schedules and re-emit events of finished
//! runs; `serve` also answers the HTTP API (webhooks, health). Several may
//! share one store: each run is claimed by one of them at a time, each
//! schedule tick fires once.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tokio::sync::watch;

use super::platform::PlatformOptions;
use workway_engine::executor::{Executor, ExecutorConfig};
use workway_engine::platform::Platform;
use workway_engine::triggers::{events, schedule::Scheduler};

/// How far back the event sweep looks for finished runs.
const SWEEP_WINDOW_MS: i64 = 10 * 60 * 1000;

/// Arguments of `workway serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where the HTTP API listens.
    #[arg(long, env = "WORKWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// Arguments of `workway worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// Run `workway serve`.
pub async fn serve(args: ServeArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let platform = args.platform.platform(cache_dir).await?;
    let config = args.platform.host_config()?.executor;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr().unwrap_or(args.listen);
    let (stop, stopped) = stop_on_signal();
    eprintln!("workway serving on http://{address}");
    let api = workway_server::serve(listener, platform.clone(), wait(stopped.clone()));
    let (api, ()) = tokio::join!(api, background(platform, config, stopped));
    drop(stop);
    api.context("the HTTP server failed")?;
    eprintln!("workway stopped");
    Ok(ExitCode::SUCCESS)
}

/// Run `workway worker`.
pub async fn worker(args: WorkerArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let platform = args.platform.platform(cache_dir).await?;
    let config = args.platform.host_config()?.executor;
    let (stop, stopped) = stop_on_signal();
    eprintln!("worker ready");
    background(platform, config, stopped).await;
    drop(stop);
    eprintln!("worker stopped");
    Ok(ExitCode::SUCCESS)
}

/// The executor, the scheduler and the event sweep, until `stopped` says so.
async fn background(
    platform: Arc<Platform>,
    config: ExecutorConfig,
    stopped: watch::Receiver<bool>,
) {
    let executor = Arc::new(Executor::new(platform.clone(), config));
    let scheduler = Scheduler::new(platform.clone(), Duration::from_secs(1));
    let sweep = async {
        let mut stopped = stopped.clone();
        loop {
            let since = workway_store::clock::now_ms() - SWEEP_WINDOW_MS;
            if let Err(e) = events::sweep(&platform, since).await {
                tracing::warn!("event sweep failed: {e}");
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
