//! `workway billing usage | statements | credit`, `workway buy` and `workway
//! earnings`: what the
//! signed-in account's executions cost this month, its statements, and
//! (for developers) their share of usage by month and integration, read
//! from the API (`/v1/billing/...`, `/v1/developer/earnings`); buying a
//! paid integration (`POST /v1/integrations/{name}/purchase`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde::Deserialize;

use crate::client::{ApiClient, ServerOptions};

/// `workway billing ...`.
#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// This month's executions: free ones left, light and heavy counts,
    /// charges so far, per integration.
    Usage(UsageArgs),
    /// Your monthly statements, and the draft of the next one.
    Statements,
    /// Your prepaid credit (statements draw it down before invoicing);
    /// `--buy CENTS` buys more.
    Credit(CreditArgs),
}

/// Arguments of `workway billing credit`.
#[derive(Debug, Args)]
pub struct CreditArgs {
    /// Buy this much credit, in cents (500 to 100000).
    #[arg(long, value_name = "CENTS")]
    pub buy: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct Credit {
    balance_mills: i64,
    checkout_url: Option<String>,
}

/// Arguments of `workway buy`.
#[derive(Debug, Args)]
pub struct BuyArgs {
    /// The paid integration to buy.
    pub integration: String,
}

#[derive(Debug, Deserialize)]
struct Purchase {
    integration: String,
    price_cents: i64,
    fee_estimate_cents: i64,
    fee_cents: Option<i64>,
    state: String,
    provider: String,
}

#[derive(Debug, Deserialize)]
struct Bought {
    purchase: Purchase,
    checkout_url: Option<String>,
}

/// Arguments of `workway billing usage`.
#[derive(Debug, Args)]
pub struct UsageArgs {
    /// Another month than this one (`YYYY-MM`, UTC).
    #[arg(long)]
    pub month: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Prices {
    free_per_month: i64,
    light_mills: i64,
    heavy_mills: i64,
}

#[derive(Debug, Deserialize)]
struct IntegrationUsage {
    integration: String,
    free: i64,
    light: i64,
    heavy: i64,
    failed: i64,
    charges_mills: i64,
}

#[derive(Debug, Deserialize)]
struct Usage {
    month: String,
    prices: Prices,
    free_used: i64,
    free_left: i64,
    light: i64,
    heavy: i64,
    failed: i64,
    charges_mills: i64,
    integrations: Vec<IntegrationUsage>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    free: i64,
    light: i64,
    heavy: i64,
    failed: i64,
    late: i64,
}

#[derive(Debug, Deserialize)]
struct Invoice {
    state: String,
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Statement {
    id: String,
    month: String,
    adjustment_mills: i64,
    amount_cents: i64,
    summary: Summary,
    invoice: Option<Invoice>,
}

#[derive(Debug, Deserialize)]
struct Payout {
    statement_id: String,
    amount_cents: i64,
    state: String,
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Draft {
    month: String,
    total_mills: i64,
    adjustment_mills: i64,
    summary: Summary,
}

#[derive(Debug, Deserialize)]
struct StatementsPage {
    draft: Option<Draft>,
    items: Vec<Statement>,
}

#[derive(Debug, Deserialize)]
struct Earning {
    integration: String,
    month: String,
    charged: i64,
    share_mills: i64,
}

#[derive(Debug, Deserialize)]
struct Earnings {
    credited: Vec<Earning>,
    pending: Vec<Earning>,
    statements: Vec<Statement>,
    payouts: Vec<Payout>,
}

pub use workway_engine::billing::tariff::{show_cents as cents, show_mills as mills};

/// Run `workway billing ...`.
pub async fn run(command: BillingCommand, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    match command {
        BillingCommand::Usage(args) => {
            let query: Vec<(&str, String)> = args.month.into_iter().map(|m| ("month", m)).collect();
            let usage: Usage = client.get(&["v1", "billing", "usage"], &query).await?;
            print_usage(&usage);
        }
        BillingCommand::Credit(args) => {
            let credit: Credit = match args.buy {
                Some(cents) => {
                    client
                        .post(
                            &["v1", "billing", "credit"],
                            &serde_json::json!({ "amount_cents": cents }),
                        )
                        .await?
                }
                None => client.get(&["v1", "billing", "credit"], &[]).await?,
            };
            if let Some(url) = credit.checkout_url {
                println!("pay for the credit at {url}");
            }
            println!("prepaid credit left: {}", mills(credit.balance_mills));
        }
        BillingCommand::Statements => {
            let page: StatementsPage = client.get(&["v1", "billing", "statements"], &[]).await?;
            if let Some(draft) = &page.draft {
                println!(
                    "{} (draft): {} so far, {} of earlier months; {} free, {} light, {} heavy, {} failed",
                    draft.month,
                    mills(draft.total_mills),
                    mills(draft.adjustment_mills),
                    draft.summary.free,
                    draft.summary.light,
                    draft.summary.heavy,
                    draft.summary.failed,
                );
            }
            print_statements(&page.items);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_usage(usage: &Usage) {
    println!(
        "{}: {} of {} free executions used, {} left",
        usage.month, usage.free_used, usage.prices.free_per_month, usage.free_left
    );
    println!(
        "charged: {} light ({} each), {} heavy ({} each); {} failed (never charged)",
        usage.light,
        mills(usage.prices.light_mills),
        usage.heavy,
        mills(usage.prices.heavy_mills),
        usage.failed
    );
    println!("charges so far: {}", mills(usage.charges_mills));
    if !usage.integrations.is_empty() {
        println!(
            "\n{:<24} {:>6} {:>6} {:>6} {:>7} {:>10}",
            "INTEGRATION", "FREE", "LIGHT", "HEAVY", "FAILED", "CHARGES"
        );
        for i in &usage.integrations {
            println!(
                "{:<24} {:>6} {:>6} {:>6} {:>7} {:>10}",
                i.integration,
                i.free,
                i.light,
                i.heavy,
                i.failed,
                mills(i.charges_mills)
            );
        }
    }
}

fn print_statements(items: &[Statement]) {
    if items.is_empty() {
        println!("no finalized statements yet");
        return;
    }
    println!(
        "{:<8} {:>10} {:>12} {:>9} {:>6} {:>6} {:>6}  {:<15} ID",
        "MONTH", "AMOUNT", "ADJUSTMENTS", "LATE", "FREE", "LIGHT", "HEAVY", "INVOICE"
    );
    for s in items {
        let invoice = match (&s.invoice, s.amount_cents) {
            (Some(i), _) => i.state.as_str(),
            (None, 0) => "nothing due",
            (None, _) => "being sent",
        };
        println!(
            "{:<8} {:>10} {:>12} {:>9} {:>6} {:>6} {:>6}  {:<15} {}",
            s.month,
            cents(s.amount_cents),
            mills(s.adjustment_mills),
            s.summary.late,
            s.summary.free,
            s.summary.light,
            s.summary.heavy,
            invoice,
            s.id
        );
        if let Some(url) = s.invoice.as_ref().and_then(|i| i.url.as_deref())
            && s.invoice.as_ref().is_some_and(|i| i.state != "paid")
        {
            println!("         pay at {url}");
        }
    }
}

/// Run `workway buy`: buy a paid integration through the server's
/// payment provider; paid at once, or pay at the checkout page printed.
pub async fn buy(args: BuyArgs, server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    let bought: Bought = client
        .post(
            &["v1", "integrations", &args.integration, "purchase"],
            &serde_json::json!({}),
        )
        .await?;
    let p = &bought.purchase;
    match (&bought.checkout_url, p.fee_cents) {
        (Some(url), _) => {
            println!(
                "pay {} for {} at {url} (card fee about {}); then `workway install {}`",
                cents(p.price_cents),
                p.integration,
                cents(p.fee_estimate_cents),
                p.integration
            );
        }
        (None, fee) => {
            let fee = fee.unwrap_or(p.fee_estimate_cents);
            println!(
                "bought {} for {} ({}; card fee {}, the developer receives {}); now `workway install {}`",
                p.integration,
                cents(p.price_cents),
                p.state,
                cents(fee),
                cents(p.price_cents - fee),
                p.integration
            );
            if p.provider == "local" {
                eprintln!(
                    "note: this server's payment provider is `local`: nothing was charged (not for production)"
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Run `workway earnings`.
pub async fn earnings(server: &ServerOptions) -> anyhow::Result<ExitCode> {
    let client = ApiClient::from_options(server)?;
    let earnings: Earnings = client.get(&["v1", "developer", "earnings"], &[]).await?;
    if earnings.credited.is_empty() && earnings.pending.is_empty() {
        println!(
            "no earnings yet: your share is 70% of each charged execution of your integrations"
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<8} {:<24} {:>8} {:>10}  STATE",
        "MONTH", "INTEGRATION", "CHARGED", "SHARE"
    );
    for (state, lines) in [
        ("pending", &earnings.pending),
        ("credited", &earnings.credited),
    ] {
        for e in lines {
            println!(
                "{:<8} {:<24} {:>8} {:>10}  {state}",
                e.month,
                e.integration,
                e.charged,
                mills(e.share_mills)
            );
        }
    }
    if !earnings.statements.is_empty() {
        println!("\nstatements:");
        for s in &earnings.statements {
            println!("{:<8} {:>10}  {}", s.month, cents(s.amount_cents), s.id);
        }
    }
    if !earnings.payouts.is_empty() {
        println!("\npayouts (what you were owed, to the cent):");
        for p in &earnings.payouts {
            let reason = p.reason.as_deref().unwrap_or("");
            println!(
                "{:>10}  {:<8} {}  {reason}",
                cents(p.amount_cents),
                p.state,
                p.statement_id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_shown_to_the_mill_or_the_cent() {
        assert_eq!(mills(50), "$0.050");
        assert_eq!(mills(12_345), "$12.345");
        assert_eq!(mills(-35), "-$0.035");
        assert_eq!(cents(5_000), "$50.00");
        assert_eq!(cents(7), "$0.07");
    }
}
