//! `workway connect`, `workway connections` and `workway disconnect`: the
//! signed-in account's provider accounts, whose grants the server's vault
//! holds sealed.
//!
//! Two ways to connect:
//! - with a key or token the user already holds (a Slack bot token, a
//!   Notion internal integration secret, a Stripe restricted key):
//!   `--token -` reads it from stdin and the server seals it at once; its
//!   scopes are what the user says they are (`--scope`, spelled the way
//!   the provider spells them; the server checks them);
//! - with OAuth in the browser: `--integration NAME` prints the
//!   provider's consent page for exactly the scopes that installation was
//!   approved for; the browser, signed in to Workway as the same account,
//!   comes back to the server, which completes the grant.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Deserialize;
use serde_json::json;

use crate::client::{ApiClient, ServerOptions, when};

/// Arguments of `workway connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The provider: google, notion, slack or stripe.
    pub provider: String,

    /// The key or access token, or `-` to read it from stdin (keeps it
    /// out of the shell history and the process list).
    #[arg(
        long,
        env = "WORKWAY_CONNECT_TOKEN",
        hide_env_values = true,
        conflicts_with = "integration"
    )]
    pub token: Option<String>,

    /// The account's name, shown to the user and to integrations.
    #[arg(long, requires = "token")]
    pub account: Option<String>,

    /// The scopes the token was granted (repeatable); required for Google,
    /// Slack and Stripe, refused for Notion, whose tokens carry none.
    #[arg(long = "scope", requires = "token")]
    pub scopes: Vec<String>,

    /// Connect with OAuth in the browser for this installed integration
    /// (asks for the scopes its approval lists).
    #[arg(long)]
    pub integration: Option<String>,
}

/// Arguments of `workway disconnect`.
#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// The connection's id (from `workway connections`).
    pub id: String,
}

/// A connection as the API shows it (never its tokens).
#[derive(Debug, Deserialize)]
struct Connection {
    id: String,
    provider: String,
    account: Option<String>,
    scopes: Vec<String>,
    status: String,
    status_reason: Option<String>,
    created_at: i64,
}

#[derive(Debug, Deserialize)]
struct Authorization {
    authorization_url: String,
    expires_at: i64,
}

/// Run `workway connect`.
pub async fn connect(args: ConnectArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    match (&args.token, &args.integration) {
        (Some(token), _) => {
            let secret = if token == "-" {
                let mut text = String::new();
                std::io::stdin()
                    .take(64 << 10)
                    .read_to_string(&mut text)
                    .context("cannot read the token from stdin")?;
                text.trim().to_string()
            } else {
                token.trim().to_string()
            };
            let saved: Connection = client
                .post(
                    &["v1", "connections"],
                    &json!({
                        "provider": args.provider,
                        "secret": secret,
                        "account": args.account,
                        "scopes": args.scopes,
                    }),
                )
                .await?;
            println!(
                "connected {} ({}); the token is sealed in the server's vault",
                saved.provider, saved.id
            );
        }
        (None, Some(integration)) => {
            let authorization: Authorization = client
                .get(
                    &["v1", "connections", &args.provider, "connect"],
                    &[("integration", integration.clone())],
                )
                .await?;
            println!("{}", authorization.authorization_url);
            eprintln!(
                "open the link above in a browser signed in to {} as this account, before {}; \
                 `workway connections` shows the connection once the provider sends you back",
                client.server(),
                when(authorization.expires_at)
            );
        }
        (None, None) => bail!(
            "say how to connect `{}`: `--token -` with a key you hold (and its `--scope`s), \
             or `--integration NAME` to connect with OAuth in the browser",
            args.provider
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `workway connections`.
pub async fn list(server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    let all: Vec<Connection> = client.get(&["v1", "connections"], &[]).await?;
    if all.is_empty() {
        println!(
            "no connections yet: `workway connect <provider> --token - [--scope <scope> ...]`"
        );
    }
    for c in all {
        println!(
            "{:<8} {:<20} {:<12} {}  {}  {}",
            c.provider,
            c.account.as_deref().unwrap_or("-"),
            c.status,
            c.id,
            when(c.created_at),
            if c.scopes.is_empty() {
                "(no scopes)".to_string()
            } else {
                c.scopes.join(" ")
            }
        );
        if let Some(reason) = c.status_reason {
            println!("         {reason}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `workway disconnect`.
pub async fn disconnect(args: DisconnectArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    client.delete(&["v1", "connections", &args.id]).await?;
    println!("disconnected {}: its tokens are erased", args.id);
    Ok(ExitCode::SUCCESS)
}
