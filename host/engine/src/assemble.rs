//! The default wiring: the platform with the event trigger subscribed to
//! its outbox. It sits above both, so neither the platform nor the
//! services publishing events depend on the triggers that consume them.

use std::sync::Arc;

use workway_runtime::Runtime;
use workway_store::Store;
use workway_vault::Keyring;

use crate::catalog::Catalog;
use crate::platform::{HostConfig, Platform, PlatformError};
use crate::triggers::events::EventTrigger;

impl Platform {
    /// Wire the services (see [`Platform::with_subscriber`]) with the event
    /// trigger taking every published event.
    pub fn new(
        store: Store,
        runtime: Arc<Runtime>,
        catalog: Arc<Catalog>,
        keyring: Arc<Keyring>,
        config: &HostConfig,
    ) -> Result<Platform, PlatformError> {
        Platform::with_subscriber(
            store,
            runtime,
            catalog,
            keyring,
            config,
            Arc::new(EventTrigger),
        )
    }
}
