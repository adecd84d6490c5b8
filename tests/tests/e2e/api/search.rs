//! The marketplace search through the API (`GET /v1/integrations`), on
//! SQLite and PostgreSQL: a name match ranked above a description-only
//! one, stemming and prefixes, each filter, each order, cursor pages that
//! cover every result once, a revoked integration gone and a listing edit
//! found at once, hostile words answered cleanly (never a 500), bad
//! parameters refused by name, the same public results for every account
//! and nothing private in them.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use workway_engine::accounts::Role;
use workway_store::Store;
use workway_store::listings::ListingFields;
use workway_store::submissions::{NewSubmission, SubmissionState, Transition};
use workway_store::testing::{TestStore, test_stores};

use super::client::{Api, Auth, Response, account, encode, with_roles};
use crate::workflows::Deployment;

/// Approve `name` 1.0.0 straight in the store (a manifest asking
/// `providers` for no scopes), owned by `owner`, and write its listing.
async fn seed(
    store: &Store,
    owner: &str,
    name: &str,
    listing: (&str, &str, &str, Option<i64>),
    providers: &[&str],
    now: i64,
) {
    let mut manifest = format!(
        "name = \"{name}\"\nversion = \"1.0.0\"\npublisher = \"seed\"\ndescription = \"{name}\"\n"
    );
    for p in providers {
        manifest.push_str(&format!("[oauth.{p}]\nscopes = []\n"));
    }
    let id = format!("sub_seed_{name}");
    store
        .submissions()
        .insert(&NewSubmission {
            id: &id,
            integration: name,
            version: "1.0.0",
            digest: &format!("sha256:{name}"),
            manifest: &manifest,
            manifest_sha256: "seeded",
            contract_version: "0.1.0",
            size: 1,
            submitted_by: owner,
            report: "{}",
            now,
        })
        .await
        .expect("submitted");
    store
        .submissions()
        .approve(
            &Transition {
                id: &id,
                from: SubmissionState::PendingReview,
                to: SubmissionState::Approved,
                actor: "rita",
                reason: None,
                approval: Some("{}"),
                now,
            },
            name,
            owner,
        )
        .await
        .expect("approved");
    let (summary, description, categories, price_cents) = listing;
    store
        .listings()
        .put(&ListingFields {
            name,
            summary,
            description,
            categories,
            changelog: "{}",
            price_cents,
            updated_by: owner,
            now,
        })
        .await
        .expect("listed");
}

/// Set `name`'s installs and ratings as the figures' code keeps them.
async fn figures(t: &TestStore, name: &str, installs: i64, count: i64, sum: i64) {
    t.tamper(
        &format!(
            "INSERT INTO integration_stats (integration, installs_current, installs_total, \
             rating_count, rating_sum, updated_at) VALUES ($1, {installs}, {installs}, {count}, \
             {sum}, 0) ON CONFLICT (integration) DO UPDATE SET \
             installs_current = excluded.installs_current, rating_count = excluded.rating_count, \
             rating_sum = excluded.rating_sum"
        ),
        &[name],
    )
    .await;
}

/// `GET /v1/integrations?query` as `auth`.
async fn search(api: &Api, auth: Auth<'_>, query: &[(&str, &str)]) -> Response {
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    api.get(&format!("/v1/integrations?{}", query.join("&")), auth)
        .await
}

/// The names of one page of results.
async fn names(api: &Api, auth: Auth<'_>, query: &[(&str, &str)]) -> Vec<String> {
    let r = search(api, auth, query).await;
    assert_eq!(r.status, 200, "{query:?}: {}", r.json);
    r.json["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["name"].as_str().expect("a name").to_string())
        .collect()
}

/// `all` with only the seeded names, in order.
fn seeded(all: Vec<String>) -> Vec<String> {
    all.into_iter()
        .filter(|n| SEEDED.contains(&n.as_str()))
        .collect()
}

const SEEDED: [&str; 4] = ["digest-mailer", "ledger-sync", "row-keeper", "crm-bridge"];

/// The four seeded integrations: `digest-mailer` mentions Slack only in
/// its description and sends email; `ledger-sync` is paid ($49, Stripe);
/// `row-keeper` is paid ($19, Google); `crm-bridge` is free, in crm.
async fn seed_all(t: &TestStore, owner: &str) {
    let s = &t.store;
    seed(
        s,
        owner,
        "digest-mailer",
        (
            "Daily digests by email",
            "Collects the day's events and sends a digest; can also copy it to Slack.",
            "[\"communication\"]",
            None,
        ),
        &["google"],
        10_000,
    )
    .await;
    seed(
        s,
        owner,
        "ledger-sync",
        (
            "Ledger entries from charges",
            "Books every charge into the ledger.",
            "[\"finance\"]",
            Some(4_900),
        ),
        &["stripe"],
        20_000,
    )
    .await;
    seed(
        s,
        owner,
        "row-keeper",
        (
            "Rows kept in spreadsheets",
            "Appends a row per event.",
            "[\"productivity\",\"storage\"]",
            Some(1_900),
        ),
        &["google"],
        30_000,
    )
    .await;
    seed(
        s,
        owner,
        "crm-bridge",
        (
            "Contacts into your CRM",
            "Keeps contacts in step.",
            "[\"crm\"]",
            None,
        ),
        &[],
        40_000,
    )
    .await;
}

#[tokio::test]
async fn the_marketplace_is_searched_ranked_filtered_sorted_and_paged() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let l = t.label;
        let (olga, olga_token) = with_roles(
            &api,
            &t.store,
            "olga",
            &[Role::Developer],
            &["read", "publish"],
        )
        .await;
        let r = api
            .call(
                "PUT",
                "/v1/developer/profile",
                Auth::Token(&olga_token),
                Some(&json!({
                    "display_name": "Olga's Tools",
                    "support_contact": "help@olga.example",
                    "payout_account": "acct_secret_1",
                })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        seed_all(&t, &olga.id).await;
        let user = account(&api, "ursula").await;
        let me = user.token();

        // Ranking: the integration named Slack (and summarised so) comes
        // before one that mentions it only in its description.
        let found = names(&api, me, &[("q", "slack")]).await;
        let at = |n: &str| found.iter().position(|f| f == n);
        assert_eq!(at("slack"), Some(0), "{l}: {found:?}");
        assert!(at("digest-mailer").is_some(), "{l}: {found:?}");
        // A prefix of the last word; stemming ("sending" finds "sends").
        assert!(
            names(&api, me, &[("q", "sla")])
                .await
                .contains(&"slack".into())
        );
        let sending: BTreeSet<String> = names(&api, me, &[("q", "sending")])
            .await
            .into_iter()
            .collect();
        assert!(
            sending.contains("digest-mailer") && sending.contains("gmail"),
            "{l}: {sending:?}"
        );
        assert_eq!(
            names(&api, me, &[("q", "ledger charges")]).await,
            ["ledger-sync"],
            "{l}"
        );

        // Each filter.
        let newest = ("sort", "newest");
        assert_eq!(
            names(&api, me, &[("category", "crm"), newest]).await,
            ["crm-bridge"],
            "{l}"
        );
        assert_eq!(
            seeded(names(&api, me, &[("provider", "google"), newest]).await),
            ["row-keeper", "digest-mailer"],
            "{l}"
        );
        assert!(
            names(&api, me, &[("provider", "google")])
                .await
                .contains(&"gmail".into())
        );
        assert_eq!(
            names(&api, me, &[("price", "paid"), newest]).await,
            ["row-keeper", "ledger-sync"],
            "{l}"
        );
        assert_eq!(
            seeded(names(&api, me, &[("price", "free"), newest]).await),
            ["crm-bridge", "digest-mailer"],
            "{l}"
        );
        assert_eq!(
            seeded(names(&api, me, &[("max_price_cents", "2000"), newest]).await),
            ["crm-bridge", "row-keeper", "digest-mailer"],
            "{l}"
        );

        // Each order (installs and ratings as the figures' code keeps them).
        figures(&t, "ledger-sync", 900, 2, 9).await;
        figures(&t, "row-keeper", 900, 4, 18).await;
        figures(&t, "crm-bridge", 50, 1, 5).await;
        assert_eq!(
            seeded(names(&api, me, &[]).await),
            ["ledger-sync", "row-keeper", "crm-bridge", "digest-mailer"],
            "{l}: installs by default, ties by name"
        );
        assert_eq!(
            seeded(names(&api, me, &[("sort", "rating")]).await),
            ["crm-bridge", "row-keeper", "ledger-sync", "digest-mailer"],
            "{l}: 5.0, then 4.5 with more ratings"
        );
        assert_eq!(
            seeded(names(&api, me, &[newest]).await),
            ["crm-bridge", "row-keeper", "ledger-sync", "digest-mailer"],
            "{l}"
        );
        assert_eq!(
            names(&api, me, &[("q", "rows"), ("sort", "installs")]).await,
            ["row-keeper"]
        );

        // What a result shows; nothing private.
        let r = search(&api, me, &[("q", "ledger")]).await;
        let item = &r.json["items"][0];
        assert_eq!(item["name"], "ledger-sync", "{}", r.json);
        assert_eq!(item["summary"], "Ledger entries from charges");
        assert_eq!(item["categories"], json!(["finance"]));
        assert_eq!(item["providers"], json!(["stripe"]));
        assert_eq!(item["price_cents"], 4_900);
        assert_eq!(item["publisher"], "Olga's Tools");
        assert_eq!(item["verified"], false);
        assert_eq!(item["installs"], 900);
        assert_eq!(
            (&item["rating_count"], &item["rating_tenths"]),
            (&json!(2), &json!(45))
        );
        assert_eq!(item["version"], "1.0.0");
        assert_eq!(item["icon_url"], Value::Null);
        assert_eq!(r.json["next_cursor"], Value::Null);
        assert!(!r.json.to_string().contains("acct_secret_1"));

        // Pages cover every result once, in every order.
        for sort in ["installs", "rating", "newest"] {
            let whole = names(&api, me, &[("sort", sort), ("limit", "100")]).await;
            let mut paged = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let mut query = vec![("sort", sort), ("limit", "3")];
                if let Some(c) = &cursor {
                    query.push(("cursor", c));
                }
                let r = search(&api, me, &query).await;
                assert_eq!(r.status, 200, "{}", r.json);
                let items = r.json["items"].as_array().expect("items");
                assert!(items.len() <= 3);
                paged.extend(
                    items
                        .iter()
                        .map(|i| i["name"].as_str().expect("a name").to_string()),
                );
                match r.json["next_cursor"].as_str() {
                    Some(next) => cursor = Some(next.to_string()),
                    None => break,
                }
            }
            assert_eq!(paged, whole, "{l} {sort}");
            let unique: BTreeSet<&String> = paged.iter().collect();
            assert_eq!(unique.len(), paged.len(), "{l} {sort}: no duplicates");
            assert_eq!(paged.len(), 8, "{l}: four first-party and four seeded");
        }

        // Another account sees the same public results.
        let other = account(&api, "victor").await;
        assert_eq!(
            names(&api, other.token(), &[("q", "ledger")]).await,
            ["ledger-sync"]
        );
        assert_eq!(
            names(&api, other.token(), &[("sort", "newest"), ("limit", "100")]).await,
            names(&api, me, &[("sort", "newest"), ("limit", "100")]).await
        );
        t.cleanup().await;
    }
}

/// Publish `evolving` 1.0.0 as `dev` and approve it as `reviewer`: the
/// submission's id.
async fn publish_evolving(api: &Api, dev: Auth<'_>, reviewer: Auth<'_>) -> String {
    let s = crate::registry::evolving("1.0.0", &["https://api.example.com"]);
    let body = json!({"manifest": s.manifest, "component": STANDARD.encode(s.component)});
    let r = api.post("/v1/submissions", dev, &body).await;
    assert_eq!(r.status, 201, "{}", r.json);
    let id = r.json["id"].as_str().expect("an id").to_string();
    let shown = api.get(&format!("/v1/submissions/{id}"), reviewer).await;
    let fingerprint = shown.json["fingerprint"].as_str().expect("a fingerprint");
    let r = api
        .post(
            &format!("/v1/reviews/{id}/approve"),
            reviewer,
            &json!({"fingerprint": fingerprint}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    id
}

#[tokio::test]
async fn published_edited_and_revoked_integrations_are_found_as_they_stand() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let l = t.label;
        let (_, dev_token) = with_roles(
            &api,
            &t.store,
            "olga",
            &[Role::Developer],
            &["read", "publish"],
        )
        .await;
        let dev = Auth::Token(&dev_token);
        let (_, rita_token) = with_roles(
            &api,
            &t.store,
            "rita",
            &[Role::Reviewer],
            &["read", "review"],
        )
        .await;
        let rita = Auth::Token(&rita_token);
        let user = account(&api, "ursula").await;
        let me = user.token();

        // Approved: found by its manifest's words before it has a listing.
        let id = publish_evolving(&api, dev, rita).await;
        assert_eq!(
            names(&api, me, &[("q", "two builds")]).await,
            ["evolving"],
            "{l}"
        );

        // A listing written through the API is found at once.
        let r = api
            .call(
                "PUT",
                "/v1/integrations/evolving/listing",
                dev,
                Some(&json!({
                    "summary": "Answers with its version number",
                    "description": "A **kaleidoscope** of versions.",
                    "categories": ["developer-tools"],
                    "price_cents": null,
                    "changelog": {"1.0.0": "First."},
                })),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(
            names(&api, me, &[("q", "kaleidoscope")]).await,
            ["evolving"],
            "{l}"
        );
        assert_eq!(
            names(&api, me, &[("category", "developer-tools")]).await,
            ["evolving"],
            "{l}"
        );
        assert!(names(&api, me, &[("q", "two builds")]).await.is_empty());

        // Revoked, it is gone from every search.
        let r = api
            .post(
                &format!("/v1/reviews/{id}/revoke"),
                rita,
                &json!({"reason": "withdrawn"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert!(names(&api, me, &[("q", "kaleidoscope")]).await.is_empty());
        assert!(
            !names(&api, me, &[("limit", "100")])
                .await
                .contains(&"evolving".into()),
            "{l}"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn hostile_words_and_bad_parameters_are_answered_cleanly() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let user = account(&api, "ursula").await;
        let me = user.token();
        let l = t.label;

        let long = "slack ".repeat(2_000);
        for q in [
            "\"",
            "\"slack",
            "slack\" OR \"",
            "NEAR(slack gmail, 2)",
            "slack NEAR gmail",
            "*",
            "sla*",
            "name:slack",
            ":*",
            "slack & gmail | !stripe",
            "!!!",
            "(((slack",
            "slack)",
            "' OR 1=1 --",
            "\\",
            "AND",
            "-slack +gmail",
            "{name}: slack",
            "the",
            "%00",
            "\0slack",
            "é🙂",
            long.as_str(),
        ] {
            let r = search(&api, me, &[("q", q)]).await;
            assert!(
                r.status == 200 || (r.status == 400 && r.json["error"]["details"]["field"] == "q"),
                "{l} `{}`: {} {}",
                q.chars().take(40).collect::<String>(),
                r.status,
                r.json
            );
        }
        let r = search(&api, me, &[("q", &long)]).await;
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
        assert_eq!(r.json["error"]["details"]["field"], "q");

        for (query, field, says) in [
            (vec![("category", "toys")], "category", "developer-tools"),
            (vec![("sort", "random")], "sort", "newest"),
            (vec![("price", "cheap")], "price", "free or paid"),
            (vec![("max_price_cents", "-1")], "max_price_cents", "cents"),
            (vec![("max_price_cents", "1.5")], "max_price_cents", "cents"),
            (vec![("provider", "myspace")], "provider", "slack"),
            (vec![("limit", "0")], "limit", "1 to 100"),
            (vec![("limit", "101")], "limit", "1 to 100"),
            (vec![("cursor", "nope")], "cursor", "next_cursor"),
            (vec![("sort", "relevance")], "sort", "q"),
            (vec![("colour", "red")], "query", "takes q"),
        ] {
            let r = search(&api, me, &query).await;
            assert_eq!(
                (r.status, r.code()),
                (400, "invalid_input"),
                "{query:?}: {}",
                r.json
            );
            assert_eq!(r.json["error"]["details"]["field"], field, "{query:?}");
            let message = r.json["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{query:?}: {message}");
        }
        // A cursor is for the search that made it.
        let r = search(&api, me, &[("limit", "1")]).await;
        let cursor = r.json["next_cursor"]
            .as_str()
            .expect("more than one")
            .to_string();
        let r = search(&api, me, &[("sort", "newest"), ("cursor", &cursor)]).await;
        assert_eq!(r.json["error"]["details"]["field"], "cursor", "{}", r.json);

        // Authenticated like the rest of /v1, with the read scope.
        let r = search(&api, Auth::None, &[]).await;
        assert_eq!(r.status, 401, "{}", r.json);
        let (_, runner) = with_roles(&api, &t.store, "rob", &[], &["run"]).await;
        let r = search(&api, Auth::Token(&runner), &[]).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        t.cleanup().await;
    }
}
