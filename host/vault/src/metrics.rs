//! The vault's one metric: token refreshes by provider and outcome. Its
//! name lives here because the engine, where the platform's other metrics
//! are named, depends on the vault and not the other way round; the
//! engine's `metrics` module re-exports it.

/// Counter of calls to a provider's token endpoint to refresh a grant,
/// by `provider` (a configured provider's name) and `outcome`: `ok` (new
/// tokens), `rejected` (the provider refused the refresh token; the
/// connection needs re-authorisation), `not_configured` (the provider has
/// no token endpoint or client) or `unavailable` (the provider could not
/// be reached or answered with a server error).
pub const TOKEN_REFRESHES_TOTAL: &str = "workway_token_refreshes_total";

/// Record one refresh through `provider` that ended with `outcome`.
pub(crate) fn refreshed(provider: &str, outcome: &'static str) {
    ::metrics::counter!(
        TOKEN_REFRESHES_TOTAL,
        "provider" => provider.to_string(),
        "outcome" => outcome,
    )
    .increment(1);
}
