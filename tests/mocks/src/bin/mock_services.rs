//! `mock-services <dir>`: the local stand-ins for Slack, Gmail and Notion,
//! for trying workflows on a machine without their accounts (the
//! quickstart uses it). Each listens over TLS on 127.0.0.1 with a
//! certificate from a fresh test CA. It writes `<dir>/ca.pem` and a host
//! configuration `<dir>/workway.toml` whose `[egress]` sends the services'
//! real host names to the stand-ins and trusts the CA, prints the tokens
//! the stand-ins accept, and serves until killed.

use std::path::PathBuf;

use workway_mocks::TestCa;
use workway_mocks::services::AcceptedTokens;
use workway_mocks::services::gmail::{self, GmailMock, SeedMessage};
use workway_mocks::services::notion::{self, NotionMock};
use workway_mocks::services::slack::{self, Channel, SlackMock};

/// The token each stand-in accepts.
const TOKENS: [(&str, &str); 3] = [
    ("slack", "xoxb-local-stand-in"),
    ("google", "ya29.local-stand-in"),
    ("notion", "secret_local-stand-in"),
];

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/mock-services".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let ca = TestCa::new();
    let ca_pem = ca.write_pem(&dir);
    let slack = SlackMock::start(&ca, AcceptedTokens::exactly(TOKENS[0].1)).await;
    slack.add_channel(Channel::public("C0123ABCD", "general"));
    let gmail = GmailMock::start(&ca, AcceptedTokens::exactly(TOKENS[1].1)).await;
    gmail.add_message(SeedMessage::new(
        "\"Ada Lovelace\" <ada@example.com>",
        &["me@example.com"],
        "Invoice 42 is due",
        "Hello,\n\nInvoice 42 for 1,200 EUR is due on Friday.\n\nAda",
    ));
    let notion = NotionMock::start(&ca, AcceptedTokens::exactly(TOKENS[2].1)).await;
    notion.add_database(
        "5c6a2821-6bb1-4a7e-b6e1-c50111515c3d",
        "Inbox triage",
        &[("Name", "title"), ("From", "email")],
    );
    let config = format!(
        "# Written by mock-services: the services' host names go to local stand-ins.\n\
         [egress]\noverrides = [\n    \"{}:443=127.0.0.1:{}\",\n    \"{}:443=127.0.0.1:{}\",\n    \"{}:443=127.0.0.1:{}\",\n]\n\
         extra_root_certificates = [{:?}]\n",
        slack::HOST,
        slack.port(),
        gmail::HOST,
        gmail.port(),
        notion::HOST,
        notion.port(),
        ca_pem.display().to_string(),
    );
    std::fs::write(dir.join("workway.toml"), config)?;
    for (provider, token) in TOKENS {
        println!("{provider} token: {token}");
    }
    println!("host configuration: {}", dir.join("workway.toml").display());
    tokio::signal::ctrl_c().await?;
    Ok(())
}
