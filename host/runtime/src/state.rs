//! The data of one execution's `Store`: WASI context, resource table,
//! limits, meters and capabilities. Built fresh for every execution.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::log_sink::LogSink;
use workway_capabilities::{Capabilities, ConnectionInfo, RequestBudget};
use workway_report::config::{Limits, MeteringConfig};
use workway_report::metering::Usage;

/// The host side of a `connection` resource handed to a guest: non-secret
/// facts only. The token lives in the broker.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    /// What the guest may learn about the connection.
    pub info: ConnectionInfo,
}

/// Marker error: the guest tried to grow memory or a table past its limit.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ResourceLimitHit(pub String);

/// Marker error: the guest asked for a capability it was not granted.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CapabilityDenied(pub String);

/// Marker error: a connection the guest used cannot be used any more (a
/// refresh failed, the user revoked it); the execution ends with the
/// integration error `auth-expired` carrying the reason.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConnectionUnusable(pub String);

/// Enforces the memory and table limits of one execution, and remembers
/// that a limit was hit so a later trap can be attributed to it.
pub struct Limiter {
    memory_bytes: usize,
    table_elements: usize,
    instances: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(wasmtime::Error::new(ResourceLimitHit(format!(
                "linear memory would grow from {current} to {desired} bytes; the limit is {} bytes",
                self.memory_bytes
            ))));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            return Err(wasmtime::Error::new(ResourceLimitHit(format!(
                "a table would grow from {current} to {desired} elements; the limit is {}",
                self.table_elements
            ))));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn tables(&self) -> usize {
        self.instances
    }

    fn memories(&self) -> usize {
        self.instances
    }
}

/// Everything one execution's store holds.
pub struct HostState {
    /// Built on the guest's first WASI call: components built with the SDK
    /// import no WASI at all and never pay for it.
    wasi: Option<WasiCtx>,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) limits: Limits,
    pub(crate) usage: Usage,
    /// Outbound requests made and allowed; redirect hops count too.
    pub(crate) requests: RequestBudget,
    pub(crate) capabilities: Capabilities,
    pub(crate) log: LogSink,
    /// When the execution must be over; HTTP timeouts are capped by it.
    pub(crate) deadline: tokio::time::Instant,
    /// Fuel host calls cost that is not yet taken from the store's fuel;
    /// the store's call hook takes it when the call returns to the guest.
    pub(crate) fuel_debt: u64,
    /// Host calls (brokered imports, WASI, wasmtime's own calls out of guest
    /// code) in progress: the call hook takes the debt only when the
    /// outermost one returns.
    pub(crate) host_call_depth: u32,
    /// Fuel taken for host calls so far (part of the fuel the store lost,
    /// but not guest instructions).
    pub(crate) host_fuel: u64,
    /// Fuel one host call costs: the metering's `host_call_units`.
    host_call_fuel: u64,
    /// Fuel per KiB a host call moves: the metering's `units_per_kib`.
    kib_fuel: u64,
}

impl HostState {
    /// Fresh state for one execution: no WASI context yet (see [`wasi_ctx`]),
    /// limits, capabilities and the log.
    pub fn new(
        limits: &Limits,
        pricing: &MeteringConfig,
        capabilities: Capabilities,
        log: LogSink,
    ) -> Self {
        let mut table = ResourceTable::new();
        table.set_max_capacity(limits.resources);
        HostState {
            wasi: None,
            table,
            limiter: Limiter {
                memory_bytes: limits.memory_bytes,
                table_elements: limits.table_elements,
                instances: limits.instances,
            },
            limits: limits.clone(),
            usage: Usage::default(),
            requests: RequestBudget::new(limits.http_requests),
            capabilities,
            log,
            deadline: tokio::time::Instant::now() + limits.timeout(),
            fuel_debt: 0,
            host_call_depth: 0,
            host_fuel: 0,
            host_call_fuel: pricing.host_call_units,
            kib_fuel: pricing.units_per_kib,
        }
    }

    /// The WASI context, built on first use.
    pub(crate) fn wasi(&mut self) -> &mut WasiCtx {
        wasi_ctx(&mut self.wasi, &self.log)
    }

    /// Count one call into a brokered import and owe its fuel.
    pub(crate) fn count_host_call(&mut self) {
        self.usage.host_calls += 1;
        self.fuel_debt = self.fuel_debt.saturating_add(self.host_call_fuel);
    }

    /// Owe the fuel for `bytes` moved across the sandbox's boundary by the
    /// current host call.
    pub(crate) fn charge_bytes(&mut self, bytes: usize) {
        let kib = (bytes as u64).div_ceil(1024);
        self.fuel_debt = self
            .fuel_debt
            .saturating_add(kib.saturating_mul(self.kib_fuel));
    }

    /// Count the stdout and stderr writes since the last call as host calls
    /// and owe their fuel.
    pub(crate) fn charge_stream_writes(&mut self) {
        // Streams exist only once the guest's first WASI call built the
        // context; components that make none never take the log's lock here.
        if self.wasi.is_none() {
            return;
        }
        let usage = self.log.take_stream_usage();
        if usage.writes == 0 {
            return;
        }
        self.usage.host_calls += usage.writes;
        self.fuel_debt = self
            .fuel_debt
            .saturating_add(usage.writes.saturating_mul(self.host_call_fuel));
        self.charge_bytes(usize::try_from(usage.bytes).unwrap_or(usize::MAX));
    }
}

/// Why a push into a full resource table failed, and what to do.
pub(crate) fn resource_limit_message(limit: usize) -> String {
    format!(
        "the execution holds {limit} host resources (connection handles, streams) at once, the \
         most allowed; drop handles that are no longer needed instead of taking new ones"
    )
}

/// The execution's WASI context in `slot`, built on first use: empty
/// environment and arguments, no preopened directories, no network, stdout
/// and stderr into `log`.
fn wasi_ctx<'a>(slot: &'a mut Option<WasiCtx>, log: &LogSink) -> &'a mut WasiCtx {
    slot.get_or_insert_with(|| {
        WasiCtx::builder()
            .stdout(log.stream("stdout"))
            .stderr(log.stream("stderr"))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build()
    })
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: wasi_ctx(&mut self.wasi, &self.log),
            table: &mut self.table,
        }
    }
}

impl wasmtime_wasi_io::IoView for HostState {
    fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}
