//! The data of one execution's `Store`: WASI context, resource table,
//! limits, meters and capabilities. Built fresh for every execution.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::capabilities::{Capabilities, ConnectionInfo};
use crate::config::Limits;
use crate::metering::Usage;
use crate::runtime::log_sink::LogSink;

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
    pub(crate) http_requests: u32,
    pub(crate) capabilities: Capabilities,
    pub(crate) log: LogSink,
    /// When the execution must be over; HTTP timeouts are capped by it.
    pub(crate) deadline: tokio::time::Instant,
}

impl HostState {
    /// Fresh state for one execution: no WASI context yet (see [`wasi_ctx`]),
    /// limits, capabilities and the log.
    pub fn new(limits: &Limits, capabilities: Capabilities, log: LogSink) -> Self {
        HostState {
            wasi: None,
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes: limits.memory_bytes,
                table_elements: limits.table_elements,
                instances: limits.instances,
            },
            limits: limits.clone(),
            usage: Usage::default(),
            http_requests: 0,
            capabilities,
            log,
            deadline: tokio::time::Instant::now() + limits.timeout(),
        }
    }

    /// The WASI context, built on first use.
    pub(crate) fn wasi(&mut self) -> &mut WasiCtx {
        wasi_ctx(&mut self.wasi, &self.log)
    }

    /// Count one call into a brokered import.
    pub(crate) fn count_host_call(&mut self) {
        self.usage.host_calls += 1;
    }
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
