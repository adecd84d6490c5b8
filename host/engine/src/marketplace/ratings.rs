//! Ratings and written reviews of integrations (called `ratings` so they
//! are not confused with the review of submissions in [`crate::review`]).
//!
//! The rules, all enforced here:
//!
//! - **Who may rate.** A user whose installation of the integration has
//!   run at least once: the user has an installation of it now, and some
//!   step of one of the user's runs called one of its actions
//!   (`<integration>.<action>`), whatever the outcome, a skipped step
//!   excepted ([`workway_store::ratings::Ratings::has_run`]). Otherwise
//!   [`RatingError::NotInstalled`] or [`RatingError::NotRunYet`].
//! - **One review per user per integration**, editable: writing again
//!   replaces the rating, title and text in place, keeping its id,
//!   `created_at`, reply and any hidden flag; its author may delete it.
//! - **The publisher** (the owner of the integration's name, who got it
//!   with its first approved version) replies once per review.
//! - **Admins** hide an abusive review with a reason and may show it
//!   again; a hidden review is kept, flagged with who, when and why, left
//!   out of everyone's list and of the summary, and still shown (flagged)
//!   to its author and to admins.
//!
//! Texts are bounded and hold no control characters (a review's body and
//! a reply may hold newlines).

use workway_store::ratings::{Deleted, NewReview, ReviewRow, Summary, Viewer};
use workway_store::{Store, StoreError};

use crate::accounts::secrets;

/// The most characters a review's or a reply's text holds.
pub const MAX_BODY_CHARS: usize = 4_000;

/// The most characters a review's title holds.
pub const MAX_TITLE_CHARS: usize = 120;

/// The most characters the reason for hiding a review holds.
pub const MAX_REASON_CHARS: usize = 500;

/// Why a rating operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RatingError {
    /// No integration of this name has ever been approved.
    #[error("no integration is called `{0}`")]
    UnknownIntegration(String),
    /// The user has no installation of the integration.
    #[error(
        "only users who installed `{0}` and ran it may rate it: install it, run a workflow that \
         uses it, then rate it"
    )]
    NotInstalled(String),
    /// The user installed the integration but none of their runs called it.
    #[error(
        "only users who ran `{0}` may rate it: run a workflow that uses it at least once, then \
         rate it"
    )]
    NotRunYet(String),
    /// One input was wrong.
    #[error("{message}")]
    Invalid {
        /// The field at fault.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// No such review (or none by this user).
    #[error("no such review")]
    NoSuchReview,
    /// The author tried to delete a review an admin hid.
    #[error(
        "an admin hid this review, so it is kept for moderation and cannot be deleted; edit it \
         instead, and an admin may show it again"
    )]
    HiddenKept,
    /// Only the integration's publisher may reply.
    #[error("only the publisher of `{0}` may reply to its reviews")]
    NotPublisher(String),
    /// The review already has the publisher's reply.
    #[error("this review already has the publisher's reply; a review gets one reply")]
    AlreadyReplied,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A review as written by its author.
#[derive(Debug, Clone)]
pub struct ReviewText<'a> {
    /// From 1 to 5.
    pub rating: i64,
    /// The title, if any (one line).
    pub title: Option<&'a str>,
    /// The text (may be empty).
    pub body: &'a str,
}

/// One page of reviews with the integration's summary.
#[derive(Debug, Clone)]
pub struct ReviewPage {
    /// The reviews, newest first.
    pub reviews: Vec<ReviewRow>,
    /// Whether more follow.
    pub more: bool,
    /// The count and histogram of the visible ratings.
    pub summary: Summary,
}

/// The owner of `integration`'s name, or [`RatingError::UnknownIntegration`].
pub async fn publisher(store: &Store, integration: &str) -> Result<String, RatingError> {
    store
        .submissions()
        .owner(integration)
        .await?
        .map(|o| o.owner)
        .ok_or_else(|| RatingError::UnknownIntegration(integration.to_string()))
}

/// Check a text: at most `max` characters, no control character (but
/// newlines when `newlines`).
fn check_text(
    field: &'static str,
    text: &str,
    max: usize,
    newlines: bool,
) -> Result<(), RatingError> {
    if text.chars().count() > max {
        return Err(RatingError::Invalid {
            field,
            message: format!("`{field}` holds at most {max} characters"),
        });
    }
    if text
        .chars()
        .any(|c| c.is_control() && !(newlines && c == '\n'))
    {
        let allowed = if newlines { " but newlines" } else { "" };
        return Err(RatingError::Invalid {
            field,
            message: format!("`{field}` may not hold control characters{allowed}"),
        });
    }
    Ok(())
}

/// Check a text that may not be blank.
fn check_required(
    field: &'static str,
    text: &str,
    max: usize,
    newlines: bool,
) -> Result<(), RatingError> {
    if text.trim().is_empty() {
        return Err(RatingError::Invalid {
            field,
            message: format!("`{field}` may not be empty"),
        });
    }
    check_text(field, text, max, newlines)
}

/// Write `author`'s review of `integration`, or edit the one they wrote:
/// the rating from 1 to 5, an optional one-line title, a body of at most
/// [`MAX_BODY_CHARS`]. Only once `author` may rate it (see the module's
/// rules). The stored review and whether it is new.
pub async fn write(
    store: &Store,
    author: &str,
    integration: &str,
    text: &ReviewText<'_>,
    now: i64,
) -> Result<(ReviewRow, bool), RatingError> {
    publisher(store, integration).await?;
    if !(1..=5).contains(&text.rating) {
        return Err(RatingError::Invalid {
            field: "rating",
            message: "`rating` is a whole number from 1 to 5".into(),
        });
    }
    let title = text.title.map(str::trim).filter(|t| !t.is_empty());
    if let Some(title) = title {
        check_text("title", title, MAX_TITLE_CHARS, false)?;
    }
    check_text("body", text.body, MAX_BODY_CHARS, true)?;
    if store
        .installations()
        .find(author, integration)
        .await?
        .is_none()
    {
        return Err(RatingError::NotInstalled(integration.to_string()));
    }
    if !store.ratings().has_run(author, integration).await? {
        return Err(RatingError::NotRunYet(integration.to_string()));
    }
    let id = secrets::new_id("rev_");
    Ok(store
        .ratings()
        .upsert(&NewReview {
            id: &id,
            integration,
            author,
            rating: text.rating,
            title,
            body: text.body,
            now,
        })
        .await?)
}

/// Delete `author`'s review of `integration`.
pub async fn delete(store: &Store, author: &str, integration: &str) -> Result<(), RatingError> {
    publisher(store, integration).await?;
    match store.ratings().delete(integration, author).await? {
        Deleted::Deleted => Ok(()),
        Deleted::NotFound => Err(RatingError::NoSuchReview),
        Deleted::Hidden => Err(RatingError::HiddenKept),
    }
}

/// `integration`'s reviews as `viewer` sees them, a page of at most
/// `limit` after `before`, with the summary of the visible ratings.
pub async fn list(
    store: &Store,
    integration: &str,
    viewer: Viewer<'_>,
    before: Option<(i64, &str)>,
    limit: i64,
) -> Result<ReviewPage, RatingError> {
    publisher(store, integration).await?;
    let ratings = store.ratings();
    let mut reviews = ratings
        .page(integration, viewer, before, limit.saturating_add(1))
        .await?;
    let keep = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = reviews.len() > keep;
    reviews.truncate(keep);
    Ok(ReviewPage {
        reviews,
        more,
        summary: ratings.summary(integration).await?,
    })
}

/// One page of hidden reviews across the marketplace, most recently
/// hidden first, for admins: the reviews and whether more follow.
pub async fn hidden(
    store: &Store,
    before: Option<(i64, &str)>,
    limit: i64,
) -> Result<(Vec<ReviewRow>, bool), RatingError> {
    let mut reviews = store
        .ratings()
        .hidden_page(before, limit.saturating_add(1))
        .await?;
    let keep = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = reviews.len() > keep;
    reviews.truncate(keep);
    Ok((reviews, more))
}

/// Whether `viewer` sees review `row`: everyone sees a visible one, its
/// author and admins a hidden one too.
fn sees(row: &ReviewRow, viewer: Viewer<'_>) -> bool {
    match viewer {
        Viewer::Everything => true,
        Viewer::Account(account) => row.hidden.is_none() || row.author == account,
    }
}

/// Reply to review `id` of `integration` as `replier`, who must be its
/// publisher; once per review. A review `replier` cannot see (another
/// integration's, a hidden one) is [`RatingError::NoSuchReview`].
pub async fn reply(
    store: &Store,
    replier: &str,
    integration: &str,
    id: &str,
    body: &str,
    now: i64,
) -> Result<ReviewRow, RatingError> {
    let publisher = publisher(store, integration).await?;
    let ratings = store.ratings();
    let review = ratings
        .get(id)
        .await?
        .filter(|r| r.integration == integration && sees(r, Viewer::Account(replier)))
        .ok_or(RatingError::NoSuchReview)?;
    if publisher != replier {
        return Err(RatingError::NotPublisher(integration.to_string()));
    }
    check_required("body", body, MAX_BODY_CHARS, true)?;
    if review.reply.is_some() || !ratings.reply(id, replier, body, now).await? {
        return Err(RatingError::AlreadyReplied);
    }
    ratings.get(id).await?.ok_or(RatingError::NoSuchReview)
}

/// Hide review `id` as admin `admin`, saying why (at most
/// [`MAX_REASON_CHARS`], one line), or show it again (`reason` `None`).
pub async fn set_hidden(
    store: &Store,
    admin: &str,
    id: &str,
    reason: Option<&str>,
    now: i64,
) -> Result<ReviewRow, RatingError> {
    let reason = reason.map(str::trim);
    if let Some(reason) = reason {
        check_required("reason", reason, MAX_REASON_CHARS, false)?;
    }
    let ratings = store.ratings();
    if !ratings
        .set_hidden(id, reason.map(|r| (admin, r)), now)
        .await?
    {
        return Err(RatingError::NoSuchReview);
    }
    ratings.get(id).await?.ok_or(RatingError::NoSuchReview)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_bounded_and_free_of_control_characters() {
        assert!(check_text("body", "two\nlines", 10, true).is_ok());
        assert!(matches!(
            check_text("title", "two\nlines", 10, false),
            Err(RatingError::Invalid { field: "title", .. })
        ));
        assert!(matches!(
            check_text("body", "bell\u{7}", 10, true),
            Err(RatingError::Invalid { field: "body", .. })
        ));
        assert!(matches!(
            check_text("body", "ééééé", 4, true),
            Err(RatingError::Invalid { field: "body", .. })
        ));
        assert!(check_text("body", "ééééé", 5, true).is_ok());
        assert!(matches!(
            check_required("reason", "  ", 10, false),
            Err(RatingError::Invalid {
                field: "reason",
                ..
            })
        ));
    }
}
