//! `workway login | logout | whoami`: signing the command line in to a
//! Workway server. `login` signs in with the account's email and
//! password, makes an API token with every scope the account's roles
//! allow, signs the browser-style session out again, and keeps the token
//! (only) in the credentials file; `--token-stdin` stores a token made
//! elsewhere (the web UI, `POST /v1/tokens`) instead. `logout` revokes
//! the token at the server and forgets it.

use std::io::{BufRead as _, IsTerminal as _, Read as _, Write as _};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::client::credentials::{self, Credentials, server_url};
use crate::client::{ApiClient, ServerOptions, decode, endpoint, http_client};
use workway_engine::accounts::{Role, Scope};

/// The session cookie sign-in sets.
const SESSION_COOKIE: &str = "workway_session";
/// The header a session's state-changing request carries its CSRF token in.
const CSRF_HEADER: &str = "x-csrf-token";

/// Arguments of `workway login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The account's email [default: asked for].
    #[arg(long)]
    pub email: Option<String>,

    /// Read the password from the first line of stdin instead of asking.
    #[arg(long, conflicts_with = "token_stdin")]
    pub password_stdin: bool,

    /// Store an API token made elsewhere, read from stdin, instead of
    /// signing in with a password.
    #[arg(long)]
    pub token_stdin: bool,

    /// The new token's name, shown in the account's token list
    /// [default: `workway CLI on <host name>`].
    #[arg(long)]
    pub name: Option<String>,

    /// Let the new token expire after this many days [default: never; revoke with `workway logout`].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub expires_in_days: Option<u32>,
}

/// An account as the API shows it.
#[derive(Debug, Deserialize)]
pub struct Account {
    /// Its login.
    pub email: String,
    /// Its name.
    pub display_name: String,
    /// Its roles.
    pub roles: Vec<String>,
    /// What this request's credential may do.
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct SignedIn {
    account: Account,
    csrf_token: String,
}

#[derive(Debug, Deserialize)]
struct CreatedToken {
    token: String,
    id: String,
}

#[derive(Debug, Deserialize)]
struct TokenRow {
    id: String,
    prefix: String,
}

/// The scopes an account with `roles` may give a token: all it holds.
pub fn scopes_for(roles: &[String]) -> Vec<&'static str> {
    Scope::ALL
        .into_iter()
        .filter(|scope| {
            roles
                .iter()
                .any(|role| Role::parse(role).is_ok_and(|r| r == scope.needs()))
        })
        .map(Scope::as_str)
        .collect()
}

/// Run `workway login`.
pub async fn login(args: LoginArgs, options: &ServerOptions) -> anyhow::Result<ExitCode> {
    let stored = options.stored()?;
    let server = match (&options.server, &stored) {
        (Some(server), _) => server_url(server)?,
        (None, Some(stored)) => server_url(&stored.server)?,
        (None, None) => bail!("say which server to sign in to: `workway login --server URL`"),
    };
    let path = options.credentials_path()?;
    let credentials = if args.token_stdin {
        let token = read_stdin_line("the API token")?;
        adopt_token(&server, token).await?
    } else {
        let email = match &args.email {
            Some(email) => email.clone(),
            None => ask("Email: ")?,
        };
        let password = if args.password_stdin {
            read_stdin_line("the password")?
        } else if std::io::stdin().is_terminal() {
            rpassword::prompt_password("Password: ").context("cannot read the password")?
        } else {
            bail!("no terminal to ask for the password on: pass --password-stdin");
        };
        sign_in_for_token(&server, &email, &password, &args).await?
    };
    if let Some(previous) = stored.filter(|s| s.token_id != credentials.token_id) {
        revoke_previous(&previous).await;
    }
    credentials::store(&path, &credentials)?;
    let client = ApiClient::new(server.clone(), credentials.token.clone())?;
    let account: Account = client.get(&["v1", "account"], &[]).await?;
    println!(
        "signed in to {server} as {} ({}); token stored in {}",
        account.email,
        account.roles.join(", "),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Sign in with a password, make a token with every scope the account
/// holds, and end the session again.
async fn sign_in_for_token(
    server: &Url,
    email: &str,
    password: &str,
    args: &LoginArgs,
) -> anyhow::Result<Credentials> {
    let http = http_client()?;
    let response = http
        .post(endpoint(server, &["v1", "auth", "signin"]))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .with_context(|| format!("cannot reach the Workway server at {server}"))?;
    let session = response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string());
    let signed_in: SignedIn = decode(response, server).await?;
    let session = session.context("the server signed in but set no session cookie")?;
    let cookie = format!("{SESSION_COOKIE}={session}");
    let name = args.name.clone().unwrap_or_else(default_token_name);
    let scopes = scopes_for(&signed_in.account.roles);
    let expires_at = args
        .expires_in_days
        .map(|days| now_ms() + i64::from(days) * 86_400_000);
    let response = http
        .post(endpoint(server, &["v1", "tokens"]))
        .header(COOKIE, &cookie)
        .header(CSRF_HEADER, &signed_in.csrf_token)
        .json(&json!({ "name": name, "scopes": scopes, "expires_at": expires_at }))
        .send()
        .await
        .with_context(|| format!("cannot reach the Workway server at {server}"))?;
    let created: Result<CreatedToken, _> = decode(response, server).await;
    // The session was only the way to the token: end it either way.
    let signed_out = http
        .post(endpoint(server, &["v1", "auth", "signout"]))
        .header(COOKIE, &cookie)
        .header(CSRF_HEADER, &signed_in.csrf_token)
        .send()
        .await;
    if let Err(e) = signed_out {
        eprintln!("warning: the sign-in session could not be ended ({e}); it expires by itself");
    }
    let created = created?;
    Ok(Credentials {
        server: server.to_string(),
        token: created.token,
        token_id: created.id,
        email: signed_in.account.email,
    })
}

/// Check a token made elsewhere and find its id (for `logout`).
async fn adopt_token(server: &Url, token: String) -> anyhow::Result<Credentials> {
    let client = ApiClient::new(server.clone(), token.clone())?;
    let account: Account = client.get(&["v1", "account"], &[]).await?;
    let tokens: Vec<TokenRow> = client.get(&["v1", "tokens"], &[]).await?;
    let id = tokens
        .into_iter()
        .find(|t| token.starts_with(&t.prefix))
        .map(|t| t.id)
        .context("the server does not list this token among the account's; make a new one")?;
    Ok(Credentials {
        server: server.to_string(),
        token,
        token_id: id,
        email: account.email,
    })
}

/// Revoke the token a new login replaces, best effort.
async fn revoke_previous(previous: &Credentials) {
    let Ok(server) = server_url(&previous.server) else {
        return;
    };
    let Ok(client) = ApiClient::new(server, previous.token.clone()) else {
        return;
    };
    if let Err(e) = client.delete(&["v1", "tokens", &previous.token_id]).await {
        eprintln!(
            "warning: the previous token of {} at {} was not revoked ({e}); revoke it from the token list",
            previous.email, previous.server
        );
    }
}

/// Run `workway logout`: revoke the stored token and forget it.
pub async fn logout(options: &ServerOptions) -> anyhow::Result<ExitCode> {
    let path = options.credentials_path()?;
    let Some(stored) = options.stored()? else {
        println!("not signed in");
        return Ok(ExitCode::SUCCESS);
    };
    let client = ApiClient::new(server_url(&stored.server)?, stored.token.clone())?;
    let revoked = client.delete(&["v1", "tokens", &stored.token_id]).await;
    credentials::forget(&path)?;
    match revoked {
        Ok(()) => {
            println!(
                "signed out of {}: the token is revoked and forgotten",
                stored.server
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "the token is forgotten here, but the server did not revoke it ({e}); \
                 revoke it from the account's token list"
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Run `workway whoami`.
pub async fn whoami(options: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(options)?;
    let account: Account = client.get(&["v1", "account"], &[]).await?;
    println!("{} ({})", account.email, account.display_name);
    println!("server   {}", client.server());
    println!("roles    {}", account.roles.join(", "));
    if let Some(scopes) = account.scopes {
        println!("scopes   {}", scopes.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

/// A line from stdin, trimmed; `what` names it in errors.
fn read_stdin_line(what: &str) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .take(64 << 10)
        .read_line(&mut line)
        .with_context(|| format!("cannot read {what} from stdin"))?;
    let line = line.trim_end_matches(['\r', '\n']).to_string();
    if line.is_empty() {
        bail!("{what} on stdin is empty");
    }
    Ok(line)
}

/// Ask for one line on the terminal.
fn ask(prompt: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask on: pass --email");
    }
    eprint!("{prompt}");
    std::io::stderr().flush().ok();
    read_stdin_line("the answer")
}

fn default_token_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "this machine".to_string());
    format!("workway CLI on {host}")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_token_gets_every_scope_the_roles_allow_and_no_more() {
        assert_eq!(scopes_for(&["user".into()]), ["read", "run"]);
        assert_eq!(
            scopes_for(&["user".into(), "reviewer".into()]),
            ["read", "run", "review"]
        );
        assert_eq!(scopes_for(&["nobody".into()]), Vec::<&str>::new());
    }
}
