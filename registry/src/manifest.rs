//! The integration manifest (`workway.toml`): what a developer declares and a
//! reviewer approves alongside the component's digest.
//!
//! ```toml
//! name = "example"
//! version = "0.1.0"
//! publisher = "acme"
//! description = "Echoes messages."
//!
//! [actions.echo]
//! description = "Echo a message back."
//! example = { message = "hello" }
//!
//! [oauth.slack]
//! scopes = ["chat:write"]
//!
//! [http]
//! hosts = ["https://slack.com"]
//!
//! [pricing]
//! upfront_cents = 1900
//!
//! [limits]
//! instances = 64
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::hosts::HostPattern;
use crate::scopes::scope_problem;

/// OAuth providers the platform knows how to broker.
pub const KNOWN_PROVIDERS: &[&str] = &["google", "notion", "slack", "stripe"];

/// Providers whose grants carry no scopes: Notion's access is the pages
/// the user picks when connecting, so a manifest declares `scopes = []`.
pub const SCOPELESS_PROVIDERS: &[&str] = &["notion"];

/// Smallest upfront price, in cents ($19).
pub const MIN_UPFRONT_CENTS: u32 = 1_900;
/// Largest upfront price, in cents ($249).
pub const MAX_UPFRONT_CENTS: u32 = 24_900;

/// A parsed, validated manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The integration's name, lower-case kebab-case (`google-sheets`).
    pub name: String,
    /// The integration's version (semver).
    pub version: String,
    /// Who publishes it.
    pub publisher: String,
    /// What it does, for the marketplace listing.
    pub description: String,
    /// The actions it offers, by name.
    #[serde(default)]
    pub actions: BTreeMap<String, ManifestAction>,
    /// OAuth providers it needs, by provider name, with the scopes it asks for.
    #[serde(default)]
    pub oauth: BTreeMap<String, OAuthRequirement>,
    /// The outbound hosts it will call.
    #[serde(default)]
    pub http: HttpRequirement,
    /// Its price.
    #[serde(default)]
    pub pricing: Pricing,
    /// The sandbox limits it needs beyond the platform's defaults.
    #[serde(default, skip_serializing_if = "SandboxLimits::is_default")]
    pub limits: SandboxLimits,
}

/// Most instances (core and component) one execution may ask for.
pub const MAX_INSTANCES: u32 = 200;
/// Largest linear memory one execution may ask for, in MiB.
pub const MAX_MEMORY_MB: u32 = 1024;
/// Largest table one execution may ask for, in elements.
pub const MAX_TABLE_ELEMENTS: u32 = 100_000;

/// Sandbox limits an integration asks for (`[limits]` in its manifest),
/// each within the platform's maximum. A field left out takes the host's
/// default; toolchains that embed an interpreter (CPython, a JS engine)
/// create many core instances and big tables, and ask for them here.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxLimits {
    /// Core and component instances one execution may create (at most [`MAX_INSTANCES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instances: Option<u32>,
    /// Largest linear memory, in MiB (at most [`MAX_MEMORY_MB`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u32>,
    /// Largest table, in elements (at most [`MAX_TABLE_ELEMENTS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table_elements: Option<u32>,
}

impl SandboxLimits {
    /// Whether nothing is asked for.
    pub fn is_default(&self) -> bool {
        *self == SandboxLimits::default()
    }

    /// Every limit asked beyond its maximum (or of zero), as sentences.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |field: &str, value: Option<u32>, max: u32, unit: &str| {
            if let Some(value) = value
                && !(1..=max).contains(&value)
            {
                problems.push(format!(
                    "limits.{field} is {value}: it must be from 1 to {max}{unit}, or left out for the platform's default"
                ));
            }
        };
        check("instances", self.instances, MAX_INSTANCES, "");
        check("memory_mb", self.memory_mb, MAX_MEMORY_MB, " MiB");
        check(
            "table_elements",
            self.table_elements,
            MAX_TABLE_ELEMENTS,
            " elements",
        );
        problems
    }
}

/// One action as the manifest declares it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestAction {
    /// What the action does.
    pub description: String,
    /// An example input (a TOML table, read as JSON), run by `workway plugin
    /// run --example` and, at review, offline against the integration's
    /// replay file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<serde_json::Value>,
}

/// The scopes asked of one OAuth provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthRequirement {
    /// The scopes, as the provider spells them.
    pub scopes: Vec<String>,
}

/// The outbound hosts an integration calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRequirement {
    /// Host patterns (`https://api.slack.com`, `https://*.googleapis.com`).
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// What a user pays for the integration besides usage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pricing {
    /// Upfront price in cents, if the integration is sold upfront.
    #[serde(default)]
    pub upfront_cents: Option<u32>,
}

/// Why a manifest cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest {path}: {cause}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error (shown in the message, not chained as a source,
        /// so a report never states it twice).
        cause: std::io::Error,
    },
    /// The text is not valid TOML for a manifest.
    #[error("manifest is not valid: {0}")]
    Parse(String),
    /// The manifest parsed but breaks the rules; every problem is listed.
    #[error("manifest has {} problem(s):\n  - {}", .0.len(), .0.join("\n  - "))]
    Invalid(Vec<String>),
}

impl Manifest {
    /// Parse and validate a manifest from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| ManifestError::Parse(e.to_string()))?;
        let problems = manifest.problems();
        if problems.is_empty() {
            Ok(manifest)
        } else {
            Err(ManifestError::Invalid(problems))
        }
    }

    /// Read, parse and validate a manifest file.
    pub fn from_file(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ManifestError::Read {
            path: path.display().to_string(),
            cause,
        })?;
        Self::from_toml(&text)
    }

    /// The manifest's outbound host patterns, parsed. Call on a validated manifest.
    pub fn host_patterns(&self) -> Vec<HostPattern> {
        self.http
            .hosts
            .iter()
            .filter_map(|h| h.parse().ok())
            .collect()
    }

    /// Every rule the manifest breaks, as sentences that say what to change.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !is_kebab(&self.name) {
            problems.push(format!(
                "name `{}` must be lower-case kebab-case (letters, digits, single dashes), like `google-sheets`",
                self.name
            ));
        }
        if !is_semver(&self.version) {
            problems.push(format!(
                "version `{}` must be a semantic version such as `1.2.0`",
                self.version
            ));
        }
        if self.publisher.trim().is_empty() {
            problems.push("publisher must not be empty".into());
        }
        if self.description.trim().is_empty() {
            problems.push("description must not be empty".into());
        }
        if self.actions.is_empty() {
            problems.push("declare at least one action under [actions.<name>]".into());
        }
        for (name, action) in &self.actions {
            if !is_kebab(name) {
                problems.push(format!(
                    "action name `{name}` must be lower-case kebab-case"
                ));
            }
            if action.description.trim().is_empty() {
                problems.push(format!("action `{name}` needs a description"));
            }
            if action.example.as_ref().is_some_and(|e| !e.is_object()) {
                problems.push(format!(
                    "action `{name}`: example must be a table of input fields, like `example = {{ message = \"hi\" }}`"
                ));
            }
        }
        for (provider, requirement) in &self.oauth {
            if !KNOWN_PROVIDERS.contains(&provider.as_str()) {
                problems.push(format!(
                    "OAuth provider `{provider}` is not supported; use one of: {}",
                    KNOWN_PROVIDERS.join(", ")
                ));
            }
            if requirement.scopes.is_empty() && !SCOPELESS_PROVIDERS.contains(&provider.as_str()) {
                problems.push(format!("OAuth provider `{provider}` lists no scopes"));
            }
            if !requirement.scopes.is_empty() && SCOPELESS_PROVIDERS.contains(&provider.as_str()) {
                problems.push(format!(
                    "OAuth provider `{provider}` has no scopes (its access is chosen by the user when connecting); use `scopes = []`"
                ));
            }
            for scope in &requirement.scopes {
                if scope.trim().is_empty() || scope.contains(char::is_whitespace) {
                    problems.push(format!(
                        "OAuth provider `{provider}` has a malformed scope `{scope}`"
                    ));
                } else if let Some(problem) = scope_problem(provider, scope) {
                    problems.push(problem);
                }
            }
        }
        for host in &self.http.hosts {
            if let Err(e) = host.parse::<HostPattern>() {
                problems.push(format!("http.hosts: {e}"));
            }
        }
        if let Some(cents) = self.pricing.upfront_cents
            && !(MIN_UPFRONT_CENTS..=MAX_UPFRONT_CENTS).contains(&cents)
        {
            problems.push(format!(
                "pricing.upfront_cents is {cents}: an upfront price must be from {MIN_UPFRONT_CENTS} to {MAX_UPFRONT_CENTS} cents ($19 to $249), or left out"
            ));
        }
        problems.extend(self.limits.problems());
        problems
    }
}

fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && s.as_bytes()[0].is_ascii_lowercase()
        && !s.ends_with('-')
        && !s.contains("--")
}

fn is_semver(s: &str) -> bool {
    let core = s.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
name = "slack"
version = "0.1.0"
publisher = "workway"
description = "Send messages to Slack."

[actions.send-message]
description = "Post a message to a channel."

[oauth.slack]
scopes = ["chat:write"]

[http]
hosts = ["https://slack.com"]

[pricing]
upfront_cents = 1900
"#;

    #[test]
    fn sandbox_limits_are_asked_within_the_platform_maxima() {
        let asked = Manifest::from_toml(&format!(
            "{GOOD}\n[limits]\ninstances = 64\nmemory_mb = 256\ntable_elements = 40000\n"
        ))
        .expect("within the maxima");
        assert_eq!(
            asked.limits,
            SandboxLimits {
                instances: Some(64),
                memory_mb: Some(256),
                table_elements: Some(40_000),
            }
        );
        let Err(ManifestError::Invalid(problems)) = Manifest::from_toml(&format!(
            "{GOOD}\n[limits]\ninstances = 0\nmemory_mb = 4096\ntable_elements = 100001\n"
        )) else {
            panic!("out of range limits must be refused");
        };
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(
            problems[0].contains("limits.instances is 0"),
            "{problems:#?}"
        );
        assert!(
            problems[1].contains("at most") || problems[1].contains("1 to 1024"),
            "{problems:#?}"
        );
        let Err(ManifestError::Parse(unknown)) =
            Manifest::from_toml(&format!("{GOOD}\n[limits]\nthreads = 4\n"))
        else {
            panic!("an unknown limit must be refused");
        };
        assert!(unknown.contains("threads"), "{unknown}");
        assert!(
            Manifest::from_toml(GOOD)
                .expect("valid")
                .limits
                .is_default()
        );
    }

    #[test]
    fn a_good_manifest_parses() {
        let m = Manifest::from_toml(GOOD).expect("valid");
        assert_eq!(m.name, "slack");
        assert_eq!(m.actions.len(), 1);
        assert_eq!(m.host_patterns()[0].host, "slack.com");
    }

    #[test]
    fn every_problem_is_listed() {
        let bad = GOOD
            .replace("name = \"slack\"", "name = \"Slack!\"")
            .replace("0.1.0", "one")
            .replace("https://slack.com", "slack.com")
            .replace("1900", "5")
            .replace("[oauth.slack]", "[oauth.myspace]");
        let Err(ManifestError::Invalid(problems)) = Manifest::from_toml(&bad) else {
            panic!("expected problems");
        };
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems.iter().any(|p| p.contains("kebab-case")));
        assert!(problems.iter().any(|p| p.contains("semantic version")));
        assert!(problems.iter().any(|p| p.contains("myspace")));
        assert!(problems.iter().any(|p| p.contains("https://slack.com")));
        assert!(problems.iter().any(|p| p.contains("$19 to $249")));
    }

    #[test]
    fn examples_are_input_tables() {
        let with_example = GOOD.replace(
            "description = \"Post a message to a channel.\"",
            "description = \"Post a message to a channel.\"\nexample = { channel = \"C1\", text = \"hi\" }",
        );
        let m = Manifest::from_toml(&with_example).expect("valid");
        assert_eq!(
            m.actions["send-message"].example,
            Some(serde_json::json!({"channel": "C1", "text": "hi"}))
        );
        let scalar = GOOD.replace(
            "description = \"Post a message to a channel.\"",
            "description = \"Post a message to a channel.\"\nexample = 3",
        );
        let err = Manifest::from_toml(&scalar).unwrap_err();
        assert!(err.to_string().contains("example must be a table"), "{err}");
    }

    #[test]
    fn notion_declares_no_scopes() {
        let notion = GOOD.replace(
            "[oauth.slack]\nscopes = [\"chat:write\"]",
            "[oauth.notion]\nscopes = []",
        );
        Manifest::from_toml(&notion).expect("notion has no scopes");
        let slack = GOOD.replace("scopes = [\"chat:write\"]", "scopes = []");
        assert!(Manifest::from_toml(&slack).is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Manifest::from_toml(&format!("{GOOD}\nsecret = 1\n")).unwrap_err();
        assert!(err.to_string().contains("secret"), "{err}");
    }
}
