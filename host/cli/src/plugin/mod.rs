//! `workway plugin ...`: the plugin author's commands.

mod build;
mod check;
mod new;
mod publish;
mod run;
mod toolchain;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use workway_report::config::RuntimeConfig;
use workway_runtime::Runtime;

use crate::CompileCache;

/// The plugin author's commands.
#[derive(Debug, Subcommand)]
#[command(after_help = "A first integration, start to finish:
  workway plugin new hello
  workway plugin build hello            # prints the .wasm path and its sha256
  workway plugin check hello/target/wasm32-wasip2/release/hello.wasm
  workway plugin run hello/target/wasm32-wasip2/release/hello.wasm echo --input '{\"message\": \"hi\"}'
  workway plugin publish hello          # submit it for review (see `workway review --help`)

In Python or JavaScript: `workway plugin new hello --lang python` (or `--lang js`);
`build` installs componentize-py or componentize-js on first use and writes
the component to the same place.")]
pub enum PluginCommand {
    /// Create a new integration (a Rust crate, or a Python or JavaScript
    /// project) with one example action and its manifest.
    New(new::NewArgs),
    /// Build an integration into a component: a Rust crate in release for
    /// wasm32-wasip2 (or lean with `--lean`), Python with componentize-py,
    /// JavaScript with componentize-js.
    Build(build::BuildArgs),
    /// Validate a component and cross-check it with its manifest.
    Check(check::CheckArgs),
    /// Run one action of a component, or of an approved integration by
    /// name, in the sandbox.
    Run(Box<run::RunArgs>),
    /// Submit an integration for review (validated first; nothing is
    /// stored if it is refused).
    Publish(Box<publish::PublishArgs>),
    /// Your submissions and where each is in review.
    Submissions,
}

/// Run a plugin command.
pub async fn run(
    command: PluginCommand,
    cache: CompileCache,
    server: &crate::client::ServerOptions,
) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::New(args) => new::run(args),
        PluginCommand::Build(args) => build::run(args),
        PluginCommand::Check(args) => check::run(args, runtime(cache)?).await,
        PluginCommand::Run(args) => run::run(*args, runtime(cache)?).await,
        PluginCommand::Publish(args) => publish::run(*args, server).await,
        PluginCommand::Submissions => publish::list(server).await,
    }
}

/// The runtime the CLI's own commands run components in: they run one
/// execution at a time, so a few instance slots do.
pub(crate) fn runtime(cache: CompileCache) -> anyhow::Result<Arc<Runtime>> {
    runtime_with_slots(cache, 8)
}

/// A runtime with `instances` instance slots: the most executions that
/// can run at once (the pooling allocator reserves each slot up front).
pub(crate) fn runtime_with_slots(
    cache: CompileCache,
    instances: u32,
) -> anyhow::Result<Arc<Runtime>> {
    Ok(Arc::new(Runtime::new(RuntimeConfig {
        cache_dir: cache.dir,
        cache_max_mb: cache.max_mb,
        max_concurrent_instances: instances,
        ..RuntimeConfig::default()
    })?))
}

/// Bytes as a short human figure.
pub(crate) fn human_size(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
    } else if bytes >= 1 << 10 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

/// A count with thousands separators (`1,234,567`).
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
