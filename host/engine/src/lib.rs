//! The Workway engine: the services that turn approved components into
//! running workflows, over the store.
//!
//! Bottom to top (each module uses only those above it in this list):
//!
//! - [`config`]: the host configuration file and the executor's,
//!   triggers' and accounts' bounds;
//! - [`metrics`]: the metrics the platform records (names, labels,
//!   recording helpers) and the process's Prometheus recorder;
//! - [`accounts`]: accounts, roles, sessions, API tokens and rate limits:
//!   who is acting, and what their credential allows;
//! - [`stored_run`]: a stored run's JSON columns decoded, or why the row
//!   is damaged;
//! - [`events`]: the events the platform raises (a run finished, an
//!   integration installed, a connection needs re-authorisation);
//! - [`review`]: submissions and their review, the state behind the
//!   registry's signed approvals and revocations;
//! - [`catalog`]: approved integrations by name, verified and loaded;
//! - [`capabilities`]: an installation's capabilities from its approval
//!   and its user's connections;
//! - [`platform`]: one process's services wired together, with the
//!   **outbox** every event is published to;
//! - [`hook_secrets`]: webhook workflows' signing secrets, sealed;
//! - [`signing`]: the `t=...,v1=...` HMAC signature scheme of webhook
//!   deliveries (Workway's own, and Stripe's);
//! - [`reviewers`]: reviewer accounts approving, rejecting and revoking,
//!   each signing with a key of their own, sealed;
//! - [`installations`]: which approved version each user installed, and
//!   the pins a run takes of them;
//! - [`marketplace`]: around approved integrations: publishers' profiles
//!   and co-maintainers, ratings and reviews by the users who ran them;
//! - [`connections`]: provider accounts connected with a key the user
//!   holds, checked and sealed in the vault;
//! - [`saved`]: saving a validated workflow definition as its next version;
//! - [`triggers`]: the one place runs are created (manual, webhook,
//!   schedule, events); the event trigger consumes the outbox;
//! - [`cancel`]: a user stops a run, whoever drives it;
//! - [`executor`]: claiming runs under a lease and driving them step by
//!   step, each result committed before the next step starts;
//! - [`assemble`]: the default wiring, the event trigger subscribed to the
//!   outbox.

pub mod accounts;
pub mod assemble;
pub mod billing;
pub mod cancel;
pub mod capabilities;
pub mod catalog;
pub mod config;
pub mod connections;
pub mod events;
pub mod executor;
pub mod hook_secrets;
pub mod installations;
pub mod marketplace;
pub mod metrics;
pub mod platform;
pub mod review;
pub mod reviewers;
pub mod saved;
pub mod signing;
pub mod stored_run;
pub mod triggers;
