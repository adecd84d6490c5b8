//! The `workway` command line.
//!
//! Plugin authors use `workway plugin new | build | check | run | publish`;
//! reviewers `workway review list | show | approve | reject | revoke`;
//! operators `workway vault new-key | rotate`; the user commands join here
//! as the platform grows.

pub mod plugin;
pub mod registry;
pub mod review;
pub mod vault;

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
        Command::Vault(command) => vault::run(command).await,
    }
}
