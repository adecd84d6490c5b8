//! Outbound host patterns as a manifest declares them:
//! `https://api.slack.com`, `https://*.googleapis.com`, `http://localhost:8080`.

use std::fmt;
use std::str::FromStr;

/// One entry of a manifest's `http.hosts`: an explicit scheme, a host name
/// (optionally a `*.` wildcard for any subdomain) and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostPattern {
    /// `https` or `http`.
    pub scheme: String,
    /// The host name without the wildcard prefix, lower-case.
    pub host: String,
    /// Whether the pattern matches any subdomain of `host` (but not `host` itself).
    pub wildcard: bool,
    /// The port; the scheme's default when the pattern names none.
    pub port: u16,
}

/// Why a host pattern is not well-formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostPatternError {
    /// The pattern has no `scheme://`.
    #[error("`{0}` has no scheme: write it as `https://{0}`")]
    MissingScheme(String),
    /// The scheme is neither https nor http.
    #[error("`{0}` uses scheme `{1}`: only `https` and `http` are allowed")]
    BadScheme(String, String),
    /// A path, query or credentials were given.
    #[error("`{0}` must be only scheme, host and optional port (no path, query or user)")]
    NotJustAHost(String),
    /// The host part is empty or has characters a DNS name cannot have.
    #[error("`{0}` has an invalid host name `{1}`")]
    BadHost(String, String),
    /// The port is not a number from 1 to 65535.
    #[error("`{0}` has an invalid port `{1}`")]
    BadPort(String, String),
}

impl HostPattern {
    /// Whether a request to `scheme://host:port` matches this pattern.
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
            && self.port == port
            && host_matches(&self.host, self.wildcard, host)
    }
}

/// Whether `host` (any case, a trailing dot allowed) is `base` itself or,
/// with `wildcard`, any subdomain of `base` (but not `base` itself).
/// `base` is lower-case without a trailing dot.
pub fn host_matches(base: &str, wildcard: bool, host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if wildcard {
        host.len() > base.len() + 1
            && host.ends_with(base)
            && host.as_bytes()[host.len() - base.len() - 1] == b'.'
    } else {
        host == base
    }
}

/// Whether `host` is a well-formed DNS host name: dot-separated labels of
/// letters, digits and inner hyphens, 63 bytes each, 253 in all.
pub fn is_host_name(host: &str) -> bool {
    !host.is_empty() && host.len() <= 253 && host.split('.').all(valid_label)
}

fn default_port(scheme: &str) -> u16 {
    if scheme == "http" { 80 } else { 443 }
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !label.starts_with('-')
        && !label.ends_with('-')
}

impl FromStr for HostPattern {
    type Err = HostPatternError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let original = text.to_string();
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| HostPatternError::MissingScheme(original.clone()))?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "https" && scheme != "http" {
            return Err(HostPatternError::BadScheme(original, scheme));
        }
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(HostPatternError::NotJustAHost(original));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => {
                let port: u16 = port
                    .parse()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| HostPatternError::BadPort(original.clone(), port.into()))?;
                (host, port)
            }
            None => (rest, default_port(&scheme)),
        };
        let host = host.to_ascii_lowercase();
        let (wildcard, bare) = match host.strip_prefix("*.") {
            Some(bare) => (true, bare.to_string()),
            None => (false, host.clone()),
        };
        if !is_host_name(&bare) {
            return Err(HostPatternError::BadHost(original, host));
        }
        if wildcard && !bare.contains('.') {
            return Err(HostPatternError::BadHost(original, host));
        }
        Ok(HostPattern {
            scheme,
            host: bare,
            wildcard,
            port,
        })
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wildcard = if self.wildcard { "*." } else { "" };
        write!(f, "{}://{}{}", self.scheme, wildcard, self.host)?;
        if self.port != default_port(&self.scheme) {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(text: &str) -> HostPattern {
        text.parse().expect("valid pattern")
    }

    #[test]
    fn exact_hosts_match_scheme_host_and_port() {
        let p = pattern("https://api.slack.com");
        assert!(p.matches("https", "api.slack.com", 443));
        assert!(p.matches("https", "API.Slack.com.", 443));
        assert!(!p.matches("http", "api.slack.com", 443));
        assert!(!p.matches("https", "api.slack.com", 8443));
        assert!(!p.matches("https", "evil-api.slack.com", 443));
    }

    #[test]
    fn wildcards_match_subdomains_only() {
        let p = pattern("https://*.googleapis.com");
        assert!(p.matches("https", "gmail.googleapis.com", 443));
        assert!(p.matches("https", "a.b.googleapis.com", 443));
        assert!(!p.matches("https", "googleapis.com", 443));
        assert!(!p.matches("https", "evilgoogleapis.com", 443));
        assert_eq!(p.to_string(), "https://*.googleapis.com");
    }

    #[test]
    fn malformed_patterns_say_what_is_wrong() {
        assert!(matches!(
            "api.slack.com".parse::<HostPattern>(),
            Err(HostPatternError::MissingScheme(_))
        ));
        assert!(matches!(
            "ftp://x.com".parse::<HostPattern>(),
            Err(HostPatternError::BadScheme(..))
        ));
        assert!(matches!(
            "https://x.com/path".parse::<HostPattern>(),
            Err(HostPatternError::NotJustAHost(_))
        ));
        assert!(matches!(
            "https://x.com:0".parse::<HostPattern>(),
            Err(HostPatternError::BadPort(..))
        ));
        assert!(matches!(
            "https://*.com".parse::<HostPattern>(),
            Err(HostPatternError::BadHost(..))
        ));
        assert!(matches!(
            "https://bad_host.com".parse::<HostPattern>(),
            Err(HostPatternError::BadHost(..))
        ));
    }

    #[test]
    fn explicit_ports_are_kept() {
        let p = pattern("http://localhost:8080");
        assert!(p.matches("http", "localhost", 8080));
        assert_eq!(p.to_string(), "http://localhost:8080");
    }
}
