//! One isolated execution: a fresh store and instance, limits, fuel, a
//! deadline, schema checks on both sides, and a report that always comes
//! back, whatever the guest did.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::Instrument as _;
use wasmtime::component::ResourceTableError;
use wasmtime::{CallHook, Engine, Store, StoreContextMut, Trap, UpdateDeadline};

use crate::bindings::workway::plugin::types;
use crate::bindings::{IntegrationInfo, IntegrationPre};
use crate::log_sink::LogSink;
use crate::state::{
    CapabilityDenied, ConnectionUnusable, HostState, ResourceLimitHit, resource_limit_message,
};
use crate::{LoadedComponent, Runtime};
use workway_capabilities::Capabilities;
use workway_report::config::{Limits, RuntimeConfig};
use workway_report::metering::Usage;
use workway_report::{
    ExecutionLog, ExecutionReport, HostError, IntegrationError, Outcome, Truncation,
};

/// What to run: an action, its JSON input, and what the execution may reach.
#[derive(Clone, Default)]
pub struct ExecutionRequest {
    /// The action's name.
    pub action: String,
    /// The input, as JSON text.
    pub input: String,
    /// Brokers and configuration for this execution.
    pub capabilities: Capabilities,
    /// Limits; the runtime's defaults when `None`.
    pub limits: Option<Limits>,
    /// The idempotency key of the workflow step attempt, if any.
    pub idempotency_key: Option<String>,
    /// The execution's id; generated when `None`.
    pub execution_id: Option<String>,
}

impl ExecutionRequest {
    /// A request to run `action` on `input` with no capabilities and default limits.
    pub fn new(action: impl Into<String>, input: impl Into<String>) -> Self {
        ExecutionRequest {
            action: action.into(),
            input: input.into(),
            ..Default::default()
        }
    }
}

/// What a finished guest call left behind.
struct GuestRun<T> {
    result: Result<T, Stop>,
    usage: Usage,
    http_requests: u32,
    log: ExecutionLog,
}

/// Why a guest run ended without a value.
enum Stop {
    /// The host stopped or refused it.
    Host(HostError),
    /// A connection it used cannot be used any more.
    AuthExpired(String),
}

impl Stop {
    /// Where only host errors can happen (`describe` has no connections).
    fn into_host_error(self) -> HostError {
        match self {
            Stop::Host(e) => e,
            Stop::AuthExpired(reason) => HostError::Internal(reason),
        }
    }
}

/// Take the fuel the host call that just returned costs (see
/// [`HostState::count_host_call`]) from the store's fuel; a call the fuel
/// left cannot pay for ends the execution as out of fuel.
///
/// Only when the outermost host call returns to the guest: the hooks also
/// run around wasmtime's own calls out of guest code (the epoch's deadline
/// check, `memory.grow`), and those happen inside a host call too, in the
/// guest's `cabi_realloc` that the host calls to lower a result. Guest code
/// keeps its fuel counter in a register and writes it back only around
/// its calls to other functions, not around those checks, so fuel set
/// there would be overwritten and the host call's fuel never taken.
fn charge_host_fuel(
    mut store: StoreContextMut<'_, HostState>,
    hook: CallHook,
) -> wasmtime::Result<()> {
    let state = store.data_mut();
    match hook {
        CallHook::CallingHost => {
            state.host_call_depth += 1;
            return Ok(());
        }
        CallHook::ReturningFromHost => {
            state.host_call_depth = state.host_call_depth.saturating_sub(1);
            if state.host_call_depth > 0 {
                return Ok(());
            }
        }
        CallHook::CallingWasm | CallHook::ReturningFromWasm => return Ok(()),
    }
    state.charge_stream_writes();
    let debt = std::mem::take(&mut state.fuel_debt);
    if debt == 0 {
        return Ok(());
    }
    let fuel = store.get_fuel()?;
    let taken = debt.min(fuel);
    store.set_fuel(fuel - taken)?;
    store.data_mut().host_fuel += taken;
    if taken < debt {
        return Err(wasmtime::Error::new(Trap::OutOfFuel));
    }
    Ok(())
}

/// A fresh store for one execution: its limits and fuel; host calls charged
/// against the fuel; on every epoch tick the guest yields its tokio worker
/// to other tasks, and the first tick at or past the deadline interrupts it.
pub(super) fn new_store(
    engine: &Engine,
    limits: &Limits,
    capabilities: Capabilities,
    config: &RuntimeConfig,
) -> (Store<HostState>, LogSink) {
    let log = LogSink::new(limits.log_bytes);
    let state = HostState::new(limits, &config.metering, capabilities, log.clone());
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    if config.consume_fuel {
        // Fuel is enabled on the engine, so setting it cannot fail.
        let _ = store.set_fuel(limits.fuel);
        store.call_hook(charge_host_fuel);
    }
    if config.epoch_interruption {
        let deadline = Instant::now().checked_add(limits.timeout());
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Ok(UpdateDeadline::Interrupt);
            }
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        });
    }
    (store, log)
}

/// Turn a wasmtime error from instantiation or a call into the typed
/// reason; `state` is the store's data when the call ended.
fn classify(
    err: &wasmtime::Error,
    limits: &Limits,
    state: &HostState,
    log: &ExecutionLog,
) -> HostError {
    if let Some(hit) = err.downcast_ref::<ResourceLimitHit>() {
        return HostError::MemoryLimit(hit.0.clone());
    }
    if let Some(ResourceTableError::Full) = err.downcast_ref::<ResourceTableError>() {
        return HostError::MemoryLimit(resource_limit_message(limits.resources));
    }
    if let Some(denied) = err.downcast_ref::<CapabilityDenied>() {
        return HostError::CapabilityDenied(denied.0.clone());
    }
    if let Some(exit) = err.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return HostError::Trap(format!("the guest called exit({})", exit.0));
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => HostError::FuelExhausted(format!(
                "the execution used all {} fuel it was given ({} of it for {} host calls)",
                limits.fuel, state.host_fuel, state.usage.host_calls
            )),
            Trap::Interrupt => HostError::Timeout(format!(
                "the execution ran past its {} ms deadline",
                limits.timeout_ms
            )),
            Trap::StackOverflow => HostError::Trap("the guest overflowed its call stack".into()),
            Trap::UnreachableCodeReached => match panic_message(log) {
                Some(message) => HostError::Trap(format!("the guest panicked: {message}")),
                None => {
                    HostError::Trap("the guest reached an `unreachable` instruction (abort)".into())
                }
            },
            other => HostError::Trap(format!("the guest trapped: {other}")),
        };
    }
    if let Some(message) = count_limit(err, limits) {
        return HostError::MemoryLimit(message);
    }
    HostError::Trap(format!("{err:#}"))
}

/// The store's count of core instances, memories or tables went past the
/// limiter's: wasmtime says so only in words ("resource limit exceeded:
/// instance count too high at 39"), so those words are the signal. The
/// answer names the limit and how an integration asks for more.
fn count_limit(err: &wasmtime::Error, limits: &Limits) -> Option<String> {
    let text = err.chain().find_map(|cause| {
        cause
            .to_string()
            .strip_prefix("resource limit exceeded: ")
            .map(str::to_string)
    })?;
    let what = text.split(" count too high").next().unwrap_or("instance");
    Some(format!(
        "starting the component needs more core {what}s than the {} this integration may create \
         ({text}); raise `instances` under `[limits]` in workway.toml (at most {})",
        limits.instances,
        workway_registry::manifest::MAX_INSTANCES
    ))
}

fn panic_message(log: &ExecutionLog) -> Option<String> {
    log.entries
        .iter()
        .rev()
        .find_map(|e| e.message.strip_prefix("panic: ").map(str::to_string))
}

/// Instantiate `pre` in a fresh store and run `call` on it under the
/// limits; the deadline covers time in host calls too.
async fn run_guest<T, F>(
    engine: &Engine,
    pre: &IntegrationPre<HostState>,
    limits: &Limits,
    capabilities: Capabilities,
    config: &RuntimeConfig,
    call: F,
) -> GuestRun<T>
where
    F: for<'a> AsyncFnOnce(
        &'a mut Store<HostState>,
        crate::bindings::Integration,
    ) -> wasmtime::Result<T>,
{
    let (mut store, log) = new_store(engine, limits, capabilities, config);
    let outcome = tokio::time::timeout(limits.timeout(), async {
        let instance = pre.instantiate_checked_once(&mut store).await?;
        call(&mut store, instance).await
    })
    .await;
    store.data_mut().charge_stream_writes();
    let state = store.data();
    // Guest fuel only: what host calls cost is billed as host calls.
    let fuel_used = if config.consume_fuel {
        limits
            .fuel
            .saturating_sub(store.get_fuel().unwrap_or(0))
            .saturating_sub(state.host_fuel)
    } else {
        0
    };
    let log = log.take();
    let result = match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(match err.downcast_ref::<ConnectionUnusable>() {
            Some(unusable) => Stop::AuthExpired(unusable.0.clone()),
            None => Stop::Host(classify(&err, limits, state, &log)),
        }),
        Err(_) => Err(Stop::Host(HostError::Timeout(format!(
            "the execution ran past its {} ms deadline",
            limits.timeout_ms
        )))),
    };
    let usage = Usage {
        fuel: fuel_used,
        ..state.usage.clone()
    };
    GuestRun {
        result,
        usage,
        http_requests: state.requests.used(),
        log,
    }
}

/// Run `describe()` in a sandbox with no capabilities.
pub(super) async fn run_describe(
    engine: &Engine,
    pre: &IntegrationPre<HostState>,
    limits: &Limits,
    config: &RuntimeConfig,
) -> (Result<IntegrationInfo, HostError>, Usage) {
    let run = run_guest(
        engine,
        pre,
        limits,
        Capabilities::none(),
        config,
        async |store, instance| instance.call_describe(store).await,
    )
    .await;
    (run.result.map_err(Stop::into_host_error), run.usage)
}

/// `text` cut to at most `max` bytes (whole characters), recording the cut
/// in `truncated` as `field`.
fn cap_text(field: &str, mut text: String, max: usize, truncated: &mut Vec<Truncation>) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    truncated.push(Truncation {
        field: field.to_string(),
        original_bytes: text.len() as u64,
        kept_bytes: end as u64,
    });
    text.truncate(end);
    text.shrink_to_fit();
    text
}

/// The plugin's typed error, its message cut to `max` bytes.
fn integration_error(
    e: types::IntegrationError,
    max: usize,
    truncated: &mut Vec<Truncation>,
) -> IntegrationError {
    use types::IntegrationError as W;
    let mut cap = |message: String| cap_text("error.message", message, max, truncated);
    match e {
        W::AuthExpired(message) => IntegrationError::AuthExpired {
            message: cap(message),
        },
        W::RateLimited(r) => IntegrationError::RateLimited {
            retry_after_ms: r.retry_after_ms,
            message: cap(r.message),
        },
        W::InvalidInput(message) => IntegrationError::InvalidInput {
            message: cap(message),
        },
        W::NotFound(message) => IntegrationError::NotFound {
            message: cap(message),
        },
        W::PermissionDenied(message) => IntegrationError::PermissionDenied {
            message: cap(message),
        },
        W::Upstream(u) => IntegrationError::Upstream {
            status: u.status,
            message: cap(u.message),
        },
        W::Network(message) => IntegrationError::Network {
            message: cap(message),
        },
        W::Internal(message) => IntegrationError::Internal {
            message: cap(message),
        },
    }
}

/// Check the input before any guest code runs.
fn check_input(
    component: &LoadedComponent,
    action: &str,
    input: &str,
    limits: &Limits,
) -> Result<(), HostError> {
    let Some((input_schema, _)) = component.schemas.get(action) else {
        let known: Vec<&str> = component
            .description
            .actions
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        return Err(HostError::UnknownAction(format!(
            "`{}` has no action `{action}`; it offers: {}",
            component.description.name,
            known.join(", ")
        )));
    };
    if input.len() > limits.input_bytes {
        return Err(HostError::InputInvalid(format!(
            "the input is {} bytes; the limit is {}",
            input.len(),
            limits.input_bytes
        )));
    }
    let value: serde_json::Value = serde_json::from_str(input)
        .map_err(|e| HostError::InputInvalid(format!("the input is not valid JSON: {e}")))?;
    input_schema.check(&value).map_err(|errors| {
        HostError::InputInvalid(format!(
            "the input does not match the schema of `{action}`: {}",
            errors.join("; ")
        ))
    })
}

/// Check the output against its size limit and schema.
fn check_output(
    component: &LoadedComponent,
    action: &str,
    result: types::ActionResult,
    limits: &Limits,
) -> Result<Outcome, HostError> {
    let size = result.data.len()
        + result
            .metadata
            .iter()
            .map(|m| m.key.len() + m.value.len())
            .sum::<usize>();
    if size > limits.output_bytes {
        return Err(HostError::OutputInvalid(format!(
            "the output is {size} bytes; the limit is {}",
            limits.output_bytes
        )));
    }
    let data: serde_json::Value = serde_json::from_str(&result.data)
        .map_err(|e| HostError::OutputInvalid(format!("the output is not valid JSON: {e}")))?;
    if let Some((_, output_schema)) = component.schemas.get(action) {
        output_schema.check(&data).map_err(|errors| {
            HostError::OutputInvalid(format!(
                "the output does not match the declared schema of `{action}`: {}",
                errors.join("; ")
            ))
        })?;
    }
    Ok(Outcome::Ok {
        data,
        metadata: result
            .metadata
            .into_iter()
            .map(|m| (m.key, m.value))
            .collect(),
    })
}

/// A unique execution id: a random per-process prefix and a counter, so
/// that minting one costs no system call.
fn next_execution_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{n:x}")
}

/// Run one action; see [`Runtime::execute`].
pub(super) async fn execute(
    runtime: &Runtime,
    component: &LoadedComponent,
    mut request: ExecutionRequest,
) -> ExecutionReport {
    let started = Instant::now();
    let limits = request
        .limits
        .take()
        .unwrap_or_else(|| component.limits.clone());
    let execution_id = request
        .execution_id
        .take()
        .unwrap_or_else(next_execution_id);
    // The span is attached to the future, not entered across its awaits:
    // an entered guard would stay on whichever thread the task left, and
    // lines logged there by other tasks would claim this execution.
    let span = tracing::info_span!(
        "execution",
        %execution_id,
        idempotency_key = request.idempotency_key.as_deref(),
        digest = %component.digest_text,
        action = %request.action,
    );
    execute_in_span(runtime, component, request, execution_id, limits, started)
        .instrument(span)
        .await
}

/// The body of [`execute`], inside the execution's span.
async fn execute_in_span(
    runtime: &Runtime,
    component: &LoadedComponent,
    request: ExecutionRequest,
    execution_id: String,
    limits: Limits,
    started: Instant,
) -> ExecutionReport {
    let action = request.action;
    let input_len = request.input.len() as u64;

    let mut truncated = Vec::new();
    let (outcome, usage, http_requests, log) =
        match check_input(component, &action, &request.input, &limits) {
            Err(error) => (
                Outcome::HostError { error },
                Usage::default(),
                0,
                ExecutionLog::default(),
            ),
            Ok(()) => {
                let context = types::ExecutionContext {
                    execution_id: execution_id.clone(),
                    idempotency_key: request.idempotency_key,
                };
                let input = request.input;
                let run = run_guest(
                    &runtime.engine,
                    &component.pre,
                    &limits,
                    request.capabilities,
                    &runtime.config,
                    async |store, instance| {
                        instance
                            .call_execute(store, &action, &input, &context)
                            .await
                    },
                )
                .await;
                let mut usage = run.usage;
                usage.bytes_in += input_len;
                let outcome = match run.result {
                    Err(Stop::Host(error)) => Outcome::HostError { error },
                    Err(Stop::AuthExpired(message)) => Outcome::IntegrationError {
                        error: IntegrationError::AuthExpired { message },
                    },
                    Ok(Err(e)) => Outcome::IntegrationError {
                        error: integration_error(e, limits.message_bytes, &mut truncated),
                    },
                    Ok(Ok(result)) => {
                        usage.bytes_out += result.data.len() as u64;
                        check_output(component, &action, result, &limits)
                            .unwrap_or_else(|error| Outcome::HostError { error })
                    }
                };
                (outcome, usage, run.http_requests, run.log)
            }
        };

    let pricing = &runtime.config.metering;
    let report = ExecutionReport {
        execution_id,
        digest: component.digest_text.clone(),
        action,
        fuel_used: usage.fuel,
        host_calls: usage.host_calls,
        host_call_units: usage.host_call_units(pricing),
        http_requests,
        bytes_in: usage.bytes_in,
        bytes_out: usage.bytes_out,
        compute_units: usage.compute_units(pricing),
        billing_class: usage.billing_class(pricing),
        wall_time_us: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        log,
        outcome,
        truncated,
    };
    match &report.outcome {
        Outcome::HostError { error } => tracing::info!(
            kind = error.kind(),
            fuel = report.fuel_used,
            "execution stopped: {error}"
        ),
        _ => tracing::debug!(fuel = report.fuel_used, "execution finished"),
    }
    report
}

#[cfg(test)]
mod tests;
