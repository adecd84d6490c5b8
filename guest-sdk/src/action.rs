//! Actions, their context, and the dispatch the `integration!` macro uses.

use std::cell::RefCell;
use std::sync::Once;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::workway::plugin::{config, types};
use crate::connection::Connection;
use crate::error::Error;

/// What an action knows about the execution it runs in.
pub struct Context {
    execution_id: String,
    idempotency_key: Option<String>,
    metadata: RefCell<Vec<(String, String)>>,
}

impl Context {
    /// Unique id of this execution.
    pub fn execution_id(&self) -> &str {
        &self.execution_id
    }

    /// A key that stays the same for every attempt of one workflow step; pass
    /// it to services that deduplicate writes (Stripe's `Idempotency-Key`).
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// The user's connection for `provider`.
    pub fn connection(&self, provider: &str) -> Result<Connection, Error> {
        Connection::get(provider)
    }

    /// One setting of the installation's configuration.
    pub fn config(&self, key: &str) -> Option<String> {
        config::get(key)
    }

    /// Attach a metadata entry to the action's result (`next-cursor`, ...).
    pub fn set_metadata(&self, key: impl Into<String>, value: impl Into<String>) {
        self.metadata.borrow_mut().push((key.into(), value.into()));
    }
}

/// One exported action, as `#[action]` generates it.
pub struct ActionDef {
    /// Kebab-case name.
    pub name: &'static str,
    /// What the action does.
    pub description: &'static str,
    /// The input's JSON Schema.
    pub input_schema: fn() -> serde_json::Value,
    /// The output's JSON Schema.
    pub output_schema: fn() -> serde_json::Value,
    /// Deserialize the input, run the function, serialize the output.
    pub run: fn(&Context, &str) -> Result<String, Error>,
}

/// The JSON Schema (draft 2020-12) of `T`.
pub fn schema_for<T: schemars::JsonSchema>() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

impl ActionDef {
    /// Deserialize `input` as `I`, call `f`, and serialize its output.
    pub fn invoke<I, O>(
        ctx: &Context,
        input: &str,
        f: impl FnOnce(&Context, I) -> Result<O, Error>,
    ) -> Result<String, Error>
    where
        I: DeserializeOwned,
        O: Serialize,
    {
        let input: I = serde_json::from_str(input)
            .map_err(|e| Error::InvalidInput(format!("input does not fit the action: {e}")))?;
        let output = f(ctx, input)?;
        serde_json::to_string(&output).map_err(|e| Error::Internal(format!("output: {e}")))
    }
}

/// The integration's self-description, for the exported `describe`.
pub fn describe(name: &str, version: &str, actions: &[ActionDef]) -> types::IntegrationInfo {
    types::IntegrationInfo {
        name: name.to_string(),
        version: version.to_string(),
        sdk_version: crate::SDK_VERSION.to_string(),
        actions: actions
            .iter()
            .map(|a| types::ActionSpec {
                name: a.name.to_string(),
                description: a.description.to_string(),
                input_schema: (a.input_schema)().to_string(),
                output_schema: (a.output_schema)().to_string(),
            })
            .collect(),
    }
}

fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            crate::log::error(format!("panic: {info}"));
        }));
    });
}

/// Run `action` on `input`, for the exported `execute`.
pub fn execute(
    actions: &[ActionDef],
    action: String,
    input: String,
    context: types::ExecutionContext,
) -> Result<types::ActionResult, types::IntegrationError> {
    install_panic_hook();
    let def = actions.iter().find(|a| a.name == action).ok_or_else(|| {
        types::IntegrationError::InvalidInput(format!("this integration has no action `{action}`"))
    })?;
    let ctx = Context {
        execution_id: context.execution_id,
        idempotency_key: context.idempotency_key,
        metadata: RefCell::new(Vec::new()),
    };
    let data = (def.run)(&ctx, &input)?;
    Ok(types::ActionResult {
        data,
        metadata: ctx
            .metadata
            .into_inner()
            .into_iter()
            .map(|(key, value)| types::MetadataEntry { key, value })
            .collect(),
    })
}
