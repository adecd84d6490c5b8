//! Workway's registry: what a marketplace integration declares about itself
//! (its [`manifest`]), how that declaration is checked against what the
//! component reports at run time ([`crosscheck`]), where components are kept
//! ([`artifacts`], content-addressed by [`Digest`]) and how a reviewer's
//! decision is bound to exactly those bytes ([`approval`]), and the
//! submission and review flow over the store ([`review`]); which OAuth
//! scopes belong to which provider ([`scopes`]); which names could be
//! mistaken for one another ([`names`]).

pub mod approval;
pub mod artifacts;
pub mod crosscheck;
mod digest;
pub mod hosts;
pub mod manifest;
pub mod names;
pub mod review;
pub mod schema;
pub mod scopes;

pub use approval::{ApprovalClaims, ApprovalError, ReviewKey, SignedApproval, TrustedKeys};
pub use artifacts::{ArtifactError, ArtifactStore};
pub use crosscheck::{ActionDescription, IntegrationDescription, crosscheck};
pub use digest::{Digest, DigestParseError, Digested};
pub use hosts::{HostPattern, HostPatternError, host_matches, is_host_name};
pub use manifest::{Manifest, ManifestError, SandboxLimits};
pub use review::{ExampleRun, Inspection, ReviewReport, Reviewed, Sandbox, Submission};
