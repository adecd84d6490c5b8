//! Where a command finds its server and API token: `--server` and
//! `WORKWAY_TOKEN` when given, else the credentials `workway login`
//! stored in the user's config folder (`$XDG_CONFIG_HOME/workway/
//! credentials.json`, mode 0600, replaced atomically). A stored token is
//! sent only to the server it was made by.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use url::Url;

/// Which server the API commands talk to, and with which token.
#[derive(Debug, Clone, Default, Args)]
pub struct ServerOptions {
    /// The Workway server's URL [default: the one `workway login` stored].
    #[arg(long, global = true, env = "WORKWAY_SERVER", value_name = "URL")]
    pub server: Option<String>,

    /// An API token to act with instead of the stored one (`wwk_...`).
    #[arg(
        long = "api-token",
        global = true,
        env = "WORKWAY_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub api_token: Option<String>,

    /// The file `workway login` keeps the token in
    /// [default: $XDG_CONFIG_HOME/workway/credentials.json or ~/.config/workway/credentials.json].
    #[arg(long, global = true, env = "WORKWAY_CREDENTIALS", value_name = "FILE")]
    pub credentials: Option<PathBuf>,
}

/// What `workway login` keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// The server the token was made by.
    pub server: String,
    /// The API token.
    pub token: String,
    /// The token's id (for `workway logout`, which revokes it).
    pub token_id: String,
    /// Whose token it is.
    pub email: String,
}

impl ServerOptions {
    /// The credentials file.
    pub fn credentials_path(&self) -> anyhow::Result<PathBuf> {
        if let Some(path) = &self.credentials {
            return Ok(path.clone());
        }
        std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .map(|base| base.join("workway").join("credentials.json"))
            .context("no config folder for the credentials: set WORKWAY_CREDENTIALS (or HOME)")
    }

    /// The stored credentials, if there are any.
    pub fn stored(&self) -> anyhow::Result<Option<Credentials>> {
        let path = self.credentials_path()?;
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        serde_json::from_str(&text).map(Some).with_context(|| {
            format!(
                "{} is damaged; sign in again with `workway login --server URL`",
                path.display()
            )
        })
    }

    /// The server and token to act with.
    pub fn resolve(&self) -> anyhow::Result<(Url, String)> {
        let stored = self.stored()?;
        let server = match (&self.server, &stored) {
            (Some(server), _) => server_url(server)?,
            (None, Some(stored)) => server_url(&stored.server)?,
            (None, None) => bail!(
                "not signed in: run `workway login --server URL` first (or set WORKWAY_SERVER and WORKWAY_TOKEN)"
            ),
        };
        if let Some(token) = self.api_token.as_deref().filter(|t| !t.trim().is_empty()) {
            return Ok((server, token.trim().to_string()));
        }
        match stored {
            // A token goes only to the server that made it.
            Some(stored) if server_url(&stored.server)? == server => Ok((server, stored.token)),
            Some(stored) => bail!(
                "the stored token is for {}, not {server}: run `workway login --server {server}` (or set WORKWAY_TOKEN)",
                stored.server
            ),
            None => bail!(
                "not signed in to {server}: run `workway login --server {server}` (or set WORKWAY_TOKEN)"
            ),
        }
    }
}

/// `text` as a server URL: http(s), no credentials, query or fragment;
/// plain http only to this machine, so a token never crosses a network
/// in the clear.
pub fn server_url(text: &str) -> anyhow::Result<Url> {
    let mut url = Url::parse(text.trim()).with_context(|| {
        format!("`{text}` is not a server URL; give one like https://workway.example.com")
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        bail!("the server URL `{text}` carries a user name or password; leave them out");
    }
    if url.query().is_some() || url.fragment().is_some() {
        bail!("the server URL `{text}` has a query or fragment; give the server's base URL");
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => bail!("the server URL `{text}` names no host"),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => bail!(
            "the server URL `{text}` is plain http to another machine, which would send the token in the clear; use https://"
        ),
        other => bail!(
            "the server URL `{text}` has scheme `{other}`; use https:// (or http:// to this machine)"
        ),
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Store `credentials` in `path`, readable only by the user, replacing
/// what was there in one step (never a half-written file).
pub fn store(path: &Path, credentials: &Credentials) -> anyhow::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // tempfile makes its files readable by their owner only (0600).
    let mut file = tempfile::Builder::new()
        .prefix(".credentials")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let text = serde_json::to_string_pretty(credentials)?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    file.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Remove the stored credentials (nothing to do when there are none).
pub fn forget(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_for_this_machine_only() {
        assert_eq!(
            server_url("http://127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080/"
        );
        assert!(server_url("http://localhost:8080/").is_ok());
        assert!(server_url("http://[::1]:8080/").is_ok());
        assert!(server_url("https://workway.example.com/base").is_ok());
        let refused = server_url("http://workway.example.com").unwrap_err();
        assert!(refused.to_string().contains("in the clear"), "{refused}");
        assert!(server_url("ftp://127.0.0.1").is_err());
        assert!(server_url("https://user:pw@example.com").is_err());
        assert!(server_url("not a url").is_err());
    }

    #[test]
    fn stored_credentials_are_private_and_go_only_to_their_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("credentials.json");
        let credentials = Credentials {
            server: "http://127.0.0.1:9/".into(),
            token: "wwk_secret".into(),
            token_id: "t1".into(),
            email: "a@example.com".into(),
        };
        store(&path, &credentials).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let options = ServerOptions {
            credentials: Some(path.clone()),
            ..ServerOptions::default()
        };
        let (server, token) = options.resolve().unwrap();
        assert_eq!(
            (server.as_str(), token.as_str()),
            ("http://127.0.0.1:9/", "wwk_secret")
        );
        let elsewhere = ServerOptions {
            server: Some("https://other.example.com".into()),
            ..options.clone()
        };
        let refused = elsewhere.resolve().unwrap_err().to_string();
        assert!(
            refused.contains("not https://other.example.com/"),
            "{refused}"
        );
        assert!(!refused.contains("wwk_secret"));
        forget(&path).unwrap();
        forget(&path).unwrap();
        assert!(options.stored().unwrap().is_none());
    }
}
