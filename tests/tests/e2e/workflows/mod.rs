//! Durable workflows end to end, on SQLite and PostgreSQL, on a
//! [`Deployment`]: the first-party integrations approved and installed,
//! the user's accounts connected, the services' mocks reached through the
//! production egress broker; runs created by the trigger service and
//! driven by the executor.

mod concurrency;
mod damaged;
mod events;
mod retries;
mod schedule;
mod three_step;
mod webhook;
mod webhook_formats;

pub use workway_fixtures::{
    CHANNEL, DATABASE, Deployment, USER, assert_succeeded, fast, inbox_to_notion,
};

/// A deployment on `t`'s store, on the test process's runtime.
pub async fn deployment(t: &workway_store::testing::TestStore) -> Deployment {
    Deployment::start(t, crate::support::shared_runtime()).await
}
