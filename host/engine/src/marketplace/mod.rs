//! The marketplace: what users and publishers do around approved
//! integrations beyond installing them, one module per concern.
//!
//! - [`publishers`]: developer profiles, their verification by an admin,
//!   and the co-maintainers an integration's owner lets publish it;
//! - [`ratings`]: users' ratings and written reviews of the integrations
//!   they ran, the publisher's replies, admins hiding abusive ones.

pub mod publishers;
pub mod ratings;
