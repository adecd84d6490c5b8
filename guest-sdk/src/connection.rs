//! Connections: handles to a user's OAuth grants.

use crate::bindings::workway::plugin::connections::{self, ConnectionError};
use crate::error::Error;

/// A handle to one of the user's connected accounts. Pass it to
/// [`Request::auth`](crate::http::Request::auth) to have the host authorise a
/// request; the token itself never enters the integration.
pub struct Connection {
    pub(crate) handle: connections::Connection,
}

impl Connection {
    /// The connection for `provider` (`google`, `slack`, ...), if the user has
    /// one and the manifest declares the provider.
    pub fn get(provider: &str) -> Result<Self, Error> {
        match connections::get(provider) {
            Ok(handle) => Ok(Connection { handle }),
            Err(ConnectionError::NotConnected(m)) => Err(Error::AuthExpired(m)),
            Err(ConnectionError::NotDeclared(m)) => Err(Error::PermissionDenied(m)),
        }
    }

    /// The provider this connection belongs to.
    pub fn provider(&self) -> String {
        self.handle.provider()
    }

    /// The account name (an email, a workspace), when the provider said.
    pub fn account(&self) -> Option<String> {
        self.handle.account()
    }

    /// The scopes the user granted.
    pub fn scopes(&self) -> Vec<String> {
        self.handle.scopes()
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("provider", &self.provider())
            .field("account", &self.account())
            .finish()
    }
}
