//! `workway search [QUERY]`: the marketplace's integrations, found by
//! words and filtered by category, price and OAuth provider, a page at a
//! time (`GET /v1/integrations`), as a table with the command that shows
//! the next page.

use std::process::ExitCode;

use clap::Args;
use serde::Deserialize;

use crate::client::{ApiClient, ServerOptions};

/// Arguments of `workway search`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to look for in names, summaries and descriptions (the last one
    /// may be the start of a word); everything when left out.
    pub query: Option<String>,
    /// Only this category: communication, productivity, crm, finance,
    /// developer-tools, marketing, storage or other.
    #[arg(long)]
    pub category: Option<String>,
    /// Only free or only paid integrations.
    #[arg(long, value_name = "free|paid")]
    pub price: Option<String>,
    /// Only integrations that use this OAuth provider (google, notion, slack, stripe).
    #[arg(long)]
    pub provider: Option<String>,
    /// The order: relevance (with a query), installs, rating or newest.
    #[arg(long)]
    pub sort: Option<String>,
    /// How many (at most 100).
    #[arg(long, default_value_t = 20)]
    pub limit: i64,
    /// Where the page starts (printed after the previous page).
    #[arg(long)]
    pub cursor: Option<String>,
}

/// One integration found, as the API shows it.
#[derive(Debug, Deserialize)]
struct Found {
    name: String,
    version: String,
    summary: String,
    price_cents: Option<i64>,
    publisher: Option<String>,
    verified: bool,
    installs: i64,
    rating_tenths: Option<i64>,
}

/// A page of results.
#[derive(Debug, Deserialize)]
struct Page {
    items: Vec<Found>,
    next_cursor: Option<String>,
}

/// `cents` as a price column: `free` or `$49.00`.
fn price(cents: Option<i64>) -> String {
    match cents {
        None => "free".into(),
        Some(c) => format!("${}.{:02}", c / 100, c % 100),
    }
}

/// A rating in tenths as `4.5★`, or `-` before the first rating.
fn rating(tenths: Option<i64>) -> String {
    match tenths {
        None => "-".into(),
        Some(t) => format!("{}.{}★", t / 10, t % 10),
    }
}

/// `text` cut to `width` characters, with `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// The same search from `cursor` on, as a command line.
fn next_command(args: &SearchArgs, cursor: &str) -> String {
    let mut line = String::from("workway search");
    if let Some(q) = &args.query {
        line.push_str(&format!(" {q:?}"));
    }
    for (flag, value) in [
        ("category", &args.category),
        ("price", &args.price),
        ("provider", &args.provider),
        ("sort", &args.sort),
    ] {
        if let Some(value) = value {
            line.push_str(&format!(" --{flag} {value}"));
        }
    }
    if args.limit != 20 {
        line.push_str(&format!(" --limit {}", args.limit));
    }
    line.push_str(&format!(" --cursor {cursor}"));
    line
}

/// Run `workway search`.
pub async fn search(args: SearchArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    let mut query = vec![("limit", args.limit.to_string())];
    for (name, value) in [
        ("q", &args.query),
        ("category", &args.category),
        ("price", &args.price),
        ("provider", &args.provider),
        ("sort", &args.sort),
        ("cursor", &args.cursor),
    ] {
        query.extend(value.clone().map(|v| (name, v)));
    }
    let page: Page = client.get(&["v1", "integrations"], &query).await?;
    if page.items.is_empty() {
        println!("nothing found");
    } else {
        println!(
            "{:<24} {:<9} {:<8} {:>8} {:>6}  {:<20} SUMMARY",
            "NAME", "VERSION", "PRICE", "INSTALLS", "RATING", "PUBLISHER"
        );
    }
    for found in &page.items {
        let publisher = match (&found.publisher, found.verified) {
            (Some(name), true) => format!("{} ✓", cut(name, 18)),
            (Some(name), false) => cut(name, 20),
            (None, _) => "-".into(),
        };
        println!(
            "{:<24} {:<9} {:<8} {:>8} {:>6}  {:<20} {}",
            cut(&found.name, 24),
            cut(&found.version, 9),
            price(found.price_cents),
            found.installs,
            rating(found.rating_tenths),
            publisher,
            cut(&found.summary, 60)
        );
    }
    if let Some(cursor) = page.next_cursor {
        eprintln!("more: {}", next_command(&args, &cursor));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_show_prices_ratings_and_the_next_page() {
        assert_eq!(price(None), "free");
        assert_eq!(price(Some(4_900)), "$49.00");
        assert_eq!(rating(Some(45)), "4.5★");
        assert_eq!(rating(None), "-");
        assert_eq!(cut("abcdef", 4), "abc…");
        let args = SearchArgs {
            query: Some("send email".into()),
            category: Some("communication".into()),
            price: None,
            provider: None,
            sort: None,
            limit: 20,
            cursor: None,
        };
        assert_eq!(
            next_command(&args, "ab12"),
            "workway search \"send email\" --category communication --cursor ab12"
        );
    }
}
