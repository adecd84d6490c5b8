//! Tests of the mocks, driven by a bare hyper client.

mod client;
mod oauth;
mod oauth_refresh;
mod server;
mod stripe;
mod tls;
