//! `workway run <workflow>`: start a run by hand and, unless `--detach`,
//! drive it in this process with a line per step as it finishes;
//! `workway runs list | show`: what ran, each step with its attempts,
//! fuel, billing class and error.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use workway_store::runs::{AttemptRow, AttemptStatus, RunRow, RunStatus};

use super::platform::PlatformOptions;
use super::plugin::thousands;
use workway_engine::executor::{Executor, StepError};
use workway_engine::platform::Platform;
use workway_engine::triggers;
use workway_report::ExecutionReport;

/// Arguments of `workway run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow's name.
    pub workflow: String,

    /// The trigger data: JSON text, `@file`, or `-` for stdin.
    #[arg(long, short, default_value = "{}")]
    pub input: String,

    /// Queue the run and return at once (a `workway worker` runs it).
    #[arg(long)]
    pub detach: bool,

    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// Looking at runs.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Your newest runs.
    List(ListArgs),
    /// One run, step by step.
    Show(ShowArgs),
}

/// Arguments of `workway runs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this workflow's runs.
    #[arg(long)]
    pub workflow: Option<String>,
    /// How many.
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// Arguments of `workway runs show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run's id.
    pub run: String,
    /// Also print each step's input and output.
    #[arg(long, short)]
    pub verbose: bool,
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

fn read_input(arg: &str) -> anyhow::Result<serde_json::Value> {
    let text = if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the input from stdin")?;
        text
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
    } else {
        arg.to_string()
    };
    serde_json::from_str(&text).context("the input is not JSON")
}

/// Run `workway run`.
pub async fn run(args: RunArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let input = read_input(&args.input)?;
    let platform = args.platform.platform(cache_dir).await?;
    let config = args.platform.host_config()?.executor;
    let user = args.platform.user();
    let started = triggers::manual(&platform, &user, &args.workflow, &input).await?;
    if args.detach {
        println!("{}", started.run_id);
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("run {} of `{}`", started.run_id, args.workflow);
    let executor = Arc::new(Executor::new(platform.clone(), config).only(&started.run_id));
    let done = Arc::new(tokio::sync::Notify::new());
    let stop = {
        let done = done.clone();
        async move { done.notified().await }
    };
    let followed = async {
        let row = follow(&platform, &user, &started.run_id).await;
        done.notify_one();
        row
    };
    let ((), row) = tokio::join!(executor.work(stop), followed);
    let row = row?;
    Ok(if row.status == RunStatus::Succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Print each step of `owner`'s run `run_id` as its attempts finish;
/// return the run once it is finished.
async fn follow(platform: &Platform, owner: &str, run_id: &str) -> anyhow::Result<RunRow> {
    let runs = platform.store.runs();
    let mut shown = 0usize;
    let live = std::io::stderr().is_terminal();
    loop {
        let attempts = runs.attempts_owned(owner, run_id).await?;
        for a in attempts.iter().skip(shown) {
            if a.status == AttemptStatus::Running {
                break;
            }
            if live {
                eprint!("\r\x1b[K");
            }
            eprintln!("{}", attempt_line(a));
            shown += 1;
        }
        let run = runs
            .get_owned(owner, run_id)
            .await?
            .with_context(|| format!("run {run_id} disappeared"))?;
        if run.status.is_finished() {
            eprintln!("{}", run_summary(&run));
            return Ok(run);
        }
        if live && let Some(current) = attempts.get(shown) {
            eprint!(
                "\r\x1b[K  … {} ({}) attempt {}",
                current.step_id, current.action, current.attempt
            );
            let _ = std::io::stderr().flush();
        } else if live && run.status == RunStatus::Waiting {
            eprint!("\r\x1b[K  … waiting to retry");
            let _ = std::io::stderr().flush();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn run_summary(run: &RunRow) -> String {
    let took = match (run.started_at, run.finished_at) {
        (Some(s), Some(f)) => format!(" in {} ms", f - s),
        _ => String::new(),
    };
    match &run.error {
        Some(error) if run.status == RunStatus::Refused => {
            let value: serde_json::Value = serde_json::from_str(error).unwrap_or_default();
            let why = value["refused"].as_str().unwrap_or(error.as_str());
            format!("run {} refused: {why}", run.id)
        }
        Some(error) => format!(
            "run {} {}{took}: {}",
            run.id,
            run.status,
            describe_run_error(error)
        ),
        None => format!("run {} {}{took}", run.id, run.status),
    }
}

fn describe_run_error(error: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(error).unwrap_or_default();
    let step = value["step"].as_str().unwrap_or("?");
    let what = serde_json::from_value::<StepError>(value["error"].clone())
        .map(|e| e.to_string())
        .unwrap_or_else(|_| value["error"].to_string());
    let why = value["reason"].as_str().unwrap_or("");
    format!("step `{step}` failed: {what} ({why})")
}

fn attempt_line(a: &AttemptRow) -> String {
    let mark = match a.status {
        AttemptStatus::Succeeded => "ok  ",
        AttemptStatus::Failed => "FAIL",
        AttemptStatus::Skipped => "skip",
        AttemptStatus::Running => "... ",
    };
    let report: Option<ExecutionReport> = a
        .report
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok());
    let measured = report.map_or(String::new(), |r| {
        format!(
            "  {} fuel  {}  {} ms",
            thousands(r.fuel_used),
            r.billing_class,
            r.wall_time_us / 1000
        )
    });
    let error = a
        .error
        .as_deref()
        .and_then(|e| serde_json::from_str::<StepError>(e).ok())
        .map_or(String::new(), |e| format!("\n        {e}"));
    let retry = a.retry_at.map_or(String::new(), |at| {
        let wait = at - a.finished_at.unwrap_or(at);
        format!("  (retry in {wait} ms)")
    });
    format!(
        "  {mark} {:<16} {:<28} attempt {}{measured}{retry}{error}",
        a.step_id, a.action, a.attempt
    )
}

/// Run `workway runs ...`.
pub async fn runs(command: RunsCommand, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    match command {
        RunsCommand::List(args) => {
            let platform = args.platform.platform(cache_dir).await?;
            let user = args.platform.user();
            let workflows: BTreeMap<String, String> = platform
                .store
                .workflows()
                .list(Some(&user))
                .await?
                .into_iter()
                .map(|w| (w.id, w.name))
                .collect();
            let filter = match &args.workflow {
                Some(name) => Some(
                    workflows
                        .iter()
                        .find(|(_, n)| *n == name)
                        .map(|(id, _)| id.clone())
                        .with_context(|| format!("no workflow `{name}`"))?,
                ),
                None => None,
            };
            let rows = platform
                .store
                .runs()
                .list(Some(&user), filter.as_deref(), args.limit)
                .await?;
            for run in rows {
                println!(
                    "{}  {:<20} v{:<3} {:<9} {:<10} {}",
                    run.id,
                    workflows.get(&run.workflow_id).map_or("?", String::as_str),
                    run.workflow_version,
                    run.trigger_kind,
                    run.status,
                    httpdate::fmt_http_date(
                        std::time::UNIX_EPOCH
                            + Duration::from_millis(u64::try_from(run.created_at).unwrap_or(0))
                    )
                );
            }
        }
        RunsCommand::Show(args) => {
            let platform = args.platform.platform(cache_dir).await?;
            let user = args.platform.user();
            // Another user's run is "no run", exactly like a missing one.
            let run = platform
                .store
                .runs()
                .get_owned(&user, &args.run)
                .await?
                .with_context(|| {
                    format!("no run `{}`; `workway runs list` shows yours", args.run)
                })?;
            println!("{}", run_summary(&run));
            println!(
                "  workflow {} v{}, {} trigger, data {}",
                run.workflow_id, run.workflow_version, run.trigger_kind, run.trigger_data
            );
            for a in platform.store.runs().attempts_owned(&user, &run.id).await? {
                println!("{}", attempt_line(&a));
                if args.verbose {
                    if let Some(input) = &a.input {
                        println!("        input:  {input}");
                    }
                    if let Some(output) = &a.output {
                        println!("        output: {output}");
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
