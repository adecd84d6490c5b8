//! The `workway` command line.
//!
//! The author loop (`workway plugin new | build | check | run`) is local and
//! needs no server. Everything else is a client of a Workway server's API
//! ([`client`]), acting as the account `workway login` signed in:
//! developers `workway plugin publish | submissions`; reviewers `workway
//! review list | show | approve | reject | revoke`; users `workway
//! search`, `install`, `connect`, `workflow ...`, `run`, `runs ...` and
//! `billing ...`; developers also `earnings`. Operators run
//! the server and manage it with local access to its data: `workway
//! serve`, `workway worker`, `workway admin ...` and `workway vault ...`.

pub mod admin;
pub mod billing;
pub mod client;
pub mod connect;
pub mod install;
pub mod login;
pub mod platform;
pub mod plugin;
pub mod registry;
pub mod review;
pub mod run;
pub mod search;
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

    /// How much room compiled components may take in the cache, in MiB (at
    /// least 1); past it the least recently used are removed.
    #[arg(
        long,
        global = true,
        env = "WORKWAY_CACHE_MAX_MB",
        value_name = "MIB",
        default_value_t = workway_report::config::RuntimeConfig::default().cache_max_mb,
        value_parser = parse_cache_max_mb
    )]
    pub cache_max_mb: u64,

    /// The server the API commands talk to, and the token they act with.
    #[command(flatten)]
    pub server: client::ServerOptions,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in to a Workway server and keep an API token for the other commands.
    Login(login::LoginArgs),
    /// Revoke the stored API token and forget it.
    Logout,
    /// Show the signed-in account, its roles and what its token may do.
    Whoami,
    /// Create, build, check and run integrations (for plugin authors).
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Review submitted integrations: approve, reject, revoke (for reviewers).
    #[command(subcommand)]
    Review(review::ReviewCommand),
    /// Search the marketplace's integrations by words, category, price and provider.
    Search(search::SearchArgs),
    /// Install an approved integration so your workflows can use it.
    Install(install::InstallArgs),
    /// Move an installed integration to its newest approved version
    /// (asking first when it may do more than you accepted).
    Upgrade(install::UpgradeArgs),
    /// Uninstall an integration (lists the workflows that use it).
    Uninstall(install::UninstallArgs),
    /// List your installed integrations.
    Installations,
    /// Connect an account: with a key you hold (sealed in the server's
    /// vault at once), or with OAuth in the browser.
    Connect(connect::ConnectArgs),
    /// List your connected accounts (no secrets).
    Connections,
    /// Disconnect an account: its tokens are erased.
    Disconnect(connect::DisconnectArgs),
    /// Create, list and show workflows.
    #[command(subcommand)]
    Workflow(workflow::WorkflowCommand),
    /// Start a run of a workflow and follow it step by step.
    Run(run::RunArgs),
    /// List runs and show one step by step.
    #[command(subcommand)]
    Runs(run::RunsCommand),
    /// Buy a paid integration (then install it).
    Buy(billing::BuyArgs),
    /// Your usage this month and your statements.
    #[command(subcommand)]
    Billing(billing::BillingCommand),
    /// Your earnings as a developer: your share of usage by month and
    /// integration, and your payouts.
    Earnings,
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

/// Where compiled components are cached and how much room they may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileCache {
    /// The cache directory; `None` keeps compiled components in memory only.
    pub dir: Option<PathBuf>,
    /// The room, in MiB, past which the least recently used are removed.
    pub max_mb: u64,
}

/// `--cache-max-mb`: a whole number of MiB, at least 1.
fn parse_cache_max_mb(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => Err("0 leaves the compile cache no room; give at least 1 (MiB)".into()),
        Ok(mb) => Ok(mb),
        Err(_) => Err(format!("`{text}` is not a whole number of MiB")),
    }
}

impl Cli {
    /// The compile cache to use: [`Cli::cache_dir`] and `--cache-max-mb`.
    pub fn compile_cache(&self) -> CompileCache {
        CompileCache {
            dir: self.cache_dir(),
            max_mb: self.cache_max_mb,
        }
    }

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
    let cache = cli.compile_cache();
    let server = &cli.server;
    match cli.command {
        Command::Login(args) => login::login(args, server).await,
        Command::Logout => login::logout(server).await,
        Command::Whoami => login::whoami(server).await,
        Command::Plugin(command) => plugin::run(command, cache, server).await,
        Command::Review(command) => review::run(command, server).await,
        Command::Search(args) => search::search(args, server).await,
        Command::Install(args) => install::install(args, server).await,
        Command::Upgrade(args) => install::upgrade(args, server).await,
        Command::Uninstall(args) => install::uninstall(args, server).await,
        Command::Installations => install::list(server).await,
        Command::Connect(args) => connect::connect(args, server).await,
        Command::Connections => connect::list(server).await,
        Command::Disconnect(args) => connect::disconnect(args, server).await,
        Command::Workflow(command) => workflow::run(command, server).await,
        Command::Run(args) => run::run(args, server).await,
        Command::Runs(command) => run::runs(command, server).await,
        Command::Buy(args) => billing::buy(args, server).await,
        Command::Billing(command) => billing::run(command, server).await,
        Command::Earnings => billing::earnings(server).await,
        Command::Serve(args) => serve::serve(args, cache).await,
        Command::Worker(args) => serve::worker(args, cache).await,
        Command::Admin(command) => admin::run(command).await,
        Command::Vault(command) => vault::run(command).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_budget_is_a_whole_number_of_mib_at_least_one() {
        let parse = |budget: &str| {
            Cli::try_parse_from(["workway", "--cache-max-mb", budget, "installations"])
                .map(|cli| cli.compile_cache().max_mb)
                .map_err(|e| e.to_string())
        };
        assert_eq!(parse("1"), Ok(1));
        assert_eq!(parse("4096"), Ok(4096));
        let zero = parse("0").expect_err("no room");
        assert!(zero.contains("--cache-max-mb"), "{zero}");
        assert!(zero.contains("at least 1 (MiB)"), "{zero}");
        let words = parse("2G").expect_err("not a number");
        assert!(words.contains("not a whole number of MiB"), "{words}");
        if std::env::var_os("WORKWAY_CACHE_MAX_MB").is_none() {
            let cli = Cli::try_parse_from(["workway", "installations"]).expect("parses");
            assert_eq!(cli.cache_max_mb, 2048);
        }
    }
}
