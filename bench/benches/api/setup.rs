//! What the load works on, made through the API as a client would: an
//! account signed up and signed in, an API token with the `read` and `run`
//! scopes, Slack installed and connected, a manual workflow saved, and
//! runs of it started and finished (so `GET /v1/runs/{id}` reads a run
//! with its step attempt).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use workway_fixtures::{CHANNEL, Deployment, USER, fast, first_party_scopes};
use workway_store::runs::RunStatus;
use workway_vault::oauth::token::TokenSet;

use workway_bench::load::{Answer, Call, Sender, open, send, sign_up};

/// The manual workflow every run starts: it tells Slack its input.
pub const WORKFLOW: &str = "tell";

/// The workflow's definition.
fn tell() -> String {
    format!(
        r#"
name: {WORKFLOW}
description: Tell the team what the input says.
trigger:
  kind: manual
  input_schema:
    type: object
    required: [text]
    properties:
      text: {{ type: string }}
steps:
  - id: tell
    action: slack.send-message
    input:
      channel: "{CHANNEL}"
      text: "Note: {{{{ /trigger/text }}}}"
"#
    )
}

/// The account the load acts as.
pub struct Client {
    /// A token with the `read` and `run` scopes (`wwk_...`).
    pub token: String,
    /// Every token made, [`Client::token`] first, each with the same scopes.
    pub tokens: Vec<String>,
    /// The account's id.
    pub owner: String,
}

/// Send `call`; its answer, which must have `status`.
async fn expect(sender: &mut Sender, call: Call, status: u16) -> Answer {
    let what = format!("{} {}", call.method, call.path);
    let answer = send(sender, &call).await.expect("the API answers");
    assert_eq!(
        answer.status.as_u16(),
        status,
        "{what}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    answer
}

/// Sign up an account, sign in, make `tokens_wanted` tokens (at least
/// one); install and connect Slack; save the workflow.
pub async fn client(d: &Deployment, address: SocketAddr, tokens_wanted: usize) -> Client {
    let session = sign_up(address, "bench").await;
    let (owner, cookie, csrf) = (session.id, session.cookie, session.csrf);
    let mut api = open(address).await;
    let mut tokens = Vec::with_capacity(tokens_wanted.max(1));
    for i in 0..tokens_wanted.max(1) {
        let r = expect(
            &mut api,
            Call::post_json(
                "/v1/tokens",
                &json!({"name": format!("bench {i}"), "scopes": ["read", "run"]}),
            )
            .header("cookie", cookie.clone())
            .header("x-csrf-token", csrf.clone()),
            201,
        )
        .await;
        tokens.push(r.json()["token"].as_str().expect("a token").to_string());
    }
    let token = tokens[0].clone();

    let consent = expect(
        &mut api,
        Call::get("/v1/integrations/slack/consent").bearer(&token),
        200,
    )
    .await;
    let accept = consent.json()["consent_digest"]
        .as_str()
        .expect("a consent digest")
        .to_string();
    expect(
        &mut api,
        Call::post_json(
            "/v1/installations",
            &json!({"integration": "slack", "accept": accept}),
        )
        .bearer(&token),
        201,
    )
    .await;
    connect_slack(d, &owner).await;
    expect(
        &mut api,
        Call::post("/v1/workflows", "application/yaml", tell()).bearer(&token),
        201,
    )
    .await;
    Client {
        token,
        tokens,
        owner,
    }
}

/// Connect `owner`'s Slack account with the deployment user's Slack token
/// (the mock accepts it, whoever presents it).
async fn connect_slack(d: &Deployment, owner: &str) {
    let vault = &d.platform.vault;
    let users = vault
        .find(USER, "slack")
        .await
        .expect("read")
        .expect("the deployment user's Slack connection");
    let token = vault
        .access_token(&users.info.id)
        .await
        .expect("the token opens");
    vault
        .save(
            owner,
            "slack",
            &first_party_scopes("slack"),
            &TokenSet {
                access_token: token,
                refresh_token: None,
                expires_at: None,
                scopes: None,
                account: Some("the bench's workspace".into()),
            },
        )
        .await
        .expect("connected");
}

/// The body of `POST /v1/runs` for run number `i`.
pub fn start_body(i: usize) -> serde_json::Value {
    json!({"workflow": WORKFLOW, "input": {"text": format!("run {i}")}})
}

/// Start `n` runs through the API and finish them with an executor; their
/// ids.
pub async fn finished_runs(
    d: &Deployment,
    address: SocketAddr,
    client: &Client,
    n: usize,
) -> Vec<String> {
    let mut api = open(address).await;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let r = expect(
            &mut api,
            Call::post_json("/v1/runs", &start_body(i)).bearer(&client.token),
            202,
        )
        .await;
        ids.push(r.json()["run_id"].as_str().expect("a run id").to_string());
    }
    let runs = d.platform.store.runs();
    let all_done = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        loop {
            let unfinished = runs
                .list(None, None, i64::try_from(n).unwrap_or(i64::MAX))
                .await
                .expect("readable")
                .iter()
                .filter(|r| !r.status.is_finished())
                .count();
            if unfinished == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the setup runs did not finish in 120 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    d.executor(fast()).work(all_done).await;
    for id in &ids {
        let run = runs.get(id).await.expect("readable").expect("the run");
        assert_eq!(
            run.status,
            RunStatus::Succeeded,
            "setup run {id}: {:?}",
            run.error
        );
    }
    ids
}
