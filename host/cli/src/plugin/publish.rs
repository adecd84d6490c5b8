//! `workway plugin publish <dir|component.wasm>`: submit an integration for
//! review as the signed-in developer account, through the server's API.
//! The server validates it first (contract, imports, `describe()` against
//! the manifest, sizes, hosts and scopes, the declared examples in the
//! sandbox); a refused submission lists every reason and stores nothing.
//! `workway plugin submissions` lists the account's own submissions.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use clap::Args;
use serde_json::json;

use super::build::{Flavor, build_component};
use super::check::find_manifest;
use super::toolchain::Lang;
use crate::client::{ApiClient, ClientError, ServerOptions, when};
use crate::review::{Submission, Summary, details_text};

/// Arguments of `workway plugin publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The integration's directory (built first: a crate in release, a
    /// Python or JavaScript project with its toolkit) or its component
    /// (`.wasm`).
    pub path: PathBuf,

    /// The integration's manifest [default: workway.toml in the crate, or
    /// the nearest one above the component].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,

    /// A replay file to run the declared examples with [default:
    /// replay.json beside the manifest, when there is one].
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,

    /// Build the crate as a lean component (see `workway plugin build --lean`).
    #[arg(long)]
    pub lean: bool,

    /// The integration's language, when a directory is built first (see
    /// `workway plugin build --lang`) [default: from its files].
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,
}

/// Submit the integration and print its review report.
pub async fn run(args: PublishArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    let (component_path, component) = if args.path.is_dir() {
        build_component(&args.path, args.lang, Flavor::from_lean_flag(args.lean))?
    } else {
        let bytes = std::fs::read(&args.path)
            .with_context(|| format!("cannot read {}", args.path.display()))?;
        (args.path.clone(), bytes)
    };
    let manifest_path = args
        .manifest
        .clone()
        .or_else(|| manifest_near(&args.path, &component_path))
        .context("no workway.toml found beside the integration; pass --manifest")?;
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("cannot read {}", manifest_path.display()))?;
    let replay_path = args.replay.clone().or_else(|| {
        manifest_path
            .parent()
            .map(|dir| dir.join("replay.json"))
            .filter(|p| p.is_file())
    });
    let replay = replay_path
        .as_ref()
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display())))
        .transpose()?;
    eprintln!(
        "submitting   {} with {}{}",
        component_path.display(),
        manifest_path.display(),
        replay_path
            .map(|p| format!(" (examples replay {})", p.display()))
            .unwrap_or_default()
    );
    let body = json!({
        "manifest": manifest,
        "component": STANDARD.encode(&component),
        "replay": replay,
    });
    let submission: Submission = match client.post(&["v1", "submissions"], &body).await {
        Ok(submission) => submission,
        Err(ClientError::Api(failure)) if failure.code == "refused" => {
            eprintln!("refused; nothing was stored. Fix these and publish again:");
            for reason in failure.details["reasons"].as_array().into_iter().flatten() {
                match reason.as_str() {
                    Some(text) => eprintln!("  - {text}"),
                    None => eprintln!("  - {reason}"),
                }
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(other) => return Err(other.into()),
    };
    print!("{}", details_text(&submission));
    eprintln!(
        "submitted; another reviewer decides with `workway review approve {} --reviewed {}` or `reject {} --reason ...`",
        submission.summary.id, submission.fingerprint, submission.summary.id
    );
    Ok(ExitCode::SUCCESS)
}

/// List the signed-in account's submissions, newest first.
pub async fn list(server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    let rows: Vec<Summary> = client.get(&["v1", "submissions"], &[]).await?;
    if rows.is_empty() {
        println!("no submissions yet: `workway plugin publish <crate or .wasm>`");
    }
    for row in rows {
        println!(
            "{:<26}  {:<14}  {} {}  {}",
            row.id,
            row.state,
            row.integration,
            row.version,
            when(row.created_at)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The manifest of a crate directory, or the nearest above a component.
fn manifest_near(path: &Path, component: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        let candidate = path.join("workway.toml");
        return candidate.is_file().then_some(candidate);
    }
    component.parent().and_then(find_manifest)
}
