//! Retry policies and the retry decision: what the executor does after a
//! step fails, by the typed error the failure carries.
//!
//! | failure | decision |
//! |---|---|
//! | `auth-expired` | refresh the connection, retry once |
//! | `rate-limited` | wait `retry-after` (or the backoff), if short enough |
//! | `network`, upstream 5xx/408/429, host `timeout` | backoff with jitter |
//! | anything else | give up at once |

use std::time::Duration;

use serde::{Deserialize, Serialize};

use workway_report::{HostError, IntegrationError};

/// How a step's failures are retried. Every field has a default, so a
/// definition writes only what it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 to 10; 1 means no retry).
    pub max_attempts: u32,
    /// The backoff after the first failed attempt, in ms (at least 10).
    pub initial_backoff_ms: u64,
    /// The longest backoff, in ms (at least `initial_backoff_ms`, at most
    /// one hour).
    pub max_backoff_ms: u64,
    /// The longest `retry-after` a rate-limited step waits, in ms; a
    /// longer one fails the step instead of holding the run.
    pub max_rate_limit_wait_ms: u64,
}

/// Bounds of [`RetryPolicy::max_attempts`].
pub const MAX_ATTEMPTS_RANGE: std::ops::RangeInclusive<u32> = 1..=10;
/// Smallest [`RetryPolicy::initial_backoff_ms`].
pub const MIN_BACKOFF_MS: u64 = 10;
/// Largest [`RetryPolicy::max_backoff_ms`]: one hour.
pub const MAX_BACKOFF_MS: u64 = 3_600_000;

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            initial_backoff_ms: 1_000,
            max_backoff_ms: 60_000,
            max_rate_limit_wait_ms: 900_000,
        }
    }
}

impl RetryPolicy {
    /// Every bound the policy breaks, as (field, sentence saying what to
    /// change); empty when the policy is usable.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        if !MAX_ATTEMPTS_RANGE.contains(&self.max_attempts) {
            problems.push((
                "max_attempts",
                format!(
                    "max_attempts is {}: it must be from 1 (no retry) to 10",
                    self.max_attempts
                ),
            ));
        }
        if self.initial_backoff_ms < MIN_BACKOFF_MS {
            problems.push((
                "initial_backoff_ms",
                format!(
                    "initial_backoff_ms is {}: it must be at least {MIN_BACKOFF_MS}",
                    self.initial_backoff_ms
                ),
            ));
        }
        if self.max_backoff_ms > MAX_BACKOFF_MS {
            problems.push((
                "max_backoff_ms",
                format!(
                    "max_backoff_ms is {}: it must be at most {MAX_BACKOFF_MS} (one hour)",
                    self.max_backoff_ms
                ),
            ));
        }
        if self.max_backoff_ms < self.initial_backoff_ms {
            problems.push((
                "max_backoff_ms",
                format!(
                    "max_backoff_ms ({}) must be at least initial_backoff_ms ({})",
                    self.max_backoff_ms, self.initial_backoff_ms
                ),
            ));
        }
        problems
    }

    /// How long to wait after attempt `failed_attempt` (from 1) failed:
    /// `initial * 2^(n-1)` capped at the maximum, with equal jitter (half
    /// of it fixed, half random) so retries from many runs spread out.
    /// Never above `max_backoff_ms`.
    pub fn backoff(&self, failed_attempt: u32) -> Duration {
        self.backoff_with(failed_attempt, random_u64())
    }

    fn backoff_with(&self, failed_attempt: u32, random: u64) -> Duration {
        let ceiling = self.ceiling_ms(failed_attempt);
        let fixed = ceiling - ceiling / 2;
        let jitter = random % (ceiling / 2 + 1);
        Duration::from_millis(fixed + jitter)
    }

    /// The un-jittered backoff for `failed_attempt`.
    fn ceiling_ms(&self, failed_attempt: u32) -> u64 {
        let doublings = failed_attempt.saturating_sub(1).min(63);
        self.initial_backoff_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_backoff_ms)
    }

    fn attempts_remain(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }
}

/// Random bits for jitter. Should the OS source fail, the jitter is simply
/// the midpoint: a retry is never refused for want of randomness.
fn random_u64() -> u64 {
    getrandom::u64().unwrap_or(u64::MAX / 2)
}

/// Why a step attempt failed, as the retry decision needs it: the typed
/// integration error, or the host's reason for stopping the execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure<'a> {
    /// The connection's grant expired.
    AuthExpired,
    /// The service rate-limited the call, maybe saying how long to wait.
    RateLimited {
        /// The service's `retry-after`, in ms.
        retry_after_ms: Option<u64>,
    },
    /// The service could not be reached.
    Network,
    /// The service answered with an error status.
    Upstream {
        /// The HTTP status.
        status: u16,
    },
    /// The service refused the input.
    InvalidInput,
    /// The referenced thing does not exist.
    NotFound,
    /// The grant does not allow the call.
    PermissionDenied,
    /// A bug inside the integration.
    Internal,
    /// The host stopped or refused the execution; `kind` is the
    /// [`HostError::kind`] (`timeout`, `fuel-exhausted`, `trap`, ...).
    Host {
        /// The host error's kebab-case kind.
        kind: &'a str,
    },
}

impl Failure<'_> {
    /// The failure's name as users see it (`invalid-input`, `upstream 503`,
    /// `timeout`).
    pub fn label(&self) -> String {
        match self {
            Failure::AuthExpired => "auth-expired".into(),
            Failure::RateLimited { .. } => "rate-limited".into(),
            Failure::Network => "network".into(),
            Failure::Upstream { status } => format!("upstream {status}"),
            Failure::InvalidInput => "invalid-input".into(),
            Failure::NotFound => "not-found".into(),
            Failure::PermissionDenied => "permission-denied".into(),
            Failure::Internal => "internal".into(),
            Failure::Host { kind } => (*kind).to_owned(),
        }
    }

    /// Whether retrying after a backoff may succeed: the service or the
    /// path to it was briefly unwell.
    fn is_transient(&self) -> bool {
        match self {
            Failure::Network => true,
            Failure::Upstream { status } => *status >= 500 || matches!(status, 408 | 429),
            Failure::Host { kind } => *kind == "timeout",
            _ => false,
        }
    }
}

impl<'a> From<&'a IntegrationError> for Failure<'a> {
    fn from(error: &'a IntegrationError) -> Self {
        match error {
            IntegrationError::AuthExpired { .. } => Failure::AuthExpired,
            IntegrationError::RateLimited { retry_after_ms, .. } => Failure::RateLimited {
                retry_after_ms: *retry_after_ms,
            },
            IntegrationError::InvalidInput { .. } => Failure::InvalidInput,
            IntegrationError::NotFound { .. } => Failure::NotFound,
            IntegrationError::PermissionDenied { .. } => Failure::PermissionDenied,
            IntegrationError::Upstream { status, .. } => Failure::Upstream { status: *status },
            IntegrationError::Network { .. } => Failure::Network,
            IntegrationError::Internal { .. } => Failure::Internal,
        }
    }
}

impl From<&HostError> for Failure<'static> {
    fn from(error: &HostError) -> Self {
        Failure::Host { kind: error.kind() }
    }
}

/// What the executor does after a failed attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Refresh the step's connection, then run the step again at once.
    RefreshAndRetry,
    /// Run the step again after this long.
    RetryAfter(Duration),
    /// Fail the step (and the run); `reason` says why, for the user.
    GiveUp {
        /// A sentence a user understands ("not retried: invalid-input is
        /// not transient").
        reason: String,
    },
}

/// Decide what follows a failed attempt. `attempt` is the attempt that
/// failed (from 1); `refreshed_already` says whether the connection was
/// refreshed for an earlier `auth-expired` of this step.
///
/// A refresh is not counted against `max_attempts`: an expired grant is
/// not the step's fault, and it is retried once whatever the count.
pub fn decide(
    policy: &RetryPolicy,
    failure: &Failure,
    attempt: u32,
    refreshed_already: bool,
) -> Decision {
    match failure {
        Failure::AuthExpired => after_auth_expired(refreshed_already),
        Failure::RateLimited { retry_after_ms } => {
            after_rate_limit(policy, *retry_after_ms, attempt)
        }
        transient if transient.is_transient() => after_transient(policy, transient, attempt),
        permanent => give_up(format!(
            "not retried: {} is not transient",
            permanent.label()
        )),
    }
}

fn after_auth_expired(refreshed_already: bool) -> Decision {
    if refreshed_already {
        give_up(
            "not retried: the connection's authorization expired again right after a refresh; \
             reconnect the account"
                .into(),
        )
    } else {
        Decision::RefreshAndRetry
    }
}

fn after_rate_limit(policy: &RetryPolicy, retry_after_ms: Option<u64>, attempt: u32) -> Decision {
    if !policy.attempts_remain(attempt) {
        return give_up(out_of_attempts("rate-limited", policy));
    }
    let wait = retry_after_ms.map_or_else(|| policy.backoff(attempt), Duration::from_millis);
    let limit = Duration::from_millis(policy.max_rate_limit_wait_ms);
    if wait > limit {
        return give_up(format!(
            "not retried: rate-limited, and the service asked to wait {}, longer than the {} \
             this step waits at most (retry.max_rate_limit_wait_ms)",
            human(wait),
            human(limit)
        ));
    }
    Decision::RetryAfter(wait)
}

fn after_transient(policy: &RetryPolicy, failure: &Failure, attempt: u32) -> Decision {
    if policy.attempts_remain(attempt) {
        Decision::RetryAfter(policy.backoff(attempt))
    } else {
        give_up(out_of_attempts(&failure.label(), policy))
    }
}

fn out_of_attempts(label: &str, policy: &RetryPolicy) -> String {
    match policy.max_attempts {
        1 => format!(
            "not retried: {label}, and the step allows a single attempt (retry.max_attempts)"
        ),
        n => format!("gave up: {label} on all {n} attempts"),
    }
}

fn give_up(reason: String) -> Decision {
    Decision::GiveUp { reason }
}

/// A duration as people read it: `1.5 s`, `20 min`.
fn human(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 120_000 {
        format!("{} s", duration.as_secs_f64())
    } else {
        format!("{} min", duration.as_secs() / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    fn reason(decision: Decision) -> String {
        match decision {
            Decision::GiveUp { reason } => reason,
            other => panic!("expected to give up, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_partial_policies() {
        let p: RetryPolicy = serde_json::from_str(r#"{"max_attempts": 5}"#).unwrap();
        assert_eq!(
            p,
            RetryPolicy {
                max_attempts: 5,
                ..RetryPolicy::default()
            }
        );
        assert!(serde_json::from_str::<RetryPolicy>(r#"{"attempts": 5}"#).is_err());
        assert!(RetryPolicy::default().problems().is_empty());
    }

    #[test]
    fn bounds_are_checked() {
        let p = RetryPolicy {
            max_attempts: 0,
            initial_backoff_ms: 5,
            max_backoff_ms: 4_000_000,
            max_rate_limit_wait_ms: 0,
        };
        let fields: Vec<&str> = p.problems().iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            vec!["max_attempts", "initial_backoff_ms", "max_backoff_ms"]
        );
        let p = RetryPolicy {
            max_attempts: 11,
            initial_backoff_ms: 2_000,
            max_backoff_ms: 1_000,
            ..RetryPolicy::default()
        };
        let problems = p.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[1].1.contains("at least initial_backoff_ms"));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_equal_jitter() {
        let p = policy();
        // Lowest draw: half the ceiling; highest: the ceiling itself.
        assert_eq!(p.backoff_with(1, 0), Duration::from_millis(500));
        assert_eq!(p.backoff_with(1, 500), Duration::from_millis(1_000));
        assert_eq!(p.backoff_with(2, 0), Duration::from_millis(1_000));
        assert_eq!(p.backoff_with(3, 0), Duration::from_millis(2_000));
        assert_eq!(p.backoff_with(7, 0), Duration::from_millis(30_000));
        assert_eq!(
            p.backoff_with(7, u64::MAX),
            Duration::from_millis(30_000 + u64::MAX % 30_001)
        );
        assert_eq!(
            p.backoff_with(0, 0),
            Duration::from_millis(500),
            "0 reads as 1"
        );
        for attempt in [1, 5, 10, 40, 64, 1_000, u32::MAX] {
            for _ in 0..50 {
                let wait = p.backoff(attempt);
                assert!(
                    wait <= Duration::from_millis(p.max_backoff_ms),
                    "{attempt}: {wait:?}"
                );
                assert!(wait >= Duration::from_millis(p.ceiling_ms(attempt) / 2));
            }
        }
        let odd = RetryPolicy {
            initial_backoff_ms: 11,
            max_backoff_ms: 11,
            ..policy()
        };
        assert_eq!(odd.backoff_with(1, 0), Duration::from_millis(6));
        assert_eq!(odd.backoff_with(1, 5), Duration::from_millis(11));
    }

    #[test]
    fn auth_expired_refreshes_once() {
        assert_eq!(
            decide(&policy(), &Failure::AuthExpired, 1, false),
            Decision::RefreshAndRetry
        );
        let single = RetryPolicy {
            max_attempts: 1,
            ..policy()
        };
        assert_eq!(
            decide(&single, &Failure::AuthExpired, 1, false),
            Decision::RefreshAndRetry
        );
        let again = reason(decide(&policy(), &Failure::AuthExpired, 2, true));
        assert!(again.contains("reconnect"), "{again}");
    }

    #[test]
    fn rate_limits_wait_when_short_enough() {
        let limited = |ms| Failure::RateLimited {
            retry_after_ms: Some(ms),
        };
        assert_eq!(
            decide(&policy(), &limited(30_000), 1, false),
            Decision::RetryAfter(Duration::from_secs(30))
        );
        assert_eq!(
            decide(&policy(), &limited(900_000), 1, false),
            Decision::RetryAfter(Duration::from_secs(900))
        );
        let too_long = reason(decide(&policy(), &limited(3_600_000), 1, false));
        assert!(
            too_long.contains("60 min") && too_long.contains("15 min"),
            "{too_long}"
        );
        let used_up = reason(decide(&policy(), &limited(1_000), 3, false));
        assert!(used_up.contains("all 3 attempts"), "{used_up}");

        let unsaid = Failure::RateLimited {
            retry_after_ms: None,
        };
        let Decision::RetryAfter(wait) = decide(&policy(), &unsaid, 2, false) else {
            panic!("retries")
        };
        assert!(wait >= Duration::from_millis(1_000) && wait <= Duration::from_millis(2_000));
    }

    #[test]
    fn transient_failures_back_off_while_attempts_remain() {
        for failure in [
            Failure::Network,
            Failure::Upstream { status: 503 },
            Failure::Upstream { status: 500 },
            Failure::Upstream { status: 408 },
            Failure::Upstream { status: 429 },
            Failure::Host { kind: "timeout" },
        ] {
            let Decision::RetryAfter(wait) = decide(&policy(), &failure, 1, false) else {
                panic!("{failure:?} retries")
            };
            assert!(wait <= Duration::from_millis(1_000));
            let used_up = reason(decide(&policy(), &failure, 3, false));
            assert!(used_up.contains("all 3 attempts"), "{used_up}");
        }
        let single = RetryPolicy {
            max_attempts: 1,
            ..policy()
        };
        let once = reason(decide(&single, &Failure::Network, 1, false));
        assert!(once.contains("single attempt"), "{once}");
    }

    #[test]
    fn permanent_failures_give_up_at_once() {
        let permanent = [
            Failure::InvalidInput,
            Failure::PermissionDenied,
            Failure::NotFound,
            Failure::Internal,
            Failure::Upstream { status: 400 },
            Failure::Upstream { status: 404 },
            Failure::Host {
                kind: "fuel-exhausted",
            },
            Failure::Host {
                kind: "output-invalid",
            },
            Failure::Host {
                kind: "input-invalid",
            },
            Failure::Host { kind: "trap" },
            Failure::Host {
                kind: "capability-denied",
            },
            Failure::Host {
                kind: "memory-limit",
            },
            Failure::Host {
                kind: "unknown-action",
            },
            Failure::Host { kind: "internal" },
        ];
        for failure in permanent {
            let given = reason(decide(&policy(), &failure, 1, false));
            assert_eq!(
                given,
                format!("not retried: {} is not transient", failure.label())
            );
        }
        assert_eq!(
            reason(decide(&policy(), &Failure::InvalidInput, 1, false)),
            "not retried: invalid-input is not transient"
        );
    }

    #[test]
    fn failures_come_from_report_errors() {
        let error = IntegrationError::RateLimited {
            retry_after_ms: Some(5),
            message: "slow down".into(),
        };
        assert_eq!(
            Failure::from(&error),
            Failure::RateLimited {
                retry_after_ms: Some(5)
            }
        );
        let error = IntegrationError::Upstream {
            status: 502,
            message: "bad gateway".into(),
        };
        assert_eq!(Failure::from(&error), Failure::Upstream { status: 502 });
        let host = HostError::Timeout("deadline".into());
        assert_eq!(Failure::from(&host), Failure::Host { kind: "timeout" });
    }
}
