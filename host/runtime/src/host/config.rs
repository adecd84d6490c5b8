//! The host side of the `config` interface: read-only access to the
//! installation's non-secret settings, counted and charged per byte.

use crate::bindings::workway::plugin::config;
use crate::state::HostState;

impl config::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.count_host_call();
        let value = self.capabilities.config.get(&key).cloned();
        self.charge_bytes(key.len() + value.as_ref().map_or(0, String::len));
        Ok(value)
    }

    fn get_all(&mut self) -> wasmtime::Result<Vec<(String, String)>> {
        self.count_host_call();
        let all: Vec<(String, String)> = self
            .capabilities
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.charge_bytes(all.iter().map(|(k, v)| k.len() + v.len()).sum());
        Ok(all)
    }
}
