//! Logging into the execution's log, which the host keeps (size-capped) with
//! the execution report.

use crate::bindings::workway::plugin::log::{Level, log};

/// Log a debug message.
pub fn debug(message: impl AsRef<str>) {
    log(Level::Debug, message.as_ref());
}

/// Log an informational message.
pub fn info(message: impl AsRef<str>) {
    log(Level::Info, message.as_ref());
}

/// Log a warning.
pub fn warn(message: impl AsRef<str>) {
    log(Level::Warn, message.as_ref());
}

/// Log an error.
pub fn error(message: impl AsRef<str>) {
    log(Level::Error, message.as_ref());
}
