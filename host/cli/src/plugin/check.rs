//! `workway plugin check <component.wasm>`: validate a component and
//! cross-check it with its manifest.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use workway_registry::{Manifest, crosscheck};

use super::human_size;
use workway_registry::Digest;
use workway_runtime::Runtime;

/// Arguments of `workway plugin check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The component (`.wasm`) to check.
    pub component: PathBuf,

    /// The integration's manifest [default: the nearest workway.toml above the component].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

/// The nearest `workway.toml` in `start` or one of its ancestors.
pub(super) fn find_manifest(start: &Path) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    start
        .ancestors()
        .map(|dir| dir.join("workway.toml"))
        .find(|candidate| candidate.is_file())
}

/// Check the component and print a summary; exit 1 with reasons on failure.
pub async fn run(args: CheckArgs, runtime: std::sync::Arc<Runtime>) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.component)
        .with_context(|| format!("cannot read {}", args.component.display()))?;
    println!("component    {}", args.component.display());
    println!("digest       {}", Digest::of(&bytes));
    println!("size         {}", human_size(bytes.len()));
    let manifest_path = args
        .manifest
        .clone()
        .or_else(|| args.component.parent().and_then(find_manifest));
    let manifest = manifest_path.as_deref().map(Manifest::from_file);
    // The sandbox limits the manifest asks for apply to `describe()` too.
    let limits = match &manifest {
        Some(Ok(m)) => m.limits,
        _ => Default::default(),
    };
    let started = std::time::Instant::now();
    let loaded = match runtime.load_with(&bytes, &limits).await {
        Ok(loaded) => {
            println!(
                "loaded       in {:.1} ms ({})",
                started.elapsed().as_secs_f64() * 1000.0,
                if loaded.from_cache {
                    "from the compile cache"
                } else {
                    "compiled"
                }
            );
            loaded
        }
        Err(e) => {
            println!("check        FAILED");
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let d = &loaded.description;
    println!(
        "contract     workway:plugin@{} (built with {})",
        loaded.imports.contract_version,
        loaded.toolkit.describe()
    );
    let imports: Vec<String> = loaded
        .imports
        .imports
        .iter()
        .map(|name| {
            if loaded.imports.inert.contains(name) {
                format!("{name} (linked, inert: grants nothing)")
            } else {
                name.clone()
            }
        })
        .collect();
    println!("imports      {}", imports.join("\n             "));
    println!(
        "limits       {} instances, {} MiB memory, {} table elements",
        loaded.limits.instances,
        loaded.limits.memory_bytes >> 20,
        loaded.limits.table_elements
    );
    println!("integration  {} {}", d.name, d.version);
    println!("describe     {} fuel", loaded.describe_fuel);
    println!("actions");
    let width = d.actions.iter().map(|a| a.name.len()).max().unwrap_or(0);
    for action in &d.actions {
        println!("  {:width$}  {}", action.name, action.description);
    }

    let (Some(manifest_path), Some(manifest)) = (manifest_path, manifest) else {
        println!("manifest     none found (pass --manifest); skipped the cross-check");
        println!("check        OK (component only)");
        return Ok(ExitCode::SUCCESS);
    };
    println!("manifest     {}", manifest_path.display());
    let manifest = match manifest {
        Ok(m) => m,
        Err(e) => {
            println!("check        FAILED");
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    println!("  publisher  {}", manifest.publisher);
    let hosts = if manifest.http.hosts.is_empty() {
        "(none)".to_string()
    } else {
        manifest.http.hosts.join(", ")
    };
    println!("  hosts      {hosts}");
    if manifest.oauth.is_empty() {
        println!("  oauth      (none)");
    }
    for (provider, req) in &manifest.oauth {
        println!("  oauth      {provider}: {}", req.scopes.join(" "));
    }
    match manifest.pricing.upfront_cents {
        Some(cents) => println!("  price      ${}.{:02} upfront", cents / 100, cents % 100),
        None => println!("  price      usage only"),
    }
    let mut problems = crosscheck(&manifest, d);
    let examples: Vec<_> = manifest
        .actions
        .iter()
        .filter_map(|(name, a)| a.example.as_ref().map(|e| (name, e)))
        .collect();
    for (name, example) in &examples {
        if let Err(errors) = loaded.check_input(name, example) {
            problems.push(format!(
                "the example of action `{name}` does not fit its input schema: {}",
                errors.join("; ")
            ));
        }
    }
    println!(
        "  examples   {} of {} actions ({})",
        examples.len(),
        manifest.actions.len(),
        if examples.is_empty() {
            "none declared".to_string()
        } else {
            "checked against the input schemas".to_string()
        }
    );
    if problems.is_empty() {
        println!("check        OK");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("check        FAILED");
        for p in &problems {
            eprintln!("error: {p}");
        }
        Ok(ExitCode::FAILURE)
    }
}
