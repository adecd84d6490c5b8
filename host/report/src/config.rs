//! Host configuration: per-execution limits, metering prices and runtime
//! settings, with defaults that suit a single machine.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What one execution may use. Defaults come from [`Limits::default`];
/// plans and the CLI override them per execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Fuel (roughly, wasm instructions) the guest may burn.
    pub fuel: u64,
    /// Wall-clock deadline in milliseconds, including time blocked in host calls.
    pub timeout_ms: u64,
    /// Largest linear memory, in bytes.
    pub memory_bytes: usize,
    /// Largest table, in elements.
    pub table_elements: usize,
    /// Core instances one execution may create; also its most linear
    /// memories and tables.
    pub instances: usize,
    /// Largest action output (JSON data plus metadata), in bytes.
    pub output_bytes: usize,
    /// Largest action input, in bytes.
    pub input_bytes: usize,
    /// Log bytes kept per execution (log import, stdout and stderr together);
    /// every entry also costs [`LOG_ENTRY_BYTES`] against it, so empty lines
    /// are bounded too. The rest is counted and dropped.
    pub log_bytes: usize,
    /// Largest text the guest hands out besides its output and log (a typed
    /// error's message), in bytes; longer text is cut and the report says so.
    pub message_bytes: usize,
    /// Host resources (connection handles, WASI streams) one execution may
    /// hold at once.
    pub resources: usize,
    /// Outbound HTTP requests per execution.
    pub http_requests: u32,
    /// Largest outbound request body, in bytes.
    pub http_request_bytes: usize,
    /// Largest inbound response body, in bytes.
    pub http_response_bytes: usize,
}

/// What one log entry costs against [`Limits::log_bytes`] besides its
/// message: roughly what the host spends to keep an entry.
pub const LOG_ENTRY_BYTES: usize = 64;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 2_000_000_000,
            timeout_ms: 10_000,
            memory_bytes: 64 << 20,
            table_elements: 20_000,
            // CPython built with componentize-py starts 38 core instances.
            instances: 64,
            output_bytes: 1 << 20,
            input_bytes: 1 << 20,
            log_bytes: 64 << 10,
            message_bytes: 8 << 10,
            resources: 1_000,
            http_requests: 50,
            http_request_bytes: 4 << 20,
            http_response_bytes: 16 << 20,
        }
    }
}

impl Limits {
    /// The deadline as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

/// How executions are priced in compute units, and where light ends.
///
/// compute units = guest fuel + `host_call_units` per host call
/// + `units_per_kib` per KiB moved (input, output, HTTP bodies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MeteringConfig {
    /// Units charged per call into the host (log, config, connections, http).
    pub host_call_units: u64,
    /// Units charged per KiB (rounded up) moved in or out.
    pub units_per_kib: u64,
    /// Executions using at most this many units are light; above, heavy.
    pub heavy_threshold_units: u64,
}

impl Default for MeteringConfig {
    fn default() -> Self {
        MeteringConfig {
            host_call_units: 10_000,
            units_per_kib: 2_000,
            heavy_threshold_units: 100_000_000,
        }
    }
}

/// Settings of one runtime (one per process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Default per-execution limits.
    pub limits: Limits,
    /// Pricing in compute units.
    pub metering: MeteringConfig,
    /// Where compiled components are cached; `None` keeps them in memory only.
    pub cache_dir: Option<PathBuf>,
    /// How much room, in MiB, this engine's compiled components may take
    /// under `cache_dir` (2048 by default): past it, after each write, the
    /// least recently used entries are removed (the one just written is
    /// always kept). 0 is refused by `Runtime::new`: leave `cache_dir`
    /// unset to keep compiled components in memory only.
    pub cache_max_mb: u64,
    /// How often the epoch advances, in milliseconds: the granularity of deadlines.
    pub epoch_tick_ms: u64,
    /// Instances the pooling allocator keeps slots for: the most executions
    /// that can run at once.
    pub max_concurrent_instances: u32,
    /// Meter guest fuel. Always on in production: fuel is what executions
    /// are billed by and what stops a runaway loop deterministically. Off
    /// only to measure its overhead.
    pub consume_fuel: bool,
    /// Interrupt guests at their deadline with epochs. Always on in
    /// production; off only to measure its overhead (the deadline timer then
    /// covers host calls only).
    pub epoch_interruption: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            limits: Limits::default(),
            metering: MeteringConfig::default(),
            cache_dir: None,
            cache_max_mb: 2048,
            epoch_tick_ms: 5,
            max_concurrent_instances: 1_000,
            consume_fuel: true,
            epoch_interruption: true,
        }
    }
}
