//! The marketplace: what users and publishers do around approved
//! integrations beyond installing them, one module per concern.
//!
//! - [`consent`]: installing with consent to what a version may do, and
//!   updates that widen it held back until the user accepts them;
//! - [`figures`]: what a listing shows of an integration's installs,
//!   executions (rolled up in the background) and ratings;
//! - [`listing_changes`]: how a listing's words changed since the
//!   integration's last approved version, shown to reviewers;
//! - [`listings`]: what the marketplace shows of an integration (summary,
//!   Markdown description rendered safely, categories, price, icon) and
//!   the entitlement a paid one needs before it is installed;
//! - [`publishers`]: developer profiles, their verification by an admin,
//!   and the co-maintainers an integration's owner lets publish it;
//! - [`ratings`]: users' ratings and written reviews of the integrations
//!   they ran, the publisher's replies, admins hiding abusive ones.

pub mod consent;
pub mod figures;
pub mod listing_changes;
pub mod listings;
pub mod publishers;
pub mod ratings;
