//! Roles an account holds and scopes a credential carries.

use serde::{Deserialize, Serialize};

use super::AccountError;

/// What an account may be: every account is a `user`; the other roles are
/// given by an admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Installs integrations, connects accounts, runs workflows.
    User,
    /// Publishes integrations.
    Developer,
    /// Reviews submissions: approves, rejects, revokes.
    Reviewer,
    /// Operates the platform: accounts, roles, password resets.
    Admin,
}

impl Role {
    /// Every role, lowest first.
    pub const ALL: [Role; 4] = [Role::User, Role::Developer, Role::Reviewer, Role::Admin];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Developer => "developer",
            Role::Reviewer => "reviewer",
            Role::Admin => "admin",
        }
    }

    /// Parse a role's name.
    pub fn parse(name: &str) -> Result<Role, AccountError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == name.trim())
            .ok_or_else(|| AccountError::UnknownRole(shorten(name)))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a credential may do. A browser session carries every scope its
/// account's roles grant; an API token carries the scopes it was made with,
/// never more than its account's roles grant at the time it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read the account's own resources.
    Read,
    /// Start and cancel runs, change installations, workflows and connections.
    Run,
    /// Publish integrations.
    Publish,
    /// Review submissions.
    Review,
    /// Operate the platform.
    Admin,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Run,
        Scope::Publish,
        Scope::Review,
        Scope::Admin,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Run => "run",
            Scope::Publish => "publish",
            Scope::Review => "review",
            Scope::Admin => "admin",
        }
    }

    /// Parse a scope's name.
    pub fn parse(name: &str) -> Result<Scope, AccountError> {
        Scope::ALL
            .into_iter()
            .find(|s| s.as_str() == name.trim())
            .ok_or_else(|| AccountError::UnknownScope(shorten(name)))
    }

    /// The role an account needs for a credential to carry this scope.
    pub fn needs(self) -> Role {
        match self {
            Scope::Read | Scope::Run => Role::User,
            Scope::Publish => Role::Developer,
            Scope::Review => Role::Reviewer,
            Scope::Admin => Role::Admin,
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// At most 40 characters of `text`, for echoing bad input in an error.
pub(crate) fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(40).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_named() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).ok(), Some(role));
        }
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.as_str()).ok(), Some(scope));
        }
        let err = Role::parse("root").expect_err("unknown");
        assert!(err.to_string().contains("`root`"), "{err}");
        let err = Scope::parse("everything").expect_err("unknown");
        assert!(err.to_string().contains("read, run"), "{err}");
    }
}
