//! The capabilities of one execution of an installed integration: the
//! hosts its signed approval names (never a manifest on disk), the
//! installing user's connections whose granted scopes that approval covers
//! (see [`ExecutionConnections`]), and the installation's settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use workway_registry::ApprovalClaims;

use workway_capabilities::Capabilities;
use workway_egress::Egress;
use workway_vault::credentials::ExecutionConnections;
use workway_vault::{Vault, VaultError};

/// What one execution may reach, and the connections it was given (keep
/// them: after an `auth-expired` outcome, [`Vault::after_auth_expired`]
/// refreshes exactly those before a retry).
#[derive(Clone)]
pub struct InstallationCapabilities {
    /// The capabilities to run the execution with.
    pub capabilities: Capabilities,
    /// The connections handed to it, as they were when it started.
    pub connections: ExecutionConnections,
}

/// The capabilities of an execution of the integration `approved` (claims
/// whose signature the caller verified) installed by `owner` with
/// `config`: egress limited to the approved hosts (and the platform policy
/// `egress` carries), for each approved OAuth provider the owner's newest
/// connection granted no scope beyond the approved ones, and the settings.
pub async fn capabilities_for(
    egress: &Arc<Egress>,
    vault: &Vault,
    approved: &ApprovalClaims,
    owner: &str,
    config: BTreeMap<String, String>,
) -> Result<InstallationCapabilities, VaultError> {
    let connections = vault.connections_for(owner, &approved.scopes).await?;
    let capabilities = Capabilities {
        http: Arc::new(egress.broker(approved.host_patterns())),
        connections: Arc::new(connections.clone()),
        config: Arc::new(config),
    };
    Ok(InstallationCapabilities {
        capabilities,
        connections,
    })
}
