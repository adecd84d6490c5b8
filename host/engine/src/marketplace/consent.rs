//! Installing with consent: before an integration is installed, or an
//! installation moved to a version that may do more, the user is shown
//! exactly what that version may do — the hosts it may reach and the
//! OAuth scopes it asks for, by provider, from its signed approval — and
//! must echo back the digest of that set ([`ConsentSet::digest`]); the
//! summary also shows the upfront price, if any. The
//! acceptance is recorded (who, which integration and version, the set,
//! the digest, when) in the `install_consents` table.
//!
//! Installations are pinned to a version (see [`crate::installations`]):
//! a newer approved version never moves an existing installation by
//! itself. [`pending_update`] tells whether a newer version waits and
//! whether it widens what the user accepted (a new host, a new scope, a
//! new provider); [`upgrade`] moves the installation, asking for consent
//! only when the update widens it.
//!
//! The rule is enforced here, for the API: [`install`] and [`upgrade`]
//! refuse without the matching digest. [`crate::installations::install`]
//! stays the unchecked primitive for in-process callers (fixtures,
//! benchmarks, operators' tools) that are not acting for a user.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest as _, Sha256};

use workway_registry::approval::ApprovalClaims;
use workway_store::install_consents::NewConsent;

use crate::catalog::{ApprovedIntegration, CatalogError};
use crate::installations::{self, InstallError, Installation};
use crate::platform::Platform;
use crate::review::RegistryError;

/// The text hashed before the canonical set, so a consent digest can never
/// be mistaken for the digest of anything else.
const DIGEST_CONTEXT: &str = "workway-install-consent-v1\n";

/// What a version may do: the hosts it may reach and the OAuth scopes it
/// asks for, by provider. Sorted sets, so one set has one canonical form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConsentSet {
    /// The outbound host patterns.
    pub hosts: BTreeSet<String>,
    /// The OAuth scopes, by provider (a provider with no scopes is still
    /// listed: the integration may use that provider's connection).
    pub scopes: BTreeMap<String, BTreeSet<String>>,
}

impl ConsentSet {
    /// The set a signed approval grants.
    pub fn of(claims: &ApprovalClaims) -> ConsentSet {
        ConsentSet {
            hosts: claims.hosts.iter().cloned().collect(),
            scopes: claims
                .scopes
                .iter()
                .map(|(provider, scopes)| (provider.clone(), scopes.iter().cloned().collect()))
                .collect(),
        }
    }

    /// The canonical form: compact JSON `{"hosts":[...],"scopes":{...}}`,
    /// every array and object sorted.
    pub fn canonical(&self) -> String {
        serde_json::json!({ "hosts": self.hosts, "scopes": self.scopes }).to_string()
    }

    /// `sha256:<hex>` over a context line and [`ConsentSet::canonical`]:
    /// what a client echoes back as `accept`.
    pub fn digest(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(DIGEST_CONTEXT.as_bytes());
        hash.update(self.canonical().as_bytes());
        format!("sha256:{}", hex::encode(hash.finalize()))
    }

    /// What this set has that `accepted` does not: hosts (compared as
    /// written), providers and scopes.
    pub fn added_since(&self, accepted: &ConsentSet) -> ConsentDiff {
        let hosts = self.hosts.difference(&accepted.hosts).cloned().collect();
        let scopes = self
            .scopes
            .iter()
            .filter_map(|(provider, scopes)| match accepted.scopes.get(provider) {
                None => Some((provider.clone(), scopes.iter().cloned().collect())),
                Some(had) => {
                    let added: Vec<String> = scopes.difference(had).cloned().collect();
                    (!added.is_empty()).then(|| (provider.clone(), added))
                }
            })
            .collect();
        ConsentDiff { hosts, scopes }
    }

    /// Decode a recorded set (the `hosts` and `scopes` JSON columns).
    fn decode(hosts: &str, scopes: &str) -> Option<ConsentSet> {
        Some(ConsentSet {
            hosts: serde_json::from_str(hosts).ok()?,
            scopes: serde_json::from_str(scopes).ok()?,
        })
    }
}

/// What an update adds to an accepted set: new hosts, and new scopes by
/// provider (a provider not used before appears with all its scopes, maybe
/// none).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConsentDiff {
    /// Hosts not accepted before.
    pub hosts: Vec<String>,
    /// Scopes not accepted before, by provider.
    pub scopes: BTreeMap<String, Vec<String>>,
}

impl ConsentDiff {
    /// Whether nothing was added: the update does not widen access.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty() && self.scopes.is_empty()
    }
}

/// The consent summary of one approved version: what installing it grants
/// and what it costs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentSummary {
    /// The integration.
    pub integration: String,
    /// The version that would be installed.
    pub version: String,
    /// What it may do.
    pub set: ConsentSet,
    /// [`ConsentSet::digest`] of `set` (the price is shown, not part of it:
    /// paying is its own step, see [`crate::marketplace::listings`]).
    pub consent_digest: String,
    /// Its upfront price in cents; `None` when free.
    pub price_cents: Option<i64>,
}

impl ConsentSummary {
    /// The summary of `approved`, its price read from its listing.
    async fn of(
        platform: &Platform,
        approved: &ApprovedIntegration,
    ) -> Result<ConsentSummary, InstallError> {
        let claims = &approved.claims;
        let price_cents = crate::marketplace::listings::price_cents(
            &platform.store,
            &claims.integration,
            &approved.manifest,
        )
        .await?;
        let set = ConsentSet::of(claims);
        Ok(ConsentSummary {
            integration: claims.integration.clone(),
            version: claims.version.clone(),
            consent_digest: set.digest(),
            set,
            price_cents,
        })
    }
}

/// A newer approved version than the installed one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingUpdate {
    /// The newer version's summary.
    pub summary: ConsentSummary,
    /// What it adds to the set the user accepted.
    pub added: ConsentDiff,
    /// Whether moving to it needs the user's acceptance (`added` is not
    /// empty); until then the installation keeps its version.
    pub consent_required: bool,
}

/// Why an install or upgrade with consent did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// The install itself failed (unknown integration, revoked, bad settings...).
    #[error(transparent)]
    Install(#[from] InstallError),
    /// The request did not carry the digest of the set it would grant.
    #[error(
        "installing `{}` {} needs your consent to what it may do: read the summary and send its \
         `consent_digest` back as `accept`", .summary.integration, .summary.version
    )]
    Required {
        /// What would be granted.
        summary: ConsentSummary,
        /// What it adds to the set accepted for the current installation
        /// (`None` when there is no installation).
        added: Option<ConsentDiff>,
    },
}

/// The consent summary of `integration` (exactly `version`, or the newest
/// approved one): what installing it would grant.
pub async fn summary(
    platform: &Platform,
    integration: &str,
    version: Option<&str>,
) -> Result<ConsentSummary, InstallError> {
    let approved = platform.catalog.get(integration, version).await?;
    ConsentSummary::of(platform, &approved).await
}

/// Install `integration` (exactly `version`, or its newest approved one)
/// for `owner` with `config`, if `accept` is the digest of the set that
/// version grants; record the acceptance. Without it, or with another
/// digest, [`ConsentError::Required`] carries the summary to show.
pub async fn install(
    platform: &Platform,
    owner: &str,
    integration: &str,
    version: Option<&str>,
    config: BTreeMap<String, String>,
    accept: Option<&str>,
) -> Result<Installation, ConsentError> {
    installations::check_settings(&config)?;
    let summary = summary(platform, integration, version).await?;
    if accept != Some(summary.consent_digest.as_str()) {
        let added = match installations::find(&platform.store, owner, integration).await? {
            Some(installed) => Some(
                summary
                    .set
                    .added_since(&accepted_set(platform, owner, &installed).await?),
            ),
            None => None,
        };
        return Err(ConsentError::Required { summary, added });
    }
    let installed =
        installations::install(platform, owner, integration, Some(&summary.version), config)
            .await?;
    record(platform, owner, &summary).await?;
    Ok(installed)
}

/// Move `owner`'s installation of `integration` to the newest approved
/// version, keeping its settings. An update that widens what was accepted
/// needs `accept` = its digest; one that does not is applied without it
/// (a given `accept` must still match). `Ok(None)` when the installation
/// already has the newest version.
pub async fn upgrade(
    platform: &Platform,
    owner: &str,
    integration: &str,
    accept: Option<&str>,
) -> Result<Option<Installation>, ConsentError> {
    let installed = installations::find(&platform.store, owner, integration)
        .await?
        .ok_or_else(|| InstallError::NotInstalled(integration.to_string()))?;
    let Some(update) = pending_update(platform, owner, &installed).await? else {
        return Ok(None);
    };
    let accepted = accept == Some(update.summary.consent_digest.as_str());
    if (update.consent_required || accept.is_some()) && !accepted {
        return Err(ConsentError::Required {
            summary: update.summary,
            added: Some(update.added),
        });
    }
    let upgraded = installations::install(
        platform,
        owner,
        integration,
        Some(&update.summary.version),
        installed.config,
    )
    .await?;
    if accepted {
        record(platform, owner, &update.summary).await?;
    }
    Ok(Some(upgraded))
}

/// The newer approved version waiting for `installed`, if the newest
/// approved version is not the installed one, with what it adds to the
/// set the user accepted. Nothing waits when no approved version can be
/// read (all revoked, or an approval that no longer holds).
pub async fn pending_update(
    platform: &Platform,
    owner: &str,
    installed: &Installation,
) -> Result<Option<PendingUpdate>, InstallError> {
    let newest = match platform.catalog.get(&installed.row.integration, None).await {
        Ok(newest) => newest,
        Err(CatalogError::Registry(RegistryError::Store(e))) => return Err(e.into()),
        Err(e) => {
            tracing::debug!(
                integration = %installed.row.integration,
                "no update can be offered: {e}"
            );
            return Ok(None);
        }
    };
    if newest.claims.version == installed.row.version {
        return Ok(None);
    }
    let summary = ConsentSummary::of(platform, &newest).await?;
    let added = summary
        .set
        .added_since(&accepted_set(platform, owner, installed).await?);
    Ok(Some(PendingUpdate {
        consent_required: !added.is_empty(),
        summary,
        added,
    }))
}

/// What `owner` accepted for `installed`: the latest recorded acceptance
/// of its version; for an installation made without one (before consent
/// was recorded, or in-process), the set its version's approval grants;
/// nothing when that cannot be read either, so every update asks.
async fn accepted_set(
    platform: &Platform,
    owner: &str,
    installed: &Installation,
) -> Result<ConsentSet, InstallError> {
    let row = &installed.row;
    let recorded = platform
        .store
        .install_consents()
        .latest(owner, &row.integration, &row.version)
        .await?;
    if let Some(set) = recorded.and_then(|r| ConsentSet::decode(&r.hosts, &r.scopes)) {
        return Ok(set);
    }
    match platform
        .catalog
        .get(&row.integration, Some(&row.version))
        .await
    {
        Ok(approved) => Ok(ConsentSet::of(&approved.claims)),
        Err(CatalogError::Registry(RegistryError::Store(e))) => Err(e.into()),
        Err(_) => Ok(ConsentSet::default()),
    }
}

/// Record `owner`'s acceptance of `summary`.
async fn record(
    platform: &Platform,
    owner: &str,
    summary: &ConsentSummary,
) -> Result<(), InstallError> {
    let hosts = serde_json::to_string(&summary.set.hosts)
        .map_err(|e| InstallError::Config(format!("cannot encode the accepted hosts: {e}")))?;
    let scopes = serde_json::to_string(&summary.set.scopes)
        .map_err(|e| InstallError::Config(format!("cannot encode the accepted scopes: {e}")))?;
    platform
        .store
        .install_consents()
        .record(&NewConsent {
            id: &uuid::Uuid::new_v4().to_string(),
            owner,
            integration: &summary.integration,
            version: &summary.version,
            hosts: &hosts,
            scopes: &scopes,
            consent_digest: &summary.consent_digest,
            now: workway_store::clock::now_ms(),
        })
        .await?;
    tracing::info!(
        owner,
        integration = %summary.integration,
        version = %summary.version,
        digest = %summary.consent_digest,
        "install consent recorded"
    );
    Ok(())
}

/// Uninstall `integration` for `owner`: `None` when it was not installed,
/// else the names of `owner`'s workflows whose current version has a step
/// calling it. Those workflows keep their definitions; saving them again or
/// starting a run is refused as not installed (with how to install it)
/// until it is installed again or the steps are changed. Runs already
/// started keep what they pinned.
pub async fn uninstall(
    platform: &Platform,
    owner: &str,
    integration: &str,
) -> Result<Option<Vec<String>>, InstallError> {
    if !platform
        .store
        .installations()
        .delete(owner, integration)
        .await?
    {
        return Ok(None);
    }
    tracing::info!(owner, integration, "uninstalled");
    let mut using = Vec::new();
    for row in platform.store.workflows().list(Some(owner)).await? {
        match crate::saved::definition_of(platform, &row, row.version).await {
            Ok(definition) => {
                if definition
                    .steps
                    .iter()
                    .any(|step| step.integration() == integration)
                {
                    using.push(row.name);
                }
            }
            Err(crate::saved::SaveError::Store(e)) => return Err(e.into()),
            Err(e) => tracing::warn!(
                owner,
                workflow = %row.name,
                "cannot tell whether it uses `{integration}`: {e}"
            ),
        }
    }
    Ok(Some(using))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(hosts: &[&str], scopes: &[(&str, &[&str])]) -> ConsentSet {
        ConsentSet {
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
            scopes: scopes
                .iter()
                .map(|(p, s)| (p.to_string(), s.iter().map(|s| s.to_string()).collect()))
                .collect(),
        }
    }

    #[test]
    fn the_digest_is_of_the_set_not_its_order() {
        let a = set(&["b.com", "a.com"], &[("slack", &["y", "x"])]);
        let b = set(&["a.com", "b.com"], &[("slack", &["x", "y"])]);
        assert_eq!(a.digest(), b.digest());
        assert!(a.digest().starts_with("sha256:"));
        assert_eq!(
            a.canonical(),
            r#"{"hosts":["a.com","b.com"],"scopes":{"slack":["x","y"]}}"#
        );
        let wider = set(&["a.com", "b.com"], &[("slack", &["x", "y", "z"])]);
        assert_ne!(a.digest(), wider.digest());
    }

    #[test]
    fn a_new_host_scope_or_provider_widens_and_fewer_does_not() {
        let accepted = set(&["a.com"], &[("slack", &["read"])]);
        assert!(accepted.added_since(&accepted).is_empty());
        assert!(set(&[], &[]).added_since(&accepted).is_empty(), "narrower");
        let diff = set(
            &["a.com", "b.com"],
            &[("slack", &["read", "write"]), ("notion", &[])],
        )
        .added_since(&accepted);
        assert_eq!(diff.hosts, ["b.com"]);
        assert_eq!(diff.scopes["slack"], ["write"]);
        assert!(diff.scopes["notion"].is_empty(), "a new provider counts");
        assert!(!diff.is_empty());
    }
}
