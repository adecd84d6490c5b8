//! `workway workflow create | list | show`: workflow definitions (YAML or
//! JSON), validated against the user's installations when saved, each save
//! a new version.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::platform::PlatformOptions;
use crate::workflow::definition::{Format, WorkflowDefinition};
use crate::workflow::saved;

/// Managing workflows.
#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Save a workflow from a file: a new workflow, or the next version of
    /// the one with its name.
    Create(CreateArgs),
    /// List your workflows.
    List(PlatformOptions),
    /// Show a workflow's definition (its current version, or --version N).
    Show(ShowArgs),
}

/// Arguments of `workway workflow create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The definition, `.yaml`/`.yml` or `.json`.
    pub file: PathBuf,
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// Arguments of `workway workflow show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The workflow's name.
    pub name: String,
    /// A version other than the current one.
    #[arg(long)]
    pub version: Option<i64>,
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// Run a workflow command.
pub async fn run(command: WorkflowCommand, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    match command {
        WorkflowCommand::Create(args) => {
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let format = Format::from_path(&args.file);
            let definition = WorkflowDefinition::parse(&text, format)
                .with_context(|| format!("{}", args.file.display()))?;
            let platform = args.platform.platform(cache_dir).await?;
            let user = args.platform.user();
            let saved = saved::save(&platform, &user, definition).await?;
            println!(
                "saved workflow `{}` version {} ({} trigger, {} step(s))",
                saved.row.name,
                saved.row.version,
                saved.row.trigger_kind,
                saved.definition.steps.len()
            );
            if let Some(token) = &saved.row.webhook_token {
                println!("webhook path: /v1/hooks/{token}");
            }
        }
        WorkflowCommand::List(options) => {
            let platform = options.platform(cache_dir).await?;
            let user = options.user();
            let rows = platform.store.workflows().list(Some(&user)).await?;
            if rows.is_empty() {
                println!("{user} has no workflows yet: `workway workflow create <file.yaml>`");
            }
            for row in rows {
                println!("{:<28} v{:<4} {}", row.name, row.version, row.trigger_kind);
            }
        }
        WorkflowCommand::Show(args) => {
            let platform = args.platform.platform(cache_dir).await?;
            let user = args.platform.user();
            let current = saved::load(&platform, &user, &args.name).await?;
            let definition = match args.version {
                Some(v) => saved::definition_of(&platform, &current.row, v).await?,
                None => current.definition,
            };
            println!(
                "# {} version {} of {}",
                current.row.name,
                args.version.unwrap_or(current.row.version),
                current.row.version
            );
            println!("{}", definition.to_yaml());
        }
    }
    Ok(ExitCode::SUCCESS)
}
