//! A reused instance, for measuring the raw cost of a call into a
//! component. It is NOT an isolated execution: state survives between
//! calls, and no limits, schemas or reports apply. Production code runs
//! every action through [`Runtime::execute`](crate::Runtime::execute).

use wasmtime::Store;

use crate::bindings::Integration;
use crate::bindings::workway::plugin::types;
use crate::execute::new_store;
use crate::state::HostState;
use crate::{LoadedComponent, Runtime};
use workway_capabilities::Capabilities;
use workway_report::config::Limits;

/// Fuel, deadline and memory large enough never to stop a benchmark loop.
fn unbounded() -> Limits {
    Limits {
        fuel: u64::MAX / 2,
        // A year: the deadline instant must stay representable.
        timeout_ms: 365 * 24 * 3600 * 1000,
        memory_bytes: usize::MAX,
        log_bytes: 0,
        ..Limits::default()
    }
}

/// Why a call on a [`WarmInstance`] produced no output.
#[derive(Debug, thiserror::Error)]
pub enum WarmCallError {
    /// The action returned its typed `integration-error`.
    #[error("{0:?}")]
    Integration(types::IntegrationError),
    /// The call trapped or could not be made.
    #[error("{0:#}")]
    Trap(wasmtime::Error),
}

/// One instance of a component kept alive across calls.
pub struct WarmInstance {
    store: Store<HostState>,
    instance: Integration,
}

impl WarmInstance {
    /// Call `action` on the live instance; the JSON output or why there is none.
    pub async fn call(&mut self, action: &str, input: &str) -> Result<String, WarmCallError> {
        let context = types::ExecutionContext {
            execution_id: "warm".into(),
            idempotency_key: None,
        };
        match self
            .instance
            .call_execute(&mut self.store, action, &input.to_string(), &context)
            .await
        {
            Ok(Ok(result)) => Ok(result.data),
            Ok(Err(e)) => Err(WarmCallError::Integration(e)),
            Err(e) => Err(WarmCallError::Trap(e)),
        }
    }
}

impl Runtime {
    /// Instantiate `component` once for repeated calls; see [`WarmInstance`].
    pub async fn warm_instance(&self, component: &LoadedComponent) -> anyhow::Result<WarmInstance> {
        let (mut store, _log) = new_store(
            &self.engine,
            &unbounded(),
            Capabilities::none(),
            &self.config,
        );
        let instance = component
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| anyhow::anyhow!("cannot instantiate: {e:#}"))?;
        Ok(WarmInstance { store, instance })
    }
}
