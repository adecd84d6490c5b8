//! Accounts as operators manage them through the API, on SQLite and
//! PostgreSQL: listed and searched by admins only, roles given and taken
//! (a token's scopes follow at once), an account disabled (its session
//! and token stop working) and enabled again, and an admin kept from
//! locking themselves out.

use serde_json::{Value, json};
use workway_engine::accounts::Role;
use workway_store::testing::test_stores;

use super::client::{Auth, account, busy_api, sign_in, with_roles};

/// The emails of a page of accounts.
fn emails(page: &Value) -> Vec<String> {
    page["accounts"]
        .as_array()
        .expect("a list of accounts")
        .iter()
        .map(|a| a["email"].as_str().expect("an email").to_string())
        .collect()
}

#[tokio::test]
async fn admins_list_accounts_give_roles_and_disable_them() {
    for t in test_stores().await {
        let l = t.label;
        let (d, api) = busy_api(&t).await;
        let (ada, ada_token) = with_roles(
            &api,
            &d.platform.store,
            "ada",
            &[Role::Admin],
            &["read", "admin"],
        )
        .await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let (_, dev_token) = with_roles(
            &api,
            &d.platform.store,
            "dev",
            &[Role::Developer],
            &["read", "publish"],
        )
        .await;
        let admin = Auth::Token(&ada_token);

        // Listed by email, a page at a time, and searched.
        let r = api.get("/v1/admin/accounts", admin).await;
        assert_eq!(r.status, 200, "{} ({l})", r.json);
        assert_eq!(
            emails(&r.json),
            [
                "ada@example.com",
                "ann@example.com",
                "bob@example.com",
                "dev@example.com"
            ],
            "{l}"
        );
        assert_eq!(r.json["accounts"][0]["roles"], json!(["user", "admin"]));
        assert!(r.json["accounts"][1]["disabled_at"].is_null());
        assert!(r.json["accounts"][1].get("password_hash").is_none());
        let r = api.get("/v1/admin/accounts?limit=3", admin).await;
        assert_eq!(emails(&r.json).len(), 3);
        let cursor = r.json["next_cursor"].as_str().expect("a next page");
        let r = api
            .get(
                &format!("/v1/admin/accounts?limit=3&cursor={cursor}"),
                admin,
            )
            .await;
        assert_eq!(emails(&r.json), ["dev@example.com"], "{l}");
        assert!(r.json["next_cursor"].is_null());
        let r = api.get("/v1/admin/accounts?q=BO", admin).await;
        assert_eq!(emails(&r.json), ["bob@example.com"], "{l}");
        let r = api.get("/v1/admin/accounts?q=%25", admin).await;
        assert!(emails(&r.json).is_empty(), "`%` is only itself: {l}");
        for (query, field) in [
            ("cursor=zz", "cursor"),
            ("limit=0", "limit"),
            ("sort=email", "query"),
        ] {
            let r = api.get(&format!("/v1/admin/accounts?{query}"), admin).await;
            assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
            assert_eq!(r.json["error"]["details"]["field"], field, "{}", r.json);
        }
        let long = "x".repeat(101);
        let r = api
            .get(&format!("/v1/admin/accounts?q={long}"), admin)
            .await;
        assert_eq!(r.json["error"]["details"]["field"], "q", "{}", r.json);

        // Nobody else lists or changes accounts, whatever their role.
        let roles_path = format!("/v1/admin/accounts/{}/roles", ann.id);
        for other in [ann.token(), ann.session(), Auth::Token(&dev_token)] {
            let r = api.get("/v1/admin/accounts", other).await;
            assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
            let r = api
                .call(
                    "PUT",
                    &roles_path,
                    other,
                    Some(&json!({"roles": ["admin"]})),
                )
                .await;
            assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
            let r = api
                .post(
                    &format!("/v1/admin/accounts/{}/disable", bob.id),
                    other,
                    &json!({}),
                )
                .await;
            assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        }

        // Roles given: the account's sessions carry the new scopes at once.
        let r = api
            .call(
                "PUT",
                &roles_path,
                admin,
                Some(&json!({"roles": ["developer", "reviewer"]})),
            )
            .await;
        assert_eq!(r.status, 200, "{} ({l})", r.json);
        assert_eq!(r.json["roles"], json!(["user", "developer", "reviewer"]));
        let r = api.get("/v1/account", ann.session()).await;
        assert_eq!(
            r.json["roles"],
            json!(["user", "developer", "reviewer"]),
            "{}",
            r.json
        );
        let r = api.get("/v1/reviews/queue", ann.session()).await;
        assert_eq!(r.status, 200, "a reviewer now: {}", r.json);
        // And taken: the queue is closed to it again.
        let r = api
            .call("PUT", &roles_path, admin, Some(&json!({"roles": []})))
            .await;
        assert_eq!(r.json["roles"], json!(["user"]), "{}", r.json);
        let r = api.get("/v1/reviews/queue", ann.session()).await;
        assert_eq!(r.status, 403, "{}", r.json);
        let r = api
            .call("PUT", &roles_path, admin, Some(&json!({"roles": ["root"]})))
            .await;
        assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
        assert_eq!(r.json["error"]["details"]["field"], "roles");
        let r = api
            .call(
                "PUT",
                "/v1/admin/accounts/acc_nobody/roles",
                admin,
                Some(&json!({"roles": []})),
            )
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);

        // Disabled: its session and token stop working, sign-in is refused.
        let r = api
            .post(
                &format!("/v1/admin/accounts/{}/disable", bob.id),
                admin,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{} ({l})", r.json);
        assert!(r.json["disabled_at"].is_i64(), "{}", r.json);
        for gone in [bob.token(), bob.session()] {
            let r = api.get("/v1/account", gone).await;
            assert_eq!(r.status, 401, "{}", r.json);
        }
        let r = api
            .post(
                "/v1/auth/signin",
                Auth::None,
                &json!({"email": bob.email, "password": bob.password}),
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.json);
        // Enabled: it signs in again (its old sessions stay ended).
        let r = api
            .post(
                &format!("/v1/admin/accounts/{}/enable", bob.id),
                admin,
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        assert!(r.json["disabled_at"].is_null());
        let (session, csrf) = sign_in(&api, &bob.email, &bob.password).await;
        let r = api
            .get(
                "/v1/account",
                Auth::Session {
                    id: &session,
                    csrf: Some(&csrf),
                },
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let r = api
            .post("/v1/admin/accounts/acc_nobody/disable", admin, &json!({}))
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);

        // An admin cannot lock themselves out.
        let r = api
            .post(
                &format!("/v1/admin/accounts/{}/disable", ada.id),
                admin,
                &json!({}),
            )
            .await;
        assert_eq!((r.status, r.code()), (409, "own_account"), "{}", r.json);
        let r = api
            .call(
                "PUT",
                &format!("/v1/admin/accounts/{}/roles", ada.id),
                admin,
                Some(&json!({"roles": ["reviewer"]})),
            )
            .await;
        assert_eq!((r.status, r.code()), (409, "own_account"), "{}", r.json);
        let r = api.get("/v1/account", admin).await;
        assert_eq!(r.json["roles"], json!(["user", "admin"]), "unchanged");
        t.cleanup().await;
    }
}
