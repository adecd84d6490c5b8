//! The one `wasmtime::Engine` of a process and the epoch ticker that turns
//! wall-clock deadlines into interruptions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use workway_report::config::RuntimeConfig;

/// Dirty bytes of a slot's memory, tables and stack reset in place between
/// executions; beyond this they are decommitted.
const KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// Build the engine: component model, async host calls, fuel metering,
/// epoch interruption and the pooling allocator (pre-reserved slots with
/// copy-on-write memory images, so a fresh instance is cheap).
pub fn build_engine(config: &RuntimeConfig) -> wasmtime::Result<Engine> {
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        .consume_fuel(config.consume_fuel)
        .epoch_interruption(config.epoch_interruption)
        .wasm_backtrace_max_frames(std::num::NonZeroUsize::new(16));
    let slots = config.max_concurrent_instances.max(1);
    let mut pool = PoolingAllocationConfig::new();
    pool.total_component_instances(slots)
        // A core instance costs the pool only a count; an interpreter's
        // component starts dozens (CPython: 38), so the count allows each
        // slot the default per-execution limit.
        .total_core_instances(slots.saturating_mul(64))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(4))
        .total_stacks(slots)
        // The pool's ceiling is the whole 32-bit address space; each
        // execution's own (smaller) limit is enforced by its store's limiter,
        // so per-plan and per-run limits can be raised without a new engine.
        .max_memory_size(1 << 32)
        // Tables are sized for the largest an integration may ask for in its
        // manifest; each execution's own limit is its store's limiter's.
        .table_elements(
            config
                .limits
                .table_elements
                .max(workway_registry::manifest::MAX_TABLE_ELEMENTS as usize),
        )
        // Reset a returned slot's dirty pages in place (found with Linux's
        // PAGEMAP_SCAN where available) instead of `madvise`-ing them away:
        // madvise on a multi-threaded host flushes every core's TLB and the
        // next execution page-faults the memory back in. Isolation is
        // unchanged: every dirty byte is restored before the slot is reused.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
        .table_keep_resident(KEEP_RESIDENT_BYTES)
        .async_stack_keep_resident(KEEP_RESIDENT_BYTES);
    wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Engine::new(&wasm)
}

/// Advances the engine's epoch on a fixed tick until dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    /// Start ticking `engine` every `tick`.
    pub fn start(engine: &Engine, tick: Duration) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let engine = engine.weak();
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("workway-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    match engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;
        Ok(EpochTicker { stop })
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
