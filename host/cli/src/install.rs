//! `workway install <integration>[@version]` and `workway installations`:
//! a user's installed integrations, the only ones their workflows may call.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;

use super::platform::PlatformOptions;
use workway_engine::installations;

/// Arguments of `workway install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The integration, as NAME or NAME@VERSION (its newest approved version by default).
    pub integration: String,

    /// A setting of the installation the integration reads, KEY=VALUE (repeatable).
    #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
    pub config: Vec<String>,

    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
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
pub async fn install(args: InstallArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let (name, version) = match args.integration.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (args.integration.as_str(), None),
    };
    let config = parse_settings(&args.config)?;
    let platform = args.platform.platform(cache_dir).await?;
    let user = args.platform.user();
    let installed = installations::install(&platform, &user, name, version, config).await?;
    println!(
        "installed {} {} for {user} ({})",
        installed.row.integration, installed.row.version, installed.row.digest
    );
    Ok(ExitCode::SUCCESS)
}

/// Run `workway installations`.
pub async fn list(
    options: PlatformOptions,
    cache_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let platform = options.platform(cache_dir).await?;
    let user = options.user();
    let all = installations::list(&platform.store, &user).await?;
    if all.is_empty() {
        println!("{user} has installed nothing yet: `workway install <integration>`");
    }
    for i in all {
        println!(
            "{:<16} {:<10} {}",
            i.row.integration, i.row.version, i.row.digest
        );
    }
    Ok(ExitCode::SUCCESS)
}
