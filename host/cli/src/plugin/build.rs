//! `workway plugin build [<dir>] [--lean] [--lang rust|python|js]`: compile
//! an integration to a component. A Rust crate builds for wasm32-wasip2 by
//! default, or as a lean component (a wasm32-unknown-unknown core module
//! wrapped by wit-component) that imports only the Workway contract and
//! starts faster; a Python or JavaScript project builds with its pinned
//! toolkit (`toolchain.rs`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context as _, bail};
use clap::Args;

use workway_registry::Digest;

use super::toolchain::{self, Lang};

/// Arguments of `workway plugin build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The integration's directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,

    /// The integration's language [default: from its files: Cargo.toml
    /// for Rust, app.py or pyproject.toml for Python, package.json or
    /// app.js for JavaScript]. Python and JavaScript are built with
    /// componentize-py and componentize-js, installed on first use into
    /// the project's `.workway/tools/` (or $WORKWAY_TOOLS_DIR).
    #[arg(long, value_enum)]
    pub lang: Option<Lang>,

    /// Build a lean component: no WASI imports, so a fresh instance is
    /// cheaper (about a fifth fewer host instructions per execution), but
    /// std's clocks, `thread::sleep` and `println!` are unavailable (they
    /// panic, or print nothing). Log with `workway_sdk::log` instead.
    #[arg(long)]
    pub lean: bool,
}

/// How a crate is compiled into a component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavor {
    /// wasm32-wasip2: all of std works (clocks, sleep, stdout into the log).
    Wasi,
    /// wasm32-unknown-unknown wrapped into a component: imports only the
    /// contract.
    Lean,
}

impl Flavor {
    /// The flavor a `--lean` flag asks for.
    pub(super) fn from_lean_flag(lean: bool) -> Self {
        if lean { Flavor::Lean } else { Flavor::Wasi }
    }

    fn target(self) -> &'static str {
        match self {
            Flavor::Wasi => "wasm32-wasip2",
            Flavor::Lean => "wasm32-unknown-unknown",
        }
    }

    /// Link components with 2 MiB of initial linear memory (1 MiB of stack,
    /// the static data and about 900 KiB of heap) instead of just the stack
    /// and the data: an execution's usual allocations then fit in the memory
    /// a fresh instance starts with, and it does not pay for growing it.
    fn initial_memory_config(self) -> String {
        format!(
            r#"target.{}.rustflags=["-C", "link-arg=--initial-memory=2097152"]"#,
            self.target()
        )
    }
}

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
    let (wasm, bytes) = build_component(&args.dir, args.lang, Flavor::from_lean_flag(args.lean))?;
    // Scripts often keep only the first line (`| head -n 1`): a closed
    // stdout is not an error here.
    let mut out = std::io::stdout().lock();
    let _ =
        writeln!(out, "{}", wasm.display()).and_then(|()| writeln!(out, "{}", Digest::of(&bytes)));
    Ok(ExitCode::SUCCESS)
}

/// Build the integration in `dir`, in `lang` (or the language its files
/// say), a Rust crate in release as `flavor` says: the component's path
/// and bytes.
pub(super) fn build_component(
    dir: &Path,
    lang: Option<Lang>,
    flavor: Flavor,
) -> anyhow::Result<(PathBuf, Vec<u8>)> {
    let lang = match lang.or_else(|| Lang::detect(dir)) {
        Some(lang) => lang,
        None if !dir.is_dir() => bail!("{} is not a directory", dir.display()),
        None => bail!(
            "{} has no Cargo.toml, app.py or app.js; pass the directory of an integration \
             (create one with `workway plugin new`), or say its language with --lang",
            dir.display()
        ),
    };
    if lang != Lang::Rust {
        if flavor == Flavor::Lean {
            bail!("--lean is for Rust crates; a {lang} integration is built one way");
        }
        return toolchain::build(dir, lang);
    }
    let manifest = dir.join("Cargo.toml");
    if !manifest.exists() {
        bail!(
            "{} has no Cargo.toml; pass the directory of an integration crate (create one with `workway plugin new`)",
            dir.display()
        );
    }
    let (lib_name, target_dir) = locate(&manifest)?;
    let target = flavor.target();
    let started = std::time::Instant::now();
    let status = Command::new(cargo())
        .args(["build", "--release", "--target", target, "--config"])
        .arg(flavor.initial_memory_config())
        .arg("--manifest-path")
        .arg(&manifest)
        .status()
        .context("cannot run cargo")?;
    if !status.success() {
        let lean_hint = match flavor {
            Flavor::Wasi => "",
            Flavor::Lean => {
                " A lean build has no OS: crates that need OS randomness (getrandom) do not build for it; build without --lean."
            }
        };
        bail!(
            "the build failed (see above). If the {target} target is missing, run `rustup target add {target}`.{lean_hint}"
        );
    }
    let built = target_dir
        .join(target)
        .join("release")
        .join(format!("{lib_name}.wasm"));
    let bytes = std::fs::read(&built)
        .with_context(|| format!("the build succeeded but {} is missing", built.display()))?;
    let (wasm, bytes) = match flavor {
        Flavor::Wasi => (built, bytes),
        Flavor::Lean => {
            let component = componentize(&bytes).with_context(|| {
                format!(
                    "{} is not a core module built with workway-sdk (it must embed the contract's component type)",
                    built.display()
                )
            })?;
            let wasm = target_dir.join("lean").join(format!("{lib_name}.wasm"));
            std::fs::create_dir_all(target_dir.join("lean"))
                .and_then(|()| std::fs::write(&wasm, &component))
                .with_context(|| format!("cannot write {}", wasm.display()))?;
            (wasm, component)
        }
    };
    eprintln!("built in {:.1} s", started.elapsed().as_secs_f64());
    Ok((wasm, bytes))
}

/// Wrap a core module into a component. The module names its imports and
/// exports after the contract, whose component type the SDK's bindings
/// embed in a custom section; wit-component reads that and adds the
/// canonical ABI glue.
fn componentize(module: &[u8]) -> anyhow::Result<Vec<u8>> {
    wit_component::ComponentEncoder::default()
        .module(module)?
        .validate(true)
        .encode()
}
