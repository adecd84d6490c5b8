//! `workway connect <provider> --token -` and `workway connections`: a
//! user's accounts in the vault. Connecting from the command line takes a
//! token the user already holds (a Slack bot token, a Notion internal
//! integration secret, a Stripe restricted key); it is sealed at once and
//! never shown again. Browser sign-in goes through the OAuth flow instead.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;

use super::platform::PlatformOptions;
use crate::oauth::token::TokenSet;
use crate::secret::Secret;

/// Arguments of `workway connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The provider: google, notion, slack or stripe.
    pub provider: String,

    /// The access token, or `-` to read it from stdin (keeps it out of the
    /// shell history and the process list).
    #[arg(long, env = "WORKWAY_CONNECT_TOKEN", hide_env_values = true)]
    pub token: String,

    /// The account's name, shown to the user and to integrations.
    #[arg(long)]
    pub account: Option<String>,

    /// The scopes the token was granted (repeatable).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,

    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// Run `workway connect`.
pub async fn connect(args: ConnectArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let token = if args.token == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the token from stdin")?;
        text.trim().to_string()
    } else {
        args.token.trim().to_string()
    };
    if token.is_empty() {
        bail!("the token is empty");
    }
    let platform = args.platform.platform(cache_dir).await?;
    let user = args.platform.user();
    let saved = platform
        .vault
        .save(
            &user,
            &args.provider,
            &args.scopes,
            &TokenSet {
                access_token: Secret::new(token),
                refresh_token: None,
                expires_at: None,
                scopes: None,
                account: args.account.clone(),
            },
        )
        .await?;
    println!(
        "connected {} for {user} ({}); the token is sealed in the vault",
        saved.provider, saved.id
    );
    Ok(ExitCode::SUCCESS)
}

/// Run `workway connections`.
pub async fn list(
    options: PlatformOptions,
    cache_dir: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let platform = options.platform(cache_dir).await?;
    let user = options.user();
    let all = platform.vault.list(&user).await?;
    if all.is_empty() {
        println!("{user} has no connections yet: `workway connect <provider> --token -`");
    }
    for c in all {
        println!(
            "{:<8} {:<20} {:<12} {}",
            c.info.provider,
            c.info.account.as_deref().unwrap_or("-"),
            match c.status {
                workway_store::connections::ConnectionStatus::Active => "active",
                workway_store::connections::ConnectionStatus::NeedsReauth => "needs-reauth",
            },
            c.info.id
        );
    }
    Ok(ExitCode::SUCCESS)
}
