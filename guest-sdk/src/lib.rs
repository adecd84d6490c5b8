//! `workway-sdk`: write a Workway integration in ordinary Rust.
//!
//! An integration is a set of actions. Each action is a plain function from a
//! typed input to a typed output; the JSON Schemas the host checks are derived
//! from the types. One macro exports the integration as a WebAssembly
//! component built for `wasm32-wasip2`.
//!
//! ```ignore
//! use workway_sdk::prelude::*;
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct EchoInput { message: String }
//!
//! #[derive(Serialize, JsonSchema)]
//! struct EchoOutput { echoed: String }
//!
//! /// Echo a message back.
//! #[action]
//! fn echo(input: EchoInput) -> Result<EchoOutput> {
//!     Ok(EchoOutput { echoed: input.message })
//! }
//!
//! workway_sdk::integration! {
//!     name: "example",
//!     actions: [echo],
//! }
//! ```
//!
//! Outbound requests go through the host's broker ([`http`]); a user's
//! account is reached through a [`Connection`] handle, never a token.

mod action;
// A global allocator hands out raw memory; the module keeps its `unsafe`
// to a few commented lines.
#[allow(unsafe_code)]
#[cfg_attr(
    not(all(
        target_arch = "wasm32",
        not(target_feature = "atomics"),
        feature = "allocator"
    )),
    allow(dead_code)
)]
mod allocator;
pub mod bindings;
mod connection;
mod error;
pub mod http;
pub mod log;

pub use action::Context;
pub use connection::Connection;
pub use error::{Error, Result};
pub use workway_sdk_macros::{action, integration};

/// Integrations allocate through the SDK's allocator, which spends fewer
/// instructions (fuel) per call than the C library's `malloc`. Turn off the
/// default feature `allocator` to install another global allocator. It is
/// single-threaded, so targets with threads keep the standard one.
#[cfg(all(
    target_arch = "wasm32",
    not(target_feature = "atomics"),
    feature = "allocator"
))]
#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator::new();

/// The version of this SDK, stamped into every component built with it.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version of the `workway:plugin` WIT contract this SDK targets.
pub const CONTRACT_VERSION: &str = "0.1.0";

/// Everything an integration usually needs, in one import.
pub mod prelude {
    pub use crate::http::{self, Request, Response};
    pub use crate::{Connection, Context, Error, Result, action, log};
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

/// Support for the code the macros generate; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::action::{ActionDef, describe, execute, schema_for};
    pub use schemars;
    pub use serde_json;
}
