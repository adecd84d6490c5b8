//! Reviewer accounts acting on submissions: an account with the reviewer
//! role (and a credential carrying the `review` scope) approves, rejects
//! and revokes, signing with an ed25519 key of its own.
//!
//! An account's key is made at its first approval or revocation, not when
//! the role is given: an account that never signs holds no key. Its
//! signing half is stored only sealed with the vault keyring, bound to the
//! key's id and the account; its public half is what hosts trust as that
//! reviewer's ([`crate::review::Registry::reviewer_keys`]). Losing the
//! reviewer role retires the key ([`crate::accounts::set_roles`]): it
//! signs nothing more, and what it signed before keeps verifying.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use workway_registry::approval::ReviewKey;
use workway_registry::review::ReviewReport;
use workway_store::reviewer_keys::ReviewerKeyRow;
use workway_store::submissions::{ReviewClaim, SubmissionRow, SubmissionState};
use workway_store::{Store, StoreError};
use workway_vault::{Keyring, KeyringError};

use crate::accounts::{Principal, Scope};
use crate::platform::Platform;
use crate::review::{ActingReviewer, Approval, Registry, RegistryError, approvals_needed};

/// Why a reviewer's action was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ReviewerError {
    /// The account lacks the reviewer role, or its credential the `review`
    /// scope.
    #[error("reviewing needs the reviewer role and a credential with the `review` scope")]
    NotAReviewer,
    /// This process serves no registry.
    #[error("this host serves no registry: submissions and reviews are not taken here")]
    NoRegistry,
    /// The registry refused or failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The system has no randomness to make a key from.
    #[error("no randomness for a reviewer key: {0}")]
    Randomness(getrandom::Error),
    /// The keyring could not seal or open the key (a missing or rotated
    /// vault key, a damaged sealed value).
    #[error(transparent)]
    Keyring(#[from] KeyringError),
    /// A stored key does not open to the key its public half says.
    #[error("reviewer key `{0}` is damaged: its sealed half is not its public half's")]
    DamagedKey(String),
    /// Another reviewer claimed the submission and the claim has not
    /// expired.
    #[error(
        "`{by}` claimed this submission until {until} (Unix ms); wait or ask them to release it"
    )]
    Claimed {
        /// The reviewer holding the claim.
        by: String,
        /// When the claim lapses (Unix ms).
        until: i64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a reviewer's claim on a submission lasts: 30 minutes. While
/// it lasts, other reviewers cannot approve or reject the submission;
/// after it, the claim is ignored.
pub const CLAIM_MS: i64 = 30 * 60 * 1000;

/// A pending submission as the reviewers' queue shows it.
#[derive(Debug, Clone)]
pub struct QueueEntry {
    /// The submission.
    pub row: SubmissionRow,
    /// Approvals recorded so far.
    pub approvals: u32,
    /// Approvals from different reviewers it needs
    /// ([`crate::review::approvals_needed`]).
    pub needed: u32,
    /// The claim on it, when one is live.
    pub claim: Option<ReviewClaim>,
}

/// The pending submissions, oldest first, with their approvals so far,
/// the approvals they need and their live claims (as of `now`).
pub async fn queue(
    platform: &Platform,
    principal: &Principal,
    now: i64,
) -> Result<Vec<QueueEntry>, ReviewerError> {
    let registry = registry(platform, principal)?;
    let mut rows = registry.list(Some(SubmissionState::PendingReview)).await?;
    rows.reverse();
    let submissions = platform.store.submissions();
    let approvals = submissions.all_approvals().await?;
    let claims = submissions.claims().await?;
    rows.into_iter()
        .map(|row| {
            let report: ReviewReport = serde_json::from_str(&row.report)
                .map_err(|e| RegistryError::Damaged(row.id.clone(), e.to_string()))?;
            let count = approvals
                .iter()
                .filter(|a| a.submission_id == row.id)
                .count();
            let claim = claims
                .iter()
                .find(|c| c.submission_id == row.id && c.expires_at > now)
                .cloned();
            Ok(QueueEntry {
                approvals: u32::try_from(count).unwrap_or(u32::MAX),
                needed: approvals_needed(&report),
                claim,
                row,
            })
        })
        .collect()
}

/// Claim pending submission `id` for reviewer `principal` from `now` for
/// [`CLAIM_MS`]; claiming again extends one's own claim. Refused while
/// another reviewer's claim is live.
pub async fn claim(
    platform: &Platform,
    principal: &Principal,
    id: &str,
    now: i64,
) -> Result<ReviewClaim, ReviewerError> {
    let registry = registry(platform, principal)?;
    let row = registry.show(id).await?.row;
    if row.state != SubmissionState::PendingReview {
        return Err(RegistryError::WrongState {
            id: row.id,
            state: row.state,
            action: "claimed",
        }
        .into());
    }
    // A reviewer never decides their own submission, so holding it would
    // only keep other reviewers from it.
    if row.submitted_by == principal.account_id {
        return Err(RegistryError::OwnSubmission(principal.account_id.clone()).into());
    }
    let held = platform
        .store
        .submissions()
        .claim(id, &principal.account_id, now, now + CLAIM_MS)
        .await?;
    if held.reviewer != principal.account_id {
        return Err(ReviewerError::Claimed {
            by: held.reviewer,
            until: held.expires_at,
        });
    }
    Ok(held)
}

/// Release reviewer `principal`'s claim on submission `id`, if they hold
/// one; refused while another reviewer's claim is live.
pub async fn release(
    platform: &Platform,
    principal: &Principal,
    id: &str,
    now: i64,
) -> Result<(), ReviewerError> {
    let registry = registry(platform, principal)?;
    registry.show(id).await?;
    not_claimed_by_another(platform, principal, id, now).await?;
    platform
        .store
        .submissions()
        .release(id, &principal.account_id)
        .await?;
    Ok(())
}

/// Refused when a reviewer other than `principal` holds a live claim on
/// submission `id` at `now`.
async fn not_claimed_by_another(
    platform: &Platform,
    principal: &Principal,
    id: &str,
    now: i64,
) -> Result<(), ReviewerError> {
    match platform.store.submissions().claim_of(id).await? {
        Some(c) if c.reviewer != principal.account_id && c.expires_at > now => {
            Err(ReviewerError::Claimed {
                by: c.reviewer,
                until: c.expires_at,
            })
        }
        _ => Ok(()),
    }
}

/// What the sealed private half is bound to.
fn context(key_id: &str, account_id: &str) -> String {
    format!("reviewer-key:{key_id}:{account_id}")
}

/// The signing key of the stored `row`, opened with `keyring` and checked
/// against its public half.
fn open(keyring: &Keyring, row: &ReviewerKeyRow) -> Result<ReviewKey, ReviewerError> {
    let damaged = || ReviewerError::DamagedKey(row.key_id.clone());
    let seed = keyring.open(
        &row.sealed_private_key,
        &context(&row.key_id, &row.account_id),
    )?;
    let seed: [u8; 32] = STANDARD
        .decode(seed.expose())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(damaged)?;
    let key = ReviewKey::from_seed(&row.key_id, seed);
    if key.public_base64() != row.public_key {
        return Err(damaged());
    }
    Ok(key)
}

/// The signing key of reviewer `account_id`: its active key, or a new one
/// stored sealed with `keyring` when it has none. When two hosts make the
/// first key at once, both use the one stored.
pub async fn signing_key(
    store: &Store,
    keyring: &Keyring,
    account_id: &str,
    now: i64,
) -> Result<ReviewKey, ReviewerError> {
    let keys = store.reviewer_keys();
    if let Some(row) = keys.active(account_id).await? {
        return open(keyring, &row);
    }
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(ReviewerError::Randomness)?;
    let key_id = format!("rk-{}", hex::encode(bytes));
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(ReviewerError::Randomness)?;
    let key = ReviewKey::from_seed(&key_id, seed);
    let row = ReviewerKeyRow {
        sealed_private_key: keyring.seal(&key.seed_base64(), &context(&key_id, account_id))?,
        public_key: key.public_base64(),
        key_id,
        account_id: account_id.to_string(),
        created_at: now,
        retired_at: None,
    };
    if keys.insert(&row).await? {
        return Ok(key);
    }
    // Another host made it first; use that one. None left means the key
    // was retired in between: the account is no longer a reviewer.
    match keys.active(account_id).await? {
        Some(row) => open(keyring, &row),
        None => Err(ReviewerError::NotAReviewer),
    }
}

/// `platform`'s registry, if `principal` may review there.
fn registry<'p>(
    platform: &'p Platform,
    principal: &Principal,
) -> Result<&'p Registry, ReviewerError> {
    if !principal.can(Scope::Review) {
        return Err(ReviewerError::NotAReviewer);
    }
    platform
        .registry
        .as_deref()
        .ok_or(ReviewerError::NoRegistry)
}

/// Approve submission `id` as reviewer `principal`, who was shown its
/// report with `fingerprint`, signing with the reviewer's own key. The
/// submitter never approves their own submission. A version that widens
/// access needs two different reviewers' approvals
/// ([`crate::review::approvals_needed`]): the first is recorded
/// ([`Approval::Recorded`]), the second approves and signs.
pub async fn approve(
    platform: &Platform,
    principal: &Principal,
    id: &str,
    fingerprint: &str,
    now: i64,
) -> Result<Approval, ReviewerError> {
    let registry = registry(platform, principal)?;
    let seen = registry.shown(id, fingerprint).await?;
    not_claimed_by_another(platform, principal, id, now).await?;
    if registry.show(id).await?.row.submitted_by == principal.account_id {
        return Err(RegistryError::OwnSubmission(principal.account_id.clone()).into());
    }
    let key = signing_key(
        &platform.store,
        platform.vault.keyring(),
        &principal.account_id,
        now,
    )
    .await?;
    let reviewer = ActingReviewer {
        name: &principal.account_id,
        key: &key,
    };
    Ok(registry
        .approve_counted(id, reviewer, &seen, fingerprint)
        .await?)
}

/// Reject pending submission `id` as reviewer `principal`, with `reason`,
/// at `now`; refused while another reviewer's claim is live.
pub async fn reject(
    platform: &Platform,
    principal: &Principal,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<(), ReviewerError> {
    let registry = registry(platform, principal)?;
    registry.show(id).await?;
    not_claimed_by_another(platform, principal, id, now).await?;
    Ok(registry
        .reject_as(id, &principal.account_id, reason)
        .await?)
}

/// Revoke approved submission `id` as reviewer `principal`, with `reason`,
/// signing the revocation with the reviewer's own key.
pub async fn revoke(
    platform: &Platform,
    principal: &Principal,
    id: &str,
    reason: &str,
    now: i64,
) -> Result<(), ReviewerError> {
    let registry = registry(platform, principal)?;
    if reason.trim().is_empty() {
        return Err(RegistryError::ReasonRequired.into());
    }
    let key = signing_key(
        &platform.store,
        platform.vault.keyring(),
        &principal.account_id,
        now,
    )
    .await?;
    let reviewer = ActingReviewer {
        name: &principal.account_id,
        key: &key,
    };
    Ok(registry.revoke_as(id, reviewer, reason).await?)
}
