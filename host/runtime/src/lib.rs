//! The sandboxed runtime: one engine per process, components compiled once
//! and held ready to instantiate, and a fresh, limited, metered store for
//! every execution.

mod bindings;
mod cache;
mod engine;
mod execute;
mod host;
pub mod imports;
mod log_sink;
mod review;
mod state;
mod warm;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::Engine;
use wasmtime::component::{Component, HasSelf, Linker};
use workway_registry::{ActionDescription, IntegrationDescription};

use workway_registry::SandboxLimits;
use workway_registry::schema::Schema;

pub use execute::ExecutionRequest;
pub use imports::{ImportSummary, Toolkit};
pub use warm::{WarmCallError, WarmInstance};
pub use workway_registry::{Digest, Digested};
pub use workway_report::{
    ExecutionReport, HostError, Limits, MeteringConfig, Outcome, RuntimeConfig,
};

use bindings::IntegrationPre;
use state::HostState;

/// Why a component cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a WebAssembly component wasmtime can compile.
    #[error("not a valid WebAssembly component: {0}")]
    Invalid(String),
    /// The component imports something the platform does not provide, or
    /// targets an unsupported contract; every reason is listed.
    #[error("the component is refused:\n  - {}", .0.join("\n  - "))]
    Refused(Vec<String>),
    /// The component does not export the `integration` world.
    #[error("the component does not implement the workway:plugin integration world: {0}")]
    WrongWorld(String),
    /// `describe()` failed or returned something unusable.
    #[error("describe() failed: {0}")]
    Describe(String),
    /// Starting the component needs more than its sandbox limits allow
    /// (instances, memory, tables); the message says which and how to ask
    /// for more.
    #[error("the component does not fit its sandbox limits: {0}")]
    Limit(String),
}

/// A component ready to run: compiled, linked, described.
pub struct LoadedComponent {
    /// The sha256 of the component's bytes.
    pub digest: Digest,
    /// `digest` as text, made once: every report carries it.
    digest_text: String,
    /// Its size in bytes.
    pub size: usize,
    /// Its imports and contract version.
    pub imports: ImportSummary,
    /// The SDK stamp, if it was built with workway-sdk.
    pub sdk_stamp: Option<String>,
    /// The toolchain that built it, as far as it says.
    pub toolkit: Toolkit,
    /// The limits its executions run under: the runtime's defaults, raised
    /// where the manifest asked.
    pub limits: Limits,
    /// What `describe()` said.
    pub description: IntegrationDescription,
    /// Fuel `describe()` used.
    pub describe_fuel: u64,
    /// Whether the compiled code came from the on-disk cache.
    pub from_cache: bool,
    pre: IntegrationPre<HostState>,
    schemas: HashMap<String, (Schema, Schema)>,
}

impl LoadedComponent {
    /// The action named `name`, if the component offers it.
    pub fn action(&self, name: &str) -> Option<&ActionDescription> {
        self.description.actions.iter().find(|a| a.name == name)
    }

    /// Check `input` against `action`'s input schema, as an execution
    /// would before the guest runs; the errors say which field is wrong.
    pub fn check_input(&self, action: &str, input: &serde_json::Value) -> Result<(), Vec<String>> {
        match self.schemas.get(action) {
            Some((schema, _)) => schema.check(input),
            None => Err(vec![format!("the component has no action `{action}`")]),
        }
    }
}

/// The runtime of one process.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    config: RuntimeConfig,
    cache: Option<cache::ComponentCache>,
    loaded: Mutex<HashMap<(Digest, SandboxLimits), Arc<LoadedComponent>>>,
    _ticker: engine::EpochTicker,
}

impl Runtime {
    /// A runtime with `config`: builds the engine, links the allowed
    /// imports, starts the epoch ticker. A `cache_max_mb` of 0 is refused,
    /// with what to write instead.
    pub fn new(config: RuntimeConfig) -> anyhow::Result<Self> {
        let cache_budget = cache::budget_bytes(config.cache_max_mb).map_err(anyhow::Error::msg)?;
        let engine = engine::build_engine(&config)
            .map_err(|e| anyhow::anyhow!("cannot configure the wasm engine: {e}"))?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        add_wasi_subset(&mut linker).map_err(|e| anyhow::anyhow!("cannot link WASI: {e}"))?;
        bindings::Integration::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| anyhow::anyhow!("cannot link the workway:plugin imports: {e}"))?;
        let ticker = engine::EpochTicker::start(
            &engine,
            Duration::from_millis(config.epoch_tick_ms.max(1)),
        )?;
        let cache = config
            .cache_dir
            .as_deref()
            .map(|dir| cache::ComponentCache::new(dir, &engine, cache_budget));
        Ok(Runtime {
            engine,
            linker,
            config,
            cache,
            loaded: Mutex::new(HashMap::new()),
            _ticker: ticker,
        })
    }

    /// The runtime's configuration.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    /// Check, compile (or load from cache) and describe a component under
    /// the runtime's default limits. Loading the same bytes again returns
    /// the already-loaded component.
    pub async fn load(&self, bytes: &[u8]) -> Result<Arc<LoadedComponent>, LoadError> {
        self.load_with(bytes, &SandboxLimits::default()).await
    }

    /// [`Runtime::load`] under the sandbox limits a manifest asks for
    /// (`[limits]`), which every execution of the loaded component keeps.
    /// The imports are checked from the bytes before anything is compiled,
    /// so a refused component costs milliseconds.
    pub async fn load_with(
        &self,
        bytes: &[u8],
        asked: &SandboxLimits,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        self.load_bytes(bytes, Digest::of(bytes), asked).await
    }

    /// [`Runtime::load_with`] for bytes whose digest is already known (read
    /// from the artifact store, checked against an approval), so an 18 MiB
    /// component is not hashed a second time on its way in.
    pub async fn load_digested(
        &self,
        component: &Digested,
        asked: &SandboxLimits,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        self.load_bytes(component.bytes(), component.digest(), asked)
            .await
    }

    /// Load `bytes`, whose digest `digest` is (the callers above make sure).
    async fn load_bytes(
        &self,
        bytes: &[u8],
        digest: Digest,
        asked: &SandboxLimits,
    ) -> Result<Arc<LoadedComponent>, LoadError> {
        let key = (digest, *asked);
        if let Some(found) = self.lock_loaded().get(&key) {
            return Ok(found.clone());
        }
        let scan = imports::scan(bytes).map_err(LoadError::Invalid)?;
        let imports = imports::check_names(scan.imports.iter().map(String::as_str), &scan.toolkit)
            .map_err(LoadError::Refused)?;
        let limits = self.limits_for(asked);
        // The linker holds only what the check allows, so linking below is
        // the same rule enforced on the compiled component's own imports.
        let (component, from_cache) = self.compile(&digest, bytes)?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Refused(vec![format!("{e:#}")]))?;
        let pre = IntegrationPre::new(instance_pre)
            .map_err(|e| LoadError::WrongWorld(format!("{e:#}")))?;
        let (description, describe_fuel) = self.describe(&pre, &limits).await?;
        let mut schemas = HashMap::new();
        for action in &description.actions {
            let input = Schema::compile(&action.input_schema).map_err(|e| {
                LoadError::Describe(format!(
                    "action `{}` has an invalid input schema: {e}",
                    action.name
                ))
            })?;
            let output = Schema::compile(&action.output_schema).map_err(|e| {
                LoadError::Describe(format!(
                    "action `{}` has an invalid output schema: {e}",
                    action.name
                ))
            })?;
            schemas.insert(action.name.clone(), (input, output));
        }
        let loaded = Arc::new(LoadedComponent {
            digest,
            digest_text: digest.to_string(),
            size: bytes.len(),
            imports,
            sdk_stamp: scan.sdk_stamp,
            toolkit: scan.toolkit,
            limits,
            description,
            describe_fuel,
            from_cache,
            pre,
            schemas,
        });
        self.lock_loaded().insert(key, loaded.clone());
        Ok(loaded)
    }

    /// The runtime's default limits, raised where `asked` says.
    pub fn limits_for(&self, asked: &SandboxLimits) -> Limits {
        let base = &self.config.limits;
        let widen = |value: Option<u32>| value.map(|v| v as usize);
        Limits {
            instances: widen(asked.instances).unwrap_or(base.instances),
            memory_bytes: widen(asked.memory_mb).map_or(base.memory_bytes, |mb| mb << 20),
            table_elements: widen(asked.table_elements).unwrap_or(base.table_elements),
            ..base.clone()
        }
    }

    fn lock_loaded(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<(Digest, SandboxLimits), Arc<LoadedComponent>>> {
        self.loaded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The compiled component, from the cache when possible; `true` if it was.
    fn compile(&self, digest: &Digest, bytes: &[u8]) -> Result<(Component, bool), LoadError> {
        if let Some(cached) = self
            .cache
            .as_ref()
            .and_then(|c| c.get(&self.engine, digest))
        {
            return Ok((cached, true));
        }
        let component = Component::new(&self.engine, bytes)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        if let Some(cache) = &self.cache
            && let Err(e) = cache.put(digest, &component)
        {
            tracing::warn!(%digest, "cannot write the compiled component to the cache: {e}");
        }
        Ok((component, false))
    }

    async fn describe(
        &self,
        pre: &IntegrationPre<HostState>,
        limits: &Limits,
    ) -> Result<(IntegrationDescription, u64), LoadError> {
        let (result, usage) = execute::run_describe(&self.engine, pre, limits, &self.config).await;
        let info = result.map_err(|e| match e {
            HostError::MemoryLimit(message) => LoadError::Limit(message),
            other => LoadError::Describe(other.to_string()),
        })?;
        let mut actions = Vec::with_capacity(info.actions.len());
        for a in info.actions {
            let parse = |what: &str, text: &str| {
                serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
                    LoadError::Describe(format!(
                        "action `{}` {what} schema is not JSON: {e}",
                        a.name
                    ))
                })
            };
            actions.push(ActionDescription {
                input_schema: parse("input", &a.input_schema)?,
                output_schema: parse("output", &a.output_schema)?,
                name: a.name,
                description: a.description,
            });
        }
        Ok((
            IntegrationDescription {
                name: info.name,
                version: info.version,
                sdk_version: info.sdk_version,
                actions,
            },
            usage.fuel,
        ))
    }

    /// Run one action of `component` in a fresh sandbox. Never fails: every
    /// problem is a typed outcome in the report.
    pub async fn execute(
        &self,
        component: &LoadedComponent,
        request: ExecutionRequest,
    ) -> workway_report::ExecutionReport {
        execute::execute(self, component, request).await
    }
}

/// Link the WASI interfaces a `std` guest or an embedded interpreter needs:
/// I/O streams, clocks, random, stdio, environment (empty) and exit; and
/// the filesystem and sockets inert (the context has no preopened
/// directory, allows no address and resolves no name, so every call fails).
/// No wasi:http.
fn add_wasi_subset(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime_wasi::cli::{WasiCli, WasiCliView as _};
    use wasmtime_wasi::clocks::{WasiClocks, WasiClocksView as _};
    use wasmtime_wasi::filesystem::{WasiFilesystem, WasiFilesystemView as _};
    use wasmtime_wasi::p2::bindings::{cli, clocks, filesystem, random, sockets};
    use wasmtime_wasi::random::WasiRandom;
    use wasmtime_wasi::sockets::{WasiSockets, WasiSocketsView as _};

    wasmtime_wasi_io::add_to_linker_async(linker)?;
    let l = linker;
    clocks::wall_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<HostState, WasiClocks>(l, HostState::clocks)?;
    random::random::add_to_linker::<HostState, WasiRandom>(l, |t| t.wasi().random())?;
    random::insecure::add_to_linker::<HostState, WasiRandom>(l, |t| t.wasi().random())?;
    random::insecure_seed::add_to_linker::<HostState, WasiRandom>(l, |t| t.wasi().random())?;
    cli::exit::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::environment::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_input::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_output::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(l, HostState::cli)?;
    filesystem::types::add_to_linker::<HostState, WasiFilesystem>(l, HostState::filesystem)?;
    filesystem::preopens::add_to_linker::<HostState, WasiFilesystem>(l, HostState::filesystem)?;
    let network = sockets::network::LinkOptions::default();
    sockets::network::add_to_linker::<HostState, WasiSockets>(l, &network, HostState::sockets)?;
    sockets::instance_network::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::tcp::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::tcp_create_socket::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::udp::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::udp_create_socket::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    sockets::ip_name_lookup::add_to_linker::<HostState, WasiSockets>(l, HostState::sockets)?;
    Ok(())
}

/// Default limits overridden field by field; used by callers that tweak a
/// few limits (CLI flags, plans).
pub fn limits_with(
    base: &Limits,
    fuel: Option<u64>,
    timeout_ms: Option<u64>,
    memory_mb: Option<usize>,
) -> Limits {
    Limits {
        fuel: fuel.unwrap_or(base.fuel),
        timeout_ms: timeout_ms.unwrap_or(base.timeout_ms),
        memory_bytes: memory_mb.map_or(base.memory_bytes, |mb| mb << 20),
        ..base.clone()
    }
}
