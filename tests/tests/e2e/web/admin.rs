//! The operators' pages and the review forms over plain HTTP, on SQLite
//! and PostgreSQL: an admin searches accounts, gives a role, disables
//! and enables an account (and cannot disable their own), reads the
//! revocations with their reasons and the ledger; a user who ran an
//! integration reviews it from its page, its publisher replies, an admin
//! hides the review and shows it again; nobody without the role opens an
//! admin page or changes anything through one, and a second account
//! cannot touch the first one's review.

use std::time::Duration;

use serde_json::json;
use workway_engine::accounts::Role;
use workway_store::testing::test_stores;

use super::pages::{csrf_field, post_form};
use crate::api::client::{
    Account, Api, Response, account, approve, busy_api, evolving, submit, with_roles,
};

/// Where a redirect sends the browser.
fn location(r: &Response) -> &str {
    r.header("location").unwrap_or_default()
}

/// The CSRF value of `who`'s session (what its pages' forms carry).
async fn csrf_of(api: &Api, who: &Account) -> String {
    let page = api.get("/account", who.browser()).await;
    assert_eq!(page.status, 200, "{}", page.body);
    csrf_field(&page.body)
}

#[tokio::test]
async fn admins_manage_accounts_and_read_revocations_and_the_ledger_from_their_pages() {
    for t in test_stores().await {
        let l = t.label;
        let (_deployment, api) = busy_api(&t).await;
        let (ada, _) = with_roles(&api, &t.store, "ada", &[Role::Admin], &["read"]).await;
        let (olga, _) = with_roles(&api, &t.store, "olga", &[Role::Developer], &["read"]).await;
        let (rita, _) = with_roles(&api, &t.store, "rita", &[Role::Reviewer], &["read"]).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let cy = account(&api, "cy").await;
        let admin = ada.browser();
        let csrf = csrf_of(&api, &ada).await;

        // The bar links the admin pages for admins only.
        let page = api.get("/account", admin).await;
        assert!(page.body.contains(r#"href="/admin""#), "{l}");
        let page = api.get("/account", ann.browser()).await;
        assert!(!page.body.contains(r#"href="/admin""#), "{l}");
        let r = api.get("/admin", admin).await;
        assert_eq!((r.status, location(&r)), (303, "/admin/accounts"), "{l}");

        // Every account, searched by part of its email or name.
        let page = api.get("/admin/accounts", admin).await;
        assert_eq!(page.status, 200, "{l}: {}", page.body);
        for who in [&ada, &olga, &rita, &ann, &bob] {
            assert!(page.body.contains(&who.email), "{l}: {}", who.email);
        }
        let page = api.get("/admin/accounts?q=BOB", admin).await;
        assert!(page.body.contains("bob@example.com"), "{l}");
        assert!(!page.body.contains("ann@example.com"), "{l}");
        let page = api.get("/admin/accounts?q=nobody-here", admin).await;
        assert!(page.body.contains(r#"id="no-accounts""#), "{l}");

        // A role given from the page: the account's own page shows it.
        let roles = format!("/admin/accounts/{}/roles", ann.id);
        let r = post_form(
            &api,
            &roles,
            admin,
            None,
            &[("csrf", &csrf), ("role", "developer"), ("q", "ann")],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert_eq!(
            location(&r),
            "/admin/accounts?q=ann%40example.com&done=roles",
            "{l}"
        );
        let page = api.get("/account", ann.browser()).await;
        assert!(page.body.contains("user, developer"), "{l}: {}", page.body);
        let page = api.get(location(&r), admin).await;
        assert!(page.body.contains("Roles saved."), "{l}");
        // An unknown role is answered on the page, nothing changed.
        let r = post_form(
            &api,
            &roles,
            admin,
            None,
            &[("csrf", &csrf), ("role", "root")],
        )
        .await;
        assert_eq!(r.status, 400, "{l}: {}", r.body);
        assert!(r.body.contains("unknown role"), "{l}: {}", r.body);
        let page = api.get("/account", ann.browser()).await;
        assert!(page.body.contains("user, developer"), "{l}: unchanged");

        // Disabled: its session is over (the next page is the sign-in).
        let disable = format!("/admin/accounts/{}/disable", bob.id);
        let r = post_form(&api, &disable, admin, None, &[("csrf", &csrf)]).await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let r = api.get("/account", bob.browser()).await;
        assert_eq!(r.status, 303, "{l}");
        assert!(location(&r).starts_with("/signin"), "{l}: {}", location(&r));
        let page = api.get("/admin/accounts?q=bob", admin).await;
        assert!(page.body.contains("disabled 20"), "{l}: {}", page.body);
        let r = post_form(
            &api,
            &format!("/admin/accounts/{}/enable", bob.id),
            admin,
            None,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let page = api.get("/admin/accounts?q=bob", admin).await;
        assert!(page.body.contains(">active<"), "{l}: {}", page.body);
        // Not one's own account: refused on the page with why.
        let r = post_form(
            &api,
            &format!("/admin/accounts/{}/disable", ada.id),
            admin,
            None,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(r.status, 409, "{l}: {}", r.body);
        assert!(r.body.contains("cannot disable their own account"), "{l}");

        // Nobody else opens these pages or changes an account through
        // them; a form without the CSRF field changes nothing either.
        for (who, name) in [
            (&ann, "a developer"),
            (&rita, "a reviewer"),
            (&cy, "a user"),
        ] {
            for path in [
                "/admin/accounts",
                "/admin/reviews",
                "/admin/submissions",
                "/admin/ledger",
            ] {
                let r = api.get(path, who.browser()).await;
                assert_eq!(r.status, 403, "{l}: {name} on {path}");
                assert!(r.body.contains("admin"), "{l}: says which role");
            }
            let theirs = csrf_of(&api, who).await;
            let r = post_form(
                &api,
                &format!("/admin/accounts/{}/roles", who.id),
                who.browser(),
                None,
                &[("csrf", &theirs), ("role", "admin")],
            )
            .await;
            assert_eq!(r.status, 403, "{l}: {name} gives itself admin");
            let r = post_form(
                &api,
                &format!("/admin/accounts/{}/disable", ada.id),
                who.browser(),
                None,
                &[("csrf", &theirs)],
            )
            .await;
            assert_eq!(r.status, 403, "{l}: {name} disables the admin");
        }
        let r = post_form(&api, &disable, admin, None, &[("role", "admin")]).await;
        assert_eq!(r.status, 403, "{l}: no CSRF field");
        let page = api.get("/admin/accounts?q=bob", admin).await;
        assert!(page.body.contains(">active<"), "{l}: unchanged");
        let r = api.get("/account", rita.browser()).await;
        assert!(!r.body.contains(", admin"), "{l}: still no admin");

        // Revocations, with the reviewer's reason.
        let page = api.get("/admin/submissions", admin).await;
        assert!(page.body.contains("No version has been revoked."), "{l}");
        let id = submit(
            &api,
            olga.session(),
            &evolving("1.0.0", &["https://api.example.com"]),
        )
        .await;
        assert_eq!(approve(&api, rita.session(), &id).await.status, 200, "{l}");
        let r = api
            .post(
                &format!("/v1/reviews/{id}/revoke"),
                rita.session(),
                &json!({"reason": "sends data it should not"}),
            )
            .await;
        assert_eq!(r.status, 200, "{l}: {}", r.json);
        let page = api.get("/admin/submissions", admin).await;
        assert!(page.body.contains(&format!("/submissions/{id}")), "{l}");
        assert!(
            page.body.contains("approved → revoked by")
                && page.body.contains("sends data it should not"),
            "{l}: {}",
            page.body
        );
        let page = api.get("/admin/submissions?state=rejected", admin).await;
        assert!(page.body.contains("No submission in this state."), "{l}");
        let page = api.get("/admin/submissions?state=sideways", admin).await;
        assert_eq!(page.status, 400, "{l}: an unknown state is answered");

        // The ledger, reconciled.
        let page = api.get("/admin/ledger", admin).await;
        assert_eq!(page.status, 200, "{l}: {}", page.body);
        assert!(page.body.contains("The ledger reconciles"), "{l}");
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_user_reviews_an_integration_its_publisher_replies_and_an_admin_hides_it() {
    for t in test_stores().await {
        let l = t.label;
        let (d, api) = busy_api(&t).await;
        let (ada, _) = with_roles(&api, &t.store, "ada", &[Role::Admin], &["read"]).await;
        let (olga, _) = with_roles(&api, &t.store, "olga", &[Role::Developer], &["read"]).await;
        let (rita, _) = with_roles(&api, &t.store, "rita", &[Role::Reviewer], &["read"]).await;
        let id = submit(
            &api,
            olga.session(),
            &evolving("1.0.0", &["https://api.example.com"]),
        )
        .await;
        assert_eq!(approve(&api, rita.session(), &id).await.status, 200, "{l}");
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;

        // Before installing it, there is no review form, and posting one
        // is answered with what to do first.
        let page = api.get("/marketplace/evolving", ann.browser()).await;
        assert!(!page.body.contains(r#"id="review-form""#), "{l}");
        let ann_csrf = csrf_field(&page.body);
        let review = [
            ("csrf", ann_csrf.as_str()),
            ("rating", "4"),
            ("title", "Pings <b>well</b>"),
            ("body", "Answers every time.\nFast."),
        ];
        let r = post_form(
            &api,
            "/marketplace/evolving/reviews",
            ann.browser(),
            None,
            &review,
        )
        .await;
        assert_eq!(r.status, 403, "{l}: {}", r.body);
        assert!(r.body.contains("install"), "{l}: {}", r.body);

        // Installed and run once: the form takes the review.
        let r = api
            .install(ann.token(), &json!({"integration": "evolving"}))
            .await;
        assert_eq!(r.status, 201, "{l}: {}", r.json);
        let yaml = "name: ping\ntrigger: {kind: manual}\nsteps:\n  - id: ping\n    action: evolving.ping\n    input: {}\n";
        let r = api
            .raw(
                "POST",
                "/v1/workflows",
                ann.token(),
                &[("content-type", "application/yaml")],
                yaml.as_bytes(),
            )
            .await;
        assert_eq!(r.status, 201, "{l}: {}", r.json);
        let r = api
            .post("/v1/runs", ann.token(), &json!({"workflow": "ping"}))
            .await;
        let run = r.json["run_id"].as_str().expect("a run").to_string();
        let (run, attempts) = d.finish(&run, Duration::from_secs(60)).await;
        crate::workflows::assert_succeeded(&run, &attempts);
        let bad = [("csrf", ann_csrf.as_str()), ("rating", "six")];
        let r = post_form(
            &api,
            "/marketplace/evolving/reviews",
            ann.browser(),
            None,
            &bad,
        )
        .await;
        assert_eq!(r.status, 400, "{l}: {}", r.body);
        assert!(r.body.contains("1 to 5"), "{l}: {}", r.body);
        let r = post_form(
            &api,
            "/marketplace/evolving/reviews",
            ann.browser(),
            None,
            &review,
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let page = api.get(location(&r), ann.browser()).await;
        assert!(page.body.contains("Your review is saved."), "{l}");
        assert!(
            page.body.contains("Pings &#60;b&#62;well&#60;/b&#62;")
                || page.body.contains("Pings &lt;b&gt;well&lt;/b&gt;"),
            "{l}: escaped"
        );
        assert!(!page.body.contains("<b>well"), "{l}");
        assert!(page.body.contains("Edit your review"), "{l}");
        assert!(page.body.contains("★★★★☆"), "{l}");

        // Another account sees it, cannot reply (not the publisher), and
        // deleting "its" review deletes nothing of ann's.
        let page = api.get("/marketplace/evolving", bob.browser()).await;
        assert!(page.body.contains("Answers every time."), "{l}");
        assert!(!page.body.contains("Reply as the publisher"), "{l}");
        assert!(!page.body.contains("Hide this review"), "{l}");
        let bob_csrf = csrf_field(&page.body);
        let review_id = t
            .store
            .ratings()
            .find("evolving", &ann.id)
            .await
            .expect("readable")
            .expect("written")
            .id;
        let reply_path = format!("/marketplace/evolving/reviews/{review_id}/reply");
        let r = post_form(
            &api,
            &reply_path,
            bob.browser(),
            None,
            &[("csrf", &bob_csrf), ("body", "Not mine to answer")],
        )
        .await;
        assert_eq!(r.status, 403, "{l}: {}", r.body);
        let r = post_form(
            &api,
            "/marketplace/evolving/reviews/delete",
            bob.browser(),
            None,
            &[("csrf", &bob_csrf)],
        )
        .await;
        assert_eq!(r.status, 404, "{l}: bob has no review to delete");
        let hide = format!("/admin/reviews/{review_id}/hide");
        let r = post_form(
            &api,
            &hide,
            bob.browser(),
            None,
            &[("csrf", &bob_csrf), ("reason", "I dislike it")],
        )
        .await;
        assert_eq!(r.status, 403, "{l}: only admins hide");

        // The publisher replies from the page, once.
        let page = api.get("/marketplace/evolving", olga.browser()).await;
        assert!(page.body.contains("Reply as the publisher"), "{l}");
        let olga_csrf = csrf_field(&page.body);
        let reply = [("csrf", olga_csrf.as_str()), ("body", "Thank you!")];
        let r = post_form(&api, &reply_path, olga.browser(), None, &reply).await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let r = post_form(&api, &reply_path, olga.browser(), None, &reply).await;
        assert_eq!(r.status, 409, "{l}: once");
        let page = api.get("/marketplace/evolving", ann.browser()).await;
        assert!(page.body.contains("The publisher replied"), "{l}");

        // An admin hides it: gone for bob, flagged for ann, listed for
        // admins; shown again from the hidden reviews.
        let page = api.get("/marketplace/evolving", ada.browser()).await;
        assert!(page.body.contains("Hide this review"), "{l}");
        let ada_csrf = csrf_field(&page.body);
        let r = post_form(
            &api,
            &hide,
            ada.browser(),
            None,
            &[("csrf", &ada_csrf), ("reason", "off topic")],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let page = api.get("/marketplace/evolving", bob.browser()).await;
        assert!(!page.body.contains("Answers every time."), "{l}");
        let page = api.get("/marketplace/evolving", ann.browser()).await;
        assert!(page.body.contains("off topic"), "{l}: its author sees why");
        let page = api.get("/admin/reviews", ada.browser()).await;
        assert!(
            page.body.contains("off topic") && page.body.contains("evolving"),
            "{l}"
        );
        let r = post_form(
            &api,
            &format!("/admin/reviews/{review_id}/unhide"),
            ada.browser(),
            None,
            &[("csrf", &ada_csrf)],
        )
        .await;
        assert_eq!(
            (r.status, location(&r)),
            (303, "/admin/reviews?done=unhidden"),
            "{l}"
        );
        let page = api.get("/admin/reviews", ada.browser()).await;
        assert!(page.body.contains(r#"id="no-hidden""#), "{l}");
        let page = api.get("/marketplace/evolving", bob.browser()).await;
        assert!(page.body.contains("Answers every time."), "{l}");

        // Its author deletes it.
        let r = post_form(
            &api,
            "/marketplace/evolving/reviews/delete",
            ann.browser(),
            None,
            &[("csrf", &ann_csrf)],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let page = api.get("/marketplace/evolving", bob.browser()).await;
        assert!(page.body.contains(r#"id="no-reviews""#), "{l}");
        t.cleanup().await;
    }
}
