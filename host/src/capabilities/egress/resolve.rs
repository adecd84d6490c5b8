//! Name resolution: the [`Resolve`] trait, the system resolver and the
//! operator's explicit [`HostOverride`]s.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use async_trait::async_trait;
use serde::Deserialize;
use workway_registry::hosts::is_host_name;

/// Turns a host name into addresses. The broker checks every address it
/// gets and then connects to one of exactly those, so there is no second
/// lookup an attacker's DNS could answer differently.
#[async_trait]
pub trait Resolve: Send + Sync {
    /// The addresses of `host` (a DNS name, never an IP literal); `port` is
    /// given for resolvers that care.
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<IpAddr>>;
}

/// The operating system's resolver, through `tokio::net::lookup_host`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> io::Result<Vec<IpAddr>> {
        let addresses = tokio::net::lookup_host((host, port)).await?;
        Ok(addresses.map(|a| a.ip()).collect())
    }
}

/// One explicit name-to-address mapping, written
/// `api.slack.com:443=127.0.0.1:38291` (or `api.slack.com=127.0.0.1:38291`
/// for any port). A host with an override is connected to that address
/// without resolution and without the address checks: this is the only
/// way a named host reaches a loopback or private address (tests, special
/// deployments).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct HostOverride {
    /// The host name, lower-case, without a trailing dot.
    pub host: String,
    /// The port it applies to; `None` for every port.
    pub port: Option<u16>,
    /// Where to connect instead.
    pub address: SocketAddr,
}

/// Why an override is not well-formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("override `{text}`: {reason} (write it as `api.example.com:443=127.0.0.1:8443`)")]
pub struct OverrideError {
    /// The override as written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl HostOverride {
    /// Whether this override applies to `host` (normalised) and `port`.
    pub fn applies_to(&self, host: &str, port: u16) -> bool {
        self.host == host && self.port.is_none_or(|p| p == port)
    }
}

impl FromStr for HostOverride {
    type Err = OverrideError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| OverrideError {
            text: text.to_string(),
            reason,
        };
        let (name, address) = text
            .split_once('=')
            .ok_or_else(|| fail("no `=` between the host and the address".into()))?;
        let address: SocketAddr = address.trim().parse().map_err(|_| {
            fail(format!(
                "`{}` is not an address with a port",
                address.trim()
            ))
        })?;
        let name = name.trim();
        let (host, port) = match name.rsplit_once(':') {
            Some((host, port)) => {
                let port = port
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| fail(format!("`{port}` is not a port")))?;
                (host, Some(port))
            }
            None => (name, None),
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.parse::<IpAddr>().is_ok() || host.starts_with('[') {
            return Err(fail(
                "the left side must be a host name, not an IP address".into(),
            ));
        }
        if !is_host_name(&host) {
            return Err(fail(format!("`{host}` is not a host name")));
        }
        Ok(HostOverride {
            host,
            port,
            address,
        })
    }
}

impl TryFrom<String> for HostOverride {
    type Error = OverrideError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl fmt::Display for HostOverride {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "={}", self.address)
    }
}

/// The override for `host:port`: one naming the port wins over one for
/// every port.
pub(crate) fn find_override<'a>(
    overrides: &'a [HostOverride],
    host: &str,
    port: u16,
) -> Option<&'a HostOverride> {
    overrides
        .iter()
        .find(|o| o.port == Some(port) && o.applies_to(host, port))
        .or_else(|| {
            overrides
                .iter()
                .find(|o| o.port.is_none() && o.applies_to(host, port))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_with_and_without_port() {
        let o: HostOverride = "API.Slack.com.:443=127.0.0.1:38291".parse().expect("valid");
        assert_eq!(o.host, "api.slack.com");
        assert_eq!(o.port, Some(443));
        assert_eq!(o.address, "127.0.0.1:38291".parse().expect("addr"));
        assert_eq!(o.to_string(), "api.slack.com:443=127.0.0.1:38291");
        assert!(o.applies_to("api.slack.com", 443));
        assert!(!o.applies_to("api.slack.com", 80));

        let any: HostOverride = "mock.test=[::1]:8080".parse().expect("valid");
        assert_eq!(any.port, None);
        assert!(any.applies_to("mock.test", 1));
        assert_eq!(any.to_string(), "mock.test=[::1]:8080");
    }

    #[test]
    fn malformed_overrides_say_what_is_wrong() {
        for (text, needle) in [
            ("api.slack.com", "no `=`"),
            ("api.slack.com=127.0.0.1", "not an address with a port"),
            ("api.slack.com:x=127.0.0.1:1", "not a port"),
            ("127.0.0.1:80=127.0.0.1:1", "not an IP address"),
            ("[::1]:80=127.0.0.1:1", "not an IP address"),
            ("bad host:80=127.0.0.1:1", "not a host name"),
        ] {
            let err = text.parse::<HostOverride>().expect_err(text).to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn port_specific_overrides_win() {
        let overrides: Vec<HostOverride> = ["a.test=127.0.0.1:1", "a.test:443=127.0.0.1:2"]
            .iter()
            .map(|t| t.parse().expect("valid"))
            .collect();
        let hit = find_override(&overrides, "a.test", 443).expect("found");
        assert_eq!(hit.address.port(), 2);
        let hit = find_override(&overrides, "a.test", 80).expect("found");
        assert_eq!(hit.address.port(), 1);
        assert!(find_override(&overrides, "b.test", 80).is_none());
    }
}
