//! `workway workflow create | list | show | versions | rotate-secret |
//! set-secret | delete`: the signed-in account's workflow definitions
//! (YAML or JSON), validated by the server against the account's
//! installations when saved, each save a new version; a webhook
//! workflow's signing secret, shown once when it is made and again only
//! when rotated, or set to the one its sender gave (Stripe, Slack,
//! GitHub), read from standard input.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Deserialize;

use crate::client::{ApiClient, ServerOptions, when};
use workway_workflow::definition::{Format, Trigger, WebhookFormat, WorkflowDefinition};

/// Managing workflows.
#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// Save a workflow from a file: a new workflow, or the next version of
    /// the one with its name.
    Create(CreateArgs),
    /// List your workflows.
    List,
    /// Show a workflow's definition (its current version, or --version N).
    // `--version N` is this command's own option: clap's version flag
    // (propagated from `workway --version`) would collide with it.
    #[command(disable_version_flag = true)]
    Show(ShowArgs),
    /// List a workflow's saved versions.
    Versions(NameArgs),
    /// Give a webhook workflow a new signing secret and print it (the old
    /// one stops working at once).
    RotateSecret(NameArgs),
    /// Set a webhook workflow's signing secret to the one its sender gave
    /// (Stripe's endpoint secret, Slack's signing secret, the secret typed
    /// into GitHub, a Standard Webhooks sender's public key `whpk_...`,
    /// never its private `whsk_...`), read from standard input so it stays
    /// out of the shell's history and the process list:
    /// `printf '%s' "$SECRET" | workway workflow set-secret <name>`.
    SetSecret(NameArgs),
    /// Delete a workflow: its triggers stop; its runs stay readable.
    Delete(NameArgs),
}

/// A command's workflow name.
#[derive(Debug, Args)]
pub struct NameArgs {
    /// The workflow's name.
    pub name: String,
}

/// Arguments of `workway workflow create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The definition, `.yaml`/`.yml` or `.json`.
    pub file: PathBuf,
}

/// Arguments of `workway workflow show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The workflow's name.
    pub name: String,
    /// A version other than the current one.
    #[arg(long)]
    pub version: Option<i64>,
}

/// A workflow as the API shows it.
#[derive(Debug, Deserialize)]
struct Workflow {
    name: String,
    version: i64,
    trigger: String,
}

/// A workflow with a definition.
#[derive(Debug, Deserialize)]
struct WorkflowDetail {
    #[serde(flatten)]
    workflow: Workflow,
    definition: WorkflowDefinition,
}

#[derive(Debug, Deserialize)]
struct Webhook {
    path: String,
    #[serde(default)]
    secret: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Saved {
    #[serde(flatten)]
    workflow: WorkflowDetail,
    #[serde(default)]
    webhook: Option<Webhook>,
}

#[derive(Debug, Deserialize)]
struct Version {
    version: i64,
    created_at: i64,
}

#[derive(Debug, Deserialize)]
struct VersionDetail {
    version: i64,
    current_version: i64,
    definition: WorkflowDefinition,
}

#[derive(Debug, Deserialize)]
struct Rotated {
    webhook: Webhook,
}

#[derive(Debug, Deserialize)]
struct SecretSet {
    format: String,
}

/// The longest secret read from standard input, in bytes.
const MAX_SECRET_INPUT: u64 = 4096;

/// The secret on standard input: its first line, without the line end.
fn read_secret() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .take(MAX_SECRET_INPUT)
        .read_to_string(&mut text)
        .context("cannot read the secret from standard input")?;
    let secret = text.lines().next().unwrap_or_default().to_string();
    anyhow::ensure!(
        !secret.is_empty(),
        "no secret on standard input: `printf '%s' \"$SECRET\" | workway workflow set-secret <name>`"
    );
    Ok(secret)
}

/// Run a workflow command.
pub async fn run(command: WorkflowCommand, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    match command {
        WorkflowCommand::Create(args) => {
            let text = std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?;
            let content_type = match Format::from_path(&args.file) {
                Format::Json => "application/json",
                Format::Yaml => "application/yaml",
            };
            let saved: Saved = client
                .post_text(&["v1", "workflows"], content_type, text)
                .await
                .with_context(|| format!("{} was not saved", args.file.display()))?;
            let workflow = &saved.workflow.workflow;
            println!(
                "saved workflow `{}` version {} ({} trigger, {} step(s))",
                workflow.name,
                workflow.version,
                workflow.trigger,
                saved.workflow.definition.steps.len()
            );
            if let Some(webhook) = &saved.webhook {
                println!("webhook path: {}", webhook.path);
                let format = match &saved.workflow.definition.trigger {
                    Trigger::Webhook { format, .. } => *format,
                    _ => WebhookFormat::Workway,
                };
                match &webhook.secret {
                    Some(_) if matches!(format, WebhookFormat::Stripe | WebhookFormat::Slack) => {
                        println!(
                            "signing secret: {format} makes it; set it with `printf '%s' \"$SECRET\" | \
                             workway workflow set-secret {}` (deliveries are refused until then)",
                            workflow.name
                        );
                    }
                    Some(secret) => print_secret(secret, Some(format)),
                    None => println!(
                        "signing secret: unchanged (`workway workflow rotate-secret {}` makes a new one)",
                        workflow.name
                    ),
                }
            }
        }
        WorkflowCommand::List => {
            let rows: Vec<Workflow> = client.get(&["v1", "workflows"], &[]).await?;
            if rows.is_empty() {
                println!("no workflows yet: `workway workflow create <file.yaml>`");
            }
            for row in rows {
                println!("{:<28} v{:<4} {}", row.name, row.version, row.trigger);
            }
        }
        WorkflowCommand::Show(args) => {
            let (version, current, definition) = match args.version {
                Some(v) => {
                    let detail: VersionDetail = client
                        .get(
                            &["v1", "workflows", &args.name, "versions", &v.to_string()],
                            &[],
                        )
                        .await?;
                    (detail.version, detail.current_version, detail.definition)
                }
                None => {
                    let detail: WorkflowDetail =
                        client.get(&["v1", "workflows", &args.name], &[]).await?;
                    let v = detail.workflow.version;
                    (v, v, detail.definition)
                }
            };
            println!("# {} version {version} of {current}", args.name);
            println!("{}", definition.to_yaml());
        }
        WorkflowCommand::Versions(args) => {
            let versions: Vec<Version> = client
                .get(&["v1", "workflows", &args.name, "versions"], &[])
                .await?;
            for v in versions {
                println!("v{:<4} {}", v.version, when(v.created_at));
            }
        }
        WorkflowCommand::RotateSecret(args) => {
            let rotated: Rotated = client
                .post(&["v1", "workflows", &args.name, "rotate-secret"], &())
                .await?;
            println!(
                "new signing secret of `{}`; the old one no longer verifies",
                args.name
            );
            let secret = rotated
                .webhook
                .secret
                .context("the server rotated the secret but did not send the new one")?;
            print_secret(&secret, None);
        }
        WorkflowCommand::SetSecret(args) => {
            let secret = read_secret()?;
            let set: SecretSet = client
                .post(
                    &["v1", "workflows", &args.name, "secret"],
                    &serde_json::json!({ "secret": secret }),
                )
                .await?;
            println!(
                "signing secret of `{}` set for its {} deliveries; the old one no longer verifies",
                args.name, set.format
            );
        }
        WorkflowCommand::Delete(args) => {
            client.delete(&["v1", "workflows", &args.name]).await?;
            println!(
                "deleted workflow `{}`: its triggers stop; its runs stay readable",
                args.name
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Print a webhook signing secret, with how a `format` sender uses it
/// (when known); shown only now.
fn print_secret(secret: &str, format: Option<WebhookFormat>) {
    println!("signing secret: {secret}");
    let how = match format {
        Some(WebhookFormat::StandardWebhooks) => "webhook-signature, Standard Webhooks",
        Some(WebhookFormat::Github) => {
            "X-Hub-Signature-256: paste it as the GitHub webhook's secret"
        }
        Some(_) => "Workway-Signature, see the README's webhook section",
        None => "in the header its format names, see the README's webhook section",
    };
    println!(
        "  shown only now: keep it with the sender, which signs each delivery with it ({how})"
    );
}
