//! `workway connect <provider> --token -` and `workway connections`: a
//! user's accounts in the vault. Connecting from the command line takes a
//! token the user already holds (a Slack bot token, a Notion internal
//! integration secret, a Stripe restricted key); it is sealed at once and
//! never shown again. Browser sign-in goes through the OAuth flow instead.
//!
//! A pasted token's scopes are what the user says they are: for a provider
//! whose tokens carry scopes (Google, Slack, Stripe) at least one `--scope`
//! is required, spelled the way the provider spells it, because a
//! connection is handed only to installations approved for every scope it
//! records, and one that records none could reach anything.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;

use workway_registry::manifest::{KNOWN_PROVIDERS, SCOPELESS_PROVIDERS};
use workway_registry::scopes::scope_problem;

use super::platform::PlatformOptions;
use workway_capabilities::secret::Secret;
use workway_vault::oauth::token::TokenSet;

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

    /// The scopes the token was granted (repeatable); required for Google,
    /// Slack and Stripe, refused for Notion, whose tokens carry none.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,

    #[command(flatten)]
    pub(crate) platform: PlatformOptions,
}

/// A scope `provider` really grants, to show in an example command.
fn example_scope(provider: &str) -> &'static str {
    match provider {
        "google" => "https://www.googleapis.com/auth/gmail.modify",
        "slack" => "chat:write",
        _ => "read_write",
    }
}

/// Check the scopes a user says `provider`'s token was granted: present
/// when the provider's tokens carry scopes, absent when they carry none,
/// and each spelled the way the provider spells it. Returns them sorted,
/// without repeats.
fn checked_scopes(provider: &str, scopes: &[String]) -> anyhow::Result<Vec<String>> {
    if !KNOWN_PROVIDERS.contains(&provider) {
        bail!(
            "unknown provider `{provider}`; use one of: {}",
            KNOWN_PROVIDERS.join(", ")
        );
    }
    if SCOPELESS_PROVIDERS.contains(&provider) {
        if !scopes.is_empty() {
            bail!(
                "`{provider}` tokens carry no scopes (the user picks what they reach when creating them); connect without `--scope`"
            );
        }
        return Ok(Vec::new());
    }
    if scopes.is_empty() {
        bail!(
            "name the scopes the `{provider}` token was granted, with one `--scope` each (like `workway connect {provider} --token - --scope {}`): the connection is handed only to integrations approved for all of them",
            example_scope(provider)
        );
    }
    let mut checked = Vec::with_capacity(scopes.len());
    for scope in scopes {
        let scope = scope.trim();
        if scope.is_empty() {
            bail!("a `--scope` is empty: name a scope the token was granted");
        }
        if scope.contains(char::is_whitespace) {
            bail!(
                "`--scope {scope:?}` holds more than one word: give each scope its own `--scope`"
            );
        }
        if let Some(problem) = scope_problem(provider, scope) {
            bail!("{problem}");
        }
        checked.push(scope.to_string());
    }
    checked.sort_unstable();
    checked.dedup();
    Ok(checked)
}

/// Run `workway connect`.
pub async fn connect(args: ConnectArgs, cache_dir: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let scopes = checked_scopes(&args.provider, &args.scopes)?;
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
            &scopes,
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
        println!(
            "{user} has no connections yet: `workway connect <provider> --token - [--scope <scope> ...]`"
        );
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
