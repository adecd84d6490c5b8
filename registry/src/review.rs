//! What a review sees and signs: the sandbox's inspection of a component,
//! the review report, the fingerprint of what a reviewer was shown, and
//! how a new version's capabilities differ from the last approved one.
//!
//! Pure data and checks: the submissions and their state machine live in
//! the engine (`workway_engine::review`), which enforces, whatever the
//! reviewer list says:
//! - an approval signs what the reviewer was shown ([`Reviewed`]): the
//!   artifact is read and inspected again at approval, and any difference
//!   from the report refuses the approval;
//! - the submitter of a version never approves it;
//! - a name belongs to the submitter of its first approved version; another
//!   publisher's version of it is refused at submission (and at approval);
//! - a revocation is signed and numbered by the database, never dated by a
//!   machine's clock, so hosts detect one that was edited or deleted.
//!
//! The registry does not run components itself: a [`Sandbox`] (the host's
//! runtime) inspects them and runs their declared examples with no network.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::approval::manifest_sha256;
use crate::crosscheck::{ActionDescription, IntegrationDescription};
use crate::digest::Digest;
use crate::manifest::{Manifest, SandboxLimits};

/// What a sandbox learned by loading a component.
#[derive(Debug, Clone)]
pub struct Inspection {
    /// Every import, as the component spells it.
    pub imports: Vec<String>,
    /// The imports linked to nothing (a filesystem with no directories, a
    /// network with no addresses): present so a toolchain's runtime starts,
    /// granting nothing.
    pub inert_imports: Vec<String>,
    /// The toolchain that built it, as far as the component says
    /// (`workway-sdk 0.1.0`, `componentize-py 0.25.1`).
    pub toolkit: String,
    /// The sandbox limits its executions run under, every field set.
    pub limits: SandboxLimits,
    /// The `workway:plugin` contract version it targets.
    pub contract_version: String,
    /// What `describe()` returned.
    pub description: IntegrationDescription,
    /// Fuel `describe()` used.
    pub describe_fuel: u64,
}

/// One declared example, run in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleRun {
    /// Guest fuel used.
    pub fuel: u64,
    /// `ok`, or the typed error it ended with.
    pub outcome: String,
}

/// The runtime the registry validates components with.
#[async_trait]
pub trait Sandbox: Send + Sync {
    /// Load `component` under the sandbox `limits` its manifest asks for:
    /// check its imports and contract version, compile it, and run
    /// `describe()`. The reasons it is refused otherwise.
    async fn inspect(
        &self,
        component: &[u8],
        limits: &SandboxLimits,
    ) -> Result<Inspection, Vec<String>>;

    /// Run `action` on `input` with no network: every request is refused,
    /// or answered from `replay` (a replay file's JSON) when given.
    async fn run_example(
        &self,
        component: &[u8],
        limits: &SandboxLimits,
        action: &str,
        input: &serde_json::Value,
        replay: Option<&str>,
    ) -> ExampleRun;
}

/// A submission as a developer sends it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The component's bytes.
    pub component: Vec<u8>,
    /// The manifest's text (`workway.toml`).
    pub manifest: String,
    /// A replay file's JSON for running the examples offline, if any.
    pub replay: Option<String>,
    /// Who submits.
    pub submitted_by: String,
}

/// How the capabilities changed since the previous approved version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityDiff {
    /// The version compared with.
    pub previous_version: String,
    /// Hosts the new version adds.
    pub hosts_added: Vec<String>,
    /// Hosts it no longer calls.
    pub hosts_removed: Vec<String>,
    /// Scopes it adds, as `provider: scope`.
    pub scopes_added: Vec<String>,
    /// Scopes it drops, as `provider: scope`.
    pub scopes_removed: Vec<String>,
}

impl CapabilityDiff {
    /// Whether the new version asks for nothing new.
    pub fn widens(&self) -> bool {
        !self.hosts_added.is_empty() || !self.scopes_added.is_empty()
    }
}

/// What a reviewer was shown of a submission, carried into the approval:
/// the host re-derives the same from the stored artifact and manifest and
/// refuses to sign when anything differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewed {
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// The component's digest.
    pub digest: Digest,
    /// The hex sha256 of the manifest's text.
    pub manifest_sha256: String,
    /// The outbound hosts.
    pub hosts: Vec<String>,
    /// The OAuth scopes, by provider.
    pub scopes: BTreeMap<String, Vec<String>>,
}

impl Reviewed {
    /// What `manifest` (whose text is `text`) and the component with
    /// `digest` amount to.
    pub fn derive(manifest: &Manifest, text: &str, digest: Digest) -> Self {
        Reviewed {
            integration: manifest.name.clone(),
            version: manifest.version.clone(),
            digest,
            manifest_sha256: manifest_sha256(text),
            hosts: manifest.http.hosts.clone(),
            scopes: scopes_of(manifest),
        }
    }

    /// A short code naming exactly this (32 hex digits of a sha256 over it):
    /// `review show` prints it and `review approve --reviewed` takes it
    /// back, so the approval is of what the reviewer read.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"workway-reviewed-v1\n");
        // Serializing strings and maps cannot fail.
        hasher.update(serde_json::to_vec(self).unwrap_or_default());
        hex::encode(&hasher.finalize()[..16])
    }

    /// Each way `now` differs from what was shown, as sentences.
    pub fn differences(&self, now: &Reviewed) -> Vec<String> {
        let mut out = Vec::new();
        let mut differ = |what: &str, shown: String, actual: String| {
            if shown != actual {
                out.push(format!("{what} is now {actual}, not {shown} as shown"));
            }
        };
        differ(
            "the integration",
            self.integration.clone(),
            now.integration.clone(),
        );
        differ("the version", self.version.clone(), now.version.clone());
        differ(
            "the component's digest",
            self.digest.to_string(),
            now.digest.to_string(),
        );
        differ(
            "the manifest's sha256",
            self.manifest_sha256.clone(),
            now.manifest_sha256.clone(),
        );
        differ(
            "the hosts",
            format!("[{}]", self.hosts.join(", ")),
            format!("[{}]", now.hosts.join(", ")),
        );
        differ(
            "the scopes",
            format!("{:?}", self.scopes),
            format!("{:?}", now.scopes),
        );
        out
    }
}

/// What a reviewer sees for one submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewReport {
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// The component's digest.
    pub digest: Digest,
    /// The hex sha256 of the manifest's text (empty in reports stored
    /// before it was recorded: such a submission cannot be approved).
    #[serde(default)]
    pub manifest_sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The contract version it targets.
    pub contract_version: String,
    /// Everything it imports.
    pub imports: Vec<String>,
    /// The imports linked but inert: a filesystem with no directories, a
    /// network with no addresses (empty in reports stored before it was
    /// recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inert_imports: Vec<String>,
    /// The toolchain that built the component, as far as it says (empty in
    /// reports stored before it was recorded).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub toolkit: String,
    /// The sandbox limits its executions run under: the platform's defaults
    /// raised where the manifest's `[limits]` asks (all unset in reports
    /// stored before they were recorded).
    #[serde(default, skip_serializing_if = "SandboxLimits::is_default")]
    pub limits: SandboxLimits,
    /// The outbound hosts it declares.
    pub hosts: Vec<String>,
    /// The OAuth scopes it asks for, by provider.
    pub scopes: BTreeMap<String, Vec<String>>,
    /// The change since the previous approved version, if there is one.
    pub since_previous: Option<CapabilityDiff>,
    /// Fuel `describe()` used.
    pub describe_fuel: u64,
    /// Each action's example, run with no network (actions without an
    /// example are absent).
    pub examples: BTreeMap<String, ExampleRun>,
    /// Each action as `describe()` reported it, with its input and output
    /// schemas: what the marketplace shows without loading the component
    /// (empty in reports stored before it was recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionDescription>,
}

impl ReviewReport {
    /// The parts of the report an approval must match.
    pub fn reviewed(&self) -> Reviewed {
        Reviewed {
            integration: self.integration.clone(),
            version: self.version.clone(),
            digest: self.digest,
            manifest_sha256: self.manifest_sha256.clone(),
            hosts: self.hosts.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

/// The OAuth scopes a manifest asks for, per provider.
pub fn scopes_of(manifest: &Manifest) -> BTreeMap<String, Vec<String>> {
    manifest
        .oauth
        .iter()
        .map(|(p, r)| (p.clone(), r.scopes.clone()))
        .collect()
}

/// What `next` asks for that `previous` did not, and the reverse.
pub fn diff(previous: &Manifest, next: &Manifest) -> CapabilityDiff {
    let hosts = |m: &Manifest| m.http.hosts.iter().cloned().collect::<BTreeSet<_>>();
    let scopes = |m: &Manifest| {
        m.oauth
            .iter()
            .flat_map(|(p, r)| r.scopes.iter().map(move |s| format!("{p}: {s}")))
            .collect::<BTreeSet<_>>()
    };
    let (h0, h1) = (hosts(previous), hosts(next));
    let (s0, s1) = (scopes(previous), scopes(next));
    CapabilityDiff {
        previous_version: previous.version.clone(),
        hosts_added: h1.difference(&h0).cloned().collect(),
        hosts_removed: h0.difference(&h1).cloned().collect(),
        scopes_added: s1.difference(&s0).cloned().collect(),
        scopes_removed: s0.difference(&s1).cloned().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_names_what_widens() {
        let base = r#"
name = "slack"
version = "0.1.0"
publisher = "p"
description = "d"
[actions.a]
description = "a"
[oauth.slack]
scopes = ["chat:write"]
[http]
hosts = ["https://slack.com"]
"#;
        let previous = Manifest::from_toml(base).expect("valid");
        let next = Manifest::from_toml(
            &base
                .replace("0.1.0", "0.2.0")
                .replace(
                    "\"https://slack.com\"",
                    "\"https://slack.com\", \"https://files.slack.com\"",
                )
                .replace("[\"chat:write\"]", "[\"chat:write\", \"users:read\"]"),
        )
        .expect("valid");
        let d = diff(&previous, &next);
        assert_eq!(d.previous_version, "0.1.0");
        assert_eq!(d.hosts_added, ["https://files.slack.com"]);
        assert_eq!(d.scopes_added, ["slack: users:read"]);
        assert!(d.widens());
        assert!(!diff(&next, &previous).widens());
    }
}
