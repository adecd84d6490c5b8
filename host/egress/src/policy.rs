//! The checks a URL must pass before anything is resolved or connected:
//! the platform policy (allowed schemes, denied hosts), the integration's
//! approved hosts, credentials in URLs and IP-literal hosts.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use url::{Host, Url};
use workway_registry::hosts::{HostPattern, host_matches, is_host_name};

use super::address::{self, Refusal};

/// The host of a URL, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TargetHost {
    /// A DNS name: lower-case, no trailing dot.
    Name(String),
    /// An IP literal.
    Ip(IpAddr),
}

/// Where a URL points: scheme, host and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `https` or `http` (lower-case).
    pub scheme: String,
    /// The host.
    pub host: TargetHost,
    /// The port, the scheme's default when the URL names none.
    pub port: u16,
}

/// Why a URL has no [`Target`]; the message names the URL (as [`shown`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TargetError {
    /// The URL names no host.
    #[error("`{url}` has no host")]
    NoHost {
        /// The URL, without userinfo or query.
        url: String,
    },
    /// The URL names no port and its scheme has no default one.
    #[error("`{url}` has no port")]
    NoPort {
        /// The URL, without userinfo or query.
        url: String,
    },
}

/// Why the platform policy refuses a URL; the message names the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PolicyRefusal {
    /// The scheme is not among the platform's allowed schemes.
    #[error(
        "`{url}` uses scheme `{scheme}`, which the platform policy does not allow (allowed: {})",
        .allowed.join(", ")
    )]
    Scheme {
        /// The URL, without userinfo or query.
        url: String,
        /// The scheme it uses.
        scheme: String,
        /// The schemes the platform allows.
        allowed: Vec<String>,
    },
    /// The host matches one of the platform's denied hosts.
    #[error("`{url}` is refused: host `{host}` is denied by the platform policy (`{denied}`)")]
    DeniedHost {
        /// The URL, without userinfo or query.
        url: String,
        /// The host, as [`Target::host_text`] spells it.
        host: String,
        /// The entry that denies it.
        denied: DeniedHost,
    },
}

/// Why a URL may not be requested at all: the reason for
/// `BrokerError::Denied`. The message names the URL and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UrlRefusal {
    /// The URL carries `user:password@`.
    #[error("`{url}` carries credentials in the URL (`user:password@`); such URLs are refused")]
    Credentials {
        /// The URL, without userinfo or query.
        url: String,
    },
    /// The URL has no target.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The host is an IP literal a plugin may not reach.
    #[error("`{url}` names {ip}, {refusal}; requests to such addresses are refused")]
    Address {
        /// The URL, without userinfo or query.
        url: String,
        /// The address it names.
        ip: IpAddr,
        /// Why that address is refused.
        refusal: Refusal,
    },
    /// The platform policy refuses the URL.
    #[error(transparent)]
    Policy(#[from] PolicyRefusal),
    /// No approved host pattern matches the URL.
    #[error("`{url}` is not among this integration's approved hosts ({})", list(.approved))]
    NotApproved {
        /// The URL, without userinfo or query.
        url: String,
        /// The integration's approved hosts.
        approved: Vec<HostPattern>,
    },
}

impl Target {
    /// The target of `url`, or why it has none.
    pub fn of(url: &Url) -> Result<Target, TargetError> {
        let host = match url.host() {
            Some(Host::Domain(name)) => {
                TargetHost::Name(name.trim_end_matches('.').to_ascii_lowercase())
            }
            Some(Host::Ipv4(ip)) => TargetHost::Ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => TargetHost::Ip(IpAddr::V6(ip)),
            None => return Err(TargetError::NoHost { url: shown(url) }),
        };
        let port = url
            .port_or_known_default()
            .ok_or_else(|| TargetError::NoPort { url: shown(url) })?;
        Ok(Target {
            scheme: url.scheme().to_ascii_lowercase(),
            host,
            port,
        })
    }

    /// The host as patterns and messages spell it (`api.slack.com`, `10.0.0.1`, `::1`).
    pub fn host_text(&self) -> String {
        match &self.host {
            TargetHost::Name(name) => name.clone(),
            TargetHost::Ip(ip) => ip.to_string(),
        }
    }

    /// Whether `pattern` matches this target.
    pub fn matches(&self, pattern: &HostPattern) -> bool {
        pattern.matches(&self.scheme, &self.host_text(), self.port)
    }
}

/// `url` without userinfo, query or fragment, for messages and logs: the
/// query may carry secrets.
pub fn shown(url: &Url) -> String {
    let mut text = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        text.push_str(host);
    }
    if let Some(port) = url.port() {
        text.push_str(&format!(":{port}"));
    }
    text.push_str(url.path());
    text
}

/// `patterns` as a list for messages: `https://api.slack.com, https://*.googleapis.com`.
pub fn list(patterns: &[HostPattern]) -> String {
    if patterns.is_empty() {
        return "none".into();
    }
    patterns
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A host the platform never lets a plugin reach, whatever its manifest
/// says. Written as a bare host (`metadata.google.internal`, `*.internal`:
/// every scheme and port), `host:port` (every scheme) or a full pattern
/// (`http://metadata:8080`: that scheme and port only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeniedHost {
    scheme: Option<String>,
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

/// Why a denied-host entry is not well-formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("denied host `{text}`: {reason}")]
pub struct DeniedHostError {
    /// The entry as written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl DeniedHost {
    /// Whether a request to `scheme://host:port` is denied by this entry.
    pub fn matches(&self, scheme: &str, host: &str, port: u16) -> bool {
        if self
            .scheme
            .as_deref()
            .is_some_and(|s| !s.eq_ignore_ascii_case(scheme))
            || self.port.is_some_and(|p| p != port)
        {
            return false;
        }
        host_matches(&self.host, self.wildcard, host)
    }
}

impl FromStr for DeniedHost {
    type Err = DeniedHostError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| DeniedHostError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text.trim();
        let (scheme, rest) = match rest.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = scheme.to_ascii_lowercase();
                if scheme != "https" && scheme != "http" {
                    return Err(fail("the scheme must be `https` or `http`"));
                }
                (Some(scheme), rest)
            }
            None => (None, rest),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(fail("write only a host, with an optional scheme and port"));
        }
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => {
                let port = port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| fail("the port must be a number from 1 to 65535"))?;
                (host, Some(port))
            }
            // A full pattern names its scheme's default port.
            None => (
                rest,
                scheme
                    .as_deref()
                    .map(|s| if s == "http" { 80 } else { 443 }),
            ),
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let (wildcard, host) = match host.strip_prefix("*.") {
            Some(bare) => (true, bare.to_string()),
            None => (false, host),
        };
        if !is_host_name(&host) {
            return Err(fail("not a valid host name"));
        }
        Ok(DeniedHost {
            scheme,
            host,
            wildcard,
            port,
        })
    }
}

impl fmt::Display for DeniedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(scheme) = &self.scheme {
            write!(f, "{scheme}://")?;
        }
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        Ok(())
    }
}

/// The platform's own rules, applied on top of every manifest.
#[derive(Debug, Clone)]
pub struct PlatformPolicy {
    /// Schemes a request may use (lower-case).
    pub allowed_schemes: Vec<String>,
    /// Hosts no request may reach.
    pub denied_hosts: Vec<DeniedHost>,
}

impl PlatformPolicy {
    /// Refuse `url` (pointing at `target`) unless the platform allows it.
    /// The reason names the URL and what is wrong.
    pub(crate) fn check(&self, url: &Url, target: &Target) -> Result<(), PolicyRefusal> {
        if !self
            .allowed_schemes
            .iter()
            .any(|s| s.eq_ignore_ascii_case(&target.scheme))
        {
            return Err(PolicyRefusal::Scheme {
                url: shown(url),
                scheme: target.scheme.clone(),
                allowed: self.allowed_schemes.clone(),
            });
        }
        let host = target.host_text();
        if let Some(denied) = self
            .denied_hosts
            .iter()
            .find(|d| d.matches(&target.scheme, &host, target.port))
        {
            return Err(PolicyRefusal::DeniedHost {
                url: shown(url),
                host,
                denied: denied.clone(),
            });
        }
        Ok(())
    }
}

/// Everything checked about a URL before it is resolved, in order:
/// credentials in the URL, IP-literal hosts (by address, whatever the
/// patterns say), the platform policy (schemes, denied hosts), then the
/// integration's approved hosts. The error is the reason for `Denied`.
pub(crate) fn check_url(
    url: &Url,
    policy: &PlatformPolicy,
    approved: &[HostPattern],
) -> Result<Target, UrlRefusal> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefusal::Credentials { url: shown(url) });
    }
    let target = Target::of(url)?;
    if let TargetHost::Ip(ip) = target.host
        && let Some(refusal) = address::refusal(ip)
    {
        return Err(UrlRefusal::Address {
            url: shown(url),
            ip,
            refusal,
        });
    }
    policy.check(url, &target)?;
    if !approved.iter().any(|p| target.matches(p)) {
        return Err(UrlRefusal::NotApproved {
            url: shown(url),
            approved: approved.to_vec(),
        });
    }
    Ok(target)
}

/// The platform's default denied hosts: the cloud metadata names.
pub fn default_denied_hosts() -> Vec<String> {
    [
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("a URL")
    }

    fn policy() -> PlatformPolicy {
        PlatformPolicy {
            allowed_schemes: vec!["https".into(), "http".into()],
            denied_hosts: default_denied_hosts()
                .iter()
                .map(|d| d.parse().expect("valid"))
                .collect(),
        }
    }

    fn approved(patterns: &[&str]) -> Vec<HostPattern> {
        patterns
            .iter()
            .map(|p| p.parse().expect("pattern"))
            .collect()
    }

    #[test]
    fn denied_hosts_parse_in_three_forms() {
        let bare: DeniedHost = "metadata.google.internal".parse().expect("valid");
        assert!(bare.matches("http", "metadata.google.internal", 80));
        assert!(bare.matches("https", "METADATA.google.internal.", 8443));
        assert!(!bare.matches("http", "x.metadata.google.internal", 80));

        let wildcard: DeniedHost = "*.internal".parse().expect("valid");
        assert!(wildcard.matches("https", "a.b.internal", 1));
        assert!(!wildcard.matches("https", "internal", 1));
        assert_eq!(wildcard.to_string(), "*.internal");

        let with_port: DeniedHost = "metadata:8080".parse().expect("valid");
        assert!(with_port.matches("https", "metadata", 8080));
        assert!(!with_port.matches("https", "metadata", 80));

        let full: DeniedHost = "http://metadata".parse().expect("valid");
        assert!(full.matches("http", "metadata", 80));
        assert!(!full.matches("https", "metadata", 443));
        assert_eq!(full.to_string(), "http://metadata:80");

        assert!("bad host".parse::<DeniedHost>().is_err());
    }

    #[test]
    fn approved_hosts_and_policy_are_both_required() {
        let patterns = approved(&["https://api.slack.com", "http://metadata"]);
        let ok = check_url(
            &url("https://api.slack.com/api/x?token=s"),
            &policy(),
            &patterns,
        )
        .expect("allowed");
        assert_eq!(ok.host, TargetHost::Name("api.slack.com".into()));
        assert_eq!(ok.port, 443);

        let other = check_url(&url("https://evil.test/x?q=1"), &policy(), &patterns)
            .expect_err("not approved")
            .to_string();
        assert_eq!(
            other,
            "`https://evil.test/x` is not among this integration's approved hosts \
             (https://api.slack.com, http://metadata)"
        );

        let port = check_url(&url("https://api.slack.com:8443/"), &policy(), &patterns)
            .expect_err("wrong port")
            .to_string();
        assert!(port.contains("not among"), "{port}");

        let denied = check_url(
            &url("http://metadata/computeMetadata"),
            &policy(),
            &patterns,
        )
        .expect_err("denied")
        .to_string();
        assert!(denied.contains("denied by the platform policy"), "{denied}");

        let https_only = PlatformPolicy {
            allowed_schemes: vec!["https".into()],
            ..policy()
        };
        let scheme = check_url(
            &url("http://api.slack.com/"),
            &https_only,
            &approved(&["http://api.slack.com"]),
        )
        .expect_err("scheme")
        .to_string();
        assert!(scheme.contains("scheme `http`"), "{scheme}");
    }

    #[test]
    fn userinfo_and_ip_literals_are_refused() {
        let patterns = approved(&[
            "https://api.slack.com",
            "http://127.0.0.1",
            "http://10.1.2.3",
        ]);
        let userinfo = check_url(&url("https://u:p@api.slack.com/"), &policy(), &patterns)
            .expect_err("userinfo")
            .to_string();
        assert!(userinfo.contains("credentials in the URL"), "{userinfo}");
        assert!(!userinfo.contains("u:p"), "{userinfo}");

        let loopback = check_url(&url("http://127.0.0.1/"), &policy(), &patterns)
            .expect_err("loopback")
            .to_string();
        assert!(
            loopback.contains("127.0.0.1, a loopback address"),
            "{loopback}"
        );

        let private = check_url(&url("http://10.1.2.3/"), &policy(), &patterns)
            .expect_err("private")
            .to_string();
        assert!(private.contains("a private address"), "{private}");

        let hex = check_url(&url("http://0x7f.1/"), &policy(), &patterns)
            .expect_err("hex")
            .to_string();
        assert!(hex.contains("loopback"), "{hex}");
    }

    #[test]
    fn shown_urls_drop_query_fragment_and_userinfo() {
        assert_eq!(
            shown(&url("https://u:p@api.slack.com:8443/a/b?token=x#frag")),
            "https://api.slack.com:8443/a/b"
        );
        assert_eq!(shown(&url("http://[::1]:80/")), "http://[::1]/");
    }
}
