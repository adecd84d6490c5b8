//! Refresh-token grants: counting, rotation, delays, injected failures.

use std::time::Duration;

use super::client::Reply;
use super::oauth::{FLAVORS, assert_rejected, provider, token_request};
use crate::{Flavor, MockOAuthProvider, TokenStatus};

async fn refresh(p: &MockOAuthProvider, refresh_token: &str) -> Reply {
    token_request(
        p,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

#[tokio::test]
async fn refresh_counting_and_rotation() {
    for flavor in FLAVORS {
        let p = provider(flavor).await;
        let seeded = p.seed_grant();
        assert!(p.is_valid_access_token(&seeded.access_token));

        let reply = refresh(&p, &seeded.refresh_token).await;
        assert_eq!(reply.status, 200, "{flavor:?}");
        let body = reply.json();
        let access = body["access_token"].as_str().unwrap();
        assert!(
            access.starts_with(&format!("{}access-", flavor.access_prefix())),
            "{access}"
        );
        assert_ne!(access, seeded.access_token);
        assert!(p.is_valid_access_token(access));
        assert!(
            !p.is_valid_access_token(&seeded.access_token),
            "old access token superseded"
        );
        assert_eq!(p.current_access_token().as_deref(), Some(access));
        assert_eq!((p.refresh_count(), p.successful_refresh_count()), (1, 1));

        let new_refresh = body["refresh_token"].as_str();
        match flavor {
            Flavor::Google => {
                assert_eq!(new_refresh, None, "Google omits refresh_token on refresh")
            }
            Flavor::Stripe => assert_eq!(new_refresh, Some(seeded.refresh_token.as_str())),
            Flavor::Slack | Flavor::Notion => {
                let new_refresh = new_refresh.unwrap();
                assert_ne!(new_refresh, seeded.refresh_token);
                assert_eq!(p.current_refresh_token().as_deref(), Some(new_refresh));
            }
        }

        // The old refresh token still works exactly when the flavour keeps it.
        let again = refresh(&p, &seeded.refresh_token).await;
        if flavor.rotates_refresh_tokens() {
            assert_rejected(
                flavor,
                &again,
                400,
                "invalid_grant",
                "invalid_refresh_token",
            );
        } else {
            assert_eq!(again.status, 200);
        }
        assert_eq!(p.refresh_count(), 2);
    }
}

#[tokio::test]
async fn refresh_delay_makes_concurrent_refreshes_overlap() {
    let p = provider(Flavor::Slack).await;
    let seeded = p.seed_grant();
    // Long enough that the second request arrives while the first answer
    // is held; the assertions count requests, they do not time anything.
    p.set_refresh_delay(Duration::from_secs(2));
    let a = refresh(&p, &seeded.refresh_token);
    let b = refresh(&p, &seeded.refresh_token);
    tokio::pin!(a, b);
    // Whichever answer comes first, the other request had already been
    // decided by then: the two were in flight together.
    let (first, decided, second) = tokio::select! {
        first = &mut a => {
            let decided = p.refresh_count();
            (first, decided, (&mut b).await)
        }
        first = &mut b => {
            let decided = p.refresh_count();
            (first, decided, (&mut a).await)
        }
    };
    assert_eq!(decided, 2, "both refreshes arrived before either answer");
    // Slack rotates: exactly one of the racing refreshes wins.
    let oks = [&first, &second]
        .iter()
        .filter(|r| r.json()["ok"] == true)
        .count();
    assert_eq!(oks, 1);
    assert_eq!((p.refresh_count(), p.successful_refresh_count()), (2, 1));
}

#[tokio::test]
async fn fail_refresh_with_injects_error() {
    for flavor in FLAVORS {
        let p = provider(flavor).await;
        let seeded = p.seed_grant();
        p.fail_refresh_with(Some("invalid_grant"));
        let reply = refresh(&p, &seeded.refresh_token).await;
        assert_rejected(flavor, &reply, 400, "invalid_grant", "invalid_grant");
        assert!(p.is_valid_access_token(&seeded.access_token));
        p.fail_refresh_with(None);
        assert_eq!(refresh(&p, &seeded.refresh_token).await.status, 200);
        assert_eq!((p.refresh_count(), p.successful_refresh_count()), (2, 1));
    }
}

#[tokio::test]
async fn expiry_and_revocation() {
    let p = provider(Flavor::Google).await;
    let seeded = p.seed_grant();
    p.expire_current_access_tokens();
    assert_eq!(
        p.access_token_status(&seeded.access_token),
        TokenStatus::Expired
    );
    p.expire_access_tokens_in(120);
    let body = refresh(&p, &seeded.refresh_token).await.json();
    assert_eq!(body["expires_in"], 120);
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert!(p.is_valid_access_token(&access));

    p.revoke_all();
    assert_eq!(p.access_token_status(&access), TokenStatus::Invalid);
    let reply = refresh(&p, &seeded.refresh_token).await;
    assert_rejected(Flavor::Google, &reply, 400, "invalid_grant", "");
    assert_eq!(
        reply.json()["error_description"],
        "Token has been expired or revoked."
    );
}
