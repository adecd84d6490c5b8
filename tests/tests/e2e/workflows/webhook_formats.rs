//! Webhook triggers in their senders' own formats, on SQLite and
//! PostgreSQL: Standard Webhooks, Stripe, GitHub and Slack deliveries are
//! verified as each sender documents it, both by the engine
//! (`webhook::deliver`) and through the real HTTP route on 127.0.0.1. For
//! each format a good delivery starts a run, the same delivery again (and
//! the sender's retry, signed anew) answers that run as a duplicate, and a
//! delivery signed with another secret, a tampered body, a stale
//! timestamp (where the format signs one) or missing headers is refused
//! with a message naming the header and the format, starting nothing.
//! GitHub's `ping` and Slack's `url_verification` are answered without a
//! run; Slack's form-encoded slash commands become fields. The sender's
//! own secret is set through the API, checked against the format. A
//! Standard Webhooks sender that signs asymmetrically (`v1a`, ed25519) is
//! verified under the public key (`whpk_`) it gives, its private key
//! (`whsk_`) refused as a secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use workway_engine::platform::Platform;
use workway_engine::triggers::webhook::{self, Delivered, WebhookError, formats};
use workway_store::testing::test_stores;
use workway_workflow::webhook::WebhookFormat;

use super::{Deployment, USER, deployment, inbox_to_notion};
use crate::api::client::{Api, Auth, Response, account};

/// A secret no test's sender uses, valid for every format (Standard
/// Webhooks: the base64 of 31 bytes).
const WRONG_SECRET: &str = "whsec_c2Vjb25kIGtleSBvZiB0d2VudHktZm91ciBieXRlcw==";

/// How a sender signs: the headers of a delivery of `body` (event `id`)
/// sent at `at` (Unix seconds) under `secret`.
type Signer = fn(secret: &str, id: &str, at: i64, body: &str) -> Vec<(String, String)>;

/// One sender, as the tests exercise it.
struct Sender {
    format: WebhookFormat,
    /// The secret the sender gave, set by the owner; `None`: the one the
    /// workflow was made with.
    secret: Option<&'static str>,
    sign: Signer,
    /// The body of event `id`.
    body: fn(&str) -> String,
    /// The header a wrong signature is refused in.
    signature_header: &'static str,
    /// The header a stale timestamp is refused in (`None`: no timestamp).
    timestamp_header: Option<&'static str>,
}

fn pairs(headers: &[(&str, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| ((*n).to_string(), v.clone()))
        .collect()
}

fn standard_sign(secret: &str, id: &str, at: i64, body: &str) -> Vec<(String, String)> {
    let signature =
        formats::standard::sign(secret, id, at, body.as_bytes()).expect("a Standard secret");
    pairs(&[
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", at.to_string()),
        ("webhook-signature", signature),
        ("content-type", "application/json".into()),
    ])
}

/// The seed of the key pair of the Standard Webhooks sender that signs
/// asymmetrically. The specification publishes no `v1a` test vectors
/// (see `formats::standard`'s tests), so the pair is made here from a
/// fixed seed with ed25519-dalek, as a sender would make it.
const V1A_SEED: [u8; 32] = [7; 32];

/// The public key that sender gives its receivers: `whpk_` and the
/// standard base64 of the seed's ed25519 public key.
const V1A_PUBLIC: &str = "whpk_6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw=";

/// How a Standard Webhooks sender signs asymmetrically: `v1a,<base64
/// ed25519 signature of "<id>.<at>.<body>">` with the private key paired
/// with `secret`, the public key the workflow holds; any other secret
/// (the tests' wrong one) stands for another sender's key.
fn standard_v1a_sign(secret: &str, id: &str, at: i64, body: &str) -> Vec<(String, String)> {
    use ed25519_dalek::Signer as _;
    let seed = if secret == V1A_PUBLIC {
        V1A_SEED
    } else {
        [9; 32]
    };
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let signature = key.sign(format!("{id}.{at}.{body}").as_bytes());
    pairs(&[
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", at.to_string()),
        (
            "webhook-signature",
            format!("v1a,{}", STANDARD.encode(signature.to_bytes())),
        ),
        ("content-type", "application/json".into()),
    ])
}

/// The Standard Webhooks sender that signs asymmetrically, its public key
/// set as the workflow's secret by the owner.
fn v1a_sender() -> Sender {
    Sender {
        format: WebhookFormat::StandardWebhooks,
        secret: Some(V1A_PUBLIC),
        sign: standard_v1a_sign,
        body: |id| json!({"type": "invoice.paid", "data": {"invoice": id}}).to_string(),
        signature_header: "webhook-signature",
        timestamp_header: Some("webhook-timestamp"),
    }
}

fn stripe_sign(secret: &str, _id: &str, at: i64, body: &str) -> Vec<(String, String)> {
    pairs(&[
        (
            "Stripe-Signature",
            formats::stripe::sign(secret, at, body.as_bytes()),
        ),
        ("content-type", "application/json; charset=utf-8".into()),
    ])
}

fn github_sign(secret: &str, id: &str, _at: i64, body: &str) -> Vec<(String, String)> {
    pairs(&[
        (
            "X-Hub-Signature-256",
            formats::github::sign(secret, body.as_bytes()),
        ),
        ("X-GitHub-Delivery", id.to_string()),
        ("X-GitHub-Event", "issues".into()),
        ("content-type", "application/json".into()),
    ])
}

fn slack_sign(secret: &str, _id: &str, at: i64, body: &str) -> Vec<(String, String)> {
    pairs(&[
        (
            "X-Slack-Signature",
            formats::slack::sign(secret, at, body.as_bytes()),
        ),
        ("X-Slack-Request-Timestamp", at.to_string()),
        ("content-type", "application/json".into()),
    ])
}

fn senders() -> [Sender; 4] {
    [
        Sender {
            format: WebhookFormat::StandardWebhooks,
            secret: None,
            sign: standard_sign,
            body: |id| json!({"type": "invoice.paid", "data": {"invoice": id}}).to_string(),
            signature_header: "webhook-signature",
            timestamp_header: Some("webhook-timestamp"),
        },
        Sender {
            format: WebhookFormat::Stripe,
            secret: Some("whsec_test_secret"),
            sign: stripe_sign,
            body: |id| json!({"id": id, "object": "event", "type": "invoice.paid"}).to_string(),
            signature_header: "Stripe-Signature",
            timestamp_header: Some("Stripe-Signature"),
        },
        Sender {
            format: WebhookFormat::Github,
            secret: Some("It's a Secret to Everybody"),
            sign: github_sign,
            body: |id| json!({"action": "opened", "issue": {"title": id}}).to_string(),
            signature_header: "X-Hub-Signature-256",
            timestamp_header: None,
        },
        Sender {
            format: WebhookFormat::Slack,
            secret: Some("8f742231b10e8888abcd99yyyzzz85a5"),
            sign: slack_sign,
            body: |id| {
                json!({"type": "event_callback", "event_id": id, "event": {"type": "message"}})
                    .to_string()
            },
            signature_header: "X-Slack-Signature",
            timestamp_header: Some("X-Slack-Request-Timestamp"),
        },
    ]
}

fn now_secs() -> i64 {
    workway_store::clock::now_ms() / 1000
}

/// The runs of the deployment's store, all owners.
async fn run_count(platform: &Platform) -> usize {
    platform
        .store
        .runs()
        .list(None, None, 1_000)
        .await
        .expect("listed")
        .len()
}

/// The name of the workflow taking `format`'s deliveries.
fn name_of(format: WebhookFormat) -> String {
    format!("{format}-hook")
}

/// A saved webhook workflow of `format`: its URL token and the secret its
/// sender signs with (set when the sender gives its own).
async fn webhook_workflow(d: &Deployment, sender: &Sender) -> (String, String) {
    let name = name_of(sender.format);
    let yaml = inbox_to_notion(&format!("  kind: webhook\n  format: {}", sender.format))
        .replace("name: inbox-to-notion", &format!("name: {name}"));
    let saved = d.save(&yaml).await;
    let token = saved.row.webhook_token.clone().expect("a webhook URL");
    let made = webhook::open_secret(
        &d.platform,
        &token,
        saved
            .row
            .webhook_secret
            .as_deref()
            .expect("a sealed secret"),
    )
    .expect("the owner can read the secret");
    let secret = match sender.secret {
        Some(given) => {
            let format = webhook::set_secret(&d.platform, USER, &name, given)
                .await
                .expect("the sender's secret fits its format");
            assert_eq!(format, sender.format);
            given.to_string()
        }
        None => made,
    };
    (token, secret)
}

/// Deliver through the engine.
async fn deliver(
    d: &Deployment,
    token: &str,
    headers: &[(String, String)],
    body: &str,
) -> Result<Delivered, WebhookError> {
    webhook::deliver(
        &d.platform,
        token,
        headers,
        body.as_bytes(),
        workway_store::clock::now_ms(),
    )
    .await
}

/// The run a delivery started (or had started), and whether it was a
/// duplicate.
fn run_of(delivered: Result<Delivered, WebhookError>, at: &str) -> (String, bool) {
    match delivered {
        Ok(Delivered::Run(run)) => (run.run_id, run.duplicate),
        other => panic!("{at}: not a run: {other:?}"),
    }
}

/// The refusal of a delivery's signature, as its message.
fn refused(delivered: Result<Delivered, WebhookError>, at: &str) -> String {
    match delivered {
        Err(e @ WebhookError::Signature(_)) => e.to_string(),
        other => panic!("{at}: not refused for its signature: {other:?}"),
    }
}

/// POST a delivery through the HTTP route.
async fn post(api: &Api, token: &str, headers: &[(String, String)], body: &str) -> Response {
    let headers: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    api.raw(
        "POST",
        &format!("/v1/hooks/{token}"),
        Auth::None,
        &headers,
        body.as_bytes(),
    )
    .await
}

/// Good, replayed, retried, wrongly signed, tampered, stale and unsigned
/// deliveries of `sender`, through the engine then over HTTP.
async fn exercise(d: &Deployment, sender: &Sender, label: &str) {
    let at = format!("{label}: {}", sender.format);
    let (token, secret) = webhook_workflow(d, sender).await;
    let sign = sender.sign;
    let now = now_secs();
    let runs_before = run_count(&d.platform).await;

    // Through the engine: a good delivery, the same again, a retry.
    let body = (sender.body)("evt_1");
    let first = sign(&secret, "evt_1", now, &body);
    let (run, duplicate) = run_of(deliver(d, &token, &first, &body).await, &at);
    assert!(!duplicate, "{at}");
    assert_eq!(
        run_of(deliver(d, &token, &first, &body).await, &at),
        (run.clone(), true),
        "{at}: a replay is the same run"
    );
    let retry = sign(&secret, "evt_1", now + 1, &body);
    assert_eq!(
        run_of(deliver(d, &token, &retry, &body).await, &at),
        (run.clone(), true),
        "{at}: the sender's retry, signed anew, is the same run"
    );

    // Refusals, each naming the header.
    let body = (sender.body)("evt_2");
    let wrong = sign(WRONG_SECRET, "evt_2", now, &body);
    let message = refused(deliver(d, &token, &wrong, &body).await, &at);
    assert!(
        message.contains("signature matches the body")
            && message.contains(&format!("(in `{}`)", sender.signature_header)),
        "{at}: {message}"
    );
    let good = sign(&secret, "evt_2", now, &body);
    let tampered = body.replace("evt_2", "evt_9");
    let message = refused(deliver(d, &token, &good, &tampered).await, &at);
    assert!(message.contains("matches the body"), "{at}: {message}");
    if let Some(header) = sender.timestamp_header {
        let stale = sign(&secret, "evt_2", now - 3_600, &body);
        let message = refused(deliver(d, &token, &stale, &body).await, &at);
        assert!(
            message.contains(&format!("`{header}` timestamp is"))
                && message.contains("tolerance 300 s"),
            "{at}: {message}"
        );
    }
    let message = refused(deliver(d, &token, &[], &body).await, &at);
    assert!(
        message.contains(&format!("a `{}` delivery carries", sender.format)),
        "{at}: {message}"
    );
    assert!(!message.contains(&secret), "{at}: never the secret");
    assert_eq!(run_count(&d.platform).await, runs_before + 1, "{at}");

    // Over HTTP: the same, as a sender sees it.
    let api = Api::start(d.platform.clone()).await;
    let body = (sender.body)("evt_4");
    let signed = sign(&secret, "evt_4", now_secs(), &body);
    let r = post(&api, &token, &signed, &body).await;
    assert_eq!(r.status, 202, "{at}: {}", r.body);
    let run_4 = r.json["run_id"].as_str().expect("a run id").to_string();
    assert_ne!(run_4, run, "{at}");
    let r = post(&api, &token, &signed, &body).await;
    assert_eq!(
        (
            r.status,
            r.json["run_id"].as_str(),
            r.json["duplicate"].as_bool()
        ),
        (200, Some(run_4.as_str()), Some(true)),
        "{at}: {}",
        r.body
    );
    let body = (sender.body)("evt_5");
    let mut refusals = vec![
        (sign(WRONG_SECRET, "evt_5", now_secs(), &body), body.clone()),
        (
            sign(&secret, "evt_5", now_secs(), &body),
            body.replace("evt_5", "evt_6"),
        ),
        (Vec::new(), body.clone()),
    ];
    if sender.timestamp_header.is_some() {
        refusals.push((
            sign(&secret, "evt_5", now_secs() - 3_600, &body),
            body.clone(),
        ));
    }
    for (headers, body) in refusals {
        let r = post(&api, &token, &headers, &body).await;
        assert_eq!(r.status, 401, "{at}: {}", r.body);
        let error = r.json["error"].as_str().expect("an error");
        assert!(
            error.contains(sender.signature_header)
                || sender.timestamp_header.is_some_and(|h| error.contains(h))
                || error.contains("webhook-id"),
            "{at}: the header is named: {error}"
        );
    }
    assert_eq!(run_count(&d.platform).await, runs_before + 2, "{at}");

    // The run's trigger data: the body and the sender's idempotency key.
    let stored = d
        .platform
        .store
        .runs()
        .get(&run_4)
        .await
        .expect("read")
        .expect("the run");
    let data: Value = serde_json::from_str(&stored.trigger_data).expect("JSON");
    assert_eq!(
        data["body"],
        serde_json::from_str::<Value>(&(sender.body)("evt_4")).expect("JSON"),
        "{at}"
    );
    assert_eq!(data["idempotency_key"], "evt_4", "{at}");
}

#[tokio::test]
async fn each_senders_deliveries_are_verified_deduplicated_and_refused() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        for sender in senders() {
            exercise(&d, &sender, t.label).await;
        }
        t.cleanup().await;
    }
}

#[tokio::test]
async fn handshakes_start_no_run_and_forms_become_fields() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let api = Api::start(d.platform.clone()).await;
        let [_, stripe, github, slack] = senders();

        // GitHub's ping, signed: answered, no run; unsigned: refused.
        let (token, secret) = webhook_workflow(&d, &github).await;
        let ping = json!({"zen": "Keep it logically awesome.", "hook_id": 1}).to_string();
        let mut headers = github_sign(&secret, "ping-1", 0, &ping);
        headers.retain(|(n, _)| n != "X-GitHub-Event");
        headers.push(("X-GitHub-Event".into(), "ping".into()));
        assert!(matches!(
            deliver(&d, &token, &headers, &ping).await,
            Ok(Delivered::Ping)
        ));
        let r = post(&api, &token, &headers, &ping).await;
        assert_eq!(
            (r.status, &r.json),
            (200, &json!({"ping": true})),
            "{}",
            t.label
        );
        let unsigned: Vec<_> = headers
            .iter()
            .filter(|(n, _)| n != "X-Hub-Signature-256")
            .cloned()
            .collect();
        let r = post(&api, &token, &unsigned, &ping).await;
        assert_eq!(r.status, 401, "{}: {}", t.label, r.body);
        // Another event names itself in the trigger data.
        let body = (github.body)("evt_g");
        let r = post(&api, &token, &github_sign(&secret, "d-1", 0, &body), &body).await;
        assert_eq!(r.status, 202, "{}: {}", t.label, r.body);
        let run = run_data(&d, &r).await;
        assert_eq!(
            (run["event"].as_str(), run["idempotency_key"].as_str()),
            (Some("issues"), Some("d-1"))
        );
        // A replay with a changed (unsigned) delivery id is still a
        // duplicate: GitHub signs no timestamp, so the signature is kept.
        let mut replay = github_sign(&secret, "d-2", 0, &body);
        replay.retain(|(n, _)| n != "X-GitHub-Delivery");
        replay.push(("X-GitHub-Delivery".into(), "d-forged".into()));
        let again = post(&api, &token, &replay, &body).await;
        assert_eq!(
            (again.status, again.json["run_id"].clone()),
            (200, r.json["run_id"].clone()),
            "{}: {}",
            t.label,
            again.body
        );

        // Slack's URL verification: the challenge echoed, no run.
        let (token, secret) = webhook_workflow(&d, &slack).await;
        let verification = json!({
            "token": "Jhj5dZrVaK7ZwHHjRyZWjbDl",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification"
        })
        .to_string();
        let signed = slack_sign(&secret, "", now_secs(), &verification);
        let r = post(&api, &token, &signed, &verification).await;
        assert_eq!(
            (r.status, &r.json),
            (
                200,
                &json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
            ),
            "{}",
            t.label
        );
        let forged = slack_sign(WRONG_SECRET, "", now_secs(), &verification);
        let r = post(&api, &token, &forged, &verification).await;
        assert_eq!(
            r.status, 401,
            "{}: no challenge without the secret",
            t.label
        );
        let runs = run_count(&d.platform).await;

        // A slash command, form-encoded: its fields are the trigger data.
        let command = "token=x&team_id=T1&command=%2Fweather&text=paris+tomorrow&trigger_id=1.2.3";
        let mut signed = slack_sign(&secret, "", now_secs(), command);
        signed.retain(|(n, _)| n != "content-type");
        signed.push((
            "content-type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        let r = post(&api, &token, &signed, command).await;
        assert_eq!(r.status, 202, "{}: {}", t.label, r.body);
        let data = run_data(&d, &r).await;
        assert_eq!(
            (
                data["body"]["command"].as_str(),
                data["body"]["text"].as_str()
            ),
            (Some("/weather"), Some("paris tomorrow"))
        );
        assert!(data["idempotency_key"].is_null(), "{data}");
        // An event Slack retries (new timestamp, X-Slack-Retry-Num) is one run.
        let event = (slack.body)("Ev1");
        let first = post(
            &api,
            &token,
            &slack_sign(&secret, "", now_secs(), &event),
            &event,
        )
        .await;
        assert_eq!(first.status, 202, "{}: {}", t.label, first.body);
        let mut retry = slack_sign(&secret, "", now_secs() + 1, &event);
        retry.push(("X-Slack-Retry-Num".into(), "1".into()));
        let r = post(&api, &token, &retry, &event).await;
        assert_eq!(
            (r.status, r.json["run_id"].clone()),
            (200, first.json["run_id"].clone()),
            "{}",
            t.label
        );
        assert_eq!(run_count(&d.platform).await, runs + 2, "{}", t.label);

        // A Stripe event without its id has no idempotency key: refused.
        let (token, secret) = webhook_workflow(&d, &stripe).await;
        let body = json!({"object": "event"}).to_string();
        let r = post(
            &api,
            &token,
            &stripe_sign(&secret, "", now_secs(), &body),
            &body,
        )
        .await;
        assert_eq!(r.status, 400, "{}: {}", t.label, r.body);
        assert!(r.body.contains("/id"), "{}", r.body);
        t.cleanup().await;
    }
}

/// The trigger data of the run a delivery answered.
async fn run_data(d: &Deployment, r: &Response) -> Value {
    let id = r.json["run_id"].as_str().expect("a run id");
    let run = d
        .platform
        .store
        .runs()
        .get(id)
        .await
        .expect("read")
        .expect("the run");
    serde_json::from_str(&run.trigger_data).expect("JSON")
}

#[tokio::test]
async fn the_specifications_secret_verifies_and_a_made_one_fits_its_format() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let [standard, ..] = senders();
        // The workflow's own secret is `whsec_` and standard base64.
        let (token, made) = webhook_workflow(&d, &standard).await;
        assert!(
            formats::check_secret(WebhookFormat::StandardWebhooks, &made).is_ok(),
            "{made}"
        );
        // Standard Webhooks' published test secret, set by the owner, and
        // its test message signed now.
        let name = name_of(WebhookFormat::StandardWebhooks);
        let vector = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        webhook::set_secret(&d.platform, USER, &name, vector)
            .await
            .expect("the specification's secret");
        let payload = r#"{"test": 2432232314}"#;
        let signed = standard_sign(vector, "msg_p5jXN8AQM9LWM0D4loKWxJek", now_secs(), payload);
        let (_, duplicate) = run_of(deliver(&d, &token, &signed, payload).await, t.label);
        assert!(!duplicate);
        // The old secret no longer verifies.
        let old = standard_sign(&made, "msg_2", now_secs(), payload);
        refused(deliver(&d, &token, &old, payload).await, t.label);
        // Rotating makes a new secret of the same shape.
        let rotated = webhook::rotate_secret(&d.platform, USER, &name)
            .await
            .expect("rotated");
        assert!(formats::check_secret(WebhookFormat::StandardWebhooks, &rotated).is_ok());
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_senders_secret_is_set_through_the_api_and_checked() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;
        let r = api
            .install(ann.token(), &json!({"integration": "slack"}))
            .await;
        assert!(r.status < 300, "{}: {}", t.label, r.body);
        let save = |format: &str| {
            format!(
                "name: billing\ntrigger:\n  kind: webhook\n  format: {format}\nsteps:\n  \
                 - id: tell\n    action: slack.send-message\n    input:\n      \
                 channel: C1\n      text: paid\n"
            )
        };
        let post_yaml = async |yaml: String| {
            api.raw(
                "POST",
                "/v1/workflows",
                ann.token(),
                &[("content-type", "application/yaml")],
                yaml.as_bytes(),
            )
            .await
        };
        // An unknown format is refused, naming the ones there are.
        let r = post_yaml(save("paypal")).await;
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.body);
        assert!(
            r.body.contains(
                "`paypal` is not a webhook format; use one of `workway`, \
                 `standard-webhooks`, `stripe`, `github`, `slack`"
            ),
            "{}",
            r.body
        );
        let r = post_yaml(save("stripe")).await;
        assert_eq!(r.status, 201, "{}: {}", t.label, r.body);
        let path = r.json["webhook"]["path"]
            .as_str()
            .expect("a path")
            .to_string();

        // Stripe makes the secret: rotating is refused, setting is checked.
        let r = api
            .post(
                "/v1/workflows/billing/rotate-secret",
                ann.token(),
                &json!({}),
            )
            .await;
        assert_eq!((r.status, r.code()), (409, "sender_secret"), "{}", r.body);
        let r = api
            .post(
                "/v1/workflows/billing/secret",
                ann.token(),
                &json!({"secret": "sk_live_not_a_webhook_secret"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.body);
        assert_eq!(r.json["error"]["details"]["field"], "secret", "{}", r.body);
        assert!(!r.body.contains("sk_live_not"), "never echoed: {}", r.body);
        let r = api
            .post(
                "/v1/workflows/billing/secret",
                ann.token(),
                &json!({"secret": "whsec_from_stripes_dashboard"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}: {}", t.label, r.body);
        assert_eq!(
            r.json,
            json!({"name": "billing", "path": path, "format": "stripe"})
        );
        // Another account cannot set it.
        let bob = account(&api, "bob").await;
        let r = api
            .post(
                "/v1/workflows/billing/secret",
                bob.token(),
                &json!({"secret": "whsec_mallory"}),
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.body);

        // Stripe's delivery, signed with that secret, starts a run.
        let body = json!({"id": "evt_1", "type": "invoice.paid"}).to_string();
        let signature =
            formats::stripe::sign("whsec_from_stripes_dashboard", now_secs(), body.as_bytes());
        let r = api
            .raw(
                "POST",
                &path,
                Auth::None,
                &[
                    ("content-type", "application/json"),
                    ("Stripe-Signature", &signature),
                ],
                body.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 202, "{}: {}", t.label, r.body);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn standard_webhooks_v1a_deliveries_verify_under_the_senders_public_key() {
    for t in test_stores().await {
        let d = deployment(&t).await;
        let at = t.label;
        // The public key is the seed's.
        let public = ed25519_dalek::SigningKey::from_bytes(&V1A_SEED)
            .verifying_key()
            .to_bytes();
        assert_eq!(formats::standard::encode_public_key(&public), V1A_PUBLIC);

        // Good, replayed, retried, wrongly signed, tampered, stale and
        // unsigned `v1a` deliveries, through the engine then over HTTP.
        exercise(&d, &v1a_sender(), at).await;

        // As an owner does it through the API: a standard-webhooks
        // workflow, made with a `whsec_` secret.
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;
        let r = api
            .install(ann.token(), &json!({"integration": "slack"}))
            .await;
        assert!(r.status < 300, "{at}: {}", r.body);
        let yaml = "name: billing\ntrigger:\n  kind: webhook\n  format: standard-webhooks\n\
                    steps:\n  - id: tell\n    action: slack.send-message\n    input:\n      \
                    channel: C1\n      text: paid\n";
        let r = api
            .raw(
                "POST",
                "/v1/workflows",
                ann.token(),
                &[("content-type", "application/yaml")],
                yaml.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 201, "{at}: {}", r.body);
        let token = r.json["webhook"]["path"]
            .as_str()
            .and_then(|p| p.strip_prefix("/v1/hooks/"))
            .expect("a webhook path")
            .to_string();
        let made = r.json["webhook"]["secret"]
            .as_str()
            .expect("the secret made")
            .to_string();
        assert!(made.starts_with("whsec_"), "{made}");
        let set = async |secret: &str| {
            api.post(
                "/v1/workflows/billing/secret",
                ann.token(),
                &json!({ "secret": secret }),
            )
            .await
        };

        // The sender's private key is refused, saying to give the public
        // one, and never echoed.
        let private = format!("whsk_{}", STANDARD.encode([V1A_SEED, public].concat()));
        let r = set(&private).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "invalid_input"),
            "{at}: {}",
            r.body
        );
        assert_eq!(r.json["error"]["details"]["field"], "secret", "{}", r.body);
        assert!(
            r.body.contains("private key (`whsk_...`)")
                && r.body.contains("never stored here")
                && r.body.contains("(`whpk_...`)"),
            "{at}: {}",
            r.body
        );
        assert!(!r.body.contains(&private[5..]), "never echoed: {}", r.body);
        // A public key of the wrong length says so.
        let short = format!("whpk_{}", STANDARD.encode(&public[..31]));
        let r = set(&short).await;
        assert_eq!(
            (r.status, r.code()),
            (400, "invalid_input"),
            "{at}: {}",
            r.body
        );
        assert!(
            r.body
                .contains("is the standard base64 of 32 bytes; this one decodes to 31 bytes"),
            "{at}: {}",
            r.body
        );

        // The `whsec_` secret's `v1` deliveries verify until the public
        // key is set.
        let body = json!({"type": "invoice.paid", "data": {"invoice": "v1"}}).to_string();
        let v1 = standard_sign(&made, "msg_v1", now_secs(), &body);
        let r = post(&api, &token, &v1, &body).await;
        assert_eq!(r.status, 202, "{at}: {}", r.body);
        let r = set(V1A_PUBLIC).await;
        assert_eq!(r.status, 200, "{at}: {}", r.body);
        assert_eq!(r.json["format"], "standard-webhooks", "{}", r.body);

        // Now a `v1a` delivery starts a run, and again is the same run.
        let body = json!({"type": "invoice.paid", "data": {"invoice": "v1a"}}).to_string();
        let v1a = standard_v1a_sign(V1A_PUBLIC, "msg_v1a", now_secs(), &body);
        let r = post(&api, &token, &v1a, &body).await;
        assert_eq!(r.status, 202, "{at}: {}", r.body);
        let run = r.json["run_id"].clone();
        let again = post(&api, &token, &v1a, &body).await;
        assert_eq!(
            (
                again.status,
                again.json["run_id"].clone(),
                again.json["duplicate"].clone()
            ),
            (200, run, json!(true)),
            "{at}: {}",
            again.body
        );
        // A `v1` HMAC entry alone is no longer read, and the refusal says
        // which scheme is expected.
        let body = json!({"type": "invoice.paid", "data": {"invoice": "v1-again"}}).to_string();
        let v1 = standard_sign(&made, "msg_v1_again", now_secs(), &body);
        let r = post(&api, &token, &v1, &body).await;
        assert_eq!(r.status, 401, "{at}: {}", r.body);
        let error = r.json["error"].as_str().expect("an error");
        assert!(
            error.contains("no v1a,<base64 of a 64-byte ed25519 signature> entry")
                && error.contains("under the sender's `whpk_` public key"),
            "{at}: {error}"
        );
        // Both entries, as a sender signing both ways sends them: the
        // `v1a` one matches.
        let mut both = standard_v1a_sign(V1A_PUBLIC, "msg_v1_again", now_secs(), &body);
        for (name, value) in &mut both {
            if name == "webhook-signature" {
                let hmac = v1
                    .iter()
                    .find(|(n, _)| n == "webhook-signature")
                    .map(|(_, v)| v.clone())
                    .expect("the v1 entry");
                *value = format!("{hmac} {value}");
            }
        }
        let r = post(&api, &token, &both, &body).await;
        assert_eq!(r.status, 202, "{at}: {}", r.body);
        // A bad signature, under the key: 401 naming the scheme and key.
        let forged = standard_v1a_sign(WRONG_SECRET, "msg_forged", now_secs(), &body);
        let r = post(&api, &token, &forged, &body).await;
        assert_eq!(r.status, 401, "{at}: {}", r.body);
        assert_eq!(
            r.json["error"],
            "signature refused: no v1a (ed25519) signature matches the body under this \
             workflow's `whpk_` public key (in `webhook-signature`)",
            "{at}"
        );
        t.cleanup().await;
    }
}
