//! The host side of the `workway:plugin` WIT imports, one module per WIT
//! interface (as wasmtime-wasi does for WASI): each module implements the
//! generated `Host` trait of its interface on [`crate::state::HostState`].
//! Every call is counted and metered where it is handled.

mod config;
mod connections;
mod http;
mod log;
mod types;
