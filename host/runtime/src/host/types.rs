//! The host side of the `types` interface: it only declares data types, so
//! the generated `Host` trait has no functions to implement.

use crate::bindings::workway::plugin::types;
use crate::state::HostState;

impl types::Host for HostState {}
