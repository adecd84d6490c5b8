//! The developer console's page for one integration over plain HTTP, on
//! SQLite and PostgreSQL: its publisher sees its figures, writes its
//! listing (a bad price or summary answered on the form with what was
//! typed kept), uploads its icon and adds and removes a co-maintainer;
//! a co-maintainer edits but does not manage the team; anyone else gets
//! nothing of it and changes nothing.

use workway_engine::accounts::Role;
use workway_store::testing::test_stores;

use super::pages::{csrf_field, post_form};
use crate::api::client::{
    Api, Auth, Response, account, approve, busy_api, evolving, submit, with_roles,
};

const PAGE: &str = "/developer/integrations/evolving";

/// A PNG's signature and header chunk, `side`×`side` (all the engine
/// reads of an icon).
fn png(side: u32) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(&side.to_be_bytes());
    bytes.extend_from_slice(&side.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
    bytes.resize(64, 0);
    bytes
}

/// Upload `bytes` as the file field `icon` (of type `content_type`) with
/// the form's `csrf`, as a browser's multipart form does.
async fn upload_icon(
    api: &Api,
    auth: Auth<'_>,
    csrf: &str,
    content_type: &str,
    bytes: &[u8],
) -> Response {
    let boundary = "----workway-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"icon\"; filename=\"icon.png\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    api.raw(
        "POST",
        &format!("{PAGE}/icon"),
        auth,
        &[("content-type", content_type.as_str())],
        &body,
    )
    .await
}

#[tokio::test]
async fn a_publisher_writes_its_listing_uploads_an_icon_and_shares_the_integration() {
    for t in test_stores().await {
        let l = t.label;
        let (_deployment, api) = busy_api(&t).await;
        let (olga, _) = with_roles(&api, &t.store, "olga", &[Role::Developer], &["read"]).await;
        let (dan, _) = with_roles(&api, &t.store, "dan", &[Role::Developer], &["read"]).await;
        let (rita, _) = with_roles(&api, &t.store, "rita", &[Role::Reviewer], &["read"]).await;
        let bob = account(&api, "bob").await;
        let id = submit(
            &api,
            olga.session(),
            &evolving("1.0.0", &["https://api.example.com"]),
        )
        .await;
        assert_eq!(approve(&api, rita.session(), &id).await.status, 200, "{l}");

        // The console lists it with its figures, opening its page.
        let console = api.get("/developer", olga.browser()).await;
        assert!(
            console.body.contains(&format!(r#"href="{PAGE}""#)),
            "{l}: {}",
            console.body
        );
        let page = api.get(PAGE, olga.browser()).await;
        assert_eq!(page.status, 200, "{l}: {}", page.body);
        assert!(page.body.contains("0 now, 0 ever"), "{l}: {}", page.body);
        assert!(
            page.body.contains("no executions in the last 30 days"),
            "{l}"
        );
        let csrf = csrf_field(&page.body);

        // Nobody else opens it: not a developer (403), another developer
        // (404, as if it did not exist).
        assert_eq!(api.get(PAGE, bob.browser()).await.status, 403, "{l}");
        assert_eq!(api.get(PAGE, dan.browser()).await.status, 404, "{l}");

        // A price that is not one is answered at once, what was typed kept.
        let listing = |summary: &'static str, price: &'static str| {
            vec![
                ("summary", summary),
                ("description", "Pings **fast**."),
                ("category", "productivity"),
                ("category", "developer-tools"),
                ("price", price),
                ("changelog:1.0.0", "The first version."),
            ]
        };
        let mut form = listing("Pings, reliably.", "19.999");
        form.push(("csrf", &csrf));
        let r = post_form(
            &api,
            &format!("{PAGE}/listing"),
            olga.browser(),
            None,
            &form,
        )
        .await;
        assert_eq!(r.status, 400, "{l}: {}", r.body);
        assert!(r.body.contains("not a price"), "{l}: {}", r.body);
        assert!(r.body.contains(r#"value="Pings, reliably.""#), "{l}: kept");
        // A price out of range, answered by the engine's own rule.
        let mut form = listing("Pings, reliably.", "5.00");
        form.push(("csrf", &csrf));
        let r = post_form(
            &api,
            &format!("{PAGE}/listing"),
            olga.browser(),
            None,
            &form,
        )
        .await;
        assert_eq!(r.status, 400, "{l}: {}", r.body);
        // Saved: the marketplace shows it.
        let mut form = listing("Pings, reliably.", "$19.00");
        form.push(("csrf", &csrf));
        let r = post_form(
            &api,
            &format!("{PAGE}/listing"),
            olga.browser(),
            None,
            &form,
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let page = api.get("/marketplace/evolving", bob.browser()).await;
        assert!(page.body.contains("Pings, reliably."), "{l}");
        assert!(page.body.contains("Buy for $19.00"), "{l}");
        assert!(page.body.contains("<strong>fast</strong>"), "{l}");
        assert!(page.body.contains("The first version."), "{l}");
        let page = api.get(PAGE, olga.browser()).await;
        assert!(page.body.contains(r#"value="$19.00""#), "{l}: shown back");
        assert!(
            page.body
                .contains(r#"name="category" value="developer-tools" checked"#),
            "{l}"
        );

        // The icon: a PNG is kept and served; a file that is not one is
        // refused with why.
        let r = upload_icon(&api, olga.browser(), &csrf, "image/png", &png(64)).await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let r = api.get("/v1/integrations/evolving/icon", bob.token()).await;
        assert_eq!(r.status, 200, "{l}");
        assert_eq!(r.header("content-type"), Some("image/png"));
        let r = upload_icon(
            &api,
            olga.browser(),
            &csrf,
            "image/png",
            b"GIF89a not a png",
        )
        .await;
        assert_eq!(r.status, 400, "{l}: {}", r.body);
        let r = upload_icon(&api, olga.browser(), "wrong", "image/png", &png(64)).await;
        assert_eq!(r.status, 403, "{l}: no matching CSRF field");

        // A co-maintainer: added by email, edits the listing, but does not
        // manage the team.
        let add = format!("{PAGE}/maintainers");
        let r = post_form(
            &api,
            &add,
            olga.browser(),
            None,
            &[("csrf", &csrf), ("email", "bob@example.com")],
        )
        .await;
        assert_eq!(r.status, 400, "{l}: bob is no developer: {}", r.body);
        let r = post_form(
            &api,
            &add,
            olga.browser(),
            None,
            &[("csrf", &csrf), ("email", "dan@example.com")],
        )
        .await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let page = api.get(PAGE, olga.browser()).await;
        assert!(page.body.contains(r#"data-maintainer=""#), "{l}");
        assert!(page.body.contains(">dan <"), "{l}: {}", page.body);
        let page = api.get(PAGE, dan.browser()).await;
        assert_eq!(page.status, 200, "{l}");
        assert!(!page.body.contains(r#"id="add-maintainer""#), "{l}");
        let dan_csrf = csrf_field(&page.body);
        let mut form = listing("Pings, by two.", "19.00");
        form.push(("csrf", &dan_csrf));
        let r = post_form(&api, &format!("{PAGE}/listing"), dan.browser(), None, &form).await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let remove = format!("{PAGE}/maintainers/{}/remove", dan.id);
        let r = post_form(&api, &remove, dan.browser(), None, &[("csrf", &dan_csrf)]).await;
        assert_eq!(r.status, 404, "{l}: only the owner removes");
        let r = post_form(&api, &remove, olga.browser(), None, &[("csrf", &csrf)]).await;
        assert_eq!(r.status, 303, "{l}: {}", r.body);
        let page = api.get(PAGE, olga.browser()).await;
        assert!(page.body.contains(r#"id="no-maintainers""#), "{l}");

        // Removed, dan changes nothing any more.
        let mut form = listing("Hijacked.", "");
        form.push(("csrf", &dan_csrf));
        let r = post_form(&api, &format!("{PAGE}/listing"), dan.browser(), None, &form).await;
        assert_eq!(r.status, 404, "{l}: {}", r.body);
        let page = api.get("/marketplace/evolving", bob.browser()).await;
        assert!(page.body.contains("Pings, by two."), "{l}: unchanged");
        t.cleanup().await;
    }
}
