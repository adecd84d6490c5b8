//! `workway review ...`: the reviewer's commands. List what waits, read a
//! submission's report at a glance, approve what was read (signing with the
//! review key), reject or revoke with a reason.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use workway_engine::review::{Registry, SubmissionDetails};
use workway_registry::approval::ReviewKey;
use workway_store::submissions::SubmissionState;

use super::plugin::{human_size, thousands};
use super::registry::{RegistryOptions, TrustOptions};
use workway_runtime::Runtime;

/// The reviewer's commands.
#[derive(Debug, Subcommand)]
#[command(after_help = "Reviewing on one machine:
  export WORKWAY_REVIEW_KEY=$(workway review new-key --id review-1)
  export WORKWAY_REVIEWERS=rita
  workway plugin publish plugins/slack
  workway review list
  workway review show <id>
  workway review approve <id> --reviewed <fingerprint from show> --as rita
  workway plugin run slack send-message --example --replay plugins/slack/replay.json")]
pub enum ReviewCommand {
    /// Submissions, newest first.
    List(ListArgs),
    /// One submission's review report and history.
    Show(ShowArgs),
    /// Approve a pending submission, signing the approval with the review key.
    Approve(DecideArgs),
    /// Reject a pending submission.
    Reject(RejectArgs),
    /// Revoke an approved submission: every host stops starting it.
    Revoke(ReasonArgs),
    /// Print a new review key for WORKWAY_REVIEW_KEY (its public half, for
    /// WORKWAY_TRUSTED_KEYS, goes to stderr).
    NewKey(NewKeyArgs),
}

/// Arguments of `workway review list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only submissions in this state: pending_review, approved, rejected or revoked.
    #[arg(long, value_parser = parse_state)]
    pub state: Option<SubmissionState>,

    #[command(flatten)]
    pub(crate) registry: RegistryOptions,
}

/// Arguments of `workway review show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The submission's id (from `workway review list`).
    pub id: String,

    #[command(flatten)]
    pub(crate) registry: RegistryOptions,
}

/// Who is acting, and who may review.
#[derive(Debug, Args)]
pub struct ReviewerOptions {
    /// Who is deciding [default: $USER].
    #[arg(long = "as", env = "WORKWAY_ACTOR", value_name = "REVIEWER")]
    pub actor: Option<String>,

    /// The platform's reviewers, comma-separated.
    #[arg(
        long,
        env = "WORKWAY_REVIEWERS",
        value_delimiter = ',',
        value_name = "NAMES"
    )]
    pub reviewers: Vec<String>,
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

    /// A note for the record.
    #[arg(long)]
    pub note: Option<String>,

    #[command(flatten)]
    pub(crate) reviewer: ReviewerOptions,

    #[command(flatten)]
    pub(crate) trust: TrustOptions,

    #[command(flatten)]
    pub(crate) registry: RegistryOptions,
}

/// Arguments of `workway review reject`.
#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The submission's id.
    pub id: String,

    /// Why: the developer and other reviewers read it.
    #[arg(long)]
    pub reason: String,

    #[command(flatten)]
    pub(crate) reviewer: ReviewerOptions,

    #[command(flatten)]
    pub(crate) registry: RegistryOptions,
}

/// Arguments of `workway review revoke`.
#[derive(Debug, Args)]
pub struct ReasonArgs {
    /// The submission's id.
    pub id: String,

    /// Why: the developer and other reviewers read it.
    #[arg(long)]
    pub reason: String,

    #[command(flatten)]
    pub(crate) reviewer: ReviewerOptions,

    #[command(flatten)]
    pub(crate) trust: TrustOptions,

    #[command(flatten)]
    pub(crate) registry: RegistryOptions,
}

/// Arguments of `workway review new-key`.
#[derive(Debug, Args)]
pub struct NewKeyArgs {
    /// The key's id, recorded in every approval it signs.
    #[arg(long, default_value = "review-1")]
    pub id: String,
}

/// A `--state` value that names no submission state.
#[derive(Debug)]
struct UnknownState;

impl std::fmt::Display for UnknownState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("use pending_review, approved, rejected or revoked")
    }
}

impl std::error::Error for UnknownState {}

fn parse_state(text: &str) -> Result<SubmissionState, UnknownState> {
    SubmissionState::parse(text).ok_or(UnknownState)
}

impl ReviewerOptions {
    fn actor(&self) -> anyhow::Result<String> {
        self.actor
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .filter(|a| !a.trim().is_empty())
            .context("say who is reviewing with --as (or WORKWAY_ACTOR)")
    }

    fn apply(&self, registry: Registry) -> Registry {
        registry.with_reviewers(
            self.reviewers
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty()),
        )
    }
}

/// Run a review command.
pub async fn run(command: ReviewCommand, runtime: Arc<Runtime>) -> anyhow::Result<ExitCode> {
    match command {
        ReviewCommand::NewKey(args) => {
            let entry = ReviewKey::generate(&args.id)
                .map_err(|e| anyhow::anyhow!("no randomness available for a new key: {e}"))?;
            let key = ReviewKey::parse(&entry)?;
            println!("{entry}");
            eprintln!("public half (for WORKWAY_TRUSTED_KEYS): {}", key.public());
        }
        ReviewCommand::List(args) => {
            let registry = args.registry.registry(runtime).await?;
            let rows = registry.list(args.state).await?;
            if rows.is_empty() {
                println!("no submissions");
            }
            for row in rows {
                println!(
                    "{:<26}  {:<14}  {} {}  {}  by {}  {}",
                    row.id,
                    row.state,
                    row.integration,
                    row.version,
                    human_size(usize::try_from(row.size).unwrap_or(0)),
                    row.submitted_by,
                    when(row.created_at)
                );
            }
        }
        ReviewCommand::Show(args) => {
            let registry = args.registry.registry(runtime).await?;
            print!("{}", details_text(&registry.show(&args.id).await?));
        }
        ReviewCommand::Approve(args) => {
            let mut registry = args.reviewer.apply(args.registry.registry(runtime).await?);
            if let Some(key) = args.trust.review_key()? {
                registry = registry.with_review_key(key);
            }
            let actor = args.reviewer.actor()?;
            let shown = registry.shown(&args.id, &args.reviewed).await?;
            let approval = registry
                .approve(&args.id, &actor, &shown, args.note.as_deref())
                .await?;
            println!(
                "approved     {} {} ({})",
                approval.claims.integration, approval.claims.version, approval.claims.digest
            );
            println!("signed by    key `{}` for {actor}", approval.key_id);
            println!(
                "may reach    {}",
                list_or_none(&approval.claims.hosts.join(", "))
            );
        }
        ReviewCommand::Reject(args) => {
            let registry = args.reviewer.apply(args.registry.registry(runtime).await?);
            let actor = args.reviewer.actor()?;
            registry.reject(&args.id, &actor, &args.reason).await?;
            println!("rejected     {}", args.id);
        }
        ReviewCommand::Revoke(args) => {
            let mut registry = args.reviewer.apply(args.registry.registry(runtime).await?);
            if let Some(key) = args.trust.review_key()? {
                registry = registry.with_review_key(key);
            }
            let actor = args.reviewer.actor()?;
            registry.revoke(&args.id, &actor, &args.reason).await?;
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

/// A Unix-ms time as an HTTP date (UTC).
fn when(ms: i64) -> String {
    let at =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
    httpdate::fmt_http_date(at)
}

/// A submission's report and history, as a reviewer reads it.
pub fn details_text(details: &SubmissionDetails) -> String {
    let row = &details.row;
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
    line("fingerprint", &report.reviewed().fingerprint());
    line(
        "size",
        &human_size(usize::try_from(report.size).unwrap_or(usize::MAX)),
    );
    line("manifest", &format!("sha256 {}", report.manifest_sha256));
    line(
        "contract",
        &format!("workway:plugin@{}", report.contract_version),
    );
    let imports = grouped_imports(&report.imports);
    if imports.is_empty() {
        line("imports", "(nothing)");
    }
    for (i, group) in imports.iter().enumerate() {
        line(if i == 0 { "imports" } else { "" }, group);
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
    out.push_str("history\n");
    for event in &details.events {
        out.push_str(&format!(
            "  {}  {:<14}  {}{}\n",
            when(event.at),
            event.to_state,
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
