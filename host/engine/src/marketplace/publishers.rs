//! Publishers: the developer profile each publishing account shows the
//! marketplace, its verification by an admin, and the co-maintainers the
//! owner of an integration's name lets publish versions of it.
//!
//! The rules, all enforced here (the callers check roles and scopes):
//!
//! - **A profile** has a display name (1 to 100 characters), an optional
//!   website (an `https://` URL to a DNS host, no credentials in it), a
//!   support contact (an email address or such an URL) and an optional
//!   payout account reference (an opaque id billing uses: letters, digits,
//!   `_ - . :`, up to 128), all without control characters. A bad field is
//!   refused with [`PublisherError::Invalid`] naming it.
//! - **Verification** is set and cleared only by an admin, recorded with
//!   who and when; changing the display name or the website clears it
//!   (the admin verified what was shown then).
//! - **Co-maintainers** are added and removed by the owner of the name
//!   only (the publisher of its first approved version); they must be
//!   developer accounts. They may submit versions of the name; the rule is
//!   read in one place, [`workway_store::submissions::Submissions::refusing_owner`],
//!   at submission and at approval, and an approved co-maintainer's
//!   version leaves the name with its owner.

use workway_registry::is_host_name;
use workway_store::clock::now_ms;
use workway_store::publishers::{DeveloperProfileRow, MaintainerRow, ProfileFields};
use workway_store::{Store, StoreError};

use crate::accounts::{AccountError, Role, normalise_email, roles_of};

/// The most characters a publisher's display name holds.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

/// The most characters a website or support URL holds.
pub const MAX_URL_CHARS: usize = 500;

/// The most characters a payout account reference holds.
pub const MAX_PAYOUT_ACCOUNT_CHARS: usize = 128;

/// Why a publisher operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum PublisherError {
    /// One input was wrong.
    #[error("{message}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What was wrong and what to do.
        message: String,
    },
    /// The account has no developer profile.
    #[error("no developer profile")]
    NoProfile,
    /// The caller does not own the integration's name (or it has none):
    /// answered like a missing integration, so ownership does not leak.
    #[error("no integration `{0}` of yours")]
    NotOwner(String),
    /// The account is not a co-maintainer of the integration.
    #[error("no such co-maintainer")]
    NoSuchMaintainer,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl PublisherError {
    fn invalid(field: &'static str, message: impl Into<String>) -> PublisherError {
        PublisherError::Invalid {
            field,
            message: message.into(),
        }
    }
}

/// What a developer writes on their own profile, unchecked.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    /// The name the marketplace shows.
    pub display_name: String,
    /// The website, an https URL.
    pub website: Option<String>,
    /// An email address or an https URL.
    pub support_contact: String,
    /// The opaque payout reference billing uses.
    pub payout_account: Option<String>,
}

/// The profile of `account_id`.
pub async fn profile(
    store: &Store,
    account_id: &str,
) -> Result<DeveloperProfileRow, PublisherError> {
    store
        .publishers()
        .profile(account_id)
        .await?
        .ok_or(PublisherError::NoProfile)
}

/// Check `input` and make or replace the profile of `account_id` with it.
pub async fn put_profile(
    store: &Store,
    account_id: &str,
    input: &ProfileInput,
) -> Result<DeveloperProfileRow, PublisherError> {
    let display_name = check_display_name(&input.display_name)?;
    let website = input
        .website
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(|w| check_https_url("website", w))
        .transpose()?;
    let support_contact = check_support_contact(&input.support_contact)?;
    let payout_account = input
        .payout_account
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(check_payout_account)
        .transpose()?;
    Ok(store
        .publishers()
        .put_profile(&ProfileFields {
            account_id,
            display_name: &display_name,
            website: website.as_deref(),
            support_contact: &support_contact,
            payout_account: payout_account.as_deref(),
            now: now_ms(),
        })
        .await?)
}

/// Mark the profile of `account_id` verified (or not) by `admin`; the
/// caller checked that `admin` is one.
pub async fn set_verified(
    store: &Store,
    account_id: &str,
    verified: bool,
    admin: &str,
) -> Result<DeveloperProfileRow, PublisherError> {
    store
        .publishers()
        .set_verified(account_id, verified.then_some(admin), now_ms())
        .await?
        .ok_or(PublisherError::NoProfile)
}

/// The co-maintainers of `integration` with its owner, for its owner or
/// one of its co-maintainers; [`PublisherError::NotOwner`] for anyone else.
pub async fn maintainers(
    store: &Store,
    integration: &str,
    caller: &str,
) -> Result<(String, Vec<MaintainerRow>), PublisherError> {
    let owner = owner_of(store, integration).await?;
    let maintainers = store.publishers().maintainers(integration).await?;
    if owner == caller || maintainers.iter().any(|m| m.account_id == caller) {
        Ok((owner, maintainers))
    } else {
        Err(PublisherError::NotOwner(integration.to_string()))
    }
}

/// Add the developer account whose email is `email` as a co-maintainer of
/// `integration`, for its owner `caller`. The row, and whether it is new
/// (adding someone twice changes nothing).
pub async fn add_maintainer(
    store: &Store,
    integration: &str,
    caller: &str,
    email: &str,
) -> Result<(MaintainerRow, bool), PublisherError> {
    require_owner(store, integration, caller).await?;
    let email =
        normalise_email(email).map_err(|e| PublisherError::invalid("email", e.to_string()))?;
    let not_a_developer = || {
        PublisherError::invalid(
            "email",
            format!(
                "no developer account has the email `{email}`: a co-maintainer needs an account \
                 with the developer role"
            ),
        )
    };
    let account = store
        .accounts()
        .by_email(&email)
        .await?
        .filter(|a| a.disabled_at.is_none() && roles_of(a).contains(&Role::Developer))
        .ok_or_else(not_a_developer)?;
    if account.id == caller {
        return Err(PublisherError::invalid(
            "email",
            format!("you own `{integration}`: owners publish it without being co-maintainers"),
        ));
    }
    let added = store
        .publishers()
        .add_maintainer(integration, &account.id, caller, now_ms())
        .await?;
    let row = store
        .publishers()
        .maintainers(integration)
        .await?
        .into_iter()
        .find(|m| m.account_id == account.id)
        .ok_or(PublisherError::NoSuchMaintainer)?;
    Ok((row, added))
}

/// Remove `account_id` from the co-maintainers of `integration`, for its
/// owner `caller`.
pub async fn remove_maintainer(
    store: &Store,
    integration: &str,
    caller: &str,
    account_id: &str,
) -> Result<(), PublisherError> {
    require_owner(store, integration, caller).await?;
    if store
        .publishers()
        .remove_maintainer(integration, account_id)
        .await?
    {
        Ok(())
    } else {
        Err(PublisherError::NoSuchMaintainer)
    }
}

/// The owner of `integration`'s name, or [`PublisherError::NotOwner`]
/// when no version of it was approved.
async fn owner_of(store: &Store, integration: &str) -> Result<String, PublisherError> {
    store
        .submissions()
        .owner(integration)
        .await?
        .map(|o| o.owner)
        .ok_or_else(|| PublisherError::NotOwner(integration.to_string()))
}

/// Refuse unless `caller` owns `integration`'s name.
async fn require_owner(
    store: &Store,
    integration: &str,
    caller: &str,
) -> Result<(), PublisherError> {
    if owner_of(store, integration).await? == caller {
        Ok(())
    } else {
        Err(PublisherError::NotOwner(integration.to_string()))
    }
}

/// `text` trimmed, if it has no control characters and at most `max`
/// characters; `field` names it in the error.
fn check_text(field: &'static str, text: &str, max: usize) -> Result<String, PublisherError> {
    let text = text.trim();
    if text.chars().any(char::is_control) {
        return Err(PublisherError::invalid(
            field,
            format!("`{field}` must not contain control characters (newlines, tabs, ...)"),
        ));
    }
    let count = text.chars().count();
    if count > max {
        return Err(PublisherError::invalid(
            field,
            format!("`{field}` has {count} characters; the most it may have is {max}"),
        ));
    }
    Ok(text.to_string())
}

/// A display name: 1 to [`MAX_DISPLAY_NAME_CHARS`] characters.
fn check_display_name(name: &str) -> Result<String, PublisherError> {
    let name = check_text("display_name", name, MAX_DISPLAY_NAME_CHARS)?;
    if name.is_empty() {
        return Err(PublisherError::invalid(
            "display_name",
            "`display_name` is required: the name the marketplace shows for you",
        ));
    }
    Ok(name)
}

/// An `https://` URL to a DNS host, without credentials, up to
/// [`MAX_URL_CHARS`] characters.
fn check_https_url(field: &'static str, url: &str) -> Result<String, PublisherError> {
    let url = check_text(field, url, MAX_URL_CHARS)?;
    let bad = |why: &str| {
        PublisherError::invalid(
            field,
            format!("`{field}` must be an https URL like https://example.com/support: {why}"),
        )
    };
    if url.chars().any(char::is_whitespace) {
        return Err(bad("it contains spaces"));
    }
    let Some(rest) = url
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .map(|_| &url[8..])
    else {
        return Err(bad("it does not start with https://"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err(bad("it must not carry a user name or password"));
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) => {
            if port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(bad("its port is not a number from 1 to 65535"));
            }
            host
        }
        None => authority,
    };
    if !is_host_name(&host.to_ascii_lowercase()) || !host.contains('.') {
        return Err(bad("its host is not a domain name"));
    }
    Ok(url)
}

/// An email address or an https URL.
fn check_support_contact(contact: &str) -> Result<String, PublisherError> {
    let contact = check_text("support_contact", contact, MAX_URL_CHARS)?;
    if contact.is_empty() {
        return Err(PublisherError::invalid(
            "support_contact",
            "`support_contact` is required: an email address or an https URL where users get help",
        ));
    }
    if contact
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        || contact.contains("://")
    {
        return check_https_url("support_contact", &contact);
    }
    normalise_email(&contact).map_err(|e| match e {
        AccountError::InvalidEmail(_) => PublisherError::invalid(
            "support_contact",
            "`support_contact` must be an email address (like help@example.com) or an https URL",
        ),
        other => PublisherError::invalid("support_contact", other.to_string()),
    })
}

/// An opaque payout reference: letters, digits, `_ - . :`.
fn check_payout_account(reference: &str) -> Result<String, PublisherError> {
    let reference = check_text("payout_account", reference, MAX_PAYOUT_ACCOUNT_CHARS)?;
    if !reference
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
    {
        return Err(PublisherError::invalid(
            "payout_account",
            "`payout_account` is the reference of your payout account (like acct_1A2b3C): \
             letters, digits, `_`, `-`, `.` and `:` only",
        ));
    }
    Ok(reference)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(r: Result<String, PublisherError>) -> &'static str {
        match r {
            Err(PublisherError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn urls_must_be_https_to_a_domain_without_credentials() {
        for good in [
            "https://example.com",
            "https://Example.com/support?x=1#y",
            "https://docs.example.co.uk:8443/a",
        ] {
            assert!(check_https_url("website", good).is_ok(), "{good}");
        }
        for bad in [
            "http://example.com",
            "javascript:alert(1)",
            "https://",
            "https://localhost",
            "https://user:pw@example.com",
            "https://example.com@evil.com/",
            "https://exa mple.com",
            "https://example.com:0",
            "https://example.com:99999",
            "ftp://example.com",
        ] {
            assert_eq!(field(check_https_url("website", bad)), "website", "{bad}");
        }
    }

    #[test]
    fn support_contacts_are_an_email_or_an_https_url() {
        assert_eq!(
            check_support_contact(" Help@Example.com ").expect("an email"),
            "help@example.com"
        );
        assert!(check_support_contact("https://example.com/help").is_ok());
        for bad in ["", "help", "http://example.com/help", "mailto:a@b.c d"] {
            assert_eq!(
                field(check_support_contact(bad)),
                "support_contact",
                "{bad}"
            );
        }
    }

    #[test]
    fn names_and_references_are_bounded_and_plain() {
        assert_eq!(field(check_display_name("  ")), "display_name");
        assert_eq!(field(check_display_name("a\u{7}b")), "display_name");
        assert_eq!(field(check_display_name(&"x".repeat(101))), "display_name");
        assert_eq!(check_display_name(" Acme ").expect("fine"), "Acme");
        assert_eq!(field(check_payout_account("acct 1")), "payout_account");
        assert_eq!(
            field(check_payout_account(&"a".repeat(129))),
            "payout_account"
        );
        assert!(check_payout_account("acct_1A2b3C").is_ok());
    }
}
