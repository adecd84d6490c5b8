//! The `workway` command line.
//!
//! Plugin authors use `workway plugin new | build | check | run | publish`;
//! reviewers `workway review list | show | approve | reject | revoke`;
//! users `workway install`, `workway connect`, `workway workflow create | list | show`,
//! `workway run` and `workway runs list | show`; operators `workway serve`,
//! `workway worker`, `workway admin create-user | set-roles |
//! reset-password | disable | enable | users` and `workway vault new-key |
//! rotate`.

pub mod admin;
pub mod connect;
pub mod install;
pub mod platform;
pub mod plugin;
pub mod registry;
pub mod review;
pub mod run;
pub mod serve;
pub mod vault;
pub mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Workway: build, check and run marketplace integrations in a sandbox.
#[derive(Debug, Parser)]
#[command(name = "workway", version, propagate_version = true)]
pub struct Cli {
    /// Where compiled components are cached [default: $XDG_CACHE_HOME/workway or ~/.cache/workway].
    #[arg(long, global = true, env = "WORKWAY_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create, build, check and run integrations (for plugin authors).
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Review submitted integrations: approve, reject, revoke (for reviewers).
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// Install an approved integration so your workflows can use it.
    Install(install::InstallArgs),
    /// List your installed integrations.
    Installations(platform::PlatformOptions),
    /// Connect an account with a token you hold (sealed in the vault at once).
    Connect(connect::ConnectArgs),
    /// List your connected accounts (no secrets).
    Connections(platform::PlatformOptions),
    /// Create, list and show workflows.
    #[command(subcommand)]
    Workflow(workflow::WorkflowCommand),
    /// Start a run of a workflow and follow it step by step.
    Run(run::RunArgs),
    /// List runs and show one step by step.
    #[command(subcommand)]
    Runs(run::RunsCommand),
    /// Serve the HTTP API (webhooks, health) and drive runs, schedules and events (for operators).
    Serve(serve::ServeArgs),
    /// Drive runs, schedules and events without the HTTP API (for operators).
    Worker(serve::WorkerArgs),
    /// Manage accounts: create users, roles, password resets (for operators).
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Manage the keys that seal users' OAuth tokens (for operators).
    #[command(subcommand)]
    Vault(vault::VaultCommand),
}

impl Cli {
    /// The component cache directory to use.
    pub fn cache_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.cache_dir {
            return Some(dir.clone());
        }
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|base| base.join("workway"))
    }
}

/// Run the parsed command line; the exit code says how it went.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let cache_dir = cli.cache_dir();
    match cli.command {
        Command::Plugin(command) => plugin::run(command, cache_dir).await,
        Command::Review(command) => review::run(command, plugin::runtime(cache_dir)?).await,
        Command::Install(args) => install::install(args, cache_dir).await,
        Command::Installations(args) => install::list(args, cache_dir).await,
        Command::Connect(args) => connect::connect(args, cache_dir).await,
        Command::Connections(args) => connect::list(args, cache_dir).await,
        Command::Workflow(command) => workflow::run(command, cache_dir).await,
        Command::Run(args) => run::run(args, cache_dir).await,
        Command::Runs(command) => run::runs(command, cache_dir).await,
        Command::Serve(args) => serve::serve(args, cache_dir).await,
        Command::Worker(args) => serve::worker(args, cache_dir).await,
        Command::Admin(command) => admin::run(command).await,
        Command::Vault(command) => vault::run(command).await,
    }
}
