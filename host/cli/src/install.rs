//! `workway install <integration>[@version]`, `workway uninstall` and
//! `workway installations`: the signed-in account's installed
//! integrations, the only ones its workflows may call.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::Context as _;
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

/// Run `workway install`.
pub async fn install(args: InstallArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let (name, version) = match args.integration.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (args.integration.as_str(), None),
    };
    let config = parse_settings(&args.config)?;
    let client = ApiClient::from_options(server)?;
    let installed: Installation = client
        .post(
            &["v1", "installations"],
            &json!({ "integration": name, "version": version, "config": config }),
        )
        .await?;
    println!(
        "installed {} {} ({})",
        installed.integration, installed.version, installed.digest
    );
    Ok(ExitCode::SUCCESS)
}

/// Run `workway uninstall`.
pub async fn uninstall(args: UninstallArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    client
        .delete(&["v1", "installations", &args.integration])
        .await?;
    println!("uninstalled {}", args.integration);
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
    }
    Ok(ExitCode::SUCCESS)
}
