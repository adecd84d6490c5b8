//! Accounts through the API: sign-up, sign-in, sign-out, the session
//! cookie and its expiry, CSRF, password change, API tokens and their
//! scopes, and the rate limits (held in the store, so shared by hosts).

use serde_json::json;
use workway_engine::accounts::secrets;
use workway_store::api_tokens::ApiTokenRow;
use workway_store::clock::now_ms;
use workway_store::sessions::SessionRow;
use workway_store::testing::test_stores;

use super::client::{Api, Auth, account, sign_in};
use crate::workflows::Deployment;

#[tokio::test]
async fn sign_up_sign_in_and_sign_out() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let body = json!({"email": " Ann@Example.com ", "display_name": "Ann", "password": "ann's long password"});
        let r = api.post("/v1/auth/signup", Auth::None, &body).await;
        assert_eq!(r.status, 201, "{} ({})", r.json, t.label);
        assert_eq!(r.json["email"], "ann@example.com");
        assert_eq!(
            r.json["roles"],
            json!(["user"]),
            "sign-up gives the user role only"
        );
        assert!(r.json.get("password_hash").is_none());

        let r = api.post("/v1/auth/signup", Auth::None, &body).await;
        assert_eq!((r.status, r.code()), (409, "email_taken"), "{}", r.json);
        for (field, bad) in [
            (
                "email",
                json!({"email": "ann", "display_name": "Ann", "password": "long enough password"}),
            ),
            (
                "password",
                json!({"email": "bo@example.com", "display_name": "Bo", "password": "short"}),
            ),
            (
                "display_name",
                json!({"email": "bo@example.com", "display_name": " ", "password": "long enough password"}),
            ),
        ] {
            let r = api.post("/v1/auth/signup", Auth::None, &bad).await;
            assert_eq!((r.status, r.code()), (400, "invalid_input"), "{}", r.json);
            assert_eq!(r.json["error"]["details"]["field"], field, "{}", r.json);
        }
        let r = api
            .raw(
                "POST",
                "/v1/auth/signup",
                Auth::None,
                &[("content-type", "application/json")],
                b"{\"email\": 1}",
            )
            .await;
        assert_eq!((r.status, r.code()), (400, "invalid_body"), "{}", r.json);

        let wrong = json!({"email": "ann@example.com", "password": "not the password"});
        let r = api.post("/v1/auth/signin", Auth::None, &wrong).await;
        assert_eq!((r.status, r.code()), (401, "unauthenticated"), "{}", r.json);
        let unknown = json!({"email": "nobody@example.com", "password": "not the password"});
        let r2 = api.post("/v1/auth/signin", Auth::None, &unknown).await;
        assert_eq!(
            r2.json, r.json,
            "an unknown email answers as a wrong password"
        );

        let r = api
            .post(
                "/v1/auth/signin",
                Auth::None,
                &json!({"email": "ANN@example.com", "password": "ann's long password"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        let cookie = r.header("set-cookie").expect("a cookie").to_string();
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie} has {attribute}");
        }
        let session = super::client::session_cookie(&r);
        let csrf = r.json["csrf_token"].as_str().expect("csrf").to_string();
        let sessions = t.store.sessions();
        assert!(
            sessions
                .live(&session, now_ms())
                .await
                .expect("read")
                .is_none(),
            "the session id itself is never stored"
        );
        let row = sessions
            .live(&secrets::digest(&session), now_ms())
            .await
            .expect("read")
            .expect("stored by its digest");
        assert_eq!(
            row.account_id,
            r.json["account"]["id"].as_str().expect("id")
        );

        let me = api
            .get(
                "/v1/account",
                Auth::Session {
                    id: &session,
                    csrf: None,
                },
            )
            .await;
        assert_eq!(me.status, 200, "{}", me.json);
        assert_eq!(me.json["email"], "ann@example.com");
        assert!(
            me.json["scopes"]
                .as_array()
                .is_some_and(|s| s.contains(&json!("run")))
        );

        // A state-changing request in a session needs the CSRF token.
        let token = json!({"name": "laptop", "scopes": ["read"]});
        for csrf_sent in [None, Some("0".repeat(64).as_str())] {
            let r = api
                .post(
                    "/v1/tokens",
                    Auth::Session {
                        id: &session,
                        csrf: csrf_sent,
                    },
                    &token,
                )
                .await;
            assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
            assert_eq!(r.json["error"]["details"]["reason"], "csrf");
        }
        let r = api
            .post(
                "/v1/tokens",
                Auth::Session {
                    id: &session,
                    csrf: Some(&csrf),
                },
                &token,
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);

        let r = api
            .post(
                "/v1/auth/signout",
                Auth::Session {
                    id: &session,
                    csrf: Some(&csrf),
                },
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.json);
        assert!(
            r.header("set-cookie")
                .is_some_and(|c| c.contains("Max-Age=0"))
        );
        let r = api
            .get(
                "/v1/account",
                Auth::Session {
                    id: &session,
                    csrf: None,
                },
            )
            .await;
        assert_eq!((r.status, r.code()), (401, "unauthenticated"), "signed out");
        let r = api.get("/v1/account", Auth::None).await;
        assert_eq!((r.status, r.code()), (401, "unauthenticated"));
        t.cleanup().await;
    }
}

#[tokio::test]
async fn sessions_expire_and_password_changes_end_the_others() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;
        let now = now_ms();
        let config = &d.platform.accounts;
        // Idle past its expiry, and past the absolute bound though recently used.
        for (name, created_at, expires_at) in [
            ("idle", now - 10_000, now - 1),
            ("too old", now - config.max_ms() - 1, now + 60_000),
        ] {
            let id = format!("wws_{}", name.replace(' ', "_"));
            t.store
                .sessions()
                .insert(&SessionRow {
                    id_hash: secrets::digest(&id),
                    account_id: ann.id.clone(),
                    created_at,
                    expires_at,
                    last_seen_at: created_at,
                    revoked_at: None,
                })
                .await
                .expect("inserted");
            let r = api
                .get(
                    "/v1/account",
                    Auth::Session {
                        id: &id,
                        csrf: None,
                    },
                )
                .await;
            assert_eq!(
                (r.status, r.code()),
                (401, "unauthenticated"),
                "{name} session ({})",
                t.label
            );
        }

        let (second, _) = sign_in(&api, &ann.email, &ann.password).await;
        let change =
            |current: &str, new: &str| json!({"current_password": current, "new_password": new});
        let r = api
            .post(
                "/v1/account/password",
                ann.session(),
                &change("wrong password!", "a new long password"),
            )
            .await;
        assert_eq!(
            (r.status, r.json["error"]["details"]["field"].as_str()),
            (400, Some("current_password")),
            "{}",
            r.json
        );
        let r = api
            .post(
                "/v1/account/password",
                ann.session(),
                &change(&ann.password, "short"),
            )
            .await;
        assert_eq!(
            (r.status, r.json["error"]["details"]["field"].as_str()),
            (400, Some("new_password")),
            "{}",
            r.json
        );
        let r = api
            .post(
                "/v1/account/password",
                ann.session(),
                &change(&ann.password, "a new long password"),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.json);
        assert_eq!(
            api.get("/v1/account", ann.session()).await.status,
            200,
            "the changing session stays"
        );
        let r = api
            .get(
                "/v1/account",
                Auth::Session {
                    id: &second,
                    csrf: None,
                },
            )
            .await;
        assert_eq!(r.status, 401, "every other session ended");
        assert_eq!(
            api.get("/v1/account", ann.token()).await.status,
            200,
            "tokens stay"
        );
        let r = api
            .post(
                "/v1/auth/signin",
                Auth::None,
                &json!({"email": ann.email, "password": ann.password}),
            )
            .await;
        assert_eq!(r.status, 401, "the old password no longer signs in");
        sign_in(&api, &ann.email, "a new long password").await;
        t.cleanup().await;
    }
}

#[tokio::test]
async fn tokens_carry_their_scopes_within_their_roles() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;

        // A user cannot make a token with a role's scope it lacks.
        let r = api
            .post(
                "/v1/tokens",
                ann.session(),
                &json!({"name": "ci", "scopes": ["publish"]}),
            )
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .post(
                "/v1/tokens",
                ann.session(),
                &json!({"name": "ci", "scopes": ["everything"]}),
            )
            .await;
        assert_eq!(
            (r.status, r.json["error"]["details"]["field"].as_str()),
            (400, Some("scopes")),
            "{}",
            r.json
        );
        let r = api
            .post(
                "/v1/tokens",
                ann.session(),
                &json!({"name": "ci", "scopes": ["read"], "expires_at": 1}),
            )
            .await;
        assert_eq!(
            (r.status, r.json["error"]["details"]["field"].as_str()),
            (400, Some("expires_at")),
            "{}",
            r.json
        );

        let r = api
            .post(
                "/v1/tokens",
                ann.session(),
                &json!({"name": "dashboard", "scopes": ["read"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let read_only = r.json["token"].as_str().expect("token").to_string();
        let read_only_id = r.json["id"].as_str().expect("id").to_string();
        assert!(read_only.starts_with("wwk_"));
        assert_eq!(r.json["prefix"].as_str(), Some(&read_only[..12]));

        // The token reads, but cannot write nor make a wider token.
        let me = api.get("/v1/account", Auth::Token(&read_only)).await;
        assert_eq!(me.json["scopes"], json!(["read"]), "{}", me.json);
        let r = api
            .post(
                "/v1/tokens",
                Auth::Token(&read_only),
                &json!({"name": "wider", "scopes": ["run"]}),
            )
            .await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{}", r.json);
        let r = api
            .delete(
                &format!("/v1/tokens/{read_only_id}"),
                Auth::Token(&read_only),
            )
            .await;
        assert_eq!(
            (r.status, r.code()),
            (403, "forbidden"),
            "revoking needs the run scope: {}",
            r.json
        );

        // The list shows prefixes, never secrets or digests.
        let list = api.get("/v1/tokens", ann.token()).await;
        assert_eq!(list.status, 200);
        let text = list.json.to_string();
        assert!(
            !text.contains(&read_only) && !text.contains(&secrets::digest(&read_only)),
            "{text}"
        );
        assert_eq!(list.json.as_array().map(Vec::len), Some(2));

        // Another account can neither see nor revoke it.
        let bobs = api.get("/v1/tokens", bob.token()).await;
        assert!(!bobs.json.to_string().contains(&read_only_id));
        let r = api
            .delete(&format!("/v1/tokens/{read_only_id}"), bob.token())
            .await;
        assert_eq!((r.status, r.code()), (404, "not_found"), "{}", r.json);
        assert_eq!(
            api.get("/v1/account", Auth::Token(&read_only)).await.status,
            200,
            "still live"
        );

        let r = api
            .delete(&format!("/v1/tokens/{read_only_id}"), ann.token())
            .await;
        assert_eq!(r.status, 204, "{}", r.json);
        let r = api.get("/v1/account", Auth::Token(&read_only)).await;
        assert_eq!((r.status, r.code()), (401, "unauthenticated"), "revoked");
        let r = api
            .delete(&format!("/v1/tokens/{read_only_id}"), ann.token())
            .await;
        assert_eq!(r.status, 404, "already revoked");

        // An expired token authenticates nobody; a used one shows when.
        let expired = "wwk_expired_for_the_test";
        t.store
            .api_tokens()
            .insert(&ApiTokenRow {
                id: "tok_expired".into(),
                account_id: ann.id.clone(),
                name: "old".into(),
                prefix: expired[..12].into(),
                token_hash: secrets::digest(expired),
                scopes: vec!["read".into()],
                created_at: now_ms() - 10_000,
                expires_at: Some(now_ms() - 1),
                last_used_at: None,
                revoked_at: None,
            })
            .await
            .expect("inserted");
        assert_eq!(
            api.get("/v1/account", Auth::Token(expired)).await.status,
            401
        );
        let list = api.get("/v1/tokens", ann.token()).await;
        let used = list
            .json
            .as_array()
            .expect("a list")
            .iter()
            .find(|t| t["name"] == "tests")
            .cloned();
        assert!(
            used.is_some_and(|t| t["last_used_at"].as_i64().is_some()),
            "{}",
            list.json
        );

        // A role given later widens what a token may be made with; a role
        // taken away narrows what existing tokens carry.
        let ann_row = t
            .store
            .accounts()
            .get(&ann.id)
            .await
            .expect("read")
            .expect("ann");
        workway_engine::accounts::set_roles(
            &t.store,
            &ann_row.id,
            &[workway_engine::accounts::Role::Developer],
            now_ms(),
        )
        .await
        .expect("roles set");
        let r = api
            .post(
                "/v1/tokens",
                ann.session(),
                &json!({"name": "publish", "scopes": ["read", "publish"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.json);
        let publisher = r.json["token"].as_str().expect("token").to_string();
        workway_engine::accounts::set_roles(&t.store, &ann_row.id, &[], now_ms())
            .await
            .expect("roles set");
        let me = api.get("/v1/account", Auth::Token(&publisher)).await;
        assert_eq!(me.json["scopes"], json!(["read"]), "{}", me.json);
        t.cleanup().await;
    }
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_across_hosts() {
    for t in test_stores().await {
        let d = Deployment::start_with(&t, crate::support::shared_runtime(), |config| {
            config.accounts.api_requests_per_window = 6;
            config.accounts.signin_failures_per_window = 3;
        })
        .await;
        let api = Api::start(d.platform.clone()).await;
        let second = Api::start(d.second_host(&t).await).await;
        let ann = account(&api, "ann").await; // sign-up, sign-in: 2 requests from the address; a token made in the session: 1
        for i in 0..6 {
            let host = if i % 2 == 0 { &api } else { &second };
            assert_eq!(
                host.get("/v1/account", ann.token()).await.status,
                200,
                "request {i}"
            );
        }
        let r = second.get("/v1/account", ann.token()).await;
        assert_eq!((r.status, r.code()), (429, "rate_limited"), "{}", r.json);
        let retry: u64 = r
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .expect("Retry-After");
        assert!((1..=900).contains(&retry), "{retry}");
        assert_eq!(
            api.get("/v1/account", ann.session()).await.status,
            200,
            "the session has its own budget"
        );

        // Failed sign-ins: three, counted on both hosts, then even the
        // right password is refused until the window ends.
        let wrong = json!({"email": "ann@example.com", "password": "not the password"});
        for host in [&api, &second, &api] {
            assert_eq!(
                host.post("/v1/auth/signin", Auth::None, &wrong)
                    .await
                    .status,
                401
            );
        }
        let right = json!({"email": "ann@example.com", "password": ann.password});
        let r = second.post("/v1/auth/signin", Auth::None, &right).await;
        assert_eq!((r.status, r.code()), (429, "rate_limited"), "{}", r.json);
        assert!(r.header("retry-after").is_some());
        t.cleanup().await;
    }
}
