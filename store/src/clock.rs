//! The clock every stored timestamp is read from: Unix milliseconds, the
//! unit of every `*_at` and `*_ms` column, so leases, expiries and dedupe
//! windows compare on one scale across hosts.

/// Milliseconds since the Unix epoch (0 if the system clock is before it,
/// `i64::MAX` past the year 292 million).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
