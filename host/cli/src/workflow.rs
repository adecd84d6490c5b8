//! `workway workflow create | list | show | rotate-secret`: workflow
//! definitions (YAML or JSON), validated against the user's installations
//! when saved, each save a new version; a webhook workflow's signing
//! secret, shown once when it is made and again only when rotated.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::platform::PlatformOptions;
use workway_engine::saved;
use workway_engine::triggers::webhook;
use workway_workflow::definition::{Format, WorkflowDefinition};

/// Managing workflows.
#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Save a workflow from a file: a new workflow, or the next version of
    /// the one with its name.
    Create(CreateArgs),
    /// List your workflows.
    List(PlatformOptions),
    /// Show a workflow's definition (its current version, or --version N).
    // `--version N` is this command's own option: clap's version flag
    // (propagated from `workway --version`) would collide with it.
    #[command(disable_version_flag = true)]
    Show(ShowArgs),
    /// Give a webhook workflow a new signing secret and print it (the old
    /// one stops working at once).
    RotateSecret(RotateArgs),
}

/// Arguments of `workway workflow rotate-secret`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The workflow's name.
    pub name: String,
    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
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
            let had_webhook = platform
                .store
                .workflows()
                .find(&user, &definition.name)
                .await?
                .is_some_and(|w| w.webhook_token.is_some());
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
                if had_webhook {
                    println!(
                        "signing secret: unchanged (`workway workflow rotate-secret {}` makes a new one)",
                        saved.row.name
                    );
                } else {
                    let sealed = saved
                        .row
                        .webhook_secret
                        .as_deref()
                        .context("the saved webhook workflow has no signing secret")?;
                    let secret = webhook::open_secret(&platform, token, sealed)
                        .map_err(|e| anyhow::anyhow!("cannot open the signing secret: {e}"))?;
                    print_secret(&secret);
                }
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
        WorkflowCommand::RotateSecret(args) => {
            let platform = args.platform.platform(cache_dir).await?;
            let user = args.platform.user();
            let secret = webhook::rotate_secret(&platform, &user, &args.name).await?;
            println!(
                "new signing secret of `{}`; the old one no longer verifies",
                args.name
            );
            print_secret(&secret);
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

/// Print a webhook signing secret, with how it is used; shown only now.
fn print_secret(secret: &str) {
    println!("signing secret: {secret}");
    println!(
        "  shown only now: keep it with the sender, which signs each delivery with it \
         (Workway-Signature, see the README's webhook section)"
    );
}
