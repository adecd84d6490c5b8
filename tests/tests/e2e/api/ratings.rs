//! Ratings and reviews of integrations through the API, on SQLite and
//! PostgreSQL: a user rates an integration only once they installed it
//! and a run of theirs called it; one review per user, edited in place;
//! the publisher replies once; admins hide abusive reviews (kept, flagged,
//! shown to their author, left out of the summary); nobody but the author
//! edits or deletes a review.

use std::time::Duration;

use serde_json::{Value, json};
use workway_engine::accounts::Role;
use workway_fixtures::CHANNEL;
use workway_store::testing::test_stores;

use super::client::{Account, Api, Auth, Response, account, busy_api, connect_slack, with_roles};
use crate::workflows::Deployment;

/// A manual workflow that posts to Slack.
fn tell() -> String {
    format!(
        "name: tell\ntrigger: {{kind: manual}}\nsteps:\n  - id: tell\n    action: \
         slack.send-message\n    input:\n      channel: \"{CHANNEL}\"\n      text: \"rated\"\n"
    )
}

/// Install Slack for `who`.
async fn install_slack(api: &Api, who: &Account) {
    let r = api
        .install(who.token(), &json!({"integration": "slack"}))
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
}

/// Save `tell` for `who` and drive one run of it to success.
async fn run_slack(api: &Api, d: &Deployment, who: &Account) {
    connect_slack(d, &who.id).await;
    let r = api
        .raw(
            "POST",
            "/v1/workflows",
            who.token(),
            &[("content-type", "application/yaml")],
            tell().as_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.json);
    let r = api
        .post("/v1/runs", who.token(), &json!({"workflow": "tell"}))
        .await;
    assert_eq!(r.status, 202, "{}", r.json);
    let id = r.json["run_id"].as_str().expect("a run id");
    let (run, attempts) = d.finish(id, Duration::from_secs(60)).await;
    crate::workflows::assert_succeeded(&run, &attempts);
}

/// PUT the caller's review of `integration`.
async fn rate(api: &Api, auth: Auth<'_>, integration: &str, body: &Value) -> Response {
    api.call(
        "PUT",
        &format!("/v1/integrations/{integration}/reviews/mine"),
        auth,
        Some(body),
    )
    .await
}

/// A 400 naming `field`.
fn assert_invalid(r: &Response, field: &str) {
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
    assert_eq!(r.json["error"]["details"]["field"], field, "{}", r.json);
}

/// A 403 refusing a rating for `reason`.
fn assert_not_eligible(r: &Response, reason: &str) {
    assert_eq!((r.status, r.code()), (403, "not_eligible"), "{}", r.json);
    assert_eq!(r.json["error"]["details"]["reason"], reason, "{}", r.json);
}

/// The ids of a page's reviews.
fn ids(page: &Value) -> Vec<String> {
    page["reviews"]
        .as_array()
        .expect("a list of reviews")
        .iter()
        .map(|r| r["id"].as_str().expect("an id").to_string())
        .collect()
}

#[tokio::test]
async fn users_who_ran_an_integration_rate_it_and_its_publisher_and_admins_answer() {
    for t in test_stores().await {
        let (d, api) = busy_api(&t).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let carl = account(&api, "carl").await;
        let (publisher, publisher_token) = with_roles(
            &api,
            &d.platform.store,
            "publisher",
            &[Role::Developer],
            &["read", "publish"],
        )
        .await;
        let (_, other_dev_token) = with_roles(
            &api,
            &d.platform.store,
            "otherdev",
            &[Role::Developer],
            &["read", "publish"],
        )
        .await;
        let (_, admin_token) = with_roles(
            &api,
            &d.platform.store,
            "admin",
            &[Role::Admin],
            &["read", "admin"],
        )
        .await;
        // The fixture approved Slack as a publisher no account signs in
        // as: hand the name to one that does.
        let moved = t
            .tamper(
                "UPDATE integration_owners SET owner = $1 WHERE integration = 'slack'",
                &[publisher.id.as_str()],
            )
            .await;
        assert_eq!(moved, 1, "{}", t.label);

        // An unknown integration is 404, for reading and writing.
        let r = api.get("/v1/integrations/nope/reviews", ann.token()).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = rate(&api, ann.token(), "nope", &json!({"rating": 5})).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);

        // Before installing, then before a run: refused, saying why.
        let r = rate(&api, ann.token(), "slack", &json!({"rating": 5})).await;
        assert_not_eligible(&r, "not_installed");
        install_slack(&api, &ann).await;
        let r = rate(&api, ann.token(), "slack", &json!({"rating": 5})).await;
        assert_not_eligible(&r, "not_run_yet");
        run_slack(&api, &d, &ann).await;

        // Bad input names its field.
        for rating in [json!(0), json!(6), json!("five"), json!(4.5)] {
            let r = rate(&api, ann.token(), "slack", &json!({"rating": rating})).await;
            assert_invalid(&r, "rating");
        }
        let r = rate(
            &api,
            ann.token(),
            "slack",
            &json!({"rating": 4, "title": "two\nlines"}),
        )
        .await;
        assert_invalid(&r, "title");
        let long = "x".repeat(4_001);
        let r = rate(
            &api,
            ann.token(),
            "slack",
            &json!({"rating": 4, "body": long}),
        )
        .await;
        assert_invalid(&r, "body");
        let r = rate(
            &api,
            ann.token(),
            "slack",
            &json!({"rating": 4, "body": "a bell \u{7}"}),
        )
        .await;
        assert_invalid(&r, "body");

        // Accepted after a run; a second PUT edits the one review.
        let r = rate(
            &api,
            ann.session(),
            "slack",
            &json!({"rating": 4, "title": "Good", "body": "Sends messages.\nFast."}),
        )
        .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        assert_eq!(
            (
                r.json["rating"].as_i64(),
                r.json["title"].as_str(),
                r.json["mine"].as_bool(),
                r.json["author"].as_str()
            ),
            (Some(4), Some("Good"), Some(true), Some("ann")),
            "{}",
            r.json
        );
        let review = r.json["id"].as_str().expect("an id").to_string();
        let created_at = r.json["created_at"].as_i64().expect("a time");
        let r = rate(
            &api,
            ann.token(),
            "slack",
            &json!({"rating": 3, "body": "Slower now."}),
        )
        .await;
        assert_eq!(r.status, 200, "edited: {}", r.json);
        assert_eq!(r.json["id"], review.as_str(), "{}", r.json);
        assert_eq!(r.json["created_at"].as_i64(), Some(created_at));
        assert!(r.json["updated_at"].as_i64() >= Some(created_at));
        assert_eq!(
            (r.json["rating"].as_i64(), r.json["title"].as_str()),
            (Some(3), None),
            "{}",
            r.json
        );
        let r = api.get("/v1/integrations/slack/reviews", bob.token()).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(ids(&r.json), [review.as_str()], "one review, not two");
        assert_eq!(r.json["reviews"][0]["mine"], false);
        assert_eq!(
            r.json["summary"],
            json!({"count": 1, "average_hundredths": 300, "histogram": [0, 0, 1, 0, 0]})
        );

        // Bob, who ran it too, rates it: his own review beside ann's.
        install_slack(&api, &bob).await;
        run_slack(&api, &d, &bob).await;
        let r = rate(&api, bob.token(), "slack", &json!({"rating": 5})).await;
        assert_eq!(r.status, 201, "{}", r.json);
        let bobs = r.json["id"].as_str().expect("an id").to_string();
        assert_ne!(bobs, review);
        let r = api
            .get("/v1/integrations/slack/reviews", carl.token())
            .await;
        assert_eq!(
            ids(&r.json),
            [bobs.as_str(), review.as_str()],
            "newest first"
        );
        assert_eq!(
            r.json["summary"],
            json!({"count": 2, "average_hundredths": 400, "histogram": [0, 0, 1, 0, 1]})
        );

        // A page at a time.
        let r = api
            .get("/v1/integrations/slack/reviews?limit=1", carl.token())
            .await;
        assert_eq!(ids(&r.json), [bobs.as_str()]);
        let cursor = r.json["next_cursor"].as_str().expect("more").to_string();
        let r = api
            .get(
                &format!("/v1/integrations/slack/reviews?limit=1&cursor={cursor}"),
                carl.token(),
            )
            .await;
        assert_eq!(ids(&r.json), [review.as_str()]);
        assert!(r.json["next_cursor"].is_null(), "{}", r.json);
        assert_eq!(r.json["summary"]["count"], 2, "every page has the summary");
        for (query, field) in [
            ("limit=0", "limit"),
            ("cursor=zz", "cursor"),
            ("page=2", "query"),
        ] {
            let r = api
                .get(
                    &format!("/v1/integrations/slack/reviews?{query}"),
                    carl.token(),
                )
                .await;
            assert_invalid(&r, field);
        }

        // Nobody else edits or deletes ann's review: their `mine` is
        // their own (carl has none; bob's edit changes only his).
        let r = api
            .delete("/v1/integrations/slack/reviews/mine", carl.token())
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = rate(&api, carl.token(), "slack", &json!({"rating": 1})).await;
        assert_not_eligible(&r, "not_installed");
        let r = rate(&api, bob.token(), "slack", &json!({"rating": 2})).await;
        assert_eq!(
            (r.status, r.json["id"].as_str()),
            (200, Some(bobs.as_str()))
        );
        let r = api.get("/v1/integrations/slack/reviews", ann.token()).await;
        let anns = r.json["reviews"]
            .as_array()
            .expect("reviews")
            .iter()
            .find(|x| x["id"] == review.as_str())
            .expect("ann's review is there")
            .clone();
        assert_eq!(
            (anns["rating"].as_i64(), anns["body"].as_str()),
            (Some(3), Some("Slower now.")),
            "{anns}"
        );
        let r = rate(&api, bob.token(), "slack", &json!({"rating": 5})).await;
        assert_eq!(r.status, 200, "{}", r.json);

        // The publisher replies once; nobody else does.
        let reply_path = format!("/v1/integrations/slack/reviews/{review}/reply");
        let r = api
            .post(
                &reply_path,
                Auth::Token(&other_dev_token),
                &json!({"body": "Not mine to say"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (403, "not_publisher"), "{}", r.json);
        let r = api
            .post(&reply_path, bob.token(), &json!({"body": "Me neither"}))
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .post(
                &reply_path,
                Auth::Token(&publisher_token),
                &json!({"body": ""}),
            )
            .await;
        assert_invalid(&r, "body");
        let r = api
            .post(
                "/v1/integrations/slack/reviews/rev_nope/reply",
                Auth::Token(&publisher_token),
                &json!({"body": "Hello"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api
            .post(
                &format!("/v1/integrations/notion/reviews/{review}/reply"),
                Auth::Token(&publisher_token),
                &json!({"body": "Wrong integration"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api
            .post(
                &reply_path,
                Auth::Token(&publisher_token),
                &json!({"body": "Faster in 1.1.\nThanks!"}),
            )
            .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        assert_eq!(r.json["reply"]["body"], "Faster in 1.1.\nThanks!");
        let r = api
            .post(
                &reply_path,
                Auth::Token(&publisher_token),
                &json!({"body": "Again"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (409, "already_replied"), "{}", r.json);

        // Admins hide it: others no longer see or count it; its author
        // still sees it, flagged with why (not who); admins with who.
        let hide_path = format!("/v1/admin/reviews/{review}/hide");
        let r = api
            .post(&hide_path, ann.token(), &json!({"reason": "mine"}))
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .post(
                &hide_path,
                Auth::Token(&publisher_token),
                &json!({"reason": "bad"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .post(
                &hide_path,
                Auth::Token(&admin_token),
                &json!({"reason": " "}),
            )
            .await;
        assert_invalid(&r, "reason");
        let r = api
            .post(
                "/v1/admin/reviews/rev_nope/hide",
                Auth::Token(&admin_token),
                &json!({"reason": "abusive"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api
            .post(
                &hide_path,
                Auth::Token(&admin_token),
                &json!({"reason": "abusive language"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["hidden"]["reason"], "abusive language");
        assert!(r.json["hidden"]["by"].is_string(), "{}", r.json);

        for other in [bob.token(), carl.token(), Auth::Token(&publisher_token)] {
            let r = api.get("/v1/integrations/slack/reviews", other).await;
            assert_eq!(ids(&r.json), [bobs.as_str()], "{}", r.json);
            assert_eq!(
                r.json["summary"],
                json!({"count": 1, "average_hundredths": 500, "histogram": [0, 0, 0, 0, 1]})
            );
        }
        let r = api.get("/v1/integrations/slack/reviews", ann.token()).await;
        assert_eq!(ids(&r.json), [bobs.as_str(), review.as_str()], "{}", r.json);
        assert_eq!(r.json["reviews"][1]["hidden"]["reason"], "abusive language");
        assert!(
            r.json["reviews"][1]["hidden"].get("by").is_none(),
            "{}",
            r.json
        );
        assert_eq!(
            r.json["summary"]["count"], 1,
            "not counted, even for its author"
        );
        // Its author cannot shed the flag by deleting it and writing anew.
        let r = api
            .delete("/v1/integrations/slack/reviews/mine", ann.token())
            .await;
        assert_eq!((r.status, r.code()), (409, "review_hidden"), "{}", r.json);
        let r = api.get("/v1/integrations/slack/reviews", ann.token()).await;
        assert_eq!(ids(&r.json), [bobs.as_str(), review.as_str()], "kept");
        let r = api
            .get("/v1/integrations/slack/reviews", Auth::Token(&admin_token))
            .await;
        assert_eq!(ids(&r.json), [bobs.as_str(), review.as_str()], "{}", r.json);
        assert!(
            r.json["reviews"][1]["hidden"]["by"].is_string(),
            "{}",
            r.json
        );
        // The publisher cannot reply to what it cannot see.
        let bobs_reply = format!("/v1/integrations/slack/reviews/{bobs}/reply");
        let r = api
            .post(
                &format!("/v1/admin/reviews/{bobs}/hide"),
                Auth::Token(&admin_token),
                &json!({"reason": "spam"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let r = api
            .post(
                &bobs_reply,
                Auth::Token(&publisher_token),
                &json!({"body": "Hello"}),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);

        // Admins list what is hidden across the marketplace, most recently
        // hidden first, a page at a time; nobody else does.
        let r = api
            .get("/v1/admin/reviews/hidden", Auth::Token(&admin_token))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(ids(&r.json), [bobs.as_str(), review.as_str()], "{}", r.json);
        assert_eq!(r.json["reviews"][0]["hidden"]["reason"], "spam");
        assert!(r.json["next_cursor"].is_null(), "{}", r.json);
        let r = api
            .get(
                "/v1/admin/reviews/hidden?limit=1",
                Auth::Token(&admin_token),
            )
            .await;
        assert_eq!(ids(&r.json), [bobs.as_str()], "{}", r.json);
        let cursor = r.json["next_cursor"].as_str().expect("a next page");
        let r = api
            .get(
                &format!("/v1/admin/reviews/hidden?limit=1&cursor={cursor}"),
                Auth::Token(&admin_token),
            )
            .await;
        assert_eq!(ids(&r.json), [review.as_str()], "{}", r.json);
        assert!(r.json["next_cursor"].is_null(), "{}", r.json);
        let r = api
            .get(
                "/v1/admin/reviews/hidden?cursor=zz",
                Auth::Token(&admin_token),
            )
            .await;
        assert_invalid(&r, "cursor");
        for other in [ann.token(), Auth::Token(&publisher_token)] {
            let r = api.get("/v1/admin/reviews/hidden", other).await;
            assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        }

        // Shown again: listed and counted.
        let unhide = |id: &str| format!("/v1/admin/reviews/{id}/unhide");
        let r = api.post(&unhide(&review), bob.token(), &json!({})).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        for id in [&review, &bobs] {
            let r = api
                .post(&unhide(id), Auth::Token(&admin_token), &json!({}))
                .await;
            assert_eq!(r.status, 200, "{}", r.json);
            assert!(r.json["hidden"].is_null(), "{}", r.json);
        }
        let r = api
            .get("/v1/integrations/slack/reviews", carl.token())
            .await;
        assert_eq!(r.json["summary"]["count"], 2, "{}", r.json);
        assert_eq!(
            r.json["reviews"][1]["reply"]["body"],
            "Faster in 1.1.\nThanks!"
        );

        // Its author deletes it (with the reply), once.
        let r = api
            .delete("/v1/integrations/slack/reviews/mine", ann.session())
            .await;
        assert_eq!(r.status, 204, "{}", r.json);
        let r = api
            .delete("/v1/integrations/slack/reviews/mine", ann.token())
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api
            .get("/v1/integrations/slack/reviews", carl.token())
            .await;
        assert_eq!(ids(&r.json), [bobs.as_str()], "{}", r.json);
        t.cleanup().await;
    }
}
