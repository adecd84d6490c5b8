//! Workway's registry: what a marketplace integration declares about itself
//! (its [`manifest`]) and how that declaration is checked against what the
//! component reports at run time ([`crosscheck`]).
//!
//! Submissions, review, signed approvals and revocation build on these types.

pub mod crosscheck;
pub mod hosts;
pub mod manifest;

pub use crosscheck::{ActionDescription, IntegrationDescription, crosscheck};
pub use hosts::{HostPattern, HostPatternError, host_matches, is_host_name};
pub use manifest::{Manifest, ManifestError};
