//! The host side of the `log` interface: guest messages go into the
//! execution's size-capped log, tagged with their level.

use crate::bindings::workway::plugin::log;
use crate::state::HostState;

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) -> wasmtime::Result<()> {
        self.count_host_call();
        self.charge_bytes(message.len());
        let source = match level {
            log::Level::Trace => "log.trace",
            log::Level::Debug => "log.debug",
            log::Level::Info => "log.info",
            log::Level::Warn => "log.warn",
            log::Level::Error => "log.error",
        };
        self.log.push(source, &message);
        Ok(())
    }
}
