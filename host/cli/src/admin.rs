//! `workway admin ...`: the operator's commands for accounts, run with
//! local access to the platform's database (the data folder, or
//! `--database`): make the first admin on a fresh install, give and take
//! roles, reset a password, disable or enable an account, list accounts.
//! Everyone else acts through the API with their own account.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};

use super::registry::RegistryOptions;
use workway_engine::accounts::{self, NewAccountRequest, Role, secrets};
use workway_store::clock::now_ms;

/// Managing accounts (for operators).
#[derive(Debug, Subcommand)]
#[command(after_help = "The first account on a fresh install:
  workway admin create-user you@example.com --name You --role admin
  (prints a generated password once; or pipe one in with --password-stdin)")]
pub enum AdminCommand {
    /// Make an account.
    CreateUser(CreateUserArgs),
    /// Give an account exactly these roles (every account is a user).
    SetRoles(SetRolesArgs),
    /// Set a new password for an account and end its sessions.
    ResetPassword(PasswordArgs),
    /// Stop an account from signing in or using its tokens.
    Disable(AccountArgs),
    /// Let a disabled account sign in again.
    Enable(AccountArgs),
    /// List accounts with their roles.
    Users(RegistryOptions),
}

/// Arguments of `workway admin create-user`.
#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// The account's email (its login).
    pub email: String,
    /// The name shown to others [default: the part of the email before `@`].
    #[arg(long)]
    pub name: Option<String>,
    /// A role beyond `user`: developer, reviewer or admin (repeat for several).
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// Read the password from the first line of stdin instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub(crate) store: RegistryOptions,
}

/// Arguments of `workway admin set-roles`.
#[derive(Debug, Args)]
pub struct SetRolesArgs {
    /// The account's email.
    pub email: String,
    /// A role beyond `user` (repeat for several; none leaves only `user`).
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    #[command(flatten)]
    pub(crate) store: RegistryOptions,
}

/// Arguments of `workway admin reset-password`.
#[derive(Debug, Args)]
pub struct PasswordArgs {
    /// The account's email.
    pub email: String,
    /// Read the password from the first line of stdin instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub(crate) store: RegistryOptions,
}

/// Arguments naming one account.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// The account's email.
    pub email: String,
    #[command(flatten)]
    pub(crate) store: RegistryOptions,
}

/// The roles named by `names`.
fn parse_roles(names: &[String]) -> anyhow::Result<Vec<Role>> {
    names
        .iter()
        .flat_map(|n| n.split(','))
        .filter(|n| !n.trim().is_empty())
        .map(|n| Role::parse(n).map_err(anyhow::Error::from))
        .collect()
}

/// The password to set: stdin's first line, or a generated one (printed once).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        if std::io::stdin().is_terminal() {
            eprint!("password (shown as you type): ");
        }
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        accounts::password::check_policy(&line)?;
        return Ok((line, false));
    }
    let generated = secrets::random_secret("")?;
    Ok((generated.chars().take(24).collect(), true))
}

/// Run an admin command.
pub async fn run(command: AdminCommand) -> anyhow::Result<ExitCode> {
    let now = now_ms();
    match command {
        AdminCommand::CreateUser(args) => {
            let roles = parse_roles(&args.roles)?;
            let (password, generated) = password(args.password_stdin)?;
            let name = args.name.clone().unwrap_or_else(|| {
                args.email
                    .split('@')
                    .next()
                    .unwrap_or(&args.email)
                    .to_string()
            });
            let store = args.store.store().await?;
            let row = accounts::create(
                &store,
                &NewAccountRequest {
                    email: &args.email,
                    display_name: &name,
                    password: &password,
                    roles: &roles,
                },
                now,
            )
            .await?;
            println!(
                "created account {} <{}> with roles {}",
                row.id,
                row.email,
                row.roles.join(", ")
            );
            if generated {
                println!("password: {password}");
                println!("  shown only now: sign in with it, then change it");
            }
        }
        AdminCommand::SetRoles(args) => {
            let roles = parse_roles(&args.roles)?;
            let store = args.store.store().await?;
            let row = accounts::by_email(&store, &args.email).await?;
            accounts::set_roles(&store, &row.id, &roles, now).await?;
            let row = accounts::by_email(&store, &args.email).await?;
            println!("{} now has roles {}", row.email, row.roles.join(", "));
        }
        AdminCommand::ResetPassword(args) => {
            let (password, generated) = password(args.password_stdin)?;
            let store = args.store.store().await?;
            let row = accounts::by_email(&store, &args.email).await?;
            accounts::reset_password(&store, &row.id, &password, now).await?;
            println!("password of {} reset; its sessions ended", row.email);
            if generated {
                println!("password: {password}");
                println!("  shown only now: give it to its owner, who should change it");
            }
        }
        AdminCommand::Disable(args) => {
            let store = args.store.store().await?;
            let row = accounts::by_email(&store, &args.email).await?;
            let ended = accounts::disable(&store, &row.id, now).await?;
            println!(
                "{} is disabled: it cannot sign in and its tokens stop working ({ended} session(s) ended)",
                row.email
            );
        }
        AdminCommand::Enable(args) => {
            let store = args.store.store().await?;
            let row = accounts::by_email(&store, &args.email).await?;
            accounts::enable(&store, &row.id, now).await?;
            println!("{} may sign in again", row.email);
        }
        AdminCommand::Users(options) => {
            let store = options.store().await?;
            let mut after: Option<String> = None;
            loop {
                let page = store.accounts().list(None, after.as_deref(), 200).await?;
                for row in &page {
                    let state = if row.disabled_at.is_some() {
                        " (disabled)"
                    } else {
                        ""
                    };
                    println!(
                        "{:<36} {:<32} {}{state}",
                        row.email,
                        row.display_name,
                        row.roles.join(",")
                    );
                }
                match page.last() {
                    Some(last) if page.len() == 200 => after = Some(last.email.clone()),
                    _ => break,
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
