//! The `workway` binary's integration tests, in one test binary: the
//! commands (`cli`), workflows across processes on SQLite and PostgreSQL
//! (`workflows`), integrations in Python and JavaScript (`languages`), and
//! the CI script's refusal to run without PostgreSQL (`ci_postgres`).

mod ci_postgres;
mod cli;
mod languages;
mod served;
mod workflows;

/// The submission id `plugin publish` prints: the second word of its first
/// line.
fn submission_id(published: &str) -> String {
    published
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_else(|| panic!("a submission id in {published}"))
        .to_string()
}

/// The review fingerprint a report prints (`plugin publish`, `review show`)
/// on its `fingerprint` line: what a reviewer approves with.
fn fingerprint(report: &str) -> String {
    report
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("fingerprint"))
        .and_then(|rest| rest.split_whitespace().last())
        .unwrap_or_else(|| panic!("a fingerprint in {report}"))
        .to_string()
}
