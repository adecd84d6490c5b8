//! The platform API over real HTTP on 127.0.0.1, on SQLite and
//! PostgreSQL: accounts, sessions, API tokens, CSRF, rate limits, and
//! every resource scoped to its account.

mod accounts;
mod client;
mod consent;
mod key_connections;
mod listings;
mod oauth;
mod publishers;
mod ratings;
mod resources;
mod reviews;
mod workflow_deletion;
