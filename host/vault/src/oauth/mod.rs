//! OAuth 2.0 as the platform speaks it: the providers it knows, the
//! authorization-code flow with PKCE that connects a user's account, and
//! the token endpoint calls behind it and behind refreshes.

pub mod flow;
pub mod providers;
pub mod token;
