//! The platform API over real HTTP on 127.0.0.1, on SQLite and
//! PostgreSQL: accounts, sessions, API tokens, CSRF, rate limits, and
//! every resource scoped to its account.

mod accounts;
mod admin;
mod audit;
mod billing;
pub(crate) mod client;
mod consent;
mod figures;
mod key_connections;
mod listing_changes;
mod listings;
mod oauth;
mod payments;
mod publishers;
mod ratings;
mod resources;
mod reviews;
mod search;
mod workflow_deletion;
