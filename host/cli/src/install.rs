//! `workway install <integration>[@version]`, `workway upgrade`,
//! `workway uninstall` and `workway installations`: the signed-in
//! account's installed integrations, the only ones its workflows may call.
//!
//! Installing shows what the version may do (the hosts it may reach, the
//! OAuth scopes it asks for) and asks for confirmation on a terminal, or
//! takes `--yes`; the server records the acceptance of exactly that set.

use std::collections::BTreeMap;
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Deserialize;
use serde_json::json;

use crate::client::{ApiClient, ServerOptions};

/// Arguments of `workway install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The integration, as NAME or NAME@VERSION (its newest approved version by default).
    pub integration: String,

    /// A setting of the installation the integration reads, KEY=VALUE (repeatable).
    #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
    pub config: Vec<String>,

    /// Accept what the version may do without asking (for scripts).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Arguments of `workway upgrade`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The installed integration's name.
    pub integration: String,

    /// Accept what the newer version adds without asking (for scripts).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Arguments of `workway uninstall`.
#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The integration's name.
    pub integration: String,
}

/// An installation as the API shows it.
#[derive(Debug, Deserialize)]
struct Installation {
    integration: String,
    version: String,
    digest: String,
    #[serde(default)]
    update: Option<Update>,
}

/// A newer version waiting for an installation.
#[derive(Debug, Deserialize)]
struct Update {
    consent_required: bool,
    added: Added,
    consent: Consent,
}

/// What a version may do, and the digest that accepts it.
#[derive(Debug, Deserialize)]
struct Consent {
    integration: String,
    version: String,
    hosts: Vec<String>,
    scopes: BTreeMap<String, Vec<String>>,
    consent_digest: String,
    #[serde(default)]
    price_cents: Option<i64>,
}

/// What an update adds.
#[derive(Debug, Deserialize)]
struct Added {
    hosts: Vec<String>,
    scopes: BTreeMap<String, Vec<String>>,
}

/// What an uninstall answers.
#[derive(Debug, Deserialize)]
struct Uninstalled {
    integration: String,
    workflows: Vec<String>,
}

/// What an upgrade answers.
#[derive(Debug, Deserialize)]
struct Upgraded {
    upgraded: bool,
    installation: Installation,
}

/// Parse `KEY=VALUE` settings.
pub fn parse_settings(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.to_string()))
                .with_context(|| format!("`{pair}` is not KEY=VALUE"))
        })
        .collect()
}

/// Print what `consent` grants.
fn show_consent(consent: &Consent) {
    println!(
        "{} {} may do the following:",
        consent.integration, consent.version
    );
    if consent.hosts.is_empty() {
        println!("  reach no hosts");
    }
    for host in &consent.hosts {
        println!("  reach {host}");
    }
    for (provider, scopes) in &consent.scopes {
        if scopes.is_empty() {
            println!("  use your {provider} connection (no scopes)");
        } else {
            println!(
                "  use your {provider} connection with {}",
                scopes.join(", ")
            );
        }
    }
    match consent.price_cents {
        Some(cents) => println!(
            "price: ${}.{:02}, paid once before installing",
            cents / 100,
            cents % 100
        ),
        None => println!("price: free"),
    }
}

/// Print what an update adds.
fn show_added(added: &Added) {
    for host in &added.hosts {
        println!("  new: reach {host}");
    }
    for (provider, scopes) in &added.scopes {
        if scopes.is_empty() {
            println!("  new: use your {provider} connection");
        } else {
            println!("  new: {provider} scopes {}", scopes.join(", "));
        }
    }
}

/// Whether the user accepts, `--yes` or asked on a terminal; refused
/// without a terminal to ask on.
fn confirmed(yes: bool, question: &str) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask on: pass --yes to accept what it may do");
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Run `workway install`.
pub async fn install(args: InstallArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let (name, version) = match args.integration.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (args.integration.as_str(), None),
    };
    let config = parse_settings(&args.config)?;
    let client = ApiClient::from_options(server)?;
    let query: Vec<(&str, String)> = version
        .map(|v| ("version", v.to_string()))
        .into_iter()
        .collect();
    let consent: Consent = client
        .get(&["v1", "integrations", name, "consent"], &query)
        .await?;
    show_consent(&consent);
    if !confirmed(args.yes, "Install it?")? {
        println!("not installed");
        return Ok(ExitCode::FAILURE);
    }
    let installed: Installation = client
        .post(
            &["v1", "installations"],
            &json!({
                "integration": name,
                "version": consent.version,
                "config": config,
                "accept": consent.consent_digest,
            }),
        )
        .await?;
    println!(
        "installed {} {} ({})",
        installed.integration, installed.version, installed.digest
    );
    Ok(ExitCode::SUCCESS)
}

/// Run `workway upgrade`: move an installation to the newest approved
/// version, asking first when it widens what was accepted.
pub async fn upgrade(args: UpgradeArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    let all: Vec<Installation> = client.get(&["v1", "installations"], &[]).await?;
    let Some(installed) = all.into_iter().find(|i| i.integration == args.integration) else {
        bail!(
            "`{}` is not installed: `workway install {}`",
            args.integration,
            args.integration
        );
    };
    let Some(update) = installed.update else {
        println!(
            "{} {} is the newest approved version",
            installed.integration, installed.version
        );
        return Ok(ExitCode::SUCCESS);
    };
    let mut body = json!({});
    if update.consent_required {
        println!(
            "{} {} asks for more than {} {}:",
            update.consent.integration,
            update.consent.version,
            installed.integration,
            installed.version
        );
        show_added(&update.added);
        show_consent(&update.consent);
        if !confirmed(args.yes, "Upgrade it?")? {
            println!(
                "not upgraded: {} keeps {}",
                installed.integration, installed.version
            );
            return Ok(ExitCode::FAILURE);
        }
        body = json!({ "accept": update.consent.consent_digest });
    }
    let upgraded: Upgraded = client
        .post(
            &["v1", "installations", &args.integration, "upgrade"],
            &body,
        )
        .await?;
    let i = upgraded.installation;
    if upgraded.upgraded {
        println!("upgraded {} to {} ({})", i.integration, i.version, i.digest);
    } else {
        println!(
            "{} {} is the newest approved version",
            i.integration, i.version
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `workway uninstall`.
pub async fn uninstall(args: UninstallArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    let done: Uninstalled = client
        .delete_json(&["v1", "installations", &args.integration])
        .await?;
    println!("uninstalled {}", done.integration);
    if !done.workflows.is_empty() {
        println!(
            "these workflows use it and will not start until it is installed again or they change:"
        );
        for workflow in &done.workflows {
            println!("  {workflow}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `workway installations`.
pub async fn list(server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    let all: Vec<Installation> = client.get(&["v1", "installations"], &[]).await?;
    if all.is_empty() {
        println!("nothing installed yet: `workway install <integration>`");
    }
    for i in all {
        println!("{:<16} {:<10} {}", i.integration, i.version, i.digest);
        if let Some(update) = i.update {
            if update.consent_required {
                println!(
                    "  {} waits for your consent (`workway upgrade {}`):",
                    update.consent.version, i.integration
                );
                show_added(&update.added);
            } else {
                println!(
                    "  {} is available (`workway upgrade {}`)",
                    update.consent.version, i.integration
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
