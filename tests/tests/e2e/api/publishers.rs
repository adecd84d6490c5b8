//! Publishers through the API, on SQLite and PostgreSQL: developer
//! profiles (validated field by field, the payout reference kept from the
//! public and from other developers), verification by admins only,
//! co-maintainers who publish versions of a name its owner keeps, and
//! lookalike names refused unless their publisher owns the original.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use workway_engine::accounts::Role;
use workway_store::testing::test_stores;

use super::client::{Account, Api, Auth, Response, account, with_roles};
use crate::workflows::Deployment;

/// A developer with a read+publish token.
async fn developer(api: &Api, store: &workway_store::Store, name: &str) -> (Account, String) {
    with_roles(api, store, name, &[Role::Developer], &["read", "publish"]).await
}

async fn put(api: &Api, auth: Auth<'_>, body: &Value) -> Response {
    api.call("PUT", "/v1/developer/profile", auth, Some(body))
        .await
}

/// A valid profile named `name`.
fn profile(name: &str) -> Value {
    json!({
        "display_name": name,
        "website": "https://acme.example",
        "support_contact": "help@acme.example",
        "payout_account": "acct_1A2b3C",
    })
}

#[tokio::test]
async fn profiles_are_validated_private_to_their_developer_and_verified_by_admins() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (alice, alice_token) = developer(&api, store, "alice").await;
        let alice_auth = Auth::Token(&alice_token);
        let (_, bob_token) = developer(&api, store, "bob").await;
        let bob_auth = Auth::Token(&bob_token);
        let (_, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let (admin, admin_token) =
            with_roles(&api, store, "ada", &[Role::Admin], &["read", "admin"]).await;
        let admin_auth = Auth::Token(&admin_token);
        let user = account(&api, "ursula").await;

        // Profiles are for developers.
        let r = api.get("/v1/developer/profile", user.token()).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = put(&api, user.session(), &profile("Ursula")).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api.get("/v1/developer/profile", alice_auth).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);

        // Every bad field is named.
        let long = "x".repeat(101);
        for (field, value) in [
            ("display_name", json!("")),
            ("display_name", json!(long)),
            ("display_name", json!("Acme\u{0}Inc")),
            ("website", json!("http://acme.example")),
            ("website", json!("javascript:alert(1)")),
            ("website", json!("https://acme.example@evil.example")),
            ("support_contact", json!("call us")),
            ("support_contact", json!("ftp://acme.example")),
            ("support_contact", json!("")),
            ("payout_account", json!("acct 1; drop")),
            ("payout_account", json!("a".repeat(129))),
        ] {
            let mut body = profile("Acme");
            body[field] = value.clone();
            let r = put(&api, alice_auth, &body).await;
            assert_eq!(
                (r.status, r.code()),
                (400, "invalid_input"),
                "{field} = {value}: {} ({})",
                r.json,
                t.label
            );
            assert_eq!(r.json["error"]["details"]["field"], field, "{}", r.json);
            assert!(
                r.json["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(field)),
                "{}",
                r.json
            );
        }
        let r = put(&api, alice_auth, &json!({"display_name": "Acme"})).await;
        assert_eq!(r.status, 400, "support_contact is required: {}", r.json);

        // Alice makes hers and reads it back, payout reference included.
        let r = put(&api, alice_auth, &profile("Acme")).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["payout_account"], "acct_1A2b3C");
        assert_eq!(r.json["verified"], false);
        let r = api.get("/v1/developer/profile", alice_auth).await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(
            (
                &r.json["account_id"],
                &r.json["display_name"],
                &r.json["payout_account"]
            ),
            (&json!(alice.id), &json!("Acme"), &json!("acct_1A2b3C"))
        );

        // Bob neither reads nor changes it: his routes are his own profile.
        let r = api.get("/v1/developer/profile", bob_auth).await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = put(&api, bob_auth, &profile("Bob's Bits")).await;
        assert_eq!(r.status, 200, "{}", r.json);
        let r = api.get("/v1/developer/profile", alice_auth).await;
        assert_eq!(r.json["display_name"], "Acme", "{}", r.json);

        // Everyone signed in sees the public view, without the payout
        // reference; an account without a profile is 404.
        let public = format!("/v1/publishers/{}", alice.id);
        for auth in [user.token(), bob_auth] {
            let r = api.get(&public, auth).await;
            assert_eq!(r.status, 200, "{}", r.json);
            assert_eq!(r.json["display_name"], "Acme");
            assert_eq!(r.json["support_contact"], "help@acme.example");
            assert!(r.json.get("payout_account").is_none(), "{}", r.json);
            assert!(!r.json.to_string().contains("acct_1A2b3C"), "{}", r.json);
        }
        let r = api
            .get(&format!("/v1/publishers/{}", user.id), bob_auth)
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.get(&public, Auth::None).await;
        assert_eq!(r.status, 401, "{}", r.json);

        // Only an admin verifies.
        let verify = format!("/v1/admin/publishers/{}/verification", alice.id);
        for auth in [alice_auth, Auth::Token(&rita_token), user.token()] {
            let r = api.post(&verify, auth, &json!({"verified": true})).await;
            assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        }
        let r = api
            .post(&verify, admin_auth, &json!({"verified": "yes"}))
            .await;
        assert_eq!(r.status, 400, "{}", r.json);
        let r = api
            .post(
                &format!("/v1/admin/publishers/{}/verification", user.id),
                admin_auth,
                &json!({"verified": true}),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api
            .post(&verify, admin_auth, &json!({"verified": true}))
            .await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["verified"], true);
        assert_eq!(r.json["verified_by"], admin.id.as_str());
        assert!(r.json["verified_at"].is_i64(), "{}", r.json);
        let r = api.get(&public, user.token()).await;
        assert_eq!(r.json["verified"], true, "{}", r.json);
        let r = api.get("/v1/publishers/{}", user.token()).await;
        assert_eq!(r.status, 404, "{}", r.json);

        // A new support contact keeps the verification; a new name drops it.
        let mut body = profile("Acme");
        body["support_contact"] = json!("https://acme.example/help");
        let r = put(&api, alice_auth, &body).await;
        assert_eq!(r.json["verified"], true, "{}", r.json);
        let r = put(&api, alice_auth, &profile("Acme Payments")).await;
        assert_eq!(r.json["verified"], false, "{}", r.json);
        assert_eq!(r.json["verified_by"], Value::Null);
        let r = api
            .post(&verify, admin_auth, &json!({"verified": true}))
            .await;
        assert_eq!(r.json["verified"], true, "{}", r.json);
        let r = api
            .post(&verify, admin_auth, &json!({"verified": false}))
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert_eq!(r.json["verified"], false, "{}", r.json);
        assert_eq!(r.json["payout_account"], "acct_1A2b3C", "admins see it");
        t.cleanup().await;
    }
}

/// `evolving` at `version` as a `POST /v1/submissions` body.
fn evolving(version: &str) -> Value {
    let s = crate::registry::evolving(version, &["https://api.example.com"]);
    json!({"manifest": s.manifest, "component": STANDARD.encode(s.component)})
}

/// The well-behaved test plugin as a `POST /v1/submissions` body.
fn well_behaved() -> Value {
    let actions = [
        "greet",
        "work",
        "profile",
        "broken-promise",
        "rate-limited",
        "echo",
        "transform",
        "wait-upstream",
        "fetch",
    ]
    .map(|a| format!("[actions.{a}]\ndescription = \"Test action.\"\n"))
    .join("\n");
    let component = std::fs::read(workway_test_artifacts::WELL_BEHAVED).expect("built");
    json!({
        "manifest": format!(
            "name = \"well-behaved\"\nversion = \"0.1.0\"\npublisher = \"tests\"\n\
             description = \"The runtime's test plugin.\"\n\n{actions}\n[http]\n\
             hosts = [\"https://api.example.com\"]\n"
        ),
        "component": STANDARD.encode(component),
    })
}

/// Submit `body` as `auth`, expecting it accepted: its id.
async fn submitted(api: &Api, auth: Auth<'_>, body: &Value) -> String {
    let r = api.post("/v1/submissions", auth, body).await;
    assert_eq!(r.status, 201, "{}", r.json);
    r.json["id"].as_str().expect("an id").to_string()
}

/// Submit `body` as `auth`, expecting it refused: its reasons, joined.
async fn refused(api: &Api, auth: Auth<'_>, body: &Value) -> String {
    let r = api.post("/v1/submissions", auth, body).await;
    assert_eq!((r.status, r.code()), (422, "refused"), "{}", r.json);
    r.json["error"]["details"]["reasons"].to_string()
}

/// Approve submission `id` as the reviewer `auth`, as it was shown.
async fn approve(api: &Api, auth: Auth<'_>, id: &str) -> Response {
    let shown = api.get(&format!("/v1/submissions/{id}"), auth).await;
    assert_eq!(shown.status, 200, "{}", shown.json);
    let fingerprint = shown.json["fingerprint"].as_str().expect("a fingerprint");
    api.post(
        &format!("/v1/reviews/{id}/approve"),
        auth,
        &json!({"fingerprint": fingerprint}),
    )
    .await
}

#[tokio::test]
async fn co_maintainers_publish_versions_of_a_name_its_owner_keeps() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (owner, owner_token) = developer(&api, store, "olga").await;
        let olga = Auth::Token(&owner_token);
        let (carl, carl_token) = developer(&api, store, "carl").await;
        let carl_auth = Auth::Token(&carl_token);
        let (_, mallory_token) = developer(&api, store, "mallory").await;
        let mallory = Auth::Token(&mallory_token);
        let (_, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        let rita = Auth::Token(&rita_token);
        let user = account(&api, "ursula").await;

        // Olga's first approved version makes `evolving` hers.
        let first = submitted(&api, olga, &evolving("1.0.0")).await;
        let r = approve(&api, rita, &first).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        let maintainers = "/v1/integrations/evolving/maintainers";

        // Nobody else sees or changes who maintains it: 404, as if absent.
        for auth in [mallory, carl_auth] {
            let r = api.get(maintainers, auth).await;
            assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
            let r = api
                .post(maintainers, auth, &json!({"email": carl.email}))
                .await;
            assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        }
        let r = api
            .post(
                "/v1/integrations/nothing-here/maintainers",
                olga,
                &json!({"email": carl.email}),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.get(maintainers, user.token()).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        // ... and versions from others are refused at submission.
        let reasons = refused(&api, carl_auth, &evolving("2.0.0")).await;
        assert!(
            reasons.contains(&format!("`evolving` belongs to `{}`", owner.id)),
            "{reasons}"
        );

        // Only developer accounts become co-maintainers.
        for email in [
            user.email.as_str(),
            "nobody@example.com",
            "not an email",
            &owner.email,
        ] {
            let r = api.post(maintainers, olga, &json!({"email": email})).await;
            assert_eq!(
                (r.status, r.code()),
                (400, "invalid_input"),
                "{email}: {}",
                r.json
            );
            assert_eq!(r.json["error"]["details"]["field"], "email", "{}", r.json);
        }
        let r = api
            .post(
                maintainers,
                olga,
                &json!({"email": carl.email.to_uppercase()}),
            )
            .await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        assert_eq!(r.json["account_id"], carl.id.as_str());
        assert_eq!(r.json["added_by"], owner.id.as_str());
        let r = api
            .post(maintainers, olga, &json!({"email": carl.email}))
            .await;
        assert_eq!(r.status, 200, "added twice changes nothing: {}", r.json);
        for auth in [olga, carl_auth] {
            let r = api.get(maintainers, auth).await;
            assert_eq!(r.status, 200, "{}", r.json);
            assert_eq!(r.json["owner"], owner.id.as_str());
            assert_eq!(r.json["maintainers"].as_array().map(Vec::len), Some(1));
            assert_eq!(r.json["maintainers"][0]["account_id"], carl.id.as_str());
        }
        let r = api.get(maintainers, mallory).await;
        assert_eq!(r.status, 404, "{}", r.json);
        // A co-maintainer does not manage the list.
        let r = api
            .delete(&format!("{maintainers}/{}", carl.id), carl_auth)
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);

        // Carl publishes version 2.0.0; approved, the name stays Olga's.
        let second = submitted(&api, carl_auth, &evolving("2.0.0")).await;
        let r = approve(&api, rita, &second).await;
        assert_eq!(r.status, 200, "{} ({})", r.json, t.label);
        assert_eq!(r.json["submission"]["submitted_by"], carl.id.as_str());
        let owned = store
            .submissions()
            .owner("evolving")
            .await
            .expect("read")
            .expect("owned");
        assert_eq!(
            (owned.owner, owned.submission_id),
            (owner.id.clone(), first)
        );
        let r = api.get("/v1/integrations/evolving", user.token()).await;
        assert_eq!(r.json["version"], "2.0.0", "{}", r.json);
        // Mallory is still refused.
        let reasons = refused(&api, mallory, &evolving("2.0.0")).await;
        assert!(reasons.contains("belongs to"), "{reasons}");

        // Removed, Carl is refused like anyone else.
        let r = api
            .delete(&format!("{maintainers}/{}", carl.id), mallory)
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api
            .delete(&format!("{maintainers}/{}", carl.id), olga)
            .await;
        assert_eq!(r.status, 204, "{}", r.json);
        let r = api
            .delete(&format!("{maintainers}/{}", carl.id), olga)
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        let r = api.get(maintainers, carl_auth).await;
        assert_eq!(r.status, 404, "{}", r.json);
        let reasons = refused(&api, carl_auth, &evolving("1.0.0")).await;
        assert!(
            reasons.contains(&format!("`evolving` belongs to `{}`", owner.id)),
            "{reasons}"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn a_lookalike_of_another_publishers_name_is_refused() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let store = &t.store;
        let (bea, bea_token) = developer(&api, store, "bea").await;
        let (_, olga_token) = developer(&api, store, "olga").await;
        let (_, rita_token) =
            with_roles(&api, store, "rita", &[Role::Reviewer], &["read", "review"]).await;
        // Olga's `evolving` is pending when Bea's lookalike is claimed.
        let pending = submitted(&api, Auth::Token(&olga_token), &evolving("1.0.0")).await;
        t.tamper(
            "INSERT INTO integration_owners (integration, owner, submission_id, claimed_at) \
             VALUES ('evo1vlng', $1, 'sub_earlier', 1)",
            &[&bea.id],
        )
        .await;
        let r = approve(&api, Auth::Token(&rita_token), &pending).await;
        assert_eq!(
            (r.status, r.code()),
            (409, "lookalike_name"),
            "{} ({})",
            r.json,
            t.label
        );
        assert!(
            r.json["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("`evolving` looks like `evo1vlng`")),
            "{}",
            r.json
        );
        // Bea owns `we11-behaved` (its first version was approved before).
        t.tamper(
            "INSERT INTO integration_owners (integration, owner, submission_id, claimed_at) \
             VALUES ('we11-behaved', $1, 'sub_earlier', 1)",
            &[&bea.id],
        )
        .await;

        // Olga's `well-behaved` could be mistaken for it: refused, naming it.
        let reasons = refused(&api, Auth::Token(&olga_token), &well_behaved()).await;
        assert!(
            reasons.contains(
                "`well-behaved` looks like `we11-behaved`, which another publisher owns; \
                 pick a name that cannot be mistaken for it"
            ),
            "{reasons} ({})",
            t.label
        );
        let mine = api.get("/v1/submissions", Auth::Token(&olga_token)).await;
        let names: Vec<&str> = mine
            .json
            .as_array()
            .expect("a list")
            .iter()
            .map(|s| s["integration"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(names, ["evolving"], "nothing more stored: {}", mine.json);
        // Bea may use a lookalike of her own name.
        submitted(&api, Auth::Token(&bea_token), &well_behaved()).await;
        t.cleanup().await;
    }
}
