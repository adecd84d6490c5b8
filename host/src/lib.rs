//! The Workway host: runs untrusted integration components in fresh,
//! limited, metered wasmtime sandboxes and brokers what they may reach.
//!
//! - [`runtime`]: the engine, component loading and caching, and one
//!   isolated execution per call;
//! - [`catalog`]: the integrations this host may run, resolved through the
//!   registry, their signed approvals verified, revocations honoured;
//! - [`capabilities`]: the seam between the sandbox and the outside world
//!   (HTTP egress, connections, configuration);
//! - [`vault`]: users' OAuth grants, sealed at rest and refreshed once
//!   cluster-wide; [`oauth`]: the providers and the flow that connects an
//!   account;
//! - [`report`]: the execution report every execution returns;
//! - [`metering`]: compute units and the light/heavy billing class;
//! - [`config`]: limits and settings, with defaults;
//! - [`workflow`]: workflow definitions (parsing, input templates,
//!   conditions, retry policies, schedules, validation), saved versions,
//!   and the durable executor;
//! - [`triggers`]: the one place runs are created (manual, webhook, ...);
//! - [`installations`]: which approved integrations each user installed;
//! - [`platform`]: one process's services wired together;
//! - [`api`]: the HTTP API;
//! - [`cli`]: the `workway` command line.

pub mod api;
pub mod capabilities;
pub mod catalog;
pub mod cli;

pub mod config;
pub mod installations;
pub mod metering;
pub mod oauth;
pub mod platform;
pub mod report;
pub mod runtime;
pub mod schema;
pub mod secret;
pub mod triggers;
pub mod vault;
pub mod workflow;

pub use config::{Limits, MeteringConfig, RuntimeConfig};
pub use report::{ExecutionReport, HostError, Outcome};
pub use runtime::{ExecutionRequest, LoadError, LoadedComponent, Runtime};
pub use workway_registry::Digest;
