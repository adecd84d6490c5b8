//! `workway run <workflow>`: start a run through the server and, unless
//! `--detach`, follow it with a line per step as it finishes;
//! `workway runs list | show | cancel | rerun`: what ran, each step with
//! its attempts, fuel, billing class and error.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};

use super::plugin::thousands;
use crate::client::{ApiClient, ServerOptions, when};
use workway_engine::executor::StepError;

/// Arguments of `workway run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The workflow's name.
    pub workflow: String,

    /// The trigger data: JSON text, `@file`, or `-` for stdin.
    #[arg(long, short, default_value = "{}")]
    pub input: String,

    /// Queue the run, print its id and return at once.
    #[arg(long)]
    pub detach: bool,
}

/// Looking at runs.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Your newest runs, a page at a time.
    List(ListArgs),
    /// One run, step by step.
    Show(ShowArgs),
    /// Cancel a run that has not finished.
    Cancel(RunIdArgs),
    /// Start a run again with the same input.
    Rerun(RunIdArgs),
}

/// Arguments of `workway runs list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this workflow's runs.
    #[arg(long)]
    pub workflow: Option<String>,
    /// Only runs in this state: queued, running, waiting, succeeded,
    /// failed, cancelled or refused.
    #[arg(long)]
    pub status: Option<String>,
    /// How many (at most 100).
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    /// Where the page starts (printed after the previous page).
    #[arg(long)]
    pub cursor: Option<String>,
}

/// Arguments of `workway runs show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The run's id.
    pub run: String,
    /// Also print each step's input and output.
    #[arg(long, short)]
    pub verbose: bool,
}

/// A command's run id.
#[derive(Debug, Args)]
pub struct RunIdArgs {
    /// The run's id.
    pub run: String,
}

/// A run as the API shows it.
#[derive(Debug, Deserialize)]
struct Run {
    id: String,
    workflow: Option<String>,
    workflow_version: i64,
    trigger: String,
    status: String,
    error: Option<Value>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl Run {
    fn is_finished(&self) -> bool {
        matches!(
            self.status.as_str(),
            "succeeded" | "failed" | "cancelled" | "refused"
        )
    }
}

#[derive(Debug, Deserialize)]
struct RunPage {
    runs: Vec<Run>,
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Attempt {
    step_id: String,
    action: String,
    attempt: i64,
    status: String,
    input: Option<Value>,
    output: Option<Value>,
    error: Option<Value>,
    fuel_used: Option<u64>,
    billing_class: Option<String>,
    wall_time_us: Option<u64>,
    finished_at: Option<i64>,
    retry_at: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct RunDetail {
    #[serde(flatten)]
    run: Run,
    input: Value,
    attempts: Vec<Attempt>,
}

#[derive(Debug, Deserialize)]
struct Started {
    run_id: String,
}

fn read_input(arg: &str) -> anyhow::Result<Value> {
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
pub async fn run(args: RunArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let input = read_input(&args.input)?;
    let client = ApiClient::from_options(server)?;
    let started: Started = client
        .post(
            &["v1", "runs"],
            &json!({ "workflow": args.workflow, "input": input }),
        )
        .await?;
    if args.detach {
        println!("{}", started.run_id);
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("run {} of `{}`", started.run_id, args.workflow);
    let run = follow(&client, &started.run_id).await?;
    Ok(if run.status == "succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Print each step of run `run_id` as its attempts finish; return the run
/// once it is finished. Asks less often the longer the run takes (every
/// request counts against the token's rate limit).
async fn follow(client: &ApiClient, run_id: &str) -> anyhow::Result<Run> {
    let mut shown = 0usize;
    let live = std::io::stderr().is_terminal();
    let mut pause = Duration::from_millis(50);
    loop {
        let detail: RunDetail = client
            .get(&["v1", "runs", run_id], &[])
            .await
            .with_context(|| {
                format!("the run goes on at the server; `workway runs show {run_id}` shows it")
            })?;
        for a in detail.attempts.iter().skip(shown) {
            if a.status == "running" {
                break;
            }
            if live {
                eprint!("\r\x1b[K");
            }
            eprintln!("{}", attempt_line(a));
            shown += 1;
        }
        if detail.run.is_finished() {
            eprintln!("{}", run_summary(&detail.run));
            return Ok(detail.run);
        }
        if live && let Some(current) = detail.attempts.get(shown) {
            eprint!(
                "\r\x1b[K  … {} ({}) attempt {}",
                current.step_id, current.action, current.attempt
            );
            let _ = std::io::stderr().flush();
        } else if live && detail.run.status == "waiting" {
            eprint!("\r\x1b[K  … waiting to retry");
            let _ = std::io::stderr().flush();
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

fn run_summary(run: &Run) -> String {
    let took = match (run.started_at, run.finished_at) {
        (Some(s), Some(f)) => format!(" in {} ms", f - s),
        _ => String::new(),
    };
    match &run.error {
        Some(error) if run.status == "refused" => {
            let why = error["refused"]
                .as_str()
                .map_or_else(|| error.to_string(), str::to_string);
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

fn describe_run_error(error: &Value) -> String {
    let step = error["step"].as_str().unwrap_or("?");
    let what = serde_json::from_value::<StepError>(error["error"].clone())
        .map(|e| e.to_string())
        .unwrap_or_else(|_| error["error"].to_string());
    let why = error["reason"].as_str().unwrap_or("");
    format!("step `{step}` failed: {what} ({why})")
}

fn attempt_line(a: &Attempt) -> String {
    let mark = match a.status.as_str() {
        "succeeded" => "ok  ",
        "failed" => "FAIL",
        "skipped" => "skip",
        _ => "... ",
    };
    let measured = match (a.fuel_used, &a.billing_class, a.wall_time_us) {
        (Some(fuel), Some(class), Some(us)) => {
            format!("  {} fuel  {class}  {} ms", thousands(fuel), us / 1000)
        }
        _ => String::new(),
    };
    let error = a.error.as_ref().map_or(String::new(), |e| {
        match serde_json::from_value::<StepError>(e.clone()) {
            Ok(e) => format!("\n        {e}"),
            Err(_) => format!("\n        {e}"),
        }
    });
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
pub async fn runs(command: RunsCommand, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    match command {
        RunsCommand::List(args) => {
            let mut query = vec![("limit", args.limit.to_string())];
            query.extend(args.workflow.map(|w| ("workflow", w)));
            query.extend(args.status.map(|s| ("status", s)));
            query.extend(args.cursor.map(|c| ("cursor", c)));
            let page: RunPage = client.get(&["v1", "runs"], &query).await?;
            for run in &page.runs {
                println!(
                    "{}  {:<20} v{:<3} {:<9} {:<10} {}",
                    run.id,
                    run.workflow.as_deref().unwrap_or("(deleted)"),
                    run.workflow_version,
                    run.trigger,
                    run.status,
                    when(run.created_at)
                );
            }
            if let Some(cursor) = page.next_cursor {
                eprintln!("more: workway runs list --cursor {cursor}");
            }
        }
        RunsCommand::Show(args) => {
            let detail: RunDetail = client.get(&["v1", "runs", &args.run], &[]).await?;
            let run = &detail.run;
            println!("{}", run_summary(run));
            println!(
                "  workflow {} v{}, {} trigger, data {}",
                run.workflow.as_deref().unwrap_or("(deleted)"),
                run.workflow_version,
                run.trigger,
                detail.input
            );
            for a in &detail.attempts {
                println!("{}", attempt_line(a));
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
        RunsCommand::Cancel(args) => {
            client
                .post_action(&["v1", "runs", &args.run, "cancel"])
                .await?;
            println!("cancelled run {}", args.run);
        }
        RunsCommand::Rerun(args) => {
            let started: Started = client
                .post(&["v1", "runs", &args.run, "rerun"], &())
                .await?;
            println!("{}", started.run_id);
        }
    }
    Ok(ExitCode::SUCCESS)
}
