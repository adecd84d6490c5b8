//! `workway plugin build [<dir>]`: compile an integration crate to a
//! wasm32-wasip2 component.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use clap::Args;

use workway_registry::Digest;

/// Arguments of `workway plugin build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The integration crate's directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

/// Link components with 2 MiB of initial linear memory (1 MiB of stack, the
/// static data and about 900 KiB of heap) instead of just the stack and the
/// data: an execution's usual allocations then fit in the memory a fresh
/// instance starts with, and it does not pay for growing it.
const INITIAL_MEMORY_FLAGS: &str =
    r#"target.wasm32-wasip2.rustflags=["-C", "link-arg=--initial-memory=2097152"]"#;

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The crate's name and target directory, from `cargo metadata`.
fn locate(manifest: &Path) -> anyhow::Result<(String, PathBuf)> {
    let output = Command::new(cargo())
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--manifest-path",
        ])
        .arg(manifest)
        .output()
        .context("cannot run cargo; is Rust installed?")?;
    if !output.status.success() {
        bail!(
            "cargo cannot read {}:\n{}",
            manifest.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)
        .context("cargo metadata printed unexpected output")?;
    let target = metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")?;
    let canonical = manifest.canonicalize()?;
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| {
            p["manifest_path"]
                .as_str()
                .and_then(|m| Path::new(m).canonicalize().ok())
                .is_some_and(|m| m == canonical)
        })
        .context("the manifest defines no package")?;
    let name = package["name"].as_str().context("package without a name")?;
    let is_cdylib = package["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| {
            t["crate_types"]
                .as_array()
                .is_some_and(|types| types.iter().any(|ty| ty == "cdylib"))
        });
    if !is_cdylib {
        bail!("`{name}` is not a cdylib: add `[lib] crate-type = [\"cdylib\"]` to its Cargo.toml");
    }
    Ok((name.replace('-', "_"), target))
}

/// Build the crate and print the component's path and digest.
pub fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let (wasm, bytes) = build_component(&args.dir)?;
    // Scripts often keep only the first line (`| head -n 1`): a closed
    // stdout is not an error here.
    let mut out = std::io::stdout().lock();
    let _ =
        writeln!(out, "{}", wasm.display()).and_then(|()| writeln!(out, "{}", Digest::of(&bytes)));
    Ok(ExitCode::SUCCESS)
}

/// Build the integration crate in `dir` (release, wasm32-wasip2): the
/// component's path and bytes.
pub(super) fn build_component(dir: &Path) -> anyhow::Result<(PathBuf, Vec<u8>)> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.exists() {
        bail!(
            "{} has no Cargo.toml; pass the directory of an integration crate (create one with `workway plugin new`)",
            dir.display()
        );
    }
    let (lib_name, target_dir) = locate(&manifest)?;
    let started = std::time::Instant::now();
    let status = Command::new(cargo())
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--config",
            INITIAL_MEMORY_FLAGS,
            "--manifest-path",
        ])
        .arg(&manifest)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        bail!(
            "the build failed (see above). If the wasm32-wasip2 target is missing, run `rustup target add wasm32-wasip2`"
        );
    }
    let wasm = target_dir
        .join("wasm32-wasip2/release")
        .join(format!("{lib_name}.wasm"));
    let bytes = std::fs::read(&wasm)
        .with_context(|| format!("the build succeeded but {} is missing", wasm.display()))?;
    eprintln!("built in {:.1} s", started.elapsed().as_secs_f64());
    Ok((wasm, bytes))
}
