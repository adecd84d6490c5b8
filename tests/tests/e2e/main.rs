//! End-to-end tests of the runtime against real components built from
//! `tests/plugins`. (The CLI is tested in `host/cli/tests/all/`.)
//!
//! One test binary (faster to link than many); each module is one concern.

mod adversarial;
mod api;
mod cache;
mod catalog;
mod connections;
mod fuzz;
mod integrations;
mod lean;
mod registry;
mod support;
mod web;
mod well_behaved;
mod workflows;
