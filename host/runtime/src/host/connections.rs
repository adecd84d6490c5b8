//! The host side of the `connections` interface: hands out connections as
//! resource handles in the store's table, so the guest can read their
//! non-secret facts but never their tokens.

use wasmtime::component::Resource;

use crate::bindings::workway::plugin::connections;
use crate::state::{ConnectionHandle, HostState};

impl connections::Host for HostState {
    fn get(
        &mut self,
        provider: String,
    ) -> wasmtime::Result<Result<Resource<ConnectionHandle>, connections::ConnectionError>> {
        self.count_host_call();
        match self.capabilities.connections.get(&provider) {
            // A full table ends the execution as `memory-limit` (see
            // `execute::classify`), as it does for WASI streams.
            Ok(info) => Ok(Ok(self.table.push(ConnectionHandle { info })?)),
            Err(workway_capabilities::ConnectionError::NotConnected(m)) => {
                Ok(Err(connections::ConnectionError::NotConnected(m)))
            }
            Err(workway_capabilities::ConnectionError::NotDeclared(m)) => {
                Ok(Err(connections::ConnectionError::NotDeclared(m)))
            }
        }
    }
}

impl connections::HostConnection for HostState {
    fn provider(&mut self, this: Resource<ConnectionHandle>) -> wasmtime::Result<String> {
        self.count_host_call();
        Ok(self.table.get(&this)?.info.provider.clone())
    }

    fn account(&mut self, this: Resource<ConnectionHandle>) -> wasmtime::Result<Option<String>> {
        self.count_host_call();
        Ok(self.table.get(&this)?.info.account.clone())
    }

    fn scopes(&mut self, this: Resource<ConnectionHandle>) -> wasmtime::Result<Vec<String>> {
        self.count_host_call();
        Ok(self.table.get(&this)?.info.scopes.clone())
    }

    fn drop(&mut self, this: Resource<ConnectionHandle>) -> wasmtime::Result<()> {
        self.table.delete(this)?;
        Ok(())
    }
}
