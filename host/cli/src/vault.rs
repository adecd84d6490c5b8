//! `workway vault ...`: the operator's commands for the token vault's keys.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use workway_store::Store;

use workway_egress::{Egress, EgressConfig};
use workway_vault::oauth::providers::ProviderRegistry;
use workway_vault::{Keyring, Vault};

/// Managing the keys that seal users' tokens.
#[derive(Debug, Subcommand)]
#[command(after_help = "Rotating the vault key:
  workway vault new-key --id k2                 # prints k2:<base64>
  export WORKWAY_VAULT_KEYS=\"k2:<new>,k1:<old>\"  # the first key seals, the others still open
  workway vault rotate --database sqlite://workway.db
  export WORKWAY_VAULT_KEYS=\"k2:<new>\"          # once rotate reports every connection done")]
pub enum VaultCommand {
    /// Print a new random AES-256 key entry for WORKWAY_VAULT_KEYS.
    NewKey(NewKeyArgs),
    /// Re-seal every stored token under the active (first) key.
    Rotate(RotateArgs),
}

/// Arguments of `workway vault new-key`.
#[derive(Debug, Args)]
pub struct NewKeyArgs {
    /// The key's id (letters, digits, `-`, `_`), stored beside everything it seals.
    #[arg(long, default_value = "k1")]
    pub id: String,
}

/// Arguments of `workway vault rotate`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The database: sqlite://path or postgres://user@host/db.
    #[arg(long, env = "WORKWAY_DATABASE_URL")]
    pub database: String,

    /// The vault keys, `id:base64[,id:base64...]`; the first one seals.
    #[arg(long, env = "WORKWAY_VAULT_KEYS", hide_env_values = true)]
    pub keys: String,
}

/// Run a vault command.
pub async fn run(command: VaultCommand) -> anyhow::Result<ExitCode> {
    match command {
        VaultCommand::NewKey(args) => {
            // Validate the id the same way the keyring will.
            let entry = Keyring::generate_entry(&args.id)?;
            Keyring::parse(&entry)?;
            println!("{entry}");
        }
        VaultCommand::Rotate(args) => {
            let keyring = Arc::new(Keyring::parse(&args.keys)?);
            let store = Store::open(&args.database).await?;
            let egress = Arc::new(
                Egress::new(EgressConfig::default()).context("cannot set up outbound HTTP")?,
            );
            let vault = Vault::new(
                store,
                keyring.clone(),
                Arc::new(ProviderRegistry::builtin()),
                egress,
            );
            let resealed = vault.rotate_keys().await?;
            println!(
                "re-sealed {resealed} connection(s) under key `{}`",
                keyring.active_id()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
