//! How a listing's words changed since its integration's last approved
//! version: what a reviewer reads beside the capability diff, because the
//! listing is what users read before they grant access, and a claim that
//! changes with a wider version ("read-only" becoming untrue) is worth a
//! second look.
//!
//! The listing as it stood when the newest approved version was approved
//! is read from `listing_revisions` (every write of a listing is kept);
//! the listing now is the newest revision. For a first version, with no
//! approved one before it, every field the listing has is new.

use std::collections::BTreeSet;

use serde::Serialize;
use similar::TextDiff;
use workway_store::listings::ListingRevision;
use workway_store::submissions::{SubmissionRow, SubmissionState};
use workway_store::{Store, StoreError};

/// The most lines of description diff shown; a longer diff is cut with a
/// line saying how many were left out.
pub const MAX_DIFF_LINES: usize = 400;

/// The listing's text changes between two points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListingChanges {
    /// The approved version compared against, if the integration has one.
    pub since_version: Option<String>,
    /// When that version was approved (Unix ms).
    pub since_approved_at: Option<i64>,
    /// The listing revision current then (none when it had no listing).
    pub from_revision: Option<i64>,
    /// The listing revision current now (none when it has no listing).
    pub to_revision: Option<i64>,
    /// The summary before and after, when it changed.
    pub summary: Option<Change<String>>,
    /// The description's changes as a unified diff, when it changed.
    pub description_diff: Option<String>,
    /// Categories added since.
    pub categories_added: Vec<String>,
    /// Categories removed since.
    pub categories_removed: Vec<String>,
    /// The upfront price in cents before and after (`None` is free), when
    /// it changed.
    pub price_cents: Option<Change<Option<i64>>>,
}

impl ListingChanges {
    /// Whether nothing in the listing's text changed.
    pub fn is_empty(&self) -> bool {
        self.summary.is_none()
            && self.description_diff.is_none()
            && self.categories_added.is_empty()
            && self.categories_removed.is_empty()
            && self.price_cents.is_none()
    }
}

/// One field's value before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change<T> {
    /// The value then.
    pub before: T,
    /// The value now.
    pub after: T,
}

/// Why the changes could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ListingChangesError {
    /// A stored revision's categories are not a JSON array of strings.
    #[error("revision {revision} of the listing of `{integration}` is damaged: {reason}")]
    Damaged {
        /// The integration.
        integration: String,
        /// The revision.
        revision: i64,
        /// What is wrong.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How `integration`'s listing changed between the approval of its newest
/// approved version (or its beginning, without one) and `now`.
pub async fn since_last_approval(
    store: &Store,
    integration: &str,
    now: i64,
) -> Result<ListingChanges, ListingChangesError> {
    let approved = store
        .submissions()
        .of_integration(integration)
        .await?
        .into_iter()
        .filter(|r| r.state == SubmissionState::Approved)
        .max_by_key(|r| (r.updated_at, r.created_at));
    let listings = store.listings();
    let before = match &approved {
        Some(row) => listings.revision_at(integration, row.updated_at).await?,
        None => None,
    };
    let after = listings.revision_at(integration, now).await?;
    compare(approved.as_ref(), before.as_ref(), after.as_ref())
}

/// The changes from `before` to `after` (either may be missing: no
/// listing then, or none now), against the approved version `since`.
fn compare(
    since: Option<&SubmissionRow>,
    before: Option<&ListingRevision>,
    after: Option<&ListingRevision>,
) -> Result<ListingChanges, ListingChangesError> {
    let text = |r: Option<&ListingRevision>, f: fn(&ListingRevision) -> &str| {
        r.map(f).unwrap_or_default().to_string()
    };
    let summary = Some(Change {
        before: text(before, |r| &r.summary),
        after: text(after, |r| &r.summary),
    })
    .filter(|c| c.before != c.after);
    let description_diff = unified_diff(
        &text(before, |r| &r.description),
        &text(after, |r| &r.description),
    );
    let categories_before = categories(before)?;
    let categories_after = categories(after)?;
    let price_cents = Some(Change {
        before: before.and_then(|r| r.price_cents),
        after: after.and_then(|r| r.price_cents),
    })
    .filter(|c| c.before != c.after);
    Ok(ListingChanges {
        since_version: since.map(|r| r.version.clone()),
        since_approved_at: since.map(|r| r.updated_at),
        from_revision: before.map(|r| r.revision),
        to_revision: after.map(|r| r.revision),
        summary,
        description_diff,
        categories_added: categories_after
            .difference(&categories_before)
            .cloned()
            .collect(),
        categories_removed: categories_before
            .difference(&categories_after)
            .cloned()
            .collect(),
        price_cents,
    })
}

/// A revision's categories as a set (none without a revision).
fn categories(r: Option<&ListingRevision>) -> Result<BTreeSet<String>, ListingChangesError> {
    let Some(r) = r else {
        return Ok(BTreeSet::new());
    };
    serde_json::from_str(&r.categories).map_err(|e| ListingChangesError::Damaged {
        integration: r.integration.clone(),
        revision: r.revision,
        reason: format!("its categories are not a JSON array of strings: {e}"),
    })
}

/// A unified diff (three lines of context) from `before` to `after`, cut
/// at [`MAX_DIFF_LINES`]; `None` when they are equal.
fn unified_diff(before: &str, after: &str) -> Option<String> {
    if before == after {
        return None;
    }
    let diff = TextDiff::from_lines(before, after);
    let full = diff
        .unified_diff()
        .context_radius(3)
        .header("approved", "now")
        .to_string();
    let total = full.lines().count();
    if total <= MAX_DIFF_LINES {
        return Some(full);
    }
    let mut cut: String = full
        .lines()
        .take(MAX_DIFF_LINES)
        .flat_map(|l| [l, "\n"])
        .collect();
    cut.push_str(&format!(
        "... {} more lines of diff left out\n",
        total - MAX_DIFF_LINES
    ));
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revision(n: i64, summary: &str, description: &str, categories: &str) -> ListingRevision {
        ListingRevision {
            integration: "evolving".into(),
            revision: n,
            summary: summary.into(),
            description: description.into(),
            categories: categories.into(),
            price_cents: None,
            written_by: "acct".into(),
            written_at: n,
        }
    }

    #[test]
    fn unchanged_text_has_no_changes() {
        let r = revision(1, "Says hello", "# Hello\n", r#"["other"]"#);
        let changes = compare(None, Some(&r), Some(&r)).expect("compared");
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn each_changed_field_is_reported() {
        let before = revision(1, "Reads mail", "Read-only.\nNo writes.\n", r#"["other"]"#);
        let mut after = revision(
            2,
            "Reads and sends mail",
            "Reads and sends.\nNo writes.\n",
            r#"["communication","other"]"#,
        );
        after.price_cents = Some(4900);
        let changes = compare(None, Some(&before), Some(&after)).expect("compared");
        assert_eq!(
            changes.summary,
            Some(Change {
                before: "Reads mail".into(),
                after: "Reads and sends mail".into()
            })
        );
        let diff = changes.description_diff.expect("a diff");
        assert!(diff.contains("-Read-only."), "{diff}");
        assert!(diff.contains("+Reads and sends."), "{diff}");
        assert!(diff.contains(" No writes."), "{diff}");
        assert_eq!(changes.categories_added, vec!["communication".to_string()]);
        assert!(changes.categories_removed.is_empty());
        assert_eq!(
            changes.price_cents,
            Some(Change {
                before: None,
                after: Some(4900)
            })
        );
        assert_eq!(
            (changes.from_revision, changes.to_revision),
            (Some(1), Some(2))
        );
    }

    #[test]
    fn a_first_listing_is_all_new() {
        let after = revision(1, "Says hello", "Hello\n", r#"["other"]"#);
        let changes = compare(None, None, Some(&after)).expect("compared");
        assert_eq!(changes.from_revision, None);
        assert!(changes.description_diff.expect("a diff").contains("+Hello"));
        assert_eq!(changes.categories_added, vec!["other".to_string()]);
    }

    #[test]
    fn a_long_diff_is_cut_and_says_so() {
        let after: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let diff = unified_diff("", &after).expect("a diff");
        assert!(diff.lines().count() <= MAX_DIFF_LINES + 1);
        assert!(diff.contains("more lines of diff left out"), "{diff}");
    }

    #[test]
    fn damaged_categories_are_named() {
        let r = revision(3, "s", "d", "not json");
        let err = compare(None, None, Some(&r)).expect_err("damaged");
        assert!(err.to_string().contains("revision 3"), "{err}");
    }
}
