//! `workway plugin publish <dir|component.wasm>`: submit an integration for
//! review. Validation runs first (contract, imports, `describe()` against
//! the manifest, sizes, hosts and scopes, the declared examples in the
//! sandbox); a refused submission lists every reason and stores nothing.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use workway_engine::review::RegistryError;
use workway_registry::review::Submission;

use super::build::{Flavor, build_component};
use super::check::find_manifest;
use crate::registry::RegistryOptions;
use crate::review::details_text;
use workway_runtime::Runtime;

/// Arguments of `workway plugin publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The integration crate's directory (built first, in release) or its
    /// component (`.wasm`).
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

    /// Who is submitting [default: $USER].
    #[arg(long = "as", env = "WORKWAY_ACTOR", value_name = "DEVELOPER")]
    pub actor: Option<String>,

    #[command(flatten)]
    pub registry: RegistryOptions,
}

/// Submit the integration and print its review report.
pub async fn run(args: PublishArgs, runtime: Arc<Runtime>) -> anyhow::Result<ExitCode> {
    let (component_path, component) = if args.path.is_dir() {
        build_component(&args.path, Flavor::from_lean_flag(args.lean))?
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
    let submitted_by = args
        .actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|a| !a.trim().is_empty())
        .context("say who is submitting with --as (or WORKWAY_ACTOR)")?;

    eprintln!(
        "submitting   {} with {}{}",
        component_path.display(),
        manifest_path.display(),
        replay_path
            .map(|p| format!(" (examples replay {})", p.display()))
            .unwrap_or_default()
    );
    let registry = args.registry.registry(runtime).await?;
    let row = match registry
        .submit(Submission {
            component,
            manifest,
            replay,
            submitted_by,
        })
        .await
    {
        Ok(row) => row,
        Err(RegistryError::Refused(reasons)) => {
            eprintln!("refused; nothing was stored. Fix these and publish again:");
            for reason in reasons {
                eprintln!("  - {reason}");
            }
            return Ok(ExitCode::FAILURE);
        }
        Err(other) => return Err(other.into()),
    };
    let details = registry.show(&row.id).await?;
    print!("{}", details_text(&details));
    eprintln!(
        "submitted; another reviewer decides with `workway review approve {} --reviewed {}` or `reject {} --reason ...`",
        row.id,
        details.report.reviewed().fingerprint(),
        row.id
    );
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
