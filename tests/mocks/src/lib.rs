//! Local stand-ins for the outside world in tests.
//!
//! Tests reach third-party APIs only through these servers on 127.0.0.1,
//! which speak the real wire formats:
//!
//! - [`MockServer`]: an HTTP(S) server answering with a handler, recording
//!   every [`RecordedRequest`] and replying with a [`MockResponse`].
//! - [`TestCa`]: a throw-away certificate authority for HTTPS mocks.
//! - [`MockOAuthProvider`]: a Google / Slack / Notion / Stripe Connect
//!   authorization server (consent simulation plus `/token`).
//! - [`TokenChecker`] and [`unauthorized`]: pieces for mock APIs that accept
//!   only the provider's current access tokens.
//! - [`services`]: Gmail, Notion, Slack and Stripe, with state, the checks
//!   a real server makes, and their real response and error shapes.

// Stripe's objects are large `json!` literals.
#![recursion_limit = "512"]

mod api;
mod oauth;
mod request;
mod response;
mod server;
pub mod services;
mod tls;

#[cfg(test)]
mod tests;

pub use api::{TokenChecker, unauthorized};
pub use oauth::{
    AuthorizeOutcome, AuthorizeRequest, Flavor, MockOAuthProvider, SeededGrant, TokenStatus,
};
pub use request::RecordedRequest;
pub use response::MockResponse;
pub use server::{Handler, MockServer};
pub use tls::TestCa;
