//! `workway review ...`: the reviewer's commands, through the server's
//! API as the signed-in reviewer account. List what waits, read a
//! submission's report at a glance, approve what was read (the server
//! signs the approval with this reviewer's own key, and refuses a
//! reviewer's own submission), reject or revoke with a reason.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::json;
use workway_registry::approval::ReviewKey;
use workway_registry::review::ReviewReport;

use super::plugin::{human_size, thousands};
use crate::client::{ApiClient, ServerOptions, when};

/// The reviewer's commands.
#[derive(Debug, Subcommand)]
#[command(
    after_help = "Reviewing (signed in with `workway login` as a reviewer):
  workway review list
  workway review show <id>
  workway review claim <id>
  workway review approve <id> --reviewed <fingerprint from show>
  workway review reject <id> --reason \"...\""
)]
pub enum ReviewCommand {
    /// Submissions waiting for review, oldest first.
    List,
    /// One submission's review report and history.
    Show(ShowArgs),
    /// Claim a pending submission for 30 minutes: other reviewers cannot
    /// approve or reject it meanwhile.
    Claim(ShowArgs),
    /// Release your claim on a submission.
    Release(ShowArgs),
    /// Approve a pending submission (signed with your review key). A
    /// version that widens access needs two different reviewers.
    Approve(DecideArgs),
    /// Reject a pending submission.
    Reject(ReasonArgs),
    /// Revoke an approved submission: every host stops starting it.
    Revoke(ReasonArgs),
    /// Print a new platform review key for WORKWAY_REVIEW_KEY (for
    /// operators; its public half, for WORKWAY_TRUSTED_KEYS, goes to stderr).
    NewKey(NewKeyArgs),
}

/// Arguments of `workway review show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The submission's id (from `workway review list`).
    pub id: String,
}

/// Arguments of `workway review approve`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The submission's id.
    pub id: String,

    /// The fingerprint `workway review show` printed: the approval is
    /// refused unless the submission is still exactly what it showed.
    #[arg(long, value_name = "FINGERPRINT")]
    pub reviewed: String,
}

/// Arguments of `workway review reject` and `revoke`.
#[derive(Debug, Args)]
pub struct ReasonArgs {
    /// The submission's id.
    pub id: String,

    /// Why: the developer and other reviewers read it.
    #[arg(long)]
    pub reason: String,
}

/// Arguments of `workway review new-key`.
#[derive(Debug, Args)]
pub struct NewKeyArgs {
    /// The key's id, recorded in every approval it signs.
    #[arg(long, default_value = "review-1")]
    pub id: String,
}

/// A submission as listed.
#[derive(Debug, Deserialize)]
pub struct Summary {
    /// Its id.
    pub id: String,
    /// The integration's name.
    pub integration: String,
    /// Its version.
    pub version: String,
    /// Where it is in review.
    pub state: String,
    /// The submitting account.
    pub submitted_by: String,
    /// When it was submitted (Unix ms).
    pub created_at: i64,
}

/// One recorded state change.
#[derive(Debug, Deserialize)]
pub struct Event {
    /// The state after.
    pub to: String,
    /// Who made the change.
    pub actor: String,
    /// Why, when given.
    pub reason: Option<String>,
    /// When (Unix ms).
    pub at: i64,
}

/// A submission with its report and history, as the API shows it.
#[derive(Debug, Deserialize)]
pub struct Submission {
    /// What it is and where it is in review.
    #[serde(flatten)]
    pub summary: Summary,
    /// The review report.
    pub report: ReviewReport,
    /// The fingerprint a reviewer approves with.
    pub fingerprint: String,
    /// Every state change, oldest first.
    pub events: Vec<Event>,
    /// While it waits for review: how the listing's text changed since
    /// the newest approved version.
    #[serde(default)]
    pub listing_changes: Option<ListingChanges>,
}

/// How a listing's text changed since the newest approved version, as
/// `GET /v1/submissions/{id}` shows it.
#[derive(Debug, Deserialize)]
pub struct ListingChanges {
    since_version: Option<String>,
    unchanged: bool,
    summary: Option<Change<String>>,
    description_diff: Option<String>,
    #[serde(default)]
    categories_added: Vec<String>,
    #[serde(default)]
    categories_removed: Vec<String>,
    price_cents: Option<Change<Option<i64>>>,
}

/// A field then and now.
#[derive(Debug, Deserialize)]
struct Change<T> {
    before: T,
    after: T,
}

#[derive(Debug, Deserialize)]
struct Approved {
    approval: workway_registry::SignedApproval,
}

/// A claim, as `POST /v1/reviews/{id}/claim` answers it.
#[derive(Debug, Deserialize)]
struct Claim {
    claim_expires_at: i64,
}

/// What `POST /v1/reviews/{id}/approve` answers: the signed approval
/// (200), or a recorded first approval of a version that needs a second
/// reviewer (202).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ApproveAnswer {
    Approved(Box<Approved>),
    Recorded { approvals: u32, needed: u32 },
}

/// Run a review command.
pub async fn run(command: ReviewCommand, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    if let ReviewCommand::NewKey(args) = &command {
        let entry = ReviewKey::generate(&args.id)
            .map_err(|e| anyhow::anyhow!("no randomness available for a new key: {e}"))?;
        let key = ReviewKey::parse(&entry)?;
        println!("{entry}");
        eprintln!("public half (for WORKWAY_TRUSTED_KEYS): {}", key.public());
        return Ok(ExitCode::SUCCESS);
    }
    let client = ApiClient::from_options(server)?;
    match command {
        ReviewCommand::NewKey(_) => {}
        ReviewCommand::List => {
            let rows: Vec<Summary> = client.get(&["v1", "reviews", "queue"], &[]).await?;
            if rows.is_empty() {
                println!("no submissions wait for review");
            }
            for row in rows {
                println!(
                    "{:<26}  {:<14}  {} {}  by {}  {}",
                    row.id,
                    row.state,
                    row.integration,
                    row.version,
                    row.submitted_by,
                    when(row.created_at)
                );
            }
        }
        ReviewCommand::Show(args) => {
            let submission: Submission = client.get(&["v1", "submissions", &args.id], &[]).await?;
            print!("{}", details_text(&submission));
        }
        ReviewCommand::Approve(args) => {
            let answer: ApproveAnswer = client
                .post(
                    &["v1", "reviews", &args.id, "approve"],
                    &json!({ "fingerprint": args.reviewed }),
                )
                .await?;
            let approved = match answer {
                ApproveAnswer::Approved(approved) => approved,
                ApproveAnswer::Recorded { approvals, needed } => {
                    println!(
                        "approval {approvals} of {needed} recorded; another reviewer must approve"
                    );
                    return Ok(ExitCode::SUCCESS);
                }
            };
            let claims = &approved.approval.claims;
            println!(
                "approved     {} {} ({})",
                claims.integration, claims.version, claims.digest
            );
            println!(
                "signed by    key `{}` of {}",
                approved.approval.key_id, claims.approved_by
            );
            println!("may reach    {}", list_or_none(&claims.hosts.join(", ")));
        }
        ReviewCommand::Claim(args) => {
            let held: Claim = client
                .post(&["v1", "reviews", &args.id, "claim"], &json!({}))
                .await?;
            println!(
                "claimed      {} until {}",
                args.id,
                when(held.claim_expires_at)
            );
        }
        ReviewCommand::Release(args) => {
            client.delete(&["v1", "reviews", &args.id, "claim"]).await?;
            println!("released     {}", args.id);
        }
        ReviewCommand::Reject(args) => {
            let _: Submission = client
                .post(
                    &["v1", "reviews", &args.id, "reject"],
                    &json!({ "reason": args.reason }),
                )
                .await?;
            println!("rejected     {}", args.id);
        }
        ReviewCommand::Revoke(args) => {
            let _: Submission = client
                .post(
                    &["v1", "reviews", &args.id, "revoke"],
                    &json!({ "reason": args.reason }),
                )
                .await
                .context("not revoked")?;
            println!(
                "revoked      {} (hosts stop starting it within {} s)",
                args.id,
                workway_engine::catalog::DEFAULT_REVOCATION_POLL.as_secs()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Imports grouped by package and version, one line each:
/// `workway:plugin@0.1.0  http, log`.
fn grouped_imports(imports: &[String]) -> Vec<String> {
    let mut groups: std::collections::BTreeMap<String, Vec<&str>> = Default::default();
    for import in imports {
        let (path, version) = import.split_once('@').unwrap_or((import, ""));
        let (package, interface) = path.rsplit_once('/').unwrap_or((path, ""));
        let key = if version.is_empty() {
            package.to_string()
        } else {
            format!("{package}@{version}")
        };
        groups.entry(key).or_default().push(interface);
    }
    groups
        .into_iter()
        .map(|(package, interfaces)| format!("{package:<22}{}", interfaces.join(", ")))
        .collect()
}

fn list_or_none(text: &str) -> &str {
    if text.is_empty() { "(nothing)" } else { text }
}

/// A submission's report and history, as a reviewer reads it.
pub fn details_text(details: &Submission) -> String {
    let row = &details.summary;
    let report = &details.report;
    let mut out = String::new();
    let mut line = |label: &str, value: &str| out.push_str(&format!("{label:<13}{value}\n"));
    line("submission", &format!("{} ({})", row.id, row.state));
    line(
        "integration",
        &format!("{} {}", report.integration, report.version),
    );
    line(
        "submitted",
        &format!("by {} on {}", row.submitted_by, when(row.created_at)),
    );
    line("digest", &report.digest.to_string());
    line("fingerprint", &details.fingerprint);
    line(
        "size",
        &human_size(usize::try_from(report.size).unwrap_or(usize::MAX)),
    );
    line("manifest", &format!("sha256 {}", report.manifest_sha256));
    line(
        "contract",
        &format!("workway:plugin@{}", report.contract_version),
    );
    if !report.toolkit.is_empty() {
        line("built with", &report.toolkit);
    }
    let (inert, linked): (Vec<String>, Vec<String>) = report
        .imports
        .iter()
        .cloned()
        .partition(|i| report.inert_imports.contains(i));
    let imports = grouped_imports(&linked);
    if imports.is_empty() {
        line("imports", "(nothing)");
    }
    for (i, group) in imports.iter().enumerate() {
        line(if i == 0 { "imports" } else { "" }, group);
    }
    for (i, group) in grouped_imports(&inert).iter().enumerate() {
        line(
            if i == 0 { "linked, inert" } else { "" },
            &format!("{group}  (nothing granted)"),
        );
    }
    if let (Some(instances), Some(memory), Some(tables)) = (
        report.limits.instances,
        report.limits.memory_mb,
        report.limits.table_elements,
    ) {
        line(
            "limits",
            &format!("{instances} instances, {memory} MiB memory, {tables} table elements"),
        );
    }
    line("hosts", list_or_none(&report.hosts.join(", ")));
    let scopes: Vec<String> = report
        .scopes
        .iter()
        .map(|(provider, scopes)| {
            if scopes.is_empty() {
                format!("{provider} (no scopes)")
            } else {
                format!("{provider}: {}", scopes.join(" "))
            }
        })
        .collect();
    line("oauth", list_or_none(&scopes.join("; ")));
    match &report.since_previous {
        None => line("changes", "first version of this integration"),
        Some(diff) => {
            let mut changes = Vec::new();
            for (sign, what, items) in [
                ("+", "host", &diff.hosts_added),
                ("-", "host", &diff.hosts_removed),
                ("+", "scope", &diff.scopes_added),
                ("-", "scope", &diff.scopes_removed),
            ] {
                changes.extend(items.iter().map(|i| format!("{sign} {what} {i}")));
            }
            let summary = if changes.is_empty() {
                format!("since {}: same hosts and scopes", diff.previous_version)
            } else {
                format!(
                    "since {}{}: {}",
                    diff.previous_version,
                    if diff.widens() {
                        " (WIDENS ACCESS)"
                    } else {
                        ""
                    },
                    changes.join(", ")
                )
            };
            line("changes", &summary);
        }
    }
    line(
        "describe",
        &format!("{} fuel", thousands(report.describe_fuel)),
    );
    if report.examples.is_empty() {
        line("examples", "none declared");
    } else {
        line("examples", "run in the sandbox, no network:");
        for (action, run) in &report.examples {
            out.push_str(&format!(
                "  {action:<22}{:<28}{:>12} fuel\n",
                run.outcome,
                thousands(run.fuel)
            ));
        }
    }
    if let Some(changes) = &details.listing_changes {
        out.push_str(&listing_changes_text(changes));
    }
    out.push_str("history\n");
    for event in &details.events {
        out.push_str(&format!(
            "  {}  {:<14}  {}{}\n",
            when(event.at),
            event.to,
            event.actor,
            event
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        ));
    }
    out
}

/// The listing's text changes, as `review show` prints them.
fn listing_changes_text(c: &ListingChanges) -> String {
    let since = c
        .since_version
        .as_deref()
        .map_or("the first version".to_string(), |v| format!("since {v}"));
    if c.unchanged {
        return format!("{:<13}{since}: unchanged\n", "listing");
    }
    let mut out = format!("{:<13}{since}: changed\n", "listing");
    if let Some(s) = &c.summary {
        out.push_str(&format!(
            "  summary      - {}\n               + {}\n",
            s.before, s.after
        ));
    }
    for (sign, items) in [("+", &c.categories_added), ("-", &c.categories_removed)] {
        for category in items {
            out.push_str(&format!("  category     {sign} {category}\n"));
        }
    }
    if let Some(p) = &c.price_cents {
        let price = |cents: Option<i64>| {
            cents.map_or("free".to_string(), |c| {
                format!("${}.{:02}", c / 100, c % 100)
            })
        };
        out.push_str(&format!(
            "  price        {} -> {}\n",
            price(p.before),
            price(p.after)
        ));
    }
    if let Some(diff) = &c.description_diff {
        out.push_str("  description\n");
        for l in diff.lines() {
            out.push_str(&format!("    {l}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_changes_print_each_field() {
        let c: ListingChanges = serde_json::from_value(json!({
            "since_version": "1.0.0",
            "unchanged": false,
            "summary": {"before": "Reads mail", "after": "Reads and sends mail"},
            "description_diff": "--- approved\n+++ now\n@@ -1 +1 @@\n-Read-only.\n+Sends too.\n",
            "categories_added": ["communication"],
            "categories_removed": [],
            "price_cents": {"before": null, "after": 4900}
        }))
        .expect("parses");
        let text = listing_changes_text(&c);
        assert!(text.contains("since 1.0.0: changed"), "{text}");
        assert!(text.contains("+ Reads and sends mail"), "{text}");
        assert!(text.contains("category     + communication"), "{text}");
        assert!(text.contains("free -> $49.00"), "{text}");
        assert!(text.contains("    +Sends too."), "{text}");
    }

    #[test]
    fn a_recorded_first_approval_is_told_apart_from_an_approval() {
        let answer: ApproveAnswer = serde_json::from_value(json!({
            "approvals": 1,
            "needed": 2,
            "submission": {"id": "sub_1"}
        }))
        .expect("parses");
        assert!(matches!(
            answer,
            ApproveAnswer::Recorded {
                approvals: 1,
                needed: 2
            }
        ));
    }
}
