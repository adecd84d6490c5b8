//! The pages over plain HTTP, on SQLite and PostgreSQL: the security
//! headers of every page, the CSRF field of every form (and the form
//! cookie before sign-in), redirects that never leave the site, escaped
//! user text, the role a page needs, and one account's tokens kept from
//! another.

use workway_engine::accounts::Role;
use workway_server::web::CONTENT_SECURITY_POLICY;
use workway_store::testing::test_stores;

use crate::api::client::{Api, Auth, Response, account, with_roles};
use crate::workflows::Deployment;

/// `pairs` as an urlencoded form body.
fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        body.append_pair(name, value);
    }
    body.finish().into_bytes()
}

/// Post `pairs` as a form to `path` with `auth` and extra `cookie`s.
pub(super) async fn post_form(
    api: &Api,
    path: &str,
    auth: Auth<'_>,
    cookie: Option<&str>,
    pairs: &[(&str, &str)],
) -> Response {
    let mut headers = vec![("content-type", "application/x-www-form-urlencoded")];
    if let Some(cookie) = cookie {
        headers.push(("cookie", cookie));
    }
    api.raw("POST", path, auth, &headers, &form(pairs)).await
}

/// The value of the first field called `name` in `html`'s forms.
pub(super) fn hidden_field(html: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("a {name} field in {html}"));
    let rest = &html[at + marker.len()..];
    rest[..rest.find('"').expect("the value ends")].to_string()
}

/// The value of the first `csrf` field of `html`.
pub(super) fn csrf_field(html: &str) -> String {
    hidden_field(html, "csrf")
}

/// The value of the cookie `name` that `response` sets.
fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .filter_map(|(_, v)| v.split(';').next())
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string())
}

fn assert_page_headers(r: &Response, what: &str) {
    assert_eq!(
        r.header("content-security-policy"),
        Some(CONTENT_SECURITY_POLICY),
        "{what}"
    );
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
}

#[tokio::test]
async fn pages_carry_their_security_headers_and_forms_their_csrf_check() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let l = t.label;
        let ann = account(&api, "ann").await;

        // A stranger is sent to sign in, and back.
        let r = api.get("/account", Auth::None).await;
        assert_eq!(r.status, 303, "{l}");
        assert_eq!(r.header("location"), Some("/signin?next=%2Faccount"), "{l}");
        assert_page_headers(&r, l);

        // The sign-in form comes with its form cookie, the same value as
        // its csrf field.
        let page = api.get("/signin?next=%2Faccount", Auth::None).await;
        assert_eq!(page.status, 200, "{l}");
        assert_page_headers(&page, l);
        assert_eq!(page.header("cache-control"), Some("no-store"), "{l}");
        let cookie = set_cookie(&page, "workway_form").expect("a form cookie");
        assert_eq!(csrf_field(&page.body), cookie, "{l}");
        let form_cookie = format!("workway_form={cookie}");

        // Without the field, or without the cookie, nobody is signed in.
        let credentials = [
            ("email", ann.email.as_str()),
            ("password", ann.password.as_str()),
        ];
        let r = post_form(
            &api,
            "/signin",
            Auth::None,
            Some(&form_cookie),
            &credentials,
        )
        .await;
        assert_eq!(r.status, 403, "{l}: {}", r.body);
        assert!(
            r.body.contains("did not come from this site"),
            "{l}: {}",
            r.body
        );
        assert_eq!(set_cookie(&r, "workway_session"), None, "{l}");
        let with_field = [credentials[0], credentials[1], ("csrf", cookie.as_str())];
        let r = post_form(&api, "/signin", Auth::None, None, &with_field).await;
        assert_eq!(r.status, 403, "{l}");
        assert_eq!(set_cookie(&r, "workway_session"), None, "{l}");

        // A wrong password is answered on the form, which keeps the email.
        let wrong = [
            ("email", ann.email.as_str()),
            ("password", "not her password"),
            ("csrf", cookie.as_str()),
        ];
        let r = post_form(&api, "/signin", Auth::None, Some(&form_cookie), &wrong).await;
        assert_eq!(r.status, 401, "{l}");
        assert!(r.body.contains(r#"id="form-error""#), "{l}: {}", r.body);
        assert!(r.body.contains(&format!(r#"value="{}""#, ann.email)), "{l}");

        // Signed in, the browser goes where it was going, never off-site.
        let mut good = with_field.to_vec();
        good.push(("next", "/account"));
        let r = post_form(&api, "/signin", Auth::None, Some(&form_cookie), &good).await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert_eq!(r.header("location"), Some("/account"), "{l}");
        let session = set_cookie(&r, "workway_session").expect("a session");
        for next in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "/caf\u{e9}",
            "/a\r\nx-injected: yes",
        ] {
            let mut away = with_field.to_vec();
            away.push(("next", next));
            let r = post_form(&api, "/signin", Auth::None, Some(&form_cookie), &away).await;
            assert_eq!(r.status, 303, "{l}");
            assert_eq!(r.header("location"), Some("/marketplace"), "{l}: {next}");
        }

        // In the session, a form without the session's CSRF value changes
        // nothing.
        let in_session = Auth::Session {
            id: &session,
            csrf: None,
        };
        let account_page = api.get("/account", in_session).await;
        assert_eq!(account_page.status, 200, "{l}");
        assert_page_headers(&account_page, l);
        let csrf = csrf_field(&account_page.body);
        let tokens_before = api.get("/v1/tokens", ann.token()).await.json;
        for bad in ["", "wrong", cookie.as_str()] {
            let r = post_form(
                &api,
                "/account/tokens",
                in_session,
                None,
                &[("name", "forged"), ("scope", "read"), ("csrf", bad)],
            )
            .await;
            assert_eq!(r.status, 403, "{l}: {bad}");
        }
        let r = api
            .raw(
                "POST",
                "/account/tokens",
                in_session,
                &[("content-type", "application/json")],
                br#"{"name":"json"}"#,
            )
            .await;
        assert_eq!(r.status, 400, "{l}: a JSON body is not a form");
        assert_eq!(
            api.get("/v1/tokens", ann.token()).await.json,
            tokens_before,
            "{l}"
        );

        // Sign-out needs the CSRF value too, then ends the session.
        let r = post_form(&api, "/signout", in_session, None, &[("csrf", "wrong")]).await;
        assert_eq!(r.status, 403, "{l}");
        assert_eq!(api.get("/account", in_session).await.status, 200, "{l}");
        let r = post_form(&api, "/signout", in_session, None, &[("csrf", &csrf)]).await;
        assert_eq!(r.status, 303, "{l}");
        assert_eq!(
            api.get("/account", in_session).await.status,
            303,
            "{l}: signed out"
        );
        t.cleanup().await;
    }
}

#[tokio::test]
async fn one_accounts_tokens_are_kept_from_another_and_user_text_is_escaped() {
    for t in test_stores().await {
        let d = Deployment::start(&t, crate::support::shared_runtime()).await;
        let api = Api::start(d.platform.clone()).await;
        let l = t.label;
        let ann = account(&api, "ann").await;
        let bob = account(&api, "bob").await;
        let ann_session = ann.browser();
        let bob_session = bob.browser();

        // Ann makes a token on the page: shown once, then only its prefix.
        let ann_csrf = csrf_field(&api.get("/account", ann_session).await.body);
        let r = post_form(
            &api,
            "/account/tokens",
            ann_session,
            None,
            &[
                ("name", "ann-laptop"),
                ("scope", "read"),
                ("expires_days", "30"),
                ("csrf", &ann_csrf),
            ],
        )
        .await;
        assert_eq!(r.status, 201, "{l}: {}", r.body);
        let at = r
            .body
            .find(r#"<code id="new-token""#)
            .expect("the new token shown");
        let secret: String = r.body[at..]
            .chars()
            .skip_while(|c| *c != '>')
            .skip(1)
            .take_while(|c| *c != '<')
            .collect();
        assert!(secret.starts_with("wwk_"), "{l}: {secret}");
        let me = api.get("/v1/account", Auth::Token(&secret)).await;
        assert_eq!(me.status, 200, "{l}: the token works");
        assert_eq!(me.json["scopes"], serde_json::json!(["read"]), "{l}");
        let again = api.get("/account", ann_session).await;
        assert!(!again.body.contains(&secret), "{l}: shown only once");
        assert!(again.body.contains("ann-laptop"), "{l}");
        let tokens = api.get("/v1/tokens", ann.token()).await.json;
        let id = tokens
            .as_array()
            .and_then(|all| all.iter().find(|t| t["name"] == "ann-laptop"))
            .and_then(|t| t["id"].as_str())
            .expect("listed")
            .to_string();

        // A bad field is answered on the form, naming what to fix.
        let r = post_form(
            &api,
            "/account/tokens",
            ann_session,
            None,
            &[
                ("name", "x"),
                ("scope", "read"),
                ("expires_days", "forever"),
                ("csrf", &ann_csrf),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{l}");
        assert!(r.body.contains("whole number of days"), "{l}: {}", r.body);
        let r = post_form(
            &api,
            "/account/tokens",
            ann_session,
            None,
            &[("name", "x"), ("scope", "admin"), ("csrf", &ann_csrf)],
        )
        .await;
        assert_eq!(r.status, 403, "{l}: a scope beyond her roles");
        assert!(r.body.contains(r#"id="form-error""#), "{l}: {}", r.body);

        // Bob sees none of it and cannot revoke it.
        let bobs = api.get("/account", bob_session).await;
        assert!(!bobs.body.contains("ann-laptop"), "{l}");
        assert!(!bobs.body.contains(&id), "{l}");
        let bob_csrf = csrf_field(&bobs.body);
        let r = post_form(
            &api,
            &format!("/account/tokens/{id}/revoke"),
            bob_session,
            None,
            &[("csrf", &bob_csrf)],
        )
        .await;
        assert_eq!(r.status, 404, "{l}: {}", r.body);
        assert_eq!(
            api.get("/v1/account", Auth::Token(&secret)).await.status,
            200,
            "{l}: still works"
        );
        // Nor with Ann's CSRF value in his session.
        let r = post_form(
            &api,
            &format!("/account/tokens/{id}/revoke"),
            bob_session,
            None,
            &[("csrf", &ann_csrf)],
        )
        .await;
        assert_eq!(r.status, 403, "{l}");

        // Ann revokes it.
        let r = post_form(
            &api,
            &format!("/account/tokens/{id}/revoke"),
            ann_session,
            None,
            &[("csrf", &ann_csrf)],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        assert_eq!(
            api.get("/v1/account", Auth::Token(&secret)).await.status,
            401,
            "{l}: revoked"
        );
        assert!(
            api.get("/account", ann_session)
                .await
                .body
                .contains("revoked"),
            "{l}"
        );

        // Text people type is shown as text.
        let page = api.get("/signup", Auth::None).await;
        let cookie = set_cookie(&page, "workway_form").expect("a form cookie");
        let hostile = "<img src=x onerror=alert(1)>";
        let r = post_form(
            &api,
            "/signup",
            Auth::None,
            Some(&format!("workway_form={cookie}")),
            &[
                ("email", "eve@example.com"),
                ("display_name", hostile),
                ("password", "eve's long password"),
                ("csrf", &cookie),
            ],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let eve = set_cookie(&r, "workway_session").expect("signed in");
        let page = api
            .get(
                "/marketplace",
                Auth::Session {
                    id: &eve,
                    csrf: None,
                },
            )
            .await;
        assert_eq!(page.status, 200, "{l}");
        assert!(!page.body.contains(hostile), "{l}");
        assert!(
            page.body.contains("&#60;img src=x onerror=alert(1)&#62;")
                || page.body.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{l}: {}",
            page.body
        );

        // A page for another role says which role it needs.
        let r = api.get("/review", ann_session).await;
        assert_eq!(r.status, 403, "{l}");
        assert!(r.body.contains("reviewer role"), "{l}: {}", r.body);
        let (rita, _) = with_roles(
            &api,
            &t.store,
            "rita",
            &[Role::Reviewer],
            &["read", "review"],
        )
        .await;
        let r = api.get("/review", rita.browser()).await;
        assert_eq!(r.status, 200, "{l}: {}", r.body);
        assert!(r.body.contains("Review queue"), "{l}");
        t.cleanup().await;
    }
}
