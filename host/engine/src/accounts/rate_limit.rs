//! Rate limits held in the store, so they hold across every host sharing
//! it: fixed windows (the clock cut into windows of
//! [`AccountConfig::rate_window_secs`], a counter per bucket and window,
//! incremented in one statement). A fixed window admits at most twice its
//! limit across one window boundary; it costs one write per counted
//! request and no per-host state.

use workway_store::{Store, StoreError};

use super::secrets::digest;
use crate::config::AccountConfig;

/// A refusal: the bucket is full until the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// Seconds until the window ends (at least 1), for `Retry-After`.
    pub retry_after_secs: u64,
}

/// What is counted.
#[derive(Debug, Clone)]
pub enum Bucket {
    /// API requests made with one API token.
    Token(String),
    /// API requests made in one browser session.
    Session(String),
    /// API requests from one client address without credentials.
    Address(String),
    /// Failed sign-ins to one account (by normalised email).
    SignInAccount(String),
    /// Failed sign-ins from one client address.
    SignInAddress(String),
}

impl Bucket {
    /// The stored key: a kind and a digest, so no email or address is
    /// kept in the rate table.
    fn key(&self) -> String {
        let (kind, value) = match self {
            Bucket::Token(v) => ("api-token", v),
            Bucket::Session(v) => ("api-session", v),
            Bucket::Address(v) => ("api-address", v),
            Bucket::SignInAccount(v) => ("signin-account", v),
            Bucket::SignInAddress(v) => ("signin-address", v),
        };
        format!("{kind}:{}", &digest(value)[..32])
    }
}

/// The start of the window `now` falls in.
fn window_start(now: i64, window_ms: i64) -> i64 {
    now - now.rem_euclid(window_ms)
}

fn limited(now: i64, window_ms: i64) -> Limited {
    let end = window_start(now, window_ms) + window_ms;
    let secs = (end - now + 999) / 1000;
    Limited {
        retry_after_secs: u64::try_from(secs.max(1)).unwrap_or(1),
    }
}

/// Count one request in `bucket`: refused when it is past `limit` in this
/// window.
pub async fn hit(
    store: &Store,
    config: &AccountConfig,
    bucket: &Bucket,
    limit: i64,
    now: i64,
) -> Result<Result<(), Limited>, StoreError> {
    let window = config.window_ms();
    let hits = store
        .rate_limits()
        .hit(&bucket.key(), window_start(now, window))
        .await?;
    Ok(if hits > limit {
        Err(limited(now, window))
    } else {
        Ok(())
    })
}

/// Whether `bucket` is already at `limit` in this window, without counting.
pub async fn full(
    store: &Store,
    config: &AccountConfig,
    bucket: &Bucket,
    limit: i64,
    now: i64,
) -> Result<Option<Limited>, StoreError> {
    let window = config.window_ms();
    let hits = store
        .rate_limits()
        .hits(&bucket.key(), window_start(now, window))
        .await?;
    Ok((hits >= limit).then(|| limited(now, window)))
}

/// Forget windows that ended before `now`.
pub async fn purge(store: &Store, config: &AccountConfig, now: i64) -> Result<u64, StoreError> {
    let window = config.window_ms();
    store.rate_limits().purge(window_start(now, window)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_and_retry_after() {
        assert_eq!(window_start(1_234_567, 1000), 1_234_000);
        assert_eq!(limited(1_234_567, 1000).retry_after_secs, 1);
        assert_eq!(limited(0, 900_000).retry_after_secs, 900);
        assert_eq!(limited(899_001, 900_000).retry_after_secs, 1);
        assert_ne!(
            Bucket::Token("a".into()).key(),
            Bucket::Session("a".into()).key()
        );
    }
}
